//! The server binary started as redis-server is: with a configuration file, Debian's stock
//! one included, and refusing a malformed one as redis-server does. Shared by both
//! adapters' tests (async-std-adapter includes this file by path); std only.
//!
//! The checks that need Debian's redis-server package (its `/etc/redis/redis.conf`,
//! `redis-cli`, `redis-server`) print a notice and pass without it, unless
//! `REDISH_REQUIRE_REDIS=1`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's stock configuration, from the redis-server package.
pub const DEBIAN_CONF: &str = "/etc/redis/redis.conf";

/// Whether `what` was found; a notice if not, a failure under `REDISH_REQUIRE_REDIS=1`.
fn required(what: &str, found: bool) -> bool {
    if !found {
        assert!(
            std::env::var("REDISH_REQUIRE_REDIS").as_deref() != Ok("1"),
            "{what} not found, and REDISH_REQUIRE_REDIS=1 requires it"
        );
        eprintln!("NOTICE: {what} not found; skipping this check");
    }
    found
}

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    required(name, found.is_some()).then(|| found.expect("found"))
}

/// A directory of its own under the system's temporary one, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "redish-conf-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server child, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` with `args` (which must ask for `--port 0`) and returns it with the port
/// it printed, waiting at most 20 seconds.
fn start(binary: &Path, args: &[&str]) -> (Running, u16) {
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on ") {
                let _ = tx.send(addr.rsplit(':').next().unwrap_or("").parse::<u16>());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server printed its port")
        .expect("a port");
    (running, port)
}

