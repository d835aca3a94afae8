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
use std::os::fd::{AsRawFd, BorrowedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use async_io::Timer;
use async_std::net::{Incoming, TcpListener, TcpStream};
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
    listeners: Vec<TcpListener>,
    addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    options: ServerOptions,
}

impl Server {
    /// Binds every address of `options.bind` on `options.port` (0: the OS chooses, see
    /// [`Server::local_addrs`]) and prepares the store.
    pub async fn bind(options: ServerOptions) -> io::Result<Server> {
        let (std_listeners, addrs) = redish_host::listen_all(&options.bind, options.port)?;
        let port = addrs[0].port();
        let (store, persistence) = redish_host::server_store(&options, port)?;
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
            listeners: std_listeners.into_iter().map(TcpListener::from).collect(),
            addrs,
            shared,
            options,
        })
    }

    /// The addresses the server listens on, with the real port when 0 was asked for.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Serves until `shutdown` completes or a client calls SHUTDOWN, then stops gracefully:
    /// no new connections; each connection executes what it has already received, writes
    /// its replies and closes, within [`ServerOptions::shutdown_timeout`].
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Server {
            listeners,
            addrs,
            shared,
            options,
        } = self;
        redish_host::log_listening("async-std", &addrs);
        let timers = async_std::task::spawn(run_timers(shared.clone()));
        // Each connection task holds a clone of `alive`; `all_closed` fails once the last
        // one is gone.
        let (alive, all_closed) = async_channel::bounded::<()>(1);
        let mut incoming: Vec<Incoming<'_>> = listeners.iter().map(TcpListener::incoming).collect();
        let mut shutdown = std::pin::pin!(shutdown);
        let requested = shared.shutdown.1.clone();

        enum Step {
            Stop(&'static str),
            Accepted(io::Result<TcpStream>),
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
                Step::Accepted(Ok(stream)) => accept(stream, &shared, &alive).await,
                Step::Accepted(Err(e)) => {
                    // Typically out of file descriptors: back off rather than spin, and keep
                    // serving the connections we have.
                    warn!("accept failed: {e}");
                    Timer::after(conn::ACCEPT_BACKOFF).await;
                }
            }
        }

        drop(incoming);
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

/// The next connection on any of the listeners.
async fn accept_any(incoming: &mut [Incoming<'_>]) -> io::Result<TcpStream> {
    poll_fn(|cx| {
        for listener in incoming.iter_mut() {
            match Pin::new(listener).poll_next(cx) {
                Poll::Ready(Some(accepted)) => return Poll::Ready(accepted),
                Poll::Ready(None) | Poll::Pending => {}
            }
        }
        Poll::Pending
    })
    .await
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
async fn accept(stream: TcpStream, shared: &Arc<Shared>, alive: &Sender<()>) {
    let Ok(peer) = stream.peer_addr() else {
        return; // Gone already.
    };
    let (tx, rx) = async_channel::unbounded();
    let registered = {
        let mut state = shared.lock().await;
        // CONFIG SET may change both at any time: read them for each connection.
        let max_clients = state.store.config().maxclients;
        let keepalive_s = state.store.config().tcp_keepalive_s;
        if shared.clients.load(Ordering::Acquire) as u64 >= max_clients {
            state.store.handle_rejected_connection();
            None
        } else {
            shared.clients.fetch_add(1, Ordering::AcqRel);
            let id = state.store.next_client_id();
            let fd = i64::from(stream.as_raw_fd());
            let conn = policy::client_conn(peer, stream.local_addr().ok(), fd);
            state.store.register_client(id, conn, now_ms());
            state.conns.insert(id, tx);
            Some((id, keepalive_s))
        }
    };
    let Some((id, keepalive_s)) = registered else {
        debug!(%peer, "max number of clients reached");
        async_std::task::spawn(reject(stream));
        return;
    };
    // SAFETY: the descriptor belongs to `stream`, which outlives this borrow. (async-std's
    // TcpStream has `AsRawFd` but not `AsFd`.)
    let fd = unsafe { BorrowedFd::borrow_raw(stream.as_raw_fd()) };
    if let Err(e) = redish_host::configure_stream(&fd, keepalive_s) {
        debug!(%peer, "socket options: {e}");
    }
    debug!(%peer, client = id, "accepted");
    let guard = ConnGuard {
        shared: shared.clone(),
        _alive: alive.clone(),
    };
    async_std::task::spawn(async move {
        connection::serve(stream, id, rx, &guard.shared).await;
        debug!(%peer, client = id, "closed");
        drop(guard);
    });
}

/// Counts a connection for `maxclients` and for the shutdown wait, until dropped.
struct ConnGuard {
    shared: Arc<Shared>,
    _alive: Sender<()>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.shared.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Tells a client over `maxclients` why it is turned away, then closes.
async fn reject(mut stream: TcpStream) {
    let _ = timeout(conn::REJECT_TIMEOUT, async {
        stream.write_all(policy::MAX_CLIENTS_REPLY).await?;
        stream.close().await?;
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
