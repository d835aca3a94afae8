//! Hash commands: HSET, HMSET, HSETNX, HGET, HMGET, HDEL, HEXISTS, HLEN, HSTRLEN, HKEYS,
//! HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! Errors come in Redis's order: what Redis checks before it looks the key up (argument
//! counts, numbers) fails at parse time, the rest when the command runs.

use bytes::Bytes;

use super::executor::Ctx;
use super::long_double::LongDouble;
use super::reply::{random_count, scan_reply, Out, ScanOptions};
use super::reply_stream::{ReplyStream, Second, MIN_STREAMED_ELEMENTS};
use super::{int_arg, parse_i64, Args, CmdError, Command};
use crate::db::types::Hash;
use crate::db::{notify, Db, Rng, Value};

/// A hash command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashCmd {
    /// `HSET key field value [field value ...]` — replies how many fields are new;
    /// `HMSET …` — the same, replying OK.
    HSet {
        /// The key.
        key: Bytes,
        /// Fields and values, in order.
        pairs: Vec<(Bytes, Bytes)>,
        /// True for HMSET.
        hmset: bool,
    },
    /// `HSETNX key field value` — sets the field only if it is missing; 1 if it did.
    HSetNx {
        /// The key.
        key: Bytes,
        /// The field.
        field: Bytes,
        /// The value.
        value: Bytes,
    },
    /// `HGET key field` — the value, or nil.
    HGet {
        /// The key.
        key: Bytes,
        /// The field.
        field: Bytes,
    },
    /// `HMGET key field [field ...]` — the values, nil for missing ones.
    HMGet {
        /// The key.
        key: Bytes,
        /// The fields.
        fields: Vec<Bytes>,
    },
    /// `HDEL key field [field ...]` — removes fields; replies how many existed.
    HDel {
        /// The key.
        key: Bytes,
        /// The fields.
        fields: Vec<Bytes>,
    },
    /// `HEXISTS key field` — 1 if the field exists.
    HExists {
        /// The key.
        key: Bytes,
        /// The field.
        field: Bytes,
    },
    /// `HLEN key` — the number of fields.
    HLen {
        /// The key.
        key: Bytes,
    },
    /// `HSTRLEN key field` — the length of the value, 0 if missing.
    HStrLen {
        /// The key.
        key: Bytes,
        /// The field.
        field: Bytes,
    },
    /// `HKEYS key`, `HVALS key`, `HGETALL key` — fields, values, or both (a map in RESP3).
    HGetAll {
        /// The key.
        key: Bytes,
        /// Reply with the fields.
        fields: bool,
        /// Reply with the values.
        values: bool,
    },
    /// `HINCRBY key field increment` — adds to an integer value (missing: 0).
    HIncrBy {
        /// The key.
        key: Bytes,
        /// The field.
        field: Bytes,
        /// The increment.
        delta: i64,
    },
    /// `HINCRBYFLOAT key field increment` — adds in `long double`, as INCRBYFLOAT.
    HIncrByFloat {
        /// The key.
        key: Bytes,
        /// The field.
        field: Bytes,
        /// The increment, parsed.
        #[doc(hidden)]
        delta: LongDoubleArg,
    },
    /// `HRANDFIELD key [count [WITHVALUES]]` — random fields: without count one (or nil);
    /// a positive count, distinct fields; a negative one, fields that may repeat.
    HRandField {
        /// The key.
        key: Bytes,
        /// The count, if given.
        count: Option<i64>,
        /// `WITHVALUES`.
        with_values: bool,
    },
    /// `HSCAN key cursor [MATCH pattern] [COUNT count]`.
    HScan {
        /// The key.
        key: Bytes,
        /// The cursor and options (their error is reported after the key's type check).
        options: Result<ScanOptions, CmdError>,
    },
}

/// A `long double` argument, kept as parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongDoubleArg(pub(crate) LongDouble);

fn pairs(args: &mut Args) -> Result<Vec<(Bytes, Bytes)>, CmdError> {
    if args.remaining() % 2 != 0 || args.remaining() == 0 {
        return Err(CmdError::WrongArity(args.name()));
    }
    let rest = args.rest();
    let mut it = rest.into_iter();
    let mut out = Vec::with_capacity(it.len() / 2);
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        out.push((f, v));
    }
    Ok(out)
}

