//! Mesos's protobuf encoding of the v1 messages (`application/x-protobuf`),
//! as a transcoder between protobuf's binary form and the JSON the serde
//! shapes read and write.
//!
//! A protobuf body is decoded, field by field, into the JSON protobuf's
//! JSON mapping gives the same message (field names of the `.proto`,
//! enums by name, bytes in base64), and that JSON is read by the very
//! shapes, checks and conversions the JSON path uses: a protobuf call
//! is accepted or refused exactly as its JSON twin. Events go the other
//! way. Names, numbers and types come from the `.proto` subset files in
//! `http/proto/` (see [`schema`]); nothing is generated at build time, so
//! building needs no `protoc`.
//!
//! What the transcoder does with what protobuf allows and JSON does not
//! say: a field the subset lacks is skipped (as Mesos's JSON reading
//! skips an unknown key); an enum number the subset lacks becomes its
//! decimal text, which a shape then refuses or keeps by name as it would
//! an unknown name; a singular field given twice keeps the last value
//! (messages merge), as protobuf's parsers do. The subset has no repeated
//! numbers, so packed fields never arise. Required fields and defaults are
//! left to the shapes.

mod schema;
mod wire;

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use self::schema::{Kind, Scalar, Schema};
use self::wire::{put_key, put_varint, Reader, FIXED32, FIXED64, LEN, VARINT};
use super::scheduler::{Call, Event};

/// The full name of the scheduler API's call message.
pub const CALL: &str = "mesos.v1.scheduler.Call";
/// The full name of the scheduler API's event message.
pub const EVENT: &str = "mesos.v1.scheduler.Event";
/// The full name of the executor API's call message.
pub const EXECUTOR_CALL: &str = "mesos.v1.executor.Call";
/// The full name of the executor API's event message.
pub const EXECUTOR_EVENT: &str = "mesos.v1.executor.Event";

/// How deep messages may nest in input (protobuf's own parsers stop at
/// 100); the subset's deepest call nests 8.
const MAX_DEPTH: usize = 100;

/// Why a message could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// The bytes are not a protobuf encoding of the message (truncated,
    /// a field of the wrong wire type, text that is not UTF-8, ...).
    #[error("not a protobuf {message}: {why}")]
    Wire {
        /// The message being read, e.g. `mesos.v1.TaskInfo`.
        message: String,
        /// What is wrong, where.
        why: String,
    },
    /// The message decoded but is not a valid shape (a required part
    /// missing, an unknown type): serde's words, as for the same JSON.
    #[error("{0}")]
    Shape(#[from] serde_json::Error),
    /// A value the `.proto` subset cannot carry: the shapes and the subset
    /// disagree (a bug the round-trip tests catch).
    #[error("cannot write {message} as protobuf: {why}")]
    Encode {
        /// The message being written.
        message: String,
        /// What did not fit.
        why: String,
    },
    /// The built-in `.proto` files do not read (a bug the unit tests
    /// catch).
    #[error("the built-in .proto files: {0}")]
    Schema(String),
}

/// The built-in schema, read once.
fn schema() -> Result<&'static Schema, ProtobufError> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(Schema::builtin)
        .as_ref()
        .map_err(|e| ProtobufError::Schema(e.clone()))
}

/// Reads `bytes` as the protobuf message `message` (a full name, e.g.
/// [`CALL`]) into the shape `T`.
pub fn decode<T: DeserializeOwned>(message: &str, bytes: &[u8]) -> Result<T, ProtobufError> {
    let json = to_json(message, bytes)?;
    Ok(serde_json::from_value(json)?)
}

/// Writes the shape `value` as the protobuf message `message`.
pub fn encode<T: Serialize>(message: &str, value: &T) -> Result<Vec<u8>, ProtobufError> {
    from_json(message, &serde_json::to_value(value)?)
}

/// A protobuf `Call` body, read.
pub fn decode_call(bytes: &[u8]) -> Result<Call, ProtobufError> {
    decode(CALL, bytes)
}

/// A `Call`, written as protobuf (what a client posts).
pub fn encode_call(call: &Call) -> Result<Vec<u8>, ProtobufError> {
    encode(CALL, call)
}

/// A protobuf `Event` record, read (what a client does with the stream).
pub fn decode_event(bytes: &[u8]) -> Result<Event, ProtobufError> {
    decode(EVENT, bytes)
}

