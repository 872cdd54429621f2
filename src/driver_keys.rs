//! What the ODBC drivers odbcd knows do with each connection-string key: the one place that
//! says which keys a client may set on a DSN-less connection, and which keys name a file on the
//! server or load code (refused unless the operator opts in with `[Access]
//! allowed_unsafe_keys`).
//!
//! Each table lists a driver's documented connection keys by their full names; abbreviations
//! (psqlodbc's `A0`, `CX`, ...) and keys not listed are not settable by clients. Sources:
//! sqliteodbc 0.9998 (`sqlite3odbc.c`, `drvdriverconnect`, which reads each key with `getdsnattr`:
//! no braces, no white space skipped, the first of duplicate keys wins), psqlodbc 13.02 (`drvconn.c` `dconn_get_attributes`, `dlg_specific.c`
//! `copyConnAttributes`: braces kept in most values, the last of duplicate keys wins) and unixODBC 2.3.11
//! (`SQLDriverConnect.c`: `DMEnvAttr`/`DMConnAttr`/`DMStmtAttr` in a DSN-less string set
//! driver-manager attributes, among them the trace file and the translation library).

/// The drivers whose keys odbcd knows, told apart by the file name of their library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverFamily {
    /// sqliteodbc (`libsqlite3odbc.so`, `libsqliteodbc.so`).
    Sqlite,
    /// psqlodbc (`psqlodbcw.so`, `psqlodbca.so`).
    Postgres,
    /// Any other driver: its keys are unknown, so clients may add only `client_attributes`.
    Other,
}

/// Whether a key may be set by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    /// An ordinary setting.
    Safe,
    /// Names a file on the server or loads code; the text says what it does.
    Unsafe(&'static str),
}

/// How a key is used by a driver.
#[derive(Clone, Copy)]
enum Use {
    /// An ordinary setting.
    Setting,
    /// Always unsafe, for the reason given.
    Unsafe(&'static str),
    /// A host name, or a comma-separated list of them (libpq); an empty element or one that
    /// starts with `/` or `@` is a Unix socket on the server.
    HostOrSocket,
}

/// sqliteodbc 0.9998.
const SQLITE: &[(&str, Use)] = &[
    (
        "Database",
        Use::Unsafe("opens or creates a database file at a path on the server"),
    ),
    (
        "LoadExt",
        Use::Unsafe("loads a shared library into the server"),
    ),
    (
        "Tracefile",
        Use::Unsafe("appends every statement to a file on the server"),
    ),
    ("Timeout", Use::Setting),
    ("StepAPI", Use::Setting),
    ("SyncPragma", Use::Setting),
    ("NoTXN", Use::Setting),
    ("ShortNames", Use::Setting),
    ("LongNames", Use::Setting),
    ("NoCreat", Use::Setting),
    ("NoWCHAR", Use::Setting),
    ("FKSupport", Use::Setting),
    ("JournalMode", Use::Setting),
    ("JDConv", Use::Setting),
    ("BigInt", Use::Setting),
    ("UID", Use::Setting),
    ("PWD", Use::Setting),
];

/// psqlodbc 13.02, by full name. `Database` is a database name here, not a path.
const POSTGRES: &[(&str, Use)] = &[
    ("Servername", Use::HostOrSocket),
    ("Server", Use::HostOrSocket),
    ("Port", Use::Setting),
    ("Database", Use::Setting),
    ("Username", Use::Setting),
    ("UID", Use::Setting),
    ("Password", Use::Setting),
    ("PWD", Use::Setting),
    ("SSLmode", Use::Setting),
    ("ReadOnly", Use::Setting),
    ("Protocol", Use::Setting),
    ("FakeOidIndex", Use::Setting),
    ("ShowOidColumn", Use::Setting),
    ("RowVersioning", Use::Setting),
    ("ShowSystemTables", Use::Setting),
    ("Fetch", Use::Setting),
    ("UnknownSizes", Use::Setting),
    ("MaxVarcharSize", Use::Setting),
    ("MaxLongVarcharSize", Use::Setting),
    ("UseDeclareFetch", Use::Setting),
    ("TextAsLongVarchar", Use::Setting),
    ("UnknownsAsLongVarchar", Use::Setting),
    ("BoolsAsChar", Use::Setting),
    ("Parse", Use::Setting),
    ("ExtraSysTablePrefixes", Use::Setting),
    ("LFConversion", Use::Setting),
    ("UpdatableCursors", Use::Setting),
    ("TrueIsMinus1", Use::Setting),
    ("BI", Use::Setting),
    ("ByteaAsLongVarBinary", Use::Setting),
    ("UseServerSidePrepare", Use::Setting),
    ("LowerCaseIdentifier", Use::Setting),
    ("KeepaliveTime", Use::Setting),
    ("KeepaliveInterval", Use::Setting),
    ("BatchSize", Use::Setting),
    ("IgnoreTimeout", Use::Setting),
    ("FetchRefcursors", Use::Setting),
    ("OptionalErrors", Use::Setting),
    // SQL run at connect as the connecting user, like any statement of the session.
    ("ConnSettings", Use::Setting),
    ("Debug", Use::Unsafe("writes a driver log file on the server")),
    ("CommLog", Use::Unsafe("writes a communication log file on the server")),
    ("NumericAs", Use::Setting),
    ("Description", Use::Setting),
    ("pqopt", Use::Unsafe("passes libpq options, which name key, certificate, service and password files on the server")),
    ("GssAuthUseGSS", Use::Unsafe("authenticates with the server machine's Kerberos credentials")),
];

/// Keys that are unsafe whatever the driver: unixODBC reads them itself.
const DRIVER_MANAGER: &[(&str, Use)] = &[
    ("SaveFile", Use::Unsafe("writes a file on the server")),
    ("FileDSN", Use::Unsafe("reads a file on the server")),
    (
        "DMEnvAttr",
        Use::Unsafe("sets driver-manager attributes (trace files, libraries)"),
    ),
    (
        "DMConnAttr",
        Use::Unsafe("sets driver-manager attributes (trace files, translation libraries)"),
    ),
    (
        "DMStmtAttr",
        Use::Unsafe("sets driver-manager statement attributes"),
    ),
];

fn table(family: DriverFamily) -> &'static [(&'static str, Use)] {
    match family {
        DriverFamily::Sqlite => SQLITE,
        DriverFamily::Postgres => POSTGRES,
        DriverFamily::Other => &[],
    }
}

