//! Reading result sets into wire values, in batches of bounded size.
//!
//! Two ways to read, chosen per result set when it is opened:
//!
//! - **Bulk**: when every column has a bounded size of at most [`LONG_COLUMN_BYTES`], rows are
//!   fetched with `odbc-api` columnar buffers, many rows per `SQLFetch` ([`super::bulk`]). The
//!   buffer holds at most `BULK_BUFFER_BYTES`, so server memory per cursor stays bounded
//!   whatever the result size. It starts at [`FIRST_BULK_ROWS`] rows and grows eightfold each
//!   time a fetch fills it, so a point query does not pay for (allocating and zeroing) a buffer
//!   sized for a million-row scan. A driver's declared column size is a hint, not a promise: a value that
//!   fills its buffer is read again whole (see [`super::rowset`]) and the column's buffer is
//!   widened for the next fetch. Truncation is never silent.
//! - **Piecewise**: when any column is long or of unknown size (PostgreSQL `text`/`bytea`,
//!   `VARCHAR(MAX)`), and for every SQLite result set, rows are fetched one at a time and each
//!   value read with `SQLGetData` in pieces, so a column reported as gigabytes wide costs only
//!   the size of the actual values.
//!
//! Values are read in the C type that holds them exactly: integers, floats and booleans as
//! such; decimals, dates, times and timestamps as the driver's text (ODBC's date structs have no
//! room for fractions of a time, BC years, years past 9999 or infinities), sent typed only when
//! the text reads back identically, else as the text itself; SQLite cells as the text sqliteodbc
//! holds, classified by storage class (see [`sqlite_cell`](super::cells::sqlite_cell)). The README's type table lists the
//! mapping for every type.
//!
//! Either way, a batch on the wire stops at the client's row count or at `max_chunk_length`
//! bytes, whichever comes first (at least one row, so a huge row still moves).

use std::sync::Arc;

use odbc_api::buffers::{BufferDesc, ColumnarDynBuffer};
use odbc_api::handles::{Nullability, StatementConnection};
use odbc_api::{BlockCursor, Connection, Cursor, CursorImpl, DataType, ResultSetMetadata};

use super::bulk::{BulkSize, BulkView, Fixed, BULK_BUFFER_BYTES, FIRST_BULK_ROWS};
pub(crate) use super::cells::Dialect;
use super::cells::{encode_var, sqlite_column, Kind, RecentDays};
use super::diag::{from_odbc, records};
use super::odbc_calls::{self, ColumnShape};
use super::pieces::{read_piece, reread};
use super::stmt_attr::column_type_name;
use crate::error::{DbError, ErrorClass};
use crate::proto::rows::EncodedRows;
use crate::proto::value::ColumnDesc;

/// A statement handle that owns (a share of) its connection.
pub(crate) type Statement = StatementConnection<Arc<Connection<'static>>>;
/// A cursor that owns (a share of) its connection.
pub(crate) type OwnedCursor = CursorImpl<Statement>;

/// Columns longer than this (in bytes) are read piecewise instead of in bulk.
pub const LONG_COLUMN_BYTES: usize = 4096;
#[derive(Debug, Clone)]
struct Column {
    kind: Kind,
    /// The column's name, for error messages.
    name: String,
    /// The bulk buffer for this column, `None` when it must be read piecewise.
    bulk: Option<BufferDesc>,
}

enum Source {
    Piecewise(OwnedCursor),
    Bulk(BlockCursor<OwnedCursor, ColumnarDynBuffer>, BulkSize),
    /// Every row was read. The cursor is kept (unbound, not closed) for the statement's next
    /// result (`SQLMoreResults`), a scroll back, or reuse; `None` after an unbind failed.
    Done(Option<OwnedCursor>),
}

/// Marks the rows read to the end, keeping the cursor.
fn finish(source: &mut Source) {
    let old = std::mem::replace(source, Source::Done(None));
    *source = Source::Done(match old {
        Source::Bulk(block, _) => block.unbind().ok().map(|(cursor, _)| cursor),
        Source::Piecewise(cursor) => Some(cursor),
        Source::Done(cursor) => cursor,
    });
}

