//! The rest of mxODBC's API over the wire, as an application uses it: catalog functions and
//! `getinfo` (compared with what the same driver answers in-process), prepared statements and
//! the statement cache, several results, procedures, scrolling, warnings, per-cursor options,
//! connection attributes and batches, on SQLite and PostgreSQL.
#![allow(unsafe_code)]

mod common;

use common::{pg::pg, TestServer};
use odbc_api::handles::{AsStatementRef, Statement as _};
use odbc_api::{ConnectionOptions, Cursor as _, CursorImpl, ResultSetMetadata};
use odbcd::client::{
    BatchMode, BatchOutcome, BatchStatement, CatalogCall, Connection, Cursor, ErrorClass, InfoKind,
    InfoValue, IsolationLevel, ScrollMode, Value, WarningFormat, INFO_TYPES,
};

/// The ODBC functions the in-process side calls directly (odbc-api wraps only some of them).
mod ffi {
    use odbc_api::sys::{HDbc, HStmt, Pointer, SqlReturn};
    #[link(name = "odbc")]
    unsafe extern "C" {
        pub fn SQLTables(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
            d: *const u8,
            dl: i16,
        ) -> SqlReturn;
        pub fn SQLColumns(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
            d: *const u8,
            dl: i16,
        ) -> SqlReturn;
        pub fn SQLPrimaryKeys(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
        ) -> SqlReturn;
        pub fn SQLForeignKeys(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
            d: *const u8,
            dl: i16,
            e: *const u8,
            el: i16,
            f: *const u8,
            fl: i16,
        ) -> SqlReturn;
        pub fn SQLStatistics(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
            unique: u16,
            reserved: u16,
        ) -> SqlReturn;
        pub fn SQLProcedures(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
        ) -> SqlReturn;
        pub fn SQLProcedureColumns(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
            d: *const u8,
            dl: i16,
        ) -> SqlReturn;
        pub fn SQLSpecialColumns(
            s: HStmt,
            t: u16,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
            scope: u16,
            nullable: u16,
        ) -> SqlReturn;
        pub fn SQLTablePrivileges(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
        ) -> SqlReturn;
        pub fn SQLColumnPrivileges(
            s: HStmt,
            a: *const u8,
            al: i16,
            b: *const u8,
            bl: i16,
            c: *const u8,
            cl: i16,
            d: *const u8,
            dl: i16,
        ) -> SqlReturn;
        pub fn SQLGetTypeInfo(s: HStmt, t: i16) -> SqlReturn;
        pub fn SQLGetInfo(c: HDbc, t: u16, v: Pointer, bl: i16, sl: *mut i16) -> SqlReturn;
    }
}

type Rows = Vec<Vec<Option<String>>>;

fn p(s: &Option<String>) -> (*const u8, i16) {
    s.as_deref()
        .map_or((std::ptr::null(), 0), |s| (s.as_ptr(), s.len() as i16))
}

/// The rows `call` gives in this process, through the driver manager, as text (`None` when
/// the driver does not support the function).
fn in_process_catalog(conn: &odbc_api::Connection<'_>, call: &CatalogCall) -> Option<Rows> {
    let mut stmt = conn.preallocate().expect("statement");
    let h = stmt.as_stmt_ref().as_sys();
    let rc = unsafe {
        match call {
            CatalogCall::Tables {
                catalog,
                schema,
                table,
                table_type,
            } => {
                let (a, b, c, d) = (p(catalog), p(schema), p(table), p(table_type));
                ffi::SQLTables(h, a.0, a.1, b.0, b.1, c.0, c.1, d.0, d.1)
            }
            CatalogCall::Columns {
                catalog,
                schema,
                table,
                column,
            } => {
                let (a, b, c, d) = (p(catalog), p(schema), p(table), p(column));
                ffi::SQLColumns(h, a.0, a.1, b.0, b.1, c.0, c.1, d.0, d.1)
            }
            CatalogCall::PrimaryKeys {
                catalog,
                schema,
                table,
            } => {
                let (a, b, c) = (p(catalog), p(schema), p(table));
                ffi::SQLPrimaryKeys(h, a.0, a.1, b.0, b.1, c.0, c.1)
            }
            CatalogCall::ForeignKeys {
                pk_catalog,
                pk_schema,
                pk_table,
                fk_catalog,
                fk_schema,
                fk_table,
            } => {
                let (a, b, c) = (p(pk_catalog), p(pk_schema), p(pk_table));
                let (d, e, f) = (p(fk_catalog), p(fk_schema), p(fk_table));
                ffi::SQLForeignKeys(
                    h, a.0, a.1, b.0, b.1, c.0, c.1, d.0, d.1, e.0, e.1, f.0, f.1,
                )
            }
            CatalogCall::Statistics {
                catalog,
                schema,
                table,
                unique,
                exact,
            } => {
                let (a, b, c) = (p(catalog), p(schema), p(table));
                ffi::SQLStatistics(
                    h,
                    a.0,
                    a.1,
                    b.0,
                    b.1,
                    c.0,
                    c.1,
                    if *unique { 0 } else { 1 },
                    u16::from(*exact),
                )
            }
            CatalogCall::Procedures {
                catalog,
                schema,
                procedure,
            } => {
                let (a, b, c) = (p(catalog), p(schema), p(procedure));
                ffi::SQLProcedures(h, a.0, a.1, b.0, b.1, c.0, c.1)
            }
            CatalogCall::ProcedureColumns {
                catalog,
                schema,
                procedure,
                column,
            } => {
                let (a, b, c, d) = (p(catalog), p(schema), p(procedure), p(column));
                ffi::SQLProcedureColumns(h, a.0, a.1, b.0, b.1, c.0, c.1, d.0, d.1)
            }
            CatalogCall::SpecialColumns {
                identifier_type,
                catalog,
                schema,
                table,
                scope,
                nullable,
            } => {
                let (a, b, c) = (p(catalog), p(schema), p(table));
                ffi::SQLSpecialColumns(
                    h,
                    *identifier_type,
                    a.0,
                    a.1,
                    b.0,
                    b.1,
                    c.0,
                    c.1,
                    *scope,
                    *nullable,
                )
            }
            CatalogCall::TablePrivileges {
                catalog,
                schema,
                table,
            } => {
                let (a, b, c) = (p(catalog), p(schema), p(table));
                ffi::SQLTablePrivileges(h, a.0, a.1, b.0, b.1, c.0, c.1)
            }
            CatalogCall::ColumnPrivileges {
                catalog,
                schema,
                table,
                column,
            } => {
                let (a, b, c, d) = (p(catalog), p(schema), p(table), p(column));
                ffi::SQLColumnPrivileges(h, a.0, a.1, b.0, b.1, c.0, c.1, d.0, d.1)
            }
            CatalogCall::TypeInfo { data_type } => ffi::SQLGetTypeInfo(h, *data_type),
        }
    };
    if rc.0 != 0 && rc.0 != 1 {
        return None;
    }
    let mut cursor = unsafe { CursorImpl::new(stmt.as_stmt_ref()) };
    let n = cursor.num_result_cols().expect("columns") as u16;
    let mut rows = Vec::new();
    let mut buf = Vec::new();
    while let Some(mut row) = cursor.next_row().expect("fetch") {
        let mut cells = Vec::new();
        for c in 1..=n {
            buf.clear();
            let some = row.get_text(c, &mut buf).expect("get text");
            cells.push(some.then(|| String::from_utf8_lossy(&buf).into_owned()));
        }
        rows.push(cells);
    }
    Some(rows)
}

