//! Where traffic enters and how routing objects split it: Services, HTTPRoutes, VirtualServices,
//! `TrafficSplits` and NGINX canary Ingresses.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::snapshot::{Snapshot, key_of};

/// One backend of a rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Backend {
    pub(crate) service: String,
    pub(crate) weight: f64,
    /// NGINX `canary` label: the canary upstream, or empty.
    pub(crate) nginx_canary: String,
}

/// One routing rule: who it matches and where it sends traffic.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    /// Whether the rule only matches requests carrying matching headers.
    pub(crate) needs_headers: bool,
    pub(crate) backends: Vec<Backend>,
    /// Services receiving a copy of the rule's traffic.
    pub(crate) mirrors: Vec<String>,
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

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn short_host(host: &str) -> String {
    host.split('.').next().unwrap_or_default().to_owned()
}

fn backend(service: String, weight: f64) -> Backend {
    Backend {
        service,
        weight,
        nginx_canary: String::new(),
    }
}

fn httproute_entry(route: &Value) -> (Entry, Vec<String>) {
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
            let mirrors: Vec<String> = rule["filters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["type"] == "RequestMirror")
                .map(|f| text(&f["requestMirror"]["backendRef"]["name"]))
                .collect();
            referenced.extend(
                backends
                    .iter()
                    .map(|b| b.service.clone())
                    .chain(mirrors.iter().cloned()),
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
            id: format!("httproute/{name}"),
            ingress: None,
            rules,
        },
        referenced,
    )
}

fn virtualservice_entry(vs: &Value) -> (Entry, Vec<String>) {
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
            let mirrors: Vec<String> = http["mirror"]["host"]
                .as_str()
                .map(short_host)
                .into_iter()
                .collect();
            referenced.extend(
                backends
                    .iter()
                    .map(|b| b.service.clone())
                    .chain(mirrors.iter().cloned()),
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

fn trafficsplit_entry(split: &Value) -> (Entry, Vec<String>) {
    let (namespace, name) = key_of(split);
    let backends: Vec<Backend> = split["spec"]["backends"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| backend(text(&b["service"]), b["weight"].as_f64().unwrap_or(0.0)))
        .collect();
    let mut referenced: Vec<String> = backends.iter().map(|b| b.service.clone()).collect();
    referenced.push(text(&split["spec"]["service"]));
    referenced.push(name.clone());
    let rule = Rule {
        needs_headers: false,
        backends,
        mirrors: Vec::new(),
    };
    (
        Entry {
            namespace,
            id: format!("trafficsplit/{name}"),
            ingress: None,
            rules: vec![rule],
        },
        referenced,
    )
}

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
fn ingress_entries(ingresses: &[Arc<Value>]) -> Vec<(Entry, Vec<String>)> {
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

/// Every entry point of the snapshot: routing objects, then Services nothing routes to.
pub(crate) fn entries(snapshot: &Snapshot) -> Vec<Entry> {
    let mut routed = Vec::new();
    routed.extend(snapshot.httproutes.iter().map(|o| httproute_entry(o)));
    routed.extend(
        snapshot
            .virtualservices
            .iter()
            .map(|o| virtualservice_entry(o)),
    );
    routed.extend(snapshot.trafficsplits.iter().map(|o| trafficsplit_entry(o)));
    routed.extend(ingress_entries(&snapshot.ingresses));
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
        let rules = &entries[0].rules;
        assert!(rules[0].needs_headers && !rules[1].needs_headers);
        assert_eq!(rules[1].backends[1], backend("podinfo-canary".into(), 10.0));
        assert_eq!(rules[1].mirrors, ["podinfo-canary"]);
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
