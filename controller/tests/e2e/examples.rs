//! The bundled examples work as shipped: applied to the emulated cluster (with a podinfo
//! Deployment for them to release), each Canary is initialized by the controller.

use std::time::Duration;

use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::Harness;

const PODINFO: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata: {labels: {app: podinfo}}
    spec: {containers: [{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0", ports: [{containerPort: 9898, name: http}]}]}
"#;

fn example(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("example exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_api_example_with_its_metric_template_and_alert_providers_initializes() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO);
    h.apply(&example("alerts/alert-providers.yaml"));
    h.apply(&example("gatewayapi/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let route = h
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo")
        .await;
    assert_eq!(route["spec"]["hostnames"][0], "podinfo.example.com");
    assert_eq!(route["spec"]["parentRefs"][0]["name"], "public");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_example_initializes_with_a_grpc_route() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO);
    h.apply(&example("gatewayapi/grpc-canary.yaml"));
    h.wait_for_phase("echo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let route = h
        .get("gateway.networking.k8s.io/v1", "GRPCRoute", "echo")
        .await;
    assert_eq!(route["spec"]["hostnames"][0], "echo.example.com");
    assert_eq!(
        route["spec"]["rules"][0]["matches"][0]["method"]["service"],
        "podinfo.Echo"
    );
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"][0]["name"],
        "echo-primary"
    );
    let apex = h.get("v1", "Service", "echo").await;
    assert_eq!(apex["spec"]["ports"][0]["appProtocol"], "grpc");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blue_green_example_initializes() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO);
    h.apply(&example("kubernetes/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let apex = h.get("v1", "Service", "podinfo").await;
    assert_eq!(apex["spec"]["ports"][0]["port"], 80);
    assert_eq!(apex["spec"]["ports"][0]["targetPort"], "http");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nginx_example_with_its_ingress_initializes() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO);
    h.apply(&example("nginx/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let copy = h
        .get("networking.k8s.io/v1", "Ingress", "podinfo-canary")
        .await;
    assert_eq!(copy["spec"]["ingressClassName"], "nginx");
    assert_eq!(
        copy["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"],
        "0"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contour_example_with_its_root_proxy_initializes() {
    let options = serin_controller::demo::ClusterOptions {
        crds: vec![crate::support::mesh_crds("contour/httpproxies.yaml")],
        istio_status: false,
    };
    let mut h = Harness::start_cluster(Provider::Kubernetes, options, |_| {}).await;
    h.apply(PODINFO);
    h.apply(&example("contour/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let proxy = h.get("projectcontour.io/v1", "HTTPProxy", "podinfo").await;
    assert_eq!(
        proxy["spec"]["routes"][0]["services"][0]["name"],
        "podinfo-primary"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traefik_example_with_its_ingress_route_initializes() {
    let options = serin_controller::demo::ClusterOptions {
        crds: vec![
            crate::support::mesh_crds("traefik/traefik.io_traefikservices.yaml"),
            crate::support::mesh_crds("traefik/traefik.io_ingressroutes.yaml"),
        ],
        istio_status: false,
    };
    let mut h = Harness::start_cluster(Provider::Kubernetes, options, |_| {}).await;
    h.apply(PODINFO);
    h.apply(&example("traefik/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let service = h
        .get("traefik.io/v1alpha1", "TraefikService", "podinfo")
        .await;
    assert_eq!(
        service["spec"]["weighted"]["services"][0]["name"],
        "podinfo-primary"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_linkerd_example_initializes_with_a_traffic_split() {
    let options = serin_controller::demo::ClusterOptions {
        crds: vec![crate::support::mesh_crds(
            "smi/linkerd-smi/trafficsplit-crd.yaml",
        )],
        istio_status: false,
    };
    let mut h = Harness::start_cluster(Provider::Kubernetes, options, |_| {}).await;
    h.apply(PODINFO);
    h.apply(&example("linkerd/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let split = h
        .get("split.smi-spec.io/v1alpha1", "TrafficSplit", "podinfo")
        .await;
    assert_eq!(split["spec"]["backends"][1]["service"], "podinfo-primary");
    assert_eq!(split["spec"]["backends"][1]["weight"], "100");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kuma_example_initializes_with_a_traffic_route_in_its_mesh() {
    let options = serin_controller::demo::ClusterOptions {
        crds: vec![crate::support::mesh_crds("kuma/kuma.io_trafficroutes.yaml")],
        istio_status: false,
    };
    let mut h = Harness::start_cluster(Provider::Kubernetes, options, |_| {}).await;
    h.apply(PODINFO);
    h.apply(&example("kuma/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let route = h.get("kuma.io/v1alpha1", "TrafficRoute", "podinfo").await;
    assert_eq!(route["mesh"], "default");
    assert_eq!(
        route["spec"]["conf"]["split"][0],
        serde_json::json!({"weight": 100, "destination": {"kuma.io/service": "podinfo-primary_test_svc_9898"}})
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_skipper_example_with_its_ingress_initializes() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO);
    h.apply(&example("skipper/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let copy = h
        .get("networking.k8s.io/v1", "Ingress", "podinfo-canary")
        .await;
    assert_eq!(
        copy["metadata"]["annotations"]["zalando.org/skipper-predicate"],
        "False()"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apisix_example_with_its_route_initializes() {
    let options = serin_controller::demo::ClusterOptions {
        crds: vec![crate::support::mesh_crds("apisix/apisixroutes.yaml")],
        istio_status: false,
    };
    let mut h = Harness::start_cluster(Provider::Kubernetes, options, |_| {}).await;
    h.apply(PODINFO);
    h.apply(&example("apisix/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let copy = h
        .get(
            "apisix.apache.org/v2",
            "ApisixRoute",
            "podinfo-podinfo-canary",
        )
        .await;
    assert_eq!(copy["spec"]["http"][0]["priority"], 10_000);
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gloo_example_with_its_virtual_service_initializes() {
    let options = serin_controller::demo::ClusterOptions {
        crds: [
            "gloo/gateway.solo.io_v1_RouteTable.yaml",
            "gloo/gloo.solo.io_v1_Upstream.yaml",
            "gloo/gateway.solo.io_v1_VirtualService.yaml",
        ]
        .map(crate::support::mesh_crds)
        .to_vec(),
        istio_status: false,
    };
    let mut h = Harness::start_cluster(Provider::Kubernetes, options, |_| {}).await;
    h.apply(PODINFO);
    h.apply(&example("gloo/canary.yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let table = h.get("gateway.solo.io/v1", "RouteTable", "podinfo").await;
    assert_eq!(
        table["spec"]["routes"][0]["routeAction"]["multi"]["destinations"][0]["destination"]["upstream"]
            ["name"],
        "test-podinfo-primaryupstream-80"
    );
    h.stop_controller().await;
}
