//! The session actor: one per client connection.
//!
//! It reads [`ClientFrame`]s from the socket (a `StreamHandler`), answers session-level
//! requests itself, forwards database requests to the [`DbConnection`] actor of the connection
//! they name, and writes each answer back with its request id as soon as it is ready: requests
//! on different database connections run concurrently, requests on one connection run in order.
//! When the client closes the session or the link drops, `stopping` closes every database
//! connection (rolling back what was not committed) and unregisters from the registry.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::FramedRead;

use super::db::{self, DbCall, DbConnection, DbReply, DbRequest, OpenTarget};
use super::registry::{
    AcquireConnection, GetStatus, RegisterSession, ReleaseConnection, UnregisterSession,
};
use super::Shared;
use crate::connstr;
use crate::error::{DbError, ErrorClass};
use crate::proto::codec::{CodecError, FrameCodec};
use crate::proto::compress::Compression;
use crate::proto::message::{ClientFrame, ConnId, Request, RequestId, Response, ServerFrame};
use crate::proto::MAX_FRAME_LEN;

/// The read half of a client socket (plain TCP now; TLS streams later).
pub type ReadHalf = Box<dyn AsyncRead + Unpin + Send>;
/// The write half of a client socket.
pub type WriteHalf = Box<dyn AsyncWrite + Unpin + Send>;

type Writer = FramedWrite<ServerFrame, WriteHalf, FrameCodec<ClientFrame, ServerFrame>>;

/// The session actor.
pub struct Session {
    shared: Shared,
    peer: SocketAddr,
    /// Set once `OpenSession` succeeded.
    id: Option<String>,
    /// True while `OpenSession` is being processed.
    opening: bool,
    /// True once the session is ending: the writer flushes its last frames, then stops us.
    closing: bool,
    writer: Writer,
    conns: HashMap<ConnId, Addr<DbConnection>>,
    next_conn: ConnId,
}

impl Session {
    /// Starts a session actor on an accepted, handshaken socket.
    pub fn start(shared: Shared, peer: SocketAddr, read: ReadHalf, write: WriteHalf) -> Addr<Self> {
        let compression = shared.config.session.transport.compression();
        Self::create(move |ctx| {
            Self::add_stream(
                FramedRead::new(
                    read,
                    FrameCodec::<ClientFrame, ServerFrame>::new(MAX_FRAME_LEN, Compression::OFF),
                ),
                ctx,
            );
            let writer = FramedWrite::new(write, FrameCodec::new(MAX_FRAME_LEN, compression), ctx);
            Self {
                shared,
                peer,
                id: None,
                opening: false,
                closing: false,
                writer,
                conns: HashMap::new(),
                next_conn: 1,
            }
        })
    }

    fn reply(&mut self, id: RequestId, response: Response) {
        self.writer.write(ServerFrame { id, response });
    }

    fn reply_result(&mut self, id: RequestId, r: Result<Response, DbError>) {
        let response = r.unwrap_or_else(Response::Error);
        self.reply(id, response);
    }

    /// Sends an error and ends the session once it is written.
    fn fail(&mut self, id: RequestId, err: DbError) {
        self.reply(id, Response::Error(err));
        self.end();
    }

    /// Ends the session after the frames already queued are written.
    fn end(&mut self) {
        self.closing = true;
        self.writer.close();
    }

