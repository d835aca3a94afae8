//! CLIENT PAUSE: the server-wide pause and the connections it holds.
//!
//! A pause lasts until a time (Unix ms) and holds either every command (`ALL`) or only those
//! that write or may replicate (`WRITE`). Pauses add up as in Redis 7.0: the later end and
//! the stricter kind win, so a short `WRITE` pause does not cut a long `ALL` one short.
//!
//! Nothing here stops a connection: a session checks [`Store::client_pause`] before each
//! command and holds the command back itself (see `Session::process`), waking at the
//! pause's end through its own `poll_timeout`. The store only remembers who is held, so
//! that CLIENT UNPAUSE can wake them at once with a [`Message::Resume`] each.
//!
//! While a pause lasts the keyspace stays as it is, as in Redis: active expiry does not run
//! ([`Store::handle_timeout`] skips it, [`Store::poll_timeout`] waits for the pause's end),
//! and a key read past its time answers as gone but stays until the pause is over. The
//! databases are told when a pause starts and when it is found over, which every command
//! finds out first (`Session::execute` asks [`Store::client_pause`]).

use std::collections::BTreeSet;

use super::{ClientId, Message, Store};

/// What CLIENT PAUSE holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PauseKind {
    /// `WRITE`: the commands that write or may replicate (PUBLISH, PFCOUNT, EVAL…), and an
    /// EXEC with such a command queued.
    Write,
    /// `ALL`: every command.
    All,
}

/// The pause of a store, if any, and the connections it holds.
#[derive(Debug, Default)]
pub(crate) struct ClientPause {
    /// Until when (Unix ms, exclusive), and what it holds.
    state: Option<(u64, PauseKind)>,
    /// Connections with a command held back, to wake at CLIENT UNPAUSE.
    held: BTreeSet<ClientId>,
}

impl ClientPause {
    /// The end of the pause in effect (or of one that passed but nobody looked at since).
    pub fn end_ms(&self) -> Option<u64> {
        self.state.map(|(end, _)| end)
    }
}

impl Store {
    /// CLIENT PAUSE: pauses clients until `end_ms`, merged with a pause already in effect
    /// (the later end and the stricter kind win). An end not after `now_ms` pauses nothing
    /// new, but still makes a running pause stricter, as in Redis.
    pub(crate) fn pause_clients(&mut self, end_ms: u64, kind: PauseKind, now_ms: u64) {
        let merged = match self.client_pause(now_ms) {
            Some((end, k)) => (end.max(end_ms), k.max(kind)),
            None => (end_ms, kind),
        };
        self.pause.state = Some(merged);
        self.pause_expiry(true);
    }

    /// CLIENT UNPAUSE: ends the pause and wakes every connection it held (each gets a
    /// [`Message::Resume`]).
    pub(crate) fn unpause_clients(&mut self) {
        self.pause.state = None;
        self.pause_expiry(false);
        for id in std::mem::take(&mut self.pause.held) {
            self.deliver(id, Message::Resume);
        }
    }

    /// The pause in effect at `now_ms`: its end and kind. Forgets a pause that is over.
    pub(crate) fn client_pause(&mut self, now_ms: u64) -> Option<(u64, PauseKind)> {
        match self.pause.state {
            Some((end, kind)) if now_ms < end => Some((end, kind)),
            Some(_) => {
                self.pause.state = None;
                self.pause_expiry(false);
                None
            }
            None => None,
        }
    }

    fn pause_expiry(&mut self, on: bool) {
        for i in 0..self.databases() {
            self.db(i).set_expiry_paused(on);
        }
    }

    /// Notes that connection `id` holds a command back until the pause ends.
    pub(crate) fn hold_client(&mut self, id: ClientId) {
        self.pause.held.insert(id);
    }

    /// Connection `id` no longer holds a command back (it ran it, or closed).
    pub(crate) fn release_client(&mut self, id: ClientId) {
        self.pause.held.remove(&id);
    }

    /// Connections holding a command back because of CLIENT PAUSE.
    pub fn paused_clients(&self) -> usize {
        self.pause.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_merge_to_the_later_end_and_the_stricter_kind() {
        let mut s = Store::default();
        assert_eq!(s.client_pause(1000), None);
        s.pause_clients(1200, PauseKind::All, 1000);
        s.pause_clients(1050, PauseKind::Write, 1000);
        assert_eq!(s.client_pause(1100), Some((1200, PauseKind::All)));
        s.pause_clients(1500, PauseKind::Write, 1100);
        assert_eq!(s.client_pause(1199), Some((1500, PauseKind::All)));
        assert_eq!(s.client_pause(1500), None);
        // Over: a new pause starts afresh.
        s.pause_clients(1600, PauseKind::Write, 1500);
        assert_eq!(s.client_pause(1500), Some((1600, PauseKind::Write)));
        // An end in the past adds nothing but strictness.
        s.pause_clients(0, PauseKind::All, 1500);
        assert_eq!(s.client_pause(1500), Some((1600, PauseKind::All)));
    }

    #[test]
    fn unpause_wakes_the_held_clients_once() {
        let mut s = Store::default();
        s.pause_clients(2000, PauseKind::All, 1000);
        s.hold_client(7);
        s.hold_client(9);
        s.hold_client(7);
        s.release_client(9);
        assert_eq!(s.paused_clients(), 1);
        s.unpause_clients();
        assert_eq!(s.client_pause(1000), None);
        let d = s.poll_delivery().unwrap();
        assert_eq!((d.to, d.message), (7, Message::Resume));
        assert_eq!(s.poll_delivery(), None);
        assert_eq!(s.paused_clients(), 0);
    }
}