/// An open result set.
pub(crate) struct ResultSet {
    columns: Vec<Column>,
    /// The database, for the readings that depend on its driver.
    dialect: Dialect,
    source: Source,
    pending: PendingRows,
    /// The statement's handle, to cancel a fetch; valid as long as `source` holds the cursor.
    stmt: odbc_api::sys::HStmt,
    /// Reused for piecewise reads of text and binary values.
    piece: Vec<u8>,
    /// The rows the client asked for last, for reading ahead.
    last_want: usize,
    /// An error met while reading ahead: the next fetch reports it.
    deferred: Option<DbError>,
    /// The last read filled its buffer (or limit): the result set most likely goes on.
    last_read_full: bool,
    /// The cursor can scroll (its rows are then read one at a time, never in bulk).
    scrollable: bool,
    /// What follows the result set, once its rows are all read.
    pub(crate) after: After,
    /// The cursor's max rows (`None`: no limit) and how many are still to return.
    limit: Option<u64>,
    limit_left: Option<u64>,
    /// The driver may hold the rest of its rows in a transaction of its own that no commit
    /// has ended yet (psqlodbc's declare/fetch under autocommit: see
    /// [`super::DbConnection::end_cursors_transaction`]).
    in_driver_transaction: bool,
    /// Its rows were lost to a failed commit: it cannot scroll any more.
    cut_off: bool,
    /// The driver failed while reading it inside the driver's transaction, which PostgreSQL
    /// then aborted (taking the other cursors opened in it).
    aborted_driver_transaction: bool,
}

/// What follows a result set read to the end.
#[derive(Debug)]
pub(crate) enum After {
    /// Not asked yet (rows remain, or the cursor scrolls).
    Unknown,
    /// No further result: the cursor was closed (releasing what the database holds for it,
    /// e.g. PostgreSQL's portal, which would block a `DROP TABLE` in the same session).
    NoMore,
    /// The statement is on its next result (`SQLMoreResults` succeeded).
    Next,
    /// `SQLMoreResults` failed.
    Failed(DbError),
}

/// Rows read from the driver and encoded, not yet sent.
#[derive(Default)]
struct PendingRows {
    rows: EncodedRows,
    /// Where each row ends in `rows`' bytes.
    ends: Vec<usize>,
    /// The next row to send.
    next: usize,
}

impl PendingRows {
    fn is_empty(&self) -> bool {
        self.next == self.ends.len()
    }

    /// The bytes of the rows not sent yet.
    fn waiting_bytes(&self) -> usize {
        let sent = self.next.checked_sub(1).map_or(0, |i| self.ends[i]);
        self.rows.byte_len() - sent
    }

    /// Lets the rows already sent go, so that reading on behind rows still waiting does not
    /// keep every row of the result set.
    fn compact(&mut self) {
        let Some(last_sent) = self.next.checked_sub(1) else {
            return;
        };
        let sent = self.ends[last_sent];
        self.rows.drain_front(self.next, sent);
        self.ends.drain(..self.next);
        for end in &mut self.ends {
            *end -= sent;
        }
        self.next = 0;
    }

    /// Ends the row just written.
    fn end_row(&mut self) {
        self.ends.push(self.rows.byte_len());
    }

    /// Drops a row whose reading failed half-way, keeping the complete ones.
    fn drop_partial_row(&mut self) {
        let bytes = self.ends.last().copied().unwrap_or(0);
        self.rows.truncate(self.ends.len(), bytes);
    }

    /// Moves rows to `out` while it has fewer than `max_rows` rows and fewer than `max_bytes`
    /// bytes (at least one row).
    fn take_into(&mut self, out: &mut EncodedRows, max_rows: usize, max_bytes: usize) {
        let start = self.next.checked_sub(1).map_or(0, |i| self.ends[i]);
        let mut end = start;
        let mut taken = 0;
        while self.next < self.ends.len()
            && out.len() + taken < max_rows
            && (out.byte_len() + (end - start) < max_bytes || out.len() + taken == 0)
        {
            end = self.ends[self.next];
            self.next += 1;
            taken += 1;
        }
        if out.is_empty() && start == 0 && self.is_empty() {
            // The whole batch goes: hand it over instead of copying it, and make room for
            // the next one of the same size at once.
            let room = self.rows.byte_len();
            *out = std::mem::replace(&mut self.rows, EncodedRows::with_capacity(room));
        } else {
            out.extend_encoded(taken, &self.rows.as_bytes()[start..end]);
        }
        if self.is_empty() {
            self.rows.clear();
            self.ends.clear();
            self.next = 0;
        }
    }
}

