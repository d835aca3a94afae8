//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//!
//! A HyperLogLog is a string in Redis's exact representation, so a value copied from
//! redis-server (GET there, SET here — or the other way) counts the same on both:
//!
//! - a 16-byte header: `HYLL`, the encoding (0 dense, 1 sparse), three unused bytes, and
//!   the cached cardinality as 8 little-endian bytes whose top bit marks it stale;
//! - dense: 16384 registers of 6 bits, packed from the least significant bit up;
//! - sparse: run-length opcodes — `00xxxxxx` (ZERO, 1–64 zero registers), `01xxxxxx
//!   yyyyyyyy` (XZERO, 1–16384 zero registers), `1vvvvvxx` (VAL, 1–4 registers of value
//!   1–32). PFADD turns a sparse value dense when a register passes 32 or the string would
//!   pass `hll-sparse-max-bytes`.
//!
//! Elements hash with MurmurHash64A, seed `0xadc83b19`; the count is Ertl's estimator over
//! the register histogram, as Redis 7.0. The value is bytes from outside (a client can SET
//! anything that starts with `HYLL`): every opcode walk is bounded and refuses what Redis
//! refuses with `-INVALIDOBJ Corrupted HLL object detected`.

use bytes::Bytes;

use super::executor::Ctx;
use super::{Args, CmdError, Command};
use crate::db::{notify, Db, Value};
use crate::resp::Frame;

const P: u32 = 14;
/// Registers of a HyperLogLog.
const REGISTERS: usize = 1 << P;
const Q: usize = 64 - P as usize;
const HDR: usize = 16;
/// Length of a dense HyperLogLog: the header and 16384 six-bit registers.
const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// A HyperLogLog command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HllCmd {
    /// `PFADD key [element ...]` — adds the elements; 1 if a register (or the key) changed.
    PfAdd {
        /// The key.
        key: Bytes,
        /// The elements.
        elements: Vec<Bytes>,
    },
    /// `PFCOUNT key [key ...]` — the estimated cardinality of the union.
    PfCount {
        /// The keys.
        keys: Vec<Bytes>,
    },
    /// `PFMERGE destkey [sourcekey ...]` — stores the union in `destkey`.
    PfMerge {
        /// The destination, merged too.
        dest: Bytes,
        /// The sources.
        sources: Vec<Bytes>,
    },
    /// `PFDEBUG GETREG | DECODE | ENCODING | TODENSE key`.
    PfDebug {
        /// The subcommand, as sent.
        sub: Bytes,
        /// The key.
        key: Bytes,
    },
    /// `PFSELFTEST` — checks the register packing and the sparse and dense encodings.
    PfSelfTest,
}

/// Parses any HyperLogLog command (the spec table's parser for each of them).
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let cmd = match args.name() {
        "pfadd" => HllCmd::PfAdd {
            key: args.required()?,
            elements: args.rest(),
        },
        "pfcount" => HllCmd::PfCount { keys: args.rest() },
        "pfmerge" => HllCmd::PfMerge {
            dest: args.required()?,
            sources: args.rest(),
        },
        "pfdebug" => HllCmd::PfDebug {
            sub: args.required()?,
            key: args.required()?,
        },
        "pfselftest" => HllCmd::PfSelfTest,
        other => unreachable!("not a HyperLogLog command: {other}"),
    };
    Ok(Command::Hll(cmd))
}

fn invalid_obj() -> CmdError {
    CmdError::Other("INVALIDOBJ Corrupted HLL object detected".to_owned())
}

fn not_hll() -> CmdError {
    CmdError::Other("WRONGTYPE Key is not a valid HyperLogLog string value.".to_owned())
}

/// A sparse value that does not decode (Redis's `-1` / `C_ERR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Corrupt;

