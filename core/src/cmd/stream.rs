//! Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XREAD.
//!
//! Arguments are checked when the command runs, in Redis 7.0's order (XADD parses its
//! options before looking the key up; XTRIM, XDEL and XSETID look the key up first or last
//! as Redis does), so a transaction queues any of them and fails it at EXEC, as Redis.
//!
//! Ids are `<ms>-<seq>` with each part read as Redis's `string2ull` (a `strtoull` that
//! refuses what reads as a negative `long long`); a missing `-<seq>` is 0 for a start and
//! the largest sequence for an end. Replies list entries as `[id, [field, value, …]]`, in
//! both protocols; XREAD answers a map of stream to entries in RESP3.

use bytes::{Bytes, BytesMut};

use super::executor::Ctx;
use super::reply::Out;
use super::{int_arg, Args, CmdError, Command};
use crate::db::{
    notify, Blocked, BlockedOp, Message, NodeLimits, Store, Stream, StreamId, Trim, Value,
};
use crate::resp::{Frame, Protocol};

/// A stream command, parsed: its name and arguments (checked when it runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCmd {
    name: &'static str,
    args: Vec<Bytes>,
}

/// Parses any stream command (the spec table's parser for each of them).
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    Ok(Command::Stream(StreamCmd {
        name: args.name(),
        args: args.rest(),
    }))
}

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

fn invalid_id() -> CmdError {
    CmdError::Other(INVALID_ID.to_owned())
}

