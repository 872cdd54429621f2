//! Session resume through a fault-injecting proxy: the link is cut, reset or stalled in the
//! middle of a fetch and of inserts; the client resumes by itself, every row arrives once, every
//! insert happens once, and the server's PostgreSQL backends go away afterwards.

mod common;

use std::time::Duration;

use common::proxy::{Dir, Proxy};
use common::{pg::pg, TestServer};
use odbcd::client::{ConfigData, ErrorClass, ServerSession, Value};

/// A server with a short watchdog tick and a generous reconnect window.
fn server() -> TestServer {
    TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_session_reconnect_time = 20\n")
}

/// A client that talks to `odbcd` through `proxy`, noticing a stalled link within 1 s.
fn session_via(proxy: &Proxy) -> ServerSession {
    let data = ConfigData::new()
        .set("Connection", "host", "127.0.0.1")
        .set("Connection", "port", proxy.port)
        .set("Connection", "socket_timeout", 1)
        .set("Session", "receive_timeout", 1);
    ServerSession::new(None, Some(&data)).unwrap()
}

const ROWS: i64 = 20_000;

fn fill(odbc: &odbcd::client::Odbc, connstr: &str) {
    let conn = odbc.driver_connect(connstr).unwrap();
    let mut c = conn.cursor();
    c.execute(
        "CREATE TABLE big (id INTEGER PRIMARY KEY, payload VARCHAR(100))",
        &[],
    )
    .unwrap();
    let sets: Vec<Vec<Value>> = (1..=ROWS)
        .map(|i| {
            vec![
                Value::Int(i),
                Value::Text(format!("row-{i:08}-{}", "x".repeat(40))),
            ]
        })
        .collect();
    for chunk in sets.chunks(2000) {
        c.executemany("INSERT INTO big VALUES (?, ?)", chunk)
            .unwrap();
    }
}

/// Streams the table while `fault` hits the link at several points; checks every row once.
fn fetch_through_faults(connstr: &str, fault: impl Fn(&Proxy, usize)) {
    let server = server();
    let (_s, odbc) = server.open();
    fill(&odbc, connstr);

    let proxy = Proxy::start(server.port);
    let mut session = session_via(&proxy);
    let odbc = session.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(connstr).unwrap();
    let mut c = conn.cursor();
    c.execute("SELECT id, payload FROM big ORDER BY id", &[])
        .unwrap();
    let mut expected = 1;
    let mut faults = 0;
    while let Some(row) = c.fetchone().unwrap() {
        assert_eq!(row[0], Value::Int(expected), "every row once, in order");
        if expected % 5_000 == 0 {
            fault(&proxy, faults);
            faults += 1;
        }
        expected += 1;
    }
    assert_eq!(expected - 1, ROWS);
    assert!(
        proxy.accepted() > 1,
        "the link was really broken and resumed"
    );
    // The connection and session go on working normally.
    c.execute("SELECT COUNT(*) FROM big", &[]).unwrap();
    assert!(c.fetchone().unwrap().is_some());
    session.close().unwrap();
}

#[test]
fn cut_mid_fetch_resumes_and_every_row_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let cs = format!(
        "Driver=SQLite3;Database={};StepAPI=1",
        dir.path().join("cut.db").display()
    );
    fetch_through_faults(&cs, |proxy, _| proxy.cut());
}

#[test]
fn reset_and_half_frames_mid_fetch_on_postgres() {
    let pg = pg();
    pg.create_db("resume_reset");
    fetch_through_faults(&pg.connstr("resume_reset"), |proxy, n| match n % 2 {
        // An RST, then a cut in the middle of the next answer's frame.
        0 => proxy.reset(),
        _ => proxy.cut_after(Dir::Down, 7_000),
    });
    TestServer::wait_until(10, "backends to close", || pg.backends("resume_reset") == 0);
}

