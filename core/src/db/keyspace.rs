//! One logical database: keys to values, with optional expiry times.
//!
//! Besides the table, a database keeps what lets others observe its changes:
//!
//! - **WATCH.** Every change to a key — a command's write, a lazy or active expiry, a flush —
//!   passes through one private choke point ([`Db`]'s `modified` / `expired`), which marks the
//!   clients watching that key as dirty. The table is private, so no command can change a key
//!   without going through it. With no key watched, the cost is one branch.
//! - **SCAN.** Cursors walk the keys in the order of their 64-bit hash, kept in an ordered
//!   index built on the first SCAN (see [`Db::scan`]).
//! - **Effects.** With the store's effects log on, keys removed because their time passed are
//!   recorded so the log can replay them as `DEL` (see [`crate::db::Effect`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::num::NonZeroU64;

use bytes::Bytes;

use super::notify::{DbEvent, KeyEvents};
use super::small_bytes::SmallBytes;
use super::snapshot::{CopiedEntry, DbSnapshot};
use super::types::{Hash, List, Set, Stream, ZSet};
use super::{ClientId, Rng};

type Hasher = foldhash::fast::FixedState;

/// A value stored under a key.
///
/// Aggregates are boxed so a `Value` stays 24 bytes: the keyspace holds millions of strings.
/// An aggregate is never stored empty: [`Db::update`] removes a key whose aggregate it
/// emptied, as Redis deletes empty hashes, lists, sets and sorted sets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// A binary-safe string. A boxed slice (16 bytes) rather than `Bytes` (32): the keyspace
    /// holds millions of these, and replies copy small strings anyway.
    Str(Box<[u8]>),
    /// A hash.
    Hash(Box<Hash>),
    /// A list.
    List(Box<List>),
    /// A set.
    Set(Box<Set>),
    /// A sorted set.
    ZSet(Box<ZSet>),
    /// A stream.
    Stream(Box<Stream>),
}

impl Value {
    /// A string value, copying `bytes`.
    pub fn str(bytes: &[u8]) -> Value {
        Value::Str(bytes.into())
    }

    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING replies with, as Redis 7.0 reports it. Strings are judged by
    /// their content: `int` (a canonical integer of at most 20 bytes), `embstr` (at most 44
    /// bytes) or `raw` — Redis also reports `raw` for short strings built by APPEND or
    /// SETRANGE, which we do not track.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) if s.len() <= 20 && crate::num::parse_i64(s).is_some() => "int",
            Value::Str(s) if s.len() <= 44 => "embstr",
            Value::Str(_) => "raw",
            Value::Hash(h) => h.encoding_name(),
            Value::List(l) => l.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
            Value::Stream(_) => "stream",
        }
    }

    /// True for an aggregate with no elements, which must not stay in the keyspace.
    fn is_empty_aggregate(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            // A stream stays when its last entry goes, as in Redis.
            Value::Stream(_) => false,
        }
    }

    /// True for the types a blocked client waits for (lists, sorted sets, streams).
    fn wakes_blocked(&self) -> bool {
        matches!(self, Value::List(_) | Value::ZSet(_) | Value::Stream(_))
    }
}

/// One key. Boxed, so the table holds 8-byte pointers: with millions of keys, a table of
/// inline entries would waste its empty slots' worth of entry size (hash tables run up to
/// half empty after growing).
#[derive(Debug)]
struct Entry {
    key: Key,
    value: Value,
    /// Absolute expiry in Unix milliseconds. Always mirrored in `Db::expiries`. Non-zero
    /// (an expiry at 0 is stored as 1: both are long past), so the option takes 8 bytes and
    /// the entry stays 64 with `lru` beside it.
    expire: Option<NonZeroU64>,
    /// Redis's 24-bit `lru` field: under an LRU (or no) policy the LRU clock of the last
    /// access, in seconds; under an LFU policy the minutes of the last decrement (16 bits)
    /// and the logarithmic access counter (8 bits). See `db/evict.rs`.
    lru: u32,
}

impl Entry {
    fn expire_at_ms(&self) -> Option<u64> {
        self.expire.map(NonZeroU64::get)
    }

    fn set_expire(&mut self, at: Option<u64>) {
        self.expire = nonzero(at);
    }
}

fn nonzero(at: Option<u64>) -> Option<NonZeroU64> {
    at.map(|at| NonZeroU64::new(at.max(1)).expect("at least 1"))
}

/// A key's bytes: inline when short (see [`SmallBytes`]).
type Key = SmallBytes;

/// The WATCH registry of one database.
#[derive(Debug, Default)]
struct Watches {
    /// Watched key → the clients watching it.
    keys: HashMap<Box<[u8]>, Vec<ClientId>>,
    /// Clients one of whose watched keys in this database changed since they watched it
    /// (Redis's `CLIENT_DIRTY_CAS`).
    dirty: HashSet<ClientId>,
}

/// One database (Redis has 16, chosen by SELECT).
///
/// Expired keys vanish in two ways, as in Redis: lazily, when an access finds them past their
/// time, and actively, when the adapter calls [`Db::handle_timeout`] at
/// [`Db::poll_timeout`]. Every accessor therefore takes `now_ms` and `&mut self`.
///
/// Expiry times are kept in an ordered index beside the table, so the active step visits
/// exactly the keys that are due, in order, and the next deadline is known without sampling.
///
/// Every change to a key counts as a modification for the clients that WATCH it, including
/// its expiry (as in Redis 7.0); [`Db::get_mut`] counts as a change, so read with [`Db::get`].
#[derive(Debug)]
pub struct Db {
    table: hashbrown::HashTable<Box<Entry>>,
    hasher: Hasher,
    expiries: BTreeSet<(u64, Box<[u8]>)>,
    expired_count: u64,
    watches: Watches,
    /// The hash of every key, in order: SCAN's cursor space. Built by the first SCAN and kept
    /// from then on, so databases never scanned pay nothing for it.
    scan_index: Option<BTreeSet<u64>>,
    /// What the keyspace did on its own (expired, created, missed a key) since the store
    /// last drained it, for the effects log and notifications; empty and free when no one
    /// asks (see `db/notify.rs`).
    events: KeyEvents,
    writes: u64,
    /// Lookups by [`Db::get`] that found a live key / found none (INFO keyspace_hits/misses).
    hits: u64,
    misses: u64,
    /// Keys some client blocks on (BLPOP…) → how many clients, and the keys given a list or
    /// sorted set since the store last served them (see [`Db::take_ready_keys`]).
    blocking: Blocking,
    /// The point-in-time view a running snapshot (BGSAVE, BGREWRITEAOF) keeps of this
    /// database; `None` (and free) otherwise. See `db/snapshot.rs`.
    snapshot: Option<Box<DbSnapshot>>,
    /// CLIENT PAUSE lasts: keys past their time read as gone but stay (`db/pause.rs`).
    expiry_paused: bool,
    /// How an access updates a key's `lru` field (LRU clock or LFU counter), as the
    /// `maxmemory-policy` and `lfu-*` settings say (see `db/evict.rs`).
    pub(crate) access: super::evict::AccessPolicy,
    /// The LFU counter's coin flips (Redis's `rand()` in `LFULogIncr`).
    lfu_rng: Rng,
}

