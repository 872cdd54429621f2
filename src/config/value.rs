//! Typed reading of one section: unknown-option checks and the manual's value forms
//! (`0/1` flags, `None`, seconds, `mx.Log.SYSTEM_*` levels, `SQL.CURSOR_*` cursor types).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ini::{Entry, Ini, Section};
use super::options::{Kind, OptionSpec};
use super::{closest, is_connection_section, ConfigError, ErrorKind, Origin};

/// The manual's log levels (mxLog), from least to most verbose.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum LogLevel {
    /// `mx.Log.SYSTEM_ERROR`: errors only.
    Error,
    /// `mx.Log.SYSTEM_IMPORTANT`: errors and important events (start, stop, listening).
    Important,
    /// `mx.Log.SYSTEM_WARNING`: and warnings.
    Warning,
    /// `mx.Log.SYSTEM_MESSAGE`: and operational messages (sessions opened and closed).
    Message,
    /// `mx.Log.SYSTEM_INFO`: and informational messages (each request).
    Info,
    /// `mx.Log.SYSTEM_ANY`: everything.
    Any,
}

impl LogLevel {
    const FORMS: &'static str = "mx.Log.SYSTEM_ERROR, mx.Log.SYSTEM_IMPORTANT, mx.Log.SYSTEM_WARNING, mx.Log.SYSTEM_MESSAGE, mx.Log.SYSTEM_INFO or mx.Log.SYSTEM_ANY";

    /// Parses `mx.Log.SYSTEM_X`, `SYSTEM_X` or `x` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim().to_ascii_uppercase();
        let t = t.strip_prefix("MX.LOG.").unwrap_or(&t);
        let t = t.strip_prefix("SYSTEM_").unwrap_or(t);
        Some(match t {
            "ERROR" => Self::Error,
            "IMPORTANT" => Self::Important,
            "WARNING" => Self::Warning,
            "MESSAGE" => Self::Message,
            "INFO" => Self::Info,
            "ANY" => Self::Any,
            _ => return None,
        })
    }

    /// The `tracing` filter directive for this level. tracing has five levels for mxLog's six:
    /// `Important` and `Warning` both show warnings, and lifecycle events (start, listening,
    /// stop) are logged under the `odbcd::lifecycle` target so that `Important` shows them.
    pub fn filter_directive(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Important | Self::Warning => "warn,odbcd::lifecycle=info",
            Self::Message => "info",
            Self::Info => "debug",
            Self::Any => "trace",
        }
    }
}

/// `connection_cursortype`: the ODBC cursor type set on each statement (manual 2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CursorType {
    /// `SQL.CURSOR_FORWARD_ONLY`
    ForwardOnly,
    /// `SQL.CURSOR_KEYSET_DRIVEN`
    KeysetDriven,
    /// `SQL.CURSOR_DYNAMIC`
    Dynamic,
    /// `SQL.CURSOR_STATIC`
    Static,
}

impl CursorType {
    const FORMS: &'static str = "None, SQL.CURSOR_FORWARD_ONLY, SQL.CURSOR_KEYSET_DRIVEN, SQL.CURSOR_DYNAMIC or SQL.CURSOR_STATIC";

    fn parse(s: &str) -> Option<Option<Self>> {
        let t = s.trim().to_ascii_uppercase();
        let t = t.strip_prefix("SQL.").unwrap_or(&t);
        Some(Some(match t {
            "NONE" => return Some(None),
            "CURSOR_FORWARD_ONLY" => Self::ForwardOnly,
            "CURSOR_KEYSET_DRIVEN" => Self::KeysetDriven,
            "CURSOR_DYNAMIC" => Self::Dynamic,
            "CURSOR_STATIC" => Self::Static,
            _ => return None,
        }))
    }

    /// The ODBC `SQL_CURSOR_*` value.
    pub fn odbc_value(self) -> usize {
        match self {
            Self::ForwardOnly => 0,
            Self::KeysetDriven => 1,
            Self::Dynamic => 2,
            Self::Static => 3,
        }
    }
}

