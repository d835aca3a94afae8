//! Pub/sub commands: PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE.
//!
//! Subscription confirmations are push frames (arrays in RESP2), one per channel, each
//! carrying the connection's subscription count after that step.

use bytes::Bytes;

use super::{Args, CmdError};
use crate::resp::Frame;
use crate::session::Ctx;

/// `PUBLISH channel message` — replies with the number of receivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// The channel.
    pub channel: Bytes,
    /// The payload.
    pub message: Bytes,
}

impl Publish {
    pub(crate) fn parse(args: &mut Args) -> Result<Publish, CmdError> {
        Ok(Publish {
            channel: args.required()?,
            message: args.required()?,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        // Subscribers may keep these long after the read buffer moved on: own the bytes.
        let channel = Bytes::copy_from_slice(&self.channel);
        let message = Bytes::copy_from_slice(&self.message);
        Ok(Frame::Integer(ctx.store.publish(&channel, &message) as i64))
    }
}

/// `SUBSCRIBE channel [channel ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Channels to listen to.
    pub channels: Vec<Bytes>,
}

/// `UNSUBSCRIBE [channel ...]` — with no channel, leaves all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Channels to leave; empty means all.
    pub channels: Vec<Bytes>,
}

/// `PSUBSCRIBE pattern [pattern ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PSubscribe {
    /// Glob patterns to listen to.
    pub patterns: Vec<Bytes>,
}

/// `PUNSUBSCRIBE [pattern ...]` — with no pattern, leaves all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PUnsubscribe {
    /// Patterns to leave; empty means all.
    pub patterns: Vec<Bytes>,
}

fn confirmation(kind: &'static str, name: Option<Bytes>, count: usize) -> Frame {
    Frame::Push(vec![
        Frame::Bulk(Bytes::from_static(kind.as_bytes())),
        name.map_or(Frame::Null, Frame::Bulk),
        Frame::Integer(count as i64),
    ])
}

fn owned(b: &Bytes) -> Bytes {
    Bytes::copy_from_slice(b)
}

impl Subscribe {
    pub(crate) fn parse(args: &mut Args) -> Result<Subscribe, CmdError> {
        Ok(Subscribe {
            channels: args.rest(),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) {
        for ch in self.channels {
            let ch = owned(&ch);
            if ctx.conn.channels.insert(ch.clone()) {
                ctx.store.pubsub.subscribe(ctx.conn.id, &ch);
            }
            let n = ctx.conn.subscription_count();
            ctx.reply(confirmation("subscribe", Some(ch), n));
        }
    }
}

impl Unsubscribe {
    pub(crate) fn parse(args: &mut Args) -> Result<Unsubscribe, CmdError> {
        Ok(Unsubscribe {
            channels: args.rest(),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) {
        let channels = if self.channels.is_empty() {
            ctx.conn.channels.iter().cloned().collect()
        } else {
            self.channels
        };
        if channels.is_empty() {
            let n = ctx.conn.subscription_count();
            ctx.reply(confirmation("unsubscribe", None, n));
        }
        for ch in channels {
            if ctx.conn.channels.remove(&ch) {
                ctx.store.pubsub.unsubscribe(ctx.conn.id, &ch);
            }
            let n = ctx.conn.subscription_count();
            ctx.reply(confirmation("unsubscribe", Some(ch), n));
        }
    }
}

impl PSubscribe {
    pub(crate) fn parse(args: &mut Args) -> Result<PSubscribe, CmdError> {
        Ok(PSubscribe {
            patterns: args.rest(),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) {
        for p in self.patterns {
            let p = owned(&p);
            if ctx.conn.patterns.insert(p.clone()) {
                ctx.store.pubsub.psubscribe(ctx.conn.id, &p);
            }
            let n = ctx.conn.subscription_count();
            ctx.reply(confirmation("psubscribe", Some(p), n));
        }
    }
}

impl PUnsubscribe {
    pub(crate) fn parse(args: &mut Args) -> Result<PUnsubscribe, CmdError> {
        Ok(PUnsubscribe {
            patterns: args.rest(),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) {
        let patterns = if self.patterns.is_empty() {
            ctx.conn.patterns.iter().cloned().collect()
        } else {
            self.patterns
        };
        if patterns.is_empty() {
            let n = ctx.conn.subscription_count();
            ctx.reply(confirmation("punsubscribe", None, n));
        }
        for p in patterns {
            if ctx.conn.patterns.remove(&p) {
                ctx.store.pubsub.punsubscribe(ctx.conn.id, &p);
            }
            let n = ctx.conn.subscription_count();
            ctx.reply(confirmation("punsubscribe", Some(p), n));
        }
    }
}
