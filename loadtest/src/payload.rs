//! The JSON body Flagger posts to webhooks, and the gate keys derived from it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a webhook body was rejected; every variant maps to HTTP 400.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The body is not the JSON object Flagger sends.
    #[error("decoding the request body failed: {0}")]
    Json(#[from] serde_json::Error),
    /// The canary name or namespace is missing or has characters a gate key cannot hold.
    #[error(
        "invalid canary {field} {value:?}: expected a non-empty Kubernetes name (letters, digits, '-', '.', '_')"
    )]
    InvalidCanary {
        /// `name` or `namespace`.
        field: &'static str,
        /// The rejected value.
        value: String,
    },
}

/// A webhook call from Flagger (`CanaryWebhookPayload`): which canary, in which phase, with the
/// webhook's `metadata` map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// The canary name.
    #[serde(default)]
    pub name: String,
    /// The canary namespace.
    #[serde(default)]
    pub namespace: String,
    /// The canary phase, e.g. `Progressing`.
    #[serde(default)]
    pub phase: String,
    /// The canary's last applied spec checksum.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub checksum: String,
    /// The webhook's `metadata`; Go sends `null` for an empty map.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl WebhookPayload {
    /// Decodes a request body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        Ok(serde_json::from_slice(body)?)
    }

    /// The metadata map, empty when Flagger sent none.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.metadata.as_ref().unwrap_or(&EMPTY)
    }

    /// The canary this call is about, validated so that it can name a gate.
    pub fn canary(&self) -> Result<CanaryRef, PayloadError> {
        Ok(CanaryRef {
            name: checked("name", &self.name)?,
            namespace: checked("namespace", &self.namespace)?,
        })
    }
}

fn checked(field: &'static str, value: &str) -> Result<String, PayloadError> {
    let valid = !value.is_empty()
        && value.len() <= 253
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(PayloadError::InvalidCanary {
            field,
            value: value.to_owned(),
        })
    }
}

/// A canary identified by name and namespace; displays as `name.namespace`, Flagger's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanaryRef {
    /// The canary name.
    pub name: String,
    /// The canary namespace.
    pub namespace: String,
}

impl fmt::Display for CanaryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.name, self.namespace)
    }
}

/// The key of one gate: `name.namespace` for the promotion gate, `rollback.name.namespace` for
/// the rollback gate (the keys Flagger uses, and legal ConfigMap data keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GateKey(String);

impl GateKey {
    /// The gate `/gate/check` reads.
    pub fn promotion(canary: &CanaryRef) -> Self {
        Self(canary.to_string())
    }

    /// The gate `/rollback/check` reads.
    pub fn rollback(canary: &CanaryRef) -> Self {
        Self(format!("rollback.{canary}"))
    }

    /// Wraps a key read back from storage.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_flaggers_payload_including_null_metadata() {
        let payload = WebhookPayload::from_json(
            br#"{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"abc","metadata":null}"#,
        )
        .unwrap();
        assert_eq!(payload.name, "podinfo");
        assert!(payload.metadata().is_empty());
        let canary = payload.canary().unwrap();
        assert_eq!(GateKey::promotion(&canary).as_str(), "podinfo.test");
        assert_eq!(GateKey::rollback(&canary).as_str(), "rollback.podinfo.test");
    }

    #[test]
    fn rejects_names_that_cannot_form_a_gate_key() {
        let payload = WebhookPayload {
            name: "a/b".into(),
            namespace: "test".into(),
            ..WebhookPayload::default()
        };
        assert!(matches!(
            payload.canary(),
            Err(PayloadError::InvalidCanary { field: "name", .. })
        ));
        let no_namespace = WebhookPayload {
            name: "podinfo".into(),
            ..WebhookPayload::default()
        };
        assert!(no_namespace.canary().is_err());
        assert!(WebhookPayload::from_json(b"not json").is_err());
    }
}
