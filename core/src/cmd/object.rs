//! OBJECT: ENCODING, FREQ, IDLETIME, REFCOUNT, HELP.
//!
//! Encodings come from [`crate::db::Value::encoding_name`].
//!
//! IDLETIME comes from each key's last access, kept to the second as Redis's LRU clock
//! (reads and writes set it; OBJECT itself does not). FREQ, under an LFU policy, is the
//! key's logarithmic access counter with its decay applied (see `db/evict.rs`).

use bytes::Bytes;

use super::command::{help, subcommand};
use super::executor::Ctx;
use super::{parse_i64, Args, CmdError};
use crate::resp::Frame;

/// Redis's refcount for shared objects (small integers).
pub(crate) const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// `OBJECT <subcommand> key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// `OBJECT ENCODING key`.
    Encoding(Bytes),
    /// `OBJECT FREQ key`.
    Freq(Bytes),
    /// `OBJECT IDLETIME key`.
    IdleTime(Bytes),
    /// `OBJECT REFCOUNT key`.
    RefCount(Bytes),
    /// `OBJECT HELP`.
    Help,
}

/// True if Redis would store `s` as one of its shared integers (0 to 9999).
pub(crate) fn is_shared_integer(s: &[u8]) -> bool {
    s.len() <= 4 && parse_i64(s).is_some_and(|n| (0..10_000).contains(&n))
}

impl Object {
    pub(crate) fn parse(args: &mut Args) -> Result<Object, CmdError> {
        let m = subcommand(args, "OBJECT")?;
        if m.name == "object|help" {
            return Ok(Object::Help);
        }
        let key = args.required()?;
        Ok(match m.name {
            "object|encoding" => Object::Encoding(key),
            "object|freq" => Object::Freq(key),
            "object|idletime" => Object::IdleTime(key),
            _ => Object::RefCount(key),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let policy = ctx.store.config().maxmemory_policy;
        let shared_ok =
            ctx.store.config().maxmemory == 0 || !(policy.is_lfu() || policy_is_lru(policy));
        let (key, sub) = match self {
            Object::Help => return Ok(help("OBJECT", HELP)),
            Object::Encoding(k) => (k, 0),
            Object::Freq(k) => (k, 1),
            Object::IdleTime(k) => (k, 2),
            Object::RefCount(k) => (k, 3),
        };
        let now = ctx.now_ms;
        // OBJECT does not count as an access (Redis's LOOKUP_NOTOUCH).
        let idle = ctx.db().idle_seconds(&key, now);
        let freq = ctx.db().access_frequency(&key, now);
        let Some(value) = ctx.db().get_untouched(&key, now) else {
            return Ok(Frame::Null);
        };
        match sub {
            0 => Ok(Frame::bulk(value.encoding_name())),
            1 if !policy.is_lfu() => Err(CmdError::err(
                "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            )),
            1 => Ok(Frame::Integer(i64::from(freq.unwrap_or(0)))),
            2 if policy.is_lfu() => Err(CmdError::err(
                "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            )),
            2 => Ok(Frame::Integer(idle.unwrap_or(0) as i64)),
            _ => Ok(Frame::Integer(match value {
                crate::db::Value::Str(s) if shared_ok && is_shared_integer(s) => SHARED_REFCOUNT,
                _ => 1,
            })),
        }
    }
}

fn policy_is_lru(p: crate::db::MaxmemoryPolicy) -> bool {
    use crate::db::MaxmemoryPolicy::*;
    matches!(p, VolatileLru | AllkeysLru)
}

const HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];
