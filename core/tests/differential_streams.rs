//! Differential tests of the stream commands against a real `redis-server` 7.0 (see
//! `common/mod.rs`): the same scenarios go to redish [`Session`]s on one [`Store`] and to
//! Redis, in RESP2 and RESP3, and the replies must match byte for byte. The harness is
//! that of `differential_types.rs` (`2>CMD` blocks client 2, `2<` reads its reply).
//!
//! Ids: entries are added with explicit ids, so both servers hold the same ones. Where an
//! id comes from the clock (`*`, `<ms>-*` against a stream whose last id is older), the two
//! servers' clocks differ by design: `@len` compares the reply's shape only.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-core --test differential_streams`

// The harness reads the clock and sleeps, which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods)]

mod common;
mod scenario;

use scenario::*;

use common::{now_ms, show, Redis};
use redish_core::{Session, SessionConfig, Store};

#[test]
fn xadd_ids_and_errors() {
    both_protocols(&[
        "XADD s 1-1 a 1",
        "XADD s 1-1 a 1",
        "XADD s 1-0 a 1",
        "XADD s 1-2 a 1 b 2",
        "XADD s 1-* c 3",
        "XADD s 5-* c 3",
        "XADD s 5-* c 4",
        "XADD s 5 d 5",
        "XADD s 6 d 5",
        "XADD s 0-0 a 1",
        "XADD s 0 a 1",
        "XADD new 0-0 a 1",
        "EXISTS new",
        "XADD new 0-* a 1",
        "XADD s 18446744073709551615-18446744073709551614 a 1",
        "XADD s 18446744073709551615-* a 1",
        "XADD s 18446744073709551615-* a 1",
        "XADD s * a 1",
        "XLEN s",
        "XADD s 7 a",
        "XADD s 7",
        "XADD s 7 a b c",
        "XADD s abc a b",
        "XADD s 1-x a b",
        "XADD s - a b",
        "XADD s + a b",
        "XADD s -1 a b",
        "XADD s 1-2-3 a b",
        "XADD s +7-1 a b",
        "XADD nomk NOMKSTREAM 1 a b",
        "EXISTS nomk",
        "XADD nomk nomkstream * a b",
        "SET str x",
        "XADD str 1 a b",
        "XADD str NOMKSTREAM 1 a b",
        "XLEN str",
        "XLEN nokey",
        "TYPE s",
        "OBJECT ENCODING s",
        "XADD",
        "XADD s",
        "XADD s 1",
        "XADD s MAXLEN 1 MINID 1 * a b",
        "XADD s MAXLEN -1 * a b",
        "XADD s MAXLEN x * a b",
        "XADD s MINID x * a b",
        "XADD s LIMIT 5 * a b",
        "XADD s MAXLEN 5 LIMIT 5 * a b",
        "XADD s MAXLEN ~ 5 LIMIT -1 * a b",
        "XADD s MAXLEN ~ 5 LIMIT x * a b",
        "XADD t 1 f \"\"",
        "XADD t 2 \"\" v",
        "XADD t 3 123 -45 f 9223372036854775808",
        "XRANGE t - +",
    ]);
}

#[test]
fn xadd_star_ids_by_shape() {
    // `*` takes the servers' clocks, which differ: compare shapes, then that entries
    // added after an explicit id far in the future get its successors.
    both_protocols(&[
        "@len XADD c * a 1",
        "XLEN c",
        "XADD f 99999999999999-5 a 1",
        "XADD f * a 2",
        "XADD f * a 3",
        "XADD f 99999999999999-* a 4",
        "XRANGE f - +",
    ]);
}

#[test]
fn xrange_xrevrange() {
    both_protocols(&[
        "XADD s 1-1 a 1",
        "XADD s 1-2 b 2",
        "XADD s 2-0 a 3 b 4",
        "XADD s 3-5 a 5",
        "XADD s 18446744073709551615-0 z 1",
        "XRANGE s - +",
        "XREVRANGE s + -",
        "XRANGE s 1 1",
        "XRANGE s 1-2 3",
        "XRANGE s (1-1 (3-5",
        "XRANGE s (1-2 +",
        "XREVRANGE s (3-5 (1-1",
        "XREVRANGE s 3 1",
        "XRANGE s - + COUNT 2",
        "XRANGE s - + COUNT 0",
        "XRANGE s - + COUNT -1",
        "XREVRANGE s + - COUNT 1",
        "XRANGE s - + count 1 COUNT 3",
        "XRANGE s - + COUNT",
        "XRANGE s - + FOO 1",
        "XRANGE s - + COUNT x",
        "XRANGE s 5 1",
        "XRANGE s (- +",
        "XRANGE s - (+",
        "XRANGE s (18446744073709551615-18446744073709551615 +",
        "XRANGE s - (0-0",
        "XRANGE s ( +",
        "XRANGE s x +",
        "XRANGE s - y",
        "XRANGE nokey - +",
        "XREVRANGE nokey + -",
        "SET str x",
        "XRANGE str - +",
        "XRANGE str x +",
        "XRANGE",
    ]);
}

