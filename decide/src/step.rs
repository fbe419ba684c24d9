//! The inputs of one tick, decoded once ([`Tick`]), and the plan being built ([`Step`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serin_crds::CanaryStatus;
use serin_crds::canary::{AlertSeverity, CanaryPhase, ManualControlsStatus};
use serin_crds::validation::{Strategy, ValidCanary, Weight};

use super::conditions::{self, Hold, RECONCILING, STALLED, TRUE};
use super::decision::{Action, CheckRequest, EventKind, Plan, Routes, TrafficSplit};
use super::observations::{HookOutcome, Observations};
use super::revision::Revisions;

/// A tick either needs checks run first, or is decided.
pub(crate) type Flow = Result<(), CheckRequest>;

/// The inputs of one call to `decide`, decoded.
pub(crate) struct Tick<'a> {
    pub canary: &'a ValidCanary,
    pub prev: &'a CanaryStatus,
    pub observed: &'a Observations,
    pub now: DateTime<Utc>,
    pub phase: CanaryPhase,
    pub rev: Revisions,
    pub weight: Weight,
    pub acks: ManualControlsStatus,
}

impl<'a> Tick<'a> {
    pub(crate) fn new(
        canary: &'a ValidCanary,
        prev: &'a CanaryStatus,
        observed: &'a Observations,
        now: DateTime<Utc>,
    ) -> Tick<'a> {
        let weight = prev
            .canary_weight
            .map_or(Weight::ZERO, |w| Weight::new(w).unwrap_or(Weight::FULL))
            .min(max_weight(canary));
        Tick {
            canary,
            prev,
            observed,
            now,
            phase: prev.phase.unwrap_or_default(),
            rev: Revisions::adopt(prev, &observed.target),
            weight,
            acks: prev.manual_controls.clone().unwrap_or_default(),
        }
    }

    /// The checks' results, or a request for them when `request` is not empty.
    pub(crate) fn require(&self, request: CheckRequest) -> Flow {
        let needed = request.metrics || !request.hooks.is_empty();
        let pending = |checks: &crate::CheckResults| {
            request
                .hooks
                .iter()
                .any(|h| checks.hooks.get(&h.name) == Some(&HookOutcome::Pending))
        };
        match &self.observed.checks {
            None if needed => Err(request),
            Some(checks) if pending(checks) => Err(request),
            _ => Ok(()),
        }
    }

    /// Whether `since` lies a whole progress deadline or more in the past.
    pub(crate) fn past_deadline(&self, since: DateTime<Utc>) -> bool {
        self.now
            .signed_duration_since(since)
            .to_std()
            .unwrap_or_default()
            >= self.canary.progress_deadline
    }

    /// The hold recorded in the previous status, if one was.
    pub(crate) fn previous_hold(&self) -> Option<Hold> {
        let c = self
            .prev
            .conditions
            .as_deref()?
            .iter()
            .find(|c| c.type_ == RECONCILING)?;
        (c.status == TRUE).then(|| Hold {
            reason: c.reason.clone(),
            message: c.message.clone().unwrap_or_default(),
        })
    }

    /// The stall recorded in the previous status, if one was.
    pub(crate) fn previous_stall(&self) -> Option<Hold> {
        let c = self
            .prev
            .conditions
            .as_deref()?
            .iter()
            .find(|c| c.type_ == STALLED)?;
        (c.status == TRUE).then(|| Hold {
            reason: c.reason.clone(),
            message: c.message.clone().unwrap_or_default(),
        })
    }

    /// The reason of the previous status's condition `type_`.
    pub(crate) fn previous_reason(&self, type_: &str) -> Option<&str> {
        conditions::reason_of(self.prev.conditions.as_deref().unwrap_or_default(), type_)
    }

    /// Whether a progressive release already ran its mirrored step: recorded as one
    /// iteration, or reported by the router (a release Flagger started).
    pub(crate) fn mirrored(&self) -> bool {
        matches!(self.canary.strategy, Strategy::Progressive { .. })
            && self.canary.mirror.is_some()
            && (self.prev.iterations.unwrap_or(0) > 0
                || self
                    .observed
                    .routes
                    .live()
                    .is_some_and(|r| r.mirror.is_some()))
    }

    /// Name of the target, for messages.
    pub(crate) fn target(&self) -> &str {
        &self.canary.target.name
    }
}

/// The highest canary weight of the strategy.
pub(crate) fn max_weight(canary: &ValidCanary) -> Weight {
    match &canary.strategy {
        Strategy::Progressive { max_weight, .. } => *max_weight,
        Strategy::ABTesting { .. } | Strategy::BlueGreen { .. } => Weight::FULL,
    }
}

/// The plan under construction.
pub(crate) struct Step {
    pub status: CanaryStatus,
    pub phase: CanaryPhase,
    pub actions: Vec<Action>,
    pub requeue_after: Duration,
    pub hold: Option<Hold>,
    pub stall: Option<Hold>,
}