    fn handle_request(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        let ClientFrame { id, request } = frame;
        if self.id.is_none() {
            match request {
                Request::OpenSession { .. } if !self.opening => self.open_session(id, request, ctx),
                _ => self.fail(
                    id,
                    DbError::new(
                        ErrorClass::ProtocolError,
                        "the first request must be OpenSession",
                    ),
                ),
            }
            return;
        }
        match request {
            Request::OpenSession { .. } => self.reply(
                id,
                Response::Error(DbError::new(
                    ErrorClass::ProtocolError,
                    "session is already open",
                )),
            ),
            Request::CloseSession => self.close_session(id, ctx),
            Request::Ping => self.reply(id, Response::Pong),
            Request::Cancel { .. } => self.reply(
                id,
                Response::Error(DbError::with_state(
                    ErrorClass::NotSupportedError,
                    "HYC00",
                    "cancel is not supported by this server yet",
                )),
            ),
            Request::Status => {
                self.shared
                    .registry
                    .send(GetStatus)
                    .into_actor(self)
                    .map(move |r, act, _| match r {
                        Ok(s) => act.reply(id, Response::Status(s)),
                        Err(e) => act.reply(id, Response::Error(internal(e))),
                    })
                    .spawn(ctx);
            }
            Request::ListDataSources => {
                actix_rt::task::spawn_blocking(db::data_sources)
                    .into_actor(self)
                    .map(move |r, act, _| {
                        let r =
                            r.map_err(|e| DbError::new(ErrorClass::InternalError, e.to_string()));
                        act.reply_result(id, r.and_then(|r| r.map(Response::DataSources)));
                    })
                    .spawn(ctx);
            }
            Request::ListDrivers => {
                actix_rt::task::spawn_blocking(db::drivers)
                    .into_actor(self)
                    .map(move |r, act, _| {
                        let r =
                            r.map_err(|e| DbError::new(ErrorClass::InternalError, e.to_string()));
                        act.reply_result(id, r.and_then(|r| r.map(Response::Drivers)));
                    })
                    .spawn(ctx);
            }
            Request::DriverConnect { connection_string } => {
                tracing::info!(session = self.short_id(), connection_string = %connstr::mask_for_log(&connection_string), "connect");
                self.open_connection(id, OpenTarget::ConnectionString(connection_string), ctx);
            }
            Request::Connect { dsn, uid, pwd } => {
                tracing::info!(session = self.short_id(), dsn = %dsn, uid = %uid, "connect");
                self.open_connection(id, OpenTarget::Dsn { dsn, uid, pwd }, ctx);
            }
            Request::CloseConnection { conn } => match self.conns.remove(&conn) {
                None => self.reply(id, Response::Error(no_such_connection(conn))),
                Some(addr) => {
                    let session = self.id.clone().unwrap_or_default();
                    let registry = self.shared.registry.clone();
                    addr.send(DbCall(DbRequest::Close))
                        .into_actor(self)
                        .map(move |r, act, _| {
                            registry.do_send(ReleaseConnection { session });
                            act.reply_result(id, flatten(r).map(|_| Response::Ok));
                        })
                        .spawn(ctx);
                }
            },
            Request::SetAutocommit { conn, on } => {
                self.forward(id, conn, DbRequest::SetAutocommit(on), ctx)
            }
            Request::Commit { conn } => self.forward(id, conn, DbRequest::Commit, ctx),
            Request::Rollback { conn } => self.forward(id, conn, DbRequest::Rollback, ctx),
            Request::Execute {
                conn,
                cursor,
                sql,
                params,
                max_rows,
            } => {
                tracing::debug!(session = self.short_id(), conn, cursor, %sql, "execute");
                self.forward(
                    id,
                    conn,
                    DbRequest::Execute {
                        cursor,
                        sql,
                        params,
                        max_rows,
                    },
                    ctx,
                );
            }
            Request::ExecuteMany {
                conn,
                cursor,
                sql,
                param_sets,
            } => self.forward(
                id,
                conn,
                DbRequest::ExecuteMany {
                    cursor,
                    sql,
                    param_sets,
                },
                ctx,
            ),
            Request::Fetch {
                conn,
                cursor,
                max_rows,
            } => {
                self.forward(id, conn, DbRequest::Fetch { cursor, max_rows }, ctx);
            }
            Request::CloseCursor { conn, cursor } => {
                self.forward(id, conn, DbRequest::CloseCursor(cursor), ctx)
            }
        }
    }

    fn short_id(&self) -> &str {
        // Session ids are secrets (they allow a resume); logs show a prefix only.
        self.id.as_deref().map_or("-", |s| &s[..s.len().min(8)])
    }

    fn open_session(&mut self, id: RequestId, request: Request, ctx: &mut Context<Self>) {
        let Request::OpenSession {
            session_id,
            client_name,
            username,
            ..
        } = request
        else {
            return;
        };
        if session_id.is_some() {
            return self.fail(
                id,
                DbError::new(
                    ErrorClass::ConnectionFailureError,
                    "session resume is not supported by this server yet",
                ),
            );
        }
        let sid = match new_session_id() {
            Ok(s) => s,
            Err(e) => return self.fail(id, e),
        };
        self.opening = true;
        let peer = self.peer;
        self.shared
            .registry
            .send(RegisterSession { id: sid.clone(), peer })
            .into_actor(self)
            .map(move |r, act, _| match flatten(r) {
                Ok(()) => {
                    act.id = Some(sid.clone());
                    act.opening = false;
                    tracing::info!(session = act.short_id(), %peer, client = %client_name, user = %username, "session opened");
                    act.reply(
                        id,
                        Response::SessionOpened {
                            session_id: sid,
                            server_version: crate::VERSION.to_owned(),
                        },
                    );
                }
                Err(e) => act.fail(id, e),
            })
            .wait(ctx);
    }

    fn close_session(&mut self, id: RequestId, ctx: &mut Context<Self>) {
        let closes: Vec<_> = self
            .conns
            .drain()
            .map(|(_, addr)| addr.send(DbCall(DbRequest::Close)))
            .collect();
        futures_util::future::join_all(closes)
            .into_actor(self)
            .map(move |_, act, _| {
                act.reply(id, Response::Ok);
                act.end();
            })
            .wait(ctx);
    }

