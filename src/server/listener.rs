//! One listening socket per connection section: accept, check the peer against
//! `interface`/`netmask`, run the preamble handshake under `receive_timeout`, send the greeting,
//! and hand the socket to a new session actor.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::chunked::Chunked;
use super::handoff::{new_session_id, Lingering, ReadHalf, Reattach, WriteHalf};
use super::handshakes::{Handshakes, SlotKind, RESERVE_DEADLINE};
use super::registry::{LookupSession, Transport};
use super::session::{OpenRequest, Session};
use super::{ServerError, Shared};
use crate::config::ListenerConfig;
use crate::error::{DbError, ErrorClass};
use crate::proto::compress::Compression;
use crate::proto::message::{ClientFrame, Request, Response, ServerFrame};
use crate::proto::preamble::{self, Preamble};
use crate::proto::{frame, ProtoError, MAX_FRAME_LEN, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION};
use crate::tls::{self, ClientCertRules, TlsError};

/// What the listeners hand new connections, replaced as a whole by a reload (see
/// `server/reload.rs`): the shared state new sessions start with, and each listening
/// section's settings (its address stays what was bound).
#[derive(Clone)]
pub struct Live {
    /// The configuration, password file and driver catalog new sessions get.
    pub shared: Shared,
    /// Each bound section's current settings, by section name.
    pub sections: Vec<Arc<SectionState>>,
}

/// A listening section's settings as a reload left them.
pub struct SectionState {
    /// The section.
    pub config: ListenerConfig,
    /// Its TLS setup, if it allows TLS.
    pub tls: Option<Arc<ListenerTls>>,
}

impl Live {
    /// The settings of section `name`.
    fn section(&self, name: &str) -> Option<Arc<SectionState>> {
        self.sections
            .iter()
            .find(|s| s.config.name == name)
            .cloned()
    }
}

/// A bound listening socket and its section.
pub struct Listener {
    config: ListenerConfig,
    socket: TcpListener,
    tls: Option<Arc<ListenerTls>>,
}

/// A listener's TLS setup: the acceptor and the client-certificate rules.
pub struct ListenerTls {
    acceptor: TlsAcceptor,
    rules: ClientCertRules,
}

impl ListenerTls {
    /// Loads the key, certificate and client-certificate rules of a section.
    ///
    /// # Errors
    /// Missing or unusable files.
    pub fn load(config: &ListenerConfig) -> Result<Self, TlsError> {
        let server = tls::server_config(
            &config.server_private_key_file,
            &config.server_certificate_file,
        )?;
        let rules = ClientCertRules::load(
            config.client_certificate_file.as_deref(),
            config.client_certificate_dir.as_deref(),
            &config.client_certificate_digest,
            config.client_certificate_digest_file.as_deref(),
        )?;
        for cert in tls::load_certs(&config.server_certificate_file, "server_certificate_file")? {
            tracing::info!(target: "odbcd::lifecycle", section = %config.name, "server certificate SHA1 {}", tls::sha1_hex(&cert));
        }
        if rules.admits_any() {
            tracing::info!(target: "odbcd::lifecycle", section = %config.name, "no client certificate rule: any TLS client is admitted");
        }
        for d in rules.digests() {
            tracing::info!(target: "odbcd::lifecycle", section = %config.name, "admitted client certificate SHA1 {d}");
        }
        Ok(Self {
            acceptor: TlsAcceptor::from(server),
            rules,
        })
    }
}