/// The rows of `call` through odbcd, as text.
fn remote_catalog(cursor: &mut Cursor, call: &CatalogCall) -> Result<Rows, odbcd::client::Error> {
    cursor.catalog(call.clone())?;
    Ok(cursor
        .fetchall()
        .expect("rows")
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| (v != Value::Null).then(|| v.to_string()))
                .collect()
        })
        .collect())
}

fn s(x: &str) -> Option<String> {
    Some(x.to_owned())
}

/// Every catalog function, with arguments that name the schema's objects (and NULLs).
fn catalog_calls(schema: Option<String>) -> Vec<CatalogCall> {
    vec![
        CatalogCall::Tables {
            catalog: None,
            schema: schema.clone(),
            table: s("%"),
            table_type: None,
        },
        CatalogCall::Tables {
            catalog: None,
            schema: schema.clone(),
            table: None,
            table_type: s("VIEW"),
        },
        CatalogCall::Columns {
            catalog: None,
            schema: schema.clone(),
            table: s("fruit"),
            column: None,
        },
        CatalogCall::PrimaryKeys {
            catalog: None,
            schema: schema.clone(),
            table: s("fruit"),
        },
        CatalogCall::ForeignKeys {
            pk_catalog: None,
            pk_schema: schema.clone(),
            pk_table: s("fruit"),
            fk_catalog: None,
            fk_schema: None,
            fk_table: None,
        },
        CatalogCall::ForeignKeys {
            pk_catalog: None,
            pk_schema: None,
            pk_table: None,
            fk_catalog: None,
            fk_schema: schema.clone(),
            fk_table: s("basket"),
        },
        CatalogCall::Statistics {
            catalog: None,
            schema: schema.clone(),
            table: s("fruit"),
            unique: false,
            exact: false,
        },
        CatalogCall::Procedures {
            catalog: None,
            schema: schema.clone(),
            procedure: s("two_sets"),
        },
        CatalogCall::ProcedureColumns {
            catalog: None,
            schema: schema.clone(),
            procedure: s("two_sets"),
            column: None,
        },
        CatalogCall::SpecialColumns {
            identifier_type: 1,
            catalog: None,
            schema: schema.clone(),
            table: s("fruit"),
            scope: 2,
            nullable: 1,
        },
        CatalogCall::TablePrivileges {
            catalog: None,
            schema: schema.clone(),
            table: s("fruit"),
        },
        CatalogCall::ColumnPrivileges {
            catalog: None,
            schema: schema.clone(),
            table: s("fruit"),
            column: None,
        },
        CatalogCall::TypeInfo { data_type: 0 },
        CatalogCall::TypeInfo { data_type: 4 },
    ]
}

/// `SQLGetInfo` in this process, read the way the info type's kind says.
fn in_process_info(conn: &odbc_api::Connection<'_>, id: u16, kind: InfoKind) -> Option<InfoValue> {
    let h = conn.as_sys();
    let mut buf = vec![0u8; 32767];
    let mut len: i16 = 0;
    let rc = unsafe { ffi::SQLGetInfo(h, id, buf.as_mut_ptr().cast(), buf.len() as i16, &mut len) };
    if rc.0 != 0 && rc.0 != 1 {
        return None;
    }
    Some(match kind {
        InfoKind::Text => {
            let text = &buf[..(len.max(0) as usize).min(buf.len() - 1)];
            let text = text.split(|&b| b == 0).next().unwrap_or(text);
            InfoValue::Text(String::from_utf8_lossy(text).into_owned())
        }
        InfoKind::U16 => InfoValue::Integer(u64::from(u16::from_ne_bytes([buf[0], buf[1]]))),
        InfoKind::U32 | InfoKind::Bitmask => InfoValue::Integer(u64::from(u32::from_ne_bytes([
            buf[0], buf[1], buf[2], buf[3],
        ]))),
    })
}

/// Compares every catalog call and every getinfo option through odbcd with the driver
/// in-process on the same connection string.
fn compare_with_driver(conn: &Connection, connstr: &str, schema: Option<String>) {
    let env = odbc_api::environment().expect("environment");
    let local = env
        .connect_with_connection_string(connstr, ConnectionOptions::default())
        .expect("in-process connection");
    let mut cursor = conn.cursor();
    for call in catalog_calls(schema) {
        match (
            remote_catalog(&mut cursor, &call),
            in_process_catalog(&local, &call),
        ) {
            (Ok(remote), Some(here)) => assert_eq!(remote, here, "{call:?}"),
            // Both refuse a function the driver lacks (psqlodbc and sqliteodbc have no
            // SQLColumnPrivileges): the driver manager's IM001.
            (Err(e), None) => assert_eq!(e.sqlstate, "IM001", "{call:?}: {e}"),
            (r, h) => panic!("{call:?}: odbcd {r:?}, in-process {h:?}"),
        }
    }
    let mut answered = 0;
    for info in INFO_TYPES {
        let remote = conn.getinfo(info.name);
        let here = in_process_info(&local, info.id, info.kind);
        match (remote, here) {
            (Ok(r), Some(h)) => {
                assert_eq!(r, h, "{}", info.name);
                answered += 1;
            }
            // The driver does not answer this one: odbcd passes its error on.
            (Err(e), None) => assert!(e.is(ErrorClass::DatabaseError), "{}: {e}", info.name),
            (r, h) => panic!("{}: odbcd {r:?}, in-process {h:?}", info.name),
        }
    }
    assert!(answered > 100, "only {answered} info types answered");
}

const SQLITE_SCHEMA: &[&str] = &[
    "create table fruit (id integer primary key, name varchar(20) not null, price numeric(8,2))",
    "create index fruit_name_idx on fruit(name)",
    "create table basket (id integer primary key, fruit_id integer references fruit(id))",
    "create view cheap as select name from fruit where price < 1",
    "insert into fruit values (1, 'apple', 0.5), (2, 'pear', 1.25), (3, 'plum', 0.75)",
];

const PG_SCHEMA: &[&str] = &[
    "create table fruit (id integer primary key, name varchar(20) not null, price numeric(8,2))",
    "create index fruit_name_idx on fruit(name)",
    "create table basket (id integer primary key, fruit_id integer references fruit(id))",
    "create view cheap as select name from fruit where price < 1",
    "insert into fruit values (1, 'apple', 0.5), (2, 'pear', 1.25), (3, 'plum', 0.75)",
    "create function two_sets(n integer) returns setof integer language sql as 'select generate_series(1, n)'",
];