#[test]
fn stall_mid_fetch_resumes_on_a_new_connection() {
    let pg = pg();
    pg.create_db("resume_stall");
    fetch_through_faults(&pg.connstr("resume_stall"), |proxy, _| proxy.stall());
    TestServer::wait_until(10, "backends to close", || pg.backends("resume_stall") == 0);
}

#[test]
fn inserts_through_cuts_happen_exactly_once() {
    let pg = pg();
    let server = server();
    let _db = pg.database("resume_insert");
    let proxy = Proxy::start(server.port);
    let mut session = session_via(&proxy);
    let odbc = session.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(&pg.connstr("resume_insert")).unwrap();
    let mut c = conn.cursor();
    // No primary key: a request that ran twice would show as a duplicate row.
    c.execute("CREATE TABLE t (id integer, note text)", &[])
        .unwrap();
    for i in 1..=300i64 {
        match i % 50 {
            // Cut while the request is on its way up (mid-frame)...
            10 => proxy.cut_after(Dir::Up, 20),
            // ...after it arrived, while the answer is on its way down...
            25 => proxy.cut_after(Dir::Down, 10),
            // ...and with an RST before anything moves.
            40 => proxy.reset(),
            _ => {}
        }
        c.execute(
            "INSERT INTO t VALUES (?, ?)",
            &[Value::Int(i), Value::Text(format!("n{i}"))],
        )
        .unwrap();
        assert_eq!(
            c.rowcount(),
            1,
            "insert {i} answered once, with its own result"
        );
    }
    assert!(
        proxy.accepted() > 5,
        "the link broke and resumed: {}",
        proxy.accepted()
    );
    let counts = pg.psql(
        "resume_insert",
        "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t",
    );
    assert_eq!(counts, "300|300|1|300", "every insert exactly once");
    session.close().unwrap();
    TestServer::wait_until(10, "backends to close", || {
        pg.backends("resume_insert") == 0
    });
}

#[test]
fn a_transaction_and_open_cursor_survive_a_resume() {
    let pg = pg();
    let server = server();
    let _db = pg.database("resume_tx");
    let proxy = Proxy::start(server.port);
    let mut session = session_via(&proxy);
    let odbc = session.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(&pg.connstr("resume_tx")).unwrap();
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (id integer)", &[]).unwrap();
    conn.set_autocommit(false).unwrap();
    c.execute("INSERT INTO t SELECT generate_series(1, 5)", &[])
        .unwrap();
    proxy.cut();
    // The uncommitted rows are still there after the resume, in the same transaction.
    c.execute("SELECT count(*) FROM t", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(5)])
    );
    assert_eq!(
        pg.psql("resume_tx", "SELECT count(*) FROM t"),
        "0",
        "not committed yet"
    );
    conn.commit().unwrap();
    assert_eq!(pg.psql("resume_tx", "SELECT count(*) FROM t"), "5");
    session.close().unwrap();
    TestServer::wait_until(10, "backends to close", || pg.backends("resume_tx") == 0);
}

#[test]
fn a_client_taking_over_a_session_passes_over_the_answers_to_the_previous_owner() {
    let pg = pg();
    let server = server();
    let _db = pg.database("resume_takeover");
    let (a, odbc) = server.open();
    let id = a.session_id().unwrap().to_owned();
    let conn = odbc.driver_connect(&pg.connstr("resume_takeover")).unwrap();
    // The first owner's request is still running when another client takes the session over.
    let first = std::thread::spawn(move || {
        let mut c = conn.cursor();
        let ok = c.execute("SELECT pg_sleep(2)", &[]).is_ok();
        drop(c);
        drop(conn);
        ok
    });
    TestServer::wait_until(10, "the sleep to run", || {
        pg.psql(
            "resume_takeover",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid()",
        ) == "1"
    });
    let mut other = ServerSession::new(None, Some(&server.config_data())).unwrap();
    other.open("", "", None, Some(&id)).unwrap();
    // Closing waits for the sleep; its answer reaches this link first, and is not this
    // client's: the close still succeeds.
    other.close().unwrap();
    assert!(
        !first.join().unwrap(),
        "the first owner's link was taken over"
    );
    drop(a);
    TestServer::wait_until(10, "backends to close", || {
        pg.backends("resume_takeover") == 0
    });
}

