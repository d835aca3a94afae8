//! One logical database: keys to values, with optional expiry times.

use std::collections::BTreeSet;
use std::hash::BuildHasher;

type Hasher = foldhash::fast::FixedState;

/// A value stored under a key.
///
/// Strings for now; hashes, lists, sets and sorted sets join as further variants, so code that
/// matches on `Value` (TYPE, OBJECT ENCODING, WRONGTYPE checks) grows with them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// A binary-safe string. A boxed slice (16 bytes) rather than `Bytes` (32): the keyspace
    /// holds millions of these, and replies copy small strings anyway.
    Str(Box<[u8]>),
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
        }
    }
}

/// One key. Boxed, so the table holds 8-byte pointers: with millions of keys, a table of
/// inline entries would waste its empty slots' worth of entry size (hash tables run up to
/// half empty after growing).
#[derive(Debug)]
struct Entry {
    key: Box<[u8]>,
    value: Value,
    /// Absolute expiry in Unix milliseconds. Always mirrored in `Db::expiries`.
    expire_at_ms: Option<u64>,
}

/// One database (Redis has 16, chosen by SELECT).
///
/// Expired keys vanish in two ways, as in Redis: lazily, when an access finds them past their
/// time, and actively, when the adapter calls [`Db::handle_timeout`] at
/// [`Db::poll_timeout`]. Every accessor therefore takes `now_ms` and `&mut self`.
///
/// Expiry times are kept in an ordered index beside the table, so the active step visits
/// exactly the keys that are due, in order, and the next deadline is known without sampling.
#[derive(Debug)]
pub struct Db {
    table: hashbrown::HashTable<Box<Entry>>,
    hasher: Hasher,
    expiries: BTreeSet<(u64, Box<[u8]>)>,
    expired_count: u64,
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

    fn find_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let hash = self.hash(key);
        self.table
            .find_mut(hash, |e| *e.key == *key)
            .map(|e| &mut **e)
    }

    /// Takes `key` out of the table (not the expiry index).
    fn take(&mut self, key: &[u8]) -> Option<Box<Entry>> {
        let hash = self.hash(key);
        match self.table.find_entry(hash, |e| *e.key == *key) {
            Ok(occupied) => Some(occupied.remove().0),
            Err(_) => None,
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

    /// Number of keys with an expiry time.
    pub fn volatile_len(&self) -> usize {
        self.expiries.len()
    }

    /// Keys removed because their time passed, since this database was made.
    pub fn expired_count(&self) -> u64 {
        self.expired_count
    }

    /// Removes `key` if it is past its expiry. Returns true if the key is (still) present.
    fn check_alive(&mut self, key: &[u8], now_ms: u64) -> bool {
        match self.find(key) {
            None => false,
            Some(Entry {
                expire_at_ms: Some(at),
                ..
            }) if *at <= now_ms => {
                let at = *at;
                if let Some(e) = self.take(key) {
                    self.expiries.remove(&(at, e.key));
                }
                self.expired_count += 1;
                false
            }
            Some(_) => true,
        }
    }

    /// The live value of `key`.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Value> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        self.find(key).map(|e| &e.value)
    }

    /// The live value of `key`, for changing in place (its expiry stays).
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        self.find_mut(key).map(|e| &mut e.value)
    }

    /// True if `key` holds a live value.
    pub fn contains_key(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.check_alive(key, now_ms)
    }

    /// Stores `value` under `key`, replacing any value and expiry it had. The key's bytes
    /// are copied: a key must not pin the connection's read buffer.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at_ms: Option<u64>) {
        let hash = self.hash(key);
        let hasher = &self.hasher;
        match self
            .table
            .entry(hash, |e| *e.key == *key, |e| hasher.hash_one(&*e.key))
        {
            hashbrown::hash_table::Entry::Occupied(mut occupied) => {
                // Overwrite in place: the stored key (and its allocation) stays.
                let e = occupied.get_mut();
                if e.expire_at_ms != expire_at_ms {
                    if let Some(old) = e.expire_at_ms {
                        self.expiries.remove(&(old, e.key.clone()));
                    }
                    if let Some(at) = expire_at_ms {
                        self.expiries.insert((at, e.key.clone()));
                    }
                }
                e.value = value;
                e.expire_at_ms = expire_at_ms;
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let key: Box<[u8]> = key.into();
                if let Some(at) = expire_at_ms {
                    self.expiries.insert((at, key.clone()));
                }
                vacant.insert(Box::new(Entry {
                    key,
                    value,
                    expire_at_ms,
                }));
            }
        }
    }

    /// Stores `value` under `key`, keeping the expiry of a live previous value (SET KEEPTTL).
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value, now_ms: u64) {
        match self.get_mut(key, now_ms) {
            Some(slot) => *slot = value,
            None => self.insert(key, value, None),
        }
    }

    /// Removes `key`, returning its live value.
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Value> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        let e = self.take(key)?;
        let Entry {
            key,
            value,
            expire_at_ms,
        } = *e;
        if let Some(at) = expire_at_ms {
            self.expiries.remove(&(at, key));
        }
        Some(value)
    }

    /// The expiry of a live `key`: `None` if the key is missing, `Some(None)` if it has none.
    pub fn expire_at_ms(&mut self, key: &[u8], now_ms: u64) -> Option<Option<u64>> {
        if !self.check_alive(key, now_ms) {
            return None;
        }
        self.find(key).map(|e| e.expire_at_ms)
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
        let old = std::mem::replace(&mut e.expire_at_ms, at);
        let stored = e.key.clone();
        if let Some(old) = old {
            self.expiries.remove(&(old, stored.clone()));
        }
        if let Some(at) = at {
            self.expiries.insert((at, stored));
        }
        true
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.table = hashbrown::HashTable::new();
        self.expiries.clear();
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
            self.expired_count += 1;
            removed += 1;
        }
        removed
    }

    /// Iterates over the live keys (expired ones not yet collected are skipped).
    pub fn keys(&self, now_ms: u64) -> impl Iterator<Item = &[u8]> + '_ {
        self.table
            .iter()
            .filter(move |e| e.expire_at_ms.is_none_or(|at| at > now_ms))
            .map(|e| &*e.key)
    }
}
