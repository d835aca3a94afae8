//! The incremental RESP2/RESP3 frame decoder: what a client reads from a server.
//!
//! The decoder is a state machine over a caller-owned [`BytesMut`]. Every element is taken
//! out of the buffer as soon as it is complete, and whatever is only partly there is
//! remembered rather than re-read:
//! - aggregates being filled sit on an explicit stack (no recursion: nesting costs heap, not
//!   call stack, and is bounded by [`Limits::max_depth`]);
//! - a bulk whose header has been read remembers its length, so waiting for a large payload
//!   is one comparison per call;
//! - a line still missing its CRLF remembers how far it has been searched.
//!
//! So a stream cut into chunks of any size is scanned once, and the work per call is
//! proportional to the new bytes.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr2;

use super::{Frame, Limits, ProtocolError};

/// Never reserve more than this many elements for an aggregate up front: a declared count is
/// a claim, not data, and a peer must send the elements before we hold memory for them.
pub(crate) const MAX_PREALLOC: usize = 1024;

/// Reads RESP2 and RESP3 frames from a byte stream fed in chunks of any size.
///
/// ```
/// use bytes::BytesMut;
/// use redish_core::resp::{Decoder, Frame};
///
/// let mut decoder = Decoder::default();
/// let mut buf = BytesMut::from(&b"*2\r\n$3\r\nfoo\r\n:4"[..]);
/// assert_eq!(decoder.decode(&mut buf), Ok(None)); // the integer has no CRLF yet
/// buf.extend_from_slice(b"2\r\n");
/// let frame = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(frame, Frame::Array(vec![Frame::bulk("foo"), Frame::Integer(42)]));
/// assert!(buf.is_empty());
/// ```
///
/// # Contract
/// The decoder owns the front of the buffer: between calls the caller may only append bytes
/// (or pass an empty buffer), never remove or change what is there, because the decoder
/// remembers its position in it. Bytes are removed from the front as elements complete, so
/// after `Ok(None)` the buffer may be shorter than before while no frame has come out yet.
///
/// After an error the state of the decoder is unspecified: the stream has lost its framing
/// and the connection must be closed. Calling it again is safe (it never panics) but
/// meaningless.
///
/// # What it accepts
/// - Lines end at their first CR, which must be followed by LF; a lone LF in a line is an
///   error too ([`ProtocolError::InvalidLineEnd`]). A line longer than
///   [`Limits::max_inline_bytes`] (type byte included, CRLF excluded) is
///   [`ProtocolError::LineTooLong`], reported as soon as that many bytes are buffered.
/// - Lengths and counts follow Redis's `string2ll`: no sign but for `-1`, no leading zeros.
///   `$-1` is [`Frame::Null`] and `*-1` is [`Frame::NullArray`]; other aggregates have no
///   null form. Lengths above the limits are errors as soon as the header line is read,
///   before any memory is set aside for them.
/// - `:` integers take an optional `+` or `-` and leading zeros; `(` big numbers are an
///   optional sign and one or more digits; `,` doubles are anything Rust's `f64` parser
///   accepts, which includes `inf`, `-inf` and `nan` in any case.
/// - `|` attributes wrap the frame that follows them in [`Frame::Attribute`], which counts
///   as one element of its parent. An attribute counts as one level of nesting.
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    /// Aggregates whose elements are still arriving, innermost last.
    stack: Vec<Open>,
    /// A bulk-like payload whose header has been consumed.
    pending: Option<PendingBulk>,
    /// How many bytes at the front of the buffer are known to hold no CR or LF: the search
    /// for the end of the current line resumes there.
    scanned: usize,
}

/// A `$`, `!` or `=` payload that has not fully arrived.
#[derive(Debug, Clone, Copy)]
struct PendingBulk {
    kind: BulkKind,
    len: usize,
}

#[derive(Debug, Clone, Copy)]
enum BulkKind {
    Bulk,
    Error,
    Verbatim,
}

#[derive(Debug, Clone, Copy)]
enum SeqKind {
    Array,
    Set,
    Push,
}

/// An aggregate being filled.
#[derive(Debug)]
enum Open {
    /// An array, set or push of `want` elements.
    Seq {
        kind: SeqKind,
        want: usize,
        items: Vec<Frame>,
    },
    /// A map or attribute of `want` pairs; `key` holds the first half of a pair.
    Pairs {
        attr: bool,
        want: usize,
        pairs: Vec<(Frame, Frame)>,
        key: Option<Frame>,
    },
    /// Attributes read, waiting for the frame they annotate.
    Annotate { attrs: Vec<(Frame, Frame)> },
}

