//! TLS on both servers, with Debian's TLS-built `redis-cli --tls` and redis-py `ssl=True`
//! as clients, against certificates the test makes itself (a CA, a server certificate, a
//! client certificate, with rcgen): plain and TLS ports at once, TLS alone (`port 0`),
//! `tls-auth-clients yes|optional`, certificates reloaded by CONFIG SET, and the CONFIG
//! replies for TLS settings compared with a redis-server configured the same.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use redish_tests::{free_port, redis_tool, required, test_options, Adapter, TempDir, TestServer};

/// A CA and the PEM files of what it signed, in a directory of their own.
struct Pki {
    dir: TempDir,
}

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn make_ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ca {
        cert: params.self_signed(&key).expect("self-signed"),
        key,
    }
}

fn issue(ca: &Ca, name: &str, usage: ExtendedKeyUsagePurpose) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, &ca.cert, &ca.key).expect("signed");
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    /// `ca.pem`, `server.pem`/`server.key`, `client.pem`/`client.key` from one CA; and
    /// `ca2.pem`, `server2.pem`/`server2.key` from another, for the reload test.
    fn new() -> Pki {
        let dir = TempDir::new("tls");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        for (suffix, ca_name) in [("", "redish test CA"), ("2", "redish second CA")] {
            let ca = make_ca(ca_name);
            write(&format!("ca{suffix}.pem"), &ca.cert.pem());
            let (cert, key) = issue(&ca, "redish server", ExtendedKeyUsagePurpose::ServerAuth);
            write(&format!("server{suffix}.pem"), &cert);
            write(&format!("server{suffix}.key"), &key);
            if suffix.is_empty() {
                let (cert, key) = issue(&ca, "redish client", ExtendedKeyUsagePurpose::ClientAuth);
                write("client.pem", &cert);
                write("client.key", &key);
            }
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The settings of a server on `tls_port` with this PKI, client certificates required.
    fn settings(&self, tls_port: u16) -> Vec<(String, String)> {
        vec![
            ("tls-port".into(), tls_port.to_string()),
            ("tls-cert-file".into(), self.path("server.pem")),
            ("tls-key-file".into(), self.path("server.key")),
            ("tls-ca-cert-file".into(), self.path("ca.pem")),
        ]
    }
}

/// How redis-cli presents itself.
#[derive(Clone, Copy, PartialEq)]
enum Cli {
    /// TLS with `ca` as the trusted CA and the client certificate.
    WithCert(&'static str),
    /// TLS with `ca` as the trusted CA, no client certificate.
    NoCert(&'static str),
}

fn redis_cli(cli: &Path, pki: &Pki, port: u16, how: Cli, args: &[&str]) -> Output {
    let mut cmd = Command::new(cli);
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "--tls"]);
    match how {
        Cli::WithCert(ca) => {
            cmd.args(["--cacert", &pki.path(ca)]);
            cmd.args([
                "--cert",
                &pki.path("client.pem"),
                "--key",
                &pki.path("client.key"),
            ]);
        }
        Cli::NoCert(ca) => {
            cmd.args(["--cacert", &pki.path(ca)]);
        }
    }
    cmd.args(args).stdin(Stdio::null());
    run_bounded(cmd)
}

/// Runs a client process, killing it after 20 seconds.
fn run_bounded(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

fn start(adapter: Adapter, pki: &Pki, port: u16, tls_port: u16) -> TestServer {
    let mut options = test_options();
    options.port = port;
    options.settings.extend(pki.settings(tls_port));
    TestServer::start(adapter, options)
}

fn plain_and_tls(adapter: Adapter) {
    let Some(cli) = redis_tool("redis-cli") else {
        return;
    };
    let pki = Pki::new();
    let (plain_port, tls_port) = (free_port(), free_port());
    let server = start(adapter, &pki, plain_port, tls_port);
    assert_eq!(server.addr().port(), plain_port);

    let tls = |how, args: &[&str]| text(&redis_cli(&cli, &pki, tls_port, how, args));
    assert_eq!(tls(Cli::WithCert("ca.pem"), &["PING"]), "PONG");
    assert_eq!(
        tls(Cli::WithCert("ca.pem"), &["SET", "k", "over tls"]),
        "OK"
    );
    // The same keyspace over the plain port.
    let mut con = redish_tests::connect(server.addr());
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "over tls");
    // `tls-auth-clients yes` (the default): no certificate, no service.
    assert_ne!(tls(Cli::NoCert("ca.pem"), &["PING"]), "PONG");
    // A client that trusts another CA does not accept our certificate.
    assert_ne!(tls(Cli::WithCert("ca2.pem"), &["PING"]), "PONG");

    // `optional`: a client without a certificate is served; one with a certificate still is.
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "tls-auth-clients", "optional"])
        .query(&mut con)
        .unwrap();
    assert_eq!(tls(Cli::NoCert("ca.pem"), &["PING"]), "PONG");
    assert_eq!(tls(Cli::WithCert("ca.pem"), &["PING"]), "PONG");
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "tls-auth-clients", "yes"])
        .query(&mut con)
        .unwrap();
    assert_ne!(tls(Cli::NoCert("ca.pem"), &["PING"]), "PONG");

    // CONFIG SET of the certificate and key: the next handshake shows the new certificate
    // (signed by the second CA), so a client trusting only that CA now connects.
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "tls-cert-file", &pki.path("server2.pem")])
        .arg(&["tls-key-file", &pki.path("server2.key")])
        .query(&mut con)
        .unwrap();
    assert_eq!(tls(Cli::WithCert("ca2.pem"), &["PING"]), "PONG");
    assert_ne!(tls(Cli::WithCert("ca.pem"), &["PING"]), "PONG");
    // A file that does not load: refused as Redis refuses it, the current one kept.
    let err = redis::cmd("CONFIG")
        .arg(&["SET", "tls-cert-file", "/nonexistent/cert.pem"])
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Unable to update TLS configuration. Check server logs."),
        "{err}"
    );
    let cert: Vec<String> = redis::cmd("CONFIG")
        .arg(&["GET", "tls-cert-file"])
        .query(&mut con)
        .unwrap();
    assert_eq!(cert[1], pki.path("server2.pem"));
    assert_eq!(tls(Cli::WithCert("ca2.pem"), &["PING"]), "PONG");
    server.stop();
}

