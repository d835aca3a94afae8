//! Sorted sets: distinct members ordered by score, then by member bytes.
//!
//! Two encodings, as Redis 7.0:
//! - `listpack`: members and scores alternating in one `Pack` (`pack.rs`), in order. Every operation
//!   scans it; it holds at most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes.
//! - `skiplist`: Redis's indexable skip list (every link knows how many elements it spans,
//!   so rank lookups, ranges by rank and inserts are O(log n)) plus a hash table from member
//!   to node for O(1) score lookups. Nodes live in arenas and link by index, each node's
//!   levels in one record whose links cache their target's score (see `SkipList`); members
//!   are stored once, in the nodes, and the table holds node indices.
//!
//! The range searches (`first_in_*` / `last_in_*`) follow Redis's for each encoding step by
//! step, so even lexicographic ranges over members of mixed scores (where Redis's results
//! depend on the walk) give Redis's answers on `listpack` sets.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::hash::BuildHasher;

use super::pack::Pack;
use super::TypeLimits;
use crate::db::small_bytes::SmallBytes;
use crate::db::Rng;

/// A score interval: `min`/`max` with `(` exclusivity, as ZRANGEBYSCORE takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// `(min`: exclusive.
    pub min_ex: bool,
    /// `(max`: exclusive.
    pub max_ex: bool,
}

impl ScoreRange {
    fn gte_min(&self, v: f64) -> bool {
        if self.min_ex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    fn lte_max(&self, v: f64) -> bool {
        if self.max_ex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// True if `v` is inside.
    pub fn contains(&self, v: f64) -> bool {
        self.gte_min(v) && self.lte_max(v)
    }

    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }
}

/// One end of a lexicographic range: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[m` (inclusive: false) or `(m` (exclusive: true).
    Member(Box<[u8]>, bool),
}

impl LexBound {
    /// Redis's `sdscmplex` of a member against this bound.
    fn cmp_value(&self, v: &[u8]) -> Ordering {
        match self {
            LexBound::Min => Ordering::Greater,
            LexBound::Max => Ordering::Less,
            LexBound::Member(m, _) => v.cmp(m),
        }
    }

    fn exclusive(&self) -> bool {
        match self {
            LexBound::Min | LexBound::Max => true,
            LexBound::Member(_, ex) => *ex,
        }
    }
}

/// A lexicographic interval, as ZRANGEBYLEX takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower bound.
    pub min: LexBound,
    /// Upper bound.
    pub max: LexBound,
}

impl LexRange {
    fn gte_min(&self, v: &[u8]) -> bool {
        let c = self.min.cmp_value(v);
        if self.min.exclusive() {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    fn lte_max(&self, v: &[u8]) -> bool {
        let c = self.max.cmp_value(v);
        if self.max.exclusive() {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// True if `v` is inside.
    pub fn contains(&self, v: &[u8]) -> bool {
        self.gte_min(v) && self.lte_max(v)
    }

    fn is_empty(&self) -> bool {
        let cmp = match (&self.min, &self.max) {
            (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
            (LexBound::Min, _) | (_, LexBound::Max) => Ordering::Less,
            (LexBound::Max, _) | (_, LexBound::Min) => Ordering::Greater,
            (LexBound::Member(a, _), LexBound::Member(b, _)) => a.cmp(b),
        };
        cmp == Ordering::Greater
            || (cmp == Ordering::Equal && (self.min.exclusive() || self.max.exclusive()))
    }
}

/// The order of a sorted set: by score, then by member bytes.
fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// A sorted set.
#[derive(Clone)]
pub struct ZSet(Enc);

#[derive(Clone)]
enum Enc {
    Pack(Pack),
    Skip(Box<SkipList>),
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.iter(0, false)
                    .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s)),
            )
            .finish()
    }
}

impl PartialEq for ZSet {
    /// Same members with the same scores, whatever the encodings.
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len()
            && self
                .iter(0, false)
                .zip(other.iter(0, false))
                .all(|((m1, s1), (m2, s2))| m1 == m2 && s1.to_bits() == s2.to_bits())
    }
}

impl Eq for ZSet {}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

/// A score as a listpack holds it. Redis writes it as text (`d2string`), which turns -0
/// into `0`: the only score that does not survive.
fn score_bytes(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    score.to_le_bytes()
}

fn read_score(b: &[u8]) -> f64 {
    f64::from_le_bytes(b.try_into().expect("8-byte score"))
}

impl ZSet {
    /// An empty `listpack` sorted set.
    pub fn new() -> ZSet {
        ZSet(Enc::Pack(Pack::new()))
    }

    /// An empty sorted set in the encoding Redis 7.0 picks for `size_hint` members of up to
    /// `len_hint` bytes (`zsetTypeCreate`).
    pub fn with_hints(size_hint: usize, len_hint: usize, limits: &TypeLimits) -> ZSet {
        if size_hint <= limits.zset_max_listpack_entries
            && len_hint <= limits.zset_max_listpack_value
            && limits.zset_max_listpack_entries > 0
        {
            ZSet::new()
        } else {
            ZSet(Enc::Skip(Box::new(SkipList::new())))
        }
    }

