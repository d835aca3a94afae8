//! What a script leaves in the effects log (the AOF, later replicas): the commands it ran,
//! rewritten as any command's are, wrapped in MULTI/EXEC when there is more than one —
//! never the script itself, with their arguments as the script passed them (Redis 7.0's
//! effects replication). Replaying the log gives the
//! same data.

use redish_core::{Session, SessionConfig, Store};

const T0: u64 = 1_700_000_000_000;

fn store() -> Store {
    let mut store = Store::default();
    store.set_script_engine(redish_lua::engine());
    store
}

fn run(store: &mut Store, session: &mut Session, req: &[&str], now: u64) -> String {
    let mut wire = format!("*{}\r\n", req.len());
    for a in req {
        wire.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    session.handle_bytes(wire.as_bytes());
    session.process(store, now);
    let out = session.poll_transmit().to_vec();
    session.consume_transmit(out.len());
    String::from_utf8_lossy(&out).into_owned()
}

fn effects(store: &mut Store) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(e) = store.poll_effect() {
        let args: Vec<String> = e
            .args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        got.push(format!("{} {}", e.db, args.join(" ")));
    }
    got
}

#[test]
fn script_writes_are_logged_as_commands() {
    let mut store = store();
    store.set_effects_log(true);
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    let reply = run(
        &mut store,
        &mut s,
        &[
            "EVAL",
            "redis.call('set', KEYS[1], ARGV[1], 'EX', 10) redis.call('incr', KEYS[1]) \
             return redis.call('get', KEYS[1])",
            "1",
            "k",
            "5",
        ],
        T0,
    );
    assert_eq!(reply, "$1\r\n6\r\n");
    // One write: no transaction around it. A read-only script: nothing at all.
    run(
        &mut store,
        &mut s,
        &["EVAL", "return redis.call('set', 'one', 'x')", "0"],
        T0,
    );
    run(
        &mut store,
        &mut s,
        &["EVAL", "return redis.call('get', 'one')", "0"],
        T0,
    );
    // A script that SELECTs: its writes go to the database it chose.
    run(
        &mut store,
        &mut s,
        &[
            "EVAL",
            "redis.call('select', 3) redis.call('set', 'in3', 'y') return 1",
            "0",
        ],
        T0,
    );
    assert_eq!(
        effects(&mut store),
        [
            "0 MULTI".to_owned(),
            format!("0 SET k 5 PXAT {}", T0 + 10_000),
            "0 incr k".to_owned(),
            "0 EXEC".to_owned(),
            "0 set one x".to_owned(),
            "3 set in3 y".to_owned(),
        ]
    );
}

