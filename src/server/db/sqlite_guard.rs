//! Closing the two doors sqliteodbc opens on every connection, whatever the connection string:
//! it calls `sqlite3_enable_load_extension(db, 1)`, which also enables SQL's
//! `load_extension('/any/library.so')`, and registers the SQL functions `blob_import(path)` and
//! `blob_export(blob, path)`, which read and write any file odbcd can. Together they let any
//! client that can run SQL on a SQLite connection write a library and load it into the server.
//!
//! odbcd defines both C functions itself and exports them from its executable
//! (`build.rs` passes `--export-dynamic-symbol`). The dynamic linker resolves sqliteodbc's calls
//! to the executable's definitions first (symbol interposition), and these forward to the real
//! libsqlite3 with the doors shut:
//! - [`sqlite3_enable_load_extension`] with `onoff = 1` enables only the C API
//!   (`SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION`), which sqliteodbc's own `LoadExt` key uses (an
//!   operator opt-in); the SQL function stays off.
//! - [`sqlite3_create_function`] registers every function except `blob_import` and
//!   `blob_export`, which then do not exist.
//! - The same call (sqliteodbc makes it on every new connection) installs an authorizer that
//!   refuses, in any statement: the functions `load_extension` and `fts3_tokenizer` (Debian's
//!   libsqlite3 enables the two-argument form, which takes a raw pointer to a function table:
//!   a client could crash odbcd with it, and likely run code; a bound parameter gets past
//!   `SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER`, the authorizer does not), `ATTACH` of anything
//!   but a temporary or in-memory database (it creates files anywhere odbcd may write), and
//!   the pragmas that move SQLite's temporary files.
//!
//! libsqlite3 is reached with `dlopen(RTLD_NOLOAD)`: it is loaded by then, as sqliteodbc's
//! dependency, possibly outside the global symbol scope. Nothing else in odbcd uses SQLite.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};

const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;
/// `SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION` (sqlite3.h): the C API only, not the SQL function.
const SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION: c_int = 1005;
/// `SQLITE_DENY` (an authorizer's "refuse the statement").
const SQLITE_DENY: c_int = 1;
/// Authorizer action codes (sqlite3.h).
const SQLITE_PRAGMA: c_int = 19;
const SQLITE_ATTACH: c_int = 24;
const SQLITE_FUNCTION: c_int = 31;
const RTLD_LAZY: c_int = 0x1;
const RTLD_NOLOAD: c_int = 0x4;

extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

type EnableLoadExtension = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type AuthorizerFn = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *const c_char,
    *const c_char,
    *const c_char,
    *const c_char,
) -> c_int;
type SetAuthorizer = unsafe extern "C" fn(*mut c_void, Option<AuthorizerFn>, *mut c_void) -> c_int;
type DbConfig = unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int;
type ScalarFn = Option<unsafe extern "C" fn(*mut c_void, c_int, *mut *mut c_void)>;
type FinalFn = Option<unsafe extern "C" fn(*mut c_void)>;
type CreateFunction = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    c_int,
    c_int,
    *mut c_void,
    ScalarFn,
    ScalarFn,
    FinalFn,
) -> c_int;

/// The SQL functions sqliteodbc registers that touch files.
const REFUSED_FUNCTIONS: [&str; 2] = ["blob_import", "blob_export"];

/// The address of `name` in the loaded libsqlite3, cached in `cache` (0: not looked up yet).
pub(crate) fn real_symbol(cache: &AtomicUsize, name: &CStr) -> usize {
    let cached = cache.load(Ordering::Acquire);
    if cached != 0 {
        return cached;
    }
    // SAFETY: dlopen with RTLD_NOLOAD only returns a handle to a library that is already
    // loaded (never loads one, never runs constructors); dlsym reads its symbol table. Both
    // take NUL-terminated strings, which `CStr` guarantees.
    let address = unsafe {
        let handle = dlopen(c"libsqlite3.so.0".as_ptr(), RTLD_LAZY | RTLD_NOLOAD);
        if handle.is_null() {
            return 0;
        }
        dlsym(handle, name.as_ptr()) as usize
    };
    cache.store(address, Ordering::Release);
    address
}

/// SQL functions refused in any statement.
const REFUSED_SQL_FUNCTIONS: [&str; 2] = ["load_extension", "fts3_tokenizer"];
/// Pragmas refused in any statement.
const REFUSED_PRAGMAS: [&str; 2] = ["temp_store_directory", "data_store_directory"];

/// `arg` as bytes, if not NULL.
///
/// # Safety
/// `arg` is NULL or a NUL-terminated string that lives for the call.
unsafe fn arg<'a>(arg: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: the caller's promise.
    (!arg.is_null()).then(|| unsafe { CStr::from_ptr(arg) }.to_bytes())
}