    /// An empty sorted set in the encoding ZADD picks for its first member: `skiplist` if
    /// the listpack is disabled or the member is too long for it.
    pub fn for_first_member(len: usize, limits: &TypeLimits) -> ZSet {
        if limits.zset_max_listpack_entries == 0 || len > limits.zset_max_listpack_value {
            ZSet(Enc::Skip(Box::new(SkipList::new())))
        } else {
            ZSet::new()
        }
    }

    /// A sorted set of `(member, score)` pairs, which must be distinct members, built as a
    /// `skiplist` and converted to `listpack` if small enough — how the `*STORE` commands
    /// build their results.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], f64)>,
        limits: &TypeLimits,
    ) -> ZSet {
        let mut sl = SkipList::new();
        let mut max_len = 0;
        for (m, s) in pairs {
            max_len = max_len.max(m.len());
            if sl.score(m).is_none() {
                sl.insert(s, m);
            }
        }
        let mut z = ZSet(Enc::Skip(Box::new(sl)));
        z.shrink_if_small(max_len, limits);
        z
    }

    /// Converts a `skiplist` to `listpack` when it fits (`zsetConvertToListpackIfNeeded`).
    pub fn shrink_if_small(&mut self, max_member_len: usize, limits: &TypeLimits) {
        if let Enc::Skip(sl) = &self.0 {
            if sl.len <= limits.zset_max_listpack_entries
                && max_member_len <= limits.zset_max_listpack_value
            {
                let mut p = Pack::new();
                for (m, s) in sl.iter_from(sl.first(), false) {
                    p.push(m);
                    p.push(&score_bytes(s));
                }
                self.0 = Enc::Pack(p);
            }
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            Enc::Pack(p) => p.len() / 2,
            Enc::Skip(sl) => sl.len,
        }
    }

    /// True if there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `listpack` or `skiplist`.
    pub fn encoding_name(&self) -> &'static str {
        match &self.0 {
            Enc::Pack(_) => "listpack",
            Enc::Skip(_) => "skiplist",
        }
    }

    /// True in the `listpack` encoding.
    pub fn is_compact(&self) -> bool {
        matches!(self.0, Enc::Pack(_))
    }

    /// Position (in entries) of `member` in the pack, and its score.
    fn pack_find(p: &Pack, member: &[u8]) -> Option<(usize, f64)> {
        let mut it = p.iter();
        let mut i = 0;
        while let (Some(m), Some(s)) = (it.next(), it.next()) {
            if m == member {
                return Some((i, read_score(s)));
            }
            i += 1;
        }
        None
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.0 {
            Enc::Pack(p) => Self::pack_find(p, member).map(|(_, s)| s),
            Enc::Skip(sl) => sl.score(member),
        }
    }

    /// Inserts a member that is not present, converting to `skiplist` first if it would not
    /// fit the `listpack` (as `zsetAdd` checks before inserting).
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &TypeLimits) {
        if let Enc::Pack(p) = &self.0 {
            if p.len() / 2 + 1 > limits.zset_max_listpack_entries
                || member.len() > limits.zset_max_listpack_value
            {
                self.convert();
            }
        }
        match &mut self.0 {
            Enc::Pack(p) => Self::pack_insert(p, member, score),
            Enc::Skip(sl) => {
                sl.insert(score, member);
            }
        }
    }

    fn pack_insert(p: &mut Pack, member: &[u8], score: f64) {
        let at = {
            let mut spans = p.spans();
            let mut at = p.bytes();
            while let (Some((ms, m)), Some((_, s))) = (spans.next(), spans.next()) {
                if cmp_entry(read_score(s), m, score, member) == Ordering::Greater {
                    at = ms.start;
                    break;
                }
            }
            at
        };
        p.insert(at, &[member, &score_bytes(score)]);
    }

    /// Changes the score of a present member from `current` to `score`.
    pub fn update(&mut self, member: &[u8], current: f64, score: f64) {
        match &mut self.0 {
            Enc::Pack(p) => {
                Self::pack_remove(p, member);
                Self::pack_insert(p, member, score);
            }
            Enc::Skip(sl) => sl.update_score(current, member, score),
        }
    }

    fn pack_remove(p: &mut Pack, member: &[u8]) -> Option<f64> {
        let found = {
            let mut spans = p.spans();
            let mut found = None;
            while let (Some((ms, m)), Some((ss, s))) = (spans.next(), spans.next()) {
                if m == member {
                    found = Some((ms.start, ss.end, read_score(s)));
                    break;
                }
            }
            found
        };
        let (start, end, score) = found?;
        p.remove(start, end, 2);
        Some(score)
    }

    /// Removes `member`, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.0 {
            Enc::Pack(p) => Self::pack_remove(p, member),
            Enc::Skip(sl) => {
                let score = sl.score(member)?;
                sl.delete(score, member);
                Some(score)
            }
        }
    }

    fn convert(&mut self) {
        if let Enc::Pack(p) = &self.0 {
            let mut sl = SkipList::new();
            let mut it = p.iter();
            while let (Some(m), Some(s)) = (it.next(), it.next()) {
                sl.insert(read_score(s), m);
            }
            self.0 = Enc::Skip(Box::new(sl));
        }
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.0 {
            Enc::Pack(p) => Self::pack_find(p, member).map(|(i, _)| i),
            Enc::Skip(sl) => {
                let score = sl.score(member)?;
                Some(sl.rank(score, member) - 1)
            }
        }
    }

    /// The member at 0-based rank `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.iter(rank, false).next()
    }

    /// Members with scores from rank `start` (0-based, ascending), going towards the end
    /// (`rev`: towards the start, `start` counting from the start still).
    pub fn iter(&self, start: usize, rev: bool) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match &self.0 {
            Enc::Pack(p) => {
                if start >= p.len() / 2 {
                    return Box::new(std::iter::empty());
                }
                let mut items: Vec<(&[u8], f64)> = Vec::new();
                let mut it = p.iter();
                while let (Some(m), Some(s)) = (it.next(), it.next()) {
                    items.push((m, read_score(s)));
                }
                if rev {
                    items.truncate(start + 1);
                    items.reverse();
                    Box::new(items.into_iter())
                } else {
                    Box::new(items.into_iter().skip(start))
                }
            }
            Enc::Skip(sl) => {
                if start >= sl.len {
                    return Box::new(std::iter::empty());
                }
                let node = sl.by_rank(start + 1);
                Box::new(sl.iter_from(node, rev))
            }
        }
    }

    /// Rank of the first member in `range` (`zzlFirstInRange` / `zslFirstInRange`).
    pub fn first_in_score_range(&self, range: &ScoreRange) -> Option<usize> {
        if range.is_empty() {
            return None;
        }
        self.first_in(|_, s| range.gte_min(s), |_, s| range.lte_max(s))
    }

    /// Rank of the last member in `range`.
    pub fn last_in_score_range(&self, range: &ScoreRange) -> Option<usize> {
        if range.is_empty() {
            return None;
        }
        self.last_in(|_, s| range.gte_min(s), |_, s| range.lte_max(s))
    }

    /// Rank of the first member in the lexicographic `range`.
    pub fn first_in_lex_range(&self, range: &LexRange) -> Option<usize> {
        if range.is_empty() {
            return None;
        }
        self.first_in(|m, _| range.gte_min(m), |m, _| range.lte_max(m))
    }

    /// Rank of the last member in the lexicographic `range`.
    pub fn last_in_lex_range(&self, range: &LexRange) -> Option<usize> {
        if range.is_empty() {
            return None;
        }
        self.last_in(|m, _| range.gte_min(m), |m, _| range.lte_max(m))
    }

    /// Rank of the first member past the range's lower bound (`gte_min`), if it is also
    /// within its upper bound (`lte_max`): score and lex ranges alike.
    fn first_in(
        &self,
        gte_min: impl Fn(&[u8], f64) -> bool,
        lte_max: impl Fn(&[u8], f64) -> bool,
    ) -> Option<usize> {
        if self.is_empty() {
            return None;
        }
        match &self.0 {
            Enc::Pack(_) => {
                let ((lm, ls), (fm, fs)) = (self.get(self.len() - 1)?, self.get(0)?);
                if !gte_min(lm, ls) || !lte_max(fm, fs) {
                    return None;
                }
                for (i, (m, s)) in self.iter(0, false).enumerate() {
                    if gte_min(m, s) {
                        return lte_max(m, s).then_some(i);
                    }
                }
                None
            }
            Enc::Skip(sl) => sl.first_in_range(gte_min, lte_max),
        }
    }

    /// Rank of the last member within the range's upper bound, if it is also past its
    /// lower bound.
    fn last_in(
        &self,
        gte_min: impl Fn(&[u8], f64) -> bool,
        lte_max: impl Fn(&[u8], f64) -> bool,
    ) -> Option<usize> {
        if self.is_empty() {
            return None;
        }
        match &self.0 {
            Enc::Pack(_) => {
                let ((lm, ls), (fm, fs)) = (self.get(self.len() - 1)?, self.get(0)?);
                if !gte_min(lm, ls) || !lte_max(fm, fs) {
                    return None;
                }
                let n = self.len();
                for (i, (m, s)) in self.iter(n - 1, true).enumerate() {
                    if lte_max(m, s) {
                        return gte_min(m, s).then_some(n - 1 - i);
                    }
                }
                None
            }
            Enc::Skip(sl) => sl.last_in_range(gte_min, lte_max),
        }
    }

    /// Where ZREMRANGEBYLEX starts: as [`ZSet::first_in_lex_range`] on a `listpack`; on a
    /// `skiplist`, Redis's `zslDeleteRangeByLex` walk, which skips the emptiness checks (it
    /// differs only when members of different scores are out of lexicographic order).
    pub fn lex_delete_start(&self, range: &LexRange) -> Option<usize> {
        match &self.0 {
            Enc::Pack(_) => self.first_in_lex_range(range),
            Enc::Skip(sl) => sl.walk_to_rank(|m, _| range.gte_min(m)),
        }
    }

    /// Removes the members at ranks `start..=end` (0-based, within bounds); returns them.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> Vec<(Vec<u8>, f64)> {
        let removed: Vec<(Vec<u8>, f64)> = self
            .iter(start, false)
            .take(end + 1 - start)
            .map(|(m, s)| (m.to_vec(), s))
            .collect();
        match &mut self.0 {
            Enc::Pack(p) => {
                let spans: Vec<_> = p.spans().map(|(s, _)| s).collect();
                let (from, to) = (spans[2 * start].start, spans[2 * end + 1].end);
                p.remove(from, to, 2 * (end + 1 - start));
            }
            Enc::Skip(sl) => sl.delete_rank_range(start + 1, end + 1),
        }
        removed
    }

    /// A random member (ZRANDMEMBER).
    pub fn random(&self, rng: &mut Rng) -> Option<(&[u8], f64)> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.get(rng.below(n))
    }

    /// One ZSCAN step: a `listpack` returns everything at once with cursor 0; a `skiplist`
    /// walks its member table in hash order (see `Table::scan` in `types/mod.rs`).
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &mut self.0 {
            Enc::Pack(_) => {
                for (m, s) in self.iter(0, false) {
                    f(m, s);
                }
                0
            }
            Enc::Skip(sl) => sl.scan(cursor, count, f),
        }
    }
}

