//! Blue/green: `iterations` without `match`, then a full switch.

use super::*;

#[test]
fn blue_green_keeps_traffic_on_the_primary_during_its_iterations() {
    let plan = canary()
        .blue_green(3)
        .progressing()
        .with_iterations_done(1)
        .decide();
    assert!(plan.weights().is_none());
    assert_eq!(plan.canary_weight(), 0);
}

#[test]
fn blue_green_counts_iterations() {
    let plan = canary()
        .blue_green(3)
        .progressing()
        .with_iterations_done(1)
        .decide();
    assert_eq!(plan.iterations(), 2);
}

#[test]
fn blue_green_switches_all_traffic_to_the_canary_after_its_iterations() {
    let plan = canary()
        .blue_green(3)
        .progressing()
        .with_iterations_done(3)
        .decide();
    assert_eq!(plan.weights(), Some(Routes::split(Weight::FULL)));
    assert_eq!(plan.canary_weight(), 100);
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn blue_green_promotes_after_the_switch_without_asking_the_gate_again() {
    let fixture = canary()
        .blue_green(2)
        .with_hook("gate", HookType::ConfirmPromotion)
        .progressing()
        .at_weight(100)
        .with_iterations_done(3);
    let request = fixture.asks_or_nothing();
    assert!(
        request
            .iter()
            .flat_map(|r| &r.hooks)
            .all(|h| h.name != "gate")
    );
    let plan = fixture.decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
}

#[test]
fn blue_green_with_mirroring_mirrors_during_its_iterations() {
    let plan = canary()
        .blue_green(3)
        .with_mirror(Some(50))
        .progressing()
        .decide();
    assert_eq!(plan.weights(), Some(Routes::mirrored(weight(50))));
}

#[test]
fn blue_green_confirm_promotion_gates_the_switch() {
    let plan = canary()
        .blue_green(2)
        .with_hook("gate", HookType::ConfirmPromotion)
        .hook_fails("gate")
        .progressing()
        .with_iterations_done(2)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::WaitingPromotion);
    assert!(plan.weights().is_none());
}

#[test]
fn blue_green_failing_after_the_switch_restores_the_primary() {
    let plan = canary()
        .blue_green(2)
        .with_metric("error-rate")
        .metric_gives("error-rate", MetricOutcome::Fail)
        .with_threshold(1)
        .progressing()
        .at_weight(100)
        .with_iterations_done(3)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
}

impl Fixture {
    fn asks_or_nothing(&self) -> Option<CheckRequest> {
        match self.first_call() {
            Decision::RunChecks(r) => Some(r),
            Decision::Act(_) => None,
        }
    }
}
