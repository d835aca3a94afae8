//! The `struct` library Redis bundles (Roberto Ierusalimschy's `struct.c`, in the revision
//! Redis 7.0 ships): `struct.pack`, `struct.unpack` and `struct.size` of binary records,
//! with that C code's formats, limits, quirks and error texts.
//!
//! Formats: `>` big and `<` little endian (little by default, as on x86-64), `![n]` maximum
//! alignment (8 without `n`), `x` a zero byte, `b`/`B` `h`/`H` `l`/`L` `T` `i[n]`/`I[n]`
//! signed/unsigned integers of 1, 2, 8, 8 and `n` (≤ 32, default 4) bytes, `c[n]` `n` bytes of
//! a string (`c0`: the whole string when packing; when unpacking, the length is the number
//! read just before), `s` a zero-terminated string, `f`/`d` float and double, spaces ignored.
//!
//! What the C code does with its 64-bit integers is kept: an integer field wider than 8 bytes
//! packs the low 64 bits and zeros (no sign extension), unpacks the last 8 bytes read, and a
//! number out of range packs as x86-64 converts a double to an integer.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};
use mlua::{Lua, MultiValue, Table, Value};

/// The widest integer field (`MAXINTSIZE`).
const MAX_INT_SIZE: i32 = 32;
/// `!` without a number: the platform's strictest alignment (x86-64: 8).
const MAX_ALIGN: i32 = 8;

/// Why a format is refused. Plain data, so that the C-level `unpack` can raise it with
/// Lua's own error functions (which jump over the Rust frames: nothing may need dropping).
#[derive(Debug, Clone, Copy)]
enum Fail {
    /// A number in the format past `INT_MAX`.
    SizeOverflow,
    /// `i`/`I` wider than [`MAX_INT_SIZE`].
    IntTooLarge(i32),
    /// `!n` with `n` not a power of two.
    Align(i32),
    /// An option that does not exist (an argument error of the format).
    BadOption(u8),
}

impl Fail {
    /// The error a Rust callback raises (`pack`, `size`): the texts of the C code.
    fn into_error(self, function: &str) -> mlua::Error {
        match self {
            Fail::SizeOverflow => error("integral size overflow"),
            Fail::IntTooLarge(size) => error(format!(
                "integral size {size} is larger than limit of {MAX_INT_SIZE}"
            )),
            Fail::Align(a) => error(format!("alignment {a} is not a power of 2")),
            Fail::BadOption(opt) => bad_argument(
                1,
                function,
                &format!("invalid format option '{}'", char::from(opt)),
            ),
        }
    }

    /// Raises the error as the C code does, from the running C function (`unpack`).
    ///
    /// # Safety
    /// `l` is the running C function's state, and nothing on the Rust side needs dropping.
    unsafe fn raise(self, l: *mut lua_State) -> c_int {
        match self {
            Fail::SizeOverflow => ffi::luaL_error(l, c"integral size overflow".as_ptr()),
            Fail::IntTooLarge(size) => ffi::luaL_error(
                l,
                c"integral size %d is larger than limit of %d".as_ptr(),
                size as c_int,
                MAX_INT_SIZE as c_int,
            ),
            Fail::Align(a) => {
                ffi::luaL_error(l, c"alignment %d is not a power of 2".as_ptr(), a as c_int)
            }
            Fail::BadOption(opt) => {
                let msg =
                    ffi::lua_pushfstring(l, c"invalid format option '%c'".as_ptr(), opt as c_int);
                ffi::luaL_argerror(l, 1, msg)
            }
        }
    }
}

/// The byte order and alignment the format has set so far.
struct Header {
    little: bool,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header {
            little: true,
            align: 1,
        }
    }
}

