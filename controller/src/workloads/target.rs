//! The object a Canary releases, as read from the API: a Deployment, a DaemonSet, a plain
//! Service, or a Knative Service. Each kind answers the same questions (what is its revision,
//! how ready is it, how is it scaled) in its own way.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec, Service};
use serde_json::Value;

use super::knative::KnativeService;
use super::readiness::{Readiness, daemonset_readiness, deployment_readiness};

/// The node selector key that takes a DaemonSet's pods off every node: DaemonSets cannot be
/// scaled, so a canary DaemonSet is "scaled to zero" by selecting nodes that do not exist
/// (Flagger's convention, kept so that objects it scaled down are recognised).
pub const SCALE_TO_ZERO_NODE_SELECTOR: &str = "flagger.app/scale-to-zero";

/// A Canary's target, or its primary, as observed.
#[derive(Clone, Debug)]
pub enum Target {
    /// An `apps/v1` Deployment.
    Deployment(Deployment),
    /// An `apps/v1` DaemonSet.
    DaemonSet(DaemonSet),
    /// A core `v1` Service (the Canary releases Service changes, for example a selector that
    /// moves to another set of pods).
    Service(Service),
    /// A Knative `serving.knative.dev/v1` Service: its own primary, which is a revision of it
    /// (named in an annotation), not a copy.
    Knative(KnativeService),
}

impl Target {
    /// The kind, as written in `targetRef.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Deployment(_) => "Deployment",
            Target::DaemonSet(_) => "DaemonSet",
            Target::Service(_) | Target::Knative(_) => "Service",
        }
    }

    /// The workload's pod template; `None` for a Service (Knative's revisions are its own).
    pub fn pod_template(&self) -> Option<&PodTemplateSpec> {
        match self {
            Target::Deployment(d) => Some(&d.spec.template),
            Target::DaemonSet(d) => Some(&d.spec.template),
            Target::Service(_) | Target::Knative(_) => None,
        }
    }

    /// The workload's pod spec; `None` for a Service.
    pub fn pod_spec(&self) -> Option<&PodSpec> {
        self.pod_template()?.spec.as_ref()
    }

    /// The labels that select the workload's pods (`spec.selector.matchLabels`), or a Service's
    /// `spec.selector`.
    pub fn selector(&self) -> BTreeMap<String, String> {
        match self {
            Target::Deployment(d) => d.spec.selector.match_labels.clone(),
            Target::DaemonSet(d) => d.spec.selector.match_labels.clone(),
            Target::Service(s) => s.spec.as_ref().and_then(|s| s.selector.clone()),
            Target::Knative(_) => None,
        }
        .unwrap_or_default()
    }

    /// Desired replicas of a Deployment (1 when unset); `None` for kinds without replicas.
    pub fn replicas(&self) -> Option<i32> {
        match self {
            Target::Deployment(d) => Some(d.spec.replicas.unwrap_or(1)),
            Target::DaemonSet(_) | Target::Service(_) | Target::Knative(_) => None,
        }
    }

    /// Whether serin (or Flagger) has scaled the target down: no replicas, or, for a
    /// DaemonSet, the scale-to-zero node selector. A Service is never scaled.
    pub fn scaled_to_zero(&self) -> bool {
        match self {
            Target::Deployment(_) => self.replicas() == Some(0),
            Target::DaemonSet(_) => self
                .pod_spec()
                .and_then(|s| s.node_selector.as_ref())
                .is_some_and(|n| n.contains_key(SCALE_TO_ZERO_NODE_SELECTOR)),
            Target::Service(_) | Target::Knative(_) => false,
        }
    }

    /// What a release is made of: the pod template of a workload, without the scale-to-zero
    /// node selector (scaling is not a change to release), a Service's spec without the
    /// fields the API server allocates, or a Knative Service's latest created revision (a
    /// release starts once Knative has made one, as in Flagger).
    pub fn revision_source(&self) -> Result<Value, serde_json::Error> {
        match self {
            Target::Deployment(_) | Target::DaemonSet(_) => {
                let mut template = serde_json::to_value(self.pod_template())?;
                let spec = template.get_mut("spec").and_then(Value::as_object_mut);
                if let Some(spec) = spec
                    && let Some(selector) =
                        spec.get_mut("nodeSelector").and_then(Value::as_object_mut)
                {
                    selector.remove(SCALE_TO_ZERO_NODE_SELECTOR);
                    if selector.is_empty() {
                        spec.remove("nodeSelector");
                    }
                }
                Ok(template)
            }
            Target::Service(s) => {
                let mut spec = serde_json::to_value(&s.spec)?;
                strip_allocated(&mut spec);
                Ok(spec)
            }
            Target::Knative(k) => Ok(Value::from(k.latest_created())),
        }
    }

    /// How ready the object is. A Service is always ready; a DaemonSet reports no time of last
    /// progress (the caller times its deadline from the Canary's last transition); a Knative
    /// Service is as ready as its latest created revision.
    pub fn readiness(&self, threshold_percent: u8) -> Readiness {
        match self {
            Target::Deployment(d) => deployment_readiness(d, threshold_percent),
            Target::DaemonSet(d) => daemonset_readiness(d, threshold_percent),
            Target::Service(_) => Readiness::Ready,
            Target::Knative(k) => k.readiness(),
        }
    }

    /// How ready the object is as a primary. A Knative primary is a revision that was ready
    /// when it was promoted, and that Knative keeps while it is routed: it is ready.
    pub fn primary_readiness(&self, threshold_percent: u8) -> Readiness {
        match self {
            Target::Knative(_) => Readiness::Ready,
            _ => self.readiness(threshold_percent),
        }
    }
}

