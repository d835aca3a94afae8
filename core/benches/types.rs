//! Command throughput through a [`Session`] for the data-type hot paths, redis-benchmark
//! style: LPUSH, RPOP, SADD, HSET, ZADD (random members over a 100 000 key space, like
//! `redis-benchmark -r 100000`), and LRANGE of 100 and 600 elements. Each iteration is one
//! pipelined batch of 1000 commands, decoded, executed and answered.
//!
//! Run with `cargo bench -p redish-core --bench types`.

mod common;

use bytes::BytesMut;
use common::{feed, session, XorShift};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use redish_core::resp::encode_command;
use redish_core::Store;

const BATCH: usize = 1000;

/// A batch of `BATCH` commands made by `make` from a pseudo-random number.
fn batch(make: impl Fn(u64) -> Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = BytesMut::new();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for _ in 0..BATCH {
        encode_command(&make(rng.below(100_000)), &mut out);
    }
    out.to_vec()
}

fn run(c: &mut Criterion, name: &str, setup: &[u8], input: &[u8]) {
    let mut store = Store::default();
    let mut s = session(&mut store);
    feed(&mut s, &mut store, setup);
    let mut g = c.benchmark_group("types");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(name, |b| b.iter(|| feed(&mut s, &mut store, input)));
    g.finish();
}

fn bench(c: &mut Criterion) {
    let v = |s: &str| s.as_bytes().to_vec();
    let value = vec![b'x'; 3];
    run(
        c,
        "lpush",
        &[],
        &batch(|_| vec![v("LPUSH"), v("mylist"), value.clone()]),
    );
    let mut fill = Vec::new();
    for _ in 0..1000 {
        fill.extend(batch(|_| vec![v("RPUSH"), v("mylist"), value.clone()]));
    }
    run(c, "rpop", &fill, &batch(|_| vec![v("RPOP"), v("mylist")]));
    run(
        c,
        "sadd",
        &[],
        &batch(|r| vec![v("SADD"), v("myset"), format!("element:{r}").into_bytes()]),
    );
    run(
        c,
        "hset",
        &[],
        &batch(|r| {
            vec![
                v("HSET"),
                v("myhash"),
                format!("element:{r}").into_bytes(),
                value.clone(),
            ]
        }),
    );
    run(
        c,
        "zadd",
        &[],
        &batch(|r| {
            vec![
                v("ZADD"),
                v("myzset"),
                (r % 1000).to_string().into_bytes(),
                format!("element:{r}").into_bytes(),
            ]
        }),
    );
    let mut list = BytesMut::new();
    for i in 0..600 {
        encode_command(
            &[&b"RPUSH"[..], b"mylist", format!("{i:03}").as_bytes()],
            &mut list,
        );
    }
    run(
        c,
        "lrange_100",
        &list,
        &batch(|_| vec![v("LRANGE"), v("mylist"), v("0"), v("99")]),
    );
    run(
        c,
        "lrange_600",
        &list,
        &batch(|_| vec![v("LRANGE"), v("mylist"), v("0"), v("599")]),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
