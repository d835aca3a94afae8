//! Redis's own tools against the server: redis-cli one-shots and a short redis-benchmark.
//! Skipped with a notice when redis-tools is not installed, unless REDISH_REQUIRE_REDIS=1.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bounded, redis_tool, TestServer};

/// Runs `tool` with `args` off the runtime's threads; returns stdout, stderr and exit code.
async fn run(tool: &Path, args: Vec<String>) -> (String, String, Option<i32>) {
    let tool = tool.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(&tool).args(&args).output().expect("run tool");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code(),
        )
    })
    .await
    .unwrap()
}

fn args(port: u16, rest: &[&str]) -> Vec<String> {
    ["-p".to_string(), port.to_string()]
        .into_iter()
        .chain(rest.iter().map(|s| s.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_one_shots() {
    let Some(cli) = redis_tool("redis-cli") else {
        return;
    };
    bounded(async {
        let server = TestServer::start().await;
        let port = server.addr.port();
        // Into a pipe, redis-cli prints replies raw.
        let cases: &[(&[&str], &str)] = &[
            (&["set", "a", "b"], "OK\n"),
            (&["get", "a"], "b\n"),
            (&["get", "missing"], "\n"),
            (&["exists", "a", "missing"], "1\n"),
            (&["set", "t", "v", "EX", "100"], "OK\n"),
            (&["ttl", "t"], "100\n"),
            (&["del", "a", "t"], "2\n"),
            (&["ping"], "PONG\n"),
            (&["echo", "hello world"], "hello world\n"),
            (&["publish", "ch", "m"], "0\n"),
            (&["config", "get", "appendonly"], "appendonly\nno\n"),
            (&["dbsize"], "0\n"),
        ];
        for (cmd, want) in cases {
            let (out, err, code) = run(&cli, args(port, cmd)).await;
            assert_eq!(out, *want, "redis-cli {cmd:?} (stderr {err:?})");
            assert_eq!(code, Some(0), "redis-cli {cmd:?}");
        }
        // --no-raw: the terminal format.
        let (out, _, _) = run(&cli, args(port, &["--no-raw", "get", "missing"])).await;
        assert_eq!(out, "(nil)\n");
        let (out, _, _) = run(&cli, args(port, &["--no-raw", "set", "a", "b"])).await;
        assert_eq!(out, "OK\n");
        let (out, _, _) = run(&cli, args(port, &["--no-raw", "get", "a"])).await;
        assert_eq!(out, "\"b\"\n");
        let (out, _, _) = run(&cli, args(port, &["--no-raw", "exists", "a"])).await;
        assert_eq!(out, "(integer) 1\n");
        let (out, _, _) = run(&cli, args(port, &["--no-raw", "nosuchcommand", "x"])).await;
        assert!(
            out.starts_with("(error) ERR unknown command 'nosuchcommand'"),
            "{out}"
        );
        // RESP3.
        let (out, _, _) = run(&cli, args(port, &["-3", "--no-raw", "get", "missing"])).await;
        assert_eq!(out, "(nil)\n");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_benchmark_runs_clean() {
    let Some(bench) = redis_tool("redis-benchmark") else {
        return;
    };
    bounded(async {
        let server = TestServer::start().await;
        let port = server.addr.port();
        let (out, err, code) = run(
            &bench,
            args(
                port,
                &[
                    "-t",
                    "set,get,ping",
                    "-n",
                    "20000",
                    "-c",
                    "20",
                    "-P",
                    "8",
                    "-q",
                ],
            ),
        )
        .await;
        assert_eq!(code, Some(0), "redis-benchmark failed: {out}\n{err}");
        let text = format!("{out}{err}");
        assert!(
            !text.to_lowercase().contains("error"),
            "redis-benchmark reported errors:\n{text}"
        );
        for test in ["SET", "GET", "PING_INLINE", "PING_MBULK"] {
            assert!(
                text.contains(&format!("{test}: ")),
                "no {test} result in:\n{text}"
            );
        }
        server.stop().await;
    })
    .await;
}
