//! Client-side caching (CLIENT TRACKING) against redis-server 7.0: the same steps go to a
//! redish [`Store`] with four sessions and to a real server with four connections, and
//! after each step every client must have received the same frames, byte for byte, in the
//! same order — replies, `invalidate` pushes, redirected `__redis__:invalidate` messages.
//!
//! The clients: 0 speaks RESP3, 1 RESP2, 2 is a RESP2 subscriber to
//! `__redis__:invalidate` (the usual REDIRECT target), 3 speaks RESP3 too. A step is
//! `N COMMAND …` (client N runs it); `{idN}` in it is client N's id on each server, and an
//! id in a reply is shown as `{idN}` before the comparison. After each step every client
//! PINGs a sentinel: what it got before the sentinel's reply is what the step sent it.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_tracking`

mod common;

use common::notify::split;
use common::{encode, frame_len, now_ms, show, Conn, Redis};
use redish_core::{Session, SessionConfig, Store};

const SENTINEL: &str = "tracking-sentinel";
const CLIENTS: usize = 4;

struct World {
    _redis: Redis,
    store: Store,
    ours: Vec<Session>,
    theirs: Vec<Conn>,
    our_ids: Vec<u64>,
    their_ids: Vec<u64>,
    /// Clients between MULTI and EXEC: a PING would only queue, so they are not pinged.
    in_multi: Vec<bool>,
}

fn id_of(reply: &[u8]) -> u64 {
    let text = std::str::from_utf8(reply).unwrap();
    text.trim_start_matches(':').trim().parse().unwrap()
}

impl World {
    fn start() -> Option<World> {
        let redis = Redis::start(&["--enable-debug-command", "yes"])?;
        let theirs: Vec<Conn> = (0..CLIENTS).map(|_| redis.connect()).collect();
        let mut store = Store::default();
        let ours = (0..CLIENTS)
            .map(|_| Session::new(store.next_client_id(), SessionConfig::default()))
            .collect();
        let mut w = World {
            _redis: redis,
            store,
            ours,
            theirs,
            our_ids: Vec::new(),
            their_ids: Vec::new(),
            in_multi: vec![false; CLIENTS],
        };
        for i in 0..CLIENTS {
            let their = id_of(&w.theirs[i].call(&split("CLIENT ID")));
            let ours = id_of(&w.run_ours(i, &split("CLIENT ID")));
            w.their_ids.push(their);
            w.our_ids.push(ours);
        }
        for (i, setup) in [
            "HELLO 3",
            "HELLO 2",
            "SUBSCRIBE __redis__:invalidate",
            "HELLO 3",
        ]
        .into_iter()
        .enumerate()
        {
            let (a, b) = (
                w.theirs[i].call(&split(setup)),
                w.run_ours(i, &split(setup)),
            );
            // HELLO's map names the server: compare only that both answered.
            assert_eq!(a.is_empty(), b.is_empty());
        }
        Some(w)
    }

    fn run_ours(&mut self, i: usize, args: &[Vec<u8>]) -> Vec<u8> {
        let now = now_ms();
        self.ours[i].handle_bytes(&encode(args));
        self.ours[i].process(&mut self.store, now);
        self.route(now);
        self.take_ours(i)
    }

    fn take_ours(&mut self, i: usize) -> Vec<u8> {
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

    /// `line` with `{idN}` replaced by the ids of one server.
    fn with_ids(line: &str, ids: &[u64]) -> Vec<Vec<u8>> {
        let mut line = line.to_owned();
        for (n, id) in ids.iter().enumerate() {
            line = line.replace(&format!("{{id{n}}}"), &id.to_string());
        }
        split(&line)
    }

    /// Frames split out of `buf`, ids shown as `{idN}` (pass no ids but for replies that
    /// hold one).
    fn frames(buf: &[u8], ids: &[u64]) -> Vec<String> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < buf.len() {
            let n = frame_len(buf, at).expect("whole frames");
            let mut f = show(&buf[at..at + n]);
            for (i, id) in ids.iter().enumerate() {
                f = f.replace(&format!(":{id}\\r\\n"), &format!(":{{id{i}}}\\r\\n"));
            }
            out.push(f);
            at += n;
        }
        out
    }

