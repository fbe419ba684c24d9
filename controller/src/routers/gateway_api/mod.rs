//! The Gateway API router (`gatewayapi`, `gatewayapi:v1`, `gatewayapi:v1beta1`): one HTTPRoute
//! (or, for `spec.service.routeKind: GRPCRoute`, one GRPCRoute) named after the apex Service,
//! with weighted primary and canary backends, A/B header matches, mirroring, session-affinity
//! cookies, timeouts and filters. A split counts as live only when every parent Gateway reports
//! the route's current generation accepted.

mod filters;
mod matches;
mod status;

use serde_json::{Value, json};
use serin_crds::canary::GatewayRouteKind;
use serin_crds::validation::Weight;

use super::{
    DesiredObject, GRPC_ROUTE_V1, HTTP_ROUTE_V1, HTTP_ROUTE_V1BETA1, KindUse, RouteInput,
    RouteKind, RouteObservation, Router, RouterError, TrafficSplit,
};

/// The newest HTTPRoute version the cluster serves (whatever other kinds of the group it serves): `v1` when discovery lists it (or cannot
/// be asked), else `v1beta1` when that is served.
pub async fn newest_served(client: &kube::Client) -> GatewayApiVersion {
    match kube::discovery::group(client, "gateway.networking.k8s.io").await {
        Ok(group) => {
            // By kind: GRPCRoute is served as v1 also where HTTPRoute is not.
            let served = |v: &str| {
                group
                    .versioned_resources(v)
                    .iter()
                    .any(|(resource, _)| resource.kind == "HTTPRoute")
            };
            if !served("v1") && served("v1beta1") {
                GatewayApiVersion::V1beta1
            } else {
                GatewayApiVersion::V1
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "Gateway API versions not discovered; bare gatewayapi writes v1");
            GatewayApiVersion::V1
        }
    }
}

/// Which served version of HTTPRoute to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GatewayApiVersion {
    /// `gateway.networking.k8s.io/v1`.
    #[default]
    V1,
    /// `gateway.networking.k8s.io/v1beta1`.
    V1beta1,
}

/// The Gateway API router.
#[derive(Clone, Copy, Debug)]
pub struct GatewayApi {
    version: GatewayApiVersion,
    /// Named by the bare `gatewayapi` provider.
    bare: bool,
}

impl GatewayApi {
    /// A router writing HTTPRoutes of `version`.
    pub fn new(version: GatewayApiVersion) -> Self {
        GatewayApi {
            version,
            bare: false,
        }
    }

    /// The router of a bare `gatewayapi`, writing `newest`, the newest version served.
    pub fn newest(newest: GatewayApiVersion) -> Self {
        GatewayApi {
            version: newest,
            bare: true,
        }
    }

    /// The kind of route written for `input`: its `routeKind`, in this router's version.
    /// GRPCRoute is served as `v1` only.
    fn kind(self, input: &RouteInput<'_>) -> RouteKind {
        match (route_kind(input), self.version) {
            (GatewayRouteKind::GrpcRoute, _) => GRPC_ROUTE_V1,
            (GatewayRouteKind::HttpRoute, GatewayApiVersion::V1) => HTTP_ROUTE_V1,
            (GatewayRouteKind::HttpRoute, GatewayApiVersion::V1beta1) => HTTP_ROUTE_V1BETA1,
        }
    }
}

