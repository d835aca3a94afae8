//! Arbitrary bytes as an append-only file: the loader never panics and never allocates
//! beyond a small multiple of the input; a torn tail is reported exactly when the valid
//! prefix is shorter than the input; and the commands it reads, written out again by an
//! `AofWriter`, load back the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::persist::aof::{self, AofEntry, AofLoad, AofWriter};

/// The entries as (db, args), transactions marked, offsets dropped.
fn commands(load: &AofLoad) -> Vec<(bool, usize, Vec<bytes::Bytes>)> {
    let mut out = Vec::new();
    for entry in &load.entries {
        match entry {
            AofEntry::Command(c) => out.push((false, c.db, c.args.clone())),
            AofEntry::Transaction(cmds) => {
                out.push((true, usize::MAX, Vec::new()));
                out.extend(cmds.iter().map(|c| (true, c.db, c.args.clone())));
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(loaded) = aof::load(data) else {
        return;
    };
    assert!(loaded.valid_len <= data.len());
    assert_eq!(loaded.truncated, loaded.valid_len != data.len());

    let mut log = AofWriter::new();
    let mut db = 0;
    for entry in &loaded.entries {
        match entry {
            AofEntry::Command(c) => log.append(c.db, &c.args),
            AofEntry::Transaction(cmds) => {
                log.begin_transaction(cmds.first().map_or(db, |c| c.db));
                for c in cmds {
                    log.append(c.db, &c.args);
                }
                log.end_transaction();
            }
        }
        db = match entry {
            AofEntry::Command(c) => c.db,
            AofEntry::Transaction(cmds) => cmds.last().map_or(db, |c| c.db),
        };
    }
    let again = aof::load(log.poll_transmit()).expect("our own output loads");
    assert!(!again.truncated);
    // The preamble is not rewritten here; compare the commands.
    assert_eq!(commands(&again), commands(&loaded));
});
