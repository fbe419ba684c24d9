//! Where traffic enters and how routing objects split it: Services, and each kind of routing
//! object in a file of its own (HTTPRoutes, VirtualServices, `TrafficSplits`, NGINX canary
//! Ingresses, Contour `HTTPProxies`, `TraefikServices`, `ApisixRoutes`, Gloo `RouteTables`, Kuma
//! `TrafficRoutes` and `MeshHTTPRoutes`).

mod apisixroute;
mod httpproxy;
mod httproute;
mod ingress;
mod kuma;
mod routetable;
mod traefikservice;
mod trafficsplit;
mod virtualservice;

use std::collections::BTreeSet;

use serde_json::Value;

use super::snapshot::{Snapshot, key_of};

/// One backend of a rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Backend {
    pub(crate) service: String,
    pub(crate) weight: f64,
    /// NGINX `canary` label: the canary upstream, or empty.
    pub(crate) nginx_canary: String,
    /// Skipper's route id for this backend (traffic through an Ingress), or empty.
    pub(crate) skipper_route: String,
    /// APISIX's route name for this backend (traffic through an `ApisixRoute`), or empty.
    pub(crate) apisix_route: String,
}

/// One routing rule: who it matches and where it sends traffic.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    /// Whether the rule only matches requests carrying matching headers.
    pub(crate) needs_headers: bool,
    pub(crate) backends: Vec<Backend>,
    /// Services receiving a copy of the rule's traffic, each with the share of requests copied
    /// (1.0: all).
    pub(crate) mirrors: Vec<Mirror>,
}

/// A Service receiving copies of a share of a rule's requests.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mirror {
    pub(crate) service: String,
    /// Share of the requests copied, 0.0 to 1.0.
    pub(crate) fraction: f64,
}

/// A place where the simulated load enters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) namespace: String,
    /// `kind/name`, unique per namespace.
    pub(crate) id: String,
    /// The Ingress name for NGINX metrics, if the entry is an Ingress.
    pub(crate) ingress: Option<String>,
    pub(crate) rules: Vec<Rule>,
}

pub(super) fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

pub(super) fn short_host(host: &str) -> String {
    host.split('.').next().unwrap_or_default().to_owned()
}

pub(super) fn backend(service: String, weight: f64) -> Backend {
    Backend {
        service,
        weight,
        nginx_canary: String::new(),
        skipper_route: String::new(),
        apisix_route: String::new(),
    }
}

