//! The TCP server: listeners, the accept loop, the store's timers (active expiry, blocked
//! clients, idle clients) and graceful shutdown.
//!
//! All connections share one [`Store`] behind one lock, together with the channel of every
//! connection for pub/sub deliveries. A connection takes the lock once per batch of input
//! (all the commands one read brought in), so each command runs atomically with respect to
//! every other connection, as in Redis.
//!
//! The lock is Tokio's async mutex rather than `std`'s: the store is serial anyway, and a
//! connection task waiting for it then frees its worker thread for other connections' socket
//! I/O, where a blocking mutex spins or parks the thread. In redis-benchmark runs on two
//! cores this cut CPU per SET by about a fifth (SET -P 16: +5–8% requests per second).
//!
//! ```no_run
//! use tokio_adapter::server::{Server, ServerConfig};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::bind(ServerConfig::default()).await?;
//! println!("listening on {:?}", server.local_addrs());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use redish_core::db::ClientConn;
use redish_core::db::Message;
use redish_core::{ClientId, SessionConfig, Store, StoreConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use redish_host::process as process_info;

use crate::connection;

use redish_core::server::{TimerNext, MAX_CLIENTS_REPLY};

/// Settings of a [`Server`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Addresses to listen on (Redis's `bind`), IPv4 or IPv6.
    pub bind: Vec<IpAddr>,
    /// Port to listen on; 0 lets the OS choose one (see [`Server::local_addrs`]).
    pub port: u16,
    /// Connections served at once; one more is told so and closed (Redis's `maxclients`).
    pub max_clients: usize,
    /// Number of databases (Redis's `databases`).
    pub databases: usize,
    /// Limits of every connection, pub/sub output limits included.
    pub session: SessionConfig,
    /// On shutdown, how long connections get to finish before the server stops anyway.
    pub shutdown_timeout: Duration,
    /// Further settings by Redis name, as in a configuration file (`timeout`, `requirepass`,
    /// `enable-debug-command`…), applied after the fields above. Persistence (`appendonly
    /// yes`, `save` points) is refused: this server does not write files.
    pub settings: Vec<(String, String)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            port: 6379,
            max_clients: 10_000,
            databases: 16,
            session: SessionConfig::default(),
            shutdown_timeout: Duration::from_secs(5),
            settings: Vec::new(),
        }
    }
}

/// What a connection task receives from elsewhere in the server.
#[derive(Debug)]
pub(crate) enum ConnMsg {
    /// A pub/sub message published by another connection.
    Deliver(Message),
    /// The server is shutting down: finish what was read, flush and close.
    Shutdown,
}

/// Everything the store lock protects.
pub(crate) struct State {
    pub store: Store,
    /// Where to send a connection's pub/sub deliveries, for every live connection.
    pub conns: HashMap<ClientId, mpsc::UnboundedSender<ConnMsg>>,
}

/// State shared by the accept loop, the connections and the expiry task.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Cancelled when SHUTDOWN is called; only the accept loop waits on it.
    shutdown: CancellationToken,
    pub session_config: SessionConfig,
    /// Connections being served, against `max_clients`.
    clients: AtomicUsize,
}

impl Shared {
    /// Locks the store (see the module docs for why the lock is async). Never hold the
    /// guard across an await of anything else.
    pub async fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().await
    }

    /// Starts a graceful shutdown of the whole server (the SHUTDOWN command).
    pub fn trigger_shutdown(&self) {
        self.shutdown.cancel();
    }
}

pub(crate) use redish_host::now_ms;

/// A bound server, ready to [`run`](Server::run).
pub struct Server {
    listeners: Vec<TcpListener>,
    addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    config: ServerConfig,
}

