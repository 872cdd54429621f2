//! A user's session against both databases: errors with their class and SQLSTATE,
//! transactions seen from a second connection, data sources, and cleanup of server resources.

mod common;

use std::time::Duration;

use common::{pg::pg, TestServer};
use odbcd::client::{ErrorClass, ServerSession, Value};

#[test]
fn sqlite_errors_have_class_and_sqlstate() {
    let server = TestServer::start("");
    let (_s, odbc, conn) = server.connect(&server.sqlite("errors"));
    let mut c = conn.cursor();
    let e = c.execute("SELEC 1", &[]).unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str(), e.native),
        (ErrorClass::ProgrammingError, "HY000", 1),
        "{e}"
    );
    assert!(e.message.contains("syntax error"), "{e}");
    let e = c.execute("SELECT * FROM missing_table", &[]).unwrap_err();
    assert_eq!(e.class, ErrorClass::ProgrammingError, "{e}");
    assert!(e.message.contains("no such table"), "{e}");
    c.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)", &[])
        .unwrap();
    c.execute("INSERT INTO u VALUES (1)", &[]).unwrap();
    let e = c.execute("INSERT INTO u VALUES (1)", &[]).unwrap_err();
    assert_eq!((e.class, e.native), (ErrorClass::IntegrityError, 19), "{e}");
    assert!(e.is(ErrorClass::DatabaseError) && e.is(ErrorClass::Error));
    let e = odbc.driver_connect("DSN=no_such_dsn").unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::OperationalError, "IM002"),
        "{e}"
    );
    // The cursor and connection still work after errors.
    c.execute("SELECT id FROM u", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(1)])
    );
}

#[test]
fn postgres_errors_have_class_and_sqlstate() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("errors");
    let (_s, _odbc, conn) = server.connect(&pg.connstr("errors"));
    let mut c = conn.cursor();
    let e = c.execute("SELEC 1", &[]).unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::ProgrammingError, "42601"),
        "{e}"
    );
    let e = c.execute("SELECT * FROM missing_table", &[]).unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::ProgrammingError, "42P01"),
        "{e}"
    );
    c.execute("CREATE TABLE u (id integer primary key)", &[])
        .unwrap();
    c.execute("INSERT INTO u VALUES (?)", &[1.into()]).unwrap();
    let e = c
        .execute("INSERT INTO u VALUES (?)", &[1.into()])
        .unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::IntegrityError, "23505"),
        "{e}"
    );
    let e = c.execute("SELECT 1/0", &[]).unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::DataError, "22012"),
        "{e}"
    );
    c.execute("SELECT count(*) FROM u", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(1)])
    );
}

/// Reads rows until the cursor's error, checking that row `n` (from 1) starts with
/// `first(n)`; returns how many rows came and the error.
fn rows_until_error(
    c: &mut odbcd::client::Cursor,
    first: impl Fn(i64) -> Value,
) -> (i64, odbcd::client::Error) {
    let mut n = 0i64;
    loop {
        match c.fetchone() {
            Ok(Some(row)) => {
                n += 1;
                assert_eq!(row[0], first(n), "rows arrive once, in order");
            }
            Ok(None) => panic!("the result set ended without its error after {n} rows"),
            Err(e) => return (n, e),
        }
    }
}

/// The server reads a result set ahead of the client: an error in a later batch (here the
/// 3000th row divides by zero, in psqlodbc's second 2000-row fetch) must still arrive after
/// the rows the driver gave before it, in order, and leave the connection usable.
#[test]
fn an_error_in_a_later_batch_arrives_after_the_rows_before_it() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("late_error");
    let (_s, _odbc, conn) = server.connect(&pg.connstr("late_error"));
    let mut c = conn.cursor();
    c.execute(
        "SELECT g, 10 / (3000 - g) FROM generate_series(1, 5000) g",
        &[],
    )
    .unwrap();
    let (n, err) = rows_until_error(&mut c, Value::Int);
    assert_eq!(
        (err.class, err.sqlstate.as_str()),
        (ErrorClass::DataError, "22012"),
        "{err}"
    );
    // How many rows the driver hands out before its error depends on its own batching; none
    // may be lost before it, and none can come from past the failing row.
    assert!(
        (2000..3000).contains(&n),
        "{n} rows arrived before the error: the first driver fetch's 2000 at least"
    );
    c.execute("SELECT 42", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(42)])
    );
}

