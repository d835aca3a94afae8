//! Arbitrary bytes as a RESTORE payload. The first byte picks how: even, the rest is a
//! value body to which a valid footer (RDB version 10 and the CRC64) is added, so the
//! fuzzer reaches the value decoders; odd, the rest is the whole payload as sent. Nothing
//! panics, and a payload that restores dumps to one that restores to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::persist::rdb::{dump_payload, restore_payload, seal_payload};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let payload = if mode & 1 == 0 {
        seal_payload(rest)
    } else {
        rest.to_vec()
    };
    let Ok(value) = restore_payload(&payload) else {
        return;
    };
    let again = dump_payload(&value);
    assert_eq!(restore_payload(&again).as_ref(), Ok(&value));
});
