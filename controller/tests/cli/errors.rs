//! Errors a person can act on: a Canary that does not exist (with the names that do), a
//! cluster without serin's CRDs, a request serin does not acknowledge in time.

use std::time::Duration;

use serin_crds::canary::CanaryPhase;

use crate::support::{Cluster, PODINFO};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_canary_is_reported_with_the_canaries_that_exist() {
    let cluster = Cluster::start(true).await;
    cluster.apply(PODINFO);
    cluster
        .wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let missing = cluster
        .serin(&["get", "canary", "frontend", "-n", "test"])
        .await;
    missing.expect_code(1);
    assert_eq!(
        missing.stderr().trim(),
        r#"serin: no Canary "frontend" in namespace test; Canaries there: podinfo"#
    );
    // The kubeconfig's namespace is `default`.
    let elsewhere = cluster.serin(&["abort", "podinfo"]).await;
    elsewhere.expect_code(1);
    assert_eq!(
        elsewhere.stderr().trim(),
        r#"serin: no Canary "podinfo" in namespace default; it has no Canaries; "podinfo" exists as test/podinfo (use -n)"#
    );
    let empty = cluster.serin(&["get", "canaries"]).await;
    empty.expect_code(0);
    assert_eq!(empty.stdout(), "No Canaries in namespace default.\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_without_serins_crds_is_named_as_such() {
    // The emulator alone, without any CRD.
    let server = serin_sim::Server::start_default().await.expect("emulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    for args in [
        &["get", "canaries"][..],
        &["get", "canary", "podinfo"],
        &["promote", "podinfo"],
        &["dashboard", "--listen", "127.0.0.1:0"],
    ] {
        let output = tokio::task::spawn_blocking({
            let kubeconfig = kubeconfig.clone();
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_serin"))
                    .args(&args)
                    .arg("--kubeconfig")
                    .arg(&kubeconfig)
                    .output()
                    .expect("serin runs")
            }
        })
        .await
        .expect("join");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("serin: the cluster at {}/ has no serin CRDs (canaries.flagger.app, v1beta1); install them with `serin crds | kubectl apply -f -`", server.base_url())),
            "{args:?}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_serin_does_not_acknowledge_times_out_and_is_withdrawn() {
    // No controller: nobody acknowledges.
    let cluster = Cluster::start(false).await;
    cluster.apply(PODINFO);
    let promote = cluster
        .serin(&["promote", "podinfo", "-n", "test", "--timeout", "2s"])
        .await;
    promote.expect_code(1);
    assert_eq!(
        promote.stderr().trim(),
        "serin: promote of test/podinfo: serin did not acknowledge the request within 2s; the Canary is not yet seen by serin; the request was withdrawn"
    );
    let canary = cluster.podinfo().await;
    let annotations = canary.metadata.annotations.unwrap_or_default();
    assert!(
        !annotations.contains_key("serin.dev/promote"),
        "{annotations:?}"
    );
    let unreachable = std::process::Command::new(env!("CARGO_BIN_EXE_serin"))
        .args(["get", "canaries", "--kubeconfig"])
        .arg(dir_kubeconfig_for_closed_port())
        .output()
        .expect("serin runs");
    assert_eq!(unreachable.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(
        stderr.contains("cannot reach the Kubernetes API at http://127.0.0.1:1/"),
        "{stderr}"
    );
}

/// A kubeconfig for a port nothing listens on.
fn dir_kubeconfig_for_closed_port() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "serin-cli-closed-{}.kubeconfig",
        std::process::id()
    ));
    serin_sim::kubeconfig::write(&path, "http://127.0.0.1:1").expect("kubeconfig");
    path
}
