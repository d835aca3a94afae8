//! Server settings: the typed [`Config`] the server runs by, and the table of parameters that
//! CONFIG GET, CONFIG SET and INFO read and write by name.
//!
//! Every parameter is one row of [`PARAMS`]: its Redis name (and the older alias Redis still
//! accepts), whether CONFIG SET may change it, and two functions that turn the typed field
//! into Redis's text and back, with Redis's error texts. Adding a setting is adding a field
//! and a row.
//!
//! Adapters read the fields directly (`store.config().maxclients`) and set their startup
//! values through [`crate::Store::config_mut`]. Sessions pick up the settings that concern
//! them (`proto-max-bulk-len`, the pub/sub output limits) at their next
//! [`crate::Session::process`] — see [`Config::is_changed`].

use std::fmt::Write as _;

use bytes::Bytes;

/// Whether CONFIG SET may change a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// CONFIG SET changes it.
    Mutable,
    /// Fixed at start: `can't set immutable config`.
    Immutable,
    /// Redis refuses it unless `enable-protected-configs` is set (never, here):
    /// `can't set protected config`.
    Protected,
}

/// One configuration parameter.
#[derive(Clone, Copy)]
pub struct Param {
    /// The name CONFIG GET reports.
    pub name: &'static str,
    /// The older name Redis still accepts for it (`hash-max-ziplist-entries`).
    pub alias: Option<&'static str>,
    /// Whether CONFIG SET may change it.
    pub access: Access,
    get: fn(&Config) -> String,
    set: fn(&mut Config, &[u8]) -> Result<(), String>,
}

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Param").field("name", &self.name).finish()
    }
}

impl Param {
    /// The value as CONFIG GET shows it.
    pub fn get(&self, config: &Config) -> String {
        (self.get)(config)
    }
}

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            const ALL: &'static [($name, &'static str)] = &[$(($name::$variant, $text)),+];

            /// The name Redis uses.
            pub fn name(self) -> &'static str {
                $name::ALL.iter().find(|(v, _)| *v == self).map_or("", |(_, t)| t)
            }

            fn parse(s: &[u8]) -> Result<$name, String> {
                $name::ALL
                    .iter()
                    .find(|(_, t)| t.as_bytes().eq_ignore_ascii_case(s))
                    .map(|(v, _)| *v)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|(_, t)| *t).collect();
                        format!("argument(s) must be one of the following: {}", names.join(", "))
                    })
            }
        }
    };
}

choice!(
    /// `appendfsync`: when the AOF is flushed to disk.
    AppendFsync { EverySec = "everysec", Always = "always", No = "no" }
);

choice!(
    /// `maxmemory-policy`.
    MaxmemoryPolicy {
        VolatileLru = "volatile-lru",
        VolatileLfu = "volatile-lfu",
        VolatileRandom = "volatile-random",
        VolatileTtl = "volatile-ttl",
        AllkeysLru = "allkeys-lru",
        AllkeysLfu = "allkeys-lfu",
        AllkeysRandom = "allkeys-random",
        NoEviction = "noeviction",
    }
);

impl MaxmemoryPolicy {
    /// True for the LFU policies, under which OBJECT FREQ is available.
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::VolatileLfu | MaxmemoryPolicy::AllkeysLfu
        )
    }
}

choice!(
    /// `enable-debug-command`: who may run DEBUG.
    DebugCommand {
        /// Nobody (Redis's default).
        No = "no",
        /// Everybody.
        Yes = "yes",
        /// Connections over a Unix socket or from a loopback address.
        Local = "local",
    }
);

/// One class of `client-output-buffer-limit`: a connection whose unwritten output passes
/// `hard_bytes`, or stays above `soft_bytes` for `soft_seconds`, is closed. 0 disables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBufferLimit {
    /// Hard limit in bytes.
    pub hard_bytes: u64,
    /// Soft limit in bytes.
    pub soft_bytes: u64,
    /// How long the soft limit may be exceeded.
    pub soft_seconds: u64,
}

/// `latency-tracking-info-percentiles`: percentiles between 0 and 100.
#[derive(Debug, Clone, PartialEq)]
pub struct Percentiles(pub Vec<f64>);

// The values are parsed numbers, never NaN (see `parse_percentiles`).
impl Eq for Percentiles {}

/// A number as Redis's `%f` then `trimDoubleString` write it: `50`, `99.9`.
pub fn trim_double(v: f64) -> String {
    let mut s = format!("{v:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

fn parse_percentiles(v: &[u8]) -> Result<Percentiles, String> {
    let mut out = Vec::new();
    for w in v.split(|&c| c == b' ').filter(|w| !w.is_empty()) {
        let p = std::str::from_utf8(w)
            .ok()
            .filter(|s| !s.starts_with(|c: char| c.is_ascii_whitespace()))
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|p| !p.is_nan())
            .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&p) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .to_owned(),
            );
        }
        out.push(p);
    }
    Ok(Percentiles(out))
}

