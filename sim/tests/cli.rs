//! The `serin-sim` binary: `serve` runs the API server with the simulated cluster and writes a
//! kubeconfig; `cluster` runs the simulation against an existing API server.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn get(addr: &str, path: &str) -> Option<String> {
    let output = Command::new("curl")
        .args(["-sf", &format!("http://{addr}{path}")])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_writes_a_kubeconfig_and_cluster_attaches_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let (api, metrics, cluster_metrics) = (free_port(), free_port(), free_port());
    let api_addr = format!("127.0.0.1:{api}");
    let metrics_addr = format!("127.0.0.1:{metrics}");
    let _server = Running(
        Command::new(env!("CARGO_BIN_EXE_serin-sim"))
            .args(["serve", "--listen", &api_addr, "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--metrics-listen", &metrics_addr, "--fault-latency-ms", "1"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the API server", || {
        kubeconfig.exists() && get(&api_addr, "/healthz").is_some()
    });

    let config = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
    let options = kube::config::KubeConfigOptions::default();
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(config, &options)
            .await
            .unwrap(),
    )
    .unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    let names: Vec<_> = namespaces
        .list(&kube::api::ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(names.contains(&"default".to_owned()), "{names:?}");

    let cluster_addr = format!("127.0.0.1:{cluster_metrics}");
    let _cluster = Running(
        Command::new(env!("CARGO_BIN_EXE_serin-sim"))
            .args(["cluster", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--metrics-listen", &cluster_addr])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the cluster's metrics", || {
        get(&cluster_addr, "/metrics").is_some_and(|m| m.contains("# EOF"))
    });
    let served = get(&metrics_addr, "/metrics").unwrap();
    assert!(
        served.contains("serin_sim_apiserver_requests_total{verb=\"list\",code=\"200\"}"),
        "{served}"
    );
}
