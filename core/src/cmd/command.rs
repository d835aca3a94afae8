//! COMMAND and the command metadata behind it: `COMMAND`, `COMMAND COUNT`, `COMMAND LIST`,
//! `COMMAND INFO`, `COMMAND DOCS`, `COMMAND GETKEYS`, `COMMAND GETKEYSANDFLAGS`.
//!
//! What Redis 7.0 reports about each command and subcommand — arity, flags, key positions,
//! ACL categories, key specifications, summary — sits in a table generated from a real
//! server (`command_table.rs`, by `core/tools/gen_command_table.py`). COMMAND shows the
//! entries of the commands we serve: those of [`super::COMMANDS`], and for container
//! commands the subcommands listed in [`SUBCOMMANDS`]. So a command added to the table
//! shows up in COMMAND with Redis's metadata, with nothing else to write.
//!
//! COMMAND DOCS gives everything Redis 7.0 does, the history and the argument tree included
//! (redis-cli 7 builds its argument hints from them), with the fields in Redis's order, so a
//! command's entry is byte for byte Redis's. Only the order of entries in a map keyed by
//! command name (all of COMMAND DOCS, a container's `subcommands`) differs: Redis lists
//! those in the order of a hash table with a random seed.

use bytes::Bytes;

use super::command_table::TABLE;
use super::executor::Ctx;
use super::{Args, CmdError, CommandSpec, COMMANDS};
use crate::resp::Frame;

/// Where the first key is: Redis's `begin_search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// At this argument index.
    Index(i32),
    /// After this keyword, searched from `startfrom` (negative: from the end).
    Keyword(&'static str, i32),
    /// Only the command knows.
    Unknown,
}

/// How the keys go on from the first: Redis's `find_keys`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    /// `Range(lastkey, keystep, limit)`: up to `lastkey` (negative: from the end).
    Range(i32, i32, i32),
    /// `Keynum(keynumidx, firstkey, keystep)`: an argument gives the count.
    Keynum(i32, i32, i32),
    /// Only the command knows.
    Unknown,
}

/// One key specification of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Redis's note, or empty.
    pub notes: &'static str,
    /// Access flags (`RO`, `RW`, `access`, `update`, …).
    pub flags: &'static [&'static str],
    /// Where the first key is.
    pub begin: Begin,
    /// How the keys go on.
    pub find: Find,
}

/// The type of a command argument, as COMMAND DOCS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// `string`.
    Str,
    /// `integer`.
    Int,
    /// `double`.
    Double,
    /// `key`.
    Key,
    /// `pattern`.
    Pattern,
    /// `unix-time`.
    UnixTime,
    /// `pure-token`: the token alone.
    PureToken,
    /// `oneof`: one of the sub-arguments.
    OneOf,
    /// `block`: the sub-arguments in sequence.
    Block,
}

impl ArgType {
    /// The name COMMAND DOCS gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ArgType::Str => "string",
            ArgType::Int => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }
}

/// [`Arg::flags`]: the argument may be left out.
pub const ARG_OPTIONAL: u8 = 1;
/// [`Arg::flags`]: the argument may be repeated.
pub const ARG_MULTIPLE: u8 = 2;
/// [`Arg::flags`]: the argument is repeated with its token each time.
pub const ARG_MULTIPLE_TOKEN: u8 = 4;

/// One argument of a command, as COMMAND DOCS describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    /// Its name (`key`, `condition`, …).
    pub name: &'static str,
    /// Its type.
    pub kind: ArgType,
    /// The key specification it is a key of, or -1.
    pub key_spec_index: i32,
    /// The word that introduces it (`EX`), or empty.
    pub token: &'static str,
    /// The Redis version that added it, or empty.
    pub since: &'static str,
    /// The Redis version that deprecated it, or empty.
    pub deprecated_since: &'static str,
    /// [`ARG_OPTIONAL`], [`ARG_MULTIPLE`], [`ARG_MULTIPLE_TOKEN`].
    pub flags: u8,
    /// The sub-arguments of a [`ArgType::OneOf`] or [`ArgType::Block`].
    pub args: &'static [Arg],
}

