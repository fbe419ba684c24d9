//! The client against the in-process API emulator: the fence, the User-Agent, the counted
//! outcomes and the rate limit, as they look on the wire.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use prometheus_client::registry::Registry;
use serin_sim::Server;

use super::{ClientOptions, build};
use crate::leader::{LeaderElectionConfig, WriteFence};
use crate::metrics::Metrics;

fn config_map(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    }
}

fn options(fence: Option<WriteFence>, metrics: &Metrics) -> ClientOptions {
    ClientOptions {
        qps: 100.0,
        burst: 250,
        identity: "replica-a".into(),
        fence,
        metrics: Some(metrics.kube_api.clone()),
        timeout: super::DEFAULT_REQUEST_TIMEOUT,
    }
}

fn kube_config(server: &Server) -> kube::Config {
    kube::Config::new(server.base_url().parse().unwrap())
}

#[tokio::test]
async fn writes_pass_only_while_the_fence_is_open_and_the_lease_always_passes() {
    let server = Server::start_default().await.unwrap();
    let mut registry = Registry::default();
    let metrics = Metrics::new(&mut registry);
    let fence = WriteFence::new(&LeaderElectionConfig::new("default").with_identity("replica-a"));
    let client = build(kube_config(&server), options(Some(fence.clone()), &metrics)).unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let leases: Api<Lease> = Api::namespaced(client, "default");

    config_maps.list(&ListParams::default()).await.unwrap();
    let refused = config_maps
        .create(&PostParams::default(), &config_map("before"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("write refused"), "{refused}");
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("serin-leader".into()),
            ..ObjectMeta::default()
        },
        spec: None,
    };
    leases.create(&PostParams::default(), &lease).await.unwrap();
    fence.renewed(tokio::time::Instant::now());
    config_maps
        .create(&PostParams::default(), &config_map("after"))
        .await
        .unwrap();

    let audit = server.audit();
    let written: Vec<(&str, Option<&str>, &str)> = audit
        .iter()
        .map(|e| {
            (
                e.resource.as_str(),
                e.name.as_deref(),
                e.user_agent.as_str(),
            )
        })
        .collect();
    let agent = concat!("serin/", env!("CARGO_PKG_VERSION"), " (replica-a)");
    assert_eq!(
        written,
        [
            ("leases", Some("serin-leader"), agent),
            ("configmaps", Some("after"), agent)
        ]
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for line in [
        r#"serin_kube_api_requests_total{verb="list",resource="configmaps",subresource="",result="success"} 1"#,
        r#"serin_kube_api_requests_total{verb="create",resource="configmaps",subresource="",result="fenced"} 1"#,
        r#"serin_kube_api_requests_total{verb="create",resource="configmaps",subresource="",result="success"} 1"#,
        r#"serin_kube_api_requests_total{verb="create",resource="leases",subresource="",result="success"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}

#[tokio::test]
async fn without_leader_election_nothing_is_fenced_and_errors_are_classified() {
    let server = Server::start_default().await.unwrap();
    let mut registry = Registry::default();
    let metrics = Metrics::new(&mut registry);
    let client = build(kube_config(&server), options(None, &metrics)).unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");
    config_maps
        .create(&PostParams::default(), &config_map("a"))
        .await
        .unwrap();
    config_maps.get("missing").await.unwrap_err();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(r#"serin_kube_api_requests_total{verb="get",resource="configmaps",subresource="",result="client_error"} 1"#),
        "{text}"
    );
    assert_eq!(server.audit().len(), 1);
}

#[tokio::test]
async fn requests_beyond_the_burst_wait_for_the_rate() {
    let server = Server::start_default().await.unwrap();
    let mut registry = Registry::default();
    let metrics = Metrics::new(&mut registry);
    let options = ClientOptions {
        qps: 20.0,
        burst: 1,
        ..options(None, &metrics)
    };
    let client = build(kube_config(&server), options).unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let started = Instant::now();
    for _ in 0..11 {
        config_maps.list(&ListParams::default()).await.unwrap();
    }
    // One request from the burst, then ten at 20 a second.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(490), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn requests_other_than_watches_time_out_and_are_counted() {
    let server = Server::start_default().await.unwrap();
    server.faults().set(serin_sim::faults::FaultConfig {
        latency: Duration::from_millis(400),
        ..Default::default()
    });
    let mut registry = Registry::default();
    let metrics = Metrics::new(&mut registry);
    let options = ClientOptions {
        timeout: Duration::from_millis(100),
        ..options(None, &metrics)
    };
    let client = build(kube_config(&server), options).unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let started = Instant::now();
    let error = config_maps.get("any").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no response from the Kubernetes API within 100ms"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(390),
        "{:?}",
        started.elapsed()
    );
    // A watch waits as long as it must: its answer comes after the added latency.
    let _stream = config_maps
        .watch(&kube::api::WatchParams::default().timeout(5), "0")
        .await
        .expect("the watch is not cut by the timeout");
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(r#"serin_kube_api_requests_total{verb="get",resource="configmaps",subresource="",result="timeout"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"serin_kube_api_requests_total{verb="watch",resource="configmaps",subresource="",result="success"} 1"#),
        "{text}"
    );
}
