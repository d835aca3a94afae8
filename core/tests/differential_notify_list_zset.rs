//! Keyspace notifications of the list and sorted set commands against redis-server 7.0:
//! scenarios and random sequences through the harness of `common/notify.rs` (one commanding
//! client, so the blocking commands here are the ones that return at once), and the
//! served-later path of blocked clients in memory (`sim`), checked against what Redis
//! 7.0.15 publishes for the same steps.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_notify_list_zset`
//! (`REDISH_DIFF_CASES=100` for deeper random runs, `REDISH_DIFF_SEED` to replay one).

mod common;
mod sim;

use common::notify::{check, random};

/// `Kl` and `Ez` see one class only: a `del` or `expired` must not leak into them.
const FLAGS: &[&str] = &["KEA", "AKEmn", "Kl", "Ez", "KEAm", "Eg", "Kn"];

#[test]
fn lists() {
    check(
        FLAGS,
        &[
            "RPUSH l a b c",
            "LPUSH l x y",
            "LPUSHX nope a",
            "RPUSHX nope a",
            "RPUSHX l z",
            "LPUSHX l w",
            "SET s v",
            "LPUSH s a",
            "LPUSHX s a",
            "LPOP l",
            "RPOP l 2",
            "LPOP l 0",
            "LPOP nope",
            "LPOP nope 2",
            "LPOP nope 0",
            "LPOP s",
            "LPOP l -1",
            "LLEN nope",
            "LRANGE nope 0 -1",
            "LINDEX nope 0",
            "LINDEX l x",
            "LPOS nope a",
            "LPOS nope a COUNT 0",
            "LLEN s",
            "LSET l 0 q",
            "LSET l 99 q",
            "LSET nope 0 q",
            "LSET l x q",
            "LINSERT l BEFORE q w",
            "LINSERT l AFTER zz w",
            "LINSERT nope BEFORE a b",
            "LINSERT s BEFORE a b",
            "LREM l 0 w",
            "LREM l 1 nothing",
            "LREM nope 1 a",
            "LREM l 0 q",
            "LTRIM l 0 -1",
            "LTRIM l 1 0",
            "LTRIM nope 0 1",
            "EXISTS l",
            "RPUSH r a",
            "LREM r 0 a",
            "RPUSH t a b",
            "LTRIM t 5 10",
            "RPUSH p a b c",
            "RPOP p 5",
            "RPUSH p a",
            "LPOP p",
        ],
    );
}

#[test]
fn list_moves() {
    check(
        FLAGS,
        &[
            "RPUSH a 1 2",
            "LMOVE a b LEFT RIGHT",
            "LMOVE a b RIGHT LEFT",
            "LMOVE b b LEFT RIGHT",
            "LMOVE b b RIGHT RIGHT",
            "LMOVE nope b LEFT LEFT",
            "SET s v",
            "LMOVE b s LEFT LEFT",
            "LMOVE s b LEFT LEFT",
            "RPOPLPUSH b c",
            "RPOPLPUSH c c",
            "RPOPLPUSH b c",
            "RPOPLPUSH nope c",
            "RPUSH one x",
            "LMOVE one one LEFT LEFT",
            "LMOVE one two LEFT LEFT",
            "RPUSH m 1 2 3",
            "LMPOP 2 nope m LEFT COUNT 2",
            "LMPOP 1 m RIGHT COUNT 5",
            "LMPOP 1 nope LEFT",
            "RPUSH m 1",
            "LMPOP 2 s m LEFT",
            "LMPOP 2 m s LEFT",
            "LMPOP 0 m LEFT",
        ],
    );
}

