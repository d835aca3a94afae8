//! String commands: GET, SET, SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MGET, MSET,
//! MSETNX, INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT, APPEND, STRLEN, GETRANGE (and SUBSTR),
//! SETRANGE, LCS.
//!
//! Numbers follow Redis exactly: integers parse as `string2ll` (see [`super::parse_i64`]),
//! floats as `strtold` and print as `%.17Lf` in 80-bit `long double` (see
//! [`super::long_double`]).

use bytes::Bytes;

use super::executor::Ctx;
use super::long_double::LongDouble;
use super::{int_arg, parse_i64, Args, CmdError};
use crate::db::{notify, Db, Value};
use crate::resp::{encode_bulk, encode_null, Frame, Limits};

/// Longest string a command may build (Redis's `proto-max-bulk-len`, 512 MiB).
const MAX_STRING_BYTES: usize = Limits::DEFAULT.max_bulk_bytes;

fn too_long() -> CmdError {
    CmdError::err("string exceeds maximum allowed size (proto-max-bulk-len)")
}

/// The live string at `key`: `None` if missing, WRONGTYPE for another type.
fn get_str<'a>(db: &'a mut Db, key: &[u8], now_ms: u64) -> Result<Option<&'a [u8]>, CmdError> {
    match db.get(key, now_ms) {
        None => Ok(None),
        Some(Value::Str(v)) => Ok(Some(v)),
        #[allow(unreachable_patterns)]
        Some(_) => Err(CmdError::WrongType),
    }
}

fn arg(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// `GET key` — the string at `key`, or nil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Get {
    /// The key to read.
    pub key: Bytes,
}

impl Get {
    pub(crate) fn parse(args: &mut Args) -> Result<Get, CmdError> {
        Ok(Get {
            key: args.required()?,
        })
    }

    /// Writes the reply straight from the stored bytes: GET is the hottest path and needs
    /// no intermediate frame.
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        ctx.with_value(&self.key, |value, out, proto| {
            match value {
                None => encode_null(out, proto),
                Some(Value::Str(v)) => encode_bulk(out, v),
                #[allow(unreachable_patterns)]
                Some(_) => return Err(CmdError::WrongType),
            }
            Ok(())
        })
    }
}

/// When SET writes: always, only if the key is missing (NX), or only if it exists (XX).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetCondition {
    /// Write unconditionally.
    #[default]
    Always,
    /// `NX`: only if the key does not exist.
    IfMissing,
    /// `XX`: only if the key exists.
    IfExists,
}

