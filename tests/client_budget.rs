//! The client against a server whose answer decodes to gigabytes: refused within a budget.
//! (Its own test binary: it measures the process's peak memory.)

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use odbcd::client::{ConfigData, ErrorClass, ServerSession};
use odbcd::proto::compress::Compression;
use odbcd::proto::message::{ClientFrame, Response, ServerFrame};
use odbcd::proto::preamble::Preamble;
use odbcd::proto::rows::{encode_rows_frame, EncodedRows, RowsHead};
use odbcd::proto::{frame, MAX_FRAME_LEN};

fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap()
        / 1024
}

#[test]
fn an_answer_that_decodes_to_gigabytes_is_refused_within_the_budget() {
    // 20,000,000 NULLs: 20 MB encoded, a few hundred kB compressed, 640 MB as values.
    let mut rows = EncodedRows::new();
    for _ in 0..20_000 {
        rows.begin_row(1000);
        for _ in 0..1000 {
            rows.push_null();
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let send = |s: &mut std::net::TcpStream, f: ServerFrame| {
            let mut buf = Vec::new();
            frame::encode(&f, Compression::OFF, MAX_FRAME_LEN, &mut buf).unwrap();
            s.write_all(&buf).unwrap();
        };
        let read = |s: &mut std::net::TcpStream| -> ClientFrame {
            let mut head = [0u8; 5];
            s.read_exact(&mut head).unwrap();
            let h = frame::parse_header(&head, MAX_FRAME_LEN).unwrap();
            let mut payload = vec![0u8; h.payload_len];
            s.read_exact(&mut payload).unwrap();
            frame::decode_payload(&h, &payload, MAX_FRAME_LEN).unwrap()
        };
        let mut pre = [0u8; 8];
        s.read_exact(&mut pre).unwrap();
        s.write_all(&Preamble::current(0).encode()).unwrap();
        send(
            &mut s,
            ServerFrame {
                id: 0,
                response: Response::Greeting {
                    server_version: "fake".into(),
                    nonce: vec![0; 32],
                    auth_required: false,
                },
            },
        );
        read(&mut s);
        send(
            &mut s,
            ServerFrame {
                id: 0,
                response: Response::SessionOpened {
                    session_id: "f".repeat(32),
                    server_version: "fake".into(),
                    last_request: 0,
                    reconnect_window_ms: 1000,
                },
            },
        );
        let ping = read(&mut s);
        let mut buf = Vec::new();
        encode_rows_frame(
            ping.id,
            RowsHead::Rows,
            &rows,
            true,
            Compression { threshold: 0 },
            MAX_FRAME_LEN,
            &mut buf,
        )
        .unwrap();
        drop(rows);
        s.write_all(&buf).unwrap();
        std::thread::sleep(Duration::from_secs(5));
    });
    let data = ConfigData::new()
        .set("Connection", "host", "127.0.0.1")
        .set("Connection", "port", port);
    let mut session = ServerSession::new(None, Some(&data)).unwrap();
    let odbc = session.open("", "", None, None).unwrap();
    let before = peak_rss_mb();
    let e = odbc.ping().unwrap_err();
    assert_eq!(e.class, ErrorClass::ProtocolError, "{e}");
    assert!(e.message.contains("decodes to more than"), "{e}");
    let grown = peak_rss_mb() - before;
    assert!(grown < 400, "peak RSS grew by {grown} MB");
    eprintln!("peak RSS growth: {grown} MB");
}
