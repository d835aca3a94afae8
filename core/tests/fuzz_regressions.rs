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
