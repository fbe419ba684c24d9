//! Flagger's metrics of a tick: the Canary's status, the Canaries per namespace, and when a
//! release ends, its duration and outcome.

use std::time::Instant;

use serin_crds::canary::{CanaryPhase, CanaryStatus};
use serin_crds::validation::{Strategy, ValidCanary};

use super::context::Context;
use super::subject::Identity;
use crate::metrics::{CanaryLabels, MetricLabels, NamespaceLabels, OutcomeLabels};

/// Records the metrics of a tick that moved the Canary from `previous` to `status`.
pub(super) fn record(
    ctx: &Context,
    valid: &ValidCanary,
    id: &Identity,
    previous: CanaryPhase,
    status: &CanaryStatus,
) {
    let phase = status.phase.unwrap_or_default();
    ctx.metrics
        .set_status(&valid.target.name, &id.namespace, phase);
    record_comparisons(ctx, valid, id, status);
    record_total(ctx);
    let key = format!("{}/{}", id.namespace, id.name);
    ctx.release_slots.record(&key, status);
    let start = {
        let mut started = ctx
            .release_started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(phase, CanaryPhase::Progressing | CanaryPhase::Waiting) {
            started.entry(key.clone()).or_insert_with(Instant::now);
        }
        if phase == previous || !matches!(phase, CanaryPhase::Succeeded | CanaryPhase::Failed) {
            return;
        }
        started.remove(&key)
    };
    record_outcome(ctx, valid, id, phase, start);
}

/// The evidence of each compared metric: `ln M` in Flagger's `canary_metric_analysis`, and
/// serin's evidence, threshold and ratio.
fn record_comparisons(ctx: &Context, valid: &ValidCanary, id: &Identity, status: &CanaryStatus) {
    let m = &ctx.metrics;
    let comparisons = status.analysis.iter().flat_map(|a| &a.comparisons);
    for c in comparisons {
        let labels = MetricLabels {
            name: valid.target.name.clone(),
            namespace: id.namespace.clone(),
            metric: c.name.clone(),
        };
        if let Some(evidence) = c.log_evidence {
            m.metric_analysis.get_or_create(&labels).set(evidence);
            m.comparison_evidence.get_or_create(&labels).set(evidence);
        }
        if let Some(threshold) = c.threshold {
            m.comparison_threshold.get_or_create(&labels).set(threshold);
        }
        if let Some(ratio) = c.ratio {
            m.comparison_ratio.get_or_create(&labels).set(ratio);
        }
    }
}

/// How often `flagger_canary_total` is counted again.
const TOTALS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// `flagger_canary_total` of every namespace.
fn record_total(ctx: &Context) {
    // Counting scans every cached Canary: at most once a second, not once per reconcile (which
    // would be quadratic in the number of Canaries per interval).
    {
        let mut last = ctx
            .canary_totals_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < TOTALS_EVERY) {
            return;
        }
        *last = Some(Instant::now());
    }
    let Some(store) = ctx.canary_cache() else {
        return;
    };
    let mut totals: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for canary in store.state() {
        let namespace = canary.metadata.namespace.clone().unwrap_or_default();
        *totals.entry(namespace).or_default() += 1;
    }
    for (namespace, total) in totals {
        ctx.metrics
            .canary_total
            .get_or_create(&NamespaceLabels { namespace })
            .set(total);
    }
}

/// The duration and outcome of a release that ended in `phase`.
fn record_outcome(
    ctx: &Context,
    valid: &ValidCanary,
    id: &Identity,
    phase: CanaryPhase,
    start: Option<Instant>,
) {
    let m = &ctx.metrics;
    let labels = CanaryLabels {
        name: valid.target.name.clone(),
        namespace: id.namespace.clone(),
    };
    if let Some(start) = start {
        m.canary_duration
            .get_or_create(&labels)
            .observe(start.elapsed().as_secs_f64());
    }
    let strategy = match valid.strategy {
        Strategy::Progressive { .. } => "canary",
        Strategy::BlueGreen { .. } => "blue-green",
        Strategy::ABTesting { .. } => "ab-testing",
    };
    let outcome = OutcomeLabels {
        name: valid.target.name.clone(),
        namespace: id.namespace.clone(),
        deployment_strategy: strategy.to_owned(),
        analysis_status: if valid.skip_analysis {
            "skipped"
        } else {
            "completed"
        }
        .to_owned(),
    };
    let counter = if phase == CanaryPhase::Succeeded {
        &m.successes
    } else {
        &m.failures
    };
    counter.get_or_create(&outcome).inc();
}

/// Counts the comparison evidence that this tick restarted because its status form could not
/// be read back.
pub(super) fn record_evidence_resets(
    ctx: &Context,
    valid: &ValidCanary,
    id: &Identity,
    actions: &[crate::decide::Action],
) {
    let resets = actions
        .iter()
        .filter(|a| {
            matches!(a, crate::decide::Action::Event { reason, .. }
                if *reason == crate::decide::event::COMPARISON_EVIDENCE_RESET)
        })
        .count();
    if resets > 0 {
        ctx.metrics
            .comparison_resets
            .get_or_create(&CanaryLabels {
                name: valid.target.name.clone(),
                namespace: id.namespace.clone(),
            })
            .inc_by(u64::try_from(resets).unwrap_or(u64::MAX));
    }
}
