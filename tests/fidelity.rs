//! Data fidelity: every value read through odbcd equals what the database's own client shows
//! (`psql`, the `sqlite3` shell with `quote()`), cell by cell, and goes back in unchanged as a
//! parameter. Representation choices (the README's type table) are asserted where they apply,
//! in tests of their own; everything else must match exactly.

mod common;

use std::process::Command;

use common::{pg::pg, TestServer};
use odbcd::client::{Connection, ErrorClass, Value};

/// psql's NULL marker in [`psql_rows`] (no database value spells it).
const PG_NULL: &str = "\u{1}NULL\u{1}";

/// Rows of `sql` as psql prints them (unaligned), NULL as `None`.
fn psql_rows(port: u16, db: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-F", "\u{1f}", "-R", "\u{1e}"])
        .args(["-P", &format!("null={PG_NULL}")])
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-p"])
        .arg(port.to_string())
        .args(["-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("psql prints UTF-8");
    let text = text.strip_suffix('\n').unwrap_or(&text);
    text.split('\u{1e}')
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.split('\u{1f}')
                .map(|c| (c != PG_NULL).then(|| c.to_owned()))
                .collect()
        })
        .collect()
}

/// PostgreSQL's text for a float (`NaN`, `Infinity`), as a number.
fn pg_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

