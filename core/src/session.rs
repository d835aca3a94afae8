//! The per-connection state machine: bytes in, replies and events out.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use crate::cmd;
use crate::cmd::executor::{self, Caller, ConnState, Ctx, Outcome};
use crate::cmd::reply_stream::ReplyStream;
pub use crate::cmd::ReplyMode;
use crate::db::{encode_invalidation, ClientId, Message, ScriptWatch, Store};
use crate::resp::{encode, Frame, Limits, Protocol, ProtocolError, RequestDecoder};

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

/// One client connection, without the connection: it turns request bytes into reply bytes
/// and events, against a [`Store`] and a time the caller passes in.
///
/// # The adapter's loop
///
/// The servers do not write this loop themselves: [`crate::server::Driver`] runs it, and an
/// adapter answers the driver's actions with socket calls. Code that drives a bare session
/// (tests, another runtime) follows these steps:
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
/// A reply that could grow without bound (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER with a
/// negative count past 1024) comes in pieces: the command writes its header and hands the
/// session the rest as a stream over its own copy of the value, and the session writes the
/// next piece into [`Session::poll_transmit`] only when the adapter has written the last
/// one out ([`Session::consume_transmit`], which needs no store). Meanwhile the session
/// runs nothing more of its input and [`Session::wants_read`] is false
/// ([`Session::is_streaming`]); messages for it wait behind the reply's end.
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
    /// What follows `output`, in order, while a reply comes in pieces: the rest of that
    /// reply, and whatever was written after it (later replies of the same EXEC, pushes).
    /// Empty otherwise. Its streams are pulled into `output` only while `output` is under
    /// [`SessionConfig::max_pending_output_bytes`], and no new command runs until it is
    /// empty again, so replies keep their order and a client that does not read holds a
    /// bounded amount of memory.
    pending: VecDeque<Pending>,
    events: VecDeque<Event>,
    closing: bool,
    config: SessionConfig,
    /// When the pending output of a subscriber first went over the soft limit.
    soft_limit_since_ms: Option<u64>,
    /// A replica's connection: the `replica` class hard limit of
    /// `client-output-buffer-limit` (0: none).
    replica_limit_bytes: u64,
    /// Bytes of a full sync's RDB not yet written: they do not count against that limit
    /// (Redis sends the RDB from a file, not from the output buffer).
    sync_unsent: usize,
    /// The first `process` call happened (the registry entry exists, authentication is
    /// decided).
    started: bool,
    /// [`Store`]'s settings epoch last applied.
    config_epoch: u64,
    /// Input bytes held at the end of the last `process`: what is more was read since.
    input_seen: usize,
    /// Output bytes written since they were last counted in the store's traffic.
    written_uncounted: u64,
    /// What [`Session::process_busy`] left for the store: the request that must wait for
    /// it, what INFO counts of those it answered, the watches of the EXEC it aborted.
    busy: Option<Box<BusyLeft>>,
}

/// A part of the output that waits behind [`Session::output`].
#[derive(Debug)]
enum Pending {
    /// The rest of a reply, written when there is room.
    Stream(ReplyStream),
    /// Bytes written after the stream before them.
    Bytes(BytesMut),
}

/// See [`Session::busy`].
#[derive(Debug, Default)]
struct BusyLeft {
    waiting: Option<Vec<Bytes>>,
    counts: Vec<cmd::busy::BusyCount>,
    unwatch: Vec<(usize, Bytes)>,
}

impl Session {
    /// A session for connection `id` (from [`Store::next_client_id`]).
    pub fn new(id: ClientId, config: SessionConfig) -> Session {
        Session {
            conn: ConnState::new(id),
            decoder: RequestDecoder::new(config.limits),
            input: BytesMut::with_capacity(16 * 1024),
            output: BytesMut::with_capacity(16 * 1024),
            pending: VecDeque::new(),
            events: VecDeque::new(),
            closing: false,
            config,
            soft_limit_since_ms: None,
            replica_limit_bytes: 256 << 20,
            sync_unsent: 0,
            started: false,
            config_epoch: 0,
            busy: None,
            input_seen: 0,
            written_uncounted: 0,
        }
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
        !self.closing
            && self.pending.is_empty()
            && self.output.len() < self.config.max_pending_output_bytes
    }

