//! Differential tests of Redis Functions against a real `redis-server` 7.0 (see
//! `core/tests/common/mod.rs`): FUNCTION LOAD / LIST / DELETE / FLUSH / DUMP / RESTORE /
//! STATS / KILL / HELP, FCALL and FCALL_RO go to a redish [`Session`] with the Lua engine
//! and to Redis, in RESP2 and RESP3, and the replies must match byte for byte. DUMP
//! payloads cross both ways, and an RDB file redis-server saved with libraries loads here.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-lua --test differential_functions`

#![allow(clippy::disallowed_methods)]

#[path = "../../core/tests/common/mod.rs"]
mod common;
mod world;

use common::{now_ms, show, Redis};
use redish_core::Store;
use world::{req, World};

impl World {
    /// Sends `args` to both; panics with both replies if they differ. Returns the reply.
    fn check(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.check_with(args, world::hide_hello_id)
    }
}

/// `FUNCTION LOAD REPLACE` of library `lib1` with `body` after its header.
fn load(body: &str) -> Vec<Vec<u8>> {
    req(&[
        "FUNCTION",
        "LOAD",
        "REPLACE",
        &format!("#!lua name=lib1\n{body}"),
    ])
}

/// Loading errors, one library at a time.
#[test]
fn loading_errors() {
    let Some(mut w) = World::start() else { return };
    let bodies = [
        "redis.register_function('f1', function() return 1 end)\nredis.register_function('f1', function() return 1 end)",
        "redis.register_function('f-1', function() return 1 end)",
        "return string.format('x')",
        "redis.call('ping')",
        "local x = redis.foo",
        "error('boom')",
        "redis.register_function{function_name='f', callback=function() end, flags={'bogus'}}",
        "redis.register_function{function_name='f', callback=function() end, flags='x'}",
        "redis.register_function{function_name='f', callback=function() end, foo=1}",
        "redis.register_function{callback=function() end}",
        "redis.register_function{function_name='f'}",
        "redis.register_function('f')",
        "redis.register_function(1, 2)",
        "redis.register_function('f', 2)",
        "redis.register_function({1})",
        "redis.register_function(1)",
        "redis.register_function()",
        "redis.register_function('a','b','c')",
        "redis.register_function{function_name='f', callback=function() end, description={}}",
        "redis.register_function{function_name='f', callback=3}",
        "redis.register_function{function_name='f', callback=function() end, flags={'no-writes', 3}}",
        "x = 1",
        "local a = (",
        "",
        "return 1",
        "redis.setresp(3)",
        "redis.math = 1",
        "return redis.sha1hex('x')",
        "local x = 1 + nil",
        "local x = _G",
        "local x = KEYS",
        "redis.register_function('f', function() return 1 end)\nlocal a = nil + 1",
        "redis.log(redis.LOG_WARNING, 'loading') redis.register_function('f', function() return 1 end)",
        "local t = {} t.x = 1 redis.register_function('f', function() return t.x end)",
    ];
    let mut cases: Vec<_> = bodies.iter().map(|b| load(b)).collect();
    for code in [
        "#!lua",
        "lua name=x",
        "#!lua name=x foo=y\n",
        "#!lua name=x name=y\n",
        "#!lua name=a-b\n",
        "#!js name=ab\n",
        "#!lua \"name=a b\"\n",
        "#!lua name=\n",
        "#!lua\n",
        "#!lua \"unterminated\n",
        "#!LUA NAME=up\nredis.register_function('up', function() return 1 end)",
        "#!LUA NAME=up\nredis.register_function('up2', function() return 1 end)",
    ] {
        cases.push(req(&["FUNCTION", "LOAD", code]));
    }
    // Two libraries list in Redis's hash order: one at a time.
    cases.push(req(&["FUNCTION", "LIST", "LIBRARYNAME", "up"]));
    cases.push(req(&["FUNCTION", "DELETE", "up"]));
    cases.push(req(&["FUNCTION", "LIST"]));
    w.run(&[&["FLUSHALL"], &["FUNCTION", "FLUSH"]], &cases);
}

/// The loading timeout: a library that loops stops after 500 ms.
#[test]
fn loading_timeout() {
    let Some(mut w) = World::start() else { return };
    w.check(&load("while true do end"));
    w.check(&req(&["FUNCTION", "LIST"]));
}

