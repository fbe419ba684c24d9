//! Kuma policies: cluster-scoped `TrafficRoutes` (a split between `kuma.io/service` tags,
//! `<service>_<namespace>_svc_<port>`) and namespaced `MeshHTTPRoutes` (weighted `MeshService`
//! backends per destination).

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Entry, Rule, backend, text};

/// `(namespace, service)` of a `kuma.io/service` tag; `None` for `*` and other tags.
fn service_of(tag: &str) -> Option<(String, String)> {
    let (service_namespace, _port) = tag.rsplit_once("_svc_")?;
    let (service, namespace) = service_namespace.split_once('_')?;
    Some((namespace.to_owned(), service.to_owned()))
}

/// The entry of a `TrafficRoute`: the services of its destinations split as `conf.split` says,
/// in the namespace of its first destination (none when no destination names a service).
pub(super) fn traffic_route_entry(route: &Value) -> Option<(Entry, Vec<String>)> {
    let (_, name) = key_of(route);
    let destinations: Vec<(String, String)> = route["spec"]["destinations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| service_of(d["match"]["kuma.io/service"].as_str()?))
        .collect();
    let namespace = destinations.first()?.0.clone();
    let backends: Vec<_> = route["spec"]["conf"]["split"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let (ns, service) = service_of(s["destination"]["kuma.io/service"].as_str()?)?;
            (ns == namespace).then(|| backend(service, s["weight"].as_f64().unwrap_or(0.0)))
        })
        .collect();
    let mut referenced: Vec<String> = backends.iter().map(|b| b.service.clone()).collect();
    referenced.extend(destinations.into_iter().map(|(_, service)| service));
    let rule = Rule {
        needs_headers: false,
        backends,
        mirrors: Vec::new(),
    };
    Some((
        Entry {
            namespace,
            id: format!("trafficroute/{name}"),
            ingress: None,
            rules: vec![rule],
        },
        referenced,
    ))
}

/// The entries of a `MeshHTTPRoute`: one per destination in its namespace, each rule's
/// `MeshService` backends weighted (Kuma's default weight is 1).
pub(super) fn mesh_http_route_entries(route: &Value) -> Vec<(Entry, Vec<String>)> {
    let (namespace, name) = key_of(route);
    let in_namespace = |r: &Value| r["namespace"].as_str().is_none_or(|ns| ns == namespace);
    let mut entries = Vec::new();
    for to in route["spec"]["to"].as_array().into_iter().flatten() {
        let target = &to["targetRef"];
        if target["kind"] != "MeshService" || !in_namespace(target) {
            continue;
        }
        let mut referenced = vec![text(&target["name"])];
        let rules: Vec<Rule> = to["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|rule| {
                let backends: Vec<_> = rule["default"]["backendRefs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|b| b["kind"] == "MeshService" && in_namespace(b))
                    .map(|b| backend(text(&b["name"]), b["weight"].as_f64().unwrap_or(1.0)))
                    .collect();
                referenced.extend(backends.iter().map(|b| b.service.clone()));
                let needs_headers = rule["matches"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|m| m["headers"].as_array().is_some_and(|h| !h.is_empty()));
                Rule {
                    needs_headers,
                    backends,
                    mirrors: Vec::new(),
                }
            })
            .collect();
        entries.push((
            Entry {
                namespace: namespace.clone(),
                id: format!("meshhttproute/{name}/{}", text(&target["name"])),
                ingress: None,
                rules,
            },
            referenced,
        ));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_traffic_route_splits_its_destination_between_the_tagged_services() {
        let route = json!({"metadata": {"name": "podinfo"}, "mesh": "default", "spec": {
        "sources": [{"match": {"kuma.io/service": "*"}}],
        "destinations": [{"match": {"kuma.io/service": "podinfo_test_svc_9898"}}],
        "conf": {"split": [
            {"weight": 70, "destination": {"kuma.io/service": "podinfo-primary_test_svc_9898"}},
            {"weight": 30, "destination": {"kuma.io/service": "podinfo-canary_test_svc_9898"}},
            {"weight": 5, "destination": {"kuma.io/service": "other_prod_svc_80"}},
        ]}}});
        let (entry, referenced) = traffic_route_entry(&route).unwrap();
        assert_eq!(entry.namespace, "test");
        assert_eq!(entry.id, "trafficroute/podinfo");
        assert_eq!(referenced, ["podinfo-primary", "podinfo-canary", "podinfo"]);
        assert_eq!(
            entry.rules[0].backends,
            [
                backend("podinfo-primary".into(), 70.0),
                backend("podinfo-canary".into(), 30.0)
            ]
        );
        let nowhere = json!({"metadata": {"name": "x"}, "spec": {"destinations": [{"match": {"kuma.io/service": "*"}}]}});
        assert!(traffic_route_entry(&nowhere).is_none());
    }

    #[test]
    fn a_mesh_http_route_weights_mesh_service_backends_per_destination() {
        let route = json!({"metadata": {"namespace": "test", "name": "podinfo"}, "spec": {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "MeshService", "name": "podinfo"}, "rules": [
                {"matches": [{"headers": [{"name": "x-canary", "value": "insider"}]}],
                 "default": {"backendRefs": [{"kind": "MeshService", "name": "podinfo-canary"}]}},
                {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                 "default": {"backendRefs": [
                    {"kind": "MeshService", "name": "podinfo-primary", "namespace": "test", "port": 9898, "weight": 90},
                    {"kind": "MeshService", "name": "podinfo-canary", "namespace": "test", "port": 9898, "weight": 10},
                    {"kind": "MeshService", "name": "elsewhere", "namespace": "prod", "weight": 10}]}}]},
                   {"targetRef": {"kind": "MeshService", "name": "other", "namespace": "prod"}, "rules": []}]}});
        let entries = mesh_http_route_entries(&route);
        assert_eq!(entries.len(), 1);
        let (entry, referenced) = &entries[0];
        assert_eq!(entry.id, "meshhttproute/podinfo/podinfo");
        assert_eq!(referenced[0], "podinfo");
        assert!(entry.rules[0].needs_headers && !entry.rules[1].needs_headers);
        assert_eq!(
            entry.rules[0].backends[0],
            backend("podinfo-canary".into(), 1.0)
        );
        let weights: Vec<f64> = entry.rules[1].backends.iter().map(|b| b.weight).collect();
        assert_eq!(weights, [90.0, 10.0]);
    }
}
