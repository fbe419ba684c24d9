//! Webhook tasks: turns a payload's `metadata` into a plan (a background task acknowledged at
//! once, or a blocking command whose exit status is the answer), and runs it.

pub mod blocking;
pub mod load;
pub mod ngrinder;
pub mod process;
pub mod runner;

use std::path::PathBuf;
use std::time::Duration;

use crate::go_duration::{self, DurationError};
use crate::hey_args::{self, HeyArgsError};
use crate::load_spec::LoadSpec;
use crate::payload::{CanaryRef, WebhookPayload};

pub use blocking::BlockingTask;
pub use runner::{Started, TaskRunner};

/// Where the external programs are, and the default deadline.
#[derive(Debug, Clone)]
pub struct TaskConfig {
    /// Deadline of a task without a `timeout` metadata key.
    pub default_timeout: Duration,
    /// Shell for `cmd` tasks.
    pub shell: PathBuf,
    /// Bash for `bash` tasks.
    pub bash: PathBuf,
    /// Helm for `helm` tasks.
    pub helm: PathBuf,
    /// Helm v3 for `helmv3` tasks.
    pub helmv3: PathBuf,
    /// kubectl for `kubectl` tasks.
    pub kubectl: PathBuf,
    /// Refuse tasks that run a program (`cmd` other than hey, `bash`, `helm`, `helmv3`,
    /// `kubectl`); only the native load generator and nGrinder run.
    pub commands_disabled: bool,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_secs(3600),
            shell: "sh".into(),
            bash: "bash".into(),
            helm: "helm".into(),
            helmv3: "helmv3".into(),
            kubectl: "kubectl".into(),
            commands_disabled: false,
        }
    }
}

