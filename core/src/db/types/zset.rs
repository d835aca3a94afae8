//! Sorted sets: distinct members ordered by score, then by member bytes.
//!
//! Two encodings, as Redis 7.0:
//! - `listpack`: members and scores alternating in one `Pack` (`pack.rs`), in order. Every operation
//!   scans it; it holds at most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes.
//! - `skiplist`: Redis's indexable skip list (every link knows how many elements it spans,
//!   so rank lookups, ranges by rank and inserts are O(log n)) plus a hash table from member
//!   to node for O(1) score lookups. Nodes live in an arena and link by index; members are
//!   stored once, in the nodes, and the table holds node indices.
//!
//! The range searches (`first_in_*` / `last_in_*`) follow Redis's for each encoding step by
//! step, so even lexicographic ranges over members of mixed scores (where Redis's results
//! depend on the walk) give Redis's answers on `listpack` sets.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::hash::BuildHasher;

use super::pack::Pack;
use super::TypeLimits;
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
                sl.insert(s, m.into());
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
                sl.insert(score, member.into());
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
                sl.insert(read_score(s), m.into());
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
        if range.is_empty() || self.is_empty() {
            return None;
        }
        match &self.0 {
            Enc::Pack(_) => {
                let (last, first) = (self.get(self.len() - 1)?.1, self.get(0)?.1);
                if !range.gte_min(last) || !range.lte_max(first) {
                    return None;
                }
                for (i, (_, s)) in self.iter(0, false).enumerate() {
                    if range.gte_min(s) {
                        return range.lte_max(s).then_some(i);
                    }
                }
                None
            }
            Enc::Skip(sl) => sl.first_in_range(|_, s| range.gte_min(s), |_, s| range.lte_max(s)),
        }
    }

    /// Rank of the last member in `range`.
    pub fn last_in_score_range(&self, range: &ScoreRange) -> Option<usize> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        match &self.0 {
            Enc::Pack(_) => {
                let (last, first) = (self.get(self.len() - 1)?.1, self.get(0)?.1);
                if !range.gte_min(last) || !range.lte_max(first) {
                    return None;
                }
                let n = self.len();
                for (i, (_, s)) in self.iter(n - 1, true).enumerate() {
                    if range.lte_max(s) {
                        return range.gte_min(s).then_some(n - 1 - i);
                    }
                }
                None
            }
            Enc::Skip(sl) => sl.last_in_range(|_, s| range.gte_min(s), |_, s| range.lte_max(s)),
        }
    }

    /// Rank of the first member in the lexicographic `range`.
    pub fn first_in_lex_range(&self, range: &LexRange) -> Option<usize> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        match &self.0 {
            Enc::Pack(_) => {
                let (last, first) = (self.get(self.len() - 1)?.0, self.get(0)?.0);
                if !range.gte_min(last) || !range.lte_max(first) {
                    return None;
                }
                for (i, (m, _)) in self.iter(0, false).enumerate() {
                    if range.gte_min(m) {
                        return range.lte_max(m).then_some(i);
                    }
                }
                None
            }
            Enc::Skip(sl) => sl.first_in_range(|m, _| range.gte_min(m), |m, _| range.lte_max(m)),
        }
    }

    /// Rank of the last member in the lexicographic `range`.
    pub fn last_in_lex_range(&self, range: &LexRange) -> Option<usize> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        match &self.0 {
            Enc::Pack(_) => {
                let (last, first) = (self.get(self.len() - 1)?.0, self.get(0)?.0);
                if !range.gte_min(last) || !range.lte_max(first) {
                    return None;
                }
                let n = self.len();
                for (i, (m, _)) in self.iter(n - 1, true).enumerate() {
                    if range.lte_max(m) {
                        return range.gte_min(m).then_some(n - 1 - i);
                    }
                }
                None
            }
            Enc::Skip(sl) => sl.last_in_range(|m, _| range.gte_min(m), |m, _| range.lte_max(m)),
        }
    }

    /// Where ZREMRANGEBYLEX starts: as [`ZSet::first_in_lex_range`] on a `listpack`; on a
    /// `skiplist`, Redis's `zslDeleteRangeByLex` walk, which skips the emptiness checks (it
    /// differs only when members of different scores are out of lexicographic order).
    pub fn lex_delete_start(&self, range: &LexRange) -> Option<usize> {
        match &self.0 {
            Enc::Pack(_) => self.first_in_lex_range(range),
            Enc::Skip(sl) => sl.walk_to(|m, _| range.gte_min(m)),
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
const HEAD: u32 = 0;

#[derive(Clone, Copy)]
struct Level {
    forward: u32,
    span: u32,
}

#[derive(Clone)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    backward: u32,
    levels: Box<[Level]>,
}

/// Redis's `zskiplist` plus its `dict`, over an arena of nodes linked by index.
#[derive(Clone)]
struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
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
        let head = Node {
            member: Box::default(),
            score: 0.0,
            backward: NIL,
            levels: vec![
                Level {
                    forward: NIL,
                    span: 0
                };
                MAX_LEVEL
            ]
            .into_boxed_slice(),
        };
        SkipList {
            nodes: vec![head],
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
            // xorshift64*: the level only shapes performance, never results.
            self.rng ^= self.rng >> 12;
            self.rng ^= self.rng << 25;
            self.rng ^= self.rng >> 27;
            let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 48;
            if r < 0x4000 && level < MAX_LEVEL {
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

    /// True if node `x` comes before `(score, member)`.
    #[inline]
    fn before(&self, x: u32, score: f64, member: &[u8]) -> bool {
        let n = &self.nodes[x as usize];
        n.score < score || (n.score == score && *n.member < *member)
    }

    fn first(&self) -> u32 {
        self.nodes[HEAD as usize].levels[0].forward
    }

    fn fwd(&self, x: u32, i: usize) -> u32 {
        self.nodes[x as usize].levels[i].forward
    }

    fn span(&self, x: u32, i: usize) -> u32 {
        self.nodes[x as usize].levels[i].span
    }

    fn level_mut(&mut self, x: u32, i: usize) -> &mut Level {
        &mut self.nodes[x as usize].levels[i]
    }

    fn alloc(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// `zslInsert` plus the dict entry. The member must not be present.
    fn insert(&mut self, score: f64, member: Box<[u8]>) -> u32 {
        let hash = self.hash(&member);
        let x = self.insert_node(score, member);
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        self.dict
            .insert_unique(hash, x, |&i| hasher.hash_one(&*nodes[i as usize].member));
        if let Some(index) = &mut self.scan_index {
            index.insert(hash);
        }
        x
    }

    fn insert_node(&mut self, score: f64, member: Box<[u8]>) -> u32 {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let f = self.fwd(x, i);
                if f != NIL && self.before(f, score, &member) {
                    rank[i] += self.span(x, i);
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.level_mut(HEAD, i).span = self.len as u32;
            }
            self.level = level;
        }
        let node = Node {
            member,
            score,
            backward: NIL,
            levels: vec![
                Level {
                    forward: NIL,
                    span: 0
                };
                level
            ]
            .into_boxed_slice(),
        };
        let x = self.alloc(node);
        for i in 0..level {
            let u = update[i];
            let ufwd = self.fwd(u, i);
            let uspan = self.span(u, i);
            *self.level_mut(x, i) = Level {
                forward: ufwd,
                span: uspan - (rank[0] - rank[i]),
            };
            *self.level_mut(u, i) = Level {
                forward: x,
                span: (rank[0] - rank[i]) + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.level_mut(u, i).span += 1;
        }
        self.nodes[x as usize].backward = if update[0] == HEAD { NIL } else { update[0] };
        let next = self.fwd(x, 0);
        if next != NIL {
            self.nodes[next as usize].backward = x;
        } else {
            self.tail = x;
        }
        self.len += 1;
        x
    }

    /// `zslDeleteNode`: unlinks `x` given the update path.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if self.fwd(u, i) == x {
                let span = self.span(u, i) + self.span(x, i) - 1;
                let fwd = self.fwd(x, i);
                *self.level_mut(u, i) = Level { forward: fwd, span };
            } else {
                self.level_mut(u, i).span -= 1;
            }
        }
        let next = self.fwd(x, 0);
        let back = self.nodes[x as usize].backward;
        if next != NIL {
            self.nodes[next as usize].backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    fn path_to(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], u32) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && self.before(f, score, member) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        (update, self.fwd(x, 0))
    }

    /// Frees node `x` (already unlinked) and returns its member.
    fn release(&mut self, x: u32) -> Box<[u8]> {
        let member = std::mem::take(&mut self.nodes[x as usize].member);
        self.nodes[x as usize].levels = Box::default();
        self.free.push(x);
        member
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

    /// `zslDelete` plus the dict entry.
    fn delete(&mut self, score: f64, member: &[u8]) -> bool {
        let (update, x) = self.path_to(score, member);
        if x == NIL
            || self.nodes[x as usize].score != score
            || *self.nodes[x as usize].member != *member
        {
            return false;
        }
        self.dict_remove(member);
        self.unlink(x, &update);
        self.release(x);
        true
    }

    /// `zslUpdateScore`: in place when the order does not change, else delete and insert.
    fn update_score(&mut self, current: f64, member: &[u8], score: f64) {
        let (update, x) = self.path_to(current, member);
        let back = self.nodes[x as usize].backward;
        let next = self.fwd(x, 0);
        if (back == NIL || self.nodes[back as usize].score < score)
            && (next == NIL || self.nodes[next as usize].score > score)
        {
            self.nodes[x as usize].score = score;
            return;
        }
        self.unlink(x, &update);
        let m = self.release(x);
        let hash = self.hash(&m);
        let y = self.insert_node(score, m);
        if y != x {
            if let Some(slot) = self.dict.find_mut(hash, |&i| i == x) {
                *slot = y;
            }
        }
    }

    /// `zslGetRank`: the 1-based rank of a present element.
    fn rank(&self, score: f64, member: &[u8]) -> usize {
        let mut rank = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = &self.nodes[f as usize];
                if n.score < score || (n.score == score && *n.member <= *member) {
                    rank += self.span(x, i) as usize;
                    x = f;
                } else {
                    break;
                }
            }
            if x != HEAD && *self.nodes[x as usize].member == *member {
                return rank;
            }
        }
        0
    }

    /// `zslGetElementByRank` (1-based).
    fn by_rank(&self, rank: usize) -> u32 {
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && traversed + self.span(x, i) as usize <= rank {
                    traversed += self.span(x, i) as usize;
                    x = f;
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
        let n = &self.nodes[x as usize];
        self.rank(n.score, &n.member) - 1
    }

    /// `zslFirstInRange` / `zslFirstInLexRange`, generic over the bound tests; returns the
    /// 0-based rank.
    fn first_in_range(
        &self,
        gte_min: impl Fn(&[u8], f64) -> bool,
        lte_max: impl Fn(&[u8], f64) -> bool,
    ) -> Option<usize> {
        let tail = &self.nodes[self.tail as usize];
        let first = &self.nodes[self.first() as usize];
        if !gte_min(&tail.member, tail.score) || !lte_max(&first.member, first.score) {
            return None;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL
                    && !gte_min(&self.nodes[f as usize].member, self.nodes[f as usize].score)
                {
                    x = f;
                } else {
                    break;
                }
            }
        }
        let x = self.fwd(x, 0);
        let n = &self.nodes[x as usize];
        lte_max(&n.member, n.score).then(|| self.node_rank(x))
    }

    /// The rank of the node a walk stops before: forward while `gte_min` fails, at every
    /// level from the top, then one step (the start of `zslDeleteRangeBy*`).
    fn walk_to(&self, gte_min: impl Fn(&[u8], f64) -> bool) -> Option<usize> {
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL
                    && !gte_min(&self.nodes[f as usize].member, self.nodes[f as usize].score)
                {
                    x = f;
                } else {
                    break;
                }
            }
        }
        let x = self.fwd(x, 0);
        (x != NIL).then(|| self.node_rank(x))
    }

    /// `zslLastInRange` / `zslLastInLexRange`.
    fn last_in_range(
        &self,
        gte_min: impl Fn(&[u8], f64) -> bool,
        lte_max: impl Fn(&[u8], f64) -> bool,
    ) -> Option<usize> {
        let tail = &self.nodes[self.tail as usize];
        let first = &self.nodes[self.first() as usize];
        if !gte_min(&tail.member, tail.score) || !lte_max(&first.member, first.score) {
            return None;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && lte_max(&self.nodes[f as usize].member, self.nodes[f as usize].score)
                {
                    x = f;
                } else {
                    break;
                }
            }
        }
        let n = &self.nodes[x as usize];
        (x != HEAD && gte_min(&n.member, n.score)).then(|| self.node_rank(x))
    }

    /// `zslDeleteRangeByRank` (1-based, inclusive), with the dict entries.
    fn delete_rank_range(&mut self, start: usize, end: usize) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && traversed + (self.span(x, i) as usize) < start {
                    traversed += self.span(x, i) as usize;
                    x = f;
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
            let member = self.nodes[x as usize].member.clone();
            self.dict_remove(&member);
            self.unlink(x, &update);
            self.release(x);
            traversed += 1;
            x = next;
        }
    }

    fn iter_from(&self, start: u32, rev: bool) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let mut x = start;
        std::iter::from_fn(move || {
            if x == NIL || x == HEAD {
                return None;
            }
            let n = &self.nodes[x as usize];
            x = if rev { n.backward } else { n.levels[0].forward };
            Some((&*n.member, n.score))
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
