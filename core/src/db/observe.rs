//! What operators watch: how long commands take (INFO commandstats and latencystats), the
//! slow log (SLOWLOG), the latency monitor (LATENCY) and the clients in MONITOR mode.
//!
//! Core reads no clock: the adapter injects one ([`Clock`], [`crate::Store::set_clock`]),
//! and the executor asks it for a monotonic time before and after each command. Without a
//! clock every duration is 0 — deterministic, as tests want it.
//!
//! Latencies the adapter measures itself (AOF writes and fsyncs) come in through
//! [`crate::Store::handle_latency`], the same path the executor's own samples take.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{ClientId, Store};

/// A clock the adapter gives the store: a monotonic one to time commands with, and the wall
/// clock to the microsecond for MONITOR's lines.
pub trait Clock: Send {
    /// Microseconds on a monotonic clock, from any origin.
    fn monotonic_us(&self) -> u64;
    /// Microseconds since the Unix epoch.
    fn unix_us(&self) -> u64;
}

/// The injected clock, which `Debug` shows only by its presence.
pub(crate) struct ClockBox(pub Box<dyn Clock>);

impl std::fmt::Debug for ClockBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

// --- The latency histogram ---------------------------------------------------------------

/// Redis records command durations in nanoseconds in an HdrHistogram covering 1 ns to 1 s
/// with 2 significant figures. This is the same bucket layout (so that percentiles and
/// LATENCY HISTOGRAM's buckets come out with Redis's values), written for that one shape:
/// 256 sub-buckets (the smallest power of two ≥ 2·10²), half of them per bucket past the
/// first, 23 buckets to reach 10⁹.
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = 7;
const SUB_BUCKET_HALF_COUNT: usize = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_COUNT: u64 = 2 * SUB_BUCKET_HALF_COUNT as u64;
const SUB_BUCKET_MASK: u64 = SUB_BUCKET_COUNT - 1;
const BUCKET_COUNT: usize = 23;
const COUNTS_LEN: usize = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT;
/// The range Redis records: 1 ns to 1 s (longer is counted as 1 s).
const HISTOGRAM_MIN_NS: u64 = 1;
const HISTOGRAM_MAX_NS: u64 = 1_000_000_000;

fn bucket_index(v: u64) -> u32 {
    // The power of two at or above `v`, over the sub-bucket range.
    64 - (v | SUB_BUCKET_MASK).leading_zeros() - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1)
}

fn counts_index(v: u64) -> usize {
    let bucket = bucket_index(v);
    let sub = (v >> bucket) as usize;
    ((bucket as usize + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub - SUB_BUCKET_HALF_COUNT
}

fn value_at_index(index: usize) -> u64 {
    let bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) as i64 - 1;
    let sub = (index & (SUB_BUCKET_HALF_COUNT - 1)) as u64 + SUB_BUCKET_HALF_COUNT as u64;
    if bucket < 0 {
        sub - SUB_BUCKET_HALF_COUNT as u64
    } else {
        sub << bucket
    }
}

fn lowest_equivalent(v: u64) -> u64 {
    let bucket = bucket_index(v);
    (v >> bucket) << bucket
}

fn range_size(v: u64) -> u64 {
    let bucket = bucket_index(v);
    let adjusted = if (v >> bucket) >= SUB_BUCKET_COUNT {
        bucket + 1
    } else {
        bucket
    };
    1 << adjusted
}

fn highest_equivalent(v: u64) -> u64 {
    lowest_equivalent(v) + range_size(v) - 1
}

/// Durations of one command, in nanoseconds, as Redis's per-command HdrHistogram.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .finish()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; COUNTS_LEN].into_boxed_slice(),
            total: 0,
        }
    }
}

impl Histogram {
    /// Records one duration, clamped to 1 ns – 1 s as Redis does.
    pub fn record_ns(&mut self, ns: u64) {
        let v = ns.clamp(HISTOGRAM_MIN_NS, HISTOGRAM_MAX_NS);
        self.counts[counts_index(v)] += 1;
        self.total += 1;
    }