fn same_float(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Whether odbcd's value is the one psql printed.
fn matches_psql(v: &Value, psql: Option<&str>) -> bool {
    match (v, psql) {
        (Value::Null, None) => true,
        (Value::Bool(b), Some(t)) => t == if *b { "t" } else { "f" },
        (Value::Int(i), Some(t)) => t == i.to_string(),
        (Value::Float(f), Some(t)) => pg_float(t).is_some_and(|p| same_float(p, *f)),
        (Value::Decimal(s) | Value::Text(s), Some(t)) => t == s,
        (Value::Bytes(b), Some(t)) => t == format!("\\x{}", odbcd::hex::hex(b)),
        (Value::Date(d), Some(t)) => t == d.to_string(),
        (Value::Time(x), Some(t)) => t == x.to_string(),
        (Value::Timestamp(x), Some(t)) => t == x.to_string(),
        _ => false,
    }
}

/// Runs `sql` and reads it row by row until its error: the rows before it (each given to
/// `row`) and the error. A result that ends without one fails the test.
fn rows_before_error(
    conn: &Connection,
    sql: &str,
    mut row: impl FnMut(&odbcd::client::Row),
) -> (usize, odbcd::client::Error) {
    let mut c = conn.cursor();
    c.execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut rows = 0;
    loop {
        match c.fetchone() {
            Ok(Some(r)) => {
                row(&r);
                rows += 1;
            }
            Ok(None) => panic!("{sql}: the result ended after {rows} rows without an error"),
            Err(e) => return (rows, e),
        }
    }
}

fn fetch_all(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut c = conn.cursor();
    c.execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
    c.fetchall()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(Vec::from)
        .collect()
}

/// Every cell of `table` read through odbcd equals psql's; then every row goes back in as
/// parameters into a copy of the table, which psql prints identically.
fn pg_table_is_exact(conn: &Connection, port: u16, db: &str, table: &str) {
    let sql = format!("SELECT * FROM {table} ORDER BY id");
    let ours = fetch_all(conn, &sql);
    let theirs = psql_rows(port, db, &sql);
    assert_eq!(ours.len(), theirs.len(), "{table}: row count");
    let mut wrong = Vec::new();
    for (r, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(o.len(), t.len(), "{table}: columns");
        for (c, (ov, tv)) in o.iter().zip(t).enumerate() {
            if !matches_psql(ov, tv.as_deref()) {
                wrong.push(format!("row {r} col {c}: odbcd {ov:?}, psql {tv:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{table} differs:\n{}", wrong.join("\n"));

    let copy = format!("{table}_in");
    let mut c = conn.cursor();
    c.execute(&format!("CREATE TABLE {copy} (LIKE {table})"), &[])
        .unwrap();
    for row in &ours {
        let marks = vec!["?"; row.len()].join(", ");
        c.execute(&format!("INSERT INTO {copy} VALUES ({marks})"), row)
            .unwrap_or_else(|e| panic!("{table} row {:?} as parameters: {e}", row[0]));
    }
    let back = psql_rows(port, db, &format!("SELECT * FROM {copy} ORDER BY id"));
    assert_eq!(back.len(), theirs.len(), "{table}: rows in as parameters");
    for (r, (b, t)) in back.iter().zip(&theirs).enumerate() {
        assert_eq!(b, t, "{table} row {r} changed on its way in as parameters");
    }
}

const PG_TABLES: &str = r#"
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE TABLE nums (id int, i2 int2, i4 int4, i8 int8, n numeric, n3838 numeric(38,38),
  n102 numeric(10,2), f4 real, f8 float8, m money);
INSERT INTO nums VALUES
 (1, -32768, -2147483648, -9223372036854775808,
  12345678901234567890123456789012345678901234567890.123456789, -0.5, -99999999.99,
  -3.4028235e38, -1.7976931348623157e308, -92233720368547758.08),
 (2, 32767, 2147483647, 9223372036854775807, 'NaN',
  0.99999999999999999999999999999999999999, 0, 1.1, 0.30000000000000004, 92233720368547758.07),
 (3, 0, 0, 0, 0, 0, 0.01, 'NaN', 'NaN', 0),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 1, 1, 1, -0.000000000000000000000000000000000000000000000000001,
  0.00000000000000000000000000000000000001, 1, 'Infinity', '-Infinity', 0.01),
 (6, -1, -1, -1, 'Infinity', -0.00000000000000000000000000000000000001, 12345678.9,
  1e-45, 5e-324, -0.01),
 (7, 2, 2, 2, '-Infinity', 0.1, -0.1, -0.0, -0.0, 1.5);
CREATE TABLE texts (id int, v varchar, t text, c char(5), vc varchar(10), j json, jb jsonb,
  x xml, arr int[], tarr text[], ci citext, h hstore);
INSERT INTO texts VALUES
 (1, repeat('v', 5000), repeat('t', 100000), 'ab', 'ten chars!', 
  ('{"k": "' || repeat('j', 3000) || '", "a": [1, 2.50, null]}')::json,
  ('{"k": "' || repeat('b', 3000) || '", "a": [1, 2.50, null]}')::jsonb,
  ('<a>' || repeat('x', 2000) || '</a>')::xml, ARRAY(SELECT generate_series(1, 1000)),
  ARRAY['a,b', 'c"d', NULL, ''], repeat('CiText', 400),
  hstore(ARRAY(SELECT 'k' || g FROM generate_series(1, 200) g), ARRAY(SELECT 'v' || g FROM generate_series(1, 200) g))),
 (2, '', '', '', '', '""', '{}', '', '{}', '{}', '', ''),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 'NULL', 'null', 'NULL', 'NULL', 'null', 'null', '<n/>', '{NULL}', '{NULL}', 'NULL', 'NULL=>NULL'),
 (5, E'A\u00e9\u4e16\U0001F350\U00020000\U00030000\U000E0041\U000F0000\U0010FFFD',
  E'tab\there\r\nCRLF \\ back ''quote'' "dq"', E'\u00e9\U0001F350', E'\U0001F350\U0001F350',
  '"\u00e9 \\u00e9 \ud83c\udf50"', E'{"\U0001F350": "\u00e9"}', '<e>&amp;&lt;</e>',
  '{-2147483648,2147483647}', E'{"\U0001F350", "x y"}', E'\u00c9T\u00c9', E'"\U0001F350"=>"\u00e9"');
CREATE TABLE times (id int, d date, t time, tz timetz, ts timestamp, iv interval);
INSERT INTO times VALUES
 (1, '2024-02-29', '12:34:56.789012', '12:00:00+05:30', '1999-12-31 23:59:59.123456',
  '1 year 2 mons 3 days 04:05:06.789'),
 (2, '0001-01-01', '00:00:00', '23:59:59.999999-14:59', '0044-03-15 12:00:00 BC', '-1 day'),
 (3, '9999-12-31', '24:00:00', '00:00:00+00', '2024-01-01 10:00:00.5', '00:00:00'),
 (4, NULL, NULL, NULL, NULL, NULL),
 (5, '2000-01-01', '23:59:59.999999', '01:02:03.5-08', '4713-01-01 00:00:00 BC',
  '178000000 years'),
 (6, '1970-01-01', '00:00:00.000001', '12:00:00+14', '9999-12-31 23:59:59.999999', '1 microsecond');
CREATE TABLE wide (id int, v varchar, j jsonb, n numeric);
INSERT INTO wide SELECT g, repeat(chr(945 + g % 20), g * g), jsonb_build_object('k', repeat('w', g * 97)),
  (repeat('9', g) || '.' || repeat('1', g))::numeric
  FROM generate_series(1, 400) g;
INSERT INTO wide VALUES (401, repeat('z', 300000), '[]', 0);
CREATE TABLE misc (id int, b bool, by bytea, u uuid, ip inet, net cidr, mac macaddr,
  r int4range, ts tsvector, bits bit varying(20));
INSERT INTO misc VALUES
 (1, true, '\x', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '10.0.0.0/8',
  '08:00:2b:01:02:03', '[1,10)', 'a fat cat', B'10101'),
 (2, false, (SELECT string_agg(set_byte('\x00'::bytea, 0, g), '') FROM generate_series(0, 255) g),
  '00000000-0000-0000-0000-000000000000', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',
  'empty', '', B''),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

#[test]
fn postgres_values_are_exactly_what_psql_shows_in_and_out() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("fidelity");
    pg.psql("fidelity", PG_TABLES);
    let (_s, _odbc, conn) = server.connect(&pg.connstr("fidelity"));
    // `wide` is read in bulk (psqlodbc declares 255 characters and 28 digits): values outgrow
    // their buffers, are read again whole, and the buffers widen as the result set goes on.
    for table in ["nums", "texts", "times", "misc", "wide"] {
        pg_table_is_exact(&conn, pg.port, "fidelity", table);
    }
}

/// Timestamps are read from psqlodbc's structs: where the struct cannot be told from one
/// psqlodbc made up (a midnight on the days around today, which it puts in for a year after
/// 9999), the cell is read again as text, in bulk, deep in a result and in both directions.
#[test]
fn postgres_timestamps_from_structs_are_exact_even_where_psqlodbc_makes_one_up() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("fidelity_stamps");
    pg.psql(
        "fidelity_stamps",
        "CREATE TABLE stamps (id int, ts timestamp, ts3 timestamp(3));
         INSERT INTO stamps SELECT i, v,
             CASE WHEN i % 8 = 5 THEN timestamp '9999-12-31 23:59:59.998' ELSE v END
           FROM (SELECT i, CASE i % 8
             WHEN 0 THEN current_date::timestamp
             WHEN 1 THEN current_date::timestamp - interval '1 day'
             WHEN 2 THEN current_date::timestamp + interval '1 day'
             WHEN 3 THEN timestamp '0044-03-15 12:00:00 BC' + i * interval '1 second'
             WHEN 4 THEN timestamp '2000-01-01' + i * interval '1 microsecond'
             WHEN 5 THEN timestamp '9999-12-31 23:59:59.999999'
             WHEN 6 THEN timestamp '4714-11-24 00:00:00 BC' + i * interval '1 day'
             ELSE NULL END AS v FROM generate_series(1, 2000) i) t",
    );
    let (_s, _odbc, conn) = server.connect(&pg.connstr("fidelity_stamps"));
    pg_table_is_exact(&conn, pg.port, "fidelity_stamps", "stamps");
    // A timestamp with time zone at today's midnight is the wall-clock time (the cluster
    // runs in UTC), typed.
    let today = pg.psql("fidelity_stamps", "SELECT current_date::timestamp::text");
    let rows = fetch_all(&conn, "SELECT current_date::timestamptz");
    assert!(
        matches!(rows[0][0], Value::Timestamp(_)),
        "{:?}",
        rows[0][0]
    );
    assert_eq!(rows[0][0].to_string(), today);
    // A year after 9999 among midnights of today (each read again) is refused at its row.
    for n in [3, 700, 5000] {
        let (rows, e) = rows_before_error(
            &conn,
            &format!("SELECT i, CASE WHEN i = {n} THEN timestamp '10000-01-01' ELSE current_date::timestamp END AS t FROM generate_series(1, 6000) i"),
            |row| assert_eq!(row.get::<Value>(1).to_string(), today),
        );
        assert_eq!(rows, n - 1, "{e}");
        assert_eq!(e.sqlstate, "22008", "{e}");
        assert!(e.message.contains("0000-00-00 00:00:00"), "{e}");
    }
}

/// psqlodbc makes up the server's local date for a year after 9999, in the server's time
/// zone: with a zone whose date is not UTC's now, such a value is still refused at its row,
/// among that local date's midnights (each read again) and the UTC date's (taken as read).
#[test]
fn a_made_up_timestamp_is_refused_in_a_time_zone_whose_date_is_not_utcs() {
    let pg = pg();
    let _db = pg.database("fidelity_zone");
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // POSIX zones count west of Greenwich: "XXX-14" is 14 hours ahead of UTC.
    let (zone, shift) = if secs % 86_400 >= 10 * 3_600 {
        ("XXX-14", 14 * 3_600)
    } else {
        ("XXX+12", -12 * 3_600)
    };
    let local_days = (secs as i64 + shift).div_euclid(86_400);
    let local = pg.psql(
        "fidelity_zone",
        &format!("SELECT (date '1970-01-01' + {local_days})::timestamp::text"),
    );
    let utc = pg.psql("fidelity_zone", "SELECT current_date::timestamp::text");
    assert_ne!(local, utc);
    for isolation in ["", "[Session]\ndriver_isolation = process\n"] {
        let server = TestServer::start_in_env(isolation, &[("TZ", zone)]);
        let (_s, _odbc, conn) = server.connect(&pg.connstr("fidelity_zone"));
        for n in [3, 5000] {
            let (rows, e) = rows_before_error(
                &conn,
                &format!(
                    "SELECT i, CASE WHEN i = {n} THEN timestamp '10000-01-01' \
                     WHEN i % 2 = 0 THEN timestamp '{local}' ELSE timestamp '{utc}' END \
                     FROM generate_series(1, 6000) i"
                ),
                |row| {
                    let i = row.get::<Value>(0).to_string().parse::<i64>().unwrap();
                    let want = if i % 2 == 0 { &local } else { &utc };
                    assert_eq!(&row.get::<Value>(1).to_string(), want);
                },
            );
            assert_eq!(rows, n - 1, "{zone} {isolation:?}: {e}");
            assert_eq!(e.sqlstate, "22008", "{e}");
        }
    }
}

/// The README's type table documents what psqlodbc cannot carry; these are those lines.
#[test]
fn postgres_values_psqlodbc_cannot_convert_are_documented_errors_or_choices() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("fidelity_limits");
    let (_s, _odbc, conn) = server.connect(&pg.connstr("fidelity_limits"));
    // A date psqlodbc cannot convert is refused, naming the column and the way out.
    for (value, stand_in) in [
        ("'infinity'::date", "0000-00-00"),
        ("'10000-01-01'::date", "1000-00-00"),
        ("'294276-12-31 23:59:59'::timestamp", "0000-00-00 00:00:00"),
        ("'-infinity'::timestamp", "9999-01-01 00:00:00 BC"),
    ] {
        let mut c = conn.cursor();
        let e = c
            .execute(&format!("SELECT 1 AS one, {value} AS day"), &[])
            .and_then(|c| c.fetchall())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            (e.class, e.sqlstate.as_str()),
            (ErrorClass::DataError, "22008"),
            "{e}"
        );
        assert!(e.message.contains("column 2 (\"day\")"), "{e}");
        assert!(
            e.message.contains(stand_in) && e.message.contains("::text"),
            "{e}"
        );
    }
    // Deep in a result, in bulk and row by row (a long text column makes the server read
    // piecewise): the rows before it arrive, then the error; never a result cut short.
    for (n, extra) in [
        (3, ""),
        (40, ""),
        (1500, ""),
        (5000, ", repeat('x', 9000) AS long"),
    ] {
        let (rows, e) = rows_before_error(
            &conn,
            &format!("SELECT i, CASE WHEN i = {n} THEN date 'infinity' ELSE date '2000-01-01' END AS day{extra} FROM generate_series(1, 10000) i"),
            |_| {},
        );
        assert_eq!(rows, n - 1, "{e}");
        assert_eq!(e.sqlstate, "22008", "{e}");
    }
    // Cast to text, each is exactly psql's.
    let rows = fetch_all(
        &conn,
        "SELECT 'infinity'::date::text, '-infinity'::timestamp::text, '0044-03-15 BC'::date::text, '2024-03-31 01:30:00+01'::timestamptz::text",
    );
    assert_eq!(
        rows[0],
        [
            "infinity",
            "-infinity",
            "0044-03-15 BC",
            "2024-03-31 00:30:00+00"
        ]
        .map(Value::from)
    );
    // Documented: timestamptz comes as the wall-clock time in the session's time zone (psqlodbc
    // drops the offset; the test cluster runs in UTC).
    let rows = fetch_all(&conn, "SELECT '2024-03-31 01:30:00+01'::timestamptz");
    assert!(
        matches!(rows[0][0], Value::Timestamp(_)),
        "{:?}",
        rows[0][0]
    );
    assert_eq!(rows[0][0].to_string(), "2024-03-31 00:30:00");
}

