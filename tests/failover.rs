//! Fail-over between servers through the client library and odbcsh: a server that is down at
//! `open()` is skipped, a server that dies mid-session gives a prompt `ConnectionFailureError`
//! and the next `open()` lands on the next server, the order is respected when the first comes
//! back, a black-holed server costs only the connect timeout, an idle session notices a dead
//! server by its pings, and with every server down one `OperationalError` names them all.

mod common;

use std::time::{Duration, Instant};

use common::{free_port, TestServer, ACCESS};
use odbcd::client::{ConfigData, ErrorClass, ServerSession};

/// A server on a fixed port (so it can be restarted on it).
fn server_on(port: u16) -> TestServer {
    TestServer::start_with(&format!(
        "[Connection]\ninterface = 127.0.0.1\nport = {port}\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n\n{ACCESS}"
    ))
}

/// Client config: servers A then B.
fn two(a: u16, b: u16) -> ConfigData {
    ConfigData::new()
        .set("A_Connection", "port", a)
        .set("A_Connection", "connect_timeout", 1)
        .set("B_Connection", "port", b)
        .set("B_Connection", "connect_timeout", 1)
        .set(
            "Communication",
            "server_connections",
            "A_Connection, B_Connection",
        )
}

fn works(s: &ServerSession) {
    let odbc = s.odbc().unwrap();
    let conn = odbc.driver_connect("DSN=demo").unwrap();
    let mut c = conn.cursor();
    c.execute("SELECT 1", &[]).unwrap();
    assert!(c.fetchone().unwrap().is_some());
}

#[test]
fn the_first_server_down_at_open_is_skipped_and_comes_back_first() {
    let (pa, pb) = (free_port(), free_port());
    let _b = server_on(pb);
    let mut s = ServerSession::new(None, Some(&two(pa, pb))).unwrap();
    s.open("", "", None, None).unwrap();
    assert_eq!(s.server_name().as_deref(), Some("B_Connection"));
    works(&s);
    // A comes back: new sessions use it again (the order is respected).
    let _a = server_on(pa);
    let mut t = ServerSession::new(None, Some(&two(pa, pb))).unwrap();
    t.open("", "", None, None).unwrap();
    assert_eq!(t.server_name().as_deref(), Some("A_Connection"));
    works(&t);
}

#[test]
fn a_server_dying_mid_session_fails_fast_and_reopen_lands_on_the_next() {
    let (pa, pb) = (free_port(), free_port());
    let mut a = server_on(pa);
    let _b = server_on(pb);
    let mut s = ServerSession::new(None, Some(&two(pa, pb))).unwrap();
    let odbc = s.open("", "", None, None).unwrap();
    assert_eq!(s.server_name().as_deref(), Some("A_Connection"));
    let conn = odbc.driver_connect("DSN=demo").unwrap();
    let mut c = conn.cursor();
    c.execute("SELECT 1", &[]).unwrap();
    a.kill();
    let started = Instant::now();
    let e = c.execute("SELECT 1", &[]).unwrap_err();
    assert_eq!(e.class, ErrorClass::ConnectionFailureError, "{e}");
    assert!(e.message.contains("server is gone"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no hang: {:?}",
        started.elapsed()
    );
    // The next open walks the list again.
    s.open("", "", None, None).unwrap();
    assert_eq!(s.server_name().as_deref(), Some("B_Connection"));
    works(&s);
}

#[test]
fn a_black_holed_server_costs_only_the_connect_timeout() {
    // A socket that listens but never accepts: connects complete, nothing ever answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let pa = hole.local_addr().unwrap().port();
    let pb = free_port();
    let _b = server_on(pb);
    let mut s = ServerSession::new(None, Some(&two(pa, pb))).unwrap();
    let started = Instant::now();
    s.open("", "", None, None).unwrap();
    let took = started.elapsed();
    assert_eq!(s.server_name().as_deref(), Some("B_Connection"));
    assert!(
        took < Duration::from_secs(4),
        "bounded by connect_timeout (1 s), not receive_timeout: {took:?}"
    );
    drop(hole);
}

#[test]
fn all_servers_down_is_one_operational_error_naming_them_all() {
    let (pa, pb) = (free_port(), free_port());
    let mut s = ServerSession::new(None, Some(&two(pa, pb))).unwrap();
    let e = s.open("", "", None, None).map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::OperationalError, "{e}");
    assert!(
        e.message
            .contains(&format!("[A_Connection] 127.0.0.1:{pa}")),
        "{e}"
    );
    assert!(
        e.message
            .contains(&format!("[B_Connection] 127.0.0.1:{pb}")),
        "{e}"
    );
    assert_eq!(e.records.len(), 2);
}

