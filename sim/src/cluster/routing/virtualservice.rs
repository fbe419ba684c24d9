//! Istio VirtualServices: HTTP routes with weighted destinations, header matches and mirrors,
//! and TCP routes.

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Mirror, Rule, backend, short_host, text};

/// The entry of a VirtualService: one rule per HTTP route, then per TCP route; a `mirror` copies
/// `mirrorPercentage` of the requests (all by default).
pub(super) fn entry(vs: &Value) -> (Entry, Vec<String>) {
    let (namespace, name) = key_of(vs);
    let mut referenced: Vec<String> = vs["spec"]["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| short_host(&text(h)))
        .collect();
    let rules = vs["spec"]["http"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(vs["spec"]["tcp"].as_array().into_iter().flatten())
        .map(|http| {
            let needs_headers = http["match"]
                .as_array()
                .is_some_and(|m| !m.is_empty() && m.iter().all(|m| m["headers"].is_object()));
            let routes = http["route"].as_array().map_or(&[][..], Vec::as_slice);
            let backends: Vec<Backend> = routes
                .iter()
                .map(|r| {
                    let default = if routes.len() == 1 { 100.0 } else { 0.0 };
                    backend(
                        short_host(&text(&r["destination"]["host"])),
                        r["weight"].as_f64().unwrap_or(default),
                    )
                })
                .collect();
            let fraction = http["mirrorPercentage"]["value"]
                .as_f64()
                .map_or(1.0, |p| (p / 100.0).clamp(0.0, 1.0));
            let mirrors: Vec<Mirror> = http["mirror"]["host"]
                .as_str()
                .map(|host| Mirror {
                    service: short_host(host),
                    fraction,
                })
                .into_iter()
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
    referenced.push(name.clone());
    (
        Entry {
            namespace,
            id: format!("virtualservice/{name}"),
            ingress: None,
            rules,
        },
        referenced,
    )
}
