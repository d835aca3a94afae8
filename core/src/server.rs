//! What every adapter's server does besides moving bytes, written once: the command line,
//! the store a server starts with, the routing of deliveries between sessions, the timer
//! policy, and each connection's run loop ([`Driver`]: reading, processing, writing,
//! draining, closing).
//!
//! An adapter keeps only what needs its runtime: sockets, tasks, channels, timers, locks.
//!
//! ```
//! use redish_core::server::{parse_args, Invocation, ServerOptions};
//!
//! let argv = ["server", "--port", "0", "--bind", "127.0.0.1", "::1", "--timeout", "60"];
//! let Ok(Invocation::Serve(options)) = parse_args(argv) else { panic!() };
//! assert_eq!(options.port, 0);
//! assert_eq!(options.bind.len(), 2);
//! let store = options.new_store(6380, [1, 2], 1_700_000_000_000).unwrap();
//! assert_eq!(store.config().timeout_s, 60);
//! assert_eq!(store.config().port, 6380);
//! ```

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::db::{ClientConn, Config, Delivery, Message};
use crate::{Session, SessionConfig, Store, StoreConfig};

pub use crate::db::config_file;
mod driver;
pub mod log;
pub mod replica;
use config_file::{ConfigFileError, ReadInclude};
pub use driver::{Action, Driver, Wants};

/// `--help` of a server binary.
pub const HELP: &str = "\
redish: a Redis-compatible server

Usage: server [/path/to/redis.conf] [--name value...]...

Options:
  --port PORT            TCP port to listen on (0: any free port, printed to stdout) [6379]
  --bind ADDR...         addresses to listen on, IPv4 or IPv6 [127.0.0.1]
  --maxclients N         most clients connected at once [10000]
  --databases N          number of databases [16]
  --threads N            worker threads of the runtime [Tokio: CPUs - 1; async-std: 1]
  -h, --help             print this help
  -v, --version          print the version

As with redis-server, the configuration file (Redis's syntax) is read first, then every
--name value... on the command line sets that Redis setting after it: the values run up to
the next --name (--save 900 1 300 10, --timeout 60, --enable-debug-command local,
--appendonly yes, --appendfsync always, --dir /var/lib/redish, --tls-port 6380,
--unixsocket /run/redish.sock, --user alice on '>pw' '~*' +@all). A refused setting stops
the server with Redis's message and exit code 1.
Unlike redis-server, without a configuration file there are no save points unless --save
gives some.
";

/// The reply a client gets when the server already has `maxclients` connections, before it
/// is closed.
pub const MAX_CLIENTS_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";

/// The longest the server's timer sleeps, so that a deadline set earlier than the one it
/// sleeps towards (a key's expiry, a BLPOP timeout) is still met within this delay.
pub const MAX_TIMER_SLEEP_MS: u64 = 100;

/// How a connection reads, drains and closes; the same for every adapter.
pub mod conn {
    use std::time::Duration;

    /// Room made in a read buffer when it runs low.
    pub const READ_CHUNK_BYTES: usize = 16 * 1024;
    /// How long a connection waits for the store before it asks whether a script holds it
    /// past `busy-reply-threshold` ([`crate::server::Driver::process_busy`]), and again
    /// after each such wait.
    pub const BUSY_POLL: Duration = Duration::from_millis(100);
    /// Below this much free room, a read buffer grows before the next read.
    pub const MIN_READ_BYTES: usize = 4 * 1024;
    /// How long a closing connection may take to flush its last replies.
    pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
    /// Input a blocked or sleeping session buffers before reading stops.
    pub const MAX_STALLED_INPUT_BYTES: usize = 1024 * 1024;
    /// Deliveries handed to a session before its next write.
    pub const MAX_MESSAGES_PER_WRITE: usize = 1024;
    /// Bytes a connection offers the socket in one write, and writes in a row without
    /// waiting for anything before it lets the runtime run other connections
    /// ([`crate::server::Action::Yield`]): a reply in pieces to a client with room in its
    /// socket must not keep a worker thread to itself.
    pub const MAX_WRITE_BURST_BYTES: usize = 64 * 1024;
    /// On server shutdown, the most input still taken from a socket without waiting.
    pub const MAX_DRAIN_BYTES: usize = 16 * 1024 * 1024;
    /// After our FIN, how long to read and discard until the peer closes too. Closing a
    /// socket with unread input makes the kernel send a reset, which may destroy the last
    /// reply before the client has read it.
    pub const LINGER: Duration = Duration::from_millis(500);
    /// How long a client turned away (`maxclients`) gets to read why.
    pub const REJECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// How long a client on the TLS port has to complete its handshake.
    pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// After a failed accept (typically out of file descriptors), how long to back off
    /// rather than spin.
    pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
}

/// What a server binary was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// Serve with these options.
    Serve(ServerOptions),
    /// Print [`HELP`] and exit.
    Help,
    /// Print the version and exit.
    Version,
}

