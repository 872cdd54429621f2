//! The ODBC calls `odbc-api` has no safe wrapper for: the catalog functions with NULL-able
//! arguments (`SQLTables` ... `SQLGetTypeInfo`), `SQLGetInfo` for every information type,
//! connection attributes (`SQL_ATTR_TXN_ISOLATION`, `SQL_ATTR_ACCESS_MODE`), statement
//! attributes (`SQL_ATTR_QUERY_TIMEOUT`, `SQL_ATTR_MAX_ROWS`), `SQLMoreResults`,
//! `SQLFetchScroll` and resetting a statement for reuse. Every unsafe call of these features is
//! here; the callers pass handles they own on the calling thread.
//!
//! Arguments from the network are checked before they reach the driver: names are at most
//! [`MAX_NAME_BYTES`] long (ODBC passes lengths as `SQLSMALLINT`) and hold no NUL (drivers read
//! them as C strings too); strings come back from the driver through buffers of a known size.
#![allow(unsafe_code)]

use std::ptr::null;

use odbc_api::handles::AnyHandle;
use odbc_api::sys::{HDbc, HStmt, Handle, HandleType, Pointer, SqlReturn, StatementAttribute};

use crate::error::{DbError, ErrorClass};
use crate::proto::catalog::CatalogCall;
use crate::proto::info::{InfoKind, InfoType};
use crate::proto::statement::InfoValue;

/// The longest name argument of a catalog function, in bytes.
pub const MAX_NAME_BYTES: usize = 4096;
/// The longest text answer of `SQLGetInfo` read (`SQL_KEYWORDS` is the longest in practice, a
/// few kB).
const MAX_INFO_TEXT: usize = 64 * 1024;

// The ODBC functions odbc-sys does not declare, or declares with enums that cannot carry
// every value a client may ask for (any information type, any attribute). unixODBC's
// libodbc, which odbc-sys links, exports them all.
#[link(name = "odbc")]
unsafe extern "C" {
    fn SQLStatistics(
        stmt: HStmt,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        table: *const u8,
        table_len: i16,
        unique: u16,
        reserved: u16,
    ) -> SqlReturn;
    fn SQLProcedures(
        stmt: HStmt,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        proc: *const u8,
        proc_len: i16,
    ) -> SqlReturn;
    fn SQLProcedureColumns(
        stmt: HStmt,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        proc: *const u8,
        proc_len: i16,
        column: *const u8,
        column_len: i16,
    ) -> SqlReturn;
    fn SQLSpecialColumns(
        stmt: HStmt,
        identifier_type: u16,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        table: *const u8,
        table_len: i16,
        scope: u16,
        nullable: u16,
    ) -> SqlReturn;
    fn SQLTablePrivileges(
        stmt: HStmt,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        table: *const u8,
        table_len: i16,
    ) -> SqlReturn;
    fn SQLColumnPrivileges(
        stmt: HStmt,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        table: *const u8,
        table_len: i16,
        column: *const u8,
        column_len: i16,
    ) -> SqlReturn;
    fn SQLTables(
        stmt: HStmt,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        table: *const u8,
        table_len: i16,
        table_type: *const u8,
        table_type_len: i16,
    ) -> SqlReturn;
    fn SQLColumns(
        stmt: HStmt,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        table: *const u8,
        table_len: i16,
        column: *const u8,
        column_len: i16,
    ) -> SqlReturn;
    fn SQLPrimaryKeys(
        stmt: HStmt,
        catalog: *const u8,
        catalog_len: i16,
        schema: *const u8,
        schema_len: i16,
        table: *const u8,
        table_len: i16,
    ) -> SqlReturn;
    fn SQLForeignKeys(
        stmt: HStmt,
        pk_catalog: *const u8,
        pk_catalog_len: i16,
        pk_schema: *const u8,
        pk_schema_len: i16,
        pk_table: *const u8,
        pk_table_len: i16,
        fk_catalog: *const u8,
        fk_catalog_len: i16,
        fk_schema: *const u8,
        fk_schema_len: i16,
        fk_table: *const u8,
        fk_table_len: i16,
    ) -> SqlReturn;
    fn SQLGetTypeInfo(stmt: HStmt, data_type: i16) -> SqlReturn;
    fn SQLGetInfo(
        dbc: HDbc,
        info_type: u16,
        value: Pointer,
        buffer_len: i16,
        string_len: *mut i16,
    ) -> SqlReturn;
    fn SQLSetConnectAttr(dbc: HDbc, attribute: i32, value: Pointer, len: i32) -> SqlReturn;
    fn SQLGetConnectAttr(
        dbc: HDbc,
        attribute: i32,
        value: Pointer,
        buffer_len: i32,
        string_len: *mut i32,
    ) -> SqlReturn;
}

