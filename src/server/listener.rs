//! One listening socket per connection section: accept, check the peer against
//! `interface`/`netmask`, run the preamble handshake under `receive_timeout`, send the greeting,
//! and hand the socket to a new session actor.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::chunked::Chunked;
use super::session::Session;
use super::{ServerError, Shared};
use crate::config::ListenerConfig;
use crate::proto::compress::Compression;
use crate::proto::message::{Response, ServerFrame};
use crate::proto::preamble::{self, Preamble};
use crate::proto::{frame, ProtoError, MAX_FRAME_LEN, PROTOCOL_VERSION};

/// A bound listening socket and its section.
pub struct Listener {
    config: ListenerConfig,
    socket: TcpListener,
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
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(err)?;
        socket
            .set_reuseaddr(config.allow_reuse_address)
            .map_err(err)?;
        socket.bind(addr).map_err(err)?;
        let socket = socket.listen(config.request_queue_size).map_err(err)?;
        Ok(Self { config, socket })
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

    /// Accepts forever, backing off when accept fails (e.g. out of file descriptors).
    pub async fn serve(self, shared: Shared) {
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.socket.accept().await {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(10);
                    let shared = shared.clone();
                    let config = self.config.clone();
                    actix_rt::spawn(async move {
                        if let Err(e) = accept(stream, peer, &config, shared).await {
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
    #[error("no complete preamble within {0:?}")]
    Timeout(Duration),
    #[error("TLS client on a listener without TLS")]
    TlsNotEnabled,
    #[error(transparent)]
    Proto(#[from] ProtoError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

async fn accept(
    mut stream: TcpStream,
    peer: SocketAddr,
    config: &ListenerConfig,
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
    let mut pre = [0u8; preamble::LEN];
    match tokio::time::timeout(timeout, stream.read_exact(&mut pre)).await {
        Err(_) => return Err(AcceptError::Timeout(timeout)),
        Ok(r) => {
            r?;
        }
    }
    if preamble::looks_like_tls(pre[0]) {
        return Err(AcceptError::TlsNotEnabled);
    }
    let client = Preamble::decode(&pre)?;
    stream.write_all(&Preamble::current(0).encode()).await?;
    if client.version != PROTOCOL_VERSION {
        // The client learns our version from our preamble and reports the mismatch itself.
        return Err(ProtoError::VersionMismatch {
            client: client.version,
            server: PROTOCOL_VERSION,
        }
        .into());
    }
    let mut nonce = vec![0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
    let greeting = ServerFrame {
        id: 0,
        response: Response::Greeting {
            server_version: crate::VERSION.to_owned(),
            nonce,
            auth_required: false,
        },
    };
    let mut buf = Vec::new();
    frame::encode(&greeting, Compression::OFF, MAX_FRAME_LEN, &mut buf)?;
    stream.write_all(&buf).await?;
    let (read, write) = stream.into_split();
    let chunk = shared.config.session.transport.max_chunk_length as usize;
    let send_timeout = shared.config.session.transport.send_timeout;
    Session::start(
        shared,
        peer,
        Box::new(Chunked::new(read, chunk)),
        Box::new(Chunked::new(write, chunk).with_send_timeout(send_timeout)),
    );
    Ok(())
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
