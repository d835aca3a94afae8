//! Differential test of MONITOR: one connection in MONITOR mode watches another run a
//! scenario, on a redish [`Session`] pair and on a real `redis-server` 7.0 (see
//! `common/mod.rs`), with the worker in RESP2 and in RESP3; the lines must match.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_monitor`.
//!
//! Normalisation (the only one): each line's timestamp (`+1700000000.123456`) is blanked.
//! Both servers name the client by their Unix socket (`[0 unix:/path]`): redish is told
//! Redis's socket path as its `unixsocket`.

// The harness reads the clock, which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{now_ms, show, Conn, Redis};
use redish_core::db::ClientConn;
use redish_core::{Session, SessionConfig, Store};

struct World {
    _redis: Redis,
    watcher: Conn,
    worker: Conn,
    store: Store,
    our_watcher: Session,
    our_worker: Session,
}

impl World {
    fn start() -> Option<World> {
        let redis = Redis::start(&[])?;
        let mut store = Store::default();
        store.config_mut().unixsocket = redis.socket.display().to_string();
        let session = |store: &mut Store| {
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
            Session::new(id, SessionConfig::default())
        };
        let our_watcher = session(&mut store);
        let our_worker = session(&mut store);
        Some(World {
            watcher: redis.connect(),
            worker: redis.connect(),
            _redis: redis,
            store,
            our_watcher,
            our_worker,
        })
    }

    /// Runs `args` on redish's `worker` (or watcher), routes deliveries; returns the reply.
    fn ours(&mut self, watcher: bool, args: &[Vec<u8>]) -> Vec<u8> {
        let s = if watcher {
            &mut self.our_watcher
        } else {
            &mut self.our_worker
        };
        s.handle_bytes(&common::encode(args));
        s.process(&mut self.store, now_ms());
        let out = s.poll_transmit().to_vec();
        s.consume_transmit(out.len());
        while let Some(d) = self.store.poll_delivery() {
            if d.to == self.our_watcher.id() {
                self.our_watcher.handle_message(&d.message, now_ms());
            }
        }
        out
    }

    /// The lines redish's watcher received.
    fn our_lines(&mut self) -> Vec<String> {
        let out = String::from_utf8_lossy(self.our_watcher.poll_transmit()).into_owned();
        let n = self.our_watcher.poll_transmit().len();
        self.our_watcher.consume_transmit(n);
        out.split_inclusive("\r\n").map(normalise).collect()
    }
}

fn normalise(line: &str) -> String {
    match line.split_once(' ') {
        Some((ts, rest)) if ts.starts_with('+') && ts.contains('.') => format!("+T {rest}"),
        _ => line.to_owned(),
    }
}

fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| t.as_bytes().to_vec())
        .collect()
}

const SCENARIO: &[&str] = &[
    "@quoted",
    "SET plain v",
    "MULTI",
    "SET q 1",
    "GET q",
    "EXEC",
    "MULTI",
    "SET q",
    "EXEC",
    "FOO bar",
    "GET",
    "AUTH xx",
    "CONFIG GET hz",
    "SLOWLOG LEN",
    "INFO keyspace",
    "SELECT 3",
    "SET k 12",
    "LPUSH l a",
    "BLPOP l 0",
    "PING",
    "MONITOR",
    "SELECT 0",
];

fn run(resp3: bool) {
    let Some(mut w) = World::start() else { return };
    let monitor = split("MONITOR");
    assert_eq!(w.watcher.call(&monitor), b"+OK\r\n");
    assert_eq!(w.ours(true, &monitor), b"+OK\r\n");
    // MONITOR again: ignored, no reply. The watcher may not touch the keyspace, but may
    // PING (which it then sees itself).
    w.watcher.send(&monitor);
    w.ours(true, &monitor);
    for line in ["GET a", "SET a b", "DBSIZE", "PING"] {
        let args = split(line);
        let t = w.watcher.call(&args);
        let o = w.ours(true, &args);
        assert_eq!(show(&t), show(&o), "watcher: {line}");
    }
    let ping_seen = normalise(&String::from_utf8_lossy(&w.watcher.read().unwrap()));
    assert_eq!(vec![ping_seen], w.our_lines());
    if resp3 {
        let hello = split("HELLO 3");
        w.worker.call(&hello);
        w.ours(false, &hello);
    }
    let mut theirs = Vec::new();
    for line in SCENARIO {
        let args = if *line == "@quoted" {
            vec![
                b"SET".to_vec(),
                b"q\"uote\\d".to_vec(),
                b"tab\t nl\n cr\r bell\x07 bs\x08 bin\x01\xff".to_vec(),
            ]
        } else {
            split(line)
        };
        let t = w.worker.call(&args);
        let o = w.ours(false, &args);
        assert_eq!(show(&t), show(&o), "{line} (resp3={resp3})");
    }
    // Redis's lines: as many as redish's watcher got; then nothing more must be pending.
    let ours = w.our_lines();
    for _ in 0..ours.len() {
        let line = w.watcher.read().expect("monitor line");
        theirs.push(normalise(&String::from_utf8_lossy(&line)));
    }
    assert_eq!(theirs, ours, "resp3={resp3}");
    // The next line on both is the same PING: nothing was left unread on Redis's side.
    let ping = split("PING");
    w.worker.call(&ping);
    w.ours(false, &ping);
    let next = normalise(&String::from_utf8_lossy(&w.watcher.read().unwrap()));
    assert_eq!(vec![next], w.our_lines());
    assert!(ours.len() > 10, "{ours:?}");
}

#[test]
fn monitor_lines_resp2() {
    run(false);
}

#[test]
fn monitor_lines_resp3() {
    run(true);
}
