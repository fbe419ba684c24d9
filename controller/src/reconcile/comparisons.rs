//! Counting the windows of compared metrics (I/O: the metrics provider): for each metric with
//! a `comparison`, the requests and errors of canary and primary from the end of the last
//! window counted to `now - comparison delay`, for the decision core to judge.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serin_analysis::builtin::counts::{ArmQueries, CountQueries, ErrorCriterion, count_queries};
use serin_analysis::builtin::{BuiltinQuery, QueryFamily};
use serin_analysis::context::normalize_query;
use serin_analysis::counts::count_window;
use serin_crds::MetricTemplate;
use serin_crds::canary::{CanaryStatus, CrossNamespaceRef};
use serin_crds::metric_template::{MetricProvider, MetricProviderType};
use serin_crds::query_template::QueryTemplate;
use serin_crds::validation::{Comparison, CountSource, MetricCheck, MetricSource};

use super::caches::cached_or_get;
use super::context::Context;
use super::subject::Subject;
use crate::decide::{ComparisonCounts, ComparisonObservation};

/// One window of each compared metric.
pub(super) async fn count(
    ctx: &Context,
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
        let counts = match count_one(ctx, s, check, comparison, start, window_end).await {
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
    let criterion = match (&check.source, &comparison.counts) {
        (_, CountSource::Templates { requests, errors }) => {
            return count_with_templates(ctx, s, check, [requests, errors], end, window).await;
        }
        (MetricSource::Builtin(builtin), CountSource::BuiltinErrors) => {
            (*builtin, ErrorCriterion::ServerError)
        }
        (MetricSource::Builtin(builtin), CountSource::BuiltinSlowerThan(bound)) => {
            (*builtin, ErrorCriterion::SlowerThan(*bound))
        }
        _ => return Err("the comparison has no count queries".to_owned()),
    };
    let (builtin, criterion) = criterion;
    let router = s.valid.provider.unwrap_or(ctx.config.mesh_provider);
    let subject = s.plan_subject();
    let context = BuiltinQuery::new(builtin, router)
        .context(&subject.template_context("1m", check.variables.clone()));
    let queries = count_queries(
        QueryFamily::for_provider(router),
        criterion,
        &context,
        window,
    )
    .map_err(|e| e.to_string())?;
    // As the planner does: the Canary's own `metricsServer`, or the controller's.
    let address = subject.metrics_server(&ctx.config.metrics_server);
    let spec = MetricProvider {
        type_: MetricProviderType::Prometheus,
        address: Some(address.to_owned()),
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

/// Counts one window with the two MetricTemplates of the comparison, rendered once per arm with
/// `{{ target }}` set to the arm's workload and `{{ interval }}` to the window.
async fn count_with_templates(
    ctx: &Context,
    s: &Subject<'_>,
    check: &MetricCheck,
    refs: [&CrossNamespaceRef; 2],
    end: DateTime<Utc>,
    window: std::time::Duration,
) -> Result<serin_analysis::judge::Window, String> {
    let mut templates = Vec::new();
    for reference in refs {
        let namespace = reference
            .namespace
            .clone()
            .unwrap_or_else(|| s.id.namespace.clone());
        if ctx.config.no_cross_namespace_refs && namespace != s.id.namespace {
            return Err(format!(
                "MetricTemplate {namespace}/{} is in another namespace, which --no-cross-namespace-refs refuses",
                reference.name
            ));
        }
        let caches = ctx.caches();
        let cache = caches.covering(&namespace, caches.metric_templates.as_ref());
        let template =
            cached_or_get::<MetricTemplate>(&ctx.client, cache, &namespace, &reference.name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "MetricTemplate {namespace}/{} was not found",
                        reference.name
                    )
                })?;
        templates.push((namespace, template));
    }
    let [(namespace, requests), (_, errors)] =
        <[_; 2]>::try_from(templates).map_err(|_| "two MetricTemplates".to_owned())?;
    if requests.spec.provider != errors.spec.provider {
        return Err(
            "requestsTemplateRef and errorsTemplateRef must use the same provider".to_owned(),
        );
    }
    let interval = format!("{}ms", window.as_millis());
    let subject = s.plan_subject();
    let render = |template: &MetricTemplate, target: &str| -> Result<String, String> {
        let mut context = subject.template_context(&interval, check.variables.clone());
        target.clone_into(&mut context.target);
        QueryTemplate::parse(&template.spec.query)
            .and_then(|q| q.render(&context))
            .map(|q| normalize_query(&q))
            .map_err(|e| {
                format!(
                    "MetricTemplate {}: {e}",
                    template.metadata.name.as_deref().unwrap_or_default()
                )
            })
    };
    let target = &s.valid.target.name;
    let primary = format!("{target}-primary");
    let arm = |name: &str| -> Result<ArmQueries, String> {
        Ok(ArmQueries::Status {
            requests: render(&requests, name)?,
            errors: render(&errors, name)?,
        })
    };
    let queries = CountQueries {
        canary: arm(target)?,
        primary: arm(&primary)?,
    };
    let secret = match &requests.spec.provider.secret_ref {
        Some(r) => {
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
            let secret = api.get_opt(&r.name).await.map_err(|e| e.to_string())?;
            secret.map(|secret| {
                secret
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect::<std::collections::BTreeMap<_, _>>()
            })
        }
        None => None,
    };
    let provider = ctx
        .providers
        .provider(&requests.spec.provider, secret.as_ref())
        .map_err(|e| format!("{} provider: {e}", requests.spec.provider.type_.as_str()))?;
    count_window(provider.as_ref(), &queries, end, window)
        .await
        .map_err(|e| e.to_string())
}
