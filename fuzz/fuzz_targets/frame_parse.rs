//! Frame decoder over arbitrary bytes fed in chunks: never panics, and every frame it reads
//! re-encodes (RESP3) to bytes that decode to the same frame.
//!
//! The first byte of the input seeds the chunk sizes, so the fuzzer explores splits too.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redish_core::resp::{encode, Decoder, Frame, Limits, Protocol};

/// What a RESP3 round trip keeps: one null, and NaN equal to itself.
fn normalize(frame: Frame) -> Frame {
    let list = |v: Vec<Frame>| v.into_iter().map(normalize).collect();
    let kv = |v: Vec<(Frame, Frame)>| {
        v.into_iter()
            .map(|(k, v)| (normalize(k), normalize(v)))
            .collect()
    };
    match frame {
        Frame::NullArray => Frame::Null,
        Frame::Double(x) if x.is_nan() => Frame::simple("NaN"),
        Frame::Array(v) => Frame::Array(list(v)),
        Frame::Set(v) => Frame::Set(list(v)),
        Frame::Push(v) => Frame::Push(list(v)),
        Frame::Map(v) => Frame::Map(kv(v)),
        Frame::Attribute { attrs, data } => Frame::Attribute {
            attrs: kv(attrs),
            data: Box::new(normalize(*data)),
        },
        other => other,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    // Small depth so recursive drops and encodes stay shallow.
    let limits = Limits {
        max_depth: 32,
        ..Limits::DEFAULT
    };
    let mut decoder = Decoder::new(limits);
    let mut buf = BytesMut::new();
    let mut rest = input;
    let mut size = usize::from(seed % 32) + 1;
    while !rest.is_empty() {
        let n = size.min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        size = size * 7 % 31 + 1;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let mut out = BytesMut::new();
                    encode(&frame, Protocol::Resp3, &mut out);
                    let again = Decoder::new(limits)
                        .decode(&mut out)
                        .expect("re-encoded frame decodes")
                        .expect("re-encoded frame is complete");
                    assert!(out.is_empty(), "re-encoded frame leaves bytes");
                    assert_eq!(normalize(again), normalize(frame));
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
