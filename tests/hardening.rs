//! Issue 10's attacks, each run as a hostile client would against a real server with real
//! unixODBC and real drivers, and each shown to fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestServer;
use odbcd::client::Odbc;
use odbcd::error::ErrorClass;

/// A shared library whose constructor creates `marker`: if anything loads it, the file exists.
fn payload_library(dir: &Path, marker: &Path) -> PathBuf {
    let src = dir.join("payload.c");
    let lib = dir.join("payload.so");
    std::fs::write(
        &src,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void owned(void) {{\n  FILE *f = fopen(\"{}\", \"w\");\n  if (f) {{ fputs(\"loaded\", f); fclose(f); }}\n}}\nint sqlite3_extension_init(void *db, char **err, const void *api) {{ return 0; }}\n",
            marker.display()
        ),
    )
    .expect("write payload.c");
    let status = Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed");
    lib
}

/// Connects with `cs`: refused by the access rules (true), or connected to the demo DSN's
/// SQLite database and nowhere else (false). Anything else fails the test.
fn refused_or_demo(odbc: &Odbc, cs: &str) -> bool {
    match odbc.driver_connect(cs) {
        Err(e) => {
            assert!(
                matches!(
                    e.class,
                    ErrorClass::PolicyViolationError | ErrorClass::ProgrammingError
                ),
                "{cs:?}: {e}"
            );
            assert_eq!(e.sqlstate, "42000", "{cs:?}: {e}");
            true
        }
        Ok(conn) => {
            let mut cur = conn.cursor();
            let rows = cur
                .execute("SELECT marker FROM demo_only", &[])
                .and_then(|c| c.fetchall())
                .unwrap_or_else(|e| panic!("{cs:?} connected somewhere else: {e}"));
            assert_eq!(rows.len(), 1, "{cs:?}");
            false
        }
    }
}

#[test]
fn no_connection_string_loads_a_library_or_touches_a_file() {
    let server = TestServer::start_with(
        "[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Access]\nallowed_drivers = SQLite3\n",
    );
    let dir = server.dir.path().to_owned();
    let marker = dir.join("LOADED");
    let lib = payload_library(&dir, &marker);
    let lib = lib.display().to_string();
    let victim = dir.join("victim.txt");
    let created = dir.join("created.db");
    let (_s, odbc) = server.open();
    {
        // The demo database gets a table only it has, so a connection elsewhere shows.
        let conn = odbc.driver_connect("DSN=demo").expect("demo");
        let mut cur = conn.cursor();
        cur.execute("CREATE TABLE demo_only (marker INTEGER)", &[])
            .unwrap();
        cur.execute("INSERT INTO demo_only VALUES (1)", &[])
            .unwrap();
    }
    let v = victim.display();
    let c = created.display();
    let mut corpus: Vec<String> = vec![
        // The parser mismatch, and its relatives.
        format!("X= {{;Driver={lib};}};DSN=demo"),
        format!("X={{;Driver={lib};}};DSN=demo"),
        format!("X= {{;SAVEFILE={v};}};DSN=demo"),
        format!("X= {{;FILEDSN={v};}};DSN=demo"),
        format!("X= {{;Driver=PostgreSQL Unicode;}};DSN=demo"),
        format!("DSN=demo;PWD={{x;Driver={lib}}}"),
        format!("DSN=demo;PWD={{x}}}};Driver={lib}}}"),
        format!("DSN=demo;PWD={{{{x;LoadExt={lib}}}"),
        format!("DSN=demo;Driver={lib}"),
        format!("Driver={lib};DSN=demo"),
        format!("DSN=demo;driver = {lib}"),
        format!("DSN=demo; DRIVER={lib}"),
        format!("DSN=demo;DRIVER ={lib}"),
        format!("DSN=demo;UID=a\nDRIVER={lib}"),
        format!("DSN=demo;UID=a\rDRIVER={lib}"),
        format!("DSN=demo;UID=a\tDRIVER={lib}"),
        format!("DSN=demo\0;DRIVER={lib}"),
        format!("DSN=demo;UID;DRIVER={lib}"),
        format!("DSN=demo;={lib}"),
        format!("DSN=demo;FileDSN={v}"),
        format!("DSN=demo;SaveFile={v}"),
        format!("DSN=demo;savefile={v}"),
        format!("DSN=demo;DMConnAttr=[105]={v}"),
        // Driver keys that load code or name files, in any spelling.
        format!("DSN=demo;LoadExt={lib}"),
        format!("DSN=demo;loadext={lib}"),
        format!("DSN=demo;LOADEXT={lib};LoadExt=none"),
        format!("DSN=demo;Tracefile={v}"),
        format!("DSN=demo;Database={c}"),
        format!("DSN=demo;database={c};Database={c}"),
        format!("Driver=SQLite3;Database={c}"),
        format!("Driver=SQLite3;Database={c};LoadExt={lib}"),
        "Driver=SQLite3;Timeout=100".to_string(),
        "Driver=SQLite3".to_string(),
        format!("Driver={{SQLite3}};Tracefile={v}"),
        // Duplicates in any case, empty keys, spaces around '=' and braces.
        "DSN=demo;dsn=other".to_string(),
        "dsn=demo;DSN=demo".to_string(),
        "DSN= demo".to_string(),
        "DSN ={demo}".to_string(),
        "DSN={demo}}}".to_string(),
        "DSN={de;mo}".to_string(),
        "DSN=demo;UID=a;uid=b".to_string(),
        "DSN=demo;PWD={unterminated".to_string(),
        "DSN=demo;PWD={a}b".to_string(),
        "DSN=demo;;;=x".to_string(),
        // A password cut by a stray ';': its tail must not reach the log either.
        "DSN=demo;PWD=abc;hunter2tail".to_string(),
        "DSN=demo;PWD={abc}hunter2tail".to_string(),
        // Very long values and many pairs.
        format!("DSN=demo;PWD={}", "p".repeat(100_000)),
        format!("DSN={}", "d".repeat(5_000)),
        (0..10_000).map(|i| format!("k{i}=v;")).collect(),
    ];
    // What must connect to the demo database (and only there).
    let fine = [
        "DSN=demo",
        "dsn=demo;UID=someone;PWD=p=w:d",
        "DSN={demo};PWD={x=y}",
        ";;DSN=demo;;",
        "DSN={demo} ;UID=x",
    ];
    corpus.extend(fine.iter().map(|s| (*s).to_string()));
    for cs in &corpus {
        let was_refused = refused_or_demo(&odbc, cs);
        assert_eq!(
            was_refused,
            !fine.contains(&cs.as_str()),
            "{:?}",
            &cs[..cs.len().min(80)]
        );
    }
    assert!(!marker.exists(), "the payload library was loaded");
    assert!(!victim.exists(), "a file was written");
    assert!(!created.exists(), "a database file was created");
    // sqliteodbc without Database opens a file named after the whole connection string.
    let strays: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains('='))
        .collect();
    assert!(strays.is_empty(), "files named after strings: {strays:?}");
    server.expect_log("connect refused");
    assert!(
        !server.log().contains("hunter2"),
        "a password tail was logged"
    );

    // The same payload does load when the operator opts in: the test has teeth.
    let trusting = TestServer::start_with("[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Access]\nclient_attributes = UID, PWD, LoadExt\nallowed_unsafe_keys = LoadExt\n");
    let (_s2, odbc2) = trusting.open();
    let _ = odbc2.driver_connect(&format!("DSN=demo;LoadExt={lib}"));
    assert!(
        marker.exists(),
        "the opted-in LoadExt did not load the payload"
    );
}

#[test]
fn dsn_less_connections_take_only_the_drivers_safe_keys() {
    let server = TestServer::start_with("[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Access]\nallowed_drivers = SQLite3, PostgreSQL Unicode\nallowed_unsafe_keys = Database\n");
    let (_s, odbc) = server.open();
    let db = server.dir.path().join("ok.db");
    let conn = odbc
        .driver_connect(&format!(
            "Driver={{SQLite3}};Database={};StepAPI=1;Timeout=2000",
            db.display()
        ))
        .expect("an opted-in Database with the driver's settings");
    assert_eq!(conn.dbms_name(), "SQLite");
    for (cs, needle) in [
        (
            format!("Driver=SQLite3;Database={};LoadExt=/x.so", db.display()),
            "LoadExt",
        ),
        (
            format!("Driver=SQLite3;Database={};Bogus=1", db.display()),
            "Bogus",
        ),
        (
            "Driver={PostgreSQL Unicode};Servername=/tmp;Database=x".to_string(),
            "Unix socket",
        ),
        (
            "Driver={PostgreSQL Unicode};Servername=h;pqopt={sslkey=/etc/ssl/private/x}"
                .to_string(),
            "pqopt",
        ),
        (
            "Driver={PostgreSQL Unicode};Servername=h;CommLog=1".to_string(),
            "CommLog",
        ),
        ("Driver={PostgreSQL Unicode};B3=1".to_string(), "B3"),
        (
            "Driver={PostgreSQL Unicode};Servername=nohost.invalid,/tmp;Database=x".to_string(),
            "Unix socket",
        ),
        (
            "Driver={PostgreSQL Unicode};Database=x;UID=postgres".to_string(),
            "Servername",
        ),
        (
            "Driver={PostgreSQL Unicode};Servername=;Port=5433".to_string(),
            "Unix socket",
        ),
    ] {
        let e = odbc.driver_connect(&cs).unwrap_err();
        assert_eq!(e.class, ErrorClass::PolicyViolationError, "{cs}: {e}");
        assert!(e.message.contains(needle), "{cs}: {e}");
    }
}

#[test]
fn config_names_unknown_unsafe_keys_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("server-config.ini");
    std::fs::write(
        &cfg,
        "[Connection]\nport = 0\n\n[Access]\nallowed_unsafe_keys = Database, StepAPI\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server-config.ini:5"), "{err}");
    assert!(err.contains("StepAPI"), "{err}");
}

