//! The per-connection state machine: bytes in, replies and events out.

use std::collections::{HashSet, VecDeque};

use bytes::{Buf, Bytes, BytesMut};

use crate::cmd::tx::{Exec, MultiState, Queued, WatchedKeys};
pub use crate::cmd::ReplyMode;
use crate::cmd::{self, CmdError, Command};
use crate::db::{ClientId, Db, Message, PauseKind, Store, Value};
use crate::resp::{
    encode, encode_array_len, Frame, Limits, Protocol, ProtocolError, RequestDecoder,
};

/// Limits of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Decoder limits for requests.
    pub limits: Limits,
    /// Replies waiting to be written above which the session stops executing further
    /// pipelined commands (and [`Session::wants_read`] turns false) until the adapter has
    /// written some out. Bounds memory per connection without dropping anything.
    pub max_pending_output_bytes: usize,
    /// Pub/sub output limits, as Redis's `client-output-buffer-limit pubsub 32mb 8mb 60`:
    /// a subscriber whose unwritten output passes the hard limit, or stays above the soft
    /// limit for the soft period, is disconnected.
    pub pubsub_hard_limit_bytes: usize,
    /// See [`SessionConfig::pubsub_hard_limit_bytes`].
    pub pubsub_soft_limit_bytes: usize,
    /// See [`SessionConfig::pubsub_hard_limit_bytes`].
    pub pubsub_soft_limit_ms: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            limits: Limits::DEFAULT,
            max_pending_output_bytes: 1024 * 1024,
            pubsub_hard_limit_bytes: 32 * 1024 * 1024,
            pubsub_soft_limit_bytes: 8 * 1024 * 1024,
            pubsub_soft_limit_ms: 60_000,
        }
    }
}

/// Why a session asks to be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent QUIT.
    Quit,
    /// The client sent bytes that are not RESP; the error reply is already queued.
    Protocol(ProtocolError),
    /// A subscriber did not read its messages fast enough (pub/sub output limit).
    OutputLimit {
        /// Unwritten bytes when the limit struck.
        pending_bytes: usize,
    },
    /// CLIENT KILL closed it, or it stayed idle past the `timeout` setting.
    Killed,
}

/// Something the adapter must act on, from [`Session::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Write out what [`Session::poll_transmit`] still holds, then close the connection.
    /// The session executes nothing more.
    Close(CloseReason),
    /// SHUTDOWN was called: stop the whole server gracefully.
    Shutdown,
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
    /// Blocked by BLPOP & co.: executes nothing until a [`Message::Unblocked`] arrives.
    pub blocked: bool,
    /// A request CLIENT PAUSE holds back, and the pause's end when it was held: executes
    /// nothing until the pause is over.
    pub held: Option<(Vec<Bytes>, u64)>,
}

impl ConnState {
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

/// What a command sees while it runs: the store, its own connection, the time, and where
/// its reply goes.
pub(crate) struct Ctx<'a> {
    pub store: &'a mut Store,
    pub conn: &'a mut ConnState,
    pub now_ms: u64,
    /// True while EXEC runs the queued commands.
    pub in_exec: bool,
    out: &'a mut BytesMut,
    events: &'a mut VecDeque<Event>,
    propagation: Propagation,
}

impl Ctx<'_> {
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

    /// Logs the request as sent even if it changed nothing.
    pub fn force_propagation(&mut self) {
        self.propagation = Propagation::Always;
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

    /// Reply bytes queued and not yet written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// The output buffer with the connection's protocol, for replies written element by
    /// element.
    pub(crate) fn out(&mut self) -> cmd::reply::Out<'_> {
        cmd::reply::Out {
            buf: self.out,
            proto: self.conn.proto,
        }
    }

    /// The selected database and the output, for replies written straight from a stored
    /// value.
    pub(crate) fn db_out(&mut self) -> (&mut Db, cmd::reply::Out<'_>) {
        let out = cmd::reply::Out {
            buf: self.out,
            proto: self.conn.proto,
        };
        (self.store.db(self.conn.db), out)
    }
}

