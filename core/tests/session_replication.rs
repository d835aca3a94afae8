//! Replication without sockets: a master store with the replica's connection as a
//! [`Session`], a replica store with its [`ReplicaLink`], wired together in memory on a
//! fake clock. Covers the handshake, the full sync (taken at once: no host), the stream
//! with its SELECTs and MULTI/EXEC, offsets and ACKs, WAIT, partial resync after the link
//! drops, `-READONLY`, and a promotion that keeps the history under `replid2`.

use redish_core::db::{Delivery, Value};
use redish_core::server::process_and_route;
use redish_core::server::replica::{LinkError, ReplicaLink};
use redish_core::{Session, SessionConfig, Store};

const T0: u64 = 1_700_000_000_000;

/// A client of `store`: sends, processes, returns what it wrote; deliveries for others
/// are kept in `routed`.
fn send(
    store: &mut Store,
    s: &mut Session,
    input: &[u8],
    now: u64,
    routed: &mut Vec<Delivery>,
) -> Vec<u8> {
    s.handle_bytes(input);
    process_and_route(s, store, now, |d| routed.push(d));
    let out = s.poll_transmit().to_vec();
    s.consume_transmit(out.len());
    out
}

struct Pair {
    master: Store,
    replica: Store,
    /// The replica's connection on the master.
    conn: Session,
    link: ReplicaLink,
    epoch: u64,
    now: u64,
    /// Deliveries for connections other than the replica's.
    others: Vec<Delivery>,
}

impl Pair {
    fn new(master: Store) -> Pair {
        let mut replica = Store::default();
        replica.set_master("master".into(), 6379);
        let epoch = replica.replication().master.as_ref().unwrap().epoch;
        Pair::connect(master, replica, epoch, T0)
    }

    fn connect(mut master: Store, mut replica: Store, epoch: u64, now: u64) -> Pair {
        let conn = Session::new(master.next_client_id(), SessionConfig::default());
        let mut link = ReplicaLink::new(&mut replica, epoch, now).unwrap();
        link.handle_connected(&mut replica, now).unwrap();
        let mut pair = Pair {
            master,
            replica,
            conn,
            link,
            epoch,
            now,
            others: Vec::new(),
        };
        pair.pump().unwrap();
        pair
    }

    /// Moves bytes both ways and deliveries to the replica's connection until nothing
    /// moves.
    fn pump(&mut self) -> Result<(), LinkError> {
        for _ in 0..100 {
            let to_master = self.link.poll_transmit().to_vec();
            self.link.consume_transmit(to_master.len());
            self.conn.handle_bytes(&to_master);
            let mut others = Vec::new();
            process_and_route(&mut self.conn, &mut self.master, self.now, |d| {
                others.push(d)
            });
            self.deliver(others);
            let to_replica = self.conn.poll_transmit().to_vec();
            self.conn.consume_transmit(to_replica.len());
            if !to_replica.is_empty() {
                self.link
                    .handle_read(&to_replica, &mut self.replica, self.now)?;
            }
            if to_master.is_empty() && to_replica.is_empty() {
                return Ok(());
            }
        }
        panic!("the link never settles");
    }

    /// Hands deliveries meant for the replica's connection over.
    fn deliver(&mut self, deliveries: Vec<Delivery>) {
        for d in deliveries {
            if d.to == self.conn.id() {
                self.conn.handle_message(&d.message, self.now);
            } else {
                self.others.push(d);
            }
        }
    }

    /// A client command on the master, then the stream pumped over.
    fn write(&mut self, client: &mut Session, input: &[u8]) -> Vec<u8> {
        let mut routed = Vec::new();
        let out = send(&mut self.master, client, input, self.now, &mut routed);
        self.deliver(routed);
        self.pump().unwrap();
        out
    }

    fn get(store: &mut Store, db: usize, key: &[u8], now: u64) -> Option<Value> {
        store.db(db).get(key, now).cloned()
    }
}

fn info(store: &mut Store, now: u64) -> String {
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    String::from_utf8(send(
        store,
        &mut s,
        b"INFO replication\r\n",
        now,
        &mut Vec::new(),
    ))
    .unwrap()
}

fn field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .trim()
        .to_owned()
}

