//! Route building and reading for the Gateway API router.

use serde_json::{Value, json};
use serin_crds::canary::{
    CanaryService, CustomMetadata, HttpMatchRequest, ParentReference, SessionAffinity, StringMatch,
};
use serin_crds::validation::{RoutingSpec, ServiceNames, Weight};
use serin_decide::Routes;

use super::*;
use crate::routers::Referenced;

fn service() -> CanaryService {
    CanaryService {
        port: 9898,
        hosts: Some(vec!["podinfo.example.com".into()]),
        gateway_refs: Some(vec![ParentReference {
            name: "public".into(),
            namespace: Some("gateway".into()),
            ..Default::default()
        }]),
        timeout: Some("30s".into()),
        ..Default::default()
    }
}

struct Fixture {
    names: ServiceNames,
    service: CanaryService,
    ab: Vec<HttpMatchRequest>,
    affinity: Option<SessionAffinity>,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            names: ServiceNames::new("podinfo", None),
            service: service(),
            ab: vec![],
            affinity: None,
        }
    }

    fn routing(&self) -> RoutingSpec {
        RoutingSpec {
            target: self.names.apex.clone(),
            names: self.names.clone(),
            service: self.service.clone(),
            has_service: true,
            service_matches: self.service.match_.clone().unwrap_or_default(),
            ab_matches: self.ab.clone(),
            ingress_ref: None,
            route_ref: None,
            upstream_ref: None,
        }
    }

    /// Calls `f` with the router's input for this fixture.
    fn with_input<T>(&self, f: impl FnOnce(&RouteInput<'_>) -> T) -> T {
        let routing = self.routing();
        let referenced = Referenced::new();
        f(&RouteInput {
            canary: "podinfo",
            namespace: "test",
            canary_uid: "uid-1",
            routing: &routing,
            session_affinity: self.affinity.as_ref(),
            annotations: &crate::routers::NO_ANNOTATIONS,
            referenced: &referenced,
        })
    }

    fn build(
        &self,
        version: GatewayApiVersion,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        self.with_input(|input| GatewayApi::new(version).desired_routes(input, split))
    }

    fn route(&self, split: &TrafficSplit) -> Value {
        let mut objects = self.build(GatewayApiVersion::V1, split).unwrap();
        assert_eq!(objects.len(), 1);
        objects.remove(0).object
    }
}

fn at(weight: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()))
}

fn mirrored(percent: Weight) -> TrafficSplit {
    TrafficSplit::new(Routes::mirrored(percent))
}

fn live(canary: u32, mirrored: bool) -> RouteObservation {
    let canary = Weight::new(canary).unwrap();
    RouteObservation::Live {
        routes: Routes {
            primary: canary.complement(),
            canary,
            mirror: mirrored.then_some(Weight::FULL),
            matched_to_canary: false,
        },
        confirmed: true,
    }
}

fn backends(primary: u8, canary: u8) -> Value {
    json!([
        {"group": "", "kind": "Service", "name": "podinfo-primary", "port": 9898, "weight": primary},
        {"group": "", "kind": "Service", "name": "podinfo-canary", "port": 9898, "weight": canary}
    ])
}

#[test]
fn a_progressive_step_splits_one_rule_by_weight() {
    let route = Fixture::new().route(&at(30));
    assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(route["metadata"]["name"], "podinfo");
    assert_eq!(
        route["spec"],
        json!({
            "parentRefs": [{"name": "public", "namespace": "gateway"}],
            "hostnames": ["podinfo.example.com"],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": backends(70, 30),
                "timeouts": {"request": "30s"}
            }]
        })
    );
}

