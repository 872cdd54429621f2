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
//! - [`driver_keys`]: the connection-string keys each known ODBC driver reads.
//! - [`hex`]: lower-case hexadecimal.
//! - `server` (feature `server`, on by default): the actix actors of `odbcd`; see `actors.md`.
//! - `passwd`, `logging`, `shell`, `describe` (feature `cli`, on by default, hidden from the
//!   docs): the binaries' own parts (`odbcd passwd`, log setup, `odbcsh`'s statement splitter,
//!   output formats and describing commands), not for applications.
//!
//! Building with `--no-default-features` gives the client library alone (no unixODBC, no
//! actix, no command-line crates); `--no-default-features --features cli` adds `odbcsh`.
//!
//! # Unsafe code
//!
//! Denied everywhere except in these places, each with `SAFETY` notes at every block
//! (`tests/layout.rs` checks that this list and the code agree):
//! - `src/server/db/cursors.rs`: re-wrapping a statement that just returned a cursor
//!   (`CursorImpl::new`), so a result set can own its statement, and a prepared statement
//!   taken apart for that (`Prepared::from_prepared`), to run it again.
//! - `src/server/db/param_arrays.rs`: binding an executemany's sets as parameter arrays to
//!   buffers it owns, unbound before they go.
//! - `src/server/db/procedures.rs`: binding a procedure call's output parameters to buffers
//!   it owns (`ParameterCollection`), unbound before they go.
//! - `src/server/db/odbc_calls.rs`: the catalog functions with NULL-able arguments,
//!   `SQLGetInfo` for every information type, connection and statement attributes,
//!   `SQLMoreResults`, `SQLFetchScroll` and resetting a statement for reuse.
//! - `src/server/db/cancel.rs`: `SQLCancel` from another thread on a statement handle kept
//!   alive by the cancel slot's lock.
//! - `src/server/db/stmt_attr.rs`: `SQLSetStmtAttr`/`SQLGetStmtAttr` for the cursor type and
//!   `SQLColAttribute` for a column's type name, which `odbc-api` does not wrap.
//! - `src/server/db/rowset.rs`: `SQLSetPos` and `SQLGetData` on a bulk cursor's handle, to
//!   read a cell that outgrew its buffer.
//! - `src/server/db/dm_lists.rs`: `SQLDrivers`/`SQLDataSources` with buffers of our own
//!   (`odbc-api`'s overflowed unixODBC's).
//! - `src/server/db/sqlite_guard.rs`: the interposed `sqlite3_enable_load_extension` and
//!   `sqlite3_create_function` (closing extension loading and file functions).
//! - `src/server/db/sqlite_values.rs`: the interposed `sqlite3_column_text`,
//!   `sqlite3_column_bytes` and `sqlite3_column_decltype` (exact reals, untyped columns).
//! - `src/server/db/cells.rs`: `localtime_r`, for the local date psqlodbc's statement clock
//!   shows (the date it makes up for a PostgreSQL year after 9999).
//! - `src/server/systemd.rs`: taking over the listening sockets systemd passes (socket
//!   activation: file descriptors from 3, checked to be listening TCP sockets).
//! - `src/server/db/worker.rs`: a worker process puts `SIGSEGV` and `SIGBUS` back to their
//!   default action (no handler), so that such a signal ends it as it would end a driver's
//!   own program, and the server sees which.

#![deny(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]

pub mod auth;
pub mod client;
pub mod config;
pub mod connstr;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod describe;
pub mod driver_keys;
pub mod error;
pub mod hex;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod logging;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod passwd;
pub mod proto;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod shell;
pub mod tls;

/// This software's version, as servers report it in `server_version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