#[test]
fn blocking_lists_that_return_at_once() {
    check(
        FLAGS,
        &[
            "RPUSH b1 x y",
            "BLPOP nope b1 0",
            "BRPOP b1 0",
            "RPUSH b1 x y z",
            "BLMOVE b1 b2 LEFT LEFT 0",
            "BLMOVE b2 b2 LEFT RIGHT 0",
            "BRPOPLPUSH b1 b2 0",
            "BRPOPLPUSH b1 b1 0",
            "BLMPOP 0 2 nope b2 RIGHT COUNT 5",
            "SET s v",
            "BLPOP s 0",
            "RPUSH b1 q",
            "BLMOVE b1 s LEFT LEFT 0",
            "BRPOP b1 s 0",
            "BLMPOP 0 1 b1 LEFT",
            "RPUSH b3 a",
            "BLMOVE b3 b4 RIGHT LEFT 0",
        ],
    );
}

#[test]
fn sorted_set_adds() {
    check(
        FLAGS,
        &[
            "ZADD z 1 a 2 b",
            "ZADD z 1 a",
            "ZADD z 1 a 2 b CH",
            "ZADD z NX 5 a",
            "ZADD z NX 3 c",
            "ZADD z XX 9 a",
            "ZADD z XX 9 d",
            "ZADD nope XX 1 a",
            "EXISTS nope",
            "ZADD z GT 1 a",
            "ZADD z GT 10 a",
            "ZADD z LT 20 a",
            "ZADD z LT 1 a",
            "ZADD z GT CH 1 a 30 b",
            "ZADD z CH 1 a 7 e",
            "ZADD z CH 1 a 7 e",
            "ZADD z INCR 2 a",
            "ZADD z INCR 0 a",
            "ZADD z NX INCR 2 a",
            "ZADD z XX INCR 1 zz",
            "ZADD z GT INCR -1 a",
            "ZADD zi INCR 1 m",
            "ZADD zx XX INCR 1 m",
            "ZINCRBY z 1 a",
            "ZINCRBY z 0 a",
            "ZINCRBY z 1 new",
            "ZINCRBY fresh 1 new",
            "ZADD z INCR +inf a",
            "ZADD z INCR -inf a",
            "ZINCRBY z -inf a",
            "SET s v",
            "ZADD s 1 a",
            "ZINCRBY s 1 a",
            "ZADD z x a",
            "ZADD z NX XX 1 a",
            "ZADD z 1 a 2",
            "ZADD zn GT 5 a",
            "ZADD zl LT 5 a",
            "ZADD zc NX CH 5 a",
        ],
    );
}

#[test]
fn sorted_set_removals() {
    check(
        FLAGS,
        &[
            "ZADD z 1 a 2 b 3 c",
            "ZREM z a nope",
            "ZREM z nope",
            "ZREM nope a",
            "SET s v",
            "ZREM s a",
            "ZREM z b c a",
            "EXISTS z",
            "ZADD y 1 a 2 b 3 c 4 d",
            "ZREMRANGEBYSCORE y 10 20",
            "ZREMRANGEBYSCORE y 1 1",
            "ZREMRANGEBYSCORE y x 1",
            "ZREMRANGEBYLEX y [b [b",
            "ZREMRANGEBYLEX y (z +",
            "ZREMRANGEBYLEX y x +",
            "ZREMRANGEBYRANK y 5 10",
            "ZREMRANGEBYRANK y 0 -1",
            "ZREMRANGEBYRANK nope 0 1",
            "ZREMRANGEBYSCORE nope 0 1",
            "ZREMRANGEBYLEX s - +",
            "ZADD y 1 a 2 b",
            "ZREMRANGEBYLEX y - +",
            "ZADD y 1 a 2 b",
            "ZREMRANGEBYSCORE y -inf +inf",
            "ZADD p 1 a 2 b 3 c 4 d",
            "ZPOPMIN p",
            "ZPOPMAX p 2",
            "ZPOPMIN p 0",
            "ZPOPMIN nope",
            "ZPOPMAX nope 3",
            "ZPOPMIN s",
            "ZPOPMAX p 100",
            "ZADD q 1 a 2 b 3 c",
            "ZMPOP 2 nope q MIN COUNT 1",
            "ZMPOP 1 q MAX COUNT 9",
            "ZMPOP 1 nope MIN",
            "ZADD q 1 a",
            "ZMPOP 2 s q MIN",
            "ZMPOP 2 q s MAX",
            "ZADD bz 1 a 2 b 3 c",
            "BZPOPMIN nope bz 0",
            "BZPOPMAX bz 0",
            "BZMPOP 0 2 nope bz MIN COUNT 5",
            "ZADD bz 1 a",
            "BZPOPMIN s bz 0",
            "BZPOPMAX bz s 0",
            "BZMPOP 0 1 s MAX",
        ],
    );
}

