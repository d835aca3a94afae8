//! The pub/sub registry: which connection listens to which channel or pattern.
//!
//! The registry maps channels and patterns to connections; each [`crate::Session`] keeps the
//! reverse (its own subscriptions) so it can answer with counts and unsubscribe everything
//! when it closes. PUBLISH does not write to other connections itself: it leaves one
//! [`crate::db::Delivery`] per receiver in the [`crate::db::Store`], and the adapter hands each
//! to the receiving session.

use std::collections::HashMap;

use bytes::Bytes;

use super::tracking::Invalidated;
use super::{glob_match, ClientId};
use crate::resp::Frame;

/// Something for one connection from elsewhere in the server, handed to its session with
/// [`crate::Session::handle_message`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A published message on its way to one subscriber.
    Publish {
        /// The pattern that matched, for a `pmessage`; `None` for a plain `message`.
        pattern: Option<Bytes>,
        /// The channel it was published to.
        channel: Bytes,
        /// The payload.
        payload: Bytes,
    },
    /// Close the connection (CLIENT KILL, or idle past `timeout`): the session stops
    /// executing and raises [`crate::Event::Close`] with [`crate::CloseReason::Killed`].
    Kill,
    /// The reply of a blocking command (BLPOP, BLMOVE, BZPOPMIN…) that was blocked: served,
    /// timed out or unblocked. The bytes are already encoded in the connection's protocol;
    /// the session appends them and resumes executing its input (call
    /// [`crate::Session::process`] after handing it over).
    Unblocked(Bytes),
    /// CLIENT UNPAUSE ended the pause that held a command of this connection back: call
    /// [`crate::Session::process`] so it runs now. (A pause that runs out wakes the session
    /// through its own [`crate::Session::poll_timeout`] instead.)
    Resume,
    /// Client-side caching: keys a tracking client may hold changed (see `db/tracking.rs`).
    /// `redirected`: the receiver gets them on behalf of another client (REDIRECT), so a
    /// RESP2 receiver in subscribed mode sees them on `__redis__:invalidate`.
    Invalidate {
        /// The keys, or all of them.
        what: Invalidated,
        /// Sent to the REDIRECT target of the tracking client.
        redirected: bool,
    },
    /// The client this tracking connection redirected its invalidations to is gone: a RESP3
    /// connection gets a `tracking-redir-broken` push with that id.
    TrackingRedirBroken(ClientId),
    /// A line for a client in MONITOR mode (`+1700000000.123456 [0 127.0.0.1:50000] "GET"
    /// "k"\r\n`), written as it is.
    Monitor(Bytes),
    /// Bytes of the replication stream (or of a full sync) for a replica's connection,
    /// written as they are.
    Replication(Bytes),
    /// A replica's full sync: `$<len>\r\n`, the RDB and the stream buffered since its
    /// snapshot began. Written as it is; the RDB does not count against the replica's
    /// output limit.
    ReplicaSync(Bytes),
}

impl Message {
    /// The frame a subscriber receives: `message channel payload` or
    /// `pmessage pattern channel payload`, as a push frame (an array in RESP2). `None` for
    /// messages that are not written to the client.
    pub fn to_frame(&self) -> Option<Frame> {
        let Message::Publish {
            pattern,
            channel,
            payload,
        } = self
        else {
            return None;
        };
        let mut items = Vec::with_capacity(4);
        match pattern {
            Some(p) => {
                items.push(Frame::Bulk(Bytes::from_static(b"pmessage")));
                items.push(Frame::Bulk(p.clone()));
            }
            None => items.push(Frame::Bulk(Bytes::from_static(b"message"))),
        }
        items.push(Frame::Bulk(channel.clone()));
        items.push(Frame::Bulk(payload.clone()));
        Some(Frame::Push(items))
    }

    /// Bytes this message holds, for output-buffer accounting.
    pub fn size_bytes(&self) -> usize {
        match self {
            Message::Publish {
                pattern,
                channel,
                payload,
            } => pattern.as_ref().map_or(0, |p| p.len()) + channel.len() + payload.len(),
            Message::Kill | Message::Resume | Message::TrackingRedirBroken(_) => 0,
            Message::Invalidate { what, .. } => match what {
                Invalidated::Keys(keys) => keys.iter().map(Bytes::len).sum(),
                Invalidated::All { .. } => 0,
            },
            Message::Unblocked(reply)
            | Message::Monitor(reply)
            | Message::Replication(reply)
            | Message::ReplicaSync(reply) => reply.len(),
        }
    }
}

/// Channel and pattern subscriptions of every connection.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: HashMap<Bytes, Vec<ClientId>>,
    /// Patterns in the order they were first subscribed, so delivery order is stable.
    patterns: Vec<(Bytes, Vec<ClientId>)>,
}

