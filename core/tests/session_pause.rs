//! CLIENT PAUSE and CLIENT UNPAUSE without sockets: several sessions on one store and a
//! fake clock, wired the way an adapter wires them — deliveries routed after every step,
//! each session woken when its own `poll_timeout` passes, the store's timer run when due —
//! with the reply bytes Redis 7.0 sends.

mod sim;

use sim::{Server, T0};

#[test]
fn pause_all_holds_every_client_until_its_end() {
    let mut srv = Server::new(3);
    assert_eq!(srv.send(0, "CLIENT PAUSE 100\r\n"), "+OK\r\n");
    // Others and the pausing client alike: held, not refused, in order.
    assert_eq!(srv.send(1, "GET k\r\nSET k v\r\n"), "");
    assert_eq!(srv.send(2, "PING\r\n"), "");
    assert_eq!(srv.send(0, "PING\r\n"), "");
    for s in &srv.sessions {
        assert_eq!(s.poll_timeout(), Some(T0 + 100));
    }
    assert_eq!(srv.store.paused_clients(), 3);
    srv.advance(99);
    assert_eq!(srv.take(1), "");
    srv.advance(1);
    assert_eq!(srv.take(1), "$-1\r\n+OK\r\n");
    assert_eq!(srv.take(2), "+PONG\r\n");
    assert_eq!(srv.take(0), "+PONG\r\n");
    assert_eq!(srv.store.paused_clients(), 0);
    assert!(srv.sessions.iter().all(|s| s.poll_timeout().is_none()));
    assert_eq!(srv.send(2, "GET k\r\n"), "$1\r\nv\r\n");
}

#[test]
fn pause_write_holds_what_writes_or_may_replicate() {
    let mut srv = Server::new(4);
    assert_eq!(srv.send(0, "SET k v\r\n"), "+OK\r\n");
    assert_eq!(srv.send(0, "CLIENT PAUSE 1000 WRITE\r\n"), "+OK\r\n");
    // Reads, connection and admin commands run.
    let reads = [
        ("GET k\r\n", "$1\r\nv\r\n"),
        ("PING\r\n", "+PONG\r\n"),
        ("EXISTS k\r\n", ":1\r\n"),
        ("SELECT 1\r\n", "+OK\r\n"),
        ("SELECT 0\r\n", "+OK\r\n"),
        ("PUBSUB NUMPAT\r\n", ":0\r\n"),
        ("CONFIG SET maxmemory 0\r\n", "+OK\r\n"),
        ("CLIENT KILL ID 999\r\n", ":0\r\n"),
        ("FUNCTION LIST\r\n", "*0\r\n"),
    ];
    for (cmd, reply) in reads {
        assert_eq!(srv.send(1, cmd), reply, "{cmd:?}");
    }
    // Writes, PUBLISH and FLUSHALL wait, each client behind its first held command.
    assert_eq!(srv.send(1, "DEL nokey\r\nGET k\r\n"), "");
    assert_eq!(srv.send(2, "PUBLISH ch m\r\n"), "");
    assert_eq!(srv.send(0, "FUNCTION FLUSH\r\n"), "");
    srv.advance(500);
    assert_eq!(srv.take(1), "");
    // UNPAUSE comes from a client that is not held.
    assert_eq!(srv.send(3, "CLIENT UNPAUSE\r\n"), "+OK\r\n");
    // UNPAUSE wakes them at once, not at the pause's end.
    assert_eq!(srv.take(1), ":0\r\n$1\r\nv\r\n");
    assert_eq!(srv.take(2), ":0\r\n");
    assert_eq!(srv.take(0), "+OK\r\n");
    assert!(srv.sessions.iter().all(|s| s.poll_timeout().is_none()));
}

#[test]
fn pause_write_and_transactions() {
    let mut srv = Server::new(3);
    assert_eq!(srv.send(1, "MULTI\r\nSET a 1\r\n"), "+OK\r\n+QUEUED\r\n");
    assert_eq!(srv.send(0, "CLIENT PAUSE 1000 WRITE\r\n"), "+OK\r\n");
    // A transaction that writes waits at EXEC; a read-only one runs.
    assert_eq!(srv.send(1, "EXEC\r\n"), "");
    assert_eq!(
        srv.send(2, "MULTI\r\nGET a\r\nPING\r\nEXEC\r\n"),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$-1\r\n+PONG\r\n"
    );
    // Queueing a write waits too: the pause is checked before MULTI queues.
    assert_eq!(srv.send(2, "MULTI\r\nSET b 2\r\n"), "+OK\r\n");
    // EXEC without MULTI is an error, at once.
    assert_eq!(srv.send(0, "EXEC\r\n"), "-ERR EXEC without MULTI\r\n");
    srv.advance(1000);
    assert_eq!(srv.take(1), "*1\r\n+OK\r\n");
    assert_eq!(srv.take(2), "+QUEUED\r\n");
    assert_eq!(srv.send(2, "EXEC\r\n"), "*1\r\n+OK\r\n");
}

