//! The bulk side of reading a result set: the shape of a cursor's columnar buffer and how it
//! grows (more rows while the result set goes on, wider columns when values outgrow the
//! sizes their driver declared), and a fetched batch's columns, ready to encode cell by cell.

use odbc_api::buffers::{
    BinColumnSlice, BufferDesc, ColumnarDynBuffer, NullableSlice, TextColumnSlice,
};
use odbc_api::Bit;

use super::cells::{pg_timestamp, CellError, Kind, RecentDays};
use super::diag::from_odbc;
use crate::error::DbError;
use crate::proto::rows::EncodedRows;

/// The most memory one cursor's bulk buffer may take.
pub const BULK_BUFFER_BYTES: usize = 4 * 1024 * 1024;
/// The most rows one bulk fetch asks for.
pub const MAX_BULK_ROWS: usize = 4096;
/// The rows of a result set's first bulk buffer (it grows while the result set goes on).
pub const FIRST_BULK_ROWS: usize = 32;
/// A bulk column whose values outgrew their buffer is widened at most to this many bytes;
/// longer values are each read again whole.
pub const MAX_WIDENED_COLUMN_BYTES: usize = 64 * 1024;

/// The bulk buffer's shape and how far it may grow.
pub(crate) struct BulkSize {
    pub(crate) descs: Vec<BufferDesc>,
    /// Rows the bound buffer holds now.
    pub(crate) rows: usize,
    /// Rows it may grow to (bounded by [`BULK_BUFFER_BYTES`] and [`MAX_BULK_ROWS`]).
    pub(crate) max_rows: usize,
}

impl BulkSize {
    pub(crate) fn new(descs: Vec<BufferDesc>, rows: usize) -> Self {
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

    pub(crate) fn buffer(&self) -> Result<ColumnarDynBuffer, DbError> {
        ColumnarDynBuffer::try_from_descs(self.rows, self.descs.iter().copied())
            .map_err(|e| from_odbc(&e))
    }

    /// The bytes a value of column `i` may have in the buffer (`None` for fixed-size columns).
    pub(crate) fn capacity(&self, i: usize) -> Option<usize> {
        match self.descs.get(i)? {
            BufferDesc::Text { max_str_len } => Some(*max_str_len),
            BufferDesc::Binary { max_bytes } => Some(*max_bytes),
            _ => None,
        }
    }

    /// Widens column `i` to hold values of `len` bytes (up to [`MAX_WIDENED_COLUMN_BYTES`], and
    /// as long as one row fits [`BULK_BUFFER_BYTES`]); false if it holds them already or
    /// cannot grow.
    pub(crate) fn widen(&mut self, i: usize, len: usize) -> bool {
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

/// One bulk column of a fetched batch, ready to encode cell by cell.
pub(crate) enum BulkView<'a> {
    Bool(NullableSlice<'a, Bit>),
    Int(NullableSlice<'a, i64>),
    Float(NullableSlice<'a, f64>),
    /// PostgreSQL timestamps as psqlodbc's structs (see [`pg_timestamp`]).
    Timestamp(NullableSlice<'a, odbc_api::sys::Timestamp>),
    Text(TextColumnSlice<'a, u8>),
    Bytes(BinColumnSlice<'a>),
    /// The buffer is not of the kind's type (never: `describe` chose both).
    Mismatch,
}

impl<'a> BulkView<'a> {
    pub(crate) fn new(batch: &'a ColumnarDynBuffer, i: usize, kind: Kind) -> Self {
        let col = batch.column(i);
        let view = match kind {
            Kind::Bool => col.as_nullable_slice().map(Self::Bool),
            Kind::Int => col.as_nullable_slice().map(Self::Int),
            Kind::Float => col.as_nullable_slice().map(Self::Float),
            Kind::Bytes => col.as_binary().map(Self::Bytes),
            // As a struct for PostgreSQL, as text for the others (`describe` chose which).
            Kind::Timestamp => col
                .as_nullable_slice()
                .map(Self::Timestamp)
                .or_else(|| batch.column(i).as_text().map(Self::Text)),
            Kind::Decimal | Kind::Text | Kind::Date | Kind::Time | Kind::Uuid | Kind::Sqlite(_) => {
                col.as_text().map(Self::Text)
            }
        };
        view.unwrap_or(Self::Mismatch)
    }

    /// The cell of row `r` of a text or binary column (`Some(None)` for NULL); `None` for a
    /// fixed-size column.
    pub(crate) fn var_cell(&self, r: usize) -> Option<Option<&'a [u8]>> {
        match self {
            Self::Text(s) => Some(s.get(r)),
            Self::Bytes(s) => Some(s.get(r)),
            _ => None,
        }
    }

    /// True if the driver's indicators say a value of this batch did not fit its buffer.
    pub(crate) fn has_truncated(&self) -> bool {
        match self {
            Self::Text(s) => s.has_truncated_values().is_some(),
            Self::Bytes(s) => s.has_truncated_values().is_some(),
            _ => false,
        }
    }

    /// Encodes the cell of row `r` of a fixed-size column, unless it is to be read again as
    /// text ([`Fixed::ReadAsText`]: a timestamp psqlodbc may have made up, see
    /// [`pg_timestamp`], whose `recent` days are the ones to doubt).
    pub(crate) fn encode_fixed(
        &self,
        r: usize,
        out: &mut EncodedRows,
        recent: RecentDays,
    ) -> Result<Fixed, CellError> {
        match self {
            Self::Timestamp(s) => match s.get(r) {
                Some(ts) => match pg_timestamp(ts, recent) {
                    Some(t) => out.push_timestamp(t),
                    None => return Ok(Fixed::ReadAsText),
                },
                None => out.push_null(),
            },
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
        Ok(Fixed::Encoded)
    }
}

/// What [`BulkView::encode_fixed`] did with a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fixed {
    /// Encoded from the buffer.
    Encoded,
    /// The buffer may not hold the value: read the cell again as text.
    ReadAsText,
}

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
