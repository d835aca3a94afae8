//! The request decoder: what a Redis server reads from its clients.
//!
//! Clients send either a multibulk (`*N` then N `$len` bulk strings) or an inline command (a
//! line of words, as typed into telnet). This follows Redis's `processMultibulkBuffer` and
//! `processInlineBuffer` (networking.c) step for step, with the same error texts, so a
//! client sees what a real Redis would answer. Differences are noted on [`RequestDecoder`].

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use super::decode::{quick_len, string2ll, take_bulks, MAX_PREALLOC};
use super::{Limits, ProtocolError};

/// Reads commands, as lists of arguments, from a client's byte stream fed in chunks of any
/// size.
///
/// ```
/// use bytes::BytesMut;
/// use redish_core::resp::RequestDecoder;
///
/// let mut decoder = RequestDecoder::default();
/// let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING \"a b\"\r\n"[..]);
/// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), ["GET", "k"]);
/// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), ["PING", "a b"]);
/// assert_eq!(decoder.decode(&mut buf), Ok(None));
/// ```
///
/// # Contract
/// As for [`Decoder`](super::Decoder): between calls the caller only appends to the buffer;
/// the decoder removes bytes from its front as arguments complete and keeps its progress.
/// After an error the decoder's state is unspecified and the connection must be closed, as
/// Redis does after a protocol error (it replies with the error's text first).
///
/// # Syntax, as Redis reads it
/// - A command starting with `*` is a multibulk: `*N\r\n` then N bulk strings
///   `$len\r\n<len bytes>\r\n`. Counts and lengths follow Redis's `string2ll` (optional `-`,
///   no leading zeros). A count of zero or less (`*0`, `*-1`) is an empty command and is
///   skipped. A count above [`Limits::max_aggregate_len`] is
///   [`InvalidMultibulkLength`](ProtocolError::InvalidMultibulkLength) (Redis's limit is
///   `i32::MAX`); a negative length or one above [`Limits::max_bulk_bytes`] is
///   [`InvalidBulkLength`](ProtocolError::InvalidBulkLength); an element not starting with
///   `$` is [`ExpectedBulk`](ProtocolError::ExpectedBulk).
/// - A header line ends at its first CR; like Redis, the byte after the CR is skipped
///   without being checked. A header with no CR longer than [`Limits::max_inline_bytes`]
///   (its type byte included) is [`TooBigMultibulkCount`](ProtocolError::TooBigMultibulkCount)
///   or [`TooBigBulkCount`](ProtocolError::TooBigBulkCount).
/// - Anything else is an inline command: a line ending at LF (a CR before it is dropped),
///   split into words by Redis's `sdssplitargs` rules: blanks separate words; inside
///   `"double quotes"` the escapes `\n \r \t \b \a \\ \" \xHH` work; inside `'single
///   quotes'` only `\'` does; a closing quote must be followed by a blank or the end of the
///   line; a quote that does not close, or closes before another character, is
///   [`UnbalancedQuotes`](ProtocolError::UnbalancedQuotes). As in Redis, a NUL byte ends
///   the line's text. Empty and blank lines are skipped. A line with more than
///   [`Limits::max_inline_bytes`] before its LF is
///   [`TooBigInline`](ProtocolError::TooBigInline).
///
/// # Where it differs from Redis
/// - The bytes after a bulk payload must be CRLF, else
///   [`MissingCrlf`](ProtocolError::MissingCrlf); Redis skips two bytes unchecked. A wrong
///   length is the usual client bug, and this reports it at the bulk that has it rather
///   than as a confusing error on the next command.
/// - The line limits do not depend on how bytes arrive: Redis only checks a line's length
///   while its end is missing from the buffer, so a long line that arrives whole may pass.
#[derive(Debug, Default)]
pub struct RequestDecoder {
    limits: Limits,
    /// Arguments of the multibulk being read.
    args: Vec<Bytes>,
    /// Bulks still expected in the current multibulk; 0 between commands.
    remaining: usize,
    /// Length of the bulk whose header has been consumed.
    bulk: Option<usize>,
    /// How many bytes at the front of the buffer are known not to end the current line.
    scanned: usize,
}

