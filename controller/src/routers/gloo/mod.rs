//! The Gloo Edge router (`gloo`): two Upstreams, `<ns>-<apex>-primaryupstream-<port>` and
//! `<ns>-<apex>-canaryupstream-<port>`, pointing at the `-primary` and `-canary` Services (their
//! other settings copied from `spec.upstreamRef` when given), and a RouteTable named after the
//! apex Service with one route whose weighted destinations are those Upstreams. With A/B
//! testing, the route carries one matcher per `analysis.match` entry (headers by value or
//! regular expression, methods). These are the objects Flagger writes.
//!
//! The RouteTable has no fallback route: the user's Gloo VirtualService delegates to it and
//! supplies the default. A split is live once every reporter (Gloo's gateway) reports the
//! RouteTable `Accepted`; `Rejected` names the reporter's reason.

mod status;

use serde_json::{Value, json};
use serin_crds::canary::HttpMatchRequest;
use serin_crds::validation::RoutingSpec;

use super::{
    DesiredObject, KindUse, ObjectKey, ROUTE_TABLE, RouteInput, RouteObservation, Router,
    RouterError, TrafficSplit, UPSTREAM,
};

/// The Gloo Edge router.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gloo;

const KINDS: &[KindUse] = &[KindUse::write(ROUTE_TABLE), KindUse::write(UPSTREAM)];

/// The name of the generated Upstream for the primary (`role` `primary`) or the canary.
fn upstream_name(input: &RouteInput<'_>, role: &str) -> String {
    let routing = input.routing;
    format!(
        "{}-{}-{role}upstream-{}",
        input.namespace, routing.names.apex, routing.service.port
    )
}

/// The Upstream of `spec.upstreamRef`, in the Canary's namespace unless it names another.
fn template_key<'a>(namespace: &str, routing: &'a RoutingSpec) -> Option<(ObjectKey, &'a str)> {
    routing.upstream_ref.as_ref().map(|r| {
        let key = ObjectKey {
            kind: UPSTREAM,
            namespace: r.namespace.clone().unwrap_or_else(|| namespace.to_owned()),
            name: r.name.clone(),
        };
        (key, r.name.as_str())
    })
}

/// The Upstream to `service`: the template's spec (if any) with its `kube` section replaced.
fn upstream(
    input: &RouteInput<'_>,
    name: String,
    service: &str,
    template: &Value,
) -> DesiredObject {
    let mut spec = match &template["spec"] {
        Value::Object(spec) => spec.clone(),
        _ => serde_json::Map::new(),
    };
    spec.insert(
        "kube".into(),
        json!({
            "serviceName": service,
            "serviceNamespace": input.namespace,
            "servicePort": input.routing.service.port,
        }),
    );
    DesiredObject {
        kind: UPSTREAM,
        object: json!({
            "apiVersion": UPSTREAM.api_version(),
            "kind": UPSTREAM.kind,
            "metadata": {
                "name": name,
                "namespace": input.namespace,
                "ownerReferences": [input.owner()],
            },
            "spec": spec,
        }),
        name,
    }
}

/// The matcher of one `analysis.match` entry: its headers (exact or regular expression) and
/// method. Validation refuses the other kinds of match.
fn matcher(m: &HttpMatchRequest) -> Value {
    let headers: Vec<Value> = m
        .headers
        .iter()
        .flatten()
        .filter_map(|(name, value)| match (&value.regex, &value.exact) {
            (Some(regex), _) => Some(json!({"name": name, "value": regex, "regex": true})),
            (None, Some(exact)) => Some(json!({"name": name, "value": exact})),
            (None, None) => None,
        })
        .collect();
    let methods: Vec<&str> = m
        .method
        .iter()
        .filter_map(|method| method.exact.as_deref())
        .collect();
    let mut matcher = serde_json::Map::new();
    if !headers.is_empty() {
        matcher.insert("headers".into(), json!(headers));
    }
    if !methods.is_empty() {
        matcher.insert("methods".into(), json!(methods));
    }
    Value::Object(matcher)
}

/// A weighted destination; a weight of 0 is left out, as Flagger's `omitempty` does.
fn destination(namespace: &str, upstream: &str, weight: u8) -> Value {
    let mut destination = json!({
        "destination": {"upstream": {"name": upstream, "namespace": namespace}},
    });
    if weight > 0 {
        destination["weight"] = json!(weight);
    }
    destination
}

/// The RouteTable for `split`.
fn route_table(input: &RouteInput<'_>, split: &TrafficSplit) -> DesiredObject {
    let canary = split.routes.canary.get();
    let mut route = serde_json::Map::new();
    route.insert("inheritablePathMatchers".into(), json!(true));
    let matchers: Vec<Value> = input.routing.ab_matches.iter().map(matcher).collect();
    if !matchers.is_empty() {
        route.insert("matchers".into(), json!(matchers));
    }
    route.insert(
        "routeAction".into(),
        json!({"multi": {"destinations": [
            destination(input.namespace, &upstream_name(input, "primary"), 100 - canary),
            destination(input.namespace, &upstream_name(input, "canary"), canary),
        ]}}),
    );
    let name = input.routing.names.apex.clone();
    DesiredObject {
        kind: ROUTE_TABLE,
        object: json!({
            "apiVersion": ROUTE_TABLE.api_version(),
            "kind": ROUTE_TABLE.kind,
            "metadata": {
                "name": name,
                "namespace": input.namespace,
                "ownerReferences": [input.owner()],
            },
            "spec": {"routes": [Value::Object(route)]},
        }),
        name,
    }
}

impl Router for Gloo {
    fn name(&self) -> &'static str {
        "gloo"
    }

    fn kinds(&self) -> &'static [KindUse] {
        KINDS
    }

    /// The Upstream in `spec.upstreamRef`, which the generated Upstreams copy.
    fn references(&self, namespace: &str, routing: &RoutingSpec) -> Vec<ObjectKey> {
        template_key(namespace, routing)
            .map(|(key, _)| key)
            .into_iter()
            .collect()
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let template =
            match template_key(input.namespace, input.routing) {
                None => Value::Null,
                Some((key, name)) => input.referenced(&key).cloned().ok_or_else(|| {
                    RouterError::ReferenceMissing {
                        kind: UPSTREAM.qualified(),
                        name: format!("{}/{name}", key.namespace),
                        field: "spec.upstreamRef",
                    }
                })?,
            };
        let names = &input.routing.names;
        Ok(vec![
            upstream(
                input,
                upstream_name(input, "primary"),
                &names.primary,
                &template,
            ),
            upstream(
                input,
                upstream_name(input, "canary"),
                &names.canary,
                &template,
            ),
            route_table(input, split),
        ])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let find = |kind: &str, name: &str| {
            observed
                .iter()
                .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        };
        let (primary, canary) = (
            upstream_name(input, "primary"),
            upstream_name(input, "canary"),
        );
        if find(UPSTREAM.kind, &primary).is_none() || find(UPSTREAM.kind, &canary).is_none() {
            return RouteObservation::Missing;
        }
        match find(ROUTE_TABLE.kind, &input.routing.names.apex) {
            None => RouteObservation::Missing,
            Some(table) => status::observe(table, &primary, &canary, input.routing),
        }
    }
}

#[cfg(test)]
mod tests;
