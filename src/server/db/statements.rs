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

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::fetch::{Described, Statement};

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
    /// How the result of each SQL text run on a prepared statement was described, checked
    /// again by each run (see [`super::fetch::ResultSet::open`]); at most twice `capacity`
    /// entries (cached statements, and cursors' own prepared ones).
    described: HashMap<SqlKey, Arc<Described>>,
}

impl StatementCache {
    /// An empty cache holding at most `capacity` statements (0: caching is off).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: VecDeque::new(),
            described: HashMap::new(),
        }
    }

    /// True when statements are cached at all.
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Turns caching off for good (the driver cannot keep prepared statements).
    pub(crate) fn disable(&mut self) {
        self.capacity = 0;
        self.clear();
    }

    /// How the result of the SQL text with `key` was described when it last ran prepared.
    pub(crate) fn described(&self, key: &SqlKey) -> Option<Arc<Described>> {
        self.described.get(key).cloned()
    }

    /// Keeps how the result of the SQL text with `key` is described (nothing while caching is
    /// off); forgets every other description when twice `capacity` are kept.
    pub(crate) fn remember(&mut self, key: SqlKey, described: Arc<Described>) {
        if self.capacity == 0 {
            return;
        }
        if self.described.len() >= self.capacity.saturating_mul(2)
            && !self.described.contains_key(&key)
        {
            self.described.clear();
        }
        self.described.insert(key, described);
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
            if let Some((old, _)) = self.entries.pop_front() {
                self.described.remove(&old);
            }
        }
        self.entries.push_back((key, stmt));
    }

    /// Frees every cached statement.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.described.clear();
    }
}
