//! What each traffic router can express: one table, read by validation (so that `serin lint` and
//! the controller refuse what a router cannot do, naming the field) and checked against the
//! routers themselves by their contract test.

use crate::canary::{GatewayRouteKind, Provider};

/// Which kinds of string match a router can express for one request attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one flag per kind of string match"
)]
pub struct StringMatches {
    /// `exact`.
    pub exact: bool,
    /// `prefix`.
    pub prefix: bool,
    /// `suffix`.
    pub suffix: bool,
    /// `regex`.
    pub regex: bool,
}

impl StringMatches {
    /// The attribute cannot be matched at all.
    pub const NONE: StringMatches = StringMatches {
        exact: false,
        prefix: false,
        suffix: false,
        regex: false,
    };
    /// Every kind of match.
    pub const ALL: StringMatches = StringMatches {
        exact: true,
        prefix: true,
        suffix: true,
        regex: true,
    };
    /// Exact values only.
    pub const EXACT: StringMatches = StringMatches {
        exact: true,
        ..StringMatches::NONE
    };
    /// Exact values and regular expressions.
    pub const EXACT_OR_REGEX: StringMatches = StringMatches {
        exact: true,
        regex: true,
        ..StringMatches::NONE
    };

    /// Whether no kind is supported.
    pub fn is_none(self) -> bool {
        self == StringMatches::NONE
    }

    /// The names of the supported kinds, for messages (`exact, regex`).
    pub fn names(self) -> String {
        [
            ("exact", self.exact),
            ("prefix", self.prefix),
            ("suffix", self.suffix),
            ("regex", self.regex),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// Which parts of an `HttpMatchRequest` a router can route on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one flag per request attribute"
)]
pub struct MatchSupport {
    /// `uri`.
    pub uri: StringMatches,
    /// `scheme`.
    pub scheme: StringMatches,
    /// `method`.
    pub method: StringMatches,
    /// `authority`.
    pub authority: StringMatches,
    /// Each entry of `headers`.
    pub headers: StringMatches,
    /// Each entry of `queryParams`.
    pub query_params: StringMatches,
    /// Each entry of `withoutHeaders`.
    pub without_headers: StringMatches,
    /// `port`.
    pub port: bool,
    /// `sourceLabels`.
    pub source_labels: bool,
    /// `sourceNamespace`.
    pub source_namespace: bool,
    /// `gateways`.
    pub gateways: bool,
    /// `ignoreUriCase`.
    pub ignore_uri_case: bool,
    /// How many matches the router can hold at once.
    pub limit: MatchLimit,
}

/// How many request matches a router can hold at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchLimit {
    /// None: the router has no A/B testing.
    Nothing,
    /// Any number of entries, each with any number of conditions.
    Any,
    /// Across all entries, one header other than `cookie` and one `cookie` header whose exact
    /// value is the name of the cookie that selects the canary (NGINX's `canary-by-header` and
    /// `canary-by-cookie`).
    OneHeaderAndOneCookie,
}

impl MatchSupport {
    /// Nothing can be matched.
    pub const NONE: MatchSupport = MatchSupport {
        uri: StringMatches::NONE,
        scheme: StringMatches::NONE,
        method: StringMatches::NONE,
        authority: StringMatches::NONE,
        headers: StringMatches::NONE,
        query_params: StringMatches::NONE,
        without_headers: StringMatches::NONE,
        port: false,
        source_labels: false,
        source_namespace: false,
        gateways: false,
        ignore_uri_case: false,
        limit: MatchLimit::Nothing,
    };

    /// Whether the router routes by request attributes at all (A/B testing).
    pub fn any(&self) -> bool {
        self.limit != MatchLimit::Nothing
    }
}

/// How a router copies requests to the canary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mirroring {
    /// It cannot.
    None,
    /// Every request, whatever `mirrorWeight` says.
    AllRequests,
    /// The share of requests `mirrorWeight` gives.
    Percent,
}

/// A reference a router needs in the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequiredRef {
    /// `spec.ingressRef`: the Ingress the router copies.
    IngressRef,
    /// `spec.routeRef`: the ApisixRoute the router copies.
    RouteRef,
    /// `spec.service.gatewayRefs`: the Gateways the route attaches to.
    GatewayRefs,
    /// A Knative Service target (`serving.knative.dev/v1`).
    KnativeTarget,
}

