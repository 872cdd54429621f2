//! The `odbcd` server: listeners, the registry actor, session actors and database connection
//! actors. `actors.md` at the top of the repository describes who owns what and the lifecycle.
//!
//! - [`listener`]: binds every connection section's `interface:port`, accepts, checks the
//!   netmask and does the preamble handshake, then starts a [`session::Session`].
//! - [`registry`]: the [`registry::Registry`] actor: sessions and connection counts, limits.
//! - [`session`]: the [`session::Session`] actor, one per client.
//! - [`db`]: the [`db::DbConnection`] actor, one per physical database connection, each on its
//!   own thread.

pub mod access;
pub mod admin;
pub mod chunked;
pub mod db;
pub mod gate;
pub mod handoff;
pub mod handshakes;
pub mod listener;
pub mod login;
pub mod metrics;
pub mod outbox;
pub mod pool;
pub mod registry;
mod reload;
pub mod replay;
pub mod session;
mod systemd;
pub mod transaction_text;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use actix::{Actor, Addr};

use crate::config::ServerConfig;
use registry::Registry;

/// What every session needs: the configuration and the registry.
#[derive(Clone)]
pub struct Shared {
    /// The frozen configuration.
    pub config: Arc<ServerConfig>,
    /// The registry actor.
    pub registry: Addr<Registry>,
    /// Requests running on database connections right now.
    pub running: Arc<AtomicU32>,
    /// Bytes sent to clients and not acknowledged yet, over all sessions (see
    /// [`session::SERVER_OUTPUT_BUDGET`]).
    pub unacknowledged: Arc<std::sync::atomic::AtomicUsize>,
    /// The password file, with `auth_mode = file`.
    pub auth: Option<Arc<login::Authenticator>>,
    /// What is in force now: the latest configuration and the driver manager's drivers and
    /// data sources. Shared by every session (a reload replaces them): connects are checked
    /// against its `[Access]`, admin requests against its `admin_users`, in sessions opened
    /// before the reload too.
    pub in_force: Arc<std::sync::RwLock<Arc<InForce>>>,
    /// What the server counts (see [`metrics`]).
    pub metrics: Arc<metrics::Metrics>,
    /// Where an admin asks for a reload (served by the task that reloads on SIGHUP).
    pub reloads: tokio::sync::mpsc::Sender<reload::ReloadAsked>,
}

/// What is in force now (see [`Shared::in_force`]).
pub struct InForce {
    /// The configuration of the last (re)load.
    pub config: Arc<ServerConfig>,
    /// The driver manager's drivers and data sources.
    pub catalog: access::DriverCatalog,
}