/// Settings of a server, from the command line ([`parse_args`]) or a test. The defaults
/// are Redis's, except `bind`: loopback only.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerOptions {
    /// Addresses to listen on (Redis's `bind`), IPv4 or IPv6.
    pub bind: Vec<IpAddr>,
    /// Port to listen on; 0 lets the OS choose one. With several addresses, the first gets
    /// the port and the others the same one.
    pub port: u16,
    /// Connections served at once; one more is told so and closed (Redis's `maxclients`).
    pub max_clients: usize,
    /// Number of databases (Redis's `databases`).
    pub databases: usize,
    /// Worker threads of the adapter's runtime; `None`: the runtime's default.
    pub threads: Option<usize>,
    /// Limits of every connection, pub/sub output limits included.
    pub session: SessionConfig,
    /// On shutdown, how long connections get to finish before the server stops anyway.
    pub shutdown_timeout: Duration,
    /// Further settings by Redis name, as in a configuration file (`timeout`,
    /// `requirepass`, `enable-debug-command`, `appendonly`, `save`, `dir`…), applied after
    /// the fields above.
    pub settings: Vec<(String, String)>,
    /// The configuration file the server was started with, as given (INFO `config_file`
    /// and CONFIG REWRITE use it once the host made it absolute).
    pub config_file: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            bind: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            port: 6379,
            max_clients: 10_000,
            databases: 16,
            threads: None,
            session: SessionConfig::default(),
            shutdown_timeout: Duration::from_secs(5),
            settings: Vec::new(),
            config_file: None,
        }
    }
}

/// Why a server's command line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    /// Not a command line redish understands: the binary prints it with [`HELP`] and exits
    /// with 2.
    Usage(String),
    /// The configuration (file or `--name value` settings) was refused: the binary prints
    /// Redis's text and exits with 1, as redis-server does.
    Config(ConfigFileError),
}

impl std::fmt::Display for ArgsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgsError::Usage(e) => f.write_str(e),
            ArgsError::Config(e) => e.fmt(f),
        }
    }
}

/// Reads a server's command line (`argv[0]` is the program) that names no configuration
/// file: [`parse_args_with`] with no files to read.
pub fn parse_args<I, S>(argv: I) -> Result<Invocation, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    parse_args_with(argv, &mut |path| {
        Err(ConfigFileError::Open {
            path: path.to_owned(),
            reason: "no files to read here".to_owned(),
        })
    })
}

/// Reads a server's command line (`argv[0]` is the program) redis-server's way:
/// `[/path/to/redis.conf] [--name value…]…`. The file (read through `read`, which also
/// reads its `include`s) and then the `--name value` settings, turned into lines after it
/// ([`config_file::options_text`]), are applied to a configuration as Redis applies them
/// ([`config_file::load`]); the last occurrence of a setting wins. Besides Redis's,
/// `--threads N` sets the runtime's worker threads and `--name=value` is `--name value`.
///
/// Without a file there are no save points unless the command line gives some (see
/// [`ServerOptions::configure_store`]); with one, Redis's defaults apply, save points
/// included.
pub fn parse_args_with<I, S>(argv: I, read: &mut ReadInclude<'_>) -> Result<Invocation, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let args: Vec<String> = argv.into_iter().skip(1).map(Into::into).collect();
    for arg in &args {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Invocation::Help),
            "-v" | "-V" | "--version" => return Ok(Invocation::Version),
            _ => {}
        }
    }
    let mut options = ServerOptions::default();
    let mut rest = args.as_slice();
    let mut text = String::new();
    if let Some(path) = rest.first().filter(|a| !a.starts_with('-')) {
        for part in read(path).map_err(ArgsError::Config)? {
            text.push_str(&part);
        }
        options.config_file = Some(path.clone());
        rest = &rest[1..];
    }
    let mut redis_args: Vec<String> = Vec::with_capacity(rest.len());
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        if arg.eq_ignore_ascii_case("--threads") {
            let n = rest
                .get(i + 1)
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    ArgsError::Usage("--threads: expected a number of threads above 0".into())
                })?;
            options.threads = Some(n);
            i += 2;
            continue;
        }
        match arg.strip_prefix("--").and_then(|a| a.split_once('=')) {
            Some((name, value)) => {
                redis_args.push(format!("--{name}"));
                redis_args.push(value.to_owned());
            }
            None => redis_args.push(arg.clone()),
        }
        i += 1;
    }
    if !redis_args.is_empty() && !redis_args[0].starts_with("--") {
        return Err(ArgsError::Usage(format!(
            "unexpected argument '{}': the configuration file comes first, then --name value",
            redis_args[0]
        )));
    }
    let extra = config_file::options_text(&redis_args);
    if !extra.is_empty() {
        text.push('\n');
        text.push_str(&extra);
    }
    let mut config = Config::default();
    if options.config_file.is_some() {
        let save = Config::param(b"save").expect("save is a parameter").1;
        config
            .set("save", save.default)
            .expect("the default save points parse");
    }
    config_file::load(&mut config, &text, read).map_err(ArgsError::Config)?;
    if config.is_changed("port") {
        options.port = config.port;
    }
    if config.is_changed("maxclients") {
        options.max_clients = config.maxclients as usize;
    }
    if config.is_changed("databases") {
        options.databases = config.databases;
    }
    if config.is_changed("bind") {
        options.bind = parse_bind(&config.bind).map_err(ArgsError::Usage)?;
    }
    options.settings = crate::db::PARAMS
        .iter()
        .filter(|p| config.is_changed(p.name))
        .filter(|p| !matches!(p.name, "port" | "maxclients" | "databases"))
        .map(|p| (p.name.to_owned(), p.get(&config)))
        .collect();
    Ok(Invocation::Serve(options))
}

