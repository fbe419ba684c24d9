//! Text output of `serin get`: the table of Canaries and the page of one Canary. Pure: views in,
//! strings out.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::style::Style;
use super::view::{CanaryRow, CanaryView};

/// How long ago `then` was, as kubectl writes ages: `45s`, `3m`, `5h`, `2d`.
pub fn age(then: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(then) = then else {
        return "-".to_owned();
    };
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..120 => format!("{secs}s"),
        120..7200 => format!("{}m", secs / 60),
        7200..172_800 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// Cells of one row of the table.
fn cells(row: &CanaryRow, all_namespaces: bool, now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    if all_namespaces {
        out.push(row.namespace.clone());
    }
    let phase = if row.paused {
        format!("{} (paused)", dash(&row.phase))
    } else {
        dash(&row.phase)
    };
    out.extend([
        row.name.clone(),
        phase,
        format!("{}%", row.weight),
        row.step.clone(),
        match row.threshold {
            Some(t) => format!("{}/{t}", row.failed_checks),
            None => row.failed_checks.to_string(),
        },
        age(row.last_transition, now),
        row.primary_revision.clone().unwrap_or_else(|| "-".into()),
        row.canary_revision.clone().unwrap_or_else(|| "-".into()),
    ]);
    out
}

fn dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

/// The header of the table.
pub fn header(all_namespaces: bool) -> Vec<String> {
    let mut out = Vec::new();
    if all_namespaces {
        out.push("NAMESPACE".to_owned());
    }
    out.extend(
        [
            "NAME",
            "PHASE",
            "WEIGHT",
            "STEP",
            "FAILED",
            "LAST CHANGE",
            "PRIMARY",
            "CANARY",
        ]
        .map(str::to_owned),
    );
    out
}

/// Widths that fit the header and every row.
pub fn widths(rows: &[CanaryRow], all_namespaces: bool, now: DateTime<Utc>) -> Vec<usize> {
    let mut widths: Vec<usize> = header(all_namespaces).iter().map(String::len).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(cells(row, all_namespaces, now)) {
            *w = (*w).max(cell.chars().count());
        }
    }
    widths
}

fn line(cells: &[String], widths: &[usize]) -> String {
    let mut text = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            text.push_str(cell);
        } else {
            let _ = write!(text, "{cell:<width$}   ");
        }
    }
    text
}

/// One row, padded to `widths`.
pub fn row_line(
    row: &CanaryRow,
    all_namespaces: bool,
    widths: &[usize],
    now: DateTime<Utc>,
) -> String {
    line(&cells(row, all_namespaces, now), widths)
}

/// The table of `serin get canaries`, or a sentence when there is nothing to show.
pub fn table(
    rows: &[CanaryRow],
    all_namespaces: bool,
    now: DateTime<Utc>,
    style: Style,
    scope: &str,
) -> String {
    if rows.is_empty() {
        return format!("No Canaries in {scope}.\n");
    }
    let widths = widths(rows, all_namespaces, now);
    let mut text = style.bold(&line(&header(all_namespaces), &widths));
    text.push('\n');
    for row in rows {
        text.push_str(&row_line(row, all_namespaces, &widths, now));
        text.push('\n');
    }
    text
}

