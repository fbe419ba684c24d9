//! SMI `TrafficSplits`: one set of weighted backends.

use serde_json::Value;

use super::super::snapshot::key_of;
use super::{Backend, Entry, Rule, backend, text};

/// The entry of an SMI TrafficSplit: one weighted rule.
pub(super) fn entry(split: &Value) -> (Entry, Vec<String>) {
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