#[test]
fn explicit_resume_with_open_session_id() {
    let pg = pg();
    let server = server();
    let _db = pg.database("resume_explicit");
    let (mut a, odbc) = server.open();
    let id = a.session_id().unwrap().to_owned();
    let conn = odbc.driver_connect(&pg.connstr("resume_explicit")).unwrap();
    let mut c = conn.cursor();
    c.execute("SELECT generate_series(1, 50000)", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(1)])
    );

    // The same session object: a new link, the same session; the open cursor goes on.
    a.open("", "", None, Some(&id)).unwrap();
    assert_eq!(a.session_id().as_deref(), Some(id.as_str()));
    let mut n = 1;
    while let Some(row) = c.fetchone().unwrap() {
        n += 1;
        assert_eq!(row[0], Value::Int(n));
    }
    assert_eq!(n, 50000);

    // Another client with the id takes it over, and closes it. (Without authentication the
    // id is the only secret: a user name proves nothing, and is not compared. With
    // authentication a resume must log in as the session's user: tests/security.rs.)
    let mut other = ServerSession::new(None, Some(&server.config_data())).unwrap();
    other.open("mallory", "", None, Some(&id)).unwrap();
    assert_eq!(other.session_id().as_deref(), Some(id.as_str()));
    other.close().unwrap();
    TestServer::wait_until(10, "backends to close", || {
        pg.backends("resume_explicit") == 0
    });
    drop(c);
    drop(conn);
    drop(a);
    let (_s, observer) = server.open();
    assert_eq!(observer.status().unwrap().sessions, 1);
}

#[test]
fn after_the_window_the_session_is_closed_and_rolled_back() {
    let pg = pg();
    pg.create_db("resume_window");
    let server =
        TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_session_reconnect_time = 1\n");
    let proxy = Proxy::start(server.port);
    let mut session = session_via(&proxy);
    let odbc = session.open("", "", None, None).unwrap();
    let id = session.session_id().unwrap().to_owned();
    let conn = odbc.driver_connect(&pg.connstr("resume_window")).unwrap();
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (id integer)", &[]).unwrap();
    conn.set_autocommit(false).unwrap();
    c.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    // The link dies and the client does nothing within the window.
    proxy.cut();
    TestServer::wait_until(10, "the detached session to close", || {
        pg.backends("resume_window") == 0
    });
    assert_eq!(
        pg.psql("resume_window", "SELECT count(*) FROM t"),
        "0",
        "rolled back"
    );
    // Too late: the client learns why.
    let e = c.execute("SELECT 1", &[]).unwrap_err();
    assert_eq!(e.class, ErrorClass::TimeoutError, "{e}");
    assert!(e.message.contains("max_session_reconnect_time"), "{e}");
    let mut late = ServerSession::new(None, Some(&server.config_data())).unwrap();
    let e = late.open("", "", None, Some(&id)).map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::TimeoutError, "{e}");
    std::thread::sleep(Duration::from_millis(10));
}

