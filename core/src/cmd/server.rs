//! Server commands: DBSIZE, FLUSHDB, FLUSHALL, CONFIG GET, SHUTDOWN.

use bytes::Bytes;

use super::{Args, CmdError, Command};
use crate::db::glob_match;
use crate::resp::Frame;
use crate::session::Ctx;

/// `DBSIZE` — keys in the selected database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbSize;

impl DbSize {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        Ok(Frame::Integer(ctx.db().len() as i64))
    }
}

fn flush_mode(args: &mut Args) -> Result<(), CmdError> {
    match args.rest().as_slice() {
        [] => Ok(()),
        [m] if m.eq_ignore_ascii_case(b"ASYNC") || m.eq_ignore_ascii_case(b"SYNC") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// `FLUSHDB [ASYNC | SYNC]` — empties the selected database. Both modes free memory at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushDb;

impl FlushDb {
    pub(crate) fn parse(args: &mut Args) -> Result<FlushDb, CmdError> {
        flush_mode(args).map(|()| FlushDb)
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        ctx.db().clear();
        // Logged even when the database was empty already, as Redis does.
        ctx.force_propagation();
        Ok(Frame::OK)
    }
}

/// `FLUSHALL [ASYNC | SYNC]` — empties every database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushAll;

impl FlushAll {
    pub(crate) fn parse(args: &mut Args) -> Result<FlushAll, CmdError> {
        flush_mode(args).map(|()| FlushAll)
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        ctx.store.flush_all();
        ctx.force_propagation();
        Ok(Frame::OK)
    }
}

/// `CONFIG GET parameter [parameter ...]` — the settings whose names match any of the glob
/// patterns (case-insensitive), as a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigGet {
    /// Glob patterns over setting names.
    pub patterns: Vec<Bytes>,
}

pub(crate) fn parse_config(args: &mut Args) -> Result<Command, CmdError> {
    let sub = args.required()?;
    if sub.eq_ignore_ascii_case(b"GET") {
        if args.remaining() == 0 {
            return Err(CmdError::WrongArity("config|get"));
        }
        return Ok(Command::ConfigGet(ConfigGet {
            patterns: args.rest(),
        }));
    }
    Err(CmdError::UnknownSubcommand {
        sub: String::from_utf8_lossy(&sub).into_owned(),
        cmd: "CONFIG",
    })
}

impl ConfigGet {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let pairs = ctx
            .store
            .settings()
            .filter(|(name, _)| {
                self.patterns
                    .iter()
                    .any(|p| glob_match(p, name.as_bytes(), true))
            })
            .map(|(name, value)| (Frame::bulk(name), Frame::Bulk(Bytes::from(value))))
            .collect();
        Ok(Frame::Map(pairs))
    }
}

/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE]` — asks the adapter to stop the server
/// gracefully. There is no persistence yet, so the save options change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shutdown;

impl Shutdown {
    pub(crate) fn parse(args: &mut Args) -> Result<Shutdown, CmdError> {
        let (mut save, mut nosave, mut abort) = (false, false, false);
        let n = args.remaining();
        while let Some(opt) = args.next() {
            match opt.to_ascii_uppercase().as_slice() {
                b"SAVE" => save = true,
                b"NOSAVE" => nosave = true,
                b"NOW" | b"FORCE" => {}
                b"ABORT" => abort = true,
                _ => return Err(CmdError::Syntax),
            }
        }
        if (save && nosave) || (abort && n > 1) {
            return Err(CmdError::Syntax);
        }
        if abort {
            return Err(CmdError::err("No shutdown in progress."));
        }
        Ok(Shutdown)
    }
}
