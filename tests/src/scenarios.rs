//! The scenarios: each takes the address of a fresh server and panics on a failure.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use redis::{Connection, FromRedisValue, Value};

use crate::{connect, connect_url, url, wait_until, Raw};

/// Runs one command, its arguments given as strings, and converts the reply.
fn q<T: FromRedisValue>(con: &mut Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs one command that must fail, returning the error's text.
fn err(con: &mut Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(con) {
        Ok(v) => panic!("{args:?} succeeded: {v:?}"),
        Err(e) => e.to_string(),
    }
}

/// A field of INFO, e.g. `connected_clients`.
fn info_field(con: &mut Connection, section: &str, field: &str) -> String {
    let info: String = q(con, &["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .to_owned()
}

/// Strings: SET and its options, GET, counters, ranges, MSET/MGET, binary values, errors.
pub fn strings(addr: SocketAddr) {
    let mut con = connect(addr);
    let () = q(&mut con, &["SET", "k", "v"]);
    assert_eq!(
        q::<Option<String>>(&mut con, &["GET", "k"]).as_deref(),
        Some("v")
    );
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "nope"]), None);
    assert_eq!(
        q::<Option<String>>(&mut con, &["SET", "k", "w", "NX"]),
        None
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["SET", "absent", "w", "XX"]),
        None
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["SET", "k", "w", "XX", "GET"]).as_deref(),
        Some("v")
    );
    assert_eq!(q::<i64>(&mut con, &["APPEND", "k", "xyz"]), 4);
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "k"]), 4);
    assert_eq!(q::<String>(&mut con, &["GETRANGE", "k", "1", "-1"]), "xyz");
    assert_eq!(q::<i64>(&mut con, &["SETRANGE", "k", "1", "AB"]), 4);
    assert_eq!(q::<String>(&mut con, &["GET", "k"]), "wABz");
    assert_eq!(q::<i64>(&mut con, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut con, &["INCRBY", "n", "41"]), 42);
    assert_eq!(q::<i64>(&mut con, &["DECRBY", "n", "2"]), 40);
    assert_eq!(q::<String>(&mut con, &["INCRBYFLOAT", "n", "0.5"]), "40.5");
    let e = err(&mut con, &["INCR", "k"]);
    assert!(e.contains("value is not an integer or out of range"), "{e}");
    let () = q(&mut con, &["MSET", "a", "1", "b", "2"]);
    let got: Vec<Option<String>> = q(&mut con, &["MGET", "a", "b", "c"]);
    assert_eq!(got, [Some("1".into()), Some("2".into()), None]);
    assert_eq!(
        q::<Option<String>>(&mut con, &["GETDEL", "a"]).as_deref(),
        Some("1")
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "a"]), 0);

    let blob: Vec<u8> = (0..=255).collect();
    let () = redis::cmd("SET")
        .arg("blob")
        .arg(&blob[..])
        .query(&mut con)
        .unwrap();
    let back: Vec<u8> = redis::cmd("GET").arg("blob").query(&mut con).unwrap();
    assert_eq!(back, blob);

    let e = err(&mut con, &["SET", "k"]);
    assert!(
        e.contains("wrong number of arguments for 'set' command"),
        "{e}"
    );
    let e = err(&mut con, &["NOSUCHCOMMAND", "x"]);
    assert!(e.contains("unknown command"), "{e}");
    let e = err(&mut con, &["LPUSH", "k", "x"]);
    assert!(e.contains("WRONGTYPE"), "{e}");
}

/// Keys: EXISTS, DEL, TYPE, RENAME, KEYS, SCAN, DBSIZE, SELECT, MOVE, FLUSHDB; expiry
/// commands and their TTLs.
pub fn keys_and_expiry(addr: SocketAddr) {
    let mut con = connect(addr);
    let () = q(
        &mut con,
        &["MSET", "user:1", "a", "user:2", "b", "other", "c"],
    );
    let () = q(&mut con, &["RPUSH", "list", "x"]);
    assert_eq!(
        q::<i64>(&mut con, &["EXISTS", "user:1", "user:2", "nope"]),
        2
    );
    assert_eq!(q::<String>(&mut con, &["TYPE", "list"]), "list");
    assert_eq!(q::<String>(&mut con, &["TYPE", "other"]), "string");
    assert_eq!(q::<String>(&mut con, &["TYPE", "nope"]), "none");
    let mut keys: Vec<String> = q(&mut con, &["KEYS", "user:*"]);
    keys.sort();
    assert_eq!(keys, ["user:1", "user:2"]);
    let mut cursor = "0".to_owned();
    let mut scanned = HashSet::new();
    loop {
        let (next, batch): (String, Vec<String>) =
            q(&mut con, &["SCAN", &cursor, "MATCH", "*", "COUNT", "2"]);
        scanned.extend(batch);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(scanned.len(), 4);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 4);
    let () = q(&mut con, &["RENAME", "other", "renamed"]);
    assert_eq!(q::<i64>(&mut con, &["DEL", "renamed", "nope"]), 1);

    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "user:1", "100"]), 1);
    let ttl: i64 = q(&mut con, &["TTL", "user:1"]);
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    let pttl: i64 = q(&mut con, &["PTTL", "user:1"]);
    assert!((99_000..=100_000).contains(&pttl), "pttl {pttl}");
    assert_eq!(q::<i64>(&mut con, &["PERSIST", "user:1"]), 1);
    assert_eq!(q::<i64>(&mut con, &["TTL", "user:1"]), -1);
    assert_eq!(q::<i64>(&mut con, &["TTL", "nope"]), -2);
    let () = q(&mut con, &["SET", "ex", "v", "EX", "50"]);
    assert!(q::<i64>(&mut con, &["TTL", "ex"]) > 40);
    // A time already past deletes the key.
    assert_eq!(q::<i64>(&mut con, &["PEXPIREAT", "ex", "1000"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "ex"]), 0);

    assert_eq!(q::<i64>(&mut con, &["MOVE", "user:2", "1"]), 1);
    let () = q(&mut con, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut con, &["GET", "user:2"]), "b");
    let () = q(&mut con, &["FLUSHDB"]);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 0);
    let () = q(&mut con, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 2);
    let e = err(&mut con, &["SELECT", "16"]);
    assert!(e.contains("DB index is out of range"), "{e}");
}