/// `SQL_ATTR_ACCESS_MODE`.
pub const ATTR_ACCESS_MODE: i32 = 101;
/// `SQL_ATTR_TXN_ISOLATION`.
pub const ATTR_TXN_ISOLATION: i32 = 108;

/// True for `SQL_SUCCESS` and `SQL_SUCCESS_WITH_INFO`.
pub(crate) fn succeeded(rc: SqlReturn) -> bool {
    rc == SqlReturn::SUCCESS || rc == SqlReturn::SUCCESS_WITH_INFO
}

/// A connection handle owned elsewhere, for reading its diagnostics.
pub(crate) struct RawDbc(pub HDbc);

// SAFETY: callers wrap only live connection handles they own for the duration of the use,
// and the handle type is the one declared.
unsafe impl AnyHandle for RawDbc {
    fn as_handle(&self) -> Handle {
        self.0.as_handle()
    }
    fn handle_type(&self) -> HandleType {
        HandleType::Dbc
    }
}

/// A statement handle owned elsewhere, for reading its diagnostics.
pub(crate) struct RawStmt(pub HStmt);

// SAFETY: as for `RawDbc`, with statement handles.
unsafe impl AnyHandle for RawStmt {
    fn as_handle(&self) -> Handle {
        self.0.as_handle()
    }
    fn handle_type(&self) -> HandleType {
        HandleType::Stmt
    }
}

/// A checked name argument: its pointer (NULL for `None`) and length.
struct Name<'a>(Option<&'a [u8]>);

impl Name<'_> {
    fn ptr(&self) -> *const u8 {
        self.0.map_or(null(), <[u8]>::as_ptr)
    }
    fn len(&self) -> i16 {
        // Checked in `check_names`: at most MAX_NAME_BYTES.
        self.0.map_or(0, |s| s.len() as i16)
    }
}

/// Refuses catalog arguments the driver would misread: too long for an `SQLSMALLINT` length
/// (and any sane name), or holding a NUL.
///
/// # Errors
/// `ProgrammingError` `HY090` naming the argument.
pub(crate) fn check_names(call: &CatalogCall) -> Result<(), DbError> {
    for (i, name) in call.names().into_iter().enumerate() {
        let Some(name) = name else { continue };
        if name.len() > MAX_NAME_BYTES || name.contains('\0') {
            return Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "HY090",
                format!(
                    "argument {} of {} is {} bytes{}: names are at most {MAX_NAME_BYTES} bytes without NUL characters",
                    i + 1,
                    call.function_name(),
                    name.len(),
                    if name.contains('\0') { " with a NUL character" } else { "" },
                ),
            ));
        }
    }
    Ok(())
}

