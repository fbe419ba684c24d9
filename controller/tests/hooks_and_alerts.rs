//! Webhook calls and alerts against local HTTP receivers on 127.0.0.1, asserting exactly what
//! each receiver gets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use serin_analysis::egress::EgressPolicy;
use serin_controller::notifiers::{Alert, ResolvedProvider, SendError, Sender, Severity};
use serin_controller::webhooks::{EventInfo, HookCaller, HookError, HookPayload};
use serin_crds::AlertProviderType;
use serin_crds::canary::CanaryPhase;
use serin_crds::validation::{HookKind, WebhookPlan};

/// What a receiver saw of one request.
#[derive(Clone, Debug)]
struct Received {
    uri: String,
    authorization: Option<String>,
    body: Value,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; the last one repeats.
    answers: Arc<Mutex<Vec<u16>>>,
    delay: Duration,
}

impl Receiver {
    fn answering(statuses: &[u16]) -> Self {
        Receiver {
            answers: Arc::new(Mutex::new(statuses.to_vec())),
            ..Receiver::default()
        }
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().expect("lock").clone()
    }

    /// Serves on a free port; returns its base URL.
    async fn start(self) -> String {
        let app = axum::Router::new().fallback(record).with_state(self);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        format!("http://{addr}")
    }
}

async fn record(
    State(r): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let status = {
        let mut answers = r.answers.lock().expect("lock");
        if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers.first().copied().unwrap_or(200)
        }
    };
    r.seen.lock().expect("lock").push(Received {
        uri: uri.to_string(),
        authorization: headers
            .get("authorization")
            .map(|v| v.to_str().expect("ascii").to_owned()),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    tokio::time::sleep(r.delay).await;
    (
        StatusCode::from_u16(status).expect("status"),
        format!("answer {status}"),
    )
}

fn hook(url: &str, kind: HookKind, retries: u32, timeout: Duration) -> WebhookPlan {
    WebhookPlan {
        name: "load-test".into(),
        kind,
        url: url::Url::parse(url).expect("url"),
        timeout,
        retries,
        disable_tls: false,
        mute_alert: false,
        metadata: BTreeMap::from([(
            "cmd".into(),
            "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/".into(),
        )]),
    }
}

fn payload(h: &WebhookPlan, event: Option<&EventInfo>) -> HookPayload {
    HookPayload::new(
        "podinfo",
        "test",
        CanaryPhase::Progressing,
        "sha256-abc",
        h,
        event,
    )
}

fn caller() -> HookCaller {
    HookCaller::new(Duration::from_millis(10)).expect("client")
}

#[tokio::test]
async fn a_webhook_receives_flaggers_payload() {
    let receiver = Receiver::answering(&[200]);
    let url = receiver.clone().start().await;
    let h = hook(
        &format!("{url}/"),
        HookKind::Rollout,
        0,
        Duration::from_secs(5),
    );
    assert_eq!(caller().call(&h, &payload(&h, None)).await, Ok(200));
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body,
        json!({
            "name": "podinfo",
            "namespace": "test",
            "phase": "Progressing",
            "checksum": "sha256-abc",
            "metadata": {"cmd": "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"}
        })
    );
}

#[tokio::test]
async fn any_2xx_answer_is_success_including_204() {
    let receiver = Receiver::answering(&[204]);
    let url = receiver.clone().start().await;
    let h = hook(&url, HookKind::ConfirmPromotion, 0, Duration::from_secs(5));
    assert_eq!(caller().call(&h, &payload(&h, None)).await, Ok(204));
}

#[tokio::test]
async fn failures_are_retried_until_one_succeeds() {
    let receiver = Receiver::answering(&[500, 503, 200]);
    let url = receiver.clone().start().await;
    let h = hook(&url, HookKind::PreRollout, 2, Duration::from_secs(5));
    assert_eq!(caller().call(&h, &payload(&h, None)).await, Ok(200));
    assert_eq!(receiver.seen().len(), 3);
}

#[tokio::test]
async fn when_retries_run_out_the_last_answer_is_reported() {
    let receiver = Receiver::answering(&[403]);
    let url = receiver.clone().start().await;
    let h = hook(&url, HookKind::ConfirmRollout, 1, Duration::from_secs(5));
    let err = caller().call(&h, &payload(&h, None)).await.unwrap_err();
    assert_eq!(
        err,
        HookError::Status {
            url: format!("{url}/"),
            status: 403,
            body: "answer 403".into()
        }
    );
    assert_eq!(err.category(), "status");
    assert_eq!(receiver.seen().len(), 2, "one call and one retry");
}

