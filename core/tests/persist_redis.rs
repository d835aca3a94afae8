//! The persistence formats against the real Redis 7.0 tools, both ways: files redish writes
//! must satisfy `redis-check-rdb` / `redis-check-aof` and load into `redis-server` with the
//! same data; files `redis-server` writes must load into redish with the same data.
//!
//! Each test prints `SKIP: …` and passes when a tool is missing, unless the environment
//! sets `REDISH_REQUIRE_REDIS=1` (CI on a machine with Redis): then a missing tool fails.

// Tests may read the clock and the environment; the library may not.
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use redish_core::db::Value;
use redish_core::persist::aof::{self, AofWriter};
use redish_core::persist::rdb;
use redish_core::resp::{encode_command, Decoder, Frame};
use redish_core::Store;

// --- Finding the tools ---------------------------------------------------------------------

/// The path of Redis tool `name`, or `None` after printing why the test is skipped. Panics
/// instead when `REDISH_REQUIRE_REDIS=1`.
fn redis_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("REDISH_REQUIRE_REDIS").as_deref() != Ok("1"),
            "{name} not found in PATH, and REDISH_REQUIRE_REDIS=1"
        );
        println!("SKIP: {name} not found in PATH");
    }
    found
}

/// All the named tools, or `None` (skip).
fn redis_tools<const N: usize>(names: [&str; N]) -> Option<[PathBuf; N]> {
    let mut out = Vec::with_capacity(N);
    for name in names {
        out.push(redis_tool(name)?);
    }
    out.try_into().ok()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

// --- A scratch directory and a redis-server in it ------------------------------------------

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("redish-persist-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct RedisServer {
    child: Child,
    conn: UnixStream,
    buf: BytesMut,
    decoder: Decoder,
    log: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` on a Unix socket in `dir`, no TCP, no automatic saves, plus
    /// `extra` arguments; waits until it accepts connections (it has loaded its data then).
    fn start(server: &Path, dir: &Path, extra: &[&str]) -> RedisServer {
        let sock = dir.join("s.sock");
        let log = dir.join("redis.log");
        let mut args: Vec<String> = [
            "--port",
            "0",
            "--unixsocket",
            sock.to_str().unwrap(),
            "--dir",
            dir.to_str().unwrap(),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "",
            "--logfile",
            log.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut child = Command::new(server)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        let conn = loop {
            if let Ok(conn) = UnixStream::connect(&sock) {
                break conn;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "redis-server exited ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut server = RedisServer {
            child,
            conn,
            buf: BytesMut::new(),
            decoder: Decoder::default(),
            log,
        };
        // A connection is accepted while the data still loads (commands get `-LOADING`);
        // PING answers PONG after.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let reply = server.cmd(&["PING"]);
            if reply == Frame::simple("PONG") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server not ready: PING -> {reply:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Stops the server the orderly way and waits until it has exited: SHUTDOWN writes what
    /// is still in Redis's AOF buffer and fsyncs the AOF (with `appendfsync everysec`, Redis
    /// postpones writing that buffer while a background fsync runs, so a killed server can
    /// lose commands it has already answered). NOSAVE: no final RDB snapshot.
    fn shutdown(mut self) {
        let mut out = BytesMut::new();
        encode_command(&["SHUTDOWN", "NOSAVE"], &mut out);
        self.conn.write_all(&out).expect("write to redis-server");
        // On success there is no reply: the server closes the connection as it exits.
        let mut rest = Vec::new();
        match self.conn.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("no answer to SHUTDOWN: {e}"),
        }
        assert!(
            rest.is_empty(),
            "SHUTDOWN -> {:?}",
            String::from_utf8_lossy(&rest)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for redis-server") {
                break status;
            }
            assert!(Instant::now() < deadline, "redis-server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "redis-server exited with {status}");
    }

    fn cmd<T: AsRef<[u8]>>(&mut self, args: &[T]) -> Frame {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        self.conn.write_all(&out).expect("write to redis-server");
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf).expect("valid RESP") {
                return frame;
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = self.conn.read(&mut chunk).expect("read from redis-server");
            assert!(n > 0, "redis-server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn ok<T: AsRef<[u8]>>(&mut self, args: &[T]) {
        let reply = self.cmd(args);
        assert!(
            matches!(&reply, Frame::Simple(_) | Frame::Integer(_)),
            "{:?} -> {reply:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
                .collect::<Vec<_>>()
        );
    }

    fn int<T: AsRef<[u8]>>(&mut self, args: &[T]) -> i64 {
        match self.cmd(args) {
            Frame::Integer(n) => n,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    /// Every key of every database with its value and expiry, sorted: what the server holds.
    fn dataset(&mut self) -> Vec<Item> {
        let mut out = Vec::new();
        for db in 0..16usize {
            self.ok(&["SELECT", &db.to_string()]);
            let Frame::Array(keys) = self.cmd(&["KEYS", "*"]) else {
                panic!("KEYS reply")
            };
            for key in keys {
                let Frame::Bulk(key) = key else {
                    panic!("key {key:?}")
                };
                let Frame::Bulk(value) = self.cmd(&[&b"GET"[..], &key]) else {
                    panic!("GET {key:?}")
                };
                let at = self.int(&[&b"PEXPIRETIME"[..], &key]);
                if at >= 0 {
                    assert!(self.int(&[&b"PTTL"[..], &key]) > 0);
                }
                out.push(Item {
                    db,
                    key: key.to_vec(),
                    value: value.to_vec(),
                    expire_at_ms: u64::try_from(at).ok(),
                });
            }
        }
        self.ok(&["SELECT", "0"]);
        out.sort();
        out
    }

    /// The `field:value` lines of one INFO `section` reply.
    fn info(&mut self, section: &str) -> Vec<(String, String)> {
        let Frame::Bulk(info) = self.cmd(&["INFO", section]) else {
            panic!("INFO reply")
        };
        String::from_utf8_lossy(&info)
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect()
    }

    /// Waits (bounded) until the AOF is quiet: no rewrite running or scheduled, nothing
    /// loading; then requires the last rewrite to have succeeded. Only then does the
    /// manifest name the files that hold the data.
    fn wait_aof_rewritten(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = self.info("persistence");
            let field = |name: &str| {
                info.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or_else(|| panic!("no {name} in INFO persistence"))
            };
            if field("aof_rewrite_in_progress") == "0"
                && field("aof_rewrite_scheduled") == "0"
                && field("loading") == "0"
            {
                assert_eq!(field("aof_last_bgrewrite_status"), "ok", "{info:?}");
                assert_eq!(field("aof_enabled"), "1", "{info:?}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the AOF rewrite did not finish: {info:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "redis-server log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

// --- The data both sides hold --------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    db: usize,
    key: Vec<u8>,
    value: Vec<u8>,
    expire_at_ms: Option<u64>,
}

/// Strings of every shape the RDB encodes differently: empty, short, integers of each width
/// and some that only look like integers, binary, long compressible and incompressible ones
/// (past the 14-bit length form), with and without expiry, in several databases.
fn sample_items(now: u64) -> Vec<Item> {
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect()
    };
    let s = |x: &str| x.as_bytes().to_vec();
    let mut items = Vec::new();
    let mut add = |db: usize, key: Vec<u8>, value: Vec<u8>, expire_at_ms: Option<u64>| {
        items.push(Item {
            db,
            key,
            value,
            expire_at_ms,
        })
    };
    add(0, s("short"), s("hello"), None);
    add(0, s("empty"), s(""), None);
    for (i, n) in [
        "0",
        "42",
        "-7",
        "127",
        "-128",
        "1000",
        "-32768",
        "70000",
        "-100000",
        "2147483647",
        "-2147483648",
        "2147483648",
        "9223372036854775807",
        "-9223372036854775808",
        "007",
        "-0",
        "+5",
        "1e3",
        " 1",
    ]
    .iter()
    .enumerate()
    {
        add(0, s(&format!("num:{i}")), s(n), None);
    }
    add(0, s("binary"), (0..=255u8).collect(), None);
    add(0, s("exactly20"), vec![b'x'; 20], None);
    add(0, s("just21"), vec![b'y'; 21], None);
    add(0, s("compressible"), s(&"abc".repeat(1000)), None);
    add(0, s("big-compressible"), s(&"redish ".repeat(20_000)), None);
    add(0, s("incompressible"), noise(500), None);
    add(0, s("big-incompressible"), noise(70_000), None);
    add(0, s("ttl-soon"), s("v"), Some(now + 60_000));
    add(0, s("ttl-far"), s("123"), Some(now + 400 * 86_400_000));
    add(0, noise(16), s("binary key"), None);
    for i in 0..500 {
        let expire = (i % 3 == 0).then_some(now + 3_600_000 + i);
        add(1, s(&format!("k:{i}")), s(&format!("v:{i}")), expire);
    }
    add(7, s("lonely"), s(&"x".repeat(100)), Some(now + 90_000));
    add(15, s("last db"), s("15"), None);
    items.sort();
    items
}

/// `got == want`, or a failure that names the items on one side only.
fn assert_same_items(got: &[Item], want: &[Item], what: &str) {
    if got == want {
        return;
    }
    let show = |i: &Item| {
        format!(
            "db {} key {:?} ({} bytes, expires {:?})",
            i.db,
            String::from_utf8_lossy(&i.key),
            i.value.len(),
            i.expire_at_ms
        )
    };
    let only = |a: &[Item], b: &[Item]| -> Vec<String> {
        a.iter()
            .filter(|i| !b.contains(i))
            .map(show)
            .take(20)
            .collect()
    };
    panic!(
        "{what}: got {} items, expected {}\nonly got: {:#?}\nonly expected: {:#?}",
        got.len(),
        want.len(),
        only(got, want),
        only(want, got)
    );
}

fn store_of(items: &[Item], now: u64) -> Store {
    let mut store = Store::default();
    for it in items {
        store
            .db(it.db)
            .insert(&it.key, Value::str(&it.value), it.expire_at_ms, now);
    }
    store
}

fn items_of(store: &Store, now: u64) -> Vec<Item> {
    let mut out: Vec<Item> = store
        .dbs()
        .iter()
        .enumerate()
        .flat_map(|(db, d)| {
            d.entries(now).map(move |(key, value, at)| {
                #[allow(unreachable_patterns)]
                let value = match value {
                    Value::Str(v) => v.to_vec(),
                    other => panic!("not a string: {other:?}"),
                };
                Item {
                    db,
                    key: key.to_vec(),
                    value,
                    expire_at_ms: at,
                }
            })
        })
        .collect();
    out.sort();
    out
}

fn fill(server: &mut RedisServer, items: &[Item]) {
    for it in items {
        server.ok(&["SELECT", &it.db.to_string()]);
        let mut args: Vec<Vec<u8>> = vec![b"SET".to_vec(), it.key.clone(), it.value.clone()];
        if let Some(at) = it.expire_at_ms {
            args.push(b"PXAT".to_vec());
            args.push(at.to_string().into_bytes());
        }
        server.ok(&args);
    }
    server.ok(&["SELECT", "0"]);
}

fn run(tool: &Path, args: &[&Path]) -> (bool, String) {
    let out = Command::new(tool).args(args).output().expect("run tool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

// --- RDB -----------------------------------------------------------------------------------

#[test]
fn rdb_written_by_redish_loads_into_redis() {
    let Some([server, check]) = redis_tools(["redis-server", "redis-check-rdb"]) else {
        return;
    };
    let dir = TempDir::new("rdb-out");
    let now = now_ms();
    let items = sample_items(now);
    let mut store = store_of(&items, now);
    // An expired key is left out of the file.
    store
        .db(2)
        .insert(b"expired", Value::str(b"x"), Some(now - 1), now);
    let bytes = rdb::to_vec(&store, now);
    std::fs::write(dir.path("dump.rdb"), &bytes).unwrap();

    let (ok, text) = run(&check, &[&dir.path("dump.rdb")]);
    assert!(ok && text.contains("RDB looks OK"), "{text}");
    assert!(text.contains("Checksum OK"), "{text}");
    assert!(
        text.contains(&format!("{} keys read", items.len())),
        "{text}"
    );

    let mut redis = RedisServer::start(&server, &dir.0, &[]);
    redis.ok(&["SELECT", "1"]);
    assert_eq!(
        redis.int(&["DBSIZE"]),
        items.iter().filter(|i| i.db == 1).count() as i64
    );
    assert_eq!(redis.dataset(), items);
}

#[test]
fn rdb_written_by_redis_loads_into_redish() {
    let Some([server]) = redis_tools(["redis-server"]) else {
        return;
    };
    let dir = TempDir::new("rdb-in");
    let now = now_ms();
    let items = sample_items(now);
    let mut redis = RedisServer::start(&server, &dir.0, &[]);
    fill(&mut redis, &items);
    // A key that will have expired by the time redish loads the file.
    redis.ok(&["SET", "brief", "x", "PX", "1"]);
    redis.ok(&["SAVE"]);
    std::thread::sleep(Duration::from_millis(5));
    let bytes = std::fs::read(dir.path("dump.rdb")).unwrap();

    let load_now = now_ms();
    let mut store = Store::default();
    let summary = rdb::load_into(&mut store, &bytes, load_now).unwrap();
    assert_eq!(summary.len, bytes.len());
    assert_eq!((summary.loaded, summary.expired), (items.len(), 1));
    assert_eq!(items_of(&store, load_now), items);

    let loaded = rdb::load(&bytes, load_now).unwrap();
    let aux = |name: &str| {
        loaded
            .aux
            .iter()
            .find(|(n, _)| **n == *name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(aux("redis-ver").as_deref(), Some("7.0.15"));
    assert_eq!(aux("redis-bits").as_deref(), Some("64"));

    // And what redish writes back is the same data again.
    let again = rdb::to_vec(&store, load_now);
    let mut back = Store::default();
    rdb::load_into(&mut back, &again, load_now).unwrap();
    assert_eq!(items_of(&back, load_now), items);
}

// --- AOF -----------------------------------------------------------------------------------

/// What `redis-check-aof` says: valid or not, and its `ok_up_to`.
fn check_aof(tool: &Path, file: &Path) -> (bool, usize, String) {
    let (ok, text) = run(tool, &[file]);
    let ok_up_to = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ok_up_to="))
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no ok_up_to in: {text}"));
    (ok && text.contains("is valid"), ok_up_to, text)
}

/// A log written the way the adapters will: a rewrite of `items` as the base, then a few
/// commands and a transaction appended by an `AofWriter`. Returns the bytes and the data
/// they rebuild.
fn sample_log(now: u64) -> (Vec<u8>, Vec<Item>) {
    let mut items = sample_items(now);
    let mut bytes = aof::rewrite(&store_of(&items, now), now);
    let mut log = AofWriter::new();
    log.append(3, &["SET", "appended", "1"]);
    log.append(0, &["DEL", "short"]);
    log.begin_transaction(0);
    log.append(0, &["SET", "in-tx", "a b c"]);
    log.append(
        5,
        &[
            "SET",
            "tx-other-db",
            "2",
            "PXAT",
            &(now + 50_000).to_string(),
        ],
    );
    log.end_transaction();
    bytes.extend_from_slice(log.poll_transmit());
    items.retain(|i| !(i.db == 0 && i.key == b"short"));
    for (db, key, value, at) in [
        (3, "appended", "1", None),
        (0, "in-tx", "a b c", None),
        (5, "tx-other-db", "2", Some(now + 50_000)),
    ] {
        items.push(Item {
            db,
            key: key.into(),
            value: value.into(),
            expire_at_ms: at,
        });
    }
    items.sort();
    (bytes, items)
}

#[test]
fn aof_written_by_redish_is_valid_for_redis() {
    let Some([server, check]) = redis_tools(["redis-server", "redis-check-aof"]) else {
        return;
    };
    let dir = TempDir::new("aof-out");
    let now = now_ms();
    let (bytes, items) = sample_log(now);
    let file = dir.path("appendonly.aof");
    std::fs::write(&file, &bytes).unwrap();
    let (valid, ok_up_to, text) = check_aof(&check, &file);
    assert!(valid, "{text}");
    assert_eq!(ok_up_to, bytes.len());

    // Our replay and Redis's agree.
    let mut store = Store::default();
    redish_core::cmd::replay_aof(&mut store, &aof::load(&bytes).unwrap(), now).unwrap();
    assert_eq!(items_of(&store, now), items);
    // Redis 7 takes a lone appendonly.aof as the base of its multi-part AOF.
    let mut redis = RedisServer::start(&server, &dir.0, &["--appendonly", "yes"]);
    assert_eq!(redis.dataset(), items);
}

#[test]
fn aof_truncation_agrees_with_redis_check_aof() {
    let Some([check]) = redis_tools(["redis-check-aof"]) else {
        return;
    };
    let dir = TempDir::new("aof-cut");
    let now = now_ms();
    let (bytes, _) = sample_log(now);
    let file = dir.path("cut.aof");
    // Cuts inside the base, in the appended commands, inside the transaction, at its end.
    let tail = bytes.len() - 200;
    let mut cuts: Vec<usize> = (0..20).map(|i| i * bytes.len() / 20 + 7).collect();
    cuts.extend((tail..bytes.len()).step_by(9));
    cuts.push(bytes.len() - 1);
    for cut in cuts {
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let (valid, ok_up_to, text) = check_aof(&check, &file);
        let loaded = aof::load(&bytes[..cut]).unwrap();
        assert_eq!(
            (loaded.truncated, loaded.valid_len),
            (!valid, ok_up_to),
            "cut at {cut}: {text}"
        );
    }
}

/// Reads Redis 7's manifest: the base file, then the incremental ones, in order.
fn manifest_files(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(dir.join("appendonly.aof.manifest")).unwrap();
    let mut base = Vec::new();
    let mut incr = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let field = |k: &str| {
            words
                .iter()
                .position(|w| *w == k)
                .map(|i| words[i + 1].to_string())
        };
        let (Some(name), Some(kind)) = (field("file"), field("type")) else {
            continue;
        };
        match kind.as_str() {
            "b" => base.push(dir.join(name)),
            "i" => incr.push(dir.join(name)),
            _ => {}
        }
    }
    base.into_iter().chain(incr).collect()
}

#[test]
fn aof_written_by_redis_replays_in_redish() {
    let Some([server]) = redis_tools(["redis-server"]) else {
        return;
    };
    for preamble in ["yes", "no"] {
        let dir = TempDir::new("aof-in");
        // No automatic rewrite: the only one is the test's, so the manifest read below is
        // the one it left.
        let mut redis = RedisServer::start(
            &server,
            &dir.0,
            &[
                "--appendonly",
                "yes",
                "--aof-use-rdb-preamble",
                preamble,
                "--auto-aof-rewrite-percentage",
                "0",
            ],
        );
        let now = now_ms();
        let items = sample_items(now);
        fill(&mut redis, &items[..items.len() / 2]);
        assert_eq!(
            redis.cmd(&["BGREWRITEAOF"]),
            Frame::simple("Background append only file rewriting started")
        );
        redis.wait_aof_rewritten();
        fill(&mut redis, &items[items.len() / 2..]);
        // Commands Redis logs in their propagated form: SET EX as SET PXAT, EXPIRE as
        // PEXPIREAT, INCR as is, a transaction in MULTI/EXEC.
        for cmd in [
            &["SELECT", "4"][..],
            &["SET", "counter", "10", "EX", "1000"],
            &["INCR", "counter"],
            &["EXPIRE", "counter", "2000"],
            &["MULTI"],
            &["SET", "a", "1"],
            &["INCRBY", "a", "41"],
            &["DEL", "nothing"],
            &["SELECT", "0"],
        ] {
            redis.cmd(cmd);
        }
        let reply = redis.cmd(&["EXEC"]);
        assert!(matches!(reply, Frame::Array(_)), "{reply:?}");
        redis.ok(&["SELECT", "0"]);
        let want = redis.dataset();
        // The files are read once the server has flushed them and exited.
        redis.shutdown();

        let now = now_ms();
        let aof_dir = dir.path("appendonlydir");
        let files = manifest_files(&aof_dir);
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(
            files[0].extension().unwrap(),
            if preamble == "yes" { "rdb" } else { "aof" }
        );
        let mut store = Store::default();
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            let loaded = aof::load(&bytes).unwrap();
            assert!(!loaded.truncated, "{file:?}");
            redish_core::cmd::replay_aof(&mut store, &loaded, now)
                .unwrap_or_else(|e| panic!("{file:?}: {e}"));
        }
        assert_same_items(
            &items_of(&store, now),
            &want,
            &format!("aof-use-rdb-preamble {preamble}"),
        );
    }
}

#[test]
fn arguments_survive_as_bytes() {
    // Not a Redis test: a sanity check of the helpers above, runnable anywhere.
    let now = 1_700_000_000_000;
    let items = sample_items(now);
    let store = store_of(&items, now);
    assert_eq!(items_of(&store, now), items);
    let b: Bytes = Bytes::from_static(b"x");
    assert_eq!(&b[..], b"x");
}
