//! A replica's link to its master, sans-IO: the handshake, the RDB transfer, and the
//! stream applied through the executor. The host owns the socket and the thread
//! (`redish_host::replica`); everything said on the link is decided here.
//!
//! # The run loop
//! 1. The store wants a master ([`Store::replication`]`().master`, set by REPLICAOF) of some
//!    epoch; the host connects to it and, with the store locked, makes a
//!    [`ReplicaLink::new`] and calls [`ReplicaLink::handle_connected`].
//! 2. It writes [`ReplicaLink::poll_transmit`] and reports it with
//!    [`ReplicaLink::consume_transmit`].
//! 3. Whatever it reads, it hands to [`ReplicaLink::handle_read`] with the store locked;
//!    when [`ReplicaLink::poll_timeout`] passes, [`ReplicaLink::handle_timeout`]. Back to 2.
//! 4. An error from either (the master refused, bad bytes, REPLICAOF changed the master)
//!    ends the connection: [`ReplicaLink::handle_closed`], then connect again unless the
//!    error [`LinkError::is_final`].
//!
//! The handshake is Redis 7.0's: `PING`, `AUTH [masteruser] masterauth` when set,
//! `REPLCONF listening-port`, `REPLCONF capa eof capa psync2`, then `PSYNC <replid>
//! <offset+1>` (`PSYNC ? -1` with no history). A `+FULLRESYNC` is followed by the RDB as
//! `$<len>\r\n<bytes>` or, diskless, `$EOF:<40-byte mark>\r\n<bytes><mark>`; it replaces
//! the dataset. The stream then runs through the executor as the master's client
//! (trusted, exempt from `replica-read-only`, replies dropped); each command's bytes count
//! in the offset, `REPLCONF GETACK` is answered with `REPLCONF ACK <offset>`, and an ACK
//! goes out every second anyway.

use bytes::{Buf, Bytes, BytesMut};

use crate::cmd::executor::{self, Caller, ConnState, Ctx};
use crate::db::repl::LinkStatus;
use crate::persist::rdb;
use crate::resp::{encode_command, Limits, RequestDecoder};
use crate::{ClientId, Store};

/// The longest line the handshake reads (a status reply, the `$` line of the RDB).
const MAX_LINE_BYTES: usize = 4096;
/// How often a replica acknowledges its offset unasked.
pub const ACK_PERIOD_MS: u64 = 1000;

/// Why a link ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The master answered the handshake with an error.
    #[error("master refused {step}: {reply}")]
    Refused {
        /// What was asked.
        step: &'static str,
        /// Its reply.
        reply: String,
    },
    /// The master sent bytes that make no sense here.
    #[error("protocol error from master: {0}")]
    Protocol(String),
    /// The RDB from the master did not load.
    #[error("the RDB from the master did not load: {0}")]
    Rdb(String),
    /// REPLICAOF changed the master, or NO ONE: this link is over for good.
    #[error("the master changed")]
    Cancelled,
}

