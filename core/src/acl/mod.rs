//! Users and their permissions, as Redis 7.0's ACL (`src/acl.c`): the rule grammar of
//! `ACL SETUSER`, the descriptions of `ACL LIST` / `ACL GETUSER`, the permission check of
//! every command, and the ACL log.
//!
//! Commands are known by their index in the command table (`cmd/command_table.rs`, every
//! Redis 7.0 command and subcommand), so rules name Redis's commands even where redish does
//! not serve them, and a command's categories come from its one declaration there.
//! Passwords are kept only as SHA-256 hex and compared in constant time.
//!
//! Sans-IO as the rest of core: no clock (log entries take `now_ms`), no randomness
//! (`ACL GENPASS` bytes come from the store's seeded generator).

pub mod file;
mod sha256;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bytes::Bytes;

pub use sha256::{sha256, sha256_hex};

use crate::cmd::command::{self, CommandMeta};
use crate::db::glob_match;

/// Redis's ACL categories, in its order (`ACL CAT`, and the order the describer tries them).
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Why a rule of `ACL SETUSER` is refused, worded as Redis's `ACLSetUserStringError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `+cmd`/`-cmd`/`+@cat` naming no known command or category.
    #[error("Unknown command or category name in ACL")]
    UnknownName,
    /// Anything else not understood, or a pattern with spaces.
    #[error("Syntax error")]
    Syntax,
    /// A key pattern after `allkeys`.
    #[error("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")]
    AfterAllKeys,
    /// A channel pattern after `allchannels`.
    #[error("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")]
    AfterAllChannels,
    /// `<pass` / `!hash` of a password the user does not have.
    #[error("The password you are trying to remove from the user does not exist")]
    NoSuchPassword,
    /// `#hash` / `!hash` that is not 64 lower-case hex digits.
    #[error("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")]
    BadHash,
    /// `+cmd|sub|arg`.
    #[error("Allowing first-arg of a subcommand is not supported")]
    FirstArgOfSubcommand,
}

/// The command table's facts the ACL needs, computed once.
struct Table {
    metas: &'static [CommandMeta],
    /// Per command: the categories as a bit mask over [`CATEGORIES`].
    categories: Vec<u32>,
    /// Per command: its subcommands' indexes (empty for a plain command).
    children: Vec<Vec<usize>>,
    /// Per command: true for a subcommand (`config|get`).
    is_sub: Vec<bool>,
    /// Per command: Redis's `no_auth` flag (always allowed).
    no_auth: Vec<bool>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let metas = command::table();
        let categories = metas
            .iter()
            .map(|m| {
                m.acl_categories.iter().fold(0u32, |acc, c| {
                    let c = c.trim_start_matches('@');
                    acc | CATEGORIES
                        .iter()
                        .position(|x| *x == c)
                        .map_or(0, |i| 1 << i)
                })
            })
            .collect();
        let mut children = vec![Vec::new(); metas.len()];
        let is_sub: Vec<bool> = metas.iter().map(|m| m.name.contains('|')).collect();
        for (i, m) in metas.iter().enumerate() {
            if let Some((parent, _)) = m.name.split_once('|') {
                if let Some(p) = index_of(metas, parent) {
                    children[p].push(i);
                }
            }
        }
        let no_auth = metas.iter().map(|m| m.flags.contains(&"no_auth")).collect();
        Table {
            metas,
            categories,
            children,
            is_sub,
            no_auth,
        }
    })
}

fn index_of(metas: &[CommandMeta], name: &str) -> Option<usize> {
    metas.binary_search_by(|m| m.name.cmp(name)).ok()
}

/// The table index of command `name` (`config|get` for a subcommand), case-insensitive.
pub fn command_id(name: &[u8]) -> Option<usize> {
    let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    if lower.matches('|').count() > 1 {
        return None;
    }
    index_of(table().metas, &lower)
}

