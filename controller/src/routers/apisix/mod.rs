//! The Apache APISIX router (`apisix`): a copy of the ApisixRoute in `spec.routeRef`, named
//! `<route>-<apex>-canary`, reduced to the HTTP rule whose one backend is the apex Service. That
//! backend becomes `<apex>-primary`, a twin backend `<apex>-canary` is added, both carry the
//! split's weights, and the rule gets priority 10000 so that it outranks the user's route. This
//! is the object Flagger writes.
//!
//! The user's route is read, never changed; the copy belongs to the Canary and goes with it. A
//! split is live once the APISIX ingress controller reports the copy's current generation
//! synced (a `True` condition with reason `ResourcesSynced`, or of type `Accepted`, at
//! `observedGeneration`).

mod status;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use serin_crds::validation::RoutingSpec;

use super::{
    APISIX_ROUTE, DesiredObject, KindUse, ObjectKey, RouteInput, RouteObservation, Router,
    RouterError, TrafficSplit,
};

/// The priority of the copy's rule, above any the user's route can have in practice.
const PRIORITY: u32 = 10_000;
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The Apache APISIX router.
#[derive(Clone, Copy, Debug, Default)]
pub struct Apisix;

const KINDS: &[KindUse] = &[KindUse::write(APISIX_ROUTE)];

fn route_key(namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind: APISIX_ROUTE,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

fn route_ref(routing: &RoutingSpec) -> Result<&str, RouterError> {
    routing
        .route_ref
        .as_deref()
        .ok_or_else(|| RouterError::Inexpressible {
            field: "spec.routeRef".into(),
            message: "is required by provider apisix: the ApisixRoute that routes to the target"
                .into(),
        })
}

fn canary_route_name(source: &str, routing: &RoutingSpec) -> String {
    format!("{source}-{}-canary", routing.names.apex)
}

fn unusable(source: &str, message: &str) -> RouterError {
    RouterError::Inexpressible {
        field: "spec.routeRef".into(),
        message: format!("the ApisixRoute {source} {message}"),
    }
}

/// The user's HTTP rule to the apex Service, rewritten for `split`.
fn canary_rule(
    source: &str,
    route: &Value,
    routing: &RoutingSpec,
    split: &TrafficSplit,
) -> Result<Value, RouterError> {
    let names = &routing.names;
    let rules = route["spec"]["http"].as_array().map(Vec::as_slice);
    let rules = rules
        .filter(|r| !r.is_empty())
        .ok_or_else(|| unusable(source, "has no HTTP rules"))?;
    let rule = rules
        .iter()
        .find(|r| {
            r["backends"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|b| b["serviceName"] == names.apex.as_str())
        })
        .ok_or_else(|| {
            unusable(
                source,
                &format!("has no HTTP rule with the backend {}", names.apex),
            )
        })?;
    let backends = rule["backends"]
        .as_array()
        .map(Vec::len)
        .unwrap_or_default();
    if backends != 1 {
        return Err(unusable(
            source,
            &format!(
                "routes to {} with {backends} backends; only one is supported",
                names.apex
            ),
        ));
    }
    let canary = split.routes.canary;
    let mut primary = rule["backends"][0].clone();
    primary["serviceName"] = json!(names.primary);
    primary["weight"] = json!(canary.complement().get());
    let mut twin = Map::new();
    twin.insert("serviceName".into(), json!(names.canary));
    for field in ["servicePort", "resolveGranularity", "subset"] {
        if let Some(value) = primary.get(field).filter(|v| !v.is_null()) {
            twin.insert(field.into(), value.clone());
        }
    }
    twin.insert("weight".into(), json!(canary.get()));
    let mut rule = rule.clone();
    rule["priority"] = json!(PRIORITY);
    rule["backends"] = json!([primary, Value::Object(twin)]);
    Ok(rule)
}

impl Router for Apisix {
    fn name(&self) -> &'static str {
        "apisix"
    }

    fn kinds(&self) -> &'static [KindUse] {
        KINDS
    }

    /// The ApisixRoute in `spec.routeRef`, which the canary route copies.
    fn references(&self, namespace: &str, routing: &RoutingSpec) -> Vec<ObjectKey> {
        routing
            .route_ref
            .iter()
            .map(|name| route_key(namespace, name))
            .collect()
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let routing = input.routing;
        let source = route_ref(routing)?;
        let route = input
            .referenced(&route_key(input.namespace, source))
            .ok_or_else(|| RouterError::ReferenceMissing {
                kind: APISIX_ROUTE.qualified(),
                name: source.to_owned(),
                field: "spec.routeRef",
            })?;
        let mut spec = route["spec"].clone();
        spec["http"] = json!([canary_rule(source, route, routing, split)?]);
        let annotations: BTreeMap<String, String> = route["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| *key != LAST_APPLIED)
            .filter_map(|(key, value)| value.as_str().map(|v| (key.clone(), v.to_owned())))
            .collect();
        let name = canary_route_name(source, routing);
        let mut metadata = json!({
            "name": name,
            "namespace": input.namespace,
            "ownerReferences": [input.owner()],
        });
        if !annotations.is_empty() {
            metadata["annotations"] = json!(annotations);
        }
        if let Some(labels) = route["metadata"]["labels"]
            .as_object()
            .filter(|l| !l.is_empty())
        {
            metadata["labels"] = Value::Object(labels.clone());
        }
        Ok(vec![DesiredObject {
            kind: APISIX_ROUTE,
            name,
            object: json!({
                "apiVersion": APISIX_ROUTE.api_version(),
                "kind": APISIX_ROUTE.kind,
                "metadata": metadata,
                "spec": spec,
            }),
        }])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let Ok(source) = route_ref(input.routing) else {
            return RouteObservation::Missing;
        };
        let name = canary_route_name(source, input.routing);
        match observed
            .iter()
            .find(|o| o["kind"] == APISIX_ROUTE.kind && o["metadata"]["name"] == name.as_str())
        {
            None => RouteObservation::Missing,
            Some(route) => status::observe(route, input.routing),
        }
    }
}

#[cfg(test)]
mod tests;
