//! psqlodbc's cursor transactions (PostgreSQL with declare/fetch, `UseDeclareFetch=1`):
//! under autocommit psqlodbc keeps an open query's cursor in a transaction it began itself,
//! commits it after the next statement that is not a query without checking the commit, and
//! rolls it back when a query run as a cursor fails, reporting the other cursors ended where
//! their rows stop. Through odbcd a statement answered Ok is stored, a transaction the client
//! began is never committed for it, and a result never ends cleanly short of its rows.

mod common;

use common::{pg::pg, TestServer};
use odbcd::client::{BatchMode, BatchStatement, Connection, Cursor, Value};

/// Opens a cursor on a query failing at `failing_row` (after psqlodbc's first batch) and
/// reads its first row.
fn failing_cursor(conn: &Connection, failing_row: i64) -> Cursor {
    let mut rows = conn.cursor();
    rows.execute(
        &format!("SELECT i, 1 / (i - {failing_row}) FROM generate_series(1, 200000) i"),
        &[],
    )
    .unwrap();
    assert_eq!(rows.fetchone().unwrap().unwrap()[0], Value::Int(1));
    rows
}

/// Opens a cursor on 100,000 rows and reads the first.
fn good_cursor(conn: &Connection) -> Cursor {
    let mut rows = conn.cursor();
    rows.execute("SELECT i FROM generate_series(1, 100000) i", &[])
        .unwrap();
    assert_eq!(rows.fetchone().unwrap().unwrap()[0], Value::Int(1));
    rows
}

/// Reads a cursor to its end: how many rows it gave in all (`read` already) and the error
/// it ended with, if any.
fn read_to_end(c: &mut Cursor, mut read: usize) -> (usize, Option<odbcd::client::Error>) {
    loop {
        match c.fetchmany(Some(5000)) {
            Ok(b) if b.is_empty() => return (read, None),
            Ok(b) => read += b.len(),
            Err(e) => return (read, Some(e)),
        }
    }
}

/// A statement's outcome agrees with the table: stored if answered Ok, not if refused.
fn stored_or_refused(
    pg: &common::pg::Pg,
    db: &str,
    x: i64,
    outcome: Result<(), String>,
    what: &str,
) {
    let stored = pg.psql(db, &format!("SELECT count(*) FROM t WHERE x = {x}"));
    match outcome {
        Ok(()) => assert_eq!(stored, "1", "{what}: answered Ok but not stored"),
        Err(e) => assert_eq!(stored, "0", "{what}: {e}, yet stored"),
    }
}

/// psqlodbc's declare/fetch (`UseDeclareFetch=1`) opens a cursor inside a
/// transaction even under autocommit, and commits that transaction after
/// each other statement run meanwhile: the commit materialises the rest of
/// the cursor's rows, and a statement failing there rolls the other
/// statement back, which psqlodbc reports as a success. Through odbcd an
/// autocommit statement that was answered Ok is stored, whatever a cursor
/// still open on the same connection does later.
#[test]
fn an_autocommit_insert_beside_an_open_cursor_is_stored_or_refused() {
    let pg = pg();
    let _db = pg.database("api_beside_cursor");
    pg.psql("api_beside_cursor", "CREATE TABLE t (x int)");
    let cs = pg.connstr("api_beside_cursor");
    for isolation in ["", "[Session]\ndriver_isolation = process\n"] {
        pg.psql("api_beside_cursor", "DELETE FROM t");
        let server = TestServer::start(isolation);
        let (_s, _odbc, conn) = server.connect(&cs);
        for (n, failing_row) in [(1, 5000), (2, 20000), (3, 60000)] {
            let mut rows = conn.cursor();
            rows.execute(
                &format!("SELECT i, 1 / (i - {failing_row}) FROM generate_series(1, 200000) i"),
                &[],
            )
            .unwrap();
            assert_eq!(rows.fetchone().unwrap().unwrap()[0], Value::Int(1));
            let mut insert = conn.cursor();
            let inserted = insert
                .execute("INSERT INTO t VALUES (?)", &[Value::Int(n)])
                .map(|_| ());
            let stored = pg.psql(
                "api_beside_cursor",
                &format!("SELECT count(*) FROM t WHERE x = {n}"),
            );
            match inserted {
                Ok(_) => assert_eq!(
                    stored, "1",
                    "{isolation:?} row {failing_row}: answered Ok but not stored"
                ),
                Err(e) => assert_eq!(
                    stored, "0",
                    "{isolation:?} row {failing_row}: {e}, yet stored"
                ),
            }
            // The cursor's statement fails at its row, after the rows before it: never a
            // clean end where the driver lost its rows.
            let (read, end) = read_to_end(&mut rows, 1);
            let e = end.unwrap_or_else(|| {
                panic!("{isolation:?} row {failing_row}: a clean end after {read} rows")
            });
            assert!(read < failing_row, "{isolation:?}: {read} rows, then {e}");
            assert_eq!(e.sqlstate, "22012", "{isolation:?} row {failing_row}: {e}");
            // The connection goes on working afterwards.
            drop(rows);
            let mut check = conn.cursor();
            check.execute("SELECT 1", &[]).unwrap();
            assert_eq!(check.fetchone().unwrap().unwrap()[0], Value::Int(1));
        }
    }
}