/// What SET does with the key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetExpiry {
    /// No option: the key loses any expiry it had.
    #[default]
    Clear,
    /// `KEEPTTL`: keep the expiry the key had.
    Keep,
    /// `EX`/`PX`: expire this many milliseconds after the command runs.
    After(i64),
    /// `EXAT`/`PXAT`: expire at this Unix time in milliseconds.
    At(i64),
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]`
///
/// Replies OK, or nil when NX/XX prevented the write; with GET, the previous string or nil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    /// The key to write.
    pub key: Bytes,
    /// The new value.
    pub value: Bytes,
    /// NX / XX.
    pub condition: SetCondition,
    /// Expiry option.
    pub expiry: SetExpiry,
    /// `GET`: reply with the previous value.
    pub get: bool,
}

/// Parses an expiry amount as Redis's `getExpireMillisecondsOrReply` first step: an integer,
/// positive, and (in seconds) small enough to become milliseconds.
fn expire_amount(arg: &[u8], millis: bool, name: &'static str) -> Result<i64, CmdError> {
    let n = int_arg(arg)?;
    if n <= 0 || (!millis && n > i64::MAX / 1000) {
        return Err(CmdError::InvalidExpire(name));
    }
    Ok(if millis { n } else { n * 1000 })
}

impl Set {
    pub(crate) fn parse(args: &mut Args) -> Result<Set, CmdError> {
        let key = args.required()?;
        let value = args.required()?;
        let mut set = Set {
            key,
            value,
            condition: SetCondition::Always,
            expiry: SetExpiry::Clear,
            get: false,
        };
        // Options first, numbers after: Redis reports a syntax error before a bad number.
        let mut expire: Option<(Bytes, bool, bool)> = None; // (arg, millis, absolute)
        let mut keep_ttl = false;
        while let Some(opt) = args.next() {
            let has_next = args.remaining() > 0;
            match opt.to_ascii_uppercase().as_slice() {
                b"NX" if set.condition != SetCondition::IfExists => {
                    set.condition = SetCondition::IfMissing
                }
                b"XX" if set.condition != SetCondition::IfMissing => {
                    set.condition = SetCondition::IfExists
                }
                b"GET" => set.get = true,
                b"KEEPTTL" if expire.is_none() => keep_ttl = true,
                kind @ (b"EX" | b"PX" | b"EXAT" | b"PXAT") if !keep_ttl && has_next => {
                    let spec = (kind.starts_with(b"P"), kind.ends_with(b"AT"));
                    if expire.as_ref().is_some_and(|(_, m, a)| (*m, *a) != spec) {
                        return Err(CmdError::Syntax);
                    }
                    expire = Some((args.required()?, spec.0, spec.1));
                }
                _ => return Err(CmdError::Syntax),
            }
        }
        if keep_ttl {
            set.expiry = SetExpiry::Keep;
        }
        if let Some((arg, millis, absolute)) = expire {
            let ms = expire_amount(&arg, millis, "set")?;
            set.expiry = if absolute {
                SetExpiry::At(ms)
            } else {
                SetExpiry::After(ms)
            };
        }
        Ok(set)
    }

    /// Runs the write; returns whether it happened and the previous string. `name` is the
    /// command for error texts (SETEX and PSETEX share this).
    fn run(self, ctx: &mut Ctx, name: &'static str) -> Result<(bool, Option<Bytes>), CmdError> {
        let now = ctx.now_ms;
        let expire_at = match self.expiry {
            SetExpiry::After(ms) => Some(
                ms.checked_add(now as i64)
                    .ok_or(CmdError::InvalidExpire(name))?,
            ),
            SetExpiry::At(ms) => Some(ms),
            SetExpiry::Clear | SetExpiry::Keep => None,
        };
        if self.get {
            ctx.read_lookups();
        }
        let db = ctx.db();
        // The hot case, a plain SET, needs nothing of the old value: no lookup, no copy.
        let (exists, old) = match (self.get, self.condition) {
            (false, SetCondition::Always) => (false, None),
            (false, _) => (db.contains_key(&self.key, now), None),
            (true, _) => match db.get(&self.key, now) {
                None => (false, None),
                Some(Value::Str(v)) => (true, Some(Bytes::copy_from_slice(v))),
                #[allow(unreachable_patterns)]
                Some(_) => return Err(CmdError::WrongType),
            },
        };
        let write = match self.condition {
            SetCondition::Always => true,
            SetCondition::IfMissing => !exists,
            SetCondition::IfExists => exists,
        };
        if write {
            // The value is copied out of the read buffer so it does not pin it.
            let value = Value::str(&self.value);
            match self.expiry {
                SetExpiry::Keep => db.insert_keep_ttl(&self.key, value, now),
                _ => db.insert(&self.key, value, expire_at.map(|at| at.max(0) as u64), now),
            }
            ctx.notify(notify::STRING, "set", &self.key);
            if expire_at.is_some() {
                ctx.notify(notify::GENERIC, "expire", &self.key);
            }
            // Replayed later, a relative expiry must not restart: log the absolute time.
            if let (SetExpiry::After(_), Some(at), true) = (self.expiry, expire_at, ctx.logging()) {
                let at = Bytes::from(at.to_string());
                ctx.propagate(vec![arg("SET"), self.key, self.value, arg("PXAT"), at]);
            }
        }
        Ok((write, old))
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let get = self.get;
        let (written, old) = self.run(ctx, "set")?;
        Ok(match (get, written) {
            (true, _) => old.map_or(Frame::Null, Frame::Bulk),
            (false, true) => Frame::OK,
            (false, false) => Frame::Null,
        })
    }
}

/// `SETNX key value` — sets the key only if it does not exist; replies 1 if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetNx {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: Bytes,
}

impl SetNx {
    pub(crate) fn parse(args: &mut Args) -> Result<SetNx, CmdError> {
        Ok(SetNx {
            key: args.required()?,
            value: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let set = Set {
            key: self.key,
            value: self.value,
            condition: SetCondition::IfMissing,
            expiry: SetExpiry::Clear,
            get: false,
        };
        let (written, _) = set.run(ctx, "setnx")?;
        Ok(Frame::Integer(i64::from(written)))
    }
}

/// `SETEX key seconds value` and `PSETEX key milliseconds value` — SET with an expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetEx {
    /// The key.
    pub key: Bytes,
    /// Time to live in milliseconds (converted from seconds for SETEX).
    pub ttl_ms: i64,
    /// The value.
    pub value: Bytes,
    /// True for PSETEX.
    pub millis: bool,
}

impl SetEx {
    pub(crate) fn parse(args: &mut Args, millis: bool) -> Result<SetEx, CmdError> {
        let key = args.required()?;
        let amount = args.required()?;
        let value = args.required()?;
        let name = if millis { "psetex" } else { "setex" };
        Ok(SetEx {
            key,
            ttl_ms: expire_amount(&amount, millis, name)?,
            value,
            millis,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let name = if self.millis { "psetex" } else { "setex" };
        let set = Set {
            key: self.key,
            value: self.value,
            condition: SetCondition::Always,
            expiry: SetExpiry::After(self.ttl_ms),
            get: false,
        };
        set.run(ctx, name)?;
        Ok(Frame::OK)
    }
}

/// `GETSET key value` — sets the string and replies with the previous one (or nil). The key
/// loses its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSet {
    /// The key.
    pub key: Bytes,
    /// The new value.
    pub value: Bytes,
}

impl GetSet {
    pub(crate) fn parse(args: &mut Args) -> Result<GetSet, CmdError> {
        Ok(GetSet {
            key: args.required()?,
            value: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        let old = get_str(db, &self.key, now)?.map(Bytes::copy_from_slice);
        db.insert(&self.key, Value::str(&self.value), None, now);
        ctx.notify(notify::STRING, "set", &self.key);
        if ctx.logging() {
            ctx.propagate(vec![arg("SET"), self.key, self.value]);
        }
        Ok(old.map_or(Frame::Null, Frame::Bulk))
    }
}

/// `GETDEL key` — replies with the string (or nil) and deletes the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetDel {
    /// The key.
    pub key: Bytes,
}

impl GetDel {
    pub(crate) fn parse(args: &mut Args) -> Result<GetDel, CmdError> {
        Ok(GetDel {
            key: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        ctx.read_lookups();
        let db = ctx.db();
        let Some(value) = get_str(db, &self.key, now)?.map(Bytes::copy_from_slice) else {
            return Ok(Frame::Null);
        };
        db.remove(&self.key, now);
        ctx.notify(notify::GENERIC, "del", &self.key);
        if ctx.logging() {
            ctx.propagate(vec![arg("DEL"), self.key]);
        }
        Ok(Frame::Bulk(value))
    }
}

/// What GETEX does to the expiry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GetExExpiry {
    /// No option: nothing.
    #[default]
    Keep,
    /// `PERSIST`: remove it.
    Persist,
    /// `EX`/`PX`/`EXAT`/`PXAT`: the amount as given, checked when the key is found (a
    /// missing key replies nil before the number is looked at, as in Redis).
    Set {
        /// The number as sent.
        amount: Bytes,
        /// PX / PXAT.
        millis: bool,
        /// EXAT / PXAT.
        absolute: bool,
    },
}

/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]` — GET that also sets or removes the expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetEx {
    /// The key.
    pub key: Bytes,
    /// The expiry change.
    pub expiry: GetExExpiry,
}

