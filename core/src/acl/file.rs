//! The ACL file (`aclfile`) and `user` directives, as Redis 7.0's `ACLLoadFromFile`,
//! `ACLSaveToFile` and `ACLLoadConfiguredUsers`: one `user <name> <rules…>` line per user.
//!
//! Parsing and writing the text is here, pure; reading and writing the file is the
//! host's ([`AclFileIo`], plugged in with [`crate::Store::set_acl_file_io`]).
//!
//! ```
//! use redish_core::acl::{file, Acl};
//!
//! let users = file::parse(b"user alice on >pw ~* +@all\n", "users.acl", false).unwrap();
//! let mut acl = Acl::new();
//! acl.replace_users(users);
//! assert!(file::render(&acl).starts_with("user alice on #"));
//! let err = file::parse(b"alice on\n", "users.acl", false).unwrap_err();
//! assert!(err.starts_with("users.acl:1 should start with user keyword"));
//! ```

use std::fmt::Write as _;

use bytes::Bytes;

use super::{has_spaces, merge_selector_args, Acl, RuleError, User};

/// What the host does for ACL LOAD and ACL SAVE.
pub trait AclFileIo: Send + std::fmt::Debug {
    /// The whole file; `Err`: the system's description of why it could not be opened
    /// (`No such file or directory`), for Redis's `Error loading ACLs, opening file…`.
    fn read(&mut self, path: &str) -> Result<Vec<u8>, String>;
    /// Replaces the file with `contents` (through a temporary file and a rename, as
    /// Redis); `Err` is logged by the host.
    fn write(&mut self, path: &str, contents: &[u8]) -> Result<(), String>;
}

/// The tail Redis appends to every refused ACL file.
pub const NO_CHANGE: &str =
    "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";

/// ACL SAVE's error, when the host could not write the file.
pub const SAVE_FAILED: &str =
    "There was an error trying to save the ACLs. Please check the server logs for more information";

/// ACL LOAD's error when the file cannot be read.
pub fn open_failed(path: &str, why: &str) -> String {
    format!("Error loading ACLs, opening file '{path}': {why}")
}

/// Trims Redis's `sdstrim` set from both ends.
fn trim<'a>(s: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|c| !set.contains(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !set.contains(c))
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// The users of an ACL file, all or nothing: `Err` is every problem Redis would report,
/// in its words and order, ending with [`NO_CHANGE`]. `filename` is named in the
/// messages; `allchannels` is `acl-pubsub-default` for new users. Blank lines are skipped;
/// words are separated by single spaces, as Redis splits them (so two spaces make an empty
/// word, which is a username or a rule that does nothing). The `default` user is among
/// the result only if the file defines it.
pub fn parse(text: &[u8], filename: &str, allchannels: bool) -> Result<Vec<User>, String> {
    let mut errors = String::new();
    let mut users: Vec<User> = Vec::new();
    for (i, line) in text.split(|&c| c == b'\n').enumerate() {
        let linenum = i + 1;
        let line = trim(line, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
        if argv[0] != b"user" || argv.len() < 2 {
            let _ = write!(
                errors,
                "{filename}:{linenum} should start with user keyword followed by the username. "
            );
            continue;
        }
        let name = argv[1];
        if has_spaces(name) {
            let _ = write!(
                errors,
                "'{filename}:{linenum}: username '{}' contains invalid characters. ",
                String::from_utf8_lossy(name)
            );
            continue;
        }
        if users.iter().any(|u| &u.name[..] == name) {
            let _ = write!(
                errors,
                "WARNING: Duplicate user '{}' found on line {linenum}. ",
                String::from_utf8_lossy(name)
            );
            continue;
        }
        let mut user = User::new(Bytes::copy_from_slice(name), allchannels);
        let rules: Vec<Bytes> = argv[2..]
            .iter()
            .map(|r| Bytes::copy_from_slice(r))
            .collect();
        // Redis 7.0.15 crashes here (it walks the arguments it failed to merge); the
        // error it means to give is given instead.
        let Ok(rules) = merge_selector_args(&rules) else {
            let _ = write!(
                errors,
                "{filename}:{linenum}: Unmatched parenthesis in selector definition."
            );
            continue;
        };
        // Unknown names are all reported, with the rule; of the other errors only the
        // first, since it may explain the ones after it.
        let mut syntax_error = false;
        for rule in &rules {
            let rule = trim(rule, b"\t\r\n");
            match user.apply(rule, allchannels) {
                Ok(()) => {}
                Err(e @ RuleError::UnknownName) => {
                    let _ = write!(
                        errors,
                        "{filename}:{linenum}: Error in applying operation '{}': {e}. ",
                        String::from_utf8_lossy(rule)
                    );
                }
                Err(e) if !syntax_error => {
                    let _ = write!(errors, "{filename}:{linenum}: {e}. ");
                    syntax_error = true;
                }
                Err(_) => {}
            }
        }
        users.push(user);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(NO_CHANGE);
        Err(errors)
    }
}

/// The ACL file of `acl`, as ACL SAVE writes it: `user <name> <description>` per user,
/// by name.
pub fn render(acl: &Acl) -> String {
    let mut out = String::new();
    for u in acl.users() {
        let _ = writeln!(
            out,
            "user {} {}",
            String::from_utf8_lossy(&u.name),
            u.describe()
        );
    }
    out
}

/// ACL LOAD, and `aclfile` at startup: reads the file through the host and, if every
/// line is valid, makes its users the only ones. The error is Redis's (without `ERR`).
pub fn load(store: &mut crate::Store) -> Result<(), String> {
    let path = store.config().security.aclfile.clone();
    let allchannels = store.config().acl_pubsub_allchannels;
    let Some(io) = store.acl_file_io() else {
        return Err(open_failed(&path, "no file access"));
    };
    let text = io.read(&path).map_err(|why| open_failed(&path, &why))?;
    let users = parse(&text, &path, allchannels)?;
    store.acl_mut().replace_users(users);
    Ok(())
}

/// ACL SAVE: writes the users to `aclfile` through the host; `Err(SAVE_FAILED)` when it
/// could not.
pub fn save(store: &mut crate::Store) -> Result<(), &'static str> {
    let path = store.config().security.aclfile.clone();
    let text = render(store.acl_mut());
    let io = store.acl_file_io().ok_or(SAVE_FAILED)?;
    io.write(&path, text.as_bytes()).map_err(|_| SAVE_FAILED)
}