/// The table index of the command (or subcommand) a request runs, as Redis's
/// `lookupCommand`: `None` if Redis has no such command (or subcommand).
pub fn request_id(args: &[Bytes]) -> Option<usize> {
    let id = command_id(args.first()?)?;
    if table().children[id].is_empty() {
        return Some(id);
    }
    let mut full = command_name(id).as_bytes().to_vec();
    full.push(b'|');
    full.extend_from_slice(args.get(1)?);
    command_id(&full)
}

/// The full name of command `id` (`config|get`).
pub fn command_name(id: usize) -> &'static str {
    table().metas[id].name
}

/// The index of category `name` in [`CATEGORIES`], case-insensitive.
pub fn category(name: &[u8]) -> Option<usize> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
}

/// The commands and subcommands of category `cat`, in table order (`ACL CAT cat`).
pub fn commands_in_category(cat: usize) -> impl Iterator<Item = &'static str> {
    let t = table();
    (0..t.metas.len())
        .filter(move |&i| t.categories[i] & (1 << cat) != 0)
        .map(|i| t.metas[i].name)
}

/// Read permission of a key pattern (`%R~`).
pub const KEY_READ: u8 = 1;
/// Write permission of a key pattern (`%W~`).
pub const KEY_WRITE: u8 = 2;

/// A key pattern and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    /// [`KEY_READ`] | [`KEY_WRITE`].
    pub flags: u8,
    /// The glob.
    pub pattern: Bytes,
}

/// What a selector — the user's root permissions, or one `(...)` — allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    allkeys: bool,
    allchannels: bool,
    allcommands: bool,
    /// One bit per command of the table, plus a last bit set only by `+@all`: the user may
    /// run commands added later (how the describer knows to start from `+@all`).
    bits: Vec<u64>,
    /// `+cmd|arg`: first arguments allowed of an otherwise denied command, by command.
    firstargs: BTreeMap<usize, Vec<Bytes>>,
    patterns: Vec<KeyPattern>,
    channels: Vec<Bytes>,
}

