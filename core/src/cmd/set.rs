//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER,
//! SMOVE, SINTER, SINTERCARD, SUNION, SDIFF, SINTERSTORE, SUNIONSTORE, SDIFFSTORE, SSCAN.
//!
//! Replies that are sets (SMEMBERS, SINTER, SUNION, SDIFF, SPOP with a count) are RESP3 sets
//! (`~`); their order is the set's own: ascending for an `intset`, the hash table's order
//! otherwise (which differs from Redis's, itself random per process).

use bytes::Bytes;

use super::executor::Ctx;
use super::reply::{count_arg, scan_reply, ScanOptions};
use super::reply_stream::{ReplyStream, Second, MIN_STREAMED_ELEMENTS};
use super::{parse_i64, Args, CmdError, Command};
use crate::db::types::set::Member;
use crate::db::types::{Set, TypeLimits};
use crate::db::{notify, Db, Rng, Value};

/// A set command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetCmd {
    /// `SADD key member [member ...]` — replies how many were new.
    Add {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
    },
    /// `SREM key member [member ...]` — replies how many were there.
    Rem {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
    },
    /// `SMEMBERS key`.
    Members {
        /// The key.
        key: Bytes,
    },
    /// `SISMEMBER key member` and `SMISMEMBER key member [member ...]` (`multi`).
    IsMember {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
        /// SMISMEMBER: reply an array.
        multi: bool,
    },
    /// `SCARD key`.
    Card {
        /// The key.
        key: Bytes,
    },
    /// `SPOP key [count]` — removes and replies random members.
    Pop {
        /// The key.
        key: Bytes,
        /// The count, if given.
        count: Option<usize>,
    },
    /// `SRANDMEMBER key [count]` — random members (negative count: may repeat).
    RandMember {
        /// The key.
        key: Bytes,
        /// The count, if given.
        count: Option<i64>,
    },
    /// `SMOVE source destination member`.
    Move {
        /// Source key.
        src: Bytes,
        /// Destination key.
        dst: Bytes,
        /// The member.
        member: Bytes,
    },
    /// `SINTER key [key ...]`, `SUNION …`, `SDIFF …`, their STORE forms (`dst`), and
    /// `SINTERCARD numkeys key [key ...] [LIMIT limit]` (`card`).
    Op {
        /// Which operation.
        op: SetOpKind,
        /// The STORE destination.
        dst: Option<Bytes>,
        /// The input keys.
        keys: Vec<Bytes>,
        /// SINTERCARD's count limit (`Some(0)`: none); `None` for the others.
        card: Option<usize>,
    },
    /// `SSCAN key cursor [MATCH pattern] [COUNT count]`.
    Scan {
        /// The key.
        key: Bytes,
        /// The cursor and options (their error is reported after the type check).
        options: Result<ScanOptions, CmdError>,
    },
}

/// SINTER, SUNION or SDIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOpKind {
    /// Intersection.
    Inter,
    /// Union.
    Union,
    /// Difference of the first set and the others.
    Diff,
}