#[test]
fn sql_through_sqlite_cannot_load_a_library_or_read_and_write_files() {
    let server = TestServer::start_with("[Connection]\ninterface = 127.0.0.1\nport = 0\n");
    let dir = server.dir.path().to_owned();
    let marker = dir.join("LOADED");
    let lib = payload_library(&dir, &marker);
    let victim = dir.join("victim.bin");
    let (_s, odbc) = server.open();
    let conn = odbc.driver_connect("DSN=demo").expect("demo");
    let mut cur = conn.cursor();
    for sql in [
        format!("SELECT load_extension('{}')", lib.display()),
        format!(
            "SELECT LOAD_EXTENSION('{}', 'sqlite3_extension_init')",
            lib.display()
        ),
        format!("SELECT blob_export(x'7f454c46', '{}')", victim.display()),
        "SELECT blob_import('/etc/hostname')".to_string(),
        // Debian's libsqlite3 takes a raw function-table pointer here (a crash, or worse).
        "SELECT fts3_tokenizer('simple')".to_string(),
        "SELECT fts3_tokenizer('evil', x'4141414141414141')".to_string(),
        format!("ATTACH DATABASE '{}' AS x", victim.display()),
        format!("VACUUM INTO '{}'", victim.display()),
        "PRAGMA temp_store_directory = '/tmp'".to_string(),
    ] {
        let r = cur.execute(&sql, &[]).and_then(|c| c.fetchall());
        assert!(r.is_err(), "{sql} ran: {r:?}");
    }
    // A pointer as a bound parameter too.
    let r = cur
        .execute(
            "SELECT fts3_tokenizer('evil', ?)",
            &[odbcd::client::Value::Bytes(vec![0x41; 8])],
        )
        .and_then(|c| c.fetchall());
    assert!(r.is_err(), "fts3_tokenizer with a bound pointer ran: {r:?}");
    assert!(!marker.exists(), "SQL loaded a library into the server");
    assert!(!victim.exists(), "SQL wrote a file on the server");
    // What stays in memory still works.
    cur.execute("ATTACH DATABASE ':memory:' AS scratch", &[])
        .unwrap();
    cur.execute("CREATE TABLE scratch.t (x)", &[]).unwrap();
    // The connection still works.
    let rows = cur.execute("SELECT 1", &[]).unwrap().fetchall().unwrap();
    assert_eq!(rows.len(), 1);
}