/// A `user` directive of the configuration (`user alice on >pw ~* +@all`, the name and
/// rules as one string, words separated by spaces) applied to `acl`, as Redis's
/// `ACLLoadConfiguredUsers`: a new user, or `default` reset first. The error is the
/// line Redis logs.
pub fn apply_directive(acl: &mut Acl, spec: &str, allchannels: bool) -> Result<(), String> {
    let mut words = spec.split(' ').filter(|w| !w.is_empty());
    let Some(name) = words.next() else {
        return Err("Error in user declaration '': Syntax error".to_owned());
    };
    let rules: Vec<Bytes> = words
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect();
    let rules = merge_selector_args(&rules).map_err(|i| {
        format!(
            "Unmatched parenthesis in acl selector starting at '{}'.",
            String::from_utf8_lossy(&rules[i])
        )
    })?;
    let mut user = match acl.user(name.as_bytes()) {
        Some(existing) if name == "default" => {
            let mut u = existing.clone();
            u.apply(b"reset", allchannels).expect("reset is valid");
            u
        }
        Some(_) => {
            return Err(format!(
                "Error in user declaration '{name}': Duplicate user found. A user can only be defined once in config files"
            ))
        }
        None => User::new(Bytes::copy_from_slice(name.as_bytes()), allchannels),
    };
    for rule in &rules {
        user.apply(rule, allchannels).map_err(|e| {
            format!(
                "Error loading ACL rule '{}' for the user named '{name}': {e}",
                String::from_utf8_lossy(rule)
            )
        })?;
    }
    if !user.enabled() {
        tracing::info!(
            "The user '{name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error."
        );
    }
    acl.put(user);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_redis_words_and_order() {
        let text = b"user alice on >pw ~* +@all\n#comment\nuser  bob\nuser bob on\nuser bob off\nfoo bar\n  \nuser carol +nosuch -@bad ~a allkeys ~b <nopw\nuser dave (~x +get) on\nuser e\tf on\nUser x\n";
        let err = parse(text, "/tmp/u.acl", false).unwrap_err();
        assert_eq!(
            err,
            "/tmp/u.acl:2 should start with user keyword followed by the username. \
             /tmp/u.acl:3: Syntax error. \
             WARNING: Duplicate user 'bob' found on line 5. \
             /tmp/u.acl:6 should start with user keyword followed by the username. \
             /tmp/u.acl:8: Error in applying operation '+nosuch': Unknown command or category name in ACL. \
             /tmp/u.acl:8: Error in applying operation '-@bad': Unknown command or category name in ACL. \
             /tmp/u.acl:8: Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns. \
             '/tmp/u.acl:10: username 'e\tf' contains invalid characters. \
             /tmp/u.acl:11 should start with user keyword followed by the username. \
             WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
        let err = parse(b"user x (~a +get\n", "f", false).unwrap_err();
        assert!(err.starts_with("f:1: Unmatched parenthesis in selector definition.WARNING"));
    }

    #[test]
    fn save_then_load_is_the_same_acl() {
        let text = b"user default on nopass ~* +@all\r\nuser bob on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~k* &ch +get\n\nuser alice on >pw (~x +set) %R~r* +@read\n";
        let mut acl = Acl::new();
        acl.replace_users(parse(text, "f", false).unwrap());
        let saved = render(&acl);
        assert_eq!(saved.lines().count(), 3);
        assert!(saved.starts_with("user alice on #"), "{saved}");
        let mut again = Acl::new();
        again.replace_users(parse(saved.as_bytes(), "f", false).unwrap());
        assert_eq!(render(&again), saved);
    }

    #[test]
    fn an_empty_quoted_rule_in_a_selector_is_a_syntax_error() {
        // Found by the acl_file fuzz target: it panicked (an empty rule indexed).
        for rule in [&b"('' +get)"[..], b"(+get '')"] {
            let mut u = User::new(Bytes::from_static(b"u"), false);
            assert_eq!(u.apply(rule, false), Err(RuleError::Syntax));
        }
        let crash = b"user dass on:* Lnet s\x89ern (~x\xdb\xda\xda\xd8\t\t '' x +get) r";
        assert!(parse(crash, "f", false).is_err());
    }

    #[test]
    fn directives() {
        let mut acl = Acl::new();
        apply_directive(&mut acl, "alice on >pw ~* +@all", false).unwrap();
        assert!(acl.user(b"alice").unwrap().check_password(b"pw"));
        apply_directive(&mut acl, "default on >secret +@all ~*", false).unwrap();
        assert!(!acl.user(b"default").unwrap().nopass());
        assert_eq!(
            apply_directive(&mut acl, "alice on", false).unwrap_err(),
            "Error in user declaration 'alice': Duplicate user found. A user can only be defined once in config files"
        );
        assert_eq!(
            apply_directive(&mut acl, "bob on +nosuch", false).unwrap_err(),
            "Error loading ACL rule '+nosuch' for the user named 'bob': Unknown command or category name in ACL"
        );
    }
}
