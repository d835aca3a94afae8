//! RDB and AOF with hashes, lists, sets and sorted sets, against the real Redis 7.0 tools:
//! what redish writes passes `redis-check-rdb` / `redis-check-aof` and loads into
//! `redis-server` with the same data; what `redis-server` saves (listpacks, intsets,
//! quicklists, skiplists, hash tables) loads into redish with the same data and the same
//! encodings.
//!
//! The data are built by running the same commands on both servers, and compared through
//! commands too (TYPE, then LRANGE / HGETALL / SMEMBERS / ZRANGE WITHSCORES, PEXPIRETIME,
//! OBJECT ENCODING), so both sides are read the same way.
//!
//! Each test prints `SKIP: …` and passes when redis-server is missing, unless
//! `REDISH_REQUIRE_REDIS=1`.

// Tests may read the clock, sleep and run processes; the library may not.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{now_ms, parse, Conn, Redis, Value};
use redish_core::persist::{aof, rdb};
use redish_core::{Session, SessionConfig, Store};

/// Commands that build one key of every type and encoding, in several databases.
fn dataset(now: u64) -> Vec<Vec<Vec<u8>>> {
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let mut c = |parts: &[&str]| cmds.push(parts.iter().map(|s| s.to_string()).collect());
    c(&["SET", "plain", "string"]);
    c(&[
        "HSET",
        "hash:small",
        "f1",
        "v1",
        "f2",
        "2",
        "n",
        "-5",
        "empty",
        "",
    ]);
    c(&["LPUSH", "list:small", "a", "b", "12", "-300", ""]);
    c(&["SADD", "set:ints", "1", "-2", "300", "70000", "-5000000000"]);
    c(&["SADD", "set:strings", "a", "b", "c d"]);
    c(&[
        "ZADD",
        "zset:small",
        "1",
        "a",
        "-0.5",
        "b",
        "0.1",
        "c",
        "inf",
        "d",
        "-inf",
        "e",
        "1e300",
        "f",
        "42",
        "g",
    ]);
    c(&["SELECT", "3"]);
    c(&["HSET", "in-db-3", "x", "y"]);
    c(&["PEXPIRE", "in-db-3", &(now + 3_600_000).to_string()]);
    c(&["SELECT", "0"]);
    let mut cmds: Vec<Vec<Vec<u8>>> = cmds
        .into_iter()
        .map(|c| c.into_iter().map(String::into_bytes).collect())
        .collect();
    // The large encodings: a hash table hash, a long list over many chunks with big
    // elements, a hash table set, an intset past 512, a skiplist.
    let big = |k: &str, f: &dyn Fn(usize) -> Vec<Vec<u8>>, n: usize| -> Vec<Vec<Vec<u8>>> {
        (0..n)
            .map(|i| {
                let mut a = vec![k.as_bytes().to_vec()];
                a.extend(f(i));
                a
            })
            .collect()
    };
    let prefix = |cmd: &str, mut v: Vec<Vec<Vec<u8>>>| {
        for a in &mut v {
            a.insert(0, cmd.as_bytes().to_vec());
        }
        v
    };
    cmds.extend(prefix(
        "HSET",
        big(
            "hash:big",
            &|i| {
                vec![
                    format!("field:{i}").into_bytes(),
                    format!("value {i}").into_bytes(),
                ]
            },
            600,
        ),
    ));
    cmds.extend(prefix(
        "HSET",
        big(
            "hash:long",
            &|i| vec![format!("f{i}").into_bytes(), vec![b'v'; 70 + i]],
            3,
        ),
    ));
    cmds.extend(prefix(
        "RPUSH",
        big(
            "list:big",
            &|i| {
                let e = match i % 50 {
                    0 => vec![b'x'; 10_000 + i],
                    1 => (i as i64 * 1_000_003 - 7_000_000).to_string().into_bytes(),
                    _ => format!("element-{i}").into_bytes(),
                };
                vec![e]
            },
            3000,
        ),
    ));
    cmds.extend(prefix(
        "SADD",
        big(
            "set:bigints",
            &|i| vec![(i * 3).to_string().into_bytes()],
            700,
        ),
    ));
    cmds.extend(prefix(
        "SADD",
        big("set:big", &|i| vec![format!("m{i}").into_bytes()], 300),
    ));
    cmds.extend(prefix(
        "ZADD",
        big(
            "zset:big",
            &|i| {
                vec![
                    format!("{}", (i as f64) * 0.37 - 20.0).into_bytes(),
                    format!("member:{i}").into_bytes(),
                ]
            },
            400,
        ),
    ));
    cmds.extend(prefix(
        "ZADD",
        big("zset:long", &|_| vec![b"-0".to_vec(), vec![b'm'; 80]], 1),
    ));
    let at = (now + 7_200_000).to_string().into_bytes();
    cmds.push(vec![
        b"PEXPIREAT".to_vec(),
        b"zset:big".to_vec(),
        at.clone(),
    ]);
    cmds.push(vec![b"PEXPIREAT".to_vec(), b"list:small".to_vec(), at]);
    cmds
}