    fn open_connection(&mut self, id: RequestId, target: OpenTarget, ctx: &mut Context<Self>) {
        let session = self.id.clone().unwrap_or_default();
        let registry = self.shared.registry.clone();
        let max_chunk = self.shared.config.session.transport.max_chunk_length as usize;
        let conn = self.next_conn;
        self.next_conn = self.next_conn.wrapping_add(1).max(1);
        let running = self.shared.running.clone();
        let fut = async move {
            registry
                .send(AcquireConnection {
                    session: session.clone(),
                })
                .await
                .map_err(internal)??;
            let addr = SyncArbiter::start(1, move || DbConnection::new(max_chunk));
            running.fetch_add(1, Ordering::Relaxed);
            let r = addr.send(DbCall(DbRequest::Open(target))).await;
            running.fetch_sub(1, Ordering::Relaxed);
            match flatten(r) {
                Ok(DbReply::Opened { dbms_name }) => Ok((addr, dbms_name)),
                Ok(other) => {
                    registry.do_send(ReleaseConnection { session });
                    Err(DbError::new(
                        ErrorClass::InternalError,
                        format!("unexpected reply {other:?}"),
                    ))
                }
                Err(e) => {
                    registry.do_send(ReleaseConnection { session });
                    Err(e)
                }
            }
        };
        fut.into_actor(self)
            .map(move |r, act, _| match r {
                Ok((addr, dbms_name)) => {
                    act.conns.insert(conn, addr);
                    act.reply(id, Response::Connected { conn, dbms_name });
                }
                Err(e) => {
                    tracing::info!(session = act.short_id(), sqlstate = %e.sqlstate, error = %e.message, "connect failed");
                    act.reply(id, Response::Error(e));
                }
            })
            .spawn(ctx);
    }

    fn forward(&mut self, id: RequestId, conn: ConnId, req: DbRequest, ctx: &mut Context<Self>) {
        let Some(addr) = self.conns.get(&conn) else {
            return self.reply(id, Response::Error(no_such_connection(conn)));
        };
        let running = self.shared.running.clone();
        running.fetch_add(1, Ordering::Relaxed);
        addr.send(DbCall(req))
            .into_actor(self)
            .map(move |r, act, _| {
                running.fetch_sub(1, Ordering::Relaxed);
                let response = flatten(r).map(|reply| match reply {
                    DbReply::Opened { .. } | DbReply::Done => Response::Ok,
                    DbReply::Executed {
                        columns,
                        rowcount,
                        rows,
                        done,
                    } => Response::Executed {
                        columns,
                        rowcount,
                        rows,
                        done,
                    },
                    DbReply::Rows { rows, done } => Response::Rows { rows, done },
                });
                act.reply_result(id, response);
            })
            .spawn(ctx);
    }
}

fn flatten<T>(r: Result<Result<T, DbError>, MailboxError>) -> Result<T, DbError> {
    r.map_err(internal)?
}

fn internal(e: MailboxError) -> DbError {
    DbError::new(
        ErrorClass::InternalError,
        format!("the database connection's worker is gone ({e})"),
    )
}

fn no_such_connection(conn: ConnId) -> DbError {
    DbError::with_state(
        ErrorClass::ProgrammingError,
        "08003",
        format!("database connection {conn} is not open in this session"),
    )
}

/// A new unguessable session id: 128 bits from the operating system's RNG, hex.
fn new_session_id() -> Result<String, DbError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| {
        DbError::new(
            ErrorClass::InternalError,
            format!("cannot draw a random session id: {e}"),
        )
    })?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

impl Actor for Session {
    type Context = Context<Self>;

    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        for (_, addr) in self.conns.drain() {
            // Roll back and disconnect on the connection's own thread; dropping the address
            // afterwards ends that thread.
            addr.do_send(DbCall(DbRequest::Close));
        }
        if let Some(id) = &self.id {
            tracing::info!(session = self.short_id(), peer = %self.peer, "session closed");
            self.shared
                .registry
                .do_send(UnregisterSession { id: id.clone() });
        }
        Running::Stop
    }
}

impl StreamHandler<Result<ClientFrame, CodecError>> for Session {
    fn handle(&mut self, item: Result<ClientFrame, CodecError>, ctx: &mut Context<Self>) {
        match item {
            Ok(frame) => self.handle_request(frame, ctx),
            Err(CodecError::Proto(e)) => {
                tracing::warn!(peer = %self.peer, error = %e, "protocol error; closing the connection");
                self.fail(0, DbError::new(ErrorClass::ProtocolError, e.to_string()));
                // Give the error a moment to reach the client, then go regardless.
                ctx.run_later(std::time::Duration::from_secs(1), |_, ctx| ctx.stop());
            }
            Err(CodecError::Io(e)) => {
                tracing::info!(peer = %self.peer, error = %e, "connection lost");
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // The client closed its side (or sent garbage). When we are already ending, the writer
        // stops us once our last frames are out.
        if !self.closing {
            ctx.stop();
        }
    }
}

impl WriteHandler<CodecError> for Session {
    fn error(&mut self, err: CodecError, _: &mut Context<Self>) -> Running {
        tracing::info!(peer = %self.peer, error = %err, "write failed; closing the session");
        Running::Stop
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
