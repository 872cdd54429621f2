//! The server configuration: every option of manual section 2.4.2, typed, with its default.
//!
//! Beyond the manual: `[License] max_connections` (the licence limit on physical database
//! connections, default unlimited). `max_sessions` is accepted in `[Session]` and, as the
//! manual's FAQ 7.1.13 uses it, in `[Activity]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ini::Ini;
use super::listener::listener;
pub use super::listener::{parse_digests, ListenerConfig};
use super::options::{sections, server_options, specs_of};
use super::value::{
    check_sections, resolve, section_reader, transport, LoggingConfig, SectionReader,
    TransportConfig,
};
use super::{is_connection_section, read_ini, ConfigError, ErrorKind, Origin};

/// The default TCP port (IANA `mxodbc-connect`).
pub const DEFAULT_PORT: u16 = 6632;

/// A complete, validated server configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Where it came from; relative paths were resolved against its folder.
    pub origin: Origin,
    /// One listener per connection section, in file order.
    pub listeners: Vec<ListenerConfig>,
    /// `[Authentication]`.
    pub auth: AuthConfig,
    /// `[Session]`.
    pub session: SessionConfig,
    /// `[Activity]`.
    pub activity: ActivityConfig,
    /// `[Logging]`.
    pub logging: LoggingConfig,
    /// `[License]`.
    pub license: LicenseConfig,
    /// `[Pool]`.
    pub pool: PoolConfig,
    /// `[Unix] pid_file`; `None` with built-in defaults (no config file, no PID file).
    pub pid_file: Option<PathBuf>,
    /// `[Unix] shutdown_grace`: how long a SIGTERM lets requests and transactions finish.
    pub shutdown_grace: Duration,
    /// `[Access]`: which data sources and drivers clients may connect with.
    pub access: AccessConfig,
    /// `[Metrics] listen`: where the HTTP metrics and health endpoint listens (`None`: off).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The text it was read from (for the effective configuration, see [`Self::effective`]).
    pub source: Ini,
}

/// `[Access]` (not in the manual): which data sources and drivers clients may use. A connection
/// string is a way into the server machine (`Driver=/some/library.so` makes the driver manager
/// load any library), so the defaults are strict.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessConfig {
    /// `allowed_dsns` (default `*`: every DSN of the driver manager): DSN names, compared
    /// case-insensitively, or `*`.
    pub allowed_dsns: NameList,
    /// `allowed_drivers` (default: none): driver names clients may use without a DSN
    /// (`Driver=name`), or `*`. Driver paths are refused whatever this says.
    pub allowed_drivers: NameList,
    /// `allow_file_dsn` (default 0): whether `FileDSN=` may be used.
    pub allow_file_dsn: bool,
    /// `client_attributes` (default `UID, PWD`): the keys a client may add to a `DSN=`
    /// connection; every other setting comes from the operator's DSN definition.
    pub client_attributes: Vec<String>,
    /// `allowed_unsafe_keys` (default: none): keys that name a file on the server or load
    /// code (see [`crate::driver_keys`]) which clients may use anyway. Refused everywhere else.
    pub allowed_unsafe_keys: Vec<String>,
}

/// A list of names, or "any" (`*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameList {
    /// `*`.
    Any,
    /// These names (lower-cased).
    Only(Vec<String>),
}

impl NameList {
    fn parse(v: Option<String>, default_any: bool) -> Self {
        match v {
            None => {
                if default_any {
                    Self::Any
                } else {
                    Self::Only(Vec::new())
                }
            }
            Some(v) if v.trim() == "*" => Self::Any,
            Some(v) => Self::Only(
                v.split(',')
                    .map(|n| n.trim().to_ascii_lowercase())
                    .filter(|n| !n.is_empty())
                    .collect(),
            ),
        }
    }

    /// Whether `name` is on the list (case-insensitively).
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name.trim())),
        }
    }
}

/// How clients authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// `none`: no authentication.
    None,
    /// `file`: users and password digests from `password_file`.
    File,
}

