//! The sockets a connection runs over — plain TCP, TLS over TCP (tokio-rustls), a Unix
//! socket — behind the few calls [`crate::connection`] makes, so its loop is written once.
//!
//! TLS needs one thing more than a socket: rustls may hold encrypted output after a write
//! was accepted (the socket had no room for all of it), which nothing but another write or
//! a flush pushes out. [`Transport::poll_flush_held`] is that flush; the connection polls
//! it whenever it waits.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use redish_core::server::conn;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::server::TlsStream;

/// What the connection loop asks of its socket.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Writes what the socket takes now; `WouldBlock` when it takes nothing.
    fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Ready once [`Transport::try_write_now`] may take something again.
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads what has arrived, without waiting; `WouldBlock` when nothing has.
    fn read_now(&mut self, buf: &mut BytesMut) -> io::Result<usize>;
    /// Pushes out output accepted earlier but still held (TLS records): ready when it
    /// moved some, pending otherwise (and always, for sockets that hold nothing).
    fn poll_flush_held(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Pending
    }
    /// Socket options for a client connection (TCP_NODELAY, keepalive).
    fn configure(&self, keepalive_s: u64) -> io::Result<()>;
}

/// A real non-blocking `recv`. Tokio's `try_read` answers `WouldBlock` without asking the
/// kernel until its reactor has seen the socket become readable, so at shutdown it could
/// drop requests that had already arrived.
fn recv_now(fd: &impl std::os::fd::AsFd, buf: &mut BytesMut) -> io::Result<usize> {
    use std::io::Read;
    let mut chunk = [0u8; conn::READ_CHUNK_BYTES];
    let n = (&*socket2::SockRef::from(fd)).read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

impl Transport for TcpStream {
    fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.try_write(buf)
    }
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_ready(cx)
    }
    fn read_now(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        recv_now(self, buf)
    }
    fn configure(&self, keepalive_s: u64) -> io::Result<()> {
        redish_host::configure_stream(self, keepalive_s)
    }
}

impl Transport for UnixStream {
    fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.try_write(buf)
    }
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_ready(cx)
    }
    fn read_now(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        recv_now(self, buf)
    }
    fn configure(&self, _keepalive_s: u64) -> io::Result<()> {
        Ok(())
    }
}

/// tokio-rustls polls with a context; "now" is a poll with a waker that wakes nothing
/// (the loop's next wait polls again with its own).
fn poll_now<T>(f: impl FnOnce(&mut Context<'_>) -> Poll<io::Result<T>>) -> io::Result<T> {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    match f(&mut cx) {
        Poll::Ready(r) => r,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl Transport for TlsStream<TcpStream> {
    fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_now(|cx| Pin::new(&mut *self).poll_write(cx, buf))
    }
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Room comes back once rustls's held records are out.
        Pin::new(self).poll_flush(cx)
    }
    fn read_now(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let mut chunk = [0u8; conn::READ_CHUNK_BYTES];
        let mut read = ReadBuf::new(&mut chunk);
        poll_now(|cx| Pin::new(&mut *self).poll_read(cx, &mut read))?;
        buf.extend_from_slice(read.filled());
        Ok(read.filled().len())
    }
    fn poll_flush_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.get_ref().1.wants_write() {
            return Poll::Pending;
        }
        Pin::new(self).poll_flush(cx)
    }
    fn configure(&self, keepalive_s: u64) -> io::Result<()> {
        redish_host::configure_stream(self.get_ref().0, keepalive_s)
    }
}
