//! Reading RDB files: a pull parser ([`RdbReader`]) and two ways to drain it.

use super::{opcode, types, AuxField, RdbEntry, RdbError, MAX_READ_VERSION, TYPE_STRING};
use crate::db::{Consumer, Group, Nack, Stream, StreamId};
use crate::db::{Store, TypeLimits, Value};
use crate::persist::{crc64, lzf};

/// Largest string we accept, compressed or not: Redis's `proto-max-bulk-len`.
const MAX_STRING_BYTES: u64 = 512 * 1024 * 1024;
/// LZF turns at most 3 input bytes into 264 output bytes.
const MAX_LZF_RATIO: u64 = 88;

/// Reads one value of a given type and encoding.
type ValueReader<'a> = fn(&mut RdbReader<'a>) -> Result<Value, RdbError>;

/// Reads an RDB file one key at a time, without copying more than each key and value.
///
/// ```
/// use redish_core::persist::rdb::{self, RdbReader};
/// use redish_core::Store;
///
/// let mut store = Store::default();
/// store.db(2).insert(b"k", redish_core::db::Value::str(b"v"), None, 0);
/// let bytes = rdb::to_vec(&store, 1_700_000_000_000);
///
/// let mut reader = RdbReader::new(&bytes).unwrap();
/// let entry = reader.next_entry().unwrap().unwrap();
/// assert_eq!((entry.db, &*entry.key), (2, &b"k"[..]));
/// assert!(reader.next_entry().unwrap().is_none());
/// assert_eq!(reader.position(), bytes.len());
/// ```
#[derive(Debug)]
pub struct RdbReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    version: u32,
    db: usize,
    aux: Vec<AuxField>,
    /// The function libraries' sources (`RDB_OPCODE_FUNCTION2` records) read so far.
    functions: Vec<bytes::Bytes>,
    done: bool,
}

