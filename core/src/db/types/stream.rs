//! The stream type: entries with ids `<ms>-<seq>`, in nodes of packed entries.
//!
//! Entries live in nodes, each one byte buffer, kept in a B-tree keyed by the id of the
//! node's first entry (its "master" id, as the key of Redis's radix tree). A node starts
//! with the field names of its first entry (the master fields); an entry with the same
//! fields stores only its values, and every id is stored as a delta to the master id, as
//! in Redis's listpacks. Deleting an entry (XDEL, or trimming inside a node) only flags it;
//! a node whose entries are all deleted goes away.
//!
//! A node is closed to new entries when Redis would close its listpack: when the listpack
//! Redis would hold for it plus the new entry's fields and values reach
//! `stream-node-max-bytes`, or it holds `stream-node-max-entries` entries (deleted ones
//! included). Each node keeps the byte size that listpack would have, so node boundaries —
//! what approximate trimming (`~`) removes, what XINFO counts, what an RDB file holds — are
//! the same as redis-server's for the same commands.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

/// A stream entry id: milliseconds and a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest id.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// An id.
    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The id after this one, if any (Redis's `streamIncrID`).
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The id before this one, if any (Redis's `streamDecrID`).
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    /// The 16 bytes Redis keys its radix tree with: both parts big-endian.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// The id of 16 big-endian bytes.
    pub fn from_be_bytes(b: [u8; 16]) -> StreamId {
        let (ms, seq) = b.split_at(8);
        StreamId::new(
            u64::from_be_bytes(ms.try_into().expect("8 bytes")),
            u64::from_be_bytes(seq.try_into().expect("8 bytes")),
        )
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Bit of an entry's flags: deleted.
const FLAG_DELETED: u8 = 1;
/// Bit of an entry's flags: the entry has the master fields (only values are stored).
const FLAG_SAMEFIELDS: u8 = 2;

/// The node-size settings (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// `stream-node-max-bytes` (4096; 0: no limit but the 1 GiB of a listpack).
    pub max_bytes: u64,
    /// `stream-node-max-entries` (100; 0: no limit).
    pub max_entries: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// Redis's `STREAM_LISTPACK_MAX_SIZE`: the most bytes of a listpack.
pub const LISTPACK_MAX_SIZE: u64 = 1 << 30;

/// How a trim chooses what goes (XADD and XTRIM's `MAXLEN` / `MINID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Remove the entries below this id.
    MinId(StreamId),
}

/// One node: master fields, then entries, all in `buf`.
#[derive(Clone, PartialEq, Eq)]
struct Node {
    buf: Vec<u8>,
    /// Offset of the first entry (after the master fields).
    entries_at: u32,
    master_fields: u32,
    live: u32,
    deleted: u32,
    /// The size of Redis's listpack for this node, without its header, end byte, and the
    /// live and deleted counts (which change size as they grow).
    lp_rest: u64,
}

impl Node {
    fn lp_bytes(&self) -> u64 {
        7 + self.lp_rest + lp_int_size(i64::from(self.live)) + lp_int_size(i64::from(self.deleted))
    }

    fn master_fields(&self) -> FieldIter<'_> {
        let (_, n) = get_u64(&self.buf, 0);
        FieldIter {
            buf: &self.buf,
            pos: n,
            left: self.master_fields as usize,
        }
    }

    /// The entry at `pos`: its flags, id, pairs (appended to `pairs`), and the next offset.
    fn entry_at<'a>(
        &'a self,
        master: StreamId,
        pos: usize,
        pairs: Option<&mut Vec<(&'a [u8], &'a [u8])>>,
    ) -> (u8, StreamId, usize) {
        let buf = &self.buf;
        let flags = buf[pos];
        let (ms_delta, n1) = get_u64(buf, pos + 1);
        let (seq, n2) = get_u64(buf, pos + 1 + n1);
        let mut p = pos + 1 + n1 + n2;
        let id = StreamId::new(master.ms.wrapping_add(ms_delta), seq);
        let (count, same) = if flags & FLAG_SAMEFIELDS != 0 {
            (self.master_fields as usize, true)
        } else {
            let (n, w) = get_u64(buf, p);
            p += w;
            (n as usize, false)
        };
        match pairs {
            Some(out) => {
                let mut fields = self.master_fields();
                for _ in 0..count {
                    let field = if same {
                        fields.next().expect("master fields")
                    } else {
                        let (f, next) = get_str(buf, p);
                        p = next;
                        f
                    };
                    let (v, next) = get_str(buf, p);
                    p = next;
                    out.push((field, v));
                }
            }
            None => {
                let strings = if same { count } else { count * 2 };
                for _ in 0..strings {
                    let (_, next) = get_str(buf, p);
                    p = next;
                }
            }
        }
        (flags, id, p)
    }

    /// Offsets of all entries, deleted ones included.
    fn offsets(&self, master: StreamId) -> Vec<usize> {
        let mut out = Vec::with_capacity((self.live + self.deleted) as usize);
        let mut pos = self.entries_at as usize;
        while pos < self.buf.len() {
            out.push(pos);
            pos = self.entry_at(master, pos, None).2;
        }
        out
    }

    /// The id of the node's last entry, deleted or not.
    fn last_id(&self, master: StreamId) -> Option<StreamId> {
        let last = *self.offsets(master).last()?;
        Some(self.entry_at(master, last, None).1)
    }
}

