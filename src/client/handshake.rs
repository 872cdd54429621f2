//! The handshake with one server: TCP connect bounded by `connect_timeout`, preambles (a
//! version mismatch is a `ProtocolError` naming both versions), TLS when configured, the
//! greeting, and `OpenSession` (a new session, or the resume of one). Used by the fail-over
//! walk of [`super::connect`] and by a [`super::link::Link`] that resumes its session.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

use super::frames::{io_error, protocol, read_frame, LinkOptions};
use super::transport::{establish, ReadSide, WriteSide};
use crate::auth::{self, LoginKey};
use crate::config::ClientConnection;
use crate::error::{DbError, ErrorClass};
use crate::proto::compress::Compression;
use crate::proto::frame;
use crate::proto::message::{ClientFrame, Request, Response};
use crate::proto::preamble::{self, Preamble, FLAG_TLS_REQUIRED};
use crate::proto::{ProtoError, MAX_FRAME_LEN, PROTOCOL_VERSION};
use rustls::pki_types::ServerName;

/// Where a session's server is and how to talk to it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) server: ClientConnection,
    pub(crate) opts: LinkOptions,
    /// TLS setup when `using_ssl` is on.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    /// `host:port [section]`, for messages.
    pub(crate) peer: String,
}

/// What `OpenSession` says: who, with which key (for the login proof), and which session.
#[derive(Debug, Clone)]
pub(crate) struct OpenSpec {
    pub(crate) username: String,
    pub(crate) key: Option<LoginKey>,
    pub(crate) module_name: String,
    pub(crate) session_id: Option<String>,
}

impl OpenSpec {
    /// The request, with the login proof over this connection's `nonce`.
    fn request(&self, nonce: &[u8]) -> Request {
        Request::OpenSession {
            username: self.username.clone(),
            proof: self
                .key
                .as_ref()
                .map(|k| auth::proof(k, nonce, &self.username))
                .unwrap_or_default(),
            module_name: self.module_name.clone(),
            session_id: self.session_id.clone(),
            client_name: client_name(),
        }
    }
}

/// An open session: what the client asked for and what the server answered.
#[derive(Debug, Clone)]
pub(crate) struct SessionInfo {
    pub(crate) session_id: String,
    pub(crate) server_version: String,
    pub(crate) last_request: u32,
    pub(crate) reconnect_window_ms: u64,
    pub(crate) spec: OpenSpec,
}

impl SessionInfo {
    /// What resumes this session.
    pub(crate) fn resume_spec(&self) -> OpenSpec {
        OpenSpec {
            session_id: Some(self.session_id.clone()),
            ..self.spec.clone()
        }
    }
}

/// Why a handshake failed: the server could not be reached (or the link failed), or it answered
/// and refused. Only the first is worth trying again or trying another server for the same
/// reason.
#[derive(Debug, Clone)]
pub(crate) enum HandshakeError {
    /// No usable answer: connect failed, timed out, or the link broke.
    Unreachable(DbError),
    /// Nothing listens on the server's port: the server process (and every session it had) is
    /// gone.
    Gone(DbError),
    /// The server answered with this error.
    Refused(DbError),
}

impl HandshakeError {
    pub(crate) fn into_error(self) -> DbError {
        match self {
            Self::Unreachable(e) | Self::Gone(e) | Self::Refused(e) => e,
        }
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(e) => write!(f, "unreachable: {e}"),
            Self::Gone(e) => write!(f, "gone: {e}"),
            Self::Refused(e) => write!(f, "refused: {e}"),
        }
    }
}

impl From<DbError> for HandshakeError {
    fn from(e: DbError) -> Self {
        Self::Unreachable(e)
    }
}