impl ResultSet {
    /// Describes the cursor's columns and prepares to read them the way `dialect`'s driver
    /// needs (SQLite cells are read piecewise, as text, and classified).
    ///
    /// # Errors
    /// Driver errors while describing or binding.
    ///
    /// `known` is how the same prepared statement's result was described when it last ran:
    /// taken as it is when the driver still describes every column the same way
    /// (`SQLDescribeCol`), which spares the other four attribute calls per column. Returns
    /// the result set and its description.
    pub(crate) fn open(
        mut cursor: OwnedCursor,
        dialect: Dialect,
        scrollable: bool,
        known: Option<Arc<Described>>,
    ) -> Result<(Self, Arc<Described>), DbError> {
        let stmt = {
            use odbc_api::handles::{AsStatementRef, Statement};
            cursor.as_stmt_ref().as_sys()
        };
        let n = cursor.num_result_cols().map_err(|e| from_odbc(&e))?;
        let n = u16::try_from(n).unwrap_or(0);
        let described = match known {
            Some(known) if dialect != Dialect::Sqlite && known.still_holds(stmt, n) => known,
            _ => {
                let mut described = Described {
                    shapes: Vec::with_capacity(usize::from(n)),
                    descs: Vec::with_capacity(usize::from(n)),
                    columns: Vec::with_capacity(usize::from(n)),
                };
                for i in 1..=n {
                    let (desc, col, shape) = describe(&mut cursor, stmt, i, dialect)?;
                    described.descs.push(desc);
                    described.columns.push(col);
                    described.shapes.push(shape);
                }
                Arc::new(described)
            }
        };
        let columns = described.columns.clone();
        let bulk: Option<Vec<BufferDesc>> = columns.iter().map(|c| c.bulk).collect();
        let source = match bulk {
            Some(descs) if !descs.is_empty() && !scrollable => {
                let size = BulkSize::new(descs, FIRST_BULK_ROWS);
                let block = cursor
                    .bind_buffer(size.buffer()?)
                    .map_err(|e| from_odbc(&e))?;
                Source::Bulk(block, size)
            }
            _ => {
                // One row per fetch: a statement that held a bulk result before (its previous
                // result, or a cached statement) may still have a larger rowset size, and
                // `SQLGetData` reads only a rowset's first row.
                let rc = odbc_calls::set_stmt_attr(
                    stmt,
                    odbc_api::sys::StatementAttribute::RowArraySize,
                    1,
                );
                if !odbc_calls::succeeded(rc) {
                    return Err(DbError::from_records(
                        records(&odbc_calls::RawStmt(stmt)),
                        "the driver refuses a rowset of one row",
                    ));
                }
                Source::Piecewise(cursor)
            }
        };
        Ok((
            Self {
                columns,
                dialect,
                source,
                pending: PendingRows::default(),
                stmt,
                piece: Vec::new(),
                last_want: 1,
                deferred: None,
                last_read_full: false,
                scrollable,
                after: After::Unknown,
                limit: None,
                limit_left: None,
                in_driver_transaction: false,
                cut_off: false,
                aborted_driver_transaction: false,
            },
            described,
        ))
    }

    /// The statement handle, for [`super::cancel::CancelSlot::arm`].
    pub(crate) fn stmt(&self) -> odbc_api::sys::HStmt {
        self.stmt
    }

