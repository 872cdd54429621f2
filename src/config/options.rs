//! One declaration per configuration option: its section, name, default (as written in the
//! file), range for an integer, and one line of documentation. The parsers take from these
//! tables each section's known options (an unknown option is an error naming the closest known
//! one) and, for an absent option, its default (parsed like a value from the file) and range;
//! `odbcd check-config --options` prints them, and tests check that the example files list
//! every option with its default.
//!
//! `"Connection"` stands for every connection section (a section whose name contains
//! "Connection"). A default of `""` means "not set"; `None` is the manual's spelling of "no
//! limit".

/// One option of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// The section it belongs in.
    pub section: &'static str,
    /// Its name (lower case).
    pub name: &'static str,
    /// Its default, as written in the file (`""`: not set). Parsed like a value from a file
    /// when the option is absent, so a default is valid by construction.
    pub default: &'static str,
    /// For an integer, the values it accepts.
    pub range: Option<(u64, u64)>,
    /// What it does, in one line.
    pub doc: &'static str,
}

use super::value::CHUNK_LENGTH_RANGE;

const fn opt(
    section: &'static str,
    name: &'static str,
    default: &'static str,
    doc: &'static str,
) -> OptionSpec {
    OptionSpec {
        section,
        name,
        default,
        range: None,
        doc,
    }
}

/// An integer option accepting `min..=max`.
const fn num(
    section: &'static str,
    name: &'static str,
    default: &'static str,
    min: u64,
    max: u64,
    doc: &'static str,
) -> OptionSpec {
    OptionSpec {
        section,
        name,
        default,
        range: Some((min, max)),
        doc,
    }
}

/// The options both sides read in `[Session]`: how this side sends and receives.
macro_rules! transport_options {
    () => {
        [
            opt(
                "Session",
                "enable_compression",
                "1",
                "snappy-compress frames",
            ),
            num(
                "Session",
                "compression_ratio",
                "2",
                1,
                9,
                "1-9: compress frames from 4096 down to 32 bytes",
            ),
            num(
                "Session",
                "max_chunk_length",
                "64000",
                CHUNK_LENGTH_RANGE.0,
                CHUNK_LENGTH_RANGE.1,
                "bytes per read and write, and per batch of rows",
            ),
            opt(
                "Session",
                "receive_timeout",
                "10",
                "seconds for the rest of a frame once it started",
            ),
            opt(
                "Session",
                "send_timeout",
                "10",
                "seconds for one write to the peer",
            ),
        ]
    };
}

/// The options of both sides' `[Logging]`.
macro_rules! logging_options {
    ($log_file:expr, $log_doc:expr) => {
        [
            opt(
                "Logging",
                "log_level",
                "mx.Log.SYSTEM_IMPORTANT",
                "mx.Log.SYSTEM_ERROR ... _ANY; RUST_LOG overrides",
            ),
            opt("Logging", "log_file", $log_file, $log_doc),
        ]
    };
}

const SERVER_TRANSPORT: [OptionSpec; 5] = transport_options!();
const SERVER_LOGGING: [OptionSpec; 2] = logging_options!(
    "server.log",
    "the log file (next to the config file; none with built-in defaults)"
);
const CLIENT_TRANSPORT: [OptionSpec; 5] = transport_options!();
const CLIENT_LOGGING: [OptionSpec; 2] = logging_options!("", "odbcsh's log file");

