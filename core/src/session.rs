//! The per-connection state machine: bytes in, replies and events out.

use std::collections::{HashSet, VecDeque};

use bytes::{Buf, Bytes, BytesMut};

use crate::cmd::{self, CmdError, Command};
use crate::db::{ClientId, Db, Message, Store, Value};
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

/// What a command sees while it runs: the store, its own connection, the time, and where
/// its reply goes.
pub(crate) struct Ctx<'a> {
    pub store: &'a mut Store,
    pub conn: &'a mut ConnState,
    pub now_ms: u64,
    out: &'a mut BytesMut,
}

impl Ctx<'_> {
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
///    subscriptions leave the store.
///
/// Replies come out in request order. A protocol error queues Redis's error reply and a
/// [`Event::Close`]; commands before it in the same input still run, as in Redis.
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
        let cmd = cmd::lookup(&args).and_then(|spec| {
            // Checked after arity and before the command's own parsing, as Redis does.
            if self.conn.is_subscribed() && self.conn.proto == Protocol::Resp2 && !spec.pubsub_ok {
                return Err(CmdError::NotInPubSubContext(spec.name));
            }
            spec.parse(args)
        });
        let mut ctx = Ctx {
            store,
            conn: &mut self.conn,
            now_ms,
            out: &mut self.output,
        };
        let result = match cmd {
            Err(e) => Err(e),
            Ok(Command::Quit) => {
                ctx.reply(Frame::OK);
                self.close(CloseReason::Quit);
                return;
            }
            Ok(Command::Shutdown(_)) => {
                self.events.push_back(Event::Shutdown);
                return;
            }
            Ok(Command::Subscribe(c)) => return c.apply(&mut ctx),
            Ok(Command::Unsubscribe(c)) => return c.apply(&mut ctx),
            Ok(Command::PSubscribe(c)) => return c.apply(&mut ctx),
            Ok(Command::PUnsubscribe(c)) => return c.apply(&mut ctx),
            Ok(Command::Ping(c)) => c.apply(&mut ctx),
            Ok(Command::Echo(c)) => Ok(Frame::Bulk(c.message)),
            Ok(Command::Hello(c)) => c.apply(&mut ctx),
            Ok(Command::Select(c)) => c.apply(&mut ctx),
            Ok(Command::Get(c)) => match c.apply(&mut ctx) {
                Ok(()) => return,
                Err(e) => Err(e),
            },
            Ok(Command::Set(c)) => c.apply(&mut ctx),
            Ok(Command::Del(c)) => c.apply(&mut ctx),
            Ok(Command::Exists(c)) => c.apply(&mut ctx),
            Ok(Command::Expire(c)) => c.apply(&mut ctx),
            Ok(Command::Ttl(c)) => c.apply(&mut ctx),
            Ok(Command::Persist(c)) => c.apply(&mut ctx),
            Ok(Command::Publish(c)) => c.apply(&mut ctx),
            Ok(Command::DbSize(c)) => c.apply(&mut ctx),
            Ok(Command::FlushDb(c)) => c.apply(&mut ctx),
            Ok(Command::FlushAll(c)) => c.apply(&mut ctx),
            Ok(Command::ConfigGet(c)) => c.apply(&mut ctx),
        };
        ctx.reply(result.unwrap_or_else(|e| e.to_frame()));
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

    /// The connection is gone: removes its subscriptions from the store.
    pub fn handle_close(&mut self, store: &mut Store) {
        for ch in self.conn.channels.drain() {
            store.pubsub.unsubscribe(self.conn.id, &ch);
        }
        for p in self.conn.patterns.drain() {
            store.pubsub.punsubscribe(self.conn.id, &p);
        }
        self.closing = true;
    }
}
