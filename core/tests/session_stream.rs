//! Replies in pieces, without sockets: a reply that could grow without bound (SRANDMEMBER
//! with a huge negative count) is written only as fast as the client reads it, other
//! connections run between its pieces, and what the client reads is drawn from the value
//! as it was when the command ran.

use bytes::BytesMut;
use redish_core::resp::{Decoder, Limits};
use redish_core::{Frame, Session, SessionConfig, Store};

const T0: u64 = 1_700_000_000_000;
const LIMIT: usize = 64 * 1024;

fn session(store: &mut Store) -> Session {
    let config = SessionConfig {
        max_pending_output_bytes: LIMIT,
        ..SessionConfig::default()
    };
    Session::new(store.next_client_id(), config)
}

fn send(s: &mut Session, store: &mut Store, input: &str) {
    s.handle_bytes(input.as_bytes());
    s.process(store, T0);
}

/// Reads everything, letting the session write on (and run what follows) as a driver
/// would.
fn read_all(s: &mut Session, store: &mut Store) -> BytesMut {
    let mut all = BytesMut::new();
    loop {
        let out = s.poll_transmit();
        if out.is_empty() {
            s.process(store, T0);
            if s.poll_transmit().is_empty() {
                return all;
            }
            continue;
        }
        assert!(
            out.len() <= LIMIT + 1024,
            "pending output bounded: {}",
            out.len()
        );
        all.extend_from_slice(out);
        let n = out.len();
        s.consume_transmit(n);
    }
}

fn frames(mut bytes: BytesMut) -> Vec<Frame> {
    let limits = Limits {
        max_aggregate_len: usize::MAX,
        ..Limits::DEFAULT
    };
    let mut d = Decoder::new(limits);
    let mut all = Vec::new();
    while let Some(f) = d.decode(&mut bytes).expect("valid RESP") {
        all.push(f);
    }
    assert!(bytes.is_empty(), "a whole number of frames");
    all
}