#[test]
fn sorted_set_stores() {
    check(
        FLAGS,
        &[
            "ZADD u1 1 a 2 b",
            "ZADD u2 3 b 4 c",
            "ZUNIONSTORE dst 2 u1 u2",
            "ZINTERSTORE dst 2 u1 u2 WEIGHTS 2 3",
            "ZDIFFSTORE dst 2 u1 u2",
            "ZINTERSTORE dst 2 u1 nope",
            "EXISTS dst",
            "ZINTERSTORE dst 2 u1 nope",
            "ZDIFFSTORE dst 2 u1 u1",
            "ZUNIONSTORE dst 1 nope",
            "SET s v",
            "ZUNIONSTORE dst 2 u1 s",
            "ZUNIONSTORE s 1 u1",
            "ZUNIONSTORE u1 2 u1 u2",
            "ZUNIONSTORE dst 2 u1 u2 AGGREGATE x",
            "ZRANGESTORE dst u1 0 -1",
            "ZRANGESTORE dst u1 5 10",
            "ZRANGESTORE dst u1 5 10",
            "ZRANGESTORE dst nope 0 -1",
            "ZRANGESTORE dst s 0 -1",
            "ZRANGESTORE dst u1 (1 +inf BYSCORE",
            "ZRANGESTORE dst u1 + - BYLEX REV LIMIT 0 1",
            "ZRANGESTORE dst nope 0 -1",
            "ZRANGESTORE u1 u1 0 0",
            "ZRANGESTORE s u2 0 -1",
            "ZRANGESTORE dst u2 x 1",
            // An empty result onto a destination past its time: `del`, as Redis's
            // dbDelete skips the expiry check.
            "ZADD dst 1 a",
            "PEXPIRE dst 3",
            "@sleep 8",
            "ZINTERSTORE dst 2 u1 nope",
            "ZADD dst 1 a",
            "PEXPIRE dst 3",
            "@sleep 8",
            "ZRANGESTORE dst nope 0 -1",
        ],
    );
}

#[test]
fn reads_count_misses() {
    check(
        &["KEAm", "Em", "AKEmn"],
        &[
            "ZADD z 1 a",
            "RPUSH l a",
            "ZSCORE nope a",
            "ZMSCORE nope a b",
            "ZCARD nope",
            "ZCOUNT nope 0 1",
            "ZLEXCOUNT nope - +",
            "ZRANGE nope 0 -1",
            "ZRANGEBYSCORE nope 0 1",
            "ZREVRANGEBYLEX nope + -",
            "ZRANK nope a",
            "ZREVRANK nope a",
            "ZRANDMEMBER nope",
            "ZRANDMEMBER nope 2",
            "ZSCAN nope 0",
            "ZUNION 2 nope z",
            "ZINTER 2 z nope",
            "ZDIFF 1 nope",
            "ZINTERCARD 2 nope z",
            "LLEN nope",
            "LRANGE nope 0 1",
            "LINDEX nope 1",
            "LPOS nope a",
            "LPOP nope",
            "LMOVE nope l LEFT LEFT",
            "ZPOPMIN nope",
            "ZREM nope a",
            "ZUNIONSTORE d 2 nope z",
            "ZRANGESTORE d nope 0 -1",
            "BLPOP nope l 0",
        ],
    );
}

