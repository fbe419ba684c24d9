//! `serin analyze`: exit codes and output, through the library entry point.

use std::path::PathBuf;

use clap::{CommandFactory as _, Parser};
use serin_analysis::cli::{AnalyzeArgs, run};

use crate::support::{Requirement, auth_proxy, flagger_manifest, prometheus};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: AnalyzeArgs,
}

const CANARY: &str = "apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  provider: linkerd
  metricsServer: http://prometheus.linkerd-viz:9090
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis:
    interval: 1m
    metrics:
      - name: request-success-rate
        thresholdRange: {min: MIN}
        interval: 1m
      - name: latency
        templateRef: {name: latency, namespace: test}
        templateVariables: {direction: inbound}
        thresholdRange: {max: 500}
";

struct Run {
    code: u8,
    output: String,
}

/// Writes `canary` (with `MIN` replaced by `min`) to a file and runs `serin analyze` on it, the
/// Linkerd latency template of the Flagger corpus, and `extra` arguments.
async fn analyze(canary: &str, min: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("canary.yaml");
    std::fs::write(&path, canary.replace("MIN", min)).expect("write the canary");
    let url = &prometheus().url;
    let at = prometheus().at.to_rfc3339();
    let template = flagger_manifest("045");
    let mut argv: Vec<String> = ["analyze", "-f"].map(String::from).to_vec();
    argv.push(path.display().to_string());
    argv.extend(["-f".to_owned(), template.display().to_string()]);
    argv.extend([
        "--metrics-server".to_owned(),
        url.clone(),
        "--template-address".to_owned(),
        url.clone(),
    ]);
    argv.extend(["--time".to_owned(), at]);
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    let cli = Cli::try_parse_from(&argv).expect("the arguments parse");
    let mut out = Vec::new();
    let code = run(cli.args, &mut out).await.expect("output is written");
    Run {
        code,
        output: String::from_utf8(out).expect("UTF-8 output"),
    }
}

