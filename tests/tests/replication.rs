//! Replication end to end, over loopback: redis-server as a replica of redish, redish as a
//! replica of redis-server, redish of redish; partial resync after a killed link (INFO's
//! `sync_partial_ok` moves, `sync_full` does not); WAIT; `min-replicas-to-write`;
//! `-READONLY`; promotion with REPLICAOF NO ONE and `+CONTINUE` under the old id.
//!
//! Both sides hold the same data when every key of every type (with TTLs), read back,
//! compares equal once the replica's offset reached the master's.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redish_tests::{
    connect, redis_tool, test_options, wait_until, Adapter, Raw, TempDir, TestServer,
};

const SYNC_LIMIT: Duration = Duration::from_secs(30);

/// A redis-server on a TCP port of its own (replication needs TCP), killed when dropped.
struct Redis {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Redis {
    fn start(program: &std::path::Path, args: &[&str]) -> Redis {
        let dir = TempDir::new("repl-redis");
        // An OS-chosen port, freed for redis-server to take.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--save", "", "--appendonly", "no"])
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn info(addr: SocketAddr, section: &str) -> String {
    redis::cmd("INFO")
        .arg(section)
        .query(&mut connect(addr))
        .unwrap()
}

fn field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_owned())
}

fn stat(addr: SocketAddr, name: &str) -> u64 {
    field(&info(addr, "stats"), name).unwrap().parse().unwrap()
}

/// Waits until `replica`'s link is up and it applied everything `master` streamed so far.
fn wait_synced(master: SocketAddr, replica: SocketAddr) {
    wait_until(SYNC_LIMIT, "the replica to catch up", || {
        let r = info(replica, "replication");
        let m = info(master, "replication");
        field(&r, "master_link_status").as_deref() == Some("up")
            && field(&r, "slave_repl_offset") == field(&m, "master_repl_offset")
    });
}

fn fill_every_type(addr: SocketAddr, tag: &str, n: usize) {
    let mut con = connect(addr);
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("SET")
            .arg(format!("{tag}s:{i}"))
            .arg(format!("v{i}-{}", "x".repeat(i % 40)))
            .ignore();
        pipe.cmd("RPUSH")
            .arg(format!("{tag}l:{}", i % 7))
            .arg(i)
            .ignore();
        pipe.cmd("HSET")
            .arg(format!("{tag}h:{}", i % 5))
            .arg(format!("f{i}"))
            .arg(i * 3)
            .ignore();
        pipe.cmd("SADD")
            .arg(format!("{tag}set:{}", i % 3))
            .arg(i)
            .ignore();
        pipe.cmd("ZADD")
            .arg(format!("{tag}z:{}", i % 4))
            .arg(i as f64 / 3.0)
            .arg(format!("m{i}"))
            .ignore();
        pipe.cmd("XADD")
            .arg(format!("{tag}x:{}", i % 2))
            .arg("*")
            .arg("f")
            .arg(i)
            .ignore();
    }
    pipe.cmd("SET")
        .arg(format!("{tag}ttl"))
        .arg("v")
        .arg("EX")
        .arg(3600)
        .ignore();
    pipe.cmd("EXPIRE")
        .arg(format!("{tag}h:1"))
        .arg(7200)
        .ignore();
    pipe.cmd("INCRBYFLOAT")
        .arg(format!("{tag}float"))
        .arg("1.5")
        .ignore();
    pipe.cmd("SELECT").arg(2).ignore();
    pipe.cmd("SET").arg(format!("{tag}db2")).arg("two").ignore();
    pipe.cmd("SELECT").arg(0).ignore();
    pipe.query::<()>(&mut con).unwrap();
    // A script's effects (MULTI/EXEC on the stream) and a transaction.
    let _: () = redis::cmd("EVAL")
        .arg("redis.call('set', KEYS[1], 'a'); redis.call('append', KEYS[1], 'b')")
        .arg(1)
        .arg(format!("{tag}script"))
        .query(&mut con)
        .unwrap();
    let _: () = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg(format!("{tag}tx"))
        .cmd("INCR")
        .arg(format!("{tag}tx"))
        .query(&mut con)
        .unwrap();
}

/// Every key of databases 0 and 2, by reads: name, type, value, TTL to the minute.
fn dump(addr: SocketAddr) -> Vec<String> {
    let mut con = connect(addr);
    let mut all = Vec::new();
    for db in [0, 2] {
        let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
        keys.sort();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(&mut con).unwrap();
            let q = |c: &mut redis::Connection, cmd: &str, args: &[&str]| -> Vec<String> {
                redis::cmd(cmd).arg(&k).arg(args).query(c).unwrap()
            };
            let value = match t.as_str() {
                "string" => vec![redis::cmd("GET").arg(&k).query::<String>(&mut con).unwrap()],
                "list" => q(&mut con, "LRANGE", &["0", "-1"]),
                "hash" => {
                    let mut v = q(&mut con, "HGETALL", &[]);
                    let mut pairs: Vec<String> = v.chunks(2).map(|p| p.join("=")).collect();
                    pairs.sort();
                    v = pairs;
                    v
                }
                "set" => {
                    let mut v = q(&mut con, "SMEMBERS", &[]);
                    v.sort();
                    v
                }
                "zset" => q(&mut con, "ZRANGE", &["0", "-1", "WITHSCORES"]),
                "stream" => {
                    let v: redis::Value = redis::cmd("XRANGE")
                        .arg(&k)
                        .arg("-")
                        .arg("+")
                        .query(&mut con)
                        .unwrap();
                    vec![format!("{v:?}")]
                }
                other => panic!("unexpected type {other}"),
            };
            let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut con).unwrap();
            let ttl = if ttl > 0 {
                (ttl + 30_000) / 60_000
            } else {
                ttl
            };
            all.push(format!("{db} {k} {t} {value:?} {ttl}"));
        }
    }
    all
}

