//! Client-side caching (CLIENT TRACKING), as Redis 7.0's `tracking.c`.
//!
//! A tracking client is told when a key it may hold in its own cache changes. Two modes:
//!
//! - **Default.** Each key a tracking client reads (a command flagged `readonly`, its keys
//!   found from the command's key specifications) is remembered in one table, key → client
//!   ids, across databases: Redis's keys are not per database here either. The first change
//!   to the key invalidates it for every client remembered, and forgets them; reading it
//!   again remembers it again. OPTIN remembers only after `CLIENT CACHING yes`, OPTOUT all
//!   but after `CLIENT CACHING no`.
//! - **BCAST.** Nothing is remembered: every change to a key under one of the client's
//!   prefixes (`""` when none is given) is collected per prefix and sent, a batch per
//!   prefix, when the server is about to wait for more input (Redis's `beforeSleep`; here,
//!   when the adapter has drained [`crate::Store::poll_delivery`]).
//!
//! Changes reach this module through the key-event stream: the databases queue a
//! `Modified` event at the same choke points that dirty WATCHed keys (`db/keyspace.rs`),
//! while anyone tracks, and the store hands each to [`Tracking::invalidate`]. A flush
//! (FLUSHDB, FLUSHALL) invalidates everything at once, with a null.
//!
//! Invalidations for the client whose command made the change are written after that
//! command's reply (after EXEC's whole reply in a transaction); every other client gets
//! them as a [`crate::db::Message::Invalidate`] delivery. The receiving session words them: a RESP3
//! `invalidate` push, or — redirected to a RESP2 connection in subscribed mode — a message
//! on `__redis__:invalidate`; a RESP2 connection with no redirection gets nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use bytes::Bytes;

use super::{ClientId, Rng};
use crate::resp::Protocol;

/// The channel a RESP2 connection receives redirected invalidations on.
pub const INVALIDATE_CHANNEL: &[u8] = b"__redis__:invalidate";

/// The options of one tracking client (CLIENT TRACKING ON …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackingClient {
    /// REDIRECT: the client that receives the invalidations; 0 for this one.
    pub redirect: ClientId,
    /// BCAST mode.
    pub bcast: bool,
    /// OPTIN: remember keys only after `CLIENT CACHING yes`.
    pub optin: bool,
    /// OPTOUT: remember keys except after `CLIENT CACHING no`.
    pub optout: bool,
    /// NOLOOP: no invalidations for changes this client made.
    pub noloop: bool,
    /// The redirection target was found gone (flag `R`, `broken_redirect`).
    pub broken_redirect: bool,
    /// BCAST prefixes, in order.
    pub prefixes: BTreeSet<Bytes>,
}

/// The options CLIENT TRACKING ON asks for, checked by [`Tracking::check_enable`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackingOptions {
    /// REDIRECT id, 0 for none.
    pub redirect: ClientId,
    /// BCAST.
    pub bcast: bool,
    /// OPTIN.
    pub optin: bool,
    /// OPTOUT.
    pub optout: bool,
    /// NOLOOP.
    pub noloop: bool,
    /// PREFIX …, in the order given.
    pub prefixes: Vec<Bytes>,
}

/// The keys changed under one BCAST prefix since the last broadcast, and its clients.
#[derive(Debug, Default)]
struct Prefix {
    clients: BTreeSet<ClientId>,
    /// Key → the client that changed it last (for NOLOOP), `None` for the server itself.
    keys: BTreeMap<Box<[u8]>, Option<ClientId>>,
}

/// One remembered key and the clients that may cache it.
#[derive(Debug)]
struct Slot {
    key: Box<[u8]>,
    clients: Vec<ClientId>,
}

/// The key table: slots in a vector (so a random one is O(1) to pick when the table is
/// over `tracking-table-max-keys`) indexed by a hash table of positions.
#[derive(Debug, Default)]
struct Table {
    slots: Vec<Slot>,
    index: hashbrown::HashTable<usize>,
    hasher: foldhash::fast::FixedState,
    /// Client ids across all slots (INFO `tracking_total_items`).
    items: usize,
}

