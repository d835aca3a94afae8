//! `unixsocket` and `unixsocketperm` on both servers, beside TCP and alone (`port 0`):
//! redis-cli `-s` and redis-benchmark `-s` work, CLIENT LIST and CONFIG GET show what
//! redis-server shows (compared with one started the same way), the socket file gets the
//! asked mode and is removed at shutdown.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use redish_tests::{free_port, redis_tool, test_options, Adapter, TempDir, TestServer};

fn run_bounded(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn cli(program: &Path, sock: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.arg("-s").arg(sock).args(args);
    let out = run_bounded(cmd);
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

/// What a server shows of a Unix socket connection, with its path written `PATH`:
/// CLIENT LIST's `addr`, `laddr` and `flags`, CONFIG GET of the socket settings, the
/// socket file's mode.
fn observe(program: &Path, sock: &Path) -> Vec<String> {
    let path = sock.display().to_string();
    let list = cli(program, sock, &["CLIENT", "LIST"]);
    let mut seen: Vec<String> = list
        .split(' ')
        .filter(|f| {
            ["addr=", "laddr=", "flags="]
                .iter()
                .any(|p| f.starts_with(p))
        })
        .map(|f| f.replace(&path, "PATH"))
        .collect();
    for name in ["unixsocket", "unixsocketperm"] {
        seen.push(cli(program, sock, &["CONFIG", "GET", name]).replace(&path, "PATH"));
    }
    let mode = std::fs::metadata(sock)
        .expect("socket file")
        .permissions()
        .mode();
    seen.push(format!("mode {:o}", mode & 0o777));
    seen
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(sock: &Path, program: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while cli(program, sock, &["PING"]) != "PONG" {
        assert!(Instant::now() < deadline, "no PONG on {}", sock.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unix_socket(adapter: Adapter) {
    let (Some(server), Some(cli_program), Some(bench)) = (
        redis_tool("redis-server"),
        redis_tool("redis-cli"),
        redis_tool("redis-benchmark"),
    ) else {
        return;
    };
    let dir = TempDir::new("unix");
    let theirs_sock = dir.path().join("redis.sock");
    let redis = Redis(
        Command::new(&server)
            .args(["--port", "0", "--unixsocket"])
            .arg(&theirs_sock)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server"),
    );
    wait_for(&theirs_sock, &cli_program);
    let theirs = observe(&cli_program, &theirs_sock);
    drop(redis);

    // Beside a TCP port.
    let sock = dir.path().join("redish.sock");
    let mut options = test_options();
    options.port = free_port();
    options
        .settings
        .push(("unixsocket".into(), sock.display().to_string()));
    options
        .settings
        .push(("unixsocketperm".into(), "700".into()));
    let ours = TestServer::start(adapter, options);
    wait_for(&sock, &cli_program);
    assert_eq!(observe(&cli_program, &sock), theirs);
    // The same keyspace on both listeners.
    assert_eq!(cli(&cli_program, &sock, &["SET", "k", "unix"]), "OK");
    let mut con = redish_tests::connect(ours.addr());
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "unix");

    let mut cmd = Command::new(&bench);
    cmd.arg("-s")
        .arg(&sock)
        .args(["-n", "5000", "-c", "10", "-P", "4", "-t", "set,get", "-q"]);
    let out = run_bounded(cmd);
    let report = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    assert!(out.status.success(), "redis-benchmark -s: {report}");
    for test in ["SET: ", "GET: "] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(test) && l.contains("requests per second")),
            "no {test} result: {report}"
        );
    }
    ours.stop();
    assert!(!sock.exists(), "socket file left after shutdown");
}

#[test]
fn tokio_unix_socket() {
    unix_socket(Adapter::Tokio);
}

#[test]
fn async_std_unix_socket() {
    unix_socket(Adapter::AsyncStd);
}

/// `port 0` with a Unix socket: no TCP listener, as redis-server.
fn unix_only(adapter: Adapter) {
    let Some(cli_program) = redis_tool("redis-cli") else {
        return;
    };
    let dir = TempDir::new("unix-only");
    let sock = dir.path().join("only.sock");
    let mut options = test_options();
    options.port = 0;
    options
        .settings
        .push(("unixsocket".into(), sock.display().to_string()));
    let ours = TestServer::start(adapter, options);
    assert_eq!(ours.addr().port(), 0, "no TCP listener");
    wait_for(&sock, &cli_program);
    assert_eq!(
        cli(&cli_program, &sock, &["CONFIG", "GET", "port"]),
        "port\n0"
    );
    ours.stop();
    assert!(!sock.exists(), "socket file left after shutdown");
}

#[test]
fn tokio_unix_only() {
    unix_only(Adapter::Tokio);
}

#[test]
fn async_std_unix_only() {
    unix_only(Adapter::AsyncStd);
}