#[test]
fn xdel_xtrim_xsetid() {
    both_protocols(&[
        "XADD s 1 a 1",
        "XADD s 2 a 2",
        "XADD s 3 a 3",
        "XADD s 4 a 4",
        "XADD s 5 a 5",
        "XDEL s 1 3 3 9",
        "XDEL s x",
        "XDEL s 2 x",
        "XLEN s",
        "XRANGE s - +",
        "XDEL nokey 1",
        "XDEL nokey x",
        "XTRIM s MAXLEN 2",
        "XRANGE s - +",
        "XTRIM s MAXLEN = 5",
        "XTRIM s MINID 5",
        "XRANGE s - +",
        "XTRIM s MINID = 6",
        "XLEN s",
        "EXISTS s",
        "XTRIM s",
        "XTRIM s FOO 1",
        "XTRIM s MAXLEN",
        "XTRIM s MAXLEN 1 LIMIT 2",
        "XTRIM s MAXLEN ~ 1 LIMIT 2",
        "XTRIM s MINID ~ 1 LIMIT 2 MAXLEN 2",
        "XTRIM s MAXLEN -1",
        "XTRIM s MINID +",
        "XTRIM nokey MAXLEN x",
        "XTRIM nokey MAXLEN 1",
        "SET str x",
        "XTRIM str MAXLEN 1",
        "XDEL str 1",
        // XSETID.
        "XADD x 5 a 1",
        "XADD x 6 a 1",
        "XSETID x 5",
        "XSETID x 6",
        "XSETID x 10",
        "XADD x 10 a 1",
        "XADD x 11 a 1",
        "XSETID x 20 ENTRIESADDED 1",
        "XSETID x 20 ENTRIESADDED -1",
        "XSETID x 20 ENTRIESADDED 100 MAXDELETEDID 30",
        "XSETID x 20 ENTRIESADDED 100 MAXDELETEDID 15",
        "XSETID x 14",
        "XSETID x 20 MAXDELETEDID",
        "XSETID x 20 FOO 1",
        "XSETID x 20 ENTRIESADDED x",
        "XSETID x +",
        "XSETID x x",
        "XSETID nokey 5",
        "XSETID nokey x",
        "XSETID str 5",
        "XDEL x 5 6 10 11",
        "XLEN x",
        "XSETID x 19",
        "XSETID x 25",
        "XADD x 24 a 1",
        "XADD x 25-1 a 1",
        "XRANGE x - +",
        // XSETID may go below a deleted entry, even the max deleted id; a node then holds
        // a deleted entry above later ones, or one with the same id as a live one.
        "CONFIG SET stream-node-max-entries 3",
        "XADD r 0-1 f a",
        "XADD r 31-1 f b",
        "XDEL r 31-1",
        "XSETID r 26-1",
        "XADD r 27-0 f c",
        "XRANGE r - +",
        "XREVRANGE r + - COUNT 1",
        "XINFO STREAM r",
        "XDEL r 31-1",
        "XADD q 0-1 f a",
        "XADD q 31-1 f b",
        "XDEL q 31-1",
        "XSETID q 26-1",
        "XADD q 31-1 f c",
        "XRANGE q 31-1 31-1",
        "XDEL q 31-1",
        "XLEN q",
        "XRANGE q - +",
    ]);
}

#[test]
fn nodes_split_and_approximate_trim_as_redis() {
    // Approximate trimming removes whole nodes, so it shows where nodes end.
    let mut lines: Vec<String> = vec!["CONFIG SET stream-node-max-entries 10".into()];
    for i in 1..=95 {
        lines.push(format!("XADD s {i} field {i} other x{i}"));
    }
    lines.extend(
        [
            "XTRIM s MAXLEN ~ 50",
            "XLEN s",
            "XRANGE s - + COUNT 1",
            "XTRIM s MAXLEN ~ 41 LIMIT 5",
            "XTRIM s MAXLEN ~ 41 LIMIT 10",
            "XLEN s",
            "XTRIM s MINID ~ 77",
            "XRANGE s - + COUNT 1",
            "XADD s MAXLEN ~ 5 96 f v",
            "XLEN s",
            "CONFIG SET stream-node-max-entries 0",
            "CONFIG SET stream-node-max-bytes 200",
            "@sorted CONFIG GET stream-node-*",
        ]
        .map(String::from),
    );
    for i in 1..=40 {
        lines.push(format!("XADD b {i} f @x{} g {i}", (i * 7) % 60));
    }
    lines.extend(["XTRIM b MAXLEN ~ 3", "XLEN b", "XRANGE b - + COUNT 1"].map(String::from));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    both_protocols(&lines);
}

