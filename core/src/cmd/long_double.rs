//! x87 80-bit `long double` arithmetic, exactly as INCRBYFLOAT does it on x86-64 Linux.
//!
//! Redis parses both operands with `strtold`, adds them in `long double` (64-bit significand,
//! 15-bit exponent) and prints the sum with `%.17Lf`, trimming trailing zeros. Doing the
//! same in `f64` gives different digits (`1e300` prints 300 digits that differ after the
//! 17th), so this module emulates the format in software: exact big-integer arithmetic, one
//! round-to-nearest-even at the end of each step, like the FPU and glibc.
//!
//! A value is `±mant × 2^exp` with `mant < 2^64` and `exp ≥ MIN_EXP` — normal numbers have
//! the top bit of `mant` set, subnormals sit at `MIN_EXP`. The range is that of the x87
//! format: up to just under 2^16384.

use std::cmp::Ordering;

/// Smallest exponent: subnormals are `mant × 2^MIN_EXP`.
const MIN_EXP: i64 = -16445;
/// Largest exponent of a finite value (`mant < 2^64`, so values stay below 2^16384).
const MAX_EXP: i64 = 16320;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer strings are not numbers.
const MAX_CHARS: usize = 5 * 1024;
/// Significant bits the rounding step wants at least, so guard and sticky bits are exact.
const WORK_BITS: u64 = 66;

/// A finite or infinite 80-bit `long double` (NaN never survives parsing or adding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LongDouble {
    /// `±mant × 2^exp`; zero is `mant == 0`.
    Finite { neg: bool, mant: u64, exp: i64 },
    /// `±inf`.
    Inf { neg: bool },
}

impl LongDouble {
    pub(crate) const ZERO: LongDouble = LongDouble::Finite {
        neg: false,
        mant: 0,
        exp: 0,
    };

