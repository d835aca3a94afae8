//! LZF, the compression Redis applies to long strings in RDB files (lzf_c.c, lzf_d.c).
//!
//! The format is a sequence of runs, each opened by a control byte `c`:
//! - `c < 32`: a literal run, the next `c + 1` bytes copied as they are;
//! - otherwise a back reference: length `c >> 5` (7 means "7 plus the next byte"), then the
//!   offset's low byte; it copies `length + 2` bytes starting `((c & 31) << 8 | low) + 1`
//!   bytes back in the output (the copy may overlap its own output, repeating a pattern).
//!
//! Our compressor finds matches through a hash table of 3-byte prefixes as liblzf does, but
//! is not byte-for-byte liblzf: any valid LZF stream decompresses the same in Redis.

/// Longest literal run one control byte covers.
const MAX_LIT: usize = 32;
/// Longest back reference: 2 + 7 + 255.
const MAX_REF: usize = 264;
/// Farthest back a reference can point (13 bits of offset, plus one).
const MAX_OFF: usize = 1 << 13;
const HASH_LOG: u32 = 14;

/// Why a compressed string does not decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LzfError {
    /// The runs produce more bytes than the declared length.
    TooLong,
    /// The runs end before producing the declared length.
    TooShort,
    /// A run is cut off by the end of the input.
    Truncated,
    /// A back reference points before the start of the output.
    BadReference,
}

/// Decompresses `input`, which must produce exactly `out_len` bytes. Allocates `out_len`
/// bytes up front: the caller bounds it (see the RDB reader).
pub(crate) fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, LzfError> {
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let len = ctrl + 1;
            let lit = input.get(ip..ip + len).ok_or(LzfError::Truncated)?;
            if out.len() + len > out_len {
                return Err(LzfError::TooLong);
            }
            out.extend_from_slice(lit);
            ip += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or(LzfError::Truncated)?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip).ok_or(LzfError::Truncated)?);
            ip += 1;
            let back = ((ctrl & 0x1f) << 8 | low) + 1;
            let len = len + 2;
            if out.len() + len > out_len {
                return Err(LzfError::TooLong);
            }
            let start = out.len().checked_sub(back).ok_or(LzfError::BadReference)?;
            if start + len <= out.len() {
                out.extend_from_within(start..start + len);
            } else {
                // Overlapping: each byte may be one this same run just wrote.
                for i in start..start + len {
                    out.push(out[i]);
                }
            }
        }
    }
    if out.len() != out_len {
        return Err(LzfError::TooShort);
    }
    Ok(out)
}

