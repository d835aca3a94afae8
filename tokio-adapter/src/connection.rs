//! One connection: the task that moves bytes between a socket and its [`Session`], and
//! deliveries between the session and the rest of the server.
//!
//! The loop follows the order [`Session`] documents: read a batch into the session's own
//! buffer; under the store lock, process it and route its deliveries
//! ([`policy::process_and_route`]); write all the replies of the batch in one write; act on
//! the session's events. While output is pending the task also waits for the socket to
//! become writable, and it keeps receiving deliveries whether or not the client reads, so a
//! subscriber that stops reading runs into the session's output limit and is disconnected
//! instead of growing without bound.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use redish_core::server::{self as policy, conn, Input};
use redish_core::{ClientId, Event, Session};
use redish_host::now_ms;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;
use tracing::debug;

use crate::server::{linger, ConnMsg, Shared, State};

/// What woke the connection task.
enum Wake {
    Read(io::Result<usize>),
    Writable(io::Result<()>),
    Msg(Option<ConnMsg>),
    /// The close deadline passed.
    Deadline,
    /// The session's own timer ([`Session::poll_timeout`]) is due.
    Timer,
}

/// Serves connection `id` until it closes. `rx` brings deliveries from the rest of the
/// server and its shutdown notice.
pub(crate) async fn serve(
    mut stream: TcpStream,
    id: ClientId,
    mut rx: UnboundedReceiver<ConnMsg>,
    shared: &Shared,
) {
    let mut session = Session::new(id, shared.session_config);
    let mut input = Input::Open;
    // The last process() stopped on too much pending output: run it again after writing.
    let mut paused = false;
    // The socket did not take all the output: wait until it is writable again.
    let mut write_blocked = false;
    let mut rx_open = true;
    let mut drained = 0;
    // Armed when the connection starts closing, to bound the wait for a client that never
    // reads its last replies.
    let deadline = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(deadline);
    let mut deadline_armed = false;
    // Armed for the end of a DEBUG SLEEP ([`Session::poll_timeout`]), in Unix ms.
    let wake_timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(wake_timer);
    let mut wake_at_ms: Option<u64> = None;
    let mut io_failed = false;

    loop {
        if !write_blocked && !session.poll_transmit().is_empty() {
            let out = session.poll_transmit();
            let len = out.len();
            match stream.try_write(out) {
                Ok(n) => {
                    session.consume_transmit(n);
                    write_blocked = n < len;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => write_blocked = true,
                Err(e) => {
                    debug!(client = id, "write failed: {e}");
                    io_failed = true;
                    break;
                }
            }
        }
        if paused && session.wants_read() {
            paused = process(&mut session, shared).await;
            continue;
        }
        while let Some(event) = session.poll_event() {
            on_event(id, event, shared);
        }
        if session.is_closing() && !deadline_armed {
            deadline
                .as_mut()
                .reset(Instant::now() + conn::CLOSE_TIMEOUT);
            deadline_armed = true;
        }

        if session.poll_timeout() != wake_at_ms {
            wake_at_ms = session.poll_timeout();
            if let Some(at) = wake_at_ms {
                let wait = Duration::from_millis(at.saturating_sub(now_ms()));
                wake_timer.as_mut().reset(Instant::now() + wait);
            }
        }

        if policy::is_finished(&session, input, paused) {
            break;
        }
        if input == Input::Draining && session.wants_read() {
            match read_now(&stream, session.read_buf()) {
                Ok(n) if n > 0 => {
                    drained += n;
                    if drained >= conn::MAX_DRAIN_BYTES {
                        input = Input::Done;
                    }
                    paused = process(&mut session, shared).await;
                }
                // End of stream, nothing more buffered, or an error the write side will see.
                _ => input = Input::Done,
            }
            continue;
        }

        let output_pending = !session.poll_transmit().is_empty();
        let want_read = policy::should_read(&session, input);
        if want_read {
            reserve(session.read_buf());
        }
        let wake = poll_fn(|cx| {
            if output_pending {
                if let Poll::Ready(r) = stream.poll_write_ready(cx) {
                    return Poll::Ready(Wake::Writable(r));
                }
            }
            if want_read {
                let read =
                    tokio_util::io::poll_read_buf(Pin::new(&mut stream), cx, session.read_buf());
                if let Poll::Ready(r) = read {
                    return Poll::Ready(Wake::Read(r));
                }
            }
            if rx_open {
                if let Poll::Ready(msg) = rx.poll_recv(cx) {
                    return Poll::Ready(Wake::Msg(msg));
                }
            }
            if deadline_armed && deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Wake::Deadline);
            }
            if wake_at_ms.is_some() && wake_timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Wake::Timer);
            }
            Poll::Pending
        })
        .await;

        match wake {
            Wake::Read(Ok(0)) => input = Input::Done,
            Wake::Read(Ok(_)) => paused = process(&mut session, shared).await,
            Wake::Writable(Ok(())) => write_blocked = false,
            Wake::Read(Err(e)) | Wake::Writable(Err(e)) => {
                debug!(client = id, "connection error: {e}");
                io_failed = true;
                break;
            }
            Wake::Msg(Some(msg)) => {
                // Take the messages already queued, so they go out in one write; a bounded
                // number, so a flood cannot hold the write back for long.
                let now = now_ms();
                let mut next = Some(msg);
                let mut taken = 0;
                let mut resume = false;
                while let Some(msg) = next {
                    taken += 1;
                    match msg {
                        ConnMsg::Deliver(m) => {
                            resume |= policy::handle_delivery(&mut session, &m, now);
                        }
                        ConnMsg::Shutdown => {
                            if input == Input::Open {
                                input = Input::Draining;
                            }
                            if !deadline_armed {
                                deadline
                                    .as_mut()
                                    .reset(Instant::now() + conn::CLOSE_TIMEOUT);
                                deadline_armed = true;
                            }
                        }
                    }
                    next = if taken < conn::MAX_MESSAGES_PER_WRITE {
                        rx.try_recv().ok()
                    } else {
                        None
                    };
                }
                if resume {
                    // The blocking command got its reply: run what was pipelined after it.
                    paused = process(&mut session, shared).await;
                }
            }
            Wake::Msg(None) => rx_open = false,
            Wake::Timer => {
                wake_at_ms = None;
                paused = process(&mut session, shared).await;
            }
            Wake::Deadline => {
                debug!(client = id, "gave up flushing a closing connection");
                io_failed = true;
                break;
            }
        }
    }

    {
        let mut state = shared.lock().await;
        state.conns.remove(&id);
        session.handle_close(&mut state.store);
    }
    if !io_failed {
        let _ = stream.shutdown().await;
        linger(&mut stream).await;
    }
}