fn ranged(s: &[u8], min: i64, msg: &str) -> Result<i64, CmdError> {
    match parse_i64(s) {
        Some(n) if n >= min => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

/// Parses any set command.
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let name = args.name();
    let cmd = match name {
        "sadd" => SetCmd::Add {
            key: args.required()?,
            members: args.rest(),
        },
        "srem" => SetCmd::Rem {
            key: args.required()?,
            members: args.rest(),
        },
        "smembers" => SetCmd::Members {
            key: args.required()?,
        },
        "sismember" | "smismember" => SetCmd::IsMember {
            key: args.required()?,
            members: args.rest(),
            multi: name == "smismember",
        },
        "scard" => SetCmd::Card {
            key: args.required()?,
        },
        "spop" => {
            let key = args.required()?;
            if args.remaining() > 1 {
                return Err(CmdError::Syntax);
            }
            let count = match args.next() {
                None => None,
                Some(c) => Some(ranged(&c, 0, "value is out of range, must be positive")? as usize),
            };
            SetCmd::Pop { key, count }
        }
        "srandmember" => {
            let key = args.required()?;
            if args.remaining() > 1 {
                return Err(CmdError::Syntax);
            }
            let count = match args.next() {
                None => None,
                Some(c) => Some(count_arg(&c)?),
            };
            SetCmd::RandMember { key, count }
        }
        "smove" => SetCmd::Move {
            src: args.required()?,
            dst: args.required()?,
            member: args.required()?,
        },
        "sinter" | "sunion" | "sdiff" | "sinterstore" | "sunionstore" | "sdiffstore" => {
            let op = match &name[..2] {
                _ if name.starts_with("sinter") => SetOpKind::Inter,
                _ if name.starts_with("sunion") => SetOpKind::Union,
                _ => SetOpKind::Diff,
            };
            let dst = if name.ends_with("store") {
                Some(args.required()?)
            } else {
                None
            };
            SetCmd::Op {
                op,
                dst,
                keys: args.rest(),
                card: None,
            }
        }
        "sintercard" => {
            let n = ranged(&args.required()?, 1, "numkeys should be greater than 0")?;
            let rest = args.rest();
            if n as u64 > rest.len() as u64 {
                return Err(CmdError::err(
                    "Number of keys can't be greater than number of args",
                ));
            }
            let n = n as usize;
            let mut limit = 0;
            let mut j = n;
            while j < rest.len() {
                if rest[j].eq_ignore_ascii_case(b"LIMIT") && j + 1 < rest.len() {
                    limit = ranged(&rest[j + 1], 0, "LIMIT can't be negative")? as usize;
                    j += 2;
                } else {
                    return Err(CmdError::Syntax);
                }
            }
            SetCmd::Op {
                op: SetOpKind::Inter,
                dst: None,
                keys: rest[..n].to_vec(),
                card: Some(limit),
            }
        }
        "sscan" => SetCmd::Scan {
            key: args.required()?,
            options: ScanOptions::parse(args)?,
        },
        other => unreachable!("not a set command: {other}"),
    };
    Ok(Command::Sets(cmd))
}

/// The live set at `key`: `None` if missing, WRONGTYPE for another type.
fn read<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a Set>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Runs `f` on the existing set at `key` (checked by the caller).
fn change<R>(db: &mut Db, key: &[u8], now: u64, f: impl FnOnce(&mut Set) -> (R, bool)) -> R {
    db.update(key, now, |v| match v {
        Value::Set(s) => f(s),
        _ => unreachable!("checked a set"),
    })
    .expect("checked live")
}

/// Adds `members` to the set at `key`, creating it; returns how many were new.
fn add(
    db: &mut Db,
    key: &[u8],
    members: &[Bytes],
    limits: &TypeLimits,
    now: u64,
) -> Result<usize, CmdError> {
    // One lookup when the set exists: the hot path of SADD.
    let added = db.update(key, now, |v| match v {
        Value::Set(s) => {
            let n = members.iter().filter(|m| s.add(m, limits)).count();
            (Ok(n), n > 0)
        }
        _ => (Err(CmdError::WrongType), false),
    });
    if let Some(r) = added {
        return r;
    }
    let mut s = Set::for_member(&members[0]);
    let n = members.iter().filter(|m| s.add(m, limits)).count();
    db.insert(key, Value::Set(Box::new(s)), None, now);
    Ok(n)
}

fn arg(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

impl SetCmd {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            SetCmd::Add { .. } => "sadd",
            SetCmd::Rem { .. } => "srem",
            SetCmd::Members { .. } => "smembers",
            SetCmd::IsMember { multi: false, .. } => "sismember",
            SetCmd::IsMember { .. } => "smismember",
            SetCmd::Card { .. } => "scard",
            SetCmd::Pop { .. } => "spop",
            SetCmd::RandMember { .. } => "srandmember",
            SetCmd::Move { .. } => "smove",
            SetCmd::Op { card: Some(_), .. } => "sintercard",
            SetCmd::Op { op, dst, .. } => match (op, dst.is_some()) {
                (SetOpKind::Inter, false) => "sinter",
                (SetOpKind::Union, false) => "sunion",
                (SetOpKind::Diff, false) => "sdiff",
                (SetOpKind::Inter, true) => "sinterstore",
                (SetOpKind::Union, true) => "sunionstore",
                (SetOpKind::Diff, true) => "sdiffstore",
            },
            SetCmd::Scan { .. } => "sscan",
        }
    }

    /// Runs the command, writing its reply.
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        let now = ctx.now_ms;
        let limits = ctx.store.type_limits();
        match self {
            SetCmd::Add { key, members } => {
                let n = add(ctx.db(), &key, &members, &limits, now)?;
                if n > 0 {
                    ctx.notify(notify::SET, "sadd", &key);
                }
                ctx.out().int(n as i64);
            }
            SetCmd::Rem { key, members } => {
                let db = ctx.db();
                let (n, emptied) = if read(db, &key, now)?.is_some() {
                    change(db, &key, now, |s| {
                        let n = members.iter().filter(|m| s.remove(m)).count();
                        ((n, s.is_empty()), n > 0)
                    })
                } else {
                    (0, false)
                };
                if n > 0 {
                    ctx.notify(notify::SET, "srem", &key);
                    // The keyspace removed the emptied set with its key: Redis's `del`.
                    if emptied {
                        ctx.notify(notify::GENERIC, "del", &key);
                    }
                }
                ctx.out().int(n as i64);
            }
            SetCmd::Members { key } => {
                let (db, mut out) = ctx.db_out();
                match read(db, &key, now)? {
                    None => out.set(0),
                    Some(s) => {
                        out.set(s.len());
                        for m in s.iter() {
                            m.with_bytes(|b| out.bulk(b));
                        }
                    }
                }
            }
            SetCmd::IsMember {
                key,
                members,
                multi,
            } => {
                let (db, mut out) = ctx.db_out();
                let s = read(db, &key, now)?;
                if multi {
                    out.array(members.len());
                }
                for m in &members {
                    out.int(i64::from(s.is_some_and(|s| s.contains(m))));
                }
            }
            SetCmd::Card { key } => {
                let n = read(ctx.db(), &key, now)?.map_or(0, Set::len);
                ctx.out().int(n as i64);
            }
            SetCmd::Pop { key, count } => return spop(ctx, key, count),
            SetCmd::RandMember { key, count } => return srandmember(ctx, &key, count),
            SetCmd::Move { src, dst, member } => {
                let db = ctx.db();
                // Redis looks both keys up (expiring them) before it checks either type.
                let src_is_set = db.get(&src, now).map(|v| matches!(v, Value::Set(_)));
                let dst_is_set = db.get(&dst, now).map(|v| matches!(v, Value::Set(_)));
                match (src_is_set, dst_is_set) {
                    (None, _) => {
                        ctx.out().int(0);
                        return Ok(());
                    }
                    (Some(false), _) | (_, Some(false)) => return Err(CmdError::WrongType),
                    _ => {}
                }
                if src == dst {
                    let found = read(db, &src, now)?.is_some_and(|s| s.contains(&member));
                    ctx.out().int(i64::from(found));
                    return Ok(());
                }
                let (removed, emptied) = change(db, &src, now, |s| {
                    let r = s.remove(&member);
                    ((r, s.is_empty()), r)
                });
                if !removed {
                    ctx.out().int(0);
                    return Ok(());
                }
                // Redis's order: the source's events, then the destination is created
                // (`new`) and gets its `sadd` only if the member was not there yet.
                ctx.notify(notify::SET, "srem", &src);
                if emptied {
                    ctx.notify(notify::GENERIC, "del", &src);
                }
                if add(ctx.db(), &dst, &[member], &limits, now)? > 0 {
                    ctx.notify(notify::SET, "sadd", &dst);
                }
                ctx.out().int(1);
            }
            SetCmd::Op {
                op,
                dst,
                keys,
                card,
            } => return set_op(ctx, op, dst, &keys, card),
            SetCmd::Scan { key, options } => {
                let db = ctx.db();
                if read(db, &key, now)?.is_none() {
                    scan_reply(&mut ctx.out(), 0, &[]);
                    return Ok(());
                }
                let o = options?;
                let mut items = Vec::new();
                let mut next = 0;
                db.update(&key, now, |v| {
                    if let Value::Set(s) = v {
                        next = s.scan(o.cursor, o.count, |m| {
                            m.with_bytes(|b| {
                                if o.matches(b) {
                                    items.push(b.to_vec());
                                }
                            })
                        });
                    }
                    ((), false)
                });
                scan_reply(&mut ctx.out(), next, &items);
            }
        }
        Ok(())
    }
}

