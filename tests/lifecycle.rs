//! Limits and timeouts of the server's actors, each with its exact error class and message:
//! max_sessions, the licence limit, max_waiting_time, max_request_execution_time (SQLCancel),
//! receive_timeout, counts that never drift when clients are killed, and the status request.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{pg::pg, TestServer};
use odbcd::client::{ErrorClass, ServerSession, Value};

#[test]
fn max_sessions_refuses_with_the_manuals_message() {
    let server = TestServer::start("[Session]\nmax_sessions = 2\n");
    let (_a, _) = server.open();
    let (_b, _) = server.open();
    let mut c = ServerSession::new(None, Some(&server.config_data())).unwrap();
    let e = c.open("", "", None, None).map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::PolicyViolationError, "{e}");
    assert_eq!(e.message, "Maximum number of sessions reached.");
    assert!(e.is(ErrorClass::ODBCConnectError));
    // odbcsh says the same and exits with 2.
    let out = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .args([
            "--port",
            &server.port.to_string(),
            "--connect",
            "DSN=demo",
            "-e",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "ERROR PolicyViolationError [HY000]: Maximum number of sessions reached."
    );
    // A freed slot is usable at once.
    drop(_a);
    TestServer::wait_until(5, "a free slot", || c.open("", "", None, None).is_ok());
}

#[test]
fn the_licence_limits_physical_connections() {
    let server = TestServer::start("[License]\nmax_connections = 2\n");
    let (_s, odbc) = server.open();
    let (_t, other) = server.open();
    let first = odbc.driver_connect(&server.sqlite("lic")).unwrap();
    let _second = other.driver_connect(&server.sqlite("lic")).unwrap();
    let e = odbc.driver_connect(&server.sqlite("lic")).unwrap_err();
    assert_eq!(e.class, ErrorClass::InterfaceError, "{e}");
    assert_eq!(
        e.message,
        "Connection limit exceeded. Your license allows 2 physical database connections."
    );
    // A failed connect does not count; closing one frees its slot.
    let e = odbc.driver_connect("DSN=no_such_dsn").unwrap_err();
    assert_eq!(e.sqlstate, "HY000", "still the licence, not the DSN: {e}");
    first.close().unwrap();
    let _third = odbc.driver_connect(&server.sqlite("lic")).unwrap();
    assert_eq!(odbc.status().unwrap().connections, 2);
}

#[test]
fn counts_come_back_to_zero_when_clients_close_vanish_or_are_killed() {
    let pg = pg();
    let server = TestServer::start(
        "[Activity]\ncheck_interval = 0.1\nmax_session_reconnect_time = 0.5\n\n[License]\nmax_connections = 50\n",
    );
    let _db = pg.database("drift");
    let connstr = pg.connstr("drift");
    for round in 0..12 {
        match round % 3 {
            // Closed properly.
            0 => {
                let (mut s, odbc) = server.open();
                let _a = odbc.driver_connect(&connstr).unwrap();
                let _b = odbc.driver_connect(&connstr).unwrap();
                s.close().unwrap();
            }
            // Dropped without close.
            1 => {
                let (s, _odbc, conn) = server.connect(&connstr);
                let mut c = conn.cursor();
                c.execute("SELECT generate_series(1, 100000)", &[]).unwrap();
                drop(s);
            }
            // A real client process killed in the middle of a query.
            _ => {
                let mut child = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
                    .args(["--port", &server.port.to_string(), "--connect", &connstr])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let mut stdin = child.stdin.take().unwrap();
                stdin.write_all(b"SELECT pg_sleep(10);\n").unwrap();
                TestServer::wait_until(10, "the query to run", || pg.backends("drift") >= 1);
                child.kill().unwrap();
                let _ = child.wait();
            }
        }
    }
    let (_s, observer) = server.open();
    TestServer::wait_until(15, "counts back to zero", || {
        observer
            .status()
            .map(|st| st.sessions == 1 && st.connections == 0 && st.running_requests == 0)
            .unwrap_or(false)
    });
    TestServer::wait_until(15, "backends back to zero", || pg.backends("drift") == 0);
}