/// The addresses of Redis's `bind`: `*` is every IPv4 address, `::*` every IPv6 one, and a
/// leading `-` (Redis: skip it if it is not available) is dropped.
fn parse_bind(bind: &str) -> Result<Vec<IpAddr>, String> {
    let addrs: Vec<IpAddr> = bind
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.strip_prefix('-').unwrap_or(w);
            match w {
                "*" => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                "::*" => Ok(IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED)),
                _ => w
                    .parse::<IpAddr>()
                    .map_err(|_| format!("bind: invalid address '{w}'")),
            }
        })
        .collect::<Result<_, _>>()?;
    if addrs.is_empty() {
        return Err("bind: expected at least one address".to_owned());
    }
    Ok(addrs)
}

impl ServerOptions {
    /// The store's fixed settings; `hash_seed` and `rng_seed` should be random at start.
    pub fn store_config(&self, hash_seed: u64, rng_seed: u64) -> StoreConfig {
        StoreConfig {
            databases: self.databases,
            hash_seed,
            rng_seed,
            ..StoreConfig::default()
        }
    }

    /// A store set up as a server starts with these options: [`ServerOptions::store_config`]
    /// with `seeds`, the start time, then [`ServerOptions::configure_store`]. The adapter
    /// adds the process facts ([`Store::process_info_mut`]).
    pub fn new_store(&self, port: u16, seeds: [u64; 2], now_ms: u64) -> Result<Store, String> {
        let mut store = Store::new(self.store_config(seeds[0], seeds[1]));
        store.set_start_time(now_ms);
        self.configure_store(&mut store, port)?;
        Ok(store)
    }

