//! Replication commands: REPLCONF, PSYNC, SYNC, WAIT, ROLE, REPLICAOF and SLAVEOF.
//!
//! The state they read and change is `db/repl.rs`'s; a full sync's snapshot is the
//! adapter's ([`crate::persist::Disk::sync_replica`]), or made at once here when there is
//! none (a store without a host, as in tests).

use bytes::Bytes;

use super::executor::Ctx;
use super::{Args, CmdError};
use crate::db::repl::Psync;
use crate::resp::Frame;

/// A replication command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplCmd {
    /// `REPLCONF option value [option value ...]`.
    Replconf(Vec<Bytes>),
    /// `PSYNC replicationid offset`.
    Psync {
        /// The id the replica had, or `?`.
        replid: Bytes,
        /// The first byte it wants, or -1.
        offset: Bytes,
    },
    /// `SYNC`.
    Sync,
    /// `WAIT numreplicas timeout`.
    Wait {
        /// Replicas to wait for.
        replicas: i64,
        /// Milliseconds; 0 waits forever.
        timeout_ms: i64,
    },
    /// `ROLE`.
    Role,
    /// `REPLICAOF host port`, `REPLICAOF NO ONE` (and SLAVEOF).
    ReplicaOf {
        /// The master's host; `None`: NO ONE.
        host: Option<Bytes>,
        /// Its port, as sent.
        port: Bytes,
    },
}

pub(crate) fn parse(args: &mut Args) -> Result<ReplCmd, CmdError> {
    match args.name() {
        "replconf" => Ok(ReplCmd::Replconf(args.rest())),
        "psync" => {
            let replid = args.required()?;
            let offset = args.required()?;
            Ok(ReplCmd::Psync { replid, offset })
        }
        "sync" => Ok(ReplCmd::Sync),
        "wait" => {
            let replicas = super::int_arg(&args.required()?)?;
            let timeout_ms = super::int_arg(&args.required()?)?;
            if timeout_ms < 0 {
                return Err(CmdError::err("timeout is negative"));
            }
            Ok(ReplCmd::Wait {
                replicas,
                timeout_ms,
            })
        }
        "role" => Ok(ReplCmd::Role),
        _ => {
            let host = args.required()?;
            let port = args.required()?;
            let no_one = host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one");
            Ok(ReplCmd::ReplicaOf {
                host: (!no_one).then_some(host),
                port,
            })
        }
    }
}

