//! Differential tests of the connection and server commands: the same scenario goes to a
//! redish [`Session`] and to a real `redis-server` 7.0 (see `common/mod.rs`), in RESP2 and
//! in RESP3, and the replies must match.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_server`.
//!
//! Normalisations (the only places replies are not compared byte for byte):
//! - connection ids (HELLO's `id`, CLIENT ID, `id=` in CLIENT LIST/INFO): each server counts
//!   its own. Scenario lines may say `@id1` / `@id2` for the id of client 1 / 2 on each side.
//! - CLIENT LIST/INFO: the fields about buffers, file descriptors and ages (`fd`, `age`,
//!   `idle`, `qbuf`, `qbuf-free`, `argv-mem`, `multi-mem`, `rbs`, `rbp`, `obl`, `oll`,
//!   `omem`, `tot-mem`, `events`). Names, flags, db, subscriptions, MULTI, last command and
//!   protocol are compared.
//! - DEBUG OBJECT: the address, the LRU clock and the idle time read from it
//!   (`lru_seconds_idle`, whole seconds that tick at different moments on the two servers).
//! - TIME and LASTSAVE: compared as shapes (two integers as bulks; an integer), their values
//!   within a few seconds of each other.
//! - INFO (`@info`): the section titles and the field names in order, and the values of the
//!   fields that do not depend on the process (version, mode, role, settings, keyspace,
//!   command and error counts with `usec` blanked).
//! - COMMAND DOCS of a container or of every command (`@docs`): compared as parsed maps, as
//!   Redis lists command names in a random hash order (see `compare_docs`). The entry of any
//!   other command or of a subcommand is compared byte for byte.
//!
//! Other directives: `@noreply CMD` sends a command whose reply both servers suppress (CLIENT
//! REPLY); `@closed` checks that the connection was closed; `@sorted CMD` compares arrays as
//! sorted, `@pairs CMD` maps (CONFIG GET) as sorted pairs — Redis lists them in hash order;
//! `2:` sends a line on the second client.

// The harness reads the clock and sleeps, which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{now_ms, parse, show, Conn, Redis, Value};
use redish_core::db::{ClientConn, DebugCommand};
use redish_core::{Session, SessionConfig, Store};

/// Both servers.
struct World {
    redis: Redis,
    store: Store,
    admin: Conn,
    debug: bool,
}

/// One client of both servers, and its id on each.
struct Client {
    session: Session,
    conn: Conn,
    ids: (u64, u64),
}

impl World {
    fn start(debug: bool) -> Option<World> {
        let extra: &[&str] = if debug {
            &["--enable-debug-command", "yes"]
        } else {
            &[]
        };
        let redis = Redis::start(extra)?;
        let admin = redis.connect();
        Some(World {
            redis,
            store: Store::default(),
            admin,
            debug,
        })
    }

    fn reset(&mut self) {
        for cmd in [
            &["FLUSHALL"][..],
            &["CONFIG", "SET", "requirepass", ""],
            &["CONFIG", "RESETSTAT"],
        ] {
            let args: Vec<Vec<u8>> = cmd.iter().map(|a| a.as_bytes().to_vec()).collect();
            self.admin.call(&args);
        }
        self.store = Store::default();
        if self.debug {
            self.store.config_mut().enable_debug_command = DebugCommand::Yes;
        }
    }

    fn client(&mut self) -> Client {
        let id = self.store.next_client_id();
        let addr = self.redis.client_addr();
        self.store.register_client(
            id,
            ClientConn {
                addr: addr.clone(),
                laddr: addr,
                fd: 8,
                unix_socket: true,
            },
            now_ms(),
        );
        let mut c = Client {
            session: Session::new(id, SessionConfig::default()),
            conn: self.redis.connect(),
            ids: (id, 0),
        };
        let theirs = c.conn.call(&[b"CLIENT".to_vec(), b"ID".to_vec()]);
        c.ids.1 = std::str::from_utf8(&theirs[1..theirs.len() - 2])
            .unwrap()
            .parse()
            .unwrap();
        c
    }

    /// Runs `args` on redish: the reply bytes, or `None` if the session closed without one.
    fn ours(&mut self, c: &mut Client, args: &[Vec<u8>]) -> Option<Vec<u8>> {
        if c.session.is_closing() {
            return None;
        }
        c.session.handle_bytes(&common::encode(args));
        let now = now_ms();
        c.session.process(&mut self.store, now);
        // Kills of other sessions are not routed here: `@closed` checks the registry.
        let out = c.session.poll_transmit().to_vec();
        c.session.consume_transmit(out.len());
        if out.is_empty() && c.session.is_closing() {
            return None;
        }
        Some(out)
    }
}

fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "\"\"" => Vec::new(),
            t => t.as_bytes().to_vec(),
        })
        .collect()
}