#[test]
fn tokio_plain_and_tls() {
    plain_and_tls(Adapter::Tokio);
}

#[test]
fn async_std_plain_and_tls() {
    plain_and_tls(Adapter::AsyncStd);
}

/// `port 0` with a TLS port: TLS alone, as redis-server does.
fn tls_only(adapter: Adapter) {
    let Some(cli) = redis_tool("redis-cli") else {
        return;
    };
    let pki = Pki::new();
    let tls_port = free_port();
    let server = start(adapter, &pki, 0, tls_port);
    assert_eq!(server.addr().port(), tls_port, "no plain TCP listener");
    let out = redis_cli(
        &cli,
        &pki,
        tls_port,
        Cli::WithCert("ca.pem"),
        &["CONFIG", "GET", "port"],
    );
    assert_eq!(text(&out), "port\n0");
    let out = redis_cli(
        &cli,
        &pki,
        tls_port,
        Cli::WithCert("ca.pem"),
        &["CONFIG", "GET", "tls-port"],
    );
    assert_eq!(text(&out), format!("tls-port\n{tls_port}"));
    server.stop();
}

#[test]
fn tokio_tls_only() {
    tls_only(Adapter::Tokio);
}

#[test]
fn async_std_tls_only() {
    tls_only(Adapter::AsyncStd);
}

/// INFO stats' `rejected_connections`.
async fn rejected(c: &mut tokio_adapter::client::Client) -> u64 {
    match c.command(&["INFO", "stats"]).await.unwrap() {
        redish_core::resp::Frame::Bulk(b) => String::from_utf8_lossy(&b)
            .lines()
            .find_map(|l| l.strip_prefix("rejected_connections:")?.trim().parse().ok())
            .unwrap(),
        other => panic!("{other:?}"),
    }
}

