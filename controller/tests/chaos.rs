//! Chaos against the Kubernetes API emulator and the simulated cluster: `serin controller`
//! processes are killed (SIGKILL), restarted and frozen (SIGSTOP/SIGCONT) at random points of
//! a release, and the release must still end in the right state. With two replicas under
//! leader election, the emulator's write audit must show that only the Lease holder wrote.
//!
//! The random points come from a seeded RNG; each test prints its seed, and
//! `SERIN_CHAOS_SEED=<seed>` replays it. `SERIN_TEST_LOGS=1` shows the controllers' logs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use serin_crds::Canary;
use serin_crds::canary::CanaryPhase;
use serin_sim::cluster::{Cluster, SimConfig};
use serin_sim::{AuditEntry, Server};

const NAMESPACE: &str = "default";

/// A Deployment and a blue/green Canary (Kubernetes router) analysed every second for
/// `iterations` steps; `hooks` is inserted under `analysis`.
fn podinfo(iterations: u32, threshold: u32, hooks: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: podinfo, namespace: default}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: podinfo}}}}
  template:
    metadata: {{labels: {{app: podinfo}}}}
    spec: {{containers: [{{name: podinfo, image: "podinfo:1"}}]}}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: default}}
spec:
  provider: kubernetes
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  progressDeadlineSeconds: 60
  service: {{port: 9898}}
  analysis:
    interval: 1s
    threshold: {threshold}
    iterations: {iterations}
{hooks}
"#
    )
}

fn seeded_rng(test: &str) -> StdRng {
    let seed = std::env::var("SERIN_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos();
            u64::from(nanos)
        });
    println!("{test}: SERIN_CHAOS_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

/// The emulator, the simulated cluster on it, and a kubeconfig for controller processes.
struct Env {
    server: Server,
    client: kube::Client,
    kubeconfig: PathBuf,
    _cluster: Cluster,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Self {
        let server = Server::start_default().await.expect("emulator");
        server
            .apply_yaml(&serin_controller::crds::crds_yaml().expect("crds"))
            .expect("apply CRDs");
        let client = server.client().expect("client");
        let sim = SimConfig {
            ready_delay: Duration::from_millis(100),
            tick: Duration::from_millis(100),
            ..SimConfig::default()
        };
        let cluster = Cluster::start(client.clone(), sim, &server.metrics_registry());
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        Self {
            server,
            client,
            kubeconfig,
            _cluster: cluster,
            _dir: dir,
        }
    }

    /// Starts `serin controller` as `identity` with `extra` flags.
    fn controller(&self, identity: &str, extra: &[&str]) -> Replica {
        let logs = std::env::var_os("SERIN_TEST_LOGS").is_some();
        let child = Command::new(env!("CARGO_BIN_EXE_serin"))
            .arg("controller")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--listen", "127.0.0.1:0", "--mesh-provider", "kubernetes"])
            .args(extra)
            .env("POD_NAME", identity)
            .env("RUST_LOG", if logs { "info" } else { "warn" })
            .stdout(Stdio::null())
            .stderr(if logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("start serin controller");
        Replica {
            identity: identity.to_owned(),
            child,
        }
    }

    async fn canary(&self) -> Option<Canary> {
        let canaries: Api<Canary> = Api::namespaced(self.client.clone(), NAMESPACE);
        canaries.get_opt("podinfo").await.ok().flatten()
    }

    async fn phase(&self) -> Option<CanaryPhase> {
        self.canary().await?.status?.phase
    }

    async fn wait_for_phase(&self, phase: CanaryPhase, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.phase().await;
            if now == Some(phase) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "phase {phase:?} not reached within {timeout:?}; last {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn is_terminal(&self) -> bool {
        matches!(
            self.phase().await,
            Some(CanaryPhase::Succeeded | CanaryPhase::Failed)
        )
    }

    async fn release(&self, image: &str) {
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), NAMESPACE);
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "podinfo", "image": image}]}}}});
        deployments
            .patch(
                "podinfo",
                &PatchParams::default(),
                &Patch::Strategic(&patch),
            )
            .await
            .expect("release");
    }

    async fn deployment(&self, name: &str) -> Deployment {
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), NAMESPACE);
        deployments.get(name).await.expect(name)
    }

    async fn image(&self, name: &str) -> Option<String> {
        let deployment = self.deployment(name).await;
        deployment.spec.template.spec?.containers[0].image.clone()
    }

    /// The final state of a finished release: `phase`, the primary running `primary_image`,
    /// the canary scaled to zero, and all traffic on the primary.
    async fn assert_finished(&self, phase: CanaryPhase, primary_image: &str) {
        let canary = self.canary().await.expect("the Canary exists");
        let status = canary.status.expect("status");
        assert_eq!(status.phase, Some(phase));
        assert_eq!(
            self.image("podinfo-primary").await.as_deref(),
            Some(primary_image)
        );
        let target = self.deployment("podinfo").await;
        assert_eq!(
            target.spec.replicas,
            Some(0),
            "the canary Deployment is scaled to zero"
        );
        assert_eq!(
            status.canary_weight.unwrap_or(0),
            0,
            "no traffic on the canary"
        );
        let services: Api<Service> = Api::namespaced(self.client.clone(), NAMESPACE);
        let apex = services.get("podinfo").await.expect("apex Service");
        let selector = apex.spec.and_then(|s| s.selector).unwrap_or_default();
        assert_eq!(
            selector.get("app").map(String::as_str),
            Some("podinfo-primary"),
            "the apex Service sends everything to the primary"
        );
    }

    async fn lease_holder(&self) -> Option<String> {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), NAMESPACE);
        leases
            .get_opt("serin-leader")
            .await
            .ok()
            .flatten()?
            .spec?
            .holder_identity
            .filter(|h| !h.is_empty())
    }
}

