//! The client configuration: every option of manual section 4.2.1, from a file, from in-memory
//! sections (the manual's `config_data`, 4.2.2), or both, the in-memory values overriding the
//! file's.
//!
//! Beyond the manual: `connect_timeout` in connection sections (default 5 s), so that a
//! black-holed server costs at most that.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ini::Ini;
use super::options::{client_options, sections, specs_of};
use super::value::{
    check_sections, section_reader, transport, LoggingConfig, SectionReader, TransportConfig,
};
use super::{closest, is_connection_section, read_ini, ConfigError, ErrorKind, Origin};

/// In-memory configuration sections: `section -> option -> value`, like the manual's
/// `config_data` dictionary of dictionaries.
///
/// ```
/// use odbcd::config::ConfigData;
/// let data = ConfigData::new()
///     .set("Connection", "host", "127.0.0.1")
///     .set("Connection", "port", "6632")
///     .set("Session", "enable_compression", "0");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigData {
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl ConfigData {
    /// No sections.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `option` of `section` to `value` (builder style).
    #[must_use]
    pub fn set(mut self, section: &str, option: &str, value: impl ToString) -> Self {
        let value = value.to_string();
        match self.sections.iter_mut().find(|(s, _)| s == section) {
            Some((_, opts)) => match opts.iter_mut().find(|(o, _)| o == option) {
                Some((_, v)) => *v = value,
                None => opts.push((option.to_owned(), value)),
            },
            None => self
                .sections
                .push((section.to_owned(), vec![(option.to_owned(), value)])),
        }
        self
    }

    /// Makes `section` (a connection section name) the only server to try, at `host`
    /// (default 127.0.0.1) and `port` (default 6632): what the tools' `--host`/`--port` do.
    #[must_use]
    pub fn only_server(self, section: &str, host: Option<&str>, port: Option<u16>) -> Self {
        let d = self.set(section, "host", host.unwrap_or("127.0.0.1")).set(
            "Communication",
            "server_connections",
            section,
        );
        match port {
            Some(p) => d.set(section, "port", p),
            None => d,
        }
    }

    /// Declares an empty section (e.g. a connection section that takes every default).
    #[must_use]
    pub fn section(mut self, section: &str) -> Self {
        if !self.sections.iter().any(|(s, _)| s == section) {
            self.sections.push((section.to_owned(), Vec::new()));
        }
        self
    }

    fn merge_into(&self, ini: &mut Ini) {
        for (section, opts) in &self.sections {
            let s = ini.section_mut(section);
            for (k, v) in opts {
                s.set(k, v);
            }
        }
    }
}

/// A complete, validated client configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Where it came from.
    pub origin: Origin,
    /// The servers to try, in the order `open()` tries them.
    pub connections: Vec<ClientConnection>,
    /// `[Authentication] login_salt`.
    pub login_salt: Option<String>,
    /// `[Session]`.
    pub session: ClientSessionConfig,
    /// `[Logging]`.
    pub logging: LoggingConfig,
    /// `[Integration]`.
    pub integration: IntegrationConfig,
    /// `[Communication] ping_interval` (not in the manual, default 30 s; `None` turns pings
    /// off): an idle session pings its server this often, so a dead server is noticed.
    pub ping_interval: Option<Duration>,
    /// `[Communication] ping_timeout` (not in the manual, default 10 s): how long a ping may
    /// wait for its answer before the link counts as broken.
    pub ping_timeout: Duration,
    /// `[Communication] auto_reconnect` (not in the manual, default 0): after the session is
    /// lost, the next call opens a new one (walking the servers) and connections connect again.
    pub auto_reconnect: bool,
    /// `[Communication] reconnect_attempts` (default 3): walks of the server list per re-open.
    pub reconnect_attempts: u32,
    /// `[Communication] max_resume_attempts` (not in the manual, default 20): resumes in a row
    /// without an answer getting through after which a link gives up (together they take at
    /// most the server's reconnect window).
    pub max_resume_attempts: u32,
    /// `[Communication] reconnect_delay` (default 1 s): the pause between walks.
    pub reconnect_delay: Duration,
}