fn show_percentiles(p: &Percentiles) -> String {
    p.0.iter()
        .map(|&v| trim_double(v))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The settings of a server, typed. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `databases` (immutable): how many databases SELECT can choose from.
    pub databases: usize,
    /// `port` (immutable here: the adapter binds once): the TCP port, as the adapter bound it.
    pub port: u16,
    /// `bind` (immutable here): the listening addresses, space-separated.
    pub bind: String,
    /// `unixsocket` (immutable): the Unix socket path, if any.
    pub unixsocket: String,
    /// `maxclients`: connections served at once; the adapter turns away the next one.
    pub maxclients: u64,
    /// `timeout`: seconds of inactivity after which a client is closed; 0 never.
    /// Subscribers and blocked clients are exempt, as in Redis.
    pub timeout_s: u64,
    /// `tcp-keepalive`: seconds between TCP keepalive probes, for the adapter; 0 off.
    pub tcp_keepalive_s: u64,
    /// `requirepass`: the default user's password; `None` needs no AUTH.
    pub requirepass: Option<Bytes>,
    /// `proto-max-bulk-len`: the largest bulk string a request may carry.
    pub proto_max_bulk_len: u64,
    /// `client-output-buffer-limit` for normal clients.
    pub output_limit_normal: OutputBufferLimit,
    /// `client-output-buffer-limit` for replicas.
    pub output_limit_replica: OutputBufferLimit,
    /// `client-output-buffer-limit` for pub/sub subscribers.
    pub output_limit_pubsub: OutputBufferLimit,
    /// `hz`: background task frequency (1–500), reported by INFO.
    pub hz: u32,
    /// `busy-reply-threshold` (alias `lua-time-limit`), in ms: how long a script runs
    /// before other clients get `-BUSY` and SCRIPT KILL may stop it (0: never).
    pub busy_reply_threshold_ms: u64,
    /// `save`: RDB snapshot points as (seconds, changes); empty means no automatic saves.
    pub save: Vec<(u64, u64)>,
    /// `appendonly`: whether the adapter keeps an append-only file.
    pub appendonly: bool,
    /// `appendfsync`.
    pub appendfsync: AppendFsync,
    /// `dir` (protected): the working directory of persistence files, as the adapter set it.
    pub dir: String,
    /// `dbfilename` (protected): the RDB file name.
    pub dbfilename: String,
    /// `appendfilename` (immutable): the AOF base name.
    pub appendfilename: String,
    /// `appenddirname` (immutable): the AOF directory.
    pub appenddirname: String,
    /// `auto-aof-rewrite-percentage`: rewrite the AOF when it grew by this much since the
    /// last rewrite (0: never automatically).
    pub auto_aof_rewrite_percentage: u64,
    /// `auto-aof-rewrite-min-size`: bytes below which the AOF is not rewritten automatically.
    pub auto_aof_rewrite_min_size: u64,
    /// `aof-load-truncated`: start with a torn last record dropped (yes) or refuse (no).
    pub aof_load_truncated: bool,
    /// `stop-writes-on-bgsave-error`: with save points set, refuse writes (`-MISCONF`) while
    /// the last background save failed.
    pub stop_writes_on_bgsave_error: bool,
    /// `notify-keyspace-events`: the classes of key events published (see
    /// [`crate::db::notify`]); 0, the default, publishes none.
    pub notify_keyspace_events: u32,
    /// `maxmemory`: bytes; 0 is no limit. Over it (`used_memory`), keys are evicted as
    /// `maxmemory-policy` says, and commands flagged `denyoom` are refused with `-OOM` when
    /// nothing is left to evict (see `db/evict.rs`).
    pub maxmemory: u64,
    /// `maxmemory-policy`.
    pub maxmemory_policy: MaxmemoryPolicy,
    /// `maxmemory-samples`.
    pub maxmemory_samples: u64,
    /// `maxmemory-eviction-tenacity` (0–100): how long one eviction pass may take.
    pub maxmemory_eviction_tenacity: u64,
    /// `lfu-log-factor`: how slowly the LFU counter grows.
    pub lfu_log_factor: u32,
    /// `lfu-decay-time`: minutes per decrement of an idle key's LFU counter (0: none).
    pub lfu_decay_time: u32,
    /// `tracking-table-max-keys`: most keys the client-side caching table remembers before
    /// it forgets (and invalidates) some; 0 is no limit.
    pub tracking_table_max_keys: u64,
    /// `enable-debug-command` (immutable).
    pub enable_debug_command: DebugCommand,
    /// `hash-max-listpack-entries` (alias `hash-max-ziplist-entries`).
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value` (alias `hash-max-ziplist-value`).
    pub hash_max_listpack_value: u64,
    /// `list-max-listpack-size` (alias `list-max-ziplist-size`).
    pub list_max_listpack_size: i64,
    /// `list-compress-depth`.
    pub list_compress_depth: u64,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: u64,
    /// `zset-max-listpack-entries` (alias `zset-max-ziplist-entries`).
    pub zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value` (alias `zset-max-ziplist-value`).
    pub zset_max_listpack_value: u64,
    /// `hll-sparse-max-bytes`: the largest sparse HyperLogLog; past it PFADD converts it to
    /// the dense encoding.
    pub hll_sparse_max_bytes: u64,
    /// `stream-node-max-bytes`: the most bytes of a stream node's listpack (0: no limit).
    pub stream_node_max_bytes: u64,
    /// `stream-node-max-entries`: the most entries of a stream node (0: no limit).
    pub stream_node_max_entries: u64,
    /// `slowlog-log-slower-than`: microseconds from which a command joins the slow log; 0
    /// logs every command, a negative value none.
    pub slowlog_log_slower_than: i64,
    /// `slowlog-max-len`: entries the slow log keeps.
    pub slowlog_max_len: u64,
    /// `acllog-max-len`: entries the ACL log keeps.
    pub acllog_max_len: u64,
    /// `acl-pubsub-default`: new users and `reset` allow all channels (`allchannels`)
    /// rather than none (`resetchannels`, Redis 7.0's default).
    pub acl_pubsub_allchannels: bool,
    /// `latency-monitor-threshold`: milliseconds from which an event is sampled by the
    /// latency monitor; 0 turns it off.
    pub latency_monitor_threshold_ms: u64,
    /// `latency-tracking`: per-command latency histograms (INFO latencystats, LATENCY
    /// HISTOGRAM).
    pub latency_tracking: bool,
    /// `latency-tracking-info-percentiles`: the percentiles INFO latencystats shows.
    pub latency_tracking_info_percentiles: Percentiles,
    /// `repl-backlog-size`: bytes of the replication stream kept for partial resyncs.
    pub repl_backlog_size: u64,
    /// `repl-ping-replica-period`: seconds between the PINGs a master puts in its stream.
    pub repl_ping_replica_period_s: u64,
    /// `repl-timeout`: seconds without news from the other side before a link is dropped.
    pub repl_timeout_s: u64,
    /// `min-replicas-to-write`: writes are refused (`-NOREPLICAS`) with fewer good
    /// replicas than this (0: never).
    pub min_replicas_to_write: u64,
    /// `min-replicas-max-lag`: seconds since its last ACK within which a replica is good.
    pub min_replicas_max_lag_s: u64,
    /// `replica-read-only`: a replica refuses clients' writes (`-READONLY`).
    pub replica_read_only: bool,
    /// `replica-priority`, shown by INFO for Sentinel.
    pub replica_priority: u64,
    /// `masterauth`: the password a replica authenticates to its master with.
    pub masterauth: Option<Bytes>,
    /// `masteruser`: the user a replica authenticates to its master as.
    pub masteruser: Option<Bytes>,
    /// Parameters named through [`crate::Store::set_setting`] that redish does not model:
    /// CONFIG GET reports them as given.
    extra: Vec<(String, String)>,
    /// Bit `i` set: `PARAMS[i]` was set since the config was made (see [`Config::is_changed`]).
    changed: u128,
}

