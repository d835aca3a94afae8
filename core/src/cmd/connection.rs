//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, RESET, READONLY, READWRITE (QUIT
//! is handled by the session).
//!
//! AUTH and HELLO … AUTH log in as one of the ACL users (`crate::acl`); `requirepass` is
//! the `default` user's password. A connection made while `default` needs a password (or
//! is off) must AUTH before anything but AUTH, HELLO, QUIT and RESET.

use bytes::Bytes;

use super::executor::Ctx;
use super::{int32_arg, parse_i64, Args, CmdError};
use crate::resp::{Frame, Protocol};

/// `PING [message]` — `PONG`, or the message. In a RESP2 subscribed connection the reply is
/// the array `pong <message or "">`, as Redis sends it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// The message to echo back.
    pub message: Option<Bytes>,
}

impl Ping {
    pub(crate) fn parse(args: &mut Args) -> Result<Ping, CmdError> {
        if args.remaining() > 1 {
            return Err(CmdError::WrongArity(args.name()));
        }
        Ok(Ping {
            message: args.next(),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        if ctx.conn.is_subscribed() && ctx.conn.proto == Protocol::Resp2 {
            return Ok(Frame::Array(vec![
                Frame::Bulk(Bytes::from_static(b"pong")),
                Frame::Bulk(self.message.unwrap_or_default()),
            ]));
        }
        Ok(match self.message {
            None => Frame::simple("PONG"),
            Some(m) => Frame::Bulk(m),
        })
    }
}

/// `ECHO message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    /// The message.
    pub message: Bytes,
}

impl Echo {
    pub(crate) fn parse(args: &mut Args) -> Result<Echo, CmdError> {
        Ok(Echo {
            message: args.required()?,
        })
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]` — switches protocol and
/// replies with the server's handshake map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// 2 or 3; `None` keeps the connection's version.
    pub protover: Option<Protocol>,
    /// `AUTH username password`.
    pub auth: Option<(Bytes, Bytes)>,
    /// `SETNAME clientname`.
    pub setname: Option<Bytes>,
    /// The command's name as sent, for the ACL log of a failed AUTH.
    pub sent: Bytes,
}

impl Hello {
    pub(crate) fn parse(args: &mut Args) -> Result<Hello, CmdError> {
        let mut hello = Hello {
            sent: args.sent_name().clone(),
            protover: None,
            auth: None,
            setname: None,
        };
        if let Some(v) = args.next() {
            let v = parse_i64(&v).ok_or_else(|| {
                CmdError::err("Protocol version is not an integer or out of range")
            })?;
            hello.protover = Some(match v {
                2 => Protocol::Resp2,
                3 => Protocol::Resp3,
                _ => {
                    return Err(CmdError::Other(
                        "NOPROTO unsupported protocol version".into(),
                    ))
                }
            });
        }
        while let Some(opt) = args.next() {
            let more = args.remaining();
            match opt.to_ascii_uppercase().as_slice() {
                b"AUTH" if more >= 2 => hello.auth = Some((args.required()?, args.required()?)),
                b"SETNAME" if more >= 1 => hello.setname = Some(args.required()?),
                _ => {
                    return Err(CmdError::err(format_args!(
                        "Syntax error in HELLO option '{}'",
                        String::from_utf8_lossy(&opt)
                    )))
                }
            }
        }
        Ok(hello)
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        if let Some((user, password)) = &self.auth {
            authenticate(ctx, user, password, &self.sent)?;
        }
        if !ctx.conn.authenticated {
            return Err(CmdError::Other(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into(),
            ));
        }
        if let Some(name) = self.setname {
            ctx.conn.set_name(name)?;
        }
        if let Some(p) = self.protover {
            ctx.conn.proto = p;
        }
        Ok(hello_reply(ctx.conn.id, ctx.conn.proto))
    }
}

/// The map HELLO replies with.
pub(crate) fn hello_reply(id: u64, proto: Protocol) -> Frame {
    let s = |s: &'static str| Frame::Bulk(Bytes::from_static(s.as_bytes()));
    Frame::Map(vec![
        (s("server"), s("redis")),
        (s("version"), s(crate::REDIS_VERSION)),
        (
            s("proto"),
            Frame::Integer(if proto == Protocol::Resp3 { 3 } else { 2 }),
        ),
        (s("id"), Frame::Integer(id as i64)),
        (s("mode"), s("standalone")),
        (s("role"), s("master")),
        (s("modules"), Frame::Array(Vec::new())),
    ])
}

/// `SELECT index` — switches the connection to another database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    /// The database index.
    pub index: i64,
}

impl Select {
    pub(crate) fn parse(args: &mut Args) -> Result<Select, CmdError> {
        let index = i64::from(int32_arg(&args.required()?)?);
        Ok(Select { index })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        if self.index < 0 || self.index as usize >= ctx.store.databases() {
            return Err(CmdError::DbIndexOutOfRange);
        }
        ctx.conn.db = self.index as usize;
        Ok(Frame::OK)
    }
}

/// Checks `user`/`password` against the ACL users and marks the connection authenticated
/// as that user, or fails with WRONGPASS (leaving it as it was), counted and logged as
/// Redis's `ACLAuthenticateUser`. `cmd` is AUTH or HELLO, for the log.
fn authenticate(ctx: &mut Ctx, user: &Bytes, password: &[u8], cmd: &Bytes) -> Result<(), CmdError> {
    let ok = ctx
        .store
        .acl_mut()
        .user(user)
        .is_some_and(|u| u.enabled() && u.check_password(password));
    if !ok {
        let context = if ctx.in_exec { "multi" } else { "toplevel" };
        super::record_denial(
            ctx,
            super::DenialRecord {
                denial: crate::acl::Denial::Auth,
                context,
                object: cmd.clone(),
                username: Some(user),
            },
        );
        return Err(CmdError::Other(
            "WRONGPASS invalid username-password pair or user is disabled.".into(),
        ));
    }
    ctx.conn.authenticated = true;
    ctx.conn.user = user.clone();
    Ok(())
}

/// `AUTH [username] password` — authenticates the connection as the default user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// The user; `None` for the one-argument form (the default user).
    pub username: Option<Bytes>,
    /// The password.
    pub password: Bytes,
    /// The command's name as sent, for the ACL log of a failed AUTH.
    pub sent: Bytes,
}

impl Auth {
    pub(crate) fn parse(args: &mut Args) -> Result<Auth, CmdError> {
        let sent = args.sent_name().clone();
        match args.rest().as_slice() {
            [password] => Ok(Auth {
                sent,
                username: None,
                password: password.clone(),
            }),
            [user, password] => Ok(Auth {
                sent,
                username: Some(user.clone()),
                password: password.clone(),
            }),
            _ => Err(CmdError::Syntax),
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let user = match self.username {
            Some(user) => user,
            None if ctx
                .store
                .acl_mut()
                .user(b"default")
                .is_some_and(|u| u.nopass()) =>
            {
                return Err(CmdError::err(
                    "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ))
            }
            None => Bytes::from_static(b"default"),
        };
        authenticate(ctx, &user, &self.password, &self.sent).map(|()| Frame::OK)
    }
}

/// `RESET` — returns the connection to its state at connect: leaves MULTI and drops the
/// WATCHes, leaves every channel and pattern, selects database 0, speaks RESP2, forgets its
/// name, reply mode and tracking, and must AUTH again if a password is set. Replies `+RESET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset;

impl Reset {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let id = ctx.conn.id;
        ctx.conn.multi = None;
        let watched = std::mem::take(&mut ctx.conn.watched);
        ctx.store.unwatch_all(id, watched);
        for ch in ctx.conn.channels.drain() {
            ctx.store.pubsub.unsubscribe(id, &ch);
        }
        for p in ctx.conn.patterns.drain() {
            ctx.store.pubsub.punsubscribe(id, &p);
        }
        ctx.store.disable_tracking(id);
        ctx.store.stop_monitor(id);
        ctx.conn.tracking = false;
        ctx.conn.caching = false;
        ctx.conn.db = 0;
        ctx.conn.proto = Protocol::Resp2;
        ctx.conn.name = None;
        ctx.conn.reply = super::ReplyMode::On;
        ctx.conn.authenticated = ctx.store.acl_mut().default_needs_no_auth();
        ctx.conn.user = Bytes::from_static(b"default");
        Ok(Frame::simple("RESET"))
    }
}

/// `READONLY` / `READWRITE` — cluster commands: refused, as by a Redis without cluster
/// support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnly;

impl ReadOnly {
    pub(crate) fn apply(self, _ctx: &mut Ctx) -> Result<Frame, CmdError> {
        Err(CmdError::err("This instance has cluster support disabled"))
    }
}
