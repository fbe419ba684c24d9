//! Text output of `serin get`: the table of Canaries and the page of one Canary. Pure: views in,
//! strings out.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use serin_crds::canary::MetricOutcome;

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
        let value = number(m.value);
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

/// A number as a person writes it: `99.5`, `100`.
fn number(value: Option<f64>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |v| {
            format!("{v:.4}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        },
    )
}

/// Writes the page of one Canary, section by section.
struct Page<'a> {
    text: String,
    style: Style,
    now: DateTime<Utc>,
    view: &'a CanaryView,
}

impl Page<'_> {
    /// `Name:      ` before a value on the same line.
    fn label(&mut self, name: &str) {
        let _ = write!(self.text, "{} ", self.style.bold(&format!("{name:<11}")));
    }

    /// A heading alone on its line.
    fn heading(&mut self, name: &str) {
        let _ = writeln!(self.text, "{}", self.style.bold(name));
    }

    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn summary(&mut self) {
        let (r, style) = (&self.view.row, self.style);
        self.label("Canary:");
        self.line(&format!("{}/{}", r.namespace, r.name));
        self.label("Phase:");
        let failed = match r.threshold {
            Some(th) => format!("{}/{th}", r.failed_checks),
            None => r.failed_checks.to_string(),
        };
        let failed = if r.failed_checks > 0 {
            style.warn(&failed)
        } else {
            failed
        };
        let paused = if self.view.controls.paused {
            format!("  {}", style.warn("paused"))
        } else {
            String::new()
        };
        self.line(&format!(
            "{}  weight {}%  failed checks {failed}  since {}{paused}",
            style.phase(&r.phase),
            r.weight,
            age(r.last_transition, self.now),
        ));
        self.label("Strategy:");
        match &self.view.interval {
            Some(i) => self.line(&format!("{}, a step every {i}", self.view.strategy)),
            None => self.line(&self.view.strategy.clone()),
        }
        for problem in &self.view.problems {
            self.line(&format!("  {}", style.warn(problem)));
        }
    }

    fn objects(&mut self) {
        let (view, r) = (self.view, &self.view.row);
        self.label("Target:");
        self.line(&workload(&view.target, r.canary_revision.as_deref()));
        if let Some(p) = &view.primary {
            self.label("Primary:");
            self.line(&workload(p, r.primary_revision.as_deref()));
        }
        if view.generated.is_empty() {
            return;
        }
        self.heading("Generated:");
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
            self.line(
                format!("  {:<kind_w$}  {:<name_w$}  {}", o.kind, o.name, o.detail).trim_end(),
            );
        }
    }

    fn steps(&mut self) {
        if self.view.steps.is_empty() {
            return;
        }
        self.label("Steps:");
        let steps: Vec<String> = self
            .view
            .steps
            .iter()
            .map(|s| self.style.step(s.state, &s.label))
            .collect();
        self.line(&steps.join("  "));
    }

    fn metrics(&mut self) {
        let metrics = &self.view.metrics;
        if metrics.is_empty() {
            return;
        }
        self.heading("Metrics:");
        let name_w = metrics
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(0)
            .max(6);
        let range_w = metrics
            .iter()
            .map(|m| m.range.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let header = format!(
            "{:<name_w$}  {:<range_w$}  {:<8}  {:<7}  CHECKED",
            "METRIC", "RANGE", "VALUE", "OUTCOME"
        );
        self.line(&format!("  {}", self.style.dim(&header)));
        for m in metrics {
            let pad = 7usize.saturating_sub(Style::PLAIN.outcome(m.outcome).len());
            let checked = m.time.map_or_else(
                || "never".to_owned(),
                |time| format!("{} ago", age(Some(time), self.now)),
            );
            self.line(&format!(
                "  {:<name_w$}  {:<range_w$}  {:<8}  {}{}  {checked}",
                m.name,
                m.range,
                number(m.value),
                self.style.outcome(m.outcome),
                " ".repeat(pad),
            ));
            if let Some(message) = m
                .message
                .as_ref()
                .filter(|_| m.outcome != Some(MetricOutcome::Pass))
            {
                self.line(&format!("    {}", self.style.dim(message)));
            }
        }
    }

    fn webhooks(&mut self) {
        if self.view.webhooks.is_empty() {
            return;
        }
        self.heading("Webhooks:");
        for w in &self.view.webhooks {
            let state = match (w.gate, w.holding) {
                (true, true) => format!("  {}", self.style.warn("gate, holding the release")),
                (true, false) => "  gate".to_owned(),
                _ => String::new(),
            };
            self.line(&format!("  {}  {}  {}{state}", w.name, w.kind, w.url));
        }
    }

    fn conditions(&mut self) {
        let interesting: Vec<_> = self
            .view
            .conditions
            .iter()
            .filter(|c| {
                c.reason != crate::decide::reason::AS_EXPECTED || c.type_ == crate::decide::READY
            })
            .collect();
        if interesting.is_empty() {
            return;
        }
        self.heading("Conditions:");
        for c in interesting {
            self.line(&format!(
                "  {:<12} {:<7} {}  {}",
                c.type_,
                c.status,
                c.reason,
                self.style.dim(&c.message)
            ));
        }
        if !self.view.controls.pending.is_empty() {
            self.label("Requests:");
            self.line(&format!(
                "{} (not acted on yet)",
                self.view.controls.pending.join(", ")
            ));
        }
    }

    fn events(&mut self) {
        let events = &self.view.events;
        if events.is_empty() {
            self.label("Events:");
            self.line("none");
            return;
        }
        self.heading("Events:");
        let reason_w = events.iter().map(|e| e.reason.len()).max().unwrap_or(0);
        for e in events {
            let padded = format!("{:<reason_w$}", e.reason);
            let reason = if e.type_ == "Warning" {
                self.style.warn(&padded)
            } else {
                padded
            };
            let count = if e.count > 1 {
                format!(" (x{})", e.count)
            } else {
                String::new()
            };
            self.line(&format!(
                "  {:>4}  {reason}  {}{count}",
                age(e.time, self.now),
                e.note
            ));
        }
        for note in &self.view.notes {
            self.line(&self.style.dim(&format!("note: {note}")));
        }
    }
}

/// The page of `serin get canary NAME`.
pub fn detail(view: &CanaryView, now: DateTime<Utc>, style: Style) -> String {
    let mut page = Page {
        text: String::new(),
        style,
        now,
        view,
    };
    page.summary();
    page.objects();
    page.steps();
    page.metrics();
    page.webhooks();
    page.conditions();
    page.events();
    page.text
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
