//! `odbcd-loadtest`: drives an odbcd server through the public client library (or, with
//! `--direct`, the same data source through `odbc-api` in this process) and reports throughput,
//! latency percentiles, errors and bytes on the wire.
//!
//! Closed loop by default: each of `--sessions` threads sends its next request as soon as the
//! previous one is answered. With `--rate R`, open loop: requests are scheduled at R per second
//! in total and latency is measured from each request's *intended* start, so a slow server is
//! not hidden by requests that were never sent (no coordinated omission). Every run stops by
//! itself after `--duration` seconds or `--requests` requests.
//!
//! `odbcd-loadtest link --listen ADDR --to ADDR --rtt-ms MS --mbit MBIT` runs a network link
//! emulator instead (see `link.rs`): the benchmarks put it between a client and odbcd, or
//! between `psql` and PostgreSQL.

mod link;
mod pingpong;
mod report;
mod runner;
mod workload;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use odbcd::client::{ConfigData, ServerSession};
use report::Stats;
use runner::{Direct, Remote, Runner};
use workload::{Generator, Kind, Template};

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
    /// Use TLS (verify the server with --server-cert, or not at all with --insecure).
    #[arg(long)]
    tls: bool,
    /// The server's certificate or CA, for --tls.
    #[arg(long)]
    server_cert: Option<PathBuf>,
    /// With --tls: accept any server certificate.
    #[arg(long)]
    insecure: bool,
    /// Turn client-to-server compression off.
    #[arg(long)]
    no_compression: bool,
    /// ODBC connection string of the data source.
    #[arg(long)]
    connect: String,
    /// The workload (ignored with --sql).
    #[arg(long, value_enum, default_value_t = Kind::Select1)]
    workload: Kind,
    /// Your own statements, one per line, with {int:A:B}, {text:N}, {seq}, {session} generators.
    #[arg(long)]
    sql: Option<PathBuf>,
    /// Concurrent sessions (a thread, session and connection each).
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
    /// Open loop at this many requests per second in total.
    #[arg(long)]
    rate: Option<f64>,
    /// Rows of the lookup/bulk table (created and filled when missing or of another size).
    #[arg(long, default_value_t = 10_000)]
    prepare_rows: u64,
    /// Inserts per transaction for the insert workload (1: autocommit).
    #[arg(long, default_value_t = 1)]
    batch: u32,
    /// Run the same workload through odbc-api in this process instead of through odbcd.
    #[arg(long)]
    direct: bool,
    /// Open this many extra idle sessions first and keep them open during the run; reports
    /// their open rate and the server's memory per idle session.
    #[arg(long, default_value_t = 0)]
    idle_sessions: usize,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a plot (SVG) of throughput and latency over time here.
    #[arg(long)]
    plot: Option<PathBuf>,
}

fn session(args: &Args) -> Result<ServerSession, odbcd::client::Error> {
    let mut data = ConfigData::new();
    if args.host.is_some() || args.port.is_some() {
        data = data.only_server("LoadtestConnection", args.host.as_deref(), args.port);
    }
    if args.no_compression {
        data = data.set("Session", "enable_compression", 0);
    }
    // Sessions are short-lived and busy here: no pings.
    data = data.set("Communication", "ping_interval", "None");
    if args.tls {
        let section = if args.host.is_some() || args.port.is_some() {
            "LoadtestConnection"
        } else {
            "Connection"
        };
        data = data.set(section, "using_ssl", 1);
        if let Some(c) = &args.server_cert {
            data = data.set(section, "server_certificate_file", c.display());
        }
        if args.insecure {
            data = data.set(section, "verify_server_certificate", 0);
        }
    }
    ServerSession::new(args.config.as_deref(), Some(&data))
}

fn open_runner(args: &Args) -> Result<Box<dyn Runner>, (String, String)> {
    if args.workload == Kind::Pingpong && args.sql.is_none() {
        let Some(addr) = pingpong::ECHO.get() else {
            return Err(("InterfaceError".into(), "no echo process".into()));
        };
        return pingpong::PingPong::open(*addr).map(|r| Box::new(r) as Box<dyn Runner>);
    }
    if args.direct {
        Ok(Box::new(Direct::open(&args.connect)?))
    } else {
        let s = session(args).map_err(|e| (e.class.to_string(), e.to_string()))?;
        Remote::open(s, &args.user, &args.password, &args.connect)
            .map(|r| Box::new(r) as Box<dyn Runner>)
            .map_err(|e| (e.class.to_string(), e.to_string()))
    }
}

