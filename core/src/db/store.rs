//! Everything connections share: the databases, the pub/sub registry, server settings and
//! messages waiting to be handed to other connections.

use std::collections::VecDeque;

use bytes::Bytes;

use super::blocking::BlockedClients;
use super::notify::{self, DbEvent};
use super::server_state::ServerState;
use super::tracking::{Invalidated, Tracking, TrackingOptions};
use super::{ClientId, Db, Message, PubSub, Rng};

/// Redis's reply to writes while `stop-writes-on-bgsave-error` holds them back.
const BGSAVE_ERROR: &str = "MISCONF Redis is configured to save RDB snapshots, but it's \
    currently unable to persist to disk. Commands that may modify the data set are disabled, \
    because this instance is configured to report errors during writes if RDB snapshotting \
    fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details \
    about the RDB error.";

/// Settings fixed when the store is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Number of databases SELECT can choose from (Redis's `databases`, 16).
    pub databases: usize,
    /// Keys the hash function of every database. Adapters pass a random value at start.
    pub hash_seed: u64,
    /// Most keys one [`Store::handle_timeout`] call removes, bounding its pause.
    pub max_expire_per_call: usize,
    /// Seeds the store's random generator (RANDOMKEY). Adapters pass a random value at start;
    /// tests pass a fixed one to replay a run.
    pub rng_seed: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            databases: 16,
            hash_seed: 0,
            max_expire_per_call: 1000,
            rng_seed: 0,
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

/// A change to replay, as Redis propagates it to its AOF and replicas: one command, in the
/// database it applies to, rewritten so that replaying it gives the same data whenever it
/// runs — relative expiries become absolute (`PEXPIREAT`, `SET … PXAT`), INCRBYFLOAT becomes
/// the `SET` of its result, GETEX becomes `PEXPIREAT`/`PERSIST`/`DEL`, and a key removed
/// because its time passed becomes `DEL`. Commands that changed nothing leave no effect.
/// An execution unit (one command, or one EXEC) with more than one effect is wrapped in
/// `MULTI` … `EXEC`, as Redis 7.0 does; active expiry logs one `DEL` per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// The database index (the replayer SELECTs it when it changes).
    pub db: usize,
    /// The command and its arguments.
    pub args: Vec<Bytes>,
}

impl Effect {
    fn new(db: usize, args: &[&[u8]]) -> Effect {
        Effect {
            db,
            args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
        }
    }
}