/// `args` with `@id1`/`@id2` replaced by the ids on one side.
fn with_ids(args: &[Vec<u8>], ids: [u64; 2]) -> Vec<Vec<u8>> {
    args.iter()
        .map(|a| match a.as_slice() {
            b"@id1" => ids[0].to_string().into_bytes(),
            b"@id2" => ids[1].to_string().into_bytes(),
            _ => a.clone(),
        })
        .collect()
}

const CLIENT_VOLATILE: &[&str] = &[
    "id",
    "fd",
    "age",
    "idle",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
];

fn normalise_client_line(line: &str) -> String {
    line.split(' ')
        .map(|field| match field.split_once('=') {
            Some((k, _)) if CLIENT_VOLATILE.contains(&k) => format!("{k}=*"),
            _ => field.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Applies the normalisations for `args` to a reply.
fn normalise(args: &[Vec<u8>], reply: &[u8]) -> Vec<u8> {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let sub = args
        .get(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(reply).into_owned();
    match (name.as_str(), sub.as_str()) {
        ("hello", _) | ("reset", _) if text.contains("$2\r\nid\r\n:") => {
            let i = text.find("$2\r\nid\r\n:").unwrap() + 9;
            let end = i + text[i..].find('\r').unwrap();
            format!("{}<id>{}", &text[..i], &text[end..]).into_bytes()
        }
        ("client", "id") if text.starts_with(':') => b":<id>\r\n".to_vec(),
        ("client", "list" | "info") if !text.starts_with('-') => {
            let v = parse(reply);
            let body = v.as_str().unwrap_or_default();
            let lines: Vec<String> = body.lines().map(normalise_client_line).collect();
            lines.join("\n").into_bytes()
        }
        // The idle time is whole seconds of the LRU clock, which ticks at different moments
        // on the two servers: its value is blanked, its place kept.
        ("debug", "object") if text.starts_with('+') => text
            .split(' ')
            .filter(|f| !f.starts_with("at:") && !f.starts_with("lru:"))
            .map(|f| match f.split_once(':') {
                // The last field: keep the line end.
                Some(("lru_seconds_idle", v)) if v.ends_with("\r\n") => {
                    "lru_seconds_idle:*\r\n".to_owned()
                }
                Some(("lru_seconds_idle", _)) => "lru_seconds_idle:*".to_owned(),
                _ => f.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes(),
        _ => reply.to_vec(),
    }
}

/// INFO compared by titles, field names and the process-independent values.
fn compare_info(theirs: &[u8], ours: &[u8]) -> Result<(), String> {
    const EXACT: &[&str] = &[
        "redis_version",
        "redis_mode",
        "hz",
        "configured_hz",
        "maxclients",
        "blocked_clients",
        "maxmemory",
        "maxmemory_human",
        "maxmemory_policy",
        "loading",
        "aof_enabled",
        "rdb_bgsave_in_progress",
        "rdb_last_bgsave_status",
        "role",
        "connected_slaves",
        "master_repl_offset",
        "cluster_enabled",
        "expired_keys",
        "evicted_keys",
        "pubsub_channels",
        "pubsub_patterns",
        "keyspace_hits",
        "keyspace_misses",
        "total_error_replies",
    ];
    let fields = |raw: &[u8]| -> Vec<(String, String)> {
        let text = parse(raw).as_str().unwrap_or_default().to_owned();
        text.split("\r\n")
            .filter(|l| !l.is_empty())
            .map(|l| match l.split_once(':') {
                Some((k, v)) if k.starts_with("cmdstat_") => {
                    // usec and usec_per_call are times: they differ between servers.
                    let v: Vec<&str> = v.split(',').filter(|f| !f.starts_with("usec")).collect();
                    (k.to_owned(), v.join(","))
                }
                Some((k, v)) if k.starts_with("db") || k.starts_with("errorstat_") => {
                    (k.to_owned(), v.to_owned())
                }
                Some((k, v)) if EXACT.contains(&k) => (k.to_owned(), v.to_owned()),
                Some((k, _)) => (k.to_owned(), String::new()),
                None => (l.to_owned(), String::new()),
            })
            .collect()
    };
    let (mut t, mut o) = (fields(theirs), fields(ours));
    // Command stats come in hash order from Redis.
    let sort_stats = |v: &mut Vec<(String, String)>| {
        let start = v.iter().position(|(k, _)| k.starts_with("cmdstat_"));
        if let Some(start) = start {
            let end = start
                + v[start..]
                    .iter()
                    .take_while(|(k, _)| k.starts_with("cmdstat_"))
                    .count();
            v[start..end].sort();
        }
    };
    sort_stats(&mut t);
    sort_stats(&mut o);
    // Latency percentiles are times (session_observe.rs checks their values on a fake
    // clock).
    o.retain(|(k, _)| !k.starts_with("latency_percentiles_usec_"));
    // Latency percentiles are times; the harness's own CLIENT ID and CONFIG
    // RESETSTAT went to Redis only.
    t.retain(|(k, _)| {
        !k.starts_with("latency_percentiles_usec_")
            && k != "cmdstat_client|id"
            && k != "cmdstat_config|resetstat"
    });
    if t == o {
        return Ok(());
    }
    let diff: Vec<String> = t
        .iter()
        .zip(&o)
        .filter(|(a, b)| a != b)
        .take(5)
        .map(|(a, b)| format!("redis {a:?} redish {b:?}"))
        .collect();
    Err(format!(
        "INFO differs ({} vs {} lines): {diff:?}",
        t.len(),
        o.len()
    ))
}

/// COMMAND DOCS compared as parsed maps: Redis lists a map keyed by command name (the whole
/// of COMMAND DOCS, a container's `subcommands`) in the order of a hash table with a random
/// seed, so those entries are matched by name. Each entry's fields, in order, and their values
/// must be Redis's; redish serves fewer commands and subcommands, so with no names given its
/// entries need only be among Redis's, and a container's subcommands among Redis's.
fn compare_docs(theirs: &Value, ours: &Value, names_given: bool) -> Result<(), String> {
    let pairs = |v: &Value| -> Vec<(Value, Value)> {
        match v {
            Value::Map(p) => p.clone(),
            Value::Array(items) => items
                .chunks(2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect(),
            other => panic!("not a map: {other:?}"),
        }
    };
    let (t, o) = (pairs(theirs), pairs(ours));
    if names_given {
        let names = |p: &[(Value, Value)]| p.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        if names(&t) != names(&o) {
            return Err(format!("entries {:?} vs {:?}", names(&t), names(&o)));
        }
    }
    for (name, doc) in &o {
        let Some((_, their_doc)) = t.iter().find(|(k, _)| k == name) else {
            return Err(format!("redis has no {name:?}"));
        };
        let (td, od) = (pairs(their_doc), pairs(doc));
        let fields = |p: &[(Value, Value)]| p.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        if fields(&td) != fields(&od) {
            return Err(format!(
                "{name:?} fields {:?} vs {:?}",
                fields(&td),
                fields(&od)
            ));
        }
        for ((field, tv), (_, ov)) in td.iter().zip(&od) {
            if field.as_str() == Some("subcommands") {
                let their_subs = pairs(tv);
                for (sub, sv) in pairs(ov) {
                    match their_subs.iter().find(|(k, _)| *k == sub) {
                        None => return Err(format!("redis has no subcommand {sub:?}")),
                        Some((_, their)) if *their != sv => {
                            return Err(format!("{sub:?}: redis {their:?} redish {sv:?}"))
                        }
                        Some(_) => {}
                    }
                }
            } else if tv != ov {
                return Err(format!("{name:?} {field:?}: redis {tv:?} redish {ov:?}"));
            }
        }
    }
    Ok(())
}

fn scenario(world: &mut World, resp3: bool, lines: &[&str]) {
    world.reset();
    let mut c1 = world.client();
    let mut c2 = world.client();
    if resp3 {
        for c in [&mut c1, &mut c2] {
            let hello = split("HELLO 3");
            c.conn.call(&hello);
            world.ours(c, &hello);
        }
    }
    let ours_ids = [c1.ids.0, c2.ids.0];
    let theirs_ids = [c1.ids.1, c2.ids.1];
    for (i, line) in lines.iter().enumerate() {
        let (c, line) = match line.strip_prefix("2:") {
            Some(rest) => (&mut c2, rest),
            None => (&mut c1, *line),
        };
        let fail = |msg: String| -> ! {
            panic!("RESP{} step {i} `{line}`: {msg}", if resp3 { 3 } else { 2 })
        };
        if let Some(ms) = line.strip_prefix("@sleep ") {
            std::thread::sleep(std::time::Duration::from_millis(ms.parse().unwrap()));
            continue;
        }
        if line == "@closed" {
            let redis_closed = c.conn.read().is_none();
            let id = c.session.id();
            let redish_closed =
                c.session.is_closing() || world.store.clients().get(id).is_none_or_killed();
            if !(redis_closed && redish_closed) {
                fail(format!(
                    "closed: redis {redis_closed} redish {redish_closed}"
                ));
            }
            continue;
        }
        let (directive, cmd) = match line.split_once(' ') {
            Some((d, rest)) if d.starts_with('@') => (d, rest),
            _ => ("", line),
        };
        let args = split(cmd);
        let theirs_args = with_ids(&args, theirs_ids);
        let ours_args = with_ids(&args, ours_ids);
        if directive == "@noreply" {
            c.conn.send(&theirs_args);
            let ours = world.ours(c, &ours_args).unwrap_or_default();
            if !ours.is_empty() {
                fail(format!("redish replied {}", show(&ours)));
            }
            continue;
        }
        let theirs = c.conn.call(&theirs_args);
        let Some(ours) = world.ours(c, &ours_args) else {
            fail(format!("redish closed; redis replied {}", show(&theirs)));
        };
        let result = match directive {
            "@info" => compare_info(&theirs, &ours),
            "@docs" => compare_docs(&parse(&theirs), &parse(&ours), args.len() > 2),
            "@sorted" => {
                let sorted = |r: &[u8]| match parse(r) {
                    Value::Array(mut v) => {
                        v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
                        Value::Array(v)
                    }
                    v => v,
                };
                if sorted(&theirs) == sorted(&ours) {
                    Ok(())
                } else {
                    Err(String::new())
                }
            }
            "@pairs" => {
                let pairs = |r: &[u8]| {
                    let mut p: Vec<(String, String)> = match parse(r) {
                        Value::Map(p) => p
                            .into_iter()
                            .map(|(k, v)| (format!("{k:?}"), format!("{v:?}")))
                            .collect(),
                        Value::Array(v) => v
                            .chunks(2)
                            .map(|c| (format!("{:?}", c[0]), format!("{:?}", c[1])))
                            .collect(),
                        other => vec![(format!("{other:?}"), String::new())],
                    };
                    p.sort();
                    p
                };
                if pairs(&theirs) == pairs(&ours) {
                    Ok(())
                } else {
                    Err(String::new())
                }
            }
            "@shape" => {
                let shape = |r: &[u8]| match parse(r) {
                    Value::Int(n) => format!("int {}", n / 100),
                    Value::Array(v) => format!(
                        "array {:?}",
                        v.iter()
                            .map(|x| x
                                .as_str()
                                .map(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())))
                            .collect::<Vec<_>>()
                    ),
                    other => format!("{other:?}"),
                };
                if shape(&theirs).split(' ').next() == shape(&ours).split(' ').next() {
                    Ok(())
                } else {
                    Err(format!("{} vs {}", shape(&theirs), shape(&ours)))
                }
            }
            _ => {
                if normalise(&args, &theirs) == normalise(&args, &ours) {
                    Ok(())
                } else {
                    Err(String::new())
                }
            }
        };
        if let Err(why) = result {
            fail(format!(
                "{why}\n  redis:  {}\n  redish: {}",
                show(&theirs),
                show(&ours)
            ));
        }
    }
}

trait KilledOrGone {
    fn is_none_or_killed(&self) -> bool;
}

impl KilledOrGone for Option<&redish_core::db::ClientInfo> {
    fn is_none_or_killed(&self) -> bool {
        self.map_or(true, |c| c.killed)
    }
}

fn both_protocols(debug: bool, lines: &[&str]) {
    let Some(mut world) = World::start(debug) else {
        return;
    };
    scenario(&mut world, false, lines);
    scenario(&mut world, true, lines);
}

#[test]
fn connection_commands() {
    both_protocols(
        false,
        &[
            "PING",
            "PING a b",
            "ECHO x",
            "ECHO",
            "SELECT 15",
            "SELECT 16",
            "SELECT 0",
            "AUTH x",
            "AUTH default anything",
            "AUTH bob x",
            "AUTH",
            "AUTH a b c",
            "HELLO 2 AUTH default x",
            "HELLO 2 AUTH bob x",
            "HELLO 4",
            "HELLO x",
            "HELLO 2 FOO",
            "READONLY",
            "READWRITE",
            "READONLY x",
            "CLIENT ID",
            "CLIENT ID x",
            "CLIENT SETNAME",
            "CLIENT SETNAME a b",
            "CLIENT SETNAME bad\tname",
            "CLIENT SETNAME conn1",
            "CLIENT GETNAME",
            "CLIENT SETNAME \"\"",
            "CLIENT GETNAME",
            "CLIENT SETINFO LIB-NAME redis-py",
            "CLIENT SETINFO LIB-VER 5.0.0",
            "CLIENT NO-EVICT on",
            "CLIENT NO-EVICT x",
            "CLIENT NO-EVICT",
            "CLIENT NO-EVICT off",
            "CLIENT FOO",
            "CLIENT",
            "CLIENT HELP",
            "CLIENT REPLY",
            "CLIENT REPLY maybe",
            "@noreply CLIENT REPLY OFF",
            "@noreply SET k v",
            "@noreply GET k",
            "CLIENT REPLY ON",
            "@noreply CLIENT REPLY SKIP",
            "@noreply PING",
            "PING again",
            "GET k",
        ],
    );
}

#[test]
fn reset_returns_a_connection_to_its_first_state() {
    both_protocols(
        false,
        &[
            "SELECT 3",
            "SET k v",
            "CLIENT SETNAME n1",
            "WATCH k",
            "MULTI",
            "SET k w",
            "RESET",
            "EXEC",
            "CLIENT GETNAME",
            "GET k",
            "SELECT 3",
            "GET k",
            "SUBSCRIBE ch",
            "RESET",
            "PING",
            "PSUBSCRIBE p*",
            "PING",
            "RESET",
            "PUBLISH ch x",
            "HELLO 3",
            "RESET",
            "PING",
            "RESET x",
        ],
    );
}

#[test]
fn requirepass_and_auth() {
    both_protocols(
        false,
        &[
            "CONFIG SET requirepass secret",
            "CONFIG GET requirepass",
            // Connections made before the password stay authenticated, as in Redis.
            "PING",
            "RESET",
            "PING",
            "GET k",
            "FOO",
            "GET",
            "MULTI",
            "CLIENT ID",
            "HELLO",
            "HELLO 3",
            "HELLO 3 AUTH default wrong",
            "AUTH wrong",
            "AUTH default wrong",
            "AUTH bob secret",
            "AUTH secret",
            "PING",
            "RESET",
            "HELLO 2 AUTH default secret SETNAME nm",
            "CLIENT GETNAME",
            "RESET",
            "AUTH default secret",
            "CONFIG SET requirepass \"\"",
            "RESET",
            "PING",
            "AUTH x",
        ],
    );
}

#[test]
fn config_get_set_resetstat() {
    both_protocols(
        false,
        &[
            "CONFIG GET timeout",
            "CONFIG GET TIMEOUT",
            "@pairs CONFIG GET timeout hz maxclients",
            "@pairs CONFIG GET maxmemory maxmemory-policy maxmemory-samples appendonly appendfsync",
            "CONFIG GET save",
            "CONFIG GET requirepass",
            "CONFIG GET databases",
            "CONFIG GET proto-max-bulk-len",
            "CONFIG GET client-output-buffer-limit",
            "CONFIG GET tcp-keepalive",
            "@pairs CONFIG GET dbfilename appendfilename appenddirname",
            "CONFIG GET enable-debug-command",
            "CONFIG GET hash-max-ziplist-entries",
            "@pairs CONFIG GET hash-max-*",
            "@pairs CONFIG GET zset-max-*",
            "@pairs CONFIG GET list-max-listpack-size list-compress-depth set-max-intset-entries",
            "CONFIG GET nosuchparam",
            "CONFIG GET",
            "CONFIG SET",
            "CONFIG SET a",
            "CONFIG SET timeout 10 hz",
            "CONFIG SET foo bar",
            "CONFIG SET hz 5 foo 1",
            "CONFIG SET databases 4",
            "CONFIG SET dbfilename x.rdb",
            "CONFIG SET dir /tmp",
            "CONFIG SET appendfilename x.aof",
            "CONFIG SET enable-debug-command yes",
            "CONFIG SET maxclients abc",
            "CONFIG SET maxclients 0",
            "CONFIG SET timeout -1",
            "CONFIG SET timeout 10 timeout 20",
            "CONFIG SET timeout 10 TIMEOUT 20",
            "CONFIG SET hz 5 timeout x",
            "@pairs CONFIG GET hz timeout",
            "CONFIG SET maxmemory abc",
            "CONFIG SET maxmemory 1.5gb",
            "CONFIG SET maxmemory -1",
            "CONFIG SET appendonly maybe",
            "CONFIG SET appendfsync x",
            "CONFIG SET maxmemory-policy x",
            "CONFIG SET save 100",
            "CONFIG SET save abc",
            "CONFIG SET proto-max-bulk-len 100",
            "CONFIG SET client-output-buffer-limit foo",
            "CONFIG SET tcp-keepalive x",
            "CONFIG SET Timeout 7 hz 1000 maxmemory 10K",
            "@pairs CONFIG GET timeout hz maxmemory",
            "CONFIG SET hz 0",
            "CONFIG GET hz",
            "CONFIG SET maxmemory-policy ALLKEYS-LFU appendfsync ALWAYS",
            "@pairs CONFIG GET maxmemory-policy appendfsync",
            "CONFIG SET hash-max-listpack-entries 1 hash-max-ziplist-entries 2",
            "CONFIG GET hash-max-listpack-entries",
            "CONFIG SET proto-max-bulk-len 1mb",
            "CONFIG GET proto-max-bulk-len",
            "CONFIG SET timeout 0 hz 10 maxmemory 0 maxmemory-policy noeviction appendfsync everysec hash-max-listpack-entries 512 proto-max-bulk-len 512mb",
            "CONFIG RESETSTAT",
            "CONFIG RESETSTAT x",
            "CONFIG REWRITE",
            "CONFIG HELP",
            "CONFIG FOO",
            "CONFIG",
        ],
    );
}

#[test]
fn info_sections() {
    both_protocols(
        false,
        &[
            "SET a 1",
            "SET b 2",
            "GET a",
            "GET nope",
            "SELECT 2",
            "SET c 3",
            "SELECT 0",
            "GET",
            "NOSUCH",
            "INCR b",
            "2:SUBSCRIBE ch",
            "2:PSUBSCRIBE p*",
            "@info INFO",
            "@info INFO default",
            "@info INFO all",
            "@info INFO everything",
            "@info INFO server clients",
            "@info INFO CommandStats keyspace",
            "@info INFO errorstats",
            "@info INFO stats",
            "INFO foo",
            "INFO keyspace",
            "INFO modules",
            "INFO cluster",
            "INFO keyspace foo",
        ],
    );
}

#[test]
fn server_commands() {
    both_protocols(
        false,
        &[
            "@shape TIME",
            "TIME x",
            "@shape LASTSAVE",
            "LASTSAVE x",
            "DBSIZE",
            "SET k v",
            "SET n 12",
            "SELECT 1",
            "SET other x",
            "SELECT 0",
            "SWAPDB 0 1",
            "DBSIZE",
            "GET other",
            "SELECT 1",
            "GET k",
            "SELECT 0",
            "SWAPDB 0 0",
            "SWAPDB 0 16",
            "SWAPDB -1 0",
            "SWAPDB x 1",
            "SWAPDB 0 x",
            "SWAPDB 0",
            "SWAPDB 1 0",
            "GET k",
            "FUNCTION LIST",
            "FUNCTION LIST WITHCODE",
            "FUNCTION LIST LIBRARYNAME x",
            "FUNCTION LIST LIBRARYNAME",
            "FUNCTION LIST x",
            "FUNCTION FLUSH",
            "FUNCTION FLUSH ASYNC",
            "FUNCTION FLUSH x",
            "FUNCTION STATS",
            "FUNCTION STATS x",
            "FUNCTION HELP",
            "FUNCTION FOO",
            "FUNCTION",
            "DEBUG SLEEP 0",
        ],
    );
}

#[test]
fn swapdb_and_watch() {
    both_protocols(
        false,
        &[
            // A watched key that exists on the other side only: the swap changes it.
            "SELECT 1",
            "SET w 1",
            "SELECT 0",
            "2:WATCH w",
            "SWAPDB 0 1",
            "2:MULTI",
            "2:PING",
            "2:EXEC",
            // A watched key on neither side: nothing changed.
            "2:WATCH nowhere",
            "SWAPDB 0 1",
            "2:MULTI",
            "2:PING",
            "2:EXEC",
            // Watched in db 1 while swapping 0 and 1.
            "2:SELECT 1",
            "2:WATCH w",
            "SWAPDB 1 0",
            "2:MULTI",
            "2:EXEC",
        ],
    );
}

#[test]
fn object_command() {
    both_protocols(
        false,
        &[
            "SET i 123",
            "SET neg -5",
            "SET e hello",
            "SET r 123456789012345678901234567890123456789012345",
            "SET r44 12345678901234567890123456789012345678901234",
            "SET big 9223372036854775808",
            "SET z 0123",
            "SET shared 9999",
            "SET notshared 10000",
            "OBJECT ENCODING i",
            "OBJECT ENCODING neg",
            "OBJECT ENCODING e",
            "OBJECT ENCODING r",
            "OBJECT ENCODING r44",
            "OBJECT ENCODING big",
            "OBJECT ENCODING z",
            "OBJECT ENCODING nope",
            "OBJECT REFCOUNT shared",
            "OBJECT REFCOUNT notshared",
            "OBJECT REFCOUNT e",
            "OBJECT REFCOUNT nope",
            "OBJECT IDLETIME e",
            "OBJECT IDLETIME nope",
            "OBJECT FREQ e",
            "OBJECT FREQ nope",
            "INCR neg",
            "OBJECT ENCODING neg",
            "INCRBYFLOAT f 1.5",
            "OBJECT ENCODING f",
            "OBJECT HELP",
            "OBJECT FOO",
            "OBJECT",
            "OBJECT ENCODING",
            "OBJECT ENCODING a b",
            "CONFIG SET maxmemory-policy allkeys-lfu",
            "OBJECT IDLETIME e",
            "CONFIG SET maxmemory-policy noeviction",
        ],
    );
}

#[test]
fn debug_refused_unless_enabled() {
    both_protocols(
        false,
        &["DEBUG SLEEP 0", "DEBUG OBJECT k", "DEBUG FOO", "DEBUG"],
    );
}

#[test]
fn debug_subcommands() {
    both_protocols(
        true,
        &[
            "SET i 123",
            "SET e hello",
            "SET r 123456789012345678901234567890123456789012345",
            "DEBUG OBJECT i",
            "DEBUG OBJECT e",
            // Not `r`: our LZF output is shorter than liblzf's, so serializedlength differs.
            "DEBUG OBJECT nope",
            "DEBUG OBJECT",
            "DEBUG SLEEP 0",
            "DEBUG SLEEP x",
            "DEBUG SLEEP",
            "DEBUG SET-ACTIVE-EXPIRE 0",
            "DEBUG SET-ACTIVE-EXPIRE 1",
            "DEBUG SET-ACTIVE-EXPIRE",
            "DEBUG JMAP",
            "DEBUG FOO",
            "DEBUG RELOAD",
            "GET e",
            "OBJECT ENCODING i",
            "DBSIZE",
            "DEBUG CHANGE-REPL-ID",
            "DEBUG LOG hello",
        ],
    );
}

#[test]
fn command_metadata() {
    both_protocols(
        false,
        &[
            "COMMAND INFO get",
            "COMMAND INFO GET set mset ping",
            "COMMAND INFO nope get",
            "COMMAND INFO client|nope",
            "COMMAND INFO config|get client|list",
            "COMMAND INFO time lastsave swapdb info auth reset hello",
            "COMMAND INFO expire lcs getex publish subscribe",
            // One command, or subcommands named `container|sub`: byte for byte, nested,
            // optional and repeated arguments and history included.
            "COMMAND DOCS get",
            "COMMAND DOCS set",
            "COMMAND DOCS zadd",
            "COMMAND DOCS client|kill",
            "COMMAND DOCS zrange zunionstore lpos",
            "COMMAND DOCS SET nope client|list",
            "COMMAND DOCS brpoplpush getex scan",
            "COMMAND DOCS nope",
            "COMMAND DOCS client|nope",
            // Containers and everything: by content (Redis's order is a random hash order).
            "@docs COMMAND DOCS set del client",
            "@docs COMMAND DOCS config",
            "@docs COMMAND DOCS client command object function",
            "@docs COMMAND DOCS",
            "COMMAND GETKEYS get k",
            "COMMAND GETKEYS set k v",
            "COMMAND GETKEYS mset a 1 b 2",
            "COMMAND GETKEYS del a b c",
            "COMMAND GETKEYS rename a b",
            "COMMAND GETKEYS lcs a b",
            "COMMAND GETKEYS ping",
            "COMMAND GETKEYS ping a",
            "COMMAND GETKEYS nope a",
            "COMMAND GETKEYS get a b",
            "COMMAND GETKEYS",
            "COMMAND GETKEYSANDFLAGS set k v",
            "COMMAND GETKEYSANDFLAGS set k v GET",
            "COMMAND GETKEYSANDFLAGS copy a b",
            "@sorted COMMAND LIST FILTERBY PATTERN ech*",
            "@sorted COMMAND LIST FILTERBY PATTERN flush*",
            "COMMAND LIST FILTERBY MODULE x",
            "COMMAND LIST FILTERBY FOO x",
            "COMMAND LIST FOO",
            "COMMAND LIST FILTERBY ACLCAT",
            "COMMAND FOO",
            "COMMAND HELP",
        ],
    );
}

#[test]
fn client_list_info_kill() {
    both_protocols(
        false,
        &[
            "CLIENT SETNAME first",
            "2:CLIENT SETNAME second",
            "CLIENT INFO",
            "CLIENT LIST ID @id1 @id2",
            "CLIENT LIST ID @id2",
            "CLIENT LIST ID 999999",
            "CLIENT LIST ID x",
            "CLIENT LIST ID",
            "CLIENT LIST TYPE foo",
            "CLIENT LIST TYPE",
            "CLIENT LIST FOO",
            "CLIENT LIST TYPE master",
            "CLIENT LIST TYPE replica",
            "2:SUBSCRIBE a",
            "2:PSUBSCRIBE p*",
            "CLIENT LIST TYPE pubsub",
            "MULTI",
            "SET k v",
            "CLIENT LIST ID @id1",
            "DISCARD",
            "SELECT 4",
            "CLIENT INFO",
            "CLIENT KILL 1.2.3.4:5",
            "CLIENT KILL ID 999999",
            "CLIENT KILL ID x",
            "CLIENT KILL ID",
            "CLIENT KILL ADDR 1.2.3.4:5",
            "CLIENT KILL LADDR 1.2.3.4:5",
            "CLIENT KILL USER nobody",
            "CLIENT KILL USER default SKIPME maybe",
            "CLIENT KILL TYPE foo",
            "CLIENT KILL FOO bar",
            "CLIENT KILL ID 1 TYPE",
            "CLIENT KILL",
            "CLIENT KILL ID @id1",
            "CLIENT KILL ID @id1 SKIPME no TYPE pubsub",
            "CLIENT KILL TYPE pubsub",
            "2:@closed",
            "CLIENT LIST ID @id2",
            "CLIENT KILL ID @id1 SKIPME no",
            "@closed",
        ],
    );
}

/// COMMAND DOCS of every command and subcommand redish serves, one at a time, is Redis's
/// byte for byte, in both protocols: the argument tree redis-cli builds its hints from
/// included. Containers are left to `command_metadata` (their subcommand maps are in hash
/// order); their subcommands are checked here, each alone.
#[test]
fn command_docs_of_every_served_command_is_redis_byte_for_byte() {
    let Some(mut world) = World::start(false) else {
        return;
    };
    world.reset();
    let mut c = world.client();
    let list = world.ours(&mut c, &split("COMMAND LIST")).unwrap();
    let Value::Array(names) = parse(&list) else {
        panic!("COMMAND LIST: {}", show(&list));
    };
    let names: Vec<String> = names
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let containers: Vec<&str> = names
        .iter()
        .filter_map(|n| n.split_once('|').map(|(c, _)| c))
        .collect();
    let single: Vec<&String> = names
        .iter()
        .filter(|n| !containers.contains(&n.as_str()))
        .collect();
    assert!(single.len() > 150, "{} names", single.len());
    for resp3 in [false, true] {
        if resp3 {
            let hello = split("HELLO 3");
            c.conn.call(&hello);
            world.ours(&mut c, &hello);
        }
        for name in &single {
            let args = split(&format!("COMMAND DOCS {name}"));
            let theirs = c.conn.call(&args);
            let ours = world.ours(&mut c, &args).unwrap();
            assert!(
                theirs == ours,
                "RESP{} COMMAND DOCS {name}\n  redis:  {}\n  redish: {}",
                if resp3 { 3 } else { 2 },
                show(&theirs),
                show(&ours)
            );
        }
    }
}

#[test]
fn pubsub_introspection() {
    both_protocols(
        false,
        &[
            "PUBSUB NUMPAT",
            "PUBSUB CHANNELS",
            "PUBSUB NUMSUB",
            "PUBSUB NUMSUB news",
            "2:SUBSCRIBE news",
            "2:SUBSCRIBE sport",
            "2:SUBSCRIBE news",
            "2:PSUBSCRIBE n*",
            "2:PSUBSCRIBE s?ort",
            "@sorted PUBSUB CHANNELS",
            "@sorted PUBSUB CHANNELS *",
            "PUBSUB CHANNELS n*",
            "PUBSUB CHANNELS N*",
            "PUBSUB CHANNELS [sx]port",
            "PUBSUB CHANNELS nope*",
            "PUBSUB NUMSUB news sport nope news",
            "PUBSUB NUMPAT",
            // In RESP2 a subscriber may not ask; in RESP3 it may, and counts too.
            "PSUBSCRIBE n*",
            "PUBSUB NUMPAT",
            "SUBSCRIBE news",
            "PUBSUB NUMSUB news",
            "UNSUBSCRIBE news",
            "PUNSUBSCRIBE n*",
            "PUBSUB NUMPAT",
            "PUBSUB NUMSUB news",
            "2:UNSUBSCRIBE news",
            "PUBSUB CHANNELS",
            "PUBSUB NUMSUB news sport",
            "2:PUNSUBSCRIBE n*",
            "PUBSUB NUMPAT",
            "2:UNSUBSCRIBE sport",
            "2:PUNSUBSCRIBE s?ort",
            "PUBSUB NUMPAT",
            "PUBSUB CHANNELS",
            // No cluster mode: no shard channel has a subscriber.
            "PUBSUB SHARDCHANNELS",
            "PUBSUB SHARDCHANNELS n*",
            "PUBSUB SHARDNUMSUB news sport",
            "PUBSUB SHARDNUMSUB",
            "PUBSUB CHANNELS a b",
            "pubsub channels a b",
            "PUBSUB SHARDCHANNELS a b",
            "PUBSUB NUMPAT x",
            "PUBSUB FOO",
            "PUBSUB",
            "PUBSUB HELP",
            "PUBSUB HELP x",
            "COMMAND INFO pubsub|numsub pubsub|channels pubsub|numpat",
            "@docs COMMAND DOCS pubsub",
        ],
    );
}

/// CLIENT PAUSE as far as one request at a time can see it: its errors, what a WRITE pause
/// lets through, and keys past their time that read as gone but stay until it is over.
/// (What a pause holds back, and for how long, is in `session_pause.rs` on a fake clock.)
#[test]
fn client_pause_and_unpause() {
    both_protocols(
        false,
        &[
            "CLIENT PAUSE abc",
            "CLIENT PAUSE -1",
            "CLIENT PAUSE 10 FOO",
            "CLIENT PAUSE abc FOO",
            "CLIENT PAUSE 1.5",
            "CLIENT PAUSE 10 WRITE x",
            "client pause 10 write x",
            "CLIENT PAUSE",
            "CLIENT UNPAUSE x",
            "CLIENT PAUSE 0",
            "CLIENT PAUSE 9223372036854775807",
            "PING",
            "SET a 1 PX 50",
            "SET b 2 PX 50",
            "SET c 3",
            "CLIENT PAUSE 100000 WRITE",
            "@sleep 80",
            // Not held: reads, and errors found before a command runs.
            "GET a",
            "EXISTS a b c",
            "SCAN 0 COUNT 100",
            "DBSIZE",
            "RANDOMKEY",
            "TTL a",
            "SET x",
            "NOSUCH",
            "CONFIG GET",
            "2:PUBSUB NUMSUB ch",
            "2:CLIENT UNPAUSE",
            // CLIENT UNBLOCK checks the count, the reason, then the id; a client that is
            // not blocked (paused or not) is not unblocked.
            "CLIENT UNBLOCK",
            "CLIENT UNBLOCK 1 foo",
            "CLIENT UNBLOCK x foo",
            "CLIENT UNBLOCK x",
            "CLIENT UNBLOCK 1 timeout extra",
            "CLIENT UNBLOCK 99999",
            "CLIENT UNBLOCK -1 ERROR",
            "CLIENT UNBLOCK @id2 ERROR",
            "GET a",
            "DBSIZE",
            "SET c 4",
            "GET c",
        ],
    );
}
