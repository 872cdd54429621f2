//! The session state machine under random sequences of valid and invalid frames (open,
//! connect, execute, fetch, close, cancel, resume, garbage, duplicates), each case on a real
//! server with a real SQLite driver: the server never panics or wedges, other sessions keep
//! being served, and when the sessions end no database connection is left behind.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::TestServer;
use odbcd::proto::compress::Compression;
use odbcd::proto::message::{ClientFrame, Request, Response, ServerFrame};
use odbcd::proto::preamble::Preamble;
use odbcd::proto::value::Value;
use odbcd::proto::{frame, MAX_FRAME_LEN};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// One thing a client does.
#[derive(Debug, Clone)]
enum Op {
    Connect(bool),
    Execute {
        conn: u32,
        cursor: u32,
        sql: usize,
    },
    Fetch {
        conn: u32,
        cursor: u32,
        rows: u32,
    },
    CloseCursor {
        conn: u32,
        cursor: u32,
    },
    CloseConnection(u32),
    Cancel(u32),
    Commit(u32),
    Autocommit(u32, bool),
    Status,
    /// Sends the next frame with an id already used.
    Duplicate,
    /// Random bytes on the socket (the session ends with a protocol error).
    Garbage(Vec<u8>),
    /// Half a frame, then the link is dropped.
    Truncated,
    /// The link is dropped and the session resumed on a new one.
    Resume,
    /// The rest of the mxODBC API: a catalog call, getinfo, prepare, next result, scroll,
    /// cursor options (any, including the reserved batch cursor id), a batch.
    Api {
        conn: u32,
        cursor: u32,
        which: u8,
        n: u32,
    },
}

const SQL: [&str; 6] = [
    "SELECT 1",
    "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 3000) SELECT x, 'row' FROM g",
    "CREATE TABLE IF NOT EXISTS f (x INTEGER)",
    "INSERT INTO f VALUES (?)",
    "SELECT * FROM no_such_table",
    "this is not SQL",
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<bool>().prop_map(Op::Connect),
        6 => (0..4u32, 0..4u32, 0..SQL.len()).prop_map(|(conn, cursor, sql)| Op::Execute { conn, cursor, sql }),
        3 => (0..4u32, 0..4u32, 0..3000u32).prop_map(|(conn, cursor, rows)| Op::Fetch { conn, cursor, rows }),
        1 => (0..4u32, 0..4u32).prop_map(|(conn, cursor)| Op::CloseCursor { conn, cursor }),
        1 => (0..4u32).prop_map(Op::CloseConnection),
        1 => (0..40u32).prop_map(Op::Cancel),
        1 => (0..4u32).prop_map(Op::Commit),
        1 => (0..4u32, any::<bool>()).prop_map(|(c, on)| Op::Autocommit(c, on)),
        1 => Just(Op::Status),
        1 => Just(Op::Duplicate),
        1 => proptest::collection::vec(any::<u8>(), 1..64).prop_map(Op::Garbage),
        1 => Just(Op::Truncated),
        2 => Just(Op::Resume),
        6 => (0..4u32, prop_oneof![0..4u32, Just(u32::MAX)], 0..8u8, any::<u32>())
            .prop_map(|(conn, cursor, which, n)| Op::Api { conn, cursor, which, n }),
    ]
}

/// A raw client: its socket, the frames it read, its next request id.
struct Client {
    port: u16,
    socket: TcpStream,
    session: Option<String>,
    received: u64,
    next_id: u32,
}

impl Client {
    fn connect(port: u16) -> Option<TcpStream> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_millis(300))).ok()?;
        s.write_all(&Preamble::current(0).encode()).ok()?;
        let mut pre = [0u8; 8];
        s.read_exact(&mut pre).ok()?;
        let _greeting = read(&mut s)?;
        Some(s)
    }

    fn open(port: u16) -> Option<Self> {
        let mut socket = Self::connect(port)?;
        send(&mut socket, 0, 0, open_request(None));
        let Response::SessionOpened { session_id, .. } = read(&mut socket)?.response else {
            return None;
        };
        Some(Self {
            port,
            socket,
            session: Some(session_id),
            received: 0,
            next_id: 1,
        })
    }

    fn request(&mut self, request: Request) {
        let id = self.next_id;
        self.next_id += 1;
        send(&mut self.socket, id, self.received, request);
    }

    /// Reads whatever answers arrive within a moment.
    fn drain(&mut self) {
        let _ = self
            .socket
            .set_read_timeout(Some(Duration::from_millis(20)));
        while read(&mut self.socket).is_some() {
            self.received += 1;
        }
    }

    fn resume(&mut self) {
        let Some(id) = self.session.clone() else {
            return;
        };
        let Some(mut socket) = Self::connect(self.port) else {
            return;
        };
        send(&mut socket, 0, self.received, open_request(Some(id)));
        self.socket = socket;
    }
}