#[derive(Debug, Default)]
struct Blocking {
    awaited: HashMap<Box<[u8]>, usize>,
    ready: Vec<Box<[u8]>>,
}

impl Default for Db {
    fn default() -> Self {
        Db::new(0)
    }
}

impl Db {
    /// An empty database whose hash function is keyed by `seed`. Give each server a random
    /// seed so clients cannot choose keys that collide.
    pub fn new(seed: u64) -> Db {
        Db {
            table: hashbrown::HashTable::new(),
            hasher: Hasher::with_seed(seed),
            expiries: BTreeSet::new(),
            expired_count: 0,
            watches: Watches::default(),
            scan_index: None,
            events: KeyEvents::default(),
            writes: 0,
            hits: 0,
            misses: 0,
            blocking: Blocking::default(),
            snapshot: None,
            expiry_paused: false,
            access: Default::default(),
            lfu_rng: Rng::new(seed ^ 0x1f0c_0de5_a3e5_0b17),
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn find(&self, key: &[u8]) -> Option<&Entry> {
        self.table
            .find(self.hash(key), |e| *e.key == *key)
            .map(|e| &**e)
    }

    /// The entry of `key`, to change: a running snapshot copies it first.
    fn find_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let hash = self.hash(key);
        self.before_change(hash, key);
        self.table
            .find_mut(hash, |e| *e.key == *key)
            .map(|e| &mut **e)
    }

    /// Takes `key` out of the table and the scan index (not the expiry index).
    fn take(&mut self, key: &[u8]) -> Option<Box<Entry>> {
        let hash = self.hash(key);
        self.before_change(hash, key);
        let entry = match self.table.find_entry(hash, |e| *e.key == *key) {
            Ok(occupied) => occupied.remove().0,
            Err(_) => return None,
        };
        self.signal_changed(key);
        if let Some(index) = &mut self.scan_index {
            // Two keys may share a 64-bit hash: the hash leaves the index with the last one.
            let hasher = &self.hasher;
            if self
                .table
                .find(hash, |e| hasher.hash_one(&*e.key) == hash)
                .is_none()
            {
                index.remove(&hash);
            }
        }
        Some(entry)
    }

    /// The choke point of every write by a command: marks the clients watching `key` dirty
    /// and counts the write.
    #[inline]
    fn modified(&mut self, key: &[u8]) {
        self.writes += 1;
        self.touch_watchers(key);
    }

    /// Marks a key blocked clients wait on ready when its value goes — deleted, overwritten,
    /// expired, flushed — so a reader blocked on a stream that went away learns it (Redis 7.0.15's
    /// `signalDeletedKeyAsReady`); the server decides per waiter what the key now holds.
    #[inline]
    fn signal_changed(&mut self, key: &[u8]) {
        if !self.blocking.awaited.is_empty() {
            let b = &self.blocking;
            if b.awaited.contains_key(key) && !b.ready.iter().any(|k| **k == *key) {
                self.blocking.ready.push(key.into());
            }
        }
    }

    /// What Redis's `signalModifiedKey` does: dirties the key's watchers, and queues the
    /// change for client-side caching while some client tracks.
    #[inline]
    fn touch_watchers(&mut self, key: &[u8]) {
        if self.events.mask & DbEvent::Modified.bit() != 0 {
            self.events.queue.push((DbEvent::Modified, key.into()));
        }
        self.touch_watchers_only(key);
    }

    /// Dirties the clients watching `key`.
    #[inline]
    fn touch_watchers_only(&mut self, key: &[u8]) {
        let w = &mut self.watches;
        if w.keys.is_empty() {
            return;
        }
        if let Some(clients) = w.keys.get(key) {
            w.dirty.extend(clients.iter().copied());
        }
    }

    /// The choke point of every removal by expiry, lazy or active: the key's watchers see a
    /// change, and the effects log (if on) a `DEL`.
    fn expired(&mut self, key: Box<[u8]>) {
        self.expired_count += 1;
        self.signal_changed(&key);
        // Redis notifies `expired` before it signals the change.
        let modified = self.events.wants(DbEvent::Modified).then(|| key.clone());
        self.touch_watchers_only(&key);
        if self.events.wants(DbEvent::Expired) {
            self.events.queue.push((DbEvent::Expired, key));
        }
        if let Some(key) = modified {
            self.events.queue.push((DbEvent::Modified, key));
        }
    }

    /// Number of keys, counting expired ones not yet collected (as Redis's DBSIZE does).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True if the database holds no keys.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Bytes of the table's own structures: its bucket array (an 8-byte pointer and a
    /// control byte per bucket) and one boxed entry per key (INFO `used_memory_overhead`).
    pub(crate) fn overhead_bytes(&self) -> u64 {
        let buckets = self.table.capacity() as u64 * 9;
        buckets + self.table.len() as u64 * std::mem::size_of::<Entry>() as u64
    }

    /// Number of keys with an expiry time.
    pub fn volatile_len(&self) -> usize {
        self.expiries.len()
    }

    /// Keys removed because their time passed, since this database was made.
    pub fn expired_count(&self) -> u64 {
        self.expired_count
    }

    /// Counts a change that is not to a key (FUNCTION LOAD and its kin, which Redis counts
    /// in `server.dirty`): it is logged and counts toward the save points.
    pub(crate) fn count_write(&mut self) {
        self.writes += 1;
    }

    /// Writes by commands since this database was made (expiries excluded), like Redis's
    /// `server.dirty`: a command that leaves it unchanged changed nothing.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Removes `key` if it is past its expiry. Returns true if the key is (still) present.
    fn check_alive(&mut self, key: &[u8], now_ms: u64) -> bool {
        match self.find(key) {
            None => false,
            Some(e) if e.expire_at_ms().is_some_and(|at| at <= now_ms) => {
                if self.expiry_paused {
                    return false;
                }
                let at = e.expire_at_ms().expect("checked above");
                if let Some(e) = self.take(key) {
                    let slot = (at, e.key.to_box());
                    self.expiries.remove(&slot);
                    self.expired(slot.1);
                }
                false
            }
            Some(_) => true,
        }
    }

    /// While on (CLIENT PAUSE), keys past their time read as gone but are not removed, so
    /// the dataset stays as it is, as in Redis.
    pub(crate) fn set_expiry_paused(&mut self, on: bool) {
        self.expiry_paused = on;
    }

    /// True if `key` is stored but past its expiry, not yet collected. Changes nothing.
    pub fn is_expired(&self, key: &[u8], now_ms: u64) -> bool {
        self.find(key)
            .is_some_and(|e| e.expire_at_ms().is_some_and(|at| at <= now_ms))
    }

    /// The live value of `key`.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Value> {
        if !self.check_alive(key, now_ms) {
            self.misses += 1;
            self.events.push(DbEvent::Miss, key);
            return None;
        }
        self.hits += 1;
        self.find_touch(key, now_ms).map(|e| &e.value)
    }