impl Decoder {
    /// A decoder that enforces `limits`.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            stack: Vec::new(),
            pending: None,
            scanned: 0,
        }
    }

    /// Takes the next complete frame out of `buf`.
    ///
    /// `Ok(None)` means more bytes are needed; what was read so far is kept, and consumed
    /// bytes may already have been removed from `buf`. See the [contract](Decoder#contract).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        loop {
            // Fast path: bulk strings inside an array, all there. Most replies with many
            // elements, and every command, are made of them.
            if let (None, Some(Open::Seq { want, items, .. })) =
                (self.pending, self.stack.last_mut())
            {
                let room = *want - items.len();
                if take_bulks(buf, &self.limits, room, |b| items.push(Frame::Bulk(b))) > 0 {
                    self.scanned = 0;
                    if items.len() == *want {
                        if let Some(Open::Seq { kind, items, .. }) = self.stack.pop() {
                            if let Some(frame) = self.complete(seq_frame(kind, items)) {
                                return Ok(Some(frame));
                            }
                        }
                        continue;
                    }
                }
            }
            let frame = match self.pending {
                Some(bulk) => match take_payload(bulk, buf)? {
                    Some(frame) => {
                        self.pending = None;
                        frame
                    }
                    None => return Ok(None),
                },
                None => match self.element(buf)? {
                    Step::Frame(frame) => frame,
                    Step::Continue => continue,
                    Step::Incomplete => return Ok(None),
                },
            };
            if let Some(frame) = self.complete(frame) {
                return Ok(Some(frame));
            }
        }
    }

    /// Reads one element header (or a whole one-line element) at the front of `buf`.
    fn element(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(&ty) = buf.first() else {
            return Ok(Step::Incomplete);
        };
        // Reject a bad type byte at once rather than after its line arrives.
        if !matches!(
            ty,
            b'+' | b'-'
                | b':'
                | b'$'
                | b'*'
                | b'_'
                | b'#'
                | b','
                | b'('
                | b'!'
                | b'='
                | b'%'
                | b'~'
                | b'|'
                | b'>'
        ) {
            return Err(ProtocolError::UnknownType(ty));
        }
        // Most lines are length headers, read in one pass; anything else takes the general
        // path, which gives the same result for them.
        let (cr, quick) = match quick_len(buf) {
            Some((n, cr)) if cr <= self.limits.max_inline_bytes => {
                self.scanned = 0;
                (cr, Some(n as i64))
            }
            _ => match self.find_line_end(buf)? {
                Some(cr) => (cr, None),
                None => return Ok(Step::Incomplete),
            },
        };
        let line = &buf[1..cr];
        let frame = match ty {
            b'+' | b'-' => {
                buf.advance(1);
                let text = buf.split_to(cr - 1).freeze();
                buf.advance(2);
                return Ok(Step::Frame(if ty == b'+' {
                    Frame::Simple(text)
                } else {
                    Frame::Error(text)
                }));
            }
            b':' => Frame::Integer(match quick {
                Some(n) => n,
                None => parse_integer(line).ok_or(ProtocolError::InvalidInteger)?,
            }),
            b'_' if line.is_empty() => Frame::Null,
            b'_' => return Err(ProtocolError::InvalidNull),
            b'#' => match line {
                b"t" => Frame::Boolean(true),
                b"f" => Frame::Boolean(false),
                _ => return Err(ProtocolError::InvalidBoolean),
            },
            b',' => Frame::Double(parse_double(line).ok_or(ProtocolError::InvalidDouble)?),
            b'(' => {
                if !is_big_number(line) {
                    return Err(ProtocolError::InvalidBigNumber);
                }
                buf.advance(1);
                let digits = buf.split_to(cr - 1).freeze();
                buf.advance(2);
                return Ok(Step::Frame(Frame::BigNumber(digits)));
            }
            b'$' | b'!' | b'=' => {
                let declared = quick.or_else(|| string2ll(line));
                if ty == b'$' && declared == Some(-1) {
                    Frame::Null
                } else {
                    let len = match declared {
                        Some(n) if n >= 0 && n as u64 <= self.limits.max_bulk_bytes as u64 => {
                            n as usize
                        }
                        _ => return Err(ProtocolError::InvalidBulkLength),
                    };
                    let kind = match ty {
                        b'$' => BulkKind::Bulk,
                        b'!' => BulkKind::Error,
                        _ if len < 4 => return Err(ProtocolError::InvalidVerbatim),
                        _ => BulkKind::Verbatim,
                    };
                    buf.advance(cr + 2);
                    let bulk = PendingBulk { kind, len };
                    // Usually the payload is already there.
                    return Ok(match take_payload(bulk, buf)? {
                        Some(frame) => Step::Frame(frame),
                        None => {
                            self.pending = Some(bulk);
                            Step::Incomplete
                        }
                    });
                }
            }
            // Aggregates: `*`, `%`, `~`, `|`, `>`.
            _ => {
                let declared = quick.or_else(|| string2ll(line));
                if ty == b'*' && declared == Some(-1) {
                    Frame::NullArray
                } else {
                    let n = match declared {
                        Some(n) if n >= 0 && n as u64 <= self.limits.max_aggregate_len as u64 => {
                            n as usize
                        }
                        _ => return Err(ProtocolError::InvalidMultibulkLength),
                    };
                    if self.stack.len() >= self.limits.max_depth {
                        return Err(ProtocolError::TooDeep);
                    }
                    buf.advance(cr + 2);
                    let cap = n.min(MAX_PREALLOC);
                    let open = match ty {
                        b'*' | b'~' | b'>' => {
                            let kind = match ty {
                                b'*' => SeqKind::Array,
                                b'~' => SeqKind::Set,
                                _ => SeqKind::Push,
                            };
                            if n == 0 {
                                return Ok(Step::Frame(seq_frame(kind, Vec::new())));
                            }
                            Open::Seq {
                                kind,
                                want: n,
                                items: Vec::with_capacity(cap),
                            }
                        }
                        _ => {
                            let attr = ty == b'|';
                            if n == 0 {
                                if attr {
                                    self.stack.push(Open::Annotate { attrs: Vec::new() });
                                    return Ok(Step::Continue);
                                }
                                return Ok(Step::Frame(Frame::Map(Vec::new())));
                            }
                            Open::Pairs {
                                attr,
                                want: n,
                                pairs: Vec::with_capacity(cap),
                                key: None,
                            }
                        }
                    };
                    self.stack.push(open);
                    return Ok(Step::Continue);
                }
            }
        };
        buf.advance(cr + 2);
        Ok(Step::Frame(frame))
    }

    /// Finds the CR ending the line at the front of `buf`, once its LF has arrived too.
    fn find_line_end(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let max = self.limits.max_inline_bytes;
        let from = self.scanned.min(buf.len());
        match memchr2(b'\r', b'\n', &buf[from..]) {
            Some(i) => {
                let cr = from + i;
                if cr > max {
                    return Err(ProtocolError::LineTooLong);
                }
                if buf[cr] == b'\n' {
                    return Err(ProtocolError::InvalidLineEnd);
                }
                match buf.get(cr + 1) {
                    Some(b'\n') => {
                        self.scanned = 0;
                        Ok(Some(cr))
                    }
                    Some(_) => Err(ProtocolError::InvalidLineEnd),
                    None => {
                        self.scanned = cr;
                        Ok(None)
                    }
                }
            }
            None => {
                if buf.len() > max {
                    return Err(ProtocolError::LineTooLong);
                }
                self.scanned = buf.len();
                Ok(None)
            }
        }
    }

    /// Adds a complete element to the aggregate being filled, closing every aggregate it
    /// completes. Returns the top-level frame once there is one.
    fn complete(&mut self, mut frame: Frame) -> Option<Frame> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Some(frame);
            };
            frame = match top {
                Open::Seq { kind, want, items } => {
                    items.push(frame);
                    if items.len() < *want {
                        return None;
                    }
                    let frame = seq_frame(*kind, std::mem::take(items));
                    self.stack.pop();
                    frame
                }
                Open::Pairs {
                    attr,
                    want,
                    pairs,
                    key,
                } => {
                    let Some(k) = key.take() else {
                        *key = Some(frame);
                        return None;
                    };
                    pairs.push((k, frame));
                    if pairs.len() < *want {
                        return None;
                    }
                    let pairs = std::mem::take(pairs);
                    if *attr {
                        // The attributes now wait for the frame they annotate, in place.
                        *top = Open::Annotate { attrs: pairs };
                        return None;
                    }
                    self.stack.pop();
                    Frame::Map(pairs)
                }
                Open::Annotate { attrs } => {
                    let attrs = std::mem::take(attrs);
                    self.stack.pop();
                    Frame::Attribute {
                        attrs,
                        data: Box::new(frame),
                    }
                }
            };
        }
    }
}

