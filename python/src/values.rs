//! Python values to and from the client's [`Value`]s, exactly: `int` beyond 64 bits and
//! `decimal.Decimal` travel as decimal text (never a float), dates and times as their fields; a
//! value Python cannot hold (a year before 1 or after 9999, nanoseconds, a leap second) is a
//! `DataError`, never a different value.

use odbcd::client::{ColumnDesc, Date, ErrorClass, Row, Time, Timestamp, Value};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyString, PyTuple};

use crate::errors::error;

/// The classes of Python's standard library the conversions need.
struct Classes {
    decimal: Py<PyAny>,
    date: Py<PyAny>,
    time: Py<PyAny>,
    datetime: Py<PyAny>,
    memoryview: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let datetime = py.import("datetime")?;
        Ok(Classes {
            decimal: py.import("decimal")?.getattr("Decimal")?.unbind(),
            date: datetime.getattr("date")?.unbind(),
            time: datetime.getattr("time")?.unbind(),
            datetime: datetime.getattr("datetime")?.unbind(),
            memoryview: py.import("builtins")?.getattr("memoryview")?.unbind(),
        })
    })
}

/// Converts parameter `index` (0-based) of a statement.
pub(crate) fn to_value(obj: &Bound<'_, PyAny>, index: usize) -> PyResult<Value> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(match obj.extract::<i64>() {
            Ok(i) => Value::Int(i),
            // Beyond 64 bits: exact, as a decimal (for NUMERIC columns); the digits of the
            // plain int (`__index__`), whatever a subclass's `str()` says (an IntEnum's).
            Err(_) => Value::Decimal(obj.call_method0("__index__")?.str()?.to_str()?.to_owned()),
        });
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::Text(text(s, index)?.to_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Bytes(b.to_vec()));
    }
    let c = classes(py)?;
    if obj.is_instance(c.memoryview.bind(py))? {
        let bytes = obj.call_method0("tobytes")?;
        return Ok(Value::Bytes(bytes.cast::<PyBytes>()?.as_bytes().to_vec()));
    }
    if obj.is_instance(c.decimal.bind(py))? {
        if !obj.call_method0("is_finite")?.is_truthy()? {
            return Err(error(
                py,
                ErrorClass::NotSupportedError,
                "HYC00",
                format!(
                    "parameter {}: {} is not a finite number",
                    index + 1,
                    obj.str()?
                ),
            ));
        }
        // Positional notation: Decimal('1E+3') is sent as 1000, never through a float.
        let text = py
            .import("builtins")?
            .getattr("format")?
            .call1((obj, "f"))?;
        return Ok(Value::Decimal(
            text.cast::<PyString>()?.to_str()?.to_owned(),
        ));
    }
    if obj.is_instance(c.datetime.bind(py))? {
        no_timezone(obj, index)?;
        return temporal(obj, index, || {
            Ok(Value::Timestamp(Timestamp {
                date: date_of(obj)?,
                time: time_of(obj)?,
            }))
        });
    }
    if obj.is_instance(c.date.bind(py))? {
        return temporal(obj, index, || Ok(Value::Date(date_of(obj)?)));
    }
    if obj.is_instance(c.time.bind(py))? {
        no_timezone(obj, index)?;
        return temporal(obj, index, || Ok(Value::Time(time_of(obj)?)));
    }
    Err(error(
        py,
        ErrorClass::NotSupportedError,
        "HY105",
        format!(
            "parameter {}: values of type {} cannot be sent (use None, bool, int, float, Decimal, str, bytes, date, time or datetime)",
            index + 1,
            obj.get_type().name()?
        ),
    ))
}

/// A `str` as UTF-8: a lone surrogate (which UTF-8 cannot carry) is a `DataError`.
pub(crate) fn text<'a>(s: &'a Bound<'_, PyString>, index: usize) -> PyResult<&'a str> {
    s.to_str().map_err(|_| {
        error(
            s.py(),
            ErrorClass::DataError,
            "22021",
            format!(
                "parameter {}: the text holds a lone surrogate, which is not Unicode text",
                index + 1
            ),
        )
    })
}

/// Reads a date or time's fields; a value without proper ones (pandas' `NaT`) is a `DataError`.
fn temporal(
    obj: &Bound<'_, PyAny>,
    index: usize,
    read: impl FnOnce() -> PyResult<Value>,
) -> PyResult<Value> {
    read().map_err(|_| {
        error(
            obj.py(),
            ErrorClass::DataError,
            "22007",
            format!(
                "parameter {}: {} is not a date or time a database can hold",
                index + 1,
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            ),
        )
    })
}

/// A timezone-aware value would lose its offset on the way: refused rather than shifted.
fn no_timezone(obj: &Bound<'_, PyAny>, index: usize) -> PyResult<()> {
    if obj.getattr("tzinfo")?.is_none() {
        return Ok(());
    }
    Err(error(
        obj.py(),
        ErrorClass::NotSupportedError,
        "HYC00",
        format!(
            "parameter {}: {} has a time zone, which ODBC's date and time types cannot carry; convert it (e.g. to UTC) and drop tzinfo, or send it as text",
            index + 1,
            obj.repr()?
        ),
    ))
}

fn date_of(obj: &Bound<'_, PyAny>) -> PyResult<Date> {
    Ok(Date {
        year: obj.getattr("year")?.extract()?,
        month: obj.getattr("month")?.extract()?,
        day: obj.getattr("day")?.extract()?,
    })
}

