//! The keyspace: values, expiry, the pub/sub registry and the [`Store`] that holds them all.
//!
//! Time is always an argument (`now_ms`, milliseconds since the Unix epoch): nothing here
//! reads a clock, so expiry is deterministic under test.

mod glob;
mod keyspace;
mod pubsub;
mod store;

pub use glob::glob_match;
pub use keyspace::{Db, Value};
pub use pubsub::{Message, PubSub};
pub use store::{Delivery, Store, StoreConfig};

/// Identifies a connection across the server (CLIENT ID, pub/sub routing).
pub type ClientId = u64;