/// One client connection, without the connection: it turns request bytes into reply bytes
/// and events, against a [`Store`] and a time the caller passes in.
///
/// # The adapter's loop
///
/// 1. Read from the socket into [`Session::read_buf`] (or pass bytes to
///    [`Session::handle_bytes`]) — only while [`Session::wants_read`] is true; otherwise
///    stop reading, which pushes back on the client.
/// 2. With exclusive access to the store, call [`Session::process`] with the current time,
///    then hand every [`Store::poll_delivery`] to its receiving session with
///    [`Session::handle_message`].
/// 3. Write [`Session::poll_transmit`] to the socket and report what was written with
///    [`Session::consume_transmit`]. Processing pauses while too much output is pending, so
///    after a write call [`Session::process`] again even if nothing new was read.
/// 4. Act on every [`Session::poll_event`]: on [`Event::Close`] write out what is left of
///    the output and close; on [`Event::Shutdown`] stop the server.
/// 5. When the connection ends, for whatever reason, call [`Session::handle_close`] so its
///    subscriptions, WATCHed keys and client registry entry leave the store.
///
/// Around that loop:
///
/// - At accept, take the id from [`Store::next_client_id`] and register the socket's
///   addresses with [`Store::register_client`] (CLIENT LIST, CLIENT KILL ADDR).
/// - A delivery may be a [`crate::db::Message::Unblocked`]: the reply of a blocking command
///   (BLPOP, BLMOVE, BZPOPMIN…) this session was blocked in, served because another
///   connection pushed, timed out ([`Store::handle_timeout`]), or ended by CLIENT UNBLOCK.
///   Hand it over with [`Session::handle_message`] like any message, then call
///   [`Session::process`] for that session (under the store's lock): a blocked session
///   executes none of its pipelined input until then ([`Session::is_blocked`]).
/// - A delivery may be a [`crate::db::Message::Kill`] (CLIENT KILL from another connection,
///   or the idle `timeout`): hand it to the session like any message; it closes with
///   [`CloseReason::Killed`]. Deliveries also appear after [`Store::handle_timeout`] (the
///   idle `timeout`), so drain them there too.
/// - [`Session::poll_timeout`] is the end of a DEBUG SLEEP, or of the CLIENT PAUSE that
///   holds one of its commands back: arm a timer and call [`Session::process`] when it
///   passes (the session meanwhile executes nothing; other connections go on). CLIENT
///   UNPAUSE wakes the sessions it held with a [`crate::db::Message::Resume`] delivery: hand
///   it over like any message, then call [`Session::process`] for that session.
/// - Read the settings you enforce from [`Store::config`] (`maxclients`, `tcp-keepalive`):
///   CONFIG SET may change them at any time. The session itself follows
///   `proto-max-bulk-len` and the pub/sub `client-output-buffer-limit` once they are set in
///   the store, from its next [`Session::process`] call on (a subscriber that sends nothing
///   keeps the limits it had).
///
/// If the store keeps an effects log ([`Store::set_effects_log`]), drain
/// [`Store::poll_effect`] after step 2 and after [`Store::handle_timeout`]: it holds every
/// change the commands and expiries made, in order, ready for an AOF or a replica.
///
/// Replies come out in request order. A protocol error queues Redis's error reply and a
/// [`Event::Close`]; commands before it in the same input still run, as in Redis.
///
/// Between MULTI and EXEC the session queues commands (see [`crate::cmd::Exec`]); EXEC runs
/// them within one [`Session::process`] call, so with the store held exclusively the
/// transaction is atomic.
#[derive(Debug)]
pub struct Session {
    conn: ConnState,
    decoder: RequestDecoder,
    input: BytesMut,
    output: BytesMut,
    events: VecDeque<Event>,
    closing: bool,
    config: SessionConfig,
    /// When the pending output of a subscriber first went over the soft limit.
    soft_limit_since_ms: Option<u64>,
    /// The first `process` call happened (the registry entry exists, authentication is
    /// decided).
    started: bool,
    /// [`Store`]'s settings epoch last applied.
    config_epoch: u64,
    /// A session of the server itself (AOF replay): always authenticated, not a client in
    /// the registry, not counted in INFO.
    internal: bool,
}

