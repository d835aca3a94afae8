//! Differential tests: the same command sequences go through a redish [`Session`] (in memory,
//! on a [`Store`]) and through a real `redis-server` 7.0 started as a child process on a Unix
//! socket only (`--port 0`, so runs never collide), and the reply bytes must be equal.
//!
//! Without `redis-server` on the PATH (or at `$REDISH_REDIS_SERVER`) each test prints
//! `SKIP: redis-server not found` and passes, unless `REDISH_REQUIRE_REDIS=1`, which makes it
//! fail instead. Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential`.
//!
//! Time: redish gets `now_ms` from the system clock before each command, Redis reads its own
//! clock, so the two see times a few milliseconds apart. Sequences avoid expiries that could
//! fall between the two (TTLs are ≤ 0, in the past, or ≥ 100 s; the expiry scenarios sleep
//! well past their deadlines).
//!
//! Normalisations — the only places replies are not compared byte for byte:
//! 1. HELLO's `id` field: connection ids are counted by each server.
//! 2. TTL, PTTL, EXPIRETIME and PEXPIRETIME (also inside EXEC): non-negative results may
//!    differ by up to 2 s / 2000 ms, the clocks being read at different moments.
//! 3. KEYS and full SCAN iterations are compared as sorted sets of keys (see below).
//!
//! Deliberate differences (not compared):
//! - SCAN cursors and the order of KEYS/SCAN results: redish walks keys in hash order with
//!   the hash as cursor (every key present throughout an iteration is returned exactly
//!   once, even while the table grows); Redis walks its table's buckets. Both end with
//!   cursor 0 and cover the same keys. COUNT is a number of hashes for redish, of buckets
//!   for Redis, so how many keys one step returns differs.
//! - RANDOMKEY's choice (a seeded generator in the store): only compared where there is one
//!   key or none.
//! - WATCH on a key already past its time collects it at once (Redis flags the watch and
//!   leaves the key until something touches it): EXEC behaves the same, but DBSIZE, which
//!   counts uncollected keys, may be one lower until Redis's active expiry catches up.

// The harness drives a real server: it reads the clock and the environment and sleeps,
// which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::{encode, frame_len, now_ms, show, Conn, Redis};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use redish_core::{Session, SessionConfig, Store};

// --- The real server --------------------------------------------------------------------

fn call_redish(store: &mut Store, session: &mut Session, args: &[Vec<u8>]) -> Vec<u8> {
    session.handle_bytes(&encode(args));
    session.process(store, now_ms());
    let out = session.poll_transmit().to_vec();
    session.consume_transmit(out.len());
    out
}

// --- Comparing ----------------------------------------------------------------------------

/// Normalisation 1: HELLO's connection id.
fn normalise(reply: &[u8]) -> Vec<u8> {
    let marker = b"$2\r\nid\r\n:";
    let Some(i) = reply.windows(marker.len()).position(|w| w == marker) else {
        return reply.to_vec();
    };
    let start = i + marker.len();
    let end = start + reply[start..].iter().position(|&c| c == b'\r').unwrap();
    [&reply[..start], b"<id>", &reply[end..]].concat()
}

fn is_ttl_command(name: &[u8]) -> Option<i64> {
    match name.to_ascii_lowercase().as_slice() {
        b"ttl" | b"expiretime" => Some(2),
        b"pttl" | b"pexpiretime" => Some(2000),
        _ => None,
    }
}

/// Normalisation 2: a TTL-family integer reply may differ by `tolerance` when non-negative.
fn ttl_close(a: &[u8], b: &[u8], tolerance: i64) -> bool {
    let int = |r: &[u8]| -> Option<i64> {
        std::str::from_utf8(r.strip_prefix(b":")?.strip_suffix(b"\r\n")?)
            .ok()?
            .parse()
            .ok()
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) if x >= 0 && y >= 0 => (x - y).abs() <= tolerance,
        _ => a == b,
    }
}

/// Splits an aggregate reply into its elements' bytes (after the header).
fn elements(reply: &[u8]) -> Option<Vec<&[u8]>> {
    if reply.first() != Some(&b'*') {
        return None;
    }
    let line_end = reply.windows(2).position(|w| w == b"\r\n")?;
    let n: usize = std::str::from_utf8(&reply[1..line_end])
        .ok()?
        .parse()
        .ok()?;
    let mut pos = line_end + 2;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = frame_len(reply, pos)?;
        out.push(&reply[pos..pos + len]);
        pos += len;
    }
    Some(out)
}

/// Compares one reply to `args` (whose transaction queue so far is `queued`), applying the
/// normalisations.
fn same_reply(args: &[Vec<u8>], queued: &[Vec<u8>], ours: &[u8], theirs: &[u8]) -> bool {
    let (ours, theirs) = (normalise(ours), normalise(theirs));
    if ours == theirs {
        return true;
    }
    if let Some(tol) = is_ttl_command(&args[0]) {
        return ttl_close(&ours, &theirs, tol);
    }
    if args[0].eq_ignore_ascii_case(b"exec") {
        if let (Some(a), Some(b)) = (elements(&ours), elements(&theirs)) {
            return a.len() == b.len()
                && a.len() == queued.len()
                && a.iter().zip(&b).zip(queued).all(|((x, y), name)| {
                    x == y || is_ttl_command(name).is_some_and(|tol| ttl_close(x, y, tol))
                });
        }
    }
    false
}

