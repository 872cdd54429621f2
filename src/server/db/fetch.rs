//! Reading result sets into wire values, in batches of bounded size.
//!
//! Two ways to read, chosen per result set when it is opened:
//!
//! - **Bulk**: when every column has a bounded size of at most [`LONG_COLUMN_BYTES`], rows are
//!   fetched with `odbc-api` columnar buffers, many rows per `SQLFetch`. The buffer holds at
//!   most [`BULK_BUFFER_BYTES`], so server memory per cursor stays bounded whatever the result
//!   size. It starts at [`FIRST_BULK_ROWS`] rows and grows eightfold each time a fetch fills
//!   it, so a point query does not pay for (allocating and zeroing) a buffer sized for a
//!   million-row scan. A value longer than its buffer (a driver that under-reports a column
//!   size) is an error, never a silent truncation.
//! - **Piecewise**: when any column is long or of unknown size (PostgreSQL `text`/`bytea`,
//!   SQLite columns without a declared size, `VARCHAR(MAX)`), rows are fetched one at a time
//!   and each value read with `SQLGetData` in pieces, so a column reported as gigabytes wide
//!   costs only the size of the actual values.
//!
//! Either way, a batch on the wire stops at the client's row count or at `max_chunk_length`
//! bytes, whichever comes first (at least one row, so a huge row still moves).

use std::sync::Arc;

use odbc_api::buffers::{
    BinColumnSlice, BufferDesc, ColumnarDynBuffer, NullableSlice, TextColumnSlice,
};
use odbc_api::handles::{Nullability, StatementConnection};
use odbc_api::sys::{Date as SysDate, Time as SysTime, Timestamp as SysTimestamp};
use odbc_api::{
    Bit, BlockCursor, Connection, Cursor, CursorImpl, DataType, Nullable, ResultSetMetadata,
};

use odbc_api::buffers::Indicator;
use odbc_api::parameter::{Binary, Text, VarCell, VarKind};

use super::diag::from_odbc;
use crate::error::DbError;
use crate::proto::rows::EncodedRows;
use crate::proto::value::{ColumnDesc, Date, Time, Timestamp};

/// A cursor that owns (a share of) its connection.
pub(crate) type OwnedCursor = CursorImpl<StatementConnection<Arc<Connection<'static>>>>;

/// Columns longer than this (in bytes) are read piecewise instead of in bulk.
pub const LONG_COLUMN_BYTES: usize = 4096;
/// The most memory one cursor's bulk buffer may take.
pub const BULK_BUFFER_BYTES: usize = 4 * 1024 * 1024;
/// The most rows one bulk fetch asks for.
pub const MAX_BULK_ROWS: usize = 4096;
/// The rows of a result set's first bulk buffer (it grows while the result set goes on).
pub const FIRST_BULK_ROWS: usize = 32;

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
    Bulk(BlockCursor<OwnedCursor, ColumnarDynBuffer>, BulkSize),
    Exhausted,
}

/// The bulk buffer's shape and how far it may grow.
struct BulkSize {
    descs: Vec<BufferDesc>,
    /// Rows the bound buffer holds now.
    rows: usize,
    /// Rows it may grow to (bounded by [`BULK_BUFFER_BYTES`] and [`MAX_BULK_ROWS`]).
    max_rows: usize,
}

impl BulkSize {
    fn buffer(&self) -> Result<ColumnarDynBuffer, DbError> {
        ColumnarDynBuffer::try_from_descs(self.rows, self.descs.iter().copied())
            .map_err(|e| from_odbc(&e))
    }
}

/// An open result set.
pub(crate) struct ResultSet {
    columns: Vec<Column>,
    source: Source,
    pending: PendingRows,
    /// The statement's handle, to cancel a fetch; valid as long as `source` holds the cursor.
    stmt: odbc_api::sys::HStmt,
    /// Reused for piecewise reads of text and binary values.
    piece: Vec<u8>,
    /// The rows the client asked for last, for reading ahead.
    last_want: usize,
    /// An error met while reading ahead: the next fetch reports it.
    deferred: Option<DbError>,
    /// The last read filled its buffer (or limit): the result set most likely goes on.
    last_read_full: bool,
}

