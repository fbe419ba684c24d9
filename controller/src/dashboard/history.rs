//! What the dashboard charts: each Canary's weight and each metric's results over time, kept
//! in memory from the watch since the dashboard started, seeded with what status holds. Pure.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serin_crds::Canary;
use serin_crds::canary::MetricOutcome;

/// Points kept per series; the oldest are dropped.
pub(super) const MAX_POINTS: usize = 1000;

/// The weight and phase at one time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeightPoint {
    /// When it was seen.
    pub time: DateTime<Utc>,
    /// Traffic to the canary, in percent.
    pub weight: u32,
    /// Phase.
    pub phase: String,
}

/// One metric result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricPoint {
    /// When the check ran.
    pub time: DateTime<Utc>,
    /// Its value, when it had one.
    pub value: Option<f64>,
    /// Its outcome.
    pub outcome: MetricOutcome,
}

/// The series of one Canary.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct History {
    /// Weight over time.
    pub weight: VecDeque<WeightPoint>,
    /// Each metric's results over time, by metric name.
    pub metrics: BTreeMap<String, VecDeque<MetricPoint>>,
}

fn push<T>(series: &mut VecDeque<T>, point: T) {
    if series.len() == MAX_POINTS {
        series.pop_front();
    }
    series.push_back(point);
}

impl History {
    /// Records what `canary`'s status says, seen at `now`: a weight point when the weight or
    /// phase changed, and every metric result newer than the last one recorded.
    pub fn record(&mut self, canary: &Canary, now: DateTime<Utc>) {
        let Some(status) = &canary.status else {
            return;
        };
        let weight = status.canary_weight.unwrap_or(0);
        let phase = status.phase.unwrap_or_default().as_str().to_owned();
        let changed = self
            .weight
            .back()
            .is_none_or(|last| last.weight != weight || last.phase != phase);
        if changed {
            push(
                &mut self.weight,
                WeightPoint {
                    time: now,
                    weight,
                    phase,
                },
            );
        }
        for result in status.analysis.iter().flat_map(|a| a.metrics.iter()) {
            let Some(time) = result.time else { continue };
            if self.metrics.len() >= 64 && !self.metrics.contains_key(&result.name) {
                continue;
            }
            let series = self.metrics.entry(result.name.clone()).or_default();
            if series.back().is_none_or(|last| last.time < time) {
                push(
                    series,
                    MetricPoint {
                        time,
                        value: result.value.filter(|v| v.is_finite()),
                        outcome: result.outcome,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canary(weight: u32, phase: &str, metric_time: &str, value: f64) -> Canary {
        serde_json::from_value(json!({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"}, "analysis": {}},
            "status": {"phase": phase, "canaryWeight": weight, "analysis": {"metrics": [
                {"name": "request-success-rate", "value": value, "outcome": "Pass", "time": metric_time}
            ]}},
        }))
        .expect("canary")
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn a_point_is_kept_for_each_change_of_weight_and_each_new_metric_result() {
        let mut h = History::default();
        h.record(
            &canary(10, "Progressing", "2026-01-01T00:00:01Z", 99.0),
            at("2026-01-01T00:00:01Z"),
        );
        // The same status seen again (another field changed) adds nothing.
        h.record(
            &canary(10, "Progressing", "2026-01-01T00:00:01Z", 99.0),
            at("2026-01-01T00:00:02Z"),
        );
        h.record(
            &canary(20, "Progressing", "2026-01-01T00:00:03Z", 98.0),
            at("2026-01-01T00:00:03Z"),
        );
        let weights: Vec<u32> = h.weight.iter().map(|p| p.weight).collect();
        assert_eq!(weights, [10, 20]);
        let values: Vec<Option<f64>> = h.metrics["request-success-rate"]
            .iter()
            .map(|p| p.value)
            .collect();
        assert_eq!(values, [Some(99.0), Some(98.0)]);
    }

    #[test]
    fn series_are_bounded() {
        let mut h = History::default();
        let start = at("2026-01-01T00:00:00Z");
        for i in 0..(MAX_POINTS + 10) {
            let phase = if i % 2 == 0 {
                "Progressing"
            } else {
                "Promoting"
            };
            let secs = i64::try_from(i).expect("small");
            h.record(
                &canary(10, phase, "2026-01-01T00:00:00Z", 1.0),
                start + chrono::Duration::seconds(secs),
            );
        }
        assert_eq!(h.weight.len(), MAX_POINTS);
        assert_eq!(h.weight.back().map(|p| p.phase.as_str()), Some("Promoting"));
    }
}