struct FieldIter<'a> {
    buf: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (s, next) = get_str(self.buf, self.pos);
        self.pos = next;
        Some(s)
    }
}

/// A pending entry of a consumer group: delivered, not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    /// Deliveries so far.
    pub delivery_count: u64,
    /// The consumer it was delivered to.
    pub consumer: Box<[u8]>,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consumer {
    /// Unix ms of its last read or claim (XINFO's `seen-time`, `idle`).
    pub seen_time: u64,
    /// The ids pending for it (each also in its group's PEL).
    pub pel: std::collections::BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// The last id delivered to the group.
    pub last_id: StreamId,
    /// How many entries the group has read (`None`: not known, Redis's -1).
    pub entries_read: Option<u64>,
    /// Pending entries, by id.
    pub pel: BTreeMap<StreamId, Nack>,
    /// Consumers, by name (in byte order, as Redis's radix tree).
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

/// A stream: its entries, the ids and counters XINFO reports, and its consumer groups.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    len: u64,
    last_id: StreamId,
    first_id: StreamId,
    max_deleted_id: StreamId,
    entries_added: u64,
    /// Consumer groups by name (in byte order).
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Stream({} entries, last {}, {} nodes)",
            self.len,
            self.last_id,
            self.nodes.len()
        )
    }
}

impl Stream {
    /// An empty stream, last id `0-0`.
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Number of (live) entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True without entries (a stream may stay in the keyspace empty).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The largest id ever added (or set by XSETID).
    pub fn last_id(&self) -> StreamId {
        self.last_id
    }

    /// The id of the first entry (`0-0` if empty), as Redis 7.0 records it.
    pub fn first_id(&self) -> StreamId {
        self.first_id
    }

    /// The largest id deleted so far (XINFO's `max-deleted-entry-id`).
    pub fn max_deleted_id(&self) -> StreamId {
        self.max_deleted_id
    }

    /// How many entries were ever added (XINFO's `entries-added`).
    pub fn entries_added(&self) -> u64 {
        self.entries_added
    }

    /// Sets what XSETID sets (the caller checked it is allowed).
    pub fn set_ids(&mut self, last: StreamId, entries_added: u64, max_deleted: StreamId) {
        self.last_id = last;
        self.entries_added = entries_added;
        self.max_deleted_id = max_deleted;
    }

