//! What the server counts, and the HTTP endpoint that shows it (`[Metrics] listen`): the
//! Prometheus text format on `/metrics`, `/healthz` (the process answers) and `/readyz`
//! (it accepts sessions: 503 while draining), for HAProxy's `option httpchk` and for
//! Kubernetes-style probes.
//!
//! Counters are updated where things happen (listener, login, registry, session, database
//! threads) through the [`Metrics`] in [`super::Shared`]; the gauges (sessions, connections,
//! running requests) are read from the registry when a scrape asks.
//!
//! The endpoint is a deliberately small HTTP/1.x server: `GET` (or `HEAD`) of four paths, one
//! request per connection, the request head at most [`MAX_REQUEST_HEAD`] bytes read within
//! [`HEAD_TIMEOUT`], at most [`MAX_SCRAPERS`] connections at a time and
//! [`MAX_SCRAPERS_PER_ADDRESS`] from one address (others are closed at once). It serves
//! nothing a client could use to change the server, and binds where the operator says (by
//! default nowhere; the example binds loopback).

use std::sync::Arc;
use std::time::Duration;

use std::net::IpAddr;

use dashmap::DashMap;
use prometheus::{
    Counter, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry as MetricRegistry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use actix::Addr;

use super::registry::{Census, Registry, TakeCensus};
use crate::error::ErrorClass;

/// The longest request head (request line and headers) the endpoint reads.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// How long a whole exchange may take (the request head within [`HEAD_TIMEOUT`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Scrape connections served at once; more are closed at once.
pub const MAX_SCRAPERS: usize = 16;

/// Scrape connections served at once from one address.
pub const MAX_SCRAPERS_PER_ADDRESS: usize = 4;

/// How long a scraper has to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(1);

/// Request latency buckets, in seconds: from a loopback round trip to a long report.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Why a connection is refused (the `reason` label of `odbcd_refusals_total`).
pub const REFUSAL_REASONS: &[&str] = &[
    "max_handshakes",
    "max_handshakes_per_address",
    "outside_subnet",
    "handshake_timeout",
    "tls_not_enabled",
    "tls_required",
    "client_certificate",
    "reserve_for_resumes",
    "login",
    "resume_refused",
    "max_sessions",
    "paused",
    "draining",
    "protocol_error",
    "closed_early",
    "network_error",
    "internal",
];

/// Every metric of the server.
pub struct Metrics {
    registry: MetricRegistry,
    /// Connections that completed the handshake and became (or resumed) a session.
    pub handshakes: IntCounterVec,
    /// Connections refused before or at the handshake, by reason.
    pub refusals: IntCounterVec,
    /// Logins refused (wrong user or password, back-off).
    pub logins_failed: IntCounter,
    /// Connects served from the idle pool.
    pub pool_hits: IntCounter,
    /// Connects that found nothing for them in the pool (with pooling on).
    pub pool_misses: IntCounter,
    /// Requests received, by kind.
    pub requests: IntCounterVec,
    /// From a request's arrival to its answer being queued for the client, by kind.
    pub request_seconds: HistogramVec,
    /// Result rows sent to clients.
    pub rows_sent: IntCounter,
    /// Parameter rows received (one per execute, one per set of an executemany).
    pub parameter_rows_received: IntCounter,
    /// Frame bytes sent: `stage="payload"` before compression, `stage="wire"` on the socket.
    pub bytes_sent: IntCounterVec,
    /// Frame bytes received, the same two stages.
    pub bytes_received: IntCounterVec,
    /// Error answers, by the manual's error class.
    pub errors: IntCounterVec,
    /// Requests cancelled, by who asked (`client`, `watchdog`).
    pub cancels: IntCounterVec,
    /// Timeouts, by kind (`request`, `idle_session`, `reconnect_window`, `handshake`).
    pub timeouts: IntCounterVec,
    /// Seconds database-connection threads spent serving requests.
    pub database_busy_seconds: Counter,
    /// `[Session] busy_poll`: polls that found the next request (`found="request"`) and those
    /// that ended without one (`found="nothing"`, the thread then slept).
    pub database_polls: IntCounterVec,
    sessions: IntGaugeVec,
    connections: IntGaugeVec,
    running_requests: IntGauge,
    ready: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn counter_vec(registry: &MetricRegistry, name: &str, help: &str, label: &str) -> IntCounterVec {
    register(
        registry,
        IntCounterVec::new(Opts::new(name, help), &[label]),
    )
}

fn counter(registry: &MetricRegistry, name: &str, help: &str) -> IntCounter {
    register(registry, IntCounter::new(name, help))
}

fn gauge_vec(registry: &MetricRegistry, name: &str, help: &str, label: &str) -> IntGaugeVec {
    register(registry, IntGaugeVec::new(Opts::new(name, help), &[label]))
}

/// Registers a metric just made (its names are constants: both steps cannot fail).
fn register<M: prometheus::core::Collector + Clone + 'static>(
    registry: &MetricRegistry,
    made: prometheus::Result<M>,
) -> M {
    let m = made.unwrap_or_else(|e| unreachable!("each metric is well-formed: {e}"));
    if let Err(e) = registry.register(Box::new(m.clone())) {
        unreachable!("each metric is registered once: {e}");
    }
    m
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero.
    pub fn new() -> Self {
        let r = MetricRegistry::new_custom(Some("odbcd".into()), None).unwrap_or_else(|e| {
            unreachable!("the prefix is valid: {e}");
        });
        let request_seconds = register(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "request_duration_seconds",
                    "From a request's arrival to its answer, by kind",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["kind"],
            ),
        );
        let database_busy_seconds = register(
            &r,
            Counter::new(
                "database_busy_seconds_total",
                "Seconds database-connection threads spent serving requests",
            ),
        );
        let running_requests = register(
            &r,
            IntGauge::new(
                "running_requests",
                "Requests running on database connections now",
            ),
        );
        let ready = register(
            &r,
            IntGauge::new(
                "ready",
                "1 while the server accepts new sessions, 0 while it drains or an admin paused them",
            ),
        );
        Self {
            handshakes: counter_vec(
                &r,
                "handshakes_total",
                "Connections that completed the handshake, by outcome (new or resumed session)",
                "outcome",
            ),
            refusals: counter_vec(
                &r,
                "refusals_total",
                "Connections refused before or at the handshake, by reason",
                "reason",
            ),
            logins_failed: counter(&r, "logins_failed_total", "Logins refused"),
            pool_hits: counter(
                &r,
                "pool_hits_total",
                "Database connects served by an idle pooled connection",
            ),
            pool_misses: counter(
                &r,
                "pool_misses_total",
                "Database connects that found no pooled connection (pooling on)",
            ),
            requests: counter_vec(&r, "requests_total", "Requests received, by kind", "kind"),
            request_seconds,
            rows_sent: counter(&r, "rows_sent_total", "Result rows sent to clients"),
            parameter_rows_received: counter(
                &r,
                "parameter_rows_received_total",
                "Parameter rows received (one per execute, one per executemany set)",
            ),
            bytes_sent: counter_vec(
                &r,
                "sent_bytes_total",
                "Frame bytes sent; stage=payload before compression, stage=wire on the socket",
                "stage",
            ),
            bytes_received: counter_vec(
                &r,
                "received_bytes_total",
                "Frame bytes received; stage=payload after decompression, stage=wire from the socket",
                "stage",
            ),
            errors: counter_vec(
                &r,
                "errors_total",
                "Error answers, by the mxODBC error class",
                "class",
            ),
            cancels: counter_vec(
                &r,
                "cancels_total",
                "Requests cancelled on the database, by who asked",
                "by",
            ),
            timeouts: counter_vec(&r, "timeouts_total", "Timeouts, by kind", "kind"),
            database_busy_seconds,
            database_polls: counter_vec(
                &r,
                "database_polls_total",
                "Database threads' busy polls ([Session] busy_poll), by whether they found the next request",
                "found",
            ),
            sessions: gauge_vec(
                &r,
                "sessions",
                "Open sessions; state=detached waits for its client to resume",
                "state",
            ),
            connections: gauge_vec(
                &r,
                "database_connections",
                "Physical database connections; state=pooled are idle in the pool",
                "state",
            ),
            running_requests,
            ready,
            registry: r,
        }
        .with_known_labels()
    }

    /// Creates the series whose labels are known in advance, so that they show at 0 before
    /// the first event (a rate over a series that appears late misses its first increase).
    fn with_known_labels(self) -> Self {
        for outcome in ["new", "resumed"] {
            self.handshakes.with_label_values(&[outcome]);
        }
        for reason in REFUSAL_REASONS {
            self.refusals.with_label_values(&[reason]);
        }
        for stage in ["payload", "wire"] {
            self.bytes_sent.with_label_values(&[stage]);
            self.bytes_received.with_label_values(&[stage]);
        }
        for by in ["client", "admin", "watchdog"] {
            self.cancels.with_label_values(&[by]);
        }
        for kind in ["request", "idle_session", "reconnect_window", "handshake"] {
            self.timeouts.with_label_values(&[kind]);
        }
        for state in ["attached", "detached"] {
            self.sessions.with_label_values(&[state]);
        }
        for state in ["in_use", "pooled"] {
            self.connections.with_label_values(&[state]);
        }
        self
    }

    /// Counts a request of `kind` received.
    pub fn request(&self, kind: &str) {
        self.requests.with_label_values(&[kind]).inc();
    }

    /// Records a request of `kind` answered `elapsed` after it arrived.
    pub fn answered(&self, kind: &str, elapsed: Duration) {
        self.request_seconds
            .with_label_values(&[kind])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts an error answer.
    pub fn error(&self, class: ErrorClass) {
        self.errors.with_label_values(&[class.name()]).inc();
    }

    /// Counts a refused connection.
    pub fn refused(&self, reason: &str) {
        self.refusals.with_label_values(&[reason]).inc();
    }

    /// Counts a timeout of `kind`.
    pub fn timeout(&self, kind: &str) {
        self.timeouts.with_label_values(&[kind]).inc();
    }

    /// Counts the bytes of frames sent: their sizes on the wire and before compression.
    pub fn sent(&self, frames: &[u8]) {
        let (payload, wire) = crate::proto::frame::sizes(frames);
        self.bytes_sent
            .with_label_values(&["payload"])
            .inc_by(payload as u64);
        self.bytes_sent
            .with_label_values(&["wire"])
            .inc_by(wire as u64);
    }

    /// Counts one frame received: `wire` bytes on the socket, `payload` once decompressed.
    pub fn received(&self, wire: usize, payload: usize) {
        self.bytes_received
            .with_label_values(&["payload"])
            .inc_by(payload as u64);
        self.bytes_received
            .with_label_values(&["wire"])
            .inc_by(wire as u64);
    }

    /// The text exposition of every metric, the gauges set from `census`.
    pub fn render(&self, census: &Census) -> Vec<u8> {
        self.sessions
            .with_label_values(&["attached"])
            .set(i64::from(census.attached));
        self.sessions
            .with_label_values(&["detached"])
            .set(i64::from(census.detached));
        self.connections
            .with_label_values(&["in_use"])
            .set(i64::from(census.in_use));
        self.connections
            .with_label_values(&["pooled"])
            .set(i64::from(census.pooled));
        self.running_requests.set(i64::from(census.running));
        self.ready.set(i64::from(census.ready));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

/// Serves the endpoint on `listener` until the task is dropped; the gauges come from
/// `registry`. A connection beyond [`MAX_SCRAPERS`], or beyond [`MAX_SCRAPERS_PER_ADDRESS`]
/// from one address, is closed at once (a health checker sees a failed check, never a hang).
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, registry: Addr<Registry>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPERS));
    let per_address: Arc<DashMap<IpAddr, usize>> = Arc::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(target: "odbcd::metrics", error = %e, "accept failed");
                actix_rt::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(address_slot) = AddressSlot::take(&per_address, peer.ip()) else {
            tracing::debug!(target: "odbcd::metrics", %peer, "too many scrapes from this address; closed");
            continue;
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(target: "odbcd::metrics", %peer, "too many scrapes; closed");
            continue;
        };
        let metrics = Arc::clone(&metrics);
        let registry = registry.clone();
        actix_rt::spawn(async move {
            let served =
                tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &metrics, &registry)).await;
            if let Ok(Err(e)) = served {
                tracing::debug!(target: "odbcd::metrics", %peer, error = %e, "scrape failed");
            }
            drop(permit);
            drop(address_slot);
        });
    }
}

