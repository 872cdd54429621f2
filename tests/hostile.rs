//! Bad input never crashes or wedges the server, and other sessions keep working: garbage
//! instead of a preamble, garbage frames, truncated frames, oversized lengths, stalled
//! handshakes and clients that vanish in the middle of a request.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{pg::pg, TestServer};
use odbcd::proto::compress::Compression;
use odbcd::proto::frame;
use odbcd::proto::message::{ClientFrame, ConnId, Request, Response, ServerFrame};
use odbcd::proto::preamble::Preamble;
use odbcd::proto::MAX_FRAME_LEN;

fn raw(server: &TestServer) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Does the preamble exchange and reads the greeting, like a client would.
fn handshaken(server: &TestServer) -> TcpStream {
    let mut s = raw(server);
    s.write_all(&Preamble::current(0).encode()).unwrap();
    let mut pre = [0u8; 8];
    s.read_exact(&mut pre).unwrap();
    assert!(Preamble::decode(&pre).is_ok());
    let greeting: ServerFrame = read_frame(&mut s).expect("greeting");
    assert!(matches!(greeting.response, Response::Greeting { .. }));
    s
}

/// A raw connection with an open session.
fn opened(server: &TestServer, client_name: &str) -> TcpStream {
    let mut s = handshaken(server);
    send(
        &mut s,
        0,
        Request::OpenSession {
            username: String::new(),
            proof: Vec::new(),
            module_name: "Manager".into(),
            session_id: None,
            client_name: client_name.into(),
        },
    );
    assert!(matches!(
        read_frame(&mut s).unwrap().response,
        Response::SessionOpened { .. }
    ));
    s
}

fn read_frame(s: &mut TcpStream) -> Option<ServerFrame> {
    common::read_raw_frame(s)
}

fn send(s: &mut TcpStream, id: u32, request: Request) {
    let mut buf = Vec::new();
    frame::encode(
        &ClientFrame {
            id,
            ack: 0,
            request,
        },
        Compression::OFF,
        MAX_FRAME_LEN,
        &mut buf,
    )
    .unwrap();
    s.write_all(&buf).unwrap();
}

/// The server answers with an error frame, then closes.
/// Sends `DriverConnect` as request `id` and returns the new connection's id.
fn connect(s: &mut TcpStream, id: u32, connection_string: String) -> ConnId {
    send(s, id, Request::DriverConnect { connection_string });
    match read_frame(s).unwrap().response {
        Response::Connected { conn, .. } => conn,
        other => panic!("{other:?}"),
    }
}

fn refused_and_closed(s: &mut TcpStream) {
    assert!(matches!(
        read_frame(s),
        Some(ServerFrame {
            response: Response::Error(_),
            ..
        })
    ));
    assert!(closed_by_server(s));
}

/// The server closes the connection (EOF or reset) within the read timeout.
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut
            }
        }
    }
}

/// Another session still works end to end.
fn still_serving(server: &mut TestServer) {
    assert!(server.alive(), "odbcd died:\n{}", server.log());
    let (_s, _odbc, conn) = server.connect(&server.sqlite("ok"));
    let mut c = conn.cursor();
    c.execute("SELECT 1", &[]).unwrap();
    assert!(c.fetchone().unwrap().is_some());
}

#[test]
fn garbage_instead_of_a_preamble() {
    let mut server = TestServer::start("");
    let mut s = raw(&server);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert!(closed_by_server(&mut s));
    let mut s = raw(&server);
    s.write_all(&[0x16, 3, 1, 0, 200, 1, 0, 0]).unwrap();
    assert!(
        closed_by_server(&mut s),
        "a TLS hello on a plain listener is closed"
    );
    still_serving(&mut server);
}

#[test]
fn protocol_version_mismatch_is_a_protocol_error_naming_both_versions() {
    let mut server = TestServer::start("");
    let mut s = raw(&server);
    s.write_all(
        &Preamble {
            version: 99,
            flags: 0,
        }
        .encode(),
    )
    .unwrap();
    let mut pre = [0u8; 8];
    s.read_exact(&mut pre).unwrap();
    assert_eq!(
        Preamble::decode(&pre).unwrap().version,
        odbcd::proto::PROTOCOL_VERSION
    );
    assert!(closed_by_server(&mut s));
    TestServer::wait_until(5, "the mismatch in the log", || {
        server
            .log()
            .contains("client speaks version 99, server speaks version 2")
    });
    still_serving(&mut server);
}

