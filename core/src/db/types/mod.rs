//! The aggregate value types — hashes, lists, sets, sorted sets — and their encodings.
//!
//! Each type has a compact encoding for small values and a scalable one, switching at the
//! thresholds of [`TypeLimits`] as Redis 7.0 does, and reporting the same `OBJECT ENCODING`
//! names:
//!
//! | type | small | large |
//! |---|---|---|
//! | hash | `listpack`: one byte buffer of fields and values (`pack.rs`) | `hashtable` |
//! | list | `quicklist`: a deque of packed byte chunks (always, as in 7.0) | same |
//! | set | `intset`: sorted integers | `hashtable` |
//! | sorted set | `listpack`: one byte buffer of members and scores in order | `skiplist`: an indexable skip list plus a member table |
//! | stream | `stream`: a B-tree of packed entry nodes (`stream.rs`) | same |
//!
//! Like Redis, a value converts to its large encoding when it passes a threshold and never
//! converts back (except the results of the `*STORE` commands, built fresh).
//!
//! Hash tables hash with foldhash keyed by a per-server seed ([`set_hash_seed`]), and iterate
//! (HSCAN, SSCAN, ZSCAN) in the order of the elements' 64-bit hashes, the cursor being a
//! position in hash space (see `Table::scan`), as the keyspace's SCAN does.

pub mod hash;
pub mod list;
pub(crate) mod pack;
pub mod set;
pub mod stream;
pub mod zset;

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Rng;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use stream::{Stream, StreamId};
pub use zset::ZSet;

