//! Manual requests: abort, promote, retry (one-shot, acknowledged in status) and pause.

use serin_crds::canary::CanaryPhase;

use super::{Rollback, in_analysis, promote_now, rollback};
use crate::conditions::{event, reason};
use crate::controls::Pending;
use crate::decision::EventKind;
use crate::observations::Readiness;
use crate::step::{Step, Tick};

/// Acts on pending requests; returns whether the tick is decided by one.
pub(super) fn run(t: &Tick<'_>, s: &mut Step) -> bool {
    let pending = Pending::new(&t.observed.controls, &t.acks);
    if let Some(id) = pending.abort {
        s.ack(|a| a.abort = Some(id.to_owned()));
        if in_analysis(t.phase) {
            rollback(t, s, &Rollback::Aborted(id.to_owned()));
            return true;
        }
        s.event(
            EventKind::Normal,
            event::ABORT_IGNORED,
            format!(
                "Abort request {id} ignored: no release in analysis ({})",
                t.phase
            ),
        );
    }
    if let Some(id) = pending.retry
        && t.phase != CanaryPhase::Failed
    {
        s.ack(|a| a.retry = Some(id.to_owned()));
        s.event(
            EventKind::Normal,
            event::RETRY_IGNORED,
            format!(
                "Retry request {id} ignored: the last release did not fail ({})",
                t.phase
            ),
        );
    }
    if let Some(id) = pending.promote {
        match t.phase {
            CanaryPhase::Progressing | CanaryPhase::WaitingPromotion
                if t.observed.canary == Readiness::Ready =>
            {
                s.ack(|a| a.promote = Some(id.to_owned()));
                s.event(
                    EventKind::Normal,
                    event::PROMOTION_REQUESTED,
                    format!(
                        "Promotion of {} requested ({id}), skipping the remaining steps",
                        t.target()
                    ),
                );
                promote_now(t, s);
                return true;
            }
            // The request stays pending: in Waiting it opens the gate, then promotes once the
            // canary is up; while the canary is not ready, it waits for it.
            CanaryPhase::Waiting | CanaryPhase::Progressing | CanaryPhase::WaitingPromotion => {}
            _ => {
                s.ack(|a| a.promote = Some(id.to_owned()));
                s.event(
                    EventKind::Normal,
                    event::PROMOTE_IGNORED,
                    format!(
                        "Promote request {id} ignored: no release in analysis ({})",
                        t.phase
                    ),
                );
            }
        }
    }
    if t.observed.controls.paused() && (in_analysis(t.phase) || is_idle(t.phase)) {
        let new = s.hold(
            t,
            reason::PAUSED,
            "Paused by the serin.dev/pause annotation.",
        );
        if new && in_analysis(t.phase) {
            s.event(
                EventKind::Normal,
                reason::PAUSED,
                format!("Release of {} paused", t.target()),
            );
        }
        return true;
    }
    false
}

fn is_idle(phase: CanaryPhase) -> bool {
    matches!(
        phase,
        CanaryPhase::Initialized | CanaryPhase::Succeeded | CanaryPhase::Failed
    )
}

/// Whether a `confirm-rollout` gate is opened by a pending promote request.
pub(super) fn promote_requested(t: &Tick<'_>) -> bool {
    Pending::new(&t.observed.controls, &t.acks)
        .promote
        .is_some()
}
