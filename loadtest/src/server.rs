//! The HTTP API: Flagger's loadtester endpoints with Flagger's status codes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use regex::Regex;

use crate::gates::Gates;
use crate::metrics::Metrics;
use crate::payload::{CanaryRef, GateKey, WebhookPayload};
use crate::tasks::process::ProcessError;
use crate::tasks::{self, Plan, Started, TaskConfig, TaskRunner};

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Manual gates.
    pub gates: Arc<Gates>,
    /// Background task runner.
    pub runner: Arc<TaskRunner>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Program paths and default deadline.
    pub tasks: TaskConfig,
    /// Only canaries in matching namespaces are served (`--namespace-regexp`).
    pub namespace_filter: Option<Regex>,
    /// When set, every endpoint but `/healthz` and `/metrics` needs this token, as
    /// `Authorization: Bearer <token>` or as the payload's `token` metadata (`--token`).
    pub token: Option<String>,
}

impl AppState {
    /// State with in-memory gates and default task settings.
    pub fn new(gates: Gates, tasks: TaskConfig, namespace_filter: Option<Regex>) -> Self {
        let metrics = Arc::new(Metrics::new());
        Self {
            gates: Arc::new(gates),
            runner: TaskRunner::new(tasks.clone(), Arc::clone(&metrics)),
            metrics,
            tasks,
            namespace_filter,
            token: None,
        }
    }

    /// The same state requiring `token` on every endpoint but `/healthz` and `/metrics`.
    #[must_use]
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }
}

/// The router with every endpoint. Like Flagger, endpoints answer any method.
pub fn router(state: AppState) -> Router {
    let guarded = Router::new()
        .route("/", any(run_task))
        .route("/gate/approve", any(gate_approve))
        .route("/gate/halt", any(gate_halt))
        .route("/gate/check", any(gate_check))
        .route("/gate/open", any(gate_open))
        .route("/gate/close", any(gate_close))
        .route("/rollback/check", any(rollback_check))
        .route("/rollback/open", any(rollback_open))
        .route("/rollback/close", any(rollback_close))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ));
    Router::new()
        .merge(guarded)
        .route("/healthz", any(healthz))
        .route("/metrics", any(metrics))
        .with_state(state)
}

