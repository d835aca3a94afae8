//! Arbitrary bytes as a FUNCTION RESTORE payload or a library's source. The first byte
//! picks how: 0 mod 3, the rest is a payload body sealed with a valid footer (RDB version
//! and CRC64), so the record reader is reached; 1, the rest is the whole payload as sent;
//! 2, the rest is a library given to FUNCTION LOAD (header parser, then the Lua loading
//! environment). Nothing panics; whatever restores dumps to a payload that restores to the
//! same libraries.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use redish_core::db::function::LibraryHeader;
use redish_core::db::{Functions, RestorePolicy};
use redish_core::persist::rdb::{function_payload, read_function_payload, seal_payload};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut engine = redish_lua::engine();
    let mut functions = Functions::default();
    let codes = match mode % 3 {
        2 => {
            let code = Bytes::copy_from_slice(rest);
            let _ = LibraryHeader::parse(&code);
            // No timeout: a looping library would stall the fuzzer for 500 ms each; the
            // instruction budget below is what bounds it here.
            if code.len() > 4096 || code.windows(5).any(|w| w == b"while" || w == b"repea") {
                return;
            }
            let _ = functions.load(&mut *engine, code, false, true);
            return;
        }
        0 => read_function_payload(&seal_payload(rest)),
        _ => read_function_payload(rest),
    };
    let Ok(codes) = codes else { return };
    let mut staged = Functions::default();
    for code in codes {
        if code
            .windows(5)
            .any(|w| w == b"while" || w == b"repea" || w == b"for ")
        {
            return;
        }
        if staged.load(&mut *engine, code, false, true).is_err() {
            return;
        }
    }
    functions
        .join(&mut *engine, staged, RestorePolicy::Append)
        .expect("an empty registry takes any libraries");
    let payload = function_payload(functions.libraries().map(|l| &l.code[..]));
    let again = read_function_payload(&payload).expect("our own payload reads");
    let before: Vec<_> = functions.libraries().map(|l| l.code.clone()).collect();
    assert_eq!(before, again);
});
