//! One declaration per configuration option: its section, name, default (as written in the
//! file), the kind of values it takes (with an integer's range), and one line of
//! documentation. The parsers take from these
//! tables each section's known options (an unknown option is an error naming the closest known
//! one) and, for an absent option, its default (parsed like a value from the file) and range;
//! `odbcd check-config --options` prints them, and tests check that the example files list
//! every option with its default.
//!
//! `"Connection"` stands for every connection section (a section whose name contains
//! "Connection"). A default of `""` means "not set"; `None` is the manual's spelling of "no
//! limit".

/// What values an option takes; the parser's reader for the option checks it reads this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer in `min..=max`.
    Int(u64, u64),
    /// An integer in `min..=max`, or `None` (no limit).
    OptInt(u64, u64),
    /// A number of seconds greater than 0.
    Seconds,
    /// A number of seconds, 0 or more.
    SecondsOrZero,
    /// A number of seconds greater than 0, or `None`.
    OptSeconds,
    /// `0` or `1`.
    Flag,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A file or folder, relative to the config file's folder.
    Path,
    /// Text (lists and digests are checked by the option's own rules).
    Text,
    /// An `mx.Log.SYSTEM_*` level.
    LogLevel,
    /// An ODBC cursor type or `None`.
    CursorType,
    /// An IPv4 or IPv6 address.
    Address,
    /// Comma-separated connection-string key names.
    KeyList,
    /// An IP address and a port (`127.0.0.1:9632`, `[::1]:9632`), or nothing (off).
    SocketAddr,
}

impl Kind {
    /// What the values look like, for `check-config --options`.
    pub fn describe(&self) -> String {
        match self {
            Self::Int(min, max) => format!("an integer from {min} to {max}"),
            Self::OptInt(min, max) => format!("None or an integer from {min} to {max}"),
            Self::Seconds => "seconds (> 0)".into(),
            Self::SecondsOrZero => "seconds (0 or more)".into(),
            Self::OptSeconds => "None or seconds (> 0)".into(),
            Self::Flag => "0 or 1".into(),
            Self::Choice(words) => format!("one of {}", words.join(", ")),
            Self::Path => "a path (relative to this file)".into(),
            Self::Text => "text".into(),
            Self::LogLevel => {
                "mx.Log.SYSTEM_ERROR, _IMPORTANT, _WARNING, _MESSAGE, _INFO or _ANY".into()
            }
            Self::CursorType => "None or an ODBC cursor type".into(),
            Self::Address => "an IP address".into(),
            Self::KeyList => "key names, comma-separated".into(),
            Self::SocketAddr => {
                "an IP address and port such as 127.0.0.1:9632, or empty (off)".into()
            }
        }
    }
}

const FLAG: Kind = Kind::Flag;
const SECONDS: Kind = Kind::Seconds;
const SECONDS_OR_ZERO: Kind = Kind::SecondsOrZero;
const OPT_SECONDS: Kind = Kind::OptSeconds;
const PATH: Kind = Kind::Path;
const TEXT: Kind = Kind::Text;
const LEVEL: Kind = Kind::LogLevel;
const CURSOR: Kind = Kind::CursorType;
const ADDRESS: Kind = Kind::Address;
const KEYS: Kind = Kind::KeyList;

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
    /// The values it takes.
    pub kind: Kind,
    /// What it does, in one line.
    pub doc: &'static str,
}

use super::value::CHUNK_LENGTH_RANGE;

