//! A connection's commands while a script runs past `busy-reply-threshold`.
//!
//! The script holds the store, so these run on the connection's own state and the
//! [`ScriptWatch`] only. Redis's `processCommand` goes on answering then: the checks before
//! its busy check in their order (unknown command, arity, NOAUTH, not allowed in MULTI,
//! pub/sub context), then `-BUSY` for every command not flagged `allow_busy` — which dooms
//! a transaction, and aborts EXEC — while SCRIPT KILL, FUNCTION KILL and SHUTDOWN NOSAVE
//! act on the script. The other `allow_busy` commands (AUTH, HELLO, WATCH, RESET…) need the
//! store: they wait, with the rest of the connection's input, until the script ends.

use bytes::Bytes;

use super::executor::ConnState;
use super::tx::MultiState;
use super::CmdError;
use crate::db::ScriptWatch;
use crate::resp::{Frame, Protocol};

/// What became of one request.
pub(crate) enum BusyStep {
    /// Answered now. INFO counts it once the store is free again.
    Answered { reply: Frame, count: BusyCount },
    /// QUIT: `+OK`, then the connection closes.
    Quit,
    /// It needs the store: it runs, first, when the script has ended.
    Wait,
}

/// What INFO counts of an answered request, kept until the store can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BusyCount {
    /// commandstats' name, if the command is known.
    pub stat: Option<&'static str>,
    /// Refused before it ran (`rejected_calls`), or it ran.
    pub rejected: bool,
    /// The error's code, for errorstats.
    pub error: Option<String>,
}

/// Answers `args` while `busy` (the `-BUSY` text for this script) holds the store.
pub(crate) fn step(
    conn: &mut ConnState,
    watch: &ScriptWatch,
    busy: &'static str,
    args: &[Bytes],
) -> BusyStep {
    let resolved = super::resolve(&args[0]);
    let stat = resolved.and_then(|r| r.stat_name(args));
    let refuse = |conn: &mut ConnState, e: CmdError| {
        if let Some(multi) = &mut conn.multi {
            multi.aborted = true;
        }
        answered_error(stat, true, e)
    };
    let spec = match super::check(resolved.map(|r| r.spec), args) {
        Ok(spec) => spec,
        Err(e) => return refuse(conn, e),
    };
    let r = resolved.expect("check passed");
    let Some(name) = stat.filter(|name| super::checked_name(name, args).is_some()) else {
        // An unknown subcommand or a subcommand's arity: worded by its parser, later.
        return BusyStep::Wait;
    };
    if !conn.authenticated && !r.no_auth {
        let e = CmdError::Other("NOAUTH Authentication required.".into());
        return refuse(conn, e);
    }
    if conn.multi.is_some() && !spec.allowed_in_multi() {
        return refuse(
            conn,
            CmdError::err("Command not allowed inside a transaction"),
        );
    }
    if conn.is_subscribed() && conn.proto == Protocol::Resp2 && !spec.pubsub_ok {
        return refuse(conn, CmdError::NotInPubSubContext(name));
    }
    let allow_busy = super::command::meta(name).is_some_and(|m| m.flags.contains(&"allow_busy"));
    if !allow_busy {
        if name == "exec" && conn.multi.is_some() {
            // Redis's `execCommandAbort`: the transaction is gone; its watches go when
            // the store is free (before any other command of this connection).
            conn.multi = None;
            let e = CmdError::Other(format!(
                "EXECABORT Transaction discarded because of: {busy}"
            ));
            return answered_error(stat, true, e);
        }
        return refuse(conn, CmdError::Other(busy.into()));
    }
    if conn.multi.is_some() && !matches!(name, "multi" | "quit") {
        // Queued (or DISCARD, WATCH's error…) once the store is free.
        return BusyStep::Wait;
    }
    let ran = |reply: Result<(), &'static str>| match reply {
        Ok(()) => BusyStep::Answered {
            reply: Frame::OK,
            count: BusyCount {
                stat,
                rejected: false,
                error: None,
            },
        },
        Err(text) => answered_error(stat, false, CmdError::Other(text.into())),
    };
    match name {
        "script|kill" => ran(watch.kill(true)),
        "function|kill" => ran(watch.kill(false)),
        "multi" if conn.multi.is_some() => {
            answered_error(stat, false, CmdError::err("MULTI calls can not be nested"))
        }
        "multi" => {
            conn.multi = Some(MultiState::default());
            ran(Ok(()))
        }
        "quit" => BusyStep::Quit,
        "shutdown" => {
            let has = |word: &[u8]| args[1..].iter().any(|a| a.eq_ignore_ascii_case(word));
            if has(b"NOSAVE") && !has(b"ABORT") {
                // The script stops whether it wrote or not; SHUTDOWN NOSAVE itself runs
                // as soon as it has.
                watch.kill_for_shutdown();
                BusyStep::Wait
            } else if has(b"ABORT") {
                BusyStep::Wait
            } else {
                ran(Err(busy))
            }
        }
        _ => BusyStep::Wait,
    }
}

fn answered_error(stat: Option<&'static str>, rejected: bool, e: CmdError) -> BusyStep {
    BusyStep::Answered {
        reply: e.to_frame(),
        count: BusyCount {
            stat,
            rejected,
            error: Some(e.code().to_owned()),
        },
    }
}