/// The `sqlite3` shell's `quote()` of each cell, NULL as `NULL`.
fn sqlite_quoted(db: &std::path::Path, table: &str, columns: usize) -> Vec<Vec<String>> {
    let cols: Vec<String> = (0..columns).map(|i| format!("quote(c{i})")).collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY c0", cols.join(", "));
    sqlite3(db, &sql)
}

fn sqlite3(db: &std::path::Path, sql: &str) -> Vec<Vec<String>> {
    let out = Command::new("sqlite3")
        .args(["-batch", "-separator", "\u{1f}", "-newline", "\u{1e}"])
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 runs");
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split('\u{1e}')
        .filter(|r| !r.is_empty())
        .map(|r| r.split('\u{1f}').map(str::to_owned).collect())
        .collect()
}

/// Whether odbcd's value is the cell `quote()` printed.
fn matches_quote(v: &Value, quoted: &str) -> bool {
    let text = |s: &str| format!("'{}'", s.replace('\'', "''"));
    match v {
        Value::Null => quoted == "NULL",
        Value::Bool(b) => quoted == if *b { "1" } else { "0" },
        Value::Int(i) => quoted == i.to_string(),
        Value::Float(f) => match quoted {
            "Inf" => *f == f64::INFINITY,
            "-Inf" => *f == f64::NEG_INFINITY,
            q => q.parse::<f64>().is_ok_and(|q| q == *f),
        },
        Value::Text(s) | Value::Decimal(s) => quoted == text(s),
        Value::Bytes(b) => quoted == format!("X'{}'", odbcd::hex::hex(b).to_ascii_uppercase()),
        Value::Date(d) => quoted == text(&d.to_string()),
        Value::Time(t) => quoted == text(&t.to_string()),
        Value::Timestamp(t) => quoted == text(&t.to_string()),
    }
}

