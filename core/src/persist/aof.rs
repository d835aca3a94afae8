//! The append-only file: write commands logged as RESP, read back and replayed at start.
//!
//! # Which files the adapters write
//! The simplest mode, and the one we recommend: **one plain RESP file** (`appendonly.aof`),
//! written by an [`AofWriter`] as commands run, and replaced by the output of [`rewrite`]
//! (written to a temporary file, fsynced, renamed) when it grows. Every record is a RESP
//! array of bulk strings, the form Redis's `redis-check-aof` checks; Redis 7.0 itself loads
//! such a file (it upgrades a lone `appendonly.aof` into its multi-part layout on start).
//!
//! Redis 7's multi-part layout (a base file, incremental files and a manifest in
//! `appenddirname`) is a matter of file names: each part is a file in the format read by
//! [`load`] — a base written by [`rewrite`], increments written by an [`AofWriter`] — and
//! the manifest is the adapter's. [`load`] also reads a part that starts with an RDB
//! preamble (Redis's `aof-use-rdb-preamble yes`), so files Redis wrote load too; we write
//! plain RESP ourselves, so the log stays greppable and checkable by `redis-check-aof`.
//!
//! # What the adapter logs
//! What the store's effects log yields ([`Store::set_effects_log`], [`Store::poll_effect`]):
//! every change, already in a form that replays the same later (relative expiries made
//! absolute, expired keys as `DEL`, multi-command units in MULTI/EXEC), as Redis 7
//! propagates them. The adapter appends each with [`AofWriter::append_effect`] (or builds
//! records itself with [`AofWriter::append`] and [`AofWriter::begin_transaction`] /
//! [`AofWriter::end_transaction`]). Then [`AofWriter::poll_transmit`] gives the bytes to
//! write and [`AofWriter::consume_transmit`] drops what was written. When to write and
//! fsync — after every command, or grouped once per event-loop turn (`appendfsync always |
//! everysec | no`) — is the adapter's; replies to clients must wait for the write when
//! `always` promises durability.
//!
//! # Reading back
//! [`load`] returns the commands with their databases, MULTI…EXEC blocks grouped so they
//! replay whole. A last record cut short (a crash mid-write) or a MULTI without its EXEC
//! at the end is reported as [`AofLoad::truncated`] with the length of the valid prefix,
//! as Redis's `aof-load-truncated yes` does: the adapter logs a warning, truncates the
//! file to [`AofLoad::valid_len`] and carries on. Anything malformed before the end is an
//! [`AofError`] naming the byte offset. [`crate::cmd::replay_aof`] then runs the commands
//! through the executor, the same path clients' commands take.

use std::io;

use bytes::{Bytes, BytesMut};
use memchr::memchr;

use super::rdb::{RdbEntry, RdbError, RdbReader};
use crate::db::{Effect, Store, Value};
use crate::num::parse_i64;
use crate::resp::{encode_command, Limits, ProtocolError, RequestDecoder};

/// One logged command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofCommand {
    /// The database it ran in (the last SELECT before it).
    pub db: usize,
    /// Its arguments, name first.
    pub args: Vec<Bytes>,
    /// Offset of its first byte in the file, for error messages.
    pub offset: usize,
}

/// A unit of replay: a command, or a transaction whose commands run together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AofEntry {
    /// A command outside any transaction.
    Command(AofCommand),
    /// The commands between a MULTI and its EXEC (neither included).
    Transaction(Vec<AofCommand>),
}

/// What [`load`] read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AofLoad {
    /// Keys of an RDB preamble, expired ones included ([`crate::cmd::replay_aof`] skips those).
    pub preamble: Vec<RdbEntry>,
    /// The commands, in order.
    pub entries: Vec<AofEntry>,
    /// Length of the prefix made of complete records: the whole input unless
    /// [`AofLoad::truncated`].
    pub valid_len: usize,
    /// True if the input ends inside a record or inside a MULTI with no EXEC. Those bytes
    /// were ignored; the adapter warns and truncates the file to [`AofLoad::valid_len`].
    pub truncated: bool,
}

impl AofLoad {
    /// Number of commands, counting each inside a transaction.
    pub fn command_count(&self) -> usize {
        self.entries
            .iter()
            .map(|e| match e {
                AofEntry::Command(_) => 1,
                AofEntry::Transaction(cmds) => cmds.len(),
            })
            .sum()
    }
}