/// Connects, exchanges preambles, reads the greeting, sends `request` (an `OpenSession`) with
/// `ack`, and reads the answer.
pub(crate) fn handshake(
    endpoint: &Endpoint,
    spec: &OpenSpec,
    ack: u64,
) -> Result<((ReadSide, WriteSide), SessionInfo), HandshakeError> {
    let peer = &endpoint.peer;
    let opts = &endpoint.opts;
    let stream = connect_tcp(&endpoint.server, peer)?;
    let _ = stream.set_nodelay(true);
    // The whole handshake is bounded by connect_timeout too: a server that accepts connections
    // but never answers (hung, or a full backlog) costs at most that.
    let step = opts.receive_timeout.min(endpoint.server.connect_timeout);
    stream
        .set_write_timeout(Some(step))
        .and_then(|()| stream.set_read_timeout(Some(step)))
        .map_err(|e| io_error("configuring the socket for", peer, &e))?;
    let tls = match &endpoint.tls {
        None => None,
        Some(config) => {
            let name = ServerName::try_from(endpoint.server.host.clone()).map_err(|e| {
                HandshakeError::Refused(DbError::with_state(
                    ErrorClass::ConfigurationError,
                    "08001",
                    format!("{peer}: host is not a valid TLS server name: {e}"),
                ))
            })?;
            Some((Arc::clone(config), name))
        }
    };
    let (mut reader, mut writer) = establish(stream, tls).map_err(|e| tls_failure(peer, &e))?;
    writer
        .write_all(&Preamble::current(0).encode())
        .map_err(|e| io_error("sending to", peer, &e))?;
    let mut pre = [0u8; preamble::LEN];
    reader
        .read_exact(&mut pre)
        .map_err(|e| io_error("receiving from", peer, &e))?;
    let server_pre =
        Preamble::decode(&pre).map_err(|e| HandshakeError::Refused(protocol(peer, &e)))?;
    if server_pre.version != PROTOCOL_VERSION {
        return Err(HandshakeError::Refused(protocol(
            peer,
            &ProtoError::VersionMismatch {
                client: PROTOCOL_VERSION,
                server: server_pre.version,
            },
        )));
    }
    if server_pre.flags & FLAG_TLS_REQUIRED != 0 {
        return Err(HandshakeError::Refused(DbError::with_state(
            ErrorClass::ODBCConnectError,
            "08001",
            format!("server {peer} requires SSL: set using_ssl = 1"),
        )));
    }
    // During the handshake every frame must come within receive_timeout.
    let handshake_opts = LinkOptions {
        socket_timeout: Some(step),
        receive_timeout: step,
        ..*opts
    };
    let (greeting, _) = read_frame(&mut reader, &handshake_opts, peer)?;
    let (server_version, nonce) = match greeting.response {
        Response::Greeting {
            server_version,
            nonce,
            ..
        } => (server_version, nonce),
        Response::Error(e) => return Err(HandshakeError::Refused(e)),
        other => {
            return Err(HandshakeError::Refused(unexpected(
                peer,
                "a greeting",
                &other,
            )))
        }
    };
    let mut buf = Vec::new();
    frame::encode(
        &ClientFrame {
            id: 0,
            ack,
            request: spec.request(&nonce),
        },
        Compression::OFF,
        MAX_FRAME_LEN,
        &mut buf,
    )
    .map_err(|e| DbError::new(ErrorClass::InterfaceError, e.to_string()))?;
    writer
        .write_all(&buf)
        .map_err(|e| io_error("sending to", peer, &e))?;
    match read_frame(&mut reader, &handshake_opts, peer)?.0.response {
        Response::SessionOpened {
            session_id,
            server_version: v,
            last_request,
            reconnect_window_ms,
        } => Ok((
            {
                writer.set_write_timeout(Some(opts.send_timeout));
                (reader, writer)
            },
            SessionInfo {
                session_id,
                server_version: if v.is_empty() { server_version } else { v },
                last_request,
                reconnect_window_ms,
                spec: spec.clone(),
            },
        )),
        Response::Error(e) => Err(HandshakeError::Refused(e)),
        other => Err(HandshakeError::Refused(unexpected(
            peer,
            "SessionOpened",
            &other,
        ))),
    }
}

/// A failed TLS handshake is a refusal (the peer is there but not acceptable), other socket
/// errors are not.
fn tls_failure(peer: &str, e: &std::io::Error) -> HandshakeError {
    let is_tls = e
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        || e.kind() == std::io::ErrorKind::InvalidData;
    if is_tls {
        HandshakeError::Refused(DbError::with_state(
            ErrorClass::ODBCConnectError,
            "08001",
            format!("TLS with {peer} failed: {e}"),
        ))
    } else {
        HandshakeError::Unreachable(io_error("connecting with TLS to", peer, e))
    }
}

fn unexpected(peer: &str, expected: &str, got: &Response) -> DbError {
    protocol(
        peer,
        &ProtoError::Unexpected {
            what: format!("expected {expected}, got {got:?}"),
        },
    )
}

fn connect_tcp(server: &ClientConnection, peer: &str) -> Result<TcpStream, HandshakeError> {
    let addrs = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(|e| {
            HandshakeError::Unreachable(DbError::with_state(
                ErrorClass::ConnectionFailureError,
                "08001",
                format!("cannot resolve {peer}: {e}"),
            ))
        })?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, server.connect_timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            HandshakeError::Unreachable(DbError::with_state(
                ErrorClass::TimeoutError,
                "HYT00",
                format!(
                    "connecting to {peer} timed out after {:?}",
                    server.connect_timeout
                ),
            ))
        }
        Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            HandshakeError::Gone(DbError::with_state(
                ErrorClass::ConnectionFailureError,
                "08001",
                format!("cannot connect to {peer}: {e}"),
            ))
        }
        Some(e) => HandshakeError::Unreachable(DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08001",
            format!("cannot connect to {peer}: {e}"),
        )),
        None => HandshakeError::Unreachable(DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08001",
            format!("{peer} resolves to no address"),
        )),
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
