//! Admission of serin's resources by an API server running serin's CRDs (the emulator, which
//! evaluates their schemas and CEL rules): every invalid manifest of the lint corpus whose problem
//! can be said about one object is refused naming the field `serin lint` names, the others are
//! listed with the reason they cannot be; every Flagger manifest is accepted; `kubectl apply`
//! prints the rule's message.

use std::path::{Path, PathBuf};

use serde_json::Value;
use serin_sim::Server;

/// What the API server does with one invalid manifest of `tests/lint/invalid/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// Refused (422) with a cause naming this field.
    Field(&'static str),
    /// Refused (404): the API server does not serve the version.
    NotServed,
    /// Stored: only the controller (and `serin lint`) can tell, for this reason.
    Controller(&'static str),
}

use Admission::{Controller, Field, NotServed};

/// What the emulator did with the serin documents of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// 422, the first cause naming this field.
    Refused(String),
    /// 404.
    NotServed,
    /// Every document stored, or none to send.
    Stored,
    /// Any other answer, with its body.
    Unexpected(u16, String),
}

const NEEDS_PARSER: &str = "needs the query-template parser, which CEL cannot express";

/// Every manifest of the corpus, by file-name prefix.
const CORPUS: &[(&str, Admission)] = &[
    ("01-", Field("spec.analysis")),
    ("02-", Field("spec.analysis")),
    ("03-", Field("spec.analysis.stepWeight")),
    ("04-", Field("spec.analysis.stepWeight")),
    ("05-", Field("spec.analysis.stepWeights")),
    ("06-", Field("spec.analysis.stepWeights[1]")),
    ("07-", Field("spec.analysis.stepWeights")),
    ("08-", Field("spec.analysis.maxWeight")),
    ("09-", Field("spec.analysis.maxWeight")),
    ("10-", Field("spec.analysis.interval")),
    ("11-", Field("spec.analysis.interval")),
    ("12-", Field("spec.analysis.interval")),
    ("13-", Field("spec.analysis.threshold")),
    ("14-", Field("spec.analysis.threshold")),
    ("15-", Field("spec.analysis.metrics[0].thresholdRange")),
    ("16-", Field("spec.analysis.metrics[0]")),
    ("17-", Field("spec.analysis.metrics[0]")),
    ("18-", Field("spec.analysis.metrics[0].interval")),
    ("19-", Field("spec.analysis.metrics[0]")),
    ("20-", Field("spec.analysis.metrics")),
    ("21-", Field("spec.analysis.webhooks[0].type")),
    ("22-", Field("spec.analysis.webhooks[0].url")),
    ("23-", Field("spec.analysis.webhooks[0].url")),
    ("24-", Field("spec.analysis.webhooks[0].timeout")),
    (
        "25-",
        Field("spec.analysis.sessionAffinity.primaryCookieName"),
    ),
    ("26-", Field("spec.analysis.sessionAffinity")),
    ("27-", Field("spec.provider")),
    ("28-", Field("spec.targetRef")),
    ("29-", Field("spec.ingressRef")),
    ("30-", Field("spec.service.gatewayRefs")),
    ("31-", Field("spec.provider")),
    ("32-", Field("spec.provider")),
    // The misspelt `stepweight` is pruned, not refused (kubectl's strict field validation reports
    // it; the emulator does not enforce fieldValidation), but it leaves no strategy.
    ("33-", Field("spec.analysis")),
    ("34-", Field("spec.analysis.stepWeight")),
    ("35-", Field("spec.targetRef.kind")),
    ("36-", Field("spec.analysis.mirror")),
    ("37-", Field("spec.analysis.mirror")),
    ("38-", Field("spec.analysis.mirrorWeight")),
    ("39-", Field("spec.progressDeadlineSeconds")),
    ("40-", Field("spec.service.port")),
    ("41-", Field("spec.service")),
    ("42-", Field("spec.autoscalerRef.apiVersion")),
    ("43-", Field("spec.autoscalerRef.primaryScalerReplicas")),
    ("44-", Field("spec.service.mirror[0].backendRef.port")),
    ("45-", Field("spec.analysis.iterations")),
    ("46-", Field("spec.analysis.maxWeight")),
    ("47-", Field("metadata.name")),
    ("48-", NotServed),
    ("49-", Controller(NEEDS_PARSER)),
    ("50-", Controller(NEEDS_PARSER)),
    ("51-", Field("spec.query")),
    ("52-", Field("spec.provider.address")),
    ("53-", Field("spec.provider.type")),
    ("54-", Field("spec")),
    ("55-", Field("spec.type")),
    ("56-", Field("spec.proxy")),
    (
        "57-",
        Controller(
            "needs two objects: the variables the MetricTemplate's query uses and those the Canary defines",
        ),
    ),
    ("58-", Controller("not YAML: the client cannot send it")),
    ("59-", Controller("not YAML: the client cannot send it")),
    ("60-", Field("spec.query")),
    ("61-", Field("spec.query")),
    ("62-", Field("spec.analysis.stepWeight")),
    ("63-", Field("spec.analysis.match")),
    ("64-", Controller(MATCH_DETAILS)),
    ("65-", Field("spec.analysis.sessionAffinity")),
    ("66-", Controller(MATCH_DETAILS)),
    ("67-", Controller(MATCH_DETAILS)),
    ("68-", Field("spec.analysis.webhooks[0].timeout")),
    ("69-", Field("spec.analysis.webhooks[0].retries")),
    ("70-", Field("spec.analysis.metrics[0].comparison.margin")),
    ("71-", Field("spec.analysis.metrics[0].comparison.alpha")),
    ("72-", Field("spec.analysis.metrics[0]")),
    ("73-", Field("spec.analysis.mirror")),
    ("74-", Controller(MATCH_DETAILS)),
    ("75-", Field("spec.service.extensionFilters")),
    ("76-", Field("spec.service.routeKind")),
    ("77-", Field("spec.service.timeout")),
    ("78-", Controller(GRPC_METHOD)),
];

