//! RESP decoding throughput: redish's decoders against redis-protocol and against a bare
//! framing pass that only finds CRLFs and skips payloads (the floor for any decoder).
//!
//! Corpora, generated here:
//! - `commands`: a redis-benchmark-style stream of SET and GET commands;
//! - `resp2_replies`: mixed RESP2 replies;
//! - `resp3_replies`: RESP3 maps, sets, doubles, booleans, pushes, nulls…;
//! - `bulk_64mib`: one 64 MiB bulk string, fed in 16 KiB chunks;
//! - `array_100k`: one array of 100,000 small bulks, fed whole and in 16 KiB chunks.
//!
//! For chunked feeds, redis-protocol is used as its users must: append the chunk, try to
//! decode the whole buffer, and wait for more when it is incomplete.
//!
//! Floors: `bare_framing` finds CRLFs and skips payloads, allocating nothing; `api_floor`
//! adds what handing out `Vec<Bytes>` commands costs whatever the decoder (a buffer split
//! per argument, a `Vec` per command), with no checks; `copy_floor` only copies chunks
//! into the read buffer.
//!
//! Run with `cargo bench -p redish-core --bench resp`.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use memchr::memchr;
use redish_core::resp::{encode, encode_command, Decoder, Frame, Protocol, RequestDecoder};

const CHUNK: usize = 16 * 1024;

fn commands() -> Vec<u8> {
    let mut out = BytesMut::new();
    let value = [b'x'; 32];
    for i in 0..20_000 {
        let key = format!("key:{:012}", i % 10_000);
        if i % 2 == 0 {
            encode_command(&[&b"SET"[..], key.as_bytes(), &value], &mut out);
        } else {
            encode_command(&[&b"GET"[..], key.as_bytes()], &mut out);
        }
    }
    out.to_vec()
}

fn resp2_replies() -> Vec<u8> {
    let mut out = BytesMut::new();
    for i in 0..10_000i64 {
        let frame = match i % 8 {
            0 => Frame::OK,
            1 => Frame::Integer(i * 7919),
            2 => Frame::bulk(format!("value:{i:032}")),
            3 => Frame::Null,
            4 => Frame::error("ERR wrong number of arguments for 'get' command"),
            5 => Frame::Array((0..10).map(|j| Frame::bulk(format!("item:{j}"))).collect()),
            6 => Frame::NullArray,
            _ => Frame::Array(vec![
                Frame::bulk("message"),
                Frame::bulk("channel"),
                Frame::bulk(format!("payload {i}")),
            ]),
        };
        encode(&frame, Protocol::Resp2, &mut out);
    }
    out.to_vec()
}

fn resp3_replies() -> Vec<u8> {
    let mut out = BytesMut::new();
    for i in 0..10_000i64 {
        let frame = match i % 8 {
            0 => Frame::Map(
                (0..5)
                    .map(|j| {
                        (
                            Frame::bulk(format!("field{j}")),
                            Frame::bulk(format!("v{i}")),
                        )
                    })
                    .collect(),
            ),
            1 => Frame::Set((0..5).map(|j| Frame::bulk(format!("member{j}"))).collect()),
            2 => Frame::Double(i as f64 / 7.0),
            3 => Frame::Boolean(i % 3 == 0),
            4 => Frame::Push(vec![
                Frame::bulk("message"),
                Frame::bulk("news"),
                Frame::bulk(format!("hello {i}")),
            ]),
            5 => Frame::Null,
            6 => Frame::Array(vec![Frame::Integer(i), Frame::Null, Frame::OK]),
            _ => Frame::Map(vec![
                (Frame::simple("server"), Frame::bulk("redis")),
                (Frame::simple("proto"), Frame::Integer(3)),
                (Frame::simple("flag"), Frame::Boolean(true)),
            ]),
        };
        encode(&frame, Protocol::Resp3, &mut out);
    }
    out.to_vec()
}

