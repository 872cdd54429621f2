//! `ExecuteMany` with parameter arrays: every set bound at once, column-wise, to buffers of
//! this module, and the prepared statement executed once (`SQL_ATTR_PARAMSET_SIZE`), for
//! drivers that support arrays (`SQL_PARAM_ARRAY_ROW_COUNTS`). The driver reports each set's
//! outcome in a status array (`SQL_ATTR_PARAM_STATUS_PTR`), which gives the failing set.
//!
//! Only sets whose columns each hold one kind of value (integers, floats, text or decimals,
//! NULLs anywhere) go as arrays, within [`MAX_ARRAY_BYTES`] of buffers; anything else runs
//! set by set. Parameters are unbound and the attributes reset before the buffers go.
#![allow(unsafe_code)]

use odbc_api::sys::{
    CDataType, HStmt, ParamType, Pointer, SqlDataType, SqlReturn, StatementAttribute,
};

use super::odbc_calls::{self, succeeded};
use crate::proto::value::Value;

/// The most bytes of buffers one array execution may take.
pub const MAX_ARRAY_BYTES: usize = 16 * 1024 * 1024;

const NULL_DATA: isize = -1;
/// `SQL_PARAM_ERROR` in the status array.
const PARAM_ERROR: u16 = 5;
/// `SQL_PARAM_UNUSED`, what the status array starts as.
const PARAM_UNUSED: u16 = 7;

enum Column {
    Int(Vec<i64>),
    Float(Vec<f64>),
    /// Fixed-width text cells (`width` bytes each, the last a NUL); `numeric` gives precision
    /// and scale for decimals.
    Text {
        cells: Vec<u8>,
        width: usize,
        numeric: Option<(usize, i16)>,
    },
}

/// The sets of an `ExecuteMany`, as parameter arrays.
pub(crate) struct ParamArrays {
    columns: Vec<(Column, Vec<isize>)>,
    rows: usize,
    status: Vec<u16>,
    processed: usize,
}

/// How an array execution ended.
pub(crate) enum ArrayOutcome {
    /// Every set ran; the rows they affected (`None` when unknown).
    Done(Option<i64>),
    /// A set failed (the driver's status array does not reliably say which).
    Failed,
    /// The driver refused the arrays before running anything: run set by set instead.
    Refused,
}

/// Digits before and after the point of a decimal's text.
fn decimal_shape(d: &str) -> Option<(usize, usize)> {
    let d = d.strip_prefix('-').unwrap_or(d);
    let (int, frac) = d.split_once('.').unwrap_or((d, ""));
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((int.len(), frac.len()))
}

/// Fixed-width cells for a text column (`None` for NULL), each as wide as the longest plus a
/// NUL, with their indicators; `bytes` counts the buffers against [`MAX_ARRAY_BYTES`].
/// `None` when over the budget or a text holds a NUL (the driver would read it as the end).
fn text_cells(
    texts: &[Option<&str>],
    ind: &mut [isize],
    bytes: &mut usize,
) -> Option<(Vec<u8>, usize)> {
    let width = texts.iter().flatten().map(|t| t.len()).max().unwrap_or(0) + 1;
    *bytes = bytes.checked_add(width.checked_mul(texts.len())?)?;
    if *bytes > MAX_ARRAY_BYTES {
        return None;
    }
    let mut cells = vec![0u8; width * texts.len()];
    for (r, t) in texts.iter().enumerate() {
        match t {
            Some(t) if t.as_bytes().contains(&0) => return None,
            Some(t) => {
                cells[r * width..r * width + t.len()].copy_from_slice(t.as_bytes());
                ind[r] = t.len() as isize;
            }
            None => ind[r] = NULL_DATA,
        }
    }
    Some((cells, width))
}

