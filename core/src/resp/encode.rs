//! The RESP encoder: frames to bytes, in RESP2 or RESP3.
//!
//! [`encode`] measures a frame first and reserves exactly that much, then writes it, so a
//! reply costs at most one allocation of the output buffer, whatever its number of elements.
//! The `encode_*` helpers write single values without building a [`Frame`], for servers
//! that stream a reply straight into their output buffer.
//!
//! RESP2 has no maps, sets, doubles, booleans, big numbers, bulk errors, verbatim strings,
//! attributes or push frames; writing a frame in RESP2 downgrades them as Redis does (see
//! [`encode`]).
//!
//! Line payloads (simple strings, errors, big numbers) cannot hold CR or LF: a stray one
//! would end the line and let the rest be read as another reply. Like Redis's
//! `addReplyErrorFormat`, the encoder writes them as spaces, so text that came from a client
//! cannot inject replies.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use memchr::memchr2;

use super::{Frame, Protocol};

/// Writes `frame` to `out` in protocol `proto`, reserving the exact size first.
///
/// RESP3 writes every variant natively ([`Frame::Null`] and [`Frame::NullArray`] are both
/// `_`). RESP2 downgrades as Redis does:
///
/// | frame | RESP2 |
/// |---|---|
/// | `Null` / `NullArray` | `$-1` / `*-1` |
/// | `Boolean` | `:1` / `:0` |
/// | `Double` | bulk string of its text (see [`encode_double`]) |
/// | `BigNumber` | bulk string of its digits |
/// | `BulkError` | simple error `-…`, CR and LF written as spaces |
/// | `Verbatim` | bulk string of the text, without `fmt:` |
/// | `Map` | flat array of 2n elements: key, value, key, value… |
/// | `Set`, `Push` | array |
/// | `Attribute` | the annotated frame alone |
///
/// Nested frames are written by recursion: frames read by a [`Decoder`](super::Decoder) are
/// bounded by its depth limit, and frames a server builds are shallow.
///
/// ```
/// use bytes::BytesMut;
/// use redish_core::resp::{encode, Frame, Protocol};
///
/// let reply = Frame::Map(vec![(Frame::bulk("a"), Frame::Boolean(true))]);
/// let mut out = BytesMut::new();
/// encode(&reply, Protocol::Resp3, &mut out);
/// encode(&reply, Protocol::Resp2, &mut out);
/// assert_eq!(&out[..], b"%1\r\n$1\r\na\r\n#t\r\n*2\r\n$1\r\na\r\n:1\r\n");
/// ```
pub fn encode(frame: &Frame, proto: Protocol, out: &mut BytesMut) {
    out.reserve(encoded_len(frame, proto));
    write_frame(frame, proto, out);
}

/// Writes a command as an array of bulk strings, the form clients send:
/// `encode_command(&["GET", "k"], out)` writes `*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`.
pub fn encode_command<T: AsRef<[u8]>>(args: &[T], out: &mut BytesMut) {
    let len = header_len(args.len())
        + args
            .iter()
            .map(|a| bulk_len(a.as_ref().len()))
            .sum::<usize>();
    out.reserve(len);
    write_header(out, b'*', args.len());
    for arg in args {
        write_bulk(out, b'$', arg.as_ref());
    }
}

/// Writes a bulk string: `$3\r\nfoo\r\n`.
pub fn encode_bulk(out: &mut BytesMut, data: &[u8]) {
    out.reserve(bulk_len(data.len()));
    write_bulk(out, b'$', data);
}

/// Writes an integer: `:42\r\n`.
pub fn encode_integer(out: &mut BytesMut, n: i64) {
    out.reserve(3 + int_len(n));
    write_int_line(out, b':', n);
}

/// Writes a simple string, `+OK\r\n`; CR and LF in `text` are written as spaces.
pub fn encode_simple(out: &mut BytesMut, text: &[u8]) {
    out.reserve(3 + text.len());
    write_line(out, b'+', text);
}

/// Writes an error, `-ERR message\r\n`; `msg` holds the whole line, code included. CR and
/// LF in `msg` are written as spaces.
pub fn encode_error(out: &mut BytesMut, msg: &[u8]) {
    out.reserve(3 + msg.len());
    write_line(out, b'-', msg);
}