/// Active expiry: a key set with PX 100 leaves the keyspace shortly after, without anybody
/// reading it (DBSIZE counts keys not yet collected).
pub fn active_expiry(addr: SocketAddr) {
    let mut con = connect(addr);
    let () = q(&mut con, &["SET", "short", "v", "PX", "100"]);
    let () = q(&mut con, &["SET", "long", "v", "PX", "60000"]);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 2);
    let start = Instant::now();
    wait_until(Duration::from_secs(3), "active expiry", || {
        q::<i64>(&mut con, &["DBSIZE"]) == 1
    });
    assert!(
        start.elapsed() >= Duration::from_millis(80),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(info_field(&mut con, "stats", "expired_keys"), "1");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "long"]), 1);
}

/// Hashes.
pub fn hashes(addr: SocketAddr) {
    let mut con = connect(addr);
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "10"]), 0);
    assert_eq!(q::<String>(&mut con, &["HGET", "h", "a"]), "10");
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "zz"]), None);
    let all: HashMap<String, String> = q(&mut con, &["HGETALL", "h"]);
    assert_eq!(all.len(), 2);
    assert_eq!(all["b"], "2");
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", "h", "b", "5"]), 7);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 2);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "h", "a"]), 1);
    let got: Vec<Option<String>> = q(&mut con, &["HMGET", "h", "a", "x"]);
    assert_eq!(got, [Some("10".into()), None]);
    let mut keys: Vec<String> = q(&mut con, &["HKEYS", "h"]);
    keys.sort();
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(q::<i64>(&mut con, &["HDEL", "h", "a", "b", "c"]), 2);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
}

/// Lists, without blocking.
pub fn lists(addr: SocketAddr) {
    let mut con = connect(addr);
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "l", "a", "b", "c"]), 3);
    assert_eq!(q::<i64>(&mut con, &["LPUSH", "l", "z"]), 4);
    let all: Vec<String> = q(&mut con, &["LRANGE", "l", "0", "-1"]);
    assert_eq!(all, ["z", "a", "b", "c"]);
    assert_eq!(q::<String>(&mut con, &["LINDEX", "l", "-1"]), "c");
    let () = q(&mut con, &["LSET", "l", "1", "A"]);
    assert_eq!(q::<i64>(&mut con, &["LINSERT", "l", "BEFORE", "b", "x"]), 5);
    assert_eq!(q::<i64>(&mut con, &["LREM", "l", "0", "x"]), 1);
    assert_eq!(q::<String>(&mut con, &["LPOP", "l"]), "z");
    assert_eq!(q::<String>(&mut con, &["RPOP", "l"]), "c");
    assert_eq!(
        q::<String>(&mut con, &["LMOVE", "l", "m", "LEFT", "RIGHT"]),
        "A"
    );
    assert_eq!(q::<i64>(&mut con, &["LLEN", "l"]), 1);
    let () = q(&mut con, &["RPUSH", "t", "1", "2", "3", "4"]);
    let () = q(&mut con, &["LTRIM", "t", "1", "2"]);
    let all: Vec<String> = q(&mut con, &["LRANGE", "t", "0", "-1"]);
    assert_eq!(all, ["2", "3"]);
}

