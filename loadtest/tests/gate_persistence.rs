//! Gates stored in a ConfigMap survive a restart, against the in-process API emulator.

mod common;

use common::{post, spawn_loadtester};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serin_loadtest::gate_store::ConfigMapGateStore;
use serin_loadtest::gates::Gates;
use serin_loadtest::server::AppState;
use serin_loadtest::tasks::TaskConfig;

const PODINFO: &str = r#"{"name":"podinfo","namespace":"test"}"#;

async fn loadtester(client: kube::Client) -> std::net::SocketAddr {
    let store = ConfigMapGateStore::new(client, "default", "loadtester-gates");
    let gates = Gates::persistent(store).await.expect("load gates");
    assert!(gates.is_persistent());
    spawn_loadtester(AppState::new(gates, TaskConfig::default(), None)).await
}

#[tokio::test]
async fn opened_gates_survive_a_restart() {
    let api_server = serin_sim::Server::start_default().await.unwrap();
    let client = api_server.client().unwrap();

    let first = loadtester(client.clone()).await;
    assert_eq!(
        post(first, "/gate/check", PODINFO).await.0,
        403,
        "no ConfigMap yet: closed"
    );
    assert_eq!(post(first, "/gate/open", PODINFO).await.0, 202);
    assert_eq!(post(first, "/rollback/open", PODINFO).await.0, 202);
    assert_eq!(post(first, "/rollback/close", PODINFO).await.0, 202);

    let stored = Api::<ConfigMap>::namespaced(client.clone(), "default")
        .get("loadtester-gates")
        .await
        .unwrap();
    let data = stored.data.unwrap();
    assert_eq!(data["podinfo.test"], "true");
    assert_eq!(data["rollback.podinfo.test"], "false");

    // A second instance starts from the stored states.
    let restarted = loadtester(client).await;
    assert_eq!(post(restarted, "/gate/check", PODINFO).await.0, 200);
    assert_eq!(post(restarted, "/rollback/check", PODINFO).await.0, 403);
}

#[tokio::test]
async fn a_failed_write_is_500_and_leaves_the_gate_unchanged() {
    let api_server = serin_sim::Server::start_default().await.unwrap();
    let client = api_server.client().unwrap();
    let addr = loadtester(client).await;
    drop(api_server);
    let (code, message) = post(addr, "/gate/open", PODINFO).await;
    assert_eq!(code, 500, "{message}");
    assert!(message.contains("loadtester-gates"), "{message}");
    assert_eq!(post(addr, "/gate/check", PODINFO).await.0, 403);
}
