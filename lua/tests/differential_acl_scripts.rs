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

/// `redis.acl_check_cmd`: whether the script's user may run a command with its arguments
/// (keys and channels checked too), and its errors, for a restricted user and `default`.
#[test]
fn acl_check_cmd_answers_for_the_scripts_user() {
    let Some(mut w) = World::start() else { return };
    let eval = |s: &str| req(&["EVAL", s, "0"]);
    let checks = [
        "return redis.acl_check_cmd('get', 'abc')",
        "return redis.acl_check_cmd('get', 'xyz')",
        "return redis.acl_check_cmd('get')",
        "return redis.acl_check_cmd('GET', 5)",
        "return redis.acl_check_cmd('config')",
        "return redis.acl_check_cmd('config', 'get', 'x')",
        "return redis.acl_check_cmd('config', 'set', 'x')",
        "return redis.acl_check_cmd('set', 'a1', 'v', 'x', 'y')",
        "return redis.acl_check_cmd('mset', 'a1', 'v', 'b1', 'v')",
        "return redis.acl_check_cmd('publish', 'ch', 'm')",
        "return redis.acl_check_cmd('publish', 'other', 'm')",
        "return redis.acl_check_cmd('config', 'nosuch')",
        "return redis.acl_check_cmd('nosuch')",
        "return redis.acl_check_cmd()",
        "return redis.acl_check_cmd({})",
        "return redis.pcall('acl_check_cmd')",
        "return {pcall(redis.acl_check_cmd, 'nosuch')}",
    ];
    let cases: Vec<_> = checks.iter().map(|c| eval(c)).collect();
    // As default (everything allowed), then as a user limited in commands, keys, channels.
    w.run(&[&["ACL", "SETUSER", "u", "reset"]], &cases);
    w.run(
        &[
            &[
                "ACL",
                "SETUSER",
                "u",
                "on",
                ">p",
                "~a*",
                "&ch",
                "+@all",
                "-config|get",
            ],
            &["AUTH", "u", "p"],
        ],
        &cases,
    );
}
