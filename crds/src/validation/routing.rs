//! Validation of what the router in effect can express, from the capability table
//! ([`crate::routing`]): refused specs name the field and say which routers can.

use std::collections::BTreeMap;

use crate::canary::{
    CanaryService, CanarySpec, GatewayRouteKind, HttpMatchRequest, Provider, StringMatch,
};
use crate::routing::{
    Capabilities, MatchLimit, MatchSupport, Mirroring, RequiredRef, StringMatches,
    route_capabilities,
};

use super::canary::{Target, TargetKindPlan};
use super::{Problems, Strategy};

/// Checks the spec against the router of `provider`, the one in effect (`spec.provider`, or the
/// controller's `--mesh-provider`). `None` when it is not known (`serin lint` without
/// `--mesh-provider` on a Canary without `spec.provider`): then nothing router-specific is
/// checked.
pub(crate) fn router_rules(
    spec: &CanarySpec,
    provider: Option<Provider>,
    strategy: Option<&Strategy>,
    target: Option<&Target>,
    p: &mut Problems,
) {
    let Some(provider) = provider else { return };
    let route_kind = spec
        .service
        .as_ref()
        .and_then(|s| s.route_kind)
        .unwrap_or_default();
    let caps = route_capabilities(provider, route_kind);
    if route_kind == GatewayRouteKind::GrpcRoute {
        grpc_route_rules(spec, provider, p);
    }
    required_refs(spec, provider, &caps, target, p);
    if matches!(strategy, Some(Strategy::Progressive { .. })) && !caps.weighted {
        let field = if spec.analysis.step_weights.is_some() {
            "spec.analysis.stepWeights"
        } else {
            "spec.analysis.stepWeight"
        };
        p.add(
            field,
            format!(
                "provider {provider} cannot shift traffic by weight: use iterations for a \
                 blue/green release, or a router that splits traffic (istio, gatewayapi, linkerd, ...)"
            ),
        );
    }
    let ab = spec.analysis.match_.as_deref().unwrap_or_default();
    if !ab.is_empty() {
        if caps.ab_matches.any() {
            matches(ab, "spec.analysis.match", provider, &caps.ab_matches, p);
        } else {
            p.add(
                "spec.analysis.match",
                format!(
                    "provider {provider} cannot route requests by header or cookie (A/B testing); \
                     istio, gatewayapi, nginx, contour and gloo can"
                ),
            );
        }
    }
    let service_matches = spec
        .service
        .as_ref()
        .and_then(|s| s.match_.as_deref())
        .unwrap_or_default();
    if caps.service_matches && !service_matches.is_empty() {
        matches(
            service_matches,
            "spec.service.match",
            provider,
            &caps.ab_matches,
            p,
        );
    }
    if spec.analysis.mirror == Some(true) {
        match caps.mirroring {
            Mirroring::None => p.add(
                "spec.analysis.mirror",
                format!("provider {provider} cannot mirror traffic (istio and gatewayapi can)"),
            ),
            Mirroring::AllRequests if spec.analysis.mirror_weight.is_some_and(|w| w != 100) => {
                p.add(
                    "spec.analysis.mirrorWeight",
                    format!("provider {provider} mirrors every request; remove mirrorWeight"),
                );
            }
            Mirroring::AllRequests | Mirroring::Percent => {}
        }
    }
    let extension_filters = spec
        .service
        .as_ref()
        .and_then(|s| s.extension_filters.as_deref())
        .unwrap_or_default();
    if !extension_filters.is_empty() && provider_family(provider) != "gatewayapi" {
        p.add(
            "spec.service.extensionFilters",
            format!(
                "provider {provider} writes no Gateway API route; extension filters need gatewayapi"
            ),
        );
    }
    if spec.analysis.session_affinity.is_some() && !caps.session_affinity {
        p.add(
            "spec.analysis.sessionAffinity",
            format!(
                "provider {provider} cannot pin users with a cookie (istio and gatewayapi can)"
            ),
        );
    }
}