fn show_args(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| match a.is_empty() {
            true => "\"\"".to_owned(),
            false => String::from_utf8_lossy(a).into_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One client of both servers: a redish session and a connection to Redis, with the
/// transaction queue both are in (to pair EXEC's replies with their commands).
struct Client {
    session: Session,
    conn: Conn,
    queued: Option<Vec<Vec<u8>>>,
}

/// Both servers, and the clients connected to them.
struct World {
    redis: Redis,
    store: Store,
    admin: Conn,
}

impl World {
    fn start() -> Option<World> {
        let redis = Redis::start(&[])?;
        let admin = redis.connect();
        Some(World {
            redis,
            store: Store::default(),
            admin,
        })
    }

    /// Empties both servers, for a fresh case.
    fn reset(&mut self) {
        self.admin.call(&[b"FLUSHALL".to_vec()]);
        self.store = Store::default();
    }

    fn client(&mut self) -> Client {
        Client {
            session: Session::new(self.store.next_client_id(), SessionConfig::default()),
            conn: self.redis.connect(),
            queued: None,
        }
    }

    /// Runs `args` on both sides; returns both replies, or a description of the mismatch.
    fn step(&mut self, c: &mut Client, args: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let theirs = c.conn.call(args);
        let ours = call_redish(&mut self.store, &mut c.session, args);
        let queued = c.queued.clone().unwrap_or_default();
        let name = args[0].to_ascii_lowercase();
        match name.as_slice() {
            b"multi" if theirs == b"+OK\r\n" => c.queued = Some(Vec::new()),
            b"exec" | b"discard" => c.queued = None,
            _ if theirs == b"+QUEUED\r\n" => {
                if let Some(q) = &mut c.queued {
                    q.push(args[0].clone());
                }
            }
            _ => {}
        }
        if same_reply(args, &queued, &ours, &theirs) {
            Ok(theirs)
        } else {
            Err(format!(
                "{}\n  redis:  {}\n  redish: {}",
                show_args(args),
                show(&theirs),
                show(&ours)
            ))
        }
    }
}

// --- Hand-written scenarios ---------------------------------------------------------------

/// Splits a scenario line into arguments: spaces separate, `""` is an empty argument, and
/// `@future_s` / `@future_ms` become a fixed time 10⁵ s from now.
fn split(line: &str, future_ms: u64) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "\"\"" => Vec::new(),
            "@future_s" => (future_ms / 1000).to_string().into_bytes(),
            "@future_ms" => future_ms.to_string().into_bytes(),
            t => t.as_bytes().to_vec(),
        })
        .collect()
}

fn sorted_bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = elements(reply)
        .unwrap_or_else(|| panic!("not an array: {}", show(reply)))
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    keys.sort();
    keys
}

/// A full SCAN iteration with the given options: the sorted keys seen.
fn full_scan(call: &mut dyn FnMut(&[Vec<u8>]) -> Vec<u8>, opts: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut cursor = b"0".to_vec();
    let mut keys = Vec::new();
    for _ in 0..10_000 {
        let mut args = vec![b"SCAN".to_vec(), cursor.clone()];
        args.extend_from_slice(opts);
        let reply = call(&args);
        let parts = elements(&reply).unwrap_or_else(|| panic!("SCAN replied {}", show(&reply)));
        let c = parts[0];
        let start = c.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
        cursor = c[start..c.len() - 2].to_vec();
        keys.extend(sorted_bulks(parts[1]));
        if cursor == b"0" {
            keys.sort();
            return keys;
        }
    }
    panic!("SCAN never ended");
}

/// Runs scenario lines on two clients (lines starting `2:` go to the second), in RESP2 or
/// RESP3. Other directives: `@sleep ms`, `@sorted CMD…` (compare as sorted sets),
/// `@scan OPTS…` (full iterations compared as sorted sets).
fn scenario(world: &mut World, resp3: bool, lines: &[&str]) {
    world.reset();
    let future_ms = now_ms() + 100_000_000;
    let mut c1 = world.client();
    let mut c2 = world.client();
    if resp3 {
        for c in [&mut c1, &mut c2] {
            world.step(c, &split("HELLO 3", 0)).unwrap();
        }
    }
    for (i, line) in lines.iter().enumerate() {
        let (c, line) = match line.strip_prefix("2:") {
            Some(rest) => (&mut c2, rest),
            None => (&mut c1, *line),
        };
        let fail = |msg: String| -> ! {
            panic!("RESP{} scenario step {i}: {msg}", if resp3 { 3 } else { 2 })
        };
        if let Some(ms) = line.strip_prefix("@sleep ") {
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
        } else if let Some(cmd) = line.strip_prefix("@sorted ") {
            let args = split(cmd, future_ms);
            let theirs = sorted_bulks(&c.conn.call(&args));
            let ours = sorted_bulks(&call_redish(&mut world.store, &mut c.session, &args));
            if theirs != ours {
                fail(format!("{cmd}: redis {theirs:?} redish {ours:?}"));
            }
        } else if let Some(opts) = line.strip_prefix("@scan") {
            let opts = split(opts, future_ms);
            let theirs = full_scan(&mut |a| c.conn.call(a), &opts);
            let store = &mut world.store;
            let session = &mut c.session;
            let ours = full_scan(&mut |a| call_redish(store, session, a), &opts);
            if theirs != ours {
                fail(format!("SCAN{opts:?}: redis {theirs:?} redish {ours:?}"));
            }
        } else if let Err(msg) = world.step(c, &split(line, future_ms)) {
            fail(msg);
        }
    }
}

