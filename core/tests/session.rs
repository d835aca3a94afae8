//! Connection scenarios without sockets: sessions wired to one store on a fake clock.
//!
//! Each case sends requests and compares the exact reply bytes a Redis 7 server sends.

use redish_core::{CloseReason, Event, Session, SessionConfig, Store};

const T0: u64 = 1_700_000_000_000;

struct Server {
    store: Store,
    now: u64,
}

impl Server {
    fn new() -> Server {
        Server {
            store: Store::default(),
            now: T0,
        }
    }

    fn connect(&mut self) -> Session {
        self.connect_with(SessionConfig::default())
    }

    fn connect_with(&mut self, config: SessionConfig) -> Session {
        Session::new(self.store.next_client_id(), config)
    }

    /// Feeds `input`, processes, routes deliveries to `others`, returns what `s` wrote.
    fn send(&mut self, s: &mut Session, input: &str, others: &mut [&mut Session]) -> String {
        s.handle_bytes(input.as_bytes());
        s.process(&mut self.store, self.now);
        while let Some(d) = self.store.poll_delivery() {
            if d.to == s.id() {
                s.handle_message(&d.message, self.now);
            } else if let Some(o) = others.iter_mut().find(|o| o.id() == d.to) {
                o.handle_message(&d.message, self.now);
            }
        }
        take(s)
    }
}

fn take(s: &mut Session) -> String {
    let out = String::from_utf8_lossy(s.poll_transmit()).into_owned();
    let n = s.poll_transmit().len();
    s.consume_transmit(n);
    out
}

/// Runs `(request, expected reply)` steps on one fresh connection; requests are inline
/// commands, as a telnet user would type them.
fn table(steps: &[(&str, &str)]) {
    let mut srv = Server::new();
    let mut c = srv.connect();
    for (i, (req, want)) in steps.iter().enumerate() {
        if let Some(ms) = req.strip_prefix("@advance ") {
            srv.now += ms.parse::<u64>().unwrap();
            continue;
        }
        let got = srv.send(&mut c, &format!("{req}\r\n"), &mut []);
        assert_eq!(got, *want, "step {i}: {req}");
    }
}

#[test]
fn strings_and_keys_resp2() {
    table(&[
        ("PING", "+PONG\r\n"),
        ("PING hello", "$5\r\nhello\r\n"),
        ("ECHO \"a b\"", "$3\r\na b\r\n"),
        ("GET k", "$-1\r\n"),
        ("SET k v", "+OK\r\n"),
        ("GET k", "$1\r\nv\r\n"),
        ("set k v2 nx", "$-1\r\n"),
        ("SET k v3 XX GET", "$1\r\nv\r\n"),
        ("SET missing v XX", "$-1\r\n"),
        ("SET missing v NX GET", "$-1\r\n"),
        ("GET missing", "$1\r\nv\r\n"),
        ("EXISTS k k missing nope", ":3\r\n"),
        ("DEL k missing nope", ":2\r\n"),
        ("DEL k", ":0\r\n"),
        ("TTL k", ":-2\r\n"),
        ("SET k v", "+OK\r\n"),
        ("TTL k", ":-1\r\n"),
        ("SET k v EX 10", "+OK\r\n"),
        ("TTL k", ":10\r\n"),
        ("@advance 1400", ""),
        ("TTL k", ":9\r\n"),
        ("PTTL k", ":8600\r\n"),
        ("SET k v2 KEEPTTL", "+OK\r\n"),
        ("PTTL k", ":8600\r\n"),
        ("SET k v3", "+OK\r\n"),
        ("PTTL k", ":-1\r\n"),
        ("PEXPIRE k 500", ":1\r\n"),
        ("@advance 499", ""),
        ("GET k", "$2\r\nv3\r\n"),
        ("@advance 1", ""),
        ("GET k", "$-1\r\n"),
        ("EXPIRE k 10", ":0\r\n"),
        ("SET k v PX 100", "+OK\r\n"),
        ("PERSIST k", ":1\r\n"),
        ("PERSIST k", ":0\r\n"),
        ("EXPIRE k 10 XX", ":0\r\n"),
        ("EXPIRE k 10 NX", ":1\r\n"),
        ("EXPIRE k 20 NX", ":0\r\n"),
        ("EXPIRE k 5 GT", ":0\r\n"),
        ("EXPIRE k 30 GT", ":1\r\n"),
        ("EXPIRE k 40 LT", ":0\r\n"),
        ("EXPIRE k 3 LT", ":1\r\n"),
        ("TTL k", ":3\r\n"),
        ("PERSIST k", ":1\r\n"),
        ("EXPIRE k 5 GT", ":0\r\n"),
        ("EXPIRE k 5 LT", ":1\r\n"),
        ("EXPIRE k -1", ":1\r\n"),
        ("EXISTS k", ":0\r\n"),
        ("SET k v EXAT 1", "+OK\r\n"),
        ("GET k", "$-1\r\n"),
        ("SET k v PXAT 1700000009000", "+OK\r\n"),
        ("TTL k", ":7\r\n"),
    ]);
}