impl<'a> RdbReader<'a> {
    /// Checks the header (`REDIS` and a version we read) and positions after it.
    pub fn new(bytes: &'a [u8]) -> Result<RdbReader<'a>, RdbError> {
        let header = bytes.get(..9).ok_or(RdbError::NotRdb)?;
        if &header[..5] != b"REDIS" || !header[5..].iter().all(u8::is_ascii_digit) {
            return Err(RdbError::NotRdb);
        }
        let version = header[5..]
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        if !(1..=MAX_READ_VERSION).contains(&version) {
            return Err(RdbError::UnsupportedVersion { version });
        }
        Ok(RdbReader {
            bytes,
            pos: 9,
            version,
            db: 0,
            aux: Vec::new(),
            functions: Vec::new(),
            done: false,
        })
    }

    /// A reader over one serialised value with no file header (a DUMP payload's body).
    pub(super) fn for_value(bytes: &'a [u8], version: u32) -> RdbReader<'a> {
        RdbReader {
            bytes,
            pos: 0,
            version,
            db: 0,
            aux: Vec::new(),
            functions: Vec::new(),
            done: true,
        }
    }

    /// Reads a type byte and the value after it, as RESTORE does.
    pub(super) fn type_and_value(&mut self) -> Result<Value, RdbError> {
        let offset = self.pos;
        let type_byte = self.u8()?;
        let read_value =
            Self::value_reader(type_byte).ok_or(RdbError::UnsupportedType { type_byte, offset })?;
        read_value(self)
    }

    /// The RDB version the file declares.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bytes read so far; once [`RdbReader::next_entry`] has returned `Ok(None)`, the length
    /// of the RDB data (an AOF with an RDB preamble continues with commands from there).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The AUX fields (name, value) read so far: `redis-ver`, `ctime`, …
    pub fn aux(&self) -> &[AuxField] {
        &self.aux
    }

    /// The function libraries read so far: each library's whole source, as FUNCTION LOAD
    /// takes it. Redis writes them before the first database.
    pub fn functions(&self) -> &[bytes::Bytes] {
        &self.functions
    }

    /// Reads one type byte (FUNCTION RESTORE's record opcodes).
    pub(super) fn string_type(&mut self) -> Result<u8, RdbError> {
        self.u8()
    }

    /// Reads one RDB string (FUNCTION RESTORE's library sources).
    pub(super) fn string_bytes(&mut self) -> Result<Vec<u8>, RdbError> {
        self.string()
    }

    /// The next key, expired or not; `Ok(None)` after the EOF opcode and a matching
    /// checksum (a zero checksum is not checked, as Redis does when `rdbchecksum` was off).
    /// After an error the reader is unusable.
    pub fn next_entry(&mut self) -> Result<Option<RdbEntry>, RdbError> {
        if self.done {
            return Ok(None);
        }
        let mut expire_at_ms: Option<u64> = None;
        let (mut idle_s, mut freq) = (None, None);
        loop {
            let offset = self.pos;
            let op = self.u8()?;
            match op {
                opcode::EOF => {
                    self.check_checksum()?;
                    self.done = true;
                    return Ok(None);
                }
                opcode::SELECTDB => {
                    let db = self.len()?;
                    self.db = usize::try_from(db).map_err(|_| RdbError::DbOutOfRange {
                        db,
                        offset,
                        databases: 0,
                    })?;
                }
                opcode::RESIZEDB => {
                    // Size hints only: never trusted for allocation.
                    self.len()?;
                    self.len()?;
                }
                opcode::AUX => {
                    let name = self.string()?;
                    let value = self.string()?;
                    self.aux.push((name.into(), value.into()));
                }
                opcode::EXPIRETIME => {
                    let secs = i32::from_le_bytes(self.array()?);
                    expire_at_ms = Some(u64::try_from(secs).unwrap_or(0) * 1000);
                }
                opcode::EXPIRETIME_MS => {
                    let ms = i64::from_le_bytes(self.array()?);
                    expire_at_ms = Some(u64::try_from(ms).unwrap_or(0));
                }
                opcode::IDLE => idle_s = Some(self.len()?),
                opcode::FREQ => freq = Some(self.u8()?),
                opcode::FUNCTION2 => {
                    let code = self.string()?;
                    self.functions.push(code.into());
                }
                opcode::FUNCTION_PRE_GA => {
                    return Err(RdbError::Unsupported {
                        what: "function library in the format before Redis 7.0 GA",
                        offset,
                    })
                }
                opcode::MODULE_AUX => {
                    return Err(RdbError::Unsupported {
                        what: "module auxiliary data (modules are not supported)",
                        offset,
                    })
                }
                type_byte => {
                    let read_value = Self::value_reader(type_byte)
                        .ok_or(RdbError::UnsupportedType { type_byte, offset })?;
                    let key = self.string()?;
                    let value = read_value(self)?;
                    return Ok(Some(RdbEntry {
                        db: self.db,
                        key: key.into(),
                        value,
                        expire_at_ms,
                        idle_s,
                        freq,
                        offset,
                    }));
                }
            }
        }
    }

    /// The function that reads a value of type `type_byte`, if we hold that type. One arm
    /// per type and encoding: the data types add theirs here.
    fn value_reader(type_byte: u8) -> Option<ValueReader<'a>> {
        match type_byte {
            TYPE_STRING => Some(Self::string_value),
            1 => Some(Self::list_value),
            2 => Some(Self::set_value),
            3 => Some(|r| r.zset_value(false)),
            4 => Some(Self::hash_value),
            5 => Some(|r| r.zset_value(true)),
            10 => Some(|r| r.compact_value(Compact::List, types::ziplist)),
            11 => Some(Self::intset_value),
            12 => Some(|r| r.compact_value(Compact::ZSet, types::ziplist)),
            13 => Some(|r| r.compact_value(Compact::Hash, types::ziplist)),
            14 => Some(|r| r.quicklist_value(false)),
            16 => Some(|r| r.compact_value(Compact::Hash, types::listpack)),
            17 => Some(|r| r.compact_value(Compact::ZSet, types::listpack)),
            18 => Some(|r| r.quicklist_value(true)),
            15 => Some(|r| r.stream_value(1)),
            19 => Some(|r| r.stream_value(2)),
            20 => Some(|r| r.compact_value(Compact::Set, types::listpack)),
            21 => Some(|r| r.stream_value(3)),
            _ => None,
        }
    }

    fn corrupt(what: &'static str, offset: usize) -> RdbError {
        RdbError::Corrupt { what, offset }
    }

    /// A count of elements still to read, each at least one byte of the input.
    fn count(&mut self) -> Result<usize, RdbError> {
        let remaining = (self.bytes.len() - self.pos) as u64;
        self.byte_len(remaining)
    }

    /// Type 1: a length and the elements as strings.
    fn list_value(&mut self) -> Result<Value, RdbError> {
        let offset = self.pos;
        let n = self.count()?;
        let mut elems = Vec::new();
        for _ in 0..n {
            elems.push(self.string()?);
        }
        types::list_of(elems, &TypeLimits::default())
            .map(|l| Value::List(Box::new(l)))
            .ok_or_else(|| Self::corrupt("list", offset))
    }

    /// Type 2: a length and the members.
    fn set_value(&mut self) -> Result<Value, RdbError> {
        let offset = self.pos;
        let n = self.count()?;
        let mut members = Vec::new();
        for _ in 0..n {
            members.push(self.string()?);
        }
        types::set_of(members, &TypeLimits::default())
            .map(|s| Value::Set(Box::new(s)))
            .ok_or_else(|| Self::corrupt("set", offset))
    }

    /// Type 4: a length and field/value pairs.
    fn hash_value(&mut self) -> Result<Value, RdbError> {
        let offset = self.pos;
        let n = self.count()?;
        let mut elems = Vec::new();
        for _ in 0..n {
            elems.push(self.string()?);
            elems.push(self.string()?);
        }
        types::hash_of(elems, &TypeLimits::default())
            .map(|h| Value::Hash(Box::new(h)))
            .ok_or_else(|| Self::corrupt("hash", offset))
    }

    /// Types 3 (scores as length-prefixed text) and 5 (binary doubles).
    fn zset_value(&mut self, binary: bool) -> Result<Value, RdbError> {
        let offset = self.pos;
        let n = self.count()?;
        let mut pairs = Vec::new();
        for _ in 0..n {
            let member = self.string()?;
            let score = if binary {
                f64::from_le_bytes(self.array()?)
            } else {
                let at = self.pos;
                match self.u8()? {
                    253 => f64::NAN,
                    254 => f64::INFINITY,
                    255 => f64::NEG_INFINITY,
                    len => {
                        let text = self.take(usize::from(len))?;
                        types::parse_score_text(text).ok_or_else(|| Self::corrupt("score", at))?
                    }
                }
            };
            pairs.push((member, score));
        }
        types::zset_of(pairs, &TypeLimits::default())
            .map(|z| Value::ZSet(Box::new(z)))
            .ok_or_else(|| Self::corrupt("sorted set", offset))
    }

    /// Type 11: an intset blob.
    fn intset_value(&mut self) -> Result<Value, RdbError> {
        let offset = self.pos;
        let blob = self.string()?;
        let members = types::intset(&blob).ok_or_else(|| Self::corrupt("intset", offset))?;
        let members = members.into_iter().map(itoa).collect();
        types::set_of(members, &TypeLimits::default())
            .map(|s| Value::Set(Box::new(s)))
            .ok_or_else(|| Self::corrupt("intset", offset))
    }

    /// A listpack or ziplist blob holding a whole list, set, hash or sorted set.
    fn compact_value(
        &mut self,
        kind: Compact,
        parse: fn(&[u8]) -> Option<Vec<types::Elem>>,
    ) -> Result<Value, RdbError> {
        let offset = self.pos;
        let blob = self.string()?;
        let bad = || Self::corrupt(kind.name(), offset);
        let elems = parse(&blob).ok_or_else(bad)?;
        let limits = TypeLimits::default();
        let value = match kind {
            Compact::List => {
                let elems = elems.into_iter().map(types::Elem::into_bytes).collect();
                types::list_of(elems, &limits).map(|l| Value::List(Box::new(l)))
            }
            Compact::Set => {
                let elems = elems.into_iter().map(types::Elem::into_bytes).collect();
                types::set_of(elems, &limits).map(|s| Value::Set(Box::new(s)))
            }
            Compact::Hash => {
                let elems = elems.into_iter().map(types::Elem::into_bytes).collect();
                types::hash_of(elems, &limits).map(|h| Value::Hash(Box::new(h)))
            }
            Compact::ZSet => {
                if elems.len() % 2 != 0 {
                    return Err(bad());
                }
                let mut pairs = Vec::with_capacity(elems.len() / 2);
                let mut it = elems.into_iter();
                while let (Some(m), Some(s)) = (it.next(), it.next()) {
                    let score = s.score().ok_or_else(bad)?;
                    pairs.push((m.into_bytes(), score));
                }
                types::zset_of(pairs, &limits).map(|z| Value::ZSet(Box::new(z)))
            }
        };
        value.ok_or_else(bad)
    }

    /// Types 14 (nodes are ziplists) and 18 (nodes are listpacks, or plain elements).
    fn quicklist_value(&mut self, v2: bool) -> Result<Value, RdbError> {
        let offset = self.pos;
        let nodes = self.count()?;
        let mut elems = Vec::new();
        for _ in 0..nodes {
            let container = if v2 { self.len()? } else { 2 };
            let at = self.pos;
            let blob = self.string()?;
            match container {
                // A plain node: one element, as is.
                1 => elems.push(blob),
                2 => {
                    let parsed = if v2 {
                        types::listpack(&blob)
                    } else {
                        types::ziplist(&blob)
                    };
                    let parsed = parsed
                        .filter(|p| !p.is_empty())
                        .ok_or_else(|| Self::corrupt("quicklist node", at))?;
                    elems.extend(parsed.into_iter().map(types::Elem::into_bytes));
                }
                _ => return Err(Self::corrupt("quicklist node container", at)),
            }
        }
        types::list_of(elems, &TypeLimits::default())
            .map(|l| Value::List(Box::new(l)))
            .ok_or_else(|| Self::corrupt("quicklist", offset))
    }

    fn stream_id(&mut self) -> Result<StreamId, RdbError> {
        Ok(StreamId::new(self.len()?, self.len()?))
    }

    /// Types 15, 19 and 21 (`version` 1, 2, 3), as Redis 7.0's `rdbLoadObject` (7.2's
    /// type 21 adds each consumer's active time, which we do not keep): the nodes
    /// (16-byte master id, listpack), length and ids, then the consumer groups with their
    /// PELs and consumers, every consumer's pending id found in its group's PEL.
    fn stream_value(&mut self, version: u8) -> Result<Value, RdbError> {
        let bad = |what: &'static str, at: usize| Self::corrupt(what, at);
        let mut s = Stream::new();
        let nodes = self.count()?;
        for _ in 0..nodes {
            let at = self.pos;
            let key = self.string()?;
            let key: [u8; 16] = key.try_into().map_err(|_| bad("stream node key", at))?;
            let at = self.pos;
            let lp = self.string()?;
            let elems = types::listpack(&lp).ok_or_else(|| bad("stream listpack", at))?;
            let elems: Vec<Vec<u8>> = elems.into_iter().map(types::Elem::into_bytes).collect();
            s.load_node(StreamId::from_be_bytes(key), &elems)
                .ok_or_else(|| bad("stream node", at))?;
        }
        let at = self.pos;
        let len = self.len()?;
        let last = self.stream_id()?;
        let (first, max_deleted, added) = if version >= 2 {
            (
                Some(self.stream_id()?),
                self.stream_id()?,
                Some(self.len()?),
            )
        } else {
            (None, StreamId::MIN, None)
        };
        s.set_loaded(len, last, first, max_deleted, added)
            .ok_or_else(|| bad("stream length or ids", at))?;
        let groups = self.count()?;
        for _ in 0..groups {
            let at = self.pos;
            let name = self.string()?;
            let last_id = self.stream_id()?;
            let entries_read = if version >= 2 {
                match self.len()? {
                    u64::MAX => None,
                    n => Some(n),
                }
            } else {
                s.estimate_entries_read(last_id)
            };
            let mut g = Group {
                last_id,
                entries_read,
                ..Default::default()
            };
            let pel = self.count()?;
            for _ in 0..pel {
                let id = StreamId::from_be_bytes(self.array()?);
                let delivery_time = u64::from_le_bytes(self.array()?);
                let delivery_count = self.len()?;
                g.pel.insert(
                    id,
                    Nack {
                        delivery_time,
                        delivery_count,
                        consumer: Box::default(),
                    },
                );
            }
            let mut assigned = std::collections::BTreeSet::new();
            let consumers = self.count()?;
            for _ in 0..consumers {
                let cname = self.string()?;
                let seen_time = u64::from_le_bytes(self.array()?);
                if version >= 3 {
                    let _active_time: [u8; 8] = self.array()?;
                }
                let mut c = Consumer {
                    seen_time,
                    pel: Default::default(),
                };
                let n = self.count()?;
                for _ in 0..n {
                    let id_at = self.pos;
                    let id = StreamId::from_be_bytes(self.array()?);
                    let nack = g
                        .pel
                        .get_mut(&id)
                        .ok_or_else(|| bad("consumer PEL entry not in the group PEL", id_at))?;
                    if !assigned.insert(id) {
                        return Err(bad("stream PEL entry of two consumers", id_at));
                    }
                    nack.consumer = cname.clone().into_boxed_slice();
                    c.pel.insert(id);
                }
                if g.consumers.insert(cname.into_boxed_slice(), c).is_some() {
                    return Err(bad("duplicate stream consumer", at));
                }
            }
            if assigned.len() != g.pel.len() {
                return Err(bad("group PEL entry without a consumer", at));
            }
            if s.groups.insert(name.into_boxed_slice(), g).is_some() {
                return Err(bad("duplicate stream group", at));
            }
        }
        Ok(Value::Stream(Box::new(s)))
    }

    fn string_value(&mut self) -> Result<Value, RdbError> {
        Ok(Value::Str(self.string()?.into()))
    }

    fn check_checksum(&mut self) -> Result<(), RdbError> {
        // Version 5 added the checksum.
        if self.version < 5 {
            return Ok(());
        }
        let offset = self.pos;
        let actual = crc64::update(0, &self.bytes[..offset]);
        let expected = u64::from_le_bytes(self.array()?);
        if expected != 0 && expected != actual {
            return Err(RdbError::BadChecksum {
                offset,
                expected,
                actual,
            });
        }
        Ok(())
    }

    fn eof(&self) -> RdbError {
        RdbError::UnexpectedEof {
            offset: self.bytes.len(),
        }
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| self.eof())?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let bytes: &'a [u8] = self.bytes;
        let end = self.pos.checked_add(n).ok_or_else(|| self.eof())?;
        let s = bytes.get(self.pos..end).ok_or_else(|| self.eof())?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    /// A length, or for strings a special encoding: `Err(encoding)` inside `Ok`.
    fn len_or_encoding(&mut self) -> Result<Result<u64, u8>, RdbError> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Ok(u64::from(first & 0x3f)),
            1 => Ok(u64::from(first & 0x3f) << 8 | u64::from(self.u8()?)),
            2 => match first {
                0x80 => Ok(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => Ok(u64::from_be_bytes(self.array()?)),
                _ => {
                    return Err(RdbError::BadLength {
                        len: u64::from(first),
                        offset: self.pos - 1,
                    })
                }
            },
            _ => Err(first & 0x3f),
        })
    }

    /// A plain length (no special encoding allowed).
    fn len(&mut self) -> Result<u64, RdbError> {
        let offset = self.pos;
        match self.len_or_encoding()? {
            Ok(len) => Ok(len),
            Err(encoding) => Err(RdbError::BadStringEncoding { encoding, offset }),
        }
    }

    /// A length that counts bytes still to come in this input.
    fn byte_len(&mut self, max: u64) -> Result<usize, RdbError> {
        let offset = self.pos;
        let len = self.len()?;
        if len > max {
            return Err(RdbError::BadLength { len, offset });
        }
        Ok(len as usize)
    }

    /// A string in any of its encodings.
    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let offset = self.pos;
        match self.len_or_encoding()? {
            Ok(len) => {
                if len > MAX_STRING_BYTES || len > (self.bytes.len() - self.pos) as u64 {
                    return Err(RdbError::BadLength { len, offset });
                }
                Ok(self.take(len as usize)?.to_vec())
            }
            Err(0) => Ok(itoa(i64::from(self.u8()? as i8))),
            Err(1) => Ok(itoa(i64::from(i16::from_le_bytes(self.array()?)))),
            Err(2) => Ok(itoa(i64::from(i32::from_le_bytes(self.array()?)))),
            Err(3) => {
                let remaining = (self.bytes.len() - self.pos) as u64;
                let clen = self.byte_len(remaining)?;
                let len_offset = self.pos;
                let ulen = self.len()?;
                if ulen > MAX_STRING_BYTES || ulen > (clen as u64).saturating_mul(MAX_LZF_RATIO) {
                    return Err(RdbError::BadLength {
                        len: ulen,
                        offset: len_offset,
                    });
                }
                let compressed = self.take(clen)?;
                lzf::decompress(compressed, ulen as usize)
                    .map_err(|_| RdbError::BadCompressedString { offset })
            }
            Err(encoding) => Err(RdbError::BadStringEncoding { encoding, offset }),
        }
    }
}

