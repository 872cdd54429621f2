//! Every parameter and result type round trips through odbcd, on SQLite and PostgreSQL:
//! NULLs, non-ASCII text, exact decimals, and 2 MB text and binary values.

mod common;

use common::{pg::pg, TestServer};
use odbcd::client::{Connection, Date, Time, Timestamp, Value};

fn ts(y: i16, mo: u8, d: u8, h: u8, mi: u8, s: u8, nanos: u32) -> Timestamp {
    Timestamp {
        date: Date {
            year: y,
            month: mo,
            day: d,
        },
        time: Time {
            hour: h,
            minute: mi,
            second: s,
            nanos,
        },
    }
}

/// Column types of one database, in the order of `values()`, and what the database gives back
/// where it cannot store a value exactly.
struct Dialect {
    ddl: &'static str,
    expected: fn(Vec<Value>) -> Vec<Value>,
}

const SQLITE: Dialect = Dialect {
    ddl: "b BIT, i INTEGER, big BIGINT, f DOUBLE, n NUMERIC(12,2), t VARCHAR(100), bin BLOB, d DATE, tm TIME, tsp TIMESTAMP",
    // SQLite has no exact decimals (NUMERIC is stored as REAL).
    expected: |mut v| {
        v[5] = Value::Float(12345.67);
        v
    },
};
const POSTGRES: Dialect = Dialect {
    ddl: "b boolean, i integer, big bigint, f double precision, n numeric(12,2), t varchar(100), bin bytea, d date, tm time, tsp timestamp",
    expected: |v| v,
};

fn values() -> Vec<Value> {
    vec![
        Value::Bool(true),
        Value::Int(-42),
        Value::Int(9_007_199_254_740_993),
        Value::Float(2.5),
        Value::Decimal("12345.67".into()),
        Value::Text("grüße, 世界 🍐".into()),
        Value::Bytes(vec![0, 1, 2, 255, 0]),
        Value::Date(Date {
            year: 2024,
            month: 2,
            day: 29,
        }),
        Value::Time(Time {
            hour: 23,
            minute: 59,
            second: 58,
            nanos: 0,
        }),
        Value::Timestamp(ts(1999, 12, 31, 23, 59, 59, 123_456_000)),
    ]
}

fn round_trip(conn: &Connection, dialect: &Dialect, table: &str) {
    let mut c = conn.cursor();
    c.execute(
        &format!("CREATE TABLE {table} (id INTEGER, {})", dialect.ddl),
        &[],
    )
    .unwrap();
    let mut row = vec![Value::Int(1)];
    row.extend(values());
    let marks = vec!["?"; row.len()].join(", ");
    c.execute(&format!("INSERT INTO {table} VALUES ({marks})"), &row)
        .unwrap();
    assert_eq!(c.rowcount(), 1);
    let nulls: Vec<Value> = std::iter::once(Value::Int(2))
        .chain(values().iter().map(|_| Value::Null))
        .collect();
    c.execute(&format!("INSERT INTO {table} VALUES ({marks})"), &nulls)
        .unwrap();

    c.execute(&format!("SELECT * FROM {table} ORDER BY id"), &[])
        .unwrap();
    let desc = c.description().unwrap().to_vec();
    assert_eq!(desc.len(), 11);
    assert_eq!(desc[0].name.to_lowercase(), "id");
    assert_eq!(desc[6].name.to_lowercase(), "t");
    let rows = c.fetchall().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0],
        (dialect.expected)(row.clone()),
        "values come back as they went in"
    );
    assert_eq!(rows[1], nulls, "NULLs come back as NULLs");
    assert!(c.fetchone().unwrap().is_none());
}

fn large_values(conn: &Connection, table: &str, text_type: &str, bin_type: &str) {
    let mut c = conn.cursor();
    c.execute(
        &format!("CREATE TABLE {table} (id INTEGER, t {text_type}, b {bin_type})"),
        &[],
    )
    .unwrap();
    let text: String = (0..2 * 1024 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect::<String>()
        + "é";
    let bin: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(7919) >> 3) as u8)
        .collect();
    c.execute(
        &format!("INSERT INTO {table} VALUES (?, ?, ?)"),
        &[1.into(), text.clone().into(), bin.clone().into()],
    )
    .unwrap();
    c.execute(&format!("SELECT t, b FROM {table}"), &[])
        .unwrap();
    let row = c.fetchone().unwrap().unwrap();
    match &row[0] {
        Value::Text(t) => assert!(
            t == &text,
            "2 MB text differs (len {} vs {})",
            t.len(),
            text.len()
        ),
        other => panic!("expected text, got {:?}", std::mem::discriminant(other)),
    }
    assert!(row[1] == Value::Bytes(bin), "2 MB binary differs");
}

#[test]
fn sqlite_types_round_trip() {
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect(&server.sqlite("types"));
    round_trip(&conn, &SQLITE, "types_rt");
}

#[test]
fn sqlite_large_values() {
    // Tiny chunks: every read, write and batch crosses many chunk boundaries.
    let server = TestServer::start("[Session]\nmax_chunk_length = 1024\n");
    let (_s, _odbc, conn) = server.connect(&server.sqlite("large"));
    large_values(&conn, "large", "TEXT", "BLOB");
}

#[test]
fn postgres_types_round_trip() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("types_rt");
    let (_s, _odbc, conn) = server.connect(&pg.connstr("types_rt"));
    round_trip(&conn, &POSTGRES, "types_rt");
}

#[test]
fn postgres_large_values() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("large_values");
    let (_s, _odbc, conn) = server.connect(&pg.connstr("large_values"));
    large_values(&conn, "large", "text", "bytea");
}