impl Step {
    /// Starts from the previous status, with its revisions in serin's terms.
    pub(crate) fn new(t: &Tick<'_>) -> Step {
        let mut status = t.prev.clone();
        status.last_applied_spec.clone_from(&t.rev.applied);
        status.last_promoted_spec.clone_from(&t.rev.promoted);
        status.last_attempted_spec.clone_from(&t.rev.attempted);
        if status.tracked_configs.is_some() || !t.rev.configs.is_empty() {
            status.tracked_configs = Some(t.rev.configs.clone());
        }
        status.canary_weight = Some(u32::from(t.weight.get()));
        Step {
            status,
            phase: t.phase,
            actions: Vec::new(),
            requeue_after: t.canary.interval,
            hold: None,
            stall: None,
        }
    }

    pub(crate) fn phase(&mut self, phase: CanaryPhase) {
        self.phase = phase;
    }

    /// Routes traffic with `routes`; the session-affinity cookies are added when the plan is
    /// finished, from the final status.
    pub(crate) fn set_weights(&mut self, routes: Routes) {
        self.actions
            .push(Action::SetWeights(TrafficSplit::new(routes)));
        let canary = if routes.matched_to_canary {
            Weight::ZERO
        } else {
            routes.canary
        };
        self.status.canary_weight = Some(u32::from(canary.get()));
    }

    pub(crate) fn act(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub(crate) fn event(&mut self, kind: EventKind, reason: &'static str, message: String) {
        self.actions.push(Action::Event {
            kind,
            reason,
            message,
        });
    }

    pub(crate) fn alert(&mut self, severity: AlertSeverity, message: impl Into<String>) {
        self.actions.push(Action::Alert {
            severity,
            message: message.into(),
        });
    }

    /// Holds in the current phase; returns whether the hold is new (to report it once).
    pub(crate) fn hold(&mut self, t: &Tick<'_>, reason: &str, message: impl Into<String>) -> bool {
        let new = t.previous_reason(RECONCILING) != Some(reason);
        self.hold = Some(Hold {
            reason: reason.to_owned(),
            message: message.into(),
        });
        new
    }

    /// Marks the Canary stalled; returns whether the stall is new (to alert once).
    pub(crate) fn stall(&mut self, t: &Tick<'_>, reason: &str, message: impl Into<String>) -> bool {
        let message = message.into();
        let new = t.previous_reason(STALLED) != Some(reason);
        self.hold = Some(Hold {
            reason: reason.to_owned(),
            message: message.clone(),
        });
        self.stall = Some(Hold {
            reason: reason.to_owned(),
            message,
        });
        new
    }

    /// Resets the counters of a release.
    pub(crate) fn reset_counters(&mut self) {
        self.status.failed_checks = Some(0);
        self.status.iterations = Some(0);
        self.status.canary_weight = Some(0);
        self.status.no_data_since = None;
        self.status.provider_error_since = None;
    }

    /// The plan: the status gets its phase, conditions and `observedGeneration`, and the routes
    /// their session-affinity cookies.
    pub(crate) fn finish(mut self, t: &Tick<'_>) -> Plan {
        if let Some(affinity) = &t.canary.session_affinity {
            for action in &mut self.actions {
                if let Action::SetWeights(split) = action {
                    cookies(&mut self.status, &affinity.cookie_name, split);
                }
            }
        }
        let status = &mut self.status;
        if self.phase != t.phase || status.phase.is_none() {
            status.last_transition_time = Some(t.now);
        }
        status.phase = Some(self.phase);
        status.conditions = Some(conditions::conditions(
            t.prev.conditions.as_deref().unwrap_or_default(),
            self.phase,
            t.canary.target.kind,
            self.hold.as_ref(),
            self.stall.as_ref(),
            t.now,
        ));
        if t.observed.generation.is_some() {
            status.observed_generation = t.observed.generation;
        }
        let mut acks = status.manual_controls.take().unwrap_or_default();
        acks.paused = t.observed.controls.paused().then_some(true);
        status.manual_controls = (acks != ManualControlsStatus::default()).then_some(acks);
        Plan {
            status: self.status,
            actions: self.actions,
            requeue_after: self.requeue_after,
        }
    }

    /// Acknowledges manual requests (written into `status.manualControls`).
    pub(crate) fn ack(&mut self, f: impl FnOnce(&mut ManualControlsStatus)) {
        f(self
            .status
            .manual_controls
            .get_or_insert_with(Default::default));
    }
}

/// The session-affinity cookies of `split`: while the canary gets traffic, the run's cookie (made
/// once from the revision released, and kept in status) pins users to it; once it gets none, the
/// cookie moves to `previousSessionAffinityCookie` and is expired.
fn cookies(status: &mut CanaryStatus, cookie_name: &str, split: &mut TrafficSplit) {
    if split.routes.canary.get() > 0 {
        let cookie = status.session_affinity_cookie.clone().unwrap_or_else(|| {
            let revision = status.last_applied_spec.clone().unwrap_or_default();
            let id: String = revision
                .chars()
                .rev()
                .filter(char::is_ascii_alphanumeric)
                .take(16)
                .collect();
            format!("{cookie_name}={id}")
        });
        status.session_affinity_cookie = Some(cookie.clone());
        split.sticky_cookie = Some(cookie);
    } else {
        if let Some(previous) = status.session_affinity_cookie.take() {
            status.previous_session_affinity_cookie = Some(previous);
        }
        split
            .expired_cookie
            .clone_from(&status.previous_session_affinity_cookie);
    }
}