impl RequestDecoder {
    /// A decoder that enforces `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            args: Vec::new(),
            remaining: 0,
            bulk: None,
            scanned: 0,
        }
    }

    /// Changes the limits from the next length checked on (CONFIG SET proto-max-bulk-len).
    /// A command partly read keeps its progress.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Takes the next command out of `buf`: its arguments, name first.
    ///
    /// Empty commands (`*0\r\n`, `*-1\r\n`, empty inline lines) are skipped as Redis does,
    /// so a returned command always has at least one argument. `Ok(None)` means more bytes
    /// are needed; see the [contract](RequestDecoder#contract).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.remaining == 0 {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                if first != b'*' {
                    match self.inline(buf)? {
                        Some(args) if args.is_empty() => continue,
                        done => return Ok(done),
                    }
                }
                let Some((cr, quick)) = self.header(buf, ProtocolError::TooBigMultibulkCount)?
                else {
                    return Ok(None);
                };
                let count = match quick.or_else(|| string2ll(&buf[1..cr])) {
                    Some(n) if n <= 0 || n as u64 <= self.limits.max_aggregate_len as u64 => n,
                    _ => return Err(ProtocolError::InvalidMultibulkLength),
                };
                buf.advance(cr + 2);
                if count <= 0 {
                    continue;
                }
                self.remaining = count as usize;
                self.args = Vec::with_capacity(self.remaining.min(MAX_PREALLOC));
            }

            // Fast path: the bulks that are all there, taken in one go.
            if self.bulk.is_none() {
                let args = &mut self.args;
                let taken = take_bulks(buf, &self.limits, self.remaining, |b| args.push(b));
                if taken > 0 {
                    self.scanned = 0;
                    self.remaining -= taken;
                    if self.remaining == 0 {
                        return Ok(Some(std::mem::take(&mut self.args)));
                    }
                }
            }

            let len = match self.bulk {
                Some(len) => len,
                None => {
                    let Some((cr, quick)) = self.header(buf, ProtocolError::TooBigBulkCount)?
                    else {
                        return Ok(None);
                    };
                    // Redis looks at the type byte only once the whole header is there.
                    if buf[0] != b'$' {
                        return Err(ProtocolError::ExpectedBulk(buf[0]));
                    }
                    let len = match quick.or_else(|| string2ll(&buf[1..cr])) {
                        Some(n) if n >= 0 && n as u64 <= self.limits.max_bulk_bytes as u64 => {
                            n as usize
                        }
                        _ => return Err(ProtocolError::InvalidBulkLength),
                    };
                    buf.advance(cr + 2);
                    self.bulk = Some(len);
                    len
                }
            };
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
            self.args.push(buf.split_to(len).freeze());
            buf.advance(2);
            self.bulk = None;
            self.remaining -= 1;
            if self.remaining == 0 {
                return Ok(Some(std::mem::take(&mut self.args)));
            }
        }
    }

    /// Finds the CR ending the header line at the front of `buf` and, when the header is
    /// the common `<type><digits>\r\n`, its value, read in the same pass.
    #[inline]
    fn header(
        &mut self,
        buf: &[u8],
        too_big: ProtocolError,
    ) -> Result<Option<(usize, Option<i64>)>, ProtocolError> {
        match quick_len(buf) {
            Some((n, cr)) if cr <= self.limits.max_inline_bytes => {
                self.scanned = 0;
                Ok(Some((cr, Some(n as i64))))
            }
            _ => Ok(self.find_cr(buf, too_big)?.map(|cr| (cr, None))),
        }
    }

    /// Finds the CR ending the header line at the front of `buf`, once one more byte (its
    /// LF, unchecked) has arrived.
    fn find_cr(
        &mut self,
        buf: &[u8],
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let max = self.limits.max_inline_bytes;
        let from = self.scanned.min(buf.len());
        let Some(i) = memchr(b'\r', &buf[from..]) else {
            if buf.len() > max {
                return Err(too_big);
            }
            self.scanned = buf.len();
            return Ok(None);
        };
        let cr = from + i;
        if cr > max {
            return Err(too_big);
        }
        if cr + 2 > buf.len() {
            self.scanned = cr;
            return Ok(None);
        }
        self.scanned = 0;
        Ok(Some(cr))
    }

    /// Reads an inline command; `Some(vec![])` for a blank line.
    fn inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let max = self.limits.max_inline_bytes;
        let from = self.scanned.min(buf.len());
        let Some(i) = memchr(b'\n', &buf[from..]) else {
            if buf.len() > max {
                return Err(ProtocolError::TooBigInline);
            }
            self.scanned = buf.len();
            return Ok(None);
        };
        let lf = from + i;
        if lf > max {
            return Err(ProtocolError::TooBigInline);
        }
        self.scanned = 0;
        let line = buf.split_to(lf + 1).freeze();
        let end = if lf > 0 && line[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        split_args(&line, end).map(Some)
    }
}

