//! Differential tests of `maxmemory` eviction and the per-key access field: the same
//! commands go to a redish [`Session`] and to a real `redis-server` 7.0, in RESP2 and RESP3,
//! and the replies (and `evicted` notifications) must match byte for byte.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_evict`.
//!
//! Only deterministic outcomes are compared: with `lfu-log-factor 0` every access counts,
//! so OBJECT FREQ is exact; with `maxmemory 1` every evictable key goes, and with more
//! samples than keys the pool sees them all, so `volatile-ttl` evicts in expiry order.
//! redish's used memory comes from the adapter's figure here (no gauge), set above the
//! limit: evicting never gets under 1 byte, as on redis-server.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{now_ms, show, Conn, Redis};
use redish_core::{Session, SessionConfig, Store};

fn args(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').map(|t| t.as_bytes().to_vec()).collect()
}

struct Both {
    _redis: Redis,
    store: Store,
    session: Session,
    conn: Conn,
    sub_session: Session,
    sub_conn: Conn,
}

impl Both {
    fn start(resp3: bool) -> Option<Both> {
        let redis = Redis::start(&[])?;
        let mut store = Store::default();
        // Far over any limit set below: redish's reading without a gauge.
        store.process_info_mut().used_memory_bytes = 64 << 20;
        let mut both = Both {
            session: Session::new(store.next_client_id(), SessionConfig::default()),
            sub_session: Session::new(store.next_client_id(), SessionConfig::default()),
            store,
            conn: redis.connect(),
            sub_conn: redis.connect(),
            _redis: redis,
        };
        if resp3 {
            both.same("HELLO 3 SETNAME x", false);
        }
        Some(both)
    }

    fn ours(&mut self, line: &str) -> Vec<u8> {
        self.session.handle_bytes(&common::encode(&args(line)));
        self.session.process(&mut self.store, now_ms());
        let out = self.session.poll_transmit().to_vec();
        self.session.consume_transmit(out.len());
        let now = now_ms();
        while let Some(d) = self.store.poll_delivery() {
            if d.to == self.sub_session.id() {
                self.sub_session.handle_message(&d.message, now);
            }
        }
        out
    }

    /// Sends `line` to both and compares the replies (HELLO's map differs: not compared).
    fn same(&mut self, line: &str, compare: bool) {
        let ours = self.ours(line);
        let theirs = self.conn.call(&args(line));
        if !compare {
            return;
        }
        // OBJECT IDLETIME reads each server's LRU clock, in whole seconds that tick at
        // different moments on the two: one second apart is the same answer.
        if line.to_ascii_uppercase().starts_with("OBJECT IDLETIME") {
            let secs = |r: &[u8]| {
                std::str::from_utf8(r)
                    .ok()
                    .and_then(|t| t.strip_prefix(':')?.trim_end().parse::<i64>().ok())
            };
            if let (Some(a), Some(b)) = (secs(&ours), secs(&theirs)) {
                assert!((a - b).abs() <= 1, "{line}: redish {a}, redis {b}");
                return;
            }
        }
        assert_eq!(show(&ours), show(&theirs), "{line}");
    }

    fn subscribe(&mut self, channel: &str) {
        let line = format!("SUBSCRIBE {channel}");
        self.sub_session.handle_bytes(&common::encode(&args(&line)));
        self.sub_session.process(&mut self.store, now_ms());
        let ours = self.sub_session.poll_transmit().to_vec();
        self.sub_session.consume_transmit(ours.len());
        let theirs = self.sub_conn.call(&args(&line));
        assert_eq!(show(&ours), show(&theirs));
    }

    /// The next `n` messages on the subscriber, on both sides.
    fn messages(&mut self, n: usize) {
        let ours = self.sub_session.poll_transmit().to_vec();
        self.sub_session.consume_transmit(ours.len());
        let mut theirs = Vec::new();
        for _ in 0..n {
            theirs.extend(self.sub_conn.read().expect("a message"));
        }
        assert_eq!(show(&ours), show(&theirs), "evicted notifications");
    }
}

#[test]
fn object_freq_counts_accesses_as_redis_with_log_factor_0() {
    for resp3 in [false, true] {
        let Some(mut w) = Both::start(resp3) else {
            return;
        };
        for line in [
            "OBJECT FREQ nokey",
            "SET k v",
            "OBJECT FREQ k",
            "CONFIG SET maxmemory-policy allkeys-lfu",
            "CONFIG SET lfu-log-factor 0",
            "CONFIG GET lfu-log-factor",
            "CONFIG GET lfu-decay-time",
            "CONFIG GET maxmemory-eviction-tenacity",
            "SET f v",
            "OBJECT FREQ f",
            "GET f",
            "GET f",
            "GET f",
            "OBJECT FREQ f",
            "OBJECT FREQ f",
            "SET f w",
            "OBJECT FREQ f",
            "GETRANGE f 0 0",
            "STRLEN f",
            "OBJECT FREQ f",
            "OBJECT IDLETIME f",
            "OBJECT FREQ nokey",
            "CONFIG SET maxmemory-policy allkeys-lru",
            "OBJECT FREQ f",
            "OBJECT IDLETIME f",
            "CONFIG SET lfu-log-factor -1",
            "CONFIG SET maxmemory-eviction-tenacity 101",
        ] {
            w.same(line, true);
        }
    }
}