const SERVER_OWN: &[OptionSpec] = &[
    opt(
        "Connection",
        "interface",
        "127.0.0.1",
        "the address to listen on",
    ),
    opt(
        "Connection",
        "netmask",
        "255.0.0.0",
        "peers outside interface/netmask are refused",
    ),
    num("Connection", "port", "6632", 0, 65535, "the TCP port"),
    opt("Connection", "allow_reuse_address", "1", "SO_REUSEADDR"),
    opt("Connection", "keepalive", "1", "TCP keepalive"),
    num(
        "Connection",
        "request_queue_size",
        "1024",
        1,
        65535,
        "the listen backlog",
    ),
    opt(
        "Connection",
        "socket_timeout",
        "None",
        "seconds a session's link may stay silent",
    ),
    opt("Connection", "allow_ssl", "0", "accept TLS clients"),
    opt("Connection", "require_ssl", "0", "accept only TLS clients"),
    opt(
        "Connection",
        "server_private_key_file",
        "server.pkey",
        "the TLS key (PEM)",
    ),
    opt(
        "Connection",
        "server_certificate_file",
        "server.cert",
        "the TLS certificate chain (PEM)",
    ),
    opt(
        "Connection",
        "client_certificate_file",
        "",
        "accept clients with a certificate signed by these CAs",
    ),
    opt(
        "Connection",
        "client_certificate_dir",
        "",
        "the same, a folder of CA certificates",
    ),
    opt(
        "Connection",
        "client_certificate_digest",
        "",
        "accept clients whose certificate has one of these digests",
    ),
    opt(
        "Connection",
        "client_certificate_digest_file",
        "",
        "the same, one digest per line",
    ),
    opt(
        "Connection",
        "connection_cursortype",
        "None",
        "SQL_ATTR_CURSOR_TYPE for this listener's statements",
    ),
    opt(
        "Authentication",
        "auth_mode",
        "none",
        "none or file (the password file)",
    ),
    opt(
        "Authentication",
        "password_file",
        "authorized-users.txt",
        "user: password-hash lines",
    ),
    opt(
        "Authentication",
        "login_salt",
        "",
        "salt of the login keys (empty: the built-in one)",
    ),
    opt(
        "Access",
        "allowed_dsns",
        "*",
        "data sources a connection string may name",
    ),
    opt(
        "Access",
        "allowed_drivers",
        "",
        "drivers a DSN-less connection string may name",
    ),
    opt("Access", "allow_file_dsn", "0", "allow FILEDSN="),
    opt(
        "Access",
        "client_attributes",
        "UID, PWD",
        "the keys a client may add to a DSN",
    ),
    opt(
        "Access",
        "allowed_unsafe_keys",
        "",
        "keys that name files or load code, allowed anyway",
    ),
    num(
        "Session",
        "max_sessions",
        "400",
        1,
        1_000_000,
        "sessions at once",
    ),
    num(
        "Session",
        "max_handshakes",
        "128",
        1,
        100_000,
        "connections in their handshake at once",
    ),
    num(
        "Session",
        "max_handshakes_per_address",
        "8",
        1,
        100_000,
        "the same, per client address",
    ),
    opt(
        "Session",
        "handshake_timeout",
        "5",
        "seconds for a handshake",
    ),
    num(
        "Session",
        "max_request_size",
        "67108864",
        1024,
        1 << 40,
        "bytes one request may decode to",
    ),
    num(
        "Session",
        "max_connections_per_session",
        "32",
        1,
        100_000,
        "database connections per session",
    ),
    opt(
        "Unix",
        "pid_file",
        "server.pid",
        "the PID file (next to the config file)",
    ),
    opt(
        "Activity",
        "check_interval",
        "2",
        "seconds between a session's watchdog checks",
    ),
    opt(
        "Activity",
        "max_request_execution_time",
        "86400",
        "seconds before a request is cancelled",
    ),
    opt(
        "Activity",
        "max_session_reconnect_time",
        "60",
        "seconds a session waits for its client to resume",
    ),
    opt(
        "Activity",
        "max_waiting_time",
        "86400",
        "seconds a session may stay idle",
    ),
    num(
        "Activity",
        "max_sessions",
        "400",
        1,
        1_000_000,
        "the manual's place for [Session] max_sessions",
    ),
    num(
        "License",
        "max_connections",
        "None",
        1,
        u32::MAX as u64,
        "physical database connections at once",
    ),
    num(
        "Pool",
        "max_idle_connections",
        "0",
        0,
        100_000,
        "idle connections kept for reuse (0: no pool)",
    ),
    opt(
        "Pool",
        "idle_timeout",
        "60",
        "seconds an idle connection is kept",
    ),
    opt(
        "Pool",
        "check_query",
        "SELECT 1",
        "run before reusing a connection idle check_delay",
    ),
    opt(
        "Pool",
        "check_delay",
        "30",
        "seconds idle before check_query runs (0: always)",
    ),
];

