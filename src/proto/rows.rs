//! Result rows encoded as they are read, without building [`Value`]s first.
//!
//! A batch of rows travels as `Vec<Vec<Value>>` inside [`Response::Executed`] and
//! [`Response::Rows`]. The server does not need the `Value`s: it reads cells out of ODBC
//! buffers and only wants their bytes on the wire. [`EncodedRows`] writes each cell in exactly
//! the bytes postcard gives the `Value` (the property test below holds the two to the same
//! output), and [`encode_rows_frame`] splices a batch into its frame. The client decodes the
//! frame as usual: the wire format does not change.
//!
//! [`Response::Executed`]: super::message::Response::Executed
//! [`Response::Rows`]: super::message::Response::Rows

use serde::{Deserialize, Serialize};

use super::compress::Compression;
use super::frame;
use super::message::{RequestId, Response, ServerFrame};
use super::value::{ColumnDesc, Date, Time, Timestamp, Value};
use super::ProtoError;
use crate::error::DiagRecord;

/// `Value`'s variant indices on the wire (its declaration order, which is append-only).
mod tag {
    pub const NULL: u8 = 0;
    pub const BOOL: u8 = 1;
    pub const INT: u8 = 2;
    pub const FLOAT: u8 = 3;
    pub const DECIMAL: u8 = 4;
    pub const TEXT: u8 = 5;
    pub const BYTES: u8 = 6;
    pub const DATE: u8 = 7;
    pub const TIME: u8 = 8;
    pub const TIMESTAMP: u8 = 9;
}

/// Rows in their wire encoding: each row is its column count followed by its values, as
/// postcard encodes a `Vec<Value>`. Rows are appended one at a time with [`Self::begin_row`]
/// and then one `push_*` per column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EncodedRows {
    rows: usize,
    /// As one byte string, not a sequence of numbers: the same bytes in postcard, decoded by
    /// copying (a worker's answers cross a pipe this way).
    #[serde(with = "byte_string")]
    bytes: Vec<u8>,
}

