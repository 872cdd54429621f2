//! SQL values, parameters and column descriptions as they travel on the wire.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// Year, astronomical numbering: 2026 is AD 2026, 0 is 1 BC, -43 is 44 BC (the way ISO 8601
    /// counts). Displayed the way PostgreSQL does: `0044-03-15 BC`.
    pub year: i16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
}

/// A time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Time {
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=59 (60 for a leap second).
    pub second: u8,
    /// Fraction of a second in nanoseconds.
    pub nanos: u32,
}

/// A date and a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp {
    /// The date.
    pub date: Date,
    /// The time.
    pub time: Time,
}

/// One SQL value: a parameter or a result cell. Variants are append-only (wire format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean (`BIT`).
    Bool(bool),
    /// Any integer type.
    Int(i64),
    /// Any floating-point type.
    Float(f64),
    /// An exact `NUMERIC`/`DECIMAL`, as its decimal text (e.g. `"-12.50"`): never rounded.
    Decimal(String),
    /// Character data.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// A date.
    Date(Date),
    /// A time of day.
    Time(Time),
    /// A timestamp.
    Timestamp(Timestamp),
}

impl Value {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

impl Date {
    /// True when the year is before AD 1 (displayed with a ` BC` suffix).
    pub fn is_bc(&self) -> bool {
        self.year <= 0
    }

    /// The date without its era: the year as written before `BC`.
    fn write_ymd(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let year = if self.is_bc() {
            1 - i32::from(self.year)
        } else {
            i32::from(self.year)
        };
        write!(f, "{year:04}-{:02}-{:02}", self.month, self.day)
    }

    /// Parses the form [`Display`](fmt::Display) writes (`2024-02-29`, `0044-03-15 BC`,
    /// `10000-01-01`), for a valid date only; `None` for anything else, including other
    /// spellings of the same date.
    pub fn parse(text: &str) -> Option<Self> {
        let (ymd, bc) = match text.strip_suffix(" BC") {
            Some(ymd) => (ymd, true),
            None => (text, false),
        };
        parse_ymd(ymd, bc)
    }

    /// Days from 1970-01-01 to this date (negative before it), in the proleptic Gregorian
    /// calendar.
    pub fn days_since_epoch(&self) -> i64 {
        // Howard Hinnant's days_from_civil: years start in March, so February's leap day
        // ends one.
        let month = i64::from(self.month);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// True for a real calendar date (month 1-12, a day the month has).
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(i32::from(self.year), self.month)
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD` into a valid date, in exactly the form [`Date`]'s `Display` writes (four year
/// digits, or more without a leading zero); `bc` counts the year before AD 1.
fn parse_ymd(ymd: &str, bc: bool) -> Option<Date> {
    let mut parts = ymd.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let year_digits = y.len() == 4 || (y.len() > 4 && !y.starts_with('0'));
    if !year_digits || !y.bytes().all(|b| b.is_ascii_digit()) || !digits(m, 2) || !digits(d, 2) {
        return None;
    }
    let written: i32 = y.parse().ok()?;
    let year = if bc {
        if written == 0 {
            return None;
        }
        i16::try_from(1 - written).ok()?
    } else {
        i16::try_from(written).ok()?
    };
    let date = Date {
        year,
        month: m.parse().ok()?,
        day: d.parse().ok()?,
    };
    date.is_valid().then_some(date)
}

impl Time {
    /// Parses the form [`Display`](fmt::Display) writes (`23:59:58`, `12:34:56.789012`,
    /// fractions without trailing zeros, `24:00:00`), for a valid time only; `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        let (hms, frac) = match text.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (text, None),
        };
        let mut parts = hms.splitn(3, ':');
        let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
        let two = |s: &str| -> Option<u8> {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let nanos = match frac {
            None => 0,
            // Display writes no trailing zeros.
            Some(f)
                if (1..=9).contains(&f.len())
                    && f.bytes().all(|b| b.is_ascii_digit())
                    && !f.ends_with('0') =>
            {
                let digits: u32 = f.parse().ok()?;
                digits * 10u32.pow(9 - f.len() as u32)
            }
            Some(_) => return None,
        };
        let time = Self {
            hour: two(h)?,
            minute: two(m)?,
            second: two(s)?,
            nanos,
        };
        let valid = (time.hour < 24 && time.minute < 60 && time.second < 60)
            || (time.hour == 24 && time.minute == 0 && time.second == 0 && nanos == 0);
        valid.then_some(time)
    }
}

impl Timestamp {
    /// Parses the form [`Display`](fmt::Display) writes (`1999-12-31 23:59:59.123`,
    /// `0044-03-15 12:00:00 BC`), for a valid timestamp only; `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        let (body, bc) = match text.strip_suffix(" BC") {
            Some(body) => (body, true),
            None => (text, false),
        };
        let (ymd, hms) = body.split_once(' ')?;
        Some(Self {
            date: parse_ymd(ymd, bc)?,
            time: Time::parse(hms)?,
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_ymd(f)?;
        if self.is_bc() {
            f.write_str(" BC")?;
        }
        Ok(())
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.hour, self.minute, self.second)?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.date.write_ymd(f)?;
        write!(f, " {}", self.time)?;
        if self.date.is_bc() {
            f.write_str(" BC")?;
        }
        Ok(())
    }
}

