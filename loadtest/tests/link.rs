//! The link emulator (`odbcd-loadtest link`) between the loadtest and a real odbcd, and what
//! it shows of the client: a round trip costs the link's delay, the bandwidth is a ceiling,
//! and a long result does not wait a round trip per batch (the client keeps several fetches
//! in flight). The margins are wide (factors of two): these check behaviour, the figures are
//! in BENCHMARKS.md.

#[path = "../../tests/common/mod.rs"]
mod common;
mod run;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::TestServer;

/// A running `odbcd-loadtest link`; killed when dropped.
struct Link {
    child: Option<Child>,
    port: u16,
}

impl Link {
    fn start(to: u16, rtt_ms: u32, mbit: u32) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_odbcd-loadtest"))
            .args(["link", "--listen", "127.0.0.1:0"])
            .args(["--to", &format!("127.0.0.1:{to}")])
            .args(["--rtt-ms", &rtt_ms.to_string(), "--mbit", &mbit.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().rsplit(':').next().unwrap().parse().unwrap();
        Self {
            child: Some(child),
            port,
        }
    }

    /// What it logged of each connection, once stopped (after the closes went through).
    fn stop(mut self) -> Vec<serde_json::Value> {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn over_an_emulated_link_a_round_trip_costs_its_delay_and_a_long_result_keeps_the_link_busy() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start("");
    let cs = format!(
        "Driver=SQLite3;Database={};StepAPI=1",
        dir.path().join("link.db").display()
    );
    // 100 ms there and back, 20 Mbit/s.
    let link = Link::start(server.port, 100, 20);

    // Runs `sql` `requests` times through the link.
    let sql_file = dir.path().join("statement.sql");
    let through_link = |sql: &str, requests: &str| {
        std::fs::write(&sql_file, format!("{sql}\n")).unwrap();
        let file = sql_file.to_str().unwrap();
        let args = ["--connect", &cs, "--sql", file, "--requests", requests];
        run::run(&server, link.port, &args, false).report
    };

    // A round trip takes at least the link's.
    let r = through_link("SELECT 1", "5");
    assert!(r["latency_us"]["p50"].as_u64().unwrap() >= 100_000, "{r}");

    // About 3 MB of rows that do not compress much (random hex), in some 50 batches of the
    // default 64,000 bytes. One batch per round trip would need 50 x 100 ms and keep the link
    // busy a quarter of the time at most; with fetches kept in flight the link is the bound.
    let r = through_link(
        "SELECT x, hex(randomblob(500)) FROM (WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 3000) SELECT x FROM g)",
        "1",
    );
    assert_eq!(r["rows"], 3000, "every row once: {r}");
    let bits = r["bytes_received"].as_f64().unwrap() * 8.0;
    let seconds = r["latency_us"]["max"].as_f64().unwrap() / 1e6;
    let busy = bits / seconds / 20e6;
    assert!(bits > 2e7, "{r}");
    // The bandwidth is a ceiling (a little over for the TCP segments' rounding)...
    assert!(busy < 1.05, "{busy} of the link: {r}");
    // ... which the fetch nearly reaches.
    assert!(busy > 0.5, "only {busy} of the link: {r}");

    // Each connection through the link is logged with what it carried.
    let logged = link.stop();
    assert!(!logged.is_empty());
    let down: u64 = logged
        .iter()
        .map(|l| l["down_bytes"].as_u64().unwrap())
        .sum();
    assert!(down as f64 * 8.0 >= bits, "{logged:?}");
}
