//! The information types of `SQLGetInfo` (ODBC 3.8), with the numeric id the ODBC headers give
//! each one (unixODBC's `sql.h` and `sqlext.h`, which match Microsoft's), the form its answer
//! comes back in and whether that answer can change while a connection is open: the table behind
//! a `getinfo(option)` request, so that the server knows which buffer to hand the driver and how
//! to read it, a client can name an information type instead of remembering its number, and an
//! answer that cannot change may be cached per connection. The handle-valued types
//! (`SQL_DRIVER_HENV`, `SQL_DRIVER_HDBC`, `SQL_DRIVER_HSTMT`, `SQL_DRIVER_HDESC`,
//! `SQL_DRIVER_HLIB`) are left out on purpose: a pointer inside the server means nothing to a
//! client and would leak the server's address space layout. ODBC 2 types that ODBC 3 deprecated
//! but the headers still define (`SQL_FETCH_DIRECTION`, `SQL_LOCK_TYPES`, ...) are kept, under
//! their own ids; ODBC 2 names that ODBC 3 merely renamed (`SQL_QUALIFIER_TERM` for
//! `SQL_CATALOG_TERM`, `SQL_ACTIVE_STATEMENTS` for `SQL_MAX_CONCURRENT_ACTIVITIES`, ...) share
//! their id with the ODBC 3 name, and are found by [`info_type_by_name`] but are not entries of
//! their own.

/// How the driver returns an information type's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoKind {
    /// A character string (including the "Y"/"N" answers).
    Text,
    /// An `SQLUSMALLINT`.
    U16,
    /// An `SQLUINTEGER` holding a number.
    U32,
    /// An `SQLUINTEGER` holding a bitmask of flags.
    Bitmask,
}

/// One `SQLGetInfo` information type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoType {
    /// Its numeric id (`SQL_DBMS_NAME` = 17).
    pub id: u16,
    /// Its name as in the ODBC headers, e.g. `"SQL_DBMS_NAME"`.
    pub name: &'static str,
    /// How the value comes back.
    pub kind: InfoKind,
    /// True when the answer cannot change during a connection's life, so that a server may cache
    /// it per connection. False when a session can change it (the current catalog, the user, the
    /// access mode, session settings such as SQL Server's cursor preservation, things that
    /// follow the current database's collation), and, being conservative, for limits and
    /// capabilities that a driver may answer from the connection's current state (the
    /// concurrent activity limits, whose ODBC 2 names `SQL_ACTIVE_*` read like counts, and the
    /// asynchronous execution types).
    pub constant: bool,
}

use InfoKind::{Bitmask, Text, U16, U32};

/// Shorthand for the table below.
const fn t(id: u16, name: &'static str, kind: InfoKind, constant: bool) -> InfoType {
    InfoType {
        id,
        name,
        kind,
        constant,
    }
}

