//! `[Session] busy_poll`: after answering, a database connection's thread keeps checking for
//! the session's next request for a while instead of sleeping. What a user can see: polling
//! finds back-to-back requests (the metrics count it) and every answer still belongs to its
//! request; a server without it never polls; many busy sessions on two cores all finish (a
//! thread polls only while no other one works); and the polling ends: an idle server uses no
//! CPU.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use odbcd::params;

/// The CPU time (user + system) the process has used so far, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name in parentheses: fields 14 and 15 are utime and stime, in
    // USER_HZ ticks (100 a second on Linux).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

#[test]
fn answers_stay_with_their_requests_and_an_idle_server_stops_polling() {
    let server =
        TestServer::start("[Session]\nbusy_poll = 2000\n[Metrics]\nlisten = 127.0.0.1:0\n");
    let (_session, _odbc, conn) = server.connect(&server.sqlite("busy-poll"));
    let mut c = conn.cursor();
    for i in 0..300i64 {
        c.execute("SELECT ? * 2", &params![i]).unwrap();
        assert_eq!(c.fetchone().unwrap().unwrap().get::<i64>(0), i * 2);
    }
    // Back to back, the next request arrives within 2 ms: polling found many of them (not all:
    // the other tests of this file load the same two cores meanwhile). On a
    // one-core machine nothing polls (the thread that delivers requests needs the core).
    let found = server.metric("odbcd_database_polls_total{found=\"request\"}");
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        let nothing = server.metric("odbcd_database_polls_total{found=\"nothing\"}");
        assert!(
            found >= 30.0,
            "{found} of 300 requests found by polling ({nothing} polls found nothing)"
        );
    } else {
        assert_eq!(found, 0.0);
    }
    // A long statement is answered too (the thread polls only between requests).
    c.execute(
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 200000) SELECT count(*) FROM g",
        &[],
    )
    .unwrap();
    assert_eq!(c.fetchone().unwrap().unwrap().get::<i64>(0), 200_000);

    // Idle now, with the connection open: a second of it costs (nearly) no CPU.
    std::thread::sleep(Duration::from_millis(100));
    let before = cpu_seconds(server.pid());
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_seconds(server.pid()) - before;
    assert!(used < 0.2, "the idle server used {used} s of CPU in 1 s");
}

#[test]
fn without_busy_poll_nothing_polls() {
    let server = TestServer::start("[Metrics]\nlisten = 127.0.0.1:0\n");
    let (_session, _odbc, conn) = server.connect(&server.sqlite("no-poll"));
    let mut c = conn.cursor();
    for i in 0..50i64 {
        c.execute("SELECT ?", &params![i]).unwrap();
        assert_eq!(c.fetchone().unwrap().unwrap().get::<i64>(0), i);
    }
    for found in ["request", "nothing"] {
        let key = format!("odbcd_database_polls_total{{found=\"{found}\"}}");
        assert_eq!(server.metric(&key), 0.0, "{key}");
    }
}

#[test]
fn many_busy_sessions_on_few_cores_all_finish() {
    // The longest polling there is, with more sessions than cores: a thread polls only while
    // no other one works, and at most one per spare core, so those with work get the CPU.
    let server = TestServer::start("[Session]\nbusy_poll = 10000\n");
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..8i64 {
            let server = &server;
            s.spawn(move || {
                let (_session, _odbc, conn) = server.connect(&server.sqlite(&format!("poll-{t}")));
                let mut c = conn.cursor();
                for i in 0..100i64 {
                    c.execute("SELECT ? + ?", &params![t, i]).unwrap();
                    assert_eq!(c.fetchone().unwrap().unwrap().get::<i64>(0), t + i);
                }
            });
        }
    });
    // Generous: 800 queries take well under a second when nothing starves.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
