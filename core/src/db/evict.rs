//! `maxmemory` eviction, as Redis 7.0's `evict.c`, and the per-key access field it ranks
//! keys by.
//!
//! # The access field
//!
//! Every key carries Redis's 24-bit `lru` field. Under an LRU policy (or no policy) it is
//! the LRU clock — Unix seconds modulo 2^24 (`LRU_CLOCK_RESOLUTION` 1000 ms) — of the last
//! access. Under an LFU policy it is the minutes of the last decrement (16 bits) and a
//! logarithmic access counter (8 bits, Morris counter): new keys start at 5
//! (`LFU_INIT_VAL`), an access increments the counter with probability
//! `1 / ((counter - 5) * lfu-log-factor + 1)`, and every `lfu-decay-time` minutes without
//! access take one off. Accesses are the lookups Redis counts as accesses (reads and
//! writes; not OBJECT, TYPE, TTL, EXISTS…), see `db/keyspace.rs`.
//!
//! # Eviction
//!
//! Before a client's command, with `maxmemory` set, the executor calls
//! [`Store::perform_evictions`]. Over the limit it removes keys until the memory reading
//! dropped by the excess, choosing them as the policy says:
//!
//! - `*-lru`, `*-lfu`, `volatile-ttl`: from a pool of 16 candidates kept across calls and
//!   refilled from `maxmemory-samples` keys sampled in every database, best candidate first
//!   (longest idle, lowest frequency, soonest expiry);
//! - `*-random`: a random key, visiting the databases in turn;
//! - `volatile-*` choose among keys with an expiry only; `noeviction` evicts nothing.
//!
//! Each eviction counts in INFO `evicted_keys`, is an `evicted` key event (notifications
//! class `e`, WATCH, client-side caching) and a `DEL` in the effects log. Past the time
//! `maxmemory-eviction-tenacity` allows (checked every 16 keys, with the gauge's clock), the
//! pass stops and the command runs; [`Store::poll_timeout`] then asks for an immediate
//! [`Store::handle_timeout`], which goes on evicting, as Redis's eviction time event.
//! A command flagged `denyoom` is refused with `-OOM` only when nothing is left to evict.

use super::notify;
use super::{Db, MaxmemoryPolicy, Rng, Store};

/// `LRU_CLOCK_MAX`: the LRU clock has 24 bits.
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// `LFU_INIT_VAL`: the counter of a new key.
pub(crate) const LFU_INIT_VAL: u8 = 5;
/// `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

/// The LRU clock at `now_ms`.
fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) & u64::from(LRU_CLOCK_MAX)) as u32
}

/// Milliseconds since the access `lru` records, the clock wrapping once at most (Redis's
/// `estimateObjectIdleTime`).
pub(crate) fn idle_ms(lru: u32, now_ms: u64) -> u64 {
    let clock = lru_clock(now_ms);
    let lru = lru & LRU_CLOCK_MAX;
    let ticks = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    };
    u64::from(ticks) * 1000
}

/// Minutes, 16 bits: the LFU decrement time.
fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 1000 / 60) & 65535) as u32
}

/// How accesses update the `lru` field: the settings it depends on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AccessPolicy {
    /// An LFU policy is selected: the field is a counter.
    pub lfu: bool,
    /// `lfu-log-factor`.
    pub log_factor: u32,
    /// `lfu-decay-time`, minutes.
    pub decay_time: u32,
}

impl AccessPolicy {
    /// The field of a new key.
    pub fn initial(&self, now_ms: u64) -> u32 {
        if self.lfu {
            (lfu_minutes(now_ms) << 8) | u32::from(LFU_INIT_VAL)
        } else {
            lru_clock(now_ms)
        }
    }

    /// The field after an access at `now_ms` (Redis's `updateLFU`, or the LRU clock).
    pub fn touch(&self, lru: u32, now_ms: u64, rng: &mut Rng) -> u32 {
        if !self.lfu {
            return lru_clock(now_ms);
        }
        let counter = self.frequency(lru, now_ms);
        let counter = self.log_incr(counter, rng);
        (lfu_minutes(now_ms) << 8) | u32::from(counter)
    }

    /// The counter with the decay since its last decrement applied (`LFUDecrAndReturn`).
    pub fn frequency(&self, lru: u32, now_ms: u64) -> u8 {
        let ldt = lru >> 8;
        let counter = (lru & 255) as u8;
        let now = lfu_minutes(now_ms);
        let elapsed = if now >= ldt {
            now - ldt
        } else {
            65535 - ldt + now
        };
        let periods = elapsed.checked_div(self.decay_time).unwrap_or(0);
        counter.saturating_sub(periods.min(255) as u8)
    }

