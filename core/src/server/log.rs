//! Redis's log lines, sans-IO: `<pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <mark> <message>`,
//! the marks of its levels (`.` debug, `-` verbose, `*` notice, `#` warning) and the lines
//! redis-server writes as it starts and stops, so that supervisors, log alerts and test
//! harnesses waiting for `Ready to accept connections` work. The host writes them (to
//! `logfile`, or stdout when it is empty) with the clock's time.
//!
//! ```
//! use redish_core::server::log::{line, Level, Role};
//!
//! assert_eq!(
//!     line(7535, Role::Master, 1_796_592_520_060, Level::Notice, "Ready to accept connections"),
//!     "7535:M 06 Dec 2026 21:28:40.060 * Ready to accept connections"
//! );
//! ```

/// A `loglevel`: a line is written when its level is at least the configured one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `debug`, marked `.`.
    Debug,
    /// `verbose`, marked `-`.
    Verbose,
    /// `notice`, marked `*`.
    Notice,
    /// `warning`, marked `#`.
    Warning,
}

impl Level {
    /// The level `loglevel` names (`notice` for anything else).
    pub fn from_name(name: &str) -> Level {
        match name.to_ascii_lowercase().as_str() {
            "debug" => Level::Debug,
            "verbose" => Level::Verbose,
            "warning" => Level::Warning,
            _ => Level::Notice,
        }
    }

    /// The character Redis writes for it.
    pub fn mark(self) -> char {
        match self {
            Level::Debug => '.',
            Level::Verbose => '-',
            Level::Notice => '*',
            Level::Warning => '#',
        }
    }
}

/// Who writes a line: Redis's `C` before the server is set up (reading its configuration),
/// `M` once it serves (a master).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `C`.
    Config,
    /// `M`.
    Master,
}

/// One log line, without its line end, at `unix_ms` (UTC).
pub fn line(pid: u32, role: Role, unix_ms: u64, level: Level, message: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let role = match role {
        Role::Config => 'C',
        Role::Master => 'M',
    };
    let secs = unix_ms / 1000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    format!(
        "{pid}:{role} {day:02} {} {year} {:02}:{:02}:{:02}.{:03} {} {message}",
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        unix_ms % 1000,
        level.mark()
    )
}

/// The (year, month 1–12, day 1–31) of a count of days since 1970-01-01 in the proleptic
/// Gregorian calendar: eras of 400 years, years starting in March so the leap day ends
/// them.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let m = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * m + 2) / 5 + 1) as u32;
    let month = if m < 10 { m + 3 } else { m - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The lines redis-server 7.0 writes as it starts, before it listens: the banner, its
/// version and pid, and whether a configuration was given.
pub fn starting(pid: u32, with_configuration: bool) -> Vec<(Role, Level, String)> {
    vec![
        (
            Role::Config,
            Level::Warning,
            "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo".to_owned(),
        ),
        (
            Role::Config,
            Level::Warning,
            format!(
                "Redis version={}, bits={}, commit=00000000, modified=0, pid={pid}, just started",
                crate::REDIS_VERSION,
                usize::BITS
            ),
        ),
        (
            Role::Config,
            Level::Warning,
            if with_configuration {
                "Configuration loaded".to_owned()
            } else {
                "Warning: no config file specified, using the default config. In order to specify a config file use redis-server /path/to/redis.conf".to_owned()
            },
        ),
    ]
}

/// The lines once it listens on `port` and is ready.
pub fn ready(port: u16) -> Vec<(Role, Level, String)> {
    vec![
        (
            Role::Master,
            Level::Notice,
            format!("Running mode=standalone, port={port}."),
        ),
        (
            Role::Master,
            Level::Warning,
            "Server initialized".to_owned(),
        ),
        (
            Role::Master,
            Level::Notice,
            "Ready to accept connections".to_owned(),
        ),
    ]
}

/// The lines as it stops.
pub fn stopping() -> Vec<(Role, Level, String)> {
    vec![
        (
            Role::Master,
            Level::Warning,
            "User requested shutdown...".to_owned(),
        ),
        (
            Role::Master,
            Level::Warning,
            "Redis is now ready to exit, bye bye...".to_owned(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_strftime() {
        let cases = [
            (0, "1:C 01 Jan 1970 00:00:00.000 # x"),
            (951_782_400_000, "1:C 29 Feb 2000 00:00:00.000 # x"),
            (1_709_251_199_999, "1:C 29 Feb 2024 23:59:59.999 # x"),
            (4_102_444_800_123, "1:C 01 Jan 2100 00:00:00.123 # x"),
        ];
        for (ms, want) in cases {
            assert_eq!(line(1, Role::Config, ms, Level::Warning, "x"), want);
        }
        assert!(Level::Warning > Level::Notice && Level::Debug < Level::Verbose);
        assert_eq!(Level::from_name("VERBOSE").mark(), '-');
    }
}