    /// Parses `s` as Redis's `string2ld`: `strtold` in the C locale over the whole string
    /// (decimal, hexadecimal `0x…p…`, `inf`, `infinity`), refusing leading spaces, trailing
    /// bytes (a NUL byte included: Redis checks that `strtold` used the whole length),
    /// NaN, and values that overflow or underflow to zero.
    pub(crate) fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS {
            return None;
        }
        let (neg, body) = match s.first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Inf { neg });
        }
        let magnitude = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
            parse_hex(&body[2..])?
        } else {
            parse_decimal(body)?
        };
        match magnitude {
            // Overflow is ERANGE with HUGE_VAL, underflow ERANGE with zero: both refused.
            Rounded::Overflow | Rounded::Underflow => None,
            Rounded::Value { mant, exp } => Some(LongDouble::Finite { neg, mant, exp }),
        }
    }

    /// A `double` widened to `long double`, which is exact (what C does when it passes a
    /// `double` to a `long double` parameter, as geo's `addReplyHumanLongDouble`).
    pub(crate) fn from_f64(x: f64) -> LongDouble {
        let neg = x.is_sign_negative();
        if x.is_infinite() {
            return LongDouble::Inf { neg };
        }
        let bits = x.to_bits();
        let exp_bits = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        if exp_bits == 0 && frac == 0 {
            return LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            };
        }
        let (mut mant, mut exp) = if exp_bits == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp_bits - 1075)
        };
        // Normalise: the top bit of the 64-bit significand set.
        let shift = mant.leading_zeros() as i64;
        mant <<= shift;
        exp -= shift;
        LongDouble::Finite { neg, mant, exp }
    }

    /// `self + other`, rounded once; `None` if the sum is infinite or NaN (INCRBYFLOAT's
    /// "increment would produce NaN or Infinity").
    pub(crate) fn add(self, other: LongDouble) -> Option<LongDouble> {
        let (
            LongDouble::Finite {
                neg: na,
                mant: ma,
                exp: ea,
            },
            LongDouble::Finite {
                neg: nb,
                mant: mb,
                exp: eb,
            },
        ) = (self, other)
        else {
            return None;
        };
        if ma == 0 && mb == 0 {
            // IEEE: the sum of two zeros is -0 only if both are -0.
            return Some(LongDouble::Finite {
                neg: na && nb,
                mant: 0,
                exp: 0,
            });
        }
        let e = ea.min(eb);
        let a = Big::from_u64(ma).shl((ea - e) as u64);
        let b = Big::from_u64(mb).shl((eb - e) as u64);
        let (neg, sum) = if na == nb {
            (na, a.add(&b))
        } else {
            match a.cmp(&b) {
                Ordering::Equal => return Some(LongDouble::ZERO),
                Ordering::Greater => (na, a.sub(&b)),
                Ordering::Less => (nb, b.sub(&a)),
            }
        };
        match round(&sum, e, false) {
            Rounded::Value { mant, exp } => Some(LongDouble::Finite { neg, mant, exp }),
            Rounded::Underflow => Some(LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            }),
            Rounded::Overflow => None,
        }
    }

    /// Redis's `ld2string(…, LD_STR_HUMAN)`: `%.17Lf`, trailing zeros (and a trailing dot)
    /// removed, `-0` written `0`. Infinities are never stored, but print as glibc would.
    pub(crate) fn to_human_string(self) -> String {
        let (neg, mant, exp) = match self {
            LongDouble::Inf { neg } => return if neg { "-inf" } else { "inf" }.to_owned(),
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        // The value times 10^17, rounded to an integer (half to even, as glibc does).
        let mut scaled = Big::from_u64(mant);
        scaled.mul_pow10(17);
        let scaled = if exp >= 0 {
            scaled.shl(exp as u64)
        } else {
            let shift = exp.unsigned_abs();
            let mut q = scaled.shr(shift);
            let half = shift >= 1 && scaled.bit(shift - 1);
            let rest = shift >= 2 && scaled.any_below(shift - 1);
            if half && (rest || q.bit(0)) {
                q.add_small(1);
            }
            q
        };
        let digits = scaled.to_decimal();
        let mut out = String::with_capacity(digits.len() + 3);
        if neg {
            out.push('-');
        }
        if digits.len() <= 17 {
            out.push_str("0.");
            out.extend(std::iter::repeat('0').take(17 - digits.len()));
            out.push_str(&digits);
        } else {
            let (int, frac) = digits.split_at(digits.len() - 17);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
        let trimmed = out.trim_end_matches('0').trim_end_matches('.');
        if trimmed == "-0" {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        }
    }
}

/// The outcome of rounding an exact magnitude to the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rounded {
    Value {
        mant: u64,
        exp: i64,
    },
    Overflow,
    /// Nonzero but below half the smallest subnormal: rounds to zero.
    Underflow,
}

/// Rounds `n × 2^e` (plus less than one unit of `n`'s last bit if `sticky`) to nearest,
/// ties to even. With `sticky`, `n` must carry at least [`WORK_BITS`] bits.
fn round(n: &Big, e: i64, sticky: bool) -> Rounded {
    if n.is_zero() {
        return if sticky {
            Rounded::Underflow
        } else {
            Rounded::Value { mant: 0, exp: 0 }
        };
    }
    let bits = n.bit_len() as i64;
    let mut shift = bits - 64;
    if e + shift < MIN_EXP {
        shift = MIN_EXP - e;
    }
    let (mut mant, mut exp) = if shift <= 0 {
        debug_assert!(!sticky || shift > 0);
        (n.low_u64() << (-shift), e + shift)
    } else {
        let s = shift as u64;
        let mant = n.bits_u64(s);
        let half = n.bit(s - 1);
        let rest = sticky || (s >= 2 && n.any_below(s - 1));
        let (mut mant, exp) = (mant, e + shift);
        if half && (rest || mant & 1 == 1) {
            match mant.checked_add(1) {
                Some(m) => mant = m,
                None => return finish(1 << 63, exp + 1),
            }
        }
        (mant, exp)
    };
    if mant == 0 {
        return Rounded::Underflow;
    }
    // A subnormal result keeps MIN_EXP; normal values are already normalised by `shift`.
    if shift <= 0 && mant >> 63 == 0 && exp > MIN_EXP {
        let lz = i64::from(mant.leading_zeros()).min(exp - MIN_EXP);
        mant <<= lz;
        exp -= lz;
    }
    finish(mant, exp)
}

fn finish(mant: u64, exp: i64) -> Rounded {
    if exp > MAX_EXP {
        Rounded::Overflow
    } else {
        Rounded::Value { mant, exp }
    }
}

