//! Persistence on disk, for both adapters: loading at start, the append-only file's writer
//! thread, and the background jobs (BGSAVE, BGREWRITEAOF). The formats and the replay are
//! [`redish_core::persist`]'s; this module owns the files, fsync and the threads.
//!
//! # How an adapter uses it
//! 1. Before serving: [`Persistence::open`] on the new store (it resolves `dir`, loads the
//!    AOF or the RDB file as Redis does, and opens the AOF when `appendonly yes`).
//! 2. Once the store is shared: [`Persistence::attach`] with a way to lock it
//!    ([`StoreAccess`], for the background jobs); SAVE, BGSAVE and BGREWRITEAOF then work.
//! 3. After each batch of commands, still under the store lock: [`Persistence::after_batch`].
//!    If it returns a [`Ticket`], await [`Persistence::durable`] before writing the batch's
//!    replies: with `appendfsync always` that is the fsync of its writes, otherwise their
//!    write to the kernel — as Redis, which writes the AOF before it replies.
//! 4. In the server's timer, under the lock: [`Persistence::on_timer`] (save points,
//!    scheduled jobs, automatic AOF rewrite).
//! 5. At shutdown, under the lock, after the connections are done:
//!    [`Persistence::shutdown`] (final save if asked, AOF flushed and fsynced).
//!
//! # Group commit
//! With `appendfsync always`, connections append their batches' effects to one buffer and
//! await [`Persistence::durable`]. The first of them to wait leads the next group: it
//! yields to the runtime — which reads the other ready connections; they append and wait
//! behind it — for as long as batches keep joining, then writes what accumulated with one
//! `write` and one `fdatasync` on its own thread, and wakes every connection that covered.
//! That is Redis's one fsync per turn of its event loop, without a hand-off to another
//! thread and back. Where fsyncs are slow (over a millisecond on average), the leader leaves the
//! group to the writer thread instead, so that the runtime goes on serving while the disk
//! works and the next group gathers meanwhile.
//!
//! With `everysec` and `no`, a batch's records are written before its replies, and the
//! writer thread fsyncs once a second.
//!
//! # Rewrites without fork
//! A rewrite (or BGSAVE) takes a point-in-time [`Snapshot`] of the store (copy-on-write per
//! key, see `redish_core::db`) and serialises it on a thread of its own, a hundred keys
//! per lock. The effects logged after the snapshot began go both to the old file and to a
//! rewrite buffer; the writer thread appends that buffer to the new file, fsyncs it and
//! renames it over the old one, so a crash at any point leaves a complete log.

use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redish_core::db::{AppendFsync, Snapshot, SnapshotEntry, SnapshotStep};
use redish_core::persist::aof::{self, AofWriter};
use redish_core::persist::rdb::{self, RdbEncoder};
use redish_core::persist::Disk;
use redish_core::Store;
use tracing::{error, info, warn};

/// Keys a background job copies per hold of the store lock (some 30 µs of work for small
/// keys). With 1000, an automatic AOF rewrite during a redis-benchmark run gave the
/// async-std server (whose one executor thread blocks on the lock) a p99 of 33 ms; with
/// 100, 11 ms (without rewrites: 3 ms).
const SNAPSHOT_STEP_KEYS: usize = 100;
/// How long after a failed background save a save point may try again (Redis's
/// `CONFIG_BGSAVE_RETRY_DELAY`).
const BGSAVE_RETRY_DELAY: Duration = Duration::from_secs(5);
/// The longest wait before an automatic or scheduled AOF rewrite retries after failures
/// (Redis's limit on them, too, is an hour).
const REWRITE_RETRY_MAX: Duration = Duration::from_secs(3600);
/// Above this (a moving average of the AOF's fsyncs), `always` groups are synced by the
/// writer thread rather than on the runtime's thread. Where an fdatasync took some 60 µs,
/// handing every group to the thread and back cost 1.5x redis-server's CPU per SET at
/// -P 1, with groups of a few batches; leading them inline, 0.9–1.0x.
const INLINE_FSYNC_NS: u64 = 1_000_000;
/// How often a group's leader lets the runtime run the other connections before it syncs:
/// again as long as the last round brought batches to the group. With 50 clients at -P 1,
/// one yield made groups of some 15 batches; yielding while they grow, about 50, as
/// Redis's one fsync per event-loop turn.
const MAX_YIELDS: usize = 8;

/// How the background jobs reach the store: the adapter's lock.
pub trait StoreAccess: Send + Sync + 'static {
    /// Runs `f` with the store locked. Called from the jobs' own threads, never from the
    /// adapter's runtime.
    fn with_store(&self, f: &mut dyn FnMut(&mut Store));
}

/// Where the dataset came from at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The append-only file (`appendonly yes`).
    Aof(PathBuf),
    /// The RDB file.
    Rdb(PathBuf),
    /// No file: an empty dataset.
    Nothing,
}

/// What [`Persistence::open`] loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The file read.
    pub source: Source,
    /// Keys in the store afterwards.
    pub keys: usize,
    /// The AOF ended in a torn record: bytes dropped from its end.
    pub truncated_bytes: Option<u64>,
}

impl Loaded {
    fn nothing() -> Loaded {
        Loaded {
            source: Source::Nothing,
            keys: 0,
            truncated_bytes: None,
        }
    }
}

/// A point in the AOF a batch's replies must wait for (see [`Persistence::durable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    seq: u64,
    /// Wait for the fsync (`always`), not only the write.
    sync: bool,
    /// The batch changed the dataset. A batch that did not (reads) waits for the writes
    /// before it — its replies may show them — except while the disk fails: then writes are
    /// refused, and reads are answered from memory rather than wait for the disk.
    wrote: bool,
}

/// The server's persistence: cheap to clone, shared by the connections, the timer and the
/// jobs.
#[derive(Clone, Debug)]
pub struct Persistence {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    aof: Arc<Pipe>,
    writer: Mutex<Option<JoinHandle<()>>>,
    access: Mutex<Option<Weak<dyn StoreAccess>>>,
    /// Set at shutdown: jobs stop without installing anything.
    cancelled: AtomicBool,
    /// When the last background save failed (save points wait a little before retrying).
    last_bgsave_failure: Mutex<Option<Instant>>,
    /// Rewrites that failed in a row, and when the last did: automatic and scheduled
    /// rewrites wait 1 s after the first, doubling up to an hour.
    rewrite_failures: Mutex<(u32, Option<Instant>)>,
    /// Background jobs running, to wait for at shutdown.
    jobs: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for dyn StoreAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreAccess")
    }
}

