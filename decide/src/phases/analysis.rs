//! `Progressing` and `WaitingPromotion`: one analysis step per interval. Checks run, failures
//! count toward the threshold, and traffic advances only after a step whose checks all passed.

use serin_crds::canary::{AlertSeverity, CanaryPhase};
use serin_crds::validation::{HookKind, Strategy};

use super::idle::{record_observed, record_release};
use super::{Rollback, interval_elapsed, promote_now, rollback};
use crate::conditions::reason;
use crate::decision::{Action, CheckRequest, EventKind, Routes};
use crate::gates::{self, Verdict};
use crate::observations::Readiness;
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

/// Counts a failed step, holds on missing data, and returns whether traffic may advance.
fn judge(t: &Tick<'_>, s: &mut Step, verdict: &Verdict) -> bool {
    if !verdict.failures.is_empty() {
        let failed = t.prev.failed_checks.unwrap_or(0).saturating_add(1);
        s.status.failed_checks = Some(failed);
        s.status.no_data_since = None;
        s.event(
            EventKind::Warning,
            "CheckFailed",
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

/// For progressive releases, the router must report the weights last set before they are
/// judged; otherwise they are set again.
fn routes_live(t: &Tick<'_>, s: &mut Step) -> bool {
    let (Strategy::Progressive { .. }, Some(live)) = (&t.canary.strategy, t.observed.routes) else {
        return true;
    };
    if live.canary == t.weight && !live.matched_to_canary {
        return true;
    }
    let mut wanted = Routes::split(t.weight);
    wanted.mirror = t
        .canary
        .mirror
        .filter(|_| t.weight.get() == 0 && t.mirrored())
        .map(|m| m.percent);
    s.set_weights(wanted);
    s.hold(
        t,
        reason::ROUTES_PENDING,
        format!(
            "Waiting for the router to route {} to the canary.",
            t.weight
        ),
    );
    s.requeue_after = t.canary.interval.min(std::time::Duration::from_secs(5));
    false
}

/// A new revision during analysis: back to weight 0, and the analysis starts over.
fn restart(t: &Tick<'_>, s: &mut Step) {
    s.set_weights(Routes::all_primary());
    record_release(t, s);
    s.phase(CanaryPhase::Progressing);
    s.event(
        EventKind::Normal,
        "Synced",
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
        "Reverted",
        format!(
            "{} reverted to the promoted revision; release abandoned",
            t.target()
        ),
    );
}