    /// The entry of `key`, marked as accessed now (OBJECT IDLETIME). Not a change: no
    /// snapshot copy, no WATCH.
    fn find_touch(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let hash = self.hash(key);
        let e = self.table.find_mut(hash, |e| *e.key == *key)?;
        e.lru = self.access.touch(e.lru, now_ms, &mut self.lfu_rng);
        Some(&**e)
    }

    /// [`Db::get`] that does not count as an access for OBJECT IDLETIME (Redis's
    /// `LOOKUP_NOTOUCH`, used by OBJECT itself).
    pub fn get_untouched(&mut self, key: &[u8], now_ms: u64) -> Option<&Value> {
        if !self.check_alive(key, now_ms) {
            self.misses += 1;
            self.events.push(DbEvent::Miss, key);
            return None;
        }
        self.hits += 1;
        self.find(key).map(|e| &e.value)
    }

    /// Makes `key` look last accessed `idle_s` seconds before `now_ms` (RESTORE … IDLETIME,
    /// an RDB's IDLE), under an LRU (or no) policy; under LFU, `freq` (RESTORE … FREQ, an
    /// RDB's FREQ) sets the counter instead (Redis's `objectSetLRUOrLFU`). Not a change: no
    /// snapshot copy, no WATCH.
    pub(crate) fn set_lru_or_lfu(
        &mut self,
        key: &[u8],
        freq: Option<u8>,
        idle_s: Option<u64>,
        now_ms: u64,
    ) {
        let hash = self.hash(key);
        let access = self.access;
        if let Some(e) = self.table.find_mut(hash, |e| *e.key == *key) {
            if let Some(lru) = access.restored(freq, idle_s, now_ms) {
                e.lru = lru;
            }
        }
    }

