//! Sorted set commands: ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT,
//! ZRANGE, ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX,
//! ZREVRANGE, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX, ZMPOP, BZPOPMIN, BZPOPMAX, BZMPOP,
//! ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX, ZUNION, ZINTER, ZDIFF, ZUNIONSTORE,
//! ZINTERSTORE, ZDIFFSTORE, ZINTERCARD, ZRANDMEMBER, ZSCAN.
//!
//! Scores print as Redis 7.0's `addReplyDouble`: `%.17g` (see [`super::reply::fmt_score`]),
//! a bulk string in RESP2 and a double in RESP3. Pairs of member and score are flat in RESP2
//! and nested `[member, score]` arrays in RESP3, as Redis replies them.
//!
//! Keyspace events are reported where Redis 7.0's `t_zset.c` notifies them, in the same
//! order: the command's event, then the generic `del` when it emptied the key, and nothing
//! when it changed nothing.

use bytes::Bytes;

use super::blocking::{block, parse_timeout};
use super::executor::Ctx;
use super::reply::{
    fmt_score, parse_f64, parse_range_f64, random_count, scan_reply, Out, ScanOptions,
};
use super::reply_stream::{ReplyStream, Second, MIN_STREAMED_ELEMENTS};
use super::{int_arg, parse_i64, Args, CmdError, Command};
use crate::db::types::zset::{LexBound, LexRange, ScoreRange};
use crate::db::types::{Set, TypeLimits, ZSet};
use crate::db::{notify, BlockedOp, Db, Rng, Store, Value};
use crate::resp::Protocol;

/// Members with their scores, in order.
type Scored = Vec<(Vec<u8>, f64)>;

/// ZADD's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZAddFlags {
    /// NX: only add new members.
    pub nx: bool,
    /// XX: only update existing members.
    pub xx: bool,
    /// GT: only update to a greater score.
    pub gt: bool,
    /// LT: only update to a lower score.
    pub lt: bool,
    /// CH: reply added + updated.
    pub ch: bool,
    /// INCR: add to the score and reply it (ZINCRBY).
    pub incr: bool,
}

/// How ZRANGE selects: by rank, score or lexicographic range.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeBy {
    /// Ranks `start..=stop` (negative from the end).
    Rank(i64, i64),
    /// A score interval.
    Score(ScoreRange),
    /// A lexicographic interval.
    Lex(LexRange),
}

/// ZUNION, ZINTER or ZDIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// ZUNION / ZUNIONSTORE.
    Union,
    /// ZINTER / ZINTERSTORE / ZINTERCARD.
    Inter,
    /// ZDIFF / ZDIFFSTORE.
    Diff,
}

/// How ZUNION and ZINTER combine the scores of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregate {
    /// SUM (default).
    #[default]
    Sum,
    /// MIN.
    Min,
    /// MAX.
    Max,
}

/// The options of ZUNION, ZINTER, ZDIFF and their STORE forms, and of ZINTERCARD.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetOpOptions {
    /// One weight per key (default 1).
    pub weights: Option<Vec<f64>>,
    /// AGGREGATE.
    pub aggregate: Aggregate,
    /// WITHSCORES.
    pub with_scores: bool,
    /// ZINTERCARD's LIMIT (0: none).
    pub limit: usize,
}

/// A sorted set command, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ZSetCmd {
    /// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`, and
    /// `ZINCRBY key increment member` (INCR).
    Add {
        /// The key.
        key: Bytes,
        /// The options.
        flags: ZAddFlags,
        /// Scores and members.
        pairs: Vec<(f64, Bytes)>,
        /// `zadd` or `zincrby`.
        name: &'static str,
    },
    /// `ZREM key member [member ...]`.
    Rem {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
    },
    /// `ZSCORE key member` (`multi`: false) and `ZMSCORE key member [member ...]`.
    Score {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
        /// ZMSCORE: reply an array.
        multi: bool,
    },
    /// `ZCARD key`.
    Card {
        /// The key.
        key: Bytes,
    },
    /// `ZCOUNT key min max` and `ZLEXCOUNT key min max`.
    Count {
        /// The key.
        key: Bytes,
        /// The range (score or lex).
        range: RangeBy,
    },
    /// ZRANGE and its older forms, and ZRANGESTORE (`dst`).
    Range {
        /// Destination of ZRANGESTORE.
        dst: Option<Bytes>,
        /// The source key.
        key: Bytes,
        /// What to select.
        by: RangeBy,
        /// REV.
        rev: bool,
        /// LIMIT offset count (count -1: all).
        limit: Option<(i64, i64)>,
        /// WITHSCORES.
        with_scores: bool,
        /// The command name, for the reply's shape.
        name: &'static str,
    },
    /// `ZRANK key member` / `ZREVRANK key member`.
    Rank {
        /// The key.
        key: Bytes,
        /// The member.
        member: Bytes,
        /// ZREVRANK.
        rev: bool,
    },
    /// `ZPOPMIN key [count]` / `ZPOPMAX key [count]`.
    Pop {
        /// The key.
        key: Bytes,
        /// ZPOPMAX.
        max: bool,
        /// The count, if given.
        count: Option<usize>,
    },
    /// `ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]`, `BZMPOP timeout …`, and
    /// `BZPOPMIN key [key ...] timeout` / `BZPOPMAX …` (`count` None).
    MPop {
        /// The keys, tried in order.
        keys: Vec<Bytes>,
        /// MAX.
        max: bool,
        /// The COUNT (None for BZPOPMIN/BZPOPMAX).
        count: Option<usize>,
        /// For the blocking forms: how long to wait (ms, 0 forever).
        timeout_ms: Option<u64>,
    },
    /// `ZREMRANGEBYRANK key start stop`, `ZREMRANGEBYSCORE key min max`,
    /// `ZREMRANGEBYLEX key min max`.
    RemRange {
        /// The key.
        key: Bytes,
        /// What to remove.
        by: RangeBy,
    },
    /// `ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX]
    /// [WITHSCORES]`, ZINTER, ZDIFF, their STORE forms (`dst`), and ZINTERCARD (`card`).
    SetOp {
        /// ZUNION, ZINTER or ZDIFF.
        op: SetOp,
        /// The STORE destination.
        dst: Option<Bytes>,
        /// The input keys.
        keys: Vec<Bytes>,
        /// The options, or their error (reported after the keys' type checks).
        options: Result<SetOpOptions, CmdError>,
        /// ZINTERCARD.
        card: bool,
    },
    /// `ZRANDMEMBER key [count [WITHSCORES]]`.
    RandMember {
        /// The key.
        key: Bytes,
        /// The count, if given.
        count: Option<i64>,
        /// WITHSCORES.
        with_scores: bool,
    },
    /// `ZSCAN key cursor [MATCH pattern] [COUNT count]`.
    Scan {
        /// The key.
        key: Bytes,
        /// The cursor and options (their error is reported after the type check).
        options: Result<ScanOptions, CmdError>,
    },
}

