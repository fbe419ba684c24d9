//! The Istio router (`istio`): a VirtualService named after the apex Service, with weighted HTTP
//! (or TCP) routes to `<apex>-primary` and `<apex>-canary`, and the DestinationRules of both.
//! A/B matches, mirroring with a percentage, session affinity (the canary's cookie, and the
//! primary's when `primaryCookieName` is set), delegation, gateways, retries, timeouts, header
//! operations, CORS and rewrites are those of Flagger's Istio router.
//!
//! A VirtualService the user already has under the apex name is taken over: its spec is kept
//! in Flagger's `flagger.kubernetes.io/original-configuration` annotation (unless kubectl's
//! last-applied copy already holds it), it gets no owner reference, and `revertOnDeletion`
//! gives it back. A split is live once istiod reports the current generation reconciled; when
//! istiod reports no status (its default), the spec is taken as live.

mod spec;
mod status;

use serde_json::{Value, json};
use serin_crds::validation::RoutingSpec;

use super::{
    DESTINATION_RULE, DesiredObject, KindUse, ObjectKey, RouteInput, RouteObservation, Router,
    RouterError, TrafficSplit, VIRTUAL_SERVICE,
};

/// Flagger's annotation holding a taken-over VirtualService's own spec.
pub(super) const ORIGINAL_CONFIGURATION: &str = "flagger.kubernetes.io/original-configuration";
/// kubectl's copy of what was last applied with `kubectl apply`.
pub(super) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The Istio router.
#[derive(Clone, Copy, Debug, Default)]
pub struct Istio;

const KINDS: &[KindUse] = &[
    KindUse::write(VIRTUAL_SERVICE),
    KindUse::write(DESTINATION_RULE),
];

impl Router for Istio {
    fn name(&self) -> &'static str {
        "istio"
    }

    fn kinds(&self) -> &'static [KindUse] {
        KINDS
    }

    /// The VirtualService under the apex name, to tell one serin created from one it takes over.
    fn references(&self, namespace: &str, routing: &RoutingSpec) -> Vec<ObjectKey> {
        vec![apex_key(namespace, routing)]
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let names = &input.routing.names;
        let rules = [&names.canary, &names.primary].map(|host| {
            let mut spec = json!({ "host": host });
            if let Some(policy) = &input.routing.service.traffic_policy {
                spec["trafficPolicy"] = json!(policy);
            }
            DesiredObject {
                kind: DESTINATION_RULE,
                name: host.clone(),
                object: json!({
                    "apiVersion": DESTINATION_RULE.api_version(),
                    "kind": DESTINATION_RULE.kind,
                    "metadata": {
                        "name": host,
                        "namespace": input.namespace,
                        "ownerReferences": [input.owner()],
                    },
                    "spec": spec,
                }),
            }
        });
        let mut objects = Vec::from(rules);
        objects.push(DesiredObject {
            kind: VIRTUAL_SERVICE,
            name: names.apex.clone(),
            object: virtual_service(input, split)?,
        });
        Ok(objects)
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let names = &input.routing.names;
        let found = observed.iter().find(|o| {
            o["kind"] == VIRTUAL_SERVICE.kind
                && o["metadata"]["name"] == names.apex.as_str()
                && o["metadata"]["namespace"] == input.namespace
        });
        match found {
            None => RouteObservation::Missing,
            Some(vs) => status::observe(vs, input.routing),
        }
    }

    /// A VirtualService taken over gets its own spec back; one serin created goes with the
    /// Canary.
    fn finalize(&self, input: &RouteInput<'_>, observed: &[Value]) -> Vec<DesiredObject> {
        let names = &input.routing.names;
        let Some(vs) = observed.iter().find(|o| {
            o["kind"] == VIRTUAL_SERVICE.kind && o["metadata"]["name"] == names.apex.as_str()
        }) else {
            return Vec::new();
        };
        if owned_by(vs, input.canary_uid) {
            return Vec::new();
        }
        let Some(original) = original_spec(vs) else {
            return Vec::new();
        };
        vec![DesiredObject {
            kind: VIRTUAL_SERVICE,
            name: names.apex.clone(),
            object: json!({
                "apiVersion": VIRTUAL_SERVICE.api_version(),
                "kind": VIRTUAL_SERVICE.kind,
                "metadata": { "name": names.apex, "namespace": input.namespace },
                "spec": original,
            }),
        }]
    }
}

fn apex_key(namespace: &str, routing: &RoutingSpec) -> ObjectKey {
    ObjectKey {
        kind: VIRTUAL_SERVICE,
        namespace: namespace.to_owned(),
        name: routing.names.apex.clone(),
    }
}

/// Whether the Canary with `uid` owns `object`.
fn owned_by(object: &Value, uid: &str) -> bool {
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["uid"] == uid)
}

/// The spec a taken-over VirtualService had before serin: from kubectl's last-applied copy, or
/// from Flagger's (or serin's) original-configuration annotation.
fn original_spec(vs: &Value) -> Option<Value> {
    let annotations = &vs["metadata"]["annotations"];
    if let Some(applied) = annotations[LAST_APPLIED].as_str() {
        let applied: Value = serde_json::from_str(applied).ok()?;
        return Some(applied["spec"].clone());
    }
    annotations[ORIGINAL_CONFIGURATION]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
}

/// The whole VirtualService for `split`.
fn virtual_service(input: &RouteInput<'_>, split: &TrafficSplit) -> Result<Value, RouterError> {
    let routing = input.routing;
    let mut metadata = json!({ "name": routing.names.apex, "namespace": input.namespace });
    let apex = routing.service.apex.as_ref();
    if let Some(labels) = apex.and_then(|a| a.labels.as_ref()) {
        metadata["labels"] = json!(labels);
    }
    let mut annotations = apex.and_then(|a| a.annotations.clone()).unwrap_or_default();
    let existing = input.referenced(&apex_key(input.namespace, routing));
    match existing {
        // Taken over: no owner, and its own spec kept for revertOnDeletion.
        Some(vs) if !owned_by(vs, input.canary_uid) => {
            let kept = vs["metadata"]["annotations"][ORIGINAL_CONFIGURATION].as_str();
            let has_last_applied = vs["metadata"]["annotations"][LAST_APPLIED].is_string();
            match kept {
                Some(kept) => {
                    annotations.insert(ORIGINAL_CONFIGURATION.to_owned(), kept.to_owned());
                }
                None if !has_last_applied => {
                    annotations.insert(ORIGINAL_CONFIGURATION.to_owned(), vs["spec"].to_string());
                }
                None => {}
            }
        }
        _ => metadata["ownerReferences"] = json!([input.owner()]),
    }
    if !annotations.is_empty() {
        metadata["annotations"] = json!(annotations);
    }
    Ok(json!({
        "apiVersion": VIRTUAL_SERVICE.api_version(),
        "kind": VIRTUAL_SERVICE.kind,
        "metadata": metadata,
        "spec": spec::virtual_service_spec(input, split)?,
    }))
}

#[cfg(test)]
mod tests;