/// Runs catalog function `call` on `stmt` (a fresh statement handle of the calling thread),
/// which then holds its result set. `call`'s names must have passed [`check_names`].
pub(crate) fn catalog(stmt: HStmt, call: &CatalogCall) -> SqlReturn {
    fn n(s: &Option<String>) -> Name<'_> {
        Name(s.as_deref().map(str::as_bytes))
    }
    // SAFETY (every call below): `stmt` is a live statement handle without an open cursor,
    // owned by this thread for the call; each name is NULL with length 0 or points to a
    // buffer of exactly the length passed, which outlives the call (drivers copy what they
    // keep); the lengths fit an SQLSMALLINT (`check_names`).
    unsafe {
        match call {
            CatalogCall::Tables {
                catalog,
                schema,
                table,
                table_type,
            } => {
                let (c, s, t, y) = (n(catalog), n(schema), n(table), n(table_type));
                SQLTables(
                    stmt,
                    c.ptr(),
                    c.len(),
                    s.ptr(),
                    s.len(),
                    t.ptr(),
                    t.len(),
                    y.ptr(),
                    y.len(),
                )
            }
            CatalogCall::Columns {
                catalog,
                schema,
                table,
                column,
            } => {
                let (c, s, t, k) = (n(catalog), n(schema), n(table), n(column));
                SQLColumns(
                    stmt,
                    c.ptr(),
                    c.len(),
                    s.ptr(),
                    s.len(),
                    t.ptr(),
                    t.len(),
                    k.ptr(),
                    k.len(),
                )
            }
            CatalogCall::PrimaryKeys {
                catalog,
                schema,
                table,
            } => {
                let (c, s, t) = (n(catalog), n(schema), n(table));
                SQLPrimaryKeys(stmt, c.ptr(), c.len(), s.ptr(), s.len(), t.ptr(), t.len())
            }
            CatalogCall::ForeignKeys {
                pk_catalog,
                pk_schema,
                pk_table,
                fk_catalog,
                fk_schema,
                fk_table,
            } => {
                let (pc, ps, pt) = (n(pk_catalog), n(pk_schema), n(pk_table));
                let (fc, fs, ft) = (n(fk_catalog), n(fk_schema), n(fk_table));
                SQLForeignKeys(
                    stmt,
                    pc.ptr(),
                    pc.len(),
                    ps.ptr(),
                    ps.len(),
                    pt.ptr(),
                    pt.len(),
                    fc.ptr(),
                    fc.len(),
                    fs.ptr(),
                    fs.len(),
                    ft.ptr(),
                    ft.len(),
                )
            }
            CatalogCall::Statistics {
                catalog,
                schema,
                table,
                unique,
                exact,
            } => {
                let (c, s, t) = (n(catalog), n(schema), n(table));
                // SQL_INDEX_UNIQUE 0 / SQL_INDEX_ALL 1; SQL_QUICK 0 / SQL_ENSURE 1.
                SQLStatistics(
                    stmt,
                    c.ptr(),
                    c.len(),
                    s.ptr(),
                    s.len(),
                    t.ptr(),
                    t.len(),
                    if *unique { 0 } else { 1 },
                    u16::from(*exact),
                )
            }
            CatalogCall::Procedures {
                catalog,
                schema,
                procedure,
            } => {
                let (c, s, p) = (n(catalog), n(schema), n(procedure));
                SQLProcedures(stmt, c.ptr(), c.len(), s.ptr(), s.len(), p.ptr(), p.len())
            }
            CatalogCall::ProcedureColumns {
                catalog,
                schema,
                procedure,
                column,
            } => {
                let (c, s, p, k) = (n(catalog), n(schema), n(procedure), n(column));
                SQLProcedureColumns(
                    stmt,
                    c.ptr(),
                    c.len(),
                    s.ptr(),
                    s.len(),
                    p.ptr(),
                    p.len(),
                    k.ptr(),
                    k.len(),
                )
            }
            CatalogCall::SpecialColumns {
                identifier_type,
                catalog,
                schema,
                table,
                scope,
                nullable,
            } => {
                let (c, s, t) = (n(catalog), n(schema), n(table));
                SQLSpecialColumns(
                    stmt,
                    *identifier_type,
                    c.ptr(),
                    c.len(),
                    s.ptr(),
                    s.len(),
                    t.ptr(),
                    t.len(),
                    *scope,
                    *nullable,
                )
            }
            CatalogCall::TablePrivileges {
                catalog,
                schema,
                table,
            } => {
                let (c, s, t) = (n(catalog), n(schema), n(table));
                SQLTablePrivileges(stmt, c.ptr(), c.len(), s.ptr(), s.len(), t.ptr(), t.len())
            }
            CatalogCall::ColumnPrivileges {
                catalog,
                schema,
                table,
                column,
            } => {
                let (c, s, t, k) = (n(catalog), n(schema), n(table), n(column));
                SQLColumnPrivileges(
                    stmt,
                    c.ptr(),
                    c.len(),
                    s.ptr(),
                    s.len(),
                    t.ptr(),
                    t.len(),
                    k.ptr(),
                    k.len(),
                )
            }
            CatalogCall::TypeInfo { data_type } => SQLGetTypeInfo(stmt, *data_type),
        }
    }
}

