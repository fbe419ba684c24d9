//! Reading a serin resource out of an untyped document, with every problem named by its path:
//! wrong types, unknown fields (which the API server would silently drop), and a missing name.

use serde_json::Value;

use crate::{AlertProvider, Canary, GROUP, MetricTemplate, VERSION};

use super::{FieldError, ValidationErrors};

/// A serin resource read from a document.
#[derive(Clone, Debug, PartialEq)]
pub enum ParsedResource {
    /// A Canary.
    Canary(Box<Canary>),
    /// A MetricTemplate.
    MetricTemplate(Box<MetricTemplate>),
    /// An AlertProvider.
    AlertProvider(Box<AlertProvider>),
}

/// Reads `doc` as a serin resource. `None` when the document is of another kind; an error when it
/// is a `flagger.app` resource that does not deserialize cleanly.
pub fn parse_resource(doc: &Value) -> Option<Result<ParsedResource, ValidationErrors>> {
    let kind = doc.get("kind")?.as_str()?;
    let api_version = doc.get("apiVersion")?.as_str()?;
    let (group, version) = api_version.split_once('/')?;
    if group != GROUP || !matches!(kind, "Canary" | "MetricTemplate" | "AlertProvider") {
        return None;
    }
    if version != VERSION {
        return Some(Err(one_error(
            "apiVersion",
            format!("{api_version} is not served; use {GROUP}/{VERSION}"),
        )));
    }
    Some(match kind {
        "Canary" => typed::<Canary>(doc).map(|c| ParsedResource::Canary(Box::new(c))),
        "MetricTemplate" => {
            typed::<MetricTemplate>(doc).map(|m| ParsedResource::MetricTemplate(Box::new(m)))
        }
        _ => typed::<AlertProvider>(doc).map(|a| ParsedResource::AlertProvider(Box::new(a))),
    })
}

fn one_error(path: &str, message: String) -> ValidationErrors {
    ValidationErrors(vec![FieldError {
        path: path.to_owned(),
        message,
    }])
}

fn typed<T: serde::de::DeserializeOwned + kube::Resource>(
    doc: &Value,
) -> Result<T, ValidationErrors> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| {
        let path = path.to_string();
        // apiVersion and kind were read above; metadata is validated by the API server.
        if !(path == "apiVersion" || path == "kind" || path.starts_with("metadata")) {
            unknown.push(path);
        }
    };
    let deserializer = serde_ignored::Deserializer::new(doc, &mut record);
    let typed: Result<T, _> = serde_path_to_error::deserialize(deserializer);
    let typed = typed.map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = e.into_inner().to_string();
        // serde says "missing field `x`" at the parent; name the field itself instead.
        match message
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'))
        {
            Some(field) if path.is_empty() => one_error(field, "is required".into()),
            Some(field) => one_error(&format!("{path}.{field}"), "is required".into()),
            None => one_error(&path, message),
        }
    })?;
    let mut errors: Vec<FieldError> = unknown
        .into_iter()
        .map(|path| FieldError {
            path,
            message: "unknown field; the API server would drop it".into(),
        })
        .collect();
    if typed.meta().name.as_deref().is_none_or(str::is_empty) {
        errors.push(FieldError {
            path: "metadata.name".into(),
            message: "is required".into(),
        });
    }
    if errors.is_empty() {
        Ok(typed)
    } else {
        Err(ValidationErrors(errors))
    }
}
