//! Table-driven decoding of Kubernetes protobuf messages into the JSON the API server stores.
//!
//! A [`Message`] lists its fields by their numbers in Kubernetes' `generated.proto` files, with
//! the JSON name and shape of each. Go's encoders write every non-pointer field, zero or not, so
//! zero values are dropped unless the JSON form keeps them (`keep`: pointer fields and fields
//! without `omitempty`). A field the table does not know is an error, never silently lost.

use serde_json::{Map, Value, json};

use super::wire::{Payload, base64, fields, packed_varints};

/// The shape of one field's value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `string`.
    Str,
    /// `int32` or `int64`.
    Int,
    /// `bool`.
    Bool,
    /// A nested message, as a JSON object.
    Msg(&'static Message),
    /// An embedded Go struct whose fields appear in the parent's JSON object.
    Inline(&'static Message),
    /// `intstr.IntOrString`: a number or a string.
    IntOrString,
    /// `resource.Quantity`: its string form.
    Quantity,
    /// `metav1.Time`: RFC 3339, or `null` when zero.
    Time,
    /// `map<string, ...>`.
    Map(MapValue),
    /// A field whose content is not kept (the status of an object written through its main
    /// resource, which the API server replaces anyway).
    Skip,
}

/// The value type of a map field.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MapValue {
    /// `map<string, string>`.
    Str,
    /// `map<string, bytes>`, base64 in JSON.
    Bytes,
    /// `map<string, Quantity>`.
    Quantity,
}

/// One field of a message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    number: u64,
    name: &'static str,
    kind: Kind,
    list: bool,
    keep: bool,
}

impl Field {
    /// A repeated field (a JSON array).
    pub(crate) const fn list(self) -> Self {
        Self { list: true, ..self }
    }

    /// A field whose zero value the JSON form keeps.
    pub(crate) const fn keep(self) -> Self {
        Self { keep: true, ..self }
    }
}

/// A field with its number in `generated.proto`, JSON name and shape.
pub(crate) const fn field(number: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        number,
        name,
        kind,
        list: false,
        keep: false,
    }
}

/// A message type: its protobuf name (for errors) and fields.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [Field],
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a well-formed message.
    #[error("the protobuf body is malformed at {0}")]
    Malformed(&'static str),
    /// A field the emulator's tables do not describe.
    #[error(
        "serin-sim does not decode field {number} of {message} from protobuf; send the object as JSON"
    )]
    UnknownField {
        /// The message type.
        message: &'static str,
        /// The field number.
        number: u64,
    },
    /// A field with another wire type than its table entry.
    #[error("field {field} of {message} has the wrong wire type")]
    WireType {
        /// The message type.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
    },
    /// The envelope names a kind the emulator does not decode.
    #[error("serin-sim does not decode {0} from protobuf; send the object as JSON")]
    UnknownKind(String),
}

impl DecodeError {
    /// A low-cardinality label for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnknownField { .. } => "unknown_field",
            Self::WireType { .. } => "wire_type",
            Self::UnknownKind(_) => "unknown_kind",
        }
    }
}

/// Decodes `bytes` as `schema` into a JSON object.
pub(crate) fn message(schema: &'static Message, bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut out = Map::new();
    decode_into(schema, bytes, &mut out)?;
    Ok(Value::Object(out))
}

fn decode_into(
    schema: &'static Message,
    bytes: &[u8],
    out: &mut Map<String, Value>,
) -> Result<(), DecodeError> {
    for (number, payload) in fields(bytes).ok_or(DecodeError::Malformed(schema.name))? {
        let field =
            schema
                .fields
                .iter()
                .find(|f| f.number == number)
                .ok_or(DecodeError::UnknownField {
                    message: schema.name,
                    number,
                })?;
        let wire_type = || DecodeError::WireType {
            message: schema.name,
            field: field.name,
        };
        match (field.kind, payload) {
            (Kind::Skip, _) => {}
            (Kind::Inline(inner), Payload::Bytes(b)) => decode_into(inner, b, out)?,
            (Kind::Map(value_kind), Payload::Bytes(b)) => {
                let (key, value) = map_entry(schema, value_kind, b)?;
                let map = out.entry(field.name).or_insert_with(|| json!({}));
                if let Some(map) = map.as_object_mut() {
                    map.insert(key, value);
                }
            }
            (Kind::Int, Payload::Bytes(b)) if field.list => {
                let values = packed_varints(b).ok_or(DecodeError::Malformed(schema.name))?;
                for v in values {
                    push(out, field.name, integer(v));
                }
            }
            (kind, payload) => {
                let value = single(kind, payload).ok_or_else(wire_type)??;
                if field.list {
                    push(out, field.name, value);
                } else if field.keep || !is_zero(&value) {
                    out.insert(field.name.to_owned(), value);
                }
            }
        }
    }
    Ok(())
}

