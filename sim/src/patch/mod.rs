//! Patch types accepted on PATCH requests: JSON patch, merge patch and strategic merge patch.

mod merge_keys;
mod strategic;

pub use merge_keys::{list_merge_key, primitive_set_list};
pub use strategic::strategic_merge;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// The patch format, chosen by the request's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 6902 JSON patch.
    Json,
    /// RFC 7386 JSON merge patch.
    Merge,
    /// Kubernetes strategic merge patch.
    Strategic,
    /// Server-side apply.
    Apply,
}

impl PatchType {
    /// The patch type for a `Content-Type` header value.
    pub fn from_content_type(content_type: &str) -> ApiResult<Self> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        match media {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(Self::Apply),
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }
}

/// Applies a non-apply patch to `target`.
pub fn patch_object(patch_type: PatchType, target: &Value, body: &[u8]) -> ApiResult<Value> {
    let mut document = target.clone();
    match patch_type {
        PatchType::Json => {
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut document, &patch).map_err(|e| {
                ApiError::invalid(format!("the JSON patch could not be applied: {e}"))
            })?;
        }
        PatchType::Merge => {
            let patch = parse_json(body)?;
            json_patch::merge(&mut document, &patch);
        }
        PatchType::Strategic => {
            let patch = parse_json(body)?;
            strategic_merge(&mut document, &patch);
        }
        PatchType::Apply => {
            return Err(ApiError::bad_request(
                "apply patches are handled by server-side apply",
            ));
        }
    }
    Ok(document)
}

fn parse_json(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid patch body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_and_merge_patches_apply() {
        let target = json!({"spec": {"replicas": 1, "paused": true}});
        let merged = patch_object(
            PatchType::Merge,
            &target,
            br#"{"spec":{"replicas":3,"paused":null}}"#,
        )
        .unwrap();
        assert_eq!(merged, json!({"spec": {"replicas": 3}}));
        let patched = patch_object(
            PatchType::Json,
            &target,
            br#"[{"op":"replace","path":"/spec/replicas","value":5}]"#,
        )
        .unwrap();
        assert_eq!(patched["spec"]["replicas"], 5);
        let failed = patch_object(
            PatchType::Json,
            &target,
            br#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
        );
        assert_eq!(failed.unwrap_err().code, 422);
    }

    #[test]
    fn content_types_map_to_patch_types() {
        assert_eq!(
            PatchType::from_content_type("application/strategic-merge-patch+json; charset=utf-8")
                .unwrap(),
            PatchType::Strategic
        );
        assert_eq!(
            PatchType::from_content_type("text/plain").unwrap_err().code,
            415
        );
    }
}
