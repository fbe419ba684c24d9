//! Prints `serin analyze` results as a table or as JSON, and runs and prints `--check`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use serin_crds::canary::MetricOutcome;
use serin_crds::metric_template::MetricProvider;

use crate::cache::ProviderCache;
use crate::outcome::CheckResult;
use crate::plan::{MetricCheck, PlanFailure, SecretData};
use crate::threshold::number;

/// Writes a table of `results`, then the message of each check that did not pass.
pub(super) fn table(results: &[CheckResult], out: &mut impl Write) -> std::io::Result<()> {
    if results.is_empty() {
        writeln!(out, "the canary has no metrics to check")?;
        return Ok(());
    }
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                outcome_name(r.outcome).to_owned(),
                r.value.map_or_else(|| "-".to_owned(), number),
                r.thresholds.to_string(),
                r.query.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let header = ["METRIC", "OUTCOME", "VALUE", "RANGE", "QUERY"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        text
    };
    writeln!(out, "{}", line(header))?;
    for row in &rows {
        writeln!(out, "{}", line(row.each_ref().map(String::as_str)))?;
    }
    let problems: Vec<_> = results
        .iter()
        .filter(|r| r.outcome != MetricOutcome::Pass)
        .collect();
    if !problems.is_empty() {
        writeln!(out)?;
        for r in problems {
            writeln!(
                out,
                "{} ({}): {}",
                r.name,
                outcome_name(r.outcome),
                r.message
            )?;
        }
    }
    Ok(())
}

/// Writes `results` as one JSON object.
pub(super) fn json(
    canary: &str,
    results: &[CheckResult],
    exit_code: u8,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let results: Vec<_> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name,
                "outcome": outcome_name(r.outcome),
                "value": r.value,
                "thresholdRange": { "min": r.thresholds.min, "max": r.thresholds.max },
                "query": r.query,
                "message": r.message,
                "errorCategory": r.error_category,
            })
        })
        .collect();
    let document = serde_json::json!({
        "canary": canary,
        "exitCode": exit_code,
        "results": results,
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

fn outcome_name(outcome: MetricOutcome) -> &'static str {
    match outcome {
        MetricOutcome::Pass => "Pass",
        MetricOutcome::Fail => "Fail",
        MetricOutcome::NoData => "NoData",
        MetricOutcome::Error => "Error",
    }
}

/// The online check of one provider the checks use.
pub(super) struct Online {
    /// `spec.provider.type`.
    kind: &'static str,
    /// The provider's address, or the address in the spec when it could not be built.
    address: String,
    /// The checks using it.
    checks: Vec<String>,
    /// Why it is not online.
    pub(super) error: Option<String>,
}

/// Runs the online check of every distinct provider of `planned`, concurrently.
pub(super) async fn check_providers(
    planned: &[Result<MetricCheck, PlanFailure>],
    secrets: &SecretData,
    providers: &ProviderCache,
) -> Vec<Online> {
    type Distinct<'a> = (
        MetricProvider,
        Option<&'a BTreeMap<String, Vec<u8>>>,
        Vec<String>,
    );
    let mut distinct: Vec<Distinct<'_>> = Vec::new();
    for check in planned.iter().flatten() {
        let secret = check
            .secret()
            .and_then(|(ns, name)| secrets.get(&(ns.to_owned(), name.to_owned())));
        match distinct
            .iter_mut()
            .find(|(spec, s, _)| *spec == check.provider && *s == secret)
        {
            Some((_, _, names)) => names.push(check.name.clone()),
            None => distinct.push((check.provider.clone(), secret, vec![check.name.clone()])),
        }
    }
    let timeout = providers.options().timeout;
    let checks = distinct
        .into_iter()
        .map(|(spec, secret, checks)| async move {
            let kind = spec.type_.as_str();
            match providers.provider(&spec, secret) {
                Err(e) => Online {
                    kind,
                    address: spec.address.clone().unwrap_or_default(),
                    checks,
                    error: Some(e.to_string()),
                },
                Ok(provider) => {
                    let result = tokio::time::timeout(timeout, provider.check_online()).await;
                    let error = match result {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(_) => Some(
                            crate::providers::http::timeout_error(provider.address(), timeout)
                                .to_string(),
                        ),
                    };
                    Online {
                        kind,
                        address: provider.address().to_owned(),
                        checks,
                        error,
                    }
                }
            }
        });
    futures_util::future::join_all(checks).await
}

/// Writes one line per provider: kind, address, online or not, the checks using it; then why
/// each provider that is not online is not.
pub(super) fn online_table(online: &[Online], out: &mut impl Write) -> std::io::Result<()> {
    if online.is_empty() {
        writeln!(out, "the canary has no metric checks with a provider")?;
        return Ok(());
    }
    for p in online {
        let state = if p.error.is_none() {
            "online"
        } else {
            "OFFLINE"
        };
        writeln!(
            out,
            "{:<16} {:<8} {}  (checks: {})",
            p.kind,
            state,
            p.address,
            p.checks.join(", ")
        )?;
    }
    for p in online {
        if let Some(error) = &p.error {
            writeln!(out, "\n{} ({}): {error}", p.kind, p.address)?;
        }
    }
    Ok(())
}

/// Writes the online checks as one JSON object.
pub(super) fn online_json(
    canary: &str,
    online: &[Online],
    exit_code: u8,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let providers: Vec<_> = online
        .iter()
        .map(|p| {
            serde_json::json!({
                "type": p.kind,
                "address": p.address,
                "online": p.error.is_none(),
                "checks": p.checks,
                "message": p.error,
            })
        })
        .collect();
    let document = serde_json::json!({
        "canary": canary,
        "exitCode": exit_code,
        "providers": providers,
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