/// Every information type, ordered by id.
pub const INFO_TYPES: &[InfoType] = &[
    // 0 and 1 were SQL_ACTIVE_CONNECTIONS and SQL_ACTIVE_STATEMENTS in ODBC 2.
    t(0, "SQL_MAX_DRIVER_CONNECTIONS", U16, false),
    t(1, "SQL_MAX_CONCURRENT_ACTIVITIES", U16, false),
    t(2, "SQL_DATA_SOURCE_NAME", Text, true),
    // 3, 4, 5: SQL_DRIVER_HDBC, SQL_DRIVER_HENV, SQL_DRIVER_HSTMT (handles, left out).
    t(6, "SQL_DRIVER_NAME", Text, true),
    t(7, "SQL_DRIVER_VER", Text, true),
    t(8, "SQL_FETCH_DIRECTION", Bitmask, true),
    t(9, "SQL_ODBC_API_CONFORMANCE", U16, true),
    t(10, "SQL_ODBC_VER", Text, true),
    t(11, "SQL_ROW_UPDATES", Text, true),
    t(12, "SQL_ODBC_SAG_CLI_CONFORMANCE", U16, true),
    t(13, "SQL_SERVER_NAME", Text, true),
    t(14, "SQL_SEARCH_PATTERN_ESCAPE", Text, true),
    t(15, "SQL_ODBC_SQL_CONFORMANCE", U16, true),
    // The current catalog (`USE other_db` changes it); deprecated in favour of
    // SQL_ATTR_CURRENT_CATALOG, still defined by the headers.
    t(16, "SQL_DATABASE_NAME", Text, false),
    t(17, "SQL_DBMS_NAME", Text, true),
    t(18, "SQL_DBMS_VER", Text, true),
    t(19, "SQL_ACCESSIBLE_TABLES", Text, true),
    t(20, "SQL_ACCESSIBLE_PROCEDURES", Text, true),
    t(21, "SQL_PROCEDURES", Text, true),
    // A session setting on some DBMSs (SQL Server's SET CONCAT_NULL_YIELDS_NULL).
    t(22, "SQL_CONCAT_NULL_BEHAVIOR", U16, false),
    // SQL Server's reflects its SQL_COPT_SS_PRESERVE_CURSORS connection attribute (Microsoft's
    // SQLGetInfo reference); rollback behaviour is treated alike.
    t(23, "SQL_CURSOR_COMMIT_BEHAVIOR", U16, false),
    t(24, "SQL_CURSOR_ROLLBACK_BEHAVIOR", U16, false),
    t(25, "SQL_DATA_SOURCE_READ_ONLY", Text, false),
    // A single SQL_TXN_* flag; a session can change its default isolation level.
    t(26, "SQL_DEFAULT_TXN_ISOLATION", U32, false),
    t(27, "SQL_EXPRESSIONS_IN_ORDERBY", Text, true),
    // Can follow the collation of the current database.
    t(28, "SQL_IDENTIFIER_CASE", U16, false),
    t(29, "SQL_IDENTIFIER_QUOTE_CHAR", Text, true),
    t(30, "SQL_MAX_COLUMN_NAME_LEN", U16, true),
    t(31, "SQL_MAX_CURSOR_NAME_LEN", U16, true),
    // 32 was SQL_MAX_OWNER_NAME_LEN in ODBC 2.
    t(32, "SQL_MAX_SCHEMA_NAME_LEN", U16, true),
    t(33, "SQL_MAX_PROCEDURE_NAME_LEN", U16, true),
    // 34 was SQL_MAX_QUALIFIER_NAME_LEN in ODBC 2.
    t(34, "SQL_MAX_CATALOG_NAME_LEN", U16, true),
    t(35, "SQL_MAX_TABLE_NAME_LEN", U16, true),
    t(36, "SQL_MULT_RESULT_SETS", Text, true),
    t(37, "SQL_MULTIPLE_ACTIVE_TXN", Text, true),
    // ODBC 2: "N", "Y", "P" (partial) or "F" (full); replaced by SQL_OJ_CAPABILITIES.
    t(38, "SQL_OUTER_JOINS", Text, true),
    // 39 was SQL_OWNER_TERM in ODBC 2.
    t(39, "SQL_SCHEMA_TERM", Text, true),
    t(40, "SQL_PROCEDURE_TERM", Text, true),
    // 41 and 42 were SQL_QUALIFIER_NAME_SEPARATOR and SQL_QUALIFIER_TERM in ODBC 2.
    t(41, "SQL_CATALOG_NAME_SEPARATOR", Text, true),
    t(42, "SQL_CATALOG_TERM", Text, true),
    t(43, "SQL_SCROLL_CONCURRENCY", Bitmask, true),
    t(44, "SQL_SCROLL_OPTIONS", Bitmask, true),
    t(45, "SQL_TABLE_TERM", Text, true),
    t(46, "SQL_TXN_CAPABLE", U16, true),
    // SET ROLE, SET SESSION AUTHORIZATION, EXECUTE AS can change it.
    t(47, "SQL_USER_NAME", Text, false),
    t(48, "SQL_CONVERT_FUNCTIONS", Bitmask, true),
    t(49, "SQL_NUMERIC_FUNCTIONS", Bitmask, true),
    t(50, "SQL_STRING_FUNCTIONS", Bitmask, true),
    t(51, "SQL_SYSTEM_FUNCTIONS", Bitmask, true),
    t(52, "SQL_TIMEDATE_FUNCTIONS", Bitmask, true),
    t(53, "SQL_CONVERT_BIGINT", Bitmask, true),
    t(54, "SQL_CONVERT_BINARY", Bitmask, true),
    t(55, "SQL_CONVERT_BIT", Bitmask, true),
    t(56, "SQL_CONVERT_CHAR", Bitmask, true),
    t(57, "SQL_CONVERT_DATE", Bitmask, true),
    t(58, "SQL_CONVERT_DECIMAL", Bitmask, true),
    t(59, "SQL_CONVERT_DOUBLE", Bitmask, true),
    t(60, "SQL_CONVERT_FLOAT", Bitmask, true),
    t(61, "SQL_CONVERT_INTEGER", Bitmask, true),
    t(62, "SQL_CONVERT_LONGVARCHAR", Bitmask, true),
    t(63, "SQL_CONVERT_NUMERIC", Bitmask, true),
    t(64, "SQL_CONVERT_REAL", Bitmask, true),
    t(65, "SQL_CONVERT_SMALLINT", Bitmask, true),
    t(66, "SQL_CONVERT_TIME", Bitmask, true),
    t(67, "SQL_CONVERT_TIMESTAMP", Bitmask, true),
    t(68, "SQL_CONVERT_TINYINT", Bitmask, true),
    t(69, "SQL_CONVERT_VARBINARY", Bitmask, true),
    t(70, "SQL_CONVERT_VARCHAR", Bitmask, true),
    t(71, "SQL_CONVERT_LONGVARBINARY", Bitmask, true),
    t(72, "SQL_TXN_ISOLATION_OPTION", Bitmask, true),
    // 73 was SQL_ODBC_SQL_OPT_IEF in ODBC 2.
    t(73, "SQL_INTEGRITY", Text, true),
    t(74, "SQL_CORRELATION_NAME", U16, true),
    t(75, "SQL_NON_NULLABLE_COLUMNS", U16, true),
    // 76: SQL_DRIVER_HLIB (a handle, left out).
    t(77, "SQL_DRIVER_ODBC_VER", Text, true),
    t(78, "SQL_LOCK_TYPES", Bitmask, true),
    t(79, "SQL_POS_OPERATIONS", Bitmask, true),
    t(80, "SQL_POSITIONED_STATEMENTS", Bitmask, true),
    t(81, "SQL_GETDATA_EXTENSIONS", Bitmask, true),
    t(82, "SQL_BOOKMARK_PERSISTENCE", Bitmask, true),
    t(83, "SQL_STATIC_SENSITIVITY", Bitmask, true),
    t(84, "SQL_FILE_USAGE", U16, true),
    t(85, "SQL_NULL_COLLATION", U16, true),
    t(86, "SQL_ALTER_TABLE", Bitmask, true),
    t(87, "SQL_COLUMN_ALIAS", Text, true),
    t(88, "SQL_GROUP_BY", U16, true),
    t(89, "SQL_KEYWORDS", Text, true),
    t(90, "SQL_ORDER_BY_COLUMNS_IN_SELECT", Text, true),
    // 91 and 92 were SQL_OWNER_USAGE and SQL_QUALIFIER_USAGE in ODBC 2.
    t(91, "SQL_SCHEMA_USAGE", Bitmask, true),
    t(92, "SQL_CATALOG_USAGE", Bitmask, true),
    // Can follow the collation of the current database.
    t(93, "SQL_QUOTED_IDENTIFIER_CASE", U16, false),
    t(94, "SQL_SPECIAL_CHARACTERS", Text, true),
    t(95, "SQL_SUBQUERIES", Bitmask, true),
    t(96, "SQL_UNION", Bitmask, true),
    t(97, "SQL_MAX_COLUMNS_IN_GROUP_BY", U16, true),
    t(98, "SQL_MAX_COLUMNS_IN_INDEX", U16, true),
    t(99, "SQL_MAX_COLUMNS_IN_ORDER_BY", U16, true),
    t(100, "SQL_MAX_COLUMNS_IN_SELECT", U16, true),
    t(101, "SQL_MAX_COLUMNS_IN_TABLE", U16, true),
    t(102, "SQL_MAX_INDEX_SIZE", U32, true),
    t(103, "SQL_MAX_ROW_SIZE_INCLUDES_LONG", Text, true),
    t(104, "SQL_MAX_ROW_SIZE", U32, true),
    t(105, "SQL_MAX_STATEMENT_LEN", U32, true),
    t(106, "SQL_MAX_TABLES_IN_SELECT", U16, true),
    t(107, "SQL_MAX_USER_NAME_LEN", U16, true),
    t(108, "SQL_MAX_CHAR_LITERAL_LEN", U32, true),
    t(109, "SQL_TIMEDATE_ADD_INTERVALS", Bitmask, true),
    t(110, "SQL_TIMEDATE_DIFF_INTERVALS", Bitmask, true),
    t(111, "SQL_NEED_LONG_DATA_LEN", Text, true),
    t(112, "SQL_MAX_BINARY_LITERAL_LEN", U32, true),
    t(113, "SQL_LIKE_ESCAPE_CLAUSE", Text, true),
    // 114 was SQL_QUALIFIER_LOCATION in ODBC 2.
    t(114, "SQL_CATALOG_LOCATION", U16, true),
    t(115, "SQL_OJ_CAPABILITIES", Bitmask, true),
    t(116, "SQL_ACTIVE_ENVIRONMENTS", U16, false),
    t(117, "SQL_ALTER_DOMAIN", Bitmask, true),
    t(118, "SQL_SQL_CONFORMANCE", U32, true),
    t(119, "SQL_DATETIME_LITERALS", Bitmask, true),
    t(120, "SQL_BATCH_ROW_COUNT", Bitmask, true),
    t(121, "SQL_BATCH_SUPPORT", Bitmask, true),
    t(122, "SQL_CONVERT_WCHAR", Bitmask, true),
    t(123, "SQL_CONVERT_INTERVAL_DAY_TIME", Bitmask, true),
    t(124, "SQL_CONVERT_INTERVAL_YEAR_MONTH", Bitmask, true),
    t(125, "SQL_CONVERT_WLONGVARCHAR", Bitmask, true),
    t(126, "SQL_CONVERT_WVARCHAR", Bitmask, true),
    t(127, "SQL_CREATE_ASSERTION", Bitmask, true),
    t(128, "SQL_CREATE_CHARACTER_SET", Bitmask, true),
    t(129, "SQL_CREATE_COLLATION", Bitmask, true),
    t(130, "SQL_CREATE_DOMAIN", Bitmask, true),
    t(131, "SQL_CREATE_SCHEMA", Bitmask, true),
    t(132, "SQL_CREATE_TABLE", Bitmask, true),
    t(133, "SQL_CREATE_TRANSLATION", Bitmask, true),
    t(134, "SQL_CREATE_VIEW", Bitmask, true),
    // 135: SQL_DRIVER_HDESC (a handle, left out).
    t(136, "SQL_DROP_ASSERTION", Bitmask, true),
    t(137, "SQL_DROP_CHARACTER_SET", Bitmask, true),
    t(138, "SQL_DROP_COLLATION", Bitmask, true),
    t(139, "SQL_DROP_DOMAIN", Bitmask, true),
    t(140, "SQL_DROP_SCHEMA", Bitmask, true),
    t(141, "SQL_DROP_TABLE", Bitmask, true),
    t(142, "SQL_DROP_TRANSLATION", Bitmask, true),
    t(143, "SQL_DROP_VIEW", Bitmask, true),
    t(144, "SQL_DYNAMIC_CURSOR_ATTRIBUTES1", Bitmask, true),
    t(145, "SQL_DYNAMIC_CURSOR_ATTRIBUTES2", Bitmask, true),
    t(146, "SQL_FORWARD_ONLY_CURSOR_ATTRIBUTES1", Bitmask, true),
    t(147, "SQL_FORWARD_ONLY_CURSOR_ATTRIBUTES2", Bitmask, true),
    t(148, "SQL_INDEX_KEYWORDS", Bitmask, true),
    t(149, "SQL_INFO_SCHEMA_VIEWS", Bitmask, true),
    t(150, "SQL_KEYSET_CURSOR_ATTRIBUTES1", Bitmask, true),
    t(151, "SQL_KEYSET_CURSOR_ATTRIBUTES2", Bitmask, true),
    t(152, "SQL_ODBC_INTERFACE_CONFORMANCE", U32, true),
    t(153, "SQL_PARAM_ARRAY_ROW_COUNTS", U32, true),
    t(154, "SQL_PARAM_ARRAY_SELECTS", U32, true),
    t(155, "SQL_SQL92_DATETIME_FUNCTIONS", Bitmask, true),
    t(156, "SQL_SQL92_FOREIGN_KEY_DELETE_RULE", Bitmask, true),
    t(157, "SQL_SQL92_FOREIGN_KEY_UPDATE_RULE", Bitmask, true),
    t(158, "SQL_SQL92_GRANT", Bitmask, true),
    t(159, "SQL_SQL92_NUMERIC_VALUE_FUNCTIONS", Bitmask, true),
    t(160, "SQL_SQL92_PREDICATES", Bitmask, true),
    t(161, "SQL_SQL92_RELATIONAL_JOIN_OPERATORS", Bitmask, true),
    t(162, "SQL_SQL92_REVOKE", Bitmask, true),
    t(163, "SQL_SQL92_ROW_VALUE_CONSTRUCTOR", Bitmask, true),
    t(164, "SQL_SQL92_STRING_FUNCTIONS", Bitmask, true),
    t(165, "SQL_SQL92_VALUE_EXPRESSIONS", Bitmask, true),
    t(166, "SQL_STANDARD_CLI_CONFORMANCE", Bitmask, true),
    t(167, "SQL_STATIC_CURSOR_ATTRIBUTES1", Bitmask, true),
    t(168, "SQL_STATIC_CURSOR_ATTRIBUTES2", Bitmask, true),
    t(169, "SQL_AGGREGATE_FUNCTIONS", Bitmask, true),
    // SQL_DI_CREATE_INDEX | SQL_DI_DROP_INDEX.
    t(170, "SQL_DDL_INDEX", Bitmask, true),
    t(171, "SQL_DM_VER", Text, true),
    t(172, "SQL_INSERT_STATEMENT", Bitmask, true),
    t(173, "SQL_CONVERT_GUID", Bitmask, true),
    // Microsoft's (sqlext.h): SQL_DTC_ENLIST_EXPENSIVE | SQL_DTC_UNENLIST_EXPENSIVE.
    t(1750, "SQL_DTC_TRANSITION_COST", Bitmask, true),
    t(10000, "SQL_XOPEN_CLI_YEAR", Text, true),
    t(10001, "SQL_CURSOR_SENSITIVITY", U32, true),
    t(10002, "SQL_DESCRIBE_PARAMETER", Text, true),
    t(10003, "SQL_CATALOG_NAME", Text, true),
    // The default collation may be the current database's.
    t(10004, "SQL_COLLATION_SEQ", Text, false),
    t(10005, "SQL_MAX_IDENTIFIER_LEN", U16, true),
    t(10021, "SQL_ASYNC_MODE", U32, false),
    t(10022, "SQL_MAX_ASYNC_CONCURRENT_STATEMENTS", U32, false),
    t(10023, "SQL_ASYNC_DBC_FUNCTIONS", U32, false),
    t(10024, "SQL_DRIVER_AWARE_POOLING_SUPPORTED", U32, true),
    t(10025, "SQL_ASYNC_NOTIFICATION", U32, false),
];

