//! `serin dashboard` in headless Chromium during a release: the list shows the Canary, its page
//! follows the weight live, and the abort button (with `--allow-actions`) rolls the release
//! back. Screenshots are kept in the target directory. Also: a read-only dashboard refuses
//! actions, and requests for other hosts are refused.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use serin_crds::canary::CanaryPhase;

use crate::browser::Browser;
use crate::support::{Cluster, Lines, PODINFO};

/// Where screenshots are kept: `target/tmp/dashboard-screenshots/`.
fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Starts `serin dashboard` and returns it with the URL it printed.
async fn dashboard(cluster: &Cluster, extra: &[&str]) -> (Lines, String) {
    let mut args = vec!["dashboard", "--listen", "127.0.0.1:0", "-n", "test"];
    args.extend_from_slice(extra);
    let mut lines = cluster.spawn(&args);
    let line = lines
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
    (lines, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_a_release_live_and_its_abort_button_rolls_it_back() {
    let cluster = Cluster::start(true).await;
    cluster.apply(PODINFO);
    cluster
        .wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let (_dashboard, url) = dashboard(&cluster, &["--allow-actions"]).await;
    let mut browser = Browser::start().await;
    let shots = screenshots();

    browser.navigate(&format!("{url}/")).await;
    browser
        .wait_for(
            "the Canary in the list",
            Duration::from_secs(20),
            r#"document.querySelector('tr[data-canary="test/podinfo"]')?.innerText ?? """#,
            |v| {
                v.as_str()
                    .is_some_and(|t| t.contains("podinfo") && t.contains("Initialized"))
            },
        )
        .await;
    browser.screenshot(&shots.join("list.png")).await;

    browser
        .navigate(&format!("{url}/canaries/test/podinfo"))
        .await;
    let weight = "document.querySelector('#summary .weight')?.dataset.weight ?? ''";
    browser
        .wait_for("weight 0", Duration::from_secs(20), weight, |v| v == "0")
        .await;
    cluster
        .release("ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    // The page is not reloaded: the event stream brings each step.
    browser
        .wait_for("weight 10", Duration::from_secs(60), weight, |v| v == "10")
        .await;
    browser
        .wait_for("weight 20", Duration::from_secs(30), weight, |v| v == "20")
        .await;
    let charts = browser
        .eval("document.querySelectorAll('svg.chart').length")
        .await;
    assert_eq!(
        charts,
        Value::from(2),
        "the weight chart and one per metric"
    );
    let steps = browser
        .eval("[...document.querySelectorAll('.step.done')].map(s => s.textContent).join(',')")
        .await;
    assert_eq!(steps, "10%", "the done steps");
    browser.screenshot(&shots.join("release.png")).await;

    // Abort asks for a second click, then waits for serin.
    browser
        .eval("document.querySelector('button[data-action=abort]').click()")
        .await;
    let armed = browser
        .eval("document.querySelector('button[data-action=abort]').textContent")
        .await;
    assert_eq!(armed, "Click again to abort");
    browser
        .eval("document.querySelector('button[data-action=abort]').click()")
        .await;
    browser
        .wait_for(
            "the abort's outcome",
            Duration::from_secs(30),
            "document.querySelector('#message')?.textContent ?? ''",
            |v| {
                v.as_str()
                    .is_some_and(|t| t.contains("aborted with serin.dev/abort"))
            },
        )
        .await;
    cluster
        .wait_for_phase(CanaryPhase::Failed, Duration::from_secs(30))
        .await;
    browser
        .wait_for(
            "phase Failed",
            Duration::from_secs(20),
            "document.querySelector('#summary .phase')?.textContent ?? ''",
            |v| v == "Failed",
        )
        .await;
    browser.screenshot(&shots.join("aborted.png")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_dashboard_refuses_actions_and_foreign_hosts() {
    let cluster = Cluster::start(true).await;
    cluster.apply(PODINFO);
    cluster
        .wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let (_dashboard, url) = dashboard(&cluster, &[]).await;
    let http = reqwest::Client::new();
    let list: Value = http
        .get(format!("{url}/api/canaries"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list[0]["name"], "podinfo");
    assert_eq!(list[0]["phase"], "Initialized");
    let abort = http
        .post(format!("{url}/api/canaries/test/podinfo/abort"))
        .header("X-Serin-Action", "1")
        .send()
        .await
        .expect("post");
    assert_eq!(abort.status(), 403);
    let body: Value = abort.json().await.expect("json");
    assert_eq!(
        body["error"],
        "actions are off; start the dashboard with --allow-actions"
    );
    let rebound = http
        .get(format!("{url}/api/canaries"))
        .header("Host", "attacker.example:80")
        .send()
        .await
        .expect("get");
    assert_eq!(rebound.status(), 403);
    let page = http
        .get(format!("{url}/canaries/test/podinfo"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("/assets/app.js"));
    let annotations = cluster
        .podinfo()
        .await
        .metadata
        .annotations
        .unwrap_or_default();
    assert!(
        !annotations.contains_key("serin.dev/abort"),
        "{annotations:?}"
    );
}
