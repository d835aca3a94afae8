//! Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
//! BZMPOP): who waits for which keys, in which order, until when.
//!
//! The registry only holds the waits. The [`super::Db`]s note when a key a client waits for
//! is given a list or a sorted set ("ready", as Redis's `signalKeyAsReady`); after each
//! command (after EXEC for a transaction) the session runs `cmd::blocking::serve_ready`,
//! which pops on behalf of the waiting clients, oldest first, and leaves each reply in the
//! store as a [`super::Message::Unblocked`] for the adapter to route.

use std::collections::{BTreeSet, HashMap, VecDeque};

use bytes::Bytes;

use super::types::list::End;
use super::ClientId;
use crate::resp::Protocol;

/// What a blocked client waits to do once a key is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockedOp {
    /// BLPOP / BRPOP: one element from `end`; replies `[key, element]`.
    Pop {
        /// The end to pop from.
        end: End,
    },
    /// BLMPOP: up to `count` elements from `end`; replies `[key, [elements]]`.
    MPop {
        /// The end to pop from.
        end: End,
        /// The most elements to pop.
        count: usize,
    },
    /// BLMOVE / BRPOPLPUSH: pops from `from`, pushes to `dst` at `to`; replies the element.
    Move {
        /// The destination key.
        dst: Bytes,
        /// The end to pop from.
        from: End,
        /// The end to push to.
        to: End,
        /// True for BRPOPLPUSH (logged as RPOPLPUSH).
        rpoplpush: bool,
    },
    /// BZPOPMIN / BZPOPMAX: replies `[key, member, score]`.
    ZPop {
        /// True for BZPOPMAX.
        max: bool,
    },
    /// BZMPOP: up to `count` members; replies `[key, [[member, score], …]]`.
    ZMPop {
        /// True for MAX.
        max: bool,
        /// The most members to pop.
        count: usize,
    },
    /// XREAD: entries above an id per stream; replies `[[key, entries]]`.
    Stream(Box<StreamWait>),
}

impl BlockedOp {
    /// True if the operation waits for a sorted set (else a list).
    pub fn wants_zset(&self) -> bool {
        matches!(self, BlockedOp::ZPop { .. } | BlockedOp::ZMPop { .. })
    }

    /// True if the operation waits for a stream.
    pub fn wants_stream(&self) -> bool {
        matches!(self, BlockedOp::Stream(_))
    }
}

/// What a client blocked in XREAD waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamWait {
    /// Each key with the id its entries must be above.
    pub ids: Vec<(Bytes, super::StreamId)>,
    /// The most entries per stream (1000 when XREAD had no COUNT).
    pub count: usize,
    /// XREADGROUP: the group, the consumer, and NOACK.
    pub group: Option<(Bytes, Bytes, bool)>,
}

/// One blocked client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The client.
    pub client: ClientId,
    /// The database its keys are in.
    pub db: usize,
    /// The protocol its reply is written in.
    pub proto: Protocol,
    /// The keys it waits on, in the order given (served from the first that is ready).
    pub keys: Vec<Bytes>,
    /// When it gives up (Unix ms); `None` waits forever.
    pub deadline_ms: Option<u64>,
    /// What it does once served.
    pub op: BlockedOp,
}

/// The blocked clients of a store.
#[derive(Debug, Default)]
pub(crate) struct BlockedClients {
    clients: HashMap<ClientId, Blocked>,
    /// (db, key) → clients waiting, in the order they blocked.
    queues: HashMap<(usize, Bytes), VecDeque<ClientId>>,
    deadlines: BTreeSet<(u64, ClientId)>,
}

impl BlockedClients {
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn contains(&self, client: ClientId) -> bool {
        self.clients.contains_key(&client)
    }

    pub fn get(&self, client: ClientId) -> Option<&Blocked> {
        self.clients.get(&client)
    }

    /// Registers `b`; returns the distinct keys newly waited on by it (for the databases'
    /// awaited-key counts).
    pub fn add(&mut self, mut b: Blocked) -> Vec<Bytes> {
        let mut distinct: Vec<Bytes> = Vec::with_capacity(b.keys.len());
        for k in &b.keys {
            if !distinct.contains(k) {
                distinct.push(k.clone());
            }
        }
        for k in &distinct {
            self.queues
                .entry((b.db, k.clone()))
                .or_default()
                .push_back(b.client);
        }
        if let Some(at) = b.deadline_ms {
            self.deadlines.insert((at, b.client));
        }
        b.keys = distinct.clone();
        self.clients.insert(b.client, b);
        distinct
    }

