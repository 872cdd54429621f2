//! Reading one value with `SQLGetData`, in pieces, with a cap: from the current row of a
//! piecewise cursor ([`read_piece`]) or, for a value that outgrew its bulk buffer, from a row of
//! the rowset just fetched ([`reread`]).

use odbc_api::buffers::Indicator;
use odbc_api::parameter::{Binary, Text, VarCell, VarKind};
use odbc_api::{Bit, Nullable};

use super::cells::{encode_var, sqlite_cell, CellError, Dialect, Kind, MAX_VALUE_BYTES};
use super::rowset::Positioned;
use crate::proto::rows::EncodedRows;

/// Reads column `i` (0-based) of row `r` of the rowset just fetched again, whole, into `buf`.
pub(crate) fn reread(
    stmt: odbc_api::sys::HStmt,
    r: usize,
    i: usize,
    kind: Kind,
    buf: &mut Vec<u8>,
) -> Result<&[u8], CellError> {
    let mut positioned = Positioned::at_row(stmt, r).map_err(CellError::CannotReread)?;
    let column = u16::try_from(i + 1).unwrap_or(u16::MAX);
    buf.clear();
    let present = if kind == Kind::Bytes {
        read_capped::<Binary>(
            &mut |t| positioned.get_data(column, t),
            buf,
            MAX_VALUE_BYTES,
        )?
    } else {
        read_capped::<Text>(
            &mut |t| positioned.get_data(column, t),
            buf,
            MAX_VALUE_BYTES,
        )?
    };
    // It was not NULL a moment ago; a driver that now says so gives no value to send.
    if !present {
        return Err(CellError::Vanished);
    }
    Ok(buf)
}

/// One `SQLGetData` call into a piece of a text or binary value.
type GetPiece<'a, K> = dyn FnMut(&mut VarCell<&mut [u8], K>) -> Result<(), odbc_api::Error> + 'a;

/// `CursorRow::get_text`/`get_binary` with a cap: reads a column in pieces with `get` into
/// `buf`, growing it at most to `cap` bytes. `Ok(false)` for NULL.
fn read_capped<K: VarKind<Element = u8>>(
    get: &mut GetPiece<'_, K>,
    buf: &mut Vec<u8>,
    cap: usize,
) -> Result<bool, CellError> {
    let zeros = K::TERMINATING_ZEROES;
    if buf.capacity() < 256 {
        buf.reserve(256);
    }
    buf.resize(buf.capacity().min(cap + zeros), 0);
    let mut target = VarCell::<&mut [u8], K>::from_buffer(buf.as_mut_slice(), Indicator::NoTotal);
    get(&mut target)?;
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
            return Err(CellError::TooLong);
        }
        if old_len >= cap + zeros {
            return Err(CellError::TooLong);
        }
        buf.resize(wanted.min(cap + zeros), 0);
        target =
            VarCell::<&mut [u8], K>::from_buffer(&mut buf[(old_len - zeros)..], Indicator::NoTotal);
        get(&mut target)?;
    }
    match target.indicator().length() {
        Some(len) => {
            let shrink = target.capacity_in_bytes() - len.min(target.capacity_in_bytes());
            buf.truncate(buf.len() - shrink);
            if buf.len() > cap {
                return Err(CellError::TooLong);
            }
            Ok(true)
        }
        None => {
            buf.clear();
            Ok(false)
        }
    }
}

/// Reads column `i` of the current row with `SQLGetData` (in pieces for values read as text or
/// binary, into `buf`, at most [`MAX_VALUE_BYTES`]) and appends it to `out`.
pub(crate) fn read_piece(
    row: &mut odbc_api::CursorRow<'_>,
    i: u16,
    kind: Kind,
    dialect: Dialect,
    buf: &mut Vec<u8>,
    out: &mut EncodedRows,
) -> Result<(), CellError> {
    fn fixed<T: odbc_api::Pod>(
        row: &mut odbc_api::CursorRow<'_>,
        i: u16,
        out: &mut EncodedRows,
        push: impl Fn(&mut EncodedRows, T),
    ) -> Result<(), CellError> {
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
        Kind::Bytes => {
            buf.clear();
            if read_capped::<Binary>(&mut |t| row.get_data(i, t), buf, MAX_VALUE_BYTES)? {
                out.push_bytes(buf);
            } else {
                out.push_null();
            }
            Ok(())
        }
        _ => {
            buf.clear();
            // A SQLite blob arrives spelled out in hex: twice its length and three bytes.
            let cap = if matches!(kind, Kind::Sqlite(_)) {
                2 * MAX_VALUE_BYTES + 3
            } else {
                MAX_VALUE_BYTES
            };
            if read_capped::<Text>(&mut |t| row.get_data(i, t), buf, cap)? {
                match kind {
                    // ODBC's column `i` is SQLite's `i - 1`.
                    Kind::Sqlite(column) => {
                        sqlite_cell(column, usize::from(i).checked_sub(1), buf, out)
                    }
                    _ => encode_var(kind, dialect, buf, out),
                }
            } else {
                out.push_null();
                Ok(())
            }
        }
    }
}
