//! A budget on the memory that decoding one frame may take (a request on the server, an answer
//! on the client).
//!
//! A request's parameters decode into [`Value`]s of 32 bytes each, whatever their size on the
//! wire: 4,000,000 NULLs are 4 MB (188 kB compressed) on the wire and 128 MB decoded. The
//! server decodes client frames inside [`with_budget`]; the parameter lists of `Execute` and
//! `ExecuteMany` are decoded by [`values`] and [`value_sets`], which charge every allocation
//! (vector capacity before it is reserved, text and byte contents as they arrive) and fail once
//! the budget is spent, so an oversized request is refused having allocated at most the budget.
//! Outside [`with_budget`] (the client, tests) nothing is counted.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

use super::value::Value;

thread_local! {
    /// Bytes left for the decoding in progress on this thread (`None`: no budget).
    static LEFT: Cell<Option<usize>> = const { Cell::new(None) };
    /// Set when the budget ran out during the last decoding.
    static EXCEEDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `decode` with `limit` bytes to spend; also returns whether the budget ran out.
pub fn with_budget<R>(limit: usize, decode: impl FnOnce() -> R) -> (R, bool) {
    let outer = LEFT.with(|l| l.replace(Some(limit)));
    EXCEEDED.with(|e| e.set(false));
    let r = decode();
    LEFT.with(|l| l.set(outer));
    (r, EXCEEDED.with(|e| e.replace(false)))
}

/// Spends `bytes`, or fails when fewer are left.
fn charge<E: serde::de::Error>(bytes: usize) -> Result<(), E> {
    LEFT.with(|l| match l.get() {
        None => Ok(()),
        Some(left) if bytes <= left => {
            l.set(Some(left - bytes));
            Ok(())
        }
        Some(_) => {
            EXCEEDED.with(|e| e.set(true));
            Err(E::custom(
                "the request decodes to more than max_request_size",
            ))
        }
    })
}

/// What a value holds outside its own 32 bytes.
fn heap_size(v: &Value) -> usize {
    match v {
        Value::Text(s) | Value::Decimal(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 0,
    }
}

/// Pushes `item` onto `out`, charging capacity growth before it is reserved.
fn push_charged<T, E: serde::de::Error>(out: &mut Vec<T>, item: T) -> Result<(), E> {
    if out.len() == out.capacity() {
        let grow = out.capacity().max(4);
        charge::<E>(grow * std::mem::size_of::<T>())?;
        out.reserve_exact(grow);
    }
    out.push(item);
    Ok(())
}

struct ValuesVisitor;

impl<'de> Visitor<'de> for ValuesVisitor {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            charge::<A::Error>(heap_size(&v))?;
            push_charged::<_, A::Error>(&mut out, v)?;
        }
        Ok(out)
    }
}

/// `deserialize_with` for a parameter list.
///
/// # Errors
/// The decoder's errors, or "more than max_request_size".
pub fn values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    d.deserialize_seq(ValuesVisitor)
}

/// One parameter list inside [`value_sets`].
struct Charged(Vec<Value>);

impl<'de> Deserialize<'de> for Charged {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        values(d).map(Charged)
    }
}

struct SetsVisitor(PhantomData<()>);

impl<'de> Visitor<'de> for SetsVisitor {
    type Value = Vec<Vec<Value>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of parameter lists")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Vec<Value>>, A::Error> {
        let mut out = Vec::new();
        while let Some(Charged(set)) = seq.next_element::<Charged>()? {
            push_charged::<_, A::Error>(&mut out, set)?;
        }
        Ok(out)
    }
}

/// `deserialize_with` for the parameter sets of `ExecuteMany`.
///
/// # Errors
/// The decoder's errors, or "more than max_request_size".
pub fn value_sets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<Value>>, D::Error> {
    d.deserialize_seq(SetsVisitor(PhantomData))
}

struct ChargedVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ChargedVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<T>()? {
            push_charged::<_, A::Error>(&mut out, item)?;
        }
        Ok(out)
    }
}

/// `deserialize_with` for any other list a peer sends (diagnostic records, ...): its elements'
/// own size is charged (their contents come from the frame's bytes).
///
/// # Errors
/// The decoder's errors, or "more than the budget".
pub fn charged<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    d.deserialize_seq(ChargedVisitor(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::message::Request;

    fn execute(params: Vec<Value>) -> Vec<u8> {
        postcard::to_allocvec(&Request::Execute {
            conn: 1,
            cursor: 1,
            sql: "x".into(),
            params,
            max_rows: 0,
        })
        .unwrap()
    }

    #[test]
    fn a_million_nulls_are_refused_within_the_budget() {
        let bytes = execute(vec![Value::Null; 1_000_000]);
        assert!(bytes.len() < 1_100_000);
        let (r, exceeded) = with_budget(1 << 20, || postcard::from_bytes::<Request>(&bytes));
        assert!(r.is_err() && exceeded);
        // Without a budget (the client), the same bytes decode.
        assert!(postcard::from_bytes::<Request>(&bytes).is_ok());
        // Within a budget that fits, too.
        let (r, exceeded) = with_budget(64 << 20, || postcard::from_bytes::<Request>(&bytes));
        assert!(r.is_ok() && !exceeded);
    }

    #[test]
    fn sets_and_contents_are_charged() {
        let many = Request::ExecuteMany {
            conn: 1,
            cursor: 1,
            sql: "x".into(),
            param_sets: vec![vec![Value::Text("y".repeat(1000))]; 2000],
        };
        let bytes = postcard::to_allocvec(&many).unwrap();
        let (r, exceeded) = with_budget(1_000_000, || postcard::from_bytes::<Request>(&bytes));
        assert!(r.is_err() && exceeded, "2 MB of text in a 1 MB budget");
        let (r, _) = with_budget(4_000_000, || postcard::from_bytes::<Request>(&bytes));
        assert_eq!(r.unwrap(), many);
    }
}
