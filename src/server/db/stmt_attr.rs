//! Setting `SQL_ATTR_CURSOR_TYPE` on a statement (`[..Connection..] connection_cursortype`),
//! which `odbc-api` has no safe call for.
#![allow(unsafe_code)]

use odbc_api::sys::{HStmt, Pointer, SqlReturn, StatementAttribute};

fn ok(rc: SqlReturn) -> bool {
    rc == SqlReturn::SUCCESS || rc == SqlReturn::SUCCESS_WITH_INFO
}

/// Asks for cursor type `value` (`SQL_CURSOR_*`) and returns the type the driver actually uses
/// (drivers may substitute one they support), or `None` when the driver refused.
pub(crate) fn set_cursor_type(stmt: HStmt, value: usize) -> Option<usize> {
    // SAFETY: `stmt` is a live, allocated statement handle owned by the calling thread for the
    // duration of the call (no statement is executing on it yet); SQL_ATTR_CURSOR_TYPE takes its
    // value in the pointer argument itself (an SQLULEN), so no memory is passed.
    let rc = unsafe {
        odbc_api::sys::SQLSetStmtAttr(stmt, StatementAttribute::CursorType, value as Pointer, 0)
    };
    if !ok(rc) {
        return None;
    }
    let mut actual: usize = value;
    let mut len = 0i32;
    // SAFETY: as above; `actual` is an SQLULEN-sized buffer that outlives the call.
    let rc = unsafe {
        odbc_api::sys::SQLGetStmtAttr(
            stmt,
            StatementAttribute::CursorType,
            (&mut actual as *mut usize).cast(),
            0,
            &mut len,
        )
    };
    Some(if ok(rc) { actual } else { value })
}