/// The same on SQLite, whose rows are read one at a time: the statement fails while stepping
/// to row 3000 (integer overflow), after the rows before it went out in batches read ahead.
#[test]
fn sqlite_error_while_stepping_arrives_after_every_row_before_it() {
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect(&server.sqlite("late_error"));
    let mut c = conn.cursor();
    c.execute(
        "SELECT x, CASE WHEN x = 3000 THEN abs(-9223372036854775808) ELSE x END \
         FROM (WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 5000) SELECT x FROM g)",
        &[],
    )
    .unwrap();
    // SQLite declares no type for an expression: its integers come by storage class.
    let (n, err) = rows_until_error(&mut c, Value::Int);
    assert!(err.message.contains("integer overflow"), "{err}");
    assert_eq!(n, 2999, "every row before the failing one arrived first");
    c.execute("SELECT 42", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(42)])
    );
}

/// A cursor per statement is the usual DB-API pattern: dropping one whose result set was read
/// to the end sends nothing (the server let the result set go with its last rows), so a
/// statement costs one round trip, not two.
#[test]
fn dropping_a_finished_cursor_sends_nothing() {
    let server = TestServer::start("");
    let (_s, odbc, conn) = server.connect(&server.sqlite("cursors"));
    let sent = || odbc.traffic().0;
    let mut kept = conn.cursor();
    kept.execute("SELECT 1", &[]).unwrap();
    assert_eq!(kept.fetchall().unwrap().len(), 1);
    let before = sent();
    kept.execute("SELECT 1", &[]).unwrap();
    assert_eq!(kept.fetchall().unwrap().len(), 1);
    let one_statement = sent() - before;
    let before = sent();
    {
        let mut dropped = conn.cursor();
        dropped.execute("SELECT 1", &[]).unwrap();
        assert_eq!(dropped.fetchall().unwrap().len(), 1);
    }
    let with_drop = sent() - before;
    // A request frame is at least 9 bytes; cursor ids may differ by one varint byte.
    assert!(
        with_drop <= one_statement + 1,
        "dropping the cursor sent {} more bytes",
        with_drop - one_statement
    );
    // A cursor dropped with rows left still tells the server, and the connection goes on.
    {
        let mut open = conn.cursor();
        open.execute(
            "SELECT x FROM (WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 50000) SELECT x FROM g)",
            &[],
        )
        .unwrap();
        assert!(open.fetchone().unwrap().is_some());
        let before = sent();
        drop(open);
        assert!(
            sent() - before >= 9,
            "closing an open result set is a request"
        );
    }
    kept.execute("SELECT 2", &[]).unwrap();
    assert_eq!(
        kept.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(2)])
    );
}

fn commit_and_rollback(first: &str, second: &str, table: &str, odbc: &odbcd::client::Odbc) {
    let writer = odbc.driver_connect(first).unwrap();
    let reader = odbc.driver_connect(second).unwrap();
    let mut w = writer.cursor();
    w.execute(&format!("CREATE TABLE {table} (id INTEGER)"), &[])
        .unwrap();
    writer.set_autocommit(false).unwrap();
    assert!(!writer.autocommit());
    w.execute(&format!("INSERT INTO {table} VALUES (1)"), &[])
        .unwrap();
    writer.rollback().unwrap();
    w.execute(&format!("INSERT INTO {table} VALUES (2)"), &[])
        .unwrap();
    writer.commit().unwrap();
    w.execute(&format!("INSERT INTO {table} VALUES (3)"), &[])
        .unwrap();
    // Not committed: closing rolls it back.
    writer.close().unwrap();
    let mut r = reader.cursor();
    r.execute(&format!("SELECT id FROM {table} ORDER BY id"), &[])
        .unwrap();
    assert_eq!(r.fetchall().unwrap(), vec![vec![Value::Int(2)]]);
}

#[test]
fn sqlite_commit_and_rollback_seen_from_a_second_connection() {
    let server = TestServer::start("");
    let (_s, odbc) = server.open();
    let cs = server.sqlite("tx");
    commit_and_rollback(&cs, &cs, "tx", &odbc);
}

