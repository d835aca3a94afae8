//! Replication state, both roles: the master's stream of changes with byte offsets, its
//! backlog and its replicas; a replica's view of its master link.
//!
//! # The stream
//! The store's effects log ([`super::Effect`]) is the one source of what changed. While
//! replication is active (a replica attached once, or this server is a replica), the
//! effects are encoded once into the replication stream — RESP commands with a `SELECT`
//! whenever the database changes, MULTI/EXEC around units, expiries as `DEL` — and every
//! byte gets an offset (`master_repl_offset`). Each chunk goes to the backlog (the last
//! `repl-backlog-size` bytes, for partial resyncs) and, as one shared [`Bytes`], to every
//! online replica's connection as a [`Message::Replication`] delivery. The AOF reads the
//! same effects through [`Store::poll_effect`]: the stream keeps its own cursor into the
//! log, so the two readers never take from each other.
//!
//! A replica does not encode its own effects: it forwards the bytes its master sent,
//! counted in the same offsets, so that after a promotion (`REPLICAOF NO ONE`) the other
//! replicas continue (`+CONTINUE`) from the same history under the old id (`replid2`).
//!
//! With no replica ever attached and no master, nothing here runs: [`Store::feed_replication`]
//! returns at its first test.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::{ClientId, Message, Store};
use crate::resp::encode_command;

/// The last bytes of the replication stream, for replicas that come back.
#[derive(Debug)]
struct Backlog {
    buf: VecDeque<u8>,
    max: usize,
}

impl Backlog {
    fn new(max: usize) -> Backlog {
        Backlog {
            buf: VecDeque::new(),
            max: max.max(1),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= self.max {
            self.buf.clear();
            self.buf.extend(&bytes[bytes.len() - self.max..]);
            return;
        }
        let over = (self.buf.len() + bytes.len()).saturating_sub(self.max);
        self.buf.drain(..over);
        self.buf.extend(bytes);
    }

    fn resize(&mut self, max: usize) {
        self.max = max.max(1);
        let over = self.buf.len().saturating_sub(self.max);
        self.buf.drain(..over);
    }
}

/// Where an attached replica stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start (another one is running).
    WaitSnapshot,
    /// The snapshot runs; the stream since it began is buffered for the replica.
    Snapshotting,
    /// Receiving the stream as it happens.
    Online,
}

impl ReplicaState {
    fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitSnapshot => "wait_bgsave",
            ReplicaState::Snapshotting => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// A replica attached to this server.
#[derive(Debug)]
pub struct ReplicaInfo {
    /// Its connection.
    pub id: ClientId,
    /// Its address, as it told it (`REPLCONF ip-address`) or as the socket shows it.
    pub ip: String,
    /// Its listening port (`REPLCONF listening-port`).
    pub port: u16,
    /// Where it stands.
    pub state: ReplicaState,
    /// The offset it last acknowledged.
    pub ack_offset: u64,
    /// When it last acknowledged (Unix ms).
    pub ack_ms: u64,
    /// Legacy SYNC: no `+FULLRESYNC` line.
    legacy: bool,
    /// The stream since its snapshot began, until the snapshot is sent.
    buffer: BytesMut,
}

/// The state of the link to a master, on a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// Not connected; the host connects.
    Connect,
    /// TCP connecting.
    Connecting,
    /// Handshake (PING, AUTH, REPLCONF, PSYNC).
    Handshake,
    /// Receiving the RDB.
    Transfer,
    /// Up: applying the stream.
    Connected,
}

impl LinkStatus {
    /// ROLE's name for it.
    pub fn role_name(self) -> &'static str {
        match self {
            LinkStatus::Connect => "connect",
            LinkStatus::Connecting => "connecting",
            LinkStatus::Handshake => "handshake",
            LinkStatus::Transfer => "sync",
            LinkStatus::Connected => "connected",
        }
    }
}

/// The master of a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterInfo {
    /// Its host, as REPLICAOF named it.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Where the link stands.
    pub status: LinkStatus,
    /// Last time something came from the master (Unix ms).
    pub last_io_ms: u64,
    /// When the link last went down after being up (Unix ms; 0: it has not), for INFO's
    /// `master_link_down_since_seconds`, which Sentinel reads to skip stale replicas.
    pub down_since_ms: u64,
    /// Changes with every REPLICAOF: a link of an older epoch stops.
    pub epoch: u64,
}

/// A client in WAIT.
#[derive(Debug)]
struct Waiter {
    client: ClientId,
    replicas: usize,
    offset: u64,
    deadline_ms: Option<u64>,
}

