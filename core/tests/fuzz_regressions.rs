//! Inputs the fuzzers found, kept so the bugs stay fixed.

use bytes::Bytes;
use redish_core::{Command, Frame, Session, SessionConfig, Store};

/// command_parse: an option echoed back in an error reply carried a CR, which would have
/// broken the reply line. Error replies map CR and LF to spaces, as Redis does.
#[test]
fn error_replies_never_contain_line_breaks() {
    let args: Vec<Bytes> = ["expire", "k", "1", "\r\0"]
        .iter()
        .map(|s| Bytes::from(s.as_bytes().to_vec()))
        .collect();
    let err = Command::parse(args).unwrap_err();
    assert_eq!(
        err.to_frame(),
        Frame::Error(Bytes::from_static(b"ERR Unsupported option  \0"))
    );

    let mut store = Store::default();
    let mut s = Session::new(1, SessionConfig::default());
    s.handle_bytes(b"*2\r\n$5\r\nno\rpe\r\n$3\r\na\nb\r\n");
    s.process(&mut store, 0);
    assert_eq!(
        s.poll_transmit(),
        b"-ERR unknown command 'no pe', with args beginning with: 'a b' \r\n"
    );
}

/// hll: a sparse value whose last VAL run passes register 16383 was accepted by PFMERGE
/// (unpatched Redis's `hllMerge` stops there and checks only the count) and left a value
/// PFCOUNT refuses. Such a run is corrupt, as in the CVE-2025-32023 fix the installed
/// redis-server 7.0.15 carries.
#[test]
fn hll_merge_refuses_a_run_past_the_last_register() {
    let mut store = Store::default();
    let mut s = Session::new(1, SessionConfig::default());
    let mut value = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    value.extend_from_slice(&[0x7f, 0xff, 0x80, 0xff, 0xf0]);
    let mut req = format!("*3\r\n$3\r\nSET\r\n$1\r\nh\r\n${}\r\n", value.len()).into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n*2\r\n$7\r\nPFMERGE\r\n$1\r\nh\r\n");
    s.handle_bytes(&req);
    s.process(&mut store, 0);
    assert_eq!(
        s.poll_transmit(),
        b"+OK\r\n-INVALIDOBJ Corrupted HLL object detected\r\n"
    );
}