/// One controller process; killed when dropped (also when stopped), so a failing test leaves
/// nothing behind.
struct Replica {
    identity: String,
    child: Child,
}

impl Replica {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {}", self.identity);
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills the single controller at random points and restarts it at once, until the release
/// has ended or `kills` kills were made; returns how many were made and the running controller.
async fn kill_at_random(
    env: &Env,
    rng: &mut StdRng,
    kills: u32,
    gaps_ms: std::ops::Range<u64>,
) -> (u32, Replica) {
    let mut replica = env.controller("serin-0", &[]);
    let mut made = 0;
    for n in 1..=kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(gaps_ms.clone()))).await;
        if env.is_terminal().await {
            break;
        }
        replica.kill();
        made += 1;
        println!("kill {made} at phase {:?}", env.phase().await);
        replica = env.controller(&format!("serin-{n}"), &[]);
    }
    (made, replica)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_release_is_promoted_although_the_controller_is_killed_at_random_points() {
    let mut rng = seeded_rng("promote");
    let env = Env::start().await;
    let first = env.controller("serin-init", &[]);
    env.server
        .apply_yaml(&podinfo(6, 2, ""))
        .expect("apply podinfo");
    env.wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(20))
        .await;
    drop(first);

    env.release("podinfo:2").await;
    let (kills, _running) = kill_at_random(&env, &mut rng, 4, 300..1800).await;
    env.wait_for_phase(CanaryPhase::Succeeded, Duration::from_secs(40))
        .await;
    assert!(
        kills >= 2,
        "only {kills} kills happened before the release ended"
    );
    env.assert_finished(CanaryPhase::Succeeded, "podinfo:2")
        .await;
}