/// Text form of a value as a shell prints it; NULL prints as the empty string.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => Ok(()),
            Self::Bool(b) => write!(f, "{}", u8::from(*b)),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write_float(f, *x),
            Self::Decimal(s) | Self::Text(s) => f.write_str(s),
            Self::Bytes(b) => {
                f.write_str("\\x")?;
                b.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
            Self::Date(d) => write!(f, "{d}"),
            Self::Time(t) => write!(f, "{t}"),
            Self::Timestamp(t) => write!(f, "{t}"),
        }
    }
}

/// A float the way PostgreSQL writes one: the shortest text that reads back as the same
/// double (`0.30000000000000004`, `1e300`), no `.0` on whole numbers, `NaN`, `Infinity`.
fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        return f.write_str("NaN");
    }
    if x.is_infinite() {
        return f.write_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let shortest = format!("{x:?}");
    f.write_str(shortest.strip_suffix(".0").unwrap_or(&shortest))
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Self::Int(i64::from(v)) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

/// Integers wider than `Int` become `Int` when they fit and an exact `Decimal` when not.
macro_rules! from_wide_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                i64::try_from(v).map_or_else(|_| Self::Decimal(v.to_string()), Self::Int)
            }
        }
    )*};
}
from_wide_int!(u64, i128, u128, isize, usize);

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}

