//! Gates, hooks and metric checks: which to run in a tick, and what their outcomes mean.

use serin_crds::canary::{
    ComparisonStatus, MetricNoData, MetricOnError, MetricOutcome, MetricResult, RevisionAnalysis,
};
use serin_crds::validation::{HookKind, ValidCanary};

use super::comparison::{self, Outcome};
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
    /// Metrics with `onError: Hold` whose provider did not answer, with why.
    pub provider_errors: Vec<String>,
    /// The latest result of each metric with a threshold, in spec order.
    pub metrics: Vec<MetricResult>,
    /// The evidence of each compared metric, in spec order.
    pub comparisons: Vec<ComparisonStatus>,
    /// The first compared metric whose evidence reached its threshold, with the explanation.
    pub comparison_rollback: Option<(String, String)>,
    /// Compared metrics whose evidence in status could not be read back, with why.
    pub evidence_resets: Vec<(String, String)>,
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
        if let Some(c) = &m.comparison {
            compared(&mut v, t, m, c);
        }
        if m.range.is_none() {
            continue;
        }
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
        let message = result
            .message
            .as_deref()
            .map(|msg| format!(": {msg}"))
            .unwrap_or_default();
        match (result.outcome, m.on_no_data, m.on_error) {
            (MetricOutcome::Pass, _, _) => {}
            (MetricOutcome::NoData, MetricNoData::Hold, _) => v.no_data.push(m.name.clone()),
            (MetricOutcome::Error, _, MetricOnError::Hold) => v
                .provider_errors
                .push(format!("metric {} could not be checked{message}", m.name)),
            (outcome, _, _) => v.failures.push(format!(
                "metric {} {}{message}",
                m.name,
                match outcome {
                    MetricOutcome::Fail => "out of range",
                    MetricOutcome::NoData => "returned no data",
                    _ => "could not be checked",
                },
            )),
        }
        v.metrics.push(result);
    }
    v
}

/// Adds the step's window of a compared metric to its evidence, and records what it means.
fn compared(
    v: &mut Verdict,
    t: &Tick<'_>,
    m: &serin_crds::validation::MetricCheck,
    c: &serin_crds::validation::Comparison,
) {
    let judged = comparison::judge(t, m, c);
    if let Some(why) = judged.reset {
        v.evidence_resets.push((m.name.clone(), why));
    }
    match judged.outcome {
        Outcome::Continue => {}
        Outcome::Rollback(explanation) => {
            if v.comparison_rollback.is_none() {
                v.comparison_rollback = Some((m.name.clone(), explanation));
            }
        }
        Outcome::NoData => match m.on_no_data {
            MetricNoData::Hold => v.no_data.push(m.name.clone()),
            MetricNoData::Fail => v.failures.push(format!(
                "metric {} had no requests in the canary or the primary to compare",
                m.name
            )),
        },
        Outcome::ProviderError(why) => {
            let line = format!("metric {} could not be counted: {why}", m.name);
            match m.on_error {
                MetricOnError::Hold => v.provider_errors.push(line),
                MetricOnError::Fail => v.failures.push(line),
            }
        }
    }
    v.comparisons.push(judged.status);
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
        comparisons: if v.comparisons.is_empty() {
            t.prev
                .analysis
                .as_ref()
                .map(|a| a.comparisons.clone())
                .unwrap_or_default()
        } else {
            v.comparisons.clone()
        },
    }
}