impl GetEx {
    pub(crate) fn parse(args: &mut Args) -> Result<GetEx, CmdError> {
        let key = args.required()?;
        let mut expiry = GetExExpiry::Keep;
        while let Some(opt) = args.next() {
            let has_next = args.remaining() > 0;
            let upper = opt.to_ascii_uppercase();
            let is_set = |e: &GetExExpiry| matches!(e, GetExExpiry::Set { .. });
            expiry = match upper.as_slice() {
                b"PERSIST" if !is_set(&expiry) => GetExExpiry::Persist,
                kind @ (b"EX" | b"PX" | b"EXAT" | b"PXAT") if has_next => {
                    let (millis, absolute) = (kind.starts_with(b"P"), kind.ends_with(b"AT"));
                    // The same option may repeat (the last wins); different ones conflict.
                    match &expiry {
                        GetExExpiry::Persist => return Err(CmdError::Syntax),
                        GetExExpiry::Set {
                            millis: m,
                            absolute: a,
                            ..
                        } if (*m, *a) != (millis, absolute) => return Err(CmdError::Syntax),
                        _ => {}
                    }
                    GetExExpiry::Set {
                        amount: args.required()?,
                        millis,
                        absolute,
                    }
                }
                _ => return Err(CmdError::Syntax),
            };
        }
        Ok(GetEx { key, expiry })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        ctx.read_lookups();
        let db = ctx.db();
        let Some(value) = get_str(db, &self.key, now)?.map(Bytes::copy_from_slice) else {
            return Ok(Frame::Null);
        };
        let logging = ctx.logging();
        match self.expiry {
            GetExExpiry::Keep => {}
            GetExExpiry::Persist => {
                let db = ctx.db();
                if matches!(db.expire_at_ms(&self.key, now), Some(Some(_))) {
                    db.set_expire_at_ms(&self.key, None, now);
                    ctx.notify(notify::GENERIC, "persist", &self.key);
                    if logging {
                        ctx.propagate(vec![arg("PERSIST"), self.key]);
                    }
                }
            }
            GetExExpiry::Set {
                amount,
                millis,
                absolute,
            } => {
                let invalid = || CmdError::InvalidExpire("getex");
                let ms = expire_amount(&amount, millis, "getex")?;
                let when = if absolute {
                    ms
                } else {
                    ms.checked_add(now as i64).ok_or_else(invalid)?
                };
                let db = ctx.db();
                if absolute && when <= now as i64 {
                    db.remove(&self.key, now);
                    ctx.notify(notify::GENERIC, "del", &self.key);
                    if logging {
                        ctx.propagate(vec![arg("DEL"), self.key]);
                    }
                } else {
                    db.set_expire_at_ms(&self.key, Some(when as u64), now);
                    ctx.notify(notify::GENERIC, "expire", &self.key);
                    if logging {
                        let at = Bytes::from(when.to_string());
                        ctx.propagate(vec![arg("PEXPIREAT"), self.key, at]);
                    }
                }
            }
        }
        Ok(Frame::Bulk(value))
    }
}