/// `SQLGetInfo(info)` on `dbc`, read the way `info.kind` says; `Err` with the return code when
/// the driver fails (its diagnostics are on `dbc`).
pub(crate) fn get_info(dbc: HDbc, info: &InfoType) -> Result<InfoValue, SqlReturn> {
    match info.kind {
        InfoKind::Text => {
            let mut buf = vec![0u8; 1024];
            loop {
                let mut len: i16 = 0;
                let cap = i16::try_from(buf.len()).unwrap_or(i16::MAX);
                // SAFETY: `dbc` is a live connection handle owned by this thread; `buf` is a
                // writable buffer of at least `cap` bytes and `len` an SQLSMALLINT, both
                // outliving the call.
                let rc =
                    unsafe { SQLGetInfo(dbc, info.id, buf.as_mut_ptr().cast(), cap, &mut len) };
                if !succeeded(rc) {
                    return Err(rc);
                }
                let len = usize::try_from(len).unwrap_or(0);
                // The length excludes the terminating NUL: a value that filled the buffer was
                // cut; ask again with room for it (ODBC lengths stop at an SQLSMALLINT).
                if len >= buf.len() && buf.len() < MAX_INFO_TEXT.min(i16::MAX as usize) {
                    buf = vec![0u8; (len + 1).min(i16::MAX as usize)];
                    continue;
                }
                let end = len.min(buf.len().saturating_sub(1));
                let text = &buf[..end];
                let text = text.split(|&b| b == 0).next().unwrap_or(text);
                return Ok(InfoValue::Text(String::from_utf8_lossy(text).into_owned()));
            }
        }
        InfoKind::U16 | InfoKind::U32 | InfoKind::Bitmask => {
            // Eight zeroed bytes whatever the type's width: drivers ignore the buffer length
            // for numbers, and one that writes a wider value than the standard says must not
            // write past our buffer.
            let mut value = [0u8; 8];
            let mut len: i16 = 0;
            // SAFETY: `dbc` is a live connection handle owned by this thread; `value` is
            // writable for 8 bytes (at least the SQLUSMALLINT or SQLUINTEGER the type returns)
            // and outlives the call.
            let rc = unsafe { SQLGetInfo(dbc, info.id, value.as_mut_ptr().cast(), 8, &mut len) };
            if !succeeded(rc) {
                return Err(rc);
            }
            let n = if info.kind == InfoKind::U16 {
                u64::from(u16::from_ne_bytes([value[0], value[1]]))
            } else {
                u64::from(u32::from_ne_bytes([value[0], value[1], value[2], value[3]]))
            };
            Ok(InfoValue::Integer(n))
        }
    }
}

/// Sets an integer connection attribute (`SQL_ATTR_TXN_ISOLATION`, `SQL_ATTR_ACCESS_MODE`).
pub(crate) fn set_connect_attr(dbc: HDbc, attribute: i32, value: u32) -> SqlReturn {
    // SAFETY: `dbc` is a live connection handle owned by this thread; integer attributes take
    // their value in the pointer argument itself, so no memory is passed.
    unsafe { SQLSetConnectAttr(dbc, attribute, value as usize as Pointer, 0) }
}