fn push(out: &mut Map<String, Value>, name: &str, value: Value) {
    let list = out.entry(name).or_insert_with(|| json!([]));
    if let Some(items) = list.as_array_mut() {
        items.push(value);
    }
}

/// Go writes int32 and int64 as two's-complement varints.
fn integer(raw: u64) -> Value {
    json!(raw.cast_signed())
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
        _ => false,
    }
}

fn text(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

/// One value; `None` for a wire type that does not fit the kind.
fn single(kind: Kind, payload: Payload<'_>) -> Option<Result<Value, DecodeError>> {
    Some(Ok(match (kind, payload) {
        (Kind::Str, Payload::Bytes(b)) => text(b),
        (Kind::Int, Payload::Varint(v)) => integer(v),
        (Kind::Bool, Payload::Varint(v)) => Value::Bool(v != 0),
        (Kind::Msg(inner), Payload::Bytes(b)) => return Some(message(inner, b)),
        (Kind::IntOrString, Payload::Bytes(b)) => return Some(int_or_string(b)),
        (Kind::Quantity, Payload::Bytes(b)) => return Some(quantity(b)),
        (Kind::Time, Payload::Bytes(b)) => return Some(time(b)),
        _ => return None,
    }))
}

static INT_OR_STRING: Message = Message {
    name: "intstr.IntOrString",
    fields: &[],
};

fn int_or_string(bytes: &[u8]) -> Result<Value, DecodeError> {
    let malformed = || DecodeError::Malformed(INT_OR_STRING.name);
    let (mut is_string, mut int, mut string) = (false, 0_u64, String::new());
    for (number, payload) in fields(bytes).ok_or_else(malformed)? {
        match (number, payload) {
            (1, Payload::Varint(t)) => is_string = t == 1,
            (2, Payload::Varint(v)) => int = v,
            (3, Payload::Bytes(b)) => string = String::from_utf8_lossy(b).into_owned(),
            _ => return Err(malformed()),
        }
    }
    Ok(if is_string {
        Value::String(string)
    } else {
        json!((int.cast_signed()))
    })
}

fn quantity(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut value = Value::String(String::new());
    for (number, payload) in fields(bytes).ok_or(DecodeError::Malformed("resource.Quantity"))? {
        if let (1, Payload::Bytes(b)) = (number, payload) {
            value = text(b);
        }
    }
    Ok(value)
}

fn time(bytes: &[u8]) -> Result<Value, DecodeError> {
    let (mut seconds, mut nanos) = (0_i64, 0_u32);
    for (number, payload) in fields(bytes).ok_or(DecodeError::Malformed("metav1.Time"))? {
        match (number, payload) {
            (1, Payload::Varint(v)) => seconds = v.cast_signed(),
            (2, Payload::Varint(v)) => nanos = u32::try_from(v).unwrap_or(0),
            _ => {}
        }
    }
    if seconds == 0 && nanos == 0 {
        return Ok(Value::Null);
    }
    let at = chrono::DateTime::from_timestamp(seconds, 0)
        .ok_or(DecodeError::Malformed("metav1.Time"))?;
    Ok(json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
}

/// A map entry: key (field 1) and value (field 2).
fn map_entry(
    schema: &'static Message,
    value_kind: MapValue,
    bytes: &[u8],
) -> Result<(String, Value), DecodeError> {
    let mut key = String::new();
    let mut value = match value_kind {
        MapValue::Str | MapValue::Bytes | MapValue::Quantity => Value::String(String::new()),
    };
    for (number, payload) in fields(bytes).ok_or(DecodeError::Malformed(schema.name))? {
        match (number, payload) {
            (1, Payload::Bytes(b)) => key = String::from_utf8_lossy(b).into_owned(),
            (2, Payload::Bytes(b)) => {
                value = match value_kind {
                    MapValue::Str => text(b),
                    MapValue::Bytes => json!(base64(b)),
                    MapValue::Quantity => quantity(b)?,
                };
            }
            _ => return Err(DecodeError::Malformed(schema.name)),
        }
    }
    Ok((key, value))
}
