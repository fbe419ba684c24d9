//! `Initialized`, `Succeeded` and `Failed`: what starts a release and what does not.

use super::*;
use crate::{RECONCILING, reason};

#[test]
fn a_new_revision_after_initialization_starts_progressing() {
    let plan = canary().with_new_revision().decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn starting_a_release_scales_the_canary_up() {
    let plan = canary().with_new_revision().decide();
    assert!(plan.has(&Action::ScaleCanaryUp));
}

#[test]
fn starting_a_release_alerts_new_revision_detected_once() {
    let fixture = canary().with_new_revision();
    let plan = fixture.decide();
    assert_eq!(
        plan.alerts(),
        vec![(
            AlertSeverity::Info,
            "New revision detected, progressing canary analysis.".to_owned()
        )]
    );
    let next = fixture.then(&plan, 1).decide();
    assert!(next.alerts().is_empty());
}

#[test]
fn starting_a_release_resets_failed_checks_weight_and_iterations() {
    let plan = canary()
        .in_phase(CanaryPhase::Failed)
        .with_failed_checks(3)
        .with_iterations_done(2)
        .with_new_revision()
        .decide();
    assert_eq!(
        (
            plan.failed_checks(),
            plan.canary_weight(),
            plan.iterations()
        ),
        (0, 0, 0)
    );
}

#[test]
fn starting_a_release_records_the_attempted_and_applied_revision() {
    let plan = canary().with_new_revision().decide();
    assert_eq!(
        plan.status.last_attempted_spec,
        Some(revision_id(&target(3)))
    );
    assert_eq!(plan.status.last_applied_spec, Some(rev(3)));
    assert_eq!(plan.status.last_promoted_spec, Some(rev(1)));
}

#[test]
fn an_unchanged_succeeded_canary_stays_put() {
    let fixture = canary().in_phase(CanaryPhase::Succeeded);
    let plan = fixture.decide();
    assert_eq!(plan.phase(), CanaryPhase::Succeeded);
    assert!(plan.actions.is_empty());
}

#[test]
fn an_unchanged_failed_canary_stays_put() {
    let plan = canary().in_phase(CanaryPhase::Failed).decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert!(plan.actions.is_empty());
}

#[test]
fn a_new_revision_after_failed_starts_a_new_release() {
    let plan = canary()
        .in_phase(CanaryPhase::Failed)
        .with_new_revision()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert_eq!(
        plan.status.last_attempted_spec,
        Some(revision_id(&target(3)))
    );
}

#[test]
fn reverting_a_failed_target_to_the_promoted_revision_does_not_start_a_release() {
    let plan = canary()
        .in_phase(CanaryPhase::Failed)
        .with_target_at(1)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Initialized);
    assert!(!plan.has(&Action::ScaleCanaryUp));
    assert_eq!(plan.status.last_applied_spec, Some(rev(1)));
}

#[test]
fn reapplying_a_failed_revision_after_a_revert_starts_a_release() {
    let failed = canary().in_phase(CanaryPhase::Failed).with_target_at(1);
    let reverted = failed.decide();
    let plan = failed.then(&reverted, 60).with_target_at(2).decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn reverting_the_target_to_the_promoted_revision_after_success_does_not_start_a_release() {
    let plan = canary()
        .in_phase(CanaryPhase::Succeeded)
        .with_target_at(1)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Succeeded);
    assert!(plan.actions.is_empty());
}

#[test]
fn a_changed_tracked_config_starts_a_release() {
    let plan = canary().with_config("ConfigMap/settings", "v2").decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert!(
        plan.status
            .tracked_configs
            .unwrap()
            .contains_key("ConfigMap/settings")
    );
}

