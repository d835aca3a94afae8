//! Bytes as a sequence of stream commands (XADD with trims, XDEL, XTRIM, ranges, groups,
//! reads, claims, XSETID, XINFO) on two keys with small nodes, ids and counts taken from
//! the input, some arguments raw bytes: nothing panics, every reply is valid RESP, and the
//! streams written to RDB load back and write the same bytes.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redish_core::persist::rdb;
use redish_core::resp::{Decoder, Limits};
use redish_core::{Session, SessionConfig, Store};

const NOW: u64 = 1_700_000_000_000;

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn run(session: &mut Session, store: &mut Store, line: &[Vec<u8>]) {
    session.handle_bytes(&encode(line));
    session.process(store, NOW);
    let mut buf = BytesMut::from(session.poll_transmit());
    let n = buf.len();
    session.consume_transmit(n);
    let mut decoder = Decoder::new(Limits::DEFAULT);
    while !buf.is_empty() {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => {}
            other => panic!("invalid RESP after {line:?}: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut store = Store::default();
    let mut s = Session::new(store.next_client_id(), SessionConfig::default());
    let w = |t: &str| t.as_bytes().to_vec();
    run(
        &mut s,
        &mut store,
        &[w("CONFIG"), w("SET"), w("stream-node-max-entries"), w("3")],
    );
    for op in data.chunks(4) {
        let [a, b, c, d] = [0, 1, 2, 3].map(|i| op.get(i).copied().unwrap_or(0));
        let key = if a & 1 == 0 { w("s") } else { w("t") };
        let id = |x: u8, y: u8| match y % 8 {
            0 => w("-"),
            1 => w("+"),
            2 => format!("({}-{}", x % 32, y / 8 % 3).into_bytes(),
            3 => format!("{}-*", x % 32).into_bytes(),
            4 => vec![x, y],
            _ => format!("{}-{}", x % 32, y / 8 % 3).into_bytes(),
        };
        let n = |x: u8| (x % 6).to_string().into_bytes();
        let g = format!("g{}", b & 1).into_bytes();
        let cn = format!("c{}", c & 1).into_bytes();
        let line: Vec<Vec<u8>> = match a >> 1 & 15 {
            0..=3 => match d % 4 {
                0 => vec![
                    w("XADD"),
                    key,
                    w("MAXLEN"),
                    w("~"),
                    n(c),
                    id(b, c),
                    w("f"),
                    vec![d],
                ],
                1 => vec![
                    w("XADD"),
                    key,
                    w("MINID"),
                    id(c, 5),
                    id(b, c),
                    w("f"),
                    w("v"),
                ],
                _ => vec![w("XADD"), key, id(b, c), w("f"), w("1"), vec![d], w("2")],
            },
            4 => vec![w("XDEL"), key, id(b, c), id(c, d)],
            5 => vec![w("XTRIM"), key, w("MAXLEN"), n(b)],
            6 => vec![w("XTRIM"), key, w("MINID"), w("~"), id(b, c)],
            7 => vec![w("XRANGE"), key, id(b, c), id(c, d), w("COUNT"), n(d)],
            8 => vec![w("XREVRANGE"), key, id(b, c), id(c, d)],
            9 => vec![w("XGROUP"), w("CREATE"), key, g, id(c, d), w("MKSTREAM")],
            10 => vec![
                w("XREADGROUP"),
                w("GROUP"),
                g,
                cn,
                w("COUNT"),
                n(d),
                w("STREAMS"),
                key,
                if d & 1 == 0 { w(">") } else { id(c, d) },
            ],
            11 => vec![w("XCLAIM"), key, g, cn, w("0"), id(c, d), w("FORCE")],
            12 => vec![
                w("XAUTOCLAIM"),
                key,
                g,
                cn,
                w("0"),
                id(c, d),
                w("COUNT"),
                w("2"),
            ],
            13 => vec![w("XSETID"), key, id(b, c), w("ENTRIESADDED"), n(d)],
            14 => vec![w("XINFO"), w("STREAM"), key, w("FULL")],
            _ => vec![w("XACK"), key, g, id(c, d)],
        };
        run(&mut s, &mut store, &line);
    }
    run(&mut s, &mut store, &[w("XINFO"), w("GROUPS"), w("s")]);
    let bytes = rdb::to_vec(&store, NOW);
    let mut back = Store::default();
    rdb::load_into(&mut back, &bytes, NOW).expect("our own RDB loads");
    assert_eq!(rdb::to_vec(&back, NOW), bytes, "written back differently");
});
