//! CONFIG SET over arbitrary values (a client's bytes; later a redis.conf line): never
//! panics, a refusal changes nothing, and for the settings whose text the
//! server writes itself, what CONFIG GET shows sets back to the same value.
//!
//! Names are mostly real parameters from the table, so the fuzzer spends its time inside
//! the value parsers.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use redish_core::db::{Config, PARAMS};

/// Settings whose CONFIG GET text must parse back to itself.
const ROUND_TRIP: &[&str] = &["notify-keyspace-events"];

fuzz_target!(|input: Vec<(u8, bool, Vec<u8>, Vec<u8>)>| {
    let pairs: Vec<(Bytes, Bytes)> = input
        .into_iter()
        .map(|(pick, raw_name, name, value)| {
            let name = if raw_name {
                Bytes::from(name)
            } else {
                Bytes::from_static(PARAMS[usize::from(pick) % PARAMS.len()].name.as_bytes())
            };
            (name, Bytes::from(value))
        })
        .collect();
    let mut config = Config::default();
    let before = config.clone();
    match config.set_many(&pairs) {
        Err(e) => {
            // The text may quote the client's bytes, CR and LF included: the executor's
            // `CmdError::to_frame` maps those to spaces, as Redis does.
            let _ = e.to_string();
            assert_eq!(config, before, "a refused CONFIG SET changed something");
        }
        Ok(()) => {
            for (name, shown) in config.all() {
                if !ROUND_TRIP.contains(&name) {
                    continue;
                }
                let mut again = Config::default();
                again
                    .set(name, &shown)
                    .expect("CONFIG GET's text sets back");
                let back = again.all().find(|(n, _)| *n == name).map(|(_, v)| v);
                assert_eq!(
                    back.as_deref(),
                    Some(shown.as_str()),
                    "{name} did not round-trip"
                );
            }
        }
    }
});