#[test]
fn garbage_frames_get_a_protocol_error_and_a_close() {
    let mut server = TestServer::start("");
    for garbage in [
        vec![
            0, 0, 0, 9, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![0, 0, 0, 1, 0x80],
        vec![0, 0, 0, 0, 0],
        vec![0, 0, 0, 6, 1, 0xff, 0xff, 0xff, 0xff, 0x0f],
    ] {
        // As the first frame (the listener reads it), and inside an open session.
        let refused = |mut s: TcpStream| {
            s.write_all(&garbage).unwrap();
            match read_frame(&mut s) {
                Some(ServerFrame {
                    response: Response::Error(e),
                    ..
                }) => assert_eq!(e.class, odbcd::client::ErrorClass::ProtocolError, "{e}"),
                other => panic!("expected a protocol error, got {other:?}"),
            }
            assert!(closed_by_server(&mut s));
        };
        refused(handshaken(&server));
        refused(opened(&server, "garbage"));
    }
    still_serving(&mut server);
}

#[test]
fn oversized_length_is_refused_without_allocating() {
    let mut server = TestServer::start("");
    let mut s = opened(&server, "oversized");
    // Claims 4 GiB; the server must refuse from the header alone.
    s.write_all(&[0xff, 0xff, 0xff, 0xf0, 0]).unwrap();
    refused_and_closed(&mut s);
    still_serving(&mut server);
}

#[test]
fn truncated_frames_and_stalled_handshakes() {
    let mut server = TestServer::start("[Session]\nreceive_timeout = 1\n");
    // Half a frame, then the client goes away.
    let mut s = handshaken(&server);
    s.write_all(&[0, 0, 1, 0, 0, 1, 2, 3]).unwrap();
    drop(s);
    // Half a preamble, then nothing: receive_timeout ends it.
    let mut s = raw(&server);
    s.write_all(b"ODB").unwrap();
    assert!(closed_by_server(&mut s));
    // The first request is not OpenSession.
    let mut s = handshaken(&server);
    send(&mut s, 1, Request::Ping);
    refused_and_closed(&mut s);
    still_serving(&mut server);
}

#[test]
fn client_vanishing_mid_request_frees_its_connections() {
    let pg = pg();
    pg.create_db("vanish");
    let mut server =
        TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_session_reconnect_time = 1\n");
    let mut s = opened(&server, "vanishing");
    let conn = connect(&mut s, 2, pg.connstr("vanish"));
    send(
        &mut s,
        3,
        Request::Execute {
            conn,
            cursor: 1,
            sql: "SELECT pg_sleep(3)".into(),
            params: vec![],
            max_rows: 10,
        },
    );
    // Half of the next request, then gone: the session ends (no resume within 1 s) while its
    // request still runs.
    s.write_all(&[0, 0, 0, 50, 0, 1]).unwrap();
    drop(s);
    still_serving(&mut server);
    TestServer::wait_until(15, "the vanished client's backend to close", || {
        pg.backends("vanish") == 0
    });
    still_serving(&mut server);
    // The ended session's running request is no longer counted (it once stayed forever).
    let (_observer, odbc) = server.open();
    TestServer::wait_until(5, "no request counted as running", || {
        odbc.status()
            .is_ok_and(|st| st.running_requests == 0 && st.sessions == 1)
    });
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_send_timeout() {
    let mut server = TestServer::start("[Session]\nsend_timeout = 1\n\n[Activity]\ncheck_interval = 0.1\nmax_session_reconnect_time = 1\n");
    let mut s = opened(&server, "never reads");
    let conn = connect(&mut s, 2, server.sqlite("stall"));
    // ~60 KB of incompressible bytes per answer, 400 answers: far more than socket buffers hold.
    let sql = "SELECT randomblob(1000) FROM (WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 60) SELECT x FROM g)";
    for id in 0..400 {
        send(
            &mut s,
            10 + id,
            Request::Execute {
                conn,
                cursor: 1,
                sql: sql.into(),
                params: vec![],
                max_rows: 100,
            },
        );
    }
    let (_observer, odbc) = server.open();
    TestServer::wait_until(15, "the stalled session to be dropped", || {
        odbc.status()
            .map(|st| st.sessions == 1 && st.connections == 0)
            .unwrap_or(false)
    });
    server.expect_log("send_timeout");
    drop(s);
    still_serving(&mut server);
}

#[test]
fn floods_of_half_open_and_slow_connections_cannot_exhaust_the_server() {
    let mut server = TestServer::start("[Session]\nmax_handshakes = 5\nreceive_timeout = 1\n");
    let (_s, _odbc, conn) = server.connect(&server.sqlite("flood"));
    // Half-open connections that never speak, and slow-loris ones: one byte now and then.
    let mut silent: Vec<TcpStream> = (0..30).map(|_| raw(&server)).collect();
    let mut slow: Vec<TcpStream> = (0..5).map(|_| raw(&server)).collect();
    for s in &mut slow {
        let _ = s.write_all(b"O");
    }
    // The open session is not disturbed.
    let mut c = conn.cursor();
    c.execute("SELECT 1", &[]).unwrap();
    assert!(c.fetchone().unwrap().is_some());
    // Connections beyond max_handshakes were closed at once.
    let closed = silent
        .iter_mut()
        .map(closed_by_server)
        .filter(|c| *c)
        .count();
    assert!(closed >= 25, "{closed} of 30 closed");
    // The slow ones are cut at the handshake deadline, whatever they send.
    std::thread::sleep(Duration::from_millis(1500));
    for s in &mut slow {
        let _ = s.write_all(b"D");
        assert!(closed_by_server(s));
    }
    server.expect_log("max_handshakes");
    // Afterwards new sessions get in again.
    still_serving(&mut server);
}

#[test]
fn a_client_that_pipelines_big_answers_and_never_reads_is_held_to_a_memory_budget() {
    let server = TestServer::start("[Session]\nsend_timeout = 2\n");
    let mut s = opened(&server, "hoarder");
    send(
        &mut s,
        1,
        Request::DriverConnect {
            connection_string: "DSN=demo".into(),
        },
    );
    let Response::Connected { conn, .. } = read_frame(&mut s).unwrap().response else {
        panic!("no connection")
    };
    let before = server.peak_rss_mb();
    // 40 answers of 10 MB each, asked for at once, never read.
    for i in 0..40u32 {
        send(
            &mut s,
            2 + i,
            Request::Execute {
                conn,
                cursor: i + 1,
                sql: "SELECT randomblob(10000000)".into(),
                params: vec![],
                max_rows: 1,
            },
        );
    }
    // Everyone else is served meanwhile.
    let (_other, _odbc, other) = server.connect("DSN=demo");
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        let mut c = other.cursor();
        c.execute("SELECT 1", &[]).unwrap();
        assert!(c.fetchone().unwrap().is_some());
        std::thread::sleep(Duration::from_millis(100));
    }
    // The silent client lost its link after send_timeout; the session waits for a resume.
    server.expect_log("link lost");
    let grown = server.peak_rss_mb() - before;
    assert!(grown < 400, "peak RSS grew by {grown} MB");
    eprintln!("peak RSS growth: {grown} MB");
    drop(s);
}

#[test]
fn cancelling_a_queued_request_means_it_never_runs() {
    let server = TestServer::start("");
    let mut s = opened(&server, "canceller");
    let db = server.sqlite("cancel");
    send(
        &mut s,
        1,
        Request::DriverConnect {
            connection_string: db,
        },
    );
    let Response::Connected { conn, .. } = read_frame(&mut s).unwrap().response else {
        panic!("no connection")
    };
    let execute = |cursor, sql: &str| Request::Execute {
        conn,
        cursor,
        sql: sql.into(),
        params: vec![],
        max_rows: 10,
    };
    send(&mut s, 2, execute(1, "CREATE TABLE t (x INTEGER)"));
    assert!(!matches!(
        read_frame(&mut s).unwrap().response,
        Response::Error(_)
    ));
    // A slow query, an INSERT queued behind it, and a cancel of the INSERT.
    send(
        &mut s,
        3,
        execute(
            1,
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 2000000) SELECT count(*) FROM g",
        ),
    );
    send(&mut s, 4, execute(2, "INSERT INTO t VALUES (1)"));
    send(&mut s, 5, Request::Cancel { request: 4 });
    let mut answers = std::collections::HashMap::new();
    while answers.len() < 3 {
        let f = read_frame(&mut s).expect("answer");
        answers.insert(f.id, f.response);
    }
    assert!(
        matches!(&answers[&4], Response::Error(e) if e.sqlstate == "HY008"),
        "{:?}",
        answers[&4]
    );
    assert!(matches!(answers[&5], Response::Ok), "{:?}", answers[&5]);
    assert!(
        !matches!(answers[&3], Response::Error(_)),
        "{:?}",
        answers[&3]
    );
    send(&mut s, 6, execute(3, "SELECT count(*) FROM t"));
    let Response::Executed { rows, .. } = read_frame(&mut s).unwrap().response else {
        panic!("no count")
    };
    assert_eq!(rows, vec![vec![odbcd::proto::value::Value::Int(0)]]);
}

