//! Golden wire bytes: a fixed byte string for every message variant, every value variant and
//! every error class, so any change to the wire format (a reordered or removed enum variant, a
//! changed field) fails here until it is deliberate. After a deliberate, append-only change:
//! `ODBCD_BLESS_GOLDEN=1 cargo test --test golden_wire` rewrites `tests/golden/wire.txt`, and
//! the diff shows exactly which bytes changed (existing lines must not).

use std::collections::BTreeMap;
use std::path::PathBuf;

use odbcd::error::{DbError, DiagRecord, ErrorClass};
use odbcd::hex::hex;
use odbcd::proto::admin::{
    AdminAnswer, AdminCommand, RunningRequest as AdminRunning, SessionDetail,
};
use odbcd::proto::catalog::CatalogCall;
use odbcd::proto::compress::Compression;
use odbcd::proto::frame;
use odbcd::proto::message::{
    ClientFrame, DataSourceInfo, DriverInfo, Request, Response, ServerFrame, ServerStatus,
    SessionStatus,
};
use odbcd::proto::preamble::{Preamble, FLAG_TLS_REQUIRED};
use odbcd::proto::statement::{
    BatchMode, BatchOutcome, BatchStatement, ConnectionOption, CursorOptions, InfoValue,
    IsolationLevel, ProcParam,
};
use odbcd::proto::value::{ColumnDesc, Date, Time, Timestamp, Value};

/// The name of a request's variant. Exhaustive: a new variant does not compile until it has a
/// name here and a sample in [`requests`].
fn request_name(r: &Request) -> &'static str {
    match r {
        Request::OpenSession { .. } => "OpenSession",
        Request::CloseSession => "CloseSession",
        Request::Ping => "Ping",
        Request::Cancel { .. } => "Cancel",
        Request::ListDataSources => "ListDataSources",
        Request::ListDrivers => "ListDrivers",
        Request::DriverConnect { .. } => "DriverConnect",
        Request::Connect { .. } => "Connect",
        Request::SetAutocommit { .. } => "SetAutocommit",
        Request::Commit { .. } => "Commit",
        Request::Rollback { .. } => "Rollback",
        Request::CloseConnection { .. } => "CloseConnection",
        Request::Execute { .. } => "Execute",
        Request::ExecuteMany { .. } => "ExecuteMany",
        Request::Fetch { .. } => "Fetch",
        Request::CloseCursor { .. } => "CloseCursor",
        Request::Status => "Status",
        Request::Catalog { .. } => "Catalog",
        Request::GetInfo { .. } => "GetInfo",
        Request::Prepare { .. } => "Prepare",
        Request::NextResult { .. } => "NextResult",
        Request::Scroll { .. } => "Scroll",
        Request::SetCursorOptions { .. } => "SetCursorOptions",
        Request::SetConnectionOption { .. } => "SetConnectionOption",
        Request::Batch { .. } => "Batch",
        Request::CallProcedure { .. } => "CallProcedure",
        Request::Admin(_) => "Admin",
    }
}

/// The name of a response's variant (exhaustive, as [`request_name`]).
fn response_name(r: &Response) -> &'static str {
    match r {
        Response::Greeting { .. } => "Greeting",
        Response::SessionOpened { .. } => "SessionOpened",
        Response::Ok => "Ok",
        Response::Error(_) => "Error",
        Response::Pong => "Pong",
        Response::DataSources(_) => "DataSources",
        Response::Drivers(_) => "Drivers",
        Response::Connected { .. } => "Connected",
        Response::Executed { .. } => "Executed",
        Response::Rows { .. } => "Rows",
        Response::Status(_) => "Status",
        Response::Info(_) => "Info",
        Response::Prepared { .. } => "Prepared",
        Response::NoMoreResults => "NoMoreResults",
        Response::Warned { .. } => "Warned",
        Response::BatchResults { .. } => "BatchResults",
        Response::ProcedureOutputs { .. } => "ProcedureOutputs",
        Response::ExecuteManyFailed { .. } => "ExecuteManyFailed",
        Response::Admin(_) => "Admin",
    }
}