impl Default for Config {
    /// Redis 7.0's defaults, except what only the adapter knows (port, bind, dir) and
    /// persistence, off until an adapter turns it on.
    fn default() -> Self {
        Config {
            databases: 16,
            port: 6379,
            bind: "* -::*".to_owned(),
            unixsocket: String::new(),
            maxclients: 10_000,
            timeout_s: 0,
            tcp_keepalive_s: 300,
            requirepass: None,
            proto_max_bulk_len: 512 * 1024 * 1024,
            output_limit_normal: OutputBufferLimit {
                hard_bytes: 0,
                soft_bytes: 0,
                soft_seconds: 0,
            },
            output_limit_replica: OutputBufferLimit {
                hard_bytes: 256 << 20,
                soft_bytes: 64 << 20,
                soft_seconds: 60,
            },
            output_limit_pubsub: OutputBufferLimit {
                hard_bytes: 32 << 20,
                soft_bytes: 8 << 20,
                soft_seconds: 60,
            },
            hz: 10,
            busy_reply_threshold_ms: 5000,
            save: Vec::new(),
            appendonly: false,
            appendfsync: AppendFsync::EverySec,
            dir: String::new(),
            dbfilename: "dump.rdb".to_owned(),
            appendfilename: "appendonly.aof".to_owned(),
            appenddirname: "appendonlydir".to_owned(),
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            aof_load_truncated: true,
            stop_writes_on_bgsave_error: true,
            notify_keyspace_events: 0,
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            tracking_table_max_keys: 1_000_000,
            enable_debug_command: DebugCommand::No,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            acllog_max_len: 128,
            acl_pubsub_allchannels: false,
            latency_monitor_threshold_ms: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: Percentiles(vec![50.0, 99.0, 99.9]),
            repl_backlog_size: 1024 * 1024,
            repl_ping_replica_period_s: 10,
            repl_timeout_s: 60,
            min_replicas_to_write: 0,
            min_replicas_max_lag_s: 10,
            replica_read_only: true,
            replica_priority: 100,
            masterauth: None,
            masteruser: None,
            extra: Vec::new(),
            changed: 0,
        }
    }
}