/// Issue 11, defect 1: several threads on one session while the link is cut every 50-400 ms.
/// Every acknowledged update is in the database exactly once, and no thread waits forever.
#[test]
fn threads_sharing_a_session_through_random_cuts_lose_and_repeat_nothing() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Instant;
    let pg = pg();
    let server = server();
    let _db = pg.database("resume_threads");
    pg.psql("resume_threads", "CREATE TABLE counter (n integer)");
    pg.psql("resume_threads", "INSERT INTO counter VALUES (0)");
    pg.psql(
        "resume_threads",
        "CREATE TABLE rows AS SELECT g AS id FROM generate_series(1, 3000) g",
    );
    let proxy = Arc::new(Proxy::start(server.port));
    let mut session = session_via(&proxy);
    let odbc = Arc::new(session.open("", "", None, None).unwrap());
    let connstr = pg.connstr("resume_threads");
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for t in 0..4 {
        let (odbc, stop, acknowledged, connstr) = (
            odbc.clone(),
            stop.clone(),
            acknowledged.clone(),
            connstr.clone(),
        );
        workers.push(std::thread::spawn(move || -> Result<u64, String> {
            let conn = odbc.driver_connect(&connstr).map_err(|e| e.to_string())?;
            let mut c = conn.cursor();
            let mut done = 0;
            while !stop.load(Ordering::Relaxed) {
                if t == 0 {
                    c.execute("SELECT id FROM rows ORDER BY id", &[])
                        .map_err(|e| format!("fetcher: {e}"))?;
                    let rows = c.fetchall().map_err(|e| format!("fetcher: {e}"))?;
                    if rows.len() != 3000 {
                        return Err(format!("fetcher got {} rows", rows.len()));
                    }
                } else {
                    c.execute("UPDATE counter SET n = n + 1", &[])
                        .map_err(|e| format!("updater {t}: {e}"))?;
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                done += 1;
            }
            Ok(done)
        }));
    }
    let cutter = {
        let (proxy, stop) = (proxy.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut cuts = 0u32;
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                std::thread::sleep(Duration::from_millis(50 + x % 350));
                proxy.cut();
                cuts += 1;
            }
            cuts
        })
    };
    std::thread::sleep(Duration::from_secs(6));
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    for w in workers {
        while !w.is_finished() {
            assert!(Instant::now() < deadline, "a thread waits forever");
            std::thread::sleep(Duration::from_millis(50));
        }
        let done = w.join().unwrap().expect("every request answered");
        assert!(done > 0);
    }
    let cuts = cutter.join().unwrap();
    assert!(cuts > 5, "only {cuts} cuts");
    assert_eq!(
        pg.psql("resume_threads", "SELECT n FROM counter"),
        acknowledged.load(Ordering::Relaxed).to_string(),
        "every acknowledged update exactly once, and nothing else"
    );
    drop(odbc);
    // The last cut may have broken the link unnoticed: closing resumes it (within a bound).
    session.close().unwrap();
}

/// Issue 11, defect 3: the link is cut while a request is on its way up, and cut again while
/// the resumed link re-sends it. The client resumes once more, and the insert happens once.
#[test]
fn a_cut_while_resending_after_a_resume_is_retried() {
    let pg = pg();
    let server = server();
    let _db = pg.database("resume_resend");
    let proxy = Proxy::start(server.port);
    let mut session = session_via(&proxy);
    let odbc = session.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(&pg.connstr("resume_resend")).unwrap();
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (x text)", &[]).unwrap();
    // 200 kB that snappy cannot shrink much.
    let mut x: u64 = 88172645463325252;
    let big: String = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect();
    proxy.cut_after(Dir::Up, 2_000);
    proxy.cut_next_after(Dir::Up, 20_000);
    c.execute("INSERT INTO t VALUES (?)", &[Value::Text(big.clone())])
        .expect("the insert is answered after two cuts");
    assert!(proxy.accepted() >= 3, "cut twice: {}", proxy.accepted());
    assert_eq!(
        pg.psql("resume_resend", "SELECT count(*), sum(length(x)) FROM t"),
        "1|200000",
        "exactly once"
    );
    session.close().unwrap();
}