#[test]
fn pause_inside_a_transaction_starts_after_it() {
    let mut srv = Server::new(2);
    assert_eq!(
        srv.send(
            0,
            "MULTI\r\nSET a 1\r\nCLIENT PAUSE 100 WRITE\r\nSET b 2\r\nEXEC\r\n"
        ),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n+OK\r\n+OK\r\n"
    );
    assert_eq!(srv.send(1, "SET c 3\r\n"), "");
    assert_eq!(
        srv.send(0, "MGET a b c\r\n"),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
    );
    srv.advance(100);
    assert_eq!(srv.take(1), "+OK\r\n");
}

#[test]
fn requests_refused_before_running_are_answered_during_a_pause() {
    let mut srv = Server::new(2);
    assert_eq!(srv.send(0, "CLIENT PAUSE 100 ALL\r\n"), "+OK\r\n");
    let at_once = [
        (
            "SET x\r\n",
            "-ERR wrong number of arguments for 'set' command\r\n",
        ),
        (
            "NOSUCH\r\n",
            "-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
        ),
        (
            "CLIENT FOO\r\n",
            "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
        ),
        (
            "CONFIG GET\r\n",
            "-ERR wrong number of arguments for 'config|get' command\r\n",
        ),
    ];
    for (cmd, reply) in at_once {
        assert_eq!(srv.send(1, cmd), reply, "{cmd:?}");
    }
    // The command's own checks come later: a syntax error waits like the rest.
    assert_eq!(srv.send(1, "SET x y BADOPT\r\n"), "");
    srv.advance(100);
    assert_eq!(srv.take(1), "-ERR syntax error\r\n");
}

#[test]
fn pauses_add_up_to_the_later_end_and_the_stricter_kind() {
    let mut srv = Server::new(2);
    assert_eq!(srv.send(0, "CLIENT PAUSE 200 ALL\r\n"), "+OK\r\n");
    // Held by the ALL pause itself, then run at its end: a shorter WRITE pause adds nothing.
    assert_eq!(srv.send(0, "CLIENT PAUSE 20 WRITE\r\n"), "");
    srv.advance(50);
    assert_eq!(srv.send(1, "GET k\r\n"), "");
    srv.advance(150);
    assert_eq!(srv.take(0), "+OK\r\n");
    assert_eq!(srv.take(1), "$-1\r\n");

    // A WRITE pause made stricter by an ALL one keeps the later end.
    assert_eq!(srv.send(0, "CLIENT PAUSE 300 WRITE\r\n"), "+OK\r\n");
    assert_eq!(srv.send(0, "CLIENT PAUSE 100 ALL\r\n"), "+OK\r\n");
    assert_eq!(srv.send(1, "GET k\r\n"), "");
    assert_eq!(srv.sessions[1].poll_timeout(), Some(srv.now + 300));
    srv.advance(300);
    assert_eq!(srv.take(1), "$-1\r\n");

    // A pause extended while a client waits: it wakes at the old end and waits on.
    assert_eq!(srv.send(0, "CLIENT PAUSE 100 WRITE\r\n"), "+OK\r\n");
    assert_eq!(srv.send(1, "SET k v\r\n"), "");
    srv.advance(50);
    assert_eq!(srv.send(0, "CLIENT PAUSE 200 WRITE\r\n"), "+OK\r\n");
    srv.advance(50);
    assert_eq!(srv.take(1), "");
    assert_eq!(srv.sessions[1].poll_timeout(), Some(srv.now + 150));
    srv.advance(150);
    assert_eq!(srv.take(1), "+OK\r\n");
}

#[test]
fn client_pause_errors_have_redis_texts() {
    let mut srv = Server::new(1);
    let cases = [
        (
            "CLIENT PAUSE abc\r\n",
            "-ERR timeout is not an integer or out of range\r\n",
        ),
        ("CLIENT PAUSE -1\r\n", "-ERR timeout is negative\r\n"),
        (
            "CLIENT PAUSE 10 FOO\r\n",
            "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n",
        ),
        (
            "CLIENT PAUSE abc FOO\r\n",
            "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n",
        ),
        (
            "CLIENT PAUSE 1.5\r\n",
            "-ERR timeout is not an integer or out of range\r\n",
        ),
        (
            "client pause 10 write x\r\n",
            "-ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.\r\n",
        ),
        (
            "CLIENT PAUSE\r\n",
            "-ERR wrong number of arguments for 'client|pause' command\r\n",
        ),
        (
            "CLIENT UNPAUSE x\r\n",
            "-ERR wrong number of arguments for 'client|unpause' command\r\n",
        ),
        // No pause: 0, and a timeout whose end overflows (Redis's sum wraps to the past).
        ("CLIENT PAUSE 0\r\n", "+OK\r\n"),
        ("CLIENT PAUSE 9223372036854775807\r\n", "+OK\r\n"),
        ("PING\r\n", "+PONG\r\n"),
        ("CLIENT UNPAUSE\r\n", "+OK\r\n"),
    ];
    for (cmd, reply) in cases {
        assert_eq!(srv.send(0, cmd), reply, "{cmd:?}");
    }
    assert_eq!(srv.sessions[0].poll_timeout(), None);
}