/// The name of a value's variant (exhaustive).
fn value_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Bool",
        Value::Int(_) => "Int",
        Value::Float(_) => "Float",
        Value::Decimal(_) => "Decimal",
        Value::Text(_) => "Text",
        Value::Bytes(_) => "Bytes",
        Value::Date(_) => "Date",
        Value::Time(_) => "Time",
        Value::Timestamp(_) => "Timestamp",
    }
}

/// Every error class, in wire order (`ErrorClass` is non-exhaustive outside the crate, so a
/// new class shows up here as a count mismatch against the golden file).
const CLASSES: [ErrorClass; 16] = [
    ErrorClass::Warning,
    ErrorClass::Error,
    ErrorClass::InterfaceError,
    ErrorClass::DatabaseError,
    ErrorClass::DataError,
    ErrorClass::OperationalError,
    ErrorClass::IntegrityError,
    ErrorClass::InternalError,
    ErrorClass::ProgrammingError,
    ErrorClass::NotSupportedError,
    ErrorClass::ConfigurationError,
    ErrorClass::ConnectionFailureError,
    ErrorClass::ODBCConnectError,
    ErrorClass::PolicyViolationError,
    ErrorClass::ProtocolError,
    ErrorClass::TimeoutError,
];

fn values() -> Vec<Value> {
    let date = Date {
        year: -43,
        month: 3,
        day: 15,
    };
    let time = Time {
        hour: 23,
        minute: 59,
        second: 58,
        nanos: 123_456_789,
    };
    vec![
        Value::Null,
        Value::Bool(true),
        Value::Int(-9_223_372_036_854_775_808),
        Value::Float(0.1 + 0.2),
        Value::Decimal("-12.50".into()),
        Value::Text("grüße 🍐".into()),
        Value::Bytes(vec![0, 255, 16]),
        Value::Date(date),
        Value::Time(time),
        Value::Timestamp(Timestamp { date, time }),
    ]
}

fn requests() -> Vec<Request> {
    vec![
        Request::OpenSession {
            username: "alice".into(),
            proof: vec![1, 2, 3],
            module_name: "unixODBC".into(),
            session_id: Some("0123abcd".into()),
            client_name: "golden".into(),
        },
        Request::CloseSession,
        Request::Ping,
        Request::Cancel { request: 7 },
        Request::ListDataSources,
        Request::ListDrivers,
        Request::DriverConnect {
            connection_string: "DSN=demo".into(),
        },
        Request::Connect {
            dsn: "demo".into(),
            uid: "u".into(),
            pwd: "p".into(),
        },
        Request::SetAutocommit { conn: 1, on: false },
        Request::Commit { conn: 1 },
        Request::Rollback { conn: 1 },
        Request::CloseConnection { conn: 1 },
        Request::Execute {
            conn: 1,
            cursor: 2,
            sql: "SELECT ?".into(),
            params: values(),
            max_rows: 100,
        },
        Request::ExecuteMany {
            conn: 1,
            cursor: 2,
            sql: "INSERT INTO t VALUES (?)".into(),
            param_sets: vec![vec![Value::Int(1)], vec![Value::Null]],
        },
        Request::Fetch {
            conn: 1,
            cursor: 2,
            max_rows: 1000,
        },
        Request::CloseCursor { conn: 1, cursor: 2 },
        Request::Status,
        Request::Catalog {
            conn: 1,
            cursor: 2,
            call: CatalogCall::ForeignKeys {
                pk_catalog: None,
                pk_schema: Some("public".into()),
                pk_table: Some("fruit".into()),
                fk_catalog: None,
                fk_schema: None,
                fk_table: Some(String::new()),
            },
            max_rows: 100,
        },
        Request::GetInfo {
            conn: 1,
            info_type: 17,
        },
        Request::Prepare {
            conn: 1,
            cursor: 2,
            sql: "SELECT ?".into(),
        },
        Request::NextResult {
            conn: 1,
            cursor: 2,
            max_rows: 100,
        },
        Request::Scroll {
            conn: 1,
            cursor: 2,
            position: 1 << 40,
            max_rows: 100,
        },
        Request::SetCursorOptions {
            conn: 1,
            cursor: 2,
            options: CursorOptions {
                query_timeout_secs: 30,
                max_rows: 1000,
                scrollable: true,
            },
        },
        Request::SetConnectionOption {
            conn: 1,
            option: ConnectionOption::Isolation(IsolationLevel::Serializable),
        },
        Request::Batch {
            conn: 1,
            statements: vec![BatchStatement {
                sql: "INSERT INTO t VALUES (?)".into(),
                params: vec![Value::Int(1)],
            }],
            mode: BatchMode::Atomic,
            max_rows: 10,
        },
        Request::CallProcedure {
            conn: 1,
            cursor: 2,
            sql: "{? = call f(?, ?)}".into(),
            params: vec![
                ProcParam::output(Value::Int(0), 0),
                ProcParam::input(Value::Text("x".into())),
                ProcParam::inout(Value::Decimal("1.5".into()), 40),
            ],
            max_rows: 10,
        },
        Request::Admin(AdminCommand::Kill {
            session: "d4dc39c6".into(),
        }),
    ]
}

