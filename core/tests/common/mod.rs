//! Shared by the differential tests: a real `redis-server` child on a private Unix socket,
//! a blocking RESP connection to it, and a small RESP reader written here rather than
//! borrowed from redish, so the harness does not trust what it tests.
//!
//! Without `redis-server` on the PATH (or at `$REDISH_REDIS_SERVER`), [`Redis::start`]
//! prints `SKIP: redis-server not found` and returns `None`, unless
//! `REDISH_REQUIRE_REDIS=1`, which makes it panic instead.

// The harness drives a real server: it reads the clock and the environment and sleeps,
// which `clippy.toml` forbids to core itself.
#![allow(clippy::disallowed_methods, dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a starting redis-server may take to answer PING with PONG.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A redis-server child on a private Unix socket; killed and cleaned up on drop.
pub struct Redis {
    child: Child,
    dir: PathBuf,
    /// The socket path.
    pub socket: PathBuf,
}

impl Redis {
    /// Starts a server with `extra` arguments, or returns `None` if there is none to start.
    pub fn start(extra: &[&str]) -> Option<Redis> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let require = std::env::var("REDISH_REQUIRE_REDIS").is_ok_and(|v| v == "1");
        let binary =
            std::env::var("REDISH_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let dir = std::env::temp_dir().join(format!(
            "redish-diffsrv-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let socket = dir.join("redis.sock");
        let spawned = Command::new(&binary)
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_dir_all(&dir);
                assert!(
                    !require,
                    "REDISH_REQUIRE_REDIS=1 but {binary} was not found"
                );
                println!("SKIP: redis-server not found");
                return None;
            }
            Err(e) => panic!("cannot start {binary}: {e}"),
        };
        let mut redis = Redis { child, dir, socket };
        redis.wait_ready();
        Some(redis)
    }

    /// Waits until the server answers PING with PONG. It accepts connections before it has
    /// loaded its data (and answers `-LOADING` meanwhile), so a connection alone is not
    /// enough; the wait is bounded by [`READY_TIMEOUT`].
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("no connection");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("redis-server exited ({status}) before it was ready: {last}");
            }
            if let Some(mut conn) = self.try_connect() {
                match conn.call_checked(&[b"PING".to_vec()]) {
                    Some(reply) if reply == b"+PONG\r\n" => return,
                    Some(reply) => last = show(&reply),
                    None => last = "connection closed".to_owned(),
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server not ready within {READY_TIMEOUT:?}: {last}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new connection.
    pub fn connect(&self) -> Conn {
        self.try_connect().expect("connect to redis-server")
    }

    /// A new connection, or `None` if the server does not accept one.
    fn try_connect(&self) -> Option<Conn> {
        let stream = UnixStream::connect(&self.socket).ok()?;
        // Every read is bounded: a reply that never comes fails the test instead of hanging.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Some(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// The address Redis shows for clients of this socket (`path:0`).
    pub fn client_addr(&self) -> String {
        format!("{}:0", self.socket.display())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A connection to the real server.
pub struct Conn {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Sends a command and reads one reply.
    pub fn call(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        self.send(args);
        self.read().expect("redis-server closed the connection")
    }

    /// Sends a command and reads one reply; `None` if the server closed the connection or
    /// did not answer within the read timeout.
    pub fn call_checked(&mut self, args: &[Vec<u8>]) -> Option<Vec<u8>> {
        self.stream.write_all(&encode(args)).ok()?;
        loop {
            if let Some(n) = frame_len(&self.buf, 0) {
                return Some(self.buf.drain(..n).collect());
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends a command without reading.
    pub fn send(&mut self, args: &[Vec<u8>]) {
        self.stream.write_all(&encode(args)).unwrap();
    }

    /// Reads one reply; `None` if the server closed the connection.
    pub fn read(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(n) = frame_len(&self.buf, 0) {
                return Some(self.buf.drain(..n).collect());
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = match self.stream.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => panic!("no reply from redis-server within the timeout: {e}"),
            };
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A request as RESP.
pub fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The length of the complete RESP2/RESP3 frame at `buf[at..]`, if it is all there.
pub fn frame_len(buf: &[u8], at: usize) -> Option<usize> {
    let line_end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let head = &buf[at + 1..line_end];
    let after = line_end + 2;
    let num = || -> i64 { std::str::from_utf8(head).unwrap().parse().unwrap() };
    match buf[at] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after - at),
        b'$' | b'=' | b'!' => {
            let n = num();
            if n < 0 {
                return Some(after - at);
            }
            let end = after + n as usize + 2;
            (buf.len() >= end).then_some(end - at)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = num();
            let items = if matches!(buf[at], b'%' | b'|') {
                n * 2
            } else {
                n
            };
            let mut pos = after;
            for _ in 0..items.max(0) {
                pos += frame_len(buf, pos)?;
            }
            if buf[at] == b'|' {
                pos += frame_len(buf, pos)?;
            }
            Some(pos - at)
        }
        other => panic!("not RESP: {:?}", other as char),
    }
}

/// A parsed reply, for comparing structure rather than bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `+`, `$`, `=` (format dropped), `(` and `,` as their text.
    Str(String),
    /// `-` and `!`.
    Err(String),
    /// `:`.
    Int(i64),
    /// `_`, `$-1`, `*-1`.
    Nil,
    /// `#`.
    Bool(bool),
    /// `*`, `~`, `>`.
    Array(Vec<Value>),
    /// `%`.
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// The string inside, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses one complete reply.
pub fn parse(buf: &[u8]) -> Value {
    let (v, n) = parse_at(buf, 0);
    assert_eq!(n, buf.len(), "trailing bytes after a reply");
    v
}

fn parse_at(buf: &[u8], at: usize) -> (Value, usize) {
    let line_end = at + buf[at..].windows(2).position(|w| w == b"\r\n").unwrap();
    let head = std::str::from_utf8(&buf[at + 1..line_end]).unwrap();
    let after = line_end + 2;
    let text = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
    match buf[at] {
        b'+' | b'(' | b',' => (Value::Str(head.to_owned()), after),
        b'-' => (Value::Err(head.to_owned()), after),
        b':' => (Value::Int(head.parse().unwrap()), after),
        b'_' => (Value::Nil, after),
        b'#' => (Value::Bool(head == "t"), after),
        b'$' | b'=' | b'!' => {
            let n: i64 = head.parse().unwrap();
            if n < 0 {
                return (Value::Nil, after);
            }
            let body = &buf[after..after + n as usize];
            let v = match buf[at] {
                b'=' => Value::Str(text(&body[4..])),
                b'!' => Value::Err(text(body)),
                _ => Value::Str(text(body)),
            };
            (v, after + n as usize + 2)
        }
        b'*' | b'~' | b'>' => {
            let n: i64 = head.parse().unwrap();
            if n < 0 {
                return (Value::Nil, after);
            }
            let mut pos = after;
            let mut items = Vec::new();
            for _ in 0..n {
                let (v, next) = parse_at(buf, pos);
                items.push(v);
                pos = next;
            }
            (Value::Array(items), pos)
        }
        b'%' => {
            let n: i64 = head.parse().unwrap();
            let mut pos = after;
            let mut items = Vec::new();
            for _ in 0..n {
                let (k, next) = parse_at(buf, pos);
                let (v, next) = parse_at(buf, next);
                items.push((k, v));
                pos = next;
            }
            (Value::Map(items), pos)
        }
        other => panic!("not RESP: {:?}", other as char),
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A reply for a failure message.
pub fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\\r\\n")
}
pub mod notify;