    /// `LFULogIncr`: one more access, counted with probability falling as the counter grows.
    fn log_incr(&self, counter: u8, rng: &mut Rng) -> u8 {
        if counter == 255 {
            return 255;
        }
        let r = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
        let p = 1.0 / (base * f64::from(self.log_factor) + 1.0);
        if r < p {
            counter + 1
        } else {
            counter
        }
    }

    /// The field RESTORE's IDLETIME / FREQ (or an RDB's IDLE / FREQ) give, as Redis's
    /// `objectSetLRUOrLFU`: FREQ under LFU, IDLETIME otherwise; `None` to leave it.
    pub fn restored(&self, freq: Option<u8>, idle_s: Option<u64>, now_ms: u64) -> Option<u32> {
        if self.lfu {
            return freq.map(|f| (lfu_minutes(now_ms) << 8) | u32::from(f));
        }
        let idle = idle_s?;
        let clock = i64::from(lru_clock(now_ms));
        let mut abs = clock - i64::try_from(idle).unwrap_or(i64::MAX).min(1 << 40);
        if abs < 0 {
            abs = abs.rem_euclid(i64::from(LRU_CLOCK_MAX));
        }
        Some(abs as u32)
    }
}

/// What [`Store::perform_evictions`] found (Redis's `EVICT_OK`, `EVICT_RUNNING`,
/// `EVICT_FAIL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// Within the limit (or eviction may not run now).
    Ok,
    /// Over the limit, evicting goes on at the next [`Store::handle_timeout`].
    Running,
    /// Over the limit with nothing (more) to evict: refuse what may grow memory.
    Fail,
}

/// One candidate of the pool.
#[derive(Debug, Clone)]
struct Candidate {
    /// Higher is a better candidate: idle milliseconds, 255 - frequency, or
    /// `u64::MAX - expiry`.
    score: u64,
    key: Box<[u8]>,
    db: usize,
}

/// The state of eviction kept across commands.
#[derive(Debug)]
pub(crate) struct Evictor {
    /// Candidates, ascending by score; `None` slots are empty (always at the end).
    pool: [Option<Candidate>; POOL_SIZE],
    rng: Rng,
    /// `*-random`: the database to look in first next time.
    next_db: usize,
    /// The eviction time event is on.
    pub running: bool,
    /// INFO `evicted_keys`.
    pub evicted_keys: u64,
    /// Since when (ms) the memory stayed over the limit, if it is.
    pub exceeded_since_ms: Option<u64>,
    /// INFO `total_eviction_exceeded_time`, ms, not counting the current stretch.
    pub exceeded_total_ms: u64,
}

impl Evictor {
    pub fn new(seed: u64) -> Evictor {
        Evictor {
            pool: Default::default(),
            rng: Rng::new(seed ^ 0xe71c_7e71_c7e7_1c7e),
            next_db: 0,
            running: false,
            evicted_keys: 0,
            exceeded_since_ms: None,
            exceeded_total_ms: 0,
        }
    }

    /// Offers a candidate to the pool, as Redis's `evictionPoolPopulate` places it.
    fn offer(&mut self, score: u64, key: &[u8], db: usize) {
        let pool = &mut self.pool;
        let mut k = 0;
        while k < POOL_SIZE && pool[k].as_ref().is_some_and(|c| c.score < score) {
            k += 1;
        }
        if k == 0 && pool[POOL_SIZE - 1].is_some() {
            // Worse than every candidate, and no room.
            return;
        }
        if k < POOL_SIZE && pool[k].is_none() {
            // An empty slot.
        } else if pool[POOL_SIZE - 1].is_none() {
            // Room on the right: shift k.. right.
            pool[k..].rotate_right(1);
        } else {
            // Full: drop the worst (leftmost) and insert at k - 1.
            k -= 1;
            pool[..=k].rotate_left(1);
        }
        pool[k] = Some(Candidate {
            score,
            key: key.into(),
            db,
        });
    }
}

/// `maxmemory-eviction-tenacity` as a time limit in microseconds (`evictionTimeLimitUs`).
fn time_limit_us(tenacity: u64) -> u64 {
    match tenacity {
        0..=10 => 50 * tenacity,
        11..=99 => (500.0 * 1.15f64.powf(tenacity as f64 - 10.0)) as u64,
        _ => u64::MAX,
    }
}

fn is_volatile(p: MaxmemoryPolicy) -> bool {
    matches!(
        p,
        MaxmemoryPolicy::VolatileLru
            | MaxmemoryPolicy::VolatileLfu
            | MaxmemoryPolicy::VolatileRandom
            | MaxmemoryPolicy::VolatileTtl
    )
}