/// Reads an integer connection attribute.
pub(crate) fn get_connect_attr(dbc: HDbc, attribute: i32) -> Option<u32> {
    // Eight zeroed bytes: room for an SQLULEN too, should a driver write one.
    let mut value = [0u8; 8];
    let mut len: i32 = 0;
    // SAFETY: `dbc` is a live connection handle owned by this thread; `value` is writable for
    // 8 bytes (at least the SQLUINTEGER these attributes return) and outlives the call.
    let rc = unsafe { SQLGetConnectAttr(dbc, attribute, value.as_mut_ptr().cast(), 8, &mut len) };
    succeeded(rc).then(|| u32::from_ne_bytes([value[0], value[1], value[2], value[3]]))
}

/// Sets an `SQLULEN` statement attribute (`SQL_ATTR_QUERY_TIMEOUT`, `SQL_ATTR_MAX_ROWS`, ...).
pub(crate) fn set_stmt_attr(stmt: HStmt, attribute: StatementAttribute, value: usize) -> SqlReturn {
    // SAFETY: `stmt` is a live statement handle owned by this thread, with no call running on
    // it; SQLULEN attributes take their value in the pointer argument itself.
    unsafe { odbc_api::sys::SQLSetStmtAttr(stmt, attribute, value as Pointer, 0) }
}

/// `SQLMoreResults`: moves `stmt` to its next result (`SQL_NO_DATA` when there is none).
pub(crate) fn more_results(stmt: HStmt) -> SqlReturn {
    // SAFETY: `stmt` is a live statement handle owned by this thread, executed, with no
    // columns bound (the result set's buffers were unbound before).
    unsafe { odbc_api::sys::SQLMoreResults(stmt) }
}

/// `SQLFetchScroll(SQL_FETCH_ABSOLUTE, row)` on a cursor with a row array size of one and no
/// columns bound: positions on row `row` (1-based; 0 is before the first row).
pub(crate) fn fetch_absolute(stmt: HStmt, row: i64) -> SqlReturn {
    let row = isize::try_from(row).unwrap_or(isize::MAX);
    // SAFETY: `stmt` is a live statement handle owned by this thread, in cursor state, with
    // no columns bound and a row array size of one, so the driver writes no memory of ours.
    unsafe { odbc_api::sys::SQLFetchScroll(stmt, odbc_api::sys::FetchOrientation::Absolute, row) }
}

/// The longest column name read (longer ones are cut at a character boundary).
pub const MAX_COLUMN_NAME_BYTES: usize = 4096;

/// `SQLDescribeCol` with a buffer of our own: odbc-api trusts the driver's name length, which
/// for a name longer than an `SQLSMALLINT` counts (sqliteodbc names a column by its
/// expression, comments included) is negative and made it panic. Returns the name, SQL type,
/// column size, decimal digits and nullability.
pub(crate) fn describe_col(stmt: HStmt, column: u16) -> Result<ColumnShape, SqlReturn> {
    // Most names fit a small buffer on the stack; a longer one is asked for again.
    let mut short = [0u8; SHORT_COLUMN_NAME_BYTES];
    let (len, traits) = describe_col_into(stmt, column, &mut short)?;
    // A name that reached the buffer's end may have been cut: some drivers (sqliteodbc) then
    // report the length they copied, not the name's.
    let (name, (data_type, size, digits, nullable)) = if len + 1 < SHORT_COLUMN_NAME_BYTES {
        (column_name(&short, len), traits)
    } else {
        let mut long = vec![0u8; MAX_COLUMN_NAME_BYTES + 1];
        let (len, traits) = describe_col_into(stmt, column, &mut long)?;
        (column_name(&long, len), traits)
    };
    Ok((name, data_type, size, digits, nullable))
}

/// What `SQLDescribeCol` says of a column: name, SQL type, size, decimal digits, nullability.
pub(crate) type ColumnShape = (
    String,
    odbc_api::sys::SqlDataType,
    usize,
    i16,
    odbc_api::sys::Nullability,
);

/// A name buffer that holds most column names (a longer one is asked for again).
const SHORT_COLUMN_NAME_BYTES: usize = 256;

/// What `SQLDescribeCol` says of a column besides its name.
type ColumnTraits = (
    odbc_api::sys::SqlDataType,
    usize,
    i16,
    odbc_api::sys::Nullability,
);