fn error(class: ErrorClass) -> DbError {
    DbError {
        class,
        sqlstate: "42S02".into(),
        native: -7,
        message: "no such table".into(),
        records: vec![DiagRecord {
            sqlstate: "42S02".into(),
            native: -7,
            message: "no such table".into(),
        }],
    }
}

fn responses() -> Vec<Response> {
    vec![
        Response::Greeting {
            server_version: "0.1.0".into(),
            nonce: vec![9; 4],
            auth_required: true,
        },
        Response::SessionOpened {
            session_id: "0123abcd".into(),
            server_version: "0.1.0".into(),
            last_request: 5,
            reconnect_window_ms: 60_000,
        },
        Response::Ok,
        Response::Error(error(ErrorClass::ProgrammingError)),
        Response::Pong,
        Response::DataSources(vec![DataSourceInfo {
            name: "demo".into(),
            driver: "SQLite3".into(),
        }]),
        Response::Drivers(vec![DriverInfo {
            name: "SQLite3".into(),
            attributes: vec![("Driver".into(), "libsqlite3odbc.so".into())],
        }]),
        Response::Connected {
            conn: 3,
            dbms_name: "SQLite".into(),
        },
        Response::Executed {
            columns: Some(vec![ColumnDesc {
                name: "x".into(),
                type_code: 4,
                display_size: Some(11),
                internal_size: None,
                precision: Some(10),
                scale: Some(0),
                null_ok: Some(true),
            }]),
            rowcount: -1,
            rows: vec![values()],
            done: false,
        },
        Response::Rows {
            rows: vec![vec![Value::Int(1)], vec![Value::Null]],
            done: true,
        },
        Response::Status(ServerStatus {
            sessions: 1,
            connections: 2,
            running_requests: 0,
            max_sessions: 400,
            max_connections: Some(10),
            session_list: vec![SessionStatus {
                id_prefix: "0123abcd".into(),
                peer: "127.0.0.1:5000".into(),
                user: "alice".into(),
                connections: 2,
                running_requests: 0,
                attached: true,
            }],
            rss_kib: None,
        }),
        Response::Info(InfoValue::Text("PostgreSQL".into())),
        Response::Prepared {
            columns: None,
            params: 2,
        },
        Response::NoMoreResults,
        Response::Warned {
            warnings: vec![DiagRecord {
                sqlstate: "01000".into(),
                native: 0,
                message: "NOTICE: careful".into(),
            }],
            response: Box::new(Response::Ok),
        },
        Response::BatchResults {
            outcomes: vec![
                BatchOutcome::Done {
                    columns: None,
                    rowcount: 1,
                    rows: vec![],
                    complete: true,
                },
                BatchOutcome::Failed(error(ErrorClass::IntegrityError)),
                BatchOutcome::Skipped,
            ],
        },
        Response::ExecuteManyFailed {
            index: 3,
            rowcount: 3,
            error: error(ErrorClass::IntegrityError),
        },
        Response::ProcedureOutputs {
            rowcount: -1,
            values: vec![
                Value::Int(2),
                Value::Text("x".into()),
                Value::Decimal("2.5".into()),
            ],
        },
        Response::Admin(AdminAnswer::Sessions {
            total: 3,
            paused: false,
            sessions: vec![SessionDetail {
                id_prefix: "d4dc39c6".into(),
                user: "bob".into(),
                peer: "127.0.0.1:39790".into(),
                client_name: "app".into(),
                opened_unix_ms: 1_790_000_000_000,
                idle_ms: 600,
                connections: 1,
                attached: true,
                own: false,
                running: vec![AdminRunning {
                    kind: "Execute".into(),
                    sql: Some("SELECT pg_sleep(?)".into()),
                    running_ms: 600,
                }],
            }],
        }),
    ]
}