fn score_arg(s: &[u8]) -> Result<f64, CmdError> {
    parse_f64(s).ok_or_else(|| CmdError::err("value is not a valid float"))
}

/// Parses `min max` of a score range, as `zslParseRange`.
pub(crate) fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let bound = |s: &[u8]| -> Option<(f64, bool)> {
        match s.strip_prefix(b"(") {
            Some(rest) => Some((parse_range_f64(rest)?, true)),
            None => Some((parse_range_f64(s)?, false)),
        }
    };
    let err = || CmdError::err("min or max is not a float");
    let (min, min_ex) = bound(min).ok_or_else(err)?;
    let (max, max_ex) = bound(max).ok_or_else(err)?;
    Ok(ScoreRange {
        min,
        max,
        min_ex,
        max_ex,
    })
}

/// Parses `min max` of a lexicographic range, as `zslParseLexRange`.
pub(crate) fn lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    let item = |s: &[u8]| -> Option<LexBound> {
        match s.first()? {
            b'+' if s.len() == 1 => Some(LexBound::Max),
            b'-' if s.len() == 1 => Some(LexBound::Min),
            b'(' => Some(LexBound::Member(s[1..].into(), true)),
            b'[' => Some(LexBound::Member(s[1..].into(), false)),
            _ => None,
        }
    };
    let err = || CmdError::err("min or max not valid string range item");
    Ok(LexRange {
        min: item(min).ok_or_else(err)?,
        max: item(max).ok_or_else(err)?,
    })
}

