//! Every endpoint answers with Flagger's status codes; gates follow open/close per canary.

mod common;

use common::{get, memory_state, payload, post, spawn_loadtester};
use regex::Regex;
use serde_json::json;
use serin_loadtest::gates::Gates;
use serin_loadtest::server::AppState;
use serin_loadtest::tasks::TaskConfig;

const PODINFO: &str = r#"{"name":"podinfo","namespace":"test"}"#;
const OTHER: &str = r#"{"name":"other","namespace":"test"}"#;

#[tokio::test]
async fn healthz_approve_and_halt_answer_fixed_codes() {
    let addr = spawn_loadtester(memory_state()).await;
    assert_eq!(get(addr, "/healthz").await, (200, "OK".to_owned()));
    assert_eq!(post(addr, "/gate/approve", "").await.0, 200);
    assert_eq!(
        post(addr, "/gate/halt", PODINFO).await,
        (403, "Forbidden".to_owned())
    );
    assert_eq!(get(addr, "/no/such/endpoint").await.0, 404);
}

#[tokio::test]
async fn gate_is_closed_until_opened_and_closes_again_per_canary() {
    let addr = spawn_loadtester(memory_state()).await;
    assert_eq!(
        post(addr, "/gate/check", PODINFO).await,
        (403, "Forbidden".to_owned())
    );
    assert_eq!(post(addr, "/gate/open", PODINFO).await.0, 202);
    assert_eq!(
        post(addr, "/gate/check", PODINFO).await,
        (200, "Approved".to_owned())
    );
    assert_eq!(
        post(addr, "/gate/check", OTHER).await.0,
        403,
        "other canaries stay closed"
    );
    assert_eq!(
        post(addr, "/rollback/check", PODINFO).await.0,
        403,
        "the rollback gate is separate"
    );
    assert_eq!(post(addr, "/gate/close", PODINFO).await.0, 202);
    assert_eq!(post(addr, "/gate/check", PODINFO).await.0, 403);
}

#[tokio::test]
async fn rollback_check_approves_only_after_rollback_open() {
    let addr = spawn_loadtester(memory_state()).await;
    assert_eq!(post(addr, "/rollback/check", PODINFO).await.0, 403);
    assert_eq!(post(addr, "/rollback/open", PODINFO).await.0, 202);
    assert_eq!(
        post(addr, "/rollback/check", PODINFO).await,
        (200, "Approved".to_owned())
    );
    assert_eq!(post(addr, "/gate/check", PODINFO).await.0, 403);
    assert_eq!(post(addr, "/rollback/close", PODINFO).await.0, 202);
    assert_eq!(post(addr, "/rollback/check", PODINFO).await.0, 403);
}