fn both_protocols(lines: &[&str]) {
    let Some(mut world) = World::start() else {
        return;
    };
    scenario(&mut world, false, lines);
    scenario(&mut world, true, lines);
}

#[test]
fn existing_commands() {
    both_protocols(&[
        "PING",
        "PING hello",
        "PING a b",
        "ECHO hi",
        "ECHO",
        "GET k",
        "SET k v",
        "GET k",
        "SET k v2 NX",
        "SET k v3 XX GET",
        "SET k v NX XX",
        "SET k v EX 0",
        "SET k v EX abc",
        "SET k v PX 9223372036854775807",
        "SET k v EX 100000 PX 5",
        "SET k v KEEPTTL EX 5",
        "SET k v EX 100000",
        "TTL k",
        "PTTL k",
        "SET k v2 KEEPTTL",
        "TTL k",
        "SET k v3",
        "TTL k",
        "SET k v EXAT 1",
        "GET k",
        "SET k v PXAT @future_ms",
        "PTTL k",
        "SET",
        "DEL k missing",
        "DEL",
        "EXISTS k k missing",
        "SET a 1",
        "EXISTS a a a",
        "EXPIRE a 100000",
        "EXPIRE a 100 NX",
        "EXPIRE a 100 XX",
        "EXPIRE a 5 GT",
        "EXPIRE a 200000 GT",
        "EXPIRE a 300000 LT",
        "EXPIRE a 50000 LT",
        "TTL a",
        "EXPIRE a 1 NX XX",
        "EXPIRE a 1 GT LT",
        "EXPIRE a 1 YY",
        "EXPIRE a x",
        "EXPIRE a 9223372036854775807",
        "PEXPIRE a 9223372036854775807",
        "PEXPIRE a 100000000",
        "PTTL a",
        "PERSIST a",
        "PERSIST a",
        "TTL a",
        "EXPIRE a 5 LT",
        "EXPIRE a -1",
        "EXISTS a",
        "EXPIRE missing 10",
        "TTL missing",
        "PTTL missing",
        "SELECT 1",
        "SET k one",
        "DBSIZE",
        "SELECT 16",
        "SELECT -1",
        "SELECT x",
        "SELECT 2147483648",
        "SELECT 0",
        "DBSIZE",
        "FLUSHDB",
        "DBSIZE",
        "FLUSHDB ASYNC",
        "FLUSHDB SYNC",
        "FLUSHDB NOW",
        "SELECT 1",
        "DBSIZE",
        "FLUSHALL",
        "DBSIZE",
        "FLUSHALL ASYNC",
        "FLUSHALL x",
        "NOSUCHCOMMAND a b",
    ]);
}

