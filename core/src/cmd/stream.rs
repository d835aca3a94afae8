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
    notify, Blocked, BlockedOp, Message, NodeLimits, Store, Stream, StreamId, StreamWait, Trim,
    Value,
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
    let name = match args.name() {
        "xgroup" => {
            let sub = args.peek().cloned().unwrap_or_default();
            let m = super::command::subcommand(args, "XGROUP")?;
            return Ok(Command::Stream(StreamCmd {
                name: m.name,
                args: std::iter::once(sub).chain(args.rest()).collect(),
            }));
        }
        "xinfo" => {
            let sub = args.peek().cloned().unwrap_or_default();
            let m = super::command::subcommand(args, "XINFO")?;
            return Ok(Command::Stream(StreamCmd {
                name: m.name,
                args: std::iter::once(sub).chain(args.rest()).collect(),
            }));
        }
        n => n,
    };
    Ok(Command::Stream(StreamCmd {
        name,
        args: args.rest(),
    }))
}

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

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
        match self.name.split_once('|') {
            Some((container, _)) => container,
            None => self.name,
        }
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
            "xread" => xread(ctx, a, false),
            "xreadgroup" => xread(ctx, a, true),
            "xack" => xack(ctx, a),
            "xpending" => xpending(ctx, a),
            "xclaim" => xclaim(ctx, a),
            "xautoclaim" => xautoclaim(ctx, a),
            "xgroup|create" => xgroup_create(ctx, a),
            "xgroup|setid" => xgroup_setid(ctx, a),
            "xgroup|destroy" => xgroup_destroy(ctx, a),
            "xgroup|createconsumer" => xgroup_createconsumer(ctx, a),
            "xgroup|delconsumer" => xgroup_delconsumer(ctx, a),
            "xgroup|help" => {
                ctx.reply(super::command::help("XGROUP", XGROUP_HELP));
                Ok(())
            }
            "xinfo|stream" => xinfo_stream(ctx, a),
            "xinfo|groups" => xinfo_groups(ctx, a),
            "xinfo|consumers" => xinfo_consumers(ctx, a),
            "xinfo|help" => {
                ctx.reply(super::command::help("XINFO", XINFO_HELP));
                Ok(())
            }
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

/// Redis's `XREAD_BLOCKED_DEFAULT_COUNT`.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

fn xread(ctx: &mut Ctx, a: &[Bytes], xreadgroup: bool) -> Result<(), CmdError> {
    let mut timeout: Option<u64> = None;
    let mut count: usize = 0;
    let mut streams_at = None;
    let mut group: Option<(Bytes, Bytes)> = None;
    let mut noack = false;
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
                // 7.0.15 words it so for XREADGROUP too.
                return Err(CmdError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_at = Some(i + 1);
            break;
        } else if eq(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 2;
        } else if eq(o, "noack") {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let Some(at) = streams_at else {
        return Err(CmdError::Syntax);
    };
    if xreadgroup && group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    let n = (a.len() - at) / 2;
    let keys = &a[at..at + n];
    let now = ctx.now_ms;
    // `None`: `>` (new entries of the group).
    let mut ids: Vec<Option<StreamId>> = Vec::with_capacity(n);
    for (k, arg) in keys.iter().zip(&a[at + n..]) {
        let s = lookup(ctx.db(), k, now)?;
        if let Some((g, _)) = &group {
            if !s.is_some_and(|s| s.groups.contains_key(&g[..])) {
                return Err(CmdError::Other(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(g)
                )));
            }
        }
        if &arg[..] == b"$" {
            if xreadgroup {
                return Err(CmdError::err("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            ids.push(Some(s.map_or(StreamId::MIN, Stream::last_id)));
            continue;
        }
        if &arg[..] == b">" {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            ids.push(None);
            continue;
        }
        ids.push(Some(strict_id(arg)?));
    }
    let proto = ctx.conn.proto;
    let db_index = ctx.conn.db;
    let mut scratch = BytesMut::new();
    let mut served = 0;
    let mut effects = Vec::new();
    for (k, &gt) in keys.iter().zip(&ids) {
        let mut o = Out {
            buf: &mut scratch,
            proto,
        };
        match &group {
            None => {
                let gt = gt.expect("XREAD ids are explicit");
                let Some(Value::Stream(s)) = ctx.db().get(k, now) else {
                    continue;
                };
                if !s.first_entry_id(true).is_some_and(|top| top > gt) {
                    continue;
                }
                served += 1;
                if proto == Protocol::Resp2 {
                    o.array(2);
                }
                o.bulk(k);
                let start = gt.next().unwrap_or(StreamId::MAX);
                write_range(&mut o, s, start, StreamId::MAX, false, count);
            }
            Some((g, c)) => {
                let r = read_group(
                    ctx.store,
                    db_index,
                    k,
                    g,
                    c,
                    gt,
                    count,
                    noack,
                    now,
                    &mut o,
                    &mut effects,
                );
                if r {
                    served += 1;
                }
            }
        }
    }
    if ctx.logging() {
        for e in effects.drain(..) {
            ctx.propagate(e);
        }
    }
    let mut out = ctx.out();
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
                ids: keys
                    .iter()
                    .cloned()
                    .zip(ids.iter().map(|id| id.unwrap_or(StreamId::MAX)))
                    .collect(),
                count: if count == 0 {
                    BLOCKED_DEFAULT_COUNT
                } else {
                    count
                },
                group: group.map(|(g, c)| (g, c, noack)),
            };
            super::blocking::block(ctx, keys.to_vec(), t, BlockedOp::Stream(Box::new(wait)));
        }
        _ => ctx.reply(Frame::NullArray),
    }
    Ok(())
}

