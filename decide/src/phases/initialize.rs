//! `Initializing` -> `Initialized`: the primary, Services and routes are created, and the
//! primary must become ready before any release.

use serin_crds::canary::{AlertSeverity, CanaryPhase};

use crate::conditions::reason;
use crate::decision::{Action, EventKind, Routes};
use crate::observations::Readiness;
use crate::revision::revision_id;
use crate::step::{Step, Tick};

pub(super) fn run(t: &Tick<'_>, s: &mut Step) {
    s.act(Action::Initialize);
    if t.phase == CanaryPhase::Unset {
        s.phase(CanaryPhase::Initializing);
        s.event(
            EventKind::Normal,
            "Initializing",
            format!("Initializing the primary of {}", t.target()),
        );
        return;
    }
    let exceeded = match t.observed.primary {
        Readiness::Ready => {
            initialized(t, s);
            return;
        }
        Readiness::DeadlineExceeded => true,
        Readiness::NotReady { since } => since.is_some_and(|since| t.past_deadline(since)),
    };
    if exceeded {
        let message = format!(
            "The primary of {} did not become ready within the progress deadline",
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
            "Waiting for the primary to become ready.",
        );
    }
}

fn initialized(t: &Tick<'_>, s: &mut Step) {
    let target = &t.observed.target;
    s.act(Action::ScaleCanaryToZero);
    s.set_weights(Routes::all_primary());
    s.status.last_applied_spec = Some(target.template.clone());
    s.status.last_promoted_spec = Some(target.template.clone());
    s.status.last_attempted_spec = Some(revision_id(target));
    s.status.tracked_configs = (!target.configs.is_empty()).then(|| target.configs.clone());
    s.reset_counters();
    s.phase(CanaryPhase::Initialized);
    s.event(
        EventKind::Normal,
        "Synced",
        format!("Initialization done! {}", t.target()),
    );
    s.alert(AlertSeverity::Info, "Initialization done!");
}