/// BLPOP on one connection is served by an RPUSH on another, and the command pipelined
/// behind the BLPOP runs then.
pub fn blpop_woken_by_push(addr: SocketAddr) {
    let mut watcher = connect(addr);
    let mut waiter = Raw::connect(addr);
    waiter.send(b"BLPOP queue 10\r\nPING\r\n");
    wait_until(Duration::from_secs(5), "a blocked client", || {
        info_field(&mut watcher, "clients", "blocked_clients") == "1"
    });
    let mut pusher = connect(addr);
    assert_eq!(q::<i64>(&mut pusher, &["RPUSH", "queue", "job"]), 1);
    waiter.expect(b"*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n+PONG\r\n");
    assert_eq!(q::<i64>(&mut pusher, &["LLEN", "queue"]), 0);
    assert_eq!(info_field(&mut watcher, "clients", "blocked_clients"), "0");

    // The same through the redis crate, the push coming from another thread.
    let pushed = std::thread::spawn(move || {
        let mut watcher = connect(addr);
        wait_until(Duration::from_secs(5), "a blocked client", || {
            info_field(&mut watcher, "clients", "blocked_clients") == "1"
        });
        q::<i64>(&mut pusher, &["LPUSH", "q2", "v"])
    });
    let mut blocked = connect(addr);
    let got: (String, String) = q(&mut blocked, &["BLPOP", "q1", "q2", "10"]);
    assert_eq!(got, ("q2".into(), "v".into()));
    assert_eq!(pushed.join().unwrap(), 1);
}

/// BLPOP with nothing to pop times out with a null reply after its timeout.
pub fn blpop_times_out(addr: SocketAddr) {
    let mut con = connect(addr);
    let start = Instant::now();
    let got: Option<(String, String)> = q(&mut con, &["BLPOP", "empty", "0.1"]);
    let waited = start.elapsed();
    assert_eq!(got, None);
    assert!(waited >= Duration::from_millis(90), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(q::<String>(&mut con, &["PING"]), "PONG");
}

/// Sets.
pub fn sets(addr: SocketAddr) {
    let mut con = connect(addr);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "a", "b", "c", "a"]), 3);
    assert_eq!(q::<i64>(&mut con, &["SADD", "t", "b", "c", "d"]), 3);
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), 3);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", "a"]), 1);
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(q(&mut con, &["SINTER", "s", "t"])), ["b", "c"]);
    assert_eq!(
        sorted(q(&mut con, &["SUNION", "s", "t"])),
        ["a", "b", "c", "d"]
    );
    assert_eq!(sorted(q(&mut con, &["SDIFF", "s", "t"])), ["a"]);
    assert_eq!(q::<i64>(&mut con, &["SREM", "s", "a", "x"]), 1);
    assert_eq!(sorted(q(&mut con, &["SMEMBERS", "s"])), ["b", "c"]);
    let popped: String = q(&mut con, &["SPOP", "s"]);
    assert!(popped == "b" || popped == "c");
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), 1);
}

/// Sorted sets.
pub fn sorted_sets(addr: SocketAddr) {
    let mut con = connect(addr);
    assert_eq!(
        q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]),
        3
    );
    let got: Vec<(String, f64)> = q(&mut con, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
    assert_eq!(
        got,
        [("a".into(), 1.0), ("b".into(), 2.0), ("c".into(), 3.0)]
    );
    assert_eq!(q::<f64>(&mut con, &["ZINCRBY", "z", "10", "a"]), 11.0);
    assert_eq!(q::<f64>(&mut con, &["ZSCORE", "z", "a"]), 11.0);
    assert_eq!(q::<i64>(&mut con, &["ZRANK", "z", "a"]), 2);
    let got: Vec<String> = q(&mut con, &["ZRANGEBYSCORE", "z", "2", "(11"]);
    assert_eq!(got, ["b", "c"]);
    let got: Vec<String> = q(&mut con, &["ZREVRANGE", "z", "0", "0"]);
    assert_eq!(got, ["a"]);
    assert_eq!(q::<i64>(&mut con, &["ZREM", "z", "b", "x"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "z"]), 2);
    let got: (String, f64) = q(&mut con, &["ZPOPMIN", "z"]);
    assert_eq!(got, ("c".into(), 3.0));
}

/// MULTI/EXEC runs queued commands at once; WATCH aborts EXEC when another connection
/// changed a watched key; DISCARD drops the queue.
pub fn transactions(addr: SocketAddr) {
    let mut con = connect(addr);
    let mut other = connect(addr);
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("n")
        .cmd("INCRBY")
        .arg("n")
        .arg(10)
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b), (1, 11));

    let () = q(&mut con, &["WATCH", "n"]);
    assert_eq!(q::<i64>(&mut other, &["INCR", "n"]), 12);
    let () = q(&mut con, &["MULTI"]);
    assert_eq!(q::<String>(&mut con, &["INCR", "n"]), "QUEUED");
    assert_eq!(q::<Value>(&mut con, &["EXEC"]), Value::Nil);
    assert_eq!(q::<i64>(&mut con, &["GET", "n"]), 12);

    // Unchanged watched key: EXEC runs.
    let () = q(&mut con, &["WATCH", "n"]);
    let () = q(&mut con, &["MULTI"]);
    let _: String = q(&mut con, &["INCR", "n"]);
    let got: Vec<i64> = q(&mut con, &["EXEC"]);
    assert_eq!(got, [13]);

    let () = q(&mut con, &["MULTI"]);
    let _: String = q(&mut con, &["SET", "n", "0"]);
    let () = q(&mut con, &["DISCARD"]);
    assert_eq!(q::<i64>(&mut con, &["GET", "n"]), 13);
    let e = err(&mut con, &["EXEC"]);
    assert!(e.contains("EXEC without MULTI"), "{e}");
}

