//! The sockets a connection runs over — plain TCP, TLS over TCP (futures-rustls), a Unix
//! socket — with the little [`crate::connection`] needs beyond the futures-io traits.
//!
//! TLS needs one thing more than a socket: rustls may hold encrypted output after a write
//! was accepted (the socket had no room for all of it), which nothing but another write or
//! a flush pushes out; the connection flushes while [`Transport::holds_output`] says so.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, BorrowedFd};

use async_std::net::TcpStream;
use async_std::os::unix::net::UnixStream;
use futures_lite::{AsyncRead, AsyncWrite};
use futures_rustls::server::TlsStream;

/// What the connection loop asks of its socket besides reading and writing.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// True while output accepted by a write is still held, waiting for a flush.
    fn holds_output(&self) -> bool {
        false
    }
    /// Socket options for a client connection (TCP_NODELAY, keepalive).
    fn configure(&self, keepalive_s: u64) -> io::Result<()>;
    /// Sends our FIN, after `close` (which in async-std only flushes): the peer then sees
    /// the end of the stream at once, not when the socket is dropped after lingering.
    fn shutdown_write(&self) -> io::Result<()>;
}

fn configure_tcp(stream: &TcpStream, keepalive_s: u64) -> io::Result<()> {
    // SAFETY: the descriptor belongs to `stream`, which outlives this borrow. (async-std's
    // TcpStream has `AsRawFd` but not `AsFd`.)
    let fd = unsafe { BorrowedFd::borrow_raw(stream.as_raw_fd()) };
    redish_host::configure_stream(&fd, keepalive_s)
}

impl Transport for TcpStream {
    fn configure(&self, keepalive_s: u64) -> io::Result<()> {
        configure_tcp(self, keepalive_s)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl Transport for UnixStream {
    fn configure(&self, _keepalive_s: u64) -> io::Result<()> {
        Ok(())
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl Transport for TlsStream<TcpStream> {
    fn holds_output(&self) -> bool {
        self.get_ref().1.wants_write()
    }
    fn configure(&self, keepalive_s: u64) -> io::Result<()> {
        configure_tcp(self.get_ref().0, keepalive_s)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        // `close` has sent the close_notify alert.
        self.get_ref().0.shutdown(Shutdown::Write)
    }
}
