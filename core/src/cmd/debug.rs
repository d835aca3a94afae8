//! DEBUG: the subcommands tests and operators use — SLEEP, SET-ACTIVE-EXPIRE, OBJECT,
//! RELOAD, CHANGE-REPL-ID, LOG, DIGEST, DIGEST-VALUE, POPULATE, PROTOCOL,
//! QUICKLIST-PACKED-THRESHOLD, LISTPACK, QUICKLIST, HELP; and, answered as Redis answers but
//! with nothing to change here, SET-SKIP-CHECKSUM-VALIDATION, PAUSE-CRON and REPLYBUFFER.
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
    /// `DEBUG POPULATE count [prefix] [size]`: string keys `prefix:N` = `value:N`.
    Populate(Bytes, Option<Bytes>, Option<Bytes>),
    /// `DEBUG PROTOCOL type`: a test value of a RESP type.
    Protocol(Bytes),
    /// `DEBUG QUICKLIST-PACKED-THRESHOLD size`.
    QuicklistPackedThreshold(Bytes),
    /// `DEBUG LISTPACK key`.
    Listpack(Bytes),
    /// `DEBUG QUICKLIST key [0|1]`.
    Quicklist(Bytes),
    /// `DEBUG REPLYBUFFER PEAK-RESET-TIME never|reset|ms`: the value, if it must be a number.
    ReplyBufferPeak(Option<Bytes>),
    /// Accepted and answered OK as Redis does, with nothing to change here:
    /// SET-SKIP-CHECKSUM-VALIDATION, PAUSE-CRON, REPLYBUFFER RESIZING.
    Accepted,
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
            (b"POPULATE", [count]) => Debug::Populate(count.clone(), None, None),
            (b"POPULATE", [count, prefix]) => {
                Debug::Populate(count.clone(), Some(prefix.clone()), None)
            }
            (b"POPULATE", [count, prefix, size]) => {
                Debug::Populate(count.clone(), Some(prefix.clone()), Some(size.clone()))
            }
            (b"PROTOCOL", [kind]) => Debug::Protocol(kind.clone()),
            (b"QUICKLIST-PACKED-THRESHOLD", [size]) => {
                Debug::QuicklistPackedThreshold(size.clone())
            }
            (b"LISTPACK", [key]) => Debug::Listpack(key.clone()),
            (b"QUICKLIST", [key]) | (b"QUICKLIST", [key, _]) => Debug::Quicklist(key.clone()),
            (b"SET-SKIP-CHECKSUM-VALIDATION", [_]) | (b"PAUSE-CRON", [_]) => Debug::Accepted,
            (b"REPLYBUFFER", [what, value]) if what.eq_ignore_ascii_case(b"RESIZING") => {
                let _ = value;
                Debug::Accepted
            }
            (b"REPLYBUFFER", [what, value]) if what.eq_ignore_ascii_case(b"PEAK-RESET-TIME") => {
                if value.eq_ignore_ascii_case(b"never") || value.eq_ignore_ascii_case(b"reset") {
                    Debug::ReplyBufferPeak(None)
                } else {
                    Debug::ReplyBufferPeak(Some(value.clone()))
                }
            }
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
            Debug::Accepted => Ok(Some(Frame::OK)),
            Debug::ReplyBufferPeak(value) => {
                if let Some(v) = value {
                    crate::num::parse_i64(&v).ok_or(CmdError::NotInteger)?;
                }
                Ok(Some(Frame::OK))
            }
            Debug::Populate(count, prefix, size) => populate(ctx, &count, prefix, size),
            Debug::Protocol(kind) => protocol(ctx, &kind),
            Debug::QuicklistPackedThreshold(size) => match crate::db::memtoull(&size) {
                Some(n) if n <= (1u64 << 32) - (1 << 20) => Ok(Some(Frame::OK)),
                _ => Err(CmdError::err(
                    "argument must be a memory value bigger than 1 and smaller than 4gb",
                )),
            },
            Debug::Listpack(key) => encoded(ctx, &key, "listpack", "Listpack"),
            Debug::Quicklist(key) => encoded(ctx, &key, "quicklist", "Quicklist"),
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
                    "POPULATE <count> [<prefix>] [<size>]",
                    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
                    "    it is used instead of the 'key' prefix. These are not propagated to",
                    "    replicas. Cluster slots are not respected so keys not belonging to the",
                    "    current node can be created in cluster mode.",
                    "PROTOCOL <type>",
                    "    Reply with a test value of the specified type. <type> can be: string,",
                    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
                    "    true, false.",
                    "RELOAD",
                    "    Save the RDB on disk and reload it back to memory.",
                    "SET-ACTIVE-EXPIRE <0|1>",
                    "    Setting it to 0 disables expiring keys in background when they are not",
                    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                    "    default.",
                    "QUICKLIST-PACKED-THRESHOLD <size>",
                    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
                    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
                    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
                    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
                    "SLEEP <seconds>",
                    "    Stop the server for <seconds>. Decimals allowed.",
                    "LISTPACK <key>",
                    "    Show low level info about the listpack encoding of <key>.",
                    "QUICKLIST <key> [<0|1>]",
                    "    Show low level info about the quicklist encoding of <key>.",
                    "    The optional argument (0 by default) sets the level of detail",
                    "PAUSE-CRON <0|1>",
                    "    Stop periodic cron job processing.",
                    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
                    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
                    "    In case NEVER is provided the last observed peak will never be reset",
                    "    In case RESET is provided the peak reset time will be restored to the default value",
                    "REPLYBUFFER RESIZING <0|1>",
                    "    Enable or disable the reply buffer resize cron job",
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