/// What Redis reports about one command or subcommand (`client|list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandMeta {
    /// Lower-case name; `container|sub` for a subcommand.
    pub name: &'static str,
    /// Argument count including the name(s): `n` exactly, `-n` at least `n`.
    pub arity: i32,
    /// Command flags (`readonly`, `fast`, `no_auth`, …).
    pub flags: &'static [&'static str],
    /// Position of the first key (0: none).
    pub first_key: i32,
    /// Position of the last key (negative: from the end).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// ACL categories, `@` included.
    pub acl_categories: &'static [&'static str],
    /// Hints for cluster clients (`nondeterministic_output`, …).
    pub tips: &'static [&'static str],
    /// Key specifications.
    pub key_specs: &'static [KeySpec],
    /// One-line summary.
    pub summary: &'static str,
    /// The Redis version that added it.
    pub since: &'static str,
    /// Its group (`string`, `connection`, `server`, …).
    pub group: &'static str,
    /// Its time complexity.
    pub complexity: &'static str,
    /// `deprecated`, `syscmd`, …
    pub doc_flags: &'static [&'static str],
    /// The version that deprecated it, or empty.
    pub deprecated_since: &'static str,
    /// What replaces it, or empty.
    pub replaced_by: &'static str,
    /// Changes by version: `(version, what changed)`.
    pub history: &'static [(&'static str, &'static str)],
    /// Its arguments after the name(s).
    pub args: &'static [Arg],
}

/// The subcommands we serve, per container command. Their arity and error names come from
/// the metadata table.
pub const SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "client",
        &[
            "caching",
            "getname",
            "getredir",
            "help",
            "id",
            "info",
            "kill",
            "list",
            "no-evict",
            "pause",
            "reply",
            "setname",
            "tracking",
            "trackinginfo",
            "unblock",
            "unpause",
        ],
    ),
    (
        "command",
        &[
            "count",
            "docs",
            "getkeys",
            "getkeysandflags",
            "help",
            "info",
            "list",
        ],
    ),
    ("config", &["get", "help", "resetstat", "rewrite", "set"]),
    ("script", &["exists", "flush", "help", "kill", "load"]),
    (
        "function",
        &[
            "delete", "dump", "flush", "help", "kill", "list", "load", "restore", "stats",
        ],
    ),
    ("slowlog", &["get", "help", "len", "reset"]),
    (
        "acl",
        &[
            "cat", "deluser", "dryrun", "genpass", "getuser", "help", "list", "load", "log",
            "save", "setuser", "users", "whoami",
        ],
    ),
    (
        "latency",
        &["help", "histogram", "history", "latest", "reset"],
    ),
    (
        "object",
        &["encoding", "freq", "help", "idletime", "refcount"],
    ),
    (
        "pubsub",
        &[
            "channels",
            "help",
            "numpat",
            "numsub",
            "shardchannels",
            "shardnumsub",
        ],
    ),
    (
        "xgroup",
        &[
            "create",
            "createconsumer",
            "delconsumer",
            "destroy",
            "help",
            "setid",
        ],
    ),
    ("xinfo", &["consumers", "groups", "help", "stream"]),
];

/// Every Redis command and subcommand, sorted by name (what the ACL numbers commands by).
pub(crate) fn table() -> &'static [CommandMeta] {
    TABLE
}

/// The metadata of `name` (lower case; `container|sub` for subcommands).
pub fn meta(name: &str) -> Option<&'static CommandMeta> {
    TABLE
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &TABLE[i])
}

fn served_subcommands(container: &str) -> &'static [&'static str] {
    SUBCOMMANDS
        .iter()
        .find(|(c, _)| *c == container)
        .map_or(&[], |(_, subs)| subs)
}

/// True for a command served with subcommands (CLIENT, CONFIG, …).
pub(crate) fn is_container(name: &str) -> bool {
    !served_subcommands(name).is_empty()
}

/// Reads the subcommand of a container command and checks the arity of the whole request
/// against Redis's, with Redis's errors. Returns its metadata (`name` is `container|sub`)
/// and the subcommand's lower-case name.
pub(crate) fn subcommand(
    args: &mut Args,
    upper: &'static str,
) -> Result<&'static CommandMeta, CmdError> {
    let sub = args.required()?;
    let lower = String::from_utf8_lossy(&sub).to_ascii_lowercase();
    let unknown = || CmdError::UnknownSubcommand {
        sub: String::from_utf8_lossy(&sub).into_owned(),
        cmd: upper,
    };
    if !served_subcommands(args.name()).contains(&lower.as_str()) {
        return Err(unknown());
    }
    let m = meta(&format!("{}|{lower}", args.name())).ok_or_else(unknown)?;
    let n = args.remaining() as i32 + 2;
    if (m.arity > 0 && n != m.arity) || n < -m.arity {
        return Err(CmdError::WrongArity(m.name));
    }
    Ok(m)
}

