//! A `[..Connection..]` section of the server's configuration: one listening socket, its
//! address, limits and TLS rules.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::value::{resolve, CursorType, SectionReader};
use super::{ConfigError, Origin};

/// A `[..Connection..]` section: one listening socket.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerConfig {
    /// The section name.
    pub name: String,
    /// `interface` (default 127.0.0.1).
    pub interface: IpAddr,
    /// `netmask` (default 255.0.0.0): peers outside interface/netmask are refused.
    pub netmask: IpAddr,
    /// `port` (default 6632). `0` picks a free port (useful for tests).
    pub port: u16,
    /// `allow_reuse_address` (default 1): SO_REUSEADDR.
    pub allow_reuse_address: bool,
    /// `keepalive` (default 1): SO_KEEPALIVE on client sockets.
    pub keepalive: bool,
    /// `request_queue_size` (default 1024; the manual says 10): the listen backlog. A backlog of
    /// 10 drops the SYNs of real clients (a 1 s retransmission each) whenever more than ten
    /// connections arrive between two accepts, as in any flood.
    pub request_queue_size: u32,
    /// `socket_timeout` (default None): drop a client after this long without any traffic.
    pub socket_timeout: Option<Duration>,
    /// `allow_ssl` (default 0); implied by `require_ssl`.
    pub allow_ssl: bool,
    /// `require_ssl` (default 0).
    pub require_ssl: bool,
    /// `server_private_key_file` (default server.pkey).
    pub server_private_key_file: PathBuf,
    /// `server_certificate_file` (default server.cert).
    pub server_certificate_file: PathBuf,
    /// `client_certificate_file`: concatenated PEM certificates to accept.
    pub client_certificate_file: Option<PathBuf>,
    /// `client_certificate_dir`: a folder of `.cert` files to accept.
    pub client_certificate_dir: Option<PathBuf>,
    /// `client_certificate_digest`: SHA1 digests to accept, normalised to lower-case hex.
    pub client_certificate_digest: Vec<String>,
    /// `client_certificate_digest_file`: a file of SHA1 digests, one per line.
    pub client_certificate_digest_file: Option<PathBuf>,
    /// `connection_cursortype` (default None: the driver's default).
    pub connection_cursortype: Option<CursorType>,
}

pub(crate) fn listener(
    r: &SectionReader<'_>,
    name: &str,
    origin: &Origin,
) -> Result<ListenerConfig, ConfigError> {
    let require_ssl = r.flag("require_ssl")?;
    let digests = match r.string("client_certificate_digest") {
        None => Vec::new(),
        Some(v) => parse_digests(&v).map_err(|bad| {
            let e = super::ini::Entry {
                key: "client_certificate_digest".into(),
                value: bad,
                line: r.line_of("client_certificate_digest"),
            };
            r.bad(
                &e,
                "space-separated SHA1 digests (40 hex digits, ':' separators allowed)",
            )
        })?,
    };
    Ok(ListenerConfig {
        name: name.to_owned(),
        interface: r.address("interface")?,
        netmask: r.address("netmask")?,
        port: r.int("port")? as u16,
        allow_reuse_address: r.flag("allow_reuse_address")?,
        keepalive: r.flag("keepalive")?,
        request_queue_size: r.int("request_queue_size")? as u32,
        socket_timeout: r.opt_seconds("socket_timeout")?,
        allow_ssl: r.flag("allow_ssl")? || require_ssl,
        require_ssl,
        server_private_key_file: r
            .path("server_private_key_file")
            .unwrap_or_else(|| resolve(origin, "server.pkey")),
        server_certificate_file: r
            .path("server_certificate_file")
            .unwrap_or_else(|| resolve(origin, "server.cert")),
        client_certificate_file: r.path("client_certificate_file"),
        client_certificate_dir: r.path("client_certificate_dir"),
        client_certificate_digest: digests,
        client_certificate_digest_file: r.path("client_certificate_digest_file"),
        connection_cursortype: r.cursor_type("connection_cursortype")?,
    })
}

/// Parses space-separated SHA1 digests (case-insensitive hex, `:` separators allowed) into
/// lower-case hex. Returns the offending word on error.
pub fn parse_digests(v: &str) -> Result<Vec<String>, String> {
    v.split_whitespace()
        .map(|w| {
            let hex: String = w
                .chars()
                .filter(|c| *c != ':')
                .collect::<String>()
                .to_ascii_lowercase();
            if hex.len() == 40 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(hex)
            } else {
                Err(w.to_owned())
            }
        })
        .collect()
}
