//! The TCP server: listeners, the accept loop, the timer task and graceful shutdown.
//!
//! All connections share one [`Store`] behind one lock, together with the channel of every
//! connection for deliveries (pub/sub messages, replies of blocking commands, kills). A
//! connection takes the lock once per batch of input, so each command runs atomically with
//! respect to every other connection, as in Redis.
//!
//! ```no_run
//! use async_std_adapter::server::{Server, ServerOptions};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::bind(ServerOptions::default()).await?;
//! println!("listening on {:?}", server.local_addrs());
//! server.run(std::future::pending()).await
//! # }
//! ```

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use async_io::Timer;
use async_std::net::{Incoming, TcpListener, TcpStream};
use async_std::os::unix::net::{UnixListener, UnixStream};
use async_std::sync::{Mutex, MutexGuard};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt, Stream};
use redish_core::db::{Delivery, Message, ScriptWatch};
use redish_core::server::{self as policy, conn, TimerNext};
use redish_core::{ClientId, SessionConfig, Store};
use redish_host::now_ms;
use redish_host::persist::{Persistence, StoreAccess};
use tracing::{debug, info, warn};

pub use redish_core::server::ServerOptions;

use crate::connection;
use crate::transport::Transport;

/// What a connection task receives from elsewhere in the server.
#[derive(Debug)]
pub(crate) enum ConnMsg {
    /// A delivery from the store: a pub/sub message, a blocking command's reply, a kill.
    Deliver(Message),
    /// The server is shutting down: finish what was read, flush and close.
    Shutdown,
}

/// Everything the store lock protects.
pub(crate) struct State {
    pub store: Store,
    /// Where to send a connection's deliveries, for every live connection.
    pub conns: HashMap<ClientId, Sender<ConnMsg>>,
}

impl State {
    /// Sends a delivery to its connection. A receiver only goes away with its connection,
    /// which leaves the store (subscriptions, blocked keys) first.
    pub fn route(conns: &HashMap<ClientId, Sender<ConnMsg>>, delivery: Delivery) {
        if let Some(tx) = conns.get(&delivery.to) {
            let _ = tx.try_send(ConnMsg::Deliver(delivery.message));
        }
    }
}

/// State shared by the accept loop, the connections and the timer task.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Closed when SHUTDOWN is called; the accept loop waits on its receiver.
    shutdown: (Sender<()>, Receiver<()>),
    pub session_config: SessionConfig,
    /// Connections being served, against `maxclients`.
    clients: AtomicUsize,
    /// The AOF, snapshots and the files' background jobs.
    pub persistence: Persistence,
    /// The running script, for connections that wait for the store meanwhile.
    pub script_watch: Arc<ScriptWatch>,
}

impl StoreAccess for Shared {
    fn with_store(&self, f: &mut dyn FnMut(&mut Store)) {
        f(&mut self.state.lock_blocking().store);
    }
}

impl Shared {
    /// Locks the store, for a batch of commands (never held across an `await`).
    ///
    /// An async lock, as the Tokio adapter's: the background jobs (BGSAVE, AOF rewrites)
    /// take it from their threads a hundred keys at a time, and with a blocking lock the
    /// executor's thread stalled behind them. In a redis-benchmark SET run at -P 16 with
    /// `appendfsync everysec`, during automatic rewrites, a `std` mutex gave 0.84–0.98x
    /// redis's throughput and a p99 of 8.4–8.6 ms (30 ms with steps of 10 or 1000 keys);
    /// this one 1.06x and 6.7 ms, below redis's 7.3 ms. At -P 1 the two measured alike.
    pub async fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().await
    }

    /// The store if nobody holds it now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, State>> {
        self.state.try_lock()
    }

    /// Starts a graceful shutdown of the whole server (the SHUTDOWN command).
    pub fn trigger_shutdown(&self) {
        self.shutdown.0.close();
    }
}

