//! The decide step: the canary state machine as one pure function. No client, no clock, no I/O.
//!
//! [`decide`] takes the validated spec, the Canary's status, what the reconcile loop observed
//! this tick, and `now`; it returns a [`Decision`]: the next status and the actions that get
//! there, as data for the executor.
//!
//! # Protocol for the reconcile loop
//!
//! 1. Observe the cheap things: the target's revision ([`revision::template_hash`] of its pod
//!    template, [`revision::config_checksum`] of each tracked config), workload readiness, live
//!    weights, the `serin.dev/*` annotations ([`ManualControls::from_annotations`]), deletion and
//!    `metadata.generation`. Leave [`Observations::checks`] at `None`.
//! 2. Call [`decide`]. When it returns [`Decision::RunChecks`], call the hooks and run the metric
//!    checks it lists, put their results in [`Observations::checks`], and call [`decide`] again
//!    with the same status and `now`. The second call asks again only when a hook it asked for
//!    is still running ([`HookOutcome::Pending`]): the tick then does nothing and the loop
//!    looks again shortly, with a new call to [`decide`].
//! 3. Execute the [`Plan`]'s actions in order, write its status once, and requeue after
//!    [`Plan::requeue_after`]. Every [`Action::Event`] also goes to the `event` hooks.
//!
//! Analysis steps are paced by `status.lastAnalysisTime`, not by how often the loop runs: a
//! reconcile triggered early (by a watch event) waits for the rest of the interval. Alerts and
//! events come with transitions, so a tick that changes nothing emits none.

mod comparison;
mod conditions;
mod controls;
mod decision;
mod gates;
mod observations;
mod phases;
pub mod revision;
mod step;
mod strategy;

#[cfg(test)]
mod tests;

pub use conditions::kind_name;
pub use conditions::{FALSE, PROMOTED, READY, RECONCILING, STALLED, TRUE, UNKNOWN, event, reason};
pub use controls::{ABORT_ANNOTATION, PAUSE_ANNOTATION, PROMOTE_ANNOTATION, RETRY_ANNOTATION};
pub use decision::{
    Action, CheckRequest, Decision, EventKind, HookCall, Plan, Routes, ServiceRole, TrafficSplit,
};
pub use observations::{
    CheckResults, ComparisonCounts, ComparisonObservation, Generated, HookOutcome, ManualControls,
    Observations, Readiness, ReleaseSlot, RouteObservation, TargetRevision,
};

use chrono::{DateTime, Utc};
use serin_crds::CanaryStatus;
use serin_crds::validation::ValidCanary;

use step::{Step, Tick};

/// Decides the next step of a Canary. Pure: the same inputs always give the same decision.
pub fn decide(
    canary: &ValidCanary,
    status: &CanaryStatus,
    observed: &Observations,
    now: DateTime<Utc>,
) -> Decision {
    let tick = Tick::new(canary, status, observed, now);
    let mut step = Step::new(&tick);
    match phases::run(&tick, &mut step) {
        Ok(()) => Decision::Act(Box::new(step.finish(&tick))),
        Err(request) => Decision::RunChecks(request),
    }
}