    /// Runs one step on both; returns what each client got, per server.
    #[allow(clippy::needless_range_loop)]
    fn step(&mut self, line: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
        let (who, cmd) = line.split_once(' ').unwrap();
        let who: usize = who.parse().unwrap();
        let upper = cmd.to_ascii_uppercase();
        if upper == "MULTI" {
            self.in_multi[who] = true;
        } else if upper == "EXEC" || upper == "DISCARD" {
            self.in_multi[who] = false;
        }
        let shows_id = upper.contains("GETREDIR") || upper.contains("TRACKINGINFO");
        let (our_ids, their_ids) = if shows_id {
            (self.our_ids.clone(), self.their_ids.clone())
        } else {
            (Vec::new(), Vec::new())
        };
        let ping = split(&format!("PING {SENTINEL}"));
        // Redis: the command's reply, then each client's frames up to its sentinel.
        let mut theirs = vec![Vec::new(); CLIENTS];
        let args = Self::with_ids(cmd, &self.their_ids);
        let reply = self.theirs[who].call(&args);
        theirs[who].push(reply);
        for (i, got) in theirs.iter_mut().enumerate() {
            if self.in_multi[i] {
                continue;
            }
            self.theirs[i].send(&ping);
            loop {
                let f = self.theirs[i].read().expect("redis closed");
                if f.windows(SENTINEL.len()).any(|w| w == SENTINEL.as_bytes()) {
                    break;
                }
                got.push(f);
            }
        }
        let theirs = theirs
            .iter()
            .map(|fs| Self::frames(&fs.concat(), &their_ids))
            .collect();
        let args = Self::with_ids(cmd, &self.our_ids);
        let mut ours = vec![Vec::new(); CLIENTS];
        ours[who] = self.run_ours(who, &args);
        for i in 0..CLIENTS {
            // Deliveries routed after the step's command, without a sentinel yet.
            let pending = self.take_ours(i);
            ours[i].extend_from_slice(&pending);
            if self.in_multi[i] {
                ours[i] = Self::frames(&ours[i], &our_ids).join("").into_bytes();
                continue;
            }
            let out = self.run_ours(i, &ping);
            let end = Self::frames(&out, &[]).len();
            let mut frames = Self::frames(&out, &our_ids);
            frames.truncate(end - 1);
            let mut all = Self::frames(&ours[i], &our_ids);
            all.extend(frames);
            ours[i] = all.join("").into_bytes();
        }
        let ours = ours
            .iter()
            .map(|b| {
                let s = String::from_utf8(b.clone()).unwrap();
                if s.is_empty() {
                    Vec::new()
                } else {
                    vec![s]
                }
            })
            .collect();
        let theirs: Vec<Vec<String>> = theirs;
        let theirs = theirs
            .into_iter()
            .map(|fs| {
                let s = fs.join("");
                if s.is_empty() {
                    Vec::new()
                } else {
                    vec![s]
                }
            })
            .collect();
        (theirs, ours)
    }
}

fn check(lines: &[&str]) {
    let Some(mut w) = World::start() else {
        return;
    };
    for (i, line) in lines.iter().enumerate() {
        let (theirs, ours) = w.step(line);
        assert_eq!(
            theirs, ours,
            "step {i} `{line}` (per client: redis, then redish)\nsequence: {lines:?}"
        );
    }
}

#[test]
fn default_mode_invalidates_once_per_read() {
    check(&[
        "0 CLIENT TRACKING on",
        "0 CLIENT TRACKINGINFO",
        "0 GET a",
        "1 SET a 1",
        "1 SET a 2",
        "0 MGET a b c",
        "1 MSET a 3 b 4",
        "0 GET a",
        "0 SET a 5",
        "0 GET a",
        "1 DEL a",
        "0 HGET h f",
        "1 HSET h f v",
        "0 CLIENT TRACKING off",
        "0 GET a",
        "1 SET a 6",
        "1 INFO nosuchsection",
    ]);
}

