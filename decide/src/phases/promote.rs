//! `Promoting` and `Finalising`: the canary's spec goes to the primary, traffic returns to the
//! primary once it is ready, and the canary is scaled down.

use serin_crds::canary::{AlertSeverity, CanaryPhase};
use serin_crds::validation::{HookKind, Strategy};

use crate::conditions::{event, reason};
use crate::decision::{Action, EventKind, Routes};
use crate::gates;
use crate::observations::Readiness;
use crate::step::{Step, Tick};

use super::interval_elapsed;

/// Copies the canary's spec to the primary: `Promoting`.
pub(crate) fn promote_now(t: &Tick<'_>, s: &mut Step) {
    s.act(Action::PromoteSpecToPrimary);
    s.phase(CanaryPhase::Promoting);
    // The primary rolls out the new spec; traffic moves back one interval later at the earliest.
    s.status.last_analysis_time = Some(t.now);
    s.event(
        EventKind::Normal,
        event::SYNCED,
        format!(
            "Copying {} template spec to {}-primary",
            t.target(),
            t.target()
        ),
    );
}

/// `Promoting`: once the primary runs the new spec and is ready, traffic moves back to it, in
/// steps with `stepWeightPromotion`. A primary that does not become ready leaves traffic on the
/// canary, which is healthy.
pub(super) fn promoting(t: &Tick<'_>, s: &mut Step) {
    if !interval_elapsed(t, s) {
        return;
    }
    let exceeded = match t.observed.primary {
        Readiness::Ready | Readiness::Missing => false,
        Readiness::DeadlineExceeded => true,
        Readiness::NotReady { since } => since.is_some_and(|since| t.past_deadline(since)),
    };
    if t.observed.primary != Readiness::Ready {
        if exceeded {
            let message = format!(
                "The primary of {} did not become ready with the promoted spec; traffic stays on the canary",
                t.target()
            );
            if s.stall(t, reason::PROGRESS_DEADLINE_EXCEEDED, message.clone()) {
                s.event(
                    EventKind::Warning,
                    reason::PROGRESS_DEADLINE_EXCEEDED,
                    message.clone(),
                );
                s.alert(AlertSeverity::Error, message);
            }
        } else {
            s.hold(
                t,
                reason::PRIMARY_NOT_READY,
                "Waiting for the primary to roll out the promoted spec.",
            );
        }
        return;
    }
    let step = match &t.canary.strategy {
        Strategy::Progressive { promotion_step, .. } => *promotion_step,
        Strategy::ABTesting { .. } | Strategy::BlueGreen { .. } => None,
    };
    let canary = match step {
        Some(step) if t.weight > step => {
            serin_crds::validation::Weight::new(u32::from(t.weight.get() - step.get()))
        }
        _ => None,
    };
    match canary {
        Some(canary) => {
            s.set_weights(Routes::split(canary));
            s.status.last_analysis_time = Some(t.now);
            s.event(
                EventKind::Normal,
                event::SYNCED,
                format!(
                    "Advance {} primary weight {}",
                    t.target(),
                    canary.complement().get()
                ),
            );
        }
        None => {
            s.set_weights(Routes::all_primary());
            s.phase(CanaryPhase::Finalising);
            s.event(
                EventKind::Normal,
                event::SYNCED,
                format!("Routing all traffic to {}-primary", t.target()),
            );
        }
    }
}

/// `Finalising` -> `Succeeded`: the canary is scaled to zero and `post-rollout` hooks called.
pub(super) fn finalising(t: &Tick<'_>, s: &mut Step) {
    s.act(Action::ScaleCanaryToZero);
    let post = gates::hooks(t.canary, HookKind::PostRollout);
    if !post.is_empty() {
        s.act(Action::CallHooks(post));
    }
    s.status.last_promoted_spec = s.status.last_applied_spec.clone();
    s.reset_counters();
    s.phase(CanaryPhase::Succeeded);
    s.event(
        EventKind::Normal,
        event::SYNCED,
        format!("Promotion completed! Scaling down {}", t.target()),
    );
    s.alert(
        AlertSeverity::Info,
        "Canary analysis completed successfully, promotion finished.",
    );
}
