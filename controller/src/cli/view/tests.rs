//! The view of a Canary: steps placed by the status, the summary line, pending requests.

use serde_json::{Value, json};

use super::*;
use StepState::{Current, Done, Next};

#[allow(
    clippy::needless_pass_by_value,
    reason = "fixtures read like sentences"
)]
fn canary(analysis: Value, status: Value) -> Canary {
    serde_json::from_value(json!({
        "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test", "annotations": {}},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": analysis,
        },
        "status": status,
    }))
    .expect("canary")
}

fn progressive() -> Value {
    json!({"interval": "2s", "threshold": 3, "stepWeight": 10, "maxWeight": 30,
           "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"}]})
}

fn labels(view: &CanaryView) -> Vec<(String, StepState)> {
    view.steps
        .iter()
        .map(|s| (s.label.clone(), s.state))
        .collect()
}

fn s(label: &str, state: StepState) -> (String, StepState) {
    (label.to_owned(), state)
}

#[test]
fn a_progressive_release_marks_lower_weights_done_and_its_weight_current() {
    let c = canary(
        progressive(),
        json!({"phase": "Progressing", "canaryWeight": 20}),
    );
    let view = canary_view(&c, Related::default());
    assert_eq!(
        labels(&view),
        [
            s("10%", Done),
            s("20%", Current),
            s("30%", Next),
            s("promote", Next)
        ]
    );
    assert_eq!(view.row.step, "2/3");
    assert_eq!(view.strategy, "progressive");
    assert_eq!(view.interval.as_deref(), Some("2s"));
}

#[test]
fn a_promoted_release_has_every_step_done_and_an_idle_one_none() {
    let done = canary_view(
        &canary(progressive(), json!({"phase": "Succeeded"})),
        Related::default(),
    );
    assert!(
        labels(&done).iter().all(|(_, st)| *st == Done),
        "{:?}",
        labels(&done)
    );
    assert_eq!(done.row.step, "3/3");
    let idle = canary_view(
        &canary(progressive(), json!({"phase": "Initialized"})),
        Related::default(),
    );
    assert!(
        labels(&idle).iter().all(|(_, st)| *st == Next),
        "{:?}",
        labels(&idle)
    );
    assert_eq!(idle.row.step, "0/3");
}

#[test]
fn a_blue_green_release_counts_iterations() {
    let c = canary(
        json!({"interval": "1m", "threshold": 2, "iterations": 3}),
        json!({"phase": "Progressing", "iterations": 1}),
    );
    let view = canary_view(&c, Related::default());
    assert_eq!(view.strategy, "blue/green");
    assert_eq!(
        labels(&view),
        [
            s("iteration 1", Done),
            s("iteration 2", Current),
            s("iteration 3", Next),
            s("promote", Next)
        ]
    );
    assert_eq!(view.row.step, "2/3");
}

#[test]
fn each_metric_shows_its_range_and_last_result() {
    let c = canary(
        progressive(),
        json!({"phase": "Progressing", "canaryWeight": 10, "failedChecks": 1, "analysis": {"metrics": [
            {"name": "request-success-rate", "value": 97.5, "thresholdRange": {"min": 99}, "outcome": "Fail",
             "message": "below the minimum", "time": "2026-01-01T00:00:00Z"}]}}),
    );
    let view = canary_view(&c, Related::default());
    let m = &view.metrics[0];
    assert_eq!(
        (m.range.as_str(), m.min, m.max),
        (">= 99", Some(99.0), None)
    );
    assert_eq!(
        (m.value, m.outcome),
        (Some(97.5), Some(MetricOutcome::Fail))
    );
    assert_eq!(view.row.failed_checks, 1);
    assert_eq!(view.row.threshold, Some(3));
}

#[test]
fn requests_not_yet_acknowledged_are_pending_and_a_confirmed_pause_is_shown() {
    let mut c = canary(
        progressive(),
        json!({"phase": "Progressing", "manualControls": {"abort": "old", "paused": true}}),
    );
    c.metadata.annotations = Some(
        [
            ("serin.dev/abort".to_owned(), "old".to_owned()),
            ("serin.dev/promote".to_owned(), "new".to_owned()),
            ("serin.dev/pause".to_owned(), "true".to_owned()),
        ]
        .into(),
    );
    let view = canary_view(&c, Related::default());
    assert_eq!(view.controls.pending, ["serin.dev/promote=new"]);
    assert!(view.controls.paused && view.row.paused);
}

#[test]
fn a_gate_that_holds_the_release_is_marked() {
    let mut analysis = progressive();
    analysis["webhooks"] = json!([
        {"name": "approve", "type": "confirm-promotion", "url": "http://gate.test/"},
        {"name": "load", "type": "rollout", "url": "http://load.test/"}
    ]);
    let c = canary(
        analysis,
        json!({"phase": "WaitingPromotion", "conditions": [
            {"type": "Reconciling", "status": "True", "reason": "AwaitingPromotionApproval", "message": "waiting"}]}),
    );
    let view = canary_view(&c, Related::default());
    let holding: Vec<(&str, bool, bool)> = view
        .webhooks
        .iter()
        .map(|w| (w.name.as_str(), w.gate, w.holding))
        .collect();
    assert_eq!(holding, [("approve", true, true), ("load", false, false)]);
}

#[test]
fn an_invalid_spec_is_shown_with_its_problems() {
    let c = canary(json!({"interval": "1m"}), json!({}));
    let view = canary_view(&c, Related::default());
    assert_eq!(view.strategy, "invalid");
    assert_eq!(view.row.step, "invalid");
    assert!(
        view.problems.iter().any(|p| p.contains("stepWeight")),
        "{:?}",
        view.problems
    );
}

#[test]
fn only_the_latest_events_are_kept_oldest_first() {
    let events = (0..20)
        .map(|i| EventView {
            time: Some(DateTime::from_timestamp(1_700_000_000 + i, 0).expect("time")),
            type_: "Normal".into(),
            reason: format!("R{i}"),
            note: String::new(),
            count: 1,
        })
        .rev()
        .collect();
    let view = canary_view(
        &canary(progressive(), json!({})),
        Related {
            events,
            ..Related::default()
        },
    );
    assert_eq!(view.events.len(), EVENTS_SHOWN);
    assert_eq!(view.events[0].reason, "R5");
    assert_eq!(view.events[EVENTS_SHOWN - 1].reason, "R19");
}