/// The name a request is counted under in INFO commandstats and shown as CLIENT LIST's
/// `cmd`: the spec's name, or `container|sub` for a served subcommand (`None` for an unknown
/// one, which Redis does not count).
pub(crate) fn stat_name(spec: &CommandSpec, args: &[Bytes]) -> Option<&'static str> {
    let subs = served_subcommands(spec.name);
    if subs.is_empty() {
        return Some(spec.name);
    }
    let sub = args.get(1)?;
    subs.iter()
        .find(|s| s.as_bytes().eq_ignore_ascii_case(sub))?;
    let full = format!(
        "{}|{}",
        spec.name,
        String::from_utf8_lossy(sub).to_ascii_lowercase()
    );
    meta(&full).map(|m| m.name)
}

/// `name` (from [`stat_name`]) if the request gets past Redis's arity check of its
/// subcommand; `None` if it is refused there, before CLIENT PAUSE could hold it.
pub(crate) fn checked_name(name: &'static str, args: &[Bytes]) -> Option<&'static str> {
    let arity = meta(name)?.arity;
    let n = args.len() as i32;
    ((arity > 0 && n == arity) || (arity <= 0 && n >= -arity)).then_some(name)
}

/// True if CLIENT PAUSE WRITE holds the command or subcommand `name`: it writes (flag
/// `write`) or may replicate something (Redis's `may_replicate` flag, which COMMAND INFO
/// does not show: PUBLISH, SPUBLISH, PFCOUNT and the scripts).
pub(crate) fn may_replicate(name: &str) -> bool {
    const MAY_REPLICATE: &[&str] = &["publish", "spublish", "pfcount", "eval", "evalsha", "fcall"];
    MAY_REPLICATE.contains(&name) || is_write(name)
}

/// True if the command or subcommand `name` writes (flag `write`): refused while the disk
/// fails writes (`-MISCONF`).
pub(crate) fn is_write(name: &str) -> bool {
    meta(name).is_some_and(|m| m.flags.contains(&"write"))
}

/// `COMMAND [COUNT | LIST … | INFO … | DOCS … | GETKEYS … | GETKEYSANDFLAGS … | HELP]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandCmd {
    /// `COMMAND` or `COMMAND INFO` with no names: every command.
    All,
    /// `COMMAND COUNT`.
    Count,
    /// `COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]`.
    List(Option<ListFilter>),
    /// `COMMAND INFO name…`.
    Info(Vec<Bytes>),
    /// `COMMAND DOCS [name…]`.
    Docs(Vec<Bytes>),
    /// `COMMAND GETKEYS cmd args…` (`with_flags`: GETKEYSANDFLAGS).
    GetKeys {
        /// The command line to find keys in.
        args: Vec<Bytes>,
        /// GETKEYSANDFLAGS.
        with_flags: bool,
    },
    /// `COMMAND HELP`.
    Help,
}

/// A COMMAND LIST filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListFilter {
    /// Commands of a module: none here.
    Module(Bytes),
    /// Commands in an ACL category.
    AclCat(Bytes),
    /// Names matching a glob.
    Pattern(Bytes),
}

impl CommandCmd {
    pub(crate) fn parse(args: &mut Args) -> Result<CommandCmd, CmdError> {
        if args.remaining() == 0 {
            return Ok(CommandCmd::All);
        }
        let m = subcommand(args, "COMMAND")?;
        Ok(match m.name {
            "command|count" => CommandCmd::Count,
            "command|help" => CommandCmd::Help,
            "command|info" if args.remaining() == 0 => CommandCmd::All,
            "command|info" => CommandCmd::Info(args.rest()),
            "command|docs" => CommandCmd::Docs(args.rest()),
            "command|getkeys" | "command|getkeysandflags" => CommandCmd::GetKeys {
                args: args.rest(),
                with_flags: m.name == "command|getkeysandflags",
            },
            _ => {
                let rest = args.rest();
                match rest.as_slice() {
                    [] => CommandCmd::List(None),
                    [by, kind, value] if by.eq_ignore_ascii_case(b"FILTERBY") => {
                        let v = value.clone();
                        CommandCmd::List(Some(match kind.to_ascii_uppercase().as_slice() {
                            b"MODULE" => ListFilter::Module(v),
                            b"ACLCAT" => ListFilter::AclCat(v),
                            b"PATTERN" => ListFilter::Pattern(v),
                            _ => return Err(CmdError::Syntax),
                        }))
                    }
                    _ => return Err(CmdError::Syntax),
                }
            }
        })
    }

