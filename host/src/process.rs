//! Facts about the server process for INFO (`process_id`, `used_memory`, `used_cpu_*`…),
//! which redish-core cannot read itself. Read from `/proc` on Linux; elsewhere the figures
//! stay at zero.

use redish_core::db::ProcessInfo;

/// Linux's clock ticks per second for `/proc/*/stat` times (`USER_HZ`, 100 on every
/// mainstream architecture).
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE_BYTES: u64 = 4096;

/// Sets what does not change while the process runs, and a first reading of the rest.
pub fn init(info: &mut ProcessInfo) {
    info.process_id = std::process::id();
    info.executable = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let release = read("/proc/sys/kernel/osrelease").unwrap_or_default();
    info.os = format!(
        "{} {} {}",
        os_name(),
        release.trim(),
        std::env::consts::ARCH
    );
    info.arch_bits = usize::BITS;
    // What the runtimes' reactors (Tokio's mio, async-io's polling) use underneath.
    info.multiplexing_api = if cfg!(target_os = "linux") {
        "epoll"
    } else {
        "kqueue"
    }
    .to_string();
    info.total_system_memory_bytes = read("/proc/meminfo")
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024);
    let usage = Usage::read();
    usage.apply(info);
}

/// Memory and CPU use of the process, read outside the store lock and applied under it
/// (an adapter reads it about once a second).
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    rss_bytes: Option<u64>,
    cpu_user_s: Option<f64>,
    cpu_sys_s: Option<f64>,
}

impl Usage {
    /// Reads the figures now.
    pub fn read() -> Usage {
        let rss_bytes = read("/proc/self/statm")
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map(|pages| pages * PAGE_BYTES);
        // Fields 14 and 15 (utime, stime), counted after the `(comm)` field, which may
        // itself hold spaces.
        let times = read("/proc/self/stat").and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
            Some((ticks(11)?, ticks(12)?))
        });
        Usage {
            rss_bytes,
            cpu_user_s: times.map(|(u, _)| u as f64 / TICKS_PER_SECOND),
            cpu_sys_s: times.map(|(_, s)| s as f64 / TICKS_PER_SECOND),
        }
    }

    /// Writes the figures that could be read into `info`.
    pub fn apply(self, info: &mut ProcessInfo) {
        if let Some(rss) = self.rss_bytes {
            // The allocator's own figure would be closer; the RSS is what we have.
            info.used_memory_bytes = rss;
            info.used_memory_rss_bytes = rss;
        }
        if let (Some(user), Some(sys)) = (self.cpu_user_s, self.cpu_sys_s) {
            info.used_cpu_user_s = user;
            info.used_cpu_sys_s = sys;
        }
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        other => other,
    }
}

/// A server binary's command line ([`redish_core::server::parse_args`] on this process's
/// arguments): the options to serve with, or the exit code once `--help` / `--version` is
/// printed or an error is reported with the help (2, as clap does). `program` names the
/// binary in `--version`.
pub fn command_line(
    program: &str,
    version: &str,
) -> Result<redish_core::server::ServerOptions, std::process::ExitCode> {
    use redish_core::server::{parse_args, Invocation, HELP};
    use std::process::ExitCode;
    match parse_args(std::env::args()) {
        Ok(Invocation::Serve(options)) => Ok(options),
        Ok(Invocation::Help) => {
            print!("{HELP}");
            Err(ExitCode::SUCCESS)
        }
        Ok(Invocation::Version) => {
            println!("{program} {version}");
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{HELP}");
            Err(ExitCode::from(2))
        }
    }
}
