//! Persistence formats: RDB snapshots and the append-only file, as bytes in and bytes out.
//!
//! - [`rdb`]: write a [`Store`] as an RDB file (version 10, Redis 7.0's)
//!   and read one back, from redish or from Redis.
//! - [`aof`]: log write commands as RESP, read a log back (telling a torn last record from
//!   corruption), replay it through the normal command path, and rewrite a dataset as
//!   the shortest log that rebuilds it.
//!
//! Nothing here touches a file, fsyncs, or runs in the background: the adapters open and
//! rename files, decide when to fsync (`appendfsync`), and run BGSAVE / BGREWRITEAOF off
//! the event loop. This module only turns data into bytes and bytes into data, with every
//! length it reads from input bounded by that input.
//!
//! # Format choices
//! - **RDB**: version 10 with Redis 7.0's defaults — strings that are canonical 32-bit
//!   integers stored as integers, strings over 20 bytes LZF-compressed when that saves 4
//!   bytes or more (our own compressor: its bytes differ from liblzf's, any LZF reader gets
//!   the same string), a CRC64 trailer. `used-mem` is written as 0.
//! - **AOF**: one plain RESP file, and rewrites in plain RESP too (`SELECT`, then
//!   `SET key value [PXAT ms]`), not Redis 7's RDB preamble: the log stays one format that
//!   `redis-check-aof` checks and Redis itself loads. The loader reads preambles all the
//!   same, so Redis's files load.
//!
//! ```
//! use redish_core::db::Value;
//! use redish_core::persist::{aof, rdb};
//! use redish_core::Store;
//!
//! let now = 1_700_000_000_000;
//! let mut store = Store::default();
//! store.db(0).insert(b"greeting", Value::str(b"hello"), Some(now + 60_000), now);
//!
//! // A snapshot, read back into a fresh store.
//! let snapshot = rdb::to_vec(&store, now);
//! let mut restored = Store::default();
//! rdb::load_into(&mut restored, &snapshot, now).unwrap();
//! assert_eq!(restored.db(0).expire_at_ms(b"greeting", now), Some(Some(now + 60_000)));
//!
//! // The same dataset as an append-only log, replayed.
//! let log = aof::rewrite(&store, now);
//! let mut replayed = Store::default();
//! redish_core::cmd::replay_aof(&mut replayed, &aof::load(&log).unwrap(), now).unwrap();
//! assert_eq!(replayed.db(0).get(b"greeting", now), Some(&Value::str(b"hello")));
//! ```

pub mod aof;

use crate::Store;

/// What the adapter does with files when a command asks for it: core never opens one. The
/// adapter installs its implementation with [`Store::set_disk`]; SAVE, BGSAVE and
/// BGREWRITEAOF call it (under the store lock, like every command) after checking what
/// Redis checks, and reply with its error as `-ERR <text>`.
///
/// A background job reports its progress in [`crate::db::PersistenceInfo`]
/// (`bgsave_in_progress`, `aof_rewrite_in_progress`, …), which the commands read; it takes
/// its point-in-time view with [`Store::begin_snapshot`].
pub trait Disk: Send + std::fmt::Debug {
    /// SAVE: writes the RDB file of `store` as it is, before returning. Redis's SAVE blocks
    /// the server too.
    fn save(&mut self, store: &mut Store, now_ms: u64) -> Result<(), String>;
    /// BGSAVE: starts writing the RDB file of `store` as it is now, in the background.
    fn bgsave(&mut self, store: &mut Store, now_ms: u64) -> Result<(), String>;
    /// BGREWRITEAOF: starts rewriting the append-only file from `store` as it is now, in
    /// the background, keeping the writes made meanwhile.
    fn rewrite_aof(&mut self, store: &mut Store, now_ms: u64) -> Result<(), String>;
    /// Why the append-only file cannot be written now, if it cannot: its last write or
    /// fsync failed (a full disk, an I/O error) and has not succeeded since. The text is the
    /// system's description of the error (`No space left on device`). While it is `Some`,
    /// writes are refused with Redis's `-MISCONF Errors writing to the AOF file: <text>`.
    fn aof_error(&self) -> Option<String> {
        None
    }
    /// PSYNC / SYNC asked for a full sync of replica `client`: take its snapshot with
    /// [`Store::begin_replica_sync`] (now, or once the running snapshot is done), encode it
    /// in the background and hand it over with [`Store::finish_replica_sync`]. `Err`: this
    /// adapter does not, and the command takes the snapshot at once itself.
    fn sync_replica(
        &mut self,
        store: &mut Store,
        now_ms: u64,
        client: crate::db::ClientId,
    ) -> Result<(), String> {
        let _ = (store, now_ms, client);
        Err("no background jobs".into())
    }
}
mod crc64;
mod lzf;
pub mod rdb;