/// The group `g` of the stream at `key` (checked to exist), mutably.
fn with_stream<R>(
    store: &mut Store,
    db: usize,
    key: &[u8],
    now: u64,
    f: impl FnOnce(&mut Stream) -> (R, bool),
) -> Option<R> {
    store.db(db).update(key, now, |v| match v {
        Value::Stream(s) => f(s),
        _ => unreachable!("checked to be a stream"),
    })
}

/// Finds or creates consumer `c` of group `g` (created: notifies `xgroup-createconsumer`),
/// marking it seen at `now`. True if it was created.
fn touch_consumer(s: &mut Stream, g: &[u8], c: &[u8], now: u64) -> bool {
    let group = s.groups.get_mut(g).expect("checked group");
    match group.consumers.get_mut(c) {
        Some(consumer) => {
            consumer.seen_time = now;
            false
        }
        None => {
            group.consumers.insert(
                c.into(),
                crate::db::Consumer {
                    seen_time: now,
                    pel: Default::default(),
                },
            );
            true
        }
    }
}

/// XREADGROUP on one stream, as Redis's `xreadCommand` and `streamReplyWithRange` with a
/// group: `gt` `None` reads new entries (served only if there are some above the group's
/// last id), an id reads the consumer's pending entries above it (always served). Writes
/// `[key, entries]` (RESP2) or `key entries` (a map pair), and the effects to log. True if
/// served.
#[allow(clippy::too_many_arguments)]
fn read_group(
    store: &mut Store,
    db: usize,
    key: &Bytes,
    g: &Bytes,
    c: &Bytes,
    gt: Option<StreamId>,
    count: usize,
    noack: bool,
    now: u64,
    o: &mut Out,
    effects: &mut Vec<Vec<Bytes>>,
) -> bool {
    let (created, served) = with_stream(store, db, key, now, |s| {
        let group_last = s.groups.get(&g[..]).expect("checked group").last_id;
        let top = s.first_entry_id(true);
        let history = gt.is_some();
        let serve = history || (!s.is_empty() && top.is_some_and(|t| t > group_last));
        if !serve {
            return ((false, false), false);
        }
        // Only a served read creates (or refreshes) the consumer, as 7.0.15.
        let created = touch_consumer(s, g, c, now);
        if o.proto == Protocol::Resp2 {
            o.array(2);
        }
        o.bulk(key);
        match gt {
            Some(gt) => {
                let start = gt.next().unwrap_or(StreamId::MAX);
                write_history(o, s, g, c, start, count, now);
            }
            None => {
                let start = group_last.next().unwrap_or(StreamId::MAX);
                let delivered = deliver_new(s, g, c, start, count, noack, now, o);
                log_delivery(s, key, g, c, &delivered, noack, effects);
            }
        }
        ((created, true), true)
    })
    .unwrap_or((false, false));
    if created {
        store.notify(notify::STREAM, "xgroup-createconsumer", key, db);
        effects.insert(
            0,
            vec![
                Bytes::from_static(b"XGROUP"),
                Bytes::from_static(b"CREATECONSUMER"),
                key.clone(),
                g.clone(),
                c.clone(),
            ],
        );
    }
    served
}

/// Writes the entries from `start` (at most `count`) and delivers them to consumer `c`:
/// the group's last id and read counter advance; unless `noack`, each goes in the PEL
/// (taken over from another consumer if it was pending there). Returns the ids.
#[allow(clippy::too_many_arguments)]
fn deliver_new(
    s: &mut Stream,
    g: &[u8],
    c: &[u8],
    start: StreamId,
    count: usize,
    noack: bool,
    now: u64,
    o: &mut Out,
) -> Vec<StreamId> {
    let mut ids = Vec::new();
    let mut scratch = BytesMut::new();
    {
        let mut w = Out {
            buf: &mut scratch,
            proto: o.proto,
        };
        s.range(start, StreamId::MAX, false, |id, pairs| {
            write_entry(&mut w, id, pairs);
            ids.push(id);
            count == 0 || ids.len() < count
        });
    }
    o.array(ids.len());
    o.buf.extend_from_slice(&scratch);
    for &id in &ids {
        s.advance_group(g, id);
        if noack {
            continue;
        }
        let group = s.groups.get_mut(g).expect("checked group");
        if let Some(old) = group.pel.get(&id).map(|n| n.consumer.clone()) {
            if let Some(prev) = group.consumers.get_mut(&old) {
                prev.pel.remove(&id);
            }
        }
        group.pel.insert(
            id,
            crate::db::Nack {
                delivery_time: now,
                delivery_count: 1,
                consumer: c.into(),
            },
        );
        group
            .consumers
            .get_mut(c)
            .expect("touched consumer")
            .pel
            .insert(id);
    }
    ids
}