/// A format string being read: a C string, so it ends at its first NUL.
struct Format<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Format<'a> {
    fn new(bytes: &'a [u8]) -> Format<'a> {
        let end = memchr_nul(bytes).unwrap_or(bytes.len());
        Format {
            bytes: &bytes[..end],
            at: 0,
        }
    }

    fn next_option(&mut self) -> Option<u8> {
        let c = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(c)
    }

    /// The number written after an option (`getnum`), or `default` if none.
    fn number(&mut self, default: i32) -> Result<i32, Fail> {
        if !self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: i32 = 0;
        while let Some(&c) = self.bytes.get(self.at).filter(|c| c.is_ascii_digit()) {
            let d = i32::from(c - b'0');
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(Fail::SizeOverflow);
            }
            a = a * 10 + d;
            self.at += 1;
        }
        Ok(a)
    }

    /// The size of option `opt`'s field (`optsize`): 0 for the options without one.
    fn size(&mut self, opt: u8) -> Result<usize, Fail> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.number(1)? as usize,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(Fail::IntTooLarge(size));
                }
                size as usize
            }
            _ => 0,
        })
    }

    /// Applies a control option (`controloptions`): spaces, `<`, `>`, `!`; anything else is
    /// an invalid option.
    fn control(&mut self, opt: u8, h: &mut Header) -> Result<(), Fail> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.number(MAX_ALIGN)?;
                if a <= 0 || a & (a - 1) != 0 {
                    return Err(Fail::Align(a));
                }
                h.align = a as usize;
            }
            _ => return Err(Fail::BadOption(opt)),
        }
        Ok(())
    }
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

/// Padding before a field of `size` bytes at offset `len` (`gettoalign`), in the C code's
/// unsigned arithmetic (sizes that are not powers of two give what they give there).
fn padding(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & (size - 1)) & (size - 1)
}

fn error(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(msg.into())
}

fn bad_argument(n: usize, function: &str, msg: &str) -> mlua::Error {
    error(format!("bad argument #{n} to '{function}' ({msg})"))
}

/// `luaL_checknumber` of argument `i` (0-based); `missing` is what an absent one is called.
fn check_number(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    function: &str,
    missing: &Value,
) -> mlua::Result<f64> {
    let v = args.get(i).unwrap_or(missing);
    let n = match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(_) => lua.coerce_number(v.clone())?,
        _ => None,
    };
    n.ok_or_else(|| {
        bad_argument(
            i + 1,
            function,
            &format!("number expected, got {}", crate::type_name(Some(v))),
        )
    })
}

/// `luaL_checklstring` of argument `i` (0-based): numbers are turned into their text.
fn check_string(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    function: &str,
    missing: Option<&Value>,
) -> mlua::Result<Vec<u8>> {
    let v = args.get(i).or(missing);
    let s = match v {
        Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => {
            lua.coerce_string(v.clone())?.map(|s| s.as_bytes().to_vec())
        }
        _ => None,
    };
    s.ok_or_else(|| {
        bad_argument(
            i + 1,
            function,
            &format!("string expected, got {}", crate::type_name(v)),
        )
    })
}

/// A double converted to a 64-bit unsigned integer as the C code's casts do on x86-64:
/// negative numbers through `long`, others straight to `unsigned long` (with the
/// conversion's out-of-range results, `0x8000000000000000` or 0).
fn to_u64(n: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    const INDEFINITE: u64 = 1 << 63;
    let signed = |x: f64| {
        if x.is_nan() || !(-TWO_63..TWO_63).contains(&x) {
            INDEFINITE
        } else {
            x as i64 as u64
        }
    };
    if n < 0.0 || n.is_nan() || n < TWO_63 {
        signed(n)
    } else {
        signed(n - TWO_63) ^ INDEFINITE
    }
}

/// The bytes of an integer field of `size` bytes (`putinteger`).
fn put_integer(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let value = to_u64(n);
    let byte = |k: usize| if k < 8 { (value >> (8 * k)) as u8 } else { 0 };
    if little {
        out.extend((0..size).map(byte));
    } else {
        out.extend((0..size).rev().map(byte));
    }
}

