//! The `ngrinder` task against a local stub of nGrinder's REST API.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use common::{
    eventually, get as http_get, memory_state, payload, post as http_post, spawn_loadtester,
};
use serde_json::json;

/// What the stub saw, and the statuses it will answer, in order (the last one repeats).
#[derive(Default)]
struct Stub {
    calls: Vec<String>,
    statuses: Vec<&'static str>,
    refuse: bool,
}

type Shared = Arc<Mutex<Stub>>;

async fn clone_and_start(
    State(stub): State<Shared>,
    Path(clone): Path<u64>,
    headers: HeaderMap,
) -> String {
    let mut stub = stub.lock().expect("stub lock");
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().expect("ascii header").to_owned())
        .unwrap_or_default();
    stub.calls.push(format!("start {clone} {auth}"));
    if stub.refuse {
        return json!({ "success": false, "message": "no agents" }).to_string();
    }
    json!({ "success": true, "id": 7 }).to_string()
}

async fn status(State(stub): State<Shared>, Path(id): Path<u64>) -> String {
    let mut stub = stub.lock().expect("stub lock");
    stub.calls.push(format!("status {id}"));
    let next = if stub.statuses.len() > 1 {
        stub.statuses.remove(0)
    } else {
        stub.statuses[0]
    };
    json!({ "status": [{ "status_id": next }] }).to_string()
}

async fn stop(State(stub): State<Shared>, Path(id): Path<u64>) -> String {
    stub.lock()
        .expect("stub lock")
        .calls
        .push(format!("stop {id}"));
    json!({ "success": true }).to_string()
}

async fn spawn_stub(statuses: Vec<&'static str>, refuse: bool) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Stub {
        statuses,
        refuse,
        ..Stub::default()
    }));
    let app = Router::new()
        .route(
            "/perftest/api/{clone}/clone_and_start",
            post(clone_and_start),
        )
        .route("/perftest/api/{id}/status", get(status))
        .route("/perftest/api/{id}", put(stop))
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve stub") });
    (format!("http://{addr}"), shared)
}

fn ngrinder_payload(server: &str, timeout: &str) -> String {
    payload(
        "test",
        json!({ "type": "ngrinder", "server": server, "clone": "100", "username": "admin",
                "passwd": "YWRtaW4=", "pollInterval": "20ms", "timeout": timeout }),
    )
}

async fn run_to_end(body: &str) -> String {
    let state = memory_state();
    let runner = state.runner.clone();
    let addr = spawn_loadtester(state).await;
    assert_eq!(
        http_post(addr, "/", body).await,
        (202, "started".to_owned())
    );
    eventually(
        "the nGrinder task to end",
        Duration::from_secs(10),
        || async { runner.running() == 0 },
    )
    .await;
    http_get(addr, "/metrics").await.1
}

#[tokio::test]
async fn clones_starts_and_polls_until_finished() {
    let (server, stub) = spawn_stub(vec!["READY", "TESTING", "FINISHED"], false).await;
    let metrics = run_to_end(&ngrinder_payload(&server, "1h")).await;
    assert!(
        metrics.contains(r#"serin_loadtester_tasks_total{type="ngrinder",result="success"} 1"#),
        "{metrics}"
    );
    let calls = stub.lock().unwrap().calls.clone();
    assert_eq!(calls[0], "start 100 Basic YWRtaW46YWRtaW4=");
    assert_eq!(&calls[1..], ["status 7", "status 7", "status 7"]);
}

#[tokio::test]
async fn a_test_stopped_by_error_or_refused_fails() {
    let (server, _) = spawn_stub(vec!["STOP_BY_ERROR"], false).await;
    let metrics = run_to_end(&ngrinder_payload(&server, "1h")).await;
    assert!(
        metrics.contains(r#"serin_loadtester_tasks_total{type="ngrinder",result="failure"} 1"#),
        "{metrics}"
    );
    let (server, stub) = spawn_stub(vec!["FINISHED"], true).await;
    let metrics = run_to_end(&ngrinder_payload(&server, "1h")).await;
    assert!(
        metrics.contains(r#"serin_loadtester_tasks_total{type="ngrinder",result="failure"} 1"#),
        "{metrics}"
    );
    assert_eq!(
        stub.lock().unwrap().calls.len(),
        1,
        "no polling after a refusal"
    );
}

#[tokio::test]
async fn a_test_past_the_deadline_is_stopped() {
    let (server, stub) = spawn_stub(vec!["TESTING"], false).await;
    let metrics = run_to_end(&ngrinder_payload(&server, "200ms")).await;
    assert!(
        metrics.contains(r#"serin_loadtester_tasks_total{type="ngrinder",result="timeout"} 1"#),
        "{metrics}"
    );
    assert_eq!(stub.lock().unwrap().calls.last().unwrap(), "stop 7");
}
