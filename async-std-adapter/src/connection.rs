//! One connection: the task that moves bytes between a socket and its [`Session`], and
//! deliveries between the session and the rest of the server.
//!
//! The loop follows the order [`Session`] documents: read a batch; under the store lock,
//! process it and route its deliveries ([`policy::process_and_route`]); write all the
//! replies of the batch in one write; act on the session's events. It keeps receiving
//! deliveries whether or not the client reads, so a subscriber that stops reading runs into
//! the session's output limit and is disconnected instead of growing without bound.
//!
//! Only the futures-io traits touch the socket, so any runtime's TCP stream fits.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use async_channel::Receiver;
use async_io::Timer;
use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Stream};
use redish_core::server::{self as policy, conn, Input};
use redish_core::{ClientId, Event, Session};
use redish_host::now_ms;
use tracing::debug;

use crate::server::{linger, ConnMsg, Shared, State};

/// What woke the connection task.
enum Wake {
    Wrote(io::Result<usize>),
    Read(io::Result<usize>),
    Msg(Option<ConnMsg>),
    /// The close deadline passed.
    Deadline,
    /// The session's own timer ([`Session::poll_timeout`]) is due.
    Timer,
}

/// Serves connection `id` until it closes. `rx` brings deliveries from the rest of the
/// server and its shutdown notice.
pub(crate) async fn serve<S>(mut stream: S, id: ClientId, rx: Receiver<ConnMsg>, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = Session::new(id, shared.session_config);
    let mut rx = std::pin::pin!(rx);
    // futures-io reads into initialised memory: one buffer, copied into the session.
    let mut scratch = vec![0u8; conn::READ_CHUNK_BYTES];
    let mut input = Input::Open;
    // The last process() stopped on too much pending output: run it again after writing.
    let mut paused = false;
    let mut rx_open = true;
    let mut drained = 0;
    // Armed when the connection starts closing, to bound the wait for a client that never
    // reads its last replies.
    let mut deadline: Option<Timer> = None;
    // The end of a DEBUG SLEEP ([`Session::poll_timeout`], Unix ms) and its timer.
    let mut wake: Option<(u64, Timer)> = None;
    let mut io_failed = false;

    loop {
        while let Some(event) = session.poll_event() {
            on_event(id, event, shared);
        }
        if paused && session.wants_read() {
            paused = process(&mut session, shared).await;
            continue;
        }
        if session.is_closing() && deadline.is_none() {
            deadline = Some(Timer::after(conn::CLOSE_TIMEOUT));
        }
        match session.poll_timeout() {
            Some(at) if wake.as_ref().is_some_and(|(t, _)| *t == at) => {}
            Some(at) => {
                let wait = Duration::from_millis(at.saturating_sub(now_ms()));
                wake = Some((at, Timer::after(wait)));
            }
            None => wake = None,
        }
        if policy::is_finished(&session, input, paused) {
            break;
        }
        let output_pending = !session.poll_transmit().is_empty();
        if input == Input::Draining && session.wants_read() && !output_pending {
            // Take what the socket already holds, without waiting for more.
            match future::poll_once(stream.read(&mut scratch)).await {
                Some(Ok(n)) if n > 0 => {
                    session.handle_bytes(&scratch[..n]);
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

        let want_read = policy::should_read(&session, input);
        let woke = poll_fn(|cx| {
            // Writing first: all the replies of a batch leave in one write.
            if output_pending {
                let out = session.poll_transmit();
                if let Poll::Ready(r) = Pin::new(&mut stream).poll_write(cx, out) {
                    return Poll::Ready(Wake::Wrote(r));
                }
            }
            if want_read {
                if let Poll::Ready(r) = Pin::new(&mut stream).poll_read(cx, &mut scratch) {
                    return Poll::Ready(Wake::Read(r));
                }
            }
            if rx_open {
                if let Poll::Ready(msg) = rx.as_mut().poll_next(cx) {
                    return Poll::Ready(Wake::Msg(msg));
                }
            }
            if let Some(timer) = &mut deadline {
                if Pin::new(timer).poll(cx).is_ready() {
                    return Poll::Ready(Wake::Deadline);
                }
            }
            if let Some((_, timer)) = &mut wake {
                if Pin::new(timer).poll(cx).is_ready() {
                    return Poll::Ready(Wake::Timer);
                }
            }
            Poll::Pending
        })
        .await;

        match woke {
            Wake::Wrote(Ok(n)) if n > 0 => session.consume_transmit(n),
            Wake::Read(Ok(0)) => input = Input::Done,
            Wake::Read(Ok(n)) => {
                session.handle_bytes(&scratch[..n]);
                paused = process(&mut session, shared).await;
            }
            Wake::Wrote(r) | Wake::Read(r) => {
                let e = r.err().unwrap_or_else(|| io::ErrorKind::WriteZero.into());
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
                            deadline.get_or_insert_with(|| Timer::after(conn::CLOSE_TIMEOUT));
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
                wake = None;
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
        let _ = stream.close().await;
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
            .durable(ticket, async_std::task::yield_now)
            .await;
    }
    paused
}

fn on_event(id: ClientId, event: Event, shared: &Shared) {
    if redish_host::log_event(id, &event) {
        shared.trigger_shutdown();
    }
}