/// SPOP: one random member, or `count` of them (the whole set, then deleted, when it has
/// no more). Logged as SREM of what was popped (DEL for the whole set), as Redis does.
fn spop(ctx: &mut Ctx, key: Bytes, count: Option<usize>) -> Result<(), CmdError> {
    let now = ctx.now_ms;
    let logging = ctx.logging();
    let (db, rng) = ctx.store.db_and_rng(ctx.conn.db);
    let size = match db.get(&key, now) {
        None => None,
        Some(Value::Set(s)) => Some(s.len()),
        Some(_) => return Err(CmdError::WrongType),
    };
    let Some(size) = size else {
        match count {
            None => ctx.out().null(),
            Some(_) => ctx.out().set(0),
        }
        return Ok(());
    };
    match count {
        None => {
            let m = change(db, &key, now, |s| {
                (s.pop_random(rng).expect("not empty"), true)
            });
            ctx.notify(notify::SET, "spop", &key);
            if size == 1 {
                ctx.notify(notify::GENERIC, "del", &key);
            }
            if logging {
                ctx.propagate(vec![arg("SREM"), key, Bytes::copy_from_slice(&m)]);
            }
            ctx.out().bulk(&m);
        }
        Some(0) => ctx.out().set(0),
        Some(n) if n >= size => {
            let all: Vec<Vec<u8>> = match db.peek(&key, now) {
                Some(Value::Set(s)) => s.iter().map(|m| m.to_vec()).collect(),
                _ => unreachable!("checked a set"),
            };
            db.remove(&key, now);
            // Redis replies through SMEMBERS's code, a read lookup: this SPOP counts one
            // keyspace hit, which our one lookup gives (the members were peeked).
            ctx.read_lookups();
            ctx.notify(notify::SET, "spop", &key);
            ctx.notify(notify::GENERIC, "del", &key);
            if logging {
                ctx.propagate(vec![arg("DEL"), key]);
            }
            let mut out = ctx.out();
            out.set(all.len());
            for m in &all {
                out.bulk(m);
            }
        }
        Some(n) => {
            let popped: Vec<Vec<u8>> = change(db, &key, now, |s| {
                ((0..n).filter_map(|_| s.pop_random(rng)).collect(), true)
            });
            ctx.notify(notify::SET, "spop", &key);
            if logging {
                let mut args = vec![arg("SREM"), key];
                args.extend(popped.iter().map(|m| Bytes::copy_from_slice(m)));
                ctx.propagate(args);
            }
            let mut out = ctx.out();
            out.set(popped.len());
            for m in &popped {
                out.bulk(m);
            }
        }
    }
    Ok(())
}

