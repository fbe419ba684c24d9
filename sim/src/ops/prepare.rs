//! Pure object preparation for writes: defaults on create, immutable metadata, generation, status rules.

use rand::Rng;
use serde_json::{Map, Value, json};

use super::Target;
use crate::error::{ApiError, ApiResult};
use crate::resources::ResourceInfo;
use crate::store::Write;

/// The current time in the RFC 3339 form Kubernetes uses.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn new_uid() -> String {
    let bits: u128 = rand::rng().random();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Checks `apiVersion`/`kind` of a body against the target and fills them in.
fn check_type(target: &Target, body: &mut Value) -> ApiResult<()> {
    let Some(map) = body.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let api_version = target.info.api_version(&target.version);
    if let Some(kind) = map.get("kind").and_then(Value::as_str)
        && kind != target.info.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind {kind} does not match the expected kind {}",
            target.info.kind
        )));
    }
    map.insert("apiVersion".to_owned(), Value::String(api_version));
    map.insert("kind".to_owned(), Value::String(target.info.kind.clone()));
    if !map.get("metadata").is_some_and(Value::is_object) {
        map.insert("metadata".to_owned(), Value::Object(Map::new()));
    }
    Ok(())
}

/// Prepares a new object: name, namespace, uid, timestamps, generation, status rules.
pub(crate) fn prepare_create(target: &Target, mut body: Value) -> ApiResult<Value> {
    check_type(target, &mut body)?;
    let meta = &mut body["metadata"];
    if meta["name"].as_str().is_none_or(str::is_empty) {
        let Some(prefix) = meta["generateName"].as_str() else {
            let cause = crate::error::Cause {
                reason: "FieldValueRequired",
                field: "metadata.name".to_owned(),
                message: "Required value: name or generateName is required".to_owned(),
            };
            return Err(ApiError::invalid_object(
                &target.info.group,
                &target.info.kind,
                "",
                vec![cause],
            ));
        };
        meta["name"] = json!(format!("{prefix}{}", random_suffix()));
    }
    if let Some(name) = target.name.as_deref()
        && meta["name"] != name
    {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    if target.info.namespaced {
        let ns = target.namespace.clone().unwrap_or_default();
        // An object without a namespace takes the request's, as on a real API server.
        if meta["namespace"]
            .as_str()
            .is_some_and(|given| !given.is_empty() && given != ns)
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta["namespace"] = json!(ns);
    } else if let Some(m) = meta.as_object_mut() {
        m.remove("namespace");
    }
    meta["uid"] = json!(new_uid());
    meta["creationTimestamp"] = json!(now());
    meta["generation"] = json!(1);
    if let Some(m) = meta.as_object_mut() {
        for field in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            m.remove(field);
        }
    }
    if target.info.status_subresource
        && let Some(m) = body.as_object_mut()
    {
        m.remove("status");
    }
    match (target.info.group.as_str(), target.info.plural.as_str()) {
        ("", "namespaces") => body["status"] = json!({"phase": "Active"}),
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            let info = ResourceInfo::from_crd(&body)?;
            body["status"] = crd_status(&body, &info);
        }
        _ => {}
    }
    admit(target, &body, None)?;
    Ok(body)
}

/// Checks a custom resource against the schema of the requested version: 422 with one cause per
/// field error, as the API server answers.
fn admit(target: &Target, object: &Value, old: Option<&Value>) -> ApiResult<()> {
    let Some(schema) = target.info.schemas.get(&target.version) else {
        return Ok(());
    };
    let causes = schema.validate(object, old);
    if causes.is_empty() {
        return Ok(());
    }
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    Err(ApiError::invalid_object(
        &target.info.group,
        &target.info.kind,
        name,
        causes,
    ))
}

fn crd_status(crd: &Value, info: &ResourceInfo) -> Value {
    let at = now();
    let condition = |kind: &str, reason: &str| json!({"type": kind, "status": "True", "reason": reason, "message": "", "lastTransitionTime": at});
    json!({
        "conditions": [condition("NamesAccepted", "NoConflicts"), condition("Established", "InitialNamesAccepted")],
        "acceptedNames": crd["spec"]["names"],
        "storedVersions": [info.versions.first()],
    })
}

/// Copies `field` of `from` into `to`, or removes it from `to` when `from` lacks it.
fn carry(to: &mut Value, from: &Value, field: &str) {
    match (from.get(field), to.as_object_mut()) {
        (Some(value), Some(map)) => {
            map.insert(field.to_owned(), value.clone());
        }
        (None, Some(map)) => {
            map.remove(field);
        }
        _ => {}
    }
}

/// Everything that counts as the spec for `metadata.generation`.
fn spec_changed(info: &ResourceInfo, old: &Value, new: &Value) -> bool {
    let skip = |k: &str| k == "metadata" || (info.status_subresource && k == "status");
    let strip = |v: &Value| -> Map<String, Value> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !skip(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    strip(old) != strip(new)
}

/// Decides how an update of `old` to `new` is stored, enforcing resourceVersion, status and metadata rules.
pub(crate) fn finish_update(target: &Target, old: &Value, mut new: Value) -> ApiResult<Write> {
    check_type(target, &mut new)?;
    let describe = target.describe();
    let name = target.name.as_deref().unwrap_or_default();
    if let Some(rv) = new["metadata"]["resourceVersion"]
        .as_str()
        .filter(|rv| !rv.is_empty())
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::stale(&describe, name));
    }
    if new["metadata"]["name"].as_str().is_some_and(|n| n != name) {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    let mut next = if target.is_status() {
        let mut next = old.clone();
        carry(&mut next, &new, "status");
        // A server-side apply to /status records the fields it owns, so that a later apply
        // without them removes them. A write that changes no status keeps the old record.
        if next != *old && new["metadata"].get("managedFields").is_some() {
            carry(&mut next["metadata"], &new["metadata"], "managedFields");
        }
        next
    } else {
        if target.info.status_subresource {
            carry(&mut new, old, "status");
        }
        let meta = &mut new["metadata"];
        let old_meta = &old["metadata"];
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            carry(meta, old_meta, field);
        }
        if meta.get("managedFields").is_none() {
            carry(meta, old_meta, "managedFields");
        }
        new
    };
    next["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
    if next == *old {
        return Ok(Write::Keep);
    }
    if spec_changed(&target.info, old, &next) {
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        next["metadata"]["generation"] = json!(generation);
    }
    let deleting = next["metadata"]["deletionTimestamp"].is_string();
    let finalizers_left = next["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if deleting && !finalizers_left && target.info.plural != "namespaces" {
        return Ok(Write::Delete);
    }
    admit(target, &next, Some(old))?;
    Ok(Write::Put(next))
}
