//! Drives the emulator with the real `kubectl` binary: apply, set image, get -w, wait, annotate, patch, delete.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use serin_sim::Server;
use serin_sim::cluster::{Cluster, SimConfig};

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  labels: {app: podinfo}
spec:
  replicas: 2
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata:
      labels: {app: podinfo}
    spec:
      containers:
      - name: podinfo
        image: podinfo:6.0.0
        ports: [{containerPort: 9898, name: http}]
      - name: sidecar
        image: proxy:1
";

/// kubectl on `PATH`: these tests need it (CI machines have it), and fail when it is missing.
fn kubectl_binary() -> PathBuf {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
        .expect("kubectl is on PATH (install it to run the emulator's kubectl tests)")
}

struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        // A cache per test: kubectl caches discovery per host:port, and ports are reused.
        let cache = self.kubeconfig.with_file_name("kube-cache");
        command
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", cache)
            .args(args);
        command
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = self.command(args);
        let input = stdin.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            use std::process::Stdio;
            command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = command.spawn().expect("kubectl runs");
            let mut pipe = child.stdin.take().expect("stdin");
            if let Some(input) = input {
                pipe.write_all(input.as_bytes()).expect("write stdin");
            }
            drop(pipe);
            child.wait_with_output().expect("kubectl output")
        })
        .await
        .expect("join")
    }

    /// Names of the pods matching a label selector.
    async fn pods(&self, selector: &str) -> Vec<String> {
        let names = self
            .ok(&["get", "pods", "-l", selector, "-o", "name"], None)
            .await;
        names.lines().map(str::to_owned).collect()
    }

    /// Runs a command given as whitespace-separated words and returns its stdout.
    async fn words(&self, line: &str) -> String {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.ok(&args, None).await
    }

    async fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let output = self.run(args, stdin).await;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }
}

async fn setup(dir: &Path) -> (Server, Cluster, Kubectl) {
    let binary = kubectl_binary();
    let server = Server::start_default().await.expect("server starts");
    let kubeconfig = dir.join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig)
        .expect("kubeconfig written");
    let config = SimConfig {
        ready_delay: Duration::from_millis(300),
        tick: Duration::from_millis(50),
        ..SimConfig::default()
    };
    let cluster = Cluster::start(
        server.client().expect("client"),
        config,
        &server.metrics_registry(),
    );
    (server, cluster, Kubectl { binary, kubeconfig })
}

/// A long-running kubectl command whose stdout is read line by line.
struct Lines {
    child: std::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Lines {
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    async fn next(&mut self) -> String {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.recv());
        line.await
            .expect("output in time")
            .expect("command still running")
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, _cluster, kubectl) = setup(dir.path()).await;
    let applied = kubectl.ok(&["apply", "-f", "-"], Some(DEPLOYMENT)).await;
    assert!(applied.contains("created"), "{applied}");
    kubectl
        .words("wait --for=condition=Available deployment/podinfo --timeout=10s")
        .await;
    let ready = kubectl
        .words("get deployment podinfo -o jsonpath={.status.readyReplicas}")
        .await;
    assert_eq!(ready, "2");

    kubectl
        .words("wait --for=condition=Ready pod -l app=podinfo --timeout=10s")
        .await;
    let before = kubectl.pods("app=podinfo").await;
    assert_eq!(before.len(), 2, "{before:?}");

    // `kubectl get -w` prints the current image, then the change made while it watches.
    let image = r#"jsonpath={.spec.template.spec.containers[0].image}{"\n"}"#;
    let mut watch =
        Lines::spawn(kubectl.command(&["get", "deployment", "podinfo", "-w", "-o", image]));
    assert_eq!(watch.next().await, "podinfo:6.0.0");
    kubectl
        .words("set image deployment/podinfo podinfo=podinfo:6.0.1")
        .await;
    while watch.next().await != "podinfo:6.0.1" {}
    drop(watch);

