//! End to end: two revisions behind an HTTPRoute at 90/10, scraped by a real Prometheus, give each
//! revision its configured error ratio; route status and workload readiness are reported.

use std::time::{Duration, Instant};

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;
use serin_sim::cluster::{CONTROLLER_NAME, Cluster, SimConfig};
use serin_sim::prometheus::{Prometheus, PrometheusConfig};
use serin_sim::{Server, metrics_http};

const MANIFESTS: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo-primary, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: podinfo-primary}}
  template:
    metadata:
      labels: {app: podinfo-primary}
      annotations: {sim.serin.dev/error-rate: '0.02', sim.serin.dev/latency-ms: '20'}
    spec: {containers: [{name: podinfo, image: 'podinfo:1'}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata:
      labels: {app: podinfo}
      annotations: {sim.serin.dev/error-rate: '0.30', sim.serin.dev/latency-ms: '80'}
    spec: {containers: [{name: podinfo, image: 'podinfo:2'}]}
---
apiVersion: v1
kind: Service
metadata: {name: podinfo-primary, namespace: default}
spec: {selector: {app: podinfo-primary}, ports: [{port: 9898}]}
---
apiVersion: v1
kind: Service
metadata: {name: podinfo-canary, namespace: default}
spec: {selector: {app: podinfo}, ports: [{port: 9898}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: podinfo, namespace: default}
spec:
  parentRefs: [{name: gateway, namespace: istio-ingress}]
  rules:
  - backendRefs:
    - {name: podinfo-primary, port: 9898, weight: 90}
    - {name: podinfo-canary, port: 9898, weight: 10}
";

async fn query(prometheus: &str, promql: &str) -> Option<f64> {
    let url = format!("{prometheus}/api/v1/query");
    let promql = promql.to_owned();
    let body = tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new("curl")
            .args(["-s", "--data-urlencode", &format!("query={promql}"), &url])
            .output()
            .ok()?;
        serde_json::from_slice::<Value>(&output.stdout).ok()
    })
    .await
    .ok()??;
    body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

/// The HTTPRoute gets parent status as a gateway implementation reports it.
async fn assert_route_accepted(server: &Server) {
    let routes: Api<DynamicObject> = Api::namespaced_with(
        server.client().expect("client"),
        "default",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
            "httproutes",
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let route = routes.get("podinfo").await.expect("route exists");
        let parent = &route.data["status"]["parents"][0];
        if parent["controllerName"] == CONTROLLER_NAME {
            assert_eq!(parent["conditions"][0]["type"], "Accepted");
            assert_eq!(parent["conditions"][1]["status"], "True");
            assert_eq!(parent["conditions"][0]["observedGeneration"], 1);
            break;
        }
        assert!(Instant::now() < deadline, "route status not written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn httproute_split_reaches_prometheus_with_per_revision_error_rates() {
    serin_sim::prometheus::ensure_binary()
        .expect("prometheus is installed (scripts/test installs it)");
    let server = Server::start_default().await.unwrap();
    let crds = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/gateway-api/httproutes.yaml"
    ))
    .unwrap_or_else(|_| {
        std::fs::read_to_string("/work/shared/gateway-api/httproutes.yaml").unwrap()
    });
    server.apply_yaml(&crds).unwrap();
    server.apply_yaml(MANIFESTS).unwrap();

    let registry = server.metrics_registry();
    let config = SimConfig {
        rps: 400.0,
        ready_delay: Duration::from_millis(100),
        tick: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let _cluster = Cluster::start(server.client().unwrap(), config, &registry);
    let metrics = metrics_http::serve("127.0.0.1:0".parse().unwrap(), registry)
        .await
        .unwrap();
    let prometheus = Prometheus::start_async(PrometheusConfig {
        targets: vec![metrics],
        scrape_interval: Duration::from_millis(500),
        ..PrometheusConfig::default()
    })
    .await
    .unwrap();

    assert_route_accepted(&server).await;

    let url = prometheus.url();
    let ratio = |workload: &str| {
        format!(
            "sum(increase(istio_requests_total{{reporter=\"destination\",destination_workload_namespace=\"default\",destination_workload=\"{workload}\",response_code=~\"5.*\"}}[1m])) / sum(increase(istio_requests_total{{reporter=\"destination\",destination_workload_namespace=\"default\",destination_workload=\"{workload}\"}}[1m]))"
        )
    };
    let share = "sum(increase(istio_requests_total{destination_workload=\"podinfo\"}[1m])) / sum(increase(istio_requests_total[1m]))";
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let primary = query(&url, &ratio("podinfo-primary")).await;
        let canary = query(&url, &ratio("podinfo")).await;
        let canary_share = query(&url, share).await;
        let linkerd = query(&url, "sum(increase(response_total{deployment=\"podinfo\",classification=\"failure\",direction=\"inbound\"}[1m])) / sum(increase(response_total{deployment=\"podinfo\",direction=\"inbound\"}[1m]))").await;
        if let (Some(p), Some(c), Some(s), Some(l)) = (primary, canary, canary_share, linkerd) {
            let within = |got: f64, want: f64| (got - want).abs() <= want * 0.1;
            if within(p, 0.02) && within(c, 0.30) && within(s, 0.10) && within(l, 0.30) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ratios off: primary {p}, canary {c}, canary share {s}, linkerd {l}"
            );
        } else {
            assert!(
                Instant::now() < deadline,
                "no data: {primary:?} {canary:?} {canary_share:?} {linkerd:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Latency histograms carry each revision's latency.
    let p50 = query(&url, "histogram_quantile(0.5, sum(rate(istio_request_duration_milliseconds_bucket{destination_workload=\"podinfo\"}[1m])) by (le))").await.unwrap();
    assert!((50.0..=110.0).contains(&p50), "canary p50 {p50}");

    // Flagger's app-level query selects pods by name: the canary's regex must not catch primary pods.
    let app_success = |target: &str| {
        let pods = format!(
            "kubernetes_namespace=\"default\",kubernetes_pod_name=~\"{target}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)\""
        );
        format!(
            "sum(increase(http_request_duration_seconds_count{{{pods},status!~\"5.*\"}}[1m])) / sum(increase(http_request_duration_seconds_count{{{pods}}}[1m]))"
        )
    };
    let canary = query(&url, &app_success("podinfo")).await.unwrap();
    let primary = query(&url, &app_success("podinfo-primary")).await.unwrap();
    assert!(
        (canary - 0.70).abs() < 0.07,
        "canary app-level success {canary}"
    );
    assert!(
        (primary - 0.98).abs() < 0.01,
        "primary app-level success {primary}"
    );
}
