//! End-to-end scenarios run against both servers: written once in [`scenarios`] as
//! `fn(SocketAddr)`, run by `tests/e2e.rs` once per adapter, each against a server of its own
//! started in-process ([`TestServer::start`]) on an OS-chosen loopback port.
//!
//! Every scenario is plain blocking code with the `redis` crate (or raw sockets for what a
//! client library hides) and bounded in time: sockets have read and write timeouts, waits
//! are polls with a deadline, and [`run`] fails a scenario that outlives
//! [`SCENARIO_TIMEOUT`].
//!
//! ```no_run
//! use redish_tests::{run, Adapter};
//!
//! run(Adapter::AsyncStd, |addr| {
//!     let mut con = redish_tests::connect(addr);
//!     let pong: String = redis::cmd("PING").query(&mut con).unwrap();
//!     assert_eq!(pong, "PONG");
//! });
//! ```

pub mod scenarios;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redish_core::server::ServerOptions;

/// The longest one scenario may run.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
/// Read and write timeout of every test socket.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Which server a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// `tokio-adapter`.
    Tokio,
    /// `async-std-adapter`.
    AsyncStd,
}

/// The options every test server starts with: loopback, an OS-chosen port, DEBUG allowed.
pub fn test_options() -> ServerOptions {
    ServerOptions {
        bind: vec![Ipv4Addr::LOCALHOST.into()],
        port: 0,
        shutdown_timeout: Duration::from_secs(2),
        settings: vec![("enable-debug-command".into(), "yes".into())],
        ..ServerOptions::default()
    }
}

/// A program of Debian's redis-server / redis-tools (`redis-server`, `redis-check-aof`…)
/// on the PATH, or `None` after [`required`] says so.
pub fn redis_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    required(name, found.is_some()).then(|| found.expect("found"))
}

/// Whether what a test needs from outside Rust (`what`: a program, a Python package) was
/// `found`. If not, prints a notice so the test can skip — unless `REDISH_REQUIRE_REDIS=1`
/// (as `.ci/run` sets), which makes it a failure.
pub fn required(what: &str, found: bool) -> bool {
    if !found {
        assert!(
            std::env::var("REDISH_REQUIRE_REDIS").as_deref() != Ok("1"),
            "{what} not found, and REDISH_REQUIRE_REDIS=1 requires it"
        );
        eprintln!("NOTICE: {what} not found; skipping this check");
    }
    found
}

/// A directory of its own for one test, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system's temporary directory.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("redish-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server running in a background thread on a runtime of its own.
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send>>,
    thread: Option<JoinHandle<()>>,
    /// Its `dir` when the options gave none, so no test writes files where it runs.
    _dir: Option<TempDir>,
}

impl TestServer {
    /// Starts a server of `adapter` with `options` and waits until it listens. Without a
    /// `dir` setting, the server gets a temporary directory of its own.
    pub fn start(adapter: Adapter, mut options: ServerOptions) -> TestServer {
        let dir = (!options.settings.iter().any(|(name, _)| name == "dir")).then(|| {
            let dir = TempDir::new("server");
            options
                .settings
                .push(("dir".into(), dir.path().display().to_string()));
            dir
        });
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, thread): (Box<dyn FnOnce() + Send>, _) = match adapter {
            Adapter::Tokio => {
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let thread = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .expect("tokio runtime");
                    runtime.block_on(async move {
                        let server = tokio_adapter::server::Server::bind(options)
                            .await
                            .expect("bind");
                        let addrs = [server.local_addrs(), server.tls_addrs()].concat();
                        addr_tx.send(first_addr(&addrs)).expect("addr");
                        server
                            .run(async move {
                                let _ = stop_rx.await;
                            })
                            .await
                            .expect("run");
                    });
                    runtime.shutdown_timeout(Duration::from_secs(1));
                });
                let stop = move || {
                    let _ = stop_tx.send(());
                };
                (Box::new(stop), thread)
            }
            Adapter::AsyncStd => {
                let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
                let thread = std::thread::spawn(move || {
                    async_std::task::block_on(async move {
                        let server = async_std_adapter::server::Server::bind(options)
                            .await
                            .expect("bind");
                        let addrs = [server.local_addrs(), server.tls_addrs()].concat();
                        addr_tx.send(first_addr(&addrs)).expect("addr");
                        server
                            .run(async move {
                                let _ = stop_rx.recv().await;
                            })
                            .await
                            .expect("run");
                    });
                });
                let stop = move || {
                    stop_tx.close();
                };
                (Box::new(stop), thread)
            }
        };
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server started");
        TestServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// The address it listens on: the first plain TCP one, else the first TLS one (else
    /// `0.0.0.0:0`, for a server on a Unix socket alone).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server (if still running) and waits for it, at most 10 seconds.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        if let Some(thread) = self.thread.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() && thread.join().is_err() && !std::thread::panicking() {
                panic!("the server thread panicked");
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shut();
    }
}

fn first_addr(addrs: &[SocketAddr]) -> SocketAddr {
    addrs
        .first()
        .copied()
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
}

/// A loopback port free right now, for settings that take a port number where 0 does not
/// mean "any" (`tls-port`). Another process could take it before the server binds it;
/// the OS hands out recently freed ports last, which makes that unlikely.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs `scenario` against a fresh server of `adapter`, failing it if it outlives
/// [`SCENARIO_TIMEOUT`].
pub fn run(adapter: Adapter, scenario: fn(SocketAddr)) {
    let server = TestServer::start(adapter, test_options());
    let addr = server.addr();
    let running = std::thread::spawn(move || scenario(addr));
    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    while !running.is_finished() {
        assert!(
            Instant::now() < deadline,
            "scenario still running after {SCENARIO_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    if let Err(panic) = running.join() {
        std::panic::resume_unwind(panic);
    }
    server.stop();
}

/// Polls `check` every few milliseconds until it holds, failing after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A `redis` client URL for `addr`.
pub fn url(addr: SocketAddr) -> String {
    format!("redis://{addr}/")
}

/// A `redis` connection (RESP2) with [`IO_TIMEOUT`] on reads and writes.
pub fn connect(addr: SocketAddr) -> redis::Connection {
    connect_url(&url(addr))
}

/// A `redis` connection to `url` with [`IO_TIMEOUT`] on reads and writes.
pub fn connect_url(url: &str) -> redis::Connection {
    let client = redis::Client::open(url).expect("url");
    let con = client
        .get_connection_with_timeout(IO_TIMEOUT)
        .expect("connect");
    con.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    con.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    con
}

/// A raw connection, for what a client library hides: exact bytes, pipelines in one write,
/// malformed input, closes.
pub struct Raw {
    stream: TcpStream,
}

impl Raw {
    /// Connects with [`IO_TIMEOUT`] on reads and writes.
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        Raw::from_stream(stream)
    }

    /// Wraps a connected stream, setting its timeouts.
    pub fn from_stream(stream: TcpStream) -> Raw {
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Raw { stream }
    }

    /// Writes all of `bytes` in one call.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads exactly `n` bytes.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.stream.read_exact(&mut buf).expect("read");
        buf
    }

    /// Reads as many bytes as `expected` holds and checks they are those.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_n(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    /// Reads until the server closes the connection, returning what came; fails on a
    /// timeout. A reset counts as a close.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
                Err(e) => panic!("waiting for the server to close: {e}"),
            }
        }
    }

    /// The socket, for options.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}