    let images = "jsonpath={.spec.template.spec.containers[*].image}/{.metadata.generation}";
    let containers = kubectl
        .ok(&["get", "deployment", "podinfo", "-o", images], None)
        .await;
    assert_eq!(
        containers, "podinfo:6.0.1 proxy:1/2",
        "set image merges by container name"
    );
    kubectl
        .words(
            "wait --for=jsonpath={.status.observedGeneration}=2 deployment/podinfo --timeout=10s",
        )
        .await;
    kubectl
        .words("wait --for=condition=Available deployment/podinfo --timeout=10s")
        .await;
    // The new revision's pods replace the old ones.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let after = kubectl.pods("app=podinfo").await;
        if after.len() == 2 && after.iter().all(|p| !before.contains(p)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pods not replaced: {after:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_annotate_patch_scale_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, _cluster, kubectl) = setup(dir.path()).await;
    kubectl.ok(&["apply", "-f", "-"], Some(DEPLOYMENT)).await;
    kubectl
        .words("annotate deployment podinfo team=delivery")
        .await;
    kubectl
        .ok(
            &[
                "patch",
                "deployment",
                "podinfo",
                "--type=json",
                "-p",
                r#"[{"op":"replace","path":"/spec/replicas","value":3}]"#,
            ],
            None,
        )
        .await;
    let shown = kubectl
        .words("get deployment podinfo -o jsonpath={.metadata.annotations.team}/{.spec.replicas}")
        .await;
    assert_eq!(shown, "delivery/3");
    kubectl.words("scale deployment podinfo --replicas=0").await;
    kubectl
        .words("wait --for=jsonpath={.status.replicas}=0 deployment/podinfo --timeout=10s")
        .await;
    kubectl
        .words("wait --for=condition=Available deployment/podinfo --timeout=10s")
        .await;
    let table = kubectl.words("get all").await;
    let listed = table.contains("deployment.apps/podinfo") && table.contains("READY");
    assert!(listed, "{table}");

    kubectl.words("delete deployment podinfo").await;
    let missing = kubectl.run(&["get", "deployment", "podinfo"], None).await;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("NotFound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_and_crds() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, _cluster, kubectl) = setup(dir.path()).await;
    let crds =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/gateway-api/httproutes.yaml");
    if crds.exists() {
        kubectl
            .ok(
                &["apply", "--server-side", "-f", crds.to_str().unwrap()],
                None,
            )
            .await;
        kubectl
            .ok(
                &[
                    "wait",
                    "--for=condition=Established",
                    "crd/httproutes.gateway.networking.k8s.io",
                    "--timeout=5s",
                ],
                None,
            )
            .await;
        let route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: svc, port: 80}]}]\n";
        kubectl.ok(&["apply", "-f", "-"], Some(route)).await;
        assert!(kubectl.ok(&["get", "httproutes"], None).await.contains('r'));
    }
    kubectl
        .ok(
            &[
                "apply",
                "--server-side",
                "--field-manager=team-a",
                "-f",
                "-",
            ],
            Some(DEPLOYMENT),
        )
        .await;
    let conflict = kubectl
        .run(
            &[
                "apply",
                "--server-side",
                "--field-manager=team-b",
                "-f",
                "-",
            ],
            Some(&DEPLOYMENT.replace("replicas: 2", "replicas: 5")),
        )
        .await;
    assert!(
        !conflict.status.success(),
        "a second manager changing replicas conflicts"
    );
    assert!(String::from_utf8_lossy(&conflict.stderr).contains("conflict"));
    kubectl
        .ok(
            &[
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=team-b",
                "-f",
                "-",
            ],
            Some(&DEPLOYMENT.replace("replicas: 2", "replicas: 5")),
        )
        .await;
    let replicas = kubectl
        .ok(
            &[
                "get",
                "deployment",
                "podinfo",
                "-o",
                "jsonpath={.spec.replicas}",
            ],
            None,
        )
        .await;
    assert_eq!(replicas, "5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_generators_and_crd_printer_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _cluster, kubectl) = setup(dir.path()).await;
    // Generators send protobuf bodies.
    kubectl.words("create namespace test").await;
    kubectl
        .words("create configmap settings --from-literal=mode=fast -n test")
        .await;
    kubectl
        .words("create secret generic token --from-literal=value=hello -n test")
        .await;
    let data = kubectl
        .words("get configmap settings -n test -o jsonpath={.data.mode}")
        .await;
    assert_eq!(data, "fast");
    let secret = kubectl
        .words("get secret token -n test -o jsonpath={.data.value}")
        .await;
    assert_eq!(secret, "aGVsbG8=");

    let crd = "apiVersion: apiextensions.k8s.io/v1
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
    additionalPrinterColumns:
    - {name: Status, type: string, jsonPath: .status.phase}
    - {name: Weight, type: string, jsonPath: .status.canaryWeight}
";
    server.apply_yaml(crd).unwrap();
    let canary = "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo, namespace: test}\nspec: {targetRef: {name: podinfo}}\n";
    kubectl.ok(&["apply", "-f", "-"], Some(canary)).await;
    let status = r#"{"status":{"phase":"Progressing","canaryWeight":20}}"#;
    kubectl
        .ok(
            &[
                "patch",
                "canary",
                "podinfo",
                "-n",
                "test",
                "--subresource=status",
                "--type=merge",
                "-p",
                status,
            ],
            None,
        )
        .await;
    let table = kubectl.words("get canaries -n test").await;
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.contains("STATUS") && header.contains("WEIGHT"),
        "{table}"
    );
    assert!(
        table.contains("Progressing") && table.contains("20"),
        "{table}"
    );
}

