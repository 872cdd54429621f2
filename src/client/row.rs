//! Typed access to result rows ([`Row::get`], [`Row::try_get`], [`FromValue`]) and to
//! parameters ([`params!`](crate::params), `From` conversions into [`Value`]).
//!
//! ```
//! use odbcd::client::{FromValue, Value};
//! let n: Option<i32> = FromValue::from_value(&Value::Int(7)).unwrap();
//! assert_eq!(n, Some(7));
//! assert!(i8::from_value(&Value::Int(300)).is_err()); // out of range: an error, never wrapped
//! let params = odbcd::params![1, "pear", None::<i64>, 2.5];
//! assert_eq!(params[2], Value::Null);
//! ```

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::Error;
use crate::error::ErrorClass;
use crate::proto::value::{Date, Time, Timestamp, Value};

/// One result row: its values in column order, and the result's column names for access by
/// name. It dereferences to `[Value]` (`row[0]`, `row.len()`, `row.iter()`) and compares equal
/// to a `Vec<Value>` with the same values.
#[derive(Clone)]
pub struct Row {
    values: Vec<Value>,
    columns: Arc<[String]>,
}

impl Row {
    /// A row of `values` under `columns`.
    pub fn new(values: Vec<Value>, columns: Arc<[String]>) -> Self {
        Self { values, columns }
    }

    /// The value of a column, by index (0-based) or name, converted to `T`.
    ///
    /// ```
    /// # use odbcd::client::{Row, Value};
    /// # let row = Row::new(vec![Value::Int(1), Value::Null], vec!["id".to_owned(), "note".to_owned()].into());
    /// let id: i64 = row.get("id");
    /// let note: Option<String> = row.get(1);
    /// # assert_eq!((id, note), (1, None));
    /// ```
    ///
    /// # Panics
    /// When there is no such column or the value does not convert (a programming error, as in
    /// rust-postgres); [`Self::try_get`] returns those as errors instead.
    #[track_caller]
    pub fn get<T: FromValue>(&self, column: impl ColumnIndex) -> T {
        match self.try_get(column) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// The value of a column, by index or name, converted to `T`.
    ///
    /// # Errors
    /// `ProgrammingError` (`42S22`) for an unknown column; `DataError` for a value that does
    /// not convert (`22018`: another type or NULL into a non-`Option`; `22003`: out of range).
    pub fn try_get<T: FromValue>(&self, column: impl ColumnIndex) -> Result<T, Error> {
        let Some(i) = column.index_in(&self.columns, self.values.len()) else {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "42S22",
                format!(
                    "no column {} in a row of {} ({})",
                    column.describe(),
                    self.values.len(),
                    self.columns.join(", ")
                ),
            ));
        };
        T::from_value(&self.values[i]).map_err(|mut e| {
            e.message = format!(
                "column {} ({}): {}",
                i,
                self.columns.get(i).map_or("", String::as_str),
                e.message
            );
            e
        })
    }

    /// The result's column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values, taken out.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

impl Deref for Row {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.values
    }
}

impl AsRef<[Value]> for Row {
    fn as_ref(&self) -> &[Value] {
        &self.values
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.values.fmt(f)
    }
}

impl PartialEq for Row {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl PartialEq<Vec<Value>> for Row {
    fn eq(&self, other: &Vec<Value>) -> bool {
        &self.values == other
    }
}

impl PartialEq<Row> for Vec<Value> {
    fn eq(&self, other: &Row) -> bool {
        self == &other.values
    }
}

impl From<Row> for Vec<Value> {
    fn from(row: Row) -> Self {
        row.values
    }
}

impl IntoIterator for Row {
    type Item = Value;
    type IntoIter = std::vec::IntoIter<Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.into_iter()
    }
}

