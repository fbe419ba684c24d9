//! Decodes the few Kubernetes protobuf bodies kubectl's generators send (`kubectl create namespace`,
//! `create configmap`, `create secret generic`), so those commands work without a schema.
//!
//! The envelope is the `k8s\0` magic then a `runtime.Unknown` message whose `raw` field holds the
//! object. Only `ObjectMeta` basics and the bodies of Namespace, ConfigMap and Secret are read.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};

const MAGIC: &[u8] = b"k8s\0";

/// One protobuf field: its number and its payload.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of a message, in order; unknown wire types end the parse.
fn fields(data: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < data.len() {
        let key = varint(data, &mut at)?;
        let field = match key & 7 {
            0 => Field::Varint(varint(data, &mut at)?),
            2 => {
                let len = usize::try_from(varint(data, &mut at)?).ok()?;
                let bytes = data.get(at..at.checked_add(len)?)?;
                at += len;
                Field::Bytes(bytes)
            }
            _ => return None,
        };
        out.push((key >> 3, field));
    }
    Some(out)
}

fn text(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

/// A `map<string, string|bytes>` entry: (key, value).
fn map_entry(bytes: &[u8]) -> Option<(String, &[u8])> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for (number, field) in fields(bytes)? {
        match (number, field) {
            (1, Field::Bytes(b)) => key = String::from_utf8_lossy(b).into_owned(),
            (2, Field::Bytes(b)) => value = b,
            _ => {}
        }
    }
    Some((key, value))
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn object_meta(bytes: &[u8]) -> Option<Value> {
    let mut meta = Map::new();
    for (number, field) in fields(bytes)? {
        let Field::Bytes(b) = field else { continue };
        let (name, value) = match number {
            1 => ("name", text(b)),
            2 => ("generateName", text(b)),
            3 => ("namespace", text(b)),
            11 | 12 => {
                let key = if number == 11 {
                    "labels"
                } else {
                    "annotations"
                };
                let (k, v) = map_entry(b)?;
                let entry = meta.entry(key).or_insert_with(|| json!({}));
                entry[k] = text(v);
                continue;
            }
            14 => {
                let list = meta.entry("finalizers").or_insert_with(|| json!([]));
                if let Some(items) = list.as_array_mut() {
                    items.push(text(b));
                }
                continue;
            }
            _ => continue,
        };
        meta.insert(name.to_owned(), value);
    }
    Some(Value::Object(meta))
}

/// The JSON form of `kind`'s protobuf body, for the kinds kubectl's generators create.
fn object(kind: &str, raw: &[u8]) -> Option<Value> {
    let mut object = json!({ "kind": kind });
    for (number, field) in fields(raw)? {
        match (kind, number, field) {
            (_, 1, Field::Bytes(b)) => object["metadata"] = object_meta(b)?,
            ("ConfigMap", 2 | 3, Field::Bytes(b)) | ("Secret", 2 | 4, Field::Bytes(b)) => {
                let (key, value) = map_entry(b)?;
                let (section, encoded) = match (kind, number) {
                    ("ConfigMap", 2) => ("data", text(value)),
                    ("ConfigMap", _) => ("binaryData", json!(base64(value))),
                    (_, 2) => ("data", json!(base64(value))),
                    _ => ("stringData", text(value)),
                };
                if !object[section].is_object() {
                    object[section] = json!({});
                }
                object[section][key] = encoded;
            }
            ("Secret", 3, Field::Bytes(b)) => object["type"] = text(b),
            ("ConfigMap", 4, Field::Varint(v)) | ("Secret", 5, Field::Varint(v)) => {
                object["immutable"] = json!(v != 0);
            }
            _ => {}
        }
    }
    Some(object)
}

/// Decodes a protobuf request body into JSON, for Namespace, ConfigMap and Secret.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let unsupported = || ApiError::unsupported_media_type("application/vnd.kubernetes.protobuf");
    let envelope = body
        .strip_prefix(MAGIC)
        .and_then(fields)
        .ok_or_else(unsupported)?;
    let (mut kind, mut raw) = (String::new(), None);
    for (number, field) in envelope {
        match (number, field) {
            (1, Field::Bytes(type_meta)) => {
                for (n, f) in fields(type_meta).ok_or_else(unsupported)? {
                    if let (2, Field::Bytes(k)) = (n, f) {
                        kind = String::from_utf8_lossy(k).into_owned();
                    }
                }
            }
            (2, Field::Bytes(bytes)) => raw = Some(bytes),
            _ => {}
        }
    }
    match (kind.as_str(), raw) {
        ("Namespace" | "ConfigMap" | "Secret", Some(raw)) => {
            object(&kind, raw).ok_or_else(unsupported)
        }
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn configmap_envelope_decodes() {
        let meta = [
            field(1, b"cfg"),
            field(11, &[field(1, b"app"), field(2, b"x")].concat()),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let object = decode(&body).unwrap();
        assert_eq!(
            object,
            json!({"kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"app": "x"}}, "data": {"k": "v"}})
        );
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(decode(b"{}").unwrap_err().code, 415);
    }
}
