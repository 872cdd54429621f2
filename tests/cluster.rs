//! A load-balanced cluster: three `odbcd` servers behind a real HAProxy (TCP mode, health
//! checks in odbcd's protocol), writers inserting into PostgreSQL through it with
//! `auto_reconnect`, and one server killed in the middle. Clients on the dead server get a
//! `ConnectionFailureError` and carry on on a live one; throughput recovers; every acknowledged
//! insert is in PostgreSQL exactly once and nothing is there that was not sent.

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{free_port, pg::pg, TestServer, ACCESS};
use odbcd::client::{ConfigData, Connection, ErrorClass, ServerSession, Value};

/// A running HAProxy, and the folder of its configuration (removed with it).
struct HaProxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HAProxy on `port` in front of `servers` (each its port and, to check `/readyz` as the
/// example's comment shows, its metrics port), with the health check of `config/haproxy.cfg`.
fn haproxy(port: u16, servers: &[(u16, Option<u16>)]) -> HaProxy {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string("config/haproxy.cfg").unwrap();
    let mut cfg: String = example
        .lines()
        .filter(|l| !l.trim_start().starts_with("server ") && !l.contains("bind "))
        .map(|l| format!("{l}\n"))
        .collect();
    cfg = cfg.replace(
        "frontend odbcd\n",
        &format!("frontend odbcd\n    bind 127.0.0.1:{port}\n"),
    );
    if servers.iter().any(|(_, m)| m.is_some()) {
        // The example's HTTP check: its commented lines instead of the protocol check.
        cfg = cfg
            .lines()
            .filter(|l| !l.contains("tcp-check") && !l.trim_start().starts_with("default-server"))
            .map(|l| {
                let l = l
                    .strip_prefix("    #   ")
                    .map_or(l.to_owned(), |l| format!("    {l}"));
                format!("{}\n", l.replace(" port 9632", ""))
            })
            .collect();
        assert!(cfg.contains("\n    option httpchk GET /readyz\n"), "{cfg}");
    }
    cfg = cfg
        .replace("inter 1s", "inter 200ms")
        .replace("maxconn 4000", "maxconn 500");
    for (i, (p, metrics)) in servers.iter().enumerate() {
        let check_port = metrics
            .map(|m| format!(" check port {m}"))
            .unwrap_or_default();
        cfg.push_str(&format!(
            "    server odbcd{} 127.0.0.1:{p}{check_port}\n",
            i + 1
        ));
    }
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let child = Command::new("haproxy")
        .arg("-f")
        .arg(&path)
        .arg("-db")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy (apt install haproxy)");
    let p = HaProxy { child, _dir: dir };
    TestServer::wait_until(10, "haproxy to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    p
}

#[derive(Default)]
struct Outcome {
    acknowledged: Mutex<BTreeSet<i64>>,
    unknown: Mutex<BTreeSet<i64>>,
    failures: AtomicU64,
    after_kill: AtomicU64,
}

/// Three servers on fixed free ports (with `extra` configuration) behind HAProxy: the servers,
/// HAProxy and its front port. With `http_check`, HAProxy checks each server's `/readyz`.
fn cluster(extra: &str, http_check: bool) -> (Vec<TestServer>, HaProxy, u16) {
    let ports: Vec<(u16, Option<u16>)> = (0..3)
        .map(|_| (free_port(), http_check.then(free_port)))
        .collect();
    let servers: Vec<TestServer> = ports
        .iter()
        .map(|(p, metrics)| {
            let metrics = metrics
                .map(|m| format!("[Metrics]\nlisten = 127.0.0.1:{m}\n"))
                .unwrap_or_default();
            TestServer::start_with(&format!(
                "[Connection]\ninterface = 127.0.0.1\nport = {p}\n\n{extra}\n{metrics}[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n\n{ACCESS}"
            ))
        })
        .collect();
    let front = free_port();
    let proxy = haproxy(front, &ports);
    (servers, proxy, front)
}

/// A writer's session through HAProxy on `front` (with `auto_reconnect` and `attempts`
/// reconnect attempts) and its connection to `connstr`.
fn writer(front: u16, attempts: u32, connstr: &str) -> (ServerSession, Connection) {
    let data = ConfigData::new()
        .set("Connection", "port", front)
        .set("Connection", "connect_timeout", 1)
        .set("Communication", "auto_reconnect", 1)
        .set("Communication", "reconnect_attempts", attempts)
        .set("Communication", "reconnect_delay", 0.1);
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    let odbc = s.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect(connstr).unwrap();
    (s, conn)
}

#[test]
fn a_cluster_behind_haproxy_survives_a_dead_server() {
    let pg = pg();
    let (mut servers, _haproxy, front) = cluster(
        "[Activity]\nmax_session_reconnect_time = 2\ncheck_interval = 0.2\n",
        false,
    );
    let _db = pg.database("cluster");
    pg.psql("cluster", "CREATE TABLE t (id bigint, writer integer)");

    let outcome = Arc::new(Outcome::default());
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let connstr = pg.connstr("cluster");
    let writers: Vec<_> = (0..6i64)
        .map(|w| {
            let (outcome, stop, killed, connstr) = (
                outcome.clone(),
                stop.clone(),
                killed.clone(),
                connstr.clone(),
            );
            std::thread::spawn(move || {
                let (mut s, conn) = writer(front, 20, &connstr);
                let mut c = conn.cursor();
                let mut n = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = w * 1_000_000 + n;
                    match c.execute(
                        "INSERT INTO t VALUES (?, ?)",
                        &[Value::Int(id), Value::Int(w)],
                    ) {
                        Ok(_) => {
                            outcome.acknowledged.lock().unwrap().insert(id);
                            if killed.load(Ordering::Relaxed) {
                                outcome.after_kill.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            // Lost with its server: it may or may not have committed.
                            assert_eq!(e.class, ErrorClass::ConnectionFailureError, "{e}");
                            outcome.unknown.lock().unwrap().insert(id);
                            outcome.failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let _ = s.close();
            })
        })
        .collect();

    // Let the load settle, kill the server with the most sessions, go on.
    std::thread::sleep(Duration::from_millis(1500));
    let victim = (0..3)
        .max_by_key(|&i| {
            let (_s, odbc) = servers[i].open();
            odbc.status().map(|st| st.sessions).unwrap_or(0)
        })
        .unwrap_or(0);
    let before = outcome.acknowledged.lock().unwrap().len();
    servers[victim].kill();
    killed.store(true, Ordering::Relaxed);
    let killed_at = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }

    let acknowledged = outcome.acknowledged.lock().unwrap().clone();
    let unknown = outcome.unknown.lock().unwrap().clone();
    let after = outcome.after_kill.load(Ordering::Relaxed);
    eprintln!(
        "cluster: {} acknowledged ({before} before the kill, {after} in the {:?} after), {} lost with the dead server",
        acknowledged.len(),
        killed_at.elapsed(),
        unknown.len()
    );
    assert!(before > 50, "load was running: {before}");
    assert!(
        outcome.failures.load(Ordering::Relaxed) >= 1,
        "clients on the dead server saw the failure"
    );
    assert!(
        after > 50,
        "throughput recovered on the live servers: {after}"
    );

    // Exactly once: no acknowledged insert is missing, nothing is duplicated, nothing appeared
    // that was not sent.
    let rows: Vec<i64> = pg
        .psql("cluster", "SELECT id FROM t ORDER BY id")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let distinct: BTreeSet<i64> = rows.iter().copied().collect();
    assert_eq!(distinct.len(), rows.len(), "no row twice");
    assert!(
        acknowledged.is_subset(&distinct),
        "every acknowledged insert is there"
    );
    assert!(
        distinct
            .iter()
            .all(|id| acknowledged.contains(id) || unknown.contains(id)),
        "nothing else is there"
    );
}

/// One server of the cluster drained with SIGTERM in the middle of the load: it stops taking
/// sessions, closes each at a transaction boundary and exits; the writers (autocommit, and
/// two-row transactions) carry on on the others without a single error, and PostgreSQL holds
/// every acknowledged insert exactly once.
#[test]
fn a_server_drained_behind_haproxy_costs_the_writers_nothing() {
    let pg = pg();
    // HAProxy checks /readyz (the example's HTTP check): 503 from the draining server.
    let (mut servers, _haproxy, front) = cluster("[Unix]\nshutdown_grace = 20\n", true);
    let _db = pg.database("cluster_drain");
    pg.psql(
        "cluster_drain",
        "CREATE TABLE t (id bigint, writer integer)",
    );

    let stop = Arc::new(AtomicBool::new(false));
    let drained = Arc::new(AtomicBool::new(false));
    let after_drain = Arc::new(AtomicU64::new(0));
    let connstr = pg.connstr("cluster_drain");
    let writers: Vec<_> = (0..6i64)
        .map(|w| {
            let (stop, drained, after_drain, connstr) = (
                stop.clone(),
                drained.clone(),
                after_drain.clone(),
                connstr.clone(),
            );
            std::thread::spawn(move || {
                let (mut s, conn) = writer(front, 50, &connstr);
                let transactional = w % 2 == 1;
                if transactional {
                    conn.set_autocommit(false).unwrap();
                }
                let mut acknowledged = BTreeSet::new();
                let mut n = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let mut c = conn.cursor();
                    let mut ids = vec![];
                    for _ in 0..if transactional { 2 } else { 1 } {
                        n += 1;
                        let id = w * 1_000_000 + n;
                        c.execute(
                            "INSERT INTO t VALUES (?, ?)",
                            &[Value::Int(id), Value::Int(w)],
                        )
                        .unwrap_or_else(|e| panic!("writer {w}: insert {id}: {e}"));
                        ids.push(id);
                    }
                    if transactional {
                        conn.commit()
                            .unwrap_or_else(|e| panic!("writer {w}: commit: {e}"));
                    }
                    acknowledged.extend(ids);
                    if drained.load(Ordering::Relaxed) {
                        after_drain.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let _ = s.close();
                acknowledged
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1500));
    let victim = (0..3)
        .max_by_key(|&i| {
            let (_s, odbc) = servers[i].open();
            odbc.status().map(|st| st.sessions).unwrap_or(0)
        })
        .unwrap_or(0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(servers[victim].pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    drained.store(true, Ordering::Relaxed);
    TestServer::wait_until(25, "the drained server to exit", || {
        servers[victim].exit_status().is_some()
    });
    let status = servers[victim].exit_status().unwrap();
    assert!(status.success(), "{status:?}\n{}", servers[victim].log());
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = BTreeSet::new();
    for w in writers {
        acknowledged.extend(w.join().expect("a writer saw an error"));
    }
    let after = after_drain.load(Ordering::Relaxed);
    eprintln!(
        "cluster drain: {} acknowledged, {after} writes after the SIGTERM",
        acknowledged.len()
    );
    assert!(after > 50, "the writers went on: {after}");
    assert!(
        servers[victim].log().contains("closed for the shutdown"),
        "sessions were drained"
    );

    let rows: Vec<i64> = pg
        .psql("cluster_drain", "SELECT id FROM t ORDER BY id")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let distinct: BTreeSet<i64> = rows.iter().copied().collect();
    assert_eq!(distinct.len(), rows.len(), "no row twice");
    assert_eq!(distinct, acknowledged, "exactly the acknowledged inserts");
}
