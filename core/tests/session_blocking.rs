//! Blocking commands without sockets: several sessions on one store and a fake clock, wired
//! the way an adapter wires them (deliveries routed after every step, timeouts run when the
//! store says), with the exact reply bytes Redis 7.0 sends.

use redish_core::db::Message;

mod sim;

use sim::{Server, T0};

#[test]
fn a_push_from_another_session_serves_the_oldest_waiter_first() {
    let mut srv = Server::new(4);
    assert_eq!(srv.send(1, "BLPOP q 0\r\n"), "");
    assert_eq!(srv.send(2, "BRPOP other q 0\r\n"), "");
    assert!(srv.sessions[1].is_blocked() && srv.sessions[2].is_blocked());
    assert_eq!(srv.store.blocked_clients(), 2);
    // One push of three elements serves both, in the order they blocked.
    assert_eq!(srv.send(0, "RPUSH q a b c\r\n"), ":3\r\n");
    assert_eq!(srv.take(1), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(srv.take(2), "*2\r\n$1\r\nq\r\n$1\r\nc\r\n");
    assert_eq!(srv.send(0, "LRANGE q 0 -1\r\n"), "*1\r\n$1\r\nb\r\n");
    assert_eq!(srv.store.blocked_clients(), 0);
    assert!(!srv.sessions[1].is_blocked());
}

#[test]
fn pipelined_commands_wait_behind_a_blocked_one() {
    let mut srv = Server::new(2);
    assert_eq!(srv.send(1, "BLPOP k 0\r\nPING\r\nSET x 1\r\n"), "");
    assert_eq!(srv.send(0, "GET x\r\n"), "$-1\r\n");
    assert_eq!(srv.send(0, "LPUSH k v\r\n"), ":1\r\n");
    assert_eq!(srv.take(1), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n+PONG\r\n+OK\r\n");
    assert_eq!(srv.send(0, "GET x\r\n"), "$1\r\n1\r\n");
}

#[test]
fn timeouts_follow_the_injected_clock() {
    let mut srv = Server::new(3);
    assert_eq!(srv.send(1, "BLPOP k 1.5\r\n"), "");
    assert!(!srv.send(2, "HELLO 3\r\n").is_empty());
    assert_eq!(srv.send(2, "BLMOVE k d LEFT RIGHT 0.5\r\n"), "");
    assert_eq!(srv.store.poll_timeout(), Some(T0 + 500));
    srv.advance(499);
    assert_eq!(srv.take(2), "");
    srv.advance(1);
    // A timed-out BLMOVE replies a null array too (RESP3 `_`).
    assert_eq!(srv.take(2), "_\r\n");
    assert_eq!(srv.store.poll_timeout(), Some(T0 + 1500));
    srv.advance(1000);
    assert_eq!(srv.take(1), "*-1\r\n");
    assert_eq!(srv.store.poll_timeout(), None);
    assert_eq!(srv.store.blocked_clients(), 0);
    // Zero waits forever; a tiny timeout is one millisecond.
    assert_eq!(srv.send(1, "BLPOP k 0\r\n"), "");
    assert_eq!(srv.store.poll_timeout(), None);
    assert_eq!(srv.send(2, "BZPOPMIN z 0.0001\r\n"), "");
    assert_eq!(srv.store.poll_timeout(), Some(srv.now + 1));
    srv.advance(1);
    assert_eq!(srv.take(2), "_\r\n");
    assert!(srv.sessions[1].is_blocked());
}

#[test]
fn a_transaction_wakes_waiters_after_exec() {
    let mut srv = Server::new(2);
    assert_eq!(srv.send(1, "BLPOP t 0\r\n"), "");
    assert_eq!(
        srv.send(0, "MULTI\r\nRPUSH t a\r\nLPOP t\r\n"),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n"
    );
    // Inside EXEC the key filled and emptied again: nobody is served.
    assert_eq!(srv.send(0, "EXEC\r\n"), "*2\r\n:1\r\n$1\r\na\r\n");
    assert_eq!(srv.take(1), "");
    assert_eq!(
        srv.send(0, "MULTI\r\nRPUSH t b\r\nRPUSH t c\r\n"),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n"
    );
    assert_eq!(srv.send(0, "EXEC\r\n"), "*2\r\n:1\r\n:2\r\n");
    assert_eq!(srv.take(1), "*2\r\n$1\r\nt\r\n$1\r\nb\r\n");
    assert_eq!(srv.send(0, "LRANGE t 0 -1\r\n"), "*1\r\n$1\r\nc\r\n");
}

#[test]
fn inside_multi_blocking_commands_reply_at_once() {
    let mut srv = Server::new(1);
    let r = srv.send(
        0,
        "MULTI\r\nBLPOP e 0\r\nBLMOVE e d LEFT LEFT 0\r\nBZPOPMAX e 0\r\nBLMPOP 0 1 e LEFT\r\nEXEC\r\n",
    );
    assert_eq!(
        r,
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n*-1\r\n$-1\r\n*-1\r\n*-1\r\n"
    );
    assert!(!srv.sessions[0].is_blocked());
}

#[test]
fn closing_a_blocked_session_forgets_its_wait() {
    let mut srv = Server::new(3);
    assert_eq!(srv.send(1, "BLPOP k 5\r\n"), "");
    assert_eq!(srv.send(2, "BLPOP k 0\r\n"), "");
    let mut gone = srv.sessions.remove(1);
    gone.handle_close(&mut srv.store);
    assert_eq!(srv.store.blocked_clients(), 1);
    assert_eq!(srv.store.poll_timeout(), None);
    assert_eq!(srv.send(0, "RPUSH k x\r\n"), ":1\r\n");
    assert_eq!(srv.take(1), "*2\r\n$1\r\nk\r\n$1\r\nx\r\n");
}

#[test]
fn blmove_chains_serve_other_waiters() {
    let mut srv = Server::new(3);
    assert_eq!(srv.send(1, "BLMOVE src mid RIGHT LEFT 0\r\n"), "");
    assert_eq!(srv.send(2, "BRPOPLPUSH mid dst 0\r\n"), "");
    assert_eq!(srv.send(0, "RPUSH src a b\r\n"), ":2\r\n");
    assert_eq!(srv.take(1), "$1\r\nb\r\n");
    assert_eq!(srv.take(2), "$1\r\nb\r\n");
    assert_eq!(
        srv.send(0, "LRANGE dst 0 -1\r\nEXISTS mid\r\n"),
        "*1\r\n$1\r\nb\r\n:0\r\n"
    );
}

#[test]
fn sorted_set_waiters_and_list_waiters_on_one_key() {
    let mut srv = Server::new(3);
    assert_eq!(srv.send(1, "BZPOPMIN k 0\r\n"), "");
    assert_eq!(srv.send(2, "BLPOP k 0\r\n"), "");
    assert_eq!(srv.send(0, "RPUSH k x\r\n"), ":1\r\n");
    assert_eq!(srv.take(1), "");
    assert_eq!(srv.take(2), "*2\r\n$1\r\nk\r\n$1\r\nx\r\n");
    assert_eq!(srv.send(0, "ZADD k 2.5 m\r\n"), ":1\r\n");
    assert_eq!(srv.take(1), "*3\r\n$1\r\nk\r\n$1\r\nm\r\n$3\r\n2.5\r\n");
}

#[test]
fn client_unblock_ends_a_wait() {
    let mut srv = Server::new(2);
    assert_eq!(srv.send(1, "BLPOP k 0\r\n"), "");
    let id = srv.sessions[1].id();
    assert!(srv.store.unblock_client(id, false));
    srv.route();
    assert_eq!(srv.take(1), "*-1\r\n");
    assert_eq!(srv.send(1, "BLPOP k 0\r\n"), "");
    assert!(srv.store.unblock_client(id, true));
    assert!(!srv.store.unblock_client(id, true));
    srv.route();
    assert_eq!(
        srv.take(1),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    // The same through the command, from another client; XREAD BLOCK too.
    assert_eq!(srv.send(0, &format!("CLIENT UNBLOCK {id}\r\n")), ":0\r\n");
    assert_eq!(srv.send(1, "BLPOP k 0\r\n"), "");
    assert_eq!(srv.send(0, &format!("CLIENT UNBLOCK {id}\r\n")), ":1\r\n");
    assert_eq!(srv.take(1), "*-1\r\n");
    assert_eq!(srv.send(1, "XREAD BLOCK 0 STREAMS s $\r\n"), "");
    assert_eq!(
        srv.send(0, &format!("CLIENT UNBLOCK {id} error\r\n")),
        ":1\r\n"
    );
    assert_eq!(
        srv.take(1),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert!(!srv.send(1, "HELLO 3\r\n").is_empty());
    assert_eq!(srv.send(1, "BZPOPMIN z 0\r\n"), "");
    assert_eq!(
        srv.send(0, &format!("CLIENT UNBLOCK {id} TIMEOUT\r\n")),
        ":1\r\n"
    );
    assert_eq!(srv.take(1), "_\r\n");
    assert_eq!(srv.store.blocked_clients(), 0);
    assert_eq!(srv.send(1, "PING\r\n"), "+PONG\r\n");
}

#[test]
fn served_pops_are_logged_as_their_non_blocking_forms() {
    let mut srv = Server::new(3);
    srv.store.set_effects_log(true);
    assert_eq!(srv.send(1, "BLPOP a 0\r\n"), "");
    assert_eq!(srv.send(2, "BLMOVE b c LEFT RIGHT 0\r\n"), "");
    srv.send(
        0,
        "RPUSH a 1\r\nRPUSH b 2\r\nRPUSH a 3\r\nBRPOP a 0\r\nSPOP nothing\r\n",
    );
    let effects: Vec<String> = std::iter::from_fn(|| srv.store.poll_effect())
        .map(|e| {
            e.args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        effects,
        [
            "RPUSH a 1",
            "LPOP a",
            "RPUSH b 2",
            "LMOVE b c LEFT RIGHT",
            "RPUSH a 3",
            "RPOP a",
        ]
    );
}

#[test]
fn deliveries_carry_the_reply_in_the_waiters_protocol() {
    let mut srv = Server::new(2);
    srv.send(1, "HELLO 3\r\n");
    assert_eq!(srv.send(1, "BZMPOP 0 1 z MAX COUNT 2\r\n"), "");
    srv.sessions[0].handle_bytes(b"ZADD z 1 a 2 b 3 c\r\n");
    srv.sessions[0].process(&mut srv.store, srv.now);
    let d = srv.store.poll_delivery().expect("a reply for the waiter");
    assert_eq!(d.to, srv.sessions[1].id());
    let Message::Unblocked(reply) = &d.message else {
        panic!("an unblocking reply, got {:?}", d.message);
    };
    assert_eq!(
        &reply[..],
        b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    );
}
