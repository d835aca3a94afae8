//! Point-in-time snapshots without `fork`: what BGSAVE and BGREWRITEAOF write.
//!
//! Redis forks, and the kernel's copy-on-write keeps the child's view of memory as it was.
//! We cannot fork a process with threads, and copying the whole store under the lock
//! stops every client for as long as the copy takes (a third of a second for a million
//! small keys, measured). So the store copies on write itself, key by key:
//!
//! 1. [`Store::begin_snapshot`] (under the lock, one pass over the keys) notes the hash of
//!    every key. That list, sorted ([`Snapshot::prepare`], off the lock), is the order in
//!    which the snapshot visits keys; a cursor in it separates visited keys from the rest.
//! 2. [`Store::snapshot_step`] (under the lock, a bounded number of keys per call) clones
//!    the next keys in that order and moves the cursor. Between steps, clients run.
//! 3. Every change to a key goes through one choke point in [`Db`] (`before_change`). If
//!    the snapshot has not visited the key, it first takes a copy of the key as it is (or,
//!    for a key that does not exist, notes that it is new) and marks it *settled*; the
//!    cursor skips settled keys when it reaches them. FLUSHDB and SWAPDB settle every key
//!    left at once (FLUSHDB moves them rather than cloning).
//!
//! Each key therefore reaches the snapshot exactly once, with the value it had when the
//! snapshot began, however clients change the keyspace meanwhile; the extra memory is the
//! copies of keys changed before the cursor got to them. The writer (RDB or AOF rewrite)
//! serialises the entries off the lock, leaving out keys expired at the snapshot's time.
//!
//! ```
//! use redish_core::db::{SnapshotStep, Value};
//! use redish_core::Store;
//!
//! let now = 1_000;
//! let mut store = Store::default();
//! store.db(0).insert(b"a", Value::str(b"old"), None, now);
//! let mut snap = store.begin_snapshot(now).unwrap();
//! store.db(0).insert(b"a", Value::str(b"new"), None, now); // after the snapshot began
//! store.db(0).insert(b"b", Value::str(b"new"), None, now);
//! snap.prepare();
//! let mut out = Vec::new();
//! while store.snapshot_step(&mut snap, 100, &mut out) == SnapshotStep::More {}
//! assert_eq!(out.len(), 1);
//! assert_eq!((&*out[0].key, &out[0].value), (&b"a"[..], &Value::str(b"old")));
//! ```

use std::collections::HashSet;

use super::{Store, Value};

/// A key as a snapshot holds it: key, value, expiry.
pub(crate) type CopiedEntry = (Box<[u8]>, Value, Option<u64>);

/// The state a running snapshot keeps in one database.
#[derive(Debug)]
pub(crate) struct DbSnapshot {
    /// Keys whose hash is below this were visited (or are new).
    next_hash: u64,
    /// Every key of the database reached the snapshot.
    pub(crate) done: bool,
    /// Keys the snapshot took before the cursor reached them, or knows to be new.
    settled: HashSet<Box<[u8]>, foldhash::fast::FixedState>,
    /// Copies taken before changes, not yet handed out by a step.
    pub(crate) copied: Vec<CopiedEntry>,
}

impl DbSnapshot {
    /// A snapshot's state for a database whose keys hash with `hasher` (keyed by the
    /// store's random seed, so clients cannot choose colliding keys).
    pub(crate) fn new(hasher: foldhash::fast::FixedState) -> DbSnapshot {
        DbSnapshot {
            next_hash: 0,
            done: false,
            settled: HashSet::with_hasher(hasher),
            copied: Vec::new(),
        }
    }

    /// True if a key of hash `hash` has not been visited yet.
    #[inline]
    pub(crate) fn wants(&self, hash: u64) -> bool {
        !self.done && hash >= self.next_hash
    }

    pub(crate) fn is_settled(&self, key: &[u8]) -> bool {
        !self.settled.is_empty() && self.settled.contains(key)
    }

    /// `key` is about to change: keep `found` (the key as it is, if it exists) unless the
    /// key was settled already.
    pub(crate) fn settle(&mut self, key: &[u8], found: Option<(&[u8], &Value, Option<u64>)>) {
        if self.settled.contains(key) {
            return;
        }
        if let Some((key, value, expire_at_ms)) = found {
            self.copied.push((key.into(), value.clone(), expire_at_ms));
        }
        self.settled.insert(key.into());
    }

    pub(crate) fn advance(&mut self, next_hash: u64) {
        self.next_hash = next_hash;
    }

    pub(crate) fn finish(&mut self) {
        self.done = true;
        self.settled = HashSet::with_hasher(*self.settled.hasher());
    }
}