/// `[Authentication]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    /// `auth_mode` (default none).
    pub mode: AuthMode,
    /// `password_file` (default authorized-users.txt).
    pub password_file: PathBuf,
    /// `login_salt` (default: the built-in salt).
    pub login_salt: Option<String>,
    /// `admin_users` (default: none): who may use the admin requests on every session.
    pub admin_users: Vec<String>,
}

/// `[Session]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// `max_sessions` (default 400).
    pub max_sessions: u32,
    /// `max_handshakes` (not in the manual, default 128): connections still in their handshake
    /// (TLS, preamble, login) at once; more are closed at once, so a flood of half-open or slow
    /// connections cannot exhaust the server.
    pub max_handshakes: u32,
    /// `max_handshakes_per_address` (not in the manual, default 8): of those, at most this many
    /// from one IP address.
    pub max_handshakes_per_address: u32,
    /// `max_request_size` (not in the manual, default 64 MiB): the most memory one request may
    /// decode to (parameters count 32 bytes each plus their contents); larger ones are refused.
    pub max_request_size: usize,
    /// `max_connections_per_session` (not in the manual, default 32): database connections one
    /// session may have open at once.
    pub max_connections_per_session: u32,
    /// `statement_cache_size` (not in the manual, default 32): prepared statements each
    /// database connection keeps for the SQL texts it ran last, so running one again reuses
    /// the driver's statement (0: every statement is prepared, or run, anew).
    pub statement_cache_size: usize,
    /// `busy_poll` (not in the manual, default 0: off; configured in microseconds, at most
    /// 10,000): how long a database connection's thread keeps checking for the session's next
    /// request after answering one, instead of going to sleep at once (thread isolation only).
    pub busy_poll: Duration,
    /// `handshake_timeout` (not in the manual, default 5 s, never more than `receive_timeout`):
    /// everything before the session starts (TLS, preamble, login) must finish within it.
    pub handshake_timeout: Duration,
    /// How the server sends and receives (`enable_compression` governs server-to-client
    /// frames).
    pub transport: TransportConfig,
    /// `driver_isolation` (not in the manual, default `thread`): where each physical database
    /// connection's ODBC calls run.
    pub driver_isolation: DriverIsolation,
    /// `worker_memory_limit` (not in the manual, default None): with process isolation, the
    /// most address space a worker may take, in bytes (configured in MiB).
    pub worker_memory_limit: Option<u64>,
    /// `worker_user` (not in the manual, default: the server's own user): with process
    /// isolation, the system user workers run as — its name, user id and group id, looked
    /// up when the configuration is read.
    pub worker_user: Option<(String, u32, u32)>,
}

/// Where a physical database connection's ODBC calls run (`[Session] driver_isolation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverIsolation {
    /// On a thread of the server: fastest; a driver that crashes ends the server.
    Thread,
    /// In a worker process of its own: a driver that crashes loses that connection only.
    Process,
}

/// `[Session] worker_user`: the user's name and ids, `None` when not set.
fn worker_user(
    s: &SectionReader<'_>,
    origin: &Origin,
) -> Result<Option<(String, u32, u32)>, ConfigError> {
    let Some(name) = s.string("worker_user").filter(|n| !n.trim().is_empty()) else {
        return Ok(None);
    };
    let name = name.trim().to_owned();
    let invalid = |message: String| ConfigError {
        origin: origin.clone(),
        line: s.line_of("worker_user"),
        kind: ErrorKind::Invalid { message },
    };
    #[cfg(feature = "server")]
    let found = match nix::unistd::User::from_name(&name) {
        Ok(Some(u)) if u.uid.is_root() => Err(invalid(format!(
            "worker_user {name:?} is root: workers are to run with less privilege"
        ))),
        Ok(Some(u)) => Ok(Some((name, u.uid.as_raw(), u.gid.as_raw()))),
        Ok(None) => Err(invalid(format!("worker_user: no system user {name:?}"))),
        Err(e) => Err(invalid(format!("worker_user {name:?}: {e}"))),
    };
    // Only the server runs workers (and reads this setting).
    #[cfg(not(feature = "server"))]
    let found = Err(invalid(format!(
        "worker_user {name:?}: this build has no server"
    )));
    found
}

