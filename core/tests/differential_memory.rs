//! Differential tests of MEMORY: the same commands go to a redish [`Session`] and to a real
//! `redis-server` 7.0 (see `common/mod.rs`).
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_memory`.
//!
//! Compared byte for byte: errors, arity, HELP, MEMORY USAGE of a missing key, and MEMORY
//! USAGE of strings (Redis's figure is exact for them). MEMORY USAGE of aggregates is an
//! estimate in Redis too (it samples elements, a skiplist node has a random level, a radix
//! tree's node count depends on its history), so it is compared within a tolerance per
//! type: 10% for lists, intsets, listpack hashes and sorted sets and hash tables, 20% for
//! skiplists, 15% for streams. MEMORY STATS is compared by its field names and their
//! order; MEMORY DOCTOR on an empty instance by its text.

// The harness reads the clock, which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{now_ms, parse, show, Conn, Redis, Value};
use redish_core::db::ClientConn;
use redish_core::{Session, SessionConfig, Store};

struct Both {
    _redis: Redis,
    conn: Conn,
    store: Store,
    session: Session,
}

impl Both {
    fn start() -> Option<Both> {
        let redis = Redis::start(&[])?;
        let conn = redis.connect();
        let mut store = Store::default();
        let id = store.next_client_id();
        let addr = redis.client_addr();
        store.register_client(
            id,
            ClientConn {
                addr: addr.clone(),
                laddr: addr,
                fd: 8,
                unix_socket: true,
            },
            now_ms(),
        );
        Some(Both {
            _redis: redis,
            conn,
            store,
            session: Session::new(id, SessionConfig::default()),
        })
    }

    fn both(&mut self, args: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
        let theirs = self.conn.call(args);
        self.session.handle_bytes(&common::encode(args));
        self.session.process(&mut self.store, now_ms());
        let ours = self.session.poll_transmit().to_vec();
        self.session.consume_transmit(ours.len());
        (theirs, ours)
    }

    fn same(&mut self, line: &str) -> Vec<u8> {
        let (theirs, ours) = self.both(&split(line));
        assert_eq!(show(&ours), show(&theirs), "replies differ for {line:?}");
        ours
    }

    fn ints(&mut self, line: &str) -> (i64, i64) {
        let (theirs, ours) = self.both(&split(line));
        match (parse(&theirs), parse(&ours)) {
            (Value::Int(t), Value::Int(o)) => (t, o),
            _ => panic!("{line}: {} vs {}", show(&theirs), show(&ours)),
        }
    }
}

fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| t.as_bytes().to_vec())
        .collect()
}

#[test]
fn errors_help_and_arity_are_redis_s() {
    let Some(mut b) = Both::start() else { return };
    for line in [
        "MEMORY HELP",
        "memory help",
        "MEMORY",
        "MEMORY FOO",
        "MEMORY USAGE",
        "MEMORY USAGE nokey",
        "MEMORY USAGE nokey SAMPLES 3",
        "MEMORY STATS extra",
        "MEMORY DOCTOR extra",
        "MEMORY PURGE extra",
        "MEMORY MALLOC-STATS extra",
        "MEMORY HELP extra",
        "MEMORY PURGE",
        "SET k v",
        "MEMORY USAGE k SAMPLES",
        "MEMORY USAGE k SAMPLES x",
        "MEMORY USAGE k SAMPLES -1",
        "MEMORY USAGE k FOO 1",
        "MEMORY USAGE k SAMPLES 0",
        "MEMORY USAGE k SAMPLES 1 SAMPLES 2",
    ] {
        b.same(line);
    }
}

#[test]
fn usage_of_strings_is_exact() {
    let Some(mut b) = Both::start() else { return };
    for (i, len) in [1usize, 3, 8, 20, 21, 44, 45, 100, 300, 70_000]
        .into_iter()
        .enumerate()
    {
        let key = "k".repeat(1 + i * 7);
        b.same(&format!("SET {key} {}", "v".repeat(len)));
        b.same(&format!("MEMORY USAGE {key}"));
    }
    for v in ["0", "123", "-5", "12345678901234", "99999999999999999999"] {
        b.same(&format!("SET n {v}"));
        b.same("MEMORY USAGE n");
    }
}

fn within(b: &mut Both, line: &str, tolerance: f64) {
    let (theirs, ours) = b.ints(line);
    let off = (ours - theirs).abs() as f64 / theirs as f64;
    println!("{line}: redis {theirs}, redish {ours}");
    assert!(
        off <= tolerance,
        "{line}: redis {theirs}, redish {ours} ({:.1}% off, tolerance {:.0}%)",
        off * 100.0,
        tolerance * 100.0
    );
}

fn fill(b: &mut Both, cmd: &str, key: &str, n: usize, element: impl Fn(usize) -> String) {
    for start in (0..n).step_by(50) {
        let items: Vec<String> = (start..n.min(start + 50)).map(&element).collect();
        b.same(&format!("{cmd} {key} {}", items.join(" ")));
    }
}

#[test]
fn usage_of_aggregates_is_within_tolerance() {
    let Some(mut b) = Both::start() else { return };
    fill(&mut b, "RPUSH", "list:small", 10, |i| format!("e{i}"));
    fill(&mut b, "RPUSH", "list:big", 5000, |i| {
        format!("element-{i}")
    });
    fill(&mut b, "SADD", "set:int", 100, |i| format!("{}", i * 1000));
    fill(&mut b, "SADD", "set:ht", 1000, |i| format!("member:{i}"));
    fill(&mut b, "HSET", "hash:lp", 20, |i| format!("f{i} v{i}"));
    fill(&mut b, "HSET", "hash:ht", 1000, |i| {
        format!("field:{i} value:{i}")
    });
    fill(&mut b, "ZADD", "zset:lp", 20, |i| format!("{i}.5 m{i}"));
    fill(&mut b, "ZADD", "zset:sl", 1000, |i| {
        format!("{i} member:{i}")
    });
    for i in 1..=500 {
        b.same(&format!("XADD stream {i}-1 field value{i} other {i}"));
    }
    b.same("XADD stream:one 1-1 a b");
    for (key, tolerance) in [
        ("list:small", 0.10),
        ("list:big", 0.10),
        ("set:int", 0.10),
        ("set:ht", 0.10),
        ("hash:lp", 0.10),
        ("hash:ht", 0.10),
        ("zset:lp", 0.10),
        ("zset:sl", 0.20),
        ("stream", 0.15),
        ("stream:one", 0.15),
    ] {
        within(&mut b, &format!("MEMORY USAGE {key}"), tolerance);
        within(&mut b, &format!("MEMORY USAGE {key} SAMPLES 0"), tolerance);
    }
}

fn keys_of(reply: &[u8]) -> Vec<String> {
    match parse(reply) {
        Value::Array(items) => items
            .iter()
            .step_by(2)
            .map(|k| k.as_str().unwrap_or_default().to_owned())
            .collect(),
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, _)| k.as_str().unwrap_or_default().to_owned())
            .collect(),
        other => panic!("not a map: {other:?}"),
    }
}

#[test]
fn stats_fields_and_doctor_text() {
    let Some(mut b) = Both::start() else { return };
    let (theirs, ours) = b.both(&split("MEMORY STATS"));
    assert_eq!(keys_of(&ours), keys_of(&theirs));
    b.same("MEMORY DOCTOR");
    b.same("SET a 1");
    b.same("SELECT 2");
    b.same("SET b 1");
    b.same("EXPIRE b 100");
    let (theirs, ours) = b.both(&split("MEMORY STATS"));
    assert_eq!(keys_of(&ours), keys_of(&theirs));
    // The client ids differ (the harness's start-up connections), not the reply's shape.
    b.both(&split("HELLO 3"));
    let (theirs, ours) = b.both(&split("MEMORY STATS"));
    assert_eq!(keys_of(&ours), keys_of(&theirs));
    // RESP3: the report is a verbatim string, as Redis's.
    b.same("MEMORY DOCTOR");
}
