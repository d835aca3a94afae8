//! MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP, as Redis 7.0 answers them
//! (`object.c`).
//!
//! MEMORY USAGE is Redis's *estimate* (`objectComputeSize`), computed from the logical
//! content as if the value were laid out in Redis's structures with jemalloc's size
//! classes: a string's `robj` and sds, a listpack's exact byte size, a hash table's bucket
//! array and entries, a skiplist's nodes, a stream's listpacks and radix tree. Aggregates
//! in hash tables or skiplists are sampled as Redis samples them (`SAMPLES n`, 5 by default,
//! 0 for all). It is not what redish itself allocates — that is INFO's `used_memory` — but
//! what an operator sizing a Redis deployment expects. Where Redis's figure depends on
//! things we do not model (which elements a sample hits, a skiplist node's random level, a
//! radix tree's node count, spare room left in an sds by the query buffer), ours is close
//! rather than equal: `core/tests/differential_memory.rs` states the tolerance per type.

use bytes::Bytes;

use super::command::{help, subcommand};
use super::executor::Ctx;
use super::{Args, CmdError};
use crate::db::{Stream, StreamId, Value};
use crate::num::{fmt_score, parse_i64};
use crate::resp::{Frame, Protocol};

/// `MEMORY <subcommand> …`.
#[derive(Debug, Clone, PartialEq)]
pub enum MemoryCmd {
    /// `MEMORY USAGE key [SAMPLES count]` (`usize::MAX` samples for 0).
    Usage(Bytes, usize),
    /// `MEMORY STATS`.
    Stats,
    /// `MEMORY DOCTOR`.
    Doctor,
    /// `MEMORY MALLOC-STATS`.
    MallocStats,
    /// `MEMORY PURGE`.
    Purge,
    /// `MEMORY HELP`.
    Help,
}

const MEMORY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

/// Redis's `OBJ_COMPUTE_SIZE_DEF_SAMPLES`.
const DEFAULT_SAMPLES: usize = 5;

impl MemoryCmd {
    pub(crate) fn parse(args: &mut Args) -> Result<MemoryCmd, CmdError> {
        let m = subcommand(args, "MEMORY")?;
        Ok(match m.name {
            "memory|usage" => {
                let key = args.required()?;
                let mut samples = DEFAULT_SAMPLES;
                while let Some(opt) = args.next() {
                    if !opt.eq_ignore_ascii_case(b"SAMPLES") || args.remaining() == 0 {
                        return Err(CmdError::Syntax);
                    }
                    let n = args.required()?;
                    samples = match parse_i64(&n) {
                        None => return Err(CmdError::NotInteger),
                        Some(n) if n < 0 => return Err(CmdError::Syntax),
                        Some(0) => usize::MAX,
                        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                    };
                }
                MemoryCmd::Usage(key, samples)
            }
            "memory|stats" => MemoryCmd::Stats,
            "memory|doctor" => MemoryCmd::Doctor,
            "memory|malloc-stats" => MemoryCmd::MallocStats,
            "memory|purge" => MemoryCmd::Purge,
            _ => MemoryCmd::Help,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        match self {
            MemoryCmd::Help => Ok(help("MEMORY", MEMORY_HELP)),
            MemoryCmd::Usage(key, samples) => {
                // As Redis's `dictFind`: a key past its time but not collected still counts.
                Ok(match ctx.db().raw_entry(&key) {
                    None => Frame::Null,
                    Some((value, _)) => {
                        let n = sds_alloc(key.len()) + DICT_ENTRY + object_size(value, samples);
                        Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX))
                    }
                })
            }
            MemoryCmd::Stats => Ok(stats(ctx)),
            MemoryCmd::Doctor => Ok(verbatim(doctor(ctx))),
            MemoryCmd::MallocStats => {
                // Redis's answer for an allocator without a stats report.
                Ok(Frame::bulk("Stats not supported for the current allocator"))
            }
            // Redis's answer when the allocator has nothing to purge or is not jemalloc.
            MemoryCmd::Purge => Ok(Frame::OK),
        }
    }
}

