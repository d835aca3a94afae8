//! The per-connection state machine: bytes in, replies and events out.

use std::collections::{HashSet, VecDeque};

use bytes::{Buf, Bytes, BytesMut};

use crate::cmd::tx::{Exec, MultiState, Queued, WatchedKeys};
use crate::cmd::{self, CmdError, Command};
use crate::db::{ClientId, Db, Message, Store, Value};
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
///    subscriptions and WATCHed keys leave the store.
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
            },
            decoder: RequestDecoder::new(config.limits),
            input: BytesMut::with_capacity(16 * 1024),
            output: BytesMut::with_capacity(16 * 1024),
            events: VecDeque::new(),
            closing: false,
            config,
            soft_limit_since_ms: None,
        }
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

    /// True while the session accepts more input: it is not closing and its unwritten
    /// output is under [`SessionConfig::max_pending_output_bytes`].
    pub fn wants_read(&self) -> bool {
        !self.closing && self.output.len() < self.config.max_pending_output_bytes
    }

    /// True once the session has asked to close; it executes nothing more.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Executes every complete command in the input, in order, queueing the replies. Stops
    /// early when the pending output passes [`SessionConfig::max_pending_output_bytes`];
    /// the rest of the input waits for the next call.
    pub fn process(&mut self, store: &mut Store, now_ms: u64) {
        while !self.closing && self.output.len() < self.config.max_pending_output_bytes {
            match self.decoder.decode(&mut self.input) {
                Ok(Some(args)) => self.execute(args, store, now_ms),
                Ok(None) => break,
                Err(e) => {
                    encode(
                        &Frame::error(format!("ERR {e}")),
                        self.conn.proto,
                        &mut self.output,
                    );
                    self.close(CloseReason::Protocol(e));
                }
            }
        }
    }

    fn close(&mut self, reason: CloseReason) {
        self.closing = true;
        self.input.clear();
        self.events.push_back(Event::Close(reason));
    }

    fn execute(&mut self, args: Vec<Bytes>, store: &mut Store, now_ms: u64) {
        store.commands_processed += 1;
        // The request is kept for the effects log only when there is one.
        let raw = store.effects_enabled().then(|| args.clone());
        let spec = cmd::lookup(&args).and_then(|spec| {
            // Checked after arity and before the command's own parsing, as Redis does.
            if self.conn.is_subscribed() && self.conn.proto == Protocol::Resp2 && !spec.pubsub_ok {
                return Err(CmdError::NotInPubSubContext(spec.name));
            }
            Ok(spec)
        });
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
                return;
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
                        });
                    }
                    encode(&Frame::simple("QUEUED"), self.conn.proto, &mut self.output);
                    return;
                }
            };
            if let Some(text) = refusal {
                multi.aborted = true;
                encode(&Frame::error(text), self.conn.proto, &mut self.output);
                return;
            }
        }
        let cmd = spec.and_then(|spec| spec.parse(args));
        let mut ctx = Ctx {
            store,
            conn: &mut self.conn,
            now_ms,
            out: &mut self.output,
            events: &mut self.events,
            propagation: Propagation::AsSent,
        };
        let unit = ctx.store.begin_effects_unit();
        let flow = run(cmd, raw, &mut ctx);
        ctx.store.end_effects_unit(unit);
        if let Flow::Close(reason) = flow {
            self.close(reason);
        }
    }

    /// Delivers a pub/sub message published by some connection (see
    /// [`Store::poll_delivery`]). Enforces the pub/sub output limits: a subscriber too far
    /// behind is closed with [`CloseReason::OutputLimit`] and its unwritten output dropped.
    pub fn handle_message(&mut self, message: &Message, now_ms: u64) {
        if self.closing {
            return;
        }
        encode(&message.to_frame(), self.conn.proto, &mut self.output);
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

    /// The connection is gone: removes its subscriptions and watches from the store.
    pub fn handle_close(&mut self, store: &mut Store) {
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
        Ok(Command::Shutdown(_)) => {
            ctx.events.push_back(Event::Shutdown);
            return Flow::Continue;
        }
        Ok(Command::Exec(_)) => {
            match Exec::begin(ctx) {
                Err(refusal) => ctx.reply(refusal),
                Ok(queued) => {
                    encode_array_len(ctx.out, queued.len());
                    for q in queued {
                        // QUIT and SHUTDOWN are never queued, so this cannot close.
                        let _ = run(q.cmd, q.raw, ctx);
                    }
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
        Ok(Command::Persist(c)) => c.apply(ctx),
        Ok(Command::Multi(c)) => c.apply(ctx),
        Ok(Command::Discard(c)) => c.apply(ctx),
        Ok(Command::Watch(c)) => c.apply(ctx),
        Ok(Command::Unwatch(c)) => c.apply(ctx),
        Ok(Command::Publish(c)) => c.apply(ctx),
        Ok(Command::DbSize(c)) => c.apply(ctx),
        Ok(Command::FlushDb(c)) => c.apply(ctx),
        Ok(Command::FlushAll(c)) => c.apply(ctx),
        Ok(Command::ConfigGet(c)) => c.apply(ctx),
    };
    ctx.reply(result.unwrap_or_else(|e| Frame::Error(Bytes::from(e.to_string()))));
    Flow::Continue
}
