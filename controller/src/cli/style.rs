//! Colour and symbols for terminal output: ANSI styles on a terminal (unless `NO_COLOR` is
//! set), plain ASCII otherwise.

use anstyle::{AnsiColor, Style as Ansi};
use serin_crds::canary::MetricOutcome;

use super::view::StepState;

/// How text is decorated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours and Unicode symbols.
    pub color: bool,
}

impl Style {
    /// Plain text.
    pub const PLAIN: Style = Style { color: false };

    /// Colour when standard output is a terminal and `NO_COLOR` is unset.
    pub fn for_stdout() -> Style {
        use std::io::IsTerminal;
        Style {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(self, style: Ansi, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    /// A heading.
    pub fn bold(self, text: &str) -> String {
        self.paint(Ansi::new().bold(), text)
    }

    /// Secondary text.
    pub fn dim(self, text: &str) -> String {
        self.paint(Ansi::new().dimmed(), text)
    }

    /// A phase, coloured by what it means.
    pub fn phase(self, phase: &str) -> String {
        let color = match phase {
            "Succeeded" | "Initialized" => AnsiColor::Green,
            "Failed" => AnsiColor::Red,
            "Progressing" | "Promoting" | "Finalising" => AnsiColor::Cyan,
            "Waiting" | "WaitingPromotion" | "Initializing" => AnsiColor::Yellow,
            _ => return text_or_dash(phase),
        };
        self.paint(color.on_default().bold(), &text_or_dash(phase))
    }

    /// A metric outcome.
    pub fn outcome(self, outcome: Option<MetricOutcome>) -> String {
        let (text, color) = match outcome {
            Some(MetricOutcome::Pass) => ("Pass", AnsiColor::Green),
            Some(MetricOutcome::Fail) => ("Fail", AnsiColor::Red),
            Some(MetricOutcome::NoData) => ("NoData", AnsiColor::Yellow),
            Some(MetricOutcome::Error) => ("Error", AnsiColor::Red),
            None => return "-".to_owned(),
        };
        self.paint(color.on_default(), text)
    }

    /// A warning (an Event of type Warning, a failed check count).
    pub fn warn(self, text: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default(), text)
    }

    /// A step marker and its label.
    pub fn step(self, state: StepState, label: &str) -> String {
        match (state, self.color) {
            (StepState::Done, true) => {
                self.paint(AnsiColor::Green.on_default(), &format!("✔ {label}"))
            }
            (StepState::Current, true) => {
                self.paint(AnsiColor::Cyan.on_default().bold(), &format!("▶ {label}"))
            }
            (StepState::Next, true) => self.dim(&format!("· {label}")),
            (StepState::Done, false) => format!("[x] {label}"),
            (StepState::Current, false) => format!("[>] {label}"),
            (StepState::Next, false) => format!("[ ] {label}"),
        }
    }
}

fn text_or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}
