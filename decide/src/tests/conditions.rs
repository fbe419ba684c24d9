//! Conditions and `observedGeneration`, kept true on every transition.

use super::*;
use crate::{PROMOTED, READY, RECONCILING, STALLED};

#[test]
fn every_decision_records_the_observed_generation() {
    let plan = canary().progressing().with_generation(7).decide();
    assert_eq!(plan.status.observed_generation, Some(7));
}

#[test]
fn a_tick_that_changes_nothing_still_records_the_observed_generation() {
    let plan = canary()
        .in_phase(CanaryPhase::Succeeded)
        .with_generation(9)
        .decide();
    assert_eq!(plan.status.observed_generation, Some(9));
}

#[test]
fn every_decision_carries_the_four_conditions_in_order() {
    let plan = canary().progressing().decide();
    let types: Vec<_> = plan
        .status
        .conditions
        .iter()
        .flatten()
        .map(|c| c.type_.as_str())
        .collect();
    assert_eq!(types, vec![PROMOTED, READY, RECONCILING, STALLED]);
}

#[test]
fn progressing_is_reconciling_and_not_yet_ready() {
    let plan = canary().progressing().decide();
    assert_eq!(plan.condition(RECONCILING).0, "True");
    assert_eq!(plan.condition(READY).0, "Unknown");
    assert_eq!(plan.condition(STALLED).0, "False");
}

#[test]
fn succeeded_is_ready_and_not_reconciling() {
    let plan = canary().in_phase(CanaryPhase::Finalising).decide();
    assert_eq!(
        plan.condition(READY),
        ("True".to_owned(), "Succeeded".to_owned())
    );
    assert_eq!(plan.condition(RECONCILING).0, "False");
}

#[test]
fn failed_is_not_ready_and_not_reconciling() {
    let plan = canary().progressing().canary_deadline_exceeded().decide();
    assert_eq!(
        plan.condition(READY),
        ("False".to_owned(), "Failed".to_owned())
    );
    assert_eq!(plan.condition(RECONCILING).0, "False");
}

#[test]
fn waiting_promotion_sets_the_promoted_reason_as_flagger_does() {
    let plan = canary()
        .with_hook("gate", HookType::ConfirmPromotion)
        .hook_fails("gate")
        .progressing()
        .at_weight(50)
        .decide();
    assert_eq!(
        plan.condition(PROMOTED),
        ("Unknown".to_owned(), "WaitingPromotion".to_owned())
    );
}

#[test]
fn a_condition_keeps_its_transition_time_while_its_status_stays() {
    let fixture = canary().progressing();
    let first = fixture.decide();
    let second = fixture.then(&first, 60).decide();
    let time = |p: &Plan| {
        p.status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == RECONCILING)
            .unwrap()
            .last_transition_time
    };
    assert_eq!(time(&second), time(&first));
}

#[test]
fn a_phase_change_updates_the_last_transition_time() {
    let plan = canary().with_new_revision().decide();
    assert_eq!(plan.status.last_transition_time, Some(now()));
}

#[test]
fn a_tick_without_a_phase_change_keeps_the_last_transition_time() {
    let mut fixture = canary().progressing().at_weight(20);
    let earlier = now() - chrono::Duration::minutes(5);
    fixture.status.last_transition_time = Some(earlier);
    let plan = fixture.decide();
    assert_eq!(plan.status.last_transition_time, Some(earlier));
}

#[test]
fn an_unchanged_tick_writes_an_identical_status() {
    let fixture = canary().in_phase(CanaryPhase::Succeeded);
    let first = fixture.decide();
    let second = fixture.clone().then(&first, 60).decide();
    assert_eq!(first.status, second.status);
}