    /// Unregisters `client`, returning its wait (its keys are the distinct ones).
    pub fn remove(&mut self, client: ClientId) -> Option<Blocked> {
        let b = self.clients.remove(&client)?;
        for k in &b.keys {
            let slot = (b.db, k.clone());
            if let Some(q) = self.queues.get_mut(&slot) {
                q.retain(|&c| c != client);
                if q.is_empty() {
                    self.queues.remove(&slot);
                }
            }
        }
        if let Some(at) = b.deadline_ms {
            self.deadlines.remove(&(at, client));
        }
        Some(b)
    }

    /// The clients waiting on `key` in `db`, oldest first.
    pub fn waiters(&self, db: usize, key: &[u8]) -> Vec<ClientId> {
        self.queues
            .get(&(db, Bytes::copy_from_slice(key)))
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// The clients whose deadline is at or before `now_ms`, earliest first.
    pub fn due(&self, now_ms: u64) -> Vec<ClientId> {
        self.deadlines
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .map(|(_, c)| *c)
            .collect()
    }
}

impl super::Store {
    /// Registers a blocked client (the session has marked itself blocked).
    pub(crate) fn block(&mut self, b: Blocked) {
        let (db, client) = (b.db, b.client);
        for k in self.blocked.add(b) {
            self.db(db).block_on(&k);
        }
        if let Some(c) = self.server.clients.get_mut(client) {
            c.blocked = true;
        }
    }

    /// Unregisters a blocked client, returning its wait.
    pub(crate) fn take_blocked(&mut self, client: ClientId) -> Option<Blocked> {
        let b = self.blocked.remove(client)?;
        for k in &b.keys {
            self.db(b.db).unblock_on(k);
        }
        if let Some(c) = self.server.clients.get_mut(client) {
            c.blocked = false;
        }
        Some(b)
    }

    /// The wait of a blocked client.
    pub(crate) fn blocked(&self, client: ClientId) -> Option<&Blocked> {
        self.blocked.get(client)
    }

    /// The clients blocked on `key` in `db`, oldest first.
    pub(crate) fn blocked_waiters(&self, db: usize, key: &[u8]) -> Vec<ClientId> {
        self.blocked.waiters(db, key)
    }

    /// Number of clients blocked on keys (INFO `blocked_clients`).
    pub fn blocked_clients(&self) -> usize {
        self.blocked.len()
    }

    /// True if `client` is blocked on keys.
    pub fn is_blocked(&self, client: ClientId) -> bool {
        self.blocked.contains(client)
    }

    /// CLIENT UNBLOCK: ends `client`'s wait as a timeout (a null array), or with `error`
    /// with `-UNBLOCKED client unblocked via CLIENT UNBLOCK`. The reply goes out as a
    /// [`super::Message::Unblocked`] delivery. Returns false if it was not blocked.
    pub fn unblock_client(&mut self, client: ClientId, error: bool) -> bool {
        let Some(b) = self.take_blocked(client) else {
            return false;
        };
        let reply = if error {
            Bytes::from_static(b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
        } else {
            timeout_reply(b.proto)
        };
        self.deliver(client, super::Message::Unblocked(reply));
        true
    }

    /// Replies a timeout to the blocked clients whose deadline is at or before `now_ms`.
    pub(crate) fn handle_blocked_timeout(&mut self, now_ms: u64) {
        for client in self.blocked.due(now_ms) {
            self.unblock_client(client, false);
        }
    }

    /// True if some key is ready for its blocked clients. Only a waiting client makes a key
    /// ready: with none (as after almost every command), no database needs a look.
    #[inline]
    pub(crate) fn has_ready_keys(&self) -> bool {
        self.blocked_clients() > 0 && self.dbs().iter().any(super::Db::has_ready_keys)
    }

    /// The keys made ready since the last call: (database, key), database by database.
    pub(crate) fn take_ready_keys(&mut self) -> Vec<(usize, Box<[u8]>)> {
        let mut ready = Vec::new();
        for i in 0..self.databases() {
            ready.extend(self.db(i).take_ready_keys().into_iter().map(|k| (i, k)));
        }
        ready
    }
}

/// The reply of a blocking command that timed out (or was unblocked by CLIENT UNBLOCK
/// without ERROR): a null array in the client's protocol.
fn timeout_reply(proto: crate::resp::Protocol) -> Bytes {
    Bytes::from_static(match proto {
        crate::resp::Protocol::Resp2 => b"*-1\r\n",
        crate::resp::Protocol::Resp3 => b"_\r\n",
    })
}