const fn opt(
    section: &'static str,
    name: &'static str,
    default: &'static str,
    kind: Kind,
    doc: &'static str,
) -> OptionSpec {
    OptionSpec {
        section,
        name,
        default,
        kind,
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
                FLAG,
                "snappy-compress frames",
            ),
            opt(
                "Session",
                "compression_ratio",
                "2",
                Kind::Int(1, 9),
                "1-9: compress frames from 4096 down to 32 bytes",
            ),
            opt(
                "Session",
                "max_chunk_length",
                "64000",
                Kind::Int(CHUNK_LENGTH_RANGE.0, CHUNK_LENGTH_RANGE.1),
                "bytes per read and write, and per batch of rows",
            ),
            opt(
                "Session",
                "receive_timeout",
                "10",
                SECONDS,
                "seconds for the rest of a frame once it started",
            ),
            opt(
                "Session",
                "send_timeout",
                "10",
                SECONDS,
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
                LEVEL,
                "mx.Log.SYSTEM_ERROR ... _ANY; RUST_LOG overrides",
            ),
            opt("Logging", "log_file", $log_file, PATH, $log_doc),
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
        ADDRESS,
        "the address to listen on",
    ),
    opt(
        "Connection",
        "netmask",
        "255.0.0.0",
        ADDRESS,
        "peers outside interface/netmask are refused",
    ),
    opt(
        "Connection",
        "port",
        "6632",
        Kind::Int(0, 65535),
        "the TCP port",
    ),
    opt(
        "Connection",
        "allow_reuse_address",
        "1",
        FLAG,
        "SO_REUSEADDR",
    ),
    opt("Connection", "keepalive", "1", FLAG, "TCP keepalive"),
    opt(
        "Connection",
        "request_queue_size",
        "1024",
        Kind::Int(1, 65535),
        "the listen backlog",
    ),
    opt(
        "Connection",
        "socket_timeout",
        "None",
        OPT_SECONDS,
        "seconds a session's link may stay silent",
    ),
    opt("Connection", "allow_ssl", "0", FLAG, "accept TLS clients"),
    opt(
        "Connection",
        "require_ssl",
        "0",
        FLAG,
        "accept only TLS clients",
    ),
    opt(
        "Connection",
        "server_private_key_file",
        "server.pkey",
        PATH,
        "the TLS key (PEM)",
    ),
    opt(
        "Connection",
        "server_certificate_file",
        "server.cert",
        PATH,
        "the TLS certificate chain (PEM)",
    ),
    opt(
        "Connection",
        "client_certificate_file",
        "",
        PATH,
        "accept clients with a certificate signed by these CAs",
    ),
    opt(
        "Connection",
        "client_certificate_dir",
        "",
        PATH,
        "the same, a folder of CA certificates",
    ),
    opt(
        "Connection",
        "client_certificate_digest",
        "",
        TEXT,
        "accept clients whose certificate has one of these digests",
    ),
    opt(
        "Connection",
        "client_certificate_digest_file",
        "",
        PATH,
        "the same, one digest per line",
    ),
    opt(
        "Connection",
        "connection_cursortype",
        "None",
        CURSOR,
        "SQL_ATTR_CURSOR_TYPE for this listener's statements",
    ),
    opt(
        "Authentication",
        "auth_mode",
        "none",
        Kind::Choice(&["none", "file"]),
        "none or file (the password file)",
    ),
    opt(
        "Authentication",
        "password_file",
        "authorized-users.txt",
        PATH,
        "user: password-hash lines",
    ),
    opt(
        "Authentication",
        "login_salt",
        "",
        TEXT,
        "salt of the login keys (empty: the built-in one)",
    ),
    opt(
        "Authentication",
        "admin_users",
        "",
        TEXT,
        "users (of the password file) who may list and end every session, pause, reload and read the configuration",
    ),
    opt(
        "Access",
        "allowed_dsns",
        "*",
        TEXT,
        "data sources a connection string may name",
    ),
    opt(
        "Access",
        "allowed_drivers",
        "",
        TEXT,
        "drivers a DSN-less connection string may name",
    ),
    opt("Access", "allow_file_dsn", "0", FLAG, "allow FILEDSN="),
    opt(
        "Access",
        "client_attributes",
        "UID, PWD",
        KEYS,
        "the keys a client may add to a DSN",
    ),
    opt(
        "Access",
        "allowed_unsafe_keys",
        "",
        KEYS,
        "keys that name files or load code, allowed anyway",
    ),
    opt(
        "Session",
        "max_sessions",
        "400",
        Kind::Int(1, 1_000_000),
        "sessions at once",
    ),
    opt(
        "Session",
        "max_handshakes",
        "128",
        Kind::Int(1, 100_000),
        "connections in their handshake at once",
    ),
    opt(
        "Session",
        "max_handshakes_per_address",
        "8",
        Kind::Int(1, 100_000),
        "the same, per client address",
    ),
    opt(
        "Session",
        "handshake_timeout",
        "5",
        SECONDS,
        "seconds for a handshake",
    ),
    opt(
        "Session",
        "max_request_size",
        "67108864",
        Kind::Int(1024, 1 << 40),
        "bytes one request may decode to",
    ),
    opt(
        "Session",
        "max_connections_per_session",
        "32",
        Kind::Int(1, 100_000),
        "database connections per session",
    ),
    opt(
        "Session",
        "driver_isolation",
        "thread",
        Kind::Choice(&["thread", "process"]),
        "where each database connection's ODBC calls run: thread (fastest) or process (a driver that crashes loses only its connection)",
    ),
    opt(
        "Session",
        "worker_memory_limit",
        "None",
        Kind::OptInt(16, 1 << 20),
        "with driver_isolation = process: the most memory (address space, MiB) a worker may take; beyond it its allocations fail",
    ),
    opt(
        "Session",
        "worker_user",
        "",
        TEXT,
        "with driver_isolation = process: the system user workers run as (the server must run as root to switch; empty: the server's user)",
    ),
    opt(
        "Session",
        "statement_cache_size",
        "32",
        Kind::Int(0, 4096),
        "prepared statements kept per database connection (0: none)",
    ),
    opt(
        "Session",
        "busy_poll",
        "0",
        Kind::Int(0, 10_000),
        "microseconds a database connection's thread keeps checking for the next request after answering one, instead of sleeping (saves a wake-up per back-to-back request, costs up to that much CPU per request; thread isolation only; 0: off)",
    ),
    opt(
        "Unix",
        "shutdown_grace",
        "30",
        SECONDS_OR_ZERO,
        "on SIGTERM, seconds running requests and open transactions get to finish (new sessions are refused at once; 0: stop at once)",
    ),
    opt(
        "Metrics",
        "listen",
        "",
        Kind::SocketAddr,
        "where to serve /metrics (Prometheus text), /healthz and /readyz over HTTP (empty: off)",
    ),
    opt(
        "Unix",
        "pid_file",
        "server.pid",
        PATH,
        "the PID file (next to the config file)",
    ),
    opt(
        "Activity",
        "check_interval",
        "2",
        SECONDS,
        "seconds between a session's watchdog checks",
    ),
    opt(
        "Activity",
        "max_request_execution_time",
        "86400",
        SECONDS,
        "seconds before a request is cancelled",
    ),
    opt(
        "Activity",
        "max_session_reconnect_time",
        "60",
        SECONDS,
        "seconds a session waits for its client to resume",
    ),
    opt(
        "Activity",
        "max_waiting_time",
        "86400",
        SECONDS,
        "seconds a session may stay idle",
    ),
    opt(
        "Activity",
        "max_sessions",
        "400",
        Kind::Int(1, 1_000_000),
        "the manual's place for [Session] max_sessions",
    ),
    opt(
        "License",
        "max_connections",
        "None",
        Kind::OptInt(1, u32::MAX as u64),
        "physical database connections at once",
    ),
    opt(
        "Pool",
        "max_idle_connections",
        "0",
        Kind::Int(0, 100_000),
        "idle connections kept for reuse (0: no pool)",
    ),
    opt(
        "Pool",
        "idle_timeout",
        "60",
        SECONDS,
        "seconds an idle connection is kept",
    ),
    opt(
        "Pool",
        "check_query",
        "SELECT 1",
        TEXT,
        "run before reusing a connection idle check_delay",
    ),
    opt(
        "Pool",
        "check_delay",
        "30",
        SECONDS_OR_ZERO,
        "seconds idle before check_query runs (0: always)",
    ),
];

