//! The dashboard's HTTP server: the embedded page, a JSON API read from the hub, a stream of
//! changes (server-sent events) and, with `--allow-actions`, the manual controls. Requests must
//! name this machine as their `Host` when it listens on a loopback address (so that a web page
//! elsewhere cannot reach it by DNS rebinding), and actions must come from the page itself.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use serde_json::json;
use tokio_stream_shim::BroadcastStream;

use super::history::History;
use super::hub::Hub;
use crate::cli::controls::{self, Control};
use crate::cli::fetch;
use crate::cli::kube_args::Cluster;
use crate::cli::view::{self, CanaryView, Related};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// What the handlers share.
pub(super) struct AppState {
    /// The live state.
    pub(super) hub: Arc<Hub>,
    /// The cluster, for actions and generated objects.
    pub(super) cluster: Cluster,
    /// Whether the manual controls are served.
    pub(super) allow_actions: bool,
    /// How long an action waits for serin.
    pub(super) action_timeout: Duration,
    /// Where the server listens.
    pub(super) listen: SocketAddr,
    /// Generated objects and workloads per Canary, with the resourceVersion they were read at.
    related: Mutex<BTreeMap<String, (Option<String>, Related)>>,
}

impl AppState {
    /// State for a server on `listen`.
    pub(super) fn new(
        hub: Arc<Hub>,
        cluster: Cluster,
        allow_actions: bool,
        action_timeout: Duration,
        listen: SocketAddr,
    ) -> AppState {
        AppState {
            hub,
            cluster,
            allow_actions,
            action_timeout,
            listen,
            related: Mutex::default(),
        }
    }
}

/// The routes.
pub(super) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/canaries/{namespace}/{name}", get(page))
        .route(
            "/assets/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    APP_JS,
                )
            }),
        )
        .route(
            "/assets/style.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    STYLE_CSS,
                )
            }),
        )
        .route("/api/info", get(info))
        .route("/api/canaries", get(list))
        .route("/api/canaries/{namespace}/{name}", get(detail))
        .route("/api/canaries/{namespace}/{name}/{action}", post(action))
        .route("/api/stream", get(stream))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// Refuses requests for other hosts (DNS rebinding) and actions from other origins.
async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if state.listen.ip().is_loopback() && !host_is_local(headers) {
        return error(
            StatusCode::FORBIDDEN,
            "this dashboard answers only requests for 127.0.0.1 or localhost",
        );
    }
    if request.method() == axum::http::Method::POST {
        // A page of another origin cannot send this header without a CORS preflight, which
        // this server never grants.
        if headers.get("x-serin-action").is_none() {
            return error(
                StatusCode::FORBIDDEN,
                "actions need the X-Serin-Action header",
            );
        }
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            if origin != format!("http://{host}") {
                return error(
                    StatusCode::FORBIDDEN,
                    "actions are accepted from the dashboard's own page only",
                );
            }
        }
    }
    next.run(request).await
}

fn host_is_local(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX)
}

async fn info(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    Json(json!({
        "allowActions": state.allow_actions,
        "scope": state.cluster.scope.to_string(),
        "server": state.cluster.server,
        "version": env!("CARGO_PKG_VERSION"),
        "synced": state.hub.synced(),
    }))
}

async fn list(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    Json(state.hub.rows())
}

/// A Canary's page data: the view, its history, and whether actions are allowed.
#[derive(serde::Serialize)]
struct Detail {
    view: CanaryView,
    history: History,
}

async fn detail(
    State(state): State<Arc<AppState>>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let Some((canary, history, events)) = state.hub.get(&namespace, &name) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no Canary {namespace}/{name} (yet)"),
        );
    };
    let key = format!("{namespace}/{name}");
    let cached = state
        .related
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
        .filter(|(rv, _)| *rv == canary.metadata.resource_version)
        .map(|(_, r)| r.clone());
    let mut related = match cached {
        Some(r) => r,
        None => {
            let mut r = fetch::related(&state.cluster, &canary).await;
            r.events.clear();
            let mut cache = state.related.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(key, (canary.metadata.resource_version.clone(), r.clone()));
            r
        }
    };
    related.events = events;
    Json(Detail {
        view: view::canary_view(&canary, related),
        history,
    })
    .into_response()
}

async fn action(
    State(state): State<Arc<AppState>>,
    Path((namespace, name, action)): Path<(String, String, String)>,
) -> Response {
    if !state.allow_actions {
        return error(
            StatusCode::FORBIDDEN,
            "actions are off; start the dashboard with --allow-actions",
        );
    }
    let control = match action.as_str() {
        "promote" => Control::Promote,
        "abort" => Control::Abort,
        "retry" => Control::Retry,
        "pause" => Control::Pause,
        "resume" => Control::Resume,
        other => return error(StatusCode::NOT_FOUND, format!("no action {other:?}")),
    };
    match Box::pin(controls::send(
        &state.cluster,
        &namespace,
        &name,
        control,
        state.action_timeout,
    ))
    .await
    {
        Ok(outcome) => Json(outcome).into_response(),
        Err(e) => {
            let status = match e.category() {
                "refused" => StatusCode::CONFLICT,
                "timeout" => StatusCode::GATEWAY_TIMEOUT,
                "not_found" => StatusCode::NOT_FOUND,
                "forbidden" => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_GATEWAY,
            };
            error(status, e.to_string())
        }
    }
}

async fn stream(
    State(state): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let updates = BroadcastStream::new(state.hub.subscribe());
    Sse::new(updates.into_events()).keep_alive(KeepAlive::default())
}

/// A broadcast receiver as a stream of server-sent events; a receiver that fell behind is told
/// to reload everything.
mod tokio_stream_shim {
    use std::convert::Infallible;

    use axum::response::sse::Event as SseEvent;
    use futures::Stream;
    use tokio::sync::broadcast;

    use crate::dashboard::hub::Update;

    pub(super) struct BroadcastStream(pub broadcast::Receiver<Update>);

    impl BroadcastStream {
        pub(super) fn new(rx: broadcast::Receiver<Update>) -> Self {
            BroadcastStream(rx)
        }

        pub(super) fn into_events(self) -> impl Stream<Item = Result<SseEvent, Infallible>> {
            futures::stream::unfold(self.0, |mut rx| async move {
                let event = match rx.recv().await {
                    Ok(update) => SseEvent::default()
                        .event("canary")
                        .json_data(&update)
                        .unwrap_or_else(|_| SseEvent::default().event("reload").data("")),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        SseEvent::default().event("reload").data("")
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                Some((Ok(event), rx))
            })
        }
    }
}