#[test]
fn string_commands() {
    both_protocols(&[
        "SETNX s a",
        "SETNX s b",
        "GET s",
        "SETNX s",
        "SETEX s 100000 v",
        "TTL s",
        "SETEX s 0 v",
        "SETEX s -5 v",
        "SETEX s x v",
        "SETEX s 9223372036854775807 v",
        "PSETEX s 100000000 v",
        "PTTL s",
        "PSETEX s 0 v",
        "PSETEX s 9223372036854775807 v",
        "GETSET s new",
        "TTL s",
        "GETSET nope new",
        "GET nope",
        "GETDEL nope2",
        "GETDEL nope",
        "GETDEL nope",
        "GETEX s",
        "GETEX missing EX abc",
        "GETEX s EX abc",
        "GETEX s EX 0",
        "GETEX s EX -1",
        "GETEX s PX 10 EX 10",
        "GETEX s EX 100000 EX 200000",
        "TTL s",
        "GETEX s PERSIST PERSIST",
        "TTL s",
        "GETEX s PERSIST",
        "GETEX s PX 100000000",
        "PTTL s",
        "GETEX s EXAT @future_s",
        "EXPIRETIME s",
        "GETEX s PXAT @future_ms",
        "PEXPIRETIME s",
        "GETEX s NX",
        "GETEX s KEEPTTL",
        "GETEX s PERSIST EX 1",
        "GETEX s EX",
        "GETEX s EX 9223372036854775807",
        "GETEX s PX 9223372036854775807",
        "GETEX s EXAT 1",
        "EXISTS s",
        "MSET a 1 b 2 c 3",
        "MGET a b nope c",
        "MSET a",
        "MSET a 1 b",
        "MSETNX a 1 d 4",
        "MSETNX d 4 e 5",
        "MSETNX d",
        "MGET d e",
        "MSET a x a y",
        "GET a",
        "INCR n",
        "INCR n",
        "DECR n",
        "INCRBY n 10",
        "DECRBY n 3",
        "INCRBY n abc",
        "INCRBY n 1.5",
        "DECRBY n -9223372036854775808",
        "INCRBY n -9223372036854775808",
        "DECR n",
        "SET n 9223372036854775807",
        "INCR n",
        "INCRBY n 0",
        "SET n 007",
        "INCR n",
        "SET n -0",
        "INCR n",
        "SET n 1.5",
        "INCR n",
        "INCRBYFLOAT n 1",
        "INCRBYFLOAT f 10.5",
        "INCRBYFLOAT f 0.1",
        "SET g 0.1",
        "INCRBYFLOAT g 0.2",
        "INCRBYFLOAT h 3.0e3",
        "INCRBYFLOAT i 1e-5",
        "INCRBYFLOAT j 5.0e17",
        "INCRBYFLOAT j -5.0e17",
        "INCRBYFLOAT k inf",
        "INCRBYFLOAT k nan",
        "INCRBYFLOAT k abc",
        "INCRBYFLOAT k 0x1p3",
        "INCRBYFLOAT k 1e5000",
        "INCRBYFLOAT o 1e300",
        "INCRBYFLOAT s2 123456789.123456789",
        "INCRBYFLOAT t 0.000003814697265625",
        "SET u abc",
        "INCRBYFLOAT u 1",
        "SET v 1e4932",
        "INCRBYFLOAT v 1e4932",
        "SETEX w 100000 1.5",
        "INCRBYFLOAT w 1",
        "TTL w",
        "APPEND ap hello",
        "APPEND ap \"\"",
        "APPEND ap world",
        "GET ap",
        "APPEND e2 \"\"",
        "GET e2",
        "STRLEN ap",
        "STRLEN nope",
        "GETRANGE ap 0 4",
        "GETRANGE ap -3 -1",
        "GETRANGE ap -1 -5",
        "GETRANGE ap 5 2",
        "GETRANGE ap 0 1000",
        "GETRANGE ap -1000 2",
        "GETRANGE nope 0 -1",
        "GETRANGE ap x 1",
        "GETRANGE ap 0 9223372036854775807",
        "SETRANGE sr 5 hi",
        "GET sr",
        "SETRANGE sr 0 HE",
        "SETRANGE sr 2 \"\"",
        "SETRANGE none 2 \"\"",
        "EXISTS none",
        "SETRANGE sr -1 x",
        "SETRANGE sr x x",
        "SETRANGE sr 536870912 x",
        "SETRANGE sr 536870911 \"\"",
        "SETRANGE none 536870912 x",
        "SET l1 ohmytext",
        "SET l2 mynewtext",
        "LCS l1 l2",
        "LCS l1 l2 LEN",
        "LCS l1 l2 IDX",
        "LCS l1 l2 IDX MINMATCHLEN 4",
        "LCS l1 l2 IDX MINMATCHLEN 4 WITHMATCHLEN",
        "LCS l1 l2 IDX WITHMATCHLEN MINMATCHLEN -5",
        "LCS l1 l2 LEN IDX",
        "LCS l1 l2 FOO",
        "LCS l1 l2 MINMATCHLEN",
        "LCS l1 l2 MINMATCHLEN x",
        "LCS l1 nope",
        "LCS nope nope2 IDX",
        "LCS l1 l2 LEN WITHMATCHLEN",
        "LCS l1",
        "SET l3 abcabcabc",
        "SET l4 xabcxxabcx",
        "LCS l3 l4 IDX WITHMATCHLEN",
        "LCS l4 l3 IDX",
    ]);
}