/// The effects of delivering `ids` to `c`: an XCLAIM each (as Redis's
/// `streamPropagateXCLAIM`), then the group's last id and counter.
fn log_delivery(
    s: &Stream,
    key: &Bytes,
    g: &Bytes,
    c: &Bytes,
    ids: &[StreamId],
    noack: bool,
    effects: &mut Vec<Vec<Bytes>>,
) {
    let Some(group) = s.groups.get(&g[..]) else {
        return;
    };
    if !noack {
        for id in ids {
            if let Some(nack) = group.pel.get(id) {
                effects.push(xclaim_effect(key, g, c, *id, nack, group.last_id));
            }
        }
    }
    if !ids.is_empty() {
        effects.push(setid_effect(key, g, group));
    }
}

fn xclaim_effect(
    key: &Bytes,
    g: &Bytes,
    c: &[u8],
    id: StreamId,
    nack: &crate::db::Nack,
    last: StreamId,
) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        g.clone(),
        Bytes::copy_from_slice(c),
        Bytes::from_static(b"0"),
        id_bytes(id),
        Bytes::from_static(b"TIME"),
        Bytes::from(nack.delivery_time.to_string()),
        Bytes::from_static(b"RETRYCOUNT"),
        Bytes::from(nack.delivery_count.to_string()),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        id_bytes(last),
    ]
}

fn setid_effect(key: &Bytes, g: &Bytes, group: &crate::db::Group) -> Vec<Bytes> {
    let read = group
        .entries_read
        .map_or_else(|| "-1".to_owned(), |n| n.to_string());
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        key.clone(),
        g.clone(),
        id_bytes(group.last_id),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(read),
    ]
}

/// Writes consumer `c`'s pending entries from `start` (at most `count`), each delivered
/// once more; an entry since deleted is `[id, nil]`.
fn write_history(
    o: &mut Out,
    s: &mut Stream,
    g: &[u8],
    c: &[u8],
    start: StreamId,
    count: usize,
    now: u64,
) {
    let group = s.groups.get(g).expect("checked group");
    let ids: Vec<StreamId> = group
        .consumers
        .get(c)
        .map(|cons| {
            cons.pel
                .range(start..)
                .take(if count == 0 { usize::MAX } else { count })
                .copied()
                .collect()
        })
        .unwrap_or_default();
    o.array(ids.len());
    let mut present = Vec::with_capacity(ids.len());
    for &id in &ids {
        let mut found = false;
        s.range(id, id, false, |id, pairs| {
            write_entry(o, id, pairs);
            found = true;
            false
        });
        if !found {
            o.array(2);
            o.bulk(id.to_string().as_bytes());
            crate::resp::encode(&Frame::NullArray, o.proto, o.buf);
        }
        present.push(found);
    }
    let group = s.groups.get_mut(g).expect("checked group");
    for (id, found) in ids.iter().zip(present) {
        if found {
            if let Some(n) = group.pel.get_mut(id) {
                n.delivery_time = now;
                n.delivery_count += 1;
            }
        }
    }
}

/// Serves `client`, blocked in XREAD or XREADGROUP on `key` of `db`, if the stream there
/// has entries above the id it waits for (for a group, the group's last id): replies
/// `[[key, entries]]` (a map in RESP3) and unblocks it. A group since destroyed unblocks it
/// with `-NOGROUP`.
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
    let group = wait.group.clone();
    let Some(Value::Stream(s)) = store.db(db).get(key, now) else {
        return;
    };
    let gt = match &group {
        Some((g, _, _)) => match s.groups.get(&g[..]) {
            Some(grp) => grp.last_id,
            None => {
                store.take_blocked(client);
                store.deliver(
                    client,
                    Message::Unblocked(Bytes::from_static(
                        b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n",
                    )),
                );
                return;
            }
        },
        None => gt,
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
    match group {
        None => {
            write_range(&mut out, s, start, StreamId::MAX, false, count);
        }
        Some((g, c, noack)) => {
            let mut effects = Vec::new();
            let created = with_stream(store, db, key, now, |s| {
                let created = touch_consumer(s, &g, &c, now);
                let delivered = deliver_new(s, &g, &c, start, count, noack, now, &mut out);
                log_delivery(s, key, &g, &c, &delivered, noack, &mut effects);
                (created, true)
            })
            .unwrap_or(false);
            let unit = store.begin_effects_unit();
            if created {
                store.notify(notify::STREAM, "xgroup-createconsumer", key, db);
            }
            if store.effects_enabled() {
                store.flush_key_events();
                for e in effects {
                    store.push_effect(db, e);
                }
            }
            store.end_effects_unit(unit);
        }
    }
    store.take_blocked(client);
    store.deliver(client, Message::Unblocked(buf.freeze()));
}

/// A client blocked in XREADGROUP whose key was deleted or now holds another type: unblocked
/// with `-UNBLOCKED the stream key no longer exists`, as 7.0.15. XREAD keeps waiting.
pub(crate) fn serve_gone(store: &mut Store, client: crate::db::ClientId) {
    let group = match store.blocked(client) {
        Some(Blocked {
            op: BlockedOp::Stream(wait),
            ..
        }) => wait.group.is_some(),
        _ => false,
    };
    if group {
        store.take_blocked(client);
        store.deliver(
            client,
            Message::Unblocked(Bytes::from_static(
                b"-UNBLOCKED the stream key no longer exists\r\n",
            )),
        );
    }
}

fn nogroup(key: &[u8], g: &[u8]) -> CmdError {
    CmdError::Other(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(g)
    ))
}