const GRPC_METHOD: &str = "whether a uri names a gRPC method is not generated as a CEL rule yet";

const MATCH_DETAILS: &str = "which match kinds (exact, prefix, regex) and how many headers each router \
     routes on are not generated as CEL rules yet: they could be, from the capability table";

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// The documents of a YAML stream up to the first that does not parse (the deserializer would
/// repeat that error forever).
fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map_while(|doc| serde::Deserialize::deserialize(doc).ok())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn plural(kind: &str) -> &'static str {
    match kind {
        "Canary" => "canaries",
        "MetricTemplate" => "metrictemplates",
        _ => "alertproviders",
    }
}

/// Creates `doc` over HTTP and returns the status code and the body.
async fn create(http: &reqwest::Client, server: &Server, doc: &Value) -> (u16, Value) {
    let namespace = doc["metadata"]["namespace"].as_str().unwrap_or("default");
    let kind = doc["kind"].as_str().expect("kind");
    let api_version = doc["apiVersion"].as_str().expect("apiVersion");
    let url = format!(
        "{}/apis/{api_version}/namespaces/{namespace}/{}",
        server.base_url(),
        plural(kind)
    );
    let response = http.post(url).json(doc).send().await.expect("request");
    let code = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (code, body)
}

async fn server_with(crds: &str) -> Server {
    // reqwest is built without a default TLS provider; plain http needs one installed all the same.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = Server::start_default().await.expect("server");
    server.apply_yaml(crds).expect("CRDs apply");
    for ns in ["test", "flagger"] {
        server
            .apply_yaml(&format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
            ))
            .expect("namespace");
    }
    server
}

/// The CRDs without their CEL rules: what admission was before them.
fn without_rules(crds: &str) -> String {
    let mut out = String::new();
    for mut doc in documents(crds) {
        strip_rules(&mut doc);
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&doc).expect("yaml"));
    }
    out
}

fn strip_rules(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("x-kubernetes-validations");
            map.values_mut().for_each(strip_rules);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_rules),
        _ => {}
    }
}

/// The field paths of `serin lint`'s findings on one document.
fn lint_paths(doc: &Value) -> Vec<String> {
    use serin_crds::validation::{
        ParsedResource, parse_resource, validate_alert_provider, validate_canary,
        validate_metric_template,
    };
    let errors = match parse_resource(doc) {
        None => return Vec::new(),
        Some(Err(errors)) => errors,
        Some(Ok(ParsedResource::Canary(c))) => {
            validate_canary(&c.spec, None).err().unwrap_or_default()
        }
        Some(Ok(ParsedResource::MetricTemplate(m))) => {
            validate_metric_template(&m.spec).err().unwrap_or_default()
        }
        Some(Ok(ParsedResource::AlertProvider(a))) => {
            validate_alert_provider(&a.spec).err().unwrap_or_default()
        }
    };
    errors.errors().iter().map(|e| e.path.clone()).collect()
}