/// Why an AOF cannot be loaded or replayed. Each names the byte offset of the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AofError {
    /// A record that does not start with `*` (or `#` for an annotation line).
    #[error("bad AOF format at offset {offset}: expected '*', got {:?}", char::from(*byte))]
    ExpectedArray {
        /// Offset of the byte.
        offset: usize,
        /// The byte found.
        byte: u8,
    },
    /// A record that is not valid RESP.
    #[error("bad AOF format at offset {offset}: {error}")]
    Protocol {
        /// Offset of the record.
        offset: usize,
        /// What is wrong with it.
        error: ProtocolError,
    },
    /// An array of no elements (`*0`, `*-1`): Redis refuses these too.
    #[error("bad AOF format at offset {offset}: empty command")]
    EmptyCommand {
        /// Offset of the record.
        offset: usize,
    },
    /// An annotation line with no end.
    #[error("bad AOF format at offset {offset}: annotation line too long")]
    AnnotationTooLong {
        /// Offset of the line.
        offset: usize,
    },
    /// A SELECT whose argument is not a database index.
    #[error("bad SELECT in AOF at offset {offset}")]
    BadSelect {
        /// Offset of the record.
        offset: usize,
    },
    /// MULTI inside a transaction.
    #[error("nested MULTI in AOF at offset {offset}")]
    NestedMulti {
        /// Offset of the inner MULTI.
        offset: usize,
    },
    /// EXEC outside a transaction.
    #[error("EXEC without MULTI in AOF at offset {offset}")]
    ExecWithoutMulti {
        /// Offset of the EXEC.
        offset: usize,
    },
    /// The RDB preamble is damaged.
    #[error("AOF RDB preamble: {0}")]
    Preamble(RdbError),
    /// A database index at or beyond the store's number of databases.
    #[error("database {db} at offset {offset} is out of range: the server has {databases}")]
    DbOutOfRange {
        /// The index.
        db: usize,
        /// Offset of the record using it.
        offset: usize,
        /// How many databases the store has.
        databases: usize,
    },
    /// A command that replied with an error when replayed: the log does not match what
    /// ran, so it is corrupt (Redis likewise stops on an unknown command).
    #[error("AOF command at offset {offset} failed on replay: {reply}")]
    CommandFailed {
        /// Offset of the command.
        offset: usize,
        /// The error reply, without `-` and CRLF.
        reply: String,
    },
    /// A command that makes no sense in a log (QUIT, SHUTDOWN, SUBSCRIBE…).
    #[error("AOF command at offset {offset} cannot be replayed: {name}")]
    NotReplayable {
        /// Offset of the command.
        offset: usize,
        /// Its name.
        name: String,
    },
}

