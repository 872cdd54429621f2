//! Exports odbcd's SQLite guard functions from the server executable, so that they interpose
//! sqliteodbc's calls into libsqlite3 (see `src/server/db/sqlite_guard.rs`).

fn main() {
    if std::env::var_os("CARGO_FEATURE_SERVER").is_some()
        && std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
    {
        for symbol in [
            "sqlite3_enable_load_extension",
            "sqlite3_create_function",
            "sqlite3_column_text",
            "sqlite3_column_decltype",
            "sqlite3_column_bytes",
        ] {
            println!("cargo:rustc-link-arg-bin=odbcd=-Wl,--export-dynamic-symbol={symbol}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
