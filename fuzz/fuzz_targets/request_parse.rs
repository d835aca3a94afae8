//! Request decoder over arbitrary bytes fed in chunks: never panics, returns no empty
//! command, and every command it reads, re-encoded as a multibulk, reads back the same.
//!
//! The first byte of the input seeds the chunk sizes, so the fuzzer explores splits too.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redish_core::resp::{encode_command, RequestDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let mut decoder = RequestDecoder::default();
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
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "empty commands are skipped");
                    let mut out = BytesMut::new();
                    encode_command(&args, &mut out);
                    let again = RequestDecoder::default()
                        .decode(&mut out)
                        .expect("re-encoded command decodes")
                        .expect("re-encoded command is complete");
                    assert!(out.is_empty(), "re-encoded command leaves bytes");
                    assert_eq!(again, args);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