/// A bound server, ready to [`run`](Server::run).
pub struct Server {
    listeners: Listeners,
    shared: Arc<Shared>,
    options: ServerOptions,
}

/// The listening sockets, by kind.
struct Listeners {
    tcp: Vec<TcpListener>,
    tcp_addrs: Vec<SocketAddr>,
    tls: Vec<TcpListener>,
    tls_addrs: Vec<SocketAddr>,
    /// The TLS configuration for new connections, when there is a TLS port.
    tls_context: Option<redish_host::tls::TlsContext>,
    unix: Option<(UnixListener, String)>,
}

/// A connection taken from one of the listeners.
enum Accepted {
    Tcp(TcpStream),
    Tls(TcpStream),
    Unix(UnixStream),
}

impl Server {
    /// Binds every address of `options.bind` on `options.port` (0: the OS chooses, see
    /// [`Server::local_addrs`]) and prepares the store.
    pub async fn bind(options: ServerOptions) -> io::Result<Server> {
        let bound = redish_host::Listeners::bind(&options)?;
        let (mut store, persistence) = redish_host::server_store(&options, bound.tcp_port())?;
        let tls_context = redish_host::tls::install(&mut store)?;
        let tcp_listeners = |list: Vec<(std::net::TcpListener, SocketAddr)>| {
            let addrs: Vec<SocketAddr> = list.iter().map(|(_, a)| *a).collect();
            let listeners: Vec<TcpListener> = list
                .into_iter()
                .map(|(l, _)| TcpListener::from(l))
                .collect();
            (listeners, addrs)
        };
        let (tcp, tcp_addrs) = tcp_listeners(bound.tcp);
        let (tls, tls_addrs) = tcp_listeners(bound.tls);
        let listeners = Listeners {
            tcp,
            tcp_addrs,
            tls,
            tls_addrs,
            tls_context,
            unix: bound.unix.map(|(l, path)| (UnixListener::from(l), path)),
        };
        let script_watch = store.script_watch();
        let shared = Arc::new(Shared {
            script_watch,
            state: Mutex::new(State {
                store,
                conns: HashMap::new(),
            }),
            shutdown: async_channel::bounded(1),
            session_config: options.session,
            clients: AtomicUsize::new(0),
            persistence,
        });
        let access: Weak<dyn StoreAccess> = Arc::downgrade(&shared) as Weak<Shared>;
        shared
            .persistence
            .attach(&mut shared.state.lock_blocking().store, access);
        Ok(Server {
            listeners,
            shared,
            options,
        })
    }