fn frame_bytes<M: serde::Serialize>(msg: &M) -> String {
    let mut out = Vec::new();
    frame::encode(msg, Compression::OFF, usize::MAX, &mut out).expect("encodes");
    hex(&out)
}

/// Every sample's name and its frame's bytes.
fn samples() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut add = |name: String, bytes: String| {
        assert!(
            out.insert(name.clone(), bytes).is_none(),
            "two samples named {name}"
        );
    };
    add(
        "preamble".into(),
        hex(&Preamble::current(FLAG_TLS_REQUIRED).encode()),
    );
    for r in requests() {
        let name = format!("request {}", request_name(&r));
        add(
            name,
            frame_bytes(&ClientFrame {
                id: 42,
                ack: 1_000_000,
                request: r,
            }),
        );
    }
    for r in responses() {
        let name = format!("response {}", response_name(&r));
        add(
            name,
            frame_bytes(&ServerFrame {
                id: 42,
                response: r,
            }),
        );
    }
    for v in values() {
        let name = format!("value {}", value_name(&v));
        add(name, hex(&postcard::to_allocvec(&v).expect("encodes")));
    }
    for class in CLASSES {
        add(
            format!("error class {class:?}"),
            hex(&postcard::to_allocvec(&class).expect("encodes")),
        );
    }
    out
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/wire.txt")
}

#[test]
fn every_variant_has_fixed_bytes_on_the_wire() {
    let ours = samples();
    // Every variant has a sample (the exhaustive name functions make a new one fail to build).
    assert_eq!(
        ours.keys().filter(|k| k.starts_with("request ")).count(),
        requests().len()
    );
    assert_eq!(
        ours.keys().filter(|k| k.starts_with("response ")).count(),
        responses().len()
    );
    assert_eq!(
        ours.keys().filter(|k| k.starts_with("value ")).count(),
        values().len()
    );
    let text: String = ours.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect();
    if std::env::var_os("ODBCD_BLESS_GOLDEN").is_some() {
        std::fs::write(golden_path(), text).expect("write the golden file");
        return;
    }
    let golden = std::fs::read_to_string(golden_path()).expect("tests/golden/wire.txt");
    let golden: BTreeMap<&str, &str> = golden.lines().filter_map(|l| l.split_once('\t')).collect();
    let mut changed = Vec::new();
    for (name, bytes) in &ours {
        match golden.get(name.as_str()) {
            Some(g) if g == bytes => {}
            Some(g) => changed.push(format!(
                "{name}: golden {g}\n{:width$}  now    {bytes}",
                "",
                width = name.len()
            )),
            None => changed.push(format!(
                "{name}: new (bless it if the change is deliberate)"
            )),
        }
    }
    for name in golden.keys().filter(|k| !ours.contains_key(**k)) {
        changed.push(format!("{name}: gone from the samples"));
    }
    assert!(
        changed.is_empty(),
        "the wire format changed:\n{}\nIf deliberate (append-only!), rerun with ODBCD_BLESS_GOLDEN=1.",
        changed.join("\n")
    );
}

/// The golden bytes decode to the samples they came from: the file is not just self-consistent.
#[test]
fn golden_bytes_decode_to_their_messages() {
    let golden = std::fs::read_to_string(golden_path()).expect("tests/golden/wire.txt");
    let bytes = |name: &str| -> Vec<u8> {
        let line = golden
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('\t')))
            .unwrap_or_else(|| panic!("{name} in the golden file"));
        (0..line.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&line[i..i + 2], 16).expect("hex"))
            .collect()
    };
    for r in requests() {
        let b = bytes(&format!("request {}", request_name(&r)));
        let f: ClientFrame = frame::decode_plain(&b[frame::HEADER_LEN..]).expect("decodes");
        assert_eq!(f.request, r);
    }
    for r in responses() {
        let b = bytes(&format!("response {}", response_name(&r)));
        let f: ServerFrame = frame::decode_plain(&b[frame::HEADER_LEN..]).expect("decodes");
        assert_eq!(f.response, r);
    }
}