#[test]
fn expired_keys_first() {
    check(
        &["KEA", "AKEmn", "Kl", "Ez", "KEAm"],
        &[
            "RPUSH l a b",
            "PEXPIRE l 3",
            "@sleep 8",
            "LPUSHX l c",
            "RPUSH l a",
            "PEXPIRE l 3",
            "@sleep 8",
            "RPUSH l b",
            "ZADD z 1 a",
            "PEXPIRE z 3",
            "@sleep 8",
            "ZADD z 2 b",
            "ZADD u 1 a",
            "ZADD dst 1 x",
            "PEXPIRE dst 3",
            "@sleep 8",
            "ZUNIONSTORE dst 1 u",
            "RPUSH m a",
            "RPUSH d x",
            "PEXPIRE d 3",
            "@sleep 8",
            "LMOVE m d LEFT LEFT",
            "ZADD y 1 a",
            "PEXPIRE y 3",
            "@sleep 8",
            "ZRANGESTORE dst y 0 -1",
            "PEXPIRE dst 3",
            "@sleep 8",
            "ZINTERSTORE dst 2 u nope",
            // Not here: ZRANGESTORE with an empty result onto a destination whose time
            // passed. Redis's `dbDelete` ignores expiry and reports `del`; redish expires
            // it (`expired`). See the commit message.
        ],
    );
}

#[test]
fn random_lists_and_sorted_sets() {
    random(
        &["KEA", "AKEmn", "KEAm"],
        &[
            "RPUSH {k} {v} {v}",
            "LPUSH {k} {v}",
            "LPUSHX {k} {v}",
            "RPUSHX {k} {v}",
            "LPOP {k}",
            "RPOP {k} {n}",
            "LSET {k} {n} {v}",
            "LINSERT {k} BEFORE {v} {v}",
            "LREM {k} {n} {v}",
            "LTRIM {k} {n} {n}",
            "LRANGE {k} 0 -1",
            "LMOVE {k} {k} LEFT RIGHT",
            "RPOPLPUSH {k} {k}",
            "LMPOP 2 {k} {k} LEFT COUNT 2",
            // A push first, so the pop over all keys returns at once (or WRONGTYPE).
            "RPUSH {k} {v};BLPOP k1 k2 k3 0",
            "RPUSH k1 {v};BLMOVE k1 {k} RIGHT LEFT 0",
            "ZADD {k} {n} {v};BZPOPMIN k1 k2 k3 0",
            "ZADD {k} {n} {v};BZMPOP 0 3 k1 k2 k3 MAX COUNT 2",
            "ZADD {k} {n} {v} {n} {v}",
            "ZADD {k} NX CH {n} {v}",
            "ZADD {k} XX GT {n} {v}",
            "ZADD {k} LT INCR {n} {v}",
            "ZINCRBY {k} {n} {v}",
            "ZREM {k} {v} {v}",
            "ZREMRANGEBYSCORE {k} {n} {n}",
            "ZREMRANGEBYRANK {k} {n} {n}",
            "ZREMRANGEBYLEX {k} - [{v}",
            "ZPOPMIN {k} {n}",
            "ZMPOP 2 {k} {k} MAX COUNT 2",
            "ZUNIONSTORE {k} 2 {k} {k}",
            "ZINTERSTORE {k} 2 {k} {k}",
            "ZDIFFSTORE {k} 2 {k} {k}",
            "ZRANGESTORE {k} {k} {n} {n}",
            "ZSCORE {k} {v}",
            "SET {k} {v}",
            "DEL {k}",
            // Expired keys are found at once (see `expired_keys_first` for the commands
            // meeting them): an empty ZRANGESTORE onto one differs on purpose.
            "PEXPIRE {k} 3;@sleep 6;EXISTS k1 k2 k3",
        ],
    );
}

/// The pmessage a `PSUBSCRIBE __key*@*__:*` subscriber gets for each `(channel, message)`.
fn pmessages(events: &[(&str, &str)]) -> String {
    let bulk = |s: &str| format!("${}\r\n{s}\r\n", s.len());
    events
        .iter()
        .map(|(chan, msg)| {
            format!(
                "*4\r\n{}{}{}{}",
                bulk("pmessage"),
                bulk("__key*@*__:*"),
                bulk(chan),
                bulk(msg)
            )
        })
        .collect()
}

