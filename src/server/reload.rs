//! Reloading the configuration on SIGHUP (`odbcd reload` sends it): re-read and validate the
//! whole file; if anything is wrong (the file, the password file, a certificate), keep running
//! on the old configuration and log why, with file and line. Otherwise what the file says
//! takes effect for sessions and connections that start from now on: log level and log file
//! (reopened, for log rotation), `[Access]`, users, `max_sessions`, `[License]`, `[Pool]`,
//! `[Activity]`, timeouts, TLS certificates and client-certificate rules. Sessions already open
//! keep the settings they started with, except `[Access]` and the driver manager's lists:
//! every connection opened after the reload is checked against the new rules. Listening addresses and ports (and the other settings
//! of the sockets, `max_handshakes`, `pid_file`) need a restart: a reload that changes them
//! says so in the log and keeps the bound sockets.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use super::listener::{ListenerTls, Live, SectionState};
use super::registry::Reconfigure;
use super::{login, InForce, Shared};
use crate::config::server::AuthMode;
use crate::config::ServerConfig;

/// An admin's reload request: told what happened (`Err`: the reload was refused, why).
pub type ReloadAsked = tokio::sync::oneshot::Sender<Result<String, String>>;

/// Reloads on every SIGHUP and every admin request until the server stops. Without a
/// configuration file (built-in defaults) there is nothing to re-read: the log file is
/// reopened.
pub(super) async fn reload_on_hangup(
    path: Option<PathBuf>,
    live: watch::Sender<Live>,
    hangup: Option<tokio::signal::unix::Signal>,
    mut asked: tokio::sync::mpsc::Receiver<ReloadAsked>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = match hangup.map_or_else(|| signal(SignalKind::hangup()), Ok) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(target: "odbcd::lifecycle", "cannot watch SIGHUP: {e}");
            return;
        }
    };
    loop {
        let answer_to = tokio::select! {
            signal = hangup.recv() => match signal {
                Some(()) => None,
                None => return,
            },
            Some(asker) = asked.recv() => Some(asker),
        };
        super::systemd::notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
        let outcome = match &path {
            Some(path) => reload(path.clone(), &live).await,
            None => {
                let config = &live.borrow().shared.config;
                if let Err(e) = crate::logging::reload(
                    config.logging.log_level,
                    config.logging.log_file.as_deref(),
                ) {
                    tracing::error!(target: "odbcd::lifecycle", "SIGHUP: {e}");
                }
                tracing::info!(target: "odbcd::lifecycle", "SIGHUP: no configuration file to re-read (built-in defaults)");
                Ok("no configuration file to re-read (built-in defaults); the log file was reopened".to_owned())
            }
        };
        super::systemd::notify("READY=1\nSTATUS=accepting sessions");
        if let Some(asker) = answer_to {
            let _ = asker.send(outcome);
        }
    }
}

/// CLOCK_MONOTONIC in microseconds, as systemd wants with `RELOADING=1`.
fn monotonic_usec() -> u128 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC);
    now.map(|t| t.tv_sec() as u128 * 1_000_000 + t.tv_nsec() as u128 / 1000)
        .unwrap_or(0)
}

/// Everything a reload reads from disk, read off the reactor.
struct Loaded {
    config: ServerConfig,
    auth: Option<Arc<login::Authenticator>>,
    catalog: super::access::DriverCatalog,
    tls: Vec<(String, Option<Arc<ListenerTls>>)>,
}

