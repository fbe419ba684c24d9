//! A/B testing: `iterations` with `match`.

use super::*;

#[test]
fn ab_testing_routes_matching_requests_to_the_canary() {
    let plan = canary().ab_testing(3).progressing().decide();
    assert_eq!(plan.weights(), Some(Routes::ab_testing()));
}

#[test]
fn ab_testing_counts_iterations() {
    let plan = canary()
        .ab_testing(3)
        .progressing()
        .with_iterations_done(1)
        .decide();
    assert_eq!(plan.iterations(), 2);
    assert!(
        plan.event_messages()
            .iter()
            .any(|m| m.contains("iteration 2/3"))
    );
}

#[test]
fn ab_testing_keeps_the_status_weight_at_zero() {
    let plan = canary().ab_testing(3).progressing().decide();
    assert_eq!(plan.canary_weight(), 0);
}

#[test]
fn ab_testing_promotes_after_its_iterations() {
    let plan = canary()
        .ab_testing(3)
        .progressing()
        .with_iterations_done(3)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
    assert!(plan.has(&Action::PromoteSpecToPrimary));
}

#[test]
fn an_ab_testing_step_that_fails_does_not_count_an_iteration() {
    let plan = canary()
        .ab_testing(3)
        .with_metric("error-rate")
        .metric_gives("error-rate", MetricOutcome::Fail)
        .progressing()
        .with_iterations_done(1)
        .decide();
    assert_eq!(plan.iterations(), 1);
    assert_eq!(plan.failed_checks(), 1);
}

#[test]
fn ab_testing_waits_for_confirm_promotion_after_its_iterations() {
    let plan = canary()
        .ab_testing(2)
        .with_hook("gate", HookType::ConfirmPromotion)
        .hook_fails("gate")
        .progressing()
        .with_iterations_done(2)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::WaitingPromotion);
}

#[test]
fn ab_testing_rollback_clears_the_match_routes() {
    let plan = canary()
        .ab_testing(3)
        .with_hook("stop", HookType::Rollback)
        .progressing()
        .with_iterations_done(1)
        .decide();
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
}

#[test]
fn ab_testing_promotion_returns_all_traffic_to_the_primary() {
    let plan = canary()
        .ab_testing(3)
        .in_phase(CanaryPhase::Promoting)
        .decide();
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert_eq!(plan.phase(), CanaryPhase::Finalising);
}
