//! Operating a running server: reloading its configuration with SIGHUP / `odbcd reload`.

mod common;

use std::process::Command;

use common::TestServer;
use odbcd::client::{ErrorClass, ServerSession};

fn config(dir: &std::path::Path, max_sessions: u32, drivers: &str, extra: &str) -> String {
    format!(
        "[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\nlog_file = {log}\n\n\
         [Access]\nallowed_drivers = {drivers}\nallowed_unsafe_keys = Database\n\n\
         [Session]\nmax_sessions = {max_sessions}\n\n[Unix]\npid_file = {pid}\n{extra}",
        log = dir.join("odbcd.log").display(),
        pid = dir.join("odbcd.pid").display(),
    )
}

/// `odbcd reload --config FILE`, which must succeed.
fn reload(server: &TestServer) {
    let out = Command::new(common::odbcd_bin())
        .args(["reload", "--config"])
        .arg(server.path().join("server-config.ini"))
        .output()
        .expect("odbcd reload");
    assert!(
        out.status.success(),
        "odbcd reload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn reloads_logged(server: &TestServer, what: &str) -> usize {
    server.log().matches(what).count()
}

fn open(server: &TestServer) -> Result<ServerSession, odbcd::client::Error> {
    let mut s = ServerSession::new(None, Some(&server.config_data()))?;
    s.open("", "", None, None)?;
    Ok(s)
}

#[test]
fn a_reload_changes_limits_and_access_for_what_starts_next_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The server's own folder holds its config; the PID and log files go to `dir`.
    let server = TestServer::start_with(&config(dir.path(), 1, "SQLite3", ""));
    let path = server.path().join("server-config.ini");
    let first = open(&server).expect("first session");
    let err = open(&server).map(|_| ()).unwrap_err();
    assert_eq!(err.class, ErrorClass::PolicyViolationError, "{err}");
    let sqlite = server.sqlite("reload");
    let odbc = first.odbc().unwrap();
    odbc.driver_connect(&sqlite)
        .expect("SQLite is allowed at first");

    // Two sessions, and SQLite no longer allowed.
    std::fs::write(&path, config(dir.path(), 2, "PostgreSQL Unicode", "")).unwrap();
    reload(&server);
    TestServer::wait_until(10, "the reload", || {
        reloads_logged(&server, "configuration reloaded") == 1
    });
    let second = open(&server).expect("a second session after max_sessions = 2");
    // The session opened before the reload checks its new connections against the new rules.
    let refused = odbc.driver_connect(&sqlite).map(|_| ()).unwrap_err();
    assert!(refused.message.contains("SQLite3"), "{refused}");
    let err = open(&server).map(|_| ()).unwrap_err();
    assert_eq!(err.class, ErrorClass::PolicyViolationError, "{err}");

    // A wrong line: `odbcd reload` says where and does not disturb the server...
    std::fs::write(
        &path,
        config(dir.path(), 5, "SQLite3", "[Activity]\nmax_idle_tme = 5\n"),
    )
    .unwrap();
    let out = Command::new(common::odbcd_bin())
        .args(["reload", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("server-config.ini:19") && said.contains("max_idle_tme"),
        "{said}"
    );
    // ...and a SIGHUP from elsewhere (logrotate, kill -HUP) is refused with file and line,
    // and nothing changes.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    TestServer::wait_until(10, "the refused reload", || {
        reloads_logged(&server, "reload refused") == 1
    });
    let log = server.log();
    let line = log.lines().find(|l| l.contains("reload refused")).unwrap();
    assert!(
        line.contains("server-config.ini:") && line.contains("max_idle_tme"),
        "{line}"
    );
    let err = open(&server).map(|_| ()).unwrap_err();
    assert_eq!(
        err.class,
        ErrorClass::PolicyViolationError,
        "still two: {err}"
    );
    assert!(odbc.driver_connect(&sqlite).is_err(), "still no SQLite");

    // What needs a restart is said, and the rest applies.
    std::fs::write(
        &path,
        config(dir.path(), 3, "SQLite3", "").replace("port = 0", "port = 1"),
    )
    .unwrap();
    reload(&server);
    TestServer::wait_until(10, "the second reload", || {
        reloads_logged(&server, "configuration reloaded") == 2
    });
    assert!(
        server
            .log()
            .contains("listening on 127.0.0.1:1 instead of 127.0.0.1:0 needs a restart"),
        "{}",
        server.log()
    );
    let _third = open(&server).expect("three sessions now");
    odbc.driver_connect(&sqlite).expect("SQLite allowed again");
    drop((first, second));
}