fn verbatim(text: String) -> Frame {
    Frame::Verbatim {
        format: *b"txt",
        data: Bytes::from(text),
    }
}

const ROBJ: u64 = 16;
const DICT_ENTRY: u64 = 24;
const DICT: u64 = 56;
const QUICKLIST: u64 = 40;
const QUICKLIST_NODE: u64 = 40;

/// jemalloc's size class for a request of `n` bytes (x86-64: 8, then steps of 16 up to 128,
/// then four classes per doubling).
pub(crate) fn jemalloc_size(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let k = 63 - (n - 1).leading_zeros() as u64; // 2^k < n <= 2^(k+1)
    let step = 1u64 << (k - 2);
    n.div_ceil(step) * step
}

/// `sdsZmallocSize` of an sds of `len` bytes created to fit: header by length, the bytes,
/// the terminating NUL.
fn sds_alloc(len: usize) -> u64 {
    let hdr = match len {
        0..32 => 1,
        32..256 => 3,
        256..65536 => 5,
        _ => 9,
    };
    jemalloc_size(hdr + len as u64 + 1)
}

/// Bytes one element takes in a listpack: encoding and data, then the back-length.
fn listpack_entry(e: &[u8]) -> u64 {
    let body = match parse_i64(e) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if (-32768..=32767).contains(&v) => 3,
        Some(v) if (-8_388_608..=8_388_607).contains(&v) => 4,
        Some(v) if i32::try_from(v).is_ok() => 5,
        Some(_) => 9,
        None => match e.len() {
            0..=63 => 1 + e.len() as u64,
            64..=4095 => 2 + e.len() as u64,
            _ => 5 + e.len() as u64,
        },
    };
    let backlen = match body {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    body + backlen
}

/// A listpack's total bytes: 6 of header, the entries, the end byte.
fn listpack_bytes<'a>(entries: impl Iterator<Item = &'a [u8]>) -> u64 {
    7 + entries.map(listpack_entry).sum::<u64>()
}

/// Buckets of a Redis dict holding `n` entries: a power of two, at least 4.
fn dict_slots(n: usize) -> u64 {
    n.max(4).next_power_of_two() as u64
}

/// The average of the first `samples` element sizes, times the element count.
fn sampled(sizes: impl Iterator<Item = u64>, samples: usize, len: usize) -> u64 {
    let (mut total, mut n) = (0u64, 0u64);
    for s in sizes.take(samples) {
        total += s;
        n += 1;
    }
    if n == 0 {
        0
    } else {
        (total as f64 / n as f64 * len as f64) as u64
    }
}

