//! Server-wide state besides the data: settings, the client registry, statistics, and the
//! process facts only the adapter knows. INFO, CONFIG, CLIENT and LASTSAVE read it.
//!
//! # What the adapter provides
//!
//! Core cannot see the process or the sockets, so the adapter tells the store:
//!
//! - at start: the settings it runs with ([`Store::config_mut`]: `port`, `bind`, `dir`,
//!   `maxclients`, …), the start time ([`Store::set_start_time`]) and the process facts
//!   ([`Store::process_info_mut`]: pid, executable, config file);
//! - at each accept: [`Store::register_client`] with the peer and local addresses;
//! - now and then (e.g. once a second): memory and CPU figures in
//!   [`Store::process_info_mut`];
//! - after each snapshot: [`Store::note_saved`], and the state of background saves in
//!   [`Store::persistence_mut`].
//!
//! None of it is required: what the adapter leaves out reads as 0 or empty.

use std::collections::{BTreeMap, HashMap};

use super::clients::{ClientConn, Clients};
use super::config::Config;
use super::observe::{CallFlags, Histogram};
use super::pubsub::Message;
use super::{ClientId, Rng, Store};

/// Facts about the process, set by the adapter and reported by INFO.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessInfo {
    /// INFO `process_id`.
    pub process_id: u32,
    /// INFO `executable`: the server binary's absolute path.
    pub executable: String,
    /// INFO `config_file`: the configuration file's absolute path, or empty.
    pub config_file: String,
    /// INFO `os` (`Linux 6.1.0 x86_64`).
    pub os: String,
    /// INFO `arch_bits`.
    pub arch_bits: u32,
    /// INFO `multiplexing_api` (`epoll`, `kqueue`, `tokio`, …).
    pub multiplexing_api: String,
    /// INFO `used_memory`: bytes the server holds, as the adapter measures them (allocator
    /// statistics, or the resident set size when that is all it has).
    pub used_memory_bytes: u64,
    /// INFO `used_memory_rss`: the resident set size.
    pub used_memory_rss_bytes: u64,
    /// INFO `total_system_memory`.
    pub total_system_memory_bytes: u64,
    /// INFO `used_cpu_sys`, in seconds.
    pub used_cpu_sys_s: f64,
    /// INFO `used_cpu_user`, in seconds.
    pub used_cpu_user_s: f64,
}

/// The state of persistence, kept up to date by the adapter that saves; INFO's persistence
/// section and LASTSAVE read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistenceInfo {
    /// Unix seconds of the last successful save; `None` until one happens, when LASTSAVE
    /// reports the start time, as Redis does.
    pub last_save_unix_s: Option<u64>,
    /// [`Store::writes`] at the last save (INFO `rdb_changes_since_last_save` counts from it).
    pub writes_at_last_save: u64,
    /// A background save is running.
    pub bgsave_in_progress: bool,
    /// The last background save succeeded.
    pub last_bgsave_ok: bool,
    /// Saves done since start.
    pub rdb_saves: u64,
    /// An AOF rewrite is running.
    pub aof_rewrite_in_progress: bool,
    /// The last AOF rewrite succeeded.
    pub aof_last_bgrewrite_ok: bool,
    /// The last AOF write succeeded.
    pub aof_last_write_ok: bool,
    /// AOF rewrites since start.
    pub aof_rewrites: u64,
    /// A dataset is being loaded.
    pub loading: bool,
    /// BGSAVE SCHEDULE (or BGSAVE in MULTI) asked for a save while another job ran: start
    /// one when it ends.
    pub bgsave_scheduled: bool,
    /// BGREWRITEAOF asked while a save ran: start the rewrite when it ends.
    pub aof_rewrite_scheduled: bool,
    /// What SHUTDOWN asked about saving: `Some(true)` SAVE, `Some(false)` NOSAVE, `None`
    /// neither (save if save points are configured, as Redis does).
    pub shutdown_save: Option<bool>,
    /// When the running (or the last) background save started, Unix ms.
    pub bgsave_started_ms: u64,
    /// How long the last background save took, in seconds; `None` before the first.
    pub last_bgsave_secs: Option<u64>,
    /// When the running (or the last) AOF rewrite started, Unix ms.
    pub aof_rewrite_started_ms: u64,
    /// How long the last AOF rewrite took, in seconds; `None` before the first.
    pub last_aof_rewrite_secs: Option<u64>,
    /// AOF rewrites that failed in a row.
    pub aof_rewrite_failures: u32,
    /// The AOF's size in bytes, as the adapter last saw it.
    pub aof_current_size: u64,
    /// The AOF's size after the last rewrite (or at start).
    pub aof_base_size: u64,
    /// AOF records not yet written to the file, in bytes.
    pub aof_buffer_length: u64,
    /// An fsync of the AOF is running.
    pub aof_fsync_in_progress: bool,
    /// Keys the last RDB load inserted.
    pub rdb_last_load_keys_loaded: u64,
    /// Keys the last RDB load skipped as expired.
    pub rdb_last_load_keys_expired: u64,
}

