//! `Initializing` -> `Initialized`: the primary, Services and routes are created, and the
//! primary must become ready before any release.

use serin_crds::canary::{AlertSeverity, CanaryPhase};

use crate::conditions::{event, reason};
use serin_crds::validation::TargetKindPlan;

use crate::decision::{Action, EventKind, Routes, ServiceRole};
use crate::observations::Readiness;
use crate::revision::revision_id;
use crate::step::{Step, Tick};

pub(super) fn run(t: &Tick<'_>, s: &mut Step) {
    create(t, s);
    if t.phase == CanaryPhase::Unset {
        s.phase(CanaryPhase::Initializing);
        s.event(
            EventKind::Normal,
            event::INITIALIZING,
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
        Readiness::Missing => false,
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

/// Creates what a release needs: the primary when it is missing, then the Services. The apex
/// Service moves to the primary only once the primary can serve, so that taking over an existing
/// Service causes no downtime. A Service target is its own apex: only its `-canary` copy is
/// added. Idempotent.
fn create(t: &Tick<'_>, s: &mut Step) {
    if t.observed.primary == Readiness::Missing {
        s.act(Action::ApplyPrimary);
    }
    let roles = if t.canary.target.kind == TargetKindPlan::Service {
        vec![ServiceRole::Canary]
    } else if t.observed.primary == Readiness::Ready {
        vec![ServiceRole::Primary, ServiceRole::Canary, ServiceRole::Apex]
    } else {
        vec![ServiceRole::Primary, ServiceRole::Canary]
    };
    s.act(Action::ApplyServices(roles));
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
        event::SYNCED,
        format!("Initialization done! {}", t.target()),
    );
    s.alert(AlertSeverity::Info, "Initialization done!");
}
