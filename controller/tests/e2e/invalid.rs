//! Canaries serin cannot act on get `Stalled=True` with the reason and the path-qualified
//! problem, and nothing is routed: a spec invalid for the controller's `--mesh-provider` (which
//! admission cannot see, so the API server stores it), a router whose kinds the cluster does not
//! serve (Istio without its CRDs), a target that does not exist (a Knative Service on a cluster
//! without Knative).

use std::time::Duration;

use serin_crds::canary::Provider;

use crate::support::{Harness, stalled};

const CANARIES: &str = r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: test}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: 'ghcr.io/stefanprodan/podinfo:6.0.0'}]}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: bad-step, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis: {interval: 1s, threshold: 2, stepWeight: 10}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: on-istio, namespace: test}
spec:
  provider: istio
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  service: {port: 9898}
  analysis: {interval: 1s, threshold: 2, stepWeight: 10}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: knative, namespace: test}
spec:
  provider: knative
  targetRef: {apiVersion: serving.knative.dev/v1, kind: Service, name: podinfo}
  analysis: {interval: 1s, threshold: 2, iterations: 2}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canaries_serin_cannot_act_on_are_stalled_with_the_reason() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(CANARIES);
    let cases = [
        (
            "bad-step",
            "InvalidSpec",
            "spec.analysis.stepWeight: provider kubernetes cannot shift traffic by weight",
        ),
        (
            "on-istio",
            "RouterNotInstalled",
            "the cluster does not serve networking.istio.io/v1beta1 ",
        ),
        (
            "knative",
            "TargetNotFound",
            "target Service podinfo not found",
        ),
    ];
    for (name, reason, message) in cases {
        let canary = h
            .wait_until(name, "Stalled", Duration::from_secs(30), |c| {
                stalled(c).is_some()
            })
            .await;
        let (got_reason, got_message) = stalled(&canary).expect("stalled");
        assert_eq!(got_reason, reason, "{name}");
        assert!(got_message.contains(message), "{name}: {got_message}");
        let ready = canary
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready").cloned());
        assert_eq!(ready.map(|c| c.status), Some("False".to_owned()), "{name}");
    }
    h.stop_controller().await;
}
