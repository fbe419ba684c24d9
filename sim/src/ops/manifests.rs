//! Applying manifests in-process (for tests and the demo): server-side apply by kind.

use serde_json::Value;

use super::{Emulator, PatchOptions, Target};
use crate::error::{ApiError, ApiResult};
use crate::patch::PatchType;

impl Emulator {
    /// Server-side applies one object (force, as `manager`), resolving its kind from `apiVersion`/`kind`.
    pub fn apply_object(&self, object: &Value, manager: &str) -> ApiResult<Value> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let info = self
            .registry()
            .resources(group, version)
            .into_iter()
            .find(|info| info.kind == kind)
            .ok_or_else(|| ApiError::not_found("kinds", &format!("{api_version}/{kind}")))?;
        let meta = &object["metadata"];
        let namespace = info
            .namespaced
            .then(|| meta["namespace"].as_str().unwrap_or("default").to_owned());
        let target = Target {
            info,
            version: version.to_owned(),
            namespace,
            name: meta["name"].as_str().map(str::to_owned),
            subresource: None,
            dry_run: false,
        };
        let body = serde_json::to_vec(object).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let options = PatchOptions {
            field_manager: Some(manager.to_owned()),
            force: true,
        };
        Ok((*self.patch(&target, PatchType::Apply, &body, &options)?).clone())
    }

    /// Applies every document of a multi-document YAML text; returns the stored objects.
    pub fn apply_yaml(&self, yaml: &str, manager: &str) -> ApiResult<Vec<Value>> {
        let mut applied = Vec::new();
        for document in serde_yaml::Deserializer::from_str(yaml) {
            let object: Value = serde::Deserialize::deserialize(document)
                .map_err(|e| ApiError::bad_request(format!("invalid YAML: {e}")))?;
            if object.is_null() {
                continue;
            }
            applied.push(self.apply_object(&object, manager)?);
        }
        Ok(applied)
    }
}