impl Listener {
    /// Binds the section's `interface:port` with its socket options.
    ///
    /// # Errors
    /// [`ServerError::Bind`].
    pub fn bind(config: ListenerConfig) -> Result<Self, ServerError> {
        let addr = SocketAddr::new(config.interface, config.port);
        let err = |source| ServerError::Bind {
            section: config.name.clone(),
            addr,
            source,
        };
        // Socket activation: systemd opened this address already.
        let inherited = if config.port == 0 {
            None
        } else {
            super::systemd::take_inherited(addr)
        };
        let socket = match inherited {
            Some(l) => {
                tracing::info!(target: "odbcd::lifecycle", section = %config.name, %addr, "listening on a socket systemd passed");
                l.set_nonblocking(true).map_err(err)?;
                TcpListener::from_std(l).map_err(err)?
            }
            None => {
                let socket = match addr {
                    SocketAddr::V4(_) => TcpSocket::new_v4(),
                    SocketAddr::V6(_) => TcpSocket::new_v6(),
                }
                .map_err(err)?;
                socket
                    .set_reuseaddr(config.allow_reuse_address)
                    .map_err(err)?;
                socket.bind(addr).map_err(err)?;
                socket.listen(config.request_queue_size).map_err(err)?
            }
        };
        let tls = if config.allow_ssl {
            Some(Arc::new(ListenerTls::load(&config).map_err(|e| {
                ServerError::Tls {
                    section: config.name.clone(),
                    source: e,
                }
            })?))
        } else {
            None
        };
        Ok(Self {
            config,
            socket,
            tls,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::new(self.config.interface, self.config.port))
    }

    /// The section this listener serves.
    pub fn config(&self) -> &ListenerConfig {
        &self.config
    }

    /// The section's settings as bound (the start of [`Live::sections`]).
    pub fn state(&self) -> Arc<SectionState> {
        Arc::new(SectionState {
            config: self.config.clone(),
            tls: self.tls.clone(),
        })
    }

    /// Accepts forever, backing off when accept fails (e.g. out of file descriptors).
    /// `handshakes` holds the slots of connections in their handshake (shared by listeners).
    /// Each connection gets the settings current when it arrives (`live`, which a reload
    /// replaces).
    pub async fn serve(
        self,
        live: tokio::sync::watch::Receiver<Live>,
        handshakes: Arc<Handshakes>,
    ) {
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.socket.accept().await {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(10);
                    let (shared, section) = {
                        let live = live.borrow();
                        (live.shared.clone(), live.section(&self.config.name))
                    };
                    let (config, tls) = match section {
                        Some(s) => (s.config.clone(), s.tls.clone()),
                        None => (self.config.clone(), self.tls.clone()),
                    };
                    let ticket = match handshakes.enter(peer.ip()) {
                        Ok(ticket) => ticket,
                        Err(why) => {
                            shared.metrics.refused(why.reason());
                            tracing::warn!(%peer, section = %self.config.name, "{why}; closed");
                            drop(stream);
                            continue;
                        }
                    };
                    let handshakes = Arc::clone(&handshakes);
                    actix_rt::spawn(async move {
                        // One deadline for everything before the session starts.
                        let session = &shared.config.session;
                        let mut deadline = session
                            .handshake_timeout
                            .min(session.transport.receive_timeout);
                        // A burst from one address waits for that address's slots.
                        let slot = match handshakes.slot(ticket, deadline).await {
                            Ok(slot) => slot,
                            Err(why) => {
                                shared.metrics.refused(why.reason());
                                tracing::warn!(%peer, section = %config.name, "{why}; closed");
                                return;
                            }
                        };
                        if slot.kind() == SlotKind::Reserve {
                            deadline = deadline.min(RESERVE_DEADLINE);
                        }
                        let metrics = Arc::clone(&shared.metrics);
                        let result = tokio::time::timeout(
                            deadline,
                            accept(stream, peer, &config, tls.as_deref(), slot.kind(), shared),
                        )
                        .await
                        .unwrap_or(Err(AcceptError::Timeout(deadline)));
                        drop(slot);
                        if let Err(e) = result {
                            metrics.refused(e.reason());
                            if matches!(e, AcceptError::Timeout(_)) {
                                metrics.timeout("handshake");
                            }
                            tracing::info!(%peer, section = %config.name, error = %e, "connection refused");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(section = %self.config.name, error = %e, "accept failed; retrying in {backoff:?}");
                    actix_rt::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

/// Why an accepted connection did not become a session.
#[derive(Debug, thiserror::Error)]
enum AcceptError {
    #[error("peer is outside {interface}/{netmask}")]
    OutsideSubnet { interface: IpAddr, netmask: IpAddr },
    #[error("the client's handshake did not complete within {0:?}")]
    Timeout(Duration),
    #[error("TLS client on a listener without TLS")]
    TlsNotEnabled,
    #[error("plain client on a listener that requires TLS")]
    TlsRequired,
    #[error("session refused: {message}")]
    Refused {
        /// The reason's label in the metrics.
        reason: &'static str,
        /// What the client was told.
        message: String,
    },
    #[error(transparent)]
    Proto(#[from] ProtoError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl AcceptError {
    /// The reason's label in the metrics.
    fn reason(&self) -> &'static str {
        match self {
            Self::OutsideSubnet { .. } => "outside_subnet",
            Self::Timeout(_) => "handshake_timeout",
            Self::TlsNotEnabled => "tls_not_enabled",
            Self::TlsRequired => "tls_required",
            Self::Refused { reason, .. } => reason,
            Self::Proto(_) => "protocol_error",
            // A TCP health check or a port scan: connected, closed before a word.
            Self::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => "closed_early",
            Self::Io(_) => "network_error",
        }
    }
}

async fn accept(
    stream: TcpStream,
    peer: SocketAddr,
    config: &ListenerConfig,
    tls: Option<&ListenerTls>,
    slot: SlotKind,
    shared: Shared,
) -> Result<(), AcceptError> {
    if !in_subnet(peer.ip(), config.interface, config.netmask) {
        return Err(AcceptError::OutsideSubnet {
            interface: config.interface,
            netmask: config.netmask,
        });
    }
    let _ = stream.set_nodelay(true);
    if config.keepalive {
        let _ = socket2::SockRef::from(&stream).set_keepalive(true);
    }
    let timeout = shared.config.session.transport.receive_timeout;
    // TLS or plain: the first byte tells (a TLS handshake record starts with 0x16).
    let mut first = [0u8; 1];
    if within(timeout, stream.peek(&mut first)).await? == 0 {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    let chunk = shared.config.session.transport.max_chunk_length as usize;
    let send_timeout = shared.config.session.transport.send_timeout;
    if !preamble::looks_like_tls(first[0]) {
        // A second descriptor of the socket, for the session's direct writes (its outbox).
        let direct = socket2::SockRef::from(&stream)
            .try_clone()
            .ok()
            .map(std::net::TcpStream::from);
        let io = Chunked::new(stream, chunk).with_send_timeout(send_timeout);
        let arrival = Arrival {
            peer,
            cursor_type: config.connection_cursortype,
            transport: Transport::Plain,
            slot,
            direct,
        };
        return handshake(io, arrival, config.require_ssl, None, shared).await;
    }
    let Some(tls) = tls else {
        return Err(AcceptError::TlsNotEnabled);
    };
    let io = Chunked::new(stream, chunk).with_send_timeout(send_timeout);
    let stream = within(timeout, tls.acceptor.accept(io)).await?;
    let cert = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first());
    let transport = Transport::Tls {
        client_certificate: cert.map(|c| crate::tls::sha256_hex(c)),
    };
    let refusal = match tls.rules.check(cert) {
        Ok(Some(digest)) => {
            tracing::info!(%peer, section = %config.name, "accepted client certificate SHA1 {digest}");
            None
        }
        Ok(None) => None,
        Err(reason) => {
            tracing::warn!(%peer, section = %config.name, "client certificate refused: {reason}");
            Some(DbError::with_state(
                ErrorClass::ODBCConnectError,
                "28000",
                format!("the server does not accept this client: {reason}"),
            ))
        }
    };
    let arrival = Arrival {
        peer,
        cursor_type: config.connection_cursortype,
        transport,
        slot,
        direct: None,
    };
    handshake(stream, arrival, false, refusal, shared).await
}

/// What is known of a connection when its handshake starts.
struct Arrival {
    peer: SocketAddr,
    /// `connection_cursortype` of the listener.
    cursor_type: Option<crate::config::CursorType>,
    /// Plain or TLS (with the client certificate's digest).
    transport: Transport,
    /// The handshake slot it holds.
    slot: SlotKind,
    /// The socket for direct writes: plain TCP only (a TLS link's bytes must go through TLS).
    direct: Option<std::net::TcpStream>,
}

/// The handshake on a plain or TLS stream: preambles, greeting, `OpenSession`; then a new
/// session, or the socket handed to the session being resumed.
async fn handshake<S>(
    mut stream: S,
    arrival: Arrival,
    require_tls: bool,
    refusal: Option<DbError>,
    shared: Shared,
) -> Result<(), AcceptError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Arrival {
        peer,
        cursor_type,
        transport,
        slot,
        direct,
    } = arrival;
    let timeout = shared.config.session.transport.receive_timeout;
    let mut pre = [0u8; preamble::LEN];
    within(timeout, stream.read_exact(&mut pre)).await?;
    let client = Preamble::decode(&pre)?;
    let flags = if require_tls {
        preamble::FLAG_TLS_REQUIRED
    } else {
        0
    };
    // A client of an older version we still speak is answered in its version.
    let supported = (OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&client.version);
    let version = if supported {
        client.version
    } else {
        PROTOCOL_VERSION
    };
    stream
        .write_all(&Preamble { version, flags }.encode())
        .await?;
    if !supported {
        // The client learns our version from our preamble and reports the mismatch itself.
        return Err(ProtoError::VersionMismatch {
            client: client.version,
            server: PROTOCOL_VERSION,
        }
        .into());
    }
    if require_tls {
        // The client reads the flag and reports that the server requires SSL.
        let _ = stream.shutdown().await;
        return Err(AcceptError::TlsRequired);
    }
    if let Some(err) = refusal {
        return refuse(stream, "client_certificate", err).await;
    }
    let mut nonce = vec![0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
    let greeting = Response::Greeting {
        server_version: crate::VERSION.to_owned(),
        nonce: nonce.clone(),
        auth_required: shared.auth.is_some(),
    };
    write_frame(&mut stream, greeting).await?;

    // The first request must be OpenSession: a new session, or one to resume.
    let first: ClientFrame = match within(timeout, read_frame(&mut stream)).await {
        Err(AcceptError::Proto(e)) => {
            let err = DbError::new(ErrorClass::ProtocolError, e.to_string());
            write_frame(&mut stream, Response::Error(err)).await?;
            return Err(e.into());
        }
        r => r?,
    };
    let Request::OpenSession {
        username,
        session_id,
        client_name,
        proof,
        ..
    } = first.request
    else {
        let err = DbError::new(
            ErrorClass::ProtocolError,
            "the first request must be OpenSession",
        );
        write_frame(&mut stream, Response::Error(err)).await?;
        return Err(ProtoError::Unexpected {
            what: "a request before OpenSession".into(),
        }
        .into());
    };
    if slot == SlotKind::Reserve && session_id.is_none() {
        // The reserve is for clients getting back to their sessions.
        let err = DbError::with_state(
            ErrorClass::OperationalError,
            "HYT00",
            "the server is busy with other connections' handshakes; try again",
        );
        return refuse(stream, "reserve_for_resumes", err).await;
    }
    // A new session and a resume alike must prove who they are. Without authentication a
    // user name proves nothing: every client is anonymous ("", which the admin requests and
    // `Status` treat as "this session only"), whatever name it sends.
    let username = match &shared.auth {
        Some(auth) => {
            if let Err(e) = auth.check(peer.ip(), &username, &nonce, &proof).await {
                shared.metrics.logins_failed.inc();
                return refuse(stream, "login", e).await;
            }
            username
        }
        None => String::new(),
    };
    let (read, write) = tokio::io::split(stream);
    let read: ReadHalf = Box::new(Lingering::new(Box::new(read)));
    let write: WriteHalf = Box::new(write);
    match session_id {
        None => {
            let session_id = match new_session_id() {
                Ok(id) => id,
                Err(e) => return refuse(tokio::io::join(read, write), "internal", e).await,
            };
            Session::start(
                shared,
                peer,
                read,
                write,
                direct,
                OpenRequest {
                    session_id,
                    username,
                    client_name,
                    cursor_type,
                    transport,
                    protocol: version,
                },
            );
        }
        Some(id) => {
            let found = shared
                .registry
                .send(LookupSession {
                    id,
                    user: username,
                    transport,
                })
                .await
                .unwrap_or_else(|e| Err(DbError::new(ErrorClass::InternalError, e.to_string())));
            let addr = match found {
                Ok(addr) => addr,
                Err(e) => return refuse(tokio::io::join(read, write), "resume_refused", e).await,
            };
            let ack = first.ack;
            if let Err(e) = addr.try_send(Reattach {
                read,
                write,
                direct,
                peer,
                ack,
            }) {
                shared.metrics.refused("resume_refused");
                tracing::info!(%peer, error = %e, "resume failed: the session is ending");
            } else {
                shared
                    .metrics
                    .handshakes
                    .with_label_values(&["resumed"])
                    .inc();
            }
        }
    }
    Ok(())
}

/// `step` bounded by `timeout` (a handshake step: `receive_timeout`), its error an
/// [`AcceptError`].
async fn within<T, E: Into<AcceptError>>(
    timeout: Duration,
    step: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, AcceptError> {
    match tokio::time::timeout(timeout, step).await {
        Err(_) => Err(AcceptError::Timeout(timeout)),
        Ok(r) => r.map_err(Into::into),
    }
}

/// Reads one client frame, exactly (nothing after it is consumed).
async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Result<ClientFrame, AcceptError> {
    let mut head = [0u8; frame::HEADER_LEN];
    stream.read_exact(&mut head).await?;
    let header = frame::parse_header(&head, MAX_FRAME_LEN)?;
    // OpenSession is small; refuse anything larger before allocating it.
    if header.payload_len > 64 * 1024 {
        return Err(ProtoError::FrameTooLarge {
            len: header.frame_len(),
            max: 64 * 1024,
        }
        .into());
    }
    let mut payload = vec![0u8; header.payload_len];
    stream.read_exact(&mut payload).await?;
    Ok(frame::decode_payload(&header, &payload, MAX_FRAME_LEN)?)
}

async fn write_frame<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: Response,
) -> Result<(), AcceptError> {
    let mut buf = Vec::new();
    frame::encode(
        &ServerFrame { id: 0, response },
        Compression::OFF,
        MAX_FRAME_LEN,
        &mut buf,
    )?;
    stream.write_all(&buf).await?;
    Ok(())
}

/// Tells the client why it cannot have a session, then closes.
async fn refuse<S: AsyncWrite + Unpin>(
    mut stream: S,
    reason: &'static str,
    err: DbError,
) -> Result<(), AcceptError> {
    let message = err.message.clone();
    write_frame(&mut stream, Response::Error(err)).await?;
    let _ = stream.shutdown().await;
    Err(AcceptError::Refused { reason, message })
}

/// True when `peer` is in the subnet `interface`/`netmask` (IPv4-mapped IPv6 peers compare as
/// IPv4).
pub fn in_subnet(peer: IpAddr, interface: IpAddr, netmask: IpAddr) -> bool {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V4(a) => Some(u32::from(a)),
        IpAddr::V6(a) => a.to_ipv4_mapped().map(u32::from),
    };
    match (v4(peer), v4(interface), v4(netmask)) {
        (Some(p), Some(i), Some(m)) => p & m == i & m,
        _ => match (peer, interface, netmask) {
            (IpAddr::V6(p), IpAddr::V6(i), IpAddr::V6(m)) => {
                let (p, i, m) = (u128::from(p), u128::from(i), u128::from(m));
                p & m == i & m
            }
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::in_subnet;

    #[test]
    fn subnet_rules() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(in_subnet(ip("127.0.0.2"), ip("127.0.0.1"), ip("255.0.0.0")));
        assert!(!in_subnet(
            ip("127.0.0.2"),
            ip("127.0.0.1"),
            ip("255.255.255.255")
        ));
        assert!(in_subnet(
            ip("192.168.0.77"),
            ip("192.168.0.12"),
            ip("255.255.255.0")
        ));
        assert!(!in_subnet(
            ip("192.168.1.77"),
            ip("192.168.0.12"),
            ip("255.255.255.0")
        ));
        assert!(in_subnet(
            ip("::ffff:127.0.0.5"),
            ip("127.0.0.1"),
            ip("255.0.0.0")
        ));
        assert!(in_subnet(ip("10.1.2.3"), ip("0.0.0.0"), ip("0.0.0.0")));
    }
}
