//! The router contract, run for every router serin has.

mod contract;

use contract::{Case, check, gateway_accepted};
use serin_controller::routers::{KumaApi, RouterOptions};
use serin_crds::canary::Provider;

/// The upstream CRDs in `shared/mesh-crds/` beside the repository (or under `$SERIN_SHARED`).
fn mesh_crds(file: &str) -> Vec<String> {
    let shared = std::env::var_os("SERIN_SHARED").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        std::path::PathBuf::from,
    );
    let path = shared.join("mesh-crds").join(file);
    vec![std::fs::read_to_string(&path).expect("the router's CRDs in shared/mesh-crds")]
}

/// istiod's status with `PILOT_ENABLE_STATUS=true`: the generation reconciled.
#[allow(clippy::unnecessary_wraps, reason = "the signature of Case::accepted")]
fn istiod_reconciled(vs: &serde_json::Value) -> Option<serde_json::Value> {
    (vs["kind"] == "VirtualService").then(|| {
        serde_json::json!({
            "observedGeneration": vs["metadata"]["generation"],
            "conditions": [{"type": "Reconciled", "status": "True", "reason": "", "message": "2/2"}]
        })
    })
}

/// The shared Gateway API CRDs, as a cluster operator installs them.
fn gateway_api_crds() -> Vec<String> {
    vec![serin_controller::demo::GATEWAY_API_CRDS.to_owned()]
}

const PODINFO: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service:
  port: 9898
  gatewayRefs: [{name: public, namespace: gateway}]
analysis: {interval: 1m, threshold: 5, stepWeight: 10, maxWeight: 50}
";

#[tokio::test]
async fn the_kubernetes_router_keeps_its_contract() {
    check(Case {
        provider: Provider::Kubernetes,
        crds: Vec::new(),
        spec: PODINFO.replace("stepWeight: 10, maxWeight: 50", "iterations: 5"),
        objects: Vec::new(),
        accepted: contract::no_status,
    })
    .await;
}

#[tokio::test]
async fn the_gateway_api_router_keeps_its_contract() {
    for provider in [Provider::GatewayApiV1, Provider::GatewayApiV1beta1] {
        check(Case {
            provider,
            crds: gateway_api_crds(),
            spec: PODINFO.to_owned(),
            objects: Vec::new(),
            accepted: gateway_accepted,
        })
        .await;
    }
}

#[tokio::test]
async fn the_gateway_api_router_keeps_its_contract_with_grpc_routes() {
    let spec = PODINFO.replace("  port: 9898\n", "  port: 9898\n  routeKind: GRPCRoute\n");
    assert!(spec.contains("routeKind"), "{spec}");
    check(Case {
        provider: Provider::GatewayApiV1,
        crds: gateway_api_crds(),
        spec,
        objects: Vec::new(),
        accepted: gateway_accepted,
    })
    .await;
}

#[tokio::test]
async fn the_istio_router_keeps_its_contract() {
    check(Case {
        provider: Provider::Istio,
        crds: mesh_crds("istio/networking-crds.yaml"),
        spec: PODINFO.to_owned(),
        objects: Vec::new(),
        accepted: istiod_reconciled,
    })
    .await;
    // Without istiod's status the spec is taken as live.
    check(Case {
        provider: Provider::Istio,
        crds: mesh_crds("istio/networking-crds.yaml"),
        spec: PODINFO.to_owned(),
        objects: Vec::new(),
        accepted: contract::no_status,
    })
    .await;
}

/// The Ingress of Flagger's NGINX tutorial, routing `app.example.com` to the apex Service.
const PODINFO_INGRESS: &str = r"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo
  namespace: test
  labels: {app: podinfo}
  annotations: {kubernetes.io/ingress.class: nginx}
spec:
  rules:
    - host: app.example.com
      http:
        paths:
          - {pathType: Prefix, path: /, backend: {service: {name: podinfo, port: {number: 80}}}}
";

#[tokio::test]
async fn the_nginx_router_keeps_its_contract() {
    check(Case {
        provider: Provider::Nginx,
        crds: Vec::new(),
        spec: PODINFO.replace(
            "  gatewayRefs: [{name: public, namespace: gateway}]\n",
            "ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo}\n",
        ),
        objects: vec![PODINFO_INGRESS.to_owned()],
        accepted: contract::no_status,
    })
    .await;
}