#[test]
fn full_sync_then_the_stream() {
    let mut master = Store::default();
    master.db(0).insert(b"before", Value::str(b"1"), None, T0);
    master
        .db(3)
        .insert(b"ttl", Value::str(b"x"), Some(T0 + 60_000), T0);
    let mut pair = Pair::new(master);
    assert_eq!(
        Pair::get(&mut pair.replica, 0, b"before", T0),
        Some(Value::str(b"1"))
    );
    assert_eq!(
        pair.replica.db(3).expire_at_ms(b"ttl", T0),
        Some(Some(T0 + 60_000))
    );

    let mut client = Session::new(pair.master.next_client_id(), SessionConfig::default());
    let out = pair.write(
        &mut client,
        b"SET a 1\r\nSELECT 2\r\nSET b 2\r\nMULTI\r\nINCR c\r\nINCR c\r\nEXEC\r\nSET e v EX 100\r\n",
    );
    assert_eq!(
        out,
        b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n+OK\r\n"
    );
    assert_eq!(
        Pair::get(&mut pair.replica, 0, b"a", T0),
        Some(Value::str(b"1"))
    );
    assert_eq!(
        Pair::get(&mut pair.replica, 2, b"b", T0),
        Some(Value::str(b"2"))
    );
    assert_eq!(
        Pair::get(&mut pair.replica, 2, b"c", T0),
        Some(Value::str(b"2"))
    );
    // A relative expiry travels as an absolute one.
    assert_eq!(
        pair.replica.db(2).expire_at_ms(b"e", T0),
        Some(Some(T0 + 100_000))
    );

    // Offsets agree, and the master learns the replica's from its ACK.
    let m = info(&mut pair.master, T0);
    let r = info(&mut pair.replica, T0);
    assert_eq!(
        field(&m, "master_repl_offset"),
        field(&r, "slave_repl_offset")
    );
    assert_eq!(field(&r, "master_link_status"), "up");
    assert_eq!(field(&m, "connected_slaves"), "1");
    assert_eq!(field(&r, "master_replid"), field(&m, "master_replid"));
    pair.now += 1_000;
    pair.link
        .handle_timeout(&mut pair.replica, pair.now)
        .unwrap();
    pair.pump().unwrap();
    let m = info(&mut pair.master, pair.now);
    let offset = field(&m, "master_repl_offset");
    assert!(
        field(&m, "slave0").contains(&format!("state=online,offset={offset},lag=0")),
        "{m}"
    );

    // A replica refuses clients' writes; reads go on.
    let mut reader = Session::new(pair.replica.next_client_id(), SessionConfig::default());
    let out = send(
        &mut pair.replica,
        &mut reader,
        b"SET x 1\r\nGET a\r\n",
        T0,
        &mut Vec::new(),
    );
    assert_eq!(
        out,
        b"-READONLY You can't write against a read only replica.\r\n$1\r\n1\r\n"
    );
}

#[test]
fn expiry_reaches_the_replica_as_del() {
    let mut pair = Pair::new(Store::default());
    let mut client = Session::new(pair.master.next_client_id(), SessionConfig::default());
    pair.write(&mut client, b"SET k v PX 10\r\n");
    assert!(Pair::get(&mut pair.replica, 0, b"k", T0).is_some());
    // The master's active expiry logs a DEL; the timer feeds it to the stream.
    pair.now += 20;
    let mut routed = Vec::new();
    redish_core::server::handle_timers(&mut pair.master, pair.now, |d| routed.push(d));
    pair.deliver(routed);
    pair.pump().unwrap();
    assert_eq!(pair.replica.db(0).len(), 0);
}

#[test]
fn wait_counts_acknowledging_replicas() {
    let mut pair = Pair::new(Store::default());
    let mut client = Session::new(pair.master.next_client_id(), SessionConfig::default());
    pair.write(&mut client, b"SET k v\r\n");
    // WAIT blocks: the master asks the replica (GETACK), whose ACK answers it.
    client.handle_bytes(b"WAIT 1 0\r\n");
    let mut routed = Vec::new();
    process_and_route(&mut client, &mut pair.master, pair.now, |d| routed.push(d));
    assert!(client.poll_transmit().is_empty());
    pair.deliver(routed);
    pair.pump().unwrap();
    let ours: Vec<_> = pair
        .others
        .drain(..)
        .filter(|d| d.to == client.id())
        .collect();
    assert_eq!(ours.len(), 1);
    client.handle_message(&ours[0].message, pair.now);
    assert_eq!(client.poll_transmit(), b":1\r\n");
    client.consume_transmit(4);
    // Two replicas never come: the timeout answers with the one there is.
    let out = send(
        &mut pair.master,
        &mut client,
        b"WAIT 2 50\r\n",
        pair.now,
        &mut Vec::new(),
    );
    assert!(out.is_empty());
    let mut routed = Vec::new();
    redish_core::server::handle_timers(&mut pair.master, pair.now + 50, |d| routed.push(d));
    let reply = routed.iter().find(|d| d.to == client.id()).unwrap();
    client.handle_message(&reply.message, pair.now + 50);
    assert_eq!(client.poll_transmit(), b":1\r\n");
}