/// One of the newer requests, with arguments from `n` (valid, odd or hostile).
fn api_request(conn: u32, cursor: u32, which: u8, n: u32) -> Request {
    use odbcd::proto::catalog::CatalogCall;
    use odbcd::proto::statement::{BatchMode, BatchStatement, CursorOptions};
    let name = |n: u32| match n % 4 {
        0 => None,
        1 => Some("f".to_owned()),
        2 => Some("%".to_owned()),
        _ => Some("x\0y".repeat(n as usize % 3000)),
    };
    match which {
        0 => Request::Catalog {
            conn,
            cursor,
            call: match n % 5 {
                0 => CatalogCall::Tables {
                    catalog: None,
                    schema: None,
                    table: name(n >> 3),
                    table_type: name(n >> 5),
                },
                1 => CatalogCall::Columns {
                    catalog: name(n >> 7),
                    schema: None,
                    table: name(n >> 3),
                    column: None,
                },
                2 => CatalogCall::Statistics {
                    catalog: None,
                    schema: None,
                    table: name(n >> 3),
                    unique: n & 8 != 0,
                    exact: n & 16 != 0,
                },
                3 => CatalogCall::SpecialColumns {
                    identifier_type: (n >> 3) as u16,
                    catalog: None,
                    schema: None,
                    table: name(n >> 5),
                    scope: (n >> 7) as u16,
                    nullable: (n >> 9) as u16,
                },
                _ => CatalogCall::TypeInfo {
                    data_type: (n >> 3) as i16,
                },
            },
            max_rows: n % 50,
        },
        1 => Request::GetInfo {
            conn,
            info_type: n as u16,
        },
        2 => Request::Prepare {
            conn,
            cursor,
            sql: SQL[n as usize % SQL.len()].into(),
        },
        3 => Request::NextResult {
            conn,
            cursor,
            max_rows: n % 100,
        },
        4 => Request::Scroll {
            conn,
            cursor,
            position: u64::from(n) << (n % 40),
            max_rows: n % 100,
        },
        5 => Request::SetCursorOptions {
            conn,
            cursor,
            options: CursorOptions {
                query_timeout_secs: n % 3,
                max_rows: u64::from(n % 5),
                scrollable: n & 1 == 1,
            },
        },
        _ => Request::Batch {
            conn,
            statements: (0..n % 6)
                .map(|i| BatchStatement {
                    sql: SQL[(n as usize + i as usize) % SQL.len()].into(),
                    params: if (n as usize + i as usize) % SQL.len() == 3 {
                        vec![Value::Int(1)]
                    } else {
                        vec![]
                    },
                })
                .collect(),
            mode: if n & 64 == 0 {
                BatchMode::Independent
            } else {
                BatchMode::Atomic
            },
            max_rows: n % 20,
        },
    }
}

fn open_request(session_id: Option<String>) -> Request {
    Request::OpenSession {
        username: String::new(),
        proof: Vec::new(),
        module_name: "Manager".into(),
        session_id,
        client_name: "session-fuzz".into(),
    }
}

fn send(s: &mut TcpStream, id: u32, ack: u64, request: Request) {
    let mut buf = Vec::new();
    if frame::encode(
        &ClientFrame { id, ack, request },
        Compression::OFF,
        MAX_FRAME_LEN,
        &mut buf,
    )
    .is_ok()
    {
        let _ = s.write_all(&buf);
    }
}

fn read(s: &mut TcpStream) -> Option<ServerFrame> {
    common::read_raw_frame(s)
}

fn play(server: &TestServer, ops: &[Op]) {
    let Some(mut c) = Client::open(server.port) else {
        panic!("a new session could not open:\n{}", server.log());
    };
    for op in ops {
        match op.clone() {
            Op::Connect(good) => c.request(Request::DriverConnect {
                connection_string: if good {
                    "DSN=demo"
                } else {
                    "DSN=demo;LoadExt=/x.so"
                }
                .into(),
            }),
            Op::Execute { conn, cursor, sql } => c.request(Request::Execute {
                conn,
                cursor,
                sql: SQL[sql].into(),
                params: if sql == 3 {
                    vec![Value::Int(7)]
                } else {
                    vec![]
                },
                max_rows: 100,
            }),
            Op::Fetch { conn, cursor, rows } => c.request(Request::Fetch {
                conn,
                cursor,
                max_rows: rows,
            }),
            Op::CloseCursor { conn, cursor } => c.request(Request::CloseCursor { conn, cursor }),
            Op::CloseConnection(conn) => c.request(Request::CloseConnection { conn }),
            Op::Cancel(request) => c.request(Request::Cancel { request }),
            Op::Commit(conn) => c.request(Request::Commit { conn }),
            Op::Autocommit(conn, on) => c.request(Request::SetAutocommit { conn, on }),
            Op::Status => c.request(Request::Status),
            Op::Duplicate => {
                let id = c.next_id.saturating_sub(1).max(1);
                send(&mut c.socket, id, c.received, Request::Ping);
            }
            Op::Garbage(bytes) => {
                let _ = c.socket.write_all(&bytes);
            }
            Op::Truncated => {
                let _ = c.socket.write_all(&[0, 0, 0, 40, 0, 1, 2]);
                c.resume();
            }
            Op::Resume => c.resume(),
            Op::Api {
                conn,
                cursor,
                which,
                n,
            } => c.request(api_request(conn, cursor, which, n)),
        }
        c.drain();
    }
    c.request(Request::CloseSession);
    c.drain();
}

#[test]
fn random_frame_sequences_never_panic_wedge_or_leak_connections() {
    let mut server = TestServer::start(
        "[Session]\nreceive_timeout = 1\n\n[Activity]\ncheck_interval = 0.2\nmax_session_reconnect_time = 1\n",
    );
    let (_observer, odbc) = server.open();
    let cases = if std::env::var_os("CI").is_some() {
        24
    } else {
        16
    };
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..24), |ops| {
        play(&server, &ops);
        // Others are served meanwhile.
        odbc.ping()
            .map_err(|e| TestCaseError::fail(format!("observer: {e}")))?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{}", server.log());
    }
    assert!(server.alive(), "the server died:\n{}", server.log());
    assert!(!server.log().contains("panicked"), "{}", server.log());
    // Every fuzzed session ends (closed, or not resumed in time), and leaves nothing open.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = odbc.status().unwrap();
        if st.sessions == 1 && st.connections == 0 && st.running_requests == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: {st:?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