fn run(conn: &Connection, statements: &[&str]) {
    let mut c = conn.cursor();
    for sql in statements {
        c.execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[test]
fn catalog_and_getinfo_equal_the_driver_in_process_on_sqlite() {
    let server = TestServer::start("");
    let connstr = server.sqlite("catalog");
    let (_s, _o, conn) = server.connect(&connstr);
    run(&conn, SQLITE_SCHEMA);
    compare_with_driver(&conn, &connstr, None);
    // A few rows spelled out, so that "equal" is not "both empty".
    let mut c = conn.cursor();
    let tables = remote_catalog(&mut c, &catalog_calls(None)[0]).unwrap();
    let names: Vec<_> = tables.iter().filter_map(|r| r[2].clone()).collect();
    for t in ["basket", "cheap", "fruit"] {
        assert!(names.contains(&t.to_owned()), "{names:?}");
    }
    c.primarykeys(None, None, Some("fruit")).unwrap();
    assert_eq!(c.fetchall().unwrap()[0][3], Value::Text("id".into()));
    assert_eq!(
        conn.getinfo("SQL_DBMS_NAME").unwrap(),
        InfoValue::Text("SQLite".into())
    );
}

#[test]
fn catalog_and_getinfo_equal_the_driver_in_process_on_postgresql() {
    let pg = pg();
    let _db = pg.database("api_catalog");
    let connstr = pg.connstr("api_catalog");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&connstr);
    run(&conn, PG_SCHEMA);
    compare_with_driver(&conn, &connstr, s("public"));
    let mut c = conn.cursor();
    c.statistics(None, Some("public"), Some("fruit"), false, false)
        .unwrap();
    let indexes: Vec<_> = c
        .fetchall()
        .unwrap()
        .into_iter()
        .map(|r| r[5].to_string())
        .collect();
    assert!(
        indexes.contains(&"fruit_name_idx".to_owned()),
        "{indexes:?}"
    );
    c.foreignkeys(None, Some("public"), Some("fruit"), None, None, None)
        .unwrap();
    let fk = c.fetchall().unwrap();
    assert_eq!(fk.len(), 1);
    assert_eq!(fk[0][6], Value::Text("basket".into()));
    c.procedures(None, Some("public"), Some("two_sets"))
        .unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 1);
    assert_eq!(
        conn.getinfo("dbms_name").unwrap(),
        InfoValue::Text("PostgreSQL".into())
    );
    assert!(conn.dbms_version().unwrap().starts_with(char::is_numeric));
    assert!(conn.driver_name().unwrap().contains("psqlodbc"));
    assert!(!conn.odbc_version().unwrap().is_empty());
    // Hostile arguments are refused before they reach the driver.
    let long = "x".repeat(5000);
    let e = c.tables(None, None, Some(&long), None).unwrap_err();
    assert_eq!(e.sqlstate, "HY090");
    let e = c.tables(None, None, Some("a\0b"), None).unwrap_err();
    assert_eq!(e.sqlstate, "HY090");
    let e = conn.getinfo("no_such_thing").unwrap_err();
    assert_eq!(e.sqlstate, "HY096");
}

#[test]
fn prepared_statements_run_again_and_the_cache_survives_errors_and_schema_changes() {
    let pg = pg();
    let _db = pg.database("api_prepared");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_prepared"));
    run(
        &conn,
        &["create table t (i integer, s text, d numeric(10,3), ts timestamp, b bytea, f float8)"],
    );
    let mut c = conn.cursor();
    let insert = "insert into t values (?, ?, ?, ?, ?, ?)";
    assert_eq!(c.prepare(insert).unwrap(), 6);
    assert_eq!(c.command(), Some(insert));
    let rows = [
        vec![
            Value::Int(1),
            Value::Text("a".into()),
            Value::Decimal("1.250".into()),
            Value::Text("2024-02-29 12:34:56.5".into()),
            Value::Bytes(vec![0, 1, 255]),
            Value::Float(0.1),
        ],
        vec![
            Value::Int(2),
            Value::Null,
            Value::Decimal("-3.000".into()),
            Value::Null,
            Value::Bytes(vec![]),
            Value::Float(-1e300),
        ],
    ];
    for r in &rows {
        c.execute_prepared(r).unwrap();
        assert_eq!(c.rowcount(), 1);
    }
    let select = "select i, s, d, b, f from t where i = ?";
    assert_eq!(c.prepare(select).unwrap(), 1);
    let described: Vec<_> = c
        .description()
        .unwrap()
        .iter()
        .map(|d| d.name.clone())
        .collect();
    assert_eq!(described, ["i", "s", "d", "b", "f"]);
    for r in &rows {
        c.execute_prepared(&[r[0].clone()]).unwrap();
        let got = c.fetchall().unwrap();
        assert_eq!(
            got,
            vec![vec![
                r[0].clone(),
                r[1].clone(),
                r[2].clone(),
                r[4].clone(),
                r[5].clone()
            ]]
        );
    }
    // The same text on a new cursor comes from the connection's cache; an error in between
    // (a bad parameter) does not break it.
    let mut other = conn.cursor();
    other
        .execute(select, &[Value::Text("not a number".into())])
        .unwrap_err();
    other.execute(select, &[Value::Int(1)]).unwrap();
    assert_eq!(other.fetchall().unwrap().len(), 1);
    // The table is dropped and made again with other columns: the cached statement is
    // prepared anew instead of failing.
    run(
        &conn,
        &[
            "drop table t",
            "create table t (i integer, s text, d text, b text, f text)",
            "insert into t values (1, 'x', 'y', 'z', 'w')",
        ],
    );
    other.execute(select, &[Value::Int(1)]).unwrap();
    assert_eq!(
        other.fetchall().unwrap(),
        vec![vec![
            Value::Int(1),
            Value::Text("x".into()),
            Value::Text("y".into()),
            Value::Text("z".into()),
            Value::Text("w".into())
        ]]
    );
    // Its description is the new table's too (the result's description is kept with the
    // prepared statement and checked on every run), and so after a column changes its scale.
    let scale_of_d = |c: &odbcd::client::Cursor| c.description().unwrap()[2].scale;
    run(
        &conn,
        &[
            "drop table t",
            "create table t (i integer, s text, d numeric(10,3), b text, f text)",
            "insert into t values (1, 'x', 1.25, 'z', 'w')",
        ],
    );
    for _ in 0..2 {
        other.execute(select, &[Value::Int(1)]).unwrap();
        assert_eq!(scale_of_d(&other), Some(3));
        assert_eq!(
            other.fetchall().unwrap()[0][2],
            Value::Decimal("1.250".into())
        );
    }
    run(&conn, &["alter table t alter column d type numeric(12,5)"]);
    other.execute(select, &[Value::Int(1)]).unwrap();
    assert_eq!(scale_of_d(&other), Some(5));
    assert_eq!(
        other.fetchall().unwrap()[0][2],
        Value::Decimal("1.25000".into())
    );
    // A syntax error is an error at prepare time.
    assert!(c
        .prepare("selec 1")
        .unwrap_err()
        .is(ErrorClass::ProgrammingError));
    // Every other parameter type through a prepared statement, run three times, read back.
    run(&conn, &["create table typed (d date, t time(6), ts timestamp(6), b boolean, n numeric(30,10), i8 bigint)"]);
    let date = odbcd::client::Date {
        year: 2024,
        month: 2,
        day: 29,
    };
    let time = odbcd::client::Time {
        hour: 23,
        minute: 59,
        second: 58,
        nanos: 123_456_000,
    };
    let sets = [
        vec![
            Value::Date(date),
            Value::Time(time),
            Value::Timestamp(odbcd::client::Timestamp { date, time }),
            Value::Bool(true),
            Value::Decimal("12345678901234567890.0123456789".into()),
            Value::Int(i64::MIN),
        ],
        vec![
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Bool(false),
            Value::Decimal("-0.0000000001".into()),
            Value::Int(i64::MAX),
        ],
        vec![
            Value::Date(odbcd::client::Date {
                year: 1,
                month: 1,
                day: 1,
            }),
            Value::Time(odbcd::client::Time {
                hour: 0,
                minute: 0,
                second: 0,
                nanos: 0,
            }),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Int(0),
        ],
    ];
    let mut ins = conn.cursor();
    ins.prepare("insert into typed values (?, ?, ?, ?, ?, ?)")
        .unwrap();
    for set in &sets {
        ins.execute_prepared(set).unwrap();
    }
    let mut sel = conn.cursor();
    sel.prepare("select d, t, ts, b, n, i8 from typed where i8 = ?")
        .unwrap();
    for set in &sets {
        sel.execute_prepared(&[set[5].clone()]).unwrap();
        assert_eq!(sel.fetchall().unwrap(), vec![set.clone()]);
    }
}