/// redish's own client (`Client::connect_tls`) with a client certificate: commands, a
/// pipeline bigger than the socket buffers, a refused connection without a certificate.
fn own_client(adapter: Adapter) {
    let pki = Pki::new();
    let tls_port = free_port();
    let server = start(adapter, &pki, 0, tls_port);
    let ca = std::path::PathBuf::from(pki.path("ca.pem"));
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let with_cert =
        redish_host::tls::client_config(&ca, Some((Path::new(&cert), Path::new(&key)))).unwrap();
    let without = redish_host::tls::client_config(&ca, None).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use tokio_adapter::client::Client;
        let addr = ("127.0.0.1", tls_port);
        let mut client = Client::connect_tls(addr, "127.0.0.1", with_cert.clone())
            .await
            .unwrap();
        assert_eq!(&client.ping().await.unwrap()[..], b"PONG");
        client.set("k", "over tls").await.unwrap();
        assert_eq!(
            client.get("k").await.unwrap().as_deref(),
            Some(&b"over tls"[..])
        );
        let mut pipeline = client.pipeline();
        let value = "v".repeat(1000);
        for i in 0..3000 {
            pipeline.set(format!("key:{i}"), value.as_str());
        }
        let replies = pipeline.execute().await.unwrap();
        assert_eq!(replies.len(), 3000);
        let n = client.command(&["DBSIZE"]).await.unwrap();
        assert_eq!(n, redish_core::resp::Frame::Integer(3001));
        // No certificate: the server ends the connection (after the handshake in TLS 1.3,
        // so the refusal shows at the first reply at the latest).
        let refused = match Client::connect_tls(addr, "127.0.0.1", without).await {
            Err(_) => true,
            Ok(mut c) => c.ping().await.is_err(),
        };
        assert!(refused, "served without a client certificate");

        // A TLS client counts for `maxclients` from its accept, as in Redis: over it, the
        // connection is closed before any handshake and counted as rejected.
        let before = rejected(&mut client).await;
        client
            .command(&["CONFIG", "SET", "maxclients", "1"])
            .await
            .unwrap();
        let over = Client::connect_tls(addr, "127.0.0.1", with_cert.clone()).await;
        let turned_away = match over {
            Err(_) => true,
            Ok(mut c) => c.ping().await.is_err(),
        };
        assert!(turned_away, "served over maxclients");
        assert_eq!(rejected(&mut client).await, before + 1);
        client
            .command(&["CONFIG", "SET", "maxclients", "10"])
            .await
            .unwrap();
        let mut again = Client::connect_tls(addr, "127.0.0.1", with_cert)
            .await
            .unwrap();
        assert_eq!(&again.ping().await.unwrap()[..], b"PONG");
    });
    server.stop();
}

#[test]
fn tokio_own_client() {
    own_client(Adapter::Tokio);
}

#[test]
fn async_std_own_client() {
    own_client(Adapter::AsyncStd);
}

const PYTHON: &str = "/usr/bin/python3";

/// redis-py with `ssl=True` and a client certificate: a pipeline of 2,000 commands and a
/// 3 MB value, each way, so TLS records are written in part and resumed.
fn redis_py_ssl(adapter: Adapter) {
    let found = Command::new(PYTHON)
        .args(["-c", "import redis, ssl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !required("python3-redis", found) {
        return;
    }
    let pki = Pki::new();
    let tls_port = free_port();
    let server = start(adapter, &pki, 0, tls_port);
    let script = r#"
import sys, redis
port, ca, cert, key = sys.argv[1:5]
r = redis.Redis(host="127.0.0.1", port=int(port), ssl=True, ssl_ca_certs=ca,
                ssl_certfile=cert, ssl_keyfile=key, socket_timeout=10)
assert r.ping()
p = r.pipeline(transaction=False)
for i in range(2000):
    p.set("key:%d" % i, "value:%d" % i)
p.execute()
p = r.pipeline(transaction=False)
for i in range(2000):
    p.get("key:%d" % i)
got = p.execute()
assert got == [b"value:%d" % i for i in range(2000)], got[:3]
big = bytes(range(256)) * (3 * 4096)
r.set("big", big)
assert r.get("big") == big
assert r.strlen("big") == len(big)
print("ok")
"#;
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-c", script, &tls_port.to_string()]).args([
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client.key"),
    ]);
    let out = run_bounded(cmd);
    assert!(
        out.status.success() && text(&out) == "ok",
        "redis-py over TLS failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop();
}