/// What [`Store::snapshot_step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStep {
    /// Entries were handed out; call again.
    More,
    /// The snapshot is complete: every key was handed out.
    Done,
    /// The snapshot was abandoned ([`Store::end_snapshot`]) before it was complete: what
    /// was handed out is not the whole dataset and must not be used as if it were.
    Abandoned,
}

/// One key of a snapshot, as it was when the snapshot began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// Its database.
    pub db: usize,
    /// The key.
    pub key: Box<[u8]>,
    /// Its value.
    pub value: Value,
    /// Its expiry (Unix ms), if any. It may be at or before [`Snapshot::now_ms`]: writers
    /// leave such keys out.
    pub expire_at_ms: Option<u64>,
}

/// A running snapshot: the order in which it visits keys and how far it got. Owned by
/// whoever writes the snapshot; see the module docs.
#[derive(Debug)]
pub struct Snapshot {
    /// Which of the store's snapshots this is ([`Store::begin_snapshot`] counts them).
    id: u64,
    now_ms: u64,
    dbs: Vec<DbOrder>,
    /// The database being visited.
    current: usize,
    sorted: bool,
    /// The function libraries' sources at the start: written before the keys.
    functions: Vec<bytes::Bytes>,
}

#[derive(Debug)]
struct DbOrder {
    hashes: Vec<u64>,
    pos: usize,
    keys_at_start: usize,
    volatile_at_start: usize,
}

impl Snapshot {
    /// The time the snapshot stands for.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Keys and keys with an expiry in database `db` when the snapshot began (for RDB's
    /// RESIZEDB hint).
    pub fn db_size(&self, db: usize) -> (usize, usize) {
        self.dbs
            .get(db)
            .map_or((0, 0), |d| (d.keys_at_start, d.volatile_at_start))
    }

    /// Sorts the visiting order. Call it without holding the store (it is the expensive
    /// part of starting: O(n log n)); [`Store::snapshot_step`] calls it if you did not.
    pub fn prepare(&mut self) {
        if !self.sorted {
            for db in &mut self.dbs {
                db.hashes.sort_unstable();
                db.hashes.dedup();
            }
            self.sorted = true;
        }
    }
}

impl Snapshot {
    /// The function libraries' sources as they were when the snapshot began (an RDB file
    /// holds them before the keys; an AOF rewrite starts with a FUNCTION LOAD of each).
    pub fn functions(&self) -> &[bytes::Bytes] {
        &self.functions
    }
}

impl Store {
    /// Begins a snapshot of every database as it is now (see the module docs), or returns
    /// `None` if one is running already: there is one at a time. O(keys) under the lock,
    /// one hash per key; no value is copied here.
    pub fn begin_snapshot(&mut self, now_ms: u64) -> Option<Snapshot> {
        if self.snapshot_running {
            return None;
        }
        self.snapshot_running = true;
        self.snapshot_id += 1;
        let dbs = self
            .dbs
            .iter_mut()
            .map(|db| DbOrder {
                keys_at_start: db.len(),
                volatile_at_start: db.volatile_len(),
                hashes: db.begin_snapshot(),
                pos: 0,
            })
            .collect();
        let functions = self
            .scripts
            .functions
            .libraries()
            .map(|l| l.code.clone())
            .collect();
        Some(Snapshot {
            id: self.snapshot_id,
            now_ms,
            dbs,
            current: 0,
            sorted: false,
            functions,
        })
    }

    /// True while a snapshot runs (between [`Store::begin_snapshot`] and its last step or
    /// [`Store::end_snapshot`]).
    pub fn snapshot_running(&self) -> bool {
        self.snapshot_running
    }

    /// Appends the next entries of `snap` to `out`: the copies taken before changes, and
    /// about `max_keys` keys in visiting order. Once it returns [`SnapshotStep::Done`] the
    /// snapshot is over: the store keeps nothing more for it.
    pub fn snapshot_step(
        &mut self,
        snap: &mut Snapshot,
        max_keys: usize,
        out: &mut Vec<SnapshotEntry>,
    ) -> SnapshotStep {
        if !self.snapshot_running || snap.id != self.snapshot_id {
            return SnapshotStep::Abandoned;
        }
        snap.prepare();
        let mut budget = max_keys.max(1);
        let mut raw = Vec::new();
        while let Some(order) = snap.dbs.get_mut(snap.current) {
            if budget == 0 {
                return SnapshotStep::More;
            }
            let index = snap.current;
            let end = (order.pos + budget).min(order.hashes.len());
            let chunk = &order.hashes[order.pos..end];
            let next = order.hashes.get(end).copied();
            budget -= chunk.len();
            order.pos = end;
            let complete = self.dbs[index].snapshot_take(chunk, next, &mut raw);
            out.extend(
                raw.drain(..)
                    .map(|(key, value, expire_at_ms)| SnapshotEntry {
                        db: index,
                        key,
                        value,
                        expire_at_ms,
                    }),
            );
            if !complete {
                return SnapshotStep::More;
            }
            self.dbs[index].end_snapshot();
            snap.current += 1;
        }
        self.end_snapshot();
        SnapshotStep::Done
    }

