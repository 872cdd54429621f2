//! Crash isolation (`[Session] driver_isolation = process`): each physical database
//! connection in a worker process. A driver that crashes, a worker killed mid-fetch or
//! mid-transaction, a worker over its memory limit: only that connection fails; its session,
//! the session's other connections and every other session go on, and the counts come back.
//! A server killed with SIGKILL leaves no worker behind.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::pg::pg;
use common::TestServer;
use odbcd::client::{ErrorClass, ServerSession, Value};

const PROCESS: &str = "[Session]\ndriver_isolation = process\n";

/// The worker processes of `server` (its children running `odbcd worker`).
fn workers(server: &TestServer) -> Vec<i32> {
    let parent = server.pid().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ppid = after.split_whitespace().nth(1).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == parent && cmdline.split(|&b| b == 0).any(|a| a == b"worker") {
            out.push(pid);
        }
    }
    out.sort_unstable();
    out
}

fn alive(pid: i32) -> bool {
    // A zombie is dead: its stat says Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

fn kill(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
}

/// The worker that appeared since `before`.
fn new_worker(server: &TestServer, before: &[i32]) -> i32 {
    let now = workers(server);
    let fresh: Vec<i32> = now
        .iter()
        .copied()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(
        fresh.len(),
        1,
        "one new worker: before {before:?}, now {now:?}"
    );
    fresh[0]
}

/// A SQLite extension whose `crash()` dereferences NULL.
fn crash_extension(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("crash.c");
    std::fs::write(
        &src,
        "#include <sqlite3ext.h>\nSQLITE_EXTENSION_INIT1\n\
         static void crash(sqlite3_context *c, int n, sqlite3_value **v) { volatile int *p = 0; *p = 42; }\n\
         int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {\n\
           SQLITE_EXTENSION_INIT2(api);\n\
           return sqlite3_create_function(db, \"crash\", 0, SQLITE_UTF8, 0, crash, 0, 0);\n}\n",
    )
    .unwrap();
    let lib = dir.join("crash.so");
    let out = Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(
        out.status.success(),
        "gcc (apt install libsqlite3-dev): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    lib
}

#[test]
fn a_driver_that_crashes_fails_its_own_connection_and_nothing_else() {
    let pg = pg();
    let _db = pg.database("isolation_crash");
    let cs = pg.connstr("isolation_crash");
    pg.psql("isolation_crash", "CREATE TABLE t (id int)");
    let dir = tempfile::tempdir().unwrap();
    let ext = crash_extension(dir.path());
    // The operator's DSN loads the extension (a client's connection string may not).
    let odbc_ini = dir.path().join("odbc.ini");
    std::fs::write(
        &odbc_ini,
        format!(
            "[crashy]\nDriver=SQLite3\nDatabase={}\nLoadExt={}\nStepAPI=1\n",
            dir.path().join("crashy.db").display(),
            ext.display()
        ),
    )
    .unwrap();
    let server = TestServer::start_with_env(
        &format!(
            "[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n\n{}\n{PROCESS}",
            common::ACCESS
        ),
        "",
        &[("ODBCINI", odbc_ini.to_str().unwrap())],
    );

    // Another session inside a PostgreSQL transaction, and the crashing session's own
    // PostgreSQL connection.
    let (_s1, odbc1, writer) = server.connect(&cs);
    writer.set_autocommit(false).unwrap();
    writer
        .cursor()
        .execute("INSERT INTO t VALUES (?)", &[Value::Int(1)])
        .unwrap();
    let (_s2, odbc2, own_pg) = server.connect(&cs);
    let crashy = odbc2.driver_connect("DSN=crashy").unwrap();
    // And a third session querying PostgreSQL in a loop all along.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let querying = std::thread::spawn({
        let (data, cs, stop) = (server.config_data(), cs.clone(), stop.clone());
        move || -> u32 {
            let mut s = ServerSession::new(None, Some(&data)).unwrap();
            let odbc = s.open("", "", None, None).unwrap();
            let conn = odbc.driver_connect(&cs).unwrap();
            let mut done = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || done == 0 {
                let mut c = conn.cursor();
                c.execute("SELECT count(*) FROM t", &[]).unwrap();
                assert!(c.fetchone().unwrap().is_some());
                done += 1;
            }
            done
        }
    });
    TestServer::wait_until(10, "four workers", || workers(&server).len() == 4);

    let started = Instant::now();
    let e = crashy
        .cursor()
        .execute("SELECT crash()", &[])
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::OperationalError, "08S01"),
        "{e}"
    );
    assert!(e.message.contains("signal 11 (SIGSEGV)"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The connection stays failed, and says why.
    let again = crashy
        .cursor()
        .execute("SELECT 1", &[])
        .map(|_| ())
        .unwrap_err();
    assert_eq!(again.sqlstate, "08S01", "{again}");

    // Everything else goes on: the transaction commits, the session's other connection
    // works, new connections open.
    writer
        .cursor()
        .execute("INSERT INTO t VALUES (?)", &[Value::Int(2)])
        .unwrap();
    writer.commit().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let queries = querying
        .join()
        .expect("every query of the third session succeeded");
    assert!(queries > 0);
    assert_eq!(
        pg.psql(
            "isolation_crash",
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM t"
        ),
        "1,2"
    );
    let mut c = own_pg.cursor();
    c.execute("SELECT count(*) FROM t", &[]).unwrap();
    assert_eq!(c.fetchone().unwrap().unwrap().get::<i64>(0), 2);
    let sqlite = odbc1.driver_connect(&server.sqlite("fine")).unwrap();
    sqlite.cursor().execute("SELECT 1", &[]).unwrap();
    // The dead connection no longer counts: two PostgreSQL connections and the SQLite one.
    TestServer::wait_until(10, "the counts", || {
        odbc1.status().map(|s| s.connections).unwrap_or(0) == 3
    });
    server.expect_log("worker process of a database connection died");
    let log = server.log();
    assert!(
        log.contains("SIGSEGV") && log.contains("DSN=crashy"),
        "{log}"
    );
    assert!(!log.contains("secret-pg-pwd"), "no password in the log");
    // No worker holds another's pipes (their cancel pipes are close-on-exec); what they
    // share is what the server inherited from this test (its stderr).
    let pipes = |pid: &str| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|l| l.display().to_string())
            .filter(|l| l.starts_with("pipe:"))
            .collect()
    };
    let ours = pipes("self");
    let sets: Vec<_> = workers(&server)
        .iter()
        .map(|pid| pipes(&pid.to_string()))
        .collect();
    assert!(sets.len() >= 2);
    for (i, a) in sets.iter().enumerate() {
        for b in &sets[i + 1..] {
            let shared: Vec<_> = a.intersection(b).filter(|p| !ours.contains(*p)).collect();
            assert!(shared.is_empty(), "workers share pipes: {shared:?}");
        }
    }
    drop(c);
    drop(crashy);
    drop(sqlite);
    drop((writer, own_pg));
    drop((odbc1, odbc2, _s1, _s2));
    TestServer::wait_until(10, "every worker to go", || workers(&server).is_empty());
    // And every count is back to zero.
    let (_s, odbc) = server.open();
    TestServer::wait_until(10, "no connection counted", || {
        let s = odbc.status().unwrap();
        s.connections == 0 && s.sessions == 1
    });
}