/// One side's view of the data, read through commands: per database, per key, its type,
/// encoding, content and expiry (the absolute PEXPIRETIME, -1 for none).
fn snapshot(call: &mut dyn FnMut(&[&[u8]]) -> Vec<u8>, dbs: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    for &db in dbs {
        call(&[b"SELECT", db.to_string().as_bytes()]);
        let Value::Array(keys) = parse(&call(&[b"KEYS", b"*"])) else {
            panic!(
                "KEYS: {:?}",
                String::from_utf8_lossy(&call(&[b"KEYS", b"*"]))
            );
        };
        let mut keys: Vec<String> = keys
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        keys.sort();
        for k in keys {
            let kb = k.as_bytes();
            let ty = parse(&call(&[b"TYPE", kb]));
            let enc = parse(&call(&[b"OBJECT", b"ENCODING", kb]));
            let content = match ty.as_str().unwrap() {
                "string" => parse(&call(&[b"GET", kb])),
                "list" => parse(&call(&[b"LRANGE", kb, b"0", b"-1"])),
                "hash" => sorted_pairs(parse(&call(&[b"HGETALL", kb]))),
                "set" => sorted(parse(&call(&[b"SMEMBERS", kb]))),
                "zset" => parse(&call(&[b"ZRANGE", kb, b"0", b"-1", b"WITHSCORES"])),
                other => panic!("type {other}"),
            };
            // The expiry as an absolute time: both sides hold the same instant (it is what
            // the files carry), whereas a TTL depends on when each side is asked.
            let expires = match parse(&call(&[b"PEXPIRETIME", kb])) {
                Value::Int(at) if at >= 0 => {
                    match parse(&call(&[b"PTTL", kb])) {
                        Value::Int(ttl) if ttl > 0 => {}
                        other => panic!("{k}: PEXPIRETIME {at} but PTTL {other:?}"),
                    }
                    at
                }
                Value::Int(-1) => -1,
                other => panic!("{k}: PEXPIRETIME {other:?}"),
            };
            out.push(format!(
                "{db} {k} {ty:?} {enc:?} expires={expires} {content:?}"
            ));
        }
    }
    call(&[b"SELECT", b"0"]);
    out
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Array(mut items) => {
            items.sort_by_key(|v| format!("{v:?}"));
            Value::Array(items)
        }
        v => v,
    }
}

fn sorted_pairs(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut pairs: Vec<(String, String)> = items
                .chunks(2)
                .map(|p| (format!("{:?}", p[0]), format!("{:?}", p[1])))
                .collect();
            pairs.sort();
            Value::Str(format!("{pairs:?}"))
        }
        v => v,
    }
}

const DBS: &[usize] = &[0, 3];

/// A redish session on `store`, for [`snapshot`].
fn redish_call<'a>(
    store: &'a mut Store,
    session: &'a mut Session,
) -> impl FnMut(&[&[u8]]) -> Vec<u8> + 'a {
    move |args: &[&[u8]]| {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        session.handle_bytes(&common::encode(&args));
        session.process(store, now_ms());
        let out = session.poll_transmit().to_vec();
        session.consume_transmit(out.len());
        out
    }
}

fn redis_call(conn: &mut Conn) -> impl FnMut(&[&[u8]]) -> Vec<u8> + '_ {
    move |args: &[&[u8]]| {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        conn.call(&args)
    }
}