/// `MGET key [key ...]` — the strings at the keys; nil for a missing key or another type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MGet {
    /// The keys.
    pub keys: Vec<Bytes>,
}

impl MGet {
    pub(crate) fn parse(args: &mut Args) -> Result<MGet, CmdError> {
        Ok(MGet { keys: args.rest() })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        let values = self
            .keys
            .iter()
            .map(|k| match db.get(k, now) {
                Some(Value::Str(v)) => Frame::bulk(v),
                #[allow(unreachable_patterns)]
                _ => Frame::Null,
            })
            .collect();
        Ok(Frame::Array(values))
    }
}

/// `MSET key value [key value ...]` — sets every pair (clearing expiries); replies OK.
/// `MSETNX key value [key value ...]` — the same only if none of the keys exists; replies 1
/// if it wrote, 0 otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MSet {
    /// Key/value pairs, in order (a repeated key takes its last value).
    pub pairs: Vec<(Bytes, Bytes)>,
    /// True for MSETNX.
    pub nx: bool,
}

impl MSet {
    pub(crate) fn parse(args: &mut Args, nx: bool) -> Result<MSet, CmdError> {
        if args.remaining() % 2 != 0 {
            return Err(CmdError::WrongArity(args.name()));
        }
        let mut pairs = Vec::with_capacity(args.remaining() / 2);
        while let (Some(k), Some(v)) = (args.next(), args.next()) {
            pairs.push((k, v));
        }
        Ok(MSet { pairs, nx })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        if self.nx && self.pairs.iter().any(|(k, _)| db.contains_key(k, now)) {
            return Ok(Frame::Integer(0));
        }
        for (k, v) in &self.pairs {
            ctx.db().insert(k, Value::str(v), None, now);
            ctx.notify(notify::STRING, "set", k);
        }
        Ok(if self.nx {
            Frame::Integer(1)
        } else {
            Frame::OK
        })
    }
}

