//! The VirtualService spec for a split: hosts and gateways, then HTTP routes (weighted, A/B,
//! sticky) or one TCP route, each carrying `spec.service`'s rewrite, timeout, retries, CORS and
//! header operations.

use serde_json::{Map, Value, json};
use serin_crds::canary::{HttpMatchRequest, SessionAffinity};
use serin_crds::validation::RoutingSpec;

use super::super::cookies::{cookie_regex, primary_cookie, set_cookie};
use super::super::{RouteInput, RouterError, TrafficSplit};

/// The name of the route that keeps users with the canary's cookie on the canary.
pub(super) const STICKY_ROUTE: &str = "sticky-route";
/// The name of the route that keeps users with the primary's cookie on the primary.
pub(super) const PRIMARY_STICKY_ROUTE: &str = "primary-sticky-route";

pub(super) fn virtual_service_spec(
    input: &RouteInput<'_>,
    split: &TrafficSplit,
) -> Result<Value, RouterError> {
    let routing = input.routing;
    let service = &routing.service;
    let delegation = service.delegation == Some(true);
    let mut spec = Map::new();
    spec.insert(
        "hosts".into(),
        json!(if delegation {
            Vec::new()
        } else {
            hosts(routing)
        }),
    );
    spec.insert(
        "gateways".into(),
        json!(if delegation {
            Vec::new()
        } else {
            gateways(routing)
        }),
    );
    if is_tcp(routing) {
        let matches: Vec<Value> = routing
            .service_matches
            .iter()
            .filter_map(|m| m.port.map(|port| json!({ "port": port })))
            .collect();
        let mut tcp = json!({ "route": weighted(routing, split) });
        if !matches.is_empty() {
            tcp["match"] = json!(matches);
        }
        spec.insert("tcp".into(), json!([tcp]));
        return Ok(Value::Object(spec));
    }
    spec.insert("http".into(), json!(http_routes(input, split)?));
    Ok(Value::Object(spec))
}

/// `spec.service.hosts` and the apex Service, unless the hosts already name it or `*`.
fn hosts(routing: &RoutingSpec) -> Vec<String> {
    let mut hosts = routing.service.hosts.clone().unwrap_or_default();
    if !hosts.iter().any(|h| *h == routing.names.apex || h == "*") {
        hosts.push(routing.names.apex.clone());
    }
    hosts
}

/// `spec.service.gateways`, or the mesh when none are given.
fn gateways(routing: &RoutingSpec) -> Vec<String> {
    match routing.service.gateways.as_ref().filter(|g| !g.is_empty()) {
        Some(gateways) => gateways.clone(),
        None => vec!["mesh".to_owned()],
    }
}

/// As in Flagger, a Service whose `appProtocol` is `tcp` is routed at L4.
fn is_tcp(routing: &RoutingSpec) -> bool {
    routing
        .service
        .app_protocol
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("tcp"))
}

/// A destination with its weight. The port is set, as in Flagger, with `portDiscovery` behind
/// an ingress gateway or under delegation, where Istio cannot infer it.
fn destination(routing: &RoutingSpec, host: &str, weight: u8) -> Value {
    let service = &routing.service;
    let behind_gateway = service
        .gateways
        .as_ref()
        .and_then(|g| g.first())
        .is_some_and(|g| g != "mesh");
    let with_port = service.port_discovery == Some(true)
        && (behind_gateway || service.delegation == Some(true));
    let mut target = json!({ "host": host });
    if with_port {
        target["port"] = json!({ "number": service.port });
    }
    json!({ "destination": target, "weight": weight })
}

fn weighted(routing: &RoutingSpec, split: &TrafficSplit) -> Vec<Value> {
    let canary = split.routes.canary;
    vec![
        destination(routing, &routing.names.primary, canary.complement().get()),
        destination(routing, &routing.names.canary, canary.get()),
    ]
}

/// An HTTP route with `spec.service`'s settings, matching `matches` (none: every request).
fn http_route(routing: &RoutingSpec, matches: &[Value], route: &[Value]) -> Value {
    let service = &routing.service;
    let mut http = Map::new();
    if !matches.is_empty() {
        http.insert("match".into(), json!(matches));
    }
    if let Some(rewrite) = &service.rewrite {
        let mut istio = Map::new();
        if let Some(uri) = &rewrite.uri {
            istio.insert("uri".into(), json!(uri));
        }
        if let Some(authority) = &rewrite.authority {
            istio.insert("authority".into(), json!(authority));
        }
        http.insert("rewrite".into(), Value::Object(istio));
    }
    if let Some(timeout) = &service.timeout {
        http.insert("timeout".into(), json!(timeout));
    }
    if let Some(retries) = &service.retries {
        http.insert("retries".into(), json!(retries));
    }
    if let Some(cors) = &service.cors_policy {
        http.insert("corsPolicy".into(), json!(cors));
    }
    if let Some(headers) = &service.headers {
        http.insert("headers".into(), json!(headers));
    }
    http.insert("route".into(), json!(route));
    Value::Object(http)
}

