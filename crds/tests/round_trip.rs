//! Every Flagger manifest deserializes into serin's types and serializes back with no field lost.

mod common;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use serin_crds::{AlertProvider, Canary, MetricTemplate};

/// Paths of `input` that `output` lacks or holds with another value.
fn lost_fields(input: &Value, output: &Value, path: &str, lost: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (key, value) in i {
                match o.get(key) {
                    Some(out) => lost_fields(value, out, &format!("{path}.{key}"), lost),
                    None => lost.push(format!("{path}.{key}")),
                }
            }
        }
        (Value::Array(i), Value::Array(o)) if i.len() == o.len() => {
            for (n, (a, b)) in i.iter().zip(o).enumerate() {
                lost_fields(a, b, &format!("{path}[{n}]"), lost);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => lost.push(format!("{path}: {a} became {b}")),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<Vec<String>, String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    let mut lost = Vec::new();
    lost_fields(doc, &back, "", &mut lost);
    Ok(lost)
}

#[test]
fn every_flagger_manifest_round_trips_without_losing_a_field() {
    let mut failures = Vec::new();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for (file, doc) in common::flagger_manifests() {
        let kind = doc["kind"].as_str().expect("kind").to_owned();
        *kinds.entry(kind.clone()).or_default() += 1;
        let result = match kind.as_str() {
            "Canary" => round_trip::<Canary>(&doc),
            "MetricTemplate" => round_trip::<MetricTemplate>(&doc),
            "AlertProvider" => round_trip::<AlertProvider>(&doc),
            other => Err(format!("unexpected kind {other}")),
        };
        match result {
            Ok(lost) if lost.is_empty() => {}
            Ok(lost) => failures.push(format!("{file}: lost {}", lost.join(", "))),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        kinds["Canary"] + kinds["MetricTemplate"] + kinds["AlertProvider"],
        54
    );
}

#[test]
fn the_round_trip_check_notices_a_dropped_or_changed_field() {
    let input = serde_json::json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
    let output = serde_json::json!({"a": {"c": [1, 3]}, "d": "x", "e": true});
    let mut lost = Vec::new();
    lost_fields(&input, &output, "", &mut lost);
    assert_eq!(
        lost,
        vec![".a.b".to_owned(), ".a.c[1]: 2 became 3".to_owned()]
    );
}

#[test]
fn a_canary_left_mid_rollout_by_flagger_keeps_its_status() {
    let doc = serde_json::json!({
        "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test"},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                 "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10, "maxWeight": 50}},
        "status": {"phase": "Progressing", "canaryWeight": 30, "failedChecks": 1, "iterations": 0,
                   "lastAppliedSpec": "5d8f7b9c4", "lastPromotedSpec": "6c4b8d7f9",
                   "trackedConfigs": {"configmap/podinfo-config": "a1b2c3"},
                   "lastTransitionTime": "2026-11-20T10:00:00Z",
                   "conditions": [{"type": "Promoted", "status": "Unknown", "reason": "Progressing",
                                   "message": "New revision detected, progressing canary analysis.",
                                   "lastTransitionTime": "2026-11-20T10:00:00Z",
                                   "lastUpdateTime": "2026-11-20T10:05:00Z"}]}
    });
    assert_eq!(round_trip::<Canary>(&doc), Ok(vec![]));
}
