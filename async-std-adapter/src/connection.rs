//! One connection: the task that moves bytes between a socket and its [`Driver`], and
//! deliveries between the driver and the rest of the server.
//!
//! When to read, process, write, drain, give up and finish is the driver's decision (its
//! docs state the loop, the same for every adapter); this file holds the runtime's part
//! only: the socket calls, one wait over the socket, the channel and a timer, the store lock
//! and the wait for persistence.
//!
//! Only the futures-io traits touch the socket, so any runtime's TCP stream fits.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use async_channel::{Receiver, TryRecvError};
use async_io::Timer;
use async_std::sync::MutexGuard;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt, Stream};
use redish_core::server::{conn, Action, Driver};
use redish_core::{ClientId, Event};
use redish_host::now_ms;
use tracing::debug;

use crate::server::{linger, ConnMsg, Shared, State};
use crate::transport::Transport;

/// What ended an [`Action::Wait`].
enum Wake {
    /// futures-io learns that a socket is writable by writing to it.
    Wrote(io::Result<usize>),
    Read(io::Result<usize>),
    /// Output the socket held (TLS records) went out.
    Flushed(io::Result<()>),
    Msg(Option<ConnMsg>),
    Timeout,
}

/// Serves connection `id` until it closes. `rx` brings deliveries from the rest of the
/// server and its shutdown notice; `left_store` runs once the connection has left the
/// store, before its last flush and linger.
pub(crate) async fn serve<S>(
    mut stream: S,
    id: ClientId,
    rx: Receiver<ConnMsg>,
    shared: &Shared,
    left_store: impl FnOnce(),
) where
    S: Transport,
{
    let mut driver = Driver::new(id, shared.session_config);
    let mut rx = std::pin::pin!(rx);
    // futures-io reads into initialised memory: one buffer, copied into the driver's.
    let mut scratch = vec![0u8; conn::READ_CHUNK_BYTES];
    // The driver's timeout (Unix ms) and its timer.
    let mut timer: Option<(u64, Timer)> = None;

    let graceful = loop {
        match driver.poll_action() {
            Action::TakeDelivery => match rx.try_recv() {
                Ok(msg) => hand_over(&mut driver, msg),
                Err(TryRecvError::Empty) => driver.handle_no_delivery(),
                Err(TryRecvError::Closed) => driver.handle_deliveries_closed(),
            },
            Action::Process => process(&mut driver, shared).await,
            Action::Write(out) => match future::poll_once(stream.write(out)).await {
                Some(Ok(n)) => driver.handle_written(n),
                None => driver.handle_write_blocked(),
                Some(Err(e)) => failed(&mut driver, id, e),
            },
            Action::Event(event) => on_event(id, event, shared),
            Action::Yield => async_std::task::yield_now().await,
            Action::ReadNow => match future::poll_once(stream.read(&mut scratch)).await {
                Some(Ok(n)) => received(&mut driver, &scratch[..n]),
                None => driver.handle_read_blocked(),
                Some(Err(e)) => failed(&mut driver, id, e),
            },
            Action::Wait(wants) => {
                match wants.timeout_ms {
                    Some(at) if timer.as_ref().is_some_and(|(t, _)| *t == at) => {}
                    Some(at) => {
                        let wait = Duration::from_millis(at.saturating_sub(now_ms()));
                        timer = Some((at, Timer::after(wait)));
                    }
                    None => timer = None,
                }
                let woke = poll_fn(|cx| {
                    if wants.writable {
                        let out = driver.poll_transmit();
                        if let Poll::Ready(r) = Pin::new(&mut stream).poll_write(cx, out) {
                            return Poll::Ready(Wake::Wrote(r));
                        }
                    }
                    if wants.readable {
                        if let Poll::Ready(r) = Pin::new(&mut stream).poll_read(cx, &mut scratch) {
                            return Poll::Ready(Wake::Read(r));
                        }
                    }
                    if stream.holds_output() {
                        if let Poll::Ready(r) = Pin::new(&mut stream).poll_flush(cx) {
                            return Poll::Ready(Wake::Flushed(r));
                        }
                    }
                    if wants.deliveries {
                        if let Poll::Ready(msg) = rx.as_mut().poll_next(cx) {
                            return Poll::Ready(Wake::Msg(msg));
                        }
                    }
                    if let Some((_, t)) = &mut timer {
                        if Pin::new(t).poll(cx).is_ready() {
                            return Poll::Ready(Wake::Timeout);
                        }
                    }
                    Poll::Pending
                })
                .await;
                match woke {
                    Wake::Wrote(Ok(n)) => driver.handle_written(n),
                    Wake::Read(Ok(n)) => received(&mut driver, &scratch[..n]),
                    Wake::Flushed(Ok(())) => {}
                    Wake::Wrote(Err(e)) | Wake::Read(Err(e)) | Wake::Flushed(Err(e)) => {
                        failed(&mut driver, id, e)
                    }
                    Wake::Msg(Some(msg)) => hand_over(&mut driver, msg),
                    Wake::Msg(None) => driver.handle_deliveries_closed(),
                    Wake::Timeout => {
                        // Fired: armed again if the driver still asks for that time.
                        timer = None;
                        driver.handle_timeout(now_ms());
                    }
                }
            }
            Action::Finish { graceful } => break graceful,
        }
    };

    {
        let mut state = shared.lock().await;
        state.conns.remove(&id);
        driver.handle_close(&mut state.store);
        left_store();
    }
    if graceful {
        let _ = stream.close().await;
        let _ = stream.shutdown_write();
        linger(&mut stream).await;
    } else {
        debug!(
            client = id,
            "dropped without flushing (socket error or close deadline)"
        );
    }
}

