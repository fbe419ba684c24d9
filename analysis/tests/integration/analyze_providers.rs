//! `serin analyze` with the MetricTemplates of Flagger's documentation for every provider
//! beyond Prometheus (and Flagger's CloudWatch example), each run against its vendor's stub.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use clap::Parser;
use serin_analysis::cli::{AnalyzeArgs, Inputs, run_with_factory};
use serin_analysis::{BuiltinProviders, ProviderFactory};
use serin_crds::MetricTemplate;

use crate::conformance::{Backend, Case, at};
use crate::support::flagger_manifest;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: AnalyzeArgs,
}

/// Flagger's CloudWatch example (docs/gitbook/usage/metrics.md), which the corpus lacks.
const CLOUDWATCH: &str = r#"apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: cloudwatch-error-rate
  namespace: test
spec:
  provider:
    type: cloudwatch
    region: ap-northeast-1
  query: |
    [
        {
            "Id": "e1",
            "Expression": "m1 / m2",
            "Label": "Percentage of 5xx errors"
        },
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {
                    "Namespace": "MyKubernetesCluster",
                    "MetricName": "ErrorCount",
                    "Dimensions": [{"Name": "appName", "Value": "{{ name }}.{{ namespace }}"}]
                },
                "Period": 60,
                "Stat": "Sum",
                "Unit": "Count"
            },
            "ReturnData": false
        },
        {
            "Id": "m2",
            "MetricStat": {
                "Metric": {
                    "Namespace": "MyKubernetesCluster",
                    "MetricName": "RequestCount",
                    "Dimensions": [{"Name": "appName", "Value": "{{ name }}.{{ namespace }}"}]
                },
                "Period": 60,
                "Stat": "Sum",
                "Unit": "Count"
            },
            "ReturnData": false
        }
    ]
"#;

/// Runs `serin analyze` on a Canary using `template`, pointed at `backend`'s stub, and returns
/// the exit code, the output and what the stub received.
async fn analyze<B: Backend + 'static>(
    backend: &'static B,
    template: MetricTemplate,
) -> (u8, String, Vec<crate::conformance::Recorded>) {
    let stub = backend.serve(Case::Value).await;
    let (spec, secret) = backend.provider(&stub.address);
    let mut template = template;
    let name = template.metadata.name.clone().expect("a name");
    let namespace = template
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "test".into());
    template.metadata.namespace = Some(namespace.clone());
    template.spec.provider.address = spec.address.clone().filter(|_| backend.kind() != "keptn");
    template.spec.provider.secret_ref = spec.secret_ref.clone();
    if spec.region.is_some() {
        template.spec.provider.region = spec.region.clone();
    }
    let mut yaml = format!(
        "apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: istio
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  ingressRef: {{apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo}}
  service: {{port: 9898}}
  analysis:
    interval: 1m
    threshold: 5
    metrics:
      - name: {name}
        templateRef: {{name: {name}, namespace: {namespace}}}
        thresholdRange: {{max: 5}}
        interval: 1m
---
{}",
        serde_yaml::to_string(&template).expect("the template as YAML")
    );
    if let Some(data) = secret {
        let data: BTreeMap<String, String> = data
            .into_iter()
            .map(|(k, v)| (k, base64::engine::general_purpose::STANDARD.encode(v)))
            .collect();
        let secret = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "conformance", "namespace": namespace},
            "data": data,
        });
        yaml.push_str("---\n");
        yaml.push_str(&serde_yaml::to_string(&secret).expect("the Secret as YAML"));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("canary.yaml");
    std::fs::write(&path, yaml).expect("write the manifests");
    let at = at().to_rfc3339();
    let argv = [
        "analyze",
        "-f",
        path.to_str().expect("a UTF-8 path"),
        "--time",
        &at,
    ];
    let cli = Cli::try_parse_from(argv).expect("the arguments parse");
    let factory: Arc<dyn ProviderFactory> = match backend.kind() {
        "keptn" => backend.factory(&stub.address),
        _ => Arc::new(BuiltinProviders::default()),
    };
    let mut out = Vec::new();
    let code = run_with_factory(cli.args, factory, &mut out)
        .await
        .expect("output is written");
    let output = String::from_utf8(out).expect("UTF-8 output");
    (code, output, stub.requests())
}

fn corpus_template(number: &str) -> MetricTemplate {
    let mut inputs = Inputs::read(&[flagger_manifest(number)]).expect("the manifest reads");
    inputs.templates.pop().expect("a MetricTemplate")
}

/// Asserts a passing run whose requests carry `rendered` (a part of the rendered query).
fn assert_passes(
    kind: &str,
    (code, output, requests): &(u8, String, Vec<crate::conformance::Recorded>),
    rendered: &str,
) {
    assert_eq!(*code, 0, "{kind}: {output}");
    assert!(
        output.contains("Pass") && output.contains("1.5"),
        "{kind}: {output}"
    );
    let sent = requests.iter().any(|r| {
        r.query.contains(&urlencoded(rendered))
            || r.body.contains(rendered)
            || r.path.contains(rendered)
    });
    assert!(sent, "{kind}: no request carried {rendered}: {requests:?}");
}