/// odbc-api's driver list overflowed its buffer inside unixODBC by a few bytes per call: two
/// rounds of `\dsn` and `\drivers` were enough to crash the server later. Now the driver
/// manager is asked with room to spare.
#[test]
fn listing_drivers_and_data_sources_again_and_again_corrupts_nothing() {
    let mut server = TestServer::start("");
    let (_s, odbc) = server.open();
    for _ in 0..40 {
        let dsns = odbc.data_sources().unwrap();
        assert!(
            dsns.iter()
                .any(|d| d.name == "demo" && d.driver == "SQLite3"),
            "{dsns:?}"
        );
        let drivers = odbc.drivers().unwrap();
        let sqlite = drivers
            .iter()
            .find(|d| d.name == "SQLite3")
            .expect("SQLite3");
        assert!(
            sqlite
                .attributes
                .iter()
                .any(|(k, v)| k == "Driver" && v.ends_with("libsqlite3odbc.so")),
            "{sqlite:?}"
        );
    }
    // Sessions come and go with connections and results on the same heap.
    for i in 0..20 {
        let (mut s, odbc) = server.open();
        let conn = odbc
            .driver_connect(&server.sqlite(&format!("heap{i}")))
            .unwrap();
        let mut c = conn.cursor();
        c.execute("SELECT 1", &[]).unwrap();
        assert!(c.fetchone().unwrap().is_some());
        drop(c);
        drop(conn);
        s.close().unwrap();
    }
    assert!(server.alive(), "{}", server.log());
}

