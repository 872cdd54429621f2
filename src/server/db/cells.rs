//! What a cell's bytes are: the wire value for a column's kind, from the text or bytes a driver
//! gave (pure functions, no ODBC calls).
//!
//! Values that ODBC's C structs cannot hold exactly (numerics of any length, BC years, a time's
//! fractions, infinities) are read as the driver's text and typed only when the text reads back
//! identically; SQLite cells are classified by storage class from the text sqliteodbc holds
//! ([`sqlite_cell`]). The README's type table lists the mapping.

use odbc_api::DataType;

use super::diag::from_odbc;
use super::sqlite_values::{real_spelled, real_text};
use crate::error::{DbError, ErrorClass};
use crate::proto::rows::EncodedRows;
use crate::proto::value::{Date, Time, Timestamp};

/// The database behind a connection, for the readings that depend on its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite through sqliteodbc: dynamic typing, every value held as text by the driver.
    Sqlite,
    /// PostgreSQL through psqlodbc.
    Postgres,
    /// Any other database.
    Other,
}

impl Dialect {
    /// The dialect of a DBMS by the name its driver reports (`SQL_DBMS_NAME`).
    pub(crate) fn of(dbms_name: &str) -> Self {
        if dbms_name.eq_ignore_ascii_case("sqlite") {
            Self::Sqlite
        } else if dbms_name.eq_ignore_ascii_case("postgresql") {
            Self::Postgres
        } else {
            Self::Other
        }
    }
}

/// How a column's values are read and represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Int,
    Float,
    /// Exact numerics, as the driver's text.
    Decimal,
    Text,
    Bytes,
    /// Dates, times and timestamps, as the driver's text: typed when it reads back
    /// identically, else the text (see [`temporal_cell`]).
    Date,
    Time,
    Timestamp,
    /// PostgreSQL `uuid`: psqlodbc upper-cases it, PostgreSQL writes it in lower case.
    Uuid,
    /// A SQLite cell, classified by [`sqlite_cell`].
    Sqlite(SqliteColumn),
}

/// What a SQLite column's declared type says about its cells (its type affinity, roughly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqliteColumn {
    /// Text affinity (a declared type with `CHAR`, `CLOB` or `TEXT`): numbers were stored as
    /// text.
    Text,
    /// Declared `BIT`/`BOOLEAN`.
    Bool,
    /// Declared `DATE`, `TIME`, `TIMESTAMP`.
    Date,
    Time,
    Timestamp,
    /// Numeric, integer or real affinity, or none (`BLOB`, no declared type, expressions).
    Other,
}

/// What a SQLite column's declared type (`declared`, as its driver reports it) says about its
/// cells: SQLite's own affinity rules (sqlite.org/datatype3.html, 3.1) decide text affinity;
/// sqliteodbc's SQL type (`dt`, derived from the same name) tells dates, times and booleans.
pub(crate) fn sqlite_column(declared: &str, dt: DataType) -> SqliteColumn {
    let name = declared.to_ascii_uppercase();
    let text_affinity =
        !name.contains("INT") && ["CHAR", "CLOB", "TEXT"].iter().any(|t| name.contains(t));
    if text_affinity {
        return SqliteColumn::Text;
    }
    match dt {
        DataType::Bit => SqliteColumn::Bool,
        DataType::Date => SqliteColumn::Date,
        DataType::Time { .. } => SqliteColumn::Time,
        DataType::Timestamp { .. } => SqliteColumn::Timestamp,
        _ => SqliteColumn::Other,
    }
}

/// Text, or the bytes when they are not UTF-8 (never replaced characters).
fn push_text_or_bytes(bytes: &[u8], out: &mut EncodedRows) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_text(s),
        Err(_) => out.push_bytes(bytes),
    }
}