/// What a GRPCRoute needs: a Gateway API router that writes `v1`, no HTTP-only route settings,
/// and `uri` matches that name a gRPC service or method.
fn grpc_route_rules(spec: &CanarySpec, provider: Provider, p: &mut Problems) {
    const FIELD: &str = "spec.service.routeKind";
    match provider {
        Provider::GatewayApi | Provider::GatewayApiV1 => {}
        Provider::GatewayApiV1beta1 => p.add(
            FIELD,
            "GRPCRoute is served as gateway.networking.k8s.io/v1 (Gateway API v1.1 and later): \
             use provider gatewayapi or gatewayapi:v1",
        ),
        other => p.add(
            FIELD,
            format!("provider {other} writes no Gateway API route; GRPCRoute needs gatewayapi"),
        ),
    }
    let Some(service) = &spec.service else { return };
    for name in http_route_only(service) {
        p.add(
            format!("spec.service.{name}"),
            "a GRPCRoute has no such setting; remove it, or use routeKind HTTPRoute",
        );
    }
    let fields = [
        ("spec.service.match", service.match_.as_deref()),
        ("spec.analysis.match", spec.analysis.match_.as_deref()),
    ];
    for (field, entries) in fields {
        for (i, m) in entries.unwrap_or_default().iter().enumerate() {
            let Some(uri) = &m.uri else { continue };
            let path = format!("{field}[{i}].uri");
            if let Some(exact) = &uri.exact {
                if grpc_method(exact).is_none() {
                    p.add(
                        format!("{path}.exact"),
                        format!("{exact:?} names no gRPC method: write /package.Service/Method"),
                    );
                }
            } else if let Some(prefix) = uri.prefix.as_ref().filter(|v| grpc_service(v).is_none()) {
                p.add(
                    format!("{path}.prefix"),
                    format!(
                        "{prefix:?} names no gRPC service: write /package.Service/ to match \
                         every method of a service"
                    ),
                );
            }
        }
    }
}

/// The settings of `spec.service` that are set and that only an HTTPRoute can carry.
pub fn http_route_only(service: &CanaryService) -> impl Iterator<Item = &'static str> {
    [
        ("timeout", service.timeout.is_some()),
        ("backendTimeout", service.backend_timeout.is_some()),
        ("rewrite", service.rewrite.is_some()),
        ("corsPolicy", service.cors_policy.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
}

/// The service and method of a gRPC request path, `/package.Service/Method`.
pub fn grpc_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (grpc_service_name(service) && grpc_identifier(method)).then_some((service, method))
}

/// The service of a gRPC path prefix, `/package.Service/` (or without the closing slash).
pub fn grpc_service(prefix: &str) -> Option<&str> {
    let rest = prefix.strip_prefix('/')?;
    let service = rest.strip_suffix('/').unwrap_or(rest);
    grpc_service_name(service).then_some(service)
}

/// A service name as Gateway API accepts it: identifiers joined by `.`, at most 1024 bytes.
fn grpc_service_name(name: &str) -> bool {
    name.len() <= 1024 && name.split('.').all(grpc_identifier)
}

/// A letter or `_`, then letters, digits and `_`.
fn grpc_identifier(part: &str) -> bool {
    let mut bytes = part.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && part.len() <= 1024
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn required_refs(
    spec: &CanarySpec,
    provider: Provider,
    caps: &Capabilities,
    target: Option<&Target>,
    p: &mut Problems,
) {
    for required in caps.required {
        let present = match required {
            RequiredRef::IngressRef => spec.ingress_ref.is_some(),
            RequiredRef::RouteRef => spec.route_ref.is_some(),
            RequiredRef::GatewayRefs => spec
                .service
                .as_ref()
                .and_then(|s| s.gateway_refs.as_ref())
                .is_some_and(|g| !g.is_empty()),
            // A target that failed validation is reported on its own.
            RequiredRef::KnativeTarget => {
                target.is_none_or(|t| t.kind == TargetKindPlan::KnativeService)
            }
        };
        if !present {
            let (field, what) = required.field_and_reason();
            let name = provider_family(provider);
            let message = match required {
                RequiredRef::KnativeTarget => format!("provider {name} needs {what}"),
                _ => format!("is required by provider {name}: {what}"),
            };
            p.add(field, message);
        }
    }
}

/// The name users know the provider by in messages (`gatewayapi` for both its versions).
fn provider_family(provider: Provider) -> &'static str {
    match provider {
        Provider::GatewayApi | Provider::GatewayApiV1 | Provider::GatewayApiV1beta1 => "gatewayapi",
        other => other.as_str(),
    }
}

