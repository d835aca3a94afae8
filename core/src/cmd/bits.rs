//! Bitmap commands on strings: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO.
//!
//! Bit 0 is the most significant bit of the first byte, as in Redis. Parsing only gathers
//! the arguments: Redis checks them against `proto-max-bulk-len` (a setting) and, for
//! BITCOUNT and BITPOS, only after it has looked the key up, so every check runs when the
//! command runs, in Redis 7.0's order.

use bytes::Bytes;

use super::executor::Ctx;
use super::{parse_i64, Args, CmdError, Command};
use crate::db::{notify, Db, Value};
use crate::resp::Frame;

/// A bitmap command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BitCmd {
    /// `SETBIT key offset value` — sets or clears one bit (growing the string with zero
    /// bytes) and replies with the bit's previous value.
    SetBit {
        /// The key.
        key: Bytes,
        /// The bit offset, as sent.
        offset: Bytes,
        /// The bit value, as sent.
        value: Bytes,
    },
    /// `GETBIT key offset` — the bit's value; 0 past the end or for a missing key.
    GetBit {
        /// The key.
        key: Bytes,
        /// The bit offset, as sent.
        offset: Bytes,
    },
    /// `BITCOUNT key [start end [BYTE | BIT]]` — how many bits are set in the range.
    BitCount {
        /// The key.
        key: Bytes,
        /// The range arguments, as sent.
        range: Vec<Bytes>,
    },
    /// `BITPOS key bit [start [end [BYTE | BIT]]]` — the first bit set to `bit` in the
    /// range, or -1.
    BitPos {
        /// The key.
        key: Bytes,
        /// The bit looked for, as sent.
        bit: Bytes,
        /// The range arguments, as sent.
        range: Vec<Bytes>,
    },
    /// `BITOP AND | OR | XOR | NOT destkey key [key ...]` — stores the bitwise operation of
    /// the strings (shorter ones padded with zero bytes) and replies with its length.
    BitOp {
        /// The operation, as sent.
        op: Bytes,
        /// The destination key.
        dest: Bytes,
        /// The source keys.
        keys: Vec<Bytes>,
    },
    /// `BITFIELD key [GET type offset | [OVERFLOW WRAP | SAT | FAIL] SET type offset value |
    /// INCRBY type offset increment] ...` and `BITFIELD_RO key [GET type offset ...]`.
    BitField {
        /// The key.
        key: Bytes,
        /// The subcommands, as sent.
        args: Vec<Bytes>,
        /// True for BITFIELD_RO.
        read_only: bool,
    },
}

/// Parses any bitmap command (the spec table's parser for each of them).
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let cmd = match args.name() {
        "setbit" => BitCmd::SetBit {
            key: args.required()?,
            offset: args.required()?,
            value: args.required()?,
        },
        "getbit" => BitCmd::GetBit {
            key: args.required()?,
            offset: args.required()?,
        },
        "bitcount" => BitCmd::BitCount {
            key: args.required()?,
            range: args.rest(),
        },
        "bitpos" => BitCmd::BitPos {
            key: args.required()?,
            bit: args.required()?,
            range: args.rest(),
        },
        "bitop" => BitCmd::BitOp {
            op: args.required()?,
            dest: args.required()?,
            keys: args.rest(),
        },
        name @ ("bitfield" | "bitfield_ro") => BitCmd::BitField {
            key: args.required()?,
            args: args.rest(),
            read_only: name == "bitfield_ro",
        },
        other => unreachable!("not a bitmap command: {other}"),
    };
    Ok(Command::Bits(cmd))
}

