//! `serin judge`: replays per-window counts of releases through the canary-versus-primary judge,
//! the code the controller runs, one JSON line in and one JSON line out per release.

use std::io::{BufRead, BufWriter, Write};

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::judge::{
    Alpha, Explanation, Hypothesis, Margin, ReleaseOutcome, Sides, Window, WindowError, replay,
};

/// Arguments of `serin judge`.
#[derive(Args, Clone, Debug, PartialEq)]
#[command(
    about = "Replay releases' counts through the canary-versus-primary judge",
    long_about = "Replay releases' per-window counts through the canary-versus-primary judge, \
                  the sequential test of serin's canary-versus-primary comparison, to calibrate \
                  it or to benchmark it.\n\n\
                  Reads standard input, one JSON object per line and release: \
                  {\"id\": \"r1\", \"windows\": [[canary_requests, canary_errors, \
                  primary_requests, primary_errors], ...]}. Blank lines are skipped.\n\
                  Writes one JSON line per release, in order: {\"id\": \"r1\", \"decision\": \
                  \"rollback\", \"window\": 3} (the 1-based window at which the evidence reached \
                  ln(1/alpha)) or {\"id\": \"r1\", \"decision\": \"promote\"}. A window without \
                  canary or primary requests adds nothing.\n\n\
                  Exit status: 0 when every line was judged; 2 at the first line that is not a \
                  release (not JSON, a missing field, a count that is not a non-negative \
                  integer, errors above requests), named with its line number on standard error \
                  after the releases before it were written."
)]
pub struct JudgeArgs {
    /// Level of the test: the chance, at most, that a canary no worse than the primary is ever
    /// rolled back, however many windows a release has. Between 0 and 1.
    #[arg(long, value_name = "ALPHA", default_value = "0.01", value_parser = parse_alpha)]
    pub alpha: Alpha,

    /// Roll back a canary that differs from the primary in either direction, not only one
    /// that fails more often.
    #[arg(long)]
    pub two_sided: bool,

    /// Tolerated error ratio (canary error rate over primary error rate): roll back only on
    /// evidence that the canary is worse than this. At least 1; one-sided only.
    #[arg(long, value_name = "RATIO", default_value = "1", value_parser = parse_margin,
          conflicts_with = "two_sided")]
    pub margin: Margin,

    /// Add to each output line the explanation: the estimated error ratio and its range, the
    /// evidence and threshold, and the counts, as fields and as a sentence.
    #[arg(long)]
    pub explain: bool,
}

fn parse_alpha(text: &str) -> Result<Alpha, String> {
    let alpha = text.parse::<f64>().map_err(|e| format!("{text}: {e}"))?;
    Alpha::new(alpha).map_err(|e| e.to_string())
}

fn parse_margin(text: &str) -> Result<Margin, String> {
    let margin = text.parse::<f64>().map_err(|e| format!("{text}: {e}"))?;
    Margin::new(margin).map_err(|e| e.to_string())
}

/// A line that is not a release.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Not JSON, or not the shape of a release.
    #[error("input line {line}: {message}")]
    Format {
        /// 1-based line number.
        line: usize,
        /// What is wrong, from the JSON reader.
        message: String,
    },
    /// A window whose counts cannot be a window.
    #[error("input line {line}: window {window}: {problem}")]
    Window {
        /// 1-based line number.
        line: usize,
        /// 1-based window number.
        window: usize,
        /// What is wrong.
        problem: WindowError,
    },
    /// The line could not be read (for example, it is not UTF-8).
    #[error("input line {line}: cannot be read: {problem}")]
    Read {
        /// 1-based line number.
        line: usize,
        /// The read error.
        problem: std::io::Error,
    },
}

impl ReplayError {
    /// A low-cardinality label.
    pub fn category(&self) -> &'static str {
        match self {
            ReplayError::Format { .. } => "invalid_release",
            ReplayError::Window { .. } => "invalid_window",
            ReplayError::Read { .. } => "unreadable_input",
        }
    }

    /// The 1-based number of the offending line.
    pub fn line(&self) -> usize {
        match self {
            ReplayError::Format { line, .. }
            | ReplayError::Window { line, .. }
            | ReplayError::Read { line, .. } => *line,
        }
    }
}

#[derive(Deserialize)]
struct Release {
    id: String,
    windows: Vec<[u64; 4]>,
}

#[derive(Serialize)]
struct Judged<'a> {
    id: &'a str,
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<Explanation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// Runs `serin judge`: reads releases from `input`, writes decisions to `out`. A bad line
/// stops the replay with a [`ReplayError`] (inside the `anyhow::Error`), after the decisions
/// of the lines before it were written and flushed; a failed write is the `std::io::Error`
/// itself, so that a closed pipe can be told apart.
pub fn run(args: &JudgeArgs, mut input: impl BufRead, out: impl Write) -> anyhow::Result<()> {
    let sides = if args.two_sided {
        Sides::TwoSided
    } else {
        Sides::OneSided
    };
    let hypothesis = Hypothesis::new(sides, args.margin)?;
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    let mut text = String::new();
    let mut windows = Vec::new();
    let mut encoded = Vec::new();
    for line in 1.. {
        text.clear();
        match input.read_line(&mut text) {
            Ok(0) => break,
            Ok(_) => {}
            Err(problem) => {
                out.flush()?;
                return Err(ReplayError::Read { line, problem }.into());
            }
        }
        if text.trim().is_empty() {
            continue;
        }
        let release = match parse(line, &text, &mut windows) {
            Ok(release) => release,
            Err(error) => {
                out.flush()?;
                return Err(error.into());
            }
        };
        let (outcome, evidence) = replay(hypothesis, args.alpha, &windows);
        let (decision, window) = match outcome {
            ReleaseOutcome::Rollback { window } => ("rollback", Some(window)),
            ReleaseOutcome::Promote => ("promote", None),
        };
        let explanation = args.explain.then(|| evidence.explain(args.alpha));
        let message = explanation.as_ref().map(ToString::to_string);
        // Encoded apart, so that a failed write reaches the caller as the I/O error itself.
        encoded.clear();
        serde_json::to_writer(
            &mut encoded,
            &Judged {
                id: &release.id,
                decision,
                window,
                explanation,
                message,
            },
        )?;
        encoded.push(b'\n');
        out.write_all(&encoded)?;
    }
    out.flush()?;
    Ok(())
}

/// Parses one line into its id and `windows` (reused between lines).
fn parse(line: usize, text: &str, windows: &mut Vec<Window>) -> Result<Release, ReplayError> {
    let release: Release = serde_json::from_str(text).map_err(|e| ReplayError::Format {
        line,
        message: e.to_string(),
    })?;
    windows.clear();
    for (index, counts) in release.windows.iter().enumerate() {
        let window = Window::from_counts(*counts).map_err(|problem| ReplayError::Window {
            line,
            window: index + 1,
            problem,
        })?;
        windows.push(window);
    }
    Ok(release)
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