const LIB: &str = "#!lua name=lib1
redis.register_function('w', function(keys, args) return redis.call('set', keys[1], args[1]) end)
redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='read only'}
redis.register_function{function_name='rw', callback=function(keys, args) return redis.call('set', keys[1], 'x') end, flags={'NO-WRITES', 'allow-oom'}}
redis.register_function('err', function(keys, args) return redis.call('nosuch') end)
redis.register_function('err2', function(keys, args) local x = nil + 1 end)
redis.register_function('err3', function(keys, args) error('boom') end)
redis.register_function('err4', function(keys, args) return redis.error_reply('MY thing') end)
redis.register_function('glob', function(keys, args) return KEYS end)
redis.register_function('glob2', function(keys, args) x = 5 end)
redis.register_function('reg', function(keys, args) redis.register_function('z', function() end) end)
redis.register_function('n', function(keys, args) return #keys .. ':' .. #args end)
redis.register_function('flushes', function(keys, args) return redis.call('function', 'flush') end)
redis.register_function('ev', function(keys, args) return redis.call('eval', 'return 1', 0) end)
redis.register_function('fc', function(keys, args) return redis.call('fcall', 'n', 0) end)
redis.register_function('rand', function(keys, args) return math.random(100) end)
redis.register_function('resp', function(keys, args) redis.setresp(3) return redis.call('hgetall', 'h') end)
redis.register_function('pc', function(keys, args) return redis.pcall('incr', keys[1]) end)
redis.register_function('tbl', function(keys, args) return {1, 'two', {3}, {ok='fine'}} end)
";

#[test]
fn calling_functions() {
    let Some(mut w) = World::start() else { return };
    let mut cases = vec![req(&["FUNCTION", "LOAD", LIB])];
    for c in [
        "FCALL w 1 k v",
        "FCALL_RO w 1 k v",
        "FCALL_RO ro 1 k",
        "FCALL ro 1 k",
        "FCALL rw 1 k",
        "FCALL_RO rw 1 k",
        "FCALL err 0",
        "FCALL err2 0",
        "FCALL err3 0",
        "FCALL err4 0",
        "FCALL glob 0",
        "FCALL glob2 0",
        "FCALL reg 0",
        "FCALL n 2 a b c",
        "FCALL n -1",
        "FCALL n 5 a",
        "FCALL n x",
        "FCALL nosuch 0",
        "FCALL_RO nosuch 0",
        "FCALL N 0",
        "FCALL flushes 0",
        "FCALL ev 0",
        "FCALL fc 0",
        "FCALL rand 0",
        "FCALL rand 0",
        "HSET h a 1",
        "FCALL resp 0",
        "FCALL pc 1 k",
        "FCALL tbl 0",
        "FCALL n 99999999999999999999",
        "FCALL",
        "FCALL n",
        "FCALL_RO n",
        "GET k",
        "FUNCTION STATS",
        "FUNCTION LIST LIBRARYNAME nomatch",
        "FUNCTION LIST LIBRARYNAME",
        "FUNCTION LIST WITHCODE WITHCODE",
        "FUNCTION LIST foo",
        "FUNCTION DELETE nosuch",
        "FUNCTION DELETE",
        "FUNCTION LOAD",
        "FUNCTION LOAD REPLACE",
        "FUNCTION LOAD foo bar",
        "FUNCTION LOAD REPLACE REPLACE x",
        "FUNCTION RESTORE",
        "FUNCTION RESTORE xx",
        "FUNCTION RESTORE xx bogus",
        "FUNCTION RESTORE xx FLUSH extra",
        "FUNCTION FLUSH bogus",
        "FUNCTION FLUSH SYNC extra",
        "FUNCTION STATS extra",
        "FUNCTION KILL",
        "FUNCTION DUMP extra",
        "FUNCTION bogus",
        "FUNCTION HELP",
        "COMMAND INFO fcall fcall_ro",
        "COMMAND INFO function|load function|restore function|list function|delete",
        "COMMAND INFO function|dump function|kill function|stats function|flush",
        "COMMAND DOCS fcall",
        "COMMAND GETKEYS fcall n 2 a b c",
        "EVAL \"return redis.call('fcall', 'n', 0)\" 0",
        "SCRIPT FLUSH",
        "FCALL n 0",
        "FUNCTION DELETE lib1",
        "FCALL n 0",
        "FUNCTION STATS",
    ] {
        cases.push(split(c));
    }
    w.run(&[&["FLUSHALL"], &["FUNCTION", "FLUSH"]], &cases);
}

/// FUNCTION LIST of one library with one function, each flag (its output order among
/// several functions is Redis's hash order, which differs run to run).
#[test]
fn function_list_flags_and_code() {
    let Some(mut w) = World::start() else { return };
    let mut cases = Vec::new();
    for flags in [
        "{}",
        "{'no-writes'}",
        "{'allow-oom', 'allow-stale'}",
        "{'no-cluster', 'allow-cross-slot-keys', 'no-writes'}",
    ] {
        let code = format!(
            "#!lua name=mylib\nredis.register_function{{function_name='myfunc', callback=function() return 1 end, flags={flags}, description='d'}}"
        );
        cases.push(req(&["FUNCTION", "LOAD", "REPLACE", &code]));
        cases.push(req(&["FUNCTION", "LIST"]));
        cases.push(req(&["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "MY*"]));
        cases.push(req(&["FUNCTION", "STATS"]));
    }
    cases.push(req(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=other\nredis.register_function('myfunc', function() return 2 end)",
    ]));
    cases.push(req(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=other\nredis.register_function('MYFUNC', function() return 2 end)",
    ]));
    cases.push(req(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=mylib\nredis.register_function('x', function() return 2 end)",
    ]));
    cases.push(req(&["FCALL", "myfunc", "0"]));
    w.run(&[&["FLUSHALL"], &["FUNCTION", "FLUSH"]], &cases);
}

/// FUNCTION DUMP payloads: ours equal Redis's for the same library, and each side's
/// restores on the other, with every policy and its errors.
#[test]
fn dump_and_restore_both_ways() {
    let Some(mut w) = World::start() else { return };
    let lib_a = "#!lua name=liba\nredis.register_function('fa', function() return 'a' end)";
    let lib_b = "#!lua name=libb\nredis.register_function{function_name='fb', callback=function() return 'b' end, flags={'no-writes'}}";
    let long = format!(
        "#!lua name=libc\n-- {}\nredis.register_function('fc', function() return 'c' end)",
        "padding that LZF compresses ".repeat(20)
    );
    for resp3 in [false, true] {
        w.check(&req(&["HELLO", if resp3 { "3" } else { "2" }]));
        w.check(&req(&["FUNCTION", "FLUSH"]));
        w.check(&req(&["FUNCTION", "DUMP"]));
        for lib in [lib_a, &long] {
            w.check(&req(&["FUNCTION", "FLUSH"]));
            w.check(&req(&["FUNCTION", "LOAD", lib]));
            w.check(&req(&["FUNCTION", "DUMP"]));
        }
        // A payload of two libraries, from each side, restored on the other.
        w.check(&req(&["FUNCTION", "FLUSH"]));
        w.check(&req(&["FUNCTION", "LOAD", lib_a]));
        w.check(&req(&["FUNCTION", "LOAD", lib_b]));
        for payload in [raw_bulk(&mut w, true), raw_bulk(&mut w, false)] {
            for policy in [None, Some("APPEND"), Some("REPLACE"), Some("FLUSH")] {
                // Only libb clashes (with two clashes, which Redis reports first is its
                // hash order).
                w.check(&req(&["FUNCTION", "DELETE", "liba"]));
                let mut c = vec![b"FUNCTION".to_vec(), b"RESTORE".to_vec(), payload.clone()];
                c.extend(policy.map(|p| p.as_bytes().to_vec()));
                w.check(&c);
                w.check(&req(&["FCALL", "fa", "0"]));
                w.check(&req(&["FCALL_RO", "fb", "0"]));
            }
            w.check(&req(&["FUNCTION", "DELETE", "liba"]));
            // libb is still there: APPEND fails on it, REPLACE takes it.
            w.check(&[b"FUNCTION".to_vec(), b"RESTORE".to_vec(), payload.clone()]);
            w.check(&req(&["FCALL", "fa", "0"]));
            // A function of the payload that another library has.
            w.check(&req(&["FUNCTION", "FLUSH"]));
            w.check(&req(&[
                "FUNCTION",
                "LOAD",
                "#!lua name=thief\nredis.register_function('fa', function() return 't' end)",
            ]));
            w.check(&[
                b"FUNCTION".to_vec(),
                b"RESTORE".to_vec(),
                payload.clone(),
                b"REPLACE".to_vec(),
            ]);
            w.check(&req(&["FCALL", "fa", "0"]));
            w.check(&req(&["FUNCTION", "FLUSH"]));
            // Corrupt payloads.
            let mut bad = payload.clone();
            bad[1] ^= 1;
            w.check(&[b"FUNCTION".to_vec(), b"RESTORE".to_vec(), bad]);
            let body_only =
                redish_core::persist::rdb::seal_payload(&payload[..payload.len() - 10][..3]);
            w.check(&[b"FUNCTION".to_vec(), b"RESTORE".to_vec(), body_only]);
            let not_fn = redish_core::persist::rdb::seal_payload(b"\x00\x01k");
            w.check(&[b"FUNCTION".to_vec(), b"RESTORE".to_vec(), not_fn]);
            // (A record in the pre-GA format, 0xf6, is refused here without being read:
            // redis-server 7.0.15 still reads that format; see the README.)
            let bad_lib = redish_core::persist::rdb::seal_payload(b"\xf5\x06#!lua\n");
            w.check(&[b"FUNCTION".to_vec(), b"RESTORE".to_vec(), bad_lib]);
            w.check(&req(&["FUNCTION", "LOAD", lib_a]));
            w.check(&req(&["FUNCTION", "LOAD", lib_b]));
        }
    }
}

/// FUNCTION DUMP's payload as the bulk string it is, from redis-server (`theirs`) or us.
fn raw_bulk(w: &mut World, theirs: bool) -> Vec<u8> {
    let reply = if theirs {
        w.conn.call(&req(&["FUNCTION", "DUMP"]))
    } else {
        w.ours(&req(&["FUNCTION", "DUMP"]))
    };
    assert_eq!(reply[0], b'$', "{}", show(&reply));
    let nl = reply.iter().position(|&c| c == b'\n').unwrap();
    let len: usize = std::str::from_utf8(&reply[1..nl - 1])
        .unwrap()
        .parse()
        .unwrap();
    reply[nl + 1..nl + 1 + len].to_vec()
}

/// An RDB file redis-server saved with libraries loads here, and ours loads there.
#[test]
fn rdb_with_functions_both_ways() {
    let Some(mut w) = World::start() else { return };
    w.check(&req(&["FUNCTION", "LOAD", LIB]));
    w.check(&req(&["SET", "k", "v"]));
    w.conn.call(&req(&["SAVE"]));
    let dir = w.redis.socket.parent().unwrap().to_owned();
    let file = std::fs::read(dir.join("dump.rdb")).expect("redis-server wrote dump.rdb");
    let mut store = Store::default();
    store.set_script_engine(redish_lua::engine());
    redish_core::persist::rdb::load_into(&mut store, &file, now_ms()).expect("loads here");
    let list = |store: &Store| {
        store
            .scripts
            .functions
            .libraries()
            .map(|l| (l.name.clone(), l.code.clone(), l.functions.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&store), list(&w.store));
    // Ours, loaded by a fresh redis-server.
    let ours = redish_core::persist::rdb::to_vec(&w.store, now_ms());
    let dir = std::env::temp_dir().join(format!("redish-fn-rdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ours.rdb"), &ours).unwrap();
    let other = Redis::start(&["--dir", dir.to_str().unwrap(), "--dbfilename", "ours.rdb"])
        .expect("redis-server starts");
    let mut conn = other.connect();
    for c in [
        req(&["FUNCTION", "STATS"]),
        req(&["FCALL", "n", "2", "a", "b", "c"]),
        req(&["FCALL_RO", "ro", "1", "k"]),
        req(&["FUNCTION", "LIST", "LIBRARYNAME", "nomatch"]),
    ] {
        let theirs = conn.call(&c);
        let mine = w.ours(&c);
        assert_eq!(show(&theirs), show(&mine), "{}", show(&c.concat()));
    }
    drop(other);
    let _ = std::fs::remove_dir_all(&dir);
}

fn split(c: &str) -> Vec<Vec<u8>> {
    // Words, with one double-quoted word allowed (for EVAL's script).
    let mut out = Vec::new();
    let mut rest = c;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap();
            out.push(r.as_bytes()[..end].to_vec());
            rest = &r[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest.as_bytes()[..end].to_vec());
            rest = &rest[end..];
        }
    }
    out
}

