//! Bounds the decoder enforces, so that no length a peer declares makes us allocate or wait
//! without limit.

/// Limits applied while decoding. Every length a peer declares is checked against these
/// before anything is reserved for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string accepted (Redis's `proto-max-bulk-len`, 512 MiB by default).
    pub max_bulk_bytes: usize,
    /// Largest element count of one array, map, set or push (a map counts its pairs).
    pub max_aggregate_len: usize,
    /// Deepest nesting of aggregates. Requests are always flat; replies nest.
    pub max_depth: usize,
    /// Longest line without a CRLF: an inline command, a simple string or a length header
    /// (Redis's `PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub max_inline_bytes: usize,
}

impl Limits {
    /// Redis's own defaults: 512 MiB bulks, 64 KiB inline lines. Redis accepts multibulk
    /// counts up to `i32::MAX`; we stop at 2^24 elements, far above any real command, so a
    /// declared count can never stand for gigabytes of frame bookkeeping.
    pub const DEFAULT: Limits = Limits {
        max_bulk_bytes: 512 * 1024 * 1024,
        max_aggregate_len: 1 << 24,
        max_depth: 128,
        max_inline_bytes: 64 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