#[test]
fn keyspace_commands() {
    both_protocols(&[
        "TYPE nope",
        "SET k v",
        "TYPE k",
        "TYPE",
        "UNLINK k nope k",
        "UNLINK",
        "MSET a 1 b 2 c 3",
        "TOUCH a b nope a",
        "TOUCH",
        "@sorted KEYS *",
        "@sorted KEYS [ab]",
        "@sorted KEYS nomatch*",
        "KEYS",
        "RANDOMKEY x",
        "FLUSHDB",
        "RANDOMKEY",
        "SET only v",
        "RANDOMKEY",
        "RENAME nope x",
        "RENAMENX nope x",
        "RENAME only only",
        "RENAMENX only only",
        "SET other v2",
        "RENAMENX only other",
        "EXPIRE only 100000",
        "RENAME only moved",
        "TTL moved",
        "GET only",
        "RENAME moved other",
        "GET other",
        "TTL other",
        "RENAME other",
        "COPY nope x",
        "SET src v",
        "COPY src src",
        "COPY src src DB 1",
        "COPY src dst DB x",
        "COPY src dst foo DB x",
        "COPY src dst DB 99",
        "COPY src dst DB 99 foo",
        "COPY src dst DB 1 foo",
        "COPY src dst DB -1",
        "COPY src dst DB 2147483648",
        "COPY src dst DB",
        "COPY src dst",
        "COPY src dst",
        "COPY src dst REPLACE",
        "EXPIRE src 100000",
        "COPY src dst DB 1 REPLACE",
        "SELECT 1",
        "TTL dst",
        "GET src",
        "SELECT 0",
        "COPY src",
        "MOVE src x",
        "MOVE src 99",
        "MOVE src -1",
        "MOVE src 0",
        "MOVE src 2147483648",
        "MOVE nope 1",
        "MOVE src 1",
        "SELECT 1",
        "TTL src",
        "MOVE src 0",
        "SET again v",
        "SELECT 0",
        "SET again mine",
        "SELECT 1",
        "MOVE again 0",
        "SELECT 0",
        "GET again",
        "EXPIREAT again @future_s",
        "EXPIRETIME again",
        "PEXPIRETIME again",
        "PEXPIREAT again @future_ms",
        "PEXPIRETIME again",
        "EXPIRETIME again",
        "EXPIREAT again 100 GT",
        "EXPIREAT again 100 NX",
        "EXPIREAT again x",
        "EXPIREAT again 1 YY",
        "EXPIREAT again 9223372036854775807",
        "PEXPIREAT again 9223372036854775807",
        "PERSIST again",
        "EXPIRETIME again",
        "EXPIRETIME nope",
        "PEXPIRETIME nope",
        "EXPIREAT again 1",
        "EXISTS again",
        "SET p v",
        "PEXPIREAT p 1 XX",
        "PEXPIREAT p 1",
        "EXISTS p",
        "EXPIREAT",
        "EXPIRETIME",
        "FLUSHALL",
        "SET one 1",
        "SCAN x",
        "SCAN \"\"",
        "SCAN -0",
        "SCAN 0 COUNT 0",
        "SCAN 0 COUNT x",
        "SCAN 0 COUNT -1",
        "SCAN 0 MATCH",
        "SCAN 0 FOO bar",
        "SCAN 18446744073709551616",
        "SCAN -",
        "SCAN",
        "SCAN 0 TYPE foo",
        "FLUSHALL",
        "SCAN 0",
        "MSET k1 1 k2 2 k3 3 k4 4 k5 5 other 6 x1 7",
        "@scan",
        "@scan COUNT 1",
        "@scan COUNT 2 MATCH k*",
        "@scan MATCH x? TYPE STRING",
        "@scan TYPE string COUNT 1000",
        "@scan TYPE list",
        "@sorted KEYS k?",
    ]);
}

