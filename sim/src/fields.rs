//! Field paths as server-side apply tracks them, in the `FieldsV1` element syntax (`f:name`, `k:{"name":"x"}`).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::patch::list_merge_key;

/// A path to one leaf field, one `FieldsV1` element per step.
pub type FieldPath = Vec<String>;

/// A set of leaf field paths.
pub type FieldSet = BTreeSet<FieldPath>;

/// Metadata fields that are identity or server-owned and never tracked.
const UNTRACKED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Leaf paths set by an applied configuration.
pub fn leaf_paths(config: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(map) = config.as_object() else {
        return out;
    };
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                for (mk, mv) in value.as_object().into_iter().flatten() {
                    if !UNTRACKED_METADATA.contains(&mk.as_str()) {
                        walk(mk, mv, &mut vec!["f:metadata".to_owned()], &mut out);
                    }
                }
            }
            _ => walk(key, value, &mut Vec::new(), &mut out),
        }
    }
    out
}

fn walk(key: &str, value: &Value, prefix: &mut Vec<String>, out: &mut FieldSet) {
    prefix.push(format!("f:{key}"));
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                walk(k, v, prefix, out);
            }
        }
        Value::Array(items) if !items.is_empty() => match associative_key(key, items) {
            Some(merge_key) => {
                for item in items {
                    prefix.push(item_element(merge_key, &item[merge_key]));
                    for (k, v) in item.as_object().into_iter().flatten() {
                        walk(k, v, prefix, out);
                    }
                    prefix.pop();
                }
            }
            None => {
                out.insert(prefix.clone());
            }
        },
        _ => {
            out.insert(prefix.clone());
        }
    }
    prefix.pop();
}

fn associative_key(field: &str, items: &[Value]) -> Option<&'static str> {
    list_merge_key(field, items).filter(|key| items.iter().all(|i| i.get(*key).is_some()))
}

fn item_element(key: &str, value: &Value) -> String {
    format!("k:{}", json!({ key: value }))
}

/// The value at `path`, if present.
pub fn get_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(object, |value, element| step(value, element))
}

fn step<'a>(value: &'a Value, element: &str) -> Option<&'a Value> {
    if let Some(field) = element.strip_prefix("f:") {
        return value.get(field);
    }
    let selector: Map<String, Value> = serde_json::from_str(element.strip_prefix("k:")?).ok()?;
    value
        .as_array()?
        .iter()
        .find(|item| selector.iter().all(|(k, v)| item.get(k) == Some(v)))
}

/// Removes the value at `path`, then any map or list item left empty by the removal.
pub fn remove_at(object: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if parents.is_empty() {
        remove_child(object, last);
        return;
    }
    let (head, rest) = (&path[0], &path[1..]);
    let Some(child) = child_mut(object, head) else {
        return;
    };
    remove_at(child, rest);
    let empty = match &*child {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    if !empty {
        return;
    }
    if head.starts_with("f:") {
        remove_child(object, head);
    } else if let Some(items) = object.as_array_mut() {
        items.retain(|item| item.as_object().is_none_or(|m| !m.is_empty()));
    }
}

fn child_mut<'a>(value: &'a mut Value, element: &str) -> Option<&'a mut Value> {
    if let Some(field) = element.strip_prefix("f:") {
        return value.get_mut(field);
    }
    let selector: Map<String, Value> = serde_json::from_str(element.strip_prefix("k:")?).ok()?;
    value
        .as_array_mut()?
        .iter_mut()
        .find(|item| selector.iter().all(|(k, v)| item.get(k) == Some(v)))
}

fn remove_child(value: &mut Value, element: &str) {
    if let Some(field) = element.strip_prefix("f:") {
        if let Some(map) = value.as_object_mut() {
            map.remove(field);
        }
        return;
    }
    let Some(selector) = element
        .strip_prefix("k:")
        .and_then(|s| serde_json::from_str::<Map<String, Value>>(s).ok())
    else {
        return;
    };
    if let Some(items) = value.as_array_mut() {
        items.retain(|item| !selector.iter().all(|(k, v)| item.get(k) == Some(v)));
    }
}

/// Encodes a field set as a `FieldsV1` tree.
pub fn to_fields_v1(paths: &FieldSet) -> Value {
    fn insert(node: &mut Map<String, Value>, path: &[String]) {
        if let Some((first, rest)) = path.split_first() {
            let child = node
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(child) = child {
                insert(child, rest);
            }
        }
    }
    let mut root = Map::new();
    for path in paths {
        insert(&mut root, path);
    }
    Value::Object(root)
}

/// Decodes a `FieldsV1` tree into its leaf paths.
pub fn from_fields_v1(tree: &Value) -> FieldSet {
    fn collect(node: &Value, prefix: &mut Vec<String>, out: &mut FieldSet) {
        let children: Vec<_> = node
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != ".")
            .collect();
        if children.is_empty() {
            if !prefix.is_empty() {
                out.insert(prefix.clone());
            }
            return;
        }
        for (key, child) in children {
            prefix.push(key.clone());
            collect(child, prefix, out);
            prefix.pop();
        }
    }
    let mut out = FieldSet::new();
    collect(tree, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_lists_are_tracked_per_item_and_round_trip() {
        let config = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"app": "x"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "a:1"}]}}}});
        let paths = leaf_paths(&config);
        let image: FieldPath = [
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            r#"k:{"name":"app"}"#,
            "f:image",
        ]
        .map(str::to_owned)
        .to_vec();
        assert!(paths.contains(&image));
        assert_eq!(get_at(&config, &image), Some(&json!("a:1")));
        assert!(paths.contains(&vec![
            "f:metadata".to_owned(),
            "f:labels".to_owned(),
            "f:app".to_owned()
        ]));
        assert_eq!(from_fields_v1(&to_fields_v1(&paths)), paths);
    }

    #[test]
    fn removing_the_last_fields_of_an_item_removes_the_item() {
        let mut object =
            json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b"}]}});
        let item = |f: &str| {
            vec![
                "f:spec".to_owned(),
                "f:containers".to_owned(),
                r#"k:{"name":"a"}"#.to_owned(),
                f.to_owned(),
            ]
        };
        remove_at(&mut object, &item("f:image"));
        remove_at(&mut object, &item("f:name"));
        assert_eq!(object, json!({"spec": {"containers": [{"name": "b"}]}}));
    }
}