#[test]
fn an_idle_session_is_dropped_with_a_timeout_error() {
    let pg = pg();
    let server = TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_waiting_time = 1\n");
    let _db = pg.database("idle");
    let (_s, odbc, conn) = server.connect(&pg.connstr("idle"));
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (id integer)", &[]).unwrap();
    conn.set_autocommit(false).unwrap();
    c.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    std::thread::sleep(Duration::from_millis(1600));
    let e = c.execute("SELECT 1", &[]).unwrap_err();
    assert_eq!(e.class, ErrorClass::TimeoutError, "{e}");
    assert!(e.message.contains("max_waiting_time"), "{e}");
    TestServer::wait_until(10, "backends to close", || pg.backends("idle") == 0);
    assert_eq!(
        pg.psql("idle", "SELECT count(*) FROM t"),
        "0",
        "the open transaction was rolled back"
    );
    // Every later call says the same.
    assert_eq!(odbc.ping().unwrap_err().class, ErrorClass::TimeoutError);
}

#[test]
fn a_hung_query_is_cancelled_by_max_request_execution_time() {
    let pg = pg();
    let server =
        TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_request_execution_time = 1\n");
    let _db = pg.database("hung");
    let (_s, _odbc, conn) = server.connect(&pg.connstr("hung"));
    let mut c = conn.cursor();
    let started = Instant::now();
    let e = c.execute("SELECT pg_sleep(30)", &[]).unwrap_err();
    assert_eq!(e.class, ErrorClass::TimeoutError, "{e}");
    assert!(e.message.contains("max_request_execution_time"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // SQLCancel stopped it on the server, and the connection is usable again.
    TestServer::wait_until(10, "pg_sleep to stop", || {
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'",
        ) == "0"
    });
    c.execute("SELECT 42", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(42)])
    );
}

#[test]
fn a_long_sqlite_query_is_cancelled_too() {
    let server =
        TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_request_execution_time = 1\n");
    let (_s, _odbc, conn) = server.connect(&server.sqlite("hung"));
    let mut c = conn.cursor();
    let e = c
        .execute(
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g) SELECT count(*) FROM g",
            &[],
        )
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::TimeoutError, "{e}");
    // The next request waits until the interrupted query has returned, then runs.
    c.execute("SELECT 7", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(7)])
    );
}

/// A server that cannot start a thread for a new database connection (here: out of address
/// space for its stack) answers with an error instead of crashing: the session and its other
/// connection go on, and the failed connection is not counted.
#[test]
fn no_thread_for_a_connection_is_an_error_not_a_crash() {
    let server = TestServer::start("");
    let (_s, odbc) = server.open();
    let sqlite = server.sqlite("threads");
    let first = odbc.driver_connect(&sqlite).unwrap();
    let vm_kib: u64 = std::fs::read_to_string(format!("/proc/{}/status", server.pid()))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    // 1 MiB more address space: too little for a thread's 2 MiB stack.
    let limited = Command::new("prlimit")
        .arg(format!("--pid={}", server.pid()))
        .arg(format!("--as={}", (vm_kib + 1024) * 1024))
        .status()
        .unwrap();
    assert!(limited.success());
    let e = odbc.driver_connect(&sqlite).unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::OperationalError, "HY001"),
        "{e}"
    );
    assert!(e.message.contains("cannot start a thread"), "{e}");
    let mut c = first.cursor();
    c.execute("SELECT 7", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(7)])
    );
    assert_eq!(odbc.status().unwrap().connections, 1);
}

#[test]
fn status_reports_sessions_connections_and_running_requests() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("status");
    let (_s, odbc) = server.open();
    let (_t, busy) = server.open();
    let conn = busy.driver_connect(&pg.connstr("status")).unwrap();
    let _other = busy.driver_connect(&pg.connstr("status")).unwrap();
    let worker = std::thread::spawn(move || {
        let mut c = conn.cursor();
        c.execute("SELECT pg_sleep(1.5)", &[]).unwrap();
    });
    TestServer::wait_until(5, "the request to be running", || {
        odbc.status()
            .map(|st| st.running_requests == 1)
            .unwrap_or(false)
    });
    let st = odbc.status().unwrap();
    assert_eq!((st.sessions, st.connections, st.max_sessions), (2, 2, 400));
    // Without authentication every user is anonymous: a session sees itself and the totals.
    let own = |st: &odbcd::proto::message::ServerStatus| -> Vec<(u32, u32)> {
        st.session_list
            .iter()
            .map(|s| (s.connections, s.running_requests))
            .collect()
    };
    assert_eq!(own(&st), vec![(0, 0)], "{:?}", st.session_list);
    let st = busy.status().unwrap();
    assert_eq!(own(&st), vec![(2, 1)], "{:?}", st.session_list);
    assert!(st
        .session_list
        .iter()
        .all(|s| s.attached && s.id_prefix.len() == 8));
    worker.join().unwrap();
}

