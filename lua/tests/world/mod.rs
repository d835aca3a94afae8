//! Shared by the Lua differential tests: a redis-server and a redish [`Session`] with the
//! Lua engine plugged in, one client of each, and the check that their replies match.

#![allow(dead_code)]

use redish_core::{Session, SessionConfig, Store};

use crate::common::{self, now_ms, show, Conn, Redis};

/// Both servers, one client of each.
pub struct World {
    pub redis: Redis,
    pub store: Store,
    pub session: Session,
    pub conn: Conn,
}

impl World {
    /// Starts redis-server (`None`: it is missing and not required) and a store with the
    /// Lua engine.
    pub fn start() -> Option<World> {
        let redis = Redis::start(&[])?;
        let conn = redis.connect();
        let mut store = Store::default();
        store.set_script_engine(redish_lua::engine());
        let session = Session::new(store.next_client_id(), SessionConfig::default());
        Some(World {
            redis,
            store,
            session,
            conn,
        })
    }

    /// redish's reply to `args`.
    pub fn ours(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.session.handle_bytes(&common::encode(args));
        self.session.process(&mut self.store, now_ms());
        let out = self.session.poll_transmit().to_vec();
        self.session.consume_transmit(out.len());
        out
    }

    /// Runs `cases` in RESP2, then RESP3, each time after HELLO and the `setup` commands.
    pub fn run(&mut self, setup: &[&[&str]], cases: &[Vec<Vec<u8>>]) {
        for resp3 in [false, true] {
            self.check_with(
                &req(&["HELLO", if resp3 { "3" } else { "2" }]),
                hide_hello_id,
            );
            for c in setup {
                self.check_with(&req(c), hide_hello_id);
            }
            for c in cases {
                self.check_with(c, hide_hello_id);
            }
        }
    }

    /// Sends `args` to both, each reply passed through `normalise`; panics with both if they
    /// differ. Returns ours.
    pub fn check_with(&mut self, args: &[Vec<u8>], normalise: fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let theirs = normalise(&self.conn.call(args));
        let ours = normalise(&self.ours(args));
        assert!(
            theirs == ours,
            "{}\n  redis:  {}\n  redish: {}",
            show(&args.concat()),
            show(&theirs),
            show(&ours)
        );
        ours
    }
}

/// HELLO's connection id, which differs between the servers.
pub fn hide_hello_id(reply: &[u8]) -> Vec<u8> {
    let marker = b"$2\r\nid\r\n:";
    let Some(i) = reply.windows(marker.len()).position(|w| w == marker) else {
        return reply.to_vec();
    };
    let start = i + marker.len();
    let end = start + reply[start..].iter().position(|&c| c == b'\r').unwrap();
    [&reply[..start], b"<id>", &reply[end..]].concat()
}

/// A request from its words.
pub fn req(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}