impl Router for GatewayApi {
    fn name(&self) -> &'static str {
        match (self.bare, self.version) {
            (true, _) => "gatewayapi",
            (false, GatewayApiVersion::V1) => "gatewayapi:v1",
            (false, GatewayApiVersion::V1beta1) => "gatewayapi:v1beta1",
        }
    }

    fn kinds(&self) -> &'static [KindUse] {
        const V1: &[KindUse] = &[KindUse::write(HTTP_ROUTE_V1), KindUse::write(GRPC_ROUTE_V1)];
        const V1BETA1: &[KindUse] = &[
            KindUse::write(HTTP_ROUTE_V1BETA1),
            KindUse::write(GRPC_ROUTE_V1),
        ];
        match self.version {
            GatewayApiVersion::V1 => V1,
            GatewayApiVersion::V1beta1 => V1BETA1,
        }
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let kind = self.kind(input);
        let spec = route_spec(input, split, kind == GRPC_ROUTE_V1)?;
        let names = &input.routing.names;
        let mut metadata = json!({
            "name": names.apex,
            "namespace": input.namespace,
            "ownerReferences": [input.owner()],
        });
        if let Some(apex) = &input.routing.service.apex {
            if let Some(labels) = &apex.labels {
                metadata["labels"] = json!(labels);
            }
            if let Some(annotations) = &apex.annotations {
                metadata["annotations"] = json!(annotations);
            }
        }
        let object = json!({
            "apiVersion": kind.api_version(),
            "kind": kind.kind,
            "metadata": metadata,
            "spec": spec,
        });
        Ok(vec![DesiredObject {
            kind,
            name: names.apex.clone(),
            object,
        }])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let names = &input.routing.names;
        let kind = self.kind(input).kind;
        let route = observed.iter().find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == names.apex.as_str()
                && o["metadata"]["namespace"] == input.namespace
        });
        match route {
            None => RouteObservation::Missing,
            Some(route) => status::route_state(route, names, !input.routing.ab_matches.is_empty()),
        }
    }
}

fn route_kind(input: &RouteInput<'_>) -> GatewayRouteKind {
    input.routing.service.route_kind.unwrap_or_default()
}

fn backend(name: &str, port: u16, weight: u8) -> Value {
    json!({ "group": "", "kind": "Service", "name": name, "port": port, "weight": weight })
}

/// The route's spec; `grpc` for a GRPCRoute, whose matches name gRPC methods and which has no
/// timeouts, rewrites or CORS.
fn route_spec(
    input: &RouteInput<'_>,
    split: &TrafficSplit,
    grpc: bool,
) -> Result<Value, RouterError> {
    let service = &input.routing.service;
    let names = &input.routing.names;
    if grpc {
        grpc_settings(service)?;
    }
    let route_matches = if grpc {
        matches::grpc_route_matches
    } else {
        matches::route_matches
    };
    let gateway_refs = service.gateway_refs.as_deref().unwrap_or_default();
    if gateway_refs.is_empty() {
        return Err(RouterError::Inexpressible {
            field: "spec.service.gatewayRefs".into(),
            message: "the Gateway API router needs at least one Gateway to attach the HTTPRoute to"
                .into(),
        });
    }
    let mut service_matches = route_matches(&input.routing.service_matches, "spec.service.match")?;
    if service_matches.is_empty() {
        service_matches.push(if grpc {
            json!({})
        } else {
            matches::default_match()
        });
    }
    let ab_matches = route_matches(&input.routing.ab_matches, "spec.analysis.match")?;
    let filters = filters::rule_filters(service);
    let mut timeouts = serde_json::Map::new();
    if let Some(t) = &service.timeout {
        timeouts.insert("request".into(), Value::from(t.as_str()));
    }
    if let Some(t) = &service.backend_timeout {
        timeouts.insert("backendRequest".into(), Value::from(t.as_str()));
    }
    let rule = |matches: Vec<Value>, filters: Vec<Value>, backends: Vec<Value>| {
        let mut r = json!({ "matches": matches, "backendRefs": backends });
        if !filters.is_empty() {
            r["filters"] = Value::Array(filters);
        }
        if !timeouts.is_empty() {
            r["timeouts"] = Value::Object(timeouts.clone());
        }
        r
    };

    let canary_weight = split.routes.canary.get();
    let mut canary_backend = backend(&names.canary, service.port, canary_weight);
    if let (Some(cookie), Some(affinity)) = (&split.sticky_cookie, input.session_affinity) {
        canary_backend["filters"] = json!([set_cookie_filter(&super::cookies::set_cookie(
            cookie, affinity, None
        ))]);
    }
    let weighted_backends = vec![
        backend(
            &names.primary,
            service.port,
            split.routes.canary.complement().get(),
        ),
        canary_backend,
    ];
    let mut weighted_filters = filters.clone();
    if let Some(percent) = split.routes.mirror {
        let mut mirror = json!({ "backendRef": { "group": "", "kind": "Service", "name": names.canary, "port": service.port } });
        if percent != Weight::FULL {
            mirror["percent"] = Value::from(percent.get());
        }
        weighted_filters.push(json!({ "type": "RequestMirror", "requestMirror": mirror }));
    }

    let mut rules = Vec::new();
    if ab_matches.is_empty() {
        if let Some(sticky) = sticky_rule(input, split, &service_matches, &filters)? {
            rules.push(rule(sticky.0, sticky.1, sticky.2));
        }
        rules.push(rule(service_matches, weighted_filters, weighted_backends));
    } else {
        // A/B testing: matching requests get the split; everything else stays on the primary.
        rules.push(rule(
            matches::merge(&ab_matches, &service_matches),
            weighted_filters,
            weighted_backends,
        ));
        rules.push(rule(
            service_matches,
            filters,
            vec![backend(&names.primary, service.port, 100)],
        ));
    }

    let mut spec = json!({ "parentRefs": gateway_refs, "rules": rules });
    if let Some(hosts) = service.hosts.as_ref().filter(|h| !h.is_empty()) {
        spec["hostnames"] = json!(hosts);
    }
    Ok(spec)
}