impl Selector {
    fn new(allchannels: bool) -> Selector {
        let n = table().metas.len() + 1;
        Selector {
            allkeys: false,
            allchannels,
            allcommands: false,
            bits: vec![0; n.div_ceil(64)],
            firstargs: BTreeMap::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn future_bit() -> usize {
        table().metas.len()
    }

    fn bit(&self, id: usize) -> bool {
        self.bits[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if on {
            self.bits[id / 64] |= 1 << (id % 64);
        } else {
            self.bits[id / 64] &= !(1 << (id % 64));
            self.allcommands = false;
        }
    }

    /// Allows or denies a command, and all its subcommands if it has any.
    fn change(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.firstargs.remove(&id);
        for &sub in &table().children[id] {
            self.set_bit(sub, allow);
        }
    }

    fn change_category(&mut self, cat: usize, allow: bool) {
        let t = table();
        for i in 0..t.metas.len() {
            if t.categories[i] & (1 << cat) != 0 {
                self.change(i, allow);
            }
        }
    }

    fn count_category(&self, cat: usize) -> (usize, usize) {
        let t = table();
        let (mut on, mut off) = (0, 0);
        for i in 0..t.metas.len() {
            if t.categories[i] & (1 << cat) != 0 {
                if self.bit(i) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    fn all_commands(&mut self, allow: bool) {
        let fill = if allow { u64::MAX } else { 0 };
        self.bits.iter_mut().for_each(|w| *w = fill);
        self.allcommands = allow;
        self.firstargs.clear();
    }

    /// Applies one selector rule (Redis's `ACLSetSelector`).
    fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        // An empty rule inside `(...)` (`''`) is Redis's syntax error; only a whole empty
        // SETUSER argument is a no-op (`User::apply`).
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.allkeys {
                return Err(RuleError::AfterAllKeys);
            }
            let mut flags = 0;
            let mut offset = 1;
            if op[0] == b'%' {
                while offset < op.len() {
                    let c = op[offset].to_ascii_uppercase();
                    if c == b'R' && flags & KEY_READ == 0 {
                        flags |= KEY_READ;
                    } else if c == b'W' && flags & KEY_WRITE == 0 {
                        flags |= KEY_WRITE;
                    } else if op[offset] == b'~' {
                        offset += 1;
                        break;
                    } else {
                        return Err(RuleError::Syntax);
                    }
                    offset += 1;
                }
                // `%~x` grants nothing: Redis calls it a syntax error.
                if flags == 0 {
                    return Err(RuleError::Syntax);
                }
            } else {
                flags = KEY_READ | KEY_WRITE;
            }
            let pattern = &op[offset..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }

            match self.patterns.iter_mut().find(|p| p.pattern == pattern) {
                Some(p) => p.flags |= flags,
                None => self.patterns.push(KeyPattern {
                    flags,
                    pattern: Bytes::copy_from_slice(pattern),
                }),
            }
            self.allkeys = false;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::AfterAllChannels);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(Bytes::copy_from_slice(pattern));
            }
            self.allchannels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&c| c == b'|') {
                None => {
                    let id = command_id(name).ok_or(RuleError::UnknownName)?;
                    self.change(id, true);
                }
                Some(bar) => {
                    let (base, sub) = (&name[..bar], &name[bar + 1..]);
                    let id = command_id(base).ok_or(RuleError::UnknownName)?;
                    if table().is_sub[id] {
                        return Err(RuleError::FirstArgOfSubcommand);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !table().children[id].is_empty() {
                        let id = command_id(name).ok_or(RuleError::UnknownName)?;
                        self.change(id, true);
                    } else {
                        let list = self.firstargs.entry(id).or_default();
                        if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                            list.push(Bytes::copy_from_slice(sub));
                        }
                    }
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let id = command_id(&op[1..]).ok_or(RuleError::UnknownName)?;
            self.change(id, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let cat = category(&op[2..]).ok_or(RuleError::UnknownName)?;
            self.change_category(cat, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// The command rules that rebuild this selector's bitmap, as Redis's
    /// `ACLDescribeSelectorCommandRules`: `+@all` or `-@all`, the categories that fit best,
    /// then single commands. (Redis emits the single commands in its dict's order, which
    /// varies between runs; here they come in table order.)
    pub fn describe_commands(&self) -> String {
        let mut rules = String::new();
        let mut fake = Selector::new(false);
        let additive = !self.bit(Selector::future_bit());
        if additive {
            rules.push_str("-@all ");
        } else {
            rules.push_str("+@all ");
            fake.all_commands(true);
        }
        let mut temp = self.clone();
        let mut applied = [false; 21];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let (on, off) = temp.count_category(j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(best) = best else { break };
            fake.change_category(best, additive);
            temp.change_category(best, !additive);
            rules.push(if additive { '+' } else { '-' });
            rules.push('@');
            rules.push_str(CATEGORIES[best]);
            rules.push(' ');
            applied[best] = true;
        }
        let t = table();
        for i in 0..t.metas.len() {
            if t.is_sub[i] {
                continue;
            }
            self.describe_single(i, &mut fake, &mut rules);
            for &sub in &t.children[i] {
                self.describe_single(sub, &mut fake, &mut rules);
            }
        }
        rules.pop();
        rules
    }

    fn describe_single(&self, i: usize, fake: &mut Selector, rules: &mut String) {
        let (user, f) = (self.bit(i), fake.bit(i));
        if user != f {
            rules.push(if user { '+' } else { '-' });
            rules.push_str(command_name(i));
            rules.push(' ');
            fake.change(i, user);
        }
        if !user {
            if let Some(args) = self.firstargs.get(&i) {
                for a in args {
                    rules.push('+');
                    rules.push_str(command_name(i));
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(a));
                    rules.push(' ');
                }
            }
        }
    }

    /// The key patterns as GETUSER shows them (`~*`, or `%R~a ~b`).
    pub fn describe_keys(&self) -> String {
        if self.allkeys {
            return "~*".into();
        }
        let parts: Vec<String> = self.patterns.iter().map(pattern_string).collect();
        parts.join(" ")
    }

    /// The channel patterns as GETUSER shows them (`&*`, or `&a &b`).
    pub fn describe_channels(&self) -> String {
        if self.allchannels {
            return "&*".into();
        }
        let parts: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        parts.join(" ")
    }

    /// The selector as `ACL LIST` writes it (`ACLDescribeSelector`).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if self.allkeys {
            s.push_str("~* ");
        } else {
            for p in &self.patterns {
                s.push_str(&pattern_string(p));
                s.push(' ');
            }
        }
        if self.allchannels {
            s.push_str("&* ");
        } else {
            s.push_str("resetchannels ");
            for c in &self.channels {
                s.push('&');
                s.push_str(&String::from_utf8_lossy(c));
                s.push(' ');
            }
        }
        s.push_str(&self.describe_commands());
        s
    }

    fn check_command(&self, id: usize, args: &[Bytes]) -> bool {
        let t = table();
        if self.allcommands || t.no_auth[id] || self.bit(id) {
            return true;
        }
        let idx = if t.is_sub[id] { 2 } else { 1 };
        match (self.firstargs.get(&id), args.get(idx)) {
            (Some(list), Some(arg)) if args.len() >= 2 => {
                list.iter().any(|a| a.eq_ignore_ascii_case(arg))
            }
            _ => false,
        }
    }

    fn check_key(&self, key: &[u8], need: u8) -> bool {
        self.allkeys
            || self
                .patterns
                .iter()
                .any(|p| p.flags & need == need && glob_match(&p.pattern, key, false))
    }

    fn check_channel(&self, channel: &[u8], literal: bool) -> bool {
        self.allchannels
            || self.channels.iter().any(|p| {
                if literal {
                    p == channel
                } else {
                    glob_match(p, channel, false)
                }
            })
    }

    /// Checks one command against this selector: `Err((denial, argument index))`.
    fn check(&self, req: &Request) -> Result<(), (Denial, usize)> {
        if !self.check_command(req.id, req.args) {
            return Err((Denial::Command, 0));
        }
        if !self.allkeys {
            for &(pos, need) in &req.keys {
                if !self.check_key(&req.args[pos], need) {
                    return Err((Denial::Key, pos));
                }
            }
        }
        if !self.allchannels {
            for &pos in &req.channels {
                if !self.check_channel(&req.args[pos], req.literal_channels) {
                    return Err((Denial::Channel, pos));
                }
            }
        }
        Ok(())
    }
}

fn pattern_string(p: &KeyPattern) -> String {
    let prefix = match p.flags {
        KEY_READ => "%R~",
        KEY_WRITE => "%W~",
        _ => "~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(&p.pattern))
}

/// True if `s` has a space or NUL, which Redis refuses in user names and patterns.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c == 0 || matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denial {
    /// The command (or subcommand) is not allowed.
    Command,
    /// A key it names is not allowed.
    Key,
    /// A channel it names is not allowed.
    Channel,
    /// AUTH failed.
    Auth,
}

impl Denial {
    /// ACL LOG's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Denial::Command => "command",
            Denial::Key => "key",
            Denial::Channel => "channel",
            Denial::Auth => "auth",
        }
    }
}

/// A command as the permission check sees it.
pub struct Request<'a> {
    /// Table index of the command (the subcommand's for a container).
    pub id: usize,
    /// The request, `args[0]` the command name.
    pub args: &'a [Bytes],
    /// Key argument positions with the permission each needs ([`KEY_READ`] | [`KEY_WRITE`]).
    pub keys: Vec<(usize, u8)>,
    /// Channel argument positions.
    pub channels: Vec<usize>,
    /// PSUBSCRIBE: the user's channel patterns must equal the given patterns literally.
    pub literal_channels: bool,
}

impl<'a> Request<'a> {
    /// The request `args` for command `id`, its keys and channels found as Redis finds them.
    pub fn new(id: usize, args: &'a [Bytes]) -> Request<'a> {
        let m = &table().metas[id];
        // The two commands whose key flags depend on their arguments (`VARIABLE_FLAGS`), as
        // Redis's `setGetKeys` and `bitfieldGetKeys`.
        let has = |words: &[&str]| {
            args.iter()
                .skip(2)
                .any(|a| words.iter().any(|w| a.eq_ignore_ascii_case(w.as_bytes())))
        };
        let variable: Option<&'static [&'static str]> = match m.name {
            "set" if has(&["get"]) => Some(&["RW", "access", "update"]),
            "set" => Some(&["OW", "update"]),
            "bitfield" if has(&["set", "incrby"]) => Some(&["RW", "access", "update"]),
            "bitfield" => Some(&["RO", "access"]),
            _ => None,
        };
        let keys = command::key_positions(m, args)
            .into_iter()
            .map(|(pos, flags)| (pos, variable.unwrap_or(flags)))
            .map(|(pos, flags)| {
                let mut need = 0;
                for f in flags {
                    match *f {
                        "access" => need |= KEY_READ,
                        "insert" | "delete" | "update" => need |= KEY_WRITE,
                        _ => {}
                    }
                }
                (pos, need)
            })
            .collect();
        let (channels, literal) = match m.name {
            "publish" | "spublish" => ((1..args.len().min(2)).collect(), false),
            "subscribe" | "ssubscribe" => ((1..args.len()).collect(), false),
            "psubscribe" => ((1..args.len()).collect(), true),
            _ => (Vec::new(), false),
        };
        Request {
            id,
            args,
            keys,
            channels,
            literal_channels: literal,
        }
    }
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its name.
    pub name: Bytes,
    enabled: bool,
    nopass: bool,
    /// `None` until `sanitize-payload` or `skip-sanitize-payload` is set.
    sanitize: Option<bool>,
    /// SHA-256 hex of each password, in the order added.
    passwords: Vec<String>,
    /// The root selector first, then the `(...)` ones.
    selectors: Vec<Selector>,
}

impl User {
    /// A new user as `ACL SETUSER name` makes it: off, no password, no permissions.
    pub fn new(name: Bytes, allchannels: bool) -> User {
        User {
            name,
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(allchannels)],
        }
    }

