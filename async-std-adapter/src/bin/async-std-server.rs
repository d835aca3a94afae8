//! `async-std-server`: the redish server on async-std, with the same flags as the Tokio
//! `server` (redis-server's, see [`redish_core::server::HELP`]).
//!
//! ```text
//! async-std-server --port 6380 --bind 127.0.0.1 ::1 --maxclients 1000 --timeout 60
//! ```
//!
//! The executor runs two threads unless `--threads` (or `ASYNC_STD_THREAD_COUNT`) says
//! otherwise. Logs go to stderr; `RUST_LOG` filters them (default `info`). With `--port 0` the OS picks
//! the port, and the server prints `listening on ADDR` to stdout for scripts to read.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use async_std_adapter::server::Server;
use futures_lite::StreamExt;
use redish_core::server::{listening_line, ServerOptions};
use tracing::info;
use tracing_subscriber::EnvFilter;

/// The same allocator as the Tokio server, so that the two compare on their I/O alone, counted
/// as there for `used_memory`.
#[global_allocator]
static GLOBAL: redish_host::alloc::Counting<mimalloc::MiMalloc> =
    redish_host::alloc::Counting::new(mimalloc::MiMalloc, "mimalloc");

/// The variable async-std reads its executor's thread count from.
const THREADS_VAR: &str = "ASYNC_STD_THREAD_COUNT";

/// Executor threads without `--threads` (or the variable): two. Commands run one at a time
/// under the store lock anyway, and async-std's executor hands woken tasks between its
/// threads through a shared queue: one thread that both polls the reactor and runs the
/// connections used less CPU per request, and served more, than one per CPU in
/// redis-benchmark runs on 2 cores. But a script that runs too long holds the store and
/// its thread, and the other connections need a thread to answer `-BUSY` and take the
/// SCRIPT KILL or SHUTDOWN NOSAVE that stops it: with one, the server hangs until the
/// script ends, if ever.
const DEFAULT_THREADS: usize = 2;

fn main() -> ExitCode {
    redish_host::alloc::register(&GLOBAL);
    let options =
        match redish_host::process::command_line("async-std-server", env!("CARGO_PKG_VERSION")) {
            Ok(options) => options,
            Err(code) => return code,
        };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // async-std sizes its executor from this variable when it first starts, below.
    if let Some(threads) = options.threads {
        std::env::set_var(THREADS_VAR, threads.to_string());
    } else if std::env::var_os(THREADS_VAR).is_none() {
        std::env::set_var(THREADS_VAR, DEFAULT_THREADS.to_string());
    }
    match async_std::task::block_on(serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(options: ServerOptions) -> Result<(), Box<dyn std::error::Error>> {
    let ask_port_zero = options.port == 0;
    redish_host::log::starting(&options);
    let log_options = options.clone();
    let server = Server::bind(options).await?;
    if ask_port_zero {
        let mut stdout = std::io::stdout().lock();
        for &addr in server.local_addrs() {
            info!("port 0 asked: listening on port {}", addr.port());
            writeln!(stdout, "{}", listening_line(addr))?;
        }
        stdout.flush()?;
    }
    redish_host::log::ready(&log_options, server.local_addrs()[0].port());
    server.run(shutdown_signal()).await?;
    redish_host::log::stopping(&log_options);
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use async_signal::{Signal, Signals};
    let Ok(mut signals) = Signals::new([Signal::Int, Signal::Term]) else {
        tracing::error!("cannot install signal handlers; stop with SHUTDOWN");
        return std::future::pending().await;
    };
    if let Some(Ok(signal)) = signals.next().await {
        info!("received {signal:?}");
    }
}
