//! Delete and deletecollection, honouring finalizers and preconditions.

use std::sync::Arc;

use serde_json::{Value, json};

use super::prepare::now;
use super::{Emulator, ListOptions, Target};
use crate::error::{ApiError, ApiResult};
use crate::store::Write;

/// Options of a DELETE request (query or `DeleteOptions` body).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `propagationPolicy`: `Orphan` keeps dependents.
    pub propagation: Option<String>,
}

impl DeleteOptions {
    /// Reads a `DeleteOptions` body (may be empty).
    pub fn from_body(body: &[u8]) -> ApiResult<Self> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
        let text = |v: &Value| v.as_str().map(str::to_owned);
        Ok(Self {
            uid: text(&value["preconditions"]["uid"]),
            resource_version: text(&value["preconditions"]["resourceVersion"]),
            propagation: text(&value["propagationPolicy"]),
        })
    }
}

impl Emulator {
    /// Deletes an object, or marks it for deletion while finalizers remain. Returns its last state.
    pub fn delete(&self, target: &Target, options: &DeleteOptions) -> ApiResult<Arc<Value>> {
        let describe = target.describe();
        let name = target.name.clone().unwrap_or_default();
        let namespace_kind = target.info.group.is_empty() && target.info.plural == "namespaces";
        if !target.dry_run
            && options.propagation.as_deref() == Some("Orphan")
            && let Some(uid) = self.get(target)?["metadata"]["uid"].as_str()
        {
            self.orphan_dependents(uid);
        }
        let mut deleted = false;
        let stored = self.commit(target, &target.key(), |current, _| {
            let current = current.ok_or_else(|| ApiError::not_found(&describe, &name))?;
            let meta = &current["metadata"];
            let uid_differs = options.uid.as_deref().is_some_and(|uid| meta["uid"] != uid);
            let rv_differs = options
                .resource_version
                .as_deref()
                .is_some_and(|rv| meta["resourceVersion"] != rv);
            if uid_differs || rv_differs {
                return Err(ApiError::conflict(
                    &describe,
                    &name,
                    "the precondition of the delete was not met",
                ));
            }
            let finalizers = meta["finalizers"].as_array().is_some_and(|f| !f.is_empty());
            if finalizers || namespace_kind {
                if meta["deletionTimestamp"].is_string() {
                    return Ok(Write::Keep);
                }
                let mut next = (**current).clone();
                next["metadata"]["deletionTimestamp"] = json!(now());
                next["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                if namespace_kind {
                    next["status"]["phase"] = json!("Terminating");
                }
                return Ok(Write::Put(next));
            }
            deleted = true;
            Ok(Write::Delete)
        })?;
        let stored = stored.ok_or_else(|| ApiError::not_found(&describe, &name))?;
        self.after_write(target, &stored, deleted);
        if namespace_kind {
            self.gc_wakeup.notify_one();
        }
        Ok(stored)
    }

    /// Removes owner references to `uid`, so the garbage collector keeps the dependents.
    fn orphan_dependents(&self, uid: &str) {
        let owned_by = |object: &Value| {
            let refs = object["metadata"]["ownerReferences"].as_array();
            refs.is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
        };
        for (gr, key) in self.store.find(|_, object, _| owned_by(object)) {
            let _ = self.store.mutate(&gr, &key, |current, _| {
                let Some(current) = current else {
                    return Ok(Write::Keep);
                };
                let mut next = (**current).clone();
                if let Some(refs) = next["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"] != uid);
                }
                Ok(Write::Put(next))
            });
        }
    }

    /// Deletes every object matching the list options; returns them as a list.
    pub fn delete_collection(
        &self,
        target: &Target,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> ApiResult<Value> {
        let matching = self.list_objects(target, list)?;
        let mut items = Vec::new();
        for object in matching {
            let mut one = target.clone();
            one.namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
            one.name = object["metadata"]["name"].as_str().map(str::to_owned);
            match self.delete(&one, options) {
                Ok(removed) => items.push((*removed).clone()),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(json!({
            "apiVersion": target.info.api_version(&target.version),
            "kind": format!("{}List", target.info.kind),
            "metadata": {"resourceVersion": self.store.current_rv().to_string()},
            "items": items,
        }))
    }
}