#[test]
fn postgres_commit_and_rollback_seen_from_a_second_connection() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("tx");
    let (_s, odbc) = server.open();
    commit_and_rollback(&pg.connstr("tx"), &pg.connstr("tx"), "tx", &odbc);
}

#[test]
fn closing_a_session_ends_its_backend_connections() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("lifecycle");
    let (mut session, odbc) = server.open();
    let conns: Vec<_> = (0..3)
        .map(|_| odbc.driver_connect(&pg.connstr("lifecycle")).unwrap())
        .collect();
    let mut c = conns[0].cursor();
    c.execute("SELECT 1", &[]).unwrap();
    assert_eq!(pg.backends("lifecycle"), 3);
    assert_eq!(odbc.status().unwrap().connections, 3);
    session.close().unwrap();
    assert!(session.closed());
    TestServer::wait_until(10, "backends to close", || pg.backends("lifecycle") == 0);
    drop(conns);

    // A client that just goes away (drops its handles without closing): the session closes
    // with its last handle, and the server cleans up.
    let (session, odbc, conn) = server.connect(&pg.connstr("lifecycle"));
    assert_eq!(pg.backends("lifecycle"), 1);
    drop(session);
    // The session lives on while a handle uses it.
    let mut c = conn.cursor();
    c.execute("SELECT 1", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 1);
    drop(c);
    drop(conn);
    drop(odbc);
    TestServer::wait_until(10, "backends of a vanished client to close", || {
        pg.backends("lifecycle") == 0
    });
    let (_s, odbc) = server.open();
    let st = odbc.status().unwrap();
    assert_eq!((st.sessions, st.connections), (1, 0), "{st:?}");
}

#[test]
fn passwords_never_reach_the_log() {
    let pg = pg();
    let server = TestServer::start_with(&format!(
        "[Connection]\nport = 0\n[Logging]\nlog_level = mx.Log.SYSTEM_ANY\n{}",
        common::ACCESS
    ));
    let _db = pg.database("masking");
    let (_s, odbc, _c) = server.connect(&pg.connstr("masking"));
    let _ = odbc.driver_connect("DSN=nothing;UID=u;PWD={another;secret}");
    let _ = odbc.connect("nothing", "u", "third-secret");
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log();
    assert!(
        log.contains("PWD=***") || log.contains("Password=***"),
        "{log}"
    );
    for secret in ["secret-pg-pwd", "another;secret", "third-secret"] {
        assert!(!log.contains(secret), "{secret} in log:\n{log}");
    }
}

#[test]
fn data_sources_and_drivers_of_the_server() {
    let server = TestServer::start("");
    let (s, odbc) = server.open();
    assert!(!s.closed());
    assert_eq!(s.server_version(), odbcd::VERSION);
    // 8 characters of server instance, then 128 random bits.
    assert_eq!(s.session_id().map(|id| id.len()), Some(40));
    let dsns = odbc.data_sources().unwrap();
    assert!(
        dsns.iter()
            .any(|d| d.name == "demo" && d.driver == "SQLite3"),
        "{dsns:?}"
    );
    let drivers = odbc.drivers().unwrap();
    assert!(drivers.iter().any(|d| d.name == "SQLite3"), "{drivers:?}");
    odbc.ping().unwrap();
    let conn = odbc.connect("demo", "", "").unwrap();
    assert_eq!(conn.dbms_name(), "SQLite");
}