impl ParamArrays {
    /// The sets as arrays, or `None` when they cannot go as arrays.
    pub(crate) fn new(sets: &[Vec<Value>]) -> Option<Self> {
        let rows = sets.len();
        let width = sets.first()?.len();
        if rows < 2 || width == 0 || sets.iter().any(|s| s.len() != width) {
            return None;
        }
        let mut columns = Vec::with_capacity(width);
        let mut bytes = 0usize;
        for c in 0..width {
            let cells = sets.iter().map(|s| &s[c]);
            let kind = cells.clone().find(|v| !matches!(v, Value::Null));
            let mut ind = vec![0isize; rows];
            let column = match kind {
                None | Some(Value::Text(_)) => {
                    let texts: Option<Vec<Option<&str>>> = cells
                        .map(|v| match v {
                            Value::Text(t) => Some(Some(t.as_str())),
                            Value::Null => Some(None),
                            _ => None,
                        })
                        .collect();
                    let (cells, width) = text_cells(&texts?, &mut ind, &mut bytes)?;
                    Column::Text {
                        cells,
                        width,
                        numeric: None,
                    }
                }
                Some(Value::Decimal(_)) => {
                    let mut int_digits = 1;
                    let mut scale = 0;
                    let mut texts = Vec::with_capacity(rows);
                    for v in cells {
                        match v {
                            Value::Decimal(d) => {
                                let (i, f) = decimal_shape(d)?;
                                int_digits = int_digits.max(i);
                                scale = scale.max(f);
                                texts.push(Some(d.as_str()));
                            }
                            Value::Null => texts.push(None),
                            _ => return None,
                        }
                    }
                    let (cells, width) = text_cells(&texts, &mut ind, &mut bytes)?;
                    Column::Text {
                        cells,
                        width,
                        numeric: Some((int_digits + scale, i16::try_from(scale).ok()?)),
                    }
                }
                Some(Value::Int(_)) => {
                    let mut out = vec![0i64; rows];
                    for (r, v) in cells.enumerate() {
                        match v {
                            Value::Int(i) => out[r] = *i,
                            Value::Null => ind[r] = NULL_DATA,
                            _ => return None,
                        }
                    }
                    bytes = bytes.checked_add(rows * 16)?;
                    Column::Int(out)
                }
                Some(Value::Float(_)) => {
                    let mut out = vec![0f64; rows];
                    for (r, v) in cells.enumerate() {
                        match v {
                            Value::Float(x) => out[r] = *x,
                            Value::Null => ind[r] = NULL_DATA,
                            _ => return None,
                        }
                    }
                    bytes = bytes.checked_add(rows * 16)?;
                    Column::Float(out)
                }
                Some(_) => return None,
            };
            columns.push((column, ind));
        }
        if bytes > MAX_ARRAY_BYTES {
            return None;
        }
        Some(Self {
            columns,
            rows,
            status: vec![PARAM_UNUSED; rows],
            processed: 0,
        })
    }

    /// Binds the arrays to `stmt` (a prepared statement with no cursor open, owned by the
    /// calling thread), executes it once, and unbinds them.
    pub(crate) fn execute(&mut self, stmt: HStmt) -> ArrayOutcome {
        let bound = self.bind(stmt);
        let outcome = if bound {
            // SAFETY: `stmt` is a live prepared statement owned by this thread; every bound
            // buffer, the status array and the processed count belong to `self`, which
            // outlives the call and is not moved or resized until `unbind` below.
            let rc = unsafe { odbc_api::sys::SQLExecute(stmt) };
            self.outcome(stmt, rc)
        } else {
            ArrayOutcome::Refused
        };
        self.unbind(stmt);
        outcome
    }