/// Parses any hash command (the spec table's parser for each of them).
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let key = args.required()?;
    let cmd = match args.name() {
        "hset" | "hmset" => HashCmd::HSet {
            key,
            pairs: pairs(args)?,
            hmset: args.name() == "hmset",
        },
        "hsetnx" => HashCmd::HSetNx {
            key,
            field: args.required()?,
            value: args.required()?,
        },
        "hget" => HashCmd::HGet {
            key,
            field: args.required()?,
        },
        "hmget" => HashCmd::HMGet {
            key,
            fields: args.rest(),
        },
        "hdel" => HashCmd::HDel {
            key,
            fields: args.rest(),
        },
        "hexists" => HashCmd::HExists {
            key,
            field: args.required()?,
        },
        "hlen" => HashCmd::HLen { key },
        "hstrlen" => HashCmd::HStrLen {
            key,
            field: args.required()?,
        },
        "hkeys" => HashCmd::HGetAll {
            key,
            fields: true,
            values: false,
        },
        "hvals" => HashCmd::HGetAll {
            key,
            fields: false,
            values: true,
        },
        "hgetall" => HashCmd::HGetAll {
            key,
            fields: true,
            values: true,
        },
        "hincrby" => {
            let field = args.required()?;
            let delta = int_arg(&args.required()?)?;
            HashCmd::HIncrBy { key, field, delta }
        }
        "hincrbyfloat" => {
            let field = args.required()?;
            let delta = LongDouble::parse(&args.required()?)
                .ok_or_else(|| CmdError::err("value is not a valid float"))?;
            if matches!(delta, LongDouble::Inf { .. }) {
                return Err(CmdError::err("value is NaN or Infinity"));
            }
            HashCmd::HIncrByFloat {
                key,
                field,
                delta: LongDoubleArg(delta),
            }
        }
        "hrandfield" => {
            let (count, with_values) = random_count(args, b"WITHVALUES")?;
            HashCmd::HRandField {
                key,
                count,
                with_values,
            }
        }
        "hscan" => HashCmd::HScan {
            key,
            options: ScanOptions::parse(args)?,
        },
        other => unreachable!("not a hash command: {other}"),
    };
    Ok(Command::Hash(cmd))
}

/// The live hash at `key`: `None` if missing, WRONGTYPE for another type.
fn read<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a Hash>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Runs `f` on the hash at `key`, creating an empty one first if missing; `f` says whether
/// it changed anything. WRONGTYPE for another type.
fn write<R>(
    db: &mut Db,
    key: &[u8],
    now: u64,
    f: impl FnOnce(&mut Hash) -> (R, bool),
) -> Result<R, CmdError> {
    let found = db.update(key, now, |v| match v {
        Value::Hash(h) => {
            let (r, changed) = f(h);
            (Ok(r), changed)
        }
        _ => (Err(CmdError::WrongType), false),
    });
    match found {
        Some(r) => r,
        None => unreachable!("callers create missing keys first"),
    }
}

/// Runs `f` on the hash at `key`, created if missing (and stored if `f` gave it a field).
/// One lookup when the hash exists: the hot path of HSET.
fn upsert<R>(
    db: &mut Db,
    key: &[u8],
    now: u64,
    f: impl FnOnce(&mut Hash) -> (R, bool),
) -> Result<R, CmdError> {
    let mut f = Some(f);
    let found = db.update(key, now, |v| match v {
        Value::Hash(h) => {
            let (r, changed) = (f.take().expect("once"))(h);
            (Ok(r), changed)
        }
        _ => (Err(CmdError::WrongType), false),
    });
    if let Some(r) = found {
        return r;
    }
    let mut h = Hash::new();
    let (r, _) = (f.take().expect("not called above"))(&mut h);
    if !h.is_empty() {
        db.insert(key, Value::Hash(Box::new(h)), None, now);
    }
    Ok(r)
}