impl From<&Value> for Value {
    fn from(v: &Value) -> Self {
        v.clone()
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Self::Float(f64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Self::Bytes(v.to_vec())
    }
}
impl From<Date> for Value {
    fn from(v: Date) -> Self {
        Self::Date(v)
    }
}
impl From<Time> for Value {
    fn from(v: Time) -> Self {
        Self::Time(v)
    }
}
impl From<Timestamp> for Value {
    fn from(v: Timestamp) -> Self {
        Self::Timestamp(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// One column of a result set: the seven items of DB-API's `cursor.description`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDesc {
    /// Column name.
    pub name: String,
    /// The ODBC SQL type code (`SQL_INTEGER` = 4, `SQL_VARCHAR` = 12, ...).
    pub type_code: i16,
    /// Maximum characters needed to display a value, when the driver knows.
    pub display_size: Option<i64>,
    /// Size in bytes of a value (octet length), when the driver knows.
    pub internal_size: Option<i64>,
    /// Precision (column size), when it applies.
    pub precision: Option<i64>,
    /// Scale (decimal digits), when it applies.
    pub scale: Option<i64>,
    /// Whether NULLs are allowed; `None` when the driver does not know.
    pub null_ok: Option<bool>,
}

/// An ODBC SQL data type, from a [`ColumnDesc::type_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// `SQL_CHAR` (1).
    Char,
    /// `SQL_VARCHAR` (12).
    Varchar,
    /// `SQL_LONGVARCHAR` (-1).
    LongVarchar,
    /// `SQL_WCHAR` (-8).
    WChar,
    /// `SQL_WVARCHAR` (-9).
    WVarchar,
    /// `SQL_WLONGVARCHAR` (-10).
    WLongVarchar,
    /// `SQL_DECIMAL` (3).
    Decimal,
    /// `SQL_NUMERIC` (2).
    Numeric,
    /// `SQL_SMALLINT` (5).
    SmallInt,
    /// `SQL_INTEGER` (4).
    Integer,
    /// `SQL_REAL` (7).
    Real,
    /// `SQL_FLOAT` (6).
    Float,
    /// `SQL_DOUBLE` (8).
    Double,
    /// `SQL_BIT` (-7).
    Bit,
    /// `SQL_TINYINT` (-6).
    TinyInt,
    /// `SQL_BIGINT` (-5).
    BigInt,
    /// `SQL_BINARY` (-2).
    Binary,
    /// `SQL_VARBINARY` (-3).
    VarBinary,
    /// `SQL_LONGVARBINARY` (-4).
    LongVarBinary,
    /// `SQL_TYPE_DATE` (91, or ODBC 2's 9).
    Date,
    /// `SQL_TYPE_TIME` (92, or ODBC 2's 10).
    Time,
    /// `SQL_TYPE_TIMESTAMP` (93, or ODBC 2's 11).
    Timestamp,
    /// `SQL_GUID` (-11).
    Guid,
    /// Any other code (driver-specific types, intervals).
    Other(i16),
}

impl SqlType {
    /// The type of ODBC type code `code`.
    pub fn from_code(code: i16) -> Self {
        match code {
            1 => Self::Char,
            12 => Self::Varchar,
            -1 => Self::LongVarchar,
            -8 => Self::WChar,
            -9 => Self::WVarchar,
            -10 => Self::WLongVarchar,
            3 => Self::Decimal,
            2 => Self::Numeric,
            5 => Self::SmallInt,
            4 => Self::Integer,
            7 => Self::Real,
            6 => Self::Float,
            8 => Self::Double,
            -7 => Self::Bit,
            -6 => Self::TinyInt,
            -5 => Self::BigInt,
            -2 => Self::Binary,
            -3 => Self::VarBinary,
            -4 => Self::LongVarBinary,
            91 | 9 => Self::Date,
            92 | 10 => Self::Time,
            93 | 11 => Self::Timestamp,
            -11 => Self::Guid,
            other => Self::Other(other),
        }
    }

    /// True for the character types.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Self::Char
                | Self::Varchar
                | Self::LongVarchar
                | Self::WChar
                | Self::WVarchar
                | Self::WLongVarchar
        )
    }
}

impl ColumnDesc {
    /// The column's SQL type as an enum.
    pub fn sql_type(&self) -> SqlType {
        SqlType::from_code(self.type_code)
    }
}

#[cfg(test)]
mod tests {
    use super::{Date, Time, Timestamp, Value};
    use proptest::prelude::*;

