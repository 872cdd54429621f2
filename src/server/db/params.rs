//! Wire values to ODBC input parameters.

use odbc_api::parameter::{InputParameter, VarBinaryBox, VarCharBox, WithDataType};
use odbc_api::sys::{Date as SysDate, Time as SysTime, Timestamp as SysTimestamp};
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
/// Decimals are bound as text typed `NUMERIC(p, s)`, so the exact digits reach the database.
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

fn to_param(index: usize, v: &Value) -> Result<Param, DbError> {
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
        Value::Date(d) => Box::new(SysDate {
            year: d.year,
            month: u16::from(d.month),
            day: u16::from(d.day),
        }),
        Value::Time(t) => Box::new(WithDataType::new(
            SysTime {
                hour: u16::from(t.hour),
                minute: u16::from(t.minute),
                second: u16::from(t.second),
            },
            DataType::Time { precision: 0 },
        )),
        Value::Timestamp(ts) => Box::new(WithDataType::new(
            SysTimestamp {
                year: ts.date.year,
                month: u16::from(ts.date.month),
                day: u16::from(ts.date.day),
                hour: u16::from(ts.time.hour),
                minute: u16::from(ts.time.minute),
                second: u16::from(ts.time.second),
                fraction: ts.time.nanos,
            },
            // Announce only the fractional digits the value has: some drivers refuse 9.
            DataType::Timestamp {
                precision: match ts.time.nanos {
                    0 => 0,
                    n if n % 1000 == 0 => 6,
                    _ => 9,
                },
            },
        )),
    })
}

/// Precision and scale of a decimal literal like `-123.450`, or `None` if it is not one.
fn decimal_shape(s: &str) -> Option<(usize, i16)> {
    let s = s.trim();
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
    use super::decimal_shape;

    #[test]
    fn decimal_shapes() {
        assert_eq!(decimal_shape("-123.450"), Some((6, 3)));
        assert_eq!(decimal_shape("0.5"), Some((1, 1)));
        assert_eq!(decimal_shape("42"), Some((2, 0)));
        assert_eq!(decimal_shape("1e5"), None);
        assert_eq!(decimal_shape("."), None);
        assert_eq!(decimal_shape(""), None);
    }
}