/// `[Activity]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityConfig {
    /// `check_interval` (default 2 s): period of the housekeeping checks.
    pub check_interval: Duration,
    /// `max_request_execution_time` (default 86400 s).
    pub max_request_execution_time: Duration,
    /// `max_session_reconnect_time` (default 60 s).
    pub max_session_reconnect_time: Duration,
    /// `max_waiting_time` (default 86400 s): idle sessions are dropped after this.
    pub max_waiting_time: Duration,
}

/// `[License]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseConfig {
    /// `max_connections` (default None: unlimited physical database connections).
    pub max_connections: Option<u32>,
}

/// `[Pool]` (not in the manual): idle physical database connections kept for reuse.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    /// `max_idle_connections` (default 0: no pooling, every close disconnects): how many idle
    /// connections the server keeps in all. They count against `[License] max_connections`.
    pub max_idle_connections: u32,
    /// `idle_timeout` (default 60 s): an idle connection unused this long is disconnected.
    pub idle_timeout: Duration,
    /// `check_query` (default `SELECT 1`; empty: no check): run on a pooled connection idle for
    /// at least `check_delay` before it is reused; if it fails, the connection is replaced by a
    /// fresh one (the database may have restarted or dropped it meanwhile).
    pub check_query: Option<String>,
    /// `check_delay` (default 30 s; 0: check before every reuse).
    pub check_delay: Duration,
}

impl ServerConfig {
    /// The built-in defaults: listen on 127.0.0.1:6632, plain, no authentication, log to
    /// stderr only.
    pub fn defaults() -> Self {
        let ini = Ini::empty(Origin::Defaults);
        // The empty document always validates.
        match Self::from_ini(&ini) {
            Ok(c) => c,
            Err(e) => unreachable!("built-in defaults are valid: {e}"),
        }
    }

    /// The configuration in force as INI text: every option of every section, those the file
    /// sets as `option = value`, the others as `# option = default`; secrets (salts, keys,
    /// passwords) masked.
    pub fn effective(&self) -> String {
        super::options::effective(&self.source, &server_options())
    }