impl Session {
    /// A session for connection `id` (from [`Store::next_client_id`]).
    pub fn new(id: ClientId, config: SessionConfig) -> Session {
        Session {
            conn: ConnState {
                id,
                proto: Protocol::Resp2,
                db: 0,
                name: None,
                channels: HashSet::new(),
                patterns: HashSet::new(),
                multi: None,
                watched: WatchedKeys::new(),
                authenticated: true,
                reply: ReplyMode::On,
                no_evict: false,
                last_cmd: "",
                sleep_until_ms: None,
                close_after_reply: false,
                blocked: false,
                held: None,
            },
            decoder: RequestDecoder::new(config.limits),
            input: BytesMut::with_capacity(16 * 1024),
            output: BytesMut::with_capacity(16 * 1024),
            events: VecDeque::new(),
            closing: false,
            config,
            soft_limit_since_ms: None,
            started: false,
            config_epoch: 0,
            internal: false,
        }
    }

    /// A session the server runs for itself (AOF replay): it needs no AUTH, does not show in
    /// CLIENT LIST and is not counted in INFO's statistics.
    pub(crate) fn new_internal(id: ClientId, config: SessionConfig) -> Session {
        let mut s = Session::new(id, config);
        s.started = true;
        s.internal = true;
        s
    }

    /// When a DEBUG SLEEP of this connection ends, or the CLIENT PAUSE holding one of its
    /// commands back: call [`Session::process`] then.
    pub fn poll_timeout(&self) -> Option<u64> {
        let held = self.conn.held.as_ref().map(|(_, end)| *end);
        self.conn.sleep_until_ms.into_iter().chain(held).min()
    }

    /// The connection's id.
    pub fn id(&self) -> ClientId {
        self.conn.id
    }

    /// The protocol the connection speaks now (HELLO changes it).
    pub fn protocol(&self) -> Protocol {
        self.conn.proto
    }

    /// The client's name (CLIENT SETNAME, HELLO SETNAME).
    pub fn name(&self) -> Option<&Bytes> {
        self.conn.name.as_ref()
    }

    /// Channels plus patterns this connection listens to.
    pub fn subscription_count(&self) -> usize {
        self.conn.subscription_count()
    }

