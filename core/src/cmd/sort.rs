//! SORT and SORT_RO.
//!
//! `SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC]
//! [ALPHA] [STORE destination]` — SORT_RO is the same without STORE.
//!
//! As Redis 7.0's `sort.c`: the elements of a list, set or sorted set are sorted by their
//! own value or by the string (or hash field, `pattern->field`) a `*` pattern names, as
//! numbers (`strtod` of the whole string, else `One or more scores can't be converted into
//! double`, reported only after the sort) or as strings (ALPHA: `strcoll`, or byte order
//! when storing). Equal numbers fall back to byte order, so a numeric sort is
//! deterministic. A BY pattern without `*` (`BY nosort`) skips sorting: lists and sorted sets
//! keep their order (reversed by DESC, LIMIT applied directly), and a set about to be stored
//! is sorted ALPHA so the result does not depend on hash order. GET `#` is the element
//! itself; a GET pattern without `*` finds nothing. STORE writes a list (`sortstore`), or
//! deletes the destination (`del`) for an empty result.

use bytes::Bytes;

use super::executor::Ctx;
use super::pqsort::pqsort;
use super::reply::parse_f64;
use super::{parse_i64, Args, CmdError, Command};
use crate::db::types::list::End;
use crate::db::types::List;
use crate::db::{notify, Db, Value};

/// SORT or SORT_RO, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The key to sort.
    pub key: Bytes,
    /// BY pattern.
    pub by: Option<Bytes>,
    /// LIMIT offset count (Redis's defaults: 0 and -1, everything).
    pub limit: (i64, i64),
    /// GET patterns, in order.
    pub get: Vec<Bytes>,
    /// DESC.
    pub desc: bool,
    /// ALPHA.
    pub alpha: bool,
    /// STORE destination.
    pub store: Option<Bytes>,
    /// SORT_RO.
    pub readonly: bool,
}

/// The bytes a C string function sees: up to the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(i) => &s[..i],
        None => s,
    }
}

impl Sort {
    pub(crate) fn parse(args: &mut Args, readonly: bool) -> Result<Sort, CmdError> {
        let key = args.required()?;
        let rest = args.rest();
        let mut sort = Sort {
            key,
            by: None,
            limit: (0, -1),
            get: Vec::new(),
            desc: false,
            alpha: false,
            store: None,
            readonly,
        };
        let mut i = 0;
        while i < rest.len() {
            let left = rest.len() - i - 1;
            match rest[i].to_ascii_lowercase().as_slice() {
                b"asc" => sort.desc = false,
                b"desc" => sort.desc = true,
                b"alpha" => sort.alpha = true,
                b"limit" if left >= 2 => {
                    let start = parse_i64(&rest[i + 1]).ok_or(CmdError::NotInteger)?;
                    let count = parse_i64(&rest[i + 2]).ok_or(CmdError::NotInteger)?;
                    sort.limit = (start, count);
                    i += 2;
                }
                b"store" if left >= 1 && !readonly => {
                    sort.store = Some(rest[i + 1].clone());
                    i += 1;
                }
                b"by" if left >= 1 => {
                    sort.by = Some(rest[i + 1].clone());
                    i += 1;
                }
                b"get" if left >= 1 => {
                    sort.get.push(rest[i + 1].clone());
                    i += 1;
                }
                _ => return Err(CmdError::Syntax),
            }
            i += 1;
        }
        Ok(sort)
    }

