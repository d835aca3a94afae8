//! Lists: sequences of byte strings, as a deque of packed chunks (Redis's `quicklist`).
//!
//! Each chunk is one byte buffer of entries `len (LEB128) · bytes · back-length`, the
//! back-length being the size of the first two parts written so that it reads from the end,
//! as in a listpack: both ends of a chunk are reachable in O(1), so pushes and pops at
//! either end of the list cost O(1) amortized and copy only the element. A chunk holds up to
//! `list-max-listpack-size` (8 KiB by default); a bigger element gets a chunk of its own.
//! Chunks keep free room at the front as well as the back, so LPUSH does not move the
//! chunk's other entries.
//!
//! Indexing walks the chunks from the nearer end, then the entries of one chunk: O(n / chunk
//! size + chunk size), as Redis's quicklist.

use std::collections::VecDeque;

use super::{get_varint, put_varint, varint_len, TypeLimits};

/// A list. The `OBJECT ENCODING` is always `quicklist`, as in Redis 7.0.
#[derive(Clone, Default)]
pub struct List {
    chunks: VecDeque<Chunk>,
    len: usize,
}

#[derive(Clone, Default)]
struct Chunk {
    /// Live entries are `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    count: usize,
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (LPUSH, LPOP, `LEFT`).
    Left,
    /// The tail (RPUSH, RPOP, `RIGHT`).
    Right,
}

fn entry_size(len: usize) -> usize {
    let fwd = varint_len(len) + len;
    fwd + varint_len(fwd)
}

/// Writes an entry at the end of `out`.
fn put_entry(out: &mut Vec<u8>, data: &[u8]) {
    let hdr = varint_len(data.len());
    put_varint(out, data.len());
    out.extend_from_slice(data);
    put_backlen(out, hdr + data.len());
}

/// Writes an entry into `out`, which is exactly [`entry_size`] bytes: LPUSH fills the room
/// in front of a chunk in place, with no temporary buffer.
fn write_entry(out: &mut [u8], data: &[u8]) {
    let mut pos = 0;
    let mut n = data.len();
    while n >= 0x80 {
        out[pos] = (n as u8) | 0x80;
        n >>= 7;
        pos += 1;
    }
    out[pos] = n as u8;
    pos += 1;
    out[pos..pos + data.len()].copy_from_slice(data);
    let fwd = pos + data.len();
    let tail = &mut out[fwd..];
    let m = tail.len();
    // As put_backlen: the lowest group last; every byte but the first flagged.
    for (j, b) in tail.iter_mut().enumerate() {
        let group = ((fwd >> (7 * (m - 1 - j))) & 0x7f) as u8;
        *b = if j > 0 { group | 0x80 } else { group };
    }
}

fn put_backlen(out: &mut Vec<u8>, v: usize) {
    let m = varint_len(v);
    let at = out.len();
    out.resize(at + m, 0);
    for i in 0..m {
        let group = ((v >> (7 * i)) & 0x7f) as u8;
        let flag = if i < m - 1 { 0x80 } else { 0 };
        out[at + m - 1 - i] = group | flag;
    }
}

