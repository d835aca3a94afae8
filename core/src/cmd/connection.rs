//! Connection commands: PING, ECHO, HELLO, SELECT (QUIT is handled by the session).

use bytes::Bytes;

use super::{int32_arg, parse_i64, Args, CmdError};
use crate::resp::{Frame, Protocol};
use crate::session::Ctx;

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
}

impl Hello {
    pub(crate) fn parse(args: &mut Args) -> Result<Hello, CmdError> {
        let mut hello = Hello {
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
        if let Some((user, _password)) = &self.auth {
            // No passwords yet: the default user has none and accepts any, as Redis's
            // `default` user does with `nopass`.
            if user.as_ref() != b"default" {
                return Err(CmdError::Other(
                    "WRONGPASS invalid username-password pair or user is disabled.".into(),
                ));
            }
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
