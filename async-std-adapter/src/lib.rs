//! redish on async-std: the same server as the Tokio adapter's, and a small async client.
//!
//! [`redish_core`] knows the protocol, the commands and the data, and its
//! [`redish_core::server`] module what every server does besides I/O (options, routing,
//! timer policy, connection limits, each connection's run loop); [`redish_host`] holds the
//! OS calls. This crate only
//! moves bytes and time between sockets and those:
//!
//! - [`server`]: listeners, the accept loop, one task per connection, the timer task and
//!   graceful shutdown. The `async-std-server` binary is a thin wrapper around it.
//! - [`client`]: connect, commands, GET/SET/PUBLISH and a subscriber, on the core's codec.
//!
//! async-std is discontinued upstream; smol is its successor. Sockets are used only through
//! the futures-io traits, and timers, channels and signals come from the
//! runtime-independent crates smol is made of (async-io, async-channel, async-signal), so
//! moving to smol means changing the `spawn` calls and the socket types.
//!
//! ```no_run
//! use async_std_adapter::client::Client;
//! use async_std_adapter::server::{Server, ServerOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::bind(ServerOptions { port: 0, ..ServerOptions::default() }).await?;
//! let addr = server.local_addrs()[0];
//! let (stop, stopped) = async_channel::bounded::<()>(1);
//! let running = async_std::task::spawn(server.run(async move {
//!     let _ = stopped.recv().await;
//! }));
//!
//! let mut client = Client::connect(addr).await?;
//! client.set("greeting", "hello").await?;
//! assert_eq!(client.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
//!
//! stop.close();
//! running.await?;
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod server;

mod connection;
mod transport;