    /// Values recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The value at `percentile` (0–100), as `hdr_value_at_percentile`: the highest value
    /// equivalent to the recorded one the percentile falls on (the lowest for 0).
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let p = percentile.min(100.0);
        let wanted = ((p / 100.0) * self.total as f64 + 0.5) as u64;
        let wanted = wanted.max(1);
        let mut seen = 0;
        let mut value = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                value = value_at_index(i);
                break;
            }
        }
        if percentile == 0.0 {
            lowest_equivalent(value)
        } else {
            highest_equivalent(value)
        }
    }

    /// LATENCY HISTOGRAM's buckets: (microseconds, cumulative count) at each power of two
    /// from 1024 ns on, as Redis walks its histogram with a logarithmic iterator (first
    /// bucket 1024 units, base 2) and reports each step whose cumulative count grew.
    pub fn log_buckets(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        // The iterator's state: the index reached, the cumulative count up to it, its value
        // and the highest value equivalent to it.
        let mut index: i64 = -1;
        let (mut cumulative, mut value, mut highest) = (0u64, 0u64, 0u64);
        let mut level: u64 = 1024;
        let mut level_lowest = lowest_equivalent(level);
        let mut previous = 0u64;
        loop {
            let more = cumulative < self.total
                || (index < COUNTS_LEN as i64
                    && value_at_index((index + 1) as usize) > level_lowest);
            if !more {
                break;
            }
            loop {
                if value >= level_lowest {
                    level *= 2;
                    level_lowest = lowest_equivalent(level);
                    break;
                }
                index += 1;
                if index >= COUNTS_LEN as i64 {
                    break;
                }
                let i = index as usize;
                cumulative += self.counts[i];
                value = value_at_index(i);
                highest = highest_equivalent(value);
            }
            if cumulative > previous {
                out.push((highest / 1000, cumulative));
            }
            previous = cumulative;
            if index >= COUNTS_LEN as i64 {
                break;
            }
        }
        out
    }
}

// --- The slow log ------------------------------------------------------------------------

/// Most arguments a slow log entry keeps; the last place says how many more there were.
pub const SLOWLOG_MAX_ARGC: usize = 32;
/// Most bytes of an argument a slow log entry keeps.
pub const SLOWLOG_MAX_ARG_BYTES: usize = 128;

/// One SLOWLOG GET entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowEntry {
    /// Its id, counting from 0 since start (SLOWLOG RESET does not restart it).
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time_s: u64,
    /// Microseconds the command took.
    pub duration_us: u64,
    /// The request, trimmed to [`SLOWLOG_MAX_ARGC`] arguments of at most
    /// [`SLOWLOG_MAX_ARG_BYTES`] bytes each.
    pub args: Vec<Bytes>,
    /// The client's address (`ip:port`).
    pub addr: Bytes,
    /// The client's name, or empty.
    pub name: Bytes,
}

/// The slow log: newest first, at most `slowlog-max-len` entries.
#[derive(Debug, Default)]
pub struct SlowLog {
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

impl SlowLog {
    /// Logs a command as Redis's `slowlogCreateEntry`, then trims the log to `max_len`.
    pub(crate) fn push(
        &mut self,
        args: &[Bytes],
        duration_us: u64,
        time_s: u64,
        addr: Bytes,
        name: Bytes,
        max_len: usize,
    ) {
        let kept = args.len().min(SLOWLOG_MAX_ARGC);
        let mut out = Vec::with_capacity(kept);
        for (i, a) in args.iter().take(kept).enumerate() {
            if kept != args.len() && i == kept - 1 {
                let more = args.len() - kept + 1;
                out.push(Bytes::from(format!("... ({more} more arguments)")));
            } else if a.len() > SLOWLOG_MAX_ARG_BYTES {
                let mut s = a[..SLOWLOG_MAX_ARG_BYTES].to_vec();
                let more = a.len() - SLOWLOG_MAX_ARG_BYTES;
                s.extend_from_slice(format!("... ({more} more bytes)").as_bytes());
                out.push(Bytes::from(s));
            } else {
                out.push(a.clone());
            }
        }
        self.entries.push_front(SlowEntry {
            id: self.next_id,
            time_s,
            duration_us,
            args: out,
            addr,
            name,
        });
        self.next_id += 1;
        self.trim(max_len);
    }