/// Writes while the replica syncs, from another thread.
fn write_during(addr: SocketAddr) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut con = connect(addr);
        for i in 0..300 {
            let _: () = redis::cmd("SET")
                .arg(format!("during:{i}"))
                .arg(i)
                .query(&mut con)
                .unwrap();
            let _: i64 = redis::cmd("LPUSH")
                .arg("during:list")
                .arg(i)
                .query(&mut con)
                .unwrap();
        }
    })
}

fn replicaof(replica: SocketAddr, master: SocketAddr) {
    let ok: String = redis::cmd("REPLICAOF")
        .arg(master.ip().to_string())
        .arg(master.port())
        .query(&mut connect(replica))
        .unwrap();
    assert_eq!(ok, "OK");
}

/// Kills the master's replica connections; the replica comes back with a partial resync.
fn kill_link_and_continue(master: SocketAddr, replica: SocketAddr) {
    let full = stat(master, "sync_full");
    let partial = stat(master, "sync_partial_ok");
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut connect(master))
        .unwrap();
    assert_eq!(killed, 1);
    fill_every_type(master, "after-kill:", 20);
    wait_until(SYNC_LIMIT, "a partial resync", || {
        stat(master, "sync_partial_ok") > partial
    });
    wait_synced(master, replica);
    assert_eq!(
        stat(master, "sync_full"),
        full,
        "no full resync after the kill"
    );
    assert_eq!(dump(master), dump(replica));
}

fn ours(adapter: Adapter, extra: &[(&str, &str)]) -> TestServer {
    let mut options = test_options();
    for (k, v) in extra {
        options.settings.push((k.to_string(), v.to_string()));
    }
    TestServer::start(adapter, options)
}

/// (a) redis-server as the replica of a redish master.
fn redis_replica_of_redish(adapter: Adapter) {
    let Some(program) = redis_tool("redis-server") else {
        return;
    };
    let master = ours(adapter, &[]);
    fill_every_type(master.addr(), "", 500);
    let writer = write_during(master.addr());
    let m = master.addr();
    let replica = Redis::start(
        &program,
        &["--replicaof", &m.ip().to_string(), &m.port().to_string()],
    );
    writer.join().unwrap();
    fill_every_type(m, "late:", 50);
    wait_synced(m, replica.addr);
    assert_eq!(dump(m), dump(replica.addr));
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut connect(m)).unwrap();
    assert_eq!(role[0], redis::Value::BulkString(b"master".to_vec()));
    let info = info(m, "replication");
    assert_eq!(field(&info, "connected_slaves").as_deref(), Some("1"));
    let slave0 = field(&info, "slave0").unwrap();
    assert!(
        slave0.contains(&format!("port={},state=online", replica.addr.port())),
        "{slave0}"
    );
    kill_link_and_continue(m, replica.addr);
}

/// (b) redish as the replica of a redis-server master.
fn redish_replica_of_redis(adapter: Adapter) {
    let Some(program) = redis_tool("redis-server") else {
        return;
    };
    // Redis 7.0 defaults to a diskless sync (`$EOF:` format); both forms are tested.
    for diskless in ["yes", "no"] {
        let master = Redis::start(
            &program,
            &[
                "--repl-diskless-sync",
                diskless,
                "--repl-diskless-sync-delay",
                "0",
            ],
        );
        fill_every_type(master.addr, "", 500);
        let replica = ours(adapter, &[]);
        let writer = write_during(master.addr);
        replicaof(replica.addr(), master.addr);
        writer.join().unwrap();
        fill_every_type(master.addr, "late:", 50);
        wait_synced(master.addr, replica.addr());
        assert_eq!(
            dump(master.addr),
            dump(replica.addr()),
            "diskless {diskless}"
        );
        // (f) a replica refuses writes.
        let mut raw = Raw::connect(replica.addr());
        raw.send(b"SET k v\r\nGET k\r\n");
        raw.expect(b"-READONLY You can't write against a read only replica.\r\n$-1\r\n");
        let role: Vec<redis::Value> = redis::cmd("ROLE")
            .query(&mut connect(replica.addr()))
            .unwrap();
        assert_eq!(role[0], redis::Value::BulkString(b"slave".to_vec()));
        assert_eq!(role[3], redis::Value::BulkString(b"connected".to_vec()));
        kill_link_and_continue(master.addr, replica.addr());
    }
}