impl Store {
    /// The access settings the databases follow, from the current settings.
    pub(crate) fn sync_access_policy(&mut self) {
        let c = &self.server.config;
        let access = AccessPolicy {
            lfu: c.maxmemory_policy.is_lfu(),
            log_factor: c.lfu_log_factor,
            decay_time: c.lfu_decay_time,
        };
        for db in &mut self.dbs {
            db.access = access;
        }
    }

    /// Frees memory by evicting keys while `used_memory` is over `maxmemory`, as Redis's
    /// `performEvictions` (see the module docs). The executor calls it before each client
    /// command when `maxmemory` is set; CONFIG SET maxmemory calls it at once.
    pub fn perform_evictions(&mut self, now_ms: u64) -> Eviction {
        // The dataset stays as it is while CLIENT PAUSE lasts.
        let limit = self.server.config.maxmemory;
        if limit == 0 || self.client_pause(now_ms).is_some() {
            return Eviction::Ok;
        }
        let result = self.evict_over(limit, now_ms);
        let ev = &mut self.evictor;
        match result {
            Eviction::Ok => {
                if let Some(since) = ev.exceeded_since_ms.take() {
                    ev.exceeded_total_ms += now_ms.saturating_sub(since);
                }
            }
            _ => {
                ev.exceeded_since_ms.get_or_insert(now_ms);
            }
        }
        result
    }

    fn evict_over(&mut self, limit: u64, now_ms: u64) -> Eviction {
        let used = self.used_memory();
        if used <= limit {
            return Eviction::Ok;
        }
        let policy = self.server.config.maxmemory_policy;
        if policy == MaxmemoryPolicy::NoEviction {
            return Eviction::Fail;
        }
        let to_free = used - limit;
        let time_limit = time_limit_us(self.server.config.maxmemory_eviction_tenacity);
        let started = self.eviction_clock_us();
        self.sync_key_events();
        let mut freed: i64 = 0;
        let mut keys_freed = 0u64;
        while freed < to_free as i64 {
            let Some((db, key)) = self.pick_victim(policy, now_ms) else {
                return Eviction::Fail;
            };
            let before = self.used_memory();
            self.dbs[db].evict(&key);
            freed += before as i64 - self.used_memory() as i64;
            self.evictor.evicted_keys += 1;
            self.notify(notify::EVICTED, "evicted", &key, db);
            self.flush_key_events();
            self.push_effect(
                db,
                vec![
                    bytes::Bytes::from_static(b"DEL"),
                    bytes::Bytes::copy_from_slice(&key),
                ],
            );
            keys_freed += 1;
            if keys_freed % 16 == 0 {
                let elapsed = match (started, self.eviction_clock_us()) {
                    (Some(a), Some(b)) => b.saturating_sub(a),
                    _ => 0,
                };
                if elapsed > time_limit {
                    self.evictor.running = true;
                    break;
                }
            }
        }
        if self.evictor.running {
            Eviction::Running
        } else {
            Eviction::Ok
        }
    }

    /// The key to evict next under `policy`, with its database.
    fn pick_victim(&mut self, policy: MaxmemoryPolicy, now_ms: u64) -> Option<(usize, Box<[u8]>)> {
        let volatile = is_volatile(policy);
        if matches!(
            policy,
            MaxmemoryPolicy::AllkeysRandom | MaxmemoryPolicy::VolatileRandom
        ) {
            let n = self.dbs.len();
            for _ in 0..n {
                self.evictor.next_db = (self.evictor.next_db + 1) % n;
                let i = self.evictor.next_db;
                if let Some(key) = self.dbs[i].random_evictable(volatile, &mut self.evictor.rng) {
                    return Some((i, key));
                }
            }
            return None;
        }
        let samples = self.server.config.maxmemory_samples as usize;
        loop {
            let mut total = 0;
            for i in 0..self.dbs.len() {
                let db: &Db = &self.dbs[i];
                let keys = if volatile {
                    db.volatile_len()
                } else {
                    db.len()
                };
                if keys == 0 {
                    continue;
                }
                total += keys;
                let access = db.access;
                let mut found = Vec::with_capacity(samples);
                db.sample_keys(volatile, samples, &mut self.evictor.rng, |key, lru, at| {
                    let score = match policy {
                        MaxmemoryPolicy::VolatileTtl => u64::MAX - at.unwrap_or(0),
                        _ if access.lfu => 255 - u64::from(access.frequency(lru, now_ms)),
                        _ => idle_ms(lru, now_ms),
                    };
                    found.push((score, key.into()));
                });
                for (score, key) in found {
                    let key: Box<[u8]> = key;
                    self.evictor.offer(score, &key, i);
                }
            }
            if total == 0 {
                return None;
            }
            // Best first; a candidate whose key went meanwhile is a ghost, dropped.
            for k in (0..POOL_SIZE).rev() {
                let Some(c) = self.evictor.pool[k].take() else {
                    continue;
                };
                let db = &self.dbs[c.db];
                let there = if volatile {
                    db.has_expiry(&c.key)
                } else {
                    db.has_key(&c.key)
                };
                if there {
                    return Some((c.db, c.key));
                }
            }
        }
    }