/// `INCR key`, `DECR key`, `INCRBY key increment`, `DECRBY key decrement` — adds to the
/// integer at `key` (a missing key counts as 0) and replies with the result. The expiry stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncrBy {
    /// The key.
    pub key: Bytes,
    /// What to add (negated already for DECR and DECRBY).
    pub delta: i64,
    /// Which of the four commands this is.
    pub name: &'static str,
}

impl IncrBy {
    pub(crate) fn parse(args: &mut Args, fixed: Option<i64>) -> Result<IncrBy, CmdError> {
        let name = args.name();
        let key = args.required()?;
        let delta = match fixed {
            Some(d) => d,
            None => {
                let n = int_arg(&args.required()?)?;
                if name == "decrby" {
                    n.checked_neg()
                        .ok_or_else(|| CmdError::err("decrement would overflow"))?
                } else {
                    n
                }
            }
        };
        Ok(IncrBy { key, delta, name })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        let current = match get_str(db, &self.key, now)? {
            None => 0,
            Some(v) => parse_i64(v).ok_or(CmdError::NotInteger)?,
        };
        let value = current
            .checked_add(self.delta)
            .ok_or_else(|| CmdError::err("increment or decrement would overflow"))?;
        let mut buf = itoa::Buffer::new();
        db.insert_keep_ttl(&self.key, Value::str(buf.format(value).as_bytes()), now);
        ctx.notify(notify::STRING, "incrby", &self.key);
        Ok(Frame::Integer(value))
    }
}

/// `INCRBYFLOAT key increment` — adds a float to the number at `key` in 80-bit `long
/// double`, stores and replies the result as Redis prints it (`%.17Lf`, trailing zeros cut).
/// The expiry stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncrByFloat {
    /// The key.
    pub key: Bytes,
    /// The increment as sent; parsed when the command runs, after the key's type check.
    pub increment: Bytes,
}