/// Everything replication keeps in the store.
#[derive(Debug, Default)]
pub struct Replication {
    /// `master_replid2`: the id of the history before the last promotion.
    pub replid2: Option<String>,
    /// `second_repl_offset`: up to where `replid2`'s history is ours (-1: none).
    pub second_offset: i64,
    /// `master_repl_offset`: bytes of the stream so far.
    pub offset: u64,
    backlog: Option<Backlog>,
    /// Attached replicas, in the order they came.
    pub replicas: Vec<ReplicaInfo>,
    /// The database the stream's last SELECT chose.
    seldb: Option<usize>,
    /// Effects at the front of the log already in the stream (the AOF has not taken them).
    streamed: usize,
    /// The AOF reads the effects log too.
    pub(crate) aof_effects: bool,
    /// `Some` on a replica.
    pub master: Option<MasterInfo>,
    waiters: Vec<Waiter>,
    /// A WAIT asked the replicas for their offsets: send GETACK with the next chunk.
    getack: bool,
    last_ping_ms: u64,
    epochs: u64,
    /// The offset after the last change (not counting PINGs and GETACKs, which a replica
    /// acknowledges only with what follows them): what WAIT waits for.
    data_offset: u64,
    /// INFO stats `sync_full`, `sync_partial_ok`, `sync_partial_err`.
    pub sync_full: u64,
    /// See `sync_full`.
    pub sync_partial_ok: u64,
    /// See `sync_full`.
    pub sync_partial_err: u64,
}

/// What PSYNC answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Psync {
    /// `+CONTINUE`: these bytes of the backlog follow the line.
    Continue(Bytes),
    /// A full resync: a snapshot must be taken.
    Full,
}

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

impl Replication {
    pub(crate) fn new() -> Replication {
        Replication {
            second_offset: -1,
            ..Replication::default()
        }
    }

    /// `repl_backlog_first_byte_offset`, `repl_backlog_histlen`, or `None` with no backlog.
    pub fn backlog_range(&self) -> Option<(u64, u64)> {
        let b = self.backlog.as_ref()?;
        let len = b.buf.len() as u64;
        Some((self.offset + 1 - len, len))
    }

    /// True while the stream is kept (a replica attached once, or this is a replica).
    pub fn active(&self) -> bool {
        self.backlog.is_some()
    }

    pub(crate) fn reset_cursor(&mut self) {
        self.streamed = 0;
    }
}

impl Store {
    /// The replication state.
    pub fn replication(&self) -> &Replication {
        &self.repl
    }

    /// INFO's `master_replid`.
    pub fn replid(&self) -> &str {
        &self.server.replid
    }

