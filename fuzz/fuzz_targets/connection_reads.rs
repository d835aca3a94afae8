//! Two connections over one store, with a small output limit, driven by random
//! interleavings of sending commands, processing, reading some of the output and not
//! reading at all — replies in pieces (SRANDMEMBER/HRANDFIELD/ZRANDMEMBER with huge negative
//! counts) mixed with transactions, pushes, pub/sub, CLIENT REPLY and CLIENT KILL. Nothing
//! panics; what each client reads is valid RESP (checked as it streams, without building
//! frames: a reply may announce two billion elements); while a reply is in pieces the
//! pending output stays near the limit.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::{Session, SessionConfig, Store};

const LIMIT: usize = 256;

/// Checks RESP as it arrives: one token at a time, with the elements left in each open
/// aggregate.
#[derive(Default)]
struct Skim {
    buf: Vec<u8>,
    open: Vec<u64>,
}

impl Skim {
    fn feed(&mut self, bytes: &[u8]) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(n) = self.token(&buf[at..]) {
            at += n;
        }
        buf.drain(..at);
        assert!(buf.len() < 64 * 1024, "a token never ends");
        self.buf = buf;
    }

    /// The length of the token at the start of `b`, if whole; updates the open aggregates.
    fn token(&mut self, b: &[u8]) -> Option<usize> {
        let end = b.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&b[1..end]).expect("header is text");
        let int = || {
            line.parse::<i64>()
                .unwrap_or_else(|_| panic!("bad length {line:?}"))
        };
        let after = end + 2;
        match b[0] {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {
                if b[0] == b':' {
                    int();
                }
                self.element_done();
                Some(after)
            }
            b'$' | b'=' | b'!' => {
                let n = int();
                if n == -1 && b[0] == b'$' {
                    self.element_done();
                    return Some(after);
                }
                let n = usize::try_from(n).expect("bulk length");
                let total = after.checked_add(n)?.checked_add(2)?;
                if b.len() < total {
                    assert!(n < 1 << 20, "huge bulk {n}");
                    return None;
                }
                assert_eq!(&b[total - 2..total], b"\r\n", "bulk not ended by CRLF");
                self.element_done();
                Some(total)
            }
            kind @ (b'*' | b'~' | b'>' | b'%') => {
                // A push may sit inside EXEC's array (SUBSCRIBE queued in RESP3), as in
                // Redis; that pushes wait for a reply in pieces is `session_stream.rs`'s.
                let n = int();
                if n == -1 && kind == b'*' {
                    self.element_done();
                    return Some(after);
                }
                let n = u64::try_from(n).expect("aggregate length");
                let n = if kind == b'%' {
                    n.checked_mul(2).expect("map")
                } else {
                    n
                };
                if n == 0 {
                    self.element_done();
                } else {
                    self.open.push(n);
                }
                Some(after)
            }
            other => panic!("not RESP: {:?}", other as char),
        }
    }

    fn element_done(&mut self) {
        while let Some(left) = self.open.last_mut() {
            *left -= 1;
            if *left > 0 {
                return;
            }
            self.open.pop();
        }
    }
}

struct Client {
    session: Session,
    skim: Skim,
    gone: bool,
    /// Pending output at the last check, if a reply was in pieces then.
    streaming_pending: Option<usize>,
}

impl Client {
    fn read(&mut self, max: usize) {
        let out = self.session.poll_transmit();
        let n = out.len().min(max);
        self.skim.feed(&out[..n]);
        self.session.consume_transmit(n);
    }

    /// While a reply is in pieces, its pieces never take the pending output past the limit
    /// (by more than an element): what was there when it began (the rest of an EXEC)
    /// only drains.
    fn check_bound(&mut self) {
        let pending = self.session.poll_transmit().len();
        if let Some(before) = self.streaming_pending {
            let bound = before.max(LIMIT + 64);
            assert!(
                pending <= bound,
                "pending {pending} > {bound} while streaming"
            );
        }
        self.streaming_pending = self.session.is_streaming().then_some(pending);
    }
}