impl BitCmd {
    /// The command's name, as the spec table has it.
    pub fn name(&self) -> &'static str {
        match self {
            BitCmd::SetBit { .. } => "setbit",
            BitCmd::GetBit { .. } => "getbit",
            BitCmd::BitCount { .. } => "bitcount",
            BitCmd::BitPos { .. } => "bitpos",
            BitCmd::BitOp { .. } => "bitop",
            BitCmd::BitField {
                read_only: true, ..
            } => "bitfield_ro",
            BitCmd::BitField { .. } => "bitfield",
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let max_bulk = ctx.store.config().proto_max_bulk_len;
        match self {
            BitCmd::SetBit { key, offset, value } => {
                let offset = bit_offset(&offset, false, 0, max_bulk)?;
                let bit_err = || CmdError::err("bit is not an integer or out of range");
                let on = parse_i64(&value).ok_or_else(bit_err)?;
                if on & !1 != 0 {
                    return Err(bit_err());
                }
                set_bit(ctx, &key, offset, on == 1).map(Frame::Integer)
            }
            BitCmd::GetBit { key, offset } => {
                let offset = bit_offset(&offset, false, 0, max_bulk)?;
                let now = ctx.now_ms;
                let s = read_str(ctx.db(), &key, now)?.unwrap_or(&[]);
                Ok(Frame::Integer(i64::from(get_bit(s, offset))))
            }
            BitCmd::BitCount { key, range } => {
                let now = ctx.now_ms;
                let Some(s) = read_str(ctx.db(), &key, now)? else {
                    return Ok(Frame::Integer(0));
                };
                bit_count(s, &range).map(Frame::Integer)
            }
            BitCmd::BitPos { key, bit, range } => {
                let bit = parse_i64(&bit).ok_or(CmdError::NotInteger)?;
                if bit != 0 && bit != 1 {
                    return Err(CmdError::err("The bit argument must be 1 or 0."));
                }
                let now = ctx.now_ms;
                let Some(s) = read_str(ctx.db(), &key, now)? else {
                    return Ok(Frame::Integer(if bit == 1 { -1 } else { 0 }));
                };
                bit_pos(s, bit == 1, &range).map(Frame::Integer)
            }
            BitCmd::BitOp { op, dest, keys } => bit_op(ctx, &op, &dest, &keys),
            BitCmd::BitField {
                key,
                args,
                read_only,
            } => bitfield(ctx, &key, &args, read_only, max_bulk),
        }
    }
}

/// The live string at `key`: `None` if missing, WRONGTYPE for another type.
fn read_str<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a [u8]>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// A bit offset as Redis's `getBitOffsetFromArgument`: an integer, not negative, its byte
/// below `proto-max-bulk-len`. With `hash` (BITFIELD), `#n` means `n * bits`.
fn bit_offset(arg: &[u8], hash: bool, bits: u32, max_bulk: u64) -> Result<u64, CmdError> {
    let err = || CmdError::err("bit offset is not an integer or out of range");
    let use_hash = hash && bits > 0 && arg.first() == Some(&b'#');
    let digits = if use_hash { &arg[1..] } else { arg };
    let mut offset = parse_i64(digits).ok_or_else(err)?;
    if use_hash {
        // C's signed overflow, as Redis compiles it: wraps (and most likely goes negative).
        offset = offset.wrapping_mul(i64::from(bits));
    }
    if offset < 0 || (offset as u64 >> 3) >= max_bulk {
        return Err(err());
    }
    Ok(offset as u64)
}