/// The outcome of creating every serin document of one corpus file.
async fn admit_file(http: &reqwest::Client, server: &Server, text: &str) -> Outcome {
    let docs = documents(text).into_iter().filter(|d| {
        d["apiVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("flagger.app/"))
    });
    for (i, mut doc) in docs.enumerate() {
        // The corpus reuses names; each object gets its own.
        if let Some(name) = doc["metadata"]["name"].as_str() {
            let unique = format!("{name}-{}-{i}", server.emulator().object_count());
            doc["metadata"]["name"] = Value::from(unique);
        }
        let (code, body) = create(http, server, &doc).await;
        match code {
            201 => {}
            404 => return Outcome::NotServed,
            422 => {
                let field = body["details"]["causes"][0]["field"]
                    .as_str()
                    .unwrap_or_default();
                return Outcome::Refused(field.to_owned());
            }
            other => return Outcome::Unexpected(other, body.to_string()),
        }
    }
    Outcome::Stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_manifests_are_refused_at_admission_naming_the_field_lint_names() {
    let crds = serin_controller::crds::crds_yaml().expect("crds");
    let files = corpus_files();
    assert_eq!(files.len(), CORPUS.len(), "every corpus file is listed");
    let with_rules = server_with(&crds).await;
    let structural_only = server_with(&without_rules(&crds)).await;
    let http = reqwest::Client::new();
    let (mut refused, mut refused_before) = (0, 0);
    for (file, (prefix, expected)) in files.iter().zip(CORPUS) {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(prefix), "{name} listed as {prefix}");
        let text = std::fs::read_to_string(file).expect("read");
        let lint_paths: Vec<String> = documents(&text).iter().flat_map(lint_paths).collect();
        let outcome = admit_file(&http, &with_rules, &text).await;
        let before = admit_file(&http, &structural_only, &text).await;
        match expected {
            Field(field) => {
                assert_eq!(outcome, Outcome::Refused((*field).to_owned()), "{name}");
                // The field admission names is one lint names, or the list lint indexes.
                let same = lint_paths.iter().any(|p| {
                    p == field
                        || p.starts_with(&format!("{field}["))
                        || p.starts_with(&format!("{field}."))
                });
                assert!(same, "{name}: admission names {field}, lint {lint_paths:?}");
            }
            NotServed => assert_eq!(outcome, Outcome::NotServed, "{name}"),
            Controller(_) => assert_eq!(outcome, Outcome::Stored, "{name}"),
        }
        refused += usize::from(outcome != Outcome::Stored);
        refused_before += usize::from(before != Outcome::Stored);
    }
    let total = files.len();
    eprintln!(
        "refused at admission: {refused_before} of {total} before the CEL rules, {refused} of {total} with them"
    );
    assert!(refused > refused_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flagger_manifest_is_accepted() {
    let crds = serin_controller::crds::crds_yaml().expect("crds");
    let server = server_with(&crds).await;
    let http = reqwest::Client::new();
    // `../shared` beside the repository, or `$SERIN_SHARED`, as the crds tests find it.
    let shared = std::env::var_os("SERIN_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    let dir = shared.join("flagger-compat/manifests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut accepted = 0;
    for file in &files {
        for mut doc in documents(&std::fs::read_to_string(file).expect("read")) {
            let namespace = doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned();
            server
                .apply_yaml(&format!(
                    "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n"
                ))
                .expect("namespace");
            // Several manifests share a name.
            doc["metadata"]["name"] = Value::from(format!("m{accepted}"));
            let (code, body) = create(&http, &server, &doc).await;
            assert_eq!(code, 201, "{}: {body}", file.display());
            accepted += 1;
        }
    }
    assert_eq!(accepted, 54);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_that_break_a_rule_are_refused_and_status_writes_on_old_objects_pass() {
    let crds = serin_controller::crds::crds_yaml().expect("crds");
    let server = server_with(&crds).await;
    let canary = "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo, namespace: test}\nspec:\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n  service: {port: 9898}\n  analysis: {interval: 1m, threshold: 5, stepWeight: 10, maxWeight: 50}\n";
    server.apply_yaml(canary).expect("a valid Canary is stored");
    let err = server
        .apply_yaml(&canary.replace("stepWeight: 10", "stepWeight: 60"))
        .expect_err("a step above maxWeight is refused on update");
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains(
            "spec.analysis.maxWeight: Invalid value: \"integer\": must be at least the first step"
        ),
        "{}",
        err.message
    );
    let status = "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo, namespace: test}\nstatus: {phase: Progressing}\n";
    let target = server
        .emulator()
        .target(
            &serin_sim::resources::GroupResource::new("flagger.app", "canaries"),
            Some("test"),
            Some("podinfo"),
        )
        .map(|mut t| {
            t.subresource = Some("status".to_owned());
            t
        })
        .expect("target");
    server
        .emulator()
        .patch(
            &target,
            serin_sim::patch::PatchType::Apply,
            status.as_bytes(),
            &serin_sim::ops::PatchOptions {
                field_manager: Some("serin".to_owned()),
                force: true,
            },
        )
        .expect("status written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_of_an_invalid_canary_prints_the_rules_message() {
    let kubectl = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
        .expect("kubectl is on PATH (scripts/test installs it)");
    let crds = serin_controller::crds::crds_yaml().expect("crds");
    let server = server_with(&crds).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lint/invalid/04-step-weight-over-100.yaml");
    let mut command = std::process::Command::new(kubectl);
    command
        .env("KUBECONFIG", &kubeconfig)
        .env("KUBECACHEDIR", dir.path().join("cache"))
        .args(["apply", "-f"])
        .arg(&manifest);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("kubectl runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("The Canary \"podinfo\" is invalid: spec.analysis.stepWeight: Invalid value: \"integer\": must be between 1 and 100"),
        "{stderr}"
    );
}
