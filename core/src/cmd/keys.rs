//! Keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX,
//! COPY, MOVE, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME,
//! PERSIST, TOUCH.

use bytes::Bytes;

use super::executor::Ctx;
use super::{int32_arg, int_arg, Args, CmdError};
use crate::db::{glob_match, notify, Db, Value};
use crate::resp::Frame;

/// `DEL key [key ...]` and `UNLINK key [key ...]` — removes keys; replies how many existed.
/// UNLINK frees memory at once too: values are dropped in place either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Del {
    /// Keys to remove.
    pub keys: Vec<Bytes>,
    /// True for UNLINK.
    pub unlink: bool,
}

impl Del {
    pub(crate) fn parse(args: &mut Args, unlink: bool) -> Result<Del, CmdError> {
        Ok(Del {
            keys: args.rest(),
            unlink,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let mut n = 0;
        for k in &self.keys {
            if ctx.db().remove(k, now).is_some() {
                ctx.notify(notify::GENERIC, "del", k);
                n += 1;
            }
        }
        Ok(Frame::Integer(n))
    }
}

/// `EXISTS key [key ...]` — how many of the keys exist (a key named twice counts twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exists {
    /// Keys to look for.
    pub keys: Vec<Bytes>,
}

impl Exists {
    pub(crate) fn parse(args: &mut Args) -> Result<Exists, CmdError> {
        Ok(Exists { keys: args.rest() })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        // A read lookup that leaves the access time alone (Redis's `LOOKUP_NOTOUCH`): it
        // counts in keyspace_hits/misses and notifies `keymiss`.
        Ok(count_live(ctx, &self.keys, Db::get_untouched))
    }
}

/// How many of `keys` `lookup` finds live in the selected database.
fn count_live(
    ctx: &mut Ctx,
    keys: &[Bytes],
    lookup: for<'a> fn(&'a mut Db, &[u8], u64) -> Option<&'a Value>,
) -> Frame {
    let now = ctx.now_ms;
    let db = ctx.db();
    let n = keys.iter().filter(|k| lookup(db, k, now).is_some()).count();
    Frame::Integer(n as i64)
}

/// `TOUCH key [key ...]` — how many of the keys exist. There is no LRU clock to update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// Keys to touch.
    pub keys: Vec<Bytes>,
}

impl Touch {
    pub(crate) fn parse(args: &mut Args) -> Result<Touch, CmdError> {
        Ok(Touch { keys: args.rest() })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        // A read lookup that counts as an access.
        Ok(count_live(ctx, &self.keys, Db::get))
    }
}

/// `TYPE key` — the type of the value at `key` as a simple string, `none` if missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    /// The key.
    pub key: Bytes,
}

