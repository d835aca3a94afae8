//! The keyspace-notification differential harness: the same commands go to a redish
//! [`Store`] and to a real redis-server 7.0, each with a subscriber listening to every
//! `__keyspace@*__:*` and `__keyevent@*__:*` channel, and after each command the messages
//! both subscribers got must be the same, byte for byte, in the same order, in RESP2 and
//! RESP3 — and so must the commands' replies.
//!
//! After each command the commanding client PUBLISHes to a sentinel channel the subscriber
//! also listens to: everything Redis published for the command reaches the subscriber
//! before the sentinel, so reading up to it collects exactly that command's messages.
//! Active expiry is off on both (`DEBUG SET-ACTIVE-EXPIRE 0`), so a key expires when a
//! command touches it, at the same point on both servers.
//!
//! A scenario is a list of lines: a command, or `@sleep MS`. A random run picks commands
//! from templates with `{k}` (a key of three), `{v}` (a short value), `{n}` (a small
//! integer) and `;` between steps. Give an expiry some milliseconds of room (`PEXPIRE k 3`,
//! then `@sleep 6`): Redis reads its clock more than once per command, so a 1 ms expiry can
//! already be past when EXPIRE checks it (`del` instead of `expire`).

#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use redish_core::{Session, SessionConfig, Store};

use super::{encode, frame_len, now_ms, show, Conn, Redis};

const SENTINEL: &[u8] = b"notify-sentinel";

/// One server pair: a commanding client and a subscriber on each.
pub struct World {
    redis: Redis,
    store: Store,
    ours: [Session; 2],
    theirs: [Conn; 2],
    resp3: bool,
    flags: String,
}

impl World {
    /// Both servers with `notify-keyspace-events` set to `flags`, clients speaking RESP3 if
    /// `resp3`. `None` when there is no redis-server (see [`Redis::start`]).
    pub fn start(flags: &str, resp3: bool) -> Option<World> {
        let redis = Redis::start(&["--enable-debug-command", "yes"])?;
        let theirs = [redis.connect(), redis.connect()];
        let store = Store::default();
        let ours = [
            Session::new(1_000_001, SessionConfig::default()),
            Session::new(1_000_002, SessionConfig::default()),
        ];
        let mut w = World {
            redis,
            store,
            ours,
            theirs,
            resp3,
            flags: flags.to_owned(),
        };
        w.reset();
        Some(w)
    }

    /// Empties both servers and sets the clients up again.
    pub fn reset(&mut self) {
        let mut admin = self.redis.connect();
        admin.call(&split("FLUSHALL"));
        admin.call(&split("DEBUG SET-ACTIVE-EXPIRE 0"));
        let flags = self.flags.clone();
        let set = [
            b"CONFIG".to_vec(),
            b"SET".to_vec(),
            b"notify-keyspace-events".to_vec(),
            flags.into_bytes(),
        ];
        admin.call(&set);
        self.theirs = [self.redis.connect(), self.redis.connect()];
        self.store = Store::default();
        self.store.set_active_expire(false);
        self.store
            .set_setting("notify-keyspace-events", self.flags.clone());
        self.ours = [
            Session::new(self.store.next_client_id(), SessionConfig::default()),
            Session::new(self.store.next_client_id(), SessionConfig::default()),
        ];
        let hello = split(if self.resp3 { "HELLO 3" } else { "HELLO 2" });
        for i in 0..2 {
            self.theirs[i].call(&hello);
            self.run_ours(i, &hello);
        }
        let mut sub = split("PSUBSCRIBE __keyspace@*__:* __keyevent@*__:*");
        // Two subscription confirmations, then the sentinel's.
        self.theirs[1].send(&sub);
        self.theirs[1].read();
        self.theirs[1].read();
        self.run_ours(1, &sub);
        sub = vec![b"SUBSCRIBE".to_vec(), SENTINEL.to_vec()];
        self.theirs[1].call(&sub);
        self.run_ours(1, &sub);
    }

    fn run_ours(&mut self, i: usize, args: &[Vec<u8>]) -> Vec<u8> {
        let now = now_ms();
        self.ours[i].handle_bytes(&encode(args));
        self.ours[i].process(&mut self.store, now);
        self.route(now);
        let out = self.ours[i].poll_transmit().to_vec();
        self.ours[i].consume_transmit(out.len());
        out
    }

    fn route(&mut self, now: u64) {
        while let Some(d) = self.store.poll_delivery() {
            if let Some(s) = self.ours.iter_mut().find(|s| s.id() == d.to) {
                s.handle_message(&d.message, now);
                s.process(&mut self.store, now);
            }
        }
    }