/// A `[..Connection..]` section: one server to connect to. Its `Debug` output leaves out the
/// private key string.
#[derive(Clone, PartialEq)]
pub struct ClientConnection {
    /// The section name.
    pub name: String,
    /// `host` (default 127.0.0.1): an IP address or host name.
    pub host: String,
    /// `port` (default 6632).
    pub port: u16,
    /// `socket_timeout` (default None): give up on a server that sends nothing for this long.
    pub socket_timeout: Option<Duration>,
    /// `connect_timeout` (default 5 s; not in the manual): bound on one TCP connect.
    pub connect_timeout: Duration,
    /// `using_ssl` (default 0).
    pub using_ssl: bool,
    /// `client_private_key_file`.
    pub client_private_key_file: Option<PathBuf>,
    /// `client_certificate_file`.
    pub client_certificate_file: Option<PathBuf>,
    /// `client_private_key_string`.
    pub client_private_key_string: Option<String>,
    /// `client_certificate_string`.
    pub client_certificate_string: Option<String>,
    /// `server_certificate_file` (not in the manual): the server's certificate, or a CA, to trust.
    pub server_certificate_file: Option<PathBuf>,
    /// `server_certificate_digest` (not in the manual): SHA1 or SHA-256 pins of the server's
    /// certificate, lower-case hex.
    pub server_certificate_digest: Vec<String>,
    /// `verify_server_certificate` (not in the manual, default 1): 0 accepts any server.
    pub verify_server_certificate: bool,
}

impl std::fmt::Debug for ClientConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConnection")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("socket_timeout", &self.socket_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("using_ssl", &self.using_ssl)
            .field("client_private_key_file", &self.client_private_key_file)
            .field("client_certificate_file", &self.client_certificate_file)
            .field(
                "client_private_key_string",
                &self.client_private_key_string.as_ref().map(|_| "***"),
            )
            .field(
                "client_certificate_string",
                &self.client_certificate_string.is_some(),
            )
            .field("server_certificate_file", &self.server_certificate_file)
            .field("server_certificate_digest", &self.server_certificate_digest)
            .field("verify_server_certificate", &self.verify_server_certificate)
            .finish()
    }
}

/// `[Session]` of the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSessionConfig {
    /// `remote_module` (default Manager): the server-side ODBC manager to use.
    pub remote_module: String,
    /// How the client sends and receives (`enable_compression` governs client-to-server
    /// frames).
    pub transport: TransportConfig,
}

/// `[Integration]`: Python-specific in the manual; accepted and validated so existing files
/// load, and otherwise without effect (Rust has one TLS stack and no gevent).
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationConfig {
    /// `ssl_module`: `ssl` or `pyOpenSSL`.
    pub ssl_module: Option<String>,
    /// `gevent`: 0 or 1.
    pub gevent: bool,
}

impl ClientConfig {
    /// Loads a configuration from a file, in-memory data, both (data overrides the file), or
    /// neither (built-in defaults: one server at 127.0.0.1:6632).
    ///
    /// # Errors
    /// Any [`ConfigError`].
    pub fn load(file: Option<&Path>, data: Option<&ConfigData>) -> Result<Self, ConfigError> {
        let mut ini = match file {
            Some(p) => read_ini(p)?,
            None => Ini::empty(if data.is_some() {
                Origin::Data
            } else {
                Origin::Defaults
            }),
        };
        if let Some(d) = data {
            d.merge_into(&mut ini);
        }
        Self::from_ini(&ini)
    }

