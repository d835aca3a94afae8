//! The scenario harness of the data-type differentials (`differential_types.rs`,
//! `differential_streams.rs`): redish [`Session`]s on one [`Store`] and clients of a real
//! redis-server, driven by the same lines (`2>CMD` blocks client 2, `2<` reads its reply;
//! markers such as `@len` and `@noint` compare a normalised reply), in RESP2 or RESP3.

#![allow(dead_code)]

use std::time::Duration;

use redish_core::{Session, SessionConfig, Store};

use crate::common::{self, now_ms, parse, show, Conn, Redis, Value};

/// One client of both servers.
pub struct Client {
    pub session: Session,
    pub conn: Conn,
}

/// Both servers and three clients of each.
pub struct World {
    pub redis: Redis,
    pub store: Store,
    pub admin: Conn,
    pub clients: Vec<Client>,
}

impl World {
    pub fn start() -> Option<World> {
        let redis = Redis::start(&[])?;
        let admin = redis.connect();
        Some(World {
            redis,
            store: Store::default(),
            admin,
            clients: Vec::new(),
        })
    }

    pub fn reset(&mut self) {
        self.admin.call(&[b"FLUSHALL".to_vec()]);
        self.store = Store::default();
        self.clients.clear();
        for _ in 0..3 {
            let c = Client {
                session: Session::new(self.store.next_client_id(), SessionConfig::default()),
                conn: self.redis.connect(),
            };
            self.clients.push(c);
        }
    }

    /// What an adapter does between commands: run timeouts that are due, hand every
    /// delivery to its session and let that session process its input again.
    pub fn route(&mut self) {
        let now = now_ms();
        // The server's timer, as the adapters run it (it serves waits active expiry ended).
        let mut deliveries = Vec::new();
        redish_core::server::handle_timers(&mut self.store, now, |d| deliveries.push(d));
        while let Some(d) = self.store.poll_delivery() {
            deliveries.push(d);
        }
        for d in deliveries {
            if let Some(c) = self.clients.iter_mut().find(|c| c.session.id() == d.to) {
                c.session.handle_message(&d.message, now);
                c.session.process(&mut self.store, now);
            }
        }
    }

    /// Sends `args` to redish client `i`, routes, and returns what it wrote.
    pub fn ours(&mut self, i: usize, args: &[Vec<u8>]) -> Vec<u8> {
        self.route();
        let c = &mut self.clients[i];
        c.session.handle_bytes(&common::encode(args));
        c.session.process(&mut self.store, now_ms());
        self.route();
        self.take(i)
    }

    pub fn take(&mut self, i: usize) -> Vec<u8> {
        let s = &mut self.clients[i].session;
        let out = s.poll_transmit().to_vec();
        s.consume_transmit(out.len());
        out
    }

    /// Redis's `blocked_clients`.
    pub fn redis_blocked(&mut self) -> usize {
        let info = self.admin.call(&[b"INFO".to_vec(), b"clients".to_vec()]);
        let text = String::from_utf8_lossy(&info).into_owned();
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .expect("INFO clients has blocked_clients");
        line.trim().parse().unwrap()
    }

    /// Runs `args` on client `i` of both servers: (redis, redish).
    pub fn both(&mut self, i: usize, args: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
        let theirs = self.clients[i].conn.call(args);
        let ours = self.ours(i, args);
        (theirs, ours)
    }
}

/// HELLO's connection id.
pub fn normalise(reply: &[u8]) -> Vec<u8> {
    let marker = b"$2\r\nid\r\n:";
    let Some(i) = reply.windows(marker.len()).position(|w| w == marker) else {
        return reply.to_vec();
    };
    let start = i + marker.len();
    let end = start + reply[start..].iter().position(|&c| c == b'\r').unwrap();
    [&reply[..start], b"<id>", &reply[end..]].concat()
}

/// A reply with its arrays (and maps, by pair) sorted: order-free comparison. A SCAN-family
/// reply `[cursor, items]` has its items sorted.
pub fn sorted(v: Value) -> Value {
    match v {
        Value::Array(items)
            if items.len() == 2
                && matches!(items[1], Value::Array(_))
                && items[0].as_str().is_some() =>
        {
            let mut it = items.into_iter();
            let cursor = it.next().unwrap();
            Value::Array(vec![cursor, sorted(it.next().unwrap())])
        }
        Value::Array(mut items) => {
            items.sort_by_key(|v| format!("{v:?}"));
            Value::Array(items)
        }
        Value::Map(mut pairs) => {
            pairs.sort_by_key(|p| format!("{p:?}"));
            Value::Map(pairs)
        }
        v => v,
    }
}

/// The shape of a reply: its type byte and, for aggregates, the element count.
pub fn shape(reply: &[u8]) -> String {
    let line_end = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(reply.len());
    match reply.first() {
        Some(b'*' | b'~' | b'%') => String::from_utf8_lossy(&reply[..line_end]).into_owned(),
        Some(&c) => (c as char).to_string(),
        None => String::new(),
    }
}

/// A reply with the digits of its integers replaced: for replies holding times or idle
/// times, which differ between the servers' clocks.
pub fn mask_integers(reply: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(reply.len());
    let mut line_start = true;
    let mut masking = false;
    for &b in reply {
        if line_start && b == b':' {
            masking = true;
            out.extend_from_slice(b":N");
        } else if masking && b != b'\r' {
            continue;
        } else {
            masking = false;
            out.push(b);
        }
        line_start = b == b'\n';
    }
    out
}

