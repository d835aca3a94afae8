//! The client registry: what CLIENT LIST, CLIENT KILL and INFO know about every connection.
//!
//! Each [`crate::Session`] keeps its own state and copies the facts others may ask about into
//! its entry here once per [`crate::Session::process`] call (and just before CLIENT LIST or
//! CLIENT INFO), so the registry costs one map lookup per batch of commands, not per byte.
//! The adapter adds the socket facts ([`ClientConn`]) at accept time with
//! [`crate::Store::register_client`]; a session the adapter never registered still gets an
//! entry, with empty addresses, at its first `process`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bytes::Bytes;

use super::{ClientId, TrackingClient};

/// Socket facts about a connection, given by the adapter when it accepts one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientConn {
    /// The peer: `ip:port` (`[v6]:port` is written `v6:port`, as Redis does), or
    /// `path:0` for a Unix socket.
    pub addr: String,
    /// Our end: `ip:port`, or `path:0`.
    pub laddr: String,
    /// The file descriptor, or -1 when there is none to show.
    pub fd: i64,
    /// True for a Unix socket connection (flag `U`, and "local" for `enable-debug-command`).
    pub unix_socket: bool,
}

impl ClientConn {
    /// True if the peer is on this machine: a Unix socket or a loopback address.
    pub fn is_local(&self) -> bool {
        self.unix_socket
            || self.addr.starts_with("127.")
            || self.addr.starts_with("::1:")
            || self.addr.is_empty()
    }
}

/// Which kind of client a connection is, for the TYPE filters of CLIENT LIST and KILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// Any connection not subscribed to anything.
    Normal,
    /// A connection with at least one subscription.
    PubSub,
    /// A replica attached to this server.
    Replica,
    /// This replica's link to its master.
    Master,
}

impl ClientType {
    /// Redis's `getClientTypeByName`; the error is `Unknown client type '…'`.
    pub(crate) fn parse(name: &[u8]) -> Result<ClientType, crate::CmdError> {
        match name.to_ascii_lowercase().as_slice() {
            b"normal" => Ok(ClientType::Normal),
            b"pubsub" => Ok(ClientType::PubSub),
            b"slave" | b"replica" => Ok(ClientType::Replica),
            b"master" => Ok(ClientType::Master),
            _ => Err(crate::CmdError::err(format_args!(
                "Unknown client type '{}'",
                String::from_utf8_lossy(name)
            ))),
        }
    }
}

/// What the registry knows about one connection.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Socket facts from the adapter.
    pub conn: ClientConn,
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// When the connection was registered.
    pub created_ms: u64,
    /// Last time it sent a command.
    pub last_interaction_ms: u64,
    /// Selected database.
    pub db: usize,
    /// 2 or 3.
    pub resp: u8,
    /// Channel subscriptions.
    pub sub: usize,
    /// Pattern subscriptions.
    pub psub: usize,
    /// Commands queued in MULTI, or -1 outside one.
    pub multi: i64,
    /// Blocked in a blocking command (flag `b`; exempt from `timeout`), copied from the
    /// session.
    pub blocked: bool,
    /// CLIENT NO-EVICT on (flag `e`).
    pub no_evict: bool,
    /// A WATCHed key changed (flag `d`).
    pub dirty_cas: bool,
    /// Unwritten reply bytes at the last update.
    pub output_bytes: usize,
    /// The last command run (`client|list` for subcommands).
    pub cmd: &'static str,
    /// The ACL user it is authenticated as (empty: `default`).
    pub user: Bytes,
    /// CLIENT KILL or `timeout` closed it; gone from CLIENT LIST until the adapter removes it.
    pub killed: bool,
    /// A replica (PSYNC or SYNC): flag `S`, type `replica`.
    pub replica: bool,
    /// The link to this server's master: flag `M`, type `master`.
    pub master: bool,
}