fn find(table: &'static [(&'static str, Use)], key: &str) -> Option<Use> {
    table
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, u)| *u)
}

/// The family of a driver from its library path or file name.
pub fn family_of_library(library: &str) -> DriverFamily {
    let file = library
        .rsplit('/')
        .next()
        .unwrap_or(library)
        .to_ascii_lowercase();
    if file.starts_with("libsqlite3odbc") || file.starts_with("libsqliteodbc") {
        DriverFamily::Sqlite
    } else if file.starts_with("psqlodbc") {
        DriverFamily::Postgres
    } else {
        DriverFamily::Other
    }
}

/// Keys one of which a DSN-less connection of `family` must set to a non-empty value, and why. sqliteodbc
/// without `Database` opens a file named after the whole connection string in the server's
/// working directory.
/// psqlodbc without a server name connects to the local Unix socket (peer authentication as
/// odbcd's own user).
pub fn required_key(family: DriverFamily) -> Option<(&'static [&'static str], &'static str)> {
    match family {
        DriverFamily::Sqlite => Some((
            &["Database"],
            "without it sqliteodbc creates a file named after the connection string",
        )),
        DriverFamily::Postgres => Some((
            &["Servername", "Server"],
            "without it libpq connects to the server machine's own Unix socket",
        )),
        DriverFamily::Other => None,
    }
}

/// Settings odbcd appends to every DSN-less connection of `family` (clients cannot set these
/// keys). psqlodbc: libpq would otherwise send a password from the `~/.pgpass` of odbcd's user,
/// or its Kerberos credentials, to whatever host the client names.
pub fn forced_settings(family: DriverFamily) -> &'static [(&'static str, &'static str)] {
    match family {
        DriverFamily::Postgres => &[("pqopt", "passfile=/dev/null gssencmode=disable")],
        _ => &[],
    }
}

/// Whether `key` is one of the connection keys of `family` that clients may name (safe or not:
/// [`risk`] decides the rest).
pub fn is_known_key(family: DriverFamily, key: &str) -> bool {
    find(table(family), key).is_some()
}

