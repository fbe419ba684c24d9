//! Kubernetes `Status` errors returned by the emulated API server.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An API error, rendered as a `meta.k8s.io/v1` `Status` body with its HTTP code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Resource (`deployments.apps`) and name the error is about, when known.
    pub details: Option<(String, String)>,
    /// For an invalid object: its kind and the field errors (`details.causes`).
    pub invalid: Option<Box<Invalid>>,
}

/// The kind and field errors of an object refused as invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The object's kind (`Canary`).
    pub kind: String,
    /// One entry per field error.
    pub causes: Vec<Cause>,
}

/// One field error of an invalid object, as in a `Status`'s `details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, ...
    pub reason: &'static str,
    /// The field path, such as `spec.analysis.stepWeight`.
    pub field: String,
    /// The message without the field, such as `Invalid value: "number": must be ...`.
    pub message: String,
}

/// Result type of the emulator's API operations.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            invalid: None,
        }
    }

    fn about(mut self, resource: &str, name: &str) -> Self {
        self.details = Some((resource.to_owned(), name.to_owned()));
        self
    }

    /// 404 for a named object.
    pub fn not_found(resource: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{resource} \"{name}\" not found")).about(resource, name)
    }

    /// 404 for a path the server does not serve.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 409 when creating an object that exists.
    pub fn already_exists(resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{resource} \"{name}\" already exists"),
        )
        .about(resource, name)
    }

    /// 409 for a stale resourceVersion or a field-manager conflict.
    pub fn conflict(resource: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {resource} \"{name}\": {why}"),
        )
        .about(resource, name)
    }

    /// 409 for a stale resourceVersion.
    pub fn stale(resource: &str, name: &str) -> Self {
        Self::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 for an invalid object.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    /// 422 for an object that fails its schema: `Kind.group "name" is invalid: field: message`,
    /// one cause per field error, as the API server words it.
    pub fn invalid_object(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let lines: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let listed = if lines.len() == 1 {
            lines.join("")
        } else {
            format!("[{}]", lines.join(", "))
        };
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let mut error = Self::new(
            422,
            "Invalid",
            format!("{qualified} \"{name}\" is invalid: {listed}"),
        );
        error.details = Some((group.to_owned(), name.to_owned()));
        error.invalid = Some(Box::new(Invalid {
            kind: kind.to_owned(),
            causes,
        }));
        error
    }

    /// 403, e.g. for creating objects in a terminating namespace.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 400 for a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 410 for a resourceVersion older than the retained history.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 415 for an unknown patch content type.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type})"
            ),
        )
    }

    /// 415 for a protobuf body the emulator cannot decode.
    pub fn unsupported_protobuf(why: &str) -> Self {
        Self::new(415, "UnsupportedMediaType", why)
    }

    /// An injected fault with the given code.
    pub fn injected(code: u16) -> Self {
        let reason = match code {
            429 => "TooManyRequests",
            409 => "Conflict",
            _ => "InternalError",
        };
        Self::new(code, reason, format!("injected fault: {code}"))
    }

    /// The error as a `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let (Some(invalid), Some((group, name))) = (&self.invalid, &self.details) {
            let causes: Vec<Value> = invalid
                .causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect();
            status["details"] =
                json!({ "name": name, "group": group, "kind": invalid.kind, "causes": causes });
        } else if let Some((resource, name)) = &self.details {
            let (kind, group) = resource.split_once('.').unwrap_or((resource.as_str(), ""));
            status["details"] = json!({ "name": name, "group": group, "kind": kind });
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = crate::http_util::json_response(code, &self.to_status());
        if self.code == 429 {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}
