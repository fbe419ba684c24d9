//! What the reconcile loop saw this tick: the input of [`decide`](super::decide) besides the
//! spec and the status.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serin_crds::canary::MetricResult;

use super::decision::{Routes, ServiceRole};

/// Everything the reconcile loop observed about one Canary in one tick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observations {
    /// `metadata.generation` of the Canary.
    pub generation: Option<i64>,
    /// The revision the target workload runs now.
    pub target: TargetRevision,
    /// Readiness of the primary workload. A primary whose controller has not yet observed its
    /// latest spec (`status.observedGeneration` behind `metadata.generation`) is not ready.
    pub primary: Readiness,
    /// Readiness of the canary (target) workload. A workload scaled to zero is not ready.
    pub canary: Readiness,
    /// What the router reports of the routes.
    pub routes: RouteObservation,
    /// The generated Services compared with what serin applies; empty when none are tracked
    /// (a Service target, or before the watch caches have synced).
    pub services: Vec<(ServiceRole, Generated)>,
    /// Serin's finalizer is on the Canary.
    pub finalizer: bool,
    /// Results of the checks a [`Decision::RunChecks`](super::Decision::RunChecks) asked for,
    /// run in this same reconcile; `None` until then.
    pub checks: Option<CheckResults>,
    /// Manual requests found in the Canary's `serin.dev/*` annotations.
    pub controls: ManualControls,
    /// `metadata.deletionTimestamp` is set: the Canary is being deleted.
    pub deleting: bool,
    /// Whether a new release may start now (`--max-concurrent-releases`).
    pub release_slot: ReleaseSlot,
}

/// Whether a Canary outside a release may start one, under the controller's bound on
/// concurrent releases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReleaseSlot {
    /// No bound, or one is free for this Canary.
    #[default]
    Free,
    /// Every slot is taken: the release waits, in the order the Canaries started waiting.
    Full {
        /// Releases in progress.
        releasing: usize,
        /// The bound.
        limit: usize,
        /// Canaries that started waiting before this one.
        ahead: usize,
    },
}

/// Identity of the target's revision: its pod template and the configs it uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetRevision {
    /// [`template_hash`](super::revision::template_hash) of the target's pod template.
    pub template: String,
    /// [`config_checksum`](super::revision::config_checksum) of each tracked ConfigMap and
    /// Secret, keyed by `kind/name`.
    pub configs: BTreeMap<String, String>,
}

/// What the router reports of the routes it manages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteObservation {
    /// The routes hold this split, and traffic follows them: the router's controller reported
    /// them accepted for their current generation, or (`confirmed: false`) the router reports
    /// no status and the spec is taken as live.
    Live {
        /// The split the routes hold.
        routes: Routes,
        /// Whether the router's controller confirmed it.
        confirmed: bool,
    },
    /// The routes exist but their controller has not taken the current generation yet.
    Pending {
        /// Why, for a person.
        reason: String,
    },
    /// The routes' controller refused them, or accepted them only in part.
    Rejected {
        /// Why, for a person.
        reason: String,
    },
    /// A routing object serin writes does not exist.
    Missing,
}

impl Default for RouteObservation {
    fn default() -> Self {
        RouteObservation::Live {
            routes: Routes::all_primary(),
            confirmed: true,
        }
    }
}

impl RouteObservation {
    /// The split the routes hold, when they are live.
    pub fn live(&self) -> Option<Routes> {
        match self {
            RouteObservation::Live { routes, .. } => Some(*routes),
            RouteObservation::Pending { .. }
            | RouteObservation::Rejected { .. }
            | RouteObservation::Missing => None,
        }
    }
}

/// A generated object as observed, compared with what serin applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Generated {
    /// It holds what serin applies (other fields may be added by others).
    #[default]
    InSync,
    /// Someone changed a field serin sets since serin last applied it.
    Drifted,
    /// It does not exist (someone deleted it after serin applied it).
    Missing,
    /// Not known: the watch cache has not yet seen serin's last write.
    Unknown,
}

/// Whether a workload serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Readiness {
    /// Enough pods are available (the ready threshold is met).
    #[default]
    Ready,
    /// The workload does not exist (a primary before it is created).
    Missing,
    /// Not enough pods are available.
    NotReady {
        /// Since when the workload has been progressing without becoming ready, when known
        /// (for a Deployment, its `Progressing` condition's last update).
        since: Option<DateTime<Utc>>,
    },
    /// The workload reported that it exceeded its progress deadline
    /// (`Progressing=False`, `ProgressDeadlineExceeded`).
    DeadlineExceeded,
}

/// Outcome of one webhook call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookOutcome {
    /// The hook answered 2xx.
    Passed,
    /// The hook answered otherwise, timed out or could not be reached (after its retries).
    Failed,
    /// The call has not ended yet. The tick waits: [`decide`](crate::decide) asks for the
    /// checks again instead of acting on a partial answer.
    Pending,
}

/// Answers to a [`CheckRequest`](super::CheckRequest).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckResults {
    /// Outcome of each hook called, by hook name. A requested hook missing here failed.
    pub hooks: BTreeMap<String, HookOutcome>,
    /// Result of each metric check run. A requested metric missing here counts as
    /// [`MetricOutcome::Error`](serin_crds::canary::MetricOutcome::Error).
    pub metrics: Vec<MetricResult>,
    /// One window of each metric with a `comparison`. A compared metric missing here counts
    /// as a provider error.
    pub comparisons: Vec<ComparisonObservation>,
}

/// The counts of one compared metric over one window: from the end of the last window
/// counted (`status.analysis.comparisons[].windowEnd`) to `window_end`.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonObservation {
    /// Name of the metric check.
    pub name: String,
    /// The window's end: the next window starts here once this one is counted.
    pub window_end: DateTime<Utc>,
    /// The counts, or why there are none.
    pub counts: ComparisonCounts,
}

/// What counting one window gave.
#[derive(Clone, Debug, PartialEq)]
pub enum ComparisonCounts {
    /// The four counts. A window without requests in an arm is no data.
    Counted(serin_judge::Window),
    /// The provider did not give counts (unreachable, an answer that is not a count, ...):
    /// the window is not spent.
    ProviderError(String),
}

/// Values of the manual-control annotations on the Canary.
///
/// `serin.dev/abort`, `serin.dev/promote` and `serin.dev/retry` are one-shot requests whose
/// value identifies the request (any non-empty text, for example a timestamp): a value is
/// acted on once and echoed in `status.manualControls`. `serin.dev/pause` is a switch: `true`
/// pauses, anything else or no annotation resumes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManualControls {
    /// Value of `serin.dev/abort`.
    pub abort: Option<String>,
    /// Value of `serin.dev/promote`.
    pub promote: Option<String>,
    /// Value of `serin.dev/retry`.
    pub retry: Option<String>,
    /// Value of `serin.dev/pause`.
    pub pause: Option<String>,
}

impl Observations {
    /// The outcome of the hook `name`, when checks were run.
    pub(crate) fn hook(&self, name: &str) -> Option<HookOutcome> {
        self.checks
            .as_ref()
            .map(|c| c.hooks.get(name).copied().unwrap_or(HookOutcome::Failed))
    }
}
