//! INFO: the server's state as `# Section` blocks of `field:value` lines, in Redis 7.0's
//! sections, order and field names, so that clients and exporters that parse it find what
//! they look for.
//!
//! Figures come from the store (keys, clients, commands, errors, settings) and from what the
//! adapter tells it ([`crate::db::ProcessInfo`], [`crate::db::PersistenceInfo`]); what neither
//! knows — allocator internals, replication backlogs — reads 0, as on a fresh Redis. Command
//! times (`usec`, latencystats) come from the clock the adapter injects
//! ([`crate::Store::set_clock`]); without one they are 0.

use std::fmt::Write as _;

use bytes::Bytes;

use super::client::text_reply;
use super::executor::Ctx;
use super::{Args, CmdError};
use crate::db::Store;
use crate::resp::Frame;

/// `INFO [section …]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Section names as given (lower-cased when matched); empty for the default set.
    pub sections: Vec<Bytes>,
}

/// Every section, in the order Redis writes them, with its title and whether `INFO` alone
/// includes it.
const SECTIONS: &[(&str, &str, bool)] = &[
    ("server", "Server", true),
    ("clients", "Clients", true),
    ("memory", "Memory", true),
    ("persistence", "Persistence", true),
    ("stats", "Stats", true),
    ("replication", "Replication", true),
    ("cpu", "CPU", true),
    ("modules", "Modules", true),
    ("commandstats", "Commandstats", false),
    ("errorstats", "Errorstats", true),
    ("latencystats", "Latencystats", false),
    ("cluster", "Cluster", true),
    ("keyspace", "Keyspace", true),
];

