//! The RDB encodings of hashes, lists, sets and sorted sets: Redis's compact byte formats
//! (listpack, ziplist, intset) read and written, and the values built from their elements.
//!
//! Reading accepts what Redis 2.6 to 7.2 write: plain encodings (list 1, set 2, zset 3 and
//! 5, hash 4), ziplists (list 10, zset 12, hash 13, quicklist 14), intsets (11), listpacks
//! (hash 16, zset 17, quicklist 18, set 20). Writing uses what Redis 7.0 reads back with no
//! conversion cost of note: hash 4, set 2, zset 5 (binary scores) and list 18 (quicklist of
//! listpacks). Each compact blob is checked against its own header as it is parsed, so a
//! corrupt file is an error, never a panic or a huge allocation.

use crate::db::types::list::End;
use crate::db::types::{Hash, List, Set, TypeLimits, ZSet};

/// One element of a listpack or ziplist: bytes or an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Elem {
    Bytes(Vec<u8>),
    Int(i64),
}

impl Elem {
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Elem::Bytes(b) => b,
            Elem::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
        }
    }

    /// The element as a score: an integer, or text as `strtod` reads it.
    pub fn score(&self) -> Option<f64> {
        match self {
            Elem::Int(n) => Some(*n as f64),
            Elem::Bytes(b) => parse_score_text(b),
        }
    }
}

/// A score written as text (listpacks, ziplists, RDB zset v1): what `d2string` writes.
pub(crate) fn parse_score_text(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok().filter(|v| !v.is_nan()),
    }
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The elements of a listpack blob; `None` if it is malformed.
pub(crate) fn listpack(b: &[u8]) -> Option<Vec<Elem>> {
    let total = u32_le(b, 0)? as usize;
    if total != b.len() || total < 7 {
        return None;
    }
    let declared = u16_le(b, 4)? as usize;
    let mut pos = 6;
    let mut out = Vec::new();
    loop {
        let first = *b.get(pos)?;
        if first == 0xff {
            break;
        }
        let (elem, size) = match first {
            0x00..=0x7f => (Elem::Int(i64::from(first)), 1),
            0x80..=0xbf => {
                let len = usize::from(first & 0x3f);
                (
                    Elem::Bytes(b.get(pos + 1..pos + 1 + len)?.to_vec()),
                    1 + len,
                )
            }
            0xc0..=0xdf => {
                let uv = (u16::from(first & 0x1f) << 8) | u16::from(*b.get(pos + 1)?);
                let v = if uv >= 1 << 12 {
                    i64::from(uv) - (1 << 13)
                } else {
                    i64::from(uv)
                };
                (Elem::Int(v), 2)
            }
            0xe0..=0xef => {
                let len = (usize::from(first & 0x0f) << 8) | usize::from(*b.get(pos + 1)?);
                (
                    Elem::Bytes(b.get(pos + 2..pos + 2 + len)?.to_vec()),
                    2 + len,
                )
            }
            0xf0 => {
                let len = u32_le(b, pos + 1)? as usize;
                let end = pos.checked_add(5)?.checked_add(len)?;
                (Elem::Bytes(b.get(pos + 5..end)?.to_vec()), 5 + len)
            }
            0xf1 => (Elem::Int(i64::from(u16_le(b, pos + 1)? as i16)), 3),
            0xf2 => {
                let raw = b.get(pos + 1..pos + 4)?;
                let v = i32::from_le_bytes([0, raw[0], raw[1], raw[2]]) >> 8;
                (Elem::Int(i64::from(v)), 4)
            }
            0xf3 => (Elem::Int(i64::from(u32_le(b, pos + 1)? as i32)), 5),
            0xf4 => {
                let raw: [u8; 8] = b.get(pos + 1..pos + 9)?.try_into().ok()?;
                (Elem::Int(i64::from_le_bytes(raw)), 9)
            }
            _ => return None,
        };
        out.push(elem);
        pos = pos.checked_add(size + backlen_size(size))?;
        if pos >= b.len() {
            return None;
        }
    }
    if pos != b.len() - 1 || (declared != 0xffff && declared != out.len()) {
        return None;
    }
    Some(out)
}

/// Appends `data` to a listpack under construction (string encodings only).
fn listpack_push(lp: &mut Vec<u8>, data: &[u8]) {
    let start = lp.len();
    let len = data.len();
    if len < 64 {
        lp.push(0x80 | len as u8);
    } else if len < 4096 {
        lp.push(0xe0 | (len >> 8) as u8);
        lp.push(len as u8);
    } else {
        lp.push(0xf0);
        lp.extend_from_slice(&(len as u32).to_le_bytes());
    }
    lp.extend_from_slice(data);
    let l = (lp.len() - start) as u64;
    // lpEncodeBacklen: the entry size, most significant group first.
    let groups = backlen_size(l as usize);
    for i in (0..groups).rev() {
        let g = ((l >> (7 * i)) & 127) as u8;
        lp.push(if i == groups - 1 { g } else { g | 128 });
    }
}