    /// Up to `max_rows` rows, stopping early once the batch holds `max_bytes` (at least one
    /// row), encoded for the wire. Returns the rows and whether the result set is exhausted.
    ///
    /// Rows already read (ahead) go out without waiting for the driver: once there is a row to
    /// send, another read is made only when the last one came back short, a sign that the
    /// result set ends, so that the answer can say so. A result set that goes on is thus
    /// read by [`Self::read_ahead`] while the previous batch is on the wire.
    ///
    /// # Errors
    /// Driver errors while fetching; values longer than a bulk buffer.
    pub(crate) fn fetch(
        &mut self,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<(EncodedRows, bool), DbError> {
        if self.limit_left == Some(0) {
            return Ok((EncodedRows::new(), true));
        }
        let max_rows = match self.limit_left {
            Some(left) => max_rows.min(usize::try_from(left).unwrap_or(usize::MAX)),
            None => max_rows,
        };
        let (rows, done) = self.fetch_unlimited(max_rows, max_bytes)?;
        if let Some(left) = &mut self.limit_left {
            *left = left.saturating_sub(rows.len() as u64);
            if *left == 0 {
                // The rest of this result set is not wanted; the statement's further results
                // (if any) still are.
                if !self.scrollable {
                    self.pending = PendingRows::default();
                    self.deferred = None;
                    finish(&mut self.source);
                    self.settle();
                }
                return Ok((rows, true));
            }
        }
        if done && !self.scrollable && matches!(self.after, After::Unknown) {
            self.settle();
        }
        Ok((rows, done))
    }

    /// Marks the result set as opened in a transaction the driver began for it (see
    /// [`Self::in_driver_transaction`]).
    pub(crate) fn set_in_driver_transaction(&mut self) {
        self.in_driver_transaction = true;
    }

    /// The driver still has the statement's cursor open inside a transaction it began for it,
    /// which no commit has ended yet.
    pub(crate) fn in_driver_transaction(&self) -> bool {
        self.in_driver_transaction && !matches!(self.after, After::NoMore) && !self.cut_off
    }

    /// The driver's transaction was committed: the database keeps the rest of the rows (a
    /// holdable cursor).
    pub(crate) fn driver_transaction_committed(&mut self) {
        self.in_driver_transaction = false;
    }

    /// The driver's transaction failed to commit and took the rest of the rows with it: the
    /// rows already read still go out, then `error` ends the result set (never a clean end:
    /// the driver would report the lost rows as the end of the result).
    pub(crate) fn cut_off(&mut self, error: DbError) {
        self.in_driver_transaction = false;
        self.cut_off = true;
        // An error met before (reading ahead) came first and stays first.
        if self.deferred.is_none() {
            self.deferred = Some(error);
        }
        finish(&mut self.source);
        self.after = After::NoMore;
    }

    /// Returns at most `rows` rows from now on (the cursor's max rows, enforced here whatever
    /// the driver does with `SQL_ATTR_MAX_ROWS`).
    pub(crate) fn set_limit(&mut self, rows: u64) {
        self.limit = Some(rows);
        self.limit_left = Some(rows);
    }

    /// After the last row: moves the statement to its next result, or closes the cursor
    /// when there is none.
    fn settle(&mut self) {
        let Source::Done(Some(_)) = &self.source else {
            return;
        };
        let rc = odbc_calls::more_results(self.stmt);
        tracing::debug!(rc = rc.0, "SQLMoreResults after the last row");
        self.after = if rc == odbc_api::sys::SqlReturn::NO_DATA {
            odbc_calls::close_cursor(self.stmt);
            After::NoMore
        } else if odbc_calls::succeeded(rc) {
            After::Next
        } else {
            After::Failed(DbError::from_records(
                records(&odbc_calls::RawStmt(self.stmt)),
                "SQLMoreResults failed",
            ))
        };
    }

    fn fetch_unlimited(
        &mut self,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<(EncodedRows, bool), DbError> {
        self.last_want = max_rows;
        let mut out = EncodedRows::new();
        while out.len() < max_rows && (out.byte_len() < max_bytes || out.is_empty()) {
            if self.pending.is_empty() {
                // An error comes after the rows read before it.
                if let Some(e) = self.deferred.take() {
                    if out.is_empty() {
                        return Err(e);
                    }
                    self.deferred = Some(e);
                    break;
                }
                if !out.is_empty() && self.last_read_full {
                    break;
                }
                match self.refill(max_rows - out.len(), max_bytes) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) if out.is_empty() && self.pending.is_empty() => {
                        self.note_failure(&e);
                        return Err(e);
                    }
                    Err(e) => {
                        self.note_failure(&e);
                        self.deferred = Some(e);
                    }
                }
            }
            self.pending.take_into(&mut out, max_rows, max_bytes);
        }
        Ok((out, self.is_exhausted()))
    }

    /// Reads the next batch ahead of the client's requests, unless [`ahead_bytes`] of rows
    /// are waiting already. An error is kept for [`Self::fetch`], which reports it after the
    /// rows read before it. Returns whether reading further ahead would still be useful (the
    /// result set goes on and less than that is waiting).
    pub(crate) fn read_ahead(&mut self, max_bytes: usize) -> bool {
        let limit = ahead_bytes(max_bytes);
        if self.deferred.is_some()
            || matches!(self.source, Source::Done(_))
            || self.pending.waiting_bytes() >= limit
        {
            return false;
        }
        self.pending.compact();
        match self.refill(self.last_want, max_bytes) {
            Ok(more) => {
                more && !matches!(self.source, Source::Done(_))
                    && self.pending.waiting_bytes() < limit
            }
            Err(e) => {
                self.note_failure(&e);
                self.deferred = Some(e);
                false
            }
        }
    }

    /// A read failed with `e`: one the driver reported, inside the driver's transaction,
    /// aborted it (PostgreSQL aborts a transaction at any error in it).
    fn note_failure(&mut self, e: &DbError) {
        if self.in_driver_transaction && !e.records.is_empty() {
            self.aborted_driver_transaction = true;
        }
    }