/// Both channels of one event in database 3, keyspace then keyevent (flags `KEA`).
fn event(key: &'static str, name: &'static str) -> [(String, &'static str); 2] {
    [
        (format!("__keyspace@3__:{key}"), name),
        (format!("__keyevent@3__:{name}"), key),
    ]
}

fn expect(events: &[[(String, &'static str); 2]]) -> String {
    let flat: Vec<(&str, &str)> = events
        .iter()
        .flatten()
        .map(|(c, m)| (c.as_str(), *m))
        .collect();
    pmessages(&flat)
}

/// Blocked clients served later by another client's push report their pops (and the
/// BLMOVE push, and the `del` of an emptied key) in their own database, after the pushing
/// command's event. The expected messages are what redis-server 7.0.15 published to a
/// `PSUBSCRIBE __key*@*__:*` redis-cli for the same steps (`--notify-keyspace-events KEA`,
/// clients on database 3, each blocked one started in this order).
#[test]
fn served_blocked_clients_notify_in_their_database() {
    let mut srv = sim::Server::new(8);
    srv.store
        .set_setting("notify-keyspace-events", "KEA".to_owned());
    let sub = 7;
    assert!(srv
        .send(sub, "PSUBSCRIBE __key*@*__:*\r\n")
        .contains("psubscribe"));
    for i in 0..7 {
        assert_eq!(srv.send(i, "SELECT 3\r\n"), "+OK\r\n");
    }
    assert_eq!(srv.send(1, "BLMOVE src dst RIGHT LEFT 0\r\n"), "");
    assert_eq!(srv.send(2, "BLPOP q 0\r\n"), "");
    assert_eq!(srv.send(3, "BZPOPMIN z 0\r\n"), "");
    assert_eq!(srv.send(4, "BLMPOP 0 1 q RIGHT COUNT 5\r\n"), "");
    assert_eq!(srv.send(5, "BZMPOP 0 1 z MAX COUNT 5\r\n"), "");

    assert_eq!(srv.send(0, "RPUSH src a\r\n"), ":1\r\n");
    assert_eq!(srv.take(1), "$1\r\na\r\n");
    assert_eq!(
        srv.take(sub),
        expect(&[
            event("src", "rpush"),
            event("dst", "lpush"),
            event("src", "rpop"),
            event("src", "del"),
        ])
    );

    assert_eq!(srv.send(0, "RPUSH q a b c\r\n"), ":3\r\n");
    assert_eq!(srv.take(2), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(srv.take(4), "*2\r\n$1\r\nq\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    assert_eq!(
        srv.take(sub),
        expect(&[
            event("q", "rpush"),
            event("q", "lpop"),
            event("q", "rpop"),
            event("q", "del"),
        ])
    );

    assert_eq!(srv.send(0, "ZADD z 1 a 2 b 3 c\r\n"), ":3\r\n");
    assert!(srv.take(3).starts_with("*3\r\n$1\r\nz\r\n$1\r\na\r\n"));
    assert!(srv.take(5).starts_with("*2\r\n$1\r\nz\r\n*2\r\n"));
    assert_eq!(
        srv.take(sub),
        expect(&[
            event("z", "zadd"),
            event("z", "zpopmin"),
            event("z", "zpopmax"),
            event("z", "del"),
        ])
    );

    // BLMOVE onto a key of another type: the client gets WRONGTYPE, and nothing is popped
    // or notified beyond the push.
    assert_eq!(srv.send(0, "SET s v\r\n"), "+OK\r\n");
    assert_eq!(srv.send(6, "BLMOVE w s LEFT LEFT 0\r\n"), "");
    assert_eq!(srv.send(0, "RPUSH w x\r\n"), ":1\r\n");
    assert!(srv.take(6).starts_with("-WRONGTYPE"));
    assert_eq!(
        srv.take(sub),
        expect(&[event("s", "set"), event("w", "rpush")])
    );
    assert_eq!(srv.send(0, "LLEN w\r\n"), ":1\r\n");
}
