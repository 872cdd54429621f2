//! Micro-benchmarks of the wire codec on a 5,000-row batch of the bulk workload's shape
//! (int, ~25-character text, decimal text, timestamp): encode, encode + compress, decode,
//! decompress + decode; and the server's way, cells written straight into a frame
//! (`proto::rows`) as it does from ODBC buffers. Run with `cargo bench --bench codec`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use odbcd::proto::compress::Compression;
use odbcd::proto::frame;
use odbcd::proto::message::{Response, ServerFrame};
use odbcd::proto::rows::{encode_rows_frame, EncodedRows, RowsHead};
use odbcd::proto::value::{Date, Time, Timestamp, Value};
use odbcd::proto::MAX_FRAME_LEN;

fn batch() -> ServerFrame {
    let rows = (1..=5_000i64)
        .map(|i| {
            vec![
                Value::Int(i),
                Value::Text(format!("customer-name-{i:012}")),
                Value::Decimal(format!("{}.{:02}", i / 4, (i % 4) * 25)),
                Value::Timestamp(Timestamp {
                    date: Date {
                        year: 2024,
                        month: 1,
                        day: 2,
                    },
                    time: Time {
                        hour: 3,
                        minute: 4,
                        second: 5,
                        nanos: 0,
                    },
                }),
            ]
        })
        .collect();
    ServerFrame {
        id: 42,
        response: Response::Rows { rows, done: false },
    }
}

fn codec(c: &mut Criterion) {
    let msg = batch();
    let mut plain = Vec::new();
    frame::encode(&msg, Compression::OFF, MAX_FRAME_LEN, &mut plain).expect("encodes");
    let mut packed = Vec::new();
    frame::encode(&msg, Compression::new(true, 2), MAX_FRAME_LEN, &mut packed).expect("encodes");
    eprintln!(
        "5,000-row batch: {} bytes plain, {} bytes compressed",
        plain.len(),
        packed.len()
    );

    let mut g = c.benchmark_group("5000-row batch");
    g.throughput(Throughput::Elements(5_000));
    let mut buf = Vec::with_capacity(plain.len());
    g.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            frame::encode(&msg, Compression::OFF, MAX_FRAME_LEN, &mut buf).expect("encodes");
        })
    });
    g.bench_function("encode+compress", |b| {
        b.iter(|| {
            buf.clear();
            frame::encode(&msg, Compression::new(true, 2), MAX_FRAME_LEN, &mut buf)
                .expect("encodes");
        })
    });
    // The server's path: cells as they sit in ODBC column buffers, written into the frame
    // without building `Value`s.
    let cells: Vec<(i64, String, String, Timestamp)> = match &msg.response {
        Response::Rows { rows, .. } => rows
            .iter()
            .map(|r| match r.as_slice() {
                [Value::Int(i), Value::Text(t), Value::Decimal(d), Value::Timestamp(ts)] => {
                    (*i, t.clone(), d.clone(), *ts)
                }
                _ => unreachable!("the batch above has this shape"),
            })
            .collect(),
        _ => Vec::new(),
    };
    g.bench_function("server: cells to frame", |b| {
        b.iter(|| {
            let mut rows = EncodedRows::with_capacity(plain.len());
            for (i, t, d, ts) in &cells {
                rows.begin_row(4);
                rows.push_int(*i);
                rows.push_text(t);
                rows.push_decimal(d);
                rows.push_timestamp(*ts);
            }
            buf.clear();
            encode_rows_frame(
                42,
                RowsHead::Rows,
                &rows,
                false,
                Vec::new(),
                Compression::OFF,
                MAX_FRAME_LEN,
                &mut buf,
            )
            .expect("encodes");
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| frame::decode::<ServerFrame>(&plain, MAX_FRAME_LEN).expect("decodes"))
    });
    g.bench_function("decompress+decode", |b| {
        b.iter(|| frame::decode::<ServerFrame>(&packed, MAX_FRAME_LEN).expect("decodes"))
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