impl<'a> IntoIterator for &'a Row {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

/// What names a column: its index (`usize`, 0-based) or its name (`&str`, exact match first,
/// then ASCII case-insensitive, as databases fold unquoted names differently).
pub trait ColumnIndex {
    /// The column's index among `columns` (a row of `len` values).
    fn index_in(&self, columns: &[String], len: usize) -> Option<usize>;
    /// How to name it in an error.
    fn describe(&self) -> String;
}

impl ColumnIndex for usize {
    fn index_in(&self, _columns: &[String], len: usize) -> Option<usize> {
        (*self < len).then_some(*self)
    }
    fn describe(&self) -> String {
        format!("#{self}")
    }
}

impl ColumnIndex for &str {
    fn index_in(&self, columns: &[String], len: usize) -> Option<usize> {
        columns
            .iter()
            .position(|c| c == self)
            .or_else(|| columns.iter().position(|c| c.eq_ignore_ascii_case(self)))
            .filter(|i| *i < len)
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

impl ColumnIndex for &String {
    fn index_in(&self, columns: &[String], len: usize) -> Option<usize> {
        self.as_str().index_in(columns, len)
    }
    fn describe(&self) -> String {
        self.as_str().describe()
    }
}

/// A Rust type a [`Value`] converts to: exactly or with an error for integers, text, bytes,
/// the date and time types and `bool`; to the nearest value for the floating-point types.
///
/// Integers take `Int` within their range and whole `Decimal`s; `bool` takes `Bool` and the
/// integers 0 and 1 (SQLite has no boolean type); `f64` and `f32` take `Float`, `Int` and
/// `Decimal` (the nearest value; a finite number past their range is an error, never an
/// infinity); `String` takes `Text` and `Decimal`; `Vec<u8>` takes `Bytes`; the
/// date and time types take their own; `Value` takes anything; `Option<T>` takes NULL as `None`.
pub trait FromValue: Sized {
    /// Converts `v`.
    ///
    /// # Errors
    /// `DataError`: `22018` for another type (or NULL into a non-`Option`), `22003` for a
    /// number out of the type's range.
    fn from_value(v: &Value) -> Result<Self, Error>;
}

fn mismatch(v: &Value, wanted: &str) -> Error {
    let what = match v {
        Value::Null => "NULL (use Option<_>)".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Int(i) => format!("the integer {i}"),
        Value::Float(x) => format!("the float {x}"),
        Value::Decimal(d) => format!("the decimal {d}"),
        Value::Text(_) => "text".to_owned(),
        Value::Bytes(_) => "bytes".to_owned(),
        Value::Date(_) => "a date".to_owned(),
        Value::Time(_) => "a time".to_owned(),
        Value::Timestamp(_) => "a timestamp".to_owned(),
    };
    Error::with_state(
        ErrorClass::DataError,
        "22018",
        format!("{what} does not convert to {wanted}"),
    )
}

fn out_of_range(v: &Value, wanted: &str) -> Error {
    Error::with_state(
        ErrorClass::DataError,
        "22003",
        format!("{v} is out of the range of {wanted}"),
    )
}

/// A decimal's text as an integer when it is whole (`"42"`, `"-7.000"`): `Ok(None)` when
/// it is not whole, `Err(())` when it is whole but beyond `i128`.
fn whole_decimal(d: &str) -> Result<Option<i128>, ()> {
    let (int, frac) = d.split_once('.').unwrap_or((d, ""));
    let digits = int.strip_prefix('-').unwrap_or(int);
    if !frac.bytes().all(|b| b == b'0')
        || digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(None);
    }
    int.parse::<i128>().map(Some).map_err(|_| ())
}

macro_rules! from_value_int {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> Result<Self, Error> {
                let wide: i128 = match v {
                    Value::Int(i) => i128::from(*i),
                    Value::Decimal(d) => match whole_decimal(d) {
                        Ok(Some(n)) => n,
                        Ok(None) => return Err(mismatch(v, stringify!($t))),
                        // Whole but beyond i128: a u128 may still hold it.
                        Err(()) => {
                            return d
                                .parse::<u128>()
                                .ok()
                                .and_then(|n| <$t>::try_from(n).ok())
                                .ok_or_else(|| out_of_range(v, stringify!($t)))
                        }
                    },
                    _ => return Err(mismatch(v, stringify!($t))),
                };
                <$t>::try_from(wide).map_err(|_| out_of_range(v, stringify!($t)))
            }
        }
    )*};
}
from_value_int!(i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, isize, usize);

impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Float(x) => Ok(*x),
            // The nearest double: what asking for an f64 means.
            Value::Int(i) => Ok(*i as f64),
            Value::Decimal(d) => match d.parse::<f64>() {
                // A finite decimal past f64's range is an error, not an infinity.
                Ok(x) if x.is_infinite() && !d.to_ascii_lowercase().contains("inf") => {
                    Err(out_of_range(v, "f64"))
                }
                Ok(x) => Ok(x),
                Err(_) => Err(mismatch(v, "f64")),
            },
            _ => Err(mismatch(v, "f64")),
        }
    }
}

impl FromValue for f32 {
    fn from_value(v: &Value) -> Result<Self, Error> {
        let x = f64::from_value(v).map_err(|e| {
            if e.sqlstate == "22003" {
                out_of_range(v, "f32")
            } else {
                mismatch(v, "f32")
            }
        })?;
        if x.is_finite() && x.abs() > f64::from(f32::MAX) {
            return Err(out_of_range(v, "f32"));
        }
        // The nearest f32 (as asking for one means), like `f64` from a wide integer.
        Ok(x as f32)
    }
}

impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            _ => Err(mismatch(v, "bool")),
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Text(s) | Value::Decimal(s) => Ok(s.clone()),
            _ => Err(mismatch(v, "String")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Bytes(b) => Ok(b.clone()),
            _ => Err(mismatch(v, "Vec<u8>")),
        }
    }
}

