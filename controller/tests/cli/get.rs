//! `serin get canaries` and `serin get canary NAME`, once and with `--watch`, and the same
//! through kubectl as the `kubectl-serin` plugin.

use std::time::Duration;

use serde_json::Value;
use serin_crds::canary::CanaryPhase;

use crate::support::{Cluster, PODINFO, plugin_dir, weight_of};

/// The weight in a plain `--watch` line (`podinfo Progressing  weight 20%  ...`).
fn weight_in(line: &str) -> Option<u32> {
    line.split("weight ")
        .nth(1)?
        .split('%')
        .next()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_watch_show_a_release_step_by_step() {
    let cluster = Cluster::start(true).await;
    cluster.apply(PODINFO);
    cluster
        .wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(30))
        .await;

    let list = cluster.serin(&["get", "canaries", "-n", "test"]).await;
    list.expect_code(0);
    let text = list.stdout();
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    for column in [
        "NAME",
        "PHASE",
        "WEIGHT",
        "STEP",
        "FAILED",
        "LAST CHANGE",
        "PRIMARY",
        "CANARY",
    ] {
        assert!(header.contains(column), "{text}");
    }
    let row = lines.next().unwrap_or_default();
    assert!(
        row.starts_with("podinfo")
            && row.contains("Initialized")
            && row.contains("0%")
            && row.contains("0/5"),
        "{text}"
    );

    // Watches started before the release see it move.
    let mut one = cluster.spawn(&["get", "canary", "podinfo", "-n", "test", "--watch"]);
    let mut all = cluster.spawn(&["get", "canaries", "-A", "--watch"]);
    one.wait_for("the initial state", Duration::from_secs(20), |l| {
        l.contains("podinfo Initialized")
    })
    .await;
    all.wait_for("the header", Duration::from_secs(20), |l| {
        l.starts_with("NAMESPACE")
    })
    .await;
    cluster
        .release("ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    one.wait_for("weight 10%", Duration::from_secs(60), |l| {
        weight_in(l) == Some(10)
    })
    .await;
    one.wait_for("weight 20%", Duration::from_secs(30), |l| {
        weight_in(l) == Some(20)
    })
    .await;
    let step = one
        .wait_for("an event", Duration::from_secs(10), |l| {
            l.contains(" event Normal ")
        })
        .await;
    assert!(!step.is_empty());
    all.wait_for("a Progressing row", Duration::from_secs(30), |l| {
        l.starts_with("test") && l.contains("Progressing")
    })
    .await;

    page_and_json_show_the_release(&cluster).await;

    // Flags before the command work as kubectl's do.
    let before = cluster.serin(&["-n", "test", "get", "canaries"]).await;
    before.expect_code(0);
    assert!(before.stdout().contains("podinfo"), "{}", before.stdout());

    let done = cluster
        .wait_for_phase(CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    assert_eq!(weight_of(&done), 0);
}

/// `get canary` once, as text and as JSON, and `get canaries -o yaml`, during the release.
async fn page_and_json_show_the_release(cluster: &Cluster) {
    let page = cluster
        .serin(&["get", "canary", "podinfo", "-n", "test"])
        .await;
    page.expect_code(0);
    let text = page.stdout();
    for expected in [
        "Canary:     test/podinfo",
        "Phase:      Progressing",
        "Strategy:   progressive, a step every 2s",
        "Target:     Deployment podinfo  ghcr.io/stefanprodan/podinfo:6.1.0",
        "Primary:    Deployment podinfo-primary  ghcr.io/stefanprodan/podinfo:6.0.0",
        "HTTPRoute",
        "podinfo-canary",
        "[x] 10%",
        "request-success-rate",
        "smoke  pre-rollout  http://127.0.0.1:",
        "Events:",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let json = cluster
        .serin(&["get", "canary", "podinfo", "-n", "test", "-o", "json"])
        .await;
    json.expect_code(0);
    let view: Value = serde_json::from_str(&json.stdout()).expect("JSON");
    assert_eq!(view["phase"], "Progressing");
    assert_eq!(
        view["target"]["images"][0],
        "ghcr.io/stefanprodan/podinfo:6.1.0"
    );
    let steps: Vec<&str> = view["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["label"].as_str())
        .collect();
    assert_eq!(steps, ["10%", "20%", "30%", "40%", "50%", "promote"]);
    assert_eq!(view["metrics"][0]["name"], "request-success-rate");
    assert!(
        view["generated"]
            .as_array()
            .expect("generated")
            .iter()
            .any(|o| o["kind"] == "Service" && o["name"] == "podinfo-canary"),
        "{view}"
    );
    let yaml = cluster
        .serin(&["get", "canaries", "-n", "test", "-o", "yaml"])
        .await;
    yaml.expect_code(0);
    assert!(yaml.stdout().contains("name: podinfo"), "{}", yaml.stdout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_serin_as_the_serin_plugin() {
    let cluster = Cluster::start(true).await;
    cluster.apply(PODINFO);
    cluster
        .wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = plugin_dir(dir.path());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let kubectl = |args: &[&str]| {
        std::process::Command::new("kubectl")
            .args(args)
            .env("PATH", &path)
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("KUBECACHEDIR", dir.path().join("cache"))
            .env("NO_COLOR", "1")
            .output()
            .expect("kubectl is installed (scripts/test expects it)")
    };
    let listed = kubectl(&["plugin", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("kubectl-serin"),
        "{listed:?}"
    );
    let out = kubectl(&["serin", "get", "canaries", "-n", "test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("NAME") && stdout.contains("podinfo") && stdout.contains("Initialized"),
        "{stdout}"
    );
    // kubectl passes flags given before the plugin's command along.
    let out = kubectl(&["serin", "-n", "test", "get", "canary", "podinfo"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Canary:     test/podinfo"),
        "{out:?}"
    );
    let help = kubectl(&["serin", "--help"]);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl serin"),
        "{help:?}"
    );
}

#[test]
fn shell_completion_covers_the_commands_and_their_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_serin"))
            .args(["completion", shell])
            .output()
            .expect("serin runs");
        assert_eq!(out.status.code(), Some(0), "{shell}: {out:?}");
        let script = String::from_utf8_lossy(&out.stdout);
        for word in [
            "promote",
            "dashboard",
            "canaries",
            "kubeconfig",
            "all-namespaces",
            "watch",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // Cluster flags before a command that does not take them are refused, not ignored.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_serin"))
        .args(["-n", "test", "crds"])
        .output()
        .expect("serin runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("apply to get, promote, abort"),
        "{out:?}"
    );
}