#[test]
fn the_route_is_owned_by_the_canary_and_carries_apex_metadata() {
    let mut f = Fixture::new();
    f.service.apex = Some(CustomMetadata {
        labels: Some([("team".to_owned(), "web".to_owned())].into()),
        annotations: Some([("note".to_owned(), "managed".to_owned())].into()),
    });
    let route = f.route(&at(0));
    assert_eq!(route["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    assert_eq!(route["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(route["metadata"]["labels"], json!({"team": "web"}));
    assert_eq!(route["metadata"]["annotations"], json!({"note": "managed"}));
}

#[test]
fn v1beta1_routes_use_that_api_version() {
    let f = Fixture::new();
    let objects = f.build(GatewayApiVersion::V1beta1, &at(0)).unwrap();
    assert_eq!(objects[0].kind, HTTP_ROUTE_V1BETA1);
    assert_eq!(
        objects[0].object["apiVersion"],
        "gateway.networking.k8s.io/v1beta1"
    );
}

#[test]
fn ab_testing_sends_matching_requests_to_the_canary_and_the_rest_to_the_primary() {
    let mut f = Fixture::new();
    f.ab = vec![HttpMatchRequest {
        headers: Some(
            [(
                "x-canary".to_owned(),
                StringMatch {
                    exact: Some("insider".into()),
                    ..Default::default()
                },
            )]
            .into(),
        ),
        ..Default::default()
    }];
    let rules = f.route(&at(100))["spec"]["rules"].clone();
    assert_eq!(rules.as_array().unwrap().len(), 2);
    assert_eq!(
        rules[0]["matches"],
        json!([{"path": {"type": "PathPrefix", "value": "/"}, "headers": [{"type": "Exact", "name": "x-canary", "value": "insider"}]}])
    );
    assert_eq!(rules[0]["backendRefs"], backends(0, 100));
    assert_eq!(
        rules[1]["matches"],
        json!([{"path": {"type": "PathPrefix", "value": "/"}}])
    );
    assert_eq!(
        rules[1]["backendRefs"],
        json!([{"group": "", "kind": "Service", "name": "podinfo-primary", "port": 9898, "weight": 100}])
    );
}

#[test]
fn mirroring_copies_requests_to_the_canary_service() {
    let f = Fixture::new();
    let full = f.route(&mirrored(Weight::FULL));
    assert_eq!(
        full["spec"]["rules"][0]["filters"],
        json!([{"type": "RequestMirror", "requestMirror": {"backendRef": {"group": "", "kind": "Service", "name": "podinfo-canary", "port": 9898}}}])
    );
    let half = f.route(&mirrored(Weight::new(50).unwrap()));
    assert_eq!(
        half["spec"]["rules"][0]["filters"][0]["requestMirror"]["percent"],
        50
    );
    assert!(f.route(&at(0))["spec"]["rules"][0].get("filters").is_none());
}

fn affinity() -> SessionAffinity {
    SessionAffinity {
        cookie_name: "canary".into(),
        max_age: Some(120),
        secure: Some(true),
        ..Default::default()
    }
}

#[test]
fn during_a_run_with_session_affinity_canary_users_keep_the_canary() {
    let mut f = Fixture::new();
    f.affinity = Some(affinity());
    let split = TrafficSplit {
        sticky_cookie: Some("canary=a1b2".into()),
        ..at(20)
    };
    let rules = f.route(&split)["spec"]["rules"].clone();
    assert_eq!(
        rules[0]["matches"],
        json!([{"path": {"type": "PathPrefix", "value": "/"}, "headers": [{"type": "RegularExpression", "name": "Cookie", "value": ".*canary=a1b2.*"}]}])
    );
    assert_eq!(rules[0]["backendRefs"], backends(0, 100));
    assert_eq!(rules[1]["backendRefs"][0]["weight"], 80);
    assert_eq!(
        rules[1]["backendRefs"][1]["filters"],
        json!([{"type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [{"name": "Set-Cookie", "value": "canary=a1b2; Max-Age=120; Secure"}]}}])
    );
}

#[test]
fn after_a_run_the_previous_cookie_is_expired() {
    let mut f = Fixture::new();
    f.affinity = Some(affinity());
    let split = TrafficSplit {
        expired_cookie: Some("canary=a1b2".into()),
        ..at(0)
    };
    let rules = f.route(&split)["spec"]["rules"].clone();
    assert_eq!(rules[0]["backendRefs"], backends(100, 0));
    assert_eq!(
        rules[0]["filters"][0]["responseHeaderModifier"]["add"][0]["value"],
        "canary=a1b2; Max-Age=-1; Secure"
    );
    assert_eq!(rules[1]["backendRefs"], backends(100, 0));
}

#[test]
fn without_gateway_refs_no_route_can_be_built() {
    let mut f = Fixture::new();
    f.service.gateway_refs = None;
    let err = f.build(GatewayApiVersion::V1, &at(0)).unwrap_err();
    assert_eq!(err.category(), "inexpressible");
    assert!(err.to_string().starts_with("spec.service.gatewayRefs:"));
}

fn observed(route: &Value, generation: i64, conditions: &Value) -> Value {
    let mut r = route.clone();
    r["metadata"]["generation"] = json!(generation);
    r["status"] = json!({"parents": [{
        "parentRef": {"name": "public", "namespace": "gateway"},
        "controllerName": "example.com/gateway",
        "conditions": conditions
    }]});
    r
}

fn accepted(generation: i64) -> Value {
    json!([
        {"type": "Accepted", "status": "True", "reason": "Accepted", "observedGeneration": generation},
        {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "observedGeneration": generation}
    ])
}

fn state(f: &Fixture, routes: &[Value]) -> RouteObservation {
    f.with_input(|input| GatewayApi::new(GatewayApiVersion::V1).observe(input, routes))
}

#[test]
fn an_accepted_route_at_the_current_generation_is_live_with_its_weights() {
    let f = Fixture::new();
    let route = observed(&f.route(&at(30)), 4, &accepted(4));
    assert_eq!(state(&f, &[route]), live(30, false));
}

#[test]
fn acceptance_of_an_older_generation_is_not_enough() {
    let f = Fixture::new();
    let route = observed(&f.route(&at(30)), 5, &accepted(4));
    assert!(matches!(
        state(&f, &[route]),
        RouteObservation::Pending { .. }
    ));
}

#[test]
fn a_route_no_gateway_reported_on_is_pending_and_an_absent_one_missing() {
    let f = Fixture::new();
    let mut route = f.route(&at(10));
    route["metadata"]["generation"] = json!(1);
    assert!(matches!(
        state(&f, &[route]),
        RouteObservation::Pending { .. }
    ));
    assert_eq!(state(&f, &[]), RouteObservation::Missing);
}

#[test]
fn partially_invalid_or_rejected_routes_are_not_live() {
    let f = Fixture::new();
    let mut conditions = accepted(2);
    conditions.as_array_mut().unwrap().push(json!({"type": "PartiallyInvalid", "status": "True", "reason": "UnsupportedValue", "message": "filter CORS"}));
    let partial = observed(&f.route(&at(10)), 2, &conditions);
    assert!(
        matches!(state(&f, &[partial]), RouteObservation::Rejected { reason } if reason.contains("only in part") && reason.contains("filter CORS"))
    );
    let refused = observed(
        &f.route(&at(10)),
        2,
        &json!([{"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners", "observedGeneration": 2}]),
    );
    assert!(
        matches!(state(&f, &[refused]), RouteObservation::Rejected { reason } if reason.contains("NotAllowedByListeners"))
    );
    let unresolved = observed(
        &f.route(&at(10)),
        2,
        &json!([
            {"type": "Accepted", "status": "True", "reason": "Accepted", "observedGeneration": 2},
            {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound", "observedGeneration": 2}
        ]),
    );
    assert!(
        matches!(state(&f, &[unresolved]), RouteObservation::Rejected { reason } if reason.contains("BackendNotFound"))
    );
}

#[test]
fn the_sticky_rule_is_not_mistaken_for_the_weighted_one() {
    let mut f = Fixture::new();
    f.affinity = Some(affinity());
    let route = f.route(&TrafficSplit {
        sticky_cookie: Some("canary=x".into()),
        ..at(40)
    });
    let route = observed(&route, 1, &accepted(1));
    assert_eq!(state(&f, &[route]), live(40, false));
}

#[test]
fn mirroring_is_read_back() {
    let f = Fixture::new();
    let route = observed(&f.route(&mirrored(Weight::FULL)), 1, &accepted(1));
    assert_eq!(state(&f, &[route]), live(0, true));
}

#[test]
fn extension_filters_follow_the_derived_filters_on_every_rule() {
    let mut f = Fixture::new();
    f.service.headers = Some(serin_crds::canary::Headers {
        request: Some(serin_crds::canary::HeaderOperations {
            remove: Some(vec!["x-debug".into()]),
            ..Default::default()
        }),
        response: None,
    });
    f.service.extension_filters = Some(vec![serin_crds::canary::ExtensionFilterRef {
        group: "gateway.envoyproxy.io".into(),
        kind: "HTTPRouteFilter".into(),
        name: "add-tenant".into(),
    }]);
    f.ab = vec![
        serde_json::from_value(json!({"headers": {"x-canary": {"exact": "insider"}}}))
            .expect("a match"),
    ];
    let route = f.route(&mirrored(Weight::FULL));
    let extension = json!({"type": "ExtensionRef", "extensionRef": {
        "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": "add-tenant"
    }});
    let rules = route["spec"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 2, "the A/B rule and the rest");
    for rule in rules {
        let filters = rule["filters"].as_array().expect("filters");
        assert_eq!(filters[0]["type"], "RequestHeaderModifier");
        assert_eq!(filters[1], extension, "{rule}");
    }
    // The canary's mirror comes after the Canary's own filters on the weighted rule.
    assert_eq!(rules[0]["filters"][2]["type"], "RequestMirror");
}

/// The fixture as a gRPC service: a GRPCRoute, without the HTTP-only timeout.
fn grpc() -> Fixture {
    let mut f = Fixture::new();
    f.service.route_kind = Some(GatewayRouteKind::GrpcRoute);
    f.service.timeout = None;
    f
}

#[test]
fn a_grpc_service_gets_a_v1_grpc_route_split_by_weight() {
    let f = grpc();
    for version in [GatewayApiVersion::V1, GatewayApiVersion::V1beta1] {
        let objects = f.build(version, &at(30)).unwrap();
        assert_eq!(objects[0].kind, GRPC_ROUTE_V1);
        let route = &objects[0].object;
        assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
        assert_eq!(route["kind"], "GRPCRoute");
        assert_eq!(
            route["spec"],
            json!({
                "parentRefs": [{"name": "public", "namespace": "gateway"}],
                "hostnames": ["podinfo.example.com"],
                "rules": [{"matches": [{}], "backendRefs": backends(70, 30)}]
            })
        );
    }
}

#[test]
fn grpc_ab_testing_matches_methods_and_headers() {
    let mut f = grpc();
    f.ab = vec![
        serde_json::from_value(json!({
            "uri": {"prefix": "/podinfo.Echo/"},
            "headers": {"x-canary": {"exact": "insider"}},
        }))
        .expect("a match"),
    ];
    let rules = f.route(&at(100))["spec"]["rules"].clone();
    assert_eq!(
        rules[0]["matches"],
        json!([{
            "method": {"type": "Exact", "service": "podinfo.Echo"},
            "headers": [{"type": "Exact", "name": "x-canary", "value": "insider"}],
        }])
    );
    assert_eq!(rules[0]["backendRefs"], backends(0, 100));
    assert_eq!(rules[1]["matches"], json!([{}]));
}

#[test]
fn a_grpc_route_refuses_what_only_an_http_route_has() {
    let mut f = grpc();
    f.service.backend_timeout = Some("5s".into());
    let err = f.build(GatewayApiVersion::V1, &at(0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.service.backendTimeout: a GRPCRoute has no such setting"
    );
}

#[test]
fn a_grpc_route_is_read_back_and_an_http_route_of_the_name_is_not() {
    let f = grpc();
    let route = observed(&f.route(&at(30)), 2, &accepted(2));
    assert_eq!(state(&f, std::slice::from_ref(&route)), live(30, false));
    let mut http = route;
    http["kind"] = json!("HTTPRoute");
    assert_eq!(state(&f, &[http]), RouteObservation::Missing);
}
