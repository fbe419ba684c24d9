//! The primary workload: a copy of the target Deployment or DaemonSet named `<target>-primary`,
//! selecting its own pods, and using `-primary` copies of the tracked ConfigMaps and Secrets.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::target::{SCALE_TO_ZERO_NODE_SELECTOR, Target};
use super::{ConfigRef, WorkloadError, canary_owner, rename_configs};

/// How to derive the primary.
#[derive(Clone, Debug)]
pub struct PrimaryOptions<'a> {
    /// Name of the Canary.
    pub canary: &'a str,
    /// UID of the Canary.
    pub canary_uid: &'a str,
    /// Label keys that may name the app in the selector, in order of preference.
    pub selector_labels: &'a [&'a str],
    /// ConfigMaps and Secrets whose `-primary` copies the primary uses.
    pub tracked: &'a [ConfigRef],
    /// Replicas for the primary (the target's, or the autoscaler's current count).
    pub replicas: Option<i32>,
    /// Prefixes of the target's own labels copied to the primary (`*` copies all); Flagger's
    /// `-include-label-prefix`. The pod template's labels are always copied.
    pub include_label_prefixes: &'a [String],
}

/// The first selector label key present in `labels`, and its value.
pub fn selector_label<'a>(
    labels: &'a BTreeMap<String, String>,
    keys: &[&str],
) -> Option<(&'a str, &'a str)> {
    keys.iter()
        .find_map(|k| labels.get_key_value(*k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

/// The primary Deployment for `target`. The app label (`app: podinfo`) becomes
/// `app: podinfo-primary` in the selector and the pod labels; everything else in the pod
/// template is copied.
pub fn primary_deployment(
    target: &Deployment,
    o: &PrimaryOptions<'_>,
) -> Result<Deployment, WorkloadError> {
    let spec = &target.spec;
    let parts = primary_parts(&target.metadata, &spec.selector, &spec.template, o)?;
    Ok(Deployment {
        metadata: parts.metadata,
        spec: DeploymentSpec {
            replicas: o.replicas.or(spec.replicas),
            selector: parts.selector,
            template: parts.template,
            min_ready_seconds: spec.min_ready_seconds,
            progress_deadline_seconds: spec.progress_deadline_seconds,
            revision_history_limit: spec.revision_history_limit,
            strategy: spec.strategy.clone(),
            paused: None,
        },
        status: None,
    })
}

/// The primary DaemonSet for `target`, derived as for a Deployment. The scale-to-zero node
/// selector of a canary that is scaled down is not copied: the primary runs on every node.
pub fn primary_daemonset(
    target: &DaemonSet,
    o: &PrimaryOptions<'_>,
) -> Result<DaemonSet, WorkloadError> {
    let spec = &target.spec;
    let mut parts = primary_parts(&target.metadata, &spec.selector, &spec.template, o)?;
    if let Some(pod_spec) = parts.template.spec.as_mut() {
        if let Some(selector) = pod_spec.node_selector.as_mut() {
            selector.remove(SCALE_TO_ZERO_NODE_SELECTOR);
        }
        if pod_spec
            .node_selector
            .as_ref()
            .is_some_and(BTreeMap::is_empty)
        {
            pod_spec.node_selector = None;
        }
    }
    Ok(DaemonSet {
        metadata: parts.metadata,
        spec: DaemonSetSpec {
            selector: parts.selector,
            template: parts.template,
            min_ready_seconds: spec.min_ready_seconds,
            revision_history_limit: spec.revision_history_limit,
            update_strategy: spec.update_strategy.clone(),
        },
        status: None,
    })
}

/// The primary for a Deployment or DaemonSet target; a Service target has no primary workload.
pub fn primary_workload(target: &Target, o: &PrimaryOptions<'_>) -> Result<Target, WorkloadError> {
    match target {
        Target::Deployment(d) => primary_deployment(d, o).map(Target::Deployment),
        Target::DaemonSet(d) => primary_daemonset(d, o).map(Target::DaemonSet),
        Target::Service(_) | Target::Knative(_) => {
            Err(WorkloadError::UnsupportedTarget("Service".into()))
        }
    }
}

/// What a primary workload of any kind is made of.
struct PrimaryParts {
    metadata: ObjectMeta,
    selector: LabelSelector,
    template: PodTemplateSpec,
}

fn primary_parts(
    target: &ObjectMeta,
    selector: &LabelSelector,
    template: &PodTemplateSpec,
    o: &PrimaryOptions<'_>,
) -> Result<PrimaryParts, WorkloadError> {
    let name = format!("{}-primary", target.name.as_deref().unwrap_or_default());
    let match_labels = selector.match_labels.clone().unwrap_or_default();
    let (key, value) = selector_label(&match_labels, o.selector_labels)
        .ok_or_else(|| WorkloadError::NoSelectorLabel(o.selector_labels.join(", ")))?;
    let primary_value = format!("{value}-primary");
    let key = key.to_owned();

    let mut template = template.clone();
    let pod_meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    pod_meta
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(key.clone(), primary_value.clone());
    if let Some(pod_spec) = template.spec.as_mut() {
        rename_configs(pod_spec, o.tracked);
    }

    let mut labels: BTreeMap<String, String> = target
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| {
            o.include_label_prefixes
                .iter()
                .any(|p| p == "*" || k.starts_with(p.as_str()))
        })
        .collect();
    labels.insert(key.clone(), primary_value.clone());
    Ok(PrimaryParts {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: target.namespace.clone(),
            labels: Some(labels),
            annotations: target.annotations.clone().map(without_last_applied),
            owner_references: Some(vec![canary_owner(o.canary, o.canary_uid)]),
            ..ObjectMeta::default()
        },
        selector: LabelSelector {
            match_labels: Some(BTreeMap::from([(key, primary_value)])),
            match_expressions: None,
        },
        template,
    })
}

fn without_last_applied(mut annotations: BTreeMap<String, String>) -> BTreeMap<String, String> {
    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    annotations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::{ConfigKind, DEFAULT_SELECTOR_LABELS};
    use serde_json::json;

    fn podinfo() -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "podinfo", "namespace": "test", "labels": {"app": "podinfo", "team": "web"},
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "owner": "web"}},
            "spec": {
                "replicas": 3, "minReadySeconds": 5,
                "selector": {"matchLabels": {"app": "podinfo"}},
                "template": {
                    "metadata": {"labels": {"app": "podinfo", "version": "6.0"}},
                    "spec": {"containers": [{"name": "podinfo", "image": "podinfo:6.0",
                        "envFrom": [{"configMapRef": {"name": "podinfo-env"}}]}],
                        "volumes": [{"name": "cfg", "configMap": {"name": "podinfo-config"}}]}
                }
            }
        }))
        .unwrap()
    }

    fn options(tracked: &[ConfigRef]) -> PrimaryOptions<'_> {
        PrimaryOptions {
            canary: "podinfo",
            canary_uid: "uid-1",
            selector_labels: &DEFAULT_SELECTOR_LABELS,
            tracked,
            replicas: None,
            include_label_prefixes: &[],
        }
    }

    #[test]
    fn labels_with_an_included_prefix_are_copied() {
        let prefixes = ["te".to_owned()];
        let o = PrimaryOptions {
            include_label_prefixes: &prefixes,
            ..options(&[])
        };
        let labels = primary_deployment(&podinfo(), &o)
            .unwrap()
            .metadata
            .labels
            .unwrap();
        assert_eq!(labels.get("team").map(String::as_str), Some("web"));
        let all = ["*".to_owned()];
        let o = PrimaryOptions {
            include_label_prefixes: &all,
            ..options(&[])
        };
        assert_eq!(
            primary_deployment(&podinfo(), &o)
                .unwrap()
                .metadata
                .labels
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn the_primary_selects_its_own_pods_under_the_primary_name() {
        let primary = primary_deployment(&podinfo(), &options(&[])).unwrap();
        let v = serde_json::to_value(&primary).unwrap();
        assert_eq!(v["metadata"]["name"], "podinfo-primary");
        assert_eq!(
            v["metadata"]["labels"],
            json!({"app": "podinfo-primary"}),
            "without include prefixes only the selector label is set"
        );
        assert_eq!(v["metadata"]["annotations"], json!({"owner": "web"}));
        assert_eq!(
            v["spec"]["selector"],
            json!({"matchLabels": {"app": "podinfo-primary"}})
        );
        assert_eq!(
            v["spec"]["template"]["metadata"]["labels"],
            json!({"app": "podinfo-primary", "version": "6.0"})
        );
        assert_eq!(v["spec"]["replicas"], 3);
        assert_eq!(v["spec"]["minReadySeconds"], 5);
        assert_eq!(v["metadata"]["ownerReferences"][0]["kind"], "Canary");
    }

    #[test]
    fn tracked_configs_are_swapped_for_their_primary_copies() {
        let tracked = [ConfigRef {
            kind: ConfigKind::ConfigMap,
            name: "podinfo-config".into(),
        }];
        let v = serde_json::to_value(primary_deployment(&podinfo(), &options(&tracked)).unwrap())
            .unwrap();
        assert_eq!(
            v["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"],
            "podinfo-config-primary"
        );
        assert_eq!(
            v["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
            "podinfo-env",
            "not tracked"
        );
    }

    #[test]
    fn the_autoscalers_replica_count_wins() {
        let o = PrimaryOptions {
            replicas: Some(7),
            ..options(&[])
        };
        assert_eq!(
            primary_deployment(&podinfo(), &o).unwrap().spec.replicas,
            Some(7)
        );
    }

    #[test]
    fn a_selector_without_an_app_label_is_an_error() {
        let mut d = podinfo();
        d.spec.selector.match_labels = Some(BTreeMap::from([("tier".into(), "web".into())]));
        let err = primary_deployment(&d, &options(&[])).unwrap_err();
        assert_eq!(err.category(), "no_selector_label");
        assert!(
            err.to_string()
                .contains("app, name, app.kubernetes.io/name")
        );
    }

    #[test]
    fn a_daemonset_primary_selects_its_own_pods_on_every_node() {
        let agent: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "agent", "namespace": "test"},
            "spec": {
                "selector": {"matchLabels": {"name": "agent"}},
                "updateStrategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": {"name": "agent"}},
                    "spec": {"containers": [{"name": "agent", "image": "agent:2"}],
                             "nodeSelector": {SCALE_TO_ZERO_NODE_SELECTOR: "true"}}
                }
            }
        }))
        .unwrap();
        let primary = primary_daemonset(&agent, &options(&[])).unwrap();
        assert_eq!(primary.metadata.name.as_deref(), Some("agent-primary"));
        assert_eq!(
            primary.spec.selector.match_labels,
            Some(BTreeMap::from([("name".into(), "agent-primary".into())]))
        );
        let template = serde_json::to_value(&primary.spec.template).unwrap();
        assert_eq!(template["metadata"]["labels"]["name"], "agent-primary");
        assert_eq!(template["spec"]["containers"][0]["image"], "agent:2");
        assert!(
            template["spec"].get("nodeSelector").is_none(),
            "the scale-to-zero selector is not copied: {template}"
        );
        assert_eq!(
            primary
                .spec
                .update_strategy
                .and_then(|u| u.type_)
                .as_deref(),
            Some("RollingUpdate")
        );
    }
}