#[test]
fn errors_use_redis_texts() {
    table(&[
        (
            "GET",
            "-ERR wrong number of arguments for 'get' command\r\n",
        ),
        (
            "FOO bar baz",
            "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n",
        ),
        (
            "SET k v EX 0",
            "-ERR invalid expire time in 'set' command\r\n",
        ),
        (
            "SET k v EX abc",
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            "SET k v PX 9223372036854775807",
            "-ERR invalid expire time in 'set' command\r\n",
        ),
        (
            "SET k v EX 9223372036854775",
            "-ERR invalid expire time in 'set' command\r\n",
        ),
        ("SET k v NX XX", "-ERR syntax error\r\n"),
        (
            "EXPIRE k 9223372036854775807",
            "-ERR invalid expire time in 'expire' command\r\n",
        ),
        ("SELECT 16", "-ERR DB index is out of range\r\n"),
        (
            "SELECT x",
            "-ERR value is not an integer or out of range\r\n",
        ),
        ("HELLO 4", "-NOPROTO unsupported protocol version\r\n"),
        (
            "HELLO x",
            "-ERR Protocol version is not an integer or out of range\r\n",
        ),
        ("HELLO 3 FOO", "-ERR Syntax error in HELLO option 'FOO'\r\n"),
        (
            "CONFIG NOPE",
            "-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n",
        ),
        // The connection carries on after command errors.
        ("PING", "+PONG\r\n"),
    ]);
}

#[test]
fn databases_are_separate() {
    table(&[
        ("SET k zero", "+OK\r\n"),
        ("SELECT 1", "+OK\r\n"),
        ("GET k", "$-1\r\n"),
        ("SET k one", "+OK\r\n"),
        ("DBSIZE", ":1\r\n"),
        ("SELECT 0", "+OK\r\n"),
        ("GET k", "$4\r\nzero\r\n"),
        ("FLUSHDB", "+OK\r\n"),
        ("DBSIZE", ":0\r\n"),
        ("SELECT 1", "+OK\r\n"),
        ("DBSIZE", ":1\r\n"),
        ("FLUSHALL", "+OK\r\n"),
        ("DBSIZE", ":0\r\n"),
    ]);
}

