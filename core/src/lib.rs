//! The sans-IO core of redish, a Redis-compatible server.
//!
//! This crate holds everything about the protocol and the data, and nothing about I/O:
//!
//! - [`resp`]: RESP2 and RESP3 frames, incremental zero-copy decoders with explicit limits,
//!   and an encoder that writes one reply in either protocol version. Usable on its own as a
//!   RESP parser.
//! - [`cmd`]: requests parsed into typed [`Command`]s, with Redis's error texts.
//! - [`db`]: the keyspace with expiry and its value types (strings, hashes, lists, sets,
//!   sorted sets, in Redis 7.0's encodings), the pub/sub registry, the clients blocked on
//!   keys, and the shared [`Store`].
//! - [`Session`]: one connection's state machine — bytes in, reply bytes and events out.
//! - [`num`]: numbers parsed and formatted exactly as Redis does, for every layer.
//! - [`persist`]: RDB snapshots and the append-only log, as bytes in and bytes out.
//!
//! # How a request flows
//!
//! Bytes an adapter read go into a [`Session`] (`session.rs`), which decodes requests
//! ([`resp::RequestDecoder`]) and hands each to the executor (`cmd/executor.rs`). The executor
//! looks the command up in [`cmd::COMMANDS`], admits it in Redis's order, queues it in MULTI
//! or runs the command's code (`cmd/<family>.rs`) against the keyspace ([`db`]), logs its
//! effect and counts it in INFO. AOF replay ([`cmd::replay_aof`]) runs the same executor
//! without a connection. Each layer imports only the ones below it — [`resp`] and [`num`] at
//! the bottom, then [`db`] and [`persist`], then [`cmd`], then the session — and CI checks
//! that with `.ci/check-layers`.
//!
//! It does not open sockets, spawn threads, sleep, or read a clock: time comes in as
//! milliseconds since the Unix epoch (`now_ms`) and the adapters (Tokio, async-std) do the
//! I/O. That keeps every behaviour testable in memory on a fake clock.
//!
//! ```
//! use redish_core::{Session, SessionConfig, Store};
//!
//! let mut store = Store::default();
//! let mut session = Session::new(store.next_client_id(), SessionConfig::default());
//! session.handle_bytes(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n");
//! session.process(&mut store, 1_700_000_000_000);
//! assert_eq!(session.poll_transmit(), b"+OK\r\n$1\r\nv\r\n");
//! ```
#![warn(missing_docs)]

pub mod acl;
pub mod cmd;
pub mod db;
pub mod num;
pub mod persist;
pub mod resp;
pub mod server;
mod session;

pub use cmd::{CmdError, Command};
pub use db::{ClientId, Db, Store, StoreConfig};
pub use resp::{Frame, Protocol, ProtocolError};
pub use session::{CloseReason, Event, Session, SessionConfig};

/// The Redis release whose behaviour we match, reported by HELLO and INFO.
pub const REDIS_VERSION: &str = "7.0.15";

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
