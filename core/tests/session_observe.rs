//! What operators watch, without sockets: sessions on one store with a fake injected clock
//! that steps a fixed number of microseconds per reading, so command durations, INFO
//! commandstats and latencystats, SLOWLOG, LATENCY and MONITOR come out exactly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use redish_core::db::{ClientConn, Clock};
use redish_core::{Session, SessionConfig, Store};

const T0: u64 = 1_700_000_000_000;

/// Each reading of the monotonic clock advances it by `step` µs: a command, read before and
/// after, takes `step` µs.
struct StepClock {
    now_us: Arc<AtomicU64>,
    step: Arc<AtomicU64>,
}

impl Clock for StepClock {
    fn monotonic_us(&self) -> u64 {
        let step = self.step.load(Ordering::Relaxed);
        self.now_us.fetch_add(step, Ordering::Relaxed) + step
    }

    fn unix_us(&self) -> u64 {
        T0 * 1000 + 123_456
    }
}

struct Server {
    store: Store,
    step: Arc<AtomicU64>,
}

impl Server {
    fn new(step_us: u64) -> Server {
        let mut store = Store::default();
        store.set_start_time(T0);
        let step = Arc::new(AtomicU64::new(step_us));
        store.set_clock(Box::new(StepClock {
            now_us: Arc::new(AtomicU64::new(0)),
            step: step.clone(),
        }));
        Server { store, step }
    }

    fn connect(&mut self) -> Session {
        let id = self.store.next_client_id();
        self.store.register_client(
            id,
            ClientConn {
                addr: format!("127.0.0.1:{}", 50000 + id),
                laddr: "127.0.0.1:6379".to_owned(),
                fd: 10 + id as i64,
                unix_socket: false,
            },
            T0,
        );
        Session::new(id, SessionConfig::default())
    }

    /// Sends inline commands, one per line; returns what `s` wrote.
    fn send(&mut self, s: &mut Session, input: &str) -> String {
        s.handle_bytes(input.as_bytes());
        s.process(&mut self.store, T0);
        let out = String::from_utf8_lossy(s.poll_transmit()).into_owned();
        let n = s.poll_transmit().len();
        s.consume_transmit(n);
        out
    }