/// Matches keyed by header or parameter name.
type StringMatchMap = BTreeMap<String, StringMatch>;

/// Checks each match entry against what the router supports.
fn matches(
    entries: &[HttpMatchRequest],
    field: &str,
    provider: Provider,
    support: &MatchSupport,
    p: &mut Problems,
) {
    if support.limit == MatchLimit::OneHeaderAndOneCookie {
        one_header_and_one_cookie(entries, field, provider, p);
    }
    for (i, m) in entries.iter().enumerate() {
        let path = format!("{field}[{i}]");
        let single = |p: &mut Problems, name: &str, value: Option<&StringMatch>, kinds| {
            if let Some(value) = value {
                string_match(p, &format!("{path}.{name}"), provider, value, kinds);
            }
        };
        single(p, "uri", m.uri.as_ref(), support.uri);
        single(p, "scheme", m.scheme.as_ref(), support.scheme);
        single(p, "method", m.method.as_ref(), support.method);
        single(p, "authority", m.authority.as_ref(), support.authority);
        let maps: [(&str, Option<&StringMatchMap>, StringMatches); 3] = [
            ("headers", m.headers.as_ref(), support.headers),
            ("queryParams", m.query_params.as_ref(), support.query_params),
            (
                "withoutHeaders",
                m.without_headers.as_ref(),
                support.without_headers,
            ),
        ];
        for (name, map, kinds) in maps {
            let Some(map) = map else { continue };
            for (key, value) in map {
                string_match(p, &format!("{path}.{name}.{key}"), provider, value, kinds);
            }
        }
        let flags = [
            ("port", m.port.is_some(), support.port),
            (
                "sourceLabels",
                m.source_labels.is_some(),
                support.source_labels,
            ),
            (
                "sourceNamespace",
                m.source_namespace.is_some(),
                support.source_namespace,
            ),
            ("gateways", m.gateways.is_some(), support.gateways),
            (
                "ignoreUriCase",
                m.ignore_uri_case == Some(true),
                support.ignore_uri_case,
            ),
        ];
        for (name, set, supported) in flags {
            if set && !supported {
                p.add(
                    format!("{path}.{name}"),
                    format!("provider {provider} cannot route on {name}"),
                );
            }
        }
    }
}

/// NGINX routes by one header and one cookie: `cookie` carries the name of the cookie, exactly.
fn one_header_and_one_cookie(
    entries: &[HttpMatchRequest],
    field: &str,
    provider: Provider,
    p: &mut Problems,
) {
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    for (i, m) in entries.iter().enumerate() {
        for (name, value) in m.headers.iter().flatten() {
            let path = format!("{field}[{i}].headers.{name}");
            if name.eq_ignore_ascii_case("cookie") {
                if value.exact.is_none() {
                    p.add(
                        &path,
                        format!("provider {provider} selects the canary by the name of a cookie: set exact to the cookie's name"),
                    );
                }
                cookies.push(path);
            } else {
                headers.push(path);
            }
        }
    }
    for (found, what) in [(&headers, "header other than cookie"), (&cookies, "cookie")] {
        if let [_, extra, ..] = found.as_slice() {
            p.add(
                extra,
                format!(
                    "provider {provider} routes by one {what} only; {} are set",
                    found.len()
                ),
            );
        }
    }
}

fn string_match(
    p: &mut Problems,
    path: &str,
    provider: Provider,
    value: &StringMatch,
    kinds: StringMatches,
) {
    let used = [
        ("exact", value.exact.is_some(), kinds.exact),
        ("prefix", value.prefix.is_some(), kinds.prefix),
        ("suffix", value.suffix.is_some(), kinds.suffix),
        ("regex", value.regex.is_some(), kinds.regex),
    ];
    for (kind, set, supported) in used {
        if set && !supported {
            let can = if kinds.is_none() {
                "cannot route on it at all".to_owned()
            } else {
                format!("matches it by {} only", kinds.names())
            };
            p.add(
                path,
                format!("provider {provider} has no {kind} match here: it {can}"),
            );
        }
    }
}
