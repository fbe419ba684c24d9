//! Deletion, with and without `revertOnDeletion`.

use super::*;

#[test]
fn deleting_without_revert_finalizes_at_once() {
    let plan = canary().deleting().decide();
    assert_eq!(plan.actions, vec![Action::FinalizeDeletion]);
}

#[test]
fn deleting_during_analysis_restores_primary_traffic() {
    let plan = canary().progressing().at_weight(30).deleting().decide();
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert!(plan.has(&Action::FinalizeDeletion));
}

#[test]
fn deleting_with_revert_enters_terminating_and_reverts_the_target() {
    let plan = canary().reverting_on_deletion().deleting().decide();
    assert_eq!(plan.phase(), CanaryPhase::Terminating);
    assert!(plan.has(&Action::RevertTarget));
    assert!(!plan.has(&Action::FinalizeDeletion));
}

#[test]
fn terminating_finalizes_once_the_restored_target_is_ready() {
    let plan = canary()
        .reverting_on_deletion()
        .in_phase(CanaryPhase::Terminating)
        .deleting()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Terminated);
    assert!(plan.has(&Action::FinalizeDeletion));
}

#[test]
fn terminating_waits_for_the_restored_target() {
    let plan = canary()
        .reverting_on_deletion()
        .in_phase(CanaryPhase::Terminating)
        .canary_not_ready_for_secs(5)
        .deleting()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Terminating);
    assert!(!plan.has(&Action::FinalizeDeletion));
}

#[test]
fn deletion_wins_over_suspend() {
    let plan = canary().suspended().deleting().decide();
    assert!(plan.has(&Action::FinalizeDeletion));
}

#[test]
fn a_terminated_canary_finalizes() {
    let plan = canary()
        .reverting_on_deletion()
        .in_phase(CanaryPhase::Terminated)
        .deleting()
        .decide();
    assert_eq!(plan.actions, vec![Action::FinalizeDeletion]);
}