/// CONFIG GET and SET, with Redis's error texts.
pub fn config(addr: SocketAddr) {
    let mut con = connect(addr);
    let port: (String, String) = q(&mut con, &["CONFIG", "GET", "port"]);
    assert_eq!(port, ("port".into(), addr.port().to_string()));
    let got: HashMap<String, String> = q(&mut con, &["CONFIG", "GET", "max*"]);
    assert_eq!(got["maxclients"], "10000");
    let () = q(&mut con, &["CONFIG", "SET", "timeout", "300", "hz", "20"]);
    let got: HashMap<String, String> = q(&mut con, &["CONFIG", "GET", "timeout", "hz"]);
    assert_eq!((got["timeout"].as_str(), got["hz"].as_str()), ("300", "20"));
    let e = err(&mut con, &["CONFIG", "SET", "port", "1"]);
    assert!(e.contains("can't set immutable config"), "{e}");
    let e = err(&mut con, &["CONFIG", "SET", "nosuch", "1"]);
    assert!(e.contains("Unknown option"), "{e}");
    let e = err(&mut con, &["CONFIG", "SET", "timeout", "x"]);
    assert!(
        e.contains("argument couldn't be parsed into an integer"),
        "{e}"
    );
}

/// INFO reports the server as it runs: the port, the clients, the keyspace.
pub fn info(addr: SocketAddr) {
    let mut con = connect(addr);
    let _other = connect(addr);
    let () = q(&mut con, &["SET", "k", "v"]);
    assert_eq!(
        info_field(&mut con, "server", "tcp_port"),
        addr.port().to_string()
    );
    assert_eq!(
        info_field(&mut con, "server", "redis_version"),
        redish_core::REDIS_VERSION
    );
    assert_eq!(info_field(&mut con, "clients", "connected_clients"), "2");
    assert!(info_field(&mut con, "keyspace", "db0").starts_with("keys=1,"));
    let all: String = q(&mut con, &["INFO", "everything"]);
    for section in ["# Server", "# Clients", "# Memory", "# Stats", "# Keyspace"] {
        assert!(all.contains(section), "{section}");
    }
    assert!(
        info_field(&mut con, "stats", "total_commands_processed")
            .parse::<u64>()
            .unwrap()
            > 3
    );
}

