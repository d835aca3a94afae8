//! A small async client on async-std: any command, GET/SET/PUBLISH, and a subscriber.
//!
//! Requests are written with the core's [`encode_command`] and replies read with its
//! [`Decoder`]: there is one RESP codec in redish. The Tokio adapter's client is the full
//! one (options, pipelines, RESP3 switching, streams).
//!
//! ```no_run
//! use async_std_adapter::client::Client;
//!
//! # async fn run() -> async_std_adapter::client::Result<()> {
//! let mut client = Client::connect("127.0.0.1:6379").await?;
//! client.set("k", "v").await?;
//! assert_eq!(client.get("k").await?.as_deref(), Some(&b"v"[..]));
//!
//! let mut subscriber = Client::connect("127.0.0.1:6379").await?.subscribe(&["news"]).await?;
//! client.publish("news", "hello").await?;
//! let message = subscriber.next_message().await?.expect("open");
//! assert_eq!(message.payload, "hello");
//! # Ok(())
//! # }
//! ```

use std::io;

use async_std::net::{TcpStream, ToSocketAddrs};
use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use redish_core::resp::{encode_command, Decoder, Frame, ProtocolError};

/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The server sent bytes that are not RESP; the connection is unusable.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    ConnectionClosed,
    /// The server answered with an error reply; this is its text, code included.
    #[error("{0}")]
    Server(String),
    /// A reply of a type the command does not return.
    #[error("unexpected reply: {0:?}")]
    UnexpectedReply(Frame),
}

/// Result of a client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One connection to a server.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    reader: FrameReader,
    write_buf: BytesMut,
}

impl Client {
    /// Connects to `addr`, e.g. `"127.0.0.1:6379"`.
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            reader: FrameReader::default(),
            write_buf: BytesMut::new(),
        })
    }

    /// Sends any command and returns its reply; an error reply comes back as
    /// [`Error::Server`]. `client.command(&["CONFIG", "GET", "port"])`.
    pub async fn command<T: AsRef<[u8]>>(&mut self, args: &[T]) -> Result<Frame> {
        self.send(args).await?;
        ok_frame(self.read_frame().await?)
    }

    /// Writes one command without waiting for its reply (read it with
    /// [`Client::read_frame`]).
    pub async fn send<T: AsRef<[u8]>>(&mut self, args: &[T]) -> Result<()> {
        self.write_buf.clear();
        encode_command(args, &mut self.write_buf);
        self.stream.write_all(&self.write_buf).await?;
        Ok(())
    }

    /// The next frame from the server, as it is: error replies are [`Frame::Error`] here.
    pub async fn read_frame(&mut self) -> Result<Frame> {
        self.reader.read(&mut self.stream).await
    }

    /// `GET key`: the value, or `None` if the key does not exist.
    pub async fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        match self.command(&[&b"GET"[..], key.as_ref()]).await? {
            Frame::Bulk(b) => Ok(Some(b)),
            Frame::Null => Ok(None),
            other => Err(Error::UnexpectedReply(other)),
        }
    }

    /// `SET key value`.
    pub async fn set(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let args = [&b"SET"[..], key.as_ref(), value.as_ref()];
        match self.command(&args).await? {
            Frame::Simple(s) if s == "OK" => Ok(()),
            other => Err(Error::UnexpectedReply(other)),
        }
    }

    /// `PUBLISH channel message`: how many subscribers received it.
    pub async fn publish(
        &mut self,
        channel: impl AsRef<[u8]>,
        message: impl AsRef<[u8]>,
    ) -> Result<i64> {
        let args = [&b"PUBLISH"[..], channel.as_ref(), message.as_ref()];
        match self.command(&args).await? {
            Frame::Integer(n) => Ok(n),
            other => Err(Error::UnexpectedReply(other)),
        }
    }

    /// `SUBSCRIBE channel [channel ...]`: turns the connection into a [`Subscriber`] once
    /// the server confirmed every channel.
    pub async fn subscribe<C: AsRef<[u8]>>(self, channels: &[C]) -> Result<Subscriber> {
        self.into_subscriber(b"SUBSCRIBE", channels).await
    }

    /// `PSUBSCRIBE pattern [pattern ...]`: as [`Client::subscribe`], with glob patterns.
    pub async fn psubscribe<P: AsRef<[u8]>>(self, patterns: &[P]) -> Result<Subscriber> {
        self.into_subscriber(b"PSUBSCRIBE", patterns).await
    }

    async fn into_subscriber<T: AsRef<[u8]>>(
        mut self,
        command: &[u8],
        names: &[T],
    ) -> Result<Subscriber> {
        let args: Vec<&[u8]> = std::iter::once(command)
            .chain(names.iter().map(AsRef::as_ref))
            .collect();
        self.send(&args).await?;
        let mut subscriber = Subscriber {
            client: self,
            pending: Vec::new(),
        };
        let mut confirmed = 0;
        while confirmed < names.len() {
            match subscriber.read_push().await? {
                Some(message) => subscriber.pending.push(message),
                None => confirmed += 1,
            }
        }
        subscriber.pending.reverse();
        Ok(subscriber)
    }
}

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
#[derive(Debug)]
pub struct Subscriber {
    client: Client,
    /// Messages that arrived before the subscription was confirmed, newest first.
    pending: Vec<Message>,
}

impl Subscriber {
    /// The next message, or `None` once the server has closed the connection.
    pub async fn next_message(&mut self) -> Result<Option<Message>> {
        if let Some(message) = self.pending.pop() {
            return Ok(Some(message));
        }
        loop {
            match self.read_push().await {
                Ok(Some(message)) => return Ok(Some(message)),
                Ok(None) => {}
                Err(Error::ConnectionClosed) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// One frame of subscribed mode: a message, or `None` for a confirmation or a pong.
    async fn read_push(&mut self) -> Result<Option<Message>> {
        let items = match self.client.read_frame().await? {
            Frame::Array(items) | Frame::Push(items) => items,
            other => return Err(ok_frame(other).map_or_else(|e| e, Error::UnexpectedReply)),
        };
        let bulk = |i: usize| match items.get(i) {
            Some(Frame::Bulk(b)) => Some(b.clone()),
            _ => None,
        };
        let message = match (bulk(0).as_deref(), items.len()) {
            (Some(b"message"), 3) => bulk(1).zip(bulk(2)).map(|(channel, payload)| Message {
                channel,
                pattern: None,
                payload,
            }),
            (Some(b"pmessage"), 4) => Some(Message {
                pattern: bulk(1),
                channel: bulk(2).unwrap_or_default(),
                payload: bulk(3).unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(message)
    }
}

/// Reads whole frames from a stream with the core's [`Decoder`].
#[derive(Debug, Default)]
struct FrameReader {
    decoder: Decoder,
    buf: BytesMut,
    scratch: Vec<u8>,
}

impl FrameReader {
    async fn read<R: AsyncRead + Unpin>(&mut self, stream: &mut R) -> Result<Frame> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf)? {
                return Ok(frame);
            }
            self.scratch.resize(READ_CHUNK_BYTES, 0);
            let n = stream.read(&mut self.scratch).await?;
            if n == 0 {
                return Err(Error::ConnectionClosed);
            }
            self.buf.extend_from_slice(&self.scratch[..n]);
        }
    }
}

/// An error reply as [`Error::Server`], anything else as it is.
fn ok_frame(frame: Frame) -> Result<Frame> {
    match frame {
        Frame::Error(text) | Frame::BulkError(text) => {
            Err(Error::Server(String::from_utf8_lossy(&text).into_owned()))
        }
        frame => Ok(frame),
    }
}
