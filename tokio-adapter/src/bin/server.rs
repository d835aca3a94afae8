//! `server`: the redish server on Tokio, with redis-server's flags.
//!
//! ```text
//! server --port 6380 --bind 127.0.0.1 ::1 --maxclients 1000 --databases 16 --threads 2
//! ```
//!
//! Logs go to stderr; `RUST_LOG` filters them (default `info`). With `--port 0` the OS picks
//! the port, and the server prints `listening on ADDR` to stdout for scripts to read.
//!
//! As with redis-server, any other `--name value…` sets that Redis setting (`--timeout 60`,
//! `--enable-debug-command local`, `--save ''`, `--appendonly no`).

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use clap::Parser;
use tokio_adapter::server::{Server, ServerConfig};
use tracing::info;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: SET replaces a value and often an entry per
/// command, and mimalloc's thread-local free lists made SET -P 16 6–12% faster and cheaper
/// in CPU than glibc's malloc in redis-benchmark runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "redish: a Redis-compatible server",
    after_help = "Any other --name value... sets that Redis setting, as with redis-server."
)]
struct Args {
    /// TCP port to listen on (0: any free port, printed to stdout).
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Addresses to listen on, IPv4 or IPv6, e.g. `--bind 127.0.0.1 ::1`.
    #[arg(long, num_args = 1.., default_values_t = [IpAddr::V4(Ipv4Addr::LOCALHOST)])]
    bind: Vec<IpAddr>,
    /// Most clients connected at once.
    #[arg(long, default_value_t = 10_000)]
    maxclients: usize,
    /// Number of databases.
    #[arg(long, default_value_t = 16)]
    databases: usize,
    /// Worker threads of the runtime (default: one per CPU). Commands run one at a time under
    /// the store lock whatever this says; more threads parallelise the socket I/O.
    #[arg(long)]
    threads: Option<usize>,
}

/// Flags `Args` knows; every other `--name` is a Redis setting.
const FLAGS: &[&str] = &[
    "--port",
    "--bind",
    "--maxclients",
    "--databases",
    "--threads",
    "--help",
    "-h",
    "--version",
    "-V",
];

/// Splits the command line into our flags (for clap) and Redis settings: `--name` and the
/// words up to the next `--`, joined by spaces (`--save 900 1 300 10`).
fn split_settings(argv: Vec<String>) -> (Vec<String>, Vec<(String, String)>) {
    let mut ours = Vec::new();
    let mut settings: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_setting = false;
    for (i, arg) in argv.into_iter().enumerate() {
        let flag = arg.split('=').next().unwrap_or_default();
        if i == 0 || FLAGS.contains(&flag) {
            in_setting = false;
            ours.push(arg);
        } else if let Some(name) = arg.strip_prefix("--").filter(|n| !n.is_empty()) {
            in_setting = true;
            settings.push((name.to_string(), Vec::new()));
        } else if in_setting {
            settings.last_mut().expect("in a setting").1.push(arg);
        } else {
            ours.push(arg);
        }
    }
    (
        ours,
        settings
            .into_iter()
            .map(|(name, words)| (name, words.join(" ")))
            .collect(),
    )
}

fn main() -> ExitCode {
    let (ours, settings) = split_settings(std::env::args().collect());
    let args = Args::parse_from(ours);
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve(args, settings));
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

async fn serve(
    args: Args,
    settings: Vec<(String, String)>,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = ServerConfig {
        bind: args.bind,
        port: args.port,
        max_clients: args.maxclients,
        databases: args.databases,
        settings,
        ..ServerConfig::default()
    };
    let ask_port_zero = config.port == 0;
    let server = Server::bind(config).await?;
    if ask_port_zero {
        let mut stdout = std::io::stdout().lock();
        for addr in server.local_addrs() {
            info!("port 0 asked: listening on port {}", addr.port());
            writeln!(stdout, "listening on {addr}")?;
        }
        stdout.flush()?;
    }
    server.run(shutdown_signal()).await?;
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

#[cfg(test)]
mod tests {
    use super::split_settings;

    #[test]
    fn redis_settings_are_split_from_our_flags() {
        let argv = [
            "server",
            "--port",
            "0",
            "--save",
            "",
            "--bind",
            "127.0.0.1",
            "::1",
            "--save",
            "900",
            "1",
        ];
        let (ours, settings) = split_settings(argv.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            ours,
            ["server", "--port", "0", "--bind", "127.0.0.1", "::1"]
        );
        assert_eq!(
            settings,
            [
                ("save".to_string(), String::new()),
                ("save".to_string(), "900 1".to_string())
            ]
        );
        let (ours, settings) = split_settings(
            ["server", "--port=7", "--appendonly", "no"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        assert_eq!(ours, ["server", "--port=7"]);
        assert_eq!(settings, [("appendonly".to_string(), "no".to_string())]);
    }
}