fn xack(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g) = (&a[0], &a[1]);
    let now = ctx.now_ms;
    let has = lookup(ctx.db(), key, now)?.is_some_and(|s| s.groups.contains_key(&g[..]));
    if !has {
        ctx.reply(Frame::Integer(0));
        return Ok(());
    }
    let ids = a[2..]
        .iter()
        .map(|x| strict_id(x))
        .collect::<Result<Vec<_>, _>>()?;
    let acked = edit(ctx.db(), key, now, |s| {
        let group = s.groups.get_mut(&g[..]).expect("checked");
        let mut n = 0;
        for id in &ids {
            if let Some(nack) = group.pel.remove(id) {
                if let Some(c) = group.consumers.get_mut(&nack.consumer) {
                    c.pel.remove(id);
                }
                n += 1;
            }
        }
        (n, n > 0)
    });
    ctx.reply(Frame::Integer(acked));
    Ok(())
}

fn xpending(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g) = (&a[0], &a[1]);
    let argc = a.len() + 1;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    let mut min_idle: i64 = 0;
    let mut consumer = None;
    if argc >= 6 {
        let mut at = 2;
        if eq(&a[2], "idle") {
            min_idle = int_arg(&a[3])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = int_arg(&a[at + 2])?.max(0);
        let (mut start, sx) = interval_id(&a[at], 0)?;
        if sx {
            start = start
                .next()
                .ok_or_else(|| CmdError::err("invalid start ID for the interval"))?;
        }
        let (mut end, ex) = interval_id(&a[at + 1], u64::MAX)?;
        if ex {
            end = end
                .prev()
                .ok_or_else(|| CmdError::err("invalid end ID for the interval"))?;
        }
        if at + 3 < a.len() {
            consumer = Some(a[at + 3].clone());
        }
        range = Some((start, end, count as u64));
    }
    let now = ctx.now_ms;
    let s = lookup(ctx.db(), key, now)?;
    let Some(group) = s.and_then(|s| s.groups.get(&g[..])) else {
        return Err(nogroup(key, g));
    };
    let reply = match range {
        None => {
            if group.pel.is_empty() {
                Frame::Array(vec![
                    Frame::Integer(0),
                    Frame::Null,
                    Frame::Null,
                    Frame::NullArray,
                ])
            } else {
                let first = group.pel.keys().next().expect("not empty");
                let last = group.pel.keys().next_back().expect("not empty");
                let consumers = group
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .map(|(name, c)| {
                        Frame::Array(vec![
                            Frame::Bulk(Bytes::copy_from_slice(name)),
                            Frame::Bulk(Bytes::from(c.pel.len().to_string())),
                        ])
                    })
                    .collect();
                Frame::Array(vec![
                    Frame::Integer(group.pel.len() as i64),
                    Frame::Bulk(id_bytes(*first)),
                    Frame::Bulk(id_bytes(*last)),
                    Frame::Array(consumers),
                ])
            }
        }
        Some((start, end, mut count)) => {
            let ids: Vec<StreamId> = match &consumer {
                Some(c) => match group.consumers.get(&c[..]) {
                    None => Vec::new(),
                    Some(c) => c.pel.range(start..).copied().collect(),
                },
                None => group.pel.range(start..).map(|(id, _)| *id).collect(),
            };
            let mut items = Vec::new();
            for id in ids {
                if count == 0 || id > end {
                    break;
                }
                let nack = &group.pel[&id];
                let idle = (now as i64).saturating_sub(nack.delivery_time as i64);
                if min_idle != 0 && idle < min_idle {
                    continue;
                }
                count -= 1;
                items.push(Frame::Array(vec![
                    Frame::Bulk(id_bytes(id)),
                    Frame::Bulk(Bytes::copy_from_slice(&nack.consumer)),
                    Frame::Integer(idle.max(0)),
                    Frame::Integer(nack.delivery_count as i64),
                ]));
            }
            Frame::Array(items)
        }
    };
    ctx.reply(reply);
    Ok(())
}

