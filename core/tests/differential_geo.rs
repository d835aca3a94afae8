//! Differential tests of the geo commands against a real `redis-server` 7.0 (see
//! `common/mod.rs`): the same lines go to a redish [`Session`] and to Redis, in RESP2 and
//! RESP3, and the replies must match byte for byte — coordinates, distances and hashes to
//! the last digit Redis prints, error texts, and what searches find near cell edges.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_geo`
#![allow(clippy::disallowed_methods)]

mod common;

use common::{now_ms, show, Conn, Redis};

use redish_core::{Session, SessionConfig, Store};

/// Both servers, one client of each.
struct World {
    redis: Redis,
    store: Store,
    session: Session,
    conn: Conn,
}

impl World {
    fn start() -> Option<World> {
        let redis = Redis::start(&[])?;
        let conn = redis.connect();
        let mut store = Store::default();
        let session = Session::new(store.next_client_id(), SessionConfig::default());
        Some(World {
            redis,
            store,
            session,
            conn,
        })
    }

    fn reset(&mut self, resp3: bool) {
        self.conn = self.redis.connect();
        self.conn.call(&[b"FLUSHALL".to_vec()]);
        self.store = Store::default();
        self.session = Session::new(self.store.next_client_id(), SessionConfig::default());
        if resp3 {
            self.both(&split("HELLO 3"));
        }
    }

    fn ours(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.session.handle_bytes(&common::encode(args));
        self.session.process(&mut self.store, now_ms());
        let out = self.session.poll_transmit().to_vec();
        self.session.consume_transmit(out.len());
        out
    }

    fn both(&mut self, args: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
        let theirs = self.conn.call(args);
        let ours = self.ours(args);
        (theirs, ours)
    }
}

/// HELLO's connection id.
fn normalise(reply: &[u8]) -> Vec<u8> {
    let marker = b"$2\r\nid\r\n:";
    let Some(i) = reply.windows(marker.len()).position(|w| w == marker) else {
        return reply.to_vec();
    };
    let start = i + marker.len();
    let end = start + reply[start..].iter().position(|&c| c == b'\r').unwrap();
    [&reply[..start], b"<id>", &reply[end..]].concat()
}

/// Words of a line; `\xHH` escapes inside a word give raw bytes, `""` an empty argument and
/// `@x70` a run of 70 `x`.
fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "\"\"" => Vec::new(),
            t if t.starts_with("@x") => vec![b'x'; t[2..].parse().unwrap()],
            t => unescape(t),
        })
        .collect()
}

fn unescape(t: &str) -> Vec<u8> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 3 < b.len() {
            out.push(u8::from_str_radix(&t[i + 2..i + 4], 16).unwrap());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Runs the lines in both protocols; the replies must match byte for byte. `@skip CMD`
/// runs a command on both sides without comparing (setup whose reply differs by design).
fn both_protocols(lines: &[&str]) {
    let Some(mut world) = World::start() else {
        return;
    };
    for resp3 in [false, true] {
        world.reset(resp3);
        for (step, line) in lines.iter().enumerate() {
            let (skip, cmd) = match line.strip_prefix("@skip ") {
                Some(c) => (true, c),
                None => (false, *line),
            };
            let (theirs, ours) = world.both(&split(cmd));
            if !skip && normalise(&theirs) != normalise(&ours) {
                panic!(
                    "RESP{} step {step} `{line}`:\n  redis:  {}\n  redish: {}",
                    if resp3 { 3 } else { 2 },
                    show(&theirs),
                    show(&ours)
                );
            }
        }
    }
}

/// A deterministic xorshift, so random cases replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A float in `lo..hi` printed with up to 6 decimals.
    fn coord(&mut self, lo: f64, hi: f64) -> String {
        let f = (self.next() % 1_000_000_000) as f64 / 1e9;
        format!("{:.6}", lo + (hi - lo) * f)
    }
}

const SICILY: &str = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania";