#[tokio::test]
async fn a_slow_hook_times_out_at_its_timeout() {
    let receiver = Receiver {
        delay: Duration::from_secs(5),
        ..Receiver::answering(&[200])
    };
    let url = receiver.clone().start().await;
    let h = hook(&url, HookKind::Rollout, 0, Duration::from_millis(200));
    let started = std::time::Instant::now();
    let err = caller().call(&h, &payload(&h, None)).await.unwrap_err();
    assert!(matches!(err, HookError::Timeout { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_hook_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    drop(listener);
    let h = hook(&url, HookKind::Rollout, 0, Duration::from_secs(2));
    let err = caller().call(&h, &payload(&h, None)).await.unwrap_err();
    assert_eq!(err.category(), "transport", "{err}");
}

#[tokio::test]
async fn event_hooks_carry_the_event_and_keep_it_over_the_hooks_metadata() {
    let receiver = Receiver::answering(&[200]);
    let url = receiver.clone().start().await;
    let mut h = hook(&url, HookKind::Event, 0, Duration::from_secs(5));
    h.metadata.insert("eventType".into(), "overridden?".into());
    let event = EventInfo {
        message: "Advance podinfo.test canary weight 20".into(),
        event_type: "Normal".into(),
        time: DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc),
    };
    caller()
        .call(&h, &payload(&h, Some(&event)))
        .await
        .expect("delivered");
    assert_eq!(
        receiver.seen()[0].body["metadata"],
        json!({
            "cmd": "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/",
            "eventMessage": "Advance podinfo.test canary weight 20",
            "eventType": "Normal",
            "timestamp": "1795341600000"
        })
    );
}

fn alert() -> Alert {
    Alert {
        canary: "podinfo".into(),
        namespace: "test".into(),
        message: "Progress deadline exceeded: canary not ready after 60s, rolling back".into(),
        severity: Severity::Error,
        fields: vec![("Target".into(), "Deployment/podinfo.test".into())],
        time: Utc::now(),
    }
}

fn provider(kind: AlertProviderType, url: &str) -> ResolvedProvider {
    ResolvedProvider {
        kind,
        url: url::Url::parse(url).expect("url"),
        token: None,
        channel: Some("releases".into()),
        username: None,
        proxy: None,
    }
}

#[tokio::test]
async fn each_chat_service_receives_its_own_format() {
    let receiver = Receiver::answering(&[200]);
    let base = receiver.clone().start().await;
    let sender = Sender::new().expect("client");
    let kinds = [
        (AlertProviderType::Slack, "/services/T/B/X", "attachments"),
        (AlertProviderType::Rocket, "/hooks/abc", "attachments"),
        (
            AlertProviderType::Discord,
            "/api/webhooks/1/tok/slack",
            "attachments",
        ),
        (AlertProviderType::Msteams, "/webhookb2/x", "sections"),
        (
            AlertProviderType::Gchat,
            "/v1/spaces/S/messages?key=k",
            "cards",
        ),
        (AlertProviderType::Generic, "/events", "message"),
    ];
    for (kind, path, key) in kinds {
        let hook_path = if kind == AlertProviderType::Discord {
            "/api/webhooks/1/tok"
        } else {
            path
        };
        sender
            .send(&provider(kind, &format!("{base}{hook_path}")), &alert())
            .await
            .expect("delivered");
        let last = receiver.seen().pop().expect("received");
        assert_eq!(last.uri, path, "{kind:?}");
        assert!(
            last.body.get(key).is_some(),
            "{kind:?} body lacks {key}: {}",
            last.body
        );
    }
}

#[tokio::test]
async fn slack_api_tokens_are_sent_as_bearer_authorization() {
    let receiver = Receiver::answering(&[200]);
    let base = receiver.clone().start().await;
    let mut p = provider(
        AlertProviderType::Slack,
        &format!("{base}/api/chat.postMessage"),
    );
    p.token = Some("xoxb-42".into());
    Sender::new()
        .expect("client")
        .send(&p, &alert())
        .await
        .expect("delivered");
    assert_eq!(
        receiver.seen()[0].authorization.as_deref(),
        Some("Bearer xoxb-42")
    );
}

#[tokio::test]
async fn a_refused_alert_reports_the_services_answer() {
    let receiver = Receiver::answering(&[400]);
    let base = receiver.clone().start().await;
    let err = Sender::new()
        .expect("client")
        .send(
            &provider(AlertProviderType::Msteams, &format!("{base}/hook")),
            &alert(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Rejected { status: 400, body, .. } if body == "answer 400"),
        "{err}"
    );
}

#[tokio::test]
async fn alerts_go_through_the_providers_proxy() {
    // The receiver plays the proxy: a proxied plain-HTTP request arrives in absolute form.
    let proxy = Receiver::answering(&[200]);
    let proxy_url = proxy.clone().start().await;
    let mut p = provider(AlertProviderType::Slack, "http://localhost:9/services/X");
    p.proxy = Some(url::Url::parse(&proxy_url).expect("url"));
    Sender::new()
        .expect("client")
        .send(&p, &alert())
        .await
        .expect("delivered through the proxy");
    assert_eq!(proxy.seen()[0].uri, "http://localhost:9/services/X");
}

/// A proxy stub on 127.0.0.2 that answers 200 and records the (absolute-form) target of each
/// request; returns its URL.
async fn proxy_on_127_0_0_2(seen: Arc<Mutex<Vec<String>>>) -> url::Url {
    async fn forward(State(seen): State<Arc<Mutex<Vec<String>>>>, uri: Uri) -> &'static str {
        seen.lock().expect("lock").push(uri.to_string());
        "ok"
    }
    let app = axum::Router::new().fallback(forward).with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    url::Url::parse(&format!("http://{addr}")).expect("url")
}

#[tokio::test]
async fn behind_a_proxy_the_destination_is_checked_by_literal_by_name_and_must_resolve_here() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let proxy = proxy_on_127_0_0_2(Arc::clone(&seen)).await;
    let sender = Sender::with_egress(&denying("127.0.0.1/32, ::1/128", false)).expect("client");
    let through = |url: &str, proxy: &url::Url| {
        let mut p = provider(AlertProviderType::Slack, url);
        p.proxy = Some(proxy.clone());
        p
    };
    for destination in [
        // An address literal the policy denies.
        "http://127.0.0.1:9/services/X",
        // A name that resolves here to a denied address only.
        "http://localhost:9/services/X",
        // A name that does not resolve here: what the proxy would reach is unknown.
        "http://hooks.chat.invalid/services/X",
    ] {
        let err = sender
            .send(&through(destination, &proxy), &alert())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SendError::Refused { reason, .. } if reason.contains("egress policy")),
            "{destination}: {err}"
        );
    }
    // A proxy at a denied address is not used either.
    let denied_proxy = url::Url::parse("http://127.0.0.1:9").expect("url");
    let err = sender
        .send(
            &through("http://127.0.0.3:9/services/X", &denied_proxy),
            &alert(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Refused { .. }), "{err}");
    assert!(
        seen.lock().expect("lock").is_empty(),
        "the proxy was asked for nothing refused"
    );

    // A permitted destination goes through the proxy.
    sender
        .send(&through("http://127.0.0.3:9/services/X", &proxy), &alert())
        .await
        .expect("delivered through the proxy");
    assert_eq!(
        *seen.lock().expect("lock"),
        vec!["http://127.0.0.3:9/services/X".to_owned()]
    );
}