    /// Builds the typed config from parsed INI.
    ///
    /// # Errors
    /// Unknown sections or options, bad values, unknown names in `server_connections`.
    pub fn from_ini(ini: &Ini) -> Result<Self, ConfigError> {
        let table = client_options();
        check_sections(ini, &sections(&table), "client")?;
        let section = |name: &str| section_reader(ini, name, &table);
        let connection_options = specs_of(&table, "Connection");

        let mut all = Vec::new();
        for s in ini
            .sections
            .iter()
            .filter(|s| is_connection_section(&s.name))
        {
            let r = SectionReader::new(ini, s, connection_options.clone())?;
            all.push(connection(&r, &s.name)?);
        }
        if all.is_empty() {
            let default = super::ini::Section {
                name: "Connection".into(),
                line: None,
                entries: Vec::new(),
            };
            let r = SectionReader::new(ini, &default, connection_options.clone())?;
            all.push(connection(&r, "Connection")?);
        }

        let comm = section("Communication")?;
        let ping_interval = comm.opt_seconds("ping_interval")?;
        let ping_timeout = comm.seconds("ping_timeout")?;
        let auto_reconnect = comm.flag("auto_reconnect")?;
        let reconnect_attempts = comm.int("reconnect_attempts")? as u32;
        let reconnect_delay = comm.seconds("reconnect_delay")?;
        let max_resume_attempts = comm.int("max_resume_attempts")? as u32;
        let connections = match comm.string("server_connections") {
            None => {
                all.sort_by(|a, b| a.name.cmp(&b.name));
                all
            }
            Some(list) => {
                let mut chosen = Vec::new();
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let Some(c) = all.iter().find(|c| c.name == name) else {
                        return Err(ConfigError {
                            origin: ini.origin.clone(),
                            line: comm.line_of("server_connections"),
                            kind: ErrorKind::Invalid {
                                message: format!(
                                    "[Communication] server_connections names [{name}], which is not a connection section{}; defined: {}",
                                    closest(name, all.iter().map(|c| c.name.as_str()))
                                        .map(|s| format!(" (did you mean '{s}'?)"))
                                        .unwrap_or_default(),
                                    all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                                ),
                            },
                        });
                    };
                    chosen.push(c.clone());
                }
                if chosen.is_empty() {
                    return Err(ConfigError {
                        origin: ini.origin.clone(),
                        line: comm.line_of("server_connections"),
                        kind: ErrorKind::Invalid {
                            message: "[Communication] server_connections is empty".into(),
                        },
                    });
                }
                chosen
            }
        };

        let auth = section("Authentication")?;
        let s = section("Session")?;
        let session = ClientSessionConfig {
            remote_module: s.choice("remote_module")?.to_owned(),
            transport: transport(&s)?,
        };
        let l = section("Logging")?;
        let logging = LoggingConfig {
            log_level: l.log_level("log_level")?,
            log_file: l.path("log_file"),
        };
        let i = section("Integration")?;
        let integration = IntegrationConfig {
            ssl_module: match i.string("ssl_module") {
                None => None,
                Some(_) => Some(i.choice("ssl_module")?.to_owned()),
            },
            gevent: i.flag("gevent")?,
        };
        Ok(Self {
            origin: ini.origin.clone(),
            connections,
            login_salt: auth.string("login_salt").filter(|s| !s.is_empty()),
            session,
            logging,
            integration,
            ping_interval,
            ping_timeout,
            auto_reconnect,
            reconnect_attempts,
            reconnect_delay,
            max_resume_attempts,
        })
    }
}