    pub(crate) fn apply(self, _ctx: &mut Ctx) -> Result<Frame, CmdError> {
        Ok(match self {
            CommandCmd::All => {
                Frame::Array(served().map(|(spec, m)| info_frame(spec, m)).collect())
            }
            CommandCmd::Count => Frame::Integer(served().count() as i64),
            CommandCmd::Info(names) => Frame::Array(
                names
                    .iter()
                    .map(|n| find(n).map_or(Frame::Null, |(spec, m)| info_frame(spec, m)))
                    .collect(),
            ),
            CommandCmd::Docs(names) => {
                let pairs = if names.is_empty() {
                    served().map(|(spec, m)| docs_pair(spec, m)).collect()
                } else {
                    names
                        .iter()
                        .filter_map(|n| find(n).map(|(spec, m)| docs_pair(spec, m)))
                        .collect()
                };
                Frame::Map(pairs)
            }
            CommandCmd::List(filter) => {
                let mut names = Vec::new();
                for (spec, m) in served() {
                    let subs = sub_metas(spec.name);
                    for name_meta in
                        std::iter::once((spec.name, m)).chain(subs.map(|s| (s.name, Some(s))))
                    {
                        if list_matches(&filter, name_meta.0, name_meta.1) {
                            names.push(Frame::bulk(name_meta.0));
                        }
                    }
                }
                Frame::Array(names)
            }
            CommandCmd::GetKeys { args, with_flags } => get_keys(&args, with_flags)?,
            CommandCmd::Help => help(
                "COMMAND",
                &[
                    "(no subcommand)",
                    "    Return details about all Redis commands.",
                    "COUNT",
                    "    Return the total number of commands in this Redis server.",
                    "LIST",
                    "    Return a list of all commands in this Redis server.",
                    "INFO [<command-name> ...]",
                    "    Return details about multiple Redis commands.",
                    "    If no command names are given, documentation details for all",
                    "    commands are returned.",
                    "DOCS [<command-name> ...]",
                    "    Return documentation details about multiple Redis commands.",
                    "    If no command names are given, documentation details for all",
                    "    commands are returned.",
                    "GETKEYS <full-command>",
                    "    Return the keys from a full Redis command.",
                    "GETKEYSANDFLAGS <full-command>",
                    "    Return the keys and the access flags from a full Redis command.",
                ],
            ),
        })
    }
}

/// A HELP reply in Redis's shape: a title line, the given lines, and HELP's own entry.
pub(crate) fn help(cmd: &str, lines: &[&str]) -> Frame {
    let mut out = Vec::with_capacity(lines.len() + 3);
    out.push(Frame::Simple(Bytes::from(format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ))));
    out.extend(
        lines
            .iter()
            .map(|l| Frame::Simple(Bytes::copy_from_slice(l.as_bytes()))),
    );
    out.push(Frame::simple("HELP"));
    out.push(Frame::simple("    Prints this help."));
    Frame::Array(out)
}

/// Every served top-level command, with its Redis metadata when Redis has the command.
fn served() -> impl Iterator<Item = (&'static CommandSpec, Option<&'static CommandMeta>)> {
    COMMANDS.iter().map(|spec| (spec, meta(spec.name)))
}

fn sub_metas(container: &str) -> impl Iterator<Item = &'static CommandMeta> + '_ {
    served_subcommands(container)
        .iter()
        .filter_map(move |s| meta(&format!("{container}|{s}")))
}

/// A served command or subcommand by name (`client|list`), any case.
fn find(name: &[u8]) -> Option<(&'static CommandSpec, Option<&'static CommandMeta>)> {
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    match lower.split_once('|') {
        None => super::spec(lower.as_bytes()).map(|spec| (spec, meta(spec.name))),
        Some((container, sub)) => {
            let spec = super::spec(container.as_bytes())?;
            served_subcommands(spec.name).contains(&sub).then_some(())?;
            meta(&lower).map(|m| (spec, Some(m)))
        }
    }
}