/// An `Event`, written as protobuf (one record of a stream).
pub fn encode_event(event: &Event) -> Result<Vec<u8>, ProtobufError> {
    encode(EVENT, event)
}

/// The protobuf message `message` in `bytes` as protobuf's JSON mapping
/// writes it (with 64-bit numbers as JSON numbers, as Mesos writes them).
pub fn to_json(message: &str, bytes: &[u8]) -> Result<Value, ProtobufError> {
    let schema = schema()?;
    let mut out = Map::new();
    read_message(schema, message, bytes, &mut out, 0).map_err(|why| ProtobufError::Wire {
        message: message.to_owned(),
        why,
    })?;
    Ok(Value::Object(out))
}

/// `json`, in protobuf's JSON mapping of `message`, as protobuf bytes;
/// fields in number order, as Mesos writes them. A key the message lacks
/// is an error: nothing is dropped unsaid.
pub fn from_json(message: &str, json: &Value) -> Result<Vec<u8>, ProtobufError> {
    let schema = schema()?;
    let mut out = Vec::new();
    let object = json.as_object().ok_or_else(|| ProtobufError::Encode {
        message: message.to_owned(),
        why: "not a JSON object".into(),
    })?;
    write_message(schema, message, object, &mut out, 0).map_err(|why| ProtobufError::Encode {
        message: message.to_owned(),
        why,
    })?;
    Ok(out)
}

/// Reads the fields of `message` from `bytes` into `into` (which may hold
/// an earlier occurrence's fields: they merge).
fn read_message(
    schema: &Schema,
    message: &str,
    bytes: &[u8],
    into: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("messages nest deeper than {MAX_DEPTH}"));
    }
    let m = schema
        .messages
        .get(message)
        .ok_or_else(|| format!("{message} is not in the .proto subset"))?;
    let mut r = Reader::new(bytes);
    while !r.done() {
        let key = r.varint()?;
        let (number, wire) = (key >> 3, key & 7);
        if number == 0 {
            return Err(format!("{message}: a field numbered 0"));
        }
        let Some(field) = m.field(number) else {
            r.skip(wire)
                .map_err(|e| format!("{message}: field {number}: {e}"))?;
            continue;
        };
        let at = |e: String| format!("{message}.{} (field {number}): {e}", field.name);
        if wire != wire_type(&field.kind) {
            return Err(at(format!(
                "wire type {wire}, expected {}",
                wire_type(&field.kind)
            )));
        }
        match (&field.kind, field.repeated) {
            (Kind::Message(name), false) => {
                let bytes = r.delimited().map_err(at)?;
                let slot = into
                    .entry(field.name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(inner) = slot {
                    read_message(schema, name, bytes, inner, depth + 1)?;
                }
            }
            (kind, repeated) => {
                let v = read_value(schema, kind, &mut r, depth).map_err(at)?;
                if repeated {
                    push(into, &field.name, v);
                } else {
                    into.insert(field.name.clone(), v);
                }
            }
        }
    }
    Ok(())
}

fn push(into: &mut Map<String, Value>, name: &str, v: Value) {
    match into
        .entry(name.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(items) => items.push(v),
        other => *other = Value::Array(vec![v]),
    }
}

/// The wire type a field of `kind` is written with.
fn wire_type(kind: &Kind) -> u64 {
    match kind {
        Kind::Scalar(Scalar::Double) => FIXED64,
        Kind::Scalar(Scalar::Float) => FIXED32,
        Kind::Scalar(Scalar::String | Scalar::Bytes) | Kind::Message(_) => LEN,
        Kind::Scalar(_) | Kind::Enum(_) => VARINT,
    }
}