    /// Writes these options into `store`'s settings, so that CONFIG GET tells the truth and
    /// sessions apply them: `port` as bound, `bind`, `maxclients`, session limits other than
    /// the defaults, then [`ServerOptions::settings`]. Unlike redis-server, there are no
    /// `save` points unless asked for (`--save 3600 1 300 100`): a server started for a
    /// test or a cache writes no file of its own accord.
    pub fn configure_store(&self, store: &mut Store, port: u16) -> Result<(), String> {
        let settings = store.config_mut();
        settings.port = port;
        settings.bind = self
            .bind
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        settings.maxclients = self.max_clients as u64;
        settings.save = Vec::new();
        settings.appendonly = false;
        let defaults = SessionConfig::default();
        let session = &self.session;
        if session.limits.max_bulk_bytes != defaults.limits.max_bulk_bytes {
            store.set_setting(
                "proto-max-bulk-len",
                session.limits.max_bulk_bytes.to_string(),
            );
        }
        let pubsub = |s: &SessionConfig| {
            (
                s.pubsub_hard_limit_bytes,
                s.pubsub_soft_limit_bytes,
                s.pubsub_soft_limit_ms,
            )
        };
        if pubsub(session) != pubsub(&defaults) {
            let limit = format!(
                "pubsub {} {} {}",
                session.pubsub_hard_limit_bytes,
                session.pubsub_soft_limit_bytes,
                session.pubsub_soft_limit_ms / 1000
            );
            store.set_setting("client-output-buffer-limit", limit);
        }
        let mut users = Vec::new();
        for (name, value) in &self.settings {
            if name.eq_ignore_ascii_case("replicaof") || name.eq_ignore_ascii_case("slaveof") {
                if value.trim().is_empty() {
                    // `replicaof no one`: a master.
                    continue;
                }
                let (host, port) = value
                    .split_once(' ')
                    .and_then(|(h, p)| Some((h, p.trim().parse::<u16>().ok()?)))
                    .ok_or_else(|| format!("--{name} {value:?}: expected a host and a port"))?;
                store.set_master(host.to_owned(), port);
                continue;
            }
            if name.eq_ignore_ascii_case("user") {
                users.push(value);
                continue;
            }
            store
                .config_mut()
                .set(name, value)
                .map_err(|e| format!("setting {name} {value:?}: {e}"))?;
        }
        // `user` directives, after the settings (`requirepass` included), as Redis's
        // ACLLoadUsersAtStartup.
        if !users.is_empty() && !store.config().security.aclfile.is_empty() {
            return Err(
                "Configuring Redis with users defined in redis.conf and at the same \
                 setting an ACL file path is invalid. This setup is very likely to lead to \
                 configuration errors and security holes, please define either an ACL file \
                 or declare users directly in your redis.conf, but not both."
                    .to_owned(),
            );
        }
        let allchannels = store.config().acl_pubsub_allchannels;
        for spec in users {
            crate::acl::file::apply_directive(store.acl_mut(), spec, allchannels)?;
        }
        Ok(())
    }
}

/// Which listeners a server opens (Redis's `port`, `tls-port`, `unixsocket`), read from its
/// options by [`ServerOptions::listen_plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenPlan {
    /// The plain TCP port (0: the OS chooses), or `None`: no plain TCP listener.
    pub tcp_port: Option<u16>,
    /// The TLS port, if any, on the same addresses.
    pub tls_port: Option<u16>,
    /// The Unix socket's path and permission bits (0: as the umask leaves them).
    pub unixsocket: Option<(String, u32)>,
}

impl ServerOptions {
    /// The listeners these options ask for. As with redis-server, `port 0` opens no plain
    /// TCP listener when a TLS port or a Unix socket is set; alone, it lets the OS choose the
    /// port (redish's way of starting on any free port).
    pub fn listen_plan(&self) -> ListenPlan {
        let mut config = Config::default();
        for (name, value) in &self.settings {
            let _ = config.set(name, value);
        }
        let sec = &config.security;
        let tls_port = (sec.tls_port != 0).then_some(sec.tls_port);
        let unixsocket = (!config.unixsocket.is_empty())
            .then(|| (config.unixsocket.clone(), sec.unixsocketperm));
        let tcp_port =
            (self.port != 0 || (tls_port.is_none() && unixsocket.is_none())).then_some(self.port);
        ListenPlan {
            tcp_port,
            tls_port,
            unixsocket,
        }
    }
}

/// The socket facts of a connection accepted on the Unix socket at `path`, as Redis shows
/// them in CLIENT LIST (`addr=/path:0 laddr=/path:0`, flag `U`).
pub fn unix_client_conn(path: &str, fd: i64) -> ClientConn {
    ClientConn {
        addr: format!("{path}:0"),
        laddr: format!("{path}:0"),
        fd,
        unix_socket: true,
    }
}

/// What a client refused by protected mode reads before it is closed: Redis 7.0's text.
pub const PROTECTED_MODE_REPLY: &[u8] = b"-DENIED Redis is running in protected mode because \
protected mode is enabled and no password is set for the default user. In this mode \
connections are only accepted from the loopback interface. If you want to connect from \
external computers to Redis you may adopt one of the following solutions: 1) Just disable \
protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface \
by connecting to Redis from the same host the server is running, however MAKE SURE Redis is \
not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change \
permanent. 2) Alternatively you can just disable the protected mode by editing the Redis \
configuration file, and setting the protected mode option to 'no', and then restarting the \
server. 3) If you started the server manually just for testing, restart it with the \
'--protected-mode no' option. 4) Setup a an authentication password for the default user. \
NOTE: You only need to do one of the above things in order for the server to start \
accepting connections from the outside.\r\n";