impl Default for PersistenceInfo {
    fn default() -> Self {
        PersistenceInfo {
            last_save_unix_s: None,
            writes_at_last_save: 0,
            bgsave_in_progress: false,
            last_bgsave_ok: true,
            rdb_saves: 0,
            aof_rewrite_in_progress: false,
            aof_last_bgrewrite_ok: true,
            aof_last_write_ok: true,
            aof_rewrites: 0,
            loading: false,
            bgsave_scheduled: false,
            aof_rewrite_scheduled: false,
            shutdown_save: None,
            bgsave_started_ms: 0,
            last_bgsave_secs: None,
            aof_rewrite_started_ms: 0,
            last_aof_rewrite_secs: None,
            aof_rewrite_failures: 0,
            aof_current_size: 0,
            aof_base_size: 0,
            aof_buffer_length: 0,
            aof_fsync_in_progress: false,
            rdb_last_load_keys_loaded: 0,
            rdb_last_load_keys_expired: 0,
        }
    }
}

/// Calls of one command (INFO commandstats), timed by the clock the adapter injects
/// ([`Store::set_clock`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CmdStat {
    /// Times it ran.
    pub calls: u64,
    /// Microseconds spent (0 without a clock).
    pub usec: u64,
    /// Times it was refused before running (arity, NOAUTH, not allowed in MULTI, …).
    pub rejected_calls: u64,
    /// Times it ran and replied with an error.
    pub failed_calls: u64,
}

/// What is kept of one command's calls.
#[derive(Debug, Default)]
struct CmdEntry {
    stat: CmdStat,
    /// What timing, the slow log and MONITOR ask of it, from its metadata once.
    flags: Option<CallFlags>,
    /// Its latency histogram (`latency-tracking`).
    histogram: Option<Histogram>,
}

/// Counters INFO reports (the rest come from the databases and the registry).
#[derive(Debug, Default)]
pub struct Stats {
    /// Per command (`get`, `client|list`), in first-call order.
    cmds: Vec<(&'static str, CmdEntry)>,
    /// Where each name is in `cmds`.
    by_name: HashMap<&'static str, usize, foldhash::fast::FixedState>,
    /// The same by where the name is stored (address and length): counting runs for every
    /// command, and each name comes from the command table, so this finds it without hashing
    /// or comparing its text, as Redis reaches a command's counters through its pointer.
    by_addr: HashMap<(usize, usize), usize, foldhash::fast::FixedState>,
    /// Error replies by their code (`ERR`, `WRONGTYPE`), sorted as Redis lists them.
    errors: BTreeMap<String, u64>,
    /// Error replies of any kind.
    pub total_error_replies: u64,
}

impl Stats {
    /// Counts a call of `name`: `rejected` before it ran, or run and failed with error code
    /// `error`.
    /// `counted`: the error was counted in errorstats already (a script's, from the
    /// `redis.call` that raised it); it still makes the call a failed one.
    pub(crate) fn record(
        &mut self,
        name: &'static str,
        rejected: bool,
        error: Option<&[u8]>,
        counted: bool,
    ) {
        let s = &mut self.entry(name).stat;
        if rejected {
            s.rejected_calls += 1;
        } else {
            s.calls += 1;
            if error.is_some() {
                s.failed_calls += 1;
            }
        }
        if let Some(code) = error.filter(|_| !counted) {
            self.record_error(code);
        }
    }

