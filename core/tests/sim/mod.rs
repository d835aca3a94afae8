//! A server without sockets for session-level tests: several sessions on one store and a
//! fake clock, wired the way an adapter wires them — deliveries routed after every step,
//! each session woken when its own `poll_timeout` passes, the store's timer run when due.

#![allow(dead_code)]

use redish_core::{Session, SessionConfig, Store};

pub const T0: u64 = 1_700_000_000_000;

/// A store, sessions and a clock, driven like an adapter.
pub struct Server {
    pub store: Store,
    pub sessions: Vec<Session>,
    pub now: u64,
}

impl Server {
    pub fn new(clients: usize) -> Server {
        let mut store = Store::default();
        let sessions = (0..clients)
            .map(|_| Session::new(store.next_client_id(), SessionConfig::default()))
            .collect();
        Server {
            store,
            sessions,
            now: T0,
        }
    }

    /// Hands every delivery to its session and lets it process, as an adapter must.
    pub fn route(&mut self) {
        while let Some(d) = self.store.poll_delivery() {
            let s = self
                .sessions
                .iter_mut()
                .find(|s| s.id() == d.to)
                .expect("deliveries go to live sessions");
            s.handle_message(&d.message, self.now);
            s.process(&mut self.store, self.now);
        }
    }

    /// Sends inline `input` on session `i` and returns what it wrote.
    pub fn send(&mut self, i: usize, input: &str) -> String {
        self.sessions[i].handle_bytes(input.as_bytes());
        self.sessions[i].process(&mut self.store, self.now);
        self.route();
        self.take(i)
    }

    pub fn take(&mut self, i: usize) -> String {
        let s = &mut self.sessions[i];
        let out = String::from_utf8_lossy(s.poll_transmit()).into_owned();
        let n = s.poll_transmit().len();
        s.consume_transmit(n);
        out
    }

    /// Moves the clock; runs the store's timer and every session whose timer is due.
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        if self.store.poll_timeout().is_some_and(|t| t <= self.now) {
            self.store.handle_timeout(self.now);
        }
        for s in &mut self.sessions {
            if s.poll_timeout().is_some_and(|t| t <= self.now) {
                s.process(&mut self.store, self.now);
            }
        }
        self.route();
    }
}