/// What a compact blob holds.
#[derive(Clone, Copy)]
enum Compact {
    List,
    Set,
    Hash,
    ZSet,
}

impl Compact {
    fn name(self) -> &'static str {
        match self {
            Compact::List => "list",
            Compact::Set => "set",
            Compact::Hash => "hash",
            Compact::ZSet => "sorted set",
        }
    }
}

fn itoa(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// Everything an RDB file holds that we keep, from [`load`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RdbLoad {
    /// The keys still alive at load time, in file order.
    pub entries: Vec<RdbEntry>,
    /// The AUX fields (name, value).
    pub aux: Vec<AuxField>,
    /// The function libraries' sources.
    pub functions: Vec<bytes::Bytes>,
    /// Keys skipped because they had expired.
    pub expired: usize,
    /// Length of the RDB data, EOF opcode and checksum included.
    pub len: usize,
}

/// Reads a whole RDB file into memory, skipping keys whose expiry is at or before `now_ms`
/// (as a Redis master does on load).
pub fn load(bytes: &[u8], now_ms: u64) -> Result<RdbLoad, RdbError> {
    let mut reader = RdbReader::new(bytes)?;
    let mut load = RdbLoad::default();
    while let Some(entry) = reader.next_entry()? {
        if entry.expire_at_ms.is_some_and(|at| at <= now_ms) {
            load.expired += 1;
        } else {
            load.entries.push(entry);
        }
    }
    load.aux = reader.aux;
    load.functions = reader.functions;
    load.len = reader.pos;
    Ok(load)
}