/// (c) redish replica of a redish master (of the other adapter), then (e) WAIT and
/// `min-replicas-to-write`, then a promotion.
fn redish_replica_of_redish(master_adapter: Adapter, replica_adapter: Adapter) {
    let master = ours(master_adapter, &[]);
    let m = master.addr();
    fill_every_type(m, "", 300);
    let replica = ours(
        replica_adapter,
        &[("replicaof", &format!("{} {}", m.ip(), m.port()))],
    );
    let r = replica.addr();
    fill_every_type(m, "late:", 30);
    wait_synced(m, r);
    assert_eq!(dump(m), dump(r));
    kill_link_and_continue(m, r);

    // WAIT counts the replicas that acknowledged every write before it.
    let mut con = connect(m);
    let _: () = redis::cmd("SET").arg("w").arg(1).query(&mut con).unwrap();
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(acked, 1);
    let started = Instant::now();
    let acked: i64 = redis::cmd("WAIT").arg(2).arg(200).query(&mut con).unwrap();
    assert_eq!(acked, 1, "only one replica exists");
    assert!(started.elapsed() >= Duration::from_millis(190));

    // min-replicas-to-write: writes go while the replica is there, not once it is gone.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("min-replicas-to-write")
        .arg(1)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("guarded")
        .arg(1)
        .query(&mut con)
        .unwrap();
    // The replica stops following (no one) and its link leaves the master.
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut connect(r))
        .unwrap();
    wait_until(SYNC_LIMIT, "the master to lose its replica", || {
        field(&info(m, "replication"), "connected_slaves").as_deref() == Some("0")
    });
    let mut raw = Raw::connect(m);
    raw.send(b"SET guarded 2\r\nGET guarded\r\n");
    raw.expect(b"-NOREPLICAS Not enough good replicas to write.\r\n$1\r\n1\r\n");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("min-replicas-to-write")
        .arg(0)
        .query(&mut con)
        .unwrap();

    // The promoted replica kept the history under replid2: the old master, now its
    // replica, continues from it without a full sync.
    let promoted = info(r, "replication");
    assert_eq!(field(&promoted, "role").as_deref(), Some("master"));
    assert_eq!(
        field(&promoted, "master_replid2"),
        field(&info(m, "replication"), "master_replid")
    );
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap_or(());
    let _: () = redis::cmd("SET")
        .arg("on-promoted")
        .arg(1)
        .query(&mut connect(r))
        .unwrap();
    // The old master diverged (FLUSHALL above): it must sync in full.
    replicaof(m, r);
    wait_synced(r, m);
    assert_eq!(dump(m), dump(r));
    assert_eq!(stat(r, "sync_full"), 1);
}

/// `masterauth` / `masteruser`: the handshake authenticates before REPLCONF and PSYNC.
fn redish_replica_authenticates(adapter: Adapter) {
    let Some(program) = redis_tool("redis-server") else {
        return;
    };
    let master = Redis::start(&program, &["--requirepass", "secret"]);
    let url = format!("redis://:secret@{}/", master.addr);
    let mut con = redish_tests::connect_url(&url);
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "repl", "on", ">pw", "+@all", "~*", "&*"])
        .query(&mut con)
        .unwrap();
    for (user, pass) in [(None, "secret"), (Some("repl"), "pw")] {
        let mut settings = vec![("masterauth", pass)];
        if let Some(user) = user {
            settings.push(("masteruser", user));
        }
        let replica = ours(adapter, &settings);
        replicaof(replica.addr(), master.addr);
        wait_until(SYNC_LIMIT, "an authenticated sync", || {
            field(&info(replica.addr(), "replication"), "master_link_status").as_deref()
                == Some("up")
        });
        let v: String = redis::cmd("GET")
            .arg("k")
            .query(&mut connect(replica.addr()))
            .unwrap();
        assert_eq!(v, "v");
    }
}

#[test]
fn tokio_redish_replica_authenticates() {
    redish_replica_authenticates(Adapter::Tokio);
}

#[test]
fn async_std_redish_replica_authenticates() {
    redish_replica_authenticates(Adapter::AsyncStd);
}

#[test]
fn tokio_redis_replica_of_redish() {
    redis_replica_of_redish(Adapter::Tokio);
}

#[test]
fn async_std_redis_replica_of_redish() {
    redis_replica_of_redish(Adapter::AsyncStd);
}

#[test]
fn tokio_redish_replica_of_redis() {
    redish_replica_of_redis(Adapter::Tokio);
}

#[test]
fn async_std_redish_replica_of_redis() {
    redish_replica_of_redis(Adapter::AsyncStd);
}

#[test]
fn tokio_master_async_std_replica() {
    redish_replica_of_redish(Adapter::Tokio, Adapter::AsyncStd);
}

#[test]
fn async_std_master_tokio_replica() {
    redish_replica_of_redish(Adapter::AsyncStd, Adapter::Tokio);
}
