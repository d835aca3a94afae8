//! What the command benchmarks share: a session that never stops on pending output, fed a
//! whole batch at a time, and a cheap deterministic random sequence.

use std::hint::black_box;

use redish_core::{Session, SessionConfig, Store};

/// A session on `store` whose replies never pause processing (the bench consumes them).
pub fn session(store: &mut Store) -> Session {
    Session::new(
        store.next_client_id(),
        SessionConfig {
            max_pending_output_bytes: usize::MAX,
            ..SessionConfig::default()
        },
    )
}

/// Decodes, executes and answers `input`, discarding the replies.
pub fn feed(s: &mut Session, store: &mut Store, input: &[u8]) {
    s.handle_bytes(input);
    s.process(store, 0);
    let n = black_box(s.poll_transmit()).len();
    s.consume_transmit(n);
}

/// xorshift64: the same numbers on every run, a few instructions each.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn below(&mut self, n: u64) -> u64 {
        let x = &mut self.0;
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x % n
    }
}