/// What reading one element header gave.
enum Step {
    /// A complete element.
    Frame(Frame),
    /// A header was consumed (aggregate opened or bulk pending): read on.
    Continue,
    /// More bytes are needed.
    Incomplete,
}

fn seq_frame(kind: SeqKind, items: Vec<Frame>) -> Frame {
    match kind {
        SeqKind::Array => Frame::Array(items),
        SeqKind::Set => Frame::Set(items),
        SeqKind::Push => Frame::Push(items),
    }
}

/// Takes a pending payload and its CRLF out of `buf` once all of it is there.
#[inline]
fn take_payload(bulk: PendingBulk, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
    let len = bulk.len;
    // `len` is bounded by the limits, but those are the caller's to choose.
    let Some(end) = len.checked_add(2) else {
        return Ok(None);
    };
    if buf.len() < end {
        return Ok(None);
    }
    if buf[len..end] != *b"\r\n" {
        return Err(ProtocolError::MissingCrlf);
    }
    let data = buf.split_to(len).freeze();
    buf.advance(2);
    Ok(Some(match bulk.kind {
        BulkKind::Bulk => Frame::Bulk(data),
        BulkKind::Error => Frame::BulkError(data),
        BulkKind::Verbatim => match *data {
            // The header check guarantees at least four bytes.
            [a, b, c, b':', ..] => Frame::Verbatim {
                format: [a, b, c],
                data: data.slice(4..),
            },
            _ => return Err(ProtocolError::InvalidVerbatim),
        },
    }))
}