/// The shared state of a server.
///
/// An adapter keeps one `Store` for all connections and gives each [`crate::Session`]
/// exclusive access while it processes (e.g. behind a mutex): every command then runs
/// atomically with respect to every other connection.
///
/// After each [`crate::Session::process`], drain [`Store::poll_delivery`] and hand each
/// message to its receiving session with [`crate::Session::handle_message`]. Run
/// [`Store::handle_timeout`] when [`Store::poll_timeout`] says, and drain the deliveries
/// after it too.
///
/// Blocked clients (BLPOP & co., see `cmd/blocking.rs`) follow the same path: the reply of
/// a served or timed-out blocking command is a [`Message::Unblocked`] delivery; after
/// handing one to its session, call [`crate::Session::process`] on that session (with the
/// store held) so it runs the commands it had pipelined behind the blocking one.
/// [`Store::poll_timeout`] includes the blocked clients' deadlines.
///
/// With [`Store::set_effects_log`] on (off by default, and free when off), drain
/// [`Store::poll_effect`] too: it yields every change in order, ready for an append-only
/// file or a replica.
#[derive(Debug)]
pub struct Store {
    pub(crate) dbs: Vec<Db>,
    rng: Rng,
    pub(super) effects: Option<VecDeque<Effect>>,
    /// Replication, both roles (`db/repl.rs`).
    pub(crate) repl: super::repl::Replication,
    /// `min-replicas-to-write` is set or this is a replica: writes have replication's
    /// admission checks. One flag, so the common case costs one test per command.
    pub(crate) repl_write_gate: bool,
    /// Channel and pattern subscriptions of all connections.
    pub pubsub: PubSub,
    /// Users, their permissions and the ACL log (`acl/`).
    pub acl: crate::acl::Acl,
    /// The `requirepass` the default user's password was last set from, and the config
    /// epoch it was checked at.
    acl_requirepass: (Option<Bytes>, u64),
    deliveries: VecDeque<Delivery>,
    config: StoreConfig,
    /// Settings, client registry, statistics and process facts (see `server_state.rs`).
    pub(crate) server: ServerState,
    next_client_id: ClientId,
    /// Commands executed since start (INFO stats).
    pub commands_processed: u64,
    /// Clients blocked on keys (BLPOP…); see `db/blocking.rs`.
    pub(crate) blocked: BlockedClients,
    /// A snapshot (`db/snapshot.rs`) is running.
    pub(crate) snapshot_running: bool,
    /// CLIENT PAUSE (see `db/pause.rs`).
    pub(crate) pause: super::pause::ClientPause,
    /// Snapshots begun since start: tells a stale [`super::Snapshot`] from the running one.
    pub(crate) snapshot_id: u64,
    /// The adapter's file operations (SAVE, BGSAVE, BGREWRITEAOF), when it has any.
    disk: Option<Box<dyn crate::persist::Disk>>,
    /// The script cache and the engine that runs it (see `db/script.rs`).
    pub scripts: super::Scripts,
    /// The running script, as connections that cannot take the store see it.
    pub(crate) script_watch: std::sync::Arc<super::ScriptWatch>,
    /// The settings epoch the databases' event queues were set up for.
    key_events_epoch: u64,
    /// Some database queues its own key events (see [`Store::flush_key_events`]).
    key_events_on: bool,
    /// The running command writes: its lookups are not reads, and a missing key is no
    /// `keymiss` (Redis's `LOOKUP_WRITE`).
    pub(crate) write_lookups: bool,
    /// Client-side caching (CLIENT TRACKING; see `db/tracking.rs`).
    pub(crate) tracking: Tracking,
    /// Command timing, SLOWLOG, LATENCY, MONITOR (see `db/observe.rs`).
    pub(crate) observe: super::observe::Observe,
    /// Memory accounting (`db/memory.rs`).
    pub(crate) memory: super::memory::Memory,
    /// `maxmemory` eviction (`db/evict.rs`).
    pub(crate) evictor: super::evict::Evictor,
    /// The host's TLS context builder, for CONFIG SET of a TLS setting.
    tls_reload: Option<Box<dyn super::TlsReload>>,
    /// The host's file access for ACL LOAD and ACL SAVE (`acl/file.rs`).
    acl_file_io: Option<Box<dyn crate::acl::file::AclFileIo>>,
}

impl Store {
    /// A store with `config.databases` empty databases.
    pub fn new(config: StoreConfig) -> Store {
        let databases = config.databases.max(1);
        super::types::set_hash_seed(config.hash_seed);
        let rng_seed = config.rng_seed;
        let dbs = (0..databases)
            .map(|i| Db::new(config.hash_seed ^ i as u64))
            .collect();
        Store {
            dbs,
            rng: Rng::new(config.rng_seed),
            acl: crate::acl::Acl::new(),
            acl_requirepass: (None, u64::MAX),
            effects: None,
            repl: super::repl::Replication::new(),
            repl_write_gate: false,
            pubsub: PubSub::default(),
            deliveries: VecDeque::new(),
            server: ServerState::new(databases, config.rng_seed),
            config,
            next_client_id: 1,
            commands_processed: 0,
            blocked: BlockedClients::default(),
            snapshot_running: false,
            pause: Default::default(),
            snapshot_id: 0,
            disk: None,
            scripts: Default::default(),
            script_watch: Default::default(),
            key_events_epoch: 0,
            key_events_on: false,
            write_lookups: false,
            tracking: Tracking::default(),
            observe: Default::default(),
            memory: Default::default(),
            evictor: super::evict::Evictor::new(rng_seed),
            tls_reload: None,
            acl_file_io: None,
        }
    }

