//! Blocked clients: the timeout argument, blocking a connection, and serving the clients
//! whose keys became ready.
//!
//! # How a blocking command runs
//! BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP first act like
//! their non-blocking forms. When every key is empty they register a [`Blocked`] wait in
//! the store (per-key FIFO queues, a deadline) and mark the connection blocked: the session
//! writes no reply and executes none of its further input (Redis semantics) until it is
//! unblocked. Inside MULTI (or any context that may not block) they reply as a timeout at
//! once.
//!
//! # Serving
//! A key a client waits for is "ready" when a command gives it a list or sorted set
//! ([`crate::Db`] notes it, as Redis's `signalKeyAsReady`). After each command — after the
//! whole transaction for EXEC — the session calls [`serve_ready`]: for each ready key in
//! order, the clients waiting on it are served oldest first, each by executing its pop
//! against the store on its behalf, while the key holds elements. The reply, written in the
//! waiting client's protocol, goes into the store's deliveries as a
//! [`Message::Unblocked`] for that client; serving may push onto other keys (BLMOVE), which
//! makes them ready in turn. Every served pop is logged as its non-blocking form, and
//! reports its keyspace events (`lpop`, `zpopmin`, `del`…) as the command would have.
//!
//! # Timeouts
//! [`crate::Store::poll_timeout`] includes the earliest deadline of a blocked client, and
//! [`crate::Store::handle_timeout`] replies a null array to those past it (RESP2 `*-1`,
//! RESP3 `_`, for every blocking command) through the same deliveries.

use bytes::{Bytes, BytesMut};

use super::executor::Ctx;
use super::long_double::LongDouble;
use super::reply::Out;
use super::CmdError;
use crate::db::{Blocked, BlockedOp, Message, Store, Value};

/// Parses a timeout in seconds as Redis 7.0's `getTimeoutFromObjectOrReply`: a `long
/// double`, times 1000, rounded up to whole milliseconds (`0.0001` waits 1 ms; `0` forever);
/// negative values, and values too large for a `long long` of milliseconds (which C turns
/// negative), are `timeout is negative`.
pub(crate) fn parse_timeout(arg: &[u8]) -> Result<u64, CmdError> {
    let x = LongDouble::parse(arg)
        .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
    let negative = || CmdError::err("timeout is negative");
    let (neg, mant, exp) = match x {
        LongDouble::Inf { .. } => return Err(negative()),
        LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
    };
    // `ftval * 1000.0` in long double: the exact product, rounded to 64 significant bits.
    let mut p = u128::from(mant) * 1000;
    let mut e = exp;
    let bits = 128 - p.leading_zeros() as i64;
    if bits > 64 {
        let shift = (bits - 64) as u32;
        let half = 1u128 << (shift - 1);
        let rest = p & ((1u128 << shift) - 1);
        p >>= shift;
        if rest > half || (rest == half && p & 1 == 1) {
            p += 1;
        }
        e += i64::from(shift);
    }
    // ceill(), then (long long): a magnitude from 2^63 on becomes LLONG_MIN, negative.
    let (floor, frac) = if e >= 0 {
        if e >= 64 || p.leading_zeros() < e as u32 + 64 {
            return Err(negative());
        }
        (p << e, false)
    } else if -e >= 128 {
        (0, p != 0)
    } else {
        let s = (-e) as u32;
        (p >> s, p & ((1u128 << s) - 1) != 0)
    };
    if neg {
        // ceil(-x) = -floor(x): 0 (wait forever) below one millisecond, else negative.
        return if floor == 0 { Ok(0) } else { Err(negative()) };
    }
    let ms = floor + u128::from(frac);
    if ms > i64::MAX as u128 {
        return Err(negative());
    }
    Ok(ms as u64)
}

