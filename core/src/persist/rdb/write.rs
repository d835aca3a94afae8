//! Writing RDB files, as Redis 7.0 does with its default settings (`rdbcompression yes`,
//! `rdbchecksum yes`).

use std::io;

use super::{opcode, RDB_VERSION, TYPE_STRING};
use crate::db::{Store, Value};
use crate::num::parse_i64;
use crate::persist::{crc64, lzf};
use crate::REDIS_VERSION;

const TYPE_SET: u8 = 2;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// Redis 7.0's stream type (`RDB_TYPE_STREAM_LISTPACKS_2`).
const TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// A quicklist node holding a listpack (1 would be one plain element).
const QUICKLIST_NODE_PACKED: u64 = 2;

/// Strings longer than this are tried with LZF, as in Redis (`rdbSaveRawString`).
const COMPRESS_MIN_BYTES: usize = 20;
/// Entries are encoded into a scratch buffer and handed to the writer in chunks this big.
const CHUNK_BYTES: usize = 64 * 1024;

/// Writes a snapshot of `store` at time `now_ms` in RDB version 10, the format of Redis 7.0:
/// header, AUX fields (`redis-ver`, `redis-bits`, `ctime`, `used-mem`, `aof-base`), then
/// for each database with keys SELECTDB, RESIZEDB and its entries, then EOF and the CRC64.
///
/// Keys whose expiry is at or before `now_ms` are left out. Strings that are canonical
/// integers within 32 bits are written as integers; strings over 20 bytes are
/// LZF-compressed when that saves at least 4 bytes; both as Redis does. `used-mem` is
/// written as 0: we do not account memory.
///
/// `out` receives the file in chunks of about 64 KiB; give it a file (the adapter writes to a
/// temporary file, fsyncs and renames, as Redis does) or a `Vec<u8>`. For a snapshot taken
/// while clients run, feed an [`RdbEncoder`] from [`crate::Store::snapshot_step`] instead.
pub fn write<W: io::Write>(store: &Store, now_ms: u64, mut out: W) -> io::Result<()> {
    let mut w = RdbEncoder::new(now_ms);
    w.functions(store.scripts.functions.libraries().map(|l| &l.code[..]));
    for (index, db) in store.dbs().iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        w.select_db(index, db.len(), db.volatile_len());
        for (key, value, expire_at_ms) in db.entries(now_ms) {
            w.entry(key, value, expire_at_ms);
            if w.pending() >= CHUNK_BYTES {
                out.write_all(w.take_chunk())?;
            }
        }
    }
    out.write_all(&w.finish())?;
    out.flush()
}

