//! `examples/tour.rs`, the client library's tour, run as an application would against the
//! test servers: the first server in its configuration is down, the second up.

mod common;

use std::process::Command;

use common::{pg::pg, TestServer};

/// The tour example, built by `cargo test` (which builds examples) or `cargo build --examples`.
fn tour_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(|d| d.join("examples").join("tour"))
        .expect("target folder");
    assert!(
        bin.exists(),
        "{} missing: run `cargo test` (which builds examples) or `cargo build --example tour` first",
        bin.display()
    );
    bin
}

#[test]
fn the_tour_runs_against_a_failed_over_server() {
    let pg = pg();
    let _db = pg.database("tour");
    let server = TestServer::start("");
    let dead = common::free_port();
    let config = server.path().join("tour-client.ini");
    std::fs::write(
        &config,
        format!(
            "[A_Connection]\nhost = 127.0.0.1\nport = {dead}\nconnect_timeout = 1\n\n[B_Connection]\nhost = 127.0.0.1\nport = {}\n\n[Communication]\nserver_connections = A_Connection, B_Connection\n",
            server.port
        ),
    )
    .unwrap();
    let out = Command::new(tour_bin())
        .arg(&config)
        .arg(pg.connstr("tour"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for expected in [
        "fail-over: session on [B_Connection]",
        "executemany: set Some(1) failed (23505), rolled back",
        "row: 1 apple None",
        "row: 2 pear Some(\"green\")",
        "typed rows: total price 2.50",
        "timeout: HYT00",
        "cancel: asked true, statement ended with 57014",
        "threads: [3, 4, 5, 6]",
        "async: [\"apple\", \"pear\", \"plum\"]",
        "tour complete",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}\n{stderr}"
        );
    }
}
