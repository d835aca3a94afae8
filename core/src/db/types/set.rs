//! Sets: unordered collections of distinct byte strings.

use super::{Table, TypeLimits};
use crate::db::Rng;
use crate::num::parse_i64;

/// A set: `intset` (sorted 64-bit integers, for members that are all canonical integers,
/// up to `set-max-intset-entries`) or `hashtable`. Redis 7.0 has no listpack sets.
///
/// The intset keeps `i64`s whatever their size (Redis packs them in 16, 32 or 64 bits):
/// simpler, and at most 4 KiB per set at the default limit.
#[derive(Clone)]
pub struct Set(Enc);

#[derive(Clone)]
enum Enc {
    Ints(Vec<i64>),
    Table(Table<Box<[u8]>>),
}

/// A member as the set holds it: an integer of an `intset`, or bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member<'a> {
    /// An `intset` member.
    Int(i64),
    /// A `hashtable` member.
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes, copied.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Member::Int(n) => itoa::Buffer::new().format(*n).as_bytes().to_vec(),
            Member::Bytes(b) => b.to_vec(),
        }
    }

    /// Calls `f` with the member's bytes, formatting an integer on the stack.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            Member::Bytes(b) => f(b),
        }
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(
                self.iter()
                    .map(|m| String::from_utf8_lossy(&m.to_vec()).into_owned()),
            )
            .finish()
    }
}

impl PartialEq for Set {
    /// Same members, whatever the encodings.
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(m))
    }
}

impl Eq for Set {}

impl Set {
    /// An empty set in the encoding Redis picks for a first member `first`: `intset` if it
    /// is an integer (`setTypeCreate`).
    pub fn for_member(first: &[u8]) -> Set {
        if parse_i64(first).is_some() {
            Set::new_intset()
        } else {
            Set(Enc::Table(Table::with_capacity(0)))
        }
    }

    /// An empty `intset` (the start of SUNIONSTORE and friends' results).
    pub fn new_intset() -> Set {
        Set(Enc::Ints(Vec::new()))
    }

    /// A set of `members`, encoded as `limits` say.
    pub fn from_members<'a>(
        members: impl IntoIterator<Item = &'a [u8]>,
        limits: &TypeLimits,
    ) -> Set {
        let mut s = Set::new_intset();
        for m in members {
            s.add(m, limits);
        }
        s
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            Enc::Ints(v) => v.len(),
            Enc::Table(t) => t.len(),
        }
    }

    /// True if the set has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `intset` or `hashtable`.
    pub fn encoding_name(&self) -> &'static str {
        match &self.0 {
            Enc::Ints(_) => "intset",
            Enc::Table(_) => "hashtable",
        }
    }

    /// True for an `intset`.
    pub fn is_intset(&self) -> bool {
        matches!(self.0, Enc::Ints(_))
    }

    /// True if `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.0 {
            Enc::Ints(v) => parse_i64(member).is_some_and(|n| v.binary_search(&n).is_ok()),
            Enc::Table(t) => t.contains(member),
        }
    }

    /// True if `member` (from another set) is in this one.
    pub fn contains_member(&self, member: Member) -> bool {
        match (&self.0, member) {
            (Enc::Ints(v), Member::Int(n)) => v.binary_search(&n).is_ok(),
            (_, m) => m.with_bytes(|b| self.contains(b)),
        }
    }

    /// Adds `member`; true if it is new. Converts to `hashtable` for a non-integer or past
    /// `set-max-intset-entries`.
    pub fn add(&mut self, member: &[u8], limits: &TypeLimits) -> bool {
        match &mut self.0 {
            Enc::Ints(v) => match parse_i64(member) {
                Some(n) => {
                    let Err(at) = v.binary_search(&n) else {
                        return false;
                    };
                    v.insert(at, n);
                    if v.len() > limits.set_max_intset_entries {
                        self.convert();
                    }
                    true
                }
                None => {
                    self.convert();
                    self.add(member, limits)
                }
            },
            Enc::Table(t) => {
                if t.contains(member) {
                    return false;
                }
                t.insert_new(member.into());
                true
            }
        }
    }

    /// Adds a member of another set.
    pub fn add_member(&mut self, member: Member, limits: &TypeLimits) -> bool {
        member.with_bytes(|b| self.add(b, limits))
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.0 {
            Enc::Ints(v) => match parse_i64(member).map(|n| v.binary_search(&n)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
            Enc::Table(t) => t.remove(member).is_some(),
        }
    }

    fn convert(&mut self) {
        if let Enc::Ints(v) = &self.0 {
            let mut t = Table::with_capacity(v.len() + 1);
            let mut buf = itoa::Buffer::new();
            for &n in v {
                t.insert_new(buf.format(n).as_bytes().into());
            }
            self.0 = Enc::Table(t);
        }
    }

    /// The members, in the encoding's order (ascending for an `intset`).
    pub fn iter(&self) -> Box<dyn Iterator<Item = Member<'_>> + '_> {
        match &self.0 {
            Enc::Ints(v) => Box::new(v.iter().map(|&n| Member::Int(n))),
            Enc::Table(t) => Box::new(t.iter().map(|m| Member::Bytes(m))),
        }
    }

    /// A random member.
    pub fn random(&self, rng: &mut Rng) -> Option<Member<'_>> {
        match &self.0 {
            Enc::Ints(v) if v.is_empty() => None,
            Enc::Ints(v) => Some(Member::Int(v[rng.below(v.len())])),
            Enc::Table(t) => t.random(rng).map(|m| Member::Bytes(m)),
        }
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self, rng: &mut Rng) -> Option<Vec<u8>> {
        match &mut self.0 {
            Enc::Ints(v) if v.is_empty() => None,
            Enc::Ints(v) => {
                let n = v.remove(rng.below(v.len()));
                Some(itoa::Buffer::new().format(n).as_bytes().to_vec())
            }
            Enc::Table(t) => t.pop_random(rng).map(Vec::from),
        }
    }

    /// One SSCAN step (see `Table::scan` in `types/mod.rs`); an `intset` returns everything at once
    /// with cursor 0, as Redis does.
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(Member)) -> u64 {
        match &mut self.0 {
            Enc::Ints(v) => {
                v.iter().for_each(|&n| f(Member::Int(n)));
                0
            }
            Enc::Table(t) => t.scan(cursor, count, |m| f(Member::Bytes(m))),
        }
    }

    /// Releases spare capacity (after building a set to store).
    pub fn shrink_to_fit(&mut self) {
        match &mut self.0 {
            Enc::Ints(v) => v.shrink_to_fit(),
            Enc::Table(t) => t.shrink_to_fit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_until_a_string_or_the_limit() {
        let limits = TypeLimits::default();
        let mut s = Set::for_member(b"5");
        for m in ["5", "-3", "10", "5"] {
            s.add(m.as_bytes(), &limits);
        }
        assert_eq!(s.encoding_name(), "intset");
        let members: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        assert_eq!(members, vec![b"-3".to_vec(), b"5".to_vec(), b"10".to_vec()]);
        assert!(s.contains(b"10") && !s.contains(b"010"));
        assert!(s.add(b"007", &limits));
        assert_eq!(s.encoding_name(), "hashtable");
        assert!(s.contains(b"10") && s.contains(b"007"));
        let mut big = Set::new_intset();
        for i in 0..513 {
            big.add(i.to_string().as_bytes(), &limits);
        }
        assert_eq!(big.encoding_name(), "hashtable");
        assert!(big.remove(b"512") && !big.remove(b"512"));
        assert_eq!(big.len(), 512);
    }
}
