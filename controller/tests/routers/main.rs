//! The router contract, run for every router serin has.

mod contract;

use contract::{Case, check, gateway_accepted};
use serin_crds::canary::Provider;

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
            accepted: gateway_accepted,
        })
        .await;
    }
}
