//! DUMP and RESTORE: a key's value as Redis's serialised payload (see
//! [`crate::persist::rdb::dump_payload`]), interchangeable with redis-server 7.0.
//!
//! `DUMP key` — the payload, or null for a missing key.
//!
//! `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ
//! frequency]` — creates the key from a payload: `BUSYKEY` if it exists (unless REPLACE),
//! `ttl` in milliseconds from now (or a Unix time in milliseconds with ABSTTL; 0: none). A
//! time already past creates nothing (and REPLACE then deletes the old key, logged as a
//! DEL). A relative TTL is logged as the absolute time with ABSTTL, as Redis propagates it.
//! IDLETIME sets what OBJECT IDLETIME reports; FREQ is checked as Redis checks it, but
//! redish keeps no LFU counter, so it sets nothing.

use bytes::Bytes;

use super::executor::Ctx;
use super::{parse_i64, Args, CmdError, Command};
use crate::db::notify;
use crate::persist::rdb::{dump_payload, restore_payload};

/// DUMP or RESTORE, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpCmd {
    /// `DUMP key`.
    Dump {
        /// The key.
        key: Bytes,
    },
    /// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`, and
    /// RESTORE-ASKING (the same, sent by cluster migration after `-ASK`).
    Restore {
        /// `restore` or `restore-asking`.
        name: &'static str,
        /// The key.
        key: Bytes,
        /// The TTL as sent: read after the key's existence is checked, as Redis does.
        ttl: Bytes,
        /// The payload.
        payload: Bytes,
        /// REPLACE.
        replace: bool,
        /// ABSTTL.
        absttl: bool,
        /// IDLETIME, in seconds.
        idle: Option<u64>,
        /// FREQ.
        freq: Option<u8>,
        /// The options as sent, for the command as logged.
        options: Vec<Bytes>,
    },
}

/// Parses DUMP and RESTORE (the spec table's parser for both).
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let cmd = match args.name() {
        "dump" => DumpCmd::Dump {
            key: args.required()?,
        },
        name @ ("restore" | "restore-asking") => {
            let key = args.required()?;
            let ttl = args.required()?;
            let payload = args.required()?;
            let options = args.rest();
            let (mut replace, mut absttl) = (false, false);
            let (mut idle, mut freq) = (None, None);
            let mut i = 0;
            while i < options.len() {
                let left = options.len() - i - 1;
                match options[i].to_ascii_lowercase().as_slice() {
                    b"replace" => replace = true,
                    b"absttl" => absttl = true,
                    b"idletime" if left >= 1 && freq.is_none() => {
                        let v = parse_i64(&options[i + 1]).ok_or(CmdError::NotInteger)?;
                        if v < 0 {
                            return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
                        }
                        idle = Some(v as u64);
                        i += 1;
                    }
                    b"freq" if left >= 1 && idle.is_none() => {
                        let v = parse_i64(&options[i + 1]).ok_or(CmdError::NotInteger)?;
                        if !(0..=255).contains(&v) {
                            return Err(CmdError::err(
                                "Invalid FREQ value, must be >= 0 and <= 255",
                            ));
                        }
                        freq = Some(v as u8);
                        i += 1;
                    }
                    _ => return Err(CmdError::Syntax),
                }
                i += 1;
            }
            DumpCmd::Restore {
                name,
                key,
                ttl,
                payload,
                replace,
                absttl,
                idle,
                freq,
                options,
            }
        }
        other => unreachable!("not DUMP or RESTORE: {other}"),
    };
    Ok(Command::Dump(cmd))
}

impl DumpCmd {
    /// `dump` or `restore`.
    pub fn name(&self) -> &'static str {
        match self {
            DumpCmd::Dump { .. } => "dump",
            DumpCmd::Restore { name, .. } => name,
        }
    }

    /// Runs the command; it writes its reply itself.
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        let now = ctx.now_ms;
        match self {
            DumpCmd::Dump { key } => {
                let (db, mut out) = ctx.db_out();
                match db.get(&key, now) {
                    None => out.null(),
                    Some(v) => out.bulk(&dump_payload(v)),
                }
                Ok(())
            }
            DumpCmd::Restore {
                name,
                key,
                ttl,
                payload,
                replace,
                absttl,
                idle,
                freq,
                options,
            } => {
                if !replace && ctx.db().get(&key, now).is_some() {
                    return Err(CmdError::Other(
                        "BUSYKEY Target key name already exists.".to_owned(),
                    ));
                }
                let ttl = parse_i64(&ttl).ok_or(CmdError::NotInteger)?;
                if ttl < 0 {
                    return Err(CmdError::err("Invalid TTL value, must be >= 0"));
                }
                let value =
                    restore_payload(&payload).map_err(|e| CmdError::Other(e.to_string()))?;
                let deleted = replace && ctx.db().delete(&key);
                // As Redis: `ttl + mstime()` in a signed 64-bit integer.
                let at = if ttl != 0 && !absttl {
                    ttl.wrapping_add(now as i64)
                } else {
                    ttl
                };
                if at != 0 && at <= now as i64 {
                    if deleted {
                        ctx.notify(notify::GENERIC, "del", &key);
                        if ctx.logging() {
                            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
                        }
                    }
                    ctx.out().ok();
                    return Ok(());
                }
                let expire = (at != 0).then_some(at as u64);
                ctx.db().insert(&key, value, expire, now);
                // As Redis's `objectSetLRUOrLFU`: FREQ under LFU, IDLETIME otherwise.
                ctx.db().set_lru_or_lfu(&key, freq, idle, now);
                if ctx.logging() && at != 0 && !absttl {
                    let mut logged = vec![
                        Bytes::from_static(name.as_bytes()),
                        key.clone(),
                        Bytes::from(at.to_string()),
                        payload.clone(),
                    ];
                    logged.extend(options);
                    logged.push(Bytes::from_static(b"ABSTTL"));
                    ctx.propagate(logged);
                }
                ctx.notify(notify::GENERIC, "restore", &key);
                ctx.out().ok();
                Ok(())
            }
        }
    }
}
