//! redis-py, the most used Python client (Debian's `python3-redis`, which `.ci/run`
//! installs), runs an application's worth of commands against both servers:
//! `tests/python/redis_py_check.py`. Skipped with a notice when it is not installed, unless
//! `REDISH_REQUIRE_REDIS` is set.

use std::process::Command;

use redish_tests::{test_options, Adapter, TestServer};

/// Debian's interpreter: the one python3-redis installs into.
const PYTHON: &str = "/usr/bin/python3";

fn redis_py_available() -> bool {
    let found = Command::new(PYTHON)
        .args(["-c", "import redis"])
        .output()
        .is_ok_and(|o| o.status.success());
    redish_tests::required("python3-redis", found)
}

fn redis_py(adapter: Adapter, file: &str) {
    if !redis_py_available() {
        return;
    }
    let server = TestServer::start(adapter, test_options());
    let script = format!("{}/python/{file}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(PYTHON)
        .arg(script)
        .arg(server.addr().port().to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "redis-py check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop();
}

#[test]
fn tokio_redis_py() {
    redis_py(Adapter::Tokio, "redis_py_check.py");
}

#[test]
fn async_std_redis_py() {
    redis_py(Adapter::AsyncStd, "redis_py_check.py");
}

/// redis-py's Lock under contention, Script objects and a rate limiter: all Lua.
#[test]
fn tokio_redis_py_scripting() {
    redis_py(Adapter::Tokio, "redis_py_scripting.py");
}

#[test]
fn async_std_redis_py_scripting() {
    redis_py(Adapter::AsyncStd, "redis_py_scripting.py");
}