    /// True while a reply is being written in pieces: the session runs nothing more until
    /// its last piece is in [`Session::poll_transmit`].
    pub fn is_streaming(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Where output goes now: after the pending parts if there are any.
    fn sink(&mut self) -> &mut BytesMut {
        if self.pending.is_empty() {
            return &mut self.output;
        }
        if !matches!(self.pending.back(), Some(Pending::Bytes(_))) {
            self.pending.push_back(Pending::Bytes(BytesMut::new()));
        }
        match self.pending.back_mut() {
            Some(Pending::Bytes(b)) => b,
            _ => unreachable!("pushed above"),
        }
    }

    /// Output not yet written, the pending parts' bytes included (not what the streams
    /// have yet to produce).
    fn output_bytes(&self) -> usize {
        let behind: usize = self
            .pending
            .iter()
            .map(|p| match p {
                Pending::Bytes(b) => b.len(),
                Pending::Stream(_) => 0,
            })
            .sum();
        self.output.len() + behind
    }

    /// Moves pending parts into the output while it is under its limit.
    fn pump(&mut self) {
        let max = self.config.max_pending_output_bytes;
        while self.output.len() < max {
            match self.pending.front_mut() {
                None => return,
                Some(Pending::Stream(s)) => {
                    let room = max - self.output.len();
                    if s.fill(&mut self.output, room) {
                        self.pending.pop_front();
                    }
                }
                Some(Pending::Bytes(b)) => {
                    // Only what fits: the bytes behind a stream may be a big EXEC's rest.
                    let room = max - self.output.len();
                    if b.len() > room {
                        let part = b.split_to(room);
                        self.output.extend_from_slice(&part);
                    } else {
                        self.output.extend_from_slice(b);
                        self.pending.pop_front();
                    }
                }
            }
        }
    }

    /// Puts the streams a command handed over behind the output, each where its reply
    /// stood, with the bytes written after it.
    fn queue_streams(&mut self, streams: Vec<(usize, ReplyStream)>) {
        debug_assert!(self.pending.is_empty());
        let mut streams = streams.into_iter();
        let Some((first, stream)) = streams.next() else {
            return;
        };
        let mut rest = self.output.split_off(first);
        let mut at = first;
        self.pending.push_back(Pending::Stream(stream));
        for (offset, stream) in streams {
            let part = rest.split_to(offset - at);
            if !part.is_empty() {
                self.pending.push_back(Pending::Bytes(part));
            }
            self.pending.push_back(Pending::Stream(stream));
            at = offset;
        }
        if !rest.is_empty() {
            self.pending.push_back(Pending::Bytes(rest));
        }
        self.pump();
    }

    /// True once the session has asked to close; it executes nothing more.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// True once SYNC or PSYNC made this connection a replica's: what it is sent from then
    /// on is the replication stream (an RDB payload, then commands), not replies.
    pub fn is_replica(&self) -> bool {
        self.conn.replica
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
        self.count_traffic(store);
        if !self.started {
            self.started = true;
            store.note_time(now_ms);
            // A password set later does not lock out connections already made, as in Redis.
            self.conn.authenticated = store.acl_mut().default_needs_no_auth();
        }
        if self.config_epoch != store.config_epoch() {
            self.apply_config(store);
        }
        // Killed by another connection (CLIENT KILL, ACL DELUSER, ACL LOAD) whose kill
        // message has not arrived yet: Redis frees the client at once, so nothing more of
        // it runs.
        if !self.closing && store.clients().get(self.conn.id).is_some_and(|c| c.killed) {
            self.handle_message(&Message::Kill, now_ms);
            return;
        }
        if let Some(until) = self.conn.sleep_until_ms {
            if now_ms < until {
                return;
            }
            self.conn.sleep_until_ms = None;
            let proto = self.conn.proto;
            encode(&Frame::OK, proto, self.sink());
        }
        self.pump();
        if !self.pending.is_empty() {
            // The reply in pieces goes first; its client's next commands wait for it.
            self.input_seen = self.input.len();
            if !self.closing {
                cmd::client_sync(&self.conn, store, self.output_bytes(), now_ms);
            }
            return;
        }
        let mut ran = false;
        let waiting = self
            .busy
            .take()
            .and_then(|left| self.settle_busy(*left, store));
        if let Some(args) = waiting.filter(|_| !self.closing) {
            ran = true;
            self.execute(args, store, now_ms);
        }
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
        self.input_seen = self.input.len();
        if !self.closing {
            cmd::client_sync(&self.conn, store, self.output_bytes(), now_ms);
            if ran {
                if let Some(c) = store.clients_mut().get_mut(self.conn.id) {
                    c.last_interaction_ms = now_ms;
                }
            }
        }
    }

    /// Answers what it can of the buffered input while a script has run past
    /// `busy-reply-threshold` and holds the store: `-BUSY` to most commands, SCRIPT KILL,
    /// FUNCTION KILL, SHUTDOWN NOSAVE (see `cmd/busy.rs` for the list). Call it, without
    /// the store, when the store's lock has not come within a short wait and
    /// [`ScriptWatch::busy`] says the script is past its threshold at `now_ms`.
    ///
    /// Returns false when it answered nothing: the next request needs the store, so wait
    /// for the lock and call [`Session::process`]. What INFO counts of the requests answered
    /// here is counted by that next call.
    pub fn process_busy(&mut self, watch: &ScriptWatch, now_ms: u64) -> bool {
        if !self.started
            || self.busy_waiting()
            || self.closing
            || self.conn.blocked
            || self.conn.sleep_until_ms.is_some()
            || self.conn.held.is_some()
        {
            return false;
        }
        let Some((busy, first)) = watch.busy(now_ms) else {
            return false;
        };
        if first {
            tracing::warn!(
                "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the SCRIPT KILL command.",
                watch.running_ms(now_ms)
            );
        }
        let mut answered = false;
        while !self.closing
            && self.pending.is_empty()
            && self.output.len() < self.config.max_pending_output_bytes
        {
            let args = match self.decoder.decode(&mut self.input) {
                Ok(Some(args)) => args,
                // A protocol error is the store-free part of `process`'s handling anyway.
                Ok(None) | Err(_) => break,
            };
            let watched_before = self.conn.multi.is_some();
            match cmd::busy::step(&mut self.conn, watch, busy, &args) {
                cmd::busy::BusyStep::Answered { reply, count } => {
                    answered = true;
                    let left = self.busy.get_or_insert_with(Default::default);
                    left.counts.push(count);
                    if watched_before && self.conn.multi.is_none() {
                        left.unwatch.extend(std::mem::take(&mut self.conn.watched));
                    }
                    let mark = self.output.len();
                    encode(&reply, self.conn.proto, &mut self.output);
                    self.apply_reply_mode(mark);
                }
                cmd::busy::BusyStep::Quit => {
                    answered = true;
                    encode(&Frame::OK, self.conn.proto, &mut self.output);
                    self.close(CloseReason::Quit);
                }
                cmd::busy::BusyStep::Wait => {
                    self.busy.get_or_insert_with(Default::default).waiting = Some(args);
                    break;
                }
            }
        }
        answered
    }

    /// True while a request [`Session::process_busy`] could not answer waits for the store.
    pub fn busy_waiting(&self) -> bool {
        self.busy
            .as_ref()
            .is_some_and(|left| left.waiting.is_some())
    }

    /// Counts in INFO what [`Session::process_busy`] answered, drops the watches of the
    /// EXEC it aborted, and gives back the request that waited for the store.
    fn settle_busy(&mut self, left: BusyLeft, store: &mut Store) -> Option<Vec<Bytes>> {
        for count in left.counts {
            let code = count.error.as_deref().map(str::as_bytes);
            if !count.rejected {
                store.commands_processed += 1;
            }
            match count.stat {
                Some(name) => store.stats_mut().record(name, count.rejected, code, false),
                None => {
                    if let Some(code) = code {
                        store.stats_mut().record_error(code);
                    }
                }
            }
        }
        if !left.unwatch.is_empty() {
            store.unwatch_all(self.conn.id, left.unwatch);
        }
        left.waiting
    }

    /// Reports the bytes read and written since the last report (INFO stats' traffic).
    fn count_traffic(&mut self, store: &mut Store) {
        let read = self.input.len().saturating_sub(self.input_seen) as u64;
        let written = std::mem::take(&mut self.written_uncounted);
        if read > 0 || written > 0 {
            store.count_traffic(read, written);
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
            self.replica_limit_bytes = c.output_limit_replica.hard_bytes;
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
        // The rest of a reply in pieces is not written when the client goes.
        self.pending.clear();
        self.input.clear();
        self.events.push_back(Event::Close(reason));
    }

    /// Runs one request through the executor, then applies what is the connection's:
    /// CLIENT REPLY, closing, shutting down.
    fn execute(&mut self, args: Vec<Bytes>, store: &mut Store, now_ms: u64) {
        let mark = self.output.len();
        // A replica gets nothing but the stream: its REPLCONF ACKs are not answered.
        let replica = self.conn.replica;
        let mut ctx = Ctx::new(
            store,
            &mut self.conn,
            now_ms,
            &mut self.output,
            Caller::CLIENT,
        );
        let outcome = executor::execute(&mut ctx, args);
        let streams = ctx.take_streams();
        if replica {
            self.output.truncate(mark);
            return;
        }
        match outcome {
            // Nothing replied: the request runs when the pause ends.
            Outcome::Held => return,
            Outcome::Quit => self.close(CloseReason::Quit),
            Outcome::Shutdown => self.events.push_back(Event::Shutdown),
            _ => {}
        }
        // A reply that is not sent (CLIENT REPLY OFF) drops its streams too.
        if !streams.is_empty() && self.conn.reply == ReplyMode::On {
            self.queue_streams(streams);
        }
        self.apply_reply_mode(mark);
        // Invalidations of keys this command changed go right after its reply — even
        // when the reply itself is not sent (CLIENT REPLY OFF), as in Redis.
        if store.tracking.has_pending() {
            self.write_own_invalidations(store);
        }
        if self.conn.close_after_reply {
            self.conn.close_after_reply = false;
            self.close(CloseReason::Killed);
        }
    }

    /// CLIENT REPLY: drops the reply written from `mark` on when it is not to be sent.
    fn apply_reply_mode(&mut self, mark: usize) {
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
    }

    #[cold]
    fn write_own_invalidations(&mut self, store: &mut Store) {
        for what in store.tracking.take_pending() {
            match store.route_invalidation(self.conn.id, what) {
                Some((to, message)) if to == self.conn.id => {
                    self.write_push(&message);
                }
                Some((to, message)) => store.deliver(to, message),
                None => {}
            }
        }
    }

    /// Writes a client-side caching message; false if this connection gets nothing of it
    /// (RESP2 without a subscription).
    fn write_push(&mut self, message: &Message) -> bool {
        match message {
            Message::Invalidate { what, redirected } => {
                let (proto, subscribed) = (self.conn.proto, self.conn.is_subscribed());
                encode_invalidation(what, *redirected, proto, subscribed, self.sink())
            }
            Message::TrackingRedirBroken(id) if self.conn.proto == Protocol::Resp3 => {
                let out = self.sink();
                out.extend_from_slice(b">2\r\n");
                crate::resp::encode_bulk(out, b"tracking-redir-broken");
                encode(&Frame::Integer(*id as i64), Protocol::Resp3, out);
                true
            }
            _ => false,
        }
    }

    /// Delivers a pub/sub message published by some connection (see
    /// [`Store::poll_delivery`]). Enforces the pub/sub output limits: a subscriber too far
    /// behind is closed with [`CloseReason::OutputLimit`] and its unwritten output dropped.
    pub fn handle_message(&mut self, message: &Message, now_ms: u64) {
        if self.closing {
            return;
        }
        if let Message::Unblocked(reply) = message {
            self.sink().extend_from_slice(reply);
            self.conn.blocked = false;
            return;
        }
        if let Message::Monitor(line) = message {
            self.sink().extend_from_slice(line);
            return;
        }
        if let Message::Replication(bytes) | Message::ReplicaSync(bytes) = message {
            self.sink().extend_from_slice(bytes);
            if matches!(message, Message::ReplicaSync(_)) {
                self.sync_unsent += bytes.len();
            }
            let pending = self.output_bytes();
            let limit = self.replica_limit_bytes;
            if limit > 0 && pending.saturating_sub(self.sync_unsent) as u64 > limit {
                self.output.clear();
                self.pending.clear();
                self.close(CloseReason::OutputLimit {
                    pending_bytes: pending,
                });
            }
            return;
        }
        if matches!(message, Message::Kill) {
            // Whatever was not written is dropped, as Redis frees the client at once.
            self.output.clear();
            self.pending.clear();
            self.close(CloseReason::Killed);
            return;
        }
        if matches!(
            message,
            Message::Invalidate { .. } | Message::TrackingRedirBroken(_)
        ) {
            if !self.write_push(message) {
                return;
            }
        } else {
            let Some(frame) = message.to_frame() else {
                return;
            };
            let proto = self.conn.proto;
            encode(&frame, proto, self.sink());
        }
        let pending = self.output_bytes();
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
            self.pending.clear();
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
        let n = n.min(self.output.len());
        self.written_uncounted += n as u64;
        self.output.advance(n);
        self.sync_unsent = self.sync_unsent.saturating_sub(n);
        // The next piece of a reply needs no store: it comes from the stream's own copy.
        self.pump();
        if self.output_bytes() <= self.config.pubsub_soft_limit_bytes {
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
        self.count_traffic(store);
        store.stop_monitor(self.conn.id);
        // A replica leaves the master's list; a client in WAIT stops waiting.
        store.remove_replica(self.conn.id);
        store.take_blocked(self.conn.id);
        store.release_client(self.conn.id);
        store.clients_mut().remove(self.conn.id);
        store.disable_tracking(self.conn.id);
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
