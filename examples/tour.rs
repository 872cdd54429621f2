//! The client library as an application uses it, in one run: fail-over over the configured
//! servers, typed rows and parameters, a transaction guard, `executemany` with a failing set,
//! a query timeout, a cancel from another thread, four threads on one session, and the async
//! facade. `tests/tour.rs` runs it against the test servers (PostgreSQL).
//!
//! ```sh
//! cargo run --example tour -- client-config.ini "Driver={PostgreSQL Unicode};Servername=..."
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use odbcd::client::tokio::AsyncSession;
use odbcd::client::{ClientConfig, Connection, Error, ErrorClass, OpenOptions, ServerSession};
use odbcd::params;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(config), Some(connect)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: tour CLIENT_CONFIG CONNECTION_STRING");
        return ExitCode::from(2);
    };
    match tour(config, connect) {
        Ok(()) => {
            println!("tour complete");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tour failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn tour(config: &str, connect: &str) -> Result<(), Error> {
    // Fail-over: the configuration lists a server that is down before one that is up.
    let mut session = ServerSession::new(Some(config.as_ref()), None)?;
    let odbc = session.open_with(&OpenOptions::new())?;
    println!(
        "fail-over: session on [{}]",
        session.server_name().unwrap_or_default()
    );
    let conn = odbc.driver_connect(connect)?;
    let mut c = conn.cursor();
    c.execute("DROP TABLE IF EXISTS tour_fruit", &[])?;
    c.execute(
        "CREATE TABLE tour_fruit (id BIGINT PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(8, 2), note TEXT)",
        &[],
    )?;

    // executemany from an iterator, inside a transaction guard: all or nothing.
    let tx = conn.transaction()?;
    tx.cursor().executemany(
        "INSERT INTO tour_fruit VALUES (?, ?, ?, ?)",
        [
            params![
                1,
                "apple",
                odbcd::client::Value::Decimal("0.50".into()),
                None::<&str>
            ],
            params![
                2,
                "pear",
                odbcd::client::Value::Decimal("1.25".into()),
                "green"
            ],
            params![
                3,
                "plum",
                odbcd::client::Value::Decimal("0.75".into()),
                None::<&str>
            ],
        ],
    )?;
    tx.commit()?;
    let tx = conn.transaction()?;
    let mut t = tx.cursor();
    let sets = [
        params![4, "fig", None::<&str>, None::<&str>],
        params![1, "dup", None::<&str>, None::<&str>],
    ];
    match t.executemany("INSERT INTO tour_fruit VALUES (?, ?, ?, ?)", &sets) {
        Err(e) if e.is(ErrorClass::IntegrityError) => {
            println!(
                "executemany: set {:?} failed ({}), rolled back",
                t.failed_set(),
                e.sqlstate
            );
        }
        other => {
            return Err(unexpected(format!(
                "a duplicate key should fail: {other:?}"
            )))
        }
    }
    drop(tx);

    // Typed rows, by name and index.
    c.execute(
        "SELECT id, name, price, note FROM tour_fruit ORDER BY id",
        &[],
    )?;
    let mut total = 0.0;
    for row in c.rows() {
        let row = row?;
        let (id, name, note): (i64, String, Option<String>) =
            (row.get("id"), row.get(1), row.get("note"));
        total += row.get::<f64>("price");
        println!("row: {id} {name} {note:?}");
    }
    println!("typed rows: total price {total:.2}");

    // A query timeout, and a cancel from another thread.
    c.set_query_timeout(1);
    let started = Instant::now();
    let e = c.execute("SELECT pg_sleep(10)", &[]).err();
    println!(
        "timeout: {} after {:.1} s",
        e.map_or("no error".into(), |e| e.sqlstate),
        started.elapsed().as_secs_f64()
    );
    c.set_query_timeout(0);
    let cancel = c.cancel_handle();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        cancel.cancel()
    });
    let e = c.execute("SELECT pg_sleep(10)", &[]).err();
    let asked = canceller
        .join()
        .map_err(|_| unexpected("the cancel thread panicked".into()))??;
    println!(
        "cancel: asked {asked}, statement ended with {}",
        e.map_or("no error".into(), |e| e.sqlstate)
    );

    // Four threads on one session, each with its own connection.
    let counts: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let odbc = odbc.clone();
                s.spawn(move || -> Result<i64, Error> {
                    let conn: Connection = odbc.driver_connect(connect)?;
                    let mut c = conn.cursor();
                    c.execute("SELECT count(*) + ? FROM tour_fruit", &params![i])?;
                    let row = c.fetchone()?.ok_or_else(|| unexpected("no row".into()))?;
                    row.try_get(0)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(unexpected("a thread panicked".into())))
            })
            .collect::<Result<_, _>>()
    })?;
    println!("threads: {counts:?}");

    // The async facade.
    let config = ClientConfig::load(Some(config.as_ref()), None)
        .map_err(|e| Error::new(ErrorClass::ConfigurationError, e.to_string()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| unexpected(e.to_string()))?;
    let names = rt.block_on(async {
        let (session, odbc) = AsyncSession::open(config, OpenOptions::new()).await?;
        let conn = odbc.driver_connect(connect).await?;
        let cursor = conn.cursor();
        cursor
            .execute("SELECT name FROM tour_fruit ORDER BY id", vec![])
            .await?;
        let names: Vec<String> = cursor.fetchall().await?.iter().map(|r| r.get(0)).collect();
        session.close().await?;
        Ok::<_, Error>(names)
    })?;
    println!("async: {names:?}");

    c.execute("DROP TABLE tour_fruit", &[])?;
    session.close()
}

fn unexpected(message: String) -> Error {
    Error::new(ErrorClass::InterfaceError, message)
}
