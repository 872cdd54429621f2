//! Conversions between [`Value`] and the types of popular crates, each behind the feature of
//! the same name: `chrono` (`NaiveDate`, `NaiveTime`, `NaiveDateTime`), `time` (`Date`, `Time`,
//! `PrimitiveDateTime`), `rust_decimal` (`Decimal`) and `uuid` (`Uuid`). Both ways: rows read
//! into them with [`Row::get`](super::Row::get), parameters convert from them with `From`.
//! A value the other type cannot hold (a year out of its range, a decimal of more than 28
//! digits) is an error, never a different value.

#[allow(unused_imports)]
use super::row::FromValue;
#[allow(unused_imports)]
use super::Error;
#[allow(unused_imports)]
use crate::error::ErrorClass;
#[allow(unused_imports)]
use crate::proto::value::{Date, Time, Timestamp, Value};

#[allow(dead_code)]
fn range(v: &Value, wanted: &str) -> Error {
    Error::with_state(
        ErrorClass::DataError,
        // A date or time out of the type's range, or a number out of its range.
        if matches!(v, Value::Date(_) | Value::Time(_) | Value::Timestamp(_)) {
            "22008"
        } else {
            "22003"
        },
        format!("{v} is out of the range of {wanted}"),
    )
}

#[allow(dead_code)]
fn other(v: &Value, wanted: &str) -> Error {
    Error::with_state(
        ErrorClass::DataError,
        "22018",
        format!("{v} does not convert to {wanted}"),
    )
}

#[cfg(feature = "chrono")]
mod chrono_types {
    use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

    use super::*;

    fn date(d: Date, v: &Value) -> Result<NaiveDate, Error> {
        NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            .ok_or_else(|| range(v, "chrono::NaiveDate"))
    }

    fn time(t: Time, v: &Value) -> Result<NaiveTime, Error> {
        if t.nanos >= 1_000_000_000 {
            return Err(range(v, "chrono::NaiveTime"));
        }
        // A leap second (second 60) the chrono way: second 59, nanoseconds from 1e9.
        let (second, nanos) = if t.second == 60 {
            (59, t.nanos + 1_000_000_000)
        } else {
            (u32::from(t.second), t.nanos)
        };
        NaiveTime::from_hms_nano_opt(u32::from(t.hour), u32::from(t.minute), second, nanos)
            .ok_or_else(|| range(v, "chrono::NaiveTime"))
    }

    impl FromValue for NaiveDate {
        fn from_value(v: &Value) -> Result<Self, Error> {
            match v {
                Value::Date(d) => date(*d, v),
                _ => Err(other(v, "chrono::NaiveDate")),
            }
        }
    }

    impl FromValue for NaiveTime {
        fn from_value(v: &Value) -> Result<Self, Error> {
            match v {
                Value::Time(t) => time(*t, v),
                _ => Err(other(v, "chrono::NaiveTime")),
            }
        }
    }

    impl FromValue for NaiveDateTime {
        fn from_value(v: &Value) -> Result<Self, Error> {
            match v {
                Value::Timestamp(ts) => {
                    Ok(NaiveDateTime::new(date(ts.date, v)?, time(ts.time, v)?))
                }
                _ => Err(other(v, "chrono::NaiveDateTime")),
            }
        }
    }

    fn to_date(d: NaiveDate) -> Value {
        match i16::try_from(d.year()) {
            Ok(year) => Value::Date(Date {
                year,
                month: d.month() as u8,
                day: d.day() as u8,
            }),
            // Beyond what the wire's dates hold: the text, for the database to judge.
            Err(_) => Value::Text(d.format("%Y-%m-%d").to_string()),
        }
    }

    fn to_time(t: NaiveTime) -> Time {
        // chrono writes a leap second as second 59 with nanoseconds from 1e9; the wire's
        // `Time` as second 60.
        let (second, nanos) = if t.nanosecond() >= 1_000_000_000 {
            (60, t.nanosecond() - 1_000_000_000)
        } else {
            (t.second() as u8, t.nanosecond())
        };
        Time {
            hour: t.hour() as u8,
            minute: t.minute() as u8,
            second,
            nanos,
        }
    }

    impl From<NaiveDate> for Value {
        fn from(d: NaiveDate) -> Self {
            to_date(d)
        }
    }

    impl From<NaiveTime> for Value {
        fn from(t: NaiveTime) -> Self {
            Value::Time(to_time(t))
        }
    }

    impl From<NaiveDateTime> for Value {
        fn from(ts: NaiveDateTime) -> Self {
            match to_date(ts.date()) {
                Value::Date(date) => Value::Timestamp(Timestamp {
                    date,
                    time: to_time(ts.time()),
                }),
                _ => Value::Text(ts.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
            }
        }
    }
}

#[cfg(feature = "time")]
mod time_types {
    use super::*;

    fn date(d: Date, v: &Value) -> Result<time::Date, Error> {
        let month = time::Month::try_from(d.month).map_err(|_| range(v, "time::Date"))?;
        time::Date::from_calendar_date(i32::from(d.year), month, d.day)
            .map_err(|_| range(v, "time::Date"))
    }

