//! What the demo shows: one line per Canary state (phase, weights, checks, each metric against
//! its range), and the Events as they happen. Pure formatting; the caller decides where it goes.

use std::fmt::Write as _;

use serin_crds::Canary;
use serin_crds::canary::MetricOutcome;

/// The Canary's state in one line, e.g.
/// `Progressing  weight 40%  failed checks 0/2  request-success-rate 99.9 (>= 99) pass`.
pub fn status_line(canary: &Canary, threshold: u32) -> String {
    let Some(status) = &canary.status else {
        return "waiting for the controller".into();
    };
    let phase = status.phase.map_or("-", |p| {
        if p.as_str().is_empty() {
            "-"
        } else {
            p.as_str()
        }
    });
    let mut line = format!(
        "{phase:<16} weight {:>3}%  failed checks {}/{threshold}",
        status.canary_weight.unwrap_or(0),
        status.failed_checks.unwrap_or(0)
    );
    for m in status.analysis.iter().flat_map(|a| a.metrics.iter()) {
        let value = m
            .value
            .map_or_else(|| "no data".to_owned(), |v| format!("{v:.1}"));
        let range = m
            .threshold_range
            .map_or_else(String::new, |r| match (r.min, r.max) {
                (Some(min), Some(max)) => format!(" ({min}..{max})"),
                (Some(min), None) => format!(" (>= {min})"),
                (None, Some(max)) => format!(" (<= {max})"),
                (None, None) => String::new(),
            });
        let outcome = match m.outcome {
            MetricOutcome::Pass => "pass",
            MetricOutcome::Fail => "FAIL",
            MetricOutcome::NoData => "no data",
            MetricOutcome::Error => "error",
        };
        let _ = write!(line, "  {} {value}{range} {outcome}", m.name);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shows_phase_weight_checks_and_each_metric_against_its_range() {
        let canary: Canary = serde_json::from_value(json!({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": "podinfo"},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"}, "analysis": {}},
            "status": {"phase": "Progressing", "canaryWeight": 40, "failedChecks": 1,
                       "analysis": {"metrics": [
                           {"name": "request-success-rate", "value": 98.25, "thresholdRange": {"min": 99.0}, "outcome": "Fail"},
                           {"name": "request-duration", "thresholdRange": {"max": 500.0}, "outcome": "NoData"}]}}
        }))
        .unwrap();
        assert_eq!(
            status_line(&canary, 2),
            "Progressing      weight  40%  failed checks 1/2  request-success-rate 98.2 (>= 99) FAIL  request-duration no data (<= 500) no data"
        );
    }

    #[test]
    fn a_canary_without_status_is_waiting() {
        let canary: Canary = serde_json::from_value(json!({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": "podinfo"},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"}, "analysis": {}}
        }))
        .unwrap();
        assert_eq!(status_line(&canary, 2), "waiting for the controller");
    }
}