    /// The `default` user as the server starts it: on, nopass, everything allowed.
    pub fn default_user() -> User {
        let mut u = User::new(Bytes::from_static(b"default"), false);
        for r in ["+@all", "~*", "&*", "on", "nopass"] {
            u.apply(r.as_bytes(), false).expect("valid rule");
        }
        u
    }

    /// True if the root selector allows every command, key and channel: nothing to check.
    pub fn unrestricted(&self) -> bool {
        let r = &self.selectors[0];
        r.allcommands && r.allkeys && r.allchannels
    }

    /// True if AUTH may log in as this user.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// True if any password logs in.
    pub fn nopass(&self) -> bool {
        self.nopass
    }

    /// The flags as GETUSER lists them, in Redis's order.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    /// The password hashes.
    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    /// The root selector.
    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// The `(...)` selectors.
    pub fn selectors(&self) -> &[Selector] {
        &self.selectors[1..]
    }

    /// True if the password `password` logs in (constant time in the stored hashes).
    pub fn check_password(&self, password: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let hashed = sha256_hex(password);
        let mut ok = false;
        for p in &self.passwords {
            ok |= ct_eq(p.as_bytes(), hashed.as_bytes());
        }
        ok
    }

    /// Applies one rule of `ACL SETUSER` (Redis's `ACLSetUser`); `allchannels` is
    /// `acl-pubsub-default` for new selectors and `reset`.
    pub fn apply(&mut self, op: &[u8], allchannels: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                sha256_hex(&op[1..])
            } else {
                check_hash(&op[1..])?
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                sha256_hex(&op[1..])
            } else {
                check_hash(&op[1..])?
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(allchannels);
            // Redis splits the inside with `sdssplitargs`; unbalanced quotes give no rules.
            let inside = Bytes::copy_from_slice(&op[1..op.len() - 1]);
            let rules = crate::resp::split_args(&inside, inside.len()).unwrap_or_default();
            for rule in rules {
                s.apply(&rule)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.allkeys = false;
            root.patterns.clear();
            root.allchannels = allchannels;
            root.channels.clear();
            self.enabled = false;
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].all_commands(false);
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// The user as `ACL LIST` writes it, after `user <name> `.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for f in self.flags() {
            s.push_str(f);
            s.push(' ');
        }
        for p in &self.passwords {
            s.push('#');
            s.push_str(p);
            s.push(' ');
        }
        s.push_str(&self.selectors[0].describe());
        for sel in &self.selectors[1..] {
            s.push_str(" (");
            s.push_str(&sel.describe());
            s.push(')');
        }
        s
    }

    /// Checks a request against every selector: the first that allows it wins; otherwise
    /// the denial Redis reports (a key or channel over a command, the latest argument).
    pub fn check(&self, req: &Request) -> Result<(), (Denial, usize)> {
        let mut worst = (Denial::Command, 0);
        for s in &self.selectors {
            match s.check(req) {
                Ok(()) => return Ok(()),
                Err((d, pos)) => {
                    if d > worst.0 || (d == worst.0 && pos > worst.1) {
                        worst = (d, pos);
                    }
                }
            }
        }
        Err(worst)
    }

    /// True if no selector allows all channels and the user's channel patterns are not a
    /// superset of `old`'s: its subscribed clients must be checked (Redis's
    /// `ACLKillPubsubClientsIfNeeded`).
    pub fn channels_narrowed_from(&self, old: &User) -> bool {
        if self.selectors.iter().any(|s| s.allchannels) {
            return false;
        }
        if old.selectors.iter().any(|s| s.allchannels) {
            return true;
        }
        let new: Vec<&Bytes> = self.selectors.iter().flat_map(|s| &s.channels).collect();
        !old.selectors
            .iter()
            .flat_map(|s| &s.channels)
            .all(|c| new.contains(&c))
    }

    /// True if a subscription to `channel` (a pattern if `pattern`) is still allowed, for
    /// the check of [`User::channels_narrowed_from`].
    pub fn allows_subscription(&self, channel: &[u8], pattern: bool) -> bool {
        self.selectors.iter().any(|s| {
            s.allchannels
                || s.channels.iter().any(|p| {
                    if pattern {
                        p == channel
                    } else {
                        glob_match(p, channel, false)
                    }
                })
        })
    }
}

