//! Keyspace commands: DEL, EXISTS, EXPIRE, PEXPIRE, TTL, PTTL, PERSIST.

use bytes::Bytes;

use super::{int_arg, Args, CmdError};
use crate::resp::Frame;
use crate::session::Ctx;

/// `DEL key [key ...]` — removes keys; replies how many existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Del {
    /// Keys to remove.
    pub keys: Vec<Bytes>,
}

impl Del {
    pub(crate) fn parse(args: &mut Args) -> Result<Del, CmdError> {
        Ok(Del { keys: args.rest() })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let db = ctx.db();
        let n = self
            .keys
            .iter()
            .filter(|k| db.remove(k, now).is_some())
            .count();
        Ok(Frame::Integer(n as i64))
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
        let now = ctx.now_ms;
        let db = ctx.db();
        let n = self.keys.iter().filter(|k| db.contains_key(k, now)).count();
        Ok(Frame::Integer(n as i64))
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

/// `EXPIRE key seconds [NX | XX | GT | LT]` and `PEXPIRE key milliseconds [...]`.
///
/// Replies 1 if the expiry was set (a time in the past deletes the key), 0 if the key is
/// missing or the condition failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expire {
    /// The key.
    pub key: Bytes,
    /// The relative time as given, in seconds or (PEXPIRE) milliseconds.
    pub amount: i64,
    /// True for PEXPIRE.
    pub millis: bool,
    /// NX/XX/GT/LT.
    pub condition: ExpireCondition,
}

impl Expire {
    pub(crate) fn parse(args: &mut Args, millis: bool) -> Result<Expire, CmdError> {
        let key = args.required()?;
        let amount = args.required()?;
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
            condition,
        })
    }

    fn name(&self) -> &'static str {
        if self.millis {
            "pexpire"
        } else {
            "expire"
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let ms = if self.millis {
            self.amount
        } else {
            self.amount
                .checked_mul(1000)
                .ok_or(CmdError::InvalidExpire(self.name()))?
        };
        let when = ms
            .checked_add(now as i64)
            .ok_or(CmdError::InvalidExpire(self.name()))?;
        let db = ctx.db();
        let Some(current) = db.expire_at_ms(&self.key, now) else {
            return Ok(Frame::Integer(0));
        };
        // A key without expiry has an infinite time to live for GT and LT.
        let later = || current.is_some_and(|c| when > c as i64);
        let earlier = || current.is_none_or(|c| when < c as i64);
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
        } else {
            db.set_expire_at_ms(&self.key, Some(when as u64), now);
        }
        Ok(Frame::Integer(1))
    }
}

/// `TTL key` / `PTTL key` — remaining time to live in seconds (rounded) or milliseconds;
/// -1 for a key without expiry, -2 for a missing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ttl {
    /// The key.
    pub key: Bytes,
    /// True for PTTL.
    pub millis: bool,
}

impl Ttl {
    pub(crate) fn parse(args: &mut Args, millis: bool) -> Result<Ttl, CmdError> {
        Ok(Ttl {
            key: args.required()?,
            millis,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        Ok(Frame::Integer(
            match ctx.db().expire_at_ms(&self.key, now) {
                None => -2,
                Some(None) => -1,
                Some(Some(at)) => {
                    let ms = at.saturating_sub(now) as i64;
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
        }
        Ok(Frame::Integer(i64::from(had)))
    }
}
