//! Writing replies straight into a connection's output buffer, and the number formats of
//! the data-type commands.
//!
//! The aggregate commands write their replies element by element from the stored values
//! (LRANGE, HGETALL, ZRANGE…) instead of building a [`Frame`] first: no intermediate
//! allocation per element. A blocked client's reply is written the same way into a buffer
//! of its own (see [`crate::cmd::blocking`]).

use bytes::{BufMut, BytesMut};

use super::CmdError;
pub(crate) use crate::num::fmt_score;
use crate::resp::{encode, Frame, Protocol};

/// An output buffer and the protocol to write in.
pub(crate) struct Out<'a> {
    pub buf: &'a mut BytesMut,
    pub proto: Protocol,
}

impl Out<'_> {
    fn header(&mut self, kind: u8, n: usize) {
        let mut b = itoa::Buffer::new();
        let digits = b.format(n);
        self.buf.reserve(3 + digits.len());
        self.buf.put_u8(kind);
        self.buf.put_slice(digits.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    pub fn resp3(&self) -> bool {
        self.proto == Protocol::Resp3
    }

    /// `*n`.
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n);
    }

    /// `%n` in RESP3, `*2n` in RESP2.
    pub fn map(&mut self, pairs: usize) {
        if self.resp3() {
            self.header(b'%', pairs);
        } else {
            self.header(b'*', pairs * 2);
        }
    }

    /// `~n` in RESP3, `*n` in RESP2.
    pub fn set(&mut self, n: usize) {
        let kind = if self.resp3() { b'~' } else { b'*' };
        self.header(kind, n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        let mut b = itoa::Buffer::new();
        let digits = b.format(data.len());
        self.buf.reserve(5 + digits.len() + data.len());
        self.buf.put_u8(b'$');
        self.buf.put_slice(digits.as_bytes());
        self.buf.put_slice(b"\r\n");
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        let digits = b.format(n);
        self.buf.reserve(3 + digits.len());
        self.buf.put_u8(b':');
        self.buf.put_slice(digits.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// The null bulk string: `$-1` / `_`.
    pub fn null(&mut self) {
        self.buf
            .put_slice(if self.resp3() { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null array: `*-1` / `_`.
    pub fn null_array(&mut self) {
        self.buf
            .put_slice(if self.resp3() { b"_\r\n" } else { b"*-1\r\n" });
    }

    /// A score as Redis 7.0's `addReplyDouble`: `%.17g` (`inf`, `-inf`), a bulk string in
    /// RESP2 and a double in RESP3.
    pub fn score(&mut self, x: f64) {
        let text = fmt_score(x);
        if self.resp3() {
            self.buf.reserve(3 + text.len());
            self.buf.put_u8(b',');
            self.buf.put_slice(text.as_bytes());
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    pub fn frame(&mut self, frame: &Frame) {
        encode(frame, self.proto, self.buf);
    }

    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    pub fn error(&mut self, e: &CmdError) {
        self.frame(&e.to_frame());
    }
}

/// Parses a float as Redis's `string2d` (`strtod` over the whole string): decimal with an
/// optional exponent, hexadecimal (`0x1p3`), `inf`/`infinity`; no leading space, nothing
/// after, no NaN, and no overflow or underflow to zero (ERANGE).
pub(crate) fn parse_f64(s: &[u8]) -> Option<f64> {
    match s.first() {
        None => return None,
        Some(c) if c.is_ascii_whitespace() || *c == 0x0b => return None,
        _ => {}
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(sign * f64::INFINITY);
    }
    if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        return parse_hex(&body[2..]).map(|v| sign * v);
    }
    if !is_decimal(body) {
        return None;
    }
    let v: f64 = std::str::from_utf8(body).ok()?.parse().ok()?;
    if v.is_infinite() {
        return None;
    }
    if v == 0.0
        && body
            .iter()
            .take_while(|c| **c != b'e' && **c != b'E')
            .any(|c| (b'1'..=b'9').contains(c))
    {
        return None;
    }
    Some(sign * v)
}

/// `digits [. digits] [e [+-] digits]` or `. digits …`, at least one mantissa digit.
fn is_decimal(s: &[u8]) -> bool {
    let mut i = 0;
    let int = s.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        frac = s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac;
    }
    if int + frac == 0 {
        return false;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp = s[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i = j + exp;
    }
    i == s.len()
}

/// The part of a hexadecimal float after `0x`: hex digits with an optional point and an
/// optional binary exponent `p[+-]digits`.
fn parse_hex(s: &[u8]) -> Option<f64> {
    let mut mant: u128 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0;
    let mut i = 0;
    let mut seen_point = false;
    let mut inexact = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            digits += 1;
            if mant >> 120 == 0 {
                mant = mant << 4 | u128::from(d);
                if seen_point {
                    exp -= 4;
                }
            } else {
                inexact |= d != 0;
                if !seen_point {
                    exp += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() && (s[i] | 0x20) == b'p' {
        let rest = &s[i + 1..];
        let (eneg, edigits) = match rest.first() {
            Some(b'-') => (true, &rest[1..]),
            Some(b'+') => (false, &rest[1..]),
            _ => (false, rest),
        };
        if edigits.is_empty() || !edigits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let e: i64 = std::str::from_utf8(edigits)
            .ok()?
            .parse()
            .unwrap_or(i64::MAX / 4);
        exp = exp.saturating_add(if eneg { -e } else { e });
    } else if i != s.len() {
        return None;
    }
    if mant == 0 {
        return Some(0.0);
    }
    if inexact {
        // A sticky bit far below the 53 kept: rounds as the dropped digits would.
        mant |= 1;
    }
    // mant × 2^exp, rounded once to f64 through the float conversion of a 128-bit integer
    // scaled in two exact steps.
    let v = (mant as f64) * 2f64.powi(exp.clamp(-1100, 1100) as i32);
    if v.is_infinite() || v == 0.0 {
        return None;
    }
    Some(v)
}

/// Parses a range bound as `zslParseRange`: `strtod` after an optional `(`, requiring only
/// that parsing stop at the end (or at a NUL byte); leading spaces, an empty string (0),
/// overflow (±inf) and underflow (0) all pass, NaN does not.
pub(crate) fn parse_range_f64(s: &[u8]) -> Option<f64> {
    // The C string ends at a NUL byte.
    let s = memchr::memchr(0, s).map_or(s, |nul| &s[..nul]);
    let trimmed = {
        let start = s
            .iter()
            .position(|c| !(c.is_ascii_whitespace() || *c == 0x0b))
            .unwrap_or(s.len());
        &s[start..]
    };
    if trimmed.is_empty() {
        // No conversion: strtod leaves the end pointer at the start, which is the end only
        // for an empty string.
        return s.is_empty().then_some(0.0);
    }
    let (neg, body) = match trimmed[0] {
        b'-' => (true, &trimmed[1..]),
        b'+' => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(sign * f64::INFINITY);
    }
    if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        return parse_hex(&body[2..]).map(|v| sign * v);
    }
    if !is_decimal(body) {
        return None;
    }
    let v: f64 = std::str::from_utf8(body).ok()?.parse().ok()?;
    Some(sign * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_as_printf_17g() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (0.30000000000000004, "0.30000000000000004"),
            (1e300, "1.0000000000000001e+300"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0"),
            (100.0, "100"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-2.5, "-2.5"),
            (3.0e-7, "2.9999999999999999e-07"),
            (5e-324, "4.9406564584124654e-324"),
        ];
        for &(x, want) in cases {
            assert_eq!(fmt_score(x), want, "{x}");
        }
    }

    #[test]
    fn floats_parse_as_strtod() {
        let ok: &[(&str, f64)] = &[
            ("1", 1.0),
            ("-1.5", -1.5),
            ("+2", 2.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("0x10", 16.0),
            ("0x1p-2", 0.25),
            ("0e-500", 0.0),
        ];
        for &(s, want) in ok {
            assert_eq!(parse_f64(s.as_bytes()), Some(want), "{s}");
        }
        for bad in [
            "", " 1", "1 ", "abc", "nan", "1e", "1e400", "1e-400", "--1", "0x", ".",
        ] {
            assert_eq!(parse_f64(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_range_f64(b""), Some(0.0));
        assert_eq!(parse_range_f64(b" 5"), Some(5.0));
        assert_eq!(parse_range_f64(b"  "), None);
        assert_eq!(parse_range_f64(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_range_f64(b"5\0x"), Some(5.0));
        assert_eq!(parse_range_f64(b"nan"), None);
    }
}

/// The options of HSCAN, SSCAN and ZSCAN: `[MATCH pattern] [COUNT count]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Where to continue; 0 starts.
    pub cursor: u64,
    /// `MATCH`: a glob pattern over fields or members (`None` for `*`).
    pub pattern: Option<bytes::Bytes>,
    /// `COUNT`: hashes to visit (default 10).
    pub count: usize,
}

impl ScanOptions {
    /// Parses what follows the key. The cursor is checked first; the options only once
    /// the key's type is (Redis parses them in `scanGenericCommand`), so their error is
    /// kept in the result's `Err` beside the cursor.
    pub(crate) fn parse(args: &mut super::Args) -> Result<Result<ScanOptions, CmdError>, CmdError> {
        let cursor = super::keys::parse_cursor(&args.required()?)?;
        let mut o = ScanOptions {
            cursor,
            pattern: None,
            count: 10,
        };
        let rest = args.rest();
        let mut i = 0;
        while i < rest.len() {
            let has_value = i + 1 < rest.len();
            let opt = &rest[i];
            if opt.eq_ignore_ascii_case(b"COUNT") && has_value {
                let n = match super::int_arg(&rest[i + 1]) {
                    Ok(n) => n,
                    Err(e) => return Ok(Err(e)),
                };
                if n < 1 {
                    return Ok(Err(CmdError::Syntax));
                }
                o.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if opt.eq_ignore_ascii_case(b"MATCH") && has_value {
                let p = rest[i + 1].clone();
                o.pattern = (p.as_ref() != b"*").then_some(p);
            } else {
                return Ok(Err(CmdError::Syntax));
            }
            i += 2;
        }
        Ok(Ok(o))
    }

    /// True if `item` passes MATCH.
    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .map_or(true, |p| crate::db::glob_match(p, item, false))
    }
}

/// Writes a SCAN-family reply: `[cursor, items]`.
pub(crate) fn scan_reply(out: &mut Out, cursor: u64, items: &[Vec<u8>]) {
    out.array(2);
    out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    out.array(items.len());
    for i in items {
        out.bulk(i);
    }
}

/// Parses a count argument as `getRangeLongFromObjectOrReply(…, -LONG_MAX, LONG_MAX)`.
pub(crate) fn count_arg(s: &[u8]) -> Result<i64, CmdError> {
    let n = super::int_arg(s)?;
    if n == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(n)
}

/// The `[count [WITHVALUES | WITHSCORES]]` tail of HRANDFIELD and ZRANDMEMBER, with Redis's
/// checks: `with` doubles the reply, so its count must stay within half the range.
pub(crate) fn random_count(
    args: &mut super::Args,
    with: &[u8],
) -> Result<(Option<i64>, bool), CmdError> {
    let Some(c) = args.next() else {
        return Ok((None, false));
    };
    let n = count_arg(&c)?;
    let with_values = match args.rest().as_slice() {
        [] => false,
        [w] if w.eq_ignore_ascii_case(with) => {
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                return Err(CmdError::err("value is out of range"));
            }
            true
        }
        _ => return Err(CmdError::Syntax),
    };
    Ok((Some(n), with_values))
}
