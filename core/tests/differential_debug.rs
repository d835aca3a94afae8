//! Differential tests of DEBUG DIGEST and DEBUG DIGEST-VALUE: the same data goes to a redish
//! [`Session`] and to a real `redis-server` 7.0 (see `common/mod.rs`), and the digests must
//! be equal — for every type, in both of Redis's encodings (small listpack/intset values and
//! large hashtable/skiplist/quicklist ones), with and without expiries, across databases.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_debug`.

// The harness reads the clock, which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{now_ms, show, Conn, Redis};
use redish_core::db::{ClientConn, DebugCommand};
use redish_core::{Session, SessionConfig, Store};

struct Both {
    _redis: Redis,
    conn: Conn,
    store: Store,
    session: Session,
}

impl Both {
    fn start() -> Option<Both> {
        let redis = Redis::start(&["--enable-debug-command", "yes"])?;
        let conn = redis.connect();
        let mut store = Store::default();
        store.config_mut().enable_debug_command = DebugCommand::Yes;
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

    /// Sends `args` to both and asserts the replies are equal.
    fn same(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let (theirs, ours) = self.both(args);
        assert_eq!(
            show(&ours),
            show(&theirs),
            "replies differ for {:?}",
            show(&common::encode(args))
        );
        ours
    }

    fn line(&mut self, line: &str) -> Vec<u8> {
        self.same(&split(line))
    }
}

fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| t.as_bytes().to_vec())
        .collect()
}

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// Writes `n` elements with the command `cmd key …` to both, `per` arguments per element
/// from `element(i)`, in batches.
fn fill(b: &mut Both, cmd: &str, key: &str, n: usize, element: impl Fn(usize) -> Vec<String>) {
    let mut i = 0;
    while i < n {
        let mut a = vec![cmd.to_owned(), key.to_owned()];
        for j in i..n.min(i + 50) {
            a.extend(element(j));
        }
        i += 50;
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        b.same(&args(&a));
    }
}

#[test]
fn empty_dataset_digest_is_forty_zeros() {
    let Some(mut b) = Both::start() else { return };
    let reply = b.line("DEBUG DIGEST");
    assert_eq!(show(&reply), format!("+{}\\r\\n", "0".repeat(40)));
    b.line("DEBUG DIGEST-VALUE nokey");
    b.line("DEBUG DIGEST-VALUE");
}

#[test]
fn digests_equal_for_every_type_and_encoding() {
    let Some(mut b) = Both::start() else { return };
    // Strings: raw, integer-encoded, embstr, empty.
    b.line("SET s:raw hello-world");
    b.line("SET s:int 12345");
    b.line("SET s:neg -7");
    b.same(&args(&["SET", "s:empty", ""]));
    b.same(&args(&["SET", "s:long", &"x".repeat(100)]));
    // Lists: listpack and quicklist.
    b.line("RPUSH l:small a b 3 -4 c");
    fill(&mut b, "RPUSH", "l:big", 300, |i| vec![format!("item-{i}")]);
    b.line("LPUSH l:small z");
    // Sets: intset, listpack-free (hashtable) with strings, big.
    b.line("SADD set:int 1 2 3 -100 65536");
    b.line("SADD set:str a b c 1");
    fill(&mut b, "SADD", "set:big", 700, |i| vec![format!("{i}")]);
    fill(&mut b, "SADD", "set:bigstr", 200, |i| vec![format!("m{i}")]);
    // Hashes: listpack and hashtable.
    b.line("HSET h:small f1 v1 f2 2 3 v3");
    fill(&mut b, "HSET", "h:big", 200, |i| {
        vec![format!("field{i}"), format!("{}", i * 7)]
    });
    // Sorted sets: listpack and skiplist, with scores that print in every form.
    b.line("ZADD z:small 1 a 2.5 b -3 c 0.1 d 1e300 e -inf f inf g 17 12 1e-05 h");
    fill(&mut b, "ZADD", "z:big", 200, |i| {
        vec![format!("{}.{}", i, i % 7), format!("member{i}")]
    });
    // Streams, with an entry deleted and some with different fields.
    b.line("XADD st 1-1 a 1 b 2");
    b.line("XADD st 1-2 a 3 b 4");
    b.line("XADD st 2-0 other field");
    b.line("XADD st 3-5 a 5");
    b.line("XDEL st 1-2");
    b.line("XGROUP CREATE st g 0");
    for i in 1..=150 {
        b.line(&format!("XADD st:big {i}-0 f v{i} g {}", i * 3));
    }
    // Expiries count (as whether there is one, not when).
    b.line("SET s:ttl v EX 1000");
    b.line("RPUSH l:ttl a");
    b.line("PEXPIRE l:ttl 5000000");
    // Another database.
    b.line("SELECT 3");
    b.line("SET s:raw hello-world");
    b.line("HSET h:small f1 v1");
    b.line("SELECT 0");

    for key in [
        "s:raw",
        "s:int",
        "s:neg",
        "s:empty",
        "s:long",
        "l:small",
        "l:big",
        "set:int",
        "set:str",
        "set:big",
        "set:bigstr",
        "h:small",
        "h:big",
        "z:small",
        "z:big",
        "st",
        "st:big",
        "s:ttl",
        "l:ttl",
    ] {
        let reply = b.line(&format!("DEBUG DIGEST-VALUE {key}"));
        assert_ne!(
            show(&reply),
            format!("*1\\r\\n+{}\\r\\n", "0".repeat(40)),
            "{key} exists"
        );
    }
    b.line("DEBUG DIGEST-VALUE s:raw nokey z:small");
    let digest = b.line("DEBUG DIGEST");
    // The digest changes with the data: a member's score, a list's order.
    b.line("ZINCRBY z:small 1 a");
    assert_ne!(b.line("DEBUG DIGEST"), digest);
    b.line("ZINCRBY z:small -1 a");
    assert_eq!(b.line("DEBUG DIGEST"), digest);
    b.line("PERSIST s:ttl");
    assert_ne!(b.line("DEBUG DIGEST"), digest);
    // Encoding conversions keep the logical content, hence the digest.
    fill(&mut b, "ZADD", "z:small", 200, |i| {
        vec![format!("{i}"), format!("extra{i}")]
    });
    fill(&mut b, "HSET", "h:small", 200, |i| {
        vec![format!("x{i}"), format!("{i}")]
    });
    b.line("SADD set:int notanint");
    b.line("DEBUG DIGEST");
    b.line("DEBUG DIGEST-VALUE z:small h:small set:int");
    b.line("DEBUG DIGEST extra");
    b.line("FLUSHALL");
    b.line("DEBUG DIGEST");
}

