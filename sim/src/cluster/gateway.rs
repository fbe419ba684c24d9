//! Gateway API route status: each parent reports `Accepted` and `ResolvedRefs`, as a gateway implementation would.

use std::collections::{HashMap, HashSet};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::snapshot::{Kind, Snapshot, key_of};

/// The controller name reported in route status.
pub const CONTROLLER_NAME: &str = "serin.dev/sim-gateway";

/// Writes HTTPRoute and GRPCRoute parent status when it differs from what the routes say.
#[derive(Debug, Default)]
pub(crate) struct Gateway {
    /// The status last written, by kind and `(namespace, name)`.
    written: HashMap<(Kind, (String, String)), Value>,
}

fn condition(kind: &str, ok: bool, reason: &str, generation: &Value, now: &str) -> Value {
    json!({"type": kind, "status": if ok { "True" } else { "False" }, "reason": reason, "message": "",
           "observedGeneration": generation, "lastTransitionTime": now})
}

fn route_status(route: &Value, services: &HashSet<(String, String)>, now: &str) -> Value {
    let (namespace, _) = key_of(route);
    let generation = &route["metadata"]["generation"];
    let resolved = route["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["backendRefs"].as_array().into_iter().flatten())
        .all(|b| {
            services.contains(&(
                b["namespace"].as_str().unwrap_or(&namespace).to_owned(),
                b["name"].as_str().unwrap_or_default().to_owned(),
            ))
        });
    let parents: Vec<Value> = route["spec"]["parentRefs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|parent| {
            let mut parent_ref = parent.clone();
            if parent_ref.get("group").is_none() {
                parent_ref["group"] = json!("gateway.networking.k8s.io");
            }
            if parent_ref.get("kind").is_none() {
                parent_ref["kind"] = json!("Gateway");
            }
            json!({
                "parentRef": parent_ref,
                "controllerName": CONTROLLER_NAME,
                "conditions": [
                    condition("Accepted", true, "Accepted", generation, now),
                    condition("ResolvedRefs", resolved, if resolved { "ResolvedRefs" } else { "BackendNotFound" }, generation, now),
                ],
            })
        })
        .collect();
    json!({ "parents": parents })
}

fn without_times(status: &Value) -> Value {
    let mut copy = status.clone();
    for parent in copy["parents"].as_array_mut().into_iter().flatten() {
        for c in parent["conditions"].as_array_mut().into_iter().flatten() {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastTransitionTime");
            }
        }
    }
    copy
}

impl Gateway {
    /// Updates the status of every HTTPRoute and GRPCRoute whose parents' status is missing or
    /// stale.
    pub(crate) async fn step(
        &mut self,
        client: &kube::Client,
        snapshot: &Snapshot,
    ) -> Result<(), kube::Error> {
        let services: HashSet<(String, String)> =
            snapshot.services.iter().map(|s| key_of(s)).collect();
        let now = crate::ops::now();
        for kind in [Kind::HttpRoute, Kind::GrpcRoute] {
            let resource = kind.resource();
            for route in snapshot.objects(kind) {
                let key = (kind, key_of(route));
                let desired = route_status(route, &services, &now);
                if without_times(&route["status"]) == without_times(&desired) {
                    continue;
                }
                if self.written.get(&key).map(without_times) == Some(without_times(&desired))
                    && route["status"].is_object()
                {
                    continue;
                }
                let (namespace, name) = &key.1;
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), namespace, &resource);
                match api
                    .patch_status(
                        name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": desired})),
                    )
                    .await
                {
                    Ok(_) => {
                        self.written.insert(key, desired);
                    }
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_report_accepted_and_unresolved_backends() {
        let route = json!({"metadata": {"namespace": "t", "name": "r", "generation": 3},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "a"}, {"name": "missing"}]}]}});
        let services = HashSet::from([("t".to_owned(), "a".to_owned())]);
        let status = route_status(&route, &services, "now");
        let parent = &status["parents"][0];
        assert_eq!(parent["parentRef"]["kind"], "Gateway");
        assert_eq!(parent["conditions"][0]["observedGeneration"], 3);
        assert_eq!(parent["conditions"][1]["reason"], "BackendNotFound");
    }
}