fn http_routes(input: &RouteInput<'_>, split: &TrafficSplit) -> Result<Vec<Value>, RouterError> {
    let routing = input.routing;
    let service_matches: Vec<Value> = routing.service_matches.iter().map(istio_match).collect();
    if !routing.ab_matches.is_empty() {
        // A/B testing: matching requests get the split, the rest stay on the primary.
        let ab: Vec<Value> = routing.ab_matches.iter().map(istio_match).collect();
        return Ok(vec![
            http_route(
                routing,
                &merge(&ab, &service_matches),
                &weighted(routing, split),
            ),
            http_route(
                routing,
                &service_matches,
                &[destination(routing, &routing.names.primary, 100)],
            ),
        ]);
    }
    let mut weighted_route = http_route(routing, &service_matches, &weighted(routing, split));
    if let Some(percent) = split.routes.mirror {
        weighted_route["mirror"] = json!({ "host": routing.names.canary });
        weighted_route["mirrorPercentage"] = json!({ "value": f64::from(percent.get()) });
    }
    let Some(affinity) = input.session_affinity else {
        return Ok(vec![weighted_route]);
    };
    sticky_routes(routing, affinity, split, &service_matches, weighted_route)
}

/// With session affinity: during a run the canary's responses set its cookie and a route sends
/// the requests carrying it to the canary (and, with `primaryCookieName`, the primary's set
/// the primary's cookie, kept on the primary); after a run, both cookies are expired.
fn sticky_routes(
    routing: &RoutingSpec,
    affinity: &SessionAffinity,
    split: &TrafficSplit,
    service_matches: &[Value],
    mut weighted_route: Value,
) -> Result<Vec<Value>, RouterError> {
    let cookie_route =
        |name: &str, cookie: &str, route: Vec<Value>| -> Result<Value, RouterError> {
            let regex = cookie_regex(cookie).ok_or_else(|| RouterError::Inexpressible {
                field: "status.sessionAffinityCookie".into(),
                message: format!("{cookie:?} is not name=value"),
            })?;
            let matches = merge(
                &[json!({ "headers": { "Cookie": { "regex": regex } } })],
                service_matches,
            );
            let mut http = http_route(routing, &matches, &route);
            http["name"] = json!(name);
            Ok(http)
        };
    let set_on = |destination: &mut Value, value: String| {
        destination["headers"]["response"]["add"]["Set-Cookie"] = json!(value);
    };
    let mut routes = Vec::new();
    if let Some(cookie) = &split.sticky_cookie {
        if let Some(canary) = weighted_route["route"].get_mut(1) {
            set_on(canary, set_cookie(cookie, affinity, None));
        }
        routes.push(cookie_route(
            STICKY_ROUTE,
            cookie,
            vec![
                destination(routing, &routing.names.primary, 0),
                destination(routing, &routing.names.canary, 100),
            ],
        )?);
        if let Some(primary) = primary_cookie(cookie, affinity) {
            if let Some(destination) = weighted_route["route"].get_mut(0) {
                set_on(destination, set_cookie(&primary, affinity, None));
            }
            routes.push(cookie_route(
                PRIMARY_STICKY_ROUTE,
                &primary,
                vec![destination(routing, &routing.names.primary, 100)],
            )?);
        }
    } else if let Some(expired) = &split.expired_cookie {
        let mut expire = |name: &str, cookie: &str| -> Result<(), RouterError> {
            let mut route = cookie_route(name, cookie, weighted(routing, split))?;
            route["headers"]["response"]["add"]["Set-Cookie"] =
                json!(set_cookie(cookie, affinity, Some(-1)));
            routes.push(route);
            Ok(())
        };
        expire(STICKY_ROUTE, expired)?;
        if let Some(primary) = primary_cookie(expired, affinity) {
            expire(PRIMARY_STICKY_ROUTE, &primary)?;
        }
    }
    routes.push(weighted_route);
    Ok(routes)
}

/// A request match in Istio's form. Istio has no suffix match: a suffix becomes an anchored
/// regular expression.
fn istio_match(m: &HttpMatchRequest) -> Value {
    let mut value = serde_json::to_value(m).unwrap_or(Value::Null);
    suffix_to_regex(&mut value);
    value
}

fn suffix_to_regex(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(suffix)) = map.remove("suffix") {
                map.insert(
                    "regex".into(),
                    json!(format!(
                        ".*{}$",
                        super::super::cookies::escape_regex(&suffix)
                    )),
                );
            }
            map.values_mut().for_each(suffix_to_regex);
        }
        Value::Array(items) => items.iter_mut().for_each(suffix_to_regex),
        _ => {}
    }
}

/// Each A/B (or cookie) match on each of `spec.service.match`: the service match with the
/// other's conditions added (the other's win where both set one).
fn merge(conditions: &[Value], service: &[Value]) -> Vec<Value> {
    if service.is_empty() {
        return conditions.to_vec();
    }
    let mut merged = Vec::with_capacity(conditions.len() * service.len());
    for condition in conditions {
        for base in service {
            let mut m = base.clone();
            if let (Some(m), Some(condition)) = (m.as_object_mut(), condition.as_object()) {
                for (key, value) in condition {
                    m.insert(key.clone(), value.clone());
                }
            }
            merged.push(m);
        }
    }
    merged
}
