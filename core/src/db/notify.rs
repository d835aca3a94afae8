//! Keyspace notifications (`notify-keyspace-events`), as Redis 7.0's `notify.c`.
//!
//! Every change to a key is one key event: the database, the key and Redis's event name
//! (`set`, `lpush`, `expired`…) with the class it belongs to. Commands report theirs with
//! `Store::notify` as they make the change, in the order Redis's commands call
//! `notifyKeyspaceEvent`; the keyspace itself reports what it does on its own — a key
//! created (`new`), removed because its time passed (`expired`), looked up and missing
//! (`keymiss`) — through its event queue, which the store drains before the command's next
//! event and after the command (`Store::flush_key_events`). With the class enabled,
//! each event is published on `__keyspace@<db>__:<key>` (message: the event) when `K` is
//! set, then on `__keyevent@<db>__:<event>` (message: the key) when `E` is.

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME…).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: keys removed because their time passed.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: keys evicted under `maxmemory`.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: a read found no key (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module key types.
pub const MODULE: u32 = 1 << 12;
/// `n`: a key was created (not part of `A`).
pub const NEW: u32 = 1 << 13;
/// `A`: `g$lshzxetd`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The error CONFIG SET gives for a letter that is not a class.
pub(crate) const BAD_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// The flags of a `notify-keyspace-events` value, or `None` if a letter is not a class.
pub fn parse_flags(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0, |flags, c| {
        let flag = match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
        Some(flags | flag)
    })
}

/// The value CONFIG GET shows for `flags`, as Redis writes it: `A` for all of `g$lshzxetd`
/// (and then, as in Redis 7.0, no `n`), then `K`, `E`, `m`.
pub fn format_flags(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (flag, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & flag != 0 {
                s.push(c);
            }
        }
    }
    for (flag, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & flag != 0 {
            s.push(c);
        }
    }
    s
}

/// What the keyspace reports on its own, queued in the database until the store drains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbEvent {
    /// Removed because its time passed, lazily or actively.
    Expired,
    /// Created.
    New,
    /// Looked up by a read and missing.
    Miss,
    /// Changed: written, removed or expired (Redis's `signalModifiedKey`), for client-side
    /// caching's invalidations.
    Modified,
}

impl DbEvent {
    /// The bit of [`KeyEvents::mask`] that asks for this event.
    pub(crate) const fn bit(self) -> u8 {
        match self {
            DbEvent::Expired => 1,
            DbEvent::New => 2,
            DbEvent::Miss => 4,
            DbEvent::Modified => 8,
        }
    }
}

/// A database's queue of [`DbEvent`]s. Empty and free unless someone consumes them: the
/// effects log wants expiries, notifications the classes they are set for, client-side
/// caching every change while some client tracks.
#[derive(Debug, Default)]
pub(crate) struct KeyEvents {
    /// Which events to queue ([`DbEvent::bit`]).
    pub mask: u8,
    pub queue: Vec<(DbEvent, Box<[u8]>)>,
}

impl KeyEvents {
    #[inline]
    pub fn wants(&self, event: DbEvent) -> bool {
        self.mask & event.bit() != 0
    }

    #[inline]
    pub fn push(&mut self, event: DbEvent, key: &[u8]) {
        if self.wants(event) {
            self.queue.push((event, key.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_and_print_as_redis() {
        // What redis-server 7.0.15 answers to CONFIG GET after CONFIG SET of each value.
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("KEA", "AKE"),
            ("AKE", "AKE"),
            ("Kg$", "g$K"),
            ("nK", "nK"),
            ("mE", "Em"),
            ("A", "A"),
            ("g$lshzxetd", "A"),
            ("g$lshzxetdn", "A"),
            ("KEAmn", "AKEm"),
            ("Ex", "xE"),
            ("K", "K"),
        ];
        for &(set, get) in cases {
            let flags = parse_flags(set.as_bytes()).unwrap();
            assert_eq!(format_flags(flags), get, "{set:?}");
        }
        assert_eq!(parse_flags(b"q"), None);
        assert_eq!(parse_flags(b"KEq"), None);
    }
}