/// CLIENT SETNAME/LIST/ID/KILL: a killed connection is closed; the others go on.
pub fn client_list_and_kill(addr: SocketAddr) {
    let mut con = connect(addr);
    let () = q(&mut con, &["CLIENT", "SETNAME", "admin"]);
    let mut victim = Raw::connect(addr);
    victim.send(b"CLIENT SETNAME victim\r\nCLIENT ID\r\n");
    victim.expect(b"+OK\r\n");
    let id_line = victim.read_n(3);
    assert_eq!(id_line[0], b':');
    let mut rest = id_line[1..].to_vec();
    while !rest.ends_with(b"\r\n") {
        rest.extend(victim.read_n(1));
    }
    let victim_id = String::from_utf8(rest).unwrap().trim().to_owned();

    let list: String = q(&mut con, &["CLIENT", "LIST"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    let line = list
        .lines()
        .find(|l| l.contains("name=victim"))
        .expect(&list);
    assert!(
        line.starts_with(&format!("id={victim_id} addr=127.0.0.1:")),
        "{line}"
    );
    assert!(list.contains("name=admin"), "{list}");

    assert_eq!(q::<i64>(&mut con, &["CLIENT", "KILL", "ID", &victim_id]), 1);
    assert_eq!(victim.read_to_close(), b"");
    wait_until(Duration::from_secs(5), "the killed client to leave", || {
        !q::<String>(&mut con, &["CLIENT", "LIST"]).contains("name=victim")
    });
    // The filter form counts the clients it killed; the old form says there was none.
    assert_eq!(q::<i64>(&mut con, &["CLIENT", "KILL", "ID", &victim_id]), 0);
    let e = err(&mut con, &["CLIENT", "KILL", "127.0.0.1:1"]);
    assert!(e.contains("No such client"), "{e}");

    // By address, the old form: OK.
    let mut other = Raw::connect(addr);
    // Registered once it has been served.
    other.send(b"PING\r\n");
    other.expect(b"+PONG\r\n");
    let local = other.stream().local_addr().unwrap().to_string();
    assert_eq!(q::<String>(&mut con, &["CLIENT", "KILL", &local]), "OK");
    assert_eq!(other.read_to_close(), b"");
    assert_eq!(q::<String>(&mut con, &["PING"]), "PONG");
}

/// 10,000 commands in one pipeline, through the redis crate and as one raw write.
pub fn pipelining(addr: SocketAddr) {
    const N: usize = 10_000;
    let mut con = connect(addr);
    let mut pipe = redis::pipe();
    for i in 0..N {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
        pipe.cmd("INCR").arg("counter");
    }
    let counts: Vec<i64> = pipe.query(&mut con).unwrap();
    assert_eq!(counts.len(), N);
    assert_eq!(counts[N - 1], N as i64);
    assert!(counts.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), N as i64 + 1);

    let mut raw = Raw::connect(addr);
    let mut batch = Vec::new();
    for i in 0..N {
        batch.extend_from_slice(format!("GET key:{i}\r\n").as_bytes());
    }
    batch.extend_from_slice(b"PING\r\n");
    raw.send(&batch);
    let mut expected = Vec::new();
    for i in 0..N {
        let v = i.to_string();
        expected.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
    }
    expected.extend_from_slice(b"+PONG\r\n");
    let got = raw.read_n(expected.len());
    assert!(got == expected, "pipelined replies differ");
}

/// One PUBLISH reaches 50 channel subscribers and 5 pattern subscribers; a subscriber
/// hears only its channels; unsubscribing stops delivery.
pub fn pubsub_fan_out(addr: SocketAddr) {
    const CHANNEL_SUBS: usize = 50;
    const PATTERN_SUBS: usize = 5;
    let mut cons: Vec<Connection> = (0..CHANNEL_SUBS + PATTERN_SUBS)
        .map(|_| connect(addr))
        .collect();
    // A `PubSub` unsubscribes when dropped: keep them all.
    let mut subs: Vec<redis::PubSub<'_>> = cons
        .iter_mut()
        .enumerate()
        .map(|(i, con)| {
            let mut ps = con.as_pubsub();
            if i < CHANNEL_SUBS {
                ps.subscribe("news").unwrap();
            } else {
                ps.psubscribe("ne*").unwrap();
            }
            ps
        })
        .collect();
    let mut publisher = connect(addr);
    let n: i64 = q(&mut publisher, &["PUBLISH", "news", "hello"]);
    assert_eq!(n, (CHANNEL_SUBS + PATTERN_SUBS) as i64);
    assert_eq!(q::<i64>(&mut publisher, &["PUBLISH", "other", "x"]), 0);
    for (i, ps) in subs.iter_mut().enumerate() {
        ps.set_read_timeout(Some(crate::IO_TIMEOUT)).unwrap();
        let msg = ps.get_message().unwrap();
        assert_eq!(msg.get_channel_name(), "news");
        assert_eq!(msg.get_payload::<String>().unwrap(), "hello");
        if i >= CHANNEL_SUBS {
            assert_eq!(msg.get_pattern::<String>().unwrap(), "ne*");
        }
    }
    // The order of messages from one publisher is kept for every subscriber.
    for i in 0..20 {
        let _: i64 = q(&mut publisher, &["PUBLISH", "news", &i.to_string()]);
    }
    for ps in subs.iter_mut().take(3) {
        for i in 0..20 {
            let msg = ps.get_message().unwrap();
            assert_eq!(msg.get_payload::<String>().unwrap(), i.to_string());
        }
    }
    drop(subs);
    drop(cons);
    wait_until(Duration::from_secs(5), "subscribers to leave", || {
        q::<i64>(&mut publisher, &["PUBLISH", "news", "late"]) == 0
    });
}

/// RESP3 through the redis crate: maps, doubles, nulls.
pub fn resp3(addr: SocketAddr) {
    let mut con = connect_url(&format!("{}?protocol=resp3", url(addr)));
    let () = q(&mut con, &["HSET", "h", "f", "v"]);
    match q::<Value>(&mut con, &["HGETALL", "h"]) {
        Value::Map(pairs) => assert_eq!(pairs.len(), 1),
        other => panic!("HGETALL in RESP3: {other:?}"),
    }
    let () = q(&mut con, &["ZADD", "z", "1.5", "m"]);
    assert_eq!(
        q::<Value>(&mut con, &["ZSCORE", "z", "m"]),
        Value::Double(1.5)
    );
    assert_eq!(q::<Value>(&mut con, &["GET", "nope"]), Value::Nil);
    let hello: HashMap<String, Value> = q(&mut con, &["HELLO", "3"]);
    assert_eq!(hello["proto"], Value::Int(3));
}

/// DEBUG SLEEP holds its own connection only: another one is served meanwhile.
pub fn debug_sleep(addr: SocketAddr) {
    let mut sleeper = Raw::connect(addr);
    let mut other = connect(addr);
    let start = Instant::now();
    sleeper.send(b"DEBUG SLEEP 0.3\r\nPING\r\n");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(q::<String>(&mut other, &["PING"]), "PONG");
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    sleeper.expect(b"+OK\r\n+PONG\r\n");
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "{:?}",
        start.elapsed()
    );
}

