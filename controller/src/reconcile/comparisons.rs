//! Counting the windows of compared metrics (I/O: the metrics provider): for each metric with
//! a `comparison`, the requests and errors of canary and primary from the end of the last
//! window counted to `now - comparison delay`, for the decision core to judge.

use chrono::{DateTime, Utc};
use serin_analysis::builtin::counts::{ErrorCriterion, count_queries};
use serin_analysis::builtin::{BuiltinQuery, QueryFamily};
use serin_analysis::context::template_context;
use serin_analysis::counts::count_window;
use serin_crds::canary::CanaryStatus;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};
use serin_crds::validation::{Comparison, CountSource, MetricCheck, MetricSource};

use super::context::Context;
use super::subject::Subject;
use crate::decide::{ComparisonCounts, ComparisonObservation};

/// One window of each compared metric.
pub(super) async fn count(
    ctx: &Context,
    canary: &serin_crds::Canary,
    s: &Subject<'_>,
    status: &CanaryStatus,
    now: DateTime<Utc>,
) -> Vec<ComparisonObservation> {
    let delay = chrono::Duration::from_std(ctx.config.comparison_delay).unwrap_or_default();
    let window_end = now - delay;
    let mut observations = Vec::new();
    for check in &s.valid.metrics {
        let Some(comparison) = &check.comparison else {
            continue;
        };
        // The first window starts at the previous step (when the current weights were set),
        // shifted by the same delay; without one, it looks back over the metric's interval.
        let start = previous_end(status, &check.name)
            .or_else(|| status.last_analysis_time.map(|t| t - delay))
            .unwrap_or_else(|| {
                window_end - chrono::Duration::from_std(check.window).unwrap_or_default()
            });
        let counts = match count_one(ctx, canary, s, check, comparison, start, window_end).await {
            Ok(window) => ComparisonCounts::Counted(window),
            Err(why) => {
                tracing::info!(metric = %check.name, error = %why, "comparison not counted");
                ComparisonCounts::ProviderError(why)
            }
        };
        observations.push(ComparisonObservation {
            name: check.name.clone(),
            window_end,
            counts,
        });
    }
    observations
}

/// The end of the last window counted for `name` in this revision's analysis.
fn previous_end(status: &CanaryStatus, name: &str) -> Option<DateTime<Utc>> {
    let analysis = status.analysis.as_ref()?;
    if analysis.revision != status.last_attempted_spec {
        return None;
    }
    analysis
        .comparisons
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.window_end)
}

async fn count_one(
    ctx: &Context,
    canary: &serin_crds::Canary,
    s: &Subject<'_>,
    check: &MetricCheck,
    comparison: &Comparison,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<serin_analysis::judge::Window, String> {
    let window = (end - start)
        .to_std()
        .ok()
        .filter(|w| !w.is_zero())
        .ok_or_else(|| format!("the window from {start} to {end} is empty"))?;
    let (MetricSource::Builtin(builtin), criterion) = (
        &check.source,
        match &comparison.counts {
            CountSource::BuiltinErrors => ErrorCriterion::ServerError,
            CountSource::BuiltinSlowerThan(bound) => ErrorCriterion::SlowerThan(*bound),
            CountSource::Templates { .. } => {
                return Err(
                    "counting with requestsTemplateRef and errorsTemplateRef is not supported yet"
                        .to_owned(),
                );
            }
        },
    ) else {
        return Err(
            "counting with requestsTemplateRef and errorsTemplateRef is not supported yet"
                .to_owned(),
        );
    };
    let router = s.valid.provider.unwrap_or(ctx.config.mesh_provider);
    let metric = match builtin {
        serin_crds::validation::BuiltinMetric::RequestSuccessRate => {
            serin_analysis::builtin::BuiltinMetric::RequestSuccessRate
        }
        serin_crds::validation::BuiltinMetric::RequestDuration => {
            serin_analysis::builtin::BuiltinMetric::RequestDuration
        }
    };
    let context = BuiltinQuery::new(metric, router).context(&template_context(
        canary,
        "1m",
        check.variables.clone(),
    ));
    let queries = count_queries(
        QueryFamily::for_provider(router),
        criterion,
        &context,
        window,
    )
    .map_err(|e| e.to_string())?;
    // As the planner does: the Canary's own `metricsServer`, as written, or the controller's.
    let address = canary
        .spec
        .metrics_server
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| ctx.config.metrics_server.clone());
    let spec = MetricProvider {
        type_: MetricProviderType::Prometheus,
        address: Some(address),
        ..MetricProvider::default()
    };
    let provider = ctx
        .providers
        .provider(&spec, None)
        .map_err(|e| format!("prometheus provider: {e}"))?;
    count_window(provider.as_ref(), &queries, end, window)
        .await
        .map_err(|e| e.to_string())
}