/// The encoding thresholds of the aggregate types, named after Redis 7.0's settings (with
/// `_` for `-`; 7.0 has no `set-max-listpack-*`). The store derives them from its
/// [`crate::db::Config`] ([`crate::Store::type_limits`]), so CONFIG GET and CONFIG SET
/// reach them; a change applies to values as they are next written, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeLimits {
    /// `hash-max-listpack-entries` (512 in Redis 7.0): most fields a `listpack` hash holds.
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value` (64): longest field or value in a `listpack` hash.
    pub hash_max_listpack_value: usize,
    /// `set-max-intset-entries` (512): most members an `intset` holds.
    pub set_max_intset_entries: usize,
    /// `zset-max-listpack-entries` (128): most members a `listpack` sorted set holds.
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value` (64): longest member in a `listpack` sorted set.
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size` (-2): the size of a list chunk — positive, a number of
    /// elements; -1 to -5, 4, 8, 16, 32 or 64 KiB.
    pub list_max_listpack_size: i64,
}

impl Default for TypeLimits {
    fn default() -> Self {
        TypeLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
        }
    }
}

impl TypeLimits {
    /// The most bytes and elements a list chunk holds, from `list-max-listpack-size`.
    pub(crate) fn list_chunk(&self) -> (usize, usize) {
        const SAFETY_BYTES: usize = 8 * 1024;
        match self.list_max_listpack_size {
            n if n >= 1 => (SAFETY_BYTES, n as usize),
            n => {
                let level = n.unsigned_abs().clamp(1, 5) as u32;
                (4096 << (level - 1), usize::MAX)
            }
        }
    }
}

impl crate::Store {
    /// The encoding thresholds in force, from the `*-max-listpack-*` and
    /// `set-max-intset-entries` settings of [`crate::Store::config`] (CONFIG SET changes
    /// them).
    pub fn type_limits(&self) -> TypeLimits {
        let c = self.config();
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        TypeLimits {
            hash_max_listpack_entries: n(c.hash_max_listpack_entries),
            hash_max_listpack_value: n(c.hash_max_listpack_value),
            set_max_intset_entries: n(c.set_max_intset_entries),
            zset_max_listpack_entries: n(c.zset_max_listpack_entries),
            zset_max_listpack_value: n(c.zset_max_listpack_value),
            list_max_listpack_size: c.list_max_listpack_size,
        }
    }
}

static HASH_SEED: AtomicU64 = AtomicU64::new(0x5eed_a99e_9a7e_0001);

/// Keys the hash function of aggregate hash tables created from now on (the store sets it
/// from [`crate::StoreConfig::hash_seed`]). Each table keeps the seed it was made with.
pub fn set_hash_seed(seed: u64) {
    HASH_SEED.store(seed ^ 0x5eed_a99e_9a7e_0001, Ordering::Relaxed);
}

fn next_hasher() -> foldhash::fast::FixedState {
    // Every table gets its own seed, so two tables never share a collision pattern.
    let seed = HASH_SEED.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    foldhash::fast::FixedState::with_seed(seed)
}

/// Something stored in a [`Table`] under a byte-string key.
pub(crate) trait Keyed {
    fn key(&self) -> &[u8];
}

impl Keyed for Box<[u8]> {
    fn key(&self) -> &[u8] {
        self
    }
}

impl Keyed for (Box<[u8]>, Box<[u8]>) {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// A hash table of elements keyed by byte strings: the `hashtable` encoding of hashes and
/// sets. Iteration for SCAN goes in hash order, through an index of hashes built by the
/// first scan (so tables never scanned pay nothing for it).
#[derive(Clone)]
pub(crate) struct Table<T> {
    table: hashbrown::HashTable<T>,
    hasher: foldhash::fast::FixedState,
    scan: Option<BTreeSet<u64>>,
}

impl<T> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({} elements)", self.table.len())
    }
}

impl<T: Keyed> Table<T> {
    pub fn with_capacity(n: usize) -> Self {
        Table {
            table: hashbrown::HashTable::with_capacity(n),
            hasher: next_hasher(),
            scan: None,
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.table.find(self.hash(key), |e| e.key() == key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        let hash = self.hash(key);
        self.table.find_mut(hash, |e| e.key() == key)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Inserts `item`, which must not be present (check with [`Table::get_mut`] first).
    pub fn insert_new(&mut self, item: T) {
        let hash = self.hash(item.key());
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, item, |e| hasher.hash_one(e.key()));
        if let Some(index) = &mut self.scan {
            index.insert(hash);
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        let hash = self.hash(key);
        let item = match self.table.find_entry(hash, |e| e.key() == key) {
            Ok(entry) => entry.remove().0,
            Err(_) => return None,
        };
        self.forget_hash(hash);
        Some(item)
    }

    /// Drops `hash` from the scan index unless another element shares it.
    fn forget_hash(&mut self, hash: u64) {
        if let Some(index) = &mut self.scan {
            let hasher = &self.hasher;
            if self
                .table
                .find(hash, |e| hasher.hash_one(e.key()) == hash)
                .is_none()
            {
                index.remove(&hash);
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.table.iter()
    }

    /// A uniformly chosen element (random slots until a full one, as Redis's
    /// `dictGetFairRandomKey` samples), or `None` if empty.
    pub fn random(&self, rng: &mut Rng) -> Option<&T> {
        let slot = self.random_slot(rng)?;
        self.table.get_bucket(slot)
    }

    fn random_slot(&self, rng: &mut Rng) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let n = self.table.num_buckets();
        (0..64)
            .map(|_| rng.below(n))
            .find(|&i| self.table.get_bucket(i).is_some())
            .or_else(|| {
                let start = rng.below(n);
                (0..n)
                    .map(|d| (start + d) % n)
                    .find(|&i| self.table.get_bucket(i).is_some())
            })
    }

    /// Removes and returns a random element.
    pub fn pop_random(&mut self, rng: &mut Rng) -> Option<T> {
        let slot = self.random_slot(rng)?;
        let entry = self.table.get_bucket_entry(slot).ok()?;
        let item = entry.remove().0;
        let hash = self.hash(item.key());
        self.forget_hash(hash);
        Some(item)
    }

    /// One step of a SCAN over the elements: calls `f` on the elements whose hash is among
    /// the next `count` distinct hashes at or after `cursor`, and returns the next cursor (0
    /// at the end). A full iteration returns each element present throughout exactly once.
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&T)) -> u64 {
        let hasher = &self.hasher;
        let table = &self.table;
        let index = self
            .scan
            .get_or_insert_with(|| table.iter().map(|e| hasher.hash_one(e.key())).collect());
        let mut next = 0;
        for (taken, &h) in index.range(cursor..).enumerate() {
            if taken == count.max(1) {
                next = h;
                break;
            }
            for e in table.iter_hash(h) {
                if hasher.hash_one(e.key()) == h {
                    f(e);
                }
            }
        }
        next
    }

    pub fn shrink_to_fit(&mut self) {
        let hasher = &self.hasher;
        self.table.shrink_to_fit(|e| hasher.hash_one(e.key()));
    }
}

/// The number of bytes of `n` in LEB128 (7 bits a byte).
pub(crate) fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Appends `n` in LEB128.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a LEB128 number at `buf[pos..]`: the number and the bytes it took.
#[inline]
pub(crate) fn get_varint(buf: &[u8], pos: usize) -> (usize, usize) {
    let first = buf[pos];
    if first < 0x80 {
        return (first as usize, 1);
    }
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b < 0x80 {
            return (n, i - pos);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for n in [0, 1, 127, 128, 300, 16383, 16384, 1 << 30, usize::MAX] {
            let mut buf = vec![9];
            put_varint(&mut buf, n);
            assert_eq!(buf.len() - 1, varint_len(n));
            assert_eq!(get_varint(&buf, 1), (n, varint_len(n)));
        }
    }

    #[test]
    fn values_stay_small() {
        // The keyspace holds millions of values: aggregates are boxed to keep strings cheap.
        assert!(std::mem::size_of::<crate::db::Value>() <= 24);
    }

    #[test]
    fn update_counts_only_changes_and_drops_emptied_aggregates() {
        use crate::db::{Db, Value};
        let limits = TypeLimits::default();
        let mut db = Db::new(1);
        let mut s = Set::for_member(b"a");
        s.add(b"a", &limits);
        db.insert(b"k", Value::Set(Box::new(s)), Some(100), 0);
        db.watch(b"k", 7, 0);
        let writes = db.writes();
        let r = db.update(b"k", 0, |v| match v {
            Value::Set(s) => (s.contains(b"zz"), false),
            _ => unreachable!(),
        });
        assert_eq!(r, Some(false));
        assert_eq!(db.writes(), writes, "reading is no write");
        assert!(!db.is_dirty(7));
        db.update(b"k", 0, |v| match v {
            Value::Set(s) => ((), s.remove(b"a")),
            _ => unreachable!(),
        });
        assert!(db.is_dirty(7) && db.writes() > writes);
        assert!(
            !db.contains_key(b"k", 0),
            "an emptied set goes with its key"
        );
        assert_eq!(db.volatile_len(), 0, "and with its expiry");
        assert_eq!(db.update(b"k", 0, |_| ((), true)), None);
    }

    #[test]
    fn list_chunk_sizes_follow_the_setting() {
        let mut l = TypeLimits::default();
        assert_eq!(l.list_chunk(), (8192, usize::MAX));
        l.list_max_listpack_size = -5;
        assert_eq!(l.list_chunk(), (65536, usize::MAX));
        l.list_max_listpack_size = 128;
        assert_eq!(l.list_chunk(), (8192, 128));
        l.list_max_listpack_size = 0;
        assert_eq!(l.list_chunk(), (4096, usize::MAX));
    }

    #[test]
    fn table_scan_sees_every_element_once_while_growing() {
        let mut t: Table<Box<[u8]>> = Table::with_capacity(0);
        for i in 0..300 {
            t.insert_new(format!("e{i}").into_bytes().into());
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut added = 0;
        loop {
            cursor = t.scan(cursor, 7, |e| seen.push(e.clone()));
            for _ in 0..3 {
                t.insert_new(format!("n{added}").into_bytes().into());
                added += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        let n = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n);
        for i in 0..300 {
            let key: Box<[u8]> = format!("e{i}").into_bytes().into();
            assert!(seen.contains(&key));
        }
        let mut rng = Rng::new(1);
        let before = t.len();
        assert!(t.pop_random(&mut rng).is_some());
        assert_eq!(t.len(), before - 1);
    }
}
