//! SLOWLOG and LATENCY: what the store keeps for operators (`db/observe.rs`), as Redis 7.0
//! replies with it (`slowlog.c`, `latency.c`).

use bytes::Bytes;

use super::command::{help, subcommand};
use super::executor::Ctx;
use super::{Args, CmdError};
use crate::resp::Frame;

/// `SLOWLOG GET [count] | LEN | RESET | HELP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlowlogCmd {
    /// `SLOWLOG GET [count]`: the newest `count` entries (10 by default, -1 for all).
    Get(Option<Bytes>),
    /// `SLOWLOG LEN`.
    Len,
    /// `SLOWLOG RESET`.
    Reset,
    /// `SLOWLOG HELP`.
    Help,
}

const SLOWLOG_HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

impl SlowlogCmd {
    pub(crate) fn parse(args: &mut Args) -> Result<SlowlogCmd, CmdError> {
        let sent = args.peek().cloned().unwrap_or_default();
        let m = subcommand(args, "SLOWLOG")?;
        Ok(match m.name {
            "slowlog|get" => {
                if args.remaining() > 1 {
                    // Redis quotes the subcommand as sent.
                    return Err(CmdError::err(format_args!(
                        "unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
                        String::from_utf8_lossy(&sent)
                    )));
                }
                SlowlogCmd::Get(args.next())
            }
            "slowlog|len" => SlowlogCmd::Len,
            "slowlog|reset" => SlowlogCmd::Reset,
            _ => SlowlogCmd::Help,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        match self {
            SlowlogCmd::Help => Ok(help("SLOWLOG", SLOWLOG_HELP)),
            SlowlogCmd::Len => Ok(Frame::Integer(ctx.store.slowlog().len() as i64)),
            SlowlogCmd::Reset => {
                ctx.store.observe.slowlog.reset();
                Ok(Frame::OK)
            }
            SlowlogCmd::Get(count) => {
                let count = match count {
                    None => 10,
                    Some(c) => match super::parse_i64(&c) {
                        Some(-1) => usize::MAX,
                        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                        _ => {
                            return Err(CmdError::err(
                                "count should be greater than or equal to -1",
                            ))
                        }
                    },
                };
                let entries = ctx
                    .store
                    .slowlog()
                    .entries()
                    .take(count)
                    .map(|e| {
                        Frame::Array(vec![
                            Frame::Integer(e.id as i64),
                            Frame::Integer(e.time_s as i64),
                            Frame::Integer(e.duration_us as i64),
                            Frame::Array(e.args.iter().cloned().map(Frame::Bulk).collect()),
                            Frame::Bulk(e.addr.clone()),
                            Frame::Bulk(e.name.clone()),
                        ])
                    })
                    .collect();
                Ok(Frame::Array(entries))
            }
        }
    }
}

/// `LATENCY LATEST | HISTORY event | RESET [event …] | HISTOGRAM [command …] | HELP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LatencyCmd {
    /// `LATENCY LATEST`: each event's latest sample and its all-time high.
    Latest,
    /// `LATENCY HISTORY event`: the event's samples, oldest first.
    History(Bytes),
    /// `LATENCY RESET [event …]`: forgets the events named, or all.
    Reset(Vec<Bytes>),
    /// `LATENCY HISTOGRAM [command …]`: per-command latency distributions.
    Histogram(Vec<Bytes>),
    /// `LATENCY GRAPH event`: an ASCII sparkline of the event's samples.
    Graph(Bytes),
    /// `LATENCY DOCTOR`: a human-readable analysis of the events.
    Doctor,
    /// `LATENCY HELP`.
    Help,
}

const LATENCY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];

