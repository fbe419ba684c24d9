//! Server-side apply: merges an applied configuration, tracks field ownership per manager, detects conflicts.

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fields::{FieldSet, from_fields_v1, get_at, leaf_paths, remove_at, to_fields_v1};
use crate::patch::strategic_merge;

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: String,
    fields: FieldSet,
}

impl Entry {
    fn parse(value: &Value) -> Self {
        let text = |k: &str| value[k].as_str().unwrap_or_default().to_owned();
        Self {
            manager: text("manager"),
            operation: text("operation"),
            api_version: text("apiVersion"),
            time: text("time"),
            subresource: text("subresource"),
            fields: from_fields_v1(&value["fieldsV1"]),
        }
    }

    fn render(&self) -> Value {
        let mut entry = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(&self.fields),
        });
        if !self.subresource.is_empty() {
            entry["subresource"] = json!(self.subresource);
        }
        entry
    }
}

/// One apply request.
#[derive(Debug, Clone, Copy)]
pub struct ApplyRequest<'a> {
    /// The applied configuration.
    pub config: &'a Value,
    /// `fieldManager` query parameter.
    pub manager: &'a str,
    /// `force` query parameter.
    pub force: bool,
    /// `""` or `"status"`.
    pub subresource: &'a str,
    /// Timestamp to record.
    pub now: &'a str,
    /// `resource.group` for error messages.
    pub resource: &'a str,
}

/// Applies `request` to `current` (an empty object when creating) and returns the merged object
/// with updated `managedFields`.
pub fn server_side_apply(current: &Value, request: &ApplyRequest<'_>) -> ApiResult<Value> {
    let mut object = current.clone();
    let mut entries: Vec<Entry> = current["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(Entry::parse)
        .collect();
    let applied = leaf_paths(request.config);
    let mine = |e: &Entry| {
        e.manager == request.manager
            && e.operation == "Apply"
            && e.subresource == request.subresource
    };

    let mut conflicts = Vec::new();
    for entry in entries.iter_mut().filter(|e| !mine(e)) {
        let clashing: Vec<_> = entry
            .fields
            .intersection(&applied)
            .filter(|path| get_at(current, path) != get_at(request.config, path))
            .cloned()
            .collect();
        if request.force {
            for path in &clashing {
                entry.fields.remove(path);
            }
        } else {
            conflicts.extend(clashing.into_iter().map(|p| (entry.manager.clone(), p)));
        }
    }
    if !conflicts.is_empty() {
        let list: Vec<String> = conflicts
            .iter()
            .map(|(manager, path)| format!("conflict with \"{manager}\": .{}", display_path(path)))
            .collect();
        let name = current["metadata"]["name"].as_str().unwrap_or_default();
        return Err(ApiError::conflict(
            request.resource,
            name,
            &format!(
                "Apply failed with {} conflict(s): {}",
                list.len(),
                list.join(", ")
            ),
        ));
    }

    let previous = entries
        .iter()
        .find(|e| mine(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for path in previous.difference(&applied) {
        let owned_elsewhere = entries.iter().any(|e| !mine(e) && e.fields.contains(path));
        if !owned_elsewhere {
            remove_at(&mut object, path);
        }
    }
    let mut config = request.config.clone();
    if let Some(meta) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.remove("resourceVersion");
    }
    strategic_merge(&mut object, &config);

    entries.retain(|e| !mine(e));
    entries.push(Entry {
        manager: request.manager.to_owned(),
        operation: "Apply".to_owned(),
        api_version: request.config["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        time: request.now.to_owned(),
        subresource: request.subresource.to_owned(),
        fields: applied,
    });
    entries.retain(|e| !e.fields.is_empty());
    object["metadata"]["managedFields"] = Value::Array(entries.iter().map(Entry::render).collect());
    Ok(object)
}

fn display_path(path: &[String]) -> String {
    path.iter()
        .map(|e| {
            e.strip_prefix("f:")
                .map_or_else(|| format!("[{}]", &e[2..]), str::to_owned)
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(current: &Value, config: &Value, manager: &str, force: bool) -> ApiResult<Value> {
        server_side_apply(
            current,
            &ApplyRequest {
                config,
                manager,
                force,
                subresource: "",
                now: "t",
                resource: "configmaps",
            },
        )
    }

    #[test]
    fn fields_a_manager_stops_applying_are_removed() {
        let first =
            json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}});
        let object = apply(&json!({}), &first, "alice", false).unwrap();
        let second = json!({"metadata": {"name": "x", "labels": {"a": "1"}}});
        let object = apply(&object, &second, "alice", false).unwrap();
        assert_eq!(object["metadata"]["labels"], json!({"a": "1"}));
        assert!(object.get("data").is_none());
    }

    #[test]
    fn other_managers_conflict_unless_forced_and_keep_shared_fields() {
        let object = apply(
            &json!({}),
            &json!({"data": {"k": "1", "shared": "s"}}),
            "alice",
            false,
        )
        .unwrap();
        let err = apply(&object, &json!({"data": {"k": "2"}}), "bob", false).unwrap_err();
        assert_eq!(err.code, 409);
        assert!(err.message.contains("alice"), "{}", err.message);
        let object = apply(&object, &json!({"data": {"shared": "s"}}), "bob", false).unwrap();
        let object = apply(&object, &json!({"data": {"k": "1"}}), "alice", false).unwrap();
        assert_eq!(
            object["data"],
            json!({"k": "1", "shared": "s"}),
            "bob still owns shared"
        );
        let object = apply(&object, &json!({"data": {"k": "2"}}), "bob", true).unwrap();
        assert_eq!(object["data"]["k"], "2");
    }
}