/// [`write()`] into a new vector.
pub fn to_vec(store: &Store, now_ms: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write(store, now_ms, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// The RDB file of `snapshot`, taken whole now (a replica's full sync in a store without a
/// host to do it in the background; `host` encodes a snapshot step by step instead).
pub fn snapshot_to_vec(store: &mut Store, snapshot: &mut crate::db::Snapshot) -> Vec<u8> {
    snapshot.prepare();
    let mut enc = RdbEncoder::new(snapshot.now_ms());
    enc.functions(snapshot.functions().iter().map(|c| &c[..]));
    let mut out = Vec::new();
    let mut entries = Vec::new();
    loop {
        let step = store.snapshot_step(snapshot, usize::MAX, &mut entries);
        for e in entries.drain(..) {
            if enc.current_db() != Some(e.db) {
                let (keys, volatile) = snapshot.db_size(e.db);
                enc.select_db(e.db, keys, volatile);
            }
            enc.entry(&e.key, &e.value, e.expire_at_ms);
        }
        out.extend_from_slice(enc.take_chunk());
        if step != crate::db::SnapshotStep::More {
            break;
        }
    }
    out.extend(enc.finish());
    out
}

/// An RDB file built piece by piece, for snapshots written while the store changes
/// ([`crate::Store::snapshot_step`] hands out entries a few at a time, database by
/// database): the same bytes [`write()`] produces for the same entries.
///
/// ```
/// use redish_core::db::Value;
/// use redish_core::persist::rdb::{self, RdbEncoder};
///
/// let mut enc = RdbEncoder::new(1_000);
/// enc.select_db(0, 1, 0);
/// enc.entry(b"k", &Value::str(b"v"), None);
/// let mut file = enc.take_chunk().to_vec();
/// file.extend(enc.finish());
/// assert_eq!(rdb::load(&file, 1_000).unwrap().entries.len(), 1);
/// ```
pub struct RdbEncoder {
    crc: u64,
    buf: Vec<u8>,
    /// Bytes of `buf` handed out by the last [`RdbEncoder::take_chunk`].
    taken: usize,
    lzf: Lzf,
    now_ms: u64,
    db: Option<usize>,
}

impl RdbEncoder {
    /// Starts a file standing for time `now_ms`: header and AUX fields.
    pub fn new(now_ms: u64) -> RdbEncoder {
        let mut w = RdbEncoder {
            crc: 0,
            buf: Vec::with_capacity(CHUNK_BYTES * 2),
            taken: 0,
            lzf: Lzf::new(),
            now_ms,
            db: None,
        };
        w.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        w.aux(b"redis-ver", REDIS_VERSION.as_bytes());
        w.aux(b"redis-bits", b"64");
        w.aux(b"ctime", (now_ms / 1000).to_string().as_bytes());
        w.aux(b"used-mem", b"0");
        w.aux(b"aof-base", b"0");
        w
    }

    /// Adds the function libraries (each one's whole source), as Redis writes them after
    /// the AUX fields and before the first database (`rdbSaveFunctions`).
    pub fn functions<'c>(&mut self, codes: impl IntoIterator<Item = &'c [u8]>) {
        self.drop_taken();
        for code in codes {
            put_function(&mut self.buf, code, &mut self.lzf);
        }
    }

    /// Starts the entries of database `index`: SELECTDB, and RESIZEDB with its key counts
    /// (a hint for the loader).
    pub fn select_db(&mut self, index: usize, keys: usize, volatile_keys: usize) {
        self.drop_taken();
        self.buf.push(opcode::SELECTDB);
        put_len(&mut self.buf, index as u64);
        self.buf.push(opcode::RESIZEDB);
        put_len(&mut self.buf, keys as u64);
        put_len(&mut self.buf, volatile_keys as u64);
        self.db = Some(index);
    }

    /// The database of the last [`RdbEncoder::select_db`].
    pub fn current_db(&self) -> Option<usize> {
        self.db
    }

    /// Adds one key of the current database, unless it expired at or before the file's
    /// time.
    pub fn entry(&mut self, key: &[u8], value: &Value, expire_at_ms: Option<u64>) {
        if expire_at_ms.is_some_and(|at| at <= self.now_ms) {
            return;
        }
        self.drop_taken();
        if let Some(at) = expire_at_ms {
            self.buf.push(opcode::EXPIRETIME_MS);
            self.buf.extend_from_slice(&at.to_le_bytes());
        }
        let type_at = self.buf.len();
        self.buf.push(TYPE_STRING);
        put_string(&mut self.buf, key, Some(&mut self.lzf));
        self.buf[type_at] = put_value(&mut self.buf, value, &mut self.lzf);
    }

    /// Bytes encoded and not yet taken.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.taken
    }

    /// The bytes encoded since the last call, to write out.
    pub fn take_chunk(&mut self) -> &[u8] {
        self.drop_taken();
        self.crc = crc64::update(self.crc, &self.buf);
        self.taken = self.buf.len();
        &self.buf
    }

    /// Ends the file: the bytes not taken yet, EOF and the checksum.
    pub fn finish(mut self) -> Vec<u8> {
        self.drop_taken();
        self.buf.push(opcode::EOF);
        let crc = crc64::update(self.crc, &self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }

    fn drop_taken(&mut self) {
        if self.taken > 0 {
            self.buf.clear();
            self.taken = 0;
        }
    }

    fn aux(&mut self, name: &[u8], value: &[u8]) {
        self.buf.push(opcode::AUX);
        put_string(&mut self.buf, name, None);
        put_string(&mut self.buf, value, None);
    }
}

/// One `RDB_OPCODE_FUNCTION2` record: the opcode and the library's source as an RDB
/// string (compressed as any string).
pub(crate) fn put_function(out: &mut Vec<u8>, code: &[u8], lzf: &mut Lzf) {
    out.push(opcode::FUNCTION2);
    put_string(out, code, Some(lzf));
}

/// Writes `value` and returns its type byte. One arm per value type: the data types add
/// theirs here.
/// The bytes `value` takes in an RDB file, type byte excluded (DEBUG OBJECT's
/// `serializedlength`).
pub(crate) fn value_len(value: &Value) -> usize {
    let mut out = Vec::new();
    put_value(&mut out, value, &mut Lzf::new());
    out.len()
}

/// The type byte and the serialised value, as DUMP puts them at the start of its payload.
pub(crate) fn type_and_value(value: &Value) -> Vec<u8> {
    let mut out = vec![0u8];
    out[0] = put_value(&mut out, value, &mut Lzf::new());
    out
}

fn put_value(out: &mut Vec<u8>, value: &Value, lzf: &mut Lzf) -> u8 {
    match value {
        Value::Str(s) => {
            put_string(out, s, Some(lzf));
            TYPE_STRING
        }
        Value::Hash(h) => {
            put_len(out, h.len() as u64);
            for (f, v) in h.iter() {
                put_string(out, f, Some(lzf));
                put_string(out, v, Some(lzf));
            }
            TYPE_HASH
        }
        Value::Set(set) => {
            put_len(out, set.len() as u64);
            for m in set.iter() {
                m.with_bytes(|b| put_string(out, b, Some(lzf)));
            }
            TYPE_SET
        }
        Value::ZSet(z) => {
            put_len(out, z.len() as u64);
            // Highest first, as Redis writes a skiplist (it loads fastest that way).
            if let Some(last) = z.len().checked_sub(1) {
                for (m, score) in z.iter(last, true) {
                    put_string(out, m, Some(lzf));
                    out.extend_from_slice(&score.to_le_bytes());
                }
            }
            TYPE_ZSET_2
        }
        Value::List(l) => {
            let nodes = super::types::list_nodes(l);
            put_len(out, nodes.len() as u64);
            for node in nodes {
                put_len(out, QUICKLIST_NODE_PACKED);
                put_string(out, &node, Some(lzf));
            }
            TYPE_LIST_QUICKLIST_2
        }
        Value::Stream(s) => {
            put_stream(out, s, lzf);
            TYPE_STREAM_LISTPACKS_2
        }
    }
}

/// A stream as Redis 7.0's `rdbSaveObject`: the nodes (16-byte big-endian master id, the
/// listpack), the length, last, first and max-deleted ids, entries added, then the
/// consumer groups.
fn put_stream(out: &mut Vec<u8>, s: &crate::db::Stream, lzf: &mut Lzf) {
    let nodes = s.listpacks();
    put_len(out, nodes.len() as u64);
    for (master, lp) in &nodes {
        put_string(out, &master.to_be_bytes(), Some(lzf));
        put_string(out, lp, Some(lzf));
    }
    put_len(out, s.len());
    for id in [s.last_id(), s.first_id(), s.max_deleted_id()] {
        put_len(out, id.ms);
        put_len(out, id.seq);
    }
    put_len(out, s.entries_added());
    put_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        put_string(out, name, Some(lzf));
        put_len(out, g.last_id.ms);
        put_len(out, g.last_id.seq);
        // Redis's SCG_INVALID_ENTRIES_READ (-1) as the unsigned length it writes.
        put_len(out, g.entries_read.unwrap_or(u64::MAX));
        put_len(out, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            put_len(out, nack.delivery_count);
        }
        put_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            put_string(out, cname, Some(lzf));
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            put_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
}

/// Writes a length in the shortest of its four forms.
pub(crate) fn put_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Writes a string: as an integer if it is the canonical text of one that fits in 32 bits,
/// else LZF-compressed if a compressor is given, it is over 20 bytes and that saves at
/// least 4 bytes, else raw.
pub(crate) fn put_string(out: &mut Vec<u8>, s: &[u8], lzf: Option<&mut Lzf>) {
    // 11 bytes hold any 32-bit integer's text, sign included.
    if s.len() <= 11 {
        if let Some(n) = parse_i64(s) {
            if let Ok(n) = i8::try_from(n) {
                out.extend_from_slice(&[0xc0, n as u8]);
                return;
            } else if let Ok(n) = i16::try_from(n) {
                out.push(0xc1);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            } else if let Ok(n) = i32::try_from(n) {
                out.push(0xc2);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            }
        }
    }
    if let Some(lzf) = lzf.filter(|_| s.len() > COMPRESS_MIN_BYTES) {
        lzf.scratch.clear();
        if lzf.compressor.compress(s, s.len() - 4, &mut lzf.scratch) {
            out.push(0xc3);
            put_len(out, lzf.scratch.len() as u64);
            put_len(out, s.len() as u64);
            out.extend_from_slice(&lzf.scratch);
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A compressor and its output buffer, reused from string to string.
pub(crate) struct Lzf {
    compressor: lzf::Compressor,
    scratch: Vec<u8>,
}

impl Lzf {
    pub(crate) fn new() -> Lzf {
        Lzf {
            compressor: lzf::Compressor::new(),
            scratch: Vec::new(),
        }
    }
}