/// Refuses a request without the shared token (401), when one is configured.
async fn require_token(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(token) = state.token.as_deref() else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    // Payloads are small; a larger body is not a webhook.
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAYLOAD).await else {
        return reply(
            &state,
            &path,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload too large",
        );
    };
    let from_metadata = WebhookPayload::from_json(&bytes)
        .ok()
        .and_then(|p| p.metadata().get("token").cloned());
    let presented = header.or(from_metadata);
    if !presented.is_some_and(|p| same_secret(p.as_bytes(), token.as_bytes())) {
        tracing::warn!(endpoint = %path, "request without the load tester's token refused");
        return reply(&state, &path, StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// The largest payload read when checking the token.
const MAX_PAYLOAD: usize = 1024 * 1024;

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn reply(state: &AppState, endpoint: &str, code: StatusCode, body: impl Into<String>) -> Response {
    state.metrics.count_endpoint(endpoint, code.as_u16());
    (code, body.into()).into_response()
}

async fn healthz(State(state): State<AppState>) -> Response {
    reply(&state, "/healthz", StatusCode::OK, "OK")
}

async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.count_endpoint("/metrics", 200);
    match state.metrics.encode() {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn gate_approve(State(state): State<AppState>) -> Response {
    reply(&state, "/gate/approve", StatusCode::OK, "OK")
}

async fn gate_halt(State(state): State<AppState>) -> Response {
    reply(&state, "/gate/halt", StatusCode::FORBIDDEN, "Forbidden")
}

/// Decodes the payload and applies the namespace guard; `Err` is the status and message to
/// answer with.
fn admit(
    state: &AppState,
    endpoint: &str,
    body: &[u8],
) -> Result<(WebhookPayload, CanaryRef), (StatusCode, String)> {
    let bad_request = |message: String| {
        tracing::warn!(endpoint, error = %message, "rejected request");
        (StatusCode::BAD_REQUEST, message)
    };
    let payload = WebhookPayload::from_json(body).map_err(|e| bad_request(e.to_string()))?;
    let canary = payload.canary().map_err(|e| bad_request(e.to_string()))?;
    if let Some(filter) = &state.namespace_filter
        && !filter.is_match(&canary.namespace)
    {
        tracing::warn!(endpoint, %canary, "namespace not allowed by --namespace-regexp");
        return Err((
            StatusCode::FORBIDDEN,
            format!(
                "namespace {} is not allowed by --namespace-regexp {}",
                canary.namespace,
                filter.as_str()
            ),
        ));
    }
    Ok((payload, canary))
}

fn check(state: &AppState, endpoint: &str, body: &[u8], rollback: bool) -> Response {
    let canary = match admit(state, endpoint, body) {
        Ok((_, canary)) => canary,
        Err((code, message)) => return reply(state, endpoint, code, message),
    };
    let key = gate_key(&canary, rollback);
    let open = state.gates.is_open(&key);
    tracing::info!(%key, open, "{endpoint}");
    if open {
        reply(state, endpoint, StatusCode::OK, "Approved")
    } else {
        reply(state, endpoint, StatusCode::FORBIDDEN, "Forbidden")
    }
}

async fn set(
    state: &AppState,
    endpoint: &str,
    body: &[u8],
    rollback: bool,
    open: bool,
) -> Response {
    let canary = match admit(state, endpoint, body) {
        Ok((_, canary)) => canary,
        Err((code, message)) => return reply(state, endpoint, code, message),
    };
    let key = gate_key(&canary, rollback);
    match state.gates.set(&key, open).await {
        Ok(()) => {
            tracing::info!(%key, open, "gate changed");
            reply(state, endpoint, StatusCode::ACCEPTED, "")
        }
        Err(e) => {
            tracing::error!(%key, error = %e, "storing the gate failed");
            reply(
                state,
                endpoint,
                StatusCode::INTERNAL_SERVER_ERROR,
                e.to_string(),
            )
        }
    }
}

fn gate_key(canary: &CanaryRef, rollback: bool) -> GateKey {
    if rollback {
        GateKey::rollback(canary)
    } else {
        GateKey::promotion(canary)
    }
}

async fn gate_check(State(state): State<AppState>, body: Bytes) -> Response {
    check(&state, "/gate/check", &body, false)
}

async fn gate_open(State(state): State<AppState>, body: Bytes) -> Response {
    set(&state, "/gate/open", &body, false, true).await
}

async fn gate_close(State(state): State<AppState>, body: Bytes) -> Response {
    set(&state, "/gate/close", &body, false, false).await
}

async fn rollback_check(State(state): State<AppState>, body: Bytes) -> Response {
    check(&state, "/rollback/check", &body, true)
}

async fn rollback_open(State(state): State<AppState>, body: Bytes) -> Response {
    set(&state, "/rollback/open", &body, true, true).await
}

async fn rollback_close(State(state): State<AppState>, body: Bytes) -> Response {
    set(&state, "/rollback/close", &body, true, false).await
}

async fn run_task(State(state): State<AppState>, body: Bytes) -> Response {
    const ENDPOINT: &str = "/";
    let (payload, canary) = match admit(&state, ENDPOINT, &body) {
        Ok(admitted) => admitted,
        Err((code, message)) => return reply(&state, ENDPOINT, code, message),
    };
    let plan = match tasks::plan(&payload, &canary, &state.tasks) {
        Ok(plan) => plan,
        Err(e) => {
            tracing::warn!(%canary, error = %e, "rejected task");
            return reply(&state, ENDPOINT, StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    match plan {
        Plan::Background(task) => match state.runner.start(task) {
            Started::Started => reply(&state, ENDPOINT, StatusCode::ACCEPTED, "started"),
            Started::AlreadyRunning => {
                reply(&state, ENDPOINT, StatusCode::ACCEPTED, "already running")
            }
        },
        Plan::Blocking(task) => {
            tracing::info!(%canary, kind = task.kind, args = ?task.args, "running blocking task");
            let outcome = task.run().await;
            let (code, body, result) = match outcome {
                Ok(out) if out.success() => {
                    let body = if task.return_output {
                        out.output
                    } else {
                        String::new()
                    };
                    (StatusCode::OK, body, "success")
                }
                Ok(out) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "{} {} failed: {}\n{}",
                        task.kind,
                        task.args.join(" "),
                        out.status,
                        out.output
                    ),
                    "failure",
                ),
                Err(e @ ProcessError::Timeout { .. }) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), "timeout")
                }
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), "failure"),
            };
            if code != StatusCode::OK {
                tracing::error!(%canary, kind = task.kind, error = %body, "blocking task failed");
            }
            state.metrics.count_task(task.kind, result);
            reply(&state, ENDPOINT, code, body)
        }
    }
}
