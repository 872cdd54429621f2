//! A database connection's reply as the client sees it: the frame it becomes, and the direct
//! route by which the connection's own thread sends it.
//!
//! Without a route, a reply goes back to the session actor, which encodes and writes it: the
//! client waits for the reactor to wake up after the database thread. With a [`Route`] (thread
//! mode, small answers), the database thread encodes the frame and puts it on the session's
//! [`Outbox`] itself: on a plain TCP link that is a non-blocking write on the socket, so the
//! answer leaves one thread hand-off sooner. The session actor then hears [`DbReply::Sent`] and
//! does its bookkeeping (latency metrics, transactions, the next queued request) off the
//! client's critical path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::DbReply;
use crate::error::{DbError, DiagRecord, ErrorClass};
use crate::proto::compress::Compression;
use crate::proto::frame;
use crate::proto::message::{RequestId, Response, ServerFrame};
use crate::proto::rows::{encode_rows_frame, EncodedRows, RowsHead};
use crate::proto::{ProtoError, MAX_FRAME_LEN};
use crate::server::metrics::Metrics;
use crate::server::outbox::Outbox;

/// Rows larger than this go back to the session actor to be encoded (and compressed) on the
/// reactor while the database thread reads the next batch: a bulk fetch keeps its two cores.
pub const DIRECT_ROWS_BYTES: usize = 32 * 1024;

/// A reply turned into what the client reads.
pub enum ClientAnswer {
    /// Rows already encoded by the connection, with their head.
    Rows {
        /// `Executed` (with the columns) or more `Rows`.
        head: RowsHead,
        /// The rows.
        rows: EncodedRows,
        /// The result set is exhausted.
        done: bool,
        /// The driver's warnings (empty for a version-1 client).
        warnings: Vec<DiagRecord>,
    },
    /// Any other answer.
    Other(Response),
}

impl ClientAnswer {
    /// What `reply` becomes for a client speaking `protocol` (a version-1 client gets no
    /// warnings, which go to the log, and reads a failed `ExecuteMany` as an error).
    pub fn from_reply(reply: DbReply, protocol: u16) -> Self {
        let (mut warnings, reply) = match reply {
            DbReply::Warned(warnings, reply) => (warnings, *reply),
            reply => (Vec::new(), reply),
        };
        let legacy = protocol < 2;
        if legacy {
            for w in warnings.drain(..) {
                tracing::debug!(sqlstate = %w.sqlstate, message = %w.message, "driver warning");
            }
        }
        let response = match reply {
            DbReply::Executed {
                columns,
                rowcount,
                rows,
                done,
            } => {
                let head = RowsHead::Executed { columns, rowcount };
                return Self::Rows {
                    head,
                    rows,
                    done,
                    warnings,
                };
            }
            DbReply::Rows { rows, done } => {
                return Self::Rows {
                    head: RowsHead::Rows,
                    rows,
                    done,
                    warnings,
                };
            }
            DbReply::Opened { .. } | DbReply::Done | DbReply::Sent { .. } => Response::Ok,
            DbReply::Info(v) => Response::Info(v),
            DbReply::Prepared { columns, params } => Response::Prepared { columns, params },
            DbReply::NoMoreResults => Response::NoMoreResults,
            DbReply::Batch(outcomes) => Response::BatchResults { outcomes },
            DbReply::ProcedureOutputs { rowcount, values } => {
                Response::ProcedureOutputs { rowcount, values }
            }
            DbReply::ManyFailed { error, .. } if legacy => Response::Error(error),
            DbReply::ManyFailed {
                index,
                rowcount,
                error,
            } => Response::ExecuteManyFailed {
                index,
                rowcount,
                error,
            },
            // Nested warnings do not happen: one level is unwrapped above.
            DbReply::Warned(..) => Response::Ok,
        };
        Self::Other(if warnings.is_empty() {
            response
        } else {
            Response::Warned {
                warnings,
                response: Box::new(response),
            }
        })
    }

    /// Encodes the answer to request `id` as one frame; an answer too large for a frame
    /// becomes an `InterfaceError` that says so.
    pub fn encode(self, id: RequestId, compression: Compression) -> EncodedAnswer {
        let mut buf = Vec::new();
        match self {
            Self::Rows {
                head,
                rows,
                done,
                warnings,
            } => {
                match encode_rows_frame(
                    id,
                    head,
                    &rows,
                    done,
                    warnings,
                    compression,
                    MAX_FRAME_LEN,
                    &mut buf,
                ) {
                    Ok(()) => EncodedAnswer {
                        bytes: Bytes::from(buf),
                        failed: false,
                        more_rows: !done,
                        rows: rows.len() as u64,
                        error: None,
                    },
                    Err(e) => too_large(id, &e),
                }
            }
            Self::Other(response) => {
                let error = error_class(&response);
                let frame = ServerFrame { id, response };
                match frame::encode(&frame, compression, MAX_FRAME_LEN, &mut buf) {
                    Ok(()) => EncodedAnswer {
                        bytes: Bytes::from(buf),
                        failed: error.is_some(),
                        more_rows: false,
                        rows: 0,
                        error,
                    },
                    Err(e) => too_large(id, &e),
                }
            }
        }
    }
}

/// An answer encoded as a frame, with what the session counts of it.
pub struct EncodedAnswer {
    /// The frame.
    pub bytes: Bytes,
    /// It is an error (or a failed `ExecuteMany`).
    pub failed: bool,
    /// It carries rows of a result set that has more.
    pub more_rows: bool,
    /// The rows it carries.
    pub rows: u64,
    /// The class of the error it carries, for the metrics.
    pub error: Option<ErrorClass>,
}