fn list_matches(filter: &Option<ListFilter>, name: &str, m: Option<&CommandMeta>) -> bool {
    match filter {
        None => true,
        Some(ListFilter::Module(_)) => false,
        Some(ListFilter::AclCat(cat)) => m.is_some_and(|m| {
            m.acl_categories
                .iter()
                .any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(cat))
        }),
        Some(ListFilter::Pattern(p)) => crate::db::glob_match(p, name.as_bytes(), true),
    }
}

fn simple_set(items: &[&str]) -> Frame {
    Frame::Set(
        items
            .iter()
            .map(|s| Frame::Simple(Bytes::copy_from_slice(s.as_bytes())))
            .collect(),
    )
}

fn kv(k: &'static str, v: Frame) -> (Frame, Frame) {
    (Frame::Bulk(Bytes::from_static(k.as_bytes())), v)
}

fn key_spec_frame(k: &KeySpec) -> Frame {
    let mut pairs = Vec::with_capacity(4);
    if !k.notes.is_empty() {
        pairs.push(kv("notes", Frame::bulk(k.notes)));
    }
    pairs.push(kv("flags", simple_set(k.flags)));
    let (btype, bspec) = match k.begin {
        Begin::Index(i) => ("index", vec![kv("index", Frame::Integer(i.into()))]),
        Begin::Keyword(w, from) => (
            "keyword",
            vec![
                kv("keyword", Frame::bulk(w)),
                kv("startfrom", Frame::Integer(from.into())),
            ],
        ),
        Begin::Unknown => ("unknown", vec![]),
    };
    pairs.push(kv(
        "begin_search",
        Frame::Map(vec![
            kv("type", Frame::bulk(btype)),
            kv("spec", Frame::Map(bspec)),
        ]),
    ));
    let (ftype, fspec) = match k.find {
        Find::Range(last, step, limit) => (
            "range",
            vec![
                kv("lastkey", Frame::Integer(last.into())),
                kv("keystep", Frame::Integer(step.into())),
                kv("limit", Frame::Integer(limit.into())),
            ],
        ),
        Find::Keynum(idx, first, step) => (
            "keynum",
            vec![
                kv("keynumidx", Frame::Integer(idx.into())),
                kv("firstkey", Frame::Integer(first.into())),
                kv("keystep", Frame::Integer(step.into())),
            ],
        ),
        Find::Unknown => ("unknown", vec![]),
    };
    pairs.push(kv(
        "find_keys",
        Frame::Map(vec![
            kv("type", Frame::bulk(ftype)),
            kv("spec", Frame::Map(fspec)),
        ]),
    ));
    Frame::Map(pairs)
}

fn meta_info(m: &CommandMeta, subs: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::bulk(m.name),
        Frame::Integer(m.arity.into()),
        simple_set(m.flags),
        Frame::Integer(m.first_key.into()),
        Frame::Integer(m.last_key.into()),
        Frame::Integer(m.step.into()),
        simple_set(m.acl_categories),
        Frame::Set(m.tips.iter().map(Frame::bulk).collect()),
        Frame::Set(m.key_specs.iter().map(key_spec_frame).collect()),
        // Redis writes "no subcommands" as an empty set, subcommands as an array.
        if subs.is_empty() {
            Frame::Set(subs)
        } else {
            Frame::Array(subs)
        },
    ])
}

/// One COMMAND INFO entry. A served command Redis does not have gets its arity alone.
fn info_frame(spec: &CommandSpec, m: Option<&CommandMeta>) -> Frame {
    let Some(m) = m else {
        let bare = CommandMeta {
            name: spec.name,
            arity: spec.arity,
            flags: &[],
            first_key: 0,
            last_key: 0,
            step: 0,
            acl_categories: &[],
            tips: &[],
            key_specs: &[],
            summary: "",
            since: "",
            group: "",
            complexity: "",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            args: &[],
        };
        return meta_info(&bare, Vec::new());
    };
    if m.name.contains('|') {
        return meta_info(m, Vec::new());
    }
    let subs = sub_metas(m.name)
        .map(|s| meta_info(s, Vec::new()))
        .collect();
    meta_info(m, subs)
}

