//! Strategic merge patch: JSON merge patch that merges associative lists by key and honours `$patch` directives.

use serde_json::{Map, Value};

use super::merge_keys::{list_merge_key, primitive_set_list};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";

/// Applies `patch` to `target` with strategic merge semantics.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => merge_map(target, patch),
        (target, patch) => *target = clean(patch),
    }
}

fn merge_map(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    if patch.get(DIRECTIVE).and_then(Value::as_str) == Some("replace") {
        *target = clean_map(patch);
        return;
    }
    if let Some(Value::Array(keep)) = patch.get(RETAIN_KEYS) {
        target.retain(|key, _| keep.iter().any(|k| k.as_str() == Some(key)));
    }
    for (key, value) in patch {
        if key == DIRECTIVE || key == RETAIN_KEYS || key.starts_with(SET_ORDER) {
            continue;
        }
        if let Some(field) = key.strip_prefix(DELETE_FROM) {
            if let (Some(Value::Array(list)), Value::Array(remove)) = (target.get_mut(field), value)
            {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(inner)
                if inner.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") =>
            {
                target.remove(key);
            }
            Value::Object(inner) => match target.get_mut(key) {
                Some(Value::Object(existing)) => merge_map(existing, inner),
                _ => {
                    target.insert(key.clone(), Value::Object(clean_map(inner)));
                }
            },
            Value::Array(items) => match target.get_mut(key) {
                Some(Value::Array(existing)) => merge_list(key, existing, items),
                _ => {
                    let items = items
                        .iter()
                        .filter(|i| !is_directive_item(i))
                        .map(clean)
                        .collect();
                    target.insert(key.clone(), Value::Array(items));
                }
            },
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

fn is_directive_item(item: &Value) -> bool {
    item.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key(DIRECTIVE))
}

fn merge_list(field: &str, target: &mut Vec<Value>, patch: &[Value]) {
    if patch
        .iter()
        .any(|i| is_directive_item(i) && i[DIRECTIVE] == "replace")
    {
        *target = patch
            .iter()
            .filter(|i| !is_directive_item(i))
            .map(clean)
            .collect();
        return;
    }
    let Some(key) = list_merge_key(field, patch).filter(|_| patch.iter().all(Value::is_object))
    else {
        if primitive_set_list(field) {
            for item in patch {
                if !target.contains(item) {
                    target.push(item.clone());
                }
            }
        } else {
            *target = patch.iter().map(clean).collect();
        }
        return;
    };
    for item in patch {
        let Some(map) = item.as_object() else {
            continue;
        };
        let id = map.get(key);
        let position = target.iter().position(|t| t.get(key) == id && id.is_some());
        let delete = map.get(DIRECTIVE).and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(index), true) => {
                target.remove(index);
            }
            (None, true) => {}
            (Some(index), false) => {
                if let Value::Object(existing) = &mut target[index] {
                    merge_map(existing, map);
                }
            }
            (None, false) => target.push(Value::Object(clean_map(map))),
        }
    }
}

/// The patch value with directives and null fields removed, as stored when there is nothing to merge into.
fn clean(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(clean_map(map)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| !is_directive_item(i))
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn clean_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
        .map(|(k, v)| (k.clone(), clean(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}],
             "ports": [{"containerPort": 80, "name": "http"}]},
            {"name": "sidecar", "image": "proxy:1"}]}}}})
    }

    #[test]
    fn set_image_merges_container_by_name() {
        let mut target = deployment();
        strategic_merge(
            &mut target,
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}}),
        );
        let containers = &target["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "app:2");
        assert_eq!(containers[0]["env"][0]["value"], "1");
        assert_eq!(containers[1]["image"], "proxy:1");
    }

    #[test]
    fn env_and_ports_merge_and_delete_by_key() {
        let mut target = deployment();
        strategic_merge(
            &mut target,
            &json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "B", "value": "2"}, {"name": "A", "$patch": "delete"}],
             "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "sidecar", "$patch": "delete"}]}}}}),
        );
        let containers = target["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0]["env"], json!([{"name": "B", "value": "2"}]));
        assert_eq!(
            containers[0]["ports"],
            json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
        );
    }

    #[test]
    fn unkeyed_lists_replace_and_finalizers_union() {
        let mut target = json!({"metadata": {"finalizers": ["a"]}, "args": ["x", "y"]});
        strategic_merge(
            &mut target,
            &json!({"metadata": {"finalizers": ["b"]}, "args": ["z"]}),
        );
        assert_eq!(
            target,
            json!({"metadata": {"finalizers": ["a", "b"]}, "args": ["z"]})
        );
        strategic_merge(
            &mut target,
            &json!({"$deleteFromPrimitiveList/args": ["z"], "metadata": {"$patch": "replace", "name": "n"}}),
        );
        assert_eq!(target, json!({"metadata": {"name": "n"}, "args": []}));
    }

    #[test]
    fn conditions_merge_by_type() {
        let mut target = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Other", "status": "True"}]}});
        strategic_merge(
            &mut target,
            &json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        );
        assert_eq!(target["status"]["conditions"][0]["status"], "True");
        assert_eq!(target["status"]["conditions"][1]["type"], "Other");
    }
}