#[test]
fn min_replicas_to_write_refuses_without_good_replicas() {
    let mut master = Store::default();
    master.set_setting("min-replicas-to-write", "1");
    let mut client = Session::new(master.next_client_id(), SessionConfig::default());
    let out = send(
        &mut master,
        &mut client,
        b"SET a 1\r\nGET a\r\n",
        T0,
        &mut Vec::new(),
    );
    assert_eq!(
        out,
        b"-NOREPLICAS Not enough good replicas to write.\r\n$-1\r\n"
    );
    let mut pair = Pair::new(master);
    let out = pair.write(&mut client, b"SET a 1\r\n");
    assert_eq!(out, b"+OK\r\n");
    // Past min-replicas-max-lag (10 s) without an ACK, the replica no longer counts.
    pair.now += 11_000;
    let mut routed = Vec::new();
    let out = send(
        &mut pair.master,
        &mut client,
        b"SET a 2\r\n",
        pair.now,
        &mut routed,
    );
    assert_eq!(out, b"-NOREPLICAS Not enough good replicas to write.\r\n");
}

#[test]
fn a_dropped_link_continues_from_the_backlog() {
    let mut pair = Pair::new(Store::default());
    let mut client = Session::new(pair.master.next_client_id(), SessionConfig::default());
    pair.write(&mut client, b"SET a 1\r\n");
    // The link drops; writes go on meanwhile.
    let Pair {
        mut master,
        mut replica,
        mut conn,
        mut link,
        epoch,
        now,
        ..
    } = pair;
    conn.handle_close(&mut master);
    link.handle_closed(&mut replica, now);
    // Sentinel reads how long the link has been down; an up link has no such line.
    let down = info(&mut replica, now + 3000);
    assert_eq!(field(&down, "master_link_status"), "down");
    assert_eq!(field(&down, "master_link_down_since_seconds"), "3");
    send(
        &mut master,
        &mut client,
        b"SET b 2\r\nDEL a\r\n",
        now,
        &mut Vec::new(),
    );
    let mut pair = Pair::connect(master, replica, epoch, now + 1000);
    let stats = {
        let mut s = Session::new(pair.master.next_client_id(), SessionConfig::default());
        String::from_utf8(send(
            &mut pair.master,
            &mut s,
            b"INFO stats\r\n",
            now,
            &mut Vec::new(),
        ))
        .unwrap()
    };
    assert_eq!(field(&stats, "sync_full"), "1");
    assert_eq!(field(&stats, "sync_partial_ok"), "1");
    assert_eq!(
        Pair::get(&mut pair.replica, 0, b"b", now),
        Some(Value::str(b"2"))
    );
    assert_eq!(Pair::get(&mut pair.replica, 0, b"a", now), None);
    let m = info(&mut pair.master, now);
    let r = info(&mut pair.replica, now);
    assert_eq!(
        field(&m, "master_repl_offset"),
        field(&r, "slave_repl_offset")
    );
    assert!(!r.contains("master_link_down_since_seconds"), "{r}");
}

#[test]
fn a_link_never_up_is_down_since_minus_one() {
    // As redis-server started with --replicaof a master that is not there.
    let mut replica = Store::default();
    replica.set_master("master".into(), 6379);
    let r = info(&mut replica, T0);
    assert_eq!(field(&r, "master_link_status"), "down");
    assert_eq!(field(&r, "master_link_down_since_seconds"), "-1");
}

