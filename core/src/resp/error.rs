//! Protocol errors: input that is not valid RESP. The connection replies with the message and
//! closes, as Redis does.

/// A violation of the protocol. Where Redis has words for the problem, [`std::fmt::Display`]
/// gives Redis's exact text (without the `-ERR ` prefix the reply adds).
///
/// "Need more bytes" is not an error: decoders return `Ok(None)` for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An array header with a count that is not a number, or over the limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// A bulk header with a length that is not a number, or over the limit.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// Inside a request array, an element that is not a bulk string.
    #[error("Protocol error: expected '$', got '{}'", char::from(*.0))]
    ExpectedBulk(u8),
    /// An array header line longer than the inline limit.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// A bulk header line longer than the inline limit.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// An inline command longer than the inline limit.
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// An inline command with a quote that does not close.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A frame starting with a byte that is no RESP type.
    #[error("Protocol error: unknown frame type '{}'", (*.0).escape_ascii())]
    UnknownType(u8),
    /// A `:` integer (or another number) that does not parse.
    #[error("Protocol error: invalid integer")]
    InvalidInteger,
    /// A `,` double that does not parse.
    #[error("Protocol error: invalid double")]
    InvalidDouble,
    /// A `#` boolean other than `t` or `f`.
    #[error("Protocol error: invalid boolean")]
    InvalidBoolean,
    /// A `(` big number that is not an optionally signed run of digits.
    #[error("Protocol error: invalid big number")]
    InvalidBigNumber,
    /// A verbatim string without its `fmt:` prefix.
    #[error("Protocol error: invalid verbatim string")]
    InvalidVerbatim,
    /// A bulk payload not followed by CRLF.
    #[error("Protocol error: expected CRLF after bulk payload")]
    MissingCrlf,
    /// A line that is not ended by CRLF: a CR followed by another byte, or a LF without its
    /// CR. Frames keep CR and LF out of lines so that a stray one is caught where it is
    /// rather than read as the start of the next frame.
    #[error("Protocol error: line not ended by CRLF")]
    InvalidLineEnd,
    /// A `_` null with something between `_` and CRLF.
    #[error("Protocol error: invalid null")]
    InvalidNull,
    /// A line (simple string, error, number) longer than the inline limit.
    #[error("Protocol error: line too long")]
    LineTooLong,
    /// Aggregates nested deeper than the limit.
    #[error("Protocol error: nesting too deep")]
    TooDeep,
}