const SALT: &str = "reload-salt";

fn login(server: &TestServer, user: &str) -> Result<ServerSession, odbcd::client::Error> {
    common::login(server, SALT, user)
}

/// A reload applies the password file, `[License]`, `[Pool]` and `[Activity]` to what starts
/// after it.
#[test]
fn a_reload_applies_users_licence_pool_and_activity_to_what_starts_next() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    common::add_user(&users, "ann", "ann-pw", Some(SALT));
    let auth = format!(
        "[Authentication]\nauth_mode = file\npassword_file = {}\nlogin_salt = {SALT}\n\n",
        users.display()
    );
    let before = format!("{auth}[License]\nmax_connections = 5\n");
    let server = TestServer::start_with(&config(dir.path(), 10, "SQLite3", &before));
    let path = server.path().join("server-config.ini");
    let ann = login(&server, "ann").expect("ann logs in");
    let refused = login(&server, "bob").map(|_| ()).unwrap_err();
    assert_eq!(refused.sqlstate, "28000", "{refused}");
    let sqlite = server.sqlite("reload-limits");
    let ann_odbc = ann.odbc().unwrap();
    let a1 = ann_odbc.driver_connect(&sqlite).unwrap();
    let a2 = ann_odbc.driver_connect(&sqlite).unwrap();

    // bob joins the password file; one physical connection, a pool, idle sessions dropped
    // after 1 s.
    common::add_user(&users, "bob", "bob-pw", Some(SALT));
    let after = format!(
        "{auth}[License]\nmax_connections = 1\n\n[Pool]\nmax_idle_connections = 2\n\n\
         [Activity]\ncheck_interval = 0.1\nmax_waiting_time = 1\n"
    );
    std::fs::write(&path, config(dir.path(), 10, "SQLite3", &after)).unwrap();
    reload(&server);
    TestServer::wait_until(10, "the reload", || {
        reloads_logged(&server, "configuration reloaded") == 1
    });
    let bob = login(&server, "bob").expect("bob logs in after the reload");
    let bob_odbc = bob.odbc().unwrap();
    // The licence: ann's two connections already exceed it, so bob's first is refused.
    let e = bob_odbc.driver_connect(&sqlite).map(|_| ()).unwrap_err();
    assert!(e.message.contains("allows 1 physical"), "{e}");
    // Closed and answered, both (a dropped connection closes without waiting: the next
    // connect could come first).
    a1.close().unwrap();
    a2.close().unwrap();
    // ann's closed connection is parked (the pool is on now) and counts; at the limit, a
    // connection in use takes its place.
    let b1 = bob_odbc
        .driver_connect(&sqlite)
        .expect("the parked one gives way");
    assert_eq!(ann_odbc.status().unwrap().connections, 1);
    let e = bob_odbc.driver_connect(&sqlite).map(|_| ()).unwrap_err();
    assert!(e.message.contains("allows 1 physical"), "{e}");
    // [Activity]: bob's session, opened after the reload, is dropped when idle for 1 s.
    std::thread::sleep(std::time::Duration::from_millis(1600));
    let e = b1
        .cursor()
        .execute("SELECT 1", &[])
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::TimeoutError, "{e}");
    assert!(e.message.contains("max_waiting_time"), "{e}");
    drop(ann);
}

