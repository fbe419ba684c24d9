//! Task types through `POST /`: background `cmd` with one instance per canary and command,
//! blocking `bash`/`helm`/`helmv3`/`kubectl` with exit status mapped to the HTTP status.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{eventually, get, memory_state, payload, post, spawn_loadtester};
use serde_json::json;
use serin_loadtest::gates::Gates;
use serin_loadtest::server::AppState;
use serin_loadtest::tasks::TaskConfig;

/// Writes an executable script that prints its name and arguments, then exits with `status`.
fn fake_program(dir: &Path, name: &str, status: i32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho \"{name} $*\"\nexit {status}\n"),
    )
    .expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn state_with_programs(dir: &Path, status: i32) -> AppState {
    let tasks = TaskConfig {
        helm: fake_program(dir, "helm", status),
        helmv3: fake_program(dir, "helmv3", status),
        kubectl: fake_program(dir, "kubectl", status),
        ..TaskConfig::default()
    };
    AppState::new(Gates::in_memory(), tasks, None)
}

#[tokio::test]
async fn cmd_starts_in_the_background_once_per_canary_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let release = dir.path().join("release");
    let command = format!(
        "echo run >> {log}; while [ ! -f {release} ]; do sleep 0.02; done",
        log = log.display(),
        release = release.display()
    );
    let state = memory_state();
    let runner = state.runner.clone();
    let addr = spawn_loadtester(state).await;
    let body = payload("test", json!({ "cmd": command }));

    assert_eq!(post(addr, "/", &body).await, (202, "started".to_owned()));
    assert_eq!(
        post(addr, "/", &body).await,
        (202, "already running".to_owned())
    );
    eventually("the command to start", Duration::from_secs(5), || async {
        std::fs::read_to_string(&log).is_ok_and(|s| s.lines().count() == 1)
    })
    .await;
    assert_eq!(runner.running(), 1);

    std::fs::write(&release, "").unwrap();
    eventually("the command to finish", Duration::from_secs(5), || async {
        runner.running() == 0
    })
    .await;
    assert_eq!(
        post(addr, "/", &body).await,
        (202, "started".to_owned()),
        "a finished command can run again"
    );
    eventually("the second run", Duration::from_secs(5), || async {
        runner.running() == 0
    })
    .await;
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
    let (_, metrics) = get(addr, "/metrics").await;
    assert!(
        metrics.contains(r#"serin_loadtester_tasks_total{type="cmd",result="success"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn cmd_past_its_timeout_metadata_is_killed() {
    let state = memory_state();
    let runner = state.runner.clone();
    let addr = spawn_loadtester(state).await;
    let body = payload("test", json!({ "cmd": "sleep 30", "timeout": "200ms" }));
    assert_eq!(post(addr, "/", &body).await.0, 202);
    eventually("the timeout", Duration::from_secs(5), || async {
        runner.running() == 0
    })
    .await;
    let (_, metrics) = get(addr, "/metrics").await;
    assert!(
        metrics.contains(r#"serin_loadtester_tasks_total{type="cmd",result="timeout"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn bash_success_is_200_with_output_and_failure_is_500_with_output() {
    let addr = spawn_loadtester(memory_state()).await;
    let ok = payload(
        "test",
        json!({ "type": "bash", "cmd": "echo hello from bash", "returnCmdOutput": "true" }),
    );
    assert_eq!(
        post(addr, "/", &ok).await,
        (200, "hello from bash\n".to_owned())
    );
    let quiet = payload("test", json!({ "type": "bash", "cmd": "echo hidden" }));
    assert_eq!(
        post(addr, "/", &quiet).await,
        (200, String::new()),
        "output only when asked"
    );
    let failing = payload(
        "test",
        json!({ "type": "bash", "cmd": "echo boom >&2; exit 3" }),
    );
    let (code, message) = post(addr, "/", &failing).await;
    assert_eq!(code, 500);
    assert!(
        message.contains("boom") && message.contains("exit status: 3"),
        "{message}"
    );
}

#[tokio::test]
async fn blocking_task_past_its_timeout_is_500() {
    let addr = spawn_loadtester(memory_state()).await;
    let slow = payload(
        "test",
        json!({ "type": "bash", "cmd": "sleep 30", "timeout": "200ms" }),
    );
    let (code, message) = post(addr, "/", &slow).await;
    assert_eq!(code, 500);
    assert!(message.contains("did not finish within"), "{message}");
}

#[tokio::test]
async fn helm_helmv3_and_kubectl_run_their_program_with_split_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let addr = spawn_loadtester(state_with_programs(dir.path(), 0)).await;
    for (kind, cmd, expected) in [
        (
            "helm",
            "test podinfo --cleanup",
            "helm test podinfo --cleanup\n",
        ),
        (
            "helmv3",
            "test podinfo -n test",
            "helmv3 test podinfo -n test\n",
        ),
        (
            "kubectl",
            "get pods -l 'app=podinfo'",
            "kubectl get pods -l app=podinfo\n",
        ),
    ] {
        let body = payload(
            "test",
            json!({ "type": kind, "cmd": cmd, "logCmdOutput": "true" }),
        );
        assert_eq!(
            post(addr, "/", &body).await,
            (200, expected.to_owned()),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn failing_or_missing_programs_are_500() {
    let dir = tempfile::tempdir().unwrap();
    let addr = spawn_loadtester(state_with_programs(dir.path(), 1)).await;
    let body = payload(
        "test",
        json!({ "type": "kubectl", "cmd": "rollout status deploy/podinfo" }),
    );
    let (code, message) = post(addr, "/", &body).await;
    assert_eq!(code, 500);
    assert!(
        message.contains("kubectl rollout status deploy/podinfo"),
        "{message}"
    );

    let tasks = TaskConfig {
        helm: dir.path().join("not-installed"),
        ..TaskConfig::default()
    };
    let addr = spawn_loadtester(AppState::new(Gates::in_memory(), tasks, None)).await;
    let (code, message) = post(
        addr,
        "/",
        &payload("test", json!({ "type": "helm", "cmd": "test x" })),
    )
    .await;
    assert_eq!(code, 500);
    assert!(message.contains("starting"), "{message}");
}

#[tokio::test]
async fn unsupported_flagger_types_and_bad_timeouts_are_400() {
    let addr = spawn_loadtester(memory_state()).await;
    let (code, message) = post(
        addr,
        "/",
        &payload("test", json!({ "type": "concord", "server": "x" })),
    )
    .await;
    assert_eq!(
        (code, message.as_str()),
        (
            400,
            "task type concord is not supported by serin-loadtester"
        )
    );
    let (code, message) = post(
        addr,
        "/",
        &payload("test", json!({ "type": "ngrinder", "server": "x" })),
    )
    .await;
    assert_eq!(code, 400);
    assert!(message.contains("required metadata"), "{message}");
    let (code, message) = post(
        addr,
        "/",
        &payload("test", json!({ "cmd": "true", "timeout": "later" })),
    )
    .await;
    assert_eq!(code, 400);
    assert!(message.contains("metadata timeout"), "{message}");
}