    /// True if this server is a replica (REPLICAOF host port).
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.repl.master.is_some()
    }

    /// Keeps the stream from now on: the backlog exists and the effects log is on.
    fn activate_replication(&mut self) {
        if self.repl.backlog.is_some() {
            return;
        }
        let size = self.config().repl_backlog_size as usize;
        self.repl.backlog = Some(Backlog::new(size));
        if self.effects.is_none() {
            self.effects = Some(VecDeque::new());
            self.repl.streamed = 0;
            self.set_key_event_masks_pub();
        }
    }

    /// Encodes the effects logged since the last call into the stream, and hands the new
    /// bytes to the backlog and the replicas (as deliveries). Call after each batch of
    /// commands and after the timer's work, before draining [`Store::poll_delivery`]; cheap
    /// when replication is off.
    #[inline]
    pub fn feed_replication(&mut self) {
        if self.repl.backlog.is_some() {
            self.feed_replication_slow();
        }
    }

    #[cold]
    fn feed_replication_slow(&mut self) {
        let mut out = BytesMut::new();
        if let Some(effects) = &mut self.effects {
            if self.repl.master.is_none() {
                for e in effects.iter().skip(self.repl.streamed) {
                    if self.repl.seldb != Some(e.db) {
                        let index = itoa::Buffer::new().format(e.db).as_bytes().to_vec();
                        encode_command(&[&b"SELECT"[..], &index], &mut out);
                        self.repl.seldb = Some(e.db);
                    }
                    encode_command(&e.args, &mut out);
                }
            }
            if self.repl.aof_effects {
                self.repl.streamed = effects.len();
            } else {
                effects.clear();
                self.repl.streamed = 0;
            }
        }
        if !out.is_empty() {
            self.push_stream(out.freeze());
            self.repl.data_offset = self.repl.offset;
        }
        if std::mem::take(&mut self.repl.getack) && self.repl.master.is_none() {
            self.push_stream(Bytes::from_static(GETACK));
        }
    }

    /// Appends `bytes` to the stream: offset, backlog, replicas.
    fn push_stream(&mut self, bytes: Bytes) {
        let max = self.config().repl_backlog_size as usize;
        if let Some(b) = &mut self.repl.backlog {
            if b.max != max.max(1) {
                b.resize(max);
            }
            b.push(&bytes);
        }
        self.repl.offset += bytes.len() as u64;
        for i in 0..self.repl.replicas.len() {
            let r = &mut self.repl.replicas[i];
            match r.state {
                ReplicaState::Online => {
                    let to = r.id;
                    self.deliver(to, Message::Replication(bytes.clone()));
                }
                ReplicaState::Snapshotting => r.buffer.extend_from_slice(&bytes),
                ReplicaState::WaitSnapshot => {}
            }
        }
    }

    /// The effects the AOF takes, after the stream saw them.
    pub(crate) fn before_poll_effect(&mut self) {
        if self.repl.backlog.is_some()
            && self
                .effects
                .as_ref()
                .is_some_and(|e| e.len() > self.repl.streamed)
        {
            self.feed_replication_slow();
        }
        self.repl.streamed = self.repl.streamed.saturating_sub(1);
    }

    /// PSYNC `replid` `offset` from connection `id`: `+CONTINUE` with the backlog from
    /// `offset` if this server has that history, else a full resync. Registers the replica.
    pub fn psync(
        &mut self,
        id: ClientId,
        ip: String,
        port: u16,
        replid: &[u8],
        offset: Option<u64>,
        now_ms: u64,
    ) -> Psync {
        self.feed_replication();
        let ours = replid == self.server.replid.as_bytes();
        let second = self
            .repl
            .replid2
            .as_deref()
            .is_some_and(|r| r.as_bytes() == replid)
            && offset.is_some_and(|o| o as i64 <= self.repl.second_offset);
        let partial = match (self.repl.backlog_range(), offset) {
            (Some((first, len)), Some(o)) if ours || second => {
                o >= first && o <= self.repl.offset + 1 && (len > 0 || o == self.repl.offset + 1)
            }
            _ => false,
        };
        let mut info = ReplicaInfo {
            id,
            ip,
            port,
            state: ReplicaState::WaitSnapshot,
            ack_offset: 0,
            ack_ms: now_ms,
            legacy: offset.is_none() && replid.is_empty(),
            buffer: BytesMut::new(),
        };
        if partial {
            let (first, _) = self.repl.backlog_range().unwrap_or((0, 0));
            let from = (offset.unwrap_or(0) - first) as usize;
            let b = self.repl.backlog.as_ref().expect("partial needs a backlog");
            let tail: Vec<u8> = b.buf.iter().skip(from).copied().collect();
            info.state = ReplicaState::Online;
            info.ack_offset = offset.unwrap_or(0).saturating_sub(1);
            self.repl.replicas.push(info);
            self.repl.sync_partial_ok += 1;
            return Psync::Continue(Bytes::from(tail));
        }
        if replid != b"?" && !info.legacy {
            self.repl.sync_partial_err += 1;
        }
        self.repl.sync_full += 1;
        if self.repl.backlog.is_none() && self.repl.master.is_none() {
            // A new history starts: no replica could continue the old one anyway.
            self.change_replid();
            self.repl.replid2 = None;
            self.repl.second_offset = -1;
        }
        self.activate_replication();
        self.repl.replicas.push(info);
        Psync::Full
    }

    /// Marks connection `id` a replica in the client registry (CLIENT LIST, KILL TYPE).
    pub fn mark_replica_client(&mut self, id: ClientId) {
        if let Some(c) = self.server.clients.get_mut(id) {
            c.replica = true;
        }
    }

    /// The replicas whose full sync waits for a snapshot to start.
    pub fn replicas_waiting_snapshot(&self) -> Vec<ClientId> {
        self.repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::WaitSnapshot)
            .map(|r| r.id)
            .collect()
    }

    /// Begins the full sync of replica `id`: a snapshot of the store now, `+FULLRESYNC
    /// <replid> <offset>` on its way to it, and the stream from here buffered for it.
    /// `None` if another snapshot runs (try again later) or the replica is gone.
    pub fn begin_replica_sync(&mut self, id: ClientId, now_ms: u64) -> Option<super::Snapshot> {
        self.repl.replicas.iter().position(|r| r.id == id)?;
        self.feed_replication();
        let snapshot = self.begin_snapshot(now_ms)?;
        let line = format!(
            "+FULLRESYNC {} {}\r\n",
            self.server.replid, self.repl.offset
        );
        let r = self.repl.replicas.iter_mut().find(|r| r.id == id)?;
        r.state = ReplicaState::Snapshotting;
        let legacy = r.legacy;
        // Its stream starts in no database: the first change SELECTs.
        self.repl.seldb = None;
        if !legacy {
            self.deliver(id, Message::Replication(Bytes::from(line)));
        }
        Some(snapshot)
    }

    /// The snapshot of replica `id`'s full sync is `rdb`: sends it (`$<len>\r\n<rdb>`),
    /// then the stream buffered since, and the replica is online.
    pub fn finish_replica_sync(&mut self, id: ClientId, rdb: &[u8], now_ms: u64) {
        let Some(r) = self.repl.replicas.iter_mut().find(|r| r.id == id) else {
            return;
        };
        let mut out = BytesMut::with_capacity(rdb.len() + 32 + r.buffer.len());
        out.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
        out.extend_from_slice(rdb);
        out.extend_from_slice(&r.buffer);
        r.buffer = BytesMut::new();
        r.state = ReplicaState::Online;
        r.ack_ms = now_ms;
        self.deliver(id, Message::ReplicaSync(out.freeze()));
    }

    /// The full sync of replica `id` failed: it is disconnected, as Redis does.
    pub fn fail_replica_sync(&mut self, id: ClientId) {
        self.deliver(id, Message::Kill);
        self.remove_replica(id);
    }

    /// REPLCONF ACK `offset` from replica `id`.
    pub fn replica_ack(&mut self, id: ClientId, offset: u64, now_ms: u64) {
        if let Some(r) = self.repl.replicas.iter_mut().find(|r| r.id == id) {
            r.ack_offset = r.ack_offset.max(offset);
            r.ack_ms = now_ms;
        }
        self.check_waiters(now_ms, false);
    }

    /// Connection `id` closed: if it was a replica it leaves the list, if it was in WAIT
    /// it waits no more. Cheap when neither.
    pub fn remove_replica(&mut self, id: ClientId) {
        if !self.repl.replicas.is_empty() {
            self.repl.replicas.retain(|r| r.id != id);
        }
        if !self.repl.waiters.is_empty() {
            self.repl.waiters.retain(|w| w.client != id);
        }
    }

    /// Replicas that acknowledged `offset` or beyond.
    fn acked(&self, offset: u64) -> usize {
        self.repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && r.ack_offset >= offset)
            .count()
    }

    /// WAIT: the replicas that acknowledged everything so far, if at least `replicas`;
    /// otherwise connection `id` waits (until `deadline_ms`, `None`: forever) and the
    /// replicas are asked for their offsets (`None`: it waits).
    pub fn wait_replicas(
        &mut self,
        id: ClientId,
        replicas: usize,
        deadline_ms: Option<u64>,
        may_block: bool,
    ) -> Option<usize> {
        self.feed_replication();
        let offset = self.repl.data_offset;
        let acked = self.acked(offset);
        if acked >= replicas || !may_block {
            return Some(acked);
        }
        self.repl.waiters.push(Waiter {
            client: id,
            replicas,
            offset,
            deadline_ms,
        });
        self.repl.getack = true;
        None
    }

    fn check_waiters(&mut self, now_ms: u64, timers: bool) {
        if self.repl.waiters.is_empty() {
            return;
        }
        let mut done = Vec::new();
        let mut i = 0;
        while i < self.repl.waiters.len() {
            let w = &self.repl.waiters[i];
            let acked = self.acked(w.offset);
            let late = timers && w.deadline_ms.is_some_and(|d| d <= now_ms);
            if acked >= w.replicas || late {
                done.push((w.client, acked));
                self.repl.waiters.swap_remove(i);
            } else {
                i += 1;
            }
        }
        for (client, acked) in done {
            let reply = format!(":{acked}\r\n");
            self.deliver(client, Message::Unblocked(Bytes::from(reply)));
        }
    }

    /// Replicas online whose last ACK is within `min-replicas-max-lag` seconds.
    pub fn good_replicas(&self, now_ms: u64) -> usize {
        let lag_ms = self.config().min_replicas_max_lag_s * 1000;
        self.repl
            .replicas
            .iter()
            .filter(|r| {
                r.state == ReplicaState::Online && now_ms.saturating_sub(r.ack_ms) <= lag_ms
            })
            .count()
    }

    /// Recomputes [`Store::repl_write_gate`] (after a settings change or a change of role).
    pub(crate) fn update_repl_write_gate(&mut self) {
        self.repl_write_gate =
            self.config().min_replicas_to_write > 0 || self.repl.master.is_some();
    }

    /// True when writes go through replication's admission checks (`-NOREPLICAS`,
    /// `-READONLY`): cheap, for every command.
    #[inline]
    pub fn repl_write_gate(&self) -> bool {
        self.repl_write_gate
    }

    /// `min-replicas-to-write` refuses writes now: too few good replicas.
    pub fn too_few_replicas(&self, now_ms: u64) -> bool {
        let min = self.config().min_replicas_to_write;
        min > 0 && self.repl.master.is_none() && (self.good_replicas(now_ms) as u64) < min
    }

    /// The timer's replication work: a PING into the stream every
    /// `repl-ping-replica-period`, WAITs past their deadline answered.
    pub fn replication_cron(&mut self, now_ms: u64) {
        if self.repl.backlog.is_none() && self.repl.waiters.is_empty() {
            return;
        }
        self.feed_replication();
        let period = self.config().repl_ping_replica_period_s * 1000;
        if self.repl.master.is_none()
            && !self.repl.replicas.is_empty()
            && now_ms.saturating_sub(self.repl.last_ping_ms) >= period
        {
            self.repl.last_ping_ms = now_ms;
            self.push_stream(Bytes::from_static(PING));
        }
        self.check_waiters(now_ms, true);
    }

    /// REPLICAOF `host` `port`: this server becomes a replica. Its own replicas are
    /// disconnected (they resync with the new history); the host opens the link.
    pub fn set_master(&mut self, host: String, port: u16) {
        self.feed_replication();
        self.note_replicaof(&format!("{host} {port}"));
        self.repl.epochs += 1;
        self.repl.master = Some(MasterInfo {
            host,
            port,
            status: LinkStatus::Connect,
            last_io_ms: 0,
            down_since_ms: 0,
            epoch: self.repl.epochs,
        });
        self.disconnect_replicas();
        self.activate_replication();
        self.update_repl_write_gate();
    }

    /// REPLICAOF NO ONE: a master again. A new replication id; the old one becomes
    /// `replid2` up to the current offset, so replicas of the old master continue.
    pub fn promote(&mut self) {
        if self.repl.master.take().is_none() {
            return;
        }
        self.note_replicaof("");
        self.repl.epochs += 1;
        self.repl.replid2 = Some(self.server.replid.clone());
        self.repl.second_offset = self.repl.offset as i64 + 1;
        self.change_replid();
        self.repl.seldb = None;
        self.disconnect_replicas();
        self.update_repl_write_gate();
    }

    /// The `replicaof` setting follows REPLICAOF, as Redis's does: CONFIG GET shows the
    /// master and CONFIG REWRITE writes its line (or drops it after `NO ONE`), so a server
    /// Sentinel reconfigured comes back after a restart with its new role.
    fn note_replicaof(&mut self, value: &str) {
        // A host and a port always make a valid value; an error cannot happen here.
        let _ = self.config_mut().set("replicaof", value);
    }

    fn disconnect_replicas(&mut self) {
        let ids: Vec<ClientId> = self.repl.replicas.iter().map(|r| r.id).collect();
        for id in ids {
            self.deliver(id, Message::Kill);
        }
        self.repl.replicas.clear();
    }

    /// The master link of epoch `epoch`, if it is still wanted.
    pub fn master_link(&mut self, epoch: u64) -> Option<&mut MasterInfo> {
        self.repl.master.as_mut().filter(|m| m.epoch == epoch)
    }

    /// On a replica, after a full sync from the master: its history is ours now.
    pub fn adopt_master_history(&mut self, replid: &str, offset: u64) {
        self.server.replid = replid.to_owned();
        self.repl.replid2 = None;
        self.repl.second_offset = -1;
        self.repl.offset = offset;
        self.repl.data_offset = offset;
        let size = self.config().repl_backlog_size as usize;
        self.repl.backlog = Some(Backlog::new(size));
        if self.effects.is_none() {
            self.effects = Some(VecDeque::new());
            self.set_key_event_masks_pub();
        }
    }

    /// On a replica, `+CONTINUE <replid>` named a new id (the master was promoted).
    pub fn switch_master_replid(&mut self, replid: &str) {
        if replid != self.server.replid {
            self.repl.replid2 = Some(std::mem::replace(
                &mut self.server.replid,
                replid.to_owned(),
            ));
            self.repl.second_offset = self.repl.offset as i64 + 1;
        }
    }

    /// On a replica, `bytes` of the master's stream were applied: they count in the
    /// offset, join the backlog and go on to this server's own replicas. The effects the
    /// commands logged stay out of the stream (the bytes are the stream).
    pub fn handle_master_stream(&mut self, bytes: &[u8]) {
        if let Some(effects) = &mut self.effects {
            if self.repl.aof_effects {
                self.repl.streamed = effects.len();
            } else {
                effects.clear();
                self.repl.streamed = 0;
            }
        }
        if !bytes.is_empty() {
            self.push_stream(Bytes::copy_from_slice(bytes));
            self.repl.data_offset = self.repl.offset;
        }
    }
}