fn xclaim(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g, c) = (&a[0], &a[1], &a[2]);
    let now = ctx.now_ms;
    let has = lookup(ctx.db(), key, now)?.is_some_and(|s| s.groups.contains_key(&g[..]));
    if !has {
        return Err(nogroup(key, g));
    }
    let min_idle = crate::num::parse_i64(&a[3])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut j = 4;
    let mut ids = Vec::new();
    while j < a.len() {
        match strict_id(&a[j]) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let (mut force, mut justid) = (false, false);
    let mut delivery: i64 = -1;
    let mut retry: i64 = -1;
    let mut last_id = StreamId::MIN;
    let opt_int = |v: &[u8], what: &str| {
        crate::num::parse_i64(v)
            .ok_or_else(|| CmdError::err(format_args!("Invalid {what} option argument for XCLAIM")))
    };
    while j < a.len() {
        let more = a.len() - 1 - j;
        let o = &a[j];
        if eq(o, "force") {
            force = true;
        } else if eq(o, "justid") {
            justid = true;
        } else if eq(o, "idle") && more > 0 {
            j += 1;
            delivery = (now as i64).wrapping_sub(opt_int(&a[j], "IDLE")?);
        } else if eq(o, "time") && more > 0 {
            j += 1;
            delivery = opt_int(&a[j], "TIME")?;
        } else if eq(o, "retrycount") && more > 0 {
            j += 1;
            retry = opt_int(&a[j], "RETRYCOUNT")?;
        } else if eq(o, "lastid") && more > 0 {
            j += 1;
            last_id = strict_id(&a[j])?;
        } else {
            return Err(CmdError::err(format_args!(
                "Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(o)
            )));
        }
        j += 1;
    }
    let delivery = if delivery < 0 || delivery > now as i64 {
        now
    } else {
        delivery as u64
    };
    let proto = ctx.conn.proto;
    let mut scratch = BytesMut::new();
    let mut effects = Vec::new();
    let (n, created) = edit(ctx.db(), key, now, |s| {
        let mut changed = false;
        let mut advanced = false;
        {
            let group = s.groups.get_mut(&g[..]).expect("checked");
            if last_id > group.last_id {
                group.last_id = last_id;
                advanced = true;
                changed = true;
            }
        }
        let mut o = Out {
            buf: &mut scratch,
            proto,
        };
        let mut n = 0;
        let mut created = false;
        let mut touched = false;
        for &id in &ids {
            let exists = s.contains(id);
            let group = s.groups.get_mut(&g[..]).expect("checked");
            if !exists {
                if let Some(nack) = group.pel.remove(&id) {
                    effects.push(xclaim_effect(
                        key,
                        g,
                        &nack.consumer,
                        id,
                        &nack,
                        group.last_id,
                    ));
                    if let Some(cons) = group.consumers.get_mut(&nack.consumer) {
                        cons.pel.remove(&id);
                    }
                    advanced = false;
                    changed = true;
                }
                continue;
            }
            let fresh = force && !group.pel.contains_key(&id);
            if fresh {
                group.pel.insert(
                    id,
                    crate::db::Nack {
                        delivery_time: now,
                        delivery_count: 1,
                        consumer: Box::default(),
                    },
                );
            }
            let Some(nack) = group.pel.get(&id) else {
                continue;
            };
            if !fresh && min_idle != 0 {
                let idle = (now as i64).saturating_sub(nack.delivery_time as i64);
                if idle < min_idle {
                    continue;
                }
            }
            if !touched {
                created |= touch_consumer(s, g, c, now);
                touched = true;
            }
            let group = s.groups.get_mut(&g[..]).expect("checked");
            let nack = group.pel.get_mut(&id).expect("present");
            let old = std::mem::replace(&mut nack.consumer, c[..].into());
            nack.delivery_time = delivery;
            if retry >= 0 {
                nack.delivery_count = retry as u64;
            } else if !justid {
                nack.delivery_count += 1;
            }
            let nack = nack.clone();
            if *old != c[..] {
                if let Some(prev) = group.consumers.get_mut(&old) {
                    prev.pel.remove(&id);
                }
                group
                    .consumers
                    .get_mut(&c[..])
                    .expect("touched")
                    .pel
                    .insert(id);
            }
            effects.push(xclaim_effect(key, g, c, id, &nack, group.last_id));
            advanced = false;
            changed = true;
            if justid {
                o.bulk(id.to_string().as_bytes());
            } else {
                s.range(id, id, false, |id, pairs| {
                    write_entry(&mut o, id, pairs);
                    false
                });
            }
            n += 1;
        }
        if advanced {
            let group = s.groups.get(&g[..]).expect("checked");
            effects.push(setid_effect(key, g, group));
        }
        ((n, created), changed || created)
    });
    if created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    if ctx.logging() {
        if created {
            ctx.propagate(vec![
                Bytes::from_static(b"XGROUP"),
                Bytes::from_static(b"CREATECONSUMER"),
                key.clone(),
                g.clone(),
                c.clone(),
            ]);
        }
        for e in effects {
            ctx.propagate(e);
        }
    }
    let mut out = ctx.out();
    out.array(n);
    out.buf.extend_from_slice(&scratch);
    Ok(())
}

