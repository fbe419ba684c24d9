//! Throughput and memory of the emulator: 10,000 Deployments plus 10,000 Canary-like custom objects
//! with watches open, RSS in MiB, and simple GETs per second served by one core.
//!
//! Run with `cargo bench -p serin-sim --bench throughput`. Set `SIM_BENCH_OBJECTS` to change the count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams, WatchParams};
use serde_json::json;
use serin_sim::Server;

const CANARY_CRD: &str = "
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: canaries.flagger.app}
spec:
  group: flagger.app
  scope: Namespaced
  names: {plural: canaries, singular: canary, kind: Canary}
  versions:
  - name: v1beta1
    served: true
    storage: true
    subresources: {status: {}}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
";

static CLOSED_WATCHES: AtomicU64 = AtomicU64::new(0);

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn deployment(i: usize) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": format!("app-{i}"), "labels": {"app": format!("app-{i}"), "team": format!("t{}", i % 10)}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": format!("app-{i}")}},
            "template": {"metadata": {"labels": {"app": format!("app-{i}")},
                "annotations": {"sim.serin.dev/error-rate": "0.01"}},
                "spec": {"containers": [{"name": "app", "image": format!("registry.example/app:{i}"),
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "env": [{"name": "MODE", "value": "production"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}
    }))
    .expect("valid deployment")
}

fn canary(i: usize) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
        "metadata": {"name": format!("app-{i}")},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("app-{i}")},
            "service": {"port": 8080}, "analysis": {"interval": "1m", "threshold": 5, "maxWeight": 50, "stepWeight": 10,
            "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"}]}}
    }))
    .expect("valid canary")
}

/// Runs `count` requests through `concurrency` workers.
async fn in_parallel<F, Fut>(count: usize, concurrency: usize, make: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    futures::stream::iter(0..count)
        .map(make)
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    started.elapsed()
}

/// Starts the server alone on a single-threaded runtime (one core) and returns a client for it.
fn start_server() -> kube::Client {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let server = Server::start_default().await.expect("server");
            server.apply_yaml(CANARY_CRD).expect("crd");
            tx.send(server.client().expect("client"))
                .expect("send client");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("server started")
}

/// Opens `pairs` watches on each API and counts the events they receive.
async fn open_watches(
    deployments: &Api<Deployment>,
    canaries: &Api<DynamicObject>,
    pairs: usize,
) -> Arc<AtomicU64> {
    let received = Arc::new(AtomicU64::new(0));
    for _ in 0..pairs {
        let streams = [
            deployments
                .watch(&WatchParams::default(), "0")
                .await
                .expect("watch")
                .map(|_| ())
                .boxed(),
            canaries
                .watch(&WatchParams::default(), "0")
                .await
                .expect("watch")
                .map(|_| ())
                .boxed(),
        ];
        for mut stream in streams {
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                while stream.next().await.is_some() {
                    received.fetch_add(1, Ordering::Relaxed);
                }
                // The server closes a watch that falls too far behind (after an ERROR 410 event).
                CLOSED_WATCHES.fetch_add(1, Ordering::Relaxed);
            });
        }
    }
    received
}

async fn populate(deployments: &Api<Deployment>, canaries: &Api<DynamicObject>, objects: usize) {
    let elapsed = in_parallel(objects, 64, |i| {
        let api = deployments.clone();
        async move {
            api.create(&PostParams::default(), &deployment(i))
                .await
                .expect("create deployment");
        }
    })
    .await;
    println!(
        "create deployments: {objects} in {elapsed:.2?} = {:.0} req/s",
        rate(objects, elapsed)
    );
    let elapsed = in_parallel(objects, 64, |i| {
        let api = canaries.clone();
        async move {
            api.create(&PostParams::default(), &canary(i))
                .await
                .expect("create canary");
        }
    })
    .await;
    println!(
        "create canaries:    {objects} in {elapsed:.2?} = {:.0} req/s",
        rate(objects, elapsed)
    );
}

async fn measure_gets(deployments: &Api<Deployment>, objects: usize) {
    let gets = 50_000;
    let elapsed = in_parallel(gets, 64, |i| {
        let api = deployments.clone();
        async move {
            api.get(&format!("app-{}", (i * 7919) % objects))
                .await
                .expect("get");
        }
    })
    .await;
    println!(
        "GET deployment:     {gets} in {elapsed:.2?} = {:.0} req/s (server on one core)",
        rate(gets, elapsed)
    );
    let started = Instant::now();
    let list = deployments
        .list(&kube::api::ListParams::default().labels("team=t3"))
        .await
        .expect("list");
    println!(
        "list with selector: {} of {objects} in {:.2?}",
        list.items.len(),
        started.elapsed()
    );
}

fn main() {
    let objects: usize = std::env::var("SIM_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let client = start_server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let baseline = rss_mib();
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("flagger.app", "v1beta1", "Canary"),
            "canaries",
        );
        let canaries: Api<DynamicObject> = Api::namespaced_with(client, "default", &resource);
        let received = open_watches(&deployments, &canaries, 50).await;
        populate(&deployments, &canaries, objects).await;
        measure_gets(&deployments, objects).await;
        // Let the watchers drain what is still in flight (bounded wait).
        let expected = u64::try_from(100 * objects).unwrap_or(u64::MAX);
        let deadline = Instant::now() + Duration::from_secs(20);
        while received.load(Ordering::Relaxed) < expected
            && CLOSED_WATCHES.load(Ordering::Relaxed) == 0
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "watch events delivered to 100 watches: {} ({} watches closed for falling behind)",
            received.load(Ordering::Relaxed),
            CLOSED_WATCHES.load(Ordering::Relaxed)
        );
        println!(
            "RSS: {:.0} MiB (before objects {baseline:.0} MiB; client and server in one process)",
            rss_mib()
        );
    });
}

#[allow(clippy::cast_precision_loss, reason = "benchmark arithmetic")]
fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}
