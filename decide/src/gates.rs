//! Gates, hooks and metric checks: which to run in a tick, and what their outcomes mean.

use serin_crds::canary::{MetricNoData, MetricOutcome, MetricResult, RevisionAnalysis};
use serin_crds::validation::{HookKind, ValidCanary};

use super::decision::HookCall;
use super::observations::HookOutcome;
use super::step::Tick;

/// The hooks of `kind`, in spec order.
pub(crate) fn hooks(canary: &ValidCanary, kind: HookKind) -> Vec<HookCall> {
    canary
        .webhooks
        .iter()
        .filter(|h| h.kind == kind)
        .map(|h| HookCall {
            name: h.name.clone(),
            kind,
        })
        .collect()
}

/// Whether every hook of `kind` answered 2xx (true when there are none).
pub(crate) fn all_passed(t: &Tick<'_>, kind: HookKind) -> bool {
    hooks(t.canary, kind)
        .iter()
        .all(|h| t.observed.hook(&h.name) == Some(HookOutcome::Passed))
}

/// The first hook of `kind` that answered 2xx.
pub(crate) fn first_passed(t: &Tick<'_>, kind: HookKind) -> Option<String> {
    hooks(t.canary, kind)
        .into_iter()
        .find(|h| t.observed.hook(&h.name) == Some(HookOutcome::Passed))
        .map(|h| h.name)
}

/// What one analysis step found.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Verdict {
    /// Why the step failed, one line per failed check.
    pub failures: Vec<String>,
    /// Metrics with `onNoData: Hold` that returned no data.
    pub no_data: Vec<String>,
    /// The latest result of each metric, in spec order.
    pub metrics: Vec<MetricResult>,
}

/// Judges the step: `pre-rollout` hooks on the first step (before any traffic), `rollout` hooks
/// and metric checks on every other.
pub(crate) fn verdict(t: &Tick<'_>, first_step: bool) -> Verdict {
    let mut v = Verdict::default();
    let kind = if first_step {
        HookKind::PreRollout
    } else {
        HookKind::Rollout
    };
    for h in hooks(t.canary, kind) {
        if t.observed.hook(&h.name) != Some(HookOutcome::Passed) {
            v.failures
                .push(format!("{} hook {} failed", kind.as_str(), h.name));
        }
    }
    if first_step {
        return v;
    }
    let results = t
        .observed
        .checks
        .as_ref()
        .map(|c| c.metrics.as_slice())
        .unwrap_or_default();
    for m in &t.canary.metrics {
        let result = results
            .iter()
            .find(|r| r.name == m.name)
            .cloned()
            .unwrap_or_else(|| MetricResult {
                name: m.name.clone(),
                outcome: MetricOutcome::Error,
                message: Some("the check returned no result".to_owned()),
                time: Some(t.now),
                ..MetricResult::default()
            });
        match (result.outcome, m.on_no_data) {
            (MetricOutcome::Pass, _) => {}
            (MetricOutcome::NoData, MetricNoData::Hold) => v.no_data.push(m.name.clone()),
            (outcome, _) => v.failures.push(format!(
                "metric {} {}{}",
                m.name,
                match outcome {
                    MetricOutcome::Fail => "out of range",
                    MetricOutcome::NoData => "returned no data",
                    _ => "could not be checked",
                },
                result
                    .message
                    .as_deref()
                    .map(|msg| format!(": {msg}"))
                    .unwrap_or_default()
            )),
        }
        v.metrics.push(result);
    }
    v
}

/// `status.analysis` after a step that ran metric checks.
pub(crate) fn analysis(t: &Tick<'_>, v: &Verdict) -> RevisionAnalysis {
    RevisionAnalysis {
        revision: t.rev.attempted.clone(),
        metrics: if v.metrics.is_empty() {
            t.prev
                .analysis
                .as_ref()
                .map(|a| a.metrics.clone())
                .unwrap_or_default()
        } else {
            v.metrics.clone()
        },
    }
}
