//! What the rest of the server can see of a running script without the store.
//!
//! A script runs under the store's lock, as it runs on Redis's one thread. Redis stays
//! reachable while a script runs too long: past `busy-reply-threshold` its Lua hook serves
//! other clients, answers them `-BUSY`, and lets SCRIPT KILL, FUNCTION KILL and SHUTDOWN
//! NOSAVE through. Here the other connections cannot take the store, so what they need is
//! kept apart in a [`ScriptWatch`], shared (`Arc`) between the store, the engine's
//! instruction hook and the adapters' connections: atomics only, no lock, no clock — the
//! times are the callers'.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;

/// A script is running (EVAL and kin).
const EVAL: u8 = 1;
/// A function is running (FCALL and kin).
const FUNCTION: u8 = 2;
/// The running script called a write command: SCRIPT KILL can no longer stop it.
const WROTE: u8 = 4;
/// SCRIPT KILL, FUNCTION KILL or SHUTDOWN NOSAVE asked it to stop.
const KILL: u8 = 8;
/// Some connection found it past the threshold (and logged it, once).
const TIMED_OUT: u8 = 16;
/// The engine said it runs long, and the adapter's hook was called.
const LONG: u8 = 32;

/// See [`ScriptWatch::running_long`].
const LONG_TICKS: u64 = 10;

/// Redis's reply to a command refused while a script runs too long.
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// The same, while a function runs.
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
/// The error a killed script fails with (the engine adds where it stood).
pub const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// The running script, as seen from outside the store.
#[derive(Default)]
pub struct ScriptWatch {
    state: AtomicU8,
    /// Unix ms the running script started at.
    started_ms: AtomicU64,
    /// `busy-reply-threshold` when it started, in ms (0: never busy).
    threshold_ms: AtomicU64,
    /// Calls of [`ScriptWatch::running_long`] by the running script.
    ticks: AtomicU64,
    /// The adapter's, called once a script runs long (see [`ScriptWatch::running_long`]).
    on_long: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for ScriptWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptWatch")
            .field("state", &self.state)
            .field("started_ms", &self.started_ms)
            .finish()
    }
}

impl ScriptWatch {
    /// A script (`eval`) or a function starts at `now_ms`.
    pub fn begin(&self, eval: bool, now_ms: u64, threshold_ms: u64) {
        self.started_ms.store(now_ms, Ordering::Relaxed);
        self.threshold_ms.store(threshold_ms, Ordering::Relaxed);
        self.ticks.store(0, Ordering::Relaxed);
        let kind = if eval { EVAL } else { FUNCTION };
        self.state.store(kind, Ordering::Release);
    }

    /// The script ended.
    pub fn end(&self) {
        self.state.store(0, Ordering::Release);
    }

    /// The running script called a write command.
    pub fn note_write(&self) {
        self.state.fetch_or(WROTE, Ordering::Relaxed);
    }

    /// Sets what the adapter does once per script that runs long: Tokio's adapter lets
    /// the runtime move the other connections off the thread the script holds.
    pub fn on_running_long(&self, f: Box<dyn Fn() + Send + Sync>) {
        let _ = self.on_long.set(f);
    }

    /// Called by the engine from its instruction hook (every 100,000 instructions): the
    /// tenth call of a script (a million instructions: tens of milliseconds) calls the
    /// adapter's [`ScriptWatch::on_running_long`].
    pub fn running_long(&self) {
        if self.ticks.fetch_add(1, Ordering::Relaxed) + 1 < LONG_TICKS {
            return;
        }
        if self.state.fetch_or(LONG, Ordering::Relaxed) & LONG == 0 {
            if let Some(f) = self.on_long.get() {
                f();
            }
        }
    }

    /// Checked by the engine's instruction hook: fail the script now.
    pub fn kill_requested(&self) -> bool {
        self.state.load(Ordering::Relaxed) & KILL != 0
    }

    /// The error for commands refused now, if a script has run past its threshold at
    /// `now_ms`. The first caller to find it so also gets `true`: it logs the slow script,
    /// as Redis does once per script.
    pub fn busy(&self, now_ms: u64) -> Option<(&'static str, bool)> {
        let state = self.state.load(Ordering::Acquire);
        if state & (EVAL | FUNCTION) == 0 {
            return None;
        }
        let threshold = self.threshold_ms.load(Ordering::Relaxed);
        let started = self.started_ms.load(Ordering::Relaxed);
        if threshold == 0 || now_ms.saturating_sub(started) < threshold {
            return None;
        }
        let first = self.state.fetch_or(TIMED_OUT, Ordering::Relaxed) & TIMED_OUT == 0;
        let error = if state & EVAL != 0 {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        };
        Some((error, first))
    }

    /// How long the running script has run at `now_ms`, for the log.
    pub fn running_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_ms.load(Ordering::Relaxed))
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL: stops the running script unless it wrote,
    /// with Redis 7.0's replies.
    pub fn kill(&self, eval: bool) -> Result<(), &'static str> {
        let state = self.state.load(Ordering::Acquire);
        if state & (EVAL | FUNCTION) == 0 {
            return Err("NOTBUSY No scripts in execution right now.");
        }
        if state & WROTE != 0 {
            return Err("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
        }
        match (eval, state & EVAL != 0) {
            (true, false) => Err(BUSY_FUNCTION),
            (false, true) => Err(BUSY_EVAL),
            _ => {
                self.state.fetch_or(KILL, Ordering::Release);
                Ok(())
            }
        }
    }

    /// SHUTDOWN NOSAVE: the script stops whether it wrote or not, so the server can.
    pub fn kill_for_shutdown(&self) {
        if self.state.load(Ordering::Acquire) & (EVAL | FUNCTION) != 0 {
            self.state.fetch_or(KILL, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_only_past_the_threshold_and_logged_once() {
        let w = ScriptWatch::default();
        assert_eq!(w.busy(10_000), None);
        w.begin(true, 1_000, 5_000);
        assert_eq!(w.busy(5_999), None);
        assert_eq!(w.busy(6_000), Some((BUSY_EVAL, true)));
        assert_eq!(w.busy(6_001), Some((BUSY_EVAL, false)));
        w.end();
        assert_eq!(w.busy(7_000), None);
        w.begin(false, 1_000, 0);
        assert_eq!(w.busy(u64::MAX), None, "threshold 0 never answers busy");
        w.begin(false, 1_000, 10);
        assert_eq!(
            w.busy(2_000),
            Some((BUSY_FUNCTION, true)),
            "a new script logs again"
        );
    }

    #[test]
    fn kill_follows_redis() {
        let w = ScriptWatch::default();
        assert!(w.kill(true).unwrap_err().starts_with("NOTBUSY"));
        w.begin(true, 0, 1);
        assert!(w.kill(false).unwrap_err().starts_with("BUSY"));
        assert!(!w.kill_requested());
        assert_eq!(w.kill(true), Ok(()));
        assert!(w.kill_requested());
        w.begin(false, 0, 1);
        assert!(!w.kill_requested(), "a new script starts unkilled");
        assert_eq!(w.kill(true), Err(BUSY_FUNCTION));
        w.note_write();
        assert!(w.kill(false).unwrap_err().starts_with("UNKILLABLE"));
        assert!(!w.kill_requested());
        w.kill_for_shutdown();
        assert!(w.kill_requested());
        w.end();
        w.kill_for_shutdown();
        assert!(!w.kill_requested(), "nothing to stop");
    }
}