/// Encodes a value read as text (or bytes, for [`Kind::Bytes`]) for its column's kind.
pub(crate) fn encode_var(
    kind: Kind,
    dialect: Dialect,
    value: &[u8],
    out: &mut EncodedRows,
) -> Result<(), CellError> {
    match kind {
        Kind::Bytes => out.push_bytes(value),
        Kind::Text => push_text_or_bytes(value, out),
        Kind::Decimal => match std::str::from_utf8(value) {
            Ok(s) => out.push_decimal(s.trim()),
            Err(_) => out.push_bytes(value),
        },
        Kind::Uuid => push_text_or_bytes(&value.to_ascii_lowercase(), out),
        Kind::Date | Kind::Time | Kind::Timestamp => temporal_cell(kind, dialect, value, out)?,
        Kind::Sqlite(column) => sqlite_cell(column, None, value, out)?,
        // Read into fixed-size buffers, never as text.
        Kind::Bool | Kind::Int | Kind::Float => return Err(CellError::Mismatch),
    }
    Ok(())
}

/// A date, time or timestamp from the driver's text: typed when the text is exactly what the
/// wire type displays (`2024-02-29`, `12:34:56.789012`, `0044-03-15 12:00:00 BC`), else the
/// text itself (a driver's other spellings, `infinity`, time zones), never a different value.
///
/// psqlodbc is the exception: for a value it cannot convert it makes up a date (`0000-00-00`
/// for `infinity`, `1000-00-00` for the year 10000, `9999-01-01 00:00:00 BC` for a
/// timestamp's `-infinity`); those are refused (see [`psqlodbc_stand_in`]).
fn temporal_cell(
    kind: Kind,
    dialect: Dialect,
    value: &[u8],
    out: &mut EncodedRows,
) -> Result<(), CellError> {
    let Ok(text) = std::str::from_utf8(value) else {
        out.push_bytes(value);
        return Ok(());
    };
    if dialect == Dialect::Postgres && psqlodbc_stand_in(text) {
        return Err(CellError::MadeUpDate(text.to_owned()));
    }
    let typed = match kind {
        Kind::Date => Date::parse(text).map(|d| out.push_date(d)),
        Kind::Time => Time::parse(text).map(|t| out.push_time(t)),
        _ => Timestamp::parse(text).map(|t| out.push_timestamp(t)),
    };
    if typed.is_none() {
        out.push_text(text);
    }
    Ok(())
}

/// The days (counted from 1970-01-01) on which psqlodbc may have made up a timestamp: it puts
/// the statement's local date, at midnight, in the struct of a year after 9999. The statement's
/// clock is read (`time`, then `localtime_r`, in this process and time zone) at the first
/// conversion of each fetch call, so its date is this process's local date at some moment of
/// that call: [`Self::local_today`] just before and just after the call bound it, whatever
/// the zone's offset and even when the wall clock is stepped meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecentDays {
    first: i64,
    last: i64,
}

impl RecentDays {
    /// This process's local date now, as psqlodbc's statement clock would read it; when the
    /// C library cannot tell it, UTC's date and the days on either side (local dates lie
    /// within 25 hours of UTC's).
    pub(crate) fn local_today() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        match local_day(now) {
            Some(day) => Self {
                first: day,
                last: day,
            },
            None => {
                let day = now.div_euclid(86_400);
                Self {
                    first: day - 2,
                    last: day + 2,
                }
            }
        }
    }

    /// The days from `self`'s first to `later`'s last, or the other way round if the clock
    /// went back between them: every day the clock may have shown.
    pub(crate) fn through(self, later: Self) -> Self {
        Self {
            first: self.first.min(later.first),
            last: self.last.max(later.last),
        }
    }

    fn contains(self, day: i64) -> bool {
        (self.first..=self.last).contains(&day)
    }
}

