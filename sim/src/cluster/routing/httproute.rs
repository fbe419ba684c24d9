//! HTTPRoutes and GRPCRoutes: rules with weighted backends, header matches and request mirrors
//! (the two kinds share these parts of their rules).

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Mirror, Rule, backend, text};

/// The entry of an HTTPRoute or GRPCRoute: one rule per route rule; `RequestMirror` filters copy requests
/// (their `percent` or `fraction`, all by default).
pub(super) fn entry(route: &Value) -> (Entry, Vec<String>) {
    let (namespace, name) = key_of(route);
    let mut referenced = Vec::new();
    let rules = route["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rule| {
            let needs_headers = rule["matches"].as_array().is_some_and(|m| {
                !m.is_empty()
                    && m.iter()
                        .all(|m| m["headers"].as_array().is_some_and(|h| !h.is_empty()))
            });
            let backends: Vec<Backend> = rule["backendRefs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| b["kind"].as_str().is_none_or(|k| k == "Service"))
                .map(|b| backend(text(&b["name"]), b["weight"].as_f64().unwrap_or(1.0)))
                .collect();
            let mirrors: Vec<Mirror> = rule["filters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["type"] == "RequestMirror")
                .map(|f| {
                    let mirror = &f["requestMirror"];
                    let fraction = match (mirror["percent"].as_f64(), &mirror["fraction"]) {
                        (Some(percent), _) => percent / 100.0,
                        (None, fraction) if fraction.is_object() => {
                            let numerator = fraction["numerator"].as_f64().unwrap_or(0.0);
                            let denominator = fraction["denominator"].as_f64().unwrap_or(100.0);
                            if denominator > 0.0 {
                                numerator / denominator
                            } else {
                                0.0
                            }
                        }
                        _ => 1.0,
                    };
                    Mirror {
                        service: text(&mirror["backendRef"]["name"]),
                        fraction: fraction.clamp(0.0, 1.0),
                    }
                })
                .collect();
            referenced.extend(
                backends
                    .iter()
                    .map(|b| b.service.clone())
                    .chain(mirrors.iter().map(|m| m.service.clone())),
            );
            Rule {
                needs_headers,
                backends,
                mirrors,
            }
        })
        .collect();
    for parent in route["spec"]["parentRefs"].as_array().into_iter().flatten() {
        if parent["kind"] == "Service" {
            referenced.push(text(&parent["name"]));
        }
    }
    referenced.push(name.clone());
    (
        Entry {
            namespace,
            id: format!(
                "{}/{name}",
                route["kind"].as_str().unwrap_or("HTTPRoute").to_lowercase()
            ),
            ingress: None,
            rules,
        },
        referenced,
    )
}
