//! The harness itself, in short runs against SQLite through a real odbcd (and in-process with
//! `--direct`): every workload, open loop, `--sql`, the JSON report and the plot. No timing
//! assertions: performance lives in BENCHMARKS.md.

#[path = "../../tests/common/mod.rs"]
mod common;
mod run;

use std::process::Command;

use common::TestServer;

fn loadtest(server: &TestServer, args: &[&str]) -> serde_json::Value {
    let r = run::run(server, server.port, args, true);
    assert!(r.stdout.contains("latency µs: p50"));
    assert!(r.plot.unwrap().starts_with("<svg"));
    r.report
}

fn check(r: &serde_json::Value, workload: &str, mode: &str) {
    for key in [
        "workload",
        "sessions",
        "duration_s",
        "requests",
        "rows",
        "throughput_rps",
        "rows_per_s",
        "latency_us",
        "errors",
        "bytes_sent",
        "bytes_received",
        "mode",
    ] {
        assert!(r.get(key).is_some(), "{key} missing in {r}");
    }
    for key in ["p50", "p90", "p99", "p999", "max"] {
        assert!(r["latency_us"][key].as_u64().is_some(), "{key}");
    }
    assert_eq!(r["workload"], workload);
    assert_eq!(r["mode"], mode);
    assert!(r["requests"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["errors"], serde_json::json!({}), "{r}");
}

#[test]
fn every_workload_runs_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start("");
    let cs = format!(
        "Driver=SQLite3;Database={};StepAPI=1",
        dir.path().join("lt.db").display()
    );
    let base = ["--connect", &cs, "--requests", "150"];
    let r = loadtest(&server, &[&base[..], &["--workload", "select1"]].concat());
    check(&r, "select1", "remote");
    assert!(r["bytes_sent"].as_u64().unwrap() > 0 && r["bytes_received"].as_u64().unwrap() > 0);
    check(
        &loadtest(
            &server,
            &[
                &base[..],
                &[
                    "--workload",
                    "lookup",
                    "--prepare-rows",
                    "200",
                    "--sessions",
                    "2",
                ],
            ]
            .concat(),
        ),
        "lookup",
        "remote",
    );
    let r = loadtest(
        &server,
        &[&base[..], &["--workload", "bulk", "--prepare-rows", "200"]].concat(),
    );
    check(&r, "bulk", "remote");
    assert_eq!(
        r["rows"].as_u64().unwrap(),
        r["requests"].as_u64().unwrap() * 200,
        "every row of every fetch"
    );
    check(
        &loadtest(
            &server,
            &[
                &base[..],
                &["--workload", "insert", "--batch", "5", "--sessions", "2"],
            ]
            .concat(),
        ),
        "insert",
        "remote",
    );
    check(
        &loadtest(
            &server,
            &[&base[..], &["--workload", "mixed", "--prepare-rows", "200"]].concat(),
        ),
        "mixed",
        "remote",
    );
    // A new database connection per request, remote and in-process.
    let connect = [
        "--connect",
        &cs,
        "--requests",
        "20",
        "--workload",
        "connect",
    ];
    let r = loadtest(&server, &connect);
    check(&r, "connect", "remote");
    assert_eq!(r["errors"], serde_json::json!({}), "{r}");
    assert_eq!(r["rows"].as_u64().unwrap(), r["requests"].as_u64().unwrap());
    let r = loadtest(&server, &[&connect[..], &["--direct"]].concat());
    check(&r, "connect", "direct");
    // The server's own round trip, without the database; it has no in-process form.
    let r = loadtest(&server, &[&base[..], &["--workload", "ping"]].concat());
    check(&r, "ping", "remote");
    assert_eq!(r["rows"], 0);
    let out = Command::new(env!("CARGO_BIN_EXE_odbcd-loadtest"))
        .args(["--port", &server.port.to_string()])
        .args(base)
        .args(["--workload", "ping", "--direct"])
        .envs(server.odbc_env().to_vec())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no --direct form"));
    // Open loop: latency from the intended start.
    let r = loadtest(
        &server,
        &[
            "--connect",
            &cs,
            "--workload",
            "select1",
            "--rate",
            "300",
            "--duration",
            "1",
        ],
    );
    check(&r, "select1", "remote");
    assert_eq!(r["rate"], 300.0);
    // The same workload in-process, for the remote/direct ratio.
    let r = loadtest(
        &server,
        &[
            &base[..],
            &["--workload", "lookup", "--prepare-rows", "200", "--direct"],
        ]
        .concat(),
    );
    check(&r, "lookup", "direct");
    assert_eq!(r["bytes_sent"], 0);
}

#[test]
fn user_statements_with_generators_and_errors_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start("");
    let cs = format!(
        "Driver=SQLite3;Database={};StepAPI=1",
        dir.path().join("sql.db").display()
    );
    let sql = dir.path().join("work.sql");
    std::fs::write(
        &sql,
        "# a user's workload\nSELECT {int:1:100} + {seq}, '{text:8}' AS t;\nSELECT {session};\n",
    )
    .unwrap();
    let r = loadtest(
        &server,
        &[
            "--connect",
            &cs,
            "--sql",
            sql.to_str().unwrap(),
            "--requests",
            "100",
        ],
    );
    check(&r, &format!("sql:{}", sql.display()), "remote");
    // Errors do not stop the run: they are counted by class.
    std::fs::write(&sql, "SELECT * FROM missing_table\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_odbcd-loadtest"))
        .args([
            "--port",
            &server.port.to_string(),
            "--connect",
            &cs,
            "--sql",
            sql.to_str().unwrap(),
            "--requests",
            "20",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"ProgrammingError\":20"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .matches("error: ")
            .count()
            <= 5,
        "only the first errors are printed"
    );
}
