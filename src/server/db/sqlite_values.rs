//! SQLite values as SQLite holds them: reals with every digit, untyped columns as untyped.
//!
//! **Reals.** sqliteodbc hands every cell to ODBC as text, taking a `REAL`'s text from
//! `sqlite3_column_text`, which formats it with 15 significant digits: `0.30000000000000004`
//! arrives as `0.3` and `123456789012345678.0` as `1.23456789012346e+17`, whatever C type the
//! application asks for. A double needs up to 17.
//!
//! odbcd defines `sqlite3_column_text` itself and exports it from its executable (`build.rs`),
//! so sqliteodbc's calls reach this function first (the same interposition as
//! [`super::sqlite_guard`]). For a cell whose storage class is `REAL` it returns the shortest
//! text that reads back as the same double (`0.30000000000000004`, `1.2345678901234568e17`,
//! `100.0`: always with a `.` or an exponent, so a real never looks like an integer;
//! `Inf`/`-Inf` as SQLite spells them); every other cell goes to libsqlite3 unchanged.
//!
//! `sqlite3_column_bytes` is interposed too, so a caller that asks for the length gets this
//! text's. The text lives in a per-thread buffer for the cell's column until the next call for
//! that column index on the same thread (shorter than SQLite's own promise, which lasts until
//! the statement moves on). sqliteodbc copies it at once (`xstrdup`), and SQLite's own
//! `sqlite3_exec` (if its internal calls come here) reads a row's columns before the next row.
//!
//! **Untyped columns.** For a column without a declared type (`CREATE TABLE kv (k, v)`, an
//! expression) sqliteodbc guesses one from the first row's value: `integer` if it holds one,
//! `varchar` if text. odbcd reads a cell by its column's affinity (see `cells::sqlite_cell`),
//! and a guess would make every later integer of a text-first column text. The interposed
//! [`sqlite3_column_decltype`] answers `""` instead of NULL, so such a column is described as
//! `VARCHAR` with the type name `""` (no affinity), whatever its first row holds.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::AtomicUsize;

use super::sqlite_guard::real_symbol;

/// `SQLITE_FLOAT` (sqlite3.h).
const SQLITE_FLOAT: c_int = 2;
/// Columns beyond this many keep SQLite's own (15-digit) text: the buffers stay small.
const MAX_COLUMNS: usize = 2000;

type ColumnType = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type ColumnDouble = unsafe extern "C" fn(*mut c_void, c_int) -> f64;
type ColumnText = unsafe extern "C" fn(*mut c_void, c_int) -> *const u8;

/// A `REAL` cell's text as last returned for one column index: the text with its NUL
/// (empty before the first), and the real it spells.
struct Spelled {
    text: Vec<u8>,
    real: f64,
}

thread_local! {
    /// The text last returned for each column index on this thread.
    static TEXTS: RefCell<Vec<Spelled>> = const { RefCell::new(Vec::new()) };
}

/// The shortest decimal text that parses back to `value` (SQLite's spelling for infinities).
pub(crate) fn real_text(value: f64) -> String {
    let mut text = Vec::new();
    write_real_text(value, &mut text);
    String::from_utf8(text).unwrap_or_default()
}

/// Appends [`real_text`]`(value)` to `out`, allocating nothing when it has room.
fn write_real_text(value: f64, out: &mut Vec<u8>) {
    use std::io::Write;
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"Inf" } else { b"-Inf" });
        return;
    }
    // Debug writes the shortest round-trip form and always marks a float (`100.0`, `1e16`).
    let _ = write!(out, "{value:?}");
}

/// The real whose text this thread last returned for column index `column`, if `text` is that
/// text: a cell sqliteodbc read through [`sqlite3_column_text`] is taken without parsing and
/// spelling it again. (Exact: the text is [`real_text`] of the real, so reading it gives the
/// real.)
pub(crate) fn real_spelled(column: usize, text: &[u8]) -> Option<f64> {
    TEXTS
        .try_with(|texts| {
            let texts = texts.borrow();
            let s = texts.get(column)?;
            (s.text.len() == text.len() + 1 && s.text.starts_with(text)).then_some(s.real)
        })
        .ok()
        .flatten()
}