/// A listpack of `elements`.
pub(crate) fn build_listpack<'a>(elements: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut lp = vec![0u8; 6];
    let mut n = 0usize;
    for e in elements {
        listpack_push(&mut lp, e);
        n += 1;
    }
    lp.push(0xff);
    let total = lp.len() as u32;
    lp[..4].copy_from_slice(&total.to_le_bytes());
    lp[4..6].copy_from_slice(&(n.min(0xffff) as u16).to_le_bytes());
    lp
}

/// The elements of a ziplist blob (Redis before 7.0); `None` if it is malformed.
pub(crate) fn ziplist(b: &[u8]) -> Option<Vec<Elem>> {
    let total = u32_le(b, 0)? as usize;
    if total != b.len() || total < 11 {
        return None;
    }
    let mut pos = 10;
    let mut out = Vec::new();
    loop {
        let first = *b.get(pos)?;
        if first == 0xff {
            break;
        }
        // prevlen: one byte, or 0xfe and four.
        pos += if first == 0xfe { 5 } else { 1 };
        let enc = *b.get(pos)?;
        let (elem, size) = match enc >> 6 {
            0 => {
                let len = usize::from(enc & 0x3f);
                (
                    Elem::Bytes(b.get(pos + 1..pos + 1 + len)?.to_vec()),
                    1 + len,
                )
            }
            1 => {
                let len = (usize::from(enc & 0x3f) << 8) | usize::from(*b.get(pos + 1)?);
                (
                    Elem::Bytes(b.get(pos + 2..pos + 2 + len)?.to_vec()),
                    2 + len,
                )
            }
            2 => {
                let len = u32::from_be_bytes(b.get(pos + 1..pos + 5)?.try_into().ok()?) as usize;
                let end = pos.checked_add(5)?.checked_add(len)?;
                (Elem::Bytes(b.get(pos + 5..end)?.to_vec()), 5 + len)
            }
            _ => match enc {
                0xc0 => (Elem::Int(i64::from(u16_le(b, pos + 1)? as i16)), 3),
                0xd0 => (Elem::Int(i64::from(u32_le(b, pos + 1)? as i32)), 5),
                0xe0 => {
                    let raw: [u8; 8] = b.get(pos + 1..pos + 9)?.try_into().ok()?;
                    (Elem::Int(i64::from_le_bytes(raw)), 9)
                }
                0xf0 => {
                    let raw = b.get(pos + 1..pos + 4)?;
                    let v = i32::from_le_bytes([0, raw[0], raw[1], raw[2]]) >> 8;
                    (Elem::Int(i64::from(v)), 4)
                }
                0xfe => (Elem::Int(i64::from(*b.get(pos + 1)? as i8)), 2),
                0xf1..=0xfd => (Elem::Int(i64::from(enc & 0x0f) - 1), 1),
                _ => return None,
            },
        };
        out.push(elem);
        pos = pos.checked_add(size)?;
        if pos >= b.len() {
            return None;
        }
    }
    (pos == b.len() - 1).then_some(out)
}

/// The members of an intset blob; `None` if it is malformed.
pub(crate) fn intset(b: &[u8]) -> Option<Vec<i64>> {
    let width = u32_le(b, 0)? as usize;
    let n = u32_le(b, 4)? as usize;
    if !matches!(width, 2 | 4 | 8) || n.checked_mul(width)?.checked_add(8)? != b.len() {
        return None;
    }
    Some(
        b[8..]
            .chunks(width)
            .map(|c| match width {
                2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
                4 => i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes"))),
                _ => i64::from_le_bytes(c.try_into().expect("8 bytes")),
            })
            .collect(),
    )
}

/// A hash of alternating fields and values; `None` for an odd count or a duplicate field.
pub(crate) fn hash_of(elems: Vec<Vec<u8>>, limits: &TypeLimits) -> Option<Hash> {
    if elems.len() % 2 != 0 {
        return None;
    }
    let n = elems.len() / 2;
    let h = Hash::from_pairs(elems.chunks(2).map(|p| (&p[0][..], &p[1][..])), limits);
    (h.len() == n && n > 0).then_some(h)
}