/// Two cursors open in psqlodbc's transaction under autocommit; one fails while the server
/// reads ahead, which aborts the transaction the other one lives in. The other one then
/// ends with an error or gives every row, never a clean end short of its rows, whether an
/// insert runs between (it is stored or refused) or not.
#[test]
fn a_cursor_beside_a_failed_one_gives_all_its_rows_or_an_error() {
    let pg = pg();
    let _db = pg.database("api_beside_failed");
    pg.psql("api_beside_failed", "CREATE TABLE t (x int)");
    let cs = pg.connstr("api_beside_failed");
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect(&cs);
    for (failing_row, with_insert) in [(3000, true), (20000, true), (3000, false), (20000, false)] {
        let mut good = conn.cursor();
        good.execute("SELECT i FROM generate_series(1, 100000) i", &[])
            .unwrap();
        assert_eq!(good.fetchone().unwrap().unwrap()[0], Value::Int(1));
        let mut bad = conn.cursor();
        bad.execute(
            &format!("SELECT i, 1 / (i - {failing_row}) FROM generate_series(1, 200000) i"),
            &[],
        )
        .unwrap();
        assert_eq!(bad.fetchone().unwrap().unwrap()[0], Value::Int(1));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (_, bad_end) = read_to_end(&mut bad, 1);
        assert_eq!(bad_end.map(|e| e.sqlstate).as_deref(), Some("22012"));
        if with_insert {
            let mut insert = conn.cursor();
            let inserted = insert
                .execute("INSERT INTO t VALUES (?)", &[Value::Int(failing_row)])
                .map(|_| ());
            let stored = pg.psql(
                "api_beside_failed",
                &format!("SELECT count(*) FROM t WHERE x = {failing_row}"),
            );
            match &inserted {
                Ok(()) => assert_eq!(stored, "1", "answered Ok but not stored"),
                Err(e) => assert_eq!(stored, "0", "{e}, yet stored"),
            }
            pg.psql("api_beside_failed", "DELETE FROM t");
        }
        let (read, end) = read_to_end(&mut good, 1);
        if end.is_none() {
            assert_eq!(
                read, 100_000,
                "row {failing_row}, insert {with_insert}: a clean end after {read} rows"
            );
        }
    }
}

