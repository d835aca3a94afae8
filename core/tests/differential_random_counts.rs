//! Differential tests of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER with counts, negative ones
//! above all — those past 1024 picks reply in pieces (`cmd/reply_stream.rs`) — against a
//! real `redis-server` 7.0 (see `common/mod.rs`), in RESP2 and RESP3.
//!
//! Errors, empty and whole replies are compared byte for byte. Random picks cannot be: for
//! them the reply's header must match byte for byte, the number of elements too, and the
//! distinct elements (member, member and value, member and score) sorted, byte for byte —
//! with a hundred picks or more over a few members, each side shows every one of them (for
//! fewer, ours must be among those Redis shows for a big count).
//! Counts that Redis would answer with gigabytes are not sent to it (see `tests/hostile.rs`
//! for what redish does with them).
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_random_counts`
#![allow(clippy::disallowed_methods)]

mod common;

use common::{frame_len, now_ms, show, Conn, Redis};

use redish_core::{Session, SessionConfig, Store};

struct World {
    redis: Redis,
    conn: Conn,
    store: Store,
    session: Session,
}

impl World {
    fn start() -> Option<World> {
        let redis = Redis::start(&[])?;
        let conn = redis.connect();
        let store = Store::default();
        let session = Session::new(1, SessionConfig::default());
        Some(World {
            redis,
            conn,
            store,
            session,
        })
    }

    fn reset(&mut self, resp3: bool) {
        self.conn = self.redis.connect();
        self.conn.call(&[b"FLUSHALL".to_vec()]);
        self.store = Store::default();
        // A small output limit, so that moderate counts come in many pieces.
        let config = SessionConfig {
            max_pending_output_bytes: 4096,
            ..SessionConfig::default()
        };
        self.session = Session::new(self.store.next_client_id(), config);
        if resp3 {
            self.both("HELLO 3");
        }
    }

    /// One whole reply from redish, read as a client would: pieces until the frame is
    /// complete.
    fn ours(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.session.handle_bytes(&common::encode(args));
        let mut got = Vec::new();
        loop {
            self.session.process(&mut self.store, now_ms());
            let streaming = self.session.is_streaming();
            let out = self.session.poll_transmit();
            if streaming {
                assert!(out.len() <= 4096 + 64, "output bounded: {}", out.len());
            }
            got.extend_from_slice(out);
            let n = out.len();
            self.session.consume_transmit(n);
            if let Some(len) = frame_len(&got, 0) {
                assert_eq!(len, got.len(), "one reply: {}", show(&got));
                assert!(!self.session.is_streaming());
                return got;
            }
            assert!(n > 0, "stalled: {}", show(&got));
        }
    }

    fn both(&mut self, line: &str) -> (Vec<u8>, Vec<u8>) {
        let args = split(line);
        (self.conn.call(&args), self.ours(&args))
    }

    fn same(&mut self, line: &str) {
        let (theirs, ours) = self.both(line);
        assert_eq!(show(&ours), show(&theirs), "{line}");
    }

    /// Random picks: same header, same number of elements, same distinct elements.
    fn picks(&mut self, line: &str) {
        let (theirs, ours) = self.both(line);
        let (a, b) = (shape(&theirs), shape(&ours));
        assert_eq!(b.0, a.0, "{line}: header");
        assert_eq!(b.1, a.1, "{line}: element count");
        if a.1 >= 100 {
            assert_eq!(b.2, a.2, "{line}: distinct elements");
        } else {
            // Few picks need not show every element: ours must be among those of a big
            // count of the same command on Redis.
            let mut big = split(line);
            let at = big.iter().position(|w| w.starts_with(b"-")).unwrap();
            big[at] = b"-1000".to_vec();
            let all = shape(&self.conn.call(&big)).2;
            assert!(b.2.iter().all(|e| all.contains(e)), "{line}: {:?}", b.2);
        }
    }
}

fn split(line: &str) -> Vec<Vec<u8>> {
    line.split_whitespace()
        .map(|w| w.as_bytes().to_vec())
        .collect()
}

/// An array reply's header line, its element count and its distinct elements, sorted.
fn shape(reply: &[u8]) -> (String, usize, Vec<String>) {
    let line_end = reply.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let header = show(&reply[..line_end]);
    let mut at = line_end;
    let mut elements = Vec::new();
    while at < reply.len() {
        let n = frame_len(reply, at).expect("whole");
        elements.push(show(&reply[at..at + n]));
        at += n;
    }
    let count = elements.len();
    elements.sort();
    elements.dedup();
    (header, count, elements)
}

fn world() -> Option<World> {
    let w = World::start();
    if w.is_none() {
        eprintln!("skipped: no redis-server (set REDISH_REQUIRE_REDIS=1 to fail instead)");
    }
    w
}

const SETUP: &[&str] = &[
    "SADD s a b c",
    "HSET h f1 v1 f2 v2 f3 v3",
    "ZADD z 1 a 2.5 b -3 c",
    "SET str x",
];

#[test]
fn counts_and_errors() {
    let Some(mut w) = world() else { return };
    for resp3 in [false, true] {
        w.reset(resp3);
        for line in SETUP {
            w.same(line);
        }
        for line in [
            // LONG_MIN, and past the range.
            "SRANDMEMBER s -9223372036854775808",
            "SRANDMEMBER s 9223372036854775808",
            "SRANDMEMBER s -9223372036854775809",
            "SRANDMEMBER s x",
            "HRANDFIELD h -9223372036854775808",
            "HRANDFIELD h -9223372036854775808 WITHVALUES",
            "HRANDFIELD h -4611686018427387904 WITHVALUES",
            "HRANDFIELD h 4611686018427387904 WITHVALUES",
            "HRANDFIELD h -2147483648 WITHSCORES",
            "HRANDFIELD h -2147483648 WITHVALUES x",
            "ZRANDMEMBER z -9223372036854775808",
            "ZRANDMEMBER z -9223372036854775808 WITHSCORES",
            "ZRANDMEMBER z -4611686018427387904 WITHSCORES",
            "ZRANDMEMBER z 4611686018427387904 WITHSCORES",
            "ZRANDMEMBER z -2147483648 WITHVALUES",
            // Missing keys and wrong types answer at once, whatever the count.
            "SRANDMEMBER nokey -2147483648",
            "HRANDFIELD nokey -2147483648 WITHVALUES",
            "ZRANDMEMBER nokey -9223372036854775807 WITHSCORES",
            "SRANDMEMBER str -2147483648",
            "HRANDFIELD str -2147483648 WITHVALUES",
            "ZRANDMEMBER str -2147483648 WITHSCORES",
            "SRANDMEMBER s 0",
            "HRANDFIELD h 0 WITHVALUES",
            "ZRANDMEMBER z 0 WITHSCORES",
            // Counts covering the whole value reply all of it, in Redis's order.
            "ZRANDMEMBER z 10 WITHSCORES",
            "ZRANDMEMBER z 3",
            "HRANDFIELD h 3 WITHVALUES",
        ] {
            w.same(line);
        }
    }
}

#[test]
fn negative_counts_small_and_moderate() {
    let Some(mut w) = world() else { return };
    for resp3 in [false, true] {
        w.reset(resp3);
        for line in SETUP {
            w.same(line);
        }
        for count in [-1, -2, -5, -100, -1024, -1025, -5000, -30_000] {
            w.picks(&format!("SRANDMEMBER s {count}"));
            w.picks(&format!("HRANDFIELD h {count}"));
            w.picks(&format!("HRANDFIELD h {count} WITHVALUES"));
            w.picks(&format!("ZRANDMEMBER z {count}"));
            w.picks(&format!("ZRANDMEMBER z {count} WITHSCORES"));
        }
        // Hash-table encodings too (past the listpack and intset limits).
        let members: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
        w.same(&format!("SADD big {}", members.join(" ")));
        let pairs: Vec<String> = members.iter().map(|m| format!("{m} {m}v")).collect();
        w.same(&format!("HSET bigh {}", pairs.join(" ")));
        let scored: Vec<String> = (0..200).map(|i| format!("{i}.5 m{i}")).collect();
        w.same(&format!("ZADD bigz {}", scored.join(" ")));
        for line in [
            "SRANDMEMBER big -20000",
            "HRANDFIELD bigh -20000 WITHVALUES",
            "ZRANDMEMBER bigz -20000 WITHSCORES",
        ] {
            w.picks(line);
        }
    }
}
