//! DEBUG: the subcommands tests and operators use — SLEEP, SET-ACTIVE-EXPIRE, OBJECT,
//! RELOAD, CHANGE-REPL-ID, LOG, DIGEST, DIGEST-VALUE, HELP.
//!
//! As in Redis 7.0, DEBUG is refused unless `enable-debug-command` is `yes`, or `local` and
//! the client is on a Unix socket or a loopback address.
//!
//! `DEBUG SLEEP seconds` pauses the connection that sent it, not the server: core cannot
//! block, and pausing one connection is what tests of timeouts and pipelining rely on.
//! The reply comes when the time is up; the session reports the deadline through
//! [`crate::Session::poll_timeout`]. Inside MULTI it replies at once without sleeping.
//!
//! `DEBUG RELOAD` snapshots the dataset as RDB and loads it back: it checks what Redis's
//! does (that the data survives persistence). A server with files (see
//! [`crate::persist::Disk`]) also saves the RDB file first, as Redis does.

use bytes::Bytes;

use super::executor::Ctx;
use super::{Args, CmdError};
use crate::db::{digest, DebugCommand, Value};
use crate::persist::rdb;
use crate::resp::{Frame, Protocol};

/// `DEBUG <subcommand> …`.
#[derive(Debug, Clone, PartialEq)]
pub enum Debug {
    /// `DEBUG SLEEP seconds` (a decimal number; anything else is 0).
    Sleep(f64),
    /// `DEBUG SET-ACTIVE-EXPIRE 0|1`.
    SetActiveExpire(bool),
    /// `DEBUG OBJECT key`.
    Object(Bytes),
    /// `DEBUG RELOAD`.
    Reload,
    /// `DEBUG CHANGE-REPL-ID`.
    ChangeReplId,
    /// `DEBUG LOG message`: nothing to log to here; replies OK.
    Log,
    /// `DEBUG DIGEST`: the digest of the whole dataset ([`crate::db::digest`]).
    Digest,
    /// `DEBUG DIGEST-VALUE key …`: the digest of each key's value.
    DigestValue(Vec<Bytes>),
    /// `DEBUG HELP`.
    Help,
    /// A subcommand we do not serve, or a wrong argument count: its name for the error.
    Unknown(String),
}

impl Debug {
    pub(crate) fn parse(args: &mut Args) -> Result<Debug, CmdError> {
        let sub = args.required()?;
        let rest = args.rest();
        let upper = sub.to_ascii_uppercase();
        Ok(match (upper.as_slice(), rest.as_slice()) {
            (b"HELP", []) => Debug::Help,
            (b"SLEEP", [secs]) => Debug::Sleep(strtod(secs)),
            (b"SET-ACTIVE-EXPIRE", [on]) => Debug::SetActiveExpire(atoi(on) != 0),
            (b"OBJECT", [key]) => Debug::Object(key.clone()),
            (b"RELOAD", _) => Debug::Reload,
            (b"CHANGE-REPL-ID", []) => Debug::ChangeReplId,
            (b"LOG", [_]) => Debug::Log,
            (b"DIGEST", []) => Debug::Digest,
            (b"DIGEST-VALUE", keys) => Debug::DigestValue(keys.to_vec()),
            _ => Debug::Unknown(String::from_utf8_lossy(&sub).into_owned()),
        })
    }