/// Parses the digits of a decimal number (after the sign): `digits[.digits][e[±]digits]`.
fn parse_decimal(s: &[u8]) -> Option<Rounded> {
    let mut i = 0;
    let mut mantissa = Vec::with_capacity(s.len());
    let mut point_exp: i64 = 0;
    let mut seen_digit = false;
    while i < s.len() && s[i].is_ascii_digit() {
        mantissa.push(s[i] - b'0');
        seen_digit = true;
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            mantissa.push(s[i] - b'0');
            point_exp -= 1;
            seen_digit = true;
            i += 1;
        }
    }
    if !seen_digit {
        return None;
    }
    let mut exp10 = point_exp;
    if i < s.len() && (s[i] | 0x20) == b'e' {
        // strtold takes the exponent only if digits follow; otherwise it stops before the
        // `e`, which leaves a trailing byte: not a number for Redis either way.
        let mut j = i + 1;
        let eneg = match s.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let start = j;
        let mut e: i64 = 0;
        while j < s.len() && s[j].is_ascii_digit() {
            e = (e * 10 + i64::from(s[j] - b'0')).min(1_000_000_000);
            j += 1;
        }
        if j == start {
            return None;
        }
        exp10 += if eneg { -e } else { e };
        i = j;
    }
    if i != s.len() {
        return None;
    }
    // Strip leading zeros; all zeros is an exact zero.
    let first = mantissa.iter().position(|&d| d != 0);
    let Some(first) = first else {
        return Some(Rounded::Value { mant: 0, exp: 0 });
    };
    let digits = &mantissa[first..];
    let magnitude = digits.len() as i64 - 1 + exp10; // value is in [10^m, 10^(m+1))
    if magnitude > 4933 {
        return Some(Rounded::Overflow);
    }
    if magnitude < -4953 {
        return Some(Rounded::Underflow);
    }
    let mut d = Big::zero();
    for chunk in digits.chunks(19) {
        let mut v = 0u64;
        for &c in chunk {
            v = v * 10 + u64::from(c);
        }
        d.mul_small(10u64.pow(chunk.len() as u32));
        d.add_small(v);
    }
    if exp10 >= 0 {
        d.mul_pow10(exp10 as u64);
        return Some(round(&d, 0, false));
    }
    let mut p = Big::from_u64(1);
    p.mul_pow10(exp10.unsigned_abs());
    Some(divide(&d, &p))
}

/// Rounds `num / den` by long division to a quotient of about [`WORK_BITS`] bits.
fn divide(num: &Big, den: &Big) -> Rounded {
    let j = num.bit_len() as i64 - den.bit_len() as i64 - WORK_BITS as i64;
    let (a, p) = if j < 0 {
        (num.shl(j.unsigned_abs()), den.clone())
    } else {
        (num.clone(), den.shl(j as u64))
    };
    // Now a / p < 2^(WORK_BITS + 2): one quotient bit at a time.
    let mut rem = a;
    let mut q: u128 = 0;
    for i in (0..WORK_BITS + 2).rev() {
        let ps = p.shl(i);
        if rem.cmp(&ps) != Ordering::Less {
            rem = rem.sub(&ps);
            q |= 1 << i;
        }
    }
    let q = Big(vec![q as u64, (q >> 64) as u64]).normalized();
    round(&q, j, !rem.is_zero())
}

/// Parses a hexadecimal float after `0x`: `hex[.hex][p[±]digits]`.
fn parse_hex(s: &[u8]) -> Option<Rounded> {
    let mut i = 0;
    let mut h = Big::zero();
    let mut exp2: i64 = 0;
    let mut seen_digit = false;
    let hex = |c: u8| (c as char).to_digit(16).map(u64::from);
    while let Some(v) = s.get(i).and_then(|&c| hex(c)) {
        h.mul_small(16);
        h.add_small(v);
        seen_digit = true;
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        while let Some(v) = s.get(i).and_then(|&c| hex(c)) {
            h.mul_small(16);
            h.add_small(v);
            exp2 -= 4;
            seen_digit = true;
            i += 1;
        }
    }
    if !seen_digit {
        return None;
    }
    if i < s.len() && (s[i] | 0x20) == b'p' {
        let mut j = i + 1;
        let eneg = match s.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let start = j;
        let mut e: i64 = 0;
        while j < s.len() && s[j].is_ascii_digit() {
            e = (e * 10 + i64::from(s[j] - b'0')).min(1_000_000_000);
            j += 1;
        }
        if j == start {
            return None;
        }
        exp2 += if eneg { -e } else { e };
        i = j;
    }
    if i != s.len() {
        return None;
    }
    if h.is_zero() {
        return Some(Rounded::Value { mant: 0, exp: 0 });
    }
    let top = h.bit_len() as i64 + exp2;
    if top > MAX_EXP + 64 {
        return Some(Rounded::Overflow);
    }
    if top < MIN_EXP - 1 {
        return Some(Rounded::Underflow);
    }
    Some(round(&h, exp2, false))
}