/// The `[Session]` options the server and the client share: how this side sends and receives.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportConfig {
    /// `enable_compression` (default 1): compress the frames this side sends.
    pub enable_compression: bool,
    /// `compression_ratio` (1..=9, default 2): see [`crate::proto::compress`] for its meaning.
    pub compression_ratio: u8,
    /// `max_chunk_length` (default 64000): bound on one socket read/write, and on the bytes of
    /// one batch of result rows.
    pub max_chunk_length: u32,
    /// `receive_timeout` (default 10 s): bound on receiving one frame once it has started.
    pub receive_timeout: Duration,
    /// `send_timeout` (default 10 s): bound on sending one frame.
    pub send_timeout: Duration,
}

impl TransportConfig {
    /// How this side compresses what it sends.
    pub fn compression(&self) -> crate::proto::compress::Compression {
        crate::proto::compress::Compression::new(self.enable_compression, self.compression_ratio)
    }
}

/// The smallest and largest accepted `max_chunk_length`.
pub const CHUNK_LENGTH_RANGE: (u64, u64) = (1024, 16 * 1024 * 1024);

/// Reads the [`TransportConfig`] options of a `[Session]` section.
pub(crate) fn transport(s: &SectionReader<'_>) -> Result<TransportConfig, ConfigError> {
    Ok(TransportConfig {
        enable_compression: s.flag("enable_compression")?,
        compression_ratio: s.int("compression_ratio")? as u8,
        max_chunk_length: s.int("max_chunk_length")? as u32,
        receive_timeout: s.seconds("receive_timeout")?,
        send_timeout: s.seconds("send_timeout")?,
    })
}

/// Checks that `ini` has no options outside sections, and only `known` sections besides
/// connection sections.
pub(crate) fn check_sections(ini: &Ini, known: &[&str], program: &str) -> Result<(), ConfigError> {
    if let Some(g) = ini.globals.first() {
        return Err(ConfigError {
            origin: ini.origin.clone(),
            line: g.line,
            kind: ErrorKind::Invalid {
                message: format!(
                    "option '{}' is outside any section; the {program} has no global options",
                    g.key
                ),
            },
        });
    }
    for s in &ini.sections {
        if !is_connection_section(&s.name) && !known.contains(&s.name.as_str()) {
            return Err(ConfigError {
                origin: ini.origin.clone(),
                line: s.line,
                kind: ErrorKind::UnknownSection {
                    section: s.name.clone(),
                    suggestion: closest(&s.name, known.iter().copied()),
                    allowed: format!(
                        "{}, and connection sections (names containing \"Connection\")",
                        known.join(", ")
                    ),
                },
            });
        }
    }
    Ok(())
}

static EMPTY_SECTION: Section = Section {
    name: String::new(),
    line: None,
    entries: Vec::new(),
};

/// A reader for section `name` (its options as `table` declares them), as if empty when the
/// section is absent.
pub(crate) fn section_reader<'a>(
    ini: &'a Ini,
    name: &str,
    table: &[OptionSpec],
) -> Result<SectionReader<'a>, ConfigError> {
    let specs = table
        .iter()
        .filter(|o| o.section == name)
        .copied()
        .collect();
    SectionReader::new(ini, ini.section(name).unwrap_or(&EMPTY_SECTION), specs)
}

/// Reads the options of one section, rejecting unknown ones. An absent option reads as its
/// declared default, parsed like a value from the file.
pub(crate) struct SectionReader<'a> {
    origin: &'a Origin,
    section: &'a Section,
    specs: Vec<OptionSpec>,
}