/// CLIENT PAUSE holds commands back, not refuses them: under WRITE the writes wait while
/// reads go on, and CLIENT UNPAUSE lets them run at once; under ALL everything waits, the
/// pausing connection's own commands too, and runs when the pause (100 ms) is over.
pub fn client_pause(addr: SocketAddr) {
    let mut admin = connect(addr);
    let mut writer = Raw::connect(addr);
    let () = q(&mut admin, &["CLIENT", "PAUSE", "20000", "WRITE"]);
    let start = Instant::now();
    writer.send(b"SET k v\r\nGET k\r\n");
    wait_until(Duration::from_secs(5), "a held client", || {
        info_field(&mut admin, "clients", "blocked_clients") == "1"
    });
    assert_eq!(q::<Option<String>>(&mut admin, &["GET", "k"]), None);
    let () = q(&mut admin, &["CLIENT", "UNPAUSE"]);
    writer.expect(b"+OK\r\n$1\r\nv\r\n");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(info_field(&mut admin, "clients", "blocked_clients"), "0");

    let mut other = Raw::connect(addr);
    let start = Instant::now();
    writer.send(b"CLIENT PAUSE 100 ALL\r\nPING\r\n");
    other.send(b"GET k\r\n");
    writer.expect(b"+OK\r\n+PONG\r\n");
    other.expect(b"$1\r\nv\r\n");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(95), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(q::<String>(&mut admin, &["PING"]), "PONG");
}

/// SHUTDOWN: the replies to what had arrived before it — on its own connection and on
/// the others — are written, the connections close, and the server stops listening.
pub fn shutdown(addr: SocketAddr) {
    let mut other = Raw::connect(addr);
    // A round trip first: requests of a connection still in the accept queue have not
    // arrived as far as the server is concerned.
    other.send(b"SET before 1\r\n");
    other.expect(b"+OK\r\n");
    let mut raw = Raw::connect(addr);
    raw.send(b"PING\r\n");
    raw.expect(b"+PONG\r\n");
    // In the server's socket buffer before SHUTDOWN is even sent.
    other.send(b"SET x 2\r\nGET x\r\n");
    raw.send(b"SET k 1\r\nINCR k\r\nGET before\r\nSHUTDOWN\r\n");
    assert_eq!(raw.read_to_close(), b"+OK\r\n:2\r\n$1\r\n1\r\n");
    assert_eq!(other.read_to_close(), b"+OK\r\n$1\r\n2\r\n");
    wait_until(
        Duration::from_secs(5),
        "the server to stop listening",
        || std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
    );
}

/// maxclients (lowered with CONFIG SET): the client past it reads Redis's error and is
/// closed; once a slot frees, connections are accepted again.
pub fn maxclients(addr: SocketAddr) {
    let mut con = connect(addr);
    let () = q(&mut con, &["CONFIG", "SET", "maxclients", "2"]);
    let mut second = Raw::connect(addr);
    second.send(b"PING\r\n");
    second.expect(b"+PONG\r\n");
    let mut third = Raw::connect(addr);
    assert_eq!(
        third.read_to_close(),
        b"-ERR max number of clients reached\r\n"
    );
    drop(second);
    wait_until(Duration::from_secs(5), "a free slot", || {
        info_field(&mut con, "clients", "connected_clients") == "1"
    });
    let mut again = Raw::connect(addr);
    again.send(b"PING\r\n");
    again.expect(b"+PONG\r\n");
    assert_eq!(q::<String>(&mut con, &["PING"]), "PONG");
}

/// Bytes that are not RESP: the error reply, then the connection closes; another
/// connection does not notice.
pub fn malformed_input(addr: SocketAddr) {
    let mut bystander = connect(addr);
    let () = q(&mut bystander, &["SET", "k", "v"]);
    let mut bad = Raw::connect(addr);
    bad.send(b"*abc\r\n");
    assert_eq!(
        bad.read_to_close(),
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
    // Commands before the bad bytes in the same write still run.
    let mut bad = Raw::connect(addr);
    bad.send(b"PING\r\n*1\r\n:3\r\nPING\r\n");
    assert_eq!(
        String::from_utf8(bad.read_to_close()).unwrap(),
        "+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n"
    );
    assert_eq!(q::<String>(&mut bystander, &["GET", "k"]), "v");
}

/// A subscriber that stops reading is disconnected at its output limit; the publisher and
/// the other subscribers go on.
pub fn slow_subscriber(addr: SocketAddr) {
    let mut con = connect(addr);
    let () = q(
        &mut con,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 64kb 16kb 1",
        ],
    );
    // A small receive buffer, so the kernel holds little on the subscriber's behalf.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .connect_timeout(&addr.into(), crate::IO_TIMEOUT)
        .unwrap();
    let mut slow = Raw::from_stream(socket.into());
    slow.send(b"SUBSCRIBE flood\r\n");
    slow.expect(b"*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n");
    let mut fast_con = connect(addr);
    let mut fast = fast_con.as_pubsub();
    fast.subscribe("flood").unwrap();

    let payload = "x".repeat(4096);
    let mut published = 0;
    loop {
        let n: i64 = q(&mut con, &["PUBLISH", "flood", &payload]);
        published += 1;
        if n == 1 {
            break;
        }
        assert_eq!(n, 2);
        assert!(
            published < 20_000,
            "the slow subscriber was never disconnected"
        );
        // Keep the fast one drained.
        let msg = fast.get_message().unwrap();
        assert_eq!(msg.get_payload::<String>().unwrap().len(), 4096);
    }
    // What reaches the slow one is a prefix of its messages, then the close.
    let got = slow.read_to_close();
    assert!(got.len() < published * 4200, "{} bytes", got.len());
    wait_until(
        Duration::from_secs(5),
        "the slow subscriber to leave",
        || {
            let list: String = q(&mut con, &["CLIENT", "LIST"]);
            list.lines().filter(|l| l.contains(" sub=1 ")).count() == 1
        },
    );
    assert_eq!(q::<i64>(&mut con, &["PUBLISH", "flood", "last"]), 1);
    let msg = loop {
        let msg = fast.get_message().unwrap();
        if msg.get_payload::<String>().unwrap() == "last" {
            break msg;
        }
    };
    assert_eq!(msg.get_channel_name(), "flood");
}

/// SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, DEBUG RELOAD and INFO persistence, with the files
/// they write in the server's `dir` (each test server has a temporary one).
pub fn persistence_commands(addr: SocketAddr) {
    let mut con = connect(addr);
    let started: i64 = q(&mut con, &["LASTSAVE"]);
    for i in 0..500 {
        let _: () = q(&mut con, &["SET", &format!("k:{i}"), &i.to_string()]);
    }
    let _: () = q(&mut con, &["RPUSH", "list", "a", "b", "c"]);
    let dir: Vec<String> = q(&mut con, &["CONFIG", "GET", "dir"]);
    let dir = std::path::PathBuf::from(&dir[1]);
    assert!(dir.is_absolute(), "CONFIG GET dir is absolute: {dir:?}");

    let info: String = q(&mut con, &["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:501"), "{info}");
    assert_eq!(q::<String>(&mut con, &["SAVE"]), "OK");
    assert!(dir.join("dump.rdb").exists(), "SAVE wrote dump.rdb");
    assert!(q::<i64>(&mut con, &["LASTSAVE"]) >= started);
    let info: String = q(&mut con, &["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");

    assert_eq!(
        q::<String>(&mut con, &["BGSAVE"]),
        "Background saving started"
    );
    wait_until(Duration::from_secs(10), "BGSAVE to finish", || {
        q::<String>(&mut con, &["INFO", "persistence"]).contains("rdb_bgsave_in_progress:0")
    });
    assert!(q::<String>(&mut con, &["INFO", "persistence"]).contains("rdb_last_bgsave_status:ok"));

    std::fs::remove_file(dir.join("dump.rdb")).unwrap();
    assert_eq!(q::<String>(&mut con, &["DEBUG", "RELOAD"]), "OK");
    assert!(dir.join("dump.rdb").exists(), "DEBUG RELOAD saved first");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 501);
    assert_eq!(
        q::<Vec<String>>(&mut con, &["LRANGE", "list", "0", "-1"]),
        ["a", "b", "c"]
    );

    // With appendonly no, BGREWRITEAOF still writes the file, as Redis 7 does.
    assert_eq!(
        q::<String>(&mut con, &["BGREWRITEAOF"]),
        "Background append only file rewriting started"
    );
    wait_until(Duration::from_secs(10), "the rewrite to finish", || {
        q::<String>(&mut con, &["INFO", "persistence"]).contains("aof_rewrite_in_progress:0")
    });
    let aof = std::fs::read(dir.join("appendonly.aof")).unwrap();
    assert!(aof.starts_with(b"*2\r\n$6\r\nSELECT\r\n"), "a RESP log");
    let err = redis::cmd("BGSAVE")
        .arg("NOW")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
}

