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
use odbcd::client::{ErrorClass, Value};

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
    assert_eq!(workers(&server).len(), 3);

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
    let log = server.log();
    assert!(
        log.contains("worker process of a database connection died"),
        "{log}"
    );
    assert!(
        log.contains("SIGSEGV") && log.contains("DSN=crashy"),
        "{log}"
    );
    assert!(!log.contains("secret-pg-pwd"), "no password in the log");
    drop(c);
    drop(crashy);
    drop(sqlite);
    drop((writer, own_pg));
    drop((odbc1, odbc2, _s1, _s2));
    TestServer::wait_until(10, "every worker to go", || workers(&server).is_empty());
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
    let before = workers(&server);
    let tx = odbc.driver_connect(&cs).unwrap();
    let victim = new_worker(&server, &before);
    tx.set_autocommit(false).unwrap();
    tx.cursor()
        .execute("INSERT INTO t VALUES (?)", &[Value::Int(7)])
        .unwrap();
    kill(victim, nix::sys::signal::Signal::SIGSEGV);
    let e = tx.commit().unwrap_err();
    assert_eq!(e.sqlstate, "08S01", "{e}");
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
    let pg = pg();
    let _db = pg.database("isolation_memory");
    let cs = pg.connstr("isolation_memory");
    let server = TestServer::start(&format!("{PROCESS}worker_memory_limit = 256\n"));
    let (_s, odbc, other) = server.connect(&cs);
    let hog = odbc.driver_connect(&cs).unwrap();
    // 600 MB in one value: the driver cannot hold it within 256 MiB.
    let e = hog
        .cursor()
        .execute("SELECT repeat('x', 600000000)", &[])
        .and_then(|c| c.fetchall().map(|_| ()))
        .map(|_| ())
        .unwrap_err();
    // Either the driver reports that it is out of memory, or the worker died of it.
    assert!(
        e.sqlstate == "08S01" || e.message.to_lowercase().contains("memory"),
        "{e}"
    );
    other.cursor().execute("SELECT 1", &[]).unwrap();
    assert!(
        server.peak_rss_mb() < 200,
        "the value never reached the server: {} MB",
        server.peak_rss_mb()
    );
}

#[test]
fn pooled_connections_are_workers_and_a_pool_hit_starts_no_process() {
    let server = TestServer::start(&format!("{PROCESS}\n[Pool]\nmax_idle_connections = 2\n"));
    let cs = server.sqlite("pooled");
    let (_s, odbc) = server.open();
    let first = odbc.driver_connect(&cs).unwrap();
    first.cursor().execute("SELECT 1", &[]).unwrap();
    let pids = workers(&server);
    assert_eq!(pids.len(), 1);
    first.close().unwrap();
    TestServer::wait_until(10, "the connection to be pooled", || {
        odbc.status().map(|s| s.connections).unwrap_or(0) == 1
    });
    let second = odbc.driver_connect(&cs).unwrap();
    second.cursor().execute("SELECT 2", &[]).unwrap();
    assert_eq!(
        workers(&server),
        pids,
        "the pooled worker served the new connection"
    );
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