/// Takes up to `max` bulk strings off the front of `buf` while each is complete, with its
/// header in the common form (see [`quick_len`]) and within `limits`, passing each payload
/// to `push`; returns how many it took. It stops at anything else, which the general path
/// then reads or rejects, so it never changes an outcome, only its cost: one split of the
/// buffer per bulk.
#[inline]
pub(crate) fn take_bulks(
    buf: &mut BytesMut,
    limits: &Limits,
    max: usize,
    mut push: impl FnMut(Bytes),
) -> usize {
    let mut taken = 0;
    // Bytes at the front already read: the CRLF after the last payload taken.
    let mut pos = 0;
    while taken < max {
        let rest = &buf[pos..];
        if rest.first() != Some(&b'$') {
            break;
        }
        let Some((len, cr)) = quick_len(rest) else {
            break;
        };
        if cr > limits.max_inline_bytes || len > limits.max_bulk_bytes as u64 {
            break;
        }
        let start = pos + cr + 2;
        let Some(end) = start.checked_add(len as usize) else {
            break;
        };
        if buf.len() < end.saturating_add(2) || buf[end..end + 2] != *b"\r\n" {
            break;
        }
        let mut payload = buf.split_to(end);
        payload.advance(start);
        push(payload.freeze());
        pos = 2;
        taken += 1;
    }
    buf.advance(pos);
    taken
}

/// The common header, `<type><digits>\r\n` with no sign and no leading zero, read in one
/// pass: its value and the index of its CR. `None` for anything else, including a header
/// not all there yet; [`string2ll`] after a line search gives the same value whenever this
/// gives one.
#[inline]
pub(crate) fn quick_len(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    let mut i = 1;
    loop {
        match *buf.get(i)? {
            c @ b'0'..=b'9' => value = value * 10 + u64::from(c - b'0'),
            b'\r' => break,
            _ => return None,
        }
        i += 1;
        // 18 digits cannot overflow; longer numbers take the slow path.
        if i > 18 {
            return None;
        }
    }
    let leading_zero = buf[1] == b'0' && i > 2;
    if i == 1 || leading_zero || buf.get(i + 1) != Some(&b'\n') {
        return None;
    }
    Some((value, i))
}

