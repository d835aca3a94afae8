//! The executor: runs one request for a caller — a client's connection, EXEC, AOF replay —
//! with no connection of its own.
//!
//! [`execute`] is the one entry point. It looks the command up, admits it in Redis 7.0's
//! order (`processCommand`), queues it if the caller is in MULTI, runs it, logs its effect,
//! serves the clients its writes unblocked, and counts it in INFO's statistics. It returns a
//! typed [`Outcome`]: nobody reads the reply bytes to learn how a command went.
//!
//! The caller owns the reply buffer and the connection's state ([`ConnState`]) and says what
//! it is with a [`Caller`]; the session (`session.rs`) is one such caller, AOF replay
//! ([`super::replay_aof`]) another.

use std::collections::HashSet;

use bytes::{Bytes, BytesMut};

use super::tx::{Exec, MultiState, Queued, WatchedKeys};
use super::{CmdError, Command, CommandSpec, ReplyMode, Resolved};
use crate::db::{ClientId, Db, PauseKind, Store, Value};
use crate::resp::{encode, encode_array_len, Frame, Protocol};

/// Who runs a command, and so which admission checks and statistics apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The server itself (AOF replay): trusted, so no AUTH, CLIENT PAUSE, `maxmemory` or
    /// disk-error refusals, and not counted in INFO's statistics.
    pub internal: bool,
    /// Blocking commands reply as a timeout at once instead of waiting (Redis's
    /// `CLIENT_DENY_BLOCKING`): nothing would ever wake the caller.
    pub deny_blocking: bool,
    /// A script's `redis.call`: admitted by the script's own checks (`cmd/script.rs`) and
    /// counted in INFO as Redis counts them, but part of the script's execution unit —
    /// its effects are wrapped with the script's, and blocked clients are served after the
    /// script, not in the middle of it.
    pub script: bool,
}

impl Caller {
    /// A client's request, from its connection.
    pub const CLIENT: Caller = Caller {
        internal: false,
        deny_blocking: false,
        script: false,
    };
    /// A command of the append-only file, replayed at start-up.
    pub const AOF: Caller = Caller {
        internal: true,
        deny_blocking: true,
        script: false,
    };
    /// A command of the replication stream, from this replica's master: trusted, and
    /// exempt from `replica-read-only`.
    pub const MASTER: Caller = Caller {
        internal: true,
        deny_blocking: true,
        script: false,
    };
    /// A command a script runs.
    pub const SCRIPT: Caller = Caller {
        internal: false,
        deny_blocking: true,
        script: true,
    };
}

/// How a request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It ran and replied (or will: DEBUG SLEEP).
    Ok,
    /// It ran and replied this error.
    Failed(CmdError),
    /// It was refused before running (unknown command, arity, NOAUTH, OOM, MISCONF, pub/sub
    /// context, not allowed in MULTI) with this error, already replied.
    Rejected(CmdError),
    /// It was queued in MULTI (`+QUEUED` replied).
    Queued,
    /// CLIENT PAUSE holds it back: [`ConnState::held`] keeps the request until the pause
    /// ends. Nothing was replied.
    Held,
    /// It blocked on keys (BLPOP…): the reply comes later as a delivery.
    Blocked,
    /// QUIT: `+OK` replied, the connection must close.
    Quit,
    /// SHUTDOWN: the server must stop.
    Shutdown,
}

impl Outcome {
    /// The error replied, for INFO errorstats.
    fn error(&self) -> Option<&CmdError> {
        match self {
            Outcome::Failed(e) | Outcome::Rejected(e) => Some(e),
            _ => None,
        }
    }
}

/// What the commands may change about their own connection.
#[derive(Debug)]
pub(crate) struct ConnState {
    pub id: ClientId,
    pub proto: Protocol,
    pub db: usize,
    pub name: Option<Bytes>,
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    /// Between MULTI and EXEC/DISCARD.
    pub multi: Option<MultiState>,
    /// Keys this connection WATCHes, registered in their databases too.
    pub watched: WatchedKeys,
    /// AUTH passed, or no password was required when it connected (or last RESET).
    pub authenticated: bool,
    /// The user it is authenticated as (`default` until AUTH says otherwise).
    pub user: Bytes,
    /// That the user was allowed everything, as of this ACL epoch (see
    /// [`super::acl::check_request`]).
    pub acl_allowed: (u64, usize),
    /// CLIENT REPLY.
    pub reply: ReplyMode,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
    /// The command running or last run, as INFO commandstats names it (`client|list`).
    pub last_cmd: &'static str,
    /// DEBUG SLEEP: execute nothing more, and write its OK, once this time has come.
    pub sleep_until_ms: Option<u64>,
    /// CLIENT KILL of this very connection: close once the reply is queued.
    pub close_after_reply: bool,
    /// Blocked by BLPOP & co.: executes nothing until a [`crate::db::Message::Unblocked`]
    /// arrives.
    pub blocked: bool,
    /// A request CLIENT PAUSE holds back, and the pause's end when it was held: executes
    /// nothing until the pause is over.
    pub held: Option<(Vec<Bytes>, u64)>,
    /// CLIENT TRACKING is on, not in BCAST mode: the keys of its reads are remembered.
    pub tracking: bool,
    /// CLIENT CACHING yes (OPTIN) or no (OPTOUT), for the next command (or transaction).
    pub caching: bool,
    /// PSYNC or SYNC made this connection a replica: it gets the stream, no replies.
    pub replica: bool,
    /// REPLCONF listening-port and ip-address, for INFO and ROLE once it is a replica.
    pub repl_port: u16,
    /// See `repl_port`.
    pub repl_ip: Option<String>,
}

