//! Model-based test of `Db`: random operations with a fake clock moving forward must agree
//! with a plain map that stores absolute expiry times.

use std::collections::HashMap;

use bytes::Bytes;
use proptest::prelude::*;
use redish_core::db::{Db, Value};

#[derive(Debug, Clone)]
enum Op {
    Set {
        key: u8,
        val: u8,
        ttl_ms: Option<u64>,
    },
    SetKeepTtl {
        key: u8,
        val: u8,
    },
    Get(u8),
    Del(u8),
    Expire {
        key: u8,
        ttl_ms: u64,
    },
    Persist(u8),
    Ttl(u8),
    Advance(u64),
    ActiveExpire {
        max_keys: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    // Few keys, so operations collide; short times, so keys expire during a run.
    let key = 0u8..6;
    prop_oneof![
        (key.clone(), any::<u8>(), prop::option::of(1u64..50))
            .prop_map(|(key, val, ttl_ms)| Op::Set { key, val, ttl_ms }),
        (key.clone(), any::<u8>()).prop_map(|(key, val)| Op::SetKeepTtl { key, val }),
        key.clone().prop_map(Op::Get),
        key.clone().prop_map(Op::Del),
        (key.clone(), 1u64..50).prop_map(|(key, ttl_ms)| Op::Expire { key, ttl_ms }),
        key.clone().prop_map(Op::Persist),
        key.prop_map(Op::Ttl),
        (0u64..30).prop_map(Op::Advance),
        (1usize..4).prop_map(|max_keys| Op::ActiveExpire { max_keys }),
    ]
}

/// The model: key → (value, absolute expiry). A key is alive while `now < expiry`.
#[derive(Default)]
struct Model {
    map: HashMap<u8, (u8, Option<u64>)>,
}

impl Model {
    /// Mirrors lazy expiry: an access to an expired key removes it.
    fn touch(&mut self, key: u8, now: u64) {
        if self
            .map
            .get(&key)
            .is_some_and(|(_, at)| at.is_some_and(|at| at <= now))
        {
            self.map.remove(&key);
        }
    }

    fn alive(&self, key: u8, now: u64) -> Option<(u8, Option<u64>)> {
        self.map
            .get(&key)
            .copied()
            .filter(|(_, at)| at.map_or(true, |at| at > now))
    }
}

fn k(key: u8) -> [u8; 4] {
    [b'k', b'e', b'y', b'0' + key]
}

fn v(val: u8) -> Value {
    Value::str(&[val])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn db_agrees_with_model(ops in prop::collection::vec(op(), 1..80)) {
        let mut db = Db::new(7);
        let mut model = Model::default();
        let mut now = 1_000_000u64;
        for op in ops {
            match &op {
                Op::SetKeepTtl { key, .. } | Op::Get(key) | Op::Del(key) | Op::Persist(key) | Op::Ttl(key)
                | Op::Expire { key, .. } => model.touch(*key, now),
                _ => {}
            }
            match op {
                Op::Set { key, val, ttl_ms } => {
                    db.insert(&k(key), v(val), ttl_ms.map(|t| now + t), now);
                    model.map.insert(key, (val, ttl_ms.map(|t| now + t)));
                }
                Op::SetKeepTtl { key, val } => {
                    db.insert_keep_ttl(&k(key), v(val), now);
                    let at = model.alive(key, now).and_then(|(_, at)| at);
                    model.map.insert(key, (val, at));
                }
                Op::Get(key) => {
                    let want = model.alive(key, now).map(|(val, _)| v(val));
                    prop_assert_eq!(db.get(&k(key), now).cloned(), want);
                }
                Op::Del(key) => {
                    let want = model.alive(key, now).map(|(val, _)| v(val));
                    model.map.remove(&key);
                    prop_assert_eq!(db.remove(&k(key), now), want);
                }
                Op::Expire { key, ttl_ms } => {
                    let alive = model.alive(key, now).is_some();
                    prop_assert_eq!(db.set_expire_at_ms(&k(key), Some(now + ttl_ms), now), alive);
                    if let Some(e) = model.map.get_mut(&key).filter(|_| alive) {
                        e.1 = Some(now + ttl_ms);
                    }
                }
                Op::Persist(key) => {
                    let alive = model.alive(key, now).is_some();
                    prop_assert_eq!(db.set_expire_at_ms(&k(key), None, now), alive);
                    if let Some(e) = model.map.get_mut(&key).filter(|_| alive) {
                        e.1 = None;
                    }
                }
                Op::Ttl(key) => {
                    let want = model.alive(key, now).map(|(_, at)| at);
                    prop_assert_eq!(db.expire_at_ms(&k(key), now), want);
                }
                Op::Advance(ms) => now += ms,
                Op::ActiveExpire { max_keys } => {
                    let mut due: Vec<(u64, u8)> = model
                        .map
                        .iter()
                        .filter_map(|(&key, &(_, at))| at.filter(|&at| at <= now).map(|at| (at, key)))
                        .collect();
                    due.sort();
                    let removed = db.handle_timeout(now, max_keys);
                    prop_assert_eq!(removed, due.len().min(max_keys));
                    for (_, key) in due.into_iter().take(max_keys) {
                        model.map.remove(&key);
                    }
                }
            }
            // Whatever was collected, the live keys agree, and the next deadline is never
            // later than the earliest expiry the model still holds.
            let mut live: Vec<_> = db.keys(now).map(Bytes::copy_from_slice).collect();
            live.sort();
            let mut want: Vec<_> = (0..6)
                .filter(|&key| model.alive(key, now).is_some())
                .map(|key| Bytes::copy_from_slice(&k(key)))
                .collect();
            want.sort();
            prop_assert_eq!(live, want);
            if let Some(deadline) = db.poll_timeout() {
                prop_assert!(model.map.values().any(|(_, at)| *at == Some(deadline)));
            }
        }
    }
}

#[test]
fn active_expiry_is_bounded_and_ordered() {
    let mut db = Db::new(1);
    for i in 0..10u64 {
        db.insert(format!("k{i}").as_bytes(), v(0), Some(100 + i), 0);
    }
    db.insert(b"forever", v(0), None, 0);
    assert_eq!(db.poll_timeout(), Some(100));
    assert_eq!(db.handle_timeout(99, 100), 0);
    assert_eq!(db.handle_timeout(200, 4), 4);
    assert_eq!(db.poll_timeout(), Some(104), "earliest keys go first");
    assert_eq!(db.handle_timeout(200, 100), 6);
    assert_eq!(db.poll_timeout(), None);
    assert_eq!(db.len(), 1);
    assert_eq!(db.expired_count(), 10);
}
