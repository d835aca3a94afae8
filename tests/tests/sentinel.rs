//! Redis Sentinel (Debian's `redis-sentinel`, 7.0.15) in front of redish: three sentinels
//! monitor a redish master with two redish replicas, discover the replicas (INFO
//! replication) and each other (`__sentinel__:hello`), and when the master is SIGKILLed
//! promote a replica (MULTI, SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL TYPE normal /
//! pubsub, EXEC) and point the other one at it. Writes acknowledged by WAIT before the kill
//! are on the new master, which takes writes; CONFIG REWRITE left each survivor's file with
//! its new role. Skips with a notice without `redis-sentinel`.
//!
//! The redish servers run in child processes (this test binary again, with [`CHILD_ENV`]
//! set) so the master can be SIGKILLed; every child is killed when its guard drops.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redish_core::server::{parse_args_with, Invocation};
use redish_tests::{connect, free_port, redis_tool, Adapter, TempDir, TestServer};

/// Set to `tokio|args…` or `async-std|args…` in a child process.
const CHILD_ENV: &str = "REDISH_TEST_SENTINEL_CHILD";
/// How long Sentinel may take to notice the death and finish the failover (down after 1 s,
/// then election and promotion; Redis itself takes 2–5 s here).
const FAILOVER_LIMIT: Duration = Duration::from_secs(40);

#[test]
fn tokio_master_fails_over_to_a_replica() {
    fails_over(Adapter::Tokio);
}

#[test]
fn async_std_master_fails_over_to_a_replica() {
    fails_over(Adapter::AsyncStd);
}

/// A mixed group: a redis-server master, redish replicas (Tokio) promoted in its place.
#[test]
fn redis_master_fails_over_to_a_redish_replica() {
    if redis_tool("redis-server").is_none() {
        return;
    }
    fails_over_from(Adapter::Tokio, true, false);
}

/// redis-py's `Sentinel.master_for` keeps writing across the failover (Debian's
/// python3-redis; `tests/python/redis_py_sentinel.py` kills the master itself).
#[test]
fn redis_py_sentinel_client_keeps_writing() {
    let found = Command::new(PYTHON)
        .args(["-c", "import redis.sentinel"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !redish_tests::required("python3-redis", found) {
        return;
    }
    fails_over_from(Adapter::Tokio, false, true);
}

/// Debian's interpreter: the one python3-redis installs into.
const PYTHON: &str = "/usr/bin/python3";

/// Not a test of its own: the body of the child processes. It serves until killed.
#[test]
fn child_server() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut words = spec.split('|');
    let adapter = match words.next() {
        Some("tokio") => Adapter::Tokio,
        _ => Adapter::AsyncStd,
    };
    let argv = std::iter::once("server").chain(words);
    let parsed = parse_args_with(argv, &mut redish_host::process::read_config);
    let Ok(Invocation::Serve(options)) = parsed else {
        panic!("bad child arguments: {spec}");
    };
    let server = TestServer::start(adapter, options);
    println!("listening on {}", server.addr());
    std::thread::sleep(Duration::from_secs(120));
    panic!("child server not killed after two minutes");
}

/// A redish server in a child process, started from a configuration file.
struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

impl ChildServer {
    fn start(adapter: Adapter, conf: &Path) -> ChildServer {
        let name = match adapter {
            Adapter::Tokio => "tokio",
            Adapter::AsyncStd => "async-std",
        };
        let spec = format!("{name}|{}", conf.display());
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "child_server", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, spec)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the child server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, addr)) = line.split_once("listening on ") {
                    let _ = tx.send(addr.parse::<SocketAddr>().expect("address"));
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the child server started");
        ChildServer { child, addr }
    }

    /// A redis-server on a free loopback port, as the master of a mixed group.
    fn redis(dir: &Path) -> ChildServer {
        let program = redis_tool("redis-server").expect("checked by the caller");
        let port = free_port();
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir)
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        ChildServer { child, addr }
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One redis-sentinel process with a configuration of its own, killed when dropped.
struct Sentinel {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: TempDir,
}