/// Issue 11, defect 2: a session resumed explicitly from a new client (another process: it has
/// received nothing) and then cut resumes again by itself; acknowledgements free the server's
/// replay buffer.
#[test]
fn an_explicitly_resumed_session_resumes_again_after_a_cut() {
    let server = server();
    let (_observer, watcher) = server.open();
    let mut first = ServerSession::new(None, Some(&server.config_data())).unwrap();
    let odbc = first.open("", "", None, None).unwrap();
    let id = first.session_id().unwrap();
    for _ in 0..20 {
        odbc.ping().unwrap();
    }
    // The "new process": another client object, through a proxy that will cut it.
    let proxy = Proxy::start(server.port);
    let mut second = session_via(&proxy);
    let odbc2 = second.open("", "", None, Some(id.as_str())).unwrap();
    let conn = odbc2.driver_connect(&server.sqlite("explicit")).unwrap();
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (x INTEGER)", &[]).unwrap();
    for i in 0..30i64 {
        if i % 10 == 5 {
            proxy.cut();
        }
        c.execute("INSERT INTO t VALUES (?)", &[Value::Int(i)])
            .expect("answered after an automatic resume");
    }
    assert!(proxy.accepted() >= 3, "{}", proxy.accepted());
    c.execute("SELECT count(*) FROM t", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(30)])
    );
    // The server keeps only what the client has not acknowledged.
    let st = watcher.status().unwrap();
    assert_eq!(st.sessions, 2);
    drop(c);
    drop(conn);
    second.close().unwrap();
}

/// Issue 11, defect 4: a link that breaks on every resume (each new connection is cut after
/// its handshake, in the middle of the replayed answer) gives up after a bounded number of
/// resumes, saying which request's outcome is unknown.
#[test]
fn a_link_that_always_breaks_gives_up_within_a_bound() {
    let server = server();
    let proxy = Proxy::start(server.port);
    let mut session = session_via(&proxy);
    let odbc = session.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(&server.sqlite("storm")).unwrap();
    let mut c = conn.cursor();
    // Handshakes (about 150 bytes down) get through; a 20 kB answer never does.
    proxy.cut_after(Dir::Down, 300);
    proxy.cut_every_after(Dir::Down, 300);
    let started = std::time::Instant::now();
    let worker = std::thread::spawn(move || {
        c.execute("SELECT hex(zeroblob(10000))", &[])
            .and_then(|c| c.fetchall())
            .map(|_| ())
    });
    while !worker.is_finished() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "still resuming after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let e = worker.join().unwrap().unwrap_err();
    assert_eq!(e.class, ErrorClass::ConnectionFailureError, "{e}");
    assert!(e.message.contains("in a row"), "{e}");
    assert!(e.message.contains("unknown"), "{e}");
    let resumes = proxy.accepted();
    assert!((5..=40).contains(&resumes), "{resumes} connections");
}

/// Cuts on seeing a statement on the wire, several times per connection and both ways: before
/// the server gets it (it is sent again) and after (its answer is replayed). Every statement
/// runs exactly once, COMMIT included.
#[test]
fn cuts_on_seeing_a_statement_leave_every_statement_run_exactly_once() {
    let pg = pg();
    let server = server();
    let _db = pg.database("resume_pattern");
    let proxy = Proxy::start(server.port);
    let mut session = session_via(&proxy);
    let odbc = session.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(&pg.connstr("resume_pattern")).unwrap();
    let mut c = conn.cursor();
    c.execute("CREATE TABLE t (id integer)", &[]).unwrap();
    conn.set_autocommit(false).unwrap();
    for (i, forward_first) in [(1i64, false), (2, true), (3, false), (4, true)] {
        proxy.cut_on(Dir::Up, b"INSERT INTO t", forward_first, 1);
        c.execute("INSERT INTO t VALUES (?)", &[Value::Int(i)])
            .unwrap();
        assert_eq!(c.rowcount(), 1);
    }
    proxy.cut_on(Dir::Up, b"COMMIT", true, 1);
    c.execute("COMMIT", &[])
        .expect("COMMIT answered after a cut");
    assert!(proxy.accepted() >= 5, "{}", proxy.accepted());
    assert_eq!(
        pg.psql(
            "resume_pattern",
            "SELECT count(*), count(DISTINCT id) FROM t"
        ),
        "4|4",
        "every insert once, committed"
    );
    drop(c);
    drop(conn);
    session.close().unwrap();
}