impl RequiredRef {
    /// The field that must be set, and why, for messages.
    pub fn field_and_reason(self) -> (&'static str, &'static str) {
        match self {
            RequiredRef::IngressRef => ("spec.ingressRef", "the Ingress that routes to the target"),
            RequiredRef::RouteRef => ("spec.routeRef", "the ApisixRoute that routes to the target"),
            RequiredRef::GatewayRefs => (
                "spec.service.gatewayRefs",
                "the Gateways the HTTPRoute attaches to",
            ),
            RequiredRef::KnativeTarget => (
                "spec.targetRef",
                "a Knative Service target (apiVersion serving.knative.dev/v1, kind Service)",
            ),
        }
    }
}

/// What a router can express.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Splits traffic by weight, so progressive releases (`stepWeight`, `stepWeights`) work.
    pub weighted: bool,
    /// What A/B testing (`spec.analysis.match`) can route on; [`MatchSupport::NONE`] when the
    /// router has no A/B testing.
    pub ab_matches: MatchSupport,
    /// Whether the router applies `spec.service.match` (the requests the routes serve at all);
    /// others ignore it, as in Flagger.
    pub service_matches: bool,
    /// Traffic mirroring (`spec.analysis.mirror`).
    pub mirroring: Mirroring,
    /// Cookie-based session affinity (`spec.analysis.sessionAffinity`).
    pub session_affinity: bool,
    /// References the spec must carry.
    pub required: &'static [RequiredRef],
}

const NOTHING: Capabilities = Capabilities {
    weighted: false,
    ab_matches: MatchSupport::NONE,
    service_matches: false,
    mirroring: Mirroring::None,
    session_affinity: false,
    required: &[],
};

const WEIGHTS_ONLY: Capabilities = Capabilities {
    weighted: true,
    ..NOTHING
};

/// Istio's `HTTPMatchRequest`, which is where `spec.analysis.match` comes from: everything.
const ISTIO_MATCHES: MatchSupport = MatchSupport {
    uri: StringMatches::ALL,
    scheme: StringMatches::ALL,
    method: StringMatches::ALL,
    authority: StringMatches::ALL,
    headers: StringMatches::ALL,
    query_params: StringMatches::ALL,
    without_headers: StringMatches::ALL,
    port: true,
    source_labels: true,
    source_namespace: true,
    gateways: true,
    ignore_uri_case: true,
    limit: MatchLimit::Any,
};

/// Gateway API's `HTTPRouteMatch`: path, method, headers and query parameters. Header and query
/// prefix or suffix matches become anchored regular expressions.
const GATEWAY_API_MATCHES: MatchSupport = MatchSupport {
    uri: StringMatches {
        exact: true,
        prefix: true,
        suffix: false,
        regex: true,
    },
    method: StringMatches::EXACT,
    headers: StringMatches::ALL,
    query_params: StringMatches::ALL,
    limit: MatchLimit::Any,
    ..MatchSupport::NONE
};

/// Gateway API's `GRPCRouteMatch`: headers, and the gRPC method, written as a `uri` that is exact
/// (`/package.Service/Method`) or a prefix naming the service (`/package.Service/`).
const GRPC_ROUTE_MATCHES: MatchSupport = MatchSupport {
    uri: StringMatches {
        exact: true,
        prefix: true,
        suffix: false,
        regex: false,
    },
    headers: StringMatches::ALL,
    limit: MatchLimit::Any,
    ..MatchSupport::NONE
};

/// NGINX's canary annotations: one header, by exact value or regular expression (a `cookie`
/// header selects the canary by cookie).
const NGINX_MATCHES: MatchSupport = MatchSupport {
    headers: StringMatches::EXACT_OR_REGEX,
    limit: MatchLimit::OneHeaderAndOneCookie,
    ..MatchSupport::NONE
};

/// Contour's header conditions: exact values, and prefix or suffix as `contains`.
const CONTOUR_MATCHES: MatchSupport = MatchSupport {
    headers: StringMatches {
        exact: true,
        prefix: true,
        suffix: true,
        regex: false,
    },
    limit: MatchLimit::Any,
    ..MatchSupport::NONE
};

/// Gloo's matchers: headers by value or regular expression, and methods.
const GLOO_MATCHES: MatchSupport = MatchSupport {
    headers: StringMatches::EXACT_OR_REGEX,
    method: StringMatches::EXACT,
    limit: MatchLimit::Any,
    ..MatchSupport::NONE
};