// --- The skip list ------------------------------------------------------------------------

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
/// The head's record: it comes first in the link arena and has `MAX_LEVEL` links.
const HEAD: u32 = 0;

/// One slot of the link arena: a node's link at one level, or the header of its record.
#[derive(Clone, Copy)]
struct Link {
    /// The record of the next node at this level, or `NIL`. In a header: the node's index in
    /// `SkipList::nodes`.
    forward: u32,
    /// How many elements the link spans (Redis's `span`). In a header: the node's level.
    span: u32,
    /// The score of the `forward` node, so that a search decides whether to step without
    /// visiting the node it may not enter. Unused in a header.
    score: f64,
}

impl Link {
    const NONE: Link = Link {
        forward: NIL,
        span: 0,
        score: 0.0,
    };
}

/// A member's bytes: inline when short (see [`SmallBytes`]).
type Member = SmallBytes;

/// What a search needs to know of a node lives in its record of links; the rest, here.
#[derive(Clone)]
struct Node {
    member: Member,
    score: f64,
    /// The record of the previous node, or `NIL` for the first.
    backward: u32,
    /// This node's record in `SkipList::links`.
    rec: u32,
}

/// A growable array in chunks of `1 << SHIFT` elements (the last one growing up to that
/// size), so that a large skip list never reallocates one huge buffer: that would copy it,
/// hold it twice for a while, and leave the allocator a large free block whose return to
/// the OS it defers, making the resident size of a freshly loaded set depend on timing.
#[derive(Clone)]
struct Chunked<T, const SHIFT: u32> {
    chunks: Vec<Vec<T>>,
}