impl Chunk {
    fn bytes(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The entry starting at `pos`: its data range and the position after it.
    #[inline]
    fn entry(&self, pos: usize) -> (std::ops::Range<usize>, usize) {
        let (len, hdr) = get_varint(&self.buf, pos);
        let data = pos + hdr..pos + hdr + len;
        let fwd = hdr + len;
        (data, pos + fwd + varint_len(fwd))
    }

    /// The start of the entry that ends at `end`.
    #[inline]
    fn entry_before(&self, end: usize) -> usize {
        let mut pos = end - 1;
        let mut b = self.buf[pos];
        let mut v = (b & 0x7f) as usize;
        let mut shift = 7;
        while b & 0x80 != 0 {
            pos -= 1;
            b = self.buf[pos];
            v |= ((b & 0x7f) as usize) << shift;
            shift += 7;
        }
        pos - v
    }

    fn push_back(&mut self, data: &[u8]) {
        if self.start > 0 && self.buf.len() == self.start {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.reserve(entry_size(data.len()));
        put_entry(&mut self.buf, data);
        self.count += 1;
    }

    fn push_front(&mut self, data: &[u8]) {
        let size = entry_size(data.len());
        if self.start < size {
            // Regrow with room in front: as much as the live part, so repeated LPUSHes
            // cost O(1) amortized.
            let live = self.bytes();
            let gap = size + live.max(32);
            let mut buf = Vec::with_capacity(gap + live);
            buf.resize(gap, 0);
            buf.extend_from_slice(&self.buf[self.start..]);
            self.buf = buf;
            self.start = gap;
        }
        let at = self.start - size;
        write_entry(&mut self.buf[at..self.start], data);
        self.start = at;
        self.count += 1;
    }

    fn pop_front_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let (data, next) = self.entry(self.start);
        let r = f(&self.buf[data]);
        self.start = next;
        self.count -= 1;
        r
    }

    fn pop_back_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let at = self.entry_before(self.buf.len());
        let (data, _) = self.entry(at);
        let r = f(&self.buf[data]);
        self.buf.truncate(at);
        self.count -= 1;
        r
    }

    fn iter(&self) -> ChunkIter<'_> {
        ChunkIter {
            chunk: self,
            front: self.start,
            back: self.buf.len(),
        }
    }

    /// The byte position of entry `i`, walking from the nearer end.
    fn pos_of(&self, i: usize) -> usize {
        if i <= self.count / 2 {
            let mut pos = self.start;
            for _ in 0..i {
                pos = self.entry(pos).1;
            }
            pos
        } else {
            let mut pos = self.buf.len();
            for _ in 0..self.count - i {
                pos = self.entry_before(pos);
            }
            pos
        }
    }

    /// A chunk of `entries`.
    fn of<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Chunk {
        let mut c = Chunk::default();
        for e in entries {
            put_entry(&mut c.buf, e);
            c.count += 1;
        }
        c
    }
}

/// Entries of one chunk, from either end.
struct ChunkIter<'a> {
    chunk: &'a Chunk,
    front: usize,
    back: usize,
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (data, next) = self.chunk.entry(self.front);
        self.front = next;
        Some(&self.chunk.buf[data])
    }
}

impl DoubleEndedIterator for ChunkIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        let at = self.chunk.entry_before(self.back);
        self.back = at;
        let (data, _) = self.chunk.entry(at);
        Some(&self.chunk.buf[data])
    }
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|e| String::from_utf8_lossy(e).into_owned()))
            .finish()
    }
}

impl PartialEq for List {
    /// Same elements in the same order, however chunked.
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for List {}

impl List {
    /// An empty list.
    pub fn new() -> List {
        List::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the list has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Always `quicklist`, as Redis 7.0 reports.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    fn fits(chunk: &Chunk, add: usize, limits: &TypeLimits) -> bool {
        let (max_bytes, max_count) = limits.list_chunk();
        chunk.count < max_count && chunk.bytes() + add <= max_bytes
    }

    /// Adds `data` at one end.
    pub fn push(&mut self, end: End, data: &[u8], limits: &TypeLimits) {
        let size = entry_size(data.len());
        match end {
            End::Left => match self.chunks.front_mut() {
                Some(c) if Self::fits(c, size, limits) => c.push_front(data),
                _ => {
                    let mut c = Chunk::default();
                    c.push_front(data);
                    self.chunks.push_front(c);
                }
            },
            End::Right => match self.chunks.back_mut() {
                Some(c) if Self::fits(c, size, limits) => c.push_back(data),
                _ => {
                    let mut c = Chunk::default();
                    c.buf.reserve(size.max(64));
                    c.push_back(data);
                    self.chunks.push_back(c);
                }
            },
        }
        self.len += 1;
    }

    /// Removes and returns the element at one end.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        self.pop_with(end, <[u8]>::to_vec)
    }