/// Redis's `string2ll`: an optional `-`, then `0` alone or digits without a leading zero,
/// within `i64`. Lengths and counts are read this way by Redis and by hiredis.
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    // 19 digits hold every i64 and cannot overflow a u64.
    if !matches!(digits.first(), Some(b'1'..=b'9')) || digits.len() > 19 {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(d - b'0');
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX.
        (value <= 1 << 63).then(|| (value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// A `:` integer: optional sign, one or more digits, within `i64`.
fn parse_integer(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        (value <= 1 << 63).then(|| (value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

fn parse_double(s: &[u8]) -> Option<f64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn is_big_number(s: &[u8]) -> bool {
    let digits = match s {
        [b'-' | b'+', rest @ ..] => rest,
        _ => s,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::resp::{encode, Protocol};
    use bytes::Bytes;
    use proptest::prelude::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// Decodes all of `input` at once: the frames, then the error or the leftover bytes.
    fn decode_all(limits: Limits, input: &[u8]) -> (Vec<Frame>, Result<usize, ProtocolError>) {
        let mut decoder = Decoder::new(limits);
        let mut buf = BytesMut::from(input);
        let mut frames = Vec::new();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => return (frames, Ok(buf.len())),
                Err(e) => return (frames, Err(e)),
            }
        }
    }

    /// Feeds `input` in chunks of the given sizes (cycled), decoding after each chunk.
    fn decode_chunked(
        limits: Limits,
        input: &[u8],
        sizes: &[usize],
    ) -> (Vec<Frame>, Option<ProtocolError>) {
        let mut decoder = Decoder::new(limits);
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        let mut rest = input;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].clamp(1, rest.len());
            i += 1;
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(frame)) => frames.push(frame),
                    Ok(None) => break,
                    Err(e) => return (frames, Some(e)),
                }
            }
        }
        (frames, None)
    }

    fn one(input: &str) -> Result<Option<Frame>, ProtocolError> {
        let mut buf = BytesMut::from(input.as_bytes());
        let result = Decoder::default().decode(&mut buf);
        if let Ok(Some(_)) = result {
            assert!(buf.is_empty(), "{input:?} left {buf:?}");
        }
        result
    }

    fn pairs(items: &[(Frame, Frame)]) -> Vec<(Frame, Frame)> {
        items.to_vec()
    }

    #[test]
    fn valid_frames() {
        let cases: Vec<(&str, Frame)> =
            vec![
            ("+OK\r\n", Frame::OK),
            ("+\r\n", Frame::Simple(Bytes::new())),
            ("-ERR unknown command\r\n", Frame::Error(b("ERR unknown command"))),
            (":0\r\n", Frame::Integer(0)),
            (":-42\r\n", Frame::Integer(-42)),
            (":+7\r\n", Frame::Integer(7)),
            (":007\r\n", Frame::Integer(7)),
            (":9223372036854775807\r\n", Frame::Integer(i64::MAX)),
            (":-9223372036854775808\r\n", Frame::Integer(i64::MIN)),
            ("$3\r\nfoo\r\n", Frame::bulk("foo")),
            ("$0\r\n\r\n", Frame::bulk("")),
            ("$4\r\na\r\nb\r\n", Frame::bulk("a\r\nb")),
            ("$-1\r\n", Frame::Null),
            ("*-1\r\n", Frame::NullArray),
            ("_\r\n", Frame::Null),
            ("*0\r\n", Frame::Array(vec![])),
            (
                "*2\r\n$3\r\nfoo\r\n:1\r\n",
                Frame::Array(vec![Frame::bulk("foo"), Frame::Integer(1)]),
            ),
            (
                "*2\r\n*1\r\n*0\r\n*-1\r\n",
                Frame::Array(vec![Frame::Array(vec![Frame::Array(vec![])]), Frame::NullArray]),
            ),
            ("#t\r\n", Frame::Boolean(true)),
            ("#f\r\n", Frame::Boolean(false)),
            (",2.5\r\n", Frame::Double(2.5)),
            (",-1.5e10\r\n", Frame::Double(-1.5e10)),
            (",1E-3\r\n", Frame::Double(1e-3)),
            (",10\r\n", Frame::Double(10.0)),
            (",inf\r\n", Frame::Double(f64::INFINITY)),
            (",-inf\r\n", Frame::Double(f64::NEG_INFINITY)),
            (",INF\r\n", Frame::Double(f64::INFINITY)),
            (
                "(3492890328409238509324850943850943825024385\r\n",
                Frame::BigNumber(b("3492890328409238509324850943850943825024385")),
            ),
            ("(-12\r\n", Frame::BigNumber(b("-12"))),
            (
                "!21\r\nSYNTAX invalid syntax\r\n",
                Frame::BulkError(b("SYNTAX invalid syntax")),
            ),
            (
                "=15\r\ntxt:Some string\r\n",
                Frame::Verbatim {
                    format: *b"txt",
                    data: b("Some string"),
                },
            ),
            (
                "=4\r\nmkd:\r\n",
                Frame::Verbatim {
                    format: *b"mkd",
                    data: Bytes::new(),
                },
            ),
            (
                "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
                Frame::Map(pairs(&[
                    (Frame::simple("first"), Frame::Integer(1)),
                    (Frame::simple("second"), Frame::Integer(2)),
                ])),
            ),
            ("%0\r\n", Frame::Map(vec![])),
            (
                "~3\r\n+a\r\n:1\r\n#f\r\n",
                Frame::Set(vec![Frame::simple("a"), Frame::Integer(1), Frame::Boolean(false)]),
            ),
            ("~0\r\n", Frame::Set(vec![])),
            (
                ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
                Frame::Push(vec![Frame::bulk("message"), Frame::bulk("ch"), Frame::bulk("hi")]),
            ),
            ("~0\r\n", Frame::Set(vec![])),
            // Attributes annotate the next frame and do not count as an element.
            (
                "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
                Frame::Attribute {
                    attrs: pairs(&[(
                        Frame::simple("key-popularity"),
                        Frame::Map(pairs(&[(Frame::bulk("a"), Frame::Double(0.19))])),
                    )]),
                    data: Box::new(Frame::Array(vec![
                        Frame::Integer(2039123),
                        Frame::Integer(9543892),
                    ])),
                },
            ),
            (
                "*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n",
                Frame::Array(vec![
                    Frame::Integer(1),
                    Frame::Attribute {
                        attrs: pairs(&[(Frame::simple("ttl"), Frame::Integer(3600))]),
                        data: Box::new(Frame::Integer(2)),
                    },
                ]),
            ),
            (
                "|0\r\n|0\r\n_\r\n",
                Frame::Attribute {
                    attrs: vec![],
                    data: Box::new(Frame::Attribute {
                        attrs: vec![],
                        data: Box::new(Frame::Null),
                    }),
                },
            ),
            // A lone CR inside a bulk is payload, not framing.
            ("$1\r\n\r\r\n", Frame::bulk("\r")),
        ];
        for (input, expected) in cases {
            assert_eq!(one(input), Ok(Some(expected)), "{input:?}");
        }
        // NaN is not equal to itself.
        for input in [",nan\r\n", ",NaN\r\n", ",-nan\r\n"] {
            match one(input) {
                Ok(Some(Frame::Double(x))) => assert!(x.is_nan(), "{input:?}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_frames() {
        use ProtocolError::*;
        let cases: &[(&str, ProtocolError)] = &[
            ("?\r\n", UnknownType(b'?')),
            ("x", UnknownType(b'x')),
            ("\r\n", UnknownType(b'\r')),
            ("+OK\n", InvalidLineEnd),
            ("+O\nK\r\n", InvalidLineEnd),
            ("+O\rK\r\n", InvalidLineEnd),
            (":\r\n", InvalidInteger),
            (":-\r\n", InvalidInteger),
            (":1a\r\n", InvalidInteger),
            (": 1\r\n", InvalidInteger),
            (":9223372036854775808\r\n", InvalidInteger),
            (":-9223372036854775809\r\n", InvalidInteger),
            ("$\r\n", InvalidBulkLength),
            ("$-2\r\n", InvalidBulkLength),
            ("$01\r\n", InvalidBulkLength),
            ("$+1\r\n", InvalidBulkLength),
            ("$-0\r\n", InvalidBulkLength),
            ("$abc\r\n", InvalidBulkLength),
            // Declared lengths beyond the limits fail before any payload arrives.
            ("$999999999999\r\n", InvalidBulkLength),
            ("$99999999999999999999999\r\n", InvalidBulkLength),
            ("!-1\r\n", InvalidBulkLength),
            ("=-1\r\n", InvalidBulkLength),
            ("*2147483647\r\n", InvalidMultibulkLength),
            ("*-2\r\n", InvalidMultibulkLength),
            ("*x\r\n", InvalidMultibulkLength),
            ("%-1\r\n", InvalidMultibulkLength),
            ("~-1\r\n", InvalidMultibulkLength),
            (">-1\r\n", InvalidMultibulkLength),
            ("|-1\r\n", InvalidMultibulkLength),
            ("$3\r\nfooXY", MissingCrlf),
            ("$3\r\nfoo\n\r", MissingCrlf),
            ("_x\r\n", InvalidNull),
            ("#x\r\n", InvalidBoolean),
            ("#\r\n", InvalidBoolean),
            ("#tt\r\n", InvalidBoolean),
            (",\r\n", InvalidDouble),
            (",1.2.3\r\n", InvalidDouble),
            (", 1\r\n", InvalidDouble),
            ("(\r\n", InvalidBigNumber),
            ("(-\r\n", InvalidBigNumber),
            ("(12a\r\n", InvalidBigNumber),
            ("=3\r\ntxt\r\n", InvalidVerbatim),
            ("=4\r\ntxtx\r\n", InvalidVerbatim),
            ("*1\r\n?", UnknownType(b'?')),
        ];
        for (input, expected) in cases {
            assert_eq!(one(input), Err(expected.clone()), "{input:?}");
        }
    }

    #[test]
    fn error_messages_match_redis() {
        let cases = [
            (
                ProtocolError::InvalidBulkLength,
                "Protocol error: invalid bulk length",
            ),
            (
                ProtocolError::InvalidMultibulkLength,
                "Protocol error: invalid multibulk length",
            ),
            (
                ProtocolError::UnknownType(b'?'),
                "Protocol error: unknown frame type '?'",
            ),
            (
                ProtocolError::UnknownType(0),
                "Protocol error: unknown frame type '\\x00'",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn limits() {
        use ProtocolError::*;
        let tight = Limits {
            max_bulk_bytes: 4,
            max_aggregate_len: 2,
            max_depth: 2,
            max_inline_bytes: 8,
        };
        let cases: &[(&str, Result<usize, ProtocolError>)] = &[
            ("$4\r\nabcd\r\n", Ok(0)),
            ("$5\r\n", Err(InvalidBulkLength)),
            ("!5\r\n", Err(InvalidBulkLength)),
            ("*2\r\n:1\r\n:2\r\n", Ok(0)),
            ("*3\r\n", Err(InvalidMultibulkLength)),
            ("%3\r\n", Err(InvalidMultibulkLength)),
            ("*1\r\n*1\r\n:1\r\n", Ok(0)),
            // The fast path for bulks in arrays applies the same limits.
            (
                "*2\r\n$4\r\nabcd\r\n$5\r\nabcde\r\n",
                Err(InvalidBulkLength),
            ),
            ("*1\r\n$12345678\r\nabcd\r\n", Err(LineTooLong)),
            ("*1\r\n*1\r\n*1\r\n", Err(TooDeep)),
            ("*1\r\n*1\r\n*0\r\n", Err(TooDeep)),
            ("*1\r\n*1\r\n*-1\r\n", Ok(0)),
            ("|1\r\n:1\r\n:2\r\n*1\r\n:3\r\n", Ok(0)),
            ("|1\r\n:1\r\n:2\r\n*1\r\n*0\r\n", Err(TooDeep)),
            // A line may hold 8 bytes before its CRLF, type byte included.
            ("+1234567\r\n", Ok(0)),
            ("+12345678\r\n", Err(LineTooLong)),
            // Reported as soon as the line is known to be too long, CRLF or not.
            ("+12345678", Err(LineTooLong)),
            ("+1234567\r", Ok(9)),
        ];
        for (input, expected) in cases {
            let (_, result) = decode_all(tight, input.as_bytes());
            assert_eq!(&result, expected, "{input:?}");
        }
    }

    #[test]
    fn nesting_is_not_recursion() {
        let limits = Limits {
            max_depth: 1_000_000,
            ..Limits::DEFAULT
        };
        let depth = 200_000;
        let input = format!("{}:1\r\n", "*1\r\n".repeat(depth));
        let (frames, rest) = decode_all(limits, input.as_bytes());
        assert_eq!(rest, Ok(0));
        // Dropping a frame this deep would recurse; unwrap it by hand.
        let mut frame = frames.into_iter().next().unwrap();
        let mut seen = 0;
        while let Frame::Array(mut items) = frame {
            seen += 1;
            frame = items.pop().unwrap();
        }
        assert_eq!((seen, frame), (depth, Frame::Integer(1)));

        let deep = "*1\r\n".repeat(129);
        assert_eq!(
            decode_all(Limits::DEFAULT, deep.as_bytes()).1,
            Err(ProtocolError::TooDeep)
        );
    }

    #[test]
    fn large_bulk_in_small_chunks() {
        let len = 4 << 20;
        let mut input = format!("${len}\r\n").into_bytes();
        let start = input.len();
        input.extend((0..len).map(|i| (i % 251) as u8));
        input.extend_from_slice(b"\r\n");
        let mut decoder = Decoder::default();
        let mut buf = BytesMut::new();
        let mut out = None;
        for chunk in input.chunks(16 * 1024) {
            buf.extend_from_slice(chunk);
            if let Some(frame) = decoder.decode(&mut buf).unwrap() {
                out = Some(frame);
            }
        }
        // Not assert_eq!: a failure would print megabytes.
        assert!(
            out == Some(Frame::Bulk(Bytes::copy_from_slice(
                &input[start..start + len]
            )))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn long_line_fed_byte_by_byte() {
        let line = format!("+{}\r\n", "x".repeat(60_000));
        let (frames, error) = decode_chunked(Limits::DEFAULT, line.as_bytes(), &[1]);
        assert_eq!(error, None);
        assert_eq!(frames, vec![Frame::Simple(b(&line[1..60_001]))]);
    }

    #[test]
    fn payloads_share_the_read_buffer() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nfoo\r\n+bar\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let Some(Frame::Array(items)) = Decoder::default().decode(&mut buf).unwrap() else {
            panic!("not an array");
        };
        let ptrs: Vec<usize> = items
            .iter()
            .map(|f| f.as_bytes().unwrap().as_ptr() as usize - base)
            .collect();
        assert_eq!(ptrs, vec![8, 14]);
    }

    /// Regression inputs: each must decode without panicking, whole and byte by byte, to
    /// the same outcome.
    #[test]
    fn regressions() {
        let inputs: &[&[u8]] = &[
            b"=4\r\n\xff\xff\xff:\r\n",
            b"|1\r\n|1\r\n",
            b"\r",
            b"*1\r\n$",
        ];
        for input in inputs {
            let whole = decode_all(Limits::DEFAULT, input);
            let bytewise = decode_chunked(Limits::DEFAULT, input, &[1]);
            assert_eq!(whole.0, bytewise.0);
            assert_eq!(whole.1.err(), bytewise.1);
        }
    }

    // ---- properties ----

    /// Bytes with no CR or LF, as simple strings, errors and big numbers need.
    fn line_bytes() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(
            any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
            0..12,
        )
        .prop_map(Bytes::from)
    }

    fn any_bytes() -> impl Strategy<Value = Bytes> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..20),
            // CRLF-rich payloads stress the framing.
            proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 0..8),
        ]
        .prop_map(Bytes::from)
    }

    fn double() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::NAN),
            Just(0.0),
            Just(-0.0),
            (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
            (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 100.0),
        ]
    }

    pub(crate) fn frame() -> impl Strategy<Value = Frame> {
        let leaf = prop_oneof![
            line_bytes().prop_map(Frame::Simple),
            line_bytes().prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Integer),
            any_bytes().prop_map(Frame::Bulk),
            Just(Frame::Null),
            Just(Frame::NullArray),
            any::<bool>().prop_map(Frame::Boolean),
            double().prop_map(Frame::Double),
            ("[-+]?[0-9]{1,40}").prop_map(|s| Frame::BigNumber(Bytes::from(s))),
            any_bytes().prop_map(Frame::BulkError),
            (any::<[u8; 3]>(), any_bytes())
                .prop_map(|(format, data)| Frame::Verbatim { format, data }),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let items = proptest::collection::vec(inner.clone(), 0..6);
            let kv = proptest::collection::vec((inner.clone(), inner.clone()), 0..4);
            prop_oneof![
                items.clone().prop_map(Frame::Array),
                items.clone().prop_map(Frame::Set),
                items.prop_map(Frame::Push),
                kv.clone().prop_map(Frame::Map),
                (kv, inner).prop_map(|(attrs, data)| Frame::Attribute {
                    attrs,
                    data: Box::new(data)
                }),
            ]
        })
    }

    /// What a RESP3 round trip gives: one null, and NaN made comparable.
    fn normalize3(frame: Frame) -> Frame {
        let list = |v: Vec<Frame>| v.into_iter().map(normalize3).collect();
        let kv = |v: Vec<(Frame, Frame)>| {
            v.into_iter()
                .map(|(k, v)| (normalize3(k), normalize3(v)))
                .collect()
        };
        match frame {
            Frame::NullArray => Frame::Null,
            Frame::Double(x) if x.is_nan() => Frame::simple("NaN"),
            Frame::Array(v) => Frame::Array(list(v)),
            Frame::Set(v) => Frame::Set(list(v)),
            Frame::Push(v) => Frame::Push(list(v)),
            Frame::Map(v) => Frame::Map(kv(v)),
            Frame::Attribute { attrs, data } => Frame::Attribute {
                attrs: kv(attrs),
                data: Box::new(normalize3(*data)),
            },
            other => other,
        }
    }

    /// The documented RESP2 downgrade, as a RESP2 decoder reads it back.
    fn downgrade(frame: Frame) -> Frame {
        let list = |v: Vec<Frame>| Frame::Array(v.into_iter().map(downgrade).collect());
        match frame {
            Frame::Boolean(b) => Frame::Integer(b.into()),
            Frame::Double(x) => Frame::Bulk(Bytes::from(crate::resp::encode::format_double(x))),
            Frame::BigNumber(b) => Frame::Bulk(b),
            Frame::BulkError(b) => Frame::Error(Bytes::from(
                b.iter()
                    .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
                    .collect::<Vec<u8>>(),
            )),
            Frame::Verbatim { data, .. } => Frame::Bulk(data),
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => list(v),
            Frame::Map(v) => list(v.into_iter().flat_map(|(k, v)| [k, v]).collect()),
            Frame::Attribute { data, .. } => downgrade(*data),
            other => other,
        }
    }

    fn encode_all(frames: &[Frame], proto: Protocol) -> BytesMut {
        let mut out = BytesMut::new();
        for frame in frames {
            encode(frame, proto, &mut out);
        }
        out
    }

    proptest! {
        #[test]
        fn round_trip_resp3(frame in frame()) {
            let out = encode_all(std::slice::from_ref(&frame), Protocol::Resp3);
            let (frames, rest) = decode_all(Limits::DEFAULT, &out);
            prop_assert_eq!(rest, Ok(0));
            prop_assert_eq!(frames.into_iter().map(normalize3).collect::<Vec<_>>(), vec![normalize3(frame)]);
        }

        #[test]
        fn round_trip_resp2(frame in frame()) {
            let out = encode_all(std::slice::from_ref(&frame), Protocol::Resp2);
            let (frames, rest) = decode_all(Limits::DEFAULT, &out);
            prop_assert_eq!(rest, Ok(0));
            prop_assert_eq!(frames, vec![downgrade(frame)]);
        }

        #[test]
        fn any_split_gives_the_same_frames(
            frames in proptest::collection::vec(frame(), 1..6),
            sizes in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let out = encode_all(&frames, Protocol::Resp3);
            let (whole, rest) = decode_all(Limits::DEFAULT, &out);
            prop_assert_eq!(rest, Ok(0));
            let (chunked, error) = decode_chunked(Limits::DEFAULT, &out, &sizes);
            prop_assert_eq!(error, None);
            prop_assert_eq!(
                chunked.into_iter().map(normalize3).collect::<Vec<_>>(),
                whole.into_iter().map(normalize3).collect::<Vec<_>>()
            );
        }

        #[test]
        fn every_strict_prefix_needs_more(frame in frame()) {
            let out = encode_all(std::slice::from_ref(&frame), Protocol::Resp3);
            for end in 0..out.len() {
                let mut buf = BytesMut::from(&out[..end]);
                prop_assert_eq!(Decoder::default().decode(&mut buf), Ok(None), "prefix {}", end);
            }
        }

        /// The one-pass header reader agrees with the general one whenever it answers.
        #[test]
        fn quick_len_agrees_with_string2ll(line in "[0-9+-]{0,20}", ty in proptest::sample::select(b"$*:".to_vec())) {
            let mut input = vec![ty];
            input.extend_from_slice(line.as_bytes());
            input.extend_from_slice(b"\r\n");
            if let Some((n, cr)) = quick_len(&input) {
                prop_assert_eq!(cr, input.len() - 2);
                prop_assert_eq!(string2ll(line.as_bytes()), Some(n as i64));
                prop_assert_eq!(parse_integer(line.as_bytes()), Some(n as i64));
            }
        }

        /// Garbage never panics, and the outcome does not depend on how it is cut.
        #[test]
        fn arbitrary_bytes(
            input in proptest::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    proptest::sample::select(b"+-:$*_#,(!=%~|>\r\n0123456789t".to_vec()),
                ],
                0..200,
            ),
            sizes in proptest::collection::vec(1usize..16, 1..6),
        ) {
            let tight = Limits { max_bulk_bytes: 64, max_aggregate_len: 8, max_depth: 4, max_inline_bytes: 16 };
            for limits in [Limits::DEFAULT, tight] {
                let (whole, result) = decode_all(limits, &input);
                let (chunked, error) = decode_chunked(limits, &input, &sizes);
                prop_assert_eq!(
                    chunked.into_iter().map(normalize3).collect::<Vec<_>>(),
                    whole.into_iter().map(normalize3).collect::<Vec<_>>()
                );
                prop_assert_eq!(error, result.err());
            }
        }
    }
}
