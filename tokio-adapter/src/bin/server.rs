//! `server`: the redish server on Tokio, with redis-server's flags (see
//! [`redish_core::server::HELP`]), the same as `async-std-server`.
//!
//! ```text
//! server --port 6380 --bind 127.0.0.1 ::1 --maxclients 1000 --databases 16 --threads 2
//! ```
//!
//! The runtime has one worker thread per CPU but one, and at least two, unless `--threads`
//! says otherwise (see `default_threads`): commands run one at a time under the store lock whatever it says;
//! more threads parallelise the socket I/O. Redis's log lines go to `logfile` (stdout when empty); redish's own `tracing` logs go to stderr, filtered by `RUST_LOG` (default `info`). With `--port 0` the OS
//! picks the port, and the server prints `listening on ADDR` to stdout for scripts to read.
//!
//! As with redis-server, any other `--name value…` sets that Redis setting (`--timeout 60`,
//! `--enable-debug-command local`, `--save ''`, `--appendonly no`).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use redish_core::server::listening_line;
use tokio_adapter::server::{Server, ServerOptions};
use tracing::info;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: SET replaces a value and often an entry per
/// command, and mimalloc's thread-local free lists made SET -P 16 6–12% faster and cheaper
/// in CPU than glibc's malloc in redis-benchmark runs. Wrapped in the counting allocator, so
/// that `used_memory` (INFO, `maxmemory`) is the bytes really held.
#[global_allocator]
static GLOBAL: redish_host::alloc::Counting<mimalloc::MiMalloc> =
    redish_host::alloc::Counting::new(mimalloc::MiMalloc, "mimalloc");

/// Worker threads without `--threads`: one per CPU but one, at least one. Commands run one
/// at a time under the store lock, so more workers only spread the socket I/O, and the
/// clients (and the AOF writer) need a CPU too. On 2 cores, one worker against two in
/// side-by-side redis-benchmark runs (-c 50, 1M keys): the same throughput at -P 16
/// (SET 1.19x vs 1.21x redis-server, GET 1.30x vs 1.29x), better at -P 1 (SET 0.94x vs
/// 0.89x), and a lower p99 (GET -P 16: 1.48 ms vs 2.14 ms).
///
/// But never fewer than two: a script that runs too long holds the store and its worker,
/// and the other connections need a worker of their own to answer `-BUSY` and take the
/// SCRIPT KILL or SHUTDOWN NOSAVE that stops it (with one, the server hangs until the
/// script ends, if ever).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().saturating_sub(1).max(2))
}

fn main() -> ExitCode {
    redish_host::alloc::register(&GLOBAL);
    let options = match redish_host::process::command_line("server", env!("CARGO_PKG_VERSION")) {
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
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.worker_threads(options.threads.unwrap_or_else(default_threads));
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve(options));
    // Connections that did not finish in time are dropped here rather than waited for.
    runtime.shutdown_background();
    match result {
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
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SHUTDOWN");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => info!("received SIGINT"),
        _ = term.recv() => info!("received SIGTERM"),
    }
}
