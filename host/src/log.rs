//! Redis's log, written: the lines of [`redish_core::server::log`] with the clock's time,
//! to `logfile` (appended) or to stdout when it is empty, at `loglevel` and above, and the
//! `pidfile`. `tracing` (filtered by `RUST_LOG`, on stderr) still carries redish's own
//! detail; these lines are the ones operators' tools expect from redis-server.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use redish_core::server::log::{line, Level, Role};
use redish_core::server::ServerOptions;

struct RedisLog {
    pid: u32,
    /// The [`Level`] as its index in [`LEVELS`]: CONFIG SET may change it.
    level: AtomicU8,
    /// `None`: stdout.
    file: Option<Mutex<std::fs::File>>,
}

static LOG: OnceLock<RedisLog> = OnceLock::new();

const LEVELS: [Level; 4] = [Level::Debug, Level::Verbose, Level::Notice, Level::Warning];

fn level_index(level: Level) -> u8 {
    LEVELS.iter().position(|l| *l == level).unwrap_or(2) as u8
}

/// The value of setting `name` the options end with, if any.
fn setting<'a>(options: &'a ServerOptions, name: &str) -> Option<&'a str> {
    options
        .settings
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Sets the log up from the options' `loglevel` and `logfile`. As redis-server, a log file
/// that cannot be opened is fatal: the error is Redis's reason, `Can't open the log file:
/// …`.
pub fn init(options: &ServerOptions) -> Result<(), String> {
    let level = Level::from_name(setting(options, "loglevel").unwrap_or("notice"));
    let file = match setting(options, "logfile").filter(|f| !f.is_empty()) {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("Can't open the log file: {}", os_reason(&e)))?,
        )),
        None => None,
    };
    let _ = LOG.set(RedisLog {
        pid: std::process::id(),
        level: AtomicU8::new(level_index(level)),
        file,
    });
    Ok(())
}

fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Writes one line, if the log is set up and `level` is at least `loglevel`.
pub fn write(role: Role, level: Level, message: &str) {
    let Some(log) = LOG.get() else { return };
    if level < LEVELS[usize::from(log.level.load(Ordering::Relaxed)) % LEVELS.len()] {
        return;
    }
    let text = line(log.pid, role, crate::now_ms(), level, message);
    match &log.file {
        Some(file) => {
            if let Ok(mut f) = file.lock() {
                let _ = writeln!(f, "{text}");
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}

/// Takes `loglevel` from the settings in force (after a CONFIG SET); the adapters call it
/// about once a second.
pub fn follow(config: &redish_core::db::Config) {
    let Some(log) = LOG.get() else { return };
    if let Some((_, p)) = redish_core::db::Config::param(b"loglevel") {
        let level = Level::from_name(&p.get(config));
        log.level.store(level_index(level), Ordering::Relaxed);
    }
}

fn write_all(lines: Vec<(Role, Level, String)>) {
    for (role, level, message) in lines {
        write(role, level, &message);
    }
}

/// The lines before the server binds.
pub fn starting(options: &ServerOptions) {
    let with_configuration = options.config_file.is_some() || !options.settings.is_empty();
    write_all(redish_core::server::log::starting(
        std::process::id(),
        with_configuration,
    ));
}

/// The lines once it listens on `port`; writes the `pidfile` if one is set.
pub fn ready(options: &ServerOptions, port: u16) {
    if let Some(path) = setting(options, "pidfile").filter(|p| !p.is_empty()) {
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            write(
                Role::Master,
                Level::Warning,
                &format!("Failed to write PID file: {}", os_reason(&e)),
            );
        }
    }
    write_all(redish_core::server::log::ready(port));
}

/// The lines as it stops; removes the `pidfile`.
pub fn stopping(options: &ServerOptions) {
    write_all(redish_core::server::log::stopping());
    if let Some(path) = setting(options, "pidfile").filter(|p| !p.is_empty()) {
        let _ = std::fs::remove_file(path);
    }
}
