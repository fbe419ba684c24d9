//! Ingresses: a primary Ingress and the canary Ingresses beside it for the same host, as NGINX
//! (`canary` annotations) and Skipper (`zalando.org/backend-weights`) route them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Rule, backend, text};

/// Skipper's weights across the backends of an Ingress.
const SKIPPER_WEIGHTS: &str = "zalando.org/backend-weights";
/// Skipper's route predicates; `False()` disables the Ingress's routes.
const SKIPPER_PREDICATE: &str = "zalando.org/skipper-predicate";

/// The Service and path of each path of the first rule (or the default backend).
fn ingress_backends(ingress: &Value) -> Vec<(String, String)> {
    let paths: Vec<(String, String)> = ingress["spec"]["rules"][0]["http"]["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let service = p["backend"]["service"]["name"].as_str()?;
            Some((service.to_owned(), text(&p["path"])))
        })
        .collect();
    if paths.is_empty() {
        let default = text(&ingress["spec"]["defaultBackend"]["service"]["name"]);
        return vec![(default, String::new())];
    }
    paths
}

/// Skipper's route id for a path of an Ingress: `kube_<ns>__<ingress>__<host>__<path>__<svc>`,
/// every non-word character replaced by `_`.
fn skipper_route(ingress: &Value, path: &str, service: &str) -> String {
    let (namespace, name) = key_of(ingress);
    let host = text(&ingress["spec"]["rules"][0]["host"]);
    let id = format!("kube_{namespace}__{name}__{host}__{path}__{service}");
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A primary Ingress and its canary Ingresses.
#[derive(Default)]
struct IngressGroup<'a> {
    primary: Option<&'a Value>,
    nginx: Vec<&'a Value>,
    skipper: Vec<&'a Value>,
}

fn nginx_annotation(ingress: &Value, key: &str) -> Option<String> {
    ingress["metadata"]["annotations"][format!("nginx.ingress.kubernetes.io/{key}")]
        .as_str()
        .map(str::to_owned)
}

/// Groups Ingresses by namespace and host: one primary, optional NGINX or Skipper canaries.
pub(super) fn entries(ingresses: &[Arc<Value>]) -> Vec<(Entry, Vec<String>)> {
    let mut groups: BTreeMap<(String, String), IngressGroup<'_>> = BTreeMap::new();
    for ingress in ingresses {
        let host = text(&ingress["spec"]["rules"][0]["host"]);
        let group = groups.entry((key_of(ingress).0, host)).or_default();
        if nginx_annotation(ingress, "canary").as_deref() == Some("true") {
            group.nginx.push(ingress);
        } else if ingress["metadata"]["annotations"][SKIPPER_WEIGHTS].is_string() {
            group.skipper.push(ingress);
        } else {
            group.primary = Some(ingress);
        }
    }
    let mut entries = Vec::new();
    for ((namespace, _), group) in groups {
        let Some(primary) = group.primary else {
            continue;
        };
        let name = key_of(primary).1;
        let mut referenced = Vec::new();
        let rules = match skipper_rule(&group.skipper, &mut referenced) {
            Some(rule) => vec![rule],
            None => nginx_rules(primary, &group.nginx, &mut referenced),
        };
        entries.push((
            Entry {
                namespace,
                id: format!("ingress/{name}"),
                ingress: Some(name),
                rules,
            },
            referenced,
        ));
    }
    entries
}

