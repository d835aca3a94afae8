//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! After MULTI a connection queues its commands and replies `+QUEUED`, except EXEC, DISCARD,
//! MULTI, WATCH and QUIT, which run at once (see [`super::CommandSpec::skips_queue`]). An
//! unknown command or a wrong argument count is refused at once and dooms the transaction:
//! EXEC then replies `EXECABORT`. Errors a command meets when it runs (bad options, wrong
//! types) come back inside EXEC's reply instead, as in Redis — so commands are queued
//! already parsed, parse error included.
//!
//! EXEC runs the queue with exclusive access to the store, so nothing runs in between.
//!
//! WATCH registers keys in their database (see [`crate::Db::watch`]); every change of a
//! watched key marks the watcher dirty at the database's single write choke point, and EXEC
//! replies a null array instead of running if its connection is dirty or a watched key that
//! was live when watched has expired since. EXEC, DISCARD, UNWATCH and closing the
//! connection drop the watches.

use std::collections::HashSet;

use bytes::Bytes;

use super::executor::Ctx;
use super::{Args, CmdError, Command};
use crate::resp::Frame;

/// A queued command: parsed (or its parse error), with the request it came from when the
/// store keeps an effects log.
#[derive(Debug)]
pub(crate) struct Queued {
    /// The request, for EXEC's second ACL check.
    pub args: Vec<Bytes>,
    pub cmd: Result<Command, CmdError>,
    pub raw: Option<Vec<Bytes>>,
    /// The name INFO commandstats counts it under, once EXEC runs it.
    pub stat: Option<&'static str>,
    /// A tracking client's read: the keys to remember once it ran.
    pub tracked: Option<Vec<Bytes>>,
    /// The request as sent, for the slow log and MONITOR (when they want it).
    pub observed: Option<Vec<Bytes>>,
}

/// The state of a connection between MULTI and EXEC/DISCARD.
#[derive(Debug, Default)]
pub(crate) struct MultiState {
    pub queued: Vec<Queued>,
    /// A command was refused while queueing: EXEC must abort.
    pub aborted: bool,
}

/// `MULTI` — starts a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multi;

impl Multi {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        if ctx.conn.multi.is_some() {
            return Err(CmdError::err("MULTI calls can not be nested"));
        }
        ctx.conn.multi = Some(MultiState::default());
        Ok(Frame::OK)
    }
}

/// `EXEC` — runs the queued commands and replies with an array of their replies; a null
/// array if a watched key changed; `EXECABORT` if queueing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec;

impl Exec {
    /// Ends the transaction: the commands to run, `None` if a watched key changed (EXEC
    /// replies a null array), or the error that refuses them. Either way the connection
    /// leaves MULTI and drops its watches.
    pub(crate) fn begin(ctx: &mut Ctx) -> Result<Option<Vec<Queued>>, CmdError> {
        let Some(multi) = ctx.conn.multi.take() else {
            return Err(CmdError::err("EXEC without MULTI"));
        };
        let id = ctx.conn.id;
        let dirty = ctx
            .store
            .watch_is_dirty(id, ctx.conn.watched.iter(), ctx.now_ms);
        unwatch_all(ctx);
        if multi.aborted {
            return Err(CmdError::Other(
                "EXECABORT Transaction discarded because of previous errors.".into(),
            ));
        }
        Ok((!dirty).then_some(multi.queued))
    }
}

/// `DISCARD` — drops the queued commands and the watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discard;

impl Discard {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        if ctx.conn.multi.take().is_none() {
            return Err(CmdError::err("DISCARD without MULTI"));
        }
        unwatch_all(ctx);
        Ok(Frame::OK)
    }
}

/// `WATCH key [key ...]` — makes the next EXEC fail if any of the keys (in the selected
/// database) changes or expires before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The keys.
    pub keys: Vec<Bytes>,
}

impl Watch {
    pub(crate) fn parse(args: &mut Args) -> Result<Watch, CmdError> {
        Ok(Watch { keys: args.rest() })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        if ctx.conn.multi.is_some() {
            return Err(CmdError::err("WATCH inside MULTI is not allowed"));
        }
        let (id, db, now) = (ctx.conn.id, ctx.conn.db, ctx.now_ms);
        for key in self.keys {
            // Owned bytes: a watch may outlive the read buffer by far.
            let key = Bytes::copy_from_slice(&key);
            ctx.store.db(db).watch(&key, id, now);
            ctx.conn.watched.insert((db, key));
        }
        Ok(Frame::OK)
    }
}

/// `UNWATCH` — forgets every watched key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwatch;

impl Unwatch {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        unwatch_all(ctx);
        Ok(Frame::OK)
    }
}

fn unwatch_all(ctx: &mut Ctx) {
    let watched = std::mem::take(&mut ctx.conn.watched);
    ctx.store.unwatch_all(ctx.conn.id, watched);
}

/// What a connection watches: (database, key) pairs.
pub(crate) type WatchedKeys = HashSet<(usize, Bytes)>;