#[test]
fn a_reload_reopens_the_log_file_and_changes_the_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&config(dir.path(), 10, "SQLite3", ""));
    let log = dir.path().join("odbcd.log");
    let (_s, odbc, _c) = server.connect(&server.sqlite("rotate"));
    assert!(std::fs::read_to_string(&log).unwrap().contains("connect"));
    // Log rotation: the file is moved away, then the server is told.
    let rotated = dir.path().join("odbcd.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    let path = server.path().join("server-config.ini");
    std::fs::write(
        &path,
        config(dir.path(), 10, "SQLite3", "").replace("mx.Log.SYSTEM_INFO", "mx.Log.SYSTEM_ERROR"),
    )
    .unwrap();
    reload(&server);
    TestServer::wait_until(10, "a new log file", || log.exists());
    // At the error level, a connect is not logged any more (it was at the info level).
    odbc.driver_connect(&server.sqlite("quiet")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let new_text = std::fs::read_to_string(&log).unwrap();
    assert!(!new_text.contains("quiet"), "{new_text}");
    assert!(std::fs::read_to_string(&rotated)
        .unwrap()
        .contains("rotate"));
}

#[test]
fn odbcd_reload_says_when_no_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("server-config.ini");
    let run = || {
        Command::new(common::odbcd_bin())
            .args(["reload", "--config"])
            .arg(&cfg)
            .output()
            .unwrap()
    };
    // pid_file defaults to server.pid beside the configuration.
    std::fs::write(&cfg, "[Connection]\nport = 6632\n").unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("server.pid") && said.contains("is the server running"),
        "{said}"
    );
    std::fs::write(dir.path().join("server.pid"), "not a pid\n").unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a process id"));
}

/// A CA and a server certificate it signed (for 127.0.0.1), as PEM texts: (ca, cert, key).
fn server_pki(name: &str) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, name);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".into()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn a_reload_takes_new_tls_certificates_for_new_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, old_cert, old_key) = server_pki("old CA");
    let (new_ca, new_cert, new_key) = server_pki("new CA");
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let old_ca = file("old-ca.cert", &old_ca);
    let new_ca = file("new-ca.cert", &new_ca);
    let cert = file("server.cert", &old_cert);
    let key = file("server.pkey", &old_key);
    let server = TestServer::start_with(&format!(
        "[Connection]\ninterface = 127.0.0.1\nport = 0\nrequire_ssl = 1\nserver_private_key_file = {}\nserver_certificate_file = {}\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n\n[Unix]\npid_file = {}\n",
        key.display(),
        cert.display(),
        dir.path().join("odbcd.pid").display()
    ));
    let trusting = |ca: &std::path::Path| {
        let data = server.config_data().set("Connection", "using_ssl", 1).set(
            "Connection",
            "server_certificate_file",
            ca.display(),
        );
        let mut s = ServerSession::new(None, Some(&data)).unwrap();
        s.open("", "", None, None).map(|odbc| (s, odbc))
    };
    let (_before, before_odbc) = trusting(&old_ca).expect("the old certificate at first");
    assert!(trusting(&new_ca).is_err());
    // The operator installs the new certificate and reloads.
    std::fs::write(&cert, new_cert).unwrap();
    std::fs::write(&key, new_key).unwrap();
    reload(&server);
    TestServer::wait_until(10, "the reload", || {
        reloads_logged(&server, "configuration reloaded") == 1
    });
    let (_after, odbc) = trusting(&new_ca).expect("the new certificate after the reload");
    odbc.ping().unwrap();
    let err = trusting(&old_ca).map(|_| ()).unwrap_err();
    assert!(err.message.contains("certificate"), "{err}");
    // The session opened before goes on.
    before_odbc.ping().unwrap();
}

fn signal(server: &TestServer, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.pid() as i32), signal).unwrap();
}

/// Waits (up to `secs`) for the server to exit; its status.
fn exited(server: &mut TestServer, secs: u64) -> std::process::ExitStatus {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = server.exit_status() {
            return status;
        }
        assert!(
            std::time::Instant::now() < end,
            "the server did not exit within {secs} s:\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn drain_server(grace: u32) -> (TestServer, std::path::PathBuf) {
    let server = TestServer::start(&format!(
        "[Unix]\nshutdown_grace = {grace}\npid_file = odbcd.pid\n"
    ));
    let pid_file = server.path().join("odbcd.pid");
    (server, pid_file)
}

#[test]
fn sigterm_lets_transactions_finish_refuses_new_sessions_and_exits_cleanly() {
    let pg = common::pg::pg();
    let _db = pg.database("drain_finish");
    let (mut server, pid_file) = drain_server(30);
    let cs = pg.connstr("drain_finish");
    let (_s1, _o1, writer) = server.connect(&cs);
    writer
        .cursor()
        .execute("CREATE TABLE t (id int primary key)", &[])
        .unwrap();
    writer.set_autocommit(false).unwrap();
    writer
        .cursor()
        .execute("INSERT INTO t VALUES (1)", &[])
        .unwrap();
    let (_s2, idle, _c2) = server.connect(&cs);
    assert!(pid_file.exists());

    signal(&server, nix::sys::signal::Signal::SIGTERM);
    TestServer::wait_until(10, "the drain to start", || {
        server.log().contains("draining")
    });
    // The idle session is closed between requests: its next request did not run, it says.
    let e = idle.ping().unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::ConnectionFailureError, "08S02"),
        "{e}"
    );
    // A new session is refused (the listening socket is closed): its client tries the next
    // server.
    let e = open(&server).map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::OperationalError, "{e}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err());
    // The open transaction goes on to its end.
    writer
        .cursor()
        .execute("INSERT INTO t VALUES (2)", &[])
        .unwrap();
    writer.commit().unwrap();
    let status = exited(&mut server, 20);
    assert!(status.success(), "{status:?}\n{}", server.log());
    assert!(!pid_file.exists(), "the PID file is removed");
    assert_eq!(
        pg.psql(
            "drain_finish",
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM t"
        ),
        "1,2"
    );
    assert!(server.log().contains("drained"));
}