/// Writes the null bulk string: `$-1\r\n` in RESP2, `_\r\n` in RESP3.
pub fn encode_null(out: &mut BytesMut, proto: Protocol) {
    out.extend_from_slice(null_bytes(proto));
}

/// Writes the header of an array of `len` elements, `*2\r\n`; the caller writes the
/// elements after it.
pub fn encode_array_len(out: &mut BytesMut, len: usize) {
    out.reserve(header_len(len));
    write_header(out, b'*', len);
}

/// Writes a double: `,3.14\r\n` in RESP3, a bulk string of the same text in RESP2.
///
/// The text is Redis 7's: `inf`, `-inf` and `nan`; integral values within ±2^53 as
/// integers (`3`, `-0`); other values in the shortest form that parses back to the same
/// `f64`: plain decimals (`0.1`, `1234.5`) between 10^-5 and 10^17, exponent form outside
/// (`1e300`, `1.5e-7`). Redis writes the exponent with a sign and two digits (`1e+300`);
/// both forms read back to the same value.
pub fn encode_double(out: &mut BytesMut, x: f64, proto: Protocol) {
    let text = DoubleText::new(x);
    match proto {
        Protocol::Resp3 => {
            out.reserve(3 + text.len());
            write_line(out, b',', text.as_bytes());
        }
        Protocol::Resp2 => {
            out.reserve(bulk_len(text.len()));
            write_bulk(out, b'$', text.as_bytes());
        }
    }
}

/// The text [`encode_double`] writes for `x`.
#[cfg(test)]
pub(crate) fn format_double(x: f64) -> Vec<u8> {
    DoubleText::new(x).as_bytes().to_vec()
}

/// The exact number of bytes [`encode`] writes for `frame`.
fn encoded_len(frame: &Frame, proto: Protocol) -> usize {
    let resp3 = proto == Protocol::Resp3;
    match frame {
        Frame::Simple(s) | Frame::Error(s) => 3 + s.len(),
        Frame::Integer(n) => 3 + int_len(*n),
        Frame::Bulk(b) => bulk_len(b.len()),
        Frame::Null | Frame::NullArray => null_bytes(proto).len(),
        Frame::Boolean(_) => 4,
        Frame::Double(x) => {
            let len = DoubleText::new(*x).len();
            if resp3 {
                3 + len
            } else {
                bulk_len(len)
            }
        }
        Frame::BigNumber(b) if resp3 => 3 + b.len(),
        Frame::BigNumber(b) => bulk_len(b.len()),
        Frame::BulkError(b) if resp3 => bulk_len(b.len()),
        Frame::BulkError(b) => 3 + b.len(),
        Frame::Verbatim { data, .. } if resp3 => bulk_len(4 + data.len()),
        Frame::Verbatim { data, .. } => bulk_len(data.len()),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            header_len(items.len()) + items.iter().map(|f| encoded_len(f, proto)).sum::<usize>()
        }
        Frame::Map(pairs) => {
            let header = header_len(if resp3 { pairs.len() } else { 2 * pairs.len() });
            header + pairs_len(pairs, proto)
        }
        Frame::Attribute { attrs, data } if resp3 => {
            header_len(attrs.len()) + pairs_len(attrs, proto) + encoded_len(data, proto)
        }
        Frame::Attribute { data, .. } => encoded_len(data, proto),
    }
}

fn pairs_len(pairs: &[(Frame, Frame)], proto: Protocol) -> usize {
    pairs
        .iter()
        .map(|(k, v)| encoded_len(k, proto) + encoded_len(v, proto))
        .sum()
}