#[test]
fn transactions() {
    both_protocols(&[
        "MULTI",
        "MULTI",
        "SET a 1",
        "INCR a",
        "GET a",
        "EXEC",
        "EXEC",
        "DISCARD",
        "MULTI",
        "WATCH a",
        "EXEC",
        "MULTI",
        "NOSUCH",
        "SET a",
        "SET a 1 NX XX",
        "EXEC",
        "GET a",
        "MULTI",
        "SET a 1 NX XX",
        "INCR a",
        "INCRBYFLOAT a x",
        "GET a",
        "TTL a",
        "EXEC",
        "MULTI",
        "SHUTDOWN",
        "PING",
        "EXEC",
        "MULTI",
        "SELECT 1",
        "SET z 1",
        "EXEC",
        "GET z",
        "SELECT 0",
        "MULTI",
        "SET q 1",
        "DISCARD",
        "GET q",
        "MULTI",
        "EXEC",
        "MULTI",
        "UNWATCH",
        "EXEC",
        "WATCH",
        "MULTI a",
        "EXEC x",
        "WATCH a",
        "EXEC x",
        "2:SET a 1",
        "MULTI",
        "EXEC",
        "MULTI",
        "SET a 2",
        "EXEC x",
        "EXEC",
        "GET a",
        "DISCARD x",
        "MULTI",
        "DISCARD x",
        "EXEC",
        // WATCH: another connection's write aborts EXEC…
        "WATCH w",
        "2:SET w 1",
        "MULTI",
        "SET w 2",
        "EXEC",
        "GET w",
        // …and so does our own write, a write to a missing key, and an expiry set.
        "WATCH w",
        "SET w 3",
        "MULTI",
        "EXEC",
        "WATCH nothing",
        "2:SET nothing x",
        "MULTI",
        "EXEC",
        "WATCH w",
        "2:EXPIRE w 100000",
        "MULTI",
        "EXEC",
        // Reads, failed writes and other keys do not.
        "WATCH w",
        "2:GET w",
        "2:SETNX w x",
        "2:SET unrelated x",
        "2:EXPIRE missing 10",
        "2:PERSIST unrelated",
        "2:DEL missing",
        "MULTI",
        "GET w",
        "EXEC",
        // UNWATCH forgets; EXEC and DISCARD drop watches.
        "WATCH w",
        "UNWATCH",
        "2:SET w 5",
        "MULTI",
        "EXEC",
        "WATCH w",
        "MULTI",
        "DISCARD",
        "2:SET w 6",
        "MULTI",
        "EXEC",
        // A watch in another database.
        "SELECT 1",
        "WATCH w",
        "SELECT 0",
        "2:SET w 7",
        "MULTI",
        "EXEC",
        "2:SELECT 1",
        "2:SET w 7",
        "2:SELECT 0",
        "MULTI",
        "EXEC",
        // FLUSHDB / FLUSHALL touch watched keys that exist, not missing ones.
        "WATCH w",
        "2:FLUSHDB",
        "MULTI",
        "EXEC",
        "WATCH w",
        "2:FLUSHALL",
        "MULTI",
        "EXEC",
        "SET w 1",
        "WATCH w",
        "2:FLUSHALL",
        "MULTI",
        "EXEC",
        // Commands that touch two keys: RENAME, MOVE, COPY.
        "SET r 1",
        "WATCH r2",
        "2:RENAME r r2",
        "MULTI",
        "EXEC",
        "WATCH r2",
        "2:COPY r2 r3",
        "MULTI",
        "EXEC",
        "WATCH r3",
        "2:COPY r2 r3",
        "2:MOVE r3 1",
        "MULTI",
        "EXEC",
        "WATCH r2",
        "2:GETDEL r2",
        "MULTI",
        "EXEC",
        "SET n 1",
        "WATCH n",
        "2:INCRBYFLOAT n 0.5",
        "MULTI",
        "EXEC",
        "WATCH n",
        "2:APPEND n x",
        "MULTI",
        "EXEC",
        "WATCH n",
        "2:SETRANGE n 0 \"\"",
        "MULTI",
        "EXEC",
        "WATCH n",
        "2:GETEX n",
        "2:GETEX n PERSIST",
        "MULTI",
        "EXEC",
        "WATCH n",
        "2:GETEX n PX 100000000",
        "MULTI",
        "EXEC",
    ]);
}

#[test]
fn expiry_over_time() {
    both_protocols(&[
        "SET k v PX 100",
        "SET volatile v PX 100",
        "SET kept v",
        "@sleep 250",
        "GET k",
        "TTL k",
        "EXISTS volatile",
        "SET a v PX 100",
        "WATCH a",
        "@sleep 250",
        "MULTI",
        "EXEC",
        // Watched while already expired: the expiry is not a change.
        "SET b v PX 50",
        "@sleep 150",
        "WATCH b",
        "MULTI",
        "EXEC",
        "SET b v PX 50",
        "@sleep 150",
        "WATCH b",
        "GET b",
        "MULTI",
        "EXEC",
        // …but recreating it is.
        "SET b v PX 50",
        "@sleep 150",
        "WATCH b",
        "2:SET b again",
        "MULTI",
        "EXEC",
        "SET e v PX 100",
        "SET e2 v PX 100",
        "@sleep 250",
        "@sorted KEYS *",
        "@scan",
        "DEL b",
        "RANDOMKEY",
        "DEL kept",
        "RANDOMKEY",
        "SET g v EX 100",
        "GETEX g PX 100",
        "@sleep 250",
        "GET g",
        "SET h 5 PX 100",
        "@sleep 250",
        "INCR h",
        "TTL h",
        "SET i abc PX 100",
        "@sleep 250",
        "APPEND i x",
        "SETRANGE j 0 \"\"",
    ]);
}

// --- Random sequences ---------------------------------------------------------------------

