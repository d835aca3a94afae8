//! `server /path/to/redis.conf [--name value…]`: the binary as redis-server starts (see
//! `conf/mod.rs`, shared with async-std-adapter).

mod conf;

const BINARY: &str = env!("CARGO_BIN_EXE_server");

#[test]
fn debian_conf_starts() {
    conf::debian_conf_starts(BINARY.as_ref());
}

#[test]
fn malformed_files_refused_as_redis() {
    conf::malformed_files_refused_as_redis(BINARY.as_ref());
}

#[test]
fn includes_and_command_line() {
    conf::includes_and_command_line(BINARY.as_ref());
}

#[test]
fn rewrite_as_redis() {
    conf::rewrite_as_redis(BINARY.as_ref());
}

#[test]
fn log_lines_as_redis() {
    conf::log_lines_as_redis(BINARY.as_ref());
}
