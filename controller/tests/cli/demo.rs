//! `serin demo` opens with a hint naming a kubeconfig for its cluster; while it runs,
//! `serin get canary podinfo --watch` and `serin dashboard` work with it, as the hint says.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::Lines;

fn serin(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_serin"));
    cmd.args(args).env_remove("KUBECONFIG").env("NO_COLOR", "1");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_hint_works_while_the_demo_runs() {
    // reqwest is built without a default TLS provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut demo = Lines::spawn(serin(&["demo", "--plain"]));
    let hint = demo
        .wait_for("the watch hint", Duration::from_secs(60), |l| {
            l.contains("serin get canary podinfo --watch --kubeconfig ")
        })
        .await;
    let kubeconfig = hint.rsplit(' ').next().expect("path").to_owned();
    demo.wait_for("the dashboard hint", Duration::from_secs(5), |l| {
        l.contains(&format!("serin dashboard --kubeconfig {kubeconfig}"))
    })
    .await;
    assert!(
        demo.seen.len() <= 8,
        "the hint comes first: {:?}",
        demo.seen
    );

    demo.wait_for("the Canary applied", Duration::from_secs(30), |l| {
        l.contains("applied podinfo and its Canary")
    })
    .await;
    // As the hint says: no -n, the kubeconfig's context points at the demo's namespace.
    let mut watch = Lines::spawn(serin(&[
        "get",
        "canary",
        "podinfo",
        "--watch",
        "--kubeconfig",
        &kubeconfig,
    ]));
    watch
        .wait_for("the Canary", Duration::from_secs(60), |l| {
            l.contains("podinfo Initialized") || l.contains("podinfo Progressing")
        })
        .await;
    let mut dashboard = Lines::spawn(serin(&[
        "dashboard",
        "--kubeconfig",
        &kubeconfig,
        "--listen",
        "127.0.0.1:0",
    ]));
    let line = dashboard
        .wait_for("the dashboard's address", Duration::from_secs(20), |l| {
            l.starts_with("serin dashboard: http://")
        })
        .await;
    let url = line
        .split_whitespace()
        .nth(2)
        .expect("url")
        .trim_end_matches('/')
        .to_owned();
    let rows: Value = reqwest::get(format!("{url}/api/canaries"))
        .await
        .expect("dashboard answers")
        .json()
        .await
        .expect("json");
    assert_eq!(rows[0]["namespace"], "test");
    assert_eq!(rows[0]["name"], "podinfo");
    // The demo's healthy release moves the weight; the watch shows it.
    watch
        .wait_for("a weight change", Duration::from_secs(90), |l| {
            l.contains("podinfo Progressing") && !l.contains("weight 0%")
        })
        .await;
    drop(watch);
    drop(dashboard);
    demo.wait_for("the demo's end", Duration::from_secs(180), |l| {
        l.contains("rolled back after")
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&kubeconfig).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the demo leaves its kubeconfig {kubeconfig} behind"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
