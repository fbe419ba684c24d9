//! `serin demo`: serin at work in one command, on an emulated cluster on this machine. It
//! releases podinfo twice: a healthy revision, promoted step by step, then a revision with a high
//! error rate, rolled back. It shows the Canary live and exits 0 when both ended as expected.

mod environment;
mod view;

pub use environment::{ClusterOptions, Environment, EnvironmentError, GATEWAY_API_CRDS};
pub use view::status_line;

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};

/// The demo's manifests for the Gateway API router.
pub const GATEWAY_API_EXAMPLE: &str =
    include_str!("../../../examples/demo/podinfo-gatewayapi.yaml");
/// The demo's manifests for the Kubernetes router.
pub const KUBERNETES_EXAMPLE: &str = include_str!("../../../examples/demo/podinfo-kubernetes.yaml");

/// Longest time one release may take before the demo gives up.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Which router the demo uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoRouter {
    /// A Gateway API HTTPRoute with weighted backends (progressive canary).
    Gatewayapi,
    /// Plain Kubernetes Services (blue/green).
    Kubernetes,
}

/// Flags of `serin demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Traffic router to demonstrate.
    #[arg(long, value_enum, default_value_t = DemoRouter::Gatewayapi)]
    pub router: DemoRouter,
    /// Print timestamped progress lines even on a terminal (the default when output is not one).
    #[arg(long)]
    pub plain: bool,
}

/// How one release ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseOutcome {
    /// The image released.
    pub image: String,
    /// Phase it ended in.
    pub phase: CanaryPhase,
    /// How long it took.
    pub took: Duration,
    /// Failed checks counted.
    pub failed_checks: u32,
}

/// Why the demo did not finish.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The environment did not start.
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    /// The cluster did not answer.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// A release did not finish in time.
    #[error("the release of {image} did not finish within {timeout:?} (last phase {phase})")]
    Timeout {
        /// Image being released.
        image: String,
        /// Limit.
        timeout: Duration,
        /// Phase when giving up.
        phase: CanaryPhase,
    },
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// Runs the demo, writing progress to `out`. Returns the two outcomes; the caller decides the
/// exit status (both as expected: promoted, then rolled back).
pub async fn run(
    args: &DemoArgs,
    out: &mut (impl Write + Send),
) -> Result<[ReleaseOutcome; 2], DemoError> {
    let live = !args.plain && std::io::stdout().is_terminal();
    let (provider, manifests) = match args.router {
        DemoRouter::Gatewayapi => (Provider::GatewayApiV1, GATEWAY_API_EXAMPLE),
        DemoRouter::Kubernetes => (Provider::Kubernetes, KUBERNETES_EXAMPLE),
    };
    let mut printer = Printer {
        live,
        hint: Vec::new(),
        started: Instant::now(),
        last_line: String::new(),
        events: Vec::new(),
        seen: BTreeSet::new(),
    };
    printer.say(out, "starting the Kubernetes API emulator, the simulated cluster, Prometheus and the load tester")?;
    let mut env = Environment::start(provider).await?;
    printer.say(
        out,
        &format!(
            "Prometheus at {}, load tester at {}",
            env.prometheus.url(),
            env.loadtester
        ),
    )?;
    let kubeconfig = DemoKubeconfig::write(&env)?;
    for line in hint(&kubeconfig.path) {
        printer.say(out, &line)?;
    }
    printer.hint = hint(&kubeconfig.path);
    env.start_controller()?;
    env.apply(manifests)?;
    printer.say(
        out,
        "applied podinfo and its Canary; waiting for serin to initialize it",
    )?;
    let threshold = 2;
    watch(
        &env,
        &mut printer,
        out,
        "ghcr.io/stefanprodan/podinfo:6.0.0",
        threshold,
        |p| p == CanaryPhase::Initialized,
    )
    .await?;

    let healthy = release(
        &env,
        &mut printer,
        out,
        "ghcr.io/stefanprodan/podinfo:6.1.0",
        "0.001",
        threshold,
    )
    .await?;
    let bad = release(
        &env,
        &mut printer,
        out,
        "ghcr.io/stefanprodan/podinfo:6.2.0",
        "0.2",
        threshold,
    )
    .await?;
    env.stop_controller().await;
    Ok([healthy, bad])
}

/// Whether the outcomes are the ones the demo sets out to show.
pub fn as_expected(outcomes: &[ReleaseOutcome; 2]) -> bool {
    outcomes[0].phase == CanaryPhase::Succeeded && outcomes[1].phase == CanaryPhase::Failed
}

/// A closing summary, one line per release.
pub fn summary(outcomes: &[ReleaseOutcome; 2]) -> String {
    let line = |o: &ReleaseOutcome, expected: CanaryPhase| {
        let verdict = if o.phase == expected {
            "as expected"
        } else {
            "NOT as expected"
        };
        let what = match o.phase {
            CanaryPhase::Succeeded => "promoted".to_owned(),
            CanaryPhase::Failed => format!("rolled back after {} failed checks", o.failed_checks),
            other => format!("ended {other}"),
        };
        format!(
            "{}: {what} in {:.0}s ({verdict})",
            o.image,
            o.took.as_secs_f64()
        )
    };
    format!(
        "{}\n{}",
        line(&outcomes[0], CanaryPhase::Succeeded),
        line(&outcomes[1], CanaryPhase::Failed)
    )
}

