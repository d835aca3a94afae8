//! AOF replay: the commands of a loaded append-only file, run through the executor.

use bytes::BytesMut;

use super::executor::{self, Caller, ConnState, Ctx, Outcome};
use crate::db::{ClientId, Store};
use crate::persist::aof::{AofCommand, AofEntry, AofError, AofLoad, ReplaySummary};

/// Applies a loaded AOF to `store` at time `now_ms`: first the preamble's keys (those
/// already expired are skipped), then every command, through the executor as a client's
/// would run — so replay shares the command code rather than duplicating it.
///
/// A transaction's commands run back to back; since replay holds the store throughout,
/// nothing can interleave with them, which is all MULTI/EXEC guarantees. A command that
/// fails stops the replay with [`AofError::CommandFailed`]. Replayed commands are not
/// counted in INFO's statistics, and blocking commands do not wait. Meant for a store being
/// filled at start-up: on error, discard it. Run it before turning on the store's effects
/// log, or the replayed commands are logged again.
///
/// ```
/// use redish_core::persist::aof;
/// use redish_core::{cmd, db::Value, Store};
///
/// let mut log = aof::AofWriter::new();
/// log.append(2, &["SET", "k", "v"]);
/// let mut store = Store::default();
/// let loaded = aof::load(log.poll_transmit()).unwrap();
/// let summary = cmd::replay_aof(&mut store, &loaded, 1_700_000_000_000).unwrap();
/// assert_eq!(summary.commands, 1);
/// assert_eq!(store.db(2).get(b"k", 1_700_000_000_000), Some(&Value::str(b"v")));
/// ```
pub fn replay_aof(
    store: &mut Store,
    load: &AofLoad,
    now_ms: u64,
) -> Result<ReplaySummary, AofError> {
    store.sync_access_policy();
    let mut summary = ReplaySummary::default();
    for entry in &load.preamble {
        if entry.db >= store.databases() {
            return Err(AofError::DbOutOfRange {
                db: entry.db,
                offset: entry.offset,
                databases: store.databases(),
            });
        }
        if entry.expire_at_ms.is_some_and(|at| at <= now_ms) {
            continue;
        }
        store
            .db(entry.db)
            .insert(&entry.key, entry.value.clone(), entry.expire_at_ms, now_ms);
        store
            .db(entry.db)
            .set_lru_or_lfu(&entry.key, entry.freq, entry.idle_s, now_ms);
        summary.preamble_keys += 1;
    }

    let mut conn = ConnState::new(ClientId::MAX);
    // Replies are dropped after each command.
    let mut out = BytesMut::new();
    for entry in &load.entries {
        let cmds = match entry {
            AofEntry::Command(cmd) => std::slice::from_ref(cmd),
            AofEntry::Transaction(cmds) => cmds,
        };
        for cmd in cmds {
            run(store, &mut conn, &mut out, cmd, now_ms)?;
            summary.commands += 1;
        }
    }
    Ok(summary)
}

fn run(
    store: &mut Store,
    conn: &mut ConnState,
    out: &mut BytesMut,
    cmd: &AofCommand,
    now_ms: u64,
) -> Result<(), AofError> {
    if cmd.db >= store.databases() {
        return Err(AofError::DbOutOfRange {
            db: cmd.db,
            offset: cmd.offset,
            databases: store.databases(),
        });
    }
    conn.db = cmd.db;
    let mut ctx = Ctx::new(store, conn, now_ms, out, Caller::AOF);
    let outcome = executor::execute(&mut ctx, cmd.args.clone());
    out.clear();
    let not_replayable = || AofError::NotReplayable {
        offset: cmd.offset,
        name: String::from_utf8_lossy(&cmd.args[0]).into_owned(),
    };
    match outcome {
        Outcome::Failed(e) | Outcome::Rejected(e) => Err(AofError::CommandFailed {
            offset: cmd.offset,
            reply: e.to_string(),
        }),
        // About connections and servers, not data.
        Outcome::Quit | Outcome::Shutdown => Err(not_replayable()),
        _ if conn.is_subscribed() => Err(not_replayable()),
        _ => Ok(()),
    }
}
