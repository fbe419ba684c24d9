//! Steady-state cost of the controller: API requests per Canary per analysis tick and the
//! controller's memory with many Canaries, against the Kubernetes API emulator.
//!
//! `cargo bench -p serin-controller --bench scale [-- CANARIES] [gatewayapi]` (default 1,000
//! Canaries with the `kubernetes` router). Each workload uses a ConfigMap, so config tracking
//! is exercised; with `gatewayapi` each Canary also has an HTTPRoute. The emulator runs in this
//! process; `serin controller` runs as its own process so that its memory can be
//! read from `/proc`. The simulated cluster marks the workloads ready and is then stopped, so
//! that every request counted afterwards is the controller's.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use serin_crds::Canary;
use serin_crds::canary::CanaryPhase;
use serin_sim::Server;
use serin_sim::cluster::{Cluster, SimConfig};

/// The analysis interval of every Canary: one tick.
const INTERVAL_SECONDS: u64 = 5;
/// Ticks measured in steady state.
const TICKS: u64 = 4;

fn manifests(count: usize, gateway_api: bool) -> String {
    let provider = if gateway_api {
        "gatewayapi:v1"
    } else {
        "kubernetes"
    };
    let mut yaml = String::new();
    for i in 0..count {
        let _ = write!(
            yaml,
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app{i}-config, namespace: bench}}\ndata: {{level: info}}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: bench}}\n\
             spec:\n  replicas: 1\n  selector: {{matchLabels: {{app: app{i}}}}}\n  template:\n    metadata: {{labels: {{app: app{i}}}}}\n    spec: {{containers: [{{name: app, image: 'app:1', envFrom: [{{configMapRef: {{name: app{i}-config}}}}]}}]}}\n\
             ---\napiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {{name: app{i}, namespace: bench}}\n\
             spec:\n  provider: {provider}\n  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: app{i}}}\n  service: {{port: 80, gatewayRefs: [{{name: public, namespace: gateway}}]}}\n  analysis: {{interval: {INTERVAL_SECONDS}s, threshold: 1, iterations: 1}}\n"
        );
    }
    yaml
}

/// Requests the emulator served so far, split into reads and writes.
fn requests(server: &Server) -> (f64, f64) {
    let mut text = String::new();
    let registry = server.metrics_registry();
    let guard = registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    prometheus_client::encoding::text::encode(&mut text, &guard).expect("encode metrics");
    let (mut reads, mut writes) = (0.0, 0.0);
    for line in text
        .lines()
        .filter(|l| l.starts_with("serin_sim_apiserver_requests_total{"))
    {
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        if ["verb=\"get\"", "verb=\"list\"", "verb=\"watch\""]
            .iter()
            .any(|v| line.contains(v))
        {
            reads += value;
        } else {
            writes += value;
        }
    }
    (reads, writes)
}

/// The controller process, killed when dropped so that a failed run leaves nothing behind.
struct ControllerProcess(std::process::Child);

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// What was written after audit entry `seq`, by verb and resource, most first.
fn written_since(server: &Server, seq: u64) -> Vec<(String, usize)> {
    let mut written = std::collections::BTreeMap::<String, usize>::new();
    for entry in server.audit().iter().filter(|e| e.seq > seq) {
        let what = format!(
            "{} {}{}",
            entry.verb,
            entry.resource,
            entry
                .subresource
                .as_ref()
                .map(|s| format!("/{s}"))
                .unwrap_or_default()
        );
        *written.entry(what).or_default() += 1;
    }
    let mut written: Vec<_> = written.into_iter().collect();
    written.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    written
}

/// Waits until all `count` Canaries are `Initialized`; fails after 600 s.
async fn wait_initialized(canaries: &Api<Canary>, count: usize) {
    let started = Instant::now();
    loop {
        let list = canaries
            .list(&ListParams::default())
            .await
            .expect("list canaries");
        let initialized = list
            .items
            .iter()
            .filter(|c| c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Initialized))
            .count();
        if initialized == count {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "only {initialized} of {count} initialized"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args()
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let gateway_api = std::env::args().any(|a| a == "gatewayapi");
    let server = Server::start_default().await.expect("emulator");
    if gateway_api {
        server
            .apply_yaml(serin_controller::demo::GATEWAY_API_CRDS)
            .expect("Gateway API CRDs");
    }
    server
        .apply_yaml(&serin_controller::crds::crds_yaml().expect("crds"))
        .expect("CRDs");
    server
        .apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n")
        .expect("namespace");
    server
        .apply_yaml(&manifests(count, gateway_api))
        .expect("workloads");
    let client = server.client().expect("client");
    let sim = SimConfig {
        rps: 1.0,
        pods: false,
        ready_delay: Duration::from_millis(10),
        ..SimConfig::default()
    };
    let cluster = Cluster::start(client.clone(), sim, &server.metrics_registry());
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let controller = Command::new(env!("CARGO_BIN_EXE_serin"))
        .args([
            "controller",
            "--listen",
            "127.0.0.1:0",
            "--concurrency",
            "32",
            // The client-side limit (100 requests a second by default, as in Flagger) would
            // pace the initial burst of writes; the bench measures the controller itself.
            "--kube-api-qps",
            "5000",
            "--kube-api-burst",
            "5000",
        ])
        .args(
            std::env::var("SERIN_BENCH_EXTRA")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serin controller");
    let controller = ControllerProcess(controller);

    let started = Instant::now();
    let canaries: Api<Canary> = Api::namespaced(client.clone(), "bench");
    wait_initialized(&canaries, count).await;
    let initialization = started.elapsed();
    drop(cluster);
    // Let in-flight work from initialization settle before measuring.
    tokio::time::sleep(Duration::from_secs(INTERVAL_SECONDS)).await;
    let (reads_before, writes_before) = requests(&server);
    let audited = server.audit().last().map_or(0, |e| e.seq);
    tokio::time::sleep(Duration::from_secs(INTERVAL_SECONDS * TICKS)).await;
    let (reads_after, writes_after) = requests(&server);
    let written = written_since(&server, audited);
    let rss = rss_mib(controller.0.id());
    drop(controller);

    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let per_tick = (count as f64) * (TICKS as f64);
    let router = if gateway_api {
        "gatewayapi"
    } else {
        "kubernetes"
    };
    println!(
        "canaries                                   {count} ({router} router, one tracked ConfigMap each)"
    );
    println!(
        "time to initialize all                     {:.1} s",
        initialization.as_secs_f64()
    );
    println!("steady state, over {TICKS} ticks of {INTERVAL_SECONDS} s:");
    println!(
        "  API reads per canary per tick            {:.3}",
        (reads_after - reads_before) / per_tick
    );
    println!(
        "  API writes per canary per tick           {:.3}",
        (writes_after - writes_before) / per_tick
    );
    for (what, count) in written.iter().take(5) {
        println!("    {count:>8} x {what}");
    }
    println!("controller resident memory                 {rss:.0} MiB");
}