    /// Seconds since `key` was last accessed (OBJECT IDLETIME, which does not count as an
    /// access), if it is live. Meaningful under an LRU (or no) policy.
    pub fn idle_seconds(&mut self, key: &[u8], now_ms: u64) -> Option<u64> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        self.find(key)
            .map(|e| super::evict::idle_ms(e.lru, now_ms) / 1000)
    }

    /// The access frequency counter of `key` with its decay applied, not stored (OBJECT
    /// FREQ, an RDB's FREQ), if it is live. Meaningful under an LFU policy.
    pub fn access_frequency(&mut self, key: &[u8], now_ms: u64) -> Option<u8> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        let access = self.access;
        self.find(key).map(|e| access.frequency(e.lru, now_ms))
    }

    /// Lookups by [`Db::get`] that found a live key, and that did not.
    pub fn hits_misses(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    /// Sets the lookup counters (CONFIG RESETSTAT; undoing the lookups of a write).
    pub(crate) fn set_hits_misses(&mut self, (hits, misses): (u64, u64)) {
        (self.hits, self.misses) = (hits, misses);
    }

    /// SWAPDB: exchanges the keys (with their expiries) of two databases. What belongs to
    /// the database *index* stays: WATCHes, blocked clients, counters. As Redis 7.0 does,
    /// a client watching a key in either database is dirtied if the key exists on either
    /// side, and clients blocked on a key that now holds a list or sorted set are woken.
    pub(crate) fn swap_data(a: &mut Db, b: &mut Db) {
        a.settle_snapshot(None);
        b.settle_snapshot(None);
        a.touch_watched_present_in(b);
        b.touch_watched_present_in(a);
        std::mem::swap(&mut a.table, &mut b.table);
        std::mem::swap(&mut a.hasher, &mut b.hasher);
        std::mem::swap(&mut a.expiries, &mut b.expiries);
        std::mem::swap(&mut a.scan_index, &mut b.scan_index);
        a.writes += 1;
        b.writes += 1;
        for db in [a, b] {
            let awaited: Vec<Box<[u8]>> = db.blocking.awaited.keys().cloned().collect();
            for key in awaited {
                db.signal_changed(&key);
            }
        }
    }

    /// Dirties the watchers of every key watched here that exists here or in `other`.
    fn touch_watched_present_in(&mut self, other: &Db) {
        let w = &mut self.watches;
        for (key, clients) in &w.keys {
            let here = self
                .table
                .find(self.hasher.hash_one(&**key), |e| *e.key == **key);
            let there = other.find(key);
            if here.is_some() || there.is_some() {
                w.dirty.extend(clients.iter().copied());
            }
        }
    }

    /// The value of `key` if it is live, without collecting it if it is not: for reading
    /// several keys at once after [`Db::get`] has checked them.
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Value> {
        self.find(key)
            .filter(|e| e.expire_at_ms().map_or(true, |at| at > now_ms))
            .map(|e| &e.value)
    }

    /// The live value of `key` with its expiry (COPY): a read lookup, as [`Db::get`].
    pub fn get_with_expire(&mut self, key: &[u8], now_ms: u64) -> Option<(&Value, Option<u64>)> {
        if !self.check_alive(key, now_ms) {
            self.misses += 1;
            self.events.push(DbEvent::Miss, key);
            return None;
        }
        self.hits += 1;
        self.find_touch(key, now_ms)
            .map(|e| (&e.value, e.expire_at_ms()))
    }

    /// The live value of `key`, for changing in place (its expiry stays). Counts as a write
    /// of the key whether or not the caller changes it.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        self.modified(key);
        let hash = self.hash(key);
        self.before_change(hash, key);
        let e = self.table.find_mut(hash, |e| *e.key == *key)?;
        e.lru = self.access.touch(e.lru, now_ms, &mut self.lfu_rng);
        Some(&mut e.value)
    }

    /// True if `key` holds a live value.
    pub fn contains_key(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.check_alive(key, now_ms)
    }

    /// Stores `value` under `key`, replacing any value and expiry it had. The key's bytes
    /// are copied: a key must not pin the connection's read buffer. A previous value already
    /// past its time counts as expired first, as a lookup would have found it.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at_ms: Option<u64>, now_ms: u64) {
        let expire_at_ms = nonzero(expire_at_ms).map(NonZeroU64::get);
        let hash = self.hash(key);
        self.before_change(hash, key);
        let hasher = &self.hasher;
        let mut replaced_expired = None;
        let mut overwritten = false;
        match self
            .table
            .entry(hash, |e| *e.key == *key, |e| hasher.hash_one(&*e.key))
        {
            hashbrown::hash_table::Entry::Occupied(mut occupied) => {
                // Overwrite in place: the stored key (and its allocation) stays.
                overwritten = true;
                let e = occupied.get_mut();
                if e.expire_at_ms().is_some_and(|at| at <= now_ms) {
                    replaced_expired = Some(e.key.to_box());
                }
                if e.expire_at_ms() != expire_at_ms {
                    if let Some(old) = e.expire_at_ms() {
                        self.expiries.remove(&(old, e.key.to_box()));
                    }
                    if let Some(at) = expire_at_ms {
                        self.expiries.insert((at, e.key.to_box()));
                    }
                }
                e.value = value;
                e.set_expire(expire_at_ms);
                // Redis looks the key up for writing first (an access), then keeps the LFU
                // counter of the value it overwrites; a key past its time starts afresh.
                e.lru = if replaced_expired.is_some() {
                    self.access.initial(now_ms)
                } else {
                    self.access.touch(e.lru, now_ms, &mut self.lfu_rng)
                };
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                if let Some(at) = expire_at_ms {
                    self.expiries.insert((at, key.into()));
                }
                vacant.insert(Box::new(Entry {
                    key: Key::new(key),
                    value,
                    expire: nonzero(expire_at_ms),
                    lru: self.access.initial(now_ms),
                }));
                if let Some(index) = &mut self.scan_index {
                    index.insert(hash);
                }
                self.events.push(DbEvent::New, key);
            }
        }
        if let Some(old) = replaced_expired {
            self.expired(old);
            self.events.push(DbEvent::New, key);
        }
        if overwritten {
            self.signal_changed(key);
        }
        self.modified(key);
        self.signal_ready(key);
    }

    /// Marks `key` ready for its blocked clients if it now holds a list or sorted set, as
    /// Redis's `signalKeyAsReady` when a key is added.
    #[inline]
    fn signal_ready(&mut self, key: &[u8]) {
        if !self.blocking.awaited.is_empty() {
            self.signal_awaited(key);
        }
    }

    /// Marks `key` ready for its blocked clients after entries were added to the stream
    /// it holds (XADD), as Redis's `signalKeyAsReady` for a stream.
    pub(crate) fn signal_stream_ready(&mut self, key: &[u8]) {
        self.signal_ready(key);
    }

    fn signal_awaited(&mut self, key: &[u8]) {
        let b = &self.blocking;
        if !b.awaited.contains_key(key) || b.ready.iter().any(|k| **k == *key) {
            return;
        }
        if self.find(key).is_some_and(|e| e.value.wakes_blocked()) {
            self.blocking.ready.push(key.into());
        }
    }

    /// Runs `f` on the live value of `key` for an in-place change (its expiry stays). `f`
    /// returns its result and whether it changed the value: only a change counts as a write
    /// (WATCH, the effects log). An aggregate left empty is removed with its key.
    pub fn update<R>(
        &mut self,
        key: &[u8],
        now_ms: u64,
        f: impl FnOnce(&mut Value) -> (R, bool),
    ) -> Option<R> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        let hash = self.hash(key);
        self.before_change(hash, key);
        let e = self.table.find_mut(hash, |e| *e.key == *key)?;
        e.lru = self.access.touch(e.lru, now_ms, &mut self.lfu_rng);
        let (r, changed) = f(&mut e.value);
        let empty = e.value.is_empty_aggregate();
        if changed || empty {
            self.modified(key);
        }
        if empty {
            if let Some(e) = self.take(key) {
                if let Some(at) = e.expire_at_ms() {
                    self.expiries.remove(&(at, e.key.to_box()));
                }
            }
        }
        Some(r)
    }

    /// Marks the clients watching `key` dirty without counting a write: for commands Redis
    /// signals as modifying a key even when they changed nothing (LTRIM).
    pub(crate) fn touch(&mut self, key: &[u8]) {
        self.touch_watchers(key);
    }

    /// Registers a client blocked on `key` (BLPOP and friends).
    pub(crate) fn block_on(&mut self, key: &[u8]) {
        *self.blocking.awaited.entry(key.into()).or_default() += 1;
    }

    /// Unregisters a client blocked on `key`.
    pub(crate) fn unblock_on(&mut self, key: &[u8]) {
        if let Some(n) = self.blocking.awaited.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.blocking.awaited.remove(key);
            }
        }
    }

    /// The keys given a list or sorted set while clients were blocked on them, in the order
    /// it happened, since the last call.
    pub(crate) fn take_ready_keys(&mut self) -> Vec<Box<[u8]>> {
        std::mem::take(&mut self.blocking.ready)
    }

    /// True if some key is ready for its blocked clients.
    pub(crate) fn has_ready_keys(&self) -> bool {
        !self.blocking.ready.is_empty()
    }

    /// Stores `value` under `key`, keeping the expiry of a live previous value (SET KEEPTTL).
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value, now_ms: u64) {
        match self.get_mut(key, now_ms) {
            Some(slot) => *slot = value,
            None => self.insert(key, value, None, now_ms),
        }
    }

    /// Removes `key`, returning its live value.
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Value> {
        self.remove_entry(key, now_ms).map(|(value, _)| value)
    }

    /// Removes `key`, returning its live value and expiry (RENAME, MOVE).
    pub fn remove_entry(&mut self, key: &[u8], now_ms: u64) -> Option<(Value, Option<u64>)> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        self.unlink(key)
    }

    /// Removes `key` whether or not its time has passed, as Redis's `dbDelete` does: the
    /// *STORE commands delete a destination an empty result leaves with it, and notify
    /// `del` even for a key that was due to expire. Returns whether a key was there.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.unlink(key).is_some()
    }

    fn unlink(&mut self, key: &[u8]) -> Option<(Value, Option<u64>)> {
        let e = self.take(key)?;
        let expire_at_ms = e.expire_at_ms();
        let Entry { key, value, .. } = *e;
        self.modified(&key);
        if let Some(at) = expire_at_ms {
            self.expiries.remove(&(at, key.to_box()));
        }
        Some((value, expire_at_ms))
    }

    /// The expiry of a live `key`: `None` if the key is missing, `Some(None)` if it has none.
    pub fn expire_at_ms(&mut self, key: &[u8], now_ms: u64) -> Option<Option<u64>> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        self.find(key).map(|e| e.expire_at_ms())
    }

    /// Sets (or with `None` clears) the expiry of a live `key`. Returns false if the key is
    /// missing. An expiry at or before `now_ms` takes effect at the next access.
    pub fn set_expire_at_ms(&mut self, key: &[u8], at: Option<u64>, now_ms: u64) -> bool {
        if !self.check_alive(key, now_ms) {
            return false;
        }
        let Some(e) = self.find_mut(key) else {
            return false;
        };
        let at = nonzero(at).map(NonZeroU64::get);
        let old = e.expire_at_ms();
        e.set_expire(at);
        let stored = e.key.to_box();
        if let Some(old) = old {
            self.expiries.remove(&(old, stored.clone()));
        }
        if let Some(at) = at {
            self.expiries.insert((at, stored));
        }
        self.modified(key);
        true
    }

    /// Removes every key (FLUSHDB). Clients watching a key that was stored — live or past
    /// its time but not yet collected — see a change, as Redis 7.0's
    /// `touchAllWatchedKeysInDb` does; watches of missing keys stay clean.
    pub fn clear(&mut self) {
        let awaited: Vec<Box<[u8]>> = self.blocking.awaited.keys().cloned().collect();
        for key in awaited {
            if self.find(&key).is_some() {
                self.signal_changed(&key);
            }
        }
        let w = &mut self.watches;
        for (key, clients) in &w.keys {
            let hash = self.hasher.hash_one(&**key);
            if self.table.find(hash, |e| *e.key == **key).is_some() {
                w.dirty.extend(clients.iter().copied());
            }
        }
        // A running snapshot takes what it has not copied yet: moved, not cloned.
        let table = std::mem::take(&mut self.table);
        self.settle_snapshot(Some(table));
        self.expiries.clear();
        self.scan_index = None;
        self.writes += 1;
    }

    /// The earliest expiry time of any key, if any key has one: when the adapter should call
    /// [`Db::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.expiries.first().map(|(at, _)| *at)
    }

    /// Active expiry: removes keys whose time is at or before `now_ms`, at most `max_keys` of
    /// them, earliest first, so one call's work is bounded. Returns how many were removed;
    /// if that equals `max_keys`, more may be due and [`Db::poll_timeout`] says so.
    pub fn handle_timeout(&mut self, now_ms: u64, max_keys: usize) -> usize {
        let mut removed = 0;
        while removed < max_keys {
            match self.expiries.first() {
                Some((at, _)) if *at <= now_ms => {}
                _ => break,
            }
            let (_, key) = self.expiries.pop_first().expect("checked above");
            self.take(&key);
            self.expired(key);
            removed += 1;
        }
        removed
    }

    /// The value of `key` and its expiry whether or not it is past its time, without
    /// touching it: DEBUG DIGEST-VALUE reads keys as Redis's `dictFind` does.
    pub(crate) fn raw_entry(&self, key: &[u8]) -> Option<(&Value, Option<u64>)> {
        self.find(key).map(|e| (&e.value, e.expire_at_ms()))
    }

    /// Calls `f` on every entry, expired ones not yet collected included (DEBUG DIGEST).
    pub(crate) fn raw_entries(&self, mut f: impl FnMut(&[u8], &Value, Option<u64>)) {
        for e in self.table.iter() {
            f(&e.key, &e.value, e.expire_at_ms());
        }
    }

    /// Iterates over the live keys (expired ones not yet collected are skipped).
    pub fn keys(&self, now_ms: u64) -> impl Iterator<Item = &[u8]> + '_ {
        self.table
            .iter()
            .filter(move |e| e.expire_at_ms().map_or(true, |at| at > now_ms))
            .map(|e| &*e.key)
    }

    /// Iterates over the live entries — key, value, expiry — for snapshots and AOF rewrites.
    pub fn entries(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Value, Option<u64>)> + '_ {
        self.table
            .iter()
            .filter(move |e| e.expire_at_ms().map_or(true, |at| at > now_ms))
            .map(|e| (&*e.key, &e.value, e.expire_at_ms()))
    }

    /// One step of SCAN: calls `f` on the live keys whose hash is among the next `count`
    /// distinct hashes at or after `cursor`, in hash order, and returns the cursor to pass
    /// next — 0 once the end is reached. Keys found past their time are collected.
    ///
    /// The cursor is a position in the 64-bit hash space, not in the table, so nothing the
    /// table does (growing, rehashing, deletions) moves a key relative to it: a full
    /// iteration returns every key present from start to end exactly once, and a key added
    /// or removed meanwhile at most once. The order comes from an index of hashes built on
    /// the first call (O(n log n) once) and maintained on every insert and removal after
    /// that (O(log n) each).
    pub fn scan(
        &mut self,
        cursor: u64,
        count: usize,
        now_ms: u64,
        mut f: impl FnMut(&[u8], &Value),
    ) -> u64 {
        let hasher = &self.hasher;
        let table = &self.table;
        let index = self
            .scan_index
            .get_or_insert_with(|| table.iter().map(|e| hasher.hash_one(&*e.key)).collect());
        let hashes: Vec<u64> = index.range(cursor..).take(count.max(1)).copied().collect();
        let Some(&last) = hashes.last() else {
            return 0;
        };
        let next = match last.checked_add(1) {
            Some(next) if index.range(next..).next().is_some() => next,
            _ => 0,
        };
        let mut due = Vec::new();
        for &h in &hashes {
            for e in self.table.iter_hash(h) {
                if e.expire_at_ms().is_some_and(|at| at <= now_ms) && self.hash(&e.key) == h {
                    due.push(e.key.clone());
                }
            }
        }
        for key in due {
            self.check_alive(&key, now_ms);
        }
        for &h in &hashes {
            for e in self.table.iter_hash(h) {
                // Past their time and still here: expiry is paused (CLIENT PAUSE).
                let live = e.expire_at_ms().map_or(true, |at| at > now_ms);
                if live && self.hash(&e.key) == h {
                    f(&e.key, &e.value);
                }
            }
        }
        next
    }

    /// A random live key (RANDOMKEY), or `None` if the database is empty. Keys found past
    /// their time on the way are collected, as Redis does.
    ///
    /// Picks random slots of the table until one is full, like Redis's dictGetRandomKey;
    /// after a few misses (a table left sparse by deletions) it walks from a random slot to
    /// the next full one, so the time stays bounded by the table's size.
    pub fn random_key(&mut self, now_ms: u64, rng: &mut Rng) -> Option<Bytes> {
        // While expiry is paused a key past its time stays: with only such keys the search
        // would never end, so as Redis, after 100 of them, one is returned anyway.
        let mut tries_left = 100;
        loop {
            if self.table.is_empty() {
                return None;
            }
            let n = self.table.num_buckets();
            let slot = (0..64)
                .map(|_| rng.below(n))
                .find(|&i| self.table.get_bucket(i).is_some())
                .or_else(|| {
                    let start = rng.below(n);
                    (0..n)
                        .map(|d| (start + d) % n)
                        .find(|&i| self.table.get_bucket(i).is_some())
                })
                .expect("a non-empty table has a full slot");
            let e = self.table.get_bucket(slot).expect("found full above");
            if e.expire_at_ms().is_some_and(|at| at <= now_ms) {
                let key = e.key.clone();
                if self.expiry_paused && self.expiries.len() == self.table.len() {
                    tries_left -= 1;
                    if tries_left == 0 {
                        return Some(Bytes::copy_from_slice(&key));
                    }
                }
                self.check_alive(&key, now_ms);
                continue;
            }
            return Some(Bytes::copy_from_slice(&e.key));
        }
    }

    /// Registers `client` as watching `key` (WATCH). A key already past its time is collected
    /// first, so its removal is not a change for this watch — the same outcome as Redis 7.0's
    /// "watched while already expired" flag.
    pub fn watch(&mut self, key: &[u8], client: ClientId, now_ms: u64) {
        self.check_alive(key, now_ms);
        let clients = match self.watches.keys.get_mut(key) {
            Some(clients) => clients,
            None => self.watches.keys.entry(key.into()).or_default(),
        };
        if !clients.contains(&client) {
            clients.push(client);
        }
    }

    /// Removes `client`'s watch of `key`.
    pub fn unwatch(&mut self, key: &[u8], client: ClientId) {
        if let Some(clients) = self.watches.keys.get_mut(key) {
            clients.retain(|&c| c != client);
            if clients.is_empty() {
                self.watches.keys.remove(key);
            }
        }
    }

    /// True if a key `client` watches in this database changed since it watched it.
    pub fn is_dirty(&self, client: ClientId) -> bool {
        self.watches.dirty.contains(&client)
    }

    /// Forgets that `client`'s watched keys changed (after EXEC, DISCARD, UNWATCH).
    pub fn clear_dirty(&mut self, client: ClientId) {
        self.watches.dirty.remove(&client);
    }

    /// Number of distinct keys watched by some client.
    pub fn watched_len(&self) -> usize {
        self.watches.keys.len()
    }

    /// Which of the keyspace's own events to queue ([`DbEvent::bit`]); see `db/notify.rs`.
    pub(crate) fn set_event_mask(&mut self, mask: u8) {
        self.events.mask = mask;
        if mask == 0 {
            self.events.queue = Vec::new();
        }
    }

    /// True if events wait to be drained.
    #[inline]
    pub(crate) fn has_events(&self) -> bool {
        !self.events.queue.is_empty()
    }

    /// The events since the last call, in order.
    pub(crate) fn take_events(&mut self) -> Vec<(DbEvent, Box<[u8]>)> {
        std::mem::take(&mut self.events.queue)
    }
}

