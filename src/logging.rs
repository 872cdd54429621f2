//! Logging setup for the binaries: `tracing` to stderr and, when configured, to a log file,
//! at the configured mxLog level (`RUST_LOG`, when set, overrides it).

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogLevel;

/// Where log lines go besides a log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// Also to stderr (the server: its supervisor collects stderr).
    Stderr,
    /// Only to the file (odbcsh: stderr carries its error lines, which scripts read).
    FileOnly,
}

/// Installs the global subscriber. Without a log file, lines go to stderr.
///
/// # Errors
/// The log file cannot be opened for appending.
pub fn init(level: LogLevel, log_file: Option<&Path>, echo: Echo) -> std::io::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(level.filter_directive()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = match log_file {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("cannot open log file {}: {e}", path.display()),
                    )
                })?;
            let builder = builder.with_ansi(false);
            match echo {
                Echo::Stderr => builder
                    .with_writer(std::io::stderr.and(Mutex::new(file)))
                    .try_init(),
                Echo::FileOnly => builder.with_writer(Mutex::new(file)).try_init(),
            }
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    // A subscriber installed earlier (tests) is fine.
    let _ = result;
    Ok(())
}