    /// Reading it failed in the driver's transaction and aborted it (see
    /// [`Self::in_driver_transaction`]).
    pub(crate) fn aborted_driver_transaction(&self) -> bool {
        self.aborted_driver_transaction
    }

    /// The statement behind the result set, with its cursor still open (for its next result)
    /// and no columns bound; `None` when it was lost to a driver failure.
    pub(crate) fn into_statement(self) -> (Option<Statement>, After) {
        let cursor = match self.source {
            Source::Bulk(block, _) => block.unbind().ok().map(|(cursor, _)| cursor),
            Source::Piecewise(cursor) => Some(cursor),
            Source::Done(cursor) => cursor,
        };
        if cursor.is_some() {
            // Its next result is read one row per fetch unless bound anew (see `open`).
            let _ = odbc_calls::set_stmt_attr(
                self.stmt,
                odbc_api::sys::StatementAttribute::RowArraySize,
                1,
            );
        }
        (cursor.map(CursorImpl::into_stmt), self.after)
    }

    /// Moves a scrollable cursor so that the next fetch starts at row `position` (0 is the
    /// first row), forgetting rows read ahead. `position` may be the row count (the next
    /// fetch is then empty), not more.
    ///
    /// # Errors
    /// `NotSupportedError` on a forward-only cursor; `HY107` past the end; driver errors.
    pub(crate) fn scroll_to(&mut self, position: u64) -> Result<(), DbError> {
        if !self.scrollable {
            return Err(DbError::with_state(
                ErrorClass::NotSupportedError,
                "HYC00",
                "the cursor is forward-only: set it scrollable before executing to scroll",
            ));
        }
        if self.cut_off {
            return Err(DbError::with_state(
                ErrorClass::OperationalError,
                "HY010",
                "the result set's rows were lost when the transaction holding them failed to commit",
            ));
        }
        let cursor = match std::mem::replace(&mut self.source, Source::Done(None)) {
            Source::Piecewise(cursor) | Source::Done(Some(cursor)) => cursor,
            other => {
                self.source = other;
                return Err(DbError::with_state(
                    ErrorClass::InterfaceError,
                    "HY010",
                    "the result set cannot be positioned any more",
                ));
            }
        };
        self.pending = PendingRows::default();
        self.deferred = None;
        self.last_read_full = false;
        self.after = After::Unknown;
        self.limit_left = self.limit.map(|max| max.saturating_sub(position));
        let row = i64::try_from(position).unwrap_or(i64::MAX);
        let rc = odbc_calls::fetch_absolute(self.stmt, row);
        self.source = Source::Piecewise(cursor);
        if rc == odbc_api::sys::SqlReturn::NO_DATA && position > 0 {
            return Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "HY107",
                format!("row {position} is past the end of the result set"),
            ));
        }
        if rc != odbc_api::sys::SqlReturn::NO_DATA && !odbc_calls::succeeded(rc) {
            let records = records(&odbc_calls::RawStmt(self.stmt));
            return Err(DbError::from_records(
                records,
                "SQLFetchScroll failed".to_owned(),
            ));
        }
        Ok(())
    }

    /// Every row was read and sent, and no error waits to be reported (a cell that could not
    /// be read ends the source, and its error comes with the next fetch: the result is not
    /// over until the client has it).
    pub(crate) fn is_exhausted(&self) -> bool {
        self.pending.is_empty() && self.deferred.is_none() && matches!(self.source, Source::Done(_))
    }

    /// Binds a new bulk buffer for the next fetch: eight times as many rows when `grow` (the
    /// result set goes on after a full buffer; up to the limits), with the columns widened in
    /// `size` since the last bind.
    fn rebind_bulk_buffer(&mut self, grow: bool) -> Result<(), DbError> {
        let Source::Bulk(block, mut size) = std::mem::replace(&mut self.source, Source::Done(None))
        else {
            return Ok(());
        };
        let (cursor, _old) = block.unbind().map_err(|e| from_odbc(&e))?;
        if grow {
            size.rows = (size.rows * 8).min(size.max_rows);
        }
        let block = cursor
            .bind_buffer(size.buffer()?)
            .map_err(|e| from_odbc(&e))?;
        self.source = Source::Bulk(block, size);
        Ok(())
    }

    /// Reads more rows into `pending` (which is empty); false when there are none.
    fn refill(&mut self, want: usize, max_bytes: usize) -> Result<bool, DbError> {
        let Self {
            columns,
            source,
            pending,
            stmt,
            piece,
            last_read_full,
            dialect,
            ..
        } = self;
        match source {
            Source::Done(_) => Ok(false),
            Source::Bulk(block, size) => {
                // The days psqlodbc's statement clock may show during the fetch call.
                let before = RecentDays::local_today();
                let batch = block
                    .fetch_with_truncation_check(false)
                    .map_err(|e| from_odbc(&e))?;
                let Some(batch) = batch else {
                    finish(source);
                    *last_read_full = false;
                    return Ok(false);
                };
                let n = batch.num_rows();
                *last_read_full = n == size.rows;
                let grow = n == size.rows && size.rows < size.max_rows;
                let views: Vec<BulkView<'_>> = columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| BulkView::new(batch, i, c.kind))
                    .collect();
                // Columns where the driver says a value did not fit (by its indicator).
                let truncated: Vec<bool> = views.iter().map(BulkView::has_truncated).collect();
                // The longest value of each column that did not fit its buffer.
                let mut outgrown = vec![0usize; views.len()];
                let mut failed = None;
                let recent = before.through(RecentDays::local_today());
                'rows: for r in 0..n {
                    pending.rows.begin_row(views.len());
                    for (i, (view, column)) in views.iter().zip(columns.iter()).enumerate() {
                        let cell = match view.var_cell(r) {
                            None => match view.encode_fixed(r, &mut pending.rows, recent) {
                                Ok(Fixed::ReadAsText) => reread(*stmt, r, i, column.kind, piece)
                                    .and_then(|text| {
                                        encode_var(column.kind, *dialect, text, &mut pending.rows)
                                    }),
                                done => done.map(|_| ()),
                            },
                            Some(None) => {
                                pending.rows.push_null();
                                Ok(())
                            }
                            // In a column with a cut value, one that (nearly: a driver may cut
                            // at a character's start) fills its buffer may go on: read it
                            // again, whole.
                            Some(Some(value))
                                if truncated[i]
                                    && size
                                        .capacity(i)
                                        .is_some_and(|cap| value.len() + MAX_CHAR_BYTES > cap) =>
                            {
                                reread(*stmt, r, i, column.kind, piece).and_then(|whole| {
                                    tracing::debug!(
                                        column = %column.name,
                                        bytes = whole.len(),
                                        "value outgrew its bulk buffer: read again whole"
                                    );
                                    outgrown[i] = outgrown[i].max(whole.len());
                                    encode_var(column.kind, *dialect, whole, &mut pending.rows)
                                })
                            }
                            Some(Some(value)) => {
                                encode_var(column.kind, *dialect, value, &mut pending.rows)
                            }
                        };
                        if let Err(e) = cell {
                            pending.drop_partial_row();
                            failed = Some(e.at_column(i, &column.name));
                            break 'rows;
                        }
                    }
                    pending.end_row();
                }
                if let Some(e) = failed {
                    // The rest of the batch is gone with the cell: the result set ends here
                    // (after the rows before it and the error), never with a silent gap.
                    finish(source);
                    return Err(e);
                }
                let mut widened = false;
                for (i, &len) in outgrown.iter().enumerate() {
                    if len > 0 {
                        widened |= size.widen(i, len);
                    }
                }
                if piece.capacity() > LONG_COLUMN_BYTES {
                    *piece = Vec::new();
                }
                if grow || widened {
                    self.rebind_bulk_buffer(grow)?;
                }
                Ok(n > 0)
            }
            Source::Piecewise(cursor) => {
                let mut got = 0;
                while got < want.max(1) && pending.rows.byte_len() < max_bytes {
                    let Some(mut row) = cursor.next_row().map_err(|e| from_odbc(&e))? else {
                        finish(source);
                        break;
                    };
                    pending.rows.begin_row(columns.len());
                    let mut failed = None;
                    for (i, c) in columns.iter().enumerate() {
                        let column = i as u16 + 1;
                        let read = read_piece(
                            &mut row,
                            column,
                            c.kind,
                            *dialect,
                            piece,
                            &mut pending.rows,
                        );
                        if let Err(e) = read {
                            failed = Some(e.at_column(i, &c.name));
                            break;
                        }
                    }
                    if let Some(e) = failed {
                        // Like a bulk batch: the result set ends after the rows before the
                        // error and the error.
                        pending.drop_partial_row();
                        finish(source);
                        return Err(e);
                    }
                    pending.end_row();
                    got += 1;
                }
                *last_read_full = !matches!(source, Source::Done(_));
                // Do not keep a buffer as large as the largest value read (nor in bulk above).
                if piece.capacity() > LONG_COLUMN_BYTES {
                    *piece = Vec::new();
                }
                Ok(got > 0)
            }
        }
    }
}