fn check_hash(h: &[u8]) -> Result<String, RuleError> {
    if h.len() != 64 || !h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(h).into_owned())
}

/// Compares without a data-dependent branch or early exit.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

/// Merges selector rules spread over several arguments (`(~a`, `+get)`) into one, as
/// Redis's `ACLMergeSelectorArguments`; `Err(i)`: the selector opened at argument `i` is
/// never closed.
pub fn merge_selector_args(args: &[Bytes]) -> Result<Vec<Bytes>, usize> {
    let mut out = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if let Some((_, sel)) = &mut open {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                let (_, sel) = open.take().expect("open");
                out.push(Bytes::from(sel));
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.clone());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

/// One entry of the ACL log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Times it happened (similar events within a minute are grouped).
    pub count: u64,
    /// Why.
    pub reason: Denial,
    /// `toplevel`, `multi`, `lua`.
    pub context: &'static str,
    /// The command, key, channel, or `AUTH`.
    pub object: Bytes,
    /// The user.
    pub username: Bytes,
    /// Last update, ms since the epoch.
    pub updated_ms: u64,
    /// CLIENT LIST line of the client.
    pub client_info: String,
}

/// The users and the ACL log.
#[derive(Debug, Clone)]
pub struct Acl {
    users: BTreeMap<Bytes, User>,
    log: std::collections::VecDeque<LogEntry>,
    /// `acllog-max-len`.
    pub log_max_len: usize,
    /// Failed AUTHs (INFO `acl_access_denied_auth`).
    pub denied_auth: u64,
    /// Commands refused (INFO `acl_access_denied_cmd`).
    pub denied_cmd: u64,
    /// Keys refused (INFO `acl_access_denied_key`).
    pub denied_key: u64,
    /// Channels refused (INFO `acl_access_denied_channel`).
    pub denied_channel: u64,
    /// Bumped on every change of a user, so that a connection may remember that its user
    /// is allowed everything (see [`Acl::epoch`]).
    epoch: u64,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new()
    }
}