    fn entry(&mut self, name: &'static str) -> &mut CmdEntry {
        let addr = (name.as_ptr() as usize, name.len());
        let i = match self.by_addr.get(&addr) {
            Some(&i) => i,
            None => {
                let next = self.cmds.len();
                let i = *self.by_name.entry(name).or_insert(next);
                if i == next {
                    self.cmds.push((name, CmdEntry::default()));
                }
                self.by_addr.insert(addr, i);
                i
            }
        };
        &mut self.cmds[i].1
    }

    /// Adds `usec` to the time spent in `name` (counted by [`Stats::record`]) and, given,
    /// `histogram_ns` to its latency histogram; returns its [`CallFlags`], found by `flags`
    /// on its first call.
    pub(crate) fn timed(
        &mut self,
        name: &'static str,
        usec: u64,
        histogram_ns: Option<u64>,
        flags: impl FnOnce() -> CallFlags,
    ) -> CallFlags {
        let e = self.entry(name);
        e.stat.usec += usec;
        if let Some(ns) = histogram_ns {
            e.histogram
                .get_or_insert_with(Histogram::default)
                .record_ns(ns);
        }
        *e.flags.get_or_insert_with(flags)
    }

    /// The latency histogram of `name`, if it was timed with `latency-tracking` on.
    pub(crate) fn histogram(&self, name: &str) -> Option<&Histogram> {
        self.cmds[*self.by_name.get(name)?].1.histogram.as_ref()
    }

    /// Counts an error reply with code `code` (the first word of its line).
    pub(crate) fn record_error(&mut self, code: &[u8]) {
        self.total_error_replies += 1;
        let code = String::from_utf8_lossy(code);
        match self.errors.get_mut(code.as_ref()) {
            Some(n) => *n += 1,
            None => {
                // Redis stops tracking new codes past 128 of them.
                if self.errors.len() < 128 {
                    self.errors.insert(code.into_owned(), 1);
                }
            }
        }
    }

    /// Commands with their counters, in first-call order.
    pub fn commands(&self) -> Vec<(&'static str, CmdStat)> {
        self.cmds.iter().map(|(n, e)| (*n, e.stat)).collect()
    }

    /// Error codes with their counts, sorted.
    pub fn errors(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.errors.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// CONFIG RESETSTAT.
    pub(crate) fn reset(&mut self) {
        *self = Stats::default();
    }
}

/// Everything of [`ServerState`]'s kind the store holds.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub config: Config,
    /// Bumped on every settings change, so sessions notice.
    pub config_epoch: u64,
    pub clients: Clients,
    pub stats: Stats,
    pub process: ProcessInfo,
    pub persistence: PersistenceInfo,
    /// 40 hex digits: INFO `run_id`.
    pub run_id: String,
    /// 40 hex digits: INFO `master_replid`.
    pub replid: String,
    pub start_ms: Option<u64>,
    /// DEBUG SET-ACTIVE-EXPIRE: false stops [`Store::handle_timeout`] removing keys.
    pub active_expire: bool,
    /// Commands processed before the last CONFIG RESETSTAT.
    pub commands_at_reset: u64,
    /// Expired keys before the last CONFIG RESETSTAT.
    pub expired_at_reset: u64,
    /// Connections received before the last CONFIG RESETSTAT.
    pub connections_at_reset: u64,
    /// Where CONFIG REWRITE reads and writes the configuration file (the host's).
    pub config_file_io: Option<ConfigFileIoBox>,
}

/// The injected [`super::config_file::ConfigFileIo`], which `Debug` shows by its presence.
pub(crate) struct ConfigFileIoBox(pub Box<dyn super::config_file::ConfigFileIo>);

impl std::fmt::Debug for ConfigFileIoBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigFileIo")
    }
}

impl ServerState {
    pub fn new(databases: usize, rng_seed: u64) -> ServerState {
        // A generator of its own, so these draws leave RANDOMKEY's sequence alone.
        let mut rng = Rng::new(rng_seed ^ 0x5ee5_5eed_00f1_d5d5);
        let mut hex40 = || {
            let mut s = String::with_capacity(40);
            while s.len() < 40 {
                s.push_str(&format!("{:016x}", rng.next_u64()));
            }
            s.truncate(40);
            s
        };
        let (run_id, replid) = (hex40(), hex40());
        let mut config = Config::default();
        config.databases = databases;
        ServerState {
            config,
            config_epoch: 0,
            clients: Clients::default(),
            stats: Stats::default(),
            process: ProcessInfo::default(),
            persistence: PersistenceInfo::default(),
            run_id,
            replid,
            start_ms: None,
            active_expire: true,
            commands_at_reset: 0,
            expired_at_reset: 0,
            connections_at_reset: 0,
            config_file_io: None,
        }
    }
}

