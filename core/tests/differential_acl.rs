//! Differential tests of ACL users and permissions: the same lines go to redish sessions and
//! to a real `redis-server` 7.0 (the scenario harness, `scenario/mod.rs`), in RESP2 and
//! RESP3, and the replies must match byte for byte.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_acl`.
//!
//! Redis describes a user's single-command rules in its dict's (random) order, so a scenario
//! that shows a user's rules (GETUSER, LIST) gives it at most one single command past its
//! categories. `ACL CAT <category>` is compared sorted for the same reason. ACL LOG entries
//! are compared with the `client-info` fields that depend on the socket or the clock
//! (`addr`, `laddr`, `fd`, `age`, `idle`, buffer sizes, `events`, `flags`) and
//! `age-seconds` left out.

// The harness reads the clock and sleeps, which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;
mod scenario;

use common::{parse, Value};
use scenario::*;

/// Puts redis-server's ACL back to its start: only `default`, allowed everything, and an
/// empty log. (redish's store is new for every scenario.)
fn reset_acl(world: &mut World) {
    let users = parse(&world.admin.call(&split("ACL USERS")));
    if let Value::Array(users) = users {
        for u in users {
            let name = u.as_str().unwrap().to_string();
            if name != "default" {
                world
                    .admin
                    .call(&[b"ACL".to_vec(), b"DELUSER".to_vec(), name.into_bytes()]);
            }
        }
    }
    for line in [
        "ACL SETUSER default on nopass allkeys allchannels allcommands clearselectors",
        "CONFIG SET requirepass \"\"",
        "CONFIG SET acl-pubsub-default resetchannels",
        "ACL LOG RESET",
    ] {
        world.admin.call(&split(line));
    }
}

fn run(lines: &[&str]) {
    let Some(mut world) = World::start() else {
        return;
    };
    for resp3 in [false, true] {
        reset_acl(&mut world);
        scenario(&mut world, resp3, lines);
    }
}

#[test]
fn setuser_getuser_and_rule_errors() {
    run(&[
        "ACL SETUSER u on >p1 ~a* %R~r* %W~w* %RW~b* &ch +get",
        "ACL GETUSER u",
        "ACL LIST",
        "ACL USERS",
        "ACL SETUSER u >p2 >p1 #2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "ACL GETUSER u",
        "ACL SETUSER u <p2 !2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "ACL GETUSER u",
        "ACL SETUSER u +nosuch",
        "ACL SETUSER u -nosuch",
        "ACL SETUSER u +@nosuch",
        "ACL SETUSER u +acl|nosuch",
        "ACL SETUSER u +config|get|x",
        "ACL SETUSER u +select|",
        "ACL SETUSER u bogus",
        "ACL SETUSER u %X~a",
        "ACL SETUSER u allkeys ~x",
        "ACL SETUSER u allchannels &x",
        "ACL SETUSER u <nope",
        "ACL SETUSER u #abc",
        "ACL SETUSER u !ABC",
        "ACL SETUSER u on off (~x",
        "ACL SETUSER u (~x +get) (+nosuch)",
        "ACL SETUSER u ('')",
        "ACL SETUSER u (~x'')",
        "ACL SETUSER t reset %~x",
        "ACL SETUSER t reset %",
        "ACL SETUSER t reset %R",
        "ACL GETUSER t",
        "ACL SETUSER t reset ~a %RW~*",
        "ACL GETUSER t",
        "ACL SETUSER t reset ~a %W~* ~b",
        "ACL GETUSER t",
        "ACL SETUSER t reset (%RW~* ~c)",
        "ACL GETUSER t",
        "ACL DELUSER t",
        // A failing SETUSER changes nothing.
        "ACL GETUSER u",
        "ACL SETUSER v",
        "ACL GETUSER v",
        "ACL SETUSER v reset",
        "ACL GETUSER v",
        "ACL SETUSER v skip-sanitize-payload",
        "ACL GETUSER v",
        "ACL SETUSER w on nopass +@all -@dangerous ~* allchannels",
        "ACL GETUSER w",
        "ACL SETUSER w nocommands +@read -get",
        "ACL GETUSER w",
        "ACL SETUSER w allcommands -config|set",
        "ACL GETUSER w",
        "ACL SETUSER w -@all +select|0 +select|1",
        "ACL GETUSER w",
        "ACL SETUSER w -@all +config|get",
        "ACL GETUSER w",
        "ACL SETUSER x on nopass (~x +get) (%R~y +set)",
        "ACL GETUSER x",
        "ACL SETUSER x (~z resetchannels &c +@hash -hget)",
        "ACL LIST",
        "ACL SETUSER x clearselectors",
        "ACL GETUSER x",
        "ACL USERS",
        "ACL DELUSER default",
        "ACL DELUSER v nosuch",
        "ACL GETUSER v",
        "ACL GETUSER nosuch",
        "ACL DELUSER u w x",
        "ACL LIST",
    ]);
}

