//! Pub/sub: a connection that listens to channels and patterns.

use std::collections::VecDeque;

use bytes::Bytes;
use futures_core::Stream;
use redish_core::resp::Frame;

use super::{Client, Error, Result};

/// A published message, as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published to.
    pub channel: Bytes,
    /// The pattern that matched, for a message received through PSUBSCRIBE.
    pub pattern: Option<Bytes>,
    /// The payload.
    pub payload: Bytes,
}

/// A connection in subscribed mode, from [`Client::subscribe`] or [`Client::psubscribe`].
///
/// ```no_run
/// use futures_util::StreamExt;
/// use tokio_adapter::client::Client;
///
/// # async fn run() -> tokio_adapter::client::Result<()> {
/// let client = Client::connect("127.0.0.1:6379").await?;
/// let subscriber = client.subscribe(&["news"]).await?;
/// let mut messages = Box::pin(subscriber.into_stream());
/// while let Some(message) = messages.next().await {
///     println!("{:?}", message?.payload);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Subscriber {
    client: Client,
    channels: Vec<Bytes>,
    patterns: Vec<Bytes>,
    /// Messages that arrived while waiting for a subscription change to be confirmed.
    pending: VecDeque<Message>,
}

/// One frame a subscribed connection receives.
enum Push {
    Message(Message),
    /// `subscribe`, `unsubscribe`, `psubscribe` or `punsubscribe`, with the channel or
    /// pattern (none when unsubscribing from nothing).
    Confirm {
        kind: Kind,
        name: Option<Bytes>,
    },
    Pong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
}

impl Subscriber {
    pub(super) fn new(client: Client) -> Subscriber {
        Subscriber {
            client,
            channels: Vec::new(),
            patterns: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    /// Channels subscribed to.
    pub fn channels(&self) -> &[Bytes] {
        &self.channels
    }

    /// Patterns subscribed to.
    pub fn patterns(&self) -> &[Bytes] {
        &self.patterns
    }

    /// `SUBSCRIBE channel [channel ...]`, waiting for the server's confirmations.
    pub async fn subscribe<C: AsRef<[u8]>>(&mut self, channels: &[C]) -> Result<()> {
        self.change(b"SUBSCRIBE", channels, channels.len()).await
    }

    /// `PSUBSCRIBE pattern [pattern ...]`, waiting for the server's confirmations.
    pub async fn psubscribe<P: AsRef<[u8]>>(&mut self, patterns: &[P]) -> Result<()> {
        self.change(b"PSUBSCRIBE", patterns, patterns.len()).await
    }

    /// `UNSUBSCRIBE [channel ...]`; no channel means all of them.
    pub async fn unsubscribe<C: AsRef<[u8]>>(&mut self, channels: &[C]) -> Result<()> {
        // The server confirms each channel, or once with no channel if there was none.
        let expected = if channels.is_empty() {
            self.channels.len().max(1)
        } else {
            channels.len()
        };
        self.change(b"UNSUBSCRIBE", channels, expected).await
    }

    /// `PUNSUBSCRIBE [pattern ...]`; no pattern means all of them.
    pub async fn punsubscribe<P: AsRef<[u8]>>(&mut self, patterns: &[P]) -> Result<()> {
        let expected = if patterns.is_empty() {
            self.patterns.len().max(1)
        } else {
            patterns.len()
        };
        self.change(b"PUNSUBSCRIBE", patterns, expected).await
    }

    /// The next message, or `None` once the server has closed the connection.
    pub async fn next_message(&mut self) -> Result<Option<Message>> {
        if let Some(message) = self.pending.pop_front() {
            return Ok(Some(message));
        }
        loop {
            let frame = match self.client.read_frame().await {
                Ok(frame) => frame,
                Err(Error::ConnectionClosed) => return Ok(None),
                Err(e) => return Err(e),
            };
            match self.classify(frame)? {
                Push::Message(message) => return Ok(Some(message)),
                Push::Confirm { .. } | Push::Pong => {}
            }
        }
    }

    /// The messages as a stream, which ends when the connection closes or fails.
    pub fn into_stream(self) -> impl Stream<Item = Result<Message>> {
        futures_util::stream::unfold(Some(self), |subscriber| async move {
            let mut subscriber = subscriber?;
            match subscriber.next_message().await {
                Ok(Some(message)) => Some((Ok(message), Some(subscriber))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// Sends a subscription change and reads until `expected` confirmations came back,
    /// keeping the messages that arrive meanwhile.
    async fn change<T: AsRef<[u8]>>(
        &mut self,
        command: &[u8],
        names: &[T],
        expected: usize,
    ) -> Result<()> {
        let args: Vec<&[u8]> = std::iter::once(command)
            .chain(names.iter().map(AsRef::as_ref))
            .collect();
        self.client.send(&args).await?;
        let mut confirmed = 0;
        while confirmed < expected {
            let frame = self.client.read_frame().await?;
            match self.classify(frame)? {
                Push::Message(message) => self.pending.push_back(message),
                Push::Confirm { .. } => confirmed += 1,
                Push::Pong => {}
            }
        }
        Ok(())
    }

    /// Reads a frame of subscribed mode, keeping the lists of channels and patterns up to
    /// date with the confirmations.
    fn classify(&mut self, frame: Frame) -> Result<Push> {
        let items = match frame {
            Frame::Array(items) | Frame::Push(items) => items,
            Frame::Error(text) | Frame::BulkError(text) => {
                return Err(Error::Server(String::from_utf8_lossy(&text).into_owned()))
            }
            other => return Err(Error::UnexpectedReply(other)),
        };
        let push = match &items[..] {
            [Frame::Bulk(kind), Frame::Bulk(channel), Frame::Bulk(payload)]
                if kind == "message" =>
            {
                Push::Message(Message {
                    channel: channel.clone(),
                    pattern: None,
                    payload: payload.clone(),
                })
            }
            [Frame::Bulk(kind), Frame::Bulk(pattern), Frame::Bulk(channel), Frame::Bulk(payload)]
                if kind == "pmessage" =>
            {
                Push::Message(Message {
                    channel: channel.clone(),
                    pattern: Some(pattern.clone()),
                    payload: payload.clone(),
                })
            }
            [Frame::Bulk(kind), name, Frame::Integer(_)] => {
                let kind = match &kind[..] {
                    b"subscribe" => Kind::Subscribe,
                    b"unsubscribe" => Kind::Unsubscribe,
                    b"psubscribe" => Kind::PSubscribe,
                    b"punsubscribe" => Kind::PUnsubscribe,
                    _ => return Err(Error::UnexpectedReply(Frame::Array(items))),
                };
                let name = match name {
                    Frame::Bulk(name) => Some(name.clone()),
                    _ => None,
                };
                Push::Confirm { kind, name }
            }
            [Frame::Bulk(kind), ..] if kind.eq_ignore_ascii_case(b"pong") => Push::Pong,
            _ => return Err(Error::UnexpectedReply(Frame::Array(items))),
        };
        if let Push::Confirm {
            kind,
            name: Some(name),
        } = &push
        {
            let (list, add) = match kind {
                Kind::Subscribe => (&mut self.channels, true),
                Kind::Unsubscribe => (&mut self.channels, false),
                Kind::PSubscribe => (&mut self.patterns, true),
                Kind::PUnsubscribe => (&mut self.patterns, false),
            };
            let known = list.iter().position(|n| n == name);
            match (add, known) {
                (true, None) => list.push(name.clone()),
                (false, Some(i)) => {
                    list.remove(i);
                }
                _ => {}
            }
        }
        Ok(push)
    }
}