/// Reads an AOF: an optional RDB preamble, then RESP arrays of bulk strings, with `#`
/// annotation lines skipped as Redis 7 does.
///
/// Memory stays within a small multiple of `bytes.len()`: arguments are slices of one copy
/// of the input, and declared lengths are checked against the request [`Limits`] and only
/// allocated once their bytes are present.
pub fn load(bytes: &[u8]) -> Result<AofLoad, AofError> {
    let mut out = AofLoad::default();
    let mut start = 0;
    if bytes.starts_with(b"REDIS") {
        let mut reader = RdbReader::new(bytes).map_err(AofError::Preamble)?;
        while let Some(entry) = reader.next_entry().map_err(AofError::Preamble)? {
            out.preamble.push(entry);
        }
        start = reader.position();
    }
    out.valid_len = start;

    let total = bytes.len();
    let mut buf = BytesMut::from(&bytes[start..]);
    let limits = Limits::DEFAULT;
    let mut decoder = RequestDecoder::new(limits);
    let mut db = 0;
    // The open transaction: its commands so far.
    let mut multi: Option<Vec<AofCommand>> = None;
    while let Some(&first) = buf.first() {
        let offset = total - buf.len();
        match first {
            b'#' => match memchr(b'\n', &buf[..buf.len().min(limits.max_inline_bytes)]) {
                Some(lf) => {
                    let _ = buf.split_to(lf + 1);
                    if multi.is_none() {
                        out.valid_len = total - buf.len();
                    }
                    continue;
                }
                None if buf.len() >= limits.max_inline_bytes => {
                    return Err(AofError::AnnotationTooLong { offset })
                }
                None => {
                    out.truncated = true;
                    break;
                }
            },
            b'*' => {}
            byte => return Err(AofError::ExpectedArray { offset, byte }),
        }
        // The decoder skips empty arrays; Redis calls them a format error.
        if matches!(buf.get(1), Some(b'0' | b'-')) {
            return Err(AofError::EmptyCommand { offset });
        }
        let args = match decoder.decode(&mut buf) {
            Ok(Some(args)) => args,
            Ok(None) => {
                out.truncated = true;
                break;
            }
            Err(error) => return Err(AofError::Protocol { offset, error }),
        };
        let name = &args[0];
        if name.eq_ignore_ascii_case(b"multi") {
            if multi.is_some() {
                return Err(AofError::NestedMulti { offset });
            }
            multi = Some(Vec::new());
        } else if name.eq_ignore_ascii_case(b"exec") {
            let cmds = multi.take().ok_or(AofError::ExecWithoutMulti { offset })?;
            out.entries.push(AofEntry::Transaction(cmds));
        } else if name.eq_ignore_ascii_case(b"select") {
            db = match &args[..] {
                [_, index] => parse_i64(index)
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or(AofError::BadSelect { offset })?,
                _ => return Err(AofError::BadSelect { offset }),
            };
        } else {
            let cmd = AofCommand { db, args, offset };
            match &mut multi {
                Some(cmds) => cmds.push(cmd),
                None => out.entries.push(AofEntry::Command(cmd)),
            }
        }
        if multi.is_none() {
            out.valid_len = total - buf.len();
        }
    }
    if multi.is_some() {
        // Like Redis: an unfinished transaction at the end is a torn write, not corruption.
        out.truncated = true;
    }
    Ok(out)
}

/// What [`crate::cmd::replay_aof`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplaySummary {
    /// Keys inserted from the RDB preamble.
    pub preamble_keys: usize,
    /// Commands executed.
    pub commands: usize,
}

/// Builds the log as commands run: RESP records, with a SELECT whenever the database
/// changes, in a buffer the adapter drains to the file.
///
/// ```
/// use redish_core::persist::aof::{self, AofWriter};
///
/// let mut log = AofWriter::new();
/// log.append(0, &["SET", "a", "1"]);
/// log.begin_transaction(3);
/// log.append(3, &["SET", "b", "2"]);
/// log.end_transaction();
/// let bytes = log.poll_transmit().to_vec();
/// log.consume_transmit(bytes.len());
///
/// let loaded = aof::load(&bytes).unwrap();
/// assert_eq!(loaded.command_count(), 2);
/// assert!(!loaded.truncated);
/// ```
#[derive(Debug, Default)]
pub struct AofWriter {
    buf: BytesMut,
    /// The database the log's last SELECT chose; `None` at the start of a file.
    db: Option<usize>,
}

impl AofWriter {
    /// A writer for a new file: its first record will be preceded by a SELECT.
    pub fn new() -> AofWriter {
        AofWriter::default()
    }

    /// Appends a command that ran in database `db`.
    pub fn append<T: AsRef<[u8]>>(&mut self, db: usize, args: &[T]) {
        self.select(db);
        encode_command(args, &mut self.buf);
    }

    /// Appends `FUNCTION LOAD <code>`, which an AOF rewrite writes for each library before
    /// the keys, with no SELECT (as Redis's `rewriteFunctions`).
    pub fn append_function(&mut self, code: &[u8]) {
        encode_command(&[&b"FUNCTION"[..], b"LOAD", code], &mut self.buf);
    }

    /// Appends an entry of the store's effects log ([`Store::poll_effect`]): the effects
    /// come already rewritten for replay (absolute expiries, `DEL` for expired keys) and
    /// with their own MULTI/EXEC around multi-command units, so appending each in order is
    /// the whole job.
    pub fn append_effect(&mut self, effect: &Effect) {
        self.append(effect.db, &effect.args);
    }

    /// Opens a transaction whose first command runs in `db`: appends MULTI (after a SELECT
    /// if needed, as Redis does). Transactions do not nest.
    pub fn begin_transaction(&mut self, db: usize) {
        self.select(db);
        encode_command(&[b"MULTI"], &mut self.buf);
    }

