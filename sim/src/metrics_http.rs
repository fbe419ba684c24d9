//! Serves a Prometheus registry as text exposition on `/metrics`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;

/// A registry shared by the emulator, the simulated cluster and the metrics endpoint.
pub type SharedRegistry = Arc<Mutex<Registry>>;

/// A new empty shared registry.
pub fn new_registry() -> SharedRegistry {
    Arc::new(Mutex::new(Registry::default()))
}

async fn metrics(State(registry): State<SharedRegistry>) -> Response {
    let mut text = String::new();
    {
        let registry = registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &registry) {
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
        }
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Binds `addr` and serves `/metrics` in a background task; returns the bound address.
pub async fn serve(addr: SocketAddr, registry: SharedRegistry) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok(bound)
}