#[test]
fn the_grace_period_ends_with_open_transactions_rolled_back() {
    let pg = common::pg::pg();
    let _db = pg.database("drain_grace");
    let (mut server, _) = drain_server(1);
    let (_s, _o, conn) = server.connect(&pg.connstr("drain_grace"));
    conn.cursor()
        .execute("CREATE TABLE t (id int)", &[])
        .unwrap();
    conn.set_autocommit(false).unwrap();
    conn.cursor()
        .execute("INSERT INTO t VALUES (1)", &[])
        .unwrap();
    let started = std::time::Instant::now();
    signal(&server, nix::sys::signal::Signal::SIGTERM);
    let status = exited(&mut server, 10);
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert!(
        server.log().contains("shutdown_grace is over"),
        "{}",
        server.log()
    );
    let e = conn.commit().unwrap_err();
    assert_eq!(e.class, ErrorClass::ConnectionFailureError, "{e}");
    TestServer::wait_until(10, "the backend to go", || pg.backends("drain_grace") == 0);
    assert_eq!(pg.psql("drain_grace", "SELECT count(*) FROM t"), "0");
}

/// During a drain, a second SIGTERM or a SIGINT stops the server at once.
#[test]
fn a_second_sigterm_or_a_sigint_stops_at_once() {
    for second in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let (mut server, _) = drain_server(60);
        let (_s, _o, conn) = server.connect(&server.sqlite("second"));
        conn.set_autocommit(false).unwrap();
        conn.cursor()
            .execute("CREATE TABLE t (id int)", &[])
            .unwrap();
        signal(&server, nix::sys::signal::Signal::SIGTERM);
        TestServer::wait_until(10, "the drain to start", || {
            server.log().contains("draining")
        });
        signal(&server, second);
        let status = exited(&mut server, 5);
        assert!(status.success(), "{second}: {status:?}");
        assert!(server.log().contains("second signal"), "{second}");
    }
}

/// A drain closes the pool's idle connections at once (their database sessions end while a
/// transaction elsewhere still holds the drain), and the rest when it is over.
#[test]
fn a_drain_closes_pooled_connections_at_once() {
    let pg = common::pg::pg();
    let _db = pg.database("drain_pool");
    let cs = pg.connstr("drain_pool");
    let mut server = TestServer::start(
        "[Unix]\nshutdown_grace = 60\npid_file = odbcd.pid\n\n[Pool]\nmax_idle_connections = 4\n",
    );
    let (_s2, _o2, busy) = server.connect(&cs);
    busy.set_autocommit(false).unwrap();
    busy.cursor()
        .execute("CREATE TABLE t (id int)", &[])
        .unwrap();
    let (_s1, _o1, parked) = server.connect(&cs);
    parked.close().unwrap();
    assert_eq!(
        pg.backends("drain_pool"),
        2,
        "one parked, one in a transaction"
    );
    signal(&server, nix::sys::signal::Signal::SIGTERM);
    TestServer::wait_until(10, "the parked connection's backend to end", || {
        pg.backends("drain_pool") == 1
    });
    busy.commit().unwrap();
    let status = exited(&mut server, 10);
    assert!(status.success(), "{status:?}");
    TestServer::wait_until(10, "every backend to end", || {
        pg.backends("drain_pool") == 0
    });
}