impl EncodedAnswer {
    /// Sends the answer as a numbered frame and counts it in the metrics (rows and errors;
    /// the outbox counts the bytes) if it is on its way.
    pub fn send(self, outbox: &Outbox, metrics: &Metrics) {
        if outbox.send_numbered(self.bytes) {
            count(metrics, self.error, self.rows);
        }
    }
}

fn count(metrics: &Metrics, error: Option<ErrorClass>, rows: u64) {
    if let Some(class) = error {
        metrics.error(class);
    }
    if rows > 0 {
        metrics.rows_sent.inc_by(rows);
    }
}

/// The class of the error a response carries, if it is one (a failed `ExecuteMany` is one).
fn error_class(response: &Response) -> Option<ErrorClass> {
    match response {
        Response::Error(e) | Response::ExecuteManyFailed { error: e, .. } => Some(e.class),
        Response::Warned { response, .. } => error_class(response),
        _ => None,
    }
}

/// Only an answer too large for a frame gets here: say so instead.
fn too_large(id: RequestId, e: &ProtoError) -> EncodedAnswer {
    let mut buf = Vec::new();
    let err = DbError::new(
        ErrorClass::InterfaceError,
        format!("cannot send the answer: {e}"),
    );
    let fallback = ServerFrame {
        id,
        response: Response::Error(err),
    };
    let _ = frame::encode(&fallback, Compression::OFF, MAX_FRAME_LEN, &mut buf);
    EncodedAnswer {
        bytes: Bytes::from(buf),
        failed: true,
        more_rows: false,
        rows: 0,
        error: Some(ErrorClass::InterfaceError),
    }
}

/// How a database thread sends one request's answer to the client itself.
pub struct Route {
    /// The session's output.
    pub outbox: Arc<Outbox>,
    /// The request.
    pub id: RequestId,
    /// The protocol version the client speaks.
    pub protocol: u16,
    /// The session's compression.
    pub compression: Compression,
    /// Set by the session when the answer must come back to it instead (the watchdog
    /// cancelled the request, and its answer says so).
    pub hold: Arc<AtomicBool>,
    /// The request follows others on its connection whose answers may still be with the
    /// session: its answer goes there too, to leave after theirs.
    pub behind: bool,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
}

impl Route {
    /// Sends `result` to the client when it is small and nothing holds it, and returns what
    /// the session hears instead ([`DbReply::Sent`]); otherwise returns `result` unchanged.
    pub fn deliver(self, result: Result<DbReply, DbError>) -> Result<DbReply, DbError> {
        if self.behind || self.hold.load(Ordering::Acquire) || !small(&result) {
            return result;
        }
        let answer = match result {
            Ok(reply) => ClientAnswer::from_reply(reply, self.protocol),
            Err(e) => ClientAnswer::Other(Response::Error(e)),
        };
        let encoded = answer.encode(self.id, self.compression);
        let (failed, more_rows) = (encoded.failed, encoded.more_rows);
        encoded.send(&self.outbox, &self.metrics);
        Ok(DbReply::Sent {
            failed,
            more_rows,
            at: Some(std::time::Instant::now()),
        })
    }
}

/// An answer a worker process already encoded as the client's frame (see
/// [`super::worker::FrameAs`]): the server relays its bytes.
pub struct FinishedFrame {
    /// The frame.
    pub bytes: Bytes,
    /// It is an error (an answer too large for a frame).
    pub failed: bool,
    /// It carries rows of a result set that has more.
    pub more_rows: bool,
    /// The rows it carries.
    pub rows: u64,
    /// It is sent uncompressed for the relay to compress (see [`frame::compress_frame`]).
    pub compress: bool,
}

impl Route {
    /// Sends a frame a worker finished (whatever its size: the worker encoded and compressed
    /// it in its own process) and returns what the session hears.
    pub fn relay(self, frame: FinishedFrame) -> DbReply {
        let compressed = frame
            .compress
            .then(|| frame::compress_frame(&frame.bytes, self.compression))
            .flatten();
        let bytes = compressed.map_or(frame.bytes, Bytes::from);
        if self.outbox.send_numbered(bytes) {
            let error = frame.failed.then_some(ErrorClass::InterfaceError);
            count(&self.metrics, error, frame.rows);
        }
        DbReply::Sent {
            failed: frame.failed,
            more_rows: frame.more_rows,
            at: Some(std::time::Instant::now()),
        }
    }
}

/// The bytes of the rows a reply carries.
pub fn rows_bytes(reply: &DbReply) -> usize {
    match innermost(reply) {
        DbReply::Executed { rows, .. } | DbReply::Rows { rows, .. } => rows.byte_len(),
        _ => 0,
    }
}

/// A reply without its warnings.
fn innermost(mut reply: &DbReply) -> &DbReply {
    while let DbReply::Warned(_, inner) = reply {
        reply = inner;
    }
    reply
}

/// Whether a reply is small enough to encode on the database thread.
fn small(result: &Result<DbReply, DbError>) -> bool {
    match result {
        Err(_) => true,
        // Connecting is answered by the session (it learns the connection's id).
        Ok(reply) => match innermost(reply) {
            DbReply::Opened { .. } | DbReply::Sent { .. } => false,
            _ => rows_bytes(reply) <= DIRECT_ROWS_BYTES,
        },
    }
}