/// The local date (days since 1970-01-01) at `secs` seconds after the epoch, as the C
/// library's `localtime_r` has it (psqlodbc's way); `None` when it fails.
fn local_day(secs: i64) -> Option<i64> {
    let t = nix::libc::time_t::try_from(secs).ok()?;
    // SAFETY: `tm` is a plain C struct for which all zeros is a valid value; `localtime_r`
    // reads `t` and writes only `tm`, both alive for the call, and is thread-safe.
    #[allow(unsafe_code)]
    let tm = unsafe {
        let mut tm: nix::libc::tm = std::mem::zeroed();
        if nix::libc::localtime_r(&t, &mut tm).is_null() {
            return None;
        }
        tm
    };
    let date = Date {
        year: i16::try_from(tm.tm_year.checked_add(1900)?).ok()?,
        month: u8::try_from(tm.tm_mon.checked_add(1)?).ok()?,
        day: u8::try_from(tm.tm_mday).ok()?,
    };
    date.is_valid().then(|| date.days_since_epoch())
}

/// A PostgreSQL timestamp from psqlodbc's `SQL_TIMESTAMP_STRUCT`, or `None` when the struct
/// may not be the value and the cell must be read again as text (see [`temporal_cell`]).
///
/// psqlodbc fills the struct from the same parse as the text it would print for
/// `SQL_C_CHAR` (BC years are negative: `-44` is 44 BC), except where it made a value up: its
/// `-infinity` is year -9999 (before PostgreSQL's first year), and a year after 9999 becomes
/// the statement's date at midnight (`recent`) where the text says `0000-00-00`. Those, and
/// anything that is not a real timestamp with microseconds, are read again; a midnight on a
/// recent day is too, as it cannot be told from a made-up one. (`infinity` is `9999-12-31
/// 23:59:59` in both: documented.)
pub(crate) fn pg_timestamp(ts: &odbc_api::sys::Timestamp, recent: RecentDays) -> Option<Timestamp> {
    let year = match ts.year {
        y if (1..=9999).contains(&y) => y,
        // 1 BC is year 0 in astronomical numbering; PostgreSQL's first year is 4714 BC.
        y if (-4714..=-1).contains(&y) => y + 1,
        _ => return None,
    };
    let date = Date {
        year,
        month: u8::try_from(ts.month).ok()?,
        day: u8::try_from(ts.day).ok()?,
    };
    let exact = date.is_valid()
        && ts.hour <= 23
        && ts.minute <= 59
        && ts.second <= 59
        && ts.fraction < 1_000_000_000
        && ts.fraction.is_multiple_of(1_000);
    if !exact {
        return None;
    }
    let midnight = ts.hour == 0 && ts.minute == 0 && ts.second == 0 && ts.fraction == 0;
    if midnight && recent.contains(date.days_since_epoch()) {
        return None;
    }
    Some(Timestamp {
        date,
        time: Time {
            hour: u8::try_from(ts.hour).ok()?,
            minute: u8::try_from(ts.minute).ok()?,
            second: u8::try_from(ts.second).ok()?,
            nanos: ts.fraction,
        },
    })
}

/// psqlodbc's spelling of a date it could not convert: a date-shaped text with a month or day
/// of `00` (`infinity`, years after 9999), or its `-infinity` timestamp `9999-01-01 00:00:00
/// BC` (PostgreSQL holds no year before 4714 BC, so no real value reads like that).
fn psqlodbc_stand_in(text: &str) -> bool {
    let b = text.as_bytes();
    let zero_field = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (&b[5..7] == b"00" || &b[8..10] == b"00");
    zero_field || text.starts_with("9999-01-01 00:00:00") && text.ends_with(" BC")
}