pub fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "\"\"" => Vec::new(),
            t if t.starts_with("@x") => {
                // `@x70` is a run of 70 x's: a value past the listpack limits.
                vec![b'x'; t[2..].parse().unwrap()]
            }
            t => t.as_bytes().to_vec(),
        })
        .collect()
}

/// A whole HSCAN/SSCAN/ZSCAN/SCAN iteration on one side: the items seen, sorted.
pub fn full_scan(call: &mut dyn FnMut(&[Vec<u8>]) -> Vec<u8>, cmd: &[Vec<u8>]) -> Vec<String> {
    let mut cursor = b"0".to_vec();
    let mut items = Vec::new();
    for _ in 0..100_000 {
        let mut args = cmd.to_vec();
        args.insert(2, cursor.clone());
        if args[0].eq_ignore_ascii_case(b"SCAN") {
            args.remove(1);
        }
        let reply = parse(&call(&args));
        let Value::Array(parts) = reply else {
            panic!("scan replied {reply:?}");
        };
        cursor = parts[0].as_str().unwrap().as_bytes().to_vec();
        if let Value::Array(found) = &parts[1] {
            items.extend(found.iter().map(|v| format!("{v:?}")));
        }
        if cursor == b"0" {
            items.sort();
            return items;
        }
    }
    panic!("scan never ended");
}

/// Runs scenario lines in one protocol. Lines go to client 1, or to client 2 / 3 with a
/// `2:` / `3:` prefix; `2>CMD` sends without reading, `2<` reads. Directives: `@sleep ms`,
/// `@sorted CMD`, `@len CMD`, `@scan CMD key [options]`.
pub fn scenario(world: &mut World, resp3: bool, lines: &[&str]) {
    world.reset();
    if resp3 {
        for i in 0..3 {
            world.both(i, &split("HELLO 3"));
        }
    }
    // REDISH_DIFF_ALL=1 reports every mismatch instead of stopping at the first.
    let keep_going = std::env::var("REDISH_DIFF_ALL").is_ok_and(|v| v == "1");
    let mut failures = 0;
    let trace = std::env::var("REDISH_DIFF_TRACE").is_ok_and(|v| v == "1");
    for (step, line) in lines.iter().enumerate() {
        if trace {
            eprintln!("step {step}: {line}");
        }
        let mut fail = |msg: String| {
            let text = format!(
                "RESP{} step {step} `{line}`: {msg}",
                if resp3 { 3 } else { 2 }
            );
            if !keep_going {
                panic!("{text}");
            }
            eprintln!("{text}");
            failures += 1;
        };
        let (who, rest) = match line.as_bytes() {
            [d @ b'2'..=b'3', b':' | b'>' | b'<', ..] => ((d - b'1') as usize, &line[1..]),
            _ => (0, &line[..]),
        };
        if let Some(cmd) = rest.strip_prefix('>') {
            let args = split(cmd);
            // Wait until Redis has blocked the client: another connection's next command
            // could otherwise overtake it.
            let before = world.redis_blocked();
            world.clients[who].conn.send(&args);
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while world.redis_blocked() <= before {
                assert!(
                    std::time::Instant::now() < deadline,
                    "redis did not block `{line}`"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            let ours = world.ours(who, &args);
            if !ours.is_empty() || !world.clients[who].session.is_blocked() {
                fail(format!("redish did not block: {}", show(&ours)));
            }
            continue;
        }
        if rest == "<" {
            let theirs = world.clients[who].conn.read().expect("a reply");
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            let mut ours = Vec::new();
            while ours.is_empty() && std::time::Instant::now() < deadline {
                world.route();
                ours = world.take(who);
                if ours.is_empty() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            if normalise(&theirs) != normalise(&ours) {
                fail(format!("redis {} / redish {}", show(&theirs), show(&ours)));
            }
            continue;
        }
        let rest = rest.strip_prefix(':').unwrap_or(rest);
        if let Some(ms) = rest.strip_prefix("@sleep ") {
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
            continue;
        }
        let (directive, cmd) = match rest.split_once(' ') {
            Some((d, c)) if d.starts_with('@') => (d, c),
            _ => ("", rest),
        };
        let args = split(cmd);
        if directive == "@scan" {
            let theirs = full_scan(&mut |a| world.clients[who].conn.call(a), &args);
            let ours = full_scan(&mut |a| world.ours(who, a), &args);
            if theirs != ours {
                fail(format!("redis {theirs:?}\n redish {ours:?}"));
            }
            continue;
        }
        let (theirs, ours) = world.both(who, &args);
        let (theirs, ours) = (normalise(&theirs), normalise(&ours));
        let same = match directive {
            "" => theirs == ours,
            "@sorted" => theirs == ours || sorted(parse(&theirs)) == sorted(parse(&ours)),
            "@len" => shape(&theirs) == shape(&ours),
            "@noint" => mask_integers(&theirs) == mask_integers(&ours),
            d => panic!("unknown directive {d}"),
        };
        if !same {
            fail(format!(
                "\n  redis:  {}\n  redish: {}",
                show(&theirs),
                show(&ours)
            ));
        }
    }
    assert_eq!(failures, 0, "mismatches above");
}

pub fn both_protocols(lines: &[&str]) {
    let Some(mut world) = World::start() else {
        return;
    };
    scenario(&mut world, false, lines);
    scenario(&mut world, true, lines);
}