#[test]
fn nextset_walks_several_results_and_callproc_calls_a_function() {
    let pg = pg();
    let _db = pg.database("api_sets");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_sets"));
    run(&conn, &[PG_SCHEMA[0], PG_SCHEMA[4], PG_SCHEMA[5]]);
    let mut c = conn.cursor();
    c.execute("select id from fruit order by id; update fruit set price = price where id < 3; select name from fruit where id = 2", &[]).unwrap();
    assert_eq!(
        c.fetchall().unwrap(),
        vec![
            vec![Value::Int(1)],
            vec![Value::Int(2)],
            vec![Value::Int(3)]
        ]
    );
    assert!(c.nextset().unwrap());
    assert!(c.description().is_none());
    assert_eq!(c.rowcount(), 2);
    assert!(c.nextset().unwrap());
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Text("pear".into())])
    );
    assert!(!c.nextset().unwrap());
    // A procedure (a set-returning function) with a result set.
    let params = c.callproc("two_sets", &[Value::Int(3)]).unwrap();
    assert_eq!(params, vec![Value::Int(3)]);
    let got: Vec<_> = c
        .fetchall()
        .unwrap()
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(got, vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
    assert!(c
        .callproc("two_sets(1); drop table fruit; --", &[])
        .is_err());
    // A bulk result, then a long-text result read piecewise: every row of both.
    c.execute(
        "select generate_series(1, 100); select repeat('ab', 3000) || g from generate_series(1, 100) g",
        &[],
    )
    .unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 100);
    assert!(c.nextset().unwrap());
    let long = c.fetchall().unwrap();
    assert_eq!(long.len(), 100, "no row of the second result is skipped");
    for (i, row) in long.iter().enumerate() {
        assert_eq!(
            row[0],
            Value::Text(format!("{}{}", "ab".repeat(3000), i + 1))
        );
    }
    // With max rows, the rest of a result is dropped, not the next result.
    c.set_max_rows(2);
    c.execute("select generate_series(1, 5); select 'x'", &[])
        .unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 2);
    assert!(c.nextset().unwrap());
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Text("x".into())]]);
    c.set_max_rows(0);
    // nextset skips the rows not fetched.
    c.execute("select generate_series(1, 50000); select 'second'", &[])
        .unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(1)])
    );
    assert!(c.nextset().unwrap());
    assert_eq!(
        c.fetchall().unwrap(),
        vec![vec![Value::Text("second".into())]]
    );
}

#[test]
fn a_scrollable_cursor_moves_both_ways_and_a_forward_only_one_refuses() {
    let server = TestServer::start("");
    let pg = pg();
    let _db = pg.database("api_scroll");
    for connstr in [server.sqlite("scroll"), pg.connstr("api_scroll")] {
        let (_s, _o, conn) = server.connect(&connstr);
        run(&conn, &["create table n (i integer)"]);
        let values: Vec<Vec<Value>> = (0..100).map(|i| vec![Value::Int(i)]).collect();
        conn.cursor()
            .executemany("insert into n values (?)", &values)
            .unwrap();
        let mut c = conn.cursor();
        c.execute("select i from n order by i", &[]).unwrap();
        let e = c.scroll(5, ScrollMode::Absolute).unwrap_err();
        assert!(e.is(ErrorClass::NotSupportedError), "{e}");
        c.set_scrollable(true);
        c.execute("select i from n order by i", &[]).unwrap();
        c.scroll(50, ScrollMode::Absolute).unwrap();
        assert_eq!(c.rownumber(), 50);
        assert_eq!(
            c.fetchone().unwrap().map(Vec::from),
            Some(vec![Value::Int(50)])
        );
        c.scroll(-11, ScrollMode::Relative).unwrap();
        assert_eq!(
            c.fetchmany(Some(2)).unwrap(),
            vec![vec![Value::Int(40)], vec![Value::Int(41)]]
        );
        assert_eq!(c.rownumber(), 42);
        c.scroll(98, ScrollMode::Absolute).unwrap();
        assert_eq!(c.fetchall().unwrap().len(), 2);
        c.scroll(0, ScrollMode::Absolute).unwrap();
        assert_eq!(
            c.fetchone().unwrap().map(Vec::from),
            Some(vec![Value::Int(0)])
        );
        assert_eq!(
            c.scroll(-5, ScrollMode::Relative).unwrap_err().sqlstate,
            "HY107"
        );
        assert_eq!(
            c.scroll(500, ScrollMode::Absolute).unwrap_err().sqlstate,
            "HY107"
        );
        c.scroll(99, ScrollMode::Absolute).unwrap();
        assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(99)]]);
    }
}

#[test]
fn warnings_are_collected_raised_or_ignored() {
    let pg = pg();
    let _db = pg.database("api_warn");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_warn"));
    run(&conn, &["create function noisy() returns integer language plpgsql as $$ begin raise notice 'careful: %', 42; return 1; end $$"]);
    let mut c = conn.cursor();
    c.execute("select noisy()", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(1)]]);
    let m = c.messages();
    assert!(!m.is_empty(), "the NOTICE reaches the client");
    assert!(m.iter().any(|d| d.message.contains("careful: 42")), "{m:?}");
    c.clear_messages();
    c.set_warning_format(WarningFormat::Raise);
    let e = c.execute("select noisy()", &[]).unwrap_err();
    assert!(e.is(ErrorClass::Warning), "{e}");
    assert!(e.message.contains("careful: 42"));
    // The result is there all the same.
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(1)]]);
    c.set_warning_format(WarningFormat::Ignore);
    c.clear_messages();
    c.execute("select noisy()", &[]).unwrap();
    assert!(c.messages().is_empty());
    // A statement without warnings adds none.
    let mut quiet = conn.cursor();
    quiet.execute("select 1", &[]).unwrap();
    assert!(quiet.messages().is_empty());
}