/// DEBUG LISTPACK / QUICKLIST: Redis prints the structure on its stdout and says so; a
/// server here has no stdout to print to, so only the answer is Redis's.
fn encoded(ctx: &mut Ctx, key: &[u8], want: &str, title: &str) -> Result<Option<Frame>, CmdError> {
    let now = ctx.now_ms;
    let Some(value) = ctx.db().get(key, now) else {
        return Err(CmdError::err("no such key"));
    };
    if value.encoding_name() != want {
        return Err(CmdError::err(format_args!("Not a {want} encoded object.")));
    }
    Ok(Some(Frame::Simple(Bytes::from(format!(
        "{title} structure printed on stdout"
    )))))
}

/// Redis's `getPositiveLongFromObjectOrReply`.
fn positive(v: &[u8]) -> Result<u64, CmdError> {
    crate::num::parse_i64(v)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| CmdError::err("value is out of range, must be positive"))
}

/// `DEBUG POPULATE count [prefix] [size]`: `count` string keys `prefix:N` (`key:N` by
/// default) holding `value:N`, padded with zero bytes or cut to `size` bytes if given. Keys
/// that exist are left alone.
fn populate(
    ctx: &mut Ctx,
    count: &[u8],
    prefix: Option<Bytes>,
    size: Option<Bytes>,
) -> Result<Option<Frame>, CmdError> {
    let count = positive(count)?;
    let prefix = prefix.unwrap_or_else(|| Bytes::from_static(b"key"));
    let size = size.as_deref().map(positive).transpose()?;
    // A deliberate difference: Redis allocates whatever size it is told; a value larger
    // than a client could send (`proto-max-bulk-len`) is refused here instead.
    if size.is_some_and(|n| n > ctx.store.config().proto_max_bulk_len) {
        return Err(CmdError::err("value is out of range, must be positive"));
    }
    let now = ctx.now_ms;
    for j in 0..count {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{j}").as_bytes());
        if ctx.db().contains_key(&key, now) {
            continue;
        }
        let text = format!("value:{j}").into_bytes();
        let value = match size {
            None | Some(0) => text,
            Some(n) => {
                let n = usize::try_from(n)
                    .map_err(|_| CmdError::err("value is out of range, must be positive"))?;
                let mut v = vec![0u8; n];
                let m = n.min(text.len());
                v[..m].copy_from_slice(&text[..m]);
                v
            }
        };
        ctx.db().insert(&key, Value::str(&value), None, now);
    }
    Ok(Some(Frame::OK))
}

/// `DEBUG PROTOCOL type`: the test values of Redis's `debugCommand`.
fn protocol(ctx: &mut Ctx, kind: &[u8]) -> Result<Option<Frame>, CmdError> {
    let resp3 = ctx.conn.proto == Protocol::Resp3;
    let ints = || (0..3).map(Frame::Integer).collect::<Vec<_>>();
    let frame = match kind.to_ascii_lowercase().as_slice() {
        b"string" => Frame::bulk("Hello World"),
        b"integer" => Frame::Integer(12345),
        // Redis's test value, not π.
        #[allow(clippy::approx_constant)]
        b"double" => Frame::Double(3.141),
        b"bignum" => Frame::BigNumber(Bytes::from_static(b"1234567999999999999999999999999999999")),
        b"null" => Frame::Null,
        b"array" => Frame::Array(ints()),
        b"set" => Frame::Set(ints()),
        b"map" => Frame::Map(
            (0..3)
                .map(|j| (Frame::Integer(j), Frame::Boolean(j == 1)))
                .collect(),
        ),
        b"attrib" => Frame::Attribute {
            attrs: vec![(
                Frame::bulk("key-popularity"),
                Frame::Array(vec![Frame::bulk("key:123"), Frame::Integer(90)]),
            )],
            data: Box::new(Frame::bulk("Some real reply following the attribute")),
        },
        b"push" => {
            if !resp3 {
                return Err(CmdError::err("RESP2 is not supported by this command"));
            }
            ctx.reply(Frame::Push(vec![
                Frame::bulk("server-cpu-usage"),
                Frame::Integer(42),
            ]));
            Frame::bulk("Some real reply following the push reply")
        }
        b"verbatim" => Frame::Verbatim {
            format: *b"txt",
            data: Bytes::from_static(b"This is a verbatim\nstring"),
        },
        b"true" => Frame::Boolean(true),
        b"false" => Frame::Boolean(false),
        _ => {
            return Err(CmdError::err(
                "Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    };
    Ok(Some(frame))
}
