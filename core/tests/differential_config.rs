//! Differential tests of the parameter table: redish's `Store` and a real `redis-server`
//! 7.0 (see `common/mod.rs`) must know the same parameters, report the same defaults and
//! refuse the same bad values with the same error texts, and CONFIG SET of several
//! parameters must be all or nothing on both.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_config`.
//!
//! What is not compared, and why:
//! - `port`, `unixsocket`, `dir`: the harness starts redis-server on a socket of its own in a
//!   temporary directory; the store has the defaults.
//! - CONFIG SET `tls-cluster yes` / `tls-replication yes`: Redis cannot apply them without
//!   certificates; redish stores them.
//! - CONFIG SET of `port` and `bind`: Redis rebinds its listeners at once; redish's adapters
//!   bind once, so both are immutable here.

// The harness reads the clock, which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{now_ms, parse, show, Conn, Redis, Value};
use redish_core::db::{Access, PARAMS};
use redish_core::{Session, SessionConfig, Store};

/// Parameters whose values differ by the harness's start, not by redish.
const SET_BY_HARNESS: &[&str] = &["port", "unixsocket", "dir"];
/// CONFIG SETs Redis refuses for want of something set up beside it: turning TLS on for the
/// cluster bus or replication needs certificates (the TLS work declares these parameters;
/// it does not act on them yet).
const NEEDS_SETUP: &[(&str, &str)] = &[("tls-cluster", "yes"), ("tls-replication", "yes")];
/// Parameters whose CONFIG SET redish refuses as immutable (see the module docs).
const BOUND_ONCE: &[&str] = &["port", "bind", "tls-port"];

struct World {
    redis: Conn,
    _server: Redis,
    store: Store,
    session: Session,
}

impl World {
    fn start() -> Option<World> {
        let server = Redis::start(&[])?;
        let redis = server.connect();
        let mut store = Store::default();
        let session = Session::new(store.next_client_id(), SessionConfig::default());
        Some(World {
            redis,
            _server: server,
            store,
            session,
        })
    }

    fn ours(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.session.handle_bytes(&common::encode(args));
        self.session.process(&mut self.store, now_ms());
        let out = self.session.poll_transmit().to_vec();
        self.session.consume_transmit(out.len());
        out
    }

    fn both(&mut self, args: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        let theirs = self.redis.call(&args);
        (self.ours(&args), theirs)
    }
}

/// CONFIG GET's reply as sorted (name, value) pairs.
fn pairs(reply: &[u8]) -> Vec<(String, String)> {
    let items = match parse(reply) {
        Value::Array(items) => items,
        other => panic!("CONFIG GET: {other:?}"),
    };
    let mut out: Vec<(String, String)> = items
        .chunks(2)
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_parameter_with_redis_defaults() {
    let Some(mut w) = World::start() else { return };
    let (ours, theirs) = w.both(&[b"CONFIG", b"GET", b"*"]);
    let ours = pairs(&ours);
    let theirs = pairs(&theirs);
    let names = |p: &[(String, String)]| p.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs), "CONFIG GET * names");
    assert!(ours.len() > 170, "{} parameters", ours.len());
    let mut differ = Vec::new();
    for ((name, mine), (_, redis)) in ours.iter().zip(&theirs) {
        if !SET_BY_HARNESS.contains(&name.as_str()) && mine != redis {
            differ.push(format!("{name}: redish {mine:?}, redis {redis:?}"));
        }
    }
    assert!(differ.is_empty(), "defaults differ:\n{}", differ.join("\n"));

    // Hidden parameters: not in the glob, there by name.
    for name in [&b"key-load-delay"[..], b"use-exit-on-panic"] {
        let (ours, theirs) = w.both(&[b"CONFIG", b"GET", name]);
        assert_eq!(show(&ours), show(&theirs));
    }
}

/// Values that one kind or another refuses.
const BAD_VALUES: &[&[u8]] = &[
    b"zzz-bad",
    b"-1",
    b"-9223372036854775809",
    b"-9223372036854775808",
    b"18446744073709551615",
    b"99999999999999999999",
    b"1.5",
    b"1k",
    b"5gb",
    b"1%",
    b"200%",
    b" 5",
    b"+5",
    b"0x10",
    b"yes",
    b"YES",
    b"local",
    b"a b c",
    b"1 2 3 4",
    b"",
];