impl<T: Clone, const SHIFT: u32> Chunked<T, SHIFT> {
    const CHUNK: usize = 1 << SHIFT;

    fn new() -> Self {
        Chunked { chunks: Vec::new() }
    }

    /// The index the next element appended gets (unless padding intervenes).
    fn len(&self) -> usize {
        match self.chunks.last() {
            Some(last) => ((self.chunks.len() - 1) << SHIFT) + last.len(),
            None => 0,
        }
    }

    /// Appends `n` (at most a chunk's worth) copies of `fill` within one chunk, and returns
    /// the index of the first: a run that would straddle two chunks starts a new one, the
    /// last chunk being padded to its full size.
    fn extend(&mut self, n: usize, fill: T) -> usize {
        debug_assert!(n <= Self::CHUNK);
        let fits = matches!(self.chunks.last(), Some(last) if last.len() + n <= Self::CHUNK);
        if !fits {
            if let Some(last) = self.chunks.last_mut() {
                last.reserve_exact(Self::CHUNK - last.len());
                last.resize(Self::CHUNK, fill.clone());
            }
            self.chunks.push(Vec::new());
        }
        let start = self.len();
        let last = self.chunks.last_mut().expect("a chunk");
        if last.capacity() < last.len() + n {
            let want = (last.capacity() * 2)
                .max(last.len() + n)
                .clamp(4, Self::CHUNK);
            last.reserve_exact(want - last.len());
        }
        last.resize(last.len() + n, fill);
        start
    }
}

impl<T, const SHIFT: u32> std::ops::Index<usize> for Chunked<T, SHIFT> {
    type Output = T;

    #[inline]
    fn index(&self, i: usize) -> &T {
        &self.chunks[i >> SHIFT][i & ((1 << SHIFT) - 1)]
    }
}

impl<T, const SHIFT: u32> std::ops::IndexMut<usize> for Chunked<T, SHIFT> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> SHIFT][i & ((1 << SHIFT) - 1)]
    }
}

/// Redis's `zskiplist` plus its `dict`, over arenas linked by index.
///
/// The nodes a search walks through are records in one arena, `links`: a header then one
/// [`Link`] per level, back to back, and a link holds its target's score. So a step of a
/// search reads one record, as a step of Redis's (whose levels sit inside its node) reads one
/// node, and the comparison that ends a level reads nothing more. A search of a large set is
/// bound by cache misses: with each node's levels in an allocation of their own, every step
/// missed twice, and ZADD on a million members ran at 0.6 times Redis's rate. Links name
/// records, the member table names nodes; a record's header leads to its node, and the node
/// to its record. Freed records are reused by nodes of the same level.
#[derive(Clone)]
struct SkipList {
    /// 8192 links (128 KiB) a chunk.
    links: Chunked<Link, 13>,
    /// Freed records, by level - 1.
    free_recs: Vec<Vec<u32>>,
    /// 2048 nodes (80 KiB) a chunk.
    nodes: Chunked<Node, 11>,
    free: Vec<u32>,
    /// The last node's record, or `NIL`.
    tail: u32,
    level: usize,
    len: usize,
    rng: u64,
    /// Member → node index.
    dict: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::FixedState,
    scan_index: Option<BTreeSet<u64>>,
}

