//! Revisions: restarts, reverts, and taking over a Canary that Flagger managed.

use super::*;

#[test]
fn a_new_revision_during_analysis_restarts_from_weight_zero() {
    let plan = canary()
        .progressing()
        .at_weight(30)
        .with_new_revision()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert_eq!(plan.canary_weight(), 0);
}

#[test]
fn a_restart_resets_failed_checks_and_iterations() {
    let plan = canary()
        .progressing()
        .at_weight(30)
        .with_failed_checks(2)
        .with_iterations_done(1)
        .with_new_revision()
        .decide();
    assert_eq!((plan.failed_checks(), plan.iterations()), (0, 0));
}

#[test]
fn a_restart_records_the_new_revision_as_attempted() {
    let plan = canary()
        .progressing()
        .at_weight(30)
        .with_new_revision()
        .decide();
    assert_eq!(
        plan.status.last_attempted_spec,
        Some(revision_id(&target(3)))
    );
    assert_eq!(plan.status.last_applied_spec, Some(rev(3)));
}

#[test]
fn a_restart_happens_even_before_the_interval_elapsed() {
    let plan = canary()
        .progressing()
        .at_weight(30)
        .last_analysed_secs_ago(5)
        .with_new_revision()
        .decide();
    assert_eq!(plan.canary_weight(), 0);
}

#[test]
fn a_config_change_during_analysis_restarts_it() {
    let plan = canary()
        .progressing()
        .at_weight(30)
        .with_config("Secret/token", "rotated")
        .decide();
    assert_eq!(plan.canary_weight(), 0);
    assert!(plan.event_messages()[0].contains("Restarting analysis"));
}

#[test]
fn a_new_revision_while_waiting_for_promotion_restarts_progressing() {
    let plan = canary()
        .in_phase(CanaryPhase::WaitingPromotion)
        .at_weight(50)
        .with_new_revision()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert_eq!(plan.canary_weight(), 0);
}

#[test]
fn reverting_the_target_during_analysis_abandons_the_release_and_restores_the_primary() {
    let plan = canary()
        .progressing()
        .at_weight(30)
        .with_target_at(1)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Initialized);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert!(plan.has(&Action::ScaleCanaryToZero));
}

#[test]
fn a_new_revision_while_waiting_for_approval_stays_waiting_for_the_new_one() {
    let plan = canary()
        .with_hook("gate", HookType::ConfirmRollout)
        .hook_fails("gate")
        .in_phase(CanaryPhase::Waiting)
        .with_new_revision()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Waiting);
    assert_eq!(
        plan.status.last_attempted_spec,
        Some(revision_id(&target(3)))
    );
}

fn left_by_flagger(phase: CanaryPhase) -> Fixture {
    let mut f = canary().in_phase(phase).with_target_at(7);
    f.status.last_applied_spec = Some("5d8c9f7b6".into());
    f.status.last_promoted_spec = Some("5d8c9f7b6".into());
    f.status.last_attempted_spec = None;
    f.status.last_analysis_time = None;
    f
}

#[test]
fn taking_over_a_succeeded_flagger_canary_does_not_start_a_release() {
    let plan = left_by_flagger(CanaryPhase::Succeeded).decide();
    assert_eq!(plan.phase(), CanaryPhase::Succeeded);
    assert!(plan.actions.is_empty());
}

#[test]
fn taking_over_a_flagger_canary_rewrites_its_hashes_in_serin_form() {
    let plan = left_by_flagger(CanaryPhase::Succeeded).decide();
    assert_eq!(plan.status.last_applied_spec, Some(rev(7)));
    assert_eq!(plan.status.last_promoted_spec, Some(rev(7)));
    assert_eq!(
        plan.status.last_attempted_spec,
        Some(revision_id(&target(7)))
    );
}

#[test]
fn taking_over_a_flagger_canary_mid_release_resumes_it() {
    let mut fixture = left_by_flagger(CanaryPhase::Progressing).at_weight(20);
    fixture.status.last_promoted_spec = Some("7f6b5c4d9".into());
    let plan = fixture.decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert!(
        plan.has(&split(30)),
        "the release continues where Flagger left it"
    );
    assert_eq!(plan.status.last_promoted_spec.as_deref(), Some("7f6b5c4d9"));
}

#[test]
fn taking_over_a_failed_flagger_canary_stays_failed() {
    let mut fixture = left_by_flagger(CanaryPhase::Failed);
    fixture.status.last_promoted_spec = Some("7f6b5c4d9".into());
    let plan = fixture.decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert!(plan.actions.is_empty());
}

#[test]
fn flagger_tracked_config_checksums_are_adopted() {
    let mut fixture = left_by_flagger(CanaryPhase::Succeeded).with_config("ConfigMap/app", "a");
    fixture.status.tracked_configs = Some(BTreeMap::from([(
        "ConfigMap/app".to_owned(),
        "7b9c5d".to_owned(),
    )]));
    let plan = fixture.decide();
    assert!(plan.actions.is_empty());
    let configs = plan.status.tracked_configs.unwrap();
    assert!(configs["ConfigMap/app"].starts_with(crate::revision::HASH_PREFIX));
}

#[test]
fn a_new_revision_after_a_takeover_starts_a_release() {
    let fixture = left_by_flagger(CanaryPhase::Succeeded);
    let adopted = fixture.decide();
    let plan = fixture.then(&adopted, 60).with_target_at(8).decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn a_weight_flagger_overshot_is_brought_back_to_max_weight() {
    let plan = canary()
        .with_step_weight(20)
        .progressing()
        .at_weight(60)
        .with_live_routes(Routes::split(weight(60)))
        .decide();
    assert_eq!(plan.weights(), Some(Routes::split(weight(50))));
    assert!(plan.canary_weight() <= 50);
}
