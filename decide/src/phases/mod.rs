//! The phases of a release, one module each, and the dispatch between them.

mod analysis;
mod controls;
mod drift;
mod idle;
mod initialize;
mod promote;
mod rollback;
mod terminate;
mod waiting;

use serin_crds::canary::CanaryPhase;

use super::conditions::reason;
use super::decision::Action;
use super::step::{Flow, Step, Tick};

#[cfg(test)]
pub(crate) use analysis::expected_routes;
pub(crate) use promote::promote_now;
pub(crate) use rollback::{Rollback, rollback};

/// Decides one tick.
pub(crate) fn run(t: &Tick<'_>, s: &mut Step) -> Flow {
    if t.observed.deleting {
        terminate::run(t, s);
        return Ok(());
    }
    if t.canary.revert_on_deletion && !t.observed.finalizer {
        s.act(Action::AddFinalizer);
    }
    let flow = by_phase(t, s);
    if flow.is_ok() {
        drift::restore_services(t, s);
    }
    flow
}

fn by_phase(t: &Tick<'_>, s: &mut Step) -> Flow {
    if t.canary.suspend {
        s.hold(
            t,
            reason::SUSPENDED,
            "spec.suspend is true: no release starts or advances.",
        );
        return Ok(());
    }
    if controls::run(t, s) {
        return Ok(());
    }
    match t.phase {
        CanaryPhase::Unset | CanaryPhase::Initializing => initialize::run(t, s),
        CanaryPhase::Initialized | CanaryPhase::Succeeded | CanaryPhase::Failed => {
            return idle::run(t, s);
        }
        CanaryPhase::Waiting => return waiting::run(t, s),
        CanaryPhase::Progressing | CanaryPhase::WaitingPromotion => return analysis::run(t, s),
        CanaryPhase::Promoting => promote::promoting(t, s),
        CanaryPhase::Finalising => promote::finalising(t, s),
        CanaryPhase::Terminating | CanaryPhase::Terminated => terminate::run(t, s),
    }
    Ok(())
}

/// Phases in which a release is being analysed (and can be aborted or rolled back).
pub(crate) fn in_analysis(phase: CanaryPhase) -> bool {
    matches!(
        phase,
        CanaryPhase::Waiting | CanaryPhase::Progressing | CanaryPhase::WaitingPromotion
    )
}

/// Whether a whole interval passed since the last step; otherwise the tick waits for it.
fn interval_elapsed(t: &Tick<'_>, s: &mut Step) -> bool {
    let Some(last) = t.prev.last_analysis_time else {
        return true;
    };
    let elapsed = t
        .now
        .signed_duration_since(last)
        .to_std()
        .unwrap_or_default();
    if elapsed >= t.canary.interval {
        return true;
    }
    s.requeue_after = t.canary.interval.saturating_sub(elapsed);
    s.hold = t.previous_hold();
    s.stall = t.previous_stall();
    false
}