impl SkipList {
    fn new() -> SkipList {
        let mut links = Chunked::new();
        links.extend(1 + MAX_LEVEL, Link::NONE);
        links[HEAD as usize] = Link {
            forward: 0,
            span: MAX_LEVEL as u32,
            score: 0.0,
        };
        let mut nodes = Chunked::new();
        nodes.extend(
            1,
            Node {
                member: Member::new(b""),
                score: 0.0,
                backward: NIL,
                rec: HEAD,
            },
        );
        SkipList {
            links,
            free_recs: Vec::new(),
            nodes,
            free: Vec::new(),
            tail: NIL,
            level: 1,
            len: 0,
            rng: 0x2545_f491_4f6c_dd1d,
            dict: hashbrown::HashTable::new(),
            hasher: super::next_hasher(),
            scan_index: None,
        }
    }

    fn random_level(&mut self) -> usize {
        let mut level = 1;
        loop {
            // xorshift64*: the level only shapes performance, never results. A level rises
            // with probability 1/2, not Redis's 1/4: links cache their target's score, so a
            // search pays a cache miss for each step it takes but not for the comparison
            // that stops it at a level, and at 1/2 it takes about a third fewer steps, for
            // 0.7 more link (16 bytes) per node.
            self.rng ^= self.rng >> 12;
            self.rng ^= self.rng << 25;
            self.rng ^= self.rng >> 27;
            let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 48;
            if r < 0x8000 && level < MAX_LEVEL {
                level += 1;
            } else {
                return level;
            }
        }
    }

    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.dict
            .find(self.hash(member), |&i| *nodes[i as usize].member == *member)
            .copied()
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|i| self.nodes[i as usize].score)
    }

    /// The node of record `x`.
    #[inline]
    fn node(&self, x: u32) -> &Node {
        &self.nodes[self.links[x as usize].forward as usize]
    }

    #[inline]
    fn node_mut(&mut self, x: u32) -> &mut Node {
        let id = self.links[x as usize].forward;
        &mut self.nodes[id as usize]
    }

    /// The level of record `x`.
    fn level_of(&self, x: u32) -> usize {
        self.links[x as usize].span as usize
    }

    /// Link `i` of record `x`.
    #[inline]
    fn link(&self, x: u32, i: usize) -> &Link {
        &self.links[x as usize + 1 + i]
    }

    #[inline]
    fn link_mut(&mut self, x: u32, i: usize) -> &mut Link {
        &mut self.links[x as usize + 1 + i]
    }

    fn first(&self) -> u32 {
        self.link(HEAD, 0).forward
    }

    fn fwd(&self, x: u32, i: usize) -> u32 {
        self.link(x, i).forward
    }

    /// True if `l` leads to a node before `(score, member)`.
    #[inline]
    fn leads_before(&self, l: &Link, score: f64, member: &[u8]) -> bool {
        l.forward != NIL
            && (l.score < score || (l.score == score && *self.node(l.forward).member < *member))
    }

    /// The search of `zslInsert` and `zslDelete`: at each level, the last record before
    /// `(score, member)` and its rank.
    fn search(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.link(x, i);
                if self.leads_before(l, score, member) {
                    rank[i] += l.span;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// A record of `level` links for node `id`.
    fn alloc_rec(&mut self, id: u32, level: usize) -> u32 {
        let x = match self.free_recs.get_mut(level - 1).and_then(Vec::pop) {
            Some(x) => x,
            None => self.links.extend(1 + level, Link::NONE) as u32,
        };
        self.links[x as usize] = Link {
            forward: id,
            span: level as u32,
            score: 0.0,
        };
        self.nodes[id as usize].rec = x;
        x
    }

    fn free_rec(&mut self, x: u32) {
        let level = self.level_of(x);
        if self.free_recs.len() < level {
            self.free_recs.resize_with(level, Vec::new);
        }
        self.free_recs[level - 1].push(x);
    }

    /// `zslInsert` plus the dict entry. The member must not be present.
    fn insert(&mut self, score: f64, member: &[u8]) {
        let hash = self.hash(member);
        let node = Node {
            member: Member::new(member),
            score,
            backward: NIL,
            rec: NIL,
        };
        let id = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => self.nodes.extend(1, node) as u32,
        };
        self.link_node(id);
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        self.dict
            .insert_unique(hash, id, |&i| hasher.hash_one(&*nodes[i as usize].member));
        if let Some(index) = &mut self.scan_index {
            index.insert(hash);
        }
    }

    /// Links node `id` (with its score set) into the list, in a new record.
    fn link_node(&mut self, id: u32) {
        let n = &self.nodes[id as usize];
        let score = n.score;
        let (mut update, mut rank) = self.search(score, &n.member);
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.link_mut(HEAD, i).span = self.len as u32;
            }
            self.level = level;
        }
        let x = self.alloc_rec(id, level);
        for i in 0..level {
            let u = update[i];
            let ul = *self.link(u, i);
            *self.link_mut(x, i) = Link {
                forward: ul.forward,
                span: ul.span - (rank[0] - rank[i]),
                score: ul.score,
            };
            *self.link_mut(u, i) = Link {
                forward: x,
                span: (rank[0] - rank[i]) + 1,
                score,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.link_mut(u, i).span += 1;
        }
        self.nodes[id as usize].backward = if update[0] == HEAD { NIL } else { update[0] };
        let next = self.fwd(x, 0);
        if next != NIL {
            self.node_mut(next).backward = x;
        } else {
            self.tail = x;
        }
        self.len += 1;
    }

    /// `zslDeleteNode`: unlinks record `x` given the update path.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if self.fwd(u, i) == x {
                let xl = *self.link(x, i);
                let ul = self.link_mut(u, i);
                *ul = Link {
                    forward: xl.forward,
                    span: ul.span + xl.span - 1,
                    score: xl.score,
                };
            } else {
                self.link_mut(u, i).span -= 1;
            }
        }
        let next = self.fwd(x, 0);
        let back = self.node(x).backward;
        if next != NIL {
            self.node_mut(next).backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Frees record `x` (already unlinked) and its node.
    fn release(&mut self, x: u32) {
        let id = self.links[x as usize].forward;
        self.free_rec(x);
        self.free.push(id);
        self.nodes[id as usize].member = Member::new(b"");
    }

    fn dict_remove(&mut self, member: &[u8]) {
        let hash = self.hash(member);
        let nodes = &self.nodes;
        if let Ok(e) = self
            .dict
            .find_entry(hash, |&i| *nodes[i as usize].member == *member)
        {
            e.remove();
        }
        if let Some(index) = &mut self.scan_index {
            let (nodes, hasher) = (&self.nodes, &self.hasher);
            let shared = self
                .dict
                .find(hash, |&i| {
                    hasher.hash_one(&*nodes[i as usize].member) == hash
                })
                .is_some();
            if !shared {
                index.remove(&hash);
            }
        }
    }

    /// The record of a present `(score, member)` and the update path to it.
    fn path_to(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], u32) {
        let (update, _) = self.search(score, member);
        (update, self.fwd(update[0], 0))
    }

    /// `zslDelete` plus the dict entry.
    fn delete(&mut self, score: f64, member: &[u8]) -> bool {
        let (update, x) = self.path_to(score, member);
        if x == NIL || self.node(x).score != score || *self.node(x).member != *member {
            return false;
        }
        self.dict_remove(member);
        self.unlink(x, &update);
        self.release(x);
        true
    }

    /// `zslUpdateScore`: in place when the order does not change, else unlink and insert
    /// again (the node, and so the member table, stay as they are).
    fn update_score(&mut self, current: f64, member: &[u8], score: f64) {
        let (update, x) = self.path_to(current, member);
        let back = update[0];
        let next = *self.link(x, 0);
        if (back == HEAD || self.node(back).score < score)
            && (next.forward == NIL || next.score > score)
        {
            self.node_mut(x).score = score;
            // The links into `x` cache its score: they are the path's, below its level.
            for (i, &u) in update.iter().enumerate().take(self.level_of(x)) {
                self.link_mut(u, i).score = score;
            }
            return;
        }
        let id = self.links[x as usize].forward;
        self.unlink(x, &update);
        self.free_rec(x);
        self.nodes[id as usize].score = score;
        self.link_node(id);
    }

    /// `zslGetRank`: the 1-based rank of a present element.
    fn rank(&self, score: f64, member: &[u8]) -> usize {
        let mut rank = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.forward == NIL {
                    break;
                }
                if l.score < score || (l.score == score && *self.node(l.forward).member <= *member)
                {
                    rank += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if x != HEAD && *self.node(x).member == *member {
                return rank;
            }
        }
        0
    }

    /// `zslGetElementByRank` (1-based): the record.
    fn by_rank(&self, rank: usize) -> u32 {
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.forward != NIL && traversed + l.span as usize <= rank {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return x;
            }
        }
        NIL
    }

    fn node_rank(&self, x: u32) -> usize {
        let n = self.node(x);
        self.rank(n.score, &n.member) - 1
    }

    /// True if the bound test `t` holds for the node of record `x`.
    fn holds(&self, x: u32, t: &impl Fn(&[u8], f64) -> bool) -> bool {
        let n = self.node(x);
        t(&n.member, n.score)
    }

    /// `zslFirstInRange` / `zslFirstInLexRange`, generic over the bound tests; returns the
    /// 0-based rank.
    fn first_in_range(
        &self,
        gte_min: impl Fn(&[u8], f64) -> bool,
        lte_max: impl Fn(&[u8], f64) -> bool,
    ) -> Option<usize> {
        if !self.holds(self.tail, &gte_min) || !self.holds(self.first(), &lte_max) {
            return None;
        }
        let x = self.walk_to(gte_min)?;
        self.holds(x, &lte_max).then(|| self.node_rank(x))
    }

    /// The record a walk stops before: forward while `gte_min` fails, at every level from
    /// the top, then one step (the start of `zslDeleteRangeBy*` and `zslFirstIn*Range`).
    fn walk_to(&self, gte_min: impl Fn(&[u8], f64) -> bool) -> Option<u32> {
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && !self.holds(f, &gte_min) {
                    x = f;
                } else {
                    break;
                }
            }
        }
        let x = self.fwd(x, 0);
        (x != NIL).then_some(x)
    }

    /// The rank of the record where [`SkipList::walk_to`] stops.
    fn walk_to_rank(&self, gte_min: impl Fn(&[u8], f64) -> bool) -> Option<usize> {
        self.walk_to(gte_min).map(|x| self.node_rank(x))
    }

    /// `zslLastInRange` / `zslLastInLexRange`.
    fn last_in_range(
        &self,
        gte_min: impl Fn(&[u8], f64) -> bool,
        lte_max: impl Fn(&[u8], f64) -> bool,
    ) -> Option<usize> {
        if !self.holds(self.tail, &gte_min) || !self.holds(self.first(), &lte_max) {
            return None;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && self.holds(f, &lte_max) {
                    x = f;
                } else {
                    break;
                }
            }
        }
        (x != HEAD && self.holds(x, &gte_min)).then(|| self.node_rank(x))
    }

    /// `zslDeleteRangeByRank` (1-based, inclusive), with the dict entries.
    fn delete_rank_range(&mut self, start: usize, end: usize) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.forward != NIL && traversed + (l.span as usize) < start {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        traversed += 1;
        x = self.fwd(x, 0);
        while x != NIL && traversed <= end {
            let next = self.fwd(x, 0);
            let member = self.node(x).member.clone();
            self.dict_remove(&member);
            self.unlink(x, &update);
            self.release(x);
            traversed += 1;
            x = next;
        }
    }

    /// Panics unless every link's span and cached score, every backward link, the tail and
    /// the member table agree with the order of the nodes.
    #[cfg(test)]
    fn check(&self) {
        let mut order = vec![HEAD];
        let mut x = self.first();
        while x != NIL {
            assert_eq!(self.node(x).rec, x);
            let back = *order.last().unwrap();
            assert_eq!(self.node(x).backward, if back == HEAD { NIL } else { back });
            order.push(x);
            x = self.fwd(x, 0);
        }
        assert_eq!(order.len() - 1, self.len);
        assert_eq!(self.tail, if self.len == 0 { NIL } else { order[self.len] });
        assert_eq!(self.dict.len(), self.len);
        let rank_of: std::collections::HashMap<u32, usize> =
            order.iter().enumerate().map(|(r, &x)| (x, r)).collect();
        for (r, &x) in order.iter().enumerate() {
            let level = if x == HEAD {
                self.level
            } else {
                self.level_of(x)
            };
            for i in 0..level {
                let l = self.link(x, i);
                if l.forward == NIL {
                    continue;
                }
                assert_eq!(l.score.to_bits(), self.node(l.forward).score.to_bits());
                assert_eq!(l.span as usize, rank_of[&l.forward] - r);
            }
            if x != HEAD {
                let n = self.node(x);
                assert_eq!(self.find(&n.member), Some(self.links[x as usize].forward));
            }
        }
        for w in order[1..].windows(2) {
            let (a, b) = (self.node(w[0]), self.node(w[1]));
            assert_eq!(
                cmp_entry(a.score, &a.member, b.score, &b.member),
                Ordering::Less
            );
        }
    }

    fn iter_from(&self, start: u32, rev: bool) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let mut x = start;
        std::iter::from_fn(move || {
            if x == NIL || x == HEAD {
                return None;
            }
            let n = self.node(x);
            let item = (&*n.member, n.score);
            x = if rev { n.backward } else { self.fwd(x, 0) };
            Some(item)
        })
    }

    fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let (nodes, hasher, dict) = (&self.nodes, &self.hasher, &self.dict);
        let index = self.scan_index.get_or_insert_with(|| {
            dict.iter()
                .map(|&i| hasher.hash_one(&*nodes[i as usize].member))
                .collect()
        });
        let mut next = 0;
        for (taken, &h) in index.range(cursor..).enumerate() {
            if taken == count.max(1) {
                next = h;
                break;
            }
            for &i in dict.iter_hash(h) {
                let n = &nodes[i as usize];
                if hasher.hash_one(&*n.member) == h {
                    f(&n.member, n.score);
                }
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits_small() -> TypeLimits {
        TypeLimits {
            zset_max_listpack_entries: 0,
            ..TypeLimits::default()
        }
    }

    #[test]
    fn both_encodings_agree_with_a_sorted_model() {
        for limits in [TypeLimits::default(), limits_small()] {
            let mut z = ZSet::with_hints(1, 1, &limits);
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            let mut seed = 11u64;
            for step in 0..3000 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = (seed >> 33) as usize;
                let m = format!("m{}", r % 150).into_bytes();
                let s = ((r / 150) % 20) as f64 - 5.0;
                match r % 5 {
                    0..=2 => match z.score(&m) {
                        Some(cur) => {
                            z.update(&m, cur, s);
                            model.retain(|(_, x)| *x != m);
                            model.push((s, m));
                        }
                        None => {
                            z.insert(&m, s, &limits);
                            model.push((s, m));
                        }
                    },
                    3 => {
                        let had = model.iter().any(|(_, x)| *x == m);
                        assert_eq!(z.remove(&m).is_some(), had);
                        model.retain(|(_, x)| *x != m);
                    }
                    _ => {
                        if model.len() > 3 {
                            let a = r % (model.len() - 2);
                            model.sort_by(|x, y| cmp_entry(x.0, &x.1, y.0, &y.1));
                            z.remove_rank_range(a, a + 1);
                            model.drain(a..a + 2);
                        }
                    }
                }
                model.sort_by(|x, y| cmp_entry(x.0, &x.1, y.0, &y.1));
                assert_eq!(z.len(), model.len(), "step {step}");
                if let Enc::Skip(sl) = &z.0 {
                    sl.check();
                }
                if step % 97 == 0 {
                    let got: Vec<(f64, Vec<u8>)> =
                        z.iter(0, false).map(|(m, s)| (s, m.to_vec())).collect();
                    assert_eq!(got, model);
                    for (i, (s, m)) in model.iter().enumerate() {
                        assert_eq!(z.rank(m), Some(i));
                        assert_eq!(z.score(m), Some(*s));
                        assert_eq!(z.get(i).map(|(m, _)| m.to_vec()), Some(m.clone()));
                    }
                    let range = ScoreRange {
                        min: -1.0,
                        max: 3.0,
                        min_ex: true,
                        max_ex: false,
                    };
                    let first = model.iter().position(|(s, _)| range.contains(*s));
                    let last = model.iter().rposition(|(s, _)| range.contains(*s));
                    assert_eq!(z.first_in_score_range(&range), first);
                    assert_eq!(z.last_in_score_range(&range), last);
                    let rev: Vec<f64> = z.iter(model.len() / 2, true).map(|(_, s)| s).collect();
                    let want: Vec<f64> = model[..=model.len() / 2]
                        .iter()
                        .rev()
                        .map(|(s, _)| *s)
                        .collect();
                    if !model.is_empty() {
                        assert_eq!(rev, want);
                    }
                }
            }
            if limits.zset_max_listpack_entries == 0 {
                assert_eq!(z.encoding_name(), "skiplist");
            }
        }
    }

    #[test]
    fn chunked_runs_never_straddle_chunks() {
        let mut c: Chunked<u32, 3> = Chunked::new();
        let mut runs = Vec::new();
        for n in [3, 4, 2, 8, 1, 5, 5] {
            let at = c.extend(n, 0);
            for k in 0..n {
                c[at + k] = at as u32;
            }
            runs.push((at, n));
        }
        for (at, n) in runs {
            assert_eq!(at >> 3, (at + n - 1) >> 3, "run at {at} of {n}");
            assert!((0..n).all(|k| c[at + k] == at as u32));
        }
        assert_eq!(
            c.chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [8, 8, 8, 8, 5]
        );
    }

    #[test]
    fn a_large_skiplist_keeps_its_invariants() {
        // Enough nodes and links for several chunks of each, with moves and deletions.
        let limits = limits_small();
        let mut z = ZSet::with_hints(1, 1, &limits);
        let n = 6000;
        for i in 0..n {
            z.insert(format!("m{i}").as_bytes(), (i * 7 % 1000) as f64, &limits);
        }
        for i in (0..n).step_by(3) {
            let m = format!("m{i}");
            let cur = z.score(m.as_bytes()).unwrap();
            z.update(m.as_bytes(), cur, (i % 13) as f64);
        }
        for i in (0..n).step_by(5) {
            assert!(z.remove(format!("m{i}").as_bytes()).is_some());
        }
        for i in n..n + 1000 {
            z.insert(format!("m{i}").as_bytes(), -1.0, &limits);
        }
        z.remove_rank_range(100, 900);
        let Enc::Skip(sl) = &z.0 else {
            panic!("a skiplist")
        };
        sl.check();
        assert!(sl.links.chunks.len() > 2 && sl.nodes.chunks.len() > 2);
        let all: Vec<(f64, Vec<u8>)> = z.iter(0, false).map(|(m, s)| (s, m.to_vec())).collect();
        assert!(all
            .windows(2)
            .all(|w| cmp_entry(w[0].0, &w[0].1, w[1].0, &w[1].1) == Ordering::Less));
        for (r, (_, m)) in all.iter().enumerate().step_by(97) {
            assert_eq!(z.rank(m), Some(r));
        }
    }

    #[test]
    fn lex_ranges() {
        let limits = TypeLimits::default();
        for l in [limits, limits_small()] {
            let mut z = ZSet::with_hints(1, 1, &l);
            for m in ["a", "b", "c", "d", "e"] {
                z.insert(m.as_bytes(), 0.0, &l);
            }
            let r = LexRange {
                min: LexBound::Member(b"b".to_vec().into(), true),
                max: LexBound::Max,
            };
            assert_eq!(z.first_in_lex_range(&r), Some(2));
            assert_eq!(z.last_in_lex_range(&r), Some(4));
            let r = LexRange {
                min: LexBound::Min,
                max: LexBound::Member(b"c".to_vec().into(), false),
            };
            assert_eq!(z.first_in_lex_range(&r), Some(0));
            assert_eq!(z.last_in_lex_range(&r), Some(2));
            let empty = LexRange {
                min: LexBound::Max,
                max: LexBound::Min,
            };
            assert_eq!(z.first_in_lex_range(&empty), None);
        }
    }
}
