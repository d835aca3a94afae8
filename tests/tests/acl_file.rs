//! `aclfile` with ACL LOAD / ACL SAVE, and `user` directives on the command line, against
//! redis-server and both adapters: the same files and commands, replies and saved files
//! compared (each server's own path written `PATH`). Covers Redis's error texts for a bad
//! file, LOAD being all or nothing, the connections of replaced users being closed, SAVE's
//! format, and a missing file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redish_tests::{free_port, redis_tool, test_options, Adapter, TempDir, TestServer, IO_TIMEOUT};

struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        Conn {
            reader: BufReader::new(s),
        }
    }

    fn call(&mut self, args: &[&str]) -> String {
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        if self.reader.get_mut().write_all(req.as_bytes()).is_err() {
            return "<closed>".into();
        }
        self.reply()
    }

    /// One reply, flattened to text: `+OK`, `-ERR …`, `:1`, bulk strings as they are,
    /// arrays as `[a, b]`; `<closed>` if the server closed the connection.
    fn reply(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => return "<closed>".into(),
            Ok(_) => {}
        }
        let line = line.trim_end_matches("\r\n").to_owned();
        let (kind, rest) = line.split_at(1);
        match kind {
            "$" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return "(nil)".into();
                }
                let mut buf = vec![0; n as usize + 2];
                self.reader.read_exact(&mut buf).unwrap();
                String::from_utf8_lossy(&buf[..n as usize]).into_owned()
            }
            "*" => {
                let n: i64 = rest.parse().unwrap();
                let items: Vec<String> = (0..n.max(0)).map(|_| self.reply()).collect();
                format!("[{}]", items.join(", "))
            }
            _ => line,
        }
    }
}

const FIRST: &str = "user alice on >pw ~* +@all\n";
const BAD: &str = "user alice on >pw ~* +@all\n#comment\nuser  bob\nuser bob on\nuser bob off\nfoo bar\n  \nuser carol +nosuch -@bad ~a allkeys ~b <nopw\nuser dave (~x +get) on\nuser e\tf on\nUser x\n";
const GOOD: &str = "user default on nopass ~* +@all\r\nuser alice on >pw ~* +@all\n\nuser bob on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~k* &ch +get\nuser carol off (~x +set) %R~r* +@read\n";

/// The scenario, on a server whose `aclfile` is `file` (holding [`FIRST`] at start).
fn scenario(addr: SocketAddr, file: &Path) -> Vec<String> {
    let path = file.display().to_string();
    let mut seen = Vec::new();
    let mut admin = Conn::open(addr);
    let call = |c: &mut Conn, args: &[&str]| c.call(args).replace(&path, "PATH");
    seen.push(call(&mut admin, &["ACL", "LIST"]));
    seen.push(call(&mut admin, &["CONFIG", "GET", "aclfile"]));
    // A bad file: every problem told, nothing changed.
    std::fs::write(file, BAD).unwrap();
    seen.push(call(&mut admin, &["ACL", "LOAD"]));
    seen.push(call(&mut admin, &["ACL", "LIST"]));
    // A good one: the users replaced, alice's connection closed, default's kept.
    std::fs::write(file, GOOD).unwrap();
    let mut alice = Conn::open(addr);
    seen.push(call(&mut alice, &["AUTH", "alice", "pw"]));
    let mut other = Conn::open(addr);
    seen.push(call(&mut other, &["PING"]));
    seen.push(call(&mut admin, &["ACL", "LOAD"]));
    seen.push(call(&mut alice, &["PING"]));
    seen.push(call(&mut other, &["PING"]));
    seen.push(call(&mut admin, &["ACL", "LIST"]));
    seen.push(call(&mut admin, &["ACL", "GETUSER", "carol"]));
    let mut bob = Conn::open(addr);
    seen.push(call(&mut bob, &["AUTH", "bob", "password"]));
    seen.push(call(&mut bob, &["GET", "k1"]));
    seen.push(call(&mut bob, &["SET", "k1", "v"]));
    // SAVE writes the users as ACL LIST shows them; LOAD reads them back.
    seen.push(call(&mut admin, &["ACL", "DELUSER", "carol"]));
    seen.push(call(
        &mut admin,
        &["ACL", "SETUSER", "zed", "on", "nopass", "+ping"],
    ));
    seen.push(call(&mut admin, &["ACL", "SAVE"]));
    seen.push(std::fs::read_to_string(file).unwrap());
    seen.push(call(&mut admin, &["ACL", "LOAD"]));
    seen.push(call(&mut admin, &["ACL", "LIST"]));
    let _ = std::fs::remove_file(file);
    seen.push(call(&mut admin, &["ACL", "LOAD"]));
    seen.push(call(
        &mut admin,
        &["CONFIG", "SET", "aclfile", "/elsewhere"],
    ));
    seen.push(call(&mut admin, &["ACL", "SAVE"]));
    seen.push(std::fs::read_to_string(file).unwrap_or_default());
    seen
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis(program: &Path, dir: &Path, args: &[&str]) -> (Redis, SocketAddr) {
    let port = free_port();
    let child = Command::new(program)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(args)
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Redis(child), addr)
}

