//! Everything connections share: the databases, the pub/sub registry, server settings and
//! messages waiting to be handed to other connections.

use std::collections::VecDeque;

use super::{ClientId, Db, Message, PubSub};

/// Settings fixed when the store is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Number of databases SELECT can choose from (Redis's `databases`, 16).
    pub databases: usize,
    /// Keys the hash function of every database. Adapters pass a random value at start.
    pub hash_seed: u64,
    /// Most keys one [`Store::handle_timeout`] call removes, bounding its pause.
    pub max_expire_per_call: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            databases: 16,
            hash_seed: 0,
            max_expire_per_call: 1000,
        }
    }
}

/// A pub/sub message for a connection other than the one that published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The receiving connection.
    pub to: ClientId,
    /// What it receives.
    pub message: Message,
}

/// The shared state of a server.
///
/// An adapter keeps one `Store` for all connections and gives each [`crate::Session`]
/// exclusive access while it processes (e.g. behind a mutex): every command then runs
/// atomically with respect to every other connection.
///
/// After each [`crate::Session::process`], drain [`Store::poll_delivery`] and hand each
/// message to its receiving session with [`crate::Session::handle_message`]. Run
/// [`Store::handle_timeout`] when [`Store::poll_timeout`] says.
#[derive(Debug)]
pub struct Store {
    dbs: Vec<Db>,
    /// Channel and pattern subscriptions of all connections.
    pub pubsub: PubSub,
    deliveries: VecDeque<Delivery>,
    config: StoreConfig,
    settings: Vec<(String, String)>,
    next_client_id: ClientId,
    /// Commands executed since start (INFO stats).
    pub commands_processed: u64,
}

impl Store {
    /// A store with `config.databases` empty databases.
    pub fn new(config: StoreConfig) -> Store {
        let databases = config.databases.max(1);
        let dbs = (0..databases)
            .map(|i| Db::new(config.hash_seed ^ i as u64))
            .collect();
        Store {
            dbs,
            pubsub: PubSub::default(),
            deliveries: VecDeque::new(),
            config,
            settings: Vec::new(),
            next_client_id: 1,
            commands_processed: 0,
        }
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    /// Database `index`. Panics if out of range; sessions check SELECT against
    /// [`Store::databases`].
    pub fn db(&mut self, index: usize) -> &mut Db {
        &mut self.dbs[index]
    }

    /// All databases, in index order.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Empties every database.
    pub fn flush_all(&mut self) {
        self.dbs.iter_mut().for_each(Db::clear);
    }

    /// A fresh connection id (CLIENT ID), never reused.
    pub fn next_client_id(&mut self) -> ClientId {
        let id = self.next_client_id;
        self.next_client_id += 1;
        id
    }

    /// Records a setting that CONFIG GET reports (the adapter's port, maxclients, …).
    /// Names are lower case, as Redis's.
    pub fn set_setting(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.settings.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.settings.push((name.to_owned(), value)),
        }
    }

    /// Settings as name/value pairs, `databases` included.
    pub fn settings(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        std::iter::once(("databases", self.dbs.len().to_string()))
            .chain(self.settings.iter().map(|(n, v)| (n.as_str(), v.clone())))
    }

    pub(crate) fn publish(&mut self, channel: &bytes::Bytes, payload: &bytes::Bytes) -> usize {
        let deliveries = &mut self.deliveries;
        self.pubsub.publish(channel, payload, |to, message| {
            deliveries.push_back(Delivery { to, message })
        })
    }

    /// The next pub/sub message for some connection, in publish order.
    pub fn poll_delivery(&mut self) -> Option<Delivery> {
        self.deliveries.pop_front()
    }

    /// The earliest key expiry in any database: when to call [`Store::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<u64> {
        self.dbs.iter().filter_map(Db::poll_timeout).min()
    }

    /// Active expiry across all databases, removing at most
    /// [`StoreConfig::max_expire_per_call`] keys. Returns how many were removed.
    pub fn handle_timeout(&mut self, now_ms: u64) -> usize {
        let mut budget = self.config.max_expire_per_call;
        let mut removed = 0;
        for db in &mut self.dbs {
            let n = db.handle_timeout(now_ms, budget);
            removed += n;
            budget -= n;
            if budget == 0 {
                break;
            }
        }
        removed
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new(StoreConfig::default())
    }
}