#[test]
fn one_session_runs_requests_on_several_connections_at_once() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("parallel");
    let (_s, odbc) = server.open();
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let conn = odbc.driver_connect(&pg.connstr("parallel")).unwrap();
            std::thread::spawn(move || {
                let mut c = conn.cursor();
                c.execute("SELECT pg_sleep(1), CAST(? AS integer)", &[Value::Int(i)])
                    .unwrap();
                c.fetchone().unwrap().unwrap()[1].clone()
            })
        })
        .collect();
    let got: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, vec![Value::Int(0), Value::Int(1), Value::Int(2)]);
    // Three one-second queries in parallel, not one after another.
    assert!(
        started.elapsed() < Duration::from_millis(2800),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn client_works_inside_a_tokio_runtime() {
    let server = TestServer::start("");
    let data = server.config_data();
    let cs = server.sqlite("tokio");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let n = rt.block_on(async move {
        // Directly from async code (blocking this task), and through spawn_blocking.
        let mut session = ServerSession::new(None, Some(&data)).unwrap();
        let odbc = session.open("", "", None, None).unwrap();
        let conn = odbc.driver_connect(&cs).unwrap();
        let mut c = conn.cursor();
        c.execute("SELECT 41", &[]).unwrap();
        let first = c.fetchone().unwrap().unwrap();
        let second = tokio::task::spawn_blocking(move || {
            let mut c = conn.cursor();
            c.execute("SELECT 1", &[]).unwrap();
            c.fetchone().unwrap().unwrap()
        })
        .await
        .unwrap();
        session.close().unwrap();
        (first, second)
    });
    assert_eq!(
        (Vec::from(n.0), Vec::from(n.1)),
        (vec![Value::Int(41)], vec![Value::Int(1)])
    );
}

#[test]
fn no_server_gives_one_operational_error_listing_each() {
    let data = odbcd::client::ConfigData::new()
        .set("A_Connection", "port", 1)
        .set("B_Connection", "port", 2);
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    let e = s.open("", "", None, None).map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::OperationalError);
    assert!(
        e.message.contains("[A_Connection]") && e.message.contains("[B_Connection]"),
        "{e}"
    );
    assert_eq!(e.records.len(), 2);
    assert!(s.closed());
}

#[test]
fn version_mismatch_is_a_protocol_error_naming_both_versions() {
    use std::io::{Read, Write};
    // A fake server that speaks protocol version 7.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut pre = [0u8; 8];
        s.read_exact(&mut pre).unwrap();
        s.write_all(
            &odbcd::proto::preamble::Preamble {
                version: 7,
                flags: 0,
            }
            .encode(),
        )
        .unwrap();
    });
    let data = odbcd::client::ConfigData::new().set("Connection", "port", port);
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    let e = s.open("", "", None, None).map(|_| ()).unwrap_err();
    fake.join().unwrap();
    assert_eq!(e.class, ErrorClass::ProtocolError, "{e}");
    assert!(
        e.message
            .contains("client speaks version 2, server speaks version 7"),
        "{e}"
    );
}

#[test]
fn the_server_writes_its_log_file_without_secrets() {
    let server = TestServer::start_with(
        "[Connection]\nport = 0\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\nlog_file = logs.txt\n",
    );
    let (_s, odbc) = server.open();
    let _ = odbc.driver_connect("DSN=nothing;PWD=log-file-secret");
    let path = server.dir.path().join("logs.txt");
    TestServer::wait_until(5, "the log file", || {
        std::fs::read_to_string(&path).is_ok_and(|l| l.contains("connect failed"))
    });
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        log.contains("listening on 127.0.0.1:") && log.contains("PWD=***"),
        "{log}"
    );
    assert!(!log.contains("log-file-secret"), "{log}");
    assert!(
        server.dir.path().join("server.pid").exists(),
        "pid file next to the config"
    );
}

#[test]
fn connection_cursortype_is_set_on_each_statement() {
    let pg = pg();
    let _db = pg.database("cursortype");
    let config = |cursor: &str| {
        format!(
            "[Connection]\ninterface = 127.0.0.1\nport = 0\nconnection_cursortype = {cursor}\n\n\
             [Logging]\nlog_level = mx.Log.SYSTEM_ANY\n\n{}",
            common::ACCESS
        )
    };

    // PostgreSQL supports static cursors: the type is applied and queries run as usual.
    let server = TestServer::start_with(&config("SQL.CURSOR_STATIC"));
    let (_s, _odbc, conn) = server.connect(&pg.connstr("cursortype"));
    let mut c = conn.cursor();
    c.execute("SELECT g FROM generate_series(1, 3) AS g", &[])
        .unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 3);
    TestServer::wait_until(10, "the applied cursor type in the log", || {
        server.log().contains("connection_cursortype applied")
    });
    assert!(!server.log().contains("instead of"), "{}", server.log());
    drop(server);

    // The SQLite driver has no keyset-driven cursors: it substitutes a static one, which the
    // server logs once, and the statements still work.
    let server = TestServer::start_with(&config("SQL.CURSOR_KEYSET_DRIVEN"));
    let (_s, _odbc, conn) = server.connect(&server.sqlite("cursortype"));
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (id INTEGER)", &[]).unwrap();
    c.execute("INSERT INTO t VALUES (1), (2)", &[]).unwrap();
    c.execute("SELECT id FROM t ORDER BY id", &[]).unwrap();
    assert_eq!(
        c.fetchall().unwrap(),
        vec![vec![Value::Int(1)], vec![Value::Int(2)]]
    );
    TestServer::wait_until(10, "the substituted cursor type in the log", || {
        server
            .log()
            .contains("instead of connection_cursortype KeysetDriven")
    });
    assert_eq!(
        server
            .log()
            .matches("instead of connection_cursortype")
            .count(),
        1
    );
}