#[test]
fn cursor_and_connection_options_reach_the_driver() {
    let pg = pg();
    let _db = pg.database("api_options");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_options"));
    let mut c = conn.cursor();
    c.set_query_timeout(1);
    let e = c.execute("select pg_sleep(5)", &[]).unwrap_err();
    assert!(
        e.sqlstate == "HYT00" || e.sqlstate == "HY008" || e.sqlstate == "57014",
        "{e}"
    );
    c.set_query_timeout(0);
    c.set_max_rows(3);
    c.execute("select generate_series(1, 10)", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 3);
    c.set_max_rows(0);
    c.execute("select generate_series(1, 10)", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 10);
    conn.set_isolation(IsolationLevel::Serializable).unwrap();
    c.execute("show transaction_isolation", &[]).unwrap();
    assert_eq!(
        c.fetchall().unwrap(),
        vec![vec![Value::Text("serializable".into())]]
    );
    // psqlodbc accepts SQL_ATTR_ACCESS_MODE and ignores it: odbcd says so rather than
    // pretend the connection is read-only.
    let e = conn.set_read_only(true).unwrap_err();
    assert!(e.is(ErrorClass::NotSupportedError), "{e}");
    c.execute("create table yes (i integer)", &[]).unwrap();
}

#[test]
fn a_batch_runs_in_one_round_trip_atomically_or_independently() {
    let pg = pg();
    let _db = pg.database("api_batch");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_batch"));
    run(&conn, &["create table b (i integer primary key)"]);
    let st = |sql: &str, params: Vec<Value>| BatchStatement {
        sql: sql.into(),
        params,
    };
    let statements = || {
        vec![
            st("insert into b values (?)", vec![Value::Int(1)]),
            st("insert into b values (?)", vec![Value::Int(1)]),
            st("insert into b values (?)", vec![Value::Int(2)]),
            st("select count(*) from b", vec![]),
        ]
    };
    let count = |conn: &Connection| {
        let mut c = conn.cursor();
        c.execute("select i from b order by i", &[]).unwrap();
        c.fetchall().unwrap()
    };
    let out = conn.batch(statements(), BatchMode::Atomic, 10).unwrap();
    assert!(
        matches!(&out[0], BatchOutcome::Done { rowcount: 1, .. }),
        "{out:?}"
    );
    assert!(
        matches!(&out[1], BatchOutcome::Failed(e) if e.is(ErrorClass::IntegrityError)),
        "{out:?}"
    );
    assert_eq!(out[2], BatchOutcome::Skipped);
    assert_eq!(out[3], BatchOutcome::Skipped);
    assert!(count(&conn).is_empty(), "all or nothing");
    let out = conn
        .batch(statements(), BatchMode::Independent, 10)
        .unwrap();
    assert!(matches!(&out[1], BatchOutcome::Failed(_)));
    match &out[3] {
        BatchOutcome::Done { rows, complete, .. } => {
            assert_eq!(rows, &vec![vec![Value::Int(2)]]);
            assert!(complete);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&conn), vec![vec![Value::Int(1)], vec![Value::Int(2)]]);
    // An atomic batch is a transaction of its own.
    let mut tx = conn.cursor();
    let conn2 = conn;
    conn2.set_autocommit(false).unwrap();
    tx.execute("select 1", &[]).unwrap();
    let e = conn2
        .batch(statements(), BatchMode::Atomic, 10)
        .unwrap_err();
    assert!(e.is(ErrorClass::ProgrammingError));
}

#[test]
fn a_batch_or_executemany_stops_at_max_request_execution_time() {
    let pg = pg();
    let _db = pg.database("api_batch_limit");
    let server =
        TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_request_execution_time = 1\n");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_batch_limit"));
    let sleep = || BatchStatement {
        sql: "select pg_sleep(0.4)".into(),
        params: vec![],
    };
    let started = std::time::Instant::now();
    let out = conn.batch(vec![sleep(); 20], BatchMode::Independent, 10);
    // The watchdog answers for the request (a timeout), or the batch reports the cancelled
    // statement and skips the rest; either way it does not run 20 x 0.4 s.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    match out {
        Err(e) => assert!(e.is(ErrorClass::TimeoutError), "{e}"),
        Ok(out) => assert!(out.contains(&BatchOutcome::Skipped), "{out:?}"),
    }
    let started = std::time::Instant::now();
    let sets: Vec<Vec<Value>> = (0..20).map(|_| vec![Value::Float(0.4)]).collect();
    let e = conn
        .cursor()
        .executemany("select pg_sleep(?)", &sets)
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        e.is(ErrorClass::OperationalError) || e.is(ErrorClass::TimeoutError),
        "{e}"
    );
    // The connection goes on.
    let mut c = conn.cursor();
    c.execute("select 1", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(1)]]);
}

#[test]
fn cursors_read_to_the_end_and_dropped_leave_nothing_behind() {
    let server = TestServer::start("");
    let pg = pg();
    let _db = pg.database("api_leftovers");
    for connstr in [server.sqlite("leftovers"), pg.connstr("api_leftovers")] {
        let (_s, _o, conn) = server.connect(&connstr);
        // More cursors than a connection may hold at once (256), each dropped unclosed after
        // its rows were read: the server let each statement go by itself.
        for i in 0..300 {
            let mut c = conn.cursor();
            if let Err(e) = c.execute("select ?", &[Value::Int(i)]) {
                let log = server.log();
                let tail: Vec<_> = log.lines().rev().take(30).collect();
                panic!("{connstr}: {e}\n{tail:#?}");
            }
            assert_eq!(c.fetchall().unwrap().len(), 1);
        }
        // Statements with further results waiting are kept for nextset, a bounded number.
        if connstr.contains("PostgreSQL") {
            let mut first = conn.cursor();
            first.execute("select 1; select 2", &[]).unwrap();
            first.fetchall().unwrap();
            let mut others = Vec::new();
            for _ in 0..20 {
                let mut c = conn.cursor();
                c.execute("select 1; select 2", &[]).unwrap();
                c.fetchall().unwrap();
                others.push(c);
            }
            let e = first.nextset().unwrap_err();
            assert!(e.message.contains("let go"), "{e}");
            let last = others.last_mut().unwrap();
            assert!(last.nextset().unwrap());
            assert_eq!(last.fetchall().unwrap(), vec![vec![Value::Int(2)]]);
            drop(others);
            for _ in 0..300 {
                let mut c = conn.cursor();
                c.execute("select 1; select 2", &[]).unwrap();
                c.fetchall().unwrap();
            }
        }
        let mut c = conn.cursor();
        c.execute("select 42", &[]).unwrap();
        assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(42)]]);
    }
}

