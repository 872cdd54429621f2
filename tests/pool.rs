//! `[Pool]`: a closed database connection is reset and reused by the next `connect` of the
//! same user with the same connection string, within the idle timeout and the licence limit.

mod common;

use common::{pg::pg, TestServer};
use odbcd::client::{Connection, ErrorClass, Value};

/// The PostgreSQL backend serving `conn`.
fn backend_pid(conn: &Connection) -> i64 {
    let mut c = conn.cursor();
    c.execute("SELECT pg_backend_pid()", &[]).unwrap();
    match c.fetchone().unwrap() {
        Some(row) => match &row[0] {
            Value::Int(pid) => *pid,
            other => panic!("pid is {other:?}"),
        },
        None => panic!("no pid"),
    }
}

fn count(conn: &Connection, table: &str) -> usize {
    let mut c = conn.cursor();
    c.execute(&format!("SELECT id FROM {table}"), &[]).unwrap();
    c.fetchall().unwrap().len()
}

#[test]
fn a_closed_connection_is_reset_and_reused_then_expires() {
    let pg = pg();
    // Declared before the server: pooled backends live as long as the server does.
    let db = pg.database("pooled");
    let server = TestServer::start("[Pool]\nmax_idle_connections = 4\nidle_timeout = 2\n");
    let (_s, odbc) = server.open();
    let connstr = pg.connstr("pooled");

    let first = odbc.driver_connect(&connstr).unwrap();
    let pid = backend_pid(&first);
    first
        .cursor()
        .execute("CREATE TABLE t (id INTEGER)", &[])
        .unwrap();
    // Work left uncommitted when the connection closes is rolled back, not handed on.
    first.set_autocommit(false).unwrap();
    first
        .cursor()
        .execute("INSERT INTO t VALUES (1)", &[])
        .unwrap();
    first.close().unwrap();
    assert_eq!(
        pg.backends("pooled"),
        1,
        "the closed connection stays pooled"
    );

    let second = odbc.driver_connect(&connstr).unwrap();
    assert_eq!(backend_pid(&second), pid, "the same physical connection");
    assert_eq!(
        count(&second, "t"),
        0,
        "the pooled connection was rolled back"
    );
    // Back in autocommit: a second connection (a new physical one) sees the insert at once.
    second
        .cursor()
        .execute("INSERT INTO t VALUES (2)", &[])
        .unwrap();
    let third = odbc.driver_connect(&connstr).unwrap();
    assert_ne!(backend_pid(&third), pid);
    assert_eq!(count(&third, "t"), 1);

    // Another connection string never gets a pooled connection of the first.
    drop(third);
    drop(second);
    TestServer::wait_until(10, "both connections pooled", || pg.backends("pooled") == 2);
    let other = odbc
        .driver_connect(&format!("{connstr};ReadOnly=0"))
        .unwrap();
    let other_pid = backend_pid(&other);
    assert_ne!(other_pid, pid);
    drop(other);

    // Unused for longer than idle_timeout, every pooled connection is disconnected.
    TestServer::wait_until(15, "the idle connections to expire", || {
        pg.backends("pooled") == 0
    });
    let fresh = odbc.driver_connect(&connstr).unwrap();
    assert_ne!(backend_pid(&fresh), pid);
    drop(fresh);
    drop(server);
    drop(db);
}

#[test]
fn pooled_connections_count_against_the_licence_and_give_way() {
    let pg = pg();
    let db = pg.database("pool_licence");
    let server =
        TestServer::start("[Pool]\nmax_idle_connections = 4\n\n[License]\nmax_connections = 1\n");
    let (_s, odbc) = server.open();
    let connstr = pg.connstr("pool_licence");
    let first = odbc.driver_connect(&connstr).unwrap();
    let pid = backend_pid(&first);
    let e = odbc.driver_connect(&connstr).unwrap_err();
    assert_eq!(e.class, ErrorClass::InterfaceError, "{e}");
    drop(first);
    TestServer::wait_until(10, "the connection to be pooled", || {
        pg.backends("pool_licence") == 1
    });
    // The idle connection of another connection string is disconnected to make room.
    let other = odbc
        .driver_connect(&format!("{connstr};ReadOnly=0"))
        .unwrap();
    assert_ne!(backend_pid(&other), pid);
    TestServer::wait_until(10, "the pooled connection to be disconnected", || {
        pg.backends("pool_licence") == 1
    });
    drop(other);
    drop(server);
    drop(db);
}

#[test]
fn without_a_pool_section_every_close_disconnects() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("unpooled");
    let (_s, odbc) = server.open();
    let connstr = pg.connstr("unpooled");
    let first = odbc.driver_connect(&connstr).unwrap();
    let pid = backend_pid(&first);
    first.close().unwrap();
    TestServer::wait_until(10, "the backend to go", || pg.backends("unpooled") == 0);
    let second = odbc.driver_connect(&connstr).unwrap();
    assert_ne!(backend_pid(&second), pid);
}