#[test]
fn held_clients_show_as_blocked_and_leave_on_close() {
    let mut srv = Server::new(3);
    assert_eq!(srv.send(0, "CLIENT PAUSE 1000 WRITE\r\n"), "+OK\r\n");
    assert_eq!(srv.send(1, "SET k v\r\n"), "");
    let info = srv.send(2, "INFO clients\r\n");
    assert!(info.contains("blocked_clients:1\r\n"), "{info}");
    let list = srv.send(2, "CLIENT LIST ID 2\r\n");
    assert!(
        list.contains(" flags=b ") && list.contains(" cmd=set "),
        "{list}"
    );
    // A held client killed meanwhile leaves nothing behind.
    assert_eq!(srv.send(2, "CLIENT KILL ID 2\r\n"), ":1\r\n");
    assert!(srv.sessions[1].is_closing());
    let mut gone = srv.sessions.remove(1);
    gone.handle_close(&mut srv.store);
    assert_eq!(srv.store.paused_clients(), 0);
    assert_eq!(srv.send(1, "CLIENT UNPAUSE\r\n"), "+OK\r\n");
    assert_eq!(srv.store.poll_delivery(), None);
}

#[test]
fn keys_do_not_expire_actively_during_a_pause() {
    let mut srv = Server::new(2);
    assert_eq!(srv.send(0, "SET k v PX 10\r\n"), "+OK\r\n");
    assert_eq!(srv.send(0, "CLIENT PAUSE 1000 WRITE\r\n"), "+OK\r\n");
    // The expiry is due, but the timer waits for the pause's end.
    assert_eq!(srv.store.poll_timeout(), Some(T0 + 1000));
    srv.advance(50);
    assert_eq!(srv.store.handle_timeout(srv.now), 0);
    assert_eq!(srv.send(1, "DBSIZE\r\n"), ":1\r\n");
    srv.advance(950);
    assert_eq!(srv.send(1, "DBSIZE\r\n"), ":0\r\n");
}

#[test]
fn keys_read_past_their_time_stay_until_the_pause_is_over() {
    let mut srv = Server::new(2);
    assert_eq!(
        srv.send(0, "SET a 1 PX 10\r\nSET b 2 PX 10\r\nSET c 3\r\n"),
        "+OK\r\n+OK\r\n+OK\r\n"
    );
    assert_eq!(
        srv.send(1, "SELECT 2\r\nSET x 1 PX 10\r\nSELECT 0\r\n"),
        "+OK\r\n+OK\r\n+OK\r\n"
    );
    assert_eq!(srv.send(0, "CLIENT PAUSE 1000 WRITE\r\n"), "+OK\r\n");
    srv.advance(20);
    // Gone to readers, but neither removed nor counted as expired.
    assert_eq!(srv.send(1, "GET a\r\n"), "$-1\r\n");
    assert_eq!(srv.send(1, "EXISTS a b c\r\n"), ":1\r\n");
    assert_eq!(
        srv.send(1, "SCAN 0 COUNT 100\r\n"),
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n"
    );
    assert_eq!(srv.send(1, "DBSIZE\r\n"), ":3\r\n");
    let info = srv.send(1, "INFO stats\r\n");
    assert!(info.contains("expired_keys:0\r\n"), "{info}");
    assert_eq!(srv.send(1, "RANDOMKEY\r\n"), "$1\r\nc\r\n");
    // Only keys past their time: RANDOMKEY gives one of them rather than search forever.
    assert_eq!(
        srv.send(1, "SELECT 2\r\nRANDOMKEY\r\n"),
        "+OK\r\n$1\r\nx\r\n"
    );
    // Once unpaused, reads remove them again.
    assert_eq!(srv.send(0, "CLIENT UNPAUSE\r\n"), "+OK\r\n");
    assert_eq!(
        srv.send(1, "SELECT 0\r\nGET a\r\nDBSIZE\r\n"),
        "+OK\r\n$-1\r\n:2\r\n"
    );
    let info = srv.send(1, "INFO stats\r\n");
    assert!(info.contains("expired_keys:1\r\n"), "{info}");
}
