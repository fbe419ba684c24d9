//! A local HTTP receiver for alerts and webhooks that counts what it gets per event.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use serde_json::Value;

/// Every request received, as (path, body), in order.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    /// Serves on a free port of 127.0.0.1; returns the receiver and its base URL.
    pub(crate) async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let app = axum::Router::new()
            .fallback(record)
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        (receiver, format!("http://{addr}"))
    }

    fn seen(&self) -> Vec<(String, Value)> {
        self.seen.lock().expect("lock").clone()
    }

    /// Requests to `path`, counted by what they announce: an alert's `message`, an event
    /// hook's `metadata.eventMessage`, or the path itself for other hooks.
    pub(crate) fn counts(&self, path: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (p, body) in self.seen().into_iter().filter(|(p, _)| p == path) {
            let key = body["message"]
                .as_str()
                .or_else(|| body["metadata"]["eventMessage"].as_str())
                .map_or(p, str::to_owned);
            *counts.entry(key).or_default() += 1;
        }
        counts
    }
}

async fn record(State(r): State<Receiver>, uri: Uri, body: Bytes) -> &'static str {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    r.seen
        .lock()
        .expect("lock")
        .push((uri.path().to_owned(), body));
    "ok"
}

/// Asserts that nothing was announced twice to `path`, except the messages of a failed check
/// (`Halt ...`), which may repeat up to `threshold` times for as many failed checks, and the
/// waits for readiness, which repeat while a Deployment rolls out. Returns how many distinct
/// announcements were checked.
pub(crate) fn assert_each_sent_once(receiver: &Receiver, path: &str, threshold: usize) -> usize {
    let counts = receiver.counts(path);
    for (message, &count) in &counts {
        let allowed = if message.starts_with("Halt") {
            threshold
        } else if message.contains("not ready") || message.contains("Waiting") {
            usize::MAX
        } else {
            1
        };
        assert!(
            count <= allowed,
            "{path}: {message:?} was sent {count} times (at most {allowed}); all: {counts:#?}"
        );
    }
    counts.len()
}
