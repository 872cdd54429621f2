//! A 1,000,000-row result streams through odbcd with bounded client memory, from SQLite and
//! from PostgreSQL. (One test, so nothing else runs in this process while RSS is measured.)

mod common;

use std::time::Instant;

use common::{pg::pg, TestServer};
use odbcd::client::{Odbc, Value};

const ROWS: i64 = 1_000_000;

fn rss_kib() -> u64 {
    rss_kib_of("self")
}

fn rss_kib_of(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Streams `SELECT` over the table and checks every row arrives once, in order.
fn stream(odbc: &Odbc, connstr: &str, label: &str) {
    let conn = odbc.driver_connect(connstr).unwrap();
    let mut c = conn.cursor();
    let before = rss_kib();
    let started = Instant::now();
    c.execute("SELECT id, name, amount, created FROM big ORDER BY id", &[])
        .unwrap();
    assert_eq!(c.description().unwrap().len(), 4);
    let mut n = 0i64;
    let mut peak = before;
    for row in c.rows() {
        let row = row.unwrap();
        n += 1;
        assert_eq!(row[0], Value::Int(n), "row {n} arrives once, in order");
        assert!(matches!(&row[1], Value::Text(t) if t.len() >= 20));
        if n % 100_000 == 0 {
            peak = peak.max(rss_kib());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(n, ROWS);
    let grown_mib = peak.saturating_sub(before) / 1024;
    eprintln!(
        "{label}: {n} rows in {secs:.2} s = {:.0} rows/s; client RSS grew {grown_mib} MiB",
        n as f64 / secs
    );
    // Holding the whole result would take several hundred MiB.
    assert!(
        grown_mib < 64,
        "{label}: client memory grew by {grown_mib} MiB while streaming"
    );
}

#[test]
fn million_rows_stream_with_bounded_client_memory() {
    let server = TestServer::start("");
    let (_s, odbc) = server.open();

    let sqlite = server.sqlite("big");
    let conn = odbc.driver_connect(&sqlite).unwrap();
    let mut c = conn.cursor();
    c.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, name VARCHAR(40), amount NUMERIC(12,2), created TIMESTAMP)", &[]).unwrap();
    c.execute(
        &format!(
            // sqliteodbc never steps a statement that starts with WITH, so the CTE goes inside.
            "INSERT INTO big WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {ROWS}) \
             SELECT x, printf('customer-name-%012d', x), x * 1.25, '2024-01-02 03:04:05' FROM g"
        ),
        &[],
    )
    .unwrap();
    stream(&odbc, &sqlite, "sqlite");

    let pg = pg();
    let _db = pg.database("streaming");
    pg.psql(
        "streaming",
        &format!(
            "CREATE TABLE big (id integer primary key, name varchar(40), amount numeric(12,2), created timestamp); \
             INSERT INTO big SELECT g, 'customer-name-' || lpad(g::text, 12, '0'), g * 1.25, timestamp '2024-01-02 03:04:05' FROM generate_series(1, {ROWS}) g"
        ),
    );
    stream(&odbc, &pg.connstr("streaming"), "postgres");

    // A cursor left after its first row: the server reads ahead of it a bounded amount (two
    // answers and a batch), not the rest of the result (about 50 MB encoded).
    let server_pid = server.pid().to_string();
    let conn = odbc.driver_connect(&pg.connstr("streaming")).unwrap();
    let mut c = conn.cursor();
    let before = rss_kib_of(&server_pid);
    c.execute("SELECT id, name, amount, created FROM big ORDER BY id", &[])
        .unwrap();
    assert_eq!(c.fetchone().unwrap().unwrap()[0], Value::Int(1));
    std::thread::sleep(std::time::Duration::from_secs(3));
    let grown_mib = rss_kib_of(&server_pid).saturating_sub(before) / 1024;
    assert!(
        grown_mib < 16,
        "the server grew by {grown_mib} MiB ahead of a client that stopped reading"
    );
    // Read on, every row comes once, in order.
    let mut n = 1i64;
    for row in c.rows() {
        n += 1;
        assert_eq!(row.unwrap()[0], Value::Int(n));
    }
    assert_eq!(n, ROWS);
}