#[test]
fn geoadd_pos_dist_hash() {
    both_protocols(&[
        SICILY,
        "GEOADD Sicily 13.361389 38.115556 Palermo",
        "GEOADD Sicily CH 13.361389 38.115556 Palermo 13.5 38.5 Palermo",
        "GEOADD Sicily NX 1 1 Palermo 2 2 New",
        "GEOADD Sicily XX CH 3 3 New 4 4 Nope",
        "GEOADD Sicily xx nx 1 1 a",
        "GEOADD Sicily ch ch ch",
        "GEOADD Sicily ch 1 2",
        "GEOADD Sicily 1 2",
        "GEOADD Sicily 200 1 a",
        "GEOADD Sicily 1 86 a",
        "GEOADD Sicily -180.0000001 1 a",
        "GEOADD Sicily 1 -85.05112879 a",
        "GEOADD Sicily 180 85.05112878 edge1 -180 -85.05112878 edge2",
        "GEOADD Sicily inf 1 a",
        "GEOADD Sicily abc 1 a",
        "GEOADD Sicily 1 abc a",
        "GEOADD Sicily 1 2 ok 1 x bad",
        "GEOADD Sicily 0 0 zero -0 -0 negzero 0.000001 0.000001 tiny",
        "ZRANGE Sicily 0 -1 WITHSCORES",
        "GEOPOS Sicily Palermo Catania New Nope edge1 edge2 zero negzero tiny",
        "GEOPOS Sicily",
        "GEOPOS nokey a b",
        "GEOHASH Sicily Palermo Catania New Nope edge1 edge2 zero tiny",
        "GEOHASH nokey a",
        "GEOHASH Sicily",
        "GEODIST Sicily Palermo Catania",
        "GEODIST Sicily Palermo Catania km",
        "GEODIST Sicily Palermo Catania KM",
        "GEODIST Sicily Palermo Catania mi",
        "GEODIST Sicily Palermo Catania ft",
        "GEODIST Sicily Palermo Catania m",
        "GEODIST Sicily Palermo Catania yards",
        "GEODIST Sicily Palermo Catania km extra",
        "GEODIST Sicily Palermo Palermo",
        "GEODIST Sicily Palermo Nope",
        "GEODIST nokey a b",
        "GEODIST nokey a b parsecs",
        "GEODIST Sicily edge1 edge2 km",
        "GEOADD lon 10 10 a 10 20 b 10 -30.5 c 10.000001 50 d",
        "GEODIST lon a b",
        "GEODIST lon a c",
        "GEODIST lon b c km",
        "GEODIST lon a d",
        "ZADD odd -1 neg 1e300 huge 5 five 4503599627370496 top 4503599627370495 max",
        "GEOPOS odd neg huge five top max",
        "GEOHASH odd neg huge five top max",
        "GEODIST odd neg huge",
        "SET str x",
        "GEOADD str 1 1 a",
        "GEOPOS str a",
        "GEOHASH str a",
        "GEODIST str a b",
        "GEODIST str a b foo",
        "GEOADD",
        "GEOADD k 1 2",
        "GEODIST k a",
        "GEOPOS",
        "TYPE Sicily",
        "OBJECT ENCODING Sicily",
    ]);
}

