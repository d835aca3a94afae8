//! CLIENT: ID, GETNAME, SETNAME, INFO, LIST, KILL, NO-EVICT, REPLY, PAUSE, UNPAUSE, TRACKING,
//! CACHING, GETREDIR, TRACKINGINFO, HELP.
//!
//! CLIENT TRACKING keeps its state in the store (`db/tracking.rs`); the connection keeps
//! only what the executor asks per command (tracking on, CLIENT CACHING).
//!
//! CLIENT PAUSE only records the pause in the store (`db/pause.rs`); each session holds its
//! own commands back while it lasts (`Session::process`), this one's included, as in Redis.
//!
//! CLIENT LIST and INFO read the client registry ([`crate::db::Clients`]), which each
//! session brings up to date once per batch of commands and just before these run. CLIENT
//! KILL of another connection goes through the store's deliveries as a
//! [`crate::db::Message::Kill`]; killing one's own connection closes it after the reply.
//!
//! Redis 7.0 has no CLIENT SETINFO (7.2 added it; redis-py sends it and ignores the error):
//! like 7.0, we answer that it is an unknown subcommand.

use bytes::Bytes;

use super::command::{help, subcommand};
use super::executor::{ConnState, Ctx};
use super::{Args, CmdError};
use crate::db::{ClientId, ClientType, PauseKind, Store, TrackingOptions};
use crate::resp::{Frame, Protocol};

/// CLIENT REPLY: whether the connection gets replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies as usual.
    On,
    /// No replies (pub/sub messages still arrive).
    Off,
    /// No reply to the next command (this one's OK is not sent either).
    Skip,
    /// Set after SKIP's own command: the next reply is dropped.
    SkipNext,
}

/// `CLIENT <subcommand> …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    /// `CLIENT ID`.
    Id,
    /// `CLIENT GETNAME`.
    GetName,
    /// `CLIENT SETNAME name`.
    SetName(Bytes),
    /// `CLIENT INFO`.
    Info,
    /// `CLIENT LIST [TYPE type | ID id …]`.
    List(ListFilter),
    /// `CLIENT KILL addr:port` or `CLIENT KILL filter value …`.
    Kill(KillFilter),
    /// `CLIENT NO-EVICT ON|OFF`.
    NoEvict(bool),
    /// `CLIENT REPLY ON|OFF|SKIP`.
    Reply(ReplyMode),
    /// `CLIENT PAUSE timeout [WRITE|ALL]`: hold clients' commands (all, or those that
    /// write) for `timeout` milliseconds.
    Pause {
        /// Milliseconds, not negative.
        timeout_ms: i64,
        /// What is held (`ALL` by default).
        kind: PauseKind,
    },
    /// `CLIENT UNPAUSE`: end the pause; the held commands run.
    Unpause,
    /// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: end a blocked client's wait as if it timed out,
    /// or with an `-UNBLOCKED` error.
    Unblock {
        /// The client to unblock (any number: an unknown id replies 0).
        id: i64,
        /// `ERROR` rather than `TIMEOUT`.
        error: bool,
    },
    /// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p …] [BCAST] [OPTIN] [OPTOUT]
    /// [NOLOOP]`: the arguments after the subcommand, checked when it runs (REDIRECT must
    /// name a connected client).
    Tracking(Vec<Bytes>),
    /// `CLIENT CACHING YES|NO`.
    Caching(Bytes),
    /// `CLIENT GETREDIR`.
    GetRedir,
    /// `CLIENT TRACKINGINFO`.
    TrackingInfo,
    /// `CLIENT HELP`.
    Help,
}

/// Which clients CLIENT LIST shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListFilter {
    /// All.
    All,
    /// Of one type.
    Type(ClientType),
    /// With these ids.
    Ids(Vec<ClientId>),
}

