//! Reading result sets into wire values, in batches of bounded size.
//!
//! Two ways to read, chosen per result set when it is opened:
//!
//! - **Bulk**: when every column has a bounded size of at most [`LONG_COLUMN_BYTES`], rows are
//!   fetched with `odbc-api` columnar buffers, many rows per `SQLFetch`. The buffer holds at
//!   most [`BULK_BUFFER_BYTES`], so server memory per cursor stays bounded whatever the result
//!   size. It starts at [`FIRST_BULK_ROWS`] rows and grows eightfold each time a fetch fills
//!   it, so a point query does not pay for (allocating and zeroing) a buffer sized for a
//!   million-row scan. A driver's declared column size is a hint, not a promise: a value that
//!   fills its buffer is read again whole (see [`super::rowset`]) and the column's buffer is
//!   widened for the next fetch. Truncation is never silent.
//! - **Piecewise**: when any column is long or of unknown size (PostgreSQL `text`/`bytea`,
//!   `VARCHAR(MAX)`), and for every SQLite result set, rows are fetched one at a time and each
//!   value read with `SQLGetData` in pieces, so a column reported as gigabytes wide costs only
//!   the size of the actual values.
//!
//! Values are read in the C type that holds them exactly: integers, floats and booleans as
//! such; decimals, dates, times and timestamps as the driver's text (ODBC's date structs have no
//! room for fractions of a time, BC years, years past 9999 or infinities), sent typed only when
//! the text reads back identically, else as the text itself; SQLite cells as the text sqliteodbc
//! holds, classified by storage class (see [`sqlite_cell`](super::cells::sqlite_cell)). The README's type table lists the
//! mapping for every type.
//!
//! Either way, a batch on the wire stops at the client's row count or at `max_chunk_length`
//! bytes, whichever comes first (at least one row, so a huge row still moves).

use std::sync::Arc;

use odbc_api::buffers::{
    BinColumnSlice, BufferDesc, ColumnarDynBuffer, NullableSlice, TextColumnSlice,
};
use odbc_api::handles::{Nullability, StatementConnection};
use odbc_api::{Bit, BlockCursor, Connection, Cursor, CursorImpl, DataType, ResultSetMetadata};

pub(crate) use super::cells::Dialect;
use super::cells::{encode_var, sqlite_column, CellError, Kind};
use super::diag::from_odbc;
use super::pieces::{read_piece, reread};
use super::stmt_attr::column_type_name;
use crate::error::DbError;
use crate::proto::rows::EncodedRows;
use crate::proto::value::ColumnDesc;

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
/// A bulk column whose values outgrew their buffer is widened at most to this many bytes;
/// longer values are each read again whole.
pub const MAX_WIDENED_COLUMN_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
struct Column {
    kind: Kind,
    /// The column's name, for error messages.
    name: String,
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
    fn new(descs: Vec<BufferDesc>, rows: usize) -> Self {
        let row_bytes: usize = descs
            .iter()
            .map(BufferDesc::bytes_per_row)
            .sum::<usize>()
            .max(1);
        let max_rows = (BULK_BUFFER_BYTES / row_bytes).clamp(1, MAX_BULK_ROWS);
        Self {
            descs,
            rows: rows.min(max_rows),
            max_rows,
        }
    }

    fn buffer(&self) -> Result<ColumnarDynBuffer, DbError> {
        ColumnarDynBuffer::try_from_descs(self.rows, self.descs.iter().copied())
            .map_err(|e| from_odbc(&e))
    }

    /// The bytes a value of column `i` may have in the buffer (`None` for fixed-size columns).
    fn capacity(&self, i: usize) -> Option<usize> {
        match self.descs.get(i)? {
            BufferDesc::Text { max_str_len } => Some(*max_str_len),
            BufferDesc::Binary { max_bytes } => Some(*max_bytes),
            _ => None,
        }
    }