#[test]
fn volatile_ttl_evicts_the_soonest_expiring_keys_first_then_ooms() {
    for resp3 in [false, true] {
        let Some(mut w) = Both::start(resp3) else {
            return;
        };
        w.same("CONFIG SET notify-keyspace-events Ee", true);
        w.same("CONFIG SET maxmemory-policy volatile-ttl", true);
        w.same("CONFIG SET maxmemory-samples 10", true);
        w.subscribe("__keyevent@0__:evicted");
        for line in [
            "SET p1 x",
            "SET p2 x",
            "SET v1 x EX 3000",
            "SET v2 x EX 1000",
            "SET v3 x EX 2000",
        ] {
            w.same(line, true);
        }
        // Lowering the limit evicts at once, soonest expiry first, until no volatile key
        // is left; then writes are refused and reads go on.
        w.same("CONFIG SET maxmemory 1", true);
        w.messages(3);
        for line in [
            "DBSIZE",
            "SET v4 x EX 10",
            "GET p1",
            "EXISTS v1 v2 v3",
            "DEL p2",
        ] {
            w.same(line, true);
        }
        let ours = String::from_utf8(w.ours("INFO stats")).unwrap();
        assert!(ours.contains("evicted_keys:3\r\n"), "{ours}");
        let theirs = String::from_utf8(w.conn.call(&args("INFO stats"))).unwrap();
        assert!(theirs.contains("evicted_keys:3\r\n"), "{theirs}");
    }
}

#[test]
fn allkeys_policies_evict_everything_under_a_tiny_limit_and_noeviction_refuses() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"] {
        let Some(mut w) = Both::start(false) else {
            return;
        };
        w.same(&format!("CONFIG SET maxmemory-policy {policy}"), true);
        for line in ["SET a 1", "SET b 2", "RPUSH l x", "CONFIG SET maxmemory 1"] {
            w.same(line, true);
        }
        for line in [
            "DBSIZE",
            "SET c 3",
            "GET a",
            "INCR a",
            "MULTI",
            "PING",
            "EXEC",
            "CONFIG SET maxmemory 0",
            "SET c 3",
            "DBSIZE",
        ] {
            w.same(line, true);
        }
    }
}

#[test]
fn info_reports_redis_memory_and_eviction_fields() {
    let Some(mut w) = Both::start(false) else {
        return;
    };
    let ours = String::from_utf8(w.ours("INFO")).unwrap();
    let theirs = String::from_utf8(w.conn.call(&args("INFO"))).unwrap();
    for field in [
        "used_memory",
        "used_memory_rss",
        "used_memory_peak",
        "used_memory_overhead",
        "used_memory_dataset",
        "used_memory_startup",
        "mem_fragmentation_ratio",
        "mem_allocator",
        "maxmemory",
        "maxmemory_policy",
        "mem_clients_normal",
        "mem_not_counted_for_evict",
        "lazyfree_pending_objects",
        "evicted_keys",
        "total_eviction_exceeded_time",
        "current_eviction_exceeded_time",
    ] {
        let line = format!("\r\n{field}:");
        assert!(theirs.contains(&line), "redis-server lacks {field}");
        assert!(ours.contains(&line), "redish lacks {field}");
    }
}

#[test]
fn restore_freq_and_idletime_follow_the_policy() {
    let Some(mut w) = Both::start(false) else {
        return;
    };
    w.same("SET src v", true);
    let payload = w.conn.call(&args("DUMP src"));
    // A bulk string: `$<len>\r\n<bytes>\r\n`.
    let start = payload.iter().position(|&b| b == b'\n').unwrap() + 1;
    let payload = payload[start..payload.len() - 2].to_vec();
    let restore = |key: &str, opt: &str, n: &str| -> Vec<Vec<u8>> {
        vec![
            b"RESTORE".to_vec(),
            key.as_bytes().to_vec(),
            b"0".to_vec(),
            payload.clone(),
            opt.as_bytes().to_vec(),
            n.as_bytes().to_vec(),
        ]
    };
    for policy in ["allkeys-lfu", "allkeys-lru"] {
        w.same(&format!("CONFIG SET maxmemory-policy {policy}"), true);
        for (key, opt, n) in [("f", "FREQ", "42"), ("i", "IDLETIME", "1000")] {
            let cmd = restore(&format!("{key}{policy}"), opt, n);
            w.session.handle_bytes(&common::encode(&cmd));
            w.session.process(&mut w.store, now_ms());
            let ours = w.session.poll_transmit().to_vec();
            w.session.consume_transmit(ours.len());
            let theirs = w.conn.call(&cmd);
            assert_eq!(show(&ours), show(&theirs));
        }
        w.same(&format!("OBJECT FREQ f{policy}"), true);
        w.same(&format!("OBJECT FREQ i{policy}"), true);
        w.same(&format!("OBJECT IDLETIME i{policy}"), true);
    }
}