/// Serves `body` with `status` to every request; returns its base URL.
async fn answering_with(status: u16, body: String) -> String {
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { (StatusCode::from_u16(status).expect("status"), body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_refused_alert_names_neither_the_webhook_path_nor_the_whole_answer() {
    // 1 MiB of refusal, which the sender must not read whole nor quote.
    let base = answering_with(403, format!("invalid_token {}", "x".repeat(1 << 20))).await;
    let url = format!("{base}/services/T000/B000/SECRETPATH?token=SECRETQUERY");
    for kind in [
        AlertProviderType::Slack,
        AlertProviderType::Msteams,
        AlertProviderType::Discord,
        AlertProviderType::Gchat,
    ] {
        let err = Sender::new()
            .expect("client")
            .send(&provider(kind, &url), &alert())
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("SECRET"), "{kind:?}: {text}");
        assert!(text.contains(&format!("{base}/<redacted>")), "{text}");
        let SendError::Rejected { status, body, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(*status, 403);
        assert!(body.starts_with("invalid_token x"), "{body}");
        assert!(
            body.len() <= 256 + 3 && body.ends_with("..."),
            "{}",
            body.len()
        );
    }
}

#[tokio::test]
async fn an_undeliverable_alert_does_not_name_the_webhook_path_or_the_token() {
    let mut p = provider(
        AlertProviderType::Slack,
        "http://127.0.0.1:1/services/T000/B000/SECRETPATH",
    );
    p.token = Some("xoxb-SECRETTOKEN".into());
    let err = Sender::new()
        .expect("client")
        .send(&p, &alert())
        .await
        .unwrap_err();
    let text = format!("{err} {err:?} {:?}", std::error::Error::source(&err));
    assert!(matches!(err, SendError::Transport { .. }), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(text.contains("http://127.0.0.1:1/<redacted>"), "{text}");
}

#[tokio::test]
async fn hook_errors_leave_out_the_urls_credentials_and_cut_long_answers() {
    let base = answering_with(500, "y".repeat(1 << 20)).await;
    let with_secrets = base.replace("http://", "http://user:SECRETPW@") + "/hook?token=SECRETQ";
    let h = hook(
        &with_secrets,
        HookKind::PreRollout,
        0,
        Duration::from_secs(5),
    );
    let err = caller().call(&h, &payload(&h, None)).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("SECRET"), "{text}");
    let HookError::Status { status, body, url } = &err else {
        panic!("{err}")
    };
    assert_eq!(*status, 500);
    assert_eq!(url, &format!("{base}/hook?<redacted>"));
    assert_eq!(body.len(), 512 + 3, "an excerpt, not the answer");

    let closed = "http://user:SECRETPW@127.0.0.1:1/hook?token=SECRETQ";
    let h = hook(closed, HookKind::PreRollout, 0, Duration::from_secs(5));
    let err = caller().call(&h, &payload(&h, None)).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, HookError::Transport { .. }), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

fn denying(cidrs: &str, follow_redirects: bool) -> EgressPolicy {
    EgressPolicy::parse(cidrs, "", follow_redirects).expect("policy")
}

#[tokio::test]
async fn the_egress_policy_refuses_hooks_and_alerts_to_denied_networks_by_literal_and_by_name() {
    let receiver = Receiver::answering(&[200]);
    let base = receiver.clone().start().await;
    let port = base.rsplit(':').next().expect("port");
    let policy = denying("127.0.0.0/8, ::1/128", false);
    let hooks = HookCaller::with_egress(Duration::from_millis(10), &policy).expect("client");
    for url in [
        format!("{base}/hook"),
        format!("http://localhost:{port}/hook"),
    ] {
        let h = hook(&url, HookKind::PreRollout, 2, Duration::from_secs(5));
        let err = hooks.call(&h, &payload(&h, None)).await.unwrap_err();
        assert!(
            matches!(&err, HookError::Refused { reason, .. } if reason.contains("egress policy")),
            "{url}: {err}"
        );
    }
    let sender = Sender::with_egress(&policy).expect("client");
    for url in [
        format!("{base}/services/X"),
        format!("http://localhost:{port}/services/X"),
    ] {
        let err = sender
            .send(&provider(AlertProviderType::Slack, &url), &alert())
            .await
            .unwrap_err();
        let text = format!("{err} {:?}", std::error::Error::source(&err));
        assert!(text.contains("egress policy"), "{url}: {text}");
    }
    assert!(
        receiver.seen().is_empty(),
        "nothing reached the denied address"
    );

    // The default policy lets loopback through (local stubs and sidecars).
    let h = hook(
        &format!("{base}/hook"),
        HookKind::PreRollout,
        0,
        Duration::from_secs(5),
    );
    assert_eq!(caller().call(&h, &payload(&h, None)).await, Ok(200));
}

#[tokio::test]
async fn the_default_policy_refuses_the_cloud_metadata_address_without_connecting() {
    let h = hook(
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        HookKind::PreRollout,
        0,
        Duration::from_secs(5),
    );
    let started = std::time::Instant::now();
    let err = caller().call(&h, &payload(&h, None)).await.unwrap_err();
    assert!(matches!(err, HookError::Refused { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Answers every request with a redirect to `location`; returns its base URL.
async fn redirecting_to(location: String) -> String {
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move { (StatusCode::FOUND, [("location", location)], "moved") }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

#[tokio::test]
async fn redirects_are_not_followed_by_default_and_each_hop_is_checked_when_they_are() {
    // The target listens on another loopback address, which the policies below deny.
    let target = Receiver::answering(&[200]);
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind 127.0.0.2");
    let target_addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .fallback(record)
        .with_state(target.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let redirector = redirecting_to(format!("http://{target_addr}/stolen")).await;
    let h = hook(
        &format!("{redirector}/hook"),
        HookKind::PreRollout,
        0,
        Duration::from_secs(5),
    );

    let err = caller().call(&h, &payload(&h, None)).await.unwrap_err();
    assert!(
        matches!(err, HookError::Status { status: 302, .. }),
        "a redirect is an answer: {err}"
    );
    let following =
        HookCaller::with_egress(Duration::from_millis(10), &denying("127.0.0.2/32", true))
            .expect("client");
    let err = following.call(&h, &payload(&h, None)).await.unwrap_err();
    let text = format!("{err}");
    assert!(text.contains("egress policy"), "{text}");
    assert!(
        target.seen().is_empty(),
        "the denied hop was never contacted"
    );

    let allowed =
        HookCaller::with_egress(Duration::from_millis(10), &denying("", true)).expect("client");
    assert_eq!(allowed.call(&h, &payload(&h, None)).await, Ok(200));
    assert_eq!(
        target.seen().len(),
        1,
        "with the hop allowed, it is followed"
    );
}