#[test]
fn an_idle_session_notices_a_dead_server_by_its_pings() {
    let pa = free_port();
    let mut a = server_on(pa);
    let data = ConfigData::new()
        .set("Connection", "port", pa)
        .set("Communication", "ping_interval", 0.3)
        .set("Communication", "ping_timeout", 0.5);
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    s.open("", "", None, None).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(!s.closed(), "pings keep a live session open");
    a.kill();
    TestServer::wait_until(5, "the session to be marked broken", || s.closed());
    let e = s.odbc().unwrap().ping().unwrap_err();
    assert_eq!(e.class, ErrorClass::ConnectionFailureError, "{e}");
}

#[test]
fn odbcsh_shows_its_server_and_fails_over_the_same_way() {
    let (pa, pb) = (free_port(), free_port());
    let _b = server_on(pb);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("client-config.ini");
    std::fs::write(
        &cfg,
        format!(
            "[A_Connection]\nport = {pa}\nconnect_timeout = 1\n\n[B_Connection]\nport = {pb}\nconnect_timeout = 1\n\n[Communication]\nserver_connections = A_Connection, B_Connection\n"
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .arg("--config")
        .arg(&cfg)
        .args(["--connect", "DSN=demo"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"\\status\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("server: [B_Connection]"), "{text}");
}

#[test]
fn auto_reconnect_reopens_between_transactions_and_never_replays_a_cut_one() {
    let pg = common::pg::pg();
    let (pa, pb) = (free_port(), free_port());
    let mut a = server_on(pa);
    let _b = server_on(pb);
    let _db = pg.database("auto_reconnect");
    let data = two(pa, pb)
        .set("Communication", "auto_reconnect", 1)
        .set("Communication", "reconnect_attempts", 2)
        .set("Communication", "reconnect_delay", 0.1);
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    let odbc = s.open("", "", None, None).unwrap();
    assert_eq!(s.server_name().as_deref(), Some("A_Connection"));
    let conn = odbc.driver_connect(&pg.connstr("auto_reconnect")).unwrap();
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (id integer)", &[]).unwrap();
    conn.set_autocommit(false).unwrap();
    c.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    // The server dies in the middle of the transaction: the commit is reported, not replayed.
    a.kill();
    let e = conn.commit().unwrap_err();
    assert_eq!(e.class, ErrorClass::ConnectionFailureError, "{e}");
    // The next transaction runs on B, on a connection made again with the same settings.
    c.execute("INSERT INTO t VALUES (2)", &[]).unwrap();
    conn.commit().unwrap();
    assert_eq!(s.server_name().as_deref(), Some("B_Connection"));
    assert!(!conn.autocommit(), "autocommit setting kept");
    assert_eq!(
        pg.psql("auto_reconnect", "SELECT string_agg(id::text, ',') FROM t"),
        "2",
        "the cut transaction did not commit and was not replayed"
    );
    drop(c);
    conn.close().unwrap();
    s.close().unwrap();
}

#[test]
fn a_transaction_guard_cut_by_a_lost_session_commits_nothing() {
    let pg = common::pg::pg();
    let (pa, pb) = (free_port(), free_port());
    let mut a = server_on(pa);
    let _b = server_on(pb);
    let _db = pg.database("guard_lost");
    let data = two(pa, pb)
        .set("Communication", "auto_reconnect", 1)
        .set("Communication", "reconnect_attempts", 2)
        .set("Communication", "reconnect_delay", 0.1);
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    let odbc = s.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(&pg.connstr("guard_lost")).unwrap();
    conn.cursor()
        .execute("CREATE TABLE t (id integer)", &[])
        .unwrap();
    let tx = conn.transaction().unwrap();
    tx.cursor()
        .execute("INSERT INTO t VALUES (1)", &[])
        .unwrap();
    // The server dies; another connection of the session meets it and the session re-opens
    // on B without this guard's connection hearing of it.
    a.kill();
    let other = odbc.driver_connect(&pg.connstr("guard_lost"));
    let _ = other;
    let _ = odbc.driver_connect(&pg.connstr("guard_lost"));
    // The guard's next statement and its commit say the transaction is gone.
    let e = tx
        .cursor()
        .execute("INSERT INTO t VALUES (2)", &[])
        .unwrap_err();
    assert!(
        e.sqlstate == "08007" || e.class == ErrorClass::ConnectionFailureError,
        "{e}"
    );
    let e = tx.commit().unwrap_err();
    assert!(
        e.sqlstate == "08007" || e.class == ErrorClass::ConnectionFailureError,
        "{e}"
    );
    assert_eq!(
        pg.psql("guard_lost", "SELECT count(*) FROM t"),
        "0",
        "nothing of the cut transaction is committed"
    );
    s.close().unwrap();
}
