//! `Initializing` -> `Initialized`.

use super::*;
use crate::{PROMOTED, STALLED, reason};

#[test]
fn a_new_canary_starts_initializing_and_creates_the_primary_and_its_services() {
    let plan = canary()
        .in_phase(CanaryPhase::Unset)
        .without_primary()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Initializing);
    assert_eq!(
        plan.actions[..2],
        [
            Action::ApplyPrimary,
            Action::ApplyServices(vec![ServiceRole::Primary, ServiceRole::Canary])
        ]
    );
}

#[test]
fn the_apex_service_moves_to_the_primary_only_once_the_primary_is_ready() {
    let waiting = canary()
        .in_phase(CanaryPhase::Initializing)
        .primary_not_ready_for_secs(10)
        .decide();
    assert!(waiting.has(&Action::ApplyServices(vec![
        ServiceRole::Primary,
        ServiceRole::Canary
    ])));
    assert!(!waiting.has(&Action::ApplyPrimary), "the primary exists");
    let ready = canary().in_phase(CanaryPhase::Initializing).decide();
    assert!(ready.has(&Action::ApplyServices(vec![
        ServiceRole::Primary,
        ServiceRole::Canary,
        ServiceRole::Apex
    ])));
}

#[test]
fn a_service_target_gets_only_its_canary_copy() {
    let plan = canary()
        .with_service_target()
        .in_phase(CanaryPhase::Unset)
        .without_primary()
        .decide();
    assert_eq!(
        plan.actions[..2],
        [
            Action::ApplyPrimary,
            Action::ApplyServices(vec![ServiceRole::Canary])
        ]
    );
}

#[test]
fn initialization_repairs_nothing_and_records_no_drift() {
    // The watch cache may not have seen the Services serin just created.
    let plan = canary()
        .in_phase(CanaryPhase::Initializing)
        .with_services(&[
            (ServiceRole::Apex, Generated::Unknown),
            (ServiceRole::Primary, Generated::Missing),
        ])
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Initialized);
    assert!(
        !plan
            .event_reasons()
            .contains(&crate::event::SERVICES_RESTORED)
    );
}

#[test]
fn initializing_with_a_ready_primary_becomes_initialized() {
    let plan = canary().in_phase(CanaryPhase::Initializing).decide();
    assert_eq!(plan.phase(), CanaryPhase::Initialized);
}

#[test]
fn initialized_routes_all_traffic_to_primary_and_scales_the_canary_down() {
    let plan = canary().in_phase(CanaryPhase::Initializing).decide();
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert!(plan.has(&Action::ScaleCanaryToZero));
}

#[test]
fn initialization_records_the_target_as_applied_promoted_and_attempted() {
    let plan = canary().in_phase(CanaryPhase::Initializing).decide();
    assert_eq!(plan.status.last_applied_spec, Some(rev(1)));
    assert_eq!(plan.status.last_promoted_spec, Some(rev(1)));
    assert_eq!(
        plan.status.last_attempted_spec,
        Some(revision_id(&target(1)))
    );
}

#[test]
fn initializing_waits_while_the_primary_is_not_ready() {
    let plan = canary()
        .in_phase(CanaryPhase::Initializing)
        .primary_not_ready_for_secs(30)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Initializing);
    assert_eq!(
        plan.condition(crate::RECONCILING).1,
        reason::PRIMARY_NOT_READY
    );
    assert!(!plan.has(&Action::ScaleCanaryToZero));
}

#[test]
fn a_primary_not_ready_past_the_deadline_stalls_initialization_with_one_alert() {
    let fixture = canary()
        .in_phase(CanaryPhase::Initializing)
        .primary_not_ready_for_secs(601);
    let plan = fixture.decide();
    assert_eq!(
        plan.condition(STALLED),
        (
            "True".to_owned(),
            reason::PROGRESS_DEADLINE_EXCEEDED.to_owned()
        )
    );
    assert_eq!(plan.alerts().len(), 1);
    let again = fixture.clone().then(&plan, 60).decide();
    assert!(again.alerts().is_empty(), "the stall is alerted once");
    assert_eq!(again.condition(STALLED).0, "True");
}

#[test]
fn initialization_alerts_once_when_done() {
    let fixture = canary().in_phase(CanaryPhase::Initializing);
    let plan = fixture.decide();
    assert_eq!(
        plan.alerts(),
        vec![(AlertSeverity::Info, "Initialization done!".to_owned())]
    );
    let next = fixture.then(&plan, 60).decide();
    assert!(next.alerts().is_empty());
    assert!(next.actions.is_empty());
}

#[test]
fn initialized_promoted_condition_is_true_with_flaggers_reason() {
    let plan = canary().in_phase(CanaryPhase::Initializing).decide();
    assert_eq!(
        plan.condition(PROMOTED),
        ("True".to_owned(), "Initialized".to_owned())
    );
}

#[test]
fn initializing_promoted_condition_is_unknown_with_flaggers_message() {
    let plan = canary().in_phase(CanaryPhase::Unset).decide();
    let promoted = plan
        .status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == PROMOTED)
        .unwrap();
    assert_eq!(promoted.status, "Unknown");
    assert_eq!(
        promoted.message.as_deref(),
        Some("New Deployment detected, starting initialization.")
    );
}

#[test]
fn an_initialized_canary_with_an_unchanged_target_does_nothing() {
    let plan = canary().decide();
    assert_eq!(plan.phase(), CanaryPhase::Initialized);
    assert!(plan.actions.is_empty());
}
