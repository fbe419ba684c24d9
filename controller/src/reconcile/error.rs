//! Errors of one reconcile. Problems only the user can fix (an unreadable or invalid spec, an
//! unsupported router or target, a missing target, a metric check whose template, provider or
//! Secret cannot be used) are reported as a `Stalled` condition by the reconcile itself; what reaches `error_policy` is transient and retried, counted by
//! `category()`. A failed metric check is a decision, not an error.

use crate::routers::RouterError;
use crate::workloads::WorkloadError;

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
    /// A metric check cannot run as configured (its MetricTemplate, provider or Secret): only
    /// a change fixes it, so it stalls the Canary instead of counting failed checks.
    #[error("metric check {metric} cannot run: {message}")]
    MetricCheck {
        /// Name of the check.
        metric: String,
        /// What is wrong, with the provider and the query.
        message: String,
    },
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
            Error::Malformed(_) => "malformed",
            Error::InvalidSpec(_) => "invalid_spec",
            Error::TargetMissing { .. } => "target_missing",
            Error::Workload(e) => e.category(),
            Error::Router(e) => e.category(),
            Error::MetricCheck { .. } => "metric_check_invalid",
            Error::Kube(_) => "kube_api",
            Error::Serde(_) => "serialization",
        }
    }
}

/// Result of a reconcile step.
pub type Result<T, E = Error> = std::result::Result<T, E>;