/// Redis's `islocalClient`: a Unix socket client, or a TCP peer at exactly `127.0.0.1` or
/// `::1` (not the rest of 127/8, nor `::ffff:127.0.0.1`).
pub fn is_local_client(conn: &ClientConn) -> bool {
    if conn.unix_socket {
        return true;
    }
    let ip = conn.addr.rsplit_once(':').map_or(&*conn.addr, |(ip, _)| ip);
    ip == "127.0.0.1" || ip == "::1"
}

/// Whether protected mode turns a new connection away, as Redis 7.0's
/// `clientAcceptHandler` decides: `protected-mode yes`, the `default` user without a
/// password (`nopass`), and a client that is not local ([`is_local_client`]). Redis 7.0
/// does not look at `bind` here. The adapter then writes [`PROTECTED_MODE_REPLY`], counts
/// the connection as rejected and closes it.
pub fn protected_mode_refuses(store: &mut Store, conn: &ClientConn) -> bool {
    store.config().security.protected_mode
        && store.acl_mut().user(b"default").is_some_and(|u| u.nopass())
        && !is_local_client(conn)
}

/// The line a server prints to stdout for each address when asked for port 0, so that
/// scripts can read the port: `listening on 127.0.0.1:40123`.
pub fn listening_line(addr: SocketAddr) -> String {
    format!("listening on {addr}")
}

/// An address as Redis writes it in CLIENT LIST: `ip:port`, IPv6 without brackets.
pub fn redis_addr(addr: SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}

/// The socket facts of an accepted TCP connection for [`Store::register_client`]: its
/// peer, our end (when known) and its file descriptor.
pub fn client_conn(peer: SocketAddr, local: Option<SocketAddr>, fd: i64) -> ClientConn {
    ClientConn {
        addr: redis_addr(peer),
        laddr: local.map(redis_addr).unwrap_or_default(),
        fd,
        unix_socket: false,
    }
}

/// Runs `session` over what it has buffered and routes the deliveries that made: those for
/// `session` itself are handed to it, every other one goes to `elsewhere` (the adapter
/// sends it to its connection, which calls [`Driver::handle_delivery`]). A connection's
/// [`Driver`] calls this; it is public for callers that run a bare [`Session`]. When
/// `session` gets the reply of a blocking command it was blocked in, it runs again, so the
/// commands it pipelined behind it execute now. Call with the store held exclusively.
///
/// Returns true when the session stopped on too much pending output with input possibly
/// left: call again once some output is written.
pub fn process_and_route(
    session: &mut Session,
    store: &mut Store,
    now_ms: u64,
    mut elsewhere: impl FnMut(Delivery),
) -> bool {
    loop {
        session.process(store, now_ms);
        store.feed_replication();
        let mut resumed = false;
        while let Some(delivery) = store.poll_delivery() {
            if delivery.to == session.id() {
                resumed |= handle_delivery(session, &delivery.message, now_ms);
            } else {
                elsewhere(delivery);
            }
        }
        if !resumed {
            break;
        }
    }
    !session.is_closing() && !session.wants_read()
}

/// Hands a message routed from elsewhere to its session. Returns true when the session
/// must now be processed ([`process_and_route`], under the store lock): it was blocked
/// (BLPOP…) and this is its reply, or CLIENT UNPAUSE ended the pause that held it.
pub fn handle_delivery(session: &mut Session, message: &Message, now_ms: u64) -> bool {
    session.handle_message(message, now_ms);
    matches!(message, Message::Unblocked(_) | Message::Resume)
}

/// What the server's timer does after [`handle_timers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerNext {
    /// The expiry budget of one call was used up: there may be more keys to remove. Let
    /// the connections have the store, then call again without sleeping.
    Again,
    /// Sleep this long, then call again.
    SleepMs(u64),
}

/// The server's timer: when the store's next deadline has come, active expiry, blocked
/// clients past their deadline (BLPOP … timeout) and clients idle past `timeout`; then
/// routes the deliveries that made ([`crate::db::Message::Unblocked`],
/// [`crate::db::Message::Kill`]) to `deliver`. Call with the store held; never spins on an
/// idle server.
pub fn handle_timers(
    store: &mut Store,
    now_ms: u64,
    mut deliver: impl FnMut(Delivery),
) -> TimerNext {
    store.track_metrics(now_ms);
    let due = store.poll_timeout().is_some_and(|t| t <= now_ms);
    let removed = if due { store.handle_timeout(now_ms) } else { 0 };
    if due {
        // Keys active expiry removed may end waits (XREADGROUP on a stream gone).
        crate::cmd::blocking::serve_ready(store, now_ms);
    }
    store.replication_cron(now_ms);
    while let Some(delivery) = store.poll_delivery() {
        deliver(delivery);
    }
    if removed >= store.max_expire_per_call() {
        return TimerNext::Again;
    }
    TimerNext::SleepMs(timer_sleep_ms(store.poll_timeout(), now_ms))
}