impl Server {
    /// Binds every address of `config.bind` on `config.port` and prepares the store. With
    /// port 0 the first address gets a port from the OS and the others the same one.
    pub async fn bind(config: ServerConfig) -> io::Result<Server> {
        if config.bind.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no address to bind",
            ));
        }
        let mut listeners = Vec::with_capacity(config.bind.len());
        let mut addrs = Vec::with_capacity(config.bind.len());
        let mut port = config.port;
        for &ip in &config.bind {
            let listener = TcpListener::from_std(redish_host::listen(SocketAddr::new(ip, port))?)?;
            let addr = listener.local_addr()?;
            port = addr.port();
            listeners.push(listener);
            addrs.push(addr);
        }

        let seeds = RandomState::new();
        let store_config = StoreConfig {
            databases: config.databases,
            hash_seed: seeds.hash_one((SystemTime::now(), 1)),
            rng_seed: seeds.hash_one((SystemTime::now(), 2)),
            ..StoreConfig::default()
        };
        let mut store = Store::new(store_config);
        store.set_start_time(now_ms());
        // What CONFIG GET reports; redis-benchmark asks for `save` and `appendonly`.
        let settings = store.config_mut();
        settings.port = port;
        settings.bind = config
            .bind
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        settings.maxclients = config.max_clients as u64;
        settings.save = Vec::new();
        settings.appendonly = false;
        // Session limits other than the defaults become settings too, so that CONFIG GET
        // tells the truth and the sessions apply them.
        let defaults = SessionConfig::default();
        let session = &config.session;
        if session.limits.max_bulk_bytes != defaults.limits.max_bulk_bytes {
            store.set_setting(
                "proto-max-bulk-len",
                session.limits.max_bulk_bytes.to_string(),
            );
        }
        if (
            session.pubsub_hard_limit_bytes,
            session.pubsub_soft_limit_bytes,
            session.pubsub_soft_limit_ms,
        ) != (
            defaults.pubsub_hard_limit_bytes,
            defaults.pubsub_soft_limit_bytes,
            defaults.pubsub_soft_limit_ms,
        ) {
            let limit = format!(
                "pubsub {} {} {}",
                session.pubsub_hard_limit_bytes,
                session.pubsub_soft_limit_bytes,
                session.pubsub_soft_limit_ms / 1000
            );
            store.set_setting("client-output-buffer-limit", limit);
        }
        for (name, value) in &config.settings {
            store.config_mut().set(name, value).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("setting {name} {value:?}: {e}"),
                )
            })?;
        }
        if store.config().appendonly || !store.config().save.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "persistence (appendonly yes, save points) is not supported by this server",
            ));
        }
        process_info::init(store.process_info_mut());

        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store,
                conns: HashMap::new(),
            }),
            shutdown: CancellationToken::new(),
            session_config: config.session,
            clients: AtomicUsize::new(0),
        });
        Ok(Server {
            listeners,
            addrs,
            shared,
            config,
        })
    }

    /// The addresses the server listens on, with the real port when 0 was asked for.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Serves until `shutdown` completes or a client calls SHUTDOWN, then stops gracefully:
    /// no new connections; each connection executes what it has already received, writes
    /// its replies and closes, within [`ServerConfig::shutdown_timeout`].
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Server {
            listeners,
            addrs,
            shared,
            config,
        } = self;
        info!(
            "redish {} (Redis {} compatible) listening on {}",
            env!("CARGO_PKG_VERSION"),
            redish_core::REDIS_VERSION,
            addrs
                .iter()
                .map(SocketAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let timers = tokio::spawn(run_timers(shared.clone()));
        // Each connection task holds a clone of `alive`; `all_closed` yields None once the
        // last one is gone.
        let (alive, mut all_closed) = mpsc::channel::<()>(1);
        tokio::pin!(shutdown);

        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => {
                    info!("shutdown requested");
                    break;
                }
                _ = shared.shutdown.cancelled() => {
                    info!("shutdown requested by SHUTDOWN");
                    break;
                }
                accepted = accept_any(&listeners) => accepted,
            };
            match accepted {
                Ok((stream, peer)) => accept(stream, peer, &shared, &alive).await,
                Err(e) => {
                    // Typically out of file descriptors: back off rather than spin, and keep
                    // serving the connections we have.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }

        drop(listeners);
        drop(alive);
        {
            let state = shared.lock().await;
            for tx in state.conns.values() {
                let _ = tx.send(ConnMsg::Shutdown);
            }
        }
        let timeout = config.shutdown_timeout;
        if tokio::time::timeout(timeout, all_closed.recv())
            .await
            .is_err()
        {
            warn!(
                open = shared.clients.load(Ordering::Relaxed),
                "connections still open after {timeout:?}; stopping anyway"
            );
        }
        timers.abort();
        info!("server stopped");
        Ok(())
    }
}

/// The next connection on any of the listeners.
async fn accept_any(listeners: &[TcpListener]) -> io::Result<(TcpStream, SocketAddr)> {
    std::future::poll_fn(|cx| {
        for listener in listeners {
            if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                return Poll::Ready(accepted);
            }
        }
        Poll::Pending
    })
    .await
}