impl<'a> SectionReader<'a> {
    /// Checks every entry of `section` against `specs` (the section's options) and returns a
    /// reader.
    pub(crate) fn new(
        ini: &'a Ini,
        section: &'a Section,
        specs: Vec<OptionSpec>,
    ) -> Result<Self, ConfigError> {
        let known: Vec<&str> = specs.iter().map(|o| o.name).collect();
        for e in &section.entries {
            if !known.contains(&e.key.as_str()) {
                return Err(ConfigError {
                    origin: ini.origin.clone(),
                    line: e.line,
                    kind: ErrorKind::UnknownOption {
                        section: section.name.clone(),
                        option: e.key.clone(),
                        suggestion: closest(&e.key, known.iter().copied()),
                        allowed: if known.is_empty() {
                            "(this section has no options)".into()
                        } else {
                            known.join(", ")
                        },
                    },
                });
            }
        }
        Ok(Self {
            origin: &ini.origin,
            section,
            specs,
        })
    }

    fn entry(&self, key: &str) -> Option<&'a Entry> {
        self.section.get(key)
    }

    /// The declaration of `key`.
    fn spec(&self, key: &str) -> Option<&OptionSpec> {
        self.specs.iter().find(|o| o.name == key)
    }

    /// The entry of `key`, or its declared default as if written (no line); `None` when it
    /// is absent and has no default.
    fn value(&self, key: &str) -> Option<Entry> {
        if let Some(e) = self.entry(key) {
            return Some(e.clone());
        }
        self.spec(key)
            .filter(|o| !o.default.is_empty())
            .map(|o| Entry {
                key: key.to_owned(),
                value: o.default.to_owned(),
                line: None,
            })
    }

    /// An error for `entry` with what was expected.
    pub(crate) fn bad(&self, entry: &Entry, expected: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: self.origin.clone(),
            line: entry.line,
            kind: ErrorKind::BadValue {
                section: self.section.name.clone(),
                option: entry.key.clone(),
                value: entry.value.clone(),
                expected: expected.into(),
            },
        }
    }

    /// A comma-separated list of connection-string key names, each checked by `check` (which
    /// says what is wrong); `default` when the option is absent. An empty value is an empty list.
    pub(crate) fn key_list(
        &self,
        key: &str,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Result<Vec<String>, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::KeyList))?;
        let Some(e) = self.value(key) else {
            return Ok(Vec::new());
        };
        let e = &e;
        let mut out = Vec::new();
        for k in unquote(&e.value).split(',').map(str::trim) {
            if k.is_empty() {
                continue;
            }
            if !crate::driver_keys::is_plain_key(k) {
                return Err(self.bad(
                    e,
                    "key names of letters, digits, '_', '-' or '.', separated by commas",
                ));
            }
            check(k).map_err(|why| self.bad(e, why))?;
            out.push(k.to_owned());
        }
        Ok(out)
    }

    /// The raw string, if set.
    pub(crate) fn string(&self, key: &str) -> Option<String> {
        self.entry(key).map(|e| unquote(&e.value).to_owned())
    }

    /// A `0/1` flag (any integer: non-zero is on; `true/false/yes/no/on/off` also accepted).
    pub(crate) fn flag(&self, key: &str) -> Result<bool, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::Flag))?;
        let Some(e) = self.value(key) else {
            return Ok(false);
        };
        let e = &e;
        match e.value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(true),
            "false" | "no" | "off" => Ok(false),
            v => v
                .parse::<i64>()
                .map(|n| n != 0)
                .map_err(|_| self.bad(e, "0 or 1")),
        }
    }

    /// Checks that `key` is declared as `expected` (the reader matches the declaration);
    /// returns the declared kind.
    fn kind(&self, key: &str, expected: fn(&Kind) -> bool) -> Result<Kind, ConfigError> {
        match self.spec(key) {
            Some(o) if expected(&o.kind) => Ok(o.kind),
            other => Err(ConfigError {
                origin: self.origin.clone(),
                line: self.line_of(key),
                kind: ErrorKind::Invalid {
                    message: format!(
                        "internal error: [{}] {key} is read as another kind than declared ({:?})",
                        self.section.name,
                        other.map(|o| o.kind)
                    ),
                },
            }),
        }
    }

    /// The range of integer option `key` (and a check that it is declared as one).
    fn range(&self, key: &str) -> Result<(u64, u64), ConfigError> {
        match self.kind(key, |k| matches!(k, Kind::Int(..) | Kind::OptInt(..)))? {
            Kind::Int(min, max) | Kind::OptInt(min, max) => Ok((min, max)),
            _ => Ok((0, u64::MAX)),
        }
    }

    /// An integer in its declared range.
    pub(crate) fn int(&self, key: &str) -> Result<u64, ConfigError> {
        let (min, max) = self.range(key)?;
        let Some(e) = self.value(key) else {
            return Ok(min);
        };
        let e = &e;
        match e.value.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(self.bad(e, format!("an integer from {min} to {max}"))),
        }
    }

    /// An integer in its declared range, or `None` (meaning "no limit").
    pub(crate) fn opt_int(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        let (min, max) = self.range(key)?;
        let Some(e) = self.value(key) else {
            return Ok(None);
        };
        let e = &e;
        if e.value.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        match e.value.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(self.bad(e, format!("None or an integer from {min} to {max}"))),
        }
    }

    /// A positive number of seconds (fractions allowed).
    pub(crate) fn seconds(&self, key: &str) -> Result<Duration, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::Seconds))?;
        let Some(e) = self.value(key) else {
            return Ok(Duration::ZERO);
        };
        let e = &e;
        parse_seconds(&e.value).ok_or_else(|| self.bad(e, "a number of seconds greater than 0"))
    }

    /// A number of seconds, 0 allowed (fractions allowed).
    pub(crate) fn seconds_or_zero(&self, key: &str) -> Result<Duration, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::SecondsOrZero))?;
        let Some(e) = self.value(key) else {
            return Ok(Duration::ZERO);
        };
        let e = &e;
        if e.value.trim().parse::<f64>() == Ok(0.0) {
            return Ok(Duration::ZERO);
        }
        parse_seconds(&e.value).ok_or_else(|| self.bad(e, "a number of seconds, 0 or more"))
    }

    /// A positive number of seconds, or `None`.
    pub(crate) fn opt_seconds(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::OptSeconds))?;
        let Some(e) = self.value(key) else {
            return Ok(None);
        };
        let e = &e;
        if e.value.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        parse_seconds(&e.value)
            .map(Some)
            .ok_or_else(|| self.bad(e, "None or a number of seconds greater than 0"))
    }

    /// A path, resolved against the config file's folder.
    pub(crate) fn path(&self, key: &str) -> Option<PathBuf> {
        self.string(key)
            .filter(|s| !s.is_empty())
            .map(|s| resolve(self.origin, &s))
    }

    /// A log level.
    pub(crate) fn log_level(&self, key: &str) -> Result<LogLevel, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::LogLevel))?;
        let Some(e) = self.value(key) else {
            return Ok(LogLevel::Important);
        };
        let e = &e;
        LogLevel::parse(&e.value).ok_or_else(|| self.bad(e, LogLevel::FORMS))
    }

    /// A cursor type or `None`.
    pub(crate) fn cursor_type(&self, key: &str) -> Result<Option<CursorType>, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::CursorType))?;
        let Some(e) = self.value(key) else {
            return Ok(None);
        };
        let e = &e;
        CursorType::parse(&e.value).ok_or_else(|| self.bad(e, CursorType::FORMS))
    }

    /// One of a fixed set of words (compared case-insensitively); returns the canonical form.
    pub(crate) fn choice(&self, key: &str) -> Result<&'static str, ConfigError> {
        let allowed: &[&'static str] = match self.kind(key, |k| matches!(k, Kind::Choice(_)))? {
            Kind::Choice(words) => words,
            _ => &[],
        };
        let Some(e) = self.value(key) else {
            return Ok(allowed.first().copied().unwrap_or_default());
        };
        let e = &e;
        let v = unquote(&e.value);
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(v))
            .copied()
            .ok_or_else(|| self.bad(e, format!("one of {}", allowed.join(", "))))
    }

    /// An IP address (its declared default when absent).
    pub(crate) fn address(&self, key: &str) -> Result<std::net::IpAddr, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::Address))?;
        let Some(e) = self.value(key) else {
            return Ok(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        };
        e.value
            .trim()
            .parse()
            .map_err(|_| self.bad(&e, "an IPv4 or IPv6 address such as 127.0.0.1"))
    }

    /// An IP address and port, `None` when empty.
    pub(crate) fn opt_socket_addr(
        &self,
        key: &str,
    ) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        self.kind(key, |k| matches!(k, Kind::SocketAddr))?;
        let Some(e) = self.value(key) else {
            return Ok(None);
        };
        let v = unquote(&e.value).trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse().map(Some).map_err(|_| {
            self.bad(
                &e,
                "an IP address and port such as 127.0.0.1:9632 or [::1]:9632, or nothing (off)",
            )
        })
    }

    /// The line of `key`, for cross-option errors.
    pub(crate) fn line_of(&self, key: &str) -> Option<usize> {
        self.entry(key).and_then(|e| e.line)
    }
}

