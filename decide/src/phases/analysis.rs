//! `Progressing` and `WaitingPromotion`: one analysis step per interval. Checks run, failures
//! count toward the threshold, and traffic advances only after a step whose checks all passed.

use serin_crds::canary::{AlertSeverity, CanaryPhase};
use serin_crds::validation::{HookKind, Strategy};

use super::idle::{record_observed, record_release};
use super::{Rollback, interval_elapsed, promote_now, rollback};
use crate::conditions::{event, reason};
use crate::decision::{Action, CheckRequest, EventKind, Routes};
use crate::gates::{self, Verdict};
use crate::observations::Readiness;
use crate::observations::RouteObservation;
use crate::step::{Flow, Step, Tick};
use crate::strategy::{self, Next};

pub(super) fn run(t: &Tick<'_>, s: &mut Step) -> Flow {
    let target = &t.observed.target;
    // A target back on the promoted revision abandons the release; checked only once the target
    // has left the release's revision, since a release of changed configs alone runs the
    // promoted template.
    if !t.rev.is_attempted(target) {
        if t.rev.is_promoted(target) {
            abandon(t, s);
        } else {
            restart(t, s);
        }
        return Ok(());
    }
    if !interval_elapsed(t, s) {
        return Ok(());
    }
    if !workloads_ready(t, s) {
        return Ok(());
    }
    if t.canary.skip_analysis {
        promote_now(t, s);
        return Ok(());
    }
    if !routes_live(t, s) {
        return Ok(());
    }
    let next = strategy::next(t);
    let first_step = is_first_step(t);
    t.require(request(t, first_step, next))?;
    s.status.last_analysis_time = Some(t.now);
    if let Some(hook) = gates::first_passed(t, HookKind::Rollback) {
        rollback(t, s, &Rollback::Hook(hook));
        return Ok(());
    }
    let verdict = gates::verdict(t, first_step);
    if !first_step {
        s.status.analysis = Some(gates::analysis(t, &verdict));
    }
    if !judge(t, s, &verdict) {
        return Ok(());
    }
    strategy::advance(t, s, next);
    Ok(())
}

fn is_first_step(t: &Tick<'_>) -> bool {
    t.phase == CanaryPhase::Progressing
        && t.weight.get() == 0
        && t.prev.iterations.unwrap_or(0) == 0
        && !t.mirrored()
}

fn request(t: &Tick<'_>, first_step: bool, next: Next) -> CheckRequest {
    let mut hooks = gates::hooks(t.canary, HookKind::Rollback);
    if first_step {
        hooks.extend(gates::hooks(t.canary, HookKind::PreRollout));
    } else {
        hooks.extend(gates::hooks(t.canary, HookKind::Rollout));
    }
    match next {
        Next::Increase(_) => hooks.extend(gates::hooks(t.canary, HookKind::ConfirmTrafficIncrease)),
        Next::Promote { gated: true } | Next::SwitchAll => {
            hooks.extend(gates::hooks(t.canary, HookKind::ConfirmPromotion));
        }
        Next::Mirror(_) | Next::Iterate(_) | Next::Promote { gated: false } => {}
    }
    CheckRequest {
        hooks,
        metrics: !first_step && !t.canary.metrics.is_empty(),
    }
}