    /// INFO's `evicted_keys`, `total_eviction_exceeded_time` and
    /// `current_eviction_exceeded_time` (ms).
    pub(crate) fn eviction_stats(&self, now_ms: u64) -> (u64, u64, u64) {
        let ev = &self.evictor;
        let current = ev
            .exceeded_since_ms
            .map_or(0, |since| now_ms.saturating_sub(since));
        (ev.evicted_keys, ev.exceeded_total_ms + current, current)
    }

    /// CONFIG RESETSTAT.
    pub(crate) fn reset_eviction_stats(&mut self) {
        self.evictor.evicted_keys = 0;
        self.evictor.exceeded_total_ms = 0;
    }

    /// The eviction time event: evicting goes on while over the limit (see the module
    /// docs). Called by [`Store::handle_timeout`].
    pub(crate) fn handle_eviction_timeout(&mut self, now_ms: u64) {
        if self.evictor.running && self.perform_evictions(now_ms) != Eviction::Running {
            self.evictor.running = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_idle_wraps_the_24_bit_clock_once() {
        let now = 1_700_000_000_000u64;
        let lru = lru_clock(now - 42_000);
        assert_eq!(idle_ms(lru, now), 42_000);
        // Recorded just before the clock wrapped, read just after.
        let before_wrap = (u64::from(LRU_CLOCK_MAX) - 1) * 1000;
        let after = (u64::from(LRU_CLOCK_MAX) + 1 + 3) * 1000;
        assert_eq!(idle_ms(lru_clock(before_wrap), after), 4 * 1000);
    }

    #[test]
    fn lfu_counts_every_access_with_log_factor_0_and_decays() {
        let p = AccessPolicy {
            lfu: true,
            log_factor: 0,
            decay_time: 1,
        };
        let mut rng = Rng::new(1);
        let now = 1_700_000_000_000u64;
        let mut lru = p.initial(now);
        assert_eq!(p.frequency(lru, now), LFU_INIT_VAL);
        for _ in 0..10 {
            lru = p.touch(lru, now, &mut rng);
        }
        assert_eq!(p.frequency(lru, now), 15);
        // Three minutes later, three periods of decay.
        assert_eq!(p.frequency(lru, now + 3 * 60_000), 12);
        let no_decay = AccessPolicy { decay_time: 0, ..p };
        assert_eq!(no_decay.frequency(lru, now + 3 * 60_000), 15);
    }

    #[test]
    fn lfu_log_factor_makes_high_counts_rare() {
        let p = AccessPolicy {
            lfu: true,
            log_factor: 10,
            decay_time: 1,
        };
        let mut rng = Rng::new(7);
        let now = 1_700_000_000_000u64;
        let mut lru = p.initial(now);
        for _ in 0..1000 {
            lru = p.touch(lru, now, &mut rng);
        }
        // Redis's table: 1K hits at factor 10 give about 18.
        let f = p.frequency(lru, now);
        assert!((12..=26).contains(&f), "{f}");
    }

    #[test]
    fn the_pool_keeps_the_best_16_in_order() {
        let mut ev = Evictor::new(0);
        for score in [5u64, 1, 9, 3] {
            ev.offer(score, format!("k{score}").as_bytes(), 0);
        }
        let scores: Vec<u64> = ev.pool.iter().flatten().map(|c| c.score).collect();
        assert_eq!(scores, vec![1, 3, 5, 9]);
        for score in 100..120u64 {
            ev.offer(score, b"x", 0);
        }
        let scores: Vec<u64> = ev.pool.iter().flatten().map(|c| c.score).collect();
        assert_eq!(scores.len(), 16);
        assert_eq!(scores[0], 104);
        assert_eq!(scores[15], 119);
        ev.offer(50, b"low", 0);
        assert_eq!(ev.pool[0].as_ref().unwrap().score, 104, "too low to enter");
    }

    #[test]
    fn tenacity_as_redis_time_limits() {
        assert_eq!(time_limit_us(0), 0);
        assert_eq!(time_limit_us(10), 500);
        assert_eq!(time_limit_us(11), 575);
        assert_eq!(time_limit_us(100), u64::MAX);
    }
}