/// `Vec<u8>` (de)serialized as a byte string (`serialize_bytes`).
pub(crate) mod byte_string {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(Bytes)
    }

    struct Bytes;

    impl<'de> Visitor<'de> for Bytes {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

impl EncodedRows {
    /// No rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// No rows, with room for `bytes` bytes of them.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            rows: 0,
            bytes: Vec::with_capacity(bytes),
        }
    }

    /// Keeps the first `rows` rows, which end at byte `bytes` (drops a row left half-written).
    pub fn truncate(&mut self, rows: usize, bytes: usize) {
        self.rows = self.rows.min(rows);
        self.bytes.truncate(bytes);
    }

    /// The rows as values (what the client decodes from them).
    ///
    /// # Errors
    /// The bytes are not rows (they always are when written with the `push_*` methods).
    pub fn decode(&self) -> Result<Vec<Vec<Value>>, ProtoError> {
        let mut rest = self.bytes.as_slice();
        let mut out = Vec::with_capacity(self.rows);
        for _ in 0..self.rows {
            let (row, after) =
                postcard::take_from_bytes::<Vec<Value>>(rest).map_err(|e| ProtoError::Decode {
                    reason: e.to_string(),
                })?;
            out.push(row);
            rest = after;
        }
        Ok(out)
    }

    /// Removes the first `rows` rows, which take the first `bytes` bytes (whole rows: the
    /// caller knows where they end).
    pub fn drain_front(&mut self, rows: usize, bytes: usize) {
        self.rows = self.rows.saturating_sub(rows);
        self.bytes.drain(..bytes.min(self.bytes.len()));
    }

    /// Removes every row, keeping the memory.
    pub fn clear(&mut self) {
        self.rows = 0;
        self.bytes.clear();
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The encoded size in bytes.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The encoded rows (without the count that precedes them on the wire).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Starts a row of `columns` values.
    pub fn begin_row(&mut self, columns: usize) {
        self.rows += 1;
        varint(&mut self.bytes, columns as u64);
    }

    /// Appends `rows` rows already encoded by another `EncodedRows` (`bytes` is a whole
    /// number of its rows).
    pub fn extend_encoded(&mut self, rows: usize, bytes: &[u8]) {
        self.rows += rows;
        self.bytes.extend_from_slice(bytes);
    }

    /// SQL NULL.
    pub fn push_null(&mut self) {
        self.bytes.push(tag::NULL);
    }

    /// A boolean.
    pub fn push_bool(&mut self, b: bool) {
        self.bytes.extend_from_slice(&[tag::BOOL, u8::from(b)]);
    }

    /// An integer.
    pub fn push_int(&mut self, i: i64) {
        self.bytes.push(tag::INT);
        varint(&mut self.bytes, zigzag(i));
    }

    /// A float.
    pub fn push_float(&mut self, f: f64) {
        self.bytes.push(tag::FLOAT);
        self.bytes.extend_from_slice(&f.to_le_bytes());
    }

    /// An exact decimal, as its text.
    pub fn push_decimal(&mut self, s: &str) {
        self.bytes.push(tag::DECIMAL);
        self.str(s);
    }

    /// Text.
    pub fn push_text(&mut self, s: &str) {
        self.bytes.push(tag::TEXT);
        self.str(s);
    }

    /// Binary data.
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.bytes.push(tag::BYTES);
        varint(&mut self.bytes, b.len() as u64);
        self.bytes.extend_from_slice(b);
    }

    /// A date.
    pub fn push_date(&mut self, d: Date) {
        self.bytes.push(tag::DATE);
        self.date(d);
    }

    /// A time of day.
    pub fn push_time(&mut self, t: Time) {
        self.bytes.push(tag::TIME);
        self.time(t);
    }

    /// A timestamp.
    pub fn push_timestamp(&mut self, ts: Timestamp) {
        self.bytes.push(tag::TIMESTAMP);
        self.date(ts.date);
        self.time(ts.time);
    }

    /// Any value.
    pub fn push_value(&mut self, v: &Value) {
        match v {
            Value::Null => self.push_null(),
            Value::Bool(b) => self.push_bool(*b),
            Value::Int(i) => self.push_int(*i),
            Value::Float(f) => self.push_float(*f),
            Value::Decimal(s) => self.push_decimal(s),
            Value::Text(s) => self.push_text(s),
            Value::Bytes(b) => self.push_bytes(b),
            Value::Date(d) => self.push_date(*d),
            Value::Time(t) => self.push_time(*t),
            Value::Timestamp(ts) => self.push_timestamp(*ts),
        }
    }

    /// A whole row of values.
    pub fn push_row(&mut self, row: &[Value]) {
        self.begin_row(row.len());
        for v in row {
            self.push_value(v);
        }
    }

    fn str(&mut self, s: &str) {
        varint(&mut self.bytes, s.len() as u64);
        self.bytes.extend_from_slice(s.as_bytes());
    }

    fn date(&mut self, d: Date) {
        varint(&mut self.bytes, zigzag(i64::from(d.year)));
        self.bytes.extend_from_slice(&[d.month, d.day]);
    }

    fn time(&mut self, t: Time) {
        self.bytes.extend_from_slice(&[t.hour, t.minute, t.second]);
        varint(&mut self.bytes, u64::from(t.nanos));
    }
}

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// What a rows frame answers with, apart from the rows.
#[derive(Debug, Clone)]
pub enum RowsHead {
    /// [`Response::Executed`]: the statement's columns and row count.
    Executed {
        /// The result's columns, `None` when the statement returned no result set.
        columns: Option<Vec<ColumnDesc>>,
        /// Rows affected, or -1 when unknown.
        rowcount: i64,
    },
    /// [`Response::Rows`]: more rows of a result set.
    Rows,
}

