//! Redis's configuration file, sans-IO: the line syntax (`sdssplitargs`'s quoting), the
//! directives (`include`, repeated `save`, the parameters of [`crate::db::PARAMS`]), the
//! command line turned into lines after the file as redis-server does, and Redis's fatal
//! error text. Files are read by the caller: [`load`] asks for an `include`d path through a
//! callback, so the host does the reading (and the globbing).
//!
//! ```
//! use redish_core::db::Config;
//! use redish_core::server::config_file::{load, split_args};
//!
//! assert_eq!(
//!     split_args(br#"save "" 'a b' "\x41\n""#).unwrap(),
//!     [&b"save"[..], b"", b"a b", b"A\n"]
//! );
//! let mut config = Config::default();
//! let text = "# a comment\nmaxmemory 1gb\nsave 900 1\nsave 300 10\n";
//! load(&mut config, text, &mut |_| Ok(vec![])).unwrap();
//! assert_eq!(config.maxmemory, 1 << 30);
//! assert_eq!(config.save, [(900, 1), (300, 10)]);
//! let err = load(&mut config, "port 6379\nmaxmemory lots\n", &mut |_| Ok(vec![])).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
//!      Reading the configuration file, at line 2\n\
//!      >>> 'maxmemory lots'\n\
//!      argument must be a memory value\n"
//! );
//! ```

use super::Config;

/// The Redis version the fatal error names.
pub const REDIS_VERSION: &str = "7.0.15";

/// How deep `include`s may nest before the file is refused (Redis has no limit and recurses
/// until it runs out of stack; a file that includes itself must not do that here).
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFileError {
    /// A line was refused: Redis's `*** FATAL CONFIG FILE ERROR ***` text.
    Line {
        /// Its number in its file (the command line counts on after the file's last line).
        number: usize,
        /// The line, trimmed.
        text: String,
        /// Why.
        reason: String,
    },
    /// A check after every line was read failed (`Can't open the log file: …`): Redis's
    /// fatal text without a line.
    Check(String),
    /// A file could not be read: Redis's `Fatal error, can't open config file …`.
    Open {
        /// The path.
        path: String,
        /// Why, as the OS says it.
        reason: String,
    },
}

impl std::fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigFileError::Line {
                number,
                text,
                reason,
            } => write!(
                f,
                "\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n\
                 Reading the configuration file, at line {number}\n>>> '{text}'\n{reason}\n"
            ),
            ConfigFileError::Check(reason) => write!(
                f,
                "\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n{reason}\n"
            ),
            ConfigFileError::Open { path, reason } => {
                write!(f, "Fatal error, can't open config file '{path}': {reason}")
            }
        }
    }
}

impl std::error::Error for ConfigFileError {}

/// Splits a line into arguments as Redis's `sdssplitargs`: words separated by spaces, tabs
/// and line ends; `"…"` with `\n`, `\r`, `\t`, `\b`, `\a`, `\xHH` and `\<any>` escapes;
/// `'…'` with only `\'`. A closing quote must end the word. `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // The inline-command parser already is sdssplitargs (NUL ends the text, as there).
    let line = bytes::Bytes::copy_from_slice(line);
    let words = crate::resp::split_args(&line, line.len()).ok()?;
    Some(words.into_iter().map(|w| w.to_vec()).collect())
}

