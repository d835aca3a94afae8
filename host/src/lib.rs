//! What redish's adapters ask of the operating system, whatever their runtime: the clock,
//! random seeds, listening sockets as Redis makes them, socket options, and the process
//! facts INFO reports. Blocking `std` calls only, no runtime: each adapter wraps the
//! sockets in its own runtime's types.
//!
//! It holds no protocol or server logic (that is [`redish_core`], and its
//! [`redish_core::server`] module for what servers share).
//!
//! ```no_run
//! let listener = redish_host::listen("127.0.0.1:0".parse().unwrap()).unwrap();
//! let mut store = redish_core::Store::default();
//! redish_host::process::init(store.process_info_mut());
//! println!("{:?} at {}", listener.local_addr(), redish_host::now_ms());
//! ```

pub mod acl_file;
pub mod alloc;
pub mod log;
pub mod persist;
pub mod process;
pub mod replica;
pub mod tls;

use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: the time redish-core is given.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The clock redish-core times commands with (INFO commandstats and latencystats,
/// SLOWLOG, LATENCY, MONITOR's timestamps): `CLOCK_MONOTONIC` for durations, the system clock for
/// MONITOR.
#[derive(Debug)]
pub struct HostClock {
    origin_us: u64,
}

impl HostClock {
    /// A clock whose monotonic time starts now.
    pub fn new() -> HostClock {
        let mut clock = HostClock { origin_us: 0 };
        clock.origin_us = redish_core::db::Clock::monotonic_us(&clock);
        clock
    }
}

impl Default for HostClock {
    fn default() -> Self {
        HostClock::new()
    }
}

impl redish_core::db::Clock for HostClock {
    // Read twice per command (as Redis's `call`): straight from `clock_gettime`, which
    // costs half of `Instant::elapsed` with its checked subtraction and 128-bit division.
    fn monotonic_us(&self) -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        (ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000).saturating_sub(self.origin_us)
    }

    fn unix_us(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
    }
}

/// Two random values for [`redish_core::server::ServerOptions::new_store`] (hash keys and
/// the store's generator), different on every start.
pub fn random_seeds() -> [u64; 2] {
    let seeds = RandomState::new();
    [
        seeds.hash_one((SystemTime::now(), 1)),
        seeds.hash_one((SystemTime::now(), 2)),
    ]
}

/// A non-blocking listening socket as Redis makes one: address reuse, IPv6 sockets IPv6-only
/// (so that `0.0.0.0` and `::` can both be bound on one port), backlog 511.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket
        .bind(&addr.into())
        .map_err(|e| io::Error::new(e.kind(), format!("could not bind {addr}: {e}")))?;
    socket.listen(511)?;
    Ok(socket.into())
}

/// Binds every address of `ips` on `port`. With port 0 the first address gets a port from
/// the OS and the others the same one. Returns the listeners and their addresses.
pub fn listen_all(
    ips: &[std::net::IpAddr],
    port: u16,
) -> io::Result<(Vec<TcpListener>, Vec<SocketAddr>)> {
    if ips.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no address to bind",
        ));
    }
    let mut port = port;
    let mut listeners = Vec::with_capacity(ips.len());
    let mut addrs = Vec::with_capacity(ips.len());
    for &ip in ips {
        let listener = listen(SocketAddr::new(ip, port))?;
        let addr = listener.local_addr()?;
        port = addr.port();
        listeners.push(listener);
        addrs.push(addr);
    }
    Ok((listeners, addrs))
}

/// Every listening socket a server opens, as [`redish_core::server::ServerOptions::listen_plan`]
/// asks: plain TCP, TLS (on the same addresses, another port) and the Unix socket.
#[derive(Debug, Default)]
pub struct Listeners {
    /// Plain TCP listeners and their addresses.
    pub tcp: Vec<(TcpListener, SocketAddr)>,
    /// TLS listeners and their addresses.
    pub tls: Vec<(TcpListener, SocketAddr)>,
    /// The Unix socket listener and its path, removed by [`remove_unix_socket`] at shutdown.
    pub unix: Option<(std::os::unix::net::UnixListener, String)>,
}

