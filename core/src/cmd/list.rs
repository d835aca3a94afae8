//! List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET,
//! LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP, and the blocking BLPOP, BRPOP,
//! BLMOVE, BRPOPLPUSH, BLMPOP.
//!
//! A blocking command whose keys are all empty registers its wait in the store and leaves
//! the connection blocked (see [`super::blocking`]); inside MULTI it replies as a timeout
//! at once, as Redis does. Served or not, blocking commands are logged as their
//! non-blocking forms (`LPOP`, `LMOVE`, …), so a replay never blocks.
//!
//! Keyspace events are reported where Redis 7.0's `t_list.c` and `blocked.c` notify them,
//! in the same order: the push on the destination before the pop on the source (LMOVE), the
//! generic `del` last when a command empties a list, and nothing for a no-op.

use bytes::Bytes;

use super::blocking::{block, parse_timeout};
use super::executor::Ctx;
use super::reply::Out;
use super::{int_arg, Args, CmdError, Command};
use crate::db::types::list::End;
use crate::db::types::{List, TypeLimits};
use crate::db::{notify, BlockedOp, Db, Store, Value};

/// A list command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListCmd {
    /// `LPUSH key element [element ...]`, `RPUSH …`, and with `only_existing` `LPUSHX` and
    /// `RPUSHX` — replies the new length.
    Push {
        /// The key.
        key: Bytes,
        /// Which end.
        end: End,
        /// The elements, pushed one after the other.
        elements: Vec<Bytes>,
        /// LPUSHX / RPUSHX: only onto an existing list.
        only_existing: bool,
    },
    /// `LPOP key [count]`, `RPOP key [count]`.
    Pop {
        /// The key.
        key: Bytes,
        /// Which end.
        end: End,
        /// The count, if given.
        count: Option<usize>,
    },
    /// `LLEN key`.
    Len {
        /// The key.
        key: Bytes,
    },
    /// `LRANGE key start stop`.
    Range {
        /// The key.
        key: Bytes,
        /// First index (negative from the tail).
        start: i64,
        /// Last index, inclusive.
        stop: i64,
    },
    /// `LINDEX key index`.
    Index {
        /// The key.
        key: Bytes,
        /// The index as sent: Redis parses it after looking the key up.
        index: Bytes,
    },
    /// `LSET key index element`.
    Set {
        /// The key.
        key: Bytes,
        /// The index as sent: Redis parses it after looking the key up.
        index: Bytes,
        /// The new element.
        element: Bytes,
    },
    /// `LINSERT key BEFORE | AFTER pivot element` — replies the new length, -1 if the pivot
    /// is missing, 0 if the key is.
    Insert {
        /// The key.
        key: Bytes,
        /// AFTER.
        after: bool,
        /// The element to find.
        pivot: Bytes,
        /// The element to insert.
        element: Bytes,
    },
    /// `LREM key count element` — removes `count` occurrences (negative: from the tail; 0:
    /// all).
    Rem {
        /// The key.
        key: Bytes,
        /// The count.
        count: i64,
        /// The element.
        element: Bytes,
    },
    /// `LTRIM key start stop`.
    Trim {
        /// The key.
        key: Bytes,
        /// First index kept.
        start: i64,
        /// Last index kept.
        stop: i64,
    },
    /// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`.
    Pos {
        /// The key.
        key: Bytes,
        /// The element.
        element: Bytes,
        /// RANK (default 1; negative searches from the tail).
        rank: i64,
        /// COUNT, if given (0: all matches).
        count: Option<i64>,
        /// MAXLEN (0: no limit).
        max_len: i64,
    },
    /// `LMOVE source destination LEFT | RIGHT LEFT | RIGHT`, `RPOPLPUSH source
    /// destination`, and their blocking forms `BLMOVE … timeout`, `BRPOPLPUSH … timeout`.
    Move {
        /// Source key.
        src: Bytes,
        /// Destination key.
        dst: Bytes,
        /// The end to pop from.
        from: End,
        /// The end to push to.
        to: End,
        /// For the blocking forms: how long to wait (ms, 0 forever).
        timeout_ms: Option<u64>,
        /// RPOPLPUSH / BRPOPLPUSH.
        rpoplpush: bool,
    },
    /// `LMPOP numkeys key [key ...] LEFT | RIGHT [COUNT count]`, `BLPOP key [key ...]
    /// timeout`, `BRPOP …`, `BLMPOP timeout numkeys …`.
    MPop {
        /// The keys, tried in order.
        keys: Vec<Bytes>,
        /// Which end.
        end: End,
        /// `None` for BLPOP/BRPOP (one element, `[key, element]`); else the COUNT.
        count: Option<usize>,
        /// For the blocking forms: how long to wait (ms, 0 forever).
        timeout_ms: Option<u64>,
    },
}