    /// The input buffer, for adapters that read from the socket straight into it.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        &mut self.input
    }

    /// Appends bytes read from the connection.
    pub fn handle_bytes(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    /// Input bytes buffered and not yet executed.
    pub fn input_len(&self) -> usize {
        self.input.len()
    }

    /// True while the session accepts more input: it is not closing and its unwritten
    /// output is under [`SessionConfig::max_pending_output_bytes`].
    pub fn wants_read(&self) -> bool {
        !self.closing && self.output.len() < self.config.max_pending_output_bytes
    }

    /// True once the session has asked to close; it executes nothing more.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// True while a blocking command (BLPOP, BLMOVE, BZPOPMIN…) waits: the session executes
    /// none of its further input until the store delivers its reply as a
    /// [`Message::Unblocked`].
    pub fn is_blocked(&self) -> bool {
        self.conn.blocked
    }

    /// Executes every complete command in the input, in order, queueing the replies. Stops
    /// early when the pending output passes [`SessionConfig::max_pending_output_bytes`];
    /// the rest of the input waits for the next call.
    pub fn process(&mut self, store: &mut Store, now_ms: u64) {
        if !self.started {
            self.started = true;
            store.note_time(now_ms);
            // A password set later does not lock out connections already made, as in Redis.
            self.conn.authenticated = store.config().requirepass.is_none();
        }
        if self.config_epoch != store.config_epoch() {
            self.apply_config(store);
        }
        if let Some(until) = self.conn.sleep_until_ms {
            if now_ms < until {
                return;
            }
            self.conn.sleep_until_ms = None;
            encode(&Frame::OK, self.conn.proto, &mut self.output);
        }
        let mut ran = false;
        if let Some((args, _)) = self.conn.held.take().filter(|_| !self.closing) {
            // The request CLIENT PAUSE held goes first; held again if the pause goes on.
            store.release_client(self.conn.id);
            self.execute(args, store, now_ms);
            ran = self.conn.held.is_none();
        }
        while !self.closing
            && !self.conn.blocked
            && self.conn.sleep_until_ms.is_none()
            && self.conn.held.is_none()
            && self.output.len() < self.config.max_pending_output_bytes
        {
            match self.decoder.decode(&mut self.input) {
                Ok(Some(args)) => {
                    ran = true;
                    self.execute(args, store, now_ms);
                }
                Ok(None) => break,
                Err(e) => {
                    encode(
                        &Frame::error(format!("ERR {e}")),
                        self.conn.proto,
                        &mut self.output,
                    );
                    store.stats_mut().record_error(b"ERR");
                    self.close(CloseReason::Protocol(e));
                }
            }
        }
        if !self.closing && !self.internal {
            cmd::client_sync(&self.conn, store, self.output.len(), now_ms);
            if ran {
                if let Some(c) = store.clients_mut().get_mut(self.conn.id) {
                    c.last_interaction_ms = now_ms;
                }
            }
        }
    }

    /// Takes the store's value of the settings that govern a connection, once they were set
    /// (until then the adapter's [`SessionConfig`] rules).
    fn apply_config(&mut self, store: &Store) {
        self.config_epoch = store.config_epoch();
        let c = store.config();
        if c.is_changed("proto-max-bulk-len") {
            let max = usize::try_from(c.proto_max_bulk_len).unwrap_or(usize::MAX);
            self.config.limits.max_bulk_bytes = max;
            self.decoder.set_limits(self.config.limits);
        }
        if c.is_changed("client-output-buffer-limit") {
            let l = c.output_limit_pubsub;
            let bytes = |n: u64| match n {
                0 => usize::MAX,
                n => usize::try_from(n).unwrap_or(usize::MAX),
            };
            self.config.pubsub_hard_limit_bytes = bytes(l.hard_bytes);
            self.config.pubsub_soft_limit_bytes = bytes(l.soft_bytes);
            self.config.pubsub_soft_limit_ms = l.soft_seconds.saturating_mul(1000);
        }
    }

    fn close(&mut self, reason: CloseReason) {
        self.closing = true;
        self.input.clear();
        self.events.push_back(Event::Close(reason));
    }

    fn execute(&mut self, args: Vec<Bytes>, store: &mut Store, now_ms: u64) {
        let mark = self.output.len();
        // One lookup gives everything asked of the command below.
        let resolved = cmd::resolve(&args[0]);
        let known = resolved.map(|r| r.spec);
        let stat = resolved.and_then(|r| r.stat_name(&args));
        if let Some(name) = stat {
            self.conn.last_cmd = name;
        }
        if let Some(end) = self.held_by_pause(&args, known, stat, store, now_ms) {
            store.hold_client(self.conn.id);
            self.conn.held = Some((args, end));
            return;
        }
        // Lookups by writing commands are not reads (Redis counts `lookupKeyRead` only).
        let db = self.conn.db;
        let reads = resolved
            .filter(|r| r.write)
            .map(|_| store.db(db).hits_misses());
        let outcome = self.execute_inner(args, store, now_ms, known, stat);
        if let Some(counts) = reads {
            store.db(db).set_hits_misses(counts);
        }
        if outcome == Outcome::Ran {
            // As Redis's `stat_numcommands`: commands that ran, not those refused or queued.
            store.commands_processed += 1;
        }
        let error = match self.output.get(mark) {
            Some(b'-') => {
                let line = &self.output[mark + 1..];
                let end = line
                    .iter()
                    .position(|&c| c == b' ' || c == b'\r')
                    .unwrap_or(line.len());
                Some(line[..end].to_vec())
            }
            _ => None,
        };
        match (stat, outcome) {
            _ if self.internal => {}
            // Counted when EXEC runs it.
            (Some(_), Outcome::Queued) => {}
            (Some(name), outcome) => {
                let rejected = outcome == Outcome::Rejected;
                store.stats_mut().record(name, rejected, error.as_deref());
            }
            (None, _) => {
                if let Some(code) = &error {
                    store.stats_mut().record_error(code);
                }
            }
        }
        match self.conn.reply {
            ReplyMode::On => {}
            ReplyMode::Off => self.output.truncate(mark),
            ReplyMode::Skip => {
                self.output.truncate(mark);
                self.conn.reply = ReplyMode::SkipNext;
            }
            ReplyMode::SkipNext => {
                self.output.truncate(mark);
                self.conn.reply = ReplyMode::On;
            }
        }
        if self.conn.close_after_reply {
            self.conn.close_after_reply = false;
            self.close(CloseReason::Killed);
        }
    }

    /// CLIENT PAUSE: the end of the pause if it holds `args` back. As in Redis, a request
    /// refused before it would run (unknown command or subcommand, arity, NOAUTH, RESP2
    /// subscriber context) is answered at once; then a pause holds everything (`ALL`) or
    /// what writes or may replicate, EXEC of such a transaction included (`WRITE`).
    fn held_by_pause(
        &self,
        args: &[Bytes],
        known: Option<&'static cmd::CommandSpec>,
        stat: Option<&'static str>,
        store: &mut Store,
        now_ms: u64,
    ) -> Option<u64> {
        if self.internal {
            return None;
        }
        let (end, kind) = store.client_pause(now_ms)?;
        let spec = cmd::check(known, args).ok()?;
        if !self.conn.authenticated && !cmd::no_auth(spec.name) {
            return None;
        }
        if self.conn.is_subscribed() && self.conn.proto == Protocol::Resp2 && !spec.pubsub_ok {
            return None;
        }
        let name = cmd::checked_name(stat?, args)?;
        let held = match kind {
            PauseKind::All => true,
            PauseKind::Write => {
                cmd::may_replicate(name)
                    || (name == "exec"
                        && self.conn.multi.as_ref().is_some_and(|m| {
                            m.queued
                                .iter()
                                .any(|q| q.stat.is_some_and(cmd::may_replicate))
                        }))
            }
        };
        held.then_some(end)
    }

    fn execute_inner(
        &mut self,
        args: Vec<Bytes>,
        store: &mut Store,
        now_ms: u64,
        known: Option<&'static cmd::CommandSpec>,
        stat: Option<&'static str>,
    ) -> Outcome {
        // The request is kept for the effects log only when there is one.
        let raw = store.effects_enabled().then(|| args.clone());
        let spec = cmd::check(known, &args).and_then(|spec| {
            // Checked after arity and before the command's own parsing, as Redis does.
            if !self.conn.authenticated && !cmd::no_auth(spec.name) {
                return Err(CmdError::Other("NOAUTH Authentication required.".into()));
            }
            if self.conn.is_subscribed() && self.conn.proto == Protocol::Resp2 && !spec.pubsub_ok {
                // Redis names the subcommand: `pubsub|numpat`.
                return Err(CmdError::NotInPubSubContext(stat.unwrap_or(spec.name)));
            }
            // Over `maxmemory` (nothing is evicted: every policy acts as `noeviction`),
            // commands that may grow memory are refused, and so is queuing in MULTI.
            let limit = store.config().maxmemory;
            if limit > 0 && store.process_info().used_memory_bytes > limit {
                let in_multi = self.conn.multi.is_some()
                    && !matches!(spec.name, "exec" | "discard" | "quit" | "reset");
                if in_multi || cmd::deny_oom(spec.name) {
                    return Err(CmdError::Other(
                        "OOM command not allowed when used memory > 'maxmemory'.".into(),
                    ));
                }
            }
            // While the disk fails (a full disk under the AOF, a failed BGSAVE), writes are
            // refused — and PING, as Redis does, so that health checks notice — while
            // reads go on. EXEC counts as a write if it would run one.
            if let Some(error) = store.disk_error().filter(|_| !self.internal) {
                let name = stat.unwrap_or(spec.name);
                let writes = cmd::is_write(name)
                    || name == "ping"
                    || (name == "exec"
                        && self.conn.multi.as_ref().is_some_and(|m| {
                            m.queued.iter().any(|q| q.stat.is_some_and(cmd::is_write))
                        }));
                if writes {
                    return Err(CmdError::Other(error));
                }
            }
            Ok(spec)
        });
        let refused = if spec.is_err() {
            Outcome::Rejected
        } else {
            Outcome::Ran
        };
        if let Err(e) = &spec {
            if args[0].eq_ignore_ascii_case(b"exec") {
                // Redis refuses a malformed EXEC by aborting the transaction, in or out of one.
                let text = e.to_string();
                let reason = text.strip_prefix("ERR ").unwrap_or(&text);
                let frame = Frame::error(format!(
                    "EXECABORT Transaction discarded because of: {reason}"
                ));
                encode(&frame, self.conn.proto, &mut self.output);
                self.conn.multi = None;
                store.unwatch_all(self.conn.id, std::mem::take(&mut self.conn.watched));
                return Outcome::Rejected;
            }
        }
        if let Some(multi) = &mut self.conn.multi {
            let refusal = match &spec {
                Err(e) => Some(e.to_string()),
                Ok(spec) if spec.skips_queue() => None,
                Ok(spec) if !spec.allowed_in_multi() => {
                    Some("ERR Command not allowed inside a transaction".to_owned())
                }
                Ok(spec) => {
                    // Nothing more is kept once the transaction is doomed, as in Redis.
                    if !multi.aborted {
                        multi.queued.push(Queued {
                            cmd: spec.parse(args),
                            raw,
                            stat: stat.filter(|_| !self.internal),
                        });
                    }
                    encode(&Frame::simple("QUEUED"), self.conn.proto, &mut self.output);
                    return Outcome::Queued;
                }
            };
            if let Some(text) = refusal {
                multi.aborted = true;
                encode(&Frame::error(text), self.conn.proto, &mut self.output);
                return Outcome::Rejected;
            }
        }
        let cmd = spec.and_then(|spec| spec.parse(args));
        let mut ctx = Ctx {
            store,
            conn: &mut self.conn,
            now_ms,
            in_exec: false,
            out: &mut self.output,
            events: &mut self.events,
            propagation: Propagation::AsSent,
        };
        let unit = ctx.store.begin_effects_unit();
        let flow = run(cmd, raw, &mut ctx);
        ctx.store.end_effects_unit(unit);
        // Clients blocked on keys this command (or transaction) filled are served now,
        // before any other command, as in Redis.
        cmd::blocking::serve_ready(ctx.store, now_ms);
        if let Flow::Close(reason) = flow {
            self.close(reason);
        }
        refused
    }

    /// Delivers a pub/sub message published by some connection (see
    /// [`Store::poll_delivery`]). Enforces the pub/sub output limits: a subscriber too far
    /// behind is closed with [`CloseReason::OutputLimit`] and its unwritten output dropped.
    pub fn handle_message(&mut self, message: &Message, now_ms: u64) {
        if self.closing {
            return;
        }
        if let Message::Unblocked(reply) = message {
            self.output.extend_from_slice(reply);
            self.conn.blocked = false;
            return;
        }
        if matches!(message, Message::Kill) {
            // Whatever was not written is dropped, as Redis frees the client at once.
            self.output.clear();
            self.close(CloseReason::Killed);
            return;
        }
        let Some(frame) = message.to_frame() else {
            return;
        };
        encode(&frame, self.conn.proto, &mut self.output);
        let pending = self.output.len();
        let over_soft = pending > self.config.pubsub_soft_limit_bytes;
        if !over_soft {
            self.soft_limit_since_ms = None;
            return;
        }
        let since = *self.soft_limit_since_ms.get_or_insert(now_ms);
        if pending > self.config.pubsub_hard_limit_bytes
            || now_ms.saturating_sub(since) >= self.config.pubsub_soft_limit_ms
        {
            self.output.clear();
            self.close(CloseReason::OutputLimit {
                pending_bytes: pending,
            });
        }
    }

    /// Reply bytes waiting to be written, in order.
    pub fn poll_transmit(&self) -> &[u8] {
        &self.output
    }

    /// Reports that the first `n` bytes of [`Session::poll_transmit`] were written.
    pub fn consume_transmit(&mut self, n: usize) {
        self.output.advance(n.min(self.output.len()));
        if self.output.len() <= self.config.pubsub_soft_limit_bytes {
            self.soft_limit_since_ms = None;
        }
    }

    /// The next event for the adapter, in the order they happened.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The connection is gone: removes its subscriptions, watches and client registry entry
    /// from the store.
    pub fn handle_close(&mut self, store: &mut Store) {
        store.take_blocked(self.conn.id);
        store.release_client(self.conn.id);
        store.clients_mut().remove(self.conn.id);
        self.conn.multi = None;
        store.unwatch_all(self.conn.id, std::mem::take(&mut self.conn.watched));
        for ch in self.conn.channels.drain() {
            store.pubsub.unsubscribe(self.conn.id, &ch);
        }
        for p in self.conn.patterns.drain() {
            store.pubsub.punsubscribe(self.conn.id, &p);
        }
        self.closing = true;
    }
}