    /// Drops the oldest entries past `max_len`.
    pub(crate) fn trim(&mut self, max_len: usize) {
        self.entries.truncate(max_len);
    }

    /// The entries, newest first.
    pub fn entries(&self) -> impl Iterator<Item = &SlowEntry> {
        self.entries.iter()
    }

    /// Entries held (SLOWLOG LEN).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is logged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// SLOWLOG RESET.
    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

// --- The latency monitor -----------------------------------------------------------------

/// Samples kept per event, as Redis's `LATENCY_TS_LEN`.
pub const LATENCY_SAMPLES: usize = 160;

/// One latency sample: the second it happened in and the worst latency of that second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencySample {
    /// Unix seconds (0: an unused slot).
    pub time_s: u64,
    /// Milliseconds.
    pub latency_ms: u64,
}

/// The history of one event: a ring of [`LATENCY_SAMPLES`] samples, one per second at most.
#[derive(Debug, Clone)]
pub struct LatencySeries {
    /// The slot the next second's sample goes to.
    idx: usize,
    samples: [LatencySample; LATENCY_SAMPLES],
    /// The highest latency ever seen.
    pub max_ms: u64,
}

impl LatencySeries {
    fn new() -> LatencySeries {
        LatencySeries {
            idx: 0,
            samples: [LatencySample::default(); LATENCY_SAMPLES],
            max_ms: 0,
        }
    }

    fn add(&mut self, time_s: u64, latency_ms: u64) {
        self.max_ms = self.max_ms.max(latency_ms);
        let prev = (self.idx + LATENCY_SAMPLES - 1) % LATENCY_SAMPLES;
        // One sample per second: the worst of it.
        if self.samples[prev].time_s == time_s {
            let p = &mut self.samples[prev];
            p.latency_ms = p.latency_ms.max(latency_ms);
            return;
        }
        self.samples[self.idx] = LatencySample { time_s, latency_ms };
        self.idx = (self.idx + 1) % LATENCY_SAMPLES;
    }

    /// The latest sample.
    pub fn latest(&self) -> LatencySample {
        self.samples[(self.idx + LATENCY_SAMPLES - 1) % LATENCY_SAMPLES]
    }

    /// The samples held, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = LatencySample> + '_ {
        (0..LATENCY_SAMPLES)
            .map(move |j| self.samples[(self.idx + j) % LATENCY_SAMPLES])
            .filter(|s| s.time_s != 0)
    }
}

/// Latency events by name (`command`, `fast-command`, `expire-cycle`, `aof-write`, …), in
/// the order they first happened.
#[derive(Debug, Default)]
pub struct LatencyMonitor {
    events: Vec<(String, LatencySeries)>,
}

impl LatencyMonitor {
    /// Adds a sample of `event` (Redis's `latencyAddSample`).
    pub(crate) fn add(&mut self, event: &str, time_s: u64, latency_ms: u64) {
        match self.events.iter_mut().find(|(n, _)| n == event) {
            Some((_, s)) => s.add(time_s, latency_ms),
            None => {
                let mut s = LatencySeries::new();
                s.add(time_s, latency_ms);
                self.events.push((event.to_owned(), s));
            }
        }
    }

