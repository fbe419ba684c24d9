//! Merge keys of the common associative lists of built-in kinds (as in their `OpenAPI` schemas).

use serde_json::Value;

/// The field that identifies items of the list stored under `field`, if it is associative.
/// `items` are used where the key depends on the list's content (container vs service ports).
pub fn list_merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "hostnames"
        | "readinessGates" => Some(match field {
            "readinessGates" => "conditionType",
            _ => "name",
        }),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "hostAliases" => Some("ip"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "ports" => {
            let container = items.iter().any(|item| item.get("containerPort").is_some());
            Some(if container { "containerPort" } else { "port" })
        }
        _ => None,
    }
}

/// Whether the primitive list under `field` merges as a set rather than being replaced.
pub fn primitive_set_list(field: &str) -> bool {
    field == "finalizers"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_key_depends_on_content() {
        assert_eq!(
            list_merge_key("ports", &[json!({"containerPort": 80})]),
            Some("containerPort")
        );
        assert_eq!(
            list_merge_key("ports", &[json!({"port": 80})]),
            Some("port")
        );
        assert_eq!(list_merge_key("args", &[]), None);
    }
}