    /// Removes the element at one end, handing it to `f` first: RPOP writes its reply
    /// straight from the chunk, with no copy of the element.
    pub fn pop_with<R>(&mut self, end: End, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let r = match end {
            End::Left => {
                let c = self.chunks.front_mut()?;
                let r = c.pop_front_with(f);
                if c.count == 0 {
                    self.chunks.pop_front();
                }
                r
            }
            End::Right => {
                let c = self.chunks.back_mut()?;
                let r = c.pop_back_with(f);
                if c.count == 0 {
                    self.chunks.pop_back();
                }
                r
            }
        };
        self.len -= 1;
        Some(r)
    }

    /// The elements from head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.chunks.iter().flat_map(Chunk::iter)
    }

    /// The chunk holding element `index` (< len) and the index within it.
    fn locate(&self, index: usize) -> (usize, usize) {
        if index < self.len / 2 {
            let mut i = index;
            for (ci, c) in self.chunks.iter().enumerate() {
                if i < c.count {
                    return (ci, i);
                }
                i -= c.count;
            }
        } else {
            let mut from_end = self.len - index;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                if from_end <= c.count {
                    return (ci, c.count - from_end);
                }
                from_end -= c.count;
            }
        }
        unreachable!("index {index} within a list of {}", self.len)
    }

    /// Resolves a Redis index (negative counts from the tail) to a position.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if index < 0 { index + len } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The element at `index` (0-based from the head).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if index >= self.len {
            return None;
        }
        let (ci, i) = self.locate(index);
        let c = &self.chunks[ci];
        let (data, _) = c.entry(c.pos_of(i));
        Some(&c.buf[data])
    }

    /// Elements `start..start + n` (positions within the list), head to tail.
    pub fn range(&self, start: usize, n: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (ci, i) = if start < self.len {
            self.locate(start)
        } else {
            (self.chunks.len(), 0)
        };
        let first = self.chunks.get(ci).map(|c| {
            let pos = c.pos_of(i);
            ChunkIter {
                chunk: c,
                front: pos,
                back: c.buf.len(),
            }
        });
        first
            .into_iter()
            .flatten()
            .chain(self.chunks.iter().skip(ci + 1).flat_map(Chunk::iter))
            .take(n)
    }

    /// Replaces the element at `index`.
    pub fn set(&mut self, index: usize, data: &[u8], limits: &TypeLimits) {
        let (ci, i) = self.locate(index);
        let c = &mut self.chunks[ci];
        let pos = c.pos_of(i);
        let (_, next) = c.entry(pos);
        let mut entry = Vec::with_capacity(entry_size(data.len()));
        put_entry(&mut entry, data);
        c.buf.splice(pos..next, entry);
        self.split_if_big(ci, limits);
    }

    /// Inserts `data` before or after the first element equal to `pivot`; false if there is
    /// none.
    pub fn insert(&mut self, pivot: &[u8], after: bool, data: &[u8], limits: &TypeLimits) -> bool {
        for ci in 0..self.chunks.len() {
            let c = &mut self.chunks[ci];
            let mut pos = c.start;
            while pos < c.buf.len() {
                let (range, next) = c.entry(pos);
                if &c.buf[range] == pivot {
                    let at = if after { next } else { pos };
                    let mut entry = Vec::with_capacity(entry_size(data.len()));
                    put_entry(&mut entry, data);
                    c.buf.splice(at..at, entry);
                    c.count += 1;
                    self.len += 1;
                    self.split_if_big(ci, limits);
                    return true;
                }
                pos = next;
            }
        }
        false
    }

    /// Splits chunk `ci` in two while it is over twice the size limit (after edits in the
    /// middle), keeping chunks bounded.
    fn split_if_big(&mut self, ci: usize, limits: &TypeLimits) {
        let (max_bytes, max_count) = limits.list_chunk();
        let c = &self.chunks[ci];
        let over = c.count > 1
            && (c.bytes() > max_bytes.saturating_mul(2) || c.count > max_count.saturating_mul(2));
        if !over {
            return;
        }
        let half = c.count / 2;
        let left = Chunk::of(c.iter().take(half));
        let right = Chunk::of(c.iter().skip(half));
        self.chunks[ci] = right;
        self.chunks.insert(ci, left);
    }

    /// Removes up to `count` elements equal to `value` (all if 0), from the tail when
    /// `from_tail`; returns how many went.
    pub fn remove(&mut self, value: &[u8], count: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let order: Vec<usize> = if from_tail {
            (0..self.chunks.len()).rev().collect()
        } else {
            (0..self.chunks.len()).collect()
        };
        for ci in order {
            if count != 0 && removed == count {
                break;
            }
            let c = &self.chunks[ci];
            let hits = c.iter().filter(|e| *e == value).count();
            if hits == 0 {
                continue;
            }
            let allowed = if count == 0 {
                hits
            } else {
                hits.min(count - removed)
            };
            // Which occurrences go: the first `allowed` in the direction of travel.
            let skip_first = if from_tail { hits - allowed } else { 0 };
            let mut seen = 0;
            let kept = Chunk::of(c.iter().filter(|e| {
                if *e != value {
                    return true;
                }
                let k = seen;
                seen += 1;
                !(k >= skip_first && k < skip_first + allowed)
            }));
            removed += allowed;
            self.chunks[ci] = kept;
        }
        self.chunks.retain(|c| c.count > 0);
        self.len -= removed;
        removed
    }

    /// Keeps only the positions `start..=end` (already within bounds), or nothing if
    /// `keep` is false.
    pub fn trim(&mut self, start: usize, end: usize, keep: bool) {
        if !keep {
            self.chunks.clear();
            self.len = 0;
            return;
        }
        self.drop_back(self.len - 1 - end);
        self.drop_front(start);
    }

    fn drop_front(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let c = self.chunks.front_mut().expect("n within len");
            if n >= c.count {
                n -= c.count;
                self.chunks.pop_front();
            } else {
                let pos = c.pos_of(n);
                c.start = pos;
                c.count -= n;
                n = 0;
            }
        }
    }

    fn drop_back(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let c = self.chunks.back_mut().expect("n within len");
            if n >= c.count {
                n -= c.count;
                self.chunks.pop_back();
            } else {
                let pos = c.pos_of(c.count - n);
                c.buf.truncate(pos);
                c.count -= n;
                n = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn elements_of_every_length_class_survive_both_ends() {
        // Lengths where the length prefix and the back-length take 1, 2 and 3 bytes.
        let lens = [
            0, 1, 125, 126, 127, 128, 129, 16_380, 16_383, 16_384, 20_000,
        ];
        let limits = TypeLimits::default();
        let mut l = List::new();
        let mut want = std::collections::VecDeque::new();
        for (i, &n) in lens.iter().enumerate() {
            let e = vec![b'a' + (i as u8); n];
            if i % 2 == 0 {
                l.push(End::Left, &e, &limits);
                want.push_front(e);
            } else {
                l.push(End::Right, &e, &limits);
                want.push_back(e);
            }
        }
        assert_eq!(model(&l), want.iter().cloned().collect::<Vec<_>>());
        let backwards: Vec<Vec<u8>> = l.iter().rev().map(<[u8]>::to_vec).collect();
        assert_eq!(backwards, want.iter().rev().cloned().collect::<Vec<_>>());
        while let Some(e) = l.pop(End::Left) {
            assert_eq!(Some(e), want.pop_front());
        }
        assert!(want.is_empty());
    }

    #[test]
    fn behaves_like_a_vecdeque() {
        let limits = TypeLimits {
            list_max_listpack_size: 3,
            ..TypeLimits::default()
        };
        let mut l = List::new();
        let mut m: VecDeque<Vec<u8>> = VecDeque::new();
        let mut seed = 7u64;
        for step in 0..4000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (seed >> 33) as usize;
            let v = format!("v{}{}", r % 13, "x".repeat(r % 7 * (r % 50))).into_bytes();
            match r % 11 {
                0..=2 => {
                    l.push(End::Left, &v, &limits);
                    m.push_front(v);
                }
                3..=5 => {
                    l.push(End::Right, &v, &limits);
                    m.push_back(v);
                }
                6 => assert_eq!(l.pop(End::Left), m.pop_front()),
                7 => assert_eq!(l.pop(End::Right), m.pop_back()),
                8 if !m.is_empty() => {
                    let i = r % m.len();
                    l.set(i, &v, &limits);
                    m[i] = v;
                }
                9 if !m.is_empty() => {
                    let pivot = m[r % m.len()].clone();
                    let at = m.iter().position(|e| *e == pivot).unwrap();
                    let after = r % 2 == 0;
                    assert!(l.insert(&pivot, after, &v, &limits));
                    m.insert(at + usize::from(after), v);
                }
                10 => {
                    let target = format!("v{}", r % 13).into_bytes();
                    let n = l.remove(&target, r % 3, r % 2 == 0);
                    let before = m.len();
                    if r % 2 == 0 {
                        let mut left = if r % 3 == 0 { usize::MAX } else { r % 3 };
                        let mut kept: Vec<Vec<u8>> = Vec::new();
                        for e in m.iter().rev() {
                            if *e == target && left > 0 {
                                left -= 1;
                            } else {
                                kept.push(e.clone());
                            }
                        }
                        kept.reverse();
                        m = kept.into();
                    } else {
                        let mut left = if r % 3 == 0 { usize::MAX } else { r % 3 };
                        m.retain(|e| {
                            if *e == target && left > 0 {
                                left -= 1;
                                false
                            } else {
                                true
                            }
                        });
                    }
                    assert_eq!(n, before - m.len(), "step {step}");
                }
                _ => {}
            }
            assert_eq!(l.len(), m.len());
            if step % 50 == 0 && !m.is_empty() {
                let (a, b) = (r % m.len(), (r / 7) % m.len());
                let (s, e) = (a.min(b), a.max(b));
                let got: Vec<Vec<u8>> = l.range(s, e - s + 1).map(<[u8]>::to_vec).collect();
                let want: Vec<Vec<u8>> = m.iter().skip(s).take(e - s + 1).cloned().collect();
                assert_eq!(got, want);
                assert_eq!(l.get(e).map(<[u8]>::to_vec), m.get(e).cloned());
                let back: Vec<Vec<u8>> = l.iter().rev().map(<[u8]>::to_vec).collect();
                let mut want_back: Vec<Vec<u8>> = m.iter().cloned().collect();
                want_back.reverse();
                assert_eq!(back, want_back);
            }
            if step % 500 == 499 && m.len() > 4 {
                let (s, e) = (1, m.len() - 2);
                l.trim(s, e, true);
                m = m.iter().skip(s).take(e - s + 1).cloned().collect();
            }
        }
        assert_eq!(model(&l), m.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn big_elements_and_backlen_of_several_bytes() {
        let limits = TypeLimits::default();
        let mut l = List::new();
        let big = vec![b'z'; 20_000];
        l.push(End::Right, b"a", &limits);
        l.push(End::Right, &big, &limits);
        l.push(End::Left, &big, &limits);
        assert_eq!(l.pop(End::Right).unwrap().len(), 20_000);
        assert_eq!(l.pop(End::Right).unwrap(), b"a");
        assert_eq!(l.pop(End::Left).unwrap().len(), 20_000);
        assert!(l.is_empty() && l.pop(End::Left).is_none());
    }
}