/// Eviction's view of a database (see `db/evict.rs`).
impl Db {
    /// Calls `f(key, lru, expire_at_ms)` on up to `count` keys picked at random, as Redis's
    /// `dictGetSomeKeys` picks them: from all keys, or with `volatile` from the keys with an
    /// expiry. A key may come up twice.
    pub(crate) fn sample_keys(
        &self,
        volatile: bool,
        count: usize,
        rng: &mut Rng,
        mut f: impl FnMut(&[u8], u32, Option<u64>),
    ) {
        if volatile {
            return self.sample_volatile(count, rng, f);
        }
        let count = count.min(self.table.len());
        let n = self.table.num_buckets();
        if count == 0 || n == 0 {
            return;
        }
        // A walk over consecutive buckets from a random one, jumping elsewhere after a run
        // of empty buckets, at most `10 * count` steps: Redis's bounds.
        let (mut i, mut found, mut empty_run) = (rng.below(n), 0, 0);
        for _ in 0..count * 10 {
            match self.table.get_bucket(i) {
                Some(e) => {
                    f(&e.key, e.lru, e.expire_at_ms());
                    found += 1;
                    if found == count {
                        return;
                    }
                    empty_run = 0;
                }
                None => {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        i = rng.below(n);
                        empty_run = 0;
                        continue;
                    }
                }
            }
            i = (i + 1) % n;
        }
    }

    /// [`Db::sample_keys`] over the expiry index: all of it when it holds at most `count`
    /// keys, else `count` consecutive entries from a random expiry time on (wrapping).
    fn sample_volatile(
        &self,
        count: usize,
        rng: &mut Rng,
        mut f: impl FnMut(&[u8], u32, Option<u64>),
    ) {
        let (Some(first), Some(last)) = (self.expiries.first(), self.expiries.last()) else {
            return;
        };
        let mut visit = |key: &[u8]| {
            if let Some(e) = self.find(key) {
                f(&e.key, e.lru, e.expire_at_ms());
            }
        };
        if self.expiries.len() <= count {
            self.expiries.iter().for_each(|(_, k)| visit(k));
            return;
        }
        let span = last.0 - first.0;
        let from = first.0 + ((u128::from(rng.next_u64()) * u128::from(span)) >> 64) as u64;
        let start: (u64, Box<[u8]>) = (from, Box::default());
        self.expiries
            .range(start..)
            .chain(self.expiries.iter())
            .take(count)
            .for_each(|(_, k)| visit(k));
    }

    /// True if `key` is stored, live or past its time.
    pub(crate) fn has_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// True if `key` is stored with an expiry.
    pub(crate) fn has_expiry(&self, key: &[u8]) -> bool {
        self.find(key).is_some_and(|e| e.expire.is_some())
    }

    /// One key picked at random (allkeys-random), or with `volatile` among the keys with an
    /// expiry (volatile-random); `None` if there is none.
    pub(crate) fn random_evictable(&self, volatile: bool, rng: &mut Rng) -> Option<Box<[u8]>> {
        let mut picked = None;
        if volatile {
            self.sample_volatile(1, rng, |k, _, _| picked = Some(k.into()));
        } else {
            let n = self.table.num_buckets();
            if self.table.is_empty() {
                return None;
            }
            // Random buckets until a full one, then a walk: bounded by the table's size.
            let start = rng.below(n);
            picked = (0..64)
                .map(|_| rng.below(n))
                .chain((0..n).map(|d| (start + d) % n))
                .find_map(|i| self.table.get_bucket(i))
                .map(|e| e.key.to_box());
        }
        picked
    }

    /// Removes `key` to free memory (Redis's `dbSyncDelete` in `performEvictions`), live or
    /// past its time: its watchers and blocked clients see a change, client-side caching
    /// an invalidation. Not a write of a command. Returns whether it was there.
    pub(crate) fn evict(&mut self, key: &[u8]) -> bool {
        let Some(e) = self.take(key) else {
            return false;
        };
        if let Some(at) = e.expire_at_ms() {
            self.expiries.remove(&(at, e.key.to_box()));
        }
        self.touch_watchers(key);
        drop(e);
        true
    }
}