    /// The events with their series.
    pub fn events(&self) -> impl Iterator<Item = (&str, &LatencySeries)> {
        self.events.iter().map(|(n, s)| (n.as_str(), s))
    }

    /// The series of `event`.
    pub fn get(&self, event: &[u8]) -> Option<&LatencySeries> {
        self.events
            .iter()
            .find(|(n, _)| n.as_bytes() == event)
            .map(|(_, s)| s)
    }

    /// Forgets `event`; true if it was known.
    pub fn reset_event(&mut self, event: &[u8]) -> bool {
        let before = self.events.len();
        self.events.retain(|(n, _)| n.as_bytes() != event);
        before != self.events.len()
    }

    /// Forgets every event; returns how many there were.
    pub fn reset_all(&mut self) -> usize {
        std::mem::take(&mut self.events).len()
    }
}

// --- Instantaneous metrics ---------------------------------------------------------------

/// Samples one rate keeps, as Redis's `STATS_METRIC_SAMPLES`.
const METRIC_SAMPLES: usize = 16;
/// How often a rate is sampled, as Redis's `run_with_period(100)` in `serverCron`.
pub const METRIC_PERIOD_MS: u64 = 100;

/// A rate per second averaged over the last [`METRIC_SAMPLES`] samples (Redis's
/// `trackInstantaneousMetric` / `getInstantaneousMetric`).
#[derive(Debug, Default, Clone)]
pub struct Rate {
    samples: [u64; METRIC_SAMPLES],
    idx: usize,
    last_ms: u64,
    last_count: u64,
}

impl Rate {
    fn track(&mut self, now_ms: u64, count: u64) {
        let t = now_ms.saturating_sub(self.last_ms);
        let n = count.saturating_sub(self.last_count);
        self.samples[self.idx] = (n * 1000).checked_div(t).unwrap_or(0);
        self.idx = (self.idx + 1) % METRIC_SAMPLES;
        self.last_ms = now_ms;
        self.last_count = count;
    }

    /// The rate per second.
    pub fn per_sec(&self) -> u64 {
        self.samples.iter().sum::<u64>() / METRIC_SAMPLES as u64
    }
}

/// INFO stats' traffic figures.
#[derive(Debug, Default, Clone)]
pub struct Traffic {
    /// Bytes read from clients (`total_net_input_bytes`).
    pub input_bytes: u64,
    /// Bytes written to clients (`total_net_output_bytes`).
    pub output_bytes: u64,
    /// Connections turned away (`rejected_connections`): over `maxclients`.
    pub rejected_connections: u64,
    /// `instantaneous_ops_per_sec`.
    pub ops: Rate,
    /// `instantaneous_input_kbps` (bytes per second here).
    pub input: Rate,
    /// `instantaneous_output_kbps` (bytes per second here).
    pub output: Rate,
    /// When the rates were last sampled.
    sampled_ms: Option<u64>,
}

impl Store {
    /// Samples the instantaneous rates if [`METRIC_PERIOD_MS`] passed since the last time
    /// (the adapters' timer calls it through [`crate::server::handle_timers`]).
    pub fn track_metrics(&mut self, now_ms: u64) {
        let t = &self.observe.traffic;
        if t.sampled_ms
            .is_some_and(|at| now_ms < at + METRIC_PERIOD_MS)
        {
            return;
        }
        let commands = self.commands_processed;
        let t = &mut self.observe.traffic;
        t.sampled_ms = Some(now_ms);
        t.ops.track(now_ms, commands);
        let (i, o) = (t.input_bytes, t.output_bytes);
        t.input.track(now_ms, i);
        t.output.track(now_ms, o);
    }

    /// Counts bytes read from and written to clients (sessions report theirs).
    pub(crate) fn count_traffic(&mut self, input: u64, output: u64) {
        let t = &mut self.observe.traffic;
        t.input_bytes += input;
        t.output_bytes += output;
    }

