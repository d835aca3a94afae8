//! Arbitrary bytes as a HyperLogLog value: SET as the string at a key (mostly behind a
//! valid `HYLL` header, so the fuzzer spends its time in the sparse opcode walks), then
//! every HyperLogLog command on it. Nothing panics, every reply is valid RESP, and a value
//! PFADD or PFMERGE accepted stays one PFCOUNT accepts.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redish_core::resp::{Decoder, Frame, Limits};
use redish_core::{Session, SessionConfig, Store};

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Runs one command and returns its reply, decoded.
fn call(session: &mut Session, store: &mut Store, args: &[&[u8]]) -> Frame {
    session.handle_bytes(&encode(args));
    session.process(store, 1_700_000_000_000);
    let mut buf = BytesMut::from(session.poll_transmit());
    let n = buf.len();
    session.consume_transmit(n);
    let mut decoder = Decoder::new(Limits::DEFAULT);
    let frame = match decoder.decode(&mut buf) {
        Ok(Some(f)) => f,
        other => panic!("invalid RESP reply: {other:?}"),
    };
    assert!(buf.is_empty(), "more than one reply");
    frame
}

fn is_error(f: &Frame) -> bool {
    matches!(f, Frame::Error(_))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let mut value = Vec::new();
    match mode % 4 {
        // A sparse header, then opcodes.
        0 | 1 => {
            value.extend_from_slice(b"HYLL\x01\0\0\0");
            value.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, mode & 0x80]);
        }
        // A dense header: the body is cut or padded to the dense size.
        2 => {
            value.extend_from_slice(b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80");
        }
        _ => {}
    }
    value.extend_from_slice(body);
    if mode % 4 == 2 {
        value.resize(16 + 12288, 0);
    }
    let mut store = Store::default();
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    if mode & 0x40 != 0 {
        call(
            &mut s,
            &mut store,
            &[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"64"],
        );
    }
    call(&mut s, &mut store, &[b"SET", b"h", &value]);
    call(&mut s, &mut store, &[b"PFADD", b"g", b"a", b"b", b"c"]);
    call(&mut s, &mut store, &[b"PFCOUNT", b"h"]);
    call(&mut s, &mut store, &[b"PFCOUNT", b"h", b"g"]);
    call(&mut s, &mut store, &[b"PFDEBUG", b"DECODE", b"h"]);
    call(&mut s, &mut store, &[b"PFDEBUG", b"ENCODING", b"h"]);
    let elements: Vec<&[u8]> = body.chunks(3).take(64).collect();
    let mut pfadd: Vec<&[u8]> = vec![b"PFADD", b"h"];
    pfadd.extend(elements);
    let added = call(&mut s, &mut store, &pfadd);
    let merged = call(&mut s, &mut store, &[b"PFMERGE", b"h", b"g"]);
    if !is_error(&added) || !is_error(&merged) {
        // What a write accepted (and rewrote) must still decode.
        let count = call(&mut s, &mut store, &[b"PFCOUNT", b"h"]);
        if !is_error(&merged) {
            assert!(
                !is_error(&count),
                "PFMERGE left a value PFCOUNT refuses: {count:?}"
            );
        }
    }
    call(&mut s, &mut store, &[b"PFMERGE", b"m", b"h", b"g"]);
    call(&mut s, &mut store, &[b"PFDEBUG", b"TODENSE", b"h"]);
    call(&mut s, &mut store, &[b"PFDEBUG", b"GETREG", b"h"]);
    call(&mut s, &mut store, &[b"PFCOUNT", b"h", b"m"]);
});