#[test]
fn a_worker_killed_mid_fetch_or_mid_transaction_loses_only_its_connection() {
    let pg = pg();
    let _db = pg.database("isolation_kill");
    let cs = pg.connstr("isolation_kill");
    pg.psql("isolation_kill", "CREATE TABLE t (id int)");
    let server = TestServer::start(PROCESS);
    let (_s, odbc, keeper) = server.connect(&cs);
    keeper.cursor().execute("SELECT 1", &[]).unwrap();

    // Mid-fetch.
    let before = workers(&server);
    let fetcher = odbc.driver_connect(&cs).unwrap();
    let victim = new_worker(&server, &before);
    let mut c = fetcher.cursor();
    c.execute("SELECT generate_series(1, 1000000)", &[])
        .unwrap();
    assert_eq!(c.fetchmany(Some(10)).unwrap().len(), 10);
    kill(victim, nix::sys::signal::Signal::SIGSEGV);
    let e = loop {
        match c.fetchmany(Some(100_000)) {
            Ok(rows) if rows.is_empty() => panic!("the result ended although its worker died"),
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(e.sqlstate, "08S01", "{e}");

    // Mid-transaction: PostgreSQL rolls back what the dead worker's connection had begun.
    // (This connection carries a password, which PostgreSQL's trust login ignores: the log
    // line of the death names the data source without it.)
    let before = workers(&server);
    let tx = odbc
        .driver_connect(&format!("{cs};PWD=never-in-the-log-42"))
        .unwrap();
    let victim = new_worker(&server, &before);
    tx.set_autocommit(false).unwrap();
    tx.cursor()
        .execute("INSERT INTO t VALUES (?)", &[Value::Int(7)])
        .unwrap();
    kill(victim, nix::sys::signal::Signal::SIGSEGV);
    let e = tx.commit().unwrap_err();
    assert_eq!(e.sqlstate, "08S01", "{e}");
    assert!(!e.message.contains("never-in-the-log-42"), "{e}");
    let died = |log: &str| {
        log.lines()
            .filter(|l| l.contains("worker process of a database connection died"))
            .map(str::to_owned)
            .collect::<Vec<String>>()
    };
    // (The log reaches the test through a pipe, after the answer sometimes.)
    TestServer::wait_until(10, "two deaths logged", || died(&server.log()).len() == 2);
    let log = server.log();
    let deaths = died(&log);
    assert!(
        deaths[1].contains("SIGSEGV") && deaths[1].contains("isolation_kill"),
        "{}",
        deaths[1]
    );
    assert!(!log.contains("never-in-the-log-42"), "{log}");
    // Its PostgreSQL backend is gone (the transaction with it): only the keeper's is left.
    TestServer::wait_until(10, "the dead worker's backend to go", || {
        pg.backends("isolation_kill") == 1
    });
    assert_eq!(pg.psql("isolation_kill", "SELECT count(*) FROM t"), "0");

    // The session's first connection never noticed.
    keeper
        .cursor()
        .execute("INSERT INTO t VALUES (?)", &[Value::Int(1)])
        .unwrap();
    assert_eq!(pg.psql("isolation_kill", "SELECT count(*) FROM t"), "1");
    TestServer::wait_until(10, "the counts", || {
        odbc.status().map(|s| s.connections).unwrap_or(0) == 1
    });
}

#[test]
fn a_server_killed_with_sigkill_leaves_no_worker() {
    let mut server = TestServer::start(PROCESS);
    let (_s, odbc) = server.open();
    let conns: Vec<_> = (0..3)
        .map(|i| {
            odbc.driver_connect(&server.sqlite(&format!("k{i}")))
                .unwrap()
        })
        .collect();
    let pids = workers(&server);
    assert_eq!(pids.len(), 3);
    server.kill();
    let end = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| alive(p)) {
        assert!(
            Instant::now() < end,
            "workers outlived the server: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(conns);
}

#[test]
fn a_worker_over_its_memory_limit_fails_alone() {
    let server = TestServer::start(&format!("{PROCESS}worker_memory_limit = 256\n"));
    let (_s, odbc, other) = server.connect(&server.sqlite("memory-other"));
    let before = workers(&server);
    let hog = odbc.driver_connect(&server.sqlite("memory-hog")).unwrap();
    let worker = new_worker(&server, &before);
    // The limit is the worker's address space.
    let limits = std::fs::read_to_string(format!("/proc/{worker}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .unwrap();
    assert!(line.contains(&(256u64 << 20).to_string()), "{line}");
    // 400 MB in the worker (SQLite's own allocation): refused there, by the driver.
    let e = hog
        .cursor()
        .execute("SELECT length(randomblob(400000000))", &[])
        .map(|_| ())
        .unwrap_err();
    assert!(e.message.to_lowercase().contains("memory"), "{e}");
    // The same without the limit's help would have been the server's: it stayed small,
    // and everything else goes on, the hog's connection too.
    assert!(server.peak_rss_mb() < 200, "{} MB", server.peak_rss_mb());
    let mut c = other.cursor();
    c.execute("SELECT 1", &[]).unwrap();
    let mut c = hog.cursor();
    c.execute("SELECT length(zeroblob(1000))", &[]).unwrap();
    assert_eq!(c.fetchone().unwrap().unwrap().get::<i64>(0), 1000);
}

#[test]
fn pooled_connections_are_workers_a_pool_hit_starts_no_process_and_a_failed_connect_counts_nothing()
{
    let pg = pg();
    let _db = pg.database("isolation_pool");
    let cs = pg.connstr("isolation_pool");
    let server = TestServer::start(&format!("{PROCESS}\n[Pool]\nmax_idle_connections = 2\n"));
    let (_s, odbc) = server.open();
    let backend = |conn: &odbcd::client::Connection| {
        let mut c = conn.cursor();
        c.execute("SELECT pg_backend_pid()", &[]).unwrap();
        c.fetchone().unwrap().unwrap().get::<i32>(0)
    };
    let first = odbc.driver_connect(&cs).unwrap();
    let pid = backend(&first);
    let pids = workers(&server);
    assert_eq!(pids.len(), 1);
    first.close().unwrap();
    // The close is answered once the connection is parked: the next connect finds it.
    // The same worker and the same database connection serve the next connect.
    let second = odbc.driver_connect(&cs).unwrap();
    assert_eq!(backend(&second), pid);
    assert_eq!(
        workers(&server),
        pids,
        "the pooled worker served the new connection"
    );
    drop(second);

    // A connect that fails leaves no count behind (and no worker).
    let wrong = cs.replace("Database=isolation_pool", "Database=isolation_no_such_db");
    assert_ne!(wrong, cs);
    for _ in 0..3 {
        let e = odbc.driver_connect(&wrong).map(|_| ()).unwrap_err();
        assert!(!e.message.is_empty());
    }
    TestServer::wait_until(10, "only the pooled connection to count", || {
        odbc.status().map(|s| s.connections).unwrap_or(0) == 1
    });
    TestServer::wait_until(10, "the failed workers to go", || workers(&server) == pids);

    // The pooled worker dies while parked: it leaves the pool and the count at once (not when
    // someone adopts it), the log says so, and the next connect starts a new worker.
    kill(pids[0], nix::sys::signal::Signal::SIGKILL);
    TestServer::wait_until(10, "the dead pooled connection to leave the count", || {
        odbc.status().map(|s| s.connections).unwrap_or(9) == 0
    });
    server.expect_log("pooled database connection died");
    let third = odbc.driver_connect(&cs).unwrap();
    assert_ne!(backend(&third), pid, "a new database connection");
    let now = workers(&server);
    assert_eq!(now.len(), 1);
    assert_ne!(now, pids, "a new worker");
}

#[test]
fn cancels_and_the_watchdog_reach_a_statement_in_a_worker() {
    let pg = pg();
    let _db = pg.database("isolation_cancel");
    let cs = pg.connstr("isolation_cancel");
    let server = TestServer::start(&format!(
        "{PROCESS}\n[Activity]\nmax_request_execution_time = 1\ncheck_interval = 0.2\n"
    ));
    let (_s, _odbc, conn) = server.connect(&cs);
    let started = Instant::now();
    let e = conn
        .cursor()
        .execute("SELECT pg_sleep(30)", &[])
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::TimeoutError, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The connection (and its worker) go on.
    let mut c = conn.cursor();
    c.execute("SELECT 41 + 1", &[]).unwrap();
    assert_eq!(c.fetchone().unwrap().unwrap().get::<i32>(0), 42);
}

#[test]
fn a_client_cancel_at_once_after_the_statement_was_sent_still_stops_it() {
    let pg = pg();
    let _db = pg.database("isolation_client_cancel");
    let cs = pg.connstr("isolation_client_cancel");
    // A cancel that reaches the driver just before psqlodbc marks the statement executing,
    // or PostgreSQL's backend before the query, is lost: the server asks again while the
    // request runs. Many tries near the start, in both modes, to meet that window.
    for isolation in ["", PROCESS] {
        let server = TestServer::start(isolation);
        let (_s, _odbc, conn) = server.connect(&cs);
        cancel_at_once(&conn, isolation);
    }
}

fn cancel_at_once(conn: &odbcd::client::Connection, isolation: &str) {
    for wait_ms in [0u64, 0, 0, 0, 1, 1, 2, 2, 3, 5, 50] {
        let mut c = conn.cursor();
        let cancel = c.cancel_handle();
        let started = Instant::now();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(wait_ms));
            // Until the server has the request, a cancel finds nothing to stop: ask again.
            for _ in 0..200 {
                if cancel.cancel().unwrap_or(false) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let e = c
            .execute("SELECT pg_sleep(30)", &[])
            .map(|_| ())
            .unwrap_err();
        canceller.join().unwrap();
        // Stopped by PostgreSQL (57014), or taken out of the session's queue before it ran
        // (HY008).
        assert!(
            ["57014", "HY008"].contains(&e.sqlstate.as_str()),
            "{isolation} after {wait_ms} ms: {e}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_drain_that_signals_every_process_of_the_server_still_lets_transactions_finish() {
    let pg = pg();
    let _db = pg.database("isolation_drain");
    let cs = pg.connstr("isolation_drain");
    pg.psql("isolation_drain", "CREATE TABLE t (id int)");
    let mut server = TestServer::start(&format!("{PROCESS}\n[Unix]\nshutdown_grace = 20\n"));
    let (_s, _odbc, conn) = server.connect(&cs);
    conn.set_autocommit(false).unwrap();
    conn.cursor()
        .execute("INSERT INTO t VALUES (?)", &[Value::Int(1)])
        .unwrap();
    // What `systemctl stop` does with KillMode=control-group: SIGTERM to every process.
    for pid in workers(&server) {
        kill(pid, nix::sys::signal::Signal::SIGTERM);
    }
    kill(server.pid() as i32, nix::sys::signal::Signal::SIGTERM);
    server.expect_log("draining");
    conn.cursor()
        .execute("INSERT INTO t VALUES (?)", &[Value::Int(2)])
        .unwrap();
    conn.commit().unwrap();
    assert_eq!(pg.psql("isolation_drain", "SELECT count(*) FROM t"), "2");
    let end = Instant::now() + Duration::from_secs(20);
    while server.exit_status().is_none() {
        assert!(Instant::now() < end, "the server did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_worker_that_dies_between_requests_is_noticed_at_once() {
    let server = TestServer::start(PROCESS);
    let (_s, odbc) = server.open();
    let keep = odbc.driver_connect(&server.sqlite("idle-keep")).unwrap();
    let before = workers(&server);
    let idle = odbc.driver_connect(&server.sqlite("idle-victim")).unwrap();
    let victim = new_worker(&server, &before);
    TestServer::wait_until(10, "two connections", || {
        odbc.status().map(|s| s.connections).unwrap_or(0) == 2
    });
    kill(victim, nix::sys::signal::Signal::SIGKILL);
    // No request on it: the count drops and the log says so all the same.
    TestServer::wait_until(10, "the count to drop", || {
        odbc.status().map(|s| s.connections).unwrap_or(0) == 1
    });
    server.expect_log("SIGKILL");
    assert!(!alive(victim), "reaped");
    let e = idle
        .cursor()
        .execute("SELECT 1", &[])
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.sqlstate, "08S01", "{e}");
    keep.cursor().execute("SELECT 1", &[]).unwrap();
}

#[test]
fn workers_run_as_the_configured_user() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: switching users needs root (CI runs as root)");
        return;
    }
    let pg = pg();
    let _db = pg.database("isolation_user");
    let cs = pg.connstr("isolation_user");
    let server = TestServer::start(&format!("{PROCESS}worker_user = nobody\n"));
    // The driver manager's files are in the server's folder: readable by the worker's user.
    std::fs::set_permissions(
        server.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for f in ["odbcinst.ini", "odbc.ini"] {
        std::fs::set_permissions(
            server.path().join(f),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
    }
    let before = workers(&server);
    let (_s, odbc) = server.open();
    let conn = odbc
        .driver_connect(&cs)
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    let worker = new_worker(&server, &before);
    let status = std::fs::read_to_string(format!("/proc/{worker}/status")).unwrap();
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uids.split_whitespace()
            .skip(1)
            .all(|u| u == nobody.to_string()),
        "{uids}"
    );
    let mut c = conn.cursor();
    c.execute("SELECT current_user", &[]).unwrap();
    assert_eq!(c.fetchone().unwrap().unwrap().get::<String>(0), "postgres");
    // A user that does not exist is a configuration error, with its line.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("server.ini");
    std::fs::write(
        &cfg,
        "[Session]\ndriver_isolation = process\nworker_user = no-such-user-here\n",
    )
    .unwrap();
    let out = Command::new(common::odbcd_bin())
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.ini:3") && err.contains("no-such-user-here"),
        "{err}"
    );
}

/// A worker sends its answers as the client's finished frames (compressed in the worker),
/// which the server relays: what a client reads through a worker is what it reads through a
/// thread, value for value, with the same rows and errors counted.
#[test]
fn a_workers_finished_frames_are_what_a_thread_sends() {
    let pg = pg();
    let _db = pg.database("isolation_frames");
    let cs = pg.connstr("isolation_frames");
    pg.psql(
        "isolation_frames",
        "CREATE TABLE t AS SELECT i AS id, 'customer number ' || (i % 100) AS name, (i * 1.25)::numeric(12,2) AS amount, \
         timestamp '2026-01-01' + i * interval '1 second' AS at, CASE WHEN i % 7 = 0 THEN NULL ELSE i END AS maybe \
         FROM generate_series(1, 30000) AS i",
    );
    let metrics = "[Metrics]\nlisten = 127.0.0.1:0\n";
    let thread = TestServer::start(metrics);
    let process = TestServer::start(&format!("{PROCESS}{metrics}"));
    let read = |server: &TestServer| {
        let (_s, _o, conn) = server.connect(&cs);
        let mut c = conn.cursor();
        c.execute("SELECT id, name, amount, at, maybe FROM t ORDER BY id", &[])
            .unwrap();
        let mut rows = Vec::new();
        loop {
            let batch = c.fetchmany(Some(7000)).unwrap();
            if batch.is_empty() {
                break;
            }
            rows.extend(batch.into_iter().map(|r| format!("{r:?}")));
        }
        let e = c.execute("SELECT no_such_column FROM t", &[]).unwrap_err();
        // Counted before the session's cleanup (whose requests race the close).
        let counted = [
            "odbcd_rows_sent_total",
            "odbcd_errors_total{class=\"ProgrammingError\"}",
        ]
        .map(|name| server.metric(name));
        (rows, e.sqlstate, e.class, counted)
    };
    let (through_thread, through_worker) = (read(&thread), read(&process));
    assert_eq!(through_worker.0.len(), 30000);
    assert_eq!(through_worker, through_thread);
    assert_eq!(through_worker.3, [30000.0, 1.0]);
    // The batches were large enough to be compressed.
    assert!(
        process.metric("odbcd_sent_bytes_total{stage=\"wire\"}")
            < process.metric("odbcd_sent_bytes_total{stage=\"payload\"}") / 2.0
    );
}
