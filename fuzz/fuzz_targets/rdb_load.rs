//! Arbitrary bytes as an RDB file: the reader never panics and never allocates beyond a
//! small multiple of the input, and whatever loads writes back and loads again the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::db::Value;
use redish_core::persist::rdb;
use redish_core::Store;

const NOW: u64 = 1_700_000_000_000;

fn contents(store: &Store) -> Vec<(usize, Vec<u8>, Value, Option<u64>)> {
    let mut out: Vec<_> = store
        .dbs()
        .iter()
        .enumerate()
        .flat_map(|(i, db)| {
            db.entries(NOW)
                .map(move |(k, v, at)| (i, k.to_vec(), v.clone(), at))
        })
        .collect();
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(loaded) = rdb::load(data, NOW) else {
        return;
    };
    assert!(loaded.len <= data.len());
    let mut store = Store::default();
    // Databases beyond 16 or duplicate keys: a valid file this store cannot take.
    if rdb::load_into(&mut store, data, NOW).is_err() {
        return;
    }
    let again = rdb::to_vec(&store, NOW);
    let mut back = Store::default();
    rdb::load_into(&mut back, &again, NOW).expect("our own output loads");
    assert_eq!(contents(&back), contents(&store));
});