    /// Most keys one [`Store::handle_timeout`] call removes ([`StoreConfig`]): a call that
    /// removed that many may have left more to remove.
    pub fn max_expire_per_call(&self) -> usize {
        self.config.max_expire_per_call
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

    /// The users, as last brought up to date by [`Store::acl_mut`] (which applies a
    /// changed `requirepass`).
    pub fn acl(&self) -> &crate::acl::Acl {
        &self.acl
    }

    /// The ACL, with `requirepass` and `acllog-max-len` applied if the settings changed
    /// since the last call (Redis sets the default user's password when `requirepass` is
    /// set, and only then).
    pub fn acl_mut(&mut self) -> &mut crate::acl::Acl {
        let epoch = self.config_epoch();
        if self.acl_requirepass.1 != epoch {
            self.acl_requirepass.1 = epoch;
            let pass = self.config().requirepass.clone();
            if pass != self.acl_requirepass.0 {
                self.acl.set_default_password(pass.as_deref());
                self.acl_requirepass.0 = pass;
            }
            // Applied at the next entry, as in Redis: the log is not trimmed now.
            self.acl.log_max_len =
                usize::try_from(self.config().acllog_max_len).unwrap_or(usize::MAX);
        }
        &mut self.acl
    }

    /// A random 64-bit value from the store's seeded generator.
    pub(crate) fn random_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Database `index` and the store's random generator, for RANDOMKEY.
    pub(crate) fn db_and_rng(&mut self, index: usize) -> (&mut Db, &mut Rng) {
        (&mut self.dbs[index], &mut self.rng)
    }

    /// Two different databases at once (MOVE, COPY … DB).
    pub(crate) fn two_dbs(&mut self, a: usize, b: usize) -> (&mut Db, &mut Db) {
        assert_ne!(a, b);
        if a < b {
            let (lo, hi) = self.dbs.split_at_mut(b);
            (&mut lo[a], &mut hi[0])
        } else {
            let (lo, hi) = self.dbs.split_at_mut(a);
            (&mut hi[0], &mut lo[b])
        }
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

    /// Sets a setting from its text, as a configuration file line would (see
    /// [`crate::db::Config::set`]): the adapter's port, maxclients, … A value that does not
    /// parse is ignored; prefer [`Store::config_mut`] with typed fields.
    pub fn set_setting(&mut self, name: &str, value: impl Into<String>) {
        let _ = self.config_mut().set(name, &value.into());
    }

    /// Settings as name/value pairs, as CONFIG GET shows them.
    pub fn settings(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        self.server.config.all()
    }

    /// Queues `message` for connection `to` (see [`Store::poll_delivery`]).
    pub(crate) fn deliver(&mut self, to: ClientId, message: Message) {
        self.deliveries.push_back(Delivery { to, message });
    }

    pub(crate) fn publish(&mut self, channel: &bytes::Bytes, payload: &bytes::Bytes) -> usize {
        let deliveries = &mut self.deliveries;
        self.pubsub.publish(channel, payload, |to, message| {
            deliveries.push_back(Delivery { to, message })
        })
    }

    /// The next message for some connection — published, or a [`Message::Kill`] — in order.
    ///
    /// Drained, it also hands out what waits for the server to be about to sleep, as
    /// Redis's `beforeSleep`: the BCAST invalidations collected meanwhile.
    pub fn poll_delivery(&mut self) -> Option<Delivery> {
        if self.deliveries.is_empty() && self.tracking.broadcast_due() {
            let mut sends = Vec::new();
            self.tracking.broadcast(|id, what| sends.push((id, what)));
            self.send_invalidations(sends);
        }
        self.deliveries.pop_front()
    }

    /// When to call [`Store::handle_timeout`] next: the earliest key expiry in any database
    /// (unless active expiry is off), the earliest client to pass the idle `timeout`, or the
    /// earliest deadline of a blocked client (BLPOP…).
    pub fn poll_timeout(&self) -> Option<u64> {
        let keys = self
            .active_expire()
            .then(|| self.dbs.iter().filter_map(Db::poll_timeout).min())
            .flatten()
            // Keys do not expire while CLIENT PAUSE lasts.
            .map(|at| self.pause.end_ms().map_or(at, |end| at.max(end)));
        // Eviction past its time limit goes on at once (`db/evict.rs`).
        let evicting = self.evictor.running.then_some(0);
        [
            keys,
            self.client_timeout(),
            self.blocked.next_deadline(),
            evicting,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Active expiry across all databases, removing at most
    /// [`StoreConfig::max_expire_per_call`] keys. Returns how many were removed.
    ///
    /// Also closes the clients idle past `timeout`, and replies a timeout to the blocked
    /// clients past their deadline: drain [`Store::poll_delivery`] after this call too, and
    /// hand each message ([`Message::Kill`], [`Message::Unblocked`]) to its session.
    pub fn handle_timeout(&mut self, now_ms: u64) -> usize {
        self.sync_key_events();
        self.handle_client_timeout(now_ms);
        self.handle_blocked_timeout(now_ms);
        self.handle_eviction_timeout(now_ms);
        // While CLIENT PAUSE lasts the keyspace stays as it is, as in Redis.
        if !self.active_expire() || self.client_pause(now_ms).is_some() {
            return 0;
        }
        let mut budget = self.config.max_expire_per_call;
        let mut removed = 0;
        let start_us = self.monotonic_us();
        for db in &mut self.dbs {
            let n = db.handle_timeout(now_ms, budget);
            removed += n;
            budget -= n;
            if budget == 0 {
                break;
            }
        }
        // Redis's `expire-cycle` latency event: the active expiry pass's own time.
        let elapsed_ms = self.monotonic_us().saturating_sub(start_us) / 1000;
        self.handle_latency("expire-cycle", elapsed_ms, now_ms);
        self.flush_key_events();
        removed
    }

    /// Writes by commands in all databases (see [`Db::writes`]).
    pub fn writes(&self) -> u64 {
        self.dbs.iter().map(Db::writes).sum()
    }

    // --- WATCH -------------------------------------------------------------------------

    /// True if a key `client` watches changed, or — as Redis 7.0 checks at EXEC — one that
    /// was live when watched is now past its time, collected or not.
    pub(crate) fn watch_is_dirty<'a>(
        &self,
        client: ClientId,
        mut watched: impl Iterator<Item = &'a (usize, Bytes)>,
        now_ms: u64,
    ) -> bool {
        self.dbs.iter().any(|db| db.is_dirty(client))
            || watched.any(|(db, key)| self.dbs[*db].is_expired(key, now_ms))
    }

    /// Drops every watch of `client` and its dirty mark (EXEC, DISCARD, UNWATCH, close).
    pub(crate) fn unwatch_all(
        &mut self,
        client: ClientId,
        watched: impl IntoIterator<Item = (usize, Bytes)>,
    ) {
        for (db, key) in watched {
            self.dbs[db].unwatch(&key, client);
        }
        for db in &mut self.dbs {
            db.clear_dirty(client);
        }
    }

    // --- Effects log ---------------------------------------------------------------------

    /// Installs (or with `None` removes) the adapter's file operations, which SAVE, BGSAVE
    /// and BGREWRITEAOF use. Without them those commands reply with an error.
    pub fn set_disk(&mut self, disk: Option<Box<dyn crate::persist::Disk>>) {
        self.disk = disk;
    }

    /// True if the adapter installed file operations ([`Store::set_disk`]).
    pub fn has_disk(&self) -> bool {
        self.disk.is_some()
    }

    /// Why writes are refused now for a disk that fails them, as Redis's `-MISCONF` error
    /// (without its `-`): the last background save failed while save points are set and
    /// `stop-writes-on-bgsave-error` is on, or the append-only file cannot be written
    /// ([`crate::persist::Disk::aof_error`]).
    pub(crate) fn disk_error(&self) -> Option<String> {
        let config = self.config();
        if config.stop_writes_on_bgsave_error
            && !config.save.is_empty()
            && !self.persistence().last_bgsave_ok
        {
            return Some(BGSAVE_ERROR.to_owned());
        }
        if !config.appendonly {
            return None;
        }
        let error = self.disk.as_ref()?.aof_error()?;
        Some(format!("MISCONF Errors writing to the AOF file: {error}"))
    }

    /// Takes the adapter's file operations out of the store (to call them with the store).
    pub fn take_disk(&mut self) -> Option<Box<dyn crate::persist::Disk>> {
        self.disk.take()
    }

    /// Turns the effects log on or off. Turning it off drops what was not polled.
    pub fn set_effects_log(&mut self, on: bool) {
        self.repl.aof_effects = on;
        if self.repl.active() {
            // The replication stream reads the log too: it stays on.
            self.feed_replication();
            if let Some(effects) = &mut self.effects {
                effects.clear();
            }
            self.repl.reset_cursor();
            if self.effects.is_none() {
                self.effects = Some(VecDeque::new());
            }
        } else {
            self.effects = on.then(VecDeque::new);
        }
        self.set_key_event_masks();
    }

    pub(super) fn set_key_event_masks_pub(&mut self) {
        self.set_key_event_masks();
    }

    /// Plugs in what builds the host's TLS context from the settings: CONFIG SET of a TLS
    /// setting ([`super::SecurityConfig::TLS_RELOAD_PARAMS`]) calls it with the settings it
    /// would make, and applies them only if it succeeds.
    pub fn set_tls_reload(&mut self, reload: Box<dyn super::TlsReload>) {
        self.tls_reload = Some(reload);
    }

    /// Builds the host's TLS context again from `next` (see [`Store::set_tls_reload`]);
    /// `Ok` when no builder is plugged in (no TLS port).
    pub fn reload_tls(&mut self, next: &super::Config) -> Result<(), String> {
        match &mut self.tls_reload {
            Some(reload) => reload.reload(next),
            None => Ok(()),
        }
    }

    /// Plugs in the host's file access for ACL LOAD and ACL SAVE (`aclfile`).
    pub fn set_acl_file_io(&mut self, io: Box<dyn crate::acl::file::AclFileIo>) {
        self.acl_file_io = Some(io);
    }

    /// The host's file access for the ACL file, when plugged in.
    pub(crate) fn acl_file_io(
        &mut self,
    ) -> Option<&mut (dyn crate::acl::file::AclFileIo + 'static)> {
        self.acl_file_io.as_deref_mut()
    }

    /// Plugs a script engine in, for EVAL and its kin.
    pub fn set_script_engine(&mut self, mut engine: Box<dyn super::ScriptEngine>) {
        engine.watch(self.script_watch.clone());
        self.scripts.set_engine(engine);
    }

    /// What connections waiting for the store can see of a running script: take it once,
    /// before serving, and see [`crate::Session::process_busy`].
    pub fn script_watch(&self) -> std::sync::Arc<super::ScriptWatch> {
        self.script_watch.clone()
    }

    /// True while the effects log is on.
    pub fn effects_enabled(&self) -> bool {
        self.effects.is_some()
    }

    /// The oldest change not yet polled, when the effects log is on.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        if !self.repl.aof_effects {
            return None;
        }
        if self.repl.active() {
            self.before_poll_effect();
        }
        self.effects.as_mut()?.pop_front()
    }

    /// Sets the databases' event queues up again if the settings changed since (CONFIG SET
    /// notify-keyspace-events). Cheap: call it before every command.
    #[inline]
    pub(crate) fn sync_key_events(&mut self) {
        if self.key_events_epoch != self.server.config_epoch {
            self.set_key_event_masks();
            self.sync_access_policy();
            self.update_repl_write_gate();
        }
    }

    /// Each database queues the events someone consumes: expiries for the effects log or
    /// `x`, creations for `n`, misses for `m` — the last two only when published.
    fn set_key_event_masks(&mut self) {
        self.key_events_epoch = self.server.config_epoch;
        let flags = self.server.config.notify_keyspace_events;
        let published =
            |class: u32| flags & class != 0 && flags & (notify::KEYSPACE | notify::KEYEVENT) != 0;
        let mut mask = 0;
        if self.effects.is_some() || published(notify::EXPIRED) {
            mask |= DbEvent::Expired.bit();
        }
        if published(notify::NEW) {
            mask |= DbEvent::New.bit();
        }
        if published(notify::KEY_MISS) {
            mask |= DbEvent::Miss.bit();
        }
        if self.tracking.active() {
            mask |= DbEvent::Modified.bit();
        }
        for db in &mut self.dbs {
            db.set_event_mask(mask);
        }
        self.key_events_on = mask != 0;
    }

    /// Hands the events the databases queued on their own to their consumers, in order:
    /// an expiry becomes a `DEL` in the effects log and an `expired` notification, a
    /// creation a `new` one, a read's miss a `keymiss` one. The executor calls it after
    /// each command and before each event a command reports, so that Redis's order holds
    /// (`expired` and `new` before the command's own event).
    #[inline]
    pub(crate) fn flush_key_events(&mut self) {
        if self.key_events_on {
            self.flush_queued_key_events();
        }
    }

    fn flush_queued_key_events(&mut self) {
        for i in 0..self.dbs.len() {
            if !self.dbs[i].has_events() {
                continue;
            }
            for (event, key) in self.dbs[i].take_events() {
                match event {
                    DbEvent::Expired => {
                        if let Some(effects) = &mut self.effects {
                            effects.push_back(Effect::new(i, &[b"DEL", &key]));
                        }
                        self.notify(notify::EXPIRED, "expired", &key, i);
                    }
                    DbEvent::New => self.notify(notify::NEW, "new", &key, i),
                    DbEvent::Miss if self.write_lookups => {}
                    DbEvent::Miss => self.notify(notify::KEY_MISS, "keymiss", &key, i),
                    DbEvent::Modified => self.invalidate_key(&key),
                }
            }
        }
    }

    /// Client-side caching: `key` changed. Its tracking clients (other than the running
    /// one, whose invalidations wait for its reply) get a delivery.
    fn invalidate_key(&mut self, key: &[u8]) {
        let mut sends = Vec::new();
        self.tracking
            .invalidate(key, true, |id, what| sends.push((id, what)));
        self.send_invalidations(sends);
    }

    fn send_invalidations(&mut self, sends: Vec<(ClientId, Invalidated)>) {
        for (id, what) in sends {
            if let Some((to, message)) = self.route_invalidation(id, what) {
                self.deliver(to, message);
            }
        }
    }

    /// Where an invalidation for tracking client `id` goes, as Redis's
    /// `sendTrackingMessage`: to the client itself, or to its REDIRECT target; a target
    /// that is gone marks the redirection broken and tells the tracking client (RESP3
    /// only, when its session writes it).
    pub(crate) fn route_invalidation(
        &mut self,
        id: ClientId,
        what: Invalidated,
    ) -> Option<(ClientId, Message)> {
        let redirect = self.tracking.get(id)?.redirect;
        if redirect == 0 {
            return Some((
                id,
                Message::Invalidate {
                    what,
                    redirected: false,
                },
            ));
        }
        if self
            .server
            .clients
            .get(redirect)
            .filter(|c| !c.killed)
            .is_none()
        {
            self.tracking.set_broken(id);
            return Some((id, Message::TrackingRedirBroken(redirect)));
        }
        Some((
            redirect,
            Message::Invalidate {
                what,
                redirected: true,
            },
        ))
    }

    /// A database was emptied (FLUSHDB, FLUSHALL, DEBUG RELOAD): every tracking client is
    /// told all its keys are invalid (a null), as Redis's `trackingInvalidateKeysOnFlush`.
    /// `current_resp3`: the running client's protocol.
    pub(crate) fn signal_flushed(&mut self, current_resp3: bool) {
        if !self.tracking.active() {
            return;
        }
        let clients = &self.server.clients;
        let current = self.tracking.current;
        let mut sends = Vec::new();
        self.tracking.invalidate_all(
            |id| {
                if Some(id) == current {
                    current_resp3
                } else {
                    clients.get(id).is_some_and(|c| c.resp == 3)
                }
            },
            |id, what| sends.push((id, what)),
        );
        self.send_invalidations(sends);
    }

    /// CLIENT TRACKING ON, checked: the databases start queueing their changes with the
    /// first tracking client.
    pub(crate) fn enable_tracking(&mut self, client: ClientId, options: TrackingOptions) {
        let was = self.tracking.active();
        self.tracking.enable(client, options);
        if !was {
            self.set_key_event_masks();
        }
    }

    /// CLIENT TRACKING OFF, RESET, or the connection closed.
    pub(crate) fn disable_tracking(&mut self, client: ClientId) {
        if self.tracking.get(client).is_none() {
            return;
        }
        self.tracking.disable(client);
        if !self.tracking.active() {
            self.set_key_event_masks();
        }
    }

    /// Keeps the table of remembered keys within `tracking-table-max-keys`, invalidating
    /// random keys past it (Redis's `trackingLimitUsedSlots`, run before each command).
    #[inline]
    pub(crate) fn limit_tracking(&mut self) {
        if self.tracking.active() {
            self.limit_tracking_table();
        }
    }

    fn limit_tracking_table(&mut self) {
        let max = self.server.config.tracking_table_max_keys;
        let mut sends = Vec::new();
        self.tracking
            .limit(max, &mut self.rng, |id, what| sends.push((id, what)));
        self.send_invalidations(sends);
    }

    /// Reports a key event: `event` (Redis's name: `set`, `lpush`, `expired`…) of class
    /// `class` ([`crate::db::notify`]) on `key` in database `db`. Published as a keyspace
    /// notification if `notify-keyspace-events` enables the class; free otherwise.
    #[inline]
    pub(crate) fn notify(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        if self.server.config.notify_keyspace_events & class != 0 {
            self.publish_key_event(event, key, db);
        }
    }

    #[cold]
    fn publish_key_event(&mut self, event: &str, key: &[u8], db: usize) {
        // What the keyspace did first (a `new` before the command's `set`) goes out first.
        self.flush_key_events();
        let flags = self.server.config.notify_keyspace_events;
        let mut index = itoa::Buffer::new();
        let index = index.format(db).as_bytes();
        if flags & notify::KEYSPACE != 0 {
            let channel = [b"__keyspace@", index, b"__:", key].concat();
            self.publish(
                &Bytes::from(channel),
                &Bytes::copy_from_slice(event.as_bytes()),
            );
        }
        if flags & notify::KEYEVENT != 0 {
            let channel = [b"__keyevent@", index, b"__:", event.as_bytes()].concat();
            self.publish(&Bytes::from(channel), &Bytes::copy_from_slice(key));
        }
    }

    /// Appends a command's effect to the log.
    pub(crate) fn push_effect(&mut self, db: usize, args: Vec<Bytes>) {
        if let Some(effects) = &mut self.effects {
            effects.push_back(Effect { db, args });
        }
    }

    /// Marks the start of an execution unit (a command or an EXEC); pass the result to
    /// [`Store::end_effects_unit`].
    pub(crate) fn begin_effects_unit(&self) -> usize {
        self.effects.as_ref().map_or(0, VecDeque::len)
    }

    /// Wraps the unit's effects in MULTI/EXEC when there is more than one.
    #[inline]
    pub(crate) fn end_effects_unit(&mut self, start: usize) {
        if self.effects.as_ref().is_some_and(|e| e.len() > start + 1) {
            self.wrap_effects_unit(start);
        }
    }

    #[cold]
    fn wrap_effects_unit(&mut self, start: usize) {
        if let Some(effects) = &mut self.effects {
            let db = effects[start].db;
            effects.insert(start, Effect::new(db, &[b"MULTI"]));
            let last = effects.back().map_or(db, |e| e.db);
            effects.push_back(Effect::new(last, &[b"EXEC"]));
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new(StoreConfig::default())
    }
}
