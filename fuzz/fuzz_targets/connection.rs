//! Arbitrary bytes into a connection over a store, in chunks, with the clock moving: the
//! session never panics, and everything it writes is valid RESP that decodes completely
//! (until SYNC or PSYNC turns the connection into a replica's stream).
//!
//! A second connection subscribed to every channel receives whatever the first publishes,
//! so pub/sub delivery and its output limits run too.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redish_core::resp::{Decoder, Limits};
use redish_core::{Session, SessionConfig, Store};

fn check_output(session: &mut Session) {
    let mut buf = BytesMut::from(session.poll_transmit());
    let n = buf.len();
    session.consume_transmit(n);
    // After SYNC or PSYNC the connection carries the replication stream (`$<len>` and an
    // RDB without a closing CRLF, then commands), which is not a sequence of replies.
    if session.is_replica() {
        return;
    }
    let mut decoder = Decoder::new(Limits::DEFAULT);
    while !buf.is_empty() {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => {}
            other => panic!("session wrote invalid RESP: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut store = Store::default();
    let config = SessionConfig {
        max_pending_output_bytes: 4096,
        pubsub_hard_limit_bytes: 8192,
        pubsub_soft_limit_bytes: 2048,
        pubsub_soft_limit_ms: 50,
        ..SessionConfig::default()
    };
    let mut client = Session::new(store.next_client_id(), config);
    let mut watcher = Session::new(store.next_client_id(), config);
    watcher.handle_bytes(b"PSUBSCRIBE *\r\n");
    let mut now = 1_700_000_000_000u64;
    watcher.process(&mut store, now);
    check_output(&mut watcher);

    // Each chunk: one length byte, then that many bytes of input.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        client.handle_bytes(&tail[..n]);
        rest = &tail[n..];
        now += u64::from(len % 7) * 10;
        store.handle_timeout(now);
        client.process(&mut store, now);
        while let Some(d) = store.poll_delivery() {
            if d.to == watcher.id() {
                watcher.handle_message(&d.message, now);
            } else {
                client.handle_message(&d.message, now);
            }
        }
        check_output(&mut client);
        if len % 3 == 0 {
            check_output(&mut watcher);
        }
        while client.poll_event().is_some() {}
    }
    client.handle_close(&mut store);
    watcher.handle_close(&mut store);
    assert_eq!(
        store.pubsub.channel_count() + store.pubsub.pattern_count(),
        0
    );
});