    /// Abandons the running snapshot, if any (its writer failed or was cancelled).
    pub fn end_snapshot(&mut self) {
        for db in &mut self.dbs {
            db.end_snapshot();
        }
        self.snapshot_running = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Rng;

    fn s(v: &str) -> Value {
        Value::str(v.as_bytes())
    }

    /// Every key of every database, sorted: what a snapshot must reproduce.
    fn contents(store: &mut Store, now: u64) -> Vec<SnapshotEntry> {
        let mut all = Vec::new();
        for (db, d) in store.dbs().iter().enumerate() {
            for (key, value, expire_at_ms) in d.entries(now) {
                all.push(SnapshotEntry {
                    db,
                    key: key.into(),
                    value: value.clone(),
                    expire_at_ms,
                });
            }
        }
        all.sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
        all
    }

    fn sorted(mut v: Vec<SnapshotEntry>) -> Vec<SnapshotEntry> {
        v.sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
        v
    }

    /// Random writes of every kind between the steps of a snapshot never change what the
    /// snapshot holds: the store as it was at the start, each key once.
    #[test]
    fn snapshot_is_the_store_at_its_start_whatever_happens_meanwhile() {
        let now = 1_000_000;
        for seed in 0..40u64 {
            let mut rng = Rng::new(seed);
            let mut store = Store::default();
            let keys = 1 + rng.below(300);
            for i in 0..keys {
                let db = rng.below(3);
                let ttl = (rng.below(4) == 0).then(|| now + 1 + rng.below(100) as u64);
                store
                    .db(db)
                    .insert(format!("k{i}").as_bytes(), s(&format!("v{i}")), ttl, now);
            }
            let want = contents(&mut store, now);
            let mut snap = store.begin_snapshot(now).expect("none running");
            assert!(store.begin_snapshot(now).is_none(), "one at a time");
            let mut out = Vec::new();
            let mut t = now;
            loop {
                for _ in 0..rng.below(20) {
                    let db = rng.below(3);
                    let key = format!("k{}", rng.below(keys + 50));
                    let key = key.as_bytes();
                    match rng.below(12) {
                        0..=3 => store.db(db).insert(key, s("changed"), None, t),
                        4..=5 => {
                            store.db(db).remove(key, t);
                        }
                        6 => {
                            store.db(db).update(key, t, |v| {
                                *v = s("updated");
                                ((), true)
                            });
                        }
                        7 => {
                            store.db(db).set_expire_at_ms(key, Some(t + 5), t);
                        }
                        8 => {
                            // Time passes: lazy and active expiry remove keys.
                            t += rng.below(50) as u64;
                            store.db(db).handle_timeout(t, 10);
                            store.db(db).get(key, t);
                        }
                        9 if rng.below(20) == 0 => store.db(db).clear(),
                        10 if rng.below(20) == 0 => store.swap_dbs(0, 2),
                        _ => {
                            store.db(db).get_mut(key, t);
                        }
                    }
                }
                if store.snapshot_step(&mut snap, 1 + rng.below(40), &mut out) == SnapshotStep::Done
                {
                    break;
                }
            }
            assert!(!store.snapshot_running());
            let got: Vec<SnapshotEntry> = sorted(out)
                .into_iter()
                .filter(|e| e.expire_at_ms.map_or(true, |at| at > now))
                .collect();
            assert_eq!(got.len(), want.len(), "seed {seed}");
            assert_eq!(got, want, "seed {seed}");
        }
    }

    #[test]
    fn nothing_is_copied_once_the_snapshot_is_over() {
        let now = 1_000;
        let mut store = Store::default();
        store.db(0).insert(b"a", s("1"), None, now);
        let mut snap = store.begin_snapshot(now).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            store.snapshot_step(&mut snap, 10, &mut out),
            SnapshotStep::Done
        );
        assert_eq!(out.len(), 1);
        store.db(0).insert(b"a", s("2"), None, now);
        store.db(0).insert(b"b", s("2"), None, now);
        assert!(store.dbs()[0].snapshot_is_idle());
        assert!(store.begin_snapshot(now).is_some(), "a new one may start");
        assert_eq!(
            store.snapshot_step(&mut snap, 10, &mut out),
            SnapshotStep::Abandoned,
            "the old one is stale"
        );
        store.end_snapshot();
        let mut snap = store.begin_snapshot(now).unwrap();
        store.end_snapshot();
        assert_eq!(
            store.snapshot_step(&mut snap, 10, &mut out),
            SnapshotStep::Abandoned
        );
    }
}