#[test]
fn writers_with_auto_reconnect_move_to_the_other_server_and_lose_nothing() {
    let pg = common::pg::pg();
    let _db = pg.database("drain_move");
    let (mut first, _) = drain_server(30);
    let second = TestServer::start("");
    let cs = pg.connstr("drain_move");
    pg.psql(
        "drain_move",
        "CREATE TABLE t (writer int, n int, PRIMARY KEY (writer, n))",
    );
    let data = odbcd::client::ConfigData::new()
        .set("First_Connection", "host", "127.0.0.1")
        .set("First_Connection", "port", first.port)
        .set("Second_Connection", "host", "127.0.0.1")
        .set("Second_Connection", "port", second.port)
        .set(
            "Communication",
            "server_connections",
            "First_Connection, Second_Connection",
        )
        .set("Communication", "auto_reconnect", "1")
        .set("Communication", "reconnect_delay", "0.1");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let data = data.clone();
            let cs = cs.clone();
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut session = ServerSession::new(None, Some(&data)).unwrap();
                let odbc = session.open("", "", None, None).unwrap();
                let conn = odbc.driver_connect(&cs).unwrap();
                // Writers 0 and 1 in autocommit, 2 and 3 two rows per transaction.
                let transactional = w >= 2;
                if transactional {
                    conn.set_autocommit(false).unwrap();
                }
                let mut acknowledged = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut c = conn.cursor();
                    let params = [
                        odbcd::client::Value::Int(w),
                        odbcd::client::Value::Int(acknowledged + 1),
                    ];
                    c.execute("INSERT INTO t VALUES (?, ?)", &params)
                        .unwrap_or_else(|e| panic!("writer {w}, row {}: {e}", acknowledged + 1));
                    if transactional {
                        let params = [
                            odbcd::client::Value::Int(w),
                            odbcd::client::Value::Int(acknowledged + 2),
                        ];
                        c.execute("INSERT INTO t VALUES (?, ?)", &params)
                            .unwrap_or_else(|e| {
                                panic!("writer {w}, row {}: {e}", acknowledged + 2)
                            });
                        conn.commit()
                            .unwrap_or_else(|e| panic!("writer {w}: commit: {e}"));
                        acknowledged += 2;
                    } else {
                        acknowledged += 1;
                    }
                }
                (w, acknowledged, session.server_name())
            })
        })
        .collect();
    TestServer::wait_until(20, "rows from every writer", || {
        pg.psql("drain_move", "SELECT count(DISTINCT writer) FROM t") == "4"
    });
    signal(&first, nix::sys::signal::Signal::SIGTERM);
    let status = exited(&mut first, 30);
    assert!(status.success(), "{status:?}");
    // The writers go on on the second server for a while.
    let before = pg.psql("drain_move", "SELECT count(*) FROM t");
    TestServer::wait_until(20, "writes on the second server", || {
        pg.psql("drain_move", "SELECT count(*) FROM t") != before
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in writers {
        let (w, acknowledged, server_name) = h.join().expect("a writer failed");
        assert_eq!(server_name.as_deref(), Some("Second_Connection"));
        // Every acknowledged row exactly once, and nothing else.
        let rows = pg.psql(
            "drain_move",
            &format!("SELECT count(*), coalesce(max(n), 0) FROM t WHERE writer = {w}"),
        );
        assert_eq!(rows, format!("{acknowledged}|{acknowledged}"), "writer {w}");
    }
}

#[test]
fn a_transaction_begun_in_sql_and_a_result_being_read_hold_the_drain() {
    let pg = common::pg::pg();
    let _db = pg.database("drain_begin");
    let (mut server, _) = drain_server(30);
    let cs = pg.connstr("drain_begin");
    pg.psql("drain_begin", "CREATE TABLE t (id int)");
    let (_s1, _o1, tx) = server.connect(&cs);
    // Autocommit on, and a transaction opened in SQL.
    tx.cursor().execute("BEGIN", &[]).unwrap();
    tx.cursor()
        .execute("INSERT INTO t VALUES (1)", &[])
        .unwrap();
    // A large result half read.
    let (_s2, _o2, reader) = server.connect(&cs);
    let mut big = reader.cursor();
    big.execute("SELECT g FROM generate_series(1, 40000) g", &[])
        .unwrap();
    assert_eq!(big.fetchmany(Some(100)).unwrap().len(), 100);
    // Manual commit, committed, then a cursor closed: at a boundary.
    let (_s3, _o3, manual) = server.connect(&cs);
    manual.set_autocommit(false).unwrap();
    let mut c = manual.cursor();
    c.execute("INSERT INTO t VALUES (10)", &[]).unwrap();
    manual.commit().unwrap();
    c.close();

    signal(&server, nix::sys::signal::Signal::SIGTERM);
    TestServer::wait_until(10, "the drain to start", || {
        server.log().contains("draining")
    });
    // The manual-commit session was at a boundary: closed.
    TestServer::wait_until(10, "the idle session to close", || {
        server
            .log()
            .matches("closed for the shutdown, between requests")
            .count()
            >= 1
    });
    // The result is read to its end, the transaction goes on and commits.
    assert_eq!(big.fetchall().unwrap().len(), 39_900);
    tx.cursor()
        .execute("INSERT INTO t VALUES (2)", &[])
        .unwrap();
    tx.cursor().execute("COMMIT", &[]).unwrap();
    let started = std::time::Instant::now();
    let status = exited(&mut server, 20);
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "no wait for the grace period"
    );
    assert_eq!(
        pg.psql(
            "drain_begin",
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM t"
        ),
        "1,2,10"
    );
    assert!(
        !server.log().contains("shutdown_grace is over"),
        "{}",
        server.log()
    );
}