#[test]
fn resp3_after_hello() {
    let mut srv = Server::new();
    let mut c = srv.connect();
    let hello = srv.send(&mut c, "HELLO 3\r\n", &mut []);
    let want = format!(
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n{}\r\n$5\r\nproto\r\n:3\r\n\
         $2\r\nid\r\n:{}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
         $7\r\nmodules\r\n*0\r\n",
        redish_core::REDIS_VERSION,
        c.id()
    );
    assert_eq!(hello, want);
    assert_eq!(srv.send(&mut c, "GET nope\r\n", &mut []), "_\r\n");
    srv.store.set_setting("save", "");
    assert_eq!(
        srv.send(&mut c, "CONFIG GET SAV*\r\n", &mut []),
        "%1\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
    let hello2 = srv.send(&mut c, "HELLO 2\r\n", &mut []);
    assert!(hello2.starts_with("*14\r\n$6\r\nserver\r\n"), "{hello2}");
    assert_eq!(srv.send(&mut c, "GET nope\r\n", &mut []), "$-1\r\n");
    assert_eq!(
        srv.send(&mut c, "CONFIG GET save\r\n", &mut []),
        "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
}

#[test]
fn pipelined_requests_reply_in_order_across_any_split() {
    let input = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
    let want = "+OK\r\n$1\r\n1\r\n+PONG\r\n+PONG\r\n";
    for split in 0..input.len() {
        let mut srv = Server::new();
        let mut c = srv.connect();
        let mut got = srv.send(&mut c, &input[..split], &mut []);
        got += &srv.send(&mut c, &input[split..], &mut []);
        assert_eq!(got, want, "split at {split}");
    }
}

#[test]
fn protocol_error_replies_then_closes_after_earlier_commands() {
    let mut srv = Server::new();
    let mut c = srv.connect();
    let got = srv.send(&mut c, "SET a 1\r\n*abc\r\nGET a\r\n", &mut []);
    assert_eq!(
        got,
        "+OK\r\n-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert!(matches!(
        c.poll_event(),
        Some(Event::Close(CloseReason::Protocol(_)))
    ));
    assert!(!c.wants_read());
    // Nothing more runs on a closing session.
    assert_eq!(srv.send(&mut c, "PING\r\n", &mut []), "");

    let mut c = srv.connect();
    let got = srv.send(&mut c, "*1\r\n$99999999999\r\n", &mut []);
    assert_eq!(got, "-ERR Protocol error: invalid bulk length\r\n");
    let mut c = srv.connect();
    let got = srv.send(&mut c, "*2147483647\r\n", &mut []);
    assert_eq!(got, "-ERR Protocol error: invalid multibulk length\r\n");
    let mut c = srv.connect();
    let got = srv.send(&mut c, "*1\r\n:5\r\n", &mut []);
    assert_eq!(got, "-ERR Protocol error: expected '$', got ':'\r\n");
    let mut c = srv.connect();
    let got = srv.send(&mut c, "SET \"a b\r\n", &mut []);
    assert_eq!(got, "-ERR Protocol error: unbalanced quotes in request\r\n");
}

#[test]
fn quit_replies_ok_and_closes() {
    let mut srv = Server::new();
    let mut c = srv.connect();
    assert_eq!(srv.send(&mut c, "QUIT\r\nPING\r\n", &mut []), "+OK\r\n");
    assert_eq!(c.poll_event(), Some(Event::Close(CloseReason::Quit)));
}

#[test]
fn shutdown_is_an_event() {
    let mut srv = Server::new();
    let mut c = srv.connect();
    assert_eq!(srv.send(&mut c, "SHUTDOWN NOSAVE\r\n", &mut []), "");
    assert_eq!(c.poll_event(), Some(Event::Shutdown));
    assert_eq!(
        srv.send(&mut c, "SHUTDOWN SAVE NOSAVE\r\n", &mut []),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn pubsub_resp2() {
    let mut srv = Server::new();
    let mut sub = srv.connect();
    let mut publ = srv.connect();
    assert_eq!(
        srv.send(&mut sub, "SUBSCRIBE news sport\r\n", &mut []),
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n"
    );
    assert_eq!(
        srv.send(&mut sub, "PSUBSCRIBE n*\r\n", &mut []),
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n"
    );
    assert_eq!(
        srv.send(&mut publ, "PUBLISH news hi\r\n", &mut [&mut sub]),
        ":2\r\n"
    );
    assert_eq!(
        take(&mut sub),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n\
         *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        srv.send(&mut publ, "PUBLISH nobody hi\r\n", &mut [&mut sub]),
        ":1\r\n"
    );
    take(&mut sub);
    assert_eq!(
        srv.send(&mut publ, "PUBLISH other hi\r\n", &mut [&mut sub]),
        ":0\r\n"
    );
    // Only a few commands are allowed on a subscribed RESP2 connection.
    assert_eq!(
        srv.send(&mut sub, "GET k\r\n", &mut []),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(
        srv.send(&mut sub, "PING\r\n", &mut []),
        "*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );
    assert_eq!(
        srv.send(&mut sub, "UNSUBSCRIBE sport\r\n", &mut []),
        "*3\r\n$11\r\nunsubscribe\r\n$5\r\nsport\r\n:2\r\n"
    );
    assert_eq!(
        srv.send(&mut sub, "PUNSUBSCRIBE\r\n", &mut []),
        "*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:1\r\n"
    );
    assert_eq!(
        srv.send(&mut sub, "UNSUBSCRIBE\r\n", &mut []),
        "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n"
    );
    assert_eq!(
        srv.send(&mut sub, "UNSUBSCRIBE\r\n", &mut []),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    // Out of subscribed mode, everything is allowed again.
    assert_eq!(srv.send(&mut sub, "PING\r\n", &mut []), "+PONG\r\n");
    assert_eq!(
        srv.send(&mut publ, "PUBLISH news hi\r\n", &mut [&mut sub]),
        ":0\r\n"
    );
}

#[test]
fn pubsub_resp3_uses_push_frames_and_allows_all_commands() {
    let mut srv = Server::new();
    let mut sub = srv.connect();
    let mut publ = srv.connect();
    srv.send(&mut sub, "HELLO 3\r\n", &mut []);
    assert_eq!(
        srv.send(&mut sub, "SUBSCRIBE ch\r\n", &mut []),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(srv.send(&mut sub, "GET k\r\n", &mut []), "_\r\n");
    assert_eq!(srv.send(&mut sub, "PING\r\n", &mut []), "+PONG\r\n");
    assert_eq!(
        srv.send(&mut publ, "PUBLISH ch x\r\n", &mut [&mut sub]),
        ":1\r\n"
    );
    assert_eq!(
        take(&mut sub),
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n"
    );
    // A connection that publishes to itself gets its reply and the message.
    assert_eq!(
        srv.send(&mut sub, "PUBLISH ch y\r\n", &mut []),
        ":1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\ny\r\n"
    );
}

#[test]
fn closing_a_subscriber_unsubscribes_it() {
    let mut srv = Server::new();
    let mut sub = srv.connect();
    let mut publ = srv.connect();
    srv.send(&mut sub, "SUBSCRIBE a\r\nPSUBSCRIBE *\r\n", &mut []);
    assert_eq!(srv.send(&mut publ, "PUBLISH a x\r\n", &mut []), ":2\r\n");
    while srv.store.poll_delivery().is_some() {}
    sub.handle_close(&mut srv.store);
    assert_eq!(srv.send(&mut publ, "PUBLISH a x\r\n", &mut []), ":0\r\n");
    assert_eq!(
        srv.store.pubsub.channel_count() + srv.store.pubsub.pattern_count(),
        0
    );
}

#[test]
fn slow_subscriber_is_disconnected_at_the_output_limit() {
    let mut srv = Server::new();
    let config = SessionConfig {
        pubsub_hard_limit_bytes: 64 * 1024,
        pubsub_soft_limit_bytes: 16 * 1024,
        pubsub_soft_limit_ms: 1000,
        ..SessionConfig::default()
    };
    let payload = "x".repeat(1000);

    // Hard limit: the subscriber never reads.
    let mut sub = srv.connect_with(config);
    let mut publ = srv.connect();
    srv.send(&mut sub, "SUBSCRIBE ch\r\n", &mut []);
    let mut closed_after = None;
    for i in 0..200 {
        srv.send(
            &mut publ,
            &format!("PUBLISH ch {payload}\r\n"),
            &mut [&mut sub],
        );
        if let Some(ev) = sub.poll_event() {
            assert!(
                matches!(ev, Event::Close(CloseReason::OutputLimit { pending_bytes }) if pending_bytes > 64 * 1024)
            );
            closed_after = Some(i);
            break;
        }
    }
    let n = closed_after.expect("the hard limit must close the subscriber");
    assert!((60..70).contains(&n), "closed after {n} messages of ~1 KiB");
    assert!(
        sub.poll_transmit().is_empty(),
        "unwritten output is dropped"
    );

    // Soft limit: above 16 KiB for the whole soft period.
    let mut sub = srv.connect_with(config);
    srv.send(&mut sub, "SUBSCRIBE ch\r\n", &mut []);
    for _ in 0..20 {
        srv.send(
            &mut publ,
            &format!("PUBLISH ch {payload}\r\n"),
            &mut [&mut sub],
        );
    }
    assert_eq!(sub.poll_event(), None);
    srv.now += 999;
    srv.send(
        &mut publ,
        &format!("PUBLISH ch {payload}\r\n"),
        &mut [&mut sub],
    );
    assert_eq!(sub.poll_event(), None);
    srv.now += 1;
    srv.send(
        &mut publ,
        &format!("PUBLISH ch {payload}\r\n"),
        &mut [&mut sub],
    );
    assert!(matches!(
        sub.poll_event(),
        Some(Event::Close(CloseReason::OutputLimit { .. }))
    ));
}

#[test]
fn big_pipelines_pause_at_the_output_bound_and_resume() {
    let mut srv = Server::new();
    let config = SessionConfig {
        max_pending_output_bytes: 10_000,
        ..SessionConfig::default()
    };
    let mut c = srv.connect_with(config);
    let value = "v".repeat(1000);
    srv.send(&mut c, &format!("SET big {value}\r\n"), &mut []);
    c.handle_bytes("GET big\r\n".repeat(100).as_bytes());
    c.process(&mut srv.store, srv.now);
    let pending = c.poll_transmit().len();
    assert!(
        (10_000..12_000).contains(&pending),
        "paused near the bound, at {pending}"
    );
    assert!(!c.wants_read());
    let mut total = 0;
    while !c.poll_transmit().is_empty() {
        total += take(&mut c).matches("$1000\r\n").count();
        c.process(&mut srv.store, srv.now);
    }
    assert_eq!(total, 100, "every reply arrives once the client reads");
    assert!(c.wants_read());
}

#[test]
fn active_expiry_through_the_store() {
    let mut srv = Server::new();
    let mut c = srv.connect();
    srv.send(
        &mut c,
        "SET a 1 PX 100\r\nSET b 1 PX 50\r\nSELECT 3\r\nSET c 1 PX 10\r\nSET d 1\r\n",
        &mut [],
    );
    assert_eq!(srv.store.poll_timeout(), Some(T0 + 10));
    assert_eq!(srv.store.handle_timeout(T0 + 60), 2);
    assert_eq!(srv.store.poll_timeout(), Some(T0 + 100));
    assert_eq!(srv.store.dbs()[0].len(), 1);
    assert_eq!(srv.store.dbs()[3].len(), 1);
}

#[test]
fn multi_exec_queues_and_runs_atomically() {
    table(&[
        ("MULTI", "+OK\r\n"),
        ("SET a 1", "+QUEUED\r\n"),
        ("INCR a", "+QUEUED\r\n"),
        ("SET a 1 NX XX", "+QUEUED\r\n"),
        ("GET a", "+QUEUED\r\n"),
        ("MULTI", "-ERR MULTI calls can not be nested\r\n"),
        ("WATCH a", "-ERR WATCH inside MULTI is not allowed\r\n"),
        (
            "EXEC",
            "*4\r\n+OK\r\n:2\r\n-ERR syntax error\r\n$1\r\n2\r\n",
        ),
        ("EXEC", "-ERR EXEC without MULTI\r\n"),
        ("DISCARD", "-ERR DISCARD without MULTI\r\n"),
        ("MULTI", "+OK\r\n"),
        ("SET a", "-ERR wrong number of arguments for 'set' command\r\n"),
        ("SET a 5", "+QUEUED\r\n"),
        (
            "EXEC",
            "-EXECABORT Transaction discarded because of previous errors.\r\n",
        ),
        ("GET a", "$1\r\n2\r\n"),
        ("MULTI", "+OK\r\n"),
        (
            "SHUTDOWN",
            "-ERR Command not allowed inside a transaction\r\n",
        ),
        (
            "EXEC",
            "-EXECABORT Transaction discarded because of previous errors.\r\n",
        ),
        ("MULTI", "+OK\r\n"),
        ("SET a 9", "+QUEUED\r\n"),
        ("DISCARD", "+OK\r\n"),
        ("GET a", "$1\r\n2\r\n"),
        ("MULTI", "+OK\r\n"),
        (
            "EXEC x",
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
        ),
        ("EXEC", "-ERR EXEC without MULTI\r\n"),
        ("MULTI", "+OK\r\n"),
        ("EXEC", "*0\r\n"),
    ]);
}

/// Two connections on one store: A watches, B writes, A's EXEC must not run.
#[test]
fn watch_aborts_exec_when_another_connection_writes() {
    let mut srv = Server::new();
    let mut a = srv.connect();
    let mut b = srv.connect();
    srv.send(&mut a, "SET k 1\r\n", &mut []);
    assert_eq!(srv.send(&mut a, "WATCH k other\r\n", &mut []), "+OK\r\n");
    assert_eq!(srv.send(&mut b, "GET k\r\n", &mut []), "$1\r\n1\r\n");
    assert_eq!(srv.send(&mut b, "SET unrelated x\r\n", &mut []), "+OK\r\n");
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nINCR k\r\nEXEC\r\n", &mut []),
        "+OK\r\n+QUEUED\r\n*1\r\n:2\r\n",
        "reads and other keys do not abort"
    );
    srv.send(&mut a, "WATCH k\r\n", &mut []);
    assert_eq!(srv.send(&mut b, "INCRBY k 10\r\n", &mut []), ":12\r\n");
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nSET k mine\r\nEXEC\r\n", &mut []),
        "+OK\r\n+QUEUED\r\n*-1\r\n"
    );
    assert_eq!(srv.send(&mut a, "GET k\r\n", &mut []), "$2\r\n12\r\n");
    // The failed EXEC dropped the watch: the next transaction runs.
    srv.send(&mut b, "SET k 13\r\n", &mut []);
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nGET k\r\nEXEC\r\n", &mut []),
        "+OK\r\n+QUEUED\r\n*1\r\n$2\r\n13\r\n"
    );
    // RESP3: the null array is `_`.
    srv.send(&mut a, "HELLO 3\r\nWATCH k\r\n", &mut []);
    srv.send(&mut b, "DEL k\r\n", &mut []);
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nEXEC\r\n", &mut []),
        "+OK\r\n_\r\n"
    );
    // Watching a key in another database; FLUSHALL touches it once it exists.
    srv.send(
        &mut a,
        "SELECT 2\r\nSET w 1\r\nWATCH w\r\nSELECT 0\r\n",
        &mut [],
    );
    srv.send(&mut b, "SET w 1\r\n", &mut []);
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nEXEC\r\n", &mut []),
        "+OK\r\n*0\r\n"
    );
    srv.send(&mut a, "SELECT 2\r\nWATCH w\r\nSELECT 0\r\n", &mut []);
    srv.send(&mut b, "FLUSHALL\r\n", &mut []);
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nEXEC\r\n", &mut []),
        "+OK\r\n_\r\n"
    );
    srv.send(&mut a, "WATCH gone\r\n", &mut []);
    srv.send(&mut b, "FLUSHALL\r\n", &mut []);
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nEXEC\r\n", &mut []),
        "+OK\r\n*0\r\n",
        "flushing a missing key changes nothing"
    );
}