/// Executes what the session has buffered and routes its deliveries, under one lock; then,
/// without the lock, waits until the AOF holds the batch's writes as `appendfsync` promises,
/// so no reply goes out before that.
async fn process(driver: &mut Driver, shared: &Shared) {
    let ticket = {
        let mut guard = match shared.try_lock() {
            Some(guard) => guard,
            None => match lock_unless_busy(driver, shared).await {
                Some(guard) => guard,
                None => return,
            },
        };
        let State { store, conns } = &mut *guard;
        let now = now_ms();
        driver.process(store, now, |d| State::route(conns, d));
        shared.persistence.after_batch(store, now)
    };
    if let Some(ticket) = ticket {
        shared
            .persistence
            .durable(ticket, async_std::task::yield_now)
            .await;
    }
}

/// `data` was read from the socket (empty: the end of the stream).
fn received(driver: &mut Driver, data: &[u8]) {
    driver.read_buf().extend_from_slice(data);
    driver.handle_read(data.len());
}

/// Waits for the store; but while a script holds it past `busy-reply-threshold`, answers
/// what the driver can without it and returns `None` (see [`Driver::process_busy`]). The
/// lock is waited for all along, so the connection keeps its place in the queue.
async fn lock_unless_busy<'a>(
    driver: &mut Driver,
    shared: &'a Shared,
) -> Option<MutexGuard<'a, State>> {
    let mut lock = std::pin::pin!(shared.lock());
    loop {
        let timer = async {
            Timer::after(conn::BUSY_POLL).await;
            None
        };
        match future::or(async { Some((&mut lock).await) }, timer).await {
            Some(guard) => return Some(guard),
            None if driver.process_busy(&shared.script_watch, now_ms()) => return None,
            None => {}
        }
    }
}

fn hand_over(driver: &mut Driver, msg: ConnMsg) {
    match msg {
        ConnMsg::Deliver(m) => driver.handle_delivery(&m, now_ms()),
        ConnMsg::Shutdown => driver.handle_shutdown_notice(now_ms()),
    }
}

fn failed(driver: &mut Driver, id: ClientId, e: io::Error) {
    debug!(client = id, "connection error: {e}");
    driver.handle_io_error();
}

fn on_event(id: ClientId, event: Event, shared: &Shared) {
    if redish_host::log_event(id, &event) {
        shared.trigger_shutdown();
    }
}