    #[test]
    fn floats_display_like_postgresql() {
        let shown = |x: f64| Value::Float(x).to_string();
        assert_eq!(shown(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(shown(100.0), "100");
        assert_eq!(shown(-0.0), "-0");
        assert_eq!(shown(1e300), "1e300");
        assert_eq!(shown(f64::NAN), "NaN");
        assert_eq!(shown(f64::NEG_INFINITY), "-Infinity");
        for x in [0.1 + 0.2, 1e300, 5e-324, 123_456_789_012_345_678.0, -2.5] {
            assert_eq!(shown(x).parse::<f64>().ok(), Some(x));
        }
    }

    #[test]
    fn days_since_epoch_count_the_proleptic_calendar() {
        let days = |year, month, day| Date { year, month, day }.days_since_epoch();
        assert_eq!(days(1970, 1, 1), 0);
        assert_eq!(days(1969, 12, 31), -1);
        assert_eq!(days(2000, 3, 1), 11_017);
        assert_eq!(days(2026, 12, 1), 20_788);
        // PostgreSQL's first day, 4714-11-24 BC (year -4713), is Julian day 0, 2,440,588
        // days before 1970.
        assert_eq!(days(-4713, 11, 24), -2_440_588);
        // Consecutive days are one apart across month, leap-year and era ends.
        let mut previous = days(-4713, 1, 1);
        for year in [-4713i16, -1, 0, 1, 1900, 2000, 2024, 9999] {
            for month in 1..=12u8 {
                let d = Date {
                    year,
                    month,
                    day: 1,
                };
                for day in 1..=31u8 {
                    let date = Date { day, ..d };
                    if date.is_valid() && !(year == -4713 && month == 1 && day == 1) {
                        let n = date.days_since_epoch();
                        if day > 1 || month > 1 {
                            assert_eq!(n, previous + 1, "{date}");
                        }
                        previous = n;
                    }
                }
            }
        }
    }

    #[test]
    fn dates_parse_only_in_their_display_form() {
        for text in [
            "2024-02-29",
            "0001-01-01",
            "0044-03-15 BC",
            "0001-12-31 BC",
            "10000-01-01",
        ] {
            let d = Date::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(d.to_string(), text);
        }
        assert_eq!(Date::parse("0044-03-15 BC").map(|d| d.year), Some(-43));
        assert_eq!(Date::parse("0001-01-01 BC").map(|d| d.year), Some(0));
        for text in [
            "2023-02-29",
            "0000-00-00",
            "1000-00-00",
            "2024-13-01",
            "2024-1-01",
            "infinity",
            "0000-01-01 BC",
            "02024-01-01",
            "2024-01-01 ",
            "2024-01-01T",
            "",
        ] {
            assert_eq!(Date::parse(text), None, "{text}");
        }
    }

    #[test]
    fn times_keep_their_fractions() {
        for text in [
            "00:00:00",
            "12:34:56.789012",
            "23:59:59.5",
            "24:00:00",
            "01:02:03.000000001",
        ] {
            let t = Time::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(t.to_string(), text);
        }
        assert_eq!(
            Time::parse("12:34:56.789012").map(|t| t.nanos),
            Some(789_012_000)
        );
        for text in [
            "12:00:00.500",
            "12:00",
            "24:00:01",
            "12:60:00",
            "12:00:00+02",
            "12:00:00.",
            "1:00:00",
        ] {
            assert_eq!(Time::parse(text), None, "{text}");
        }
    }

    proptest! {
        /// Parsing accepts exactly what Display writes: no text parses to a value that
        /// displays differently (the cells of a result rely on it to stay exact).
        #[test]
        fn parse_accepts_only_the_display_form(
            year in -4712i16..=32767, month in 0u8..=13, day in 0u8..=32,
            hour in 0u8..=25, minute in 0u8..=60, second in 0u8..=60,
            nanos in prop_oneof![0u32..=999_999_999, (0u32..=999_999).prop_map(|n| n * 1000)],
            text in "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}( [0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,10})?)?( BC)?",
        ) {
            let date = Date { year, month, day };
            let time = Time { hour, minute, second, nanos };
            if let Some(d) = Date::parse(&date.to_string()) {
                prop_assert_eq!(d, date);
            } else {
                prop_assert!(!date.is_valid());
            }
            if let Some(t) = Time::parse(&time.to_string()) {
                prop_assert_eq!(t, time);
            }
            let ts = Timestamp { date, time };
            if let Some(parsed) = Timestamp::parse(&ts.to_string()) {
                prop_assert_eq!(parsed, ts);
            }
            if let Some(d) = Date::parse(&text) {
                prop_assert_eq!(d.to_string(), text.clone());
            }
            if let Some(t) = Timestamp::parse(&text) {
                prop_assert_eq!(t.to_string(), text.clone());
            }
        }
    }

    #[test]
    fn timestamps_round_trip_their_text() {
        for text in [
            "1999-12-31 23:59:59.123456",
            "0044-03-15 12:00:00 BC",
            "9999-01-01 00:00:00 BC",
            "2024-01-01 10:00:00.5",
        ] {
            let ts = Timestamp::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(ts.to_string(), text);
        }
        for text in [
            "2003-03-03 03:03",
            "2003-03-03T03:03:03",
            "2003-03-03 03:03:03+02:00",
            "infinity",
        ] {
            assert_eq!(Timestamp::parse(text), None, "{text}");
        }
    }
}
