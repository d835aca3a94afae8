//! A script that runs too long, against redis-server and both adapters: past
//! `busy-reply-threshold` the other clients get `-BUSY` (and MULTI/EXEC, FUNCTION KILL,
//! SHUTDOWN answer as Redis's), SCRIPT KILL stops a script that has not written — even one
//! that catches the error with `pcall` — and a script that wrote is UNKILLABLE but for
//! SHUTDOWN NOSAVE; FUNCTION KILL stops a function the same way. Every reply is compared byte for byte with redis-server's, and so is
//! INFO errorstats afterwards.
//!
//! Run: `REDISH_REQUIRE_REDIS=1 cargo test -p redish-tests --test busy_script`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redish_tests::{redis_tool, test_options, Adapter, TempDir, TestServer, IO_TIMEOUT};

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A raw client: one request, the bytes of one reply.
struct Client {
    reader: BufReader<Box<dyn Stream>>,
}

impl Client {
    fn send(&mut self, args: &[&str]) {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.reader
            .get_mut()
            .write_all(out.as_bytes())
            .expect("write");
    }

    /// The bytes of one whole reply; empty at the end of the stream.
    fn reply(&mut self) -> String {
        let mut line = String::new();
        if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
            return String::new();
        }
        let rest: i64 = line[1..].trim_end().parse().unwrap_or(0);
        match line.as_bytes()[0] {
            b'$' if rest >= 0 => {
                let mut body = vec![0; rest as usize + 2];
                self.reader.read_exact(&mut body).expect("bulk");
                line.push_str(&String::from_utf8_lossy(&body));
            }
            b'*' => {
                for _ in 0..rest.max(0) {
                    line.push_str(&self.reply());
                }
            }
            _ => {}
        }
        line
    }

    fn call(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.reply()
    }
}

/// What the scenario needs of a server: new clients.
trait Server {
    fn client(&self) -> Client;
}

struct Redis {
    child: Child,
    sock: std::path::PathBuf,
}

impl Redis {
    fn start(program: &Path, dir: &Path) -> Redis {
        let sock = dir.join("redis.sock");
        let child = Command::new(program)
            .args(["--port", "0", "--unixsocket"])
            .arg(&sock)
            .arg("--dir")
            .arg(dir)
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(&sock).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { child, sock }
    }
}

impl Server for Redis {
    fn client(&self) -> Client {
        let s = UnixStream::connect(&self.sock).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        Client {
            reader: BufReader::new(Box::new(s)),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Ours(TestServer);

impl Server for Ours {
    fn client(&self) -> Client {
        let s = TcpStream::connect_timeout(&self.0.addr(), IO_TIMEOUT).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        Client {
            reader: BufReader::new(Box::new(s)),
        }
    }
}

/// The replies the scenario saw, in order, for comparison.
fn scenario(server: &dyn Server) -> Vec<String> {
    let mut seen = Vec::new();
    let mut b = server.client();
    seen.push(b.call(&["CONFIG", "SET", "busy-reply-threshold", "200"]));
    seen.push(b.call(&["CONFIG", "GET", "lua-time-limit"]));
    seen.push(b.call(&["CONFIG", "RESETSTAT"]));
    seen.push(b.call(&["SCRIPT", "KILL"]));

    // A script that never ends and never writes: BUSY for others, then SCRIPT KILL.
    let mut a = server.client();
    a.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
    std::thread::sleep(Duration::from_millis(50));
    // Held until the threshold passes, then refused.
    seen.push(b.call(&["GET", "k"]));
    seen.push(b.call(&["PING"]));
    seen.push(b.call(&["NOSUCHCOMMAND"]));
    seen.push(b.call(&["GET"]));
    seen.push(b.call(&["MULTI"]));
    seen.push(b.call(&["MULTI"]));
    seen.push(b.call(&["SET", "k", "v"]));
    seen.push(b.call(&["EXEC"]));
    seen.push(b.call(&["SHUTDOWN"]));
    seen.push(b.call(&["FUNCTION", "KILL"]));
    seen.push(b.call(&["SCRIPT", "KILL"]));
    seen.push(a.reply());
    seen.push(b.call(&["SCRIPT", "KILL"]));
    seen.push(a.call(&["PING"]));
    seen.push(b.call(&["GET", "k"]));

    // Catching the kill with pcall does not save it.
    a.send(&[
        "EVAL",
        "while true do pcall(function() local i = 0 while true do i = i + 1 end end) end",
        "0",
    ]);
    std::thread::sleep(Duration::from_millis(50));
    seen.push(b.call(&["PING"]));
    seen.push(b.call(&["SCRIPT", "KILL"]));
    seen.push(a.reply());
    seen.push(b.call(&["PING"]));

    // A function: FUNCTION KILL stops it, SCRIPT KILL is the wrong kind.
    seen.push(b.call(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=spin\nredis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)",
    ]));
    a.send(&["FCALL", "spin", "0"]);
    std::thread::sleep(Duration::from_millis(50));
    seen.push(b.call(&["PING"]));
    seen.push(b.call(&["SCRIPT", "KILL"]));
    seen.push(b.call(&["FUNCTION", "KILL"]));
    seen.push(a.reply());
    seen.push(b.call(&["FUNCTION", "KILL"]));

    // What INFO counted of all that.
    let info = b.call(&["INFO", "errorstats"]);
    let stats: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("errorstat_"))
        .collect();
    seen.push(stats.join("\n"));

    // A script that wrote: UNKILLABLE, and SHUTDOWN NOSAVE ends the server.
    a.send(&["EVAL", "redis.call('SET', 'w', '1') while true do end", "0"]);
    std::thread::sleep(Duration::from_millis(50));
    seen.push(b.call(&["PING"]));
    seen.push(b.call(&["SCRIPT", "KILL"]));
    seen.push(b.call(&["SHUTDOWN"]));
    seen.push(b.call(&["SHUTDOWN", "NOSAVE"]));
    seen
}

fn busy_script(adapter: Adapter) {
    let Some(program) = redis_tool("redis-server") else {
        return;
    };
    let dir = TempDir::new("busy-script");
    let redis = Redis::start(&program, dir.path());
    let theirs = scenario(&redis);
    drop(redis);

    let ours = TestServer::start(adapter, test_options());
    let mine = scenario(&Ours(ours));
    for (i, (t, o)) in theirs.iter().zip(&mine).enumerate() {
        assert_eq!(t, o, "reply {i} differs: redis {t:?}, redish {o:?}");
    }
    assert_eq!(theirs.len(), mine.len());
}

#[test]
fn tokio_busy_script() {
    busy_script(Adapter::Tokio);
}

#[test]
fn async_std_busy_script() {
    busy_script(Adapter::AsyncStd);
}