/// Rolls back on the comparison's verdict, counts a failed step, holds on missing data or a
/// provider error, and returns whether traffic may advance.
fn judge(t: &Tick<'_>, s: &mut Step, verdict: &Verdict) -> bool {
    for (metric, why) in &verdict.evidence_resets {
        s.event(
            EventKind::Warning,
            event::COMPARISON_EVIDENCE_RESET,
            format!(
                "The evidence of metric {metric} in status could not be read back ({why}); it starts again from zero"
            ),
        );
    }
    if let Some((metric, explanation)) = &verdict.comparison_rollback {
        rollback(
            t,
            s,
            &Rollback::Comparison {
                metric: metric.clone(),
                explanation: explanation.clone(),
            },
        );
        return false;
    }
    if !verdict.failures.is_empty() {
        let failed = t.prev.failed_checks.unwrap_or(0).saturating_add(1);
        s.status.failed_checks = Some(failed);
        s.status.no_data_since = None;
        s.status.provider_error_since = None;
        s.event(
            EventKind::Warning,
            event::CHECK_FAILED,
            format!(
                "Halt {} advancement: {}",
                t.target(),
                verdict.failures.join("; ")
            ),
        );
        if failed >= t.canary.threshold {
            rollback(t, s, &Rollback::Threshold(failed));
        }
        return false;
    }
    if !verdict.provider_errors.is_empty() {
        let since = t.prev.provider_error_since.unwrap_or(t.now);
        if t.past_deadline(since) {
            rollback(
                t,
                s,
                &Rollback::ProviderErrorDeadline(verdict.provider_errors.clone()),
            );
            return false;
        }
        s.status.provider_error_since = Some(since);
        let message = format!(
            "Provider error, holding the weight: {}.",
            verdict.provider_errors.join("; ")
        );
        if s.hold(t, reason::PROVIDER_ERROR, message.clone()) {
            s.event(EventKind::Warning, reason::PROVIDER_ERROR, message);
        }
        return false;
    }
    s.status.provider_error_since = None;
    if !verdict.no_data.is_empty() {
        let since = t.prev.no_data_since.unwrap_or(t.now);
        if t.past_deadline(since) {
            rollback(t, s, &Rollback::NoDataDeadline(verdict.no_data.clone()));
            return false;
        }
        s.status.no_data_since = Some(since);
        let message = format!(
            "No data for metric {}; holding the weight.",
            verdict.no_data.join(", ")
        );
        if s.hold(t, reason::NO_DATA, message.clone()) {
            s.event(EventKind::Normal, reason::NO_DATA, message);
        }
        return false;
    }
    s.status.no_data_since = None;
    true
}

/// Both workloads must be ready for a step; a canary that is not ready within the progress
/// deadline is rolled back.
fn workloads_ready(t: &Tick<'_>, s: &mut Step) -> bool {
    if t.observed.primary != Readiness::Ready {
        s.hold(
            t,
            reason::PRIMARY_NOT_READY,
            "Waiting for the primary to become ready.",
        );
        return false;
    }
    let exceeded = match t.observed.canary {
        Readiness::Ready => return true,
        Readiness::DeadlineExceeded => true,
        Readiness::Missing => false,
        Readiness::NotReady { since } => since.is_some_and(|since| t.past_deadline(since)),
    };
    if exceeded {
        rollback(t, s, &Rollback::ProgressDeadline);
    } else {
        s.hold(
            t,
            reason::CANARY_NOT_READY,
            "Waiting for the canary to become ready.",
        );
    }
    false
}

/// A step's analysis counts only while the routes are live with the split serin set. Until
/// then the release holds at its weight (setting the split again when the routes hold another or
/// are missing), with a condition and an event saying why; a hold that lasts a whole progress
/// deadline rolls the release back with that reason.
fn routes_live(t: &Tick<'_>, s: &mut Step) -> bool {
    let Some(expected) = expected_routes(t) else {
        return true;
    };
    let (reason, kind, message, reapply) = match &t.observed.routes {
        RouteObservation::Live { routes, .. } if consistent(t, *routes, expected) => {
            s.status.routes_pending_since = None;
            return true;
        }
        RouteObservation::Live { routes, .. } => (
            reason::ROUTES_PENDING,
            EventKind::Normal,
            format!(
                "Waiting for the router to route {} to the canary (the routes send it {}).",
                expected.canary, routes.canary
            ),
            true,
        ),
        RouteObservation::Missing => (
            reason::ROUTES_PENDING,
            EventKind::Warning,
            "The routing object is missing; it is applied again.".to_owned(),
            true,
        ),
        RouteObservation::Pending { reason } => (
            reason::ROUTES_PENDING,
            EventKind::Normal,
            format!("Waiting for the routes to go live: {reason}."),
            false,
        ),
        RouteObservation::Rejected { reason } => (
            reason::ROUTES_REJECTED,
            EventKind::Warning,
            format!("The routes were not accepted: {reason}."),
            false,
        ),
    };
    let since = t.prev.routes_pending_since.unwrap_or(t.now);
    if t.past_deadline(since) {
        rollback(t, s, &Rollback::RoutesNotLive(message));
        return false;
    }
    s.status.routes_pending_since = Some(since);
    if reapply {
        s.set_weights(expected);
    }
    if s.hold(t, reason, message.clone()) {
        s.event(kind, reason, message);
    }
    s.requeue_after = t.canary.interval.min(std::time::Duration::from_secs(5));
    false
}

