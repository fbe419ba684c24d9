//! The harness of the command-line tests: the demo's emulated cluster (API emulator, simulated
//! traffic, Prometheus, load tester and, when asked, the controller), a kubeconfig for it, and
//! helpers that run the real `serin` binary against it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use serin_controller::demo::Environment;
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};

/// A progressive release of podinfo through an HTTPRoute: 10% steps two seconds apart, up to
/// 50%.
pub(crate) const PODINFO: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata:
      labels: {app: podinfo}
      annotations: {sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}
    spec:
      containers: [{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0"}]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: gatewayapi:v1
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  progressDeadlineSeconds: 30
  service:
    port: 9898
    gatewayRefs: [{name: public, namespace: gateway}]
  analysis:
    interval: 2s
    threshold: 3
    stepWeight: 10
    maxWeight: 50
    metrics:
      - name: request-success-rate
        interval: 10s
        thresholdRange: {min: 90}
    webhooks:
      - name: smoke
        type: pre-rollout
        url: http://serin-loadtester.test/
        metadata: {type: bash, cmd: "echo ok"}
"#;

/// An emulated cluster and a kubeconfig for it (whose context's namespace is `default`).
pub(crate) struct Cluster {
    pub(crate) env: Environment,
    pub(crate) kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the cluster; with `controller`, serin's controller too.
    pub(crate) async fn start(controller: bool) -> Cluster {
        let mut env = Environment::start(Provider::GatewayApiV1)
            .await
            .expect("environment (scripts/test installs Prometheus)");
        if controller {
            env.start_controller().expect("controller");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        env.server
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig");
        Cluster {
            env,
            kubeconfig,
            _dir: dir,
        }
    }

    /// The `serin` binary with this cluster's kubeconfig, its arguments after it.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_serin"));
        cmd.args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env_remove("KUBECONFIG")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs `serin ARGS --kubeconfig ...` to completion.
    pub(crate) async fn serin(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(args);
        let output = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("serin runs");
        Run(output)
    }

    /// Starts `serin ARGS --kubeconfig ...`, reading its standard output line by line.
    pub(crate) fn spawn(&self, args: &[&str]) -> Lines {
        Lines::spawn(self.command(args))
    }

    /// Applies manifests.
    pub(crate) fn apply(&self, yaml: &str) {
        self.env.apply(yaml).expect("apply");
    }

    /// Changes podinfo's pod template: a new image with a simulated error rate.
    pub(crate) async fn release(&self, image: &str, error_rate: &str) {
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(self.env.client.clone(), "test");
        let patch = json!({"spec": {"template": {
            "metadata": {"annotations": {"sim.serin.dev/error-rate": error_rate}},
            "spec": {"containers": [{"name": "podinfo", "image": image}]}
        }}});
        deployments
            .patch(
                "podinfo",
                &PatchParams::default(),
                &Patch::Strategic(&patch),
            )
            .await
            .expect("patch target");
    }

    /// The Canary `test/podinfo`.
    pub(crate) async fn podinfo(&self) -> Canary {
        let api: Api<Canary> = Api::namespaced(self.env.client.clone(), "test");
        api.get("podinfo").await.expect("get canary")
    }

    /// Polls until `check` holds for `test/podinfo`, or fails after `timeout`.
    pub(crate) async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Canary) -> bool,
    ) -> Canary {
        let deadline = Instant::now() + timeout;
        loop {
            let canary = self.podinfo().await;
            if check(&canary) {
                return canary;
            }
            assert!(
                Instant::now() < deadline,
                "podinfo did not reach {what} within {timeout:?}: {}",
                serde_json::to_string_pretty(&canary.status).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls until `test/podinfo` is in `phase`.
    pub(crate) async fn wait_for_phase(&self, phase: CanaryPhase, timeout: Duration) -> Canary {
        self.wait_until(phase.as_str(), timeout, |c| phase_of(c) == phase)
            .await
    }
}

/// The phase of a Canary.
pub(crate) fn phase_of(c: &Canary) -> CanaryPhase {
    c.status.as_ref().and_then(|s| s.phase).unwrap_or_default()
}

/// The weight of a Canary.
pub(crate) fn weight_of(c: &Canary) -> u32 {
    c.status.as_ref().and_then(|s| s.canary_weight).unwrap_or(0)
}

/// A finished run of `serin`.
pub(crate) struct Run(pub(crate) Output);

impl Run {
    pub(crate) fn code(&self) -> Option<i32> {
        self.0.status.code()
    }

    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts the exit status, showing both outputs when it differs.
    pub(crate) fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// A running command whose standard output is read line by line; killed when dropped.
pub(crate) struct Lines {
    child: Child,
    incoming: mpsc::Receiver<String>,
    /// Every line read so far.
    pub(crate) seen: Vec<String>,
}

impl Lines {
    pub(crate) fn spawn(mut cmd: Command) -> Lines {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("command starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            child,
            incoming,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one matches `check`; fails with everything read after `timeout`.
    pub(crate) async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            while let Ok(line) = self.incoming.try_recv() {
                self.seen.push(line.clone());
                if check(&line) {
                    return line;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no line with {what} within {timeout:?}; output so far:\n{}",
                self.seen.join("\n")
            );
            assert!(
                self.child.try_wait().expect("child status").is_none() || !self.seen.is_empty(),
                "the command exited: {:?}",
                self.child.try_wait()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory holding `kubectl-serin`, a link to the `serin` binary, as a user installs the
/// plugin.
pub(crate) fn plugin_dir(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_serin"), bin.join("kubectl-serin"))
        .expect("symlink");
    bin
}