impl ConnState {
    /// A new connection's state: RESP2, database 0, authenticated (the session decides
    /// otherwise at its first request if a password is set).
    pub fn new(id: ClientId) -> ConnState {
        ConnState {
            id,
            proto: Protocol::Resp2,
            db: 0,
            name: None,
            channels: HashSet::new(),
            patterns: HashSet::new(),
            multi: None,
            watched: WatchedKeys::new(),
            authenticated: true,
            user: Bytes::from_static(b"default"),
            acl_allowed: (0, 0),
            reply: ReplyMode::On,
            no_evict: false,
            last_cmd: "",
            sleep_until_ms: None,
            close_after_reply: false,
            blocked: false,
            held: None,
            tracking: false,
            caching: false,
            replica: false,
            repl_port: 0,
            repl_ip: None,
        }
    }

    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    pub fn is_subscribed(&self) -> bool {
        self.subscription_count() > 0
    }

    pub fn set_name(&mut self, name: Bytes) -> Result<(), CmdError> {
        // Names show up in CLIENT LIST, space-separated: Redis allows only '!' to '~'.
        if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
            return Err(CmdError::err(
                "Client names cannot contain spaces, newlines or special characters.",
            ));
        }
        self.name = (!name.is_empty()).then(|| Bytes::copy_from_slice(&name));
        Ok(())
    }
}

/// How a command's change goes to the store's effects log (see [`crate::db::Effect`]).
#[derive(Debug, Default)]
pub(crate) enum Propagation {
    /// The request as sent, if the command wrote anything.
    #[default]
    AsSent,
    /// The request as sent, even if nothing changed (FLUSHDB on an empty database).
    Always,
    /// These commands instead (none: nothing to log).
    Replace(Vec<Vec<Bytes>>),
}

/// What a command sees while it runs: the store, its caller's connection, the time, and
/// where its reply goes.
pub(crate) struct Ctx<'a> {
    pub store: &'a mut Store,
    pub conn: &'a mut ConnState,
    pub now_ms: u64,
    /// True while EXEC runs the queued commands.
    pub in_exec: bool,
    caller: Caller,
    out: &'a mut BytesMut,
    propagation: Propagation,
    /// The failed command's error was counted in errorstats already (a script's error from
    /// `redis.call`): count it in `failed_calls` only.
    error_counted: bool,
    /// Replies that continue where `out` stood when they were handed over (see
    /// [`super::reply_stream`]), in order.
    streams: Vec<(usize, super::reply_stream::ReplyStream)>,
}

impl<'a> Ctx<'a> {
    /// A context for `caller` running commands against `store` on behalf of `conn`, with
    /// replies appended to `out`.
    pub fn new(
        store: &'a mut Store,
        conn: &'a mut ConnState,
        now_ms: u64,
        out: &'a mut BytesMut,
        caller: Caller,
    ) -> Ctx<'a> {
        Ctx {
            store,
            conn,
            now_ms,
            in_exec: false,
            caller,
            out,
            propagation: Propagation::AsSent,
            error_counted: false,
            streams: Vec::new(),
        }
    }
}

