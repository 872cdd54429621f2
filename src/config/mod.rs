//! Configuration: the manual's INI files turned into typed, validated server and client configs.
//!
//! Parsing happens once, at start-up ([`ServerConfig::load`]) or session creation
//! ([`ClientConfig::load`]); the result is immutable and passed explicitly. Every error names the
//! file, the line, the section and option, and what is allowed, with the closest known option
//! name when a name is misspelt.
//!
//! - [`ini`]: the syntax of manual 2.4.1.
//! - [`server`]: every option of manual 2.4.2, plus `[License] max_connections`.
//! - [`client`]: every option of manual 4.2.1, from a file, in-memory sections, or both.

// Configuration errors happen once, at start-up, and carry file, line, section and option for
// the operator: their size does not matter, their detail does.
#![allow(clippy::result_large_err)]

pub mod client;
pub mod ini;
pub mod listener;
pub mod options;
pub mod server;
mod value;

pub use client::{ClientConfig, ClientConnection, ConfigData};
pub use server::{ListenerConfig, ServerConfig};
pub use value::{CursorType, LogLevel, LoggingConfig, TransportConfig};

use std::fmt;
use std::path::{Path, PathBuf};

/// Where configuration text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A configuration file.
    File(PathBuf),
    /// In-memory sections (the manual's `config_data`).
    Data,
    /// Built-in defaults.
    Defaults,
}

impl Origin {
    /// The folder relative paths are resolved against: the config file's own folder, or the
    /// current directory for in-memory data and defaults.
    pub fn base_dir(&self) -> PathBuf {
        match self {
            Self::File(p) => p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            Self::Data | Self::Defaults => PathBuf::from("."),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Data => f.write_str("<config_data>"),
            Self::Defaults => f.write_str("<defaults>"),
        }
    }
}

/// A configuration error: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {kind}", origin, line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file (or in-memory data) the error is in.
    pub origin: Origin,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read configuration: {message}")]
    Io {
        /// The operating system's message.
        message: String,
    },
    /// The text is not valid INI.
    #[error("{message}")]
    Syntax {
        /// What was found and what was expected.
        message: String,
    },
    /// A section this program does not know.
    #[error(
        "unknown section [{section}]{}; known sections: {allowed}",
        suggest(suggestion)
    )]
    UnknownSection {
        /// The section as written.
        section: String,
        /// The closest known name.
        suggestion: Option<String>,
        /// The known sections.
        allowed: String,
    },
    /// An option this section does not have.
    #[error(
        "unknown option '{option}' in [{section}]{}; allowed: {allowed}",
        suggest(suggestion)
    )]
    UnknownOption {
        /// The section.
        section: String,
        /// The option as written.
        option: String,
        /// The closest known option.
        suggestion: Option<String>,
        /// The options of this section.
        allowed: String,
    },
    /// A value of the wrong form or out of range.
    #[error("[{section}] {option} = {value:?}: expected {expected}")]
    BadValue {
        /// The section.
        section: String,
        /// The option.
        option: String,
        /// The value as written.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// Options that are each valid but do not fit together.
    #[error("{message}")]
    Invalid {
        /// What does not fit.
        message: String,
    },
}

fn suggest(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default()
}

/// The known name closest to `input` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(input: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let input = input.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| (edit_distance(&input, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// True when a section name makes it a connection section (manual 2.4.2, 4.2.1).
pub fn is_connection_section(name: &str) -> bool {
    name.contains("Connection") || name.contains("connection")
}

/// Reads a configuration file into an [`ini::Ini`].
///
/// # Errors
/// [`ErrorKind::Io`] when the file cannot be read or is not UTF-8; syntax errors from the parser.
pub fn read_ini(path: &Path) -> Result<ini::Ini, ConfigError> {
    let origin = Origin::File(path.to_path_buf());
    let bytes = std::fs::read(path).map_err(|e| ConfigError {
        origin: origin.clone(),
        line: None,
        kind: ErrorKind::Io {
            message: e.to_string(),
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigError {
        origin: origin.clone(),
        line: None,
        kind: ErrorKind::Io {
            message: format!("not UTF-8 text: {e}"),
        },
    })?;
    ini::Ini::parse(&text, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_suggests_typos_only() {
        let known = ["max_sessions", "enable_compression", "send_timeout"];
        assert_eq!(
            closest("max_sesions", known).as_deref(),
            Some("max_sessions")
        );
        assert_eq!(
            closest("send_timout", known).as_deref(),
            Some("send_timeout")
        );
        assert_eq!(closest("zzz", known), None);
    }

    #[test]
    fn connection_sections_by_name() {
        assert!(is_connection_section("Connection_Local"));
        assert!(is_connection_section("RemoteConnection"));
        assert!(is_connection_section("failover_connection"));
        assert!(!is_connection_section("Session"));
    }
}
