//! Differential tests of scripting against a real `redis-server` 7.0 (see
//! `core/tests/common/mod.rs`): the same requests go to a redish [`Session`] with the Lua
//! engine plugged in and to Redis, in RESP2 and RESP3, and the replies must match byte for
//! byte — conversions both ways, errors and their texts, the sandbox, `redis.*`, the PRNG,
//! EVAL in MULTI, and what INFO counts.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-lua --test differential_scripting`

#![allow(clippy::disallowed_methods)]

#[path = "../../core/tests/common/mod.rs"]
mod common;
mod world;

use world::{req, World};

impl World {
    /// Sends `args` to both; panics with both replies if they differ.
    fn check(&mut self, args: &[Vec<u8>]) {
        self.check_with(args, world::hide_hello_id);
    }
}

/// `EVAL script 0`.
fn eval(script: &str) -> Vec<Vec<u8>> {
    req(&["EVAL", script, "0"])
}

#[test]
fn conversions_lua_to_resp() {
    let Some(mut w) = World::start() else { return };
    let cases: Vec<_> = [
        "return 1",
        "return -7",
        "return 3.99",
        "return -3.99",
        "return 'hello'",
        "return ''",
        "return true",
        "return false",
        "return nil",
        "return {}",
        "return {1, 2, {3, 'x', {}}, nil, 5}",
        "return {1, false, 3}",
        "return {1, true, 'x'}",
        "return {ok = 'fine'}",
        "return {ok = 'two\\r\\nlines'}",
        "return {err = 'MY error'}",
        "return {err = 'two\\nlines'}",
        "return {err = 'nocode'}",
        "return {1, {err = 'nested error'}, 3}",
        "return {double = 3.5}",
        "return {double = -0}",
        "return {big_number = '123456789012345678901234567890'}",
        "return {map = {a = 1}}",
        "return {map = {a = 1, b = {1, 2}}}",
        "return {set = {x = true}}",
        "return {verbatim_string = {format = 'txt', string = 'hello'}}",
        "return redis.status_reply('STATUS')",
        "return redis.error_reply('MY code')",
        "return redis.error_reply('-MY code')",
        "return redis.error_reply('boom')",
        "return {1, 2, 3, 'four', 5.5}",
        "return {ok = 'a', err = 'b'}",
        "return 9007199254740993",
        "return 2^63",
        "return -(2^63)",
        "return function() end",
    ]
    .iter()
    .map(|s| eval(s))
    .collect();
    w.run(&[&["FLUSHALL"], &["SCRIPT", "FLUSH"]], &cases);
    // Doubles whose `%.17g` is longer than their shortest text: byte for byte in RESP2;
    // in RESP3 redish writes the shortest text (README, "Scripting").
    w.check(&req(&["HELLO", "2"]));
    for s in [
        "return {double = 1e300}",
        "return {double = 0.1}",
        "return {double = 1/3}",
    ] {
        w.check(&eval(s));
    }
}

#[test]
fn conversions_resp_to_lua() {
    let Some(mut w) = World::start() else { return };
    let mut cases = vec![
        req(&["SET", "str", "value"]),
        req(&["RPUSH", "list", "a", "b", "c"]),
        req(&["HSET", "hash", "f", "v"]),
        req(&["SADD", "set", "m"]),
        req(&["ZADD", "z", "1.5", "m"]),
    ];
    for s in [
        "return redis.call('get', 'str')",
        "return redis.call('get', 'missing')",
        "return type(redis.call('get', 'missing'))",
        "return redis.call('lrange', 'list', 0, -1)",
        "return redis.call('incr', 'counter')",
        "return redis.call('set', 'k', 'v')",
        "return type(redis.call('set', 'k', 'v'))",
        "return redis.call('set', 'k', 'v')['ok']",
        "return redis.call('hgetall', 'hash')",
        "return redis.call('smembers', 'set')",
        "return redis.call('zscore', 'z', 'm')",
        "return redis.call('zrange', 'z', 0, -1, 'withscores')",
        "return redis.pcall('incr', 'str')",
        "return type(redis.pcall('incr', 'str'))",
        "return redis.pcall('incr', 'str')['err']",
        "return redis.call('exists', 'str', 'nope')",
        "return {redis.call('lpop', 'nolist')}",
        // RESP3 replies inside the script.
        "redis.setresp(3); return redis.call('hgetall', 'hash')",
        "redis.setresp(3); return redis.call('smembers', 'set')",
        "redis.setresp(3); return redis.call('zscore', 'z', 'm')",
        "redis.setresp(3); return type(redis.call('get', 'missing'))",
        "redis.setresp(3); return redis.call('exists', 'str')",
        "redis.setresp(3); local r = redis.call('hgetall', 'hash'); return r['map']['f']",
        "redis.setresp(3); local r = redis.call('zscore', 'z', 'm'); return r['double'] * 2",
        "redis.setresp(2); return redis.call('hgetall', 'hash')",
        // Numbers as arguments: integers, and floats as %.17g.
        "redis.call('set', 'n', 1.5); return redis.call('get', 'n')",
        "redis.call('set', 'n', 0.1); return redis.call('get', 'n')",
        "redis.call('set', 'n', 100); return redis.call('get', 'n')",
        "redis.call('set', 'n', 1e20); return redis.call('get', 'n')",
        "redis.call('set', 'n', -0.5); return redis.call('get', 'n')",
    ] {
        cases.push(eval(s));
    }
    w.run(&[&["FLUSHALL"], &["SCRIPT", "FLUSH"]], &cases);
}

