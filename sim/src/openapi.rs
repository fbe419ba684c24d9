//! Minimal `OpenAPI` v3 documents: enough for kubectl to detect server-side field validation.
//!
//! kubectl skips its client-side schema validation (which needs the full `OpenAPI` v2 document) when a
//! group-version's v3 document has a PATCH operation for the kind that accepts `fieldValidation`.
//! Schemas are open (`x-kubernetes-preserve-unknown-fields`).

use serde_json::{Map, Value, json};

use crate::resources::Registry;

fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of group-version documents.
pub fn index(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (group, versions) in registry.groups() {
        for version in versions {
            let path = group_version_path(&group, &version);
            let hash = registry.resources(&group, &version).len();
            paths.insert(
                path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
            );
        }
    }
    json!({ "paths": paths })
}

/// `/openapi/v3/{api/v1 | apis/group/version}`, or `None` if not served.
pub fn group_version(registry: &Registry, path: &str) -> Option<Value> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version) = match segments.as_slice() {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        _ => return None,
    };
    let kinds = registry.resources(group, version);
    if kinds.is_empty() {
        return None;
    }
    let mut schemas = Map::new();
    let mut paths = Map::new();
    for info in kinds {
        let scope = if info.namespaced {
            "namespaces/{namespace}/"
        } else {
            ""
        };
        let path = format!(
            "/{}/{scope}{}/{{name}}",
            group_version_path(group, version),
            info.plural
        );
        // kubectl reads the PATCH operation's GVK as one object and looks for the fieldValidation parameter.
        let patch_operation = json!({
            "x-kubernetes-group-version-kind": {"group": info.group, "version": version, "kind": info.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(path, json!({ "patch": patch_operation }));
        let gvk = json!([{"group": info.group, "version": version, "kind": info.kind}]);
        let name = format!(
            "{}.{version}.{}",
            if group.is_empty() { "core" } else { group },
            info.kind
        );
        schemas.insert(
            name,
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "x-kubernetes-group-version-kind": gvk}),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