#[test]
fn georadius_and_bymember() {
    both_protocols(&[
        SICILY,
        "GEOADD Sicily 13.583333 37.316667 Agrigento 12.758489 38.788135 edge1 17.241510 38.788135 edge2",
        "GEORADIUS Sicily 15 37 200 km",
        "GEORADIUS Sicily 15 37 200 km ASC",
        "GEORADIUS Sicily 15 37 200 km DESC",
        "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC",
        "GEORADIUS Sicily 15 37 200 km withcoord withdist",
        "GEORADIUS Sicily 15 37 200 km WITHHASH COUNT 1",
        "GEORADIUS Sicily 15 37 200 km COUNT 2 DESC WITHDIST",
        "GEORADIUS Sicily 15 37 200 km COUNT 1 ANY",
        "GEORADIUS Sicily 15 37 200 km COUNT 3 ANY ASC",
        "GEORADIUS Sicily 15 37 200 km ANY",
        "GEORADIUS Sicily 15 37 200 km COUNT 0",
        "GEORADIUS Sicily 15 37 200 km COUNT -1",
        "GEORADIUS Sicily 15 37 200 km COUNT x",
        "GEORADIUS Sicily 15 37 200 km COUNT",
        "GEORADIUS Sicily 15 37 200 km BOGUS",
        "GEORADIUS Sicily 15 37 200 parsecs",
        "GEORADIUS Sicily 15 37 -1 km",
        "GEORADIUS Sicily 15 37 x km",
        "GEORADIUS Sicily 15 91 1 km",
        "GEORADIUS Sicily x 37 1 km",
        "GEORADIUS Sicily 15 37 0 km",
        "GEORADIUS Sicily 15 37 10000 km",
        "GEORADIUS Sicily 15 37 30000 km WITHDIST",
        "GEORADIUS Sicily 15 37 1 mi",
        "GEORADIUS Sicily 15 37 100000 ft WITHDIST",
        "GEORADIUS Sicily 15 37 200 km STORE dst",
        "ZRANGE dst 0 -1 WITHSCORES",
        "GEORADIUS Sicily 15 37 200 km STOREDIST dst2 COUNT 2",
        "ZRANGE dst2 0 -1 WITHSCORES",
        "OBJECT ENCODING dst2",
        "GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST",
        "GEORADIUS Sicily 15 37 200 km STORE",
        "GEORADIUS Sicily 0 0 1 km STORE dst",
        "EXISTS dst",
        "GEORADIUS nokey 0 0 1 km STORE dst2",
        "EXISTS dst2",
        "GEORADIUS nokey 0 0 1 km",
        "GEORADIUS nokey 0 0 -1 km",
        "GEORADIUS_RO Sicily 15 37 200 km WITHDIST",
        "GEORADIUS_RO Sicily 15 37 200 km STORE dst",
        "GEORADIUS_RO Sicily 15 37 200 km STOREDIST dst",
        "GEORADIUSBYMEMBER Sicily Agrigento 100 km",
        "GEORADIUSBYMEMBER Sicily Agrigento 100 km WITHDIST WITHCOORD DESC",
        "GEORADIUSBYMEMBER Sicily Nope 100 km",
        "GEORADIUSBYMEMBER Sicily Agrigento -100 km",
        "GEORADIUSBYMEMBER Sicily Agrigento 100 km STORE d3",
        "ZRANGE d3 0 -1 WITHSCORES",
        "GEORADIUSBYMEMBER nokey Agrigento -100 km",
        "GEORADIUSBYMEMBER nokey Agrigento 100 km STORE d3",
        "EXISTS d3",
        "GEORADIUSBYMEMBER nokey Agrigento 100 km BOGUS",
        "GEORADIUSBYMEMBER nokey Agrigento 100 km ANY",
        "GEORADIUSBYMEMBER_RO Sicily Agrigento 100 km",
        "GEORADIUSBYMEMBER_RO Sicily Agrigento 100 km STORE x",
        "SET str x",
        "GEORADIUS str 15 37 200 km",
        "GEORADIUS str 15 37 200 km BOGUS",
        "GEORADIUSBYMEMBER str a 1 km",
        "GEORADIUS Sicily 15 37 200",
        "GEORADIUSBYMEMBER Sicily a 1",
    ]);
}