impl Ctx<'_> {
    /// True if a blocking command may wait: not inside EXEC, and the caller can be woken.
    pub fn may_block(&self) -> bool {
        !self.in_exec && !self.caller.deny_blocking
    }

    /// True if the store keeps an effects log: commands that rewrite their effect
    /// ([`Ctx::propagate`]) build it only then, so the log costs nothing when off.
    pub fn logging(&self) -> bool {
        self.store.effects_enabled()
    }

    /// Logs `args` as (one of) this command's effects instead of the request as sent. Call
    /// only when the command changed something, and only if [`Ctx::logging`].
    pub fn propagate(&mut self, args: Vec<Bytes>) {
        match &mut self.propagation {
            Propagation::Replace(ops) => ops.push(args),
            p => *p = Propagation::Replace(vec![args]),
        }
    }

    /// Logs nothing for the request itself (EVAL: the script's commands log their own).
    pub fn propagate_nothing(&mut self) {
        self.propagation = Propagation::Replace(Vec::new());
    }

    /// The server itself runs the command (AOF replay): trusted, so no time limits apply to
    /// it (Redis's `mustObeyClient`).
    pub fn is_internal(&self) -> bool {
        self.caller.internal
    }

    /// The error this command fails with was counted in errorstats already.
    pub fn error_already_counted(&mut self) {
        self.error_counted = true;
    }

    /// Logs the request as sent even if it changed nothing.
    pub fn force_propagation(&mut self) {
        self.propagation = Propagation::Always;
    }

    /// Reports a key event of the selected database (see [`Store::notify`]): `class` from
    /// [`crate::db::notify`], `event` Redis's name for it. Call it where Redis's command
    /// calls `notifyKeyspaceEvent`, in the same order.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        self.store.notify(class, event, key, self.conn.db);
    }

    /// Makes the running write command's lookups count as reads (keyspace hits and misses,
    /// `keymiss`), for the writes Redis implements with a read lookup: SET … GET, GETDEL,
    /// GETEX.
    pub fn read_lookups(&mut self) {
        self.store.write_lookups = false;
    }

    /// The connection's selected database.
    pub fn db(&mut self) -> &mut Db {
        self.store.db(self.conn.db)
    }

    /// Runs `f` on the live value of `key` in the selected database, with the output buffer
    /// and protocol, for replies written straight from the stored bytes.
    pub fn with_value<R>(
        &mut self,
        key: &[u8],
        f: impl FnOnce(Option<&Value>, &mut BytesMut, Protocol) -> R,
    ) -> R {
        let value = self.store.db(self.conn.db).get(key, self.now_ms);
        f(value, self.out, self.conn.proto)
    }

    /// Queues one reply frame, written in the connection's protocol.
    pub fn reply(&mut self, frame: Frame) {
        encode(&frame, self.conn.proto, self.out);
    }

    /// True if the caller can take a reply in pieces ([`Ctx::stream_reply`]): a client's
    /// connection, whose session writes them out. A script or AOF replay reads the reply
    /// whole.
    pub fn may_stream(&self) -> bool {
        self.caller == Caller::CLIENT
    }

    /// The reply goes on with `stream`, from where the output stands now: whatever is
    /// written after this follows the stream's last piece. Only if [`Ctx::may_stream`].
    pub fn stream_reply(&mut self, stream: super::reply_stream::ReplyStream) {
        debug_assert!(self.may_stream());
        self.streams.push((self.out.len(), stream));
    }

    /// The replies handed over with [`Ctx::stream_reply`], with the output offset each one
    /// continues from.
    pub fn take_streams(&mut self) -> Vec<(usize, super::reply_stream::ReplyStream)> {
        std::mem::take(&mut self.streams)
    }

    /// Reply bytes queued and not yet written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// The output buffer with the connection's protocol, for replies written element by
    /// element.
    pub(crate) fn out(&mut self) -> super::reply::Out<'_> {
        super::reply::Out {
            buf: self.out,
            proto: self.conn.proto,
        }
    }

    /// The selected database and the output, for replies written straight from a stored
    /// value.
    pub(crate) fn db_out(&mut self) -> (&mut Db, super::reply::Out<'_>) {
        let out = super::reply::Out {
            buf: self.out,
            proto: self.conn.proto,
        };
        (self.store.db(self.conn.db), out)
    }
}

/// Runs one request (`args[0]` is the command name) for the caller of `ctx`, and replies
/// into its output unless the outcome is [`Outcome::Held`].
///
/// Admission follows Redis 7.0's `processCommand`, first refusal wins: unknown command or
/// subcommand → arity → NOAUTH → not allowed in MULTI → ACL (`-NOPERM`, logged) →
/// OOM over `maxmemory` → MISCONF while the disk fails → RESP2 pub/sub context → CLIENT
/// PAUSE. Then a connection in MULTI queues the command, or it runs.
pub(crate) fn execute(ctx: &mut Ctx, args: Vec<Bytes>) -> Outcome {
    // One lookup gives everything asked of the command below.
    let resolved = super::resolve(&args[0]);
    let stat = resolved.and_then(|r| r.stat_name(&args));
    ctx.store.sync_key_events();
    if !ctx.caller.internal {
        ctx.store.limit_tracking();
    }
    // Invalidations for keys this caller changes wait for its reply (and NOLOOP skips
    // them); a script's commands keep their caller's.
    let current = if ctx.caller.internal {
        None
    } else {
        Some(ctx.conn.id)
    };
    let outer_current = std::mem::replace(&mut ctx.store.tracking.current, current);
    ctx.store.write_lookups = resolved.is_some_and(|r| r.write);
    if let Some(name) = stat {
        ctx.conn.last_cmd = name;
    }
    // Lookups by writing commands are not reads (Redis counts `lookupKeyRead` only).
    let db = ctx.conn.db;
    let reads = resolved
        .filter(|r| r.write)
        .map(|_| ctx.store.db(db).hits_misses());
    let outcome = admit_and_run(ctx, args, resolved, stat);
    if let Some(counts) = reads.filter(|_| ctx.store.write_lookups) {
        ctx.store.db(db).set_hits_misses(counts);
    }
    if !ctx.caller.internal {
        let counted = std::mem::take(&mut ctx.error_counted);
        count(ctx.store, stat, &outcome, counted);
    }
    ctx.store.tracking.current = outer_current;
    // CLIENT CACHING lasts for one command, or one transaction (Redis's `resetClient`).
    if ctx.conn.caching
        && ctx.conn.multi.is_none()
        && outcome != Outcome::Held
        && !resolved.is_some_and(|r| r.spec.name == "client")
    {
        ctx.conn.caching = false;
    }
    outcome
}