const SQLITE_COLUMNS: usize = 12;
const SQLITE_DDL: &str = "(c0 INTEGER PRIMARY KEY, c1 INTEGER, c2 REAL, c3 NUMERIC(12,2), c4 TEXT, c5 VARCHAR(10), c6 BLOB, c7, c8 DATE, c9 TIME, c10 TIMESTAMP, c11 BOOLEAN)";

/// Edge values of every storage class in columns of every declared type. Rows 100+ hold the
/// cases the README's type table documents (asserted by the next test).
const SQLITE_ROWS: &str = "
INSERT INTO dyn VALUES
 (1, 9223372036854775807, 0.1 + 0.2, 12345.67, 'text', 'ü€😀', x'00ff10', 42, '2024-02-29',
  '12:00:00.5', '1999-12-31 23:59:59.123456', 1),
 (2, -9223372036854775808, 123456789012345678.0, 1e300, '', '', x'', 2.5, '2003-03-03 03:03',
  '10:00+02:00', '2003-03-03T03:03:03+02:00', 0),
 (3, 2.5, 5e-324, 'abc', 42, '0.5', 'text in a blob column', 'plain', 2460000.5, '',
  'not a time', 2),
 (4, 'abc', 1e999, '', 'NULL', NULL, NULL, x'', 'not a date', NULL, '', NULL),
 (5, '', -1e999, NULL, 'O''Brien; -- \"x\"', char(10, 13, 9), 1.5, -7, '0044-03-15', '24:00:00',
  '2024-01-01 10:00:00', 'true'),
 (6, NULL, -0.0, -0.5, '1e5', '00042', 12, 'A' || char(119040, 1114109), '2024-13-45',
  '12:34:56.789012345', '2024-02-29 00:00:00.000', 1.0),
 (7, 1.0, 1.7976931348623157e308, 9007199254740993, 'Infinity', 'NaN', 'x''00''', NULL,
  1, 3600, 1700000000, -1);
