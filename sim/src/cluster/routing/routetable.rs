//! Gloo `RouteTables`: one rule per route, weighted across its destinations' Upstreams, each
//! Upstream standing for the Kubernetes Service of its `kube` section. A route with matchers
//! only serves the requests that carry them; requests no route takes get the default route of
//! the VirtualService that delegates to the table, taken here as the Service named like the
//! table (Flagger names it after the apex Service).

use std::sync::Arc;

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Rule, backend, text};

/// The Service of the Upstream `name` in `namespace`, if it is a Kubernetes Upstream.
fn service_of(upstreams: &[Arc<Value>], namespace: &str, name: &str) -> Option<String> {
    upstreams
        .iter()
        .find(|u| key_of(u) == (namespace.to_owned(), name.to_owned()))
        .and_then(|u| u["spec"]["kube"]["serviceName"].as_str())
        .map(str::to_owned)
}

pub(super) fn entry(table: &Value, upstreams: &[Arc<Value>]) -> (Entry, Vec<String>) {
    let (namespace, name) = key_of(table);
    let mut referenced = vec![name.clone()];
    let mut rules: Vec<Rule> = table["spec"]["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|route| {
            let needs_headers = route["matchers"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|m| m.as_object().is_some_and(|m| !m.is_empty()))
            });
            let destinations = route["routeAction"]["multi"]["destinations"].as_array();
            let backends: Vec<Backend> = destinations
                .into_iter()
                .flatten()
                .filter_map(|d| {
                    let upstream = &d["destination"]["upstream"];
                    let upstream_ns = upstream["namespace"].as_str().unwrap_or(&namespace);
                    let service = service_of(upstreams, upstream_ns, &text(&upstream["name"]))?;
                    Some(backend(service, d["weight"].as_f64().unwrap_or(0.0)))
                })
                .collect();
            referenced.extend(backends.iter().map(|b| b.service.clone()));
            Rule {
                needs_headers,
                backends,
                mirrors: Vec::new(),
            }
        })
        .collect();
    if rules.iter().all(|r| r.needs_headers) {
        rules.push(Rule {
            needs_headers: false,
            backends: vec![backend(name.clone(), 1.0)],
            mirrors: Vec::new(),
        });
    }
    (
        Entry {
            namespace,
            id: format!("routetable/{name}"),
            ingress: None,
            rules,
        },
        referenced,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upstream(name: &str, service: &str) -> Arc<Value> {
        Arc::new(json!({"metadata": {"namespace": "test", "name": name},
                        "spec": {"kube": {"serviceName": service, "serviceNamespace": "test", "servicePort": 80}}}))
    }

    fn destination(upstream: &str, weight: Option<u32>) -> Value {
        json!({"destination": {"upstream": {"name": upstream, "namespace": "test"}}, "weight": weight})
    }

    #[test]
    fn destinations_split_by_upstream_service_and_matched_routes_need_headers() {
        let upstreams = [
            upstream("p", "podinfo-primary"),
            upstream("c", "podinfo-canary"),
        ];
        let table = |matchers: Value| {
            json!({"metadata": {"namespace": "test", "name": "podinfo"}, "spec": {"routes": [
                {"matchers": matchers, "routeAction": {"multi": {"destinations": [
                    destination("p", Some(70)), destination("c", Some(30)), destination("unknown", Some(5))
                ]}}}
            ]}})
        };
        let (entry, referenced) = entry(&table(Value::Null), &upstreams);
        assert_eq!(entry.id, "routetable/podinfo");
        assert_eq!(referenced, ["podinfo", "podinfo-primary", "podinfo-canary"]);
        assert_eq!(entry.rules.len(), 1);
        assert!(!entry.rules[0].needs_headers);
        assert_eq!(
            entry.rules[0].backends,
            [
                backend("podinfo-primary".into(), 70.0),
                backend("podinfo-canary".into(), 30.0)
            ]
        );
        let matched = table(json!([{"headers": [{"name": "x-canary", "value": "insider"}]}]));
        let (ab, _) = super::entry(&matched, &upstreams);
        assert!(ab.rules[0].needs_headers);
        assert_eq!(ab.rules[1].backends, [backend("podinfo".into(), 1.0)]);
    }
}