/// The value of cell `column` of `stmt` when its storage class is `REAL` and its column is one
/// whose text this module rewrites (index below [`MAX_COLUMNS`]); `None` otherwise.
///
/// # Safety
/// `stmt` is a live prepared statement positioned on a row, as libsqlite3's column functions
/// require.
unsafe fn rewritten_real(stmt: *mut c_void, column: c_int) -> Option<f64> {
    static TYPE: AtomicUsize = AtomicUsize::new(0);
    static DOUBLE: AtomicUsize = AtomicUsize::new(0);
    if usize::try_from(column).map_or(true, |c| c >= MAX_COLUMNS) {
        return None;
    }
    let (type_of, double) = (
        real_symbol(&TYPE, c"sqlite3_column_type"),
        real_symbol(&DOUBLE, c"sqlite3_column_double"),
    );
    if type_of == 0 || double == 0 {
        return None;
    }
    // SAFETY: libsqlite3's `int sqlite3_column_type(sqlite3_stmt*, int)` and
    // `double sqlite3_column_double(sqlite3_stmt*, int)`, with the caller's arguments; asking
    // for the type first does not convert the value.
    unsafe {
        let type_of = std::mem::transmute::<usize, ColumnType>(type_of);
        let double = std::mem::transmute::<usize, ColumnDouble>(double);
        (type_of(stmt, column) == SQLITE_FLOAT).then(|| double(stmt, column))
    }
}

/// sqliteodbc's call for a cell's text: `REAL` cells get every digit.
///
/// # Safety
/// Called by sqliteodbc with the arguments of libsqlite3's own function: a live prepared
/// statement positioned on a row, and a column index.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_column_text(stmt: *mut c_void, column: c_int) -> *const u8 {
    static TEXT: AtomicUsize = AtomicUsize::new(0);
    let text = real_symbol(&TEXT, c"sqlite3_column_text");
    if text == 0 {
        return std::ptr::null();
    }
    // SAFETY: libsqlite3's `const unsigned char *sqlite3_column_text(sqlite3_stmt*, int)`.
    let text = unsafe { std::mem::transmute::<usize, ColumnText>(text) };
    // SAFETY: the caller's arguments.
    let real = unsafe { rewritten_real(stmt, column) };
    let (Some(value), Ok(slot)) = (real, usize::try_from(column)) else {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { text(stmt, column) };
    };
    let kept = spell(slot, value);
    // The thread is ending (its buffers are gone): SQLite's own text.
    // SAFETY: the caller's arguments, passed on.
    kept.unwrap_or_else(|_| unsafe { text(stmt, column) })
}

/// Keeps `value`'s text as column index `slot`'s on this thread; returns it (NUL-terminated,
/// valid until the next call for that index), or an error while the thread ends.
fn spell(slot: usize, value: f64) -> Result<*const u8, std::thread::AccessError> {
    TEXTS.try_with(|texts| {
        let mut texts = texts.borrow_mut();
        if texts.len() <= slot {
            texts.resize_with(slot + 1, || Spelled {
                text: Vec::new(),
                real: 0.0,
            });
        }
        let spelled = &mut texts[slot];
        // The same real as last time (a column of equal values) keeps its text.
        if spelled.text.is_empty() || spelled.real.to_bits() != value.to_bits() {
            spelled.text.clear();
            write_real_text(value, &mut spelled.text);
            spelled.text.push(0);
            spelled.real = value;
        }
        spelled.text.as_ptr()
    })
}

type ColumnBytes = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;