#[test]
fn huge_sql_texts_are_not_cached_and_prepare_keys_are_digests() {
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&server.sqlite("huge"));
    let mut c = conn.cursor();
    // 1 MB of SQL text, run again and again: answered every time, never kept by the cache.
    let big = format!("select '{}'", "x".repeat(1 << 20));
    for _ in 0..3 {
        if let Err(e) = c.execute(&big, &[]) {
            panic!("{e}\n{}", server.log());
        }
        assert_eq!(
            c.fetchall().unwrap()[0][0],
            Value::Text("x".repeat(1 << 20))
        );
    }
    // Two texts that differ late are different statements.
    let a = format!("select 1 /* {} */", "y".repeat(100_000));
    let b = format!("select 2 /* {} */", "y".repeat(100_000));
    if let Err(e) = c.prepare(&a) {
        panic!("{e}\n{}", server.log());
    }
    c.execute_prepared(&[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(1)]]);
    c.execute(&b, &[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(2)]]);
}

/// Starts a server whose log shows the statement cache at work.
fn debug_server() -> TestServer {
    TestServer::start_with(
        "[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Logging]\nlog_level = mx.Log.SYSTEM_ANY\n\n[Access]\nallowed_drivers = SQLite3, PostgreSQL Unicode\nallowed_unsafe_keys = Database\n",
    )
}

fn count(log: &str, what: &str) -> usize {
    log.matches(what).count()
}

#[test]
fn the_statement_cache_serves_repeated_texts_and_skips_huge_ones() {
    let pg = pg();
    let _db = pg.database("api_cache_seen");
    let server = debug_server();
    let (_s, _o, conn) = server.connect(&pg.connstr("api_cache_seen"));
    let before = server.log();
    for i in 0..5 {
        let mut c = conn.cursor();
        c.execute("select ? + 1", &[Value::Int(i)]).unwrap();
        assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(i + 1)]]);
    }
    TestServer::wait_until(5, "log lines", || {
        count(&server.log(), "statement from the cache")
            >= count(&before, "statement from the cache") + 4
    });
    let log = server.log();
    assert_eq!(
        count(&log, "statement prepared for the cache")
            - count(&before, "statement prepared for the cache"),
        1,
        "one prepare for five executes"
    );
    let big = format!("select '{}'", "x".repeat(100_000));
    for _ in 0..2 {
        let mut c = conn.cursor();
        c.execute(&big, &[]).unwrap();
        assert_eq!(c.fetchall().unwrap().len(), 1);
    }
    TestServer::wait_until(5, "log lines", || {
        count(&server.log(), "not for the cache") >= 2
    });
}

#[test]
fn cursor_state_survives_other_cursors_and_never_piles_up() {
    let pg = pg();
    let _db = pg.database("api_state");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_state"));
    // A cursor that waited for further results starts a long result; other cursors' waiting
    // results push the waiting list past its bound; the long result is not touched.
    let mut a = conn.cursor();
    a.execute("select 1; select 2", &[]).unwrap();
    a.fetchall().unwrap();
    a.execute("select generate_series(1, 100000)", &[]).unwrap();
    assert_eq!(a.fetchmany(Some(10)).unwrap().len(), 10);
    let mut others = Vec::new();
    for _ in 0..20 {
        let mut c = conn.cursor();
        c.execute("select 1; select 2", &[]).unwrap();
        c.fetchall().unwrap();
        others.push(c);
    }
    assert_eq!(a.fetchall().unwrap().len(), 100_000 - 10);
    // The evicted cursor, executing anew, has its own further results.
    let first = &mut others[0];
    assert!(first.nextset().unwrap_err().message.contains("let go"));
    first.execute("select 3; select 4", &[]).unwrap();
    first.fetchall().unwrap();
    assert!(first.nextset().unwrap());
    assert_eq!(first.fetchall().unwrap(), vec![vec![Value::Int(4)]]);
    drop(others);
    // Failed prepares, executemany after a half-read result, options changed after execute:
    // dropped cursors leave nothing the connection counts.
    for i in 0..300 {
        let mut c = conn.cursor();
        match i % 3 {
            0 => {
                c.prepare("selec broken").unwrap_err();
            }
            1 => {
                c.execute("select generate_series(1, 10)", &[]).unwrap();
                c.fetchone().unwrap();
                c.executemany("select ?", &[vec![Value::Int(1)]]).unwrap();
            }
            _ => {
                c.set_scrollable(true);
                c.execute("select 1", &[]).unwrap();
                c.set_scrollable(false);
                c.fetchall().unwrap();
            }
        }
    }
    let mut c = conn.cursor();
    c.execute("select 42", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(42)]]);
}

#[test]
fn max_rows_and_scrolling_together() {
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&server.sqlite("maxscroll"));
    run(&conn, &["create table n (i integer)"]);
    let values: Vec<Vec<Value>> = (0..100).map(|i| vec![Value::Int(i)]).collect();
    conn.cursor()
        .executemany("insert into n values (?)", &values)
        .unwrap();
    let mut c = conn.cursor();
    c.set_scrollable(true);
    c.set_max_rows(10);
    c.execute("select i from n order by i", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap().len(), 10);
    c.scroll(0, ScrollMode::Absolute).unwrap();
    assert_eq!(
        c.fetchall().unwrap().len(),
        10,
        "the limit counts from the new position"
    );
    c.scroll(7, ScrollMode::Absolute).unwrap();
    assert_eq!(
        c.fetchall().unwrap(),
        vec![
            vec![Value::Int(7)],
            vec![Value::Int(8)],
            vec![Value::Int(9)]
        ]
    );
}

#[test]
fn an_atomic_batch_cut_short_by_a_cancel_commits_nothing() {
    let pg = pg();
    let _db = pg.database("api_batch_cancel");
    let server =
        TestServer::start("[Activity]\ncheck_interval = 0.1\nmax_request_execution_time = 1\n");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_batch_cancel"));
    run(&conn, &["create table t (i integer)"]);
    let st = |sql: &str| BatchStatement {
        sql: sql.into(),
        params: vec![],
    };
    let out = conn.batch(
        vec![
            st("insert into t values (1)"),
            st("select pg_sleep(3)"),
            st("insert into t values (2)"),
        ],
        BatchMode::Atomic,
        10,
    );
    match out {
        Err(e) => assert!(e.is(ErrorClass::TimeoutError), "{e}"),
        Ok(out) => assert!(
            out.iter().any(|o| !matches!(o, BatchOutcome::Done { .. })),
            "{out:?}"
        ),
    }
    let mut c = conn.cursor();
    c.execute("select count(*) from t", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(0)]]);
    // Autocommit is back on: an insert now stays.
    run(&conn, &["insert into t values (3)"]);
    let (_s2, _o2, other) = server.connect(&pg.connstr("api_batch_cancel"));
    let mut c = other.cursor();
    c.execute("select count(*) from t", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(1)]]);
}