#[test]
fn other_subcommands_answer_as_redis() {
    let Some(mut b) = Both::start() else { return };
    for proto in ["2", "3"] {
        b.both(&split(&format!("HELLO {proto}")));
        for kind in [
            "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib",
            "push", "verbatim", "true", "false", "foo", "STRING",
        ] {
            let line = format!("DEBUG PROTOCOL {kind}");
            if proto == "3" && kind == "push" {
                // Two replies: the push, then the reply proper.
                let (mut theirs, ours) = b.both(&split(&line));
                theirs.extend(b.conn.read().expect("the reply after the push"));
                assert_eq!(show(&ours), show(&theirs));
            } else {
                b.line(&line);
            }
        }
    }
    b.both(&split("HELLO 2"));
    for line in [
        "DEBUG PROTOCOL",
        "DEBUG QUICKLIST-PACKED-THRESHOLD 100",
        "DEBUG QUICKLIST-PACKED-THRESHOLD 0",
        "DEBUG QUICKLIST-PACKED-THRESHOLD 1mb",
        "DEBUG QUICKLIST-PACKED-THRESHOLD x",
        "DEBUG QUICKLIST-PACKED-THRESHOLD 5gb",
        "DEBUG QUICKLIST-PACKED-THRESHOLD",
        "DEBUG SET-SKIP-CHECKSUM-VALIDATION 1",
        "DEBUG SET-SKIP-CHECKSUM-VALIDATION 0",
        "DEBUG SET-SKIP-CHECKSUM-VALIDATION",
        "DEBUG PAUSE-CRON 0",
        "DEBUG PAUSE-CRON",
        "DEBUG REPLYBUFFER PEAK-RESET-TIME 100",
        "DEBUG REPLYBUFFER PEAK-RESET-TIME never",
        "DEBUG REPLYBUFFER PEAK-RESET-TIME RESET",
        "DEBUG REPLYBUFFER PEAK-RESET-TIME x",
        "DEBUG REPLYBUFFER RESIZING 0",
        "DEBUG REPLYBUFFER foo 1",
        "DEBUG REPLYBUFFER",
        // Not Redis 7.0 subcommands: the same error.
        "DEBUG STRINGMATCH-LEN",
        "DEBUG STRINGMATCH-LEN x",
        "DEBUG JMAP",
        "DEBUG POPULATE 3",
        "DEBUG POPULATE 2 p 10",
        "DEBUG POPULATE 2 short 3",
        "DEBUG POPULATE 0 z x",
        "DEBUG POPULATE x",
        "DEBUG POPULATE -1",
        "DEBUG POPULATE 2 q x",
        "DEBUG POPULATE 1 r -5",
        "DEBUG POPULATE",
        "DEBUG POPULATE 1 a b c",
        "SET key:5 mine",
        "DEBUG POPULATE 7",
        "MGET key:0 key:2 key:5 key:6 p:0 p:1 short:0 short:1 r:0 q:0",
        "DBSIZE",
        "DEBUG DIGEST",
        "DEBUG LISTPACK nokey",
        "RPUSH l a",
        "DEBUG LISTPACK l",
        "DEBUG QUICKLIST l",
        "DEBUG QUICKLIST l 1",
        "DEBUG QUICKLIST nokey",
        "HSET h a b",
        "ZADD z 1 a",
        "DEBUG LISTPACK h",
        "DEBUG LISTPACK z",
        "DEBUG QUICKLIST h",
        "DEBUG LISTPACK",
        "DEBUG LISTPACK h extra",
    ] {
        b.line(line);
    }
}