fn big_bulk() -> Vec<u8> {
    let mut out = BytesMut::new();
    let payload: Vec<u8> = (0..64 << 20).map(|i| (i % 251) as u8).collect();
    encode(&Frame::Bulk(payload.into()), Protocol::Resp2, &mut out);
    out.to_vec()
}

fn big_array() -> Vec<u8> {
    let items = (0..100_000).map(|i| Frame::bulk(format!("e{i}"))).collect();
    let mut out = BytesMut::new();
    encode(&Frame::Array(items), Protocol::Resp2, &mut out);
    out.to_vec()
}

/// The floor: find each line's CR with memchr, skip bulk payloads by their length, build
/// nothing. Returns the number of elements.
fn bare_framing(buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut elements = 0;
    while pos < buf.len() {
        let Some(i) = memchr(b'\r', &buf[pos..]) else {
            break;
        };
        let ty = buf[pos];
        let line = &buf[pos + 1..pos + i];
        pos += i + 2;
        if matches!(ty, b'$' | b'!' | b'=') && line.first() != Some(&b'-') {
            pos += parse_len(line) + 2;
        }
        elements += 1;
    }
    elements
}

fn parse_len(digits: &[u8]) -> usize {
    digits
        .iter()
        .fold(0usize, |n, &d| n * 10 + usize::from(d - b'0'))
}

/// The floor for any decoder that hands out commands as `Vec<Bytes>`: bare framing plus
/// what that API costs (one buffer split per argument, one `Vec` per command), no checks.
fn api_floor(mut buf: BytesMut) -> usize {
    let mut n = 0;
    while let Some(cr) = memchr(b'\r', &buf) {
        let count = parse_len(&buf[1..cr]);
        buf.advance(cr + 2);
        let mut args = Vec::with_capacity(count);
        for _ in 0..count {
            let cr = memchr(b'\r', &buf).unwrap();
            let len = parse_len(&buf[1..cr]);
            buf.advance(cr + 2);
            args.push(buf.split_to(len).freeze());
            buf.advance(2);
        }
        black_box(&args);
        n += 1;
    }
    n
}

/// The floor for a large bulk fed in chunks: copying the chunks into the read buffer.
fn copy_floor(chunks: &[&[u8]]) -> usize {
    let mut buf = BytesMut::with_capacity(CHUNK);
    for chunk in chunks {
        buf.extend_from_slice(chunk);
    }
    black_box(buf.split().freeze()).len()
}

fn redish_whole(mut buf: BytesMut) -> usize {
    let mut decoder = Decoder::default();
    let mut n = 0;
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        black_box(&frame);
        n += 1;
    }
    n
}

fn redish_chunked(chunks: &[&[u8]]) -> usize {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::with_capacity(CHUNK);
    let mut n = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            black_box(&frame);
            n += 1;
        }
    }
    n
}

fn requests_whole(mut buf: BytesMut) -> usize {
    let mut decoder = RequestDecoder::default();
    let mut n = 0;
    while let Some(args) = decoder.decode(&mut buf).unwrap() {
        black_box(&args);
        n += 1;
    }
    n
}

fn requests_chunked(chunks: &[&[u8]]) -> usize {
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::with_capacity(CHUNK);
    let mut n = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(args) = decoder.decode(&mut buf).unwrap() {
            black_box(&args);
            n += 1;
        }
    }
    n
}

/// redis-protocol's zero-copy decoder for the protocol version `resp3`.
fn rp_decode(buf: &mut BytesMut, resp3: bool) -> bool {
    if resp3 {
        let frame = redis_protocol::resp3::decode::complete::decode_bytes_mut(buf).unwrap();
        black_box(&frame);
        frame.is_some()
    } else {
        let frame = redis_protocol::resp2::decode::decode_bytes_mut(buf).unwrap();
        black_box(&frame);
        frame.is_some()
    }
}

fn rp_whole(mut buf: BytesMut, resp3: bool) -> usize {
    let mut n = 0;
    while !buf.is_empty() && rp_decode(&mut buf, resp3) {
        n += 1;
    }
    n
}