/// How many bytes of rows a result set reads ahead of the client's requests, for answers of
/// at most `max_bytes`: two answers' worth, at most a bulk buffer's (what a cursor holds is
/// this and one batch).
fn ahead_bytes(max_bytes: usize) -> usize {
    max_bytes.saturating_mul(2).min(BULK_BUFFER_BYTES)
}

/// Describes the result columns of a prepared statement (before it runs).
///
/// # Errors
/// Driver errors while describing.
pub(crate) fn describe_columns(
    meta: &mut impl ResultSetMetadata,
    stmt: odbc_api::sys::HStmt,
    dialect: Dialect,
) -> Result<Vec<ColumnDesc>, DbError> {
    let n = meta.num_result_cols().map_err(|e| from_odbc(&e))?;
    let n = u16::try_from(n).unwrap_or(0);
    (1..=n)
        .map(|i| describe(meta, stmt, i, dialect).map(|(desc, _, _)| desc))
        .collect()
}

/// A result set's columns as they were described: kept with a cached prepared statement
/// (see [`super::statements::StatementCache`]), so that running it again asks the driver
/// one `SQLDescribeCol` per column, to check, instead of five calls.
pub(crate) struct Described {
    /// What `SQLDescribeCol` said of each column.
    shapes: Vec<ColumnShape>,
    /// The columns as the client sees them.
    pub(crate) descs: Vec<ColumnDesc>,
    /// How each column is read.
    columns: Vec<Column>,
}

