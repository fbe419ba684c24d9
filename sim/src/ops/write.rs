//! Create, update (PUT), patch and server-side apply.

use std::sync::Arc;

use serde_json::Value;

use super::prepare::{finish_update, now, prepare_create};
use super::{Emulator, Target, crds_gr};
use crate::apply::{ApplyRequest, server_side_apply};
use crate::error::{ApiError, ApiResult};
use crate::patch::{PatchType, patch_object};
use crate::store::Write;

/// Query options of a PATCH request.
#[derive(Debug, Clone, Default)]
pub struct PatchOptions {
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// `force` (apply only).
    pub force: bool,
}

impl Emulator {
    /// Creates an object (POST).
    pub fn create(&self, target: &Target, body: Value) -> ApiResult<Arc<Value>> {
        if target.subresource.is_some() {
            return Err(ApiError::method_not_allowed());
        }
        self.check_namespace(target)?;
        let object = prepare_create(target, body)?;
        let key = (
            object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        let describe = target.describe();
        let stored = self.commit(target, &key, |current, _| {
            if current.is_some() {
                return Err(ApiError::already_exists(&describe, &key.1));
            }
            Ok(Write::Put(object))
        })?;
        let stored = stored.ok_or_else(|| ApiError::bad_request("create stored nothing"))?;
        self.after_write(target, &stored, false);
        Ok(stored)
    }

    /// Replaces an object or its status (PUT).
    pub fn update(&self, target: &Target, body: Value) -> ApiResult<Arc<Value>> {
        self.write_existing(target, |old| finish_update(target, old, body))
    }

    /// Patches an object or its status (PATCH); apply patches create missing objects.
    pub fn patch(
        &self,
        target: &Target,
        patch_type: PatchType,
        body: &[u8],
        options: &PatchOptions,
    ) -> ApiResult<Arc<Value>> {
        if patch_type == PatchType::Apply {
            return self.apply(target, body, options);
        }
        self.write_existing(target, |old| {
            let patched = patch_object(patch_type, old, body)?;
            finish_update(target, old, patched)
        })
    }

    fn write_existing(
        &self,
        target: &Target,
        decide: impl FnOnce(&Value) -> ApiResult<Write>,
    ) -> ApiResult<Arc<Value>> {
        if target.subresource.as_deref().is_some_and(|s| s != "status") {
            return Err(ApiError::no_route());
        }
        self.store_write(target, decide)
    }

    /// Read-modify-write of an existing object, then derived-state upkeep.
    pub(super) fn store_write(
        &self,
        target: &Target,
        decide: impl FnOnce(&Value) -> ApiResult<Write>,
    ) -> ApiResult<Arc<Value>> {
        let describe = target.describe();
        let name = target.name.clone().unwrap_or_default();
        let mut deleted = false;
        let stored = self.commit(target, &target.key(), |current, _| {
            let current = current.ok_or_else(|| ApiError::not_found(&describe, &name))?;
            let write = decide(current)?;
            deleted = matches!(write, Write::Delete);
            Ok(write)
        })?;
        let stored = stored.ok_or_else(|| ApiError::not_found(&describe, &name))?;
        self.after_write(target, &stored, deleted);
        Ok(stored)
    }

    fn apply(&self, target: &Target, body: &[u8], options: &PatchOptions) -> ApiResult<Arc<Value>> {
        let manager = options
            .field_manager
            .as_deref()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| ApiError::bad_request("PATCH /apply requires fieldManager to be set"))?;
        let mut config: Value = serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        let Some(fields) = config.as_object_mut() else {
            return Err(ApiError::bad_request(
                "the applied configuration must be an object",
            ));
        };
        if target.info.status_subresource {
            if target.is_status() {
                fields.retain(|k, _| {
                    matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status")
                });
                if let Some(meta) = fields.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.retain(|k, _| k == "name" || k == "namespace");
                }
            } else {
                fields.remove("status");
            }
        }
        let timestamp = now();
        let describe = target.describe();
        let request = ApplyRequest {
            config: &config,
            manager,
            force: options.force,
            subresource: target.subresource.as_deref().unwrap_or_default(),
            now: &timestamp,
            resource: &describe,
        };
        if self.get(target).is_err() && !target.is_status() {
            let merged = server_side_apply(&Value::Object(serde_json::Map::new()), &request)?;
            match self.create(target, merged) {
                Err(e) if e.reason == "AlreadyExists" => {}
                other => return other,
            }
        }
        self.write_existing(target, |old| {
            let merged = server_side_apply(old, &request)?;
            finish_update(target, old, merged)
        })
    }

    /// Keeps derived state in sync after a write: CRD registry, garbage collector.
    pub(super) fn after_write(&self, target: &Target, stored: &Value, deleted: bool) {
        if target.dry_run {
            return;
        }
        if target.info.group_resource() == crds_gr() {
            self.crd_changed(stored, deleted);
        }
        if deleted {
            self.gc_wakeup.notify_one();
        }
    }
}