/// Rows read from the driver and encoded, not yet sent.
#[derive(Default)]
struct PendingRows {
    rows: EncodedRows,
    /// Where each row ends in `rows`' bytes.
    ends: Vec<usize>,
    /// The next row to send.
    next: usize,
}

impl PendingRows {
    fn is_empty(&self) -> bool {
        self.next == self.ends.len()
    }

    /// Ends the row just written.
    fn end_row(&mut self) {
        self.ends.push(self.rows.byte_len());
    }

    /// Drops a row whose reading failed half-way, keeping the complete ones.
    fn drop_partial_row(&mut self) {
        let bytes = self.ends.last().copied().unwrap_or(0);
        self.rows.truncate(self.ends.len(), bytes);
    }

    /// Moves rows to `out` while it has fewer than `max_rows` rows and fewer than `max_bytes`
    /// bytes (at least one row).
    fn take_into(&mut self, out: &mut EncodedRows, max_rows: usize, max_bytes: usize) {
        let start = self.next.checked_sub(1).map_or(0, |i| self.ends[i]);
        let mut end = start;
        let mut taken = 0;
        while self.next < self.ends.len()
            && out.len() + taken < max_rows
            && (out.byte_len() + (end - start) < max_bytes || out.len() + taken == 0)
        {
            end = self.ends[self.next];
            self.next += 1;
            taken += 1;
        }
        if out.is_empty() && start == 0 && self.is_empty() {
            // The whole batch goes: hand it over instead of copying it, and make room for
            // the next one of the same size at once.
            let room = self.rows.byte_len();
            *out = std::mem::replace(&mut self.rows, EncodedRows::with_capacity(room));
        } else {
            out.extend_encoded(taken, &self.rows.as_bytes()[start..end]);
        }
        if self.is_empty() {
            self.rows.clear();
            self.ends.clear();
            self.next = 0;
        }
    }
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
                let max_rows = (BULK_BUFFER_BYTES / row_bytes).clamp(1, MAX_BULK_ROWS);
                let size = BulkSize {
                    descs,
                    rows: FIRST_BULK_ROWS.min(max_rows),
                    max_rows,
                };
                let block = cursor
                    .bind_buffer(size.buffer()?)
                    .map_err(|e| from_odbc(&e))?;
                Source::Bulk(block, size)
            }
            _ => Source::Piecewise(cursor),
        };
        Ok((
            Self {
                columns,
                source,
                pending: PendingRows::default(),
                stmt,
                piece: Vec::new(),
                last_want: 1,
                deferred: None,
                last_read_full: false,
            },
            descs,
        ))
    }

    /// The statement handle, for [`super::cancel::CancelSlot::arm`].
    pub(crate) fn stmt(&self) -> odbc_api::sys::HStmt {
        self.stmt
    }

    /// Up to `max_rows` rows, stopping early once the batch holds `max_bytes` (at least one
    /// row), encoded for the wire. Returns the rows and whether the result set is exhausted.
    ///
    /// Rows already read (ahead) go out without waiting for the driver: once there is a row to
    /// send, another read is made only when the last one came back short, a sign that the
    /// result set ends, so that the answer can say so. A result set that goes on is thus
    /// read by [`Self::read_ahead`] while the previous batch is on the wire.
    ///
    /// # Errors
    /// Driver errors while fetching; values longer than a bulk buffer.
    pub(crate) fn fetch(
        &mut self,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<(EncodedRows, bool), DbError> {
        self.last_want = max_rows;
        let mut out = EncodedRows::new();
        while out.len() < max_rows && (out.byte_len() < max_bytes || out.is_empty()) {
            if self.pending.is_empty() {
                // An error comes after the rows read before it.
                if let Some(e) = self.deferred.take() {
                    if out.is_empty() {
                        return Err(e);
                    }
                    self.deferred = Some(e);
                    break;
                }
                if !out.is_empty() && self.last_read_full {
                    break;
                }
                match self.refill(max_rows - out.len(), max_bytes) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) if out.is_empty() && self.pending.is_empty() => return Err(e),
                    Err(e) => self.deferred = Some(e),
                }
            }
            self.pending.take_into(&mut out, max_rows, max_bytes);
        }
        Ok((out, self.is_exhausted()))
    }

    /// Reads the next batch ahead of the client's request, unless rows are already waiting.
    /// An error is kept for [`Self::fetch`], which reports it after the rows read before it.
    pub(crate) fn read_ahead(&mut self, max_bytes: usize) {
        if self.pending.is_empty() && self.deferred.is_none() {
            if let Err(e) = self.refill(self.last_want, max_bytes) {
                self.deferred = Some(e);
            }
        }
    }

    /// Every row was read and sent.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.pending.is_empty() && matches!(self.source, Source::Exhausted)
    }

    /// The result set goes on after a full buffer: bind one eight times larger (up to the
    /// limits) for the next fetch.
    fn grow_bulk_buffer(&mut self) -> Result<(), DbError> {
        let Source::Bulk(block, mut size) = std::mem::replace(&mut self.source, Source::Exhausted)
        else {
            return Ok(());
        };
        let (cursor, _old) = block.unbind().map_err(|e| from_odbc(&e))?;
        size.rows = (size.rows * 8).min(size.max_rows);
        let block = cursor
            .bind_buffer(size.buffer()?)
            .map_err(|e| from_odbc(&e))?;
        self.source = Source::Bulk(block, size);
        Ok(())
    }

    /// Reads more rows into `pending` (which is empty); false when there are none.
    fn refill(&mut self, want: usize, max_bytes: usize) -> Result<bool, DbError> {
        match &mut self.source {
            Source::Exhausted => Ok(false),
            Source::Bulk(block, size) => {
                let batch = block
                    .fetch_with_truncation_check(true)
                    .map_err(|e| from_odbc(&e))?;
                let Some(batch) = batch else {
                    self.source = Source::Exhausted;
                    self.last_read_full = false;
                    return Ok(false);
                };
                let n = batch.num_rows();
                self.last_read_full = n == size.rows;
                let grow = n == size.rows && size.rows < size.max_rows;
                let views: Vec<BulkView<'_>> = self
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| BulkView::new(batch, i, c.kind))
                    .collect();
                for r in 0..n {
                    self.pending.rows.begin_row(views.len());
                    for v in &views {
                        v.encode(r, &mut self.pending.rows);
                    }
                    self.pending.end_row();
                }
                if grow {
                    self.grow_bulk_buffer()?;
                }
                Ok(n > 0)
            }
            Source::Piecewise(cursor) => {
                let mut got = 0;
                while got < want.max(1) && self.pending.rows.byte_len() < max_bytes {
                    let Some(mut row) = cursor.next_row().map_err(|e| from_odbc(&e))? else {
                        self.source = Source::Exhausted;
                        break;
                    };
                    self.pending.rows.begin_row(self.columns.len());
                    for (i, c) in self.columns.iter().enumerate() {
                        let read = read_piece(
                            &mut row,
                            i as u16 + 1,
                            c.kind,
                            &mut self.piece,
                            &mut self.pending.rows,
                        );
                        if let Err(e) = read {
                            self.pending.drop_partial_row();
                            return Err(e.at_column(i + 1));
                        }
                    }
                    self.pending.end_row();
                    got += 1;
                }
                self.last_read_full = !matches!(self.source, Source::Exhausted);
                // Do not keep a buffer as large as the largest value read.
                if self.piece.capacity() > LONG_COLUMN_BYTES {
                    self.piece = Vec::new();
                }
                Ok(got > 0)
            }
        }
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

