//! The structural checks of an `openAPIV3Schema` that the API server enforces on custom resources:
//! types, `nullable`, `enum`, `required`, numeric bounds, string lengths and patterns, list sizes,
//! `x-kubernetes-int-or-string` and the uniqueness of `set` and `map` lists. Pure.
//!
//! Unknown fields are neither pruned nor reported; `apiVersion`, `kind` and `metadata` at the root
//! are left to the API server's own checks.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use regex::Regex;
use serde_json::Value;

use crate::error::Cause;

/// Compiled `pattern`s, shared by every object checked against one schema.
#[derive(Debug, Default)]
pub(crate) struct Patterns(Mutex<HashMap<String, Option<Regex>>>);

impl Patterns {
    fn matches(&self, pattern: &str, text: &str) -> bool {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let regex = cache
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(pattern).ok());
        // A pattern the regex engine cannot compile was refused at CRD creation on a real server.
        regex.as_ref().is_none_or(|r| r.is_match(text))
    }
}

fn cause(reason: &'static str, field: &str, message: String) -> Cause {
    Cause {
        reason,
        field: field.to_owned(),
        message,
    }
}

/// The JSON type name the API server prints for a value.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn shown(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Appends every structural problem of `value` at `path` under `schema` to `out`.
pub(crate) fn check(
    value: &Value,
    schema: &Value,
    path: &str,
    patterns: &Patterns,
    out: &mut Vec<Cause>,
) {
    let flag = |k: &str| schema.get(k) == Some(&Value::Bool(true));
    if value.is_null() {
        if !flag("nullable") {
            let wanted = schema["type"].as_str().unwrap_or("value");
            out.push(cause(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: \"null\": {path} in body must be of type {wanted}: \"null\""
                ),
            ));
        }
        return;
    }
    if flag("x-kubernetes-int-or-string") {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            let got = type_name(value);
            out.push(cause(
                "FieldValueTypeInvalid",
                path,
                format!("Invalid value: \"{got}\": {path} in body must be of type integer or string: \"{got}\""),
            ));
        }
        return;
    }
    if !type_fits(value, schema["type"].as_str()) {
        let got = type_name(value);
        let wanted = schema["type"].as_str().unwrap_or_default();
        out.push(cause(
            "FieldValueTypeInvalid",
            path,
            format!("Invalid value: \"{got}\": {path} in body must be of type {wanted}: \"{got}\""),
        ));
        return;
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        let supported: Vec<String> = values.iter().map(shown).collect();
        out.push(cause(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                shown(value),
                supported.join(", ")
            ),
        ));
    }
    match value {
        Value::Number(n) => bounds(n.as_f64().unwrap_or_default(), value, schema, path, out),
        Value::String(s) => string(s, schema, path, patterns, out),
        Value::Array(items) => array(items, schema, path, patterns, out),
        Value::Object(map) => object(map, schema, path, patterns, out),
        Value::Bool(_) | Value::Null => {}
    }
}

fn type_fits(value: &Value, wanted: Option<&str>) -> bool {
    match wanted {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("number") => value.is_number(),
        Some("integer") => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    }
}

fn bounds(n: f64, value: &Value, schema: &Value, path: &str, out: &mut Vec<Cause>) {
    let exclusive = |k: &str| schema.get(k) == Some(&Value::Bool(true));
    let invalid = |why: String| {
        cause(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {}: {path} in body {why}", shown(value)),
        )
    };
    if let Some(min) = schema["minimum"].as_f64() {
        if exclusive("exclusiveMinimum") && n <= min {
            out.push(invalid(format!("should be greater than {min}")));
        } else if n < min {
            out.push(invalid(format!("should be greater than or equal to {min}")));
        }
    }
    if let Some(max) = schema["maximum"].as_f64() {
        if exclusive("exclusiveMaximum") && n >= max {
            out.push(invalid(format!("should be less than {max}")));
        } else if n > max {
            out.push(invalid(format!("should be less than or equal to {max}")));
        }
    }
    if let Some(step) = schema["multipleOf"].as_f64().filter(|s| *s > 0.0)
        && (n / step).fract() != 0.0
    {
        out.push(invalid(format!("should be a multiple of {step}")));
    }
}

fn string(s: &str, schema: &Value, path: &str, patterns: &Patterns, out: &mut Vec<Cause>) {
    let chars = s.chars().count();
    if let Some(max) = schema["maxLength"].as_u64()
        && chars as u64 > max
    {
        out.push(cause(
            "FieldValueTooLong",
            path,
            format!("Too long: may not be more than {max} bytes"),
        ));
    }
    if let Some(min) = schema["minLength"].as_u64()
        && (chars as u64) < min
    {
        out.push(cause(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {s:?}: {path} in body should be at least {min} chars long"),
        ));
    }
    if let Some(pattern) = schema["pattern"].as_str()
        && !patterns.matches(pattern, s)
    {
        out.push(cause(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {s:?}: {path} in body should match '{pattern}'"),
        ));
    }
}