/// One value of `kind`, as JSON.
fn read_value(
    schema: &Schema,
    kind: &Kind,
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<Value, String> {
    Ok(match kind {
        Kind::Scalar(Scalar::Double) => finite(f64::from_bits(r.fixed64()?))?,
        Kind::Scalar(Scalar::Float) => finite(f64::from(f32::from_bits(r.fixed32()?)))?,
        // Protobuf truncates a 64-bit varint to the field's width.
        Kind::Scalar(Scalar::Int32) => Value::from(r.varint()? as i32),
        Kind::Scalar(Scalar::Int64) => Value::from(r.varint()? as i64),
        Kind::Scalar(Scalar::Uint32) => Value::from(r.varint()? as u32),
        Kind::Scalar(Scalar::Uint64) => Value::from(r.varint()?),
        Kind::Scalar(Scalar::Bool) => Value::from(r.varint()? != 0),
        Kind::Scalar(Scalar::String) => {
            let text = std::str::from_utf8(r.delimited()?).map_err(|_| "text is not UTF-8")?;
            Value::from(text)
        }
        Kind::Scalar(Scalar::Bytes) => Value::from(STANDARD.encode(r.delimited()?)),
        Kind::Enum(name) => {
            let number = r.varint()? as i32;
            match schema.enums.get(name).and_then(|e| e.name(number)) {
                Some(known) => Value::from(known),
                None => Value::from(number.to_string()),
            }
        }
        Kind::Message(name) => {
            let mut inner = Map::new();
            read_message(schema, name, r.delimited()?, &mut inner, depth + 1)?;
            Value::Object(inner)
        }
    })
}

/// JSON has no NaN or infinity: such a number is refused here rather than
/// turned into null.
fn finite(x: f64) -> Result<Value, String> {
    if x.is_finite() {
        Ok(Value::from(x))
    } else {
        Err(format!("{x} is not a number JSON can hold"))
    }
}

fn write_message(
    schema: &Schema,
    message: &str,
    object: &Map<String, Value>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("messages nest deeper than {MAX_DEPTH}"));
    }
    let m = schema
        .messages
        .get(message)
        .ok_or_else(|| format!("{message} is not in the .proto subset"))?;
    if let Some(extra) = object
        .keys()
        .find(|k| !m.fields.iter().any(|f| &f.name == *k))
    {
        return Err(format!("{message} has no field {extra:?}"));
    }
    for field in &m.fields {
        let values = match object.get(&field.name) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(items)) if field.repeated => items.as_slice(),
            Some(_) if field.repeated => {
                return Err(format!("{message}.{}: not a list", field.name))
            }
            Some(one) => std::slice::from_ref(one),
        };
        for v in values {
            put_key(out, field.number, wire_type(&field.kind));
            write_value(schema, &field.kind, v, out, depth)
                .map_err(|e| format!("{message}.{}: {e}", field.name))?;
        }
    }
    Ok(())
}

fn write_value(
    schema: &Schema,
    kind: &Kind,
    v: &Value,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), String> {
    let wrong = || format!("{v} is not a {kind:?}");
    match kind {
        Kind::Scalar(Scalar::Double) => {
            let x = v.as_f64().ok_or_else(wrong)?;
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Kind::Scalar(Scalar::Float) => {
            let x = v.as_f64().ok_or_else(wrong)? as f32;
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Kind::Scalar(Scalar::Int32 | Scalar::Int64) => {
            // Negative numbers are sign-extended to 64 bits, as protobuf
            // writes them.
            put_varint(out, v.as_i64().ok_or_else(wrong)? as u64);
        }
        Kind::Scalar(Scalar::Uint32) => {
            let x = v.as_u64().filter(|&x| x <= u64::from(u32::MAX));
            put_varint(out, x.ok_or_else(wrong)?);
        }
        Kind::Scalar(Scalar::Uint64) => put_varint(out, v.as_u64().ok_or_else(wrong)?),
        Kind::Scalar(Scalar::Bool) => put_varint(out, u64::from(v.as_bool().ok_or_else(wrong)?)),
        Kind::Scalar(Scalar::String) => {
            put_delimited(out, v.as_str().ok_or_else(wrong)?.as_bytes());
        }
        Kind::Scalar(Scalar::Bytes) => {
            let text = v.as_str().ok_or_else(wrong)?;
            let bytes = STANDARD
                .decode(text)
                .map_err(|e| format!("{text:?}: {e}"))?;
            put_delimited(out, &bytes);
        }
        Kind::Enum(name) => {
            let text = v.as_str().ok_or_else(wrong)?;
            let number = schema
                .enums
                .get(name)
                .and_then(|e| e.number(text))
                .ok_or_else(|| format!("{name} has no value {text}"))?;
            put_varint(out, i64::from(number) as u64);
        }
        Kind::Message(name) => {
            let object = v.as_object().ok_or_else(wrong)?;
            let mut inner = Vec::new();
            write_message(schema, name, object, &mut inner, depth + 1)?;
            put_delimited(out, &inner);
        }
    }
    Ok(())
}

fn put_delimited(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "executor_tests.rs"]
mod executor_tests;