impl IncrByFloat {
    pub(crate) fn parse(args: &mut Args) -> Result<IncrByFloat, CmdError> {
        Ok(IncrByFloat {
            key: args.required()?,
            increment: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let not_float = || CmdError::err("value is not a valid float");
        let db = ctx.db();
        let current = match get_str(db, &self.key, now)? {
            None => LongDouble::ZERO,
            Some(v) => LongDouble::parse(v).ok_or_else(not_float)?,
        };
        let incr = LongDouble::parse(&self.increment).ok_or_else(not_float)?;
        let sum = current
            .add(incr)
            .ok_or_else(|| CmdError::err("increment would produce NaN or Infinity"))?;
        let text = Bytes::from(sum.to_human_string());
        db.insert_keep_ttl(&self.key, Value::str(&text), now);
        ctx.notify(notify::STRING, "incrbyfloat", &self.key);
        // Replicas and replays must not redo float arithmetic: log the result.
        if ctx.logging() {
            ctx.propagate(vec![arg("SET"), self.key, text.clone(), arg("KEEPTTL")]);
        }
        Ok(Frame::Bulk(text))
    }
}

/// `APPEND key value` — appends to the string (creating it) and replies with the new length.
///
/// Values are stored as exact-size boxed slices, so each APPEND copies the string: fine for
/// the usual small values, quadratic for building a large string byte by byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    /// The key.
    pub key: Bytes,
    /// What to append.
    pub value: Bytes,
}

impl Append {
    pub(crate) fn parse(args: &mut Args) -> Result<Append, CmdError> {
        Ok(Append {
            key: args.required()?,
            value: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        let joined = match get_str(db, &self.key, now)? {
            None => {
                db.insert(&self.key, Value::str(&self.value), None, now);
                ctx.notify(notify::STRING, "append", &self.key);
                return Ok(Frame::Integer(self.value.len() as i64));
            }
            Some(old) => {
                if old.len() + self.value.len() > MAX_STRING_BYTES {
                    return Err(too_long());
                }
                [old, &self.value[..]].concat()
            }
        };
        let len = joined.len();
        db.insert_keep_ttl(&self.key, Value::Str(joined.into_boxed_slice()), now);
        ctx.notify(notify::STRING, "append", &self.key);
        Ok(Frame::Integer(len as i64))
    }
}

/// `STRLEN key` — the length of the string, 0 if missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLen {
    /// The key.
    pub key: Bytes,
}

impl StrLen {
    pub(crate) fn parse(args: &mut Args) -> Result<StrLen, CmdError> {
        Ok(StrLen {
            key: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let len = get_str(ctx.db(), &self.key, now)?.map_or(0, <[u8]>::len);
        Ok(Frame::Integer(len as i64))
    }
}

/// `GETRANGE key start end` — the substring between two inclusive offsets; negative offsets
/// count from the end. Out-of-range parts are cut; an empty range is an empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRange {
    /// The key.
    pub key: Bytes,
    /// First offset.
    pub start: i64,
    /// Last offset, inclusive.
    pub end: i64,
}

impl GetRange {
    pub(crate) fn parse(args: &mut Args) -> Result<GetRange, CmdError> {
        let key = args.required()?;
        let start = int_arg(&args.required()?)?;
        let end = int_arg(&args.required()?)?;
        Ok(GetRange { key, start, end })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let Some(s) = get_str(ctx.db(), &self.key, now)? else {
            return Ok(Frame::Bulk(Bytes::new()));
        };
        let (mut start, mut end) = (self.start, self.end);
        if start < 0 && end < 0 && start > end {
            return Ok(Frame::Bulk(Bytes::new()));
        }
        let len = s.len() as i64;
        if start < 0 {
            start += len;
        }
        if end < 0 {
            end += len;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= len {
            end = len - 1;
        }
        if start > end || len == 0 {
            return Ok(Frame::Bulk(Bytes::new()));
        }
        Ok(Frame::bulk(&s[start as usize..=end as usize]))
    }
}

/// `SETRANGE key offset value` — overwrites part of the string from `offset`, padding with
/// zero bytes, and replies with the new length. The result may not pass 512 MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetRange {
    /// The key.
    pub key: Bytes,
    /// Where to write.
    pub offset: usize,
    /// What to write.
    pub value: Bytes,
}

impl SetRange {
    pub(crate) fn parse(args: &mut Args) -> Result<SetRange, CmdError> {
        let key = args.required()?;
        let offset = int_arg(&args.required()?)?;
        let value = args.required()?;
        let offset =
            usize::try_from(offset).map_err(|_| CmdError::err("offset is out of range"))?;
        Ok(SetRange { key, offset, value })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        let old = get_str(db, &self.key, now)?;
        // Writing nothing changes nothing, and does not create the key.
        if self.value.is_empty() {
            return Ok(Frame::Integer(old.map_or(0, <[u8]>::len) as i64));
        }
        let end = self
            .offset
            .checked_add(self.value.len())
            .filter(|&end| end <= MAX_STRING_BYTES)
            .ok_or_else(too_long)?;
        let mut s = old.map(<[u8]>::to_vec).unwrap_or_default();
        if s.len() < end {
            s.resize(end, 0);
        }
        s[self.offset..end].copy_from_slice(&self.value);
        let len = s.len();
        db.insert_keep_ttl(&self.key, Value::Str(s.into_boxed_slice()), now);
        ctx.notify(notify::STRING, "setrange", &self.key);
        Ok(Frame::Integer(len as i64))
    }
}

/// The options of LCS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LcsOptions {
    /// `LEN`: reply the length only.
    pub len: bool,
    /// `IDX`: reply the matching ranges.
    pub idx: bool,
    /// `MINMATCHLEN`: leave out ranges shorter than this.
    pub min_match_len: usize,
    /// `WITHMATCHLEN`: add each range's length.
    pub with_match_len: bool,
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]` — the longest
/// common subsequence of two strings (missing keys are empty): the string itself, its
/// length, or with IDX the matching ranges (last match first) and the length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lcs {
    /// First key.
    pub key1: Bytes,
    /// Second key.
    pub key2: Bytes,
    /// The options, or the error they hold: Redis checks the keys' types first.
    pub options: Result<LcsOptions, CmdError>,
}

impl Lcs {
    pub(crate) fn parse(args: &mut Args) -> Result<Lcs, CmdError> {
        let key1 = args.required()?;
        let key2 = args.required()?;
        let options = Self::parse_options(args);
        Ok(Lcs {
            key1,
            key2,
            options,
        })
    }

    fn parse_options(args: &mut Args) -> Result<LcsOptions, CmdError> {
        let mut o = LcsOptions::default();
        while let Some(opt) = args.next() {
            match opt.to_ascii_uppercase().as_slice() {
                b"IDX" => o.idx = true,
                b"LEN" => o.len = true,
                b"WITHMATCHLEN" => o.with_match_len = true,
                b"MINMATCHLEN" if args.remaining() > 0 => {
                    let n = int_arg(&args.required()?)?;
                    o.min_match_len = usize::try_from(n).unwrap_or(0);
                }
                _ => return Err(CmdError::Syntax),
            }
        }
        if o.len && o.idx {
            return Err(CmdError::err(
                "If you want both the length and indexes, please just use IDX.",
            ));
        }
        Ok(o)
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        let a = match db.get(&self.key1, now) {
            None => Vec::new(),
            Some(Value::Str(v)) => v.to_vec(),
            #[allow(unreachable_patterns)]
            Some(_) => {
                return Err(CmdError::err(
                    "The specified keys must contain string values",
                ))
            }
        };
        let b = match db.get(&self.key2, now) {
            None => Vec::new(),
            Some(Value::Str(v)) => v.to_vec(),
            #[allow(unreachable_patterns)]
            Some(_) => {
                return Err(CmdError::err(
                    "The specified keys must contain string values",
                ))
            }
        };
        let o = self.options?;
        lcs(&a, &b, &o)
    }
}

/// Redis's LCS: the dynamic-programming table, then a walk back from the end that collects
/// the string and the ranges, exactly in Redis's order.
fn lcs(a: &[u8], b: &[u8], o: &LcsOptions) -> Result<Frame, CmdError> {
    let (alen, blen) = (a.len(), b.len());
    // Redis refuses a table over proto-max-bulk-len bytes of u32 cells.
    let cells = (alen as u128 + 1) * (blen as u128 + 1);
    if cells * 4 > MAX_STRING_BYTES as u128 {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let w = blen + 1;
    let mut dp = vec![0u32; cells as usize];
    for i in 1..=alen {
        for j in 1..=blen {
            dp[i * w + j] = if a[i - 1] == b[j - 1] {
                dp[(i - 1) * w + j - 1] + 1
            } else {
                dp[(i - 1) * w + j].max(dp[i * w + j - 1])
            };
        }
    }
    let total = dp[alen * w + blen] as usize;
    if o.len {
        return Ok(Frame::Integer(total as i64));
    }
    let mut result = vec![0u8; total];
    let mut idx = total;
    let mut matches = Vec::new();
    // `arange_start == alen` means no range is open, as in Redis.
    let (mut arange_start, mut arange_end, mut brange_start, mut brange_end) = (alen, 0, 0, 0);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if arange_start == alen {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if arange_start == i && brange_start == j {
                arange_start -= 1;
                brange_start -= 1;
            } else {
                emit = true;
            }
            if arange_start == 0 || brange_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if arange_start != alen {
                emit = true;
            }
        }
        if emit {
            let match_len = arange_end - arange_start + 1;
            if o.idx && (o.min_match_len == 0 || match_len >= o.min_match_len) {
                let range = |s: usize, e: usize| {
                    Frame::Array(vec![Frame::Integer(s as i64), Frame::Integer(e as i64)])
                };
                let mut m = vec![
                    range(arange_start, arange_end),
                    range(brange_start, brange_end),
                ];
                if o.with_match_len {
                    m.push(Frame::Integer(match_len as i64));
                }
                matches.push(Frame::Array(m));
            }
            arange_start = alen;
        }
    }
    if o.idx {
        return Ok(Frame::Map(vec![
            (Frame::bulk("matches"), Frame::Array(matches)),
            (Frame::bulk("len"), Frame::Integer(total as i64)),
        ]));
    }
    Ok(Frame::Bulk(Bytes::from(result)))
}