#[test]
fn redirect_to_a_resp2_subscriber() {
    check(&[
        "1 CLIENT TRACKING on REDIRECT {id2}",
        "1 CLIENT GETREDIR",
        "1 GET k",
        "0 SET k v",
        "1 GET k",
        "1 SET k w",
        "3 CLIENT TRACKING on REDIRECT {id2} NOLOOP",
        "3 GET n",
        "3 SET n 1",
        "1 GET n",
        "3 SET n 2",
        "3 CLIENT TRACKINGINFO",
    ]);
}

#[test]
fn optin_optout_and_noloop() {
    check(&[
        "0 CLIENT CACHING yes",
        "0 CLIENT TRACKING on OPTIN",
        "0 GET a",
        "1 SET a 1",
        "0 CLIENT CACHING yes",
        "0 CLIENT TRACKINGINFO",
        "0 GET a",
        "1 SET a 2",
        "0 CLIENT CACHING no",
        "3 CLIENT TRACKING on OPTOUT NOLOOP",
        "3 CLIENT CACHING no",
        "3 GET b",
        "3 GET c",
        "1 MSET b 1 c 1",
        "3 GET c",
        "3 SET c 2",
        "1 SET c 3",
        "3 CLIENT TRACKING on OPTIN",
        "3 CLIENT TRACKING on BCAST",
    ]);
}

#[test]
fn transactions_and_flushes() {
    check(&[
        "0 CLIENT TRACKING on",
        "0 GET a",
        "0 GET b",
        "0 MULTI",
        "0 SET a 1",
        "0 GET a",
        "0 SET b 1",
        "0 EXEC",
        "1 SET a 2",
        "0 GET a",
        "1 FLUSHALL",
        "0 GET a",
        "0 FLUSHDB",
        "3 CLIENT TRACKING on",
        "3 GET x",
        "1 SELECT 1",
        "1 SET x 1",
        "1 FLUSHDB",
        "1 INFO nosuchsection",
    ]);
}

#[test]
fn bcast_prefixes() {
    check(&[
        "0 CLIENT TRACKING on BCAST PREFIX user: PREFIX obj:",
        "3 CLIENT TRACKING on BCAST NOLOOP",
        "1 SET user:1 a",
        "1 MSET obj:2 b user:3 c other d",
        "3 SET user:4 e",
        "0 SET obj:5 f",
        "0 CLIENT TRACKINGINFO",
        "0 CLIENT TRACKING on BCAST PREFIX us",
        "0 CLIENT TRACKING on BCAST PREFIX a PREFIX ab",
        "0 CLIENT TRACKING on PREFIX a",
        "1 DEL user:1 obj:2",
        "0 CLIENT TRACKING off",
        "1 SET user:6 g",
    ]);
}

#[test]
fn errors_in_redis_order() {
    check(&[
        "0 CLIENT TRACKING maybe",
        "0 CLIENT TRACKING on REDIRECT",
        "0 CLIENT TRACKING on REDIRECT x",
        "0 CLIENT TRACKING on REDIRECT 999999",
        "0 CLIENT TRACKING on REDIRECT {id2} REDIRECT {id2}",
        "0 CLIENT TRACKING on OPTIN OPTOUT",
        "0 CLIENT TRACKING on BCAST OPTIN",
        "0 CLIENT TRACKING on NOSUCH",
        "0 CLIENT TRACKING off NOSUCH",
        "0 CLIENT CACHING yes",
        "0 CLIENT TRACKING on",
        "0 CLIENT CACHING yes",
        "0 CLIENT CACHING no",
        "0 CLIENT CACHING maybe",
        "0 CLIENT GETREDIR",
        "0 CLIENT TRACKING on OPTOUT",
        "0 CLIENT TRACKING off",
        "0 CLIENT GETREDIR",
        "0 CLIENT TRACKINGINFO",
    ]);
}