/// Other names the headers give to ids in [`INFO_TYPES`]: the ODBC 2 names that ODBC 3 renamed,
/// and the long `SQL_MAXIMUM_*` spellings of `sql.h`.
const ALIASES: &[(&str, u16)] = &[
    ("SQL_ACTIVE_CONNECTIONS", 0),
    ("SQL_MAXIMUM_DRIVER_CONNECTIONS", 0),
    ("SQL_ACTIVE_STATEMENTS", 1),
    ("SQL_MAXIMUM_CONCURRENT_ACTIVITIES", 1),
    ("SQL_MAXIMUM_COLUMN_NAME_LENGTH", 30),
    ("SQL_MAXIMUM_CURSOR_NAME_LENGTH", 31),
    ("SQL_MAX_OWNER_NAME_LEN", 32),
    ("SQL_MAXIMUM_SCHEMA_NAME_LENGTH", 32),
    ("SQL_MAX_QUALIFIER_NAME_LEN", 34),
    ("SQL_MAXIMUM_CATALOG_NAME_LENGTH", 34),
    ("SQL_OWNER_TERM", 39),
    ("SQL_QUALIFIER_NAME_SEPARATOR", 41),
    ("SQL_QUALIFIER_TERM", 42),
    ("SQL_TRANSACTION_CAPABLE", 46),
    ("SQL_TRANSACTION_ISOLATION_OPTION", 72),
    ("SQL_ODBC_SQL_OPT_IEF", 73),
    ("SQL_OWNER_USAGE", 91),
    ("SQL_QUALIFIER_USAGE", 92),
    ("SQL_UNION_STATEMENT", 96),
    ("SQL_MAXIMUM_COLUMNS_IN_GROUP_BY", 97),
    ("SQL_MAXIMUM_COLUMNS_IN_INDEX", 98),
    ("SQL_MAXIMUM_COLUMNS_IN_ORDER_BY", 99),
    ("SQL_MAXIMUM_COLUMNS_IN_SELECT", 100),
    ("SQL_MAXIMUM_INDEX_SIZE", 102),
    ("SQL_MAXIMUM_ROW_SIZE", 104),
    ("SQL_MAXIMUM_STATEMENT_LENGTH", 105),
    ("SQL_MAXIMUM_TABLES_IN_SELECT", 106),
    ("SQL_MAXIMUM_USER_NAME_LENGTH", 107),
    ("SQL_QUALIFIER_LOCATION", 114),
    ("SQL_OUTER_JOIN_CAPABILITIES", 115),
    ("SQL_MAXIMUM_IDENTIFIER_LENGTH", 10005),
];