#[test]
fn resuming_on_a_restarted_server_says_that_it_restarted() {
    let first = TestServer::start("");
    let (s, _odbc) = first.open();
    let id = s.session_id().unwrap();
    // Another server process (as after a restart, or a balancer sending the client elsewhere).
    let second = TestServer::start("");
    let mut again = ServerSession::new(None, Some(&second.config_data())).unwrap();
    let e = again.open("", "", None, Some(&id)).map(|_| ()).unwrap_err();
    assert!(e.message.contains("restarted"), "{e}");
}

/// A function may open a session and hand back only the connection: the connection keeps
/// the session alive, and the session closes on the server when the connection goes.
#[test]
fn handles_keep_their_session_alive_and_the_last_one_closes_it() {
    fn connect(server: &TestServer, connstr: &str) -> odbcd::client::Connection {
        let (_session, _odbc, conn) = server.connect(connstr);
        conn
    }
    let server = TestServer::start("");
    let (_observer, odbc) = server.open();
    let conn = connect(&server, &server.sqlite("alive"));
    let mut c = conn.cursor();
    c.execute("SELECT 41 + 1", &[]).unwrap();
    let row = c.fetchone().unwrap().unwrap();
    assert_eq!(row.get::<i64>(0), 42);
    assert_eq!(odbc.status().unwrap().sessions, 2);
    drop(c);
    drop(conn);
    TestServer::wait_until(10, "the session to close with its last handle", || {
        odbc.status().unwrap().sessions == 1
    });
}

/// `rows()` yields an error once and then ends, so `filter_map(Result::ok)` terminates.
#[test]
fn rows_end_after_an_error() {
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&server.sqlite("rows_error"));
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (i INTEGER)", &[]).unwrap();
    // No result set: one error, then the end.
    let items: Vec<_> = c.rows().take(5).collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().sqlstate, "24000");
    assert_eq!(c.rows().filter_map(Result::ok).count(), 0);
    // Typed rows by name.
    c.execute("SELECT 7 AS n, 'pear' AS name, NULL AS note", &[])
        .unwrap();
    for row in c.rows() {
        let row = row.unwrap();
        let (n, name, note): (u8, String, Option<String>) =
            (row.get("n"), row.get("name"), row.get("note"));
        assert_eq!((n, name.as_str(), note), (7, "pear", None));
        assert_eq!(row.try_get::<i64>("nope").unwrap_err().sqlstate, "42S22");
    }
}

/// A transaction guard: committed when asked, rolled back when dropped (an early `?`), and
/// autocommit is back afterwards; one guard at a time.
#[test]
fn a_transaction_guard_commits_or_rolls_back() {
    let pg = pg();
    let _db = pg.database("tx_guard");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("tx_guard"));
    conn.cursor()
        .execute("CREATE TABLE t (i INTEGER)", &[])
        .unwrap();
    let count = || {
        let mut c = conn.cursor();
        c.execute("SELECT count(*) FROM t", &[]).unwrap();
        c.fetchone().unwrap().unwrap().get::<i64>(0)
    };
    fn transfer(conn: &odbcd::client::Connection, fail: bool) -> Result<(), odbcd::client::Error> {
        let tx = conn.transaction()?;
        tx.cursor().execute("INSERT INTO t VALUES (1)", &[])?;
        if fail {
            tx.cursor()
                .execute("INSERT INTO no_such_table VALUES (1)", &[])?;
        }
        tx.commit()
    }
    assert!(transfer(&conn, true).is_err());
    assert_eq!(count(), 0, "rolled back when dropped");
    assert!(conn.autocommit());
    transfer(&conn, false).unwrap();
    assert_eq!(count(), 1);
    let tx = conn.transaction().unwrap();
    assert_eq!(conn.transaction().unwrap_err().sqlstate, "25000");
    tx.cursor()
        .execute("INSERT INTO t VALUES (2)", &[])
        .unwrap();
    tx.rollback().unwrap();
    assert_eq!(count(), 1);
    assert!(conn.autocommit());
}