    fn clock(t: Time, v: &Value) -> Result<time::Time, Error> {
        time::Time::from_hms_nano(t.hour, t.minute, t.second, t.nanos)
            .map_err(|_| range(v, "time::Time"))
    }

    impl FromValue for time::Date {
        fn from_value(v: &Value) -> Result<Self, Error> {
            match v {
                Value::Date(d) => date(*d, v),
                _ => Err(other(v, "time::Date")),
            }
        }
    }

    impl FromValue for time::Time {
        fn from_value(v: &Value) -> Result<Self, Error> {
            match v {
                Value::Time(t) => clock(*t, v),
                _ => Err(other(v, "time::Time")),
            }
        }
    }

    impl FromValue for time::PrimitiveDateTime {
        fn from_value(v: &Value) -> Result<Self, Error> {
            match v {
                Value::Timestamp(ts) => Ok(time::PrimitiveDateTime::new(
                    date(ts.date, v)?,
                    clock(ts.time, v)?,
                )),
                _ => Err(other(v, "time::PrimitiveDateTime")),
            }
        }
    }

    fn to_date(d: time::Date) -> Option<Date> {
        Some(Date {
            year: i16::try_from(d.year()).ok()?,
            month: u8::from(d.month()),
            day: d.day(),
        })
    }

    fn to_time(t: time::Time) -> Time {
        Time {
            hour: t.hour(),
            minute: t.minute(),
            second: t.second(),
            nanos: t.nanosecond(),
        }
    }

    impl From<time::Date> for Value {
        fn from(d: time::Date) -> Self {
            to_date(d).map_or_else(|| Value::Text(d.to_string()), Value::Date)
        }
    }

    impl From<time::Time> for Value {
        fn from(t: time::Time) -> Self {
            Value::Time(to_time(t))
        }
    }

    impl From<time::PrimitiveDateTime> for Value {
        fn from(ts: time::PrimitiveDateTime) -> Self {
            match to_date(ts.date()) {
                Some(date) => Value::Timestamp(Timestamp {
                    date,
                    time: to_time(ts.time()),
                }),
                None => Value::Text(ts.to_string()),
            }
        }
    }
}

#[cfg(feature = "rust_decimal")]
mod decimal_types {
    use rust_decimal::Decimal;

    use super::*;

    impl FromValue for Decimal {
        fn from_value(v: &Value) -> Result<Self, Error> {
            match v {
                // Exact or an error: `from_str_exact` refuses what it would round.
                Value::Decimal(d) => {
                    Decimal::from_str_exact(d).map_err(|_| range(v, "rust_decimal::Decimal"))
                }
                Value::Int(i) => Ok(Decimal::from(*i)),
                _ => Err(other(v, "rust_decimal::Decimal")),
            }
        }
    }

    impl From<Decimal> for Value {
        fn from(d: Decimal) -> Self {
            Value::Decimal(d.to_string())
        }
    }
}

#[cfg(feature = "uuid")]
mod uuid_types {
    use uuid::Uuid;

    use super::*;

    impl FromValue for Uuid {
        fn from_value(v: &Value) -> Result<Self, Error> {
            match v {
                Value::Text(s) => Uuid::parse_str(s).map_err(|_| other(v, "uuid::Uuid")),
                Value::Bytes(b) => Uuid::from_slice(b).map_err(|_| other(v, "uuid::Uuid")),
                _ => Err(other(v, "uuid::Uuid")),
            }
        }
    }

    impl From<Uuid> for Value {
        fn from(u: Uuid) -> Self {
            Value::Text(u.hyphenated().to_string())
        }
    }
}

#[cfg(all(
    test,
    feature = "chrono",
    feature = "time",
    feature = "rust_decimal",
    feature = "uuid"
))]
mod tests {
    use super::*;

    #[test]
    fn the_optional_types_round_trip_exactly() {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(chrono::NaiveDate::from_value(&Value::from(d)).unwrap(), d);
        let ts = d.and_hms_nano_opt(23, 59, 58, 123_456_789).unwrap();
        assert_eq!(
            chrono::NaiveDateTime::from_value(&Value::from(ts)).unwrap(),
            ts
        );
        let t = time::PrimitiveDateTime::new(
            time::Date::from_calendar_date(2024, time::Month::February, 29).unwrap(),
            time::Time::from_hms_nano(23, 59, 58, 123_456_789).unwrap(),
        );
        assert_eq!(
            time::PrimitiveDateTime::from_value(&Value::from(t)).unwrap(),
            t
        );
        let dec = Value::Decimal("12345678901234567890.12345678".into());
        let r = rust_decimal::Decimal::from_value(&dec).unwrap();
        assert_eq!(Value::from(r), dec);
        let too_long = Value::Decimal("1234567890123456789012345678901.5".into());
        assert!(rust_decimal::Decimal::from_value(&too_long).is_err());
        let u = uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        assert_eq!(uuid::Uuid::from_value(&Value::from(u)).unwrap(), u);
        assert!(chrono::NaiveDate::from_value(&Value::Date(Date {
            year: 2023,
            month: 2,
            day: 29
        }))
        .is_err());
    }
}