/// Re-reads `path` and, when it is valid, makes it the settings of new sessions. Says what it
/// did, or why it refused.
pub(super) async fn reload(path: PathBuf, live: &watch::Sender<Live>) -> Result<String, String> {
    tracing::info!(target: "odbcd::lifecycle", config = %path.display(), "SIGHUP: reloading the configuration");
    let current = live.borrow().clone();
    let loaded = actix_rt::task::spawn_blocking(move || load(&path)).await;
    let loaded = match loaded {
        Ok(Ok(l)) => l,
        Ok(Err(why)) => {
            tracing::error!(target: "odbcd::lifecycle", "reload refused, the running configuration stays: {why}");
            return Err(format!(
                "reload refused, the running configuration stays: {why}"
            ));
        }
        Err(e) => {
            tracing::error!(target: "odbcd::lifecycle", "reload failed, the running configuration stays: {e}");
            return Err(format!(
                "reload failed, the running configuration stays: {e}"
            ));
        }
    };
    let Loaded {
        config,
        auth,
        catalog,
        tls,
    } = loaded;
    let old = &current.shared.config;
    let restart = restart_only_changes(old, &config);
    for change in &restart {
        tracing::warn!(target: "odbcd::lifecycle", "reload: {change} needs a restart; the running value stays");
    }
    // What needs a restart keeps its running value (so the next reload compares with it).
    let mut config = config;
    config.metrics_listen = old.metrics_listen;
    config.pid_file.clone_from(&old.pid_file);
    // Each bound section takes its new settings when its address is unchanged.
    let sections = current
        .sections
        .iter()
        .map(|bound| {
            let new = config.listeners.iter().find(|l| {
                l.name == bound.config.name
                    && l.interface == bound.config.interface
                    && l.port == bound.config.port
            });
            match new {
                Some(new) => Arc::new(SectionState {
                    config: new.clone(),
                    tls: tls
                        .iter()
                        .find(|(name, _)| *name == new.name)
                        .and_then(|(_, t)| t.clone()),
                }),
                None => Arc::clone(bound),
            }
        })
        .collect();
    current.shared.registry.do_send(Reconfigure {
        max_sessions: config.session.max_sessions,
        max_connections: config.license.max_connections,
        pool: config.pool.clone(),
    });
    if let Err(e) =
        crate::logging::reload(config.logging.log_level, config.logging.log_file.as_deref())
    {
        tracing::error!(target: "odbcd::lifecycle", "reload: {e}; logging to the old file");
    }
    // What is in force is shared by every session, old and new.
    let config = Arc::new(config);
    *current
        .shared
        .in_force
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(InForce {
        config: Arc::clone(&config),
        catalog,
    });
    let shared = Shared {
        config,
        auth,
        ..current.shared.clone()
    };
    live.send_replace(Live { shared, sections });
    tracing::info!(target: "odbcd::lifecycle", "configuration reloaded: new sessions and connections use it");
    let mut said = "configuration reloaded: new sessions and connections use it".to_owned();
    for change in restart {
        said.push_str(&format!("; {change} needs a restart"));
    }
    Ok(said)
}

/// Reads the file and what it names (password file, certificates, the driver manager's lists).
fn load(path: &std::path::Path) -> Result<Loaded, String> {
    let config = ServerConfig::load(path).map_err(|e| e.to_string())?;
    // Read anew: a missing or invalid password file refuses the whole reload, and the users
    // in force stay as they were (the running authenticator is not touched).
    let auth = match config.auth.mode {
        AuthMode::None => None,
        AuthMode::File => Some(Arc::new(
            login::Authenticator::load(&config.auth).map_err(|e| e.to_string())?,
        )),
    };
    let mut tls = Vec::new();
    for l in &config.listeners {
        let t = if l.allow_ssl {
            Some(Arc::new(
                ListenerTls::load(l).map_err(|e| format!("[{}]: {e}", l.name))?,
            ))
        } else {
            None
        };
        tls.push((l.name.clone(), t));
    }
    let catalog = super::load_catalog();
    Ok(Loaded {
        config,
        auth,
        catalog,
        tls,
    })
}

/// What differs between `old` and `new` that a reload cannot change.
fn restart_only_changes(old: &ServerConfig, new: &ServerConfig) -> Vec<String> {
    let mut out = Vec::new();
    for l in &new.listeners {
        match old.listeners.iter().find(|o| o.name == l.name) {
            None => out.push(format!("the new listening section [{}]", l.name)),
            Some(o) if o.interface != l.interface || o.port != l.port => out.push(format!(
                "[{}] listening on {}:{} instead of {}:{}",
                l.name, l.interface, l.port, o.interface, o.port
            )),
            Some(o)
                if o.allow_reuse_address != l.allow_reuse_address
                    || o.request_queue_size != l.request_queue_size =>
            {
                out.push(format!(
                    "[{}] allow_reuse_address or request_queue_size",
                    l.name
                ));
            }
            Some(_) => {}
        }
    }
    for o in &old.listeners {
        if !new.listeners.iter().any(|l| l.name == o.name) {
            out.push(format!("removing the listening section [{}]", o.name));
        }
    }
    if old.session.max_handshakes != new.session.max_handshakes
        || old.session.max_handshakes_per_address != new.session.max_handshakes_per_address
    {
        out.push("[Session] max_handshakes or max_handshakes_per_address".into());
    }
    if old.pid_file != new.pid_file {
        out.push("[Unix] pid_file".into());
    }
    if old.metrics_listen != new.metrics_listen {
        out.push("[Metrics] listen".into());
    }
    out
}