fn compare(theirs: &[String], ours: &[String]) {
    assert_eq!(theirs.len(), ours.len());
    for (i, (t, o)) in theirs.iter().zip(ours).enumerate() {
        assert_eq!(t, o, "step {i}: redis {t:?}, redish {o:?}");
    }
}

fn acl_file(adapter: Adapter) {
    let Some(program) = redis_tool("redis-server") else {
        return;
    };
    let dir = TempDir::new("aclfile");
    let file: PathBuf = dir.path().join("redis-users.acl");
    std::fs::write(&file, FIRST).unwrap();
    let (redis, addr) = start_redis(&program, dir.path(), &["--aclfile", file.to_str().unwrap()]);
    let theirs = scenario(addr, &file);
    drop(redis);

    let file: PathBuf = dir.path().join("redish-users.acl");
    std::fs::write(&file, FIRST).unwrap();
    let mut options = test_options();
    options
        .settings
        .push(("aclfile".into(), file.display().to_string()));
    let ours = TestServer::start(adapter, options);
    let mine = scenario(ours.addr(), &file);
    compare(&theirs, &mine);
    ours.stop();
}

#[test]
fn tokio_acl_file() {
    acl_file(Adapter::Tokio);
}

#[test]
fn async_std_acl_file() {
    acl_file(Adapter::AsyncStd);
}

const DIRECTIVES: &[&str] = &[
    "alice on >pw ~cache:* +@string +del",
    "default on >adminpw +@all ~* &*",
    "carol off (~x +set) &news",
];

fn directives_scenario(addr: SocketAddr) -> Vec<String> {
    let mut seen = Vec::new();
    let mut c = Conn::open(addr);
    seen.push(c.call(&["PING"]));
    seen.push(c.call(&["AUTH", "adminpw"]));
    seen.push(c.call(&["ACL", "LIST"]));
    let mut alice = Conn::open(addr);
    seen.push(alice.call(&["AUTH", "alice", "pw"]));
    seen.push(alice.call(&["SET", "cache:1", "v"]));
    seen.push(alice.call(&["SET", "other", "v"]));
    seen.push(alice.call(&["DEL", "cache:1"]));
    seen.push(c.call(&["ACL", "SAVE"]));
    seen
}

/// `--user` directives, as redis-server takes them on its command line.
fn user_directives(adapter: Adapter) {
    let Some(program) = redis_tool("redis-server") else {
        return;
    };
    let dir = TempDir::new("acl-users");
    // redis-server wants the name and each rule as words of their own (one quoted
    // argument would be a user name with spaces); redish takes both forms.
    let mut args = Vec::new();
    for d in DIRECTIVES {
        args.push("--user");
        args.extend(d.split(' '));
    }
    let (redis, addr) = start_redis(&program, dir.path(), &args);
    let theirs = directives_scenario(addr);
    drop(redis);

    let mut options = test_options();
    for d in DIRECTIVES {
        options.settings.push(("user".into(), (*d).into()));
    }
    let ours = TestServer::start(adapter, options);
    compare(&theirs, &directives_scenario(ours.addr()));
    ours.stop();
}

#[test]
fn tokio_user_directives() {
    user_directives(Adapter::Tokio);
}

#[test]
fn async_std_user_directives() {
    user_directives(Adapter::AsyncStd);
}

/// A bad `aclfile` stops the start as Redis's does; so do `user` directives beside an
/// `aclfile`, and a bad rule in a directive.
#[test]
fn bad_acl_setup_stops_the_start() {
    let dir = TempDir::new("acl-bad");
    let file = dir.path().join("users.acl");
    std::fs::write(&file, "user alice on +nosuch\n").unwrap();
    let start = |settings: &[(&str, &str)]| {
        let mut options = test_options();
        options
            .settings
            .push(("dir".into(), dir.path().display().to_string()));
        for (n, v) in settings {
            options.settings.push(((*n).into(), (*v).into()));
        }
        redish_host::server_store(&options, 0)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let path = file.display().to_string();
    assert_eq!(
        start(&[("aclfile", &path)]),
        format!("Aborting Redis startup because of ACL errors: {path}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
    );
    assert!(start(&[("aclfile", "/nonexistent/users.acl")]).ends_with(
        "Error loading ACLs, opening file '/nonexistent/users.acl': No such file or directory"
    ));
    assert!(start(&[("aclfile", &path), ("user", "bob on")])
        .starts_with("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid."));
    assert_eq!(
        start(&[("user", "bob on -@nosuch")]),
        "Error loading ACL rule '-@nosuch' for the user named 'bob': Unknown command or category name in ACL"
    );
}