const CLIENT_OWN: &[OptionSpec] = &[
    opt("Connection", "host", "127.0.0.1", "the server's host"),
    num("Connection", "port", "6632", 1, 65535, "the server's port"),
    opt(
        "Connection",
        "socket_timeout",
        "None",
        "seconds to wait for an answer to start",
    ),
    opt("Connection", "connect_timeout", "5", "seconds to connect"),
    opt("Connection", "using_ssl", "0", "use TLS"),
    opt(
        "Connection",
        "client_private_key_file",
        "",
        "the client certificate's key (PEM)",
    ),
    opt(
        "Connection",
        "client_certificate_file",
        "",
        "the client certificate (PEM)",
    ),
    opt(
        "Connection",
        "client_private_key_string",
        "",
        "the same key, inline",
    ),
    opt(
        "Connection",
        "client_certificate_string",
        "",
        "the same certificate, inline",
    ),
    opt(
        "Connection",
        "server_certificate_file",
        "",
        "trust this certificate (or CA) for the server",
    ),
    opt(
        "Connection",
        "server_certificate_digest",
        "",
        "trust a server certificate with one of these digests",
    ),
    opt(
        "Connection",
        "verify_server_certificate",
        "1",
        "verify the server's certificate",
    ),
    opt(
        "Communication",
        "server_connections",
        "",
        "connection sections to try, in order (empty: all, by name)",
    ),
    opt(
        "Communication",
        "ping_interval",
        "30",
        "seconds of silence before a ping (None: no pings)",
    ),
    opt(
        "Communication",
        "ping_timeout",
        "10",
        "seconds to wait for a pong",
    ),
    opt(
        "Communication",
        "auto_reconnect",
        "0",
        "open the session again when it is lost",
    ),
    num(
        "Communication",
        "reconnect_attempts",
        "3",
        1,
        1000,
        "tries to open it again",
    ),
    opt(
        "Communication",
        "reconnect_delay",
        "1",
        "seconds between them",
    ),
    num(
        "Communication",
        "max_resume_attempts",
        "20",
        1,
        100_000,
        "tries to resume a session on a broken link",
    ),
    opt(
        "Authentication",
        "login_salt",
        "",
        "salt of the login keys (as the server's)",
    ),
    opt(
        "Session",
        "remote_module",
        "Manager",
        "the server-side ODBC manager",
    ),
    opt(
        "Integration",
        "ssl_module",
        "",
        "ssl or pyOpenSSL (accepted, no effect)",
    ),
    opt("Integration", "gevent", "0", "accepted, no effect"),
];

/// Every option of the server's configuration file, then the sections it accepts empty.
pub fn server_options() -> Vec<OptionSpec> {
    let mut all = SERVER_OWN.to_vec();
    all.extend(SERVER_TRANSPORT);
    all.extend(SERVER_LOGGING);
    all
}

/// Every option of the client's configuration file.
pub fn client_options() -> Vec<OptionSpec> {
    let mut all = CLIENT_OWN.to_vec();
    all.extend(CLIENT_TRANSPORT);
    all.extend(CLIENT_LOGGING);
    all
}

/// The declarations of `section`'s options in `table`.
pub(crate) fn specs_of(table: &[OptionSpec], section: &str) -> Vec<OptionSpec> {
    table
        .iter()
        .filter(|o| o.section == section)
        .copied()
        .collect()
}

/// The sections of `table` other than connection sections, in first-use order.
pub(crate) fn sections(table: &[OptionSpec]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for o in table {
        if o.section != "Connection" && !out.contains(&o.section) {
            out.push(o.section);
        }
    }
    out
}

/// The table as an INI file (`[Section]`, then `# name = default  ; doc`), for
/// `odbcd check-config --options`.
pub fn describe(table: &[OptionSpec]) -> String {
    let mut out = String::new();
    let mut order = vec!["Connection"];
    order.extend(sections(table));
    for section in order {
        out.push_str(&format!("[{section}]\n"));
        for o in table.iter().filter(|o| o.section == section) {
            let range = o
                .range
                .map(|(min, max)| format!(" ({min} to {max})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "# {} = {}\n#   {}{range}\n",
                o.name, o.default, o.doc
            ));
        }
        out.push('\n');
    }
    out
}