impl Type {
    pub(crate) fn parse(args: &mut Args) -> Result<Type, CmdError> {
        Ok(Type {
            key: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let name = ctx
            .db()
            .get(&self.key, now)
            .map_or("none", Value::type_name);
        Ok(Frame::simple(name))
    }
}

/// `KEYS pattern` — every live key matching the glob pattern, in no particular order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// Glob pattern.
    pub pattern: Bytes,
}

impl Keys {
    pub(crate) fn parse(args: &mut Args) -> Result<Keys, CmdError> {
        Ok(Keys {
            pattern: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let all = self.pattern.as_ref() == b"*";
        let keys = ctx
            .db()
            .keys(now)
            .filter(|k| all || glob_match(&self.pattern, k, false))
            .map(Frame::bulk)
            .collect();
        Ok(Frame::Array(keys))
    }
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]` — one step of an iteration over
/// the keys: replies `[next cursor, keys]`, the cursor `0` once done.
///
/// The cursor is a position in the order of the keys' 64-bit hashes (see [`crate::Db::scan`]):
/// a full iteration returns every key that exists from its start to its end exactly once,
/// whatever is added or removed meanwhile. COUNT is how many hashes one step visits
/// (default 10); MATCH and TYPE filter what was visited, so a step may return nothing before
/// the end. Cursor values differ from Redis's, which are positions in its own table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Where to continue; 0 starts.
    pub cursor: u64,
    /// `MATCH`: a glob pattern over key names.
    pub pattern: Option<Bytes>,
    /// `COUNT`: hashes to visit in this step.
    pub count: usize,
    /// `TYPE`: only keys of this type (compared case-insensitively).
    pub type_name: Option<Bytes>,
}

/// Parses a SCAN cursor as Redis does with `strtoul`: optional sign (a negative value wraps
/// around), decimal digits, no leading space, nothing after; an empty string is 0.
pub(crate) fn parse_cursor(s: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    // The C string ends at a NUL byte.
    let s = memchr::memchr(0, s).map_or(s, |nul| &s[..nul]);
    if s.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

impl Scan {
    pub(crate) fn parse(args: &mut Args) -> Result<Scan, CmdError> {
        let cursor = parse_cursor(&args.required()?)?;
        let mut scan = Scan {
            cursor,
            pattern: None,
            count: 10,
            type_name: None,
        };
        while let Some(opt) = args.next() {
            if args.remaining() == 0 {
                return Err(CmdError::Syntax);
            }
            match opt.to_ascii_uppercase().as_slice() {
                b"COUNT" => {
                    let n = int_arg(&args.required()?)?;
                    if n < 1 {
                        return Err(CmdError::Syntax);
                    }
                    scan.count = usize::try_from(n).unwrap_or(usize::MAX);
                }
                b"MATCH" => {
                    let p = args.required()?;
                    scan.pattern = (p.as_ref() != b"*").then_some(p);
                }
                b"TYPE" => scan.type_name = Some(args.required()?),
                _ => return Err(CmdError::Syntax),
            }
        }
        Ok(scan)
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let mut keys = Vec::new();
        let next = ctx.db().scan(self.cursor, self.count, now, |key, value| {
            let matches = self
                .pattern
                .as_ref()
                .map_or(true, |p| glob_match(p, key, false));
            let typed = self.type_name.as_ref().map_or(true, |t| {
                t.eq_ignore_ascii_case(value.type_name().as_bytes())
            });
            if matches && typed {
                keys.push(Frame::bulk(key));
            }
        });
        let mut buf = itoa::Buffer::new();
        Ok(Frame::Array(vec![
            Frame::bulk(buf.format(next)),
            Frame::Array(keys),
        ]))
    }
}

/// `RANDOMKEY` — a random live key, or nil if the database is empty. Randomness comes from
/// the store's seeded generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomKey;

impl RandomKey {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let (db, rng) = ctx.store.db_and_rng(ctx.conn.db);
        Ok(db.random_key(now, rng).map_or(Frame::Null, Frame::Bulk))
    }
}

/// `RENAME key newkey` and `RENAMENX key newkey` — moves a value (and its expiry) to another
/// name, replacing what was there; RENAMENX only if `newkey` does not exist.
///
/// Replies OK (RENAMENX: 1, or 0 if `newkey` exists); `ERR no such key` if `key` is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    /// The key to rename.
    pub key: Bytes,
    /// Its new name.
    pub new_key: Bytes,
    /// True for RENAMENX.
    pub nx: bool,
}

impl Rename {
    pub(crate) fn parse(args: &mut Args, nx: bool) -> Result<Rename, CmdError> {
        Ok(Rename {
            key: args.required()?,
            new_key: args.required()?,
            nx,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let done = if self.nx {
            Frame::Integer(1)
        } else {
            Frame::OK
        };
        let db = ctx.db();
        if !db.contains_key(&self.key, now) {
            return Err(CmdError::err("no such key"));
        }
        // Renaming a key to itself changes nothing, but the key must still exist.
        if self.key == self.new_key {
            return Ok(if self.nx { Frame::Integer(0) } else { done });
        }
        if db.contains_key(&self.new_key, now) {
            if self.nx {
                return Ok(Frame::Integer(0));
            }
            // Redis deletes the old destination, then adds the key anew (event `new`).
            db.remove(&self.new_key, now);
        }
        let (value, expire_at) = db.remove_entry(&self.key, now).expect("checked live above");
        db.insert(&self.new_key, value, expire_at, now);
        ctx.notify(notify::GENERIC, "rename_from", &self.key);
        ctx.notify(notify::GENERIC, "rename_to", &self.new_key);
        Ok(done)
    }
}

/// `COPY source destination [DB destination-db] [REPLACE]` — copies a value and its expiry;
/// replies 1, or 0 if `source` is missing or `destination` exists (without REPLACE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyKey {
    /// The key to copy.
    pub key: Bytes,
    /// The name of the copy.
    pub new_key: Bytes,
    /// Every `DB` index given, in order: each is checked against the number of databases
    /// when the command runs, and the last one is the target.
    pub db: Vec<i32>,
    /// `REPLACE`: overwrite an existing destination.
    pub replace: bool,
    /// An error in the options after a `DB`, reported only if that index is valid (Redis
    /// checks each option in turn).
    pub deferred: Option<CmdError>,
}

impl CopyKey {
    pub(crate) fn parse(args: &mut Args) -> Result<CopyKey, CmdError> {
        let mut copy = CopyKey {
            key: args.required()?,
            new_key: args.required()?,
            db: Vec::new(),
            replace: false,
            deferred: None,
        };
        while let Some(opt) = args.next() {
            let step = match opt.to_ascii_uppercase().as_slice() {
                b"REPLACE" => {
                    copy.replace = true;
                    Ok(())
                }
                b"DB" if args.remaining() >= 1 => {
                    int32_arg(&args.required()?).map(|db| copy.db.push(db))
                }
                _ => Err(CmdError::Syntax),
            };
            if let Err(e) = step {
                if copy.db.is_empty() {
                    return Err(e);
                }
                copy.deferred = Some(e);
                break;
            }
        }
        Ok(copy)
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let src = ctx.conn.db;
        for &db in &self.db {
            if db < 0 || db as usize >= ctx.store.databases() {
                return Err(CmdError::DbIndexOutOfRange);
            }
        }
        if let Some(e) = self.deferred {
            return Err(e);
        }
        let dst = self.db.last().map_or(src, |&db| db as usize);
        if src == dst && self.key == self.new_key {
            return Err(CmdError::SameObject);
        }
        // The source is read as Redis's `lookupKeyRead` does: hits, misses, `keymiss`.
        ctx.read_lookups();
        let Some((value, expire_at)) = ctx
            .store
            .db(src)
            .get_with_expire(&self.key, now)
            .map(|(v, at)| (v.clone(), at))
        else {
            return Ok(Frame::Integer(0));
        };
        let target = ctx.store.db(dst);
        if target.contains_key(&self.new_key, now) {
            if !self.replace {
                return Ok(Frame::Integer(0));
            }
            // As Redis: the old copy is deleted and the new one added (event `new`).
            target.remove(&self.new_key, now);
        }
        target.insert(&self.new_key, value, expire_at, now);
        ctx.store
            .notify(notify::GENERIC, "copy_to", &self.new_key, dst);
        Ok(Frame::Integer(1))
    }
}

/// `MOVE key db` — moves a key (with its expiry) to another database; replies 1, or 0 if the
/// key is missing here or exists there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The key.
    pub key: Bytes,
    /// The target database index.
    pub db: i32,
}

impl Move {
    pub(crate) fn parse(args: &mut Args) -> Result<Move, CmdError> {
        let key = args.required()?;
        let db = int32_arg(&args.required()?)?;
        Ok(Move { key, db })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        if self.db < 0 || self.db as usize >= ctx.store.databases() {
            return Err(CmdError::DbIndexOutOfRange);
        }
        let (src, dst) = (ctx.conn.db, self.db as usize);
        if src == dst {
            return Err(CmdError::SameObject);
        }
        let (from, to) = ctx.store.two_dbs(src, dst);
        if !from.contains_key(&self.key, now) || to.contains_key(&self.key, now) {
            return Ok(Frame::Integer(0));
        }
        let (value, expire_at) = from.remove_entry(&self.key, now).expect("checked above");
        to.insert(&self.key, value, expire_at, now);
        ctx.store
            .notify(notify::GENERIC, "move_from", &self.key, src);
        ctx.store.notify(notify::GENERIC, "move_to", &self.key, dst);
        Ok(Frame::Integer(1))
    }
}

/// The condition of EXPIRE's NX, XX, GT and LT options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpireCondition {
    /// No option.
    #[default]
    Always,
    /// `NX`: only if the key has no expiry.
    IfNone,
    /// `XX`: only if the key has an expiry.
    IfSome,
    /// `GT`: only if the new expiry is later (a key without expiry counts as infinite).
    IfLater,
    /// `LT`: only if the new expiry is earlier.
    IfEarlier,
    /// `XX GT`.
    IfSomeAndLater,
    /// `XX LT`.
    IfSomeAndEarlier,
}

/// `EXPIRE key seconds [NX | XX | GT | LT]`, and the same for `PEXPIRE` (milliseconds),
/// `EXPIREAT` (Unix seconds) and `PEXPIREAT` (Unix milliseconds).
///
/// Replies 1 if the expiry was set (a time in the past deletes the key), 0 if the key is
/// missing or the condition failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expire {
    /// The key.
    pub key: Bytes,
    /// The time as given, in seconds or milliseconds, relative or absolute.
    pub amount: i64,
    /// True for PEXPIRE and PEXPIREAT.
    pub millis: bool,
    /// True for EXPIREAT and PEXPIREAT: `amount` is a Unix time.
    pub absolute: bool,
    /// NX/XX/GT/LT.
    pub condition: ExpireCondition,
}

impl Expire {
    pub(crate) fn parse(args: &mut Args, millis: bool, absolute: bool) -> Result<Expire, CmdError> {
        let key = args.required()?;
        let amount = args.required()?;
        // Options first, the number after: Redis reports a bad option before a bad number.
        let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
        while let Some(opt) = args.next() {
            match opt.to_ascii_uppercase().as_slice() {
                b"NX" => nx = true,
                b"XX" => xx = true,
                b"GT" => gt = true,
                b"LT" => lt = true,
                _ => {
                    return Err(CmdError::err(format_args!(
                        "Unsupported option {}",
                        String::from_utf8_lossy(&opt)
                    )))
                }
            }
        }
        if nx && (xx || gt || lt) {
            return Err(CmdError::err(
                "NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if gt && lt {
            return Err(CmdError::err(
                "GT and LT options at the same time are not compatible",
            ));
        }
        let condition = match (nx, xx, gt, lt) {
            (true, ..) => ExpireCondition::IfNone,
            (_, true, true, _) => ExpireCondition::IfSomeAndLater,
            (_, true, _, true) => ExpireCondition::IfSomeAndEarlier,
            (_, true, ..) => ExpireCondition::IfSome,
            (_, _, true, _) => ExpireCondition::IfLater,
            (_, _, _, true) => ExpireCondition::IfEarlier,
            _ => ExpireCondition::Always,
        };
        let amount = int_arg(&amount)?;
        Ok(Expire {
            key,
            amount,
            millis,
            absolute,
            condition,
        })
    }

    /// The command's name, as error texts quote it.
    pub fn name(&self) -> &'static str {
        match (self.millis, self.absolute) {
            (false, false) => "expire",
            (true, false) => "pexpire",
            (false, true) => "expireat",
            (true, true) => "pexpireat",
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let invalid = || CmdError::InvalidExpire(self.name());
        let ms = if self.millis {
            self.amount
        } else {
            self.amount.checked_mul(1000).ok_or_else(invalid)?
        };
        let base = if self.absolute { 0 } else { now as i64 };
        let when = ms.checked_add(base).ok_or_else(invalid)?;
        let db = ctx.db();
        let Some(current) = db.expire_at_ms(&self.key, now) else {
            return Ok(Frame::Integer(0));
        };
        // A key without expiry has an infinite time to live for GT and LT.
        let later = || current.is_some_and(|c| when > c as i64);
        let earlier = || current.map_or(true, |c| when < c as i64);
        let ok = match self.condition {
            ExpireCondition::Always => true,
            ExpireCondition::IfNone => current.is_none(),
            ExpireCondition::IfSome => current.is_some(),
            ExpireCondition::IfLater | ExpireCondition::IfSomeAndLater => later(),
            ExpireCondition::IfEarlier => earlier(),
            ExpireCondition::IfSomeAndEarlier => current.is_some() && earlier(),
        };
        if !ok {
            return Ok(Frame::Integer(0));
        }
        if when <= now as i64 {
            db.remove(&self.key, now);
            ctx.notify(notify::GENERIC, "del", &self.key);
            if ctx.logging() {
                ctx.propagate(vec![Bytes::from_static(b"DEL"), self.key]);
            }
        } else {
            db.set_expire_at_ms(&self.key, Some(when as u64), now);
            ctx.notify(notify::GENERIC, "expire", &self.key);
            if ctx.logging() {
                let at = Bytes::from(when.to_string());
                ctx.propagate(vec![Bytes::from_static(b"PEXPIREAT"), self.key, at]);
            }
        }
        Ok(Frame::Integer(1))
    }
}

/// `TTL key` / `PTTL key` — remaining time to live in seconds (rounded) or milliseconds;
/// `EXPIRETIME key` / `PEXPIRETIME key` — the absolute Unix time of expiry, likewise.
/// All reply -1 for a key without expiry and -2 for a missing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ttl {
    /// The key.
    pub key: Bytes,
    /// True for PTTL and PEXPIRETIME.
    pub millis: bool,
    /// True for EXPIRETIME and PEXPIRETIME.
    pub absolute: bool,
}

impl Ttl {
    pub(crate) fn parse(args: &mut Args, millis: bool, absolute: bool) -> Result<Ttl, CmdError> {
        Ok(Ttl {
            key: args.required()?,
            millis,
            absolute,
        })
    }

    /// The command's name.
    pub fn name(&self) -> &'static str {
        match (self.millis, self.absolute) {
            (false, false) => "ttl",
            (true, false) => "pttl",
            (false, true) => "expiretime",
            (true, true) => "pexpiretime",
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        // A read lookup first (Redis's `LOOKUP_NOTOUCH`): hits, misses, `keymiss`.
        let found = db.get_untouched(&self.key, now).is_some();
        Ok(Frame::Integer(
            match db.expire_at_ms(&self.key, now).filter(|_| found) {
                None => -2,
                Some(None) => -1,
                Some(Some(at)) => {
                    let ms = if self.absolute {
                        at as i64
                    } else {
                        at.saturating_sub(now) as i64
                    };
                    // Seconds round to nearest, as Redis's (ms + 500) / 1000.
                    if self.millis {
                        ms
                    } else {
                        (ms + 500) / 1000
                    }
                }
            },
        ))
    }
}

/// `PERSIST key` — removes the expiry; replies 1 if there was one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persist {
    /// The key.
    pub key: Bytes,
}

impl Persist {
    pub(crate) fn parse(args: &mut Args) -> Result<Persist, CmdError> {
        Ok(Persist {
            key: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        let had = matches!(db.expire_at_ms(&self.key, now), Some(Some(_)));
        if had {
            db.set_expire_at_ms(&self.key, None, now);
            ctx.notify(notify::GENERIC, "persist", &self.key);
        }
        Ok(Frame::Integer(i64::from(had)))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_cursor;

    #[test]
    fn cursor_parses_like_strtoul() {
        let ok: &[(&str, u64)] = &[
            ("", 0),
            ("0", 0),
            ("00", 0),
            ("+0", 0),
            ("-0", 0),
            ("42", 42),
            ("-1", u64::MAX),
            ("18446744073709551615", u64::MAX),
            ("5\0junk", 5),
        ];
        for &(s, want) in ok {
            assert_eq!(parse_cursor(s.as_bytes()).ok(), Some(want), "{s:?}");
        }
        for bad in [" 0", "0 ", "x", "-", "+", "18446744073709551616", "1.5"] {
            assert!(parse_cursor(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