impl Shared {
    /// The configuration and driver catalog in force now.
    pub fn in_force(&self) -> Arc<InForce> {
        Arc::clone(
            &self
                .in_force
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ([{section}]): {source}")]
    Bind {
        /// The connection section.
        section: String,
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The password file is missing or invalid.
    #[error("[Authentication] {0}")]
    Auth(#[from] crate::auth::PasswordFileError),
    /// The TLS key, certificate or client-certificate rules of a section are unusable.
    #[error("[{section}] TLS: {source}")]
    Tls {
        /// The connection section.
        section: String,
        /// What is wrong.
        source: crate::tls::TlsError,
    },
    /// A file the server writes (e.g. `run --ready-file`) could not be written.
    #[error("{what}: {source}")]
    Io {
        /// What was being written.
        what: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Reads the driver manager's drivers and data sources (blocking; at start-up). A driver
/// manager that cannot list them gives an empty catalog: DSN-less connections are then refused
/// and DSN connections take only `client_attributes`, judged against every known driver.
pub fn load_catalog() -> access::DriverCatalog {
    let drivers = db::drivers().unwrap_or_else(|e| {
        tracing::warn!(target: "odbcd::lifecycle", error = %e.message, "cannot list the driver manager's drivers");
        Vec::new()
    });
    let dsns = db::data_sources().unwrap_or_else(|e| {
        tracing::warn!(target: "odbcd::lifecycle", error = %e.message, "cannot list the driver manager's data sources");
        Vec::new()
    });
    let libraries: Vec<(&str, &str)> = drivers
        .iter()
        .filter_map(|d| {
            // unixODBC on 64-bit platforms prefers Driver64 to Driver.
            let attribute = |name: &str| {
                d.attributes
                    .iter()
                    .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
                    .map(|(_, lib)| lib.as_str())
            };
            attribute("Driver64")
                .or_else(|| attribute("Driver"))
                .map(|lib| (d.name.as_str(), lib))
        })
        .collect();
    access::DriverCatalog::new(
        libraries,
        dsns.iter().map(|d| (d.name.as_str(), d.driver.as_str())),
    )
}

/// A server whose sockets are bound, ready to serve.
pub struct Server {
    shared: Shared,
    listeners: Vec<listener::Listener>,
    /// The metrics endpoint's socket (`[Metrics] listen`).
    metrics_listener: Option<std::net::TcpListener>,
    /// Admins' reload requests, for the reload task.
    reloads_asked: tokio::sync::mpsc::Receiver<reload::ReloadAsked>,
    /// The file SIGHUP re-reads (`None`: built-in defaults).
    config_path: Option<std::path::PathBuf>,
    /// SIGHUP, when the program registered it before binding (so that a SIGHUP during
    /// start-up is not the signal's default action, which ends the process).
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Server {
    /// Binds every listener of `config` and starts the registry. Must run inside an actix
    /// system.
    ///
    /// # Errors
    /// [`ServerError::Bind`] when a socket cannot be bound.
    pub fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        // Drivers' warnings reach odbcd through odbc-api's `log` records.
        db::warnings::install();
        let auth = match config.auth.mode {
            crate::config::server::AuthMode::File => {
                Some(Arc::new(login::Authenticator::load(&config.auth)?))
            }
            crate::config::server::AuthMode::None => None,
        };
        // Sockets first: a start that cannot bind starts no actor.
        let listeners = config
            .listeners
            .iter()
            .map(|l| listener::Listener::bind(l.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_listener = config
            .metrics_listen
            .map(|addr| {
                std::net::TcpListener::bind(addr)
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                    .map_err(|source| ServerError::Bind {
                        section: "Metrics".into(),
                        addr,
                        source,
                    })
            })
            .transpose()?;
        let running = Arc::new(AtomicU32::new(0));
        let metrics = Arc::new(metrics::Metrics::new());
        let registry = Registry::new(
            config.session.max_sessions,
            config.license.max_connections,
            &config.pool,
            running.clone(),
        )
        .start();
        let config = Arc::new(config);
        // One reload at a time: an admin asking while one waits is told to try again.
        let (reloads, reloads_asked) = tokio::sync::mpsc::channel(1);
        let in_force = Arc::new(std::sync::RwLock::new(Arc::new(InForce {
            config: Arc::clone(&config),
            catalog: load_catalog(),
        })));
        Ok(Self {
            shared: Shared {
                config,
                registry,
                running,
                unacknowledged: Arc::default(),
                auth,
                in_force,
                metrics,
                reloads,
            },
            listeners,
            metrics_listener,
            reloads_asked,
            config_path: None,
            hangup: None,
        })
    }

    /// The configuration file SIGHUP re-reads (see `server/reload.rs`), and the SIGHUP stream
    /// if the program registered one early (else the server registers it when it serves).
    #[must_use]
    pub fn reload_from(
        mut self,
        path: Option<std::path::PathBuf>,
        hangup: Option<tokio::signal::unix::Signal>,
    ) -> Self {
        self.config_path = path;
        self.hangup = hangup;
        self
    }

    /// Each listening section's name and bound address (port 0 in the config is bound to a
    /// free port: this says which).
    pub fn bound(&self) -> Vec<(String, SocketAddr)> {
        self.listeners
            .iter()
            .map(|l| (l.config().name.clone(), l.local_addr()))
            .collect()
    }

    /// Where the metrics endpoint listens, if `[Metrics] listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The addresses actually bound (useful with `port = 0`).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .map(listener::Listener::local_addr)
            .collect()
    }

    /// Accepts clients until `shutdown` completes, then stops at once.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        self.serve_until(
            async {
                shutdown.await;
                Stop::Now
            },
            std::future::pending(),
        )
        .await;
    }

    /// Accepts clients until `first` completes. [`Stop::Now`] stops at once; [`Stop::Drain`]
    /// shuts down gracefully: the listening sockets close at once (new clients, and load
    /// balancers' health checks, are refused and go to another server; a session registering
    /// meanwhile is refused too), sessions close at their next transaction boundary, what is still open after
    /// `[Unix] shutdown_grace` is rolled back, pooled connections are closed. `second`
    /// completing meanwhile (a second signal) stops at once.
    pub async fn serve_until(
        self,
        first: impl Future<Output = Stop>,
        second: impl Future<Output = ()>,
    ) {
        for l in &self.listeners {
            tracing::info!(target: "odbcd::lifecycle", section = %l.config().name, addr = %l.local_addr(), "listening on {}", l.local_addr());
        }
        let handshakes = handshakes::Handshakes::new(
            self.shared.config.session.max_handshakes as usize,
            self.shared.config.session.max_handshakes_per_address as usize,
        );
        let (live, watching) = tokio::sync::watch::channel(listener::Live {
            shared: self.shared.clone(),
            sections: self
                .listeners
                .iter()
                .map(listener::Listener::state)
                .collect(),
        });
        let tasks: Vec<_> = self
            .listeners
            .into_iter()
            .map(|l| actix_rt::spawn(l.serve(watching.clone(), handshakes.clone())))
            .collect();
        // The metrics endpoint serves through a drain (its /readyz says 503 meanwhile).
        let metrics_task = self.metrics_listener.and_then(|l| {
            let addr = l.local_addr().ok();
            match tokio::net::TcpListener::from_std(l) {
                Ok(l) => {
                    tracing::info!(target: "odbcd::lifecycle", ?addr, "metrics on http://{}/metrics", addr.map_or_else(String::new, |a| a.to_string()));
                    Some(actix_rt::spawn(metrics::serve(
                        l,
                        Arc::clone(&self.shared.metrics),
                        self.shared.registry.clone(),
                    )))
                }
                Err(e) => {
                    tracing::error!(target: "odbcd::lifecycle", error = %e, "cannot serve the metrics endpoint");
                    None
                }
            }
        });
        let current = watching.clone();
        for addr in systemd::unclaimed() {
            tracing::warn!(target: "odbcd::lifecycle", %addr, "systemd passed a socket no listening section names; ignored");
        }
        systemd::notify("READY=1\nSTATUS=accepting sessions");
        // From the reactor itself: a wedged reactor stops the pings, and systemd restarts it.
        let watchdog = systemd::watchdog_interval().map(|every| {
            actix_rt::spawn(async move {
                loop {
                    systemd::notify("WATCHDOG=1");
                    actix_rt::time::sleep(every).await;
                }
            })
        });
        let hangup = actix_rt::spawn(reload::reload_on_hangup(
            self.config_path,
            live,
            self.hangup,
            self.reloads_asked,
        ));
        let stop = first.await;
        // No reload from here on (it would tell systemd READY=1 again).
        hangup.abort();
        let grace = current.borrow().shared.config.shutdown_grace;
        systemd::notify(&match stop {
            Stop::Drain => format!(
                "STOPPING=1\nSTATUS=draining: sessions close at transaction boundaries\nEXTEND_TIMEOUT_USEC={}",
                (grace + std::time::Duration::from_secs(10)).as_micros()
            ),
            Stop::Now => "STOPPING=1\nSTATUS=stopping".to_owned(),
        });
        if stop == Stop::Drain {
            // No new connections from now on: clients (and load balancers' health checks) are
            // refused at once and go to another server. Sessions already open go on.
            for t in &tasks {
                t.abort();
            }
            // The settings of the last reload.
            let shared = current.borrow().shared.clone();
            tokio::select! {
                () = drain(&shared) => {}
                () = second => {
                    tracing::info!(target: "odbcd::lifecycle", "second signal: stopping at once");
                }
            }
        }
        if let Some(w) = watchdog {
            w.abort();
        }
        if let Some(m) = metrics_task {
            m.abort();
        }
        tracing::info!(target: "odbcd::lifecycle", "shutting down");
        for t in tasks {
            t.abort();
        }
    }
}

/// How to stop serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// At once: sessions and their transactions end with the process.
    Now,
    /// Gracefully (see [`Server::serve_until`]).
    Drain,
}

/// Waits for a count to reach zero, checking every 50 ms, at most until `deadline`; whether
/// it did.
async fn sessions_gone(shared: &Shared, deadline: std::time::Instant) -> bool {
    loop {
        if shared
            .registry
            .send(registry::CountSessions)
            .await
            .map_or(true, |n| n == 0)
        {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The graceful shutdown of [`Stop::Drain`].
async fn drain(shared: &Shared) {
    let grace = shared.config.shutdown_grace;
    tracing::info!(target: "odbcd::lifecycle", ?grace, "draining: new sessions are refused; sessions close between requests and transactions");
    let _ = shared.registry.send(registry::Drain { now: false }).await;
    // Idle pooled connections serve no one any more (no session starts, nothing is parked):
    // their database sessions end now, not after the grace period.
    let _ = shared.registry.send(registry::EmptyPool).await;
    let started = std::time::Instant::now();
    if !sessions_gone(shared, started + grace).await {
        tracing::warn!(target: "odbcd::lifecycle", ?grace, "shutdown_grace is over: closing the remaining sessions, rolling back their transactions");
        let _ = shared.registry.send(registry::Drain { now: true }).await;
        // Each ends within a second (its last frames written).
        sessions_gone(
            shared,
            std::time::Instant::now() + std::time::Duration::from_secs(3),
        )
        .await;
    }
    let _ = shared.registry.send(registry::EmptyPool).await;
    tracing::info!(target: "odbcd::lifecycle", elapsed = ?started.elapsed(), "drained");
}
