//! The dataset digest of Redis 7.0's `DEBUG DIGEST` and `DEBUG DIGEST-VALUE` (debug.c).
//!
//! A digest is 20 bytes built from SHA1s. Two steps combine bytes into it: *xor* (XOR the
//! SHA1 of the bytes in — order does not matter) and *mix* (xor, then replace the digest by
//! its own SHA1 — order matters). Unordered collections (the keyspace, sets, hash fields,
//! sorted-set members) are xors of per-element digests; ordered ones (lists, streams) are
//! mixes. Only the logical content goes in — element bytes, `%.17g` scores, `ms.seq` ids — so
//! the digest does not depend on the encoding, and the same data gives the same digest here
//! as in redis-server: what replication tests compare.

use sha1_smol::Sha1;

use super::{Db, Value};
use crate::num::fmt_score;

/// A 20-byte digest.
pub type Digest = [u8; 20];

fn sha1(bytes: &[u8]) -> Digest {
    Sha1::from(bytes).digest().bytes()
}

/// `xorDigest`: XORs the SHA1 of `bytes` into `digest`.
fn xor(digest: &mut Digest, bytes: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(bytes)) {
        *d ^= h;
    }
}

/// `mixDigest`: xor, then the digest becomes the SHA1 of itself.
fn mix(digest: &mut Digest, bytes: &[u8]) {
    xor(digest, bytes);
    *digest = sha1(&digest[..]);
}

/// Redis's object type numbers (`OBJ_STRING` …), which go into each key's digest.
fn type_number(value: &Value) -> u32 {
    match value {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

/// `xorObjectDigest`: mixes the value of one key (and whether it has an expiry) into
/// `digest`.
pub fn value_digest(digest: &mut Digest, value: &Value, has_expire: bool) {
    mix(digest, &type_number(value).to_be_bytes());
    match value {
        Value::Str(s) => mix(digest, s),
        Value::List(l) => l.iter().for_each(|e| mix(digest, e)),
        Value::Set(s) => s.iter().for_each(|m| m.with_bytes(|b| xor(digest, b))),
        Value::ZSet(z) => {
            for (member, score) in z.iter(0, false) {
                let mut element = [0; 20];
                mix(&mut element, member);
                mix(&mut element, fmt_score(score).as_bytes());
                xor(digest, &element);
            }
        }
        Value::Hash(h) => {
            for (field, val) in h.iter() {
                let mut element = [0; 20];
                mix(&mut element, field);
                mix(&mut element, val);
                xor(digest, &element);
            }
        }
        Value::Stream(s) => {
            use super::StreamId;
            s.range(StreamId::MIN, StreamId::MAX, false, |id, pairs| {
                mix(digest, format!("{}.{}", id.ms, id.seq).as_bytes());
                for (f, v) in pairs {
                    mix(digest, f);
                    mix(digest, v);
                }
                true
            });
        }
    }
    if has_expire {
        xor(digest, b"!!expire!!");
    }
}

/// The digest of one key's value as `DEBUG DIGEST-VALUE` computes it (20 zero bytes for a
/// missing key). Like Redis, a key past its time but not yet collected still counts.
pub fn key_digest(db: &Db, key: &[u8]) -> Digest {
    let mut digest = [0; 20];
    if let Some((value, expire)) = db.raw_entry(key) {
        value_digest(&mut digest, value, expire.is_some());
    }
    digest
}

/// `computeDatasetDigest`: the digest of every non-empty database, each tagged with its
/// index; 20 zero bytes when all are empty.
pub fn dataset_digest(dbs: &[Db]) -> Digest {
    let mut fin = [0; 20];
    for (index, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix(&mut fin, &(index as u32).to_be_bytes());
        db.raw_entries(|key, value, expire| {
            let mut digest = [0; 20];
            mix(&mut digest, key);
            value_digest(&mut digest, value, expire.is_some());
            xor(&mut fin, &digest);
        });
    }
    fin
}

/// A digest in lower-case hex, as DEBUG replies with it.
pub fn to_hex(digest: &Digest) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(40), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_dataset_is_zeros() {
        let dbs = vec![Db::new(1), Db::new(2)];
        assert_eq!(to_hex(&dataset_digest(&dbs)), "0".repeat(40));
    }

    #[test]
    fn expiry_counts_and_missing_key_is_zeros() {
        let mut a = Db::new(1);
        let mut b = Db::new(1);
        a.insert(b"k", Value::str(b"v"), None, 0);
        b.insert(b"k", Value::str(b"v"), Some(10), 0);
        assert_ne!(key_digest(&a, b"k"), key_digest(&b, b"k"), "expiry counts");
        assert_eq!(key_digest(&a, b"nope"), [0; 20]);
    }
}
