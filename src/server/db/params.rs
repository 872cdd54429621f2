//! Wire values to ODBC input parameters.

use odbc_api::parameter::{InputParameter, VarBinaryBox, VarCharBox, WithDataType};
use odbc_api::{Bit, DataType};

use crate::error::{DbError, ErrorClass};
use crate::proto::value::Value;

/// `SQLBindParameter` numbers parameters with an `SQLUSMALLINT`.
pub(crate) const MAX_PARAMS: usize = u16::MAX as usize;

/// One bound parameter.
pub(crate) type Param = Box<dyn InputParameter>;

/// Converts wire values to ODBC parameters.
///
/// NULL is bound as a NULL `VARCHAR`, which every driver we know converts to any column type.
/// Decimals are bound as text typed `NUMERIC(p, s)`, so the exact digits reach the database;
/// dates, times and timestamps go as their text, typed as such.
///
/// # Errors
/// `DataError` for a decimal that is not a decimal number; `ProgrammingError` for more than
/// [`MAX_PARAMS`] values (checked before anything is bound).
pub(crate) fn to_params(values: &[Value]) -> Result<Vec<Param>, DbError> {
    if values.len() > MAX_PARAMS {
        return Err(DbError::with_state(
            ErrorClass::ProgrammingError,
            "07002",
            format!(
                "{} parameters: a statement takes at most {MAX_PARAMS} (ODBC numbers them with 16 bits)",
                values.len()
            ),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| to_param(i + 1, v))
        .collect()
}

pub(crate) fn to_param(index: usize, v: &Value) -> Result<Param, DbError> {
    Ok(match v {
        Value::Null => Box::new(VarCharBox::null()),
        Value::Bool(b) => Box::new(Bit::from_bool(*b)),
        Value::Int(i) => Box::new(*i),
        Value::Float(f) => Box::new(*f),
        Value::Decimal(s) => {
            let (precision, scale) = decimal_shape(s).ok_or_else(|| {
                DbError::with_state(
                    ErrorClass::DataError,
                    "22018",
                    format!("parameter {index}: {s:?} is not a decimal number"),
                )
            })?;
            Box::new(WithDataType::new(
                VarCharBox::from_string(s.trim().to_owned()),
                DataType::Numeric { precision, scale },
            ))
        }
        Value::Text(s) => Box::new(VarCharBox::from_string(s.clone())),
        Value::Bytes(b) => Box::new(VarBinaryBox::from_vec(b.clone())),
        // As text in ODBC's literal form, typed: ODBC's structs hold neither a time's
        // fractions nor BC or five-digit years, and some drivers round fractions they do hold
        // (sqliteodbc keeps milliseconds). Drivers convert such text to the SQL type.
        Value::Date(d) => Box::new(WithDataType::new(
            VarCharBox::from_string(d.to_string()),
            DataType::Date,
        )),
        Value::Time(t) => Box::new(WithDataType::new(
            VarCharBox::from_string(t.to_string()),
            DataType::Time {
                precision: fraction_digits(t.nanos),
            },
        )),
        Value::Timestamp(ts) => Box::new(WithDataType::new(
            VarCharBox::from_string(ts.to_string()),
            DataType::Timestamp {
                precision: fraction_digits(ts.time.nanos),
            },
        )),
    })
}

/// The digits a fraction of a second displays with (trailing zeros dropped).
fn fraction_digits(nanos: u32) -> i16 {
    if nanos == 0 {
        return 0;
    }
    let mut digits = 9;
    let mut n = nanos;
    while n.is_multiple_of(10) {
        n /= 10;
        digits -= 1;
    }
    digits
}

/// Precision and scale of a decimal literal like `-123.450`, or `None` if it is not one.
fn decimal_shape(s: &str) -> Option<(usize, i16)> {
    let s = s.trim();
    // PostgreSQL's numeric non-numbers (and SQL Server's, Oracle's way of not having them).
    if ["NaN", "Infinity", "-Infinity"].contains(&s) {
        return Some((1, 0));
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let precision = (int.trim_start_matches('0').len() + frac.len()).max(1);
    Some((precision, i16::try_from(frac.len()).ok()?))
}

#[cfg(test)]
mod tests {
    use super::{decimal_shape, fraction_digits};

    #[test]
    fn fraction_digits_match_the_text() {
        assert_eq!(fraction_digits(0), 0);
        assert_eq!(fraction_digits(500_000_000), 1);
        assert_eq!(fraction_digits(123_456_000), 6);
        assert_eq!(fraction_digits(1), 9);
    }

    #[test]
    fn decimal_shapes() {
        assert_eq!(decimal_shape("-123.450"), Some((6, 3)));
        assert_eq!(decimal_shape("0.5"), Some((1, 1)));
        assert_eq!(decimal_shape("42"), Some((2, 0)));
        assert_eq!(decimal_shape("1e5"), None);
        assert_eq!(decimal_shape("NaN"), Some((1, 0)));
        assert_eq!(decimal_shape("nan"), None);
        assert_eq!(decimal_shape("."), None);
        assert_eq!(decimal_shape(""), None);
    }
}
