//! The driver manager's lists of drivers and data sources (`SQLDrivers`, `SQLDataSources`).
//!
//! odbc-api's `Environment::drivers` sizes the attribute buffer to exactly the length unixODBC
//! 2.3.11 reports, and unixODBC writes past it (the list's terminating NULs), a heap overflow
//! of a few bytes on every call that crashed odbcd later (`free(): invalid next size`) after a
//! client listed drivers and data sources twice. Its `data_sources` sizes its buffers from the
//! *driver* list. This module asks the driver manager itself, on an environment handle of its
//! own, with buffers larger than the lengths it passes (slack for such off-by-ones), one
//! listing at a time. It holds the only `unsafe` code for these calls.
#![allow(unsafe_code)]

use std::sync::{Mutex, PoisonError};

use odbc_api::sys::{
    AttrOdbcVersion, EnvironmentAttribute, FetchOrientation, HEnv, Handle, HandleType,
    SQLAllocHandle, SQLDataSources, SQLDrivers, SQLFreeHandle, SQLSetEnvAttr, SqlReturn,
};

use crate::error::{DbError, ErrorClass};
use crate::proto::message::{DataSourceInfo, DriverInfo};

/// Bytes given to the driver manager for a name or description.
const NAME_LEN: usize = 1024;
/// Bytes given to it for a driver's attribute list.
const ATTRIBUTES_LEN: usize = 16 * 1024;
/// Bytes allocated beyond what the driver manager is told it may write.
const SLACK: usize = 64;

/// One listing at a time in the process: unixODBC reads its INI files for these.
static LISTING: Mutex<()> = Mutex::new(());

/// An environment handle of our own, freed when dropped.
struct Env(HEnv);

impl Env {
    fn new() -> Result<Self, DbError> {
        let mut handle = Handle::null();
        // SAFETY: allocating an environment handle takes a null input handle and an out
        // pointer to a local.
        let rc = unsafe { SQLAllocHandle(HandleType::Env, Handle::null(), &mut handle) };
        if rc != SqlReturn::SUCCESS && rc != SqlReturn::SUCCESS_WITH_INFO {
            return Err(DbError::new(
                ErrorClass::InterfaceError,
                "the driver manager could not allocate an environment",
            ));
        }
        let env = Self(handle.as_henv());
        // SAFETY: a live environment handle; ODBC passes the version as a pointer-sized
        // integer.
        let rc = unsafe {
            SQLSetEnvAttr(
                env.0,
                EnvironmentAttribute::OdbcVersion,
                AttrOdbcVersion::Odbc3.into(),
                0,
            )
        };
        if rc != SqlReturn::SUCCESS && rc != SqlReturn::SUCCESS_WITH_INFO {
            return Err(DbError::new(
                ErrorClass::InterfaceError,
                "the driver manager refused ODBC version 3",
            ));
        }
        Ok(env)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // SAFETY: the handle is live and freed once.
        unsafe {
            let _ = SQLFreeHandle(HandleType::Env, Handle(self.0 .0));
        }
    }
}

/// A byte buffer with room beyond what the driver manager is told.
struct Buffer {
    bytes: Vec<u8>,
    len: usize,
}

impl Buffer {
    fn new(len: usize) -> Self {
        Self {
            bytes: vec![0; len + SLACK],
            len,
        }
    }

    fn ptr(&mut self) -> *mut u8 {
        self.bytes.as_mut_ptr()
    }

    fn max(&self) -> i16 {
        i16::try_from(self.len).unwrap_or(i16::MAX)
    }

    /// The text the driver manager reported `reported` bytes of (cut to the buffer).
    fn text(&self, reported: i16) -> String {
        let n = usize::try_from(reported).unwrap_or(0).min(self.len);
        let bytes = &self.bytes[..n];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(n);
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }

    /// The `key=value` pairs of a NUL-separated attribute list.
    fn attributes(&self, reported: i16) -> Vec<(String, String)> {
        let n = usize::try_from(reported).unwrap_or(0).min(self.len);
        self.bytes[..n]
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .filter_map(|s| {
                let s = String::from_utf8_lossy(s);
                s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect()
    }
}

/// The driver manager's two-buffer listing functions (`SQLDrivers`, `SQLDataSources`) have
/// the same signature.
type ListFn = unsafe extern "system" fn(
    HEnv,
    FetchOrientation,
    *mut u8,
    i16,
    *mut i16,
    *mut u8,
    i16,
    *mut i16,
) -> SqlReturn;

/// Walks one listing from first to last: `second` bytes for the second buffer, `entry` makes
/// an item of the two buffers and their reported lengths.
fn list<T>(
    function: ListFn,
    what: &str,
    second: usize,
    entry: impl Fn((&Buffer, i16), (&Buffer, i16)) -> T,
) -> Result<Vec<T>, DbError> {
    let _one = LISTING.lock().unwrap_or_else(PoisonError::into_inner);
    let env = Env::new()?;
    let mut out = Vec::new();
    let mut direction = FetchOrientation::First;
    loop {
        let mut first_buf = Buffer::new(NAME_LEN);
        let mut second_buf = Buffer::new(second);
        let (mut first_len, mut second_len) = (0i16, 0i16);
        // SAFETY: both buffers are larger than the lengths passed; the length outputs are
        // locals; the environment handle is live and used by this thread only.
        let rc = unsafe {
            function(
                env.0,
                direction,
                first_buf.ptr(),
                first_buf.max(),
                &mut first_len,
                second_buf.ptr(),
                second_buf.max(),
                &mut second_len,
            )
        };
        if rc == SqlReturn::NO_DATA {
            return Ok(out);
        }
        if rc != SqlReturn::SUCCESS && rc != SqlReturn::SUCCESS_WITH_INFO {
            return Err(DbError::new(
                ErrorClass::InterfaceError,
                format!("the driver manager could not list its {what}"),
            ));
        }
        out.push(entry((&first_buf, first_len), (&second_buf, second_len)));
        direction = FetchOrientation::Next;
    }
}

/// The driver manager's drivers, by name, each with its attributes sorted. Blocking: call from
/// a blocking thread.
///
/// # Errors
/// The driver manager failed.
pub fn drivers() -> Result<Vec<DriverInfo>, DbError> {
    let mut out = list(
        SQLDrivers,
        "drivers",
        ATTRIBUTES_LEN,
        |(name, n), (attributes, a)| DriverInfo {
            name: name.text(n),
            attributes: attributes.attributes(a),
        },
    )?;
    for d in &mut out {
        d.attributes.sort();
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The driver manager's data sources, by name. Blocking: call from a blocking thread.
///
/// # Errors
/// The driver manager failed.
pub fn data_sources() -> Result<Vec<DataSourceInfo>, DbError> {
    let mut out = list(
        SQLDataSources,
        "data sources",
        NAME_LEN,
        |(name, n), (driver, d)| DataSourceInfo {
            name: name.text(n),
            driver: driver.text(d),
        },
    )?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