#[test]
fn the_batch_cursor_id_is_reserved_and_hostile_catalog_names_are_refused() {
    let server = TestServer::start("");
    let mut s = opened(&server, "hostile-api");
    let conn = connect(&mut s, 1, "DSN=demo".into());
    send(
        &mut s,
        2,
        Request::Execute {
            conn,
            cursor: u32::MAX,
            sql: "select 1".into(),
            params: vec![],
            max_rows: 10,
        },
    );
    match read_frame(&mut s).unwrap().response {
        Response::Error(e) => assert!(e.message.contains("reserved"), "{e}"),
        other => panic!("{other:?}"),
    }
    // Names longer than an SQLSMALLINT can say, or with a NUL, never reach the driver.
    for (id, table) in [(3, "t".repeat(40_000)), (4, "a\0b".into())] {
        send(
            &mut s,
            id,
            Request::Catalog {
                conn,
                cursor: 1,
                call: odbcd::proto::catalog::CatalogCall::Tables {
                    catalog: None,
                    schema: None,
                    table: Some(table),
                    table_type: None,
                },
                max_rows: 10,
            },
        );
        match read_frame(&mut s).unwrap().response {
            Response::Error(e) => assert_eq!(e.sqlstate, "HY090", "{e}"),
            other => panic!("{other:?}"),
        }
    }
    // Information types the table does not know are refused without asking the driver.
    send(
        &mut s,
        5,
        Request::GetInfo {
            conn,
            info_type: 60_000,
        },
    );
    match read_frame(&mut s).unwrap().response {
        Response::Error(e) => assert_eq!(e.sqlstate, "HY096", "{e}"),
        other => panic!("{other:?}"),
    }
    // And the session goes on.
    send(
        &mut s,
        6,
        Request::Execute {
            conn,
            cursor: 2,
            sql: "select 1".into(),
            params: vec![],
            max_rows: 10,
        },
    );
    assert!(matches!(
        read_frame(&mut s).unwrap().response,
        Response::Executed { .. }
    ));
}

