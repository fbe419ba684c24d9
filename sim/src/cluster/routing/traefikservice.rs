//! `TraefikServices`: a weighted round robin over Kubernetes Services, each entry weighing 1
//! unless it says otherwise (Traefik's default).

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Rule, backend, text};

/// The entry of a TraefikService: one rule over its weighted Services.
pub(super) fn entry(service: &Value) -> (Entry, Vec<String>) {
    let (namespace, name) = key_of(service);
    let backends: Vec<Backend> = service["spec"]["weighted"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| backend(text(&s["name"]), s["weight"].as_f64().unwrap_or(1.0)))
        .collect();
    let mut referenced: Vec<String> = backends.iter().map(|b| b.service.clone()).collect();
    referenced.push(name.clone());
    (
        Entry {
            namespace,
            id: format!("traefikservice/{name}"),
            ingress: None,
            rules: vec![Rule {
                needs_headers: false,
                backends,
                mirrors: Vec::new(),
            }],
        },
        referenced,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn weights_default_to_one() {
        let service = json!({"metadata": {"namespace": "test", "name": "podinfo"}, "spec": {"weighted": {"services": [
            {"name": "podinfo-primary", "port": 80, "weight": 70},
            {"name": "podinfo-canary", "port": 80}
        ]}}});
        let (entry, referenced) = entry(&service);
        assert_eq!(entry.id, "traefikservice/podinfo");
        assert_eq!(referenced, ["podinfo-primary", "podinfo-canary", "podinfo"]);
        let weights: Vec<f64> = entry.rules[0].backends.iter().map(|b| b.weight).collect();
        assert_eq!(weights, [70.0, 1.0]);
    }
}