impl Acl {
    /// Only the `default` user, allowed everything with no password.
    pub fn new() -> Acl {
        let mut users = BTreeMap::new();
        users.insert(Bytes::from_static(b"default"), User::default_user());
        Acl {
            users,
            log: Default::default(),
            log_max_len: 128,
            denied_auth: 0,
            denied_cmd: 0,
            denied_key: 0,
            denied_channel: 0,
            epoch: 1,
        }
    }

    /// Changes whenever a user does (never 0).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A user by name.
    pub fn user(&self, name: &[u8]) -> Option<&User> {
        self.users.get(name)
    }

    /// All users, by name.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// Replaces (or creates) a user.
    pub fn put(&mut self, user: User) {
        self.epoch += 1;
        self.users.insert(user.name.clone(), user);
    }

    /// Replaces every user with `users` (ACL LOAD), `default` as Redis creates it when
    /// they do not define it.
    pub fn replace_users(&mut self, users: Vec<User>) {
        self.epoch += 1;
        self.users = users.into_iter().map(|u| (u.name.clone(), u)).collect();
        self.users
            .entry(Bytes::from_static(b"default"))
            .or_insert_with(User::default_user);
    }

    /// Removes a user; true if it existed.
    pub fn remove(&mut self, name: &[u8]) -> bool {
        self.epoch += 1;
        self.users.remove(name).is_some()
    }

