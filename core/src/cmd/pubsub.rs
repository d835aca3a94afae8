//! Pub/sub commands: PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, and the
//! introspection of PUBSUB (CHANNELS, NUMSUB, NUMPAT, SHARDCHANNELS, SHARDNUMSUB, HELP).
//!
//! Subscription confirmations are push frames (arrays in RESP2), one per channel, each
//! carrying the connection's subscription count after that step.
//!
//! There is no cluster mode, so no shard channels (SSUBSCRIBE): SHARDCHANNELS and
//! SHARDNUMSUB answer what Redis answers when none has a subscriber.

use bytes::Bytes;

use super::command::{help, subcommand};
use super::executor::Ctx;
use super::{Args, CmdError};
use crate::db::glob_match;
use crate::resp::Frame;

/// `PUBSUB <subcommand> …`: what the pub/sub registry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubSubCmd {
    /// `PUBSUB CHANNELS [pattern]`: channels with a subscriber, matching the glob pattern.
    Channels(Option<Bytes>),
    /// `PUBSUB NUMSUB [channel …]`: each channel and its subscribers (patterns not counted).
    NumSub(Vec<Bytes>),
    /// `PUBSUB NUMPAT`: patterns with a subscriber.
    NumPat,
    /// `PUBSUB SHARDCHANNELS [pattern]`: always empty here.
    ShardChannels,
    /// `PUBSUB SHARDNUMSUB [shardchannel …]`: each with 0 subscribers.
    ShardNumSub(Vec<Bytes>),
    /// `PUBSUB HELP`.
    Help,
}

impl PubSubCmd {
    pub(crate) fn parse(args: &mut Args) -> Result<PubSubCmd, CmdError> {
        let sub = args.peek().cloned().unwrap_or_default();
        let m = subcommand(args, "PUBSUB")?;
        // CHANNELS and SHARDCHANNELS take one pattern at most; Redis finds out past the
        // arity check, with this error.
        let at_most_one = |args: &mut Args| match args.rest().as_slice() {
            [] => Ok(None),
            [p] => Ok(Some(p.clone())),
            _ => Err(CmdError::err(format_args!(
                "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&sub)
            ))),
        };
        Ok(match m.name {
            "pubsub|channels" => PubSubCmd::Channels(at_most_one(args)?),
            "pubsub|shardchannels" => {
                at_most_one(args)?;
                PubSubCmd::ShardChannels
            }
            "pubsub|numsub" => PubSubCmd::NumSub(args.rest()),
            "pubsub|shardnumsub" => PubSubCmd::ShardNumSub(args.rest()),
            "pubsub|numpat" => PubSubCmd::NumPat,
            _ => PubSubCmd::Help,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let registry = &ctx.store.pubsub;
        Ok(match self {
            PubSubCmd::Channels(pattern) => Frame::Array(
                registry
                    .channels()
                    .filter(|ch| pattern.as_ref().map_or(true, |p| glob_match(p, ch, false)))
                    .map(|ch| Frame::Bulk(ch.clone()))
                    .collect(),
            ),
            PubSubCmd::NumSub(channels) => counts(channels, |ch| registry.numsub(ch)),
            PubSubCmd::NumPat => Frame::Integer(registry.pattern_count() as i64),
            PubSubCmd::ShardChannels => Frame::Array(Vec::new()),
            PubSubCmd::ShardNumSub(channels) => counts(channels, |_| 0),
            PubSubCmd::Help => help("PUBSUB", HELP),
        })
    }
}

/// `channel count channel count …`: a flat array in RESP3 too, as Redis replies.
fn counts(channels: Vec<Bytes>, count: impl Fn(&[u8]) -> usize) -> Frame {
    Frame::Array(
        channels
            .into_iter()
            .flat_map(|ch| {
                let n = count(&ch) as i64;
                [Frame::Bulk(ch), Frame::Integer(n)]
            })
            .collect(),
    )
}

const HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];

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