/// How long the timer sleeps towards deadline `next` (from [`Store::poll_timeout`]): until
/// it, at least 1 ms, at most [`MAX_TIMER_SLEEP_MS`] so that deadlines set meanwhile are
/// met too.
pub fn timer_sleep_ms(next: Option<u64>, now_ms: u64) -> u64 {
    next.map_or(MAX_TIMER_SLEEP_MS, |at| at.saturating_sub(now_ms).max(1))
        .min(MAX_TIMER_SLEEP_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(argv: &[&str]) -> ServerOptions {
        match parse_args(argv.iter().copied()) {
            Ok(Invocation::Serve(o)) => o,
            other => panic!("{argv:?}: {other:?}"),
        }
    }

    #[test]
    fn protected_mode_decision_as_redis() {
        let tcp = |addr: &str| ClientConn {
            addr: addr.to_owned(),
            laddr: String::new(),
            fd: 0,
            unix_socket: false,
        };
        let cases: &[(&str, bool)] = &[
            ("127.0.0.1:5000", true),
            ("::1:5000", true),
            ("127.0.0.2:5000", false),
            ("::ffff:127.0.0.1:5000", false),
            ("10.0.0.7:40000", false),
            ("fe80::1:40000", false),
        ];
        let mut store = Store::new(StoreConfig::default());
        for &(addr, local) in cases {
            assert_eq!(is_local_client(&tcp(addr)), local, "{addr}");
            // Default settings: protected mode on, default user nopass.
            assert_eq!(
                protected_mode_refuses(&mut store, &tcp(addr)),
                !local,
                "{addr}"
            );
        }
        let unix = unix_client_conn("/tmp/r.sock", 9);
        assert!(is_local_client(&unix));
        assert!(!protected_mode_refuses(&mut store, &unix));
        let remote = tcp("192.0.2.1:1234");
        // A password for the default user lifts it.
        store.config_mut().set("requirepass", "secret").unwrap();
        assert!(!protected_mode_refuses(&mut store, &remote));
        store.config_mut().set("requirepass", "").unwrap();
        assert!(protected_mode_refuses(&mut store, &remote));
        // So does `protected-mode no`.
        store.config_mut().set("protected-mode", "no").unwrap();
        assert!(!protected_mode_refuses(&mut store, &remote));
    }

    #[test]
    fn listen_plans() {
        let plan = |port: u16, settings: &[(&str, &str)]| {
            ServerOptions {
                port,
                settings: settings
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                ..ServerOptions::default()
            }
            .listen_plan()
        };
        assert_eq!(plan(0, &[]).tcp_port, Some(0));
        assert_eq!(plan(6379, &[]).tcp_port, Some(6379));
        let tls_only = plan(0, &[("tls-port", "6380")]);
        assert_eq!((tls_only.tcp_port, tls_only.tls_port), (None, Some(6380)));
        let both = plan(6379, &[("tls-port", "6380")]);
        assert_eq!((both.tcp_port, both.tls_port), (Some(6379), Some(6380)));
        let unix = plan(0, &[("unixsocket", "/tmp/s"), ("unixsocketperm", "700")]);
        assert_eq!(unix.tcp_port, None);
        assert_eq!(unix.unixsocket, Some(("/tmp/s".to_owned(), 0o700)));
    }

    #[test]
    fn command_lines() {
        let o = serve(&["s"]);
        assert_eq!(o, ServerOptions::default());
        let o = serve(&[
            "s",
            "--port",
            "0",
            "--save",
            "",
            "--bind",
            "127.0.0.1",
            "::1",
            "--maxclients",
            "3",
            "--databases=4",
            "--threads",
            "2",
            "--save",
            "900",
            "1",
            "--timeout",
            "60",
        ]);
        assert_eq!(o.port, 0);
        assert_eq!(
            o.bind,
            [
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!((o.max_clients, o.databases, o.threads), (3, 4, Some(2)));
        let settings: Vec<(&str, &str)> = o
            .settings
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        // In table order, each once, as the last lines left them: the second `save` adds
        // to the first (empty) one.
        assert_eq!(
            settings,
            [
                ("bind", "127.0.0.1 ::1"),
                ("save", "900 1"),
                ("timeout", "60")
            ]
        );
        assert_eq!(parse_args(["s", "--help"]), Ok(Invocation::Help));
        assert_eq!(parse_args(["s", "--port", "1", "-h"]), Ok(Invocation::Help));
        assert_eq!(parse_args(["s", "--version"]), Ok(Invocation::Version));
    }

    #[test]
    fn bad_command_lines() {
        let usage: &[(&[&str], &str)] = &[
            (
                &["s", "--bind", "nowhere"],
                "bind: invalid address 'nowhere'",
            ),
            (
                &["s", "--threads", "0"],
                "--threads: expected a number of threads above 0",
            ),
        ];
        for (argv, want) in usage {
            assert_eq!(
                parse_args(argv.iter().copied()),
                Err(ArgsError::Usage(want.to_string())),
                "{argv:?}"
            );
        }
        // Redis's refusals, with the line the command line made (after an empty line 1:
        // the file's, here none).
        let fatal: &[(&[&str], usize, &str, &str)] = &[
            (
                &["s", "--port", "70000"],
                2,
                "port \"70000\"",
                "argument must be between 0 and 65535 inclusive",
            ),
            (
                &["s", "--port", "x"],
                2,
                "port \"x\"",
                "argument couldn't be parsed into an integer",
            ),
            (&["s", "--port"], 2, "port", "wrong number of arguments"),
            (
                &["s", "--port", "1", "2"],
                2,
                "port \"1\" \"2\"",
                "wrong number of arguments",
            ),
            (
                &["s", "--maxclients", "0"],
                2,
                "maxclients \"0\"",
                "argument must be between 1 and 4294967295 inclusive",
            ),
            (
                &["s", "--hz", "1", "--databases", "0"],
                3,
                "databases \"0\"",
                "argument must be between 1 and 2147483647 inclusive",
            ),
            (
                &["s", "--timeout", "-1"],
                2,
                "timeout \"-1\"",
                "argument must be between 0 and 2147483647 inclusive",
            ),
            (
                &["s", "--nosuch", "1"],
                2,
                "nosuch \"1\"",
                "Bad directive or wrong number of arguments",
            ),
        ];
        for (argv, number, text, reason) in fatal {
            assert_eq!(
                parse_args(argv.iter().copied()),
                Err(ArgsError::Config(ConfigFileError::Line {
                    number: *number,
                    text: text.to_string(),
                    reason: reason.to_string()
                })),
                "{argv:?}"
            );
        }
        assert!(matches!(
            parse_args(["s", "/etc/redis.conf"]),
            Err(ArgsError::Config(ConfigFileError::Open { .. }))
        ));
    }

    #[test]
    fn a_file_then_the_command_line() {
        let mut read = |path: &str| match path {
            "/r.conf" => Ok(vec![
                "port 7000\nsave 60 1\ntimeout 9\ninclude /more.conf\n".to_owned(),
            ]),
            "/more.conf" => Ok(vec!["maxmemory 1mb\n".to_owned()]),
            _ => Err(ConfigFileError::Open {
                path: path.to_owned(),
                reason: "No such file or directory".to_owned(),
            }),
        };
        let Ok(Invocation::Serve(o)) =
            parse_args_with(["s", "/r.conf", "--timeout", "10"], &mut read)
        else {
            panic!()
        };
        assert_eq!(o.port, 7000);
        assert_eq!(o.config_file.as_deref(), Some("/r.conf"));
        let store = o.new_store(7000, [1, 2], 0).unwrap();
        assert_eq!(store.config().timeout_s, 10);
        assert_eq!(store.config().maxmemory, 1 << 20);
        assert_eq!(store.config().save, [(60, 1)]);
        // A file without save lines keeps Redis's save points.
        let mut read = |_: &str| Ok(vec!["hz 20\n".to_owned()]);
        let Ok(Invocation::Serve(o)) = parse_args_with(["s", "/r.conf"], &mut read) else {
            panic!()
        };
        let store = o.new_store(1, [1, 2], 0).unwrap();
        assert_eq!(store.config().save, [(3600, 1), (300, 100), (60, 10000)]);
        // The file's bad line, by its own number.
        let mut read = |_: &str| Ok(vec!["# hello\nhz 20\nappendonly maybe\n".to_owned()]);
        let err = parse_args_with(["s", "/r.conf", "--port", "1"], &mut read).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> 'appendonly maybe'\nargument must be 'yes' or 'no'\n"
        );
    }

    #[test]
    fn store_follows_the_options() {
        let mut o = serve(&[
            "s",
            "--maxclients",
            "7",
            "--requirepass",
            "pw",
            "--hz",
            "20",
        ]);
        o.session.pubsub_hard_limit_bytes = 64 * 1024;
        o.session.pubsub_soft_limit_bytes = 16 * 1024;
        o.session.pubsub_soft_limit_ms = 1000;
        let store = o.new_store(1234, [1, 2], 5_000).unwrap();
        let c = store.config();
        assert_eq!((c.port, c.maxclients, c.hz), (1234, 7, 20));
        assert_eq!(c.bind, "127.0.0.1");
        assert_eq!(c.requirepass.as_deref(), Some(&b"pw"[..]));
        assert_eq!(c.output_limit_pubsub.hard_bytes, 64 * 1024);
        assert!(c.is_changed("client-output-buffer-limit"));
        assert_eq!(store.start_time_ms(), 5_000);

        let o = serve(&[
            "s",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "60",
            "5",
        ]);
        let store = o.new_store(1, [0, 0], 0).unwrap();
        assert!(store.config().appendonly);
        assert_eq!(store.config().save, [(60, 5)]);
    }

    #[test]
    fn timer_policy() {
        let cases = [
            (None, 1_000, MAX_TIMER_SLEEP_MS),
            (Some(1_030), 1_000, 30),
            (Some(5_000), 1_000, MAX_TIMER_SLEEP_MS),
            (Some(900), 1_000, 1),
            (Some(1_000), 1_000, 1),
        ];
        for (next, now, want) in cases {
            assert_eq!(timer_sleep_ms(next, now), want, "{next:?} at {now}");
        }
    }

    #[test]
    fn timers_expire_keys_within_budget_and_route_timeouts() {
        let now = 1_000_000;
        let mut store = Store::new(StoreConfig {
            max_expire_per_call: 2,
            ..StoreConfig::default()
        });
        let mut s = Session::new(store.next_client_id(), SessionConfig::default());
        s.handle_bytes(b"SET a 1 PX 10\r\nSET b 1 PX 10\r\nSET c 1 PX 10\r\n");
        process_and_route(&mut s, &mut store, now, |_| panic!("no delivery"));
        assert_eq!(
            handle_timers(&mut store, now, |_| {}),
            TimerNext::SleepMs(10)
        );
        assert_eq!(
            handle_timers(&mut store, now + 10, |_| {}),
            TimerNext::Again
        );
        assert_eq!(
            handle_timers(&mut store, now + 10, |_| {}),
            TimerNext::SleepMs(MAX_TIMER_SLEEP_MS)
        );
        assert_eq!(store.db(0).len(), 0);

        // A BLPOP past its deadline is answered through the timer's deliveries.
        let mut blocked = Session::new(store.next_client_id(), SessionConfig::default());
        blocked.handle_bytes(b"BLPOP q 0.05\r\nPING\r\n");
        process_and_route(&mut blocked, &mut store, now, |_| panic!("no delivery"));
        assert!(blocked.is_blocked() && blocked.poll_transmit().is_empty());
        let mut routed = Vec::new();
        handle_timers(&mut store, now + 50, |d| routed.push(d));
        assert_eq!(routed.len(), 1);
        assert!(handle_delivery(&mut blocked, &routed[0].message, now + 50));
        process_and_route(&mut blocked, &mut store, now + 50, |_| {
            panic!("no delivery")
        });
        assert_eq!(blocked.poll_transmit(), b"*-1\r\n+PONG\r\n");
    }

    #[test]
    fn a_push_wakes_the_blocked_session_elsewhere() {
        let now = 1_000_000;
        let mut store = Store::default();
        let mut waiter = Session::new(store.next_client_id(), SessionConfig::default());
        let mut pusher = Session::new(store.next_client_id(), SessionConfig::default());
        waiter.handle_bytes(b"BLPOP q 0\r\nGET x\r\n");
        process_and_route(&mut waiter, &mut store, now, |_| panic!("no delivery"));
        pusher.handle_bytes(b"RPUSH q v\r\n");
        let mut routed = Vec::new();
        process_and_route(&mut pusher, &mut store, now, |d| routed.push(d));
        assert_eq!(pusher.poll_transmit(), b":1\r\n");
        assert_eq!(routed.len(), 1);
        assert_eq!(routed[0].to, waiter.id());
        assert!(handle_delivery(&mut waiter, &routed[0].message, now));
        process_and_route(&mut waiter, &mut store, now, |_| panic!("no delivery"));
        assert_eq!(
            waiter.poll_transmit(),
            b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n$-1\r\n"
        );
    }
}