impl HllCmd {
    /// The command's name, as the spec table has it.
    pub fn name(&self) -> &'static str {
        match self {
            HllCmd::PfAdd { .. } => "pfadd",
            HllCmd::PfCount { .. } => "pfcount",
            HllCmd::PfMerge { .. } => "pfmerge",
            HllCmd::PfDebug { .. } => "pfdebug",
            HllCmd::PfSelfTest => "pfselftest",
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let max_sparse = ctx.store.config().hll_sparse_max_bytes;
        match self {
            HllCmd::PfAdd { key, elements } => pfadd(ctx, &key, &elements, max_sparse),
            HllCmd::PfCount { keys } => pfcount(ctx, &keys),
            HllCmd::PfMerge { dest, sources } => pfmerge(ctx, &dest, &sources, max_sparse),
            HllCmd::PfDebug { sub, key } => pfdebug(ctx, &sub, &key),
            HllCmd::PfSelfTest => self_test(max_sparse).map(|()| Frame::OK),
        }
    }
}

/// Redis's `isHLLObjectOrReply`: WRONGTYPE for another type, the HyperLogLog error for a
/// string without a valid header.
fn check_hll(value: &Value) -> Result<&[u8], CmdError> {
    let Value::Str(s) = value else {
        return Err(CmdError::WrongType);
    };
    if !is_hll(s) {
        return Err(not_hll());
    }
    Ok(s)
}

fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR
        && &s[..4] == b"HYLL"
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

/// An empty HyperLogLog as Redis creates it: sparse, one XZERO over every register.
fn new_hll() -> Vec<u8> {
    let mut v = vec![0u8; HDR];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = SPARSE;
    push_xzero(&mut v, REGISTERS);
    v
}

fn invalidate_cache(v: &mut [u8]) {
    v[15] |= 0x80;
}

fn cached_card(v: &[u8]) -> Option<u64> {
    (v[15] & 0x80 == 0).then(|| u64::from_le_bytes(v[8..16].try_into().expect("8 bytes")))
}

/// Redis's `MurmurHash64A`, 8-byte words read little-endian (as on the x86 and ARM
/// servers whose values we exchange).
pub(crate) fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut k = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the length of its `000…1` pattern (1 to Q + 1).
fn pattern(element: &[u8]) -> (usize, u8) {
    let mut hash = murmur64a(element, 0xadc8_3b19);
    let index = (hash as usize) & (REGISTERS - 1);
    hash >>= P;
    hash |= 1 << Q;
    (index, hash.trailing_zeros() as u8 + 1)
}

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * 6;
    let (byte, fb) = (bit / 8, bit % 8);
    let b0 = u16::from(regs[byte]);
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let bit = i * 6;
    let (byte, fb) = (bit / 8, bit % 8);
    let wide = u16::from(val) << fb;
    let mask = 63u16 << fb;
    regs[byte] = (regs[byte] & !(mask as u8)) | wide as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        *next = (*next & !((mask >> 8) as u8)) | (wide >> 8) as u8;
    }
}

/// Sets register `i` to `count` if that is larger; true if it was.
fn dense_update(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

/// One sparse opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    fn width(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
}

/// The opcode at `p` (an XZERO cut off at the end reads a zero second byte, as Redis reads
/// the string's terminator).
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    match b >> 6 {
        0 => Op::Zero(usize::from(b & 0x3f) + 1),
        1 => {
            let lo = s.get(p + 1).copied().unwrap_or(0);
            Op::XZero(((usize::from(b & 0x3f) << 8) | usize::from(lo)) + 1)
        }
        _ => Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1),
    }
}

/// The opcodes of a sparse value, in order, with their positions.
fn ops(s: &[u8]) -> impl Iterator<Item = (usize, Op)> + '_ {
    let mut p = HDR;
    std::iter::from_fn(move || {
        (p < s.len()).then(|| {
            let op = op_at(s, p);
            let at = p;
            p += op.width();
            (at, op)
        })
    })
}