const COUNTS: [&str; 10] = [
    "-1",
    "-5",
    "-1025",
    "-3000",
    "-2147483648",
    "-9223372036854775808",
    "-9223372036854775807",
    "-4611686018427387903",
    "3",
    "0",
];

fn command(op: u8, arg: u8) -> String {
    let count = COUNTS[usize::from(arg) % COUNTS.len()];
    match op % 22 {
        0 => format!("SRANDMEMBER s {count}\r\n"),
        1 => format!("HRANDFIELD h {count} WITHVALUES\r\n"),
        2 => format!("ZRANDMEMBER z {count} WITHSCORES\r\n"),
        3 => format!("HRANDFIELD h {count}\r\n"),
        4 => format!("SRANDMEMBER big {count}\r\n"),
        5 => "MULTI\r\n".into(),
        6 => "EXEC\r\n".into(),
        7 => format!("SADD s m{arg}\r\n"),
        8 => "GET k\r\n".into(),
        9 => format!("SET k {arg}\r\n"),
        10 => "CLIENT TRACKING on\r\n".into(),
        11 => "HELLO 3\r\n".into(),
        12 => "HELLO 2\r\n".into(),
        13 => "SUBSCRIBE c\r\n".into(),
        14 => format!("PUBLISH c {arg}\r\n"),
        15 => "CLIENT REPLY OFF\r\n".into(),
        16 => "CLIENT REPLY ON\r\n".into(),
        17 => "CLIENT REPLY SKIP\r\n".into(),
        18 => format!("CLIENT KILL ID {}\r\n", 1 + arg % 2),
        19 => "PING\r\n".into(),
        20 => format!("DEL {}\r\n", ["s", "h", "z", "big"][usize::from(arg) % 4]),
        _ => "RESET\r\n".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut store = Store::default();
    let config = SessionConfig {
        max_pending_output_bytes: LIMIT,
        ..SessionConfig::default()
    };
    let now = 1_700_000_000_000u64;
    let mut clients: Vec<Client> = (0..2)
        .map(|_| Client {
            session: Session::new(store.next_client_id(), config),
            skim: Skim::default(),
            gone: false,
            streaming_pending: None,
        })
        .collect();
    let members: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let setup = format!(
        "SADD s a b c\r\nHSET h f1 v1 f2 v2\r\nZADD z 1 a 2.5 b\r\nSADD big {}\r\n",
        members.join(" ")
    );
    clients[0].session.handle_bytes(setup.as_bytes());
    clients[0].session.process(&mut store, now);
    clients[0].read(usize::MAX);

    for step in data.chunks(3) {
        let [what, op, arg] = [
            step[0],
            *step.get(1).unwrap_or(&0),
            *step.get(2).unwrap_or(&0),
        ];
        let i = usize::from(what & 1);
        if clients[i].gone {
            continue;
        }
        match (what >> 1) % 4 {
            0 => clients[i].session.handle_bytes(command(op, arg).as_bytes()),
            1 => clients[i].session.process(&mut store, now),
            2 => clients[i].read(usize::from(op) * usize::from(arg) + 1),
            _ => {} // this client does not read
        }
        while let Some(d) = store.poll_delivery() {
            if let Some(c) = clients.iter_mut().find(|c| c.session.id() == d.to) {
                if !c.gone {
                    c.session.handle_message(&d.message, now);
                }
            }
        }
        for c in clients.iter_mut() {
            c.check_bound();
            while c.session.poll_event().is_some() {}
            if c.session.is_closing() && !c.gone {
                // What was queued before the close is still written out; then it is gone.
                c.read(usize::MAX);
                c.session.handle_close(&mut store);
                c.gone = true;
            }
        }
    }
    // Read what is left, as far as it is not endless.
    for c in clients.iter_mut().filter(|c| !c.gone) {
        for _ in 0..64 {
            c.session.process(&mut store, now);
            if c.session.poll_transmit().is_empty() {
                break;
            }
            c.read(usize::MAX);
        }
        c.session.handle_close(&mut store);
    }
});
