//! The client against a scripted fake server (the server is not trusted to be well-behaved:
//! a balancer, a compromised host, a bug). Each case ends with a clear error, never a hang.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use odbcd::client::{ConfigData, ErrorClass, ServerSession};
use odbcd::proto::compress::Compression;
use odbcd::proto::message::{Response, ServerFrame};
use odbcd::proto::{frame, MAX_FRAME_LEN};

use common::fake::{fake_server, receive, send};

fn session(port: u16) -> ServerSession {
    let data = ConfigData::new()
        .set("Connection", "host", "127.0.0.1")
        .set("Connection", "port", port);
    ServerSession::new(None, Some(&data)).unwrap()
}

#[test]
fn an_answer_to_a_request_never_sent_is_a_protocol_error_not_a_hang() {
    let port = fake_server(|s| {
        let ping = receive(s).expect("a request");
        // Answers another id instead.
        send(s, ping.id + 5, Response::Pong);
    });
    let mut session = session(port);
    let odbc = session.open("", "", None, None).unwrap();
    let started = Instant::now();
    let e = odbc.ping().unwrap_err();
    assert_eq!(e.class, ErrorClass::ProtocolError, "{e}");
    assert!(e.message.contains("not waiting"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_frame_trickled_byte_by_byte_times_out_as_a_whole() {
    let port = fake_server(|s| {
        let ping = receive(s).expect("a request");
        let mut buf = Vec::new();
        frame::encode(
            &ServerFrame {
                id: ping.id,
                response: Response::Error(odbcd::error::DbError::new(
                    ErrorClass::DatabaseError,
                    "x".repeat(200),
                )),
            },
            Compression::OFF,
            MAX_FRAME_LEN,
            &mut buf,
        )
        .unwrap();
        // One byte every 300 ms: each read is quick, the frame takes a minute.
        for b in buf {
            if s.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let data = ConfigData::new()
        .set("Connection", "host", "127.0.0.1")
        .set("Connection", "port", port)
        .set("Session", "receive_timeout", 1);
    let mut session = ServerSession::new(None, Some(&data)).unwrap();
    let odbc = session.open("", "", None, None).unwrap();
    let started = Instant::now();
    let e = odbc.ping().unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "waited {:?}: {e}",
        started.elapsed()
    );
}

#[test]
fn closing_never_waits_longer_than_receive_timeout_for_a_silent_server() {
    // Reads everything and answers nothing.
    let port = fake_server(|s| while receive(s).is_some() {});
    let data = ConfigData::new()
        .set("Connection", "host", "127.0.0.1")
        .set("Connection", "port", port)
        .set("Session", "receive_timeout", 1);
    let mut session = ServerSession::new(None, Some(&data)).unwrap();
    session.open("", "", None, None).unwrap();
    let started = Instant::now();
    let r = session.close();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "close waited {:?} ({r:?})",
        started.elapsed()
    );
    assert!(session.closed());
}

#[test]
fn a_commit_whose_answer_never_comes_says_its_outcome_is_unknown() {
    let port = fake_server(|s| {
        let connect = receive(s).expect("DriverConnect");
        send(
            s,
            connect.id,
            Response::Connected {
                conn: 1,
                dbms_name: "fake".into(),
            },
        );
        let _commit = receive(s).expect("Commit");
        // The server dies with the COMMIT in its hands.
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let mut session = session(port);
    let odbc = session.open("", "", None, None).unwrap();
    let conn = odbc.driver_connect("DSN=x").unwrap();
    let e = conn.commit().unwrap_err();
    assert_eq!(e.class, ErrorClass::ConnectionFailureError, "{e}");
    assert!(e.message.contains("outcome of COMMIT is unknown"), "{e}");
}

#[test]
fn an_error_with_millions_of_diagnostic_records_is_refused_within_the_budget() {
    // 5,000,000 empty records: 15 MB on the wire, 280 MB as records (the budget is 256 MiB).
    let record = odbcd::error::DiagRecord {
        sqlstate: String::new(),
        native: 0,
        message: String::new(),
    };
    let mut error = odbcd::error::DbError::new(ErrorClass::DatabaseError, "many");
    error.records = vec![record; 5_000_000];
    let mut frame_bytes = Vec::new();
    frame::encode(
        &ServerFrame {
            id: 1,
            response: Response::Error(error),
        },
        Compression { threshold: 0 },
        MAX_FRAME_LEN,
        &mut frame_bytes,
    )
    .unwrap();
    let port = fake_server(move |s| {
        let _ping = receive(s).expect("a request");
        let _ = s.write_all(&frame_bytes);
    });
    let mut session = session(port);
    let odbc = session.open("", "", None, None).unwrap();
    let e = odbc.ping().unwrap_err();
    assert_eq!(e.class, ErrorClass::ProtocolError, "{e}");
    assert!(e.message.contains("decodes to more than"), "{e}");
}