/// The name a buffer of [`describe_col_into`] holds, `len` bytes of it (cut at a character
/// boundary when the buffer was too short).
fn column_name(name: &[u8], len: usize) -> String {
    let written = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    let len = len.min(written);
    let mut text = String::from_utf8_lossy(&name[..len]).into_owned();
    if text.ends_with('\u{fffd}') && len == name.len() - 1 {
        // Cut inside a character.
        text.pop();
    }
    text
}

/// `SQLDescribeCol` into `name`: the name's length as the driver reports it (`usize::MAX` when
/// it reports none that makes sense, as for a name longer than an `SQLSMALLINT` counts), and
/// the rest.
fn describe_col_into(
    stmt: HStmt,
    column: u16,
    name: &mut [u8],
) -> Result<(usize, ColumnTraits), SqlReturn> {
    let mut name_len: i16 = 0;
    let mut data_type = odbc_api::sys::SqlDataType::UNKNOWN_TYPE;
    let mut size: usize = 0;
    let mut digits: i16 = 0;
    let mut nullable = odbc_api::sys::Nullability::UNKNOWN;
    // SAFETY: `stmt` is a live statement handle owned by this thread with a result set (or a
    // prepared statement); every out pointer points to a live local of the type ODBC writes,
    // and `name` is a writable buffer of the length passed.
    let rc = unsafe {
        odbc_api::sys::SQLDescribeCol(
            stmt,
            column,
            name.as_mut_ptr(),
            i16::try_from(name.len()).unwrap_or(i16::MAX),
            &mut name_len,
            &mut data_type,
            &mut size,
            &mut digits,
            &mut nullable,
        )
    };
    if !succeeded(rc) {
        return Err(rc);
    }
    let len = usize::try_from(name_len).unwrap_or(usize::MAX);
    Ok((len, (data_type, size, digits, nullable)))
}

/// Unbinds `stmt`'s parameters (`SQLFreeStmt(SQL_RESET_PARAMS)`); false when the driver
/// refused.
pub(crate) fn reset_parameters(stmt: HStmt) -> bool {
    // SAFETY: `stmt` is a live statement handle owned by this thread with no call running on
    // it; this frees driver state only.
    succeeded(unsafe {
        odbc_api::sys::SQLFreeStmt(stmt, odbc_api::sys::FreeStmtOption::ResetParams)
    })
}

/// Closes `stmt`'s cursor (`SQLFreeStmt(SQL_CLOSE)`), keeping the statement.
pub(crate) fn close_cursor(stmt: HStmt) -> bool {
    // SAFETY: `stmt` is a live statement handle owned by this thread with no call running on
    // it and no columns bound.
    succeeded(unsafe { odbc_api::sys::SQLFreeStmt(stmt, odbc_api::sys::FreeStmtOption::Close) })
}

/// Makes an executed statement ready to execute again: closes its cursor (discarding any
/// further results), unbinds columns and parameters, and sets the row array size back to one.
/// False when the driver refused (the statement must then not be reused).
pub(crate) fn reset_for_reuse(stmt: HStmt) -> bool {
    use odbc_api::sys::FreeStmtOption;
    // SAFETY: `stmt` is a live statement handle owned by this thread with no call running on
    // it; these calls free driver state only, and no buffers of ours stay bound after them
    // (SQL_ATTR_ROWS_FETCHED_PTR is cleared too).
    unsafe {
        let close = odbc_api::sys::SQLFreeStmt(stmt, FreeStmtOption::Close);
        let unbind = odbc_api::sys::SQLFreeStmt(stmt, FreeStmtOption::Unbind);
        let params = odbc_api::sys::SQLFreeStmt(stmt, FreeStmtOption::ResetParams);
        let fetched = odbc_api::sys::SQLSetStmtAttr(
            stmt,
            StatementAttribute::RowsFetchedPtr,
            std::ptr::null_mut(),
            0,
        );
        succeeded(close)
            && succeeded(unbind)
            && succeeded(params)
            && succeeded(fetched)
            && succeeded(set_stmt_attr(stmt, StatementAttribute::RowArraySize, 1))
    }
}
