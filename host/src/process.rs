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

/// A server binary's command line ([`redish_core::server::parse_args_with`] on this
/// process's arguments, reading the configuration file and its `include`s with
/// [`read_config`]): the options to serve with, or the exit code once `--help` /
/// `--version` is printed (0), a usage error is reported with the help (2, as clap does) or
/// the configuration is refused with Redis's message (1, as redis-server). `program` names
/// the binary in `--version`.
pub fn command_line(
    program: &str,
    version: &str,
) -> Result<redish_core::server::ServerOptions, std::process::ExitCode> {
    use redish_core::server::{parse_args_with, ArgsError, Invocation, HELP};
    use std::process::ExitCode;
    match parse_args_with(std::env::args(), &mut read_config) {
        Ok(Invocation::Serve(mut options)) => {
            // Redis keeps the file's absolute path, for INFO and CONFIG REWRITE.
            if let Some(path) = &options.config_file {
                if let Ok(abs) = std::path::absolute(path) {
                    options.config_file = Some(abs.display().to_string());
                }
            }
            if let Err(reason) = crate::log::init(&options) {
                let e = redish_core::server::config_file::ConfigFileError::Check(reason);
                eprint!("{e}");
                return Err(ExitCode::from(1));
            }
            Ok(options)
        }
        Ok(Invocation::Help) => {
            print!("{HELP}");
            Err(ExitCode::SUCCESS)
        }
        Ok(Invocation::Version) => {
            println!("{program} {version}");
            Err(ExitCode::SUCCESS)
        }
        Err(ArgsError::Usage(e)) => {
            eprintln!("error: {e}\n\n{HELP}");
            Err(ExitCode::from(2))
        }
        Err(ArgsError::Config(e)) => {
            // redis-server writes this to stderr and exits with 1.
            eprint!("{e}");
            if !e.to_string().ends_with('\n') {
                eprintln!();
            }
            Err(ExitCode::from(1))
        }
    }
}

/// Reads a configuration file, or, for a path with a glob in its file name (`include
/// /etc/redis/conf.d/*.conf`), every file it matches in name order — none is no error, as
/// Redis's `include` of an empty `conf.d`.
pub fn read_config(
    path: &str,
) -> Result<Vec<String>, redish_core::server::config_file::ConfigFileError> {
    use redish_core::server::config_file::ConfigFileError;
    let open = |p: &std::path::Path, e: std::io::Error| ConfigFileError::Open {
        path: p.display().to_string(),
        reason: os_reason(&e),
    };
    let path = std::path::Path::new(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?', '[']) {
        let bytes = std::fs::read(path).map_err(|e| open(path, e))?;
        return Ok(vec![String::from_utf8_lossy(&bytes).into_owned()]);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut matched: Vec<std::path::PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| {
                redish_core::db::glob_match(
                    name.as_bytes(),
                    e.file_name().to_string_lossy().as_bytes(),
                    false,
                )
            })
            .map(|e| e.path())
            .collect(),
        Err(_) => Vec::new(),
    };
    matched.sort();
    matched
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| open(p, e))
        })
        .collect()
}

/// An I/O error as C's `strerror` words it (`No such file or directory`), without Rust's
/// ` (os error 2)`.
fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The configuration file CONFIG REWRITE reads and replaces: written to a temporary file
/// beside it, flushed to disk, given the old file's permissions and renamed over it, so a
/// crash leaves the old file or the new one, never half of one.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: std::path::PathBuf,
}

impl ConfigFile {
    /// The file at `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> ConfigFile {
        ConfigFile { path: path.into() }
    }
}

impl redish_core::db::config_file::ConfigFileIo for ConfigFile {
    fn read(&self) -> Result<String, String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(os_reason(&e)),
        }
    }

    fn write(&self, text: &str) -> Result<(), String> {
        use std::io::Write;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(format!(".tmp-{}", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        let done = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(text.as_bytes())?;
            if let Ok(meta) = std::fs::metadata(&self.path) {
                file.set_permissions(meta.permissions())?;
            }
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        done.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            os_reason(&e)
        })
    }
}
