//! `Initialized`, `Succeeded` and `Failed`: no release runs; a new revision starts one.

use serin_crds::canary::{AlertSeverity, CanaryPhase, RevisionAnalysis};
use serin_crds::validation::{HookKind, Weight};

use super::waiting;
use crate::conditions::{event, reason};
use crate::controls::Pending;
use crate::decision::{Action, CheckRequest, EventKind, Routes};
use crate::gates;
use crate::observations::{ReleaseSlot, RouteObservation};
use crate::revision::revision_id;
use crate::step::{Flow, Step, Tick};

pub(super) fn run(t: &Tick<'_>, s: &mut Step) -> Flow {
    let target = &t.observed.target;
    if t.phase == CanaryPhase::Failed
        && let Some(id) = Pending::new(&t.observed.controls, &t.acks).retry
    {
        if queued(t, s) {
            return Ok(());
        }
        t.require(confirm_rollout_request(t))?;
        s.ack(|a| a.retry = Some(id.to_owned()));
        s.event(
            EventKind::Normal,
            event::RETRY_REQUESTED,
            format!("Retrying the release of {} ({id})", t.target()),
        );
        start(t, s);
        return Ok(());
    }
    if !t.rev.changed(target) {
        restore_routes(t, s);
        return Ok(());
    }
    if t.rev.is_promoted(target) {
        restore_routes(t, s);
        record_observed(t, s);
        if t.phase == CanaryPhase::Failed {
            s.phase(CanaryPhase::Initialized);
            s.event(
                EventKind::Normal,
                event::REVERTED,
                format!(
                    "{} reverted to the promoted revision; nothing to release",
                    t.target()
                ),
            );
        }
        return Ok(());
    }
    if queued(t, s) {
        return Ok(());
    }
    t.require(confirm_rollout_request(t))?;
    start(t, s);
    Ok(())
}

/// Holds a release that has no slot (`--max-concurrent-releases`): nothing is recorded, so the
/// next tick finds the revision new again. Reported once.
fn queued(t: &Tick<'_>, s: &mut Step) -> bool {
    let ReleaseSlot::Full {
        releasing,
        limit,
        ahead,
    } = t.observed.release_slot
    else {
        return false;
    };
    let message = format!(
        "A new revision of {} waits for a release slot: {releasing} of {limit} releases are in progress (--max-concurrent-releases), {ahead} waiting ahead",
        t.target()
    );
    if s.hold(t, reason::RELEASE_QUEUED, message.clone()) {
        s.event(EventKind::Normal, event::RELEASE_QUEUED, message);
    }
    true
}

/// Outside a release every request goes to the primary: live routes that send any to the canary
/// (changed by hand, or by another tool), or routes deleted, are set back.
fn restore_routes(t: &Tick<'_>, s: &mut Step) {
    let message = match &t.observed.routes {
        RouteObservation::Live { routes, .. }
            if routes.canary != Weight::ZERO
                || routes.mirror.is_some()
                || routes.matched_to_canary =>
        {
            format!(
                "The routes of {} sent {}% of the traffic to the canary outside a release; all traffic is routed to the primary again",
                t.target(),
                routes.canary.get()
            )
        }
        RouteObservation::Missing => format!(
            "The routes of {} were missing; they are applied again with all traffic to the primary",
            t.target()
        ),
        RouteObservation::Live { .. }
        | RouteObservation::Pending { .. }
        | RouteObservation::Rejected { .. } => return,
    };
    s.set_weights(Routes::all_primary());
    s.event(EventKind::Warning, event::ROUTES_RESTORED, message);
}

/// The `confirm-rollout` hooks, asked before a release starts.
pub(super) fn confirm_rollout_request(t: &Tick<'_>) -> CheckRequest {
    CheckRequest {
        hooks: gates::hooks(t.canary, HookKind::ConfirmRollout),
        metrics: false,
    }
}

/// Records the observed target as the revision last seen.
pub(super) fn record_observed(t: &Tick<'_>, s: &mut Step) {
    let target = &t.observed.target;
    s.status.last_applied_spec = Some(target.template.clone());
    s.status.tracked_configs = (!target.configs.is_empty()).then(|| target.configs.clone());
}

/// Starts a release of the observed revision: through the `confirm-rollout` gate, whose
/// outcome the tick holds.
pub(super) fn start(t: &Tick<'_>, s: &mut Step) {
    record_release(t, s);
    if gates::all_passed(t, HookKind::ConfirmRollout) {
        begin_progressing(t, s);
    } else {
        waiting::hold(t, s);
    }
}

/// Records the observed revision as the one released, with fresh counters; its first step
/// comes one interval later.
pub(super) fn record_release(t: &Tick<'_>, s: &mut Step) {
    record_observed(t, s);
    let id = revision_id(&t.observed.target);
    s.status.last_attempted_spec = Some(id.clone());
    s.status.analysis = Some(RevisionAnalysis {
        revision: Some(id),
        ..RevisionAnalysis::default()
    });
    s.reset_counters();
    s.status.last_analysis_time = Some(t.now);
}

/// `Progressing`: the canary is scaled up; analysis starts one interval later.
pub(super) fn begin_progressing(t: &Tick<'_>, s: &mut Step) {
    s.act(Action::ScaleCanaryUp);
    s.phase(CanaryPhase::Progressing);
    s.event(
        EventKind::Normal,
        event::SYNCED,
        format!("New revision detected! Scaling up {}", t.target()),
    );
    s.alert(
        AlertSeverity::Info,
        "New revision detected, progressing canary analysis.",
    );
}