impl Store {
    /// Gives CONFIG REWRITE the configuration file to read and write (the adapter's, for the
    /// file INFO's `config_file` names). Without one, CONFIG REWRITE answers that the server
    /// runs without a config file.
    pub fn set_config_file_io(&mut self, io: Box<dyn super::config_file::ConfigFileIo>) {
        self.server.config_file_io = Some(ConfigFileIoBox(io));
    }

    /// CONFIG REWRITE: the configuration file rewritten with the settings in force
    /// ([`super::config_file::rewrite`]). The error is Redis's reply text.
    pub fn rewrite_config_file(&mut self) -> Result<(), String> {
        let Some(io) = &self.server.config_file_io else {
            return Err("The server is running without a config file".to_owned());
        };
        let old =
            io.0.read()
                .map_err(|e| format!("Rewriting config file: {e}"))?;
        let new = super::config_file::rewrite(&old, &self.server.config);
        io.0.write(&new)
            .map_err(|e| format!("Rewriting config file: {e}"))
    }

    /// The settings the server runs by (CONFIG GET shows them).
    pub fn config(&self) -> &Config {
        &self.server.config
    }

    /// The settings, to change (adapters at start). Sessions pick up changes at their next
    /// [`crate::Session::process`].
    pub fn config_mut(&mut self) -> &mut Config {
        self.server.config_epoch += 1;
        &mut self.server.config
    }

    /// Changes with every settings change: a session compares it to the one it last saw.
    pub(crate) fn config_epoch(&self) -> u64 {
        self.server.config_epoch
    }

    /// Records when the server started (INFO uptime, LASTSAVE before any save). Without
    /// it, the first time a session or registration passes in counts as the start.
    pub fn set_start_time(&mut self, now_ms: u64) {
        self.server.start_ms = Some(now_ms);
    }

    /// When the server started (see [`Store::set_start_time`]).
    pub fn start_time_ms(&self) -> u64 {
        self.server.start_ms.unwrap_or(0)
    }

    pub(crate) fn note_time(&mut self, now_ms: u64) {
        self.server.start_ms.get_or_insert(now_ms);
    }

    /// Registers a new connection's socket facts, for CLIENT LIST, CLIENT KILL ADDR/LADDR and
    /// INFO. Call it right after [`Store::next_client_id`], before the session's first
    /// [`crate::Session::process`]. [`crate::Session::handle_close`] removes the entry.
    pub fn register_client(&mut self, id: ClientId, conn: ClientConn, now_ms: u64) {
        self.note_time(now_ms);
        self.server.clients.entry(id, now_ms).conn = conn;
    }

    /// The client registry.
    pub fn clients(&self) -> &Clients {
        &self.server.clients
    }

    /// The client registry, to change.
    pub fn clients_mut(&mut self) -> &mut Clients {
        &mut self.server.clients
    }

    /// Closes connection `id`: its session gets a [`Message::Kill`] through
    /// [`Store::poll_delivery`], stops executing and asks its adapter to close it. Returns
    /// false if there is no such live connection.
    pub fn kill_client(&mut self, id: ClientId) -> bool {
        match self.server.clients.get_mut(id) {
            Some(c) if !c.killed => {
                c.killed = true;
                self.deliver(id, Message::Kill);
                true
            }
            _ => false,
        }
    }

    /// Facts about the process for INFO.
    pub fn process_info(&self) -> &ProcessInfo {
        &self.server.process
    }

    /// Facts about the process, to set (adapters).
    pub fn process_info_mut(&mut self) -> &mut ProcessInfo {
        &mut self.server.process
    }

    /// The state of persistence.
    pub fn persistence(&self) -> &PersistenceInfo {
        &self.server.persistence
    }

    /// The state of persistence, to update (adapters that save).
    pub fn persistence_mut(&mut self) -> &mut PersistenceInfo {
        &mut self.server.persistence
    }