fn parse_seconds(v: &str) -> Option<Duration> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(Duration::from_secs_f64(s)),
        _ => None,
    }
}

/// Removes one pair of matching quotes, as the manual writes `client_private_key_string = ''`.
fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Resolves `p` against the folder of the configuration it came from.
pub(crate) fn resolve(origin: &Origin, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        origin.base_dir().join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_take_defaults_and_ranges_from_the_declaration_and_check_its_kind() {
        use crate::config::options::Kind;
        let specs = [
            OptionSpec {
                section: "S",
                name: "n",
                default: "7",
                kind: Kind::Int(1, 9),
                doc: "",
            },
            OptionSpec {
                section: "S",
                name: "f",
                default: "1",
                kind: Kind::Flag,
                doc: "",
            },
        ];
        let ini = Ini::parse("[S]\n", Origin::Defaults).unwrap();
        let r = section_reader(&ini, "S", &specs).unwrap();
        assert_eq!(r.int("n").unwrap(), 7, "the declared default");
        assert!(r.flag("f").unwrap());
        let e = r.int("f").unwrap_err().to_string();
        assert!(e.contains("internal error") && e.contains("f"), "{e}");
        let ini = Ini::parse("[S]\nn = 10\n", Origin::Defaults).unwrap();
        let r = section_reader(&ini, "S", &specs).unwrap();
        let e = r.int("n").unwrap_err().to_string();
        assert!(e.contains("from 1 to 9"), "the declared range: {e}");
    }

    #[test]
    fn log_levels_in_every_form() {
        assert_eq!(
            LogLevel::parse("mx.Log.SYSTEM_IMPORTANT"),
            Some(LogLevel::Important)
        );
        assert_eq!(LogLevel::parse("SYSTEM_ANY"), Some(LogLevel::Any));
        assert_eq!(LogLevel::parse("warning"), Some(LogLevel::Warning));
        assert_eq!(LogLevel::parse("loud"), None);
        assert!(LogLevel::Error < LogLevel::Any);
    }

    #[test]
    fn cursor_types() {
        assert_eq!(CursorType::parse("None"), Some(None));
        assert_eq!(
            CursorType::parse("SQL.CURSOR_STATIC"),
            Some(Some(CursorType::Static))
        );
        assert_eq!(CursorType::parse("SQL.CURSOR_BOGUS"), None);
    }

    #[test]
    fn unquote_strips_matching_quotes_only() {
        assert_eq!(unquote("''"), "");
        assert_eq!(unquote("'a'"), "a");
        assert_eq!(unquote("'a"), "'a");
    }
}

/// `[Logging]`, of the server or a client.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggingConfig {
    /// `log_level` (default mx.Log.SYSTEM_IMPORTANT).
    pub log_level: LogLevel,
    /// `log_file`. The server's default is `server.log` next to its config file (none with
    /// built-in defaults); for a client it is where `odbcsh` writes its log (the library logs
    /// through `tracing` and leaves the subscriber to the application).
    pub log_file: Option<PathBuf>,
}