fn end_arg(s: &[u8]) -> Result<End, CmdError> {
    if s.eq_ignore_ascii_case(b"LEFT") {
        Ok(End::Left)
    } else if s.eq_ignore_ascii_case(b"RIGHT") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

pub(crate) fn end_name(end: End) -> Bytes {
    Bytes::from_static(match end {
        End::Left => b"LEFT",
        End::Right => b"RIGHT",
    })
}

/// A positive `long` as `getRangeLongFromObjectOrReply(…, min, LONG_MAX, msg)`: any
/// failure gives `msg`.
fn ranged(s: &[u8], min: i64, msg: &str) -> Result<i64, CmdError> {
    match super::parse_i64(s) {
        Some(n) if n >= min => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

/// `numkeys key… LEFT|RIGHT [COUNT n]` of LMPOP and BLMPOP.
fn mpop_args(args: &mut Args) -> Result<(Vec<Bytes>, End, usize), CmdError> {
    let numkeys = ranged(&args.required()?, 1, "numkeys should be greater than 0")?;
    let rest = args.rest();
    if numkeys as u64 >= rest.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let n = numkeys as usize;
    let end = end_arg(&rest[n])?;
    let mut count = None;
    let mut i = n + 1;
    while i < rest.len() {
        if count.is_none() && rest[i].eq_ignore_ascii_case(b"COUNT") && i + 1 < rest.len() {
            count = Some(ranged(&rest[i + 1], 1, "count should be greater than 0")? as usize);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((rest[..n].to_vec(), end, count.unwrap_or(1)))
}

/// Parses any list command.
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let name = args.name();
    let cmd = match name {
        "lpush" | "rpush" | "lpushx" | "rpushx" => ListCmd::Push {
            key: args.required()?,
            end: if name.starts_with('l') {
                End::Left
            } else {
                End::Right
            },
            elements: args.rest(),
            only_existing: name.ends_with('x'),
        },
        "lpop" | "rpop" => {
            let key = args.required()?;
            let count = match args.next() {
                None => None,
                Some(c) => {
                    if args.remaining() > 0 {
                        return Err(CmdError::WrongArity(name));
                    }
                    Some(ranged(&c, 0, "value is out of range, must be positive")? as usize)
                }
            };
            ListCmd::Pop {
                key,
                end: if name == "lpop" {
                    End::Left
                } else {
                    End::Right
                },
                count,
            }
        }
        "llen" => ListCmd::Len {
            key: args.required()?,
        },
        "lrange" | "ltrim" => {
            let key = args.required()?;
            let start = int_arg(&args.required()?)?;
            let stop = int_arg(&args.required()?)?;
            if name == "lrange" {
                ListCmd::Range { key, start, stop }
            } else {
                ListCmd::Trim { key, start, stop }
            }
        }
        "lindex" => {
            let key = args.required()?;
            let index = args.required()?;
            ListCmd::Index { key, index }
        }
        "lset" => {
            let key = args.required()?;
            let index = args.required()?;
            ListCmd::Set {
                key,
                index,
                element: args.required()?,
            }
        }
        "linsert" => {
            let key = args.required()?;
            let place = args.required()?;
            let after = if place.eq_ignore_ascii_case(b"AFTER") {
                true
            } else if place.eq_ignore_ascii_case(b"BEFORE") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
            ListCmd::Insert {
                key,
                after,
                pivot: args.required()?,
                element: args.required()?,
            }
        }
        "lrem" => {
            let key = args.required()?;
            let count = int_arg(&args.required()?)?;
            ListCmd::Rem {
                key,
                count,
                element: args.required()?,
            }
        }
        "lpos" => {
            let key = args.required()?;
            let element = args.required()?;
            let (mut rank, mut count, mut max_len) = (1, None, 0);
            while let Some(opt) = args.next() {
                let more = args.remaining() > 0;
                if opt.eq_ignore_ascii_case(b"RANK") && more {
                    rank = int_arg(&args.required()?)?;
                    if rank == 0 {
                        return Err(CmdError::err(
                            "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                        ));
                    }
                } else if opt.eq_ignore_ascii_case(b"COUNT") && more {
                    count = Some(ranged(&args.required()?, 0, "COUNT can't be negative")?);
                } else if opt.eq_ignore_ascii_case(b"MAXLEN") && more {
                    max_len = ranged(&args.required()?, 0, "MAXLEN can't be negative")?;
                } else {
                    return Err(CmdError::Syntax);
                }
            }
            ListCmd::Pos {
                key,
                element,
                rank,
                count,
                max_len,
            }
        }
        "lmove" | "blmove" => {
            let src = args.required()?;
            let dst = args.required()?;
            let from = end_arg(&args.required()?)?;
            let to = end_arg(&args.required()?)?;
            let timeout_ms = match name {
                "blmove" => Some(parse_timeout(&args.required()?)?),
                _ => None,
            };
            ListCmd::Move {
                src,
                dst,
                from,
                to,
                timeout_ms,
                rpoplpush: false,
            }
        }
        "rpoplpush" | "brpoplpush" => {
            let src = args.required()?;
            let dst = args.required()?;
            let timeout_ms = match name {
                "brpoplpush" => Some(parse_timeout(&args.required()?)?),
                _ => None,
            };
            ListCmd::Move {
                src,
                dst,
                from: End::Right,
                to: End::Left,
                timeout_ms,
                rpoplpush: true,
            }
        }
        "lmpop" => {
            let (keys, end, count) = mpop_args(args)?;
            ListCmd::MPop {
                keys,
                end,
                count: Some(count),
                timeout_ms: None,
            }
        }
        "blmpop" => {
            let timeout = args.required()?;
            let (keys, end, count) = mpop_args(args)?;
            ListCmd::MPop {
                keys,
                end,
                count: Some(count),
                timeout_ms: Some(parse_timeout(&timeout)?),
            }
        }
        "blpop" | "brpop" => {
            let mut keys = args.rest();
            let timeout = keys.pop().expect("arity");
            ListCmd::MPop {
                keys,
                end: if name == "blpop" {
                    End::Left
                } else {
                    End::Right
                },
                count: None,
                timeout_ms: Some(parse_timeout(&timeout)?),
            }
        }
        other => unreachable!("not a list command: {other}"),
    };
    Ok(Command::List(cmd))
}

/// The live list at `key`: `None` if missing, WRONGTYPE for another type.
fn read<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a List>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Runs `f` on the existing list at `key` (the caller checked it exists and is a list).
fn change<R>(db: &mut Db, key: &[u8], now: u64, f: impl FnOnce(&mut List) -> (R, bool)) -> R {
    db.update(key, now, |v| match v {
        Value::List(l) => f(l),
        _ => unreachable!("checked a list"),
    })
    .expect("checked live")
}

/// Normalizes LRANGE/LTRIM indices to a range within `len`, Redis's way.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut stop = if stop < 0 { stop + len } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

/// Pushes onto the list at `key`, creating it. WRONGTYPE for another type.
fn push(
    db: &mut Db,
    key: &[u8],
    end: End,
    elements: &[Bytes],
    limits: &TypeLimits,
    now: u64,
) -> Result<usize, CmdError> {
    // One lookup when the list exists: the hot path of LPUSH and RPUSH.
    let pushed = db.update(key, now, |v| match v {
        Value::List(l) => {
            for e in elements {
                l.push(end, e, limits);
            }
            (Ok(l.len()), true)
        }
        _ => (Err(CmdError::WrongType), false),
    });
    if let Some(r) = pushed {
        return r;
    }
    let mut l = List::new();
    for e in elements {
        l.push(end, e, limits);
    }
    let n = l.len();
    db.insert(key, Value::List(Box::new(l)), None, now);
    Ok(n)
}

/// LMOVE's work once both keys are checked: pops from `src` (a non-empty list), pushes onto
/// `dst` (missing or a list), and reports the events as Redis's `lmoveGenericCommand`:
/// the push on `dst`, the pop on `src`, `del` if that emptied it. Returns the element.
pub(crate) fn move_element(
    store: &mut Store,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    now: u64,
) -> Vec<u8> {
    let limits = &store.type_limits();
    let (v, emptied) = if src == dst {
        // Popped and pushed back at once: the list never empties.
        let v = change(store.db(db), src, now, |l| {
            let v = l.pop(from).expect("not empty");
            l.push(to, &v, limits);
            (v, true)
        });
        (v, false)
    } else {
        let (v, emptied) = change(store.db(db), src, now, |l| {
            ((l.pop(from).expect("not empty"), l.is_empty()), true)
        });
        push(
            store.db(db),
            dst,
            to,
            &[Bytes::copy_from_slice(&v)],
            limits,
            now,
        )
        .expect("checked a list");
        (v, emptied)
    };
    store.notify(notify::LIST, push_event(to), dst, db);
    report_pop(store, src, from, emptied, db);
    v
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// Reports a pop from `key` (Redis's `listElementsRemoved`): `lpop` or `rpop`, then `del`
/// if the pop emptied the list (which the keyspace already removed).
fn report_pop(store: &mut Store, key: &[u8], end: End, emptied: bool, db: usize) {
    let event = match end {
        End::Left => "lpop",
        End::Right => "rpop",
    };
    store.notify(notify::LIST, event, key, db);
    if emptied {
        store.notify(notify::GENERIC, "del", key, db);
    }
}

/// Pops up to `count` (at least one) elements from the non-empty list at `key` in database
/// `db` and reports it ([`report_pop`]).
fn pop_range(
    store: &mut Store,
    db: usize,
    key: &[u8],
    end: End,
    count: usize,
    now: u64,
) -> Vec<Vec<u8>> {
    let (v, emptied) = change(store.db(db), key, now, |l| {
        let n = count.min(l.len());
        let popped: Vec<Vec<u8>> = (0..n).filter_map(|_| l.pop(end)).collect();
        ((popped, l.is_empty()), n > 0)
    });
    report_pop(store, key, end, emptied, db);
    v
}

fn write_elements(out: &mut Out, elements: &[Vec<u8>]) {
    out.array(elements.len());
    for e in elements {
        out.bulk(e);
    }
}

fn pop_name(end: End) -> Bytes {
    Bytes::from_static(match end {
        End::Left => b"LPOP",
        End::Right => b"RPOP",
    })
}

/// Serves a blocked client's list operation from `key` (a non-empty list in database
/// `db`, the client's): writes its reply to `out`, reports the events there as Redis's
/// `serveClientBlockedOnList` does, and returns the effect to log; or writes WRONGTYPE
/// (BLMOVE onto a key of another type) and returns `None`, with no event.
pub(crate) fn serve(
    store: &mut Store,
    db: usize,
    key: &Bytes,
    op: &BlockedOp,
    now: u64,
    out: &mut Out,
) -> Option<Vec<Bytes>> {
    match op {
        BlockedOp::Pop { end } => {
            let v = pop_range(store, db, key, *end, 1, now);
            out.array(2);
            out.bulk(key);
            out.bulk(&v[0]);
            Some(vec![pop_name(*end), key.clone()])
        }
        BlockedOp::MPop { end, count } => {
            let v = pop_range(store, db, key, *end, *count, now);
            out.array(2);
            out.bulk(key);
            write_elements(out, &v);
            let n = Bytes::from(v.len().to_string());
            Some(vec![pop_name(*end), key.clone(), n])
        }
        BlockedOp::Move {
            dst,
            from,
            to,
            rpoplpush,
        } => {
            if !matches!(store.db(db).get(dst, now), None | Some(Value::List(_))) {
                out.error(&CmdError::WrongType);
                return None;
            }
            let v = move_element(store, db, key, dst, *from, *to, now);
            out.bulk(&v);
            Some(if *rpoplpush {
                vec![Bytes::from_static(b"RPOPLPUSH"), key.clone(), dst.clone()]
            } else {
                vec![
                    Bytes::from_static(b"LMOVE"),
                    key.clone(),
                    dst.clone(),
                    end_name(*from),
                    end_name(*to),
                ]
            })
        }
        BlockedOp::ZPop { .. } | BlockedOp::ZMPop { .. } | BlockedOp::Stream(_) => {
            unreachable!("a list operation")
        }
    }
}

impl ListCmd {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            ListCmd::Push {
                end: End::Left,
                only_existing: false,
                ..
            } => "lpush",
            ListCmd::Push {
                end: End::Right,
                only_existing: false,
                ..
            } => "rpush",
            ListCmd::Push { end: End::Left, .. } => "lpushx",
            ListCmd::Push { .. } => "rpushx",
            ListCmd::Pop { end: End::Left, .. } => "lpop",
            ListCmd::Pop { .. } => "rpop",
            ListCmd::Len { .. } => "llen",
            ListCmd::Range { .. } => "lrange",
            ListCmd::Index { .. } => "lindex",
            ListCmd::Set { .. } => "lset",
            ListCmd::Insert { .. } => "linsert",
            ListCmd::Rem { .. } => "lrem",
            ListCmd::Trim { .. } => "ltrim",
            ListCmd::Pos { .. } => "lpos",
            ListCmd::Move {
                rpoplpush: true,
                timeout_ms: None,
                ..
            } => "rpoplpush",
            ListCmd::Move {
                rpoplpush: true, ..
            } => "brpoplpush",
            ListCmd::Move {
                timeout_ms: None, ..
            } => "lmove",
            ListCmd::Move { .. } => "blmove",
            ListCmd::MPop {
                timeout_ms: None, ..
            } => "lmpop",
            ListCmd::MPop { count: Some(_), .. } => "blmpop",
            ListCmd::MPop { end: End::Left, .. } => "blpop",
            ListCmd::MPop { .. } => "brpop",
        }
    }

    /// Runs the command, writing its reply (or blocking the connection).
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        let now = ctx.now_ms;
        let limits = ctx.store.type_limits();
        match self {
            ListCmd::Push {
                key,
                end,
                elements,
                only_existing,
            } => {
                let db = ctx.db();
                let n = if only_existing && read(db, &key, now)?.is_none() {
                    0
                } else {
                    let n = push(db, &key, end, &elements, &limits, now)?;
                    ctx.notify(notify::LIST, push_event(end), &key);
                    n
                };
                ctx.out().int(n as i64);
            }
            ListCmd::Pop { key, end, count } => {
                // One lookup, and the reply written straight from the list's chunks.
                let (db, mut out) = ctx.db_out();
                // Ok(None): COUNT 0, nothing popped; Ok(Some(emptied)) otherwise.
                let popped = db.update(&key, now, |v| match v {
                    Value::List(l) => match count {
                        None => {
                            l.pop_with(end, |e| out.bulk(e));
                            (Ok(Some(l.is_empty())), true)
                        }
                        Some(n) => {
                            let n = n.min(l.len());
                            out.array(n);
                            for _ in 0..n {
                                l.pop_with(end, |e| out.bulk(e));
                            }
                            (Ok((n > 0).then_some(l.is_empty())), n > 0)
                        }
                    },
                    _ => (Err(CmdError::WrongType), false),
                });
                match (popped, count) {
                    (Some(r), _) => {
                        if let Some(emptied) = r? {
                            let db = ctx.conn.db;
                            report_pop(ctx.store, &key, end, emptied, db);
                        }
                    }
                    (None, Some(_)) => out.null_array(),
                    (None, None) => out.null(),
                }
            }
            ListCmd::Len { key } => {
                let n = read(ctx.db(), &key, now)?.map_or(0, List::len);
                ctx.out().int(n as i64);
            }
            ListCmd::Range { key, start, stop } => {
                let (db, mut out) = ctx.db_out();
                let Some(l) = read(db, &key, now)? else {
                    out.array(0);
                    return Ok(());
                };
                match clamp_range(start, stop, l.len()) {
                    None => out.array(0),
                    Some((s, e)) => {
                        out.array(e - s + 1);
                        for v in l.range(s, e - s + 1) {
                            out.bulk(v);
                        }
                    }
                }
            }
            ListCmd::Index { key, index } => {
                let (db, mut out) = ctx.db_out();
                let Some(l) = read(db, &key, now)? else {
                    out.null();
                    return Ok(());
                };
                let index = int_arg(&index)?;
                let found = l.resolve(index).and_then(|i| l.get(i));
                match found {
                    Some(v) => out.bulk(v),
                    None => out.null(),
                }
            }
            ListCmd::Set {
                key,
                index,
                element,
            } => {
                let db = ctx.db();
                let Some(l) = read(db, &key, now)? else {
                    return Err(CmdError::err("no such key"));
                };
                let Some(i) = l.resolve(int_arg(&index)?) else {
                    return Err(CmdError::err("index out of range"));
                };
                change(db, &key, now, |l| {
                    l.set(i, &element, &limits);
                    ((), true)
                });
                ctx.notify(notify::LIST, "lset", &key);
                ctx.out().ok();
            }
            ListCmd::Insert {
                key,
                after,
                pivot,
                element,
            } => {
                let db = ctx.db();
                let n = if read(db, &key, now)?.is_none() {
                    0
                } else {
                    change(db, &key, now, |l| {
                        if l.insert(&pivot, after, &element, &limits) {
                            (l.len() as i64, true)
                        } else {
                            (-1, false)
                        }
                    })
                };
                if n > 0 {
                    ctx.notify(notify::LIST, "linsert", &key);
                }
                ctx.out().int(n);
            }
            ListCmd::Rem {
                key,
                count,
                element,
            } => {
                let db = ctx.db();
                let (n, emptied) = if read(db, &key, now)?.is_none() {
                    (0, false)
                } else {
                    change(db, &key, now, |l| {
                        let n = l.remove(&element, count.unsigned_abs() as usize, count < 0);
                        ((n, l.is_empty()), n > 0)
                    })
                };
                if n > 0 {
                    ctx.notify(notify::LIST, "lrem", &key);
                }
                if emptied {
                    ctx.notify(notify::GENERIC, "del", &key);
                }
                ctx.out().int(n as i64);
            }
            ListCmd::Trim { key, start, stop } => {
                let db = ctx.db();
                if let Some(l) = read(db, &key, now)? {
                    let len = l.len();
                    let range = clamp_range(start, stop, len);
                    let changed = match range {
                        None => true,
                        Some((s, e)) => s > 0 || e + 1 < len,
                    };
                    let emptied = change(db, &key, now, |l| {
                        match range {
                            None => l.trim(0, 0, false),
                            Some((s, e)) => l.trim(s, e, true),
                        }
                        (l.is_empty(), changed)
                    });
                    // Redis signals the key even when nothing was cut (WATCH sees it), and
                    // notifies `ltrim` then too.
                    if !changed {
                        db.touch(&key);
                    }
                    ctx.notify(notify::LIST, "ltrim", &key);
                    if emptied {
                        ctx.notify(notify::GENERIC, "del", &key);
                    }
                }
                ctx.out().ok();
            }
            ListCmd::Pos {
                key,
                element,
                rank,
                count,
                max_len,
            } => {
                let (db, mut out) = ctx.db_out();
                let Some(l) = read(db, &key, now)? else {
                    match count {
                        Some(_) => out.array(0),
                        None => out.null(),
                    }
                    return Ok(());
                };
                let hits = lpos(l, &element, rank, count, max_len);
                match count {
                    Some(_) => {
                        out.array(hits.len());
                        for h in hits {
                            out.int(h);
                        }
                    }
                    None => match hits.first() {
                        Some(&h) => out.int(h),
                        None => out.null(),
                    },
                }
            }
            ListCmd::Move {
                src,
                dst,
                from,
                to,
                timeout_ms,
                rpoplpush,
            } => {
                let db = ctx.db();
                if read(db, &src, now)?.is_none() {
                    match timeout_ms {
                        Some(t) if ctx.may_block() => {
                            let op = BlockedOp::Move {
                                dst,
                                from,
                                to,
                                rpoplpush,
                            };
                            block(ctx, vec![src], t, op);
                        }
                        _ => ctx.out().null(),
                    }
                    return Ok(());
                }
                read(db, &dst, now)?;
                let db = ctx.conn.db;
                let v = move_element(ctx.store, db, &src, &dst, from, to, now);
                if timeout_ms.is_some() && ctx.logging() {
                    let args = if rpoplpush {
                        vec![Bytes::from_static(b"RPOPLPUSH"), src, dst]
                    } else {
                        vec![
                            Bytes::from_static(b"LMOVE"),
                            src,
                            dst,
                            end_name(from),
                            end_name(to),
                        ]
                    };
                    ctx.propagate(args);
                }
                ctx.out().bulk(&v);
            }
            ListCmd::MPop {
                keys,
                end,
                count,
                timeout_ms,
            } => {
                for key in &keys {
                    if read(ctx.db(), key, now)?.is_none() {
                        continue;
                    }
                    let db = ctx.conn.db;
                    let v = pop_range(ctx.store, db, key, end, count.unwrap_or(1), now);
                    let mut out = ctx.out();
                    out.array(2);
                    out.bulk(key);
                    let effect = match count {
                        Some(_) => {
                            write_elements(&mut out, &v);
                            vec![pop_name(end), key.clone(), Bytes::from(v.len().to_string())]
                        }
                        None => {
                            out.bulk(&v[0]);
                            vec![pop_name(end), key.clone()]
                        }
                    };
                    if ctx.logging() {
                        ctx.propagate(effect);
                    }
                    return Ok(());
                }
                match timeout_ms {
                    Some(t) if ctx.may_block() => {
                        let op = match count {
                            Some(count) => BlockedOp::MPop { end, count },
                            None => BlockedOp::Pop { end },
                        };
                        block(ctx, keys, t, op);
                    }
                    _ => ctx.out().null_array(),
                }
            }
        }
        Ok(())
    }
}

/// LPOS's search, with Redis's arithmetic (a RANK of `i64::MIN` included).
fn lpos(l: &List, element: &[u8], rank: i64, count: Option<i64>, max_len: i64) -> Vec<i64> {
    let from_tail = rank < 0;
    let rank = if from_tail { rank.wrapping_neg() } else { rank };
    let len = l.len() as i64;
    let mut hits = Vec::new();
    let mut matches: i64 = 0;
    let iter: Box<dyn Iterator<Item = &[u8]>> = if from_tail {
        Box::new(l.iter().rev())
    } else {
        Box::new(l.iter())
    };
    for (index, e) in iter.enumerate() {
        let index = index as i64;
        if max_len != 0 && index >= max_len {
            break;
        }
        if e != element {
            continue;
        }
        matches += 1;
        if matches >= rank {
            let at = if from_tail { len - index - 1 } else { index };
            hits.push(at);
            match count {
                None => break,
                Some(c) => {
                    if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c {
                        break;
                    }
                }
            }
        }
    }
    hits
}