    /// Counts a connection turned away because of `maxclients` (INFO
    /// `rejected_connections`): adapters call it when they refuse one.
    pub fn handle_rejected_connection(&mut self) {
        self.observe.traffic.rejected_connections += 1;
    }

    /// INFO stats' traffic figures.
    pub fn traffic(&self) -> &Traffic {
        &self.observe.traffic
    }
}

// --- Everything together -----------------------------------------------------------------

/// What the store keeps for operators (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Observe {
    pub clock: Option<ClockBox>,
    pub slowlog: SlowLog,
    pub latency: LatencyMonitor,
    /// Connections in MONITOR mode, in the order they asked.
    pub monitors: Vec<ClientId>,
    /// Bytes, rates, refused connections (INFO stats).
    pub traffic: Traffic,
    /// A spare buffer for a request's arguments kept for the slow log and MONITOR, so
    /// that keeping them costs no allocation per command.
    args_buf: Vec<Bytes>,
}

impl Observe {
    /// The monotonic time, or 0 without a clock.
    #[inline]
    pub fn monotonic_us(&self) -> u64 {
        self.clock.as_ref().map_or(0, |c| c.0.monotonic_us())
    }

    /// An empty buffer for a request's arguments (see [`Observe::put_args_buf`]).
    pub fn take_args_buf(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.args_buf)
    }

    /// Gives back a buffer from [`Observe::take_args_buf`], emptied; a big one is dropped.
    pub fn put_args_buf(&mut self, mut buf: Vec<Bytes>) {
        buf.clear();
        if buf.capacity() <= 64 {
            self.args_buf = buf;
        }
    }
}

/// The flags of a command that decide what is observed of it (from COMMAND INFO).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CallFlags {
    /// `fast`: its latency event is `fast-command` rather than `command`.
    pub fast: bool,
    /// `skip_slowlog` (EXEC): never in the slow log.
    pub skip_slowlog: bool,
    /// `skip_monitor` or `admin`: never shown to MONITOR after it runs.
    pub skip_monitor: bool,
}

/// Who ran a command, for the slow log and MONITOR.
#[derive(Debug, Clone)]
pub(crate) struct Runner {
    /// The connection (a script's commands carry their caller's).
    pub id: ClientId,
    /// A script's `redis.call`: Redis's Lua client, `?:0` in the slow log and `lua` to
    /// MONITOR.
    pub script: bool,
    /// The database selected when it ran.
    pub db: usize,
    /// The connection's name as the command left it (CLIENT SETNAME shows its new one).
    pub name: Option<Bytes>,
}

impl Store {
    /// Gives the store a clock to time commands with (see [`Clock`]). Without one, every
    /// duration is 0.
    pub fn set_clock(&mut self, clock: Box<dyn Clock>) {
        self.observe.clock = Some(ClockBox(clock));
    }

    /// The injected monotonic time in microseconds, 0 without a clock.
    #[inline]
    pub(crate) fn monotonic_us(&self) -> u64 {
        self.observe.monotonic_us()
    }

    /// The wall clock in microseconds: the injected clock's, else `now_ms`'s.
    pub(crate) fn unix_us(&self, now_ms: u64) -> u64 {
        self.observe
            .clock
            .as_ref()
            .map_or(now_ms * 1000, |c| c.0.unix_us())
    }

    /// Reports that `event` took `latency_ms` (Redis's `latencyAddSampleIfNeeded`): sampled
    /// by the latency monitor if `latency-monitor-threshold` is on and reached. Adapters call
    /// it for what they time themselves (`aof-write`, `aof-fsync-always`, …).
    pub fn handle_latency(&mut self, event: &str, latency_ms: u64, now_ms: u64) {
        let threshold = self.config().latency_monitor_threshold_ms;
        if threshold > 0 && latency_ms >= threshold {
            self.observe.latency.add(event, now_ms / 1000, latency_ms);
        }
    }