/// One line for `--watch` without a terminal: what changes during a release.
pub fn status_line(view: &CanaryView) -> String {
    let r = &view.row;
    let mut text = format!(
        "{} {}  weight {}%  step {}  failed checks {}",
        r.name,
        dash(&r.phase),
        r.weight,
        r.step,
        match r.threshold {
            Some(t) => format!("{}/{t}", r.failed_checks),
            None => r.failed_checks.to_string(),
        }
    );
    if r.paused {
        text.push_str("  paused");
    }
    for m in &view.metrics {
        let value = m.value.map_or_else(
            || "-".to_owned(),
            |v| {
                format!("{v:.4}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_owned()
            },
        );
        let _ = write!(
            text,
            "  {} {value} ({}) {}",
            m.name,
            m.range,
            Style::PLAIN.outcome(m.outcome)
        );
    }
    text
}

/// The page of `serin get canary NAME`.
pub fn detail(view: &CanaryView, now: DateTime<Utc>, style: Style) -> String {
    let r = &view.row;
    let mut t = String::new();
    let label = |t: &mut String, name: &str| {
        let _ = write!(t, "{} ", style.bold(&format!("{name:<11}")));
    };
    label(&mut t, "Canary:");
    let _ = writeln!(t, "{}/{}", r.namespace, r.name);
    label(&mut t, "Phase:");
    let failed = match r.threshold {
        Some(th) => format!("{}/{th}", r.failed_checks),
        None => r.failed_checks.to_string(),
    };
    let failed = if r.failed_checks > 0 {
        style.warn(&failed)
    } else {
        failed
    };
    let _ = writeln!(
        t,
        "{}  weight {}%  failed checks {failed}  since {}{}",
        style.phase(&r.phase),
        r.weight,
        age(r.last_transition, now),
        if view.controls.paused {
            format!("  {}", style.warn("paused"))
        } else {
            String::new()
        },
    );
    label(&mut t, "Strategy:");
    match &view.interval {
        Some(i) => {
            let _ = writeln!(t, "{}, a step every {i}", view.strategy);
        }
        None => {
            let _ = writeln!(t, "{}", view.strategy);
        }
    }
    for problem in &view.problems {
        let _ = writeln!(t, "  {}", style.warn(problem));
    }
    label(&mut t, "Target:");
    let _ = writeln!(
        t,
        "{}",
        workload(&view.target, r.canary_revision.as_deref())
    );
    if let Some(p) = &view.primary {
        label(&mut t, "Primary:");
        let _ = writeln!(t, "{}", workload(p, r.primary_revision.as_deref()));
    }
    if !view.generated.is_empty() {
        label(&mut t, "Generated:");
        t.push('\n');
        let kind_w = view
            .generated
            .iter()
            .map(|o| o.kind.len())
            .max()
            .unwrap_or(0);
        let name_w = view
            .generated
            .iter()
            .map(|o| o.name.len())
            .max()
            .unwrap_or(0);
        for o in &view.generated {
            let _ = writeln!(
                t,
                "  {:<kind_w$}  {:<name_w$}  {}",
                o.kind, o.name, o.detail
            );
        }
    }
    if !view.steps.is_empty() {
        label(&mut t, "Steps:");
        let steps: Vec<String> = view
            .steps
            .iter()
            .map(|s| style.step(s.state, &s.label))
            .collect();
        let _ = writeln!(t, "{}", steps.join("  "));
    }
    if !view.metrics.is_empty() {
        label(&mut t, "Metrics:");
        t.push('\n');
        let name_w = view
            .metrics
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(0)
            .max(6);
        let range_w = view
            .metrics
            .iter()
            .map(|m| m.range.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let _ = writeln!(
            t,
            "  {}",
            style.dim(&format!(
                "{:<name_w$}  {:<range_w$}  {:<8}  {:<7}  {}",
                "METRIC", "RANGE", "VALUE", "OUTCOME", "CHECKED"
            ))
        );
        for m in &view.metrics {
            let value = m.value.map_or_else(
                || "-".to_owned(),
                |v| {
                    format!("{v:.4}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_owned()
                },
            );
            let outcome = style.outcome(m.outcome);
            let pad = 7usize.saturating_sub(Style::PLAIN.outcome(m.outcome).len());
            let _ = writeln!(
                t,
                "  {:<name_w$}  {:<range_w$}  {value:<8}  {outcome}{}  {}",
                m.name,
                m.range,
                " ".repeat(pad),
                m.time.map_or_else(
                    || "never".to_owned(),
                    |time| format!("{} ago", age(Some(time), now))
                ),
            );
            if let Some(message) = m
                .message
                .as_ref()
                .filter(|_| m.outcome != Some(serin_crds::canary::MetricOutcome::Pass))
            {
                let _ = writeln!(t, "    {}", style.dim(message));
            }
        }
    }
    if !view.webhooks.is_empty() {
        label(&mut t, "Webhooks:");
        t.push('\n');
        for w in &view.webhooks {
            let state = match (w.gate, w.holding) {
                (true, true) => format!("  {}", style.warn("gate, holding the release")),
                (true, false) => "  gate".to_owned(),
                _ => String::new(),
            };
            let _ = writeln!(t, "  {}  {}  {}{state}", w.name, w.kind, w.url);
        }
    }
    let interesting: Vec<_> = view
        .conditions
        .iter()
        .filter(|c| {
            c.reason != crate::decide::reason::AS_EXPECTED || c.type_ == crate::decide::READY
        })
        .collect();
    if !interesting.is_empty() {
        label(&mut t, "Conditions:");
        t.push('\n');
        for c in interesting {
            let _ = writeln!(
                t,
                "  {:<12} {:<7} {}  {}",
                c.type_,
                c.status,
                c.reason,
                style.dim(&c.message)
            );
        }
    }
    if !view.controls.pending.is_empty() {
        label(&mut t, "Requests:");
        let _ = writeln!(t, "{} (not acted on yet)", view.controls.pending.join(", "));
    }
    label(&mut t, "Events:");
    if view.events.is_empty() {
        t.push_str("none\n");
    } else {
        t.push('\n');
        for e in &view.events {
            let reason = if e.type_ == "Warning" {
                style.warn(&e.reason)
            } else {
                e.reason.clone()
            };
            let count = if e.count > 1 {
                format!(" (x{})", e.count)
            } else {
                String::new()
            };
            let _ = writeln!(t, "  {:>4}  {reason}  {}{count}", age(e.time, now), e.note);
        }
    }
    for note in &view.notes {
        let _ = writeln!(t, "{}", style.dim(&format!("note: {note}")));
    }
    t
}

fn workload(w: &super::view::WorkloadView, revision: Option<&str>) -> String {
    if !w.exists {
        return format!("{} {} (not found)", w.kind, w.name);
    }
    let mut text = format!("{} {}", w.kind, w.name);
    if !w.images.is_empty() {
        let _ = write!(text, "  {}", w.images.join(", "));
    }
    if let Some(ready) = &w.ready {
        let _ = write!(text, "  {ready}");
    }
    if let Some(rev) = revision {
        let _ = write!(text, "  revision {rev}");
    }
    text
}