#[test]
fn xread_now_and_blocking() {
    both_protocols(&[
        "XADD a 1 f 1",
        "XADD a 2 f 2",
        "XADD b 5 g 5",
        "XREAD STREAMS a 0",
        "XREAD STREAMS a b 0 0",
        "XREAD COUNT 1 STREAMS a b 1 0",
        "XREAD STREAMS a b 2 5",
        "XREAD STREAMS a b $ $",
        "XREAD STREAMS nokey 0",
        "XREAD STREAMS a nokey 0 0",
        "XREAD COUNT -5 STREAMS a 0",
        "XREAD STREAMS a",
        "XREAD STREAMS a b 0",
        "XREAD COUNT x STREAMS a 0",
        "XREAD FOO STREAMS a 0",
        "XREAD a 0",
        "XREAD STREAMS a >",
        "XREAD STREAMS a x",
        "XREAD STREAMS a +",
        "XREAD GROUP g c STREAMS a 0",
        "XREAD NOACK STREAMS a 0",
        "XREAD BLOCK x STREAMS a 0",
        "XREAD BLOCK -1 STREAMS a 0",
        "XREAD BLOCK 0 STREAMS a 0",
        "SET str x",
        "XREAD STREAMS str 0",
        "XREAD STREAMS a str 0 0",
        // Blocking: woken by XADD on any of the keys, with entries above the id.
        "2>XREAD BLOCK 0 STREAMS a b $ $",
        "XADD b 6 g 6",
        "2<",
        "2>XREAD BLOCK 0 STREAMS nokey 0",
        "XADD nokey 3 h 3",
        "2<",
        "2>XREAD BLOCK 0 COUNT 1 STREAMS a 2",
        "3>XREAD BLOCK 0 STREAMS a 2",
        "XADD a 3 f 3",
        "XADD a 4 f 4",
        "2<",
        "3<",
        // An XADD below the id waited for does not wake; XSETID moving last id does not
        // by itself.
        "2>XREAD BLOCK 0 STREAMS a 100",
        "XADD a 50 f 50",
        "XADD a 150 f 150",
        "2<",
        // Timeouts, and inside MULTI no blocking.
        "2>XREAD BLOCK 50 STREAMS a $",
        "@sleep 200",
        "2<",
        "MULTI",
        "XREAD BLOCK 0 STREAMS a $",
        "XADD a 151 f 1",
        "EXEC",
        // A key of another type: blocked readers keep waiting.
        "2>XREAD BLOCK 0 STREAMS w $",
        "SET w str",
        "DEL w",
        "XADD w 1 f 1",
        "2<",
    ]);
}

#[test]
fn generic_commands_on_streams() {
    both_protocols(&[
        "XADD s 1 a 1",
        "XADD s 2 b 2",
        "XDEL s 1 2",
        "EXISTS s",
        "TYPE s",
        "XLEN s",
        "XRANGE s - +",
        "XADD s 3 c 3",
        "COPY s c",
        "XRANGE c - +",
        "RENAME c r",
        "XRANGE r - +",
        "MOVE r 1",
        "SELECT 1",
        "XRANGE r - +",
        "SELECT 0",
        "SCAN 0 TYPE stream",
        "@sorted KEYS *",
        "DEL s",
        "EXISTS s",
        "OBJECT ENCODING r",
        "COMMAND INFO xadd xlen xrange xrevrange xdel xtrim xsetid xread",
        "COMMAND DOCS xadd xtrim xread xsetid",
        "COMMAND GETKEYS XREAD COUNT 1 BLOCK 5 STREAMS a b 0 0",
        "COMMAND GETKEYS XADD s * a b",
    ]);
}

#[test]
fn consumer_groups() {
    both_protocols(&[
        "XGROUP HELP",
        "XGROUP CREATE nokey g 0",
        "XGROUP CREATE nokey g $ MKSTREAM",
        "XLEN nokey",
        "XGROUP CREATE nokey g $ MKSTREAM",
        "XGROUP DESTROY nokey g",
        "XGROUP DESTROY nokey g",
        "XGROUP DESTROY absent g",
        "XGROUP SETID absent g 0",
        "XGROUP CREATECONSUMER absent g c",
        "XGROUP foo",
        "XGROUP CREATE",
        "XGROUP CREATE s g 0 FOO",
        "XGROUP CREATE s g 0 ENTRIESREAD -2",
        "XGROUP CREATE s g 0 ENTRIESREAD x",
        "XGROUP CREATE s g x MKSTREAM",
        "SET str x",
        "XGROUP CREATE str g 0",
        "XGROUP DESTROY str g",
        "XADD s 1 a 1",
        "XADD s 2 a 2",
        "XADD s 3 a 3",
        "XADD s 4 a 4",
        "XGROUP CREATE s g 0",
        "XGROUP CREATE s late $",
        "XGROUP CREATE s counted 2 ENTRIESREAD 2",
        "XGROUP SETID s nog 0",
        "XGROUP SETID s g 0 FOO 1",
        "XGROUP SETID s g 0 ENTRIESREAD -5",
        "XGROUP CREATECONSUMER s nog c",
        "XINFO GROUPS s",
        // Reading new entries, then history.
        "XREADGROUP GROUP g alice COUNT 2 STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s >",
        "XREADGROUP GROUP g alice STREAMS s 0",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS s 1",
        "XREADGROUP GROUP g carol STREAMS s 0",
        "XREADGROUP GROUP g alice NOACK STREAMS s >",
        "XINFO GROUPS s",
        "XPENDING s g",
        "@noint XPENDING s g - + 10",
        "@noint XPENDING s g - + 10 bob",
        "@noint XPENDING s g - + 10 nobody",
        "@noint XPENDING s g (1 (4 1",
        "@noint XPENDING s g IDLE 0 - + 10",
        "XPENDING s g IDLE 100000 - + 10",
        "XPENDING s g - + x",
        "XPENDING s g - +",
        "XPENDING s g IDLE 5 - +",
        "XPENDING s g x + 5",
        "XPENDING s nog",
        "XPENDING nokey2 g",
        "XPENDING str g",
        "@noint XINFO CONSUMERS s g",
        "XINFO CONSUMERS s nog",
        "XINFO CONSUMERS nokey2 g",
        "XACK s g 1 2 9",
        "XACK s g x",
        "XACK s nog 3",
        "XACK nokey2 g 3",
        "XACK str g 3",
        "XPENDING s g",
        // History of a deleted entry.
        "XDEL s 3",
        "XREADGROUP GROUP g bob STREAMS s 0",
        "XINFO GROUPS s",
        // Errors.
        "XREADGROUP GROUP g c STREAMS s $",
        "XREADGROUP GROUP nog c STREAMS s >",
        "XREADGROUP GROUP g c STREAMS nokey2 >",
        "XREADGROUP STREAMS s >",
        "XREADGROUP GROUP g c STREAMS s > 0",
        "XREADGROUP GROUP g c STREAMS str >",
        "XGROUP DELCONSUMER s g bob",
        "XGROUP DELCONSUMER s g bob",
        "XGROUP CREATECONSUMER s g dave",
        "XGROUP CREATECONSUMER s g dave",
        "XPENDING s g",
        "XGROUP SETID s g $",
        "XGROUP SETID s g 1 ENTRIESREAD 1",
        "XINFO GROUPS s",
        "XGROUP SETID s g -",
        "XINFO GROUPS s",
        "XINFO HELP",
        "XINFO foo",
        "XINFO STREAM nokey2",
        "XINFO STREAM str",
        "XINFO STREAM s FOO",
        "XINFO STREAM s FULL COUNT",
        "XINFO STREAM s FULL FOO 1",
        "XINFO STREAM s FULL COUNT x",
        "XINFO STREAM s",
        "@noint XINFO STREAM s FULL",
        "@noint XINFO STREAM s FULL COUNT 1",
        "@noint XINFO STREAM s FULL COUNT 0",
        "@noint XINFO STREAM s FULL COUNT -3",
        "XINFO STREAM nokey",
        "@noint XINFO STREAM nokey FULL",
    ]);
}