impl Info {
    pub(crate) fn parse(args: &mut Args) -> Result<Info, CmdError> {
        Ok(Info {
            sections: args.rest(),
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let mut wanted = [false; SECTIONS.len()];
        if self.sections.is_empty() {
            for (w, (_, _, default)) in wanted.iter_mut().zip(SECTIONS) {
                *w = *default;
            }
        }
        for s in &self.sections {
            let s = s.to_ascii_lowercase();
            match s.as_slice() {
                b"all" | b"everything" => wanted = [true; SECTIONS.len()],
                b"default" => {
                    for (w, (_, _, default)) in wanted.iter_mut().zip(SECTIONS) {
                        *w |= *default;
                    }
                }
                name => {
                    if let Some(i) = SECTIONS.iter().position(|(n, _, _)| n.as_bytes() == name) {
                        wanted[i] = true;
                    }
                }
            }
        }
        let text = render(ctx.store, ctx.now_ms, &wanted);
        Ok(text_reply(text, ctx.conn.proto))
    }
}

/// Redis's `bytesToHuman`.
fn human(n: u64) -> String {
    let d = n as f64;
    match n {
        0..=1023 => format!("{n}B"),
        _ if n < 1 << 20 => format!("{:.2}K", d / 1024.0),
        _ if n < 1 << 30 => format!("{:.2}M", d / (1u64 << 20) as f64),
        _ if n < 1 << 40 => format!("{:.2}G", d / (1u64 << 30) as f64),
        _ if n < 1 << 50 => format!("{:.2}T", d / (1u64 << 40) as f64),
        _ => format!("{:.2}P", d / (1u64 << 50) as f64),
    }
}

fn render(store: &Store, now_ms: u64, wanted: &[bool]) -> String {
    let mut out = String::with_capacity(4096);
    for (i, (name, title, _)) in SECTIONS.iter().enumerate() {
        if !wanted[i] {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
        let mut lines: Vec<(String, String)> = Vec::new();
        let mut add = |k: &str, v: String| lines.push((k.to_owned(), v));
        section(store, now_ms, name, &mut add);
        for (k, v) in lines {
            let _ = write!(out, "{k}:{v}\r\n");
        }
    }
    out
}

fn section(store: &Store, now_ms: u64, name: &str, add: &mut dyn FnMut(&str, String)) {
    let config = store.config();
    let process = store.process_info();
    let server = store.server();
    let persistence = store.persistence();
    let s = |v: &str| v.to_owned();
    match name {
        "server" => {
            let uptime_s = now_ms.saturating_sub(store.start_time_ms()) / 1000;
            add("redis_version", s(crate::REDIS_VERSION));
            add("redis_git_sha1", s("00000000"));
            add("redis_git_dirty", s("0"));
            add("redis_build_id", s("0"));
            add("redis_mode", s("standalone"));
            add("os", process.os.clone());
            add("arch_bits", process.arch_bits.to_string());
            add("monotonic_clock", s("POSIX clock_gettime"));
            add("multiplexing_api", process.multiplexing_api.clone());
            add("atomicvar_api", s("c11-builtin"));
            add("gcc_version", s("0.0.0"));
            add("process_id", process.process_id.to_string());
            add("process_supervised", s("no"));
            add("run_id", server.run_id.clone());
            add("tcp_port", config.port.to_string());
            add("server_time_usec", (now_ms * 1000).to_string());
            add("uptime_in_seconds", uptime_s.to_string());
            add("uptime_in_days", (uptime_s / 86400).to_string());
            add("hz", config.hz.to_string());
            add("configured_hz", config.hz.to_string());
            add("lru_clock", ((now_ms / 1000) & ((1 << 24) - 1)).to_string());
            add("executable", process.executable.clone());
            add("config_file", process.config_file.clone());
            add("io_threads_active", s("0"));
        }
        "clients" => {
            let blocked = store.clients().iter().filter(|(_, c)| c.blocked).count();
            add("connected_clients", store.clients().len().to_string());
            add("cluster_connections", s("0"));
            add("maxclients", config.maxclients.to_string());
            add("client_recent_max_input_buffer", s("0"));
            add("client_recent_max_output_buffer", s("0"));
            add("blocked_clients", blocked.to_string());
            add(
                "tracking_clients",
                store.tracking.client_count().to_string(),
            );
            add("clients_in_timeout_table", s("0"));
        }
        "memory" => {
            let used = store.used_memory();
            let rss = process.used_memory_rss_bytes;
            let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            let peak = store.used_memory_peak().max(used);
            let startup = store.used_memory_startup();
            let overhead = store.used_memory_overhead().min(used);
            let dataset = used - overhead;
            add("used_memory", used.to_string());
            add("used_memory_human", human(used));
            add("used_memory_rss", rss.to_string());
            add("used_memory_rss_human", human(rss));
            add("used_memory_peak", peak.to_string());
            add("used_memory_peak_human", human(peak));
            add(
                "used_memory_peak_perc",
                format!("{:.2}%", ratio(used * 100, peak)),
            );
            add("used_memory_overhead", overhead.to_string());
            add("used_memory_startup", startup.to_string());
            add("used_memory_dataset", dataset.to_string());
            add(
                "used_memory_dataset_perc",
                format!("{:.2}%", ratio(dataset * 100, used.saturating_sub(startup))),
            );
            add("allocator_allocated", used.to_string());
            add("allocator_active", used.to_string());
            add("allocator_resident", rss.to_string());
            add(
                "total_system_memory",
                process.total_system_memory_bytes.to_string(),
            );
            add(
                "total_system_memory_human",
                human(process.total_system_memory_bytes),
            );
            let lua = store.scripts.engine_memory() as u64;
            let scripts = store.scripts.memory() as u64;
            add("used_memory_lua", lua.to_string());
            add("used_memory_vm_eval", lua.to_string());
            add("used_memory_lua_human", human(lua));
            add("used_memory_scripts_eval", scripts.to_string());
            add("number_of_cached_scripts", store.scripts.len().to_string());
            let functions = &store.scripts.functions;
            let vm_functions = store.scripts.functions_engine_memory() as u64;
            let functions_memory = functions.memory() as u64;
            add(
                "number_of_functions",
                functions.function_count().to_string(),
            );
            add("number_of_libraries", functions.library_count().to_string());
            add("used_memory_vm_functions", vm_functions.to_string());
            add("used_memory_vm_total", (lua + vm_functions).to_string());
            add("used_memory_vm_total_human", human(lua + vm_functions));
            add("used_memory_functions", functions_memory.to_string());
            add(
                "used_memory_scripts",
                (scripts + functions_memory).to_string(),
            );
            add(
                "used_memory_scripts_human",
                human(scripts + functions_memory),
            );
            add("maxmemory", config.maxmemory.to_string());
            add("maxmemory_human", human(config.maxmemory));
            add("maxmemory_policy", s(config.maxmemory_policy.name()));
            add("allocator_frag_ratio", s("1.00"));
            add("allocator_frag_bytes", s("0"));
            add("allocator_rss_ratio", format!("{:.2}", ratio(rss, used)));
            add("allocator_rss_bytes", rss.saturating_sub(used).to_string());
            add("rss_overhead_ratio", s("1.00"));
            add("rss_overhead_bytes", s("0"));
            add(
                "mem_fragmentation_ratio",
                format!("{:.2}", ratio(rss, used)),
            );
            add(
                "mem_fragmentation_bytes",
                rss.saturating_sub(used).to_string(),
            );
            for k in [
                "mem_not_counted_for_evict",
                "mem_replication_backlog",
                "mem_total_replication_buffers",
                "mem_clients_slaves",
                "mem_clients_normal",
                "mem_cluster_links",
                "mem_aof_buffer",
            ] {
                add(k, s("0"));
            }
            add("mem_allocator", s(store.allocator_name()));
            for k in [
                "active_defrag_running",
                "lazyfree_pending_objects",
                "lazyfreed_objects",
            ] {
                add(k, s("0"));
            }
        }
        "persistence" => {
            let p = persistence;
            let ok = |b: bool| s(if b { "ok" } else { "err" });
            add("loading", s(if p.loading { "1" } else { "0" }));
            for k in [
                "async_loading",
                "current_cow_peak",
                "current_cow_size",
                "current_cow_size_age",
            ] {
                add(k, s("0"));
            }
            add("current_fork_perc", s("0.00"));
            add("current_save_keys_processed", s("0"));
            add("current_save_keys_total", s("0"));
            add(
                "rdb_changes_since_last_save",
                store
                    .writes()
                    .saturating_sub(p.writes_at_last_save)
                    .to_string(),
            );
            add(
                "rdb_bgsave_in_progress",
                s(if p.bgsave_in_progress { "1" } else { "0" }),
            );
            add("rdb_last_save_time", store.last_save_unix_s().to_string());
            add("rdb_last_bgsave_status", ok(p.last_bgsave_ok));
            let secs = |v: Option<u64>| v.map_or_else(|| s("-1"), |v| v.to_string());
            let running =
                |on: bool, since_ms: u64| secs(on.then(|| now_ms.saturating_sub(since_ms) / 1000));
            add("rdb_last_bgsave_time_sec", secs(p.last_bgsave_secs));
            add(
                "rdb_current_bgsave_time_sec",
                running(p.bgsave_in_progress, p.bgsave_started_ms),
            );
            add("rdb_saves", p.rdb_saves.to_string());
            add("rdb_last_cow_size", s("0"));
            add(
                "rdb_last_load_keys_expired",
                p.rdb_last_load_keys_expired.to_string(),
            );
            add(
                "rdb_last_load_keys_loaded",
                p.rdb_last_load_keys_loaded.to_string(),
            );
            add("aof_enabled", s(if config.appendonly { "1" } else { "0" }));
            add(
                "aof_rewrite_in_progress",
                s(if p.aof_rewrite_in_progress { "1" } else { "0" }),
            );
            add(
                "aof_rewrite_scheduled",
                s(if p.aof_rewrite_scheduled { "1" } else { "0" }),
            );
            add("aof_last_rewrite_time_sec", secs(p.last_aof_rewrite_secs));
            add(
                "aof_current_rewrite_time_sec",
                running(p.aof_rewrite_in_progress, p.aof_rewrite_started_ms),
            );
            add("aof_last_bgrewrite_status", ok(p.aof_last_bgrewrite_ok));
            add("aof_rewrites", p.aof_rewrites.to_string());
            add(
                "aof_rewrites_consecutive_failures",
                p.aof_rewrite_failures.to_string(),
            );
            add("aof_last_write_status", ok(p.aof_last_write_ok));
            add("aof_last_cow_size", s("0"));
            add("module_fork_in_progress", s("0"));
            add("module_fork_last_cow_size", s("0"));
            if config.appendonly {
                add("aof_current_size", p.aof_current_size.to_string());
                add("aof_base_size", p.aof_base_size.to_string());
                add(
                    "aof_pending_rewrite",
                    s(if p.aof_rewrite_scheduled { "1" } else { "0" }),
                );
                add("aof_buffer_length", p.aof_buffer_length.to_string());
                add(
                    "aof_pending_bio_fsync",
                    s(if p.aof_fsync_in_progress { "1" } else { "0" }),
                );
                // Redis counts the writes it made wait behind a slow fsync; redish leaves
                // them to the writer thread instead and never blocks one.
                add("aof_delayed_fsync", s("0"));
            }
        }
        "stats" => {
            let expired: u64 = store.dbs().iter().map(crate::db::Db::expired_count).sum();
            let (hits, misses) = store.keyspace_hits_misses();
            add(
                "total_connections_received",
                (store.clients().total_received - server.connections_at_reset).to_string(),
            );
            add(
                "total_commands_processed",
                (store.commands_processed - server.commands_at_reset).to_string(),
            );
            let traffic = store.traffic();
            add(
                "instantaneous_ops_per_sec",
                traffic.ops.per_sec().to_string(),
            );
            add("total_net_input_bytes", traffic.input_bytes.to_string());
            add("total_net_output_bytes", traffic.output_bytes.to_string());
            // No replication: these stay 0.
            for k in ["total_net_repl_input_bytes", "total_net_repl_output_bytes"] {
                add(k, s("0"));
            }
            let kbps = |r: &crate::db::observe::Rate| format!("{:.2}", r.per_sec() as f64 / 1024.0);
            add("instantaneous_input_kbps", kbps(&traffic.input));
            add("instantaneous_output_kbps", kbps(&traffic.output));
            for k in [
                "instantaneous_input_repl_kbps",
                "instantaneous_output_repl_kbps",
            ] {
                add(k, s("0.00"));
            }
            add(
                "rejected_connections",
                traffic.rejected_connections.to_string(),
            );
            let repl = store.replication();
            add("sync_full", repl.sync_full.to_string());
            add("sync_partial_ok", repl.sync_partial_ok.to_string());
            add("sync_partial_err", repl.sync_partial_err.to_string());
            add(
                "expired_keys",
                (expired - server.expired_at_reset).to_string(),
            );
            add("expired_stale_perc", s("0.00"));
            add("expired_time_cap_reached_count", s("0"));
            add("expire_cycle_cpu_milliseconds", s("0"));
            let (evicted, total_exceeded, current_exceeded) = store.eviction_stats(now_ms);
            add("evicted_keys", evicted.to_string());
            add("evicted_clients", s("0"));
            add("total_eviction_exceeded_time", total_exceeded.to_string());
            add(
                "current_eviction_exceeded_time",
                current_exceeded.to_string(),
            );
            add("keyspace_hits", hits.to_string());
            add("keyspace_misses", misses.to_string());
            add("pubsub_channels", store.pubsub.channel_count().to_string());
            add("pubsub_patterns", store.pubsub.pattern_count().to_string());
            add("pubsubshard_channels", s("0"));
            for k in [
                "latest_fork_usec",
                "total_forks",
                "migrate_cached_sockets",
                "slave_expires_tracked_keys",
                "active_defrag_hits",
                "active_defrag_misses",
                "active_defrag_key_hits",
                "active_defrag_key_misses",
                "total_active_defrag_time",
                "current_active_defrag_time",
            ] {
                add(k, s("0"));
            }
            let t = &store.tracking;
            add("tracking_total_keys", t.total_keys().to_string());
            add("tracking_total_items", t.total_items().to_string());
            add("tracking_total_prefixes", t.total_prefixes().to_string());
            add("unexpected_error_replies", s("0"));
            add(
                "total_error_replies",
                store.stats().total_error_replies.to_string(),
            );
            for k in [
                "dump_payload_sanitizations",
                "total_reads_processed",
                "total_writes_processed",
                "io_threaded_reads_processed",
                "io_threaded_writes_processed",
                "reply_buffer_shrinks",
                "reply_buffer_expands",
            ] {
                add(k, s("0"));
            }
        }
        "replication" => {
            crate::db::repl::info_lines(store, now_ms, &mut |k, v| add(&k, v));
        }
        "cpu" => {
            let (sys, user) = (process.used_cpu_sys_s, process.used_cpu_user_s);
            add("used_cpu_sys", format!("{sys:.6}"));
            add("used_cpu_user", format!("{user:.6}"));
            add("used_cpu_sys_children", s("0.000000"));
            add("used_cpu_user_children", s("0.000000"));
            add("used_cpu_sys_main_thread", format!("{sys:.6}"));
            add("used_cpu_user_main_thread", format!("{user:.6}"));
        }
        "commandstats" => {
            for (name, st) in store.stats().commands() {
                let per_call = if st.calls == 0 {
                    0.0
                } else {
                    st.usec as f64 / st.calls as f64
                };
                add(
                    &format!("cmdstat_{name}"),
                    format!(
                        "calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                        st.calls, st.usec, st.rejected_calls, st.failed_calls
                    ),
                );
            }
        }
        "latencystats" if config.latency_tracking => {
            let percentiles = &config.latency_tracking_info_percentiles.0;
            for (name, _) in store.stats().commands() {
                let Some(h) = store.latency_histogram(name) else {
                    continue;
                };
                let values: Vec<String> = percentiles
                    .iter()
                    .map(|&p| {
                        let v = h.value_at_percentile(p) as f64 / 1000.0;
                        format!("p{}={v:.3}", crate::db::trim_double(p))
                    })
                    .collect();
                add(
                    &format!("latency_percentiles_usec_{name}"),
                    values.join(","),
                );
            }
        }
        "errorstats" => {
            for (code, n) in store.stats().errors() {
                add(&format!("errorstat_{code}"), format!("count={n}"));
            }
        }
        "cluster" => add("cluster_enabled", s("0")),
        "keyspace" => {
            for (i, db) in store.dbs().iter().enumerate() {
                if !db.is_empty() {
                    add(
                        &format!("db{i}"),
                        format!("keys={},expires={},avg_ttl=0", db.len(), db.volatile_len()),
                    );
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn human_sizes_as_redis() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(917_112), "895.62K");
        assert_eq!(human(1_000_000), "976.56K");
        assert_eq!(human(6_733_824), "6.42M");
        assert_eq!(human(25_325_268_992), "23.59G");
    }
}