/// One SQLite cell from the text sqliteodbc holds for it.
///
/// sqliteodbc keeps every value as text: integers in decimal, reals as odbcd's
/// [`sqlite_values`](super::sqlite_values) writes them (every digit, always with `.` or an
/// exponent), blobs as the literal `X'00FF'`, text as itself. The storage class follows:
/// - `X'..'` (an even number of hex digits) is the blob;
/// - in a column with text affinity (`TEXT`, `VARCHAR`, ...), anything else is text (SQLite
///   stored numbers given to such a column as text);
/// - in a `DATE`/`TIME`/`TIMESTAMP` column, a text that reads back identically is that type;
/// - otherwise a canonical integer is an integer (`0`/`1` in a `BOOLEAN` column a boolean), a
///   number with `.` or an exponent a real, and anything else text.
///
/// In columns with numeric affinity this is exact, since SQLite stores number-like text given
/// to them as numbers. In columns without affinity (declared `BLOB`, untyped, expressions) a
/// text spelled as a number is read as that number: the README's type table says so.
///
/// `index` is the cell's column index in SQLite's result when known: a real this thread's
/// sqliteodbc spelled there a moment ago is then taken without reading its text again.
pub(crate) fn sqlite_cell(
    column: SqliteColumn,
    index: Option<usize>,
    value: &[u8],
    out: &mut EncodedRows,
) -> Result<(), CellError> {
    if let Some(blob) = blob_literal(value) {
        if blob.len() > MAX_VALUE_BYTES {
            return Err(CellError::TooLong);
        }
        out.push_bytes(&blob);
        return Ok(());
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(CellError::TooLong);
    }
    let Ok(text) = std::str::from_utf8(value) else {
        out.push_bytes(value);
        return Ok(());
    };
    if column == SqliteColumn::Text {
        out.push_text(text);
        return Ok(());
    }
    let typed = match column {
        SqliteColumn::Date => Date::parse(text).map(|d| out.push_date(d)),
        SqliteColumn::Time => Time::parse(text).map(|t| out.push_time(t)),
        SqliteColumn::Timestamp => Timestamp::parse(text).map(|t| out.push_timestamp(t)),
        _ => None,
    };
    if typed.is_some() {
        return Ok(());
    }
    if let Some(i) = canonical_integer(text) {
        match (column, i) {
            (SqliteColumn::Bool, 0 | 1) => out.push_bool(i == 1),
            _ => out.push_int(i),
        }
    } else if let Some(f) = index
        .and_then(|c| real_spelled(c, value))
        .or_else(|| real_number(text).filter(|f| real_text(*f) == text))
    {
        // Only the spelling odbcd gives a REAL: a text such as `2.50` or `1e999` stays text.
        out.push_float(f);
    } else {
        out.push_text(text);
    }
    Ok(())
}

/// The bytes of a blob literal as sqliteodbc writes one (`X'00FF'`: upper-case `X` and hex
/// digits), if `text` is one.
fn blob_literal(text: &[u8]) -> Option<Vec<u8>> {
    let hex = text.strip_prefix(b"X'")?.strip_suffix(b"'")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'F' => Some(u32::from(c - b'A' + 10)),
        _ => None,
    };
    hex.chunks_exact(2)
        .map(|p| Some((digit(p[0])? * 16 + digit(p[1])?) as u8))
        .collect()
}

/// `text` as an integer when it is the only way SQLite writes that integer (no sign `+`,
/// no leading zeros, no spaces) and fits 64 bits.
fn canonical_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    canonical.then(|| text.parse().ok()).flatten()
}