/// INFO memory counts libraries and functions as redis-server does, and the functions'
/// interpreter reports its memory (apart from EVAL's).
#[test]
fn info_counts_functions() {
    let Some(mut w) = World::start() else { return };
    let field = |info: &[u8], name: &str| -> String {
        let text = String::from_utf8_lossy(info);
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {name} in INFO"))
    };
    for step in [
        req(&["FUNCTION", "FLUSH"]),
        req(&["FUNCTION", "LOAD", LIB]),
        req(&["FUNCTION", "LOAD", "#!lua name=two\nredis.register_function('t1', function() return 1 end)\nredis.register_function('t2', function() return 1 end)"]),
        req(&["FUNCTION", "DELETE", "lib1"]),
    ] {
        w.check(&step);
        let theirs = w.conn.call(&req(&["INFO", "memory"]));
        let ours = w.ours(&req(&["INFO", "memory"]));
        for name in ["number_of_functions", "number_of_libraries"] {
            assert_eq!(field(&theirs, name), field(&ours, name), "{name} after {}", show(&step.concat()));
        }
        let vm: u64 = field(&ours, "used_memory_vm_functions").parse().unwrap();
        let eval: u64 = field(&ours, "used_memory_vm_eval").parse().unwrap();
        let total: u64 = field(&ours, "used_memory_vm_total").parse().unwrap();
        assert!(vm > 0);
        assert_eq!(total, vm + eval);
        let libs: u64 = field(&ours, "number_of_libraries").parse().unwrap();
        let overhead: u64 = field(&ours, "used_memory_functions").parse().unwrap();
        assert_eq!(libs == 0, overhead == 0, "registry memory follows the libraries");
    }
}