#[test]
fn lag_and_entries_read() {
    both_protocols(&[
        "XADD s 1 a 1",
        "XADD s 2 a 2",
        "XADD s 3 a 3",
        "XGROUP CREATE s g 0",
        "XGROUP CREATE s mid 2",
        "XGROUP CREATE s top $",
        "XINFO GROUPS s",
        "XREADGROUP GROUP g c COUNT 1 STREAMS s >",
        "XINFO GROUPS s",
        "XDEL s 2",
        "XINFO GROUPS s",
        "XREADGROUP GROUP g c STREAMS s >",
        "XINFO GROUPS s",
        "XADD s 4 a 4",
        "XINFO GROUPS s",
        "XTRIM s MAXLEN 1",
        "XINFO GROUPS s",
        "XINFO STREAM s",
        "XGROUP CREATE empty g $ MKSTREAM",
        "XINFO GROUPS empty",
        "XADD empty 5 a 1",
        "XDEL empty 5",
        "XINFO GROUPS empty",
        "XINFO STREAM empty",
        "XGROUP SETID s g 0 ENTRIESREAD 0",
        "XINFO GROUPS s",
    ]);
}

#[test]
fn xclaim_and_xautoclaim() {
    both_protocols(&[
        "XADD s 1 a 1",
        "XADD s 2 a 2",
        "XADD s 3 a 3",
        "XADD s 4 a 4",
        "XADD s 5 a 5",
        "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g alice STREAMS s >",
        "XCLAIM s g bob 0 1 2",
        "XCLAIM s g bob 3600000 3",
        "XCLAIM s g bob 0 3 JUSTID",
        "XCLAIM s g bob 0 4 TIME 1000 RETRYCOUNT 7",
        "XCLAIM s g bob 0 5 IDLE 0 RETRYCOUNT 2 LASTID 9",
        "XINFO GROUPS s",
        "XPENDING s g",
        "@noint XPENDING s g - + 10",
        "XDEL s 2",
        "XCLAIM s g carol 0 2",
        "XPENDING s g",
        "XCLAIM s g carol 0 9 FORCE",
        "XADD s 9 a 9",
        "XCLAIM s g carol 0 9 FORCE",
        "@noint XPENDING s g - + 10",
        "XCLAIM s g carol 0 9 8 FOO",
        "XCLAIM s g carol x 9",
        "XCLAIM s g carol 0 9 IDLE x",
        "XCLAIM s g carol 0 9 TIME x",
        "XCLAIM s g carol 0 9 RETRYCOUNT x",
        "XCLAIM s g carol 0 9 LASTID x",
        "XCLAIM s nog carol 0 9",
        "XCLAIM nokey g carol 0 9",
        "SET str x",
        "XCLAIM str g carol 0 9",
        "XCLAIM s g carol 0 x 9",
        // XAUTOCLAIM.
        "XDEL s 4",
        "XAUTOCLAIM s g dave 0 0 COUNT 2",
        "XAUTOCLAIM s g dave 0 0",
        "XAUTOCLAIM s g erin 0 (1 COUNT 1 JUSTID",
        "XAUTOCLAIM s g erin 3600000 0",
        "XAUTOCLAIM s g erin 0 0 COUNT 0",
        "XAUTOCLAIM s g erin 0 0 COUNT x",
        "XAUTOCLAIM s g erin 0 0 FOO",
        "XAUTOCLAIM s g erin x 0",
        "XAUTOCLAIM s g erin 0 x",
        "XAUTOCLAIM s nog erin 0 0",
        "XAUTOCLAIM str g erin 0 0",
        "XPENDING s g",
        "@noint XINFO CONSUMERS s g",
    ]);
}

