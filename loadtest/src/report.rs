//! Measurements and the report: latency histograms (overall and per second), errors by class,
//! the JSON and text reports, and the SVG plot.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

/// What the workers record.
pub struct Stats {
    overall: Mutex<Histogram<u64>>,
    per_second: Mutex<Vec<Histogram<u64>>>,
    errors: Mutex<BTreeMap<String, u64>>,
    first_errors: Mutex<Vec<String>>,
    /// Requests done (measured ones).
    pub requests: AtomicU64,
    /// Errors so far (for the progress line).
    pub error_count: AtomicU64,
    /// Rows fetched.
    pub rows: AtomicU64,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 h at 3 significant digits: constant, valid bounds (creation fails only for more
    // than 5 significant digits or a low bound of 0).
    match Histogram::new_with_bounds(1, 3_600_000_000, 3) {
        Ok(h) => h,
        Err(e) => unreachable!("constant histogram bounds are valid: {e}"),
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            overall: Mutex::new(histogram()),
            per_second: Mutex::new(Vec::new()),
            errors: Mutex::new(BTreeMap::new()),
            first_errors: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            error_count: AtomicU64::new(0),
            rows: AtomicU64::new(0),
        }
    }
}

impl Stats {
    /// A request that took `latency`, started `at` after the measurement began.
    pub fn ok(&self, at: Duration, latency: Duration, rows: u64) {
        let us = (latency.as_micros() as u64).max(1);
        if let Ok(mut h) = self.overall.lock() {
            let _ = h.record(us);
        }
        if let Ok(mut ps) = self.per_second.lock() {
            let i = at.as_secs() as usize;
            while ps.len() <= i {
                ps.push(histogram());
            }
            let _ = ps[i].record(us);
        }
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A failed request: counted by class, the first five printed.
    pub fn error(&self, class: &str, message: &str) {
        if let Ok(mut e) = self.errors.lock() {
            *e.entry(class.to_owned()).or_default() += 1;
        }
        if let Ok(mut f) = self.first_errors.lock() {
            if f.len() < 5 {
                eprintln!("error: {message}");
                f.push(message.to_owned());
            }
        }
        self.error_count.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The report as JSON.
    pub fn report(
        &self,
        head: serde_json::Value,
        secs: f64,
        traffic: (u64, u64),
    ) -> serde_json::Value {
        let h = self
            .overall
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        let requests = self.requests.load(Ordering::Relaxed);
        let rows = self.rows.load(Ordering::Relaxed);
        let errors = self.errors.lock().map(|e| e.clone()).unwrap_or_default();
        let timeline: Vec<serde_json::Value> = self
            .per_second
            .lock()
            .map(|ps| ps.clone())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                serde_json::json!({
                    "second": i,
                    "requests": h.len(),
                    "p50_us": h.value_at_quantile(0.5),
                    "p99_us": h.value_at_quantile(0.99),
                    "max_us": h.max(),
                })
            })
            .collect();
        let mut report = head;
        let fields = serde_json::json!({
            "duration_s": secs,
            "requests": requests,
            "rows": rows,
            "throughput_rps": requests as f64 / secs.max(1e-9),
            "rows_per_s": rows as f64 / secs.max(1e-9),
            "latency_us": {
                "p50": h.value_at_quantile(0.50),
                "p90": h.value_at_quantile(0.90),
                "p99": h.value_at_quantile(0.99),
                "p999": h.value_at_quantile(0.999),
                "max": h.max(),
            },
            "errors": errors,
            "bytes_sent": traffic.0,
            "bytes_received": traffic.1,
            "timeline": timeline,
        });
        if let (Some(r), Some(f)) = (report.as_object_mut(), fields.as_object()) {
            for (k, v) in f {
                r.insert(k.clone(), v.clone());
            }
        }
        report
    }
}

/// The report for people.
pub fn human(r: &serde_json::Value) -> String {
    let l = &r["latency_us"];
    format!(
        "workload {} ({}) | sessions {} | {:.1} s\nrequests {} ({:.0}/s) | rows {} ({:.0}/s)\nlatency µs: p50 {} p90 {} p99 {} p99.9 {} max {}\nbytes sent {} received {}\nerrors {}",
        r["workload"].as_str().unwrap_or_default(),
        r["mode"].as_str().unwrap_or_default(),
        r["sessions"],
        r["duration_s"].as_f64().unwrap_or_default(),
        r["requests"],
        r["throughput_rps"].as_f64().unwrap_or_default(),
        r["rows"],
        r["rows_per_s"].as_f64().unwrap_or_default(),
        l["p50"],
        l["p90"],
        l["p99"],
        l["p999"],
        l["max"],
        r["bytes_sent"],
        r["bytes_received"],
        r["errors"]
    )
}

/// An SVG with throughput per second (top) and latency p50/p99/max per second (bottom).
pub fn svg(r: &serde_json::Value) -> String {
    let points: Vec<(f64, f64, f64, f64)> = r["timeline"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["requests"].as_f64().unwrap_or(0.0),
                        p["p50_us"].as_f64().unwrap_or(0.0),
                        p["p99_us"].as_f64().unwrap_or(0.0),
                        p["max_us"].as_f64().unwrap_or(0.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let (w, h, left, top, panel) = (800.0, 520.0, 70.0, 40.0, 200.0);
    let n = points.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + (w - left - 20.0) * i as f64 / n;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{left}" y="20" font-size="14">odbcd-loadtest: {} ({}), {} sessions</text>"#,
        r["workload"].as_str().unwrap_or_default(),
        r["mode"].as_str().unwrap_or_default(),
        r["sessions"]
    );
    let mut panel_plot = |y0: f64, title: &str, series: &[(&str, &str, Vec<f64>)]| {
        let max = series
            .iter()
            .flat_map(|(_, _, v)| v.iter().copied())
            .fold(1.0_f64, f64::max);
        let _ = write!(
            s,
            r#"<text x="{left}" y="{}">{title} (max {max:.0})</text><line x1="{left}" y1="{}" x2="{left}" y2="{}" stroke="black"/><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/><text x="5" y="{}">{max:.0}</text><text x="5" y="{}">0</text>"#,
            y0 - 6.0,
            y0,
            y0 + panel,
            y0 + panel,
            w - 20.0,
            y0 + panel,
            y0 + 10.0,
            y0 + panel
        );
        for (k, (name, color, values)) in series.iter().enumerate() {
            let pts: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y0 + panel - panel * v / max))
                .collect();
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/><text x="{}" y="{}" fill="{color}">{name}</text>"#,
                pts.join(" "),
                w - 180.0 + 60.0 * k as f64,
                y0 - 6.0
            );
        }
    };
    panel_plot(
        top + 20.0,
        "requests per second",
        &[("req/s", "steelblue", points.iter().map(|p| p.0).collect())],
    );
    panel_plot(
        top + panel + 80.0,
        "latency per second, µs",
        &[
            ("p50", "green", points.iter().map(|p| p.1).collect()),
            ("p99", "orange", points.iter().map(|p| p.2).collect()),
            ("max", "red", points.iter().map(|p| p.3).collect()),
        ],
    );
    let _ = write!(
        s,
        r#"<text x="{left}" y="{}">seconds →</text></svg>"#,
        h - 8.0
    );
    s
}
