//! Running the checks the decision core asks for: gate and rollout webhooks, and metric queries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serin_analysis::plan::{PlanInputs, SecretData};
use serin_analysis::{ErrorKind, plan_checks, run_planned};
use serin_crds::canary::CanaryStatus;
use serin_crds::validation::MetricSource;

use super::announce::checksum;
use super::caches::cached_or_get;
use super::context::Context;
use super::error::{Error, Result};
use super::subject::Subject;
use crate::decide::{CheckRequest, CheckResults, HookOutcome};
use crate::webhooks::{HookPayload, Poll};

/// Calls the hooks and runs the metric checks of `request`. A hook that has not answered within
/// the configured wait is [`HookOutcome::Pending`]: its call goes on on its own task.
pub(super) async fn run_checks(
    ctx: &Context,
    s: &Subject<'_>,
    request: &CheckRequest,
    status: &CanaryStatus,
    now: DateTime<Utc>,
) -> Result<CheckResults> {
    let mut hooks = BTreeMap::new();
    for call in &request.hooks {
        let Some(hook) = s.valid.webhooks.iter().find(|h| h.name == call.name) else {
            continue;
        };
        let payload = HookPayload::new(
            &s.id.name,
            &s.id.namespace,
            status.phase.unwrap_or_default(),
            &checksum(status),
            hook,
            None,
        );
        let canary = format!("{}/{}", s.id.namespace, s.id.name);
        let outcome = match ctx.hook_runs.poll(&canary, hook, &payload).await {
            Poll::Done(Ok(_)) => HookOutcome::Passed,
            Poll::Done(Err(e)) => {
                tracing::info!(hook = %hook.name, error = %e, "webhook did not pass");
                HookOutcome::Failed
            }
            Poll::Running => HookOutcome::Pending,
        };
        hooks.insert(call.name.clone(), outcome);
    }
    let (metrics, comparisons) = if request.metrics {
        (
            metric_results(ctx, s, now).await?,
            super::comparisons::count(ctx, s, status, now).await,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(CheckResults {
        hooks,
        metrics,
        comparisons,
    })
}

async fn metric_results(
    ctx: &Context,
    s: &Subject<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<serin_crds::canary::MetricResult>> {
    let templates = templates(ctx, s).await?;
    // The Canary's own `metricsServer`, when it has one, is the planner's to apply.
    let metrics_server = ctx.config.metrics_server.clone();
    let overrides = serin_analysis::context::ContextOverrides::default();
    let inputs = PlanInputs {
        templates: &templates,
        metrics_server: &metrics_server,
        default_router: ctx.config.mesh_provider,
        overrides: &overrides,
    };
    // Metrics judged by their comparison alone have no threshold check: the planner skips them.
    let planned = plan_checks(&s.plan_subject(), &inputs);
    let secrets = secret_data(ctx, planned.iter().flatten()).await?;
    let results = run_planned(planned, &secrets, &ctx.providers, now).await;
    // A check that cannot run as configured stalls the Canary instead of counting a failure.
    if let Some(r) = results
        .iter()
        .find(|r| r.error_kind == Some(ErrorKind::Configuration))
    {
        return Err(Error::MetricCheck {
            metric: r.name.clone(),
            message: r.message.clone(),
        });
    }
    for r in &results {
        if let Some(value) = r.value {
            ctx.metrics
                .metric_analysis
                .get_or_create(&crate::metrics::MetricLabels {
                    name: s.valid.target.name.clone(),
                    namespace: s.id.namespace.clone(),
                    metric: r.name.clone(),
                })
                .set(value);
        }
    }
    Ok(results.iter().map(|r| r.to_status(now)).collect())
}

/// The MetricTemplates the checks name. With `--no-cross-namespace-refs`, templates of other
/// namespaces are not read (the check then reports its template missing).
async fn templates(ctx: &Context, s: &Subject<'_>) -> Result<Vec<serin_crds::MetricTemplate>> {
    let namespace = s.id.namespace.as_str();
    let caches = ctx.caches();
    let mut templates = Vec::new();
    for metric in &s.valid.metrics {
        let MetricSource::Template(reference) = &metric.source else {
            continue;
        };
        let ns = reference
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.to_owned());
        if ctx.config.no_cross_namespace_refs && ns != namespace {
            continue;
        }
        let cache = caches.covering(&ns, caches.metric_templates.as_ref());
        if let Some(t) = cached_or_get(&ctx.client, cache, &ns, &reference.name).await? {
            templates.push(t);
        }
    }
    Ok(templates)
}

/// The data of the Secrets the planned checks' providers need.
async fn secret_data(
    ctx: &Context,
    planned: impl Iterator<Item = &serin_analysis::MetricCheck>,
) -> Result<SecretData> {
    let mut secrets: SecretData = BTreeMap::new();
    for check in planned {
        if let Some((ns, name)) = check.secret() {
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
            if let Some(secret) = api.get_opt(name).await? {
                let data = secret
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect();
                secrets.insert((ns.to_owned(), name.to_owned()), data);
            }
        }
    }
    Ok(secrets)
}