impl Listeners {
    /// Opens what `options` asks for, non-blocking.
    pub fn bind(options: &redish_core::server::ServerOptions) -> io::Result<Listeners> {
        let plan = options.listen_plan();
        let mut listeners = Listeners::default();
        if let Some(port) = plan.tcp_port {
            let (tcp, addrs) = listen_all(&options.bind, port)?;
            listeners.tcp = tcp.into_iter().zip(addrs).collect();
        }
        if let Some(port) = plan.tls_port {
            let (tls, addrs) = listen_all(&options.bind, port)?;
            listeners.tls = tls.into_iter().zip(addrs).collect();
        }
        if let Some((path, perm)) = plan.unixsocket {
            listeners.unix = Some((listen_unix(&path, perm)?, path));
        }
        Ok(listeners)
    }

    /// The plain TCP port as bound (for `port` in CONFIG GET), 0 without one.
    pub fn tcp_port(&self) -> u16 {
        self.tcp.first().map_or(0, |(_, a)| a.port())
    }

    /// Every TCP address listened on, plain then TLS, for the start-up line.
    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.tcp.iter().chain(&self.tls).map(|(_, a)| *a).collect()
    }
}

/// A non-blocking Unix-domain listener at `path`, as Redis makes one: a stale file there is
/// removed first, and `perm` (when not 0) becomes the socket file's mode.
pub fn listen_unix(path: &str, perm: u32) -> io::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    let listener = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| io::Error::new(e.kind(), format!("could not bind unix socket {path}: {e}")))?;
    if perm != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Removes the Unix socket file at shutdown, as Redis does.
pub fn remove_unix_socket(path: &str) {
    tracing::info!("Removing the unix socket file.");
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!("Error removing the unix socket file: {e}");
    }
}

/// The store a server starts with, as both adapters make it: [`ServerOptions::new_store`]
/// with random seeds, the process facts, then [`persist::Persistence::open`] (which loads
/// the AOF or RDB file). `port` is the port actually bound.
///
/// [`ServerOptions::new_store`]: redish_core::server::ServerOptions::new_store
pub fn server_store(
    options: &redish_core::server::ServerOptions,
    port: u16,
) -> io::Result<(redish_core::Store, persist::Persistence)> {
    let mut store = options
        .new_store(port, random_seeds(), now_ms())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    process::init(store.process_info_mut());
    if let Some(path) = &options.config_file {
        store.process_info_mut().config_file = path.clone();
        store.set_config_file_io(Box::new(process::ConfigFile::new(path)));
    }
    store.set_clock(Box::new(HostClock::new()));
    if let Some(gauge) = alloc::gauge() {
        store.set_memory_gauge(gauge);
    }
    acl_file::install(&mut store)?;
    // Before loading: functions in the files need the engine.
    store.set_script_engine(redish_lua::engine());
    // Redis measures its startup memory after initialising, before loading the data.
    store.mark_startup_memory();
    let (persistence, _loaded) = persist::Persistence::open(&mut store, now_ms())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((store, persistence))
}

/// Logs what a session's event means for the server's operator, the same for every
/// adapter. Returns true for [`redish_core::Event::Shutdown`], which the caller acts on.
pub fn log_event(client: redish_core::ClientId, event: &redish_core::Event) -> bool {
    use redish_core::{CloseReason, Event};
    match event {
        Event::Close(CloseReason::OutputLimit { pending_bytes }) => tracing::warn!(
            client,
            pending_bytes,
            "closing subscriber: pub/sub output buffer limit reached"
        ),
        Event::Close(CloseReason::Protocol(e)) => tracing::debug!(client, "closing: {e}"),
        Event::Close(reason) => tracing::debug!(client, "closing: {reason:?}"),
        Event::Shutdown => {
            tracing::info!(client, "SHUTDOWN requested");
            return true;
        }
    }
    false
}

/// Logs the line a server prints once it listens: version, runtime, addresses.
pub fn log_listening(runtime: &str, addrs: &[SocketAddr]) {
    let addrs: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
    tracing::info!(
        "redish {} (Redis {} compatible) on {runtime} listening on {}",
        env!("CARGO_PKG_VERSION"),
        redish_core::REDIS_VERSION,
        addrs.join(", ")
    );
}

/// An accepted connection's options: TCP_NODELAY (replies go out as soon as a batch is
/// done), and keepalive probes as Redis's `tcp-keepalive` asks (0: none).
pub fn configure_stream(stream: &impl AsFd, keepalive_s: u64) -> io::Result<()> {
    let socket = socket2::SockRef::from(stream);
    socket.set_tcp_nodelay(true)?;
    if keepalive_s > 0 {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(keepalive_s))
            .with_interval(Duration::from_secs((keepalive_s / 3).max(1)));
        socket.set_tcp_keepalive(&keepalive)?;
    }
    Ok(())
}
