//! A bare `gatewayapi` provider writes the newest HTTPRoute version the cluster serves.

use serin_controller::routers::{GatewayApiVersion, newest_gateway_api};
use serin_crds::canary::Provider;

use crate::support::{Tier, podinfo};

#[tokio::test]
async fn the_newest_served_version_is_found_by_discovery() {
    let with_both = Tier::start(Provider::Kubernetes, true).await;
    assert_eq!(
        newest_gateway_api(&with_both.client).await,
        GatewayApiVersion::V1
    );
    // A cluster whose HTTPRoute CRD no longer serves v1 (an old Gateway API release).
    let only_beta = Tier::start(Provider::Kubernetes, false).await;
    let beta_only = serin_controller::demo::GATEWAY_API_CRDS.replacen(
        "    served: true",
        "    served: false",
        1,
    );
    only_beta.apply(&beta_only);
    assert_eq!(
        newest_gateway_api(&only_beta.client).await,
        GatewayApiVersion::V1beta1
    );
}

#[tokio::test]
async fn a_bare_gatewayapi_canary_gets_an_httproute_of_the_newest_served_version() {
    // Only v1beta1 is served: a v1 route could not be written at all.
    let t = Tier::start_with(Provider::Kubernetes, false, |c| {
        c.routers.gateway_api = GatewayApiVersion::V1beta1;
    })
    .await;
    t.apply(&serin_controller::demo::GATEWAY_API_CRDS.replacen(
        "    served: true",
        "    served: false",
        1,
    ));
    assert_eq!(
        newest_gateway_api(&t.client).await,
        GatewayApiVersion::V1beta1
    );
    t.apply(&podinfo("gatewayapi", "    iterations: 2"));
    t.tick_ok("podinfo").await;
    t.ready("podinfo-primary").await;
    t.tick_ok("podinfo").await;
    assert!(
        t.get("gateway.networking.k8s.io/v1beta1", "HTTPRoute", "podinfo")
            .await
            .is_some(),
        "the route is written"
    );
    let (_, reason, message) = t.condition("podinfo", "Stalled").await;
    assert_eq!(reason, "AsExpected", "{message}");
}
