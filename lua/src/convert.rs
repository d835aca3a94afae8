//! Values between RESP and Lua, by Redis 7.0's rules (`script_lua.c`).
//!
//! | RESP (a command's reply)        | Lua                                              |
//! |---------------------------------|--------------------------------------------------|
//! | integer                         | number                                           |
//! | bulk string                     | string                                           |
//! | null bulk / null array (RESP2)  | `false`                                          |
//! | null (RESP3)                    | `nil`                                            |
//! | status `+OK`                    | `{ok = "OK"}`                                    |
//! | error                           | `{err = "ERR …"}` (raised by `redis.call`)       |
//! | array                           | table                                            |
//! | map / set (RESP3)               | `{map = {k = v}}` / `{set = {k = true}}`         |
//! | double / boolean / big number   | `{double = n}` / boolean / `{big_number = "…"}`  |
//! | verbatim string                 | `{verbatim_string = {format = …, string = …}}`   |
//!
//! and back for the script's return value: strings are bulk, numbers integers (truncated),
//! `true` is `:1` (RESP2) and `false` a null (RESP2), tables by their `err`, `ok`, `double`,
//! `big_number`, `map`, `set` or `verbatim_string` field, or else arrays up to the first
//! `nil`; anything else is a null.

use bytes::Bytes;
use mlua::{Lua, MultiValue, Table, Value};
use redish_core::resp::{Frame, Protocol};

/// The error table of `redis.call` and `redis.error_reply`: `{err = line}`, marked when
/// INFO errorstats counted it already.
pub fn error_table(lua: &Lua, line: &str, counted: bool) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(line)?)?;
    if counted {
        t.raw_set("ignore_error_stats_update", true)?;
    }
    Ok(Value::Table(t))
}

/// An error line from `CODE message` (after a `-`), as `luaPushErrorBuff`: no space means
/// there is no code and `ERR` is used; trailing newlines go.
pub fn error_line(rest: &str) -> String {
    let line = match rest.split_once(' ') {
        None => format!("ERR {rest}"),
        Some((code, msg)) => format!("{code} {msg}"),
    };
    line.trim_end_matches(['\r', '\n']).to_owned()
}

/// The arguments of `redis.call`: strings as they are, numbers as `%.17g`.
pub fn command_args(args: &MultiValue) -> Result<Vec<Bytes>, &'static str> {
    if args.is_empty() {
        return Err("Please specify at least one argument for this redis lib call");
    }
    args.iter()
        .map(|a| match a {
            Value::String(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(i) => Ok(Bytes::from(i.to_string())),
            Value::Number(n) => Ok(Bytes::from(fmt_g17(*n))),
            _ => Err("Lua redis lib command arguments must be strings or integers"),
        })
        .collect()
}

/// C's `%.17g`.
pub fn fmt_g17(x: f64) -> String {
    fmt_g(x, 17)
}

/// C's `%.14g`: how Lua 5.1 and lua-cjson print numbers.
pub fn fmt_g14(x: f64) -> String {
    fmt_g(x, 14)
}

