//! Ingresses: a primary Ingress and the NGINX canary Ingresses beside it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Rule, backend, text};

fn ingress_backend(ingress: &Value) -> String {
    let path_backend =
        &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"];
    path_backend.as_str().map_or_else(
        || text(&ingress["spec"]["defaultBackend"]["service"]["name"]),
        str::to_owned,
    )
}

/// A primary Ingress and its canary Ingresses.
type IngressGroup<'a> = (Option<&'a Value>, Vec<&'a Value>);

/// Groups Ingresses by namespace and host: one primary, optional NGINX canary ingresses.
pub(super) fn entries(ingresses: &[Arc<Value>]) -> Vec<(Entry, Vec<String>)> {
    let annotation = |i: &Value, k: &str| {
        i["metadata"]["annotations"][format!("nginx.ingress.kubernetes.io/{k}")]
            .as_str()
            .map(str::to_owned)
    };
    let mut groups: BTreeMap<(String, String), IngressGroup<'_>> = BTreeMap::new();
    for ingress in ingresses {
        let host = text(&ingress["spec"]["rules"][0]["host"]);
        let group = groups.entry((key_of(ingress).0, host)).or_default();
        if annotation(ingress, "canary").as_deref() == Some("true") {
            group.1.push(ingress);
        } else {
            group.0 = Some(ingress);
        }
    }
    let mut entries = Vec::new();
    for ((namespace, _), (primary, canaries)) in groups {
        let Some(primary) = primary else { continue };
        let name = key_of(primary).1;
        let primary_service = ingress_backend(primary);
        let mut referenced = vec![primary_service.clone()];
        let mut rules = Vec::new();
        let mut weighted = vec![backend(primary_service, 100.0)];
        for canary in canaries {
            let service = ingress_backend(canary);
            referenced.push(service.clone());
            let tagged = Backend {
                nginx_canary: service.clone(),
                ..backend(service, 0.0)
            };
            if annotation(canary, "canary-by-header").is_some()
                || annotation(canary, "canary-by-cookie").is_some()
            {
                rules.push(Rule {
                    needs_headers: true,
                    backends: vec![tagged.clone()],
                    mirrors: Vec::new(),
                });
            }
            let weight = annotation(canary, "canary-weight")
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
