//! The stream type against a simple model (an ordered map of id to fields): random appends,
//! deletes, exact and approximate trims by length and by id, with small nodes so entries
//! cross node edges; after each step forward and reverse ranges must list the model's
//! entries, and the nodes written as listpacks must load back into the same stream.

use std::collections::BTreeMap;

use proptest::prelude::*;
use redish_core::db::{NodeLimits, Stream, StreamId, Trim};

#[derive(Debug, Clone)]
enum Op {
    Add(u64, u64, u8),
    Del(u64, u64),
    MaxLen(u64, bool),
    MinId(u64, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..30u64, 0..3u64, 0..4u8).prop_map(|(m, s, f)| Op::Add(m, s, f)),
        2 => (0..30u64, 0..3u64).prop_map(|(m, s)| Op::Del(m, s)),
        1 => (0..10u64, any::<bool>()).prop_map(|(n, a)| Op::MaxLen(n, a)),
        1 => (0..30u64, any::<bool>()).prop_map(|(n, a)| Op::MinId(n, a)),
    ]
}

type Model = BTreeMap<StreamId, Vec<(Vec<u8>, Vec<u8>)>>;

fn listed(s: &Stream, rev: bool) -> Model {
    let mut out = Model::new();
    let mut last: Option<StreamId> = None;
    s.range(StreamId::MIN, StreamId::MAX, rev, |id, pairs| {
        if let Some(l) = last {
            assert!(if rev { id < l } else { id > l }, "order");
        }
        last = Some(id);
        out.insert(
            id,
            pairs
                .iter()
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect(),
        );
        true
    });
    out
}

fn fields(kind: u8, n: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let v = n.to_string().into_bytes();
    match kind {
        0 => vec![(b"a".to_vec(), v)],
        1 => vec![(b"a".to_vec(), v), (b"b".to_vec(), b"x".repeat(70))],
        2 => vec![(b"12".to_vec(), b"-5".to_vec()), (b"".to_vec(), v)],
        _ => vec![(b"b".to_vec(), v)],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn stream_agrees_with_a_model(ops in prop::collection::vec(op(), 1..120), max_entries in 1..5u64) {
        let limits = NodeLimits { max_bytes: 300, max_entries };
        let mut s = Stream::new();
        let mut model = Model::new();
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Add(ms, seq, kind) => {
                    let id = StreamId::new(ms, seq);
                    if id > s.last_id() {
                        let f = fields(kind, i as u64);
                        let pairs: Vec<(&[u8], &[u8])> =
                            f.iter().map(|(a, b)| (&a[..], &b[..])).collect();
                        s.append(id, &pairs, limits);
                        model.insert(id, f);
                    }
                }
                Op::Del(ms, seq) => {
                    let id = StreamId::new(ms, seq);
                    prop_assert_eq!(s.delete(id), model.remove(&id).is_some());
                }
                Op::MaxLen(n, approx) => {
                    let removed = s.trim(Trim::MaxLen(n), approx, 0);
                    let before = model.len() as u64;
                    let keep = if approx { before - removed } else { n.min(before) };
                    prop_assert!(keep >= n.min(before));
                    while model.len() as u64 > keep {
                        model.pop_first();
                    }
                    prop_assert_eq!(removed, before - keep);
                }
                Op::MinId(ms, approx) => {
                    let min = StreamId::new(ms, 0);
                    let removed = s.trim(Trim::MinId(min), approx, 0);
                    let mut gone = 0;
                    while gone < removed {
                        let (id, _) = model.pop_first().expect("model has what was removed");
                        prop_assert!(id < min);
                        gone += 1;
                    }
                    if !approx {
                        prop_assert!(model.keys().all(|id| *id >= min));
                    }
                }
            }
            prop_assert_eq!(s.len(), model.len() as u64);
            prop_assert_eq!(&listed(&s, false), &model);
            prop_assert_eq!(&listed(&s, true), &model);
        }
        // The nodes as RDB listpacks load into the same stream.
        let mut back = Stream::new();
        for (master, lp) in s.listpacks() {
            let elems = listpack_elements(&lp);
            prop_assert!(back.load_node(master, &elems).is_some());
        }
        back.set_loaded(s.len(), s.last_id(), Some(s.first_id()), s.max_deleted_id(), Some(s.entries_added()))
            .expect("same length");
        prop_assert_eq!(back.listpacks(), s.listpacks());
        prop_assert_eq!(&listed(&back, false), &model);
    }
}

/// A minimal listpack reader for the test (integers as decimal text), independent of the
/// crate's own.
fn listpack_elements(lp: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(
        u32::from_le_bytes(lp[..4].try_into().unwrap()) as usize,
        lp.len()
    );
    let mut out = Vec::new();
    let mut p = 6;
    while lp[p] != 0xff {
        let b = lp[p];
        let (elem, size): (Vec<u8>, usize) = match b {
            0x00..=0x7f => (b.to_string().into_bytes(), 1),
            0x80..=0xbf => {
                let n = (b & 0x3f) as usize;
                (lp[p + 1..p + 1 + n].to_vec(), 1 + n)
            }
            0xc0..=0xdf => {
                let u = (((b & 0x1f) as i64) << 8) | lp[p + 1] as i64;
                let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
                (v.to_string().into_bytes(), 2)
            }
            0xe0..=0xef => {
                let n = (((b & 0x0f) as usize) << 8) | lp[p + 1] as usize;
                (lp[p + 2..p + 2 + n].to_vec(), 2 + n)
            }
            0xf1 => (
                i16::from_le_bytes([lp[p + 1], lp[p + 2]])
                    .to_string()
                    .into_bytes(),
                3,
            ),
            0xf2 => {
                let v = i32::from_le_bytes([0, lp[p + 1], lp[p + 2], lp[p + 3]]) >> 8;
                (v.to_string().into_bytes(), 4)
            }
            0xf3 => (
                i32::from_le_bytes(lp[p + 1..p + 5].try_into().unwrap())
                    .to_string()
                    .into_bytes(),
                5,
            ),
            0xf4 => (
                i64::from_le_bytes(lp[p + 1..p + 9].try_into().unwrap())
                    .to_string()
                    .into_bytes(),
                9,
            ),
            other => panic!("encoding {other:#x}"),
        };
        out.push(elem);
        let back = match size {
            0..=127 => 1,
            128..=16382 => 2,
            _ => 3,
        };
        p += size + back;
    }
    out
}
