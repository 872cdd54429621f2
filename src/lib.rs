//! # odbcd: a networked ODBC server and its fail-over client
//!
//! `odbcd` runs next to the ODBC drivers and lets applications reach any ODBC data source over
//! TCP. This crate holds the server, the wire protocol and the client library.
//!
//! # Layout
//!
//! - [`proto`]: the wire protocol, a pure codec (no I/O) shared by server and client.
//! - [`config`]: the manual's INI files, parsed into typed server and client configurations.
//! - [`connstr`]: ODBC connection strings (MS-ODBCSTR), with password masking for logs.
//! - [`error`]: the error classes of the manual (section 5.5) and the SQLSTATE mapping.
//! - [`auth`]: the password file and the challenge-response login.
//! - [`tls`]: TLS configuration for both sides, certificate digests, client-certificate rules.
//! - [`client`]: the client library: `ServerSession`, `Connection`, `Cursor`.
//! - `server` (feature `server`, on by default): the actix actors of `odbcd`; see `actors.md`.
//!
//! Building with `--no-default-features` leaves out the server, so the client library and
//! `odbcsh` build and run on machines without unixODBC.

// One audited `unsafe` call exists (server/db: re-wrapping a statement in cursor state).
#![deny(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]

pub mod auth;
pub mod client;
pub mod config;
pub mod connstr;
pub mod driver_keys;
pub mod error;
pub mod logging;
pub mod passwd;
pub mod proto;
#[cfg(feature = "server")]
pub mod server;
pub mod shell;
pub mod tls;

/// This software's version, as servers report it in `server_version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