/// The AOF between the connections and the writer thread.
#[derive(Debug)]
struct Pipe {
    state: Mutex<PipeState>,
    /// Wakes the writer thread.
    work: Condvar,
    /// Wakes a rewrite job waiting for its file to be installed.
    installed: Condvar,
    /// Batches written to the kernel / fsynced, by sequence number.
    written: AtomicU64,
    synced: AtomicU64,
    waiters: Mutex<Vec<(Ticket, Waker)>>,
    write_failed: AtomicBool,
    /// The last fsync failed: the writer thread retries, connections don't lead groups.
    sync_failed: AtomicBool,
    /// The system's text for the last failed write or fsync, for `-MISCONF` replies.
    failure: Mutex<String>,
    /// Mirrors `PipeState::on`, so that a batch on a server without an AOF does not take
    /// the AOF lock to find out.
    on: AtomicBool,
    /// Size of the current AOF, and its size after the last rewrite (or at start).
    size: AtomicU64,
    base_size: AtomicU64,
    /// Moving average of the AOF's fsyncs, in nanoseconds.
    fsync_ns: AtomicU64,
    /// Latencies of AOF writes and fsyncs not yet reported to the store's latency monitor
    /// (Redis's `aof-write*`, `aof-fsync-always` events), in ms; see [`Pipe::report`].
    latencies: Mutex<Vec<(&'static str, u64)>>,
}

#[derive(Debug)]
struct PipeState {
    /// Encodes effects as AOF records (keeps track of SELECT).
    log: AofWriter,
    /// Records not yet written.
    pending: Vec<u8>,
    /// Sequence number of the last batch appended.
    tail: u64,
    /// The store's count of writes at the last batch (a batch that moved it wrote).
    writes_seen: u64,
    fsync: AppendFsync,
    /// Logging is on (`appendonly yes`), with a file or a rewrite creating it.
    on: bool,
    /// While a rewrite runs: the records appended since its snapshot began.
    rewrite: Option<Vec<u8>>,
    /// A rewritten file to put in place: (temporary path, file holding the snapshot).
    install: Option<(PathBuf, File)>,
    install_result: Option<Result<(), String>>,
    /// Close the current file (appendonly turned off).
    close: bool,
    stop: bool,
    path: PathBuf,
    /// The AOF, open for appending; `None` when off or while a rewrite creates it. Every
    /// write to it happens under this state's lock, so records keep their order.
    file: Option<File>,
    /// A second handle on `file`, for the writer thread to fsync without the lock.
    sync_handle: Option<Arc<File>>,
    /// Records were written since the last fsync.
    unsynced: bool,
    /// The writer thread is in an fsync. A write to the file may then block until it ends
    /// (the filesystem orders them), so connections leave their records to the thread
    /// rather than stall their runtime's thread: Redis postpones its AOF writes likewise.
    syncing: bool,
    /// A connection has taken the lead of the next `always` group (see [`Persistence::durable`]).
    leader: bool,
}

impl PipeState {
    /// Writes `bytes` to the file now. If the disk takes none or only part of them (full,
    /// failing), the part written is cut off again, as Redis does, so that the file ends on
    /// a whole record whatever is appended later; the records stay pending for the writer
    /// thread, which retries, and writes are refused meanwhile ([`Pipe::failure`]).
    fn write_now(&mut self, pipe: &Pipe, bytes: &[u8]) {
        let Some(file) = &mut self.file else {
            return;
        };
        let mut done = 0;
        let start = Instant::now();
        let error = loop {
            if done == bytes.len() {
                break None;
            }
            match file.write(&bytes[done..]) {
                Ok(0) => break Some(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        // As Redis's flushAppendOnlyFile: the write's own event, then `aof-write`.
        let ms = start.elapsed().as_millis() as u64;
        let kind = if self.syncing {
            "aof-write-pending-fsync"
        } else if self.rewrite.is_some() {
            "aof-write-active-child"
        } else {
            "aof-write-alone"
        };
        pipe.note_latency(kind, ms);
        pipe.note_latency("aof-write", ms);
        let Some(error) = error else {
            if pipe.write_failed.swap(false, Ordering::AcqRel) {
                warn!("AOF write error looks solved, Redis can write again.");
            }
            pipe.size.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            self.unsynced = true;
            pipe.mark(&pipe.written, self.tail);
            return;
        };
        // Logged once per failure, not on every retry.
        let log = !pipe.write_failed.load(Ordering::Acquire);
        if done > 0 {
            if log {
                warn!(
                    "Short write while writing to the AOF file: (nwritten={done}, expected={})",
                    bytes.len()
                );
            }
            let cut = file
                .metadata()
                .and_then(|m| file.set_len(m.len().saturating_sub(done as u64)));
            match cut {
                Ok(()) => done = 0,
                Err(e) => {
                    // The part stays in the file; the rest of the record completes it.
                    if log {
                        warn!(
                            "Could not remove short write from the append-only file. Redis may refuse to load the AOF the next time it starts. ftruncate: {}",
                            strerror(&e)
                        );
                    }
                    pipe.size.fetch_add(done as u64, Ordering::Relaxed);
                    self.unsynced = true;
                }
            }
        }
        if log {
            error!("Error writing to the AOF file: {}", strerror(&error));
        }
        pipe.fail(&pipe.write_failed, &error);
        let rest = std::mem::take(&mut self.pending);
        self.pending = [&bytes[done..], &rest[..]].concat();
        pipe.work.notify_one();
    }

    fn set_file(&mut self, file: Option<File>) {
        self.sync_handle = file.as_ref().and_then(|f| f.try_clone().ok()).map(Arc::new);
        self.file = file;
        self.unsynced = false;
    }
}

impl Persistence {
    /// Prepares persistence for a server starting with `store`'s settings: makes `dir`
    /// absolute (as Redis, which moves into it), loads the dataset — the AOF if
    /// `appendonly yes`, else the RDB file, as Redis does — and opens the AOF for
    /// appending. A corrupt file stops start-up with an error naming it and the offset,
    /// and nothing on disk changes; a torn last AOF record is dropped with a warning when
    /// `aof-load-truncated yes` (the default).
    pub fn open(store: &mut Store, now_ms: u64) -> Result<(Persistence, Loaded), String> {
        let dir = if store.config().dir.is_empty() {
            std::env::current_dir().map_err(|e| format!("can't read the current directory: {e}"))?
        } else {
            let dir = &store.config().dir;
            fs::canonicalize(dir).map_err(|e| format!("can't use dir '{dir}': {e}"))?
        };
        store.config_mut().dir = dir.to_string_lossy().into_owned();
        let config = store.config();
        let aof_path = dir.join(&config.appendfilename);
        let manifest = dir
            .join(&config.appenddirname)
            .join(format!("{}.manifest", config.appendfilename));
        let loaded = if !config.appendonly {
            load_rdb(store, &dir.join(&config.dbfilename), now_ms)?
        } else if !aof_path.exists() && manifest.exists() {
            load_multi_part(store, &manifest, now_ms)?
        } else {
            load_aof(store, &aof_path, now_ms)?
        };
        let appendonly = store.config().appendonly;
        if matches!(&loaded.source, Source::Aof(p) if *p == manifest) {
            // Redis's multi-part files are read, not continued: our single file is written
            // from the loaded dataset before the first client comes, so that every write
            // acknowledged from then on is in it. Redis's files stay as they were.
            info!("writing {} from the multi-part AOF", aof_path.display());
            write_aof_now(store, now_ms, &aof_path)?;
        }
        let file = if appendonly {
            store.set_effects_log(true);
            Some(open_append(&aof_path).map_err(|e| format!("{}: {e}", aof_path.display()))?)
        } else {
            None
        };
        let size = match &file {
            Some(f) => f.metadata().map(|m| m.len()).unwrap_or(0),
            None => 0,
        };
        let pipe = Arc::new(Pipe {
            state: Mutex::new(PipeState {
                log: AofWriter::new(),
                pending: Vec::new(),
                tail: 0,
                writes_seen: 0,
                fsync: store.config().appendfsync,
                on: appendonly,
                rewrite: None,
                install: None,
                install_result: None,
                close: false,
                stop: false,
                path: aof_path,
                file: None,
                sync_handle: None,
                unsynced: false,
                syncing: false,
                leader: false,
            }),
            work: Condvar::new(),
            installed: Condvar::new(),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            waiters: Mutex::new(Vec::new()),
            write_failed: AtomicBool::new(false),
            sync_failed: AtomicBool::new(false),
            failure: Mutex::new(String::new()),
            on: AtomicBool::new(appendonly),
            size: AtomicU64::new(size),
            base_size: AtomicU64::new(size),
            fsync_ns: AtomicU64::new(0),
            latencies: Mutex::new(Vec::new()),
        });
        lock(&pipe.state).set_file(file);
        let writer = {
            let pipe = pipe.clone();
            std::thread::Builder::new()
                .name("aof-writer".into())
                .spawn(move || Pipe::run_writer(&pipe))
                .map_err(|e| format!("can't start the AOF writer: {e}"))?
        };
        let persistence = Persistence {
            inner: Arc::new(Inner {
                aof: pipe,
                writer: Mutex::new(Some(writer)),
                access: Mutex::new(None),
                cancelled: AtomicBool::new(false),
                last_bgsave_failure: Mutex::new(None),
                rewrite_failures: Mutex::new((0, None)),
                jobs: Mutex::new(Vec::new()),
            }),
        };
        Ok((persistence, loaded))
    }

    /// Installs SAVE, BGSAVE and BGREWRITEAOF in `store` (call with the store locked,
    /// once it is shared), and gives the background jobs `access` to it.
    pub fn attach(&self, store: &mut Store, access: Weak<dyn StoreAccess>) {
        *lock(&self.inner.access) = Some(access);
        store.set_disk(Some(Box::new(DiskHandle(self.clone()))));
    }

    /// After a batch of commands, under the store lock: moves the batch's effects into the
    /// AOF and follows changes of `appendonly` / `appendfsync` (CONFIG SET). Returns the
    /// ticket the batch's replies must wait for, or `None` if they can go now.
    pub fn after_batch(&self, store: &mut Store, now_ms: u64) -> Option<Ticket> {
        let pipe = &self.inner.aof;
        let wanted = store.config().appendonly;
        if !wanted && !store.effects_enabled() && !pipe.on.load(Ordering::Acquire) {
            return None;
        }
        let fsync = store.config().appendfsync;
        pipe.report(store, now_ms);
        let ticket = {
            let mut p = lock(&pipe.state);
            p.fsync = fsync;
            if wanted != p.on {
                drop(p);
                self.set_appendonly(store, wanted, now_ms);
                p = lock(&pipe.state);
            }
            pipe.push_effects(&mut p, store);
            let writes = store.writes();
            let wrote = writes != std::mem::replace(&mut p.writes_seen, writes);
            Ticket {
                seq: p.tail,
                sync: p.fsync == AppendFsync::Always,
                wrote,
            }
        };
        (!pipe.reached(ticket)).then_some(ticket)
    }

    /// Completes once the AOF records of `ticket` are written (fsynced with `always`).
    ///
    /// `yield_now` is the runtime's yield (`tokio::task::yield_now`,
    /// `async_std::task::yield_now`). With `always`, the first connection to wait while no
    /// group is forming leads the next one: it yields — so that the runtime reads the other
    /// ready connections, which append their batches and wait behind it — as long as
    /// batches keep joining (a bounded number of times), then writes and fsyncs them
    /// all on its own thread and wakes them.
    pub async fn durable<Y>(&self, ticket: Ticket, mut yield_now: impl FnMut() -> Y)
    where
        Y: Future<Output = ()>,
    {
        let pipe = &self.inner.aof;
        while let Some(claim) = (Wait { pipe, ticket }).await {
            let mut tail = claim.tail;
            for _ in 0..MAX_YIELDS {
                yield_now().await;
                let now = lock(&pipe.state).tail;
                if now == tail {
                    break;
                }
                tail = now;
            }
            claim.lead();
        }
    }

    /// The timer's work, under the store lock: starts what is due — a scheduled BGSAVE or
    /// rewrite, a save point, an automatic AOF rewrite — and refreshes INFO's figures.
    pub fn on_timer(&self, store: &mut Store, now_ms: u64) {
        let pipe = &self.inner.aof;
        pipe.report(store, now_ms);
        {
            let (buffered, syncing) = {
                let p = lock(&pipe.state);
                (p.pending.len() as u64, p.syncing)
            };
            let info = store.persistence_mut();
            info.aof_last_write_ok = !pipe.write_failed.load(Ordering::Relaxed)
                && !pipe.sync_failed.load(Ordering::Relaxed);
            info.aof_current_size = pipe.size.load(Ordering::Relaxed);
            info.aof_base_size = pipe.base_size.load(Ordering::Relaxed);
            info.aof_buffer_length = buffered;
            info.aof_fsync_in_progress = syncing;
        }
        crate::replica::on_timer(self, store);
        if store.snapshot_running() {
            return;
        }
        // Replicas waiting for a full sync come first: they are disconnected meanwhile.
        if let Some(&client) = store.replicas_waiting_snapshot().first() {
            if let Err(e) = self.start_replica_sync(store, now_ms, client) {
                error!("full sync of a replica failed to start: {e}");
                store.fail_replica_sync(client);
            }
            return;
        }
        let p = store.persistence();
        let may_rewrite = self.may_retry_rewrite();
        if p.aof_rewrite_scheduled && may_rewrite {
            self.log_start("AOF rewrite (scheduled)", self.start_rewrite(store, now_ms));
        } else if p.bgsave_scheduled {
            self.log_start(
                "background save (scheduled)",
                self.start_bgsave(store, now_ms),
            );
        } else if store.save_point_due(now_ms) && self.may_retry_bgsave() {
            self.log_start(
                "background save (save point)",
                self.start_bgsave(store, now_ms),
            );
        } else if may_rewrite && self.rewrite_due(store) {
            self.log_start("automatic AOF rewrite", self.start_rewrite(store, now_ms));
        }
    }

    /// At shutdown, under the store lock, once the connections are done: stops the
    /// background jobs, saves the RDB file if SHUTDOWN SAVE asked or save points are set
    /// (and not SHUTDOWN NOSAVE), and flushes and fsyncs the AOF.
    pub fn shutdown(&self, store: &mut Store, now_ms: u64) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        store.end_snapshot();
        let p = store.persistence();
        let save = p.shutdown_save.unwrap_or(!store.config().save.is_empty());
        if save {
            match self.save(store, now_ms) {
                Ok(()) => info!("DB saved on disk"),
                Err(e) => error!("error saving the DB on shutdown: {e}"),
            }
        }
        self.inner
            .aof
            .push_effects(&mut lock(&self.inner.aof.state), store);
        {
            let mut p = lock(&self.inner.aof.state);
            p.stop = true;
            self.inner.aof.work.notify_all();
        }
        if let Some(writer) = lock(&self.inner.writer).take() {
            let _ = writer.join();
        }
    }

    /// Waits for the background jobs to stop (after [`Persistence::shutdown`], without
    /// the store lock: a job may need it to notice).
    pub fn join_jobs(&self) {
        let jobs = std::mem::take(&mut *lock(&self.inner.jobs));
        for job in jobs {
            let _ = job.join();
        }
    }

    fn log_start(&self, what: &str, result: Result<(), String>) {
        match result {
            Ok(()) => info!("{what} started"),
            Err(e) => warn!("{what} not started: {e}"),
        }
    }

    fn may_retry_bgsave(&self) -> bool {
        lock(&self.inner.last_bgsave_failure).map_or(true, |at| at.elapsed() >= BGSAVE_RETRY_DELAY)
    }

    fn may_retry_rewrite(&self) -> bool {
        match *lock(&self.inner.rewrite_failures) {
            (failures, Some(at)) if failures > 0 => {
                let wait = Duration::from_secs(1 << (failures - 1).min(12)).min(REWRITE_RETRY_MAX);
                at.elapsed() >= wait
            }
            _ => true,
        }
    }

    fn rewrite_due(&self, store: &Store) -> bool {
        let config = store.config();
        let pipe = &self.inner.aof;
        if !config.appendonly || config.auto_aof_rewrite_percentage == 0 {
            return false;
        }
        let size = pipe.size.load(Ordering::Relaxed);
        let base = pipe.base_size.load(Ordering::Relaxed).max(1);
        size >= config.auto_aof_rewrite_min_size
            && (size - base.min(size)) * 100 / base >= config.auto_aof_rewrite_percentage
    }

    /// CONFIG SET appendonly: turning it on creates the file with a rewrite (as Redis); off
    /// closes it.
    fn set_appendonly(&self, store: &mut Store, on: bool, now_ms: u64) {
        if on {
            info!("appendonly turned on: creating the AOF with a rewrite");
            if store.snapshot_running() {
                // The rewrite turns the log on when it starts, after the running job.
                store.persistence_mut().aof_rewrite_scheduled = true;
                let pipe = &self.inner.aof;
                pipe.set_on(&mut lock(&pipe.state), true);
            } else {
                self.log_start("AOF rewrite", self.start_rewrite(store, now_ms));
            }
        } else {
            info!("appendonly turned off: closing the AOF");
            store.set_effects_log(false);
            let mut p = lock(&self.inner.aof.state);
            self.inner.aof.set_on(&mut p, false);
            p.rewrite = None;
            p.close = true;
            self.inner.aof.work.notify_all();
        }
    }

    /// The adapter's lock on the store, for the replica link's thread.
    pub(crate) fn store_access(&self) -> Result<Arc<dyn StoreAccess>, String> {
        self.access()
    }

    fn access(&self) -> Result<Arc<dyn StoreAccess>, String> {
        lock(&self.inner.access)
            .as_ref()
            .and_then(Weak::upgrade)
            .ok_or_else(|| "persistence is not attached to a running server".to_owned())
    }

    /// SAVE: the RDB file, written now under the lock the caller holds.
    fn save(&self, store: &mut Store, now_ms: u64) -> Result<(), String> {
        let dir = PathBuf::from(&store.config().dir);
        let path = dir.join(&store.config().dbfilename);
        let temp = dir.join(format!("temp-{}.rdb", std::process::id()));
        let result = (|| {
            let file = File::create(&temp)?;
            let mut out = BufWriter::with_capacity(256 * 1024, file);
            rdb::write(store, now_ms, &mut out)?;
            let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
            install_file(&file, &temp, &path)
        })();
        match result {
            Ok(()) => {
                store.note_saved(now_ms);
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(format!(
                    "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
                    temp.file_name().unwrap_or_default().to_string_lossy(),
                    dir.display()
                ))
            }
        }
    }

    /// BGSAVE: a snapshot now, written by a thread of its own.
    fn start_bgsave(&self, store: &mut Store, now_ms: u64) -> Result<(), String> {
        let access = self.access()?;
        let Some(snapshot) = store.begin_snapshot(now_ms) else {
            store.persistence_mut().bgsave_scheduled = true;
            return Ok(());
        };
        let dir = PathBuf::from(&store.config().dir);
        let path = dir.join(&store.config().dbfilename);
        let writes_at_start = store.writes();
        let p = store.persistence_mut();
        p.bgsave_in_progress = true;
        p.bgsave_scheduled = false;
        p.bgsave_started_ms = now_ms;
        let this = self.clone();
        self.spawn_job("bgsave", move || {
            let temp = dir.join(format!("temp-bg-{}.rdb", std::process::id()));
            let result = this.write_rdb(&*access, snapshot, &temp, &path);
            if result.is_err() {
                let _ = fs::remove_file(&temp);
            }
            let failed = result.is_err();
            match &result {
                Ok(()) => info!("background saving terminated with success"),
                Err(e) => error!("background saving failed: {e}"),
            }
            *lock(&this.inner.last_bgsave_failure) = failed.then(Instant::now);
            access.with_store(&mut |store| {
                let p = store.persistence_mut();
                p.bgsave_in_progress = false;
                p.last_bgsave_secs = Some(crate::now_ms().saturating_sub(now_ms) / 1000);
                p.last_bgsave_ok = !failed;
                if !failed {
                    p.last_save_unix_s = Some(now_ms / 1000);
                    p.writes_at_last_save = writes_at_start;
                    p.rdb_saves += 1;
                }
                if failed {
                    store.end_snapshot();
                }
            });
        })
    }

    /// A replica's full sync: a snapshot now (or, while another runs, once it is done:
    /// [`Persistence::on_timer`] tries again), encoded in memory by a thread of its own and
    /// handed to the replica's connection.
    fn start_replica_sync(
        &self,
        store: &mut Store,
        now_ms: u64,
        client: redish_core::ClientId,
    ) -> Result<(), String> {
        let access = self.access()?;
        let Some(snapshot) = store.begin_replica_sync(client, now_ms) else {
            return Ok(());
        };
        info!("starting a full sync for replica {client}");
        let this = self.clone();
        self.spawn_job("repl-sync", move || {
            let result = this.encode_rdb(&*access, snapshot);
            access.with_store(&mut |store| match &result {
                Ok(rdb) => {
                    let now = crate::now_ms();
                    store.finish_replica_sync(client, rdb, now);
                    info!("full sync of replica {client}: {} bytes sent", rdb.len());
                }
                Err(e) => {
                    error!("full sync of replica {client} failed: {e}");
                    store.end_snapshot();
                    store.fail_replica_sync(client);
                }
            });
        })
    }

    /// A snapshot as an RDB file in memory, a few keys per hold of the store lock.
    fn encode_rdb(
        &self,
        access: &dyn StoreAccess,
        mut snapshot: Snapshot,
    ) -> Result<Vec<u8>, String> {
        snapshot.prepare();
        let mut out = Vec::new();
        let mut enc = RdbEncoder::new(snapshot.now_ms());
        enc.functions(snapshot.functions().iter().map(|c| &c[..]));
        let mut entries: Vec<SnapshotEntry> = Vec::new();
        loop {
            let step = self.step(access, &mut snapshot, &mut entries)?;
            for e in entries.drain(..) {
                if enc.current_db() != Some(e.db) {
                    let (keys, volatile) = snapshot.db_size(e.db);
                    enc.select_db(e.db, keys, volatile);
                }
                enc.entry(&e.key, &e.value, e.expire_at_ms);
            }
            out.extend_from_slice(enc.take_chunk());
            if step == SnapshotStep::Done {
                break;
            }
        }
        out.extend(enc.finish());
        Ok(out)
    }

    fn write_rdb(
        &self,
        access: &dyn StoreAccess,
        mut snapshot: Snapshot,
        temp: &Path,
        path: &Path,
    ) -> Result<(), String> {
        snapshot.prepare();
        let file = File::create(temp).map_err(|e| format!("{}: {e}", temp.display()))?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let mut enc = RdbEncoder::new(snapshot.now_ms());
        enc.functions(snapshot.functions().iter().map(|c| &c[..]));
        let mut entries: Vec<SnapshotEntry> = Vec::new();
        loop {
            let step = self.step(access, &mut snapshot, &mut entries)?;
            for e in entries.drain(..) {
                if enc.current_db() != Some(e.db) {
                    let (keys, volatile) = snapshot.db_size(e.db);
                    enc.select_db(e.db, keys, volatile);
                }
                enc.entry(&e.key, &e.value, e.expire_at_ms);
            }
            out.write_all(enc.take_chunk()).map_err(|e| e.to_string())?;
            if step == SnapshotStep::Done {
                break;
            }
        }
        out.write_all(&enc.finish()).map_err(|e| e.to_string())?;
        let file = out.into_inner().map_err(|e| e.error().to_string())?;
        install_file(&file, temp, path).map_err(|e| e.to_string())
    }

    /// One step of a job's snapshot, with the lock held only for it.
    fn step(
        &self,
        access: &dyn StoreAccess,
        snapshot: &mut Snapshot,
        entries: &mut Vec<SnapshotEntry>,
    ) -> Result<SnapshotStep, String> {
        if self.inner.cancelled.load(Ordering::SeqCst) {
            return Err("the server is shutting down".into());
        }
        let mut step = SnapshotStep::Abandoned;
        access.with_store(&mut |store| {
            step = store.snapshot_step(snapshot, SNAPSHOT_STEP_KEYS, entries);
        });
        match step {
            SnapshotStep::Abandoned => Err("the snapshot was abandoned".into()),
            step => Ok(step),
        }
    }

    /// BGREWRITEAOF (or turning appendonly on): a snapshot now, rewritten as a log by a
    /// thread of its own; the effects logged meanwhile are kept for the new file.
    fn start_rewrite(&self, store: &mut Store, now_ms: u64) -> Result<(), String> {
        let access = self.access()?;
        let pipe = self.inner.aof.clone();
        // What was logged before the snapshot belongs to the old file only.
        pipe.push_effects(&mut lock(&pipe.state), store);
        let Some(snapshot) = store.begin_snapshot(now_ms) else {
            store.persistence_mut().aof_rewrite_scheduled = true;
            return Ok(());
        };
        let logging = store.config().appendonly;
        store.set_effects_log(logging);
        {
            let mut p = lock(&pipe.state);
            pipe.set_on(&mut p, logging);
            p.rewrite = Some(Vec::new());
            // The new file's log starts after the snapshot's keys: it must SELECT first.
            p.log.forget_db();
        }
        let dir = PathBuf::from(&store.config().dir);
        let p = store.persistence_mut();
        p.aof_rewrite_in_progress = true;
        p.aof_rewrite_scheduled = false;
        p.aof_rewrite_started_ms = now_ms;
        let this = self.clone();
        self.spawn_job("aof-rewrite", move || {
            let temp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
            let result = this.write_rewrite(&*access, snapshot, &temp);
            if result.is_err() {
                let _ = fs::remove_file(&temp);
                lock(&pipe.state).rewrite = None;
            }
            match &result {
                Ok(()) => info!("background AOF rewrite finished successfully"),
                Err(e) => error!("background AOF rewrite failed: {e}"),
            }
            let failures = {
                let mut failures = lock(&this.inner.rewrite_failures);
                *failures = match result {
                    Ok(()) => (0, None),
                    Err(_) => (failures.0.saturating_add(1), Some(Instant::now())),
                };
                failures.0
            };
            access.with_store(&mut |store| {
                // Turning appendonly on waits for a rewrite to create the file: when that
                // fails, another is scheduled (as Redis does), after a delay.
                let waiting = store.config().appendonly && lock(&pipe.state).file.is_none();
                let p = store.persistence_mut();
                p.aof_rewrite_in_progress = false;
                p.last_aof_rewrite_secs = Some(crate::now_ms().saturating_sub(now_ms) / 1000);
                p.aof_rewrite_failures = failures;
                p.aof_last_bgrewrite_ok = result.is_ok();
                if result.is_ok() {
                    p.aof_rewrites += 1;
                } else {
                    p.aof_rewrite_scheduled |= waiting;
                    store.end_snapshot();
                }
            });
        })
    }

    fn write_rewrite(
        &self,
        access: &dyn StoreAccess,
        snapshot: Snapshot,
        temp: &Path,
    ) -> Result<(), String> {
        let file = write_log(snapshot, temp, |snapshot, entries| {
            self.step(access, snapshot, entries)
        })?;
        if self.inner.cancelled.load(Ordering::SeqCst) {
            return Err("the server is shutting down".into());
        }
        self.inner.aof.install(temp.to_owned(), file)
    }

    fn spawn_job(&self, name: &str, job: impl FnOnce() + Send + 'static) -> Result<(), String> {
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(job)
            .map_err(|e| format!("can't start a thread: {e}"))?;
        let mut jobs = lock(&self.inner.jobs);
        jobs.retain(|j| !j.is_finished());
        jobs.push(handle);
        Ok(())
    }
}

/// The [`Disk`] installed in the store: the commands' way to this module.
#[derive(Debug)]
struct DiskHandle(Persistence);

impl Disk for DiskHandle {
    fn save(&mut self, store: &mut Store, now_ms: u64) -> Result<(), String> {
        self.0.save(store, now_ms)
    }

    fn bgsave(&mut self, store: &mut Store, now_ms: u64) -> Result<(), String> {
        self.0.start_bgsave(store, now_ms)
    }

    fn rewrite_aof(&mut self, store: &mut Store, now_ms: u64) -> Result<(), String> {
        self.0.start_rewrite(store, now_ms)
    }

    fn aof_error(&self) -> Option<String> {
        self.0.inner.aof.failure()
    }

    fn sync_replica(
        &mut self,
        store: &mut Store,
        now_ms: u64,
        client: redish_core::ClientId,
    ) -> Result<(), String> {
        if store.snapshot_running() {
            // The timer starts it once the running snapshot is done.
            return Ok(());
        }
        self.0.start_replica_sync(store, now_ms, client)
    }
}

impl Pipe {
    /// Turns logging on or off (under the AOF lock, with its mirror).
    fn set_on(&self, p: &mut PipeState, on: bool) {
        p.on = on;
        self.on.store(on, Ordering::Release);
    }

    /// Moves the store's pending effects into the log, as one batch.
    fn push_effects(&self, p: &mut PipeState, store: &mut Store) {
        let mut any = false;
        while let Some(effect) = store.poll_effect() {
            p.log.append_effect(&effect);
            any = true;
        }
        if !any {
            return;
        }
        let bytes = p.log.take();
        if let Some(rewrite) = &mut p.rewrite {
            rewrite.extend_from_slice(&bytes);
        }
        p.tail += 1;
        if p.file.is_none() {
            // Off, or a rewrite is creating the file: the records live in its buffer.
            self.mark(&self.written, p.tail);
            self.mark(&self.synced, p.tail);
        } else if p.fsync == AppendFsync::Always {
            // Written and fsynced by the group's leader (see `Persistence::durable`).
            p.pending.extend_from_slice(&bytes);
        } else if p.syncing || !p.pending.is_empty() {
            // Behind an fsync: the writer thread writes them when it ends.
            p.pending.extend_from_slice(&bytes);
            self.work.notify_one();
        } else {
            // Written before the replies, as Redis does; fsynced by the writer thread
            // within a second (`everysec`) or by the kernel (`no`).
            let was_unsynced = p.unsynced;
            p.write_now(self, &bytes);
            if p.fsync == AppendFsync::EverySec && !was_unsynced {
                // Only the first write after an fsync needs the thread to set its timer:
                // waking it on every write cost more than the write itself.
                self.work.notify_one();
            }
        }
    }

    fn reached(&self, ticket: Ticket) -> bool {
        let done = if ticket.sync {
            &self.synced
        } else {
            &self.written
        };
        done.load(Ordering::Acquire) >= ticket.seq || (!ticket.wrote && self.failing())
    }

    /// The last write or fsync of the AOF failed, and none has succeeded since.
    fn failing(&self) -> bool {
        self.write_failed.load(Ordering::Acquire) || self.sync_failed.load(Ordering::Acquire)
    }

    /// The system's text for the error while [`Pipe::failing`].
    fn failure(&self) -> Option<String> {
        self.failing().then(|| lock(&self.failure).clone())
    }

    /// Records a failed write or fsync (`flag`): writes are refused from now on, and the
    /// batches that only read stop waiting for the disk.
    fn fail(&self, flag: &AtomicBool, error: &io::Error) {
        *lock(&self.failure) = strerror(error);
        flag.store(true, Ordering::Release);
        self.wake_waiters();
    }

    /// Hands a rewritten file to the writer thread and waits until it is in place.
    fn install(&self, temp: PathBuf, file: File) -> Result<(), String> {
        let mut p = lock(&self.state);
        p.install = Some((temp, file));
        p.install_result = None;
        self.work.notify_all();
        loop {
            if let Some(result) = p.install_result.take() {
                return result;
            }
            if p.stop {
                return Err("the server is shutting down".into());
            }
            p = self.installed.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn mark(&self, counter: &AtomicU64, seq: u64) {
        counter.fetch_max(seq, Ordering::AcqRel);
    }

    /// Wakes the connections whose tickets were reached and, if an `always` batch still
    /// waits, the first of those, to lead the next group.
    fn wake_waiters(&self) {
        let mut waiters = lock(&self.waiters);
        if waiters.is_empty() {
            return;
        }
        let mut next_leader = None;
        waiters.retain(|(ticket, waker)| {
            if self.reached(*ticket) {
                waker.wake_by_ref();
                false
            } else if ticket.sync && next_leader.is_none() {
                next_leader = Some(waker.clone());
                false
            } else {
                true
            }
        });
        drop(waiters);
        if let Some(waker) = next_leader {
            waker.wake();
        }
    }

    /// Keeps a latency for the store's latency monitor until the next [`Pipe::report`].
    /// Sub-millisecond ones are below any threshold; a bounded number waits.
    fn note_latency(&self, event: &'static str, ms: u64) {
        if ms == 0 {
            return;
        }
        let mut l = lock(&self.latencies);
        if l.len() < 256 {
            l.push((event, ms));
        }
    }

    /// Hands the latencies measured since the last call to the store (under its lock).
    fn report(&self, store: &mut Store, now_ms: u64) {
        let taken = std::mem::take(&mut *lock(&self.latencies));
        for (event, ms) in taken {
            store.handle_latency(event, ms, now_ms);
        }
    }

    /// Leads an `always` group on the caller's thread: writes what the connections
    /// appended, fsyncs it, and wakes those it covered. Does nothing if an fsync is
    /// already running (the caller then waits for it).
    fn lead_group(&self) {
        let mut p = lock(&self.state);
        p.leader = false;
        if p.syncing || p.fsync != AppendFsync::Always {
            return;
        }
        if !p.pending.is_empty() {
            let bytes = std::mem::take(&mut p.pending);
            p.write_now(self, &bytes);
            if !p.pending.is_empty() {
                // The write failed; the writer thread retries, then fsyncs.
                return;
            }
        }
        let tail = p.tail;
        let Some(handle) = p.unsynced.then(|| p.sync_handle.clone()).flatten() else {
            return;
        };
        p.unsynced = false;
        p.syncing = true;
        drop(p);
        self.fsync(&handle, tail);
        self.wake_waiters();
    }

    /// Fsyncs the AOF through `handle`, without the lock (`syncing` is set meanwhile), and
    /// marks the batches up to `tail` synced. On failure they stay unsynced, to retry.
    fn fsync(&self, handle: &File, tail: u64) -> bool {
        let start = Instant::now();
        let result = handle.sync_data();
        let took = start.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        if lock(&self.state).fsync == AppendFsync::Always {
            self.note_latency("aof-fsync-always", took / 1_000_000);
        }
        let average = self.fsync_ns.load(Ordering::Relaxed);
        self.fsync_ns
            .store(average - average / 8 + took / 8, Ordering::Relaxed);
        let mut p = lock(&self.state);
        p.syncing = false;
        if !p.pending.is_empty() && p.fsync != AppendFsync::Always {
            // Records left while it synced: the writer thread writes them now.
            self.work.notify_one();
        }
        match result {
            Ok(()) => {
                if self.sync_failed.swap(false, Ordering::AcqRel) {
                    warn!("AOF fsync error looks solved, Redis can write again.");
                }
                self.mark(&self.synced, tail);
                true
            }
            Err(e) => {
                if !self.sync_failed.load(Ordering::Acquire) {
                    error!("Fail to fsync the AOF file: {}", strerror(&e));
                }
                self.fail(&self.sync_failed, &e);
                p.unsynced = true;
                // The writer thread retries, after a pause.
                self.work.notify_one();
                false
            }
        }
    }

    /// The writer thread: writes what accumulated (`always`, or after a failed write),
    /// fsyncs as `appendfsync` says, puts rewritten files in place, and wakes the
    /// connections waiting.
    fn run_writer(self: &Arc<Self>) {
        let mut last_fsync = Instant::now();
        loop {
            let mut p = lock(&self.state);
            loop {
                // With `always`, connections lead the groups: the thread takes one only
                // when asked (fsyncs are slow) or when nobody has come for it in a second.
                let group_free = !p.leader && !p.syncing;
                let fsync_due = p.unsynced
                    && match p.fsync {
                        AppendFsync::Always => group_free,
                        AppendFsync::EverySec => last_fsync.elapsed() >= Duration::from_secs(1),
                        AppendFsync::No => false,
                    };
                let write_due =
                    !p.pending.is_empty() && (p.fsync != AppendFsync::Always || group_free);
                if write_due || p.install.is_some() || p.close || p.stop || fsync_due {
                    break;
                }
                let wait = if p.unsynced && p.fsync == AppendFsync::EverySec {
                    Duration::from_secs(1).saturating_sub(last_fsync.elapsed())
                } else {
                    Duration::from_secs(1)
                };
                p = self
                    .work
                    .wait_timeout(p, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                if Arc::strong_count(self) == 1 && p.pending.is_empty() {
                    // The server is gone without a shutdown (dropped in a test).
                    if let Some(f) = &p.file {
                        let _ = f.sync_data();
                    }
                    return;
                }
            }
            if !p.pending.is_empty() {
                let bytes = std::mem::take(&mut p.pending);
                p.write_now(self, &bytes);
                if !p.pending.is_empty() {
                    if p.stop {
                        // What is pending was never acknowledged: its clients are gone.
                        error!(
                            "{} bytes of the AOF could not be written at shutdown",
                            p.pending.len()
                        );
                        self.installed.notify_all();
                        return;
                    }
                    // The write failed: try again shortly, without the lock.
                    drop(p);
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
            if let Some((temp, mut new_file)) = p.install.take() {
                // First, without the lock (it can take long): the records logged since the
                // snapshot go to the new file, which is fsynced; connections keep logging,
                // to both the old file and the rewrite buffer.
                let first = std::mem::take(p.rewrite.get_or_insert_with(Vec::new));
                drop(p);
                let copied = new_file
                    .write_all(&first)
                    .and_then(|()| new_file.sync_data());
                drop(first);
                p = lock(&self.state);
                // Then, under the lock, the little logged meanwhile and the rename.
                let rest = p.rewrite.take().unwrap_or_default();
                let path = p.path.clone();
                let result = copied
                    .map_err(|e| format!("can't write the rewritten AOF: {e}"))
                    .and_then(|()| self.put_in_place(&temp, new_file, &rest, &path));
                let old = match result {
                    Ok(f) => {
                        // Everything logged is in the new file, pending records included.
                        p.pending.clear();
                        let old = p.file.take();
                        let on = p.on;
                        p.set_file(on.then_some(f));
                        let tail = p.tail;
                        self.mark(&self.written, tail);
                        self.mark(&self.synced, tail);
                        p.install_result = Some(Ok(()));
                        old
                    }
                    Err(e) => {
                        let _ = fs::remove_file(&temp);
                        p.install_result = Some(Err(e));
                        None
                    }
                };
                self.installed.notify_all();
                // Closing the old file may take a while (its last pages): not under the lock.
                drop(p);
                drop(old);
                self.wake_waiters();
                continue;
            }
            let tail = p.tail;
            let stop = p.stop;
            let close = std::mem::take(&mut p.close);
            let due = match p.fsync {
                AppendFsync::Always => true,
                AppendFsync::EverySec => last_fsync.elapsed() >= Duration::from_secs(1),
                AppendFsync::No => false,
            };
            let sync = (p.unsynced && ((due && !p.syncing) || stop || close))
                .then(|| p.sync_handle.clone())
                .flatten();
            if sync.is_some() {
                p.unsynced = false;
                p.syncing = true;
            }
            if close {
                p.set_file(None);
                self.size.store(0, Ordering::Relaxed);
            }
            drop(p);
            // Without the lock: connections go on appending the next group meanwhile.
            match sync.map(|handle| self.fsync(&handle, tail)) {
                Some(true) => last_fsync = Instant::now(),
                // Failed: not again at once (a failing disk would have it spin).
                Some(false) => std::thread::sleep(Duration::from_millis(100)),
                None => {}
            }
            self.wake_waiters();
            if stop {
                let _p = lock(&self.state);
                self.installed.notify_all();
                return;
            }
        }
    }

    /// Appends `rewrite` (the records logged since the snapshot) to the rewritten file,
    /// fsyncs it and renames it over the AOF. Returns the new file, open for appending.
    fn put_in_place(
        &self,
        temp: &Path,
        mut file: File,
        rewrite: &[u8],
        path: &Path,
    ) -> Result<File, String> {
        let result = (|| {
            file.write_all(rewrite)?;
            install_file(&file, temp, path)?;
            file.metadata().map(|m| m.len())
        })();
        match result {
            Ok(size) => {
                self.size.store(size, Ordering::Relaxed);
                self.base_size.store(size, Ordering::Relaxed);
                Ok(file)
            }
            Err(e) => Err(format!("can't put the rewritten AOF in place: {e}")),
        }
    }
}

/// Waits for a [`Ticket`]: completes with `None` once it is reached, or with a [`Claim`]
/// when the waiter is to lead the next `always` group (see [`Persistence::durable`]).
struct Wait<'a> {
    pipe: &'a Arc<Pipe>,
    ticket: Ticket,
}

impl<'a> Future for Wait<'a> {
    type Output = Option<Claim<'a>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (pipe, ticket) = (self.pipe, self.ticket);
        if pipe.reached(ticket) {
            return Poll::Ready(None);
        }
        let mut p = lock(&pipe.state);
        if ticket.sync && p.fsync == AppendFsync::Always && !p.leader && !p.syncing {
            // After a failed write or fsync the writer thread retries, at its pace.
            let failing = pipe.write_failed.load(Ordering::Relaxed)
                || pipe.sync_failed.load(Ordering::Relaxed);
            if !failing && pipe.fsync_ns.load(Ordering::Relaxed) < INLINE_FSYNC_NS {
                p.leader = true;
                let tail = p.tail;
                return Poll::Ready(Some(Claim { pipe, tail }));
            }
            // Slow or failing fsyncs: the writer thread takes the group, the runtime goes on.
            pipe.work.notify_one();
        }
        // Registered under the AOF lock, so that a group ending after this sees it.
        lock(&pipe.waiters).push((ticket, cx.waker().clone()));
        drop(p);
        // The ticket may have been reached between the check and the registration.
        if pipe.reached(ticket) {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

/// The lead of the next `always` group, taken when the AOF's last batch was `tail`.
struct Claim<'a> {
    pipe: &'a Arc<Pipe>,
    tail: u64,
}

impl Claim<'_> {
    fn lead(self) {
        let pipe = self.pipe;
        std::mem::forget(self);
        pipe.lead_group();
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        // Dropped before leading (its connection went away): let another lead.
        lock(&self.pipe.state).leader = false;
        self.pipe.wake_waiters();
    }
}

/// Writes `snapshot` at `temp` as an AOF, taking its keys through `step`; returns the
/// file, fsynced.
fn write_log(
    mut snapshot: Snapshot,
    temp: &Path,
    mut step: impl FnMut(&mut Snapshot, &mut Vec<SnapshotEntry>) -> Result<SnapshotStep, String>,
) -> Result<File, String> {
    snapshot.prepare();
    let file = File::create(temp).map_err(|e| format!("{}: {e}", temp.display()))?;
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    let mut log = AofWriter::new();
    for code in snapshot.functions() {
        log.append_function(code);
    }
    let mut entries: Vec<SnapshotEntry> = Vec::new();
    let now = snapshot.now_ms();
    loop {
        let step = step(&mut snapshot, &mut entries)?;
        for e in entries.drain(..) {
            if e.expire_at_ms.map_or(true, |at| at > now) {
                log.append_key(e.db, &e.key, &e.value, e.expire_at_ms);
            }
        }
        out.write_all(&log.take()).map_err(|e| e.to_string())?;
        if step == SnapshotStep::Done {
            break;
        }
    }
    let file = out.into_inner().map_err(|e| e.error().to_string())?;
    file.sync_all().map_err(|e| e.to_string())?;
    Ok(file)
}

/// Writes the whole of `store` as the AOF at `path` now (temporary file, fsync, rename).
fn write_aof_now(store: &mut Store, now_ms: u64, path: &Path) -> Result<(), String> {
    let snapshot = store
        .begin_snapshot(now_ms)
        .ok_or("a snapshot is already running")?;
    let temp = path.with_file_name(format!("temp-rewriteaof-{}.aof", std::process::id()));
    let result = write_log(snapshot, &temp, |snapshot, entries| {
        match store.snapshot_step(snapshot, SNAPSHOT_STEP_KEYS, entries) {
            SnapshotStep::Abandoned => Err("the snapshot was abandoned".into()),
            step => Ok(step),
        }
    })
    .and_then(|file| install_file(&file, &temp, path).map_err(|e| e.to_string()));
    store.end_snapshot();
    result.map_err(|e| {
        let _ = fs::remove_file(&temp);
        format!("can't write {}: {e}", path.display())
    })
}

/// Fsyncs `file` (written at `temp`), renames it to `path` and fsyncs the directory, so
/// that after a crash `path` holds either the old file or the whole new one.
fn install_file(file: &File, temp: &Path, path: &Path) -> io::Result<()> {
    file.sync_all()?;
    fs::rename(temp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The system's description of an OS error, as C's `strerror` gives it (`No space left on
/// device`), which Redis puts in its replies; Rust's text adds ` (os error 28)`.
fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match (e.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_owned(),
        _ => text,
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn keys(store: &Store) -> usize {
    store.dbs().iter().map(|db| db.len()).sum()
}

fn load_aof(store: &mut Store, path: &Path, now_ms: u64) -> Result<Loaded, String> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            info!("no append only file at {}: starting empty", path.display());
            return Ok(Loaded::nothing());
        }
        Err(e) => {
            return Err(format!(
                "can't read the append only file {}: {e}",
                path.display()
            ))
        }
    };
    let load = aof::load(&bytes).map_err(|e| {
        format!(
            "{e} in the append only file {}; fix it with redis-check-aof --fix (nothing was changed)",
            path.display()
        )
    })?;
    let mut truncated_bytes = None;
    if load.truncated {
        let dropped = (bytes.len() - load.valid_len) as u64;
        if !store.config().aof_load_truncated {
            return Err(format!(
                "the append only file {} ends with a torn record ({dropped} bytes at offset {}) and aof-load-truncated is no",
                path.display(),
                load.valid_len
            ));
        }
        warn!(
            "!!! Warning: short read while loading the AOF {}: dropping the last {dropped} bytes (a torn last record, offset {}) !!!",
            path.display(),
            load.valid_len
        );
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| format!("can't truncate {}: {e}", path.display()))?;
        file.set_len(load.valid_len as u64)
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("can't truncate {}: {e}", path.display()))?;
        truncated_bytes = Some(dropped);
    }
    redish_core::cmd::replay_aof(store, &load, now_ms)
        .map_err(|e| format!("{e} in the append only file {}", path.display()))?;
    let keys = keys(store);
    info!(
        "DB loaded from append only file {}: {keys} keys",
        path.display()
    );
    Ok(Loaded {
        source: Source::Aof(path.to_owned()),
        keys,
        truncated_bytes,
    })
}

/// Loads Redis 7's multi-part AOF (`appendonlydir/appendonly.aof.manifest`): the base (RDB
/// or RESP), then the incremental files in order. Only the last file may end torn.
fn load_multi_part(store: &mut Store, manifest: &Path, now_ms: u64) -> Result<Loaded, String> {
    let text = fs::read_to_string(manifest)
        .map_err(|e| format!("can't read the AOF manifest {}: {e}", manifest.display()))?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut base = None;
    let mut incr: Vec<(u64, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let field = |name: &str| {
            words
                .chunks(2)
                .find(|kv| kv[0] == name)
                .and_then(|kv| kv.get(1).copied())
        };
        let (Some(file), Some(kind)) = (field("file"), field("type")) else {
            return Err(format!(
                "bad line in the AOF manifest {}: {line}",
                manifest.display()
            ));
        };
        let seq = field("seq").and_then(|s| s.parse().ok()).unwrap_or(0);
        match kind {
            "b" => base = Some(file.to_owned()),
            "i" => incr.push((seq, file.to_owned())),
            _ => {} // history files are no longer part of the dataset
        }
    }
    incr.sort();
    let files: Vec<String> = base
        .into_iter()
        .chain(incr.into_iter().map(|(_, f)| f))
        .collect();
    let mut truncated_bytes = None;
    for (i, file) in files.iter().enumerate() {
        let path = dir.join(file);
        let bytes = fs::read(&path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
        let load = aof::load(&bytes).map_err(|e| format!("{e} in {}", path.display()))?;
        if load.truncated {
            if i + 1 < files.len() || !store.config().aof_load_truncated {
                return Err(format!(
                    "{} ends with a torn record at offset {}",
                    path.display(),
                    load.valid_len
                ));
            }
            warn!(
                "dropping a torn last record of {} (offset {})",
                path.display(),
                load.valid_len
            );
            truncated_bytes = Some((bytes.len() - load.valid_len) as u64);
        }
        redish_core::cmd::replay_aof(store, &load, now_ms)
            .map_err(|e| format!("{e} in {}", path.display()))?;
    }
    let keys = keys(store);
    info!(
        "DB loaded from the multi-part AOF {}: {keys} keys",
        manifest.display()
    );
    Ok(Loaded {
        source: Source::Aof(manifest.to_owned()),
        keys,
        truncated_bytes,
    })
}

fn load_rdb(store: &mut Store, path: &Path, now_ms: u64) -> Result<Loaded, String> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::nothing()),
        Err(e) => return Err(format!("can't read the RDB file {}: {e}", path.display())),
    };
    rdb::load_into(store, &bytes, now_ms).map_err(|e| {
        format!(
            "{e} in the RDB file {} (nothing was changed)",
            path.display()
        )
    })?;
    let keys = keys(store);
    info!("DB loaded from disk {}: {keys} keys", path.display());
    Ok(Loaded {
        source: Source::Rdb(path.to_owned()),
        keys,
        truncated_bytes: None,
    })
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
