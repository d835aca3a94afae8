//! `maxmemory 64mb` with `allkeys-lru` as a cache runs it: writing far more than the limit
//! keeps `used_memory` within 5% of it and the resident set bounded, on both servers.
//!
//! The servers run in this process, so this test binary installs the counting allocator the
//! server binaries install (`redish_host::alloc`): `used_memory` is then the bytes really
//! held, the test's own client included (a few buffers).
//!
//! `REDISH_EVICT_TEST_MB` sets how much is written (default 256 MiB, so that a debug build
//! stays quick; run with 1024 in release for the 1 GB figure:
//! `REDISH_EVICT_TEST_MB=1024 cargo test --release -p redish-tests --test eviction`).

use redis::Value;
use redish_host::alloc::Counting;
use redish_tests::{connect, test_options, Adapter, TestServer};

#[global_allocator]
static GLOBAL: Counting<std::alloc::System> = Counting::new(std::alloc::System, "libc");

const LIMIT: u64 = 64 << 20;
const VALUE_BYTES: usize = 10_000;
const BATCH: usize = 100;

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(con).unwrap();
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .trim()
        .to_owned()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn fill_past_the_limit(adapter: Adapter) {
    redish_host::alloc::register(&GLOBAL);
    let mb: u64 = std::env::var("REDISH_EVICT_TEST_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let mut options = test_options();
    options.settings.push(("maxmemory".into(), "64mb".into()));
    options
        .settings
        .push(("maxmemory-policy".into(), "allkeys-lru".into()));
    let server = TestServer::start(adapter, options);
    let mut con = connect(server.addr());
    let allocator = info_field(&mut con, "memory", "mem_allocator");
    assert_eq!(
        allocator, "libc",
        "the counting allocator feeds used_memory"
    );
    let rss_before = rss_bytes();
    let value = vec![b'x'; VALUE_BYTES];
    let total = (mb << 20) as usize / VALUE_BYTES;
    let (mut max_used, mut max_rss) = (0u64, 0u64);
    let mut written = 0;
    while written < total {
        let mut pipe = redis::pipe();
        for i in written..(written + BATCH).min(total) {
            pipe.cmd("SET").arg(format!("key:{i}")).arg(&value[..]);
        }
        let replies: Vec<Value> = pipe.query(&mut con).unwrap();
        for r in &replies {
            assert!(matches!(r, Value::Okay), "a SET was refused: {r:?}");
        }
        written += BATCH;
        if written % (BATCH * 20) == 0 || written >= total {
            let used: u64 = info_field(&mut con, "memory", "used_memory")
                .parse()
                .unwrap();
            max_used = max_used.max(used);
            max_rss = max_rss.max(rss_bytes());
        }
    }
    let evicted: u64 = info_field(&mut con, "stats", "evicted_keys")
        .parse()
        .unwrap();
    let keys: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    eprintln!(
        "{adapter:?}: wrote {mb} MiB in {total} keys; {keys} kept, {evicted} evicted; \
         max used_memory {max_used}, max RSS {max_rss} (before {rss_before})"
    );
    assert!(
        max_used <= LIMIT + LIMIT / 20,
        "used_memory {max_used} over 64 MiB + 5%"
    );
    assert!(evicted > 0 && keys > 0);
    assert_eq!(keys + evicted, total as u64, "every key kept or evicted");
    // The resident set follows: the data that was evicted was given back for reuse.
    assert!(
        max_rss <= rss_before + 3 * LIMIT,
        "RSS grew from {rss_before} to {max_rss}"
    );
    server.stop();
}

#[test]
fn maxmemory_allkeys_lru_holds_used_memory_tokio() {
    fill_past_the_limit(Adapter::Tokio);
}

#[test]
fn maxmemory_allkeys_lru_holds_used_memory_async_std() {
    fill_past_the_limit(Adapter::AsyncStd);
}