/// `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Redis's `sdssplitargs` over `line[..end]`. Words without quotes are slices of `line`;
/// only quoted words are copied.
pub(crate) fn split_args(line: &Bytes, end: usize) -> Result<Vec<Bytes>, ProtocolError> {
    // Redis splits a C string: its text stops at the first NUL.
    let end = memchr(0, &line[..end]).unwrap_or(end);
    let s = &line[..end];
    let at = |i: usize| s.get(i).copied();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < end && is_space(s[i]) {
            i += 1;
        }
        if i == end {
            return Ok(args);
        }
        let start = i;
        // Where an unquoted word ends: its terminator or the end of the text.
        let mut stop = end;
        // Set once the word has a quote: from then on it is built byte by byte.
        let mut word: Option<Vec<u8>> = None;
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let Some(c) = at(i) else {
                if in_double || in_single {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                break;
            };
            if in_double || in_single {
                let Some(word) = word.as_mut() else {
                    // A quote always starts a copied word.
                    return Err(ProtocolError::UnbalancedQuotes);
                };
                let quote = if in_double { b'"' } else { b'\'' };
                if c == quote {
                    // The closing quote must end the word.
                    if at(i + 1).is_some_and(|n| !is_space(n)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                }
                if in_double && c == b'\\' {
                    let hex = match (
                        at(i + 1),
                        at(i + 2).and_then(hex_value),
                        at(i + 3).and_then(hex_value),
                    ) {
                        (Some(b'x'), Some(hi), Some(lo)) => Some(hi * 16 + lo),
                        _ => None,
                    };
                    if let Some(byte) = hex {
                        word.push(byte);
                        i += 4;
                        continue;
                    }
                    if let Some(e) = at(i + 1) {
                        word.push(match e {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        i += 2;
                        continue;
                    }
                } else if in_single && c == b'\\' && at(i + 1) == Some(b'\'') {
                    word.push(b'\'');
                    i += 2;
                    continue;
                }
                word.push(c);
                i += 1;
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        stop = i;
                        i += 1;
                        break;
                    }
                    b'"' | b'\'' => {
                        word.get_or_insert_with(|| s[start..i].to_vec());
                        in_double = c == b'"';
                        in_single = c == b'\'';
                    }
                    _ => {
                        if let Some(word) = word.as_mut() {
                            word.push(c);
                        }
                    }
                }
                i += 1;
            }
        }
        args.push(match word {
            Some(word) => Bytes::from(word),
            None => line.slice(start..stop),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::encode_command;
    use proptest::prelude::*;

    type Outcome = (Vec<Vec<Bytes>>, Option<ProtocolError>);

    /// Feeds `input` in chunks of the given sizes (cycled), decoding after each chunk.
    fn decode_chunked(limits: Limits, input: &[u8], sizes: &[usize]) -> Outcome {
        let mut decoder = RequestDecoder::new(limits);
        let mut buf = BytesMut::new();
        let mut commands = Vec::new();
        let mut rest = input;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].clamp(1, rest.len());
            i += 1;
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(args)) => commands.push(args),
                    Ok(None) => break,
                    Err(e) => return (commands, Some(e)),
                }
            }
        }
        (commands, None)
    }

    fn decode_all(limits: Limits, input: &[u8]) -> Outcome {
        decode_chunked(limits, input, &[input.len().max(1)])
    }

    fn words(args: &[&[u8]]) -> Vec<Bytes> {
        args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
    }

    #[test]
    fn valid_requests() {
        // (input, the commands read: each a list of arguments)
        type Commands<'a> = &'a [&'a [&'a [u8]]];
        let cases: &[(&[u8], Commands)] = &[
            (b"*1\r\n$4\r\nPING\r\n", &[&[b"PING"]]),
            (
                b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n",
                &[&[b"SET", b"k", b""]],
            ),
            (b"*1\r\n$4\r\nPI\r\n\r\n", &[&[b"PI\r\n"]]),
            // Empty commands are skipped.
            (b"*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n", &[&[b"PING"]]),
            // Redis skips the byte after a header's CR without looking at it.
            (b"*1\rX$4\rYPING\r\n", &[&[b"PING"]]),
            (b"PING\r\nPING\n", &[&[b"PING"], &[b"PING"]]),
            (b"  SET  k\tv \r\n", &[&[b"SET", b"k", b"v"]]),
            (b"\r\n\n \t \r\nECHO\r\n", &[&[b"ECHO"]]),
            (b"SET \"a b\" 'c d'\n", &[&[b"SET", b"a b", b"c d"]]),
            (
                b"ECHO \"\\x41\\x4a\\n\\t\\\\\\\"q\\r\\b\\a\\z\"\n",
                &[&[b"ECHO", b"AJ\n\t\\\"q\r\x08\x07z"]],
            ),
            (b"ECHO \"\\xZZ\" \"\\x4\"\n", &[&[b"ECHO", b"xZZ", b"x4"]]),
            (b"ECHO 'it\\'s' 'a\\nb'\n", &[&[b"ECHO", b"it's", b"a\\nb"]]),
            (
                b"ECHO foo\"bar baz\" x'y'\n",
                &[&[b"ECHO", b"foobar baz", b"xy"]],
            ),
            (b"ECHO \"\" ''\n", &[&[b"ECHO", b"", b""]]),
            (b"ECHO\"a\"\n", &[&[b"ECHOa"]]),
            // The text of a line stops at a NUL, as in C.
            (b"ECHO a\0b c\nPING\n", &[&[b"ECHO", b"a"], &[b"PING"]]),
            (b"\0 ECHO\nPING\n", &[&[b"PING"]]),
            // A lone CR separates words; vertical tab and form feed are blanks only
            // between words.
            (b"ECHO a\rb\r\n", &[&[b"ECHO", b"a", b"b"]]),
            (b"\x0bECHO a\x0cb\n", &[&[b"ECHO", b"a\x0cb"]]),
            (b"ECHO \"a\"\x0b'b'\x0c\n", &[&[b"ECHO", b"a", b"b"]]),
            (b"ECHO \"a\r\"\r\n", &[&[b"ECHO", b"a\r"]]),
            (b"ECHO \xff\xfe\n", &[&[b"ECHO", b"\xff\xfe"]]),
            // A multibulk after an inline command and the other way round.
            (
                b"PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n",
                &[&[b"PING"], &[b"PING"], &[b"PING"]],
            ),
        ];
        for (input, expected) in cases {
            let expected: Vec<Vec<Bytes>> = expected.iter().map(|c| words(c)).collect();
            assert_eq!(
                decode_all(Limits::DEFAULT, input),
                (expected, None),
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn invalid_requests() {
        use ProtocolError::*;
        let cases: &[(&[u8], ProtocolError, &str)] = &[
            (
                b"*x\r\n",
                InvalidMultibulkLength,
                "Protocol error: invalid multibulk length",
            ),
            (
                b"*\r\n",
                InvalidMultibulkLength,
                "Protocol error: invalid multibulk length",
            ),
            (
                b"*01\r\n",
                InvalidMultibulkLength,
                "Protocol error: invalid multibulk length",
            ),
            (
                b"*+1\r\n",
                InvalidMultibulkLength,
                "Protocol error: invalid multibulk length",
            ),
            (
                b"*2147483647\r\n",
                InvalidMultibulkLength,
                "Protocol error: invalid multibulk length",
            ),
            (
                b"*1\r\n:1\r\n",
                ExpectedBulk(b':'),
                "Protocol error: expected '$', got ':'",
            ),
            (
                b"*1\r\nPING\r\n",
                ExpectedBulk(b'P'),
                "Protocol error: expected '$', got 'P'",
            ),
            (
                b"*1\r\n$-1\r\n",
                InvalidBulkLength,
                "Protocol error: invalid bulk length",
            ),
            (
                b"*1\r\n$x\r\n",
                InvalidBulkLength,
                "Protocol error: invalid bulk length",
            ),
            (
                b"*1\r\n$999999999999\r\n",
                InvalidBulkLength,
                "Protocol error: invalid bulk length",
            ),
            (
                b"*1\r\n$3\r\nfooXX",
                MissingCrlf,
                "Protocol error: expected CRLF after bulk payload",
            ),
            (
                b"ECHO \"abc\r\n",
                UnbalancedQuotes,
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"ECHO \"a\"b\r\n",
                UnbalancedQuotes,
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"ECHO 'a'b\n",
                UnbalancedQuotes,
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"ECHO 'abc\n",
                UnbalancedQuotes,
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"ECHO \"abc\\\n",
                UnbalancedQuotes,
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"ECHO \"a\0\"\n",
                UnbalancedQuotes,
                "Protocol error: unbalanced quotes in request",
            ),
        ];
        for (input, expected, text) in cases {
            let (_, error) = decode_all(Limits::DEFAULT, input);
            assert_eq!(
                error.as_ref(),
                Some(expected),
                "{:?}",
                input.escape_ascii().to_string()
            );
            assert_eq!(expected.to_string(), *text);
        }
    }

    #[test]
    fn limits() {
        use ProtocolError::*;
        let tight = Limits {
            max_bulk_bytes: 4,
            max_aggregate_len: 2,
            max_depth: 1,
            max_inline_bytes: 8,
        };
        let cases: &[(&[u8], Option<ProtocolError>)] = &[
            (b"*2\r\n$4\r\nabcd\r\n$0\r\n\r\n", None),
            (b"*3\r\n", Some(InvalidMultibulkLength)),
            (b"*1\r\n$5\r\n", Some(InvalidBulkLength)),
            (
                b"*2\r\n$4\r\nabcd\r\n$5\r\nabcde\r\n",
                Some(InvalidBulkLength),
            ),
            (b"*1\r\n$3\r\nabcXY", Some(MissingCrlf)),
            // Eight bytes before the CR (type byte included) are allowed.
            (b"*0000002\r", None),
            (b"*00000002", Some(TooBigMultibulkCount)),
            (b"*00000002\r\n", Some(TooBigMultibulkCount)),
            (b"*1\r\n$0000004\r", None),
            (b"*1\r\n$00000004", Some(TooBigBulkCount)),
            (b"*1\r\nX00000004", Some(TooBigBulkCount)),
            (b"PING1234\n", None),
            (b"PING123\r\n", None),
            (b"PING12345", Some(TooBigInline)),
            (b"PING12345\n", Some(TooBigInline)),
        ];
        for (input, expected) in cases {
            let (_, error) = decode_all(tight, input);
            assert_eq!(&error, expected, "{:?}", input.escape_ascii().to_string());
        }
        assert_eq!(
            TooBigInline.to_string(),
            "Protocol error: too big inline request"
        );
        assert_eq!(
            TooBigMultibulkCount.to_string(),
            "Protocol error: too big mbulk count string"
        );
        assert_eq!(
            TooBigBulkCount.to_string(),
            "Protocol error: too big bulk count string"
        );
    }

    #[test]
    fn large_bulk_in_small_chunks() {
        let value: Vec<u8> = (0..4 << 20).map(|i| (i % 253) as u8).collect();
        let mut input = BytesMut::new();
        encode_command(&[&b"SET"[..], b"k", &value], &mut input);
        let (commands, error) = decode_chunked(Limits::DEFAULT, &input, &[16 * 1024]);
        assert_eq!(error, None);
        assert!(commands == vec![words(&[b"SET", b"k", &value])]);
    }

    #[test]
    fn long_inline_line_fed_byte_by_byte() {
        // The search for LF resumes where it stopped, so this stays linear.
        let word = "x".repeat(60_000);
        let line = format!("ECHO {word}\r\n");
        let (commands, error) = decode_chunked(Limits::DEFAULT, line.as_bytes(), &[1]);
        assert_eq!(error, None);
        assert!(commands == vec![words(&[b"ECHO", word.as_bytes()])]);
    }

    #[test]
    fn unquoted_words_share_the_read_buffer() {
        let mut buf = BytesMut::from(&b"SET key \"v\"\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let args = RequestDecoder::default().decode(&mut buf).unwrap().unwrap();
        assert_eq!(args[1].as_ptr() as usize - base, 4);
        assert_eq!(args[2], "v");
    }

    /// A word quoted so that `sdssplitargs` gives it back: double quotes, every byte that is
    /// not alphanumeric as `\xHH`.
    fn quote(word: &[u8]) -> Vec<u8> {
        let mut out = vec![b'"'];
        for &c in word {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else {
                out.extend_from_slice(format!("\\x{c:02x}").as_bytes());
            }
        }
        out.push(b'"');
        out
    }

    fn args() -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..12),
                "[a-zA-Z0-9]{1,8}".prop_map(String::into_bytes),
            ],
            1..6,
        )
    }

    /// A stream of commands in every form: multibulk, inline quoted, inline plain, and
    /// skipped empties between them.
    fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<Vec<Bytes>>)> {
        proptest::collection::vec((args(), 0..4u8), 1..6).prop_map(|commands| {
            let mut input = BytesMut::new();
            let mut expected = Vec::new();
            for (args, form) in commands {
                match form {
                    0 => encode_command(&args, &mut input),
                    1 => {
                        let line: Vec<Vec<u8>> = args.iter().map(|a| quote(a)).collect();
                        input.extend_from_slice(&line.join(&b" "[..]));
                        input.extend_from_slice(b"\r\n");
                    }
                    2 => {
                        input.extend_from_slice(b"*0\r\n \t\r\n\n*-1\r\n");
                        encode_command(&args, &mut input);
                    }
                    _ => {
                        // Plain words: alphanumeric ones only.
                        let plain: Vec<&Vec<u8>> = args
                            .iter()
                            .filter(|a| !a.is_empty() && a.iter().all(u8::is_ascii_alphanumeric))
                            .collect();
                        if plain.is_empty() {
                            continue;
                        }
                        for word in &plain {
                            input.extend_from_slice(word);
                            input.extend_from_slice(b"  ");
                        }
                        input.extend_from_slice(b"\n");
                        expected.push(plain.iter().map(|a| Bytes::copy_from_slice(a)).collect());
                        continue;
                    }
                }
                expected.push(args.iter().map(|a| Bytes::copy_from_slice(a)).collect());
            }
            (input.to_vec(), expected)
        })
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_commands(
            (input, expected) in stream(),
            sizes in proptest::collection::vec(1usize..40, 1..8),
        ) {
            prop_assert_eq!(decode_all(Limits::DEFAULT, &input), (expected.clone(), None));
            prop_assert_eq!(decode_chunked(Limits::DEFAULT, &input, &sizes), (expected, None));
        }

        #[test]
        fn every_strict_prefix_needs_more(args in args()) {
            let mut input = BytesMut::new();
            encode_command(&args, &mut input);
            for end in 0..input.len() {
                let mut buf = BytesMut::from(&input[..end]);
                prop_assert_eq!(RequestDecoder::default().decode(&mut buf), Ok(None), "prefix {}", end);
            }
        }

        /// Garbage never panics, and the outcome does not depend on how it is cut.
        #[test]
        fn arbitrary_bytes(
            input in proptest::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    proptest::sample::select(b"*$:\"'\\x \t\r\n0123456789aF".to_vec()),
                ],
                0..200,
            ),
            sizes in proptest::collection::vec(1usize..16, 1..6),
        ) {
            let tight = Limits { max_bulk_bytes: 64, max_aggregate_len: 8, max_depth: 1, max_inline_bytes: 16 };
            for limits in [Limits::DEFAULT, tight] {
                prop_assert_eq!(decode_chunked(limits, &input, &sizes), decode_all(limits, &input));
            }
        }
    }
}