fn xautoclaim(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g, c) = (&a[0], &a[1], &a[2]);
    let now = ctx.now_ms;
    let has = lookup(ctx.db(), key, now)?.is_some_and(|s| s.groups.contains_key(&g[..]));
    if !has {
        return Err(nogroup(key, g));
    }
    let min_idle = crate::num::parse_i64(&a[3])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let (mut start, sx) = interval_id(&a[4], 0)?;
    if sx {
        start = start
            .next()
            .ok_or_else(|| CmdError::err("invalid start ID for the interval"))?;
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 5;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if eq(&a[j], "count") && more > 0 {
            let max = i64::MAX / 16;
            count = match crate::num::parse_i64(&a[j + 1]) {
                Some(n) if (1..=max).contains(&n) => n,
                _ => return Err(CmdError::err("COUNT must be > 0")),
            };
            j += 1;
        } else if eq(&a[j], "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let proto = ctx.conn.proto;
    let mut scratch = BytesMut::new();
    let mut effects = Vec::new();
    let (n, next, deleted, created) = edit(ctx.db(), key, now, |s| {
        let mut o = Out {
            buf: &mut scratch,
            proto,
        };
        let mut attempts = count.saturating_mul(10);
        let mut count = count;
        let mut n = 0usize;
        let mut deleted = Vec::new();
        let mut created = false;
        let mut touched = false;
        let mut cursor = start;
        let mut changed = false;
        let next = loop {
            let next_id = s.groups[&g[..]]
                .pel
                .range(cursor..)
                .next()
                .map(|(id, _)| *id);
            if attempts == 0 || count == 0 {
                break next_id.unwrap_or(StreamId::MIN);
            }
            attempts -= 1;
            let Some(id) = next_id else {
                break StreamId::MIN;
            };
            cursor = match id.next() {
                Some(nx) => nx,
                None => {
                    // The last possible id: nothing can follow it.
                    StreamId::MAX
                }
            };
            let exists = s.contains(id);
            let group = s.groups.get_mut(&g[..]).expect("checked");
            if !exists {
                let nack = group.pel.remove(&id).expect("listed");
                effects.push(xclaim_effect(
                    key,
                    g,
                    &nack.consumer,
                    id,
                    &nack,
                    group.last_id,
                ));
                if let Some(cons) = group.consumers.get_mut(&nack.consumer) {
                    cons.pel.remove(&id);
                }
                deleted.push(id);
                count -= 1;
                changed = true;
                if id == StreamId::MAX {
                    break StreamId::MIN;
                }
                continue;
            }
            let nack = &group.pel[&id];
            if min_idle != 0 {
                let idle = (now as i64).saturating_sub(nack.delivery_time as i64);
                if idle < min_idle {
                    if id == StreamId::MAX {
                        break StreamId::MIN;
                    }
                    continue;
                }
            }
            if !touched {
                created |= touch_consumer(s, g, c, now);
                touched = true;
            }
            let group = s.groups.get_mut(&g[..]).expect("checked");
            let nack = group.pel.get_mut(&id).expect("present");
            let old = std::mem::replace(&mut nack.consumer, c[..].into());
            nack.delivery_time = now;
            if !justid {
                nack.delivery_count += 1;
            }
            let nack = nack.clone();
            if *old != c[..] {
                if let Some(prev) = group.consumers.get_mut(&old) {
                    prev.pel.remove(&id);
                }
                group
                    .consumers
                    .get_mut(&c[..])
                    .expect("touched")
                    .pel
                    .insert(id);
            }
            effects.push(xclaim_effect(key, g, c, id, &nack, group.last_id));
            changed = true;
            if justid {
                o.bulk(id.to_string().as_bytes());
            } else {
                let mut found = false;
                s.range(id, id, false, |id, pairs| {
                    write_entry(&mut o, id, pairs);
                    found = true;
                    false
                });
                if !found {
                    crate::resp::encode(&Frame::Null, proto, o.buf);
                }
            }
            n += 1;
            count -= 1;
            if id == StreamId::MAX {
                break StreamId::MIN;
            }
        };
        ((n, next, deleted, created), changed || created)
    });
    if created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    if ctx.logging() {
        for e in effects {
            ctx.propagate(e);
        }
    }
    let mut out = ctx.out();
    out.array(3);
    out.bulk(next.to_string().as_bytes());
    out.array(n);
    out.buf.extend_from_slice(&scratch);
    out.array(deleted.len());
    for id in deleted {
        out.bulk(id.to_string().as_bytes());
    }
    Ok(())
}

const NEEDS_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

fn sub_syntax(sub: &[u8], cmd: &str) -> CmdError {
    CmdError::err(format_args!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {cmd} HELP.",
        String::from_utf8_lossy(sub)
    ))
}

/// The checks every XGROUP subcommand but HELP makes first, as Redis's `xgroupCommand`:
/// a stream (or WRONGTYPE), which must exist unless `mkstream`, and for SETID,
/// CREATECONSUMER and DELCONSUMER the group.
fn xgroup_lookup(
    ctx: &mut Ctx,
    a: &[Bytes],
    mkstream: bool,
    needs_group: bool,
) -> Result<bool, CmdError> {
    let (key, g) = (&a[1], &a[2]);
    let now = ctx.now_ms;
    let s = lookup(ctx.db(), key, now)?;
    if !mkstream {
        let Some(s) = s else {
            return Err(CmdError::Other(NEEDS_KEY.to_owned()));
        };
        if needs_group && !s.groups.contains_key(&g[..]) {
            return Err(CmdError::Other(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                String::from_utf8_lossy(g),
                String::from_utf8_lossy(key)
            )));
        }
    }
    Ok(s.is_some())
}

fn entries_read_arg(v: &[u8]) -> Result<Option<u64>, CmdError> {
    let n = int_arg(v)?;
    match n {
        -1 => Ok(None),
        n if n < 0 => Err(CmdError::err(
            "value for ENTRIESREAD must be positive or -1",
        )),
        n => Ok(Some(n as u64)),
    }
}

