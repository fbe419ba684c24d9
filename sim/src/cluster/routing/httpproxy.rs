//! Contour `HTTPProxies`: one rule per route, weighted across its Services as Envoy does (a
//! Service without a weight gets nothing when another has one; all without: an even split).

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Rule, backend, text};

/// The entry of an HTTPProxy; a route whose conditions test headers only serves requests that
/// carry them.
pub(super) fn entry(proxy: &Value) -> (Entry, Vec<String>) {
    let (namespace, name) = key_of(proxy);
    let mut referenced = vec![name.clone()];
    let rules = proxy["spec"]["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|route| {
            let needs_headers = route["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["header"].is_object()));
            let services = route["services"].as_array().map_or(&[][..], Vec::as_slice);
            let weighted = services
                .iter()
                .any(|s| s["weight"].as_f64().unwrap_or(0.0) > 0.0);
            let backends: Vec<Backend> = services
                .iter()
                .map(|s| {
                    let weight = match s["weight"].as_f64() {
                        Some(w) => w,
                        None if weighted => 0.0,
                        None => 1.0,
                    };
                    backend(text(&s["name"]), weight)
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
    (
        Entry {
            namespace,
            id: format!("httpproxy/{name}"),
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

    #[test]
    fn weights_split_each_route_and_header_routes_need_headers() {
        let proxy = json!({"metadata": {"namespace": "test", "name": "podinfo"}, "spec": {"routes": [
            {"conditions": [{"prefix": "/", "header": {"name": "x-canary", "exact": "insider"}}],
             "services": [{"name": "podinfo-primary", "port": 80}, {"name": "podinfo-canary", "port": 80, "weight": 100}]},
            {"conditions": [{"prefix": "/"}],
             "services": [{"name": "podinfo-primary", "port": 80, "weight": 70}, {"name": "podinfo-canary", "port": 80, "weight": 30}]},
            {"services": [{"name": "a"}, {"name": "b"}]}
        ]}});
        let (entry, referenced) = entry(&proxy);
        assert_eq!(entry.id, "httpproxy/podinfo");
        assert!(referenced.contains(&"podinfo".to_owned()));
        assert!(entry.rules[0].needs_headers && !entry.rules[1].needs_headers);
        let weights =
            |i: usize| -> Vec<f64> { entry.rules[i].backends.iter().map(|b| b.weight).collect() };
        assert_eq!(weights(0), [0.0, 100.0]);
        assert_eq!(weights(1), [70.0, 30.0]);
        assert_eq!(weights(2), [1.0, 1.0]);
    }
}
