//! Runs planned metric checks against their providers: each with its own timeout, all of a
//! canary's checks concurrently, so a slow backend delays only the checks that use it. A query
//! that got no answer is followed by the provider's online check, to tell a backend that is
//! down from a query it could not answer.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::cache::ProviderCache;
use crate::outcome::{CheckResult, ErrorKind, NoDataKind};
use crate::plan::{MetricCheck, PlanFailure, SecretData};
use crate::provider::{MetricsProvider, Query, QueryError, Reading};

/// Runs `check` once against `provider`, for the window ending at `at`, giving up after
/// `timeout`.
pub async fn run_check(
    check: &MetricCheck,
    provider: &dyn MetricsProvider,
    timeout: Duration,
    at: DateTime<Utc>,
) -> CheckResult {
    let query = Query {
        text: &check.query,
        window: check.window,
        at,
    };
    let answer = match tokio::time::timeout(timeout, provider.query(&query)).await {
        Ok(answer) => answer,
        Err(_) => Err(crate::providers::http::timeout_error(
            provider.address(),
            timeout,
        )),
    };
    let builtin = check.builtin();
    let no_data = |kind| {
        CheckResult::no_data(
            &check.name,
            provider.kind(),
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
                provider.kind(),
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
            tracing::debug!(check = %check.name, provider = provider.kind(), category = error.category(), %error, "metric query failed");
            let (kind, online) = classify(&error, provider, timeout).await;
            let message = match online {
                Some(online) => format!(
                    "{} provider: {error}; its online check failed too ({online}), so the provider is unavailable",
                    provider.kind()
                ),
                None => format!("{} provider: {error}", provider.kind()),
            };
            CheckResult::error(
                &check.name,
                Some(&check.query),
                &message,
                error.category(),
                kind,
                check.thresholds,
                check.on_no_data,
            )
        }
    }
}

/// The kind of a query error; for one that got no answer, the provider's online check decides
/// (and its error is returned when it failed too).
async fn classify(
    error: &QueryError,
    provider: &dyn MetricsProvider,
    timeout: Duration,
) -> (ErrorKind, Option<QueryError>) {
    if matches!(error, QueryError::InvalidQuery(_)) {
        return (ErrorKind::Configuration, None);
    }
    if !error.is_transport() {
        return (ErrorKind::Query, None);
    }
    let online = match tokio::time::timeout(timeout, provider.check_online()).await {
        Ok(online) => online,
        Err(_) => Err(crate::providers::http::timeout_error(
            provider.address(),
            timeout,
        )),
    };
    match online {
        Ok(()) => (ErrorKind::Query, None),
        Err(e) => (ErrorKind::Unavailable, Some(e)),
    }
}

/// The result for a metric that could not be planned.
pub fn plan_failure_result(failure: &PlanFailure) -> CheckResult {
    CheckResult::error(
        &failure.name,
        None,
        &failure.error,
        failure.error.category(),
        ErrorKind::Configuration,
        failure.thresholds,
        serin_crds::canary::MetricNoData::Fail,
    )
}

/// Runs `checks` concurrently, each with `timeout`, for windows ending at `at`, and returns one
/// result per check in the same order.
pub async fn run_checks(
    checks: Vec<(MetricCheck, Arc<dyn MetricsProvider>)>,
    timeout: Duration,
    at: DateTime<Utc>,
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
                tokio::spawn(
                    async move { run_check(&check, provider.as_ref(), timeout, at).await },
                );
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
                    ErrorKind::Query,
                    thresholds,
                    on_no_data,
                )
            }
        });
    }
    results
}

/// Gets each check's provider from `providers` (with the Secret data in `secrets`, keyed by
/// namespace and name) and runs all checks concurrently, each with the cache's timeout, for
/// windows ending at `at`. Plan failures and provider errors become `Error` results in place,
/// so the output has one result per planned metric, in order.
pub async fn run_planned(
    planned: Vec<Result<MetricCheck, PlanFailure>>,
    secrets: &SecretData,
    providers: &ProviderCache,
    at: DateTime<Utc>,
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
                    Err(error) => {
                        let kind = if error.is_configuration() {
                            ErrorKind::Configuration
                        } else {
                            ErrorKind::Query
                        };
                        let message =
                            format!("{} provider: {error}", check.provider.type_.as_str());
                        slots.push(Some(CheckResult::error(
                            &check.name,
                            Some(&check.query),
                            &message,
                            error.category(),
                            kind,
                            check.thresholds,
                            check.on_no_data,
                        )));
                    }
                }
            }
        }
    }
    let results = run_checks(runnable, providers.options().timeout, at).await;
    for (position, result) in positions.into_iter().zip(results) {
        slots[position] = Some(result);
    }
    slots.into_iter().flatten().collect()
}
