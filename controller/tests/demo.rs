//! `serin demo` run non-interactively, as the README's first command runs it: both releases must
//! end as the demo promises (the healthy one promoted, the bad one rolled back).

use std::process::Command;

use serin_controller::demo::{DemoArgs, DemoRouter, as_expected, run};
use serin_crds::canary::CanaryPhase;

#[test]
fn the_demo_binary_promotes_the_healthy_release_and_rolls_back_the_bad_one() {
    let output = Command::new(env!("CARGO_BIN_EXE_serin"))
        .args(["demo", "--plain"])
        .output()
        .expect("serin demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ghcr.io/stefanprodan/podinfo:6.1.0: promoted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ghcr.io/stefanprodan/podinfo:6.2.0: rolled back after 2 failed checks"),
        "{stdout}"
    );
    assert!(
        stdout.contains("canary Progressing"),
        "plain progress lines are printed: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blue_green_demo_ends_as_expected_with_the_kubernetes_router() {
    let args = DemoArgs {
        router: DemoRouter::Kubernetes,
        plain: true,
    };
    let mut out = Vec::new();
    let outcomes = run(&args, &mut out).await.expect("demo finishes");
    let log = String::from_utf8_lossy(&out);
    assert_eq!(outcomes[0].phase, CanaryPhase::Succeeded, "{log}");
    assert_eq!(outcomes[1].phase, CanaryPhase::Failed, "{log}");
    assert!(as_expected(&outcomes));
}
