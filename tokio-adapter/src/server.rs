//! The TCP server: listeners, the accept loop, the store's timers (active expiry, blocked
//! clients, idle clients) and graceful shutdown.
//!
//! All connections share one [`Store`] behind one lock, together with the channel of every
//! connection for deliveries (pub/sub messages, replies of blocking commands, kills). A
//! connection takes the lock once per batch of input (all the commands one read brought
//! in), so each command runs atomically with respect to every other connection, as in Redis.
//!
//! What does not need Tokio (the store a server starts with, routing, the timer policy, each
//! connection's run loop, [`redish_core::server::Driver`]) is [`redish_core::server`],
//! shared with the async-std adapter.
//!
//! The lock is Tokio's async mutex rather than `std`'s: the store is serial anyway, and a
//! connection task waiting for it then frees its worker thread for other connections' socket
//! I/O, where a blocking mutex spins or parks the thread. In redis-benchmark runs on two
//! cores this cut CPU per SET by about a fifth (SET -P 16: +5–8% requests per second).
//!
//! ```no_run
//! use tokio_adapter::server::{Server, ServerOptions};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::bind(ServerOptions::default()).await?;
//! println!("listening on {:?}", server.local_addrs());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use redish_core::db::{Delivery, Message, ScriptWatch};
use redish_core::server::{self as policy, conn, TimerNext};
use redish_core::{ClientId, SessionConfig, Store};
use redish_host::now_ms;
use redish_host::persist::{Persistence, StoreAccess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::sync::{mpsc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use redish_core::server::ServerOptions;
/// The former name of [`ServerOptions`], kept for existing callers.
pub use redish_core::server::ServerOptions as ServerConfig;

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
    pub conns: HashMap<ClientId, mpsc::UnboundedSender<ConnMsg>>,
}

impl State {
    /// Sends a delivery to its connection. A receiver only goes away with its connection,
    /// which leaves the store (subscriptions, blocked keys) first.
    pub fn route(conns: &HashMap<ClientId, mpsc::UnboundedSender<ConnMsg>>, delivery: Delivery) {
        if let Some(tx) = conns.get(&delivery.to) {
            let _ = tx.send(ConnMsg::Deliver(delivery.message));
        }
    }
}

/// State shared by the accept loop, the connections and the timer task.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Cancelled when SHUTDOWN is called; only the accept loop waits on it.
    shutdown: CancellationToken,
    pub session_config: SessionConfig,
    /// Connections being served, against `maxclients`.
    clients: AtomicUsize,
    /// The AOF, snapshots and the files' background jobs.
    pub persistence: Persistence,
    /// The running script, for connections that wait for the store meanwhile.
    pub script_watch: Arc<ScriptWatch>,
}

impl StoreAccess for Shared {
    /// For the persistence jobs' own threads, outside the runtime.
    fn with_store(&self, f: &mut dyn FnMut(&mut Store)) {
        f(&mut self.state.blocking_lock().store);
    }
}

