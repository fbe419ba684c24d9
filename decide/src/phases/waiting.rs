//! `Waiting`: a release waits for its `confirm-rollout` gate (or a promote request) before the
//! canary is scaled up.

use serin_crds::canary::{AlertSeverity, CanaryPhase};
use serin_crds::validation::HookKind;

use super::controls::promote_requested;
use super::idle::{begin_progressing, record_observed, start};
use super::{Rollback, interval_elapsed, rollback};
use crate::conditions::{event, reason};
use crate::decision::{CheckRequest, EventKind};
use crate::gates;
use crate::step::{Flow, Step, Tick};

pub(super) fn run(t: &Tick<'_>, s: &mut Step) -> Flow {
    let target = &t.observed.target;
    if !t.rev.is_attempted(target) && t.rev.is_promoted(target) {
        record_observed(t, s);
        s.phase(CanaryPhase::Initialized);
        s.event(
            EventKind::Normal,
            event::REVERTED,
            format!(
                "{} reverted to the promoted revision; release abandoned",
                t.target()
            ),
        );
        return Ok(());
    }
    if !t.rev.is_attempted(target) {
        t.require(idle_request(t))?;
        start(t, s);
        return Ok(());
    }
    if promote_requested(t) {
        begin_progressing(t, s);
        return Ok(());
    }
    if !interval_elapsed(t, s) {
        return Ok(());
    }
    t.require(idle_request(t))?;
    s.status.last_analysis_time = Some(t.now);
    if let Some(hook) = gates::first_passed(t, HookKind::Rollback) {
        rollback(t, s, &Rollback::Hook(hook));
    } else if gates::all_passed(t, HookKind::ConfirmRollout) {
        begin_progressing(t, s);
    } else {
        hold(t, s);
    }
    Ok(())
}

fn idle_request(t: &Tick<'_>) -> CheckRequest {
    let mut hooks = gates::hooks(t.canary, HookKind::Rollback);
    hooks.extend(gates::hooks(t.canary, HookKind::ConfirmRollout));
    CheckRequest {
        hooks,
        metrics: false,
    }
}

/// Holds the release in `Waiting`, reporting it once.
pub(super) fn hold(t: &Tick<'_>, s: &mut Step) {
    s.phase(CanaryPhase::Waiting);
    let new = s.hold(
        t,
        reason::AWAITING_ROLLOUT_APPROVAL,
        "Waiting for the confirm-rollout hooks to approve the release.",
    );
    if new || t.phase != CanaryPhase::Waiting {
        s.event(
            EventKind::Normal,
            reason::AWAITING_ROLLOUT_APPROVAL,
            format!("Halt {} advancement waiting for approval", t.target()),
        );
        s.alert(AlertSeverity::Info, "Canary is waiting for approval.");
    }
}
