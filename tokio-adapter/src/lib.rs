//! redish on Tokio: the network half of the server, and an async client.
//!
//! [`redish_core`] knows the protocol, the commands and the data but does no I/O. This crate
//! moves bytes and time between sockets and that core, and nothing more:
//!
//! - [`server`]: the TCP server — accept loop, one task per connection doing what its
//!   [`redish_core::server::Driver`] says, pub/sub routing between connections, active
//!   expiry, client limit and graceful shutdown. The `server` binary is a thin wrapper
//!   around it.
//! - [`client`]: an async client (`GET`, `SET`, pipelines, RESP3, pub/sub) built on the
//!   core's RESP codec. The `cli` binary is built on it.
//! - [`cli`]: redis-cli's way of printing replies and splitting command lines.
//!
//! It holds no protocol or command logic: a reply's bytes always come from the core.
//!
//! ```no_run
//! use tokio_adapter::client::Client;
//! use tokio_adapter::server::{Server, ServerOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::bind(ServerOptions { port: 0, ..ServerOptions::default() }).await?;
//! let addr = server.local_addrs()[0];
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(server.run(async move {
//!     let _ = stopped.await;
//! }));
//!
//! let mut client = Client::connect(addr).await?;
//! client.set("greeting", "hello").await?;
//! assert_eq!(client.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
//!
//! let _ = stop.send(());
//! running.await??;
//! # Ok(())
//! # }
//! ```

pub mod cli;
pub mod client;
pub mod server;

mod connection;
mod transport;