/// Why CONFIG SET refused: the whole error line, as [`std::fmt::Display`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSetError {
    /// A name that is not a parameter.
    Unknown(String),
    /// A known parameter refused (immutable, protected, duplicate, bad value).
    Failed {
        /// The parameter as Redis names it in the error.
        name: String,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for ConfigSetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSetError::Unknown(name) => write!(
                f,
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            ),
            ConfigSetError::Failed { name, reason } => write!(
                f,
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
            ),
        }
    }
}

impl Config {
    /// The parameter called `name` (or by its alias), in any case, with its index in
    /// [`PARAMS`].
    pub fn param(name: &[u8]) -> Option<(usize, &'static Param)> {
        PARAMS.iter().enumerate().find(|(_, p)| {
            p.name.as_bytes().eq_ignore_ascii_case(name)
                || p.alias
                    .is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(name))
        })
    }

    /// True if parameter `name` was set (by CONFIG SET or [`Config::set`]) since this config
    /// was made. Sessions take the store's value of a per-connection limit only once it was
    /// set, so an adapter's own [`crate::SessionConfig`] rules until then.
    pub fn is_changed(&self, name: &str) -> bool {
        Config::param(name.as_bytes()).is_some_and(|(i, _)| self.changed & (1 << i) != 0)
    }

    /// Sets one parameter from its text, as a configuration file line would, immutable ones
    /// included (for adapters at startup). Unknown names are kept as text for CONFIG GET.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        match Config::param(name.as_bytes()) {
            Some((i, p)) => {
                (p.set)(self, value.as_bytes())?;
                self.changed |= 1 << i;
                Ok(())
            }
            None => {
                let name = name.to_ascii_lowercase();
                match self.extra.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, v)) => *v = value.to_owned(),
                    None => self.extra.push((name, value.to_owned())),
                }
                Ok(())
            }
        }
    }

    /// CONFIG SET with its pairs: all of them or none, with Redis 7.0's checks in its order
    /// (unknown names first, then immutable, protected and duplicate ones, then values).
    pub fn set_many(&mut self, pairs: &[(Bytes, Bytes)]) -> Result<(), ConfigSetError> {
        // (index, named by its alias, parameter, value). Redis's table holds an alias as an
        // entry of its own: only the same spelling twice is a duplicate.
        let mut found: Vec<(usize, bool, &'static Param, &[u8])> = Vec::with_capacity(pairs.len());
        let mut refusal: Option<ConfigSetError> = None;
        for (name, value) in pairs {
            if refusal.is_some() {
                continue;
            }
            let Some((i, p)) = Config::param(name) else {
                return Err(ConfigSetError::Unknown(
                    String::from_utf8_lossy(name).into_owned(),
                ));
            };
            let failed = |reason: &str| ConfigSetError::Failed {
                name: String::from_utf8_lossy(name).into_owned(),
                reason: reason.to_owned(),
            };
            let by_alias = !p.name.as_bytes().eq_ignore_ascii_case(name);
            match p.access {
                Access::Immutable => refusal = Some(failed("can't set immutable config")),
                Access::Protected => refusal = Some(failed("can't set protected config")),
                Access::Mutable => {}
            }
            if refusal.is_none() && found.iter().any(|f| f.0 == i && f.1 == by_alias) {
                refusal = Some(failed("duplicate parameter"));
            }
            found.push((i, by_alias, p, value));
        }
        if let Some(e) = refusal {
            return Err(e);
        }
        let backup = self.clone();
        for (i, _, p, value) in found {
            if let Err(reason) = (p.set)(self, value) {
                *self = backup;
                return Err(ConfigSetError::Failed {
                    name: p.name.to_owned(),
                    reason,
                });
            }
            self.changed |= 1 << i;
        }
        Ok(())
    }

    /// CONFIG GET: the parameters matching any of `patterns` (globs, case-insensitive) as
    /// (name, value) pairs. A pattern without glob characters names one parameter and is
    /// echoed as given, alias included; a glob matches names and aliases alike, as Redis's.
    pub fn get_matching(&self, patterns: &[Bytes]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let seen = |out: &Vec<(String, String)>, name: &str| {
            out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                let name = String::from_utf8_lossy(pat).into_owned();
                if seen(&out, &name) {
                    continue;
                }
                if let Some((_, p)) = Config::param(pat) {
                    out.push((name, p.get(self)));
                } else if let Some((_, v)) = self
                    .extra
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                {
                    out.push((name, v.clone()));
                }
                continue;
            }
            for p in PARAMS {
                for name in std::iter::once(p.name).chain(p.alias) {
                    if !seen(&out, name) && crate::db::glob_match(pat, name.as_bytes(), true) {
                        out.push((name.to_owned(), p.get(self)));
                    }
                }
            }
            for (name, value) in &self.extra {
                if !seen(&out, name) && crate::db::glob_match(pat, name.as_bytes(), true) {
                    out.push((name.clone(), value.clone()));
                }
            }
        }
        out
    }

    /// Every parameter with its value, in table order, then the extra ones.
    pub fn all(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        PARAMS
            .iter()
            .map(move |p| (p.name, p.get(self)))
            .chain(self.extra.iter().map(|(n, v)| (n.as_str(), v.clone())))
    }
}