/// Redis's `string2ull`: `string2ll` if it succeeds (refusing negatives), else C's
/// `strtoull` over the whole string (leading spaces, a sign, and wrap-around included).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::num::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i == s.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Redis's `streamGenericParseIDOrReply`. `strict` refuses `-` and `+`; `star` allows
/// `<ms>-*` (returned with `seq_given` false).
fn parse_id(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    star: bool,
) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 127 {
        return Err(invalid_id());
    }
    // The C string ends at the first NUL.
    let s = match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    if s == b"-" || s == b"+" {
        if strict {
            return Err(invalid_id());
        }
        return Ok((
            if s == b"-" {
                StreamId::MIN
            } else {
                StreamId::MAX
            },
            true,
        ));
    }
    let (ms, seq) = match s.iter().position(|&b| b == b'-') {
        Some(dash) => (&s[..dash], Some(&s[dash + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms).ok_or_else(invalid_id)?;
    match seq {
        Some(b"*") if star => Ok((StreamId::new(ms, 0), false)),
        Some(seq) => Ok((
            StreamId::new(ms, string2ull(seq).ok_or_else(invalid_id)?),
            true,
        )),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

fn strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id(arg, 0, true, false).map(|(id, _)| id)
}

/// Redis's `streamParseIntervalIDOrReply`: `(id` is exclusive (strict after the `(`).
fn interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        let (id, _) = parse_id(&arg[1..], missing_seq, true, false)?;
        Ok((id, true))
    } else {
        let (id, _) = parse_id(arg, missing_seq, false, false)?;
        Ok((id, false))
    }
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// The stream at `key` (None if missing), or WRONGTYPE.
fn lookup<'a>(
    db: &'a mut crate::db::Db,
    key: &[u8],
    now: u64,
) -> Result<Option<&'a Stream>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Runs `f` on the stream at `key` (which the caller found), counting a write if it says so.
fn edit<R>(
    db: &mut crate::db::Db,
    key: &[u8],
    now: u64,
    f: impl FnOnce(&mut Stream) -> (R, bool),
) -> R {
    db.update(key, now, |v| match v {
        Value::Stream(s) => f(s),
        _ => unreachable!("checked to be a stream"),
    })
    .expect("checked to exist")
}

/// The trimming options of XADD and XTRIM.
#[derive(Debug, Clone, Copy)]
struct TrimArgs {
    how: Option<Trim>,
    approx: bool,
    limit: u64,
}

/// Redis's `streamParseAddOrTrimArgsOrReply`: the options from `args[i..]`; for XADD,
/// stops at the id (returned with `seq_given`) and returns the index of the first field.
fn parse_trim_args(
    args: &[Bytes],
    mut i: usize,
    xadd: bool,
    node_max_entries: u64,
) -> Result<AddArgs, CmdError> {
    let mut t = TrimArgs {
        how: None,
        approx: false,
        limit: 0,
    };
    let mut limit_given = false;
    let mut nomkstream = false;
    let mut id = None;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if xadd && &opt[..] == b"*" {
            break;
        } else if (eq(opt, "maxlen") || eq(opt, "minid")) && more > 0 {
            if t.how.is_some() {
                return Err(CmdError::err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            t.approx = false;
            let next = &args[i + 1];
            if more >= 2 && &next[..] == b"~" {
                t.approx = true;
                i += 1;
            } else if more >= 2 && &next[..] == b"=" {
                i += 1;
            }
            if eq(opt, "maxlen") {
                let n = int_arg(&args[i + 1])?;
                if n < 0 {
                    return Err(CmdError::err("The MAXLEN argument must be >= 0."));
                }
                t.how = Some(Trim::MaxLen(n as u64));
            } else {
                t.how = Some(Trim::MinId(strict_id(&args[i + 1])?));
            }
            i += 1;
        } else if eq(opt, "limit") && more > 0 {
            let n = int_arg(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            t.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && eq(opt, "nomkstream") {
            nomkstream = true;
        } else if xadd {
            id = Some(parse_id(opt, 0, true, true)?);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if t.limit != 0 && t.how.is_none() {
        return Err(CmdError::err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && t.how.is_none() {
        return Err(CmdError::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !t.approx {
            return Err(CmdError::err(
                "syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if t.approx {
        let n = node_max_entries.saturating_mul(100);
        t.limit = if n == 0 || n > i64::MAX as u64 {
            10_000
        } else {
            n
        };
    }
    Ok(AddArgs {
        trim: t,
        at: i,
        id,
        nomkstream,
    })
}

/// What [`parse_trim_args`] read.
struct AddArgs {
    trim: TrimArgs,
    /// Index of the id (XADD).
    at: usize,
    /// The id (`None`: `*`) and whether its sequence was given.
    id: Option<(StreamId, bool)>,
    nomkstream: bool,
}

fn node_limits(store: &Store) -> NodeLimits {
    let c = store.config();
    NodeLimits {
        max_bytes: c.stream_node_max_bytes,
        max_entries: c.stream_node_max_entries,
    }
}

fn id_bytes(id: StreamId) -> Bytes {
    Bytes::from(id.to_string())
}

/// Writes `[id, [field, value, …]]` for each entry from `start` to `end` (at most `count`,
/// 0: all) as an array; returns how many.
fn write_range(
    out: &mut Out,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    rev: bool,
    count: usize,
) -> usize {
    let mut scratch = BytesMut::new();
    let mut n = 0usize;
    {
        let mut o = Out {
            buf: &mut scratch,
            proto: out.proto,
        };
        s.range(start, end, rev, |id, pairs| {
            write_entry(&mut o, id, pairs);
            n += 1;
            count == 0 || n < count
        });
    }
    out.array(n);
    out.buf.extend_from_slice(&scratch);
    n
}

fn write_entry(o: &mut Out, id: StreamId, pairs: &[(&[u8], &[u8])]) {
    o.array(2);
    o.bulk(id.to_string().as_bytes());
    o.array(pairs.len() * 2);
    for (f, v) in pairs {
        o.bulk(f);
        o.bulk(v);
    }
}

impl StreamCmd {
    /// The command's name, as the spec table has it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        let a = &self.args;
        match self.name {
            "xadd" => xadd(ctx, a),
            "xlen" => {
                let now = ctx.now_ms;
                let n = lookup(ctx.db(), &a[0], now)?.map_or(0, Stream::len);
                ctx.reply(Frame::Integer(n as i64));
                Ok(())
            }
            "xrange" => xrange(ctx, a, false),
            "xrevrange" => xrange(ctx, a, true),
            "xdel" => xdel(ctx, a),
            "xtrim" => xtrim(ctx, a),
            "xsetid" => xsetid(ctx, a),
            "xread" => xread(ctx, a),
            other => unreachable!("not a stream command: {other}"),
        }
    }
}

fn xadd(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let key = &a[0];
    let limits = node_limits(ctx.store);
    let AddArgs {
        trim,
        at: i,
        id: given,
        nomkstream,
    } = parse_trim_args(a, 1, true, limits.max_entries)?;
    let fields = &a[(i + 1).min(a.len())..];
    if fields.len() < 2 || fields.len() % 2 == 1 {
        return Err(CmdError::WrongArity("xadd"));
    }
    if let Some((id, true)) = given {
        if id == StreamId::MIN {
            return Err(CmdError::err(
                "The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let now = ctx.now_ms;
    let db = ctx.db();
    if lookup(db, key, now)?.is_none() {
        if nomkstream {
            ctx.reply(Frame::Null);
            return Ok(());
        }
        db.insert(key, Value::Stream(Box::default()), None, now);
    }
    let total: u64 = fields.iter().map(|f| f.len() as u64).sum();
    let pairs: Vec<(&[u8], &[u8])> = fields.chunks(2).map(|p| (&p[0][..], &p[1][..])).collect();
    let result = edit(db, key, now, |s| {
        let last = s.last_id();
        if last == StreamId::MAX {
            return (
                Err(CmdError::err(
                    "The stream has exhausted the last possible ID, unable to add more items",
                )),
                false,
            );
        }
        if total > crate::db::types::stream::LISTPACK_MAX_SIZE {
            return (
                Err(CmdError::err("Elements are too large to be stored")),
                false,
            );
        }
        let id = match given {
            Some((id, true)) => Some(id),
            Some((id, false)) if id.ms == last.ms => {
                if last.seq == u64::MAX {
                    None
                } else {
                    Some(StreamId::new(last.ms, last.seq + 1))
                }
            }
            Some((id, false)) => Some(id),
            // `*`: the time, or the last id's successor if the clock is behind it.
            None if now > last.ms => Some(StreamId::new(now, 0)),
            None => last.next(),
        };
        let id = match id {
            Some(id) if id > last => id,
            _ => return (
                Err(CmdError::err(
                    "The ID specified in XADD is equal or smaller than the target stream top item",
                )),
                false,
            ),
        };
        s.append(id, &pairs, limits);
        (Ok(id), true)
    });
    let id = result?;
    ctx.reply(Frame::Bulk(id_bytes(id)));
    ctx.notify(notify::STREAM, "xadd", key);
    let mut trimmed = false;
    if let Some(how) = trim.how {
        let removed = edit(ctx.db(), key, now, |s| {
            let n = s.trim(how, trim.approx, trim.limit);
            (n, n > 0)
        });
        if removed > 0 {
            trimmed = true;
            ctx.notify(notify::STREAM, "xtrim", key);
        }
    }
    if ctx.logging() {
        // The id as chosen, and a trim as its exact result, so a replay builds the same
        // stream whatever its clock and node settings.
        let mut args = vec![Bytes::from_static(b"XADD"), key.clone(), id_bytes(id)];
        args.extend(fields.iter().cloned());
        ctx.propagate(args);
        if trimmed {
            let len = lookup(ctx.db(), key, now)?.map_or(0, Stream::len);
            ctx.propagate(vec![
                Bytes::from_static(b"XTRIM"),
                key.clone(),
                Bytes::from_static(b"MAXLEN"),
                Bytes::from(len.to_string()),
            ]);
        }
    }
    ctx.db().signal_stream_ready(key);
    Ok(())
}

fn xrange(ctx: &mut Ctx, a: &[Bytes], rev: bool) -> Result<(), CmdError> {
    let (start_arg, end_arg) = if rev { (&a[2], &a[1]) } else { (&a[1], &a[2]) };
    let (mut start, start_ex) = interval_id(start_arg, 0)?;
    if start_ex {
        start = start
            .next()
            .ok_or_else(|| CmdError::err("invalid start ID for the interval"))?;
    }
    let (mut end, end_ex) = interval_id(end_arg, u64::MAX)?;
    if end_ex {
        end = end
            .prev()
            .ok_or_else(|| CmdError::err("invalid end ID for the interval"))?;
    }
    let mut count: i64 = -1;
    let mut j = 3;
    while j < a.len() {
        if eq(&a[j], "count") && j + 1 < a.len() {
            count = int_arg(&a[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let now = ctx.now_ms;
    let (db, mut out) = ctx.db_out();
    let s = match db.get(&a[0], now) {
        None => {
            out.array(0);
            return Ok(());
        }
        Some(Value::Stream(s)) => s,
        Some(_) => return Err(CmdError::WrongType),
    };
    if count == 0 {
        crate::resp::encode(&Frame::NullArray, out.proto, out.buf);
        return Ok(());
    }
    let count = if count < 0 { 0 } else { count as usize };
    write_range(&mut out, s, start, end, rev, count);
    Ok(())
}

fn xdel(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let key = &a[0];
    let now = ctx.now_ms;
    if lookup(ctx.db(), key, now)?.is_none() {
        ctx.reply(Frame::Integer(0));
        return Ok(());
    }
    let ids = a[1..]
        .iter()
        .map(|x| strict_id(x))
        .collect::<Result<Vec<_>, _>>()?;
    let deleted = edit(ctx.db(), key, now, |s| {
        let n = ids.iter().filter(|&&id| s.delete(id)).count();
        (n, n > 0)
    });
    if deleted > 0 {
        ctx.notify(notify::STREAM, "xdel", key);
    }
    ctx.reply(Frame::Integer(deleted as i64));
    Ok(())
}

fn xtrim(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let key = &a[0];
    let now = ctx.now_ms;
    let max_entries = node_limits(ctx.store).max_entries;
    let trim = parse_trim_args(a, 1, false, max_entries)?.trim;
    if lookup(ctx.db(), key, now)?.is_none() {
        ctx.reply(Frame::Integer(0));
        return Ok(());
    }
    let how = trim.how.expect("XTRIM has a strategy");
    let removed = edit(ctx.db(), key, now, |s| {
        let n = s.trim(how, trim.approx, trim.limit);
        (n, n > 0)
    });
    if removed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
        if trim.approx && ctx.logging() {
            let len = lookup(ctx.db(), key, now)?.map_or(0, Stream::len);
            ctx.propagate(vec![
                Bytes::from_static(b"XTRIM"),
                key.clone(),
                Bytes::from_static(b"MAXLEN"),
                Bytes::from(len.to_string()),
            ]);
        }
    }
    ctx.reply(Frame::Integer(removed as i64));
    Ok(())
}

fn xsetid(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let key = &a[0];
    let id = strict_id(&a[1])?;
    let mut entries_added: i64 = -1;
    let mut max_deleted = StreamId::MIN;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if eq(&a[i], "entriesadded") && more > 0 {
            entries_added = int_arg(&a[i + 1])?;
            if entries_added < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
        } else if eq(&a[i], "maxdeletedid") && more > 0 {
            max_deleted = strict_id(&a[i + 1])?;
            if id < max_deleted {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let now = ctx.now_ms;
    if lookup(ctx.db(), key, now)?.is_none() {
        return Err(CmdError::err("no such key"));
    }
    let r = edit(ctx.db(), key, now, |s| {
        // 7.0.15 does not check `id` against the current max deleted id.
        if !s.is_empty() {
            let top = s.first_entry_id(true).expect("not empty");
            if id < top {
                return (
                    Err(CmdError::err(
                        "The ID specified in XSETID is smaller than the target stream top item",
                    )),
                    false,
                );
            }
            if entries_added != -1 && s.len() > entries_added as u64 {
                return (
                    Err(CmdError::err(
                        "The entries_added specified in XSETID is smaller than the target stream length",
                    )),
                    false,
                );
            }
        }
        let added = if entries_added == -1 {
            s.entries_added()
        } else {
            entries_added as u64
        };
        let max_del = if max_deleted == StreamId::MIN {
            s.max_deleted_id()
        } else {
            max_deleted
        };
        s.set_ids(id, added, max_del);
        (Ok(()), true)
    });
    r?;
    ctx.reply(Frame::OK);
    ctx.notify(notify::STREAM, "xsetid", key);
    Ok(())
}

/// What a client blocked in XREAD waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamWait {
    /// Each key with the id its entries must be above.
    pub ids: Vec<(Bytes, StreamId)>,
    /// The most entries per stream (1000 when XREAD had no COUNT).
    pub count: usize,
}

/// Redis's `XREAD_BLOCKED_DEFAULT_COUNT`.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

fn xread(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let mut timeout: Option<u64> = None;
    let mut count: usize = 0;
    let mut streams_at = None;
    let mut i = 0;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let o = &a[i];
        if eq(o, "block") && more > 0 {
            i += 1;
            timeout = Some(match crate::num::parse_i64(&a[i]) {
                None => return Err(CmdError::err("timeout is not an integer or out of range")),
                Some(t) if t < 0 => return Err(CmdError::err("timeout is negative")),
                Some(t) => t as u64,
            });
        } else if eq(o, "count") && more > 0 {
            i += 1;
            count = int_arg(&a[i])?.max(0) as usize;
        } else if eq(o, "streams") && more > 0 {
            let n = a.len() - (i + 1);
            if n % 2 != 0 {
                return Err(CmdError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_at = Some(i + 1);
            break;
        } else if eq(o, "group") && more >= 2 {
            return Err(CmdError::err(
                "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
            ));
        } else if eq(o, "noack") {
            return Err(CmdError::err(
                "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
            ));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let Some(at) = streams_at else {
        return Err(CmdError::Syntax);
    };
    let n = (a.len() - at) / 2;
    let keys = &a[at..at + n];
    let now = ctx.now_ms;
    let mut ids = Vec::with_capacity(n);
    for (k, arg) in keys.iter().zip(&a[at + n..]) {
        let s = lookup(ctx.db(), k, now)?;
        if &arg[..] == b"$" {
            ids.push(s.map_or(StreamId::MIN, Stream::last_id));
            continue;
        }
        if &arg[..] == b">" {
            return Err(CmdError::err(
                "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            ));
        }
        ids.push(strict_id(arg)?);
    }
    let (db, mut out) = ctx.db_out();
    let mut scratch = BytesMut::new();
    let mut served = 0;
    {
        let mut o = Out {
            buf: &mut scratch,
            proto: out.proto,
        };
        for (k, &gt) in keys.iter().zip(&ids) {
            let Some(Value::Stream(s)) = db.get(k, now) else {
                continue;
            };
            if s.is_empty() || !s.first_entry_id(true).is_some_and(|top| top > gt) {
                continue;
            }
            served += 1;
            if o.proto == Protocol::Resp2 {
                o.array(2);
            }
            o.bulk(k);
            let start = gt.next().unwrap_or(StreamId::MAX);
            write_range(&mut o, s, start, StreamId::MAX, false, count);
        }
    }
    if served > 0 {
        if out.proto == Protocol::Resp2 {
            out.array(served);
        } else {
            out.map(served);
        }
        out.buf.extend_from_slice(&scratch);
        return Ok(());
    }
    match timeout {
        Some(t) if ctx.may_block() => {
            let wait = StreamWait {
                ids: keys.iter().cloned().zip(ids).collect(),
                count: if count == 0 {
                    BLOCKED_DEFAULT_COUNT
                } else {
                    count
                },
            };
            super::blocking::block(ctx, keys.to_vec(), t, BlockedOp::Stream(Box::new(wait)));
        }
        _ => ctx.reply(Frame::NullArray),
    }
    Ok(())
}

/// Serves `client`, blocked in XREAD on `key` of `db`, if the stream there has entries
/// above the id it waits for: replies `[[key, entries]]` (a map in RESP3) and unblocks it.
pub(crate) fn serve(
    store: &mut Store,
    db: usize,
    key: &Bytes,
    client: crate::db::ClientId,
    now: u64,
) {
    let Some(Blocked {
        op: BlockedOp::Stream(wait),
        proto,
        ..
    }) = store.blocked(client)
    else {
        return;
    };
    let proto = *proto;
    let Some(&(_, gt)) = wait.ids.iter().find(|(k, _)| k == key) else {
        return;
    };
    let count = wait.count;
    let Some(Value::Stream(s)) = store.db(db).get(key, now) else {
        return;
    };
    if s.last_id() <= gt {
        return;
    }
    let mut buf = BytesMut::new();
    let mut out = Out {
        buf: &mut buf,
        proto,
    };
    if proto == Protocol::Resp2 {
        out.array(1);
        out.array(2);
    } else {
        out.map(1);
    }
    out.bulk(key);
    let start = gt.next().unwrap_or(StreamId::MAX);
    write_range(&mut out, s, start, StreamId::MAX, false, count);
    store.take_blocked(client);
    store.deliver(client, Message::Unblocked(buf.freeze()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis() {
        let ok: &[(&str, StreamId)] = &[
            ("1-2", StreamId::new(1, 2)),
            ("5", StreamId::new(5, 0)),
            ("+5-3", StreamId::new(5, 3)),
            (" 7-007", StreamId::new(7, 7)),
            ("18446744073709551615-1", StreamId::new(u64::MAX, 1)),
        ];
        for &(s, want) in ok {
            assert_eq!(strict_id(s.as_bytes()), Ok(want), "{s}");
        }
        for s in [
            "-",
            "+",
            "",
            "-0-1",
            "1-",
            "1-x",
            "-1",
            "1--1",
            "18446744073709551616",
            "1-2-3",
            "1-*",
        ] {
            assert!(strict_id(s.as_bytes()).is_err(), "{s}");
        }
        assert_eq!(
            parse_id(b"5-*", 0, true, true),
            Ok((StreamId::new(5, 0), false))
        );
        assert_eq!(interval_id(b"(1-1", 0), Ok((StreamId::new(1, 1), true)));
        assert_eq!(
            interval_id(b"2", u64::MAX),
            Ok((StreamId::new(2, u64::MAX), false))
        );
        assert!(interval_id(b"(-", 0).is_err());
    }
}