    /// Number of nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes Redis's radix tree holds for these node keys (XINFO's
    /// `radix-tree-nodes`): the root, one node per key, and at each prefix where keys
    /// branch, the branching node and one node per branch.
    pub fn radix_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.to_be_bytes()).collect();
        let mut nodes: std::collections::BTreeSet<(usize, [u8; 16])> = Default::default();
        let prefix = |k: &[u8; 16], len: usize| {
            let mut p = [0u8; 16];
            p[..len].copy_from_slice(&k[..len]);
            (len, p)
        };
        nodes.insert((0, [0; 16]));
        for k in &keys {
            nodes.insert((16, *k));
        }
        for w in keys.windows(2) {
            let l = w[0].iter().zip(&w[1]).take_while(|(a, b)| a == b).count();
            // A branching prefix and both children at it; the other children of the same
            // prefix come from their own neighbours.
            nodes.insert(prefix(&w[0], l));
            nodes.insert(prefix(&w[0], l + 1));
            nodes.insert(prefix(&w[1], l + 1));
        }
        nodes.len()
    }

    /// Appends an entry with `id` (above [`Stream::last_id`], checked by the caller) and
    /// the `pairs` of field and value.
    pub fn append(&mut self, id: StreamId, pairs: &[(&[u8], &[u8])], limits: NodeLimits) {
        debug_assert!(self.len == 0 && self.nodes.is_empty() || id > self.last_id);
        let total: u64 = pairs.iter().map(|(f, v)| (f.len() + v.len()) as u64).sum();
        let max_bytes = match limits.max_bytes {
            0 => LISTPACK_MAX_SIZE,
            n => n.min(LISTPACK_MAX_SIZE),
        };
        let tail_open = self.nodes.last_key_value().is_some_and(|(_, node)| {
            node.lp_bytes() + total < max_bytes
                && (limits.max_entries == 0
                    || u64::from(node.live + node.deleted) < limits.max_entries)
        });
        if !tail_open {
            let mut buf = Vec::new();
            put_u64(&mut buf, pairs.len() as u64);
            let mut lp_rest = lp_int_size(pairs.len() as i64) + lp_int_size(0);
            for (f, _) in pairs {
                put_str(&mut buf, f);
                lp_rest += lp_str_size(f);
            }
            let entries_at = buf.len() as u32;
            self.nodes.insert(
                id,
                Node {
                    buf,
                    entries_at,
                    master_fields: pairs.len() as u32,
                    live: 0,
                    deleted: 0,
                    lp_rest,
                },
            );
        }
        let (&master, node) = self.nodes.iter_mut().next_back().expect("a tail node");
        let same = node.master_fields as usize == pairs.len()
            && node.master_fields().zip(pairs).all(|(m, (f, _))| m == *f);
        let flags = if same { FLAG_SAMEFIELDS } else { 0 };
        let ms_delta = id.ms - master.ms;
        let buf = &mut node.buf;
        buf.push(flags);
        put_u64(buf, ms_delta);
        put_u64(buf, id.seq);
        let mut lp = lp_int_size(i64::from(flags))
            + lp_int_size(ms_delta as i64)
            + lp_int_size(id.seq.wrapping_sub(master.seq) as i64);
        if !same {
            put_u64(buf, pairs.len() as u64);
            lp += lp_int_size(pairs.len() as i64);
        }
        for (f, v) in pairs {
            if !same {
                put_str(buf, f);
                lp += lp_str_size(f);
            }
            put_str(buf, v);
            lp += lp_str_size(v);
        }
        let lp_count = 3 + pairs.len() as i64 + if same { 0 } else { pairs.len() as i64 + 1 };
        lp += lp_int_size(lp_count);
        node.lp_rest += lp;
        node.live += 1;
        buf.shrink_to_fit();
        if self.len == 0 {
            self.first_id = id;
        }
        self.len += 1;
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Calls `f` with each live entry from `start` to `end` (inclusive), in order (or
    /// reversed), until `f` returns false.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(StreamId, &[(&[u8], &[u8])]) -> bool,
    ) {
        if start > end {
            return;
        }
        let mut pairs = Vec::new();
        if !rev {
            let first = self.nodes.range(..=start).next_back().map(|(k, _)| *k);
            let from = first.map_or(Bound::Included(start), Bound::Included);
            for (&master, node) in self.nodes.range((from, Bound::Included(end))) {
                let mut pos = node.entries_at as usize;
                while pos < node.buf.len() {
                    pairs.clear();
                    let (flags, id, next) = node.entry_at(master, pos, Some(&mut pairs));
                    pos = next;
                    if flags & FLAG_DELETED != 0 || id < start {
                        continue;
                    }
                    if id > end {
                        return;
                    }
                    if !f(id, &pairs) {
                        return;
                    }
                }
            }
        } else {
            for (&master, node) in self.nodes.range(..=end).rev() {
                for pos in node.offsets(master).into_iter().rev() {
                    pairs.clear();
                    let (flags, id, _) = node.entry_at(master, pos, Some(&mut pairs));
                    if flags & FLAG_DELETED != 0 || id > end {
                        continue;
                    }
                    if id < start {
                        return;
                    }
                    if !f(id, &pairs) {
                        return;
                    }
                }
            }
        }
    }

    /// The first live entry at or after `start` (or at or before, reversed).
    pub fn first_entry_id(&self, rev: bool) -> Option<StreamId> {
        let mut found = None;
        self.range(StreamId::MIN, StreamId::MAX, rev, |id, _| {
            found = Some(id);
            false
        });
        found
    }

    /// True if a live entry has `id`.
    pub fn contains(&self, id: StreamId) -> bool {
        let mut found = false;
        self.range(id, id, false, |_, _| {
            found = true;
            false
        });
        found
    }

    /// Marks the entry `id` deleted (XDEL); false if there is none.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let mut pos = node.entries_at as usize;
        while pos < node.buf.len() {
            let (flags, eid, next) = node.entry_at(master, pos, None);
            // Deleted entries keep their place and need not be in order: XSETID may
            // lower the last id below one, and a later XADD reuse it (as in Redis).
            if flags & FLAG_DELETED != 0 {
                pos = next;
                continue;
            }
            if eid == id {
                node.buf[pos] |= FLAG_DELETED;
                node.live -= 1;
                node.deleted += 1;
                if node.live == 0 {
                    self.nodes.remove(&master);
                }
                self.len -= 1;
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                if self.first_id == id {
                    self.first_id = self.first_entry_id(false).unwrap_or(StreamId::MIN);
                }
                return true;
            }
            if eid > id {
                return false;
            }
            pos = next;
        }
        false
    }

    /// Trims the stream as Redis's `streamTrim`: whole nodes from the front, then (unless
    /// `approx`) entries of the first remaining node. `limit` (0: none) caps the entries
    /// removed, counted in whole nodes. Returns how many entries went.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        loop {
            if let Trim::MaxLen(max) = how {
                if self.len <= max {
                    break;
                }
            }
            let Some((&master, node)) = self.nodes.first_key_value() else {
                break;
            };
            let entries = u64::from(node.live);
            if limit != 0 && removed + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(max) => self.len - entries >= max,
                // The node's last entry, deleted or not, as Redis's lpGetEdgeStreamID: a
                // node whose last entry was deleted stays, and may be left with no live
                // entry by the trim inside it (Redis keeps such a node too).
                Trim::MinId(min) => node.last_id(master).is_some_and(|last| last < min),
            };
            if remove_node {
                self.nodes.remove(&master);
                self.len -= entries;
                removed += entries;
                continue;
            }
            if approx {
                break;
            }
            let node = self.nodes.get_mut(&master).expect("first node");
            let mut pos = node.entries_at as usize;
            while pos < node.buf.len() {
                let (flags, id, next) = node.entry_at(master, pos, None);
                if flags & FLAG_DELETED == 0 {
                    let stop = match how {
                        Trim::MaxLen(max) => self.len <= max,
                        Trim::MinId(min) => id >= min,
                    };
                    if stop {
                        break;
                    }
                    node.buf[pos] |= FLAG_DELETED;
                    node.live -= 1;
                    node.deleted += 1;
                    self.len -= 1;
                    removed += 1;
                }
                pos = next;
            }
            break;
        }
        if removed > 0 {
            self.first_id = self.first_entry_id(false).unwrap_or(StreamId::MIN);
        }
        removed
    }

    /// Redis's `streamRangeHasTombstones` from `start` to the end.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.len == 0 || self.max_deleted_id == StreamId::MIN {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`: the read counter of `id`, if it
    /// can be known.
    pub fn estimate_entries_read(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.len == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id == StreamId::MIN || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.len);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.len + 1);
            }
        }
        None
    }

    /// A group's lag (entries not yet delivered to it), if it can be known.
    pub fn lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = g.entries_read {
            if !self.has_tombstones_from(g.last_id) {
                return Some(self.entries_added.wrapping_sub(read));
            }
        }
        self.estimate_entries_read(g.last_id)
            .map(|read| self.entries_added.wrapping_sub(read))
    }

    /// Moves `group`'s last id to `id` (an entry just delivered above it), keeping its read
    /// counter as Redis's `streamReplyWithRange` does.
    pub fn advance_group(&mut self, group: &[u8], id: StreamId) {
        let tomb = self.has_tombstones_from(id);
        let estimate = self.estimate_entries_read(id);
        let added = self.entries_added;
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        if id <= g.last_id {
            return;
        }
        match g.entries_read {
            Some(n) if !tomb => g.entries_read = Some(n + 1),
            _ if added != 0 => g.entries_read = estimate,
            _ => {}
        }
        g.last_id = id;
    }

    /// Adds a node read from an RDB file: `elems` are the elements of Redis's listpack for
    /// it (integers as decimal text). Checks its structure; `None` if it is malformed or
    /// not above the last node. The entries count into [`Stream::len`]; the ids and
    /// counters come after, from [`Stream::set_loaded`].
    pub fn load_node(&mut self, master: StreamId, elems: &[Vec<u8>]) -> Option<()> {
        // Nodes come in order, each one's live entries above the previous node's. Deleted
        // entries only lie at or above their node's master id: XSETID may lower the last
        // id below one, and later entries come after it with smaller ids (as in Redis).
        let floor = match self.nodes.last_key_value() {
            Some((&k, _)) if k >= master => return None,
            Some((&k, node)) => node
                .offsets(k)
                .into_iter()
                .map(|pos| node.entry_at(k, pos, None))
                .filter(|(flags, _, _)| flags & FLAG_DELETED == 0)
                .map(|(_, id, _)| id)
                .next_back(),
            None => None,
        };
        let int = |i: usize| crate::num::parse_i64(elems.get(i)?);
        let live = u32::try_from(int(0)?).ok()?;
        let deleted = u32::try_from(int(1)?).ok()?;
        let nmaster = usize::try_from(int(2)?).ok()?;
        let mut buf = Vec::new();
        put_u64(&mut buf, nmaster as u64);
        let mut lp_rest = lp_int_size(nmaster as i64) + lp_int_size(0);
        let fields = elems.get(3..3 + nmaster)?;
        for f in fields {
            put_str(&mut buf, f);
            lp_rest += lp_str_size(f);
        }
        if int(3 + nmaster)? != 0 {
            return None;
        }
        let entries_at = buf.len() as u32;
        let mut i = 4 + nmaster;
        let (mut seen_live, mut seen_deleted) = (0u32, 0u32);
        let mut last: Option<StreamId> = None;
        while i < elems.len() {
            let flags = u8::try_from(int(i)?).ok()?;
            if flags & !(FLAG_DELETED | FLAG_SAMEFIELDS) != 0 {
                return None;
            }
            let ms_delta = int(i + 1)?;
            let seq_delta = int(i + 2)?;
            let id = StreamId::new(
                master.ms.checked_add(u64::try_from(ms_delta).ok()?)?,
                master.seq.wrapping_add(seq_delta as u64),
            );
            let live_entry = flags & FLAG_DELETED == 0;
            if id < master || live_entry && last.or(floor).is_some_and(|l| id <= l) {
                return None;
            }
            if live_entry {
                last = Some(id);
            }
            let same = flags & FLAG_SAMEFIELDS != 0;
            let mut j = i + 3;
            let n = if same {
                nmaster
            } else {
                let n = usize::try_from(int(j)?).ok()?;
                j += 1;
                n
            };
            let strings = if same { n } else { n.checked_mul(2)? };
            let body = elems.get(j..j.checked_add(strings)?)?;
            let lp_count = int(j + strings)?;
            let want = 3 + n as i64 + if same { 0 } else { n as i64 + 1 };
            if lp_count != want || n == 0 {
                return None;
            }
            buf.push(flags);
            put_u64(&mut buf, ms_delta as u64);
            put_u64(&mut buf, id.seq);
            let mut lp = lp_int_size(i64::from(flags))
                + lp_int_size(ms_delta)
                + lp_int_size(seq_delta)
                + lp_int_size(lp_count);
            if !same {
                put_u64(&mut buf, n as u64);
                lp += lp_int_size(n as i64);
            }
            for e in body {
                put_str(&mut buf, e);
                lp += lp_str_size(e);
            }
            lp_rest += lp;
            if flags & FLAG_DELETED != 0 {
                seen_deleted += 1;
            } else {
                seen_live += 1;
            }
            i = j + strings + 1;
        }
        // A node may hold no live entry (left so by a MINID trim, as in Redis), but not
        // no entry at all.
        if (seen_live, seen_deleted) != (live, deleted) || live + deleted == 0 {
            return None;
        }
        buf.shrink_to_fit();
        self.nodes.insert(
            master,
            Node {
                buf,
                entries_at,
                master_fields: nmaster as u32,
                live,
                deleted,
                lp_rest,
            },
        );
        self.len += u64::from(live);
        Some(())
    }

    /// Sets the ids and counters an RDB file records after the nodes; `None` if `len` is
    /// not the number of entries the nodes hold or the last id is below an entry.
    pub fn set_loaded(
        &mut self,
        len: u64,
        last: StreamId,
        first: Option<StreamId>,
        max_deleted: StreamId,
        entries_added: Option<u64>,
    ) -> Option<()> {
        if len != self.len {
            return None;
        }
        if self.first_entry_id(true).is_some_and(|top| top > last) {
            return None;
        }
        self.last_id = last;
        self.first_id = match first {
            Some(f) => f,
            None => self.first_entry_id(false).unwrap_or(StreamId::MIN),
        };
        self.max_deleted_id = max_deleted;
        self.entries_added = entries_added.unwrap_or(len);
        Some(())
    }

    /// The nodes as Redis's listpacks, with their master ids (RDB).
    pub fn listpacks(&self) -> Vec<(StreamId, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.nodes.len());
        for (&master, node) in &self.nodes {
            let mut lp = Listpack::new();
            lp.int(i64::from(node.live));
            lp.int(i64::from(node.deleted));
            lp.int(i64::from(node.master_fields));
            for f in node.master_fields() {
                lp.str(f);
            }
            lp.int(0);
            let mut pos = node.entries_at as usize;
            let mut pairs = Vec::new();
            while pos < node.buf.len() {
                pairs.clear();
                let (flags, id, next) = node.entry_at(master, pos, Some(&mut pairs));
                pos = next;
                let same = flags & FLAG_SAMEFIELDS != 0;
                lp.int(i64::from(flags));
                lp.int((id.ms.wrapping_sub(master.ms)) as i64);
                lp.int((id.seq.wrapping_sub(master.seq)) as i64);
                if !same {
                    lp.int(pairs.len() as i64);
                }
                for (f, v) in &pairs {
                    if !same {
                        lp.str(f);
                    }
                    lp.str(v);
                }
                let n = pairs.len() as i64;
                lp.int(3 + n + if same { 0 } else { n + 1 });
            }
            let bytes = lp.finish();
            debug_assert_eq!(bytes.len() as u64, node.lp_bytes());
            out.push((master, bytes));
        }
        out
    }
}

