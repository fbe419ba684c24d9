//! Errors a person can act on: a Canary that does not exist (with the names that do), a
//! cluster without serin's CRDs, a permission refused, a request serin does not acknowledge
//! in time.

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

/// An API server in front of the emulator that refuses to patch Canaries, answering as
/// Kubernetes RBAC does (a 403 `Status` naming user, verb and resource), and forwards every
/// other request. Returns its address.
async fn refusing_patch_of_canaries(upstream: String) -> String {
    use axum::body::{Body, to_bytes};
    use axum::http::{Method, StatusCode};
    use axum::response::{IntoResponse, Response};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let forward = move |request: axum::extract::Request<Body>| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let (parts, body) = request.into_parts();
            let path = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            if parts.method == Method::PATCH && parts.uri.path().contains("/canaries/") {
                let name = parts
                    .uri
                    .path()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let status = serde_json::json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": format!("canaries.flagger.app \"{name}\" is forbidden: User \"jane\" cannot patch resource \"canaries\" in API group \"flagger.app\" in the namespace \"test\""),
                    "reason": "Forbidden", "details": {"name": name, "group": "flagger.app", "kind": "canaries"}, "code": 403,
                });
                return (StatusCode::FORBIDDEN, axum::Json(status)).into_response();
            }
            let body = to_bytes(body, 16 << 20).await.expect("request body");
            let mut headers = parts.headers.clone();
            for hop in ["host", "content-length", "transfer-encoding", "connection"] {
                headers.remove(hop);
            }
            let answer = client
                .request(parts.method, format!("{upstream}{path}"))
                .headers(headers)
                .body(body)
                .send()
                .await
                .expect("the emulator answers");
            let status = answer.status();
            let content_type = answer.headers().get("content-type").cloned();
            let bytes = answer.bytes().await.expect("answer body");
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            if let Some(ct) = content_type {
                response.headers_mut().insert("content-type", ct);
            }
            response
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().fallback(forward)).await;
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_permission_names_the_verb_and_the_resource() {
    let cluster = Cluster::start(true).await;
    cluster.apply(PODINFO);
    cluster
        .wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let proxy = refusing_patch_of_canaries(cluster.env.server.base_url()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    serin_sim::kubeconfig::write(&kubeconfig, &proxy).expect("kubeconfig");
    let run = |args: &'static [&'static str]| {
        let kubeconfig = kubeconfig.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_serin"))
                .args(args)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .output()
                .expect("serin runs")
        })
    };
    // Reading is allowed through the proxy.
    let list = run(&["get", "canaries", "-n", "test"]).await.expect("join");
    assert_eq!(list.status.code(), Some(0), "{list:?}");
    let abort = run(&["abort", "podinfo", "-n", "test"])
        .await
        .expect("join");
    assert_eq!(abort.status.code(), Some(1), "{abort:?}");
    assert_eq!(
        String::from_utf8_lossy(&abort.stderr).trim(),
        r#"serin: not allowed to patch canaries.flagger.app in namespace test: canaries.flagger.app "podinfo" is forbidden: User "jane" cannot patch resource "canaries" in API group "flagger.app" in the namespace "test" (ask for `patch` on `canaries.flagger.app`)"#
    );
}