/// Executes what the session has buffered and routes its deliveries, under one lock; then,
/// without the lock, waits until the AOF holds the batch's writes as `appendfsync` promises,
/// so no reply goes out before that. Returns true when processing stopped on too much
/// pending output.
async fn process(session: &mut Session, shared: &Shared) -> bool {
    let (paused, ticket) = {
        let mut guard = shared.lock().await;
        let State { store, conns } = &mut *guard;
        let now = now_ms();
        let paused = policy::process_and_route(session, store, now, |d| State::route(conns, d));
        (paused, shared.persistence.after_batch(store, now))
    };
    if let Some(ticket) = ticket {
        shared
            .persistence
            .durable(ticket, tokio::task::yield_now)
            .await;
    }
    paused
}

fn on_event(id: ClientId, event: Event, shared: &Shared) {
    if redish_host::log_event(id, &event) {
        shared.trigger_shutdown();
    }
}

/// Makes room for the next read. Reuses the buffer's own allocation once the commands read
/// into it are done with.
fn reserve(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < conn::MIN_READ_BYTES {
        buf.reserve(conn::READ_CHUNK_BYTES);
    }
}

/// Reads what the socket holds right now, with a real non-blocking `recv`. Tokio's
/// `try_read` answers `WouldBlock` without asking the kernel until its reactor has seen the
/// socket become readable, so at shutdown it could drop requests that had already arrived.
fn read_now(stream: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    use std::io::Read;
    let mut chunk = [0u8; conn::READ_CHUNK_BYTES];
    let n = (&*socket2::SockRef::from(stream)).read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}
