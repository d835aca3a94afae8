//! A full disk under the server's files, on a small tmpfs each test mounts (root only; a
//! skip elsewhere, a failure under `REDISH_REQUIRE_REDIS=1`): writes are refused with
//! Redis's `-MISCONF` texts, reads go on, nothing acknowledged is lost, and writes resume by
//! themselves once space returns.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redish_tests::{connect, required, wait_until, Adapter, TempDir};

use super::{check_aof_with_redis_tool, redis_tool, start_redis, ChildServer};

/// A tmpfs of its own, unmounted when dropped.
struct SmallDisk {
    dir: TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = TempDir::new("small-disk");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        required("a tmpfs mount (root)", mounted).then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with a file of its own but for `free` bytes; returns its path.
    fn fill(&self, free: u64) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(free)).unwrap();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// `CODE detail` of an error reply, as the client received it.
fn error_text(e: &redis::RedisError) -> String {
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

const AOF_FULL: &str = "MISCONF Errors writing to the AOF file: No space left on device";

/// 1000 bytes for key `i` that RDB's LZF cannot shrink.
fn value(i: u64) -> String {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..1000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

/// `appendfsync always` on a disk that fills up: the write that hit the full disk is not
/// acknowledged until it is on disk; meanwhile others' writes and PING get `-MISCONF`, and
/// reads are answered. Once space returns, writes go on by themselves; after a SIGKILL the
/// file loads whole (the record cut short by the full disk was undone) with every
/// acknowledged write, and redis-check-aof accepts it.
pub(super) fn aof_disk_full_refuses_writes_and_loses_nothing(adapter: Adapter) {
    let Some(disk) = SmallDisk::mount("8m") else {
        return;
    };
    let dir = disk.path().display().to_string();
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--auto-aof-rewrite-percentage",
        "0",
        "--aof-load-truncated",
        "no",
        "--dir",
        dir.as_str(),
    ];
    let server = ChildServer::start(adapter, &args);
    let filler = disk.fill(128 * 1024);
    let (acked, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let writer = {
        let (acked, stop, addr) = (acked.clone(), stop.clone(), server.addr);
        std::thread::spawn(move || {
            let mut con = connect(addr);
            let mut refused = 0;
            while !stop.load(Ordering::Relaxed) {
                let i = acked.load(Ordering::Relaxed);
                let set: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(format!("k:{i}"))
                    .arg(value(i))
                    .query(&mut con);
                match set {
                    Ok(()) => {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        assert_eq!(error_text(&e), AOF_FULL, "the writer's SET failed: {e:?}");
                        refused += 1;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            }
            refused
        })
    };
    let mut probe = connect(server.addr);
    wait_until(
        Duration::from_secs(30),
        "writes refused on a full disk",
        || {
            let set: redis::RedisResult<()> =
                redis::cmd("SET").arg("probe").arg(1).query(&mut probe);
            set.is_err_and(|e| error_text(&e) == AOF_FULL)
        },
    );
    let ping: redis::RedisResult<String> = redis::cmd("PING").query(&mut probe);
    assert_eq!(error_text(&ping.unwrap_err()), AOF_FULL, "PING, as Redis");
    let first: String = redis::cmd("GET").arg("k:0").query(&mut probe).unwrap();
    assert_eq!(first, value(0), "reads go on");
    wait_until(
        Duration::from_secs(10),
        "INFO's aof_last_write_status:err",
        || {
            let info: String = redis::cmd("INFO")
                .arg("persistence")
                .query(&mut probe)
                .unwrap();
            info.contains("aof_last_write_status:err")
        },
    );

    std::fs::remove_file(filler).unwrap();
    wait_until(Duration::from_secs(30), "writes accepted again", || {
        let set: redis::RedisResult<()> = redis::cmd("SET").arg("probe").arg(2).query(&mut probe);
        set.is_ok()
    });
    let resumed = acked.load(Ordering::Relaxed);
    wait_until(Duration::from_secs(30), "the writer going on", || {
        acked.load(Ordering::Relaxed) >= resumed + 20
    });
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    let acked = acked.load(Ordering::Relaxed);
    server.kill();

    let server = ChildServer::start(adapter, &args);
    let mut con = connect(server.addr);
    for i in 0..acked {
        let v: Option<String> = redis::cmd("GET")
            .arg(format!("k:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(
            v,
            Some(value(i)),
            "acknowledged write k:{i} of {acked} lost"
        );
    }
    let probe: String = redis::cmd("GET").arg("probe").query(&mut con).unwrap();
    assert_eq!(probe, "2");
    server.kill();
    check_aof_with_redis_tool(&disk.path().join("appendonly.aof"));
}

/// A BGSAVE that fails on a full disk, with save points set and
/// `stop-writes-on-bgsave-error yes` (the default): writes get Redis's `-MISCONF`, reads go
/// on, and the next BGSAVE that succeeds lifts it.
pub(super) fn failed_bgsave_refuses_writes(adapter: Adapter) {
    let Some(disk) = SmallDisk::mount("1m") else {
        return;
    };
    let dir = disk.path().display().to_string();
    let server = ChildServer::start(adapter, &["--save", "3600 1", "--dir", dir.as_str()]);
    let mut con = connect(server.addr);
    let (set, get) = misconf_after_failed_bgsave(&mut con, &disk);
    assert_eq!(set, BGSAVE_FAILED);
    assert_eq!(get, value(1));
    let _: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    wait_until(Duration::from_secs(30), "a BGSAVE that succeeds", || {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query(&mut con)
            .unwrap();
        info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_last_bgsave_status:ok")
    });
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg(1)
        .query(&mut con)
        .unwrap();
    server.kill();
}

const BGSAVE_FAILED: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Fills `disk` but for a little, starts a BGSAVE bigger than that, and once it failed
/// returns the error of a SET and a GET's reply. The filler is gone afterwards.
fn misconf_after_failed_bgsave(con: &mut redis::Connection, disk: &SmallDisk) -> (String, String) {
    let filler = disk.fill(4096);
    for i in 0..100 {
        let _: () = redis::cmd("SET")
            .arg(format!("k:{i}"))
            .arg(value(i))
            .query(con)
            .unwrap();
    }
    let _: String = redis::cmd("BGSAVE").query(con).unwrap();
    wait_until(Duration::from_secs(30), "the BGSAVE to fail", || {
        let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
        info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_last_bgsave_status:err")
    });
    let set: redis::RedisResult<()> = redis::cmd("SET").arg("x").arg(1).query(con);
    let get: String = redis::cmd("GET").arg("k:1").query(con).unwrap();
    std::fs::remove_file(filler).unwrap();
    (error_text(&set.unwrap_err()), get)
}

/// redis-server on the same kind of full disk gives the same replies: for a failed BGSAVE,
/// and for an AOF it cannot write (`everysec`: with `always` Redis exits).
#[test]
fn misconf_replies_match_redis() {
    let Some(program) = redis_tool("redis-server") else {
        return;
    };
    let Some(disk) = SmallDisk::mount("1m") else {
        return;
    };
    let (mut redis, mut con) = start_redis(&program, disk.path(), &["--save", "3600 1"]);
    let (set, get) = misconf_after_failed_bgsave(&mut con, &disk);
    let _ = redis.kill();
    let _ = redis.wait();
    assert_eq!((set.as_str(), get), (BGSAVE_FAILED, value(1)));

    let Some(disk) = SmallDisk::mount("1m") else {
        return;
    };
    let (mut redis, mut con) = start_redis(
        &program,
        disk.path(),
        &["--appendonly", "yes", "--appendfsync", "everysec"],
    );
    let _filler = disk.fill(64 * 1024);
    let mut refused = None;
    for i in 0..1000 {
        let set: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("k:{i}"))
            .arg(value(i))
            .query(&mut con);
        if let Err(e) = set {
            refused = Some(error_text(&e));
            break;
        }
    }
    let ping: redis::RedisResult<String> = redis::cmd("PING").query(&mut con);
    let get: Option<String> = redis::cmd("GET").arg("k:0").query(&mut con).unwrap();
    let _ = redis.kill();
    let _ = redis.wait();
    assert_eq!(refused.as_deref(), Some(AOF_FULL));
    assert_eq!(error_text(&ping.unwrap_err()), AOF_FULL);
    assert_eq!(get, Some(value(0)));
}