#[test]
fn a_connection_with_attributes_changed_is_not_pooled() {
    let pg = pg();
    let _db = pg.database("api_pool_attrs");
    let server = TestServer::start("[Pool]\nmax_idle_connections = 2\n");
    let connstr = pg.connstr("api_pool_attrs");
    let isolation = |conn: &Connection| {
        let mut c = conn.cursor();
        c.execute("show transaction_isolation", &[]).unwrap();
        c.fetchall().unwrap()[0][0].to_string()
    };
    for _ in 0..3 {
        let (_s, _o, conn) = server.connect(&connstr);
        assert_eq!(
            isolation(&conn),
            "read committed",
            "a pooled connection comes back reset"
        );
        conn.set_isolation(IsolationLevel::Serializable).unwrap();
        assert_eq!(isolation(&conn), "serializable");
        conn.close().unwrap();
    }
}

#[test]
fn procedures_return_output_parameters() {
    use odbcd::client::ProcParam;
    let pg = pg();
    let _db = pg.database("api_outputs");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_outputs"));
    run(
        &conn,
        &[
            "create function add_one(i bigint) returns bigint language sql as 'select i + 1'",
            "create function greet(who text) returns text language sql as $$select 'hello ' || who$$",
            "create function half(n numeric) returns numeric language sql as 'select n / 2'",
            "create table calls (i integer)",
            "create function logged(i bigint) returns bigint language plpgsql as $$ begin insert into calls values (i); return i * 10; end $$",
        ],
    );
    let mut c = conn.cursor();
    let out = c
        .call_procedure(
            "{? = call add_one(?)}",
            &[
                ProcParam::output(Value::Int(0), 0),
                ProcParam::input(Value::Int(41)),
            ],
        )
        .unwrap();
    assert_eq!(out, Some(vec![Value::Int(42), Value::Int(41)]));
    let out = c
        .call_procedure(
            "{? = call greet(?)}",
            &[
                ProcParam::output(Value::Text(String::new()), 100),
                ProcParam::input(Value::Text("wörld".into())),
            ],
        )
        .unwrap();
    assert_eq!(out.unwrap()[0], Value::Text("hello wörld".into()));
    let out = c
        .call_procedure(
            "{? = call half(?)}",
            &[
                ProcParam::output(Value::Decimal(String::new()), 60),
                ProcParam::input(Value::Decimal("5".into())),
            ],
        )
        .unwrap();
    assert_eq!(out.unwrap()[0], Value::Decimal("2.5000000000000000".into()));
    // An output longer than asked for is an error, never a cut value.
    let e = c
        .call_procedure(
            "{? = call greet(?)}",
            &[
                ProcParam::output(Value::Text(String::new()), 4),
                ProcParam::input(Value::Text("x".into())),
            ],
        )
        .unwrap_err();
    assert_eq!(e.sqlstate, "22001", "{e}");
    // It ran once per call (the error above too: the call happened, its answer did not fit).
    let out = c
        .call_procedure(
            "{? = call logged(?)}",
            &[
                ProcParam::output(Value::Int(0), 0),
                ProcParam::input(Value::Int(7)),
            ],
        )
        .unwrap();
    assert_eq!(out.unwrap()[0], Value::Int(70));
    c.execute("select count(*) from calls", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(1)]]);
    // Output buffers are bounded before anything is allocated.
    let e = c
        .call_procedure(
            "{? = call greet(?)}",
            &[
                ProcParam::output(Value::Text(String::new()), 2 << 20),
                ProcParam::input(Value::Text("x".into())),
            ],
        )
        .unwrap_err();
    assert_eq!(e.sqlstate, "HY090");
    // The connection goes on; a procedure with a result set keeps it on the cursor. (Integer
    // parameters go as BIGINT: PostgreSQL finds `two_sets(integer)` for an int8 argument
    // only through a cast, so the function takes bigint here.)
    run(&conn, &["create function two_sets(n bigint) returns setof integer language sql as 'select generate_series(1, n::integer)'"]);
    assert_eq!(
        c.call_procedure("{call two_sets(?)}", &[ProcParam::input(Value::Int(2))])
            .unwrap(),
        None
    );
    assert_eq!(
        c.fetchall().unwrap(),
        vec![vec![Value::Int(1)], vec![Value::Int(2)]]
    );
}

#[test]
fn executemany_reports_the_failing_set_and_follows_the_commit_rule() {
    let pg = pg();
    let _db = pg.database("api_many");
    let server = debug_server();
    let (_s, _o, conn) = server.connect(&pg.connstr("api_many"));
    run(&conn, &["create table m (i bigint primary key, s text)"]);
    let mut c = conn.cursor();
    // Any iterator of parameter lists, sent in one request and run by PostgreSQL's driver as
    // parameter arrays: one execution for the 50 sets.
    c.executemany(
        "insert into m values (?, ?)",
        (1..=50).map(|i| odbcd::params![i, format!("row {i}")]),
    )
    .unwrap();
    assert_eq!(c.rowcount(), 50);
    assert_eq!(c.failed_set(), None);
    TestServer::wait_until(5, "log", || {
        count(&server.log(), "executemany as parameter arrays") >= 1
    });
    // Sets of kinds arrays do not take (booleans) run one by one on one prepared statement.
    let before = count(&server.log(), "statement prepared for the cache");
    run(&conn, &["create table flags (b boolean)"]);
    c.executemany(
        "insert into flags values (?)",
        (0..10).map(|i| odbcd::params![i % 2 == 0]),
    )
    .unwrap();
    assert_eq!(c.rowcount(), 10);
    TestServer::wait_until(5, "log", || {
        count(&server.log(), "statement from the cache") >= 9
    });
    assert!(count(&server.log(), "statement prepared for the cache") - before <= 2);
    // Under autocommit the sets before the failing one stay committed.
    let sets = vec![
        odbcd::params![100, "a"],
        odbcd::params![101, "b"],
        odbcd::params![1, "duplicate"],
        odbcd::params![102, "never"],
    ];
    let e = c
        .executemany("insert into m values (?, ?)", &sets)
        .unwrap_err();
    assert!(e.is(ErrorClass::IntegrityError), "{e}");
    assert!(e.message.contains("parameter set 3 of 4"), "{e}");
    assert_eq!(c.failed_set(), Some(2));
    assert_eq!(c.rowcount(), 2);
    let ids = |conn: &Connection| {
        let mut q = conn.cursor();
        q.execute("select i from m where i >= 100 order by i", &[])
            .unwrap();
        q.fetchall()
            .unwrap()
            .into_iter()
            .map(|r| r.get::<i64>(0))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&conn), vec![100, 101]);
    // In a transaction guard: all or nothing.
    let tx = conn.transaction().unwrap();
    let mut t = tx.cursor();
    let sets = vec![odbcd::params![200, "x"], odbcd::params![200, "again"]];
    assert!(t.executemany("insert into m values (?, ?)", &sets).is_err());
    assert_eq!(t.failed_set(), Some(1));
    drop(tx);
    assert_eq!(ids(&conn), vec![100, 101]);
}