fn array(items: &[Value], schema: &Value, path: &str, patterns: &Patterns, out: &mut Vec<Cause>) {
    if let Some(max) = schema["maxItems"].as_u64()
        && items.len() as u64 > max
    {
        out.push(cause(
            "FieldValueTooMany",
            path,
            format!("Too many: {}: must have at most {max} items", items.len()),
        ));
        // Too long a list is not walked: its items could cost without bound.
        return;
    }
    if let Some(min) = schema["minItems"].as_u64()
        && (items.len() as u64) < min
    {
        out.push(cause(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {path} in body should have at least {min} items",
                items.len()
            ),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        check(
            item,
            &schema["items"],
            &format!("{path}[{i}]"),
            patterns,
            out,
        );
    }
    unique(items, schema, path, out);
}

/// `x-kubernetes-list-type: set` items and `map` keys must be unique.
fn unique(items: &[Value], schema: &Value, path: &str, out: &mut Vec<Cause>) {
    let keys: Vec<&str> = schema["x-kubernetes-list-map-keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let identity = |item: &Value| -> Value {
        match schema["x-kubernetes-list-type"].as_str() {
            Some("map") => Value::Array(keys.iter().map(|k| item[*k].clone()).collect()),
            _ => item.clone(),
        }
    };
    if !matches!(
        schema["x-kubernetes-list-type"].as_str(),
        Some("set" | "map")
    ) {
        return;
    }
    let mut seen: Vec<Value> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let id = identity(item);
        if seen.contains(&id) {
            out.push(cause(
                "FieldValueDuplicate",
                &format!("{path}[{i}]"),
                format!("Duplicate value: {}", shown(&id)),
            ));
        } else {
            seen.push(id);
        }
    }
}

fn object(
    map: &serde_json::Map<String, Value>,
    schema: &Value,
    path: &str,
    patterns: &Patterns,
    out: &mut Vec<Cause>,
) {
    let at_root = path.is_empty();
    for name in schema["required"].as_array().into_iter().flatten() {
        let Some(name) = name.as_str() else { continue };
        if at_root && matches!(name, "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if !map.contains_key(name) {
            out.push(cause(
                "FieldValueRequired",
                &child(path, name),
                "Required value".to_owned(),
            ));
        }
    }
    let opaque = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
    for (name, field) in map {
        if at_root && matches!(name.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(property) = schema["properties"].get(name) {
            check(field, property, &child(path, name), patterns, out);
        } else if schema["additionalProperties"].is_object() {
            check(
                field,
                &schema["additionalProperties"],
                &child(path, name),
                patterns,
                out,
            );
        } else if opaque {
            // Kept as written.
        }
    }
    let count = map.len() as u64;
    if let Some(max) = schema["maxProperties"].as_u64()
        && count > max
    {
        out.push(cause(
            "FieldValueTooMany",
            path,
            format!("Too many: {count}: must have at most {max} items"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(value: &Value, schema: &Value) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        check(value, schema, "", &Patterns::default(), &mut out);
        out.into_iter().map(|c| (c.field, c.reason)).collect()
    }

    #[test]
    fn types_enums_bounds_and_required_fields_are_checked() {
        let schema = json!({"type": "object", "required": ["spec"], "properties": {"spec": {
            "type": "object", "required": ["port"], "properties": {
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "weight": {"type": "number"},
                "kind": {"type": "string", "enum": ["A", "B"]},
                "interval": {"type": "string", "pattern": "^[0-9]+(m|s)", "nullable": true},
                "ports": {"type": "array", "maxItems": 2, "items": {"type": "integer"},
                          "x-kubernetes-list-type": "set"},
                "target": {"x-kubernetes-int-or-string": true}}}}});
        let ok = json!({"spec": {"port": 80, "weight": 1.5, "kind": "A", "interval": null,
                                 "ports": [1, 2], "target": "http"}});
        assert_eq!(causes(&ok, &schema), []);
        let bad = json!({"spec": {"port": 0, "weight": "ten", "kind": "C", "interval": "1 m",
                                  "ports": [1, 1], "target": 1.5}});
        assert_eq!(
            causes(&bad, &schema),
            [
                ("spec.interval".to_owned(), "FieldValueInvalid"),
                ("spec.kind".to_owned(), "FieldValueNotSupported"),
                ("spec.port".to_owned(), "FieldValueInvalid"),
                ("spec.ports[1]".to_owned(), "FieldValueDuplicate"),
                ("spec.target".to_owned(), "FieldValueTypeInvalid"),
                ("spec.weight".to_owned(), "FieldValueTypeInvalid"),
            ]
        );
        assert_eq!(
            causes(&json!({"spec": {"ports": [1, 2, 3]}}), &schema),
            [
                ("spec.port".to_owned(), "FieldValueRequired"),
                ("spec.ports".to_owned(), "FieldValueTooMany"),
            ]
        );
        assert_eq!(
            causes(&json!({}), &schema),
            [("spec".to_owned(), "FieldValueRequired")]
        );
    }
}