fn get_bit(s: &[u8], offset: u64) -> bool {
    let byte = (offset >> 3) as usize;
    s.get(byte).is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Runs `f` on the string at `key` grown with zero bytes to at least `len` bytes (created if
/// missing); `f` gets whether the string grew and says whether it changed anything else.
/// WRONGTYPE for another type.
fn with_grown<R>(
    ctx: &mut Ctx,
    key: &[u8],
    len: usize,
    f: impl FnOnce(&mut [u8], bool) -> (R, bool),
) -> Result<R, CmdError> {
    let now = ctx.now_ms;
    let db = ctx.db();
    if !db.contains_key(key, now) {
        db.insert(
            key,
            Value::Str(vec![0u8; len].into_boxed_slice()),
            None,
            now,
        );
        let found = db.update(key, now, |v| match v {
            Value::Str(s) => f(s, true),
            _ => unreachable!("just stored a string"),
        });
        return Ok(found.expect("just stored"));
    }
    let found = db.update(key, now, |v| match v {
        Value::Str(s) => {
            let grew = s.len() < len;
            if grew {
                let mut grown = std::mem::take(s).into_vec();
                grown.resize(len, 0);
                *s = grown.into_boxed_slice();
            }
            let (r, changed) = f(s, grew);
            (Ok(r), changed || grew)
        }
        _ => (Err(CmdError::WrongType), false),
    });
    found.expect("checked live above")
}

fn set_bit(ctx: &mut Ctx, key: &Bytes, offset: u64, on: bool) -> Result<i64, CmdError> {
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let (old, changed) = with_grown(ctx, key, byte + 1, |s, grew| {
        let old = s[byte] & mask != 0;
        if on {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
        ((old, grew || old != on), old != on)
    })?;
    if changed {
        ctx.notify(notify::STRING, "setbit", key);
    }
    Ok(i64::from(old))
}

/// `BIT` or `BYTE` (any case): true for bits.
fn unit(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// A resolved range: first and last byte, inclusive, and the masks of the bits outside a
/// bit range in its first and last byte (0 for byte ranges). `None`: empty.
struct Range {
    start: usize,
    end: usize,
    first_mask: u8,
    last_mask: u8,
}

/// Redis's conversion of a start/end pair (negative from the end, clamped) over a string
/// of `len` bytes, in bytes or bits.
fn resolve(mut start: i64, mut end: i64, len: usize, bits: bool) -> Option<Range> {
    let mut total = len as i64;
    if bits {
        total <<= 3;
    }
    if start < 0 {
        start = total.saturating_add(start);
    }
    if end < 0 {
        end = total.saturating_add(end);
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if bits {
        first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Some(Range {
        start: start as usize,
        end: end as usize,
        first_mask,
        last_mask,
    })
}

fn int(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

fn bit_count(s: &[u8], range: &[Bytes]) -> Result<i64, CmdError> {
    let r = match range {
        [] => {
            if s.is_empty() {
                return Ok(0);
            }
            Range {
                start: 0,
                end: s.len() - 1,
                first_mask: 0,
                last_mask: 0,
            }
        }
        [start, end, rest @ ..] if rest.len() <= 1 => {
            let (start, end) = (int(start)?, int(end)?);
            let bits = match rest {
                [u] => unit(u)?,
                _ => false,
            };
            if start < 0 && end < 0 && start > end {
                return Ok(0);
            }
            match resolve(start, end, s.len(), bits) {
                Some(r) => r,
                None => return Ok(0),
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let mut count = popcount(&s[r.start..=r.end]);
    count -= u64::from((s[r.start] & r.first_mask).count_ones());
    count -= u64::from((s[r.end] & r.last_mask).count_ones());
    Ok(count as i64)
}

/// Bits set in `bytes`. BITCOUNT of a large string runs at memory speed: whole 64-bit
/// words in four independent sums, which LLVM turns into vector code (AVX2 where the CPU
/// has it).
pub(crate) fn popcount(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { popcount_avx2(bytes) };
        }
    }
    popcount_words(bytes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn popcount_avx2(bytes: &[u8]) -> u64 {
    popcount_words(bytes)
}

#[inline(always)]
fn popcount_words(bytes: &[u8]) -> u64 {
    let mut blocks = bytes.chunks_exact(32);
    let mut sums = [0u64; 4];
    for block in &mut blocks {
        for (sum, word) in sums.iter_mut().zip(block.chunks_exact(8)) {
            let w = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
            *sum += u64::from(w.count_ones());
        }
    }
    let tail: u64 = blocks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum();
    sums.iter().sum::<u64>() + tail
}

/// The position of the first bit equal to `bit` in `bytes`; if none, -1 when looking for a
/// 1 and `8 * len` for a 0 (the string is taken as zero-padded on the right), as Redis's
/// `redisBitpos`.
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let mut at = 0;
    // Whole words first: long runs of the skipped value are common in bitmaps.
    for word in bytes.chunks_exact(8) {
        if word.iter().any(|&b| b != skip) {
            break;
        }
        at += 8;
    }
    match bytes[at..].iter().position(|&b| b != skip) {
        Some(i) => {
            let b = bytes[at + i];
            let within = if bit {
                b.leading_zeros()
            } else {
                b.leading_ones()
            };
            ((at + i) as i64) * 8 + i64::from(within)
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

fn bit_pos(s: &[u8], bit: bool, range: &[Bytes]) -> Result<i64, CmdError> {
    let (r, end_given) = match range {
        [] => {
            if s.is_empty() {
                return Ok(-1);
            }
            let r = Range {
                start: 0,
                end: s.len() - 1,
                first_mask: 0,
                last_mask: 0,
            };
            (r, false)
        }
        [start, rest @ ..] if rest.len() <= 2 => {
            let start = int(start)?;
            let bits = match rest {
                [_, u] => unit(u)?,
                _ => false,
            };
            let end = match rest {
                [end, ..] => int(end)?,
                [] => s.len() as i64 - 1,
            };
            match resolve(start, end, s.len(), bits) {
                Some(r) => (r, !rest.is_empty()),
                None => return Ok(-1),
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    // The bits outside a bit range are forced to the value not looked for.
    let slice = &s[r.start..=r.end];
    let n = slice.len();
    let pos = if r.first_mask == 0 && r.last_mask == 0 {
        first_bit(slice, bit)
    } else {
        let force = |b: &mut u8, mask: u8| {
            if bit {
                *b &= !mask;
            } else {
                *b |= mask;
            }
        };
        // Only the edge bytes change: look at them apart from the (maybe large) middle.
        let mut head = slice[0];
        force(&mut head, r.first_mask);
        if n == 1 {
            force(&mut head, r.last_mask);
            first_bit(&[head], bit)
        } else {
            let mut tail = slice[n - 1];
            force(&mut tail, r.last_mask);
            match first_bit(&[head], bit) {
                p if p != -1 && p != 8 => p,
                _ => match first_bit(&slice[1..n - 1], bit) {
                    p if p != -1 && p != (n as i64 - 2) * 8 => 8 + p,
                    _ => match first_bit(&[tail], bit) {
                        -1 => -1,
                        p => (n as i64 - 1) * 8 + p,
                    },
                },
            }
        }
    };
    // With an explicit end, the bits past it are not zero padding: no 0 was found.
    if end_given && !bit && pos == n as i64 * 8 {
        return Ok(-1);
    }
    Ok(if pos == -1 {
        -1
    } else {
        pos + (r.start as i64) * 8
    })
}

fn bit_op(ctx: &mut Ctx, op: &[u8], dest: &Bytes, keys: &[Bytes]) -> Result<Frame, CmdError> {
    #[derive(PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = match op.to_ascii_lowercase().as_slice() {
        b"and" => Op::And,
        b"or" => Op::Or,
        b"xor" => Op::Xor,
        b"not" => Op::Not,
        _ => return Err(CmdError::Syntax),
    };
    if op == Op::Not && keys.len() != 1 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let now = ctx.now_ms;
    // Redis reads the sources with `lookupKeyRead`: hits, misses and `keymiss` count.
    ctx.read_lookups();
    let db = ctx.db();
    for key in keys {
        read_str(db, key, now)?;
    }
    let sources: Vec<&[u8]> = keys
        .iter()
        .map(|k| match db.peek(k, now) {
            Some(Value::Str(s)) => &s[..],
            _ => &[][..],
        })
        .collect();
    let max_len = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    if max_len == 0 {
        // Redis's `dbDelete`: a destination past its expiry is deleted (`del`), not expired.
        if db.delete(dest) {
            ctx.notify(notify::GENERIC, "del", dest);
        }
        return Ok(Frame::Integer(0));
    }
    let mut out = vec![0u8; max_len];
    let first = sources[0];
    out[..first.len()].copy_from_slice(first);
    match op {
        Op::Not => out.iter_mut().for_each(|b| *b = !*b),
        Op::And => {
            for s in &sources[1..] {
                for (o, b) in out.iter_mut().zip(s.iter()) {
                    *o &= b;
                }
                out[s.len()..].fill(0);
            }
        }
        Op::Or | Op::Xor => {
            for s in &sources[1..] {
                for (o, b) in out.iter_mut().zip(s.iter()) {
                    if op == Op::Or {
                        *o |= b;
                    } else {
                        *o ^= b;
                    }
                }
            }
        }
    }
    db.insert(dest, Value::Str(out.into_boxed_slice()), None, now);
    ctx.notify(notify::STRING, "set", dest);
    Ok(Frame::Integer(max_len as i64))
}

/// How a BITFIELD write handles a value that does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone, Copy)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// A bitfield type: `i1`..`i64` or `u1`..`u63`. Redis reads the width with `strlen`, so it
/// ends at a zero byte.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let err = || {
        CmdError::err(
            "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let digits = &arg[1..];
    let digits = &digits[..memchr::memchr(0, digits).unwrap_or(digits.len())];
    let bits = parse_i64(digits).ok_or_else(err)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

fn parse_fields(args: &[Bytes], max_bulk: u64) -> Result<Vec<Field>, CmdError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 0;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let sub = args[j].to_ascii_lowercase();
        let op = match sub.as_slice() {
            b"get" if remaining >= 2 => FieldOp::Get,
            b"set" if remaining >= 3 => FieldOp::Set(0),
            b"incrby" if remaining >= 3 => FieldOp::IncrBy(0),
            b"overflow" if remaining >= 1 => {
                overflow = match args[j + 1].to_ascii_lowercase().as_slice() {
                    b"wrap" => Overflow::Wrap,
                    b"sat" => Overflow::Sat,
                    b"fail" => Overflow::Fail,
                    _ => return Err(CmdError::err("Invalid OVERFLOW type specified")),
                };
                j += 2;
                continue;
            }
            _ => return Err(CmdError::Syntax),
        };
        let (signed, bits) = field_type(&args[j + 1])?;
        let offset = bit_offset(&args[j + 2], true, bits, max_bulk)?;
        let op = match op {
            FieldOp::Get => FieldOp::Get,
            FieldOp::Set(_) => FieldOp::Set(int(&args[j + 3])?),
            FieldOp::IncrBy(_) => FieldOp::IncrBy(int(&args[j + 3])?),
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..u64::from(bits) {
        value = (value << 1) | u64::from(get_bit(s, offset + i));
    }
    value
}

fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let mut value = get_unsigned(s, offset, bits);
    if bits < 64 && value & (1 << (bits - 1)) != 0 {
        value |= u64::MAX << bits;
    }
    value as i64
}

fn set_unsigned(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let on = value & (1 << (u64::from(bits) - 1 - i)) != 0;
        let at = offset + i;
        let byte = (at >> 3) as usize;
        let mask = 0x80u8 >> (at & 7);
        if on {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: whether `value + incr` leaves `bits` bits, and
/// the value to store then (wrapped or saturated).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, how: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > max_incr) {
        Some(if how == Overflow::Sat { max } else { wrap() })
    } else if incr < 0 && incr < min_incr {
        Some(if how == Overflow::Sat { 0 } else { wrap() })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, how: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        Some(if how == Overflow::Sat { max } else { wrap() })
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(if how == Overflow::Sat { min } else { wrap() })
    } else {
        None
    }
}

/// One SET or INCRBY on `s`: its reply (nil when FAIL refused it) and whether it changed
/// the field.
fn write_field(s: &mut [u8], f: &Field) -> (Frame, bool) {
    let (delta, is_incr) = match f.op {
        FieldOp::Set(v) => (v, false),
        FieldOp::IncrBy(d) => (d, true),
        FieldOp::Get => unreachable!("GET does not write"),
    };
    let (old, new, reply, overflowed) = if f.signed {
        let old = get_signed(s, f.offset, f.bits);
        let (base, incr) = if is_incr { (old, delta) } else { (delta, 0) };
        let over = signed_overflow(base, incr, f.bits, f.overflow);
        let new = over.unwrap_or_else(|| base.wrapping_add(incr));
        let reply = if is_incr { new } else { old };
        (old as u64, new as u64, reply, over.is_some())
    } else {
        let old = get_unsigned(s, f.offset, f.bits);
        let (base, incr) = if is_incr {
            (old, delta)
        } else {
            (delta as u64, 0)
        };
        let over = unsigned_overflow(base, incr, f.bits, f.overflow);
        let new = over.unwrap_or_else(|| base.wrapping_add(incr as u64));
        let reply = if is_incr { new as i64 } else { old as i64 };
        (old, new, reply, over.is_some())
    };
    if overflowed && f.overflow == Overflow::Fail {
        return (Frame::Null, false);
    }
    set_unsigned(s, f.offset, f.bits, new);
    (Frame::Integer(reply), old != new)
}

fn read_field(s: &[u8], f: &Field) -> Frame {
    if f.signed {
        Frame::Integer(get_signed(s, f.offset, f.bits))
    } else {
        Frame::Integer(get_unsigned(s, f.offset, f.bits) as i64)
    }
}

fn bitfield(
    ctx: &mut Ctx,
    key: &Bytes,
    args: &[Bytes],
    read_only: bool,
    max_bulk: u64,
) -> Result<Frame, CmdError> {
    let fields = parse_fields(args, max_bulk)?;
    let highest_write = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + u64::from(f.bits) - 1)
        .max();
    let now = ctx.now_ms;
    let Some(highest) = highest_write else {
        // Only GETs: Redis reads the key with `lookupKeyRead`, a read for the statistics.
        ctx.read_lookups();
        let s = read_str(ctx.db(), key, now)?.unwrap_or(&[]);
        return Ok(Frame::Array(
            fields.iter().map(|f| read_field(s, f)).collect(),
        ));
    };
    if read_only {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let len = (highest >> 3) as usize + 1;
    let (replies, changed) = with_grown(ctx, key, len, |s, grew| {
        let mut changes = false;
        let replies: Vec<Frame> = fields
            .iter()
            .map(|f| match f.op {
                FieldOp::Get => read_field(s, f),
                _ => {
                    let (reply, changed) = write_field(s, f);
                    changes |= changed || (grew && reply != Frame::Null);
                    reply
                }
            })
            .collect();
        ((replies, changes), changes)
    })?;
    if changed {
        ctx.notify(notify::STRING, "setbit", key);
    }
    Ok(Frame::Array(replies))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_matches_a_bit_by_bit_count() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 251) as u8).collect();
        for start in 0..40 {
            for len in [0, 1, 7, 31, 32, 33, 100, 500] {
                let s = &data[start..start + len];
                let want: u64 = s.iter().map(|b| u64::from(b.count_ones())).sum();
                assert_eq!(popcount(s), want);
                assert_eq!(popcount_words(s), want);
            }
        }
    }

    #[test]
    fn first_bit_table() {
        let cases: &[(&[u8], bool, i64)] = &[
            (&[], true, -1),
            (&[], false, 0),
            (&[0, 0, 0, 0, 0, 0, 0, 0, 0x10], true, 67),
            (&[0xff; 9], false, 72),
            (&[0xff, 0xfe], false, 15),
            (&[0; 3], true, -1),
        ];
        for &(bytes, bit, want) in cases {
            assert_eq!(first_bit(bytes, bit), want, "{bytes:?} {bit}");
        }
    }

    #[test]
    fn overflow_checks_follow_redis() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Wrap), Some(251));
        assert_eq!(unsigned_overflow(5, 10, 8, Overflow::Wrap), None);
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Sat), Some(-128));
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(
            signed_overflow(i64::MIN, -1, 64, Overflow::Sat),
            Some(i64::MIN)
        );
        assert_eq!(signed_overflow(1, -1, 64, Overflow::Sat), None);
        assert_eq!(signed_overflow(300, 0, 8, Overflow::Wrap), Some(44));
    }
}