/// How a request went, for INFO commandstats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It ran (and maybe failed).
    Ran,
    /// It was refused before running: arity, NOAUTH, pub/sub context, not in MULTI.
    Rejected,
    /// It was queued in MULTI.
    Queued,
}

/// What the session does after a command.
enum Flow {
    Continue,
    Close(CloseReason),
}

/// Runs one command (top level or inside EXEC) and logs its effect when the store keeps an
/// effects log: the expiries it caused as `DEL`s first, then the command — as sent if it
/// wrote anything, or as the command rewrote it.
fn run(cmd: Result<Command, CmdError>, raw: Option<Vec<Bytes>>, ctx: &mut Ctx) -> Flow {
    let Some(raw) = raw else {
        return dispatch(cmd, ctx);
    };
    let (db, writes) = (ctx.conn.db, ctx.store.writes());
    let outer = std::mem::take(&mut ctx.propagation);
    let flow = dispatch(cmd, ctx);
    let propagation = std::mem::replace(&mut ctx.propagation, outer);
    ctx.store.collect_expired_effects();
    match propagation {
        Propagation::AsSent if ctx.store.writes() == writes => {}
        Propagation::AsSent | Propagation::Always => ctx.store.push_effect(db, raw),
        Propagation::Replace(ops) => {
            for op in ops {
                ctx.store.push_effect(db, op);
            }
        }
    }
    flow
}