/// A transaction the client began in SQL under autocommit stays the client's: nothing
/// commits it early because a cursor is open in it, and its rollback takes everything back.
#[test]
fn a_transaction_begun_in_sql_beside_an_open_cursor_is_rolled_back_whole() {
    let pg = pg();
    let _db = pg.database("api_sql_begin");
    pg.psql("api_sql_begin", "CREATE TABLE t (x int)");
    let cs = pg.connstr("api_sql_begin");
    for isolation in ["", "[Session]\ndriver_isolation = process\n"] {
        let server = TestServer::start(isolation);
        let (_s, _odbc, conn) = server.connect(&cs);
        for (begin, end) in [
            ("BEGIN", "ROLLBACK"),
            ("START TRANSACTION", "ROLLBACK WORK"),
        ] {
            let mut tx = conn.cursor();
            tx.execute(begin, &[]).unwrap();
            tx.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
            let mut rows = conn.cursor();
            rows.execute("SELECT i FROM generate_series(1, 100000) i", &[])
                .unwrap();
            assert_eq!(rows.fetchone().unwrap().unwrap()[0], Value::Int(1));
            tx.execute("INSERT INTO t VALUES (2)", &[]).unwrap();
            let mut other = conn.cursor();
            other.execute("SELECT 1", &[]).unwrap();
            tx.execute("INSERT INTO t VALUES (3)", &[]).unwrap();
            drop(rows);
            drop(other);
            tx.execute(end, &[]).unwrap();
            assert_eq!(
                pg.psql("api_sql_begin", "SELECT count(*) FROM t"),
                "0",
                "{isolation:?} {begin}: rolled back, yet stored"
            );
        }
        // After the client's transaction, the protection is back: an insert beside a
        // failing cursor is stored or refused.
        let mut rows = conn.cursor();
        rows.execute(
            "SELECT i, 1 / (i - 20000) FROM generate_series(1, 200000) i",
            &[],
        )
        .unwrap();
        assert_eq!(rows.fetchone().unwrap().unwrap()[0], Value::Int(1));
        let mut insert = conn.cursor();
        let inserted = insert.execute("INSERT INTO t VALUES (4)", &[]).map(|_| ());
        let stored = pg.psql("api_sql_begin", "SELECT count(*) FROM t WHERE x = 4");
        match &inserted {
            Ok(()) => assert_eq!(stored, "1", "{isolation:?}: answered Ok but not stored"),
            Err(e) => assert_eq!(stored, "0", "{isolation:?}: {e}, yet stored"),
        }
        drop(rows);
        pg.psql("api_sql_begin", "DELETE FROM t");
    }
}

/// A statement failing at once beside an open cursor (under autocommit, in the transaction
/// psqlodbc holds the cursor in) leaves the cursor giving every row or an error.
#[test]
fn a_cursor_beside_a_statement_failing_at_once_gives_all_its_rows_or_an_error() {
    let pg = pg();
    let _db = pg.database("api_beside_failing_now");
    pg.psql(
        "api_beside_failing_now",
        "CREATE TABLE t (x int PRIMARY KEY)",
    );
    pg.psql("api_beside_failing_now", "INSERT INTO t VALUES (1)");
    let cs = pg.connstr("api_beside_failing_now");
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect(&cs);
    for failing in [
        "SELECT 1/0",
        "SELECT i, 1 / (i - 10) FROM generate_series(1, 100) i",
        "INSERT INTO t VALUES (1)",
        "SELEC 1",
    ] {
        let mut good = conn.cursor();
        good.execute("SELECT i FROM generate_series(1, 100000) i", &[])
            .unwrap();
        assert_eq!(good.fetchone().unwrap().unwrap()[0], Value::Int(1));
        let mut other = conn.cursor();
        let e = other.execute(failing, &[]).map(|_| ());
        let e = match e {
            Err(e) => e,
            Ok(()) => other.fetchall().map(|_| ()).unwrap_err(),
        };
        let (read, end) = read_to_end(&mut good, 1);
        if end.is_none() {
            assert_eq!(
                read, 100_000,
                "{failing} ({e}): a clean end after {read} rows"
            );
        }
        // The connection goes on.
        let mut check = conn.cursor();
        check.execute("SELECT count(*) FROM t", &[]).unwrap();
        assert_eq!(check.fetchone().unwrap().unwrap()[0], Value::Int(1));
    }
}