#[test]
fn xreadgroup_blocking() {
    both_protocols(&[
        "XGROUP CREATE s g $ MKSTREAM",
        "XGROUP CREATE t g $ MKSTREAM",
        "2>XREADGROUP GROUP g alice BLOCK 0 STREAMS s t > >",
        "XADD t 1 a 1",
        "2<",
        "XPENDING t g",
        // Two consumers blocked; one entry serves the first, the second keeps waiting.
        "2>XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        "3>XREADGROUP GROUP g bob BLOCK 0 STREAMS s >",
        "XADD s 1 a 1",
        "2<",
        "XADD s 2 a 2",
        "3<",
        "XPENDING s g",
        // NOACK, and history is served at once.
        "2>XREADGROUP GROUP g alice BLOCK 0 NOACK STREAMS s >",
        "XADD s 3 a 3",
        "2<",
        "XREADGROUP GROUP g alice BLOCK 0 STREAMS s 0",
        "XPENDING s g",
        // The group destroyed while blocked.
        "2>XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        "XGROUP DESTROY s g",
        "2<",
        // Timeout.
        "XGROUP CREATE s g2 $",
        "2>XREADGROUP GROUP g2 c BLOCK 50 STREAMS s >",
        "@sleep 200",
        "2<",
        "MULTI",
        "XREADGROUP GROUP g2 c BLOCK 0 STREAMS s >",
        "EXEC",
        "XINFO GROUPS s",
    ]);
}

#[test]
fn group_commands_metadata() {
    both_protocols(&[
        // Containers list their subcommands in Redis's hash-table order: each is compared
        // on its own.
        "COMMAND INFO xreadgroup xack xpending xclaim xautoclaim",
        "COMMAND INFO xgroup|create xgroup|setid xgroup|destroy xgroup|createconsumer xgroup|delconsumer xgroup|help",
        "COMMAND INFO xinfo|stream xinfo|groups xinfo|consumers xinfo|help",
        "COMMAND DOCS xreadgroup xclaim xautoclaim xpending xack",
        "COMMAND DOCS xgroup|create",
        "COMMAND DOCS xinfo|stream",
        "COMMAND GETKEYS XREADGROUP GROUP g c COUNT 1 STREAMS a b > >",
        "COMMAND GETKEYS XGROUP CREATE k g $",
        "COMMAND GETKEYS XINFO STREAM k",
    ]);
}

