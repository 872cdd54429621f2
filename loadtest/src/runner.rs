//! Who runs the steps: the server through the public client library (`remote`), or the same
//! data source through `odbc-api` in this process (`--direct`), for the remote/direct ratio.

use std::sync::Arc;

use odbc_api::buffers::{BufferDesc, ColumnarDynBuffer};
use odbc_api::parameter::{InputParameter, VarCharBox};
use odbc_api::{Connection, ConnectionOptions, Cursor, ResultSetMetadata};
use odbcd::client::{self, ServerSession, Value};

use crate::workload::Step;

/// Runs steps; returns rows fetched, or the error's class and message.
pub trait Runner {
    /// Runs one step.
    ///
    /// # Errors
    /// (class, message) of the failure.
    fn run(&mut self, step: &Step) -> Result<u64, (String, String)>;
    /// Turns autocommit off (for transactional workloads).
    ///
    /// # Errors
    /// As [`Runner::run`].
    fn begin_transactions(&mut self) -> Result<(), (String, String)>;
    /// Frame bytes sent and received so far (0 in-process).
    fn traffic(&self) -> (u64, u64);
}

fn client_err(e: &client::Error) -> (String, String) {
    (e.class.to_string(), e.to_string())
}

/// A session and connection on an odbcd server.
pub struct Remote {
    session: ServerSession,
    odbc: client::Odbc,
    conn: client::Connection,
    connect: String,
}

impl Remote {
    /// Opens a session and a connection.
    ///
    /// # Errors
    /// Configuration, session or connect failures.
    pub fn open(
        session: ServerSession,
        user: &str,
        password: &str,
        connect: &str,
    ) -> Result<Self, client::Error> {
        let mut session = session;
        let odbc = session.open(user, password, None, None)?;
        let conn = odbc.driver_connect(connect)?;
        Ok(Self {
            session,
            odbc,
            conn,
            connect: connect.to_owned(),
        })
    }
}

impl Runner for Remote {
    fn run(&mut self, step: &Step) -> Result<u64, (String, String)> {
        match step {
            Step::Execute { sql, params } => {
                let mut c = self.conn.cursor();
                c.execute(sql, params).map_err(|e| client_err(&e))?;
                if c.description().is_none() {
                    return Ok(0);
                }
                let mut n = 0;
                for row in c.rows() {
                    row.map_err(|e| client_err(&e))?;
                    n += 1;
                }
                Ok(n)
            }
            Step::Commit => self.conn.commit().map(|()| 0).map_err(|e| client_err(&e)),
            Step::Reconnect => {
                self.conn.close().map_err(|e| client_err(&e))?;
                self.conn = self
                    .odbc
                    .driver_connect(&self.connect)
                    .map_err(|e| client_err(&e))?;
                Ok(0)
            }
            Step::Ping => self.odbc.ping().map(|()| 0).map_err(|e| client_err(&e)),
        }
    }

    fn begin_transactions(&mut self) -> Result<(), (String, String)> {
        self.conn.set_autocommit(false).map_err(|e| client_err(&e))
    }

    fn traffic(&self) -> (u64, u64) {
        self.odbc.traffic()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = self.session.close();
    }
}

/// The rows `--direct` binds for a result's first batch (as the server's bulk reader).
const FIRST_BATCH_ROWS: usize = 32;

/// The most bytes `--direct` binds for one batch (as the server's bulk reader).
const DIRECT_BUFFER_BYTES: usize = 4 << 20;

/// The same data source through `odbc-api`, in this process.
pub struct Direct {
    conn: Arc<Connection<'static>>,
    connect: String,
}

fn odbc_err(e: &odbc_api::Error) -> (String, String) {
    let class = match e {
        odbc_api::Error::Diagnostics { record, .. } => {
            client::ErrorClass::from_sqlstate(record.state.as_str()).to_string()
        }
        _ => "InterfaceError".into(),
    };
    (class, e.to_string())
}

impl Direct {
    /// Connects with `connect`.
    ///
    /// # Errors
    /// Driver manager and driver errors.
    pub fn open(connect: &str) -> Result<Self, (String, String)> {
        Ok(Self {
            conn: Self::connect(connect)?,
            connect: connect.to_owned(),
        })
    }

