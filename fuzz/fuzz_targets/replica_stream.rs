//! Arbitrary bytes from a "master" to a replica's link, cut into reads of sizes the input
//! chooses: the handshake replies, the RDB transfer (`$len` or `$EOF:` mark) and the
//! command stream. The link never panics, errors stick (the host drops the connection),
//! and what it buffers stays bounded by what it was given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::server::replica::ReplicaLink;
use redish_core::Store;

const NOW: u64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).max(1);
    let mut store = Store::default();
    store.set_master("master".into(), 6379);
    let epoch = store.replication().master.as_ref().unwrap().epoch;
    let mut link = ReplicaLink::new(&mut store, epoch, NOW).unwrap();
    link.handle_connected(&mut store, NOW).unwrap();
    let mut now = NOW;
    for chunk in data.chunks(cut) {
        if link.handle_read(chunk, &mut store, now).is_err() {
            return;
        }
        now += 300;
        if link.handle_timeout(&mut store, now).is_err() {
            return;
        }
        // Replies to the master are small: a handshake line or an ACK per command at most.
        assert!(link.poll_transmit().len() <= 64 + data.len() * 64);
        let n = link.poll_transmit().len();
        link.consume_transmit(n);
    }
    // The offset counts only stream bytes received.
    assert!(store.replication().offset <= data.len() as u64);
});
