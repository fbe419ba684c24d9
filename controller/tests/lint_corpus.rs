//! `serin lint` against real manifests: Flagger's 54 are accepted, and each file of the invalid
//! corpus under `tests/lint/invalid/` is rejected with the message its `# expect:` line names.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serin_controller::lint::{Input, lint};
use serin_crds::canary::Provider;

fn flagger_manifests() -> PathBuf {
    let shared = std::env::var_os("SERIN_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    shared.join("flagger-compat/manifests")
}

fn invalid_corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// The `# expect:` and `# exit:` header lines of a corpus file.
fn expectations(path: &Path) -> (Vec<String>, u8) {
    let text = std::fs::read_to_string(path).expect("read corpus file");
    let header = |key: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(key))
            .map(|s| s.trim().to_owned())
            .collect()
    };
    let exit = header("# exit:")
        .first()
        .map_or(1, |c| c.parse().expect("exit code"));
    (header("# expect:"), exit)
}

fn serin(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_serin"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run serin");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("serin finishes")
}

#[test]
fn every_flagger_manifest_lints_clean() {
    let report = lint(&[Input::Path(flagger_manifests())], None);
    assert_eq!(report.input_errors, vec![]);
    assert_eq!(report.findings, vec![], "{}", report.to_text());
    assert_eq!(report.checked, 54);
    assert_eq!(report.exit_code(), 0);
}

/// The router the Flagger tutorial a manifest comes from installs Flagger with (its
/// `-mesh-provider`): the mesh named in the file name, Istio (Flagger's default) otherwise.
fn tutorial_mesh_provider(file: &Path) -> Provider {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    [
        ("gatewayapi", Provider::GatewayApiV1),
        ("kuma", Provider::Kuma),
        ("linkerd", Provider::Linkerd),
        ("contour", Provider::Contour),
        ("gloo", Provider::Gloo),
        ("apisix", Provider::Apisix),
        ("nginx", Provider::Nginx),
        ("skipper", Provider::Skipper),
        ("traefik", Provider::Traefik),
        ("knative", Provider::Knative),
        ("kubernetes-blue-green", Provider::Kubernetes),
        ("keda", Provider::Kubernetes),
        ("prometheus-operator", Provider::Kubernetes),
    ]
    .into_iter()
    .find(|(mesh, _)| name.contains(mesh))
    .map_or(Provider::Istio, |(_, provider)| provider)
}

#[test]
fn every_flagger_manifest_lints_clean_with_the_mesh_provider_of_its_tutorial() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(flagger_manifests())
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut istio = 0;
    for file in files {
        let provider = tutorial_mesh_provider(&file);
        istio +=
            usize::from(provider == Provider::Istio && file.to_string_lossy().contains("Canary"));
        let report = lint(&[Input::Path(file.clone())], Some(provider));
        assert_eq!(
            report.findings,
            vec![],
            "--mesh-provider {provider}: {}",
            report.to_text()
        );
    }
    // README, FAQ, how-it-works and the Istio examples and tutorials.
    assert_eq!(istio, 8);
}