// --- Parsers, with Redis's error texts -------------------------------------------------

fn int_in(v: &[u8], min: i64, max: i64) -> Result<i64, String> {
    let n = crate::num::parse_i64(v).ok_or("argument couldn't be parsed into an integer")?;
    in_range(n, min, max)
}

fn in_range(n: i64, min: i64, max: i64) -> Result<i64, String> {
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// Redis's `memtoull`: digits with an optional unit (`k`, `kb`, `m`, `mb`, `g`, `gb`, any
/// case; `k` is 1000, `kb` 1024).
fn memory(v: &[u8]) -> Option<u64> {
    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
    let (num, unit) = v.split_at(digits);
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n: u64 = std::str::from_utf8(num).ok()?.parse().ok()?;
    n.checked_mul(mul)
}

fn memory_in(v: &[u8], min: i64, max: i64) -> Result<i64, String> {
    let n = memory(v)
        .and_then(|n| i64::try_from(n).ok())
        .ok_or("argument must be a memory value")?;
    in_range(n, min, max)
}

fn yes_no(v: &[u8]) -> Result<bool, String> {
    if v.eq_ignore_ascii_case(b"yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case(b"no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".to_owned())
    }
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn parse_save(v: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let words: Vec<&[u8]> = v.split(|&c| c == b' ').filter(|w| !w.is_empty()).collect();
    if words.len() % 2 != 0 {
        return Err("Invalid save parameters".to_owned());
    }
    words
        .chunks(2)
        .map(|pair| {
            let n = |w: &[u8]| {
                crate::num::parse_i64(w)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| "Invalid save parameters".to_owned())
            };
            Ok((n(pair[0])?, n(pair[1])?))
        })
        .collect()
}

fn show_save(save: &[(u64, u64)]) -> String {
    let mut s = String::new();
    for (secs, changes) in save {
        if !s.is_empty() {
            s.push(' ');
        }
        let _ = write!(s, "{secs} {changes}");
    }
    s
}

fn parse_output_limits(c: &mut Config, v: &[u8]) -> Result<(), String> {
    let words: Vec<&[u8]> = v.split(|&c| c == b' ').filter(|w| !w.is_empty()).collect();
    if words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".to_owned());
    }
    let mut next = c.clone();
    for w in words.chunks(4) {
        let class = match w[0].to_ascii_lowercase().as_slice() {
            b"normal" => &mut next.output_limit_normal,
            b"slave" | b"replica" => &mut next.output_limit_replica,
            b"pubsub" => &mut next.output_limit_pubsub,
            _ => {
                return Err(
                    "Invalid client class specified in buffer limit configuration.".to_owned(),
                )
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = memory(w[1]).ok_or_else(bad)?;
        let soft = memory(w[2]).ok_or_else(bad)?;
        let secs = crate::num::parse_i64(w[3])
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(bad)?;
        *class = OutputBufferLimit {
            hard_bytes: hard,
            soft_bytes: soft,
            soft_seconds: secs,
        };
    }
    *c = next;
    Ok(())
}

fn show_output_limits(c: &Config) -> String {
    let l = |l: &OutputBufferLimit| format!("{} {} {}", l.hard_bytes, l.soft_bytes, l.soft_seconds);
    format!(
        "normal {} slave {} pubsub {}",
        l(&c.output_limit_normal),
        l(&c.output_limit_replica),
        l(&c.output_limit_pubsub)
    )
}

const LONG_MAX: i64 = i64::MAX;
const INT_MAX: i64 = i32::MAX as i64;

macro_rules! param {
    ($name:literal, $alias:expr, $access:ident, |$c:ident| $get:expr, |$m:ident, $v:ident| $set:expr) => {
        Param {
            name: $name,
            alias: $alias,
            access: Access::$access,
            get: |$c| $get,
            set: |$m, $v| {
                $set;
                #[allow(unreachable_code)]
                Ok(())
            },
        }
    };
}

/// Every parameter redish models, in the order CONFIG GET lists them.
pub static PARAMS: &[Param] = &[
    param!(
        "databases",
        None,
        Immutable,
        |c| c.databases.to_string(),
        |c, v| { c.databases = int_in(v, 1, INT_MAX)? as usize }
    ),
    param!("port", None, Immutable, |c| c.port.to_string(), |c, v| {
        c.port = int_in(v, 0, 65535)? as u16
    }),
    param!("bind", None, Immutable, |c| c.bind.clone(), |c, v| c.bind =
        text(v)),
    param!(
        "unixsocket",
        None,
        Immutable,
        |c| c.unixsocket.clone(),
        |c, v| { c.unixsocket = text(v) }
    ),
    param!(
        "maxclients",
        None,
        Mutable,
        |c| c.maxclients.to_string(),
        |c, v| { c.maxclients = int_in(v, 1, u32::MAX as i64)? as u64 }
    ),
    param!(
        "timeout",
        None,
        Mutable,
        |c| c.timeout_s.to_string(),
        |c, v| { c.timeout_s = int_in(v, 0, INT_MAX)? as u64 }
    ),
    param!(
        "tcp-keepalive",
        None,
        Mutable,
        |c| c.tcp_keepalive_s.to_string(),
        |c, v| { c.tcp_keepalive_s = int_in(v, 0, INT_MAX)? as u64 }
    ),
    param!(
        "requirepass",
        None,
        Mutable,
        |c| c.requirepass.as_deref().map(text).unwrap_or_default(),
        |c, v| c.requirepass = (!v.is_empty()).then(|| Bytes::copy_from_slice(v))
    ),
    param!(
        "proto-max-bulk-len",
        None,
        Mutable,
        |c| c.proto_max_bulk_len.to_string(),
        |c, v| { c.proto_max_bulk_len = memory_in(v, 1024 * 1024, LONG_MAX)? as u64 }
    ),
    param!(
        "client-output-buffer-limit",
        None,
        Mutable,
        |c| show_output_limits(c),
        |c, v| { parse_output_limits(c, v)? }
    ),
    param!("hz", None, Mutable, |c| c.hz.to_string(), |c, v| {
        c.hz = int_in(v, 0, INT_MAX)?.clamp(1, 500) as u32
    }),
    param!(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        Mutable,
        |c| c.busy_reply_threshold_ms.to_string(),
        |c, v| c.busy_reply_threshold_ms = int_in(v, 0, LONG_MAX)? as u64
    ),
    param!("save", None, Mutable, |c| show_save(&c.save), |c, v| c
        .save =
        parse_save(v)?),
    param!(
        "appendonly",
        None,
        Mutable,
        |c| if c.appendonly { "yes" } else { "no" }.to_owned(),
        |c, v| c.appendonly = yes_no(v)?
    ),
    param!(
        "appendfsync",
        None,
        Mutable,
        |c| c.appendfsync.name().to_owned(),
        |c, v| { c.appendfsync = AppendFsync::parse(v)? }
    ),
    param!("dir", None, Protected, |c| c.dir.clone(), |c, v| c.dir =
        text(v)),
    param!(
        "dbfilename",
        None,
        Protected,
        |c| c.dbfilename.clone(),
        |c, v| { c.dbfilename = text(v) }
    ),
    param!(
        "appendfilename",
        None,
        Immutable,
        |c| c.appendfilename.clone(),
        |c, v| { c.appendfilename = text(v) }
    ),
    param!(
        "appenddirname",
        None,
        Immutable,
        |c| c.appenddirname.clone(),
        |c, v| { c.appenddirname = text(v) }
    ),
    param!(
        "auto-aof-rewrite-percentage",
        None,
        Mutable,
        |c| c.auto_aof_rewrite_percentage.to_string(),
        |c, v| { c.auto_aof_rewrite_percentage = int_in(v, 0, INT_MAX)? as u64 }
    ),
    param!(
        "auto-aof-rewrite-min-size",
        None,
        Mutable,
        |c| c.auto_aof_rewrite_min_size.to_string(),
        |c, v| { c.auto_aof_rewrite_min_size = memory_in(v, 0, LONG_MAX)? as u64 }
    ),
    param!(
        "aof-load-truncated",
        None,
        Mutable,
        |c| if c.aof_load_truncated { "yes" } else { "no" }.to_owned(),
        |c, v| c.aof_load_truncated = yes_no(v)?
    ),
    param!(
        "stop-writes-on-bgsave-error",
        None,
        Mutable,
        |c| if c.stop_writes_on_bgsave_error {
            "yes"
        } else {
            "no"
        }
        .to_owned(),
        |c, v| c.stop_writes_on_bgsave_error = yes_no(v)?
    ),
    param!(
        "notify-keyspace-events",
        None,
        Mutable,
        |c| super::notify::format_flags(c.notify_keyspace_events),
        |c, v| {
            c.notify_keyspace_events =
                super::notify::parse_flags(v).ok_or(super::notify::BAD_CLASS)?
        }
    ),
    param!(
        "maxmemory",
        None,
        Mutable,
        |c| c.maxmemory.to_string(),
        |c, v| { c.maxmemory = memory_in(v, 0, LONG_MAX)? as u64 }
    ),
    param!(
        "maxmemory-policy",
        None,
        Mutable,
        |c| c.maxmemory_policy.name().to_owned(),
        |c, v| c.maxmemory_policy = MaxmemoryPolicy::parse(v)?
    ),
    param!(
        "maxmemory-samples",
        None,
        Mutable,
        |c| c.maxmemory_samples.to_string(),
        |c, v| { c.maxmemory_samples = int_in(v, 1, 64)? as u64 }
    ),
    param!(
        "maxmemory-eviction-tenacity",
        None,
        Mutable,
        |c| c.maxmemory_eviction_tenacity.to_string(),
        |c, v| { c.maxmemory_eviction_tenacity = int_in(v, 0, 100)? as u64 }
    ),
    param!(
        "lfu-log-factor",
        None,
        Mutable,
        |c| c.lfu_log_factor.to_string(),
        |c, v| { c.lfu_log_factor = int_in(v, 0, INT_MAX)? as u32 }
    ),
    param!(
        "lfu-decay-time",
        None,
        Mutable,
        |c| c.lfu_decay_time.to_string(),
        |c, v| { c.lfu_decay_time = int_in(v, 0, INT_MAX)? as u32 }
    ),
    param!(
        "tracking-table-max-keys",
        None,
        Mutable,
        |c| c.tracking_table_max_keys.to_string(),
        |c, v| { c.tracking_table_max_keys = int_in(v, 0, LONG_MAX)? as u64 }
    ),
    param!(
        "enable-debug-command",
        None,
        Immutable,
        |c| c.enable_debug_command.name().to_owned(),
        |c, v| c.enable_debug_command = DebugCommand::parse(v)?
    ),
    param!(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        Mutable,
        |c| c.hash_max_listpack_entries.to_string(),
        |c, v| c.hash_max_listpack_entries = int_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        Mutable,
        |c| c.hash_max_listpack_value.to_string(),
        |c, v| c.hash_max_listpack_value = int_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        Mutable,
        |c| c.list_max_listpack_size.to_string(),
        |c, v| c.list_max_listpack_size = int_in(v, i32::MIN as i64, INT_MAX)?
    ),
    param!(
        "list-compress-depth",
        None,
        Mutable,
        |c| c.list_compress_depth.to_string(),
        |c, v| c.list_compress_depth = int_in(v, 0, INT_MAX)? as u64
    ),
    param!(
        "set-max-intset-entries",
        None,
        Mutable,
        |c| c.set_max_intset_entries.to_string(),
        |c, v| c.set_max_intset_entries = int_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        Mutable,
        |c| c.zset_max_listpack_entries.to_string(),
        |c, v| c.zset_max_listpack_entries = int_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        Mutable,
        |c| c.zset_max_listpack_value.to_string(),
        |c, v| c.zset_max_listpack_value = int_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "hll-sparse-max-bytes",
        None,
        Mutable,
        |c| c.hll_sparse_max_bytes.to_string(),
        |c, v| c.hll_sparse_max_bytes = memory_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "stream-node-max-bytes",
        None,
        Mutable,
        |c| c.stream_node_max_bytes.to_string(),
        |c, v| c.stream_node_max_bytes = memory_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "stream-node-max-entries",
        None,
        Mutable,
        |c| c.stream_node_max_entries.to_string(),
        |c, v| c.stream_node_max_entries = int_in(v, 0, i64::MAX)? as u64
    ),
    param!(
        "slowlog-log-slower-than",
        None,
        Mutable,
        |c| c.slowlog_log_slower_than.to_string(),
        |c, v| c.slowlog_log_slower_than = int_in(v, -1, i64::MAX)?
    ),
    param!(
        "acllog-max-len",
        None,
        Mutable,
        |c| c.acllog_max_len.to_string(),
        |c, v| c.acllog_max_len = int_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "acl-pubsub-default",
        None,
        Mutable,
        |c| if c.acl_pubsub_allchannels {
            "allchannels"
        } else {
            "resetchannels"
        }
        .to_string(),
        |c, v| {
            c.acl_pubsub_allchannels = match v.to_ascii_lowercase().as_slice() {
                b"allchannels" => true,
                b"resetchannels" => false,
                _ => {
                    return Err(
                        "argument(s) must be one of the following: allchannels, resetchannels"
                            .into(),
                    )
                }
            }
        }
    ),
    param!(
        "slowlog-max-len",
        None,
        Mutable,
        |c| c.slowlog_max_len.to_string(),
        |c, v| c.slowlog_max_len = int_in(v, 0, LONG_MAX)? as u64
    ),
    param!(
        "latency-monitor-threshold",
        None,
        Mutable,
        |c| c.latency_monitor_threshold_ms.to_string(),
        |c, v| c.latency_monitor_threshold_ms = int_in(v, 0, i64::MAX)? as u64
    ),
    param!(
        "latency-tracking",
        None,
        Mutable,
        |c| if c.latency_tracking { "yes" } else { "no" }.to_owned(),
        |c, v| c.latency_tracking = yes_no(v)?
    ),
    param!(
        "latency-tracking-info-percentiles",
        None,
        Mutable,
        |c| show_percentiles(&c.latency_tracking_info_percentiles),
        |c, v| c.latency_tracking_info_percentiles = parse_percentiles(v)?
    ),
    param!(
        "repl-backlog-size",
        None,
        Mutable,
        |c| c.repl_backlog_size.to_string(),
        |c, v| c.repl_backlog_size = memory_in(v, 1, LONG_MAX)?.max(16 * 1024) as u64
    ),
    param!(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        Mutable,
        |c| c.repl_ping_replica_period_s.to_string(),
        |c, v| c.repl_ping_replica_period_s = int_in(v, 1, INT_MAX)? as u64
    ),
    param!(
        "repl-timeout",
        None,
        Mutable,
        |c| c.repl_timeout_s.to_string(),
        |c, v| c.repl_timeout_s = int_in(v, 1, INT_MAX)? as u64
    ),
    param!(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        Mutable,
        |c| c.min_replicas_to_write.to_string(),
        |c, v| c.min_replicas_to_write = int_in(v, 0, INT_MAX)? as u64
    ),
    param!(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        Mutable,
        |c| c.min_replicas_max_lag_s.to_string(),
        |c, v| c.min_replicas_max_lag_s = int_in(v, 0, INT_MAX)? as u64
    ),
    param!(
        "replica-read-only",
        Some("slave-read-only"),
        Mutable,
        |c| if c.replica_read_only { "yes" } else { "no" }.to_owned(),
        |c, v| c.replica_read_only = yes_no(v)?
    ),
    param!(
        "replica-priority",
        Some("slave-priority"),
        Mutable,
        |c| c.replica_priority.to_string(),
        |c, v| c.replica_priority = int_in(v, 0, INT_MAX)? as u64
    ),
    param!(
        "masterauth",
        None,
        Mutable,
        |c| c.masterauth.as_deref().map(text).unwrap_or_default(),
        |c, v| c.masterauth = (!v.is_empty()).then(|| Bytes::copy_from_slice(v))
    ),
    param!(
        "masteruser",
        None,
        Mutable,
        |c| c.masteruser.as_deref().map(text).unwrap_or_default(),
        |c, v| c.masteruser = (!v.is_empty()).then(|| Bytes::copy_from_slice(v))
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(Bytes, Bytes)> {
        p.iter()
            .map(|(n, v)| {
                (
                    Bytes::copy_from_slice(n.as_bytes()),
                    Bytes::copy_from_slice(v.as_bytes()),
                )
            })
            .collect()
    }

    #[test]
    fn set_is_all_or_nothing_with_redis_errors() {
        let mut c = Config::default();
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("foo", "1")], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
            (&[("databases", "4")], "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"),
            (&[("dir", "/x")], "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"),
            (&[("maxclients", "abc")], "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"),
            (&[("timeout", "-1")], "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"),
            (&[("timeout", "1"), ("TIMEOUT", "2")], "ERR CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter"),
            (&[("hz", "5"), ("timeout", "x")], "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"),
            (&[("maxmemory", "1.5gb")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"),
            (&[("appendonly", "maybe")], "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"),
            (&[("appendfsync", "x")], "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"),
            (&[("save", "100")], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
            (&[("client-output-buffer-limit", "foo 1 2 3")], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."),
            (&[("proto-max-bulk-len", "100")], "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"),
        ];
        for (p, want) in cases {
            let before = c.clone();
            let err = c.set_many(&pairs(p)).unwrap_err();
            assert_eq!(err.to_string(), *want, "{p:?}");
            assert_eq!(c, before, "{p:?} changed nothing");
        }
        c.set_many(&pairs(&[
            ("hz", "1000"),
            ("maxmemory", "10K"),
            ("save", "3600 1  300 100"),
        ]))
        .unwrap();
        assert_eq!(c.hz, 500);
        assert_eq!(c.maxmemory, 10_000);
        let got = c.get_matching(&[Bytes::from_static(b"save"), Bytes::from_static(b"HZ")]);
        assert_eq!(
            got,
            vec![
                ("save".into(), "3600 1 300 100".into()),
                ("HZ".into(), "500".into())
            ]
        );
        assert!(c.is_changed("hz") && !c.is_changed("timeout"));
    }

    #[test]
    fn globs_match_names_and_aliases() {
        let c = Config::default();
        let got: Vec<String> = c
            .get_matching(&[Bytes::from_static(b"hash-max-*")])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            got,
            [
                "hash-max-listpack-entries",
                "hash-max-ziplist-entries",
                "hash-max-listpack-value",
                "hash-max-ziplist-value"
            ]
        );
        let limits = c.get_matching(&[Bytes::from_static(b"client-output-buffer-limit")]);
        assert_eq!(
            limits[0].1,
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }
}
