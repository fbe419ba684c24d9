//! The Contour router (`contour`): an HTTPProxy named after the apex Service, with one weighted
//! route to `<apex>-primary` and `<apex>-canary` under the path prefix of
//! `spec.service.match[0].uri.prefix` (`/` by default), the timeout and retry policies of
//! `spec.service`, and the `l5d-dst-override` header Linkerd needs behind Contour, as Flagger
//! writes it. The proxy has no virtual host: a root HTTPProxy of the user's includes it.
//!
//! A split is live once Contour reports the current generation valid (`status.conditions`
//! `Valid` at `observedGeneration`); `invalid` or `orphaned` proxies serve no traffic.

mod status;

use serde_json::{Map, Value, json};
use serin_crds::canary::HttpMatchRequest;
use serin_crds::validation::RoutingSpec;

use super::{
    DesiredObject, HTTP_PROXY, KindUse, RouteInput, RouteObservation, Router, RouterError,
    TrafficSplit,
};

/// The Contour router.
#[derive(Clone, Debug, Default)]
pub struct Contour {
    ingress_class: Option<String>,
}

impl Contour {
    /// A router setting `spec.ingressClassName` to `ingress_class` (`--ingress-class`).
    pub fn new(ingress_class: Option<&str>) -> Contour {
        Contour {
            ingress_class: ingress_class.filter(|c| !c.is_empty()).map(str::to_owned),
        }
    }
}

const KINDS: &[KindUse] = &[KindUse::write(HTTP_PROXY)];

impl Router for Contour {
    fn name(&self) -> &'static str {
        "contour"
    }

    fn kinds(&self) -> &'static [KindUse] {
        KINDS
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let names = &input.routing.names;
        let mut spec = Map::new();
        if let Some(class) = &self.ingress_class {
            spec.insert("ingressClassName".into(), json!(class));
        }
        spec.insert("routes".into(), json!(routes(input, split)));
        Ok(vec![DesiredObject {
            kind: HTTP_PROXY,
            name: names.apex.clone(),
            object: json!({
                "apiVersion": HTTP_PROXY.api_version(),
                "kind": HTTP_PROXY.kind,
                "metadata": {
                    "name": names.apex,
                    "namespace": input.namespace,
                    "ownerReferences": [input.owner()],
                },
                "spec": spec,
            }),
        }])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let names = &input.routing.names;
        match observed
            .iter()
            .find(|o| o["kind"] == HTTP_PROXY.kind && o["metadata"]["name"] == names.apex.as_str())
        {
            None => RouteObservation::Missing,
            Some(proxy) => status::observe(proxy, input.routing),
        }
    }
}

/// The path prefix the routes serve: Flagger's `spec.service.match[0].uri.prefix`, or `/`.
fn prefix(routing: &RoutingSpec) -> String {
    routing
        .service_matches
        .first()
        .and_then(|m| m.uri.as_ref())
        .and_then(|uri| uri.prefix.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".to_owned())
}

/// The routes for `split`: the weighted one, and with A/B testing one per `analysis.match`
/// entry first, then everyone else on the primary.
fn routes(input: &RouteInput<'_>, split: &TrafficSplit) -> Vec<Value> {
    let routing = input.routing;
    let prefix = prefix(routing);
    let canary = split.routes.canary.get();
    let weighted = services(input, 100 - canary, canary);
    if routing.ab_matches.is_empty() {
        return vec![route(routing, vec![json!({ "prefix": prefix })], weighted)];
    }
    let mut routes: Vec<Value> = routing
        .ab_matches
        .iter()
        .map(|m| route(routing, header_conditions(m, &prefix), weighted.clone()))
        .collect();
    routes.push(route(
        routing,
        vec![json!({ "prefix": prefix })],
        services(input, 100, 0),
    ));
    routes
}

/// The conditions of one A/B match: its headers, all of them (Contour ANDs the conditions of
/// a route), the first carrying the prefix (a route may have only one). Prefix and suffix
/// matches become `contains`, as in Flagger.
fn header_conditions(m: &HttpMatchRequest, prefix: &str) -> Vec<Value> {
    let mut conditions: Vec<Value> = m
        .headers
        .iter()
        .flatten()
        .map(|(name, value)| {
            let mut header = json!({ "name": name });
            if let Some(contains) = value.prefix.as_ref().or(value.suffix.as_ref()) {
                header["contains"] = json!(contains);
            } else if let Some(exact) = &value.exact {
                header["exact"] = json!(exact);
            }
            json!({ "header": header })
        })
        .collect();
    match conditions.first_mut() {
        Some(first) => first["prefix"] = json!(prefix),
        None => conditions.push(json!({ "prefix": prefix })),
    }
    conditions
}

fn route(routing: &RoutingSpec, conditions: Vec<Value>, services: Vec<Value>) -> Value {
    let (conditions, services) = (Value::Array(conditions), Value::Array(services));
    let service = &routing.service;
    let mut route = Map::new();
    route.insert("conditions".into(), conditions);
    if let Some(timeout) = service.timeout.as_ref().filter(|t| !t.is_empty()) {
        route.insert(
            "timeoutPolicy".into(),
            json!({ "response": timeout, "idle": "5m" }),
        );
    }
    if let Some(retries) = &service.retries {
        let mut policy = Map::new();
        policy.insert("count".into(), json!(retries.attempts.unwrap_or(0)));
        if let Some(per_try) = retries.per_try_timeout.as_ref().filter(|t| !t.is_empty()) {
            policy.insert("perTryTimeout".into(), json!(per_try));
        }
        let retry_on: Vec<&str> = retries
            .retry_on
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        if !retry_on.is_empty() {
            policy.insert("retryOn".into(), json!(retry_on));
        }
        route.insert("retryPolicy".into(), Value::Object(policy));
    }
    route.insert("services".into(), services);
    Value::Object(route)
}

/// The primary and canary Services with their weights; a weight of 0 is left out, as Flagger's
/// `omitempty` does.
fn services(input: &RouteInput<'_>, primary: u8, canary: u8) -> Vec<Value> {
    let names = &input.routing.names;
    let port = input.routing.service.port;
    [(&names.primary, primary), (&names.canary, canary)]
        .into_iter()
        .map(|(name, weight)| {
            let mut service = json!({
                "name": name,
                "port": port,
                "requestHeadersPolicy": {"set": [{
                    "name": "l5d-dst-override",
                    "value": format!("{name}.{}.svc.cluster.local:{port}", input.namespace),
                }]},
            });
            if weight > 0 {
                service["weight"] = json!(weight);
            }
            service
        })
        .collect()
}

#[cfg(test)]
mod tests;