/// Bytes of a listpack element holding the integer `v` (encoding and backlen).
fn lp_int_size(v: i64) -> u64 {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    enc + 1
}

fn backlen_size(l: u64) -> u64 {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Bytes of a listpack element holding `s` (an integer if it reads as one, as `lpAppend`).
fn lp_str_size(s: &[u8]) -> u64 {
    if let Some(v) = crate::num::parse_i64(s) {
        return lp_int_size(v);
    }
    let len = s.len() as u64;
    let enc = match len {
        0..=63 => 1 + len,
        64..=4095 => 2 + len,
        _ => 5 + len,
    };
    enc + backlen_size(enc)
}

/// A listpack being written, with Redis's encodings.
struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Listpack {
    fn new() -> Listpack {
        Listpack {
            buf: vec![0; 6],
            count: 0,
        }
    }

    fn backlen(&mut self, l: u64) {
        let groups = backlen_size(l);
        for i in (0..groups).rev() {
            let g = ((l >> (7 * i)) & 127) as u8;
            self.buf.push(if i == groups - 1 { g } else { g | 128 });
        }
    }

    fn int(&mut self, v: i64) {
        let start = self.buf.len();
        match v {
            0..=127 => self.buf.push(v as u8),
            -4096..=4095 => {
                let u = (v as u16) & 0x1fff;
                self.buf.push(0xc0 | (u >> 8) as u8);
                self.buf.push(u as u8);
            }
            -32768..=32767 => {
                self.buf.push(0xf1);
                self.buf.extend_from_slice(&(v as i16).to_le_bytes());
            }
            -8_388_608..=8_388_607 => {
                self.buf.push(0xf2);
                self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            -2_147_483_648..=2_147_483_647 => {
                self.buf.push(0xf3);
                self.buf.extend_from_slice(&(v as i32).to_le_bytes());
            }
            _ => {
                self.buf.push(0xf4);
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        let l = (self.buf.len() - start) as u64;
        self.backlen(l);
        self.count += 1;
    }

    fn str(&mut self, s: &[u8]) {
        if let Some(v) = crate::num::parse_i64(s) {
            return self.int(v);
        }
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xe0 | (len >> 8) as u8);
            self.buf.push(len as u8);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = (self.buf.len() - start) as u64;
        self.backlen(l);
        self.count += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xff);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let n = if self.count < 0xffff {
            self.count as u16
        } else {
            0xffff
        };
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[inline]
fn get_u64(buf: &[u8], pos: usize) -> (u64, usize) {
    let mut n = 0u64;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = buf[i];
        n |= u64::from(b & 0x7f) << shift;
        i += 1;
        if b < 0x80 {
            return (n, i - pos);
        }
        shift += 7;
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s);
}

#[inline]
fn get_str(buf: &[u8], pos: usize) -> (&[u8], usize) {
    let (len, n) = get_u64(buf, pos);
    let start = pos + n;
    let end = start + len as usize;
    (&buf[start..end], end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn ids(s: &Stream, rev: bool) -> Vec<StreamId> {
        let mut out = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, rev, |id, _| {
            out.push(id);
            true
        });
        out
    }

    #[test]
    fn append_range_delete_trim() {
        let mut s = Stream::new();
        let lim = NodeLimits {
            max_bytes: 4096,
            max_entries: 3,
        };
        for i in 1..=10u64 {
            let v = i.to_string();
            let pairs: &[(&[u8], &[u8])] = if i % 2 == 0 {
                &[(b"a", v.as_bytes()), (b"b", b"x")]
            } else {
                &[(b"a", v.as_bytes())]
            };
            s.append(id(i, 0), pairs, lim);
        }
        assert_eq!(s.len(), 10);
        assert_eq!(s.node_count(), 4);
        let fwd = ids(&s, false);
        let mut rev = ids(&s, true);
        rev.reverse();
        assert_eq!(fwd, rev);
        let mut got = Vec::new();
        s.range(id(4, 0), id(4, 0), false, |_, p| {
            got = p.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            true
        });
        assert_eq!(
            got,
            vec![
                (b"a".to_vec(), b"4".to_vec()),
                (b"b".to_vec(), b"x".to_vec())
            ]
        );
        assert!(s.delete(id(1, 0)));
        assert!(!s.delete(id(1, 0)));
        assert_eq!(s.first_id(), id(2, 0));
        assert_eq!(s.trim(Trim::MaxLen(5), true, 0), 2);
        assert_eq!(s.len(), 7);
        assert_eq!(s.trim(Trim::MaxLen(5), false, 0), 2);
        assert_eq!(
            ids(&s, false),
            (6..=10).map(|i| id(i, 0)).collect::<Vec<_>>()
        );
        assert_eq!(s.trim(Trim::MinId(id(9, 0)), false, 0), 3);
        assert_eq!(s.first_id(), id(9, 0));
        // `listpacks` checks each against the size the node tracks.
        assert_eq!(s.listpacks().len(), s.node_count());
    }

    #[test]
    fn lp_sizes_match_the_writer() {
        for v in [
            0i64,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            40000,
            -9_000_000,
            1 << 40,
        ] {
            let mut lp = Listpack::new();
            lp.int(v);
            assert_eq!(lp.buf.len() as u64 - 6, lp_int_size(v), "{v}");
        }
        for len in [0usize, 63, 64, 130, 4095, 4096, 20000] {
            let s = vec![b'x'; len];
            let mut lp = Listpack::new();
            lp.str(&s);
            assert_eq!(lp.buf.len() as u64 - 6, lp_str_size(&s), "{len}");
        }
    }
}
