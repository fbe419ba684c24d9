//! What the routers that write a canary copy of the user's Ingress (`nginx`, `skipper`) share:
//! the reference they need, the key of an Ingress, and the copy's object.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_crds::validation::RoutingSpec;

use super::{DesiredObject, INGRESS, ObjectKey, RouteInput, RouterError};

/// The Ingress `name` in `namespace`.
pub(super) fn ingress_key(namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind: INGRESS,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

/// `spec.ingressRef.name`, required by validation for `provider`.
pub(super) fn ingress_ref<'a>(
    routing: &'a RoutingSpec,
    provider: &str,
) -> Result<&'a str, RouterError> {
    routing
        .ingress_ref
        .as_deref()
        .ok_or_else(|| RouterError::Inexpressible {
            field: "spec.ingressRef".into(),
            message: format!(
                "is required by provider {provider}: the Ingress that routes to the target"
            ),
        })
}

/// The copy `name` of the user's `ingress`, owned by the Canary, with `annotations`, the user's
/// labels and `spec`.
pub(super) fn canary_copy(
    input: &RouteInput<'_>,
    name: String,
    annotations: &BTreeMap<String, String>,
    ingress: &Value,
    spec: &Value,
) -> DesiredObject {
    let mut metadata = json!({
        "name": name,
        "namespace": input.namespace,
        "annotations": annotations,
        "ownerReferences": [input.owner()],
    });
    if let Some(labels) = ingress["metadata"]["labels"]
        .as_object()
        .filter(|l| !l.is_empty())
    {
        metadata["labels"] = Value::Object(labels.clone());
    }
    DesiredObject {
        kind: INGRESS,
        name,
        object: json!({
            "apiVersion": INGRESS.api_version(),
            "kind": INGRESS.kind,
            "metadata": metadata,
            "spec": spec,
        }),
    }
}