    /// Widens column `i` to hold values of `len` bytes (up to [`MAX_WIDENED_COLUMN_BYTES`], and
    /// as long as one row fits [`BULK_BUFFER_BYTES`]); false if it holds them already or
    /// cannot grow.
    fn widen(&mut self, i: usize, len: usize) -> bool {
        let wanted = len
            .saturating_add(1)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX)
            .min(MAX_WIDENED_COLUMN_BYTES);
        let Some(&before) = self.descs.get(i) else {
            return false;
        };
        let grown = match self.descs.get_mut(i) {
            Some(BufferDesc::Text { max_str_len }) if *max_str_len < wanted => {
                *max_str_len = wanted;
                true
            }
            Some(BufferDesc::Binary { max_bytes }) if *max_bytes < wanted => {
                *max_bytes = wanted;
                true
            }
            _ => false,
        };
        if !grown {
            return false;
        }
        // One row must still fit the buffer's bound: past it, values are read again instead.
        let row_bytes: usize = self.descs.iter().map(BufferDesc::bytes_per_row).sum();
        if row_bytes > BULK_BUFFER_BYTES {
            self.descs[i] = before;
            return false;
        }
        *self = Self::new(std::mem::take(&mut self.descs), self.rows);
        true
    }
}

/// An open result set.
pub(crate) struct ResultSet {
    columns: Vec<Column>,
    /// The database, for the readings that depend on its driver.
    dialect: Dialect,
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
    /// Describes the cursor's columns and prepares to read them the way `dialect`'s driver
    /// needs (SQLite cells are read piecewise, as text, and classified).
    ///
    /// # Errors
    /// Driver errors while describing or binding.
    pub(crate) fn open(
        mut cursor: OwnedCursor,
        dialect: Dialect,
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
            let (desc, col) = describe(&mut cursor, stmt, i, dialect)?;
            descs.push(desc);
            columns.push(col);
        }
        let bulk: Option<Vec<BufferDesc>> = columns.iter().map(|c| c.bulk).collect();
        let source = match bulk {
            Some(descs) if !descs.is_empty() => {
                let size = BulkSize::new(descs, FIRST_BULK_ROWS);
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
                dialect,
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

    /// Binds a new bulk buffer for the next fetch: eight times as many rows when `grow` (the
    /// result set goes on after a full buffer; up to the limits), with the columns widened in
    /// `size` since the last bind.
    fn rebind_bulk_buffer(&mut self, grow: bool) -> Result<(), DbError> {
        let Source::Bulk(block, mut size) = std::mem::replace(&mut self.source, Source::Exhausted)
        else {
            return Ok(());
        };
        let (cursor, _old) = block.unbind().map_err(|e| from_odbc(&e))?;
        if grow {
            size.rows = (size.rows * 8).min(size.max_rows);
        }
        let block = cursor
            .bind_buffer(size.buffer()?)
            .map_err(|e| from_odbc(&e))?;
        self.source = Source::Bulk(block, size);
        Ok(())
    }

    /// Reads more rows into `pending` (which is empty); false when there are none.
    fn refill(&mut self, want: usize, max_bytes: usize) -> Result<bool, DbError> {
        let Self {
            columns,
            source,
            pending,
            stmt,
            piece,
            last_read_full,
            dialect,
            ..
        } = self;
        match source {
            Source::Exhausted => Ok(false),
            Source::Bulk(block, size) => {
                let batch = block
                    .fetch_with_truncation_check(false)
                    .map_err(|e| from_odbc(&e))?;
                let Some(batch) = batch else {
                    *source = Source::Exhausted;
                    *last_read_full = false;
                    return Ok(false);
                };
                let n = batch.num_rows();
                *last_read_full = n == size.rows;
                let grow = n == size.rows && size.rows < size.max_rows;
                let views: Vec<BulkView<'_>> = columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| BulkView::new(batch, i, c.kind))
                    .collect();
                // Columns where the driver says a value did not fit (by its indicator).
                let truncated: Vec<bool> = views.iter().map(BulkView::has_truncated).collect();
                // The longest value of each column that did not fit its buffer.
                let mut outgrown = vec![0usize; views.len()];
                let mut failed = None;
                'rows: for r in 0..n {
                    pending.rows.begin_row(views.len());
                    for (i, (view, column)) in views.iter().zip(columns.iter()).enumerate() {
                        let cell = match view.var_cell(r) {
                            None => view.encode_fixed(r, &mut pending.rows),
                            Some(None) => {
                                pending.rows.push_null();
                                Ok(())
                            }
                            // In a column with a cut value, one that (nearly: a driver may cut
                            // at a character's start) fills its buffer may go on: read it
                            // again, whole.
                            Some(Some(value))
                                if truncated[i]
                                    && size
                                        .capacity(i)
                                        .is_some_and(|cap| value.len() + MAX_CHAR_BYTES > cap) =>
                            {
                                reread(*stmt, r, i, column.kind, piece).and_then(|whole| {
                                    tracing::debug!(
                                        column = %column.name,
                                        bytes = whole.len(),
                                        "value outgrew its bulk buffer: read again whole"
                                    );
                                    outgrown[i] = outgrown[i].max(whole.len());
                                    encode_var(column.kind, *dialect, whole, &mut pending.rows)
                                })
                            }
                            Some(Some(value)) => {
                                encode_var(column.kind, *dialect, value, &mut pending.rows)
                            }
                        };
                        if let Err(e) = cell {
                            pending.drop_partial_row();
                            failed = Some(e.at_column(i, &column.name));
                            break 'rows;
                        }
                    }
                    pending.end_row();
                }
                if let Some(e) = failed {
                    // The rest of the batch is gone with the cell: the result set ends here
                    // (after the rows before it and the error), never with a silent gap.
                    *source = Source::Exhausted;
                    return Err(e);
                }
                let mut widened = false;
                for (i, &len) in outgrown.iter().enumerate() {
                    if len > 0 {
                        widened |= size.widen(i, len);
                    }
                }
                if piece.capacity() > LONG_COLUMN_BYTES {
                    *piece = Vec::new();
                }
                if grow || widened {
                    self.rebind_bulk_buffer(grow)?;
                }
                Ok(n > 0)
            }
            Source::Piecewise(cursor) => {
                let mut got = 0;
                while got < want.max(1) && pending.rows.byte_len() < max_bytes {
                    let Some(mut row) = cursor.next_row().map_err(|e| from_odbc(&e))? else {
                        *source = Source::Exhausted;
                        break;
                    };
                    pending.rows.begin_row(columns.len());
                    let mut failed = None;
                    for (i, c) in columns.iter().enumerate() {
                        let column = i as u16 + 1;
                        let read = read_piece(
                            &mut row,
                            column,
                            c.kind,
                            *dialect,
                            piece,
                            &mut pending.rows,
                        );
                        if let Err(e) = read {
                            failed = Some(e.at_column(i, &c.name));
                            break;
                        }
                    }
                    if let Some(e) = failed {
                        // Like a bulk batch: the result set ends after the rows before the
                        // error and the error.
                        pending.drop_partial_row();
                        *source = Source::Exhausted;
                        return Err(e);
                    }
                    pending.end_row();
                    got += 1;
                }
                *last_read_full = !matches!(source, Source::Exhausted);
                // Do not keep a buffer as large as the largest value read (nor in bulk above).
                if piece.capacity() > LONG_COLUMN_BYTES {
                    *piece = Vec::new();
                }
                Ok(got > 0)
            }
        }
    }
}

fn describe(
    cursor: &mut OwnedCursor,
    stmt: odbc_api::sys::HStmt,
    i: u16,
    dialect: Dialect,
) -> Result<(ColumnDesc, Column), DbError> {
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
    let text = |max_str_len: usize| Some(BufferDesc::Text { max_str_len });
    let (kind, bulk) = match dt {
        _ if dialect == Dialect::Sqlite => {
            let declared = column_type_name(stmt, i).unwrap_or_default();
            (Kind::Sqlite(sqlite_column(&declared, dt)), None)
        }
        DataType::Bit => (Kind::Bool, Some(BufferDesc::Bit { nullable: true })),
        DataType::TinyInt | DataType::SmallInt | DataType::Integer | DataType::BigInt => {
            (Kind::Int, Some(BufferDesc::I64 { nullable: true }))
        }
        // psqlodbc describes `money` as a float: its text (`-$1,234.56`) is the value.
        DataType::Real | DataType::Float { .. } | DataType::Double
            if dialect == Dialect::Postgres
                && column_type_name(stmt, i).is_some_and(|n| n.eq_ignore_ascii_case("money")) =>
        {
            (Kind::Text, text(64))
        }
        DataType::Real | DataType::Float { .. } | DataType::Double => {
            (Kind::Float, Some(BufferDesc::F64 { nullable: true }))
        }
        // Sign, leading zero and point besides the digits; longer values are read again.
        DataType::Numeric { precision, .. } | DataType::Decimal { precision, .. } => (
            Kind::Decimal,
            text(precision.saturating_add(3).clamp(40, LONG_COLUMN_BYTES)),
        ),
        DataType::Date => (Kind::Date, text(32)),
        DataType::Time { .. } => (Kind::Time, text(32)),
        DataType::Timestamp { .. } => (Kind::Timestamp, text(48)),
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
                .and_then(text),
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
        // SQL_GUID.
        DataType::Other { data_type, .. } if data_type.0 == -11 && dialect == Dialect::Postgres => {
            (Kind::Uuid, text(40))
        }
        DataType::Unknown | DataType::Other { .. } => (Kind::Text, None),
    };
    Ok((
        ColumnDesc {
            name: name.clone(),
            type_code: dt.data_type().0,
            display_size,
            internal_size,
            precision,
            scale,
            null_ok,
        },
        Column { kind, name, bulk },
    ))
}

/// One bulk column of a fetched batch, ready to encode cell by cell.
enum BulkView<'a> {
    Bool(NullableSlice<'a, Bit>),
    Int(NullableSlice<'a, i64>),
    Float(NullableSlice<'a, f64>),
    Text(TextColumnSlice<'a, u8>),
    Bytes(BinColumnSlice<'a>),
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
            Kind::Bytes => col.as_binary().map(Self::Bytes),
            Kind::Decimal
            | Kind::Text
            | Kind::Date
            | Kind::Time
            | Kind::Timestamp
            | Kind::Uuid
            | Kind::Sqlite(_) => col.as_text().map(Self::Text),
        };
        view.unwrap_or(Self::Mismatch)
    }

    /// The cell of row `r` of a text or binary column (`Some(None)` for NULL); `None` for a
    /// fixed-size column.
    fn var_cell(&self, r: usize) -> Option<Option<&'a [u8]>> {
        match self {
            Self::Text(s) => Some(s.get(r)),
            Self::Bytes(s) => Some(s.get(r)),
            _ => None,
        }
    }

    /// True if the driver's indicators say a value of this batch did not fit its buffer.
    fn has_truncated(&self) -> bool {
        match self {
            Self::Text(s) => s.has_truncated_values().is_some(),
            Self::Bytes(s) => s.has_truncated_values().is_some(),
            _ => false,
        }
    }

    /// Encodes the cell of row `r` of a fixed-size column.
    fn encode_fixed(&self, r: usize, out: &mut EncodedRows) -> Result<(), CellError> {
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
            Self::Text(_) | Self::Bytes(_) | Self::Mismatch => return Err(CellError::Mismatch),
        }
        Ok(())
    }
}

/// The most bytes a driver may leave unused at the end of a buffer it cut a value into (it
/// cuts before a character it cannot fit whole: at most 3 bytes of UTF-8, and a terminator).
const MAX_CHAR_BYTES: usize = 4;

#[cfg(test)]
mod tests {
    use super::{BufferDesc, BulkSize, BULK_BUFFER_BYTES, MAX_WIDENED_COLUMN_BYTES};

    #[test]
    fn widening_stays_within_the_buffer_bound() {
        let text = |max_str_len| BufferDesc::Text { max_str_len };
        let mut size = BulkSize::new(vec![BufferDesc::I64 { nullable: true }, text(40)], 32);
        assert!(size.widen(1, 59));
        assert_eq!(size.descs[1], text(64));
        assert!(!size.widen(1, 60), "already wide enough");
        assert!(size.widen(1, 1_000_000));
        assert_eq!(size.descs[1], text(MAX_WIDENED_COLUMN_BYTES));
        // Many wide columns: a row must still fit the bound, so the last ones stay as they are.
        let mut size = BulkSize::new(vec![text(40); 100], 32);
        let widened = (0..100).filter(|&i| size.widen(i, 60_000)).count();
        assert!(widened < 100);
        let row: usize = size.descs.iter().map(BufferDesc::bytes_per_row).sum();
        assert!(row <= BULK_BUFFER_BYTES);
        assert!(size.rows >= 1 && size.rows <= size.max_rows);
    }
}