fn ranged(s: &[u8], min: i64, msg: &str) -> Result<i64, CmdError> {
    match parse_i64(s) {
        Some(n) if n >= min => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

fn min_max(s: &[u8]) -> Result<bool, CmdError> {
    if s.eq_ignore_ascii_case(b"MIN") {
        Ok(false)
    } else if s.eq_ignore_ascii_case(b"MAX") {
        Ok(true)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `numkeys key… MIN|MAX [COUNT n]` of ZMPOP and BZMPOP.
fn mpop_args(args: &mut Args) -> Result<(Vec<Bytes>, bool, usize), CmdError> {
    let numkeys = ranged(&args.required()?, 1, "numkeys should be greater than 0")?;
    let rest = args.rest();
    if numkeys as u64 >= rest.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let n = numkeys as usize;
    let max = min_max(&rest[n])?;
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
    Ok((rest[..n].to_vec(), max, count.unwrap_or(1)))
}

fn parse_add(key: Bytes, args: &mut Args) -> Result<ZSetCmd, CmdError> {
    let rest = args.rest();
    let mut flags = ZAddFlags::default();
    let mut i = 0;
    while i < rest.len() {
        let o = &rest[i];
        if o.eq_ignore_ascii_case(b"NX") {
            flags.nx = true;
        } else if o.eq_ignore_ascii_case(b"XX") {
            flags.xx = true;
        } else if o.eq_ignore_ascii_case(b"CH") {
            flags.ch = true;
        } else if o.eq_ignore_ascii_case(b"INCR") {
            flags.incr = true;
        } else if o.eq_ignore_ascii_case(b"GT") {
            flags.gt = true;
        } else if o.eq_ignore_ascii_case(b"LT") {
            flags.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = rest.len() - i;
    if elements % 2 != 0 || elements == 0 {
        return Err(CmdError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && elements > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for p in rest[i..].chunks(2) {
        pairs.push((score_arg(&p[0])?, p[1].clone()));
    }
    Ok(ZSetCmd::Add {
        key,
        flags,
        pairs,
        name: "zadd",
    })
}

/// ZRANGE's shared parser (`zrangeGenericCommand`): `fixed_by` / `fixed_rev` are the range
/// type and direction the command name implies (None: chosen by BYSCORE, BYLEX, REV).
fn parse_range(
    args: &mut Args,
    store: bool,
    fixed_by: Option<u8>,
    fixed_rev: Option<bool>,
) -> Result<ZSetCmd, CmdError> {
    let name = args.name();
    let dst = if store { Some(args.required()?) } else { None };
    let key = args.required()?;
    let a = args.required()?;
    let b = args.required()?;
    let rest = args.rest();
    let (mut by, mut rev) = (fixed_by, fixed_rev);
    let (mut with_scores, mut limit) = (false, None);
    let mut limit_count = -1;
    let mut j = 0;
    while j < rest.len() {
        let o = &rest[j];
        let left = rest.len() - j - 1;
        if !store && o.eq_ignore_ascii_case(b"WITHSCORES") {
            with_scores = true;
        } else if o.eq_ignore_ascii_case(b"LIMIT") && left >= 2 {
            let offset = int_arg(&rest[j + 1])?;
            limit_count = int_arg(&rest[j + 2])?;
            limit = Some((offset, limit_count));
            j += 2;
        } else if fixed_rev.is_none() && o.eq_ignore_ascii_case(b"REV") {
            rev = Some(true);
        } else if fixed_by.is_none() && o.eq_ignore_ascii_case(b"BYLEX") && by.is_none() {
            by = Some(b'l');
        } else if fixed_by.is_none() && o.eq_ignore_ascii_case(b"BYSCORE") && by.is_none() {
            by = Some(b's');
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let by = by.unwrap_or(b'r');
    if limit_count != -1 && by == b'r' {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && by == b'l' {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // Reverse score and lex ranges are given as max, min.
    let (min, max) = if rev && by != b'r' { (b, a) } else { (a, b) };
    let by = match by {
        b'r' => RangeBy::Rank(int_arg(&min)?, int_arg(&max)?),
        b's' => RangeBy::Score(score_range(&min, &max)?),
        _ => RangeBy::Lex(lex_range(&min, &max)?),
    };
    Ok(ZSetCmd::Range {
        dst,
        key,
        by,
        rev,
        limit,
        with_scores,
        name,
    })
}

fn parse_setop(args: &mut Args, op: SetOp, store: bool, card: bool) -> Result<ZSetCmd, CmdError> {
    let name = args.name();
    let dst = if store { Some(args.required()?) } else { None };
    let n = int_arg(&args.required()?)?;
    if n < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    let rest = args.rest();
    if n as u64 > rest.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let n = n as usize;
    let keys = rest[..n].to_vec();
    let options = (|| {
        let mut o = SetOpOptions::default();
        let mut j = n;
        while j < rest.len() {
            let remaining = rest.len() - j;
            let opt = &rest[j];
            if op != SetOp::Diff && !card && remaining > n && opt.eq_ignore_ascii_case(b"WEIGHTS") {
                let mut w = Vec::with_capacity(n);
                for a in &rest[j + 1..j + 1 + n] {
                    w.push(
                        parse_f64(a).ok_or_else(|| CmdError::err("weight value is not a float"))?,
                    );
                }
                o.weights = Some(w);
                j += 1 + n;
            } else if op != SetOp::Diff
                && !card
                && remaining >= 2
                && opt.eq_ignore_ascii_case(b"AGGREGATE")
            {
                let a = &rest[j + 1];
                o.aggregate = if a.eq_ignore_ascii_case(b"SUM") {
                    Aggregate::Sum
                } else if a.eq_ignore_ascii_case(b"MIN") {
                    Aggregate::Min
                } else if a.eq_ignore_ascii_case(b"MAX") {
                    Aggregate::Max
                } else {
                    return Err(CmdError::Syntax);
                };
                j += 2;
            } else if !store && !card && opt.eq_ignore_ascii_case(b"WITHSCORES") {
                o.with_scores = true;
                j += 1;
            } else if card && remaining >= 2 && opt.eq_ignore_ascii_case(b"LIMIT") {
                o.limit = ranged(&rest[j + 1], 0, "LIMIT can't be negative")? as usize;
                j += 2;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(o)
    })();
    Ok(ZSetCmd::SetOp {
        op,
        dst,
        keys,
        options,
        card,
    })
}

/// Parses any sorted set command.
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let name = args.name();
    let cmd = match name {
        "zadd" => {
            let key = args.required()?;
            parse_add(key, args)?
        }
        "zincrby" => {
            let key = args.required()?;
            let incr = score_arg(&args.required()?)?;
            ZSetCmd::Add {
                key,
                flags: ZAddFlags {
                    incr: true,
                    ..ZAddFlags::default()
                },
                pairs: vec![(incr, args.required()?)],
                name: "zincrby",
            }
        }
        "zrem" => ZSetCmd::Rem {
            key: args.required()?,
            members: args.rest(),
        },
        "zscore" | "zmscore" => ZSetCmd::Score {
            key: args.required()?,
            members: args.rest(),
            multi: name == "zmscore",
        },
        "zcard" => ZSetCmd::Card {
            key: args.required()?,
        },
        "zcount" | "zlexcount" => {
            let key = args.required()?;
            let (min, max) = (args.required()?, args.required()?);
            let range = if name == "zcount" {
                RangeBy::Score(score_range(&min, &max)?)
            } else {
                RangeBy::Lex(lex_range(&min, &max)?)
            };
            ZSetCmd::Count { key, range }
        }
        "zrange" => parse_range(args, false, None, None)?,
        "zrangestore" => parse_range(args, true, None, None)?,
        "zrangebyscore" => parse_range(args, false, Some(b's'), Some(false))?,
        "zrevrangebyscore" => parse_range(args, false, Some(b's'), Some(true))?,
        "zrangebylex" => parse_range(args, false, Some(b'l'), Some(false))?,
        "zrevrangebylex" => parse_range(args, false, Some(b'l'), Some(true))?,
        "zrevrange" => parse_range(args, false, Some(b'r'), Some(true))?,
        "zrank" | "zrevrank" => ZSetCmd::Rank {
            key: args.required()?,
            member: args.required()?,
            rev: name == "zrevrank",
        },
        "zpopmin" | "zpopmax" => {
            let key = args.required()?;
            if args.remaining() > 1 {
                return Err(CmdError::Syntax);
            }
            let count = match args.next() {
                None => None,
                Some(c) => Some(ranged(&c, 0, "value is out of range, must be positive")? as usize),
            };
            ZSetCmd::Pop {
                key,
                max: name == "zpopmax",
                count,
            }
        }
        "zmpop" => {
            let (keys, max, count) = mpop_args(args)?;
            ZSetCmd::MPop {
                keys,
                max,
                count: Some(count),
                timeout_ms: None,
            }
        }
        "bzmpop" => {
            let timeout = args.required()?;
            let (keys, max, count) = mpop_args(args)?;
            ZSetCmd::MPop {
                keys,
                max,
                count: Some(count),
                timeout_ms: Some(parse_timeout(&timeout)?),
            }
        }
        "bzpopmin" | "bzpopmax" => {
            let mut keys = args.rest();
            let timeout = keys.pop().expect("arity");
            ZSetCmd::MPop {
                keys,
                max: name == "bzpopmax",
                count: None,
                timeout_ms: Some(parse_timeout(&timeout)?),
            }
        }
        "zremrangebyrank" | "zremrangebyscore" | "zremrangebylex" => {
            let key = args.required()?;
            let (a, b) = (args.required()?, args.required()?);
            let by = match name {
                "zremrangebyrank" => RangeBy::Rank(int_arg(&a)?, int_arg(&b)?),
                "zremrangebyscore" => RangeBy::Score(score_range(&a, &b)?),
                _ => RangeBy::Lex(lex_range(&a, &b)?),
            };
            ZSetCmd::RemRange { key, by }
        }
        "zunion" => parse_setop(args, SetOp::Union, false, false)?,
        "zinter" => parse_setop(args, SetOp::Inter, false, false)?,
        "zdiff" => parse_setop(args, SetOp::Diff, false, false)?,
        "zunionstore" => parse_setop(args, SetOp::Union, true, false)?,
        "zinterstore" => parse_setop(args, SetOp::Inter, true, false)?,
        "zdiffstore" => parse_setop(args, SetOp::Diff, true, false)?,
        "zintercard" => parse_setop(args, SetOp::Inter, false, true)?,
        "zrandmember" => {
            let key = args.required()?;
            let (count, with_scores) = random_count(args, b"WITHSCORES")?;
            ZSetCmd::RandMember {
                key,
                count,
                with_scores,
            }
        }
        "zscan" => ZSetCmd::Scan {
            key: args.required()?,
            options: ScanOptions::parse(args)?,
        },
        other => unreachable!("not a sorted set command: {other}"),
    };
    Ok(Command::ZSet(cmd))
}

/// The live sorted set at `key`: `None` if missing, WRONGTYPE for another type.
fn read<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a ZSet>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Runs `f` on the existing sorted set at `key` (checked by the caller).
fn change<R>(db: &mut Db, key: &[u8], now: u64, f: impl FnOnce(&mut ZSet) -> (R, bool)) -> R {
    db.update(key, now, |v| match v {
        Value::ZSet(z) => f(z),
        _ => unreachable!("checked a sorted set"),
    })
    .expect("checked live")
}

/// Writes `[member, score]` pairs: flat in RESP2, nested in RESP3 when `nested_in_resp3`.
fn write_pairs(out: &mut Out, items: &[(Vec<u8>, f64)], with_scores: bool) {
    let nested = with_scores && out.resp3();
    if with_scores && !nested {
        out.array(items.len() * 2);
    } else {
        out.array(items.len());
    }
    for (m, s) in items {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        if with_scores {
            out.score(*s);
        }
    }
}

/// What ZADD did to one member.
enum AddOutcome {
    Added(f64),
    Updated(f64),
    Unchanged(f64),
    Nop,
    Nan,
}

/// `zsetAdd`: one member with ZADD's flags.
fn zset_add(
    z: &mut ZSet,
    score: f64,
    member: &[u8],
    f: &ZAddFlags,
    limits: &TypeLimits,
) -> AddOutcome {
    match z.score(member) {
        Some(cur) => {
            if f.nx {
                return AddOutcome::Nop;
            }
            let mut score = score;
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return AddOutcome::Nan;
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return AddOutcome::Nop;
            }
            if score != cur {
                z.update(member, cur, score);
                AddOutcome::Updated(score)
            } else {
                AddOutcome::Unchanged(score)
            }
        }
        None if !f.xx => {
            z.insert(member, score, limits);
            AddOutcome::Added(score)
        }
        None => AddOutcome::Nop,
    }
}

/// The members of a ZRANGE-style selection, in reply order.
fn select(z: &ZSet, by: &RangeBy, rev: bool, limit: Option<(i64, i64)>) -> Vec<(Vec<u8>, f64)> {
    let len = z.len();
    let take = |it: Box<dyn Iterator<Item = (&[u8], f64)> + '_>, n: usize| -> Vec<(Vec<u8>, f64)> {
        it.take(n).map(|(m, s)| (m.to_vec(), s)).collect()
    };
    match by {
        RangeBy::Rank(start, stop) => {
            let l = len as i64;
            let mut start = if *start < 0 { start + l } else { *start };
            let mut end = if *stop < 0 { stop + l } else { *stop };
            if start < 0 {
                start = 0;
            }
            if start > end || start >= l {
                return Vec::new();
            }
            if end >= l {
                end = l - 1;
            }
            let n = (end - start + 1) as usize;
            if rev {
                take(z.iter(len - 1 - start as usize, true), n)
            } else {
                take(z.iter(start as usize, false), n)
            }
        }
        RangeBy::Score(_) | RangeBy::Lex(_) => {
            let (offset, count) = limit.unwrap_or((0, -1));
            if offset < 0 || (offset > 0 && offset as u64 >= len as u64) {
                return Vec::new();
            }
            let first = match by {
                RangeBy::Score(r) if rev => z.last_in_score_range(r),
                RangeBy::Score(r) => z.first_in_score_range(r),
                RangeBy::Lex(r) if rev => z.last_in_lex_range(r),
                RangeBy::Lex(r) => z.first_in_lex_range(r),
                RangeBy::Rank(..) => unreachable!(),
            };
            let Some(first) = first else {
                return Vec::new();
            };
            let cap = if count < 0 {
                usize::MAX
            } else {
                count as usize
            };
            z.iter(first, rev)
                .skip(offset as usize)
                .take_while(|(m, s)| match by {
                    RangeBy::Score(r) if rev => score_gte_min(r, *s),
                    RangeBy::Score(r) => score_lte_max(r, *s),
                    RangeBy::Lex(r) if rev => lex_gte_min(r, m),
                    RangeBy::Lex(r) => lex_lte_max(r, m),
                    RangeBy::Rank(..) => unreachable!(),
                })
                .take(cap)
                .map(|(m, s)| (m.to_vec(), s))
                .collect()
        }
    }
}

fn score_gte_min(r: &ScoreRange, s: f64) -> bool {
    if r.min_ex {
        s > r.min
    } else {
        s >= r.min
    }
}

fn score_lte_max(r: &ScoreRange, s: f64) -> bool {
    if r.max_ex {
        s < r.max
    } else {
        s <= r.max
    }
}

fn lex_gte_min(r: &LexRange, m: &[u8]) -> bool {
    LexRange {
        min: r.min.clone(),
        max: LexBound::Max,
    }
    .contains(m)
}

fn lex_lte_max(r: &LexRange, m: &[u8]) -> bool {
    LexRange {
        min: LexBound::Min,
        max: r.max.clone(),
    }
    .contains(m)
}

/// The ranks `first..first+n` that ZREMRANGEBYSCORE/LEX remove: from the first member in
/// range, while members stay within the upper bound.
fn rem_span(z: &ZSet, by: &RangeBy) -> Option<(usize, usize)> {
    let (first, n) = match by {
        RangeBy::Score(r) => {
            let first = z.first_in_score_range(r)?;
            let n = z
                .iter(first, false)
                .take_while(|(_, s)| score_lte_max(r, *s))
                .count();
            (first, n)
        }
        RangeBy::Lex(r) => {
            let first = z.lex_delete_start(r)?;
            let n = z
                .iter(first, false)
                .take_while(|(m, _)| lex_lte_max(r, m))
                .count();
            (first, n)
        }
        RangeBy::Rank(start, stop) => {
            let l = z.len() as i64;
            let mut start = if *start < 0 { start + l } else { *start };
            let mut end = if *stop < 0 { stop + l } else { *stop };
            if start < 0 {
                start = 0;
            }
            if start > end || start >= l {
                return None;
            }
            if end >= l {
                end = l - 1;
            }
            (start as usize, (end - start + 1) as usize)
        }
    };
    (n > 0).then(|| (first, first + n - 1))
}

/// Pops up to `count` (at least one) members from the non-empty sorted set at `key` in
/// database `db`, reporting it as Redis's `genericZpopCommand`: `zpopmin` or `zpopmax`, then
/// `del` if it emptied the key.
fn pop_members(
    store: &mut Store,
    db: usize,
    key: &[u8],
    max: bool,
    count: usize,
    now: u64,
) -> Vec<(Vec<u8>, f64)> {
    let (popped, emptied) = change(store.db(db), key, now, |z| {
        let len = z.len();
        let n = count.min(len);
        if n == 0 {
            return ((Vec::new(), false), false);
        }
        let mut popped = if max {
            z.remove_rank_range(len - n, len - 1)
        } else {
            z.remove_rank_range(0, n - 1)
        };
        if max {
            popped.reverse();
        }
        ((popped, z.is_empty()), true)
    });
    if !popped.is_empty() {
        let event = if max { "zpopmax" } else { "zpopmin" };
        store.notify(notify::ZSET, event, key, db);
        if emptied {
            store.notify(notify::GENERIC, "del", key, db);
        }
    }
    popped
}

fn pop_name(max: bool) -> Bytes {
    Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" })
}

/// Writes ZMPOP's `[key, [[member, score], …]]` (nested in both protocols).
fn write_mpop(out: &mut Out, key: &[u8], popped: &[(Vec<u8>, f64)]) {
    out.array(2);
    out.bulk(key);
    out.array(popped.len());
    for (m, s) in popped {
        out.array(2);
        out.bulk(m);
        out.score(*s);
    }
}

/// Writes BZPOPMIN's `[key, member, score]`.
fn write_bzpop(out: &mut Out, key: &[u8], popped: &[(Vec<u8>, f64)]) {
    out.array(1 + popped.len() * 2);
    out.bulk(key);
    for (m, s) in popped {
        out.bulk(m);
        out.score(*s);
    }
}

/// Serves a blocked client's sorted set operation from `key` (a non-empty sorted set in
/// database `db`, the client's): writes its reply, reports the events there, and returns
/// the effect to log.
pub(crate) fn serve(
    store: &mut Store,
    db: usize,
    key: &Bytes,
    op: &BlockedOp,
    now: u64,
    out: &mut Out,
) -> Option<Vec<Bytes>> {
    match op {
        BlockedOp::ZPop { max } => {
            let popped = pop_members(store, db, key, *max, 1, now);
            write_bzpop(out, key, &popped);
            Some(vec![pop_name(*max), key.clone()])
        }
        BlockedOp::ZMPop { max, count } => {
            let popped = pop_members(store, db, key, *max, *count, now);
            write_mpop(out, key, &popped);
            Some(vec![
                pop_name(*max),
                key.clone(),
                Bytes::from(popped.len().to_string()),
            ])
        }
        _ => unreachable!("a sorted set operation"),
    }
}

/// An input of ZUNION and friends: a sorted set, a set (scores 1), or nothing.
enum Input<'a> {
    Missing,
    ZSet(&'a ZSet),
    Set(&'a Set),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::ZSet(z) => z.len(),
            Input::Set(s) => s.len(),
        }
    }

    fn elements(&self) -> Vec<(Vec<u8>, f64)> {
        match self {
            Input::Missing => Vec::new(),
            Input::ZSet(z) => z.iter(0, false).map(|(m, s)| (m.to_vec(), s)).collect(),
            Input::Set(s) => s.iter().map(|m| (m.to_vec(), 1.0)).collect(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::ZSet(z) => z.score(member),
            Input::Set(s) => s.contains(member).then_some(1.0),
        }
    }
}

fn aggregate(target: &mut f64, val: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += val;
            // +inf plus -inf: Redis keeps 0 rather than NaN.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// ZUNION/ZINTER/ZDIFF over the inputs, as `zunionInterDiffGenericCommand`: the sorted
/// result, or for ZINTERCARD the count.
fn set_op(
    db: &mut Db,
    keys: &[Bytes],
    op: SetOp,
    options: Result<SetOpOptions, CmdError>,
    card: bool,
    now: u64,
) -> Result<(Scored, usize, SetOpOptions), CmdError> {
    let mut kinds = Vec::with_capacity(keys.len());
    for k in keys {
        kinds.push(match db.get(k, now) {
            None => 0u8,
            Some(Value::ZSet(_)) => 1,
            Some(Value::Set(_)) => 2,
            Some(_) => return Err(CmdError::WrongType),
        });
    }
    let o = options?;
    // Shared borrows of every input: collect owned copies to keep the borrow checker happy
    // with one `&mut Db`; the inputs are read-only.
    let db = &*db;
    let inputs: Vec<Input> = keys
        .iter()
        .zip(&kinds)
        .map(|(k, kind)| match kind {
            0 => Input::Missing,
            _ => match db.peek(k, now) {
                Some(Value::ZSet(z)) => Input::ZSet(z),
                Some(Value::Set(s)) => Input::Set(s),
                _ => Input::Missing,
            },
        })
        .collect();
    let mut order: Vec<(usize, f64)> = (0..keys.len())
        .map(|i| (i, o.weights.as_ref().map_or(1.0, |w| w[i])))
        .collect();
    if op != SetOp::Diff {
        order.sort_by_key(|(i, _)| inputs[*i].len());
    }
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cardinality = 0usize;
    match op {
        SetOp::Inter => {
            let (first, w0) = order[0];
            if inputs[first].len() > 0 {
                'outer: for (m, s) in inputs[first].elements() {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for &(j, wj) in &order[1..] {
                        let value = if keys[j] == keys[first] && kinds[j] == kinds[first] {
                            s * wj
                        } else {
                            match inputs[j].score(&m) {
                                Some(v) => v * wj,
                                None => continue 'outer,
                            }
                        };
                        aggregate(&mut score, value, o.aggregate);
                    }
                    if card {
                        cardinality += 1;
                        if o.limit != 0 && cardinality >= o.limit {
                            break;
                        }
                    } else {
                        result.push((m, score));
                    }
                }
            }
        }
        SetOp::Union => {
            let mut acc: std::collections::HashMap<Vec<u8>, f64> = std::collections::HashMap::new();
            let mut seen_order: Vec<Vec<u8>> = Vec::new();
            for &(i, w) in &order {
                for (m, s) in inputs[i].elements() {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(&m) {
                        Some(t) => aggregate(t, score, o.aggregate),
                        None => {
                            seen_order.push(m.clone());
                            acc.insert(m, score);
                        }
                    }
                }
            }
            result = seen_order
                .into_iter()
                .map(|m| {
                    let s = acc[&m];
                    (m, s)
                })
                .collect();
        }
        SetOp::Diff => {
            if inputs[0].len() > 0 {
                for (m, s) in inputs[0].elements() {
                    if inputs[1..].iter().all(|i| i.score(&m).is_none()) {
                        result.push((m, s));
                    }
                }
            }
        }
    }
    result.sort_by(|a, b| match a.1.partial_cmp(&b.1) {
        Some(std::cmp::Ordering::Equal) | None => a.0.cmp(&b.0),
        Some(o) => o,
    });
    Ok((result, cardinality, o))
}

impl ZSetCmd {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            ZSetCmd::Add { name, .. } => name,
            ZSetCmd::Rem { .. } => "zrem",
            ZSetCmd::Score { multi: false, .. } => "zscore",
            ZSetCmd::Score { .. } => "zmscore",
            ZSetCmd::Card { .. } => "zcard",
            ZSetCmd::Count {
                range: RangeBy::Lex(_),
                ..
            } => "zlexcount",
            ZSetCmd::Count { .. } => "zcount",
            ZSetCmd::Range { name, .. } => name,
            ZSetCmd::Rank { rev: false, .. } => "zrank",
            ZSetCmd::Rank { .. } => "zrevrank",
            ZSetCmd::Pop { max: false, .. } => "zpopmin",
            ZSetCmd::Pop { .. } => "zpopmax",
            ZSetCmd::MPop {
                timeout_ms: None, ..
            } => "zmpop",
            ZSetCmd::MPop { count: Some(_), .. } => "bzmpop",
            ZSetCmd::MPop { max: false, .. } => "bzpopmin",
            ZSetCmd::MPop { .. } => "bzpopmax",
            ZSetCmd::RemRange {
                by: RangeBy::Rank(..),
                ..
            } => "zremrangebyrank",
            ZSetCmd::RemRange {
                by: RangeBy::Score(_),
                ..
            } => "zremrangebyscore",
            ZSetCmd::RemRange { .. } => "zremrangebylex",
            ZSetCmd::SetOp { card: true, .. } => "zintercard",
            ZSetCmd::SetOp { op, dst, .. } => match (op, dst.is_some()) {
                (SetOp::Union, false) => "zunion",
                (SetOp::Inter, false) => "zinter",
                (SetOp::Diff, false) => "zdiff",
                (SetOp::Union, true) => "zunionstore",
                (SetOp::Inter, true) => "zinterstore",
                (SetOp::Diff, true) => "zdiffstore",
            },
            ZSetCmd::RandMember { .. } => "zrandmember",
            ZSetCmd::Scan { .. } => "zscan",
        }
    }

    /// Runs the command, writing its reply (or blocking the connection).
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        let now = ctx.now_ms;
        let limits = ctx.store.type_limits();
        match self {
            ZSetCmd::Add {
                key, flags, pairs, ..
            } => {
                let db = ctx.db();
                let mut outcomes = Vec::with_capacity(pairs.len());
                // One lookup when the sorted set exists: the hot path of ZADD.
                let found = db.update(&key, now, |v| {
                    let Value::ZSet(z) = v else {
                        return (Err(CmdError::WrongType), false);
                    };
                    for (s, m) in &pairs {
                        let o = zset_add(z, *s, m, &flags, &limits);
                        let stop = matches!(o, AddOutcome::Nan);
                        outcomes.push(o);
                        if stop {
                            break;
                        }
                    }
                    let changed = outcomes
                        .iter()
                        .any(|o| matches!(o, AddOutcome::Added(_) | AddOutcome::Updated(_)));
                    (Ok(()), changed)
                });
                match found {
                    Some(r) => r?,
                    None if !flags.xx => {
                        let mut z = ZSet::for_first_member(pairs[0].1.len(), &limits);
                        for (s, m) in &pairs {
                            outcomes.push(zset_add(&mut z, *s, m, &flags, &limits));
                        }
                        db.insert(&key, Value::ZSet(Box::new(z)), None, now);
                    }
                    None => {}
                }
                if outcomes.iter().any(|o| matches!(o, AddOutcome::Nan)) {
                    return Err(CmdError::err("resulting score is not a number (NaN)"));
                }
                // Redis notifies only when a member was added or its score changed.
                if outcomes
                    .iter()
                    .any(|o| matches!(o, AddOutcome::Added(_) | AddOutcome::Updated(_)))
                {
                    let event = if flags.incr { "zincr" } else { "zadd" };
                    ctx.notify(notify::ZSET, event, &key);
                }
                let mut out = ctx.out();
                if flags.incr {
                    match outcomes.first() {
                        Some(
                            AddOutcome::Added(s)
                            | AddOutcome::Updated(s)
                            | AddOutcome::Unchanged(s),
                        ) => out.score(*s),
                        _ => out.null(),
                    }
                } else {
                    let added = outcomes
                        .iter()
                        .filter(|o| matches!(o, AddOutcome::Added(_)))
                        .count();
                    let updated = outcomes
                        .iter()
                        .filter(|o| matches!(o, AddOutcome::Updated(_)))
                        .count();
                    out.int((if flags.ch { added + updated } else { added }) as i64);
                }
            }
            ZSetCmd::Rem { key, members } => {
                let db = ctx.db();
                let (n, emptied) = if read(db, &key, now)?.is_some() {
                    change(db, &key, now, |z| {
                        let n = members.iter().filter(|m| z.remove(m).is_some()).count();
                        ((n, z.is_empty()), n > 0)
                    })
                } else {
                    (0, false)
                };
                if n > 0 {
                    ctx.notify(notify::ZSET, "zrem", &key);
                    if emptied {
                        ctx.notify(notify::GENERIC, "del", &key);
                    }
                }
                ctx.out().int(n as i64);
            }
            ZSetCmd::Score {
                key,
                members,
                multi,
            } => {
                let (db, mut out) = ctx.db_out();
                let z = read(db, &key, now)?;
                if multi {
                    out.array(members.len());
                }
                for m in &members {
                    match z.and_then(|z| z.score(m)) {
                        Some(s) => out.score(s),
                        None => out.null(),
                    }
                }
            }
            ZSetCmd::Card { key } => {
                let n = read(ctx.db(), &key, now)?.map_or(0, ZSet::len);
                ctx.out().int(n as i64);
            }
            ZSetCmd::Count { key, range } => {
                let n = match read(ctx.db(), &key, now)? {
                    None => 0,
                    Some(z) => match &range {
                        RangeBy::Score(r) => match z.first_in_score_range(r) {
                            None => 0,
                            Some(f) if z.is_compact() => z
                                .iter(f, false)
                                .take_while(|(_, s)| score_lte_max(r, *s))
                                .count(),
                            Some(f) => match z.last_in_score_range(r) {
                                Some(l) => l + 1 - f,
                                None => z.len() - f,
                            },
                        },
                        RangeBy::Lex(r) => match z.first_in_lex_range(r) {
                            None => 0,
                            Some(f) if z.is_compact() => z
                                .iter(f, false)
                                .take_while(|(m, _)| lex_lte_max(r, m))
                                .count(),
                            Some(f) => match z.last_in_lex_range(r) {
                                Some(l) => (l + 1).saturating_sub(f),
                                None => z.len() - f,
                            },
                        },
                        RangeBy::Rank(..) => unreachable!("parsed as score or lex"),
                    },
                };
                ctx.out().int(n as i64);
            }
            ZSetCmd::Range {
                dst,
                key,
                by,
                rev,
                limit,
                with_scores,
                name: _,
            } => {
                if dst.is_some() {
                    // ZRANGESTORE reads its source as Redis's `lookupKeyRead` does: hits,
                    // misses, `keymiss`.
                    ctx.read_lookups();
                }
                let db = ctx.db();
                let items = read(db, &key, now)?.map(|z| select(z, &by, rev, limit));
                match dst {
                    None => {
                        let items = items.unwrap_or_default();
                        write_pairs(&mut ctx.out(), &items, with_scores);
                    }
                    Some(dst) => {
                        let items = items.unwrap_or_default();
                        let n = items.len();
                        let by_rank = matches!(by, RangeBy::Rank(..));
                        let stored = store_result(db, &dst, &items, by_rank, &limits, now);
                        stored.notify(ctx, "zrangestore", &dst);
                        ctx.out().int(n as i64);
                    }
                }
            }
            ZSetCmd::Rank { key, member, rev } => {
                let (db, mut out) = ctx.db_out();
                match read(db, &key, now)?.and_then(|z| z.rank(&member).map(|r| (r, z.len()))) {
                    Some((r, len)) => out.int(if rev { len - 1 - r } else { r } as i64),
                    None => out.null(),
                }
            }
            ZSetCmd::Pop { key, max, count } => {
                let db = ctx.db();
                if read(db, &key, now)?.is_none() || count == Some(0) {
                    ctx.out().array(0);
                    return Ok(());
                }
                let db = ctx.conn.db;
                let popped = pop_members(ctx.store, db, &key, max, count.unwrap_or(1), now);
                let mut out = ctx.out();
                if count.is_some() {
                    write_pairs(&mut out, &popped, true);
                } else {
                    out.array(2);
                    out.bulk(&popped[0].0);
                    out.score(popped[0].1);
                }
            }
            ZSetCmd::MPop {
                keys,
                max,
                count,
                timeout_ms,
            } => {
                for key in &keys {
                    if read(ctx.db(), key, now)?.is_none() {
                        continue;
                    }
                    let db = ctx.conn.db;
                    let popped = pop_members(ctx.store, db, key, max, count.unwrap_or(1), now);
                    let mut out = ctx.out();
                    let effect = match count {
                        Some(_) => {
                            write_mpop(&mut out, key, &popped);
                            vec![
                                pop_name(max),
                                key.clone(),
                                Bytes::from(popped.len().to_string()),
                            ]
                        }
                        None => {
                            write_bzpop(&mut out, key, &popped);
                            vec![pop_name(max), key.clone()]
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
                            Some(count) => BlockedOp::ZMPop { max, count },
                            None => BlockedOp::ZPop { max },
                        };
                        block(ctx, keys, t, op);
                    }
                    _ => ctx.out().null_array(),
                }
            }
            ZSetCmd::RemRange { key, by } => {
                let db = ctx.db();
                let (n, emptied) = match read(db, &key, now)? {
                    None => (0, false),
                    Some(z) => match rem_span(z, &by) {
                        None => (0, false),
                        Some((s, e)) => change(db, &key, now, |z| {
                            ((z.remove_rank_range(s, e).len(), z.is_empty()), true)
                        }),
                    },
                };
                if n > 0 {
                    let event = match by {
                        RangeBy::Rank(..) => "zremrangebyrank",
                        RangeBy::Score(_) => "zremrangebyscore",
                        RangeBy::Lex(_) => "zremrangebylex",
                    };
                    ctx.notify(notify::ZSET, event, &key);
                    if emptied {
                        ctx.notify(notify::GENERIC, "del", &key);
                    }
                }
                ctx.out().int(n as i64);
            }
            ZSetCmd::SetOp {
                op,
                dst,
                keys,
                options,
                card,
            } => {
                if dst.is_some() {
                    // Redis 7.0 reads the inputs of the STORE forms with `lookupKeyRead`
                    // too: hits, misses, `keymiss`.
                    ctx.read_lookups();
                }
                let db = ctx.db();
                let (result, cardinality, o) = set_op(db, &keys, op, options, card, now)?;
                if card {
                    ctx.out().int(cardinality as i64);
                } else if let Some(dst) = dst {
                    let n = result.len();
                    let stored = if result.is_empty() {
                        Stored::from_removal(db.delete(&dst))
                    } else {
                        let z = ZSet::from_pairs(result.iter().map(|(m, s)| (&m[..], *s)), &limits);
                        db.insert(&dst, Value::ZSet(Box::new(z)), None, now);
                        Stored::Set
                    };
                    let event = match op {
                        SetOp::Union => "zunionstore",
                        SetOp::Inter => "zinterstore",
                        SetOp::Diff => "zdiffstore",
                    };
                    stored.notify(ctx, event, &dst);
                    ctx.out().int(n as i64);
                } else {
                    write_pairs(&mut ctx.out(), &result, o.with_scores);
                }
            }
            ZSetCmd::RandMember {
                key,
                count,
                with_scores,
            } => return zrandmember(ctx, &key, count, with_scores),
            ZSetCmd::Scan { key, options } => {
                let db = ctx.db();
                if read(db, &key, now)?.is_none() {
                    scan_reply(&mut ctx.out(), 0, &[]);
                    return Ok(());
                }
                let o = options?;
                let mut items = Vec::new();
                let mut next = 0;
                db.update(&key, now, |v| {
                    if let Value::ZSet(z) = v {
                        next = z.scan(o.cursor, o.count, |m, s| {
                            if o.matches(m) {
                                items.push(m.to_vec());
                                items.push(fmt_score(s).into_bytes());
                            }
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

/// What a *STORE command did to its destination.
enum Stored {
    /// Wrote the (non-empty) result.
    Set,
    /// The result was empty and the destination existed: removed.
    Deleted,
    /// The result was empty and there was no destination.
    Nothing,
}

impl Stored {
    fn from_removal(deleted: bool) -> Stored {
        if deleted {
            Stored::Deleted
        } else {
            Stored::Nothing
        }
    }

    /// Reports it as Redis does: the command's `event` for a stored result, the generic
    /// `del` for a destination an empty result removed.
    fn notify(self, ctx: &mut Ctx, event: &str, dst: &[u8]) {
        match self {
            Stored::Set => ctx.notify(notify::ZSET, event, dst),
            Stored::Deleted => ctx.notify(notify::GENERIC, "del", dst),
            Stored::Nothing => {}
        }
    }
}

/// Stores a result of ZRANGESTORE at `dst`: replaces it, or deletes it when the result is
/// empty.
fn store_result(
    db: &mut Db,
    dst: &[u8],
    items: &[(Vec<u8>, f64)],
    by_rank: bool,
    limits: &TypeLimits,
    now: u64,
) -> Stored {
    if items.is_empty() {
        return Stored::from_removal(db.delete(dst));
    }
    // As Redis: a rank range of known length over the listpack limit starts as a skiplist;
    // otherwise a listpack that converts as members are added.
    let mut z = ZSet::with_hints(if by_rank { items.len() } else { 0 }, 0, limits);
    for (m, s) in items {
        z.insert(m, *s, limits);
    }
    db.insert(dst, Value::ZSet(Box::new(z)), None, now);
    Stored::Set
}

/// ZRANDMEMBER, with HRANDFIELD's cases.
fn zrandmember(
    ctx: &mut Ctx,
    key: &[u8],
    count: Option<i64>,
    with_scores: bool,
) -> Result<(), CmdError> {
    let now = ctx.now_ms;
    let (may_stream, proto) = (ctx.may_stream(), ctx.conn.proto);
    let (db, rng) = ctx.store.db_and_rng(ctx.conn.db);
    let z = match db.get(key, now) {
        None => None,
        Some(Value::ZSet(z)) => Some(z),
        Some(_) => return Err(CmdError::WrongType),
    };
    let Some(count) = count else {
        let picked = z.and_then(|z| z.random(rng)).map(|(m, _)| m.to_vec());
        let mut out = ctx.out();
        match picked {
            Some(m) => out.bulk(&m),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(z) = z else {
        ctx.out().array(0);
        return Ok(());
    };
    let size = z.len();
    let (n, unique) = (count.unsigned_abs() as usize, count >= 0);
    if !unique && n > MIN_STREAMED_ELEMENTS && may_stream {
        // Up to 2^63 picks: the reply comes in pieces, from a copy of the sorted set.
        let (members, scores): (Vec<Bytes>, Vec<f64>) = z
            .iter(0, false)
            .map(|(m, s)| (Bytes::copy_from_slice(m), s))
            .unzip();
        let second = if with_scores {
            Second::Scores(scores)
        } else {
            Second::None
        };
        let rng = Rng::new(rng.next_u64());
        let stream = ReplyStream::random_picks(members, second, n as u64, rng, proto);
        // The count was checked to stay within half the range WITHSCORES.
        let flat = with_scores && proto != Protocol::Resp3;
        ctx.out().array(if flat { n * 2 } else { n });
        ctx.stream_reply(stream);
        return Ok(());
    }
    let picks: Vec<(Vec<u8>, f64)> = if n == 0 {
        Vec::new()
    } else if !unique || n == 1 {
        (0..n)
            .map(|_| {
                let (m, s) = z.random(rng).expect("not empty");
                (m.to_vec(), s)
            })
            .collect()
    } else if n >= size {
        // Redis walks a sorted set from the end here (zuiNext goes backwards).
        z.iter(size - 1, true)
            .map(|(m, s)| (m.to_vec(), s))
            .collect()
    } else {
        let mut idx: Vec<usize> = (0..size).collect();
        for i in 0..n {
            let j = i + rng.below(size - i);
            idx.swap(i, j);
        }
        let mut chosen = idx[..n].to_vec();
        if z.is_compact() {
            chosen.sort_unstable();
        }
        chosen
            .into_iter()
            .map(|i| {
                let (m, s) = z.get(i).expect("in range");
                (m.to_vec(), s)
            })
            .collect()
    };
    write_pairs(&mut ctx.out(), &picks, with_scores);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_like_redis() {
        let r = score_range(b"(1", b"+inf").unwrap();
        assert_eq!(
            (r.min, r.min_ex, r.max, r.max_ex),
            (1.0, true, f64::INFINITY, false)
        );
        assert!(score_range(b"x", b"1").is_err());
        assert_eq!(score_range(b"(", b"").unwrap().min, 0.0);
        assert!(lex_range(b"a", b"+").is_err());
        assert!(lex_range(b"+x", b"+").is_err());
        assert_eq!(lex_range(b"-", b"(b").unwrap().min, LexBound::Min);
    }
}
