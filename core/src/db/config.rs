//! Server settings: the typed [`Config`] the server runs by, and the table of parameters that
//! CONFIG GET, CONFIG SET, the configuration file, the command line and INFO read and write
//! by name.
//!
//! Every Redis 7.0 parameter is one row of [`PARAMS`] (written with `row!`): its name and the
//! older alias Redis still accepts, whether CONFIG SET may change it ([`Access`]), its
//! [`Kind`] (yes/no, an integer in a range, a memory value with units, one of some names,
//! text, or a parser of its own), Redis's default as CONFIG GET shows it, where the value
//! lives ([`Bind`]: a typed field redish acts on, or stored to be reported only) and what
//! CONFIG SET must do once it changed ([`Apply`]). The kind parses the text with Redis's
//! error texts and writes it back in Redis's format, so a parameter that redish only
//! reports behaves as Redis's towards clients and configuration files.
//!
//! Adding a parameter is adding a row, and a field if redish acts on it: for a field, the
//! `field!` macro binds the row to it (`field!(maxclients: u64)`, `field!(appendonly: bool)`,
//! `field!(text dir)`, `field!(enum appendfsync: AppendFsync)`). The parameters redish
//! accepts but does not act on are the rows bound to [`Bind::Stored`]; the README lists them.
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

/// How a parameter's text is read and written, with Redis's error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` or `no`.
    Bool,
    /// A decimal integer in `min..=max`.
    Int {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// Bytes, with an optional unit (`1k` is 1000, `1kb` 1024, up to `gb`), in `min..=max`;
    /// CONFIG GET shows the number of bytes.
    Memory {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: u64,
    },
    /// A memory value, or a percentage of `maxmemory` (`10%`, kept as -10) —
    /// `maxmemory-clients`.
    MemoryOrPercent,
    /// An octal number up to `max` (`unixsocketperm`).
    Octal {
        /// Largest value.
        max: u32,
    },
    /// One of these names, in any case.
    Enum(&'static [&'static str]),
    /// Any text.
    Text,
    /// Read and written by the row's own functions ([`Bind::Special`]).
    Special,
}

/// A parameter's value as its [`Kind`] parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// [`Kind::Bool`].
    Bool(bool),
    /// The numeric kinds (a percentage is negative).
    Int(i128),
    /// [`Kind::Enum`] (the name as the table spells it) and [`Kind::Text`].
    Text(Vec<u8>),
}

impl ConfigValue {
    fn as_bool(&self) -> bool {
        matches!(self, ConfigValue::Bool(true))
    }

    fn as_int(&self) -> i128 {
        match self {
            ConfigValue::Int(n) => *n,
            _ => 0,
        }
    }

    fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            ConfigValue::Text(t) => Some(t),
            _ => None,
        }
    }

    fn into_text(self) -> String {
        String::from_utf8_lossy(&self.into_bytes().unwrap_or_default()).into_owned()
    }
}

impl Kind {
    /// Parses `v` as Redis's config code does for this kind. [`Kind::Special`] parses
    /// nothing here (its row's own function does).
    pub fn parse(self, v: &[u8]) -> Result<ConfigValue, String> {
        match self {
            Kind::Bool => yes_no(v).map(ConfigValue::Bool),
            Kind::Int { min, max } => int_in(v, min, max).map(|n| ConfigValue::Int(n.into())),
            Kind::Memory { min, max } => {
                let n = memory(v).ok_or("argument must be a memory value")?;
                if i128::from(n) < i128::from(min) || n > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(ConfigValue::Int(n.into()))
            }
            Kind::MemoryOrPercent => {
                let bad = "argument must be a memory or percent value";
                if let Some(pct) = v.strip_suffix(b"%") {
                    let n = crate::num::parse_i64(pct).filter(|n| *n >= 0).ok_or(bad)?;
                    if n > 100 {
                        return Err("percentage argument must be less or equal to 100".into());
                    }
                    return Ok(ConfigValue::Int((-n).into()));
                }
                // As Redis's: the unsigned number is taken as signed, so the very largest
                // read as percentages.
                let n = memory(v).ok_or(bad)? as i64;
                if n < -100 {
                    return Err(format!(
                        "argument must be between -100 and {} inclusive",
                        i64::MAX
                    ));
                }
                Ok(ConfigValue::Int(n.into()))
            }
            Kind::Octal { max } => {
                let n = std::str::from_utf8(v)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|c| (b'0'..=b'7').contains(&c)))
                    .and_then(|s| u32::from_str_radix(s, 8).ok())
                    .ok_or("argument couldn't be parsed as an octal number")?;
                if n > max {
                    return Err(format!("argument must be between 0 and {max} inclusive"));
                }
                Ok(ConfigValue::Int(n.into()))
            }
            Kind::Enum(names) => names
                .iter()
                .find(|t| t.as_bytes().eq_ignore_ascii_case(v))
                .map(|t| ConfigValue::Text(t.as_bytes().to_vec()))
                .ok_or_else(|| {
                    format!(
                        "argument(s) must be one of the following: {}",
                        names.join(", ")
                    )
                }),
            Kind::Text | Kind::Special => Ok(ConfigValue::Text(v.to_vec())),
        }
    }

    /// `value` as CONFIG GET shows it.
    pub fn show(self, value: &ConfigValue) -> String {
        match (self, value) {
            (_, ConfigValue::Bool(b)) => if *b { "yes" } else { "no" }.to_owned(),
            (Kind::MemoryOrPercent, ConfigValue::Int(n)) if *n < 0 => format!("{}%", -n),
            (Kind::Octal { .. }, ConfigValue::Int(n)) => format!("{n:o}"),
            (_, ConfigValue::Int(n)) => n.to_string(),
            (_, ConfigValue::Text(t)) => String::from_utf8_lossy(t).into_owned(),
        }
    }

    /// `value` as CONFIG REWRITE writes it: memory values in the largest unit that divides
    /// them (`64mb`), as Redis's `rewriteConfigBytesOption`.
    pub fn show_in_file(self, value: &ConfigValue) -> String {
        match (self, value) {
            (Kind::Memory { .. } | Kind::MemoryOrPercent, ConfigValue::Int(n)) if *n > 0 => {
                let n = *n;
                let gb = 1i128 << 30;
                let mb = 1i128 << 20;
                let kb = 1i128 << 10;
                if n % gb == 0 {
                    format!("{}gb", n / gb)
                } else if n % mb == 0 {
                    format!("{}mb", n / mb)
                } else if n % kb == 0 {
                    format!("{}kb", n / kb)
                } else {
                    n.to_string()
                }
            }
            _ => self.show(value),
        }
    }
}

