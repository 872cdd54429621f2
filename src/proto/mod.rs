//! The wire protocol: pure encoding and decoding, no I/O (no tokio, actix or ODBC in here,
//! except the thin `tokio_util` adapter in [`codec`], built only with the `server` feature).
//!
//! A connection starts with a fixed 8-byte [`preamble::Preamble`] from each side (magic,
//! protocol version, flags), so a version mismatch is found before anything version-specific is
//! decoded, and so that the server can tell plain clients from TLS (`0x16`) on the same port.
//! After it, both sides exchange length-prefixed [`frame`]s carrying `postcard`-encoded
//! [`message`]s, compressed per frame with snappy ([`compress`]) when the sender's configuration
//! says so. Every request carries an id, and every response the id of its request, so one
//! session can have requests in flight on several database connections at once.
//!
//! Compatibility: postcard is not self-describing, so enum variants in [`message`] are
//! append-only and never reordered; a change that breaks this bumps [`PROTOCOL_VERSION`].

pub mod admin;
pub mod budget;
pub mod catalog;
pub mod compress;
pub mod error;
pub mod frame;
pub mod info;
pub mod message;
pub mod preamble;
pub mod rows;
pub mod statement;
pub mod value;

#[cfg(feature = "server")]
pub mod codec;

pub use error::ProtoError;

/// The protocol version this build speaks. Version 2 added answers an old client cannot read
/// to requests it sends (`Response::Warned` around any answer, `Response::ExecuteManyFailed`):
/// a server answers a version-1 client in version 1 (no warnings, an `ExecuteMany` failure as
/// `Response::Error`), so servers can be upgraded before their clients.
pub const PROTOCOL_VERSION: u16 = 2;

/// The SQLSTATE of the notice a server sends when it closes a session for a shutdown, between
/// requests: nothing the client sent after the last answer it got ran, so a client may send
/// it again on another server.
pub const DRAINED_SQLSTATE: &str = "08S02";

/// The oldest protocol version a server still speaks.
pub const OLDEST_PROTOCOL_VERSION: u16 = 1;

/// The largest frame either side accepts (length prefix included), checked before any
/// allocation. Large enough for multi-megabyte parameters and values.
pub const MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// A client acknowledges at least every this many bytes it receives, with a frame of request
/// id 0 when it has no request to send (the server holds back output the client has not
/// acknowledged beyond a budget, and would otherwise wait for an acknowledgement that never
/// comes).
pub const ACK_EVERY_BYTES: u64 = 1024 * 1024;
