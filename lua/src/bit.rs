//! The `bit` library Redis bundles (LuaBitOp): 32-bit operations on Lua numbers.
//!
//! Every argument is first normalised as `bit.tobit` does: the number modulo 2^32, read as
//! a signed 32-bit integer (LuaBitOp adds 2^52 + 2^51 and keeps the low word, which rounds
//! a fraction to the nearest integer, ties to even).

use mlua::{Lua, MultiValue, Table, Value};

fn tobit(v: &Value, i: usize, name: &str) -> mlua::Result<i32> {
    let bad = || {
        mlua::Error::runtime(format!(
            "bad argument #{} to '{name}' (number expected, got {})",
            i + 1,
            crate::type_name(Some(v))
        ))
    };
    let n = match v {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        Value::String(s) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let t = n + 6_755_399_441_055_744.0;
    Ok(t.to_bits() as u32 as i32)
}

fn args_bits(args: &MultiValue, name: &str) -> mlua::Result<Vec<i32>> {
    if args.is_empty() {
        return Err(mlua::Error::runtime(format!(
            "bad argument #1 to '{name}' (number expected, got no value)"
        )));
    }
    args.iter()
        .enumerate()
        .map(|(i, v)| tobit(v, i, name))
        .collect()
}

/// The `bit` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let fold = |name: &'static str, f: fn(i32, i32) -> i32| {
        move |_: &Lua, args: MultiValue| -> mlua::Result<f64> {
            let v = args_bits(&args, name)?;
            Ok(f64::from(v[1..].iter().fold(v[0], |a, &b| f(a, b))))
        }
    };
    t.raw_set("band", lua.create_function(fold("band", |a, b| a & b))?)?;
    t.raw_set("bor", lua.create_function(fold("bor", |a, b| a | b))?)?;
    t.raw_set("bxor", lua.create_function(fold("bxor", |a, b| a ^ b))?)?;
    let unary = |name: &'static str, f: fn(i32) -> i32| {
        move |_: &Lua, args: MultiValue| -> mlua::Result<f64> {
            Ok(f64::from(f(args_bits(&args, name)?[0])))
        }
    };
    t.raw_set("tobit", lua.create_function(unary("tobit", |a| a))?)?;
    t.raw_set("bnot", lua.create_function(unary("bnot", |a| !a))?)?;
    t.raw_set(
        "bswap",
        lua.create_function(unary("bswap", i32::swap_bytes))?,
    )?;
    let shift = |name: &'static str, f: fn(i32, u32) -> i32| {
        move |_: &Lua, args: MultiValue| -> mlua::Result<f64> {
            let v = args_bits(&args, name)?;
            let n = v.get(1).copied().unwrap_or(0) as u32 & 31;
            Ok(f64::from(f(v[0], n)))
        }
    };
    t.raw_set(
        "lshift",
        lua.create_function(shift("lshift", |a, n| ((a as u32) << n) as i32))?,
    )?;
    t.raw_set(
        "rshift",
        lua.create_function(shift("rshift", |a, n| ((a as u32) >> n) as i32))?,
    )?;
    t.raw_set(
        "arshift",
        lua.create_function(shift("arshift", |a, n| a >> n))?,
    )?;
    t.raw_set(
        "rol",
        lua.create_function(shift("rol", |a, n| (a as u32).rotate_left(n) as i32))?,
    )?;
    t.raw_set(
        "ror",
        lua.create_function(shift("ror", |a, n| (a as u32).rotate_right(n) as i32))?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| {
            let v = args_bits(&args, "tohex")?;
            let mut n = match args.get(1) {
                Some(a) => tobit(a, 1, "tohex")?,
                None => 8,
            };
            let upper = n < 0;
            if upper {
                n = -n;
            }
            let n = n.clamp(1, 8) as usize;
            let x = v[0] as u32;
            let s = if upper {
                format!("{x:08X}")
            } else {
                format!("{x:08x}")
            };
            lua.create_string(&s[8 - n..])
        })?,
    )?;
    Ok(t)
}