    /// The plain TCP addresses the server listens on, with the real port when 0 was asked
    /// for (none with `port 0` beside a TLS port or Unix socket).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.listeners.tcp_addrs
    }

    /// The TLS addresses the server listens on (`tls-port`).
    pub fn tls_addrs(&self) -> &[SocketAddr] {
        &self.listeners.tls_addrs
    }

    /// The Unix socket's path (`unixsocket`), if any.
    pub fn unix_path(&self) -> Option<&str> {
        self.listeners.unix.as_ref().map(|(_, p)| p.as_str())
    }

    /// Serves until `shutdown` completes or a client calls SHUTDOWN, then stops gracefully:
    /// no new connections; each connection executes what it has already received, writes
    /// its replies and closes, within [`ServerOptions::shutdown_timeout`].
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Server {
            listeners,
            shared,
            options,
        } = self;
        let all_addrs: Vec<SocketAddr> = listeners
            .tcp_addrs
            .iter()
            .chain(&listeners.tls_addrs)
            .copied()
            .collect();
        redish_host::log_listening("async-std", &all_addrs);
        let unix_path = listeners.unix.as_ref().map(|(_, p)| p.clone());
        if let Some(path) = &unix_path {
            info!("The server is now ready to accept connections at {path}");
        }
        let timers = async_std::task::spawn(run_timers(shared.clone()));
        // Each connection task holds a clone of `alive`; `all_closed` fails once the last
        // one is gone.
        let (alive, all_closed) = async_channel::bounded::<()>(1);
        let mut incoming = Incomings {
            tcp: listeners.tcp.iter().map(TcpListener::incoming).collect(),
            tls: listeners.tls.iter().map(TcpListener::incoming).collect(),
            unix: listeners.unix.as_ref().map(|(l, _)| l.incoming()),
        };
        let mut shutdown = std::pin::pin!(shutdown);
        let requested = shared.shutdown.1.clone();

        enum Step {
            Stop(&'static str),
            Accepted(io::Result<Accepted>),
        }
        loop {
            let step = future::or(
                async {
                    (&mut shutdown).await;
                    Step::Stop("shutdown requested")
                },
                future::or(
                    async {
                        let _ = requested.recv().await;
                        Step::Stop("shutdown requested by SHUTDOWN")
                    },
                    async { Step::Accepted(accept_any(&mut incoming).await) },
                ),
            )
            .await;
            match step {
                Step::Stop(why) => {
                    info!("{why}");
                    break;
                }
                Step::Accepted(Ok(Accepted::Tcp(stream))) => {
                    if let Some(conn) = tcp_conn(&stream) {
                        accept(stream, conn, None, &shared, &alive).await
                    }
                }
                Step::Accepted(Ok(Accepted::Tls(stream))) => {
                    if let Some(context) = &listeners.tls_context {
                        // Full: closed without a word, as Redis's TLS port does.
                        if let Some(slot) = Slot::take(&shared).await {
                            let acceptor = futures_rustls::TlsAcceptor::from(context.current());
                            async_std::task::spawn(handshake(
                                acceptor,
                                stream,
                                slot,
                                shared.clone(),
                                alive.clone(),
                            ));
                        }
                    }
                }
                Step::Accepted(Ok(Accepted::Unix(stream))) => {
                    let path = unix_path.as_deref().unwrap_or("");
                    let conn = policy::unix_client_conn(path, i64::from(stream.as_raw_fd()));
                    accept(stream, conn, None, &shared, &alive).await
                }
                Step::Accepted(Err(e)) => {
                    // Typically out of file descriptors: back off rather than spin, and keep
                    // serving the connections we have.
                    warn!("accept failed: {e}");
                    Timer::after(conn::ACCEPT_BACKOFF).await;
                }
            }
        }

        drop(incoming);
        if let Some(path) = &unix_path {
            redish_host::remove_unix_socket(path);
        }
        drop(listeners);
        drop(alive);
        {
            let state = shared.lock().await;
            for tx in state.conns.values() {
                let _ = tx.try_send(ConnMsg::Shutdown);
            }
        }
        let wait = options.shutdown_timeout;
        if timeout(wait, all_closed.recv()).await.is_none() {
            warn!(
                open = shared.clients.load(Ordering::Relaxed),
                "connections still open after {wait:?}; stopping anyway"
            );
        }
        timers.cancel().await;
        shared
            .persistence
            .shutdown(&mut shared.lock().await.store, now_ms());
        shared.persistence.join_jobs();
        info!("server stopped");
        Ok(())
    }
}

/// The listeners' streams of connections.
struct Incomings<'a> {
    tcp: Vec<Incoming<'a>>,
    tls: Vec<Incoming<'a>>,
    unix: Option<async_std::os::unix::net::Incoming<'a>>,
}

/// The next connection on any of the listeners.
async fn accept_any(incoming: &mut Incomings<'_>) -> io::Result<Accepted> {
    poll_fn(|cx| {
        for listener in incoming.tcp.iter_mut() {
            if let Poll::Ready(Some(accepted)) = Pin::new(listener).poll_next(cx) {
                return Poll::Ready(accepted.map(Accepted::Tcp));
            }
        }
        for listener in incoming.tls.iter_mut() {
            if let Poll::Ready(Some(accepted)) = Pin::new(listener).poll_next(cx) {
                return Poll::Ready(accepted.map(Accepted::Tls));
            }
        }
        if let Some(listener) = &mut incoming.unix {
            if let Poll::Ready(Some(accepted)) = Pin::new(listener).poll_next(cx) {
                return Poll::Ready(accepted.map(Accepted::Unix));
            }
        }
        Poll::Pending
    })
    .await
}