";

#[test]
fn sqlite_cells_are_exactly_what_the_sqlite3_shell_shows_in_and_out() {
    let server = TestServer::start("");
    let (_s, odbc) = server.open();
    let connstr = server.sqlite("fidelity");
    let db = server.path().join("fidelity.db");
    sqlite3(
        &db,
        &format!("CREATE TABLE dyn {SQLITE_DDL}; CREATE TABLE dyn_in {SQLITE_DDL}; {SQLITE_ROWS}"),
    );
    let conn = odbc.driver_connect(&connstr).unwrap();
    let ours = fetch_all(&conn, "SELECT * FROM dyn ORDER BY c0");
    let theirs = sqlite_quoted(&db, "dyn", SQLITE_COLUMNS);
    assert_eq!(ours.len(), theirs.len());
    let mut wrong = Vec::new();
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!((o.len(), t.len()), (SQLITE_COLUMNS, SQLITE_COLUMNS));
        for (c, (ov, tv)) in o.iter().zip(t).enumerate() {
            if !matches_quote(ov, tv) {
                wrong.push(format!("row {} col c{c}: odbcd {ov:?}, sqlite3 {tv}", t[0]));
            }
        }
    }
    assert!(wrong.is_empty(), "differs:\n{}", wrong.join("\n"));

    // Back in as parameters: the shell shows the copy exactly as the original.
    let mut c = conn.cursor();
    let marks = ["?"; SQLITE_COLUMNS].join(", ");
    for row in &ours {
        c.execute(&format!("INSERT INTO dyn_in VALUES ({marks})"), row)
            .unwrap_or_else(|e| panic!("row {:?} as parameters: {e}", row[0]));
    }
    assert_eq!(sqlite_quoted(&db, "dyn_in", SQLITE_COLUMNS), theirs);
}

