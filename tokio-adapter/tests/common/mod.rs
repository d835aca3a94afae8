//! What the integration tests share: an in-process server on a port from the OS, a time
//! bound for every test, and finding Redis's own tools.

#![allow(dead_code)] // each test file uses its own part of this module

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_adapter::server::{Server, ServerConfig};

/// No test may take longer than this.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `test` and fails if it takes longer than [`TEST_TIMEOUT`].
pub async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test timed out")
}

/// A server running in this process, on loopback.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl TestServer {
    /// Starts a server with default settings on a free port.
    pub async fn start() -> TestServer {
        TestServer::start_with(ServerConfig::default()).await
    }

    /// Starts a server with `config`, on a free port whatever `config.port` says.
    pub async fn start_with(config: ServerConfig) -> TestServer {
        let server = Server::bind(ServerConfig { port: 0, ..config })
            .await
            .expect("bind");
        let addr = server.local_addrs()[0];
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// `redis://` URL of the server, for the redis crate.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Stops the server as a signal would, and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.finished().await;
    }

    /// Waits until the server has stopped by itself (SHUTDOWN), returning `run`'s result.
    pub async fn finished(&mut self) {
        (&mut self.task)
            .await
            .expect("server task panicked")
            .expect("server failed");
    }
}

/// A tool of Debian's `redis-tools` (`redis-cli`, `redis-benchmark`), or `None` after a
/// notice when it is not installed. With `REDISH_REQUIRE_REDIS=1` a missing tool fails the
/// test instead, so CI cannot skip these tests silently.
pub fn redis_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    if found.is_none() {
        if std::env::var("REDISH_REQUIRE_REDIS").as_deref() == Ok("1") {
            panic!("{name} not found, and REDISH_REQUIRE_REDIS=1 requires it");
        }
        eprintln!("NOTICE: {name} not found; skipping this test (install redis-tools)");
    }
    found
}