/// The information type with this id.
pub fn info_type_by_id(id: u16) -> Option<&'static InfoType> {
    INFO_TYPES
        .binary_search_by_key(&id, |info| info.id)
        .ok()
        .map(|index| &INFO_TYPES[index])
}

/// The information type with this name, case-insensitively, with or without the `SQL_` prefix
/// ("dbms_name", "SQL_DBMS_NAME"). The other names the headers give to the same ids (the ODBC 2
/// names, such as `SQL_QUALIFIER_TERM`, and the `SQL_MAXIMUM_*` spellings) are accepted too and
/// give the entry under its ODBC 3 name.
pub fn info_type_by_name(name: &str) -> Option<&'static InfoType> {
    if let Some(info) = INFO_TYPES.iter().find(|info| name_matches(info.name, name)) {
        return Some(info);
    }
    ALIASES
        .iter()
        .find(|(alias, _)| name_matches(alias, name))
        .and_then(|&(_, id)| info_type_by_id(id))
}

/// Whether `given` names `full` (a header name, which starts with `SQL_`), ignoring ASCII case
/// and with or without the prefix.
fn name_matches(full: &str, given: &str) -> bool {
    full.eq_ignore_ascii_case(given)
        || full
            .strip_prefix("SQL_")
            .is_some_and(|bare| bare.eq_ignore_ascii_case(given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_strictly_increase() {
        for pair in INFO_TYPES.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} ({}) before {} ({})",
                pair[0].name,
                pair[0].id,
                pair[1].name,
                pair[1].id
            );
        }
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut names: Vec<&str> = INFO_TYPES.iter().map(|info| info.name).collect();
        names.extend(ALIASES.iter().map(|(alias, _)| *alias));
        for name in &names {
            assert!(name.starts_with("SQL_"), "{name}");
            assert!(name.len() > 4, "{name}");
            assert_eq!(name.to_ascii_uppercase(), *name, "{name}");
        }
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name is given twice");
    }

    #[test]
    fn no_bare_name_is_another_full_name() {
        // Otherwise a name without its prefix could find the wrong entry.
        let all = INFO_TYPES
            .iter()
            .map(|info| info.name)
            .chain(ALIASES.iter().map(|(alias, _)| *alias));
        for name in all.clone() {
            let bare = &name[4..];
            assert!(
                all.clone().all(|other| !other.eq_ignore_ascii_case(bare)),
                "{name}"
            );
        }
    }

    #[test]
    fn aliases_point_at_entries_under_other_names() {
        for &(alias, id) in ALIASES {
            let info = info_type_by_id(id).expect(alias);
            assert_ne!(info.name, alias);
        }
    }

    #[test]
    fn handles_are_left_out() {
        // SQL_DRIVER_HDBC, SQL_DRIVER_HENV, SQL_DRIVER_HSTMT, SQL_DRIVER_HLIB, SQL_DRIVER_HDESC.
        for id in [3, 4, 5, 76, 135] {
            assert_eq!(info_type_by_id(id), None, "{id}");
        }
        assert_eq!(info_type_by_name("SQL_DRIVER_HDBC"), None);
        assert_eq!(info_type_by_name("driver_hstmt"), None);
    }

    #[test]
    fn ids_from_the_headers() {
        let expect = [
            ("SQL_MAX_DRIVER_CONNECTIONS", 0, InfoKind::U16),
            ("SQL_MAX_CONCURRENT_ACTIVITIES", 1, InfoKind::U16),
            ("SQL_DRIVER_NAME", 6, InfoKind::Text),
            ("SQL_DATABASE_NAME", 16, InfoKind::Text),
            ("SQL_DBMS_NAME", 17, InfoKind::Text),
            ("SQL_DBMS_VER", 18, InfoKind::Text),
            ("SQL_CURSOR_COMMIT_BEHAVIOR", 23, InfoKind::U16),
            ("SQL_DEFAULT_TXN_ISOLATION", 26, InfoKind::U32),
            ("SQL_IDENTIFIER_QUOTE_CHAR", 29, InfoKind::Text),
            ("SQL_TXN_CAPABLE", 46, InfoKind::U16),
            ("SQL_GETDATA_EXTENSIONS", 81, InfoKind::Bitmask),
            ("SQL_KEYWORDS", 89, InfoKind::Text),
            ("SQL_MAX_INDEX_SIZE", 102, InfoKind::U32),
            ("SQL_MAX_ROW_SIZE", 104, InfoKind::U32),
            ("SQL_MAX_STATEMENT_LEN", 105, InfoKind::U32),
            ("SQL_MAX_BINARY_LITERAL_LEN", 112, InfoKind::U32),
            ("SQL_DM_VER", 171, InfoKind::Text),
            ("SQL_CONVERT_GUID", 173, InfoKind::Bitmask),
            ("SQL_XOPEN_CLI_YEAR", 10000, InfoKind::Text),
            ("SQL_MAX_IDENTIFIER_LEN", 10005, InfoKind::U16),
            ("SQL_ASYNC_MODE", 10021, InfoKind::U32),
            ("SQL_ASYNC_DBC_FUNCTIONS", 10023, InfoKind::U32),
            ("SQL_DRIVER_AWARE_POOLING_SUPPORTED", 10024, InfoKind::U32),
            ("SQL_ASYNC_NOTIFICATION", 10025, InfoKind::U32),
        ];
        for (name, id, kind) in expect {
            let info = info_type_by_id(id).expect(name);
            assert_eq!(info.name, name);
            assert_eq!(info.kind, kind, "{name}");
        }
    }

    #[test]
    fn session_state_is_not_constant() {
        for name in [
            "SQL_DATABASE_NAME",
            "SQL_USER_NAME",
            "SQL_DATA_SOURCE_READ_ONLY",
            "SQL_MAX_CONCURRENT_ACTIVITIES",
            "SQL_ASYNC_MODE",
        ] {
            assert!(!info_type_by_name(name).expect(name).constant, "{name}");
        }
        assert!(info_type_by_name("SQL_DBMS_NAME").unwrap().constant);
    }

    #[test]
    fn lookup_by_name() {
        let dbms = info_type_by_id(17).unwrap();
        for name in [
            "SQL_DBMS_NAME",
            "sql_dbms_name",
            "dbms_name",
            "DBMS_NAME",
            "Sql_Dbms_Name",
        ] {
            assert_eq!(info_type_by_name(name), Some(dbms), "{name}");
        }
        // A name that itself starts with SQL_ after the prefix.
        let conformance = info_type_by_id(118).unwrap();
        assert_eq!(info_type_by_name("sql_conformance"), Some(conformance));
        assert_eq!(info_type_by_name("SQL_SQL_CONFORMANCE"), Some(conformance));
        // ODBC 2 names and the long spellings.
        assert_eq!(info_type_by_name("SQL_QUALIFIER_TERM").unwrap().id, 42);
        assert_eq!(info_type_by_name("active_statements").unwrap().id, 1);
        assert_eq!(
            info_type_by_name("SQL_MAXIMUM_STATEMENT_LENGTH")
                .unwrap()
                .id,
            105
        );
        // Nothing else.
        for name in [
            "",
            "SQL_",
            "sql",
            "DBMS",
            "SQL_DBMS_NAME ",
            "SQL_SQL_DBMS_NAME",
            "ßql_dbms_name",
        ] {
            assert_eq!(info_type_by_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn every_entry_round_trips() {
        for info in INFO_TYPES {
            assert_eq!(info_type_by_id(info.id), Some(info));
            assert_eq!(info_type_by_name(info.name), Some(info));
            assert_eq!(
                info_type_by_name(&info.name[4..].to_ascii_lowercase()),
                Some(info)
            );
        }
    }
}