/// Expiry counts as a change of a watched key, whether or not anything collected the key
/// yet; a key already expired when watched does not abort.
#[test]
fn watched_key_expiring_aborts_exec_on_the_fake_clock() {
    let mut srv = Server::new();
    let mut a = srv.connect();
    let mut b = srv.connect();

    // Expired, not collected: EXEC checks the watched keys' times.
    srv.send(&mut a, "SET k v PX 100\r\nWATCH k\r\n", &mut []);
    srv.now += 99;
    srv.send(&mut a, "MULTI\r\n", &mut []);
    assert_eq!(srv.send(&mut a, "EXEC\r\n", &mut []), "*0\r\n");
    srv.send(&mut a, "WATCH k\r\nMULTI\r\n", &mut []);
    srv.now += 1;
    assert_eq!(srv.send(&mut a, "EXEC\r\n", &mut []), "*-1\r\n");

    // Collected by another connection's read (lazy expiry).
    srv.send(&mut a, "SET k v PX 100\r\nWATCH k\r\n", &mut []);
    srv.now += 100;
    assert_eq!(srv.send(&mut b, "GET k\r\n", &mut []), "$-1\r\n");
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nEXEC\r\n", &mut []),
        "+OK\r\n*-1\r\n"
    );

    // Collected by active expiry.
    srv.send(&mut a, "SET k v PX 100\r\nWATCH k\r\n", &mut []);
    srv.now += 100;
    assert_eq!(srv.store.handle_timeout(srv.now), 1);
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nEXEC\r\n", &mut []),
        "+OK\r\n*-1\r\n"
    );

    // Already expired when watched: its collection is no change…
    srv.send(&mut a, "SET k v PX 100\r\n", &mut []);
    srv.now += 100;
    srv.send(&mut a, "WATCH k\r\n", &mut []);
    srv.send(&mut b, "GET k\r\n", &mut []);
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nEXEC\r\n", &mut []),
        "+OK\r\n*0\r\n"
    );
    // …but recreating it is.
    srv.send(&mut a, "SET k v PX 100\r\n", &mut []);
    srv.now += 100;
    srv.send(&mut a, "WATCH k\r\n", &mut []);
    srv.send(&mut b, "SET k again\r\n", &mut []);
    assert_eq!(
        srv.send(&mut a, "MULTI\r\nEXEC\r\n", &mut []),
        "+OK\r\n*-1\r\n"
    );
}