    /// Runs the subcommand; `None` when the reply comes later (SLEEP).
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Option<Frame>, CmdError> {
        let allowed = match ctx.store.config().enable_debug_command {
            DebugCommand::Yes => true,
            DebugCommand::No => false,
            DebugCommand::Local => ctx
                .store
                .clients()
                .get(ctx.conn.id)
                .map_or(true, |c| c.conn.is_local()),
        };
        if !allowed {
            return Err(CmdError::err(
                "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            ));
        }
        match self {
            Debug::Sleep(secs) => {
                let ms = (secs * 1000.0) as i64;
                if ms > 0 && ctx.may_block() {
                    // No reply now: the session writes the OK when the time is up.
                    ctx.conn.sleep_until_ms = Some(ctx.now_ms.saturating_add(ms as u64));
                    return Ok(None);
                }
                Ok(Some(Frame::OK))
            }
            Debug::SetActiveExpire(on) => {
                ctx.store.set_active_expire(on);
                Ok(Some(Frame::OK))
            }
            Debug::Object(key) => {
                let now = ctx.now_ms;
                let shared_ok = ctx.store.config().maxmemory == 0;
                let Some(value) = ctx.db().get(&key, now) else {
                    return Err(CmdError::err("no such key"));
                };
                let refcount = match value {
                    Value::Str(s) if shared_ok && super::object::is_shared_integer(s) => {
                        super::object::SHARED_REFCOUNT
                    }
                    _ => 1,
                };
                let line = format!(
                    "Value at:{:p} refcount:{refcount} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:0",
                    value as *const Value,
                    value.encoding_name(),
                    rdb::value_len(value),
                    (now / 1000) & ((1 << 24) - 1),
                );
                Ok(Some(Frame::Simple(Bytes::from(line))))
            }
            Debug::Reload => {
                let now = ctx.now_ms;
                // A server with files saves the RDB on disk first, as Redis does.
                if ctx.store.has_disk() {
                    super::persist::with_disk(ctx.store, |disk, store| disk.save(store, now))?;
                }
                let snapshot = rdb::to_vec(ctx.store, now);
                ctx.store.flush_all();
                ctx.store.signal_flushed(ctx.conn.proto == Protocol::Resp3);
                rdb::load_into(ctx.store, &snapshot, now)
                    .map_err(|e| CmdError::err(format_args!("Error trying to load the RDB dump: {e}")))?;
                Ok(Some(Frame::OK))
            }
            Debug::ChangeReplId => {
                ctx.store.change_replid();
                Ok(Some(Frame::OK))
            }
            Debug::Log => Ok(Some(Frame::OK)),
            Debug::Digest => {
                let d = digest::dataset_digest(ctx.store.dbs());
                Ok(Some(Frame::Simple(Bytes::from(digest::to_hex(&d)))))
            }
            Debug::DigestValue(keys) => {
                let db = ctx.db();
                let replies = keys
                    .iter()
                    .map(|k| Frame::Simple(Bytes::from(digest::to_hex(&digest::key_digest(db, k)))))
                    .collect();
                Ok(Some(Frame::Array(replies)))
            }
            Debug::Help => Ok(Some(super::command::help(
                "DEBUG",
                &[
                    "CHANGE-REPL-ID",
                    "    Change the replication IDs of the instance.",
                    "DIGEST",
                    "    Output a hex signature representing the current DB content.",
                    "DIGEST-VALUE <key> [<key> ...]",
                    "    Output a hex signature of the values of all the specified keys.",
                    "LOG <message>",
                    "    Write <message> to the server log.",
                    "OBJECT <key>",
                    "    Show low level info about the `key` and associated value.",
                    "RELOAD",
                    "    Save the RDB on disk and reload it back to memory.",
                    "SET-ACTIVE-EXPIRE <0|1>",
                    "    Setting it to 0 disables expiring keys in background when they are not",
                    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                    "    default.",
                    "SLEEP <seconds>",
                    "    Stop the server for <seconds>. Decimals allowed.",
                ],
            ))),
            Debug::Unknown(sub) => Err(CmdError::err(format_args!(
                "unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG HELP."
            ))),
        }
    }
}

/// C's `strtod` on the leading number, 0 if there is none.
fn strtod(s: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(s);
    let s = s.trim_start();
    let end = s
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    s[..end].parse().unwrap_or(0.0)
}

/// C's `atoi`.
fn atoi(s: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(s);
    let s = s.trim_start();
    let end = s
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    s[..end].parse().unwrap_or(0)
}