#[test]
fn other_subcommands() {
    run(&[
        "ACL CAT",
        "@sorted ACL CAT read",
        "@sorted ACL CAT DANGEROUS",
        "ACL CAT nosuch",
        "ACL CAT a b",
        "@len ACL GENPASS",
        "@len ACL GENPASS 0",
        "ACL GENPASS 5000",
        "ACL GENPASS -1",
        "ACL GENPASS abc",
        "ACL WHOAMI",
        "ACL WHOAMI x",
        "ACL HELP",
        "ACL FOO",
        "ACL",
        "ACL LOG x",
        "ACL LOG 0",
        "ACL LOAD",
        "ACL SAVE",
        "ACL SETUSER u on nopass ~a* %R~r* &ch +get +publish",
        "ACL DRYRUN u get a1",
        "ACL DRYRUN u get r1",
        "ACL DRYRUN u set r1 v",
        "ACL DRYRUN u del a",
        "ACL DRYRUN u publish x m",
        "ACL DRYRUN u publish ch m",
        "ACL DRYRUN nosuch get a",
        "ACL DRYRUN u nosuchcmd a",
        "ACL DRYRUN u",
        "ACL GETUSER",
        "ACL SETUSER",
        "ACL DELUSER",
        "COMMAND INFO acl|setuser acl|getuser acl|log acl|cat",
        "CONFIG GET acl-pubsub-default",
        "CONFIG SET acl-pubsub-default allchannels",
        "CONFIG GET acl-pubsub-default",
        "ACL SETUSER p",
        "ACL GETUSER p",
        "ACL SETUSER p reset (~x)",
        "ACL GETUSER p",
        "CONFIG SET acl-pubsub-default bogus",
        "CONFIG SET acl-pubsub-default resetchannels",
        "ACL SETUSER q",
        // Redis lists a user's single-command rules in its dict's order, which varies
        // from run to run: one such rule each here.
        "ACL SETUSER u -publish",
        "ACL LIST",
        "CONFIG GET acllog-max-len",
        "CONFIG SET acllog-max-len -1",
    ]);
}

#[test]
fn enforcement() {
    run(&[
        "ACL SETUSER u on >p1 ~a* %R~r* %W~w* &ch +get +set +multi +exec +publish +subscribe +psubscribe +acl|whoami +ping",
        "2:AUTH u wrong",
        "2:ACL WHOAMI",
        "2:AUTH nosuch p1",
        "2:AUTH u p1",
        "2:ACL WHOAMI",
        "2:GET a1",
        "2:GET r1",
        "2:GET b",
        "2:SET a1 v",
        "2:SET r1 v",
        "2:SET w1 v",
        "2:GET w1",
        "2:DEL a1",
        "2:ACL USERS",
        "2:CONFIG GET maxmemory",
        "2:PUBLISH x m",
        "2:PUBLISH ch m",
        // Refused while queuing: the transaction is doomed.
        "2:MULTI",
        "2:GET a1",
        "2:DEL a1",
        "2:GET b",
        "2:EXEC",
        // Rules that change between queuing and EXEC are checked again at EXEC.
        "2:MULTI",
        "2:GET a1",
        "2:SET a1 x",
        "2:PUBLISH ch m",
        "ACL SETUSER u -get resetchannels %R~a*",
        "2:EXEC",
        "ACL SETUSER u +get &ch",
        // Channels: PSUBSCRIBE needs the pattern itself.
        "2:PSUBSCRIBE c*",
        "ACL SETUSER u &c*",
        "2:PSUBSCRIBE c*",
        "2:SUBSCRIBE ch",
        "2:SUBSCRIBE nope",
        // A disabled user keeps its connections but cannot log in again.
        "ACL SETUSER u off",
        "2:PING",
        "3:AUTH u p1",
        "3:HELLO 2 AUTH u p1",
        "ACL SETUSER u on",
        "3:HELLO 2 AUTH u wrong",
        "3:ACL WHOAMI",
        "3:HELLO 2 AUTH u p1",
        "3:ACL WHOAMI",
        "3:GET b",
        "AUTH nopass",
        "AUTH default whatever",
        "CLIENT KILL USER nosuch",
        "CLIENT KILL USER u SKIPME yes",
        "CLIENT KILL USER u",
    ]);
}