#[test]
fn closing_the_session_pools_its_connections_for_the_next_session() {
    let pg = pg();
    let db = pg.database("pool_sessions");
    let server = TestServer::start("[Pool]\nmax_idle_connections = 2\n");
    let connstr = pg.connstr("pool_sessions");
    let (mut first_session, odbc) = server.open();
    let conn = odbc.driver_connect(&connstr).unwrap();
    let pid = backend_pid(&conn);
    first_session.close().unwrap();

    let (_s, _odbc, conn) = server.connect(&connstr);
    assert_eq!(
        backend_pid(&conn),
        pid,
        "the first session's connection, reused"
    );
    drop(conn);
    drop(server);
    drop(db);
}

#[test]
fn a_pooled_connection_whose_backend_died_is_replaced() {
    let pg = pg();
    let db = pg.database("pool_dead");
    // Check every pooled connection before reuse, however briefly it was idle.
    let server = TestServer::start("[Pool]\nmax_idle_connections = 2\ncheck_delay = 0\n");
    let (_s, odbc) = server.open();
    let connstr = pg.connstr("pool_dead");
    let conn = odbc.driver_connect(&connstr).unwrap();
    let pid = backend_pid(&conn);
    drop(conn);
    TestServer::wait_until(10, "the connection to be pooled", || {
        pg.backends("pool_dead") == 1
    });
    // The database goes away under the idle connection (restart, failover, admin kill).
    pg.psql("postgres", &format!("select pg_terminate_backend({pid})"));
    TestServer::wait_until(10, "the backend to end", || pg.backends("pool_dead") == 0);
    let conn = odbc.driver_connect(&connstr).unwrap();
    assert_ne!(
        backend_pid(&conn),
        pid,
        "a fresh connection, not the dead one"
    );
    drop(conn);
    drop(server);
    drop(db);
}

#[test]
fn the_licence_count_stays_exact_under_concurrent_connects_and_closes() {
    let server = TestServer::start(
        "[Pool]\nmax_idle_connections = 3\nidle_timeout = 1\n\n[License]\nmax_connections = 10\n",
    );
    let connstr = server.sqlite("churn");
    let refused = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (server, connstr, refused) = (&server, &connstr, &refused);
            scope.spawn(move || {
                let (mut s, odbc) = server.open();
                // Some connections stay open until the session closes.
                let mut held = None;
                for i in 0..25 {
                    // Half the threads use a connection string of their own.
                    let cs = if t % 2 == 0 {
                        connstr.clone()
                    } else {
                        format!("{connstr};Timeout={}", 1000 + t)
                    };
                    match odbc.driver_connect(&cs) {
                        Ok(conn) => {
                            let mut c = conn.cursor();
                            c.execute("SELECT ?", &[Value::Int(i)]).unwrap();
                            assert_eq!(
                                c.fetchone().unwrap().map(Vec::from),
                                Some(vec![Value::Int(i)])
                            );
                            if t < 3 && i % 5 == 4 {
                                held = Some(conn);
                            } else {
                                conn.close().unwrap();
                            }
                        }
                        Err(e) => {
                            assert_eq!(e.class, ErrorClass::InterfaceError, "{e}");
                            assert!(e.message.contains("allows 10"), "{e}");
                            refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
                s.close().unwrap();
                drop(held);
            });
        }
    });
    let (_s, odbc) = server.open();
    let status = odbc.status().unwrap();
    assert_eq!(status.sessions, 1);
    assert!(
        status.connections <= 3,
        "only pooled ones remain: {status:?}"
    );
    // Idle for longer than idle_timeout, the pooled connections are let go.
    TestServer::wait_until(10, "the pool to empty", || {
        odbc.status().unwrap().connections == 0
    });
    eprintln!(
        "refused at the licence limit: {}",
        refused.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// A transaction begun in SQL under autocommit and left open is not handed to the next user
/// with the connection: what was in it is rolled back, and the next user's statements are
/// committed as they run.
#[test]
fn a_transaction_begun_in_sql_and_left_open_does_not_go_to_the_next_user() {
    let pg = pg();
    let _db = pg.database("pooled_sql_begin");
    pg.psql("pooled_sql_begin", "CREATE TABLE t (id int)");
    let server = TestServer::start("[Pool]\nmax_idle_connections = 2\n");
    let (_s, odbc) = server.open();
    let connstr = pg.connstr("pooled_sql_begin");
    let first = odbc.driver_connect(&connstr).unwrap();
    let mut c = first.cursor();
    c.execute("BEGIN", &[]).unwrap();
    c.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    first.close().unwrap();

    let second = odbc.driver_connect(&connstr).unwrap();
    second
        .cursor()
        .execute("INSERT INTO t VALUES (2)", &[])
        .unwrap();
    assert_eq!(
        pg.psql(
            "pooled_sql_begin",
            "SELECT coalesce(string_agg(id::text, ','), '') FROM t"
        ),
        "2"
    );
    // A connection that began no transaction in SQL is still pooled.
    let pid = backend_pid(&second);
    second.close().unwrap();
    let third = odbc.driver_connect(&connstr).unwrap();
    assert_eq!(backend_pid(&third), pid, "the same physical connection");
}