/// The split the routes should hold at this point of the release; `None` when the router
/// cannot split traffic (blue/green with plain Services), so there is nothing to check.
pub(crate) fn expected_routes(t: &Tick<'_>) -> Option<Routes> {
    if !t
        .canary
        .provider
        .is_none_or(|p| serin_crds::routing::capabilities(p).weighted)
    {
        return None;
    }
    let iterations = t.prev.iterations.unwrap_or(0);
    Some(match &t.canary.strategy {
        Strategy::Progressive { .. } => {
            let mut routes = Routes::split(t.weight);
            routes.mirror = t
                .canary
                .mirror
                .filter(|_| t.weight.get() == 0 && t.mirrored())
                .map(|m| m.percent);
            routes
        }
        Strategy::ABTesting { .. } if iterations > 0 => Routes::ab_testing(),
        Strategy::BlueGreen { iterations: n } if iterations > *n => {
            Routes::split(serin_crds::validation::Weight::FULL)
        }
        Strategy::BlueGreen { .. } if iterations > 0 => t
            .canary
            .mirror
            .map_or_else(Routes::all_primary, |m| Routes::mirrored(m.percent)),
        Strategy::ABTesting { .. } | Strategy::BlueGreen { .. } => Routes::all_primary(),
    })
}

/// Whether the live split is the one expected, as far as the strategy cares: the weights and
/// mirroring for progressive and blue/green releases, the routing of matching requests for A/B.
fn consistent(t: &Tick<'_>, live: Routes, expected: Routes) -> bool {
    match t.canary.strategy {
        Strategy::ABTesting { .. } => live.matched_to_canary == expected.matched_to_canary,
        Strategy::Progressive { .. } | Strategy::BlueGreen { .. } => {
            // The routes one step ahead are the move of a tick whose status write failed: the
            // step is judged and made again, rather than moving traffic back first.
            let ahead = matches!(strategy::next(t), Next::Increase(w) if w == live.canary);
            (live.canary == expected.canary || ahead)
                && !live.matched_to_canary
                && live.mirror.is_some() == expected.mirror.is_some()
        }
    }
}

/// A new revision during analysis: back to weight 0, and the analysis starts over.
fn restart(t: &Tick<'_>, s: &mut Step) {
    s.set_weights(Routes::all_primary());
    record_release(t, s);
    s.phase(CanaryPhase::Progressing);
    s.event(
        EventKind::Normal,
        event::SYNCED,
        format!(
            "New revision detected! Restarting analysis for {}",
            t.target()
        ),
    );
    s.alert(
        AlertSeverity::Info,
        "New revision detected, restarting canary analysis.",
    );
}

/// The target went back to the promoted revision: the release is abandoned.
fn abandon(t: &Tick<'_>, s: &mut Step) {
    s.set_weights(Routes::all_primary());
    s.act(Action::ScaleCanaryToZero);
    record_observed(t, s);
    s.reset_counters();
    s.phase(CanaryPhase::Initialized);
    s.event(
        EventKind::Normal,
        event::REVERTED,
        format!(
            "{} reverted to the promoted revision; release abandoned",
            t.target()
        ),
    );
}