/// A result read through a cursor in a transaction that is then rolled back: with
/// psqlodbc's declare/fetch its rows went with the transaction, and it ends with an error
/// after the rows already read (never a clean, short end); without declare/fetch psqlodbc
/// holds every row already, and all of them come.
#[test]
fn a_result_whose_transaction_was_rolled_back_gives_all_its_rows_or_an_error() {
    let pg = pg();
    let _db = pg.database("api_rolled_back_result");
    let cs = pg.connstr("api_rolled_back_result");
    let whole = cs.replace("UseDeclareFetch=1", "UseDeclareFetch=0");
    let server = TestServer::start("");
    for (connstr, declare_fetch) in [(&cs, true), (&whole, false)] {
        let (_s, _odbc, conn) = server.connect(connstr);
        for how in ["api", "sql", "sql under autocommit"] {
            if how == "sql under autocommit" {
                conn.cursor().execute("BEGIN", &[]).unwrap();
            } else {
                conn.set_autocommit(false).unwrap();
            }
            let mut rows = conn.cursor();
            rows.execute("SELECT i FROM generate_series(1, 100000) i", &[])
                .unwrap();
            assert_eq!(rows.fetchone().unwrap().unwrap()[0], Value::Int(1));
            match how {
                "api" => conn.rollback().unwrap(),
                _ => {
                    conn.cursor().execute("ROLLBACK", &[]).unwrap();
                }
            }
            let (read, end) = read_to_end(&mut rows, 1);
            match end {
                None => assert_eq!(
                    read, 100_000,
                    "declare/fetch {declare_fetch}, {how}: a clean end after {read} rows"
                ),
                Some(e) => {
                    assert!(declare_fetch, "{how}: {e} though every row was read");
                    assert_eq!(e.sqlstate, "25P02", "{how}: {e}");
                }
            }
            drop(rows);
            conn.set_autocommit(true).unwrap();
        }
    }
}

/// A statement whose text merely holds the word BEGIN (a body, a string, a name) begins no
/// transaction: the protection of the statements beside open cursors stays on after it.
#[test]
fn a_begin_inside_a_body_or_a_string_leaves_the_protection_on() {
    let pg = pg();
    let db = "ct_begin_word";
    let _db = pg.database(db);
    pg.psql(db, "CREATE TABLE t (x int); CREATE TABLE log (s text)");
    let cs = pg.connstr(db);
    let server = TestServer::start("");
    for (x, text) in [
        (1, "DO $$ BEGIN PERFORM 1; BEGIN PERFORM 2; END; END $$"),
        (2, "INSERT INTO log VALUES ('begin; start transaction')"),
        (3, "SELECT 'savepoint' AS \"begin\""),
        (
            4,
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$",
        ),
        (5, "SELECT 1 AS autocommit -- begin\n"),
    ] {
        let (_s, _odbc, conn) = server.connect(&cs);
        conn.cursor().execute(text, &[]).unwrap();
        let mut rows = failing_cursor(&conn, 20000);
        let mut insert = conn.cursor();
        let inserted = insert
            .execute("INSERT INTO t VALUES (?)", &[Value::Int(x)])
            .map(|_| ())
            .map_err(|e| e.to_string());
        stored_or_refused(pg, db, x, inserted, text);
        let (read, end) = read_to_end(&mut rows, 1);
        assert!(end.is_some(), "{text}: a clean end after {read} rows");
    }
}

/// An atomic batch is a transaction of its own: inside one the client began in SQL it is
/// refused, and the client's rollback takes back everything.
#[test]
fn an_atomic_batch_inside_a_transaction_begun_in_sql_is_refused() {
    let pg = pg();
    let db = "ct_batch_in_begin";
    let _db = pg.database(db);
    pg.psql(db, "CREATE TABLE t (x int)");
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect(&pg.connstr(db));
    let mut tx = conn.cursor();
    tx.execute("BEGIN", &[]).unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    let e = conn
        .batch(
            vec![BatchStatement {
                sql: "INSERT INTO t VALUES (2)".into(),
                params: vec![],
            }],
            BatchMode::Atomic,
            10,
        )
        .unwrap_err();
    assert_eq!(e.sqlstate, "25000", "{e}");
    tx.execute("ROLLBACK", &[]).unwrap();
    assert_eq!(pg.psql(db, "SELECT count(*) FROM t"), "0");
    // After it, atomic batches run again.
    conn.batch(
        vec![BatchStatement {
            sql: "INSERT INTO t VALUES (3)".into(),
            params: vec![],
        }],
        BatchMode::Atomic,
        10,
    )
    .unwrap();
    assert_eq!(pg.psql(db, "SELECT count(*) FROM t"), "1");
}