/// C's `%.<precision>g`.
fn fmt_g(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{x:.*e}", precision - 1);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if exp < -4 || exp >= precision as i32 {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{x:.decimals$}")).to_owned()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A command's reply as the script sees it; `proto` is the protocol it was written in.
pub fn frame_to_lua(lua: &Lua, frame: &Frame, proto: Protocol) -> mlua::Result<Value> {
    let field = |name: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(name, v)?;
        Ok(Value::Table(t))
    };
    Ok(match frame {
        Frame::Integer(i) => Value::Number(*i as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(b)?),
        Frame::Null | Frame::NullArray => match proto {
            Protocol::Resp2 => Value::Boolean(false),
            _ => Value::Nil,
        },
        Frame::Simple(s) => field("ok", Value::String(lua.create_string(s)?))?,
        Frame::Error(e) | Frame::BulkError(e) => {
            field("err", Value::String(lua.create_string(e)?))?
        }
        Frame::Array(items) | Frame::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, frame_to_lua(lua, item, proto)?)?;
            }
            Value::Table(t)
        }
        Frame::Set(items) => {
            let t = lua.create_table()?;
            for item in items {
                t.raw_set(frame_to_lua(lua, item, proto)?, true)?;
            }
            field("set", Value::Table(t))?
        }
        Frame::Map(pairs) => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                t.raw_set(frame_to_lua(lua, k, proto)?, frame_to_lua(lua, v, proto)?)?;
            }
            field("map", Value::Table(t))?
        }
        Frame::Boolean(b) => Value::Boolean(*b),
        Frame::Double(d) => field("double", Value::Number(*d))?,
        Frame::BigNumber(n) => field("big_number", Value::String(lua.create_string(n)?))?,
        Frame::Verbatim { format, data } => {
            let t = lua.create_table()?;
            t.raw_set("format", lua.create_string(format)?)?;
            t.raw_set("string", lua.create_string(data)?)?;
            field("verbatim_string", Value::Table(t))?
        }
        Frame::Attribute { data, .. } => frame_to_lua(lua, data, proto)?,
    })
}

/// Lines in a status or an error may not break the reply: CR and LF become spaces.
fn one_line(b: &[u8]) -> Bytes {
    b.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect::<Vec<u8>>()
        .into()
}

fn string_field(t: &Table, name: &str) -> Option<mlua::String> {
    match t.raw_get::<Value>(name).ok()? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// A script's return value as the reply for a client of protocol `proto`. Booleans follow
/// the protocol the script chose with `redis.setresp` (`script`), as in Redis 7.0: under the
/// default RESP2, `false` is a null even for a RESP3 client.
pub fn lua_to_frame(v: &Value, proto: Protocol, script: Protocol) -> Frame {
    lua_to_frame_at(v, Protos { proto, script }, 0)
}

#[derive(Clone, Copy)]
struct Protos {
    proto: Protocol,
    script: Protocol,
}

fn lua_to_frame_at(v: &Value, p: Protos, depth: usize) -> Frame {
    match v {
        Value::String(s) => Frame::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) => match (p.script, b) {
            (Protocol::Resp2, true) => Frame::Integer(1),
            (Protocol::Resp2, false) => Frame::Null,
            (_, b) => Frame::Boolean(*b),
        },
        Value::Integer(i) => Frame::Integer(*i),
        // C's `(long long)` of an out-of-range double on x86-64: the "integer indefinite".
        Value::Number(n) if n.is_nan() || n.abs() >= i64::MAX as f64 => Frame::Integer(i64::MIN),
        Value::Number(n) => Frame::Integer(*n as i64),
        // A self-referencing table would recurse for ever: Redis fails the reply at its
        // nesting limit too.
        Value::Table(_) if depth > 500 => Frame::Error("ERR reached lua stack limit".into()),
        Value::Table(t) => table_to_frame(t, p, depth),
        _ => Frame::Null,
    }
}

/// `{double = x}`: Redis writes `%.17g`. In RESP2 that is a bulk string, written here;
/// in RESP3 the codec writes the shortest text that reads back as the same double.
fn double(x: f64, p: Protos) -> Frame {
    match p.proto {
        Protocol::Resp2 if x.is_nan() && x.is_sign_negative() => Frame::Bulk("-nan".into()),
        Protocol::Resp2 => Frame::Bulk(redish_core::num::fmt_score(x).into()),
        _ => Frame::Double(x),
    }
}

