//! The controller-wide notification settings: `--event-webhook` receives every Event, and the
//! default alert providers (`--slack-url`, `--msteams-url`) receive the alerts of Canaries that
//! name no provider of their own.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use serde_json::Value;
use serin_controller::notifiers::ResolvedProvider;
use serin_crds::AlertProviderType;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::Harness;

const PODINFO: &str = r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata: {labels: {app: podinfo}}
    spec: {containers: [{name: podinfo, image: 'podinfo:1'}]}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis: {interval: 1s, threshold: 1, iterations: 1}
";

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

async fn record(State(seen): State<Seen>, uri: Uri, body: Bytes) -> &'static str {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock()
        .expect("lock")
        .push((uri.path().to_owned(), body));
    "ok"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_event_webhook_and_alerts_the_default_provider() {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new()
        .fallback(record)
        .with_state(Arc::clone(&seen));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let events_url = url::Url::parse(&format!("{base}/events")).expect("url");
    let alerts_url = url::Url::parse(&format!("{base}/alerts")).expect("url");
    let mut h = Harness::start_with(Provider::Kubernetes, move |config| {
        config.event_webhook = Some(events_url);
        config.default_alerts = vec![ResolvedProvider {
            kind: AlertProviderType::Generic,
            url: alerts_url,
            token: None,
            channel: None,
            username: None,
            proxy: None,
        }];
    })
    .await;
    h.apply(PODINFO);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let received = seen.lock().expect("lock").clone();
        let event = received.iter().find(|(path, body)| {
            path == "/events"
                && body["name"] == "podinfo"
                && body["metadata"]["eventType"] == "Normal"
        });
        let alert = received
            .iter()
            .find(|(path, body)| path == "/alerts" && body["canary"] == "podinfo");
        if let (Some((_, event)), Some((_, alert))) = (event, alert) {
            assert!(
                event["metadata"]["eventMessage"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{event}"
            );
            assert_eq!(alert["namespace"], "test");
            assert_eq!(alert["fields"]["Traffic routing"], "Blue/Green");
            break;
        }
        assert!(Instant::now() < deadline, "received: {received:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.stop_controller().await;
}
