//! Blocking tasks (`bash`, `helm`, `helmv3`, `kubectl`): the program runs while Flagger waits,
//! and its exit status is the answer.

use std::time::Duration;

use super::process::{self, ProcessError, ProcessOutput};
use super::{TaskConfig, TaskError};

/// A program to run to completion.
#[derive(Debug, Clone)]
pub struct BlockingTask {
    /// The metadata `type`.
    pub kind: &'static str,
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Deadline.
    pub timeout: Duration,
    /// Put the output in the response body on success.
    pub return_output: bool,
}

impl BlockingTask {
    /// `bash` runs `cmd` with `bash -c`; `helm`, `helmv3` and `kubectl` run their program with
    /// `cmd` split into arguments (quotes are honoured).
    pub fn new(
        kind: &str,
        command: &str,
        config: &TaskConfig,
        timeout: Duration,
    ) -> Result<Self, TaskError> {
        let (kind, program, args) = match kind {
            "bash" => (
                "bash",
                &config.bash,
                vec!["-c".to_owned(), command.to_owned()],
            ),
            "helm" => ("helm", &config.helm, split(command)?),
            "helmv3" => ("helmv3", &config.helmv3, split(command)?),
            "kubectl" => ("kubectl", &config.kubectl, split(command)?),
            other => return Err(TaskError::UnknownType(other.to_owned())),
        };
        Ok(Self {
            kind,
            program: program.to_string_lossy().into_owned(),
            args,
            timeout,
            return_output: false,
        })
    }

    /// Returns the output in the response body.
    #[must_use]
    pub fn returning_output(mut self, yes: bool) -> Self {
        self.return_output = yes;
        self
    }

    /// Runs the program.
    pub async fn run(&self) -> Result<ProcessOutput, ProcessError> {
        process::run(&self.program, &self.args, self.timeout).await
    }
}

fn split(command: &str) -> Result<Vec<String>, TaskError> {
    shell_words::split(command).map_err(|e| TaskError::BadCommand {
        command: command.to_owned(),
        reason: e.to_string(),
    })
}