impl Described {
    /// The statement's result still has `n` columns that the driver describes as before.
    /// (Anything else, such as a table altered under a prepared statement, is described again.)
    fn still_holds(&self, stmt: odbc_api::sys::HStmt, n: u16) -> bool {
        usize::from(n) == self.shapes.len()
            && (1..=n)
                .zip(&self.shapes)
                .all(|(i, shape)| odbc_calls::describe_col(stmt, i).is_ok_and(|s| s == *shape))
    }
}

fn describe(
    cursor: &mut impl ResultSetMetadata,
    stmt: odbc_api::sys::HStmt,
    i: u16,
    dialect: Dialect,
) -> Result<(ColumnDesc, Column, ColumnShape), DbError> {
    // SQLDescribeCol, not SQLColAttribute: sqliteodbc answers SQL_DESC_CONCISE_TYPE with C
    // types (e.g. -25 for BIGINT, SQL_C_CHAR for BLOB), but describes columns correctly.
    let shape = odbc_calls::describe_col(stmt, i).map_err(|_| {
        DbError::from_records(records(&odbc_calls::RawStmt(stmt)), "SQLDescribeCol failed")
    })?;
    let (name, data_type, size, digits, nullable) = shape.clone();
    let dt = DataType::new(data_type, size, digits);
    let null_ok = match Nullability::new(nullable) {
        Nullability::Nullable => Some(true),
        Nullability::NoNulls => Some(false),
        Nullability::Unknown => None,
    };
    let display_size = cursor
        .col_display_size(i)
        .ok()
        .flatten()
        .map(|n| n.get() as i64);
    let internal_size = cursor
        .col_octet_length(i)
        .ok()
        .flatten()
        .map(|n| n.get() as i64);
    let precision = cursor.col_precision(i).ok().map(|p| p as i64);
    let scale = cursor.col_scale(i).ok().map(|s| s as i64);
    let fits = |bytes: usize| (bytes <= LONG_COLUMN_BYTES).then_some(bytes);
    let text = |max_str_len: usize| Some(BufferDesc::Text { max_str_len });
    let (kind, bulk) = match dt {
        _ if dialect == Dialect::Sqlite => {
            let declared = column_type_name(stmt, i).unwrap_or_default();
            (Kind::Sqlite(sqlite_column(&declared, dt)), None)
        }
        DataType::Bit => (Kind::Bool, Some(BufferDesc::Bit { nullable: true })),
        DataType::TinyInt | DataType::SmallInt | DataType::Integer | DataType::BigInt => {
            (Kind::Int, Some(BufferDesc::I64 { nullable: true }))
        }
        // psqlodbc describes `money` as a float: its text (`-$1,234.56`) is the value.
        DataType::Real | DataType::Float { .. } | DataType::Double
            if dialect == Dialect::Postgres
                && column_type_name(stmt, i).is_some_and(|n| n.eq_ignore_ascii_case("money")) =>
        {
            (Kind::Text, text(64))
        }
        DataType::Real | DataType::Float { .. } | DataType::Double => {
            (Kind::Float, Some(BufferDesc::F64 { nullable: true }))
        }
        // Sign, leading zero and point besides the digits; longer values are read again.
        DataType::Numeric { precision, .. } | DataType::Decimal { precision, .. } => (
            Kind::Decimal,
            text(precision.saturating_add(3).clamp(40, LONG_COLUMN_BYTES)),
        ),
        DataType::Date => (Kind::Date, text(32)),
        DataType::Time { .. } => (Kind::Time, text(32)),
        // psqlodbc prints a timestamp from the struct it parsed its text into: read the
        // struct (no printing, no parsing here); the few it may have made up are read again
        // as text (`cells::pg_timestamp`).
        DataType::Timestamp { .. } if dialect == Dialect::Postgres => (
            Kind::Timestamp,
            Some(BufferDesc::Timestamp { nullable: true }),
        ),
        DataType::Timestamp { .. } => (Kind::Timestamp, text(48)),
        DataType::Char { length }
        | DataType::Varchar { length }
        | DataType::WChar { length }
        | DataType::WVarchar { length }
        | DataType::LongVarchar { length }
        | DataType::WLongVarchar { length } => (
            Kind::Text,
            // Sizes are in characters; UTF-8 needs up to 4 bytes for one.
            length
                .and_then(|l| l.get().checked_mul(4))
                .and_then(fits)
                .and_then(text),
        ),
        DataType::Binary { length }
        | DataType::Varbinary { length }
        | DataType::LongVarbinary { length } => (
            Kind::Bytes,
            length
                .map(|l| l.get())
                .and_then(fits)
                .map(|n| BufferDesc::Binary { max_bytes: n }),
        ),
        // SQL_GUID.
        DataType::Other { data_type, .. } if data_type.0 == -11 && dialect == Dialect::Postgres => {
            (Kind::Uuid, text(40))
        }
        DataType::Unknown | DataType::Other { .. } => (Kind::Text, None),
    };
    Ok((
        ColumnDesc {
            name: name.clone(),
            type_code: dt.data_type().0,
            display_size,
            internal_size,
            precision,
            scale,
            null_ok,
        },
        Column { kind, name, bulk },
        shape,
    ))
}

