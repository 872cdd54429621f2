//! Logging setup for the binaries: `tracing` to stderr and, when configured, to a log file,
//! at the configured mxLog level (`RUST_LOG`, when set, overrides it). The server's reload
//! ([`reload`]) changes the level and reopens the log file (log rotation: the old file was
//! moved away, the next lines go to a new one at the configured path).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
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

/// The log file lines are written to (`None`: none configured).
static LOG_FILE: Mutex<Option<(PathBuf, File)>> = Mutex::new(None);

type FilterHandle = tracing_subscriber::reload::Handle<
    EnvFilter,
    tracing_subscriber::fmt::Formatter<
        tracing_subscriber::fmt::format::DefaultFields,
        tracing_subscriber::fmt::format::Format,
        BoxMakeWriter,
    >,
>;

/// The level's reload handle, when this process installed the subscriber.
static FILTER: OnceLock<FilterHandle> = OnceLock::new();

/// Writes a line to the current log file (nothing once none is configured).
struct LogFileWriter;

impl Write for LogFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut *LOG_FILE.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((_, f)) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut *LOG_FILE.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((_, f)) => f.flush(),
            None => Ok(()),
        }
    }
}

fn open_log(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot open log file {}: {e}", path.display()),
            )
        })
}

fn filter_for(level: LogLevel) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level.filter_directive()))
}

/// Installs the global subscriber. Without a log file, lines go to stderr.
///
/// # Errors
/// The log file cannot be opened for appending.
pub fn init(level: LogLevel, log_file: Option<&Path>, echo: Echo) -> std::io::Result<()> {
    let has_file = match log_file {
        Some(path) => {
            let file = open_log(path)?;
            *LOG_FILE.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((path.to_owned(), file));
            true
        }
        None => false,
    };
    let writer = match (has_file, echo) {
        (false, _) => BoxMakeWriter::new(std::io::stderr),
        (true, Echo::Stderr) => BoxMakeWriter::new(std::io::stderr.and(|| LogFileWriter)),
        (true, Echo::FileOnly) => BoxMakeWriter::new(|| LogFileWriter),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter_for(level))
        .with_target(false)
        .with_ansi(!has_file)
        .with_writer(writer)
        .with_filter_reloading();
    let handle = builder.reload_handle();
    // A subscriber installed earlier (tests) is fine: it keeps its own settings.
    if builder.try_init().is_ok() {
        let _ = FILTER.set(handle);
    }
    Ok(())
}

/// Applies a reloaded configuration's logging: the new level (unless `RUST_LOG` decides), and
/// the log file reopened at its (possibly new) path. A server started without a log file gets
/// none from a reload (its lines go to stderr, which has no file to reopen).
///
/// # Errors
/// The log file cannot be opened: the old one stays in use.
pub fn reload(level: LogLevel, log_file: Option<&Path>) -> std::io::Result<()> {
    if let Some(handle) = FILTER.get() {
        let _ = handle.reload(filter_for(level));
    }
    let mut current = LOG_FILE.lock().unwrap_or_else(PoisonError::into_inner);
    if current.is_none() {
        return Ok(());
    }
    match log_file {
        Some(path) => {
            let file = open_log(path)?;
            *current = Some((path.to_owned(), file));
        }
        None => *current = None,
    }
    Ok(())
}