#[test]
fn failed_script_keeps_the_writes_before_the_error() {
    let mut store = store();
    store.set_effects_log(true);
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    let reply = run(
        &mut store,
        &mut s,
        &[
            "EVAL",
            "redis.call('set', 'a', '1') redis.call('set', 'b', '2') error('stop')",
            "0",
        ],
        T0,
    );
    assert!(
        reply.starts_with("-ERR user_script:1: stop script: "),
        "{reply}"
    );
    // Scripts are not rolled back (as Redis): what ran before the error stays, and is logged.
    assert_eq!(
        effects(&mut store),
        ["0 MULTI", "0 set a 1", "0 set b 2", "0 EXEC"]
    );
    assert_eq!(
        run(&mut store, &mut s, &["MGET", "a", "b"], T0),
        "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
}

#[test]
fn replaying_the_log_gives_the_same_data() {
    let mut store = store();
    store.set_effects_log(true);
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    let script = "for i = 1, tonumber(ARGV[1]) do \
                    redis.call('rpush', KEYS[1], i) \
                    redis.call('hincrby', KEYS[2], 'n', i) \
                  end \
                  redis.call('expire', KEYS[1], 100) \
                  return redis.call('llen', KEYS[1])";
    run(
        &mut store,
        &mut s,
        &["EVAL", script, "2", "list", "hash", "5"],
        T0,
    );
    let log: Vec<_> = std::iter::from_fn(|| store.poll_effect()).collect();
    let mut replica = Store::default();
    let mut r = Session::new(replica.next_client_id(), SessionConfig::default());
    for e in &log {
        let args: Vec<&str> = e
            .args
            .iter()
            .map(|a| std::str::from_utf8(a).unwrap())
            .collect();
        run(&mut replica, &mut r, &args, T0 + 1);
    }
    for req in [
        &["LRANGE", "list", "0", "-1"][..],
        &["HGETALL", "hash"],
        &["PEXPIRETIME", "list"],
    ] {
        assert_eq!(
            run(&mut replica, &mut r, req, T0 + 2),
            run(&mut store, &mut s, req, T0 + 2),
            "{req:?}"
        );
    }
}

const LIB: &str = "#!lua name=counter\nredis.register_function('bump', function(keys, args) redis.call('incr', keys[1]) return redis.call('incr', keys[1]) end)";

#[test]
fn function_commands_and_calls_in_the_log() {
    let mut store = store();
    store.set_effects_log(true);
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    assert_eq!(
        run(&mut store, &mut s, &["FUNCTION", "LOAD", LIB], T0),
        "$7\r\ncounter\r\n"
    );
    assert_eq!(
        run(&mut store, &mut s, &["FCALL", "bump", "1", "c"], T0),
        ":2\r\n"
    );
    // A failed FUNCTION LOAD changes nothing and is not logged.
    run(&mut store, &mut s, &["FUNCTION", "LOAD", LIB], T0);
    run(&mut store, &mut s, &["FUNCTION", "DELETE", "counter"], T0);
    run(&mut store, &mut s, &["FUNCTION", "DELETE", "counter"], T0);
    run(&mut store, &mut s, &["FUNCTION", "FLUSH"], T0);
    assert_eq!(
        effects(&mut store),
        [
            format!("0 FUNCTION LOAD {LIB}"),
            "0 MULTI".into(),
            "0 incr c".into(),
            "0 incr c".into(),
            "0 EXEC".into(),
            "0 FUNCTION DELETE counter".into(),
            "0 FUNCTION FLUSH".into(),
        ]
    );
}

/// An AOF rewrite starts with a FUNCTION LOAD per library, and replaying it gives the
/// libraries back; so does an RDB file.
#[test]
fn libraries_survive_aof_rewrite_and_rdb() {
    use redish_core::persist::{aof, rdb};
    let mut store = store();
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    run(&mut store, &mut s, &["FUNCTION", "LOAD", LIB], T0);
    run(&mut store, &mut s, &["SET", "c", "10"], T0);
    let mut log = Vec::new();
    aof::rewrite_to(&store, T0, &mut log).unwrap();
    let mut want = format!(
        "*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n${}\r\n{LIB}\r\n",
        LIB.len()
    );
    want.push_str("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
    assert!(
        String::from_utf8_lossy(&log).starts_with(&want),
        "{}",
        String::from_utf8_lossy(&log)
    );
    let mut back = self::store();
    let load = aof::load(&log).unwrap();
    redish_core::cmd::replay_aof(&mut back, &load, T0).unwrap();
    let mut s2 = Session::new(back.next_client_id(), SessionConfig::default());
    assert_eq!(
        run(&mut back, &mut s2, &["FCALL", "bump", "1", "c"], T0),
        ":12\r\n"
    );

    let file = rdb::to_vec(&store, T0);
    let mut back = self::store();
    rdb::load_into(&mut back, &file, T0).unwrap();
    let mut s3 = Session::new(back.next_client_id(), SessionConfig::default());
    assert_eq!(
        run(&mut back, &mut s3, &["FCALL", "bump", "1", "c"], T0),
        ":12\r\n"
    );
    // An RDB with a library but no engine to load it is refused.
    assert!(rdb::load_into(&mut Store::default(), &file, T0).is_err());
}