#[test]
fn tokio_redis_py_ssl() {
    redis_py_ssl(Adapter::Tokio);
}

#[test]
fn async_std_redis_py_ssl() {
    redis_py_ssl(Adapter::AsyncStd);
}

/// A redis-server on `tls-port` alone with the same files.
struct Redis {
    child: Child,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_redis(program: &Path, pki: &Pki, dir: &Path, tls_port: u16) -> Redis {
    let mut cmd = Command::new(program);
    cmd.args(["--port", "0"]);
    for (name, value) in pki.settings(tls_port) {
        cmd.arg(format!("--{name}")).arg(value);
    }
    let child = cmd
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    Redis { child }
}

/// What both servers answer to CONFIG GET and SET of TLS settings, bad values included.
/// (Not `tls-auth-clients yes` without a CA: Redis takes it and then fails every
/// handshake; redish refuses it as it refuses the other settings that leave TLS unusable.)
const CONFIG_CHECKS: &[&[&str]] = &[
    &["CONFIG", "GET", "tls-auth-clients"],
    &["CONFIG", "GET", "tls-protocols"],
    &["CONFIG", "GET", "tls-ciphersuites"],
    &["CONFIG", "GET", "tls-prefer-server-ciphers"],
    &["CONFIG", "GET", "tls-session-caching"],
    &["CONFIG", "GET", "tls-session-cache-size"],
    &["CONFIG", "GET", "tls-session-cache-timeout"],
    &["CONFIG", "GET", "tls-replication"],
    &[
        "CONFIG",
        "SET",
        "tls-prefer-server-ciphers",
        "yes",
        "tls-session-caching",
        "no",
    ],
    &["CONFIG", "GET", "tls-prefer-server-ciphers"],
    &["CONFIG", "SET", "tls-session-cache-size", "-1"],
    &["CONFIG", "SET", "tls-auth-clients", "maybe"],
    &["CONFIG", "SET", "tls-cert-file", "/nonexistent/cert.pem"],
    &["CONFIG", "SET", "tls-key-file", "/nonexistent/key.pem"],
    &["CONFIG", "SET", "tls-ca-cert-file", "/nonexistent/ca.pem"],
    &["CONFIG", "SET", "tls-protocols", "SSLv3"],
    &["CONFIG", "SET", "tls-ciphersuites", "TLS_NO_SUCH_SUITE"],
    &["CONFIG", "GET", "tls-cert-file"],
    &[
        "CONFIG",
        "SET",
        "tls-auth-clients",
        "no",
        "tls-ca-cert-file",
        "",
    ],
    &["CONFIG", "GET", "tls-auth-clients"],
    &["CONFIG", "SET", "tls-protocols", "TLSv1.3"],
    &["CONFIG", "GET", "tls-protocols"],
    &["PING"],
];

fn config_like_redis(adapter: Adapter) {
    let (Some(program), Some(cli)) = (redis_tool("redis-server"), redis_tool("redis-cli")) else {
        return;
    };
    let pki = Pki::new();
    let dir = TempDir::new("tls-redis");
    let port = free_port();
    let redis = start_redis(&program, &pki, dir.path(), port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while text(&redis_cli(
        &cli,
        &pki,
        port,
        Cli::WithCert("ca.pem"),
        &["PING"],
    )) != "PONG"
    {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Each command on a connection of its own: after `tls-auth-clients no`, a certificate
    // is still offered and accepted.
    let replies = |port: u16| -> Vec<String> {
        CONFIG_CHECKS
            .iter()
            .map(|args| text(&redis_cli(&cli, &pki, port, Cli::WithCert("ca.pem"), args)))
            .collect()
    };
    let theirs = replies(port);
    drop(redis);

    let port = free_port();
    let server = start(adapter, &pki, 0, port);
    let ours = replies(port);
    for ((args, t), o) in CONFIG_CHECKS.iter().zip(&theirs).zip(&ours) {
        assert_eq!(t, o, "{args:?}: redis {t:?}, redish {o:?}");
    }
    server.stop();
}

#[test]
fn tokio_config_like_redis() {
    config_like_redis(Adapter::Tokio);
}

#[test]
fn async_std_config_like_redis() {
    config_like_redis(Adapter::AsyncStd);
}
