//! Runs one external program with a deadline, capturing stdout and stderr interleaved.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// Output kept per run; the rest is dropped (and said so).
const OUTPUT_LIMIT: usize = 1024 * 1024;
/// After the program exits, how long a background child may keep its output open.
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// A program that could not be run to completion.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be started (not installed, not executable...).
    #[error("starting {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for the program failed.
    #[error("waiting for {program}: {source}")]
    Wait {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The program ran past its deadline and was killed.
    #[error("{program} did not finish within {after:?} and was killed")]
    Timeout {
        /// The program.
        program: String,
        /// The deadline.
        after: Duration,
    },
}

/// How a finished program ended and what it printed.
#[derive(Debug, Clone)]
pub struct ProcessOutput {
    /// The exit status.
    pub status: ExitStatus,
    /// stdout and stderr, interleaved, lossily decoded.
    pub output: String,
}

impl ProcessOutput {
    /// Whether the program exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// Runs `program args...` in its own process group; kills the group after `timeout`.
pub async fn run(
    program: &str,
    args: &[String],
    timeout: Duration,
) -> Result<ProcessOutput, ProcessError> {
    let spawn_error = |source| ProcessError::Spawn {
        program: program.to_owned(),
        source,
    };
    let (reader, writer) = std::io::pipe().map_err(spawn_error)?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().map_err(spawn_error)?)
        .stderr(writer)
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(spawn_error)?;
    // Drop our copies of the write end so that the reader sees end-of-file.
    drop(command);
    let receiver =
        tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into()).map_err(spawn_error)?;
    let captured = Arc::new(Mutex::new(Vec::new()));
    let reading = tokio::spawn(read_capped(receiver, Arc::clone(&captured)));
    let waited = tokio::time::timeout(timeout, child.wait()).await;
    let result = match waited {
        Ok(Ok(status)) => {
            // A background child may hold the pipe open after the program exits.
            if tokio::time::timeout(OUTPUT_DRAIN, reading).await.is_err() {
                tracing::debug!(program, "output still open after exit; not waiting for it");
            }
            Ok(status)
        }
        Ok(Err(source)) => Err(ProcessError::Wait {
            program: program.to_owned(),
            source,
        }),
        Err(_) => {
            kill_group(&mut child).await;
            Err(ProcessError::Timeout {
                program: program.to_owned(),
                after: timeout,
            })
        }
    };
    let status = result?;
    let captured = captured.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(ProcessOutput {
        status,
        output: decode(&captured),
    })
}

async fn read_capped(
    mut receiver: tokio::net::unix::pipe::Receiver,
    captured: Arc<Mutex<Vec<u8>>>,
) {
    let mut buffer = [0_u8; 8192];
    while let Ok(n) = receiver.read(&mut buffer).await {
        if n == 0 {
            return;
        }
        let mut captured = captured.lock().unwrap_or_else(PoisonError::into_inner);
        let room = OUTPUT_LIMIT.saturating_sub(captured.len());
        captured.extend_from_slice(&buffer[..n.min(room)]);
    }
}

fn decode(captured: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(captured).into_owned();
    if captured.len() >= OUTPUT_LIMIT {
        text.push_str("\n[output truncated]");
    }
    text
}

async fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        // Kill the whole process group, so that `sh -c` children go too.
        let _ = tokio::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = child.kill().await;
}
