//! Keyspace notifications against redis-server 7.0: the stream commands (see
//! `common/notify.rs` for the harness). XADD reports `xadd` then `xtrim` when its trim
//! removed entries; XDEL, XTRIM and XSETID theirs when they changed something; the XGROUP
//! subcommands `xgroup-create`, `-setid`, `-destroy`, `-createconsumer`, `-delconsumer`;
//! XREADGROUP, XCLAIM and XAUTOCLAIM `xgroup-createconsumer` for a consumer they create.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_notify_streams`

mod common;

use common::notify::check;

const FLAGS: &[&str] = &["KEA", "Kt", "Et", "KEg", "E$", "Ktn"];

#[test]
fn streams() {
    check(
        FLAGS,
        &[
            "XADD s 1 a 1",
            "XADD s 2 a 2",
            "XADD s 1 a 1",
            "XADD s NOMKSTREAM 3 a 3",
            "XADD nomk NOMKSTREAM 3 a 3",
            "XADD s MAXLEN 2 4 a 4",
            "XADD s MAXLEN 5 5 a 5",
            "XDEL s 9",
            "XDEL s 4",
            "XTRIM s MAXLEN 10",
            "XTRIM s MAXLEN 1",
            "XTRIM nope MAXLEN 1",
            "XSETID s 100",
            "XSETID s 1",
            "XGROUP CREATE s g 0",
            "XGROUP CREATE s g 0",
            "XGROUP CREATE new g $ MKSTREAM",
            "XGROUP SETID s g 0",
            "XGROUP CREATECONSUMER s g c",
            "XGROUP CREATECONSUMER s g c",
            "XADD s 200 a 6",
            "XREADGROUP GROUP g reader STREAMS s >",
            "XREADGROUP GROUP g reader STREAMS s >",
            "XCLAIM s g claimer 0 200",
            "XAUTOCLAIM s g auto 0 0",
            "XACK s g 200",
            "XGROUP DELCONSUMER s g c",
            "XGROUP DELCONSUMER s g nobody",
            "XGROUP DESTROY s g",
            "XGROUP DESTROY s g",
            "XRANGE s - +",
            "XLEN nope",
            "XINFO STREAM s",
            "DEL s",
            "XADD e 1 a 1",
            "PEXPIRE e 3",
            "@sleep 6",
            "XADD e 1 a 1",
        ],
    );
}