/// INFO's statistics for one request: commandstats, errorstats, `total_commands_processed`.
fn count(store: &mut Store, stat: Option<&'static str>, outcome: &Outcome, counted: bool) {
    let rejected = match outcome {
        // Counted when EXEC runs it, or when the pause lets it run.
        Outcome::Queued | Outcome::Held => return,
        Outcome::Rejected(_) => true,
        _ => false,
    };
    if !rejected {
        // As Redis's `stat_numcommands`: commands that ran, not those refused or queued.
        store.commands_processed += 1;
    }
    let code = outcome.error().map(|e| e.code().as_bytes());
    match stat {
        Some(name) => store.stats_mut().record(name, rejected, code, counted),
        None => {
            if let Some(code) = code.filter(|_| !counted) {
                store.stats_mut().record_error(code);
            }
        }
    }
}

/// Why a request does not run now.
enum Refusal {
    /// Refused with this error.
    Reject(CmdError),
    /// Held by CLIENT PAUSE until this time.
    Hold(u64),
}

impl From<CmdError> for Refusal {
    fn from(e: CmdError) -> Refusal {
        Refusal::Reject(e)
    }
}

fn admit_and_run(
    ctx: &mut Ctx,
    args: Vec<Bytes>,
    resolved: Option<&'static Resolved>,
    stat: Option<&'static str>,
) -> Outcome {
    let spec = match admit(ctx, &args, resolved, stat) {
        Ok(spec) => spec,
        Err(Refusal::Hold(end)) => {
            ctx.store.hold_client(ctx.conn.id);
            ctx.conn.held = Some((args, end));
            return Outcome::Held;
        }
        Err(Refusal::Reject(e)) => return reject(ctx, &args, e),
    };
    // The request is kept for the effects log only when there is one.
    let raw = ctx.store.effects_enabled().then(|| args.clone());
    // A tracking client's reads: their keys are remembered once the command ran.
    let tracked = if ctx.conn.tracking {
        tracked_keys(resolved, stat, &args)
    } else {
        None
    };
    // The request as sent, for the slow log and MONITOR once it ran.
    let observed =
        (stat.is_some() && !ctx.caller.internal && ctx.store.wants_call_args()).then(|| {
            let mut kept = ctx.store.observe.take_args_buf();
            kept.extend_from_slice(&args);
            kept
        });
    if let Some(multi) = &mut ctx.conn.multi {
        if !spec.skips_queue() {
            // Nothing more is kept once the transaction is doomed, as in Redis.
            if !multi.aborted {
                multi.queued.push(Queued {
                    args: args.clone(),
                    cmd: spec.parse(args),
                    raw,
                    stat: stat.filter(|_| !ctx.caller.internal),
                    tracked,
                    observed,
                });
            }
            ctx.reply(Frame::simple("QUEUED"));
            return Outcome::Queued;
        }
    }
    let cmd = spec.parse(args);
    before_call(ctx, stat, observed.as_deref());
    let start_us = ctx.store.monotonic_us();
    if ctx.caller.script {
        // Part of the script's unit: its effects are wrapped, and clients served, with it.
        let outcome = run(cmd, raw, ctx);
        after_call(ctx, stat, observed.as_deref(), start_us, &outcome);
        ctx.store.flush_key_events();
        if let Some(keys) = tracked {
            remember(ctx, &keys);
        }
        return outcome;
    }
    let unit = ctx.store.begin_effects_unit();
    let outcome = run(cmd, raw, ctx);
    after_call(ctx, stat, observed.as_deref(), start_us, &outcome);
    if let Some(kept) = observed {
        ctx.store.observe.put_args_buf(kept);
    }
    ctx.store.end_effects_unit(unit);
    // Clients blocked on keys this command (or transaction) filled are served now, before
    // any other command, as in Redis.
    super::blocking::serve_ready(ctx.store, ctx.now_ms);
    // Once, after serving: the command's own keyspace events were already handed on —
    // by `run` when there is an effects log (inside the unit, so their DELs go with it),
    // and by the first event a served client publishes otherwise — so this flush keeps
    // the order and costs one pass per command.
    ctx.store.flush_key_events();
    if let Some(keys) = tracked {
        remember(ctx, &keys);
    }
    outcome
}

/// The keys a read by a tracking client makes it remember (Redis's `trackingRememberKeys`,
/// for commands flagged `readonly`), or `None` for a command that does not read.
#[cold]
fn tracked_keys(
    resolved: Option<&'static Resolved>,
    stat: Option<&'static str>,
    args: &[Bytes],
) -> Option<Vec<Bytes>> {
    let r = resolved?;
    let name = stat?;
    let readonly = if r.container {
        super::command::meta(name).is_some_and(|m| m.flags.contains(&"readonly"))
    } else {
        r.readonly
    };
    readonly.then(|| super::command::keys_of(name, args))
}

/// Remembers `keys` for the running tracking client, after its command's own changes were
/// handed on (so that a read that expired a key invalidates it first, then remembers it).
fn remember(ctx: &mut Ctx, keys: &[Bytes]) {
    if !keys.is_empty() {
        let (id, caching) = (ctx.conn.id, ctx.conn.caching);
        ctx.store.tracking.remember(id, caching, keys);
    }
}