/// The snapshot side of a database: see `db/snapshot.rs` for the design.
impl Db {
    /// Starts a point-in-time snapshot of this database and returns the hashes of its keys
    /// (unsorted, possibly repeated), the order the snapshot visits them in once sorted.
    /// Until visited, a key about to change is copied first ([`Db::before_change`]).
    pub(crate) fn begin_snapshot(&mut self) -> Vec<u64> {
        self.snapshot = Some(Box::new(DbSnapshot::new(self.hasher)));
        let hasher = &self.hasher;
        self.table
            .iter()
            .map(|e| hasher.hash_one(&*e.key))
            .collect()
    }

    /// True if no snapshot state is kept here (none running, or this database is done).
    #[cfg(test)]
    pub(crate) fn snapshot_is_idle(&self) -> bool {
        self.snapshot.is_none()
    }

    /// Forgets the snapshot (finished or abandoned).
    pub(crate) fn end_snapshot(&mut self) {
        self.snapshot = None;
    }

    /// The choke point of every change to the table: while a snapshot runs and has not
    /// visited `key` yet, it gets the key as it was first (or learns that the key is new).
    #[inline]
    fn before_change(&mut self, hash: u64, key: &[u8]) {
        if let Some(snap) = &self.snapshot {
            if snap.wants(hash) {
                self.copy_for_snapshot(hash, key);
            }
        }
    }

