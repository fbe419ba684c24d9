//! `serin pause | resume | promote | abort | retry` during releases: each waits for serin's
//! acknowledgement and reports it, and exits 1 with serin's reason when serin refuses.

use std::time::Duration;

use serin_crds::canary::CanaryPhase;

use crate::support::{Cluster, PODINFO, phase_of, weight_of};

fn paused(c: &serin_crds::Canary) -> bool {
    c.status
        .as_ref()
        .and_then(|s| s.manual_controls.as_ref())
        .and_then(|m| m.paused)
        == Some(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controls_steer_releases_and_report_refusals() {
    let cluster = Cluster::start(true).await;
    cluster.apply(PODINFO);
    cluster
        .wait_for_phase(CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    cluster
        .release("ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    cluster
        .wait_until("weight 10%", Duration::from_secs(60), |c| {
            weight_of(c) >= 10
        })
        .await;

    // Pause holds the weight; resume lets it go on.
    let pause = cluster.serin(&["pause", "podinfo", "-n", "test"]).await;
    pause.expect_code(0);
    assert!(
        pause
            .stdout()
            .starts_with("test/podinfo: paused (phase Progressing, weight "),
        "{}",
        pause.stdout()
    );
    let held = weight_of(&cluster.podinfo().await);
    assert!(paused(&cluster.podinfo().await));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = cluster.podinfo().await;
    assert_eq!(
        (weight_of(&later), phase_of(&later)),
        (held, CanaryPhase::Progressing),
        "paused for two intervals"
    );
    let resume = cluster.serin(&["resume", "podinfo", "-n", "test"]).await;
    resume.expect_code(0);
    assert!(resume.stdout().contains("resumed"), "{}", resume.stdout());
    cluster
        .wait_until("a higher weight", Duration::from_secs(30), |c| {
            weight_of(c) > held
        })
        .await;

    // Promote skips the remaining steps.
    let promote = cluster.serin(&["promote", "podinfo", "-n", "test"]).await;
    promote.expect_code(0);
    assert!(
        promote.stdout().contains("requested"),
        "{}",
        promote.stdout()
    );
    cluster
        .wait_for_phase(CanaryPhase::Succeeded, Duration::from_secs(60))
        .await;

    // With no release in analysis, abort and retry are refused with serin's reason.
    let abort = cluster.serin(&["abort", "podinfo", "-n", "test"]).await;
    abort.expect_code(1);
    assert!(
        abort
            .stderr()
            .contains("abort of test/podinfo refused by serin: no release in analysis (Succeeded)"),
        "{}",
        abort.stderr()
    );
    let retry = cluster.serin(&["retry", "podinfo", "-n", "test"]).await;
    retry.expect_code(1);
    assert!(
        retry.stderr().contains("the last release did not fail"),
        "{}",
        retry.stderr()
    );

    // Abort rolls a release back; retry releases the failed revision again.
    cluster
        .release("ghcr.io/stefanprodan/podinfo:6.2.0", "0.0")
        .await;
    cluster
        .wait_until("weight 10%", Duration::from_secs(60), |c| {
            weight_of(c) >= 10
        })
        .await;
    let abort = cluster.serin(&["abort", "podinfo", "-n", "test"]).await;
    abort.expect_code(0);
    assert!(
        abort.stdout().contains("aborted with serin.dev/abort"),
        "{}",
        abort.stdout()
    );
    cluster
        .wait_for_phase(CanaryPhase::Failed, Duration::from_secs(30))
        .await;
    let retry = cluster.serin(&["retry", "podinfo", "-n", "test"]).await;
    retry.expect_code(0);
    assert!(
        retry.stdout().contains("Retrying the release"),
        "{}",
        retry.stdout()
    );
    cluster
        .wait_for_phase(CanaryPhase::Progressing, Duration::from_secs(30))
        .await;
}