impl FromValue for Date {
    fn from_value(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Date(d) => Ok(*d),
            _ => Err(mismatch(v, "Date")),
        }
    }
}

impl FromValue for Time {
    fn from_value(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Time(t) => Ok(*t),
            _ => Err(mismatch(v, "Time")),
        }
    }
}

impl FromValue for Timestamp {
    fn from_value(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Timestamp(t) => Ok(*t),
            _ => Err(mismatch(v, "Timestamp")),
        }
    }
}

impl FromValue for Value {
    fn from_value(v: &Value) -> Result<Self, Error> {
        Ok(v.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A parameter list from values of any type that converts into a [`Value`] (integers of every
/// width, floats, `bool`, `&str`, `String`, `&String`, bytes, the date and time types,
/// `Option<_>` for NULL).
///
/// ```
/// # use odbcd::client::Value;
/// let p = odbcd::params![42u64, "pear", None::<&str>];
/// assert_eq!(p, vec![Value::Int(42), Value::Text("pear".into()), Value::Null]);
/// ```
#[macro_export]
macro_rules! params {
    () => { ::std::vec::Vec::<$crate::client::Value>::new() };
    ($($value:expr),+ $(,)?) => {
        ::std::vec![$($crate::client::Value::from($value)),+]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row::new(
            vec![
                Value::Int(300),
                Value::Null,
                Value::Decimal("12.50".into()),
                Value::Text("pear".into()),
                Value::Decimal("7.000".into()),
            ],
            vec![
                "n".into(),
                "note".into(),
                "price".into(),
                "Name".into(),
                "qty".into(),
            ]
            .into(),
        )
    }

    #[test]
    fn typed_access_by_index_and_name() {
        let r = row();
        assert_eq!(r.get::<i64>(0), 300);
        assert_eq!(r.get::<i16>("n"), 300);
        assert_eq!(r.get::<Option<String>>("note"), None);
        assert_eq!(r.get::<String>("price"), "12.50");
        assert_eq!(r.get::<f64>("price"), 12.5);
        assert_eq!(
            r.get::<String>("name"),
            "pear",
            "case-insensitive after exact"
        );
        assert_eq!(r.get::<u8>("qty"), 7);
        assert_eq!(
            r,
            vec![
                Value::Int(300),
                Value::Null,
                Value::Decimal("12.50".into()),
                Value::Text("pear".into()),
                Value::Decimal("7.000".into())
            ]
        );
    }

    #[test]
    fn conversions_fail_rather_than_change_a_value() {
        let r = row();
        assert_eq!(r.try_get::<i8>(0).unwrap_err().sqlstate, "22003");
        assert_eq!(r.try_get::<i64>(1).unwrap_err().sqlstate, "22018");
        assert_eq!(r.try_get::<i64>("price").unwrap_err().sqlstate, "22018");
        assert_eq!(r.try_get::<i64>("nope").unwrap_err().sqlstate, "42S22");
        assert_eq!(r.try_get::<i64>(9).unwrap_err().sqlstate, "42S22");
        assert_eq!(
            u64::from_value(&Value::Int(-1)).unwrap_err().sqlstate,
            "22003"
        );
        assert!(bool::from_value(&Value::Int(2)).is_err());
        assert!(f32::from_value(&Value::Float(1e300)).is_err());
        assert_eq!(
            f64::from_value(&Value::Decimal("1e400".into()))
                .unwrap_err()
                .sqlstate,
            "22003"
        );
        assert!(f64::from_value(&Value::Decimal("Infinity".into()))
            .unwrap()
            .is_infinite());
        let big = u128::MAX.to_string();
        assert_eq!(
            u128::from_value(&Value::Decimal(big.clone())).unwrap(),
            u128::MAX
        );
        assert_eq!(
            i64::from_value(&Value::Decimal(big)).unwrap_err().sqlstate,
            "22003"
        );
        assert_eq!(
            i64::from_value(&Value::Decimal("+5".into()))
                .unwrap_err()
                .sqlstate,
            "22018"
        );
    }

    #[test]
    fn params_convert_every_width() {
        let s = String::from("x");
        let p = crate::params![
            1i8,
            2u16,
            u64::MAX,
            i64::MIN,
            &s,
            Some(3),
            None::<i32>,
            true,
            1.5f32
        ];
        assert_eq!(p[2], Value::Decimal(u64::MAX.to_string()));
        assert_eq!(p[3], Value::Int(i64::MIN));
        assert_eq!(p[4], Value::Text("x".into()));
        assert_eq!(p[5], Value::Int(3));
        assert_eq!(p[6], Value::Null);
        assert_eq!(crate::params![], Vec::<Value>::new());
    }
}
