//! The RESP frame: one value of the protocol, RESP2 or RESP3.

use bytes::Bytes;

/// Which protocol version a connection speaks. RESP2 is the default; `HELLO 3` switches a
/// connection to RESP3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// RESP2: the protocol every Redis client speaks.
    #[default]
    Resp2,
    /// RESP3: adds maps, sets, doubles, booleans, nulls, push frames and attributes.
    Resp3,
}

/// One RESP value.
///
/// The variants cover every type of RESP2 and RESP3. Payloads are [`Bytes`], so a decoded
/// frame shares the read buffer instead of copying it.
///
/// RESP2 has two nulls, `$-1` (a missing bulk string) and `*-1` (a missing array); RESP3 has
/// one, `_`. [`Frame::Null`] and [`Frame::NullArray`] keep the difference so a reply built
/// once can be written in either version: both are `_` in RESP3.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK` — a simple string (no CR or LF inside).
    Simple(Bytes),
    /// `-ERR message` — an error; the bytes hold the whole line, code included.
    Error(Bytes),
    /// `:42` — a signed 64-bit integer.
    Integer(i64),
    /// `$3\r\nfoo` — a binary-safe bulk string.
    Bulk(Bytes),
    /// `*2\r\n…` — an array.
    Array(Vec<Frame>),
    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// The null array: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    /// `#t` / `#f` (RESP3). Written as the integer 1 or 0 in RESP2.
    Boolean(bool),
    /// `,3.14` (RESP3), including `inf`, `-inf` and `nan`. A bulk string in RESP2.
    Double(f64),
    /// `(1234…` (RESP3): an integer of any size, kept as its decimal digits.
    BigNumber(Bytes),
    /// `!len\r\n…` (RESP3): a binary-safe error. A simple error in RESP2.
    BulkError(Bytes),
    /// `=len\r\ntxt:…` (RESP3): a string with a three-byte format (`txt`, `mkd`). A bulk
    /// string of the payload alone in RESP2.
    Verbatim {
        /// The format, e.g. `*b"txt"`.
        format: [u8; 3],
        /// The text after `fmt:`.
        data: Bytes,
    },
    /// `%n\r\n…` (RESP3): key/value pairs in order. A flat array in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// `~n\r\n…` (RESP3): an unordered collection. An array in RESP2.
    Set(Vec<Frame>),
    /// `|n\r\n…` (RESP3): attributes that annotate the frame that follows them. RESP2 has no
    /// attributes: they are dropped and the frame is written alone.
    Attribute {
        /// The attribute pairs.
        attrs: Vec<(Frame, Frame)>,
        /// The frame they annotate.
        data: Box<Frame>,
    },
    /// `>n\r\n…` (RESP3): out-of-band data such as pub/sub messages. An array in RESP2.
    Push(Vec<Frame>),
}

impl Frame {
    /// `+OK`.
    pub const OK: Frame = Frame::Simple(Bytes::from_static(b"OK"));

    /// A simple string from a static text.
    pub const fn simple(s: &'static str) -> Frame {
        Frame::Simple(Bytes::from_static(s.as_bytes()))
    }

    /// An error reply. `msg` holds the whole line, code included: `"ERR syntax error"`.
    pub fn error(msg: impl Into<String>) -> Frame {
        Frame::Error(Bytes::from(msg.into()))
    }

    /// A bulk string, copying `data`.
    pub fn bulk(data: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(data.as_ref()))
    }

    /// An array of bulk strings, as clients send commands: `Frame::command(["SET", "k", "v"])`.
    pub fn command<I, T>(args: I) -> Frame
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        Frame::Array(args.into_iter().map(Frame::bulk).collect())
    }

    /// The bytes of a string-like frame (simple, bulk, verbatim, big number), else `None`.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Frame::Simple(b) | Frame::Bulk(b) | Frame::BigNumber(b) => Some(b),
            Frame::Verbatim { data, .. } => Some(data),
            _ => None,
        }
    }

    /// True for the error variants (simple and bulk).
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_) | Frame::BulkError(_))
    }
}
