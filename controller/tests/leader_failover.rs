//! Two `serin controller` processes with leader election against the Kubernetes API emulator:
//! one leads and releases a Canary; when it is stopped, the other takes over and finishes the
//! next release.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use serin_crds::Canary;
use serin_crds::canary::CanaryPhase;
use serin_sim::Server;
use serin_sim::cluster::{Cluster, SimConfig};

const PODINFO: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata: {labels: {app: podinfo}}
    spec: {containers: [{name: podinfo, image: "podinfo:1"}]}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: default}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis: {interval: 1s, threshold: 1, iterations: 1}
"#;

fn controller(kubeconfig: &std::path::Path, identity: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_serin"))
        .args([
            "controller",
            "--enable-leader-election",
            "--leader-election-namespace",
            "default",
        ])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--listen", "127.0.0.1:0"])
        .env("POD_NAME", identity)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serin controller")
}

async fn holder(client: &kube::Client) -> Option<String> {
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "default");
    leases
        .get_opt("serin-leader")
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
        .filter(|h| !h.is_empty())
}

async fn wait_for(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn phase(client: &kube::Client) -> Option<CanaryPhase> {
    let canaries: Api<Canary> = Api::namespaced(client.clone(), "default");
    canaries
        .get_opt("podinfo")
        .await
        .ok()
        .flatten()?
        .status?
        .phase
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_when_the_leader_stops_and_finishes_the_next_release() {
    let server = Server::start_default().await.expect("emulator");
    server
        .apply_yaml(&serin_controller::crds::crds_yaml().expect("crds"))
        .expect("apply CRDs");
    let client = server.client().expect("client");
    let sim = SimConfig {
        ready_delay: Duration::from_millis(100),
        tick: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let _cluster = Cluster::start(client.clone(), sim, &server.metrics_registry());
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("kubeconfig");

    let mut first = controller(&kubeconfig, "serin-a");
    wait_for("serin-a leading", Duration::from_secs(20), async || {
        holder(&client).await.as_deref() == Some("serin-a")
    })
    .await;
    let mut second = controller(&kubeconfig, "serin-b");
    server.apply_yaml(PODINFO).expect("apply podinfo");
    wait_for("initialization", Duration::from_secs(30), async || {
        phase(&client).await == Some(CanaryPhase::Initialized)
    })
    .await;
    assert_eq!(
        holder(&client).await.as_deref(),
        Some("serin-a"),
        "the standby did not take the Lease"
    );

    // Stop the leader as Kubernetes does (SIGTERM): it releases the Lease on its way out.
    Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .expect("kill");
    first.wait().expect("leader exits");
    wait_for("serin-b leading", Duration::from_secs(20), async || {
        holder(&client).await.as_deref() == Some("serin-b")
    })
    .await;

    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), "default");
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "podinfo", "image": "podinfo:2"}]}}}});
    deployments
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("release");
    wait_for(
        "the release by the new leader",
        Duration::from_secs(60),
        async || phase(&client).await == Some(CanaryPhase::Succeeded),
    )
    .await;
    let primary = deployments.get("podinfo-primary").await.expect("primary");
    let image = primary.spec.template.spec.expect("pod spec").containers[0]
        .image
        .clone();
    assert_eq!(image.as_deref(), Some("podinfo:2"));
    second.kill().expect("stop standby");
    let _ = second.wait();
}
