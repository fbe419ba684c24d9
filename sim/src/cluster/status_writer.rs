//! Writing the status a simulated controller reports on a kind of object, only when it differs
//! from what the object carries and from what was last written.

use std::collections::HashMap;
use std::sync::Arc;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::snapshot::{Kind, key_of};

/// The statuses last written, by namespace and name.
#[derive(Debug, Default)]
pub(crate) struct StatusWriter {
    written: HashMap<(String, String), Value>,
}

impl StatusWriter {
    /// Patches `status(object)` onto every object of `kind` in `objects` whose status is
    /// missing or stale; objects gone or changed meanwhile are left for the next tick.
    pub(crate) async fn step(
        &mut self,
        client: &kube::Client,
        kind: Kind,
        objects: &[Arc<Value>],
        status: impl Fn(&Value) -> Value,
    ) -> Result<(), kube::Error> {
        // Kinds without a status subresource (Gloo's) take status in the object itself.
        let subresource = kind.has_status_subresource();
        let resource = kind.resource();
        for object in objects {
            let key = key_of(object);
            let desired = status(object);
            if object["status"] == desired
                || self.written.get(&key) == Some(&desired) && object["status"].is_object()
            {
                continue;
            }
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &key.0, &resource);
            let (params, patch) = (
                PatchParams::default(),
                Patch::Merge(json!({"status": desired})),
            );
            let written = if subresource {
                api.patch_status(&key.1, &params, &patch).await
            } else {
                api.patch(&key.1, &params, &patch).await
            };
            match written {
                Ok(_) => {
                    self.written.insert(key, desired);
                }
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