    /// `sort` or `sort_ro`.
    pub fn name(&self) -> &'static str {
        if self.readonly {
            "sort_ro"
        } else {
            "sort"
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        let now = ctx.now_ms;
        ctx.read_lookups();
        let mut dontsort = self.by.as_ref().is_some_and(|p| !c_str(p).contains(&b'*'));
        let mut alpha = self.alpha;
        let mut by = self.by.clone();
        let desc = self.desc;

        enum Kind {
            List,
            Set,
            ZSet,
        }
        let db = ctx.db();
        let kind = match db.get(&self.key, now) {
            None => Kind::List,
            Some(Value::List(_)) => Kind::List,
            Some(Value::Set(_)) => Kind::Set,
            Some(Value::ZSet(_)) => Kind::ZSet,
            Some(_) => return Err(CmdError::WrongType),
        };
        // A set has no order of its own: one about to be stored is sorted anyway.
        if dontsort && matches!(kind, Kind::Set) && self.store.is_some() {
            dontsort = false;
            alpha = true;
            by = None;
        }
        let len = match db.peek(&self.key, now) {
            Some(Value::List(l)) => l.len(),
            Some(Value::Set(s)) => s.len(),
            Some(Value::ZSet(z)) => z.len(),
            _ => 0,
        } as i64;

        let (ls, lc) = self.limit;
        let mut start = ls.max(0);
        let mut end = if lc < 0 {
            len - 1
        } else {
            start.saturating_add(lc).saturating_sub(1)
        };
        if start >= len {
            start = len - 1;
            end = len - 2;
        }
        if end >= len {
            end = len - 1;
        }

        // The elements, in the order Redis loads them.
        let elements: Vec<Vec<u8>> = match db.peek(&self.key, now) {
            Some(Value::List(l)) if dontsort => {
                let mut v = Vec::new();
                if end >= start {
                    let n = (end - start + 1) as usize;
                    if desc {
                        v.extend(
                            l.iter()
                                .rev()
                                .skip(start as usize)
                                .take(n)
                                .map(<[u8]>::to_vec),
                        );
                    } else {
                        v.extend(l.range(start as usize, n).map(<[u8]>::to_vec));
                    }
                    end -= start;
                    start = 0;
                }
                v
            }
            Some(Value::List(l)) => l.iter().map(<[u8]>::to_vec).collect(),
            Some(Value::Set(s)) => s.iter().map(|m| m.to_vec()).collect(),
            Some(Value::ZSet(z)) if dontsort => {
                let mut v = Vec::new();
                if end >= start {
                    let n = (end - start + 1) as usize;
                    if desc {
                        let from = (len - 1 - start) as usize;
                        v.extend(z.iter(from, true).take(n).map(|(m, _)| m.to_vec()));
                    } else {
                        v.extend(
                            z.iter(start as usize, false)
                                .take(n)
                                .map(|(m, _)| m.to_vec()),
                        );
                    }
                }
                end -= start;
                start = 0;
                v
            }
            Some(Value::ZSet(z)) => z.iter(0, false).map(|(m, _)| m.to_vec()).collect(),
            _ => Vec::new(),
        };

        let mut items: Vec<Item> = elements
            .into_iter()
            .map(|obj| Item {
                obj,
                score: 0.0,
                cmp: None,
            })
            .collect();
        let mut conversion_error = false;
        if !dontsort {
            for item in &mut items {
                let byval = match &by {
                    Some(pattern) => match lookup_by_pattern(ctx.db(), now, pattern, &item.obj) {
                        Some(v) => v,
                        None => continue,
                    },
                    None => item.obj.clone(),
                };
                if alpha {
                    if by.is_some() {
                        item.cmp = Some(byval);
                    }
                } else {
                    match strtod(&byval) {
                        Some(s) => item.score = s,
                        None => conversion_error = true,
                    }
                }
            }
            let order = Order {
                alpha,
                by_pattern: by.is_some(),
                store: self.store.is_some(),
            };
            let mut cmp = |a: &Item, b: &Item| {
                let o = order.compare(a, b);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            };
            // With a BY pattern and a LIMIT that leaves something out, Redis sorts only the
            // partitions the range needs, with its own (unstable) quicksort; otherwise it
            // is glibc's `qsort`, a stable merge sort.
            if by.is_some() && (start != 0 || end != len - 1) {
                pqsort(&mut items, &mut cmp, start, end);
            } else {
                items.sort_by(cmp);
            }
        }

        if conversion_error {
            return Err(CmdError::err(
                "One or more scores can't be converted into double",
            ));
        }
        let range: &[Item] = if end >= start && start >= 0 {
            &items[start as usize..=(end as usize).min(items.len().saturating_sub(1))]
        } else {
            &[]
        };

        let Some(dst) = self.store else {
            let mut values: Vec<Option<Vec<u8>>> = Vec::new();
            for item in range {
                if self.get.is_empty() {
                    values.push(Some(item.obj.clone()));
                }
                for pattern in &self.get {
                    values.push(lookup_by_pattern(ctx.db(), now, pattern, &item.obj));
                }
            }
            let mut out = ctx.out();
            out.array(values.len());
            for v in values {
                match v {
                    Some(v) => out.bulk(&v),
                    None => out.null(),
                }
            }
            return Ok(());
        };

        let limits = ctx.store.type_limits();
        let mut list = List::new();
        for item in range {
            if self.get.is_empty() {
                list.push(End::Right, &item.obj, &limits);
            }
            for pattern in &self.get {
                let v = lookup_by_pattern(ctx.db(), now, pattern, &item.obj).unwrap_or_default();
                list.push(End::Right, &v, &limits);
            }
        }
        let n = list.len();
        if n > 0 {
            ctx.db()
                .insert(&dst, Value::List(Box::new(list)), None, now);
            ctx.notify(notify::LIST, "sortstore", &dst);
        } else if ctx.db().delete(&dst) {
            ctx.notify(notify::GENERIC, "del", &dst);
        }
        ctx.out().int(n as i64);
        Ok(())
    }
}