/// The admission checks of [`execute`], in its order.
fn admit(
    ctx: &mut Ctx,
    args: &[Bytes],
    resolved: Option<&'static Resolved>,
    stat: Option<&'static str>,
) -> Result<&'static CommandSpec, Refusal> {
    let spec = super::check(resolved.map(|r| r.spec), args)?;
    let r = resolved.expect("check passed");
    if r.container {
        match stat {
            // The subcommand's own parser words the error (`unknown subcommand 'x'. Try
            // CONFIG HELP.`); this is the error path only, so the copy is no cost.
            None => {
                let e = spec.parse(args.to_vec()).err();
                return Err(Refusal::Reject(e.unwrap_or(CmdError::Syntax)));
            }
            Some(name) if super::checked_name(name, args).is_none() => {
                return Err(Refusal::Reject(CmdError::WrongArity(name)));
            }
            Some(_) => {}
        }
    }
    // A script's commands passed the script's checks (`cmd/script.rs`) and run under
    // its EVAL's admission: no AUTH, OOM, MISCONF or pause of their own.
    let trusted = ctx.caller.internal || ctx.caller.script;
    if !trusted && !ctx.conn.authenticated && !r.no_auth {
        let e = CmdError::Other("NOAUTH Authentication required.".into());
        return Err(Refusal::Reject(e));
    }
    if ctx.conn.multi.is_some() && !spec.allowed_in_multi() {
        return Err(Refusal::Reject(CmdError::err(
            "Command not allowed inside a transaction",
        )));
    }
    if !trusted {
        if let Err((denial, pos, id)) =
            super::acl_check(ctx.store, &ctx.conn.user, &mut ctx.conn.acl_allowed, args)
        {
            let context = if ctx.conn.multi.is_some() {
                "multi"
            } else {
                "toplevel"
            };
            let object = super::denied_object(denial, pos, id, args);
            super::record_denial(
                ctx,
                super::DenialRecord {
                    denial,
                    context,
                    object,
                    username: None,
                },
            );
            let text = match denial {
                crate::acl::Denial::Command => format!(
                    "NOPERM this user has no permissions to run the '{}' command",
                    crate::acl::command_name(id)
                ),
                crate::acl::Denial::Key => "NOPERM this user has no permissions to access one of the keys used as arguments".into(),
                _ => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
            };
            return Err(Refusal::Reject(CmdError::Other(text)));
        }
    }
    let store = &mut *ctx.store;
    let queued = |pred: fn(&str) -> bool| {
        spec.name == "exec"
            && ctx
                .conn
                .multi
                .as_ref()
                .is_some_and(|m| m.queued.iter().any(|q| q.stat.is_some_and(pred)))
    };
    if !trusted {
        // With `maxmemory` set, keys are evicted first (`db/evict.rs`); if that cannot get
        // under the limit, commands that may grow memory are refused, and so is queuing in
        // MULTI.
        if store.config().maxmemory > 0
            && store.perform_evictions(ctx.now_ms) == crate::db::Eviction::Fail
        {
            let in_multi = ctx.conn.multi.is_some()
                && !matches!(spec.name, "exec" | "discard" | "quit" | "reset");
            if in_multi || r.denyoom {
                return Err(Refusal::Reject(CmdError::Other(
                    "OOM command not allowed when used memory > 'maxmemory'.".into(),
                )));
            }
        }
        // While the disk fails (a full disk under the AOF, a failed BGSAVE), writes are
        // refused — and PING, as Redis does, so that health checks notice — while reads go
        // on. EXEC counts as a write if it would run one.
        if let Some(error) = store.disk_error() {
            let name = stat.unwrap_or(spec.name);
            if super::is_write(name) || name == "ping" || queued(super::is_write) {
                return Err(Refusal::Reject(CmdError::Other(error)));
            }
        }
        if store.repl_write_gate() {
            replication_gate(
                store,
                ctx.now_ms,
                r,
                stat.unwrap_or(spec.name),
                queued(super::is_write),
            )?;
        }
    }
    // A connection in MONITOR mode is a replica to Redis: it may not touch the keyspace.
    if !ctx.caller.internal && !ctx.caller.script && ctx.store.is_monitor(ctx.conn.id) {
        let name = stat.unwrap_or(spec.name);
        if r.write || r.readonly || super::may_replicate(name) {
            return Err(Refusal::Reject(CmdError::err(
                "Replica can't interact with the keyspace",
            )));
        }
    }
    if ctx.conn.is_subscribed() && ctx.conn.proto == Protocol::Resp2 && !spec.pubsub_ok {
        // Redis names the subcommand: `pubsub|numpat`.
        return Err(Refusal::Reject(CmdError::NotInPubSubContext(
            stat.unwrap_or(spec.name),
        )));
    }
    if !trusted {
        // CLIENT PAUSE holds everything (`ALL`) or what writes or may replicate, EXEC of
        // such a transaction included (`WRITE`).
        if let Some((end, kind)) = ctx.store.client_pause(ctx.now_ms) {
            let name = stat.unwrap_or(spec.name);
            let held = match kind {
                PauseKind::All => true,
                PauseKind::Write => super::may_replicate(name) || queued(super::may_replicate),
            };
            if held {
                return Err(Refusal::Hold(end));
            }
        }
    }
    Ok(spec)
}