#[test]
fn requirepass_is_the_default_users_password() {
    run(&[
        // (A session settles its authentication at its first request.)
        "2:PING",
        "3:PING",
        "CONFIG SET requirepass pw",
        "ACL GETUSER default",
        "ACL LIST",
        // Connections made before keep their authentication.
        "2:GET a",
        "2:AUTH wrong",
        "2:AUTH pw",
        "2:AUTH default pw",
        "ACL SETUSER default >other",
        "ACL GETUSER default",
        "3:AUTH other",
        "CONFIG SET requirepass pw2",
        "ACL GETUSER default",
        "3:AUTH other",
        "3:AUTH pw2",
        "CONFIG SET requirepass \"\"",
        "ACL GETUSER default",
        "AUTH x",
    ]);
}

/// A reply's ACL LOG entries with what depends on the process left out.
fn log_entries(reply: &[u8]) -> Vec<Vec<(String, String)>> {
    let Value::Array(entries) = parse(reply) else {
        panic!("ACL LOG replied {reply:?}");
    };
    entries
        .into_iter()
        .map(|e| {
            let pairs: Vec<(Value, Value)> = match e {
                Value::Map(p) => p,
                Value::Array(items) => items
                    .chunks(2)
                    .map(|c| (c[0].clone(), c[1].clone()))
                    .collect(),
                v => panic!("entry {v:?}"),
            };
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let k = k.as_str().unwrap().to_string();
                    let v = match (&*k, v) {
                        ("age-seconds", _) => "<age>".to_string(),
                        ("client-info", v) => client_info(v.as_str().unwrap()),
                        (_, Value::Int(n)) => n.to_string(),
                        (_, v) => v.as_str().unwrap().to_string(),
                    };
                    (k, v)
                })
                .collect()
        })
        .collect()
}

fn client_info(line: &str) -> String {
    const KEEP: &[&str] = &["name", "db", "sub", "psub", "multi", "cmd", "user", "resp"];
    line.split(' ')
        .filter(|f| f.split_once('=').is_some_and(|(k, _)| KEEP.contains(&k)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn acl_log_entries() {
    let Some(mut world) = World::start() else {
        return;
    };
    for resp3 in [false, true] {
        reset_acl(&mut world);
        scenario(
            &mut world,
            resp3,
            &[
                "ACL SETUSER u on >p ~a* &ch +get +multi +publish",
                "2:AUTH u wrong",
                "2:AUTH u wrong",
                "2:AUTH v wrong",
                "2:AUTH u p",
                "2:GET b",
                "2:DEL a",
                "2:PUBLISH x m",
                "2:MULTI",
                "2:GET d",
                "CONFIG SET acllog-max-len 3",
                "CONFIG GET acllog-max-len",
                // The shorter log applies at the next entry.
                "3:AUTH z wrong",
            ],
        );
        let (theirs, ours) = world.both(0, &split("ACL LOG 2"));
        assert_eq!(log_entries(&ours), log_entries(&theirs), "RESP3 {resp3}");
        let args = split("ACL LOG");
        let (theirs, ours) = world.both(0, &args);
        assert_eq!(log_entries(&ours), log_entries(&theirs), "RESP3 {resp3}");
        assert_eq!(log_entries(&ours).len(), 3);
        let (theirs, ours) = world.both(0, &split("ACL LOG RESET"));
        assert_eq!(theirs, ours);
        let (theirs, ours) = world.both(0, &split("ACL LOG"));
        assert_eq!(theirs, ours);
        world.both(0, &split("CONFIG SET acllog-max-len 128"));
    }
}

/// Deleting a user closes its connections, as Redis's `ACLFreeUserAndKillClients`; taking
/// channels away closes its subscribers that no longer may listen.
#[test]
fn deleting_or_narrowing_a_user_closes_its_clients() {
    let Some(mut world) = World::start() else {
        return;
    };
    reset_acl(&mut world);
    scenario(
        &mut world,
        false,
        &[
            "ACL SETUSER u on >p ~* &* +@all",
            "2:AUTH u p",
            "3:AUTH u p",
            "3:SUBSCRIBE ch",
            "ACL SETUSER u resetchannels &other",
        ],
    );
    // Client 3 (subscribed to a channel it may no longer hear) is gone on both sides.
    assert!(world.clients[2].conn.call_checked(&split("PING")).is_none());
    let ours = world.ours(2, &split("PING"));
    assert!(
        ours.is_empty() && world.clients[2].session.is_closing(),
        "redish kept the subscriber: {ours:?}"
    );
    // Client 2 (not subscribed) stays, until its user is deleted.
    let (theirs, ours) = world.both(1, &split("PING"));
    assert_eq!(theirs, ours);
    let (theirs, ours) = world.both(0, &split("ACL DELUSER u"));
    assert_eq!(theirs, ours);
    assert!(world.clients[1].conn.call_checked(&split("PING")).is_none());
    let ours = world.ours(1, &split("PING"));
    assert!(
        ours.is_empty() && world.clients[1].session.is_closing(),
        "redish kept the deleted user's client: {ours:?}"
    );
}