/// Creates and fills the tables the workload needs, unless they are there already.
fn prepare(args: &Args, runner: &mut dyn Runner) -> Result<(), (String, String)> {
    if args.sql.is_some() {
        return Ok(());
    }
    let (ddl, fill) = workload::setup_sql(args.workload);
    let table = if fill {
        workload::TABLE
    } else {
        workload::INSERT_TABLE
    };
    if ddl.is_empty() {
        return Ok(());
    }
    if fill {
        let count = workload::Step::Execute {
            sql: format!("SELECT id FROM {table}"),
            params: vec![],
        };
        if runner.run(&count).ok() == Some(args.prepare_rows) {
            return Ok(());
        }
    }
    let _ = runner.run(&workload::Step::Execute {
        sql: format!("DROP TABLE {table}"),
        params: vec![],
    });
    for sql in ddl {
        runner.run(&workload::Step::Execute {
            sql,
            params: vec![],
        })?;
    }
    if fill {
        // Fill it on the database side where the dialect allows (PostgreSQL, SQLite); else row
        // by row.
        for sql in workload::fill_sql(args.prepare_rows) {
            if runner
                .run(&workload::Step::Execute {
                    sql,
                    params: vec![],
                })
                .is_ok()
            {
                return Ok(());
            }
        }
        let insert = format!("INSERT INTO {table} VALUES (?, ?, ?, ?)");
        for batch in workload::fill_rows(args.prepare_rows) {
            for params in batch {
                runner.run(&workload::Step::Execute {
                    sql: insert.clone(),
                    params,
                })?;
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    // The other process of `--workload pingpong` (started by the loadtest itself).
    if std::env::args_os().skip(1).eq(["--pingpong-echo"]) {
        return pingpong::echo();
    }
    // `odbcd-loadtest link ...`: the network link emulator (a proxy of its own).
    if std::env::args_os().nth(1).is_some_and(|a| a == "link") {
        return link::run(&link::LinkArgs::parse_from(std::env::args_os().skip(1)));
    }
    // `odbcd-loadtest --man-page`: the manual page (roff), for packaging.
    if std::env::args_os().skip(1).eq(["--man-page"]) {
        use clap::CommandFactory;
        let mut out = std::io::stdout().lock();
        return match clap_mangen::Man::new(Args::command()).render(&mut out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("odbcd-loadtest: {e}");
                ExitCode::from(2)
            }
        };
    }
    let args = Args::parse();
    let templates: Vec<Template> = match &args.sql {
        None => Vec::new(),
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| workload::parse_sql_file(&t))
        {
            Ok(t) => t,
            Err(e) => {
                eprintln!("odbcd-loadtest: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    let fail = |what: &str, e: (String, String)| {
        eprintln!("odbcd-loadtest: {what}: {}", e.1);
        ExitCode::from(2)
    };
    if args.direct && args.workload == Kind::Ping && args.sql.is_none() {
        eprintln!(
            "odbcd-loadtest: --workload ping measures the server alone: it has no --direct form"
        );
        return ExitCode::from(2);
    }
    // The echo process lives as long as this one (its stdin is ours: it ends with us).
    let _echo = if args.workload == Kind::Pingpong && args.sql.is_none() {
        match pingpong::start_echo() {
            Ok(child) => Some(child),
            Err(e) => return fail("starting the echo process", e),
        }
    } else {
        None
    };
    match open_runner(&args) {
        Ok(mut r) => {
            if let Err(e) = prepare(&args, r.as_mut()) {
                return fail("preparing the tables", e);
            }
        }
        Err(e) => return fail("connecting", e),
    }
    // Idle sessions: opened before the run (their open rate), held during it (server memory).
    let mut idle = Vec::new();
    let mut idle_report = serde_json::Value::Null;
    if args.idle_sessions > 0 && !args.direct {
        let status = |s: &ServerSession| s.odbc().and_then(|o| o.status().ok());
        let probe = match session(&args)
            .and_then(|mut s| s.open(&args.user, &args.password, None, None).map(|_| s))
        {
            Ok(s) => s,
            Err(e) => return fail("opening a session", (e.class.to_string(), e.to_string())),
        };
        let before = status(&probe).and_then(|st| st.rss_kib);
        let started = Instant::now();
        for _ in 0..args.idle_sessions {
            match session(&args)
                .and_then(|mut s| s.open(&args.user, &args.password, None, None).map(|_| s))
            {
                Ok(s) => idle.push(s),
                Err(e) => {
                    return fail(
                        "opening an idle session",
                        (e.class.to_string(), e.to_string()),
                    )
                }
            }
        }
        let open_secs = started.elapsed().as_secs_f64();
        let after = status(&probe).and_then(|st| st.rss_kib);
        idle_report = serde_json::json!({
            "sessions": idle.len(),
            "open_rate_per_s": idle.len() as f64 / open_secs,
            "server_rss_kib_before": before,
            "server_rss_kib_after": after,
            "server_kib_per_session": before.zip(after).map(|(b, a)| a.saturating_sub(b) as f64 / idle.len() as f64),
        });
        eprintln!("idle sessions: {idle_report}");
        idle.push(probe);
    }
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(args.warmup <= 0.0));
    let sessions = args.sessions.max(1);
    let kind = (args.sql.is_none()).then_some(args.workload);
    // Each worker opens its own session (or in-process connection) in its own thread.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), (String, String)>>();
    let go = Arc::new(std::sync::Barrier::new(sessions + 1));
    let handles: Vec<_> = (0..sessions)
        .map(|i| {
            let (stats, stop, measuring) = (stats.clone(), stop.clone(), measuring.clone());
            let mut gen = Generator::new(kind, templates.clone(), i, args.prepare_rows, args.batch);
            let (rate, max_requests) = (args.rate, args.requests);
            let (args, ready, go) = (args.clone(), ready_tx.clone(), go.clone());
            std::thread::spawn(move || {
                let opened = open_runner(&args);
                let _ = ready.send(opened.as_ref().map(|_| ()).map_err(Clone::clone));
                go.wait();
                let begin = Instant::now();
                let measure_from = begin + Duration::from_secs_f64(args.warmup.max(0.0));
                let Ok(mut runner) = opened else {
                    return (0, 0);
                };
                if stop.load(Ordering::Relaxed) {
                    return (0, 0);
                }
                if gen.transactional() {
                    if let Err(e) = runner.begin_transactions() {
                        stats.error(&e.0, &e.1);
                        return (0, 0);
                    }
                }
                // Open loop: this session's share of the rate, staggered across sessions.
                let interval = rate.map(|r| Duration::from_secs_f64(sessions as f64 / r.max(1e-6)));
                let mut intended = begin
                    + interval.map_or(Duration::ZERO, |iv| iv.mul_f64(i as f64 / sessions as f64));
                while !stop.load(Ordering::Relaxed) {
                    if interval.is_some() {
                        let now = Instant::now();
                        if intended > now {
                            std::thread::sleep(intended - now);
                        }
                    } else {
                        intended = Instant::now();
                    }
                    let steps = gen.next_request();
                    let mut rows = 0;
                    let mut failed = None;
                    for step in &steps {
                        match runner.run(step) {
                            Ok(n) => rows += n,
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    let done = Instant::now();
                    if measuring.load(Ordering::Relaxed) && intended >= measure_from {
                        match failed {
                            None => stats.ok(intended - measure_from, done - intended, rows),
                            Some((class, message)) => stats.error(&class, &message),
                        }
                        if max_requests.is_some_and(|m| stats.requests.load(Ordering::Relaxed) >= m)
                        {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    if let Some(iv) = interval {
                        intended += iv;
                    }
                }
                runner.traffic()
            })
        })
        .collect();

    let mut failed_open = None;
    for _ in 0..sessions {
        if let Ok(Err(e)) = ready_rx.recv() {
            failed_open = Some(e);
        }
    }
    if failed_open.is_some() {
        stop.store(true, Ordering::Relaxed);
    }
    go.wait();
    if let Some(e) = failed_open {
        for h in handles {
            let _ = h.join();
        }
        return fail("opening a session", e);
    }
    let begin = Instant::now();
    let measure_from = begin + Duration::from_secs_f64(args.warmup.max(0.0));
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let limit = Duration::from_secs_f64(if args.requests.is_some() {
        3600.0
    } else {
        args.duration.max(0.001)
    });
    let mut last = (Instant::now(), 0u64);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = Instant::now();
        if !measuring.load(Ordering::Relaxed) && now >= measure_from {
            measuring.store(true, Ordering::Relaxed);
        }
        let done = stats.requests.load(Ordering::Relaxed);
        if now.duration_since(last.0) >= Duration::from_millis(500) {
            let rate = (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
            progress.set_message(format!(
                "{rate:.0} req/s, {done} requests, {} errors",
                stats.error_count.load(Ordering::Relaxed)
            ));
            progress.tick();
            last = (now, done);
        }
        if stop.load(Ordering::Relaxed) || now.saturating_duration_since(measure_from) >= limit {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let secs = Instant::now()
        .saturating_duration_since(measure_from)
        .as_secs_f64();
    let mut traffic = (0, 0);
    for h in handles {
        if let Ok((s, r)) = h.join() {
            traffic = (traffic.0 + s, traffic.1 + r);
        }
    }
    progress.finish_and_clear();

    let head = serde_json::json!({
        "workload": args.sql.as_ref().map_or_else(|| args.workload.name().to_owned(), |p| format!("sql:{}", p.display())),
        "mode": if args.direct { "direct" } else { "remote" },
        "sessions": sessions,
        "rate": args.rate,
        "compression": !args.no_compression,
        "tls": args.tls,
        "idle": idle_report,
    });
    let report = stats.report(head, secs, traffic);
    drop(idle);
    let _ = writeln!(std::io::stdout(), "{}", report::human(&report));
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, format!("{report:#}\n")) {
            eprintln!("odbcd-loadtest: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.plot {
        if let Err(e) = std::fs::write(path, report::svg(&report)) {
            eprintln!("odbcd-loadtest: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
