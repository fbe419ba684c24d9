//! Runs planned metric checks against their providers: each with its own timeout, all of a
//! canary's checks concurrently, so a slow backend delays only the checks that use it.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::ProviderCache;
use crate::outcome::{CheckResult, NoDataKind};
use crate::plan::{MetricCheck, PlanFailure, SecretData};
use crate::provider::{MetricsProvider, QueryError, Reading};

/// Runs `check` once against `provider`, giving up after `timeout`.
pub async fn run_check(
    check: &MetricCheck,
    provider: &dyn MetricsProvider,
    timeout: Duration,
) -> CheckResult {
    let answer = match tokio::time::timeout(timeout, provider.query(&check.query)).await {
        Ok(answer) => answer,
        Err(_) => Err(QueryError::Timeout {
            address: check.provider.address.clone().unwrap_or_default(),
            timeout: humantime::format_duration(timeout).to_string(),
        }),
    };
    let builtin = check.builtin();
    let no_data = |kind| {
        CheckResult::no_data(
            &check.name,
            &check.query,
            kind,
            builtin.map(|b| b.family),
            check.thresholds,
            check.on_no_data,
        )
    };
    match answer {
        Ok(Reading::Value(raw)) => {
            let (value, unit) = match builtin {
                Some(b) => (b.to_unit(raw), b.metric.unit()),
                None => (raw, ""),
            };
            CheckResult::judged(
                &check.name,
                &check.query,
                value,
                unit,
                check.thresholds,
                check.on_no_data,
            )
        }
        Ok(Reading::Empty) => no_data(NoDataKind::Empty),
        Ok(Reading::NotANumber) => no_data(NoDataKind::NotANumber),
        Err(error) => {
            tracing::debug!(check = %check.name, category = error.category(), %error, "metric query failed");
            CheckResult::error(
                &check.name,
                Some(&check.query),
                &error,
                error.category(),
                check.thresholds,
                check.on_no_data,
            )
        }
    }
}

/// The result for a metric that could not be planned.
pub fn plan_failure_result(failure: &PlanFailure) -> CheckResult {
    CheckResult::error(
        &failure.name,
        None,
        &failure.error,
        failure.error.category(),
        failure.thresholds,
        serin_crds::canary::MetricNoData::Fail,
    )
}

/// Runs `checks` concurrently, each with `timeout`, and returns one result per check in the
/// same order.
pub async fn run_checks(
    checks: Vec<(MetricCheck, Arc<dyn MetricsProvider>)>,
    timeout: Duration,
) -> Vec<CheckResult> {
    let tasks: Vec<_> = checks
        .into_iter()
        .map(|(check, provider)| {
            let fallback = (
                check.name.clone(),
                check.query.clone(),
                check.thresholds,
                check.on_no_data,
            );
            let task =
                tokio::spawn(async move { run_check(&check, provider.as_ref(), timeout).await });
            (fallback, task)
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for ((name, query, thresholds, on_no_data), task) in tasks {
        results.push(match task.await {
            Ok(result) => result,
            Err(error) => {
                tracing::error!(%error, check = %name, "a metric check task failed");
                CheckResult::error(
                    &name,
                    Some(&query),
                    &error,
                    "internal",
                    thresholds,
                    on_no_data,
                )
            }
        });
    }
    results
}

/// Gets each check's provider from `providers` (with the Secret data in `secrets`, keyed by
/// namespace and name) and runs all checks concurrently, each with the cache's timeout. Plan
/// failures and provider errors become `Error` results in place, so the output has one result
/// per planned metric, in order.
pub async fn run_planned(
    planned: Vec<Result<MetricCheck, PlanFailure>>,
    secrets: &SecretData,
    providers: &ProviderCache,
) -> Vec<CheckResult> {
    let mut slots: Vec<Option<CheckResult>> = Vec::with_capacity(planned.len());
    let mut runnable = Vec::new();
    let mut positions = Vec::new();
    for item in planned {
        match item {
            Err(failure) => slots.push(Some(plan_failure_result(&failure))),
            Ok(check) => {
                let secret = check
                    .secret()
                    .and_then(|(ns, name)| secrets.get(&(ns.to_owned(), name.to_owned())));
                match providers.provider(&check.provider, secret) {
                    Ok(provider) => {
                        positions.push(slots.len());
                        slots.push(None);
                        runnable.push((check, provider));
                    }
                    Err(error) => slots.push(Some(CheckResult::error(
                        &check.name,
                        Some(&check.query),
                        &error,
                        error.category(),
                        check.thresholds,
                        check.on_no_data,
                    ))),
                }
            }
        }
    }
    let results = run_checks(runnable, providers.options().timeout).await;
    for (position, result) in positions.into_iter().zip(results) {
        slots[position] = Some(result);
    }
    slots.into_iter().flatten().collect()
}