/// Replication's refusals of writes: `-NOREPLICAS` under `min-replicas-to-write`,
/// `-READONLY` on a read-only replica.
#[cold]
fn replication_gate(
    store: &Store,
    now_ms: u64,
    r: &Resolved,
    name: &str,
    queued_write: bool,
) -> Result<(), Refusal> {
    let write = r.write || (r.container && super::is_write(name)) || queued_write;
    if !write {
        return Ok(());
    }
    if store.too_few_replicas(now_ms) {
        return Err(Refusal::Reject(CmdError::Other(
            "NOREPLICAS Not enough good replicas to write.".into(),
        )));
    }
    if store.is_replica() && store.config().replica_read_only {
        return Err(Refusal::Reject(CmdError::Other(
            "READONLY You can't write against a read only replica.".into(),
        )));
    }
    Ok(())
}

/// Replies a refusal. Refused in MULTI, the transaction is doomed; a refused EXEC aborts
/// it, in or out of one, as Redis's `rejectCommand`.
fn reject(ctx: &mut Ctx, args: &[Bytes], e: CmdError) -> Outcome {
    let e = if args[0].eq_ignore_ascii_case(b"exec") {
        let text = e.to_string();
        let reason = text.strip_prefix("ERR ").unwrap_or(&text);
        ctx.conn.multi = None;
        let watched = std::mem::take(&mut ctx.conn.watched);
        ctx.store.unwatch_all(ctx.conn.id, watched);
        CmdError::Other(format!(
            "EXECABORT Transaction discarded because of: {reason}"
        ))
    } else {
        if let Some(multi) = &mut ctx.conn.multi {
            multi.aborted = true;
        }
        e
    };
    ctx.reply(e.to_frame());
    Outcome::Rejected(e)
}

/// Runs one command (top level or inside EXEC) and logs its effect when the store keeps an
/// effects log: the expiries it caused as `DEL`s first, then the command — as sent if it
/// wrote anything, or as the command rewrote it.
fn run(cmd: Result<Command, CmdError>, raw: Option<Vec<Bytes>>, ctx: &mut Ctx) -> Outcome {
    let Some(raw) = raw else {
        return dispatch(cmd, ctx);
    };
    let (db, writes) = (ctx.conn.db, ctx.store.writes());
    let outer = std::mem::take(&mut ctx.propagation);
    let outcome = dispatch(cmd, ctx);
    let propagation = std::mem::replace(&mut ctx.propagation, outer);
    ctx.store.flush_key_events();
    match propagation {
        Propagation::AsSent if ctx.store.writes() == writes => {}
        Propagation::AsSent | Propagation::Always => ctx.store.push_effect(db, raw),
        Propagation::Replace(ops) => {
            for op in ops {
                ctx.store.push_effect(db, op);
            }
        }
    }
    outcome
}

/// EXEC: runs the queued commands, each counted in INFO as it runs, and replies with the
/// array of their replies.
fn exec(ctx: &mut Ctx) -> Outcome {
    // The queued commands log their own effects; EXEC itself logs nothing.
    let outcome = match Exec::begin(ctx) {
        Err(e) => {
            ctx.reply(e.to_frame());
            Outcome::Failed(e)
        }
        Ok(None) => {
            ctx.reply(Frame::NullArray);
            Outcome::Ok
        }
        Ok(Some(queued)) => {
            encode_array_len(ctx.out, queued.len());
            ctx.in_exec = true;
            for q in queued {
                // QUIT and SHUTDOWN are never queued, so this cannot close.
                before_call(ctx, q.stat, q.observed.as_deref());
                let start_us = ctx.store.monotonic_us();
                let outcome = match exec_acl_check(ctx, &q.args) {
                    Err(e) => {
                        ctx.reply(e.to_frame());
                        Outcome::Failed(e)
                    }
                    Ok(()) => run(q.cmd, q.raw, ctx),
                };
                after_call(ctx, q.stat, q.observed.as_deref(), start_us, &outcome);
                if let Some(keys) = q.tracked {
                    ctx.store.flush_key_events();
                    remember(ctx, &keys);
                }
                if !ctx.caller.internal {
                    ctx.store.commands_processed += 1;
                }
                let counted = std::mem::take(&mut ctx.error_counted);
                if let Some(name) = q.stat {
                    let code = outcome.error().map(|e| e.code().as_bytes());
                    ctx.store.stats_mut().record(name, false, code, counted);
                }
            }
            ctx.in_exec = false;
            Outcome::Ok
        }
    };
    ctx.propagation = Propagation::Replace(Vec::new());
    outcome
}