impl PubSub {
    /// Adds `id` to `channel`. Returns false if it was already subscribed.
    pub fn subscribe(&mut self, id: ClientId, channel: &Bytes) -> bool {
        let subs = self.channels.entry(channel.clone()).or_default();
        if subs.contains(&id) {
            return false;
        }
        subs.push(id);
        true
    }

    /// Removes `id` from `channel`. Returns false if it was not subscribed.
    pub fn unsubscribe(&mut self, id: ClientId, channel: &[u8]) -> bool {
        let Some(subs) = self.channels.get_mut(channel) else {
            return false;
        };
        let Some(i) = subs.iter().position(|&s| s == id) else {
            return false;
        };
        subs.remove(i);
        if subs.is_empty() {
            self.channels.remove(channel);
        }
        true
    }

    /// Adds `id` to `pattern`. Returns false if it was already subscribed.
    pub fn psubscribe(&mut self, id: ClientId, pattern: &Bytes) -> bool {
        match self.patterns.iter_mut().find(|(p, _)| p == pattern) {
            Some((_, subs)) if subs.contains(&id) => false,
            Some((_, subs)) => {
                subs.push(id);
                true
            }
            None => {
                self.patterns.push((pattern.clone(), vec![id]));
                true
            }
        }
    }

    /// Removes `id` from `pattern`. Returns false if it was not subscribed.
    pub fn punsubscribe(&mut self, id: ClientId, pattern: &[u8]) -> bool {
        let Some(pi) = self.patterns.iter().position(|(p, _)| p == pattern) else {
            return false;
        };
        let subs = &mut self.patterns[pi].1;
        let Some(i) = subs.iter().position(|&s| s == id) else {
            return false;
        };
        subs.remove(i);
        if subs.is_empty() {
            self.patterns.remove(pi);
        }
        true
    }

    /// Fans a message out: one [`Message::Publish`] per receiver, channel subscribers first, then
    /// pattern subscribers (a connection subscribed both ways receives it twice, as in
    /// Redis). Returns the number of receivers, PUBLISH's reply.
    pub fn publish(
        &self,
        channel: &Bytes,
        payload: &Bytes,
        mut deliver: impl FnMut(ClientId, Message),
    ) -> usize {
        let mut n = 0;
        if let Some(subs) = self.channels.get(channel) {
            for &id in subs {
                deliver(
                    id,
                    Message::Publish {
                        pattern: None,
                        channel: channel.clone(),
                        payload: payload.clone(),
                    },
                );
                n += 1;
            }
        }
        for (pattern, subs) in &self.patterns {
            if glob_match(pattern, channel, false) {
                for &id in subs {
                    deliver(
                        id,
                        Message::Publish {
                            pattern: Some(pattern.clone()),
                            channel: channel.clone(),
                            payload: payload.clone(),
                        },
                    );
                    n += 1;
                }
            }
        }
        n
    }

    /// The channels with at least one subscriber, in no particular order (PUBSUB CHANNELS).
    pub fn channels(&self) -> impl Iterator<Item = &Bytes> + '_ {
        self.channels.keys()
    }

    /// Channels with at least one subscriber.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Patterns with at least one subscriber.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// The channels and patterns `id` subscribes to (for the ACL's check of a user whose
    /// channel permissions narrowed). Linear in the subscriptions of the whole server.
    pub fn subscriptions_of(&self, id: ClientId) -> (Vec<Bytes>, Vec<Bytes>) {
        let channels = self
            .channels
            .iter()
            .filter(|(_, ids)| ids.contains(&id))
            .map(|(c, _)| c.clone())
            .collect();
        let patterns = self
            .patterns
            .iter()
            .filter(|(_, ids)| ids.contains(&id))
            .map(|(p, _)| p.clone())
            .collect();
        (channels, patterns)
    }

    /// Subscribers of `channel` (not counting patterns), PUBSUB NUMSUB's figure.
    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn publish_reaches_channels_then_patterns() {
        let mut ps = PubSub::default();
        assert!(ps.subscribe(1, &b("news")));
        assert!(!ps.subscribe(1, &b("news")));
        assert!(ps.subscribe(2, &b("news")));
        assert!(ps.psubscribe(3, &b("n*")));
        assert!(ps.psubscribe(1, &b("x*")));
        let mut got = Vec::new();
        let n = ps.publish(&b("news"), &b("hi"), |id, m| match m {
            Message::Publish { pattern, .. } => got.push((id, pattern)),
            _ => unreachable!(),
        });
        assert_eq!(n, 3);
        assert_eq!(got, vec![(1, None), (2, None), (3, Some(b("n*")))]);
        assert!(ps.unsubscribe(1, b"news"));
        assert!(!ps.unsubscribe(1, b"news"));
        assert!(ps.punsubscribe(3, b"n*"));
        assert_eq!(ps.publish(&b("news"), &b("hi"), |_, _| {}), 1);
        assert_eq!(ps.pattern_count(), 1);
        assert!(ps.unsubscribe(2, b"news"));
        assert_eq!(ps.channel_count(), 0);
    }
}
