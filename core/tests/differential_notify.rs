//! Keyspace notifications against redis-server 7.0: the strings and the generic keyspace
//! commands, scenarios and random sequences (see `common/notify.rs` for the harness).
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_notify`
//! (`REDISH_DIFF_CASES=200` for deeper random runs, `REDISH_DIFF_SEED` to replay one).

mod common;

use common::notify::{check, random};

const FLAGS: &[&str] = &["KEA", "KA", "EA", "Kg", "E$", "KEAn", "KEAm", "AKEmn", "Ex"];

#[test]
fn strings() {
    check(
        FLAGS,
        &[
            "SET k1 a",
            "SET k1 b EX 100",
            "SET k1 c KEEPTTL",
            "SET k1 d NX",
            "SET k2 d XX",
            "SET k2 d GET",
            "SETNX k1 x",
            "SETNX k3 x",
            "SETEX k3 100 y",
            "PSETEX k3 100000 y",
            "GETSET k3 z",
            "MSET k1 1 k2 2 k1 3",
            "MSETNX k1 1 k4 4",
            "MSETNX k5 1 k6 4",
            "INCR k1",
            "DECR k1",
            "INCRBY k1 5",
            "DECRBY k9 5",
            "INCR k3",
            "INCRBYFLOAT k1 1.5",
            "APPEND k1 xyz",
            "APPEND k7 xyz",
            "SETRANGE k7 1 Q",
            "SETRANGE k8 0 \"\"",
            "SETRANGE k8 2 Q",
            "GET k1",
            "GET nope",
            "MGET k1 nope k2",
            "STRLEN nope",
            "GETRANGE nope 0 1",
            "GETDEL k1",
            "GETDEL k1",
            "GETEX k2",
            "GETEX k2 EX 100",
            "GETEX k2 PERSIST",
            "GETEX k2 PERSIST",
            "GETEX k2 PXAT 1",
            "LCS k3 k7",
        ],
    );
}

#[test]
fn generic() {
    check(
        FLAGS,
        &[
            "SET a 1",
            "SET b 2",
            "DEL a nope b",
            "SET a 1",
            "UNLINK a",
            "SET a 1",
            "EXPIRE a 100",
            "EXPIRE a 100 NX",
            "EXPIRE a 50 LT",
            "PEXPIRE a 100000 GT",
            "PERSIST a",
            "PERSIST a",
            "EXPIREAT a 1",
            "EXISTS a",
            "SET a 1",
            "PEXPIRE a 3",
            "@sleep 8",
            "GET a",
            "SET a 1",
            "PEXPIRE a 3",
            "@sleep 8",
            "SET a 2",
            "PEXPIRE a 3",
            "@sleep 8",
            "EXISTS a",
            "SET a 1",
            "RENAME a b",
            "RENAME b b",
            "SET c 3",
            "RENAME b c",
            "RENAMENX c b",
            "SET b 1",
            "RENAMENX c b",
            "RENAME nope x",
            "COPY b d",
            "COPY b d",
            "COPY b d REPLACE",
            "COPY b d DB 3",
            "MOVE d 2",
            "MOVE d 2",
            "TYPE nope",
            "TOUCH nope b",
            "TTL nope",
            "FLUSHDB",
            "SET x 1",
            "SWAPDB 0 1",
        ],
    );
}

#[test]
fn random_strings_and_keys() {
    random(
        &["KEA", "AKEmn"],
        &[
            "SET {k} {v}",
            "SET {k} {v} EX 100",
            "SET {k} {v} NX",
            "SET {k} {v} XX GET",
            "GET {k}",
            "MSET {k} {v} {k} {v}",
            "INCR {k}",
            "INCRBY {k} {n}",
            "APPEND {k} {v}",
            "SETRANGE {k} 1 {v}",
            "GETDEL {k}",
            "GETEX {k} PERSIST",
            "DEL {k} {k}",
            "EXISTS {k}",
            "EXPIRE {k} 100",
            "PEXPIRE {k} 3;@sleep 6",
            "PERSIST {k}",
            "RENAME {k} {k}",
            "RENAMENX {k} {k}",
            "COPY {k} {k} REPLACE",
            "MOVE {k} 1",
            "TYPE {k}",
        ],
    );
}
