//! Persistence end to end, against both servers: acknowledged writes survive SIGKILL, AOF
//! rewrites under load lose nothing, CONFIG SET turns the AOF on at run time, and datasets
//! travel through a real redis-server and back.
//!
//! A server we can SIGKILL must be a process of its own: the tests run this very test
//! binary again with [`CHILD_ENV`] set, which makes [`child_server`] start a server
//! in-process and print its address (no dependency on other packages' binaries).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redish_core::server::{parse_args, Invocation};
use redish_tests::{connect, redis_tool, test_options, Adapter, TempDir, TestServer};

/// Set to `tokio|args…` or `async-std|args…` in a child process.
const CHILD_ENV: &str = "REDISH_TEST_CHILD_SERVER";

/// Each test below once per adapter: `tokio::bgsave_is_a_point_in_time`, `async_std::…`.
macro_rules! on_each_adapter {
    ($($name:ident),* $(,)?) => {
        mod tokio {
            $(
                #[test]
                fn $name() {
                    super::$name(redish_tests::Adapter::Tokio);
                }
            )*
        }
        mod async_std {
            $(
                #[test]
                fn $name() {
                    super::$name(redish_tests::Adapter::AsyncStd);
                }
            )*
        }
    };
}

on_each_adapter!(
    always_loses_no_acknowledged_write,
    everysec_loses_no_acknowledged_write_on_process_crash,
    appendonly_at_run_time,
    appendonly_retries_a_failed_first_rewrite,
    aof_round_trip_through_redis,
    rdb_round_trip_through_redis,
    bgsave_is_a_point_in_time,
    aof_disk_full_refuses_writes_and_loses_nothing,
    failed_bgsave_refuses_writes,
);

#[path = "persistence/disk_full.rs"]
mod disk_full;
use disk_full::{aof_disk_full_refuses_writes_and_loses_nothing, failed_bgsave_refuses_writes};

/// Not a test of its own: the body of the child processes the other tests start. It serves
/// until killed.
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
    let Ok(Invocation::Serve(parsed)) = parse_args(argv) else {
        panic!("bad child arguments: {spec}");
    };
    let mut options = test_options();
    options.settings.extend(parsed.settings);
    let server = TestServer::start(adapter, options);
    println!("listening on {}", server.addr());
    std::thread::sleep(Duration::from_secs(120));
    panic!("child server not killed after two minutes");
}

/// A server in a child process.
struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