/// A random command over three keys, with values that collide: integers at the edges of
/// i64, floats, plain text. Times are ≤ 0, in the past, or ≥ 100 s (see the module docs).
fn arb_command() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(vec!["k1", "k2", "k3"]);
    let val = || {
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "10",
            "9223372036854775807",
            "-9223372036854775808",
            "1.5",
            "0.1",
            "-2.5e3",
            "inf",
            "abc",
            "",
            "hello world",
            "007",
        ])
    };
    let int = || prop::sample::select(vec!["0", "1", "-1", "3", "-100", "abc", "1.5"]);
    // Relative times all differ (100 000 s, 200 000 000 ms, 300 000 s for SET EX, …) and
    // GT/LT only go with absolute ones: two relative expiries of the same length compare by
    // the milliseconds between them, which differ between the servers.
    let ttl_s = || prop::sample::select(vec!["100000", "0", "-1", "x"]);
    let ttl_ms = || prop::sample::select(vec!["200000000", "0", "-1"]);
    let at = || prop::sample::select(vec!["1", "@future_s", "@future_ms", "-5"]);
    let cond = || prop::sample::select(vec!["", "NX", "XX", "NX XX"]);
    let abs_cond = || prop::sample::select(vec!["", "NX", "XX", "GT", "LT", "XX GT", "NX GT"]);
    // Arguments as given (values may hold spaces or be empty), then options split on spaces.
    fn words(parts: Vec<&str>) -> Vec<String> {
        parts.into_iter().map(str::to_owned).collect()
    }
    fn with(mut parts: Vec<String>, options: &str) -> Vec<String> {
        parts.extend(options.split_whitespace().map(str::to_owned));
        parts
    }
    let typed = prop_oneof![
        (key(), val()).prop_map(|(k, v)| words(vec!["SET", k, v])),
        (
            key(),
            val(),
            prop::sample::select(vec![
                "NX",
                "XX",
                "GET",
                "KEEPTTL",
                "EX 300000",
                "EXAT 1",
                "NX GET",
                "XX KEEPTTL",
                "EX 0",
                "PX 400000000 GET"
            ])
        )
            .prop_map(|(k, v, o)| with(words(vec!["SET", k, v]), o)),
        key().prop_map(|k| words(vec!["GET", k])),
        (key(), val()).prop_map(|(k, v)| words(vec!["SETNX", k, v])),
        (key(), ttl_s(), val()).prop_map(|(k, t, v)| words(vec!["SETEX", k, t, v])),
        (key(), ttl_ms(), val()).prop_map(|(k, t, v)| words(vec!["PSETEX", k, t, v])),
        (key(), val()).prop_map(|(k, v)| words(vec!["GETSET", k, v])),
        key().prop_map(|k| words(vec!["GETDEL", k])),
        (
            key(),
            prop::sample::select(vec![
                "",
                "PERSIST",
                "EX 500000",
                "PX 600000000",
                "EXAT 1",
                "PXAT @future_ms",
                "EX 0",
                "EX x"
            ])
        )
            .prop_map(|(k, o)| with(words(vec!["GETEX", k]), o)),
        (key(), key()).prop_map(|(a, b)| words(vec!["MGET", a, b, "nope"])),
        (key(), val(), key(), val()).prop_map(|(a, x, b, y)| words(vec!["MSET", a, x, b, y])),
        (key(), val(), key(), val()).prop_map(|(a, x, b, y)| words(vec!["MSETNX", a, x, b, y])),
        key().prop_map(|k| words(vec!["INCR", k])),
        key().prop_map(|k| words(vec!["DECR", k])),
        (key(), val()).prop_map(|(k, v)| words(vec!["INCRBY", k, v])),
        (key(), val()).prop_map(|(k, v)| words(vec!["DECRBY", k, v])),
        (key(), val()).prop_map(|(k, v)| words(vec!["INCRBYFLOAT", k, v])),
        (key(), val()).prop_map(|(k, v)| words(vec!["APPEND", k, v])),
        key().prop_map(|k| words(vec!["STRLEN", k])),
        (key(), int(), int()).prop_map(|(k, a, b)| words(vec!["GETRANGE", k, a, b])),
        (key(), int(), val()).prop_map(|(k, o, v)| words(vec!["SETRANGE", k, o, v])),
        (
            key(),
            key(),
            prop::sample::select(vec![
                "",
                "LEN",
                "IDX",
                "IDX WITHMATCHLEN",
                "IDX MINMATCHLEN 2",
                "LEN IDX"
            ])
        )
            .prop_map(|(a, b, o)| with(words(vec!["LCS", a, b]), o)),
        (key(), key()).prop_map(|(a, b)| words(vec!["DEL", a, b])),
        key().prop_map(|k| words(vec!["UNLINK", k])),
        (key(), key()).prop_map(|(a, b)| words(vec!["EXISTS", a, b, a])),
        key().prop_map(|k| words(vec!["TOUCH", k])),
        key().prop_map(|k| words(vec!["TYPE", k])),
        (key(), key()).prop_map(|(a, b)| words(vec!["RENAME", a, b])),
        (key(), key()).prop_map(|(a, b)| words(vec!["RENAMENX", a, b])),
        (
            key(),
            key(),
            prop::sample::select(vec!["", "REPLACE", "DB 1", "DB 1 REPLACE", "DB 0", "DB 16"])
        )
            .prop_map(|(a, b, o)| with(words(vec!["COPY", a, b]), o)),
        (key(), prop::sample::select(vec!["0", "1", "16", "x"]))
            .prop_map(|(k, d)| words(vec!["MOVE", k, d])),
        (key(), ttl_s(), cond()).prop_map(|(k, t, c)| with(words(vec!["EXPIRE", k, t]), c)),
        (key(), ttl_ms(), cond()).prop_map(|(k, t, c)| with(words(vec!["PEXPIRE", k, t]), c)),
        (key(), at(), abs_cond()).prop_map(|(k, t, c)| with(words(vec!["EXPIREAT", k, t]), c)),
        (key(), at(), abs_cond()).prop_map(|(k, t, c)| with(words(vec!["PEXPIREAT", k, t]), c)),
        key().prop_map(|k| words(vec!["TTL", k])),
        key().prop_map(|k| words(vec!["PTTL", k])),
        key().prop_map(|k| words(vec!["EXPIRETIME", k])),
        key().prop_map(|k| words(vec!["PEXPIRETIME", k])),
        key().prop_map(|k| words(vec!["PERSIST", k])),
        prop::sample::select(vec![
            "MULTI", "EXEC", "DISCARD", "UNWATCH", "DBSIZE", "PING", "FLUSHDB", "SELECT 0",
            "SELECT 1"
        ])
        .prop_map(|c| with(Vec::new(), c)),
        (key(), key()).prop_map(|(a, b)| words(vec!["WATCH", a, b])),
    ];
    // Any command name with arguments drawn from everything above: arity, syntax and
    // type errors, options in odd places.
    let names = prop::sample::select(vec![
        "SET",
        "GET",
        "SETNX",
        "SETEX",
        "PSETEX",
        "GETSET",
        "GETDEL",
        "GETEX",
        "MGET",
        "MSET",
        "MSETNX",
        "INCR",
        "DECR",
        "INCRBY",
        "DECRBY",
        "INCRBYFLOAT",
        "APPEND",
        "STRLEN",
        "GETRANGE",
        "SETRANGE",
        "LCS",
        "DEL",
        "UNLINK",
        "EXISTS",
        "TOUCH",
        "TYPE",
        "RENAME",
        "RENAMENX",
        "COPY",
        "MOVE",
        "EXPIRE",
        "PEXPIRE",
        "EXPIREAT",
        "PEXPIREAT",
        "TTL",
        "PERSIST",
        "MULTI",
        "EXEC",
        "DISCARD",
        "WATCH",
        "UNWATCH",
        "ECHO",
        "DBSIZE",
        "SELECT",
        "NOSUCH",
    ]);
    let fuzz_arg = prop::sample::select(vec![
        "k1",
        "k2",
        "0",
        "-1",
        "700000",
        "abc",
        "",
        "1.5",
        "9223372036854775807",
        "NX",
        "XX",
        "EX",
        "EXAT",
        "KEEPTTL",
        "GET",
        "PERSIST",
        "REPLACE",
        "DB",
        "IDX",
        "LEN",
    ]);
    let fuzzy = (names, prop::collection::vec(fuzz_arg, 0..5)).prop_map(|(n, args)| {
        std::iter::once(n.to_owned())
            .chain(args.into_iter().map(str::to_owned))
            .collect()
    });
    let command = prop_oneof![4 => typed, 1 => fuzzy];
    // One command in six comes from a second connection.
    (command, prop::bool::weighted(1.0 / 6.0)).prop_map(|(mut cmd, second)| {
        if second {
            cmd[0] = format!("2:{}", cmd[0]);
        }
        cmd
    })
}

