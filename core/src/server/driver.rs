//! One client connection's run loop, written once for every adapter: when to read, process,
//! write, hand over deliveries, drain at shutdown, give up on a closing connection and
//! finish. The adapter only moves bytes, waits on its runtime's futures and takes the
//! store lock; every decision in between is the [`Driver`]'s.

use bytes::BytesMut;

use super::{conn, handle_delivery, process_and_route};
use crate::db::{Delivery, Message, ScriptWatch};
use crate::{Event, Session, SessionConfig, Store};

/// A [`Session`] with the state of the connection around it: where reading stands, what
/// the socket took, what is due, and when the connection gives up.
///
/// # The run loop
///
/// One rule: call [`Driver::poll_action`] and do what it says, until it says
/// [`Action::Finish`]. Every action is answered by one `handle_*` call (or
/// [`Driver::process`]) before the next `poll_action`:
///
/// | [`Action`]            | the adapter                                  | then calls                                             |
/// |-----------------------|----------------------------------------------|--------------------------------------------------------|
/// | `TakeDelivery`        | takes a queued delivery, without waiting     | [`handle_delivery`], [`handle_shutdown_notice`] or [`handle_no_delivery`] |
/// | `Process`             | locks the store                              | [`process`], then (unlocked) waits for persistence     |
/// | `Write(bytes)`        | writes them, without waiting                 | [`handle_written`] or [`handle_write_blocked`]         |
/// | `Event(event)`        | logs it; `Shutdown` stops the server         | —                                                      |
/// | `ReadNow`             | reads into [`read_buf`], without waiting     | [`handle_read`] or [`handle_read_blocked`]             |
/// | `Yield`               | lets the runtime run other tasks once        | —                                                      |
/// | `Wait(wants)`         | waits for the first of [`Wants`]             | the `handle_*` of what happened                        |
/// | `Finish { graceful }` | locks the store                              | [`handle_close`]; if graceful, FIN and linger          |
///
/// Any socket error, at any step: [`handle_io_error`] (the next action is `Finish`).
///
/// The order of the actions is the policy: deliveries already queued are all taken before
/// the next write (up to [`conn::MAX_MESSAGES_PER_WRITE`]), so they leave in one write;
/// input is processed as soon as it is read, and all the replies of a batch leave in one
/// write; events come after the write that carries the replies before them, so a
/// `SHUTDOWN` never stops the server ahead of its connection's last replies.
///
/// [`handle_delivery`]: Driver::handle_delivery
/// [`handle_shutdown_notice`]: Driver::handle_shutdown_notice
/// [`handle_no_delivery`]: Driver::handle_no_delivery
/// [`process`]: Driver::process
/// [`handle_written`]: Driver::handle_written
/// [`handle_write_blocked`]: Driver::handle_write_blocked
/// [`read_buf`]: Driver::read_buf
/// [`handle_read`]: Driver::handle_read
/// [`handle_read_blocked`]: Driver::handle_read_blocked
/// [`handle_close`]: Driver::handle_close
/// [`handle_io_error`]: Driver::handle_io_error
///
/// ```
/// use redish_core::server::{Action, Driver};
/// use redish_core::{SessionConfig, Store};
///
/// let mut store = Store::default();
/// let mut driver = Driver::new(store.next_client_id(), SessionConfig::default());
/// let now = 1_700_000_000_000;
/// driver.read_buf().extend_from_slice(b"PING\r\nQUIT\r\n");
/// driver.handle_read(12);
/// assert!(matches!(driver.poll_action(), Action::Process));
/// driver.process(&mut store, now, |_| {});
/// let Action::Write(out) = driver.poll_action() else { panic!() };
/// assert_eq!(out, b"+PONG\r\n+OK\r\n");
/// driver.handle_written(12);
/// assert!(matches!(driver.poll_action(), Action::Event(_))); // QUIT's close
/// assert!(matches!(driver.poll_action(), Action::Finish { graceful: true }));
/// driver.handle_close(&mut store);
/// ```
#[derive(Debug)]
pub struct Driver {
    session: Session,
    input: Input,
    /// The last [`Driver::process`] stopped on too much pending output with input possibly
    /// left: run it again once some output is written.
    paused: bool,
    /// Input arrived, a blocked or held session got what it waited for, or its timer
    /// passed: run [`Driver::process`] before anything else.
    process_due: bool,
    /// [`Driver::process_busy`] left input for the store: process once its replies are
    /// written.
    process_after_write: bool,
    /// The socket took less than it was offered: wait until it is writable again.
    write_blocked: bool,
    /// The channel of deliveries is still open.
    deliveries_open: bool,
    /// Deliveries taken since the first one of this batch arrived; `None`: no batch.
    batch: Option<usize>,
    /// Input taken since the shutdown notice.
    drained_bytes: usize,
    /// Armed when the connection starts closing (or the server shuts down), to bound the
    /// wait for a client that never reads its last replies.
    close_deadline_ms: Option<u64>,
    /// The socket failed, or the close deadline passed: finish at once, without FIN.
    aborted: bool,
    /// Bytes written since the connection last waited or yielded.
    burst_bytes: usize,
}

