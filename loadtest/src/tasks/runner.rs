//! Runs background tasks, at most one per key (canary + command) at a time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use super::process;
use super::{BackgroundTask, BackgroundWork, TaskConfig};
use crate::generator;
use crate::metrics::Metrics;

/// Whether a background task was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// A new instance is running.
    Started,
    /// The same task is still running; nothing new was started.
    AlreadyRunning,
}

/// Starts background tasks and remembers which are running.
pub struct TaskRunner {
    running: Mutex<HashSet<String>>,
    metrics: Arc<Metrics>,
    config: TaskConfig,
}

impl TaskRunner {
    /// A runner that reports to `metrics`.
    pub fn new(config: TaskConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            running: Mutex::new(HashSet::new()),
            metrics,
            config,
        })
    }

    /// Starts `task` unless a task with the same key is running.
    pub fn start(self: &Arc<Self>, task: BackgroundTask) -> Started {
        {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            if !running.insert(task.key.clone()) {
                tracing::info!(canary = %task.canary, key = %task.key, "task already running; not starting another");
                return Started::AlreadyRunning;
            }
        }
        let guard = RunningGuard {
            runner: Arc::clone(self),
            key: task.key.clone(),
        };
        self.metrics.tasks_running.inc();
        tokio::spawn(async move {
            let result = execute(&guard.runner, &task).await;
            guard.runner.metrics.count_task(task.kind, result);
            drop(guard);
        });
        Started::Started
    }

    /// How many background tasks are running.
    pub fn running(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Removes the key when the task ends, however it ends.
struct RunningGuard {
    runner: Arc<TaskRunner>,
    key: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.runner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        self.runner.metrics.tasks_running.dec();
    }
}

/// Runs one task; returns the result label.
async fn execute(runner: &TaskRunner, task: &BackgroundTask) -> &'static str {
    let canary = &task.canary;
    match &task.work {
        BackgroundWork::Shell(command) => {
            tracing::info!(%canary, command, "command starting");
            let shell = runner.config.shell.to_string_lossy();
            let args = ["-c".to_owned(), command.clone()];
            match process::run(&shell, &args, task.timeout).await {
                Ok(out) if out.success() => {
                    if task.log_output {
                        tracing::info!(%canary, output = %out.output, "command output");
                    }
                    tracing::info!(%canary, command, "command finished");
                    "success"
                }
                Ok(out) => {
                    tracing::error!(%canary, command, status = %out.status, output = %out.output, "command failed");
                    "failure"
                }
                Err(process::ProcessError::Timeout { .. }) => {
                    tracing::error!(%canary, command, timeout = ?task.timeout, "command timed out");
                    "timeout"
                }
                Err(e) => {
                    tracing::error!(%canary, command, error = %e, "command failed");
                    "failure"
                }
            }
        }
        BackgroundWork::NGrinder(ngrinder) => {
            tracing::info!(%canary, server = %ngrinder.server, clone = ngrinder.clone, "nGrinder test starting");
            let deadline = tokio::time::Instant::now() + task.timeout;
            match ngrinder.run(deadline).await {
                Ok(()) => {
                    tracing::info!(%canary, clone = ngrinder.clone, "nGrinder test finished");
                    "success"
                }
                Err(e @ super::ngrinder::NGrinderError::Deadline { .. }) => {
                    tracing::error!(%canary, error = %e, "nGrinder test timed out");
                    "timeout"
                }
                Err(e) => {
                    tracing::error!(%canary, error = %e, "nGrinder test failed");
                    "failure"
                }
            }
        }
        BackgroundWork::Load(spec) => {
            let target = spec.request.target_label();
            tracing::info!(%canary, target, pace = ?spec.pace, stop = ?spec.stop, "load run starting");
            match tokio::time::timeout(task.timeout, generator::run(spec, &runner.metrics.load))
                .await
            {
                Ok(Ok(report)) => {
                    tracing::info!(
                        %canary,
                        target,
                        sent = report.sent,
                        missed = report.missed,
                        achieved_rps = report.achieved_rps(),
                        p99_ms = report.latency_quantile(0.99).as_secs_f64() * 1e3,
                        "load run finished"
                    );
                    if task.log_output {
                        tracing::info!(%canary, summary = %report.summary(), "load run summary");
                    }
                    "success"
                }
                Ok(Err(e)) => {
                    tracing::error!(%canary, target, error = %e, "load run failed");
                    "failure"
                }
                Err(_) => {
                    tracing::error!(%canary, target, timeout = ?task.timeout, "load run timed out");
                    "timeout"
                }
            }
        }
    }
}
