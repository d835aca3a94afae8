//! RDB, Redis's snapshot format: [`write()`] a [`Store`](crate::Store) as Redis 7.0 would
//! (RDB version 10), [`load`] or [`load_into`] a file Redis (up to version 11) or redish
//! wrote.
//!
//! # The format, as far as we use it
//! ```text
//! "REDIS" 4-digit-version
//! AUX(0xFA) name value                  metadata: redis-ver, ctime, …
//! SELECTDB(0xFE) db RESIZEDB(0xFB) size expires-size
//! [EXPIRETIME_MS(0xFC) u64-le] [IDLE(0xF8) len | FREQ(0xF9) byte] type key value
//! …
//! EOF(0xFF) crc64-le                    over every byte before it; 0 = not checked
//! ```
//! Lengths take 1, 2, 5 or 9 bytes (the top two bits of the first byte say which); a string
//! is a length and its bytes, or a special encoding: an 8, 16 or 32-bit integer written as
//! binary, or LZF-compressed bytes.
//!
//! # Value types
//! Strings (0), lists (1, 10, 14, 18), sets (2, 11, 20), sorted sets (3, 5, 12, 17) and
//! hashes (4, 13, 16) in every encoding Redis 2.6 to 7.2 writes (see `types.rs`), and
//! streams with their consumer groups (15, 19, 21: Redis 5, 7.0, 7.2); modules and the old
//! zipmap are refused with [`RdbError::UnsupportedType`], naming the type. We write hashes
//! as 4, sets as 2, sorted sets as 5 (binary scores), lists as 18 (quicklist of listpacks)
//! and streams as 19, Redis 7.0's. The readers and writers dispatch with a `match` on the type
//! byte (see `value_reader` and `put_value`), one function per encoding. Loaded values get
//! the encodings of the default [`crate::db::TypeLimits`].
//!
//! # Memory bounds
//! Reading arbitrary bytes never allocates more than a small multiple of their length: a
//! declared string length must fit in the remaining input, an LZF string's declared length
//! must be reachable from its compressed length (LZF expands at most 88 times), and the
//! size hints of RESIZEDB are not used to preallocate.

mod dump;
mod read;
mod types;
mod write;

pub use dump::{
    dump_payload, function_payload, read_function_payload, restore_payload, seal_payload,
    RestoreError,
};
pub use read::{load, load_functions, load_into, RdbLoad, RdbReader, RdbSummary};
pub(crate) use write::value_len;
pub use write::{snapshot_to_vec, to_vec, write, RdbEncoder};

/// An AUX field: name and value (`redis-ver`, `7.0.15`).
pub type AuxField = (Box<[u8]>, Box<[u8]>);

use crate::db::Value;

/// The RDB version Redis 7.0 writes, and so do we.
pub const RDB_VERSION: u32 = 10;
/// The newest RDB version we read (Redis 7.2's). Its new encodings are value types we
/// refuse as unsupported until the keyspace has them.
pub const MAX_READ_VERSION: u32 = 11;

/// Opcodes: bytes that start a record instead of a value type.
pub(crate) mod opcode {
    pub const FUNCTION2: u8 = 0xf5;
    pub const FUNCTION_PRE_GA: u8 = 0xf6;
    pub const MODULE_AUX: u8 = 0xf7;
    pub const IDLE: u8 = 0xf8;
    pub const FREQ: u8 = 0xf9;
    pub const AUX: u8 = 0xfa;
    pub const RESIZEDB: u8 = 0xfb;
    pub const EXPIRETIME_MS: u8 = 0xfc;
    pub const EXPIRETIME: u8 = 0xfd;
    pub const SELECTDB: u8 = 0xfe;
    pub const EOF: u8 = 0xff;
}

/// The value type byte of a string.
pub(crate) const TYPE_STRING: u8 = 0;

/// Redis's name for a value type byte (rdb.h), for error messages.
pub fn type_name(type_byte: u8) -> &'static str {
    match type_byte {
        0 => "string",
        1 => "list",
        2 => "set",
        3 => "zset",
        4 => "hash",
        5 => "zset (version 2)",
        6 => "module (pre-GA)",
        7 => "module",
        9 => "hash (zipmap)",
        10 => "list (ziplist)",
        11 => "set (intset)",
        12 => "zset (ziplist)",
        13 => "hash (ziplist)",
        14 => "list (quicklist)",
        15 => "stream (listpacks)",
        16 => "hash (listpack)",
        17 => "zset (listpack)",
        18 => "list (quicklist 2)",
        19 => "stream (listpacks 2)",
        20 => "set (listpack)",
        21 => "stream (listpacks 3)",
        _ => "unknown type",
    }
}