#[test]
fn geosearch_and_store() {
    both_protocols(&[
        SICILY,
        "GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km DESC WITHDIST",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2 ANY",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 100 100 mi",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 m",
        "GEOSEARCH Sicily FROMMEMBER Nope BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 1 1 BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 1 1 FROMMEMBER Palermo BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km BYBOX 1 1 km",
        "GEOSEARCH Sicily BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 1 1 ASC",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX -1 1 km",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX x 1 km",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 y km",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 1 yd",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 1",
        "GEOSEARCH Sicily FROMLONLAT 1 BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km STORE x",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km STOREDIST",
        "GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km ANY",
        "geosearch Sicily FROMLONLAT 1 1 ASC BYRADIUS",
        "GeoSearch Sicily BYRADIUS 1 km",
        "GeoSearch Sicily FROMLONLAT 1 1 ASC ASC",
        "GEOSEARCH nokey FROMMEMBER x BYRADIUS 1 km",
        "GEOSEARCH nokey FROMMEMBER x BYRADIUS -1 km",
        "GEOSEARCH nokey FROMMEMBER x",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC",
        "ZRANGE dst 0 -1 WITHSCORES",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2 STOREDIST",
        "ZRANGE dst 0 -1 WITHSCORES",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 0 0 BYRADIUS 1 km",
        "EXISTS dst",
        "GEOSEARCHSTORE dst nokey FROMMEMBER x BYRADIUS 1 km",
        "GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 100 km",
        "ZRANGE Sicily 0 -1 WITHSCORES",
        "SET str x",
        "GEOSEARCH str FROMLONLAT 1 1 BYRADIUS 1 km",
        "GEOSEARCHSTORE dst str FROMLONLAT 1 1 BYRADIUS 1 km",
        "GEOSEARCHSTORE str Sicily FROMMEMBER Palermo BYRADIUS 100 km",
        "TYPE str",
    ]);
}

