//! An async redish (and Redis) client on Tokio.
//!
//! Requests are written with the core's [`encode_command`] and replies read with its
//! [`Decoder`]: there is one RESP codec in redish, and the client uses it.
//!
//! ```no_run
//! use tokio_adapter::client::{Client, SetOptions};
//!
//! # async fn run() -> Result<(), tokio_adapter::client::Error> {
//! let mut client = Client::connect("127.0.0.1:6379").await?;
//! client.set("k", "v").await?;
//! let set = client.set_with("k", "w", &SetOptions::new().nx()).await?;
//! assert!(!set, "NX: the key exists");
//! assert_eq!(client.get("k").await?.as_deref(), Some(&b"v"[..]));
//!
//! let mut pipeline = client.pipeline();
//! pipeline.incr("n").incr("n").get("n");
//! let replies = pipeline.execute().await?;
//! assert_eq!(replies.len(), 3);
//! # Ok(())
//! # }
//! ```

mod pipeline;
mod subscriber;

use std::io;

use bytes::{Bytes, BytesMut};
use redish_core::resp::{encode_command, Decoder, Frame, Protocol, ProtocolError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_rustls::client::TlsStream;

pub use pipeline::Pipeline;
pub use subscriber::{Message, Subscriber};

/// Room made in the read buffer when it runs low.
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
    /// The server answered with an error reply; this is its text, code included
    /// (`ERR syntax error`, `WRONGTYPE …`).
    #[error("{0}")]
    Server(String),
    /// A reply of a type the command does not return.
    #[error("unexpected reply: {0:?}")]
    UnexpectedReply(Frame),
}

/// Result of a client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A client's socket: plain TCP, or TLS over TCP.
#[derive(Debug)]
pub(crate) enum ClientStream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            ClientStream::Tls(s) => std::pin::Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            ClientStream::Tls(s) => std::pin::Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => std::pin::Pin::new(s).poll_flush(cx),
            ClientStream::Tls(s) => std::pin::Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            ClientStream::Tls(s) => std::pin::Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// One connection to a server.
#[derive(Debug)]
pub struct Client {
    stream: ClientStream,
    read_buf: BytesMut,
    write_buf: BytesMut,
    decoder: Decoder,
    protocol: Protocol,
}

impl Client {
    /// Connects to `addr`, e.g. `"127.0.0.1:6379"`. The connection speaks RESP2 until
    /// [`Client::hello`] switches it.
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client::over(ClientStream::Tcp(stream)))
    }

    /// Connects to `addr` over TLS, checking the server's certificate for `server_name`
    /// (a host name or an IP address) with `config` (see
    /// [`redish_host::tls::client_config`], which also sets the client certificate for a
    /// server with `tls-auth-clients yes`).
    pub async fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        config: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
    ) -> Result<Client> {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(server_name.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        Ok(Client::over(ClientStream::Tls(Box::new(tls))))
    }

    fn over(stream: ClientStream) -> Client {
        Client {
            stream,
            read_buf: BytesMut::with_capacity(READ_CHUNK_BYTES),
            write_buf: BytesMut::new(),
            decoder: Decoder::default(),
            protocol: Protocol::Resp2,
        }
    }

    /// The protocol the connection speaks.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// `HELLO protover`: switches the connection to RESP2 or RESP3 and returns the server's
    /// description of itself (a map in RESP3).
    pub async fn hello(&mut self, protover: u8) -> Result<Frame> {
        let reply = self
            .command(&[&b"HELLO"[..], protover.to_string().as_bytes()])
            .await?;
        self.protocol = if protover == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        Ok(reply)
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
        self.stream.flush().await?;
        Ok(())
    }

    /// The next frame from the server, as it is: error replies are [`Frame::Error`] here.
    pub async fn read_frame(&mut self) -> Result<Frame> {
        read_frame(&mut self.stream, &mut self.decoder, &mut self.read_buf).await
    }

    /// `PING`: returns `PONG`.
    pub async fn ping(&mut self) -> Result<Bytes> {
        match self.command(&["PING"]).await? {
            Frame::Simple(s) | Frame::Bulk(s) => Ok(s),
            other => Err(Error::UnexpectedReply(other)),
        }
    }

    /// `GET key`: the value, or `None` if the key does not exist.
    pub async fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        let reply = self.command(&[&b"GET"[..], key.as_ref()]).await?;
        optional_bulk(reply)
    }

    /// `SET key value`.
    pub async fn set(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let reply = self
            .command(&[&b"SET"[..], key.as_ref(), value.as_ref()])
            .await?;
        expect_ok(reply)
    }

    /// `SET key value` with options. Returns false when NX or XX kept the key from being
    /// set.
    pub async fn set_with(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        options: &SetOptions,
    ) -> Result<bool> {
        let mut args: Vec<&[u8]> = vec![b"SET", key.as_ref(), value.as_ref()];
        let expiry_value;
        if let Some((name, n)) = options.expiry {
            expiry_value = n.to_string();
            args.extend([name.as_bytes(), expiry_value.as_bytes()]);
        }
        if let Some(condition) = options.condition {
            args.push(condition.as_bytes());
        }
        if options.keep_ttl {
            args.push(b"KEEPTTL");
        }
        match self.command(&args).await? {
            Frame::Null | Frame::NullArray => Ok(false),
            reply => expect_ok(reply).map(|()| true),
        }
    }

    /// `DEL key [key ...]`: how many of the keys existed.
    pub async fn del<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<i64> {
        let reply = self.command(&with_name(b"DEL", keys)).await?;
        integer(reply)
    }

    /// `EXISTS key [key ...]`: how many of the keys exist (a key named twice counts twice).
    pub async fn exists<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<i64> {
        let reply = self.command(&with_name(b"EXISTS", keys)).await?;
        integer(reply)
    }

    /// `EXPIRE key seconds`: false if the key does not exist.
    pub async fn expire(&mut self, key: impl AsRef<[u8]>, seconds: i64) -> Result<bool> {
        let seconds = seconds.to_string();
        let reply = self
            .command(&[&b"EXPIRE"[..], key.as_ref(), seconds.as_bytes()])
            .await?;
        integer(reply).map(|n| n == 1)
    }

    /// `TTL key`: seconds to live, -1 for a key without expiry, -2 for no key.
    pub async fn ttl(&mut self, key: impl AsRef<[u8]>) -> Result<i64> {
        let reply = self.command(&[&b"TTL"[..], key.as_ref()]).await?;
        integer(reply)
    }

    /// `INCR key`: the value after the increment.
    pub async fn incr(&mut self, key: impl AsRef<[u8]>) -> Result<i64> {
        let reply = self.command(&[&b"INCR"[..], key.as_ref()]).await?;
        integer(reply)
    }

    /// `PUBLISH channel message`: how many subscribers received it.
    pub async fn publish(
        &mut self,
        channel: impl AsRef<[u8]>,
        message: impl AsRef<[u8]>,
    ) -> Result<i64> {
        let reply = self
            .command(&[&b"PUBLISH"[..], channel.as_ref(), message.as_ref()])
            .await?;
        integer(reply)
    }

    /// Starts a pipeline: commands queued on it go out in one write, and
    /// [`Pipeline::execute`] returns their replies in order.
    pub fn pipeline(&mut self) -> Pipeline<'_> {
        Pipeline::new(self)
    }

    /// `SUBSCRIBE channel [channel ...]`: turns the connection into a [`Subscriber`].
    pub async fn subscribe<C: AsRef<[u8]>>(self, channels: &[C]) -> Result<Subscriber> {
        let mut subscriber = Subscriber::new(self);
        subscriber.subscribe(channels).await?;
        Ok(subscriber)
    }

    /// `PSUBSCRIBE pattern [pattern ...]`: turns the connection into a [`Subscriber`].
    pub async fn psubscribe<P: AsRef<[u8]>>(self, patterns: &[P]) -> Result<Subscriber> {
        let mut subscriber = Subscriber::new(self);
        subscriber.psubscribe(patterns).await?;
        Ok(subscriber)
    }
}

