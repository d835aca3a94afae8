//! Arbitrary ACL files: parsing never panics and is all or nothing; a file that loads,
//! saved as ACL SAVE writes it, loads again into the same users (where the text is one
//! Redis's description can rebuild: UTF-8, no quotes, parentheses inside selectors, or
//! first-args with spaces).

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::acl::{file, Acl};

fuzz_target!(|data: &[u8]| {
    let Ok(users) = file::parse(data, "users.acl", false) else {
        return;
    };
    let mut acl = Acl::new();
    acl.replace_users(users);
    let saved = file::render(&acl);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ambiguous = text.split([' ', '\n']).any(|w| {
        let w = w.trim_matches(['\t', '\r']);
        let inner = w.strip_prefix('(').unwrap_or(w);
        let inner = inner.strip_suffix(')').unwrap_or(inner);
        inner.contains(['(', ')', '"', '\'', '\\', '|']) || w.chars().any(|c| c.is_control())
    });
    if ambiguous {
        return;
    }
    let again = file::parse(saved.as_bytes(), "users.acl", false).expect("a saved file loads");
    let mut reloaded = Acl::new();
    reloaded.replace_users(again);
    assert_eq!(file::render(&reloaded), saved);
});