fn write_frame(frame: &Frame, proto: Protocol, out: &mut BytesMut) {
    let resp3 = proto == Protocol::Resp3;
    match frame {
        Frame::Simple(s) => write_line(out, b'+', s),
        Frame::Error(s) => write_line(out, b'-', s),
        Frame::Integer(n) => write_int_line(out, b':', *n),
        Frame::Bulk(b) => write_bulk(out, b'$', b),
        Frame::Null => out.put_slice(null_bytes(proto)),
        Frame::NullArray if resp3 => out.put_slice(b"_\r\n"),
        Frame::NullArray => out.put_slice(b"*-1\r\n"),
        Frame::Boolean(b) => out.put_slice(match (resp3, b) {
            (true, true) => b"#t\r\n",
            (true, false) => b"#f\r\n",
            (false, true) => b":1\r\n",
            (false, false) => b":0\r\n",
        }),
        Frame::Double(x) => {
            let text = DoubleText::new(*x);
            if resp3 {
                write_line(out, b',', text.as_bytes());
            } else {
                write_bulk(out, b'$', text.as_bytes());
            }
        }
        Frame::BigNumber(b) if resp3 => write_line(out, b'(', b),
        Frame::BigNumber(b) => write_bulk(out, b'$', b),
        Frame::BulkError(b) if resp3 => write_bulk(out, b'!', b),
        Frame::BulkError(b) => write_line(out, b'-', b),
        Frame::Verbatim { format, data } if resp3 => {
            write_header(out, b'=', 4 + data.len());
            out.put_slice(format);
            out.put_u8(b':');
            out.put_slice(data);
            out.put_slice(b"\r\n");
        }
        Frame::Verbatim { data, .. } => write_bulk(out, b'$', data),
        Frame::Array(items) => write_seq(out, b'*', items, proto),
        Frame::Set(items) => write_seq(out, if resp3 { b'~' } else { b'*' }, items, proto),
        Frame::Push(items) => write_seq(out, if resp3 { b'>' } else { b'*' }, items, proto),
        Frame::Map(pairs) if resp3 => write_pairs(out, b'%', pairs, proto),
        Frame::Map(pairs) => {
            write_header(out, b'*', 2 * pairs.len());
            for (k, v) in pairs {
                write_frame(k, proto, out);
                write_frame(v, proto, out);
            }
        }
        Frame::Attribute { attrs, data } => {
            if resp3 {
                write_pairs(out, b'|', attrs, proto);
            }
            write_frame(data, proto, out);
        }
    }
}

fn write_seq(out: &mut BytesMut, ty: u8, items: &[Frame], proto: Protocol) {
    write_header(out, ty, items.len());
    for item in items {
        write_frame(item, proto, out);
    }
}

fn write_pairs(out: &mut BytesMut, ty: u8, pairs: &[(Frame, Frame)], proto: Protocol) {
    write_header(out, ty, pairs.len());
    for (k, v) in pairs {
        write_frame(k, proto, out);
        write_frame(v, proto, out);
    }
}

fn null_bytes(proto: Protocol) -> &'static [u8] {
    match proto {
        Protocol::Resp2 => b"$-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    }
}