/// The bytes as text, replacing invalid UTF-8 (borrowed when valid, the common case).
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
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

/// One bulk column of a fetched batch, ready to encode cell by cell.
enum BulkView<'a> {
    Bool(NullableSlice<'a, Bit>),
    Int(NullableSlice<'a, i64>),
    Float(NullableSlice<'a, f64>),
    Decimal(TextColumnSlice<'a, u8>),
    Text(TextColumnSlice<'a, u8>),
    Bytes(BinColumnSlice<'a>),
    Date(NullableSlice<'a, SysDate>),
    Time(NullableSlice<'a, SysTime>),
    Timestamp(NullableSlice<'a, SysTimestamp>),
    /// The buffer is not of the kind's type (never: `describe` chose both).
    Mismatch,
}

impl<'a> BulkView<'a> {
    fn new(batch: &'a ColumnarDynBuffer, i: usize, kind: Kind) -> Self {
        let col = batch.column(i);
        let view = match kind {
            Kind::Bool => col.as_nullable_slice().map(Self::Bool),
            Kind::Int => col.as_nullable_slice().map(Self::Int),
            Kind::Float => col.as_nullable_slice().map(Self::Float),
            Kind::Decimal => col.as_text().map(Self::Decimal),
            Kind::Text => col.as_text().map(Self::Text),
            Kind::Bytes => col.as_binary().map(Self::Bytes),
            Kind::Date => col.as_nullable_slice().map(Self::Date),
            Kind::Time => col.as_nullable_slice().map(Self::Time),
            Kind::Timestamp => col.as_nullable_slice().map(Self::Timestamp),
        };
        view.unwrap_or(Self::Mismatch)
    }

    fn encode(&self, r: usize, out: &mut EncodedRows) {
        match self {
            Self::Bool(s) => match s.get(r) {
                Some(b) => out.push_bool(b.as_bool()),
                None => out.push_null(),
            },
            Self::Int(s) => match s.get(r) {
                Some(i) => out.push_int(*i),
                None => out.push_null(),
            },
            Self::Float(s) => match s.get(r) {
                Some(f) => out.push_float(*f),
                None => out.push_null(),
            },
            Self::Decimal(s) => match s.get(r) {
                Some(b) => out.push_decimal(text(b).trim()),
                None => out.push_null(),
            },
            Self::Text(s) => match s.get(r) {
                Some(b) => out.push_text(&text(b)),
                None => out.push_null(),
            },
            Self::Bytes(s) => match s.get(r) {
                Some(b) => out.push_bytes(b),
                None => out.push_null(),
            },
            Self::Date(s) => match s.get(r) {
                Some(d) => out.push_date(date(d)),
                None => out.push_null(),
            },
            Self::Time(s) => match s.get(r) {
                Some(t) => out.push_time(time(t)),
                None => out.push_null(),
            },
            Self::Timestamp(s) => match s.get(r) {
                Some(t) => out.push_timestamp(timestamp(t)),
                None => out.push_null(),
            },
            Self::Mismatch => out.push_null(),
        }
    }
}

/// The longest value read in pieces: it must fit in one answer frame.
pub const MAX_VALUE_BYTES: usize = crate::proto::MAX_FRAME_LEN - 1024 * 1024;

/// Why a piecewise read failed.
enum PieceError {
    Odbc(odbc_api::Error),
    /// The value is longer than [`MAX_VALUE_BYTES`].
    TooLong,
}

impl From<odbc_api::Error> for PieceError {
    fn from(e: odbc_api::Error) -> Self {
        Self::Odbc(e)
    }
}

impl PieceError {
    fn at_column(self, column: usize) -> DbError {
        match self {
            Self::Odbc(e) => from_odbc(&e),
            Self::TooLong => DbError::with_state(
                crate::error::ErrorClass::DataError,
                "22001",
                format!(
                    "column {column}: the value is longer than {MAX_VALUE_BYTES} bytes, the most one answer carries"
                ),
            ),
        }
    }
}

/// `CursorRow::get_text`/`get_binary` with a cap: reads column `i` in pieces into `buf`,
/// growing it at most to `cap` bytes. `Ok(false)` for NULL.
fn read_capped<K: VarKind<Element = u8>>(
    row: &mut odbc_api::CursorRow<'_>,
    i: u16,
    buf: &mut Vec<u8>,
    cap: usize,
) -> Result<bool, PieceError> {
    let zeros = K::TERMINATING_ZEROES;
    if buf.capacity() < 256 {
        buf.reserve(256);
    }
    buf.resize(buf.capacity().min(cap + zeros), 0);
    let mut target = VarCell::<&mut [u8], K>::from_buffer(buf.as_mut_slice(), Indicator::NoTotal);
    row.get_data(i, &mut target)?;
    while !target.is_complete() {
        let indicator = target.indicator();
        let fetched = target.len_in_bytes().unwrap_or(0);
        let old_len = buf.len();
        let wanted = match indicator {
            // Incomplete yet NULL: never (the caller ignores `buf` for NULL).
            Indicator::Null => return Ok(false),
            // The driver does not say how much is left: double.
            Indicator::NoTotal => old_len * 2,
            // It says how long the whole value is.
            Indicator::Length(len) => old_len + len.saturating_sub(fetched),
        };
        if wanted <= old_len {
            // A driver that neither completes nor says how much is missing.
            return Err(PieceError::TooLong);
        }
        if old_len >= cap + zeros {
            return Err(PieceError::TooLong);
        }
        buf.resize(wanted.min(cap + zeros), 0);
        target =
            VarCell::<&mut [u8], K>::from_buffer(&mut buf[(old_len - zeros)..], Indicator::NoTotal);
        row.get_data(i, &mut target)?;
    }
    match target.indicator().length() {
        Some(len) => {
            let shrink = target.capacity_in_bytes() - len.min(target.capacity_in_bytes());
            buf.truncate(buf.len() - shrink);
            if buf.len() > cap {
                return Err(PieceError::TooLong);
            }
            Ok(true)
        }
        None => {
            buf.clear();
            Ok(false)
        }
    }
}

/// Reads column `i` of the current row with `SQLGetData` (in pieces for text and binary,
/// into `buf`, at most [`MAX_VALUE_BYTES`]) and appends it to `out`.
fn read_piece(
    row: &mut odbc_api::CursorRow<'_>,
    i: u16,
    kind: Kind,
    buf: &mut Vec<u8>,
    out: &mut EncodedRows,
) -> Result<(), PieceError> {
    fn fixed<T: odbc_api::Pod>(
        row: &mut odbc_api::CursorRow<'_>,
        i: u16,
        out: &mut EncodedRows,
        push: impl Fn(&mut EncodedRows, T),
    ) -> Result<(), PieceError> {
        let mut v = Nullable::<T>::null();
        row.get_data(i, &mut v)?;
        match v.into_opt() {
            Some(v) => push(out, v),
            None => out.push_null(),
        }
        Ok(())
    }
    match kind {
        Kind::Bool => fixed::<Bit>(row, i, out, |o, b| o.push_bool(b.as_bool())),
        Kind::Int => fixed::<i64>(row, i, out, EncodedRows::push_int),
        Kind::Float => fixed::<f64>(row, i, out, EncodedRows::push_float),
        Kind::Date => fixed::<SysDate>(row, i, out, |o, d| o.push_date(date(&d))),
        Kind::Time => fixed::<SysTime>(row, i, out, |o, t| o.push_time(time(&t))),
        Kind::Timestamp => {
            fixed::<SysTimestamp>(row, i, out, |o, t| o.push_timestamp(timestamp(&t)))
        }
        Kind::Decimal | Kind::Text => {
            buf.clear();
            if read_capped::<Text>(row, i, buf, MAX_VALUE_BYTES)? {
                let s = text(buf);
                if kind == Kind::Decimal {
                    out.push_decimal(s.trim());
                } else {
                    out.push_text(&s);
                }
            } else {
                out.push_null();
            }
            Ok(())
        }
        Kind::Bytes => {
            buf.clear();
            if read_capped::<Binary>(row, i, buf, MAX_VALUE_BYTES)? {
                out.push_bytes(buf);
            } else {
                out.push_null();
            }
            Ok(())
        }
    }
}