struct Item {
    obj: Vec<u8>,
    score: f64,
    /// ALPHA BY: the value found by the pattern (`None`: nothing there).
    cmp: Option<Vec<u8>>,
}

struct Order {
    alpha: bool,
    by_pattern: bool,
    store: bool,
}

impl Order {
    /// `sortCompare`, before DESC.
    fn compare(&self, a: &Item, b: &Item) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        if !self.alpha {
            return if a.score > b.score {
                Ordering::Greater
            } else if a.score < b.score {
                Ordering::Less
            } else {
                a.obj.cmp(&b.obj)
            };
        }
        let (x, y) = if self.by_pattern {
            match (&a.cmp, &b.cmp) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => (x, y),
            }
        } else {
            (&a.obj, &b.obj)
        };
        if self.store {
            x.cmp(y)
        } else {
            // `strcoll` in the C / C.UTF-8 collation: bytes up to the first NUL.
            c_str(x).cmp(c_str(y))
        }
    }
}

/// `strtod` over the whole string as SORT uses it: leading white space allowed, the number
/// must end at the end of the string or at a NUL byte; NaN and out-of-range values fail.
fn strtod(s: &[u8]) -> Option<f64> {
    let s = c_str(s);
    if s.is_empty() {
        // strtod converts nothing and stops at the terminating NUL: 0, no error.
        return Some(0.0);
    }
    // Only spaces: nothing converted, so the end pointer is the first space.
    let start = s.iter().position(|c| !matches!(c, b' ' | b'\t'..=b'\r'))?;
    let body = &s[start..];
    parse_f64(body).filter(|v| !v.is_nan())
}

/// `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is replaced
/// by the element and the key read as a string, or (`key->field`, field after the `*`) as
/// a hash field. A pattern without `*` finds nothing.
fn lookup_by_pattern(db: &mut Db, now: u64, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if c_str(pattern) == b"#" {
        return Some(subst.to_vec());
    }
    let cp = c_str(pattern);
    let star = cp.iter().position(|&b| b == b'*')?;
    let after = &cp[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < after.len());
    let (field, postfix_end) = match arrow {
        Some(i) => {
            let f = star + 1 + i;
            (Some(&pattern[f + 2..]), f)
        }
        None => (None, pattern.len()),
    };
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..postfix_end]);
    match (db.get(&key, now)?, field) {
        (Value::Hash(h), Some(f)) => h.get(f).map(<[u8]>::to_vec),
        (Value::Str(s), None) => Some(s.to_vec()),
        _ => None,
    }
}

/// Parses SORT and SORT_RO (the spec table's parser for both).
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let readonly = args.name() == "sort_ro";
    Sort::parse(args, readonly).map(Command::Sort)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_is_whole_string() {
        let cases: &[(&[u8], Option<f64>)] = &[
            (b"1", Some(1.0)),
            (b" 1.5", Some(1.5)),
            (b"1 ", None),
            (b"", Some(0.0)),
            (b"  ", None),
            (b"1\0junk", Some(1.0)),
            (b"nan", None),
            (b"abc", None),
            (b"-inf", Some(f64::NEG_INFINITY)),
            (b"1e999", None),
        ];
        for &(s, want) in cases {
            assert_eq!(strtod(s), want, "{s:?}");
        }
    }
}