/// `text` as a real when it is a decimal number with a `.` or an exponent (or SQLite's `Inf`).
fn real_number(text: &str) -> Option<f64> {
    match text {
        "Inf" => return Some(f64::INFINITY),
        "-Inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let body = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits(int)
        && frac.is_none_or(digits)
        && exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
        && (frac.is_some() || exponent.is_some());
    well_formed.then(|| text.parse().ok()).flatten()
}

/// The longest value read in pieces: it must fit in one answer frame.
pub const MAX_VALUE_BYTES: usize = crate::proto::MAX_FRAME_LEN - 1024 * 1024;

/// Why reading a cell failed.
pub(crate) enum CellError {
    Odbc(odbc_api::Error),
    /// The value is longer than [`MAX_VALUE_BYTES`].
    TooLong,
    /// psqlodbc's stand-in for a date it cannot convert.
    MadeUpDate(String),
    /// Read again after a bulk fetch, the value was gone.
    Vanished,
    /// The bulk buffer is not of the column's type (never: `describe` chose both).
    Mismatch,
    /// A value filled its bulk buffer and the driver cannot position on its row to read it
    /// whole.
    CannotReread(odbc_api::Error),
}

impl From<odbc_api::Error> for CellError {
    fn from(e: odbc_api::Error) -> Self {
        Self::Odbc(e)
    }
}

impl CellError {
    /// The error for the client, naming column `i` (0-based).
    pub(crate) fn at_column(self, i: usize, name: &str) -> DbError {
        let at = format!("column {} ({name:?})", i + 1);
        match self {
            Self::Odbc(e) => {
                let mut err = from_odbc(&e);
                err.message = format!("{at}: {}", err.message);
                err
            }
            Self::TooLong => DbError::with_state(
                ErrorClass::DataError,
                "22001",
                format!(
                    "{at}: the value is longer than {MAX_VALUE_BYTES} bytes, the most one answer carries"
                ),
            ),
            Self::MadeUpDate(text) => DbError::with_state(
                ErrorClass::DataError,
                "22008",
                format!(
                    "{at}: the driver gave {text:?}, its stand-in for a value it cannot convert (psqlodbc does this for infinity and for years after 9999); select the column as text (e.g. {}::text) to read it",
                    name
                ),
            ),
            Self::CannotReread(e) => DbError::with_state(
                ErrorClass::DataError,
                "22001",
                format!(
                    "{at}: the value is longer than the size the driver declared for the column, and the driver cannot read it again whole ({}); refusing to truncate it",
                    from_odbc(&e).message
                ),
            ),
            Self::Mismatch => DbError::with_state(
                ErrorClass::InternalError,
                "HY000",
                format!("{at}: odbcd bound a buffer of another type than it reads"),
            ),
            Self::Vanished => DbError::with_state(
                ErrorClass::InterfaceError,
                "HY000",
                format!("{at}: the driver returned NULL when the value was read again"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        blob_literal, canonical_integer, local_day, pg_timestamp, psqlodbc_stand_in, real_number,
        RecentDays,
    };

    fn on(day: i64) -> RecentDays {
        RecentDays {
            first: day,
            last: day,
        }
    }

    #[test]
    fn the_days_a_statement_clock_may_show_span_both_readings_either_way() {
        assert_eq!(
            on(20_787).through(on(20_788)),
            RecentDays {
                first: 20_787,
                last: 20_788
            }
        );
        // A clock stepped back across midnight during the fetch call.
        let stepped_back = on(20_788).through(on(20_787));
        assert!(stepped_back.contains(20_787) && stepped_back.contains(20_788));
        assert!(!stepped_back.contains(20_786) && !stepped_back.contains(20_789));
        // Some local date exists for any time this process runs at, and it is near UTC's.
        let now = 20_788 * 86_400 + 43_200;
        let local = local_day(now).expect("localtime_r");
        assert!((20_787..=20_789).contains(&local), "{local}");
        let today = RecentDays::local_today();
        assert!(today.last - today.first <= 4, "{today:?}");
    }

    #[test]
    fn psqlodbc_timestamp_structs_are_taken_only_when_they_cannot_be_made_up() {
        // Fetched across midnight: the clock showed 2026-11-30 (day 20,787) then 2026-12-01.
        let recent = on(20_787).through(on(20_788));
        let ts = |year, month, day, hour, minute, second, fraction| odbc_api::sys::Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            fraction,
        };
        let shown = |t| pg_timestamp(&t, recent).map(|t| t.to_string());
        // Taken as they are, midnights on other days than the clock's among them.
        for (taken, text) in [
            (
                ts(2026, 11, 30, 12, 34, 56, 789_012_000),
                "2026-11-30 12:34:56.789012",
            ),
            (ts(-44, 3, 15, 12, 0, 0, 0), "0044-03-15 12:00:00 BC"),
            (ts(-4713, 1, 1, 0, 0, 0, 0), "4713-01-01 00:00:00 BC"),
            (ts(-4714, 11, 24, 0, 0, 0, 0), "4714-11-24 00:00:00 BC"),
            (ts(-1, 12, 31, 0, 0, 0, 0), "0001-12-31 00:00:00 BC"),
            (ts(9999, 12, 31, 23, 59, 59, 0), "9999-12-31 23:59:59"),
            (ts(2026, 11, 29, 0, 0, 0, 0), "2026-11-29 00:00:00"),
            (ts(2026, 12, 2, 0, 0, 0, 0), "2026-12-02 00:00:00"),
        ] {
            assert_eq!(shown(taken).as_deref(), Some(text));
        }
        // A made-up -infinity, midnights on the days the clock showed (a year after 9999
        // reads so), impossible fields, and more than microseconds: read as text.
        for doubtful in [
            ts(-9999, 1, 1, 0, 0, 0, 0),
            ts(0, 1, 1, 0, 0, 0, 0),
            ts(-4715, 12, 31, 0, 0, 0, 0),
            ts(2026, 11, 30, 0, 0, 0, 0),
            ts(2026, 12, 1, 0, 0, 0, 0),
            ts(2026, 2, 29, 1, 0, 0, 0),
            ts(2026, 13, 1, 1, 0, 0, 0),
            ts(2026, 1, 1, 24, 0, 0, 0),
            ts(2026, 1, 1, 1, 60, 0, 0),
            ts(2026, 1, 1, 1, 0, 60, 0),
            ts(2026, 1, 1, 1, 0, 0, 1_000_000_000),
            ts(2026, 1, 1, 1, 0, 0, 1),
        ] {
            assert_eq!(pg_timestamp(&doubtful, recent), None, "{doubtful:?}");
        }
    }

    #[test]
    fn sqlite_spellings() {
        assert_eq!(blob_literal(b"X'00FF10'"), Some(vec![0, 255, 16]));
        assert_eq!(blob_literal(b"X''"), Some(vec![]));
        assert_eq!(blob_literal(b"X'0'"), None);
        assert_eq!(blob_literal(b"X'GG'"), None);
        assert_eq!(blob_literal(b"X'ff'"), None);
        assert_eq!(blob_literal(b"x'FF'"), None);
        assert_eq!(blob_literal(b"'X'00''"), None);
        assert_eq!(canonical_integer("-42"), Some(-42));
        assert_eq!(canonical_integer("0"), Some(0));
        for t in [
            "007",
            "+1",
            "-0",
            "",
            "-",
            "1.0",
            " 1",
            "99999999999999999999",
        ] {
            assert_eq!(canonical_integer(t), None, "{t}");
        }
        assert_eq!(real_number("0.30000000000000004"), Some(0.1 + 0.2));
        assert_eq!(
            real_number("1.2345678901234568e17"),
            Some(123_456_789_012_345_678.0)
        );
        assert_eq!(real_number("1e300"), Some(1e300));
        assert_eq!(real_number("-Inf"), Some(f64::NEG_INFINITY));
        for t in ["42", "NaN", "inf", "1.", ".5", "1e", "1,5", "0x10", "1.5 "] {
            assert_eq!(real_number(t), None, "{t}");
        }
    }

    #[test]
    fn psqlodbc_stand_ins_are_recognised() {
        assert!(psqlodbc_stand_in("0000-00-00"));
        assert!(psqlodbc_stand_in("1000-00-00"));
        assert!(psqlodbc_stand_in("1000-00-00 00:00:00"));
        assert!(!psqlodbc_stand_in("2024-02-29"));
        assert!(!psqlodbc_stand_in("infinity"));
        assert!(psqlodbc_stand_in("9999-01-01 00:00:00 BC"));
        assert!(!psqlodbc_stand_in("0044-03-15 12:00:00 BC"));
    }
}