fn connection(r: &SectionReader<'_>, name: &str) -> Result<ClientConnection, ConfigError> {
    Ok(ClientConnection {
        name: name.to_owned(),
        host: r.string("host").unwrap_or_else(|| "127.0.0.1".into()),
        port: r.int("port")? as u16,
        socket_timeout: r.opt_seconds("socket_timeout")?,
        connect_timeout: r.seconds("connect_timeout")?,
        using_ssl: r.flag("using_ssl")?,
        client_private_key_file: r.path("client_private_key_file"),
        client_certificate_file: r.path("client_certificate_file"),
        client_private_key_string: r
            .string("client_private_key_string")
            .filter(|s| !s.is_empty()),
        client_certificate_string: r
            .string("client_certificate_string")
            .filter(|s| !s.is_empty()),
        server_certificate_file: r.path("server_certificate_file"),
        server_certificate_digest: match r.string("server_certificate_digest") {
            None => Vec::new(),
            Some(v) => v
                .split_whitespace()
                .map(|d| {
                    crate::tls::normalize_digest(d).ok_or_else(|| {
                        let e = super::ini::Entry {
                            key: "server_certificate_digest".into(),
                            value: v.clone(),
                            line: r.line_of("server_certificate_digest"),
                        };
                        r.bad(&e, "space-separated SHA1 (40) or SHA-256 (64) hex digests")
                    })
                })
                .collect::<Result<_, _>>()?,
        },
        verify_server_certificate: r.flag("verify_server_certificate")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogLevel;

    #[test]
    fn defaults_without_file_or_data() {
        let c = ClientConfig::load(None, None).unwrap();
        assert_eq!(c.connections.len(), 1);
        assert_eq!(c.connections[0].host, "127.0.0.1");
        assert_eq!(c.connections[0].port, 6632);
        assert_eq!(c.session.remote_module, "Manager");
        assert!(c.session.transport.enable_compression);
        assert_eq!(c.session.transport.compression_ratio, 2);
        assert_eq!(c.session.transport.max_chunk_length, 64000);
        assert_eq!(c.session.transport.send_timeout, Duration::from_secs(10));
        assert_eq!(c.logging.log_level, LogLevel::Important);
    }

    #[test]
    fn manual_config_data_example() {
        let data = ConfigData::new()
            .set("Logging", "log_file", "client.log")
            .set(
                "Communication",
                "server_connections",
                "Connection_SSL, Connection",
            )
            .set("Connection", "host", "192.168.1.100")
            .set("Connection", "port", 6632)
            .set("Connection_SSL", "host", "192.168.1.100")
            .set("Connection_SSL", "port", 6632)
            .set("Connection_SSL", "using_ssl", 1);
        let c = ClientConfig::load(None, Some(&data)).unwrap();
        let names: Vec<_> = c.connections.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Connection_SSL", "Connection"]);
        assert!(c.connections[0].using_ssl);
    }

    #[test]
    fn default_order_is_sorted_by_name() {
        let data = ConfigData::new()
            .set("ZConnection", "port", 2)
            .set("AConnection", "port", 1);
        let c = ClientConfig::load(None, Some(&data)).unwrap();
        assert_eq!(c.connections[0].name, "AConnection");
    }

    #[test]
    fn data_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client-config.ini");
        std::fs::write(
            &path,
            "[Server_Connection]\nhost = 10.0.0.1\nport = 7000\nclient_certificate_file = c.cert\n",
        )
        .unwrap();
        let data = ConfigData::new().set("Server_Connection", "port", 7001);
        let c = ClientConfig::load(Some(&path), Some(&data)).unwrap();
        assert_eq!(c.connections[0].host, "10.0.0.1");
        assert_eq!(c.connections[0].port, 7001);
        assert_eq!(
            c.connections[0].client_certificate_file,
            Some(dir.path().join("c.cert"))
        );
    }

    #[test]
    fn errors() {
        let data = ConfigData::new().set("Communication", "server_connections", "Nope");
        let msg = ClientConfig::load(None, Some(&data))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("<config_data>"), "{msg}");
        assert!(msg.contains("[Nope]"), "{msg}");

        let data = ConfigData::new().set("Connection", "hots", "x");
        let msg = ClientConfig::load(None, Some(&data))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("did you mean 'host'"), "{msg}");

        let data = ConfigData::new().set("Session", "remote_module", "ODBC32");
        let msg = ClientConfig::load(None, Some(&data))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("Manager"), "{msg}");

        let msg = ClientConfig::load(Some(Path::new("/nonexistent/odbcd.ini")), None)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("/nonexistent/odbcd.ini") && msg.contains("cannot read"),
            "{msg}"
        );
    }
}
