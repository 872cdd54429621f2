//! Reading result sets into wire values, in batches of bounded size.
//!
//! Two ways to read, chosen per result set when it is opened:
//!
//! - **Bulk**: when every column has a bounded size of at most [`LONG_COLUMN_BYTES`], rows are
//!   fetched with `odbc-api` columnar buffers, many rows per `SQLFetch`. The buffer holds at
//!   most [`BULK_BUFFER_BYTES`], so server memory per cursor stays bounded whatever the result
//!   size. A value longer than its buffer (a driver that under-reports a column size) is an
//!   error, never a silent truncation.
//! - **Piecewise**: when any column is long or of unknown size (PostgreSQL `text`/`bytea`,
//!   SQLite columns without a declared size, `VARCHAR(MAX)`), rows are fetched one at a time
//!   and each value read with `SQLGetData` in pieces, so a column reported as gigabytes wide
//!   costs only the size of the actual values.
//!
//! Either way, a batch on the wire stops at the client's row count or at `max_chunk_length`
//! bytes, whichever comes first (at least one row, so a huge row still moves).

use std::collections::VecDeque;
use std::sync::Arc;

use odbc_api::buffers::{BufferDesc, ColumnarDynBuffer};
use odbc_api::handles::{Nullability, StatementConnection};
use odbc_api::sys::{Date as SysDate, Time as SysTime, Timestamp as SysTimestamp};
use odbc_api::{
    Bit, BlockCursor, Connection, Cursor, CursorImpl, DataType, Nullable, ResultSetMetadata,
};

use super::diag::from_odbc;
use crate::error::DbError;
use crate::proto::value::{ColumnDesc, Date, Time, Timestamp, Value};

/// A cursor that owns (a share of) its connection.
pub(crate) type OwnedCursor = CursorImpl<StatementConnection<Arc<Connection<'static>>>>;

/// Columns longer than this (in bytes) are read piecewise instead of in bulk.
pub const LONG_COLUMN_BYTES: usize = 4096;
/// The most memory one cursor's bulk buffer may take.
pub const BULK_BUFFER_BYTES: usize = 4 * 1024 * 1024;
/// The most rows one bulk fetch asks for.
pub const MAX_BULK_ROWS: usize = 4096;

/// How a column's values are represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    Decimal,
    Text,
    Bytes,
    Date,
    Time,
    Timestamp,
}

#[derive(Debug, Clone)]
struct Column {
    kind: Kind,
    /// The bulk buffer for this column, `None` when it must be read piecewise.
    bulk: Option<BufferDesc>,
}

enum Source {
    Piecewise(OwnedCursor),
    Bulk(BlockCursor<OwnedCursor, ColumnarDynBuffer>),
    Exhausted,
}

/// An open result set.
pub(crate) struct ResultSet {
    columns: Vec<Column>,
    source: Source,
    pending: VecDeque<Vec<Value>>,
    /// The statement's handle, to cancel a fetch; valid as long as `source` holds the cursor.
    stmt: odbc_api::sys::HStmt,
}

impl ResultSet {
    /// Describes the cursor's columns and prepares to read them. `sizes_enforced` is false for
    /// databases whose declared column sizes are not limits (SQLite): their text and binary
    /// columns are then read piecewise.
    ///
    /// # Errors
    /// Driver errors while describing or binding.
    pub(crate) fn open(
        mut cursor: OwnedCursor,
        sizes_enforced: bool,
    ) -> Result<(Self, Vec<ColumnDesc>), DbError> {
        let stmt = {
            use odbc_api::handles::{AsStatementRef, Statement};
            cursor.as_stmt_ref().as_sys()
        };
        let n = cursor.num_result_cols().map_err(|e| from_odbc(&e))?;
        let n = u16::try_from(n).unwrap_or(0);
        let mut columns = Vec::with_capacity(usize::from(n));
        let mut descs = Vec::with_capacity(usize::from(n));
        for i in 1..=n {
            let (desc, mut col) = describe(&mut cursor, i)?;
            if !sizes_enforced && matches!(col.kind, Kind::Text | Kind::Bytes) {
                col.bulk = None;
            }
            descs.push(desc);
            columns.push(col);
        }
        let bulk: Option<Vec<BufferDesc>> = columns.iter().map(|c| c.bulk).collect();
        let source = match bulk {
            Some(descs) if !descs.is_empty() => {
                let row_bytes: usize = descs
                    .iter()
                    .map(BufferDesc::bytes_per_row)
                    .sum::<usize>()
                    .max(1);
                let rows = (BULK_BUFFER_BYTES / row_bytes).clamp(1, MAX_BULK_ROWS);
                let buffer =
                    ColumnarDynBuffer::try_from_descs(rows, descs).map_err(|e| from_odbc(&e))?;
                Source::Bulk(cursor.bind_buffer(buffer).map_err(|e| from_odbc(&e))?)
            }
            _ => Source::Piecewise(cursor),
        };
        Ok((
            Self {
                columns,
                source,
                pending: VecDeque::new(),
                stmt,
            },
            descs,
        ))
    }

