//! The statement cache of a database connection (`[Session] statement_cache_size`): prepared
//! statements kept for the SQL texts run last, so that running one again executes the
//! driver's prepared statement instead of allocating and preparing a new one.
//!
//! A statement is in the cache only while no cursor uses it: executing takes it out, and the
//! cursor puts it back (reset: cursor closed, buffers unbound) when it is done with the result.
//! The least recently used one is freed when the cache is full. The cache is emptied when the
//! connection is reset (parked in the pool) and when the driver deletes prepared statements at
//! the end of transactions (`SQL_CURSOR_COMMIT_BEHAVIOR` = `SQL_CB_DELETE`); a statement whose
//! execution fails is not put back.

use std::collections::VecDeque;

use super::fetch::Statement;

/// A SQL text's SHA-256: what prepared statements are kept under (the text itself may be
/// megabytes; the client sends it with every execute anyway).
pub(crate) type SqlKey = [u8; 32];

/// The key of `sql`.
pub(crate) fn sql_key(sql: &str) -> SqlKey {
    use sha2::Digest;
    sha2::Sha256::digest(sql.as_bytes()).into()
}

/// SQL texts longer than this are run directly, never prepared for the cache (the driver
/// keeps a prepared statement's text).
pub const MAX_CACHED_SQL_BYTES: usize = 64 * 1024;

/// Prepared statements by their SQL text's key, least recently used first.
pub(crate) struct StatementCache {
    capacity: usize,
    entries: VecDeque<(SqlKey, Statement)>,
}

impl StatementCache {
    /// An empty cache holding at most `capacity` statements (0: caching is off).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: VecDeque::new(),
        }
    }

    /// True when statements are cached at all.
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Turns caching off for good (the driver cannot keep prepared statements).
    pub(crate) fn disable(&mut self) {
        self.capacity = 0;
        self.entries.clear();
    }

    /// Takes the statement prepared for the SQL text with `key` out of the cache.
    pub(crate) fn take(&mut self, key: &SqlKey) -> Option<Statement> {
        let i = self.entries.iter().rposition(|(k, _)| k == key)?;
        self.entries.remove(i).map(|(_, stmt)| stmt)
    }

    /// Keeps `stmt` (prepared for the SQL text with `key`, reset for reuse), freeing the
    /// least recently used statement when full.
    pub(crate) fn put(&mut self, key: SqlKey, stmt: Statement) {
        if self.capacity == 0 {
            return;
        }
        if let Some(i) = self.entries.iter().position(|(k, _)| *k == key) {
            // Another cursor ran the same text meanwhile: keep one of them.
            self.entries.remove(i);
        }
        while self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((key, stmt));
    }

    /// Frees every cached statement.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}