/// Runs one command and writes its reply.
fn dispatch(cmd: Result<Command, CmdError>, ctx: &mut Ctx) -> Flow {
    let result = match cmd {
        Err(e) => Err(e),
        Ok(Command::Quit) => {
            ctx.reply(Frame::OK);
            return Flow::Close(CloseReason::Quit);
        }
        Ok(Command::Shutdown(c)) => {
            ctx.store.persistence_mut().shutdown_save = c.save;
            ctx.events.push_back(Event::Shutdown);
            return Flow::Continue;
        }
        Ok(Command::Exec(_)) => {
            match Exec::begin(ctx) {
                Err(refusal) => ctx.reply(refusal),
                Ok(queued) => {
                    encode_array_len(ctx.out, queued.len());
                    ctx.in_exec = true;
                    for q in queued {
                        let mark = ctx.out.len();
                        // QUIT and SHUTDOWN are never queued, so this cannot close.
                        let _ = run(q.cmd, q.raw, ctx);
                        ctx.store.commands_processed += 1;
                        if let Some(name) = q.stat {
                            let failed = ctx.out.get(mark) == Some(&b'-');
                            let code: &[u8] = if failed {
                                let line = &ctx.out[mark + 1..];
                                let end = line
                                    .iter()
                                    .position(|&c| c == b' ' || c == b'\r')
                                    .unwrap_or(line.len());
                                &line[..end]
                            } else {
                                &[]
                            };
                            let code = failed.then(|| code.to_vec());
                            ctx.store.stats_mut().record(name, false, code.as_deref());
                        }
                    }
                    ctx.in_exec = false;
                }
            }
            // The queued commands logged their own effects.
            ctx.propagation = Propagation::Replace(Vec::new());
            return Flow::Continue;
        }
        Ok(Command::Subscribe(c)) => {
            c.apply(ctx);
            return Flow::Continue;
        }
        Ok(Command::Unsubscribe(c)) => {
            c.apply(ctx);
            return Flow::Continue;
        }
        Ok(Command::PSubscribe(c)) => {
            c.apply(ctx);
            return Flow::Continue;
        }
        Ok(Command::PUnsubscribe(c)) => {
            c.apply(ctx);
            return Flow::Continue;
        }
        Ok(Command::Get(c)) => match c.apply(ctx) {
            Ok(()) => return Flow::Continue,
            Err(e) => Err(e),
        },
        Ok(Command::Ping(c)) => c.apply(ctx),
        Ok(Command::Echo(c)) => Ok(Frame::Bulk(c.message)),
        Ok(Command::Hello(c)) => c.apply(ctx),
        Ok(Command::Select(c)) => c.apply(ctx),
        Ok(Command::Set(c)) => c.apply(ctx),
        Ok(Command::SetNx(c)) => c.apply(ctx),
        Ok(Command::SetEx(c)) => c.apply(ctx),
        Ok(Command::GetSet(c)) => c.apply(ctx),
        Ok(Command::GetDel(c)) => c.apply(ctx),
        Ok(Command::GetEx(c)) => c.apply(ctx),
        Ok(Command::MGet(c)) => c.apply(ctx),
        Ok(Command::MSet(c)) => c.apply(ctx),
        Ok(Command::IncrBy(c)) => c.apply(ctx),
        Ok(Command::IncrByFloat(c)) => c.apply(ctx),
        Ok(Command::Append(c)) => c.apply(ctx),
        Ok(Command::StrLen(c)) => c.apply(ctx),
        Ok(Command::GetRange(c)) => c.apply(ctx),
        Ok(Command::SetRange(c)) => c.apply(ctx),
        Ok(Command::Lcs(c)) => c.apply(ctx),
        Ok(Command::Del(c)) => c.apply(ctx),
        Ok(Command::Exists(c)) => c.apply(ctx),
        Ok(Command::Touch(c)) => c.apply(ctx),
        Ok(Command::Type(c)) => c.apply(ctx),
        Ok(Command::Keys(c)) => c.apply(ctx),
        Ok(Command::Scan(c)) => c.apply(ctx),
        Ok(Command::RandomKey(c)) => c.apply(ctx),
        Ok(Command::Rename(c)) => c.apply(ctx),
        Ok(Command::Copy(c)) => c.apply(ctx),
        Ok(Command::Move(c)) => c.apply(ctx),
        Ok(Command::Expire(c)) => c.apply(ctx),
        Ok(Command::Ttl(c)) => c.apply(ctx),
        Ok(Command::Save(c)) => c.apply(ctx),
        Ok(Command::Multi(c)) => c.apply(ctx),
        Ok(Command::Discard(c)) => c.apply(ctx),
        Ok(Command::Watch(c)) => c.apply(ctx),
        Ok(Command::Unwatch(c)) => c.apply(ctx),
        Ok(Command::Publish(c)) => c.apply(ctx),
        Ok(Command::PubSub(c)) => c.apply(ctx),
        Ok(Command::DbSize(c)) => c.apply(ctx),
        Ok(Command::FlushDb(c)) => c.apply(ctx),
        Ok(Command::FlushAll(c)) => c.apply(ctx),
        Ok(Command::Config(c)) => c.apply(ctx),
        Ok(Command::Auth(c)) => c.apply(ctx),
        Ok(Command::Reset(c)) => c.apply(ctx),
        Ok(Command::ReadOnly(c)) => c.apply(ctx),
        Ok(Command::Client(c)) => c.apply(ctx),
        Ok(Command::Command(c)) => c.apply(ctx),
        Ok(Command::Info(c)) => c.apply(ctx),
        Ok(Command::Time(c)) => c.apply(ctx),
        Ok(Command::LastSave(c)) => c.apply(ctx),
        Ok(Command::Persist(c)) => c.apply(ctx),
        Ok(Command::SwapDb(c)) => c.apply(ctx),
        Ok(Command::Object(c)) => c.apply(ctx),
        Ok(Command::Function(c)) => c.apply(ctx),
        Ok(Command::Hash(c)) => match c.apply(ctx) {
            Ok(()) => return Flow::Continue,
            Err(e) => Err(e),
        },
        Ok(Command::List(c)) => match c.apply(ctx) {
            Ok(()) => return Flow::Continue,
            Err(e) => Err(e),
        },
        Ok(Command::Sets(c)) => match c.apply(ctx) {
            Ok(()) => return Flow::Continue,
            Err(e) => Err(e),
        },
        Ok(Command::ZSet(c)) => match c.apply(ctx) {
            Ok(()) => return Flow::Continue,
            Err(e) => Err(e),
        },
        Ok(Command::Debug(c)) => match c.apply(ctx) {
            // DEBUG SLEEP: the session replies when the time is up.
            Ok(None) => return Flow::Continue,
            Ok(Some(frame)) => Ok(frame),
            Err(e) => Err(e),
        },
    };
    ctx.reply(result.unwrap_or_else(|e| Frame::Error(Bytes::from(e.to_string()))));
    Flow::Continue
}