#[test]
fn the_mesh_provider_flag_applies_router_rules_to_canaries_without_a_provider() {
    let canary = "apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis: {interval: 1m, threshold: 5, stepWeight: 10}
";
    let out = serin(&["lint", "-"], Some(canary));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = serin(
        &["lint", "--mesh-provider", "kubernetes", "-"],
        Some(canary),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "-: Canary/podinfo: spec.analysis.stepWeight: provider kubernetes cannot shift traffic by weight: use iterations for a blue/green release, or a router that splits traffic (istio, gatewayapi, linkerd, ...)\n"
    );
    let out = serin(&["lint", "--mesh-provider", "istio", "-"], Some(canary));
    assert_eq!(out.status.code(), Some(0));
    let out = serin(&["lint", "--mesh-provider", "envoy", "/dev/null"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("envoy"));
}

#[test]
fn every_invalid_manifest_is_rejected_with_a_message_naming_the_field() {
    let corpus = invalid_corpus();
    assert!(
        corpus.len() >= 30,
        "the invalid corpus has {} files",
        corpus.len()
    );
    let mut failures = Vec::new();
    for file in corpus {
        let (expected, exit) = expectations(&file);
        assert!(
            !expected.is_empty(),
            "{} has no # expect: line",
            file.display()
        );
        let report = lint(&[Input::Path(file.clone())], None);
        let text = report.to_text();
        if report.exit_code() != exit {
            failures.push(format!(
                "{}: exit {} (want {exit})\n{text}",
                file.display(),
                report.exit_code()
            ));
        }
        for e in expected {
            if !text.contains(&e) {
                failures.push(format!(
                    "{}: no line contains {e:?}:\n{text}",
                    file.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exit_status_is_0_when_valid_1_when_invalid_and_2_when_unreadable() {
    let valid = flagger_manifests().join("002-Canary-README.yaml");
    let invalid = invalid_corpus()
        .into_iter()
        .find(|p| p.ends_with("03-step-weight-zero.yaml"))
        .expect("case");
    let valid = valid.to_str().expect("utf-8 path");
    let invalid = invalid.to_str().expect("utf-8 path");
    assert_eq!(serin(&["lint", valid], None).status.code(), Some(0));
    let out = serin(&["lint", valid, invalid], None);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    // The problem comes first; the README's AlertProvider in namespace `flagger` is a warning.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "{invalid}: Canary/podinfo: spec.analysis.stepWeight: must be between 1 and 100"
            ),
            format!(
                "{valid}: Canary/podinfo: spec.analysis.alerts[0].providerRef.namespace: warning: \
                 AlertProvider in namespace \"flagger\": the controller refuses references to \
                 other namespaces unless it runs with --no-cross-namespace-refs=false"
            )
        ]
    );
    let missing = serin(&["lint", valid, "/nonexistent/serin.yaml"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stdout)
            .contains("/nonexistent/serin.yaml: cannot be read")
    );
}

#[test]
fn standard_input_is_read_for_a_dash_and_other_kinds_are_skipped() {
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: podinfo}\n---\n\
                    apiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata: {name: chat}\n\
                    spec: {type: msteams, address: 'https://example.webhook.office.com/x'}\n";
    let out = serin(&["lint", "-"], Some(manifest));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("checked 1 object(s): 0 problem(s)"));
    let broken = serin(&["lint", "-"], Some("kind: [Canary\n"));
    assert_eq!(broken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&broken.stdout).starts_with("-: is not valid YAML"));
}

#[test]
fn json_output_lists_each_finding_with_its_file_field_and_message() {
    let file = invalid_corpus()
        .into_iter()
        .find(|p| p.ends_with("13-threshold-zero.yaml"))
        .expect("case");
    let out = serin(
        &["lint", "--output", "json", file.to_str().expect("utf-8")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(report["checked"], 1);
    let finding = &report["findings"][0];
    assert_eq!(finding["source"], file.to_str().expect("utf-8"));
    assert_eq!(finding["kind"], "Canary");
    assert_eq!(finding["name"], "podinfo");
    assert_eq!(finding["path"], "spec.analysis.threshold");
    assert!(
        finding["message"]
            .as_str()
            .expect("message")
            .starts_with("must be at least 1")
    );
}

#[test]
fn committed_crds_match_the_types() {
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds/crds.yaml"))
            .expect("crds/crds.yaml is committed");
    let generated = serin_controller::crds::crds_yaml().expect("render CRDs");
    assert!(
        committed == generated,
        "crds/crds.yaml is out of date; regenerate it with `cargo run -p serin-controller -- crds > crds/crds.yaml`"
    );
    let out = serin(&["crds"], None);
    assert_eq!(String::from_utf8(out.stdout).expect("utf-8"), generated);
}

#[test]
fn the_committed_api_reference_matches_the_crds() {
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api-reference.md"),
    )
    .expect("docs/api-reference.md is committed");
    let generated = serin_controller::crds::api_reference().expect("render reference");
    assert!(
        committed == generated,
        "docs/api-reference.md is out of date; regenerate it with `cargo run -p serin-controller -- crds --reference > docs/api-reference.md`"
    );
    assert!(
        generated.contains("| `spec.analysis.stepWeights` | []number |"),
        "{generated}"
    );
    assert!(generated.contains("`spec.targetRef.name` (required)"));
}

#[test]
fn bundled_examples_lint_clean() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let report = lint(&[Input::Path(examples)], None);
    assert_eq!(report.exit_code(), 0, "{}", report.to_text());
    assert!(
        report.checked >= 5,
        "only {} objects checked",
        report.checked
    );
}

#[test]
fn serin_analyze_is_wired_and_reports_unusable_input_with_status_2() {
    let out = serin(&["analyze", "-f", "/nonexistent/canary.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("/nonexistent/canary.yaml"), "{stdout}");
}

#[test]
fn a_reference_to_another_namespace_is_a_warning_naming_the_field_not_a_failure() {
    let file = flagger_manifests()
        .join("024-Canary-docs__gitbook__tutorials__gatewayapi-progressive-delivery.yaml");
    let report = lint(&[Input::Path(file)], None);
    assert_eq!(report.findings, vec![], "{}", report.to_text());
    assert_eq!(report.exit_code(), 0);
    let paths: Vec<&str> = report.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.analysis.metrics[0].templateRef.namespace",
            "spec.analysis.metrics[1].templateRef.namespace"
        ]
    );
    assert!(
        report.warnings[0]
            .message
            .contains("MetricTemplate in namespace \"flagger-system\""),
        "{}",
        report.warnings[0].message
    );
    assert!(report.to_text().contains(": warning: MetricTemplate"));

    let same = "apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis:
    interval: 1m
    threshold: 2
    stepWeight: 10
    maxWeight: 50
    metrics:
      - name: errors
        templateRef: {name: errors, namespace: test}
        thresholdRange: {max: 1}
    alerts:
      - name: on-call
        providerRef: {name: on-call}
";
    let out = serin(&["lint", "-"], Some(same));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 warning(s)"));
    let other = same.replace(
        "providerRef: {name: on-call}",
        "providerRef: {name: on-call, namespace: ops}",
    );
    let out = serin(&["lint", "-"], Some(&other));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("spec.analysis.alerts[0].providerRef.namespace: warning: AlertProvider in namespace \"ops\""),
        "{text}"
    );
}
