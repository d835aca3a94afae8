//! String commands: GET, SET.

use bytes::Bytes;

use super::{int_arg, Args, CmdError};
use crate::db::Value;
use crate::resp::{encode_bulk, encode_null, Frame};
use crate::session::Ctx;

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
        ctx.with_value(&self.key, |value, out, proto| match value {
            None => Ok(encode_null(out, proto)),
            Some(Value::Str(v)) => Ok(encode_bulk(out, v)),
            #[allow(unreachable_patterns)]
            Some(_) => Err(CmdError::WrongType),
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
            let n = int_arg(&arg)?;
            if n <= 0 || (!millis && n > i64::MAX / 1000) {
                return Err(CmdError::InvalidExpire("set"));
            }
            let ms = if millis { n } else { n * 1000 };
            set.expiry = if absolute {
                SetExpiry::At(ms)
            } else {
                SetExpiry::After(ms)
            };
        }
        Ok(set)
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let expire_at = match self.expiry {
            SetExpiry::After(ms) => Some(
                ms.checked_add(now as i64)
                    .ok_or(CmdError::InvalidExpire("set"))?,
            ),
            SetExpiry::At(ms) => Some(ms),
            SetExpiry::Clear | SetExpiry::Keep => None,
        };
        let db = ctx.db();
        let old = match db.get(&self.key, now) {
            None => None,
            Some(Value::Str(v)) => Some(Bytes::copy_from_slice(v)),
            #[allow(unreachable_patterns)]
            Some(_) if self.get => return Err(CmdError::WrongType),
            #[allow(unreachable_patterns)]
            Some(_) => Some(Bytes::new()),
        };
        let write = match self.condition {
            SetCondition::Always => true,
            SetCondition::IfMissing => old.is_none(),
            SetCondition::IfExists => old.is_some(),
        };
        if write {
            // The value is copied out of the read buffer so it does not pin it.
            let value = Value::str(&self.value);
            match self.expiry {
                SetExpiry::Keep => db.insert_keep_ttl(&self.key, value, now),
                _ => db.insert(&self.key, value, expire_at.map(|at| at.max(0) as u64)),
            }
        }
        Ok(match (self.get, write) {
            (true, _) => old.map_or(Frame::Null, Frame::Bulk),
            (false, true) => Frame::OK,
            (false, false) => Frame::Null,
        })
    }
}