#[test]
fn errors_and_sandbox() {
    let Some(mut w) = World::start() else { return };
    let mut cases = vec![req(&["SET", "s", "abc"])];
    for s in [
        "return x",
        "x = 1",
        "_G.x = 1",
        "rawset(_G, 'x', 1) return 1",
        "string.x = 1",
        "redis.call = nil",
        "math.pi = 3",
        "local t = {} t.x = 1 return t.x",
        "return redis.call('incr', 'a', 'b')",
        "return redis.call('incr', 's')",
        "redis.call('incr', 's')",
        "local x = 1\nlocal y = 2\nreturn redis.call('incr', 's')",
        "return redis.pcall('incr', 's')",
        "return redis.call('nosuchcommand')",
        "return redis.call()",
        "return redis.call(1)",
        "return redis.call({})",
        "return redis.call('set', 'a', {})",
        "return redis.call('multi')",
        "return redis.call('eval', 'return 1', '0')",
        "return redis.call('subscribe', 'x')",
        "return redis.call('blpop', 'nolist', '0')",
        "return 1 +",
        "return end",
        "error('boom')",
        "error('boom', 0)",
        "error({err = 'MY thing'})",
        // `error({})` (a table without `err`) crashes redis-server 7.0.15 itself; redish
        // answers `ERR execution failure`... not compared here.
        "error(42)",
        "local t = nil; return t.x",
        "return nil .. 'x'",
        "return os",
        "return io",
        "return print",
        "return loadfile",
        "return dofile",
        "return setfenv",
        "return getfenv",
        "return debug",
        "return require",
        "return type(loadstring)",
        "return loadstring('return 5')()",
        "return type(getmetatable(_G))",
        "return coroutine.running()",
        "return pcall(redis.call, 'incr', 's')",
        "local ok, e = pcall(redis.call, 'incr', 's') return e",
        "local ok, e = pcall(error, 'inner') return e",
        "return redis.setresp(4)",
        "return redis.setresp()",
        "return redis.set_repl(9)",
        "return redis.log()",
        "return redis.log('x', 'y')",
        "return redis.log(9, 'y')",
        "return redis.sha1hex()",
        "return math.random(1, 'x')",
        "return math.random(0)",
        "return bit.band()",
    ] {
        cases.push(eval(s));
    }
    for c in [
        &["EVAL", "return 1", "-1"][..],
        &["EVAL", "return 1", "2", "a"],
        &["EVAL", "return 1", "x"],
        &["EVAL", "return 1"],
        &["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
        &["EVALSHA", "short", "0"],
        &["EVAL_RO", "return redis.call('set', 'a', '1')", "0"],
        &["EVAL_RO", "return redis.call('get', 's')", "0"],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('set','a','1')",
            "0",
        ],
        &["EVAL", "#!lua\nreturn x", "0"],
        &["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
        &["EVAL", "#!luax\nreturn 1", "0"],
        &["EVAL", "#!lua name=x\nreturn 1", "0"],
        &["EVAL", "#!lua flags=no-writes,allow-oom\nreturn 1", "0"],
        &["EVAL", "#!lua", "0"],
    ] {
        cases.push(req(c));
    }
    w.run(&[&["FLUSHALL"], &["SCRIPT", "FLUSH"]], &cases);
}

#[test]
fn redis_api_and_libraries() {
    let Some(mut w) = World::start() else { return };
    let mut cases = vec![];
    for s in [
        "return redis.sha1hex('')",
        "return redis.sha1hex('return 1')",
        "return redis.sha1hex(123)",
        "return redis.REDIS_VERSION",
        "return redis.REDIS_VERSION_NUM",
        "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
        "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
        "redis.log(redis.LOG_WARNING, 'from a script'); return 1",
        "return redis.replicate_commands()",
        "return redis.breakpoint()",
        "return redis.debug('x')",
        "redis.set_repl(redis.REPL_ALL); return 1",
        "return type(redis.setresp)",
        // The PRNG: Redis's own generator, so the same numbers in the same order.
        "return math.random(1000)",
        "return math.random(1000)",
        "return {math.random(10, 20), math.random(5)}",
        "return tostring(math.random())",
        "math.randomseed(42); return math.random(100000)",
        "math.randomseed(42); return {math.random(100000), math.random(100000)}",
        // bit
        "return {bit.band(7, 3, 2), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.bnot(0)}",
        "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4)}",
        "return {bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}",
        "return {bit.tohex(255), bit.tohex(255, -4), bit.tohex(-1, 2), bit.tobit(2^32 + 5)}",
        "return bit.tobit(1.5)",
        "return bit.tobit(2.5)",
        // Standard libraries scripts lean on.
        "return string.format('%d-%s-%5.2f', 7, 'x', 3.14159)",
        "return {string.byte('A'), string.char(72, 105), string.rep('ab', 3)}",
        "return {string.find('hello world', 'o w'), string.match('k=v', '(%w+)=(%w+)')}",
        "return string.gsub('hello', 'l', 'L')",
        "return table.concat({1, 2, 3}, ',')",
        "local t = {3, 1, 2}; table.sort(t); return t",
        "local t = {}; table.insert(t, 'a'); table.insert(t, 1, 'b'); return t",
        "return {math.floor(3.7), math.ceil(3.2), math.max(1, 5, 3), math.abs(-4)}",
        "return tostring(math.huge)",
        "return tostring(1/3)",
        "return tonumber('0x10')",
        "return {unpack({1, 2, 3})}",
        "return select('#', 1, 2, 3)",
        "return #KEYS + #ARGV",
        "return _VERSION",
        "return type(cjson)",
    ] {
        cases.push(eval(s));
    }
    for c in [
        &[
            "EVAL",
            "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}",
            "2",
            "k1",
            "k2",
            "a1",
            "a2",
        ][..],
        &["EVAL", "return #KEYS", "0", "a"],
        &["EVAL", "return ARGV", "0", "a", "b"],
        &["SCRIPT", "LOAD", "return 'loaded'"],
        &["EVALSHA", "a8e35f6ea7ca2aafdc27a52a1e3a42f4d1e5a9a8", "0"],
        &[
            "SCRIPT",
            "EXISTS",
            "a8e35f6ea7ca2aafdc27a52a1e3a42f4d1e5a9a8",
            "nope",
        ],
        &["SCRIPT", "LOAD", "return 1 +"],
        &["SCRIPT", "LOAD", "return 1"],
        &["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
        &[
            "EVALSHA_RO",
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
            "0",
        ],
        &[
            "SCRIPT",
            "EXISTS",
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
            "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB",
            "x",
        ],
        &["SCRIPT", "FLUSH"],
        &[
            "SCRIPT",
            "EXISTS",
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
        ],
        &["SCRIPT", "FLUSH", "ASYNC"],
        &["SCRIPT", "FLUSH", "SYNC"],
        &["SCRIPT", "FLUSH", "x"],
        &["SCRIPT", "KILL"],
        &["SCRIPT", "HELP"],
        &["SCRIPT", "NOPE"],
        &["SCRIPT", "LOAD"],
        &["SCRIPT", "EXISTS"],
    ] {
        cases.push(req(c));
    }
    w.run(&[&["FLUSHALL"], &["SCRIPT", "FLUSH"]], &cases);
}

#[test]
fn scripts_in_transactions_and_databases() {
    let Some(mut w) = World::start() else { return };
    let cases: Vec<_> = [
        &["MULTI"][..],
        &["EVAL", "return redis.call('incr', KEYS[1])", "1", "c"],
        &["EVAL", "return redis.call('incr', KEYS[1])", "1", "c"],
        &["EXEC"],
        &["MULTI"],
        &["EVAL", "return redis.call('incr', 'nope', 'x')", "0"],
        &["EVAL", "return 1", "-1"],
        &["EXEC"],
        &["SELECT", "2"],
        &["EVAL", "redis.call('select', '5'); redis.call('set', 'in5', '1'); return redis.call('dbsize')", "0"],
        &["DBSIZE"],
        &["SELECT", "5"],
        &["GET", "in5"],
        &["SELECT", "0"],
        &["EVAL", "redis.call('set', 'a', '1'); redis.call('expire', 'a', '100'); return redis.call('ttl', 'a')", "0"],
        &["EVAL", "return redis.call('ttl', 'a')", "0"],
        &["WATCH", "w"],
        &["EVAL", "return redis.call('set', 'w', '1')", "0"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
    ]
    .iter()
    .map(|c| req(c))
    .collect();
    w.run(&[&["FLUSHALL"], &["SCRIPT", "FLUSH"]], &cases);
}

/// The INFO counters a script moves, as Redis counts them: the script's commands count in
/// commandstats, an error a `redis.call` raised counts once in errorstats, EVAL's failed
/// calls count every failed script.
#[test]
fn info_counts_scripts_as_redis() {
    let Some(mut w) = World::start() else { return };
    let steps = [
        &["CONFIG", "RESETSTAT"][..],
        &["SET", "s", "abc"],
        &[
            "EVAL",
            "redis.call('incr', 'cnt'); redis.pcall('incr', 's'); return 1",
            "0",
        ],
        &["EVAL", "return redis.pcall('incr', 's')", "0"],
        &["EVAL", "return {err = 'FOO bar'}", "0"],
        &["EVAL", "return redis.call('incr', 's')", "0"],
        &["EVAL", "return redis.call('nosuch')", "0"],
        &["EVAL", "error('x')", "0"],
        &["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
        &["SCRIPT", "LOAD", "return 1"],
    ];
    for s in steps {
        w.check(&req(s));
    }
    let pick = |info: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(info)
            .lines()
            .filter(|l| l.starts_with("errorstat_") || l.starts_with("cmdstat_"))
            .map(|l| {
                // usec and usec_per_call differ by machine.
                l.split(',')
                    .filter(|f| !f.contains("usec"))
                    .collect::<Vec<_>>()
                    .join(",")
                    .replace('\r', "")
            })
            .collect()
    };
    for section in ["commandstats", "errorstats"] {
        let args = req(&["INFO", section]);
        let theirs = pick(&w.conn.call(&args));
        let ours = pick(&w.ours(&args));
        let mut sorted = (theirs.clone(), ours.clone());
        sorted.0.sort();
        sorted.1.sort();
        assert_eq!(sorted.0, sorted.1, "INFO {section}");
    }
    let cached = |info: &[u8]| {
        String::from_utf8_lossy(info)
            .lines()
            .find(|l| l.starts_with("number_of_cached_scripts"))
            .map(str::to_owned)
    };
    let args = req(&["INFO", "memory"]);
    assert_eq!(cached(&w.conn.call(&args)), cached(&w.ours(&args)));
}

#[test]
fn cjson_and_cmsgpack() {
    let Some(mut w) = World::start() else { return };
    let mut cases = vec![];
    for s in [
        r#"return cjson.encode({1, 2, 3})"#,
        r#"return cjson.encode({})"#,
        r#"return cjson.encode({a = 1})"#,
        r#"return cjson.encode({a = {b = {1, 'x', true, false}}})"#,
        r#"return cjson.encode('a/b"c\\n\t\1')"#,
        r#"return cjson.encode({1.5, 0.1, 1e20, -3, 123456789012345})"#,
        r#"return cjson.encode(cjson.null)"#,
        r#"return cjson.encode({[1] = 'a', [3] = 'c'})"#,
        r#"return cjson.encode({[1] = 'a', [20] = 'c'})"#,
        r#"return cjson.encode({[2.5] = 'x'})"#,
        r#"return cjson.encode(1/0)"#,
        r#"return cjson.encode(function() end)"#,
        r#"return cjson.encode(nil)"#,
        r#"return cjson.encode(true)"#,
        r#"return cjson.decode('[1,2,3]')"#,
        r#"return cjson.decode('{"a":{"b":[1,"x"]}}')['a']['b']"#,
        r#"return cjson.decode('"\u00e9\n"')"#,
        r#"return cjson.decode('3.25') * 4"#,
        "return type(cjson.decode('null'))",
        r#"return cjson.decode('null') == cjson.null"#,
        r#"return cjson.decode('{"k":true}')['k']"#,
        r#"return cjson.decode('[1,')"#,
        r#"return cjson.decode('{1:2}')"#,
        r#"return cjson.decode('')"#,
        r#"return cjson.decode('[1] x')"#,
        r#"return cjson.encode(cjson.decode('{"n":[1,2,{"m":"v"}]}'))"#,
        r#"return cmsgpack.pack(1, 200, 70000, 5000000000, -1, -100, -1000, -100000, -5000000000)"#,
        r#"return cmsgpack.pack(1.5, 0.1, 1e300, -2.25)"#,
        r#"return cmsgpack.pack('short', string.rep('x', 40), string.rep('y', 300))"#,
        r#"return cmsgpack.pack({1, 2, 3}, {a = 1}, {}, true, false)"#,
        r#"return cmsgpack.pack({1, {2, {3}}})"#,
        "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, true))}",
        "local t = cmsgpack.unpack(cmsgpack.pack({a = 'b'})) return t['a']",
        r#"return cmsgpack.unpack(cmsgpack.pack(-5000000000, 2.5))"#,
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
        r#"return cmsgpack.unpack('\147\1')"#,
        r#"return cmsgpack.unpack('\193')"#,
        r#"return cmsgpack.pack()"#,
    ] {
        cases.push(eval(s));
    }
    w.run(&[&["FLUSHALL"], &["SCRIPT", "FLUSH"]], &cases);
}

/// The `struct` library: every format option, alignment, the 64-bit integer quirks, the
/// limits (integer size, stack) and every error text, as redis-server's `lua_struct.c`.
#[test]
fn struct_library() {
    let Some(mut w) = World::start() else { return };
    let cases: Vec<_> = [
        r#"return struct.pack('i16', -1)"#,
        r#"return struct.pack('>i16', -1)"#,
        r#"return struct.pack('<i9', -2)"#,
        r#"return {struct.unpack('<i9', string.rep('\255', 9))}"#,
        r#"return {struct.unpack('>i9', '\1' .. string.rep('\255', 8))}"#,
        r#"return {struct.unpack('<i16', string.rep('\255', 16))}"#,
        r#"return {struct.unpack('<I16', string.rep('\255', 16))}"#,
        r#"return {struct.unpack('b', 'abc', 0)}"#,
        r#"return {struct.unpack('b', 'abc', 10)}"#,
        r#"return {struct.unpack('b', 'abc', 4)}"#,
        r#"return {struct.unpack('b', 'abc', -1)}"#,
        r#"return {struct.unpack('b', 'abc', '2')}"#,
        r#"return {struct.unpack('b', 'abc', 2.7)}"#,
        r#"return #{struct.unpack(string.rep('b', 10000), string.rep('a', 10000))}"#,
        r#"return #{struct.unpack(string.rep('b', 7997), string.rep('a', 7997))}"#,
        r#"return #{struct.unpack(string.rep('b', 7998), string.rep('a', 7998))}"#,
        r#"return #{struct.unpack(string.rep('b', 7996), string.rep('a', 7996), 1)}"#,
        r#"return #{struct.unpack(string.rep('b', 7997), string.rep('a', 7997), 1)}"#,
        r#"return #{struct.unpack(string.rep('b', 7996), string.rep('a', 7996), 1, 1)}"#,
        r#"return struct.pack('b\0b', 1, 2)"#,
        r#"return {struct.unpack('<I16', string.rep('\255', 16))}"#,
        r#"return struct.pack('>!4 h i3 x d', 1, -2, 0.5)"#,
        // unpack is a C function, as there: its errors name it as the script called it and
        // jump through pcall.
        r#"local u = struct.unpack return u('b')"#,
        r#"local ok, e = pcall(struct.unpack, 'b', 'abc', 0) return e"#,
        r#"return {pcall(struct.unpack, '>h', 'ab')}"#,
        r#"local ok, e = pcall(struct.unpack, 's', 'abc') return {ok, e}"#,
        r#"return struct.pack('i99999999999', 1)"#,
        r#"return struct.pack('c99999999999', 'a')"#,
        r#"return struct.pack('!16i', 1)"#,
        r#"return struct.pack('!8bi8', 1, 2)"#,
        r#"return struct.pack('!4bi8', 1, 2)"#,
        r#"return struct.pack('!bi8', 1, 2)"#,
        r#"return struct.pack('!2bi3i', 1, 2, 3)"#,
        r#"return struct.pack('!8bi3d', 1, 2, 3)"#,
        r#"return struct.pack('!8bT', 1, 2)"#,
        r#"return struct.size('!8bT')"#,
        r#"return struct.size('!8bi3')"#,
        r#"return struct.size('bx')"#,
        r#"return struct.size('q')"#,
        r#"return struct.size('>!<')"#,
        r#"return struct.size('!3')"#,
        r#"return struct.pack('s', 'a\0b')"#,
        r#"return struct.pack('c', 'abc')"#,
        r#"return struct.pack('c0s', 'abc', 'de')"#,
        r#"return struct.pack('b', '12')"#,
        r#"return struct.pack('b', 300)"#,
        r#"return struct.pack('b', -1.7)"#,
        r#"return struct.pack('B', 1e20)"#,
        r#"return struct.pack('l', -1e20)"#,
        r#"return struct.pack('L', 2^63)"#,
        r#"return struct.pack('L', 2^64)"#,
        r#"return struct.pack('L', 0/0)"#,
        r#"return struct.pack('c', 12.5)"#,
        r#"return struct.pack('c')"#,
        r#"return struct.pack('b')"#,
        r#"return struct.pack('c', nil)"#,
        r#"return struct.pack(12)"#,
        r#"return struct.pack()"#,
        r#"return struct.pack('>fd', 1.1, 1.1)"#,
        r#"return {struct.unpack('<f', struct.pack('<f', 1.1))}"#,
        r#"return tostring(struct.unpack('<d', struct.pack('<d', 1.1)))"#,
        r#"return {struct.unpack('c0', 'abc')}"#,
        r#"return {struct.unpack('b c0', '\5abc')}"#,
        r#"return {struct.unpack('bc0', '\2abc')}"#,
        r#"return {struct.unpack('s c0', 'ab\0cd')}"#,
        r#"return {struct.unpack('s', 'ab\0cd\0')}"#,
        r#"return struct.unpack('s', 'abc')"#,
        r#"return {struct.unpack('x b', 'ab')}"#,
        r#"return {struct.unpack('!4 b i', 'a\0\0\0\1\0\0\0')}"#,
        r#"return {struct.unpack('!4 b i', 'a\0\0\0\1')}"#,
        r#"return {struct.unpack('i', 'abcd', 1, 'extra')}"#,
        r#"return {struct.unpack('b')}"#,
        r#"return {struct.unpack('b', 1)}"#,
        r#"return {struct.unpack('b', {})}"#,
        r#"return struct.unpack('q', 'a')"#,
        r#"return struct.pack('q')"#,
        r#"return struct.pack(' ')"#,
        r#"return struct.pack('bb', 1)"#,
        r#"return {struct.unpack('>h', '\255\254')}"#,
        r#"return {struct.unpack('>H', '\255\254')}"#,
        r#"return {struct.unpack('i0', '')}"#,
        r#"return struct.pack('i0', 5)"#,
        r#"return struct.pack('I32', 1)"#,
        r#"return struct.pack('i33', 1)"#,
        r#"return {struct.unpack('>I32', string.rep('\1', 32))}"#,
        r#"return struct.pack('!0', 1)"#,
        r#"return struct.pack('!', 1)"#,
        r#"return struct.size('!')"#,
        r#"return struct.size('!i!2i')"#,
        r#"return struct.pack('x', 1, 2)"#,
        r#"return struct.pack('b', true)"#,
        r#"return struct.pack('s', 5)"#,
        r#"return struct.pack('b', '0x10')"#,
        r#"return struct.pack('b', ' 7 ')"#,
        r#"return {struct.unpack('c2', 'abc', 2)}"#,
        r#"return {struct.unpack('c3', 'abc', 2)}"#,
        r#"return struct.unpack('c0', '\0')"#,
        r#"return {struct.unpack('b c0', '\255abc')}"#,
        r#"return {struct.unpack('b c0', '\0abc')}"#,
        r#"return {struct.unpack('d c0', struct.pack('d', 2.5) .. 'abc')}"#,
        r#"return type(struct)"#,
        r#"return struct.foo"#,
        r#"struct.x = 1"#,
        r#"return struct.size(nil)"#,
        r#"return struct.size('c')"#,
        r#"return struct.size('c7')"#,
    ]
    .into_iter()
    .map(eval)
    .collect();
    w.run(&[&["FLUSHALL"], &["SCRIPT", "FLUSH"]], &cases);
}