#[tokio::test]
async fn all_checks_passing_exits_0_with_a_table() {
    let run = analyze(CANARY, "90", &[]).await;
    assert_eq!(run.code, 0, "{}", run.output);
    let lines: Vec<&str> = run.output.lines().collect();
    assert!(lines[0].starts_with("METRIC"), "{}", run.output);
    for column in ["OUTCOME", "VALUE", "RANGE", "QUERY"] {
        assert!(lines[0].contains(column), "{}", run.output);
    }
    assert!(
        lines[1].starts_with("request-success-rate  Pass"),
        "{}",
        run.output
    );
    assert!(
        lines[1].contains("95") && lines[1].contains(">= 90"),
        "{}",
        run.output
    );
    assert!(
        lines[1].contains(r#"response_total{ namespace="test", deployment=~"podinfo""#),
        "{}",
        run.output
    );
    assert!(
        lines[2].starts_with("latency") && lines[2].contains("290"),
        "{}",
        run.output
    );
    assert_eq!(
        lines.len(),
        3,
        "no messages when everything passes: {}",
        run.output
    );
}

#[tokio::test]
async fn a_failed_check_exits_1_and_explains() {
    let run = analyze(CANARY, "99", &[]).await;
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(
        run.output.contains(
            "request-success-rate (Fail): request-success-rate is 95%, below the minimum 99%"
        ),
        "{}",
        run.output
    );
}

#[tokio::test]
async fn no_data_exits_2_and_set_overrides_the_template_values() {
    let run = analyze(CANARY, "90", &["--set", "target=nothere"]).await;
    assert_eq!(run.code, 2, "{}", run.output);
    assert!(
        run.output.contains(r#"deployment=~"nothere""#),
        "{}",
        run.output
    );
    assert!(run.output.contains("no values found"), "{}", run.output);
    let run = analyze(CANARY, "90", &["--set", "variables.direction=outbound"]).await;
    assert_eq!(
        run.code, 2,
        "the outbound latency has no data: {}",
        run.output
    );
}

#[tokio::test]
async fn json_output_has_every_result_and_the_exit_code() {
    let run = analyze(CANARY, "99", &["-o", "json"]).await;
    assert_eq!(run.code, 1);
    let json: serde_json::Value = serde_json::from_str(&run.output).expect("JSON output");
    assert_eq!(json["canary"], "test/podinfo");
    assert_eq!(json["exitCode"], 1);
    assert_eq!(json["results"][0]["outcome"], "Fail");
    assert_eq!(json["results"][0]["thresholdRange"]["min"], 99.0);
    assert_eq!(json["results"][1]["value"], 290.0);
    assert_eq!(json["results"][1]["outcome"], "Pass");
}

#[tokio::test]
async fn unusable_input_exits_2_with_a_message() {
    let missing = PathBuf::from("/nonexistent/canary.yaml");
    let cli = Cli::try_parse_from(["analyze", "-f", &missing.display().to_string()]).unwrap();
    let mut out = Vec::new();
    assert_eq!(run(cli.args, &mut out).await.unwrap(), 2);
    let output = String::from_utf8(out).unwrap();
    assert!(
        output.starts_with("error: cannot read /nonexistent/canary.yaml"),
        "{output}"
    );

    let run = analyze(CANARY, "90", &["--set", "namespcae=x"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.output.contains("`namespcae` is not a template value"),
        "{}",
        run.output
    );

    let two = format!(
        "{CANARY}---\n{}",
        CANARY.replace("name: podinfo\n  namespace", "name: other\n  namespace")
    );
    let run = analyze(&two, "90", &[]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.output.contains("several Canaries (podinfo, other)"),
        "{}",
        run.output
    );
    let run = analyze(&two, "90", &["--canary", "other"]).await;
    assert_eq!(run.code, 0, "{}", run.output);
}

#[tokio::test]
async fn credentials_come_from_a_secret_in_the_files() {
    let proxy = auth_proxy(vec![Requirement {
        header: ("authorization".into(), "Bearer t0ken".into()),
    }])
    .await;
    let with_secret = CANARY.to_owned()
        + "---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: success, namespace: test}
spec:
  provider: {type: prometheus, address: PROXY, secretRef: {name: prom-auth}}
  query: sum(rate(response_total{namespace=\"{{ namespace }}\",direction=\"inbound\"}[{{ interval }}]))
---
apiVersion: v1
kind: Secret
metadata: {name: prom-auth, namespace: test}
stringData: {token: t0ken}
";
    let with_secret = with_secret
        .replace("PROXY", &proxy)
        .replace(
            "      - name: latency\n        templateRef: {name: latency, namespace: test}",
            "      - name: throughput\n        templateRef: {name: success, namespace: test}",
        )
        .replace("thresholdRange: {max: 500}", "thresholdRange: {min: 1}");
    // Without --template-address the template's own address (the proxy) is used.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.yaml");
    std::fs::write(&path, with_secret.replace("MIN", "90")).unwrap();
    let url = &prometheus().url;
    let cli = Cli::try_parse_from([
        "analyze",
        "-f",
        &path.display().to_string(),
        "--metrics-server",
        url,
        "--time",
        &prometheus().at.to_rfc3339(),
    ])
    .unwrap();
    let mut out = Vec::new();
    let code = run(cli.args, &mut out).await.unwrap();
    let output = String::from_utf8(out).unwrap();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("throughput"), "{output}");
}

#[test]
fn help_describes_every_flag() {
    let help = Cli::command().render_long_help().to_string();
    for flag in [
        "--filename",
        "--metrics-server",
        "--template-address",
        "--set",
        "--canary",
        "--mesh-provider",
        "--timeout",
        "--time",
        "--output",
        "--check",
        "Exit status",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[tokio::test]
async fn a_self_recursive_template_is_an_error_not_a_crash() {
    // Rendered by a Go-template engine, this template overflowed the stack and aborted the
    // process; it is refused when parsed.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("hostile.yaml");
    std::fs::write(
        &path,
        r#"apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: recursive, namespace: test}
spec:
  provider: {type: prometheus, address: "http://127.0.0.1:9"}
  query: '{{define "a"}}{{template "a"}}{{end}}{{template "a"}}'
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 80}
  analysis:
    interval: 1m
    metrics:
      - name: recursive
        templateRef: {name: recursive}
        thresholdRange: {max: 1}
"#,
    )
    .expect("write the manifests");
    let argv = ["analyze", "-f", path.to_str().expect("UTF-8 path")];
    let cli = Cli::try_parse_from(argv).expect("the arguments parse");
    let mut out = Vec::new();
    let code = run(cli.args, &mut out).await.expect("output is written");
    let output = String::from_utf8(out).expect("UTF-8 output");
    assert_eq!(code, 2, "{output}");
    assert!(
        output
            .contains("recursive (Error): query template does not parse: `define` is not allowed"),
        "{output}"
    );
}

#[tokio::test]
async fn a_check_the_controller_would_refuse_is_reported_by_its_field_and_exits_2() {
    let without_range = CANARY.replace("        thresholdRange: {max: 500}\n", "");
    let run = analyze(&without_range, "90", &[]).await;
    assert_eq!(run.code, 2, "{}", run.output);
    assert!(
        run.output.contains(
            "Canary test/podinfo is not valid: spec.analysis.metrics[1]: needs thresholdRange"
        ),
        "{}",
        run.output
    );
    assert!(
        !run.output.contains("METRIC"),
        "nothing ran: {}",
        run.output
    );
}