fn time_of(obj: &Bound<'_, PyAny>) -> PyResult<Time> {
    let micros: u32 = obj.getattr("microsecond")?.extract()?;
    // pandas' Timestamp carries nanoseconds beyond datetime's microseconds.
    let nanos: u32 = match obj.getattr("nanosecond") {
        Ok(n) => n.extract()?,
        Err(_) => 0,
    };
    Ok(Time {
        hour: obj.getattr("hour")?.extract()?,
        minute: obj.getattr("minute")?.extract()?,
        second: obj.getattr("second")?.extract()?,
        nanos: micros * 1000 + nanos,
    })
}

/// An integer argument of a method, in `T`'s range: anything else is a `ProgrammingError`
/// naming the argument (not a bare `OverflowError`).
pub(crate) fn int_arg<T: TryFrom<i128>>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let bad = || {
        error(
            obj.py(),
            ErrorClass::ProgrammingError,
            "HY024",
            format!(
                "{what}: {} is not a valid value",
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            ),
        )
    };
    let n: i128 = obj.extract().map_err(|_| bad())?;
    T::try_from(n).map_err(|_| bad())
}

/// Converts a statement's parameters (any sequence).
pub(crate) fn to_values(params: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Value>> {
    let Some(params) = params else {
        return Ok(Vec::new());
    };
    if params.is_none() {
        return Ok(Vec::new());
    }
    // Sequences of values only: not a text, bytes (a sequence of ints), a mapping or a set
    // (no order).
    if params.is_instance_of::<PyString>()
        || params.is_instance_of::<PyBytes>()
        || params.is_instance_of::<PyByteArray>()
        || params.is_instance(classes(params.py())?.memoryview.bind(params.py()))?
        || params.is_instance_of::<pyo3::types::PySet>()
        || params.is_instance_of::<pyo3::types::PyFrozenSet>()
        || params.hasattr("keys")?
    {
        return Err(error(
            params.py(),
            ErrorClass::ProgrammingError,
            "07002",
            "parameters must be a sequence (a tuple or a list) of values: the paramstyle is 'qmark'".into(),
        ));
    }
    let mut out = Vec::with_capacity(params.len().unwrap_or(0));
    for (i, p) in params.try_iter()?.enumerate() {
        out.push(to_value(&p?, i)?);
    }
    Ok(out)
}

/// Converts a result value.
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Decimal(s) => classes(py)?.decimal.bind(py).call1((s.as_str(),))?,
        Value::Text(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::Date(d) => py_date(py, *d)?,
        Value::Time(t) => {
            let (h, m, s, us) = py_time_fields(py, *t)?;
            classes(py)?.time.bind(py).call1((h, m, s, us))?
        }
        Value::Timestamp(ts) => {
            let ts = *ts;
            check_year(py, ts.date)?;
            let (h, m, s, us) = py_time_fields(py, ts.time)?;
            classes(py)?.datetime.bind(py).call1((
                ts.date.year,
                ts.date.month,
                ts.date.day,
                h,
                m,
                s,
                us,
            ))?
        }
    })
}

fn check_year(py: Python<'_>, d: Date) -> PyResult<()> {
    if (1..=9999).contains(&d.year) {
        return Ok(());
    }
    Err(error(
        py,
        ErrorClass::DataError,
        "22008",
        format!("the date {d} is outside Python's range (years 1 to 9999); select it as text"),
    ))
}

fn py_date(py: Python<'_>, d: Date) -> PyResult<Bound<'_, PyAny>> {
    check_year(py, d)?;
    classes(py)?.date.bind(py).call1((d.year, d.month, d.day))
}

fn py_time_fields(py: Python<'_>, t: Time) -> PyResult<(u8, u8, u8, u32)> {
    if !t.nanos.is_multiple_of(1000)
        || t.hour > 23
        || t.minute > 59
        || t.second > 59
        || t.nanos >= 1_000_000_000
    {
        return Err(error(
            py,
            ErrorClass::DataError,
            "22008",
            format!("the time {t} is not a Python time (00:00 to 23:59:59.999999, microseconds, no leap second); select it as text"),
        ));
    }
    Ok((t.hour, t.minute, t.second, t.nanos / 1000))
}

/// A row as a tuple.
pub(crate) fn row_tuple<'py>(py: Python<'py>, row: &Row) -> PyResult<Bound<'py, PyTuple>> {
    let mut items = Vec::with_capacity(row.len());
    for v in row.iter() {
        items.push(to_py(py, v)?);
    }
    PyTuple::new(py, items)
}

/// A column as PEP 249's 7-item sequence: `(name, type_code, display_size, internal_size,
/// precision, scale, null_ok)`; `type_code` is the ODBC SQL type, which compares equal to the
/// module's type objects (`STRING`, `NUMBER`, ...).
pub(crate) fn column_tuple<'py>(py: Python<'py>, c: &ColumnDesc) -> PyResult<Bound<'py, PyTuple>> {
    let null_ok = match c.null_ok {
        Some(b) => PyBool::new(py, b).to_owned().into_any(),
        None => py.None().into_bound(py),
    };
    PyTuple::new(
        py,
        [
            PyString::new(py, &c.name).into_any(),
            c.type_code.into_pyobject(py)?.into_any(),
            c.display_size.into_pyobject(py)?.into_any(),
            c.internal_size.into_pyobject(py)?.into_any(),
            c.precision.into_pyobject(py)?.into_any(),
            c.scale.into_pyobject(py)?.into_any(),
            null_ok,
        ],
    )
}