/// An integer field read back (`getinteger`): the last 8 bytes shifted in, sign-extended
/// from the field's top bit (the C shift count taken modulo 64, as x86-64 does).
fn get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut shift_in = |b: u8| l = (l << 8) | u64::from(b);
    if little {
        bytes.iter().rev().for_each(|&b| shift_in(b));
    } else {
        bytes.iter().for_each(|&b| shift_in(b));
    }
    if !signed {
        return l as f64;
    }
    let bits = (bytes.len() * 8) as u32;
    let mask = u64::MAX.wrapping_shl(bits.wrapping_sub(1));
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

/// `struct.pack(fmt, v1, v2, …)`.
fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::String> {
    let fmt = check_string(lua, &args, 0, "pack", None)?;
    let mut fmt = Format::new(&fmt);
    let mut h = Header::new();
    // Past the arguments the C code finds the nil it pushed to separate them.
    let missing = Value::Nil;
    let mut arg = 1;
    let mut out = Vec::new();
    let fail = |f: Fail| f.into_error("pack");
    while let Some(opt) = fmt.next_option() {
        let size = fmt.size(opt).map_err(fail)?;
        let pad = padding(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(lua, &args, arg, "pack", &missing)?;
                arg += 1;
                put_integer(&mut out, n, h.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = check_number(lua, &args, arg, "pack", &missing)? as f32;
                arg += 1;
                out.extend(if h.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                });
            }
            b'd' => {
                let d = check_number(lua, &args, arg, "pack", &missing)?;
                arg += 1;
                out.extend(if h.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = check_string(lua, &args, arg, "pack", Some(&missing))?;
                arg += 1;
                let size = if size == 0 { s.len() } else { size };
                if s.len() < size {
                    // The C code names the argument after this one.
                    return Err(bad_argument(arg + 1, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => fmt.control(opt, &mut h).map_err(fail)?,
        }
    }
    lua.create_string(&out)
}

/// `struct.unpack(fmt, s [, i])`: the values, then the position after them.
///
/// A C function, as in Redis, rather than a Rust callback: it may leave as many values as
/// Lua lets a C function have (7998 with two arguments; `luaL_checkstack`'s "too many
/// results" past that), which an mlua callback cannot return, and its errors are Lua's own
/// (`luaL_argerror`, `luaL_error`), with their texts and where the script called it. Nothing
/// here owns memory: those errors jump over this frame.
unsafe extern "C-unwind" fn unpack(l: *mut lua_State) -> c_int {
    let mut fmt_len = 0;
    let fmt = ffi::luaL_checklstring(l, 1, &mut fmt_len);
    let fmt = std::slice::from_raw_parts(fmt.cast::<u8>(), fmt_len);
    let mut ld = 0;
    let data = ffi::luaL_checklstring(l, 2, &mut ld);
    // The strings stay on the stack, so their bytes stay put while results are pushed.
    let data = std::slice::from_raw_parts(data.cast::<u8>(), ld);
    // A `size_t` in the C code: a negative offset wraps to a huge one.
    let start = ffi::luaL_optinteger(l, 3, 1) as usize;
    if start == 0 {
        return ffi::luaL_argerror(l, 3, c"offset must be 1 or greater".as_ptr());
    }
    let mut pos = start - 1;
    let mut fmt = Format::new(fmt);
    let mut h = Header::new();
    let mut n: c_int = 0;
    let too_short = c"data string too short".as_ptr();
    while let Some(opt) = fmt.next_option() {
        let mut size = match fmt.size(opt) {
            Ok(size) => size,
            Err(f) => return f.raise(l),
        };
        pos = pos.wrapping_add(padding(pos, &h, opt, size));
        if size > ld || pos > ld - size {
            return ffi::luaL_argerror(l, 2, too_short);
        }
        ffi::luaL_checkstack_(l, 2, c"too many results".as_ptr());
        let field = &data[pos..pos + size];
        match opt {
            b'b' | b'h' | b'l' | b'i' => {
                ffi::lua_pushnumber(l, get_integer(field, h.little, true));
                n += 1;
            }
            b'B' | b'H' | b'L' | b'T' | b'I' => {
                ffi::lua_pushnumber(l, get_integer(field, h.little, false));
                n += 1;
            }
            b'x' => {}
            b'f' => {
                let mut b = [0; 4];
                b.copy_from_slice(field);
                let f = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                ffi::lua_pushnumber(l, f64::from(f));
                n += 1;
            }
            b'd' => {
                let mut b = [0; 8];
                b.copy_from_slice(field);
                let d = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                ffi::lua_pushnumber(l, d);
                n += 1;
            }
            b'c' => {
                if size == 0 {
                    // The length is the number just read, which leaves the results.
                    if n == 0 || ffi::lua_isnumber(l, -1) == 0 {
                        return ffi::luaL_error(l, c"format 'c0' needs a previous size".as_ptr());
                    }
                    size = to_u64(ffi::lua_tonumber(l, -1)) as usize;
                    ffi::lua_settop(l, -2);
                    n -= 1;
                    if size > ld || pos > ld - size {
                        return ffi::luaL_argerror(l, 2, too_short);
                    }
                }
                ffi::lua_pushlstring_(l, data[pos..].as_ptr().cast(), size);
                n += 1;
            }
            b's' => {
                let Some(len) = memchr_nul(&data[pos..]) else {
                    return ffi::luaL_error(l, c"unfinished string in data".as_ptr());
                };
                ffi::lua_pushlstring_(l, data[pos..].as_ptr().cast(), len);
                n += 1;
                size = len + 1;
            }
            _ => {
                if let Err(f) = fmt.control(opt, &mut h) {
                    return f.raise(l);
                }
            }
        }
        pos = pos.wrapping_add(size);
    }
    ffi::lua_pushinteger(l, pos.wrapping_add(1) as ffi::lua_Integer);
    n + 1
}

/// `struct.size(fmt)`: the bytes a format packs to, when that is fixed.
fn size(lua: &Lua, args: MultiValue) -> mlua::Result<f64> {
    let fmt = check_string(lua, &args, 0, "size", None)?;
    let mut fmt = Format::new(&fmt);
    let mut h = Header::new();
    let mut pos: usize = 0;
    let fail = |f: Fail| f.into_error("size");
    while let Some(opt) = fmt.next_option() {
        let size = fmt.size(opt).map_err(fail)?;
        pos = pos.wrapping_add(padding(pos, &h, opt, size));
        if opt == b's' {
            return Err(bad_argument(1, "size", "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(bad_argument(1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.control(opt, &mut h).map_err(fail)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(pos as f64)
}

/// The `struct` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    // SAFETY: `unpack` follows the Lua C API's rules and owns no memory when it raises.
    t.raw_set("unpack", unsafe { lua.create_c_function(unpack)? })?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_numbers_convert_as_x86_64_does() {
        assert_eq!(to_u64(-1.7), u64::MAX);
        assert_eq!(to_u64(-1e20), 1 << 63);
        assert_eq!(to_u64(f64::NAN), 1 << 63);
        assert_eq!(to_u64(9_223_372_036_854_775_808.0), 1 << 63);
        assert_eq!(to_u64(18_446_744_073_709_551_616.0), 0);
        assert_eq!(to_u64(300.0), 300);
    }

    #[test]
    fn wide_integers_keep_64_bits() {
        let mut out = Vec::new();
        put_integer(&mut out, -1.0, true, 16);
        assert_eq!(out, [[0xff; 8], [0; 8]].concat());
        assert_eq!(get_integer(&[0xff; 9], true, true), -1.0);
        assert_eq!(get_integer(&[0xff, 0xfe], false, true), -2.0);
        assert_eq!(get_integer(&[0xff, 0xfe], false, false), 65534.0);
    }
}