/// In the client's transaction (autocommit off, or begun in SQL) psqlodbc rolls back the
/// whole transaction when a statement fails: a cursor opened in it gives every row or ends
/// with an error, never a clean end short of its rows; a statement that succeeds leaves it
/// whole.
#[test]
fn a_failure_in_the_clients_transaction_never_ends_a_cursor_short() {
    let pg = pg();
    let db = "ct_client_tx_failure";
    let _db = pg.database(db);
    pg.psql(db, "CREATE TABLE t (x int)");
    let cs = pg.connstr(db);
    for isolation in ["", "[Session]\ndriver_isolation = process\n"] {
        let server = TestServer::start(isolation);
        let (_s, _odbc, conn) = server.connect(&cs);
        for begun_in_sql in [false, true] {
            for (statement, fails) in [
                ("SELECT 2", false),
                ("INSERT INTO t VALUES (5)", false),
                ("SELECT 1/0", true),
                ("INSERT INTO nope VALUES (1)", true),
                (
                    "SELECT i, 1 / (i - 3000) FROM generate_series(1, 5000) i",
                    true,
                ),
            ] {
                let mut tx = conn.cursor();
                if begun_in_sql {
                    tx.execute("BEGIN", &[]).unwrap();
                } else {
                    conn.set_autocommit(false).unwrap();
                }
                let mut rows = good_cursor(&conn);
                let mut other = conn.cursor();
                let failed = match other.execute(statement, &[]) {
                    Err(_) => true,
                    Ok(_) if statement.starts_with("SELECT") => {
                        read_to_end(&mut other, 0).1.is_some()
                    }
                    Ok(_) => false,
                };
                assert_eq!(failed, fails, "{statement}");
                let (read, end) = read_to_end(&mut rows, 1);
                let what = format!("{isolation:?} begun in SQL {begun_in_sql}, {statement}");
                match end {
                    None => assert_eq!(read, 100_000, "{what}: a clean end after {read} rows"),
                    Some(e) => assert!(fails, "{what}: {e}, though nothing failed"),
                }
                drop(rows);
                drop(other);
                if begun_in_sql {
                    tx.execute("ROLLBACK", &[]).unwrap();
                } else {
                    conn.rollback().unwrap();
                    conn.set_autocommit(true).unwrap();
                }
            }
        }
    }
}

/// A text of several statements that starts with a query and writes: psqlodbc types it by
/// its first statement and commits nothing after it, so beside an open cursor its write would
/// wait in psqlodbc's transaction; it is stored as answered.
#[test]
fn a_query_followed_by_a_write_in_one_text_beside_a_cursor_is_stored() {
    let pg = pg();
    let db = "ct_multi";
    let _db = pg.database(db);
    pg.psql(db, "CREATE TABLE t (x int)");
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect(&pg.connstr(db));
    let mut rows = failing_cursor(&conn, 20000);
    let mut multi = conn.cursor();
    let first = multi
        .execute("SELECT 1; INSERT INTO t VALUES (1)", &[])
        .map(|_| ())
        .map_err(|e| e.to_string());
    let _ = multi.nextset();
    drop(multi);
    let mut other = conn.cursor();
    let second = other
        .execute("INSERT INTO t VALUES (2)", &[])
        .map(|_| ())
        .map_err(|e| e.to_string());
    stored_or_refused(pg, db, 1, first, "the text of two statements");
    stored_or_refused(pg, db, 2, second, "the insert after it");
    let (read, end) = read_to_end(&mut rows, 1);
    assert!(end.is_some(), "a clean end after {read} rows");
}