const CLIENT_OWN: &[OptionSpec] = &[
    opt("Connection", "host", "127.0.0.1", TEXT, "the server's host"),
    opt(
        "Connection",
        "port",
        "6632",
        Kind::Int(1, 65535),
        "the server's port",
    ),
    opt(
        "Connection",
        "socket_timeout",
        "None",
        OPT_SECONDS,
        "seconds to wait for an answer to start",
    ),
    opt(
        "Connection",
        "connect_timeout",
        "5",
        SECONDS,
        "seconds to connect",
    ),
    opt("Connection", "using_ssl", "0", FLAG, "use TLS"),
    opt(
        "Connection",
        "client_private_key_file",
        "",
        PATH,
        "the client certificate's key (PEM)",
    ),
    opt(
        "Connection",
        "client_certificate_file",
        "",
        PATH,
        "the client certificate (PEM)",
    ),
    opt(
        "Connection",
        "client_private_key_string",
        "",
        TEXT,
        "the same key, inline",
    ),
    opt(
        "Connection",
        "client_certificate_string",
        "",
        TEXT,
        "the same certificate, inline",
    ),
    opt(
        "Connection",
        "server_certificate_file",
        "",
        PATH,
        "trust this certificate (or CA) for the server",
    ),
    opt(
        "Connection",
        "server_certificate_digest",
        "",
        TEXT,
        "trust a server certificate with one of these digests",
    ),
    opt(
        "Connection",
        "verify_server_certificate",
        "1",
        FLAG,
        "verify the server's certificate",
    ),
    opt(
        "Communication",
        "server_connections",
        "",
        TEXT,
        "connection sections to try, in order (empty: all, by name)",
    ),
    opt(
        "Communication",
        "ping_interval",
        "30",
        OPT_SECONDS,
        "seconds of silence before a ping (None: no pings)",
    ),
    opt(
        "Communication",
        "ping_timeout",
        "10",
        SECONDS,
        "seconds to wait for a pong",
    ),
    opt(
        "Communication",
        "auto_reconnect",
        "0",
        FLAG,
        "open the session again when it is lost",
    ),
    opt(
        "Communication",
        "reconnect_attempts",
        "3",
        Kind::Int(1, 1000),
        "tries to open it again",
    ),
    opt(
        "Communication",
        "reconnect_delay",
        "1",
        SECONDS,
        "seconds between them",
    ),
    opt(
        "Communication",
        "max_resume_attempts",
        "20",
        Kind::Int(1, 100_000),
        "tries to resume a session on a broken link",
    ),
    opt(
        "Authentication",
        "login_salt",
        "",
        TEXT,
        "salt of the login keys (as the server's)",
    ),
    opt(
        "Session",
        "remote_module",
        "Manager",
        Kind::Choice(&["Manager", "unixODBC", "iODBC", "Windows"]),
        "the server-side ODBC manager",
    ),
    opt(
        "Integration",
        "ssl_module",
        "",
        Kind::Choice(&["ssl", "pyOpenSSL"]),
        "ssl or pyOpenSSL (accepted, no effect)",
    ),
    opt("Integration", "gevent", "0", FLAG, "accepted, no effect"),
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
            out.push_str(&format!(
                "# {} = {}\n#   {}: {}\n",
                o.name,
                o.default,
                o.doc,
                o.kind.describe()
            ));
        }
        out.push('\n');
    }
    out
}