    fn connect(connect: &str) -> Result<Arc<Connection<'static>>, (String, String)> {
        let env = odbc_api::environment().map_err(|e| odbc_err(&e))?;
        let conn = env
            .connect_with_connection_string(connect, ConnectionOptions::default())
            .map_err(|e| odbc_err(&e))?;
        #[allow(clippy::arc_with_non_send_sync)]
        let conn = Arc::new(conn);
        Ok(conn)
    }
}

fn to_param(v: &Value) -> Box<dyn InputParameter> {
    match v {
        Value::Null => Box::new(VarCharBox::null()),
        Value::Int(i) => Box::new(*i),
        Value::Float(f) => Box::new(*f),
        other => Box::new(VarCharBox::from_string(other.to_string())),
    }
}

impl Runner for Direct {
    fn run(&mut self, step: &Step) -> Result<u64, (String, String)> {
        match step {
            Step::Execute { sql, params } => {
                let params: Vec<Box<dyn InputParameter>> = params.iter().map(to_param).collect();
                let cursor = self
                    .conn
                    .execute(sql, params.as_slice(), None)
                    .map_err(|e| odbc_err(&e))?;
                let Some(mut cursor) = cursor else {
                    return Ok(0);
                };
                let cols = cursor.num_result_cols().map_err(|e| odbc_err(&e))?;
                let mut descs = Vec::new();
                for i in 1..=cols as u16 {
                    let dt = cursor.col_data_type(i).map_err(|e| odbc_err(&e))?;
                    let desc = BufferDesc::from_data_type(dt, true)
                        .filter(|d| d.bytes_per_row() <= 4096)
                        .unwrap_or(BufferDesc::Text { max_str_len: 4096 });
                    descs.push(desc);
                }
                // As the server reads: a small buffer first (a point query binds 32 rows, not
                // a thousand), eight times larger while the result goes on, at most 4 MiB.
                let row_bytes: usize = descs.iter().map(BufferDesc::bytes_per_row).sum();
                let most_rows = (DIRECT_BUFFER_BYTES / row_bytes.max(1)).max(1);
                let mut rows = FIRST_BATCH_ROWS.min(most_rows);
                let mut n = 0;
                // Every value checked for truncation, as odbcd checks them (it reads a longer
                // one again whole; here it is an error): the same guarantee, not a faster
                // reader that may cut values silently.
                loop {
                    let buffer = ColumnarDynBuffer::try_from_descs(rows, descs.iter().copied())
                        .map_err(|e| odbc_err(&e))?;
                    let mut block = cursor.bind_buffer(buffer).map_err(|e| odbc_err(&e))?;
                    match block
                        .fetch_with_truncation_check(true)
                        .map_err(|e| odbc_err(&e))?
                    {
                        None => return Ok(n),
                        Some(batch) => n += batch.num_rows() as u64,
                    }
                    if rows < most_rows {
                        rows = (rows * 8).min(most_rows);
                        cursor = block.unbind().map_err(|e| odbc_err(&e))?.0;
                        continue;
                    }
                    while let Some(batch) = block
                        .fetch_with_truncation_check(true)
                        .map_err(|e| odbc_err(&e))?
                    {
                        n += batch.num_rows() as u64;
                    }
                    return Ok(n);
                }
            }
            Step::Commit => self.conn.commit().map(|()| 0).map_err(|e| odbc_err(&e)),
            Step::Reconnect => {
                // Connect, then disconnect the old one: both inside the request, as remote.
                self.conn = Self::connect(&self.connect)?;
                Ok(0)
            }
            Step::Ping => Err((
                "NotSupportedError".into(),
                "ping has no in-process form: it measures the server alone".into(),
            )),
        }
    }

    fn begin_transactions(&mut self) -> Result<(), (String, String)> {
        self.conn.set_autocommit(false).map_err(|e| odbc_err(&e))
    }

    fn traffic(&self) -> (u64, u64) {
        (0, 0)
    }
}
