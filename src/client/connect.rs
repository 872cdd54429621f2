//! Opening a session: walk the configured servers in order and use the first that accepts.
//!
//! For each server: TCP connect bounded by `connect_timeout`, exchange preambles (a version
//! mismatch is a `ProtocolError` naming both versions), read the greeting, send `OpenSession`.
//! A server that fails any step is skipped. When none works the caller gets one error listing
//! every server and why it failed (each also as a diagnostic record): of the class all servers
//! refused with when they all answered with the same refusal (e.g. `ProtocolError` for a
//! version mismatch, `PolicyViolationError` when all are full), otherwise `OperationalError`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

use super::link::{io_error, protocol, read_frame, Link, LinkOptions};
use crate::config::{ClientConfig, ClientConnection};
use crate::error::{DbError, DiagRecord, ErrorClass};
use crate::proto::message::{Request, Response};
use crate::proto::preamble::{self, Preamble, FLAG_TLS_REQUIRED};
use crate::proto::{ProtoError, PROTOCOL_VERSION};

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
    pub(crate) session_id: String,
    pub(crate) server_version: String,
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
    // Servers that answered and refused for the same reason (all full, all speaking another
    // protocol version, ...) give that reason's class; unreachable servers or mixed reasons
    // give OperationalError, as the manual says.
    let first = failures.first().map(|(_, e)| (e.class, e.sqlstate.clone()));
    let (class, sqlstate) = match first {
        Some((class, state))
            if failures.iter().all(|(_, e)| e.class == class)
                && !matches!(
                    class,
                    ErrorClass::ConnectionFailureError | ErrorClass::TimeoutError
                ) =>
        {
            (class, state)
        }
        _ => (ErrorClass::OperationalError, "08001".to_owned()),
    };
    let mut err = DbError::with_state(class, &sqlstate, message);
    err.records = failures
        .into_iter()
        .map(|(s, e)| DiagRecord {
            sqlstate: e.sqlstate,
            native: e.native,
            message: format!("[{}] {}", s.name, e.message),
        })
        .collect();
    Err(err)
}

fn open_one(
    config: &ClientConfig,
    server: &ClientConnection,
    p: &OpenParams<'_>,
) -> Result<Opened, DbError> {
    let peer = format!("{}:{} [{}]", server.host, server.port, server.name);
    if server.using_ssl {
        return Err(DbError::with_state(
            ErrorClass::ODBCConnectError,
            "08001",
            "using_ssl is set but TLS is not available in this client build yet",
        ));
    }
    let stream = connect_tcp(server, &peer)?;
    let s = &config.session.transport;
    let opts = LinkOptions {
        compression: s.compression(),
        max_chunk: s.max_chunk_length as usize,
        socket_timeout: server.socket_timeout,
        receive_timeout: s.receive_timeout,
    };
    let mut stream = stream;
    let _ = stream.set_nodelay(true);
    stream
        .set_write_timeout(Some(s.send_timeout))
        .and_then(|()| stream.set_read_timeout(Some(s.receive_timeout)))
        .map_err(|e| io_error("configuring the socket for", &peer, &e))?;
    stream
        .write_all(&Preamble::current(0).encode())
        .map_err(|e| io_error("sending to", &peer, &e))?;
    let mut pre = [0u8; preamble::LEN];
    stream
        .read_exact(&mut pre)
        .map_err(|e| io_error("receiving from", &peer, &e))?;
    let server_pre = Preamble::decode(&pre).map_err(|e| protocol(&peer, &e))?;
    if server_pre.version != PROTOCOL_VERSION {
        return Err(protocol(
            &peer,
            &ProtoError::VersionMismatch {
                client: PROTOCOL_VERSION,
                server: server_pre.version,
            },
        ));
    }
    if server_pre.flags & FLAG_TLS_REQUIRED != 0 {
        return Err(DbError::with_state(
            ErrorClass::ODBCConnectError,
            "08001",
            format!("server {peer} requires SSL: set using_ssl = 1"),
        ));
    }
    // The greeting: the handshake options use socket_timeout = receive_timeout.
    let greet_opts = LinkOptions {
        socket_timeout: Some(s.receive_timeout),
        ..opts
    };
    let greeting = read_frame(&mut stream, &greet_opts, &peer)?;
    let server_version = match greeting.response {
        Response::Greeting { server_version, .. } => server_version,
        Response::Error(e) => return Err(e),
        other => {
            return Err(protocol(
                &peer,
                &ProtoError::Unexpected {
                    what: format!("expected a greeting, got {other:?}"),
                },
            ))
        }
    };
    let link = Arc::new(
        Link::new(stream, opts, peer.clone()).map_err(|e| io_error("setting up", &peer, &e))?,
    );
    let _ = p.password; // Sent as a proof once authentication is implemented (issue 4).
    let opened = link.call(Request::OpenSession {
        username: p.username.to_owned(),
        proof: Vec::new(),
        module_name: p.module_name.to_owned(),
        session_id: p.session_id.map(str::to_owned),
        client_name: client_name(),
    });
    match opened {
        Ok(Response::SessionOpened {
            session_id,
            server_version: v,
        }) => Ok(Opened {
            link,
            session_id,
            server_version: if v.is_empty() { server_version } else { v },
            server_name: server.name.clone(),
        }),
        Ok(other) => {
            link.shutdown();
            Err(protocol(
                &peer,
                &ProtoError::Unexpected {
                    what: format!("expected SessionOpened, got {other:?}"),
                },
            ))
        }
        Err(e) => {
            link.shutdown();
            Err(e)
        }
    }
}

fn connect_tcp(server: &ClientConnection, peer: &str) -> Result<TcpStream, DbError> {
    let addrs = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(|e| {
            DbError::with_state(
                ErrorClass::ConnectionFailureError,
                "08001",
                format!("cannot resolve {peer}: {e}"),
            )
        })?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, server.connect_timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == std::io::ErrorKind::TimedOut => DbError::with_state(
            ErrorClass::TimeoutError,
            "HYT00",
            format!(
                "connecting to {peer} timed out after {:?}",
                server.connect_timeout
            ),
        ),
        Some(e) => DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08001",
            format!("cannot connect to {peer}: {e}"),
        ),
        None => DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08001",
            format!("{peer} resolves to no address"),
        ),
    })
}

fn client_name() -> String {
    let exe = std::env::args().next().unwrap_or_default();
    let name = std::path::Path::new(&exe)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name} (odbcd client {})", crate::VERSION)
}
