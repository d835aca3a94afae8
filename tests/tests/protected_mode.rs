//! Protected mode end to end, against redis-server and both adapters. Redis 7.0 counts as
//! local only a Unix socket client or a TCP peer at exactly 127.0.0.1 or ::1, so a client
//! whose socket is bound to 127.0.0.2 is "from outside" while the traffic stays on
//! loopback: no network namespace needed. What such a client reads (the `-DENIED` text,
//! then the close) and what it can do once a password is set or protected mode is off
//! are compared byte for byte with redis-server's.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redish_tests::{free_port, redis_tool, test_options, Adapter, TempDir, TestServer, IO_TIMEOUT};
use socket2::{Domain, Socket, Type};

/// A connection from 127.0.0.2 to `addr`.
fn from_outside(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 0)).into())
        .expect("bind 127.0.0.2");
    socket
        .connect_timeout(&addr.into(), IO_TIMEOUT)
        .expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

fn local(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// Sends `request` and reads until the server closes or is quiet for 300 ms.
fn exchange(stream: &mut TcpStream, request: &[u8]) -> String {
    let _ = stream.write_all(request);
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + IO_TIMEOUT;
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => {
                out.extend_from_slice(b"<closed>");
                break;
            }
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                out.extend_from_slice(b"<closed>");
                break;
            }
            Err(_) if !out.is_empty() => break,
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn rejected(addr: SocketAddr) -> u64 {
    let info = exchange(&mut local(addr), b"INFO stats\r\n");
    info.lines()
        .find_map(|l| l.strip_prefix("rejected_connections:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("rejected_connections")
}

/// What a server shows outside and local clients, in order.
fn scenario(addr: SocketAddr) -> Vec<String> {
    let mut seen = Vec::new();
    let before = rejected(addr);
    seen.push(exchange(&mut from_outside(addr), b"PING\r\n"));
    seen.push(format!("rejected +{}", rejected(addr) - before));
    seen.push(exchange(&mut local(addr), b"PING\r\n"));
    // A password for the default user: outside clients are let in, and asked for it.
    seen.push(exchange(
        &mut local(addr),
        b"CONFIG SET requirepass s3cret\r\n",
    ));
    seen.push(exchange(
        &mut from_outside(addr),
        b"PING\r\nAUTH s3cret\r\nPING\r\n",
    ));
    let mut admin = local(addr);
    seen.push(exchange(
        &mut admin,
        b"AUTH s3cret\r\nCONFIG SET requirepass \"\"\r\n",
    ));
    seen.push(exchange(&mut from_outside(addr), b"PING\r\n"));
    // `protected-mode no`: let in without a password.
    seen.push(exchange(
        &mut local(addr),
        b"CONFIG SET protected-mode no\r\n",
    ));
    seen.push(exchange(&mut from_outside(addr), b"PING\r\n"));
    seen.push(exchange(&mut local(addr), b"CONFIG GET protected-mode\r\n"));
    seen
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn protected_mode(adapter: Adapter) {
    let Some(program) = redis_tool("redis-server") else {
        return;
    };
    let dir = TempDir::new("protected");
    let port = free_port();
    let _redis = Redis(
        Command::new(&program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server"),
    );
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let theirs = scenario(addr);
    assert!(theirs[0].starts_with("-DENIED Redis is running in protected mode"));
    drop(_redis);

    let ours = TestServer::start(adapter, test_options());
    let mine = scenario(ours.addr());
    for (i, (t, o)) in theirs.iter().zip(&mine).enumerate() {
        assert_eq!(t, o, "step {i}: redis {t:?}, redish {o:?}");
    }
    ours.stop();
}

#[test]
fn tokio_protected_mode() {
    protected_mode(Adapter::Tokio);
}

#[test]
fn async_std_protected_mode() {
    protected_mode(Adapter::AsyncStd);
}
