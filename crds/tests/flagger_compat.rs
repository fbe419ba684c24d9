//! Serin's CRDs must accept every object Flagger's CRDs accept: this walks Flagger's schemas and
//! fails for any property, type, enum value, marker or constraint that serin's schemas would
//! reject, and validates Flagger's manifests against serin's schemas.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

use common::{flagger_compat_dir, flagger_manifests, yaml_documents};

/// The `openAPIV3Schema` of a CRD document.
fn crd_schema(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

fn flagger_crds() -> Vec<Value> {
    yaml_documents(&flagger_compat_dir().join("flagger-crds.yaml"))
}

fn serin_crd(name: &str) -> Value {
    serin_crds::crds()
        .into_iter()
        .map(|crd| serde_json::to_value(crd).expect("CRD serializes"))
        .find(|crd| crd["metadata"]["name"] == name)
        .expect("serin serves a CRD of that name")
}

/// Keywords that only narrow what a schema accepts. Serin may use one only where Flagger has the
/// same keyword with a value at least as strict.
const LOWER_BOUNDS: [&str; 4] = ["minimum", "minLength", "minItems", "minProperties"];
const UPPER_BOUNDS: [&str; 4] = ["maximum", "maxLength", "maxItems", "maxProperties"];
const COMBINATORS: [&str; 4] = ["oneOf", "anyOf", "allOf", "not"];

/// Appends to `errors` every way in which `serin` accepts less than `flagger` at `path`.
fn check_superset(flagger: &Value, serin: &Value, path: &str, errors: &mut Vec<String>) {
    let marker = |s: &Value, k: &str| s.get(k).cloned().unwrap_or(Value::Null);
    if marker(serin, "x-kubernetes-preserve-unknown-fields") == Value::Bool(true) {
        return;
    }
    check_type(flagger, serin, path, errors);
    check_enum(flagger, serin, path, errors);
    check_markers(flagger, serin, path, errors);
    check_bounds(flagger, serin, path, errors);
    check_required(flagger, serin, path, errors);
    if flagger.get("nullable") == Some(&Value::Bool(true))
        && serin.get("nullable") != Some(&Value::Bool(true))
    {
        errors.push(format!("{path}: Flagger accepts null, serin does not"));
    }
    if flagger.get("default") != serin.get("default") {
        errors.push(format!(
            "{path}: default differs (Flagger {:?}, serin {:?})",
            flagger.get("default"),
            serin.get("default")
        ));
    }
    check_children(flagger, serin, path, errors);
}

fn check_type(flagger: &Value, serin: &Value, path: &str, errors: &mut Vec<String>) {
    let (f, s) = (flagger.get("type"), serin.get("type"));
    let widened = f == Some(&Value::from("integer")) && s == Some(&Value::from("number"));
    if s.is_some() && f != s && !widened {
        errors.push(format!("{path}: type {f:?} in Flagger, {s:?} in serin"));
    }
    if s.is_none() && f.is_some() && serin.get("x-kubernetes-int-or-string").is_none() {
        errors.push(format!(
            "{path}: serin's schema has no type where Flagger has {f:?}"
        ));
    }
    if let (Some("string"), Some(fmt)) = (
        s.and_then(Value::as_str),
        serin.get("format").and_then(Value::as_str),
    ) && flagger.get("format").and_then(Value::as_str) != Some(fmt)
    {
        errors.push(format!("{path}: serin adds string format {fmt:?}"));
    }
}

fn check_enum(flagger: &Value, serin: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(serin_values) = serin.get("enum").and_then(Value::as_array) else {
        return;
    };
    match flagger.get("enum").and_then(Value::as_array) {
        None => errors.push(format!(
            "{path}: serin restricts to an enum, Flagger does not"
        )),
        Some(flagger_values) => {
            for v in flagger_values {
                if !serin_values.contains(v) {
                    errors.push(format!("{path}: enum value {v} missing in serin"));
                }
            }
        }
    }
}

fn check_markers(flagger: &Value, serin: &Value, path: &str, errors: &mut Vec<String>) {
    let markers = |s: &Value| -> BTreeSet<String> {
        s.as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| k.starts_with("x-kubernetes-"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    for key in markers(flagger) {
        // CEL rules only narrow what is accepted; serin may leave them out.
        if key != "x-kubernetes-validations" && flagger.get(&key) != serin.get(&key) {
            errors.push(format!("{path}: marker {key} differs"));
        }
    }
    // serin's own CEL rules refuse only what `serin lint` refuses; that every Flagger manifest
    // passes them is checked by evaluating them (every_flagger_manifest_passes_serins_cel_rules).
}

/// serin bounds the lists and strings its CEL rules read (the API server's cost estimator needs
/// bounds) with limits no manifest comes near: at least this many items or characters.
const COST_BOUND_FLOOR: f64 = 64.0;

fn check_bounds(flagger: &Value, serin: &Value, path: &str, errors: &mut Vec<String>) {
    let num = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
    for key in ["maxItems", "maxLength"] {
        if let Some(s) = num(serin, key)
            && num(flagger, key).is_none()
            && s < COST_BOUND_FLOOR
        {
            errors.push(format!(
                "{path}: serin's {key} {s} is below {COST_BOUND_FLOOR}"
            ));
        }
    }
    for key in LOWER_BOUNDS {
        if let Some(s) = num(serin, key)
            && num(flagger, key).is_none_or(|f| s > f)
        {
            errors.push(format!(
                "{path}: serin's {key} {s} is stricter than Flagger's"
            ));
        }
    }
    for key in UPPER_BOUNDS {
        let cost_bound = matches!(key, "maxItems" | "maxLength") && num(flagger, key).is_none();
        if let Some(s) = num(serin, key)
            && !cost_bound
            && num(flagger, key).is_none_or(|f| s < f)
        {
            errors.push(format!(
                "{path}: serin's {key} {s} is stricter than Flagger's"
            ));
        }
    }
    if serin.get("pattern").is_some() && serin.get("pattern") != flagger.get("pattern") {
        errors.push(format!("{path}: serin's pattern differs from Flagger's"));
    }
    for key in COMBINATORS {
        if serin.get(key).is_some() && serin.get(key) != flagger.get(key) {
            errors.push(format!("{path}: serin adds a {key} constraint"));
        }
    }
}

fn check_required(flagger: &Value, serin: &Value, path: &str, errors: &mut Vec<String>) {
    let names = |s: &Value| -> BTreeSet<String> {
        s.get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    // A field every branch of a oneOf/anyOf requires is required too.
    let mut flagger_required = names(flagger);
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = flagger.get(key).and_then(Value::as_array) {
            let mut each = branches.iter().map(names);
            if let Some(first) = each.next() {
                flagger_required.extend(each.fold(first, |acc, b| &acc & &b));
            }
        }
    }
    for field in names(serin).difference(&flagger_required) {
        errors.push(format!(
            "{path}: serin requires {field:?}, Flagger does not"
        ));
    }
}

fn check_children(flagger: &Value, serin: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(props) = flagger.get("properties").and_then(Value::as_object) {
        for (name, f) in props {
            let child = format!("{path}.{name}");
            match serin.get("properties").and_then(|p| p.get(name)) {
                Some(s) => check_superset(f, s, &child, errors),
                None if serin.get("additionalProperties").is_some() => {}
                None => errors.push(format!("{child}: property missing in serin")),
            }
        }
    }
    if let Some(f) = flagger
        .get("additionalProperties")
        .filter(|v| v.is_object())
    {
        match serin.get("additionalProperties") {
            Some(s) if s.is_object() => check_superset(f, s, &format!("{path}{{}}"), errors),
            Some(Value::Bool(true)) => {}
            _ => errors.push(format!(
                "{path}: Flagger allows map entries, serin does not"
            )),
        }
    }
    if let Some(f) = flagger.get("items") {
        match serin.get("items") {
            Some(s) => check_superset(f, s, &format!("{path}[]"), errors),
            None => errors.push(format!("{path}[]: serin's array has no item schema")),
        }
    }
}

fn superset_errors(name: &str) -> Vec<String> {
    let flagger = flagger_crds()
        .into_iter()
        .find(|crd| crd["metadata"]["name"] == name)
        .expect("Flagger has a CRD of that name");
    let serin = serin_crd(name);
    let mut errors = Vec::new();
    let mut flagger_root = crd_schema(&flagger).clone();
    // The API server validates apiVersion, kind and metadata itself, whatever the schema says.
    for builtin in ["apiVersion", "kind", "metadata"] {
        flagger_root["properties"]
            .as_object_mut()
            .expect("properties")
            .remove(builtin);
    }
    check_superset(&flagger_root, crd_schema(&serin), "", &mut errors);
    for key in ["group", "scope", "names"] {
        let (f, s) = (&flagger["spec"][key], &serin["spec"][key]);
        if key == "names" {
            for field in ["kind", "listKind", "plural", "singular", "categories"] {
                let serin_value = if field == "listKind" && s[field].is_null() {
                    Value::from(format!("{}List", s["kind"].as_str().unwrap_or_default()))
                } else {
                    s[field].clone()
                };
                if f[field] != serin_value {
                    errors.push(format!("names.{field}: {} vs {serin_value}", f[field]));
                }
            }
        } else if f != s {
            errors.push(format!("spec.{key}: {f} vs {s}"));
        }
    }
    let version = |crd: &Value, key: &str| crd["spec"]["versions"][0][key].clone();
    for key in [
        "name",
        "served",
        "storage",
        "subresources",
        "additionalPrinterColumns",
    ] {
        if version(&flagger, key) != version(&serin, key) {
            errors.push(format!("versions[0].{key} differs"));
        }
    }
    errors
}

#[test]
fn canary_crd_accepts_everything_flaggers_accepts() {
    let errors = superset_errors("canaries.flagger.app");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn metric_template_crd_accepts_everything_flaggers_accepts() {
    let errors = superset_errors("metrictemplates.flagger.app");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn alert_provider_crd_accepts_everything_flaggers_accepts() {
    let errors = superset_errors("alertproviders.flagger.app");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_superset_check_catches_a_narrowed_schema() {
    // The checker itself must fail when serin would reject something Flagger accepts.
    let flagger = serde_json::json!({"type": "object", "properties": {
        "weight": {"type": "number"},
        "kind": {"type": "string", "enum": ["A", "B"]},
        "port": {"x-kubernetes-int-or-string": true},
        "name": {"type": "string"}
    }});
    let serin = serde_json::json!({"type": "object", "required": ["name"], "properties": {
        "weight": {"type": "integer", "minimum": 0},
        "kind": {"type": "string", "enum": ["A"]},
        "port": {"type": "integer"},
        "name": {"type": "string", "pattern": "^[a-z]+$"}
    }});
    let mut errors = Vec::new();
    check_superset(&flagger, &serin, "", &mut errors);
    let joined = errors.join("\n");
    for expected in [
        "serin requires \"name\"",
        ".weight: type",
        ".weight: serin's minimum",
        ".kind: enum value \"B\"",
        ".port: marker x-kubernetes-int-or-string",
        ".name: serin's pattern",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in:\n{joined}"
        );
    }
}

#[test]
fn every_flagger_manifest_is_valid_under_serins_schemas() {
    let schemas: Vec<(String, Value)> = serin_crds::crds()
        .into_iter()
        .map(|crd| {
            let crd = serde_json::to_value(crd).expect("CRD serializes");
            (
                crd["spec"]["names"]["kind"]
                    .as_str()
                    .expect("kind")
                    .to_owned(),
                crd,
            )
        })
        .collect();
    let mut errors = Vec::new();
    let manifests = flagger_manifests();
    assert_eq!(manifests.len(), 54, "the corpus has 54 manifests");
    for (file, doc) in manifests {
        let kind = doc["kind"].as_str().expect("manifest kind");
        let (_, crd) = schemas
            .iter()
            .find(|(k, _)| k == kind)
            .expect("serin serves the kind");
        let mut spec_only = doc.clone();
        if let Some(obj) = spec_only.as_object_mut() {
            obj.remove("metadata");
        }
        validate_value(
            &spec_only,
            crd_schema(crd),
            &format!("{file}:"),
            &mut errors,
        );
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// A small structural-schema validator: types, enums, required fields, unknown fields, bounds.
fn validate_value(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{path} null is not allowed"));
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            errors.push(format!("{path} must be an integer or a string"));
        }
        return;
    }
    let type_ok = match schema.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("number") => value.is_number(),
        Some("integer") => value.is_i64() || value.is_u64(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!(
            "{path} has the wrong type for {:?}",
            schema.get("type")
        ));
        return;
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(value)
    {
        errors.push(format!("{path} {value} is not one of {values:?}"));
    }
    if let (Some(min), Some(v)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && v < min
    {
        errors.push(format!("{path} {v} is below {min}"));
    }
    if let (Some(max), Some(v)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) && v > max
    {
        errors.push(format!("{path} {v} is above {max}"));
    }
    match value {
        Value::Object(map) => {
            for field in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !map.contains_key(field.as_str().unwrap_or_default()) {
                    errors.push(format!("{path} required field {field} is missing"));
                }
            }
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                if let Some(s) = schema.get("properties").and_then(|p| p.get(key)) {
                    validate_value(child, s, &child_path, errors);
                } else if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object())
                {
                    validate_value(child, s, &child_path, errors);
                } else if !(path.ends_with(':') && ["apiVersion", "kind"].contains(&key.as_str())) {
                    errors.push(format!(
                        "{child_path} is not a known field (it would be pruned)"
                    ));
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_value(item, s, &format!("{path}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn every_flagger_manifest_passes_serins_cel_rules() {
    let schemas: Vec<(String, Value)> = serin_crds::crds()
        .into_iter()
        .map(|crd| {
            let crd = serde_json::to_value(crd).expect("CRD serializes");
            let kind = crd["spec"]["names"]["kind"]
                .as_str()
                .expect("kind")
                .to_owned();
            (kind, crd_schema(&crd).clone())
        })
        .collect();
    let mut errors = Vec::new();
    for (file, doc) in flagger_manifests() {
        let kind = doc["kind"].as_str().expect("manifest kind");
        let (_, schema) = schemas
            .iter()
            .find(|(k, _)| k == kind)
            .expect("kind served");
        if let Err(failed) = kube_cel::validate(schema, &doc, None) {
            errors.extend(failed.iter().map(|e| format!("{file}: {e}")));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn serins_cel_rules_refuse_what_lint_refuses() {
    // A check that the rules run at all: an inverted threshold range is refused.
    let crd = serde_json::to_value(
        serin_crds::crds()
            .into_iter()
            .find(|c| c.spec.names.kind == "Canary")
            .expect("Canary CRD"),
    )
    .expect("serializes");
    let canary = serde_json::json!({"spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "a"},
        "service": {"port": 80}, "analysis": {"interval": "1m", "threshold": 1, "stepWeight": 10,
        "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99, "max": 1}}]}}});
    let errors = kube_cel::validate(crd_schema(&crd), &canary, None).expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors}");
    assert_eq!(
        errors[0].field_path,
        "spec.analysis.metrics[0].thresholdRange"
    );
    assert_eq!(errors[0].message, "min must not be greater than max");
}