/// Blocks the connection on `keys` for `timeout_ms` (0: forever).
pub(crate) fn block(ctx: &mut Ctx, keys: Vec<Bytes>, timeout_ms: u64, op: BlockedOp) {
    // A deadline past the end of time waits forever, as Redis's overflowing one does.
    let deadline_ms = match timeout_ms {
        0 => None,
        t => ctx.now_ms.checked_add(t),
    };
    let keys = keys.iter().map(|k| Bytes::copy_from_slice(k)).collect();
    ctx.store.block(Blocked {
        client: ctx.conn.id,
        db: ctx.conn.db,
        proto: ctx.conn.proto,
        keys,
        deadline_ms,
        op,
    });
    ctx.conn.blocked = true;
}

/// Serves the clients blocked on keys that became ready, until no key is ready. Run after
/// every command (after EXEC, not inside it); cheap when nothing is ready.
#[inline]
pub(crate) fn serve_ready(store: &mut Store, now_ms: u64) {
    if store.has_ready_keys() {
        serve_ready_keys(store, now_ms);
    }
}

fn serve_ready_keys(store: &mut Store, now_ms: u64) {
    while store.has_ready_keys() {
        for (db, key) in store.take_ready_keys() {
            let key = Bytes::from(Vec::from(key));
            for client in store.blocked_waiters(db, &key) {
                // A stream reader on a key that no longer holds a stream (XREADGROUP
                // gets an error; XREAD waits on).
                if store.blocked(client).is_some_and(|b| b.op.wants_stream())
                    && !matches!(store.db(db).peek(&key, now_ms), Some(Value::Stream(_)))
                {
                    super::stream::serve_gone(store, client);
                    continue;
                }
                let is_zset = match store.db(db).get(&key, now_ms) {
                    Some(Value::List(_)) => false,
                    Some(Value::ZSet(_)) => true,
                    Some(Value::Stream(_)) => {
                        super::stream::serve(store, db, &key, client, now_ms);
                        continue;
                    }
                    _ => continue,
                };
                if store.blocked(client).is_some_and(|b| b.op.wants_stream()) {
                    continue;
                }
                match store.blocked(client) {
                    Some(b) if b.op.wants_zset() == is_zset => {}
                    _ => continue,
                }
                let b = store.take_blocked(client).expect("checked above");
                let logging = store.effects_enabled();
                let mut buf = BytesMut::new();
                let mut out = Out {
                    buf: &mut buf,
                    proto: b.proto,
                };
                let unit = store.begin_effects_unit();
                // Served in the client's database, which gets the events (Redis notifies
                // them on `receiver->db`).
                let effect = if is_zset {
                    super::zset::serve(store, db, &key, &b.op, now_ms, &mut out)
                } else {
                    super::list::serve(store, db, &key, &b.op, now_ms, &mut out)
                };
                if logging {
                    store.flush_key_events();
                    if let Some(args) = effect {
                        store.push_effect(db, args);
                    }
                }
                store.end_effects_unit(unit);
                store.deliver(client, Message::Unblocked(buf.freeze()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis() {
        let ok: &[(&str, u64)] = &[
            ("0", 0),
            ("1", 1000),
            ("0.5", 500),
            ("0.0001", 1),
            ("1e-10", 1),
            ("-0", 0),
            ("0x10", 16_000),
        ];
        for &(s, want) in ok {
            assert_eq!(parse_timeout(s.as_bytes()), Ok(want), "{s}");
        }
        assert_eq!(
            parse_timeout(b"9223372036854775"),
            Ok(9_223_372_036_854_775_000)
        );
        assert_eq!(parse_timeout(b"-0.0001"), Ok(0));
        let errs: &[(&str, &str)] = &[
            ("x", "ERR timeout is not a float or out of range"),
            ("nan", "ERR timeout is not a float or out of range"),
            ("-1", "ERR timeout is negative"),
            ("inf", "ERR timeout is negative"),
            ("1e20", "ERR timeout is negative"),
            ("1e16", "ERR timeout is negative"),
        ];
        for &(s, want) in errs {
            assert_eq!(
                parse_timeout(s.as_bytes()).unwrap_err().to_string(),
                want,
                "{s}"
            );
        }
    }
}