fn xgroup_create(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g) = (&a[1], &a[2]);
    let mut mkstream = false;
    let mut entries_read = None;
    let mut i = 4;
    while i < a.len() {
        if eq(&a[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if eq(&a[i], "entriesread") && i + 1 < a.len() {
            entries_read = entries_read_arg(&a[i + 1])?;
            i += 2;
        } else {
            return Err(sub_syntax(&a[0], "XGROUP"));
        }
    }
    let exists = xgroup_lookup(ctx, a, mkstream, false)?;
    if a.len() > 7 {
        return Err(sub_syntax(&a[0], "XGROUP"));
    }
    let now = ctx.now_ms;
    let id = if &a[3][..] == b"$" {
        lookup(ctx.db(), key, now)?.map_or(StreamId::MIN, Stream::last_id)
    } else {
        strict_id(&a[3])?
    };
    if !exists {
        ctx.db()
            .insert(key, Value::Stream(Box::default()), None, now);
    }
    let created = edit(ctx.db(), key, now, |s| {
        if s.groups.contains_key(&g[..]) {
            return (false, false);
        }
        s.groups.insert(
            g[..].into(),
            crate::db::Group {
                last_id: id,
                entries_read,
                ..Default::default()
            },
        );
        (true, true)
    });
    if !created {
        return Err(CmdError::Other(
            "BUSYGROUP Consumer Group name already exists".to_owned(),
        ));
    }
    ctx.reply(Frame::OK);
    ctx.notify(notify::STREAM, "xgroup-create", key);
    Ok(())
}

fn xgroup_setid(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g) = (&a[1], &a[2]);
    xgroup_lookup(ctx, a, false, true)?;
    if a.len() != 4 && a.len() != 6 {
        return Err(sub_syntax(&a[0], "XGROUP"));
    }
    let now = ctx.now_ms;
    let id = if &a[3][..] == b"$" {
        lookup(ctx.db(), key, now)?.map_or(StreamId::MIN, Stream::last_id)
    } else {
        parse_id(&a[3], 0, false, false)?.0
    };
    let mut entries_read = None;
    if a.len() == 6 {
        if !eq(&a[4], "entriesread") {
            return Err(sub_syntax(&a[0], "XGROUP"));
        }
        entries_read = entries_read_arg(&a[5])?;
    }
    edit(ctx.db(), key, now, |s| {
        let group = s.groups.get_mut(&g[..]).expect("checked");
        group.last_id = id;
        group.entries_read = entries_read;
        ((), true)
    });
    ctx.reply(Frame::OK);
    ctx.notify(notify::STREAM, "xgroup-setid", key);
    Ok(())
}

fn xgroup_destroy(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g) = (&a[1], &a[2]);
    xgroup_lookup(ctx, a, false, false)?;
    let now = ctx.now_ms;
    let removed = edit(ctx.db(), key, now, |s| {
        let r = s.groups.remove(&g[..]).is_some();
        (r, r)
    });
    ctx.reply(Frame::Integer(i64::from(removed)));
    if removed {
        ctx.notify(notify::STREAM, "xgroup-destroy", key);
        // Blocked XREADGROUP clients of the group get -NOGROUP.
        ctx.db().signal_stream_ready(key);
    }
    Ok(())
}

fn xgroup_createconsumer(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g, c) = (&a[1], &a[2], &a[3]);
    xgroup_lookup(ctx, a, false, true)?;
    let now = ctx.now_ms;
    let created = edit(ctx.db(), key, now, |s| {
        let group = s.groups.get_mut(&g[..]).expect("checked");
        if group.consumers.contains_key(&c[..]) {
            return (false, false);
        }
        group.consumers.insert(
            c[..].into(),
            crate::db::Consumer {
                seen_time: now,
                pel: Default::default(),
            },
        );
        (true, true)
    });
    if created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    ctx.reply(Frame::Integer(i64::from(created)));
    Ok(())
}

fn xgroup_delconsumer(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g, c) = (&a[1], &a[2], &a[3]);
    xgroup_lookup(ctx, a, false, true)?;
    let now = ctx.now_ms;
    let pending = edit(ctx.db(), key, now, |s| {
        let group = s.groups.get_mut(&g[..]).expect("checked");
        let Some(cons) = group.consumers.remove(&c[..]) else {
            return (None, false);
        };
        for id in &cons.pel {
            group.pel.remove(id);
        }
        (Some(cons.pel.len()), true)
    });
    if pending.is_some() {
        ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
    }
    ctx.reply(Frame::Integer(pending.unwrap_or(0) as i64));
    Ok(())
}

/// The stream XINFO names: `ERR no such key` if missing.
fn xinfo_stream_of<'a>(
    db: &'a mut crate::db::Db,
    key: &[u8],
    now: u64,
) -> Result<&'a Stream, CmdError> {
    lookup(db, key, now)?.ok_or_else(|| CmdError::err("no such key"))
}

fn opt_int_frame(v: Option<u64>) -> Frame {
    v.map_or(Frame::Null, |n| Frame::Integer(n as i64))
}

