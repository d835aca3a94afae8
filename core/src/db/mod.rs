//! The keyspace: values, expiry, the pub/sub registry and the [`Store`] that holds them all.
//!
//! Time is always an argument (`now_ms`, milliseconds since the Unix epoch): nothing here
//! reads a clock, so expiry is deterministic under test.

mod blocking;
mod clients;
mod config;
pub mod config_file;
pub mod digest;
mod evict;
pub mod function;
mod glob;
mod keyspace;
mod memory;
pub mod notify;
pub mod observe;
mod pause;
mod pubsub;
pub mod repl;
mod script;
pub mod script_watch;
mod server_state;
mod small_bytes;
mod snapshot;
mod store;
mod tracking;
pub mod types;

pub use blocking::{Blocked, BlockedOp, StreamWait};
pub use clients::{ClientConn, ClientInfo, ClientType, Clients};
pub(crate) use config::memory as memtoull;
pub use config::trim_double;
pub use config::{
    Access, AppendFsync, Apply, Bind, Config, ConfigSetError, ConfigValue, DebugCommand, Kind,
    MaxmemoryPolicy, OutputBufferLimit, Param, Percentiles, PARAMS,
};
pub use config::{SecurityConfig, TlsAuthClients, TlsReload};
pub use evict::Eviction;
pub use function::{Functions, Library, LibraryId, RegisteredFunction, RestorePolicy};
pub use glob::glob_match;
pub use keyspace::{Db, Value};
pub use memory::MemoryGauge;
pub use observe::Clock;
pub use pause::PauseKind;
pub use pubsub::{Message, PubSub};
pub use script::{
    CachedScript, CallError, FunctionRun, ScriptEngine, ScriptFlags, ScriptHost, ScriptReply,
    ScriptRun, ScriptSha, Scripts,
};
pub use script_watch::ScriptWatch;
pub use server_state::{CmdStat, PersistenceInfo, ProcessInfo, Stats};
pub use snapshot::{Snapshot, SnapshotEntry, SnapshotStep};
pub use store::{Delivery, Effect, Store, StoreConfig};
pub use tracking::{encode_invalidation, Invalidated, TrackingClient, TrackingOptions};
pub use types::stream::{Consumer, Group, Nack, NodeLimits, Stream, StreamId, Trim};
pub use types::TypeLimits;

/// Identifies a connection across the server (CLIENT ID, pub/sub routing).
pub type ClientId = u64;

/// A small seeded pseudo-random generator (SplitMix64) for RANDOMKEY and the like. Core
/// never reads a thread-local or OS source: the store holds one, seeded by its config, so a
/// run is reproducible from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), by multiply-shift rather than a biased modulo.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}