/// The most bytes a driver may leave unused at the end of a buffer it cut a value into (it
/// cuts before a character it cannot fit whole: at most 3 bytes of UTF-8, and a terminator).
const MAX_CHAR_BYTES: usize = 4;

#[cfg(test)]
mod tests {
    use super::PendingRows;
    use crate::proto::rows::EncodedRows;

    fn pending(values: std::ops::Range<i64>) -> PendingRows {
        let mut p = PendingRows::default();
        for v in values {
            p.rows.begin_row(1);
            p.rows.push_int(v);
            p.end_row();
        }
        p
    }

    fn ints(rows: &EncodedRows) -> Vec<i64> {
        rows.decode()
            .unwrap()
            .into_iter()
            .map(|r| match r[..] {
                [crate::proto::value::Value::Int(i)] => i,
                _ => panic!("{r:?}"),
            })
            .collect()
    }

    #[test]
    fn rows_sent_are_let_go_and_the_rest_read_on_as_before() {
        let mut p = pending(0..10);
        let mut out = EncodedRows::new();
        p.take_into(&mut out, 3, usize::MAX);
        assert_eq!(ints(&out), [0, 1, 2]);
        let waiting = p.waiting_bytes();
        p.compact();
        assert_eq!(p.waiting_bytes(), waiting);
        assert_eq!(p.rows.byte_len(), waiting);
        // Rows read after the compaction follow those still waiting.
        for v in 10..12 {
            p.rows.begin_row(1);
            p.rows.push_int(v);
            p.end_row();
        }
        let mut rest = EncodedRows::new();
        p.take_into(&mut rest, 100, usize::MAX);
        assert_eq!(ints(&rest), (3..12).collect::<Vec<_>>());
        assert!(p.is_empty());
        assert_eq!(p.waiting_bytes(), 0);
        // Nothing sent yet: nothing to let go.
        let mut fresh = pending(0..2);
        fresh.compact();
        assert_eq!(fresh.ends.len(), 2);
    }
}
