//! Cursors: execute statements and fetch their rows, DB-API style.
//!
//! Rows arrive in batches. While the application works through one batch, the request for the
//! next is already on its way (one batch ahead, never more), so fetching a large result overlaps
//! the network with the application's work and memory stays bounded by two batches.

use std::collections::VecDeque;
use std::sync::Arc;

use super::conn_inner::ConnInner;
use super::link::Link;
use super::{unexpected, Error};
use crate::error::ErrorClass;
use crate::proto::message::{ConnId, CursorId, Request, RequestId, Response};
use crate::proto::value::{ColumnDesc, Value};

/// One row: a value per column.
pub type Row = Vec<Value>;

/// Rows asked for per batch (the server also stops a batch at `max_chunk_length` bytes).
const BATCH_ROWS: u32 = 10_000;

/// A cursor on a [`super::Connection`].
pub struct Cursor {
    conn: Arc<ConnInner>,
    /// The link and connection id of the current result (set by `execute`).
    link: Option<Arc<Link>>,
    conn_id: ConnId,
    id: CursorId,
    description: Option<Vec<ColumnDesc>>,
    rowcount: i64,
    rows: VecDeque<Row>,
    /// The server has no more rows for the current result.
    done: bool,
    /// A fetch request in flight.
    prefetch: Option<RequestId>,
    /// The server may still hold a result set for this cursor (it lets one go by itself once
    /// an answer says `done`, or when the cursor executes again): closing must tell it.
    open_on_server: bool,
    /// Rows `fetchmany()` returns by default (DB-API `arraysize`).
    pub arraysize: usize,
    closed: bool,
}

