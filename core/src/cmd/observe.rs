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