impl Table {
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn remember(&mut self, key: &[u8], client: ClientId) {
        let hash = self.hash(key);
        let slots = &mut self.slots;
        let at = match self.index.find(hash, |&i| *slots[i].key == *key) {
            Some(&i) => i,
            None => {
                let i = slots.len();
                slots.push(Slot {
                    key: key.into(),
                    clients: Vec::new(),
                });
                let (slots, hasher) = (&self.slots, &self.hasher);
                self.index
                    .insert_unique(hash, i, |&j| hasher.hash_one(&*slots[j].key));
                i
            }
        };
        let clients = &mut self.slots[at].clients;
        if !clients.contains(&client) {
            clients.push(client);
            self.items += 1;
        }
    }

    /// Forgets `key`, returning the clients that were remembered for it.
    fn take(&mut self, key: &[u8]) -> Option<Vec<ClientId>> {
        let hash = self.hash(key);
        let slots = &self.slots;
        let at = match self.index.find_entry(hash, |&i| *slots[i].key == *key) {
            Ok(entry) => entry.remove().0,
            Err(_) => return None,
        };
        Some(self.remove_slot(at).clients)
    }

    /// Removes the slot at `at` (already out of the index), moving the last one into its
    /// place.
    fn remove_slot(&mut self, at: usize) -> Slot {
        let slot = self.slots.swap_remove(at);
        self.items -= slot.clients.len();
        if at < self.slots.len() {
            let moved = self.hash(&self.slots[at].key);
            let last = self.slots.len();
            if let Some(i) = self.index.find_mut(moved, |&i| i == last) {
                *i = at;
            }
        }
        slot
    }

    /// Forgets a random key, returning it and its clients.
    fn take_random(&mut self, rng: &mut Rng) -> Option<Slot> {
        if self.slots.is_empty() {
            return None;
        }
        let at = rng.below(self.slots.len());
        let hash = self.hash(&self.slots[at].key);
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == at) {
            entry.remove();
        }
        Some(self.remove_slot(at))
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.index.clear();
        self.items = 0;
    }
}

/// What an invalidation says: these keys changed, or (after a flush) all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidated {
    /// These keys.
    Keys(Vec<Bytes>),
    /// Every key (FLUSHDB, FLUSHALL): written as the tracking client's null (`_` in RESP3,
    /// `$-1` in RESP2 — the tracking client's protocol, even when redirected).
    All {
        /// The tracking client speaks RESP3.
        resp3: bool,
    },
}

/// The tracking state of the server.
#[derive(Debug, Default)]
pub(crate) struct Tracking {
    clients: HashMap<ClientId, TrackingClient>,
    table: Table,
    prefixes: BTreeMap<Bytes, Prefix>,
    /// Some prefix collected a key since the last broadcast.
    broadcast_due: bool,
    /// The client whose command runs now, if any (NOLOOP; invalidations after its reply).
    pub current: Option<ClientId>,
    /// Invalidations for [`Tracking::current`], written after its command's reply.
    pending_self: Vec<Invalidated>,
    /// Times in a row the table was still over its limit after an eviction pass.
    over_limit_passes: u32,
}

impl Tracking {
    /// Clients with tracking on (INFO `tracking_clients`).
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// True while any client tracks: the databases then queue their changes.
    pub fn active(&self) -> bool {
        !self.clients.is_empty()
    }

    /// Keys remembered (INFO `tracking_total_keys`).
    pub fn total_keys(&self) -> usize {
        self.table.slots.len()
    }

    /// Client ids remembered across all keys (INFO `tracking_total_items`).
    pub fn total_items(&self) -> usize {
        self.table.items
    }

    /// BCAST prefixes some client listens to (INFO `tracking_total_prefixes`).
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// The options of `client`, if it tracks.
    pub fn get(&self, client: ClientId) -> Option<&TrackingClient> {
        self.clients.get(&client)
    }