#[test]
fn a_promoted_replica_keeps_the_history_as_replid2() {
    let mut pair = Pair::new(Store::default());
    let mut client = Session::new(pair.master.next_client_id(), SessionConfig::default());
    pair.write(&mut client, b"SET a 1\r\n");
    let old = field(&info(&mut pair.master, T0), "master_replid");
    let offset: i64 = field(&info(&mut pair.replica, T0), "master_repl_offset")
        .parse()
        .unwrap();
    let mut admin = Session::new(pair.replica.next_client_id(), SessionConfig::default());
    let out = send(
        &mut pair.replica,
        &mut admin,
        b"REPLICAOF NO ONE\r\nSET mine 1\r\nROLE\r\n",
        T0,
        &mut Vec::new(),
    );
    assert!(
        out.starts_with(b"+OK\r\n+OK\r\n*3\r\n$6\r\nmaster\r\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(pair
        .link
        .handle_timeout(&mut pair.replica, T0)
        .unwrap_err()
        .is_final());
    let r = info(&mut pair.replica, T0);
    assert_eq!(field(&r, "master_replid2"), old);
    assert_eq!(field(&r, "second_repl_offset"), (offset + 1).to_string());
    assert_ne!(field(&r, "master_replid"), old);
}

#[test]
fn replica_stream_rejects_garbage_without_panicking() {
    let mut replica = Store::default();
    replica.set_master("m".into(), 1);
    let epoch = replica.replication().master.as_ref().unwrap().epoch;
    let cases: &[&[u8]] = &[
        b"-ERR nope\r\n",
        b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC short 0\r\n",
        b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC 0123456789012345678901234567890123456789 0\r\nnot-a-length\r\n",
        b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n$5\r\nREDIS",
        b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n$EOF:short\r\n",
    ];
    for input in cases {
        let mut store = Store::default();
        store.set_master("m".into(), 1);
        let e = store.replication().master.as_ref().unwrap().epoch;
        let mut link = ReplicaLink::new(&mut store, e, T0).unwrap();
        link.handle_connected(&mut store, T0).unwrap();
        let result = link.handle_read(input, &mut store, T0);
        assert!(result.is_err(), "{:?}", String::from_utf8_lossy(input));
    }
    // A line that never ends is refused, not buffered forever.
    let mut link = ReplicaLink::new(&mut replica, epoch, T0).unwrap();
    link.handle_connected(&mut replica, T0).unwrap();
    assert!(link.handle_read(&[b'+'; 10_000], &mut replica, T0).is_err());
}

#[test]
fn a_replica_too_far_behind_is_closed_but_not_for_its_rdb() {
    let mut master = Store::default();
    // A dataset whose RDB is larger than the limit: the full sync still goes through.
    for i in 0..100 {
        master.db(0).insert(
            format!("k{i}").as_bytes(),
            Value::str(&[b'x'; 64]),
            None,
            T0,
        );
    }
    master.set_setting("client-output-buffer-limit", "replica 2048 0 0");
    let mut pair = Pair::new(master);
    assert_eq!(pair.replica.db(0).len(), 100);
    assert!(!pair.conn.is_closing());
    // The replica stops reading: the stream piles up on its connection until the limit.
    let mut client = Session::new(pair.master.next_client_id(), SessionConfig::default());
    for i in 0..100 {
        let mut routed = Vec::new();
        let cmd = format!("SET k{i} {}\r\n", "y".repeat(64));
        send(
            &mut pair.master,
            &mut client,
            cmd.as_bytes(),
            T0,
            &mut routed,
        );
        pair.deliver(routed);
    }
    assert!(pair.conn.is_closing());
    assert!(matches!(
        pair.conn.poll_event(),
        Some(redish_core::Event::Close(
            redish_core::CloseReason::OutputLimit { pending_bytes }
        )) if pending_bytes > 2048
    ));
}

#[test]
fn a_client_gone_from_wait_is_forgotten() {
    let mut pair = Pair::new(Store::default());
    let mut client = Session::new(pair.master.next_client_id(), SessionConfig::default());
    let mut routed = Vec::new();
    send(
        &mut pair.master,
        &mut client,
        b"SET k v\r\nWAIT 1 0\r\n",
        T0,
        &mut routed,
    );
    client.handle_close(&mut pair.master);
    // The replica's ACK arrives after the client left: nothing is delivered to it.
    pair.deliver(routed);
    pair.pump().unwrap();
    pair.now += 1_000;
    pair.link
        .handle_timeout(&mut pair.replica, pair.now)
        .unwrap();
    pair.pump().unwrap();
    let mut timers = Vec::new();
    redish_core::server::handle_timers(&mut pair.master, pair.now, |d| timers.push(d));
    assert!(pair
        .others
        .iter()
        .chain(&timers)
        .all(|d| d.to != client.id()));
}

#[test]
fn a_replica_announces_what_it_is_told() {
    // Behind NAT or Docker a replica names the address Sentinel should use; the master
    // lists it. `replica-announced no` hides the replica from Sentinel.
    let master = Store::default();
    let mut replica = Store::default();
    for (name, value) in [
        ("replica-announce-ip", "10.1.2.3"),
        ("replica-announce-port", "7777"),
        ("replica-announced", "no"),
    ] {
        replica.config_mut().set(name, value).unwrap();
    }
    replica.set_master("master".into(), 6379);
    let epoch = replica.replication().master.as_ref().unwrap().epoch;
    let mut pair = Pair::connect(master, replica, epoch, T0);
    let m = info(&mut pair.master, T0);
    assert!(
        field(&m, "slave0").starts_with("ip=10.1.2.3,port=7777,state=online"),
        "{m}"
    );
    let r = info(&mut pair.replica, T0);
    assert_eq!(field(&r, "master_link_status"), "up");
    assert_eq!(field(&r, "replica_announced"), "0");
}