/// Which clients CLIENT KILL closes: those matching every given filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KillFilter {
    /// The old form, `CLIENT KILL addr:port`: replies OK or an error, and may kill the caller.
    pub old_form: bool,
    /// `ID id`.
    pub id: Option<ClientId>,
    /// `TYPE type`.
    pub client_type: Option<ClientType>,
    /// `ADDR ip:port`.
    pub addr: Option<Bytes>,
    /// `LADDR ip:port`.
    pub laddr: Option<Bytes>,
    /// `SKIPME yes|no` (yes by default in the new form).
    pub skip_me: bool,
    /// `USER username`.
    pub user: Option<Bytes>,
}

impl Client {
    pub(crate) fn parse(args: &mut Args) -> Result<Client, CmdError> {
        let sub = args.peek().cloned().unwrap_or_default();
        let m = subcommand(args, "CLIENT")?;
        Ok(match m.name {
            "client|id" => Client::Id,
            "client|getname" => Client::GetName,
            "client|setname" => Client::SetName(args.required()?),
            "client|info" => Client::Info,
            "client|help" => Client::Help,
            "client|no-evict" => {
                let v = args.required()?;
                Client::NoEvict(on_off(&v).ok_or(CmdError::Syntax)?)
            }
            "client|reply" => {
                let v = args.required()?;
                Client::Reply(match v.to_ascii_uppercase().as_slice() {
                    b"ON" => ReplyMode::On,
                    b"OFF" => ReplyMode::Off,
                    b"SKIP" => ReplyMode::Skip,
                    _ => return Err(CmdError::Syntax),
                })
            }
            "client|list" => Client::List(parse_list(args.rest())?),
            "client|unpause" => Client::Unpause,
            "client|tracking" => Client::Tracking(args.rest()),
            "client|caching" => Client::Caching(args.required()?),
            "client|getredir" => Client::GetRedir,
            "client|trackinginfo" => Client::TrackingInfo,
            "client|pause" => parse_pause(&sub, args.rest())?,
            "client|unblock" => parse_unblock(&sub, args.rest())?,
            _ => Client::Kill(parse_kill(args.rest())?),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        match self {
            Client::Id => Ok(Frame::Integer(ctx.conn.id as i64)),
            Client::GetName => Ok(ctx.conn.name.clone().map_or(Frame::Null, Frame::Bulk)),
            Client::SetName(name) => ctx.conn.set_name(name).map(|()| Frame::OK),
            Client::NoEvict(on) => {
                ctx.conn.no_evict = on;
                Ok(Frame::OK)
            }
            Client::Reply(mode) => {
                // SKIP while OFF changes nothing, as in Redis.
                if !(mode == ReplyMode::Skip && ctx.conn.reply == ReplyMode::Off) {
                    ctx.conn.reply = mode;
                }
                Ok(Frame::OK)
            }
            Client::Info => {
                sync_self(ctx);
                let mut line = String::new();
                if let Some(c) = ctx.store.clients().get(ctx.conn.id) {
                    let t = ctx.store.tracking.get(ctx.conn.id);
                    c.write_line(ctx.conn.id, t, ctx.now_ms, &mut line);
                }
                line.push('\n');
                Ok(text_reply(line, ctx.conn.proto))
            }
            Client::List(filter) => {
                sync_self(ctx);
                let mut out = String::new();
                for (id, c) in ctx.store.clients().iter() {
                    let shown = match &filter {
                        ListFilter::All => true,
                        ListFilter::Type(t) => c.client_type() == *t,
                        ListFilter::Ids(ids) => ids.contains(&id),
                    };
                    if shown {
                        c.write_line(id, ctx.store.tracking.get(id), ctx.now_ms, &mut out);
                        out.push('\n');
                    }
                }
                Ok(text_reply(out, ctx.conn.proto))
            }
            Client::Kill(f) => kill(f, ctx),
            Client::Unblock { id, error } => {
                // Only a client waiting in a blocking command (BLPOP, XREAD BLOCK…) is
                // unblocked; a paused one is not, as in Redis.
                let done = u64::try_from(id).is_ok_and(|id| ctx.store.unblock_client(id, error));
                Ok(Frame::Integer(i64::from(done)))
            }
            Client::Pause { timeout_ms, kind } => {
                // Redis adds the timeout to the time in a signed 64-bit integer; past its
                // range the sum wraps to the past and pauses nothing.
                let end_ms = match timeout_ms {
                    0 => 0,
                    t => i64::try_from(ctx.now_ms)
                        .ok()
                        .and_then(|now| now.checked_add(t))
                        .map_or(0, |end| end as u64),
                };
                ctx.store.pause_clients(end_ms, kind, ctx.now_ms);
                Ok(Frame::OK)
            }
            Client::Unpause => {
                ctx.store.unpause_clients();
                Ok(Frame::OK)
            }
            Client::Tracking(rest) => tracking(rest, ctx),
            Client::Caching(v) => caching(&v, ctx),
            Client::GetRedir => Ok(Frame::Integer(
                ctx.store
                    .tracking
                    .get(ctx.conn.id)
                    .map_or(-1, |t| t.redirect as i64),
            )),
            Client::TrackingInfo => Ok(tracking_info(ctx)),
            Client::Help => Ok(help("CLIENT", HELP)),
        }
    }
}

/// CLIENT TRACKING, as Redis's `clientCommand`: the options are read first (REDIRECT's
/// client must exist now), then ON checks them against each other and the current mode.
fn tracking(rest: Vec<Bytes>, ctx: &mut Ctx) -> Result<Frame, CmdError> {
    let (mode, opts) = rest.split_first().expect("arity checked");
    let mut o = TrackingOptions::default();
    let mut i = 0;
    while i < opts.len() {
        let more = i + 1 < opts.len();
        let opt = opts[i].to_ascii_lowercase();
        match opt.as_slice() {
            b"redirect" if more => {
                i += 1;
                if o.redirect != 0 {
                    return Err(CmdError::err(
                        "A client can only redirect to a single other client",
                    ));
                }
                let id = super::parse_i64(&opts[i]).ok_or(CmdError::NotInteger)?;
                let exists = u64::try_from(id)
                    .ok()
                    .and_then(|id| ctx.store.clients().get(id))
                    .is_some_and(|c| !c.killed);
                if !exists {
                    return Err(CmdError::err(
                        "The client ID you want redirect to does not exist",
                    ));
                }
                o.redirect = id as ClientId;
            }
            b"bcast" => o.bcast = true,
            b"optin" => o.optin = true,
            b"optout" => o.optout = true,
            b"noloop" => o.noloop = true,
            b"prefix" if more => {
                i += 1;
                o.prefixes.push(opts[i].clone());
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    let id = ctx.conn.id;
    match mode.to_ascii_lowercase().as_slice() {
        b"on" => {
            ctx.store
                .tracking
                .check_enable(id, &o)
                .map_err(CmdError::err)?;
            ctx.conn.tracking = !o.bcast;
            ctx.store.enable_tracking(id, o);
        }
        b"off" => {
            ctx.store.disable_tracking(id);
            ctx.conn.tracking = false;
            ctx.conn.caching = false;
        }
        _ => return Err(CmdError::Syntax),
    }
    Ok(Frame::OK)
}

/// CLIENT CACHING YES|NO: the next command's reads are remembered (OPTIN) or not (OPTOUT).
fn caching(v: &[u8], ctx: &mut Ctx) -> Result<Frame, CmdError> {
    let Some(t) = ctx.store.tracking.get(ctx.conn.id) else {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with \
             OPTIN or OPTOUT mode enabled",
        ));
    };
    if v.eq_ignore_ascii_case(b"yes") {
        if !t.optin {
            return Err(CmdError::err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if v.eq_ignore_ascii_case(b"no") {
        if !t.optout {
            return Err(CmdError::err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.conn.caching = true;
    Ok(Frame::OK)
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes, in Redis's order.
fn tracking_info(ctx: &mut Ctx) -> Frame {
    let bulk = |s: &'static str| Frame::Bulk(Bytes::from_static(s.as_bytes()));
    let t = ctx.store.tracking.get(ctx.conn.id);
    let mut flags = Vec::new();
    let (redirect, prefixes) = match t {
        None => {
            flags.push(bulk("off"));
            (-1, Vec::new())
        }
        Some(t) => {
            flags.push(bulk("on"));
            if t.bcast {
                flags.push(bulk("bcast"));
            }
            if t.optin {
                flags.push(bulk("optin"));
                if ctx.conn.caching {
                    flags.push(bulk("caching-yes"));
                }
            }
            if t.optout {
                flags.push(bulk("optout"));
                if ctx.conn.caching {
                    flags.push(bulk("caching-no"));
                }
            }
            if t.noloop {
                flags.push(bulk("noloop"));
            }
            if t.broken_redirect {
                flags.push(bulk("broken_redirect"));
            }
            let prefixes = t.prefixes.iter().cloned().map(Frame::Bulk).collect();
            (t.redirect as i64, prefixes)
        }
    };
    Frame::Map(vec![
        (bulk("flags"), Frame::Set(flags)),
        (bulk("redirect"), Frame::Integer(redirect)),
        (bulk("prefixes"), Frame::Array(prefixes)),
    ])
}

fn on_off(v: &[u8]) -> Option<bool> {
    if v.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if v.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        None
    }
}

/// A multi-line text reply: a verbatim `txt` string in RESP3, a bulk string in RESP2.
pub(crate) fn text_reply(text: String, proto: Protocol) -> Frame {
    let data = Bytes::from(text);
    match proto {
        Protocol::Resp3 => Frame::Verbatim {
            format: *b"txt",
            data,
        },
        Protocol::Resp2 => Frame::Bulk(data),
    }
}

fn parse_list(rest: Vec<Bytes>) -> Result<ListFilter, CmdError> {
    match rest.as_slice() {
        [] => Ok(ListFilter::All),
        [t, name] if t.eq_ignore_ascii_case(b"TYPE") => {
            Ok(ListFilter::Type(ClientType::parse(name)?))
        }
        [id, ids @ ..] if id.eq_ignore_ascii_case(b"ID") && !ids.is_empty() => ids
            .iter()
            .map(|i| {
                super::parse_i64(i)
                    .map(|n| n as ClientId)
                    .ok_or_else(|| CmdError::err("Invalid client ID"))
            })
            .collect::<Result<_, _>>()
            .map(ListFilter::Ids),
        _ => Err(CmdError::Syntax),
    }
}

/// `id [TIMEOUT|ERROR]`, checked in Redis's order: the count, the reason, then the id.
fn parse_unblock(sub: &[u8], rest: Vec<Bytes>) -> Result<Client, CmdError> {
    let (id, error) = match rest.as_slice() {
        [id] => (id, false),
        [id, r] if r.eq_ignore_ascii_case(b"timeout") => (id, false),
        [id, r] if r.eq_ignore_ascii_case(b"error") => (id, true),
        [_, _] => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => {
            return Err(CmdError::err(format_args!(
                "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(sub)
            )))
        }
    };
    let id = super::parse_i64(id).ok_or(CmdError::NotInteger)?;
    Ok(Client::Unblock { id, error })
}

/// `timeout [WRITE|ALL]`, checked in Redis's order: the count, the mode, then the timeout.
fn parse_pause(sub: &[u8], rest: Vec<Bytes>) -> Result<Client, CmdError> {
    let (timeout, kind) = match rest.as_slice() {
        [t] => (t, PauseKind::All),
        [t, mode] if mode.eq_ignore_ascii_case(b"write") => (t, PauseKind::Write),
        [t, mode] if mode.eq_ignore_ascii_case(b"all") => (t, PauseKind::All),
        [_, _] => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
        _ => {
            return Err(CmdError::err(format_args!(
                "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(sub)
            )))
        }
    };
    let timeout_ms = super::parse_i64(timeout)
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if timeout_ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    Ok(Client::Pause { timeout_ms, kind })
}

fn parse_kill(rest: Vec<Bytes>) -> Result<KillFilter, CmdError> {
    if let [addr] = rest.as_slice() {
        return Ok(KillFilter {
            old_form: true,
            addr: Some(addr.clone()),
            ..KillFilter::default()
        });
    }
    if rest.len() < 2 {
        return Err(CmdError::Syntax);
    }
    let mut f = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let mut it = rest.chunks(2);
    for pair in &mut it {
        let [opt, value] = pair else {
            return Err(CmdError::Syntax);
        };
        match opt.to_ascii_uppercase().as_slice() {
            b"ID" => {
                let id = super::parse_i64(value)
                    .filter(|&n| n > 0)
                    .ok_or_else(|| CmdError::err("client-id should be greater than 0"))?;
                f.id = Some(id as ClientId);
            }
            b"TYPE" => f.client_type = Some(ClientType::parse(value)?),
            b"ADDR" => f.addr = Some(value.clone()),
            b"LADDR" => f.laddr = Some(value.clone()),
            b"USER" => f.user = Some(value.clone()),
            b"SKIPME" => {
                f.skip_me = match value.to_ascii_lowercase().as_slice() {
                    b"yes" => true,
                    b"no" => false,
                    _ => return Err(CmdError::Syntax),
                }
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    Ok(f)
}

fn kill(f: KillFilter, ctx: &mut Ctx) -> Result<Frame, CmdError> {
    if let Some(user) = &f.user {
        if ctx.store.acl_mut().user(user).is_none() {
            return Err(CmdError::err(format_args!(
                "No such user '{}'",
                String::from_utf8_lossy(user)
            )));
        }
    }
    sync_self(ctx);
    let me = ctx.conn.id;
    let victims: Vec<ClientId> = ctx
        .store
        .clients()
        .iter()
        .filter(|(id, c)| {
            f.addr
                .as_ref()
                .map_or(true, |a| a.as_ref() == c.conn.addr.as_bytes())
                && f.laddr
                    .as_ref()
                    .map_or(true, |a| a.as_ref() == c.conn.laddr.as_bytes())
                && f.client_type.map_or(true, |t| c.client_type() == t)
                && f.id.map_or(true, |want| want == *id)
                && f.user.as_ref().map_or(true, |u| {
                    let name: &[u8] = if c.user.is_empty() {
                        b"default"
                    } else {
                        &c.user
                    };
                    u.as_ref() == name
                })
                && !(*id == me && (f.skip_me && !f.old_form))
        })
        .map(|(id, _)| id)
        .collect();
    for &id in &victims {
        if id == me {
            // Closed once this reply is out, as Redis's CLIENT_CLOSE_AFTER_REPLY.
            ctx.conn.close_after_reply = true;
        } else {
            ctx.store.kill_client(id);
        }
    }
    if f.old_form {
        return if victims.is_empty() {
            Err(CmdError::err("No such client"))
        } else {
            Ok(Frame::OK)
        };
    }
    Ok(Frame::Integer(victims.len() as i64))
}

/// Copies what others may ask about this connection into its registry entry.
pub(crate) fn sync(conn: &ConnState, store: &mut Store, output_bytes: usize, now_ms: u64) {
    let dirty =
        !conn.watched.is_empty() && store.watch_is_dirty(conn.id, std::iter::empty(), now_ms);
    let c = store.clients_mut().entry(conn.id, now_ms);
    c.name.clone_from(&conn.name);
    c.db = conn.db;
    c.resp = if conn.proto == Protocol::Resp3 { 3 } else { 2 };
    c.sub = conn.channels.len();
    c.psub = conn.patterns.len();
    c.multi = conn.multi.as_ref().map_or(-1, |m| m.queued.len() as i64);
    c.no_evict = conn.no_evict;
    // Held by CLIENT PAUSE counts as blocked, as Redis's BLOCKED_POSTPONE (flag `b`).
    c.blocked = conn.blocked || conn.held.is_some();
    c.dirty_cas = dirty;
    c.output_bytes = output_bytes;
    c.cmd = conn.last_cmd;
    if c.user != conn.user {
        c.user.clone_from(&conn.user);
    }
}

fn sync_self(ctx: &mut Ctx) {
    let out = ctx.output_len();
    sync(ctx.conn, ctx.store, out, ctx.now_ms);
}

const HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];