    /// Checks CLIENT TRACKING ON's options against each other and `client`'s current mode,
    /// in Redis's order; the error is Redis's text (without `ERR `).
    pub fn check_enable(&self, client: ClientId, o: &TrackingOptions) -> Result<(), String> {
        if !o.bcast && !o.prefixes.is_empty() {
            return Err("PREFIX option requires BCAST mode to be enabled".into());
        }
        let current = self.clients.get(&client);
        if current.is_some_and(|c| c.bcast != o.bcast) {
            return Err(
                "You can't switch BCAST mode on/off before disabling tracking for \
                        this client, and then re-enabling it with a different mode."
                    .into(),
            );
        }
        if o.bcast && (o.optin || o.optout) {
            return Err("OPTIN and OPTOUT are not compatible with BCAST".into());
        }
        if o.optin && o.optout {
            return Err("You can't specify both OPTIN mode and OPTOUT mode".into());
        }
        if current.is_some_and(|c| (o.optin && c.optout) || (o.optout && c.optin)) {
            return Err(
                "You can't switch OPTIN/OPTOUT mode before disabling tracking for \
                        this client, and then re-enabling it with a different mode."
                    .into(),
            );
        }
        if o.bcast {
            let existing = current.map(|c| &c.prefixes);
            for (i, p) in o.prefixes.iter().enumerate() {
                let overlaps = |a: &[u8], b: &[u8]| {
                    let n = a.len().min(b.len());
                    a[..n] == b[..n]
                };
                if let Some(e) = existing.and_then(|e| e.iter().find(|e| overlaps(e, p))) {
                    return Err(format!(
                        "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a \
                         single client must not overlap.",
                        String::from_utf8_lossy(p),
                        String::from_utf8_lossy(e)
                    ));
                }
                if let Some(q) = o.prefixes[i + 1..].iter().find(|q| overlaps(p, q)) {
                    return Err(format!(
                        "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes \
                         for a single client must not overlap.",
                        String::from_utf8_lossy(p),
                        String::from_utf8_lossy(q)
                    ));
                }
            }
        }
        Ok(())
    }

    /// CLIENT TRACKING ON with options already checked ([`Tracking::check_enable`]). Turning
    /// it on again keeps the BCAST prefixes already registered and adds the new ones, as
    /// Redis does.
    pub fn enable(&mut self, client: ClientId, o: TrackingOptions) {
        let c = self.clients.entry(client).or_default();
        c.redirect = o.redirect;
        c.broken_redirect = false;
        c.bcast = o.bcast;
        c.optin = o.optin;
        c.optout = o.optout;
        c.noloop = o.noloop;
        if o.bcast {
            let mut prefixes = o.prefixes;
            if prefixes.is_empty() {
                prefixes.push(Bytes::new());
            }
            for p in prefixes {
                self.prefixes
                    .entry(p.clone())
                    .or_default()
                    .clients
                    .insert(client);
                c.prefixes.insert(p);
            }
        }
    }

    /// CLIENT TRACKING OFF, RESET, or the connection closed. The keys remembered for it are
    /// forgotten lazily, as in Redis: an invalidation finds it no longer tracking.
    pub fn disable(&mut self, client: ClientId) {
        let Some(c) = self.clients.remove(&client) else {
            return;
        };
        for p in c.prefixes {
            if let Some(state) = self.prefixes.get_mut(&p) {
                state.clients.remove(&client);
                if state.clients.is_empty() {
                    self.prefixes.remove(&p);
                }
            }
        }
    }

    /// Remembers that `client` (tracking, not BCAST) read `keys`, unless OPTIN/OPTOUT and
    /// CLIENT CACHING (`caching`) say otherwise.
    pub fn remember(&mut self, client: ClientId, caching: bool, keys: &[Bytes]) {
        let Some(c) = self.clients.get(&client) else {
            return;
        };
        if c.bcast || (c.optin && !caching) || (c.optout && caching) {
            return;
        }
        for key in keys {
            self.table.remember(key, client);
        }
    }

    /// `key` changed: every client remembered for it is told (and forgotten), and the BCAST
    /// prefixes it falls under collect it. `bcast` is false for the table's own evictions.
    /// `send` gets each (tracking client, invalidation) for others than the running client;
    /// the running client's wait in [`Tracking::take_pending`].
    pub fn invalidate(
        &mut self,
        key: &[u8],
        bcast: bool,
        mut send: impl FnMut(ClientId, Invalidated),
    ) {
        if bcast && !self.prefixes.is_empty() {
            for (p, state) in self.prefixes.iter_mut() {
                if key.starts_with(p) {
                    state.keys.insert(key.into(), self.current);
                    self.broadcast_due = true;
                }
            }
        }
        let Some(ids) = self.table.take(key) else {
            return;
        };
        for id in ids {
            let Some(c) = self.clients.get(&id) else {
                continue;
            };
            if c.bcast || (c.noloop && self.current == Some(id)) {
                continue;
            }
            let keys = Invalidated::Keys(vec![Bytes::copy_from_slice(key)]);
            if self.current == Some(id) {
                self.pending_self.push(keys);
            } else {
                send(id, keys);
            }
        }
    }