impl LinkError {
    /// True if the host should not connect again for this link.
    pub fn is_final(&self) -> bool {
        matches!(self, LinkError::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Ping,
    Auth,
    Port,
    /// `REPLCONF ip-address` (only with `replica-announce-ip`).
    Ip,
    Capa,
    Psync,
    /// `+FULLRESYNC id offset` came; waiting for the `$` line.
    WaitRdb,
    /// Bytes of the RDB still to come.
    Rdb(usize),
    /// A diskless RDB ends with this mark.
    RdbEof([u8; 40]),
    Stream,
}

/// The link of a replica to its master (see the [module docs](self)).
#[derive(Debug)]
pub struct ReplicaLink {
    epoch: u64,
    id: ClientId,
    step: Step,
    input: BytesMut,
    /// The bytes the decoder took since the last complete command.
    partial: usize,
    /// A copy of the stream bytes read and not yet applied, for the backlog.
    raw: BytesMut,
    output: BytesMut,
    conn: ConnState,
    decoder: RequestDecoder,
    rdb: Vec<u8>,
    /// `+FULLRESYNC`'s id and offset.
    full: Option<(String, u64)>,
    last_ack_ms: u64,
}

impl ReplicaLink {
    /// A link for the master of REPLICAOF epoch `epoch`, just connected. Registers the
    /// master's client (CLIENT LIST flag `M`).
    pub fn new(store: &mut Store, epoch: u64, now_ms: u64) -> Result<ReplicaLink, LinkError> {
        store.master_link(epoch).ok_or(LinkError::Cancelled)?;
        let id = store.next_client_id();
        store.clients_mut().entry(id, now_ms).master = true;
        Ok(ReplicaLink {
            epoch,
            id,
            step: Step::Ping,
            input: BytesMut::new(),
            partial: 0,
            raw: BytesMut::new(),
            output: BytesMut::new(),
            conn: ConnState::new(id),
            decoder: RequestDecoder::new(Limits {
                max_bulk_bytes: usize::MAX / 2,
                ..Limits::DEFAULT
            }),
            rdb: Vec::new(),
            full: None,
            last_ack_ms: now_ms,
        })
    }

    /// The socket is connected: the handshake starts with a PING.
    pub fn handle_connected(&mut self, store: &mut Store, now_ms: u64) -> Result<(), LinkError> {
        let m = store.master_link(self.epoch).ok_or(LinkError::Cancelled)?;
        m.status = LinkStatus::Handshake;
        m.last_io_ms = now_ms;
        self.send(&[b"PING"]);
        self.step = Step::Ping;
        Ok(())
    }

    /// Bytes to write to the master.
    pub fn poll_transmit(&self) -> &[u8] {
        &self.output
    }

    /// The first `n` bytes of [`ReplicaLink::poll_transmit`] were written.
    pub fn consume_transmit(&mut self, n: usize) {
        self.output.advance(n.min(self.output.len()));
    }

    /// When to call [`ReplicaLink::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<u64> {
        (self.step == Step::Stream).then_some(self.last_ack_ms + ACK_PERIOD_MS)
    }

    /// Time passed: an ACK once a second while streaming.
    pub fn handle_timeout(&mut self, store: &mut Store, now_ms: u64) -> Result<(), LinkError> {
        store.master_link(self.epoch).ok_or(LinkError::Cancelled)?;
        if self.step == Step::Stream && now_ms >= self.last_ack_ms + ACK_PERIOD_MS {
            let offset = store.replication().offset;
            self.ack(offset, now_ms);
        }
        Ok(())
    }

    /// The connection is gone (or an error ended it): the master's client leaves the
    /// registry and the link shows down (since `now_ms`, if it was up).
    pub fn handle_closed(&mut self, store: &mut Store, now_ms: u64) {
        store.clients_mut().remove(self.id);
        if let Some(m) = store.master_link(self.epoch) {
            if m.status == LinkStatus::Connected {
                m.down_since_ms = now_ms.max(1);
            }
            m.status = LinkStatus::Connecting;
        }
    }

    /// `data` came from the master.
    pub fn handle_read(
        &mut self,
        data: &[u8],
        store: &mut Store,
        now_ms: u64,
    ) -> Result<(), LinkError> {
        let m = store.master_link(self.epoch).ok_or(LinkError::Cancelled)?;
        m.last_io_ms = now_ms;
        self.input.extend_from_slice(data);
        if self.step == Step::Stream {
            self.raw.extend_from_slice(data);
        }
        loop {
            let progressed = match self.step.clone() {
                Step::Ping | Step::Auth | Step::Port | Step::Ip | Step::Capa | Step::Psync => {
                    match self.line()? {
                        Some(line) => {
                            self.handshake(&line, store, now_ms)?;
                            true
                        }
                        None => false,
                    }
                }
                Step::WaitRdb => self.rdb_header()?,
                Step::Rdb(left) => {
                    let n = left.min(self.input.len());
                    self.rdb.extend_from_slice(&self.input.split_to(n));
                    if n == left {
                        self.load(store, now_ms)?;
                        true
                    } else {
                        self.step = Step::Rdb(left - n);
                        false
                    }
                }
                Step::RdbEof(mark) => {
                    // The mark may straddle two reads: look from 40 bytes back.
                    let from = self.rdb.len().saturating_sub(mark.len());
                    self.rdb.extend_from_slice(&self.input.split());
                    match memchr::memmem::find(&self.rdb[from..], &mark) {
                        Some(i) => {
                            let end = from + i;
                            let rest = self.rdb.split_off(end + mark.len());
                            self.rdb.truncate(end);
                            self.input.extend_from_slice(&rest);
                            self.load(store, now_ms)?;
                            true
                        }
                        None => false,
                    }
                }
                Step::Stream => {
                    self.stream(store, now_ms)?;
                    false
                }
            };
            if !progressed || self.input.is_empty() && self.step != Step::Stream {
                break;
            }
        }
        if self.step == Step::Stream && now_ms >= self.last_ack_ms + ACK_PERIOD_MS {
            let offset = store.replication().offset;
            self.ack(offset, now_ms);
        }
        Ok(())
    }

    fn send(&mut self, args: &[&[u8]]) {
        encode_command(args, &mut self.output);
    }

    fn ack(&mut self, offset: u64, now_ms: u64) {
        let offset = offset.to_string();
        self.send(&[b"REPLCONF", b"ACK", offset.as_bytes()]);
        self.last_ack_ms = now_ms;
    }

    /// The next CRLF-ended line of the handshake, without its end.
    fn line(&mut self) -> Result<Option<Bytes>, LinkError> {
        match memchr::memchr(b'\n', &self.input) {
            Some(i) => {
                let mut line = self.input.split_to(i + 1).freeze();
                line.truncate(i);
                if line.last() == Some(&b'\r') {
                    line.truncate(i - 1);
                }
                Ok(Some(line))
            }
            None if self.input.len() > MAX_LINE_BYTES => {
                Err(LinkError::Protocol("line too long".into()))
            }
            None => Ok(None),
        }
    }

    fn handshake(&mut self, line: &[u8], store: &mut Store, now_ms: u64) -> Result<(), LinkError> {
        let text = String::from_utf8_lossy(line).into_owned();
        let refused = |step: &'static str| LinkError::Refused {
            step,
            reply: text.clone(),
        };
        if text.is_empty() {
            // A master sends newlines to keep the link alive while it prepares the sync.
            return Ok(());
        }
        match self.step {
            Step::Ping => {
                // A master that wants AUTH answers PING with an error: AUTH comes next.
                let ok = text.starts_with('+')
                    || text.starts_with("-NOAUTH")
                    || text.starts_with("-NOPERM")
                    || text.starts_with("-ERR operation not permitted");
                if !ok {
                    return Err(refused("PING"));
                }
                let config = store.config();
                match (config.masterauth.clone(), config.masteruser.clone()) {
                    (Some(pass), Some(user)) => {
                        self.send(&[b"AUTH", &user, &pass]);
                        self.step = Step::Auth;
                    }
                    (Some(pass), None) => {
                        self.send(&[b"AUTH", &pass]);
                        self.step = Step::Auth;
                    }
                    _ => self.send_port(store),
                }
            }
            Step::Auth => {
                if !text.starts_with('+') {
                    return Err(refused("AUTH"));
                }
                self.send_port(store);
            }
            // Errors here are ignored, as Redis does: old masters do not know these.
            Step::Port => {
                let ip = store
                    .config()
                    .value("replica-announce-ip")
                    .unwrap_or_default();
                if ip.is_empty() {
                    self.send_capa();
                } else {
                    self.send(&[b"REPLCONF", b"ip-address", ip.as_bytes()]);
                    self.step = Step::Ip;
                }
            }
            Step::Ip => self.send_capa(),
            Step::Capa => {
                let repl = store.replication();
                // Our own history (a master turned replica) or the last master's: the
                // master continues it if it can.
                let (replid, offset) = if repl.active() {
                    (store.replid().to_owned(), (repl.offset + 1).to_string())
                } else {
                    ("?".to_owned(), "-1".to_owned())
                };
                self.send(&[b"PSYNC", replid.as_bytes(), offset.as_bytes()]);
                self.step = Step::Psync;
            }
            Step::Psync => {
                if let Some(rest) = text.strip_prefix("+FULLRESYNC ") {
                    let mut words = rest.split(' ');
                    let id = words.next().filter(|id| id.len() == 40);
                    let offset = words.next().and_then(|o| o.parse::<u64>().ok());
                    let (Some(id), Some(offset)) = (id, offset) else {
                        return Err(LinkError::Protocol(format!("bad reply to PSYNC: {text}")));
                    };
                    self.full = Some((id.to_owned(), offset));
                    self.step = Step::WaitRdb;
                    if let Some(m) = store.master_link(self.epoch) {
                        m.status = LinkStatus::Transfer;
                    }
                } else if let Some(rest) = text.strip_prefix("+CONTINUE") {
                    let id = rest.trim();
                    if id.len() == 40 {
                        store.switch_master_replid(id);
                    }
                    self.streaming(store, now_ms);
                } else {
                    return Err(refused("PSYNC"));
                }
            }
            _ => unreachable!("not a handshake step"),
        }
        Ok(())
    }