/// The primary Ingress's backend, and NGINX's canaries beside it.
fn nginx_rules(primary: &Value, canaries: &[&Value], referenced: &mut Vec<String>) -> Vec<Rule> {
    let (primary_service, path) = ingress_backends(primary).swap_remove(0);
    referenced.push(primary_service.clone());
    let mut rules = Vec::new();
    let mut weighted = vec![Backend {
        skipper_route: skipper_route(primary, &path, &primary_service),
        ..backend(primary_service, 100.0)
    }];
    for canary in canaries {
        let (service, path) = ingress_backends(canary).swap_remove(0);
        referenced.push(service.clone());
        let tagged = Backend {
            nginx_canary: service.clone(),
            skipper_route: skipper_route(canary, &path, &service),
            ..backend(service, 0.0)
        };
        if nginx_annotation(canary, "canary-by-header").is_some()
            || nginx_annotation(canary, "canary-by-cookie").is_some()
        {
            rules.push(Rule {
                needs_headers: true,
                backends: vec![tagged.clone()],
                mirrors: Vec::new(),
            });
        }
        let weight = nginx_annotation(canary, "canary-weight")
            .and_then(|w| w.parse::<f64>().ok())
            .unwrap_or(0.0)
            .clamp(0.0, 100.0);
        weighted[0].weight -= weight;
        weighted.push(Backend { weight, ..tagged });
    }
    weighted[0].weight = weighted[0].weight.max(0.0);
    rules.push(Rule {
        needs_headers: false,
        backends: weighted,
        mirrors: Vec::new(),
    });
    rules
}

/// A Skipper canary Ingress whose routes are enabled takes the host's traffic (its `Weight`
/// predicate outranks the primary's routes), split by its backend weights; a backend without
/// a weight gets nothing when another has one.
fn skipper_rule(canaries: &[&Value], referenced: &mut Vec<String>) -> Option<Rule> {
    let canary = canaries.iter().find(|c| {
        !c["metadata"]["annotations"][SKIPPER_PREDICATE]
            .as_str()
            .unwrap_or_default()
            .contains("False()")
    })?;
    let weights: BTreeMap<String, f64> = canary["metadata"]["annotations"][SKIPPER_WEIGHTS]
        .as_str()
        .and_then(|w| serde_json::from_str(w).ok())
        .unwrap_or_default();
    let backends = ingress_backends(canary)
        .into_iter()
        .map(|(service, path)| {
            referenced.push(service.clone());
            let weight = weights.get(&service).copied().unwrap_or(0.0).max(0.0);
            Backend {
                skipper_route: skipper_route(canary, &path, &service),
                ..backend(service, weight)
            }
        })
        .collect();
    Some(Rule {
        needs_headers: false,
        backends,
        mirrors: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ingress(name: &str, services: &[&str], annotations: &Value) -> Arc<Value> {
        let paths: Vec<Value> = services
            .iter()
            .map(|s| json!({"path": "/", "backend": {"service": {"name": s}}}))
            .collect();
        Arc::new(
            json!({"metadata": {"namespace": "test", "name": name, "annotations": annotations},
               "spec": {"rules": [{"host": "app.example.com", "http": {"paths": paths}}]}}),
        )
    }

    #[test]
    fn an_enabled_skipper_canary_ingress_splits_the_host_by_its_backend_weights() {
        let weighted = |predicate: &str| json!({SKIPPER_WEIGHTS: r#"{"podinfo-canary":30,"podinfo-primary":70}"#, SKIPPER_PREDICATE: predicate});
        let apex = ingress("podinfo", &["podinfo"], &json!({}));
        let enabled = ingress(
            "podinfo-canary",
            &["podinfo-primary", "podinfo-canary"],
            &weighted("Weight(100)"),
        );
        let split = entries(&[apex.clone(), enabled]);
        assert_eq!(split.len(), 1);
        let backends = &split[0].0.rules[0].backends;
        assert_eq!((backends[0].weight, backends[1].weight), (70.0, 30.0));
        assert_eq!(
            backends[1].skipper_route,
            "kube_test__podinfo_canary__app_example_com_____podinfo_canary"
        );
        let disabled = ingress(
            "podinfo-canary",
            &["podinfo-primary", "podinfo-canary"],
            &weighted("False()"),
        );
        let primary_only = entries(&[apex, disabled]);
        let backends = &primary_only[0].0.rules[0].backends;
        assert_eq!(backends.len(), 1);
        assert_eq!(backends[0].service, "podinfo");
    }
}