/// Where reading from the client stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// Reading as usual.
    Open,
    /// The server shuts down: take what the socket already holds, without waiting for more.
    Draining,
    /// No more reading (end of stream, or shutdown drain over).
    Done,
}

/// What the adapter does next, from [`Driver::poll_action`]. See [`Driver`] for how each
/// one is answered.
#[derive(Debug)]
pub enum Action<'a> {
    /// Take the next delivery already queued for this connection, without waiting.
    TakeDelivery,
    /// With the store locked, call [`Driver::process`]; after unlocking, wait until
    /// persistence holds the batch's writes as `appendfsync` promises, so that no reply
    /// goes out before that.
    Process,
    /// Write these bytes without waiting for the socket.
    Write(&'a [u8]),
    /// Act on this session event: log it; on [`Event::Shutdown`] stop the server.
    Event(Event),
    /// The server is shutting down: read what the socket already holds into
    /// [`Driver::read_buf`] (a real non-blocking read), without waiting for more.
    ReadNow,
    /// Give other tasks of the runtime a turn (Tokio's and async-std's `yield_now`), then
    /// go on: the connection wrote [`conn::MAX_WRITE_BURST_BYTES`] without waiting.
    Yield,
    /// Nothing to do until one of these happens.
    Wait(Wants),
    /// The connection is over: call [`Driver::handle_close`] with the store locked, then,
    /// if `graceful`, shut the socket's write side (FIN) and linger for the peer's close
    /// ([`conn::LINGER`]); otherwise just drop the socket.
    Finish {
        /// False when the socket failed or the close deadline passed.
        graceful: bool,
    },
}

/// What an [`Action::Wait`] waits for: the first of these to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    /// Output is pending and the socket took no more: wait until it is writable and call
    /// [`Driver::handle_writable`] — or, with an API that writes to learn it, write
    /// [`Driver::poll_transmit`] and call [`Driver::handle_written`].
    pub writable: bool,
    /// Wait for input into [`Driver::read_buf`], then call [`Driver::handle_read`]. False:
    /// do not read, which pushes back on the client.
    pub readable: bool,
    /// Wait for a delivery, then hand it over as for [`Action::TakeDelivery`]; if the
    /// channel closes, call [`Driver::handle_deliveries_closed`].
    pub deliveries: bool,
    /// Once this time (Unix ms) has come, call [`Driver::handle_timeout`]. A timer that
    /// fired must be armed again if the next `Wait` asks for the same time.
    pub timeout_ms: Option<u64>,
}

impl Driver {
    /// The driver of a new connection `id` (from [`Store::next_client_id`]).
    pub fn new(id: crate::ClientId, config: SessionConfig) -> Driver {
        Driver {
            session: Session::new(id, config),
            input: Input::Open,
            paused: false,
            process_due: false,
            process_after_write: false,
            write_blocked: false,
            deliveries_open: true,
            batch: None,
            drained_bytes: 0,
            close_deadline_ms: None,
            aborted: false,
            burst_bytes: 0,
        }
    }