/// `objectComputeSize` (see the module docs).
fn object_size(value: &Value, samples: usize) -> u64 {
    match value {
        Value::Str(s) => {
            if s.len() <= 20 && parse_i64(s).is_some() {
                ROBJ
            } else if s.len() <= 44 {
                // embstr: the robj, an sdshdr8 and the bytes in one allocation.
                jemalloc_size(ROBJ + 3 + s.len() as u64 + 1)
            } else {
                ROBJ + sds_alloc(s.len())
            }
        }
        Value::List(l) => {
            // Quicklist nodes of at most 8 KiB of listpack (list-max-listpack-size -2).
            let mut nodes: Vec<u64> = Vec::new();
            let mut cur = 0u64;
            for e in l.iter() {
                let add = listpack_entry(e);
                if cur == 0 || cur + e.len() as u64 + 8 > 8192 {
                    if cur > 0 {
                        nodes.push(cur);
                    }
                    cur = 7;
                }
                cur += add;
            }
            if cur > 0 {
                nodes.push(cur);
            }
            let count = nodes.len();
            ROBJ + QUICKLIST
                + sampled(
                    nodes.into_iter().map(|b| QUICKLIST_NODE + jemalloc_size(b)),
                    samples,
                    count,
                )
        }
        Value::Set(s) if s.is_intset() => {
            let width = s
                .iter()
                .map(|m| match m {
                    crate::db::types::set::Member::Int(v) => {
                        if i16::try_from(v).is_ok() {
                            2
                        } else if i32::try_from(v).is_ok() {
                            4
                        } else {
                            8
                        }
                    }
                    crate::db::types::set::Member::Bytes(_) => 8,
                })
                .max()
                .unwrap_or(2);
            ROBJ + jemalloc_size(8 + width * s.len() as u64)
        }
        Value::Set(s) => {
            ROBJ + DICT
                + 8 * dict_slots(s.len())
                + sampled(
                    s.iter()
                        .map(|m| m.with_bytes(|b| DICT_ENTRY + sds_alloc(b.len()))),
                    samples,
                    s.len(),
                )
        }
        Value::Hash(h) if h.is_compact() => {
            let mut entries: Vec<&[u8]> = Vec::with_capacity(h.len() * 2);
            for (f, v) in h.iter() {
                entries.push(f);
                entries.push(v);
            }
            ROBJ + jemalloc_size(listpack_bytes(entries.into_iter()))
        }
        Value::Hash(h) => {
            ROBJ + DICT
                + 8 * dict_slots(h.len())
                + sampled(
                    h.iter()
                        .map(|(f, v)| sds_alloc(f.len()) + sds_alloc(v.len()) + DICT_ENTRY),
                    samples,
                    h.len(),
                )
        }
        Value::ZSet(z) if z.is_compact() => {
            let scores: Vec<(&[u8], String)> =
                z.iter(0, false).map(|(m, s)| (m, fmt_score(s))).collect();
            let bytes = 7 + scores
                .iter()
                .map(|(m, s)| listpack_entry(m) + listpack_entry(s.as_bytes()))
                .sum::<u64>();
            ROBJ + jemalloc_size(bytes)
        }
        Value::ZSet(z) => {
            // zset + zskiplist + dict, the 32-level header node (536 bytes), then per
            // member its sds, dict entry and a node of the mean random level (~53 bytes).
            const ZSET: u64 = 16;
            const ZSKIPLIST: u64 = 32;
            const NODE_MEAN: u64 = 53;
            ROBJ + ZSET
                + ZSKIPLIST
                + DICT
                + 8 * dict_slots(z.len())
                + jemalloc_size(24 + 32 * 16)
                + sampled(
                    z.iter(0, false)
                        .map(|(m, _)| sds_alloc(m.len()) + DICT_ENTRY + NODE_MEAN),
                    samples,
                    z.len(),
                )
        }
        Value::Stream(s) => stream_size(s, samples),
    }
}

