//! Writer bytes, loader cases as tables, replay and round trips.

use proptest::prelude::*;

use super::*;
use crate::cmd::replay_aof as replay;
use crate::persist::rdb;
use crate::{Session, SessionConfig};

const NOW: u64 = 1_700_000_000_000;

/// The incr file Redis 7.0.15 wrote for `SET a 1`, `SET b hello`, `SET c <60 bytes>`,
/// `SET e 5 EX 100`, `MULTI SET x 1; INCR x; EXPIRE x 100 EXEC`, `SELECT 3`, `SET y 2`.
const REDIS_INCR: &[u8] =
    b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n\
*3\r\n$3\r\nset\r\n$1\r\nb\r\n$5\r\nhello\r\n*3\r\n$3\r\nset\r\n$1\r\nc\r\n$60\r\n\
abababababababababababababababababababababababababababababab\r\n\
*5\r\n$3\r\nSET\r\n$1\r\ne\r\n$1\r\n5\r\n$4\r\nPXAT\r\n$13\r\n1795681497012\r\n\
*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nx\r\n\
*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nx\r\n$13\r\n1795681497023\r\n*1\r\n$4\r\nEXEC\r\n\
*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\ny\r\n$1\r\n2\r\n";

/// The entries as (db, words), a transaction as its commands between "MULTI" and "EXEC".
fn flat(load: &AofLoad) -> Vec<(usize, Vec<String>)> {
    let words = |c: &AofCommand| {
        (
            c.db,
            c.args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
        )
    };
    let mut out = Vec::new();
    for e in &load.entries {
        match e {
            AofEntry::Command(c) => out.push(words(c)),
            AofEntry::Transaction(cmds) => {
                out.push((usize::MAX, vec!["MULTI".into()]));
                out.extend(cmds.iter().map(words));
                out.push((usize::MAX, vec!["EXEC".into()]));
            }
        }
    }
    out
}

fn w(db: usize, parts: &[&str]) -> (usize, Vec<String>) {
    (db, parts.iter().map(|s| s.to_string()).collect())
}

#[test]
fn reads_what_redis_wrote() {
    let load = load(REDIS_INCR).unwrap();
    assert!(!load.truncated);
    assert_eq!(load.valid_len, REDIS_INCR.len());
    let ab = "ab".repeat(30);
    assert_eq!(
        flat(&load),
        [
            w(0, &["set", "a", "1"]),
            w(0, &["set", "b", "hello"]),
            w(0, &["set", "c", &ab]),
            w(0, &["SET", "e", "5", "PXAT", "1795681497012"]),
            w(usize::MAX, &["MULTI"]),
            w(0, &["SET", "x", "1"]),
            w(0, &["INCR", "x"]),
            w(0, &["PEXPIREAT", "x", "1795681497023"]),
            w(usize::MAX, &["EXEC"]),
            w(3, &["SET", "y", "2"]),
        ]
    );
    assert_eq!(load.command_count(), 8);
}

