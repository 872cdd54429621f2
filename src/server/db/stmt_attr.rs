//! Statement calls `odbc-api` has no safe wrapper for: setting `SQL_ATTR_CURSOR_TYPE`
//! (`[..Connection..] connection_cursortype`) and reading a column's type name.
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

/// The driver's name for column `column`'s data type (`SQL_DESC_TYPE_NAME`: PostgreSQL's
/// `money`, `uuid`, ...), or `None` when the driver does not say.
pub(crate) fn column_type_name(stmt: HStmt, column: u16) -> Option<String> {
    let mut name = [0u8; 128];
    let mut len: i16 = 0;
    // SAFETY: `stmt` is a live statement handle with a result set, owned by the calling thread
    // for the duration of the call; `name` is a writable buffer of the length passed, and
    // `len` an SQLSMALLINT; the numeric attribute pointer may be NULL for a string field.
    let rc = unsafe {
        odbc_api::sys::SQLColAttribute(
            stmt,
            column,
            odbc_api::sys::Desc::TypeName,
            name.as_mut_ptr().cast(),
            name.len() as i16,
            &mut len,
            std::ptr::null_mut(),
        )
    };
    if !ok(rc) {
        return None;
    }
    let len = usize::try_from(len).ok()?.min(name.len() - 1);
    Some(String::from_utf8_lossy(&name[..len]).into_owned())
}