impl ChildServer {
    fn start(adapter: Adapter, args: &[&str]) -> ChildServer {
        let name = match adapter {
            Adapter::Tokio => "tokio",
            Adapter::AsyncStd => "async-std",
        };
        let spec = std::iter::once(name)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join("|");
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
                // The test harness may have printed `test child_server ... ` first.
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

    fn kill(mut self) {
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

/// Writers append 0, 1, 2… to lists of their own (`RPUSH log:<n> i`), each remembering the
/// last push the server acknowledged, until they are told to stop or the server dies.
/// Returns, per writer, the number of acknowledged pushes.
fn write_until_killed(
    addr: SocketAddr,
    writers: usize,
    from: &[u64],
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<u64>> {
    (0..writers)
        .map(|w| {
            let stop = stop.clone();
            let mut next = from.get(w).copied().unwrap_or(0);
            std::thread::spawn(move || {
                let mut con = connect(addr);
                while !stop.load(Ordering::Relaxed) {
                    let pushed: redis::RedisResult<u64> = redis::cmd("RPUSH")
                        .arg(format!("log:{w}"))
                        .arg(next)
                        .query(&mut con);
                    match pushed {
                        Ok(_) => next += 1,
                        Err(_) => break,
                    }
                }
                next
            })
        })
        .collect()
}

/// The lists after a restart: each must start with every acknowledged push, in order, and
/// may hold at most one more (written but killed before the reply went out).
fn check_logs(addr: SocketAddr, acked: &[u64]) -> Vec<u64> {
    let mut con = connect(addr);
    acked
        .iter()
        .enumerate()
        .map(|(w, &n)| {
            let items: Vec<u64> = redis::cmd("LRANGE")
                .arg(format!("log:{w}"))
                .arg(0)
                .arg(-1)
                .query(&mut con)
                .expect("LRANGE");
            let want: Vec<u64> = (0..items.len() as u64).collect();
            assert_eq!(items, want, "log:{w} is not 0..n in order");
            let have = items.len() as u64;
            assert!(
                have >= n,
                "log:{w}: {n} pushes acknowledged, only {have} survived the crash"
            );
            assert!(have <= n + 1, "log:{w}: {have} items, {n} acknowledged");
            have
        })
        .collect()
}

/// SIGKILL at random moments under load, three times, with `fsync`; sometimes during an
/// AOF rewrite. After each restart every acknowledged write is there.
fn crash_and_recover(adapter: Adapter, fsync: &str) {
    let dir = TempDir::new("crash");
    let dir_arg = dir.path().display().to_string();
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        fsync,
        "--dir",
        dir_arg.as_str(),
    ];
    let writers = 4;
    let mut acked = vec![0u64; writers];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(fsync.len() as u32);
    for round in 0..3 {
        let server = ChildServer::start(adapter, &args);
        if round > 0 {
            acked = check_logs(server.addr, &acked);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let handles = write_until_killed(server.addr, writers, &acked, stop.clone());
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let wait = Duration::from_millis(150 + (seed >> 33) % 400);
        if round == 1 {
            // A rewrite running while the writes go on and the server dies.
            std::thread::sleep(wait / 2);
            let reply: String = redis::cmd("BGREWRITEAOF")
                .query(&mut connect(server.addr))
                .expect("BGREWRITEAOF");
            assert!(reply.starts_with("Background append only file rewriting"));
            std::thread::sleep(wait / 2);
        } else {
            std::thread::sleep(wait);
        }
        server.kill();
        stop.store(true, Ordering::Relaxed);
        acked = handles
            .into_iter()
            .map(|h| h.join().expect("writer"))
            .collect();
        assert!(acked.iter().sum::<u64>() > 0, "the writers wrote nothing");
    }
    let server = ChildServer::start(adapter, &args);
    check_logs(server.addr, &acked);
    server.kill();
    check_aof_with_redis_tool(&dir.path().join("appendonly.aof"));
}

/// redis-check-aof accepts the log, when redis-tools are installed.
fn check_aof_with_redis_tool(path: &Path) {
    let Some(tool) = redis_tool("redis-check-aof") else {
        return;
    };
    let out = Command::new(tool)
        .arg(path)
        .output()
        .expect("redis-check-aof");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("is valid"),
        "redis-check-aof rejects {}: {text}",
        path.display()
    );
}

fn always_loses_no_acknowledged_write(adapter: Adapter) {
    crash_and_recover(adapter, "always");
}

/// With `everysec` the replies wait for the write to the kernel (as Redis's do), so a
/// process crash loses nothing either; only a machine crash may lose the last second.
fn everysec_loses_no_acknowledged_write_on_process_crash(adapter: Adapter) {
    crash_and_recover(adapter, "everysec");
}

/// CONFIG SET appendonly yes on a running server: the AOF is created from the dataset by a
/// rewrite, and from then on every write is logged; a crash afterwards loses nothing.
fn appendonly_at_run_time(adapter: Adapter) {
    let dir = TempDir::new("config-set");
    let dir_arg = dir.path().display().to_string();
    let server = ChildServer::start(adapter, &["--dir", &dir_arg]);
    let mut con = connect(server.addr);
    for i in 0..100 {
        let _: () = redis::cmd("SET")
            .arg(format!("before:{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "appendonly", "yes"])
        .query(&mut con)
        .unwrap();
    for i in 0..100 {
        let _: () = redis::cmd("SET")
            .arg(format!("after:{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    wait_for_persistence(
        &mut con,
        &["aof_rewrite_in_progress:0", "aof_rewrites:1"],
        "the first rewrite to finish",
    );
    let _: () = redis::cmd("SET")
        .arg("last")
        .arg("1")
        .query(&mut con)
        .unwrap();
    // INFO reports the file as it is on disk, and the rewrite that made it.
    let path = dir.path().join("appendonly.aof");
    redish_tests::wait_until(Duration::from_secs(10), "INFO's AOF size", || {
        let on_disk = std::fs::metadata(&path).unwrap().len();
        persistence_field(&mut con, "aof_current_size") == on_disk.to_string()
    });
    let base: u64 = persistence_field(&mut con, "aof_base_size")
        .parse()
        .unwrap();
    assert!(base > 0 && base < std::fs::metadata(&path).unwrap().len());
    assert_eq!(
        persistence_field(&mut con, "aof_last_rewrite_time_sec"),
        "0"
    );
    assert_eq!(
        persistence_field(&mut con, "aof_current_rewrite_time_sec"),
        "-1"
    );
    server.kill();
    let server = ChildServer::start(adapter, &["--dir", &dir_arg, "--appendonly", "yes"]);
    let mut con = connect(server.addr);
    let n: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 201);
    let v: String = redis::cmd("GET").arg("after:99").query(&mut con).unwrap();
    assert_eq!(v, "99");
    server.kill();
    check_aof_with_redis_tool(&dir.path().join("appendonly.aof"));
}

/// CONFIG SET appendonly yes whose first rewrite fails (its temporary file can't be
/// created): the server retries on its own, as Redis does, and the file then holds every
/// write.
fn appendonly_retries_a_failed_first_rewrite(adapter: Adapter) {
    let dir = TempDir::new("config-set-retry");
    let dir_arg = dir.path().display().to_string();
    let server = ChildServer::start(adapter, &["--dir", &dir_arg]);
    let mut con = connect(server.addr);
    let _: () = redis::cmd("SET")
        .arg("before")
        .arg(1)
        .query(&mut con)
        .unwrap();
    // A directory where the rewrite's temporary file goes: creating it fails, even as root.
    let blocker = dir
        .path()
        .join(format!("temp-rewriteaof-bg-{}.aof", server.child.id()));
    std::fs::create_dir(&blocker).unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "appendonly", "yes"])
        .query(&mut con)
        .unwrap();
    wait_for_persistence(
        &mut con,
        &["aof_last_bgrewrite_status:err"],
        "the first rewrite to fail",
    );
    let failures: u32 = persistence_field(&mut con, "aof_rewrites_consecutive_failures")
        .parse()
        .unwrap();
    assert!(failures >= 1);
    let _: () = redis::cmd("SET")
        .arg("during")
        .arg(2)
        .query(&mut con)
        .unwrap();
    std::fs::remove_dir(&blocker).unwrap();
    wait_for_persistence(
        &mut con,
        &[
            "aof_rewrite_in_progress:0",
            "aof_rewrites:1",
            "aof_last_bgrewrite_status:ok",
            "aof_rewrites_consecutive_failures:0",
        ],
        "a rewrite retried without being asked",
    );
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg(3)
        .query(&mut con)
        .unwrap();
    server.kill();
    let server = ChildServer::start(adapter, &["--dir", &dir_arg, "--appendonly", "yes"]);
    let mut con = connect(server.addr);
    let values: Vec<Option<u64>> = redis::cmd("MGET")
        .arg(&["before", "during", "after"])
        .query(&mut con)
        .unwrap();
    assert_eq!(values, [Some(1), Some(2), Some(3)]);
    server.kill();
}

/// One field of INFO persistence.
fn persistence_field(con: &mut redis::Connection, name: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("INFO persistence has no {name}: {info}"))
        .to_owned()
}

/// Polls INFO persistence until it shows every line of `wants`, failing after 10 s.
fn wait_for_persistence(con: &mut redis::Connection, wants: &[&str], what: &str) {
    redish_tests::wait_until(Duration::from_secs(10), what, || {
        let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
        wants.iter().all(|w| info.contains(w))
    });
}

/// The test options with `dir` and further `settings`.
fn in_dir(dir: &Path, settings: &[(&str, &str)]) -> redish_core::server::ServerOptions {
    let mut o = test_options();
    o.settings.push(("dir".into(), dir.display().to_string()));
    o.settings
        .extend(settings.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    o
}

/// Every key of every type, read back type by type: what a round trip must preserve.
fn dump_dataset(addr: SocketAddr) -> Vec<String> {
    dump_connection(&mut connect(addr))
}

fn dump_connection(con: &mut redis::Connection) -> Vec<String> {
    let mut con = con;
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let t: String = redis::cmd("TYPE").arg(&k).query(&mut con).unwrap();
            let value = match t.as_str() {
                "string" => redis::cmd("GET").arg(&k).query::<String>(&mut con).unwrap(),
                "list" => format!(
                    "{:?}",
                    redis::cmd("LRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .query::<Vec<String>>(&mut con)
                        .unwrap()
                ),
                "hash" => {
                    let mut v: Vec<(String, String)> =
                        redis::cmd("HGETALL").arg(&k).query(&mut con).unwrap();
                    v.sort();
                    format!("{v:?}")
                }
                "set" => {
                    let mut v: Vec<String> =
                        redis::cmd("SMEMBERS").arg(&k).query(&mut con).unwrap();
                    v.sort();
                    format!("{v:?}")
                }
                "zset" => format!(
                    "{:?}",
                    redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query::<Vec<String>>(&mut con)
                        .unwrap()
                ),
                other => panic!("unexpected type {other}"),
            };
            let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut con).unwrap();
            // Expiries survive as absolute times: compare them to the second.
            let ttl = if ttl > 0 {
                format!("ttl~{}", (ttl + 30_000) / 60_000)
            } else {
                ttl.to_string()
            };
            format!("{k} {t} {value} {ttl}")
        })
        .collect()
}

fn fill_every_type(addr: SocketAddr) {
    let mut con = connect(addr);
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET")
            .arg(format!("s:{i}"))
            .arg(format!("value-{i}-{}", "x".repeat(i % 50)))
            .ignore();
        pipe.cmd("RPUSH")
            .arg(format!("l:{}", i % 7))
            .arg(i)
            .ignore();
        pipe.cmd("HSET")
            .arg(format!("h:{}", i % 5))
            .arg(format!("f{i}"))
            .arg(i * 3)
            .ignore();
        pipe.cmd("SADD")
            .arg(format!("set:{}", i % 3))
            .arg(i)
            .ignore();
        pipe.cmd("SADD").arg("words").arg(format!("w{i}")).ignore();
        pipe.cmd("ZADD")
            .arg(format!("z:{}", i % 4))
            .arg(i as f64 / 3.0)
            .arg(format!("m{i}"))
            .ignore();
    }
    pipe.cmd("RPUSH")
        .arg("biglist")
        .arg((0..1000).collect::<Vec<_>>())
        .ignore();
    pipe.cmd("ZADD")
        .arg("bigz")
        .arg(
            (0..300)
                .flat_map(|i| [i.to_string(), format!("member{i}")])
                .collect::<Vec<_>>(),
        )
        .ignore();
    pipe.cmd("SET").arg("int").arg("12345").ignore();
    pipe.cmd("SET")
        .arg("expiring")
        .arg("soon")
        .arg("EX")
        .arg(3600)
        .ignore();
    pipe.cmd("EXPIRE").arg("h:1").arg(7200).ignore();
    pipe.query::<()>(&mut con).unwrap();
}

/// redish → dump.rdb → redis-server → dump.rdb → redish: the same data at every stage.
fn rdb_round_trip_through_redis(adapter: Adapter) {
    let Some(redis_server) = redis_tool("redis-server") else {
        return;
    };
    let dir = TempDir::new("rdb-trip");
    let server = TestServer::start(adapter, in_dir(dir.path(), &[]));
    fill_every_type(server.addr());
    let original = dump_dataset(server.addr());
    let ok: String = redis::cmd("SAVE")
        .query(&mut connect(server.addr()))
        .unwrap();
    assert_eq!(ok, "OK");
    server.stop();
    if let Some(check) = redis_tool("redis-check-rdb") {
        let out = Command::new(check)
            .arg(dir.path().join("dump.rdb"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "redis-check-rdb: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // A real redis-server loads our dump and writes its own.
    let (mut redis, mut con) = start_redis(&redis_server, dir.path(), &["--appendonly", "no"]);
    assert_eq!(
        dump_connection(&mut con),
        original,
        "redis-server loaded our dump"
    );
    let loaded_by_redis = persistence_field(&mut con, "rdb_last_load_keys_loaded");
    assert_ne!(loaded_by_redis, "0");
    let ok: String = redis::cmd("SAVE").query(&mut con).unwrap();
    assert_eq!(ok, "OK");
    let _ = redis.kill();
    let _ = redis.wait();

    // And redish loads Redis's dump, and counts its keys as Redis did.
    let server = TestServer::start(adapter, in_dir(dir.path(), &[]));
    assert_eq!(dump_dataset(server.addr()), original);
    assert_eq!(
        persistence_field(&mut connect(server.addr()), "rdb_last_load_keys_loaded"),
        loaded_by_redis
    );
    server.stop();
}

/// A redis-server on a unix socket in `dir` (no TCP port), and a connection to it. The
/// caller kills and reaps the child (the lint cannot see past the return).
#[allow(clippy::zombie_processes)]
fn start_redis(program: &Path, dir: &Path, args: &[&str]) -> (Child, redis::Connection) {
    let sock = dir.join("redis.sock");
    let mut redis = Command::new(program)
        .args(["--port", "0", "--unixsocket"])
        .arg(&sock)
        .arg("--dir")
        .arg(dir)
        .args(["--dbfilename", "dump.rdb", "--save", ""])
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let url = format!("unix://{}", sock.display());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut c) = redis::Client::open(url.as_str()).unwrap().get_connection() {
            // Loading may still be going on: wait until it answers commands.
            if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                return (redis, c);
            }
        }
        if Instant::now() >= deadline {
            let _ = redis.kill();
            let _ = redis.wait();
            panic!("redis-server did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// redish's AOF → redis-server (which adopts it into its multi-part layout and rewrites it)
/// → redish (which reads that layout and writes its own file again): the same data.
fn aof_round_trip_through_redis(adapter: Adapter) {
    let Some(redis_server) = redis_tool("redis-server") else {
        return;
    };
    let dir = TempDir::new("aof-trip");
    let options = || in_dir(dir.path(), &[("appendonly", "yes")]);
    let server = TestServer::start(adapter, options());
    fill_every_type(server.addr());
    let original = dump_dataset(server.addr());
    server.stop();
    check_aof_with_redis_tool(&dir.path().join("appendonly.aof"));

    let (mut redis, mut con) = start_redis(&redis_server, dir.path(), &["--appendonly", "yes"]);
    assert_eq!(
        dump_connection(&mut con),
        original,
        "redis-server loaded our AOF"
    );
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("written-by")
        .arg("redis")
        .query(&mut con)
        .unwrap();
    wait_for_persistence(
        &mut con,
        &["aof_rewrite_in_progress:0", "aof_rewrite_scheduled:0"],
        "redis-server's rewrite to finish",
    );
    let _ = redis.kill();
    let _ = redis.wait();
    assert!(
        dir.path()
            .join("appendonlydir/appendonly.aof.manifest")
            .exists(),
        "redis-server wrote its multi-part AOF"
    );

    // redish writes its own single file from Redis's before it serves, so a write it
    // acknowledges then survives a crash.
    let dir_arg = dir.path().to_string_lossy().into_owned();
    let args = [
        "--dir",
        &dir_arg,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let server = ChildServer::start(adapter, &args);
    assert!(dir.path().join("appendonly.aof").exists());
    let mut con = connect(server.addr);
    let by: String = redis::cmd("GET").arg("written-by").query(&mut con).unwrap();
    assert_eq!(by, "redis");
    let _: () = redis::cmd("DEL").arg("written-by").query(&mut con).unwrap();
    assert_eq!(dump_dataset(server.addr), original);
    server.kill();
    let server = TestServer::start(adapter, options());
    assert_eq!(dump_dataset(server.addr()), original);
    server.stop();
}

/// BGSAVE while writes go on: the dump is the dataset of the moment BGSAVE ran.
fn bgsave_is_a_point_in_time(adapter: Adapter) {
    let dir = TempDir::new("bgsave");
    let server = TestServer::start(adapter, in_dir(dir.path(), &[]));
    let mut con = connect(server.addr());
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("SET").arg(format!("k:{i}")).arg("before").ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    let reply: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    assert_eq!(reply, "Background saving started");
    // Overwrite and delete while the save runs.
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        if i % 2 == 0 {
            pipe.cmd("SET").arg(format!("k:{i}")).arg("after").ignore();
        } else {
            pipe.cmd("DEL").arg(format!("k:{i}")).ignore();
        }
        pipe.cmd("SET")
            .arg(format!("new:{i}"))
            .arg("after")
            .ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    wait_for_persistence(&mut con, &["rdb_bgsave_in_progress:0"], "BGSAVE to finish");
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut con)
        .unwrap();
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    // 20 000 small keys take well under a second.
    assert!(info.contains("rdb_last_bgsave_time_sec:0"), "{info}");
    assert!(info.contains("rdb_current_bgsave_time_sec:-1"), "{info}");
    server.stop();

    let server = TestServer::start(adapter, in_dir(dir.path(), &[]));
    let mut con = connect(server.addr());
    let n: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(
        n, 20_000,
        "the dump holds the keys of the BGSAVE moment only"
    );
    for i in [0, 1, 9_999, 19_998, 19_999] {
        let v: String = redis::cmd("GET")
            .arg(format!("k:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(v, "before", "k:{i}");
    }
    server.stop();
}