/// A set of `members`; `None` for a duplicate or none.
pub(crate) fn set_of(members: Vec<Vec<u8>>, limits: &TypeLimits) -> Option<Set> {
    let n = members.len();
    let s = Set::from_members(members.iter().map(|m| &m[..]), limits);
    (s.len() == n && n > 0).then_some(s)
}

/// A sorted set of (member, score); `None` for a duplicate, a NaN or none.
pub(crate) fn zset_of(pairs: Vec<(Vec<u8>, f64)>, limits: &TypeLimits) -> Option<ZSet> {
    let n = pairs.len();
    if n == 0 || pairs.iter().any(|(_, s)| s.is_nan()) {
        return None;
    }
    let z = ZSet::from_pairs(pairs.iter().map(|(m, s)| (&m[..], *s)), limits);
    (z.len() == n).then_some(z)
}

/// A list of `elements`; `None` if there are none.
pub(crate) fn list_of(elements: Vec<Vec<u8>>, limits: &TypeLimits) -> Option<List> {
    let mut l = List::new();
    for e in &elements {
        l.push(End::Right, e, limits);
    }
    (!l.is_empty()).then_some(l)
}

/// Splits a list into listpack nodes of at most 8 KiB or 128 elements (one element per
/// node when it is bigger), the shape Redis's quicklist has with its default settings.
pub(crate) fn list_nodes(list: &List) -> Vec<Vec<u8>> {
    const NODE_BYTES: usize = 8 * 1024;
    const NODE_ELEMENTS: usize = 128;
    let mut nodes = Vec::new();
    let mut current: Vec<&[u8]> = Vec::new();
    let mut bytes = 0;
    for e in list.iter() {
        let size = e.len() + 11;
        if !current.is_empty() && (bytes + size > NODE_BYTES || current.len() == NODE_ELEMENTS) {
            nodes.push(build_listpack(current.drain(..)));
            bytes = 0;
        }
        current.push(e);
        bytes += size;
    }
    if !current.is_empty() {
        nodes.push(build_listpack(current));
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpacks_round_trip() {
        let big = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let elems: Vec<&[u8]> = vec![b"", b"a", &mid, &big, b"12"];
        let lp = build_listpack(elems.clone());
        let back: Vec<Vec<u8>> = listpack(&lp)
            .unwrap()
            .into_iter()
            .map(Elem::into_bytes)
            .collect();
        assert_eq!(back, elems.iter().map(|e| e.to_vec()).collect::<Vec<_>>());
        assert!(listpack(&lp[..lp.len() - 1]).is_none());
    }

    #[test]
    fn listpack_integers_as_redis_writes_them() {
        // lpAppend of "5", "-2", "1000", "100000", "-5000000000".
        let mut lp = vec![0u8; 6];
        lp.extend_from_slice(&[0x05, 0x01]);
        lp.extend_from_slice(&[0xdf, 0xfe, 0x02]);
        lp.extend_from_slice(&[0xc3, 0xe8, 0x02]);
        lp.extend_from_slice(&[0xf2, 0xa0, 0x86, 0x01, 0x04]);
        lp.push(0xf4);
        lp.extend_from_slice(&(-5_000_000_000i64).to_le_bytes());
        lp.push(0x09);
        lp.push(0xff);
        let total = lp.len() as u32;
        lp[..4].copy_from_slice(&total.to_le_bytes());
        lp[4..6].copy_from_slice(&5u16.to_le_bytes());
        let got = listpack(&lp).unwrap();
        assert_eq!(
            got,
            vec![
                Elem::Int(5),
                Elem::Int(-2),
                Elem::Int(1000),
                Elem::Int(100_000),
                Elem::Int(-5_000_000_000)
            ]
        );
    }

    #[test]
    fn intsets_and_ziplists() {
        let mut is = Vec::new();
        is.extend_from_slice(&2u32.to_le_bytes());
        is.extend_from_slice(&2u32.to_le_bytes());
        is.extend_from_slice(&(-3i16).to_le_bytes());
        is.extend_from_slice(&7i16.to_le_bytes());
        assert_eq!(intset(&is), Some(vec![-3, 7]));
        assert_eq!(intset(&is[..9]), None);
        // A ziplist of "ab" and 5 (immediate).
        let mut zl = vec![0u8; 10];
        zl.extend_from_slice(&[0x00, 0x02, b'a', b'b']);
        zl.extend_from_slice(&[0x04, 0xf6]);
        zl.push(0xff);
        let total = zl.len() as u32;
        zl[..4].copy_from_slice(&total.to_le_bytes());
        assert_eq!(
            ziplist(&zl),
            Some(vec![Elem::Bytes(b"ab".to_vec()), Elem::Int(5)])
        );
    }
}
