//! ZADD into a sorted set of a million members, as `redis-benchmark -t zadd -r 1000000` does
//! once its set has filled: random members (`element:N`) with random integer scores, most of
//! them present already, so most commands move a member. The set is far larger than the
//! CPU caches, so this measures the skip list's memory accesses, which the small sets of
//! `types.rs` do not. Each iteration is one pipelined batch of 1000 commands; the batches
//! cycle through 200 000 distinct commands so that no path stays warm in the cache.
//!
//! Run with `cargo bench -p redish-core --bench zset`.

mod common;

use bytes::BytesMut;
use common::{feed, session, XorShift};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use redish_core::resp::encode_command;
use redish_core::Store;

const MEMBERS: u64 = 1_000_000;
const BATCH: usize = 1000;
const BATCHES: usize = 200;

fn zadd_batches(seed: u64, batches: usize) -> Vec<Vec<u8>> {
    let mut rng = XorShift(seed);
    let mut next = move || rng.below(MEMBERS);
    (0..batches)
        .map(|_| {
            let mut out = BytesMut::new();
            for _ in 0..BATCH {
                let (score, member) = (next(), next());
                encode_command(
                    &[
                        &b"ZADD"[..],
                        b"myzset",
                        score.to_string().as_bytes(),
                        format!("element:{member}").as_bytes(),
                    ],
                    &mut out,
                );
            }
            out.to_vec()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut store = Store::default();
    let mut s = session(&mut store);
    let mut fill = BytesMut::new();
    for i in 0..MEMBERS {
        encode_command(
            &[
                &b"ZADD"[..],
                b"myzset",
                ((i * 7919) % MEMBERS).to_string().as_bytes(),
                format!("element:{i}").as_bytes(),
            ],
            &mut fill,
        );
        if fill.len() > 1 << 20 {
            feed(&mut s, &mut store, &fill);
            fill.clear();
        }
    }
    feed(&mut s, &mut store, &fill);
    let batches = zadd_batches(0x2545_f491_4f6c_dd1d, BATCHES);
    let mut g = c.benchmark_group("zset");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut i = 0;
    g.bench_function("zadd_1m", |b| {
        b.iter(|| {
            feed(&mut s, &mut store, &batches[i % BATCHES]);
            i += 1;
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