#[test]
fn a_detached_session_does_not_hold_the_drain() {
    let (mut server, _) = drain_server(30);
    let proxy = common::proxy::Proxy::start(server.port);
    let data = odbcd::client::ConfigData::new()
        .set("Connection", "host", "127.0.0.1")
        .set("Connection", "port", proxy.port);
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    let odbc = s.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(&server.sqlite("detached")).unwrap();
    conn.set_autocommit(false).unwrap();
    conn.cursor()
        .execute("CREATE TABLE t (id int)", &[])
        .unwrap();
    proxy.cut();
    TestServer::wait_until(10, "the session to detach", || {
        server.log().contains("link lost")
    });
    let started = std::time::Instant::now();
    signal(&server, nix::sys::signal::Signal::SIGTERM);
    let status = exited(&mut server, 20);
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    std::mem::forget(s);
}

#[test]
fn a_database_error_with_the_drain_state_is_not_sent_again() {
    let pg = common::pg::pg();
    let _db = pg.database("drain_state");
    let server = TestServer::start("");
    let data = server
        .config_data()
        .set("Communication", "auto_reconnect", "1");
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    let odbc = s.open("", "", None, None).unwrap();
    let id = s.session_id();
    let conn = odbc.driver_connect(&pg.connstr("drain_state")).unwrap();
    conn.cursor()
        .execute("CREATE TABLE calls (n int)", &[])
        .unwrap();
    conn.cursor()
        .execute(
            "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO calls VALUES (1); COMMIT; RAISE EXCEPTION 'from the database' USING ERRCODE = '08S02'; END $$",
            &[],
        )
        .unwrap();
    let e = conn
        .cursor()
        .execute("CALL p()", &[])
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.sqlstate, "08S02", "{e}");
    assert_ne!(e.class, ErrorClass::ConnectionFailureError, "{e}");
    assert_eq!(
        s.session_id(),
        id,
        "the same session: nothing was re-opened"
    );
    assert_eq!(
        pg.psql("drain_state", "SELECT count(*) FROM calls"),
        "1",
        "run once"
    );
}

#[test]
fn a_second_instance_leaves_the_running_ones_pid_file_and_reload_signals_only_odbcd() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let pid_file = dir.path().join("odbcd.pid");
    let cfg_text = format!(
        "[Connection]\ninterface = 127.0.0.1\nport = {port}\n\n[Unix]\npid_file = {}\n",
        pid_file.display()
    );
    let first = TestServer::start_with(&cfg_text);
    let running_pid = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(running_pid.trim(), first.pid().to_string());
    // A second `odbcd run` on the same configuration cannot bind: it says so, quietly.
    let cfg = dir.path().join("server-config.ini");
    std::fs::write(&cfg, &cfg_text).unwrap();
    let out = Command::new(common::odbcd_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), running_pid);
    // A stale PID file naming another program: not signalled.
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(&pid_file, format!("{}\n", other.id())).unwrap();
    let out = Command::new(common::odbcd_bin())
        .args(["reload", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not odbcd"));
    assert!(other.try_wait().unwrap().is_none(), "sleep still runs");
    let _ = other.kill();
    let _ = other.wait();
}

/// Reads the service manager's messages from `socket` until one contains `what`.
fn expect_notice(socket: &std::os::unix::net::UnixDatagram, what: &str) -> String {
    let mut buf = [0u8; 4096];
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        assert!(std::time::Instant::now() < end, "no {what} notification");
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.contains(what) {
                return text;
            }
        }
    }
}