/// Appends one frame answering request `id` with `head`, `rows` and `done` (wrapped in
/// [`Response::Warned`] when there are `warnings`) to `out`: the same bytes as
/// [`frame::encode`] of the equivalent [`ServerFrame`], without building its values.
///
/// # Errors
/// As [`frame::encode`]: the frame would be larger than `max`, or postcard failed.
#[allow(clippy::too_many_arguments)]
pub fn encode_rows_frame(
    id: RequestId,
    head: RowsHead,
    rows: &EncodedRows,
    done: bool,
    warnings: Vec<DiagRecord>,
    compression: Compression,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), ProtoError> {
    // The frame with no rows ends with the rows' count (0, one byte) and `done` (one byte):
    // the rows go in between, after their real count.
    let response = match head {
        RowsHead::Executed { columns, rowcount } => Response::Executed {
            columns,
            rowcount,
            rows: Vec::new(),
            done,
        },
        RowsHead::Rows => Response::Rows {
            rows: Vec::new(),
            done,
        },
    };
    // The answer is the last field of `Warned` (a box encodes as its contents), so the rows
    // still go in right before the final `done` byte.
    let response = if warnings.is_empty() {
        response
    } else {
        Response::Warned {
            warnings,
            response: Box::new(response),
        }
    };
    frame::encode_with(compression, max, out, |buf| {
        let start = buf.len();
        let mut encoded = postcard::to_extend(&ServerFrame { id, response }, std::mem::take(buf))
            .map_err(|e| ProtoError::Encode {
            reason: e.to_string(),
        })?;
        if encoded.len() < start + 2 || encoded[encoded.len() - 2] != 0 {
            return Err(ProtoError::Encode {
                reason: "unexpected encoding of an empty row batch".into(),
            });
        }
        encoded.truncate(encoded.len() - 2);
        varint(&mut encoded, rows.len() as u64);
        encoded.extend_from_slice(rows.as_bytes());
        encoded.push(u8::from(done));
        *buf = encoded;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn encoded_rows_cross_as_one_byte_string_with_the_bytes_of_a_plain_vec() {
        let mut rows = EncodedRows::new();
        rows.begin_row(2);
        rows.push_int(42);
        rows.push_text("x");
        let ours = postcard::to_allocvec(&rows).unwrap();
        let plain = postcard::to_allocvec(&(rows.rows, rows.bytes.clone())).unwrap();
        assert_eq!(ours, plain);
        let back: EncodedRows = postcard::from_bytes(&ours).unwrap();
        assert_eq!(back, rows);
    }

    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let date = (any::<i16>(), any::<u8>(), any::<u8>()).prop_map(|(year, month, day)| Date {
            year,
            month,
            day,
        });
        let time = (any::<u8>(), any::<u8>(), any::<u8>(), any::<u32>()).prop_map(
            |(hour, minute, second, nanos)| Time {
                hour,
                minute,
                second,
                nanos,
            },
        );
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            // NaN never equals itself: the decoded comparison below needs equal values.
            any::<f64>()
                .prop_filter("not NaN", |f| !f.is_nan())
                .prop_map(Value::Float),
            ".{0,20}".prop_map(Value::Decimal),
            ".{0,200}".prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
            date.clone().prop_map(Value::Date),
            time.clone().prop_map(Value::Time),
            (date, time).prop_map(|(date, time)| Value::Timestamp(Timestamp { date, time })),
        ]
    }

    fn encoded(rows: &[Vec<Value>]) -> EncodedRows {
        let mut e = EncodedRows::new();
        for r in rows {
            e.push_row(r);
        }
        e
    }

    proptest! {
        #[test]
        fn rows_encode_exactly_as_postcard_encodes_values(
            rows in proptest::collection::vec(proptest::collection::vec(value(), 0..6), 0..40),
        ) {
            let e = encoded(&rows);
            let mut expected = Vec::new();
            for r in &rows {
                expected.extend(postcard::to_allocvec(r).unwrap());
            }
            prop_assert_eq!(e.as_bytes(), expected.as_slice());
            prop_assert_eq!(e.len(), rows.len());
        }

        #[test]
        fn rows_frames_are_the_frames_of_the_equivalent_response(
            rows in proptest::collection::vec(proptest::collection::vec(value(), 0..6), 0..200),
            id in any::<u32>(),
            rowcount in any::<i64>(),
            done in any::<bool>(),
            executed in any::<bool>(),
            compress in any::<bool>(),
        ) {
            let columns = vec![ColumnDesc {
                name: "c".into(),
                type_code: 4,
                display_size: Some(11),
                internal_size: None,
                precision: Some(10),
                scale: Some(0),
                null_ok: Some(true),
            }];
            let (head, response) = if executed {
                (
                    RowsHead::Executed { columns: Some(columns.clone()), rowcount },
                    Response::Executed { columns: Some(columns.clone()), rowcount, rows: rows.clone(), done },
                )
            } else {
                (RowsHead::Rows, Response::Rows { rows: rows.clone(), done })
            };
            let compression = Compression::new(compress, 1);
            let mut ours = Vec::new();
            encode_rows_frame(id, head, &encoded(&rows), done, Vec::new(), compression, usize::MAX, &mut ours).unwrap();
            let mut theirs = Vec::new();
            frame::encode(&ServerFrame { id, response: response.clone() }, compression, usize::MAX, &mut theirs).unwrap();
            prop_assert_eq!(&ours, &theirs);
            let (decoded, used) = frame::decode::<ServerFrame>(&ours, usize::MAX).unwrap().unwrap();
            prop_assert_eq!(used, ours.len());
            prop_assert_eq!(decoded, ServerFrame { id, response });
        }
    }

    #[test]
    fn frames_over_the_maximum_are_refused() {
        let mut rows = EncodedRows::new();
        rows.push_row(&[Value::Text("x".repeat(1000))]);
        let mut out = vec![1, 2, 3];
        let r = encode_rows_frame(
            7,
            RowsHead::Rows,
            &rows,
            true,
            Vec::new(),
            Compression::OFF,
            100,
            &mut out,
        );
        assert!(matches!(r, Err(ProtoError::FrameTooLarge { .. })));
        assert_eq!(out, vec![1, 2, 3], "nothing is left behind");
    }
}
