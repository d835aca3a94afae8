//! The `always` group commit, driven by plain threads: every acknowledged write is in the
//! file, whichever path (a connection leading, or the writer thread) synced it.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use redish_core::db::AppendFsync;
use redish_core::{Session, SessionConfig, Store};

use super::{Persistence, StoreAccess, Ticket};

const NOW: u64 = 1_700_000_000_000;

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// A runtime's `yield_now`: pending once, having woken itself.
fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if std::mem::replace(&mut yielded, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

struct Server {
    dir: std::path::PathBuf,
    store: Mutex<Store>,
    persistence: Persistence,
}

fn server(name: &str) -> Arc<Server> {
    let dir = std::env::temp_dir().join(format!("redish-host-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = Store::default();
    let config = store.config_mut();
    config.dir = dir.to_string_lossy().into_owned();
    config.appendonly = true;
    config.appendfsync = AppendFsync::Always;
    let (persistence, _) = Persistence::open(&mut store, NOW).unwrap();
    let jobs: Arc<dyn StoreAccess> = Arc::new(NoJobs);
    persistence.attach(&mut store, Arc::downgrade(&jobs));
    Arc::new(Server {
        dir,
        store: Mutex::new(store),
        persistence,
    })
}

/// The background jobs' access, for tests that run none.
struct NoJobs;

impl StoreAccess for NoJobs {
    fn with_store(&self, _: &mut dyn FnMut(&mut Store)) {
        unreachable!("no background job runs in these tests")
    }
}

impl Server {
    /// Runs `SET key value` as a connection does; returns the ticket to wait for.
    fn set(&self, session: &mut Session, key: &str) -> Ticket {
        let request = format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1\r\nv\r\n", key.len());
        let (reply, ticket) = self.send(session, &request);
        assert_eq!(reply, "+OK\r\n");
        ticket.expect("an always write waits for its fsync")
    }

    /// Runs `request` as a connection does: its reply, and the ticket to wait for.
    fn send(&self, session: &mut Session, request: &str) -> (String, Option<Ticket>) {
        let mut store = self.store.lock().unwrap();
        session.handle_bytes(request.as_bytes());
        session.process(&mut store, NOW);
        let reply = String::from_utf8(session.poll_transmit().to_vec()).unwrap();
        session.consume_transmit(reply.len());
        (reply, self.persistence.after_batch(&mut store, NOW))
    }

    /// Keys in the AOF as a restarted server loads it.
    fn keys_on_disk(&self) -> usize {
        let mut store = Store::default();
        let config = store.config_mut();
        config.dir = self.dir.to_string_lossy().into_owned();
        config.appendonly = true;
        let (_, loaded) = Persistence::open(&mut store, NOW).unwrap();
        drop(loaded);
        store.db(0).len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits for `ticket` on a thread of its own; the receiver hears when the write is
/// acknowledged.
fn wait_in_thread(server: &Arc<Server>, ticket: Ticket) -> mpsc::Receiver<()> {
    let (done, finished) = mpsc::channel();
    let server = server.clone();
    thread::spawn(move || {
        block_on(server.persistence.durable(ticket, yield_once));
        let _ = done.send(());
    });
    finished
}

/// Eight connections write concurrently; each write, once acknowledged, is synced.
fn concurrent_writes(server: &Arc<Server>) {
    let (done, finished) = mpsc::channel();
    for t in 0..8 {
        let (server, done) = (server.clone(), done.clone());
        thread::spawn(move || {
            let mut session = Session::new(t + 1, SessionConfig::default());
            for i in 0..200 {
                let ticket = server.set(&mut session, &format!("k{t}:{i}"));
                block_on(server.persistence.durable(ticket, yield_once));
                assert!(server.persistence.inner.aof.reached(ticket));
            }
            done.send(()).unwrap();
        });
    }
    for _ in 0..8 {
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("every connection's writes were acknowledged");
    }
    assert_eq!(server.keys_on_disk(), 1600);
}

#[test]
fn connections_lead_the_groups_when_fsync_is_fast() {
    let server = server("lead");
    concurrent_writes(&server);
}

#[test]
fn the_writer_thread_syncs_the_groups_when_fsync_is_slow() {
    let server = server("slow");
    server
        .persistence
        .inner
        .aof
        .fsync_ns
        .store(u64::MAX / 2, Ordering::Relaxed);
    concurrent_writes(&server);
}

#[test]
fn a_leader_that_goes_away_hands_the_group_on() {
    let server = server("gone");
    let mut first = Session::new(1, SessionConfig::default());
    let mut second = Session::new(2, SessionConfig::default());
    let ticket = server.set(&mut first, "first");
    // The first connection takes the lead, and yields.
    let never = || std::future::pending::<()>();
    let mut leading = Box::pin(server.persistence.durable(ticket, never));
    let noop = Waker::noop();
    assert!(leading
        .as_mut()
        .poll(&mut Context::from_waker(noop))
        .is_pending());
    let aof = &server.persistence.inner.aof;
    assert!(aof.state.lock().unwrap().leader);
    // The second waits behind it...
    let ticket2 = server.set(&mut second, "second");
    let finished = wait_in_thread(&server, ticket2);
    for _ in 0..1000 {
        if !aof.waiters.lock().unwrap().is_empty() {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert!(!aof.waiters.lock().unwrap().is_empty());
    assert!(!aof.reached(ticket2));
    // ...until the first connection goes away: the second then leads.
    drop(leading);
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the second connection's write was acknowledged");
    assert!(aof.reached(ticket));
    assert_eq!(server.keys_on_disk(), 2);
}

#[test]
fn a_failing_fsync_holds_the_reply_until_a_retry_succeeds() {
    let server = server("fsync-fails");
    let aof = &server.persistence.inner.aof;
    let real = {
        let mut p = aof.state.lock().unwrap();
        let real = p.sync_handle.take();
        // fdatasync of /dev/null fails (EINVAL), as on a failing disk.
        p.sync_handle = Some(Arc::new(std::fs::File::open("/dev/null").unwrap()));
        real
    };
    let mut session = Session::new(1, SessionConfig::default());
    let ticket = server.set(&mut session, "k");
    let finished = wait_in_thread(&server, ticket);
    assert!(
        finished.recv_timeout(Duration::from_millis(500)).is_err(),
        "acknowledged without a successful fsync"
    );
    assert!(aof.sync_failed.load(Ordering::Relaxed));
    // Meanwhile other connections' writes, and PING, are refused with Redis's error...
    let misconf = "-MISCONF Errors writing to the AOF file: Invalid argument\r\n";
    let mut other = Session::new(2, SessionConfig::default());
    let set = "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n";
    assert_eq!(server.send(&mut other, set), (misconf.to_owned(), None));
    assert_eq!(
        server.send(&mut other, "*1\r\n$4\r\nPING\r\n"),
        (misconf.to_owned(), None)
    );
    // ...and reads are answered without waiting for the disk.
    let (reply, ticket) = server.send(&mut other, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    assert_eq!(reply, "$1\r\nv\r\n");
    if let Some(ticket) = ticket {
        assert!(aof.reached(ticket), "a read waits for a failing disk");
    }
    // The disk recovers: the writer thread's next try succeeds.
    aof.state.lock().unwrap().sync_handle = real;
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("acknowledged once an fsync succeeded");
    assert!(!aof.sync_failed.load(Ordering::Relaxed));
    let (reply, ticket) = server.send(&mut other, set);
    assert_eq!(reply, "+OK\r\n", "writes resume once the disk works");
    block_on(server.persistence.durable(ticket.unwrap(), yield_once));
    assert_eq!(server.keys_on_disk(), 2);
}