#[test]
fn a_release_of_a_changed_config_alone_carries_on_at_the_next_tick() {
    let first = canary().with_config("ConfigMap/settings", "v2");
    let started = first.decide();
    assert_eq!(started.phase(), CanaryPhase::Progressing);
    // The next tick: same target (the promoted template, the new config), a minute later.
    let mut next = first;
    next.status = started.status;
    next.now += chrono::TimeDelta::minutes(1);
    let plan = next.decide();
    assert_eq!(
        plan.phase(),
        CanaryPhase::Progressing,
        "not abandoned as a revert: {:?}",
        plan.actions
    );
    assert!(
        plan.actions
            .iter()
            .any(|a| matches!(a, Action::SetWeights(r) if r.routes.canary.get() == 10)),
        "the first step is taken: {:?}",
        plan.actions
    );
}

#[test]
fn routes_sending_traffic_to_the_canary_outside_a_release_are_restored() {
    for phase in [
        CanaryPhase::Initialized,
        CanaryPhase::Succeeded,
        CanaryPhase::Failed,
    ] {
        let plan = canary()
            .in_phase(phase)
            .with_live_routes(Routes::split(Weight::new(30).unwrap()))
            .decide();
        assert_eq!(plan.phase(), phase);
        assert!(
            plan.actions.contains(&Action::SetWeights(
                TrafficSplit::new(Routes::all_primary())
            )),
            "{phase:?}: {:?}",
            plan.actions
        );
        assert_eq!(plan.status.canary_weight, Some(0));
        assert!(
            plan.actions
                .iter()
                .any(|a| matches!(a, Action::Event { reason, .. } if *reason == "RoutesRestored")),
            "{phase:?}"
        );
    }
}

#[test]
fn routes_already_on_the_primary_outside_a_release_are_left_alone() {
    let plan = canary()
        .in_phase(CanaryPhase::Succeeded)
        .with_live_routes(Routes::all_primary())
        .decide();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
}

#[test]
fn a_suspended_canary_starts_no_release() {
    let plan = canary().suspended().with_new_revision().decide();
    assert_eq!(plan.phase(), CanaryPhase::Initialized);
    assert!(plan.actions.is_empty());
    assert_eq!(
        plan.status.last_applied_spec,
        Some(rev(1)),
        "the change is seen on resume"
    );
}

#[test]
fn a_suspended_canary_reports_why_it_does_not_reconcile() {
    let plan = canary().suspended().decide();
    assert_eq!(
        plan.condition(RECONCILING),
        ("False".to_owned(), reason::SUSPENDED.to_owned())
    );
}

#[test]
fn a_suspended_release_does_not_advance() {
    let plan = canary().progressing().at_weight(20).suspended().decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert!(plan.weights().is_none());
    assert_eq!(plan.canary_weight(), 20);
}

#[test]
fn a_release_waits_one_interval_before_its_first_analysis_step() {
    let fixture = canary().with_new_revision();
    let started = fixture.decide();
    let early = fixture.then(&started, 30).decide();
    assert!(early.weights().is_none());
    assert_eq!(early.requeue_after, std::time::Duration::from_secs(30));
}

#[test]
fn a_new_revision_without_a_release_slot_waits_and_is_reported_once() {
    let mut fixture = canary()
        .in_phase(CanaryPhase::Succeeded)
        .with_new_revision();
    fixture.observed.release_slot = crate::ReleaseSlot::Full {
        releasing: 2,
        limit: 2,
        ahead: 1,
    };
    let plan = fixture.decide();
    assert_eq!(plan.phase(), CanaryPhase::Succeeded);
    assert!(!plan.has(&Action::ScaleCanaryUp));
    assert_eq!(
        plan.status.last_attempted_spec,
        fixture.status.last_attempted_spec
    );
    let (status, reason) = plan.condition(RECONCILING);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", reason::RELEASE_QUEUED)
    );
    assert_eq!(plan.event_reasons(), vec![crate::event::RELEASE_QUEUED]);
    assert!(
        plan.event_messages()[0].contains("2 of 2 releases are in progress"),
        "{:?}",
        plan.event_messages()
    );
    let again = fixture.clone().then(&plan, 60).decide();
    assert!(again.event_reasons().is_empty(), "reported once");
    // A slot frees up: the release starts.
    let mut freed = fixture.then(&plan, 60);
    freed.observed.release_slot = crate::ReleaseSlot::Free;
    let plan = freed.decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert!(plan.has(&Action::ScaleCanaryUp));
}