/// Streams built on redis-server, written to its RDB file, loaded by redish; then written
/// by redish, checked by `redis-check-rdb` and loaded by a second redis-server: each time
/// the same reads must give the same replies (XINFO FULL's times included: they travel in
/// the file).
#[test]
fn rdb_round_trips_with_redis_server() {
    let setup = [
        "CONFIG SET stream-node-max-entries 4",
        "XADD s 1-1 a 1 b 2",
        "XADD s 1-2 a 3 b 4",
        "XADD s 2-0 other 5",
        "XADD s 3-0 a 6 b 7",
        "XADD s 4-0 a 8 b 9",
        "XADD s 5-0 123 -45 f 9223372036854775808",
        "XADD s 6-0 big @x300",
        "XADD s 7-0 a 10 b 11",
        "XADD s 8-0 a 12 b 13",
        "XDEL s 1-2 7-0",
        "XGROUP CREATE s g 0",
        "XGROUP CREATE s h $",
        "XGROUP CREATE s unread 2 ENTRIESREAD 7",
        "XREADGROUP GROUP g alice COUNT 3 STREAMS s >",
        "XREADGROUP GROUP g bob COUNT 2 STREAMS s >",
        "XGROUP CREATECONSUMER s g idle",
        "XACK s g 2-0",
        "XGROUP CREATE e g $ MKSTREAM",
        "XADD gone 1 a 1",
        "XDEL gone 1",
        "XSETID gone 10 ENTRIESADDED 7 MAXDELETEDID 5",
        "XADD low 1 a 1",
        "XADD low 9 a 2",
        "XDEL low 9",
        "XSETID low 5",
        "XADD low 6 a 3",
        "XADD low 9 a 4",
    ];
    let reads = [
        "XRANGE s - +",
        "XREVRANGE s + - COUNT 2",
        "XINFO STREAM s",
        "XINFO STREAM s FULL",
        "XINFO GROUPS s",
        "XPENDING s g",
        "XINFO STREAM e FULL",
        "XINFO STREAM gone",
        "XRANGE low - +",
        "XINFO STREAM low",
        "TYPE s",
    ];
    let Some(check) = which("redis-check-rdb") else {
        return;
    };
    let dir_a = temp_dir("a");
    let Some(redis_a) = Redis::start(&["--dir", dir_a.to_str().unwrap()]) else {
        return;
    };
    let mut conn = redis_a.connect();
    for line in setup {
        let reply = conn.call(&split(line));
        assert!(!reply.starts_with(b"-"), "{line}: {}", show(&reply));
    }
    assert_eq!(conn.call(&split("SAVE")), b"+OK\r\n");
    let bytes = std::fs::read(dir_a.join("dump.rdb")).unwrap();
    let mut store = Store::default();
    redish_core::persist::rdb::load_into(&mut store, &bytes, now_ms()).expect("loads");
    let mut session = Session::new(store.next_client_id(), SessionConfig::default());
    let mut ours = |store: &mut Store, args: &[Vec<u8>]| {
        session.handle_bytes(&common::encode(args));
        session.process(store, now_ms());
        let out = session.poll_transmit().to_vec();
        session.consume_transmit(out.len());
        out
    };
    for line in reads {
        let theirs = conn.call(&split(line));
        let mine = ours(&mut store, &split(line));
        assert_eq!(show(&theirs), show(&mine), "loaded from redis: {line}");
    }

    // The AOF rewrite of the same data replays into the same streams (consumers' seen
    // times aside: a replay creates them anew; and node boundaries, which follow the
    // replaying server's settings, as with Redis).
    let log = redish_core::persist::aof::rewrite(&store, now_ms());
    let load = redish_core::persist::aof::load(&log).expect("parses");
    let mut replayed = Store::default();
    redish_core::cmd::replay_aof(&mut replayed, &load, now_ms()).expect("replays");
    let mut other = Session::new(replayed.next_client_id(), SessionConfig::default());
    for line in reads {
        let want = ours(&mut store, &split(line));
        other.handle_bytes(&common::encode(&split(line)));
        other.process(&mut replayed, now_ms());
        let got = other.poll_transmit().to_vec();
        other.consume_transmit(got.len());
        let (want, got) = if line.starts_with("XINFO STREAM") {
            (mask_integers(&want), mask_integers(&got))
        } else {
            (want, got)
        };
        assert_eq!(show(&want), show(&got), "after AOF rewrite: {line}");
    }

    let dir_b = temp_dir("b");
    let written = redish_core::persist::rdb::to_vec(&store, now_ms());
    std::fs::write(dir_b.join("dump.rdb"), &written).unwrap();
    let out = std::process::Command::new(check)
        .arg(dir_b.join("dump.rdb"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RDB looks OK"), "{text}");
    let Some(redis_b) = Redis::start(&["--dir", dir_b.to_str().unwrap()]) else {
        return;
    };
    let mut conn_b = redis_b.connect();
    for line in reads {
        let theirs = conn_b.call(&split(line));
        let mine = ours(&mut store, &split(line));
        assert_eq!(show(&theirs), show(&mine), "written by redish: {line}");
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("redish-streams-rdb-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `name` in PATH, or `None` after printing a skip notice (a failure with
/// `REDISH_REQUIRE_REDIS=1`).
fn which(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("REDISH_REQUIRE_REDIS").as_deref() != Ok("1"),
            "{name} not found and REDISH_REQUIRE_REDIS=1"
        );
        println!("SKIP: {name} not found");
    }
    found
}

/// A stream RDB written by redis-server (the fuzz seed `rdb_redis_stream`), with every byte
/// changed to a few values and every length cut: each either fails to load or loads a
/// stream every command can walk, which writes back and loads again the same.
#[test]
fn mutated_stream_rdb_loads_or_fails_cleanly() {
    let seed: &[u8] = include_bytes!("../../fuzz/corpus/seed/rdb_redis_stream");
    let mut base = seed.to_vec();
    let n = base.len();
    // A zero checksum is not checked, so the mutations reach the stream reader.
    base[n - 8..].fill(0);
    let mut inputs = Vec::new();
    for i in 9..n - 9 {
        for v in [
            0u8,
            1,
            0x7f,
            0x80,
            0xff,
            base[i] ^ 1,
            base[i].wrapping_add(1),
        ] {
            let mut m = base.clone();
            m[i] = v;
            inputs.push(m);
        }
        inputs.push(base[..i].to_vec());
    }
    let mut loaded = 0;
    for input in &inputs {
        let mut store = Store::default();
        if redish_core::persist::rdb::load_into(&mut store, input, 0).is_err() {
            continue;
        }
        loaded += 1;
        let mut session = Session::new(store.next_client_id(), SessionConfig::default());
        for line in [
            "XRANGE s - +",
            "XREVRANGE s + -",
            "XINFO STREAM s FULL",
            "XINFO STREAM s",
            "XINFO GROUPS s",
            "XPENDING s g - + 10",
            "XREADGROUP GROUP g c STREAMS s 0",
            "XAUTOCLAIM s g c 0 0",
            "XDEL s 3-1 4-1",
            "XADD s 99-1 a 1",
            "XTRIM s MAXLEN 2",
        ] {
            session.handle_bytes(&common::encode(&split(line)));
            session.process(&mut store, 0);
            let out = session.poll_transmit().to_vec();
            session.consume_transmit(out.len());
        }
        let again = redish_core::persist::rdb::to_vec(&store, 0);
        let mut back = Store::default();
        redish_core::persist::rdb::load_into(&mut back, &again, 0).expect("reloads");
        assert_eq!(
            redish_core::persist::rdb::to_vec(&back, 0),
            again,
            "written back differently"
        );
    }
    assert!(loaded > 0, "the unmutated parts load");
}

#[test]
fn radix_tree_counts_follow_redis() {
    // XINFO STREAM's radix-tree-nodes counts the nodes of Redis's radix tree over the
    // 16-byte node keys, through inserts, deletes in the middle and trims.
    let mut lines: Vec<String> = vec!["CONFIG SET stream-node-max-entries 2".into()];
    let ids = [
        "1-0",
        "1-1",
        "1-2",
        "2-0",
        "255-0",
        "256-0",
        "256-7",
        "65535-1",
        "65536-0",
        "1000000-0",
        "1000000-1",
        "1000001-0",
        "4294967296-0",
        "4294967297-3",
        "1099511627776-0",
        "1099511627776-1",
        "1099511627777-0",
        "18446744073709551615-0",
        "18446744073709551615-5",
        "18446744073709551615-6",
    ];
    for id in ids {
        lines.push(format!("XADD s {id} f v"));
        lines.push("XINFO STREAM s".into());
    }
    for id in [
        "256-0",
        "256-7",
        "1-0",
        "1-1",
        "1000001-0",
        "18446744073709551615-0",
    ] {
        lines.push(format!("XDEL s {id}"));
        lines.push("XINFO STREAM s".into());
    }
    for n in [15, 11, 6, 3, 1, 0] {
        lines.push(format!("XTRIM s MAXLEN {n}"));
        lines.push("XINFO STREAM s".into());
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    both_protocols(&lines);
}

/// What the stream commands log (the AOF and replicas read it) rebuilds the same streams:
/// `*` ids as chosen, approximate trims as their result, deliveries and claims as XCLAIM
/// with the group's id and counter, served blocked XREADGROUPs included.
#[test]
fn logged_effects_rebuild_the_same_streams() {
    const NOW: u64 = 1_700_000_000_000;
    let mut store = Store::default();
    store.set_effects_log(true);
    let mut a = Session::new(store.next_client_id(), SessionConfig::default());
    let mut b = Session::new(store.next_client_id(), SessionConfig::default());
    let run = |s: &mut Session, store: &mut Store, line: &str| {
        s.handle_bytes(&common::encode(&split(line)));
        s.process(store, NOW);
        let out = s.poll_transmit().to_vec();
        s.consume_transmit(out.len());
        out
    };
    for line in [
        "CONFIG SET stream-node-max-entries 3",
        "XADD s * a 1",
        "XADD s * a 2",
        "XADD s 1700000000000-* a 3",
        "XADD s 99999999999999-1 a 4",
        "XADD s * a 5",
        "XADD s MAXLEN ~ 2 * a 6",
        "XADD s MINID = 99999999999999-2 * a 7",
        "XGROUP CREATE s g 0",
        "XGROUP CREATE s h $ ENTRIESREAD 3",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
        "XREADGROUP GROUP g bob NOACK COUNT 1 STREAMS s >",
        "XREADGROUP GROUP g alice STREAMS s >",
    ] {
        let r = run(&mut a, &mut store, line);
        assert!(!r.starts_with(b"-"), "{line}: {}", show(&r));
    }
    assert!(run(
        &mut b,
        &mut store,
        "XREADGROUP GROUP g carol BLOCK 0 STREAMS s >"
    )
    .is_empty());
    for line in [
        "XADD s * a 8",
        "XCLAIM s g dave 0 99999999999999-4 99999999999999-3 RETRYCOUNT 5",
        "XAUTOCLAIM s g erin 0 0 COUNT 1",
        "XGROUP CREATECONSUMER s g idle",
        "XTRIM s MAXLEN ~ 1",
        "XDEL s 99999999999999-4",
        "XSETID s 99999999999999-99 ENTRIESADDED 50",
    ] {
        let r = run(&mut a, &mut store, line);
        assert!(!r.starts_with(b"-"), "{line}: {}", show(&r));
    }
    let mut replayed = Store::default();
    let mut r = Session::new(replayed.next_client_id(), SessionConfig::default());
    let effects: Vec<_> = std::iter::from_fn(|| store.poll_effect()).collect();
    assert!(effects.iter().all(|e| e.args[0] != "XREADGROUP"));
    for e in effects {
        let args: Vec<Vec<u8>> = e.args.iter().map(|x| x.to_vec()).collect();
        r.handle_bytes(&common::encode(&args));
        r.process(&mut replayed, NOW);
        let out = r.poll_transmit().to_vec();
        r.consume_transmit(out.len());
        assert!(!out.starts_with(b"-"), "{:?}: {}", e.args, show(&out));
    }
    for line in ["XINFO STREAM s FULL", "XINFO GROUPS s", "XPENDING s g"] {
        let want = run(&mut a, &mut store, line);
        let got = run(&mut r, &mut replayed, line);
        assert_eq!(show(&want), show(&got), "{line}");
    }
}

#[test]
fn blocked_readers_when_keys_change() {
    both_protocols(&[
        // The key deleted, then made a stream again: XREAD waits on and is served.
        "XADD s 1 a 1",
        "2>XREAD BLOCK 0 STREAMS s $",
        "DEL s",
        "XADD s 2 a 2",
        "2<",
        // Overwritten by another type and back.
        "2>XREAD BLOCK 0 STREAMS s $",
        "SET s x",
        "DEL s",
        "XADD s 5 a 5",
        "2<",
        // XREADGROUP whose stream is deleted and made again without the group.
        "XGROUP CREATE s g $",
        "2>XREADGROUP GROUP g c BLOCK 0 STREAMS s >",
        "DEL s",
        "XADD s 9 a 9",
        "2<",
        // A consumer group blocked reader and an XSETID / XTRIM do not wake it.
        "XGROUP CREATE s g2 $",
        "2>XREADGROUP GROUP g2 c BLOCK 0 STREAMS s >",
        "XSETID s 20",
        "XTRIM s MAXLEN 0",
        "XADD s 21 a 21",
        "2<",
        // Two streams, the second gets data first.
        "2>XREAD BLOCK 0 STREAMS x y $ $",
        "3>XREAD BLOCK 0 STREAMS y $",
        "XADD y 1 b 1",
        "2<",
        "3<",
        // FLUSHALL, SWAPDB, expiry (active: no command touches the key).
        "XGROUP CREATE f g $ MKSTREAM",
        "2>XREADGROUP GROUP g c BLOCK 0 STREAMS f >",
        "FLUSHALL",
        "2<",
        "XGROUP CREATE f g $ MKSTREAM",
        "2>XREADGROUP GROUP g c BLOCK 0 STREAMS f >",
        "SWAPDB 0 1",
        "2<",
        "FLUSHALL",
        "XGROUP CREATE f g $ MKSTREAM",
        "2>XREADGROUP GROUP g c BLOCK 0 STREAMS f >",
        "PEXPIRE f 20",
        "@sleep 400",
        "2<",
        // RENAME onto a waited key.
        "2>XREAD BLOCK 0 STREAMS target 0",
        "XADD src 1 r 1",
        "RENAME src target",
        "XADD target 2 r 2",
        "2<",
    ]);
}

/// Random sequences of stream commands on a few keys, with ids and options drawn from
/// small ranges so that errors, collisions, empty streams and node edges come up often;
/// compared step by step with redis-server in both protocols. `REDISH_DIFF_CASES` sets
/// the number of sequences (default 6).
#[test]
fn random_stream_sequences() {
    let cases: u64 = std::env::var("REDISH_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let Some(mut world) = World::start() else {
        return;
    };
    for case in 0..cases {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (case + 1).wrapping_mul(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut lines = vec![format!(
            "CONFIG SET stream-node-max-entries {}",
            [2, 3, 5, 100][next(4) as usize]
        )];
        for _ in 0..250 {
            let key = ["s", "t", "u"][next(3) as usize];
            let id = |next: &mut dyn FnMut(u64) -> u64| match next(6) {
                0 => format!("{}", next(40)),
                1 => format!("{}-*", next(40)),
                2 => "-".to_owned(),
                3 => "+".to_owned(),
                4 => format!("({}-{}", next(40), next(3)),
                _ => format!("{}-{}", next(40), next(3)),
            };
            let line = match next(22) {
                0..=5 => {
                    let trim = match next(6) {
                        0 => format!("MAXLEN {} ", next(8)),
                        1 => format!("MAXLEN ~ {} ", next(8)),
                        2 => format!("MINID {} ", next(40)),
                        3 => "NOMKSTREAM ".to_owned(),
                        _ => String::new(),
                    };
                    let fields = if next(3) == 0 { "a 1 b 2" } else { "a 1" };
                    let id = match next(4) {
                        0 => format!("{}-*", next(40)),
                        _ => format!("{}-{}", next(40), next(3)),
                    };
                    format!("XADD {key} {trim}{id} {fields}")
                }
                6 => format!(
                    "XDEL {key} {}-{} {}-{}",
                    next(40),
                    next(3),
                    next(40),
                    next(3)
                ),
                7 => match next(3) {
                    0 => format!("XTRIM {key} MAXLEN {}", next(8)),
                    1 => format!("XTRIM {key} MAXLEN ~ {}", next(8)),
                    _ => format!("XTRIM {key} MINID {}", next(40)),
                },
                8 => format!("XRANGE {key} {} {}", id(&mut next), id(&mut next)),
                9 => format!(
                    "XREVRANGE {key} {} {} COUNT {}",
                    id(&mut next),
                    id(&mut next),
                    next(4)
                ),
                10 => format!("XLEN {key}"),
                11 => format!("XINFO STREAM {key}"),
                12 => format!("XGROUP CREATE {key} g{} {} MKSTREAM", next(2), next(40)),
                13 => format!(
                    "XREADGROUP GROUP g{} c{} COUNT {} STREAMS {key} >",
                    next(2),
                    next(3),
                    next(3)
                ),
                14 => format!("XREADGROUP GROUP g{} c{} STREAMS {key} 0", next(2), next(3)),
                15 => format!("XACK {key} g{} {}-{}", next(2), next(40), next(3)),
                16 => format!("XPENDING {key} g{}", next(2)),
                17 => format!("XINFO GROUPS {key}"),
                18 => format!(
                    "XCLAIM {key} g{} c{} 0 {}-{} JUSTID",
                    next(2),
                    next(3),
                    next(40),
                    next(3)
                ),
                19 => format!(
                    "XAUTOCLAIM {key} g{} c{} 0 0 COUNT 2 JUSTID",
                    next(2),
                    next(3)
                ),
                20 => format!("XSETID {key} {}-{}", next(60), next(3)),
                _ => format!("XREAD COUNT 2 STREAMS {key} {}", next(40)),
            };
            lines.push(line);
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        scenario(&mut world, case % 2 == 1, &lines);
    }
}
