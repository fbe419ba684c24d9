//! Server-side printing: `meta.k8s.io/v1` `Table` responses for `kubectl get`.

use serde_json::{Value, json};

use crate::resources::ResourceInfo;

fn age(object: &Value) -> String {
    since(&object["metadata"]["creationTimestamp"])
}

/// `5s`, `3m`, `2h`, `4d` since an RFC 3339 timestamp.
fn since(timestamp: &Value) -> String {
    let Some(created) = timestamp
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    else {
        return "<unknown>".to_owned();
    };
    let seconds = (chrono::Utc::now() - created.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn extra_columns(info: &ResourceInfo) -> Vec<String> {
    let fixed: &[&str] = match (info.group.as_str(), info.kind.as_str()) {
        ("apps", "Deployment") => &["Ready", "Up-to-date", "Available"],
        ("", "Namespace") => &["Status"],
        _ => &[],
    };
    let printer = info
        .printer_columns
        .iter()
        .filter(|c| c.priority == 0)
        .map(|c| c.name.clone());
    fixed
        .iter()
        .map(|s| (*s).to_owned())
        .chain(printer)
        .collect()
}

/// The value at a simple `JSONPath` (`.status.conditions[0].type` is not supported, `.status.phase` is).
fn at_path<'a>(object: &'a Value, path: &str) -> &'a Value {
    path.trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .fold(object, |value, key| &value[key])
}

fn extra_cells(info: &ResourceInfo, object: &Value) -> Vec<Value> {
    let status = &object["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    match (info.group.as_str(), info.kind.as_str()) {
        ("apps", "Deployment") => vec![
            json!(format!(
                "{}/{}",
                int(&status["readyReplicas"]),
                object["spec"]["replicas"].as_i64().unwrap_or(1)
            )),
            json!(int(&status["updatedReplicas"])),
            json!(int(&status["availableReplicas"])),
        ],
        ("", "Namespace") => vec![status["phase"].clone()],
        _ => info
            .printer_columns
            .iter()
            .filter(|c| c.priority == 0)
            .map(|c| {
                let value = at_path(object, &c.json_path);
                if c.kind == "date" && value.is_string() {
                    json!(since(value))
                } else {
                    value.clone()
                }
            })
            .collect(),
    }
}

/// A table of `objects` with Name, kind-specific columns and Age.
pub(crate) fn table(info: &ResourceInfo, objects: &[Value]) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}),
    ];
    for name in extra_columns(info) {
        columns.push(json!({"name": name, "type": "string", "format": "", "description": name, "priority": 0}));
    }
    let has_age = info.printer_columns.iter().any(|c| c.name == "Age");
    if !has_age {
        columns.push(
            json!({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}),
        );
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut cells = vec![object["metadata"]["name"].clone()];
            cells.extend(extra_cells(info, object));
            if !has_age {
                cells.push(json!(age(object)));
            }
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": columns,
        "rows": rows,
    })
}