    fn info(&mut self, s: &mut Session, section: &str) -> Vec<String> {
        let out = self.send(s, &format!("INFO {section}\r\n"));
        out.split("\r\n")
            .filter(|l| l.contains(':') && !l.starts_with('$'))
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn commandstats_and_latencystats_are_measured() {
    let mut srv = Server::new(7);
    let mut c = srv.connect();
    srv.send(&mut c, "SET k v\r\nGET k\r\nGET k\r\n");
    let stats = srv.info(&mut c, "commandstats");
    assert!(
        stats.contains(
            &"cmdstat_get:calls=2,usec=14,usec_per_call=7.00,rejected_calls=0,failed_calls=0"
                .to_owned()
        ),
        "{stats:?}"
    );
    // 7 µs = 7000 ns, whose HdrHistogram slot (2 significant figures) ends at 7007 ns.
    let lat = srv.info(&mut c, "latencystats");
    assert!(
        lat.contains(&"latency_percentiles_usec_get:p50=7.007,p99=7.007,p99.9=7.007".to_owned()),
        "{lat:?}"
    );
    // The percentiles shown follow the setting, written as Redis writes them; p0 is the
    // lowest value of the slot (6976 ns).
    srv.send(
        &mut c,
        "CONFIG SET latency-tracking-info-percentiles \"0 12.5 100\"\r\n",
    );
    let out = srv.send(&mut c, "CONFIG GET latency-tracking-info-percentiles\r\n");
    assert!(out.contains("0 12.5 100"), "{out}");
    let lat = srv.info(&mut c, "latencystats");
    assert!(
        lat.contains(&"latency_percentiles_usec_set:p0=6.976,p12.5=7.007,p100=7.007".to_owned()),
        "{lat:?}"
    );
    // Off: no histograms shown.
    srv.send(&mut c, "CONFIG SET latency-tracking no\r\n");
    assert!(srv.info(&mut c, "latencystats").is_empty());
    srv.send(&mut c, "CONFIG SET latency-tracking yes\r\n");
    // RESETSTAT forgets times and histograms.
    srv.send(&mut c, "CONFIG RESETSTAT\r\n");
    srv.step.store(3, Ordering::Relaxed);
    srv.send(&mut c, "GET k\r\n");
    let stats = srv.info(&mut c, "commandstats");
    assert!(
        stats.contains(
            &"cmdstat_get:calls=1,usec=3,usec_per_call=3.00,rejected_calls=0,failed_calls=0"
                .to_owned()
        ),
        "{stats:?}"
    );
    let lat = srv.info(&mut c, "latencystats");
    assert!(
        lat.iter()
            .any(|l| l == "latency_percentiles_usec_get:p0=2.992,p12.5=3.007,p100=3.007"),
        "{lat:?}"
    );
}

#[test]
fn percentile_settings_are_checked_as_redis() {
    let mut srv = Server::new(1);
    let mut c = srv.connect();
    let out = srv.send(
        &mut c,
        "CONFIG SET latency-tracking-info-percentiles \"50 101\"\r\n",
    );
    assert_eq!(
        out,
        "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]\r\n"
    );
    let out = srv.send(
        &mut c,
        "CONFIG SET latency-tracking-info-percentiles abc\r\n",
    );
    assert_eq!(
        out,
        "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters\r\n"
    );
    let out = srv.send(&mut c, "CONFIG SET slowlog-log-slower-than -2\r\n");
    assert_eq!(
        out,
        "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive\r\n"
    );
}

#[test]
fn the_latency_monitor_samples_events_over_its_threshold() {
    // Each command takes 5 ms on this clock.
    let mut srv = Server::new(5_000);
    let mut c = srv.connect();
    srv.send(&mut c, "GET k\r\n");
    assert_eq!(
        srv.send(&mut c, "LATENCY LATEST\r\n"),
        "*0\r\n",
        "off by default"
    );
    srv.send(&mut c, "CONFIG SET latency-monitor-threshold 5\r\n");
    // GET is flagged fast, KEYS is not.
    srv.send(&mut c, "GET k\r\nKEYS *\r\nSET k v PX 1\r\n");
    let t = T0 / 1000;
    let latest = srv.send(&mut c, "LATENCY LATEST\r\n");
    // The CONFIG SET itself is sampled, as in Redis: the threshold is read after it ran.
    // One sample per second, the worst of it.
    assert_eq!(
        latest,
        format!(
            "*2\r\n*4\r\n$7\r\ncommand\r\n:{t}\r\n:5\r\n:5\r\n*4\r\n$12\r\nfast-command\r\n:{t}\r\n:5\r\n:5\r\n"
        )
    );
    let history = srv.send(&mut c, "LATENCY HISTORY command\r\n");
    assert_eq!(history, format!("*1\r\n*2\r\n:{t}\r\n:5\r\n"));
    // Active expiry's pass is the `expire-cycle` event; what adapters measure comes in the
    // same way.
    srv.store.handle_timeout(T0 + 10);
    srv.store.handle_latency("aof-write", 7, T0 + 10);
    srv.store.handle_latency("aof-fsync-always", 4, T0 + 10);
    let names: Vec<&str> = srv
        .store
        .latency_monitor()
        .events()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        ["command", "fast-command", "expire-cycle", "aof-write"]
    );
    assert_eq!(
        srv.send(&mut c, "LATENCY RESET command nosuch\r\n"),
        ":1\r\n"
    );
    // That LATENCY RESET took 5 ms itself: `command` is back.
    assert_eq!(srv.send(&mut c, "LATENCY RESET\r\n"), ":4\r\n");
}

#[test]
fn slow_commands_are_logged_by_their_duration() {
    let mut srv = Server::new(20);
    let mut c = srv.connect();
    srv.send(&mut c, "CONFIG SET slowlog-log-slower-than 25\r\n");
    srv.send(&mut c, "GET fast\r\n");
    assert_eq!(srv.send(&mut c, "SLOWLOG LEN\r\n"), ":0\r\n");
    srv.step.store(30, Ordering::Relaxed);
    srv.send(&mut c, "GET slow\r\n");
    let t = T0 / 1000;
    // The SLOWLOG LEN that ran at 30 µs is logged too, after this reply.
    assert_eq!(srv.send(&mut c, "SLOWLOG LEN\r\n"), ":1\r\n");
    assert_eq!(
        srv.send(&mut c, "SLOWLOG GET 1\r\n"),
        format!("*1\r\n*6\r\n:1\r\n:{t}\r\n:30\r\n*2\r\n$7\r\nSLOWLOG\r\n$3\r\nLEN\r\n$15\r\n127.0.0.1:50001\r\n$0\r\n\r\n")
    );
}

#[test]
fn traffic_and_rates_are_measured() {
    let mut srv = Server::new(1);
    let mut c = srv.connect();
    // 12 bytes in, 2 × "+PONG\r\n" (14 bytes) out; output counts once written, at the
    // session's next `process`.
    srv.send(&mut c, "PING\r\nPING\r\n");
    srv.store.handle_rejected_connection();
    // Sampled every 100 ms over 16 samples.
    srv.store.track_metrics(T0);
    srv.send(&mut c, &"PING\r\n".repeat(10));
    srv.store.track_metrics(T0 + 50); // too early: not sampled
    srv.store.track_metrics(T0 + 100);
    let stats = srv.info(&mut c, "stats");
    let field = |name: &str| {
        stats
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} in {stats:?}"))
            .to_owned()
    };
    // Over those 100 ms: 10 commands (100/s), 60 bytes in (600 B/s) and the first 14 out
    // (140 B/s), each one sample of 16.
    assert_eq!(field("instantaneous_ops_per_sec"), "6");
    // Input includes this INFO's 12 bytes; output all replies before it.
    assert_eq!(field("total_net_input_bytes"), "84");
    assert_eq!(field("total_net_output_bytes"), "84");
    assert_eq!(
        field("instantaneous_input_kbps"),
        format!("{:.2}", 600.0 / 16.0 / 1024.0)
    );
    assert_eq!(
        field("instantaneous_output_kbps"),
        format!("{:.2}", 140.0 / 16.0 / 1024.0)
    );
    assert_eq!(field("rejected_connections"), "1");
    srv.send(&mut c, "CONFIG RESETSTAT\r\n");
    let stats = srv.info(&mut c, "stats");
    assert!(
        stats.contains(&"rejected_connections:0".to_owned()),
        "{stats:?}"
    );
}

