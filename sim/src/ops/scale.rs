//! The `/scale` subresource of `Deployments`, `ReplicaSets` and `StatefulSets` (`autoscaling/v1` `Scale`).

use std::sync::Arc;

use serde_json::{Value, json};

use super::prepare::finish_update;
use super::{Emulator, Target};
use crate::error::{ApiError, ApiResult};
use crate::patch::{PatchType, patch_object};

/// Whether the kind has a `/scale` subresource.
pub(crate) fn has_scale(target: &Target) -> bool {
    target.info.group == "apps"
        && matches!(
            target.info.plural.as_str(),
            "deployments" | "replicasets" | "statefulsets"
        )
}

fn selector_text(object: &Value) -> String {
    let labels = object["spec"]["selector"]["matchLabels"].as_object();
    labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The `Scale` view of an object.
fn scale_of(object: &Value) -> Value {
    let meta = &object["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                     "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": object["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector_text(object)},
    })
}

impl Emulator {
    /// GET `/scale`.
    pub fn get_scale(&self, target: &Target) -> ApiResult<Value> {
        if !has_scale(target) {
            return Err(ApiError::no_route());
        }
        let object = self.get(target)?;
        Ok(scale_of(&object))
    }

    /// PUT (`patch_type` `None`) or PATCH `/scale`: sets `spec.replicas`.
    pub fn write_scale(
        &self,
        target: &Target,
        patch_type: Option<PatchType>,
        body: &[u8],
    ) -> ApiResult<Value> {
        if !has_scale(target) {
            return Err(ApiError::no_route());
        }
        let mut main = target.clone();
        main.subresource = None;
        let describe = target.describe();
        let name = target.name.clone().unwrap_or_default();
        let stored: Arc<Value> = self.store_write(&main, |old| {
            let current = scale_of(old);
            let scale: Value = match patch_type {
                None => serde_json::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("invalid Scale: {e}")))?,
                Some(PatchType::Apply) => {
                    return Err(ApiError::unsupported_media_type(
                        "application/apply-patch+yaml",
                    ));
                }
                Some(kind) => patch_object(kind, &current, body)?,
            };
            if let Some(rv) = scale["metadata"]["resourceVersion"]
                .as_str()
                .filter(|rv| !rv.is_empty())
                && Some(rv) != old["metadata"]["resourceVersion"].as_str()
            {
                return Err(ApiError::stale(&describe, &name));
            }
            let replicas = scale["spec"]["replicas"]
                .as_i64()
                .filter(|r| *r >= 0)
                .ok_or_else(|| {
                    ApiError::invalid("spec.replicas: must be a non-negative integer")
                })?;
            let mut next = old.clone();
            next["spec"]["replicas"] = json!(replicas);
            finish_update(&main, old, next)
        })?;
        Ok(scale_of(&stored))
    }
}
