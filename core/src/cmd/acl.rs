//! `ACL` and its subcommands, as Redis 7.0's `aclCommand`: the user model is in
//! `crate::acl`; this file parses the requests and writes the replies.

use bytes::Bytes;

use super::command::{help, subcommand};
use super::executor::Ctx;
use super::{Args, CmdError};
use crate::acl::{self, Denial, User};
use crate::resp::Frame;

/// `ACL <subcommand> …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclCmd {
    /// `ACL SETUSER username [rule …]`.
    SetUser(Bytes, Vec<Bytes>),
    /// `ACL GETUSER username`.
    GetUser(Bytes),
    /// `ACL DELUSER username …`.
    DelUser(Vec<Bytes>),
    /// `ACL LIST`.
    List,
    /// `ACL USERS`.
    Users,
    /// `ACL WHOAMI`.
    WhoAmI,
    /// `ACL CAT [category]`.
    Cat(Option<Bytes>),
    /// `ACL GENPASS [bits]`.
    GenPass(Option<Bytes>),
    /// `ACL DRYRUN username command [arg …]`.
    DryRun(Bytes, Vec<Bytes>),
    /// `ACL LOG [count | RESET]`.
    Log(Option<Bytes>),
    /// `ACL LOAD`: the users of `aclfile`, all or nothing.
    Load,
    /// `ACL SAVE`: the users written to `aclfile`.
    Save,
    /// `ACL HELP`.
    Help,
}