#[test]
fn writer_selects_and_wraps_transactions() {
    let mut log = AofWriter::new();
    log.append(0, &["SET", "a", "1"]);
    log.append(0, &["DEL", "a"]);
    log.begin_transaction(2);
    log.append(2, &["SET", "b", "2"]);
    log.append(5, &["SET", "c", "3"]);
    log.end_transaction();
    assert_eq!(
        log.poll_transmit(),
        &b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
*2\r\n$3\r\nDEL\r\n$1\r\na\r\n\
*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n\
*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n*1\r\n$4\r\nEXEC\r\n"[..]
    );
    let bytes = log.take();
    assert!(log.poll_transmit().is_empty());
    assert_eq!(
        flat(&load(&bytes).unwrap()),
        [
            w(0, &["SET", "a", "1"]),
            w(0, &["DEL", "a"]),
            w(usize::MAX, &["MULTI"]),
            w(2, &["SET", "b", "2"]),
            w(5, &["SET", "c", "3"]),
            w(usize::MAX, &["EXEC"]),
        ]
    );

    // Partial writes, then a new file that must start with its own SELECT.
    log.append(5, &["SET", "d", "4"]);
    let n = log.poll_transmit().len();
    log.consume_transmit(3);
    assert_eq!(log.poll_transmit().len(), n - 3);
    log.consume_transmit(usize::MAX);
    log.forget_db();
    log.append(5, &["SET", "d", "4"]);
    assert!(log
        .poll_transmit()
        .starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n"));
}

#[test]
fn annotations_are_skipped() {
    let bytes = b"#TS:1700000000\r\n*1\r\n$4\r\nPING\r\n#note\n";
    let load = load(bytes).unwrap();
    assert_eq!(flat(&load), [w(0, &["PING"])]);
    assert_eq!((load.valid_len, load.truncated), (bytes.len(), false));
}

#[test]
fn truncated_tails_keep_the_valid_prefix() {
    let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    let mut bytes = set.to_vec();
    bytes.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
    let multi_at = set.len();
    bytes.extend_from_slice(set);
    bytes.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
    let end = bytes.len();
    bytes.extend_from_slice(b"#TS:1\r\n");
    let annotated = bytes.len();
    bytes.extend_from_slice(set);

    // Every strict prefix: the records wholly inside it, the rest reported as torn.
    for cut in 0..bytes.len() {
        let load = load(&bytes[..cut]).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let (valid, count) = match cut {
            c if c < set.len() => (0, 0),
            c if c < end => (multi_at, 1),
            c if c < annotated => (end, 2),
            _ => (annotated, 2),
        };
        assert_eq!(
            (load.valid_len, load.command_count()),
            (valid, count),
            "cut {cut}"
        );
        assert_eq!(load.truncated, cut != valid, "cut {cut}");
    }
    let whole = load(&bytes).unwrap();
    assert_eq!((whole.valid_len, whole.truncated), (bytes.len(), false));
    assert_eq!(whole.command_count(), 3);
}

#[test]
fn corruption_in_the_middle_is_an_error() {
    let set = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"; // 27 bytes
    let cases: Vec<(String, AofError)> = vec![
        (
            format!("{set}+OK\r\n{set}"),
            AofError::ExpectedArray {
                offset: 27,
                byte: b'+',
            },
        ),
        (
            format!("{set}SET k v\r\n"),
            AofError::ExpectedArray {
                offset: 27,
                byte: b'S',
            },
        ),
        (
            format!("{set}*2\r\n$3\r\nGET\r\n:1\r\n"),
            AofError::Protocol {
                offset: 27,
                error: ProtocolError::ExpectedBulk(b':'),
            },
        ),
        (
            format!("{set}*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nvv\r\n{set}"),
            AofError::Protocol {
                offset: 27,
                error: ProtocolError::MissingCrlf,
            },
        ),
        (
            format!("{set}*x\r\n{set}"),
            AofError::Protocol {
                offset: 27,
                error: ProtocolError::InvalidMultibulkLength,
            },
        ),
        (
            format!("{set}*2\r\n$-1\r\n{set}"),
            AofError::Protocol {
                offset: 27,
                error: ProtocolError::InvalidBulkLength,
            },
        ),
        (
            format!("{set}*0\r\n{set}"),
            AofError::EmptyCommand { offset: 27 },
        ),
        (
            format!("{set}*-1\r\n{set}"),
            AofError::EmptyCommand { offset: 27 },
        ),
        (
            "*1\r\n$5\r\nMULTI\r\n*1\r\n$5\r\nmulti\r\n".to_string(),
            AofError::NestedMulti { offset: 15 },
        ),
        (
            format!("{set}*1\r\n$4\r\nEXEC\r\n"),
            AofError::ExecWithoutMulti { offset: 27 },
        ),
        (
            format!("{set}*2\r\n$6\r\nSELECT\r\n$2\r\n-1\r\n"),
            AofError::BadSelect { offset: 27 },
        ),
        (
            format!("{set}*3\r\n$6\r\nSELECT\r\n$1\r\n1\r\n$1\r\n2\r\n"),
            AofError::BadSelect { offset: 27 },
        ),
        (
            format!("#{}", "x".repeat(70_000)),
            AofError::AnnotationTooLong { offset: 0 },
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(load(bytes.as_bytes()), Err(want), "{bytes:?}");
    }
}

#[test]
fn error_messages_read_well() {
    let e = load(b"*1\r\n$4\r\nPING\r\n$3\r\nfoo\r\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad AOF format at offset 14: expected '*', got '$'"
    );
}

fn store_with(items: &[(usize, &str, &str, Option<u64>)]) -> Store {
    let mut store = Store::default();
    for &(db, k, v, at) in items {
        store
            .db(db)
            .insert(k.as_bytes(), Value::str(v.as_bytes()), at, NOW);
    }
    store
}

fn snapshot(store: &Store) -> Vec<(usize, Vec<u8>, Value, Option<u64>)> {
    let mut out: Vec<_> = store
        .dbs()
        .iter()
        .enumerate()
        .flat_map(|(i, db)| {
            db.entries(NOW)
                .map(move |(k, v, at)| (i, k.to_vec(), v.clone(), at))
        })
        .collect();
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out
}

#[test]
fn rewrite_writes_set_with_pxat_per_db() {
    let store = store_with(&[
        (0, "a", "1", None),
        (2, "b", "x y", Some(NOW + 1500)),
        (2, "gone", "z", Some(NOW)),
    ]);
    let bytes = rewrite(&store, NOW);
    assert_eq!(
        bytes,
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*5\r\n$3\r\nSET\r\n$1\r\nb\r\n$3\r\nx y\r\n$4\r\nPXAT\r\n$13\r\n1700000001500\r\n"
    );
    let mut back = Store::default();
    let summary = replay(&mut back, &load(&bytes).unwrap(), NOW).unwrap();
    assert_eq!(summary.commands, 2);
    assert_eq!(snapshot(&back), snapshot(&store));
}

#[test]
fn replay_runs_commands_through_the_executor() {
    let mut log = AofWriter::new();
    log.append(0, &["SET", "a", "1"]);
    log.append(1, &["SET", "b", "2", "PXAT", "1700000009000"]);
    log.begin_transaction(1);
    log.append(1, &["SET", "c", "3"]);
    log.append(0, &["DEL", "a"]);
    log.end_transaction();
    // A torn transaction at the end is not applied.
    log.begin_transaction(0);
    log.append(0, &["SET", "torn", "1"]);
    let bytes = log.take();
    let loaded = load(&bytes).unwrap();
    assert!(loaded.truncated);

    let mut store = Store::default();
    store.commands_processed = 7;
    let summary = replay(&mut store, &loaded, NOW).unwrap();
    assert_eq!(summary.commands, 4);
    assert_eq!(store.commands_processed, 7, "replay is not counted");
    assert_eq!(
        snapshot(&store),
        [
            (1, b"b".to_vec(), Value::str(b"2"), Some(1_700_000_009_000)),
            (1, b"c".to_vec(), Value::str(b"3"), None),
        ]
    );
}

#[test]
fn replay_errors_name_the_command() {
    let run = |bytes: &[u8], databases: usize| {
        let mut store = Store::new(crate::StoreConfig {
            databases,
            ..Default::default()
        });
        replay(&mut store, &load(bytes).unwrap(), NOW)
    };
    let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    let mut bad = set.to_vec();
    bad.extend_from_slice(b"*2\r\n$5\r\nNOSUCH\r\n$1\r\nk\r\n");
    let bad = String::from_utf8(bad)
        .unwrap()
        .replace("$5\r\nNOSUCH", "$6\r\nNOSUCH");
    assert_eq!(
        run(bad.as_bytes(), 16),
        Err(AofError::CommandFailed {
            offset: 27,
            reply: "ERR unknown command 'NOSUCH', with args beginning with: 'k' ".into()
        })
    );
    let mut wrong_db = b"*2\r\n$6\r\nSELECT\r\n$1\r\n4\r\n".to_vec();
    wrong_db.extend_from_slice(set);
    assert_eq!(
        run(&wrong_db, 4),
        Err(AofError::DbOutOfRange {
            db: 4,
            offset: 23,
            databases: 4
        })
    );
    let mut quit = set.to_vec();
    quit.extend_from_slice(b"*1\r\n$4\r\nQUIT\r\n");
    assert_eq!(
        run(&quit, 16),
        Err(AofError::NotReplayable {
            offset: 27,
            name: "QUIT".into()
        })
    );
    let subscribe = b"*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n";
    assert_eq!(
        run(subscribe, 16),
        Err(AofError::NotReplayable {
            offset: 0,
            name: "SUBSCRIBE".into()
        })
    );
}

#[test]
fn rdb_preamble_then_commands() {
    let store = store_with(&[
        (0, "a", "1", None),
        (3, "b", "2", Some(NOW + 10)),
        (3, "c", "3", Some(NOW + 20)),
    ]);
    let mut bytes = rdb::to_vec(&store, NOW);
    let rdb_len = bytes.len();
    let mut log = AofWriter::new();
    log.append(3, &["SET", "d", "4"]);
    log.append(0, &["DEL", "a"]);
    bytes.extend_from_slice(&log.take());

    let loaded = load(&bytes).unwrap();
    assert_eq!(loaded.preamble.len(), 3);
    assert_eq!(loaded.command_count(), 2);
    assert_eq!(loaded.valid_len, bytes.len());
    // A key that expired since the snapshot is not loaded.
    let mut back = Store::default();
    let summary = replay(&mut back, &loaded, NOW + 10).unwrap();
    assert_eq!(
        summary,
        ReplaySummary {
            preamble_keys: 2,
            commands: 2
        }
    );
    let got: Vec<_> = snapshot(&back).into_iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(got, [(3, b"c".to_vec()), (3, b"d".to_vec())]);

    // A torn preamble is an error, not a truncated log: the base of the file is gone.
    assert!(matches!(
        load(&bytes[..rdb_len - 1]),
        Err(AofError::Preamble(RdbError::UnexpectedEof { .. }))
    ));
}

proptest! {
    /// Whatever the writer writes loads back to the same commands, and every split point
    /// of it loads a prefix of them.
    #[test]
    fn writer_load_round_trip(
        records in proptest::collection::vec(
            (0usize..4, proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 1..4), any::<bool>()),
            0..12,
        ),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut log = AofWriter::new();
        let mut want = Vec::new();
        for (db, args, tx) in &records {
            // Keep clear of the words the loader interprets.
            let mut args = args.clone();
            args[0] = b"CMD".to_vec();
            if *tx {
                log.begin_transaction(*db);
                log.append(*db, &args);
                log.end_transaction();
                want.push(AofEntry::Transaction(vec![(*db, args.clone())].into_iter().map(|(db, a)| AofCommand { db, args: a.into_iter().map(Bytes::from).collect(), offset: 0 }).collect()));
            } else {
                log.append(*db, &args);
                want.push(AofEntry::Command(AofCommand { db: *db, args: args.into_iter().map(Bytes::from).collect(), offset: 0 }));
            }
        }
        let bytes = log.take();
        let strip = |entries: Vec<AofEntry>| -> Vec<AofEntry> {
            entries.into_iter().map(|e| match e {
                AofEntry::Command(c) => AofEntry::Command(AofCommand { offset: 0, ..c }),
                AofEntry::Transaction(cs) => AofEntry::Transaction(cs.into_iter().map(|c| AofCommand { offset: 0, ..c }).collect()),
            }).collect()
        };
        let loaded = load(&bytes).unwrap();
        prop_assert!(!loaded.truncated);
        prop_assert_eq!(strip(loaded.entries), want.clone());

        let cut = cut.index(bytes.len() + 1);
        let part = load(&bytes[..cut]).unwrap();
        prop_assert!(part.valid_len <= cut);
        prop_assert_eq!(part.truncated, part.valid_len != cut);
        let n = part.entries.len();
        prop_assert_eq!(strip(part.entries), want[..n].to_vec());
        // The valid prefix alone loads the same, untruncated.
        let again = load(&bytes[..part.valid_len]).unwrap();
        prop_assert!(!again.truncated);
        prop_assert_eq!(again.entries.len(), n);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(prop_oneof![Just(b'*'), Just(b'$'), Just(b'\r'), Just(b'\n'), Just(b'1'), any::<u8>()], 0..200)) {
        if let Ok(loaded) = load(&bytes) {
            prop_assert!(loaded.valid_len <= bytes.len());
            let _ = replay(&mut Store::default(), &loaded, NOW);
        }
    }
}

#[test]
fn replays_what_redis_wrote() {
    let loaded = load(REDIS_INCR).unwrap();
    let mut store = Store::default();
    let summary = replay(&mut store, &loaded, NOW).unwrap();
    assert_eq!(summary.commands, 8);
    let ab = "ab".repeat(30);
    assert_eq!(
        snapshot(&store),
        [
            (0, b"a".to_vec(), Value::str(b"1"), None),
            (0, b"b".to_vec(), Value::str(b"hello"), None),
            (0, b"c".to_vec(), Value::str(ab.as_bytes()), None),
            (0, b"e".to_vec(), Value::str(b"5"), Some(1_795_681_497_012)),
            (0, b"x".to_vec(), Value::str(b"2"), Some(1_795_681_497_023)),
            (3, b"y".to_vec(), Value::str(b"2"), None),
        ]
    );
}

#[test]
fn effects_log_entries_append_as_they_come() {
    let mut store = Store::default();
    store.set_effects_log(true);
    let mut session = Session::new(1, SessionConfig::default());
    session.handle_bytes(
        b"SELECT 2\r\nSET a 1 EX 100\r\nMULTI\r\nSET b 2\r\nSELECT 3\r\nDEL nothing\r\nSET c 3\r\nEXEC\r\n",
    );
    session.process(&mut store, NOW);
    let mut log = AofWriter::new();
    while let Some(effect) = store.poll_effect() {
        log.append_effect(&effect);
    }
    let loaded = load(log.poll_transmit()).unwrap();
    assert_eq!(
        flat(&loaded),
        [
            w(2, &["SET", "a", "1", "PXAT", "1700000100000"]),
            w(usize::MAX, &["MULTI"]),
            w(2, &["SET", "b", "2"]),
            w(3, &["SET", "c", "3"]),
            w(usize::MAX, &["EXEC"]),
        ]
    );
    let mut back = Store::default();
    replay(&mut back, &loaded, NOW).unwrap();
    assert_eq!(snapshot(&back), snapshot(&store));
}

#[test]
fn replay_does_not_wait_in_a_blocking_command() {
    // Redis never logs BLPOP, but a hand-written file may hold one: it must not stall the
    // commands after it (Redis's AOF client may not block either).
    let mut log = AofWriter::new();
    log.append(0, &["BLPOP", "empty", "0"]);
    log.append(0, &["SET", "after", "1"]);
    let bytes = log.take();
    let mut store = Store::default();
    let summary = replay(&mut store, &load(&bytes).unwrap(), NOW).unwrap();
    assert_eq!(summary.commands, 2);
    assert_eq!(store.db(0).get(b"after", NOW), Some(&Value::str(b"1")));
}