/// A TCP connection to `port` from `source` (a loopback address other than the real client's).
fn connect_from(source: std::net::Ipv4Addr, port: u16) -> Option<std::net::TcpStream> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    s.bind(&std::net::SocketAddr::from((source, 0)).into())
        .ok()?;
    s.connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())
        .ok()?;
    Some(s.into())
}

#[test]
fn a_thousand_dribbling_connections_do_not_keep_a_real_client_out() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let server = TestServer::start("");
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let reconnects = Arc::new(AtomicUsize::new(0));
    // 8 addresses x 125 connections, each sending one byte a second and reconnecting when
    // the server closes it.
    let attackers: Vec<_> = (2..=9u8)
        .map(|last| {
            let (stop, reconnects) = (stop.clone(), reconnects.clone());
            std::thread::spawn(move || {
                let source = std::net::Ipv4Addr::new(127, 0, 0, last);
                let mut conns: Vec<Option<std::net::TcpStream>> =
                    (0..125).map(|_| connect_from(source, port)).collect();
                while !stop.load(Ordering::Relaxed) {
                    for c in conns.iter_mut() {
                        let alive = c.as_mut().is_some_and(|s| s.write_all(b"\x00").is_ok());
                        if !alive {
                            *c = connect_from(source, port);
                            reconnects.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let (mut session, odbc) = server.open();
        let conn = odbc
            .driver_connect("DSN=demo")
            .expect("a real client gets in");
        drop(conn);
        session.close().unwrap();
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert!(
            took < Duration::from_secs(2),
            "a real client waited {took:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The attack goes on until the server has closed enough of it (handshake deadlines are
    // seconds long: on a fast machine the 20 clients above are done before many expire).
    TestServer::wait_until(30, "the server closing attacker connections", || {
        reconnects.load(Ordering::Relaxed) > 100
    });
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.join().unwrap();
    }
    let reconnects = reconnects.load(Ordering::Relaxed);
    // Beyond its share an address waits in line and is closed at the handshake deadline.
    assert!(
        reconnects > 100,
        "only {reconnects} attacker connections were closed: the test would prove nothing"
    );
    server.expect_log("max_handshakes_per_address");
    eprintln!("slowest real client: {slowest:?}");
}

#[test]
fn resumes_have_a_reserve_when_strangers_hold_every_handshake_slot() {
    use std::io::Write;
    use std::time::Duration;
    let server = TestServer::start(
        "[Session]\nmax_handshakes = 16\nmax_handshakes_per_address = 2\nhandshake_timeout = 30\nreceive_timeout = 30\n",
    );
    let mut before = odbcd::client::ServerSession::new(None, Some(&server.config_data())).unwrap();
    before.open("", "", None, None).unwrap();
    let id = before.session_id().unwrap();
    // Eight strangers take their two slots each: every main slot.
    let mut strangers: Vec<std::net::TcpStream> = (2..=9u8)
        .flat_map(|last| (0..2).map(move |_| last))
        .filter_map(|last| connect_from(std::net::Ipv4Addr::new(127, 0, 0, last), server.port))
        .collect();
    for s in &mut strangers {
        s.write_all(b"\x00").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    // A new session gets a reserve slot and is told the server is busy...
    let mut fresh = odbcd::client::ServerSession::new(None, Some(&server.config_data())).unwrap();
    let e = fresh.open("", "", None, None).map(|_| ()).unwrap_err();
    assert!(e.message.contains("busy"), "{e}");
    // ...while the client that had a session gets back to it.
    let mut again = odbcd::client::ServerSession::new(None, Some(&server.config_data())).unwrap();
    let odbc = again.open("", "", None, Some(id.as_str())).unwrap();
    odbc.driver_connect("DSN=demo").unwrap();
    drop(strangers);
}

#[test]
fn a_request_of_four_million_nulls_is_refused_within_the_memory_budget() {
    use odbcd::client::Value;
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect("DSN=demo");
    let mut cur = conn.cursor();
    cur.execute("SELECT 1", &[]).unwrap().fetchall().unwrap();
    let (_other_session, other) = server.open();
    let other = other.driver_connect("DSN=demo").unwrap();
    let before = server.peak_rss_mb();
    let e = cur
        .execute("SELECT ?", &vec![Value::Null; 4_000_000])
        .map(|_| ())
        .unwrap_err();
    assert!(e.message.contains("max_request_size"), "{e}");
    let grown = server.peak_rss_mb() - before;
    assert!(grown < 100, "peak RSS grew by {grown} MB");
    // The session goes on, and so does everyone else.
    assert_eq!(
        cur.execute("SELECT 2", &[])
            .unwrap()
            .fetchall()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        other
            .cursor()
            .execute("SELECT 3", &[])
            .unwrap()
            .fetchall()
            .unwrap()
            .len(),
        1
    );
    // Within the budget but over ODBC's 65,535 parameters: refused before binding.
    let e = cur
        .execute("SELECT ?", &vec![Value::Int(1); 70_000])
        .map(|_| ())
        .unwrap_err();
    assert!(e.message.contains("65535"), "{e}");
    eprintln!("peak RSS growth: {grown} MB");
}

#[test]
fn a_session_holds_a_bounded_number_of_connections_cursors_and_value_bytes() {
    let server = TestServer::start("[Session]\nmax_connections_per_session = 3\n");
    let (_s, odbc) = server.open();
    let conns: Vec<_> = (0..3)
        .map(|_| odbc.driver_connect("DSN=demo").unwrap())
        .collect();
    let e = odbc.driver_connect("DSN=demo").map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::InterfaceError, "{e}");
    assert!(e.message.contains("max_connections_per_session"), "{e}");
    drop(conns.into_iter().next_back());
    let conn = odbc
        .driver_connect("DSN=demo")
        .expect("room again after a close");

    // Cursors with open results, on one connection: about 1 MB each, more than the server
    // reads ahead (two answers and a batch), so none of them ends while the client looks
    // away.
    let many = "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 20000) SELECT x, printf('%.50c', 'v') FROM g";
    let mut open = Vec::new();
    let refused = loop {
        let mut c = conn.cursor();
        match c.execute(many, &[]) {
            Ok(_) => open.push(c),
            Err(e) => break e,
        }
        assert!(open.len() <= 256, "more than 256 open cursors");
    };
    assert_eq!(open.len(), 256);
    assert_eq!(refused.class, ErrorClass::InterfaceError, "{refused}");
    open.truncate(10);
    let mut c = conn.cursor();
    c.execute("SELECT 1", &[]).expect("room again");

    // One value larger than an answer can carry: an error, not an allocation without end.
    let before = server.peak_rss_mb();
    let e = c
        .execute("SELECT randomblob(100000000)", &[])
        .and_then(|c| c.fetchall())
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::DataError, "22001"),
        "{e}"
    );
    eprintln!(
        "peak RSS growth with a 100 MB value: {} MB",
        server.peak_rss_mb() - before
    );
}

/// The connection strings unixODBC's own trace shows it received (`Str In = [...]`).
fn traced_connection_strings(trace: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(trace).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Str In = ["))
        .map(|l| l.split("][length = ").next().unwrap_or(l).to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_driver_manager_receives_exactly_the_rebuilt_string() {
    let traces = tempfile::tempdir().unwrap();
    let trace = traces.path().join("dm-trace.log");
    let server = TestServer::start_with_odbcinst(
        "[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Access]\nallowed_drivers = SQLite3\nallowed_unsafe_keys = Database\n",
        &format!("\n[ODBC]\nTrace=Yes\nTraceFile={}\n", trace.display()),
    );
    let (_s, odbc) = server.open();
    let db = server.dir.path().join("traced.db");
    let cases = [
        (
            "dsn=demo;uid=someone;pwd=p=w:d",
            "DSN=demo;UID=someone;PWD=*****".to_string(),
        ),
        (";;DSN={demo} ;UID=x", "DSN=demo;UID=x".to_string()),
        ("UID=x", "DSN=DEFAULT;UID=x".to_string()),
        (
            &*format!("driver={{SQLite3}};database={};StepAPI=1", db.display()),
            format!("DRIVER=SQLite3;database={};StepAPI=1", db.display()),
        ),
    ];
    for (sent, _) in &cases {
        // DSN=DEFAULT does not exist here: refused by the driver manager, but it got the string.
        let _ = odbc.driver_connect(sent);
    }
    let seen = traced_connection_strings(&trace);
    for (sent, expected) in &cases {
        assert!(
            seen.iter().any(|s| s == expected),
            "{sent:?}: expected the driver manager to get {expected:?}; it got {seen:#?}"
        );
    }
    assert!(
        !seen.iter().any(|s| s.contains("p=w")),
        "a password in the trace"
    );
}

#[test]
fn a_client_opening_many_sessions_at_once_from_one_address_gets_them_all() {
    // A connection pool starting up: 64 sessions at once, 8 times the per-address share.
    let server = TestServer::start("");
    let opened: Vec<_> = (0..64)
        .map(|_| {
            let data = server.config_data();
            std::thread::spawn(move || {
                let mut s = odbcd::client::ServerSession::new(None, Some(&data)).unwrap();
                s.open("", "", None, None).map(|_| s)
            })
        })
        .collect();
    let sessions: Vec<_> = opened
        .into_iter()
        .map(|h| h.join().unwrap().expect("every session of the burst opens"))
        .collect();
    assert_eq!(sessions.len(), 64);
}