/// One COMMAND DOCS entry, fields in Redis's order (`addReplyCommandDocs`).
fn docs_map(m: &CommandMeta) -> Vec<(Frame, Frame)> {
    let mut pairs = vec![
        kv("summary", Frame::bulk(m.summary)),
        kv("since", Frame::bulk(m.since)),
        kv("group", Frame::bulk(m.group)),
    ];
    if !m.complexity.is_empty() {
        pairs.push(kv("complexity", Frame::bulk(m.complexity)));
    }
    if !m.doc_flags.is_empty() {
        pairs.push(kv("doc_flags", simple_set(m.doc_flags)));
    }
    if !m.deprecated_since.is_empty() {
        pairs.push(kv("deprecated_since", Frame::bulk(m.deprecated_since)));
    }
    if !m.replaced_by.is_empty() {
        pairs.push(kv("replaced_by", Frame::bulk(m.replaced_by)));
    }
    if !m.history.is_empty() {
        let history = m
            .history
            .iter()
            .map(|(version, what)| Frame::Array(vec![Frame::bulk(version), Frame::bulk(what)]))
            .collect();
        pairs.push(kv("history", Frame::Set(history)));
    }
    if !m.args.is_empty() {
        pairs.push(kv("arguments", args_frame(m.args)));
    }
    pairs
}

/// An argument list, fields in Redis's order (`addReplyCommandArgList`).
fn args_frame(args: &[Arg]) -> Frame {
    Frame::Array(
        args.iter()
            .map(|a| {
                let mut pairs = vec![
                    kv("name", Frame::bulk(a.name)),
                    kv("type", Frame::bulk(a.kind.as_str())),
                ];
                if a.key_spec_index >= 0 {
                    pairs.push(kv(
                        "key_spec_index",
                        Frame::Integer(a.key_spec_index.into()),
                    ));
                }
                if !a.token.is_empty() {
                    pairs.push(kv("token", Frame::bulk(a.token)));
                }
                if !a.since.is_empty() {
                    pairs.push(kv("since", Frame::bulk(a.since)));
                }
                if !a.deprecated_since.is_empty() {
                    pairs.push(kv("deprecated_since", Frame::bulk(a.deprecated_since)));
                }
                if a.flags != 0 {
                    let names = [
                        (ARG_OPTIONAL, "optional"),
                        (ARG_MULTIPLE, "multiple"),
                        (ARG_MULTIPLE_TOKEN, "multiple_token"),
                    ];
                    let flags: Vec<&str> = names
                        .iter()
                        .filter(|(bit, _)| a.flags & bit != 0)
                        .map(|(_, name)| *name)
                        .collect();
                    pairs.push(kv("flags", simple_set(&flags)));
                }
                if matches!(a.kind, ArgType::OneOf | ArgType::Block) {
                    pairs.push(kv("arguments", args_frame(a.args)));
                }
                Frame::Map(pairs)
            })
            .collect(),
    )
}

/// One COMMAND DOCS entry: name → map.
fn docs_pair(spec: &CommandSpec, m: Option<&CommandMeta>) -> (Frame, Frame) {
    let Some(m) = m else {
        return (Frame::bulk(spec.name), Frame::Map(Vec::new()));
    };
    let mut pairs = docs_map(m);
    if !m.name.contains('|') {
        let subs: Vec<(Frame, Frame)> = sub_metas(m.name)
            .map(|s| (Frame::bulk(s.name), Frame::Map(docs_map(s))))
            .collect();
        if !subs.is_empty() {
            pairs.push(kv("subcommands", Frame::Map(subs)));
        }
    }
    (Frame::bulk(m.name), Frame::Map(pairs))
}

/// COMMAND GETKEYS: the keys of a command line, found with its key specifications.
fn get_keys(args: &[Bytes], with_flags: bool) -> Result<Frame, CmdError> {
    let Some((spec, m)) = args.first().and_then(|n| find(n)) else {
        return Err(CmdError::err("Invalid command specified"));
    };
    // A container's keys are those of its subcommand.
    let m = match (m, args.get(1)) {
        (Some(m), Some(sub)) if !served_subcommands(spec.name).is_empty() => {
            let full = format!(
                "{}|{}",
                m.name,
                String::from_utf8_lossy(sub).to_ascii_lowercase()
            );
            meta(&full).or(Some(m))
        }
        (m, _) => m,
    };
    // Redis's `doesCommandHaveKeys` comes before the arity check.
    let Some(m) = m.filter(|m| !m.key_specs.is_empty()) else {
        return Err(CmdError::err("The command has no key arguments"));
    };
    let n = args.len() as i32;
    if (m.arity > 0 && n != m.arity) || n < -m.arity {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = key_positions(m, args);
    if keys.is_empty() {
        return Err(CmdError::err("The command has no key arguments"));
    }
    // SET's flags depend on its GET option (Redis's `setGetKeys`).
    let get_option = m.name == "set" && args[3..].iter().any(|a| a.eq_ignore_ascii_case(b"GET"));
    let set_flags: &'static [&'static str] = if get_option {
        &["RW", "access", "update"]
    } else {
        &["OW", "update"]
    };
    Ok(Frame::Array(
        keys.into_iter()
            .map(|(i, flags)| {
                let flags = if m.name == "set" { set_flags } else { flags };
                let key = Frame::Bulk(args[i].clone());
                if with_flags {
                    Frame::Array(vec![key, simple_set(flags)])
                } else {
                    key
                }
            })
            .collect(),
    ))
}