/// `ty`, `text` with CR and LF as spaces, CRLF.
fn write_line(out: &mut BytesMut, ty: u8, text: &[u8]) {
    out.put_u8(ty);
    if memchr2(b'\r', b'\n', text).is_none() {
        out.put_slice(text);
    } else {
        out.extend(
            text.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    }
    out.put_slice(b"\r\n");
}

fn write_int_line(out: &mut BytesMut, ty: u8, n: i64) {
    out.put_u8(ty);
    out.put_slice(itoa::Buffer::new().format(n).as_bytes());
    out.put_slice(b"\r\n");
}

/// An aggregate or bulk header: `ty`, `len`, CRLF.
fn write_header(out: &mut BytesMut, ty: u8, len: usize) {
    out.put_u8(ty);
    out.put_slice(itoa::Buffer::new().format(len).as_bytes());
    out.put_slice(b"\r\n");
}

fn write_bulk(out: &mut BytesMut, ty: u8, data: &[u8]) {
    write_header(out, ty, data.len());
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// Length of `ty len CRLF`.
fn header_len(len: usize) -> usize {
    3 + dec_len(len as u64)
}

/// Length of `$len CRLF payload CRLF`.
fn bulk_len(len: usize) -> usize {
    header_len(len) + len + 2
}

fn int_len(n: i64) -> usize {
    usize::from(n < 0) + dec_len(n.unsigned_abs())
}

/// Number of decimal digits of `n`.
fn dec_len(n: u64) -> usize {
    let mut len = 1;
    let mut bound: u64 = 10;
    while len < 20 && n >= bound {
        len += 1;
        bound = bound.wrapping_mul(10);
    }
    len
}

/// The text of a double, formatted on the stack so it can be measured before it is
/// written.
struct DoubleText {
    buf: [u8; 32],
    len: usize,
}

impl DoubleText {
    fn new(x: f64) -> Self {
        let mut text = DoubleText {
            buf: [0; 32],
            len: 0,
        };
        // 2^53: beyond it not every integer is a double, and Redis switches to %.17g.
        const EXACT: f64 = 9_007_199_254_740_992.0;
        let result = if x.is_nan() {
            text.write_str("nan")
        } else if x.is_infinite() {
            text.write_str(if x > 0.0 { "inf" } else { "-inf" })
        } else if x == 0.0 && x.is_sign_negative() {
            text.write_str("-0")
        } else if x.fract() == 0.0 && x.abs() <= EXACT {
            text.write_str(itoa::Buffer::new().format(x as i64))
        } else if (1e-5..1e17).contains(&x.abs()) {
            write!(text, "{x}")
        } else {
            write!(text, "{x:e}")
        };
        // Every form above is at most 24 bytes: sign, 17 significant digits, point and
        // five leading zeros, or an exponent of at most four characters.
        debug_assert!(result.is_ok(), "double text overflow for {x:?}");
        text
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl std::fmt::Write for DoubleText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn enc(frame: &Frame, proto: Protocol) -> BytesMut {
        let mut out = BytesMut::new();
        encode(frame, proto, &mut out);
        out
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn frames() {
        let map = Frame::Map(vec![
            (Frame::simple("a"), Frame::Integer(1)),
            (Frame::bulk("b"), Frame::Null),
        ]);
        // (frame, RESP3, RESP2)
        let cases: Vec<(Frame, &str, &str)> = vec![
            (Frame::OK, "+OK\r\n", "+OK\r\n"),
            (Frame::simple("a\r\nb"), "+a  b\r\n", "+a  b\r\n"),
            (Frame::error("ERR bad"), "-ERR bad\r\n", "-ERR bad\r\n"),
            (Frame::error("ERR\n+OK"), "-ERR +OK\r\n", "-ERR +OK\r\n"),
            (Frame::Integer(0), ":0\r\n", ":0\r\n"),
            (
                Frame::Integer(i64::MIN),
                ":-9223372036854775808\r\n",
                ":-9223372036854775808\r\n",
            ),
            (
                Frame::Integer(i64::MAX),
                ":9223372036854775807\r\n",
                ":9223372036854775807\r\n",
            ),
            (Frame::bulk("foo"), "$3\r\nfoo\r\n", "$3\r\nfoo\r\n"),
            (Frame::bulk("a\r\n"), "$3\r\na\r\n\r\n", "$3\r\na\r\n\r\n"),
            (Frame::bulk(""), "$0\r\n\r\n", "$0\r\n\r\n"),
            (Frame::Null, "_\r\n", "$-1\r\n"),
            (Frame::NullArray, "_\r\n", "*-1\r\n"),
            (Frame::Boolean(true), "#t\r\n", ":1\r\n"),
            (Frame::Boolean(false), "#f\r\n", ":0\r\n"),
            (Frame::Double(3.0), ",3\r\n", "$1\r\n3\r\n"),
            (Frame::Double(1.5), ",1.5\r\n", "$3\r\n1.5\r\n"),
            (Frame::Double(f64::INFINITY), ",inf\r\n", "$3\r\ninf\r\n"),
            (
                Frame::Double(f64::NEG_INFINITY),
                ",-inf\r\n",
                "$4\r\n-inf\r\n",
            ),
            (Frame::Double(f64::NAN), ",nan\r\n", "$3\r\nnan\r\n"),
            (Frame::BigNumber(b("-123")), "(-123\r\n", "$4\r\n-123\r\n"),
            (
                Frame::BulkError(b("ERR x\r\ny")),
                "!8\r\nERR x\r\ny\r\n",
                "-ERR x  y\r\n",
            ),
            (
                Frame::Verbatim {
                    format: *b"txt",
                    data: b("hi"),
                },
                "=6\r\ntxt:hi\r\n",
                "$2\r\nhi\r\n",
            ),
            (Frame::Array(vec![]), "*0\r\n", "*0\r\n"),
            (
                Frame::command(["GET", "k"]),
                "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
                "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            ),
            (
                map.clone(),
                "%2\r\n+a\r\n:1\r\n$1\r\nb\r\n_\r\n",
                "*4\r\n+a\r\n:1\r\n$1\r\nb\r\n$-1\r\n",
            ),
            (
                Frame::Set(vec![Frame::Integer(1)]),
                "~1\r\n:1\r\n",
                "*1\r\n:1\r\n",
            ),
            (
                Frame::Push(vec![Frame::bulk("message")]),
                ">1\r\n$7\r\nmessage\r\n",
                "*1\r\n$7\r\nmessage\r\n",
            ),
            (
                Frame::Attribute {
                    attrs: vec![(Frame::simple("ttl"), Frame::Integer(3))],
                    data: Box::new(Frame::Array(vec![map])),
                },
                "|1\r\n+ttl\r\n:3\r\n*1\r\n%2\r\n+a\r\n:1\r\n$1\r\nb\r\n_\r\n",
                "*1\r\n*4\r\n+a\r\n:1\r\n$1\r\nb\r\n$-1\r\n",
            ),
        ];
        for (frame, resp3, resp2) in cases {
            assert_eq!(enc(&frame, Protocol::Resp3), resp3.as_bytes(), "{frame:?}");
            assert_eq!(enc(&frame, Protocol::Resp2), resp2.as_bytes(), "{frame:?}");
        }
    }

    #[test]
    fn doubles() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (3.0, "3"),
            (-42.0, "-42"),
            (9_007_199_254_740_992.0, "9007199254740992"),
            (-9_007_199_254_740_992.0, "-9007199254740992"),
            (9_007_199_254_740_994.0, "9007199254740994"),
            (1e17, "1e17"),
            (1e300, "1e300"),
            (0.1, "0.1"),
            (2.71, "2.71"),
            (-1234.5678, "-1234.5678"),
            (0.00001, "0.00001"),
            (0.000001, "1e-6"),
            (1.5e-7, "1.5e-7"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-5e-324, "-5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.000012345678901234568, "-0.000012345678901234568"),
        ];
        for &(x, text) in cases {
            assert_eq!(String::from_utf8(format_double(x)).unwrap(), text, "{x:?}");
        }
    }

    #[test]
    fn helpers() {
        let mut out = BytesMut::new();
        encode_bulk(&mut out, b"v");
        encode_integer(&mut out, -7);
        encode_simple(&mut out, b"PONG");
        encode_error(&mut out, b"ERR no\r\n");
        encode_null(&mut out, Protocol::Resp2);
        encode_null(&mut out, Protocol::Resp3);
        encode_array_len(&mut out, 12);
        encode_double(&mut out, 2.5, Protocol::Resp3);
        encode_double(&mut out, 2.5, Protocol::Resp2);
        encode_command(&["SET", "k", "v"], &mut out);
        encode_command::<&str>(&[], &mut out);
        assert_eq!(
            &out[..],
            &b"$1\r\nv\r\n:-7\r\n+PONG\r\n-ERR no  \r\n$-1\r\n_\r\n*12\r\n,2.5\r\n$3\r\n2.5\r\n\
               *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*0\r\n"[..]
        );
    }

    #[test]
    fn dec_len_matches_itoa() {
        let mut n: u64 = 1;
        for _ in 0..20 {
            for m in [n - 1, n, n + 1, n.saturating_mul(9)] {
                assert_eq!(dec_len(m), itoa::Buffer::new().format(m).len(), "{m}");
            }
            n = n.saturating_mul(10);
        }
        assert_eq!(dec_len(u64::MAX), 20);
    }

    proptest! {
        /// The size measured up front is the size written, so `encode` reserves exactly.
        #[test]
        fn measured_len_is_exact(frame in crate::resp::decode::tests::frame()) {
            for proto in [Protocol::Resp2, Protocol::Resp3] {
                let mut out = BytesMut::new();
                encode(&frame, proto, &mut out);
                prop_assert_eq!(out.len(), encoded_len(&frame, proto));
            }
        }

        #[test]
        fn doubles_read_back(x in any::<f64>()) {
            let text = String::from_utf8(format_double(x)).unwrap();
            let back: f64 = text.parse().unwrap();
            prop_assert!(back == x || (x.is_nan() && back.is_nan()), "{} -> {}", x, text);
        }

        #[test]
        fn commands_match_frames(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..10), 0..6)) {
            let mut out = BytesMut::new();
            encode_command(&args, &mut out);
            prop_assert_eq!(out, enc(&Frame::command(&args), Protocol::Resp2));
        }
    }
}