fn redis_cli(cli: &Path, port: u16, args: &[&str]) -> String {
    let out = Command::new(cli)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

/// Debian's stock redis.conf starts the server unchanged but for `port` (0, to get a free
/// one), `dir` (a scratch directory), and what makes a process of its own: `daemonize no`
/// (redish runs in the foreground), `pidfile` and `logfile` (the package's paths belong to
/// the packaged server). redis-cli PING then works, and the file's settings show.
pub fn debian_conf_starts(binary: &Path) {
    if !required(DEBIAN_CONF, Path::new(DEBIAN_CONF).is_file()) {
        return;
    }
    let Some(cli) = tool("redis-cli") else { return };
    let dir = Scratch::new("debian");
    let pidfile = dir.0.join("redis.pid").display().to_string();
    let dir_arg = dir.0.display().to_string();
    let (_server, port) = start(
        binary,
        &[
            DEBIAN_CONF,
            "--port",
            "0",
            "--dir",
            &dir_arg,
            "--daemonize",
            "no",
            "--pidfile",
            &pidfile,
            "--logfile",
            "",
        ],
    );
    assert_eq!(redis_cli(&cli, port, &["PING"]), "PONG");
    // The file's own settings, as redis-server would report them.
    assert_eq!(
        redis_cli(&cli, port, &["CONFIG", "GET", "bind"]),
        "bind\n127.0.0.1 -::1"
    );
    assert_eq!(
        redis_cli(&cli, port, &["CONFIG", "GET", "auto-aof-rewrite-min-size"]),
        "auto-aof-rewrite-min-size\n67108864"
    );
    assert_eq!(
        redis_cli(&cli, port, &["CONFIG", "GET", "client-output-buffer-limit"]),
        "client-output-buffer-limit\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    let info = redis_cli(&cli, port, &["INFO", "server"]);
    assert!(
        info.contains(&format!("config_file:{DEBIAN_CONF}")),
        "{info}"
    );
    assert_eq!(
        redis_cli(&cli, port, &["SET", "k", "v"]),
        "OK",
        "the server serves"
    );
}

/// Runs `binary` with `args` until it exits (at most 20 s): exit code and stderr.
fn refused(binary: &Path, args: &[&str], cwd: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err)
                .expect("read stderr");
            return (status.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?}: still running; it should have refused its configuration");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Malformed files and settings are refused with redis-server's exact message on stderr
/// and its exit code 1: compared with redis-server's own refusal of the same file.
pub fn malformed_files_refused_as_redis(binary: &Path) {
    let dir = Scratch::new("bad");
    let cases: &[(&str, &[&str])] = &[
        ("port 6379\nmaxmemory lots\n", &[]),
        ("# c\n\nsave \"900 1\n", &[]),
        ("nosuchdirective yes\n", &[]),
        ("timeout 1 2\n", &[]),
        ("appendonly maybe\n", &[]),
        ("maxmemory-policy lru\n", &[]),
        ("port 0\n", &["--timeout", "-5"]),
        ("port 0\n", &["--port", "70000"]),
        ("port 0\n", &["--hz", "10", "--nosuch", "1"]),
        ("include\n", &[]),
        ("client-output-buffer-limit normal 0 0\n", &[]),
        ("latency-tracking-info-percentiles 50 101\n", &[]),
        ("notify-keyspace-events Kq\n", &[]),
    ];
    let redis = tool("redis-server");
    for (i, (text, extra)) in cases.iter().enumerate() {
        let file = dir.0.join(format!("bad{i}.conf"));
        std::fs::write(&file, text).expect("write the file");
        let mut args = vec![file.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        let (code, err) = refused(binary, &args, &dir.0);
        assert_eq!(code, Some(1), "{text:?} {extra:?}: {err}");
        assert!(
            err.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"),
            "{err}"
        );
        if let Some(redis) = &redis {
            let (rcode, rerr) = refused(redis, &args, &dir.0);
            assert_eq!(rcode, Some(1), "redis-server with {text:?}: {rerr}");
            assert_eq!(err, rerr, "{text:?} {extra:?}");
        }
    }
    // A file that is not there: exit 1, Redis's words.
    let (code, err) = refused(binary, &["/nonexistent/redis.conf"], &dir.0);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(
            "Fatal error, can't open config file '/nonexistent/redis.conf': No such file or directory"
        ),
        "{err}"
    );
}

/// `include` (a glob too), the last occurrence winning, units and quotes, and the command
/// line after the file.
pub fn includes_and_command_line(binary: &Path) {
    let Some(cli) = tool("redis-cli") else { return };
    let dir = Scratch::new("include");
    let confd = dir.0.join("conf.d");
    std::fs::create_dir_all(&confd).expect("conf.d");
    std::fs::write(confd.join("a.conf"), "maxmemory 100mb\ntimeout 5\n").expect("a");
    std::fs::write(confd.join("b.conf"), "timeout 6\n").expect("b");
    std::fs::write(confd.join("c.txt"), "timeout 99\n").expect("c");
    let main = dir.0.join("redis.conf");
    std::fs::write(
        &main,
        format!(
            "port 0\nrequirepass 'p w'\ninclude {}/*.conf\nsave 900 1\nsave 300 10\nhz 20\n",
            confd.display()
        ),
    )
    .expect("main");
    let dir_arg = dir.0.display().to_string();
    let (_server, port) = start(
        binary,
        &[
            main.to_str().expect("utf-8"),
            "--dir",
            &dir_arg,
            "--hz",
            "30",
        ],
    );
    let get = |name: &str| {
        redis_cli(
            &cli,
            port,
            &["--pass", "p w", "--no-auth-warning", "CONFIG", "GET", name],
        )
    };
    assert_eq!(get("maxmemory"), "maxmemory\n104857600");
    assert_eq!(get("timeout"), "timeout\n6");
    assert_eq!(get("save"), "save\n900 1 300 10");
    assert_eq!(get("hz"), "hz\n30");
}

/// The file both servers start from in [`rewrite_as_redis`]: comments and blank runs,
/// a parameter twice, an alias, save points, units, quotes, a class of
/// client-output-buffer-limit, an `include` of an empty glob.
const REWRITE_ORIGINAL: &str = "# top comment
   
daemonize no


timeout 5
# middle
slave-read-only no
save 900 1
save 300 10
hz 10
timeout 7
include INCLUDE_DIR/*.conf
client-output-buffer-limit pubsub 32mb 8mb 60
maxmemory 100mb
proc-title-template \"{title} {port}\"
notify-keyspace-events \"\"
";

/// The lines whose values differ by how the test starts each server (`port`, `dir`,
/// `unixsocket`), or by design: redish binds loopback unless told otherwise (`bind`), and
/// writes no `user` lines (its configuration file has no `user` directive).
fn comparable(line: &str) -> bool {
    !["port ", "dir ", "unixsocket ", "bind ", "user "]
        .iter()
        .any(|p| line.starts_with(p))
}

/// The rewritten file: the lines up to the signature as they are, the added ones sorted
/// (Redis adds them in its hash order, redish in its table's).
fn rewritten_shape(text: &str) -> (Vec<String>, Vec<String>) {
    let lines: Vec<String> = text
        .split('\n')
        .filter(|l| comparable(l))
        .map(str::to_owned)
        .collect();
    match lines
        .iter()
        .position(|l| l == "# Generated by CONFIG REWRITE")
    {
        Some(at) => {
            let mut tail = lines[at + 1..].to_vec();
            tail.sort();
            (lines[..=at].to_vec(), tail)
        }
        None => (lines, Vec::new()),
    }
}

/// CONFIG REWRITE after the same CONFIG SETs writes the same file as redis-server's: kept
/// comments, lines changed in place, a second occurrence dropped, new parameters after
/// `# Generated by CONFIG REWRITE`. Then the rewritten file starts the server again with
/// the settings it was rewritten with.
pub fn rewrite_as_redis(binary: &Path) {
    let Some(cli) = tool("redis-cli") else { return };
    let Some(redis) = tool("redis-server") else {
        return;
    };
    let dir = Scratch::new("rewrite");
    let empty = dir.0.join("empty.d");
    std::fs::create_dir_all(&empty).expect("empty.d");
    let original = REWRITE_ORIGINAL.replace("INCLUDE_DIR", &empty.display().to_string());
    let sets: &[&[&str]] = &[
        &[
            "maxmemory-policy",
            "allkeys-lru",
            "maxmemory",
            "1gb",
            "timeout",
            "0",
        ],
        &[
            "loglevel",
            "warning",
            "notify-keyspace-events",
            "KEA",
            "hz",
            "10",
        ],
        &["client-output-buffer-limit", "normal 1mb 0 0"],
        &[
            "save",
            "3600 1",
            "maxmemory-clients",
            "5%",
            "slowlog-max-len",
            "64",
        ],
        &["activerehashing", "no", "requirepass", "s3cret word"],
    ];
    let run_sets = |args: &[&str]| {
        for set in sets {
            let mut cmd = args.to_vec();
            cmd.push("CONFIG");
            cmd.push("SET");
            cmd.extend_from_slice(set);
            let out = Command::new(&cli).args(&cmd).output().expect("redis-cli");
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK", "{cmd:?}");
        }
        let mut cmd = args.to_vec();
        cmd.extend([
            "--pass",
            "s3cret word",
            "--no-auth-warning",
            "CONFIG",
            "REWRITE",
        ]);
        let out = Command::new(&cli).args(&cmd).output().expect("redis-cli");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK", "{cmd:?}");
    };

    // redis-server, on a socket of its own.
    let theirs_dir = dir.0.join("redis");
    std::fs::create_dir_all(&theirs_dir).expect("redis dir");
    let theirs_file = theirs_dir.join("redis.conf");
    std::fs::write(&theirs_file, &original).expect("write");
    let sock = theirs_dir.join("redis.sock");
    let child = Command::new(&redis)
        .arg(&theirs_file)
        .args(["--port", "0", "--unixsocket"])
        .arg(&sock)
        .arg("--dir")
        .arg(&theirs_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    let _theirs = Running(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sock_arg = sock.display().to_string();
    run_sets(&["-s", &sock_arg]);

    // redish.
    let ours_dir = dir.0.join("redish");
    std::fs::create_dir_all(&ours_dir).expect("redish dir");
    let ours_file = ours_dir.join("redis.conf");
    std::fs::write(&ours_file, &original).expect("write");
    let ours_dir_arg = ours_dir.display().to_string();
    let (ours, port) = start(
        binary,
        &[
            ours_file.to_str().expect("utf-8"),
            "--port",
            "0",
            "--dir",
            &ours_dir_arg,
        ],
    );
    let port_arg = port.to_string();
    run_sets(&["-h", "127.0.0.1", "-p", &port_arg]);
    drop(ours);

    let theirs = std::fs::read_to_string(&theirs_file).expect("redis's file");
    let mine = std::fs::read_to_string(&ours_file).expect("redish's file");
    assert_eq!(
        rewritten_shape(&mine),
        rewritten_shape(&theirs),
        "redish:\n{mine}\nredis:\n{theirs}"
    );
    assert!(
        mine.starts_with("# top comment\n\ndaemonize no\n\ntimeout 0\n# middle\n"),
        "{mine}"
    );

    // The rewritten file starts redish again, with what was set.
    let (_again, port) = start(binary, &[ours_file.to_str().expect("utf-8"), "--port", "0"]);
    let get = |name: &str| {
        redis_cli(
            &cli,
            port,
            &[
                "--pass",
                "s3cret word",
                "--no-auth-warning",
                "CONFIG",
                "GET",
                name,
            ],
        )
    };
    assert_eq!(get("maxmemory"), "maxmemory\n1073741824");
    assert_eq!(get("save"), "save\n3600 1");
    assert_eq!(get("maxmemory-clients"), "maxmemory-clients\n5%");
    assert_eq!(get("dir"), format!("dir\n{}", ours_dir.display()));
}

/// A log line's parts after `<pid>:`: (pid, role, date, mark, message).
fn log_parts(line: &str) -> Option<(u32, char, String, char, String)> {
    let (pid, rest) = line.split_once(':')?;
    let pid = pid.parse().ok()?;
    let mut chars = rest.chars();
    let role = chars.next()?;
    let rest = chars.as_str().strip_prefix(' ')?;
    // `06 Dec 2026 21:28:40.060` is 24 characters.
    let date = rest.get(..24)?.to_owned();
    let rest = rest.get(25..)?;
    let mark = rest.chars().next()?;
    let message = rest.get(2..)?.to_owned();
    Some((pid, role, date, mark, message))
}

/// Waits until the file at `path` has a line ending with `what`; returns its lines.
fn wait_for_line(path: &Path, what: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|l| l.ends_with(what)) {
            return text.lines().map(str::to_owned).collect();
        }
        assert!(Instant::now() < deadline, "no {what:?} in {path:?}: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Start-up lines in Redis's format in `logfile`, the `pidfile` written, `loglevel`
/// honoured; redis-server writes the same lines (among more of its own) in the same order.
pub fn log_lines_as_redis(binary: &Path) {
    let dir = Scratch::new("log");
    let log = dir.0.join("redish.log");
    let pidfile = dir.0.join("redish.pid");
    let args = |log: &Path, pid: &Path, level: &str| -> Vec<String> {
        [
            "--port",
            "0",
            "--logfile",
            log.to_str().expect("utf-8"),
            "--pidfile",
            pid.to_str().expect("utf-8"),
            "--loglevel",
            level,
            "--save",
            "",
            "--dir",
            dir.0.to_str().expect("utf-8"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let ours_args = args(&log, &pidfile, "notice");
    let ours_refs: Vec<&str> = ours_args.iter().map(String::as_str).collect();
    let (server, _port) = start(binary, &ours_refs);
    let lines = wait_for_line(&log, "Ready to accept connections");
    let pid = server.0.id();
    let parts: Vec<_> = lines
        .iter()
        .map(|l| log_parts(l).unwrap_or_else(|| panic!("not a Redis log line: {l:?}")))
        .collect();
    for (p, role, date, mark, _) in &parts {
        assert_eq!(*p, pid);
        assert!(matches!(role, 'C' | 'M'));
        assert!(matches!(mark, '.' | '-' | '*' | '#'));
        let b = date.as_bytes();
        assert!(
            b[2] == b' ' && b[6] == b' ' && b[11] == b' ' && b[14] == b':' && b[20] == b'.',
            "{date:?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&pidfile).expect("pidfile"),
        format!("{pid}\n")
    );
    let ours: Vec<(char, char, String)> = parts
        .into_iter()
        .map(|(_, role, _, mark, message)| (role, mark, message.replace(&pid.to_string(), "<pid>")))
        .filter(|(_, _, m)| !m.starts_with("Running mode"))
        .collect();
    assert_eq!(
        ours.last().map(|l| l.2.as_str()),
        Some("Ready to accept connections")
    );
    drop(server);

    // redis-server's own lines, with the same settings, contain ours in order.
    if let Some(redis) = tool("redis-server") {
        let theirs_log = dir.0.join("redis.log");
        let theirs_pid = dir.0.join("redis.pid");
        let mut redis_args = args(&theirs_log, &theirs_pid, "notice");
        // Port 0 is no TCP at all for redis-server (and another ready line): a free port.
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        redis_args[1] = free.local_addr().expect("its address").port().to_string();
        redis_args.extend(["--bind".to_owned(), "127.0.0.1".to_owned()]);
        drop(free);
        let child = Command::new(redis)
            .args(&redis_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        let child = Running(child);
        let lines = wait_for_line(&theirs_log, "Ready to accept connections");
        let rpid = child.0.id().to_string();
        let theirs: Vec<(char, char, String)> = lines
            .iter()
            .filter_map(|l| log_parts(l))
            .map(|(_, role, _, mark, message)| (role, mark, message.replace(&rpid, "<pid>")))
            .collect();
        let mut at = 0;
        for line in &ours {
            at += theirs[at..]
                .iter()
                .position(|t| t == line)
                .unwrap_or_else(|| panic!("{line:?} not in redis-server's log {theirs:?}"))
                + 1;
        }
    }

    // At `loglevel warning` the notices are left out.
    let quiet_log = dir.0.join("quiet.log");
    let quiet_args = args(&quiet_log, &dir.0.join("quiet.pid"), "warning");
    let quiet_refs: Vec<&str> = quiet_args.iter().map(String::as_str).collect();
    let (_quiet, _) = start(binary, &quiet_refs);
    let lines = wait_for_line(&quiet_log, "Server initialized");
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("Ready to accept connections")),
        "{lines:?}"
    );

    // A log file that cannot be opened: Redis's fatal text and exit code 1.
    let (code, err) = refused(binary, &["--logfile", "/nonexistent/dir/x.log"], &dir.0);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory\n"
    );
}