fn table_to_frame(t: &Table, p: Protos, depth: usize) -> Frame {
    if let Some(err) = string_field(t, "err") {
        return Frame::Error(one_line(&err.as_bytes()));
    }
    if let Some(ok) = string_field(t, "ok") {
        return Frame::Simple(one_line(&ok.as_bytes()));
    }
    if let Ok(Value::Number(_) | Value::Integer(_)) = t.raw_get::<Value>("double") {
        // Read as a float: a Value would make -0 the integer 0.
        if let Ok(x) = t.raw_get::<f64>("double") {
            return double(x, p);
        }
    }
    if let Some(n) = string_field(t, "big_number") {
        return Frame::BigNumber(one_line(&n.as_bytes()));
    }
    if let Ok(Value::Table(map)) = t.raw_get::<Value>("map") {
        let pairs = entries(&map)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                (
                    lua_to_frame_at(&k, p, depth + 1),
                    lua_to_frame_at(&v, p, depth + 1),
                )
            })
            .collect();
        return Frame::Map(pairs);
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        let items = entries(&set)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _)| lua_to_frame_at(&k, p, depth + 1))
            .collect();
        return Frame::Set(items);
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(format), Some(s)) = (string_field(&v, "format"), string_field(&v, "string")) {
            let f = format.as_bytes();
            if f.len() == 3 {
                return Frame::Verbatim {
                    format: [f[0], f[1], f[2]],
                    data: Bytes::copy_from_slice(&s.as_bytes()),
                };
            }
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(lua_to_frame_at(&v, p, depth + 1)),
        }
    }
    Frame::Array(items)
}

/// A table's pairs in `next` order. Iterated inside Lua (`lua_next` with the key left on
/// the stack): a key passed back from Rust could come back changed (mlua reads a float
/// within an epsilon of an integer as that integer), and `next` would lose its place.
pub fn entries(t: &Table) -> mlua::Result<Vec<(Value, Value)>> {
    let mut out = Vec::new();
    t.for_each::<Value, Value>(|k, v| {
        out.push((k, v));
        Ok(())
    })?;
    Ok(out)
}

/// A table of strings, for `KEYS` and `ARGV`.
pub fn string_array(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// A script's failure: the error table it raised (or returned, from `redis.pcall`).
#[derive(Debug)]
pub struct ScriptError {
    msg: String,
    /// Where the script was (from the error handler): `@user_script` and the line.
    at: Option<(String, i64)>,
    /// INFO errorstats counted it already.
    pub counted: bool,
}

impl ScriptError {
    /// From what the error handler produced.
    pub fn from_value(v: &Value) -> ScriptError {
        let Value::Table(t) = v else {
            return ScriptError {
                msg: "ERR execution failure".into(),
                at: None,
                counted: false,
            };
        };
        let msg = string_field(t, "err")
            .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
            .unwrap_or_else(|| "ERR execution failure".into());
        let source = string_field(t, "source").map(|s| s.to_string_lossy());
        let line = match t.raw_get::<Value>("line") {
            Ok(Value::Integer(i)) => Some(i),
            Ok(Value::Number(n)) => Some(n as i64),
            _ => None,
        };
        let counted = matches!(
            t.raw_get::<Value>("ignore_error_stats_update"),
            Ok(Value::Boolean(true))
        );
        ScriptError {
            msg,
            at: source.zip(line),
            counted,
        }
    }

    /// An error table the script returned rather than raised.
    pub fn returned(msg: String, counted: bool) -> ScriptError {
        ScriptError {
            msg,
            at: None,
            counted,
        }
    }

    /// The error line alone, without where the script was.
    pub fn message(&self) -> &str {
        &self.msg
    }

    /// The error reply: `<msg> script: <sha>, on @user_script:<line>.` as Redis 7.0.
    pub fn line(&self, sha: &str) -> String {
        match &self.at {
            Some((source, line)) => format!("{} script: {sha}, on {source}:{line}.", self.msg),
            None => self.msg.clone(),
        }
    }
}

/// True if a returned error table was counted in errorstats already (`redis.pcall`'s).
pub fn counted(v: &Value) -> bool {
    match v {
        Value::Table(t) => matches!(
            t.raw_get::<Value>("ignore_error_stats_update"),
            Ok(Value::Boolean(true))
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_printf() {
        for (x, want) in [
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (100.0, "100"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (1.0e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
            (123456789.125, "123456789.125"),
        ] {
            assert_eq!(fmt_g17(x), want, "{x}");
        }
    }

    #[test]
    fn error_lines_as_lua_push_error_buff() {
        assert_eq!(error_line("x y"), "x y");
        assert_eq!(error_line("boom"), "ERR boom");
        assert_eq!(error_line("MY thing\r\n"), "MY thing");
    }
}