fn rp_chunked(chunks: &[&[u8]], resp3: bool) -> usize {
    let mut buf = BytesMut::with_capacity(CHUNK);
    let mut n = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while !buf.is_empty() && rp_decode(&mut buf, resp3) {
            n += 1;
        }
    }
    n
}

/// Benchmarks one corpus fed whole: redish's decoder(s), redis-protocol and the floor.
fn whole(c: &mut Criterion, name: &str, corpus: &[u8], resp3: bool, requests: bool) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(corpus.len() as u64));
    let input = || BytesMut::from(corpus);
    group.bench_function("redish_decoder", |b| {
        b.iter_batched(input, redish_whole, BatchSize::LargeInput)
    });
    if requests {
        group.bench_function("redish_request_decoder", |b| {
            b.iter_batched(input, requests_whole, BatchSize::LargeInput)
        });
    }
    group.bench_function("redis_protocol", |b| {
        b.iter_batched(input, |buf| rp_whole(buf, resp3), BatchSize::LargeInput)
    });
    group.bench_function("bare_framing", |b| {
        b.iter_batched(input, |buf| bare_framing(&buf), BatchSize::LargeInput)
    });
    if requests {
        group.bench_function("api_floor", |b| {
            b.iter_batched(input, api_floor, BatchSize::LargeInput)
        });
    }
    group.finish();
}

/// Benchmarks one corpus fed in 16 KiB chunks.
fn chunked(c: &mut Criterion, name: &str, corpus: &[u8], requests: bool, redis_protocol: bool) {
    let chunks: Vec<&[u8]> = corpus.chunks(CHUNK).collect();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(corpus.len() as u64));
    group.bench_function("redish_decoder", |b| b.iter(|| redish_chunked(&chunks)));
    if requests {
        group.bench_function("redish_request_decoder", |b| {
            b.iter(|| requests_chunked(&chunks))
        });
    }
    if redis_protocol {
        group.bench_function("redis_protocol", |b| b.iter(|| rp_chunked(&chunks, false)));
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let commands = commands();
    // Sanity: every contender sees the same number of elements.
    assert_eq!(requests_whole(BytesMut::from(&commands[..])), 20_000);
    assert_eq!(redish_whole(BytesMut::from(&commands[..])), 20_000);
    assert_eq!(rp_whole(BytesMut::from(&commands[..]), false), 20_000);
    assert_eq!(bare_framing(&commands), 20_000 + 10_000 * 3 + 10_000 * 2);
    assert_eq!(api_floor(BytesMut::from(&commands[..])), 20_000);
    whole(c, "commands", &commands, false, true);
    chunked(c, "commands_16k_chunks", &commands, true, false);

    let resp2 = resp2_replies();
    assert_eq!(rp_whole(BytesMut::from(&resp2[..]), false), 10_000);
    whole(c, "resp2_replies", &resp2, false, false);

    let resp3 = resp3_replies();
    assert_eq!(redish_whole(BytesMut::from(&resp3[..])), 10_000);
    assert_eq!(rp_whole(BytesMut::from(&resp3[..]), true), 10_000);
    whole(c, "resp3_replies", &resp3, true, false);

    let bulk = big_bulk();
    {
        let mut group = c.benchmark_group("bulk_64mib");
        group.throughput(Throughput::Bytes(bulk.len() as u64));
        let chunks: Vec<&[u8]> = bulk.chunks(CHUNK).collect();
        group.bench_function("redish_decoder_16k_chunks", |b| {
            b.iter(|| redish_chunked(&chunks))
        });
        group.bench_function("redis_protocol_16k_chunks", |b| {
            b.iter(|| rp_chunked(&chunks, false))
        });
        group.bench_function("copy_floor_16k_chunks", |b| b.iter(|| copy_floor(&chunks)));
        group.finish();
    }
    drop(bulk);

    let array = big_array();
    whole(c, "array_100k", &array, false, false);
    chunked(c, "array_100k_16k_chunks", &array, false, true);
}

criterion_group! {
    name = resp;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(resp);