/// Whether an option's value is a secret, masked wherever a configuration is shown: salts,
/// passwords, inline keys (paths to files are not secrets).
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !name.ends_with("_file")
        && !name.ends_with("_dir")
        && (name.contains("salt")
            || name.contains("passw")
            || name.contains("secret")
            || (name.contains("key") && name.ends_with("_string")))
}

/// What a secret shows as.
pub const MASKED: &str = "********";

/// The configuration `ini` makes, as INI text: each section of `table` (each connection
/// section of `ini`, or `[Connection]` when it has none), every option of it, those `ini` sets
/// as `option = value` (secrets as [`MASKED`]), the others commented with their default.
pub fn effective(ini: &super::ini::Ini, table: &[OptionSpec]) -> String {
    let mut names: Vec<(String, &'static str)> = ini
        .sections
        .iter()
        .filter(|s| super::is_connection_section(&s.name))
        .map(|s| (s.name.clone(), "Connection"))
        .collect();
    if names.is_empty() {
        names.push(("Connection".to_owned(), "Connection"));
    }
    names.extend(sections(table).into_iter().map(|s| (s.to_owned(), s)));
    let mut out = String::new();
    for (name, kind) in names {
        out.push_str(&format!("[{name}]\n"));
        let section = ini.section(&name);
        for o in table.iter().filter(|o| o.section == kind) {
            match section.and_then(|s| s.get(o.name)) {
                Some(e) if is_secret(o.name) && !e.value.is_empty() => {
                    out.push_str(&format!("{} = {MASKED}\n", o.name));
                }
                Some(e) => out.push_str(&format!("{} = {}\n", o.name, e.value)),
                None => out.push_str(&format!("# {} = {}\n", o.name, o.default)),
            }
        }
        out.push('\n');
    }
    out
}
