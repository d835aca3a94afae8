//! Byte-level tests of the RDB encodings, and round trips.

use proptest::prelude::*;

use super::write::{put_len, put_string, Lzf};
use super::*;
use crate::persist::crc64;
use crate::Store;

const NOW: u64 = 1_700_000_000_000;

/// A dump Redis 7.0.15 saved after `SET a 1`, `SET b hello`, `SET c <"ab" x 30>`,
/// `SET e 5 EX 100`, a transaction leaving `x` = 2 with an expiry, and `SET y 2` in db 3.
const REDIS_DUMP: &str = "524544495330303130fa0972656469732d76657206372e302e3135fa0a72656469732d\
62697473c040fa056374696d65c275ec076bfa08757365642d6d656dc2e09a1000fa08616f662d62617365c000fe00\
fb0502fcbf2ff516a2010000000178c002000161c0010001620568656c6c6f000163c30a3c02616261e02e01016162\
fcb42ff516a2010000000165c005fe03fb0100000179c002ff474fb1e5f5edd174";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A version-10 file around `body`, with EOF and a valid checksum.
fn file(body: &[u8]) -> Vec<u8> {
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(body);
    f.push(opcode::EOF);
    let crc = crc64::update(0, &f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

/// db, key, value, expiry.
type Row = (usize, Vec<u8>, Vec<u8>, Option<u64>);

fn entries(bytes: &[u8]) -> Result<Vec<Row>, RdbError> {
    Ok(load(bytes, NOW)?
        .entries
        .into_iter()
        .map(|e| {
            let Value::Str(v) = e.value else {
                panic!("only strings here")
            };
            (e.db, e.key.to_vec(), v.to_vec(), e.expire_at_ms)
        })
        .collect())
}

#[test]
fn reads_what_redis_wrote() {
    let bytes = hex(REDIS_DUMP);
    let loaded = load(&bytes, NOW).unwrap();
    assert_eq!(loaded.len, bytes.len());
    let aux: Vec<(&[u8], &[u8])> = loaded.aux.iter().map(|(n, v)| (&**n, &**v)).collect();
    assert_eq!(
        aux,
        [
            (&b"redis-ver"[..], &b"7.0.15"[..]),
            (b"redis-bits", b"64"),
            (b"ctime", b"1795681397"),
            (b"used-mem", b"1088224"),
            (b"aof-base", b"0"),
        ]
    );
    let mut got = entries(&bytes).unwrap();
    got.sort();
    let s = |k: &str, v: &str| (k.as_bytes().to_vec(), v.as_bytes().to_vec());
    let want = [
        (0, s("a", "1"), None),
        (0, s("b", "hello"), None),
        (0, s("c", &"ab".repeat(30)), None),
        (0, s("e", "5"), Some(1_795_681_497_012)),
        (0, s("x", "2"), Some(1_795_681_497_023)),
        (3, s("y", "2"), None),
    ];
    let want: Vec<_> = want
        .into_iter()
        .map(|(db, (k, v), at)| (db, k, v, at))
        .collect();
    assert_eq!(got, want);

    // At a later time the volatile keys are gone.
    let later = load(&bytes, 1_795_681_497_023).unwrap();
    assert_eq!((later.entries.len(), later.expired), (4, 2));
}

#[test]
fn length_encodings() {
    let cases: &[(u64, &[u8])] = &[
        (0, &[0x00]),
        (63, &[0x3f]),
        (64, &[0x40, 0x40]),
        (16383, &[0x7f, 0xff]),
        (16384, &[0x80, 0x00, 0x00, 0x40, 0x00]),
        (u64::from(u32::MAX), &[0x80, 0xff, 0xff, 0xff, 0xff]),
        (1 << 32, &[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
    ];
    for &(len, bytes) in cases {
        let mut out = Vec::new();
        put_len(&mut out, len);
        assert_eq!(out, bytes, "{len}");
        // Read back as a RESIZEDB hint, which takes any length.
        let mut body = vec![opcode::RESIZEDB];
        body.extend_from_slice(bytes);
        body.push(0);
        let f = file(&body);
        let mut r = RdbReader::new(&f).unwrap();
        assert_eq!(r.next_entry(), Ok(None), "{len}");
    }
}

#[test]
fn string_encodings() {
    let long_text = "a".repeat(21);
    let noise: String = (0..30u32)
        .map(|i| char::from(b'!' + (i * 37 % 90) as u8))
        .collect();
    let cases: &[(&str, &[u8])] = &[
        ("", &[0x00]),
        ("hello", b"\x05hello"),
        ("0", &[0xc0, 0x00]),
        ("-1", &[0xc0, 0xff]),
        ("127", &[0xc0, 0x7f]),
        ("-128", &[0xc0, 0x80]),
        ("128", &[0xc1, 0x80, 0x00]),
        ("-32768", &[0xc1, 0x00, 0x80]),
        ("32768", &[0xc2, 0x00, 0x80, 0x00, 0x00]),
        ("2147483647", &[0xc2, 0xff, 0xff, 0xff, 0x7f]),
        ("-2147483648", &[0xc2, 0x00, 0x00, 0x00, 0x80]),
        // Out of 32 bits, or not canonical: raw, as Redis writes them.
        ("2147483648", b"\x0a2147483648"),
        ("007", b"\x03007"),
        ("-0", b"\x02-0"),
        ("+1", b"\x02+1"),
        ("1 ", b"\x021 "),
        // 21 bytes of one letter: literal 'a', then a back reference of 20 at distance 1.
        (
            &long_text,
            &[0xc3, 0x05, 0x15, 0x00, b'a', 0xe0, 0x0b, 0x00],
        ),
    ];
    for &(s, bytes) in cases {
        let mut out = Vec::new();
        put_string(&mut out, s.as_bytes(), Some(&mut Lzf::new()));
        assert_eq!(out, bytes, "{s:?}");
        let mut body = vec![TYPE_STRING, 0x01, b'k'];
        body.extend_from_slice(bytes);
        assert_eq!(
            entries(&file(&body)).unwrap(),
            [(0, b"k".to_vec(), s.as_bytes().to_vec(), None)],
            "{s:?}"
        );
    }
    // Incompressible: raw.
    let mut out = Vec::new();
    put_string(&mut out, noise.as_bytes(), Some(&mut Lzf::new()));
    assert_eq!(out[0], 30);
    // Exactly 20 bytes: never compressed.
    let mut out = Vec::new();
    put_string(&mut out, &[b'z'; 20], Some(&mut Lzf::new()));
    assert_eq!(out[0], 20);
}

#[test]
fn opcodes_that_are_skipped_or_kept() {
    let mut body = Vec::new();
    body.extend_from_slice(&[opcode::AUX, 0x01, b'x', 0x01, b'y']);
    body.extend_from_slice(&[opcode::SELECTDB, 0x05, opcode::RESIZEDB, 0x02, 0x01]);
    // EXPIRETIME in seconds, IDLE and FREQ before a key.
    body.push(opcode::EXPIRETIME);
    body.extend_from_slice(&2_000_000_000u32.to_le_bytes());
    body.extend_from_slice(&[opcode::IDLE, 0x40, 0x10, opcode::FREQ, 0x07]);
    body.extend_from_slice(&[TYPE_STRING, 0x01, b'a', 0x01, b'1']);
    // An expiry applies to the next key only.
    body.extend_from_slice(&[opcode::FREQ, 0x01, TYPE_STRING, 0x01, b'b', 0x01, b'2']);
    // Already expired (and a negative time reads as the epoch).
    body.push(opcode::EXPIRETIME_MS);
    body.extend_from_slice(&(-5i64).to_le_bytes());
    body.extend_from_slice(&[TYPE_STRING, 0x01, b'c', 0x01, b'3']);
    let f = file(&body);
    assert_eq!(
        entries(&f).unwrap(),
        [
            (5, b"a".to_vec(), b"1".to_vec(), Some(2_000_000_000_000)),
            (5, b"b".to_vec(), b"2".to_vec(), None),
        ]
    );
    let loaded = load(&f, NOW).unwrap();
    assert_eq!(loaded.expired, 1);
    assert_eq!(&*loaded.aux[0].1, b"y");

    // The whole file must be read: trailing bytes are the caller's (an AOF tail).
    let mut with_tail = f.clone();
    with_tail.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(load(&with_tail, NOW).unwrap().len, f.len());
}

#[test]
fn checksums() {
    let mut f = file(&[TYPE_STRING, 0x01, b'k', 0x01, b'v']);
    let n = f.len();
    // Zero: not checked (rdbchecksum no).
    let mut zero = f.clone();
    zero[n - 8..].fill(0);
    assert!(load(&zero, NOW).is_ok());
    f[n - 1] ^= 1;
    assert!(matches!(
        load(&f, NOW),
        Err(RdbError::BadChecksum { offset, .. }) if offset == n - 8
    ));
    // Before version 5 there is none.
    let mut old = b"REDIS0004".to_vec();
    old.extend_from_slice(&[TYPE_STRING, 0x01, b'k', 0x01, b'v', opcode::EOF]);
    assert_eq!(load(&old, NOW).unwrap().entries.len(), 1);
}

#[test]
fn errors_name_the_problem_and_offset() {
    let string_key = |rest: &[u8]| {
        let mut b = vec![TYPE_STRING, 0x01, b'k'];
        b.extend_from_slice(rest);
        file(&b)
    };
    let cases: Vec<(Vec<u8>, RdbError)> = vec![
        (b"".to_vec(), RdbError::NotRdb),
        (b"REDIS001".to_vec(), RdbError::NotRdb),
        (b"RADIS0010\xff".to_vec(), RdbError::NotRdb),
        (b"REDIS00x0\xff".to_vec(), RdbError::NotRdb),
        (
            b"REDIS0000\xff".to_vec(),
            RdbError::UnsupportedVersion { version: 0 },
        ),
        (
            b"REDIS0012\xff".to_vec(),
            RdbError::UnsupportedVersion { version: 12 },
        ),
        (b"REDIS0010".to_vec(), RdbError::UnexpectedEof { offset: 9 }),
        (
            b"REDIS0010\x00\x01k".to_vec(),
            RdbError::UnexpectedEof { offset: 12 },
        ),
        (
            b"REDIS0010\xff\x00".to_vec(),
            RdbError::UnexpectedEof { offset: 11 },
        ),
        (
            // A module value (RDB_TYPE_MODULE_2): streams (15) load now.
            file(&[7, 0x01, b'k', 0x00]),
            RdbError::UnsupportedType {
                type_byte: 7,
                offset: 9,
            },
        ),
        (
            file(&[14, 0x01, b'k', 0x00]),
            RdbError::Corrupt {
                what: "quicklist",
                offset: 12,
            },
        ),
        (
            file(&[0xf4]),
            RdbError::UnsupportedType {
                type_byte: 0xf4,
                offset: 9,
            },
        ),
        (
            file(&[opcode::FUNCTION_PRE_GA, 0x00]),
            RdbError::Unsupported {
                what: "function library in the format before Redis 7.0 GA",
                offset: 9,
            },
        ),
        (
            file(&[opcode::MODULE_AUX]),
            RdbError::Unsupported {
                what: "module auxiliary data (modules are not supported)",
                offset: 9,
            },
        ),
        (
            string_key(&[0xc4]),
            RdbError::BadStringEncoding {
                encoding: 4,
                offset: 12,
            },
        ),
        (
            file(&[opcode::SELECTDB, 0xc0]),
            RdbError::BadStringEncoding {
                encoding: 0,
                offset: 10,
            },
        ),
        (
            string_key(&[0x82]),
            RdbError::BadLength {
                len: 0x82,
                offset: 12,
            },
        ),
        // A declared length beyond the input is refused before any allocation.
        (
            string_key(&[0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            RdbError::BadLength {
                len: i64::MAX as u64,
                offset: 12,
            },
        ),
        (
            string_key(&[0x3f, b'x']),
            RdbError::BadLength {
                len: 63,
                offset: 12,
            },
        ),
        // LZF: compressed length beyond the input; declared length beyond 88 times it.
        (
            string_key(&[0xc3, 0x3f, 0x01]),
            RdbError::BadLength {
                len: 63,
                offset: 13,
            },
        ),
        (
            string_key(&[0xc3, 0x01, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00]),
            RdbError::BadLength {
                len: 65536,
                offset: 14,
            },
        ),
        (
            string_key(&[0xc3, 0x02, 0x03, 0x00, b'a']),
            RdbError::BadCompressedString { offset: 12 },
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(load(&bytes, NOW).unwrap_err(), want, "{bytes:x?}");
    }
}

#[test]
fn error_messages_read_well() {
    let e = RdbError::UnsupportedType {
        type_byte: 14,
        offset: 42,
    };
    assert_eq!(
        e.to_string(),
        "unsupported value type 14 (list (quicklist)) at offset 42"
    );
}

#[test]
fn load_into_checks_databases_and_duplicates() {
    let mut store = Store::new(crate::StoreConfig {
        databases: 4,
        ..Default::default()
    });
    let f = file(&[opcode::SELECTDB, 0x04, TYPE_STRING, 0x01, b'k', 0x01, b'v']);
    assert_eq!(
        load_into(&mut store, &f, NOW),
        Err(RdbError::DbOutOfRange {
            db: 4,
            offset: 11,
            databases: 4
        })
    );
    let dup = file(&[
        TYPE_STRING,
        0x01,
        b'k',
        0x01,
        b'v',
        TYPE_STRING,
        0x01,
        b'k',
        0x01,
        b'w',
    ]);
    assert_eq!(
        load_into(&mut Store::default(), &dup, NOW),
        Err(RdbError::DuplicateKey { db: 0, offset: 14 })
    );
}

#[test]
fn writes_header_aux_and_layout_like_redis() {
    let mut store = Store::default();
    store.db(0).insert(b"a", Value::str(b"1"), None, NOW);
    store
        .db(3)
        .insert(b"y", Value::str(b"2"), Some(NOW + 5), NOW);
    store
        .db(3)
        .insert(b"gone", Value::str(b"x"), Some(NOW), NOW);
    let bytes = to_vec(&store, NOW);
    let mut want = b"REDIS0010".to_vec();
    want.extend_from_slice(b"\xfa\x09redis-ver\x067.0.15");
    want.extend_from_slice(b"\xfa\x0aredis-bits\xc0\x40");
    want.extend_from_slice(b"\xfa\x05ctime\xc2");
    want.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    want.extend_from_slice(b"\xfa\x08used-mem\xc0\x00");
    want.extend_from_slice(b"\xfa\x08aof-base\xc0\x00");
    want.extend_from_slice(b"\xfe\x00\xfb\x01\x00\x00\x01a\xc0\x01");
    // Size hints count the expired key not yet collected, as Redis's do.
    want.extend_from_slice(b"\xfe\x03\xfb\x02\x02\xfc");
    want.extend_from_slice(&(NOW + 5).to_le_bytes());
    want.extend_from_slice(b"\x00\x01y\xc0\x02\xff");
    let crc = crc64::update(0, &want);
    want.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(bytes, want);
}

fn arb_store() -> impl Strategy<Value = Vec<Row>> {
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        (any::<u8>(), 0usize..3000).prop_map(|(b, n)| vec![b; n]),
        "[a-c]{0,200}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec(
        (
            0usize..16,
            proptest::collection::vec(any::<u8>(), 0..12),
            value,
            proptest::option::of(NOW - 1000..NOW + 1000),
        ),
        0..40,
    )
}

proptest! {
    #[test]
    fn round_trip(items in arb_store()) {
        let mut store = Store::default();
        for (db, k, v, at) in &items {
            store.db(*db).insert(k, Value::str(v), *at, NOW);
        }
        let bytes = to_vec(&store, NOW);
        let mut back = Store::default();
        let summary = load_into(&mut back, &bytes, NOW).unwrap();
        prop_assert_eq!(summary.len, bytes.len());
        for db in 0..16 {
            let mut want: Vec<_> = store.dbs()[db].entries(NOW).map(|(k, v, at)| (k.to_vec(), v.clone(), at)).collect();
            let mut got: Vec<_> = back.dbs()[db].entries(NOW).map(|(k, v, at)| (k.to_vec(), v.clone(), at)).collect();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            got.sort_by(|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(got, want);
        }
    }

    /// Any bytes after a valid header: an error or a result, never a panic, and never an
    /// entry larger than the input.
    #[test]
    fn arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&body);
        if let Ok(loaded) = load(&f, NOW) {
            for e in loaded.entries {
                if let Value::Str(v) = e.value {
                    prop_assert!(v.len() <= 88 * f.len());
                }
            }
        }
    }
}

#[test]
fn idle_and_freq_set_the_access_field_as_the_policy_says() {
    let mut body = Vec::new();
    body.extend_from_slice(&[
        opcode::IDLE,
        0x40,
        0x10,
        TYPE_STRING,
        0x01,
        b'a',
        0x01,
        b'1',
    ]);
    body.extend_from_slice(&[opcode::FREQ, 0x07, TYPE_STRING, 0x01, b'b', 0x01, b'2']);
    let f = file(&body);
    // LRU (or no) policy: IDLE counts, FREQ does not.
    let mut store = crate::Store::default();
    super::load_into(&mut store, &f, NOW).unwrap();
    assert_eq!(store.db(0).idle_seconds(b"a", NOW), Some(0x10));
    assert_eq!(store.db(0).idle_seconds(b"b", NOW), Some(0));
    // LFU: FREQ counts, a key without it starts at LFU_INIT_VAL.
    let mut store = crate::Store::default();
    store.config_mut().maxmemory_policy = crate::db::MaxmemoryPolicy::AllkeysLfu;
    super::load_into(&mut store, &f, NOW).unwrap();
    assert_eq!(store.db(0).access_frequency(b"b", NOW), Some(7));
    assert_eq!(store.db(0).access_frequency(b"a", NOW), Some(5));
}