    /// `requirepass`: the default user's password (`None`: nopass), as Redis's
    /// `ACLUpdateDefaultUserPassword`.
    pub fn set_default_password(&mut self, password: Option<&[u8]>) {
        self.epoch += 1;
        let u = self.users.get_mut(&b"default"[..]).expect("default user");
        u.apply(b"resetpass", false).expect("valid");
        match password {
            Some(p) => {
                let mut op = vec![b'>'];
                op.extend_from_slice(p);
                u.apply(&op, false).expect("valid");
            }
            None => u.apply(b"nopass", false).expect("valid"),
        }
    }

    /// True if a new connection starts authenticated (the default user is on and nopass).
    pub fn default_needs_no_auth(&self) -> bool {
        self.users
            .get(&b"default"[..])
            .is_some_and(|u| u.nopass && u.enabled)
    }

    /// Adds an event to the log, grouped with a similar one of the last minute among the
    /// ten latest (Redis's `addACLLogEntry`).
    pub fn log(&mut self, mut e: LogEntry) {
        let similar = self.log.iter().take(10).position(|o| {
            o.reason == e.reason
                && o.context == e.context
                && o.updated_ms.abs_diff(e.updated_ms) <= 60_000
                && o.object == e.object
                && o.username == e.username
        });
        if let Some(i) = similar {
            let mut o = self.log.remove(i).expect("found");
            o.count += 1;
            o.updated_ms = e.updated_ms;
            o.client_info = std::mem::take(&mut e.client_info);
            self.log.push_front(o);
            return;
        }
        self.log.push_front(e);
        self.log.truncate(self.log_max_len);
    }