    /// The statement handle, for [`super::cancel::CancelSlot::arm`].
    pub(crate) fn stmt(&self) -> odbc_api::sys::HStmt {
        self.stmt
    }

    /// Up to `max_rows` rows, stopping early once the batch holds `max_bytes` (at least one
    /// row). Returns the rows and whether the result set is exhausted.
    ///
    /// # Errors
    /// Driver errors while fetching; values longer than a bulk buffer.
    pub(crate) fn fetch(
        &mut self,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<(Vec<Vec<Value>>, bool), DbError> {
        let mut rows = Vec::new();
        let mut bytes = 0;
        while rows.len() < max_rows && (bytes < max_bytes || rows.is_empty()) {
            if self.pending.is_empty() && !self.refill(max_rows - rows.len(), max_bytes)? {
                break;
            }
            let Some(row) = self.pending.pop_front() else {
                break;
            };
            bytes += row.iter().map(wire_size).sum::<usize>();
            rows.push(row);
        }
        let done = self.pending.is_empty() && matches!(self.source, Source::Exhausted);
        Ok((rows, done))
    }

    /// Reads more rows into `pending`; false when there are none.
    fn refill(&mut self, want: usize, max_bytes: usize) -> Result<bool, DbError> {
        match &mut self.source {
            Source::Exhausted => Ok(false),
            Source::Bulk(block) => {
                let batch = block
                    .fetch_with_truncation_check(true)
                    .map_err(|e| from_odbc(&e))?;
                let Some(batch) = batch else {
                    self.source = Source::Exhausted;
                    return Ok(false);
                };
                let n = batch.num_rows();
                let mut cols: Vec<Vec<Value>> = Vec::with_capacity(self.columns.len());
                for (i, c) in self.columns.iter().enumerate() {
                    cols.push(read_bulk_column(batch, i, c.kind, n));
                }
                for r in 0..n {
                    self.pending.push_back(
                        cols.iter_mut()
                            .map(|c| std::mem::replace(&mut c[r], Value::Null))
                            .collect(),
                    );
                }
                Ok(n > 0)
            }
            Source::Piecewise(cursor) => {
                let mut bytes = 0;
                let mut got = 0;
                while got < want.max(1) && bytes < max_bytes {
                    let Some(mut row) = cursor.next_row().map_err(|e| from_odbc(&e))? else {
                        self.source = Source::Exhausted;
                        break;
                    };
                    let mut values = Vec::with_capacity(self.columns.len());
                    for (i, c) in self.columns.iter().enumerate() {
                        let v = read_piece(&mut row, i as u16 + 1, c.kind)
                            .map_err(|e| from_odbc(&e))?;
                        bytes += wire_size(&v);
                        values.push(v);
                    }
                    self.pending.push_back(values);
                    got += 1;
                }
                Ok(got > 0)
            }
        }
    }
}

/// Approximate encoded size of a value, for batch sizing.
fn wire_size(v: &Value) -> usize {
    match v {
        Value::Null => 1,
        Value::Bool(_) => 2,
        Value::Int(_) | Value::Float(_) => 9,
        Value::Decimal(s) | Value::Text(s) => s.len() + 3,
        Value::Bytes(b) => b.len() + 3,
        Value::Date(_) => 5,
        Value::Time(_) => 8,
        Value::Timestamp(_) => 13,
    }
}

fn describe(cursor: &mut OwnedCursor, i: u16) -> Result<(ColumnDesc, Column), DbError> {
    let e = |e: odbc_api::Error| from_odbc(&e);
    // SQLDescribeCol, not SQLColAttribute: sqliteodbc answers SQL_DESC_CONCISE_TYPE with C
    // types (e.g. -25 for BIGINT, SQL_C_CHAR for BLOB), but describes columns correctly.
    let mut cd = odbc_api::ColumnDescription::default();
    cursor.describe_col(i, &mut cd).map_err(e)?;
    let name = cd.name_to_string().unwrap_or_default();
    let dt = cd.data_type;
    let null_ok = match cd.nullability {
        Nullability::Nullable => Some(true),
        Nullability::NoNulls => Some(false),
        Nullability::Unknown => None,
    };
    let display_size = cursor
        .col_display_size(i)
        .ok()
        .flatten()
        .map(|n| n.get() as i64);
    let internal_size = cursor
        .col_octet_length(i)
        .ok()
        .flatten()
        .map(|n| n.get() as i64);
    let precision = cursor.col_precision(i).ok().map(|p| p as i64);
    let scale = cursor.col_scale(i).ok().map(|s| s as i64);
    let fits = |bytes: usize| (bytes <= LONG_COLUMN_BYTES).then_some(bytes);
    let (kind, bulk) = match dt {
        DataType::Bit => (Kind::Bool, Some(BufferDesc::Bit { nullable: true })),
        DataType::TinyInt | DataType::SmallInt | DataType::Integer | DataType::BigInt => {
            (Kind::Int, Some(BufferDesc::I64 { nullable: true }))
        }
        DataType::Real | DataType::Float { .. } | DataType::Double => {
            (Kind::Float, Some(BufferDesc::F64 { nullable: true }))
        }
        DataType::Numeric { precision, .. } | DataType::Decimal { precision, .. } => (
            Kind::Decimal,
            fits((precision + 2).max(40)).map(|n| BufferDesc::Text { max_str_len: n }),
        ),
        DataType::Date => (Kind::Date, Some(BufferDesc::Date { nullable: true })),
        DataType::Time { .. } => (Kind::Time, Some(BufferDesc::Time { nullable: true })),
        DataType::Timestamp { .. } => (
            Kind::Timestamp,
            Some(BufferDesc::Timestamp { nullable: true }),
        ),
        DataType::Char { length }
        | DataType::Varchar { length }
        | DataType::WChar { length }
        | DataType::WVarchar { length }
        | DataType::LongVarchar { length }
        | DataType::WLongVarchar { length } => (
            Kind::Text,
            // Sizes are in characters; UTF-8 needs up to 4 bytes for one.
            length
                .and_then(|l| l.get().checked_mul(4))
                .and_then(fits)
                .map(|n| BufferDesc::Text { max_str_len: n }),
        ),
        DataType::Binary { length }
        | DataType::Varbinary { length }
        | DataType::LongVarbinary { length } => (
            Kind::Bytes,
            length
                .map(|l| l.get())
                .and_then(fits)
                .map(|n| BufferDesc::Binary { max_bytes: n }),
        ),
        DataType::Unknown | DataType::Other { .. } => (Kind::Text, None),
    };
    Ok((
        ColumnDesc {
            name,
            type_code: dt.data_type().0,
            display_size,
            internal_size,
            precision,
            scale,
            null_ok,
        },
        Column { kind, bulk },
    ))
}

fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn date(d: &SysDate) -> Date {
    Date {
        year: d.year,
        month: d.month as u8,
        day: d.day as u8,
    }
}

fn time(t: &SysTime) -> Time {
    Time {
        hour: t.hour as u8,
        minute: t.minute as u8,
        second: t.second as u8,
        nanos: 0,
    }
}

fn timestamp(t: &SysTimestamp) -> Timestamp {
    Timestamp {
        date: Date {
            year: t.year,
            month: t.month as u8,
            day: t.day as u8,
        },
        time: Time {
            hour: t.hour as u8,
            minute: t.minute as u8,
            second: t.second as u8,
            nanos: t.fraction,
        },
    }
}

fn read_bulk_column(batch: &ColumnarDynBuffer, i: usize, kind: Kind, n: usize) -> Vec<Value> {
    let col = batch.column(i);
    let out: Option<Vec<Value>> = match kind {
        Kind::Bool => col.as_nullable_slice::<Bit>().map(|s| {
            s.map(|v| v.map_or(Value::Null, |b| Value::Bool(b.as_bool())))
                .collect()
        }),
        Kind::Int => col.as_nullable_slice::<i64>().map(|s| {
            s.map(|v| v.map_or(Value::Null, |x| Value::Int(*x)))
                .collect()
        }),
        Kind::Float => col.as_nullable_slice::<f64>().map(|s| {
            s.map(|v| v.map_or(Value::Null, |x| Value::Float(*x)))
                .collect()
        }),
        Kind::Decimal => col.as_text().map(|s| {
            (0..n)
                .map(|r| {
                    s.get(r)
                        .map_or(Value::Null, |b| Value::Decimal(text(b).trim().to_owned()))
                })
                .collect()
        }),
        Kind::Text => col.as_text().map(|s| {
            (0..n)
                .map(|r| s.get(r).map_or(Value::Null, |b| Value::Text(text(b))))
                .collect()
        }),
        Kind::Bytes => col.as_binary().map(|s| {
            (0..n)
                .map(|r| s.get(r).map_or(Value::Null, |b| Value::Bytes(b.to_vec())))
                .collect()
        }),
        Kind::Date => col.as_nullable_slice::<SysDate>().map(|s| {
            s.map(|v| v.map_or(Value::Null, |d| Value::Date(date(d))))
                .collect()
        }),
        Kind::Time => col.as_nullable_slice::<SysTime>().map(|s| {
            s.map(|v| v.map_or(Value::Null, |t| Value::Time(time(t))))
                .collect()
        }),
        Kind::Timestamp => col.as_nullable_slice::<SysTimestamp>().map(|s| {
            s.map(|v| v.map_or(Value::Null, |t| Value::Timestamp(timestamp(t))))
                .collect()
        }),
    };
    // The buffer types follow from `kind` in `describe`, so the downcast always succeeds.
    out.unwrap_or_else(|| vec![Value::Null; n])
}

fn read_piece(
    row: &mut odbc_api::CursorRow<'_>,
    i: u16,
    kind: Kind,
) -> Result<Value, odbc_api::Error> {
    fn fixed<T: odbc_api::Pod>(
        row: &mut odbc_api::CursorRow<'_>,
        i: u16,
        f: impl Fn(T) -> Value,
    ) -> Result<Value, odbc_api::Error> {
        let mut v = Nullable::<T>::null();
        row.get_data(i, &mut v)?;
        Ok(v.into_opt().map_or(Value::Null, f))
    }
    Ok(match kind {
        Kind::Bool => fixed::<Bit>(row, i, |b| Value::Bool(b.as_bool()))?,
        Kind::Int => fixed::<i64>(row, i, Value::Int)?,
        Kind::Float => fixed::<f64>(row, i, Value::Float)?,
        Kind::Date => fixed::<SysDate>(row, i, |d| Value::Date(date(&d)))?,
        Kind::Time => fixed::<SysTime>(row, i, |t| Value::Time(time(&t)))?,
        Kind::Timestamp => fixed::<SysTimestamp>(row, i, |t| Value::Timestamp(timestamp(&t)))?,
        Kind::Decimal | Kind::Text => {
            let mut buf = Vec::new();
            if row.get_text(i, &mut buf)? {
                let s = text(&buf);
                if kind == Kind::Decimal {
                    Value::Decimal(s.trim().to_owned())
                } else {
                    Value::Text(s)
                }
            } else {
                Value::Null
            }
        }
        Kind::Bytes => {
            let mut buf = Vec::new();
            if row.get_binary(i, &mut buf)? {
                Value::Bytes(buf)
            } else {
                Value::Null
            }
        }
    })
}