/// Runs the dataset's commands on a fresh redish store.
fn redish_store(now: u64) -> Store {
    let mut store = Store::default();
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    for cmd in dataset(now) {
        s.handle_bytes(&common::encode(&cmd));
        s.process(&mut store, now);
        let out = s.poll_transmit().to_vec();
        assert!(!out.starts_with(b"-"), "{}", String::from_utf8_lossy(&out));
        s.consume_transmit(out.len());
    }
    store
}

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("REDISH_REQUIRE_REDIS").as_deref() != Ok("1"),
            "{name} not found, and REDISH_REQUIRE_REDIS=1"
        );
        println!("SKIP: {name} not found");
    }
    found
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redish-types-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(tool: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(tool).arg(file).output().expect("run tool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn rdb_of_every_type_written_by_redish_loads_into_redis() {
    let (Some(_), Some(check)) = (tool("redis-server"), tool("redis-check-rdb")) else {
        return;
    };
    let now = now_ms();
    let mut store = redish_store(now);
    let dir = scratch("rdb-out");
    std::fs::write(dir.join("dump.rdb"), rdb::to_vec(&store, now)).unwrap();
    let (ok, text) = run(&check, &dir.join("dump.rdb"));
    assert!(ok && text.contains("RDB looks OK"), "{text}");

    let dir_arg = dir.to_str().unwrap().to_owned();
    let redis = Redis::start(&["--dir", &dir_arg, "--dbfilename", "dump.rdb"]).expect("redis");
    let mut conn = redis.connect();
    let theirs = snapshot(&mut redis_call(&mut conn), DBS);
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    let ours = snapshot(&mut redish_call(&mut store, &mut s), DBS);
    assert_eq!(theirs.len(), 14);
    if std::env::var("REDISH_SHOW").is_ok() {
        for l in &theirs {
            println!("{}", &l[..l.len().min(150)]);
        }
    }
    for (a, b) in theirs.iter().zip(&ours) {
        assert_eq!(a, b);
    }
    assert_eq!(theirs, ours);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rdb_of_every_type_written_by_redis_loads_into_redish() {
    if tool("redis-server").is_none() {
        return;
    }
    let now = now_ms();
    let redis = Redis::start(&[]).expect("redis");
    let mut conn = redis.connect();
    for cmd in dataset(now) {
        let r = conn.call(&cmd);
        assert!(!r.starts_with(b"-"), "{}", String::from_utf8_lossy(&r));
    }
    // A few old-style encodings too: Redis 7.0 writes small lists as quicklists of
    // listpacks, hashes and sorted sets as listpacks, and sets as intsets.
    assert_eq!(conn.call(&[b"SAVE".to_vec()]), b"+OK\r\n");
    let Value::Array(dir) =
        parse(&conn.call(&[b"CONFIG".to_vec(), b"GET".to_vec(), b"dir".to_vec()]))
    else {
        panic!("CONFIG GET dir");
    };
    let dir = PathBuf::from(dir[1].as_str().unwrap());
    let bytes = std::fs::read(dir.join("dump.rdb")).unwrap();

    let mut store = Store::default();
    let summary = rdb::load_into(&mut store, &bytes, now_ms()).unwrap();
    assert_eq!(summary.loaded, 14);
    let theirs = snapshot(&mut redis_call(&mut conn), DBS);
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    let ours = snapshot(&mut redish_call(&mut store, &mut s), DBS);
    for (a, b) in theirs.iter().zip(&ours) {
        assert_eq!(a, b);
    }
    assert_eq!(theirs, ours);

    // What redish writes of it loads back the same.
    let again = rdb::to_vec(&store, now_ms());
    let mut back = Store::default();
    rdb::load_into(&mut back, &again, now_ms()).unwrap();
    let mut s = Session::new(back.next_client_id(), SessionConfig::default());
    assert_eq!(snapshot(&mut redish_call(&mut back, &mut s), DBS), ours);
}

#[test]
fn aof_rewrite_of_every_type_is_valid_and_rebuilds_the_data() {
    let (Some(_), Some(check)) = (tool("redis-server"), tool("redis-check-aof")) else {
        return;
    };
    let now = now_ms();
    let mut store = redish_store(now);
    let bytes = aof::rewrite(&store, now);
    let dir = scratch("aof-out");
    let file = dir.join("appendonly.aof");
    std::fs::write(&file, &bytes).unwrap();
    let (ok, text) = run(&check, &file);
    assert!(ok && text.contains("is valid"), "{text}");

    // Replayed by redish…
    let mut replayed = Store::default();
    redish_core::cmd::replay_aof(&mut replayed, &aof::load(&bytes).unwrap(), now).unwrap();
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    let ours = snapshot(&mut redish_call(&mut store, &mut s), DBS);
    let mut s = Session::new(replayed.next_client_id(), SessionConfig::default());
    assert_eq!(snapshot(&mut redish_call(&mut replayed, &mut s), DBS), ours);

    // …and loaded by Redis as the base of its AOF.
    let dir_arg = dir.to_str().unwrap().to_owned();
    let redis = Redis::start(&["--dir", &dir_arg, "--appendonly", "yes"]).expect("redis");
    let mut conn = redis.connect();
    let theirs = snapshot(&mut redis_call(&mut conn), DBS);
    for (a, b) in theirs.iter().zip(&ours) {
        assert_eq!(a, b);
    }
    assert_eq!(theirs, ours);
    let _ = std::fs::remove_dir_all(&dir);
}