    /// The log, newest first.
    pub fn log_entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.log.iter()
    }

    /// ACL LOG RESET.
    pub fn reset_log(&mut self) {
        self.log.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> Result<User, RuleError> {
        let mut u = User::new(Bytes::from_static(b"u"), false);
        for r in rules {
            u.apply(r.as_bytes(), false)?;
        }
        Ok(u)
    }

    #[test]
    fn rule_errors() {
        let cases: &[(&str, RuleError)] = &[
            ("+nosuch", RuleError::UnknownName),
            ("-nosuch", RuleError::UnknownName),
            ("+@nosuch", RuleError::UnknownName),
            ("+acl|nosuch", RuleError::UnknownName),
            ("+config|get|x", RuleError::FirstArgOfSubcommand),
            ("+select|", RuleError::Syntax),
            ("bogus", RuleError::Syntax),
            ("%X~a", RuleError::Syntax),
            ("%RR~a", RuleError::Syntax),
            ("#abc", RuleError::BadHash),
            ("!ABCDEF", RuleError::BadHash),
            ("<nope", RuleError::NoSuchPassword),
        ];
        for (rule, want) in cases {
            assert_eq!(user(&[rule]).unwrap_err(), *want, "{rule}");
        }
        assert_eq!(
            user(&["allkeys", "~a"]).unwrap_err(),
            RuleError::AfterAllKeys
        );
        assert_eq!(
            user(&["allchannels", "&a"]).unwrap_err(),
            RuleError::AfterAllChannels
        );
    }

    #[test]
    fn describes_as_redis() {
        let u = user(&["on", ">p", "~a", "%R~b", "%W~c", "&ch", "+get"]).unwrap();
        assert_eq!(
            u.describe(),
            format!(
                "on #{} ~a %R~b %W~c resetchannels &ch -@all +get",
                sha256_hex(b"p")
            )
        );
        let d = User::default_user();
        assert_eq!(d.describe(), "on nopass ~* &* +@all");
        let u = user(&["+@all", "-@dangerous"]).unwrap();
        assert_eq!(u.root().describe_commands(), "+@all -@dangerous");
        let u = user(&["+@read", "(~x +set)"]).unwrap();
        assert_eq!(u.selectors()[0].describe(), "~x resetchannels -@all +set");
    }

    #[test]
    fn checks_commands_keys_and_channels() {
        let u = user(&["on", "nopass", "+get", "+set", "~a*", "%R~r*", "+publish"]).unwrap();
        let id = |n: &str| command_id(n.as_bytes()).unwrap();
        let args = |a: &[&str]| -> Vec<Bytes> {
            a.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect()
        };
        let get_a = args(&["get", "a1"]);
        assert!(u.check(&Request::new(id("get"), &get_a)).is_ok());
        let get_r = args(&["get", "r1"]);
        assert!(u.check(&Request::new(id("get"), &get_r)).is_ok());
        let set_r = args(&["set", "r1", "v"]);
        assert_eq!(
            u.check(&Request::new(id("set"), &set_r)),
            Err((Denial::Key, 1))
        );
        let del = args(&["del", "a"]);
        assert_eq!(
            u.check(&Request::new(id("del"), &del)),
            Err((Denial::Command, 0))
        );
        let publ = args(&["publish", "ch", "m"]);
        assert_eq!(
            u.check(&Request::new(id("publish"), &publ)),
            Err((Denial::Channel, 1))
        );
        assert!(u.check_password(b"anything"));
    }

    #[test]
    fn merges_selectors() {
        let a = |s: &[&str]| -> Vec<Bytes> {
            s.iter()
                .map(|x| Bytes::copy_from_slice(x.as_bytes()))
                .collect()
        };
        assert_eq!(
            merge_selector_args(&a(&["on", "(~a", "+get)", "off"])).unwrap(),
            a(&["on", "(~a +get)", "off"])
        );
        assert_eq!(merge_selector_args(&a(&["on", "(~a", "+get"])), Err(1));
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"", b"a"));
    }
}