    /// Closes the transaction: appends EXEC. Until it is written, a reader drops the
    /// transaction as torn.
    pub fn end_transaction(&mut self) {
        encode_command(&[b"EXEC"], &mut self.buf);
    }

    fn select(&mut self, db: usize) {
        if self.db != Some(db) {
            let index = itoa::Buffer::new().format(db).as_bytes().to_vec();
            encode_command(&[&b"SELECT"[..], &index], &mut self.buf);
            self.db = Some(db);
        }
    }

    /// The next record starts with a SELECT: call when switching to a new file (after a
    /// rewrite), whose reader starts in database 0 and knows nothing of this one's SELECTs.
    pub fn forget_db(&mut self) {
        self.db = None;
    }

    /// Bytes waiting to be written to the file, in order.
    pub fn poll_transmit(&self) -> &[u8] {
        &self.buf
    }

    /// Reports that the first `n` bytes of [`AofWriter::poll_transmit`] were written.
    pub fn consume_transmit(&mut self, n: usize) {
        let _ = self.buf.split_to(n.min(self.buf.len()));
    }

    /// Takes every pending byte at once (for a group commit that writes them elsewhere).
    pub fn take(&mut self) -> BytesMut {
        self.buf.split()
    }
}

/// Writes the shortest log that rebuilds `store` as it is at `now_ms`: per database with
/// keys, a SELECT, then one `SET key value` per key, with `PXAT <ms>` for keys with an expiry
/// (one command, so a key never exists without its expiry). Keys already expired are left
/// out. Plain RESP, no RDB preamble (see the [module docs](self)).
///
/// `out` gets the log in chunks of about 64 KiB, for the adapter's temporary file.
pub fn rewrite_to<W: io::Write>(store: &Store, now_ms: u64, mut out: W) -> io::Result<()> {
    let mut log = AofWriter::new();
    for lib in store.scripts.functions.libraries() {
        log.append_function(&lib.code);
    }
    for (index, db) in store.dbs().iter().enumerate() {
        for (key, value, expire_at_ms) in db.entries(now_ms) {
            log.append_key(index, key, value, expire_at_ms);
            if log.buf.len() >= 64 * 1024 {
                out.write_all(&log.take())?;
            }
        }
    }
    out.write_all(&log.take())?;
    out.flush()
}

impl AofWriter {
    /// Appends the commands that rebuild one key (what [`rewrite_to`] writes per key): for
    /// rewriting from a snapshot taken while clients run ([`crate::Store::snapshot_step`]).
    /// The caller leaves out keys expired at the snapshot's time.
    pub fn append_key(&mut self, db: usize, key: &[u8], value: &Value, expire_at_ms: Option<u64>) {
        match value {
            Value::Str(s) => match expire_at_ms {
                Some(at) => {
                    let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
                    self.append(db, &[&b"SET"[..], key, &**s, b"PXAT", &at]);
                }
                None => self.append(db, &[&b"SET"[..], key, &**s]),
            },
            Value::Stream(s) => rewrite_stream(self, db, key, s, expire_at_ms),
            aggregate => rewrite_aggregate(self, db, key, aggregate, expire_at_ms),
        }
    }
}

/// Elements per command when rewriting an aggregate, as Redis's `AOF_REWRITE_ITEMS_PER_CMD`.
const REWRITE_ITEMS_PER_CMD: usize = 64;