/// INFO replication's lines, as Redis 7.0 writes them.
pub fn info_lines(store: &Store, now_ms: u64, add: &mut dyn FnMut(String, String)) {
    let r = &store.repl;
    let s = |v: &dyn std::fmt::Display| v.to_string();
    match &r.master {
        None => add("role".into(), "master".into()),
        Some(m) => {
            add("role".into(), "slave".into());
            add("master_host".into(), m.host.clone());
            add("master_port".into(), s(&m.port));
            let up = m.status == LinkStatus::Connected;
            add(
                "master_link_status".into(),
                if up { "up" } else { "down" }.into(),
            );
            let ago = if m.last_io_ms == 0 {
                -1
            } else {
                (now_ms.saturating_sub(m.last_io_ms) / 1000) as i64
            };
            add("master_last_io_seconds_ago".into(), s(&ago));
            let syncing = m.status == LinkStatus::Transfer;
            add("master_sync_in_progress".into(), s(&(syncing as u8)));
            add("slave_read_repl_offset".into(), s(&r.offset));
            add("slave_repl_offset".into(), s(&r.offset));
            if !up {
                let since = if m.down_since_ms == 0 {
                    -1
                } else {
                    (now_ms.saturating_sub(m.down_since_ms) / 1000) as i64
                };
                add("master_link_down_since_seconds".into(), s(&since));
            }
            add("slave_priority".into(), s(&store.config().replica_priority));
            add(
                "slave_read_only".into(),
                s(&(store.config().replica_read_only as u8)),
            );
            let announced = store.config().value("replica-announced").as_deref() != Some("no");
            add("replica_announced".into(), s(&(announced as u8)));
        }
    }
    add("connected_slaves".into(), s(&r.replicas.len()));
    for (i, rep) in r.replicas.iter().enumerate() {
        let lag = now_ms.saturating_sub(rep.ack_ms) / 1000;
        add(
            format!("slave{i}"),
            format!(
                "ip={},port={},state={},offset={},lag={}",
                rep.ip,
                rep.port,
                rep.state.name(),
                rep.ack_offset,
                lag
            ),
        );
    }
    if r.master.is_none() && store.config().min_replicas_to_write > 0 {
        add(
            "min_slaves_good_slaves".into(),
            s(&store.good_replicas(now_ms)),
        );
    }
    add("master_failover_state".into(), "no-failover".into());
    add("master_replid".into(), store.server.replid.clone());
    add(
        "master_replid2".into(),
        r.replid2.clone().unwrap_or_else(|| "0".repeat(40)),
    );
    add("master_repl_offset".into(), s(&r.offset));
    add("second_repl_offset".into(), s(&r.second_offset));
    let (first, len) = r.backlog_range().unwrap_or((0, 0));
    add("repl_backlog_active".into(), s(&(r.active() as u8)));
    add(
        "repl_backlog_size".into(),
        s(&store.config().repl_backlog_size),
    );
    add("repl_backlog_first_byte_offset".into(), s(&first));
    add("repl_backlog_histlen".into(), s(&len));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_keeps_the_last_bytes() {
        let mut b = Backlog::new(5);
        b.push(b"abc");
        b.push(b"def");
        assert_eq!(b.buf.iter().copied().collect::<Vec<_>>(), b"bcdef");
        b.push(b"0123456789");
        assert_eq!(b.buf.iter().copied().collect::<Vec<_>>(), b"56789");
        b.resize(2);
        assert_eq!(b.buf.iter().copied().collect::<Vec<_>>(), b"89");
    }
}
