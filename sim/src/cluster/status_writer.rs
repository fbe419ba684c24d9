//! The simulated controllers that report status on routing objects (istiod, Contour, the APISIX
//! ingress controller, Gloo), each a status function per kind, written only when it differs from
//! what the object carries and from what was last written.

use std::collections::HashMap;
use std::sync::Arc;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::snapshot::{Kind, Snapshot, key_of};

/// One simulated controller: the kind it reports on, what it reports, and what it last wrote,
/// by namespace and name.
#[derive(Debug)]
pub(crate) struct Reporter {
    pub(crate) kind: Kind,
    status: fn(&Value) -> Value,
    written: HashMap<(String, String), Value>,
}

/// The controllers of the simulated cluster; istiod only with `istio_status`.
pub(crate) fn reporters(istio_status: bool) -> Vec<Reporter> {
    let mut reporters = vec![
        (
            Kind::HttpProxy,
            super::contour::status as fn(&Value) -> Value,
        ),
        (Kind::ApisixRoute, super::apisix::status),
        (Kind::RouteTable, super::gloo::status),
    ];
    if istio_status {
        reporters.push((Kind::VirtualService, super::istiod::status));
    }
    reporters
        .into_iter()
        .map(|(kind, status)| Reporter {
            kind,
            status,
            written: HashMap::new(),
        })
        .collect()
}

impl Reporter {
    /// Patches the status onto every object of the kind whose status is missing or stale;
    /// objects gone or changed meanwhile are left for the next tick.
    pub(crate) async fn step(
        &mut self,
        client: &kube::Client,
        snapshot: &Snapshot,
    ) -> Result<(), kube::Error> {
        let (kind, status) = (self.kind, self.status);
        let objects: &[Arc<Value>] = snapshot.objects(kind);
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