#[tokio::test]
async fn malformed_bodies_are_400_with_a_message() {
    let addr = spawn_loadtester(memory_state()).await;
    for path in [
        "/",
        "/gate/check",
        "/gate/open",
        "/gate/close",
        "/rollback/check",
        "/rollback/open",
        "/rollback/close",
    ] {
        let (code, message) = post(addr, path, "{not json").await;
        assert_eq!(code, 400, "{path}");
        assert!(
            message.contains("decoding the request body failed"),
            "{path}: {message}"
        );
    }
    let (code, message) = post(addr, "/gate/open", r#"{"name":"podinfo"}"#).await;
    assert_eq!(code, 400);
    assert!(message.contains("namespace"), "{message}");
    let (code, message) = post(addr, "/", &payload("test", json!(null))).await;
    assert_eq!(
        (code, message.as_str()),
        (400, "metadata not found in payload")
    );
    let (code, message) = post(
        addr,
        "/",
        &payload("test", json!({"type": "bogus", "cmd": "x"})),
    )
    .await;
    assert_eq!((code, message.as_str()), (400, "unknown task type bogus"));
    let (code, message) = post(addr, "/", &payload("test", json!({"type": "cmd"}))).await;
    assert_eq!((code, message.as_str()), (400, "cmd not found in metadata"));
}

#[tokio::test]
async fn namespace_regexp_refuses_other_namespaces_on_every_payload_endpoint() {
    let filter = Regex::new("^team-a$").unwrap();
    let state = AppState::new(Gates::in_memory(), TaskConfig::default(), Some(filter));
    let addr = spawn_loadtester(state).await;
    let outsider = r#"{"name":"podinfo","namespace":"team-b"}"#;
    let insider = r#"{"name":"podinfo","namespace":"team-a"}"#;
    for path in [
        "/gate/open",
        "/gate/check",
        "/rollback/open",
        "/rollback/check",
    ] {
        let (code, message) = post(addr, path, outsider).await;
        assert_eq!(code, 403, "{path}");
        assert!(
            message.contains("team-b is not allowed"),
            "{path}: {message}"
        );
    }
    let (code, _) = post(
        addr,
        "/",
        &payload("team-b", json!({"type": "bash", "cmd": "true"})),
    )
    .await;
    assert_eq!(code, 403, "a task for another namespace does not run");
    assert_eq!(post(addr, "/gate/open", insider).await.0, 202);
    assert_eq!(post(addr, "/gate/check", insider).await.0, 200);
    assert_eq!(
        post(
            addr,
            "/",
            &payload("team-a", json!({"type": "bash", "cmd": "true"}))
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn metrics_count_requests_per_endpoint_and_code() {
    let addr = spawn_loadtester(memory_state()).await;
    post(addr, "/gate/check", PODINFO).await;
    post(addr, "/gate/check", PODINFO).await;
    post(addr, "/gate/halt", "").await;
    let (code, text) = get(addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        text.contains(
            r#"serin_loadtester_http_requests_total{endpoint="/gate/check",code="403"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"serin_loadtester_http_requests_total{endpoint="/gate/halt",code="403"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("serin_loadtester_tasks_running"), "{text}");
}

#[tokio::test]
async fn with_a_token_every_endpoint_but_health_and_metrics_needs_it() {
    let state = memory_state().with_token(Some("s3cret".into()));
    let addr = spawn_loadtester(state).await;
    assert_eq!(get(addr, "/healthz").await.0, 200);
    assert_eq!(get(addr, "/metrics").await.0, 200);
    assert_eq!(post(addr, "/gate/open", PODINFO).await.0, 401);
    assert_eq!(post(addr, "/gate/approve", "").await.0, 401);
    let run = payload("test", json!({"type": "cmd", "cmd": "echo hi"}));
    assert_eq!(post(addr, "/", &run).await.0, 401);
    let wrong = payload(
        "test",
        json!({"token": "s3creT", "type": "cmd", "cmd": "echo hi"}),
    );
    assert_eq!(post(addr, "/gate/open", &wrong).await.0, 401);

    // The token as metadata (webhooks can send no headers) or as a bearer header.
    let with_token = payload("test", json!({"token": "s3cret"}));
    assert_eq!(post(addr, "/gate/open", &with_token).await.0, 202);
    assert_eq!(post(addr, "/gate/check", &with_token).await.0, 200);
    let answer = common::client()
        .post(format!("http://{addr}/gate/check"))
        .bearer_auth("s3cret")
        .body(PODINFO)
        .send()
        .await
        .expect("send");
    assert_eq!(answer.status().as_u16(), 200);
}

#[tokio::test]
async fn with_commands_disabled_program_tasks_are_refused_and_load_still_runs() {
    let tasks = TaskConfig {
        commands_disabled: true,
        ..TaskConfig::default()
    };
    let addr = spawn_loadtester(AppState::new(Gates::in_memory(), tasks, None)).await;
    for metadata in [
        json!({"type": "cmd", "cmd": "touch /tmp/serin-pwned"}),
        json!({"type": "bash", "cmd": "id"}),
        json!({"type": "kubectl", "cmd": "get secrets -A"}),
        json!({"type": "helm", "cmd": "ls"}),
    ] {
        let (code, message) = post(addr, "/", &payload("test", metadata.clone())).await;
        assert_eq!(code, 400, "{metadata}");
        assert!(message.contains("--disable-commands"), "{message}");
    }
    let load = payload(
        "test",
        json!({"type": "cmd", "cmd": "hey -z 1s -q 1 -c 1 http://127.0.0.1:1/"}),
    );
    assert_eq!(post(addr, "/", &load).await.0, 202, "hey runs natively");
}