/// Runs an imperative kubectl command twice, first with `--dry-run=client -o json` (the object
/// kubectl builds), then for real, and returns both that object and the stored one.
async fn create_as_kubectl_builds(kubectl: &Kubectl, command: &str, get: &str) -> (Value, Value) {
    let (head, tail) = command
        .split_once(" -- ")
        .map_or((command, None), |(h, t)| (h, Some(t)));
    let mut args: Vec<&str> = head.split_whitespace().collect();
    let rest: Vec<&str> = tail
        .map(|t| t.split_whitespace().collect())
        .unwrap_or_default();
    let mut dry_run = args.clone();
    dry_run.extend(["--dry-run=client", "-o", "json"]);
    if !rest.is_empty() {
        dry_run.push("--");
        dry_run.extend(&rest);
        args.push("--");
        args.extend(&rest);
    }
    let built: Value = serde_json::from_str(&kubectl.ok(&dry_run, None).await).expect("json");
    kubectl.ok(&args, None).await;
    let mut get_args: Vec<&str> = get.split_whitespace().collect();
    get_args.extend(["-o", "json"]);
    let stored: Value = serde_json::from_str(&kubectl.ok(&get_args, None).await).expect("json");
    (built, stored)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_run_and_expose_store_the_objects_kubectl_builds() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, _cluster, kubectl) = setup(dir.path()).await;
    kubectl.words("create namespace test").await;
    // (command, how to read the object back, the part that must match what kubectl built)
    let cases = [
        (
            "create deployment web --image=nginx:1.27 --port=8080 --replicas=2 -n test",
            "get deployment web -n test",
            "spec",
        ),
        (
            "create service clusterip web-svc --tcp=80:8080 -n test",
            "get service web-svc -n test",
            "spec",
        ),
        (
            "create service nodeport web-np --tcp=80:http --node-port=30080 -n test",
            "get service web-np -n test",
            "spec",
        ),
        (
            "create configmap c --from-literal=a=b",
            "get configmap c",
            "data",
        ),
        (
            "create secret generic token --from-literal=value=hello -n test",
            "get secret token -n test",
            "data",
        ),
        (
            "create job once --image=busybox -n test -- echo hi",
            "get job once -n test",
            "spec",
        ),
        (
            "run shell --image=busybox --port=80 --labels=app=shell,tier=debug --env=MODE=fast -n test",
            "get pod shell -n test",
            "spec",
        ),
        (
            "expose deployment web --port=80 --target-port=8080 --name=web-exposed -n test",
            "get service web-exposed -n test",
            "spec",
        ),
        (
            "create serviceaccount robot -n test",
            "get serviceaccount robot -n test",
            "metadata.name",
        ),
    ];
    for (command, get, part) in cases {
        let (built, stored) = create_as_kubectl_builds(&kubectl, command, get).await;
        let pick = |v: &Value| part.split('.').fold(v.clone(), |v, k| v[k].clone());
        assert!(
            !pick(&built).is_null(),
            "{command}: kubectl built no {part}"
        );
        assert_eq!(pick(&stored), pick(&built), "{command}: stored {part}");
        assert_eq!(
            stored["metadata"]["labels"], built["metadata"]["labels"],
            "{command}: labels"
        );
        let namespace = if command.contains("-n test") {
            "test"
        } else {
            "default"
        };
        assert_eq!(stored["metadata"]["namespace"], namespace, "{command}");
    }

    // What the comparisons above rely on, spelled out.
    let shown = kubectl
        .words("get deployment web -n test -o jsonpath={.spec.replicas}/{.spec.template.spec.containers[0].ports[0].containerPort}/{.spec.selector.matchLabels.app}")
        .await;
    assert_eq!(shown, "2/8080/web");
    let ports = kubectl
        .words("get service web-np -n test -o jsonpath={.spec.type}/{.spec.ports[0].nodePort}/{.spec.ports[0].targetPort}")
        .await;
    assert_eq!(ports, "NodePort/30080/http");
    let exposed = kubectl
        .words("get service web-exposed -n test -o jsonpath={.spec.selector.app}/{.spec.ports[0].targetPort}")
        .await;
    assert_eq!(exposed, "web/8080");
    let job = kubectl
        .words("get job once -n test -o jsonpath={.spec.template.spec.containers[0].command}/{.spec.template.spec.restartPolicy}")
        .await;
    assert_eq!(job, r#"["echo","hi"]/Never"#);
    let pod = kubectl
        .words("get pod shell -n test -o jsonpath={.spec.containers[0].env[0].value}/{.metadata.labels.tier}")
        .await;
    assert_eq!(pod, "fast/debug");
    // The Deployment created from protobuf is simulated like any other.
    kubectl
        .words("wait --for=condition=Available deployment/web -n test --timeout=10s")
        .await;
}