    /// A flush (of any database: Redis 7.0 too forgets every key then): every tracking
    /// client is told that all keys are invalid, and the table is emptied. `resp3` says
    /// which tracking clients speak RESP3 (their null is `_`).
    pub fn invalidate_all(
        &mut self,
        resp3: impl Fn(ClientId) -> bool,
        mut send: impl FnMut(ClientId, Invalidated),
    ) {
        let mut ids: Vec<ClientId> = self.clients.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let all = Invalidated::All { resp3: resp3(id) };
            if self.current == Some(id) {
                self.pending_self.push(all);
            } else {
                send(id, all);
            }
        }
        self.table.clear();
    }

    /// True if invalidations wait for the running client's reply.
    #[inline]
    pub fn has_pending(&self) -> bool {
        !self.pending_self.is_empty()
    }

    /// The invalidations for the running client, for after its reply.
    pub fn take_pending(&mut self) -> Vec<Invalidated> {
        std::mem::take(&mut self.pending_self)
    }

    /// True if a BCAST prefix collected keys since the last [`Tracking::broadcast`].
    pub fn broadcast_due(&self) -> bool {
        self.broadcast_due
    }

    /// Sends each BCAST prefix's collected keys to its clients (without the keys a NOLOOP
    /// client changed itself), then starts collecting afresh.
    pub fn broadcast(&mut self, mut send: impl FnMut(ClientId, Invalidated)) {
        self.broadcast_due = false;
        for state in self.prefixes.values_mut() {
            if state.keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut state.keys);
            for &id in &state.clients {
                let noloop = self.clients.get(&id).is_some_and(|c| c.noloop);
                let list: Vec<Bytes> = keys
                    .iter()
                    .filter(|(_, by)| !noloop || **by != Some(id))
                    .map(|(k, _)| Bytes::copy_from_slice(k))
                    .collect();
                if !list.is_empty() {
                    send(id, Invalidated::Keys(list));
                }
            }
        }
    }

    /// Forgets random keys while the table is over `max_keys` (0: no limit), telling their
    /// clients as if the keys had changed. Each pass tries harder than the last one that
    /// ended still over the limit, as Redis's `trackingLimitUsedSlots`.
    pub fn limit(
        &mut self,
        max_keys: u64,
        rng: &mut Rng,
        mut send: impl FnMut(ClientId, Invalidated),
    ) {
        if max_keys == 0 || self.table.slots.len() as u64 <= max_keys {
            self.over_limit_passes = 0;
            return;
        }
        let mut effort = 100 * (u64::from(self.over_limit_passes) + 1);
        while effort > 0 {
            effort -= 1;
            let Some(slot) = self.table.take_random(rng) else {
                break;
            };
            for id in slot.clients {
                if self.clients.get(&id).is_some_and(|c| !c.bcast) {
                    let keys = Invalidated::Keys(vec![Bytes::copy_from_slice(&slot.key)]);
                    send(id, keys);
                }
            }
            if self.table.slots.len() as u64 <= max_keys {
                self.over_limit_passes = 0;
                return;
            }
        }
        self.over_limit_passes += 1;
    }

    /// Marks `client`'s redirection broken (its target is gone).
    pub fn set_broken(&mut self, client: ClientId) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.broken_redirect = true;
        }
    }
}

