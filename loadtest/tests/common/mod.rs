//! Shared helpers: a load tester and a target server on 127.0.0.1, an HTTP client, polling.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::any;
use serin_loadtest::gates::Gates;
use serin_loadtest::server::{self, AppState};
use serin_loadtest::tasks::TaskConfig;

/// Starts the load tester's router on a free loopback port.
pub(crate) async fn spawn_loadtester(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, server::router(state))
            .await
            .expect("serve");
    });
    addr
}

/// In-memory state with default task settings.
pub(crate) fn memory_state() -> AppState {
    AppState::new(Gates::in_memory(), TaskConfig::default(), None)
}

/// An HTTP client with a timeout, as every outbound call has one.
pub(crate) fn client() -> reqwest::Client {
    serin_loadtest::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("client")
}

/// POSTs `body` and returns the status code and the response text.
pub(crate) async fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let response = client()
        .post(format!("http://{addr}{path}"))
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let code = response.status().as_u16();
    (code, response.text().await.expect("body"))
}

/// GETs `path`.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = client()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .expect("request");
    let code = response.status().as_u16();
    (code, response.text().await.expect("body"))
}

/// A webhook payload for canary `podinfo` in `namespace` with the given metadata.
pub(crate) fn payload(namespace: &str, metadata: serde_json::Value) -> String {
    let mut body = serde_json::json!({
        "name": "podinfo",
        "namespace": namespace,
        "phase": "Progressing",
        "checksum": "abc",
    });
    body["metadata"] = metadata;
    body.to_string()
}

/// Polls `check` every 20 ms until it holds, failing after `within`.
pub(crate) async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A target that answers every request with 200 after `delay`, counting requests.
pub(crate) struct Target {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// Requests answered so far.
    pub(crate) hits: Arc<AtomicU64>,
}

impl Target {
    /// Requests answered so far.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// `http://127.0.0.1:PORT/`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

/// Starts a target on a free loopback port.
pub(crate) async fn spawn_target(delay: Duration) -> Target {
    let hits = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let app = Router::new()
        .fallback(any(move |State(hits): State<Arc<AtomicU64>>| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            hits.fetch_add(1, Ordering::Relaxed);
            "ok"
        }))
        .with_state(Arc::clone(&hits));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve target");
    });
    Target { addr, hits }
}