fn xinfo_stream(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let key = &a[1];
    let opts = &a[2..];
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !eq(&opts[0], "full") {
            return Err(sub_syntax(&a[0], "XINFO"));
        }
        full = true;
        if opts.len() == 3 {
            if !eq(&opts[1], "count") {
                return Err(sub_syntax(&a[0], "XINFO"));
            }
            count = int_arg(&opts[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let now = ctx.now_ms;
    let proto = ctx.conn.proto;
    let (db, mut out) = ctx.db_out();
    let s = xinfo_stream_of(db, key, now)?;
    out.map(if full { 9 } else { 10 });
    let head = [
        ("length", Frame::Integer(s.len() as i64)),
        ("radix-tree-keys", Frame::Integer(s.node_count() as i64)),
        ("radix-tree-nodes", Frame::Integer(s.radix_nodes() as i64)),
        ("last-generated-id", Frame::Bulk(id_bytes(s.last_id()))),
        (
            "max-deleted-entry-id",
            Frame::Bulk(id_bytes(s.max_deleted_id())),
        ),
        ("entries-added", Frame::Integer(s.entries_added() as i64)),
        (
            "recorded-first-entry-id",
            Frame::Bulk(id_bytes(s.first_id())),
        ),
    ];
    for (name, v) in head {
        out.bulk(name.as_bytes());
        crate::resp::encode(&v, proto, out.buf);
    }
    let edge = |out: &mut Out, rev: bool| {
        let mut found = false;
        s.range(StreamId::MIN, StreamId::MAX, rev, |id, pairs| {
            write_entry(out, id, pairs);
            found = true;
            false
        });
        if !found {
            crate::resp::encode(&Frame::Null, proto, out.buf);
        }
    };
    if !full {
        out.bulk(b"groups");
        crate::resp::encode(&Frame::Integer(s.groups.len() as i64), proto, out.buf);
        out.bulk(b"first-entry");
        edge(&mut out, false);
        out.bulk(b"last-entry");
        edge(&mut out, true);
        return Ok(());
    }
    let count = count as usize;
    let limit = if count == 0 { usize::MAX } else { count };
    out.bulk(b"entries");
    write_range(&mut out, s, StreamId::MIN, StreamId::MAX, false, count);
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        let pending: Vec<Frame> = g
            .pel
            .iter()
            .take(limit)
            .map(|(id, n)| {
                Frame::Array(vec![
                    Frame::Bulk(id_bytes(*id)),
                    Frame::Bulk(Bytes::copy_from_slice(&n.consumer)),
                    Frame::Integer(n.delivery_time as i64),
                    Frame::Integer(n.delivery_count as i64),
                ])
            })
            .collect();
        let consumers: Vec<Frame> = g
            .consumers
            .iter()
            .map(|(cname, c)| {
                let pel = c
                    .pel
                    .iter()
                    .take(limit)
                    .map(|id| {
                        let n = &g.pel[id];
                        Frame::Array(vec![
                            Frame::Bulk(id_bytes(*id)),
                            Frame::Integer(n.delivery_time as i64),
                            Frame::Integer(n.delivery_count as i64),
                        ])
                    })
                    .collect();
                Frame::Map(vec![
                    (
                        Frame::bulk("name"),
                        Frame::Bulk(Bytes::copy_from_slice(cname)),
                    ),
                    (Frame::bulk("seen-time"), Frame::Integer(c.seen_time as i64)),
                    (Frame::bulk("pel-count"), Frame::Integer(c.pel.len() as i64)),
                    (Frame::bulk("pending"), Frame::Array(pel)),
                ])
            })
            .collect();
        let f = Frame::Map(vec![
            (
                Frame::bulk("name"),
                Frame::Bulk(Bytes::copy_from_slice(name)),
            ),
            (
                Frame::bulk("last-delivered-id"),
                Frame::Bulk(id_bytes(g.last_id)),
            ),
            (Frame::bulk("entries-read"), opt_int_frame(g.entries_read)),
            (Frame::bulk("lag"), opt_int_frame(s.lag(g))),
            (Frame::bulk("pel-count"), Frame::Integer(g.pel.len() as i64)),
            (Frame::bulk("pending"), Frame::Array(pending)),
            (Frame::bulk("consumers"), Frame::Array(consumers)),
        ]);
        crate::resp::encode(&f, proto, out.buf);
    }
    Ok(())
}

fn xinfo_groups(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let now = ctx.now_ms;
    let s = xinfo_stream_of(ctx.db(), &a[1], now)?;
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| {
            Frame::Map(vec![
                (
                    Frame::bulk("name"),
                    Frame::Bulk(Bytes::copy_from_slice(name)),
                ),
                (
                    Frame::bulk("consumers"),
                    Frame::Integer(g.consumers.len() as i64),
                ),
                (Frame::bulk("pending"), Frame::Integer(g.pel.len() as i64)),
                (
                    Frame::bulk("last-delivered-id"),
                    Frame::Bulk(id_bytes(g.last_id)),
                ),
                (Frame::bulk("entries-read"), opt_int_frame(g.entries_read)),
                (Frame::bulk("lag"), opt_int_frame(s.lag(g))),
            ])
        })
        .collect();
    ctx.reply(Frame::Array(groups));
    Ok(())
}

fn xinfo_consumers(ctx: &mut Ctx, a: &[Bytes]) -> Result<(), CmdError> {
    let (key, g) = (&a[1], &a[2]);
    let now = ctx.now_ms;
    let s = xinfo_stream_of(ctx.db(), key, now)?;
    let Some(group) = s.groups.get(&g[..]) else {
        return Err(CmdError::Other(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(g),
            String::from_utf8_lossy(key)
        )));
    };
    let consumers = group
        .consumers
        .iter()
        .map(|(name, c)| {
            Frame::Map(vec![
                (
                    Frame::bulk("name"),
                    Frame::Bulk(Bytes::copy_from_slice(name)),
                ),
                (Frame::bulk("pending"), Frame::Integer(c.pel.len() as i64)),
                (
                    Frame::bulk("idle"),
                    Frame::Integer((now as i64).saturating_sub(c.seen_time as i64).max(0)),
                ),
            ])
        })
        .collect();
    ctx.reply(Frame::Array(consumers));
    Ok(())
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
