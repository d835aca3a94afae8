//! Server commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, LASTSAVE, FUNCTION, SHUTDOWN.
//! (CONFIG, INFO, CLIENT, COMMAND, OBJECT and DEBUG have files of their own.)

use bytes::Bytes;

use super::executor::Ctx;
use super::{int32_arg, Args, CmdError};
use crate::resp::{Frame, Protocol};

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
        ctx.store.signal_flushed(ctx.conn.proto == Protocol::Resp3);
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
        ctx.store.signal_flushed(ctx.conn.proto == Protocol::Resp3);
        ctx.force_propagation();
        Ok(Frame::OK)
    }
}

/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE]` — asks the adapter to stop the server
/// gracefully; it saves first when asked to, or when save points are configured and
/// NOSAVE was not given ([`crate::db::PersistenceInfo::shutdown_save`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shutdown {
    /// `Some(true)`: SAVE, `Some(false)`: NOSAVE, `None`: neither.
    pub save: Option<bool>,
}

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
        Ok(Shutdown {
            save: (save || nosave).then_some(save),
        })
    }
}

/// `SWAPDB index1 index2` — exchanges two databases' keys. Connections stay on their index
/// and so see the other data; WATCHes of a key that exists on either side fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapDb {
    /// The indexes, as given.
    pub a: i64,
    /// See `a`.
    pub b: i64,
}

impl SwapDb {
    pub(crate) fn parse(args: &mut Args) -> Result<SwapDb, CmdError> {
        let a =
            int32_arg(&args.required()?).map_err(|_| CmdError::err("invalid first DB index"))?;
        let b =
            int32_arg(&args.required()?).map_err(|_| CmdError::err("invalid second DB index"))?;
        Ok(SwapDb {
            a: a.into(),
            b: b.into(),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let n = ctx.store.databases() as i64;
        if !(0..n).contains(&self.a) || !(0..n).contains(&self.b) {
            return Err(CmdError::DbIndexOutOfRange);
        }
        ctx.store.swap_dbs(self.a as usize, self.b as usize);
        Ok(Frame::OK)
    }
}

/// `TIME` — the server's clock as `[seconds, microseconds]`, from the time the adapter
/// passed in (millisecond precision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Time;

impl Time {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        Ok(Frame::Array(vec![
            Frame::Bulk(Bytes::from((now / 1000).to_string())),
            Frame::Bulk(Bytes::from(((now % 1000) * 1000).to_string())),
        ]))
    }
}

/// `LASTSAVE` — Unix time of the last successful save, or of the start before any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSave;

impl LastSave {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        Ok(Frame::Integer(ctx.store.last_save_unix_s() as i64))
    }
}

/// FUNCTION HELP's lines (`cmd/function.rs`).
pub(super) const FUNCTION_HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];
