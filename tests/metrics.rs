//! The metrics endpoint (`[Metrics] listen`): what an operator's Prometheus scrapes during a
//! load, checked by the Prometheus project's own `promtool`; `/healthz` and `/readyz` as a load
//! balancer's health check sees them; and what a stranger on the endpoint's port can do.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestServer;
use odbcd::client::ErrorClass;
use odbcd::proto::value::Value;

/// One HTTP exchange: the status and the body.
fn http(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(request).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).expect("the answer");
    let text = String::from_utf8(answer).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    http(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: odbcd\r\n\r\n").as_bytes(),
    )
}

/// The samples of a scrape: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

fn value(s: &HashMap<String, f64>, key: &str) -> f64 {
    *s.get(key)
        .unwrap_or_else(|| panic!("{key} in the scrape: {:?}", s.keys().collect::<Vec<_>>()))
}

/// `promtool check metrics` on a scrape: its verdict and what it said.
fn promtool(scrape: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt install prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const METRICS: &str = "[Metrics]\nlisten = 127.0.0.1:0\n";

#[test]
fn a_scrape_during_a_load_passes_promtool_and_counts_what_the_clients_did() {
    let server = TestServer::start(&format!(
        "{METRICS}\n[Pool]\nmax_idle_connections = 4\n[Session]\nenable_compression = 1\ncompression_ratio = 9\n"
    ));
    let addr = server.metrics_addr();
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200, "{body}");
    let before = samples(&body);
    assert_eq!(value(&before, "odbcd_ready"), 1.0);
    assert_eq!(value(&before, "odbcd_sessions{state=\"attached\"}"), 0.0);

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let stop = Arc::clone(&stop);
            let data = server.config_data();
            let cs = server.sqlite(&format!("load{w}"));
            std::thread::spawn(move || {
                let mut rounds = 0u32;
                while rounds < 3 || !stop.load(Ordering::Relaxed) {
                    let mut s = odbcd::client::ServerSession::new(None, Some(&data)).unwrap();
                    let odbc = s.open("", "", None, None).unwrap();
                    let conn = odbc.driver_connect(&cs).unwrap();
                    let mut c = conn.cursor();
                    c.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER, name TEXT)", &[])
                        .unwrap();
                    let rows: Vec<Vec<Value>> = (0..50)
                        .map(|i| vec![Value::Int(i), Value::Text("x".repeat(100))])
                        .collect();
                    c.executemany("INSERT INTO t VALUES (?, ?)", &rows).unwrap();
                    c.execute("SELECT id, name FROM t", &[]).unwrap();
                    assert!(c.fetchall().unwrap().len() >= 50);
                    let e = c.execute("SELEC nothing", &[]).map(|_| ()).unwrap_err();
                    assert_eq!(e.class, ErrorClass::ProgrammingError, "{e}");
                    c.close();
                    conn.close().unwrap();
                    s.close().unwrap();
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();

    // Scrapes while the clients work: each one passes promtool.
    let mut checked = 0;
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        let (status, body) = get(addr, "/metrics");
        assert_eq!(status, 200);
        let (ok, said) = promtool(&body);
        assert!(ok, "promtool check metrics:\n{said}\non:\n{body}");
        assert!(said.trim().is_empty(), "promtool has remarks:\n{said}");
        checked += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let rounds: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(checked >= 3);

    let (_, body) = get(addr, "/metrics");
    let m = samples(&body);
    let rounds = f64::from(rounds);
    assert_eq!(value(&m, "odbcd_handshakes_total{outcome=\"new\"}"), rounds);
    assert_eq!(
        value(&m, "odbcd_requests_total{kind=\"ExecuteMany\"}"),
        rounds
    );
    // CREATE, SELECT and the bad statement.
    assert_eq!(
        value(&m, "odbcd_requests_total{kind=\"Execute\"}"),
        3.0 * rounds
    );
    assert_eq!(
        value(&m, "odbcd_request_duration_seconds_count{kind=\"Execute\"}"),
        3.0 * rounds
    );
    assert_eq!(
        value(&m, "odbcd_errors_total{class=\"ProgrammingError\"}"),
        rounds
    );
    assert_eq!(
        value(&m, "odbcd_parameter_rows_received_total"),
        50.0 * rounds
    );
    assert!(value(&m, "odbcd_rows_sent_total") >= 50.0 * rounds);
    // Each round connects once; all but the first of each file found its connection pooled.
    let (hits, misses) = (
        value(&m, "odbcd_pool_hits_total"),
        value(&m, "odbcd_pool_misses_total"),
    );
    assert_eq!(hits + misses, rounds, "hits {hits}, misses {misses}");
    assert!(hits >= 1.0, "hits {hits}, misses {misses}");
    // The 100-character names compress: fewer bytes on the wire than in the frames.
    let sent_payload = value(&m, "odbcd_sent_bytes_total{stage=\"payload\"}");
    let sent_wire = value(&m, "odbcd_sent_bytes_total{stage=\"wire\"}");
    assert!(sent_wire < sent_payload, "{sent_wire} < {sent_payload}");
    assert!(
        value(&m, "odbcd_received_bytes_total{stage=\"payload\"}")
            > value(&m, "odbcd_received_bytes_total{stage=\"wire\"}")
    );
    assert!(value(&m, "odbcd_database_busy_seconds_total") > 0.0);
    // The sessions are gone and their connections back in the pool (a session unregisters
    // just after its client hears the close).
    TestServer::wait_until(
        10,
        "the sessions to end, the connections to be pooled",
        || {
            let m = samples(&get(addr, "/metrics").1);
            value(&m, "odbcd_sessions{state=\"attached\"}") == 0.0
                && value(&m, "odbcd_running_requests") == 0.0
                && value(&m, "odbcd_database_connections{state=\"in_use\"}") == 0.0
                && value(&m, "odbcd_database_connections{state=\"pooled\"}") >= 1.0
        },
    );
}

#[test]
fn sessions_refusals_and_failed_logins_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    common::add_user(&users, "ann", "secret", None);
    let server = TestServer::start(&format!(
        "{METRICS}\n[Session]\nmax_sessions = 1\n[Authentication]\nauth_mode = file\npassword_file = {}\n",
        users.display()
    ));
    let addr = server.metrics_addr();
    let data = server.config_data();
    let login = |password: &str| {
        let mut s = odbcd::client::ServerSession::new(None, Some(&data)).unwrap();
        s.open("ann", password, None, None).map(|_| s)
    };
    let e = login("wrong").map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::ODBCConnectError, "{e}");
    let held = login("secret").expect("ann logs in");
    let e = login("secret").map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::PolicyViolationError, "{e}");
    let m = samples(&get(addr, "/metrics").1);
    // One session admitted; the refused ones are not counted as handshakes.
    assert_eq!(value(&m, "odbcd_handshakes_total{outcome=\"new\"}"), 1.0);
    assert_eq!(value(&m, "odbcd_logins_failed_total"), 1.0);
    assert_eq!(value(&m, "odbcd_refusals_total{reason=\"login\"}"), 1.0);
    assert_eq!(
        value(&m, "odbcd_refusals_total{reason=\"max_sessions\"}"),
        1.0
    );
    assert_eq!(value(&m, "odbcd_sessions{state=\"attached\"}"), 1.0);
    drop(held);
}

