//! The comparison of canary and primary in one analysis step: the evidence read back from
//! status, this step's window added through the judge, and what the verdict means for the step.
//! Pure: the counts come in as observations.

use chrono::{DateTime, Utc};
use serin_crds::canary::{
    ArmTotals, ComparisonEvidence, ComparisonSides, ComparisonStatus, ComparisonVerdict,
};
use serin_crds::validation::{Comparison, MetricCheck};
use serin_judge::{
    Alpha, ArmCounts, Evidence, EvidenceStatus, Observed, Sides, StatusError, Verdict,
};

use super::observations::ComparisonCounts;
use super::step::Tick;

/// What one compared metric's step gave.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Judged {
    /// The metric's entry of `status.analysis.comparisons`.
    pub status: ComparisonStatus,
    /// What the step does about it.
    pub outcome: Outcome,
    /// Why the evidence in status was not used, when it was not (it restarts from zero).
    pub reset: Option<String>,
}

/// What a compared metric means for the step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// The evidence stays below the threshold.
    Continue,
    /// The evidence reached the threshold: roll back, with the explanation.
    Rollback(String),
    /// The window had no requests in an arm.
    NoData,
    /// The counts could not be read.
    ProviderError(String),
}

/// Adds this step's window of `check` to its evidence.
pub(crate) fn judge(t: &Tick<'_>, check: &MetricCheck, comparison: &Comparison) -> Judged {
    let previous = t
        .prev
        .analysis
        .as_ref()
        .filter(|a| a.revision == t.rev.attempted)
        .and_then(|a| a.comparisons.iter().find(|c| c.name == check.name));
    let (mut evidence, alpha, window_end, reset) = match previous.map(read_back) {
        Some(Ok((evidence, alpha, window_end))) => (evidence, alpha, window_end, None),
        Some(Err(why)) => (
            Evidence::new(comparison.hypothesis),
            comparison.alpha,
            None,
            Some(why),
        ),
        None => (
            Evidence::new(comparison.hypothesis),
            comparison.alpha,
            None,
            None,
        ),
    };
    let observed = t
        .observed
        .checks
        .as_ref()
        .and_then(|c| c.comparisons.iter().find(|o| o.name == check.name));
    let (outcome, window_end) = match observed {
        None => (
            Outcome::ProviderError("the comparison returned no counts".to_owned()),
            window_end,
        ),
        Some(o) => match &o.counts {
            ComparisonCounts::ProviderError(why) => {
                (Outcome::ProviderError(why.clone()), window_end)
            }
            ComparisonCounts::Counted(window) => {
                let outcome = match evidence.observe(window) {
                    Observed::Skipped(_) => Outcome::NoData,
                    Observed::Counted if evidence.verdict(alpha) == Verdict::Rollback => {
                        Outcome::Rollback(evidence.explain(alpha).to_string())
                    }
                    Observed::Counted => Outcome::Continue,
                };
                (outcome, Some(o.window_end))
            }
        },
    };
    Judged {
        status: status(&check.name, &evidence, alpha, window_end),
        outcome,
        reset,
    }
}

/// The evidence, level and window end of a status entry; an entry that does not fit is an
/// error saying why.
fn read_back(entry: &ComparisonStatus) -> Result<(Evidence, Alpha, Option<DateTime<Utc>>), String> {
    let alpha = Alpha::new(entry.alpha).map_err(|e| format!("alpha: {e}"))?;
    let evidence = match &entry.evidence {
        Some(e) => evidence_of(e).map_err(|e| e.to_string())?,
        None => return Err("the evidence is missing".to_owned()),
    };
    Ok((evidence, alpha, entry.window_end))
}

fn evidence_of(e: &ComparisonEvidence) -> Result<Evidence, StatusError> {
    let status = EvidenceStatus {
        version: e.version,
        sides: match e.sides {
            ComparisonSides::OneSided => Sides::OneSided,
            ComparisonSides::TwoSided => Sides::TwoSided,
        },
        margin: e.margin,
        windows: e.windows,
        skipped_windows: e.skipped_windows,
        canary: ArmCounts::new(e.canary.requests, e.canary.errors),
        primary: ArmCounts::new(e.primary.requests, e.primary.errors),
        log_likelihood_ratios: e.log_likelihood_ratios.clone(),
    };
    Evidence::try_from(&status)
}

/// The status entry of `evidence`, with its explanation.
pub(crate) fn status(
    name: &str,
    evidence: &Evidence,
    alpha: Alpha,
    window_end: Option<DateTime<Utc>>,
) -> ComparisonStatus {
    let e = EvidenceStatus::from(evidence);
    let explanation = evidence.explain(alpha);
    let totals = |c: ArmCounts| ArmTotals {
        requests: c.requests,
        errors: c.errors,
    };
    ComparisonStatus {
        name: name.to_owned(),
        alpha: alpha.value(),
        window_end,
        evidence: Some(ComparisonEvidence {
            version: e.version,
            sides: match e.sides {
                Sides::OneSided => ComparisonSides::OneSided,
                Sides::TwoSided => ComparisonSides::TwoSided,
            },
            margin: e.margin,
            windows: e.windows,
            skipped_windows: e.skipped_windows,
            canary: totals(e.canary),
            primary: totals(e.primary),
            log_likelihood_ratios: e.log_likelihood_ratios,
        }),
        verdict: Some(match explanation.verdict {
            Verdict::Continue => ComparisonVerdict::Continue,
            Verdict::Rollback => ComparisonVerdict::Rollback,
        }),
        log_evidence: Some(explanation.log_evidence),
        threshold: Some(explanation.threshold),
        ratio: explanation.estimate.map(|e| e.ratio),
        ratio_low: explanation.range.low,
        ratio_high: explanation.range.high,
        message: Some(explanation.to_string()),
    }
}
