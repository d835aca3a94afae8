//! Server behaviour over real sockets: shutdown, client limit, slow subscribers, big
//! pipelines, bad input, active expiry. Plus the binaries themselves.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::BytesMut;
use common::{bounded, TestServer};
use redish_core::resp::{encode_command, Frame};
use redish_core::SessionConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_adapter::client::Client;
use tokio_adapter::server::ServerConfig;

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_of_10000_commands_in_one_write() {
    bounded(async {
        let server = TestServer::start().await;
        let mut c = Client::connect(server.addr).await.unwrap();
        let mut p = c.pipeline();
        for i in 0..5_000 {
            p.set(format!("key:{i}"), format!("value:{i}"));
        }
        for i in 0..5_000 {
            p.get(format!("key:{i}"));
        }
        let replies = p.execute().await.unwrap();
        assert_eq!(replies.len(), 10_000);
        assert!(replies[..5_000].iter().all(|r| *r == Frame::OK));
        for (i, r) in replies[5_000..].iter().enumerate() {
            assert_eq!(*r, Frame::bulk(format!("value:{i}")));
        }

        // The same with raw bytes, written with one write_all and read back whole.
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let mut request = BytesMut::new();
        for i in 0..10_000 {
            encode_command(&["ECHO".to_string(), i.to_string()], &mut request);
        }
        stream.write_all(&request).await.unwrap();
        let mut expected = Vec::new();
        for i in 0..10_000 {
            let s = i.to_string();
            expected.extend_from_slice(format!("${}\r\n{s}\r\n", s.len()).as_bytes());
        }
        let mut got = vec![0; expected.len()];
        stream.read_exact(&mut got).await.unwrap();
        assert!(got == expected, "replies out of order or wrong");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_error_closes_only_that_connection() {
    bounded(async {
        let server = TestServer::start().await;
        let mut other = Client::connect(server.addr).await.unwrap();
        other.set("k", "v").await.unwrap();

        let mut bad = TcpStream::connect(server.addr).await.unwrap();
        bad.write_all(b"*abc\r\n").await.unwrap();
        assert_eq!(
            String::from_utf8(read_to_close(&mut bad).await).unwrap(),
            "-ERR Protocol error: invalid multibulk length\r\n"
        );
        // Commands before the error in the same input are served, as in Redis.
        let mut bad = TcpStream::connect(server.addr).await.unwrap();
        bad.write_all(b"PING\r\n*1\r\n$-5\r\nPING\r\n")
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(read_to_close(&mut bad).await).unwrap(),
            "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
        );

        assert_eq!(other.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quit_replies_then_closes() {
    bounded(async {
        let server = TestServer::start().await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"PING\r\nQUIT\r\nPING\r\n").await.unwrap();
        assert_eq!(read_to_close(&mut s).await, b"+PONG\r\n+OK\r\n");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_command_flushes_pipelined_replies() {
    bounded(async {
        let mut server = TestServer::start().await;
        let mut busy = TcpStream::connect(server.addr).await.unwrap();
        // Accepted before the shutdown (see shutdown_signal_flushes_pipelined_replies).
        busy.write_all(b"PING\r\n").await.unwrap();
        let mut pong = [0u8; 7];
        busy.read_exact(&mut pong).await.unwrap();
        let mut request = BytesMut::new();
        for i in 0..2_000 {
            encode_command(
                &["SET".to_string(), format!("k{i}"), "v".to_string()],
                &mut request,
            );
        }
        busy.write_all(&request).await.unwrap();

        let mut admin = Client::connect(server.addr).await.unwrap();
        admin.send(&["SHUTDOWN"]).await.unwrap();
        // SHUTDOWN has no reply: the connection closes.
        assert!(admin.read_frame().await.is_err());
        server.finished().await;

        let replies = read_to_close(&mut busy).await;
        assert_eq!(replies.len(), 2_000 * b"+OK\r\n".len());
        assert!(replies.chunks(5).all(|r| r == b"+OK\r\n"));
        assert!(
            TcpStream::connect(server.addr).await.is_err(),
            "still accepting after shutdown"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_signal_flushes_pipelined_replies() {
    bounded(async {
        let server = TestServer::start().await;
        let mut busy = TcpStream::connect(server.addr).await.unwrap();
        // A round trip first, so the server has accepted `busy` before the stop: bytes
        // of a connection still in the accept queue are not "already read".
        busy.write_all(b"PING\r\n").await.unwrap();
        let mut pong = [0u8; 7];
        busy.read_exact(&mut pong).await.unwrap();
        assert_eq!(&pong, b"+PONG\r\n");
        let mut idle = Client::connect(server.addr).await.unwrap();
        idle.ping().await.unwrap();
        let mut request = BytesMut::new();
        for _ in 0..2_000 {
            encode_command(&["PING"], &mut request);
        }
        busy.write_all(&request).await.unwrap();
        server.stop().await;
        let replies = read_to_close(&mut busy).await;
        assert_eq!(replies, b"+PONG\r\n".repeat(2_000));
        assert!(
            idle.read_frame().await.is_err(),
            "idle connection not closed"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_is_disconnected() {
    bounded(async {
        let session = SessionConfig {
            pubsub_hard_limit_bytes: 64 * 1024,
            pubsub_soft_limit_bytes: 32 * 1024,
            ..SessionConfig::default()
        };
        let server = TestServer::start_with(ServerConfig {
            session,
            ..ServerConfig::default()
        })
        .await;

        // A subscriber with small socket buffers, which reads its confirmation and then
        // nothing more.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut slow = socket.connect(server.addr).await.unwrap();
        slow.write_all(b"SUBSCRIBE flood\r\n").await.unwrap();
        let mut confirmation = [0u8; 64];
        let n = slow.read(&mut confirmation).await.unwrap();
        assert!(
            confirmation[..n].ends_with(b":1\r\n"),
            "{:?}",
            &confirmation[..n]
        );

        // Flood until the server drops the subscriber (PUBLISH then reaches nobody). The
        // bound on what it takes is the proof that the server does not buffer without limit.
        let payload = vec![b'x'; 1024];
        let mut publisher = Client::connect(server.addr).await.unwrap();
        let mut delivered = 0usize;
        let max_messages = 64 * 1024;
        'flood: loop {
            let mut p = publisher.pipeline();
            // Batches well under the limit: what kills the subscriber is its not reading,
            // not one burst.
            for _ in 0..16 {
                p.publish("flood", &payload);
            }
            for reply in p.execute().await.unwrap() {
                match reply {
                    Frame::Integer(1) => delivered += 1,
                    Frame::Integer(0) => break 'flood,
                    other => panic!("PUBLISH gave {other:?}"),
                }
            }
            assert!(
                delivered < max_messages,
                "subscriber still connected after {delivered} messages"
            );
        }

        // The connection was closed after what the kernel had buffered, and what the
        // session still held was dropped, not sent.
        let received = read_to_close(&mut slow).await;
        let mut one = BytesMut::new();
        encode_command(&[&b"message"[..], b"flood", &payload], &mut one);
        let received_messages = received.len() / one.len();
        eprintln!(
            "slow subscriber: dropped after {delivered} messages, {received_messages} received"
        );
        assert!(
            received_messages < delivered,
            "received {received_messages} of {delivered}"
        );

        // The server keeps serving, pub/sub included.
        let mut sub = Client::connect(server.addr)
            .await
            .unwrap()
            .subscribe(&["flood"])
            .await
            .unwrap();
        assert_eq!(publisher.publish("flood", "after").await.unwrap(), 1);
        assert_eq!(sub.next_message().await.unwrap().unwrap().payload, "after");
        assert_eq!(publisher.ping().await.unwrap(), "PONG");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_expiry_removes_unread_keys() {
    bounded(async {
        let server = TestServer::start().await;
        let mut c = Client::connect(server.addr).await.unwrap();
        let mut p = c.pipeline();
        for i in 0..2_500 {
            p.cmd(&[
                "SET".to_string(),
                format!("k{i}"),
                "v".into(),
                "PX".into(),
                "50".into(),
            ]);
        }
        p.set("stays", "v");
        p.execute().await.unwrap();
        // DBSIZE counts keys without touching them: only active expiry makes it drop.
        let mut size = Frame::Null;
        for _ in 0..200 {
            size = c.command(&["DBSIZE"]).await.unwrap();
            if size == Frame::Integer(1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(size, Frame::Integer(1));
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_get_reports_server_settings() {
    bounded(async {
        let server = TestServer::start_with(ServerConfig {
            max_clients: 77,
            ..ServerConfig::default()
        })
        .await;
        let mut c = Client::connect(server.addr).await.unwrap();
        let reply = c.command(&["CONFIG", "GET", "*"]).await.unwrap();
        let Frame::Array(items) = reply else {
            panic!("{reply:?}")
        };
        let pairs: Vec<(String, String)> = items
            .chunks(2)
            .map(|kv| {
                let s = |f: &Frame| String::from_utf8(f.as_bytes().unwrap().to_vec()).unwrap();
                (s(&kv[0]), s(&kv[1]))
            })
            .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("port"), Some(server.addr.port().to_string().as_str()));
        assert_eq!(get("maxclients"), Some("77"));
        assert_eq!(get("bind"), Some("127.0.0.1"));
        assert_eq!(get("save"), Some(""));
        assert_eq!(get("appendonly"), Some("no"));
        assert_eq!(get("databases"), Some("16"));
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_and_several_addresses() {
    bounded(async {
        let bind = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let server = match tokio_adapter::server::Server::bind(ServerConfig {
            bind,
            port: 0,
            ..ServerConfig::default()
        })
        .await
        {
            Ok(server) => server,
            Err(e) => {
                eprintln!("NOTICE: no IPv6 loopback here ({e}); skipping");
                return;
            }
        };
        let addrs = server.local_addrs().to_vec();
        assert_eq!(addrs.len(), 2);
        assert_eq!(addrs[0].port(), addrs[1].port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        for addr in &addrs {
            let mut c = Client::connect(addr).await.unwrap();
            assert_eq!(c.ping().await.unwrap(), "PONG");
        }
        let _ = stop.send(());
        task.await.unwrap().unwrap();
    })
    .await;
}

/// The server binary, started on a free port; the port is read from its stdout.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(args: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        // Redis's log lines come first on stdout (no `logfile`); then the address.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let addr = loop {
            let mut line = String::new();
            assert!(out.read_line(&mut line).unwrap() > 0, "no listening line");
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                break addr.parse().unwrap();
            }
        };
        ServerProcess { child, addr }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit status, at most `limit`.
    async fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not exit in {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_exits_0_on_sigterm_and_sigint() {
    bounded(async {
        for signal in ["TERM", "INT"] {
            let mut server = ServerProcess::start(&[]);
            let mut c = Client::connect(server.addr).await.unwrap();
            c.set("k", "v").await.unwrap();
            assert_eq!(c.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
            server.signal(signal);
            let status = server.wait(Duration::from_secs(10)).await;
            assert_eq!(status.code(), Some(0), "SIG{signal}");
            assert!(
                c.read_frame().await.is_err(),
                "connection still open after SIG{signal}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_exits_0_on_shutdown_command() {
    bounded(async {
        let mut server = ServerProcess::start(&[]);
        let mut c = Client::connect(server.addr).await.unwrap();
        c.send(&["SHUTDOWN"]).await.unwrap();
        let status = server.wait(Duration::from_secs(10)).await;
        assert_eq!(status.code(), Some(0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_maxclients() {
    bounded(async {
        let server = ServerProcess::start(&["--maxclients", "2"]);
        let mut first = Client::connect(server.addr).await.unwrap();
        let mut second = Client::connect(server.addr).await.unwrap();
        assert_eq!(first.ping().await.unwrap(), "PONG");
        assert_eq!(second.ping().await.unwrap(), "PONG");

        let mut third = TcpStream::connect(server.addr).await.unwrap();
        assert_eq!(
            read_to_close(&mut third).await,
            b"-ERR max number of clients reached\r\n"
        );

        // A place frees up when a client leaves.
        drop(first);
        let mut ok = false;
        for _ in 0..100 {
            let mut c = Client::connect(server.addr).await.unwrap();
            if c.ping().await.is_ok() {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(ok, "no room after a client left");
        assert_eq!(second.ping().await.unwrap(), "PONG");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_binary() {
    bounded(async {
        let server = TestServer::start().await;
        let port = server.addr.port().to_string();
        // The cli blocks: run it off the runtime's threads.
        let cli_port = port.clone();
        let run = move |args: Vec<&'static str>| {
            let port = cli_port.clone();
            tokio::task::spawn_blocking(move || {
                let out = Command::new(env!("CARGO_BIN_EXE_cli"))
                    .args(["-p", &port])
                    .args(&args)
                    .output()
                    .unwrap();
                (String::from_utf8(out.stdout).unwrap(), out.status.code())
            })
        };
        assert_eq!(
            run(vec!["set", "foo", "bar"]).await.unwrap(),
            ("OK\n".into(), Some(0))
        );
        assert_eq!(
            run(vec!["get", "foo"]).await.unwrap(),
            ("\"bar\"\n".into(), Some(0))
        );
        assert_eq!(
            run(vec!["get", "nope"]).await.unwrap(),
            ("(nil)\n".into(), Some(0))
        );
        assert_eq!(
            run(vec!["exists", "foo"]).await.unwrap(),
            ("(integer) 1\n".into(), Some(0))
        );
        assert_eq!(
            run(vec!["publish", "ch", "msg"]).await.unwrap(),
            ("(integer) 0\n".into(), Some(0))
        );
        assert_eq!(
            run(vec!["config", "get", "save"]).await.unwrap(),
            ("1) \"save\"\n2) \"\"\n".into(), Some(0))
        );
        let (out, code) = run(vec!["nosuchcommand"]).await.unwrap();
        assert!(out.starts_with("(error) ERR unknown command"), "{out}");
        assert_eq!(code, Some(1));
        assert_eq!(
            run(vec!["--raw", "get", "foo"]).await.unwrap(),
            ("bar\n".into(), Some(0))
        );
        let (out, _) = run(vec!["-3", "hello", "3"]).await.unwrap();
        assert!(out.contains("# \"proto\" => (integer) 3\n"), "{out}");

        // cli subscribe prints messages as they arrive.
        let mut sub = tokio::process::Command::new(env!("CARGO_BIN_EXE_cli"))
            .args(["-p", &port, "subscribe", "ch"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut out = tokio::io::BufReader::new(sub.stdout.take().unwrap());
        let mut text = String::new();
        while !text.contains("3) (integer) 1\n") {
            assert!(
                tokio::io::AsyncBufReadExt::read_line(&mut out, &mut text)
                    .await
                    .unwrap()
                    > 0,
                "{text}"
            );
        }
        let mut publisher = Client::connect(server.addr).await.unwrap();
        assert_eq!(publisher.publish("ch", "hi there").await.unwrap(), 1);
        let mut text = String::new();
        while !text.contains("3) \"hi there\"\n") {
            assert!(
                tokio::io::AsyncBufReadExt::read_line(&mut out, &mut text)
                    .await
                    .unwrap()
                    > 0,
                "{text}"
            );
        }
        assert_eq!(text, "1) \"message\"\n2) \"ch\"\n3) \"hi there\"\n");
        let _ = sub.kill().await;
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_commands_wake_up_and_time_out() {
    bounded(async {
        let server = TestServer::start().await;
        let mut pusher = Client::connect(server.addr).await.unwrap();

        // Served by another connection's push; what was pipelined behind it runs after.
        let mut blocked = TcpStream::connect(server.addr).await.unwrap();
        blocked
            .write_all(b"BLPOP jobs 0\r\nPING\r\n")
            .await
            .unwrap();
        let mut waiting = false;
        for _ in 0..200 {
            let reply = pusher.command(&["CLIENT", "LIST"]).await.unwrap();
            let list = String::from_utf8(reply.as_bytes().unwrap().to_vec()).unwrap();
            if list.contains("cmd=blpop") {
                waiting = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(waiting, "BLPOP did not block");
        let pushed = pusher.command(&["RPUSH", "jobs", "job-1"]).await.unwrap();
        assert_eq!(pushed, Frame::Integer(1));
        let want = b"*2\r\n$4\r\njobs\r\n$5\r\njob-1\r\n+PONG\r\n";
        let mut got = vec![0; want.len()];
        blocked.read_exact(&mut got).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));

        // Timed out by the server's timer.
        let mut c = Client::connect(server.addr).await.unwrap();
        let started = std::time::Instant::now();
        let reply = c.command(&["BLPOP", "nothing", "0.2"]).await.unwrap();
        assert_eq!(reply, Frame::NullArray);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(190), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_list_and_kill() {
    bounded(async {
        let server = TestServer::start().await;
        let mut victim = TcpStream::connect(server.addr).await.unwrap();
        victim.write_all(b"CLIENT ID\r\n").await.unwrap();
        let mut reply = [0u8; 32];
        let n = victim.read(&mut reply).await.unwrap();
        let id = std::str::from_utf8(&reply[1..n - 2]).unwrap().to_string();

        let mut admin = Client::connect(server.addr).await.unwrap();
        let list = admin.command(&["CLIENT", "LIST"]).await.unwrap();
        let list = String::from_utf8(list.as_bytes().unwrap().to_vec()).unwrap();
        let line = list
            .lines()
            .find(|l| l.starts_with(&format!("id={id} ")))
            .unwrap();
        let addr = victim.local_addr().unwrap().to_string();
        assert!(line.contains(&format!(" addr={addr} ")), "{line}");
        assert!(line.contains(&format!(" laddr={} ", server.addr)), "{line}");

        let killed = admin.command(&["CLIENT", "KILL", "ID", &id]).await.unwrap();
        assert_eq!(killed, Frame::Integer(1));
        assert!(read_to_close(&mut victim).await.is_empty());
        assert_eq!(admin.ping().await.unwrap(), "PONG");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_set_maxclients_applies_to_new_connections() {
    bounded(async {
        let server = TestServer::start().await;
        let mut admin = Client::connect(server.addr).await.unwrap();
        let ok = admin
            .command(&["CONFIG", "SET", "maxclients", "1"])
            .await
            .unwrap();
        assert_eq!(ok, Frame::OK);
        let mut refused = TcpStream::connect(server.addr).await.unwrap();
        assert_eq!(
            read_to_close(&mut refused).await,
            b"-ERR max number of clients reached\r\n"
        );
        admin
            .command(&["CONFIG", "SET", "maxclients", "10"])
            .await
            .unwrap();
        let mut welcome = Client::connect(server.addr).await.unwrap();
        assert_eq!(welcome.ping().await.unwrap(), "PONG");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_sleep_and_idle_timeout() {
    bounded(async {
        let settings = vec![
            ("enable-debug-command".to_string(), "local".to_string()),
            ("timeout".to_string(), "1".to_string()),
        ];
        let server = TestServer::start_with(ServerConfig {
            settings,
            ..ServerConfig::default()
        })
        .await;

        // DEBUG SLEEP holds this connection's replies, not the server.
        let mut sleeper = TcpStream::connect(server.addr).await.unwrap();
        let started = std::time::Instant::now();
        sleeper
            .write_all(b"DEBUG SLEEP 0.3\r\nPING\r\n")
            .await
            .unwrap();
        let mut other = Client::connect(server.addr).await.unwrap();
        assert_eq!(other.ping().await.unwrap(), "PONG");
        assert!(started.elapsed() < Duration::from_millis(300));
        let mut got = [0u8; 12];
        sleeper.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"+OK\r\n+PONG\r\n");
        assert!(started.elapsed() >= Duration::from_millis(290));

        // `timeout 1`: an idle client is closed by the server's timer.
        let mut idle = TcpStream::connect(server.addr).await.unwrap();
        idle.write_all(b"PING\r\n").await.unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut idle)).await;
        assert_eq!(closed.expect("idle client not closed"), b"+PONG\r\n");
        server.stop().await;
    })
    .await;
}

/// Start-up with an AOF: a torn last record (a crash mid-write) is dropped and the server
/// starts; a record broken before the end stops start-up with an error naming the offset,
/// and the file is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aof_start_up_drops_a_torn_tail_and_refuses_corruption() {
    let dir = std::env::temp_dir().join(format!("redish-aof-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let aof = dir.join("appendonly.aof");
    let config = || ServerConfig {
        port: 0,
        settings: vec![
            ("appendonly".into(), "yes".into()),
            ("dir".into(), dir.display().to_string()),
        ],
        ..ServerConfig::default()
    };
    let good = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";

    let mut torn = good.to_vec();
    torn.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\n12");
    std::fs::write(&aof, &torn).unwrap();
    let server = tokio_adapter::server::Server::bind(config())
        .await
        .expect("starts");
    let addr = server.local_addrs()[0];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let mut client = Client::connect(addr).await.unwrap();
    assert_eq!(client.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(client.get("b").await.unwrap(), None);
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    assert_eq!(
        std::fs::read(&aof).unwrap(),
        good,
        "the torn tail was cut off"
    );

    let mut corrupt = good.to_vec();
    corrupt.extend_from_slice(b"+garbage\r\n");
    corrupt.extend_from_slice(good);
    std::fs::write(&aof, &corrupt).unwrap();
    let Err(e) = tokio_adapter::server::Server::bind(config()).await else {
        panic!("a corrupt AOF must stop start-up");
    };
    let text = e.to_string();
    assert!(text.contains(&format!("offset {}", good.len())), "{text}");
    assert!(text.contains("appendonly.aof"), "{text}");
    assert_eq!(
        std::fs::read(&aof).unwrap(),
        corrupt,
        "nothing changed on disk"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