    /// The slow log.
    pub fn slowlog(&self) -> &SlowLog {
        &self.observe.slowlog
    }

    /// The latency monitor's events.
    pub fn latency_monitor(&self) -> &LatencyMonitor {
        &self.observe.latency
    }

    /// The latency histogram of command `name` (INFO commandstats' name), if it ran since
    /// start or the last CONFIG RESETSTAT with `latency-tracking` on.
    pub fn latency_histogram(&self, name: &str) -> Option<&Histogram> {
        self.stats().histogram(name)
    }

    /// True if a command's arguments are needed after it ran: the slow log is on, or some
    /// client is in MONITOR mode.
    #[inline]
    pub(crate) fn wants_call_args(&self) -> bool {
        let c = self.config();
        (c.slowlog_log_slower_than >= 0 && c.slowlog_max_len > 0)
            || !self.observe.monitors.is_empty()
    }

    /// What Redis's `call` does after a command ran, but for propagation: its time in
    /// commandstats and in its latency histogram, the latency monitor's `command` or
    /// `fast-command` event, the slow log. A command that blocked is timed and logged when
    /// its wait ends in Redis; here its first run is timed and it is not logged.
    // One call per command from the executor, which has each of these at hand.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_call(
        &mut self,
        name: &'static str,
        args: Option<&[Bytes]>,
        duration_us: u64,
        blocked: bool,
        flags: impl FnOnce() -> CallFlags,
        runner: &Runner,
        now_ms: u64,
    ) -> CallFlags {
        let histogram_ns =
            (!blocked && self.config().latency_tracking).then(|| duration_us.saturating_mul(1000));
        let flags = self
            .stats_mut()
            .timed(name, duration_us, histogram_ns, flags);
        let event = if flags.fast {
            "fast-command"
        } else {
            "command"
        };
        self.handle_latency(event, duration_us / 1000, now_ms);
        if blocked {
            return flags;
        }
        let threshold = self.config().slowlog_log_slower_than;
        if flags.skip_slowlog || threshold < 0 {
            return flags;
        }
        let max_len = usize::try_from(self.config().slowlog_max_len).unwrap_or(usize::MAX);
        // Every command trims the log to `slowlog-max-len`, logged or not, as Redis's.
        self.observe.slowlog.trim(max_len);
        let Some(args) = args.filter(|_| duration_us >= threshold as u64) else {
            return flags;
        };
        let (addr, client_name) = if runner.script {
            (Bytes::from_static(b"?:0"), Bytes::new())
        } else {
            let c = self.clients().get(runner.id);
            (
                c.map(|c| Bytes::from(c.conn.addr.clone()))
                    .unwrap_or_default(),
                runner.name.clone().unwrap_or_default(),
            )
        };
        let redacted = redact(name, args);
        let args = redacted.as_deref().unwrap_or(args);
        self.observe
            .slowlog
            .push(args, duration_us, now_ms / 1000, addr, client_name, max_len);
        flags
    }
}

impl Store {
    /// Puts connection `id` in MONITOR mode; false if it was already.
    pub(crate) fn start_monitor(&mut self, id: ClientId) -> bool {
        if self.observe.monitors.contains(&id) {
            return false;
        }
        self.observe.monitors.push(id);
        true
    }

    /// Ends MONITOR mode for `id` (RESET, or the connection closed).
    pub fn stop_monitor(&mut self, id: ClientId) {
        self.observe.monitors.retain(|&m| m != id);
    }

    /// True if connection `id` is in MONITOR mode.
    #[inline]
    pub fn is_monitor(&self, id: ClientId) -> bool {
        !self.observe.monitors.is_empty() && self.observe.monitors.contains(&id)
    }