/// The same with an executemany and a procedure call that fail in the client's transaction.
#[test]
fn a_failed_executemany_or_call_in_the_clients_transaction_never_ends_a_cursor_short() {
    let pg = pg();
    let db = "ct_client_tx_many";
    let _db = pg.database(db);
    pg.psql(
        db,
        "CREATE TABLE t (x int PRIMARY KEY);
         CREATE FUNCTION boom(v int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1 / v; END $$",
    );
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect(&pg.connstr(db));
    for how in ["executemany", "callproc"] {
        conn.set_autocommit(false).unwrap();
        let mut rows = good_cursor(&conn);
        let mut other = conn.cursor();
        let e = match how {
            "executemany" => other
                .executemany(
                    "INSERT INTO t VALUES (?)",
                    &[vec![Value::Int(1)], vec![Value::Int(1)]],
                )
                .map(|_| ())
                .unwrap_err(),
            _ => other
                .callproc("boom", &[Value::Int(0)])
                .map(|_| ())
                .unwrap_err(),
        };
        let (read, end) = read_to_end(&mut rows, 1);
        if end.is_none() {
            assert_eq!(read, 100_000, "{how} ({e}): a clean end after {read} rows");
        }
        drop(rows);
        drop(other);
        conn.rollback().unwrap();
        conn.set_autocommit(true).unwrap();
    }
}

/// Transaction statements written the many ways PostgreSQL reads them: a `BEGIN` after a
/// nested comment, an escaped string or a name with `$` in it begins the client's transaction
/// (its rollback takes back everything); a `COMMIT` with a comment, words after it or in a
/// text of several statements ends it (the protection beside open cursors is back after it).
#[test]
fn transaction_statements_are_read_as_postgresql_reads_them() {
    let pg = pg();
    let db = "ct_texts";
    let _db = pg.database(db);
    pg.psql(db, "CREATE TABLE t (x int)");
    let cs = pg.connstr(db);
    let server = TestServer::start("");
    let (_s, _odbc, conn) = server.connect(&cs);
    // (A BEGIN after a query in one text is not among them: psqlodbc types such a text as a
    // query and takes the transaction for its own, in-process too; see the README.)
    for begin in [
        "/* off:\n SELECT 1; /* note */\n*/\nBEGIN",
        "INSERT INTO t SELECT 1 WHERE E'\\'' = ''; BEGIN",
        "INSERT INTO t SELECT 1 AS a$b$ WHERE false; BEGIN",
    ] {
        let mut tx = conn.cursor();
        tx.execute(begin, &[]).unwrap();
        while tx.nextset().unwrap_or(false) {}
        tx.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
        let mut rows = good_cursor(&conn);
        tx.execute("INSERT INTO t VALUES (2)", &[]).unwrap();
        drop(rows.fetchmany(Some(10)));
        drop(rows);
        tx.execute("ROLLBACK", &[]).unwrap();
        assert_eq!(pg.psql(db, "SELECT count(*) FROM t"), "0", "{begin:?}");
    }
    for (x, end) in [
        (3, "COMMIT -- done"),
        (4, "/* app */ COMMIT"),
        (5, "COMMIT AND NO CHAIN"),
        (6, "COMMIT; SELECT 1"),
    ] {
        let mut tx = conn.cursor();
        tx.execute("BEGIN", &[]).unwrap();
        tx.execute(end, &[]).unwrap();
        while tx.nextset().unwrap_or(false) {}
        // Autocommit again: a query runs, and an insert beside a failing cursor is stored
        // or refused, the cursor ending with its error.
        let mut check = conn.cursor();
        check.execute("SELECT 1", &[]).unwrap();
        let mut rows = failing_cursor(&conn, 20000);
        let mut insert = conn.cursor();
        let inserted = insert
            .execute("INSERT INTO t VALUES (?)", &[Value::Int(x)])
            .map(|_| ())
            .map_err(|e| e.to_string());
        stored_or_refused(pg, db, x, inserted, end);
        let (read, error) = read_to_end(&mut rows, 1);
        assert!(error.is_some(), "{end:?}: a clean end after {read} rows");
    }
}
