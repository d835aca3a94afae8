//! Differential test of ACLs inside scripts against a real `redis-server` 7.0: a
//! `redis.call` (or `pcall`) of a command, key or channel the user may not touch errors
//! inside the script with Redis's texts, in RESP2 and RESP3.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-lua --test differential_acl_scripts`

#![allow(clippy::disallowed_methods)]

#[path = "../../core/tests/common/mod.rs"]
mod common;
mod world;

use world::{req, World};

#[test]
fn redis_call_checks_the_callers_permissions() {
    let Some(mut w) = World::start() else { return };
    let eval = |s: &str| req(&["EVAL", s, "0"]);
    let cases = vec![
        eval("return redis.call('get', 'a1')"),
        eval("return redis.call('set', 'a1', 'v')"),
        eval("return redis.call('del', 'a1')"),
        eval("return redis.call('get', 'b')"),
        eval("return redis.call('set', 'r1', 'v')"),
        eval("return redis.call('get', 'r1')"),
        eval("return redis.call('publish', 'zz', 'm')"),
        eval("return redis.call('publish', 'ch', 'm')"),
        eval("return redis.pcall('get', 'b')"),
        eval("return redis.pcall('del', 'a1')"),
        eval("local ok = redis.pcall('get', 'b'); return ok['err']"),
        req(&["EVAL", "return redis.call('get', KEYS[1])", "1", "b"]),
        req(&["EVAL_RO", "return redis.call('get', 'a1')", "0"]),
        // The script command itself is checked at the top level.
        req(&["FCALL", "f", "0"]),
        req(&["SCRIPT", "FLUSH"]),
        eval("return redis.call('acl', 'whoami')"),
    ];
    w.run(
        &[
            &[
                "ACL", "SETUSER", "u", "on", ">p", "~a*", "%R~r*", "&ch", "+get", "+set", "+eval",
                "+eval_ro", "+publish",
            ],
            &["AUTH", "u", "p"],
        ],
        &cases,
    );
}