impl ReplCmd {
    /// The name INFO commandstats counts it under.
    pub fn name(&self) -> &'static str {
        match self {
            ReplCmd::Replconf(_) => "replconf",
            ReplCmd::Psync { .. } => "psync",
            ReplCmd::Sync => "sync",
            ReplCmd::Wait { .. } => "wait",
            ReplCmd::Role => "role",
            ReplCmd::ReplicaOf { .. } => "replicaof",
        }
    }

    /// Runs it. `Ok(None)`: the reply was written, or none is due.
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Option<Frame>, CmdError> {
        match self {
            ReplCmd::Replconf(args) => replconf(ctx, args),
            ReplCmd::Psync { replid, offset } => {
                let offset = crate::num::parse_i64(&offset)
                    .ok_or(CmdError::NotInteger)?
                    .try_into()
                    .ok();
                sync(ctx, &replid, offset, false)
            }
            ReplCmd::Sync => sync(ctx, b"", None, true),
            ReplCmd::Wait {
                replicas,
                timeout_ms,
            } => {
                if ctx.store.is_replica() {
                    return Err(CmdError::err("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
                }
                let deadline = (timeout_ms > 0).then(|| ctx.now_ms + timeout_ms as u64);
                let wanted = replicas.max(0) as usize;
                let may_block = ctx.may_block();
                match ctx
                    .store
                    .wait_replicas(ctx.conn.id, wanted, deadline, may_block)
                {
                    Some(n) => Ok(Some(Frame::Integer(n as i64))),
                    None => {
                        ctx.conn.blocked = true;
                        Ok(None)
                    }
                }
            }
            ReplCmd::Role => Ok(Some(role(ctx))),
            ReplCmd::ReplicaOf { host, port } => replicaof(ctx, host, &port),
        }
    }
}

fn replconf(ctx: &mut Ctx, args: Vec<Bytes>) -> Result<Option<Frame>, CmdError> {
    if args.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    for pair in args.chunks(2) {
        let (option, value) = (&pair[0], &pair[1]);
        match option.to_ascii_lowercase().as_slice() {
            b"listening-port" => {
                let port = crate::num::parse_i64(value)
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or(CmdError::NotInteger)?;
                ctx.conn.repl_port = port;
            }
            b"ip-address" => {
                ctx.conn.repl_ip = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"capa" | b"rdb-only" | b"rdb-filter-only" => {}
            b"ack" | b"fack" => {
                // From a replica only, and never answered.
                if ctx.conn.replica {
                    if let Some(offset) = crate::num::parse_i64(value) {
                        let (id, now) = (ctx.conn.id, ctx.now_ms);
                        ctx.store.replica_ack(id, offset.max(0) as u64, now);
                    }
                }
                return Ok(None);
            }
            // A master asks its replica; anyone else asking gets nothing.
            b"getack" => return Ok(None),
            _ => {
                return Err(CmdError::err(format_args!(
                    "Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(option)
                )))
            }
        }
    }
    Ok(Some(Frame::OK))
}

/// PSYNC (`legacy`: SYNC): `+CONTINUE` and the backlog, or a full sync.
fn sync(
    ctx: &mut Ctx,
    replid: &[u8],
    offset: Option<u64>,
    legacy: bool,
) -> Result<Option<Frame>, CmdError> {
    if ctx.conn.replica {
        // Already a replica: ignored, as Redis does.
        return Ok(None);
    }
    if let Some(m) = &ctx.store.replication().master {
        if m.status != crate::db::repl::LinkStatus::Connected {
            return Err(CmdError::Other(
                "NOMASTERLINK Can't SYNC while not connected with my master".into(),
            ));
        }
    }
    let id = ctx.conn.id;
    let ip = ctx.conn.repl_ip.clone().unwrap_or_else(|| {
        let addr = ctx
            .store
            .clients()
            .get(id)
            .map(|c| c.conn.addr.clone())
            .unwrap_or_default();
        match addr.rsplit_once(':') {
            Some((ip, _)) => ip.to_owned(),
            None => addr,
        }
    });
    let port = ctx.conn.repl_port;
    let (replid, offset) = if legacy {
        (&b""[..], None)
    } else {
        (replid, offset)
    };
    let now = ctx.now_ms;
    let outcome = ctx.store.psync(id, ip, port, replid, offset, now);
    ctx.conn.replica = true;
    ctx.store.mark_replica_client(id);
    match outcome {
        Psync::Continue(backlog) => {
            let line = format!("+CONTINUE {}\r\n", ctx.store.replid());
            let out = ctx.out();
            out.buf.extend_from_slice(line.as_bytes());
            out.buf.extend_from_slice(&backlog);
        }
        Psync::Full => {
            let started = super::persist::with_disk(ctx.store, |disk, store| {
                disk.sync_replica(store, now, id)
            });
            match started {
                Ok(()) => {}
                // No host to take the snapshot in the background: take it now.
                Err(_) => {
                    if let Some(mut snap) = ctx.store.begin_replica_sync(id, now) {
                        let rdb = crate::persist::rdb::snapshot_to_vec(ctx.store, &mut snap);
                        ctx.store.finish_replica_sync(id, &rdb, now);
                    }
                }
            }
        }
    }
    Ok(None)
}

fn role(ctx: &mut Ctx) -> Frame {
    let repl = ctx.store.replication();
    match &repl.master {
        None => Frame::Array(vec![
            Frame::bulk("master"),
            Frame::Integer(repl.offset as i64),
            Frame::Array(
                repl.replicas
                    .iter()
                    .filter(|r| r.state == crate::db::repl::ReplicaState::Online)
                    .map(|r| {
                        Frame::Array(vec![
                            Frame::Bulk(Bytes::from(r.ip.clone())),
                            Frame::Bulk(Bytes::from(r.port.to_string())),
                            Frame::Bulk(Bytes::from(r.ack_offset.to_string())),
                        ])
                    })
                    .collect(),
            ),
        ]),
        Some(m) => {
            let connected = m.status == crate::db::repl::LinkStatus::Connected;
            Frame::Array(vec![
                Frame::bulk("slave"),
                Frame::Bulk(Bytes::from(m.host.clone())),
                Frame::Integer(m.port.into()),
                Frame::bulk(m.status.role_name()),
                Frame::Integer(if connected { repl.offset as i64 } else { -1 }),
            ])
        }
    }
}

fn replicaof(ctx: &mut Ctx, host: Option<Bytes>, port: &[u8]) -> Result<Option<Frame>, CmdError> {
    let Some(host) = host else {
        if ctx.store.is_replica() {
            ctx.store.promote();
        }
        return Ok(Some(Frame::OK));
    };
    let port = crate::num::parse_i64(port).ok_or(CmdError::NotInteger)?;
    let port = u16::try_from(port).map_err(|_| CmdError::err("Invalid master port"))?;
    if ctx.conn.replica {
        return Err(CmdError::err(
            "Command is not valid when client is a replica.",
        ));
    }
    let host = String::from_utf8_lossy(&host).into_owned();
    if let Some(m) = &ctx.store.replication().master {
        if m.host.eq_ignore_ascii_case(&host) && m.port == port {
            return Ok(Some(Frame::simple(
                "OK Already connected to specified master",
            )));
        }
    }
    ctx.store.set_master(host, port);
    Ok(Some(Frame::OK))
}