    fn send_capa(&mut self) {
        self.send(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
        self.step = Step::Capa;
    }

    /// `replica-announce-port` when set, else the port this server listens on: the master
    /// lists it in INFO, where Sentinel finds the replica.
    fn send_port(&mut self, store: &Store) {
        let config = store.config();
        let port = match config.value("replica-announce-port").as_deref() {
            Some(p) if p != "0" => p.to_owned(),
            _ => config.port.to_string(),
        };
        self.send(&[b"REPLCONF", b"listening-port", port.as_bytes()]);
        self.step = Step::Port;
    }

    /// The `$` line before the RDB; the master may send newlines before it to keep the
    /// link alive while it prepares the snapshot.
    fn rdb_header(&mut self) -> Result<bool, LinkError> {
        while self.input.first() == Some(&b'\n') {
            self.input.advance(1);
        }
        let Some(line) = self.line()? else {
            return Ok(false);
        };
        let Some(rest) = line.strip_prefix(b"$") else {
            return Err(LinkError::Protocol(format!(
                "expected the RDB's length, got {:?}",
                String::from_utf8_lossy(&line)
            )));
        };
        if let Some(mark) = rest.strip_prefix(b"EOF:") {
            let mark: [u8; 40] = mark
                .try_into()
                .map_err(|_| LinkError::Protocol("bad EOF mark".into()))?;
            self.step = Step::RdbEof(mark);
        } else {
            let len = crate::num::parse_i64(rest)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| LinkError::Protocol("bad RDB length".into()))?;
            self.step = Step::Rdb(len);
        }
        Ok(true)
    }