/// Removes from a Service spec (as JSON) what the API server allocates for each Service: its
/// cluster IPs (a headless Service's `None` is kept), node ports and health check node port.
/// Copying them to another Service would be refused as a conflict.
pub fn strip_allocated(spec: &mut Value) {
    if let Some(spec) = spec.as_object_mut() {
        let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
        for key in ["clusterIP", "clusterIPs", "healthCheckNodePort"] {
            spec.remove(key);
        }
        if headless {
            spec.insert("clusterIP".into(), Value::from("None"));
        }
        for port in spec
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(port) = port.as_object_mut() {
                port.remove("nodePort");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn daemonset(node_selector: &Value) -> Target {
        Target::DaemonSet(
            serde_json::from_value(json!({
                "metadata": {"name": "agent"},
                "spec": {"selector": {"matchLabels": {"app": "agent"}},
                         "template": {"metadata": {"labels": {"app": "agent"}},
                                      "spec": {"containers": [{"name": "a", "image": "agent:1"}],
                                               "nodeSelector": node_selector}}}
            }))
            .unwrap(),
        )
    }

    #[test]
    fn the_scale_to_zero_node_selector_is_not_part_of_a_daemonsets_revision() {
        let plain = daemonset(&Value::Null).revision_source().unwrap();
        let scaled = daemonset(&json!({SCALE_TO_ZERO_NODE_SELECTOR: "true"}));
        assert!(scaled.scaled_to_zero());
        assert_eq!(scaled.revision_source().unwrap(), plain);
        // Emptied by a merge patch that removed the key: the same revision again.
        assert_eq!(daemonset(&json!({})).revision_source().unwrap(), plain);
        // Other node selectors are a real change.
        let pinned = daemonset(&json!({"disk": "ssd", SCALE_TO_ZERO_NODE_SELECTOR: "true"}));
        assert_ne!(pinned.revision_source().unwrap(), plain);
        assert_eq!(
            pinned.revision_source().unwrap()["spec"]["nodeSelector"],
            json!({"disk": "ssd"})
        );
        assert!(!daemonset(&json!({"disk": "ssd"})).scaled_to_zero());
    }

    #[test]
    fn a_services_revision_ignores_what_the_api_server_allocates() {
        let service = |ip: &str, node_port: u16| {
            Target::Service(
                serde_json::from_value(json!({
                    "metadata": {"name": "podinfo"},
                    "spec": {"type": "NodePort", "clusterIP": ip, "clusterIPs": [ip],
                             "selector": {"app": "podinfo-v2"},
                             "ports": [{"port": 80, "targetPort": 9898, "nodePort": node_port}]}
                }))
                .unwrap(),
            )
        };
        let a = service("10.0.0.1", 30001);
        assert_eq!(
            a.revision_source().unwrap(),
            service("10.0.0.2", 30002).revision_source().unwrap()
        );
        assert_eq!(
            a.selector(),
            BTreeMap::from([("app".to_owned(), "podinfo-v2".to_owned())])
        );
        assert_eq!(a.readiness(100), Readiness::Ready);
        assert!(!a.scaled_to_zero());
        assert_eq!(a.replicas(), None);
    }

    #[test]
    fn a_deployment_without_replicas_wants_one() {
        let d = Target::Deployment(
            serde_json::from_value(
                json!({"metadata": {"name": "p"}, "spec": {"selector": {}, "template": {}}}),
            )
            .unwrap(),
        );
        assert_eq!(d.replicas(), Some(1));
        assert!(!d.scaled_to_zero());
    }

    #[test]
    fn a_deployments_revision_is_its_pod_template_unchanged() {
        // Hashes recorded in status by earlier releases must stay valid.
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"selector": {}, "template": {
                "metadata": {"labels": {"app": "p"}},
                "spec": {"containers": [{"name": "p", "image": "p:1"}]}}}
        }))
        .unwrap();
        let template = serde_json::to_value(&d.spec.template).unwrap();
        assert_eq!(Target::Deployment(d).revision_source().unwrap(), template);
    }
}