/// A little-endian unsigned big integer, just enough for the conversions above.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u64>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u64(v: u64) -> Big {
        Big(vec![v]).normalized()
    }

    fn normalized(mut self) -> Big {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() as u64 * 64 - u64::from(top.leading_zeros()),
        }
    }

    fn bit(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|w| (w >> (i % 64)) & 1 == 1)
    }

    /// True if any bit below position `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let full = (i / 64) as usize;
        if self.0.iter().take(full).any(|&w| w != 0) {
            return true;
        }
        let part = i % 64;
        part > 0
            && self
                .0
                .get(full)
                .is_some_and(|w| w & ((1u64 << part) - 1) != 0)
    }

    fn low_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0)
    }

    /// Bits `shift .. shift + 64` as a number.
    fn bits_u64(&self, shift: u64) -> u64 {
        let w = (shift / 64) as usize;
        let b = shift % 64;
        let lo = self.0.get(w).copied().unwrap_or(0);
        let hi = self.0.get(w + 1).copied().unwrap_or(0);
        if b == 0 {
            lo
        } else {
            (lo >> b) | (hi << (64 - b))
        }
    }

    fn mul_small(&mut self, m: u64) {
        let mut carry = 0u128;
        for w in &mut self.0 {
            let v = u128::from(*w) * u128::from(m) + carry;
            *w = v as u64;
            carry = v >> 64;
        }
        if carry > 0 {
            self.0.push(carry as u64);
        }
        if m == 0 {
            self.0.clear();
        }
    }

    fn mul_pow10(&mut self, mut n: u64) {
        while n >= 19 {
            self.mul_small(10u64.pow(19));
            n -= 19;
        }
        self.mul_small(10u64.pow(n as u32));
    }

    fn add_small(&mut self, a: u64) {
        let mut carry = a;
        for w in &mut self.0 {
            if carry == 0 {
                return;
            }
            let (v, o) = w.overflowing_add(carry);
            *w = v;
            carry = u64::from(o);
        }
        if carry > 0 {
            self.0.push(carry);
        }
    }

    fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let words = (n / 64) as usize;
        let bits = n % 64;
        let mut out = vec![0u64; words];
        out.reserve(self.0.len() + 1);
        let mut carry = 0u64;
        for &w in &self.0 {
            if bits == 0 {
                out.push(w);
            } else {
                out.push((w << bits) | carry);
                carry = w >> (64 - bits);
            }
        }
        if carry > 0 {
            out.push(carry);
        }
        Big(out).normalized()
    }

    fn shr(&self, n: u64) -> Big {
        let words = (n / 64) as usize;
        if words >= self.0.len() {
            return Big::zero();
        }
        let out: Vec<u64> = (0..self.0.len() - words)
            .map(|i| self.bits_u64(n + 64 * i as u64))
            .collect();
        Big(out).normalized()
    }

    fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = false;
        for i in 0..n {
            let a = self.0.get(i).copied().unwrap_or(0);
            let b = other.0.get(i).copied().unwrap_or(0);
            let (v, o1) = a.overflowing_add(b);
            let (v, o2) = v.overflowing_add(u64::from(carry));
            out.push(v);
            carry = o1 || o2;
        }
        if carry {
            out.push(1);
        }
        Big(out).normalized()
    }

    /// `self - other`; `self` must not be smaller.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = false;
        for (i, &a) in self.0.iter().enumerate() {
            let b = other.0.get(i).copied().unwrap_or(0);
            let (v, o1) = a.overflowing_sub(b);
            let (v, o2) = v.overflowing_sub(u64::from(borrow));
            out.push(v);
            borrow = o1 || o2;
        }
        debug_assert!(!borrow, "subtracting a larger number");
        Big(out).normalized()
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".to_owned();
        }
        const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19
        let mut n = self.0.clone();
        let mut chunks = Vec::new();
        while !n.is_empty() {
            let mut rem = 0u128;
            for w in n.iter_mut().rev() {
                let cur = (rem << 64) | u128::from(*w);
                *w = (cur / u128::from(CHUNK)) as u64;
                rem = cur % u128::from(CHUNK);
            }
            while n.last() == Some(&0) {
                n.pop();
            }
            chunks.push(rem as u64);
        }
        let mut out = chunks.pop().expect("nonzero").to_string();
        for c in chunks.iter().rev() {
            out.push_str(&format!("{c:019}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn incr(start: &str, by: &str) -> Option<String> {
        let a = LongDouble::parse(start.as_bytes())?;
        let b = LongDouble::parse(by.as_bytes())?;
        a.add(b).map(LongDouble::to_human_string)
    }

    /// Expected outputs taken from Redis 7.0.15 on x86-64 (`INCRBYFLOAT`).
    #[test]
    fn matches_redis_incrbyfloat() {
        let cases: &[(&str, &str, &str)] = &[
            ("0", "10.5", "10.5"),
            ("10.5", "0.1", "10.6"),
            ("0.1", "0.2", "0.3"),
            ("0", "3.0e3", "3000"),
            ("0", "1e-5", "0.00001"),
            ("0", "5.0e17", "500000000000000000"),
            ("0", "0x1p3", "8"),
            ("0", "-0", "0"),
            ("0", "+.5", "0.5"),
            ("0", "1.e2", "100"),
            ("0", "1e-4940", "0"),
            ("0", "3e-4951", "0"),
            ("0", "0X1P-16445", "0"),
            ("0", "0x1.8p-1", "0.75"),
            ("0", "0x.8", "0.5"),
            ("0", "0.000011444091796875", "0.00001144409179688"),
            ("0", "-0.000003814697265625", "-0.00000381469726562"),
            ("0", "123456789.123456789", "123456789.12345678899873747"),
            ("0", "1.5e-20", "0"),
            ("0", "-1.5", "-1.5"),
            ("9223372036854775807", "1", "9223372036854775808"),
            ("0", "0.00000000000000001", "0.00000000000000001"),
            ("0", "0.000000000000000005", "0"),
            ("0", "0.000000000000000015", "0.00000000000000002"),
            (
                "0",
                "1e300",
                "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144",
            ),
        ];
        for &(a, b, want) in cases {
            assert_eq!(incr(a, b).as_deref(), Some(want), "{a} + {b}");
        }
    }

    #[test]
    fn refuses_what_strtold_or_redis_refuses() {
        for bad in [
            "", "nan", "1e", "0x", ".", " 1", "1 ", "1e5000", "1e-5000", "abc", "--1", "0x1p",
            "1\x002",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert!(matches!(
            LongDouble::parse(b"inf"),
            Some(LongDouble::Inf { neg: false })
        ));
        assert!(matches!(
            LongDouble::parse(b"-Infinity"),
            Some(LongDouble::Inf { neg: true })
        ));
        assert_eq!(incr("0", "inf"), None);
        // Half the smallest subnormal rounds to zero: an underflow, refused.
        assert_eq!(LongDouble::parse(b"0x1p-16446"), None);
        assert_eq!(LongDouble::parse(b"1e-4951"), None);
        assert_eq!(LongDouble::parse(b"0x1p16384"), None);
        assert_eq!(
            LongDouble::parse(b"1.18973149535723176509e+4932"),
            None,
            "rounds past the largest finite value"
        );
        assert_eq!(incr("1e4932", "1e4932"), None, "overflow");
    }

    #[test]
    fn exact_ties_round_to_even() {
        // 2^-18 = 0.000003814697265625: the 18th decimal is an exact 5.
        assert_eq!(
            incr("0", "0.000003814697265625").as_deref(),
            Some("0.00000381469726562")
        );
    }
}
