//! Typed command parsing over arbitrary arguments: never panics, and every error is a single
//! line (it becomes a RESP error reply).
//!
//! The first argument is mostly a real command name taken from the table, so the fuzzer
//! spends its time inside the option parsers rather than on unknown names.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use redish_core::cmd::{Command, COMMANDS};
use redish_core::Frame;

fuzz_target!(|input: (u8, bool, Vec<Vec<u8>>)| {
    let (pick, raw_name, rest) = input;
    let mut args: Vec<Bytes> = Vec::with_capacity(rest.len() + 1);
    if !raw_name {
        let spec = &COMMANDS[usize::from(pick) % COMMANDS.len()];
        args.push(Bytes::from_static(spec.name.as_bytes()));
    }
    args.extend(rest.into_iter().map(Bytes::from));
    if args.is_empty() {
        return;
    }
    if let Err(e) = Command::parse(args) {
        let Frame::Error(text) = e.to_frame() else {
            panic!("not an error frame")
        };
        assert!(
            !text.contains(&b'\r') && !text.contains(&b'\n'),
            "error reply with a line break: {text:?}"
        );
    }
});