impl Sentinel {
    fn start(program: &Path, master: SocketAddr) -> Sentinel {
        let dir = TempDir::new("sentinel");
        let port = free_port();
        let log = dir.path().join("sentinel.log");
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {dir}\nlogfile {log}\n\
                 sentinel monitor m 127.0.0.1 {mport} 2\n\
                 sentinel down-after-milliseconds m 1000\n\
                 sentinel failover-timeout m 5000\n",
                dir = dir.path().display(),
                log = log.display(),
                mport = master.port(),
            ),
        )
        .expect("sentinel.conf");
        let child = Command::new(program)
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-sentinel");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "redis-sentinel did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sentinel {
            child,
            addr,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `SENTINEL <sub> m` as a list of replies, or empty on an error.
    fn entries(&self, sub: &str) -> Vec<redis::Value> {
        redis::cmd("SENTINEL")
            .arg(sub)
            .arg("m")
            .query(&mut connect(self.addr))
            .unwrap_or_default()
    }

    fn master_port(&self) -> Option<u16> {
        let addr: Vec<String> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg("m")
            .query(&mut connect(self.addr))
            .ok()?;
        addr.get(1)?.parse().ok()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms until it holds; after `limit`, fails with `what` and `context()`.
fn wait_for(
    limit: Duration,
    what: &str,
    context: impl Fn() -> String,
    mut check: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn role(addr: SocketAddr) -> Vec<redis::Value> {
    redis::cmd("ROLE")
        .query(&mut connect(addr))
        .unwrap_or_default()
}

fn text(v: &redis::Value) -> String {
    redis::from_redis_value::<String>(v.clone()).unwrap_or_default()
}

fn int(v: &redis::Value) -> i64 {
    redis::from_redis_value::<i64>(v.clone()).unwrap_or(-1)
}

fn write_conf(dir: &Path, extra: &str) -> PathBuf {
    let conf = dir.join("redis.conf");
    std::fs::write(
        &conf,
        format!(
            "port 0\nbind 127.0.0.1\ndir {}\nsave \"\"\n{extra}",
            dir.display()
        ),
    )
    .expect("redis.conf");
    conf
}

fn fails_over(adapter: Adapter) {
    fails_over_from(adapter, false, false);
}

/// The scenario: a master (redish of `adapter`, or redis-server when `redis_master`) and
/// two redish replicas of `adapter` under three sentinels; the master is SIGKILLed (by
/// redis-py's check, writing through Sentinel, when `redis_py`).
fn fails_over_from(adapter: Adapter, redis_master: bool, redis_py: bool) {
    let Some(program) = redis_tool("redis-sentinel") else {
        return;
    };
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new("sentinel-node")).collect();
    let mut master = if redis_master {
        ChildServer::redis(dirs[0].path())
    } else {
        ChildServer::start(adapter, &write_conf(dirs[0].path(), ""))
    };
    let old = master.addr;
    let follow = format!("replicaof 127.0.0.1 {}\n", old.port());
    let replicas: Vec<(ChildServer, PathBuf)> = dirs[1..]
        .iter()
        .map(|d| {
            let conf = write_conf(d.path(), &follow);
            (ChildServer::start(adapter, &conf), conf)
        })
        .collect();
    let ports: Vec<u16> = replicas.iter().map(|(r, _)| r.addr.port()).collect();

    // Both replicas online, then writes every replica acknowledged.
    let mut con = connect(old);
    wait_for(
        Duration::from_secs(20),
        "two online replicas",
        String::new,
        || {
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query(&mut con)
                .unwrap();
            info.matches("state=online").count() == 2
        },
    );
    for i in 0..20 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    let acked: i64 = redis::cmd("WAIT").arg(2).arg(5000).query(&mut con).unwrap();
    assert_eq!(acked, 2, "WAIT 2");

    let sentinels: Vec<Sentinel> = (0..3).map(|_| Sentinel::start(&program, old)).collect();
    let logs = || {
        sentinels
            .iter()
            .map(|s| s.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    // Discovery: each sentinel lists both replicas (from the master's INFO) and the two
    // other sentinels (from their hello messages on the master).
    wait_for(Duration::from_secs(30), "discovery", logs, || {
        sentinels
            .iter()
            .all(|s| s.entries("replicas").len() == 2 && s.entries("sentinels").len() == 2)
    });

    if redis_py {
        let script = format!("{}/python/redis_py_sentinel.py", env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(PYTHON)
            .arg(script)
            .arg(master.child.id().to_string())
            .args(sentinels.iter().map(|s| s.addr.port().to_string()))
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "redis-py Sentinel check failed:\n{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            logs()
        );
        eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
    }
    master.kill();
    // Settled: every sentinel names the same replica, which says it is a master, and the
    // other replica follows it. (On a loaded machine a sentinel may briefly miss the new
    // master's PONG and fail over a second time; the group converges all the same.)
    let mut promoted = 0u16;
    wait_for(FAILOVER_LIMIT, "a settled failover", logs, || {
        let named: Vec<Option<u16>> = sentinels.iter().map(Sentinel::master_port).collect();
        let Some(Some(p)) = named.first().copied() else {
            return false;
        };
        if p == old.port() || named.iter().any(|n| *n != Some(p)) || !ports.contains(&p) {
            return false;
        }
        let at = ports.iter().position(|q| *q == p).unwrap();
        let (new_master, other) = (replicas[at].0.addr, replicas[1 - at].0.addr);
        let r = role(new_master);
        if r.first().map(text).as_deref() != Some("master") {
            return false;
        }
        let r = role(other);
        promoted = p;
        r.len() == 5
            && text(&r[0]) == "slave"
            && int(&r[2]) == i64::from(p)
            && text(&r[3]) == "connected"
    });
    let at = ports.iter().position(|p| *p == promoted).unwrap();
    let new_master = replicas[at].0.addr;
    let other = replicas[1 - at].0.addr;

    // The acknowledged writes survived, and the new master takes writes that reach the
    // other replica.
    let mut con = connect(new_master);
    for i in 0..20 {
        let v: Option<i64> = redis::cmd("GET")
            .arg(format!("k{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(v, Some(i), "k{i} on the new master");
    }
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("failover")
        .query(&mut con)
        .unwrap();
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(acked, 1, "WAIT 1 on the new master");
    let v: Option<String> = redis::cmd("GET")
        .arg("after")
        .query(&mut connect(other))
        .unwrap();
    assert_eq!(v.as_deref(), Some("failover"));

    // CONFIG REWRITE in Sentinel's transaction dropped the promoted server's replicaof;
    // the other one's file names the new master (Sentinel rewrites it after its REPLICAOF).
    let promoted_conf = std::fs::read_to_string(&replicas[at].1).unwrap();
    assert!(
        !promoted_conf.contains("replicaof"),
        "promoted server's file:\n{promoted_conf}"
    );
    let want = format!("replicaof 127.0.0.1 {promoted}");
    wait_for(
        Duration::from_secs(10),
        "the other replica's file to name the new master",
        || std::fs::read_to_string(&replicas[1 - at].1).unwrap(),
        || {
            std::fs::read_to_string(&replicas[1 - at].1)
                .unwrap()
                .lines()
                .any(|l| l == want)
        },
    );
}
