//! SMI `TrafficSplits`: one set of weighted backends. `v1alpha1` weights are quantities, written
//! as strings (`"90"`, `"500m"`); later versions' are numbers.

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
        .map(|b| backend(text(&b["service"]), weight(&b["weight"])))
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

/// A backend's weight: a number or a quantity string; 0 when it is neither.
fn weight(value: &Value) -> f64 {
    let text = value.as_str().unwrap_or_default();
    let parsed = match text.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().map(|m| m / 1000.0),
        None => text.parse::<f64>(),
    };
    value.as_f64().or(parsed.ok()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn weights_are_numbers_or_quantities() {
        let split = json!({"metadata": {"namespace": "test", "name": "podinfo"}, "spec": {
        "service": "podinfo",
        "backends": [
            {"service": "podinfo-canary", "weight": "250m"},
            {"service": "podinfo-primary", "weight": "75"},
            {"service": "other", "weight": 5},
            {"service": "bad", "weight": "lots"},
        ]}});
        let (entry, referenced) = entry(&split);
        assert_eq!(entry.id, "trafficsplit/podinfo");
        assert_eq!(
            referenced,
            [
                "podinfo-canary",
                "podinfo-primary",
                "other",
                "bad",
                "podinfo",
                "podinfo"
            ]
        );
        let weights: Vec<f64> = entry.rules[0].backends.iter().map(|b| b.weight).collect();
        assert_eq!(weights, [0.25, 75.0, 5.0, 0.0]);
    }
}