#[test]
fn readyz_says_503_while_the_server_drains_and_healthz_stays_200() {
    let mut server = TestServer::start(&format!(
        "{METRICS}\n[Unix]\nshutdown_grace = 30\npid_file = odbcd.pid\n"
    ));
    let addr = server.metrics_addr();
    assert_eq!(get(addr, "/readyz"), (200, "ready\n".to_owned()));
    assert_eq!(get(addr, "/healthz"), (200, "ok\n".to_owned()));
    // HAProxy's `option httpchk` may send HEAD: the status without a body.
    let (status, body) = http(addr, b"HEAD /readyz HTTP/1.0\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""));

    let (_s, _o, conn) = server.connect(&server.sqlite("drain"));
    conn.set_autocommit(false).unwrap();
    conn.cursor()
        .execute("CREATE TABLE t (id INTEGER)", &[])
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    TestServer::wait_until(10, "the drain", || server.log().contains("draining"));
    // The transaction holds the drain: the process is alive, not ready.
    assert_eq!(get(addr, "/healthz").0, 200);
    let (status, body) = get(addr, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        value(&samples(&get(addr, "/metrics").1), "odbcd_ready"),
        0.0
    );
    conn.commit().unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    while server.exit_status().is_none() {
        assert!(Instant::now() < end, "the server did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(TcpStream::connect(addr).is_err(), "the endpoint closed");
}

#[test]
fn the_endpoint_answers_strangers_briefly_and_never_blocks_the_server() {
    let server = TestServer::start(METRICS);
    let addr = server.metrics_addr();
    assert_eq!(get(addr, "/metrics/../../etc/passwd").0, 404);
    assert_eq!(http(addr, b"POST /metrics HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(http(addr, b"\x16\x03\x01\x02\x00\x01\r\n\r\n").0, 400);
    let mut huge = b"GET /metrics HTTP/1.1\r\n".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 20_000));
    huge.extend_from_slice(b"\r\n\r\n");
    assert_eq!(http(addr, &huge).0, 431);

    // Connections that send nothing: an address gets a few slots, each for at most a second;
    // the rest are closed at once...
    let idle: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // ...meanwhile sessions are served as ever...
    let (_s, odbc) = server.open();
    odbc.ping().unwrap();
    // ...every idle connection is closed within the head timeout...
    let started = Instant::now();
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("an idle scraper is cut, not {other:?}"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // ...and a health check gets its answer.
    assert_eq!(get(addr, "/healthz").0, 200);
}

#[test]
fn closing_a_connection_before_its_cursor_sends_nothing_that_fails() {
    let server = TestServer::start(METRICS);
    let addr = server.metrics_addr();
    let (mut session, _odbc, conn) = server.connect(&server.sqlite("order"));
    let mut c = conn.cursor();
    // More rows than the first answer carries: the result stays open on the server.
    c.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT i FROM n",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(1)])
    );
    conn.close().unwrap();
    // The cursor went with its connection: dropping it (and the connection) asks for nothing.
    drop(c);
    drop(conn);
    session.close().unwrap();
    TestServer::wait_until(10, "the session to end", || {
        value(
            &samples(&get(addr, "/metrics").1),
            "odbcd_sessions{state=\"attached\"}",
        ) == 0.0
    });
    let m = samples(&get(addr, "/metrics").1);
    let errors: Vec<_> = m
        .iter()
        .filter(|(k, v)| k.starts_with("odbcd_errors_total") && **v > 0.0)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let close_cursors = m.get("odbcd_requests_total{kind=\"CloseCursor\"}");
    assert!(close_cursors.is_none_or(|n| *n == 0.0), "{close_cursors:?}");
}