#[test]
fn a_frame_stuck_half_received_detaches_the_session() {
    use std::io::Read;
    use std::net::TcpStream;
    let server = TestServer::start(
        "[Session]\nreceive_timeout = 0.5\n\n[Activity]\ncheck_interval = 0.1\nmax_session_reconnect_time = 1\n",
    );
    let (_observer, odbc) = server.open();
    // A raw client: handshake, OpenSession, then half a frame and silence.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(&odbcd::proto::preamble::Preamble::current(0).encode())
        .unwrap();
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf).unwrap();
    let mut open = Vec::new();
    odbcd::proto::frame::encode(
        &odbcd::proto::message::ClientFrame {
            id: 0,
            ack: 0,
            request: odbcd::proto::message::Request::OpenSession {
                username: String::new(),
                proof: vec![],
                module_name: "Manager".into(),
                session_id: None,
                client_name: "half".into(),
            },
        },
        odbcd::proto::compress::Compression::OFF,
        odbcd::proto::MAX_FRAME_LEN,
        &mut open,
    )
    .unwrap();
    s.write_all(&open).unwrap();
    TestServer::wait_until(5, "two sessions", || {
        odbc.status().map(|st| st.sessions == 2).unwrap_or(false)
    });
    s.write_all(&[0, 0, 0, 100, 0, 1, 2]).unwrap();
    TestServer::wait_until(5, "the stuck link to be detached", || {
        server.log().contains("receive_timeout")
    });
    TestServer::wait_until(5, "the detached session to close", || {
        odbc.status().map(|st| st.sessions == 1).unwrap_or(false)
    });
}

#[test]
fn odbcsh_reports_the_idle_timeout_and_survives_a_cut_link() {
    let pg = pg();
    let server = TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_waiting_time = 1\n");
    let _db = pg.database("odbcsh_life");
    // Idle too long between two piped statements.
    let mut child = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .args([
            "--port",
            &server.port.to_string(),
            "--connect",
            &pg.connstr("odbcsh_life"),
            "--format",
            "csv",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"SELECT 1 AS a;\n").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1800));
    stdin.write_all(b"SELECT 2 AS b;\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\n1\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("ERROR TimeoutError [HYT00]: ") && err.contains("max_waiting_time"),
        "{err}"
    );

    // A link cut in the middle of a result: odbcsh resumes and prints every row.
    let proxy = common::proxy::Proxy::start(server.port);
    proxy.cut_next_after(common::proxy::Dir::Down, 50_000);
    let out = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .args([
            "--port",
            &proxy.port.to_string(),
            "--connect",
            &pg.connstr("odbcsh_life"),
            "--format",
            "csv",
        ])
        .args(["-e", "SELECT g AS n FROM generate_series(1, 100000) g"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 100_001);
    assert!(lines[1..]
        .iter()
        .enumerate()
        .all(|(i, l)| *l == (i + 1).to_string()));
    assert!(proxy.accepted() >= 2, "the link was cut and resumed");
}

#[test]
fn only_the_request_that_overran_is_cancelled_and_none_is_reported_cancelled_after_running() {
    let pg = pg();
    let server =
        TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_request_execution_time = 1\n");
    let _db = pg.database("overran");
    pg.psql("overran", "CREATE TABLE t (x int)");
    let (_s, odbc) = server.open();
    let conn = std::sync::Arc::new(odbc.driver_connect(&pg.connstr("overran")).unwrap());
    let slow = {
        let conn = conn.clone();
        std::thread::spawn(move || {
            conn.cursor()
                .execute("SELECT pg_sleep(30)", &[])
                .map(|_| ())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // Pipelined behind the slow query on the same connection: it starts when that one ends,
    // its clock starts then, and the watchdog's cancel is not for it.
    let insert = conn
        .cursor()
        .execute("INSERT INTO t VALUES (1)", &[])
        .map(|_| ());
    let e = slow.join().unwrap().unwrap_err();
    assert_eq!(e.class, ErrorClass::TimeoutError, "{e}");
    insert.expect("the INSERT ran and must say so");
    conn.commit().unwrap();
    assert_eq!(pg.psql("overran", "SELECT count(*) FROM t"), "1");
}
