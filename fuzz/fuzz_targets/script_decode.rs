//! Arbitrary bytes handed to a script, as ARGV carries a client's bytes in: the bundled
//! decoders (cmsgpack.unpack, cjson.decode, struct.unpack with a format from the input too)
//! read them, their results cross back to RESP, and re-encode. Nothing panics, every reply is one valid RESP frame, and what decodes
//! round-trips: cmsgpack's own packing of a decoded value decodes again (byte equality is
//! not asked: a map packs in the order of its Lua table, which depends on its history).

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redish_core::resp::{Decoder, Frame, Limits};
use redish_core::{Session, SessionConfig, Store};

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn call(session: &mut Session, store: &mut Store, args: &[&[u8]]) -> Frame {
    session.handle_bytes(&encode(args));
    session.process(store, 1_700_000_000_000);
    let mut buf = BytesMut::from(session.poll_transmit());
    let n = buf.len();
    session.consume_transmit(n);
    // A script may reply as deep as it builds tables (cmsgpack nests at will, as on
    // redis-server): read replies without the default depth limit.
    let limits = Limits {
        max_depth: usize::MAX,
        ..Limits::DEFAULT
    };
    let frame = match Decoder::new(limits).decode(&mut buf) {
        Ok(Some(f)) => f,
        other => panic!("invalid RESP reply: {other:?}"),
    };
    assert!(buf.is_empty(), "more than one reply");
    frame
}

const SCRIPTS: &[&[u8]] = &[
    b"return {cmsgpack.unpack(ARGV[1])}",
    b"return cjson.decode(ARGV[1])",
    b"return cjson.encode(cjson.decode(ARGV[1]))",
    b"return cjson.encode({cmsgpack.unpack(ARGV[1])})",
    b"return {cmsgpack.unpack_limit(ARGV[1], 2, 1)}",
];

/// Scripts given a `struct` format (ARGV[1]) and data (ARGV[2]); `unpack` is a C function
/// whose errors jump over Rust frames, so pcall and pack after it are exercised too.
const STRUCT_SCRIPTS: &[&[u8]] = &[
    b"return {struct.unpack(ARGV[1], ARGV[2])}",
    b"return {pcall(struct.unpack, ARGV[1], ARGV[2], 2)}",
    b"return struct.size(ARGV[1])",
    b"local t = {struct.unpack(ARGV[1], ARGV[2])} t[#t] = nil return struct.pack(ARGV[1], unpack(t))",
];

fuzz_target!(|data: &[u8]| {
    let mut store = Store::default();
    store.set_script_engine(redish_lua::engine());
    let mut session = Session::new(store.next_client_id(), SessionConfig::default());
    for script in SCRIPTS {
        call(&mut session, &mut store, &[b"EVAL", script, b"0", data]);
    }
    // The first byte says how much of the rest is the format.
    if let Some((&n, rest)) = data.split_first() {
        let (format, payload) = rest.split_at(usize::from(n % 24).min(rest.len()));
        for script in STRUCT_SCRIPTS {
            call(
                &mut session,
                &mut store,
                &[b"EVAL", script, b"0", format, payload],
            );
        }
    }
    // Whatever cmsgpack decodes, its packing decodes again.
    let once = call(
        &mut session,
        &mut store,
        &[
            b"EVAL",
            b"return cmsgpack.pack(cmsgpack.unpack(ARGV[1]))",
            b"0",
            data,
        ],
    );
    if let Frame::Bulk(packed) = once {
        let twice = call(
            &mut session,
            &mut store,
            &[
                b"EVAL",
                b"return cmsgpack.pack(cmsgpack.unpack(ARGV[1]))",
                b"0",
                &packed,
            ],
        );
        assert!(
            matches!(twice, Frame::Bulk(_)),
            "cmsgpack cannot read its own packing: {twice:?}"
        );
    }
});
