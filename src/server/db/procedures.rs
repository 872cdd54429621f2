//! `CallProcedure`: a procedure call with input, output and input/output parameters.
//!
//! Output parameters are bound to buffers of this module ([`Bindings`]) for the length of the
//! call: the statement runs, every further result is passed over (ODBC fills output
//! parameters once all results are processed), the values are read back, and the parameters
//! are unbound before the buffers go. A procedure that returns a result set keeps its cursor
//! (answered like `Execute`), and its output parameters are not read: they would only be
//! complete after its rows. Buffers are bounded: text at most [`MAX_OUTPUT_BYTES`] each and
//! [`MAX_OUTPUT_TOTAL`] in all, checked before anything is allocated.

use odbc_api::handles::Statement;
use odbc_api::parameter::VarCharBox;
use odbc_api::sys::ParamType;
use odbc_api::{Nullable, ParameterCollection};

use super::params::{to_param, Param, MAX_PARAMS};
use crate::error::{DbError, ErrorClass};
use crate::proto::statement::{ParamDirection, ProcParam};
use crate::proto::value::Value;

/// The longest text an output parameter may return.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// The most bytes of output buffers one call may ask for.
pub const MAX_OUTPUT_TOTAL: usize = 16 * 1024 * 1024;

/// What an output parameter is read back as.
enum OutBuffer {
    Int(Nullable<i64>),
    Bool(Nullable<i64>),
    Float(Nullable<f64>),
    /// Text; read back as `Decimal` when the template was one.
    Text(VarCharBox, bool),
}

enum Slot {
    In(Param),
    Out(OutBuffer, ParamType),
}

/// A call's parameters, bound in order.
pub(crate) struct Bindings {
    slots: Vec<Slot>,
    /// The values as sent, for the inputs' place in the answer.
    sent: Vec<Value>,
}

fn text_buffer(value: &Value, direction: ParamDirection, max_bytes: usize) -> VarCharBox {
    let input = match (direction, value) {
        (ParamDirection::InOut, Value::Null) | (ParamDirection::Out, _) => None,
        (ParamDirection::InOut, v) => Some(v.to_string()),
        (ParamDirection::In, _) => None,
    };
    let len = input.as_ref().map_or(0, String::len);
    // Room for the value coming back, the value going in, and a terminating zero.
    let mut buffer = vec![0u8; max_bytes.max(len) + 1];
    let indicator = match &input {
        Some(s) => {
            buffer[..s.len()].copy_from_slice(s.as_bytes());
            odbc_api::buffers::Indicator::Length(s.len())
        }
        None => odbc_api::buffers::Indicator::Null,
    };
    VarCharBox::from_buffer(buffer.into_boxed_slice(), indicator)
}