/// One key read from an RDB file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbEntry {
    /// The database (SELECTDB) it belongs to.
    pub db: usize,
    /// The key.
    pub key: Box<[u8]>,
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds. A time before the epoch reads as 0.
    pub expire_at_ms: Option<u64>,
    /// The IDLE opcode before it: seconds since its last access (LRU policies).
    pub idle_s: Option<u64>,
    /// The FREQ opcode before it: its LFU counter (LFU policies).
    pub freq: Option<u8>,
    /// Offset of the entry's type byte in the file, for error messages.
    pub offset: usize,
}

/// Why an RDB file cannot be read. Each names the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RdbError {
    /// The file does not start with `REDIS` and four digits.
    #[error("not an RDB file: no REDIS signature at offset 0")]
    NotRdb,
    /// A version we cannot read.
    #[error("unsupported RDB version {version} (we read 1 to {MAX_READ_VERSION})")]
    UnsupportedVersion {
        /// The version the file declares.
        version: u32,
    },
    /// The input ends in the middle of a record (or before the EOF opcode).
    #[error("unexpected end of RDB data at offset {offset}")]
    UnexpectedEof {
        /// Where more bytes were needed.
        offset: usize,
    },
    /// A length larger than what follows it, or than any valid value.
    #[error("invalid length {len} at offset {offset}")]
    BadLength {
        /// The declared length.
        len: u64,
        /// Offset of the length's first byte.
        offset: usize,
    },
    /// A string special encoding other than int8, int16, int32 or LZF.
    #[error("unknown string encoding {encoding} at offset {offset}")]
    BadStringEncoding {
        /// The encoding number (low 6 bits of the length byte).
        encoding: u8,
        /// Offset of the length byte.
        offset: usize,
    },
    /// An LZF string that does not decompress to its declared length.
    #[error("corrupt LZF-compressed string at offset {offset}")]
    BadCompressedString {
        /// Offset of the string's first byte.
        offset: usize,
    },
    /// A value type we do not hold (yet), or a byte that is no type at all.
    #[error("unsupported value type {type_byte} ({}) at offset {offset}", type_name(*type_byte))]
    UnsupportedType {
        /// The type byte.
        type_byte: u8,
        /// Its offset.
        offset: usize,
    },
    /// A record we cannot load: functions, module data.
    #[error("unsupported {what} at offset {offset}")]
    Unsupported {
        /// What it is.
        what: &'static str,
        /// Offset of its opcode.
        offset: usize,
    },
    /// The CRC64 at the end does not match the data.
    #[error("RDB checksum mismatch at offset {offset}: file says {expected:#018x}, data gives {actual:#018x}")]
    BadChecksum {
        /// Offset of the checksum.
        offset: usize,
        /// The checksum the file holds.
        expected: u64,
        /// The checksum of the data.
        actual: u64,
    },
    /// A database index at or beyond the store's number of databases.
    #[error("database {db} at offset {offset} is out of range: the server has {databases}")]
    DbOutOfRange {
        /// The index the file uses.
        db: u64,
        /// Offset of the record.
        offset: usize,
        /// How many databases the store has.
        databases: usize,
    },
    /// A value whose encoding does not hold together: a listpack, ziplist or intset that
    /// contradicts its header, a duplicate member, an empty aggregate.
    #[error("corrupt {what} at offset {offset}")]
    Corrupt {
        /// What is corrupt.
        what: &'static str,
        /// Offset of the value's first byte.
        offset: usize,
    },
    /// The same key twice in one database (Redis refuses such a file too).
    #[error("duplicate key in database {db} at offset {offset}")]
    DuplicateKey {
        /// The database.
        db: usize,
        /// Offset of the second occurrence.
        offset: usize,
    },
    /// A function library that does not load (Redis refuses to start then too).
    #[error("function library does not load: {message}")]
    Function {
        /// Why, as FUNCTION LOAD would say it.
        message: String,
    },
}

#[cfg(test)]
mod tests;
