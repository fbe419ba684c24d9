//! `Promoting`, `Finalising` and `Succeeded`.

use super::*;
use crate::{PROMOTED, RECONCILING, STALLED, reason};
use serin_crds::validation::HookKind;

fn promoting() -> Fixture {
    canary().in_phase(CanaryPhase::Promoting).at_weight(50)
}

#[test]
fn promoting_with_a_ready_primary_routes_all_traffic_back_to_it() {
    let plan = promoting().decide();
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
}

#[test]
fn promoting_moves_to_finalising() {
    let plan = promoting().decide();
    assert_eq!(plan.phase(), CanaryPhase::Finalising);
}

#[test]
fn promoting_waits_for_the_primary_and_keeps_traffic_on_the_canary() {
    let plan = promoting().primary_not_ready_for_secs(30).decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
    assert!(plan.weights().is_none());
    assert_eq!(plan.canary_weight(), 50);
    assert_eq!(plan.condition(RECONCILING).1, reason::PRIMARY_NOT_READY);
}

#[test]
fn a_primary_never_ready_leaves_traffic_on_the_healthy_canary_and_stalls() {
    let plan = promoting().primary_not_ready_for_secs(3600).decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
    assert!(plan.weights().is_none());
    assert_eq!(plan.condition(STALLED).0, "True");
}

#[test]
fn a_promotion_stall_is_alerted_once() {
    let fixture = promoting().primary_not_ready_for_secs(3600);
    let first = fixture.decide();
    assert_eq!(first.alerts().len(), 1);
    let second = fixture.then(&first, 60).decide();
    assert!(second.alerts().is_empty());
}

#[test]
fn stepped_promotion_moves_the_primary_weight_by_the_step() {
    let plan = promoting().with_promotion_step(20).decide();
    assert_eq!(plan.weights(), Some(Routes::split(weight(30))));
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
}

#[test]
fn stepped_promotion_finishes_with_all_traffic_on_the_primary() {
    let plan = promoting().with_promotion_step(20).at_weight(10).decide();
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert_eq!(plan.phase(), CanaryPhase::Finalising);
}

#[test]
fn finalising_scales_the_canary_down_and_succeeds() {
    let plan = canary().in_phase(CanaryPhase::Finalising).decide();
    assert!(plan.has(&Action::ScaleCanaryToZero));
    assert_eq!(plan.phase(), CanaryPhase::Succeeded);
}

#[test]
fn success_records_the_released_revision_as_promoted() {
    let plan = canary().in_phase(CanaryPhase::Finalising).decide();
    assert_eq!(plan.status.last_promoted_spec, Some(rev(2)));
}

#[test]
fn success_is_alerted_with_flaggers_message() {
    let plan = canary().in_phase(CanaryPhase::Finalising).decide();
    assert_eq!(
        plan.alerts(),
        vec![(
            AlertSeverity::Info,
            "Canary analysis completed successfully, promotion finished.".to_owned()
        )]
    );
}

#[test]
fn success_sets_the_promoted_condition_true_so_kubectl_wait_returns() {
    let plan = canary().in_phase(CanaryPhase::Finalising).decide();
    assert_eq!(
        plan.condition(PROMOTED),
        ("True".to_owned(), "Succeeded".to_owned())
    );
}

#[test]
fn promoting_does_not_ask_rollback_hooks() {
    let plan = promoting().with_hook("stop", HookType::Rollback).decide();
    assert_eq!(plan.phase(), CanaryPhase::Finalising);
}

#[test]
fn finalising_calls_no_gate() {
    let decision = canary()
        .with_hook("gate", HookType::ConfirmPromotion)
        .in_phase(CanaryPhase::Finalising)
        .first_call();
    let plan = decision.plan().unwrap();
    assert!(plan.called_hooks().is_empty());
    assert!(!plan.actions.iter().any(|a| matches!(a, Action::CallHooks(h) if h.iter().any(|h| h.kind == HookKind::ConfirmPromotion))));
}

#[test]
fn a_succeeded_release_resets_the_weight_and_iterations() {
    let plan = canary()
        .in_phase(CanaryPhase::Finalising)
        .with_iterations_done(4)
        .decide();
    assert_eq!((plan.canary_weight(), plan.iterations()), (0, 0));
}

#[test]
fn traffic_returns_to_the_primary_one_interval_after_the_spec_was_copied() {
    let fixture = canary().progressing().at_weight(50);
    let promoted = fixture.decide();
    assert!(promoted.has(&Action::PromoteSpecToPrimary));
    let early = fixture.then(&promoted, 10).decide();
    assert_eq!(early.phase(), CanaryPhase::Promoting);
    assert!(early.weights().is_none());
}

#[test]
fn stepped_promotion_moves_one_step_per_interval() {
    let plan = promoting()
        .with_promotion_step(20)
        .last_analysed_secs_ago(10)
        .decide();
    assert!(plan.weights().is_none());
    assert_eq!(plan.canary_weight(), 50);
}

#[test]
fn a_promotion_stall_stays_reported_between_intervals() {
    let fixture = promoting().primary_not_ready_for_secs(3600);
    let stalled = fixture.decide();
    let early = fixture.then(&stalled, 1).decide();
    assert_eq!(early.condition(STALLED).0, "True");
    assert!(early.alerts().is_empty());
}
