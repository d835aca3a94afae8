//! Commands from arbitrary bytes run between the steps of a snapshot (BGSAVE, BGREWRITEAOF):
//! whatever they do to the keyspace, the snapshot is the store as it was when it began,
//! each key once — checked by comparing its RDB encoding with one written at the start.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::db::{SnapshotEntry, SnapshotStep};
use redish_core::persist::rdb::{self, RdbEncoder};
use redish_core::{Session, SessionConfig, Store};

/// The keys of `entries` (or of the store) as one RDB file, sorted so order does not matter.
fn encode(mut entries: Vec<SnapshotEntry>, now: u64) -> Vec<u8> {
    // Writers leave out keys expired at the snapshot's time.
    entries.retain(|e| e.expire_at_ms.map_or(true, |at| at > now));
    entries.sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
    let mut enc = RdbEncoder::new(now);
    let mut out = Vec::new();
    for e in &entries {
        if enc.current_db() != Some(e.db) {
            enc.select_db(e.db, 0, 0);
        }
        enc.entry(&e.key, &e.value, e.expire_at_ms);
        out.extend_from_slice(enc.take_chunk());
    }
    out.extend(enc.finish());
    out
}

fuzz_target!(|data: &[u8]| {
    let now = 1_700_000_000_000u64;
    let mut store = Store::default();
    let mut session = Session::new(store.next_client_id(), SessionConfig::default());
    // The first half fills the store, the second changes it while the snapshot runs.
    let (fill, change) = data.split_at(data.len() / 2);
    session.handle_bytes(fill);
    session.process(&mut store, now);
    let before: Vec<SnapshotEntry> = store
        .dbs()
        .iter()
        .enumerate()
        .flat_map(|(db, d)| {
            d.entries(now)
                .map(move |(key, value, expire_at_ms)| SnapshotEntry {
                    db,
                    key: key.into(),
                    value: value.clone(),
                    expire_at_ms,
                })
        })
        .collect();
    let want = encode(before, now);

    let mut snapshot = store.begin_snapshot(now).expect("none running");
    let mut got = Vec::new();
    let mut chunks = change.chunks(16);
    let mut t = now;
    loop {
        if let Some(chunk) = chunks.next() {
            session.handle_bytes(chunk);
            t += 7;
            session.process(&mut store, t);
            let n = session.poll_transmit().len();
            session.consume_transmit(n);
            while store.poll_delivery().is_some() {}
        }
        match store.snapshot_step(&mut snapshot, 3, &mut got) {
            SnapshotStep::More => {}
            SnapshotStep::Done => break,
            SnapshotStep::Abandoned => panic!("nobody abandoned it"),
        }
    }
    assert_eq!(
        encode(got, now),
        want,
        "the snapshot is not the store at its start"
    );
    let _ = rdb::to_vec(&store, t);
});