    /// The session, to look at.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// What the adapter does next.
    pub fn poll_action(&mut self) -> Action<'_> {
        if self.aborted {
            return Action::Finish { graceful: false };
        }
        if let Some(taken) = self.batch {
            if taken < conn::MAX_MESSAGES_PER_WRITE && self.deliveries_open {
                return Action::TakeDelivery;
            }
            self.batch = None;
        }
        if self.process_due || (self.paused && self.session.wants_read()) {
            return Action::Process;
        }
        if !self.write_blocked && !self.session.poll_transmit().is_empty() {
            if self.burst_bytes >= conn::MAX_WRITE_BURST_BYTES {
                self.burst_bytes = 0;
                return Action::Yield;
            }
            let out = self.session.poll_transmit();
            return Action::Write(&out[..out.len().min(conn::MAX_WRITE_BURST_BYTES)]);
        }
        if std::mem::take(&mut self.process_after_write) {
            return Action::Process;
        }
        if let Some(event) = self.session.poll_event() {
            return Action::Event(event);
        }
        if self.is_finished() {
            return Action::Finish { graceful: true };
        }
        if self.input == Input::Draining && self.session.wants_read() {
            return Action::ReadNow;
        }
        let deadlines = [self.close_deadline_ms, self.session.poll_timeout()];
        self.burst_bytes = 0;
        Action::Wait(Wants {
            writable: !self.session.poll_transmit().is_empty(),
            readable: self.should_read(),
            deliveries: self.deliveries_open,
            timeout_ms: deadlines.into_iter().flatten().min(),
        })
    }

    /// The buffer to read into, with at least [`conn::MIN_READ_BYTES`] of spare capacity;
    /// report what was appended with [`Driver::handle_read`]. Reuses its own allocation
    /// once the commands read into it are done with.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        let buf = self.session.read_buf();
        if buf.capacity() - buf.len() < conn::MIN_READ_BYTES {
            buf.reserve(conn::READ_CHUNK_BYTES);
        }
        buf
    }

    /// `n` bytes were appended to [`Driver::read_buf`]; 0 is the end of the stream.
    pub fn handle_read(&mut self, n: usize) {
        if n == 0 {
            self.input = Input::Done;
            return;
        }
        self.process_due = true;
        if self.input == Input::Draining {
            self.drained_bytes += n;
            if self.drained_bytes >= conn::MAX_DRAIN_BYTES {
                self.input = Input::Done;
            }
        }
    }

    /// An [`Action::ReadNow`] found nothing: the shutdown drain is over.
    pub fn handle_read_blocked(&mut self) {
        if self.input == Input::Draining {
            self.input = Input::Done;
        }
    }

    /// Bytes waiting to be written, in order ([`Action::Write`] carries the first
    /// [`conn::MAX_WRITE_BURST_BYTES`] of them).
    pub fn poll_transmit(&self) -> &[u8] {
        self.session.poll_transmit()
    }

    /// The socket took the first `n` bytes of [`Driver::poll_transmit`]. Less than all of
    /// them means it is full: the next write waits until it is writable.
    pub fn handle_written(&mut self, n: usize) {
        let pending = self.session.poll_transmit().len();
        if n == 0 && pending > 0 {
            // A socket that takes nothing without saying it would block never will.
            self.aborted = true;
            return;
        }
        self.session.consume_transmit(n);
        // A write is offered at most a burst; less than that means the socket is full.
        self.write_blocked = n < pending.min(conn::MAX_WRITE_BURST_BYTES);
        self.burst_bytes = self.burst_bytes.saturating_add(n);
    }

    /// The socket took nothing and would block.
    pub fn handle_write_blocked(&mut self) {
        self.write_blocked = true;
    }

    /// The socket is writable again.
    pub fn handle_writable(&mut self) {
        self.write_blocked = false;
    }

    /// The socket failed (read or write): the connection finishes at once, without FIN.
    pub fn handle_io_error(&mut self) {
        self.aborted = true;
    }

    /// Hands a message routed from elsewhere in the server (a [`Delivery`] for this
    /// connection) to the session. A blocked session that gets its reply, or a held one
    /// that CLIENT UNPAUSE releases, runs what it had pipelined at the next
    /// [`Action::Process`].
    pub fn handle_delivery(&mut self, message: &Message, now_ms: u64) {
        self.count_delivery();
        if handle_delivery(&mut self.session, message, now_ms) {
            self.process_due = true;
        }
        self.note_closing(now_ms);
    }

    /// The server shuts down: the connection takes what its socket already holds (at most
    /// [`conn::MAX_DRAIN_BYTES`]), executes it, writes the replies and finishes, within
    /// [`conn::CLOSE_TIMEOUT`].
    pub fn handle_shutdown_notice(&mut self, now_ms: u64) {
        self.count_delivery();
        if self.input == Input::Open {
            self.input = Input::Draining;
        }
        self.arm_close_deadline(now_ms);
    }

    /// An [`Action::TakeDelivery`] found none queued: this batch of deliveries is complete.
    pub fn handle_no_delivery(&mut self) {
        self.batch = None;
    }

    /// The channel of deliveries closed: stop waiting on it.
    pub fn handle_deliveries_closed(&mut self) {
        self.deliveries_open = false;
        self.batch = None;
    }

    /// The time of [`Wants::timeout_ms`] has come (or maybe not quite: nothing happens
    /// before its time). Past the close deadline the connection gives up; past the
    /// session's own timer (DEBUG SLEEP, a CLIENT PAUSE holding a command), it processes.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.close_deadline_ms.is_some_and(|at| at <= now_ms) {
            self.aborted = true;
        }
        if self.session.poll_timeout().is_some_and(|at| at <= now_ms) {
            self.process_due = true;
        }
    }

    /// Executes what the session has buffered and routes the deliveries that made: those
    /// for this session are handed to it, every other one goes to `elsewhere` (to be handed
    /// to its connection's [`Driver::handle_delivery`]). Call with the store held
    /// exclusively.
    pub fn process(&mut self, store: &mut Store, now_ms: u64, elsewhere: impl FnMut(Delivery)) {
        self.process_due = false;
        self.paused = process_and_route(&mut self.session, store, now_ms, elsewhere);
        self.note_closing(now_ms);
    }

    /// For an [`Action::Process`] while a script holds the store past
    /// `busy-reply-threshold` ([`ScriptWatch::busy`]): answers, without the store, what
    /// [`Session::process_busy`] can. False if it answered nothing: wait for the store then
    /// and call [`Driver::process`]. True: the replies go out first, and whatever input
    /// is left comes back as another [`Action::Process`].
    pub fn process_busy(&mut self, watch: &ScriptWatch, now_ms: u64) -> bool {
        if !self.session.process_busy(watch, now_ms) {
            return false;
        }
        self.process_due = false;
        self.process_after_write = self.session.input_len() > 0 || self.session.busy_waiting();
        self.note_closing(now_ms);
        true
    }

    /// The connection is gone: its subscriptions, watches, blocked keys and client registry
    /// entry leave the store. Call once, with the store held, after [`Action::Finish`].
    pub fn handle_close(&mut self, store: &mut Store) {
        self.session.handle_close(store);
    }

    fn count_delivery(&mut self) {
        self.batch = Some(self.batch.map_or(1, |taken| taken + 1));
    }

    fn note_closing(&mut self, now_ms: u64) {
        if self.session.is_closing() {
            self.arm_close_deadline(now_ms);
        }
    }

    fn arm_close_deadline(&mut self, now_ms: u64) {
        let timeout_ms = conn::CLOSE_TIMEOUT.as_millis() as u64;
        self.close_deadline_ms.get_or_insert(now_ms + timeout_ms);
    }

    /// True when the connection should wait for more input: reading is open, the session
    /// takes input, and a session that executes nothing for now (blocked, sleeping) has not
    /// buffered [`conn::MAX_STALLED_INPUT_BYTES`] already — past that the client is pushed
    /// back.
    fn should_read(&self) -> bool {
        let s = &self.session;
        let stalled = s.is_blocked() || s.poll_timeout().is_some();
        self.input == Input::Open
            && s.wants_read()
            && !(stalled && s.input_len() >= conn::MAX_STALLED_INPUT_BYTES)
    }

    /// True when the connection is done: closing or at the end of its input, with nothing
    /// left to write or run. A sleeping session (DEBUG SLEEP) still owes its reply; a
    /// blocked one (BLPOP) whose client has gone is dropped, as Redis does.
    fn is_finished(&self) -> bool {
        let s = &self.session;
        let closing = s.is_closing();
        (closing || self.input == Input::Done)
            && s.poll_transmit().is_empty()
            && !self.paused
            && (closing || s.poll_timeout().is_none())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use bytes::Bytes;

    use super::*;
    use crate::server::client_conn;
    use crate::CloseReason;

    const NOW: u64 = 1_700_000_000_000;

    /// What a connection's channel brings.
    enum Queued {
        Deliver(Message),
        Shutdown,
    }

    /// A connection's socket and channel, in memory, and what the driver did with them.
    struct Peer {
        /// Sent by the client and not yet read by the server.
        sent: Vec<u8>,
        /// How much more the socket takes before it would block.
        write_room: usize,
        /// The bytes of each write, in order.
        writes: Vec<Vec<u8>>,
        queued: VecDeque<Queued>,
        events: Vec<Event>,
        /// Deliveries for other connections.
        routed: Vec<Delivery>,
        /// The actions taken, in order, by name.
        trace: Vec<&'static str>,
    }

    /// Where [`Peer::run`] stopped.
    #[derive(Debug, PartialEq)]
    enum Stop {
        Wait(Wants),
        Finish { graceful: bool },
    }

    impl Peer {
        fn new() -> Peer {
            Peer {
                sent: Vec::new(),
                write_room: usize::MAX,
                writes: Vec::new(),
                queued: VecDeque::new(),
                events: Vec::new(),
                routed: Vec::new(),
                trace: Vec::new(),
            }
        }

        /// Does what the driver asks until it waits or finishes, as an adapter does.
        fn run(&mut self, d: &mut Driver, store: &mut Store, now: u64) -> Stop {
            for _ in 0..100_000 {
                match d.poll_action() {
                    Action::TakeDelivery => {
                        self.trace.push("take");
                        if !self.deliver(d, now) {
                            d.handle_no_delivery();
                        }
                    }
                    Action::Process => {
                        self.trace.push("process");
                        d.process(store, now, |x| self.routed.push(x));
                    }
                    Action::Write(out) => {
                        self.trace.push("write");
                        let n = out.len().min(self.write_room);
                        if n == 0 {
                            d.handle_write_blocked();
                        } else {
                            self.write_room -= n;
                            self.writes.push(out[..n].to_vec());
                            d.handle_written(n);
                        }
                    }
                    Action::Event(e) => {
                        self.trace.push("event");
                        self.events.push(e);
                    }
                    Action::ReadNow => {
                        self.trace.push("read now");
                        if self.sent.is_empty() {
                            d.handle_read_blocked();
                        } else {
                            let n = self.sent.len().min(conn::READ_CHUNK_BYTES);
                            d.read_buf().extend_from_slice(&self.sent[..n]);
                            self.sent.drain(..n);
                            d.handle_read(n);
                        }
                    }
                    Action::Yield => self.trace.push("yield"),
                    Action::Wait(wants) => return Stop::Wait(wants),
                    Action::Finish { graceful } => return Stop::Finish { graceful },
                }
            }
            panic!(
                "the driver spins: {:?}",
                &self.trace[self.trace.len() - 20..]
            );
        }

        /// Hands over the next queued delivery, as a wait that woke on the channel does.
        fn deliver(&mut self, d: &mut Driver, now: u64) -> bool {
            match self.queued.pop_front() {
                Some(Queued::Deliver(m)) => d.handle_delivery(&m, now),
                Some(Queued::Shutdown) => d.handle_shutdown_notice(now),
                None => return false,
            }
            true
        }

        fn written(&self) -> Vec<u8> {
            self.writes.concat()
        }
    }

    /// Input arriving, as a wait that woke on a readable socket reads it.
    fn send(d: &mut Driver, bytes: &[u8]) {
        d.read_buf().extend_from_slice(bytes);
        d.handle_read(bytes.len());
    }

    fn driver(store: &mut Store) -> Driver {
        Driver::new(store.next_client_id(), SessionConfig::default())
    }

    /// What an open, idle connection waits for.
    const IDLE: Wants = Wants {
        writable: false,
        readable: true,
        deliveries: true,
        timeout_ms: None,
    };

    const CLOSE_TIMEOUT_MS: u64 = conn::CLOSE_TIMEOUT.as_millis() as u64;

    #[test]
    fn pipelined_replies_leave_in_one_write() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        send(&mut d, b"PING\r\nSET a 1\r\nGET a\r\n");
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        assert_eq!(peer.writes, [b"+PONG\r\n+OK\r\n$1\r\n1\r\n".to_vec()]);
        assert_eq!(peer.trace, ["process", "write"]);
    }

    #[test]
    fn a_partial_write_keeps_the_rest() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        peer.write_room = 4;
        send(&mut d, b"PING\r\nPING\r\n");
        let blocked = Wants {
            writable: true,
            ..IDLE
        };
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(blocked));
        assert_eq!(peer.writes, [b"+PON".to_vec()]);
        assert_eq!(d.poll_transmit(), b"G\r\n+PONG\r\n");
        // Woken while still full: the write would block, the driver waits again.
        d.handle_writable();
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(blocked));
        peer.write_room = usize::MAX;
        d.handle_writable();
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        assert_eq!(peer.written(), b"+PONG\r\n+PONG\r\n");
        assert_eq!(peer.writes.len(), 2);
    }

    #[test]
    fn a_socket_that_takes_nothing_fails() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        send(&mut d, b"PING\r\n");
        let mut peer = Peer::new();
        peer.write_room = 0;
        peer.run(&mut d, &mut store, NOW);
        d.handle_writable();
        assert!(matches!(d.poll_action(), Action::Write(_)));
        d.handle_written(0);
        assert!(matches!(
            d.poll_action(),
            Action::Finish { graceful: false }
        ));
    }

    #[test]
    fn a_paused_session_resumes_after_writing() {
        let mut store = Store::default();
        let config = SessionConfig {
            max_pending_output_bytes: 64,
            ..SessionConfig::default()
        };
        let mut d = Driver::new(store.next_client_id(), config);
        let mut peer = Peer::new();
        peer.write_room = 0;
        send(&mut d, &b"PING\r\n".repeat(100));
        // Output full: processing stops and reading with it, which pushes back on the client.
        let full = Wants {
            writable: true,
            readable: false,
            ..IDLE
        };
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(full));
        let pending = d.poll_transmit().len();
        assert!((64..100 * 7).contains(&pending), "{pending}");
        assert!(d.session().input_len() > 0);
        peer.write_room = usize::MAX;
        d.handle_writable();
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        assert_eq!(peer.written(), b"+PONG\r\n".repeat(100));
        assert_eq!(d.session().input_len(), 0);
        // Each write of a paused session is followed by processing the rest.
        let resumed = peer.trace.windows(2).filter(|w| w == &["write", "process"]);
        assert!(resumed.count() >= 5, "{:?}", peer.trace);
    }

    #[test]
    fn a_reply_in_pieces_leaves_as_the_socket_takes_it_and_yields_between_bursts() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        send(
            &mut d,
            b"SADD s a b c\r\nSRANDMEMBER s -1000000\r\nPING\r\n",
        );
        // A socket with 3 MiB of room: it fills, then the connection waits for it, with
        // no more than the output limit pending and nothing read meanwhile.
        peer.write_room = 3 << 20;
        let full = Wants {
            writable: true,
            readable: false,
            ..IDLE
        };
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(full));
        let pending = d.poll_transmit().len();
        assert!(pending <= SessionConfig::default().max_pending_output_bytes + 64);
        assert_eq!(peer.written().len(), 3 << 20);
        let yields = peer.trace.iter().filter(|t| **t == "yield").count();
        // A write takes up to the whole output (1 MiB here), a yield follows each burst.
        assert!(yields >= 2, "{:?}", peer.trace);
        // Once the socket takes everything, the whole reply and the pipeline's rest leave.
        peer.write_room = usize::MAX;
        d.handle_writable();
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        let out = peer.written();
        assert!(out.starts_with(b":3\r\n*1000000\r\n$1\r\n"));
        assert!(out.ends_with(b"\r\n+PONG\r\n"));
        assert_eq!(out.len(), 4 + 10 + 1_000_000 * 7 + 7);
    }

    #[test]
    fn shutdown_drains_buffered_input_then_finishes() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        // Already in the socket when the notice comes: read, executed, answered.
        peer.sent = b"SET k 1\r\nINCR k\r\n".to_vec();
        peer.queued.push_back(Queued::Shutdown);
        assert!(peer.deliver(&mut d, NOW));
        let stop = peer.run(&mut d, &mut store, NOW);
        assert_eq!(stop, Stop::Finish { graceful: true });
        assert_eq!(peer.written(), b"+OK\r\n:2\r\n");
        assert_eq!(
            peer.trace,
            ["take", "read now", "process", "write", "read now"]
        );
    }

    #[test]
    fn shutdown_drains_while_the_socket_is_full() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        peer.write_room = 0;
        // More than one read: the drain goes on although no reply could be written yet.
        peer.sent = b"PING\r\n".repeat(3_000);
        peer.queued.push_back(Queued::Shutdown);
        assert!(peer.deliver(&mut d, NOW));
        let flushing = Wants {
            writable: true,
            readable: false,
            deliveries: true,
            timeout_ms: Some(NOW + CLOSE_TIMEOUT_MS),
        };
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(flushing));
        assert!(peer.sent.is_empty());
        peer.write_room = usize::MAX;
        d.handle_writable();
        let stop = peer.run(&mut d, &mut store, NOW + 10);
        assert_eq!(stop, Stop::Finish { graceful: true });
        assert_eq!(peer.written(), b"+PONG\r\n".repeat(3_000));
    }

    #[test]
    fn the_shutdown_drain_is_bounded() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        d.handle_shutdown_notice(NOW);
        d.handle_no_delivery();
        assert!(matches!(d.poll_action(), Action::ReadNow));
        // What one read brings past the bound is still executed; nothing more is read.
        let value = vec![b'v'; conn::MAX_DRAIN_BYTES];
        let header = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", value.len());
        let mut request = header.into_bytes();
        request.extend_from_slice(&value);
        request.extend_from_slice(b"\r\n");
        send(&mut d, &request);
        let mut peer = Peer::new();
        peer.sent = b"PING\r\n".to_vec();
        let stop = peer.run(&mut d, &mut store, NOW);
        assert_eq!(stop, Stop::Finish { graceful: true });
        assert_eq!(peer.trace, ["process", "write"]);
        assert_eq!(peer.written(), b"+OK\r\n");
    }

    #[test]
    fn a_closing_connection_finishes_after_its_output_is_written() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        peer.write_room = 3;
        send(&mut d, b"PING\r\nQUIT\r\nPING\r\n");
        let flushing = Wants {
            writable: true,
            readable: false,
            deliveries: true,
            timeout_ms: Some(NOW + CLOSE_TIMEOUT_MS),
        };
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(flushing));
        // The event comes after the write that carries the replies before it.
        assert_eq!(peer.trace, ["process", "write", "event"]);
        assert_eq!(peer.events, [Event::Close(CloseReason::Quit)]);
        peer.write_room = usize::MAX;
        d.handle_writable();
        let stop = peer.run(&mut d, &mut store, NOW + 1);
        assert_eq!(stop, Stop::Finish { graceful: true });
        assert_eq!(peer.written(), b"+PONG\r\n+OK\r\n");
    }

    #[test]
    fn the_close_deadline_forces_finish() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        peer.write_room = 0;
        send(&mut d, b"PING\r\nQUIT\r\n");
        let deadline = NOW + CLOSE_TIMEOUT_MS;
        let Stop::Wait(wants) = peer.run(&mut d, &mut store, NOW) else {
            panic!()
        };
        assert_eq!(wants.timeout_ms, Some(deadline));
        // A timer that fires early changes nothing.
        d.handle_timeout(deadline - 1);
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(wants));
        d.handle_timeout(deadline);
        let stop = peer.run(&mut d, &mut store, deadline);
        assert_eq!(stop, Stop::Finish { graceful: false });

        // At shutdown, the deadline runs from the notice.
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        peer.write_room = 0;
        send(&mut d, b"PING\r\n");
        peer.run(&mut d, &mut store, NOW);
        peer.queued.push_back(Queued::Shutdown);
        peer.deliver(&mut d, NOW + 7);
        let Stop::Wait(wants) = peer.run(&mut d, &mut store, NOW + 7) else {
            panic!()
        };
        assert_eq!(wants.timeout_ms, Some(NOW + 7 + CLOSE_TIMEOUT_MS));
        d.handle_timeout(NOW + 7 + CLOSE_TIMEOUT_MS);
        assert!(matches!(
            d.poll_action(),
            Action::Finish { graceful: false }
        ));
    }

    #[test]
    fn end_of_stream_flushes_then_finishes_and_io_errors_finish_at_once() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        send(&mut d, b"PING\r\n");
        d.handle_read(0);
        let stop = peer.run(&mut d, &mut store, NOW);
        assert_eq!(stop, Stop::Finish { graceful: true });
        assert_eq!(peer.written(), b"+PONG\r\n");
        d.handle_close(&mut store);

        let mut d = driver(&mut store);
        let peer_addr = "127.0.0.1:5000".parse().unwrap();
        store.register_client(d.session().id(), client_conn(peer_addr, None, 7), NOW);
        let mut peer = Peer::new();
        peer.write_room = 0;
        send(&mut d, b"PING\r\n");
        peer.run(&mut d, &mut store, NOW);
        assert_eq!(store.clients().len(), 1);
        d.handle_io_error();
        assert!(matches!(
            d.poll_action(),
            Action::Finish { graceful: false }
        ));
        d.handle_close(&mut store);
        assert_eq!(store.clients().len(), 0);
    }

    fn publish(payload: &'static [u8]) -> Message {
        Message::Publish {
            pattern: None,
            channel: Bytes::from_static(b"ch"),
            payload: Bytes::from_static(payload),
        }
    }

    #[test]
    fn queued_deliveries_leave_in_one_bounded_write() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        send(&mut d, b"SUBSCRIBE ch\r\n");
        peer.run(&mut d, &mut store, NOW);
        let extra = 10;
        for _ in 0..conn::MAX_MESSAGES_PER_WRITE + extra {
            peer.queued.push_back(Queued::Deliver(publish(b"x")));
        }
        peer.deliver(&mut d, NOW);
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        let one = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n";
        assert_eq!(peer.writes.len(), 2);
        assert_eq!(peer.writes[1], one.repeat(conn::MAX_MESSAGES_PER_WRITE));
        // The rest wait for the next wake on the channel, after the write.
        assert_eq!(peer.queued.len(), extra);
        peer.deliver(&mut d, NOW);
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        assert_eq!(peer.writes[2], one.repeat(extra));
        assert_eq!(peer.trace.last(), Some(&"write"));
    }

    #[test]
    fn a_blocked_session_resumes_when_unblocked() {
        let mut store = Store::default();
        let mut waiter = driver(&mut store);
        let mut pusher = driver(&mut store);
        let (mut w, mut p) = (Peer::new(), Peer::new());
        send(&mut waiter, b"BLPOP q 0\r\nPING\r\n");
        assert_eq!(w.run(&mut waiter, &mut store, NOW), Stop::Wait(IDLE));
        assert!(w.writes.is_empty());
        send(&mut pusher, b"RPUSH q v\r\n");
        p.run(&mut pusher, &mut store, NOW);
        assert_eq!(p.written(), b":1\r\n");
        let delivery = p.routed.pop().unwrap();
        assert_eq!(delivery.to, waiter.session().id());
        w.queued.push_back(Queued::Deliver(delivery.message));
        w.deliver(&mut waiter, NOW);
        assert_eq!(w.run(&mut waiter, &mut store, NOW), Stop::Wait(IDLE));
        // The reply and what was pipelined behind it, in one write.
        assert_eq!(
            w.writes,
            [b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n+PONG\r\n".to_vec()]
        );
    }

    #[test]
    fn a_stalled_session_stops_reading_at_its_bound() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        send(&mut d, b"BLPOP q 0\r\n");
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(IDLE));
        send(&mut d, &vec![b'x'; conn::MAX_STALLED_INPUT_BYTES]);
        let stalled = Wants {
            readable: false,
            ..IDLE
        };
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(stalled));
        // The client gone, a blocked session is dropped, as Redis does.
        d.handle_read(0);
        let stop = peer.run(&mut d, &mut store, NOW);
        assert_eq!(stop, Stop::Finish { graceful: true });
    }

    #[test]
    fn debug_sleep_wakes_on_its_timer() {
        let mut store = Store::default();
        store.set_setting("enable-debug-command", "yes");
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        send(&mut d, b"DEBUG SLEEP 0.1\r\nPING\r\n");
        let sleeping = Wants {
            timeout_ms: Some(NOW + 100),
            ..IDLE
        };
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(sleeping));
        // The client leaves: a sleeping session still owes its reply.
        d.handle_read(0);
        let gone = Wants {
            readable: false,
            ..sleeping
        };
        assert_eq!(peer.run(&mut d, &mut store, NOW), Stop::Wait(gone));
        d.handle_timeout(NOW + 99);
        assert_eq!(peer.run(&mut d, &mut store, NOW + 99), Stop::Wait(gone));
        assert!(peer.writes.is_empty());
        d.handle_timeout(NOW + 100);
        let stop = peer.run(&mut d, &mut store, NOW + 100);
        assert_eq!(stop, Stop::Finish { graceful: true });
        assert_eq!(peer.writes, [b"+OK\r\n+PONG\r\n".to_vec()]);
    }

    #[test]
    fn a_kill_closes_and_finishes() {
        let mut store = Store::default();
        let mut d = driver(&mut store);
        let mut peer = Peer::new();
        peer.write_room = 0;
        send(&mut d, b"PING\r\n");
        peer.run(&mut d, &mut store, NOW);
        peer.queued.push_back(Queued::Deliver(Message::Kill));
        peer.deliver(&mut d, NOW);
        // Its unwritten output is dropped, as Redis frees a killed client at once.
        let stop = peer.run(&mut d, &mut store, NOW);
        assert_eq!(stop, Stop::Finish { graceful: true });
        assert_eq!(peer.events, [Event::Close(CloseReason::Killed)]);
    }
}