/// One of an address's [`MAX_SCRAPERS_PER_ADDRESS`] connections, counted until dropped.
struct AddressSlot {
    counts: Arc<DashMap<IpAddr, usize>>,
    address: IpAddr,
}

impl AddressSlot {
    fn take(counts: &Arc<DashMap<IpAddr, usize>>, address: IpAddr) -> Option<Self> {
        let mut n = counts.entry(address).or_insert(0);
        if *n >= MAX_SCRAPERS_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(Self {
            counts: Arc::clone(counts),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        self.counts.remove_if_mut(&self.address, |_, n| {
            *n -= 1;
            *n == 0
        });
    }
}

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/metrics`.
    Metrics,
    /// `/healthz`.
    Health,
    /// `/readyz`.
    Ready,
    /// `/`: a page naming the others.
    Index,
}

/// Why a request head is refused, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    /// The HTTP status.
    pub status: u16,
    /// The reason phrase and body.
    pub reason: &'static str,
}

/// Parses a complete request head (up to and including the blank line): the route, and
/// whether only the head of the answer is wanted (`HEAD`).
///
/// # Errors
/// The status to answer: 400 (not HTTP/1.x), 405 (not GET/HEAD), 404 (unknown path).
pub fn parse_request(head: &[u8]) -> Result<(Route, bool), BadRequest> {
    let bad = BadRequest {
        status: 400,
        reason: "Bad Request",
    };
    let line_end = head.iter().position(|&b| b == b'\n').ok_or(bad.clone())?;
    let line = std::str::from_utf8(&head[..line_end])
        .map_err(|_| bad.clone())?
        .trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad);
    };
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Err(bad);
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            return Err(BadRequest {
                status: 405,
                reason: "Method Not Allowed",
            })
        }
    };
    let path = target.split('?').next().unwrap_or_default();
    let route = match path {
        "/metrics" => Route::Metrics,
        "/healthz" => Route::Health,
        "/readyz" => Route::Ready,
        "/" => Route::Index,
        _ => {
            return Err(BadRequest {
                status: 404,
                reason: "Not Found",
            })
        }
    };
    Ok((route, head_only))
}

/// Reads the request head: up to the blank line, at most [`MAX_REQUEST_HEAD`] bytes.
/// `Ok(None)` when the peer closes first; an empty head when it is too large.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        if head.len() + n > MAX_REQUEST_HEAD {
            return Ok(Some(Vec::new()));
        }
        // Only the new bytes (and the three before them) can complete the blank line.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        let tail = &head[from..];
        if tail.windows(4).any(|w| w == b"\r\n\r\n") || tail.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(head));
        }
    }
}

/// Reads and drops what the peer still sends (a body, pipelined requests), briefly, so that
/// closing does not reset the connection before the peer read the answer.
async fn linger(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

async fn answer(
    mut stream: TcpStream,
    metrics: &Metrics,
    registry: &Addr<Registry>,
) -> std::io::Result<()> {
    // The gauges, or `None` when the registry is gone (the server is stopping).
    let census = || async { registry.send(TakeCensus).await.ok() };
    let Ok(head) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await else {
        // Too slow: closed without an answer.
        return Ok(());
    };
    let Some(head) = head? else {
        return Ok(());
    };
    let (status, reason, content_type, body, head_only) = if head.is_empty() {
        (
            431,
            "Request Header Fields Too Large",
            "text/plain",
            b"request head too large\n".to_vec(),
            false,
        )
    } else {
        match parse_request(&head) {
            Err(b) => (
                b.status,
                b.reason,
                "text/plain",
                format!("{}\n", b.reason).into_bytes(),
                false,
            ),
            Ok((route, head_only)) => {
                let (status, reason, content_type, body) = match route {
                    Route::Health => (200, "OK", "text/plain", b"ok\n".to_vec()),
                    Route::Index => (
                        200,
                        "OK",
                        "text/plain",
                        b"odbcd: /metrics /healthz /readyz\n".to_vec(),
                    ),
                    Route::Ready => match census().await {
                        Some(c) if c.ready => (200, "OK", "text/plain", b"ready\n".to_vec()),
                        _ => (
                            503,
                            "Service Unavailable",
                            "text/plain",
                            b"not ready: new sessions are refused (draining, or paused by an administrator)\n".to_vec(),
                        ),
                    },
                    Route::Metrics => {
                        let census = census().await.unwrap_or_default();
                        (
                            200,
                            "OK",
                            "text/plain; version=0.0.4; charset=utf-8",
                            metrics.render(&census),
                        )
                    }
                };
                (status, reason, content_type, body, head_only)
            }
        }
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(&body);
    }
    stream.write_all(&out).await?;
    stream.shutdown().await?;
    linger(&mut stream).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_refusals() {
        assert_eq!(
            parse_request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Ok((Route::Metrics, false))
        );
        assert_eq!(
            parse_request(b"HEAD /readyz?x=1 HTTP/1.0\r\n\r\n"),
            Ok((Route::Ready, true))
        );
        assert_eq!(
            parse_request(b"POST /metrics HTTP/1.1\r\n\r\n").map_err(|b| b.status),
            Err(405)
        );
        assert_eq!(
            parse_request(b"GET /etc/passwd HTTP/1.1\r\n\r\n").map_err(|b| b.status),
            Err(404)
        );
        assert_eq!(
            parse_request(b"GET /metrics SPDY/3\r\n\r\n").map_err(|b| b.status),
            Err(400)
        );
        assert_eq!(
            parse_request(b"\xff\xfe\r\n\r\n").map_err(|b| b.status),
            Err(400)
        );
        assert_eq!(
            parse_request(b"GET  /metrics HTTP/1.1\r\n\r\n").map_err(|b| b.status),
            Err(400)
        );
    }

    #[test]
    fn the_exposition_names_every_family() {
        let m = Metrics::new();
        m.request("Execute");
        m.answered("Execute", Duration::from_micros(120));
        m.error(ErrorClass::ProgrammingError);
        m.refused("outside_subnet");
        let text = String::from_utf8(m.render(&Census {
            attached: 2,
            ready: true,
            ..Census::default()
        }))
        .unwrap();
        for line in [
            "odbcd_requests_total{kind=\"Execute\"} 1",
            "odbcd_request_duration_seconds_bucket{kind=\"Execute\",le=\"0.00025\"} 1",
            "odbcd_errors_total{class=\"ProgrammingError\"} 1",
            "odbcd_refusals_total{reason=\"outside_subnet\"} 1",
            "odbcd_sessions{state=\"attached\"} 2",
            "odbcd_ready 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }
}