/// The authorizer: called by SQLite while it compiles each statement.
unsafe extern "C" fn authorize(
    _: *mut c_void,
    action: c_int,
    arg1: *const c_char,
    arg2: *const c_char,
    _: *const c_char,
    _: *const c_char,
) -> c_int {
    let named = |list: &[&str], name: Option<&[u8]>| {
        name.is_some_and(|n| list.iter().any(|f| n.eq_ignore_ascii_case(f.as_bytes())))
    };
    // SAFETY: SQLite passes NULL or NUL-terminated strings valid for the call.
    let (arg1, arg2) = unsafe { (arg(arg1), arg(arg2)) };
    let refuse = match action {
        SQLITE_FUNCTION => named(&REFUSED_SQL_FUNCTIONS, arg2),
        SQLITE_PRAGMA => named(&REFUSED_PRAGMAS, arg1),
        // "" is a temporary database, ":memory:" (and memory URIs) stay in memory.
        SQLITE_ATTACH => !arg1
            .is_none_or(|f| f.is_empty() || f == b":memory:" || f.starts_with(b"file::memory:")),
        _ => false,
    };
    if refuse {
        SQLITE_DENY
    } else {
        SQLITE_OK
    }
}

/// sqliteodbc's call to enable extension loading, with the SQL function kept off.
///
/// # Safety
/// Called by sqliteodbc with a live `sqlite3*` handle, as libsqlite3's own function would be.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_enable_load_extension(db: *mut c_void, onoff: c_int) -> c_int {
    static ENABLE: AtomicUsize = AtomicUsize::new(0);
    static CONFIG: AtomicUsize = AtomicUsize::new(0);
    let enable = real_symbol(&ENABLE, c"sqlite3_enable_load_extension");
    if enable == 0 {
        return SQLITE_ERROR;
    }
    // SAFETY: the address is libsqlite3's sqlite3_enable_load_extension, whose C signature is
    // `int (sqlite3*, int)`; `db` is the caller's live handle.
    let enable: EnableLoadExtension = unsafe { std::mem::transmute::<usize, _>(enable) };
    // Both flags off first: the SQL function must never be on.
    let rc = unsafe { enable(db, 0) };
    static AUTHORIZER: AtomicUsize = AtomicUsize::new(0);
    let set_authorizer = real_symbol(&AUTHORIZER, c"sqlite3_set_authorizer");
    if set_authorizer == 0 {
        return SQLITE_ERROR;
    }
    // SAFETY: libsqlite3's `int sqlite3_set_authorizer(sqlite3*, int(*)(void*,int,const char*,
    // const char*,const char*,const char*), void*)`; `authorize` has that signature and needs
    // no user data.
    let installed = unsafe {
        let set: SetAuthorizer = std::mem::transmute::<usize, _>(set_authorizer);
        set(db, Some(authorize), std::ptr::null_mut())
    };
    if installed != SQLITE_OK {
        return installed;
    }
    if onoff == 0 || rc != SQLITE_OK {
        return rc;
    }
    let config = real_symbol(&CONFIG, c"sqlite3_db_config");
    if config == 0 {
        return SQLITE_ERROR;
    }
    // SAFETY: libsqlite3's `int sqlite3_db_config(sqlite3*, int op, ...)`; for
    // SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION the variadic arguments are `int onoff, int *out`
    // (out may be NULL).
    unsafe {
        let config: DbConfig = std::mem::transmute::<usize, _>(config);
        config(
            db,
            SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    }
}

/// sqliteodbc's registration of SQL functions, without the ones that touch files.
///
/// # Safety
/// Called by sqliteodbc with the arguments of libsqlite3's own function.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sqlite3_create_function(
    db: *mut c_void,
    name: *const c_char,
    n_arg: c_int,
    text_rep: c_int,
    app: *mut c_void,
    x_func: ScalarFn,
    x_step: ScalarFn,
    x_final: FinalFn,
) -> c_int {
    static CREATE: AtomicUsize = AtomicUsize::new(0);
    if !name.is_null() {
        // SAFETY: sqlite3_create_function takes a NUL-terminated UTF-8 name.
        let n = unsafe { CStr::from_ptr(name) };
        if REFUSED_FUNCTIONS
            .iter()
            .any(|f| n.to_bytes().eq_ignore_ascii_case(f.as_bytes()))
        {
            tracing::debug!(function = ?n, "SQLite function not registered (touches files)");
            return SQLITE_OK;
        }
    }
    let create = real_symbol(&CREATE, c"sqlite3_create_function");
    if create == 0 {
        return SQLITE_ERROR;
    }
    // SAFETY: libsqlite3's sqlite3_create_function, called with the caller's own arguments.
    unsafe {
        let create: CreateFunction = std::mem::transmute::<usize, _>(create);
        create(db, name, n_arg, text_rep, app, x_func, x_step, x_final)
    }
}

/// Keeps both definitions in the executable (the linker drops code nothing refers to before it
/// exports symbols). Call once from `main`.
pub fn keep() {
    std::hint::black_box(sqlite3_enable_load_extension as *const ());
    std::hint::black_box(sqlite3_create_function as *const ());
}
