//! The outcome of a lint run, printed as text lines or JSON, and its exit status.

use serde::Serialize;

use super::InputError;

/// One problem in one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `PATH` or `PATH#N`.
    pub source: String,
    /// Kind of the object.
    pub kind: String,
    /// Name of the object.
    pub name: String,
    /// Field path.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Everything a lint run found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// Serin objects checked.
    pub checked: usize,
    /// Problems in objects.
    pub findings: Vec<Finding>,
    /// What is valid but refused by the controller's default settings (a reference to another
    /// namespace); does not change the exit status.
    pub warnings: Vec<Finding>,
    /// Files that could not be read or are not YAML.
    pub input_errors: Vec<InputError>,
}

impl LintReport {
    /// 0 when everything is valid, 1 when an object is invalid, 2 when an input could not be
    /// read or parsed.
    pub fn exit_code(&self) -> u8 {
        if self.input_errors.is_empty() {
            u8::from(!self.findings.is_empty())
        } else {
            2
        }
    }

    /// One line per problem: `PATH[#doc]: kind/name: path: message`, then one per warning,
    /// the same with `warning: ` before the message.
    pub fn to_text(&self) -> String {
        let errors = self.input_errors.iter().map(|e| format!("{e}\n"));
        let line = |f: &Finding, prefix: &str| {
            let path = if f.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", f.path)
            };
            format!(
                "{}: {}/{}: {path}{prefix}{}\n",
                f.source, f.kind, f.name, f.message
            )
        };
        let findings = self.findings.iter().map(|f| line(f, ""));
        let warnings = self.warnings.iter().map(|f| line(f, "warning: "));
        errors.chain(findings).chain(warnings).collect()
    }

    /// A one-line summary for standard error.
    pub fn summary(&self) -> String {
        format!(
            "checked {} object(s): {} problem(s), {} unreadable input(s), {} warning(s)",
            self.checked,
            self.findings.len(),
            self.input_errors.len(),
            self.warnings.len()
        )
    }
}