#[test]
fn systemd_hears_ready_reloading_stopping_and_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let mut server = TestServer::start_with_env(
        &format!(
            "[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n\n{}",
            common::ACCESS
        ),
        "",
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    assert!(expect_notice(&socket, "READY=1").contains("STATUS="));
    // Every 100 ms from the reactor.
    expect_notice(&socket, "WATCHDOG=1");
    expect_notice(&socket, "WATCHDOG=1");
    signal(&server, nix::sys::signal::Signal::SIGHUP);
    assert!(expect_notice(&socket, "RELOADING=1").contains("MONOTONIC_USEC="));
    expect_notice(&socket, "READY=1");
    signal(&server, nix::sys::signal::Signal::SIGTERM);
    expect_notice(&socket, "STOPPING=1");
    assert!(exited(&mut server, 10).success());
}

#[test]
fn socket_activation_serves_the_socket_systemd_passes() {
    let dir = tempfile::tempdir().unwrap();
    let env = common::write_odbc_ini(dir.path());
    let port = common::free_port();
    let cfg = dir.path().join("server-config.ini");
    std::fs::write(
        &cfg,
        format!(
            "[Connection]\ninterface = 127.0.0.1\nport = {port}\n\n{}",
            common::ACCESS
        ),
    )
    .unwrap();
    let mut activate = Command::new("systemd-socket-activate");
    activate.arg("-l").arg(format!("127.0.0.1:{port}"));
    for (k, v) in &env {
        activate.arg(format!("--setenv={k}={v}"));
    }
    let child = activate
        .arg(common::odbcd_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("systemd-socket-activate (apt install systemd)");
    TestServer::wait_until(10, "the activator to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    // The first connection starts odbcd, which serves it on the socket it was handed.
    let data = odbcd::client::ConfigData::new()
        .set("Connection", "host", "127.0.0.1")
        .set("Connection", "port", port);
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    let odbc = s.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect("DSN=demo").unwrap();
    let mut c = conn.cursor();
    c.execute("SELECT 6 * 7", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![odbcd::client::Value::Int(42)])
    );
    s.close().unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("listening on a socket systemd passed"),
        "{log}"
    );
}

#[test]
fn the_unit_file_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string("config/odbcd.service")
        .unwrap()
        .replace(
            "ExecStart=/usr/bin/odbcd",
            &format!("ExecStart={}", common::odbcd_bin().display()),
        );
    let path = dir.path().join("odbcd.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze (apt install systemd)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let complaints: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("odbcd.service"))
        .collect();
    assert!(out.status.success() && complaints.is_empty(), "{said}");
}

#[test]
fn a_transaction_begun_behind_a_comment_or_with_a_trigger_body_is_not_cut() {
    let (mut server, _) = drain_server(30);
    let db = server.sqlite("comment_begin");
    let (_s, _o, conn) = server.connect(&db);
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (id int)", &[]).unwrap();
    c.execute("CREATE TABLE u (id int)", &[]).unwrap();
    c.execute("/* app */ BEGIN", &[]).unwrap();
    c.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    c.execute(
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (new.id); END",
        &[],
    )
    .unwrap();
    signal(&server, nix::sys::signal::Signal::SIGTERM);
    TestServer::wait_until(10, "the drain to start", || {
        server.log().contains("draining")
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    c.execute("INSERT INTO t VALUES (2)", &[])
        .expect("the transaction goes on during the drain");
    c.execute("COMMIT", &[]).unwrap();
    let status = exited(&mut server, 10);
    assert!(status.success());
    let path = db
        .split(';')
        .find_map(|kv| kv.strip_prefix("Database="))
        .unwrap()
        .to_owned();
    let out = Command::new("sqlite3")
        .arg(&path)
        .arg("SELECT group_concat(id) FROM t; SELECT group_concat(id) FROM u;")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1,2\n2\n");
}
