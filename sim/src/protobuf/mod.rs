//! Decodes the Kubernetes protobuf bodies that kubectl's generators and client-go programs send
//! (`kubectl create deployment|service|job|configmap|secret|namespace|serviceaccount`,
//! `kubectl run`, `kubectl expose`) into the JSON the API server stores.
//!
//! The envelope is the `k8s\0` magic then a `runtime.Unknown` message: field 1 the type
//! (`apiVersion`, `kind`), field 2 the object's bytes. The object is decoded by the tables of
//! [`meta`], [`pod`] and [`workloads`] (field numbers from Kubernetes' `generated.proto`); a
//! kind or field they do not describe is answered 415, never dropped.

mod decode;
mod meta;
mod pod;
mod wire;
mod workloads;

pub use decode::DecodeError;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use decode::Message;
use wire::{Payload, fields};

const MAGIC: &[u8] = b"k8s\0";

/// The table of each kind decoded, by `apiVersion` and `kind`.
fn table(api_version: &str, kind: &str) -> Option<&'static Message> {
    Some(match (api_version, kind) {
        ("v1", "Namespace") => &meta::NAMESPACE,
        ("v1", "ConfigMap") => &meta::CONFIG_MAP,
        ("v1", "Secret") => &meta::SECRET,
        ("v1", "ServiceAccount") => &meta::SERVICE_ACCOUNT,
        ("v1", "Pod") => &pod::POD,
        ("v1", "Service") => &workloads::SERVICE,
        ("apps/v1", "Deployment") => &workloads::DEPLOYMENT,
        ("batch/v1", "Job") => &workloads::JOB,
        _ => return None,
    })
}

/// Decodes an enveloped protobuf object into its JSON form, with `apiVersion` and `kind`.
pub fn decode_object(body: &[u8]) -> Result<Value, DecodeError> {
    let malformed = || DecodeError::Malformed("runtime.Unknown");
    let envelope = body
        .strip_prefix(MAGIC)
        .and_then(fields)
        .ok_or_else(malformed)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for (number, payload) in envelope {
        match (number, payload) {
            (1, Payload::Bytes(type_meta)) => {
                for (n, p) in fields(type_meta).ok_or_else(malformed)? {
                    match (n, p) {
                        (1, Payload::Bytes(v)) => api_version = String::from_utf8_lossy(v).into(),
                        (2, Payload::Bytes(k)) => kind = String::from_utf8_lossy(k).into(),
                        _ => {}
                    }
                }
            }
            (2, Payload::Bytes(bytes)) => raw = Some(bytes),
            _ => {}
        }
    }
    let schema = table(&api_version, &kind)
        .ok_or_else(|| DecodeError::UnknownKind(format!("{api_version} {kind}")))?;
    let mut object = decode::message(schema, raw.unwrap_or_default())?;
    object["apiVersion"] = Value::String(api_version);
    object["kind"] = Value::String(kind);
    Ok(object)
}

/// [`decode_object`] as an API answer: 415 when the body cannot be decoded.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    decode_object(body).map_err(|e| ApiError::unsupported_protobuf(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    }

    fn varint(number: u8, value: u8) -> Vec<u8> {
        vec![number << 3, value]
    }

    fn envelope(api_version: &[u8], kind: &[u8], raw: &[u8]) -> Vec<u8> {
        let type_meta = [field(1, api_version), field(2, kind)].concat();
        [MAGIC.to_vec(), field(1, &type_meta), field(2, raw)].concat()
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
        let object = decode(&envelope(b"v1", b"ConfigMap", &raw)).unwrap();
        assert_eq!(
            object,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"app": "x"}}, "data": {"k": "v"}})
        );
        assert_eq!(decode(b"{}").unwrap_err().code, 415);
    }

    #[test]
    fn deployment_keeps_pointer_zeros_and_drops_omitempty_zeros() {
        // containerPort (no omitempty) and replicas (a pointer) keep 0; hostPort and an empty
        // image are dropped; resources, an always-written struct, stays as {}.
        let port = [varint(3, 0), varint(2, 0)].concat();
        let container = [
            field(1, b"web"),
            field(2, b""),
            field(6, &port),
            field(8, b""),
        ]
        .concat();
        let pod_spec = field(2, &container);
        let template = [field(1, b""), field(2, &pod_spec)].concat();
        let spec = [varint(1, 0), field(3, &template), field(4, b"")].concat();
        let raw = [field(1, &field(1, b"web")), field(2, &spec)].concat();
        let object = decode(&envelope(b"apps/v1", b"Deployment", &raw)).unwrap();
        assert_eq!(
            object["spec"],
            json!({"replicas": 0, "strategy": {}, "template": {"metadata": {}, "spec": {
                "containers": [{"name": "web", "ports": [{"containerPort": 0}], "resources": {}}]}}})
        );
    }

    #[test]
    fn int_or_string_and_unknown_fields() {
        let target_port = [varint(1, 1), field(3, b"http")].concat();
        let port = [varint(3, 80), field(4, &target_port)].concat();
        let raw = [field(1, &field(1, b"svc")), field(2, &field(1, &port))].concat();
        let object = decode(&envelope(b"v1", b"Service", &raw)).unwrap();
        assert_eq!(
            object["spec"]["ports"],
            json!([{"port": 80, "targetPort": "http"}])
        );

        let unknown = [field(1, &field(1, b"svc")), field(2, &field(6, b"x"))].concat();
        let err = decode(&envelope(b"v1", b"Service", &unknown)).unwrap_err();
        assert_eq!(err.code, 415);
        assert!(
            err.message.contains("field 6 of core.v1.ServiceSpec"),
            "{}",
            err.message
        );
        let err = decode(&envelope(b"v1", b"Endpoints", &raw)).unwrap_err();
        assert!(err.message.contains("v1 Endpoints"), "{}", err.message);
    }
}
