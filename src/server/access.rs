//! `[Access]`: which data sources and drivers a client's connection string may name.
//!
//! A connection string is a way into the server machine: `Driver=/some/library.so` makes the
//! driver manager load any shared library, `FileDSN=` reads a file, `SaveFile=` writes one. Every
//! `Driver`, `DSN` and `FileDSN` pair in the string is checked (not only the one the driver
//! manager would pick), so no spelling slips through.

use crate::config::server::AccessConfig;
use crate::connstr::ConnStr;
use crate::error::{DbError, ErrorClass};

fn refused(message: String) -> DbError {
    DbError::with_state(ErrorClass::PolicyViolationError, "42000", message)
}

/// True for driver values that name a file rather than a configured driver.
fn is_path(driver: &str) -> bool {
    let d = driver.trim().to_ascii_lowercase();
    d.contains('/')
        || d.contains('\\')
        || [".so", ".dll", ".dylib"]
            .iter()
            .any(|x| d.ends_with(x) || d.contains(&format!("{x}.")))
}

/// Checks a data source name (`SQLConnect`, or `DSN=`).
///
/// # Errors
/// `PolicyViolationError` when `[Access] allowed_dsns` does not list it.
pub fn check_dsn(access: &AccessConfig, dsn: &str) -> Result<(), DbError> {
    if access.allowed_dsns.contains(dsn) {
        Ok(())
    } else {
        Err(refused(format!(
            "data source {dsn:?} is not in [Access] allowed_dsns"
        )))
    }
}

/// Checks a connection string for `SQLDriverConnect`.
///
/// # Errors
/// `ProgrammingError` for a malformed string; `PolicyViolationError` for a driver path, a
/// driver or DSN that is not allowed, `FileDSN` (unless allowed) or `SaveFile`.
pub fn check_connection_string(access: &AccessConfig, raw: &str) -> Result<(), DbError> {
    let cs: ConnStr = raw.parse().map_err(|e: crate::connstr::ConnStrError| {
        DbError::with_state(ErrorClass::ProgrammingError, "42000", e.to_string())
    })?;
    if cs.data_source().is_none() {
        // The driver manager would use the DEFAULT data source.
        check_dsn(access, "DEFAULT")?;
    }
    for pair in cs.pairs() {
        let key = pair.key.trim();
        let value = pair.value.trim();
        if key.eq_ignore_ascii_case("SaveFile") {
            return Err(refused(
                "SaveFile is not allowed: it writes a file on the server".into(),
            ));
        } else if key.eq_ignore_ascii_case("FileDSN") {
            if !access.allow_file_dsn {
                return Err(refused(
                    "FileDSN is not allowed ([Access] allow_file_dsn = 0)".into(),
                ));
            }
        } else if key.eq_ignore_ascii_case("DSN") {
            check_dsn(access, value)?;
        } else if key.eq_ignore_ascii_case("Driver") {
            if is_path(value) {
                return Err(refused(format!(
                    "driver paths are not allowed ({value:?}): name a driver configured on the server"
                )));
            }
            if !access.allowed_drivers.contains(value) {
                return Err(refused(format!(
                    "driver {value:?} is not in [Access] allowed_drivers: connect through a data source (DSN=...) or ask the operator to allow the driver"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::server::NameList;

    fn access(dsns: NameList, drivers: NameList) -> AccessConfig {
        AccessConfig {
            allowed_dsns: dsns,
            allowed_drivers: drivers,
            allow_file_dsn: false,
        }
    }

    #[test]
    fn defaults_allow_dsns_only() {
        let a = access(NameList::Any, NameList::Only(vec![]));
        assert!(check_connection_string(&a, "DSN=demo;UID=x").is_ok());
        assert!(check_connection_string(&a, "Driver=SQLite3;Database=x").is_err());
        assert!(check_connection_string(&a, "Driver=/tmp/evil.so").is_err());
        assert!(check_connection_string(&a, "FileDSN=/etc/x.dsn").is_err());
        assert!(check_connection_string(&a, "DSN=demo;SaveFile=/tmp/x").is_err());
        assert!(
            check_connection_string(&a, "DSN=demo;driver={/tmp/evil.so}").is_err(),
            "every Driver pair is checked"
        );
        assert!(check_connection_string(&a, "PWD={unterminated")
            .unwrap_err()
            .is(ErrorClass::ProgrammingError));
    }

    #[test]
    fn listed_names_only() {
        let a = access(
            NameList::Only(vec!["demo".into()]),
            NameList::Only(vec!["sqlite3".into()]),
        );
        assert!(check_connection_string(&a, "dsn=DEMO").is_ok());
        assert!(check_connection_string(&a, "DSN=other").is_err());
        assert!(check_connection_string(&a, "Driver={SQLite3};Database=x").is_ok());
        assert!(check_connection_string(&a, "Driver=libsqlite3odbc.so").is_err());
        assert!(check_connection_string(&a, "Driver=PostgreSQL").is_err());
        assert!(
            check_connection_string(&a, "UID=x").is_err(),
            "the DEFAULT data source is a DSN too"
        );
        assert!(check_dsn(&a, "demo").is_ok() && check_dsn(&a, "other").is_err());
    }
}