/// sqliteodbc hands every value over as text, so three spellings are ambiguous; the README's
/// type table documents how odbcd reads them.
#[test]
fn sqlite_documented_spellings() {
    let server = TestServer::start("");
    let (_s, odbc) = server.open();
    let db = server.path().join("spellings.db");
    sqlite3(
        &db,
        "CREATE TABLE s (id INTEGER PRIMARY KEY, u, t TEXT);
         INSERT INTO s VALUES (1, '42', CAST(x'ff41' AS TEXT)), (2, 'X''00FF''', 'X''00FF'''), (3, '2.5', '2.5');",
    );
    // All of them are text to SQLite.
    assert!(sqlite3(&db, "SELECT typeof(u), typeof(t) FROM s")
        .iter()
        .flatten()
        .all(|t| t == "text"));
    let conn = odbc.driver_connect(&server.sqlite("spellings")).unwrap();
    let rows = fetch_all(&conn, "SELECT u, t FROM s ORDER BY id");
    // Text that is not UTF-8 comes as its bytes, never with replacement characters.
    assert_eq!(rows[0], [Value::Int(42), Value::Bytes(vec![0xff, b'A'])]);
    // A text spelled like sqliteodbc's blob literal reads as that blob, in every column.
    assert_eq!(
        rows[1],
        [Value::Bytes(vec![0, 255]), Value::Bytes(vec![0, 255])]
    );
    // In a column without affinity a number-like text reads as the number; with text
    // affinity it stays text.
    assert_eq!(rows[2], [Value::Float(2.5), Value::from("2.5")]);
}