/// Writes an invalidation as the receiving connection sees it: a RESP3 `invalidate` push;
/// for a RESP2 connection receiving another client's invalidations (`redirected`) while in
/// subscribed mode, a message on `__redis__:invalidate`; nothing otherwise. Returns false
/// when nothing was written.
pub fn encode_invalidation(
    what: &Invalidated,
    redirected: bool,
    proto: Protocol,
    subscribed: bool,
    out: &mut bytes::BytesMut,
) -> bool {
    use crate::resp::{encode_array_len, encode_bulk};
    if proto == Protocol::Resp3 {
        out.extend_from_slice(b">2\r\n");
        encode_bulk(out, b"invalidate");
    } else if redirected && subscribed {
        out.extend_from_slice(b"*3\r\n");
        encode_bulk(out, b"message");
        encode_bulk(out, INVALIDATE_CHANNEL);
    } else {
        return false;
    }
    match what {
        Invalidated::Keys(keys) => {
            // Always an array (`*`), in RESP3 too, as Redis writes it.
            encode_array_len(out, keys.len());
            for k in keys {
                encode_bulk(out, k);
            }
        }
        Invalidated::All { resp3: true } => out.extend_from_slice(b"_\r\n"),
        Invalidated::All { resp3: false } => out.extend_from_slice(b"$-1\r\n"),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn table_forgets_keys_in_any_order() {
        let mut t = Table::default();
        for (k, c) in [("a", 1), ("b", 1), ("c", 2), ("a", 2), ("a", 2)] {
            t.remember(k.as_bytes(), c);
        }
        assert_eq!((t.slots.len(), t.items), (3, 4));
        assert_eq!(t.take(b"a"), Some(vec![1, 2]));
        assert_eq!(t.take(b"a"), None);
        assert_eq!(t.take(b"c"), Some(vec![2]));
        assert_eq!(t.take(b"b"), Some(vec![1]));
        assert_eq!((t.slots.len(), t.items), (0, 0));
        let mut rng = Rng::new(7);
        for i in 0..50u32 {
            t.remember(&i.to_be_bytes(), 1);
        }
        for _ in 0..25 {
            t.take_random(&mut rng).unwrap();
        }
        // Every key left is still found through the index.
        let left: Vec<Box<[u8]>> = t.slots.iter().map(|s| s.key.clone()).collect();
        assert_eq!(left.len(), 25);
        for k in left {
            assert_eq!(t.take(&k), Some(vec![1]));
        }
    }

    #[test]
    fn options_are_checked_in_redis_order() {
        let mut t = Tracking::default();
        let opts = |f: &dyn Fn(&mut TrackingOptions)| {
            let mut o = TrackingOptions::default();
            f(&mut o);
            o
        };
        let prefix = opts(&|o| o.prefixes = vec![b("a")]);
        assert!(t
            .check_enable(1, &prefix)
            .unwrap_err()
            .starts_with("PREFIX option"));
        let both = opts(&|o| {
            o.optin = true;
            o.optout = true
        });
        assert_eq!(
            t.check_enable(1, &both).unwrap_err(),
            "You can't specify both OPTIN mode and OPTOUT mode"
        );
        let overlap = opts(&|o| {
            o.bcast = true;
            o.prefixes = vec![b("ab"), b("a")];
        });
        assert!(t
            .check_enable(1, &overlap)
            .unwrap_err()
            .contains("another provided prefix 'a'"));
        t.enable(1, opts(&|o| o.bcast = true));
        assert!(t
            .check_enable(1, &TrackingOptions::default())
            .unwrap_err()
            .contains("BCAST"));
        assert_eq!(t.total_prefixes(), 1);
        t.disable(1);
        assert_eq!((t.total_prefixes(), t.client_count()), (0, 0));
    }

    #[test]
    fn changes_reach_remembered_clients_once() {
        let mut t = Tracking::default();
        t.enable(1, TrackingOptions::default());
        t.enable(
            2,
            TrackingOptions {
                noloop: true,
                ..Default::default()
            },
        );
        t.remember(1, false, &[b("k")]);
        t.remember(2, false, &[b("k")]);
        t.current = Some(2);
        let mut sent = Vec::new();
        t.invalidate(b"k", true, |to, _| sent.push(to));
        // Client 2 changed it itself, with NOLOOP: nothing for it.
        assert_eq!(sent, vec![1]);
        assert!(t.take_pending().is_empty());
        t.invalidate(b"k", true, |_, _| {
            panic!("forgotten after the first change")
        });
    }
}