/// A stream as Redis lays it out: listpacks of up to 100 entries or 4 KiB, a radix tree
/// indexing them, and the consumer groups' structures.
fn stream_size(s: &Stream, samples: usize) -> u64 {
    const STREAM: u64 = 80;
    let mut nodes: Vec<u64> = Vec::new();
    let mut cur: Option<(u64, usize, Vec<Vec<u8>>, StreamId)> = None;
    let int = |v: i128| -> u64 {
        let v = i64::try_from(v).unwrap_or(i64::MAX);
        listpack_entry(itoa::Buffer::new().format(v).as_bytes())
    };
    s.range(StreamId::MIN, StreamId::MAX, false, |id, pairs| {
        let raw: u64 = pairs.iter().map(|(f, v)| (f.len() + v.len()) as u64).sum();
        if let Some((bytes, count, _, _)) = &cur {
            if bytes + raw >= 4096 || *count >= 100 {
                nodes.push(cur.take().map_or(0, |c| c.0));
            }
        }
        let (bytes, count, master, master_id) = cur.get_or_insert_with(|| {
            let fields: Vec<Vec<u8>> = pairs.iter().map(|(f, _)| f.to_vec()).collect();
            // Master entry: count, deleted, field count, the fields, the 0 terminator.
            let mut b = 7 + int(1) + int(0) + int(fields.len() as i128) + int(0);
            b += fields.iter().map(|f| listpack_entry(f)).sum::<u64>();
            (b, 0, fields, id)
        });
        let same =
            master.len() == pairs.len() && master.iter().zip(pairs).all(|(m, (f, _))| m == f);
        let mut e = int(0)
            + int(id.ms as i128 - master_id.ms as i128)
            + int(id.seq as i128 - master_id.seq as i128);
        if same {
            e += pairs.iter().map(|(_, v)| listpack_entry(v)).sum::<u64>();
            e += int(3 + pairs.len() as i128);
        } else {
            e += int(pairs.len() as i128);
            e += pairs
                .iter()
                .map(|(f, v)| listpack_entry(f) + listpack_entry(v))
                .sum::<u64>();
            e += int(4 + 2 * pairs.len() as i128);
        }
        *bytes += e;
        *count += 1;
        true
    });
    if let Some((bytes, ..)) = cur {
        nodes.push(bytes);
    }
    // `streamRadixTreeMemoryUsage`: 16 bytes per id, (4 + 240) per node. Redis's tree of
    // 128-bit ids holds 17 nodes for one key and about 3.5 more per key after that
    // (measured against redis-server 7.0.15).
    let rax = |n: u64| {
        let nodes = if n == 0 { 1 } else { 17 + (n - 1) * 7 / 2 };
        n * 16 + nodes * (4 + 8 * 30)
    };
    let mut size = ROBJ + STREAM + rax(nodes.len() as u64);
    let n = nodes.len();
    if n <= samples {
        size += nodes.iter().sum::<u64>();
    } else {
        let avg = nodes.iter().take(samples).sum::<u64>() / samples as u64;
        size += avg * (n as u64 - 1) + nodes[n - 1];
    }
    for g in s.groups.values() {
        size += 40 + rax(g.pel.len() as u64) + 24 * g.pel.len() as u64;
        for (name, c) in &g.consumers {
            size += 24 + name.len() as u64 + rax(c.pel.len() as u64);
        }
    }
    size
}