fn bulks(f: &Frame) -> Vec<Vec<u8>> {
    let Frame::Array(items) = f else {
        panic!("not an array: {f:?}")
    };
    items
        .iter()
        .map(|i| match i {
            Frame::Bulk(b) => b.to_vec(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect()
}

#[test]
fn a_huge_count_is_bounded_by_the_output_limit_and_others_run() {
    let mut store = Store::default();
    let mut hostile = session(&mut store);
    let mut other = session(&mut store);
    send(&mut other, &mut store, "SADD s a b c\r\n");
    read_all(&mut other, &mut store);
    send(
        &mut hostile,
        &mut store,
        "SRANDMEMBER s -2147483648\r\nPING\r\n",
    );
    let pending = hostile.poll_transmit().len();
    assert!((LIMIT..LIMIT + 64).contains(&pending), "{pending}");
    assert!(hostile.is_streaming() && !hostile.wants_read());
    assert!(hostile
        .poll_transmit()
        .starts_with(b"*2147483648\r\n$1\r\n"));
    // Processing again writes nothing more while the client does not read.
    hostile.process(&mut store, T0);
    assert_eq!(hostile.poll_transmit().len(), pending);
    // Another connection changes the set between pieces.
    send(&mut other, &mut store, "SADD s late\r\nPING\r\n");
    assert_eq!(other.poll_transmit(), b":1\r\n+PONG\r\n");
    // Read a few pieces: only members of the set as it was.
    let mut read = BytesMut::new();
    for _ in 0..20 {
        let n = hostile.poll_transmit().len();
        read.extend_from_slice(hostile.poll_transmit());
        hostile.consume_transmit(n);
        assert!(hostile.poll_transmit().len() >= LIMIT, "refilled");
    }
    let text = String::from_utf8(read[13..].to_vec()).unwrap();
    let elements: Vec<&str> = text.split("\r\n").skip(1).step_by(2).collect();
    assert!(elements.len() > 100_000);
    assert!(elements.iter().all(|m| ["a", "b", "c", ""].contains(m)));
    assert!(!text.contains("late"));
    // The client goes: nothing of the stream is left.
    hostile.handle_close(&mut store);
}

#[test]
fn a_streamed_reply_is_whole_and_the_pipeline_goes_on_after_it() {
    let mut store = Store::default();
    let mut c = session(&mut store);
    send(&mut c, &mut store, "SADD s a b c\r\n");
    read_all(&mut c, &mut store);
    send(
        &mut c,
        &mut store,
        "SRANDMEMBER s -30000\r\nSRANDMEMBER s -5\r\nPING\r\n",
    );
    let all = frames(read_all(&mut c, &mut store));
    assert_eq!(all.len(), 3);
    let picks = bulks(&all[0]);
    assert_eq!(picks.len(), 30_000);
    for m in [&b"a"[..], b"b", b"c"] {
        assert!(picks.iter().any(|p| p == m), "all members show up");
    }
    assert_eq!(bulks(&all[1]).len(), 5);
    assert_eq!(all[2], Frame::Simple("PONG".into()));
}

#[test]
fn pairs_with_values_and_scores_in_both_protocols() {
    for resp3 in [false, true] {
        let mut store = Store::default();
        let mut c = session(&mut store);
        if resp3 {
            send(&mut c, &mut store, "HELLO 3\r\n");
        }
        send(
            &mut c,
            &mut store,
            "HSET h f1 v1 f2 v2\r\nZADD z 1.5 m1 2 m2\r\n",
        );
        read_all(&mut c, &mut store);
        send(
            &mut c,
            &mut store,
            "HRANDFIELD h -4000 WITHVALUES\r\nZRANDMEMBER z -4000 WITHSCORES\r\nHRANDFIELD h -4000\r\n",
        );
        let all = frames(read_all(&mut c, &mut store));
        assert_eq!(all.len(), 3);
        for (f, firsts, seconds) in [
            (&all[0], ["f1", "f2"], ["v1", "v2"]),
            (&all[1], ["m1", "m2"], ["1.5", "2"]),
        ] {
            let Frame::Array(items) = f else { panic!() };
            let pairs: Vec<(String, String)> = if resp3 {
                assert_eq!(items.len(), 4000);
                items
                    .iter()
                    .map(|p| match p {
                        Frame::Array(kv) => (text(&kv[0]), text(&kv[1])),
                        other => panic!("{other:?}"),
                    })
                    .collect()
            } else {
                assert_eq!(items.len(), 8000);
                items
                    .chunks(2)
                    .map(|kv| (text(&kv[0]), text(&kv[1])))
                    .collect()
            };
            for (k, v) in pairs {
                let i = firsts.iter().position(|x| *x == k).expect("a member");
                assert_eq!(v, seconds[i]);
            }
        }
        assert_eq!(bulks(&all[2]).len(), 4000);
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
        Frame::Double(d) => d.to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_transaction_keeps_its_replies_in_order_around_a_stream() {
    let mut store = Store::default();
    let mut c = session(&mut store);
    send(&mut c, &mut store, "SADD s a\r\nSET k v\r\n");
    read_all(&mut c, &mut store);
    send(
        &mut c,
        &mut store,
        "MULTI\r\nSRANDMEMBER s -20000\r\nGET k\r\nSRANDMEMBER s -3000\r\nEXEC\r\nGET k\r\n",
    );
    let all = frames(read_all(&mut c, &mut store));
    assert_eq!(all.len(), 6, "+OK, three QUEUED, EXEC's array, GET");
    let Frame::Array(exec) = &all[4] else {
        panic!()
    };
    assert_eq!(exec.len(), 3);
    assert_eq!(bulks(&exec[0]).len(), 20_000);
    assert_eq!(exec[1], Frame::Bulk("v".into()));
    assert_eq!(bulks(&exec[2]).len(), 3000);
    assert_eq!(all[5], Frame::Bulk("v".into()));
}

#[test]
fn a_push_during_a_stream_waits_for_its_end() {
    let mut store = Store::default();
    let mut c = session(&mut store);
    let mut w = session(&mut store);
    send(
        &mut c,
        &mut store,
        "HELLO 3\r\nSADD s a\r\nCLIENT TRACKING on\r\nGET k\r\n",
    );
    read_all(&mut c, &mut store);
    send(&mut c, &mut store, "SRANDMEMBER s -50000\r\n");
    send(&mut w, &mut store, "SET k 1\r\n");
    while let Some(d) = store.poll_delivery() {
        assert_eq!(d.to, c.id());
        c.handle_message(&d.message, T0);
    }
    let all = frames(read_all(&mut c, &mut store));
    assert_eq!(all.len(), 2, "{:?}", &all[1..]);
    assert_eq!(bulks(&all[0]).len(), 50_000);
    assert!(matches!(&all[1], Frame::Push(_)), "{:?}", all[1]);
}

#[test]
fn client_reply_off_drops_the_stream() {
    let mut store = Store::default();
    let mut c = session(&mut store);
    send(
        &mut c,
        &mut store,
        "SADD s a\r\nCLIENT REPLY OFF\r\nSRANDMEMBER s -50000\r\nCLIENT REPLY ON\r\n",
    );
    let all = frames(read_all(&mut c, &mut store));
    assert_eq!(all, vec![Frame::Integer(1), Frame::OK]);
}
