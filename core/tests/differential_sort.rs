//! Differential tests of SORT and SORT_RO against a real `redis-server` 7.0 (see
//! `common/mod.rs`): the same lines go to a redish [`Session`] and to Redis, in RESP2 and
//! RESP3, and the replies must match byte for byte. Sets are sorted only where Redis's
//! result does not depend on its hash table order (intsets, sorts with distinct keys).
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_sort`
#![allow(clippy::disallowed_methods)]

mod common;

use common::{now_ms, show, Conn, Redis};

use redish_core::{Session, SessionConfig, Store};

/// Both servers, one client of each.
struct World {
    redis: Redis,
    store: Store,
    session: Session,
    conn: Conn,
}

impl World {
    fn start() -> Option<World> {
        let redis = Redis::start(&[])?;
        let conn = redis.connect();
        let mut store = Store::default();
        let session = Session::new(store.next_client_id(), SessionConfig::default());
        Some(World {
            redis,
            store,
            session,
            conn,
        })
    }

    fn reset(&mut self, resp3: bool) {
        self.conn = self.redis.connect();
        self.conn.call(&[b"FLUSHALL".to_vec()]);
        self.store = Store::default();
        self.session = Session::new(self.store.next_client_id(), SessionConfig::default());
        if resp3 {
            self.both(&split("HELLO 3"));
        }
    }

    fn ours(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.session.handle_bytes(&common::encode(args));
        self.session.process(&mut self.store, now_ms());
        let out = self.session.poll_transmit().to_vec();
        self.session.consume_transmit(out.len());
        out
    }

    fn both(&mut self, args: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
        let theirs = self.conn.call(args);
        let ours = self.ours(args);
        (theirs, ours)
    }
}

/// HELLO's connection id.
fn normalise(reply: &[u8]) -> Vec<u8> {
    let marker = b"$2\r\nid\r\n:";
    let Some(i) = reply.windows(marker.len()).position(|w| w == marker) else {
        return reply.to_vec();
    };
    let start = i + marker.len();
    let end = start + reply[start..].iter().position(|&c| c == b'\r').unwrap();
    [&reply[..start], b"<id>", &reply[end..]].concat()
}

/// Words of a line; `\xHH` escapes inside a word give raw bytes, `""` an empty argument and
/// `@x70` a run of 70 `x`.
fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "\"\"" => Vec::new(),
            t if t.starts_with("@x") => vec![b'x'; t[2..].parse().unwrap()],
            t => unescape(t),
        })
        .collect()
}

fn unescape(t: &str) -> Vec<u8> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 3 < b.len() {
            out.push(u8::from_str_radix(&t[i + 2..i + 4], 16).unwrap());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Runs the lines in both protocols; the replies must match byte for byte. `@skip CMD`
/// runs a command on both sides without comparing (setup whose reply differs by design).
fn both_protocols(lines: &[&str]) {
    let Some(mut world) = World::start() else {
        return;
    };
    for resp3 in [false, true] {
        world.reset(resp3);
        for (step, line) in lines.iter().enumerate() {
            let (skip, cmd) = match line.strip_prefix("@skip ") {
                Some(c) => (true, c),
                None => (false, *line),
            };
            let (theirs, ours) = world.both(&split(cmd));
            if !skip && normalise(&theirs) != normalise(&ours) {
                panic!(
                    "RESP{} step {step} `{line}`:\n  redis:  {}\n  redish: {}",
                    if resp3 { 3 } else { 2 },
                    show(&theirs),
                    show(&ours)
                );
            }
        }
    }
}

#[test]
fn sort_lists() {
    both_protocols(&[
        "RPUSH l 3 1 2 10 -5 2.5 1e2 0x10",
        "SORT l",
        "SORT l DESC",
        "SORT l ALPHA",
        "SORT l ALPHA DESC",
        "SORT l LIMIT 0 3",
        "SORT l LIMIT 2 3 DESC",
        "SORT l LIMIT -5 2",
        "SORT l LIMIT 1 -1",
        "SORT l LIMIT 100 2",
        "SORT l LIMIT 7 100",
        "SORT l LIMIT 0 0",
        "SORT l LIMIT 9223372036854775807 9223372036854775807",
        "SORT l LIMIT x 1",
        "SORT l LIMIT 1",
        "SORT l BY nosort",
        "SORT l BY nosort DESC",
        "SORT l BY nosort LIMIT 1 3",
        "SORT l BY nosort LIMIT 1 3 DESC",
        "SORT l BY nosort LIMIT 20 3 DESC",
        "RPUSH words banana apple Cherry apple 10 9",
        "SORT words",
        "SORT words ALPHA",
        "SORT words ALPHA DESC LIMIT 1 2",
        "RPUSH spaces \" 1\" 2",
        "SORT spaces",
        "RPUSH blank \"\" 1",
        "SORT blank",
        "RPUSH nan nan 1",
        "SORT nan",
        "SORT l ASC DESC ASC",
        "SORT l BOGUS",
        "SORT l STORE",
        "SORT nokey",
        "SORT nokey STORE dst",
        "SET str x",
        "SORT str",
        "SORT str BY nosort",
        "SORT str LIMIT x y",
        "SORT_RO l",
        "SORT_RO l DESC LIMIT 0 2",
        "SORT_RO l STORE dst",
        "SORT",
        "SORT_RO",
    ]);
}

#[test]
fn sort_by_and_get() {
    both_protocols(&[
        "RPUSH uid 1 2 3 4 5",
        "MSET w_1 50 w_2 20 w_3 40 w_4 20 w_5 x",
        "MSET name_1 ann name_2 bob name_3 cid name_4 dan",
        "HSET h_1 age 31 nick a1",
        "HSET h_2 age 12 nick b2",
        "HSET h_3 age 40",
        "HSET h_4 age 12 nick d4",
        "SORT uid BY w_*",
        "DEL w_5",
        "SORT uid BY w_*",
        "SORT uid BY w_* DESC",
        "SORT uid BY w_* ALPHA",
        "SORT uid BY w_* LIMIT 1 2",
        "SORT uid BY h_*->age",
        "SORT uid BY h_*->age DESC GET # GET h_*->nick GET name_*",
        "SORT uid BY h_*->nope GET #",
        "SORT uid BY h_*-> GET h_*->",
        "SORT uid GET name_*",
        "SORT uid GET name_* GET # GET w_*",
        "SORT uid GET nostar",
        "SORT uid GET #",
        "SORT uid GET h_*->nick",
        "SORT uid GET name_*->x",
        "SORT uid BY name_* ALPHA GET name_*",
        "SORT uid BY name_* GET name_*",
        "SORT uid BY nosort GET name_*",
        "SORT uid BY nosort DESC GET name_* LIMIT 0 2",
        "SORT uid BY w_* STORE dst GET name_* GET #",
        "LRANGE dst 0 -1",
        "TYPE dst",
        "OBJECT ENCODING dst",
        "SORT uid BY w_* STORE dst",
        "LRANGE dst 0 -1",
        "SORT uid LIMIT 10 1 STORE dst",
        "EXISTS dst",
        "SET name_* star",
        "SORT uid GET name_**",
        "LPUSH h_1 x",
        "SORT uid BY h_*->age",
        "SORT uid GET h_*->age",
        "SORT_RO uid BY w_* GET name_*",
    ]);
}

#[test]
fn sort_sets_and_zsets() {
    both_protocols(&[
        "SADD iset 5 3 -1 100 7",
        "SORT iset",
        "SORT iset DESC LIMIT 1 2",
        "SORT iset BY nosort",
        "SORT iset BY nosort STORE dst",
        "LRANGE dst 0 -1",
        "SADD s banana apple cherry",
        "SORT s ALPHA",
        "SORT s ALPHA DESC",
        "SORT s",
        "SORT s BY nosort STORE dst",
        "LRANGE dst 0 -1",
        "SORT s BY nosort ALPHA DESC STORE dst",
        "LRANGE dst 0 -1",
        "SADD n 1.5 2.5 0.5 10",
        "SORT n",
        "SORT n STORE dst",
        "LRANGE dst 0 -1",
        "ZADD z 3 c 1 a 2 b 5 e 4 d",
        "SORT z ALPHA",
        "SORT z ALPHA DESC LIMIT 0 2",
        "SORT z BY nosort",
        "SORT z BY nosort DESC",
        "SORT z BY nosort LIMIT 1 2",
        "SORT z BY nosort DESC LIMIT 1 2",
        "SORT z BY nosort LIMIT 1 100",
        "SORT z BY nosort LIMIT 10 2",
        "SORT z",
        "MSET k_a 5 k_b 4 k_c 3 k_d 2 k_e 1",
        "SORT z BY k_*",
        "SORT z BY k_* GET k_* GET #",
        "ZADD nz 1 1 2 10 3 2",
        "SORT nz",
        "SORT nz DESC",
        "SORT nz BY nosort STORE dst",
        "LRANGE dst 0 -1",
        "HSET hash f v",
        "SORT hash",
    ]);
}

/// ALPHA with a BY pattern leaves equal keys (and missing ones) in the order the sort
/// leaves them: a stable merge sort for a whole result, Redis's partial quicksort for a
/// LIMIT.
#[test]
fn equal_sort_keys() {
    let mut push = String::from("RPUSH l");
    for i in 0..60 {
        push.push_str(&format!(" e{i}"));
    }
    both_protocols(&[
        &push,
        "MSET w_e3 b w_e10 a w_e20 b w_e33 a w_e41 c",
        "SORT l BY w_* ALPHA",
        "SORT l BY w_* ALPHA DESC",
        "SORT l BY w_* ALPHA LIMIT 0 5",
        "SORT l BY w_* ALPHA LIMIT 50 5",
        "SORT l BY w_* ALPHA DESC LIMIT 3 7",
        "SORT l BY w_* ALPHA LIMIT 20 30 GET #",
        "SORT l BY w_* LIMIT 0 5",
        "SORT l BY w_* ALPHA LIMIT 0 5 STORE dst",
        "LRANGE dst 0 -1",
    ]);
}

#[test]
fn notifications() {
    common::notify::check(
        &["KEA", "Kl", "Eg", "AKEm"],
        &[
            "RPUSH l 3 1 2",
            "SORT l STORE dst",
            "SORT l STORE dst",
            "SORT l BY w_* GET h_*->f GET x_*",
            "SORT l BY w_* GET h_*->f STORE dst3",
            "SORT_RO nokey",
            "SORT l LIMIT 5 5 STORE dst",
            "SORT l LIMIT 5 5 STORE dst",
            "SORT nokey STORE l",
            "SORT l",
            "SET s x",
            "SORT s STORE dst",
        ],
    );
}

#[test]
fn command_docs_and_info() {
    both_protocols(&[
        "COMMAND INFO sort sort_ro",
        "COMMAND DOCS sort",
        "COMMAND DOCS sort_ro",
        "COMMAND GETKEYS SORT k STORE dst",
        "COMMAND GETKEYS SORT k BY w_* GET h_*->f STORE dst LIMIT 0 1",
        "COMMAND GETKEYS SORT_RO k",
    ]);
}

#[test]
fn getkeys_and_flags() {
    both_protocols(&[
        "COMMAND GETKEYSANDFLAGS SORT k STORE a STORE b",
        "COMMAND GETKEYSANDFLAGS SORT k LIMIT store x GET store BY store STORE",
        "COMMAND GETKEYS SORT k GET",
    ]);
}

/// A deterministic xorshift, so random cases replay.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Random lists, sets and sorted sets sorted with random options: numbers with duplicates,
/// strings, missing and equal BY keys, LIMITs inside, across and past the ends.
#[test]
fn random_sorts() {
    let Some(mut world) = World::start() else {
        return;
    };
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let cases: usize = std::env::var("REDISH_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    for case in 0..cases {
        world.reset(case % 2 == 1);
        let n = 1 + rng.below(80);
        let alpha_values = rng.below(2) == 0;
        let mut push = String::from(match rng.below(3) {
            0 => "RPUSH k",
            1 => "SADD k",
            _ => "ZADD k",
        });
        let zset = push.starts_with("ZADD");
        for i in 0..n {
            let v = if alpha_values {
                format!("v{}", rng.below(30))
            } else {
                format!("{}", rng.below(40) as i64 - 20)
            };
            if zset {
                push.push_str(&format!(" {} {v}{i}", rng.below(10)));
            } else {
                push.push_str(&format!(" {v}"));
            }
        }
        let mut lines = vec![push];
        let mut weights = String::from("MSET");
        for i in 0..40 {
            if rng.below(3) > 0 {
                weights.push_str(&format!(" w_v{i} {} w_{i} {}", rng.below(5), rng.below(5)));
            }
        }
        if weights.len() > 4 {
            lines.push(weights);
        }
        for _ in 0..12 {
            let mut cmd = String::from("SORT k");
            // A set in hash-table order sorted without keys would depend on that order.
            let set_with_ties = !zset && !lines[0].starts_with("RPUSH");
            let mut by_key = false;
            match rng.below(4) {
                0 if !set_with_ties => cmd.push_str(" BY nosort"),
                1 => {
                    cmd.push_str(" BY w_*");
                    by_key = true;
                }
                _ => {}
            }
            if rng.below(2) == 0 {
                let start = rng.below(n + 5) as i64 - 2;
                let count = rng.below(n + 5) as i64 - 2;
                cmd.push_str(&format!(" LIMIT {start} {count}"));
            }
            if rng.below(2) == 0 {
                cmd.push_str(" DESC");
            }
            // Equal ALPHA keys of a set or sorted set stay in hash-table order in Redis.
            let hashed = !lines[0].starts_with("RPUSH");
            if !(by_key && hashed) && (alpha_values || rng.below(3) == 0) {
                cmd.push_str(" ALPHA");
            }
            if rng.below(3) == 0 {
                cmd.push_str(" GET # GET w_*");
            }
            if rng.below(4) == 0 {
                cmd.push_str(" STORE dst");
            }
            lines.push(cmd.clone());
            if cmd.contains("STORE") {
                lines.push("LRANGE dst 0 -1".to_owned());
            }
        }
        for line in &lines {
            let (theirs, ours) = world.both(&split(line));
            assert_eq!(show(&theirs), show(&ours), "case {case}: {line}\n{lines:?}");
        }
    }
}
