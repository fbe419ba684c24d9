//! The simulated cluster without Prometheus: workload readiness rules and the exposition of every
//! router's metrics (NGINX, Envoy, Linkerd, Istio, app-level) as Flagger's queries name them.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use serin_sim::cluster::{Cluster, SimConfig};
use serin_sim::{Server, metrics_http};

fn fast() -> SimConfig {
    SimConfig {
        rps: 200.0,
        ready_delay: Duration::from_millis(100),
        tick: Duration::from_millis(50),
        ..SimConfig::default()
    }
}

async fn poll<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const WORKLOADS: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  progressDeadlineSeconds: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: 'web:1'}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: 'agent:1'}]}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unready_revision_stalls_with_progress_deadline_exceeded_while_old_pods_serve() {
    let server = Server::start_default().await.unwrap();
    let _cluster = Cluster::start(server.client().unwrap(), fast(), &server.metrics_registry());
    server.apply_yaml(WORKLOADS).unwrap();
    let deployments: Api<Deployment> = Api::namespaced(server.client().unwrap(), "default");
    poll("web available", async || {
        let status = deployments.get("web").await.ok()?.status?;
        (status.available_replicas == Some(3) && status.observed_generation == Some(1))
            .then_some(())
    })
    .await;
    let daemonsets: Api<DaemonSet> = Api::namespaced(server.client().unwrap(), "default");
    poll("agent ready", async || {
        let status = daemonsets.get("agent").await.ok()?.status?;
        (status.number_ready == 3 && status.desired_number_scheduled == 3).then_some(())
    })
    .await;

    let bad = json!({"spec": {"template": {"metadata": {"annotations": {"sim.serin.dev/ready": "false"}}}}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(&bad))
        .await
        .unwrap();
    let stalled = poll("progress deadline exceeded", async || {
        let status = deployments.get("web").await.ok()?.status?;
        let progressing = status
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_.as_deref() == Some("Progressing"))?
            .clone();
        (progressing.reason.as_deref() == Some("ProgressDeadlineExceeded")).then_some(status)
    })
    .await;
    assert_eq!(stalled.observed_generation, Some(2));
    assert_eq!(stalled.updated_replicas, Some(3));
    assert_eq!(
        stalled.available_replicas,
        Some(3),
        "the previous revision keeps serving"
    );

    let zero = json!({"spec": {"replicas": 0, "template": {"metadata": {"annotations": null}}}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(&zero))
        .await
        .unwrap();
    poll("scaled to zero", async || {
        let status = deployments.get("web").await.ok()?.status?;
        (status.observed_generation == Some(3) && status.replicas == Some(0)).then_some(())
    })
    .await;
}

const NGINX: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo-primary, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo-primary}}
  template:
    metadata: {labels: {app: podinfo-primary}}
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
      annotations: {sim.serin.dev/error-rate: '1'}
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
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: podinfo, namespace: default}
spec:
  rules:
  - host: app.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: podinfo-primary, port: {number: 9898}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo-canary
  namespace: default
  annotations: {nginx.ingress.kubernetes.io/canary: 'true', nginx.ingress.kubernetes.io/canary-weight: '50'}
spec:
  rules:
  - host: app.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: podinfo-canary, port: {number: 9898}}}}]}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_ingress_traffic_is_exported_under_every_routers_metric_names() {
    let server = Server::start_default().await.unwrap();
    let registry = server.metrics_registry();
    let _cluster = Cluster::start(server.client().unwrap(), fast(), &registry);
    let addr = metrics_http::serve("127.0.0.1:0".parse().unwrap(), registry)
        .await
        .unwrap();
    server.apply_yaml(NGINX).unwrap();
    let url = format!("http://{addr}/metrics");
    let expected = [
        r#"nginx_ingress_controller_requests{namespace="default",ingress="podinfo",canary="podinfo-canary",status="500"}"#,
        r#"nginx_ingress_controller_requests{namespace="default",ingress="podinfo",canary="",status="200"}"#,
        r#"nginx_ingress_controller_request_duration_seconds_bucket{le="0.1",namespace="default",ingress="podinfo",canary="podinfo-canary"}"#,
        // Contour (with Kuma's service label), Gloo and App Mesh cluster naming.
        r#"envoy_cluster_upstream_rq{envoy_cluster_name="default_podinfo-canary_9898",service="podinfo-canary_default_svc_9898",kubernetes_namespace="",kubernetes_pod_name="",envoy_response_code="500"}"#,
        r#"envoy_cluster_upstream_rq{envoy_cluster_name="default-podinfo-canary-9898_default","#,
        r#"envoy_cluster_upstream_rq{envoy_cluster_name="",service="",kubernetes_namespace="default",kubernetes_pod_name="podinfo-"#,
        r#"envoy_cluster_upstream_rq_time_bucket{le="100.0",envoy_cluster_name="default_podinfo-primary_9898","#,
        r#"nginx_ingress_controller_ingress_upstream_latency_seconds_count{namespace="default",ingress="podinfo",canary=""}"#,
        r#"osm_request_total{destination_namespace="default",destination_kind="Deployment",destination_name="podinfo",response_code="500"}"#,
        r#"osm_request_duration_ms_bucket{le="100.0",destination_namespace="default""#,
        r#"traefik_service_request_duration_seconds_bucket{le="0.1",service="default-podinfo-canary-9898@kubernetescrd",code="500"}"#,
        r#"http_request_duration_seconds_count{kubernetes_namespace="default",kubernetes_pod_name="podinfo-primary-"#,
        r#"response_total{namespace="default",deployment="podinfo",classification="failure",direction="inbound"}"#,
        r#"response_latency_ms_bucket{le="100.0",namespace="default",deployment="podinfo-primary",direction="inbound"}"#,
        r#"istio_requests_total{reporter="destination",destination_workload_namespace="default",destination_workload="podinfo""#,
        r#"istio_requests_total{reporter="source",destination_workload_namespace="default""#,
        r#"http_requests_total{kubernetes_namespace="default",kubernetes_pod_name="podinfo-primary-"#,
        r#"http_request_duration_seconds_bucket{le="0.1",kubernetes_namespace="default",kubernetes_pod_name="podinfo-"#,
        r#"",status="500"} "#,
        r#"serin_sim_apiserver_requests_total{verb="patch",code="200"}"#,
    ];
    let text = poll("all metric families", async || {
        let url = url.clone();
        let fetch = tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args(["-s", &url])
                .output()
        });
        let output = fetch.await.ok()?.ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        expected
            .iter()
            .all(|line| text.contains(line))
            .then_some(text)
    })
    .await;
    assert!(
        !text.contains(r#"canary="podinfo-canary",status="200""#),
        "the canary fails every request"
    );
}