/// Registers a new connection and spawns its task, or turns it away when the server is full.
/// Waits for nothing but the store lock: the accept loop must keep going whatever one client
/// does (a client turned away is answered by a task of its own).
async fn accept(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    alive: &mpsc::Sender<()>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let registered = {
        let mut state = shared.lock().await;
        // CONFIG SET may change both at any time: read them for each connection.
        let max_clients = state.store.config().maxclients;
        let keepalive_s = state.store.config().tcp_keepalive_s;
        if shared.clients.load(Ordering::Acquire) as u64 >= max_clients {
            None
        } else {
            shared.clients.fetch_add(1, Ordering::AcqRel);
            let id = state.store.next_client_id();
            let conn = ClientConn {
                addr: redish_core::server::redis_addr(peer),
                laddr: stream
                    .local_addr()
                    .map(redish_core::server::redis_addr)
                    .unwrap_or_default(),
                fd: i64::from(stream.as_raw_fd()),
                unix_socket: false,
            };
            state.store.register_client(id, conn, now_ms());
            state.conns.insert(id, tx);
            Some((id, keepalive_s))
        }
    };
    let Some((id, keepalive_s)) = registered else {
        debug!(%peer, "max number of clients reached");
        tokio::spawn(reject(stream));
        return;
    };
    if let Err(e) = redish_host::configure_stream(&stream, keepalive_s) {
        debug!(%peer, "socket options: {e}");
    }
    debug!(%peer, client = id, "accepted");
    let guard = ConnGuard {
        shared: shared.clone(),
        _alive: alive.clone(),
    };
    tokio::spawn(async move {
        connection::serve(stream, id, rx, &guard.shared).await;
        debug!(%peer, client = id, "closed");
        drop(guard);
    });
}

/// Counts a connection for `max_clients` and for the shutdown wait, until dropped.
struct ConnGuard {
    shared: Arc<Shared>,
    _alive: mpsc::Sender<()>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.shared.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Tells a client over `max_clients` why it is turned away, then closes.
async fn reject(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(MAX_CLIENTS_REPLY).await?;
        stream.shutdown().await?;
        linger(&mut stream).await;
        io::Result::Ok(())
    })
    .await;
}

/// After our FIN, reads and discards until the peer closes too (or a short while passes).
/// Closing a socket with unread input makes the kernel send a reset, which may destroy the
/// last reply before the client has read it.
pub(crate) async fn linger(stream: &mut TcpStream) {
    let mut scratch = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Ok(n) = stream.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// The store's timers: active expiry (keys nobody reads again still go), blocked clients
/// past their deadline (BLPOP … timeout), clients idle past `timeout`; and, once a second,
/// the process figures INFO shows. Sleeps until the store's next deadline, at most
/// [`MAX_TIMER_SLEEP`] so that deadlines set meanwhile are picked up; never spins on an idle
/// server.
async fn run_timers(shared: Arc<Shared>) {
    let mut next_usage = Instant::now();
    loop {
        let usage = (Instant::now() >= next_usage).then(|| {
            next_usage = Instant::now() + Duration::from_secs(1);
            process_info::Usage::read()
        });
        let next = {
            let mut guard = shared.lock().await;
            let State { store, conns } = &mut *guard;
            if let Some(usage) = usage {
                usage.apply(store.process_info_mut());
            }
            // Expiry, timed-out BLPOPs and idle clients, by the policy both adapters share.
            redish_core::server::handle_timers(store, now_ms(), |delivery| {
                if let Some(tx) = conns.get(&delivery.to) {
                    let _ = tx.send(ConnMsg::Deliver(delivery.message));
                }
            })
        };
        match next {
            // There may be more: go on after letting the connections have the lock.
            TimerNext::Again => tokio::task::yield_now().await,
            TimerNext::SleepMs(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        }
    }
}