    #[cold]
    fn copy_for_snapshot(&mut self, hash: u64, key: &[u8]) {
        let Some(snap) = &mut self.snapshot else {
            return;
        };
        let found = self.table.find(hash, |e| *e.key == *key);
        snap.settle(key, found.map(|e| (&*e.key, &e.value, e.expire_at_ms())));
    }

    /// Hands the snapshot every key it has not visited, before a change to the whole
    /// table (FLUSHDB, SWAPDB). `table`: the table being dropped, whose entries are moved
    /// rather than cloned; `None`: clone from the live table.
    fn settle_snapshot(&mut self, table: Option<hashbrown::HashTable<Box<Entry>>>) {
        let Some(snap) = &mut self.snapshot else {
            return;
        };
        if !snap.done {
            let hasher = &self.hasher;
            match table {
                Some(table) => {
                    for e in table {
                        let hash = hasher.hash_one(&*e.key);
                        if snap.wants(hash) && !snap.is_settled(&e.key) {
                            let expire_at_ms = e.expire_at_ms();
                            let Entry { key, value, .. } = *e;
                            snap.copied.push((key.to_box(), value, expire_at_ms));
                        }
                    }
                }
                None => {
                    for e in &self.table {
                        let hash = hasher.hash_one(&*e.key);
                        if snap.wants(hash) && !snap.is_settled(&e.key) {
                            snap.copied
                                .push((e.key.to_box(), e.value.clone(), e.expire_at_ms()));
                        }
                    }
                }
            }
            snap.finish();
        }
    }