/// Options of [`Client::set_with`]: expiry (`EX`, `PX`, `EXAT`, `PXAT`), condition (`NX`,
/// `XX`) and `KEEPTTL`. Setting one expiry or condition replaces the previous one.
///
/// ```
/// use tokio_adapter::client::SetOptions;
/// let options = SetOptions::new().px(1500).nx();
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    expiry: Option<(&'static str, u64)>,
    condition: Option<&'static str>,
    keep_ttl: bool,
}

impl SetOptions {
    /// No options: a plain SET.
    pub fn new() -> SetOptions {
        SetOptions::default()
    }

    /// `EX seconds`: expire after that many seconds.
    pub fn ex(mut self, seconds: u64) -> SetOptions {
        self.expiry = Some(("EX", seconds));
        self
    }

    /// `PX milliseconds`: expire after that many milliseconds.
    pub fn px(mut self, milliseconds: u64) -> SetOptions {
        self.expiry = Some(("PX", milliseconds));
        self
    }

    /// `EXAT unix-seconds`: expire at that time.
    pub fn exat(mut self, unix_seconds: u64) -> SetOptions {
        self.expiry = Some(("EXAT", unix_seconds));
        self
    }

    /// `PXAT unix-milliseconds`: expire at that time.
    pub fn pxat(mut self, unix_milliseconds: u64) -> SetOptions {
        self.expiry = Some(("PXAT", unix_milliseconds));
        self
    }

    /// `NX`: set only if the key does not exist.
    pub fn nx(mut self) -> SetOptions {
        self.condition = Some("NX");
        self
    }

    /// `XX`: set only if the key exists.
    pub fn xx(mut self) -> SetOptions {
        self.condition = Some("XX");
        self
    }

    /// `KEEPTTL`: keep the key's current expiry.
    pub fn keep_ttl(mut self) -> SetOptions {
        self.keep_ttl = true;
        self
    }
}

/// Reads one frame, reading from `stream` into `buf` until `decoder` has a whole one.
async fn read_frame<R: AsyncReadExt + Unpin>(
    stream: &mut R,
    decoder: &mut Decoder,
    buf: &mut BytesMut,
) -> Result<Frame> {
    loop {
        if let Some(frame) = decoder.decode(buf)? {
            return Ok(frame);
        }
        if buf.capacity() - buf.len() < READ_CHUNK_BYTES / 4 {
            buf.reserve(READ_CHUNK_BYTES);
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(Error::ConnectionClosed);
        }
    }
}

/// `name` followed by `args`, as one argument list.
fn with_name<'a, K: AsRef<[u8]>>(name: &'a [u8], args: &'a [K]) -> Vec<&'a [u8]> {
    std::iter::once(name)
        .chain(args.iter().map(AsRef::as_ref))
        .collect()
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

fn expect_ok(reply: Frame) -> Result<()> {
    match reply {
        Frame::Simple(s) if s == "OK" => Ok(()),
        other => Err(Error::UnexpectedReply(other)),
    }
}

fn integer(reply: Frame) -> Result<i64> {
    match reply {
        Frame::Integer(n) => Ok(n),
        other => Err(Error::UnexpectedReply(other)),
    }
}

fn optional_bulk(reply: Frame) -> Result<Option<Bytes>> {
    match reply {
        Frame::Bulk(b) => Ok(Some(b)),
        Frame::Null => Ok(None),
        other => Err(Error::UnexpectedReply(other)),
    }
}