/// A client of protocol version 1 (before warnings and `ExecuteManyFailed`) is answered in
/// version 1: servers can be upgraded before their clients.
#[test]
fn a_version_1_client_gets_version_1_answers() {
    let pg = common::pg::pg();
    let _db = pg.database("v1_client");
    let server = TestServer::start("");
    let mut s = raw(&server);
    s.write_all(
        &Preamble {
            version: 1,
            flags: 0,
        }
        .encode(),
    )
    .unwrap();
    let mut pre = [0u8; 8];
    s.read_exact(&mut pre).unwrap();
    assert_eq!(
        Preamble::decode(&pre).unwrap().version,
        1,
        "answered in version 1"
    );
    let greeting: ServerFrame = read_frame(&mut s).expect("greeting");
    assert!(matches!(greeting.response, Response::Greeting { .. }));
    send(
        &mut s,
        0,
        Request::OpenSession {
            username: String::new(),
            proof: Vec::new(),
            module_name: "Manager".into(),
            session_id: None,
            client_name: "v1".into(),
        },
    );
    assert!(matches!(
        read_frame(&mut s).unwrap().response,
        Response::SessionOpened { .. }
    ));
    let conn = connect(&mut s, 1, pg.connstr("v1_client"));
    let exec = |s: &mut TcpStream, id: u32, sql: &str| {
        send(
            s,
            id,
            Request::Execute {
                conn,
                cursor: id,
                sql: sql.into(),
                params: vec![],
                max_rows: 10,
            },
        );
        read_frame(s).unwrap().response
    };
    exec(&mut s, 2, "create table t (i integer primary key)");
    exec(
        &mut s,
        3,
        "create function noisy() returns integer language plpgsql as $$ begin raise notice 'careful'; return 1; end $$",
    );
    // A statement with a warning: a plain answer, not `Warned`.
    assert!(matches!(
        exec(&mut s, 4, "select noisy()"),
        Response::Executed { .. }
    ));
    // A failing ExecuteMany: an `Error`, not `ExecuteManyFailed`.
    send(
        &mut s,
        5,
        Request::ExecuteMany {
            conn,
            cursor: 9,
            sql: "insert into t values (?)".into(),
            param_sets: vec![
                vec![odbcd::proto::value::Value::Int(1)],
                vec![odbcd::proto::value::Value::Int(1)],
            ],
        },
    );
    match read_frame(&mut s).unwrap().response {
        Response::Error(e) => assert!(e.message.contains("parameter set 2 of 2"), "{e}"),
        other => panic!("{other:?}"),
    }
}

/// A client keeps several fetches in flight on a long result; those it sent before it saw the
/// end get an empty last batch, not an error (nor an error count in the metrics). A fetch on a
/// cursor that never had a result is still an error.
#[test]
fn fetches_sent_ahead_past_the_end_get_an_empty_last_batch() {
    let server = TestServer::start("");
    let mut s = opened(&server, "pipeliner");
    let conn = connect(&mut s, 1, server.sqlite("ahead"));
    send(
        &mut s,
        2,
        Request::Execute {
            conn,
            cursor: 1,
            sql: "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 3) SELECT x FROM g".into(),
            params: vec![],
            max_rows: 1,
        },
    );
    let Response::Executed { rows, done, .. } = read_frame(&mut s).unwrap().response else {
        panic!("not executed")
    };
    assert_eq!((rows.len(), done), (1, false));
    for id in 3..=7 {
        send(
            &mut s,
            id,
            Request::Fetch {
                conn,
                cursor: 1,
                max_rows: 1,
            },
        );
    }
    let mut seen = Vec::new();
    let mut ended = false;
    for id in 3..=7 {
        let f = read_frame(&mut s).unwrap();
        assert_eq!(f.id, id);
        let Response::Rows { rows, done } = f.response else {
            panic!("fetch {id}: {:?}", f.response)
        };
        if ended {
            assert!(rows.is_empty() && done, "past the end: {rows:?}");
        }
        seen.extend(rows);
        ended |= done;
    }
    assert!(ended);
    assert_eq!(
        seen,
        vec![
            vec![odbcd::proto::value::Value::Int(2)],
            vec![odbcd::proto::value::Value::Int(3)]
        ]
    );
    send(
        &mut s,
        8,
        Request::Fetch {
            conn,
            cursor: 9,
            max_rows: 1,
        },
    );
    let Response::Error(e) = read_frame(&mut s).unwrap().response else {
        panic!("a fetch without a result set answered")
    };
    assert_eq!(e.sqlstate, "24000", "{e}");
}
