//! One small request whose reply has no bound: `SRANDMEMBER s -2147483648` on a 3-member
//! set (and HRANDFIELD … WITHVALUES, ZRANDMEMBER … WITHSCORES) from a client that never
//! reads holds a bounded amount of server memory, while another client is answered; a
//! client that reads gets a well-formed start of the reply, and leaving halfway is fine.
//!
//! The servers run in this process: the process's resident set is the server's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use redish_tests::{connect, test_options, Adapter, TestServer};

const MIB: u64 = 1 << 20;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn raw(addr: SocketAddr, request: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    s
}

fn fill(addr: SocketAddr) {
    let mut con = connect(addr);
    let _: () = redis::cmd("SADD")
        .arg("s")
        .arg(&["a", "b", "c"])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg(&["f1", "v1", "f2", "v2", "f3", "v3"])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg("z")
        .arg(&["1", "a", "2", "b", "3", "c"])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
}

/// Clients per command (`HOSTILE_N`, default 3).
fn per_kind() -> usize {
    std::env::var("HOSTILE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

const HOSTILE: [&str; 3] = [
    "SRANDMEMBER s -2147483648\r\n",
    "HRANDFIELD h -2147483648 WITHVALUES\r\n",
    "ZRANDMEMBER z -2147483648 WITHSCORES\r\n",
];

/// The tests measure this process's memory: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn non_reading_clients_stay_bounded(adapter: Adapter) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = TestServer::start(adapter, test_options());
    let addr = server.addr();
    fill(addr);
    let mut other = connect(addr);
    let before = rss_bytes();
    // Three of each, never read.
    let hostile: Vec<TcpStream> = HOSTILE
        .iter()
        .flat_map(|r| (0..per_kind()).map(move |_| raw(addr, r)))
        .collect();
    // The first seconds fill the hostile sockets' kernel buffers (a few MiB each), which
    // takes CPU; then they hold: measure both.
    let start = Instant::now();
    let mut first = Duration::ZERO;
    let mut worst = Duration::ZERO;
    let mut peak = before;
    while start.elapsed() < Duration::from_secs(5) {
        let t = Instant::now();
        let pong: String = redis::cmd("PING").query(&mut other).unwrap();
        let v: String = redis::cmd("GET").arg("k").query(&mut other).unwrap();
        assert_eq!((pong.as_str(), v.as_str()), ("PONG", "v"));
        if t.duration_since(start) < Duration::from_secs(3) {
            first = first.max(t.elapsed());
        } else {
            worst = worst.max(t.elapsed());
        }
        peak = peak.max(rss_bytes());
        std::thread::sleep(Duration::from_millis(10));
    }
    let growth = peak.saturating_sub(before);
    eprintln!(
        "{adapter:?}: {} non-reading clients, RSS growth {} KiB, worst PING+GET {first:?} \
         in the first 3 s, {worst:?} after",
        hostile.len(),
        growth / 1024
    );
    assert!(growth < 100 * MIB, "RSS grew by {} MiB", growth / MIB);
    assert!(
        first < Duration::from_secs(10),
        "other client waited {first:?}"
    );
    assert!(
        worst < Duration::from_secs(1),
        "other client waited {worst:?}"
    );
    drop(hostile);
    let mut con = connect(addr);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    server.stop();
}

/// Reads `n` bytes of the reply to `request`, which must start with `header`.
fn read_start(addr: SocketAddr, request: &str, header: &[u8], n: usize) -> Vec<u8> {
    let mut s = raw(addr, request);
    let mut got = vec![0u8; n];
    s.read_exact(&mut got).expect("the reply's start");
    assert!(
        got.starts_with(header),
        "{:?}",
        String::from_utf8_lossy(&got[..40])
    );
    got
}

fn readers_get_well_formed_replies(adapter: Adapter) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = TestServer::start(adapter, test_options());
    let addr = server.addr();
    fill(addr);
    let before = rss_bytes();
    for _ in 0..3 {
        // 8 MiB of picks, then the client leaves mid-reply.
        let got = read_start(addr, HOSTILE[0], b"*2147483648\r\n", 8 << 20);
        let body = String::from_utf8(got[13..].to_vec()).unwrap();
        let mut lines = body.split("\r\n");
        let mut elements = 0;
        while let (Some(len), Some(m)) = (lines.next(), lines.next()) {
            if lines.clone().next().is_none() {
                break; // the cut
            }
            assert_eq!(len, "$1");
            assert!(["a", "b", "c"].contains(&m), "{m:?}");
            elements += 1;
        }
        assert!(elements > 1_000_000);
    }
    let got = read_start(addr, HOSTILE[1], b"*4294967296\r\n", 1 << 20);
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("$2\r\nf1\r\n$2\r\nv1\r\n") || text.contains("$2\r\nf2\r\n$2\r\nv2\r\n"));
    // RESP3: pairs.
    let got = read_start(
        addr,
        &format!("HELLO 3\r\n{}", HOSTILE[2]),
        b"%7\r\n",
        1 << 20,
    );
    let text = String::from_utf8_lossy(&got);
    let start = text
        .find("*2147483648\r\n*2\r\n$1\r\n")
        .expect("nested pairs");
    assert!(text[start..].contains(",2\r\n*2\r\n"));
    // The whole of a moderate one, then the pipeline goes on.
    let mut s = raw(addr, "SRANDMEMBER s -100000\r\nPING\r\n");
    let want = 9 + 100_000 * 7 + 7;
    let mut got = vec![0u8; want];
    s.read_exact(&mut got).unwrap();
    assert!(got.starts_with(b"*100000\r\n$1\r\n"));
    assert!(got.ends_with(b"\r\n+PONG\r\n"));
    let mut con = connect(addr);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let growth = rss_bytes().saturating_sub(before);
    assert!(growth < 100 * MIB, "RSS grew by {} MiB", growth / MIB);
    server.stop();
}

#[test]
fn tokio_non_reading_clients_stay_bounded() {
    non_reading_clients_stay_bounded(Adapter::Tokio);
}

#[test]
fn async_std_non_reading_clients_stay_bounded() {
    non_reading_clients_stay_bounded(Adapter::AsyncStd);
}

#[test]
fn tokio_readers_get_well_formed_replies() {
    readers_get_well_formed_replies(Adapter::Tokio);
}

#[test]
fn async_std_readers_get_well_formed_replies() {
    readers_get_well_formed_replies(Adapter::AsyncStd);
}