/// Runs one random case on fresh servers. Commands prefixed `2:` go to a second connection,
/// so WATCH sees other clients' writes.
fn run_sequence(world: &mut World, resp3: bool, cmds: &[Vec<String>]) -> Result<(), TestCaseError> {
    world.reset();
    let future_ms = now_ms() + 900_000_000;
    let mut clients = [world.client(), world.client()];
    let mut all = Vec::with_capacity(cmds.len() + 2);
    if resp3 {
        all.push(vec!["HELLO".to_owned(), "3".to_owned()]);
        all.push(vec!["2:HELLO".to_owned(), "3".to_owned()]);
    }
    all.extend(cmds.iter().cloned());
    for (i, cmd) in all.iter().enumerate() {
        let (who, name) = match cmd[0].strip_prefix("2:") {
            Some(name) => (1, name),
            None => (0, cmd[0].as_str()),
        };
        let args: Vec<Vec<u8>> = std::iter::once(name)
            .chain(cmd[1..].iter().map(String::as_str))
            .map(|a| match a {
                "@future_s" => (future_ms / 1000).to_string().into_bytes(),
                "@future_ms" => future_ms.to_string().into_bytes(),
                a => a.as_bytes().to_vec(),
            })
            .collect();
        if let Err(msg) = world.step(&mut clients[who], &args) {
            // The commands up to the mismatch, one per line: after shrinking, a minimal
            // reproduction to paste into redis-cli.
            let repro: Vec<String> = all[..=i].iter().map(|c| c.join(" ")).collect();
            return Err(TestCaseError::fail(format!(
                "RESP{} step {i}: {msg}\nsequence:\n  {}\n",
                if resp3 { 3 } else { 2 },
                repro.join("\n  ")
            )));
        }
    }
    Ok(())
}

fn random_sequences(resp3: bool) {
    let Some(world) = World::start() else {
        return;
    };
    let world = std::cell::RefCell::new(world);
    // REDISH_DIFF_CASES=5000 for a deeper run than CI's.
    let cases = std::env::var("REDISH_DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop::collection::vec(arb_command(), 20..40);
    let result = runner.run(&strategy, |cmds| {
        run_sequence(&mut world.borrow_mut(), resp3, &cmds)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn random_sequences_resp2() {
    random_sequences(false);
}

#[test]
fn random_sequences_resp3() {
    random_sequences(true);
}
