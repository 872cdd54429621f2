//! `odbcd-loadtest`: drives an odbcd server through the public client library and reports
//! throughput and latency percentiles.
//!
//! Closed loop: each of `--sessions` threads opens its own session and connection and sends
//! the next request as soon as the previous one is answered. Every run stops by itself after
//! `--duration` seconds or `--requests` requests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use odbcd::client::{ConfigData, Connection, Error, ServerSession, Value};

#[derive(Parser, Debug, Clone)]
#[command(name = "odbcd-loadtest", version, about = "Load generator for odbcd")]
struct Args {
    /// Client configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Server host (127.0.0.1 unless --config says otherwise).
    #[arg(long)]
    host: Option<String>,
    /// Server port.
    #[arg(long)]
    port: Option<u16>,
    /// User for the server's authentication.
    #[arg(long, default_value = "")]
    user: String,
    /// Password for the server's authentication.
    #[arg(long, default_value = "")]
    password: String,
    /// Turn client-to-server compression off.
    #[arg(long)]
    no_compression: bool,
    /// ODBC connection string of the data source on the server.
    #[arg(long)]
    connect: String,
    /// What each request does.
    #[arg(long, value_enum, default_value_t = Workload::Select1)]
    workload: Workload,
    /// Concurrent sessions (one thread, session and connection each).
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Seconds to measure (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Stop after this many measured requests in total instead.
    #[arg(long)]
    requests: Option<u64>,
    /// Seconds of unmeasured warm-up.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Rows of the `lookup`/`bulk` table (created and filled when missing or of another size).
    #[arg(long, default_value_t = 10_000)]
    prepare_rows: u64,
    /// Write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// `SELECT 1`.
    Select1,
    /// A random primary-key point query on the prepared table.
    Lookup,
    /// Fetch the whole prepared table.
    Bulk,
    /// Insert one row (autocommit).
    Insert,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Self::Select1 => "select1",
            Self::Lookup => "lookup",
            Self::Bulk => "bulk",
            Self::Insert => "insert",
        }
    }
}

const TABLE: &str = "odbcd_loadtest";
const INSERT_TABLE: &str = "odbcd_loadtest_insert";

struct Shared {
    hist: Mutex<Histogram<u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    first_errors: Mutex<Vec<String>>,
    requests: AtomicU64,
    rows: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
}

fn session(args: &Args) -> Result<(ServerSession, Connection), Error> {
    let mut data = ConfigData::new();
    if args.host.is_some() || args.port.is_some() {
        data = data.only_server("LoadtestConnection", args.host.as_deref(), args.port);
    }
    if args.no_compression {
        data = data.set("Session", "enable_compression", 0);
    }
    let mut s = ServerSession::new(args.config.as_deref(), Some(&data))?;
    let odbc = s.open(&args.user, &args.password, None, None)?;
    let conn = odbc.driver_connect(&args.connect)?;
    Ok((s, conn))
}

/// Creates and fills the lookup/bulk table unless it already holds `rows` rows.
fn prepare(conn: &Connection, args: &Args) -> Result<(), Error> {
    let mut c = conn.cursor();
    match args.workload {
        Workload::Lookup | Workload::Bulk => {
            let have = c
                .execute(&format!("SELECT COUNT(*) FROM {TABLE}"), &[])
                .and_then(|c| c.fetchone())
                .ok()
                .flatten()
                .and_then(|r| match r.first() {
                    Some(Value::Int(n)) => Some(*n as u64),
                    Some(Value::Text(t)) => t.parse().ok(),
                    _ => None,
                });
            if have == Some(args.prepare_rows) {
                return Ok(());
            }
            let _ = c.execute(&format!("DROP TABLE {TABLE}"), &[]);
            c.execute(
                &format!("CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, name VARCHAR(40), amount NUMERIC(12,2), created TIMESTAMP)"),
                &[],
            )?;
            let sql = format!("INSERT INTO {TABLE} VALUES (?, ?, ?, ?)");
            let mut batch = Vec::new();
            for id in 1..=args.prepare_rows {
                batch.push(vec![
                    Value::Int(id as i64),
                    Value::Text(format!("customer-name-{id:012}")),
                    Value::Decimal(format!("{}.{:02}", id / 4, (id % 4) * 25)),
                    Value::Text("2024-01-02 03:04:05".into()),
                ]);
                if batch.len() == 1000 {
                    c.executemany(&sql, &batch)?;
                    batch.clear();
                }
            }
            if !batch.is_empty() {
                c.executemany(&sql, &batch)?;
            }
        }
        Workload::Insert => {
            let _ = c.execute(&format!("DROP TABLE {INSERT_TABLE}"), &[]);
            c.execute(
                &format!(
                    "CREATE TABLE {INSERT_TABLE} (session INTEGER, n INTEGER, payload VARCHAR(40))"
                ),
                &[],
            )?;
        }
        Workload::Select1 => {}
    }
    Ok(())
}

