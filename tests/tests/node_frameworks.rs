//! Node.js frameworks whose every operation is a Lua script, run unchanged against
//! redis-server and both adapters: BullMQ (job queues: delayed, prioritized, retried and
//! failing jobs, flows, pause/resume, QueueEvents over streams) and rate-limiter-flexible
//! (on ioredis). Each check script (`tests/node/*.js`) prints what a user would look at as one
//! JSON line; redish must print the same line as redis-server.
//!
//! Needs `node` and the packages of `tests/node/package.json` (`npm ci --prefix tests/node`,
//! as `.ci/run` does); skipped with a notice without them, unless `REDISH_REQUIRE_REDIS=1`.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redish_tests::{redis_tool, required, test_options, Adapter, TempDir, TestServer};

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

fn node_available() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let packages = ["bullmq", "ioredis", "rate-limiter-flexible"]
        .iter()
        .all(|p| node_dir().join("node_modules").join(p).is_dir());
    required(
        "node with tests/node's packages (npm ci --prefix tests/node)",
        node && packages,
    )
}

/// Runs `tests/node/<script>` against `target` (a port or a socket path): its JSON line.
fn run_check(script: &str, target: &str) -> String {
    let out = Command::new("timeout")
        .arg("120")
        .arg("node")
        .arg(node_dir().join(script))
        .arg(target)
        .current_dir(node_dir())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} against {target} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.trim().to_owned()
}

/// A redis-server on a Unix socket in a directory of its own.
struct Redis {
    child: Child,
    sock: PathBuf,
    _dir: TempDir,
}

impl Redis {
    fn start() -> Option<Redis> {
        let bin = redis_tool("redis-server")?;
        let dir = TempDir::new("node-redis");
        let sock = dir.path().join("redis.sock");
        let child = Command::new(bin)
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(&sock)
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(&sock).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Redis {
            child,
            sock,
            _dir: dir,
        })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn same_as_redis(script: &str) {
    if !node_available() {
        return;
    }
    let Some(redis) = Redis::start() else {
        return;
    };
    let theirs = run_check(script, redis.sock.to_str().expect("utf-8 path"));
    drop(redis);
    for adapter in [Adapter::Tokio, Adapter::AsyncStd] {
        let server = TestServer::start(adapter, test_options());
        let ours = run_check(script, &server.addr().port().to_string());
        server.stop();
        assert_eq!(
            ours, theirs,
            "{script} on {adapter:?}: redish vs redis-server"
        );
    }
}

#[test]
fn bullmq() {
    same_as_redis("bullmq_check.js");
}

#[test]
fn rate_limiter_flexible() {
    same_as_redis("rate_limiter_check.js");
}