    fn bind(&mut self, stmt: HStmt) -> bool {
        let status = self.status.as_mut_ptr();
        let processed: *mut usize = &mut self.processed;
        // SAFETY (every call of this function): `stmt` is a live prepared statement owned by
        // this thread; the pointers passed point into `self`'s vectors and fields, which
        // stay put (no resizing, `self` not moved) until `unbind` resets every binding and
        // attribute; lengths and widths are those of the buffers.
        unsafe {
            let ok = |rc| succeeded(rc);
            if !ok(odbc_calls::set_stmt_attr(
                stmt,
                StatementAttribute::ParamBindType,
                0,
            )) || !ok(odbc_calls::set_stmt_attr(
                stmt,
                StatementAttribute::ParamsetSize,
                self.rows,
            )) || !ok(odbc_api::sys::SQLSetStmtAttr(
                stmt,
                StatementAttribute::ParamStatusPtr,
                status as Pointer,
                0,
            )) || !ok(odbc_api::sys::SQLSetStmtAttr(
                stmt,
                StatementAttribute::ParamsProcessedPtr,
                processed as Pointer,
                0,
            )) {
                return false;
            }
            for (i, (column, ind)) in self.columns.iter_mut().enumerate() {
                let n = (i + 1) as u16;
                let ind = ind.as_mut_ptr();
                let rc = match column {
                    Column::Int(v) => odbc_api::sys::SQLBindParameter(
                        stmt,
                        n,
                        ParamType::Input,
                        CDataType::SBigInt,
                        SqlDataType::EXT_BIG_INT,
                        0,
                        0,
                        v.as_mut_ptr() as Pointer,
                        8,
                        ind,
                    ),
                    Column::Float(v) => odbc_api::sys::SQLBindParameter(
                        stmt,
                        n,
                        ParamType::Input,
                        CDataType::Double,
                        SqlDataType::DOUBLE,
                        0,
                        0,
                        v.as_mut_ptr() as Pointer,
                        8,
                        ind,
                    ),
                    Column::Text {
                        cells,
                        width,
                        numeric,
                    } => {
                        let (sql_type, size, digits) = match numeric {
                            Some((precision, scale)) => (SqlDataType::NUMERIC, *precision, *scale),
                            None => (SqlDataType::VARCHAR, (*width - 1).max(1), 0),
                        };
                        odbc_api::sys::SQLBindParameter(
                            stmt,
                            n,
                            ParamType::Input,
                            CDataType::Char,
                            sql_type,
                            size,
                            digits,
                            cells.as_mut_ptr() as Pointer,
                            *width as isize,
                            ind,
                        )
                    }
                };
                if !ok(rc) {
                    return false;
                }
            }
        }
        true
    }

    fn outcome(&mut self, stmt: HStmt, rc: SqlReturn) -> ArrayOutcome {
        if rc == SqlReturn::ERROR || self.status.contains(&PARAM_ERROR) {
            return ArrayOutcome::Failed;
        }
        // The rows affected: one count, or one per set through SQLMoreResults.
        let mut total: i64 = 0;
        let mut known = true;
        let mut more = rc == SqlReturn::SUCCESS || rc == SqlReturn::SUCCESS_WITH_INFO;
        while more {
            let mut n: isize = 0;
            // SAFETY: `stmt` is live and executed; `n` is the SQLLEN SQLRowCount writes.
            let rc = unsafe { odbc_api::sys::SQLRowCount(stmt, &mut n) };
            if succeeded(rc) && n >= 0 {
                total = total.saturating_add(n as i64);
            } else {
                known = false;
            }
            let next = odbc_calls::more_results(stmt);
            more = succeeded(next);
        }
        ArrayOutcome::Done(known.then_some(total))
    }

    fn unbind(&mut self, stmt: HStmt) {
        let _ = odbc_calls::close_cursor(stmt);
        let _ = odbc_calls::reset_parameters(stmt);
        let _ = odbc_calls::set_stmt_attr(stmt, StatementAttribute::ParamsetSize, 1);
        // SAFETY: `stmt` is live and owned by this thread; null pointers unset the attributes.
        unsafe {
            let _ = odbc_api::sys::SQLSetStmtAttr(
                stmt,
                StatementAttribute::ParamStatusPtr,
                std::ptr::null_mut(),
                0,
            );
            let _ = odbc_api::sys::SQLSetStmtAttr(
                stmt,
                StatementAttribute::ParamsProcessedPtr,
                std::ptr::null_mut(),
                0,
            );
        }
    }
}