    /// Records a successful save at `now_ms` of the dataset as it is now (LASTSAVE, INFO
    /// `rdb_changes_since_last_save`). A background save passes the writes count it
    /// started from instead: set [`PersistenceInfo`] fields directly.
    pub fn note_saved(&mut self, now_ms: u64) {
        let writes = self.writes();
        let p = &mut self.server.persistence;
        p.last_save_unix_s = Some(now_ms / 1000);
        p.writes_at_last_save = writes;
        p.rdb_saves += 1;
        p.last_bgsave_ok = true;
    }

    /// True when a `save` point is due: for some point (seconds, changes), at least
    /// `changes` writes since the last save and `seconds` since it (or since the start).
    pub fn save_point_due(&self, now_ms: u64) -> bool {
        let changes = self
            .writes()
            .saturating_sub(self.server.persistence.writes_at_last_save);
        let elapsed_s = (now_ms / 1000).saturating_sub(self.last_save_unix_s());
        self.config()
            .save
            .iter()
            .any(|&(seconds, min_changes)| changes >= min_changes && elapsed_s >= seconds)
    }

    /// LASTSAVE: the last save's time, or the start time before any.
    pub fn last_save_unix_s(&self) -> u64 {
        self.server
            .persistence
            .last_save_unix_s
            .unwrap_or(self.start_time_ms() / 1000)
    }

    /// Command and error counters.
    pub fn stats(&self) -> &Stats {
        &self.server.stats
    }

    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        &mut self.server.stats
    }

    /// False after DEBUG SET-ACTIVE-EXPIRE 0: [`Store::handle_timeout`] leaves keys for lazy
    /// expiry only.
    pub fn active_expire(&self) -> bool {
        self.server.active_expire
    }

    /// Turns active expiry on or off (DEBUG SET-ACTIVE-EXPIRE).
    pub fn set_active_expire(&mut self, on: bool) {
        self.server.active_expire = on;
    }

    /// When the next idle client passes `timeout`, if the setting is on.
    pub(crate) fn client_timeout(&self) -> Option<u64> {
        let timeout_s = self.server.config.timeout_s;
        if timeout_s == 0 {
            return None;
        }
        self.server.clients.idle_deadline(timeout_s * 1000)
    }

    /// Kills the clients idle past `timeout` (as [`Store::kill_client`]). Returns how many.
    pub(crate) fn handle_client_timeout(&mut self, now_ms: u64) -> usize {
        let timeout_s = self.server.config.timeout_s;
        if timeout_s == 0 {
            return 0;
        }
        let idle = self.server.clients.take_idle(timeout_s * 1000, now_ms);
        for &id in &idle {
            self.deliver(id, Message::Kill);
        }
        idle.len()
    }

    /// CONFIG RESETSTAT: the counters INFO reports start again from zero.
    pub(crate) fn reset_stats(&mut self) {
        self.server.stats.reset();
        self.observe.traffic = Default::default();
        self.server.commands_at_reset = self.commands_processed;
        self.server.expired_at_reset = self.dbs().iter().map(super::Db::expired_count).sum();
        for i in 0..self.databases() {
            self.db(i).set_hits_misses((0, 0));
        }
        self.server.connections_at_reset = self.server.clients.total_received;
        self.reset_eviction_stats();
    }

    pub(crate) fn server(&self) -> &ServerState {
        &self.server
    }

    /// Lookups that found a live key, and that did not, across the databases.
    pub fn keyspace_hits_misses(&self) -> (u64, u64) {
        self.dbs()
            .iter()
            .map(super::Db::hits_misses)
            .fold((0, 0), |(h, m), (a, b)| (h + a, m + b))
    }

    /// SWAPDB: exchanges the contents of databases `a` and `b` (see [`super::Db`]'s
    /// `swap_data` for what moves and what WATCH sees).
    pub(crate) fn swap_dbs(&mut self, a: usize, b: usize) {
        if a != b {
            let (x, y) = self.two_dbs(a, b);
            super::Db::swap_data(x, y);
        }
    }

    /// DEBUG CHANGE-REPL-ID: a new `master_replid`.
    pub(crate) fn change_replid(&mut self) {
        let old = u64::from_str_radix(&self.server.replid[..16], 16).unwrap_or(0);
        let mut rng = Rng::new(old ^ 0x9e37_79b9_7f4a_7c15);
        let mut id = String::with_capacity(48);
        while id.len() < 40 {
            id.push_str(&format!("{:016x}", rng.next_u64()));
        }
        id.truncate(40);
        self.server.replid = id;
    }
}