    /// Shows command `name` to the clients in MONITOR mode, unless Redis hides it
    /// (`skip_monitor`, `admin`).
    pub(crate) fn feed_monitors(
        &mut self,
        name: &'static str,
        args: &[Bytes],
        flags: CallFlags,
        runner: &Runner,
        now_ms: u64,
    ) {
        if self.observe.monitors.is_empty() || flags.skip_monitor {
            return;
        }
        let redacted = redact(name, args);
        self.force_feed_monitors(redacted.as_deref().unwrap_or(args), runner, now_ms);
    }

    /// Shows `args` to the clients in MONITOR mode, in Redis's `replicationFeedMonitors`
    /// line format.
    pub(crate) fn force_feed_monitors(&mut self, args: &[Bytes], runner: &Runner, now_ms: u64) {
        if self.observe.monitors.is_empty() {
            return;
        }
        let us = self.unix_us(now_ms);
        let mut line =
            format!("+{}.{:06} [{} ", us / 1_000_000, us % 1_000_000, runner.db).into_bytes();
        if runner.script {
            line.extend_from_slice(b"lua");
        } else {
            match self.clients().get(runner.id) {
                Some(c) if c.conn.unix_socket => {
                    line.extend_from_slice(b"unix:");
                    line.extend_from_slice(self.config().unixsocket.as_bytes());
                }
                Some(c) => line.extend_from_slice(c.conn.addr.as_bytes()),
                None => {}
            }
        }
        line.extend_from_slice(b"] ");
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            cat_repr(&mut line, a);
        }
        line.extend_from_slice(b"\r\n");
        let line = Bytes::from(line);
        for i in 0..self.observe.monitors.len() {
            let to = self.observe.monitors[i];
            self.deliver(to, super::Message::Monitor(line.clone()));
        }
    }
}