impl Shared {
    /// Locks the store (see the module docs for why the lock is async). Never hold the
    /// guard across an await of anything else.
    pub async fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().await
    }

    /// The store if nobody holds it now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, State>> {
        self.state.try_lock().ok()
    }

    /// Starts a graceful shutdown of the whole server (the SHUTDOWN command).
    pub fn trigger_shutdown(&self) {
        self.shutdown.cancel();
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
    Tcp(TcpStream, SocketAddr),
    Tls(TcpStream, SocketAddr),
    Unix(tokio::net::UnixStream),
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
            let listeners = list
                .into_iter()
                .map(|(l, _)| TcpListener::from_std(l))
                .collect::<io::Result<Vec<_>>>()?;
            io::Result::Ok((listeners, addrs))
        };
        let (tcp, tcp_addrs) = tcp_listeners(bound.tcp)?;
        let (tls, tls_addrs) = tcp_listeners(bound.tls)?;
        let unix = match bound.unix {
            Some((l, path)) => Some((UnixListener::from_std(l)?, path)),
            None => None,
        };
        let listeners = Listeners {
            tcp,
            tcp_addrs,
            tls,
            tls_addrs,
            tls_context,
            unix,
        };
        let script_watch = store.script_watch();
        // A script holds the store and its worker thread; a connection woken last on that
        // worker sits in its LIFO slot or run queue, which other workers may not steal in
        // time, and could not answer -BUSY or take SCRIPT KILL. `block_in_place` hands the
        // worker's queue, that slot included, to another thread (once per script that
        // runs long: after its first million instructions).
        script_watch.on_running_long(Box::new(|| {
            let multi = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if multi {
                // Long enough for the new thread to take the worker's queue over, even on
                // a loaded machine: with nothing to wait for, this thread would take it
                // back at once (2 ms was not enough under the whole test suite's load).
                tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(20)));
            }
        }));
        let shared = Arc::new(Shared {
            script_watch,
            state: Mutex::new(State {
                store,
                conns: HashMap::new(),
            }),
            shutdown: CancellationToken::new(),
            session_config: options.session,
            clients: AtomicUsize::new(0),
            persistence,
        });
        let access: Weak<dyn StoreAccess> = Arc::downgrade(&shared) as Weak<Shared>;
        shared
            .persistence
            .attach(&mut shared.lock().await.store, access);
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
        redish_host::log_listening("tokio", &all_addrs);
        if let Some((_, path)) = &listeners.unix {
            info!("The server is now ready to accept connections at {path}");
        }
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
                Ok(Accepted::Tcp(stream, peer)) => {
                    let fd = i64::from(stream.as_raw_fd());
                    let conn = policy::client_conn(peer, stream.local_addr().ok(), fd);
                    accept(stream, conn, None, &shared, &alive).await
                }
                Ok(Accepted::Tls(stream, peer)) => {
                    let Some(context) = &listeners.tls_context else {
                        continue;
                    };
                    let Some(slot) = Slot::take(&shared).await else {
                        debug!(%peer, "max number of clients reached");
                        continue;
                    };
                    let acceptor = tokio_rustls::TlsAcceptor::from(context.current());
                    tokio::spawn(handshake(
                        acceptor,
                        stream,
                        peer,
                        slot,
                        shared.clone(),
                        alive.clone(),
                    ));
                }
                Ok(Accepted::Unix(stream)) => {
                    let path = listeners.unix.as_ref().map_or("", |(_, p)| p.as_str());
                    let conn = policy::unix_client_conn(path, i64::from(stream.as_raw_fd()));
                    accept(stream, conn, None, &shared, &alive).await
                }
                Err(e) => {
                    // Typically out of file descriptors: back off rather than spin, and keep
                    // serving the connections we have.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(conn::ACCEPT_BACKOFF).await;
                }
            }
        }

        if let Some((_, path)) = &listeners.unix {
            redish_host::remove_unix_socket(path);
        }
        drop(listeners);
        drop(alive);
        {
            let state = shared.lock().await;
            for tx in state.conns.values() {
                let _ = tx.send(ConnMsg::Shutdown);
            }
        }
        let timeout = options.shutdown_timeout;
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
        shared
            .persistence
            .shutdown(&mut shared.lock().await.store, now_ms());
        let persistence = shared.persistence.clone();
        let _ = tokio::task::spawn_blocking(move || persistence.join_jobs()).await;
        info!("server stopped");
        Ok(())
    }
}

/// The next connection on any of the listeners.
async fn accept_any(listeners: &Listeners) -> io::Result<Accepted> {
    std::future::poll_fn(|cx| {
        for listener in &listeners.tcp {
            if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                return Poll::Ready(accepted.map(|(s, a)| Accepted::Tcp(s, a)));
            }
        }
        for listener in &listeners.tls {
            if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                return Poll::Ready(accepted.map(|(s, a)| Accepted::Tls(s, a)));
            }
        }
        if let Some((listener, _)) = &listeners.unix {
            if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                return Poll::Ready(accepted.map(|(s, _)| Accepted::Unix(s)));
            }
        }
        Poll::Pending
    })
    .await
}

/// Runs the TLS handshake of a connection accepted on the TLS port, bounded by
/// [`conn::TLS_HANDSHAKE_TIMEOUT`], then serves it as any other; a failed handshake is
/// logged and the socket closed. The connection counts for `maxclients` from its accept
/// (`slot`), as in Redis.
async fn handshake(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    shared: Arc<Shared>,
    alive: mpsc::Sender<()>,
) {
    let fd = i64::from(stream.as_raw_fd());
    let conn = policy::client_conn(peer, stream.local_addr().ok(), fd);
    match tokio::time::timeout(conn::TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) if !shared.shutdown.is_cancelled() => {
            accept(tls, conn, Some(slot), &shared, &alive).await
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => debug!(%peer, "Error accepting a client connection: {e}"),
        Err(_) => debug!(%peer, "TLS handshake timed out"),
    }
}

/// Registers a new connection and spawns its task, or turns it away when the server is full.
/// Waits for nothing but the store lock: the accept loop must keep going whatever one client
/// does (a client turned away is answered by a task of its own).
async fn accept<S: Transport>(
    stream: S,
    conn: redish_core::db::ClientConn,
    slot: Option<Slot>,
    shared: &Arc<Shared>,
    alive: &mpsc::Sender<()>,
) {
    let peer = conn.addr.clone();
    let (tx, rx) = mpsc::unbounded_channel();
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
            tokio::spawn(reject(stream, reply));
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
    tokio::spawn(async move {
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
    _alive: mpsc::Sender<()>,
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
    let _ = tokio::time::timeout(conn::REJECT_TIMEOUT, async {
        stream.write_all(reply).await?;
        stream.shutdown().await?;
        linger(&mut stream).await;
        io::Result::Ok(())
    })
    .await;
}

/// After our FIN, reads and discards until the peer closes too, for at most
/// [`conn::LINGER`] (see there why).
pub(crate) async fn linger<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) {
    let mut scratch = [0u8; 4096];
    let _ = tokio::time::timeout(conn::LINGER, async {
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
            // There may be more: go on after letting the connections have the lock.
            TimerNext::Again => tokio::task::yield_now().await,
            TimerNext::SleepMs(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        }
    }
}