impl LatencyCmd {
    pub(crate) fn parse(args: &mut Args) -> Result<LatencyCmd, CmdError> {
        let m = subcommand(args, "LATENCY")?;
        Ok(match m.name {
            "latency|latest" => LatencyCmd::Latest,
            "latency|history" => LatencyCmd::History(args.required()?),
            "latency|reset" => LatencyCmd::Reset(args.rest()),
            "latency|histogram" => LatencyCmd::Histogram(args.rest()),
            "latency|graph" => LatencyCmd::Graph(args.required()?),
            "latency|doctor" => LatencyCmd::Doctor,
            _ => LatencyCmd::Help,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let int = |n: u64| Frame::Integer(n as i64);
        match self {
            LatencyCmd::Help => Ok(help("LATENCY", LATENCY_HELP)),
            LatencyCmd::Latest => Ok(Frame::Array(
                ctx.store
                    .latency_monitor()
                    .events()
                    .map(|(name, s)| {
                        let last = s.latest();
                        Frame::Array(vec![
                            Frame::bulk(name),
                            int(last.time_s),
                            int(last.latency_ms),
                            int(s.max_ms),
                        ])
                    })
                    .collect(),
            )),
            LatencyCmd::History(event) => Ok(Frame::Array(
                ctx.store
                    .latency_monitor()
                    .get(&event)
                    .map(|s| {
                        s.samples()
                            .map(|x| Frame::Array(vec![int(x.time_s), int(x.latency_ms)]))
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            LatencyCmd::Doctor => Ok(Frame::Verbatim {
                format: *b"txt",
                data: Bytes::from(latency_doctor(ctx.store, ctx.now_ms / 1000)),
            }),
            LatencyCmd::Graph(event) => {
                let Some((name, series)) = ctx
                    .store
                    .latency_monitor()
                    .events()
                    .find(|(n, _)| n.as_bytes() == &event[..])
                else {
                    return Err(CmdError::err(format_args!(
                        "No samples available for event '{}'",
                        String::from_utf8_lossy(&event)
                    )));
                };
                Ok(Frame::Verbatim {
                    format: *b"txt",
                    data: Bytes::from(latency_graph(name, series, ctx.now_ms / 1000)),
                })
            }
            LatencyCmd::Reset(events) => {
                let latency = &mut ctx.store.observe.latency;
                let n = if events.is_empty() {
                    latency.reset_all()
                } else {
                    events.iter().filter(|e| latency.reset_event(e)).count()
                };
                Ok(Frame::Integer(n as i64))
            }
            LatencyCmd::Histogram(names) => {
                // Named commands (a container names its subcommands too) in the order given;
                // none: every command with a histogram, in first-call order.
                let mut wanted: Vec<&'static str> = Vec::new();
                let known: Vec<&'static str> = ctx
                    .store
                    .stats()
                    .commands()
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect();
                if names.is_empty() {
                    wanted = known;
                } else {
                    for n in &names {
                        let lower = String::from_utf8_lossy(n).to_ascii_lowercase();
                        if super::command::meta(&lower).is_none() {
                            continue;
                        }
                        for k in &known {
                            let sub = k
                                .strip_prefix(lower.as_str())
                                .is_some_and(|r| r.starts_with('|'));
                            if (*k == lower || sub) && !wanted.contains(k) {
                                wanted.push(k);
                            }
                        }
                    }
                }
                let map = wanted
                    .into_iter()
                    .filter_map(|name| {
                        let h = ctx.store.latency_histogram(name)?;
                        let buckets = h
                            .log_buckets()
                            .into_iter()
                            .map(|(us, n)| (int(us), int(n)))
                            .collect();
                        Some((
                            Frame::bulk(name),
                            Frame::Map(vec![
                                (Frame::bulk("calls"), int(h.total())),
                                (Frame::bulk("histogram_usec"), Frame::Map(buckets)),
                            ]),
                        ))
                    })
                    .collect();
                Ok(Frame::Map(map))
            }
        }
    }
}

/// LATENCY DOCTOR's report (`createLatencyReport`): per event its spike count, average,
/// mean deviation, period and all-time high, then the advice those events call for. Redis's
/// transparent-huge-pages advice is left out: core cannot see the process's memory maps.
fn latency_doctor(store: &crate::db::Store, now_s: u64) -> String {
    use crate::db::AppendFsync;
    let config = store.config();
    let threshold = config.latency_monitor_threshold_ms;
    let monitor = store.latency_monitor();
    if monitor.events().next().is_none() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_owned();
    }
    #[derive(Default)]
    struct Advice {
        slowlog_enabled: bool,
        slowlog_tuning: bool,
        slowlog_inspect: bool,
        scheduler: bool,
        local_disk: bool,
        ssd: bool,
        data_writeback: bool,
        disk_contention: bool,
        no_appendfsync: bool,
        relax_fsync: bool,
        write_load_info: bool,
        hz: bool,
        large_objects: bool,
        mass_eviction: bool,
    }
    let mut a = Advice::default();
    let mut advices = 0;
    let mut out = String::new();
    let mut n = 0;
    for (event, series) in monitor.events() {
        n += 1;
        if n == 1 {
            out.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let samples: Vec<_> = series.samples().collect();
        let count = samples.len() as u64;
        // A series always holds a sample; `max(1)` keeps the divisions defined regardless.
        let n_samples = count.max(1);
        let avg = samples.iter().map(|s| s.latency_ms).sum::<u64>() / n_samples;
        let mad = samples
            .iter()
            .map(|s| s.latency_ms.abs_diff(avg))
            .sum::<u64>()
            / n_samples;
        let oldest = samples.iter().map(|s| s.time_s).min().unwrap_or(now_s);
        let period = now_s.saturating_sub(oldest).max(1);
        out.push_str(&format!(
            "{n}. {event}: {count} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.",
            period as f64 / count as f64,
            series.max_ms
        ));
        match event {
            "command" => {
                if config.slowlog_log_slower_than < 0 {
                    a.slowlog_enabled = true;
                    advices += 1;
                } else if config.slowlog_log_slower_than as u64 / 1000 > threshold {
                    a.slowlog_tuning = true;
                    advices += 1;
                }
                a.slowlog_inspect = true;
                a.large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                a.scheduler = true;
                advices += 1;
            }
            "aof-write-pending-fsync" => {
                a.local_disk = true;
                a.disk_contention = true;
                a.ssd = true;
                a.data_writeback = true;
                advices += 4;
            }
            "aof-write-active-child" => {
                a.no_appendfsync = true;
                a.data_writeback = true;
                a.ssd = true;
                advices += 3;
            }
            "aof-write-alone" => {
                a.local_disk = true;
                a.data_writeback = true;
                a.ssd = true;
                advices += 3;
            }
            "aof-fsync-always" => {
                a.relax_fsync = true;
                advices += 1;
            }
            "aof-fstat" | "rdb-unlink-temp-file" => {
                a.disk_contention = true;
                a.local_disk = true;
                advices += 2;
            }
            "expire-cycle" => {
                a.hz = true;
                a.large_objects = true;
                advices += 2;
            }
            "aof-rewrite-diff-write" | "aof-rename" => {
                a.write_load_info = true;
                a.data_writeback = true;
                a.ssd = true;
                a.local_disk = true;
                advices += 4;
            }
            "eviction-del" => {
                a.large_objects = true;
                advices += 1;
            }
            "eviction-cycle" => {
                a.mass_eviction = true;
                advices += 1;
            }
            _ => {}
        }
        out.push('\n');
    }
    if n == 0 {
        out.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return out;
    }
    if advices == 0 {
        out.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        return out;
    }
    out.push_str("\nI have a few advices for you:\n\n");
    let us = threshold * 1000;
    if a.slowlog_enabled {
        out.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"));
    }
    if a.slowlog_tuning {
        out.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {us}'.\n"));
    }
    if a.slowlog_inspect {
        out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if a.scheduler {
        out.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if a.local_disk {
        out.push_str("- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n");
    }
    if a.ssd {
        out.push_str("- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n");
    }
    if a.data_writeback {
        out.push_str("- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n");
    }
    if a.disk_contention {
        out.push_str("- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n");
    }
    if a.no_appendfsync {
        out.push_str("- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n");
    }
    if a.relax_fsync && config.appendfsync == AppendFsync::Always {
        out.push_str("- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n");
    }
    if a.write_load_info {
        out.push_str("- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n");
    }
    if a.hz && config.hz < 100 {
        out.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if a.large_objects {
        out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    if a.mass_eviction {
        out.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
    }
    out
}

/// Columns of a LATENCY GRAPH (Redis's `LATENCY_GRAPH_COLS`).
const GRAPH_COLS: usize = 80;

/// LATENCY GRAPH's text (`latencyCommandGenSparkeline`): a header with the high, low and
/// all-time high, a rule, then the samples as a 4-row filled sparkline, each column
/// labelled (vertically) with how long ago it was: `12s`, `3m`, `2h`, `1d`.
fn latency_graph(event: &str, series: &crate::db::observe::LatencySeries, now_s: u64) -> String {
    let samples: Vec<(f64, String)> = series
        .samples()
        .map(|s| {
            let ago = now_s.saturating_sub(s.time_s);
            let label = match ago {
                0..60 => format!("{ago}s"),
                60..3600 => format!("{}m", ago / 60),
                3600..86400 => format!("{}h", ago / 3600),
                _ => format!("{}d", ago / 86400),
            };
            (s.latency_ms as f64, label)
        })
        .collect();
    let high = samples.iter().map(|s| s.0 as u64).max().unwrap_or(0);
    let low = samples.iter().map(|s| s.0 as u64).min().unwrap_or(0);
    let mut out = format!(
        "{event} - high {high} ms, low {low} ms (all time high {} ms)\n",
        series.max_ms
    );
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    sparkline(&mut out, &samples, GRAPH_COLS, 4);
    out
}

/// Redis's `sparklineRender` with `SPARKLINE_FILL`: the samples in chunks of `columns`,
/// each drawn `rows` high from `_o#` (and `|` below the top), then its labels downwards
/// after one blank line.
fn sparkline(out: &mut String, samples: &[(f64, String)], columns: usize, rows: usize) {
    const FILL: &[u8] = b"_o#";
    let min = samples.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let max = samples
        .iter()
        .map(|s| s.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (FILL.len() * rows) as i64;
    let has_labels = samples.iter().any(|s| !s.1.is_empty());
    for (chunk_no, chunk) in samples.chunks(columns).enumerate() {
        if chunk_no != 0 {
            out.push('\n');
        }
        let mut row = 0usize;
        loop {
            let mut chars = vec![b' '; chunk.len()];
            let mut more = false;
            for (j, (value, label)) in chunk.iter().enumerate() {
                // C: `(int)(relval*steps)/relmax`, truncated again into an int.
                let step = (((value - min) * steps as f64) as i64 as f64 / relmax) as i64;
                let step = step.clamp(0, steps - 1);
                if row < rows {
                    more = true;
                    let idx = step - ((rows - row - 1) * FILL.len()) as i64;
                    if (0..FILL.len() as i64).contains(&idx) {
                        chars[j] = FILL[idx as usize];
                    } else if idx >= FILL.len() as i64 {
                        chars[j] = b'|';
                    }
                } else {
                    // One blank line between the graph and the labels.
                    if has_labels && row - rows < 1 {
                        more = true;
                        break;
                    }
                    let at = row - rows - 1;
                    if let Some(&c) = label.as_bytes().get(at) {
                        more = true;
                        chars[j] = c;
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
}

/// `MONITOR`: from now on, the connection receives a line for every command the server
/// runs (see `Store::feed_monitors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor;

impl Monitor {
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Option<Frame>, CmdError> {
        // Inside EXEC (Redis's CLIENT_DENY_BLOCKING) it could not stream its lines.
        if !ctx.may_block() {
            return Err(CmdError::err(
                "MONITOR isn't allowed for DENY BLOCKING client",
            ));
        }
        // Already monitoring: ignored, without a reply, as Redis does.
        if !ctx.store.start_monitor(ctx.conn.id) {
            return Ok(None);
        }
        Ok(Some(Frame::OK))
    }
}