impl AclCmd {
    pub(crate) fn parse(args: &mut Args) -> Result<AclCmd, CmdError> {
        let sent = args.peek().cloned().unwrap_or_default();
        let m = subcommand(args, "ACL")?;
        let mut rest = args.rest();
        let wrong = || {
            CmdError::err(format_args!(
                "unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
                String::from_utf8_lossy(&sent)
            ))
        };
        Ok(match m.name {
            "acl|setuser" => {
                let name = rest.remove(0);
                AclCmd::SetUser(name, rest)
            }
            "acl|getuser" => AclCmd::GetUser(rest.remove(0)),
            "acl|deluser" => AclCmd::DelUser(rest),
            "acl|list" => AclCmd::List,
            "acl|users" => AclCmd::Users,
            "acl|whoami" => AclCmd::WhoAmI,
            "acl|cat" if rest.len() <= 1 => AclCmd::Cat(rest.pop()),
            "acl|genpass" if rest.len() <= 1 => AclCmd::GenPass(rest.pop()),
            "acl|log" if rest.len() <= 1 => AclCmd::Log(rest.pop()),
            "acl|dryrun" => {
                let name = rest.remove(0);
                AclCmd::DryRun(name, rest)
            }
            "acl|load" => AclCmd::Load,
            "acl|save" => AclCmd::Save,
            "acl|help" => AclCmd::Help,
            _ => return Err(wrong()),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let bulk = |s: String| Frame::Bulk(Bytes::from(s));
        match self {
            AclCmd::SetUser(name, rules) => set_user(ctx, name, rules),
            AclCmd::GetUser(name) => {
                let acl = ctx.store.acl_mut();
                let Some(u) = acl.user(&name) else {
                    return Ok(Frame::Null);
                };
                let s = |x: &'static str| Frame::Bulk(Bytes::from_static(x.as_bytes()));
                let mut fields = vec![
                    (
                        s("flags"),
                        Frame::Set(u.flags().into_iter().map(s).collect()),
                    ),
                    (
                        s("passwords"),
                        Frame::Array(u.passwords().iter().map(|p| bulk(p.clone())).collect()),
                    ),
                ];
                fields.extend(selector_fields(u.root()));
                fields.push((
                    s("selectors"),
                    Frame::Array(
                        u.selectors()
                            .iter()
                            .map(|sel| Frame::Map(selector_fields(sel)))
                            .collect(),
                    ),
                ));
                Ok(Frame::Map(fields))
            }
            AclCmd::DelUser(names) => {
                if names.iter().any(|n| &n[..] == b"default") {
                    return Err(CmdError::err("The 'default' user cannot be removed"));
                }
                let mut deleted = 0;
                for n in names {
                    if ctx.store.acl_mut().remove(&n) {
                        deleted += 1;
                        kill_clients_of(ctx, &n);
                    }
                }
                Ok(Frame::Integer(deleted))
            }
            AclCmd::List => Ok(Frame::Array(
                ctx.store
                    .acl_mut()
                    .users()
                    .map(|u| {
                        bulk(format!(
                            "user {} {}",
                            String::from_utf8_lossy(&u.name),
                            u.describe()
                        ))
                    })
                    .collect(),
            )),
            AclCmd::Users => Ok(Frame::Array(
                ctx.store
                    .acl_mut()
                    .users()
                    .map(|u| Frame::Bulk(u.name.clone()))
                    .collect(),
            )),
            AclCmd::WhoAmI => Ok(Frame::Bulk(ctx.conn.user.clone())),
            AclCmd::Cat(None) => Ok(Frame::Array(
                acl::CATEGORIES
                    .iter()
                    .map(|c| Frame::Bulk(Bytes::from_static(c.as_bytes())))
                    .collect(),
            )),
            AclCmd::Cat(Some(cat)) => {
                let Some(i) = acl::category(&cat) else {
                    let shown = &cat[..cat.len().min(128)];
                    return Err(CmdError::err(format_args!(
                        "Unknown category '{}'",
                        String::from_utf8_lossy(shown)
                    )));
                };
                Ok(Frame::Array(
                    acl::commands_in_category(i)
                        .map(|n| Frame::Bulk(Bytes::from_static(n.as_bytes())))
                        .collect(),
                ))
            }
            AclCmd::GenPass(bits) => {
                let bits = match bits {
                    None => 256,
                    Some(b) => super::parse_i64(&b).ok_or(CmdError::NotInteger)?,
                };
                if bits <= 0 || bits > 4096 {
                    return Err(CmdError::err(
                        "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                    ));
                }
                let chars = (bits as usize).div_ceil(4);
                let mut s = String::with_capacity(chars + 16);
                while s.len() < chars {
                    let r = ctx.store.random_u64();
                    s.push_str(&format!("{r:016x}"));
                }
                s.truncate(chars);
                Ok(bulk(s))
            }
            AclCmd::Log(arg) => log(ctx, arg),
            AclCmd::DryRun(name, cmd) => dry_run(ctx, &name, &cmd),
            AclCmd::Load | AclCmd::Save if ctx.store.config().security.aclfile.is_empty() => {
                Err(CmdError::err(NO_ACL_FILE))
            }
            AclCmd::Load => {
                acl::file::load(ctx.store).map_err(CmdError::err)?;
                kill_clients_of_replaced_users(ctx);
                Ok(Frame::OK)
            }
            AclCmd::Save => {
                acl::file::save(ctx.store).map_err(CmdError::err)?;
                Ok(Frame::OK)
            }
            AclCmd::Help => Ok(help("ACL", HELP)),
        }
    }
}

fn selector_fields(sel: &acl::Selector) -> Vec<(Frame, Frame)> {
    let s = |x: &'static str| Frame::Bulk(Bytes::from_static(x.as_bytes()));
    let b = |x: String| Frame::Bulk(Bytes::from(x));
    vec![
        (s("commands"), b(sel.describe_commands())),
        (s("keys"), b(sel.describe_keys())),
        (s("channels"), b(sel.describe_channels())),
    ]
}

fn set_user(ctx: &mut Ctx, name: Bytes, rules: Vec<Bytes>) -> Result<Frame, CmdError> {
    if acl::has_spaces(&name) {
        return Err(CmdError::err(
            "Usernames can't contain spaces or null characters",
        ));
    }
    let rules = acl::merge_selector_args(&rules).map_err(|i| {
        CmdError::err(format_args!(
            "Unmatched parenthesis in acl selector starting at '{}'.",
            String::from_utf8_lossy(&rules[i])
        ))
    })?;
    let allchannels = ctx.store.config().acl_pubsub_allchannels;
    let acl = ctx.store.acl_mut();
    let old = acl.user(&name).cloned();
    let mut user = old
        .clone()
        .unwrap_or_else(|| User::new(name.clone(), allchannels));
    for r in &rules {
        user.apply(r, allchannels).map_err(|e| {
            CmdError::err(format_args!(
                "Error in ACL SETUSER modifier '{}': {e}",
                String::from_utf8_lossy(r)
            ))
        })?;
    }
    let narrowed = old.as_ref().is_some_and(|o| user.channels_narrowed_from(o));
    let check = narrowed.then(|| user.clone());
    acl.put(user);
    if let Some(user) = check {
        kill_pubsub_clients(ctx, &user);
    }
    Ok(Frame::OK)
}

/// ACL SAVE / LOAD without `aclfile`.
const NO_ACL_FILE: &str = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// After ACL LOAD every user but `default` is a new one, and Redis closes the connections
/// authenticated as the old ones (`ACLFreeUsersSet` → `ACLFreeUserAndKillClients`).
fn kill_clients_of_replaced_users(ctx: &mut Ctx) {
    let mut names: Vec<Bytes> = ctx
        .store
        .clients()
        .iter()
        .map(|(_, c)| c.user.clone())
        .chain(std::iter::once(ctx.conn.user.clone()))
        .filter(|n| &n[..] != b"default")
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        kill_clients_of(ctx, &name);
    }
}

/// Closes the connections authenticated as `name` (deleted, or disabled: Redis's
/// `ACLFreeUserAndKillClients`); this very connection closes after its reply.
fn kill_clients_of(ctx: &mut Ctx, name: &[u8]) {
    let victims: Vec<_> = ctx
        .store
        .clients()
        .iter()
        .filter(|(_, c)| &c.user[..] == name)
        .map(|(id, _)| id)
        .collect();
    for id in victims {
        if id == ctx.conn.id {
            ctx.conn.close_after_reply = true;
        } else {
            ctx.store.kill_client(id);
        }
    }
    if &ctx.conn.user[..] == name {
        ctx.conn.close_after_reply = true;
    }
}

/// Closes the subscribed connections of `user` whose subscriptions it no longer allows.
fn kill_pubsub_clients(ctx: &mut Ctx, user: &User) {
    let me = ctx.conn.id;
    let mine_bad = ctx.conn.user == user.name
        && (ctx
            .conn
            .channels
            .iter()
            .any(|c| !user.allows_subscription(c, false))
            || ctx
                .conn
                .patterns
                .iter()
                .any(|p| !user.allows_subscription(p, true)));
    if mine_bad {
        ctx.conn.close_after_reply = true;
    }
    let victims: Vec<_> = ctx
        .store
        .clients()
        .iter()
        .filter(|(id, c)| *id != me && c.user == user.name && c.sub + c.psub > 0)
        .map(|(id, _)| id)
        .filter(|id| {
            let subs = ctx.store.pubsub.subscriptions_of(*id);
            subs.0.iter().any(|c| !user.allows_subscription(c, false))
                || subs.1.iter().any(|p| !user.allows_subscription(p, true))
        })
        .collect();
    for id in victims {
        ctx.store.kill_client(id);
    }
}

fn log(ctx: &mut Ctx, arg: Option<Bytes>) -> Result<Frame, CmdError> {
    let count = match arg {
        None => 10,
        Some(a) if a.eq_ignore_ascii_case(b"reset") => {
            ctx.store.acl_mut().reset_log();
            return Ok(Frame::OK);
        }
        Some(a) => super::parse_i64(&a).ok_or(CmdError::NotInteger)?.max(0) as usize,
    };
    let now = ctx.now_ms;
    let s = |x: &'static str| Frame::Bulk(Bytes::from_static(x.as_bytes()));
    let entries = ctx
        .store
        .acl_mut()
        .log_entries()
        .take(count)
        .map(|e| {
            Frame::Map(vec![
                (s("count"), Frame::Integer(e.count as i64)),
                (s("reason"), s(e.reason.reason())),
                (s("context"), s(e.context)),
                (s("object"), Frame::Bulk(e.object.clone())),
                (s("username"), Frame::Bulk(e.username.clone())),
                (
                    s("age-seconds"),
                    Frame::Double(now.saturating_sub(e.updated_ms) as f64 / 1000.0),
                ),
                (
                    s("client-info"),
                    Frame::Bulk(Bytes::from(e.client_info.clone())),
                ),
            ])
        })
        .collect();
    Ok(Frame::Array(entries))
}

fn dry_run(ctx: &mut Ctx, name: &[u8], cmd: &[Bytes]) -> Result<Frame, CmdError> {
    let Some(user) = ctx.store.acl_mut().user(name).cloned() else {
        return Err(CmdError::err(format_args!(
            "User '{}' not found",
            String::from_utf8_lossy(name)
        )));
    };
    let Some(id) = acl::request_id(cmd) else {
        return Err(CmdError::err(format_args!(
            "Command '{}' not found",
            String::from_utf8_lossy(&cmd[0])
        )));
    };
    let req = acl::Request::new(id, cmd);
    match user.check(&req) {
        Ok(()) => Ok(Frame::OK),
        Err((denial, pos)) => {
            let text = match denial {
                Denial::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    acl::command_name(id)
                ),
                Denial::Key => format!(
                    "This user has no permissions to access the '{}' key",
                    String::from_utf8_lossy(&cmd[pos])
                ),
                _ => format!(
                    "This user has no permissions to access the '{}' channel",
                    String::from_utf8_lossy(&cmd[pos])
                ),
            };
            Ok(Frame::Bulk(Bytes::from(text)))
        }
    }
}

/// Checks a request against the permissions of `user` (Redis's `ACLCheckAllPerm`):
/// `Err((denial, argument index, command id))`. A user that may do everything costs one
/// map lookup; a user deleted under a connection may do nothing.
///
/// `allowed`: what the connection remembers of its user being allowed everything (the
/// ACL's epoch and where the user's name is held); checked first, as this runs for every
/// request and the common user, `default`, is allowed everything.
pub(crate) fn check_request(
    store: &mut crate::db::Store,
    user: &Bytes,
    allowed: &mut (u64, usize),
    args: &[Bytes],
) -> Result<(), (Denial, usize, usize)> {
    let name_at = user.as_ptr() as usize;
    if *allowed == (store.acl().epoch(), name_at) {
        return Ok(());
    }
    let acl = store.acl_mut();
    let Some(u) = acl.user(user) else {
        return match acl::request_id(args) {
            Some(id) => Err((Denial::Command, 0, id)),
            None => Ok(()),
        };
    };
    if u.unrestricted() {
        *allowed = (acl.epoch(), name_at);
        return Ok(());
    }
    let Some(id) = acl::request_id(args) else {
        return Ok(());
    };
    u.check(&acl::Request::new(id, args))
        .map_err(|(d, pos)| (d, pos, id))
}

/// What the ACL log names for a denial: the command's full name, or the argument.
pub(crate) fn denied_object(denial: Denial, pos: usize, id: usize, args: &[Bytes]) -> Bytes {
    match denial {
        Denial::Command => Bytes::from_static(acl::command_name(id).as_bytes()),
        _ => args[pos].clone(),
    }
}

/// What the ACL log records of a denial, for [`record_denial`].
pub(crate) struct DenialRecord<'a> {
    pub denial: Denial,
    pub context: &'static str,
    /// The command's full name, key, channel, or AUTH as sent.
    pub object: Bytes,
    /// `None`: the connection's user.
    pub username: Option<&'a [u8]>,
}

/// Counts a denial in INFO and adds it to the ACL log.
pub(crate) fn record_denial(ctx: &mut Ctx, r: DenialRecord) {
    let mut info = String::new();
    super::client_sync(ctx.conn, ctx.store, ctx.output_len(), ctx.now_ms);
    if let Some(c) = ctx.store.clients().get(ctx.conn.id) {
        let t = ctx.store.tracking.get(ctx.conn.id);
        c.write_line(ctx.conn.id, t, ctx.now_ms, &mut info);
    }
    let username = Bytes::copy_from_slice(r.username.unwrap_or(&ctx.conn.user));
    let now = ctx.now_ms;
    let acl = ctx.store.acl_mut();
    match r.denial {
        Denial::Auth => acl.denied_auth += 1,
        Denial::Command => acl.denied_cmd += 1,
        Denial::Key => acl.denied_key += 1,
        Denial::Channel => acl.denied_channel += 1,
    }
    acl.log(acl::LogEntry {
        count: 1,
        reason: r.denial,
        context: r.context,
        object: r.object,
        username,
        updated_ms: now,
        client_info: info,
    });
}

const HELP: &[&str] = &[
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];