/// The keys of a request (`args[0]` is the command name, arity already checked) as the
/// positions its key specifications find, each with the spec's flags, in spec order: what
/// COMMAND GETKEYS answers, and what client-side caching remembers for a read.
pub(crate) fn key_positions(
    m: &CommandMeta,
    args: &[Bytes],
) -> Vec<(usize, &'static [&'static str])> {
    if m.name == "sort" {
        return sort_keys(args);
    }
    let n = args.len() as i32;
    let mut keys: Vec<(usize, &'static [&'static str])> = Vec::new();
    for ks in m.key_specs {
        let first = match ks.begin {
            Begin::Index(i) => i as usize,
            Begin::Keyword(word, from) => {
                let found = if from >= 0 {
                    (from as usize..args.len())
                        .find(|&i| args[i].eq_ignore_ascii_case(word.as_bytes()))
                } else {
                    let start = args.len() as i32 + from;
                    (1..=start.max(0) as usize)
                        .rev()
                        .find(|&i| args[i].eq_ignore_ascii_case(word.as_bytes()))
                };
                match found {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            Begin::Unknown => continue,
        };
        let (last, step) = match ks.find {
            Find::Range(last, step, limit) => {
                let last = if last >= 0 {
                    first as i32 + last
                } else if limit > 0 {
                    first as i32 + (n - first as i32) / limit + last
                } else {
                    n + last
                };
                (last, step.max(1))
            }
            Find::Keynum(idx, firstkey, step) => {
                let Some(count) = args
                    .get(first + idx as usize)
                    .and_then(|a| super::parse_i64(a))
                else {
                    continue;
                };
                let start = first + firstkey as usize;
                let last = start as i32 + (count as i32 - 1) * step;
                for i in (start as i32..=last).step_by(step.max(1) as usize) {
                    if (i as usize) < args.len() {
                        keys.push((i as usize, ks.flags));
                    }
                }
                continue;
            }
            Find::Unknown => continue,
        };
        let mut i = first as i32;
        while i <= last && (i as usize) < args.len() {
            keys.push((i as usize, ks.flags));
            i += step;
        }
    }
    keys
}

/// SORT's keys as Redis's `sortGetKeys` finds them (its STORE key spec is incomplete): the
/// key, and the destination of the last STORE, skipping the arguments of LIMIT, GET and BY.
fn sort_keys(args: &[Bytes]) -> Vec<(usize, &'static [&'static str])> {
    let mut keys: Vec<(usize, &'static [&'static str])> = vec![(1, &["RO", "access"])];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    if let Some(s) = store {
        keys.push((s, &["OW", "update"]));
    }
    keys
}

/// The key arguments of a request for the command (or subcommand) named `name`: see
/// [`key_positions`].
pub(crate) fn keys_of(name: &str, args: &[Bytes]) -> Vec<Bytes> {
    meta(name).map_or_else(Vec::new, |m| {
        key_positions(m, args)
            .into_iter()
            .map(|(i, _)| args[i].clone())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_has_what_we_serve() {
        assert!(TABLE.windows(2).all(|w| w[0].name < w[1].name));
        for spec in COMMANDS {
            let m = meta(spec.name).unwrap_or_else(|| panic!("{} has no metadata", spec.name));
            assert_eq!(m.arity, spec.arity, "{}", spec.name);
        }
        for (container, subs) in SUBCOMMANDS {
            for s in *subs {
                assert!(
                    meta(&format!("{container}|{s}")).is_some(),
                    "{container}|{s}"
                );
            }
        }
    }
}
