//! The client against a server whose answer decodes to gigabytes: refused within a budget.
//! (Its own test binary: it measures the process's peak memory.)

mod common;

use std::io::Write;

use common::fake::{fake_server, receive};

use odbcd::client::{ConfigData, ErrorClass, ServerSession};
use odbcd::proto::compress::Compression;
use odbcd::proto::rows::{encode_rows_frame, EncodedRows, RowsHead};
use odbcd::proto::MAX_FRAME_LEN;

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
    let port = fake_server(move |s| {
        let ping = receive(s).expect("a request");
        let mut buf = Vec::new();
        encode_rows_frame(
            ping.id,
            RowsHead::Rows,
            &rows,
            true,
            Vec::new(),
            Compression { threshold: 0 },
            MAX_FRAME_LEN,
            &mut buf,
        )
        .unwrap();
        drop(rows);
        let _ = s.write_all(&buf);
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