impl ClientInfo {
    /// The client's type for TYPE filters.
    pub fn client_type(&self) -> ClientType {
        if self.replica {
            ClientType::Replica
        } else if self.master {
            ClientType::Master
        } else if self.sub + self.psub > 0 {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }

    /// One line of CLIENT LIST, as Redis 7.0 writes it (without the newline). Buffer sizes
    /// Redis reports from its allocator (`qbuf`, `argv-mem`, `rbs`, …) are 0; `omem` and
    /// `tot-mem` are the unwritten output.
    pub fn write_line(
        &self,
        id: ClientId,
        tracking: Option<&TrackingClient>,
        now_ms: u64,
        out: &mut String,
    ) {
        let mut flags = String::new();
        if self.replica {
            flags.push('S');
        }
        if self.master {
            flags.push('M');
        }
        if self.sub + self.psub > 0 {
            flags.push('P');
        }
        if self.multi >= 0 {
            flags.push('x');
        }
        if self.blocked {
            flags.push('b');
        }
        if let Some(t) = tracking {
            flags.push('t');
            if t.broken_redirect {
                flags.push('R');
            }
            if t.bcast {
                flags.push('B');
            }
        }
        if self.dirty_cas {
            flags.push('d');
        }
        if self.conn.unix_socket {
            flags.push('U');
        }
        if self.no_evict {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let name = self
            .name
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let _ = write!(
            out,
            "id={id} addr={} laddr={} fd={} name={name} age={} idle={} flags={flags} db={} \
             sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 \
             rbp=0 obl=0 oll=0 omem={} tot-mem={} events={} cmd={} user={} redir={} resp={}",
            self.conn.addr,
            self.conn.laddr,
            self.conn.fd,
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_interaction_ms) / 1000,
            self.db,
            self.sub,
            self.psub,
            self.multi,
            self.output_bytes,
            self.output_bytes,
            if self.output_bytes > 0 { "rw" } else { "r" },
            if self.cmd.is_empty() {
                "NULL"
            } else {
                self.cmd
            },
            if self.user.is_empty() {
                "default".into()
            } else {
                String::from_utf8_lossy(&self.user)
            },
            tracking.map_or(-1, |t| t.redirect as i64),
            self.resp,
        );
    }
}

/// Every connection of the server, in id (so connection) order.
#[derive(Debug, Default)]
pub struct Clients {
    map: BTreeMap<ClientId, ClientInfo>,
    /// Connections ever registered (INFO `total_connections_received`).
    pub total_received: u64,
}

impl Clients {
    /// The entry of `id`, made (and counted as a new connection) if missing.
    pub(crate) fn entry(&mut self, id: ClientId, now_ms: u64) -> &mut ClientInfo {
        let total = &mut self.total_received;
        self.map.entry(id).or_insert_with(|| {
            *total += 1;
            ClientInfo {
                conn: ClientConn {
                    fd: -1,
                    ..ClientConn::default()
                },
                created_ms: now_ms,
                last_interaction_ms: now_ms,
                multi: -1,
                resp: 2,
                ..ClientInfo::default()
            }
        })
    }

    /// The entry of `id`, if registered.
    pub fn get(&self, id: ClientId) -> Option<&ClientInfo> {
        self.map.get(&id)
    }

    /// The entry of `id`, if registered, to change.
    pub fn get_mut(&mut self, id: ClientId) -> Option<&mut ClientInfo> {
        self.map.get_mut(&id)
    }

    /// Forgets `id` (the connection closed).
    pub(crate) fn remove(&mut self, id: ClientId) {
        self.map.remove(&id);
    }

    /// Live connections (not killed), in id order.
    pub fn iter(&self) -> impl Iterator<Item = (ClientId, &ClientInfo)> + '_ {
        self.map
            .iter()
            .filter(|(_, c)| !c.killed)
            .map(|(&id, c)| (id, c))
    }

    /// Number of live connections (INFO `connected_clients`).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if no connection is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The earliest time a client will have been idle for longer than `timeout_ms`.
    pub(crate) fn idle_deadline(&self, timeout_ms: u64) -> Option<u64> {
        self.iter()
            .filter(|(_, c)| !exempt_from_timeout(c))
            .map(|(_, c)| c.last_interaction_ms.saturating_add(timeout_ms + 1))
            .min()
    }

    /// Clients idle for longer than `timeout_ms` at `now_ms`, marked killed.
    pub(crate) fn take_idle(&mut self, timeout_ms: u64, now_ms: u64) -> Vec<ClientId> {
        let mut out = Vec::new();
        for (&id, c) in &mut self.map {
            if !c.killed
                && !exempt_from_timeout(c)
                && now_ms.saturating_sub(c.last_interaction_ms) > timeout_ms
            {
                c.killed = true;
                out.push(id);
            }
        }
        out
    }
}

/// Subscribers and blocked clients never time out, as in Redis.
fn exempt_from_timeout(c: &ClientInfo) -> bool {
    c.sub + c.psub > 0 || c.blocked
}