/// MEMORY STATS: Redis 7.0's fields in its order.
fn stats(ctx: &mut Ctx) -> Frame {
    let store = &*ctx.store;
    let used = store.used_memory();
    let peak = store.used_memory_peak().max(used);
    let startup = store.used_memory_startup();
    let rss = store.process_info().used_memory_rss_bytes;
    let lua = store.scripts.memory() as u64;
    let functions = store.scripts.functions.memory() as u64;
    let resp3 = ctx.conn.proto == Protocol::Resp3;
    let int = |n: u64| Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let dbl = |x: f64| {
        // Redis computes these as C floats and replies with them widened to double.
        let x = x as f32 as f64;
        if resp3 {
            Frame::Double(x)
        } else {
            Frame::bulk(fmt_score(x))
        }
    };
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut out: Vec<(&str, Frame)> = vec![
        ("peak.allocated", int(peak)),
        ("total.allocated", int(used)),
        ("startup.allocated", int(startup)),
        ("replication.backlog", int(0)),
        ("clients.slaves", int(0)),
        ("clients.normal", int(0)),
        ("cluster.links", int(0)),
        ("aof.buffer", int(0)),
        ("lua.caches", int(lua)),
        ("functions.caches", int(functions)),
    ];
    let mut overhead = startup + lua + functions;
    let mut keys = 0u64;
    let mut dbs: Vec<(String, Frame)> = Vec::new();
    for (i, db) in store.dbs().iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let n = db.len() as u64;
        keys += n;
        let main = n * DICT_ENTRY + dict_slots(db.len()) * 8 + n * ROBJ;
        let volatile = db.volatile_len();
        let expires = if volatile == 0 {
            0
        } else {
            volatile as u64 * DICT_ENTRY + dict_slots(volatile) * 8
        };
        overhead += main + expires;
        dbs.push((
            format!("db.{i}"),
            Frame::Map(vec![
                (Frame::bulk("overhead.hashtable.main"), int(main)),
                (Frame::bulk("overhead.hashtable.expires"), int(expires)),
            ]),
        ));
    }
    let overhead = overhead.min(used);
    let dataset = used - overhead;
    let net = if used > startup { used - startup } else { 1 };
    let mut pairs: Vec<(Frame, Frame)> = out.drain(..).map(|(k, v)| (Frame::bulk(k), v)).collect();
    pairs.extend(dbs.into_iter().map(|(k, v)| (Frame::bulk(k), v)));
    let rest: Vec<(&str, Frame)> = vec![
        ("overhead.total", int(overhead)),
        ("keys.count", int(keys)),
        (
            "keys.bytes-per-key",
            int(net.checked_div(keys).unwrap_or(0)),
        ),
        ("dataset.bytes", int(dataset)),
        (
            "dataset.percentage",
            dbl(dataset as f64 * 100.0 / net as f64),
        ),
        ("peak.percentage", dbl(ratio(used * 100, peak))),
        // No allocator statistics: the allocator's figures are the counted bytes.
        ("allocator.allocated", int(used)),
        ("allocator.active", int(used)),
        ("allocator.resident", int(rss)),
        ("allocator-fragmentation.ratio", dbl(1.0)),
        ("allocator-fragmentation.bytes", int(0)),
        ("allocator-rss.ratio", dbl(ratio(rss, used))),
        ("allocator-rss.bytes", int(rss.saturating_sub(used))),
        ("rss-overhead.ratio", dbl(1.0)),
        ("rss-overhead.bytes", int(0)),
        ("fragmentation", dbl(ratio(rss, used))),
        ("fragmentation.bytes", int(rss.saturating_sub(used))),
    ];
    pairs.extend(rest.into_iter().map(|(k, v)| (Frame::bulk(k), v)));
    Frame::Map(pairs)
}

/// MEMORY DOCTOR: Redis's report for the conditions redish can see.
fn doctor(ctx: &mut Ctx) -> String {
    let store = &*ctx.store;
    let used = store.used_memory();
    let peak = store.used_memory_peak().max(used);
    let rss = store.process_info().used_memory_rss_bytes;
    if used < 5 * 1024 * 1024 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_owned();
    }
    let mut reports = String::new();
    if peak as f64 / used as f64 > 1.5 {
        reports.push_str(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    if rss > used && rss as f64 / used as f64 > 1.4 && rss - used > 10 << 20 {
        reports.push_str(&format!(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 ({:.2}). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"{}\".\n\n", (rss as f64 / used as f64) as f32, store.allocator_name()));
    }
    if store.scripts.len() > 1000 {
        reports.push_str(" * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n");
    }
    if reports.is_empty() {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_owned();
    }
    format!("Sam, I detected a few issues in this Redis instance memory implants:\n\n{reports}I'm here to keep you safe, Sam. I want to help you.\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jemalloc_classes() {
        let table = [
            (1, 8),
            (8, 8),
            (9, 16),
            (23, 32),
            (49, 64),
            (128, 128),
            (129, 160),
            (257, 320),
            (536, 640),
            (4097, 5120),
        ];
        for (n, class) in table {
            assert_eq!(jemalloc_size(n), class, "{n}");
        }
    }

    #[test]
    fn listpack_entry_sizes() {
        let table: &[(&[u8], u64)] = &[
            (b"1", 2),
            (b"127", 2),
            (b"128", 3),
            (b"-4096", 3),
            (b"32767", 4),
            (b"8388607", 5),
            (b"2147483647", 6),
            (b"2147483648", 10),
            (b"abc", 5),
            (b"007", 5),
        ];
        for (e, n) in table {
            assert_eq!(listpack_entry(e), *n, "{:?}", String::from_utf8_lossy(e));
        }
    }
}
