//! Opening a session: walk the configured servers in order and use the first that accepts.
//!
//! For each server: TCP connect bounded by `connect_timeout`, exchange preambles (a version
//! mismatch is a `ProtocolError` naming both versions), read the greeting, send `OpenSession`.
//! A server that fails any step is skipped. When none works the caller gets one
//! `OperationalError` listing every server and why it failed (each also as a diagnostic
//! record) — except with a single server that answered and refused (full, another protocol
//! version, TLS or login refused): then that refusal itself, with its class and exact message.
//!
//! The handshake itself is in [`super::handshake`], which a [`Link`] also uses to resume.

use std::sync::Arc;
use std::time::Duration;

use super::frames::{io_error, LinkOptions};
use super::handshake::{handshake, Endpoint, HandshakeError, OpenSpec};
use super::link::Link;
use crate::auth;
use crate::config::{ClientConfig, ClientConnection};
use crate::error::{DbError, DiagRecord, ErrorClass};
use crate::tls::{ClientIdentity, ServerTrust};

/// What `open()` needs besides the configuration.
pub(crate) struct OpenParams<'a> {
    pub(crate) username: &'a str,
    pub(crate) password: &'a str,
    pub(crate) module_name: &'a str,
    pub(crate) session_id: Option<&'a str>,
}

/// An open session on one server.
pub(crate) struct Opened {
    pub(crate) link: Arc<Link>,
    pub(crate) server_name: String,
}

/// Tries every configured server in order.
pub(crate) fn open_first(config: &ClientConfig, p: &OpenParams<'_>) -> Result<Opened, DbError> {
    let mut failures = Vec::new();
    for server in &config.connections {
        match open_one(config, server, p) {
            Ok(o) => {
                tracing::info!(server = %server.name, addr = %format!("{}:{}", server.host, server.port), "session opened");
                return Ok(o);
            }
            Err(e) => {
                tracing::info!(server = %server.name, error = %e, "server skipped");
                failures.push((server, e));
            }
        }
    }
    Err(no_server(failures))
}

fn no_server(failures: Vec<(&ClientConnection, HandshakeError)>) -> DbError {
    // One server that answered and refused (full, another protocol version, TLS or login
    // refused): its own error, exactly. Otherwise one OperationalError listing every server, as
    // the manual says.
    if let [(_, HandshakeError::Refused(e))] = failures.as_slice() {
        return e.clone();
    }
    let failures: Vec<(&ClientConnection, DbError)> = failures
        .into_iter()
        .map(|(s, f)| (s, f.into_error()))
        .collect();
    let message = format!(
        "no server accepted the session: {}",
        failures
            .iter()
            .map(|(s, e)| format!(
                "[{}] {}:{}: {} ({})",
                s.name, s.host, s.port, e.message, e.class
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut err = DbError::with_state(ErrorClass::OperationalError, "08001", message);
    err.records = failures
        .into_iter()
        .map(|(s, e)| DiagRecord {
            sqlstate: e.sqlstate,
            native: e.native,
            message: format!("[{}] {}", s.name, e.message),
        })
        .collect();
    err
}

fn open_one(
    config: &ClientConfig,
    server: &ClientConnection,
    p: &OpenParams<'_>,
) -> Result<Opened, HandshakeError> {
    let peer = format!("{}:{} [{}]", server.host, server.port, server.name);
    let tls = if server.using_ssl {
        Some(tls_config(server).map_err(|e| {
            HandshakeError::Refused(DbError::with_state(
                ErrorClass::ConfigurationError,
                "08001",
                format!("[{}] {e}", server.name),
            ))
        })?)
    } else {
        None
    };
    let t = &config.session.transport;
    let endpoint = Endpoint {
        server: server.clone(),
        opts: LinkOptions {
            compression: t.compression(),
            max_chunk: t.max_chunk_length as usize,
            socket_timeout: server.socket_timeout,
            receive_timeout: t.receive_timeout,
            send_timeout: t.send_timeout,
            max_resumes: config.max_resume_attempts,
        },
        tls,
        peer,
    };
    // The login key: derived once here, kept (never the password) for resumes.
    let key = (!p.username.is_empty() || !p.password.is_empty())
        .then(|| auth::key_from_password(p.password, p.username, config.login_salt.as_deref()));
    let spec = OpenSpec {
        username: p.username.to_owned(),
        key,
        module_name: p.module_name.to_owned(),
        session_id: p.session_id.map(str::to_owned),
    };
    // Resuming explicitly from a new link: there is nothing to replay to it.
    let ack = if p.session_id.is_some() { u64::MAX } else { 0 };
    let (halves, info) = handshake(&endpoint, &spec, ack)?;
    let link = Link::new(halves, endpoint.clone(), info)
        .map_err(|e| io_error("setting up", &endpoint.peer, &e))?;
    let link = Arc::new(link);
    if let Some(interval) = config.ping_interval {
        start_pinger(&link, interval, config.ping_timeout);
    }
    Ok(Opened {
        link,
        server_name: server.name.clone(),
    })
}

/// Pings the session's server whenever the link has been idle for `interval`, so a dead
/// server is noticed even by a session that is not used. The thread holds only a weak
/// reference: it ends when the session does.
fn start_pinger(link: &Arc<Link>, interval: Duration, timeout: Duration) {
    let weak = Arc::downgrade(link);
    let spawned = std::thread::Builder::new()
        .name("odbcd-ping".into())
        .spawn(move || loop {
            std::thread::sleep(interval);
            let Some(link) = weak.upgrade() else {
                return;
            };
            if let Err(e) = link.ping_if_idle(interval, timeout) {
                tracing::info!(server = %link.peer, error = %e, "ping failed; the session is broken");
                return;
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the ping thread: {e}");
    }
}

/// The TLS setup for one server section.
fn tls_config(
    server: &ClientConnection,
) -> Result<Arc<rustls::ClientConfig>, crate::tls::TlsError> {
    let trust = ServerTrust {
        certificates: match &server.server_certificate_file {
            Some(f) => crate::tls::load_certs(f, "server_certificate_file")?,
            None => Vec::new(),
        },
        digests: server.server_certificate_digest.clone(),
        accept_any: !server.verify_server_certificate,
    };
    let identity = ClientIdentity::load(
        server.client_certificate_file.as_deref(),
        server.client_private_key_file.as_deref(),
        server.client_certificate_string.as_deref(),
        server.client_private_key_string.as_deref(),
    )?;
    crate::tls::client_config(&trust, &identity)
}