/// Contour's status for an HTTPProxy it accepted, at its generation.
#[allow(clippy::unnecessary_wraps, reason = "the signature of Case::accepted")]
fn contour_valid(proxy: &serde_json::Value) -> Option<serde_json::Value> {
    Some(serde_json::json!({
        "currentStatus": "valid",
        "description": "Valid HTTPProxy",
        "conditions": [{"type": "Valid", "status": "True", "reason": "Valid", "message": "Valid HTTPProxy",
                        "observedGeneration": proxy["metadata"]["generation"],
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    }))
}

#[tokio::test]
async fn the_contour_router_keeps_its_contract() {
    check(Case {
        provider: Provider::Contour,
        crds: mesh_crds("contour/httpproxies.yaml"),
        spec: PODINFO.replace(
            "  gatewayRefs: [{name: public, namespace: gateway}]\n",
            "  timeout: 15s\n  retries: {attempts: 3, perTryTimeout: 5s, retryOn: \"5xx,gateway-error\"}\n",
        ),
        objects: Vec::new(),
        accepted: contour_valid,
    })
    .await;
}

#[tokio::test]
async fn the_traefik_router_keeps_its_contract() {
    check(Case {
        provider: Provider::Traefik,
        crds: mesh_crds("traefik/traefik.io_traefikservices.yaml"),
        spec: PODINFO.replace("  gatewayRefs: [{name: public, namespace: gateway}]\n", ""),
        objects: Vec::new(),
        accepted: contract::no_status,
    })
    .await;
}

/// The SMI TrafficSplit CRD with `v1alpha3` served (`third_party/smi/README.md`).
const SMI_CRDS: &str = include_str!("../../../third_party/smi/trafficsplits.yaml");

#[tokio::test]
async fn the_smi_router_keeps_its_contract_for_every_provider_it_serves() {
    for provider in [
        Provider::Linkerd,
        Provider::Osm,
        Provider::SmiV1alpha1,
        Provider::SmiV1alpha2,
        Provider::SmiV1alpha3,
    ] {
        check(Case {
            provider,
            crds: vec![SMI_CRDS.to_owned()],
            spec: PODINFO.replace("  gatewayRefs: [{name: public, namespace: gateway}]\n", ""),
            objects: Vec::new(),
            accepted: contract::no_status,
        })
        .await;
    }
}

#[tokio::test]
async fn the_skipper_router_keeps_its_contract() {
    check(Case {
        provider: Provider::Skipper,
        crds: Vec::new(),
        spec: PODINFO.replace(
            "  gatewayRefs: [{name: public, namespace: gateway}]\n",
            "ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo}\n",
        ),
        objects: vec![PODINFO_INGRESS.replace("ingress.class: nginx", "ingress.class: skipper")],
        accepted: contract::no_status,
    })
    .await;
}

/// The ApisixRoute of Flagger's APISIX tutorial.
const PODINFO_APISIX_ROUTE: &str = r"
apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata: {name: podinfo, namespace: test}
spec:
  http:
    - name: method
      match: {hosts: [app.example.com], methods: [GET], paths: [/*]}
      backends: [{serviceName: podinfo, servicePort: 80}]
";

/// The APISIX ingress controller's status once it has synced a route, at its generation.
#[allow(clippy::unnecessary_wraps, reason = "the signature of Case::accepted")]
fn apisix_synced(route: &serde_json::Value) -> Option<serde_json::Value> {
    Some(serde_json::json!({"conditions": [{
        "type": "ResourcesAvailable", "status": "True", "reason": "ResourcesSynced",
        "message": "Sync Successfully", "observedGeneration": route["metadata"]["generation"],
        "lastTransitionTime": "2026-01-01T00:00:00Z"
    }]}))
}

#[tokio::test]
async fn the_apisix_router_keeps_its_contract() {
    check(Case {
        provider: Provider::Apisix,
        crds: mesh_crds("apisix/apisixroutes.yaml"),
        spec: PODINFO.replace(
            "  gatewayRefs: [{name: public, namespace: gateway}]\n",
            "routeRef: {apiVersion: apisix.apache.org/v2, kind: ApisixRoute, name: podinfo}\n",
        ),
        objects: vec![PODINFO_APISIX_ROUTE.to_owned()],
        accepted: apisix_synced,
    })
    .await;
}

/// An Upstream whose settings the generated Upstreams copy (`spec.upstreamRef`).
const PODINFO_UPSTREAM: &str = r"
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: podinfo-upstream, namespace: test}
spec:
  kube: {serviceName: podinfo, serviceNamespace: test, servicePort: 9898}
  circuitBreakers: {maxConnections: 10}
";

/// Gloo's gateway accepting a RouteTable.
fn gloo_accepted(object: &serde_json::Value) -> Option<serde_json::Value> {
    (object["kind"] == "RouteTable").then(|| {
        serde_json::json!({"statuses": {"gloo-system": {
            "state": "Accepted", "reportedBy": "gateway"
        }}})
    })
}

#[tokio::test]
async fn the_gloo_router_keeps_its_contract() {
    let mut crds = mesh_crds("gloo/gateway.solo.io_v1_RouteTable.yaml");
    crds.extend(mesh_crds("gloo/gloo.solo.io_v1_Upstream.yaml"));
    check(Case {
        provider: Provider::Gloo,
        crds,
        spec: PODINFO.replace(
            "  gatewayRefs: [{name: public, namespace: gateway}]\n",
            "upstreamRef: {apiVersion: gloo.solo.io/v1, kind: Upstream, name: podinfo-upstream}\n",
        ),
        objects: vec![PODINFO_UPSTREAM.to_owned()],
        accepted: gloo_accepted,
    })
    .await;
}

#[tokio::test]
async fn the_kuma_router_keeps_its_contract_with_traffic_routes_and_mesh_http_routes() {
    for api in [KumaApi::TrafficRoute, KumaApi::MeshHttpRoute] {
        let options = RouterOptions {
            kuma: api,
            ..RouterOptions::default()
        };
        contract::check_with(
            Case {
                provider: Provider::Kuma,
                crds: [
                    mesh_crds("kuma/kuma.io_trafficroutes.yaml"),
                    mesh_crds("kuma/kuma.io_meshhttproutes.yaml"),
                ]
                .concat(),
                spec: PODINFO.replace("  gatewayRefs: [{name: public, namespace: gateway}]\n", ""),
                objects: Vec::new(),
                accepted: contract::no_status,
            },
            &options,
        )
        .await;
    }
}

/// The Kuma policy discovery picks: `MeshHTTPRoute` only on a cluster without `TrafficRoute`.
#[tokio::test]
async fn kuma_writes_mesh_http_routes_only_where_traffic_routes_are_not_served() {
    let traffic_routes = mesh_crds("kuma/kuma.io_trafficroutes.yaml");
    let mesh_http_routes = mesh_crds("kuma/kuma.io_meshhttproutes.yaml");
    for (crds, expected) in [
        (Vec::new(), KumaApi::TrafficRoute),
        (traffic_routes.clone(), KumaApi::TrafficRoute),
        (
            [traffic_routes, mesh_http_routes.clone()].concat(),
            KumaApi::TrafficRoute,
        ),
        (mesh_http_routes, KumaApi::MeshHttpRoute),
    ] {
        let server = serin_sim::Server::start_default().await.expect("emulator");
        for crd in &crds {
            server.apply_yaml(crd).expect("install the CRDs");
        }
        let client = server.client().expect("client");
        assert_eq!(
            serin_controller::routers::served_kuma_api(&client).await,
            expected,
            "{} CRDs",
            crds.len()
        );
    }
}

/// The user's Knative Service, its first revision the primary.
const KNATIVE_PODINFO: &str = "
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: podinfo
  namespace: test
  annotations: {flagger.app/primary-revision: podinfo-00001}
spec:
  template:
    spec: {containers: [{image: 'ghcr.io/stefanprodan/podinfo:6.0.0'}]}
";

/// Knative's status once it programmed `spec.traffic`: the latest revision `podinfo-00002`.
#[allow(clippy::unnecessary_wraps, reason = "the signature of Case::accepted")]
fn knative_programmed(service: &serde_json::Value) -> Option<serde_json::Value> {
    let traffic: Vec<serde_json::Value> = service["spec"]["traffic"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let latest = t["latestRevision"] == true;
            let name = if latest { "podinfo-00002" } else { t["revisionName"].as_str().unwrap_or_default() };
            serde_json::json!({"revisionName": name, "latestRevision": latest, "percent": t["percent"]})
        })
        .collect();
    Some(serde_json::json!({
        "observedGeneration": service["metadata"]["generation"],
        "latestCreatedRevisionName": "podinfo-00002",
        "latestReadyRevisionName": "podinfo-00002",
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "RoutesReady", "status": "True"}],
        "traffic": traffic,
    }))
}

#[tokio::test]
async fn the_knative_router_keeps_its_contract() {
    check(Case {
        provider: Provider::Knative,
        crds: mesh_crds("knative/service.yaml"),
        spec: "
targetRef: {apiVersion: serving.knative.dev/v1, kind: Service, name: podinfo}
analysis: {interval: 1m, threshold: 5, stepWeight: 10, maxWeight: 50}
"
        .to_owned(),
        objects: vec![KNATIVE_PODINFO.to_owned()],
        accepted: knative_programmed,
    })
    .await;
}