#[test]
fn closing_a_connection_drops_its_watches_and_transaction() {
    let mut srv = Server::new();
    let mut a = srv.connect();
    srv.send(
        &mut a,
        "WATCH x y\r\nSELECT 1\r\nWATCH z\r\nMULTI\r\n",
        &mut [],
    );
    assert_eq!(srv.store.dbs()[0].watched_len(), 2);
    assert_eq!(srv.store.dbs()[1].watched_len(), 1);
    a.handle_close(&mut srv.store);
    assert!(srv.store.dbs().iter().all(|db| db.watched_len() == 0));
    let mut b = srv.connect();
    srv.send(&mut b, "WATCH x\r\n", &mut []);
    srv.send(&mut b, "UNWATCH\r\n", &mut []);
    assert_eq!(srv.store.dbs()[0].watched_len(), 0);
}

#[test]
fn scan_keys_and_randomkey() {
    let mut srv = Server::new();
    let mut c = srv.connect();
    assert_eq!(srv.send(&mut c, "RANDOMKEY\r\n", &mut []), "$-1\r\n");
    assert_eq!(
        srv.send(&mut c, "SCAN 0\r\n", &mut []),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    for i in 0..50 {
        srv.send(&mut c, &format!("SET key:{i} v\r\n"), &mut []);
    }
    srv.send(&mut c, "SET short v PX 10\r\n", &mut []);
    srv.now += 10;
    let key = srv.send(&mut c, "RANDOMKEY\r\n", &mut []);
    assert!(
        key.starts_with("$5\r\nkey:") || key.starts_with("$6\r\nkey:"),
        "{key}"
    );
    // A full iteration in small steps sees every key once, while keys are added.
    let mut cursor = "0".to_owned();
    let mut seen = Vec::new();
    let mut added = 0;
    loop {
        let reply = srv.send(
            &mut c,
            &format!("SCAN {cursor} COUNT 3 MATCH key:*\r\n"),
            &mut [],
        );
        let lines: Vec<&str> = reply.split("\r\n").collect();
        cursor = lines[2].to_owned();
        seen.extend(
            lines
                .iter()
                .filter(|l| l.starts_with("key:"))
                .map(|l| l.to_string()),
        );
        srv.send(&mut c, &format!("SET new:{added} v\r\n"), &mut []);
        added += 1;
        if cursor == "0" {
            break;
        }
    }
    seen.sort();
    let before = seen.len();
    seen.dedup();
    assert_eq!((before, seen.len()), (50, 50));
    let keys = srv.send(&mut c, "KEYS key:1?\r\n", &mut []);
    assert!(keys.starts_with("*10\r\n"), "{keys}");
}

#[test]
fn effects_log_replays_writes_deterministically() {
    let mut srv = Server::new();
    srv.store.set_effects_log(true);
    let mut c = srv.connect();
    let t = T0;
    srv.send(
        &mut c,
        "SET a 1 EX 10\r\nGET a\r\nSET a 2 NX\r\nEXPIRE a 20\r\nINCRBYFLOAT f 1.5\r\n\
         GETEX a PERSIST\r\nGETEX a PERSIST\r\nGETDEL a\r\nDEL a nope\r\nFLUSHDB\r\n\
         SET v 1 PX 5\r\nMULTI\r\nSET x 1\r\nINCR x\r\nGET x\r\nEXEC\r\n",
        &mut [],
    );
    srv.now += 5;
    srv.send(&mut c, "SET v 2\r\nSELECT 3\r\nSETEX s 1 v\r\n", &mut []);
    srv.now += 1000;
    srv.store.handle_timeout(srv.now);
    let mut got = Vec::new();
    while let Some(e) = srv.store.poll_effect() {
        let args: Vec<String> = e
            .args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        got.push(format!("{} {}", e.db, args.join(" ")));
    }
    let want = [
        format!("0 SET a 1 PXAT {}", t + 10_000),
        format!("0 PEXPIREAT a {}", t + 20_000),
        "0 SET f 1.5 KEEPTTL".to_owned(),
        "0 PERSIST a".to_owned(),
        "0 DEL a".to_owned(),
        "0 FLUSHDB".to_owned(),
        format!("0 SET v 1 PXAT {}", t + 5),
        "0 MULTI".to_owned(),
        "0 SET x 1".to_owned(),
        "0 INCR x".to_owned(),
        "0 EXEC".to_owned(),
        // The expired key's removal, then the write, as one unit.
        "0 MULTI".to_owned(),
        "0 DEL v".to_owned(),
        "0 SET v 2".to_owned(),
        "0 EXEC".to_owned(),
        format!("3 SET s v PXAT {}", t + 5 + 1000),
        "3 DEL s".to_owned(),
    ];
    assert_eq!(got, want);
}