#[test]
fn latency_graph_draws_redis_s_sparkline() {
    // Commands take no time on this clock: only the samples fed below are recorded.
    let mut srv = Server::new(0);
    let mut c = srv.connect();
    srv.send(&mut c, "CONFIG SET latency-monitor-threshold 1\r\n");
    assert_eq!(
        srv.send(&mut c, "LATENCY GRAPH aof-write\r\n"),
        "-ERR No samples available for event 'aof-write'\r\n"
    );
    srv.store.handle_latency("aof-write", 10, T0 - 120_000);
    srv.store.handle_latency("aof-write", 20, T0 - 30_000);
    srv.store.handle_latency("aof-write", 40, T0);
    let out = srv.send(&mut c, "LATENCY GRAPH aof-write\r\n");
    // Steps of 10, 20, 40 ms between min 10 and max 40 over 4 rows of `_o#`: 0, 4 and 11
    // (of 12); labels are the time ago, written downwards after a blank line.
    let text = format!(
        "aof-write - high 40 ms, low 10 ms (all time high 40 ms)\n{}\n  #\n  |\n o|\n_||\n   \n230\nm0s\n s \n",
        "-".repeat(80)
    );
    assert_eq!(out, format!("${}\r\n{text}\r\n", text.len()));
    // RESP3: a verbatim string.
    srv.send(&mut c, "HELLO 3\r\n");
    let out = srv.send(&mut c, "LATENCY GRAPH aof-write\r\n");
    assert_eq!(out, format!("={}\r\ntxt:{text}\r\n", text.len() + 4));
}

#[test]
fn latency_graph_wraps_at_eighty_columns_and_labels_hours_and_days() {
    let mut srv = Server::new(0);
    let mut c = srv.connect();
    srv.send(&mut c, "CONFIG SET latency-monitor-threshold 1\r\n");
    // 81 samples, one per second, equal: a flat line, wrapped after 80 columns.
    for i in 1..=81u64 {
        srv.store
            .handle_latency("expire-cycle", 5, T0 - 2 * 86_400_000 + i * 1000);
    }
    let out = srv.send(&mut c, "LATENCY GRAPH expire-cycle\r\n");
    let body = out.split_once("\r\n").unwrap().1;
    let lines: Vec<&str> = body.trim_end_matches("\r\n").split('\n').collect();
    assert_eq!(
        lines[0],
        "expire-cycle - high 5 ms, low 5 ms (all time high 5 ms)"
    );
    assert_eq!(lines[2], " ".repeat(80));
    assert_eq!(lines[5], "_".repeat(80));
    assert_eq!(lines[6], " ".repeat(80));
    assert_eq!(lines[7], "1".repeat(80), "1 day ago");
    assert_eq!(lines[8], "d".repeat(80));
    // The 81st column starts a new block after an empty line.
    assert_eq!(lines[9], "");
    assert_eq!(&lines[10..], [" ", " ", " ", "_", " ", "1", "d", ""]);
}

#[test]
fn latency_doctor_reports_as_redis() {
    let mut srv = Server::new(0);
    let mut c = srv.connect();
    let bulk = |text: &str| format!("${}\r\n{text}\r\n", text.len());
    assert_eq!(
        srv.send(&mut c, "LATENCY DOCTOR\r\n"),
        bulk("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n")
    );
    srv.send(&mut c, "CONFIG SET latency-monitor-threshold 1\r\n");
    assert_eq!(
        srv.send(&mut c, "LATENCY DOCTOR\r\n"),
        bulk("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n")
    );
    // `command`: 10 and 30 ms, 4 s apart, the first 8 s ago: average 20, deviation 10,
    // period 8 s / 2 samples. slowlog-log-slower-than 10000 µs is over the 1 ms threshold.
    srv.store.handle_latency("command", 10, T0 - 8_000);
    srv.store.handle_latency("command", 30, T0 - 4_000);
    srv.store.handle_latency("expire-cycle", 3, T0 - 1_000);
    let report = srv.send(&mut c, "LATENCY DOCTOR\r\n");
    let text = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n\
1. command: 2 latency spikes (average 20ms, mean deviation 10ms, period 4.00 sec). Worst all time event 30ms.\n\
2. expire-cycle: 1 latency spikes (average 3ms, mean deviation 0ms, period 1.00 sec). Worst all time event 3ms.\n\
\nI have a few advices for you:\n\n\
- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than 1000'.\n\
- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n\
- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n\
- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n";
    assert_eq!(report, bulk(text));
}