/// Loads library sources read from an RDB file into `store`'s engine, with no time limit
/// and replacing a library of the same name (as Redis loads them at start-up, where the
/// store is empty anyway).
pub fn load_functions(store: &mut Store, codes: Vec<bytes::Bytes>) -> Result<(), RdbError> {
    if codes.is_empty() {
        return Ok(());
    }
    let Some((engine, functions)) = store.scripts.functions_mut() else {
        return Err(RdbError::Function {
            message: "no script engine to load function libraries with".into(),
        });
    };
    for code in codes {
        functions
            .load(engine, code, true, false)
            .map_err(|message| RdbError::Function { message })?;
    }
    Ok(())
}

/// What [`load_into`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RdbSummary {
    /// Keys inserted.
    pub loaded: usize,
    /// Keys skipped because they had expired.
    pub expired: usize,
    /// Length of the RDB data, EOF opcode and checksum included.
    pub len: usize,
}

/// Reads an RDB file into `store`, key by key, skipping keys whose expiry is at or before
/// `now_ms`, and keeps the counts for INFO (`rdb_last_load_keys_loaded` and `_expired`).
/// Meant for an empty store at start-up: on error the store holds the keys read before it,
/// so discard it (Redis refuses to start).
pub fn load_into(store: &mut Store, bytes: &[u8], now_ms: u64) -> Result<RdbSummary, RdbError> {
    // IDLE and FREQ are read as the policy in force says.
    store.sync_access_policy();
    let mut reader = RdbReader::new(bytes)?;
    let mut summary = RdbSummary::default();
    while let Some(entry) = reader.next_entry()? {
        if entry.db >= store.databases() {
            return Err(RdbError::DbOutOfRange {
                db: entry.db as u64,
                offset: entry.offset,
                databases: store.databases(),
            });
        }
        if entry.expire_at_ms.is_some_and(|at| at <= now_ms) {
            summary.expired += 1;
            continue;
        }
        let db = store.db(entry.db);
        if db.contains_key(&entry.key, now_ms) {
            return Err(RdbError::DuplicateKey {
                db: entry.db,
                offset: entry.offset,
            });
        }
        db.insert(&entry.key, entry.value, entry.expire_at_ms, now_ms);
        db.set_lru_or_lfu(&entry.key, entry.freq, entry.idle_s, now_ms);
        summary.loaded += 1;
    }
    load_functions(store, std::mem::take(&mut reader.functions))?;
    summary.len = reader.pos;
    let p = store.persistence_mut();
    p.rdb_last_load_keys_loaded = summary.loaded as u64;
    p.rdb_last_load_keys_expired = summary.expired as u64;
    Ok(summary)
}