/// SRANDMEMBER, with Redis's cases (see HRANDFIELD).
fn srandmember(ctx: &mut Ctx, key: &[u8], count: Option<i64>) -> Result<(), CmdError> {
    let now = ctx.now_ms;
    let (may_stream, proto) = (ctx.may_stream(), ctx.conn.proto);
    let (db, rng) = ctx.store.db_and_rng(ctx.conn.db);
    let s = match db.get(key, now) {
        None => None,
        Some(Value::Set(s)) => Some(s),
        Some(_) => return Err(CmdError::WrongType),
    };
    let Some(count) = count else {
        let picked = s.and_then(|s| s.random(rng)).map(|m| m.to_vec());
        let mut out = ctx.out();
        match picked {
            Some(m) => out.bulk(&m),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(s) = s else {
        ctx.out().array(0);
        return Ok(());
    };
    let size = s.len();
    let (n, unique) = (count.unsigned_abs() as usize, count >= 0);
    if !unique && n > MIN_STREAMED_ELEMENTS && may_stream {
        // Up to 2^63 picks: the reply comes in pieces, from a copy of the set.
        let members = s.iter().map(|m| Bytes::from(m.to_vec())).collect();
        let rng = Rng::new(rng.next_u64());
        let stream = ReplyStream::random_picks(members, Second::None, n as u64, rng, proto);
        ctx.out().array(n);
        ctx.stream_reply(stream);
        return Ok(());
    }
    let picks: Vec<Vec<u8>> = if n == 0 {
        Vec::new()
    } else if !unique || n == 1 {
        (0..n)
            .map(|_| s.random(rng).expect("not empty").to_vec())
            .collect()
    } else if n >= size {
        s.iter().map(|m| m.to_vec()).collect()
    } else {
        let all: Vec<Member> = s.iter().collect();
        let mut idx: Vec<usize> = (0..size).collect();
        for i in 0..n {
            let j = i + rng.below(size - i);
            idx.swap(i, j);
        }
        idx[..n].iter().map(|&i| all[i].to_vec()).collect()
    };
    let mut out = ctx.out();
    out.array(picks.len());
    for m in &picks {
        out.bulk(m);
    }
    Ok(())
}

/// SINTER / SUNION / SDIFF, their STORE forms and SINTERCARD, as Redis computes them.
fn set_op(
    ctx: &mut Ctx,
    op: SetOpKind,
    dst: Option<Bytes>,
    keys: &[Bytes],
    card: Option<usize>,
) -> Result<(), CmdError> {
    let now = ctx.now_ms;
    let limits = ctx.store.type_limits();
    if dst.is_some() {
        // Redis reads the sources of the STORE forms with `lookupKeyRead`: they count in
        // keyspace_hits/misses and a missing one notifies `keymiss`.
        ctx.read_lookups();
    }
    let db = ctx.db();
    let mut present = Vec::with_capacity(keys.len());
    for k in keys {
        present.push(read(db, k, now)?.is_some());
    }
    let db_ro = &*db;
    let sets: Vec<Option<&Set>> = keys
        .iter()
        .zip(&present)
        .map(|(k, p)| match (p, db_ro.peek(k, now)) {
            (true, Some(Value::Set(s))) => Some(&**s),
            _ => None,
        })
        .collect();
    let mut result = Set::new_intset();
    let mut count = 0usize;
    match op {
        SetOpKind::Inter => {
            if sets.iter().all(Option::is_some) {
                let mut order: Vec<(usize, &Set)> = sets
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i, s.expect("all present")))
                    .collect();
                // Smallest first, as Redis sorts them (stably).
                order.sort_by_key(|(_, s)| s.len());
                let (first_i, first) = order[0];
                let mut hits: Vec<Vec<u8>> = Vec::new();
                for m in first.iter() {
                    let in_all = order[1..]
                        .iter()
                        .all(|&(i, s)| keys[i] == keys[first_i] || s.contains_member(m));
                    if !in_all {
                        continue;
                    }
                    count += 1;
                    match card {
                        Some(limit) if limit != 0 && count >= limit => break,
                        Some(_) => {}
                        None => hits.push(m.to_vec()),
                    }
                }
                if card.is_none() && dst.is_none() {
                    // SINTER replies in the order of the smallest set.
                    let mut out = ctx.out();
                    out.set(hits.len());
                    for m in &hits {
                        out.bulk(m);
                    }
                    return Ok(());
                }
                for m in &hits {
                    result.add(m, &limits);
                }
            }
        }
        SetOpKind::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    result.add_member(m, &limits);
                }
            }
        }
        SetOpKind::Diff => {
            let same = keys[1..]
                .iter()
                .zip(&present[1..])
                .any(|(k, p)| *p && *k == keys[0]);
            if let (Some(first), false) = (sets[0], same) {
                for m in first.iter() {
                    if sets[1..].iter().flatten().all(|s| !s.contains_member(m)) {
                        result.add_member(m, &limits);
                    }
                }
            }
        }
    }
    if card.is_some() {
        ctx.out().int(count as i64);
        return Ok(());
    }
    let members: Vec<Vec<u8>> = result.iter().map(|m| m.to_vec()).collect();
    match dst {
        Some(dst) => {
            let db = ctx.db();
            let n = result.len();
            if n > 0 {
                result.shrink_to_fit();
                db.insert(&dst, Value::Set(Box::new(result)), None, now);
                let event = match op {
                    SetOpKind::Inter => "sinterstore",
                    SetOpKind::Union => "sunionstore",
                    SetOpKind::Diff => "sdiffstore",
                };
                ctx.notify(notify::SET, event, &dst);
            } else if db.delete(&dst) {
                // An empty result deletes the destination, whatever it held.
                ctx.notify(notify::GENERIC, "del", &dst);
            }
            ctx.out().int(n as i64);
        }
        None => {
            let mut out = ctx.out();
            out.set(members.len());
            for m in &members {
                out.bulk(m);
            }
        }
    }
    Ok(())
}
