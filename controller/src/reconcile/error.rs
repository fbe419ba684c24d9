//! Errors of one reconcile. Problems only the user can fix (an unreadable or invalid spec, an
//! unsupported router or target, a missing target or reference, a kind the cluster does not
//! serve, a metric check whose template, provider or Secret cannot be used) are reported on the
//! Canary by the reconcile itself ([`Error::is_for_the_user`]), which
//! then waits for a change; what reaches `error_policy` is transient and retried with a
//! per-Canary backoff, counted by `category()`. A failed metric check is a decision, not an
//! error.

use crate::routers::RouterError;
use crate::workloads::{AdapterError, WorkloadError};

/// Why a reconcile did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Canary object could not be read as a Canary.
    #[error("the Canary cannot be read: {0}")]
    Malformed(String),
    /// The spec failed validation.
    #[error("invalid spec: {0}")]
    InvalidSpec(#[from] serin_crds::validation::ValidationErrors),
    /// The target does not exist (yet).
    #[error("target {kind} {name} not found")]
    TargetMissing {
        /// Kind of the target.
        kind: &'static str,
        /// Name of the target.
        name: String,
    },
    /// The target cannot be used.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The router cannot be used.
    #[error(transparent)]
    Router(#[from] RouterError),
    /// The cluster does not serve a kind the router writes.
    #[error(
        "the cluster does not serve {api_version} {kind}: install the router's CustomResourceDefinitions"
    )]
    KindNotServed {
        /// The kind, as in `kind:`.
        kind: String,
        /// The version written.
        api_version: String,
    },
    /// A metric check cannot run as configured (its MetricTemplate, provider or Secret): only
    /// a change fixes it, so it stalls the Canary instead of counting failed checks.
    #[error("metric check {metric} cannot run: {message}")]
    MetricCheck {
        /// Name of the check.
        metric: String,
        /// What is wrong, with the provider and the query.
        message: String,
    },
    /// The Canary names a MetricTemplate or AlertProvider of another namespace, and the
    /// controller refuses those (`--no-cross-namespace-refs`, the default).
    #[error(
        "{kind} {namespace}/{name} is in another namespace than the Canary; the controller \
         refuses cross-namespace references (--no-cross-namespace-refs): copy it into the \
         Canary's namespace"
    )]
    CrossNamespaceRef {
        /// `MetricTemplate` or `AlertProvider`.
        kind: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A write to the target, its primary or its Services failed.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// An object could not be (de)serialized.
    #[error("serialization: {0}")]
    Serde(#[from] serde_json::Error),
}

impl Error {
    /// A low-cardinality label for metrics and condition reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(e) | Error::Adapter(AdapterError::Kube(e)) if is_conflict(e) => "conflict",
            Error::Malformed(_) => "malformed",
            Error::InvalidSpec(_) => "invalid_spec",
            Error::TargetMissing { .. } => "target_missing",
            Error::Workload(e) | Error::Adapter(AdapterError::Workload(e)) => e.category(),
            Error::Router(e) => e.category(),
            Error::KindNotServed { .. } => "kind_not_served",
            Error::MetricCheck { .. } => "metric_check_invalid",
            Error::CrossNamespaceRef { .. } => "cross_namespace_ref",
            Error::Adapter(e) => e.category(),
            Error::Kube(_) => "kube_api",
            Error::Serde(_) => "serialization",
        }
    }

    /// Whether only the user can fix it: reported on the Canary as `Stalled`, not retried
    /// with backoff.
    pub fn is_for_the_user(&self) -> bool {
        matches!(
            self,
            Error::Malformed(_)
                | Error::InvalidSpec(_)
                | Error::TargetMissing { .. }
                | Error::Workload(_)
                | Error::Router(_)
                | Error::KindNotServed { .. }
                | Error::MetricCheck { .. }
                | Error::CrossNamespaceRef { .. }
                | Error::Adapter(AdapterError::Workload(_))
        )
    }

    /// The `Stalled` condition's reason for an error only the user can fix.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::TargetMissing { .. } => "TargetNotFound",
            Error::Malformed(_)
            | Error::InvalidSpec(_)
            | Error::Router(RouterError::Inexpressible { .. }) => "InvalidSpec",
            Error::Workload(_) | Error::Adapter(AdapterError::Workload(_)) => "UnsupportedTarget",
            Error::Router(RouterError::Unsupported(_)) => "UnsupportedProvider",
            Error::Router(RouterError::ReferenceMissing { .. }) => "ReferenceNotFound",
            Error::KindNotServed { .. } => "RouterNotInstalled",
            Error::MetricCheck { .. } => "MetricCheckInvalid",
            Error::CrossNamespaceRef { .. } => "CrossNamespaceRefRefused",
            Error::Adapter(_) | Error::Kube(_) | Error::Serde(_) => "ReconcileError",
        }
    }

    /// A 409: another writer changed the object first; retried at once.
    pub fn is_conflict(&self) -> bool {
        match self {
            Error::Kube(e) | Error::Adapter(AdapterError::Kube(e)) => is_conflict(e),
            _ => false,
        }
    }
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// Result of a reconcile step.
pub type Result<T, E = Error> = std::result::Result<T, E>;