/// Rewrites a hash, list, set or sorted set as Redis does — `HMSET`, `RPUSH`, `SADD`,
/// `ZADD` with up to 64 elements each, then `PEXPIREAT` — inside MULTI/EXEC when that takes
/// more than one command, so a key never exists half-built or without its expiry.
fn rewrite_aggregate(
    log: &mut AofWriter,
    db: usize,
    key: &[u8],
    value: &Value,
    expire_at_ms: Option<u64>,
) {
    let (name, per_item, items): (&[u8], usize, Vec<Vec<u8>>) = match value {
        Value::Hash(h) => (
            b"HMSET",
            2,
            h.iter()
                .flat_map(|(f, v)| [f.to_vec(), v.to_vec()])
                .collect(),
        ),
        Value::List(l) => (b"RPUSH", 1, l.iter().map(<[u8]>::to_vec).collect()),
        Value::Set(s) => (b"SADD", 1, s.iter().map(|m| m.to_vec()).collect()),
        Value::ZSet(z) => (
            b"ZADD",
            2,
            z.iter(0, false)
                .flat_map(|(m, s)| [crate::num::fmt_score(s).into_bytes(), m.to_vec()])
                .collect(),
        ),
        Value::Str(_) | Value::Stream(_) => unreachable!("rewritten by their own arms"),
    };
    let chunk = REWRITE_ITEMS_PER_CMD * per_item;
    let commands = items.len().div_ceil(chunk) + usize::from(expire_at_ms.is_some());
    if commands > 1 {
        log.begin_transaction(db);
    }
    for part in items.chunks(chunk) {
        let mut args: Vec<&[u8]> = Vec::with_capacity(part.len() + 2);
        args.push(name);
        args.push(key);
        args.extend(part.iter().map(Vec::as_slice));
        log.append(db, &args);
    }
    if let Some(at) = expire_at_ms {
        let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
        log.append(db, &[&b"PEXPIREAT"[..], key, &at]);
    }
    if commands > 1 {
        log.end_transaction();
    }
}

/// Rewrites a stream as Redis's `rewriteStreamObject`: an XADD per entry (an empty stream
/// as `XADD key MAXLEN 0 0-1 x y`), then XSETID with the ids and counters, inside
/// MULTI/EXEC so the stream never exists half-built.
fn rewrite_stream(
    log: &mut AofWriter,
    db: usize,
    key: &[u8],
    s: &crate::db::Stream,
    expire_at_ms: Option<u64>,
) {
    use crate::db::StreamId;
    log.begin_transaction(db);
    if s.is_empty() {
        log.append(
            db,
            &[&b"XADD"[..], key, b"MAXLEN", b"0", b"0-1", b"x", b"y"],
        );
    } else {
        s.range(StreamId::MIN, StreamId::MAX, false, |id, pairs| {
            let id = id.to_string();
            let mut args: Vec<&[u8]> = Vec::with_capacity(3 + pairs.len() * 2);
            args.extend([&b"XADD"[..], key, id.as_bytes()]);
            for (f, v) in pairs {
                args.push(f);
                args.push(v);
            }
            log.append(db, &args);
            true
        });
    }
    let last = s.last_id().to_string();
    let added = s.entries_added().to_string();
    let max_deleted = s.max_deleted_id().to_string();
    log.append(
        db,
        &[
            &b"XSETID"[..],
            key,
            last.as_bytes(),
            b"ENTRIESADDED",
            added.as_bytes(),
            b"MAXDELETEDID",
            max_deleted.as_bytes(),
        ],
    );
    // The groups, as Redis: XGROUP CREATE with the read counter, an XCLAIM … FORCE per
    // pending entry (which creates its consumer), XGROUP CREATECONSUMER for the others.
    for (name, g) in &s.groups {
        let last = g.last_id.to_string();
        let read = g
            .entries_read
            .map_or_else(|| "-1".to_owned(), |n| n.to_string());
        log.append(
            db,
            &[
                &b"XGROUP"[..],
                b"CREATE",
                key,
                name,
                last.as_bytes(),
                b"ENTRIESREAD",
                read.as_bytes(),
            ],
        );
        for (id, nack) in &g.pel {
            let id = id.to_string();
            let time = nack.delivery_time.to_string();
            let count = nack.delivery_count.to_string();
            log.append(
                db,
                &[
                    &b"XCLAIM"[..],
                    key,
                    name,
                    &nack.consumer,
                    b"0",
                    id.as_bytes(),
                    b"TIME",
                    time.as_bytes(),
                    b"RETRYCOUNT",
                    count.as_bytes(),
                    b"JUSTID",
                    b"FORCE",
                ],
            );
        }
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                log.append(db, &[&b"XGROUP"[..], b"CREATECONSUMER", key, name, cname]);
            }
        }
    }
    if let Some(at) = expire_at_ms {
        let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
        log.append(db, &[&b"PEXPIREAT"[..], key, &at]);
    }
    log.end_transaction();
}

/// [`rewrite_to`] into a new vector.
pub fn rewrite(store: &Store, now_ms: u64) -> Vec<u8> {
    let mut out = Vec::new();
    rewrite_to(store, now_ms, &mut out).expect("writing to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests;