impl HashCmd {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            HashCmd::HSet { hmset: true, .. } => "hmset",
            HashCmd::HSet { .. } => "hset",
            HashCmd::HSetNx { .. } => "hsetnx",
            HashCmd::HGet { .. } => "hget",
            HashCmd::HMGet { .. } => "hmget",
            HashCmd::HDel { .. } => "hdel",
            HashCmd::HExists { .. } => "hexists",
            HashCmd::HLen { .. } => "hlen",
            HashCmd::HStrLen { .. } => "hstrlen",
            HashCmd::HGetAll {
                fields: true,
                values: true,
                ..
            } => "hgetall",
            HashCmd::HGetAll { fields: true, .. } => "hkeys",
            HashCmd::HGetAll { .. } => "hvals",
            HashCmd::HIncrBy { .. } => "hincrby",
            HashCmd::HIncrByFloat { .. } => "hincrbyfloat",
            HashCmd::HRandField { .. } => "hrandfield",
            HashCmd::HScan { .. } => "hscan",
        }
    }

    /// Runs the command, writing its reply.
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        let now = ctx.now_ms;
        let limits = ctx.store.type_limits();
        match self {
            HashCmd::HSet { key, pairs, hmset } => {
                let added = upsert(ctx.db(), &key, now, |h| {
                    let longest = pairs
                        .iter()
                        .map(|(f, v)| f.len().max(v.len()))
                        .max()
                        .unwrap_or(0);
                    h.fit_argument(longest, &limits);
                    let added = pairs.iter().filter(|(f, v)| h.set(f, v, &limits)).count();
                    (added, true)
                })?;
                // Redis notifies even when no value changed (HMSET too is an `hset`).
                ctx.notify(notify::HASH, "hset", &key);
                let mut out = ctx.out();
                if hmset {
                    out.ok();
                } else {
                    out.int(added as i64);
                }
            }
            HashCmd::HSetNx { key, field, value } => {
                let set = upsert(ctx.db(), &key, now, |h| {
                    if h.contains(&field) {
                        return (false, false);
                    }
                    h.fit_argument(field.len().max(value.len()), &limits);
                    h.set(&field, &value, &limits);
                    (true, true)
                })?;
                if set {
                    ctx.notify(notify::HASH, "hset", &key);
                }
                ctx.out().int(i64::from(set));
            }
            HashCmd::HGet { key, field } => {
                let (db, mut out) = ctx.db_out();
                match read(db, &key, now)?.and_then(|h| h.get(&field)) {
                    Some(v) => out.bulk(v),
                    None => out.null(),
                }
            }
            HashCmd::HMGet { key, fields } => {
                let (db, mut out) = ctx.db_out();
                let h = read(db, &key, now)?;
                out.array(fields.len());
                for f in &fields {
                    match h.and_then(|h| h.get(f)) {
                        Some(v) => out.bulk(v),
                        None => out.null(),
                    }
                }
            }
            HashCmd::HDel { key, fields } => {
                let db = ctx.db();
                let (n, emptied) = if read(db, &key, now)?.is_some() {
                    write(db, &key, now, |h| {
                        let n = fields.iter().filter(|f| h.remove(f)).count();
                        ((n, h.is_empty()), n > 0)
                    })?
                } else {
                    (0, false)
                };
                if n > 0 {
                    ctx.notify(notify::HASH, "hdel", &key);
                    // The keyspace removed the emptied hash with its key: Redis's `del`.
                    if emptied {
                        ctx.notify(notify::GENERIC, "del", &key);
                    }
                }
                ctx.out().int(n as i64);
            }
            HashCmd::HExists { key, field } => {
                let found = read(ctx.db(), &key, now)?.is_some_and(|h| h.contains(&field));
                ctx.out().int(i64::from(found));
            }
            HashCmd::HLen { key } => {
                let n = read(ctx.db(), &key, now)?.map_or(0, Hash::len);
                ctx.out().int(n as i64);
            }
            HashCmd::HStrLen { key, field } => {
                let n = read(ctx.db(), &key, now)?
                    .and_then(|h| h.get(&field))
                    .map_or(0, <[u8]>::len);
                ctx.out().int(n as i64);
            }
            HashCmd::HGetAll {
                key,
                fields,
                values,
            } => {
                let (db, mut out) = ctx.db_out();
                let Some(h) = read(db, &key, now)? else {
                    if fields && values {
                        out.map(0);
                    } else {
                        out.array(0);
                    }
                    return Ok(());
                };
                if fields && values {
                    out.map(h.len());
                } else {
                    out.array(h.len());
                }
                for (f, v) in h.iter() {
                    if fields {
                        out.bulk(f);
                    }
                    if values {
                        out.bulk(v);
                    }
                }
            }
            HashCmd::HIncrBy { key, field, delta } => {
                let value = upsert(ctx.db(), &key, now, |h| {
                    let current = match h.get(&field) {
                        None => 0,
                        Some(v) => match parse_i64(v) {
                            Some(n) => n,
                            None => {
                                return (Err(CmdError::err("hash value is not an integer")), false)
                            }
                        },
                    };
                    let Some(value) = current.checked_add(delta) else {
                        return (
                            Err(CmdError::err("increment or decrement would overflow")),
                            false,
                        );
                    };
                    h.set(
                        &field,
                        itoa::Buffer::new().format(value).as_bytes(),
                        &limits,
                    );
                    (Ok(value), true)
                })??;
                ctx.notify(notify::HASH, "hincrby", &key);
                ctx.out().int(value);
            }
            HashCmd::HIncrByFloat { key, field, delta } => {
                let text = upsert(ctx.db(), &key, now, |h| {
                    let current = match h.get(&field) {
                        None => LongDouble::ZERO,
                        Some(v) => match LongDouble::parse(v) {
                            Some(n) => n,
                            None => {
                                return (Err(CmdError::err("hash value is not a float")), false)
                            }
                        },
                    };
                    let Some(sum) = current.add(delta.0) else {
                        return (
                            Err(CmdError::err("increment would produce NaN or Infinity")),
                            false,
                        );
                    };
                    let text = Bytes::from(sum.to_human_string());
                    h.set(&field, &text, &limits);
                    (Ok(text), true)
                })??;
                ctx.notify(notify::HASH, "hincrbyfloat", &key);
                // Replicas and replays must not redo float arithmetic: log the result.
                if ctx.logging() {
                    let arg = |s: &'static str| Bytes::from_static(s.as_bytes());
                    ctx.propagate(vec![arg("HSET"), key, field, text.clone()]);
                }
                ctx.out().bulk(&text);
            }
            HashCmd::HRandField {
                key,
                count,
                with_values,
            } => return hrandfield(ctx, &key, count, with_values),
            HashCmd::HScan { key, options } => {
                let db = ctx.db();
                let found = match db.get(&key, now) {
                    None => None,
                    Some(Value::Hash(_)) => Some(()),
                    Some(_) => return Err(CmdError::WrongType),
                };
                if found.is_none() {
                    scan_reply(&mut ctx.out(), 0, &[]);
                    return Ok(());
                }
                let o = options?;
                let mut items = Vec::new();
                let mut next = 0;
                db.update(&key, now, |v| {
                    if let Value::Hash(h) = v {
                        next = h.scan(o.cursor, o.count, |f, v| {
                            if o.matches(f) {
                                items.push(f.to_vec());
                                items.push(v.to_vec());
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

/// HRANDFIELD, following Redis's cases: one random field; a negative count of independent
/// picks; a count covering the whole hash (all of it, in order); or distinct random fields.
fn hrandfield(
    ctx: &mut Ctx,
    key: &[u8],
    count: Option<i64>,
    with_values: bool,
) -> Result<(), CmdError> {
    let now = ctx.now_ms;
    let resp3 = ctx.out().resp3();
    let (may_stream, proto) = (ctx.may_stream(), ctx.conn.proto);
    let (db, rng) = ctx.store.db_and_rng(ctx.conn.db);
    let h = match db.get(key, now) {
        None => None,
        Some(Value::Hash(h)) => Some(h),
        Some(_) => return Err(CmdError::WrongType),
    };
    let Some(count) = count else {
        let picked = h.and_then(|h| h.random(rng)).map(|(f, _)| f.to_vec());
        let mut out = ctx.out();
        match picked {
            Some(f) => out.bulk(&f),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(h) = h else {
        ctx.out().array(0);
        return Ok(());
    };
    let size = h.len();
    let (n, unique) = (count.unsigned_abs() as usize, count >= 0);
    if !unique && n > MIN_STREAMED_ELEMENTS && may_stream {
        // Up to 2^63 picks: the reply comes in pieces, from a copy of the hash.
        let (fields, values): (Vec<Bytes>, Vec<Bytes>) = h
            .iter()
            .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
            .unzip();
        let second = if with_values {
            Second::Values(values)
        } else {
            Second::None
        };
        let rng = Rng::new(rng.next_u64());
        let stream = ReplyStream::random_picks(fields, second, n as u64, rng, proto);
        // The count was checked to stay within half the range WITHVALUES.
        ctx.out()
            .array(if with_values && !resp3 { n * 2 } else { n });
        ctx.stream_reply(stream);
        return Ok(());
    }
    let picks: Vec<(Vec<u8>, Vec<u8>)> = if n == 0 {
        Vec::new()
    } else if !unique || n == 1 {
        (0..n)
            .map(|_| {
                let (f, v) = h.random(rng).expect("not empty");
                (f.to_vec(), v.to_vec())
            })
            .collect()
    } else if n >= size {
        h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()
    } else {
        let all: Vec<(&[u8], &[u8])> = h.iter().collect();
        let mut idx: Vec<usize> = (0..size).collect();
        for i in 0..n {
            let j = i + rng.below(size - i);
            idx.swap(i, j);
        }
        let mut chosen = idx[..n].to_vec();
        if h.is_compact() {
            // Redis samples a listpack in order.
            chosen.sort_unstable();
        }
        chosen
            .into_iter()
            .map(|i| (all[i].0.to_vec(), all[i].1.to_vec()))
            .collect()
    };
    let mut out = ctx.out();
    write_pairs(&mut out, &picks, with_values, resp3);
    Ok(())
}

fn write_pairs(out: &mut Out, picks: &[(Vec<u8>, Vec<u8>)], with_values: bool, resp3: bool) {
    if with_values && !resp3 {
        out.array(picks.len() * 2);
    } else {
        out.array(picks.len());
    }
    for (f, v) in picks {
        if with_values && resp3 {
            out.array(2);
        }
        out.bulk(f);
        if with_values {
            out.bulk(v);
        }
    }
}