impl Bindings {
    /// The call's parameters as ODBC parameters and output buffers.
    ///
    /// # Errors
    /// `ProgrammingError` for output buffers over the limits; the input conversions' errors.
    pub(crate) fn new(params: &[ProcParam]) -> Result<Self, DbError> {
        let mut total = 0usize;
        for p in params {
            if p.direction != ParamDirection::In {
                let bytes = (p.max_bytes as usize).max(match &p.value {
                    Value::Text(s) | Value::Decimal(s) => s.len(),
                    _ => 0,
                });
                if bytes > MAX_OUTPUT_BYTES {
                    return Err(DbError::with_state(
                        ErrorClass::ProgrammingError,
                        "HY090",
                        format!("an output parameter of {bytes} bytes: at most {MAX_OUTPUT_BYTES}"),
                    ));
                }
                total += bytes + 16;
            }
        }
        if total > MAX_OUTPUT_TOTAL {
            return Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "HY090",
                format!("output parameters of {total} bytes in all: at most {MAX_OUTPUT_TOTAL}"),
            ));
        }
        if params.len() > MAX_PARAMS {
            return Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "07002",
                format!(
                    "{} parameters: a call takes at most {MAX_PARAMS}",
                    params.len()
                ),
            ));
        }
        let inputs: Vec<Value> = params.iter().map(|p| p.value.clone()).collect();
        let mut slots = Vec::with_capacity(params.len());
        for (i, p) in params.iter().enumerate() {
            let kind = match p.direction {
                ParamDirection::In => {
                    slots.push(Slot::In(to_param(i + 1, &p.value)?));
                    continue;
                }
                ParamDirection::Out => ParamType::Output,
                ParamDirection::InOut => ParamType::InputOutput,
            };
            let inout = p.direction == ParamDirection::InOut;
            let buffer = match &p.value {
                Value::Int(i) => OutBuffer::Int(if inout {
                    Nullable::new(*i)
                } else {
                    Nullable::null()
                }),
                Value::Bool(b) => OutBuffer::Bool(if inout {
                    Nullable::new(i64::from(*b))
                } else {
                    Nullable::null()
                }),
                Value::Float(f) => OutBuffer::Float(if inout {
                    Nullable::new(*f)
                } else {
                    Nullable::null()
                }),
                other => OutBuffer::Text(
                    text_buffer(other, p.direction, (p.max_bytes as usize).max(1)),
                    matches!(other, Value::Decimal(_)),
                ),
            };
            slots.push(Slot::Out(buffer, kind));
        }
        Ok(Self {
            slots,
            sent: inputs,
        })
    }

    /// Every parameter's value after the call: inputs as sent, outputs as read back.
    ///
    /// # Errors
    /// `DataError` (22001) for text longer than its buffer, or not UTF-8 text.
    pub(crate) fn values(&self) -> Result<Vec<Value>, DbError> {
        self.slots
            .iter()
            .zip(&self.sent)
            .enumerate()
            .map(|(i, (slot, sent))| match slot {
                Slot::In(_) => Ok(sent.clone()),
                Slot::Out(OutBuffer::Int(v), _) => Ok(v.into_opt().map_or(Value::Null, Value::Int)),
                Slot::Out(OutBuffer::Bool(v), _) => {
                    Ok(v.into_opt().map_or(Value::Null, |n| Value::Bool(n != 0)))
                }
                Slot::Out(OutBuffer::Float(v), _) => {
                    Ok(v.into_opt().map_or(Value::Null, Value::Float))
                }
                Slot::Out(OutBuffer::Text(v, decimal), _) => {
                    if !v.is_complete() {
                        return Err(DbError::with_state(
                            ErrorClass::DataError,
                            "22001",
                            format!(
                                "output parameter {} is longer than its {} bytes: ask for more (max_bytes)",
                                i + 1,
                                v.as_bytes().map_or(0, <[u8]>::len)
                            ),
                        ));
                    }
                    match v.as_bytes() {
                        None => Ok(Value::Null),
                        Some(bytes) => match std::str::from_utf8(bytes) {
                            Ok(s) if *decimal => Ok(Value::Decimal(s.to_owned())),
                            Ok(s) => Ok(Value::Text(s.to_owned())),
                            Err(_) => Ok(Value::Bytes(bytes.to_vec())),
                        },
                    }
                }
            })
            .collect()
    }
}

// SAFETY: every slot is bound to a buffer `Bindings` owns (heap allocations that do not move
// while it lives: boxed parameters, `Nullable`s inside the slots vector, which is not resized
// after binding), and the caller unbinds the parameters (`SQLFreeStmt(SQL_RESET_PARAMS)`)
// before the bindings are dropped or the statement is used by anything but this call.
#[allow(unsafe_code)]
unsafe impl ParameterCollection for Bindings {
    fn parameter_set_size(&self) -> usize {
        1
    }

    unsafe fn bind_parameters_to(
        &mut self,
        stmt: &mut impl Statement,
    ) -> Result<(), odbc_api::Error> {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let n = u16::try_from(i + 1).unwrap_or(u16::MAX);
            // SAFETY: see the impl's note: the buffers outlive the binding.
            let rc = unsafe {
                match slot {
                    Slot::In(p) => stmt.bind_input_parameter(n, p.as_ref()),
                    Slot::Out(OutBuffer::Int(v) | OutBuffer::Bool(v), kind) => {
                        stmt.bind_parameter(n, *kind, v)
                    }
                    Slot::Out(OutBuffer::Float(v), kind) => stmt.bind_parameter(n, *kind, v),
                    Slot::Out(OutBuffer::Text(v, _), kind) => stmt.bind_parameter(n, *kind, v),
                }
            };
            rc.into_result(stmt)?;
        }
        Ok(())
    }
}