/// The CLIENT LIST facts of a TCP connection; `None` if it is gone already.
fn tcp_conn(stream: &TcpStream) -> Option<redish_core::db::ClientConn> {
    let peer = stream.peer_addr().ok()?;
    let fd = i64::from(stream.as_raw_fd());
    Some(policy::client_conn(peer, stream.local_addr().ok(), fd))
}

/// Runs the TLS handshake of a connection accepted on the TLS port, bounded by
/// [`conn::TLS_HANDSHAKE_TIMEOUT`], then serves it as any other; a failed handshake is
/// logged and the socket closed. The connection counts for `maxclients` from its accept
/// (`slot`), as in Redis.
async fn handshake(
    acceptor: futures_rustls::TlsAcceptor,
    stream: TcpStream,
    slot: Slot,
    shared: Arc<Shared>,
    alive: Sender<()>,
) {
    let Some(conn) = tcp_conn(&stream) else {
        return;
    };
    let peer = conn.addr.clone();
    match timeout(conn::TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Some(Ok(tls)) if !shared.shutdown.0.is_closed() => {
            accept(tls, conn, Some(slot), &shared, &alive).await
        }
        Some(Ok(_)) => {}
        Some(Err(e)) => debug!(%peer, "Error accepting a client connection: {e}"),
        None => debug!(%peer, "TLS handshake timed out"),
    }
}

/// `fut`'s output, or `None` if `limit` passes first.
pub(crate) async fn timeout<T>(limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
    future::or(async { Some(fut.await) }, async {
        Timer::after(limit).await;
        None
    })
    .await
}

/// Registers a new connection and spawns its task, or turns it away when the server is
/// full. Never waits on a client: the accept loop must keep going whatever one client does.
async fn accept<S: Transport>(
    stream: S,
    conn: redish_core::db::ClientConn,
    slot: Option<Slot>,
    shared: &Arc<Shared>,
    alive: &Sender<()>,
) {
    let peer = conn.addr.clone();
    let (tx, rx) = async_channel::unbounded();
    let registered = {
        let mut state = shared.lock().await;
        // CONFIG SET may change both at any time: read them for each connection.
        let max_clients = state.store.config().maxclients;
        let keepalive_s = state.store.config().tcp_keepalive_s;
        if slot.is_none() && shared.clients.load(Ordering::Acquire) as u64 >= max_clients {
            state.store.handle_rejected_connection();
            Err(policy::MAX_CLIENTS_REPLY)
        } else if policy::protected_mode_refuses(&mut state.store, &conn) {
            state.store.handle_rejected_connection();
            Err(policy::PROTECTED_MODE_REPLY)
        } else {
            match slot {
                Some(slot) => slot.keep(),
                None => {
                    shared.clients.fetch_add(1, Ordering::AcqRel);
                }
            }
            let id = state.store.next_client_id();
            state.store.register_client(id, conn, now_ms());
            state.conns.insert(id, tx);
            Ok((id, keepalive_s))
        }
    };
    let (id, keepalive_s) = match registered {
        Ok(registered) => registered,
        Err(reply) => {
            let why = if reply == policy::MAX_CLIENTS_REPLY {
                "max number of clients reached"
            } else {
                "protected mode"
            };
            debug!(%peer, "turned away: {why}");
            async_std::task::spawn(reject(stream, reply));
            return;
        }
    };
    if let Err(e) = stream.configure(keepalive_s) {
        debug!(%peer, "socket options: {e}");
    }
    debug!(%peer, client = id, "accepted");
    let guard = ConnGuard {
        shared: shared.clone(),
        _alive: alive.clone(),
        released: std::sync::atomic::AtomicBool::new(false),
    };
    async_std::task::spawn(async move {
        connection::serve(stream, id, rx, &guard.shared, || guard.release()).await;
        debug!(%peer, client = id, "closed");
        drop(guard);
    });
}

