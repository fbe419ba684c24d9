//! Prints `serin analyze` results as a table or as JSON.

use std::fmt::Write as _;
use std::io::Write;

use serin_crds::canary::MetricOutcome;

use crate::outcome::CheckResult;
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