fn val_byte(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

fn push_xzero(v: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    v.push(0x40 | (l >> 8) as u8);
    v.push((l & 0xff) as u8);
}

fn push_zeros(v: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        push_xzero(v, len);
    } else {
        v.push(len as u8 - 1);
    }
}

/// Redis's `hllSparseToDense`: the same header (cached cardinality included), dense.
fn sparse_to_dense(s: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&s[..HDR]);
    dense[4] = DENSE;
    let mut idx = 0usize;
    for (_, op) in ops(s) {
        match op {
            Op::Zero(n) | Op::XZero(n) => idx += n,
            Op::Val(v, n) => {
                if idx + n > REGISTERS {
                    return Err(Corrupt);
                }
                for i in idx..idx + n {
                    dense_set(&mut dense[HDR..], i, v);
                }
                idx += n;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(dense)
}

/// Redis's `hllSparseSet`: raises register `index` to `count` in a sparse value, splitting
/// the opcode that covers it, merging equal neighbours, or turning the value dense.
/// True if a register changed.
fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8, max_bytes: u64) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Step 1: the opcode covering `index`.
    let (mut first, mut prev, mut found) = (0usize, None, None);
    for (at, op) in ops(v) {
        if index < first + op.span() {
            found = Some((at, op));
            break;
        }
        prev = Some(at);
        first += op.span();
    }
    let Some((p, op)) = found else {
        return Err(Corrupt);
    };
    if p + op.width() > v.len() {
        return Err(Corrupt);
    }
    // Step 2: the trivial cases, changed in place.
    let in_place = match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => true,
        _ => false,
    };
    if in_place {
        v[p] = val_byte(count, 1);
    } else {
        // Step 3: the general case, the opcode split in up to three.
        let last = first + op.span() - 1;
        let mut seq = Vec::with_capacity(5);
        match op {
            Op::Zero(_) | Op::XZero(_) => {
                if index != first {
                    push_zeros(&mut seq, index - first);
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    push_zeros(&mut seq, last - index);
                }
            }
            Op::Val(cur, _) => {
                if index != first {
                    seq.push(val_byte(cur, index - first));
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    seq.push(val_byte(cur, last - index));
                }
            }
        }
        let grows = seq.len() > op.width();
        if grows && (v.len() + seq.len() - op.width()) as u64 > max_bytes {
            return promote(v, index, count);
        }
        v.splice(p..p + op.width(), seq);
    }
    // Step 4: merge adjacent VAL opcodes of one value, scanning up to 5 from the previous.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        match op_at(v, p) {
            Op::XZero(_) => {
                p += 2;
                continue;
            }
            Op::Zero(_) => {
                p += 1;
                continue;
            }
            Op::Val(v1, l1) => {
                if p + 1 < v.len() {
                    if let Op::Val(v2, l2) = op_at(v, p + 1) {
                        if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                            v[p + 1] = val_byte(v1, l1 + l2);
                            v.remove(p);
                            continue;
                        }
                    }
                }
            }
        }
        p += 1;
    }
    invalidate_cache(v);
    Ok(true)
}

fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    let mut dense = sparse_to_dense(v)?;
    dense_update(&mut dense[HDR..], index, count);
    *v = dense;
    Ok(true)
}

/// Adds one element; true if a register changed.
fn add(v: &mut Vec<u8>, element: &[u8], max_bytes: u64) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    if v[4] == DENSE {
        Ok(dense_update(&mut v[HDR..], index, count))
    } else {
        sparse_set(v, index, count, max_bytes)
    }
}

/// How many registers hold each value.
type Histogram = [u64; 64];