/// `arg` quoted as Redis's `sdscatrepr`, so that [`split_args`] reads it back whole.
pub fn repr(arg: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in arg {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

/// The directives a server's command line adds after its configuration file, as
/// redis-server's `main` builds them: each `--name` starts a line, the words after it are
/// its arguments (quoted), and `--save` with nothing after it means `save ""`. A `--name`
/// right after one that has no argument yet is that one's argument
/// (`--requirepass --weird`).
pub fn options_text<S: AsRef<str>>(args: &[S]) -> String {
    let mut out = String::new();
    let mut has_arg = true;
    for (j, arg) in args.iter().enumerate() {
        let arg = arg.as_ref();
        if has_arg && arg.starts_with("--") {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&arg[2..]);
            out.push(' ');
            let words = split_args(arg.as_bytes()).map_or(0, |w| w.len());
            has_arg = words != 1;
            if !has_arg && arg.eq_ignore_ascii_case("--save") {
                let next_is_option = args
                    .get(j + 1)
                    .is_some_and(|a| a.as_ref().starts_with("--"));
                if next_is_option || j + 1 == args.len() {
                    out.push_str("\"\"");
                    has_arg = true;
                }
            }
        } else {
            out.push_str(&repr(arg.as_bytes()));
            out.push(' ');
            has_arg = true;
        }
    }
    out
}

/// Reads the text of an `include`d path (or of every file a glob pattern matches, in order):
/// the host's side of [`load`].
pub type ReadInclude<'a> = dyn FnMut(&str) -> Result<Vec<String>, ConfigFileError> + 'a;

/// What [`load`] remembers across lines and included files.
#[derive(Debug, Default)]
struct LoadState {
    /// `save` lines seen: the first one replaces the default save points, the next add to
    /// them, as in Redis (and `save ""` clears them).
    save_lines: usize,
    depth: usize,
}

/// Applies configuration `text` to `config`, line by line as Redis's
/// `loadServerConfigFromString`: the first bad line stops it with Redis's error (the
/// settings of the lines before it stay applied). `include` reads included files.
pub fn load(
    config: &mut Config,
    text: &str,
    include: &mut ReadInclude<'_>,
) -> Result<(), ConfigFileError> {
    load_text(config, text, include, &mut LoadState::default())
}

fn load_text(
    config: &mut Config,
    text: &str,
    include: &mut ReadInclude<'_>,
    state: &mut LoadState,
) -> Result<(), ConfigFileError> {
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |reason: &str| ConfigFileError::Line {
            number: i + 1,
            text: line.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(args) = split_args(line.as_bytes()) else {
            return Err(fail("Unbalanced quotes in configuration line"));
        };
        let Some((name, values)) = args.split_first() else {
            continue;
        };
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        if let Some((_, p)) = Config::param(name.as_bytes()) {
            if !p.multi_arg && values.len() != 1 {
                return Err(fail("wrong number of arguments"));
            }
            let mut value = values.join(&b' ');
            if p.name == "save" {
                state.save_lines += 1;
                if state.save_lines > 1 && !value.is_empty() {
                    let before = p.get(config);
                    if !before.is_empty() {
                        value = [before.as_bytes(), b" ", &value].concat();
                    }
                }
            }
            config
                .set(p.name, &String::from_utf8_lossy(&value))
                .map_err(|reason| fail(&reason))?;
            continue;
        }
        match (name.as_str(), values.len()) {
            // Redis 7.0 still reads and ignores these.
            (
                "list-max-ziplist-entries" | "list-max-ziplist-value" | "lua-replicate-commands",
                1,
            ) => {}
            ("include", 1) => {
                if state.depth >= MAX_INCLUDE_DEPTH {
                    return Err(fail("include nested too deep"));
                }
                let path = String::from_utf8_lossy(&values[0]).into_owned();
                for text in include(&path)? {
                    state.depth += 1;
                    let done = load_text(config, &text, include, state);
                    state.depth -= 1;
                    done?;
                }
            }
            ("rename-command", 2) => {
                return Err(fail("rename-command is not supported by redish"));
            }
            ("loadmodule", n) if n >= 1 => {
                return Err(fail("loadmodule: redish has no modules"));
            }
            ("sentinel", _) => {
                return Err(fail("sentinel directive while not in sentinel mode"));
            }
            _ if name.contains('.') => {
                return Err(fail("Module config specified without value"));
            }
            _ => return Err(fail("Bad directive or wrong number of arguments")),
        }
    }
    Ok(())
}

/// The configuration file as CONFIG REWRITE sees it: the host reads and replaces it.
pub trait ConfigFileIo: Send {
    /// The file's text; empty if it is not there any more (Redis then writes a new one).
    fn read(&self) -> Result<String, String>;
    /// Replaces the file's text with `text`, whole or not at all. The error is the OS's
    /// reason (`Permission denied`).
    fn write(&self, text: &str) -> Result<(), String>;
}

/// The line CONFIG REWRITE writes before the parameters it adds to a file.
pub const REWRITE_SIGNATURE: &str = "# Generated by CONFIG REWRITE";

/// The string parameters whose empty value Redis keeps as "not set": CONFIG REWRITE then
/// drops their lines rather than write `name ""` (all text parameters with an empty
/// default but these).
const EMPTY_IS_SET: &[&str] = &["aclfile", "ignore-warnings", "logfile"];

/// CONFIG REWRITE's text for `config` over the file's `old` text, as Redis's
/// `rewriteConfig`: comments, blank lines and the lines it does not own (`include`…) stay
/// where they are; the first line of each parameter is rewritten in place and its further
/// lines are dropped; a parameter the file lacks is added after [`REWRITE_SIGNATURE`] when
/// its value is not the default; runs of blank lines become one. Parameters come in the
/// table's order (Redis's in its hash order). Unlike Redis, no `user` lines are written:
/// redish's configuration file has no `user` directive.
pub fn rewrite(old: &str, config: &Config) -> String {
    let mut state = Rewrite::read(old);
    for p in crate::db::PARAMS {
        for (line, force) in rewrite_lines(p, config) {
            state.line(p.name, line, force);
        }
        state.rewritten.push(p.name);
    }
    state.finish()
}

/// Redis's `rewriteConfigState`.
struct Rewrite {
    lines: Vec<String>,
    /// Per parameter (by its table name), its lines in the old file not rewritten yet.
    owned: Vec<(&'static str, std::collections::VecDeque<usize>)>,
    rewritten: Vec<&'static str>,
    has_tail: bool,
}

impl Rewrite {
    fn read(old: &str) -> Rewrite {
        let mut state = Rewrite {
            lines: Vec::new(),
            owned: Vec::new(),
            rewritten: Vec::new(),
            has_tail: false,
        };
        for raw in old.split('\n') {
            let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            let at = state.lines.len();
            state.lines.push(line.to_owned());
            if line.is_empty() || line.starts_with('#') {
                state.has_tail |= line == REWRITE_SIGNATURE;
                continue;
            }
            let Some(args) = split_args(line.as_bytes()).filter(|a| !a.is_empty()) else {
                continue;
            };
            if let Some((_, p)) = Config::param(&args[0]) {
                match state.owned.iter_mut().find(|(n, _)| *n == p.name) {
                    Some((_, at_lines)) => at_lines.push_back(at),
                    None => state.owned.push((p.name, [at].into())),
                }
            }
        }
        state
    }

    fn line(&mut self, name: &'static str, line: String, force: bool) {
        if let Some(at) = self
            .owned
            .iter_mut()
            .find(|(n, _)| *n == name)
            .and_then(|(_, at)| at.pop_front())
        {
            self.lines[at] = line;
        } else if force {
            if !self.has_tail {
                self.lines.push(REWRITE_SIGNATURE.to_owned());
                self.has_tail = true;
            }
            self.lines.push(line);
        }
    }

    fn finish(mut self) -> String {
        for (name, left) in &self.owned {
            if self.rewritten.contains(name) {
                for &at in left {
                    self.lines[at].clear();
                }
            }
        }
        let mut out = String::new();
        let mut was_empty = false;
        for line in &self.lines {
            if line.is_empty() {
                if was_empty {
                    continue;
                }
                was_empty = true;
            } else {
                was_empty = false;
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// The lines parameter `p` writes, each with whether it must be added when the file lacks
/// it (its value is not the default).
fn rewrite_lines(p: &crate::db::Param, c: &Config) -> Vec<(String, bool)> {
    use crate::db::Kind;
    let value = p.get(c);
    let name = p.name;
    let differs = value != p.default;
    match name {
        "save" if c.save.is_empty() => vec![("save \"\"".to_owned(), true)],
        "save" => c
            .save
            .iter()
            .map(|(secs, changes)| (format!("save {secs} {changes}"), true))
            .collect(),
        "client-output-buffer-limit" => {
            let defaults = Config::default();
            [
                (
                    "normal",
                    c.output_limit_normal,
                    defaults.output_limit_normal,
                ),
                (
                    "slave",
                    c.output_limit_replica,
                    defaults.output_limit_replica,
                ),
                (
                    "pubsub",
                    c.output_limit_pubsub,
                    defaults.output_limit_pubsub,
                ),
            ]
            .into_iter()
            .map(|(class, l, d)| {
                let mem = |n: u64| {
                    Kind::Memory {
                        min: 0,
                        max: u64::MAX,
                    }
                    .show_in_file(&crate::db::ConfigValue::Int(n.into()))
                };
                (
                    format!(
                        "{name} {class} {} {} {}",
                        mem(l.hard_bytes),
                        mem(l.soft_bytes),
                        l.soft_seconds
                    ),
                    l != d,
                )
            })
            .collect()
        }
        "dir" => vec![(format!("dir {}", repr(value.as_bytes())), true)],
        "latency-tracking-info-percentiles" if value.is_empty() => {
            vec![(format!("{name} \"\""), true)]
        }
        "latency-tracking-info-percentiles" => vec![(format!("{name} {value}"), true)],
        "replicaof" if value.is_empty() => Vec::new(),
        "notify-keyspace-events" | "proc-title-template" => {
            vec![(format!("{name} {}", repr(value.as_bytes())), differs)]
        }
        "cluster-announce-hostname" if value.is_empty() => Vec::new(),
        "cluster-announce-hostname" => vec![(format!("{name} {}", repr(value.as_bytes())), true)],
        _ => match p.kind {
            Kind::Text if value.is_empty() && !EMPTY_IS_SET.contains(&name) => Vec::new(),
            Kind::Text => vec![(format!("{name} {}", repr(value.as_bytes())), differs)],
            _ => vec![(format!("{name} {}", p.get_for_file(c)), differs)],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_as_sdssplitargs() {
        let ok: &[(&str, &[&str])] = &[
            ("", &[]),
            ("   \t ", &[]),
            ("a b\tc", &["a", "b", "c"]),
            ("save \"\"", &["save", ""]),
            ("a\"b c\"d", &[]),
            ("x 'it\\'s'", &["x", "it's"]),
            ("x '\\n'", &["x", "\\n"]),
            ("x \"\\x41\\x4g\\q\"", &["x", "Ax4gq"]),
            ("x \"a\\\"b\"", &["x", "a\"b"]),
            ("ab\"c d\" e", &["abc d", "e"]),
            ("a\0b c", &["a"]),
        ];
        for (line, want) in ok {
            let got = split_args(line.as_bytes());
            if want.is_empty() && !line.trim().is_empty() {
                assert_eq!(got, None, "{line:?}");
                continue;
            }
            let want: Vec<Vec<u8>> = want.iter().map(|w| w.as_bytes().to_vec()).collect();
            assert_eq!(got, Some(want), "{line:?}");
        }
        for bad in ["x \"abc", "x 'abc", "x \"a\"b", "x 'a'b"] {
            assert_eq!(split_args(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn repr_reads_back() {
        for arg in [&b""[..], b"a b", b"\"q\" \\ \n\r\t\x07\x08\x00\xff"] {
            let line = format!("x {}", repr(arg));
            assert_eq!(split_args(line.as_bytes()).unwrap()[1], arg);
        }
    }

    #[test]
    fn command_lines_become_lines() {
        let t = |args: &[&str]| options_text(args);
        assert_eq!(t(&["--port", "7"]), "port \"7\" ");
        assert_eq!(
            t(&["--save", "--port", "1", "--bind", "a", "b"]),
            "save \"\"\nport \"1\" \nbind \"a\" \"b\" "
        );
        assert_eq!(t(&["--save"]), "save \"\"");
        assert_eq!(
            t(&["--slowlog-log-slower-than", "-1"]),
            "slowlog-log-slower-than \"-1\" "
        );
        assert_eq!(t(&["--requirepass", "--x"]), "requirepass \"--x\" ");
        assert_eq!(t(&["--port 7"]), "port 7 ");
    }

    #[test]
    fn files_as_redis_reads_them() {
        let mut c = Config::default();
        let text = "\
# comment
  \t
maxmemory 100mb
MAXMEMORY-POLICY allkeys-lru
save 900 1
save 300 10
client-output-buffer-limit normal 1mb 0 0
client-output-buffer-limit pubsub 32mb 8mb 60
include /other.conf
list-max-ziplist-entries 512
timeout 5
";
        let mut asked = Vec::new();
        load(&mut c, text, &mut |p| {
            asked.push(p.to_owned());
            Ok(vec!["timeout 7\nhz 20".to_owned(), "save 60 10000".into()])
        })
        .unwrap();
        assert_eq!(asked, ["/other.conf"]);
        assert_eq!(c.maxmemory, 100 << 20);
        assert_eq!(c.save, [(900, 1), (300, 10), (60, 10000)]);
        assert_eq!(c.output_limit_normal.hard_bytes, 1 << 20);
        assert_eq!(c.timeout_s, 5, "the last occurrence wins");
        assert_eq!(c.hz, 20);
        let mut c = Config::default();
        load(&mut c, "save 1 1\nsave \"\"\n", &mut |_| Ok(vec![])).unwrap();
        assert!(c.save.is_empty());
    }

    #[test]
    fn bad_lines_as_redis_refuses_them() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "port 1\nnosuch 1\n",
                2,
                "Bad directive or wrong number of arguments",
            ),
            ("timeout 1 2", 1, "wrong number of arguments"),
            ("timeout", 1, "wrong number of arguments"),
            ("save \"x", 1, "Unbalanced quotes in configuration line"),
            ("\n\nappendonly maybe", 3, "argument must be 'yes' or 'no'"),
            (
                "include a b",
                1,
                "Bad directive or wrong number of arguments",
            ),
            (
                "rename-command FLUSHALL \"\"",
                1,
                "rename-command is not supported by redish",
            ),
            ("mymod.opt 1", 1, "Module config specified without value"),
        ];
        for (text, line, reason) in cases {
            let err = load(&mut Config::default(), text, &mut |_| Ok(vec![])).unwrap_err();
            match err {
                ConfigFileError::Line {
                    number, reason: r, ..
                } => assert_eq!((number, r.as_str()), (*line, *reason), "{text:?}"),
                other => panic!("{other:?}"),
            }
        }
        // A file that includes itself stops.
        let err = load(&mut Config::default(), "include /me", &mut |_| {
            Ok(vec!["include /me".into()])
        })
        .unwrap_err();
        assert!(err.to_string().contains("include nested too deep"), "{err}");
    }

    #[test]
    fn rewrite_keeps_the_file_and_adds_after_the_signature() {
        let old = "# keep me\n\n\n  timeout 5\nslave-read-only no\ntimeout 6\ninclude /x.conf\nbad \"quote\n";
        let mut c = Config::default();
        load(
            &mut c,
            "timeout 9\nmaxmemory 2mb\nreplica-read-only no",
            &mut |_| Ok(vec![]),
        )
        .unwrap();
        let new = rewrite(old, &c);
        assert_eq!(
            new,
            "# keep me\n\ntimeout 9\nreplica-read-only no\n\ninclude /x.conf\nbad \"quote\n\n\
             # Generated by CONFIG REWRITE\ndir \"\"\nlatency-tracking-info-percentiles 50 99 99.9\n\
             maxmemory 2mb\nsave \"\"\n"
        );
        // Rewriting again keeps a blank last line, as Redis's does; then nothing changes.
        let again = rewrite(&new, &c);
        assert_eq!(again, format!("{new}\n"));
        assert_eq!(rewrite(&again, &c), again);
    }
}