/// MONITOR, SLOWLOG and command times on a real server with the host's clock: a script's
/// commands show as `[0 lua]` after their EVAL, and commands take measurable time.
pub fn operators_watch(addr: SocketAddr) {
    let mut con = connect(addr);
    let () = q(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    let info: String = q(&mut con, &["CLIENT", "INFO"]);
    let peer = info
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_owned();
    let mut mon = Raw::connect(addr);
    mon.send(b"MONITOR\r\n");
    mon.expect(b"+OK\r\n");
    let n: i64 = q(&mut con, &["EVAL", "return redis.call('incr','n')", "0"]);
    assert_eq!(n, 1);
    // Timestamps are `seconds.micros`, 17 characters until 2286.
    let eval = format!(" [0 {peer}] \"EVAL\" \"return redis.call('incr','n')\" \"0\"\r\n");
    let lua = " [0 lua] \"incr\" \"n\"\r\n";
    let got = mon.read_n(1 + 17 + eval.len() + 1 + 17 + lua.len());
    let got = String::from_utf8(got).unwrap();
    let (first, second) = got.split_at(18 + eval.len());
    assert!(first.starts_with('+') && first.ends_with(&eval), "{got:?}");
    assert!(second.starts_with('+') && second.ends_with(lua), "{got:?}");
    assert_eq!(first.as_bytes()[11], b'.', "{got:?}");
    // The slow log holds the EVAL and, before it, the script's INCR from `?:0`.
    let log: Vec<redis::Value> = q(&mut con, &["SLOWLOG", "GET", "2"]);
    let text = format!("{log:?}");
    assert!(text.contains("incr") && text.contains("?:0"), "{text}");
    // Times are measured: the EVAL took some microseconds, and has a histogram.
    let stats: String = q(&mut con, &["INFO", "commandstats"]);
    let eval_stat = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_eval:"))
        .unwrap();
    let usec: u64 = eval_stat
        .split(',')
        .find_map(|f| f.strip_prefix("usec="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(usec > 0, "{eval_stat}");
    let lat: String = q(&mut con, &["INFO", "latencystats"]);
    assert!(lat.contains("latency_percentiles_usec_eval:p50="), "{lat}");
}

/// A user without `@dangerous` may not run CONFIG, DEBUG, SHUTDOWN, FLUSHALL or KEYS (the
/// server stays up and the data stays); HELLO with a wrong password leaves a connection
/// unauthenticated.
pub fn acl_dangerous_and_hello(addr: SocketAddr) {
    let mut admin = connect(addr);
    let () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">pw",
            "~*",
            "&*",
            "+@all",
            "-@dangerous",
        ],
    );
    let () = q(&mut admin, &["SET", "k", "v"]);
    let mut app = connect(addr);
    let () = q(&mut app, &["AUTH", "app", "pw"]);
    assert_eq!(q::<String>(&mut app, &["ACL", "WHOAMI"]), "app");
    for (args, name) in [
        (&["CONFIG", "GET", "port"][..], "config|get"),
        (&["CONFIG", "SET", "timeout", "1"], "config|set"),
        (&["DEBUG", "SLEEP", "0"], "debug"),
        (&["SHUTDOWN", "NOSAVE"], "shutdown"),
        (&["FLUSHALL"], "flushall"),
        (&["KEYS", "*"], "keys"),
    ] {
        let e = err(&mut app, args);
        let want = format!("this user has no permissions to run the '{name}' command");
        assert!(
            e.to_ascii_uppercase().contains("NOPERM") && e.contains(&want),
            "{args:?}: {e}"
        );
    }
    // Still up, data intact, and the user's other commands run.
    assert_eq!(q::<String>(&mut app, &["GET", "k"]), "v");
    assert_eq!(q::<String>(&mut admin, &["PING"]), "PONG");

    // With a password on `default`, a wrong HELLO AUTH leaves a new connection locked out.
    let () = q(&mut admin, &["CONFIG", "SET", "requirepass", "adminpw"]);
    let mut raw = Raw::connect(addr);
    raw.send(b"HELLO 3 AUTH app wrong\r\n");
    raw.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw.send(b"GET k\r\n");
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    raw.send(b"ACL WHOAMI\r\n");
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    raw.send(b"HELLO 2 AUTH app pw\r\n");
    raw.expect(b"*14\r\n$6\r\nserver\r\n");
    let _rest = raw.read_n(b"$5\r\nredis\r\n".len());
    let mut check = Raw::connect(addr);
    check.send(b"AUTH app pw\r\nACL WHOAMI\r\nAUTH default adminpw\r\nACL WHOAMI\r\n");
    check.expect(b"+OK\r\n$3\r\napp\r\n+OK\r\n$7\r\ndefault\r\n");
}

/// A flood of wrong passwords (bounded, on loopback): every one is refused and counted in
/// the ACL log, and another client is served meanwhile.
pub fn auth_flood(addr: SocketAddr) {
    const N: usize = 5000;
    let mut admin = connect(addr);
    let () = q(
        &mut admin,
        &["ACL", "SETUSER", "victim", "on", ">secret", "+@all"],
    );
    let raw = Raw::connect(addr);
    let mut reader = Raw::from_stream(raw.stream().try_clone().expect("clone"));
    let line = b"AUTH victim wrong\r\n".repeat(N);
    // Read concurrently so that neither side's buffers fill.
    let expected = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    let reading = std::thread::spawn(move || {
        for _ in 0..N {
            reader.expect(expected);
        }
    });
    let mut writer = raw;
    let start = Instant::now();
    writer.send(&line);
    // Another client is answered while the flood is being processed.
    let mut other = connect(addr);
    assert_eq!(q::<String>(&mut other, &["PING"]), "PONG");
    assert!(start.elapsed() < Duration::from_secs(5));
    reading.join().expect("all refused");
    // The failures are grouped in one ACL LOG entry, counted.
    let log: Vec<HashMap<String, Value>> = q(&mut admin, &["ACL", "LOG", "1"]);
    let entry = &log[0];
    assert_eq!(entry["count"], Value::Int(N as i64));
    assert_eq!(
        entry["reason"],
        Value::BulkString(b"auth".to_vec()),
        "{entry:?}"
    );
    assert_eq!(entry["username"], Value::BulkString(b"victim".to_vec()));
    // The right password still works.
    let mut ok = Raw::connect(addr);
    ok.send(b"AUTH victim secret\r\n");
    ok.expect(b"+OK\r\n");
}