#[test]
fn set_refuses_bad_values_as_redis() {
    let Some(mut w) = World::start() else { return };
    let (_, defaults) = w.both(&[b"CONFIG", b"GET", b"*"]);
    let defaults = pairs(&defaults);
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for p in PARAMS.iter() {
        if BOUND_ONCE.contains(&p.name) || SET_BY_HARNESS.contains(&p.name) {
            continue;
        }
        for name in std::iter::once(p.name).chain(p.alias) {
            for value in BAD_VALUES {
                let spelled = String::from_utf8_lossy(value).to_ascii_lowercase();
                if NEEDS_SETUP.contains(&(name, spelled.as_str())) {
                    continue;
                }
                let (ours, theirs) = w.both(&[b"CONFIG", b"SET", name.as_bytes(), value]);
                if ours != theirs {
                    mismatches.push(format!(
                        "CONFIG SET {name} {:?}: redish {}, redis {}",
                        String::from_utf8_lossy(value),
                        show(&ours),
                        show(&theirs)
                    ));
                    continue;
                }
                compared += 1;
                if ours.starts_with(b"+") {
                    // It took: both must show the same, then go back to the default.
                    let (ours, theirs) = w.both(&[b"CONFIG", b"GET", name.as_bytes()]);
                    if ours != theirs {
                        mismatches.push(format!(
                            "CONFIG GET {name} after a set: redish {}, redis {}",
                            show(&ours),
                            show(&theirs)
                        ));
                    }
                    let default = defaults
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(p.default, |(_, v)| v.as_str());
                    let (ours, theirs) =
                        w.both(&[b"CONFIG", b"SET", name.as_bytes(), default.as_bytes()]);
                    assert_eq!(
                        (show(&ours), show(&theirs)),
                        ("+OK\\r\\n".into(), "+OK\\r\\n".into()),
                        "CONFIG SET {name} {default:?}"
                    );
                }
            }
        }
        if p.access == Access::Immutable {
            let (ours, _) = w.both(&[b"CONFIG", b"SET", p.name.as_bytes(), p.default.as_bytes()]);
            assert!(
                show(&ours).contains("can't set immutable config"),
                "{}",
                p.name
            );
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(compared > 3000, "{compared} comparisons");
}

#[test]
fn set_of_several_is_all_or_nothing() {
    let Some(mut w) = World::start() else { return };
    let cases: &[&[&[u8]]] = &[
        &[b"maxmemory", b"10mb", b"timeout", b"abc"],
        &[b"maxmemory", b"10mb", b"activedefrag", b"maybe"],
        &[b"loglevel", b"debug", b"daemonize", b"yes"],
        &[b"hz", b"20", b"nosuch", b"1"],
        &[b"slowlog-max-len", b"5", b"slowlog-max-len", b"6"],
        &[
            b"hash-max-listpack-entries",
            b"5",
            b"hash-max-ziplist-entries",
            b"6",
        ],
        &[b"save", b"1 1", b"dbfilename", b"x.rdb"],
        &[b"shutdown-timeout", b"3", b"maxmemory-clients", b"101%"],
    ];
    for args in cases {
        let mut cmd: Vec<&[u8]> = vec![b"CONFIG", b"SET"];
        cmd.extend_from_slice(args);
        let (ours, theirs) = w.both(&cmd);
        assert_eq!(show(&ours), show(&theirs), "{cmd:?}");
        for name in args.iter().step_by(2) {
            let (ours, theirs) = w.both(&[b"CONFIG", b"GET", name]);
            assert_eq!(
                show(&ours),
                show(&theirs),
                "CONFIG GET {name:?} after {cmd:?}"
            );
        }
    }
    // And all of them when all are good.
    let (ours, theirs) = w.both(&[
        b"CONFIG",
        b"SET",
        b"maxmemory",
        b"1gb",
        b"maxmemory-clients",
        b"10%",
        b"oom-score-adj-values",
        b"1 2 3",
        b"shutdown-on-sigterm",
        b"nosave now",
        b"unixsocketperm",
        b"700",
    ]);
    assert_eq!(show(&ours), show(&theirs));
    let (ours, theirs) = w.both(&[
        b"CONFIG",
        b"SET",
        b"maxmemory",
        b"1gb",
        b"maxmemory-clients",
        b"10%",
        b"oom-score-adj-values",
        b"1 2 3",
        b"shutdown-on-sigterm",
        b"nosave now",
    ]);
    assert_eq!(show(&ours), show(&theirs));
    for name in [
        &b"maxmemory"[..],
        b"maxmemory-clients",
        b"oom-score-adj-values",
        b"shutdown-on-sigterm",
    ] {
        let (ours, theirs) = w.both(&[b"CONFIG", b"GET", name]);
        assert_eq!(show(&ours), show(&theirs));
    }
}

/// `replicaof` follows REPLICAOF as on redis-server: CONFIG GET shows the master (under
/// both names) and nothing after `REPLICAOF NO ONE`. CONFIG REWRITE writes this value, which
/// is how a server Sentinel reconfigured keeps its role across a restart. The master named
/// is a closed port: only the setting is compared, not the link.
#[test]
fn replicaof_setting_follows_the_command() {
    let Some(mut w) = World::start() else { return };
    let steps: &[&[&[u8]]] = &[
        &[b"CONFIG", b"GET", b"replicaof"],
        &[b"REPLICAOF", b"127.0.0.1", b"1"],
        &[b"CONFIG", b"GET", b"replicaof"],
        &[b"CONFIG", b"GET", b"slaveof"],
        &[b"SLAVEOF", b"localhost", b"2"],
        &[b"CONFIG", b"GET", b"replicaof"],
        &[b"REPLICAOF", b"NO", b"ONE"],
        &[b"CONFIG", b"GET", b"replicaof"],
    ];
    for cmd in steps {
        let (ours, theirs) = w.both(cmd);
        assert_eq!(show(&ours), show(&theirs), "{cmd:?}");
    }
}