/// What setting `key` to `value` risks with a driver of `family`. For [`DriverFamily::Other`]
/// (a DSN whose driver is unknown, or another driver) a key is unsafe when any known driver
/// or the driver manager treats it as unsafe.
pub fn risk(family: DriverFamily, key: &str, value: &str) -> Risk {
    let judge = |u: Use| match u {
        Use::Setting => Risk::Safe,
        Use::Unsafe(why) => Risk::Unsafe(why),
        Use::HostOrSocket
            if value
                .split(',')
                .any(|h| h.trim().is_empty() || h.starts_with('/') || h.starts_with('@')) =>
        {
            Risk::Unsafe("names a Unix socket on the server (a path, or an empty host)")
        }
        Use::HostOrSocket => Risk::Safe,
    };
    if let Some(u) = find(DRIVER_MANAGER, key) {
        return judge(u);
    }
    match family {
        DriverFamily::Other => [SQLITE, POSTGRES]
            .iter()
            .filter_map(|t| find(t, key))
            .map(judge)
            .find(|r| *r != Risk::Safe)
            .unwrap_or(Risk::Safe),
        f => find(table(f), key).map_or(Risk::Safe, judge),
    }
}

/// Whether some driver or the driver manager treats `key` as unsafe (a name
/// `allowed_unsafe_keys` may list).
pub fn is_unsafe_anywhere(key: &str) -> bool {
    unsafe_key_names()
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
        || ["Servername", "Server"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
}

/// Every key some table marks unsafe, for messages and documentation.
pub fn unsafe_key_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = [DRIVER_MANAGER, SQLITE, POSTGRES]
        .iter()
        .flat_map(|t| t.iter())
        .filter(|(_, u)| matches!(u, Use::Unsafe(_)))
        .map(|(k, _)| *k)
        .filter(|k| !k.eq_ignore_ascii_case("SaveFile") && !k.eq_ignore_ascii_case("FileDSN"))
        .collect();
    names.dedup();
    names
}

/// Whether `key` is a plain key name: ASCII letters, digits, `_`, `-` and `.`, starting with a
/// letter or digit. Anything else (spaces, `=`, `;`, braces) is read differently by different
/// parsers.
pub fn is_plain_key(key: &str) -> bool {
    key.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Checks a name for `[Access] client_attributes`: not a key that chooses the driver or writes
/// files (those have their own rules).
///
/// # Errors
/// What is wrong with the name.
pub fn check_client_attribute(key: &str) -> Result<(), String> {
    if ["DSN", "Driver", "FileDSN", "SaveFile"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
    {
        Err(format!(
            "{key} chooses the driver or writes a file and cannot be a client attribute"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_by_library() {
        assert_eq!(
            family_of_library("/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so"),
            DriverFamily::Sqlite
        );
        assert_eq!(family_of_library("psqlodbcw.so"), DriverFamily::Postgres);
        assert_eq!(
            family_of_library("/opt/x/libtdsodbc.so"),
            DriverFamily::Other
        );
    }

    #[test]
    fn risks() {
        assert!(matches!(
            risk(DriverFamily::Sqlite, "database", "/x"),
            Risk::Unsafe(_)
        ));
        assert_eq!(risk(DriverFamily::Postgres, "Database", "app"), Risk::Safe);
        assert!(matches!(
            risk(DriverFamily::Other, "Database", "app"),
            Risk::Unsafe(_)
        ));
        assert!(matches!(
            risk(DriverFamily::Postgres, "Servername", "/tmp"),
            Risk::Unsafe(_)
        ));
        assert_eq!(
            risk(DriverFamily::Postgres, "Servername", "db.example"),
            Risk::Safe
        );
        assert!(matches!(
            risk(DriverFamily::Other, "dmconnattr", "x"),
            Risk::Unsafe(_)
        ));
        assert!(is_unsafe_anywhere("loadext") && !is_unsafe_anywhere("StepAPI"));
        assert!(
            !is_known_key(DriverFamily::Postgres, "A0"),
            "abbreviations are not settable"
        );
    }

    #[test]
    fn plain_keys() {
        assert!(is_plain_key("UID") && is_plain_key("Fetch_2.x-y"));
        for bad in ["", " UID", "UID ", "a b", "a=b", "{a}", "a;b", "_x", "é"] {
            assert!(!is_plain_key(bad), "{bad:?}");
        }
    }
}
