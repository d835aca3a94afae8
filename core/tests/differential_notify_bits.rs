//! Keyspace notifications against redis-server 7.0: the bitmap commands (see
//! `common/notify.rs` for the harness). SETBIT and BITFIELD report `setbit` only when they
//! grew the string or changed a bit; BITOP reports `set`, or `del` when the result is empty
//! and the destination existed.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_notify_bits`

mod common;

use common::notify::{check, random};

const FLAGS: &[&str] = &["KEA", "K$", "Eg", "KEAm", "E$g"];

#[test]
fn bitmaps() {
    check(
        FLAGS,
        &[
            "SETBIT b 3 1",
            "SETBIT b 3 1",
            "SETBIT b 3 0",
            "SETBIT b 20 0",
            "SETBIT b x 1",
            "GETBIT b 3",
            "GETBIT nope 3",
            "BITCOUNT b",
            "BITCOUNT nope",
            "BITPOS b 1",
            "BITPOS nope 0",
            "BITOP AND d nope",
            "SET d x",
            "BITOP AND d nope",
            "BITOP OR d b nope",
            "BITOP NOT d b",
            "BITOP NOT d nope",
            "BITOP FOO d b",
            "BITFIELD b SET u8 0 0",
            "BITFIELD b SET u8 0 5",
            "BITFIELD b SET u8 0 5",
            "BITFIELD b INCRBY u8 0 0",
            "BITFIELD b OVERFLOW FAIL INCRBY u2 0 7",
            "BITFIELD b SET u8 64 0",
            "BITFIELD nk OVERFLOW FAIL INCRBY u2 0 7",
            "BITFIELD nk2 GET u8 0",
            "BITFIELD_RO b GET u8 0",
            "LPUSH l a",
            "SETBIT l 1 1",
            "BITOP AND l b",
            "BITFIELD l SET u8 0 1",
            "SET e v PX 3",
            "@sleep 6",
            "SETBIT e 1 1",
            "SET e2 v PX 3",
            "@sleep 6",
            "BITOP OR e2 nope",
        ],
    );
}

#[test]
fn hyperloglogs() {
    check(
        FLAGS,
        &[
            "PFADD h a b",
            "PFADD h a",
            "PFADD h",
            "PFADD h2",
            "PFCOUNT h",
            "PFCOUNT h",
            "PFCOUNT h h2 nope",
            "PFCOUNT nope",
            "PFMERGE m h h2",
            "PFMERGE m",
            "PFMERGE h2 nope",
            "PFDEBUG ENCODING h",
            "PFDEBUG TODENSE h",
            "PFDEBUG TODENSE h",
            "PFDEBUG GETREG nope",
            "SET s x",
            "PFADD s a",
            "PFMERGE s h",
            "PFCOUNT s",
            "SET e v PX 3",
            "@sleep 6",
            "PFMERGE e h",
            "SET e2 v PX 3",
            "@sleep 6",
            "PFADD e2 a",
        ],
    );
}

#[test]
fn random_bitmaps() {
    random(
        FLAGS,
        &[
            "SETBIT {k} {n} 1",
            "SETBIT {k} {n} 0",
            "BITOP AND {k} {k} {k}",
            "BITOP XOR {k} {k}",
            "BITOP NOT {k} {k}",
            "BITFIELD {k} SET u4 {n} {n}",
            "BITFIELD {k} OVERFLOW FAIL INCRBY i3 {n} {n}",
            "BITFIELD {k} INCRBY u2 {n} 0",
            "DEL {k}",
            "SET {k} {v}",
        ],
    );
}
