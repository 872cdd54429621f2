//! Running `odbcd-loadtest` as a user would, for the loadtest's own tests: against a test
//! server's port (or a proxy's in front of it), with the server's ODBC environment, and with
//! its JSON report (and, when asked, its plot) read back.
// Each test file uses what it needs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use crate::common::TestServer;

/// A finished run: its JSON report, and its plot when one was asked for.
pub struct Run {
    pub report: serde_json::Value,
    pub stdout: String,
    pub plot: Option<String>,
}

/// Runs the loadtest against `port` with `args`; fails the test unless it succeeds.
pub fn run(server: &TestServer, port: u16, args: &[&str], plot: bool) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let plot_file: Option<PathBuf> = plot.then(|| dir.path().join("plot.svg"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_odbcd-loadtest"));
    command
        .args(["--port", &port.to_string()])
        .args(args)
        .arg("--json")
        .arg(&json)
        .envs(server.odbc_env().to_vec());
    if let Some(p) = &plot_file {
        command.arg("--plot").arg(p);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        report: serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        plot: plot_file.map(|p| std::fs::read_to_string(p).unwrap()),
    }
}