    /// One step of the snapshot of this database: moves what was copied before changes
    /// into `out`, then clones the unsettled keys whose hash is in `hashes` (the next
    /// slice of the sorted order) and moves the cursor to `next`, the first hash after the
    /// slice (`None`: the end). Returns true once this database is complete.
    pub(crate) fn snapshot_take(
        &mut self,
        hashes: &[u64],
        next: Option<u64>,
        out: &mut Vec<CopiedEntry>,
    ) -> bool {
        let Some(snap) = &mut self.snapshot else {
            return true;
        };
        out.append(&mut snap.copied);
        if snap.done {
            return true;
        }
        let hasher = &self.hasher;
        for &h in hashes {
            for e in self.table.iter_hash(h) {
                if hasher.hash_one(&*e.key) == h && !snap.is_settled(&e.key) {
                    out.push((e.key.to_box(), e.value.clone(), e.expire_at_ms()));
                }
            }
        }
        match next {
            Some(next) => {
                snap.advance(next);
                false
            }
            None => {
                snap.finish();
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        Value::str(s.as_bytes())
    }

    fn full_scan(db: &mut Db, count: usize, now: u64) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, count, now, |k, _| seen.push(k.to_vec()));
            if cursor == 0 {
                return seen;
            }
        }
    }

    #[test]
    fn scan_returns_every_key_once_while_keys_are_added() {
        let mut db = Db::new(3);
        for i in 0..400 {
            db.insert(format!("k{i}").as_bytes(), v("x"), None, 0);
        }
        let buckets = db.table.num_buckets();
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut added = 0;
        loop {
            cursor = db.scan(cursor, 7, 0, |k, _| seen.push(k.to_vec()));
            // Grow the table under the cursor: it rehashes meanwhile.
            for _ in 0..3 {
                db.insert(format!("new{added}").as_bytes(), v("y"), None, 0);
                added += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert!(db.table.num_buckets() > buckets, "the table grew");
        assert_eq!(unique.len(), seen.len(), "no key twice");
        for i in 0..400 {
            assert!(
                unique.contains(&format!("k{i}").into_bytes()),
                "k{i} missing"
            );
        }
    }

    #[test]
    fn scan_skips_and_collects_expired_keys_and_survives_removals() {
        let mut db = Db::new(5);
        for i in 0..100u64 {
            let at = (i % 2 == 0).then_some(10);
            db.insert(format!("k{i}").as_bytes(), v("x"), at, 0);
        }
        let seen = full_scan(&mut db, 3, 20);
        assert_eq!(seen.len(), 50);
        assert_eq!(db.len(), 50);
        assert_eq!(db.expired_count(), 50);
        for i in (1..100).step_by(4) {
            db.remove(format!("k{i}").as_bytes(), 20);
        }
        assert_eq!(full_scan(&mut db, 1, 20).len(), 25);
        db.clear();
        assert_eq!(db.scan(0, 10, 20, |_, _| panic!("empty")), 0);
    }

    #[test]
    fn random_key_finds_live_keys_in_sparse_tables() {
        let mut db = Db::new(9);
        let mut rng = Rng::new(42);
        assert_eq!(db.random_key(0, &mut rng), None);
        for i in 0..10_000 {
            db.insert(format!("k{i}").as_bytes(), v("x"), None, 0);
        }
        for i in 1..10_000 {
            db.remove(format!("k{i}").as_bytes(), 0);
        }
        assert_eq!(db.random_key(0, &mut rng).as_deref(), Some(&b"k0"[..]));
        db.insert(b"gone", v("x"), Some(5), 0);
        db.remove(b"k0", 0);
        assert_eq!(db.random_key(5, &mut rng), None);
        assert_eq!(db.expired_count(), 1);
    }

    #[test]
    fn an_entry_stays_64_bytes() {
        // The access clock lives in the room the non-zero expiry freed.
        assert_eq!(std::mem::size_of::<Entry>(), 64);
    }

    #[test]
    fn every_change_marks_watchers() {
        let mut db = Db::new(1);
        let (a, b) = (1, 2);
        db.insert(b"k", v("1"), None, 0);
        db.watch(b"k", a, 0);
        db.watch(b"other", b, 0);
        assert!(db.get(b"k", 0).is_some());
        assert!(!db.is_dirty(a), "reads are not changes");
        db.insert(b"k", v("2"), None, 0);
        assert!(db.is_dirty(a) && !db.is_dirty(b));
        db.clear_dirty(a);
        db.set_expire_at_ms(b"k", Some(10), 0);
        assert!(db.is_dirty(a));
        db.clear_dirty(a);
        assert_eq!(db.handle_timeout(10, 10), 1);
        assert!(db.is_dirty(a), "expiry is a change");
        db.clear_dirty(a);
        db.clear();
        assert!(
            !db.is_dirty(a) && !db.is_dirty(b),
            "flushing missing keys is not"
        );
        db.insert(b"other", v("1"), None, 0);
        db.clear_dirty(b);
        db.clear();
        assert!(db.is_dirty(b));
        db.unwatch(b"k", a);
        db.unwatch(b"other", b);
        assert_eq!(db.watched_len(), 0);
    }

    #[test]
    fn watching_an_expired_key_collects_it_first() {
        let mut db = Db::new(1);
        db.insert(b"k", v("1"), Some(5), 0);
        db.watch(b"k", 1, 10);
        assert!(!db.is_dirty(1));
        assert_eq!(db.len(), 0);
    }
}