    /// Runs one command on both and returns (redis, redish): the reply, then every frame
    /// the subscriber got for it.
    pub fn step(&mut self, args: &[Vec<u8>]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let publish = vec![b"PUBLISH".to_vec(), SENTINEL.to_vec(), b"x".to_vec()];
        let mut theirs = vec![self.theirs[0].call(args)];
        self.theirs[0].call(&publish);
        loop {
            let frame = self.theirs[1].read().expect("redis subscriber closed");
            if is_sentinel(&frame) {
                break;
            }
            theirs.push(frame);
        }
        let mut ours = vec![self.run_ours(0, args)];
        self.run_ours(0, &publish);
        let out = self.ours[1].poll_transmit().to_vec();
        self.ours[1].consume_transmit(out.len());
        let mut at = 0;
        while at < out.len() {
            let n = frame_len(&out, at).expect("whole frames");
            let frame = out[at..at + n].to_vec();
            at += n;
            if is_sentinel(&frame) {
                break;
            }
            ours.push(frame);
        }
        assert_eq!(at, out.len(), "nothing after the sentinel");
        (theirs, ours)
    }

    /// Runs a scenario: each line's reply and notifications must match. Returns the first
    /// mismatch, described.
    pub fn scenario(&mut self, lines: &[String]) -> Result<(), String> {
        for (i, line) in lines.iter().enumerate() {
            if let Some(ms) = line.strip_prefix("@sleep ") {
                std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
                continue;
            }
            let (theirs, ours) = self.step(&split(line));
            if theirs != ours {
                let show_all = |v: &[Vec<u8>]| v.iter().map(|f| show(f)).collect::<Vec<_>>();
                return Err(format!(
                    "RESP{} flags {:?} step {i} `{line}`:\n  redis:  {:?}\n  redish: {:?}\n  \
                     sequence: {lines:?}",
                    if self.resp3 { 3 } else { 2 },
                    self.flags,
                    show_all(&theirs),
                    show_all(&ours)
                ));
            }
        }
        Ok(())
    }
}

fn is_sentinel(frame: &[u8]) -> bool {
    frame.windows(SENTINEL.len()).any(|w| w == SENTINEL)
}

/// Splits a line on spaces into arguments.
pub fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|a| !a.is_empty())
        .map(|a| a.as_bytes().to_vec())
        .collect()
}

/// Runs `lines` on fresh servers with each of `flags`, in RESP2 and RESP3; panics on the
/// first mismatch.
pub fn check(flags: &[&str], lines: &[&str]) {
    let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for f in flags {
        for resp3 in [false, true] {
            let Some(mut w) = World::start(f, resp3) else {
                return;
            };
            if let Err(e) = w.scenario(&lines) {
                panic!("{e}");
            }
        }
    }
}

/// A small xorshift for the random runs: the seed reproduces a run.
pub struct Rand(u64);

impl Rand {
    pub fn new(seed: u64) -> Rand {
        Rand(seed | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A random sequence of `steps` commands from `templates` (see the module docs).
pub fn random_lines(templates: &[&str], steps: usize, rand: &mut Rand) -> Vec<String> {
    const KEYS: &[&str] = &["k1", "k2", "k3"];
    const VALUES: &[&str] = &["a", "b", "c", "1", "2", "10"];
    let mut lines = Vec::new();
    while lines.len() < steps {
        let t = templates[rand.below(templates.len())];
        for part in t.split(';') {
            let mut line = String::new();
            let mut rest = part.trim();
            while let Some(open) = rest.find('{') {
                line.push_str(&rest[..open]);
                let close = open + rest[open..].find('}').expect("closed {");
                line.push_str(&match &rest[open + 1..close] {
                    "k" => KEYS[rand.below(KEYS.len())].to_owned(),
                    "v" => VALUES[rand.below(VALUES.len())].to_owned(),
                    "n" => (rand.below(9) as i64 - 3).to_string(),
                    other => panic!("unknown placeholder {{{other}}}"),
                });
                rest = &rest[close + 1..];
            }
            line.push_str(rest);
            lines.push(line);
        }
    }
    lines
}

/// Random runs over `templates` with each of `flags`, both protocols. `REDISH_DIFF_CASES`
/// sets how many sequences per configuration (default 10), `REDISH_DIFF_SEED` the seed.
pub fn random(flags: &[&str], templates: &[&str]) {
    let cases: usize = std::env::var("REDISH_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("REDISH_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(now_ms);
    for f in flags {
        for resp3 in [false, true] {
            let Some(mut w) = World::start(f, resp3) else {
                return;
            };
            let mut rand = Rand::new(seed);
            for _ in 0..cases {
                let lines = random_lines(templates, 40, &mut rand);
                if let Err(e) = w.scenario(&lines) {
                    panic!("seed {seed}: {e}");
                }
                w.reset();
            }
        }
    }
}