fn histogram(s: &[u8]) -> Result<Histogram, Corrupt> {
    let mut h = [0u64; 64];
    if s[4] == DENSE {
        for i in 0..REGISTERS {
            h[usize::from(dense_get(&s[HDR..], i))] += 1;
        }
        return Ok(h);
    }
    let mut idx = 0usize;
    for (_, op) in ops(s) {
        match op {
            Op::Zero(n) | Op::XZero(n) => h[0] += n as u64,
            Op::Val(v, n) => h[usize::from(v)] += n as u64,
        }
        idx += op.span();
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(h)
}

fn raw_histogram(regs: &[u8; REGISTERS]) -> Histogram {
    let mut h = [0u64; 64];
    for &r in regs {
        h[usize::from(r)] += 1;
    }
    h
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if before == z {
            return z / 3.0;
        }
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

/// Ertl's estimate from the register histogram, as Redis's `hllCount`.
fn estimate(h: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// Redis's `hllMerge`: `max[i] = MAX(max[i], register i)`.
fn merge(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(&s[HDR..], i));
        }
        return Ok(());
    }
    let mut i = 0usize;
    for (_, op) in ops(s) {
        match op {
            Op::Zero(n) | Op::XZero(n) => i += n,
            Op::Val(v, n) => {
                // A run past the last register is corrupt (the fix of CVE-2025-32023 that
                // Debian's 7.0.15 carries; unpatched Redis stopped here and accepted it).
                if i + n > REGISTERS {
                    return Err(Corrupt);
                }
                for m in &mut max[i..i + n] {
                    *m = (*m).max(v);
                }
                i += n;
            }
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// Runs `f` on the string at `key` (which the caller checked is a HyperLogLog) as a vector
/// it may change or replace; `f` says whether it changed it.
fn edit<R>(db: &mut Db, key: &[u8], now: u64, f: impl FnOnce(&mut Vec<u8>) -> (R, bool)) -> R {
    db.update(key, now, |v| match v {
        Value::Str(s) => {
            let mut vec = std::mem::take(s).into_vec();
            let (r, changed) = f(&mut vec);
            *s = vec.into_boxed_slice();
            (r, changed)
        }
        _ => unreachable!("checked to be a string"),
    })
    .expect("checked to exist")
}

fn pfadd(ctx: &mut Ctx, key: &Bytes, elements: &[Bytes], max: u64) -> Result<Frame, CmdError> {
    let now = ctx.now_ms;
    let db = ctx.db();
    let created = match db.get(key, now) {
        None => {
            db.insert(key, Value::Str(new_hll().into_boxed_slice()), None, now);
            true
        }
        Some(v) => {
            check_hll(v)?;
            false
        }
    };
    let (updated, corrupt) = edit(db, key, now, |v| {
        let mut updated = created;
        for e in elements {
            match add(v, e, max) {
                Ok(changed) => updated |= changed,
                // Redis stops here: what was added stays, unannounced.
                Err(Corrupt) => return ((updated, true), updated),
            }
        }
        if updated {
            invalidate_cache(v);
        }
        ((updated, false), updated)
    });
    if corrupt {
        return Err(invalid_obj());
    }
    if updated {
        ctx.notify(notify::STRING, "pfadd", key);
    }
    Ok(Frame::Integer(i64::from(updated)))
}

fn pfcount(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Frame, CmdError> {
    let now = ctx.now_ms;
    let db = ctx.db();
    if keys.len() > 1 {
        let mut max = Box::new([0u8; REGISTERS]);
        for key in keys {
            let Some(v) = db.get(key, now) else {
                continue;
            };
            let s = check_hll(v)?;
            merge(&mut max, s).map_err(|_| invalid_obj())?;
        }
        return Ok(Frame::Integer(estimate(&raw_histogram(&max)) as i64));
    }
    let key = &keys[0];
    let Some(v) = db.get(key, now) else {
        return Ok(Frame::Integer(0));
    };
    let s = check_hll(v)?;
    if let Some(card) = cached_card(s) {
        return Ok(Frame::Integer(card as i64));
    }
    let card = estimate(&histogram(s).map_err(|_| invalid_obj())?);
    // Caching the count changes the string: a write for WATCH and the log, as in Redis.
    edit(db, key, now, |v| {
        v[8..16].copy_from_slice(&card.to_le_bytes());
        ((), true)
    });
    Ok(Frame::Integer(card as i64))
}

fn pfmerge(ctx: &mut Ctx, dest: &Bytes, sources: &[Bytes], max: u64) -> Result<Frame, CmdError> {
    let now = ctx.now_ms;
    // Redis reads every key, the destination first, with `lookupKeyRead`.
    ctx.read_lookups();
    let db = ctx.db();
    let mut regs = Box::new([0u8; REGISTERS]);
    let mut use_dense = false;
    for key in std::iter::once(dest).chain(sources) {
        let Some(v) = db.get(key, now) else {
            continue;
        };
        let s = check_hll(v)?;
        use_dense |= s[4] == DENSE;
        merge(&mut regs, s).map_err(|_| invalid_obj())?;
    }
    if !db.contains_key(dest, now) {
        db.insert(dest, Value::Str(new_hll().into_boxed_slice()), None, now);
    }
    let result = edit(db, dest, now, |v| {
        if use_dense && v[4] == SPARSE {
            match sparse_to_dense(v) {
                Ok(d) => *v = d,
                Err(Corrupt) => return (Err(invalid_obj()), false),
            }
        }
        for (i, &r) in regs.iter().enumerate() {
            if r == 0 {
                continue;
            }
            if v[4] == DENSE {
                dense_update(&mut v[HDR..], i, r);
            } else {
                // The destination was merged above, so it decodes.
                let _ = sparse_set(v, i, r, max);
            }
        }
        invalidate_cache(v);
        (Ok(()), true)
    });
    result?;
    ctx.notify(notify::STRING, "pfadd", dest);
    Ok(Frame::OK)
}

fn pfdebug(ctx: &mut Ctx, sub: &[u8], key: &Bytes) -> Result<Frame, CmdError> {
    let now = ctx.now_ms;
    let db = ctx.db();
    let Some(v) = db.get(key, now) else {
        return Err(CmdError::err("The specified key does not exist"));
    };
    let s = check_hll(v)?;
    let sparse = s[4] == SPARSE;
    let to_dense = |db: &mut Db| -> Result<(), CmdError> {
        edit(db, key, now, |v| match sparse_to_dense(v) {
            Ok(d) => {
                *v = d;
                (Ok(()), true)
            }
            Err(Corrupt) => (Err(invalid_obj()), false),
        })
    };
    match sub.to_ascii_lowercase().as_slice() {
        b"getreg" => {
            if sparse {
                to_dense(db)?;
            }
            let Some(Value::Str(s)) = db.peek(key, now) else {
                unreachable!("just checked");
            };
            let regs = (0..REGISTERS)
                .map(|i| Frame::Integer(i64::from(dense_get(&s[HDR..], i))))
                .collect();
            Ok(Frame::Array(regs))
        }
        b"decode" => {
            if !sparse {
                return Err(CmdError::err("HLL encoding is not sparse"));
            }
            let text: Vec<String> = ops(s)
                .map(|(_, op)| match op {
                    Op::Zero(n) => format!("z:{n}"),
                    Op::XZero(n) => format!("Z:{n}"),
                    Op::Val(v, n) => format!("v:{v},{n}"),
                })
                .collect();
            Ok(Frame::Bulk(Bytes::from(text.join(" "))))
        }
        b"encoding" => Ok(Frame::simple(if sparse { "sparse" } else { "dense" })),
        b"todense" => {
            if sparse {
                to_dense(db)?;
            }
            Ok(Frame::Integer(i64::from(sparse)))
        }
        _ => {
            // Redis prints the name with `%s`: it ends at a zero byte.
            let name = &sub[..memchr::memchr(0, sub).unwrap_or(sub.len())];
            Err(CmdError::err(format!(
                "Unknown PFDEBUG subcommand '{}'",
                String::from_utf8_lossy(name)
            )))
        }
    }
}

/// PFSELFTEST, as Redis's: random register values read back through the 6-bit packing,
/// then ten million elements added to a dense and a sparse value at once, which must agree
/// and stay within six standard errors at every power of ten.
fn self_test(max_sparse: u64) -> Result<(), CmdError> {
    let mut rng = crate::db::Rng::new(0x5e1f_7e57);
    let mut packed = vec![0u8; DENSE_SIZE - HDR];
    let mut plain = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, r) in plain.iter_mut().enumerate() {
            *r = (rng.next_u64() & 63) as u8;
            dense_set(&mut packed, i, *r);
        }
        for (i, &r) in plain.iter().enumerate() {
            let got = dense_get(&packed, i);
            if got != r {
                return Err(CmdError::err(format!(
                    "TESTFAILED Register {i} should be {r} but is {got}"
                )));
            }
        }
    }
    let mut dense = new_hll();
    dense = sparse_to_dense(&dense).expect("a new value decodes");
    let mut sparse = new_hll();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let seed = rng.next_u64();
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let element = (j ^ seed).to_ne_bytes();
        add(&mut dense, &element, max_sparse).expect("dense adds never fail");
        add(&mut sparse, &element, max_sparse).expect("our own sparse value decodes");
        if j != checkpoint {
            continue;
        }
        if j < max_sparse / 2 && sparse[4] != SPARSE {
            return Err(CmdError::err("TESTFAILED sparse encoding not used"));
        }
        let count = estimate(&histogram(&dense).expect("dense"));
        if histogram(&sparse).map(|h| estimate(&h)) != Ok(count) {
            return Err(CmdError::err("TESTFAILED dense/sparse disagree"));
        }
        let abserr = (checkpoint as i64 - count as i64).unsigned_abs();
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Err(CmdError::err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            )));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_land_where_redis_puts_them() {
        // Register and value redis-server 7.0.15 reports (PFADD x e; PFDEBUG GETREG x).
        let cases: &[(&str, usize, u8)] = &[
            ("a", 12711, 2),
            ("hello", 9216, 1),
            ("redis-hll", 468, 3),
            ("12345678", 10579, 3),
        ];
        for &(e, index, count) in cases {
            assert_eq!(pattern(e.as_bytes()), (index, count), "{e}");
        }
    }

    #[test]
    fn dense_registers_pack_six_bits() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        for i in 0..REGISTERS {
            dense_set(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8, "register {i}");
        }
    }

    #[test]
    fn new_value_is_one_xzero() {
        let v = new_hll();
        assert_eq!(&v[HDR..], &[0x7f, 0xff]);
        assert_eq!(histogram(&v).unwrap()[0], REGISTERS as u64);
        assert_eq!(estimate(&histogram(&v).unwrap()), 0);
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_hll();
        let mut dense = sparse_to_dense(&new_hll()).unwrap();
        for j in 0..5000u32 {
            let e = j.to_string();
            add(&mut sparse, e.as_bytes(), 3000).unwrap();
            add(&mut dense, e.as_bytes(), 3000).unwrap();
            if j % 97 == 0 {
                assert_eq!(
                    estimate(&histogram(&sparse).unwrap()),
                    estimate(&histogram(&dense).unwrap())
                );
            }
        }
    }

    #[test]
    fn corrupt_sparse_values_are_refused() {
        let mut v = new_hll();
        v.truncate(HDR + 1);
        assert_eq!(histogram(&v), Err(Corrupt));
        let mut v = new_hll();
        v.push(0x80);
        assert_eq!(histogram(&v), Err(Corrupt));
        assert!(sparse_to_dense(&v).is_err());
        let mut v = new_hll();
        v.truncate(HDR);
        assert_eq!(add(&mut v, b"x", 3000), Err(Corrupt));
    }
}
