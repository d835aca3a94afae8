//! A packed sequence of byte strings in one buffer: the `listpack` of small hashes and
//! sorted sets.
//!
//! Each entry is its length in LEB128 then its bytes, so a small entry costs one byte more
//! than its content and the whole sequence is one allocation. Lookups scan from the start:
//! the encodings that use a pack keep it under a few hundred entries.
//!
//! The buffer grows to the exact size it needs, as Redis's listpack reallocates on every
//! insert: a keyspace of millions of small hashes would otherwise carry up to half of each
//! buffer as slack (a 140-byte pack of 10 fields sat in 256 bytes). The allocator's size
//! classes keep most of those reallocations in place.

use super::{get_varint, put_varint, varint_len};

/// Entries, back to back: `len` (LEB128) `bytes`.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Pack {
    buf: Vec<u8>,
    count: usize,
}

impl std::fmt::Debug for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|e| String::from_utf8_lossy(e).into_owned()))
            .finish()
    }
}

/// An entry's position: where it starts and the offset of the entry after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Pack {
    pub fn new() -> Pack {
        Pack::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Bytes used by the encoded entries.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// The entry at byte offset `pos` and the offset after it.
    #[inline]
    pub fn entry_at(&self, pos: usize) -> (&[u8], usize) {
        let (len, n) = get_varint(&self.buf, pos);
        let start = pos + n;
        (&self.buf[start..start + len], start + len)
    }

    pub fn iter(&self) -> PackIter<'_> {
        PackIter { pack: self, pos: 0 }
    }

    /// Entries with their spans.
    pub fn spans(&self) -> impl Iterator<Item = (Span, &[u8])> + '_ {
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= self.buf.len() {
                return None;
            }
            let (e, end) = self.entry_at(pos);
            let span = Span { start: pos, end };
            pos = end;
            Some((span, e))
        })
    }

    pub fn push(&mut self, entry: &[u8]) {
        self.buf
            .reserve_exact(varint_len(entry.len()) + entry.len());
        put_varint(&mut self.buf, entry.len());
        self.buf.extend_from_slice(entry);
        self.count += 1;
    }

    /// Appends `entries` with a single reallocation.
    pub fn push_all(&mut self, entries: &[&[u8]]) {
        self.buf
            .reserve_exact(entries.iter().map(|e| varint_len(e.len()) + e.len()).sum());
        for e in entries {
            self.push(e);
        }
    }

    /// Inserts `entries` at byte offset `at` (an entry boundary).
    pub fn insert(&mut self, at: usize, entries: &[&[u8]]) {
        let mut encoded =
            Vec::with_capacity(entries.iter().map(|e| varint_len(e.len()) + e.len()).sum());
        for e in entries {
            put_varint(&mut encoded, e.len());
            encoded.extend_from_slice(e);
        }
        // `splice` would grow the buffer by doubling.
        self.buf.reserve_exact(encoded.len());
        self.buf.splice(at..at, encoded);
        self.count += entries.len();
    }

    /// Replaces the entry at `span` with `entry`.
    pub fn replace(&mut self, span: Span, entry: &[u8]) {
        let mut encoded = Vec::with_capacity(varint_len(entry.len()) + entry.len());
        put_varint(&mut encoded, entry.len());
        encoded.extend_from_slice(entry);
        let old_len = span.end - span.start;
        self.buf
            .reserve_exact(encoded.len().saturating_sub(old_len));
        self.buf.splice(span.start..span.end, encoded);
    }

    /// Removes the `n` entries between byte offsets `start` and `end`.
    pub fn remove(&mut self, start: usize, end: usize, n: usize) {
        self.buf.drain(start..end);
        self.count -= n;
    }
}

/// Iterates over a [`Pack`]'s entries in order.
pub(crate) struct PackIter<'a> {
    pack: &'a Pack,
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.pack.buf.len() {
            return None;
        }
        let (e, end) = self.pack.entry_at(self.pos);
        self.pos = end;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_entries_in_order() {
        let mut p = Pack::new();
        p.push(b"a");
        p.push(&[b'x'; 200]);
        p.push(b"");
        assert_eq!(p.len(), 3);
        let spans: Vec<_> = p.spans().map(|(s, _)| s).collect();
        p.replace(spans[1], b"bb");
        p.insert(0, &[b"first", b"second"]);
        let got: Vec<&[u8]> = p.iter().collect();
        assert_eq!(got, vec![&b"first"[..], b"second", b"a", b"bb", b""]);
        let spans: Vec<_> = p.spans().map(|(s, _)| s).collect();
        p.remove(spans[1].start, spans[3].end, 3);
        let got: Vec<&[u8]> = p.iter().collect();
        assert_eq!(got, vec![&b"first"[..], b""]);
    }
}
