//! Workloads: the objects serin derives from a Canary's target, as pure functions of what was
//! observed (the `<target>-primary` copy, the three Services, the `-primary` copies of tracked
//! ConfigMaps and Secrets), how ready a target is, and the adapter that applies them
//! ([`Workload`], the only part that does I/O).

mod adapter;
mod autoscaler;
mod configs;
mod knative;
mod primary;
mod readiness;
mod services;
mod target;

pub use adapter::{AdapterError, AppliedService, Workload, WorkloadSettings};
pub use autoscaler::primary_autoscaler;
pub use configs::{ConfigKind, ConfigRef, TRACKING_ANNOTATION, config_refs, rename_configs};
pub use knative::{KnativeService, PRIMARY_REVISION_ANNOTATION, RevisionShares, TrafficTarget};
pub use primary::{
    PrimaryOptions, primary_daemonset, primary_deployment, primary_workload, selector_label,
};
pub use readiness::{Readiness, daemonset_readiness, deployment_readiness};
pub use services::{ServiceInputs, service, service_copy};
pub use target::{SCALE_TO_ZERO_NODE_SELECTOR, Target, strip_allocated};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// Label keys, in order of preference, whose value names the app in selectors (Flagger's
/// `--selector-labels` default).
pub const DEFAULT_SELECTOR_LABELS: [&str; 3] = ["app", "name", "app.kubernetes.io/name"];

/// The owner reference that makes a generated object belong to its Canary, so that deleting the
/// Canary deletes it.
pub fn canary_owner(name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "flagger.app/v1beta1".into(),
        kind: "Canary".into(),
        name: name.into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Why a target cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// The target's selector has none of the selector label keys.
    #[error(
        "the target's spec.selector.matchLabels has none of the selector labels ({0}); add one, e.g. app: <name>"
    )]
    NoSelectorLabel(String),
    /// The target has no pod template spec.
    #[error("the target has no pod template")]
    NoTemplate,
    /// A kind of target the controller does not release yet.
    #[error("{0} targets are not supported yet; use a Deployment, DaemonSet or Service")]
    UnsupportedTarget(String),
}

impl WorkloadError {
    /// A low-cardinality label for metrics and condition reasons.
    pub fn category(&self) -> &'static str {
        match self {
            WorkloadError::NoSelectorLabel(_) => "no_selector_label",
            WorkloadError::NoTemplate => "no_template",
            WorkloadError::UnsupportedTarget(_) => "unsupported_target",
        }
    }
}