/// The ACL check EXEC repeats for each queued command, in case the rules changed since it
/// was queued (Redis's `execCommand`).
fn exec_acl_check(ctx: &mut Ctx, args: &[Bytes]) -> Result<(), CmdError> {
    if ctx.caller.internal {
        return Ok(());
    }
    let Err((denial, pos, id)) =
        super::acl_check(ctx.store, &ctx.conn.user, &mut ctx.conn.acl_allowed, args)
    else {
        return Ok(());
    };
    let object = super::denied_object(denial, pos, id, args);
    super::record_denial(
        ctx,
        super::DenialRecord {
            denial,
            context: "multi",
            object,
            username: None,
        },
    );
    let reason = match denial {
        crate::acl::Denial::Command => "no permission to execute the command or subcommand",
        crate::acl::Denial::Key => "no permission to touch the specified keys",
        _ => "no permission to access one of the channels used as arguments",
    };
    Err(CmdError::Other(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
    )))
}

/// What follows a command that ran, for those who watch (Redis's `call` after the
/// command's proc): its time, latency, slow log entry. `start_us` is the injected monotonic
/// clock before it ran; `args` the request, kept when the slow log or MONITOR wants it.
fn after_call(
    ctx: &mut Ctx,
    stat: Option<&'static str>,
    args: Option<&[Bytes]>,
    start_us: u64,
    outcome: &Outcome,
) {
    let Some(name) = stat.filter(|_| !ctx.caller.internal) else {
        return;
    };
    let duration_us = ctx.store.monotonic_us().saturating_sub(start_us);
    let runner = crate::db::observe::Runner {
        id: ctx.conn.id,
        script: ctx.caller.script,
        db: ctx.conn.db,
        name: ctx.conn.name.clone(),
    };
    let blocked = *outcome == Outcome::Blocked;
    let flags = ctx.store.record_call(
        name,
        args,
        duration_us,
        blocked,
        || call_flags(name),
        &runner,
        ctx.now_ms,
    );
    // MONITOR sees a command once it ran; the script commands show theirs before they run.
    if let Some(args) = args.filter(|_| !is_script_call(name)) {
        ctx.store
            .feed_monitors(name, args, flags, &runner, ctx.now_ms);
    }
}

/// What timing, the slow log and MONITOR ask of command `name` (INFO commandstats' name:
/// `client|list`), from its metadata: the store keeps it after the first call.
fn call_flags(name: &'static str) -> crate::db::observe::CallFlags {
    let has = |f: &str| super::command::meta(name).is_some_and(|m| m.flags.contains(&f));
    crate::db::observe::CallFlags {
        fast: has("fast"),
        skip_slowlog: has("skip_slowlog"),
        skip_monitor: has("skip_monitor") || has("admin"),
    }
}