/// Appends `s` quoted as Redis's `sdscatrepr`.
pub(crate) fn cat_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// `args` with secrets replaced by `(redacted)`, as Redis's commands redact their own
/// (`redactClientCommandArgument`) for the slow log and MONITOR; `None` if nothing is.
pub(crate) fn redact(name: &str, args: &[Bytes]) -> Option<Vec<Bytes>> {
    const REDACTED: Bytes = Bytes::from_static(b"(redacted)");
    let mut out = args.to_vec();
    match name {
        "auth" => {
            for a in out.iter_mut().skip(1).take(2) {
                *a = REDACTED;
            }
        }
        // Every argument from the user name on: rules hold passwords.
        "acl|setuser" => {
            for a in out.iter_mut().skip(2) {
                *a = REDACTED;
            }
        }
        "hello" => {
            let i = out
                .iter()
                .skip(2)
                .position(|a| a.eq_ignore_ascii_case(b"auth"))?
                + 2;
            for a in out.iter_mut().skip(i + 1).take(2) {
                *a = REDACTED;
            }
        }
        "config|set" => {
            let mut any = false;
            for pair in out[2..].chunks_mut(2) {
                if let [k, v] = pair {
                    let sensitive = [
                        &b"requirepass"[..],
                        b"masterauth",
                        b"masteruser",
                        b"tls-key-file-pass",
                        b"tls-client-key-file-pass",
                    ]
                    .iter()
                    .any(|s| k.eq_ignore_ascii_case(s));
                    if sensitive {
                        *v = REDACTED;
                        any = true;
                    }
                }
            }
            if !any {
                return None;
            }
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_setuser_is_redacted_from_the_user_name_on() {
        let args: Vec<Bytes> = ["ACL", "SETUSER", "u", "on", ">secret"]
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        let r = redact("acl|setuser", &args).unwrap();
        assert_eq!(&r[..2], &args[..2]);
        assert!(r[2..].iter().all(|a| &a[..] == b"(redacted)"));
    }

    #[test]
    fn bucket_layout_is_hdr_with_two_significant_figures() {
        // Every value below 256 has its own slot; past it, slots widen by powers of two.
        for v in [1u64, 2, 127, 128, 255] {
            assert_eq!(value_at_index(counts_index(v)), v);
            assert_eq!(range_size(v), 1);
        }
        assert_eq!(lowest_equivalent(1000), 1000);
        assert_eq!(highest_equivalent(1000), 1003);
        assert_eq!(highest_equivalent(1001), 1003);
        assert_eq!(lowest_equivalent(1_000_000), 999_424);
        assert_eq!(highest_equivalent(1_000_000), 1_003_519);
        // 1 s is inside the counts.
        assert!(counts_index(HISTOGRAM_MAX_NS) < COUNTS_LEN);
        for i in 0..COUNTS_LEN {
            let v = value_at_index(i);
            assert_eq!(counts_index(v), i, "index {i} value {v}");
        }
    }

    #[test]
    fn percentiles_as_redis_prints_them() {
        let mut h = Histogram::default();
        // Durations in µs, recorded in ns as Redis does.
        for us in [1u64, 1, 1, 2, 3, 10, 100] {
            h.record_ns(us * 1000);
        }
        // The 4th of 7 values (2 µs) is the median: 2000 ns shares its slot up to 2007.
        assert_eq!(h.value_at_percentile(50.0), 2007);
        assert_eq!(h.value_at_percentile(99.0), 100_351);
        assert_eq!(h.value_at_percentile(99.9), 100_351);
        assert_eq!(h.value_at_percentile(0.0), 1000);
        // 0 µs is recorded as 1 ns.
        let mut z = Histogram::default();
        z.record_ns(0);
        assert_eq!(z.value_at_percentile(50.0), 1);
    }

    #[test]
    fn log_buckets_report_where_the_count_grows() {
        let mut h = Histogram::default();
        for us in [1u64, 1, 3, 3, 3, 700] {
            h.record_ns(us * 1000);
        }
        // 1 µs lands in the 1024 ns step (values up to 1031 ns are equivalent to it), 3 µs
        // in the 4096 ns step, 700 µs in the 1048576 ns step (its slot reaches 1056767 ns).
        assert_eq!(h.log_buckets(), vec![(1, 2), (4, 5), (1056, 6)]);
        let empty = Histogram::default();
        assert!(empty.log_buckets().is_empty());
    }

    #[test]
    fn slowlog_trims_as_redis() {
        let mut log = SlowLog::default();
        let args: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        log.push(&args, 5, 1, Bytes::new(), Bytes::new(), 128);
        let e = log.entries().next().unwrap();
        assert_eq!(e.args.len(), 32);
        assert_eq!(&e.args[31][..], b"... (9 more arguments)");
        assert_eq!(&e.args[30][..], b"a30");
        let long = vec![Bytes::from(vec![b'x'; 130])];
        log.push(&long, 5, 1, Bytes::new(), Bytes::new(), 1);
        assert_eq!(log.len(), 1);
        let e = log.entries().next().unwrap();
        assert_eq!(e.id, 1);
        assert_eq!(e.args[0].len(), 128 + "... (2 more bytes)".len());
        assert!(e.args[0].ends_with(b"x... (2 more bytes)"));
    }

    #[test]
    fn latency_series_keep_the_worst_of_each_second_in_a_ring() {
        let mut m = LatencyMonitor::default();
        m.add("command", 100, 5);
        m.add("command", 100, 3);
        m.add("command", 100, 9);
        let s = m.get(b"command").unwrap();
        assert_eq!(
            s.latest(),
            LatencySample {
                time_s: 100,
                latency_ms: 9
            }
        );
        for t in 101..400 {
            m.add("command", t, t - 100);
        }
        let s = m.get(b"command").unwrap();
        assert_eq!(s.samples().count(), LATENCY_SAMPLES);
        assert_eq!(
            s.samples().next().unwrap().time_s,
            400 - LATENCY_SAMPLES as u64
        );
        assert_eq!(s.max_ms, 299);
        assert!(m.reset_event(b"command"));
        assert!(!m.reset_event(b"command"));
    }
}