/// What the router of `provider` can express.
pub fn capabilities(provider: Provider) -> Capabilities {
    match provider {
        Provider::Kubernetes => NOTHING,
        Provider::Istio => Capabilities {
            weighted: true,
            ab_matches: ISTIO_MATCHES,
            service_matches: true,
            mirroring: Mirroring::Percent,
            session_affinity: true,
            required: &[],
        },
        Provider::GatewayApi | Provider::GatewayApiV1 | Provider::GatewayApiV1beta1 => {
            Capabilities {
                weighted: true,
                ab_matches: GATEWAY_API_MATCHES,
                service_matches: true,
                mirroring: Mirroring::Percent,
                session_affinity: true,
                required: &[RequiredRef::GatewayRefs],
            }
        }
        Provider::Nginx => Capabilities {
            ab_matches: NGINX_MATCHES,
            required: &[RequiredRef::IngressRef],
            ..WEIGHTS_ONLY
        },
        Provider::Contour => Capabilities {
            ab_matches: CONTOUR_MATCHES,
            ..WEIGHTS_ONLY
        },
        Provider::Gloo => Capabilities {
            ab_matches: GLOO_MATCHES,
            ..WEIGHTS_ONLY
        },
        Provider::Skipper => Capabilities {
            required: &[RequiredRef::IngressRef],
            ..WEIGHTS_ONLY
        },
        Provider::Apisix => Capabilities {
            required: &[RequiredRef::RouteRef],
            ..WEIGHTS_ONLY
        },
        Provider::Knative => Capabilities {
            required: &[RequiredRef::KnativeTarget],
            ..WEIGHTS_ONLY
        },
        Provider::Linkerd
        | Provider::SmiV1alpha1
        | Provider::SmiV1alpha2
        | Provider::SmiV1alpha3
        | Provider::Osm
        | Provider::Kuma
        | Provider::Traefik
        | Provider::AppMesh
        | Provider::AppMeshV1beta2 => WEIGHTS_ONLY,
    }
}

/// What the router of `provider` can express when it writes routes of `route_kind`
/// (`spec.service.routeKind`): a GRPCRoute matches less than an HTTPRoute.
pub fn route_capabilities(provider: Provider, route_kind: GatewayRouteKind) -> Capabilities {
    let caps = capabilities(provider);
    match route_kind {
        GatewayRouteKind::GrpcRoute if caps.required.contains(&RequiredRef::GatewayRefs) => {
            Capabilities {
                ab_matches: GRPC_ROUTE_MATCHES,
                ..caps
            }
        }
        _ => caps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grpc_route_matches_methods_and_headers_only() {
        let grpc = route_capabilities(Provider::GatewayApiV1, GatewayRouteKind::GrpcRoute);
        assert!(grpc.ab_matches.uri.exact && !grpc.ab_matches.uri.regex);
        assert!(grpc.ab_matches.query_params.is_none() && grpc.ab_matches.method.is_none());
        assert_eq!(
            route_capabilities(Provider::GatewayApiV1, GatewayRouteKind::HttpRoute),
            capabilities(Provider::GatewayApiV1)
        );
        assert_eq!(
            route_capabilities(Provider::Istio, GatewayRouteKind::GrpcRoute),
            capabilities(Provider::Istio)
        );
    }

    #[test]
    fn only_the_kubernetes_router_cannot_split_by_weight() {
        for provider in Provider::ALL {
            assert_eq!(
                capabilities(provider).weighted,
                provider != Provider::Kubernetes,
                "{provider}"
            );
        }
    }

    #[test]
    fn mirroring_and_session_affinity_belong_to_istio_and_gateway_api() {
        let with = |f: fn(&Capabilities) -> bool| {
            Provider::ALL
                .into_iter()
                .filter(|p| f(&capabilities(*p)))
                .collect::<Vec<_>>()
        };
        let expected = vec![
            Provider::GatewayApi,
            Provider::GatewayApiV1,
            Provider::GatewayApiV1beta1,
            Provider::Istio,
        ];
        assert_eq!(with(|c| c.mirroring != Mirroring::None), expected);
        assert_eq!(with(|c| c.session_affinity), expected);
    }

    #[test]
    fn string_match_names_list_the_supported_kinds() {
        assert_eq!(StringMatches::EXACT_OR_REGEX.names(), "exact, regex");
        assert!(StringMatches::NONE.is_none());
    }
}