/// One request; returns the rows it fetched.
fn request(
    conn: &Connection,
    args: &Args,
    worker: usize,
    n: u64,
    rng: &mut u64,
) -> Result<u64, Error> {
    let mut c = conn.cursor();
    Ok(match args.workload {
        Workload::Select1 => {
            c.execute("SELECT 1", &[])?;
            c.fetchall()?.len() as u64
        }
        Workload::Lookup => {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            let id = (*rng % args.prepare_rows.max(1)) + 1;
            c.execute(
                &format!("SELECT id, name, amount, created FROM {TABLE} WHERE id = ?"),
                &[Value::Int(id as i64)],
            )?;
            c.fetchall()?.len() as u64
        }
        Workload::Bulk => {
            c.execute(
                &format!("SELECT id, name, amount, created FROM {TABLE}"),
                &[],
            )?;
            let mut rows = 0;
            for r in c.rows() {
                r?;
                rows += 1;
            }
            rows
        }
        Workload::Insert => {
            c.execute(
                &format!("INSERT INTO {INSERT_TABLE} VALUES (?, ?, ?)"),
                &[
                    Value::Int(worker as i64),
                    Value::Int(n as i64),
                    Value::Text("payload-0123456789".into()),
                ],
            )?;
            0
        }
    })
}

fn worker(args: &Args, shared: &Shared, id: usize, conn: &Connection) {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (id as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut n = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let result = request(conn, args, id, n, &mut rng);
        let micros = started.elapsed().as_micros() as u64;
        n += 1;
        if !shared.measuring.load(Ordering::Relaxed) {
            continue;
        }
        match result {
            Ok(rows) => {
                if let Ok(mut h) = shared.hist.lock() {
                    let _ = h.record(micros.max(1));
                }
                shared.rows.fetch_add(rows, Ordering::Relaxed);
            }
            Err(e) => {
                if let Ok(mut m) = shared.errors.lock() {
                    *m.entry(e.class.to_string()).or_default() += 1;
                }
                if let Ok(mut f) = shared.first_errors.lock() {
                    if f.len() < 5 {
                        eprintln!("error: {e}");
                        f.push(e.to_string());
                    }
                }
            }
        }
        let done = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if args.requests.is_some_and(|max| done >= max) {
            shared.stop.store(true, Ordering::Relaxed);
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let setup = match session(&args).and_then(|(s, c)| prepare(&c, &args).map(|()| (s, c))) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("odbcd-loadtest: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    drop(setup);
    let hist = match Histogram::new_with_bounds(1, 3_600_000_000, 3) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("odbcd-loadtest: histogram: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let shared = Arc::new(Shared {
        hist: Mutex::new(hist),
        errors: Mutex::new(BTreeMap::new()),
        first_errors: Mutex::new(Vec::new()),
        requests: AtomicU64::new(0),
        rows: AtomicU64::new(0),
        measuring: AtomicBool::new(args.warmup <= 0.0),
        stop: AtomicBool::new(false),
    });
    let mut conns = Vec::new();
    for _ in 0..args.sessions {
        match session(&args) {
            Ok(x) => conns.push(x),
            Err(e) => {
                eprintln!("odbcd-loadtest: opening a session: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let threads: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, (s, c))| {
            let args = args.clone();
            let shared = shared.clone();
            std::thread::spawn(move || {
                worker(&args, &shared, i, &c);
                drop(c);
                drop(s);
            })
        })
        .collect();
    if args.warmup > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(args.warmup));
        shared.measuring.store(true, Ordering::Relaxed);
    }
    let started = Instant::now();
    let limit = Duration::from_secs_f64(if args.requests.is_some() {
        3600.0
    } else {
        args.duration.max(0.001)
    });
    while !shared.stop.load(Ordering::Relaxed) && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(10));
    }
    shared.stop.store(true, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    for t in threads {
        let _ = t.join();
    }
    let report = report(&args, &shared, secs);
    {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "{}", human(&report));
    }
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, format!("{report:#}\n")) {
            eprintln!("odbcd-loadtest: cannot write {}: {e}", path.display());
            return std::process::ExitCode::from(2);
        }
    }
    std::process::ExitCode::SUCCESS
}

fn report(args: &Args, shared: &Shared, secs: f64) -> serde_json::Value {
    let h = shared
        .hist
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    let requests = shared.requests.load(Ordering::Relaxed);
    let rows = shared.rows.load(Ordering::Relaxed);
    let errors = shared.errors.lock().map(|e| e.clone()).unwrap_or_default();
    serde_json::json!({
        "workload": args.workload.name(),
        "mode": "remote",
        "sessions": args.sessions,
        "duration_s": secs,
        "requests": requests,
        "rows": rows,
        "throughput_rps": requests as f64 / secs,
        "rows_per_s": rows as f64 / secs,
        "latency_us": {
            "p50": h.value_at_quantile(0.50),
            "p90": h.value_at_quantile(0.90),
            "p99": h.value_at_quantile(0.99),
            "p999": h.value_at_quantile(0.999),
            "max": h.max(),
        },
        "errors": errors,
    })
}

fn human(r: &serde_json::Value) -> String {
    let l = &r["latency_us"];
    format!(
        "workload {} | sessions {} | {:.1} s\nrequests {} ({:.0}/s) | rows {} ({:.0}/s)\nlatency µs: p50 {} p90 {} p99 {} p99.9 {} max {}\nerrors {}",
        r["workload"].as_str().unwrap_or_default(),
        r["sessions"],
        r["duration_s"].as_f64().unwrap_or_default(),
        r["requests"],
        r["throughput_rps"].as_f64().unwrap_or_default(),
        r["rows"],
        r["rows_per_s"].as_f64().unwrap_or_default(),
        l["p50"],
        l["p90"],
        l["p99"],
        l["p999"],
        l["max"],
        r["errors"]
    )
}
