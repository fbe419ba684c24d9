//! The native generator against a local target: constant rate within 2%, `hey` commands and
//! `load` tasks through the API, and latency measured from the intended send time.

mod common;

use std::time::Duration;

use common::{eventually, get, memory_state, payload, post, spawn_loadtester, spawn_target};
use serde_json::json;
use serin_loadtest::generator;
use serin_loadtest::hey_args;
use serin_loadtest::load_spec::{LoadSpec, Pace, RequestTemplate, Stop};
use serin_loadtest::metrics::LoadMetrics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_rps_for_two_seconds_sends_four_hundred_requests() {
    let target = spawn_target(Duration::ZERO).await;
    let spec = hey_args::parse_command(&format!("hey -z 2s -q 100 -c 2 {}", target.url())).unwrap();
    assert_eq!(spec.pace, Pace::Rate(200.0));
    let report = generator::run(&spec, &LoadMetrics::default())
        .await
        .unwrap();

    let expected = 400.0;
    let sent = f64::from(u32::try_from(report.sent).unwrap());
    assert!(
        (sent - expected).abs() / expected <= 0.02,
        "sent {sent}, expected {expected}"
    );
    assert_eq!(report.count("200"), report.sent, "{:?}", report.by_code);
    assert_eq!(target.hits(), report.sent);
    assert_eq!(report.missed, 0);
    let achieved = report.achieved_rps();
    assert!(
        (achieved - 200.0).abs() / 200.0 <= 0.02,
        "achieved {achieved} rps"
    );
    assert!(
        report.summary().contains("[200]\t400 responses"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn a_slow_server_cannot_hide_its_queue_from_the_latency() {
    // One worker, 50 ms per request, 100 requests scheduled per second: the server can take
    // 20/s. A closed-loop tool would report ~50 ms; from the intended send time the queue shows.
    let target = spawn_target(Duration::from_millis(50)).await;
    let request = RequestTemplate::get(&target.url()).unwrap();
    let spec = LoadSpec::new(
        request,
        Pace::Rate(100.0),
        1,
        Stop::After(Duration::from_secs(1)),
    )
    .unwrap();
    let report = generator::run(&spec, &LoadMetrics::default())
        .await
        .unwrap();
    assert_eq!(
        report.sent + report.missed,
        100,
        "every scheduled request is sent or missed"
    );
    assert!(report.missed > 50, "missed {}", report.missed);
    let p99 = report.latency_quantile(0.99);
    assert!(
        p99 > Duration::from_millis(400),
        "p99 {p99:?} hides the queue"
    );
    assert!(report.latency_quantile(0.0) >= Duration::from_millis(45));
}

#[tokio::test]
async fn closed_model_with_a_request_count_sends_exactly_that_many() {
    let target = spawn_target(Duration::ZERO).await;
    let spec =
        hey_args::parse_command(&format!("hey -n 30 -c 3 -m POST -d hello {}", target.url()))
            .unwrap();
    let report = generator::run(&spec, &LoadMetrics::default())
        .await
        .unwrap();
    assert_eq!(report.sent, 30);
    assert_eq!(target.hits(), 30);
}

#[tokio::test]
async fn connection_errors_are_counted_not_fatal() {
    // Bind and drop a listener to find a port where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec =
        hey_args::parse_command(&format!("hey -n 4 -c 2 -t 2 http://127.0.0.1:{port}/")).unwrap();
    let report = generator::run(&spec, &LoadMetrics::default())
        .await
        .unwrap();
    assert_eq!(report.count("error"), 4, "{:?}", report.by_code);
}

#[tokio::test]
async fn a_hey_webhook_runs_natively_and_reports_on_metrics() {
    let target = spawn_target(Duration::ZERO).await;
    let state = memory_state();
    let runner = state.runner.clone();
    let addr = spawn_loadtester(state).await;
    let cmd = format!("hey -z 500ms -q 20 -c 2 {}", target.url());
    let body = payload("test", json!({ "cmd": cmd }));
    assert_eq!(post(addr, "/", &body).await, (202, "started".to_owned()));
    assert_eq!(
        post(addr, "/", &body).await,
        (202, "already running".to_owned())
    );
    eventually(
        "the load run to finish",
        Duration::from_secs(10),
        || async { runner.running() == 0 },
    )
    .await;
    assert_eq!(target.hits(), 20);
    let (_, metrics) = get(addr, "/metrics").await;
    let label = format!(r#"target="{}""#, target.url());
    assert!(
        metrics.contains(&format!(
            r#"serin_loadtester_load_requests_total{{{label},code="200"}} 20"#
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("serin_loadtester_load_latency_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            r#"serin_loadtester_load_last_run_latency_quantile_seconds{{{label},quantile="0.99"}}"#
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("serin_loadtester_load_in_flight{{{label}}} 0")),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_load_task_takes_its_parameters_from_metadata() {
    let target = spawn_target(Duration::ZERO).await;
    let state = memory_state();
    let runner = state.runner.clone();
    let addr = spawn_loadtester(state).await;
    let body = payload(
        "test",
        json!({ "type": "load", "url": target.url(), "rps": "40", "duration": "500ms", "concurrency": "2",
                "method": "POST", "headers": "X-Test: 1", "body": "{}" }),
    );
    assert_eq!(post(addr, "/", &body).await, (202, "started".to_owned()));
    eventually(
        "the load run to finish",
        Duration::from_secs(10),
        || async { runner.running() == 0 },
    )
    .await;
    assert_eq!(target.hits(), 20);
    let (code, message) = post(
        addr,
        "/",
        &payload("test", json!({ "type": "load", "rps": "1" })),
    )
    .await;
    assert_eq!(
        (code, message.as_str()),
        (400, "load task: url not found in metadata")
    );
}