/// Near the poles, the antimeridian and the cell edges, searches of many sizes must find the
/// same members in the same order.
#[test]
fn random_searches() {
    let Some(mut world) = World::start() else {
        return;
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let cases: usize = std::env::var("REDISH_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    for case in 0..cases {
        world.reset(case % 2 == 1);
        // A cluster of points around a random center, some far away.
        let (clon, clat) = match case % 4 {
            0 => (rng.coord(-180.0, 180.0), rng.coord(-85.0, 85.0)),
            1 => (rng.coord(170.0, 180.0), rng.coord(-10.0, 10.0)),
            2 => (rng.coord(-20.0, 20.0), rng.coord(75.0, 85.05)),
            _ => (rng.coord(-1.0, 1.0), rng.coord(-1.0, 1.0)),
        };
        let (cx, cy): (f64, f64) = (clon.parse().unwrap(), clat.parse().unwrap());
        let spread = [0.01, 0.5, 5.0, 60.0][(rng.next() % 4) as usize];
        let mut add = vec![b"GEOADD".to_vec(), b"g".to_vec()];
        for i in 0..60 {
            let lon =
                (cx + (rng.next() % 2001) as f64 / 1000.0 * spread - spread).clamp(-180.0, 180.0);
            let lat =
                (cy + (rng.next() % 2001) as f64 / 1000.0 * spread - spread).clamp(-85.0, 85.0);
            add.push(format!("{lon:.6}").into_bytes());
            add.push(format!("{lat:.6}").into_bytes());
            add.push(format!("m{i}").into_bytes());
        }
        let (theirs, ours) = world.both(&add);
        assert_eq!(show(&theirs), show(&ours), "case {case}: GEOADD");
        let radius_km = spread * 111.0 * [0.1, 0.5, 1.0, 2.0][(rng.next() % 4) as usize];
        let lines = [
            format!("GEOSEARCH g FROMLONLAT {clon} {clat} BYRADIUS {radius_km} km ASC WITHDIST WITHCOORD WITHHASH"),
            format!("GEOSEARCH g FROMLONLAT {clon} {clat} BYBOX {} {radius_km} km DESC WITHDIST", radius_km * 1.5),
            format!("GEOSEARCH g FROMMEMBER m7 BYRADIUS {radius_km} km WITHDIST"),
            format!("GEOSEARCH g FROMMEMBER m3 BYBOX {radius_km} {radius_km} km"),
            format!("GEORADIUS g {clon} {clat} {} m WITHDIST COUNT 5", radius_km * 1000.0),
            format!("GEORADIUSBYMEMBER g m1 {radius_km} km COUNT 3 ANY"),
            "GEOPOS g m0 m1 m2 m3 m4 m5 m6 m7 m8 m9".to_owned(),
            "GEOHASH g m0 m1 m2 m3 m4 m5 m6 m7 m8 m9".to_owned(),
            "GEODIST g m0 m1 km".to_owned(),
            "GEODIST g m2 m3 mi".to_owned(),
            "GEODIST g m4 m5".to_owned(),
        ];
        for line in &lines {
            let (theirs, ours) = world.both(&split(line));
            assert_eq!(show(&theirs), show(&ours), "case {case}: {line}");
        }
    }
}

/// Members at the same point are at the same distance: the order Redis's sort leaves them
/// in (with and without COUNT) must be ours.
#[test]
fn equal_distances() {
    let mut add = String::from("GEOADD dup");
    for i in 0..40 {
        add.push_str(&format!(" 10 10 m{i}"));
    }
    for i in 0..10 {
        add.push_str(&format!(" 10.0{i} 10 n{i}"));
    }
    both_protocols(&[
        &add,
        "GEOSEARCH dup FROMLONLAT 10 10 BYRADIUS 100 km",
        "GEOSEARCH dup FROMLONLAT 10 10 BYRADIUS 100 km ASC",
        "GEOSEARCH dup FROMLONLAT 10 10 BYRADIUS 100 km DESC",
        "GEOSEARCH dup FROMLONLAT 10 10 BYRADIUS 100 km ASC COUNT 5",
        "GEOSEARCH dup FROMLONLAT 10 10 BYRADIUS 100 km DESC COUNT 12",
        "GEOSEARCH dup FROMLONLAT 10 10 BYRADIUS 100 km COUNT 45",
        "GEOSEARCH dup FROMLONLAT 10 10 BYRADIUS 100 km COUNT 7 ANY",
        "GEOSEARCH dup FROMLONLAT 10 10 BYRADIUS 100 km COUNT 7 ANY DESC",
    ]);
}

#[test]
fn command_docs_and_info() {
    let mut lines = Vec::new();
    for name in [
        "geoadd",
        "geodist",
        "geohash",
        "geopos",
        "georadius",
        "georadius_ro",
        "georadiusbymember",
        "georadiusbymember_ro",
        "geosearch",
        "geosearchstore",
    ] {
        lines.push(format!("COMMAND INFO {name}"));
        lines.push(format!("COMMAND DOCS {name}"));
    }
    lines.push("COMMAND GETKEYS GEOSEARCHSTORE dst src FROMLONLAT 1 1 BYRADIUS 1 km".to_owned());
    lines.push("COMMAND GETKEYS GEORADIUS src 1 1 1 km STORE dst".to_owned());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    both_protocols(&lines);
}

/// GEOADD reports `zadd` (Redis runs it as ZADD), the searches that store report
/// `georadiusstore` / `geosearchstore`, or `del` when an empty result removes the
/// destination.
#[test]
fn notifications() {
    common::notify::check(
        &["KEA", "Kz", "Eg", "AKEm"],
        &[
            SICILY,
            "GEOADD Sicily 13.361389 38.115556 Palermo",
            "GEOADD Sicily CH XX 13.5 38.5 Palermo",
            "GEOADD Sicily NX 13.5 38.5 Palermo",
            "GEOADD Sicily 200 1 a",
            "GEORADIUS Sicily 15 37 200 km STORE dst",
            "GEORADIUS Sicily 15 37 200 km STOREDIST dst",
            "GEORADIUSBYMEMBER Sicily Palermo 10 km STORE dst2",
            "GEOSEARCHSTORE dst3 Sicily FROMLONLAT 15 37 BYRADIUS 200 km",
            "GEOSEARCHSTORE dst3 Sicily FROMLONLAT 0 0 BYRADIUS 1 km",
            "GEORADIUS Sicily 0 0 1 km STORE dst",
            "GEORADIUS nokey 0 0 1 km STORE dst2",
            "GEOSEARCHSTORE dst nokey FROMMEMBER x BYRADIUS 1 km",
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km",
            "GEOPOS Sicily Palermo",
            "GEOPOS nokey a",
            "GEODIST nokey a b",
            "GEOHASH nokey a",
            "GEOSEARCH nokey FROMMEMBER x BYRADIUS 1 km",
            "GEOSEARCHSTORE d nokey FROMMEMBER x BYRADIUS 1 km",
            "GEORADIUS nokey 1 1 1 km STORE d",
        ],
    );
}

/// The effects log (AOF, replicas) of `lines` run on a fresh store, one line per effect.
fn logged(lines: &[&str]) -> Vec<String> {
    let mut store = Store::default();
    store.set_effects_log(true);
    let mut session = Session::new(store.next_client_id(), SessionConfig::default());
    for line in lines {
        session.handle_bytes(&common::encode(&split(line)));
        session.process(&mut store, 1_700_000_000_000);
        let n = session.poll_transmit().len();
        session.consume_transmit(n);
    }
    let mut got = Vec::new();
    while let Some(e) = store.poll_effect() {
        let args: Vec<String> = e
            .args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        got.push(args.join(" "));
    }
    got
}

/// Redis replaces GEOADD by the ZADD it runs, so that is what its AOF and replicas get;
/// a GEOADD that changes nothing is not logged; the storing searches are logged as sent.
#[test]
fn geoadd_is_logged_as_zadd() {
    assert_eq!(
        logged(&[
            SICILY,
            "GEOADD Sicily NX 13.361389 38.115556 Palermo",
            "GEOADD Sicily ch XX 13 38 Palermo",
            "GEORADIUS Sicily 15 37 200 km STORE dst",
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km",
        ]),
        [
            "zadd Sicily 3479099956230698 Palermo 3479447370796909 Catania",
            "zadd Sicily ch XX 3479065152021743 Palermo",
            "GEORADIUS Sicily 15 37 200 km STORE dst",
        ]
    );
}

/// Keyspace hits and misses: the searches look their source up as a read (even the ones
/// that store), GEOADD as a write, SORT's BY and GET keys as reads, RESTORE as a write.
#[test]
fn keyspace_hits_and_misses() {
    let Some(mut world) = World::start() else {
        return;
    };
    world.reset(false);
    let lines = [
        SICILY,
        "GEOADD nokey 1 1 a",
        "GEOPOS Sicily Palermo",
        "GEOPOS nokey a",
        "GEODIST Sicily Palermo Catania",
        "GEOHASH nokey a",
        "GEORADIUS Sicily 15 37 200 km STORE dst",
        "GEORADIUS nokey 15 37 200 km",
        "GEOSEARCHSTORE dst Sicily FROMMEMBER Palermo BYRADIUS 10 km",
        "GEOSEARCH nokey FROMMEMBER x BYRADIUS 10 km",
        "RPUSH l 1 2 3",
        "SET w_1 5",
        "SORT l BY w_* GET w_* GET #",
        "SORT l BY w_* STORE dst2",
        "SORT_RO nokey",
        "DUMP l",
        "DUMP nokey",
        "RESTORE l 0 x",
        "RESTORE r 0 x",
    ];
    for line in lines {
        world.both(&split(line));
    }
    let stat = |info: &[u8], name: &str| -> String {
        let text = String::from_utf8_lossy(info);
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or("")
            .to_owned()
    };
    let (theirs, ours) = world.both(&split("INFO stats"));
    for name in ["keyspace_hits:", "keyspace_misses:"] {
        assert_eq!(stat(&theirs, name), stat(&ours, name));
    }
}