/// Where a parameter's value lives.
#[derive(Clone, Copy)]
pub enum Bind {
    /// A typed field of [`Config`] that redish acts on: read it as a [`ConfigValue`], write a
    /// parsed one.
    Field(fn(&Config) -> ConfigValue, fn(&mut Config, ConfigValue)),
    /// Accepted, checked and reported, but redish has nothing to do with it: the value is
    /// kept in the config as parsed.
    Stored,
    /// A parameter with its own text (`save`, `client-output-buffer-limit`, `bind`…): show
    /// it, and parse-and-set it with Redis's error texts.
    Special(
        fn(&Config) -> String,
        fn(&mut Config, &[u8]) -> Result<(), String>,
    ),
}

/// What CONFIG SET does once a parameter changed, besides storing it (Redis's `apply`
/// functions). Most parameters need nothing: their value is read where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// Nothing more.
    Nothing,
    /// Evict now, as Redis's `updateMaxmemory`, rather than at the next command.
    Evict,
}

/// One configuration parameter: a row of [`PARAMS`].
#[derive(Clone, Copy)]
pub struct Param {
    /// The name CONFIG GET reports.
    pub name: &'static str,
    /// The older name Redis still accepts for it (`hash-max-ziplist-entries`).
    pub alias: Option<&'static str>,
    /// Whether CONFIG SET may change it.
    pub access: Access,
    /// How its text is read and written.
    pub kind: Kind,
    /// Redis 7.0's default, as CONFIG GET shows it.
    pub default: &'static str,
    /// Where its value lives.
    pub bind: Bind,
    /// What CONFIG SET does when it changed.
    pub apply: Apply,
    /// Accepted, checked and reported, but redish does not act on it (the README lists
    /// these).
    pub reported_only: bool,
    /// Takes several words (`save 900 1 300 10`): a configuration file line may give it
    /// more than one argument (Redis's `MULTI_ARG_CONFIG`).
    pub multi_arg: bool,
    /// Left out of CONFIG GET's globs (Redis's `HIDDEN_CONFIG`, for its test suite); named
    /// exactly, it is there.
    pub hidden: bool,
}

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Param").field("name", &self.name).finish()
    }
}

impl Param {
    const fn new(
        name: &'static str,
        alias: Option<&'static str>,
        access: Access,
        kind: Kind,
        default: &'static str,
        bind: Bind,
    ) -> Param {
        Param {
            name,
            alias,
            access,
            kind,
            default,
            bind,
            apply: Apply::Nothing,
            reported_only: matches!(bind, Bind::Stored),
            multi_arg: false,
            hidden: false,
        }
    }

    /// Marks a row that takes several words.
    const fn multi_arg(mut self) -> Param {
        self.multi_arg = true;
        self
    }

    /// Marks a [`Bind::Stored`] row that the host reads and acts on (`logfile`,
    /// `loglevel`, `pidfile`): not reported-only, though core keeps only its value.
    const fn read_by_host(mut self) -> Param {
        self.reported_only = false;
        self
    }

    /// Marks a [`Bind::Special`] row whose value redish only keeps and reports.
    const fn reported(mut self) -> Param {
        self.reported_only = true;
        self
    }

    const fn hidden(mut self) -> Param {
        self.hidden = true;
        self
    }

    const fn apply(mut self, apply: Apply) -> Param {
        self.apply = apply;
        self
    }

    /// The value as CONFIG GET shows it.
    pub fn get(&self, config: &Config) -> String {
        match self.bind {
            Bind::Special(get, _) => get(config),
            Bind::Field(get, _) => self.kind.show(&get(config)),
            Bind::Stored => self.kind.show(&config.stored[self.index()]),
        }
    }

    /// The value as CONFIG REWRITE writes it (memory values with units).
    pub fn get_for_file(&self, config: &Config) -> String {
        match self.bind {
            Bind::Special(get, _) => get(config),
            Bind::Field(get, _) => self.kind.show_in_file(&get(config)),
            Bind::Stored => self.kind.show_in_file(&config.stored[self.index()]),
        }
    }

    /// Parses `v` and sets it in `config`, or says why not (Redis's text).
    fn set(&self, config: &mut Config, v: &[u8]) -> Result<(), String> {
        match self.bind {
            Bind::Special(_, set) => set(config, v),
            Bind::Field(_, set) => {
                set(config, self.kind.parse(v)?);
                Ok(())
            }
            Bind::Stored => {
                config.stored[self.index()] = self.kind.parse(v)?;
                Ok(())
            }
        }
    }

    fn index(&self) -> usize {
        PARAMS
            .iter()
            .position(|p| p.name == self.name)
            .expect("a row of PARAMS")
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

            /// The names Redis accepts, in its order (the [`Kind::Enum`] of the parameter).
            pub const NAMES: &'static [&'static str] = &[$($text),+];

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
    // Split on each space, as Redis's multi-argument configs: two spaces make an empty,
    // invalid, argument.
    for w in v.split(|&c| c == b' ').filter(|_| !v.is_empty()) {
        let p = strtod(w).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
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

/// A whole word as C's `strtod` reads it: decimal, or `0x` hexadecimal; never NaN.
fn strtod(w: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(w).ok()?;
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()? as f64
    } else if body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        body.parse::<f64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v }).filter(|v| !v.is_nan())
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
    /// `client-output-buffer-limit` for replicas (kept for CONFIG; redish has no replicas).
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
    /// TLS, Unix socket, protected mode and ACL file (see [`SecurityConfig`]).
    pub security: SecurityConfig,
    /// Parameters named through [`crate::Store::set_setting`] that redish does not model:
    /// CONFIG GET reports them as given.
    extra: Vec<(String, String)>,
    /// The values of the parameters redish only reports ([`Bind::Stored`]), by index in
    /// [`PARAMS`] (other rows hold a placeholder).
    stored: Vec<ConfigValue>,
    /// Bit `i` set: `PARAMS[i]` was set since the config was made (see [`Config::is_changed`]).
    changed: [u64; CHANGED_WORDS],
}