/// A webhook receiver on 127.0.0.1 that answers 500 to everything: every `rollout` gate fails.
async fn failing_webhook() -> SocketAddr {
    let app = axum::Router::new()
        .fallback(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_release_is_rolled_back_although_the_controller_is_killed_at_random_points() {
    let mut rng = seeded_rng("rollback");
    let env = Env::start().await;
    let webhook = failing_webhook().await;
    let hooks = format!(
        "    webhooks: [{{name: gate, type: rollout, url: \"http://{webhook}/gate\", timeout: 2s}}]"
    );
    let first = env.controller("serin-init", &[]);
    env.server
        .apply_yaml(&podinfo(10, 4, &hooks))
        .expect("apply podinfo");
    env.wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(20))
        .await;
    drop(first);

    env.release("podinfo:2").await;
    let (kills, _running) = kill_at_random(&env, &mut rng, 4, 200..1200).await;
    env.wait_for_phase(CanaryPhase::Failed, Duration::from_secs(40))
        .await;
    assert!(
        kills >= 2,
        "only {kills} kills happened before the release ended"
    );
    env.assert_finished(CanaryPhase::Failed, "podinfo:1").await;
}

/// Leader election with short timings (the hidden flags): lease 3 s, renew deadline 2 s.
const ELECTION: [&str; 9] = [
    "--enable-leader-election",
    "--leader-election-namespace",
    NAMESPACE,
    "--leader-election-lease-duration",
    "3s",
    "--leader-election-renew-deadline",
    "2s",
    "--leader-election-retry-period",
    "500ms",
];

#[derive(Debug, Clone, Copy)]
enum Chaos {
    /// SIGKILL, then a new process (under a new identity) in its place.
    Kill,
    /// SIGSTOP for longer than the lease, then SIGCONT: it wakes up after losing the Lease.
    Freeze,
}

/// Which replica holds the Lease, once one of the running ones does.
async fn leader(env: &Env, replicas: &[Replica]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let holder = env.lease_holder().await;
        if let Some(i) = replicas
            .iter()
            .position(|r| holder.as_deref() == Some(r.identity.as_str()))
        {
            return i;
        }
        assert!(
            Instant::now() < deadline,
            "no running replica took the Lease; held by {holder:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Returns as soon as the audit shows a new write by `identity` that is not to the Lease, or
/// after three seconds without one.
async fn writing(env: &Env, identity: &str) {
    let seen = env.server.audit().last().map_or(0, |e| e.seq);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let audit = env.server.audit();
        if audit
            .iter()
            .rev()
            .take_while(|e| e.seq > seen)
            .any(|e| !e.is_lease() && replica_of(&e.user_agent) == Some(identity))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The identity in a `serin/<version> (<identity>)` User-Agent.
fn replica_of(user_agent: &str) -> Option<&str> {
    let rest = user_agent.strip_prefix("serin/")?;
    let (_, identity) = rest.split_once(" (")?;
    identity.strip_suffix(')')
}

/// Checks the audit: every write that is not to the Lease was sent by the replica that, by the
/// Lease writes before it, held the Lease at that moment. Returns the writes checked and the
/// number of times the Lease changed hands.
fn assert_only_the_holder_wrote(audit: &[AuditEntry]) -> (usize, usize) {
    let mut holder: Option<&str> = None;
    let mut holders: Vec<&str> = Vec::new();
    let mut checked = 0;
    for entry in audit {
        if entry.is_lease() && entry.name.as_deref() == Some("serin-leader") {
            holder = entry.lease_holder.as_deref();
            if let Some(h) = holder
                && holders.last() != Some(&h)
            {
                holders.push(h);
            }
            continue;
        }
        // Writes without a `serin/` User-Agent come from the simulated cluster (it plays the
        // kubelet and the Deployment controller) and from this test's own release patch: they
        // are not controller replicas, so leadership does not apply to them.
        let Some(writer) = replica_of(&entry.user_agent) else {
            continue;
        };
        assert_eq!(
            holder,
            Some(writer),
            "write #{} ({} {} {:?}/{:?}) by {writer} while the Lease was held by {holder:?}",
            entry.seq,
            entry.verb,
            entry.resource,
            entry.namespace,
            entry.name
        );
        checked += 1;
    }
    println!("Lease holders in order: {holders:?}; {checked} writes checked");
    (checked, holders.len().saturating_sub(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_with_leader_election_never_both_write() {
    let mut rng = seeded_rng("leader");
    let env = Env::start().await;
    let mut replicas = vec![
        env.controller("serin-a-0", &ELECTION),
        env.controller("serin-b-0", &ELECTION),
    ];
    env.server
        .apply_yaml(&podinfo(10, 2, ""))
        .expect("apply podinfo");
    env.wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    env.release("podinfo:2").await;

    let mut plan = vec![Chaos::Kill, Chaos::Freeze];
    plan.push(if rng.random_bool(0.5) {
        Chaos::Kill
    } else {
        Chaos::Freeze
    });
    if rng.random_bool(0.5) {
        plan.swap(0, 1);
    }
    let mut restarts = 0;
    for chaos in plan {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        let i = leader(&env, &replicas).await;
        println!(
            "{chaos:?} {} at phase {:?}",
            replicas[i].identity,
            env.phase().await
        );
        match chaos {
            Chaos::Kill => {
                replicas[i].kill();
                restarts += 1;
                let name = format!("serin-{}-{restarts}", if i == 0 { "a" } else { "b" });
                replicas[i] = env.controller(&name, &ELECTION);
            }
            Chaos::Freeze => {
                // Freeze it mid-reconcile where possible: right after it is seen writing, so
                // that it wakes up with writes still to make.
                writing(&env, &replicas[i].identity).await;
                replicas[i].signal("-STOP");
                let frozen = Duration::from_millis(rng.random_range(4000..5500));
                tokio::time::sleep(frozen).await;
                replicas[i].signal("-CONT");
            }
        }
    }
    env.wait_for_phase(CanaryPhase::Succeeded, Duration::from_secs(45))
        .await;
    env.assert_finished(CanaryPhase::Succeeded, "podinfo:2")
        .await;

    let (checked, hand_overs) = assert_only_the_holder_wrote(&env.server.audit());
    assert!(checked > 0, "no controller write was audited");
    assert!(
        hand_overs >= 3,
        "the Lease changed hands only {hand_overs} times for 3 kills and freezes"
    );
}