fn hash3(b: &[u8]) -> usize {
    let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

/// An LZF compressor. Keeps its match table between calls: the table is never cleared,
/// since every candidate it gives is checked against the input before use, so stale
/// entries from an earlier string cost nothing but a missed match.
pub(crate) struct Compressor {
    /// Position + 1 of the last occurrence of each hashed 3-byte prefix.
    table: Box<[u32]>,
}

impl Compressor {
    pub(crate) fn new() -> Compressor {
        Compressor {
            table: vec![0; 1 << HASH_LOG].into_boxed_slice(),
        }
    }

    /// Appends `input` compressed to `out` and returns true, or leaves `out` as it was and
    /// returns false if the compressed form would be longer than `max_out` bytes (Redis then
    /// stores the string raw).
    pub(crate) fn compress(&mut self, input: &[u8], max_out: usize, out: &mut Vec<u8>) -> bool {
        let base = out.len();
        let n = input.len();
        let mut lit_start = 0;
        let mut ip = 0;
        while ip + 3 <= n {
            let h = hash3(&input[ip..]);
            let cand = self.table[h] as usize;
            self.table[h] = (ip + 1) as u32;
            if let Some(r) = cand.checked_sub(1).filter(|&r| r < ip && ip - r <= MAX_OFF) {
                if input[r..r + 3] == input[ip..ip + 3] {
                    let max = MAX_REF.min(n - ip);
                    let mut len = 3;
                    while len < max && input[r + len] == input[ip + len] {
                        len += 1;
                    }
                    push_literals(out, &input[lit_start..ip]);
                    let off = ip - r - 1;
                    let l = len - 2;
                    if l < 7 {
                        out.push((l << 5 | off >> 8) as u8);
                    } else {
                        out.push((7 << 5 | off >> 8) as u8);
                        out.push((l - 7) as u8);
                    }
                    out.push(off as u8);
                    if out.len() - base > max_out {
                        out.truncate(base);
                        return false;
                    }
                    // Index the match's last positions so the next match can start there.
                    let end = ip + len;
                    for p in end.saturating_sub(2).max(ip + 1)..end {
                        if p + 3 <= n {
                            self.table[hash3(&input[p..])] = (p + 1) as u32;
                        }
                    }
                    ip = end;
                    lit_start = ip;
                    continue;
                }
            }
            ip += 1;
            // Incompressible input: stop as soon as the literals alone are too long.
            if out.len() - base + (ip - lit_start) > max_out {
                out.truncate(base);
                return false;
            }
        }
        push_literals(out, &input[lit_start..]);
        if out.len() - base > max_out {
            out.truncate(base);
            return false;
        }
        true
    }
}

fn push_literals(out: &mut Vec<u8>, lits: &[u8]) {
    for chunk in lits.chunks(MAX_LIT) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decompresses_what_redis_wrote() {
        // `SET c abab…ab` (60 bytes), as Redis 7.0.15 saved it: `c3 0a 3c` then 10 bytes.
        let compressed = [0x02, b'a', b'b', b'a', 0xe0, 0x2e, 0x01, 0x01, b'a', b'b'];
        let out = decompress(&compressed, 60).unwrap();
        assert_eq!(out, b"ab".repeat(30));
    }

    #[test]
    fn rejects_bad_streams() {
        let cases: &[(&[u8], usize, LzfError)] = &[
            (&[0x02, b'a', b'b'], 3, LzfError::Truncated),
            (&[0x01, b'a', b'b'], 1, LzfError::TooLong),
            (&[0x01, b'a', b'b'], 3, LzfError::TooShort),
            (&[0x00, b'a', 0x20, 0x01], 4, LzfError::BadReference),
            (&[0x00, b'a', 0x20, 0x00], 5, LzfError::TooShort),
            (&[0x00, b'a', 0xe0], 20, LzfError::Truncated),
            (&[0x00, b'a', 0xe0, 0xff, 0x00], 20, LzfError::TooLong),
            (&[0x20, 0x00], 3, LzfError::BadReference),
        ];
        for (input, len, want) in cases {
            assert_eq!(decompress(input, *len), Err(*want), "{input:x?}");
        }
    }

    #[test]
    fn compresses_repetition_and_gives_up_on_noise() {
        let text = b"hello hello hello hello hello hello hello hello".repeat(10);
        let mut c = Vec::new();
        assert!(Compressor::new().compress(&text, text.len() - 4, &mut c));
        assert!(c.len() < text.len() / 4, "{} bytes", c.len());
        assert_eq!(decompress(&c, text.len()).unwrap(), text);

        let noise: Vec<u8> = (0..100u32).map(|i| (i * 7919 % 256) as u8).collect();
        let mut out = vec![1, 2, 3];
        assert!(!Compressor::new().compress(&noise, noise.len() - 4, &mut out));
        assert_eq!(out, [1, 2, 3], "left as it was");
    }

    proptest! {
        // Inputs of thousands of bytes: fewer cases keep the debug-mode run short.
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..3000)) {
            let mut c = Vec::new();
            prop_assert!(Compressor::new().compress(&data, usize::MAX, &mut c));
            prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
        }

        #[test]
        fn reused_compressor_round_trips(byte: u8, len in 0usize..20_000, other in proptest::collection::vec(any::<u8>(), 0..500)) {
            // A table left over from `other` must not corrupt the next string.
            let mut compressor = Compressor::new();
            let mut scratch = Vec::new();
            compressor.compress(&other, usize::MAX, &mut scratch);
            let data = vec![byte; len];
            let mut c = Vec::new();
            prop_assert!(compressor.compress(&data, usize::MAX, &mut c));
            prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
        }
    }
}
