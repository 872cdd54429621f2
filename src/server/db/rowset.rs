//! Re-reading one cell of a fetched rowset in full.
//!
//! Bulk fetches bind a buffer per column sized from the driver's declared column size. That
//! size is a hint, not a promise (psqlodbc declares 255 characters for an unbounded `varchar`
//! or a `jsonb` column, and 28 digits for an unconstrained `numeric`), so a value may not fit.
//! Its cell is then read again, whole, with `SQLSetPos(row, SQL_POSITION)` and `SQLGetData`
//! (in pieces, see `pieces::read_capped`); drivers that cannot position in a rowset report an
//! error and the value is refused, never truncated.
#![allow(unsafe_code)]

use std::mem::ManuallyDrop;

use odbc_api::handles::{CDataMut, HasDataType, SqlResult, Statement, StatementImpl};
use odbc_api::sys::{HStmt, Lock, Operation, SetPosIRow, SqlReturn};

/// A statement handle borrowed from an open bulk cursor for positioned reads.
pub(crate) struct Positioned {
    /// Never dropped: the cursor owns (and frees) the handle.
    stmt: ManuallyDrop<StatementImpl<'static>>,
}

impl Positioned {
    /// Positions the cursor on row `row` (0-based) of the rowset just fetched.
    ///
    /// # Errors
    /// The driver's, e.g. when it cannot position in a rowset.
    pub(crate) fn at_row(stmt: HStmt, row: usize) -> Result<Self, odbc_api::Error> {
        // SAFETY: `stmt` is the live statement handle of the caller's bulk cursor, used on the
        // cursor's own thread between two fetches; wrapping it in ManuallyDrop never frees it.
        let stmt = ManuallyDrop::new(unsafe { StatementImpl::new(stmt) });
        let position = SetPosIRow::try_from(row + 1).unwrap_or(SetPosIRow::MAX);
        // SAFETY: as above; SQL_POSITION with SQL_LOCK_NO_CHANGE only moves the cursor within
        // the rowset already fetched into the bound buffers (nothing is written to them).
        let rc = unsafe {
            odbc_api::sys::SQLSetPos(
                stmt.as_sys(),
                position,
                Operation::POSITION,
                Lock::NO_CHANGE,
            )
        };
        let result = match rc {
            SqlReturn::SUCCESS => SqlResult::Success(()),
            SqlReturn::SUCCESS_WITH_INFO => SqlResult::SuccessWithInfo(()),
            _ => SqlResult::Error {
                function: "SQLSetPos",
            },
        };
        result.into_result(&*stmt)?;
        Ok(Self { stmt })
    }

    /// `SQLGetData` of column `column` (1-based) of the positioned row into `target`.
    ///
    /// # Errors
    /// The driver's.
    pub(crate) fn get_data(
        &mut self,
        column: u16,
        target: &mut (impl CDataMut + HasDataType),
    ) -> Result<(), odbc_api::Error> {
        self.stmt.get_data(column, target).into_result(&*self.stmt)
    }
}