impl Default for Config {
    /// Redis 7.0's defaults, except what only the adapter knows (port, bind, dir) and
    /// persistence, off until an adapter turns it on.
    fn default() -> Self {
        let mut c = Config {
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
            min_replicas_to_write: 0,
            min_replicas_max_lag_s: 10,
            replica_read_only: true,
            replica_priority: 100,
            masterauth: None,
            masteruser: None,
            security: SecurityConfig::default(),
            extra: Vec::new(),
            stored: vec![ConfigValue::Int(0); PARAMS.len()],
            changed: [0; CHANGED_WORDS],
        };
        // The table's defaults rule; the literal above only gives the fields a start.
        for p in PARAMS {
            p.set(&mut c, p.default.as_bytes())
                .expect("a default parses by its own kind");
        }
        // No save points until asked for: see `ServerOptions::configure_store`.
        c.save = Vec::new();
        c
    }
}

/// Words of [`Config`]'s set-since-made bits: room for 256 parameters.
const CHANGED_WORDS: usize = 4;

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

    fn mark_changed(&mut self, i: usize) {
        self.changed[i / 64] |= 1 << (i % 64);
    }

    /// True if parameter `name` was set (by CONFIG SET or [`Config::set`]) since this config
    /// was made. Sessions take the store's value of a per-connection limit only once it was
    /// set, so an adapter's own [`crate::SessionConfig`] rules until then.
    pub fn is_changed(&self, name: &str) -> bool {
        Config::param(name.as_bytes())
            .is_some_and(|(i, _)| self.changed[i / 64] & (1 << (i % 64)) != 0)
    }

    /// Sets one parameter from its text, as a configuration file line would, immutable ones
    /// included (for adapters at startup). Unknown names are kept as text for CONFIG GET.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        match Config::param(name.as_bytes()) {
            Some((i, p)) => {
                p.set(self, value.as_bytes())?;
                self.mark_changed(i);
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
        for (i, by_alias, p, value) in found {
            if let Err(reason) = p.set(self, value) {
                *self = backup;
                // Redis names the entry of its table that was set: the alias has its own.
                let name = if by_alias { p.alias } else { None };
                return Err(ConfigSetError::Failed {
                    name: name.unwrap_or(p.name).to_owned(),
                    reason,
                });
            }
            self.mark_changed(i);
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
            for p in PARAMS.iter().filter(|p| !p.hidden) {
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

    /// The value of parameter `name` (hidden ones too), as CONFIG GET shows it.
    pub fn value(&self, name: &str) -> Option<String> {
        Config::param(name.as_bytes()).map(|(_, p)| p.get(self))
    }

    /// CONFIG GET `name` of a parameter, hidden or not.
    #[cfg(test)]
    fn all_with_hidden(&self, name: &str) -> String {
        Config::param(name.as_bytes())
            .map(|(_, p)| p.get(self))
            .unwrap_or_default()
    }

    /// Every parameter with its value, in table order, then the extra ones.
    pub fn all(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        PARAMS
            .iter()
            .filter(|p| !p.hidden)
            .map(move |p| (p.name, p.get(self)))
            .chain(self.extra.iter().map(|(n, v)| (n.as_str(), v.clone())))
    }
}

// --- Parsers, with Redis's error texts -------------------------------------------------

fn int_in(v: &[u8], min: i64, max: i64) -> Result<i64, String> {
    let n = crate::num::parse_i64(v).ok_or("argument couldn't be parsed into an integer")?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// Redis's `memtoull`: digits with an optional unit (`b`, `k`, `kb`, `m`, `mb`, `g`, `gb`, any
/// case; `k` is 1000, `kb` 1024). As Redis's, no digits at all reads as 0.
pub fn memory(v: &[u8]) -> Option<u64> {
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
    // As `strtoull`: too many digits saturate; as Redis's, the product wraps.
    let n = num.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(n.wrapping_mul(mul))
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

/// The words of a multi-argument parameter (`save 3600 1 300 100`).
fn words(v: &[u8]) -> Vec<&[u8]> {
    v.split(|&c| c == b' ').filter(|w| !w.is_empty()).collect()
}

fn parse_save(v: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let words = words(v);
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

fn set_save(c: &mut Config, v: &[u8]) -> Result<(), String> {
    c.save = parse_save(v)?;
    Ok(())
}

fn show_save(c: &Config) -> String {
    let mut s = String::new();
    for (secs, changes) in &c.save {
        if !s.is_empty() {
            s.push(' ');
        }
        let _ = write!(s, "{secs} {changes}");
    }
    s
}

fn parse_output_limits(c: &mut Config, v: &[u8]) -> Result<(), String> {
    let words = words(v);
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

fn set_notify(c: &mut Config, v: &[u8]) -> Result<(), String> {
    c.notify_keyspace_events = super::notify::parse_flags(v).ok_or(super::notify::BAD_CLASS)?;
    Ok(())
}

mod security;
pub use security::{SecurityConfig, TlsAuthClients, TlsReload};

fn show_notify(c: &Config) -> String {
    super::notify::format_flags(c.notify_keyspace_events)
}

fn set_percentiles(c: &mut Config, v: &[u8]) -> Result<(), String> {
    c.latency_tracking_info_percentiles = parse_percentiles(v)?;
    Ok(())
}

fn show_percentiles(c: &Config) -> String {
    c.latency_tracking_info_percentiles
        .0
        .iter()
        .map(|&v| trim_double(v))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of a [`Kind::Special`] parameter that redish only reports, kept in
/// [`Config::stored`].
fn stored_text(c: &Config, name: &str) -> String {
    let (i, _) = Config::param(name.as_bytes()).expect("a row of PARAMS");
    Kind::Text.show(&c.stored[i])
}

fn store_text(c: &mut Config, name: &str, text: String) {
    let (i, _) = Config::param(name.as_bytes()).expect("a row of PARAMS");
    c.stored[i] = ConfigValue::Text(text.into_bytes());
}

fn set_oom_values(c: &mut Config, v: &[u8]) -> Result<(), String> {
    let words = words(v);
    if words.len() != 3 {
        return Err("wrong number of arguments".to_owned());
    }
    let mut shown = Vec::new();
    for w in words {
        let n = crate::num::parse_i64(w)
            .filter(|n| (-2000..=2000).contains(n))
            .ok_or("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")?;
        shown.push(n.to_string());
    }
    store_text(c, "oom-score-adj-values", shown.join(" "));
    Ok(())
}

fn show_oom_values(c: &Config) -> String {
    stored_text(c, "oom-score-adj-values")
}

/// `replicaof host port` or `replicaof no one` (none). Replication reads it from here.
fn set_replicaof(c: &mut Config, v: &[u8]) -> Result<(), String> {
    let words = words(v);
    if v.is_empty() {
        store_text(c, "replicaof", String::new());
        return Ok(());
    }
    if words.len() != 2 {
        return Err("wrong number of arguments".to_owned());
    }
    if words[0].eq_ignore_ascii_case(b"no") && words[1].eq_ignore_ascii_case(b"one") {
        store_text(c, "replicaof", String::new());
        return Ok(());
    }
    let port = crate::num::parse_i64(words[1])
        .filter(|p| (0..=65535).contains(p))
        .ok_or("Invalid master port")?;
    let host = String::from_utf8_lossy(words[0]);
    store_text(c, "replicaof", format!("{host} {port}"));
    Ok(())
}

fn show_replicaof(c: &Config) -> String {
    stored_text(c, "replicaof")
}

/// What `shutdown-on-sigint` / `-sigterm` may say: one or more of these.
const SHUTDOWN_FLAGS: &[&str] = &["default", "save", "nosave", "now", "force"];

fn set_shutdown_flags(c: &mut Config, name: &str, v: &[u8]) -> Result<(), String> {
    let mut picked = [false; 5];
    let words = words(v);
    for w in &words {
        let i = SHUTDOWN_FLAGS
            .iter()
            .position(|f| f.as_bytes().eq_ignore_ascii_case(w))
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    SHUTDOWN_FLAGS.join(", ")
                )
            })?;
        picked[i] = true;
    }
    if words.is_empty() {
        return Err(format!(
            "argument(s) must be one of the following: {}",
            SHUTDOWN_FLAGS.join(", ")
        ));
    }
    // `default` is no flag at all: shown only alone.
    let mut shown: Vec<&str> = (1..SHUTDOWN_FLAGS.len())
        .filter(|&i| picked[i])
        .map(|i| SHUTDOWN_FLAGS[i])
        .collect();
    if shown.is_empty() {
        shown.push("default");
    }
    store_text(c, name, shown.join(" "));
    Ok(())
}

fn set_sigint(c: &mut Config, v: &[u8]) -> Result<(), String> {
    set_shutdown_flags(c, "shutdown-on-sigint", v)
}

fn show_sigint(c: &Config) -> String {
    stored_text(c, "shutdown-on-sigint")
}

fn set_sigterm(c: &mut Config, v: &[u8]) -> Result<(), String> {
    set_shutdown_flags(c, "shutdown-on-sigterm", v)
}

fn show_sigterm(c: &Config) -> String {
    stored_text(c, "shutdown-on-sigterm")
}

/// `repl-backlog-size`: a memory value, raised to Redis's 16 KiB smallest backlog as its
/// `resizeReplicationBacklog` does.
fn set_backlog_size(c: &mut Config, v: &[u8]) -> Result<(), String> {
    let n = Kind::Memory {
        min: 1,
        max: LONG_MAX as u64,
    }
    .parse(v)?
    .as_int()
    .max(16 * 1024);
    c.repl_backlog_size = n as u64;
    store_text(c, "repl-backlog-size", n.to_string());
    Ok(())
}

fn show_backlog_size(c: &Config) -> String {
    stored_text(c, "repl-backlog-size")
}

/// `activedefrag`: `no` only. Redis refuses `yes` without its own jemalloc, and redish has
/// no defragmenter: the same refusal says so.
fn set_activedefrag(c: &mut Config, v: &[u8]) -> Result<(), String> {
    if yes_no(v)? {
        return Err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution".to_owned());
    }
    store_text(c, "activedefrag", "no".to_owned());
    Ok(())
}

fn show_activedefrag(c: &Config) -> String {
    stored_text(c, "activedefrag")
}

/// `cluster-announce-hostname`: letters, digits, hyphens and dots, as Redis checks.
fn set_hostname(c: &mut Config, v: &[u8]) -> Result<(), String> {
    if !v
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
    {
        return Err(
            "Hostnames may only contain alphanumeric characters, hyphens or dots".to_owned(),
        );
    }
    store_text(c, "cluster-announce-hostname", text(v));
    Ok(())
}

fn show_hostname(c: &Config) -> String {
    stored_text(c, "cluster-announce-hostname")
}

/// `proc-title-template`: text with `{variables}` Redis knows, not empty once expanded.
fn set_title_template(c: &mut Config, v: &[u8]) -> Result<(), String> {
    const VARIABLES: &[&str] = &[
        "title",
        "listen-addr",
        "server-mode",
        "port",
        "tls-port",
        "unixsocket",
        "config-file",
    ];
    let bad = || "template format is invalid or contains unknown variables".to_owned();
    let t = text(v);
    let mut rest = t.as_str();
    while let Some(open) = rest.find('{') {
        if rest[..open].contains('}') {
            return Err(bad());
        }
        let close = rest[open..].find('}').ok_or_else(bad)? + open;
        if !VARIABLES.contains(&&rest[open + 1..close]) {
            return Err(bad());
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') || t.trim().is_empty() {
        return Err(bad());
    }
    store_text(c, "proc-title-template", t);
    Ok(())
}

fn show_title_template(c: &Config) -> String {
    stored_text(c, "proc-title-template")
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

// --- The table ---------------------------------------------------------------------------

const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const ULLONG_MAX: u64 = u64::MAX;

/// `row!(name [| alias], Access, Kind, default, Bind)`: one parameter.
macro_rules! row {
    ($name:literal | $alias:literal, $access:ident, $kind:expr, $default:literal, $bind:expr) => {
        Param::new($name, Some($alias), Access::$access, $kind, $default, $bind)
    };
    ($name:literal, $access:ident, $kind:expr, $default:literal, $bind:expr) => {
        Param::new($name, None, Access::$access, $kind, $default, $bind)
    };
}

/// Binds a row to a field of [`Config`]: `field!(name: bool)`, `field!(name: u64)` (any
/// integer type), `field!(text name)` (a `String`), `field!(enum name: Type)` (a `choice!`).
macro_rules! field {
    ($f:ident: bool) => {
        Bind::Field(|c| ConfigValue::Bool(c.$f), |c, v| c.$f = v.as_bool())
    };
    (text $f:ident) => {
        Bind::Field(
            |c| ConfigValue::Text(c.$f.as_bytes().to_vec()),
            |c, v| c.$f = v.into_text(),
        )
    };
    (enum $f:ident: $t:ident) => {
        Bind::Field(
            |c| ConfigValue::Text(c.$f.name().as_bytes().to_vec()),
            |c, v| {
                if let Ok(e) = $t::parse(&v.into_bytes().unwrap_or_default()) {
                    c.$f = e;
                }
            },
        )
    };
    ($f:ident: $t:ty) => {
        Bind::Field(
            |c| ConfigValue::Int(c.$f as i128),
            |c, v| c.$f = v.as_int() as $t,
        )
    };
}

const fn special(
    get: fn(&Config) -> String,
    set: fn(&mut Config, &[u8]) -> Result<(), String>,
) -> Bind {
    Bind::Special(get, set)
}

/// Every Redis 7.0 parameter, in the order CONFIG GET lists them (Redis lists them in hash
/// order). Kinds, ranges and defaults are Redis 7.0.15's, as its CONFIG SET and start-up
/// errors state them; `port` and `bind` are immutable here (the adapter binds once).
#[rustfmt::skip]
pub static PARAMS: &[Param] = &[
    row!("acl-pubsub-default", Mutable, Kind::Enum(&["allchannels", "resetchannels"]), "resetchannels", Bind::Field(|c| ConfigValue::Text(if c.acl_pubsub_allchannels { b"allchannels".to_vec() } else { b"resetchannels".to_vec() }), |c, v| c.acl_pubsub_allchannels = v.into_bytes().is_some_and(|t| t == b"allchannels"))),
    row!("aclfile", Immutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.security.aclfile.as_bytes().to_vec()), |c, v| c.security.aclfile = v.into_text())),
    row!("acllog-max-len", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "128", field!(acllog_max_len: u64)),
    row!("active-defrag-cycle-max", Mutable, Kind::Int { min: 1, max: 99 }, "25", Bind::Stored),
    row!("active-defrag-cycle-min", Mutable, Kind::Int { min: 1, max: 99 }, "1", Bind::Stored),
    row!("active-defrag-ignore-bytes", Mutable, Kind::Memory { min: 1, max: LONG_MAX as u64 }, "104857600", Bind::Stored),
    row!("active-defrag-max-scan-fields", Mutable, Kind::Int { min: 1, max: LONG_MAX }, "1000", Bind::Stored),
    row!("active-defrag-threshold-lower", Mutable, Kind::Int { min: 0, max: 1000 }, "10", Bind::Stored),
    row!("active-defrag-threshold-upper", Mutable, Kind::Int { min: 0, max: 1000 }, "100", Bind::Stored),
    row!("active-expire-effort", Mutable, Kind::Int { min: 1, max: 10 }, "1", Bind::Stored),
    row!("activedefrag", Mutable, Kind::Special, "no", special(show_activedefrag, set_activedefrag)).reported(),
    row!("activerehashing", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("always-show-logo", Immutable, Kind::Bool, "no", Bind::Stored),
    row!("aof-disable-auto-gc", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("aof-load-truncated", Mutable, Kind::Bool, "yes", field!(aof_load_truncated: bool)),
    row!("aof-rewrite-incremental-fsync", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("aof-timestamp-enabled", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("aof-use-rdb-preamble", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("aof_rewrite_cpulist", Immutable, Kind::Text, "", Bind::Stored),
    row!("appenddirname", Immutable, Kind::Text, "appendonlydir", field!(text appenddirname)),
    row!("appendfilename", Immutable, Kind::Text, "appendonly.aof", field!(text appendfilename)),
    row!("appendfsync", Mutable, Kind::Enum(AppendFsync::NAMES), "everysec", field!(enum appendfsync: AppendFsync)),
    row!("appendonly", Mutable, Kind::Bool, "no", field!(appendonly: bool)),
    row!("auto-aof-rewrite-min-size", Mutable, Kind::Memory { min: 0, max: LONG_MAX as u64 }, "67108864", field!(auto_aof_rewrite_min_size: u64)),
    row!("auto-aof-rewrite-percentage", Mutable, Kind::Int { min: 0, max: INT_MAX }, "100", field!(auto_aof_rewrite_percentage: u64)),
    row!("bgsave_cpulist", Immutable, Kind::Text, "", Bind::Stored),
    row!("bind", Immutable, Kind::Special, "* -::*", Bind::Field(|c| ConfigValue::Text(c.bind.as_bytes().to_vec()), |c, v| c.bind = v.into_text().split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "))).multi_arg(),
    row!("bind-source-addr", Mutable, Kind::Text, "", Bind::Stored),
    row!("bio_cpulist", Immutable, Kind::Text, "", Bind::Stored),
    row!("busy-reply-threshold" | "lua-time-limit", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "5000", field!(busy_reply_threshold_ms: u64)),
    row!("client-output-buffer-limit", Mutable, Kind::Special, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", special(show_output_limits, parse_output_limits)).multi_arg(),
    row!("client-query-buffer-limit", Mutable, Kind::Memory { min: 1048576, max: LONG_MAX as u64 }, "1073741824", Bind::Stored),
    row!("cluster-allow-pubsubshard-when-down", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("cluster-allow-reads-when-down", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("cluster-allow-replica-migration", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("cluster-announce-bus-port", Mutable, Kind::Int { min: 0, max: 65535 }, "0", Bind::Stored),
    row!("cluster-announce-hostname", Mutable, Kind::Special, "", special(show_hostname, set_hostname)).reported(),
    row!("cluster-announce-ip", Mutable, Kind::Text, "", Bind::Stored),
    row!("cluster-announce-port", Mutable, Kind::Int { min: 0, max: 65535 }, "0", Bind::Stored),
    row!("cluster-announce-tls-port", Mutable, Kind::Int { min: 0, max: 65535 }, "0", Bind::Stored),
    row!("cluster-config-file", Immutable, Kind::Text, "nodes.conf", Bind::Stored),
    row!("cluster-enabled", Immutable, Kind::Bool, "no", Bind::Stored),
    row!("cluster-link-sendbuf-limit", Mutable, Kind::Memory { min: 0, max: ULLONG_MAX }, "0", Bind::Stored),
    row!("cluster-migration-barrier", Mutable, Kind::Int { min: 0, max: INT_MAX }, "1", Bind::Stored),
    row!("cluster-node-timeout", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "15000", Bind::Stored),
    row!("cluster-port", Immutable, Kind::Int { min: 0, max: 65535 }, "0", Bind::Stored),
    row!("cluster-preferred-endpoint-type", Mutable, Kind::Enum(&["ip", "hostname", "unknown-endpoint"]), "ip", Bind::Stored),
    row!("cluster-replica-no-failover" | "cluster-slave-no-failover", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("cluster-replica-validity-factor" | "cluster-slave-validity-factor", Mutable, Kind::Int { min: 0, max: INT_MAX }, "10", Bind::Stored),
    row!("cluster-require-full-coverage", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("crash-log-enabled", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("crash-memcheck-enabled", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("daemonize", Immutable, Kind::Bool, "no", Bind::Stored),
    row!("databases", Immutable, Kind::Int { min: 1, max: INT_MAX }, "16", field!(databases: usize)),
    row!("dbfilename", Protected, Kind::Text, "dump.rdb", field!(text dbfilename)),
    row!("dir", Protected, Kind::Special, "", field!(text dir)),
    row!("disable-thp", Immutable, Kind::Bool, "yes", Bind::Stored),
    row!("dynamic-hz", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("enable-debug-command", Immutable, Kind::Enum(DebugCommand::NAMES), "no", field!(enum enable_debug_command: DebugCommand)),
    row!("enable-module-command", Immutable, Kind::Enum(&["no", "yes", "local"]), "no", Bind::Stored),
    row!("enable-protected-configs", Immutable, Kind::Enum(&["no", "yes", "local"]), "no", Bind::Stored),
    row!("hash-max-listpack-entries" | "hash-max-ziplist-entries", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "512", field!(hash_max_listpack_entries: u64)),
    row!("hash-max-listpack-value" | "hash-max-ziplist-value", Mutable, Kind::Memory { min: 0, max: LONG_MAX as u64 }, "64", field!(hash_max_listpack_value: u64)),
    row!("hll-sparse-max-bytes", Mutable, Kind::Memory { min: 0, max: LONG_MAX as u64 }, "3000", field!(hll_sparse_max_bytes: u64)),
    row!("hz", Mutable, Kind::Int { min: 0, max: INT_MAX }, "10", Bind::Field(|c| ConfigValue::Int(c.hz.into()), |c, v| c.hz = v.as_int().clamp(1, 500) as u32)),
    row!("ignore-warnings", Mutable, Kind::Text, "", Bind::Stored),
    row!("io-threads", Immutable, Kind::Int { min: 1, max: 128 }, "1", Bind::Stored),
    row!("io-threads-do-reads", Immutable, Kind::Bool, "no", Bind::Stored),
    row!("jemalloc-bg-thread", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("key-load-delay", Mutable, Kind::Int { min: INT_MIN, max: INT_MAX }, "0", Bind::Stored).hidden(),
    row!("latency-monitor-threshold", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "0", field!(latency_monitor_threshold_ms: u64)),
    row!("latency-tracking", Mutable, Kind::Bool, "yes", field!(latency_tracking: bool)),
    row!("latency-tracking-info-percentiles", Mutable, Kind::Special, "50 99 99.9", special(show_percentiles, set_percentiles)).multi_arg(),
    row!("lazyfree-lazy-eviction", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("lazyfree-lazy-expire", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("lazyfree-lazy-server-del", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("lazyfree-lazy-user-del", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("lazyfree-lazy-user-flush", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("lfu-decay-time", Mutable, Kind::Int { min: 0, max: INT_MAX }, "1", field!(lfu_decay_time: u32)),
    row!("lfu-log-factor", Mutable, Kind::Int { min: 0, max: INT_MAX }, "10", field!(lfu_log_factor: u32)),
    row!("list-compress-depth", Mutable, Kind::Int { min: 0, max: INT_MAX }, "0", field!(list_compress_depth: u64)),
    row!("list-max-listpack-size" | "list-max-ziplist-size", Mutable, Kind::Int { min: INT_MIN, max: INT_MAX }, "-2", field!(list_max_listpack_size: i64)),
    row!("loading-process-events-interval-bytes", Mutable, Kind::Int { min: 1024, max: INT_MAX }, "2097152", Bind::Stored).hidden(),
    row!("logfile", Immutable, Kind::Text, "", Bind::Stored).read_by_host(),
    row!("loglevel", Mutable, Kind::Enum(&["debug", "verbose", "notice", "warning"]), "notice", Bind::Stored).read_by_host(),
    row!("masterauth", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.masterauth.as_deref().unwrap_or_default().to_vec()), |c, v| c.masterauth = v.into_bytes().filter(|b| !b.is_empty()).map(Bytes::from))),
    row!("masteruser", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.masteruser.as_deref().unwrap_or_default().to_vec()), |c, v| c.masteruser = v.into_bytes().filter(|b| !b.is_empty()).map(Bytes::from))),
    row!("maxclients", Mutable, Kind::Int { min: 1, max: UINT_MAX }, "10000", field!(maxclients: u64)),
    row!("maxmemory", Mutable, Kind::Memory { min: 0, max: ULLONG_MAX }, "0", field!(maxmemory: u64)).apply(Apply::Evict),
    row!("maxmemory-clients", Mutable, Kind::MemoryOrPercent, "0", Bind::Stored),
    row!("maxmemory-eviction-tenacity", Mutable, Kind::Int { min: 0, max: 100 }, "10", field!(maxmemory_eviction_tenacity: u64)),
    row!("maxmemory-policy", Mutable, Kind::Enum(MaxmemoryPolicy::NAMES), "noeviction", field!(enum maxmemory_policy: MaxmemoryPolicy)),
    row!("maxmemory-samples", Mutable, Kind::Int { min: 1, max: INT_MAX }, "5", field!(maxmemory_samples: u64)),
    row!("min-replicas-max-lag" | "min-slaves-max-lag", Mutable, Kind::Int { min: 0, max: INT_MAX }, "10", field!(min_replicas_max_lag_s: u64)),
    row!("min-replicas-to-write" | "min-slaves-to-write", Mutable, Kind::Int { min: 0, max: INT_MAX }, "0", field!(min_replicas_to_write: u64)),
    row!("no-appendfsync-on-rewrite", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("notify-keyspace-events", Mutable, Kind::Special, "", special(show_notify, set_notify)),
    row!("oom-score-adj", Mutable, Kind::Enum(&["no", "yes", "relative", "absolute"]), "no", Bind::Stored),
    row!("oom-score-adj-values", Mutable, Kind::Special, "0 200 800", special(show_oom_values, set_oom_values)).reported().multi_arg(),
    row!("pidfile", Immutable, Kind::Text, "", Bind::Stored).read_by_host(),
    row!("port", Immutable, Kind::Int { min: 0, max: 65535 }, "6379", field!(port: u16)),
    row!("proc-title-template", Mutable, Kind::Special, "{title} {listen-addr} {server-mode}", special(show_title_template, set_title_template)).reported(),
    row!("propagation-error-behavior", Mutable, Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), "ignore", Bind::Stored),
    row!("protected-mode", Mutable, Kind::Bool, "yes", Bind::Field(|c| ConfigValue::Bool(c.security.protected_mode), |c, v| c.security.protected_mode = v.as_bool())),
    row!("proto-max-bulk-len", Mutable, Kind::Memory { min: 1048576, max: LONG_MAX as u64 }, "536870912", field!(proto_max_bulk_len: u64)),
    row!("rdb-del-sync-files", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("rdb-key-save-delay", Mutable, Kind::Int { min: INT_MIN, max: INT_MAX }, "0", Bind::Stored).hidden(),
    row!("rdb-save-incremental-fsync", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("rdbchecksum", Immutable, Kind::Bool, "yes", Bind::Stored),
    row!("rdbcompression", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("repl-backlog-size", Mutable, Kind::Special, "1048576", special(show_backlog_size, set_backlog_size)).reported(),
    row!("repl-backlog-ttl", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "3600", Bind::Stored),
    row!("repl-disable-tcp-nodelay", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("repl-diskless-load", Mutable, Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled", Bind::Stored),
    row!("repl-diskless-sync", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("repl-diskless-sync-delay", Mutable, Kind::Int { min: 0, max: INT_MAX }, "5", Bind::Stored),
    row!("repl-diskless-sync-max-replicas", Mutable, Kind::Int { min: 0, max: INT_MAX }, "0", Bind::Stored),
    row!("repl-ping-replica-period" | "repl-ping-slave-period", Mutable, Kind::Int { min: 1, max: INT_MAX }, "10", field!(repl_ping_replica_period_s: u64)),
    row!("repl-timeout", Mutable, Kind::Int { min: 1, max: INT_MAX }, "60", Bind::Stored),
    row!("replica-announce-ip" | "slave-announce-ip", Mutable, Kind::Text, "", Bind::Stored),
    row!("replica-announce-port" | "slave-announce-port", Mutable, Kind::Int { min: 0, max: 65535 }, "0", Bind::Stored),
    row!("replica-announced", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("replica-ignore-disk-write-errors", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("replica-ignore-maxmemory" | "slave-ignore-maxmemory", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("replica-lazy-flush" | "slave-lazy-flush", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("replica-priority" | "slave-priority", Mutable, Kind::Int { min: 0, max: INT_MAX }, "100", field!(replica_priority: u64)),
    row!("replica-read-only" | "slave-read-only", Mutable, Kind::Bool, "yes", field!(replica_read_only: bool)),
    row!("replica-serve-stale-data" | "slave-serve-stale-data", Mutable, Kind::Bool, "yes", Bind::Stored),
    row!("replicaof" | "slaveof", Immutable, Kind::Special, "", special(show_replicaof, set_replicaof)).reported().multi_arg(),
    row!("requirepass", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.requirepass.as_deref().unwrap_or_default().to_vec()), |c, v| c.requirepass = v.into_bytes().filter(|b| !b.is_empty()).map(Bytes::from))),
    row!("sanitize-dump-payload", Mutable, Kind::Enum(&["no", "yes", "clients"]), "no", Bind::Stored),
    row!("save", Mutable, Kind::Special, "3600 1 300 100 60 10000", special(show_save, set_save)).multi_arg(),
    row!("server_cpulist", Immutable, Kind::Text, "", Bind::Stored),
    row!("set-max-intset-entries", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "512", field!(set_max_intset_entries: u64)),
    row!("set-proc-title", Immutable, Kind::Bool, "yes", Bind::Stored),
    row!("shutdown-on-sigint", Mutable, Kind::Special, "default", special(show_sigint, set_sigint)).reported().multi_arg(),
    row!("shutdown-on-sigterm", Mutable, Kind::Special, "default", special(show_sigterm, set_sigterm)).reported().multi_arg(),
    row!("shutdown-timeout", Mutable, Kind::Int { min: 0, max: INT_MAX }, "10", Bind::Stored),
    row!("slowlog-log-slower-than", Mutable, Kind::Int { min: -1, max: LONG_MAX }, "10000", field!(slowlog_log_slower_than: i64)),
    row!("slowlog-max-len", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "128", field!(slowlog_max_len: u64)),
    row!("socket-mark-id", Immutable, Kind::Int { min: 0, max: UINT_MAX }, "0", Bind::Stored),
    row!("stop-writes-on-bgsave-error", Mutable, Kind::Bool, "yes", field!(stop_writes_on_bgsave_error: bool)),
    row!("stream-node-max-bytes", Mutable, Kind::Memory { min: 0, max: LONG_MAX as u64 }, "4096", field!(stream_node_max_bytes: u64)),
    row!("stream-node-max-entries", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "100", field!(stream_node_max_entries: u64)),
    row!("supervised", Immutable, Kind::Enum(&["upstart", "systemd", "auto", "no"]), "no", Bind::Stored),
    row!("syslog-enabled", Immutable, Kind::Bool, "no", Bind::Stored),
    row!("syslog-facility", Immutable, Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), "local0", Bind::Stored),
    row!("syslog-ident", Immutable, Kind::Text, "redis", Bind::Stored),
    row!("tcp-backlog", Immutable, Kind::Int { min: 0, max: INT_MAX }, "511", Bind::Stored),
    row!("tcp-keepalive", Mutable, Kind::Int { min: 0, max: INT_MAX }, "300", field!(tcp_keepalive_s: u64)),
    row!("timeout", Mutable, Kind::Int { min: 0, max: INT_MAX }, "0", field!(timeout_s: u64)),
    row!("tls-auth-clients", Mutable, Kind::Enum(&["no", "yes", "optional"]), "yes", Bind::Field(|c| ConfigValue::Text(c.security.tls_auth_clients.name().as_bytes().to_vec()), |c, v| { if let Ok(e) = security::parse_auth_clients(&v.into_bytes().unwrap_or_default()) { c.security.tls_auth_clients = e } })),
    row!("tls-ca-cert-dir", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.security.tls_ca_cert_dir.as_bytes().to_vec()), |c, v| c.security.tls_ca_cert_dir = v.into_text())),
    row!("tls-ca-cert-file", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.security.tls_ca_cert_file.as_bytes().to_vec()), |c, v| c.security.tls_ca_cert_file = v.into_text())),
    row!("tls-cert-file", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.security.tls_cert_file.as_bytes().to_vec()), |c, v| c.security.tls_cert_file = v.into_text())),
    row!("tls-ciphers", Mutable, Kind::Text, "", Bind::Stored),
    row!("tls-ciphersuites", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.security.tls_ciphersuites.as_bytes().to_vec()), |c, v| c.security.tls_ciphersuites = v.into_text())),
    row!("tls-client-cert-file", Mutable, Kind::Text, "", Bind::Stored),
    row!("tls-client-key-file", Mutable, Kind::Text, "", Bind::Stored),
    row!("tls-client-key-file-pass", Mutable, Kind::Text, "", Bind::Stored),
    row!("tls-cluster", Mutable, Kind::Bool, "no", Bind::Stored),
    row!("tls-dh-params-file", Mutable, Kind::Text, "", Bind::Stored),
    row!("tls-key-file", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.security.tls_key_file.as_bytes().to_vec()), |c, v| c.security.tls_key_file = v.into_text())),
    row!("tls-key-file-pass", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.security.tls_key_file_pass.as_bytes().to_vec()), |c, v| c.security.tls_key_file_pass = v.into_text())),
    row!("tls-port", Immutable, Kind::Int { min: 0, max: 65535 }, "0", Bind::Field(|c| ConfigValue::Int(c.security.tls_port as i128), |c, v| c.security.tls_port = v.as_int() as u16)),
    row!("tls-prefer-server-ciphers", Mutable, Kind::Bool, "no", Bind::Field(|c| ConfigValue::Bool(c.security.tls_prefer_server_ciphers), |c, v| c.security.tls_prefer_server_ciphers = v.as_bool())),
    row!("tls-protocols", Mutable, Kind::Text, "", Bind::Field(|c| ConfigValue::Text(c.security.tls_protocols.as_bytes().to_vec()), |c, v| c.security.tls_protocols = v.into_text())),
    row!("tls-replication", Mutable, Kind::Bool, "no", Bind::Field(|c| ConfigValue::Bool(c.security.tls_replication), |c, v| c.security.tls_replication = v.as_bool())),
    row!("tls-session-cache-size", Mutable, Kind::Int { min: 0, max: INT_MAX }, "20480", Bind::Field(|c| ConfigValue::Int(c.security.tls_session_cache_size as i128), |c, v| c.security.tls_session_cache_size = v.as_int() as u64)),
    row!("tls-session-cache-timeout", Mutable, Kind::Int { min: 0, max: INT_MAX }, "300", Bind::Field(|c| ConfigValue::Int(c.security.tls_session_cache_timeout_s as i128), |c, v| c.security.tls_session_cache_timeout_s = v.as_int() as u64)),
    row!("tls-session-caching", Mutable, Kind::Bool, "yes", Bind::Field(|c| ConfigValue::Bool(c.security.tls_session_caching), |c, v| c.security.tls_session_caching = v.as_bool())),
    row!("tracking-table-max-keys", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "1000000", field!(tracking_table_max_keys: u64)),
    row!("unixsocket", Immutable, Kind::Text, "", field!(text unixsocket)),
    row!("unixsocketperm", Immutable, Kind::Octal { max: 0o777 }, "0", Bind::Field(|c| ConfigValue::Int(c.security.unixsocketperm as i128), |c, v| c.security.unixsocketperm = v.as_int() as u32)),
    row!("use-exit-on-panic", Mutable, Kind::Bool, "no", Bind::Stored).hidden(),
    row!("watchdog-period", Mutable, Kind::Int { min: 0, max: INT_MAX }, "0", Bind::Stored).hidden(),
    row!("zset-max-listpack-entries" | "zset-max-ziplist-entries", Mutable, Kind::Int { min: 0, max: LONG_MAX }, "128", field!(zset_max_listpack_entries: u64)),
    row!("zset-max-listpack-value" | "zset-max-ziplist-value", Mutable, Kind::Memory { min: 0, max: LONG_MAX as u64 }, "64", field!(zset_max_listpack_value: u64)),
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
    fn the_table_holds_together() {
        assert!(PARAMS.len() <= CHANGED_WORDS * 64, "grow CHANGED_WORDS");
        let c = Config::default();
        let mut names = Vec::new();
        for p in PARAMS {
            names.extend(std::iter::once(p.name).chain(p.alias));
            // Every default is what CONFIG GET shows of a new config (save points excepted:
            // none until asked for).
            if p.name != "save" {
                assert_eq!(p.get(&c), p.default, "{}", p.name);
            }
            // And what CONFIG GET shows sets back to itself.
            let mut again = c.clone();
            again.set(p.name, &p.get(&c)).unwrap();
            assert_eq!(again.all_with_hidden(p.name), p.get(&c), "{}", p.name);
        }
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name twice");
    }

    /// The README's list of parameters redish accepts but does not act on is the table's.
    #[test]
    fn the_readme_lists_the_reported_only_parameters() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("<!-- reported-only parameters -->")
            .expect("the README's marker");
        let end = start + readme[start..].find("<!-- end -->").expect("its end");
        let listed: Vec<&str> = readme[start..end].split('`').skip(1).step_by(2).collect();
        let table: Vec<&str> = PARAMS
            .iter()
            .filter(|p| p.reported_only && !p.hidden)
            .map(|p| p.name)
            .collect();
        assert_eq!(listed, table);
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