#[test]
fn executemany_sets_of_mixed_value_kinds_on_one_prepared_statement() {
    let pg = pg();
    let _db = pg.database("api_mixed");
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&pg.connstr("api_mixed"));
    run(
        &conn,
        &["create table x (i bigint, s text, n numeric(30,0))"],
    );
    let mut c = conn.cursor();
    c.executemany(
        "insert into x values (?, ?, ?)",
        [
            odbcd::params![1, "a", 5],
            odbcd::params![
                None::<i64>,
                "b",
                odbcd::client::Value::Decimal("18446744073709551615".into())
            ],
            odbcd::params![3, None::<&str>, None::<i64>],
            odbcd::params![4, "d", u64::MAX],
        ],
    )
    .unwrap();
    c.execute("select i, s, n from x order by s nulls last, i", &[])
        .unwrap();
    let rows: Vec<Vec<Value>> = c.fetchall().unwrap().into_iter().map(Vec::from).collect();
    assert_eq!(
        rows,
        vec![
            vec![
                Value::Int(1),
                Value::Text("a".into()),
                Value::Decimal("5".into())
            ],
            vec![
                Value::Null,
                Value::Text("b".into()),
                Value::Decimal("18446744073709551615".into())
            ],
            vec![
                Value::Int(4),
                Value::Text("d".into()),
                Value::Decimal("18446744073709551615".into())
            ],
            vec![Value::Int(3), Value::Null, Value::Null],
        ]
    );
}

#[test]
fn parameter_arrays_carry_every_value_exactly() {
    let pg = pg();
    let _db = pg.database("api_arrays");
    let server = debug_server();
    let (_s, _o, conn) = server.connect(&pg.connstr("api_arrays"));
    run(
        &conn,
        &["create table a (k bigint, f float8, s text, d numeric(30,10))"],
    );
    let sets: Vec<Vec<Value>> = vec![
        odbcd::params![
            i64::MIN,
            0.1,
            "grüße 🍐",
            Value::Decimal("-12345678901234567890.0123456789".into())
        ],
        odbcd::params![2, None::<f64>, "", None::<&str>],
        odbcd::params![
            3,
            -1e300,
            None::<&str>,
            Value::Decimal("0.0000000001".into())
        ],
        odbcd::params![
            i64::MAX,
            f64::MIN_POSITIVE,
            "x".repeat(5000),
            Value::Decimal("7".into())
        ],
    ];
    let mut c = conn.cursor();
    c.executemany("insert into a values (?, ?, ?, ?)", &sets)
        .unwrap();
    assert_eq!(c.rowcount(), 4);
    TestServer::wait_until(5, "log", || {
        count(&server.log(), "executemany as parameter arrays") >= 1
    });
    c.execute("select k, f, s, d from a order by k", &[])
        .unwrap();
    let got: Vec<Vec<Value>> = c.fetchall().unwrap().into_iter().map(Vec::from).collect();
    let mut expected = sets.clone();
    expected[0][3] = Value::Decimal("-12345678901234567890.0123456789".into());
    expected[1][2] = Value::Text(String::new());
    expected[2][3] = Value::Decimal("0.0000000001".into());
    expected[3][3] = Value::Decimal("7.0000000000".into());
    assert_eq!(got, expected);
}

#[test]
fn a_batch_over_the_statement_limit_is_refused_before_anything_runs() {
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&server.sqlite("batch_limit"));
    run(&conn, &["create table t (i integer)"]);
    let statements: Vec<BatchStatement> = (0..10_001)
        .map(|i| BatchStatement {
            sql: "insert into t values (?)".into(),
            params: vec![Value::Int(i)],
        })
        .collect();
    let e = conn
        .batch(statements, BatchMode::Independent, 0)
        .unwrap_err();
    assert_eq!(e.sqlstate, "54000", "{e}");
    let mut c = conn.cursor();
    c.execute("select count(*) from t", &[]).unwrap();
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(0)]]);
}

#[test]
fn result_column_names_come_back_whole_up_to_4096_bytes() {
    let server = TestServer::start("");
    let (_s, _o, conn) = server.connect(&server.sqlite("long_names"));
    let mut c = conn.cursor();
    let name_of = |c: &mut Cursor, sql: &str| {
        c.execute(sql, &[]).unwrap();
        c.description().unwrap()[0].name.clone()
    };
    // Short, past the first (256-byte) buffer, past the cap: cut at 4,096 bytes, at a
    // character boundary.
    for (len, want) in [(10, 10), (255, 255), (256, 256), (300, 300), (5000, 4096)] {
        let alias = "n".repeat(len);
        for _ in 0..2 {
            let got = name_of(&mut c, &format!("SELECT 1 AS \"{alias}\""));
            assert_eq!((len, got.len()), (len, want));
            assert_eq!(got, alias[..want]);
        }
    }
    let alias = format!("a{}", "é".repeat(2100));
    let got = name_of(&mut c, &format!("SELECT 1 AS \"{alias}\""));
    assert_eq!(got, format!("a{}", "é".repeat(2047)));
    // sqliteodbc names an expression by its text, here longer than an SQLSMALLINT counts:
    // its length comes back negative, and the name is still the text's beginning.
    let comment = "x".repeat(40_000);
    let got = name_of(&mut c, &format!("SELECT 1 /* {comment} */ + 1"));
    assert!(
        got.len() <= 4096 && got.starts_with("1 /* xxx"),
        "{}",
        &got[..20]
    );
    assert_eq!(c.fetchall().unwrap(), vec![vec![Value::Int(2)]]);
}

/// A transaction's commit never reports success for what PostgreSQL rolled back: the server
/// reads ahead of an open result only as far as the client's requests go while a transaction
/// is open (a statement failing in rows read ahead would abort the transaction unseen), and
/// reads on freely under autocommit.
#[test]
fn reading_ahead_in_a_transaction_never_hides_an_aborted_commit() {
    let pg = pg();
    let _db = pg.database("api_read_ahead_tx");
    pg.psql("api_read_ahead_tx", "CREATE TABLE t (x int)");
    let cs = pg.connstr("api_read_ahead_tx");
    for isolation in ["", "[Session]\ndriver_isolation = process\n"] {
        let server = TestServer::start(isolation);
        let (_s, _odbc, conn) = server.connect(&cs);
        for (n, failing_row) in [(1, 5000), (2, 20000), (3, 60000)] {
            conn.set_autocommit(false).unwrap();
            conn.cursor()
                .execute("INSERT INTO t VALUES (?)", &[Value::Int(n)])
                .unwrap();
            let mut rows = conn.cursor();
            rows.execute(
                &format!("SELECT i, 1 / (i - {failing_row}) FROM generate_series(1, 200000) i"),
                &[],
            )
            .unwrap();
            assert_eq!(rows.fetchone().unwrap().unwrap()[0], Value::Int(1));
            // Time for the server to read ahead as far as it would.
            std::thread::sleep(std::time::Duration::from_millis(500));
            let committed = conn.commit();
            let stored = pg.psql(
                "api_read_ahead_tx",
                &format!("SELECT count(*) FROM t WHERE x = {n}"),
            );
            match committed {
                Ok(()) => assert_eq!(
                    stored, "1",
                    "{isolation:?} row {failing_row}: committed but not stored"
                ),
                Err(e) => assert_eq!(
                    stored, "0",
                    "{isolation:?} row {failing_row}: {e}, yet stored"
                ),
            }
            drop(rows);
            conn.set_autocommit(true).unwrap();
            pg.psql("api_read_ahead_tx", "DELETE FROM t");
        }
    }
}