/// Every entry point of the snapshot: routing objects, then Services nothing routes to.
pub(crate) fn entries(snapshot: &Snapshot) -> Vec<Entry> {
    let mut routed = Vec::new();
    routed.extend(snapshot.httproutes.iter().map(|o| httproute::entry(o)));
    routed.extend(snapshot.grpcroutes.iter().map(|o| httproute::entry(o)));
    routed.extend(
        snapshot
            .virtualservices
            .iter()
            .map(|o| virtualservice::entry(o)),
    );
    routed.extend(
        snapshot
            .trafficsplits
            .iter()
            .map(|o| trafficsplit::entry(o)),
    );
    routed.extend(snapshot.httpproxies.iter().map(|o| httpproxy::entry(o)));
    routed.extend(
        snapshot
            .traefikservices
            .iter()
            .map(|o| traefikservice::entry(o)),
    );
    routed.extend(apisixroute::entries(&snapshot.apisixroutes));
    routed.extend(ingress::entries(&snapshot.ingresses));
    routed.extend(
        snapshot
            .routetables
            .iter()
            .map(|o| routetable::entry(o, &snapshot.upstreams)),
    );
    routed.extend(
        snapshot
            .trafficroutes
            .iter()
            .filter_map(|o| kuma::traffic_route_entry(o)),
    );
    routed.extend(
        snapshot
            .meshhttproutes
            .iter()
            .flat_map(|o| kuma::mesh_http_route_entries(o)),
    );
    let referenced: BTreeSet<(String, String)> = routed
        .iter()
        .flat_map(|(entry, names)| names.iter().map(|n| (entry.namespace.clone(), n.clone())))
        .collect();
    let mut entries: Vec<Entry> = routed.into_iter().map(|(entry, _)| entry).collect();
    for service in &snapshot.services {
        let key = key_of(service);
        let has_selector = service["spec"]["selector"]
            .as_object()
            .is_some_and(|s| !s.is_empty());
        if has_selector && !referenced.contains(&key) {
            let rule = Rule {
                needs_headers: false,
                backends: vec![backend(key.1.clone(), 1.0)],
                mirrors: Vec::new(),
            };
            entries.push(Entry {
                namespace: key.0,
                id: format!("service/{}", key.1),
                ingress: None,
                rules: vec![rule],
            });
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(name: &str, app: &str) -> Value {
        json!({"metadata": {"namespace": "test", "name": name}, "spec": {"selector": {"app": app}}})
    }

    #[test]
    fn httproute_weights_replace_the_apex_service_entry() {
        let route = json!({"metadata": {"namespace": "test", "name": "podinfo"}, "spec": {"rules": [
            {"matches": [{"headers": [{"name": "x-canary", "value": "insider"}]}],
             "backendRefs": [{"name": "podinfo-canary"}]},
            {"backendRefs": [{"name": "podinfo-primary", "weight": 90}, {"name": "podinfo-canary", "weight": 10}],
             "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "podinfo-canary"}}}]}]}});
        let snapshot = Snapshot {
            httproutes: vec![route.into()],
            services: vec![
                service("podinfo", "podinfo-primary").into(),
                service("podinfo-primary", "podinfo-primary").into(),
                service("podinfo-canary", "podinfo").into(),
                service("other", "other").into(),
            ],
            ..Snapshot::default()
        };
        let entries = entries(&snapshot);
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["httproute/podinfo", "service/other"]);
        // A GRPCRoute's rules are read the same way, under its own id.
        let mut grpc_route = (*snapshot.httproutes[0]).clone();
        grpc_route["kind"] = json!("GRPCRoute");
        let grpc = Snapshot {
            httproutes: Vec::new(),
            grpcroutes: vec![grpc_route.into()],
            ..snapshot.clone()
        };
        let grpc_entries = super::entries(&grpc);
        assert_eq!(grpc_entries[0].id, "grpcroute/podinfo");
        assert_eq!(grpc_entries[0].rules, entries[0].rules);
        let rules = &entries[0].rules;
        assert!(rules[0].needs_headers && !rules[1].needs_headers);
        assert_eq!(rules[1].backends[1], backend("podinfo-canary".into(), 10.0));
        assert_eq!(
            rules[1].mirrors,
            [Mirror {
                service: "podinfo-canary".into(),
                fraction: 1.0
            }]
        );
    }

    #[test]
    fn kuma_policies_replace_the_entries_of_the_services_they_split() {
        let services = || {
            vec![
                service("podinfo", "podinfo-primary").into(),
                service("podinfo-primary", "podinfo-primary").into(),
                service("podinfo-canary", "podinfo").into(),
                service("other", "other").into(),
            ]
        };
        let tag = |s: &str| json!({"kuma.io/service": format!("{s}_test_svc_80")});
        let traffic_route = json!({"metadata": {"name": "podinfo"}, "mesh": "default", "spec": {
            "destinations": [{"match": tag("podinfo")}],
            "conf": {"split": [{"weight": 80, "destination": tag("podinfo-primary")},
                               {"weight": 20, "destination": tag("podinfo-canary")}]}}});
        let mesh_http_route = json!({"metadata": {"namespace": "test", "name": "podinfo"}, "spec": {
            "to": [{"targetRef": {"kind": "MeshService", "name": "podinfo"}, "rules": [{"default": {"backendRefs": [
                {"kind": "MeshService", "name": "podinfo-primary", "weight": 80},
                {"kind": "MeshService", "name": "podinfo-canary", "weight": 20}]}}]}]}});
        for (snapshot, id) in [
            (
                Snapshot {
                    trafficroutes: vec![traffic_route.into()],
                    services: services(),
                    ..Snapshot::default()
                },
                "trafficroute/podinfo",
            ),
            (
                Snapshot {
                    meshhttproutes: vec![mesh_http_route.into()],
                    services: services(),
                    ..Snapshot::default()
                },
                "meshhttproute/podinfo/podinfo",
            ),
        ] {
            let entries = entries(&snapshot);
            let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids, [id, "service/other"]);
            assert_eq!(entries[0].namespace, "test");
            let weights: Vec<f64> = entries[0].rules[0]
                .backends
                .iter()
                .map(|b| b.weight)
                .collect();
            assert_eq!(weights, [80.0, 20.0]);
        }
    }

    #[test]
    fn nginx_canary_weight_splits_the_primary_ingress() {
        let ingress = |name: &str, svc: &str, canary: Option<&str>| {
            let mut annotations = json!({});
            if let Some(w) = canary {
                annotations = json!({"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": w});
            }
            json!({"metadata": {"namespace": "test", "name": name, "annotations": annotations},
                   "spec": {"rules": [{"host": "app.example.com", "http": {"paths": [{"backend": {"service": {"name": svc}}}]}}]}})
        };
        let snapshot = Snapshot {
            ingresses: vec![
                ingress("podinfo", "podinfo-primary", None).into(),
                ingress("podinfo-canary", "podinfo-canary", Some("30")).into(),
            ],
            ..Snapshot::default()
        };
        let entries = entries(&snapshot);
        assert_eq!(entries.len(), 1);
        let backends = &entries[0].rules[0].backends;
        assert_eq!((backends[0].weight, backends[1].weight), (70.0, 30.0));
        assert_eq!(backends[1].nginx_canary, "podinfo-canary");
        assert_eq!(entries[0].ingress.as_deref(), Some("podinfo"));
    }
}