/// Metadata that does not describe a runnable task; every variant is a 400.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No `metadata` at all.
    #[error("metadata not found in payload")]
    NoMetadata,
    /// A task that runs a program, and the load tester runs with `--disable-commands`.
    #[error("{0} tasks run programs, which this load tester refuses (--disable-commands)")]
    CommandsDisabled(String),
    /// A `type` this load tester does not know.
    #[error("unknown task type {0}")]
    UnknownType(String),
    /// A Flagger task type serin does not implement.
    #[error("task type {0} is not supported by serin-loadtester")]
    UnsupportedType(String),
    /// A task type that needs `cmd` got none.
    #[error("cmd not found in metadata")]
    NoCommand,
    /// `cmd` could not be split into words (unbalanced quotes).
    #[error("cannot split cmd {command:?}: {reason}")]
    BadCommand {
        /// The command.
        command: String,
        /// Why.
        reason: String,
    },
    /// The `timeout` key is not a duration.
    #[error("metadata timeout: {0}")]
    BadTimeout(#[from] DurationError),
    /// A hey command the native generator rejected.
    #[error("{0}")]
    Hey(#[from] HeyArgsError),
    /// A `load` task with bad fields.
    #[error("{0}")]
    Load(#[from] load::LoadFieldError),
    /// An `ngrinder` task with bad fields.
    #[error("{0}")]
    NGrinder(#[from] ngrinder::NGrinderFieldError),
}

/// What a webhook call asks for.
#[derive(Debug)]
pub enum Plan {
    /// Started in the background and acknowledged with 202; one instance per key.
    Background(BackgroundTask),
    /// Run now; the exit status becomes the HTTP status.
    Blocking(BlockingTask),
}

/// A task that runs after the call has been answered.
#[derive(Debug, Clone)]
pub struct BackgroundTask {
    /// The canary that asked.
    pub canary: CanaryRef,
    /// At most one task with this key runs at a time.
    pub key: String,
    /// The metadata `type`, for logs and metrics.
    pub kind: &'static str,
    /// What to do.
    pub work: BackgroundWork,
    /// Deadline.
    pub timeout: Duration,
    /// Log the command's output when it finishes.
    pub log_output: bool,
}

/// The body of a background task.
#[derive(Debug, Clone)]
pub enum BackgroundWork {
    /// A shell command (`sh -c`).
    Shell(String),
    /// A native load run (a `hey` command line or a `load` task).
    Load(Box<LoadSpec>),
    /// An nGrinder test run.
    NGrinder(Box<ngrinder::NGrinderTask>),
}

/// Reads a payload's metadata into a plan.
pub fn plan(
    payload: &WebhookPayload,
    canary: &CanaryRef,
    config: &TaskConfig,
) -> Result<Plan, TaskError> {
    let metadata = payload.metadata();
    if metadata.is_empty() {
        return Err(TaskError::NoMetadata);
    }
    let flag = |key: &str| metadata.get(key).is_some_and(|v| parse_bool(v));
    let timeout = match metadata.get("timeout") {
        Some(text) => go_duration::parse(text)?,
        None => config.default_timeout,
    };
    let command = metadata.get("cmd").map(String::as_str);
    let task_type = metadata.get("type").map_or("cmd", String::as_str);
    let background = |kind, key: String, work| {
        Plan::Background(BackgroundTask {
            canary: canary.clone(),
            key,
            kind,
            work,
            timeout,
            log_output: flag("logCmdOutput"),
        })
    };
    match task_type {
        "cmd" => {
            let command = command.ok_or(TaskError::NoCommand)?;
            let key = format!("{canary}\n{command}");
            let work = match hey_args::parse_command(command) {
                Ok(spec) => BackgroundWork::Load(Box::new(spec)),
                // Not hey, or an option only the real hey has: run it through the shell.
                Err(HeyArgsError::NotHey | HeyArgsError::Unsupported(_)) => {
                    if config.commands_disabled {
                        return Err(TaskError::CommandsDisabled("cmd".to_owned()));
                    }
                    BackgroundWork::Shell(command.to_owned())
                }
                Err(e) => return Err(e.into()),
            };
            Ok(background("cmd", key, work))
        }
        "load" => {
            let spec = load::spec_from_metadata(metadata)?;
            let key = format!("{canary}\nload\n{}", load::identity(metadata));
            Ok(background(
                "load",
                key,
                BackgroundWork::Load(Box::new(spec)),
            ))
        }
        "bash" | "helm" | "helmv3" | "kubectl" => {
            if config.commands_disabled {
                return Err(TaskError::CommandsDisabled(task_type.to_owned()));
            }
            let command = command.ok_or(TaskError::NoCommand)?;
            let task = blocking::BlockingTask::new(task_type, command, config, timeout)?
                .returning_output(flag("returnCmdOutput") || flag("logCmdOutput"));
            Ok(Plan::Blocking(task))
        }
        "ngrinder" => {
            let task = ngrinder::NGrinderTask::from_metadata(metadata)?;
            let key = format!("{canary}\nngrinder\n{}", task.clone);
            Ok(background(
                "ngrinder",
                key,
                BackgroundWork::NGrinder(Box::new(task)),
            ))
        }
        "concord" => Err(TaskError::UnsupportedType(task_type.to_owned())),
        other => Err(TaskError::UnknownType(other.to_owned())),
    }
}

/// Go's `strconv.ParseBool`, which Flagger uses for its flags.
fn parse_bool(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn payload(pairs: &[(&str, &str)]) -> (WebhookPayload, CanaryRef) {
        let payload = WebhookPayload {
            name: "podinfo".into(),
            namespace: "test".into(),
            metadata: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..WebhookPayload::default()
        };
        let canary = payload.canary().unwrap();
        (payload, canary)
    }

    fn planned(pairs: &[(&str, &str)]) -> Result<Plan, TaskError> {
        let (payload, canary) = payload(pairs);
        plan(&payload, &canary, &TaskConfig::default())
    }

    #[test]
    fn cmd_is_the_default_type_and_runs_in_the_background() {
        let Ok(Plan::Background(task)) = planned(&[("cmd", "echo hi"), ("timeout", "5s")]) else {
            panic!("expected a background task");
        };
        assert_eq!(task.kind, "cmd");
        assert_eq!(task.timeout, Duration::from_secs(5));
        assert!(matches!(task.work, BackgroundWork::Shell(ref c) if c == "echo hi"));
        assert_eq!(task.key, "podinfo.test\necho hi");
    }

    #[test]
    fn a_hey_cmd_becomes_a_native_load_run() {
        let Ok(Plan::Background(task)) = planned(&[("cmd", "hey -z 1m -q 10 -c 2 http://x/")])
        else {
            panic!("expected a background task");
        };
        assert!(matches!(task.work, BackgroundWork::Load(_)));
        let Ok(Plan::Background(real)) = planned(&[("cmd", "hey -h2 https://x/")]) else {
            panic!("expected a background task");
        };
        assert!(
            matches!(real.work, BackgroundWork::Shell(_)),
            "falls back to the real hey"
        );
    }

    #[test]
    fn blocking_types_return_output_when_asked() {
        let Ok(Plan::Blocking(task)) = planned(&[
            ("type", "kubectl"),
            ("cmd", "get pods -n test"),
            ("logCmdOutput", "true"),
        ]) else {
            panic!("expected a blocking task");
        };
        assert!(task.return_output);
        assert_eq!(task.args, ["get", "pods", "-n", "test"]);
    }

    #[test]
    fn bad_metadata_is_a_clear_error() {
        assert!(matches!(planned(&[]), Err(TaskError::NoMetadata)));
        assert!(matches!(
            planned(&[("type", "bash")]),
            Err(TaskError::NoCommand)
        ));
        assert!(matches!(
            planned(&[("type", "nope"), ("cmd", "x")]),
            Err(TaskError::UnknownType(_))
        ));
        assert!(matches!(
            planned(&[("type", "concord"), ("server", "x")]),
            Err(TaskError::UnsupportedType(_))
        ));
        assert!(matches!(
            planned(&[("type", "ngrinder"), ("server", "x")]),
            Err(TaskError::NGrinder(_))
        ));
        assert!(matches!(
            planned(&[("cmd", "x"), ("timeout", "soon")]),
            Err(TaskError::BadTimeout(_))
        ));
        assert!(matches!(
            planned(&[("cmd", "hey -z soon http://x/")]),
            Err(TaskError::Hey(_))
        ));
    }
}
