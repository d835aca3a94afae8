//! Arbitrary ACL SETUSER rules (one per line): applying them never panics, and a user's
//! `ACL LIST` description, applied to a fresh user, describes the same user again — the
//! describer's rules rebuild exactly the permissions they describe.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use redish_core::acl::{merge_selector_args, User};

fuzz_target!(|data: &[u8]| {
    let rules: Vec<Bytes> = data
        .split(|&c| c == b'\n')
        .take(64)
        .map(Bytes::copy_from_slice)
        .collect();
    let Ok(rules) = merge_selector_args(&rules) else {
        return;
    };
    let mut user = User::new(Bytes::from_static(b"u"), false);
    for rule in &rules {
        let _ = user.apply(rule, false);
    }
    // Non-UTF-8 patterns are shown lossily, and Redis's description is ambiguous (as
    // there) for a first-arg with spaces or a pattern with quotes or parentheses: only other
    // input must round-trip.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Split as the rules were split: `lines()` would also drop a `\r` before the `\n`.
    let ambiguous = text.split('\n').any(|line| {
        let inner = line.strip_prefix('(').unwrap_or(line);
        let inner = inner.strip_suffix(')').unwrap_or(inner);
        inner.contains(['(', ')', '"', '\'', '\\'])
            || (inner.contains('|') && inner.contains(|c: char| c.is_ascii_whitespace()))
    });
    if ambiguous {
        return;
    }
    let described = user.describe();
    let words: Vec<Bytes> = described
        .split(' ')
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect();
    let words = merge_selector_args(&words).expect("balanced");
    let mut again = User::new(Bytes::from_static(b"u"), false);
    for w in &words {
        again
            .apply(w, false)
            .unwrap_or_else(|e| panic!("{e:?} {w:?} in {described:?}"));
    }
    assert_eq!(again.describe(), described);
});
