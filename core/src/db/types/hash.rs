//! Hashes: field → value maps.

use super::pack::{Pack, Span};
use super::{Table, TypeLimits};
use crate::db::Rng;

type Pair = (Box<[u8]>, Box<[u8]>);

/// A hash: `listpack` (fields and values alternating in one buffer, in insertion order)
/// while it has at most `hash-max-listpack-entries` fields and no field or value longer
/// than `hash-max-listpack-value` bytes, then `hashtable`.
#[derive(Clone)]
pub struct Hash(Enc);

#[derive(Clone)]
enum Enc {
    Pack(Pack),
    /// Boxed so that the compact encoding, which most hashes keep, stays 32 bytes.
    Table(Box<Table<Pair>>),
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

impl PartialEq for Hash {
    /// Same fields and values, whatever the encodings.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Eq for Hash {}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

impl Hash {
    /// An empty hash in the compact encoding.
    pub fn new() -> Hash {
        Hash(Enc::Pack(Pack::new()))
    }

    /// A hash of `pairs` (later duplicates replace earlier ones), encoded as `limits` say.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        limits: &TypeLimits,
    ) -> Hash {
        let mut h = Hash::new();
        for (f, v) in pairs {
            h.set(f, v, limits);
        }
        h
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.0 {
            Enc::Pack(p) => p.len() / 2,
            Enc::Table(t) => t.len(),
        }
    }

    /// True if the hash has no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `listpack` or `hashtable`.
    pub fn encoding_name(&self) -> &'static str {
        match &self.0 {
            Enc::Pack(_) => "listpack",
            Enc::Table(_) => "hashtable",
        }
    }

    /// True in the compact encoding.
    pub fn is_compact(&self) -> bool {
        matches!(self.0, Enc::Pack(_))
    }

    fn find_in_pack(p: &Pack, field: &[u8]) -> Option<(Span, Span)> {
        let mut spans = p.spans();
        while let (Some((fs, f)), Some((vs, _))) = (spans.next(), spans.next()) {
            if f == field {
                return Some((fs, vs));
            }
        }
        None
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.0 {
            Enc::Pack(p) => Self::find_in_pack(p, field).map(|(_, vs)| p.entry_at(vs.start).0),
            Enc::Table(t) => t.get(field).map(|(_, v)| &**v),
        }
    }

    /// True if `field` is present.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Converts to `hashtable` if an argument of `len` bytes would not fit the compact
    /// encoding (Redis checks the arguments before it writes: `hashTypeTryConversion`).
    pub fn fit_argument(&mut self, len: usize, limits: &TypeLimits) {
        if self.is_compact() && len > limits.hash_max_listpack_value {
            self.convert();
        }
    }

    /// Sets `field` to `value`; true if the field is new. Converts to `hashtable` past the
    /// limits.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &TypeLimits) -> bool {
        self.fit_argument(field.len().max(value.len()), limits);
        match &mut self.0 {
            Enc::Pack(p) => {
                if let Some((_, vs)) = Self::find_in_pack(p, field) {
                    p.replace(vs, value);
                    return false;
                }
                p.push_all(&[field, value]);
                if p.len() / 2 > limits.hash_max_listpack_entries {
                    self.convert();
                }
                true
            }
            Enc::Table(t) => match t.get_mut(field) {
                Some(slot) => {
                    slot.1 = value.into();
                    false
                }
                None => {
                    t.insert_new((field.into(), value.into()));
                    true
                }
            },
        }
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.0 {
            Enc::Pack(p) => match Self::find_in_pack(p, field) {
                Some((fs, vs)) => {
                    p.remove(fs.start, vs.end, 2);
                    true
                }
                None => false,
            },
            Enc::Table(t) => t.remove(field).is_some(),
        }
    }

    fn convert(&mut self) {
        if let Enc::Pack(p) = &self.0 {
            let mut t: Table<Pair> = Table::with_capacity(p.len() / 2);
            let mut it = p.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                if let Some(slot) = t.get_mut(f) {
                    slot.1 = v.into();
                } else {
                    t.insert_new((f.into(), v.into()));
                }
            }
            self.0 = Enc::Table(Box::new(t));
        }
    }

    /// Fields and values, in the encoding's order (insertion order for `listpack`).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.0 {
            Enc::Pack(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            Enc::Table(t) => Box::new(t.iter().map(|(f, v)| (&**f, &**v))),
        }
    }

    /// A random field and its value.
    pub fn random(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        match &self.0 {
            Enc::Pack(_) => {
                let n = self.len();
                if n == 0 {
                    return None;
                }
                self.iter().nth(rng.below(n))
            }
            Enc::Table(t) => t.random(rng).map(|(f, v)| (&**f, &**v)),
        }
    }

    /// One HSCAN step (see `Table::scan` in `types/mod.rs`): a compact hash returns everything at
    /// once with cursor 0, as Redis does.
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match &mut self.0 {
            Enc::Pack(_) => {
                for (k, v) in self.iter() {
                    f(k, v);
                }
                0
            }
            Enc::Table(t) => t.scan(cursor, count, |(k, v)| f(k, v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_at_the_limits_and_keeps_content() {
        let limits = TypeLimits::default();
        let mut h = Hash::new();
        for i in 0..512 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", &limits));
        }
        assert_eq!(h.encoding_name(), "listpack");
        assert!(!h.set(b"f0", b"new", &limits));
        assert_eq!(h.get(b"f0"), Some(&b"new"[..]));
        let copy = h.clone();
        assert!(h.set(b"f512", b"v", &limits));
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 513);
        assert!(h.remove(b"f512"));
        assert_eq!(h, copy);
        let mut long = Hash::new();
        long.set(b"f", &[b'x'; 65], &limits);
        assert_eq!(long.encoding_name(), "hashtable");
        assert!(long.remove(b"f") && long.is_empty());
    }
}