fn urlencoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn flaggers_templates_run_against_every_providers_stub() {
    use crate::conformance::{
        cloudwatch::CloudWatch, datadog::Datadog, dynatrace::Dynatrace,
        external_metrics::ExternalMetrics, graphite::Graphite, influxdb::InfluxDb, keptn::Keptn,
        newrelic::Insights, splunk::Splunk, stackdriver::Stackdriver,
    };
    let run = analyze(&Datadog, corpus_template("065")).await;
    assert_passes("datadog", &run, "destination_workload:podinfo");
    let run = analyze(&Insights, corpus_template("067")).await;
    assert_passes("newrelic", &run, "ingress = 'podinfo'");
    let run = analyze(&Graphite, corpus_template("068")).await;
    assert_passes(
        "graphite",
        &run,
        "stats.timers.httpServerRequests.app.podinfo.exception",
    );
    let run = analyze(&Stackdriver, corpus_template("070")).await;
    assert_passes("stackdriver", &run, "podinfo-canary");
    let run = analyze(&InfluxDb, corpus_template("071")).await;
    assert_passes(
        "influxdb",
        &run,
        r#"r[\"destination_workload\"] == \"podinfo\""#,
    );
    let run = analyze(&Dynatrace, corpus_template("072")).await;
    assert_passes("dynatrace", &run, "SERVICE-ABCDEFG0123456789");
    let run = analyze(&Keptn, corpus_template("073")).await;
    assert_passes("keptn", &run, "/keptnmetrics/response-time");
    let run = analyze(&Splunk, corpus_template("074")).await;
    assert_passes("splunk", &run, "filter('sf_service', 'podinfo')");
    let run = analyze(&ExternalMetrics, corpus_template("075")).await;
    assert_passes(
        "externalmetrics",
        &run,
        "/namespaces/webapp-frontend/job-success-rate",
    );
    let cloudwatch: MetricTemplate = serde_yaml::from_str(CLOUDWATCH).expect("the example parses");
    let run = analyze(&CloudWatch, cloudwatch).await;
    assert_passes("cloudwatch", &run, r#""Value":"podinfo.test""#);
}

#[tokio::test]
async fn check_reports_each_provider_online_or_not() {
    use crate::conformance::datadog::Datadog;
    let stub = Datadog.serve(Case::Value).await;
    let (spec, secret) = Datadog.provider(&stub.address);
    let mut template = corpus_template("065");
    template.spec.provider.address = spec.address.clone();
    template.spec.provider.secret_ref = spec.secret_ref;
    let secret = secret.expect("datadog has a Secret");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let write = |file: &str, api_key: &str| {
        let mut data = secret.clone();
        data.insert("datadog_api_key".into(), api_key.as_bytes().to_vec());
        let data: BTreeMap<String, String> = data
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v).expect("text")))
            .collect();
        let yaml = format!(
            "apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: istio-system}}
spec:
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  service: {{port: 9898}}
  analysis:
    interval: 1m
    threshold: 5
    metrics:
      - name: not-found-percentage
        templateRef: {{name: not-found-percentage, namespace: istio-system}}
        thresholdRange: {{max: 5}}
      - name: offline
        templateRef: {{name: offline, namespace: istio-system}}
        thresholdRange: {{max: 5}}
---
{}---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {{name: offline, namespace: istio-system}}
spec:
  provider: {{type: prometheus, address: 'http://127.0.0.1:{}'}}
  query: vector(1)
---
{}",
            serde_yaml::to_string(&template).expect("YAML"),
            crate::support::free_port(),
            serde_yaml::to_string(&serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "conformance", "namespace": "istio-system"},
                "stringData": data,
            }))
            .expect("YAML")
        );
        let path = dir.path().join(file);
        std::fs::write(&path, yaml).expect("write");
        path
    };
    let path = write("canary.yaml", "api-key-1");
    let cli = Cli::try_parse_from(["analyze", "-f", path.to_str().expect("UTF-8"), "--check"])
        .expect("the arguments parse");
    let mut out = Vec::new();
    let code = run_with_factory(cli.args, Arc::new(BuiltinProviders::default()), &mut out)
        .await
        .expect("output");
    let output = String::from_utf8(out).expect("UTF-8");
    assert_eq!(code, 2, "one provider is offline: {output}");
    let lines: Vec<&str> = output.lines().collect();
    assert!(
        lines[0].starts_with("datadog") && lines[0].contains("online"),
        "{output}"
    );
    assert!(
        lines[1].starts_with("prometheus") && lines[1].contains("OFFLINE"),
        "{output}"
    );
    assert!(output.contains("cannot reach"), "{output}");
    assert!(
        !output.contains("api-key-1"),
        "no secret in the output: {output}"
    );
    let requests = stub.requests();
    assert!(
        requests.iter().all(|r| r.path == "/api/v1/validate"),
        "--check runs no query: {requests:?}"
    );
}