    /// Loads and validates a configuration file.
    ///
    /// # Errors
    /// Any [`ConfigError`]: unreadable file, bad syntax, unknown section or option, bad value.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::from_ini(&read_ini(path)?)
    }

    /// Builds the typed config from parsed INI.
    ///
    /// # Errors
    /// Unknown sections or options, bad values, inconsistent options.
    pub fn from_ini(ini: &Ini) -> Result<Self, ConfigError> {
        let table = server_options();
        let mut known_sections = sections(&table);
        known_sections.push("Windows");
        check_sections(ini, &known_sections, "server")?;
        let from_file = matches!(ini.origin, Origin::File(_));
        let section = |name: &str| section_reader(ini, name, &table);
        let connection_options = specs_of(&table, "Connection");

        let mut listeners = Vec::new();
        for s in ini
            .sections
            .iter()
            .filter(|s| is_connection_section(&s.name))
        {
            let r = SectionReader::new(ini, s, connection_options.clone())?;
            listeners.push(listener(&r, &s.name, &ini.origin)?);
        }
        if listeners.is_empty() {
            let empty_conn = super::ini::Section {
                name: "Connection".into(),
                line: None,
                entries: Vec::new(),
            };
            let r = SectionReader::new(ini, &empty_conn, connection_options.clone())?;
            listeners.push(listener(&r, "Connection", &ini.origin)?);
        }

        let a = section("Authentication")?;
        let auth = AuthConfig {
            mode: match a.choice("auth_mode")? {
                "file" => AuthMode::File,
                _ => AuthMode::None,
            },
            password_file: a
                .path("password_file")
                .unwrap_or_else(|| resolve(&ini.origin, "authorized-users.txt")),
            login_salt: a.string("login_salt").filter(|s| !s.is_empty()),
            admin_users: a
                .string("admin_users")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if !auth.admin_users.is_empty() && auth.mode == AuthMode::None {
            return Err(ConfigError {
                origin: ini.origin.clone(),
                line: a.line_of("admin_users"),
                kind: ErrorKind::Invalid {
                    message: "admin_users needs auth_mode = file: without a login nobody can be told apart".into(),
                },
            });
        }
        if let Some(bad) = auth
            .admin_users
            .iter()
            .find(|u| u.chars().any(|c| c.is_whitespace() || c == ':'))
        {
            return Err(ConfigError {
                origin: ini.origin.clone(),
                line: a.line_of("admin_users"),
                kind: ErrorKind::Invalid {
                    message: format!(
                        "admin_users: {bad:?} is not a user name (names are separated by commas)"
                    ),
                },
            });
        }

        let s = section("Session")?;
        let act = section("Activity")?;
        let max_sessions = match (s.line_of("max_sessions"), act.line_of("max_sessions")) {
            (Some(_), Some(line)) => {
                let a = s.int("max_sessions")?;
                let b = act.int("max_sessions")?;
                if a != b {
                    return Err(ConfigError {
                        origin: ini.origin.clone(),
                        line: Some(line),
                        kind: ErrorKind::Invalid {
                            message: format!(
                                "max_sessions is {a} in [Session] but {b} in [Activity]; set it in one place"
                            ),
                        },
                    });
                }
                a
            }
            (None, Some(_)) => act.int("max_sessions")?,
            _ => s.int("max_sessions")?,
        };
        let session = SessionConfig {
            max_sessions: max_sessions as u32,
            max_handshakes: s.int("max_handshakes")? as u32,
            max_handshakes_per_address: s.int("max_handshakes_per_address")? as u32,
            handshake_timeout: s.seconds("handshake_timeout")?,
            max_request_size: s.int("max_request_size")? as usize,
            max_connections_per_session: s.int("max_connections_per_session")? as u32,
            statement_cache_size: s.int("statement_cache_size")? as usize,
            busy_poll: Duration::from_micros(s.int("busy_poll")?),
            transport: transport(&s)?,
            driver_isolation: match s.choice("driver_isolation")? {
                "process" => DriverIsolation::Process,
                _ => DriverIsolation::Thread,
            },
            worker_memory_limit: s.opt_int("worker_memory_limit")?.map(|mib| mib << 20),
            worker_user: worker_user(&s, &ini.origin)?,
        };
        let activity = ActivityConfig {
            check_interval: act.seconds("check_interval")?,
            max_request_execution_time: act.seconds("max_request_execution_time")?,
            max_session_reconnect_time: act.seconds("max_session_reconnect_time")?,
            max_waiting_time: act.seconds("max_waiting_time")?,
        };
        let l = section("Logging")?;
        let logging = LoggingConfig {
            log_level: l.log_level("log_level")?,
            log_file: l
                .path("log_file")
                .or_else(|| from_file.then(|| resolve(&ini.origin, "server.log"))),
        };
        let lic = section("License")?;
        let license = LicenseConfig {
            max_connections: lic.opt_int("max_connections")?.map(|n| n as u32),
        };
        let p = section("Pool")?;
        let pool = PoolConfig {
            max_idle_connections: p.int("max_idle_connections")? as u32,
            idle_timeout: p.seconds("idle_timeout")?,
            check_query: match p.string("check_query") {
                None => Some("SELECT 1".to_owned()),
                Some(q) if q.trim().is_empty() => None,
                Some(q) => Some(q.trim().to_owned()),
            },
            check_delay: p.seconds_or_zero("check_delay")?,
        };
        let u = section("Unix")?;
        let pid_file = u
            .path("pid_file")
            .or_else(|| from_file.then(|| resolve(&ini.origin, "server.pid")));
        let shutdown_grace = u.seconds_or_zero("shutdown_grace")?;
        let metrics_listen = section("Metrics")?.opt_socket_addr("listen")?;
        section("Windows")?;
        let acc = section("Access")?;
        let access = AccessConfig {
            allowed_dsns: NameList::parse(acc.string("allowed_dsns"), true),
            allowed_drivers: NameList::parse(acc.string("allowed_drivers"), false),
            allow_file_dsn: acc.flag("allow_file_dsn")?,
            client_attributes: acc.key_list("client_attributes", |k| {
                crate::driver_keys::check_client_attribute(k)
            })?,
            allowed_unsafe_keys: acc.key_list("allowed_unsafe_keys", |k| {
                if crate::driver_keys::is_unsafe_anywhere(k) {
                    Ok(())
                } else {
                    Err(format!(
                        "{k:?} is not a key that names a file or loads code; unsafe keys: {}",
                        crate::driver_keys::unsafe_key_names().join(", ")
                    ))
                }
            })?,
        };

        let mut seen = std::collections::HashMap::new();
        for l in &listeners {
            if l.port != 0 {
                if let Some(prev) = seen.insert((l.interface, l.port), l.name.clone()) {
                    return Err(ConfigError {
                        origin: ini.origin.clone(),
                        line: ini.section(&l.name).and_then(|s| s.line),
                        kind: ErrorKind::Invalid {
                            message: format!(
                                "[{}] listens on {}:{} like [{prev}]",
                                l.name, l.interface, l.port
                            ),
                        },
                    });
                }
            }
        }

        Ok(Self {
            origin: ini.origin.clone(),
            listeners,
            auth,
            session,
            activity,
            logging,
            license,
            pool,
            pid_file,
            shutdown_grace,
            access,
            metrics_listen,
            source: ini.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CursorType, LogLevel};
    use std::net::{IpAddr, Ipv4Addr};

    fn load(text: &str) -> Result<ServerConfig, ConfigError> {
        let origin = Origin::File(PathBuf::from("/etc/odbcd/server-config.ini"));
        ServerConfig::from_ini(&Ini::parse(text, origin)?)
    }

    #[test]
    fn admin_users_need_logins_and_the_effective_text_masks_secrets() {
        let e = load("[Authentication]\n\nadmin_users = ann\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().contains("auth_mode = file"), "{e}");
        let e = load("[Authentication]\nauth_mode = file\nadmin_users = ann bob\n").unwrap_err();
        assert!(e.to_string().contains("not a user name"), "{e}");
        let c = load(
            "[Authentication]\nauth_mode = file\nadmin_users = ann, bob\nlogin_salt = pepper\n\n[Admin Connection]\nport = 7000\n",
        )
        .unwrap();
        assert_eq!(c.auth.admin_users, ["ann", "bob"]);
        let text = c.effective();
        assert!(
            text.starts_with("[Admin Connection]\n# interface = 127.0.0.1\n"),
            "{text}"
        );
        assert!(text.contains("\nport = 7000\n"), "{text}");
        assert!(text.contains("\nlogin_salt = ********\n"), "{text}");
        assert!(!text.contains("pepper"), "{text}");
        assert!(text.contains("\nadmin_users = ann, bob\n"), "{text}");
        assert!(
            text.contains("[Pool]\n# max_idle_connections = 0\n"),
            "{text}"
        );
    }

    #[test]
    fn metrics_and_isolation_settings_refuse_what_they_cannot_take_with_the_line() {
        assert_eq!(load("[Metrics]\nlisten =\n").unwrap().metrics_listen, None);
        assert_eq!(
            load("[Metrics]\nlisten = [::1]:9632\n")
                .unwrap()
                .metrics_listen,
            Some("[::1]:9632".parse().unwrap())
        );
        for bad in [
            "localhost:9632",
            "127.0.0.1",
            "127.0.0.1:99999",
            ":9632",
            "http://127.0.0.1:9632/",
            "127.0.0.1:9632; rm -rf /",
        ] {
            let e = load(&format!("[Metrics]\n\nlisten = {bad}\n")).unwrap_err();
            assert_eq!(e.line, Some(3), "{bad}: {e}");
            assert!(e.to_string().contains("IP address and port"), "{bad}: {e}");
        }
        let e = load("[Session]\ndriver_isolation = fork\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = load("[Session]\nworker_memory_limit = 1\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = load("[Session]\nworker_user = root\n").unwrap_err();
        assert!(e.to_string().contains("is root"), "{e}");
        let c = load("[Session]\ndriver_isolation = PROCESS\nworker_memory_limit = 512\n").unwrap();
        assert_eq!(c.session.driver_isolation, DriverIsolation::Process);
        assert_eq!(c.session.worker_memory_limit, Some(512 << 20));
        for bad in ["10001", "-1", "0.5", "200us", "on"] {
            let e = load(&format!("[Session]\n\nbusy_poll = {bad}\n")).unwrap_err();
            assert_eq!(e.line, Some(3), "{bad}: {e}");
            assert!(e.to_string().contains("busy_poll"), "{bad}: {e}");
        }
        assert_eq!(load("").unwrap().session.busy_poll, Duration::ZERO);
        let c = load("[Session]\nbusy_poll = 200\n").unwrap();
        assert_eq!(c.session.busy_poll, Duration::from_micros(200));
    }

    #[test]
    fn pool_section() {
        let c = load("[Pool]\nmax_idle_connections = 8\nidle_timeout = 5\ncheck_query =\ncheck_delay = 0.5\n")
            .unwrap();
        assert_eq!(c.pool.max_idle_connections, 8);
        assert_eq!(c.pool.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.pool.check_query, None, "empty: no check");
        assert_eq!(c.pool.check_delay, Duration::from_millis(500));
        let c = load("[Pool]\ncheck_delay = 0\n").unwrap();
        assert_eq!(c.pool.check_delay, Duration::ZERO);
        let e = load("[Pool]\ncheck_delay = -1\n").unwrap_err();
        assert!(e.to_string().contains("0 or more"), "{e}");
        let e = load("[Pool]\n\nmax_idle_connections = -1\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = load("[Pool]\nmax_idle = 1\n").unwrap_err();
        assert!(e.to_string().contains("max_idle_connections"), "{e}");
    }

    #[test]
    fn defaults_match_the_manual() {
        let c = ServerConfig::defaults();
        assert_eq!(c.listeners.len(), 1);
        let l = &c.listeners[0];
        assert_eq!(l.interface, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(l.netmask, IpAddr::V4(Ipv4Addr::new(255, 0, 0, 0)));
        assert_eq!(l.port, 6632);
        assert!(l.allow_reuse_address && l.keepalive && !l.allow_ssl && !l.require_ssl);
        assert_eq!(l.request_queue_size, 1024);
        assert_eq!(l.socket_timeout, None);
        assert_eq!(c.auth.mode, AuthMode::None);
        assert_eq!(c.session.max_sessions, 400);
        assert!(c.session.transport.enable_compression);
        assert_eq!(c.session.transport.compression_ratio, 2);
        assert_eq!(c.session.transport.max_chunk_length, 64000);
        assert_eq!(c.session.transport.receive_timeout, Duration::from_secs(10));
        assert_eq!(c.activity.check_interval, Duration::from_secs(2));
        assert_eq!(
            c.activity.max_request_execution_time,
            Duration::from_secs(86400)
        );
        assert_eq!(
            c.activity.max_session_reconnect_time,
            Duration::from_secs(60)
        );
        assert_eq!(c.activity.max_waiting_time, Duration::from_secs(86400));
        assert_eq!(c.logging.log_level, LogLevel::Important);
        assert_eq!(c.logging.log_file, None);
        assert_eq!(c.license.max_connections, None);
        assert_eq!(c.pool.max_idle_connections, 0);
        assert_eq!(c.pool.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.pool.check_query.as_deref(), Some("SELECT 1"));
        assert_eq!(c.pool.check_delay, Duration::from_secs(30));
        assert_eq!(c.pid_file, None);
    }

    #[test]
    fn full_file_with_every_option() {
        let c = load(
            r"
[Connection_Office]
interface = 192.168.0.12
netmask = 255.255.255.0
port = 6633
allow_reuse_address = 0
keepalive = 0
request_queue_size = 50
socket_timeout = None
allow_ssl = 1
require_ssl = 0
server_private_key_file = certs/server.pkey
server_certificate_file = /abs/server.cert
client_certificate_file = clients.pem
client_certificate_dir = clients
client_certificate_digest = AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd \
   0123456789abcdef0123456789abcdef01234567
client_certificate_digest_file = digests.txt
connection_cursortype = SQL.CURSOR_FORWARD_ONLY

[Authentication]
auth_mode = file
password_file = users.txt
login_salt = pepper

[Session]
max_sessions = 10
enable_compression = 0
compression_ratio = 9
max_chunk_length = 32000
receive_timeout = 2.5
send_timeout = 3

[Unix]
pid_file = run/odbcd.pid

[Windows]

[Activity]
check_interval = 1
max_request_execution_time = 60
max_session_reconnect_time = 5
max_waiting_time = 120

[Logging]
log_level = mx.Log.SYSTEM_ANY
log_file = logs/server.log

[License]
max_connections = 20
",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let l = &c.listeners[0];
        assert_eq!(l.name, "Connection_Office");
        assert_eq!(l.port, 6633);
        assert_eq!(
            l.server_private_key_file,
            PathBuf::from("/etc/odbcd/certs/server.pkey")
        );
        assert_eq!(l.server_certificate_file, PathBuf::from("/abs/server.cert"));
        assert_eq!(
            l.client_certificate_digest,
            vec![
                "aabbccddeeff00112233445566778899aabbccdd".to_string(),
                "0123456789abcdef0123456789abcdef01234567".to_string()
            ]
        );
        assert_eq!(l.connection_cursortype, Some(CursorType::ForwardOnly));
        assert_eq!(c.auth.mode, AuthMode::File);
        assert_eq!(c.auth.password_file, PathBuf::from("/etc/odbcd/users.txt"));
        assert_eq!(c.session.max_sessions, 10);
        assert_eq!(
            c.session.transport.receive_timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(c.pid_file, Some(PathBuf::from("/etc/odbcd/run/odbcd.pid")));
        assert_eq!(c.logging.log_level, LogLevel::Any);
        assert_eq!(c.license.max_connections, Some(20));
    }

    #[test]
    fn require_ssl_implies_allow_ssl() {
        let c = load("[Connection]\nrequire_ssl = 1\n").unwrap();
        assert!(c.listeners[0].allow_ssl);
    }

    #[test]
    fn max_sessions_in_activity_as_the_faq_writes_it() {
        let c = load("[Activity]\nmax_sessions = 7\n").unwrap();
        assert_eq!(c.session.max_sessions, 7);
        let e = load("[Session]\nmax_sessions = 7\n[Activity]\nmax_sessions = 8\n").unwrap_err();
        assert_eq!(e.line, Some(4));
    }

    #[test]
    fn a_file_without_connection_sections_listens_on_the_default() {
        let c = load("[Session]\nmax_sessions = 3\n").unwrap();
        assert_eq!(c.listeners[0].port, DEFAULT_PORT);
        assert_eq!(
            c.logging.log_file,
            Some(PathBuf::from("/etc/odbcd/server.log"))
        );
    }

    #[test]
    fn errors_name_file_line_option_and_what_is_allowed() {
        let e = load("[Session]\n\nmax_sesions = 3\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("/etc/odbcd/server-config.ini:3:"), "{msg}");
        assert!(msg.contains("did you mean 'max_sessions'"), "{msg}");

        let msg = load("[Session]\ncompression_ratio = 10\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(":2:") && msg.contains("compression_ratio") && msg.contains("from 1 to 9"),
            "{msg}"
        );

        let msg = load("[Sesion]\n").unwrap_err().to_string();
        assert!(
            msg.contains("unknown section [Sesion]") && msg.contains("did you mean 'Session'"),
            "{msg}"
        );

        let msg = load("[Logging]\nlog_level = loud\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("mx.Log.SYSTEM_ERROR"), "{msg}");

        let msg = load("[Connection]\ninterface = localhost\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("IPv4"), "{msg}");

        let msg = load("[Connection]\nclient_certificate_digest = abc\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("SHA1"), "{msg}");

        let msg = load("x = 1\n").unwrap_err().to_string();
        assert!(msg.contains("outside any section"), "{msg}");

        let msg = load("[Windows]\nanything = 1\n").unwrap_err().to_string();
        assert!(msg.contains("has no options"), "{msg}");

        let msg = load("[Activity]\ncheck_interval = 0\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("greater than 0"), "{msg}");

        let msg = load("[A_Connection]\n[B_Connection]\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("like [A_Connection]"), "{msg}");
    }
}