async fn release(
    env: &Environment,
    printer: &mut Printer,
    out: &mut (impl Write + Send),
    image: &str,
    error_rate: &str,
    threshold: u32,
) -> Result<ReleaseOutcome, DemoError> {
    printer.say(
        out,
        &format!("releasing {image} (simulated error rate {error_rate})"),
    )?;
    let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), "test");
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
        .await?;
    let started = Instant::now();
    // Wait for the release to start, then for it to end.
    watch(env, printer, out, image, threshold, |p| {
        matches!(p, CanaryPhase::Progressing | CanaryPhase::Failed)
    })
    .await?;
    let canary = watch(env, printer, out, image, threshold, |p| {
        matches!(p, CanaryPhase::Succeeded | CanaryPhase::Failed)
    })
    .await?;
    let status = canary.status.unwrap_or_default();
    Ok(ReleaseOutcome {
        image: image.to_owned(),
        phase: status.phase.unwrap_or_default(),
        took: started.elapsed(),
        failed_checks: status.failed_checks.unwrap_or(0),
    })
}

async fn watch(
    env: &Environment,
    printer: &mut Printer,
    out: &mut (impl Write + Send),
    image: &str,
    threshold: u32,
    done: impl Fn(CanaryPhase) -> bool,
) -> Result<Canary, DemoError> {
    let canaries: Api<Canary> = Api::namespaced(env.client.clone(), "test");
    let events_resource = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
        "events.k8s.io",
        "v1",
        "Event",
    ));
    let events: Api<DynamicObject> =
        Api::namespaced_with(env.client.clone(), "test", &events_resource);
    let deadline = Instant::now() + RELEASE_TIMEOUT;
    loop {
        let canary = canaries.get("podinfo").await?;
        for event in events.list(&ListParams::default()).await?.items {
            let name = event.metadata.name.clone().unwrap_or_default();
            if printer.seen.insert(name) {
                let reason = event.data["reason"].as_str().unwrap_or_default().to_owned();
                let note = event.data["note"].as_str().unwrap_or_default().to_owned();
                printer.event(out, &format!("{reason}: {note}"))?;
            }
        }
        printer.status(out, image, &status_line(&canary, threshold))?;
        let phase = canary
            .status
            .as_ref()
            .and_then(|s| s.phase)
            .unwrap_or_default();
        if done(phase) {
            return Ok(canary);
        }
        if Instant::now() > deadline {
            return Err(DemoError::Timeout {
                image: image.to_owned(),
                timeout: RELEASE_TIMEOUT,
                phase,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A kubeconfig for the demo's cluster (context namespace `test`), so that `serin get`,
/// `serin dashboard` and kubectl can look at it while the demo runs. Removed when dropped.
struct DemoKubeconfig {
    path: std::path::PathBuf,
}

impl DemoKubeconfig {
    fn write(env: &Environment) -> Result<DemoKubeconfig, DemoError> {
        let path =
            std::env::temp_dir().join(format!("serin-demo-{}.kubeconfig", std::process::id()));
        let mut config: kube::config::Kubeconfig =
            serde_yaml::from_str(&serin_sim::kubeconfig::render(&env.server.base_url()))
                .map_err(|e| DemoError::Output(std::io::Error::other(e)))?;
        for context in config
            .contexts
            .iter_mut()
            .filter_map(|c| c.context.as_mut())
        {
            context.namespace = Some("test".into());
        }
        let text = serde_yaml::to_string(&config)
            .map_err(|e| DemoError::Output(std::io::Error::other(e)))?;
        std::fs::write(&path, text)?;
        Ok(DemoKubeconfig { path })
    }
}

impl Drop for DemoKubeconfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How to look at the demo from another terminal while it runs.
fn hint(kubeconfig: &std::path::Path) -> Vec<String> {
    let k = kubeconfig.display();
    vec![
        "while the demo runs, watch it from another terminal:".to_owned(),
        format!("  serin get canary podinfo --watch --kubeconfig {k}"),
        format!("  serin dashboard --kubeconfig {k}   (then open http://127.0.0.1:3100/)"),
        format!("  (or export KUBECONFIG={k}; kubectl get canaries works too)"),
    ]
}

/// Writes progress: a redrawn screen on a terminal, timestamped lines otherwise.
struct Printer {
    live: bool,
    /// Shown under the title of the redrawn screen.
    hint: Vec<String>,
    started: Instant,
    last_line: String,
    events: Vec<String>,
    seen: BTreeSet<String>,
}

impl Printer {
    fn stamp(&self) -> String {
        format!("[{:>5.1}s]", self.started.elapsed().as_secs_f64())
    }

    fn say(&mut self, out: &mut impl Write, message: &str) -> std::io::Result<()> {
        self.events.push(format!("{} {message}", self.stamp()));
        if self.live {
            Ok(())
        } else {
            writeln!(out, "{} {message}", self.stamp())
        }
    }

    fn event(&mut self, out: &mut impl Write, message: &str) -> std::io::Result<()> {
        self.say(out, &format!("event {message}"))
    }

    fn status(&mut self, out: &mut impl Write, image: &str, line: &str) -> std::io::Result<()> {
        if self.live {
            // Clear the screen and redraw: the Canary on top, then the latest events.
            write!(out, "\x1b[2J\x1b[H")?;
            writeln!(out, "serin demo: releasing podinfo ({image})")?;
            for line in &self.hint {
                writeln!(out, "{line}")?;
            }
            writeln!(out)?;
            writeln!(out, "  {line}\n")?;
            for event in self.events.iter().rev().take(15).rev() {
                writeln!(out, "  {event}")?;
            }
            out.flush()?;
        } else if line != self.last_line {
            writeln!(out, "{} canary {line}", self.stamp())?;
        }
        line.clone_into(&mut self.last_line);
        Ok(())
    }
}