/// A query timeout ends a long statement (the driver's own, or the client's deadline for a
/// driver that ignores it), and a cancel handle stops one from another thread.
#[test]
fn query_timeout_and_cancel_from_another_thread() {
    let pg = pg();
    let _db = pg.database("cancel_handle");
    let server = TestServer::start("");
    // SQLite: a statement that would run for a long time.
    let (_s, _o, conn) = server.connect(&server.sqlite("timeout"));
    let mut c = conn.cursor();
    c.set_query_timeout(1);
    let started = std::time::Instant::now();
    let e = c
        .execute(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000000) SELECT count(*) FROM n",
            &[],
        )
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(
        e.is(ErrorClass::TimeoutError) || e.sqlstate == "HY008",
        "{e}"
    );
    c.set_query_timeout(0);
    c.execute("SELECT 1", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 1);

    // PostgreSQL: cancelled from another thread.
    let (_s2, _o2, conn) = server.connect(&pg.connstr("cancel_handle"));
    let mut c = conn.cursor();
    let cancel = c.cancel_handle();
    assert!(!cancel.cancel().unwrap(), "nothing runs yet");
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        cancel.cancel()
    });
    let started = std::time::Instant::now();
    let e = c.execute("SELECT pg_sleep(20)", &[]).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(e.sqlstate == "HY008" || e.sqlstate == "57014", "{e}");
    assert!(canceller.join().unwrap().unwrap());
    c.execute("SELECT 2", &[]).unwrap();
    assert_eq!(c.fetchone().unwrap().unwrap().get::<i64>(0), 2);
}

/// The async facade: concurrent queries on one current-thread runtime (each on the blocking
/// pool, so the executor never blocks), and a cancel from another task.
#[cfg(feature = "tokio")]
#[test]
fn the_async_facade_runs_queries_concurrently_and_cancels() {
    use odbcd::client::tokio::AsyncSession;
    use odbcd::client::{ClientConfig, OpenOptions};
    let pg = pg();
    let _db = pg.database("async_facade");
    let server = TestServer::start("");
    let config = ClientConfig::load(None, Some(&server.config_data())).unwrap();
    let connstr = pg.connstr("async_facade");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (session, odbc) = AsyncSession::open(config, OpenOptions::new())
            .await
            .unwrap();
        let a = odbc.driver_connect(&connstr).await.unwrap();
        let b = odbc.driver_connect(&connstr).await.unwrap();
        // Two sleeps of 1 s at once take about 1 s, not 2.
        let started = std::time::Instant::now();
        let (ca, cb) = (a.cursor(), b.cursor());
        let (ra, rb) = tokio::join!(
            ca.execute("SELECT pg_sleep(1), 1", vec![]),
            cb.execute("SELECT pg_sleep(1), 2", vec![])
        );
        ra.unwrap();
        rb.unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(1900),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(ca.fetchone().await.unwrap().unwrap().get::<i64>(1), 1);
        assert_eq!(cb.fetchall().await.unwrap()[0].get::<i64>(1), 2);
        // Cancelled from another task while awaited.
        let other = ca.clone();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            other.cancel().await
        });
        let e = ca.execute("SELECT pg_sleep(20)", vec![]).await.unwrap_err();
        assert!(e.sqlstate == "HY008" || e.sqlstate == "57014", "{e}");
        assert!(canceller.await.unwrap().unwrap());
        // Transactions and getinfo.
        a.set_autocommit(false).await.unwrap();
        ca.execute("CREATE TABLE t (i INTEGER)", vec![])
            .await
            .unwrap();
        a.rollback().await.unwrap();
        a.set_autocommit(true).await.unwrap();
        assert!(ca.execute("SELECT * FROM t", vec![]).await.is_err());
        assert_eq!(
            a.getinfo("SQL_DBMS_NAME").await.unwrap().to_string(),
            "PostgreSQL"
        );
        session.close().await.unwrap();
    });
}
