//! Persistence commands: SAVE, BGSAVE, BGREWRITEAOF.
//!
//! Core writes no file: these commands check what Redis checks (a save already running,
//! another job in the way) and hand the work to the adapter's [`Disk`], installed with
//! [`crate::Store::set_disk`]. Background jobs report back through
//! [`crate::db::PersistenceInfo`] (in progress, scheduled, last status), which the adapter
//! keeps up to date and INFO persistence shows.

use super::executor::Ctx;
use super::{Args, CmdError};
use crate::persist::Disk;
use crate::resp::Frame;
use crate::Store;

/// `SAVE`, `BGSAVE [SCHEDULE]` or `BGREWRITEAOF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersistCmd {
    /// `SAVE`: write the RDB file now; the reply waits for it (the server too, as in Redis).
    Save,
    /// `BGSAVE [SCHEDULE]`: write the RDB file in the background.
    BgSave {
        /// Start it once the job running now is over instead of refusing.
        schedule: bool,
    },
    /// `BGREWRITEAOF`: rewrite the append-only file from the dataset, in the background.
    BgRewriteAof,
}

impl PersistCmd {
    pub(crate) fn parse_bgsave(args: &mut Args) -> Result<PersistCmd, CmdError> {
        match args.next() {
            None => Ok(PersistCmd::BgSave { schedule: false }),
            Some(a) if a.eq_ignore_ascii_case(b"SCHEDULE") && args.remaining() == 0 => {
                Ok(PersistCmd::BgSave { schedule: true })
            }
            Some(_) => Err(CmdError::Syntax),
        }
    }

    /// The command's name, as the command table has it.
    pub fn name(&self) -> &'static str {
        match self {
            PersistCmd::Save => "save",
            PersistCmd::BgSave { .. } => "bgsave",
            PersistCmd::BgRewriteAof => "bgrewriteaof",
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let now = ctx.now_ms;
        let in_exec = ctx.in_exec;
        let store = &mut *ctx.store;
        let p = store.persistence();
        let (bgsave, rewrite) = (p.bgsave_in_progress, p.aof_rewrite_in_progress);
        match self {
            PersistCmd::Save => {
                if bgsave {
                    return Err(CmdError::err("Background save already in progress"));
                }
                with_disk(store, |disk, store| disk.save(store, now))?;
                Ok(Frame::OK)
            }
            PersistCmd::BgSave { schedule } => {
                if bgsave {
                    Err(CmdError::err("Background save already in progress"))
                } else if rewrite || in_exec {
                    if schedule || in_exec {
                        store.persistence_mut().bgsave_scheduled = true;
                        Ok(Frame::simple("Background saving scheduled"))
                    } else {
                        Err(CmdError::err(
                            "Another child process is active (AOF?): can't BGSAVE right now. \
                             Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
                        ))
                    }
                } else {
                    with_disk(store, |disk, store| disk.bgsave(store, now))?;
                    Ok(Frame::simple("Background saving started"))
                }
            }
            PersistCmd::BgRewriteAof => {
                if rewrite {
                    Err(CmdError::err(
                        "Background append only file rewriting already in progress",
                    ))
                } else if bgsave || in_exec {
                    store.persistence_mut().aof_rewrite_scheduled = true;
                    Ok(Frame::simple(
                        "Background append only file rewriting scheduled",
                    ))
                } else {
                    with_disk(store, |disk, store| disk.rewrite_aof(store, now)).map_err(|_| {
                        CmdError::err(
                            "Can't execute an AOF background rewriting. \
                             Please check the server logs for more information.",
                        )
                    })?;
                    Ok(Frame::simple(
                        "Background append only file rewriting started",
                    ))
                }
            }
        }
    }
}

/// Runs `f` with the store's [`Disk`] (taken out of the store meanwhile), turning its error
/// into an `ERR` reply.
pub(crate) fn with_disk(
    store: &mut Store,
    f: impl FnOnce(&mut dyn Disk, &mut Store) -> Result<(), String>,
) -> Result<(), CmdError> {
    let Some(mut disk) = store.take_disk() else {
        return Err(CmdError::err("this server was started without persistence"));
    };
    let result = f(&mut *disk, store);
    store.set_disk(Some(disk));
    result.map_err(CmdError::err)
}
