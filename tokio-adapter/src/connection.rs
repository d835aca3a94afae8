//! One connection: the task that moves bytes between a socket and its [`Driver`], and
//! deliveries between the driver and the rest of the server.
//!
//! When to read, process, write, drain, give up and finish is the driver's decision (its
//! docs state the loop, the same for every adapter); this file holds Tokio's part only:
//! the socket calls, one wait over the socket, the channel and a timer, the store lock and
//! the wait for persistence.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use redish_core::server::{conn, Action, Driver};
use redish_core::{ClientId, Event};
use redish_host::now_ms;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::MutexGuard;
use tokio::time::Instant;
use tracing::debug;

use crate::server::{linger, ConnMsg, Shared, State};
use crate::transport::Transport;

/// What ended an [`Action::Wait`].
enum Wake {
    Writable(io::Result<()>),
    Read(io::Result<usize>),
    /// Output the socket held (TLS records) went out.
    Flushed(io::Result<()>),
    Msg(Option<ConnMsg>),
    Timeout,
}

/// Serves connection `id` until it closes. `rx` brings deliveries from the rest of the
/// server and its shutdown notice; `left_store` runs once the connection has left the
/// store, before its last flush and linger.
pub(crate) async fn serve<S: Transport>(
    mut stream: S,
    id: ClientId,
    mut rx: UnboundedReceiver<ConnMsg>,
    shared: &Shared,
    left_store: impl FnOnce(),
) {
    let mut driver = Driver::new(id, shared.session_config);
    // The driver's timeout, and the Unix ms it is armed for.
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    let mut armed_at_ms = None;

    let graceful = loop {
        match driver.poll_action() {
            Action::TakeDelivery => match rx.try_recv() {
                Ok(msg) => hand_over(&mut driver, msg),
                Err(TryRecvError::Empty) => driver.handle_no_delivery(),
                Err(TryRecvError::Disconnected) => driver.handle_deliveries_closed(),
            },
            Action::Process => process(&mut driver, shared).await,
            Action::Write(out) => match stream.try_write_now(out) {
                Ok(n) => driver.handle_written(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => driver.handle_write_blocked(),
                Err(e) => failed(&mut driver, id, e),
            },
            Action::Event(event) => on_event(id, event, shared),
            Action::Yield => tokio::task::yield_now().await,
            Action::ReadNow => match stream.read_now(driver.read_buf()) {
                Ok(n) => driver.handle_read(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => driver.handle_read_blocked(),
                Err(e) => failed(&mut driver, id, e),
            },
            Action::Wait(wants) => {
                if wants.timeout_ms != armed_at_ms {
                    if let Some(at) = wants.timeout_ms {
                        let wait = Duration::from_millis(at.saturating_sub(now_ms()));
                        timer.as_mut().reset(Instant::now() + wait);
                    }
                    armed_at_ms = wants.timeout_ms;
                }
                let wake = poll_fn(|cx| {
                    if wants.writable {
                        if let Poll::Ready(r) = stream.poll_writable(cx) {
                            return Poll::Ready(Wake::Writable(r));
                        }
                    }
                    if wants.readable {
                        let buf = driver.read_buf();
                        let read = tokio_util::io::poll_read_buf(Pin::new(&mut stream), cx, buf);
                        if let Poll::Ready(r) = read {
                            return Poll::Ready(Wake::Read(r));
                        }
                    }
                    if let Poll::Ready(r) = stream.poll_flush_held(cx) {
                        return Poll::Ready(Wake::Flushed(r));
                    }
                    if wants.deliveries {
                        if let Poll::Ready(msg) = rx.poll_recv(cx) {
                            return Poll::Ready(Wake::Msg(msg));
                        }
                    }
                    if armed_at_ms.is_some() && timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Wake::Timeout);
                    }
                    Poll::Pending
                })
                .await;
                match wake {
                    Wake::Writable(Ok(())) => driver.handle_writable(),
                    Wake::Read(Ok(n)) => driver.handle_read(n),
                    Wake::Flushed(Ok(())) => {}
                    Wake::Writable(Err(e)) | Wake::Read(Err(e)) | Wake::Flushed(Err(e)) => {
                        failed(&mut driver, id, e)
                    }
                    Wake::Msg(Some(msg)) => hand_over(&mut driver, msg),
                    Wake::Msg(None) => driver.handle_deliveries_closed(),
                    Wake::Timeout => {
                        // Fired: armed again if the driver still asks for that time.
                        armed_at_ms = None;
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
        let _ = stream.shutdown().await;
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
            .durable(ticket, tokio::task::yield_now)
            .await;
    }
}

/// Waits for the store; but while a script holds it past `busy-reply-threshold`, answers
/// what the driver can without it and returns `None` (see [`Driver::process_busy`]). The
/// lock is waited for all along, so the connection keeps its place in the queue.
async fn lock_unless_busy<'a>(
    driver: &mut Driver,
    shared: &'a Shared,
) -> Option<MutexGuard<'a, State>> {
    let lock = shared.lock();
    tokio::pin!(lock);
    loop {
        match tokio::time::timeout(conn::BUSY_POLL, &mut lock).await {
            Ok(guard) => return Some(guard),
            Err(_) if driver.process_busy(&shared.script_watch, now_ms()) => return None,
            Err(_) => {}
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
