//! `ApisixRoutes`: one rule per HTTP rule, weighted across its backends (100 each unless they
//! say otherwise). Of the rules matching the same hosts and paths in a namespace, only those
//! with the highest `priority` serve, as APISIX picks them: a canary copy at priority 10000
//! takes the traffic of the user's route.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Rule, backend, text};

/// The entries of `routes`, their shadowed rules left out.
pub(super) fn entries(routes: &[Arc<Value>]) -> Vec<(Entry, Vec<String>)> {
    let rules_of = |route: &Value| -> Vec<Value> {
        route["spec"]["http"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let matched = |route: &Value, rule: &Value| {
        let (namespace, _) = key_of(route);
        let m = &rule["match"];
        (namespace, m["hosts"].to_string(), m["paths"].to_string())
    };
    let mut highest: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for route in routes {
        for rule in rules_of(route) {
            let priority = rule["priority"].as_i64().unwrap_or(0);
            let top = highest.entry(matched(route, &rule)).or_insert(priority);
            *top = (*top).max(priority);
        }
    }
    let mut entries = Vec::new();
    for route in routes {
        let (namespace, name) = key_of(route);
        let mut referenced = Vec::new();
        let rules: Vec<Rule> = rules_of(route)
            .into_iter()
            .filter(|rule| {
                let priority = rule["priority"].as_i64().unwrap_or(0);
                highest.get(&matched(route, rule)) == Some(&priority)
            })
            .map(|rule| {
                let id = format!("{namespace}_{name}_{}", text(&rule["name"]));
                let backends: Vec<Backend> = rule["backends"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|b| Backend {
                        apisix_route: id.clone(),
                        ..backend(
                            text(&b["serviceName"]),
                            b["weight"].as_f64().unwrap_or(100.0),
                        )
                    })
                    .collect();
                referenced.extend(backends.iter().map(|b| b.service.clone()));
                Rule {
                    needs_headers: false,
                    backends,
                    mirrors: Vec::new(),
                }
            })
            .collect();
        if rules.is_empty() {
            continue;
        }
        entries.push((
            Entry {
                namespace,
                id: format!("apisixroute/{name}"),
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
    fn the_higher_priority_copy_takes_the_traffic_of_the_users_route() {
        let route = |name: &str, priority: Option<i64>, backends: Value| {
            Arc::new(
                json!({"metadata": {"namespace": "test", "name": name}, "spec": {"http": [
                    {"name": "method", "priority": priority, "match": {"hosts": ["app.example.com"], "paths": ["/*"]}, "backends": backends}
                ]}}),
            )
        };
        let users = route(
            "podinfo",
            None,
            json!([{"serviceName": "podinfo", "servicePort": 80}]),
        );
        let copy = route(
            "podinfo-podinfo-canary",
            Some(10_000),
            json!([{"serviceName": "podinfo-primary", "weight": 70}, {"serviceName": "podinfo-canary", "weight": 30}]),
        );
        let entries = entries(&[users, copy]);
        assert_eq!(entries.len(), 1);
        let backends = &entries[0].0.rules[0].backends;
        assert_eq!((backends[0].weight, backends[1].weight), (70.0, 30.0));
        assert_eq!(
            backends[1].apisix_route,
            "test_podinfo-podinfo-canary_method"
        );
    }
}
