//! Replies that grow without bound, produced piece by piece.
//!
//! `SRANDMEMBER s -2147483648` asks for two billion picks from a three-member set: built at
//! once, its reply is gigabytes of memory that a client which never reads would hold. Such
//! a command writes its reply's header, then hands the session a [`ReplyStream`]: an owned
//! copy of what the reply is drawn from and how much of it is left. The session asks it for
//! the next piece only while its pending output is under the connection's limit, so the
//! memory held is bounded by that limit plus the copy, and since the stream owns its copy
//! the store is free between pieces — other clients run — while what the client reads is
//! what it would have read from Redis's atomic reply: picks from the value as it was when
//! the command ran.

use bytes::{Bytes, BytesMut};

use crate::db::Rng;
use crate::resp::Protocol;

use super::reply::Out;

/// Below this many elements a reply is written at once: the copy a stream takes would cost
/// more than the reply.
pub(crate) const MIN_STREAMED_ELEMENTS: usize = 1024;

/// The rest of a reply, written on demand (see the module doc).
#[derive(Debug)]
pub(crate) struct ReplyStream {
    proto: Protocol,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Independent random picks (a negative count of SRANDMEMBER, HRANDFIELD, ZRANDMEMBER).
    RandomPicks {
        members: Vec<Bytes>,
        second: Second,
        left: u64,
        rng: Rng,
    },
}

/// What goes with each member picked.
#[derive(Debug)]
pub(crate) enum Second {
    /// Nothing (SRANDMEMBER, or no WITHVALUES / WITHSCORES).
    None,
    /// HRANDFIELD … WITHVALUES: the field's value.
    Values(Vec<Bytes>),
    /// ZRANDMEMBER … WITHSCORES: the member's score.
    Scores(Vec<f64>),
}

impl ReplyStream {
    /// `count` independent picks of `members` (not empty), each with its `second`, drawn
    /// with `rng`. The caller has written the reply's array header.
    pub fn random_picks(
        members: Vec<Bytes>,
        second: Second,
        count: u64,
        rng: Rng,
        proto: Protocol,
    ) -> ReplyStream {
        debug_assert!(!members.is_empty());
        ReplyStream {
            proto,
            kind: Kind::RandomPicks {
                members,
                second,
                left: count,
                rng,
            },
        }
    }

    /// Appends the next piece to `out`: at least one element, and no more once `room`
    /// bytes were added. True when the reply is complete.
    pub fn fill(&mut self, out: &mut BytesMut, room: usize) -> bool {
        let target = out.len().saturating_add(room);
        let mut w = Out {
            buf: out,
            proto: self.proto,
        };
        match &mut self.kind {
            Kind::RandomPicks {
                members,
                second,
                left,
                rng,
            } => {
                let nested = w.resp3() && !matches!(second, Second::None);
                while *left > 0 {
                    let i = rng.below(members.len());
                    if nested {
                        w.array(2);
                    }
                    w.bulk(&members[i]);
                    match second {
                        Second::None => {}
                        Second::Values(v) => w.bulk(&v[i]),
                        Second::Scores(s) => w.score(s[i]),
                    }
                    *left -= 1;
                    if w.buf.len() >= target {
                        break;
                    }
                }
                *left == 0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::{Frame, Limits};

    fn drain(mut s: ReplyStream, room: usize) -> (BytesMut, usize) {
        let mut out = BytesMut::new();
        let mut pieces = 0;
        loop {
            pieces += 1;
            let before = out.len();
            let done = s.fill(&mut out, room);
            assert!(out.len() > before, "every piece writes something");
            if done {
                return (out, pieces);
            }
        }
    }

    #[test]
    fn picks_come_in_pieces_of_about_the_room() {
        let members = vec![Bytes::from_static(b"a"), Bytes::from_static(b"bb")];
        let s =
            ReplyStream::random_picks(members, Second::None, 10_000, Rng::new(7), Protocol::Resp2);
        let (out, pieces) = drain(s, 1000);
        // `$1\r\na\r\n` or `$2\r\nbb\r\n`: 7 or 8 bytes each.
        assert!((70_000..=80_000).contains(&out.len()));
        assert!((70..=81).contains(&pieces), "{pieces}");
        let mut framed = BytesMut::from(&b"*10000\r\n"[..]);
        framed.extend_from_slice(&out);
        let mut d = crate::resp::Decoder::new(Limits::DEFAULT);
        let Ok(Some(Frame::Array(items))) = d.decode(&mut framed) else {
            panic!("not one array");
        };
        assert_eq!(items.len(), 10_000);
    }

    #[test]
    fn pairs_are_nested_in_resp3_only() {
        let one = || vec![Bytes::from_static(b"f")];
        let mut out = BytesMut::new();
        let values = Second::Values(vec![Bytes::from_static(b"v")]);
        let mut s = ReplyStream::random_picks(one(), values, 2, Rng::new(1), Protocol::Resp3);
        assert!(!s.fill(&mut out, 0) && s.fill(&mut out, 0));
        assert_eq!(
            &out[..],
            b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
        );
        let mut out = BytesMut::new();
        let scores = Second::Scores(vec![1.5]);
        let mut s = ReplyStream::random_picks(one(), scores, 1, Rng::new(1), Protocol::Resp2);
        assert!(s.fill(&mut out, usize::MAX));
        assert_eq!(&out[..], b"$1\r\nf\r\n$3\r\n1.5\r\n");
    }
}