    /// The RDB is all here: it replaces the dataset.
    fn load(&mut self, store: &mut Store, now_ms: u64) -> Result<(), LinkError> {
        let rdb = std::mem::take(&mut self.rdb);
        store.flush_all();
        rdb::load_into(store, &rdb, now_ms).map_err(|e| LinkError::Rdb(e.to_string()))?;
        let (id, offset) = self.full.take().unwrap_or_default();
        store.adopt_master_history(&id, offset);
        self.streaming(store, now_ms);
        // The master learns at once where we stand (it waits for that before WAIT counts us).
        self.ack(offset, now_ms);
        Ok(())
    }

    fn streaming(&mut self, store: &mut Store, now_ms: u64) {
        self.step = Step::Stream;
        self.conn = ConnState::new(self.id);
        self.decoder = RequestDecoder::new(Limits {
            max_bulk_bytes: usize::MAX / 2,
            ..Limits::DEFAULT
        });
        self.partial = 0;
        self.raw = BytesMut::new();
        self.raw.extend_from_slice(&self.input);
        if let Some(m) = store.master_link(self.epoch) {
            m.status = LinkStatus::Connected;
            m.last_io_ms = now_ms;
            m.down_since_ms = 0;
        }
    }

    /// Applies the complete commands of the stream.
    fn stream(&mut self, store: &mut Store, now_ms: u64) -> Result<(), LinkError> {
        let mut out = BytesMut::new();
        loop {
            let before = self.input.len();
            let decoded = self
                .decoder
                .decode(&mut self.input)
                .map_err(|e| LinkError::Protocol(e.to_string()))?;
            self.partial += before - self.input.len();
            let Some(args) = decoded else {
                break;
            };
            let len = std::mem::take(&mut self.partial);
            let bytes = self.raw.split_to(len.min(self.raw.len()));
            let getack = args.len() >= 2
                && args[0].eq_ignore_ascii_case(b"REPLCONF")
                && args[1].eq_ignore_ascii_case(b"GETACK");
            if getack {
                let offset = store.replication().offset;
                self.ack(offset, now_ms);
            } else {
                let mut ctx = Ctx::new(store, &mut self.conn, now_ms, &mut out, Caller::MASTER);
                let _ = executor::execute(&mut ctx, args);
                out.clear();
            }
            store.handle_master_stream(&bytes);
        }
        Ok(())
    }
}