/// EVAL and its kin, which Redis shows to MONITOR before the commands their script runs.
fn is_script_call(name: &str) -> bool {
    matches!(
        name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// Shows a script command to MONITOR before it runs, as Redis's `evalCommand`.
fn before_call(ctx: &mut Ctx, stat: Option<&'static str>, args: Option<&[Bytes]>) {
    let (Some(name), Some(args)) = (stat, args) else {
        return;
    };
    if is_script_call(name) && !ctx.caller.internal {
        let runner = crate::db::observe::Runner {
            id: ctx.conn.id,
            script: ctx.caller.script,
            db: ctx.conn.db,
            name: None,
        };
        ctx.store.force_feed_monitors(args, &runner, ctx.now_ms);
    }
}

/// Runs one command and writes its reply.
fn dispatch(cmd: Result<Command, CmdError>, ctx: &mut Ctx) -> Outcome {
    let was_blocked = ctx.conn.blocked;
    // `Ok(None)`: the command wrote its reply itself (or, blocked or asleep, writes none).
    let result: Result<Option<Frame>, CmdError> = match cmd {
        Err(e) => Err(e),
        Ok(Command::Quit) => {
            ctx.reply(Frame::OK);
            return Outcome::Quit;
        }
        Ok(Command::Shutdown(c)) => {
            ctx.store.persistence_mut().shutdown_save = c.save;
            return Outcome::Shutdown;
        }
        Ok(Command::Exec(_)) => return exec(ctx),
        Ok(Command::Subscribe(c)) => {
            c.apply(ctx);
            Ok(None)
        }
        Ok(Command::Unsubscribe(c)) => {
            c.apply(ctx);
            Ok(None)
        }
        Ok(Command::PSubscribe(c)) => {
            c.apply(ctx);
            Ok(None)
        }
        Ok(Command::PUnsubscribe(c)) => {
            c.apply(ctx);
            Ok(None)
        }
        Ok(Command::Get(c)) => c.apply(ctx).map(|()| None),
        Ok(Command::Hash(c)) => c.apply(ctx).map(|()| None),
        Ok(Command::List(c)) => c.apply(ctx).map(|()| None),
        Ok(Command::Sets(c)) => c.apply(ctx).map(|()| None),
        Ok(Command::ZSet(c)) => c.apply(ctx).map(|()| None),
        Ok(Command::Bits(c)) => c.apply(ctx).map(Some),
        Ok(Command::Hll(c)) => c.apply(ctx).map(Some),
        Ok(Command::Script(c)) => c.apply(ctx).map(Some),
        Ok(Command::Geo(c)) => c.apply(ctx).map(|()| None),
        Ok(Command::Sort(c)) => c.apply(ctx).map(|()| None),
        Ok(Command::Dump(c)) => c.apply(ctx).map(|()| None),
        Ok(Command::Stream(c)) => c.apply(ctx).map(|()| None),
        // DEBUG SLEEP: the session replies when the time is up.
        Ok(Command::Debug(c)) => c.apply(ctx),
        Ok(Command::Echo(c)) => Ok(Some(Frame::Bulk(c.message))),
        Ok(Command::Ping(c)) => c.apply(ctx).map(Some),
        Ok(Command::Hello(c)) => c.apply(ctx).map(Some),
        Ok(Command::Select(c)) => c.apply(ctx).map(Some),
        Ok(Command::Set(c)) => c.apply(ctx).map(Some),
        Ok(Command::SetNx(c)) => c.apply(ctx).map(Some),
        Ok(Command::SetEx(c)) => c.apply(ctx).map(Some),
        Ok(Command::GetSet(c)) => c.apply(ctx).map(Some),
        Ok(Command::GetDel(c)) => c.apply(ctx).map(Some),
        Ok(Command::GetEx(c)) => c.apply(ctx).map(Some),
        Ok(Command::MGet(c)) => c.apply(ctx).map(Some),
        Ok(Command::MSet(c)) => c.apply(ctx).map(Some),
        Ok(Command::IncrBy(c)) => c.apply(ctx).map(Some),
        Ok(Command::IncrByFloat(c)) => c.apply(ctx).map(Some),
        Ok(Command::Append(c)) => c.apply(ctx).map(Some),
        Ok(Command::StrLen(c)) => c.apply(ctx).map(Some),
        Ok(Command::GetRange(c)) => c.apply(ctx).map(Some),
        Ok(Command::SetRange(c)) => c.apply(ctx).map(Some),
        Ok(Command::Lcs(c)) => c.apply(ctx).map(Some),
        Ok(Command::Del(c)) => c.apply(ctx).map(Some),
        Ok(Command::Exists(c)) => c.apply(ctx).map(Some),
        Ok(Command::Touch(c)) => c.apply(ctx).map(Some),
        Ok(Command::Type(c)) => c.apply(ctx).map(Some),
        Ok(Command::Keys(c)) => c.apply(ctx).map(Some),
        Ok(Command::Scan(c)) => c.apply(ctx).map(Some),
        Ok(Command::RandomKey(c)) => c.apply(ctx).map(Some),
        Ok(Command::Rename(c)) => c.apply(ctx).map(Some),
        Ok(Command::Copy(c)) => c.apply(ctx).map(Some),
        Ok(Command::Move(c)) => c.apply(ctx).map(Some),
        Ok(Command::Expire(c)) => c.apply(ctx).map(Some),
        Ok(Command::Ttl(c)) => c.apply(ctx).map(Some),
        Ok(Command::Save(c)) => c.apply(ctx).map(Some),
        Ok(Command::Multi(c)) => c.apply(ctx).map(Some),
        Ok(Command::Discard(c)) => c.apply(ctx).map(Some),
        Ok(Command::Watch(c)) => c.apply(ctx).map(Some),
        Ok(Command::Unwatch(c)) => c.apply(ctx).map(Some),
        Ok(Command::Publish(c)) => c.apply(ctx).map(Some),
        Ok(Command::PubSub(c)) => c.apply(ctx).map(Some),
        Ok(Command::DbSize(c)) => c.apply(ctx).map(Some),
        Ok(Command::FlushDb(c)) => c.apply(ctx).map(Some),
        Ok(Command::FlushAll(c)) => c.apply(ctx).map(Some),
        Ok(Command::Config(c)) => c.apply(ctx).map(Some),
        Ok(Command::Auth(c)) => c.apply(ctx).map(Some),
        Ok(Command::Reset(c)) => c.apply(ctx).map(Some),
        Ok(Command::ReadOnly(c)) => c.apply(ctx).map(Some),
        Ok(Command::Client(c)) => c.apply(ctx).map(Some),
        Ok(Command::Command(c)) => c.apply(ctx).map(Some),
        Ok(Command::Info(c)) => c.apply(ctx).map(Some),
        Ok(Command::Time(c)) => c.apply(ctx).map(Some),
        Ok(Command::LastSave(c)) => c.apply(ctx).map(Some),
        Ok(Command::Persist(c)) => c.apply(ctx).map(Some),
        Ok(Command::SwapDb(c)) => c.apply(ctx).map(Some),
        Ok(Command::Object(c)) => c.apply(ctx).map(Some),
        Ok(Command::Function(c)) => c.apply(ctx).map(Some),
        Ok(Command::Slowlog(c)) => c.apply(ctx).map(Some),
        Ok(Command::Latency(c)) => c.apply(ctx).map(Some),
        Ok(Command::Memory(c)) => c.apply(ctx).map(Some),
        Ok(Command::Monitor(c)) => c.apply(ctx),
        Ok(Command::Acl(c)) => c.apply(ctx).map(Some),
        Ok(Command::Repl(c)) => c.apply(ctx),
    };
    match result {
        Ok(Some(frame)) => ctx.reply(frame),
        Ok(None) => {}
        Err(e) => {
            ctx.reply(e.to_frame());
            return Outcome::Failed(e);
        }
    }
    if ctx.conn.blocked && !was_blocked {
        Outcome::Blocked
    } else {
        Outcome::Ok
    }
}