/// The length of a cell's text, consistent with [`sqlite3_column_text`]'s (SQLite's own would
/// count its 15-digit text for a `REAL`).
///
/// # Safety
/// Called with the arguments of libsqlite3's own function.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_column_bytes(stmt: *mut c_void, column: c_int) -> c_int {
    // SAFETY: the caller's arguments.
    if let Some(value) = unsafe { rewritten_real(stmt, column) } {
        let known = usize::try_from(column).ok().and_then(|slot| {
            TEXTS
                .try_with(|texts| {
                    let texts = texts.borrow();
                    let s = texts.get(slot)?;
                    (!s.text.is_empty() && s.real.to_bits() == value.to_bits())
                        .then(|| s.text.len() - 1)
                })
                .ok()
                .flatten()
        });
        let len = known.unwrap_or_else(|| real_text(value).len());
        return c_int::try_from(len).unwrap_or(c_int::MAX);
    }
    static BYTES: AtomicUsize = AtomicUsize::new(0);
    let bytes = real_symbol(&BYTES, c"sqlite3_column_bytes");
    if bytes == 0 {
        return 0;
    }
    // SAFETY: libsqlite3's `int sqlite3_column_bytes(sqlite3_stmt*, int)`, with the caller's
    // arguments.
    unsafe { std::mem::transmute::<usize, ColumnBytes>(bytes)(stmt, column) }
}

type ColumnDecltype = unsafe extern "C" fn(*mut c_void, c_int) -> *const c_char;

/// sqliteodbc's call for a column's declared type: `""` for a column without one.
///
/// # Safety
/// Called by sqliteodbc with the arguments of libsqlite3's own function.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_column_decltype(
    stmt: *mut c_void,
    column: c_int,
) -> *const c_char {
    static DECLTYPE: AtomicUsize = AtomicUsize::new(0);
    let decltype = real_symbol(&DECLTYPE, c"sqlite3_column_decltype");
    if decltype == 0 {
        return c"".as_ptr();
    }
    // SAFETY: libsqlite3's `const char *sqlite3_column_decltype(sqlite3_stmt*, int)`, with the
    // caller's arguments.
    let declared = unsafe {
        let decltype = std::mem::transmute::<usize, ColumnDecltype>(decltype);
        decltype(stmt, column)
    };
    if declared.is_null() {
        c"".as_ptr()
    } else {
        declared
    }
}

/// Keeps the definitions in the executable. Call once from `main`.
pub fn keep() {
    std::hint::black_box(sqlite3_column_text as *const ());
    std::hint::black_box(sqlite3_column_decltype as *const ());
    std::hint::black_box(sqlite3_column_bytes as *const ());
}

#[cfg(test)]
mod tests {
    use super::{real_spelled, real_text, spell};

    #[test]
    fn a_real_just_spelled_is_known_by_its_exact_text_only() {
        assert_eq!(real_spelled(7, b"0.5"), None);
        spell(7, 0.5).unwrap();
        assert_eq!(real_spelled(7, b"0.5"), Some(0.5));
        for other in [&b"0.50"[..], b"0.", b"", b"0.5\0", b".5"] {
            assert_eq!(real_spelled(7, other), None, "{other:?}");
        }
        assert_eq!(real_spelled(6, b"0.5"), None);
        // The next real in that column replaces it; -0.0 is not 0.0.
        spell(7, 0.1 + 0.2).unwrap();
        assert_eq!(real_spelled(7, b"0.5"), None);
        assert_eq!(real_spelled(7, b"0.30000000000000004"), Some(0.1 + 0.2));
        spell(7, -0.0).unwrap();
        spell(7, 0.0).unwrap();
        assert_eq!(
            real_spelled(7, b"0.0").map(f64::is_sign_negative),
            Some(false)
        );
        spell(7, f64::NEG_INFINITY).unwrap();
        assert_eq!(real_spelled(7, b"-Inf"), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn reals_keep_every_digit_and_look_like_reals() {
        for v in [
            0.1 + 0.2,
            123_456_789_012_345_678.0,
            100.0,
            1e300,
            -2.5e-300,
            0.0,
            5e-324,
        ] {
            let t = real_text(v);
            assert_eq!(t.parse::<f64>().ok(), Some(v), "{t}");
            assert!(t.contains(['.', 'e']), "{t} must not read as an integer");
        }
        assert_eq!(real_text(f64::INFINITY), "Inf");
        assert_eq!(real_text(f64::NEG_INFINITY), "-Inf");
        assert_eq!(real_text(0.1 + 0.2), "0.30000000000000004");
    }
}
