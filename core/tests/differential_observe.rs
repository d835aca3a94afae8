//! Differential tests of SLOWLOG and LATENCY: the same scenario goes to a redish
//! [`Session`] and to a real `redis-server` 7.0 (see `common/mod.rs`), both with
//! `slowlog-log-slower-than 0` so that every command is logged, in RESP2 and RESP3.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_observe`.
//!
//! Normalisations (the only places replies are not compared byte for byte): in SLOWLOG GET
//! entries the timestamp and the duration are blanked, and ids are counted from the oldest
//! entry of the reply (Redis's counter also counted the harness's own start-up PINGs).
//! LATENCY HISTOGRAM is compared by command names and call counts, its buckets being times.

// The harness reads the clock, which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{frame_len, now_ms, parse, show, Conn, Redis, Value};
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
        let redis = Redis::start(&["--slowlog-log-slower-than", "0"])?;
        let conn = redis.connect();
        let mut store = Store::default();
        store.config_mut().slowlog_log_slower_than = 0;
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
}

fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| t.as_bytes().to_vec())
        .collect()
}

/// A SLOWLOG GET reply with each entry's time and duration blanked and its id counted from
/// the oldest entry's.
fn normalise_slowlog(reply: &[u8]) -> Vec<u8> {
    if reply[0] != b'*' {
        return reply.to_vec();
    }
    let line_end = |at: usize| at + reply[at..].windows(2).position(|w| w == b"\r\n").unwrap();
    let head = line_end(0) + 2;
    let mut entries = Vec::new();
    let mut pos = head;
    while pos < reply.len() {
        let n = frame_len(reply, pos).unwrap();
        entries.push(pos..pos + n);
        pos += n;
    }
    let id_of = |at: usize| -> i64 {
        let start = line_end(at) + 3;
        std::str::from_utf8(&reply[start..line_end(start)])
            .unwrap()
            .parse()
            .unwrap()
    };
    let base = entries.iter().map(|r| id_of(r.start)).min().unwrap_or(0);
    let mut out = reply[..head].to_vec();
    for r in entries {
        let mut at = line_end(r.start) + 2;
        out.extend_from_slice(&reply[r.start..at]);
        for k in 0..3 {
            let end = line_end(at);
            let v: i64 = std::str::from_utf8(&reply[at + 1..end])
                .unwrap()
                .parse()
                .unwrap();
            let shown = if k == 0 { v - base } else { 0 };
            out.extend_from_slice(format!(":{shown}\r\n").as_bytes());
            at = end + 2;
        }
        out.extend_from_slice(&reply[at..r.end]);
    }
    out
}

/// (name, calls) of a LATENCY HISTOGRAM reply, checking each histogram's last cumulative
/// count is its call count.
fn histogram_calls(reply: &[u8]) -> Vec<(String, i64)> {
    let pairs = |v: Value| -> Vec<(Value, Value)> {
        match v {
            Value::Map(p) => p,
            Value::Array(items) => items
                .chunks(2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect(),
            other => panic!("not a map: {other:?}"),
        }
    };
    pairs(parse(reply))
        .into_iter()
        .map(|(name, h)| {
            let h = pairs(h);
            let Value::Int(calls) = h[0].1 else {
                panic!("calls: {h:?}")
            };
            let buckets = pairs(h[1].1.clone());
            assert_eq!(buckets.last().map(|b| b.1.clone()), Some(Value::Int(calls)));
            (name.as_str().unwrap().to_owned(), calls)
        })
        .collect()
}

const SCENARIO: &[&str] = &[
    "SLOWLOG RESET",
    "CLIENT SETNAME watcher",
    "SET k v",
    "@long",
    "@many",
    "MULTI",
    "SET q 1",
    "GET q",
    "EXEC",
    "AUTH secret",
    "AUTH user secret",
    "GET",
    "NOSUCH cmd",
    "SLOWLOG LEN",
    "SLOWLOG GET 2",
    "SLOWLOG GET -1",
    "SLOWLOG GET 0",
    "SLOWLOG GET -2",
    "SLOWLOG GET x",
    "SLOWLOG GET 1 2",
    "SLOWLOG HELP",
    "SLOWLOG LEN extra",
    "SLOWLOG FOO",
    "SLOWLOG",
    "CONFIG SET slowlog-max-len 3",
    "PING",
    "SLOWLOG LEN",
    "SLOWLOG GET",
    "CONFIG SET slowlog-max-len 128",
    "CONFIG SET slowlog-log-slower-than -1",
    "PING",
    "SLOWLOG LEN",
    "CONFIG SET slowlog-log-slower-than 0",
    "SLOWLOG RESET",
    "SLOWLOG GET",
    "LATENCY HELP",
    "LATENCY LATEST",
    "LATENCY HISTORY command",
    "LATENCY HISTORY",
    "LATENCY RESET",
    "LATENCY RESET command fast-command",
    "LATENCY FOO",
    "LATENCY GRAPH nosuch",
    "LATENCY DOCTOR extra",
    "LATENCY DOCTOR",
    "LATENCY GRAPH",
    "LATENCY GRAPH a b",
    "LATENCY HISTOGRAM nosuch",
    "@histogram LATENCY HISTOGRAM set get nosuch",
    "@histogram LATENCY HISTOGRAM client",
    "CONFIG SET latency-tracking no",
    "@histogram LATENCY HISTOGRAM set",
    "CONFIG SET latency-tracking yes",
];

fn run(resp3: bool) {
    let Some(mut w) = Both::start() else { return };
    if resp3 {
        // HELLO's reply carries ids and versions that differ; only its effect matters.
        w.both(&split("HELLO 3"));
    }
    for line in SCENARIO {
        let (args, histogram) = match *line {
            "@long" => {
                let long = vec![b'x'; 200];
                (vec![b"SET".to_vec(), b"long".to_vec(), long], false)
            }
            "@many" => {
                let mut a = vec![b"RPUSH".to_vec(), b"list".to_vec()];
                a.extend((0..40).map(|i| format!("e{i}").into_bytes()));
                (a, false)
            }
            l => match l.strip_prefix("@histogram ") {
                Some(rest) => (split(rest), true),
                None => (split(l), false),
            },
        };
        let (theirs, ours) = w.both(&args);
        if histogram {
            assert_eq!(
                histogram_calls(&theirs),
                histogram_calls(&ours),
                "{line} (resp3={resp3})"
            );
            continue;
        }
        let (t, o) = if line.starts_with("SLOWLOG GET") {
            (normalise_slowlog(&theirs), normalise_slowlog(&ours))
        } else {
            (theirs, ours)
        };
        assert_eq!(
            show(&t),
            show(&o),
            "{line} (resp3={resp3}): redis vs redish"
        );
    }
}

#[test]
fn slowlog_and_latency_resp2() {
    run(false);
}

#[test]
fn slowlog_and_latency_resp3() {
    run(true);
}
