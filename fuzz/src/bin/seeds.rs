//! Writes the seed corpus (`fuzz/corpus/<target>/`): real frames of every request kind, the
//! shipped INI files, and connection strings from MS-ODBCSTR and the hardening tests. Run with
//! `cargo run --bin seeds` from `fuzz/`; the output is checked in.

use std::path::Path;

use odbcd::proto::compress::Compression;
use odbcd::proto::message::{ClientFrame, Request, Response, ServerFrame};
use odbcd::proto::value::Value;
use odbcd::proto::{frame, MAX_FRAME_LEN};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("create corpus folder");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let frames = root.join("decode_frame");
    let requests = [
        Request::OpenSession {
            username: "joe".into(),
            proof: vec![1; 32],
            module_name: "Manager".into(),
            session_id: None,
            client_name: "seed".into(),
        },
        Request::Ping,
        Request::Status,
        Request::DriverConnect {
            connection_string: "DSN=demo;UID=u;PWD=p".into(),
        },
        Request::Connect {
            dsn: "demo".into(),
            uid: "u".into(),
            pwd: "p".into(),
        },
        Request::Execute {
            conn: 1,
            cursor: 1,
            sql: "SELECT ?, ?, ?".into(),
            params: vec![Value::Null, Value::Int(-7), Value::Text("x".into())],
            max_rows: 100,
        },
        Request::ExecuteMany {
            conn: 1,
            cursor: 2,
            sql: "INSERT INTO t VALUES (?)".into(),
            param_sets: vec![vec![Value::Bytes(vec![0, 255])], vec![Value::Float(1.5)]],
        },
        Request::Fetch {
            conn: 1,
            cursor: 1,
            max_rows: 10,
        },
        Request::Cancel { request: 3 },
        Request::CloseConnection { conn: 1 },
        Request::CloseSession,
    ];
    for (i, request) in requests.into_iter().enumerate() {
        for (c, compression) in [Compression::OFF, Compression { threshold: 0 }].into_iter().enumerate() {
            let mut buf = Vec::new();
            let f = ClientFrame {
                id: i as u32,
                ack: 3,
                request: request.clone(),
            };
            if frame::encode(&f, compression, MAX_FRAME_LEN, &mut buf).is_ok() {
                write(&frames, &format!("client-{i}-{c}"), &buf);
            }
        }
    }
    let mut buf = Vec::new();
    let answer = ServerFrame {
        id: 5,
        response: Response::Ok,
    };
    if frame::encode(&answer, Compression::OFF, MAX_FRAME_LEN, &mut buf).is_ok() {
        write(&frames, "server-ok", &buf);
    }

    let ini = root.join("parse_ini");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    for entry in std::fs::read_dir(&config).expect("config folder").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "ini") {
            let text = std::fs::read(&path).expect("read ini");
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            write(&ini, &name.unwrap_or_default(), &text);
        }
    }

    let connstr = root.join("parse_connstr");
    let strings = [
        "Driver=SQL Server;Server=ServerName;Database=DatabaseName; Trusted_Connection=Yes;",
        "DSN=testDSN; UID=sa; PWD={abc;}}def}",
        "DSN=testDSN; UID={ sa }; PWD=myPwd",
        "FileDSN=C:\\\\dsn\\\\file.dsn; DSN=testDSN; UID=sa; PWD=myPwd; ",
        "X= {;Driver=/path/lib.so;};DSN=demo",
        "DSN=demo;PWD={x;LoadExt=/tmp/evil.so}",
        "Driver={PostgreSQL Unicode};Servername=h,/tmp;Database=x",
        "DSN=demo;PWD=abc;hunter2tail",
        "dsn=demo;DSN=other;;=x",
    ];
    for (i, s) in strings.iter().enumerate() {
        write(&connstr, &format!("seed-{i}"), s.as_bytes());
    }
}