impl Cursor {
    pub(crate) fn new(conn: Arc<ConnInner>, id: CursorId) -> Self {
        Self {
            conn,
            link: None,
            conn_id: 0,
            id,
            description: None,
            rowcount: -1,
            rows: VecDeque::new(),
            done: true,
            prefetch: None,
            open_on_server: false,
            arraysize: 1,
            closed: false,
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.closed {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "HY010",
                "the cursor is closed",
            ));
        }
        Ok(())
    }

    fn reset(&mut self) {
        if let (Some(id), Some(link)) = (self.prefetch.take(), &self.link) {
            link.abandon(id);
        }
        self.rows.clear();
        self.description = None;
        self.rowcount = -1;
        self.done = true;
    }

    /// Starts a new statement: forgets the current result and returns the link and
    /// connection to send it on.
    fn begin(&mut self) -> Result<(Arc<Link>, ConnId), Error> {
        self.check_open()?;
        self.reset();
        let (link, conn) = self.conn.ensure()?;
        self.link = Some(Arc::clone(&link));
        self.conn_id = conn;
        // Until an answer says otherwise (after an error, closing tells the server anyway).
        self.open_on_server = true;
        Ok((link, conn))
    }

    /// Executes `sql` with `params` (one per `?`). A result set's description and first rows
    /// arrive with the answer.
    ///
    /// # Errors
    /// The database's error, with its class and SQLSTATE.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<&mut Self, Error> {
        let (link, conn) = self.begin()?;
        let r = link.call(Request::Execute {
            conn,
            cursor: self.id,
            sql: sql.to_owned(),
            params: params.to_vec(),
            max_rows: BATCH_ROWS,
        })?;
        match r {
            Response::Executed {
                columns,
                rowcount,
                rows,
                done,
            } => {
                self.description = columns;
                self.rowcount = rowcount;
                self.rows = rows.into();
                self.done = done;
                self.open_on_server = !done;
                self.request_next()?;
                Ok(self)
            }
            other => Err(unexpected(&other)),
        }
    }

    /// Executes `sql` once per parameter set; `rowcount` is the total.
    ///
    /// # Errors
    /// The first failure, naming the parameter set.
    pub fn executemany(
        &mut self,
        sql: &str,
        param_sets: &[Vec<Value>],
    ) -> Result<&mut Self, Error> {
        let (link, conn) = self.begin()?;
        match link.call(Request::ExecuteMany {
            conn,
            cursor: self.id,
            sql: sql.to_owned(),
            param_sets: param_sets.to_vec(),
        })? {
            Response::Executed { rowcount, .. } => {
                self.open_on_server = false;
                self.rowcount = rowcount;
                Ok(self)
            }
            other => Err(unexpected(&other)),
        }
    }

    /// Asks for the next batch if the server has more and none is in flight.
    fn request_next(&mut self) -> Result<(), Error> {
        if let (false, None, Some(link)) = (self.done, self.prefetch, &self.link) {
            self.prefetch = Some(link.send(Request::Fetch {
                conn: self.conn_id,
                cursor: self.id,
                max_rows: BATCH_ROWS,
            })?);
        }
        Ok(())
    }

    /// Makes sure at least one row is buffered, unless the result is exhausted.
    fn fill(&mut self) -> Result<(), Error> {
        while self.rows.is_empty() && !self.done {
            self.request_next()?;
            let (Some(id), Some(link)) = (self.prefetch.take(), &self.link) else {
                break;
            };
            match link.wait(id)? {
                Response::Rows { rows, done } => {
                    self.rows = rows.into();
                    self.done = done;
                    self.open_on_server = !done;
                }
                Response::Error(e) => {
                    self.done = true;
                    return Err(e);
                }
                other => return Err(unexpected(&other)),
            }
            self.request_next()?;
        }
        Ok(())
    }

    fn check_result(&self) -> Result<(), Error> {
        self.check_open()?;
        if self.description.is_none() {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "24000",
                "no result set: the last statement did not return rows",
            ));
        }
        Ok(())
    }

    /// The next row, or `None` when the result is exhausted.
    ///
    /// # Errors
    /// `ProgrammingError` without a result set; database or link errors.
    pub fn fetchone(&mut self) -> Result<Option<Row>, Error> {
        self.check_result()?;
        self.fill()?;
        Ok(self.rows.pop_front())
    }

    /// Up to `n` rows (`arraysize` when `None`).
    ///
    /// # Errors
    /// As [`Self::fetchone`].
    pub fn fetchmany(&mut self, n: Option<usize>) -> Result<Vec<Row>, Error> {
        self.check_result()?;
        let n = n.unwrap_or(self.arraysize);
        let mut out = Vec::with_capacity(n.min(BATCH_ROWS as usize));
        while out.len() < n {
            self.fill()?;
            if self.rows.is_empty() {
                break;
            }
            let take = (n - out.len()).min(self.rows.len());
            out.extend(self.rows.drain(..take));
        }
        Ok(out)
    }

    /// All remaining rows.
    ///
    /// # Errors
    /// As [`Self::fetchone`].
    pub fn fetchall(&mut self) -> Result<Vec<Row>, Error> {
        self.check_result()?;
        let mut out = Vec::new();
        loop {
            self.fill()?;
            if self.rows.is_empty() {
                return Ok(out);
            }
            out.extend(self.rows.drain(..));
        }
    }

    /// Iterates over the remaining rows, one batch in memory at a time.
    pub fn rows(&mut self) -> impl Iterator<Item = Result<Row, Error>> + '_ {
        std::iter::from_fn(move || self.fetchone().transpose())
    }

    /// The result's columns (DB-API `description`), `None` without a result set.
    pub fn description(&self) -> Option<&[ColumnDesc]> {
        self.description.as_deref()
    }

    /// Rows affected by the last statement, -1 when unknown.
    pub fn rowcount(&self) -> i64 {
        self.rowcount
    }

    /// Closes the cursor and its result set on the server.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        let open = self.open_on_server;
        self.reset();
        self.closed = true;
        if let (true, Some(link)) = (open, &self.link) {
            if !link.is_broken() {
                link.send_and_forget(Request::CloseCursor {
                    conn: self.conn_id,
                    cursor: self.id,
                });
            }
        }
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("conn", &self.conn_id)
            .field("id", &self.id)
            .field("rowcount", &self.rowcount)
            .field("buffered_rows", &self.rows.len())
            .field("done", &self.done)
            .field("closed", &self.closed)
            .finish()
    }
}