/// A place among `maxclients` taken for a TLS connection before its handshake, as Redis
/// counts a client from its accept: handshakes in progress are bounded with the clients.
/// Given back when dropped, unless the connection is registered ([`Slot::keep`]).
struct Slot {
    shared: Arc<Shared>,
    kept: bool,
}

impl Slot {
    /// Takes a place, or `None` (counted as a rejected connection) when the server is
    /// full; the connection is then closed without a word, as Redis's TLS port does.
    async fn take(shared: &Arc<Shared>) -> Option<Slot> {
        let mut state = shared.lock().await;
        let max_clients = state.store.config().maxclients;
        if shared.clients.load(Ordering::Acquire) as u64 >= max_clients {
            state.store.handle_rejected_connection();
            return None;
        }
        shared.clients.fetch_add(1, Ordering::AcqRel);
        Some(Slot {
            shared: shared.clone(),
            kept: false,
        })
    }

    /// The connection is registered: its [`ConnGuard`] gives the place back.
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.kept {
            self.shared.clients.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Counts a connection for `maxclients` and for the shutdown wait, until dropped.
struct ConnGuard {
    shared: Arc<Shared>,
    _alive: Sender<()>,
    released: std::sync::atomic::AtomicBool,
}

impl ConnGuard {
    /// Gives the connection's place among `maxclients` back: when the connection leaves
    /// the store (so a client that sees `connected_clients` drop may connect again at
    /// once), or at the latest when the guard is dropped.
    fn release(&self) {
        if !self.released.swap(true, Ordering::AcqRel) {
            self.shared.clients.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.release();
    }
}

/// Tells a client turned away (over `maxclients`, or by protected mode) why, then closes.
async fn reject<S: Transport>(mut stream: S, reply: &'static [u8]) {
    let _ = timeout(conn::REJECT_TIMEOUT, async {
        stream.write_all(reply).await?;
        stream.close().await?;
        stream.shutdown_write()?;
        linger(&mut stream).await;
        io::Result::Ok(())
    })
    .await;
}

/// After our FIN, reads and discards until the peer closes too, for at most
/// [`conn::LINGER`] (see there why).
pub(crate) async fn linger<S: futures_lite::AsyncRead + Unpin>(stream: &mut S) {
    let mut scratch = [0u8; 4096];
    let _ = timeout(conn::LINGER, async {
        while let Ok(n) = stream.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// The store's timers ([`policy::handle_timers`]: active expiry, blocked clients past their
/// deadline, idle clients) and, once a second, the process figures INFO shows.
async fn run_timers(shared: Arc<Shared>) {
    let mut next_usage = Instant::now();
    loop {
        let usage = (Instant::now() >= next_usage).then(|| {
            next_usage = Instant::now() + Duration::from_secs(1);
            redish_host::process::Usage::read()
        });
        let next = {
            let mut guard = shared.lock().await;
            let State { store, conns } = &mut *guard;
            if let Some(usage) = usage {
                usage.apply(store.process_info_mut());
                store.sample_memory();
                // CONFIG SET loglevel takes effect within a second.
                redish_host::log::follow(store.config());
            }
            let now = now_ms();
            shared.persistence.on_timer(store, now);
            policy::handle_timers(store, now, |d| State::route(conns, d))
        };
        match next {
            TimerNext::Again => future::yield_now().await,
            TimerNext::SleepMs(ms) => {
                Timer::after(Duration::from_millis(ms)).await;
            }
        }
    }
}
