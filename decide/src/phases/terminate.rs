//! Deletion: with `revertOnDeletion`, `Terminating` restores the target and `Terminated` lets the
//! deletion complete; without it, the deletion completes at once.

use serin_crds::canary::CanaryPhase;

use super::in_analysis;
use crate::conditions::{event, reason};
use crate::decision::{Action, EventKind, Routes};
use crate::observations::Readiness;
use crate::step::{Step, Tick};

pub(super) fn run(t: &Tick<'_>, s: &mut Step) {
    if !t.observed.deleting {
        // A finished revert of a Canary whose deletion is no longer observed: nothing to do.
        return;
    }
    if !t.canary.revert_on_deletion {
        if in_analysis(t.phase) || t.phase == CanaryPhase::Promoting {
            s.set_weights(Routes::all_primary());
        }
        s.act(Action::FinalizeDeletion);
        return;
    }
    match t.phase {
        CanaryPhase::Terminated => s.act(Action::FinalizeDeletion),
        CanaryPhase::Terminating if t.observed.canary == Readiness::Ready => {
            s.act(Action::FinalizeDeletion);
            s.phase(CanaryPhase::Terminated);
            s.event(
                EventKind::Normal,
                event::TERMINATED,
                format!("{} restored; the Canary can be deleted", t.target()),
            );
        }
        CanaryPhase::Terminating => {
            s.act(Action::RevertTarget);
            s.hold(
                t,
                reason::CANARY_NOT_READY,
                "Waiting for the restored target to become ready.",
            );
        }
        _ => {
            s.set_weights(Routes::all_primary());
            s.act(Action::RevertTarget);
            s.phase(CanaryPhase::Terminating);
            s.event(
                EventKind::Normal,
                event::TERMINATING,
                format!("Deleting the Canary: restoring {}", t.target()),
            );
        }
    }
}
