//! What [`decide`](super::decide) returns: the next status and the actions that get there, as
//! data for the executor.

use std::time::Duration;

use serin_crds::canary::{AlertSeverity, CanaryStatus};
use serin_crds::validation::{HookKind, Weight};

/// The outcome of one call to [`decide`](super::decide).
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Run these checks now and call `decide` again, with the same inputs and `now`, and the
    /// results in [`Observations::checks`](super::Observations::checks). Nothing is written.
    RunChecks(CheckRequest),
    /// Execute the actions in order, then write the status once and requeue.
    Act(Box<Plan>),
}

impl Decision {
    /// The plan, when the decision is one.
    pub fn plan(&self) -> Option<&Plan> {
        match self {
            Decision::Act(plan) => Some(plan),
            Decision::RunChecks(_) => None,
        }
    }
}

/// The checks a tick needs before it can be decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckRequest {
    /// Hooks to call, in spec order; their answers are the gates' and tests' outcomes.
    pub hooks: Vec<HookCall>,
    /// Run every metric check of the spec.
    pub metrics: bool,
}

/// One webhook to call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookCall {
    /// Name of the hook in the spec.
    pub name: String,
    /// Its kind, which is also the phase sent in its payload.
    pub kind: HookKind,
}

/// The executor's work for one tick.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The status to write (once, after the actions).
    pub status: CanaryStatus,
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// When to reconcile again at the latest.
    pub requeue_after: Duration,
}

impl Plan {
    /// The last weights set in this plan, when it sets any.
    pub fn weights(&self) -> Option<Routes> {
        self.actions.iter().rev().find_map(|a| match a {
            Action::SetWeights(split) => Some(split.routes),
            _ => None,
        })
    }

    /// Whether the plan contains `action`.
    pub fn has(&self, action: &Action) -> bool {
        self.actions.contains(action)
    }
}

/// One thing for the executor to do.
///
/// Writes to the cluster come first, in order; then the executor writes the status; then it
/// sends what only announces the tick ([`Action::is_announcement`]: events, alerts, hooks whose
/// outcome does not matter), so that a slow chat service cannot delay the status and a failed
/// status write does not announce twice.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Put serin's finalizer on the Canary (`revertOnDeletion`), so that the target is restored
    /// before the Canary goes away.
    AddFinalizer,
    /// Create the primary: a copy of the target (its `-primary` workload, configs and autoscaler;
    /// for a Service target, its `-primary` Service).
    ApplyPrimary,
    /// Apply these generated Services, in order. For a Service target only `Canary` applies: its
    /// `-canary` copy.
    ApplyServices(Vec<ServiceRole>),
    /// Scale the canary up from zero (and resume its autoscaler).
    ScaleCanaryUp,
    /// Scale the canary to zero (and pause its autoscaler).
    ScaleCanaryToZero,
    /// Route traffic this way.
    SetWeights(TrafficSplit),
    /// Copy the canary's pod template and configs to the primary.
    PromoteSpecToPrimary,
    /// Call these hooks without waiting for their outcome (`post-rollout`).
    CallHooks(Vec<HookCall>),
    /// Record a Kubernetes event on the Canary, and send it to the `event` hooks.
    Event {
        /// `Normal` or `Warning`.
        kind: EventKind,
        /// CamelCase reason.
        reason: &'static str,
        /// What happened.
        message: String,
    },
    /// Send an alert to the Canary's alert providers.
    Alert {
        /// How serious.
        severity: AlertSeverity,
        /// What happened.
        message: String,
    },
    /// Restore the target as it was before the Canary (`revertOnDeletion`).
    RevertTarget,
    /// Remove serin's finalizer so that the deletion completes (after the status is written).
    FinalizeDeletion,
}

impl Action {
    /// Whether the action only tells others about the tick (sent after the status is written).
    pub fn is_announcement(&self) -> bool {
        matches!(
            self,
            Action::Event { .. } | Action::Alert { .. } | Action::CallHooks(_)
        )
    }
}

/// The Services serin generates for a Deployment or DaemonSet target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceRole {
    /// `<name>-primary`: selects the primary pods.
    Primary,
    /// `<name>-canary`: selects the canary pods.
    Canary,
    /// `<name>`: the Service clients use, selecting the primary pods.
    Apex,
}

/// The routes to put in place: the weights, and the session-affinity cookies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficSplit {
    /// The weights.
    pub routes: Routes,
    /// During a run with session affinity: the `name=value` cookie that pins users to the canary.
    pub sticky_cookie: Option<String>,
    /// After a run with session affinity: the previous run's cookie, to be expired.
    pub expired_cookie: Option<String>,
}

impl TrafficSplit {
    /// `routes`, without cookies.
    pub fn new(routes: Routes) -> Self {
        TrafficSplit {
            routes,
            sticky_cookie: None,
            expired_cookie: None,
        }
    }
}

/// Kubernetes event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Routine progress.
    Normal,
    /// Something went wrong.
    Warning,
}

/// How traffic is split between primary and canary. The two weights always sum to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Routes {
    /// Share of traffic to the primary.
    pub primary: Weight,
    /// Share of traffic to the canary.
    pub canary: Weight,
    /// Share of requests copied to the canary, when mirroring.
    pub mirror: Option<Weight>,
    /// A/B testing: requests that match the spec's `match` go to the canary, the rest to the
    /// primary (the weights then apply to the matching requests).
    pub matched_to_canary: bool,
}

impl Routes {
    /// All traffic to the primary.
    pub fn all_primary() -> Routes {
        Routes::split(Weight::ZERO)
    }

    /// `canary` to the canary, the rest to the primary.
    pub fn split(canary: Weight) -> Routes {
        Routes {
            primary: canary.complement(),
            canary,
            mirror: None,
            matched_to_canary: false,
        }
    }

    /// All traffic to the primary, and `percent` of requests copied to the canary.
    pub fn mirrored(percent: Weight) -> Routes {
        Routes {
            mirror: Some(percent),
            ..Routes::all_primary()
        }
    }

    /// A/B testing: matching requests to the canary, the rest to the primary.
    pub fn ab_testing() -> Routes {
        Routes {
            matched_to_canary: true,
            ..Routes::split(Weight::FULL)
        }
    }
}