/// Refuses the HTTP-only settings of `spec.service`, which a GRPCRoute cannot carry.
fn grpc_settings(service: &serin_crds::canary::CanaryService) -> Result<(), RouterError> {
    match serin_crds::validation::http_route_only(service).next() {
        Some(name) => Err(RouterError::Inexpressible {
            field: format!("spec.service.{name}"),
            message: "a GRPCRoute has no such setting".into(),
        }),
        None => Ok(()),
    }
}

type RuleParts = (Vec<Value>, Vec<Value>, Vec<Value>);

/// The rule that keeps users with the canary cookie on the canary during a run, or expires the
/// previous run's cookie after it.
fn sticky_rule(
    input: &RouteInput<'_>,
    split: &TrafficSplit,
    service_matches: &[Value],
    filters: &[Value],
) -> Result<Option<RuleParts>, RouterError> {
    let Some(affinity) = input.session_affinity else {
        return Ok(None);
    };
    let port = input.routing.service.port;
    let names = &input.routing.names;
    let cookie_match = |cookie: &str| -> Result<Vec<Value>, RouterError> {
        let (name, value) = cookie
            .split_once('=')
            .ok_or_else(|| RouterError::Inexpressible {
                field: "status.sessionAffinityCookie".into(),
                message: format!("{cookie:?} is not name=value"),
            })?;
        let header = json!({
            "type": "RegularExpression",
            "name": "Cookie",
            "value": super::cookies::cookie_regex(&format!("{name}={value}")).unwrap_or_default(),
        });
        Ok(matches::merge(
            &[json!({ "headers": [header] })],
            service_matches,
        ))
    };
    if let Some(cookie) = &split.sticky_cookie {
        let backends = vec![
            backend(&names.primary, port, 0),
            backend(&names.canary, port, 100),
        ];
        return Ok(Some((cookie_match(cookie)?, filters.to_vec(), backends)));
    }
    if let Some(expired) = &split.expired_cookie {
        let mut expire = filters.to_vec();
        expire.push(set_cookie_filter(&super::cookies::set_cookie(
            expired,
            affinity,
            Some(-1),
        )));
        let backends = vec![
            backend(&names.primary, port, 100),
            backend(&names.canary, port, 0),
        ];
        return Ok(Some((cookie_match(expired)?, expire, backends)));
    }
    Ok(None)
}

fn set_cookie_filter(value: &str) -> Value {
    json!({
        "type": "ResponseHeaderModifier",
        "responseHeaderModifier": { "add": [{ "name": "Set-Cookie", "value": value }] },
    })
}

#[cfg(test)]
mod tests;
