//! `serin lint`: checks manifests for serin resources without a cluster, with the same
//! validation the controller applies. Pure apart from reading the inputs.

mod input;
mod report;

pub use input::{Document, Input, InputError, read_documents, split_documents};
pub use report::{Finding, LintReport};

use std::collections::BTreeMap;

use serin_crds::canary::Provider;

use serin_crds::validation::{
    MetricSource, ParsedResource, ValidCanary, ValidMetricTemplate, parse_resource,
    validate_alert_provider, validate_canary, validate_metric_template,
};

/// Lints every document of every input. Reading problems are recorded in the report, not
/// returned, so that one bad file does not hide the findings in the others.
///
/// `mesh_provider` is the router of Canaries without `spec.provider` (the controller's
/// `--mesh-provider`); when `None`, what a router cannot express is checked only for Canaries
/// that name their provider.
pub fn lint(inputs: &[Input], mesh_provider: Option<Provider>) -> LintReport {
    let mut report = LintReport::default();
    let mut documents = Vec::new();
    for input in inputs {
        let (mut docs, errors) = read_documents(input);
        documents.append(&mut docs);
        report.input_errors.extend(errors);
    }
    lint_documents(report, &documents, mesh_provider)
}

/// Lints the YAML `text` read from `source` as [`lint`] lints a file. Pure (fuzzed).
pub fn lint_text(source: &str, text: &str, mesh_provider: Option<Provider>) -> LintReport {
    let mut report = LintReport::default();
    let documents = match split_documents(source, text) {
        Ok(documents) => documents,
        Err(e) => {
            report.input_errors.push(e);
            Vec::new()
        }
    };
    lint_documents(report, &documents, mesh_provider)
}

/// Adds the findings of `documents` to `report`.
fn lint_documents(
    mut report: LintReport,
    documents: &[Document],
    mesh_provider: Option<Provider>,
) -> LintReport {
    let mut templates = BTreeMap::new();
    let mut canaries = Vec::new();
    for doc in documents {
        let Some(parsed) = parse_resource(&doc.value) else {
            continue;
        };
        report.checked += 1;
        let (kind, name, namespace) = identity(&doc.value);
        let finding = |path: &str, message: &str| Finding {
            source: doc.source.clone(),
            kind: kind.clone(),
            name: name.clone(),
            path: path.to_owned(),
            message: message.to_owned(),
        };
        let errors = match parsed {
            Err(errors) => errors.0,
            Ok(ParsedResource::Canary(c)) => match validate_canary(&c.spec, mesh_provider) {
                Ok(valid) => {
                    canaries.push((doc, namespace, valid));
                    Vec::new()
                }
                Err(errors) => errors.0,
            },
            Ok(ParsedResource::MetricTemplate(m)) => match validate_metric_template(&m.spec) {
                Ok(valid) => {
                    templates.insert((namespace, name.clone()), valid);
                    Vec::new()
                }
                Err(errors) => errors.0,
            },
            Ok(ParsedResource::AlertProvider(a)) => validate_alert_provider(&a.spec)
                .err()
                .map(|e| e.0)
                .unwrap_or_default(),
        };
        report
            .findings
            .extend(errors.iter().map(|e| finding(&e.path, &e.message)));
    }
    for (doc, namespace, canary) in canaries {
        let (kind, name, _) = identity(&doc.value);
        for (path, referenced, other) in cross_namespace_refs(&canary, namespace.as_deref()) {
            report.warnings.push(Finding {
                source: doc.source.clone(),
                kind: kind.clone(),
                name: name.clone(),
                path,
                message: format!(
                    "{referenced} in namespace {other:?}: the controller refuses references to \
                     other namespaces unless it runs with --no-cross-namespace-refs=false"
                ),
            });
        }
        for (i, check) in canary.metrics.iter().enumerate() {
            let MetricSource::Template(reference) = &check.source else {
                continue;
            };
            let key = (
                reference.namespace.clone().or_else(|| namespace.clone()),
                reference.name.clone(),
            );
            let Some(template) = templates.get(&key) else {
                continue;
            };
            if let Err(e) = used_variables(template, &check.variables) {
                report.findings.push(Finding {
                    source: doc.source.clone(),
                    kind: kind.clone(),
                    name: name.clone(),
                    path: format!("spec.analysis.metrics[{i}].templateVariables"),
                    message: format!("template {}: {e}", reference.name),
                });
            }
        }
    }
    report
}

/// The references of `canary` to MetricTemplates and AlertProviders that name a namespace other
/// than the Canary's (any namespace when the document names none): field path, kind, namespace.
fn cross_namespace_refs(
    canary: &ValidCanary,
    namespace: Option<&str>,
) -> Vec<(String, &'static str, String)> {
    let templates = canary.metrics.iter().enumerate().filter_map(|(i, m)| {
        let MetricSource::Template(r) = &m.source else {
            return None;
        };
        Some((
            format!("spec.analysis.metrics[{i}].templateRef"),
            "MetricTemplate",
            r,
        ))
    });
    let providers = canary.alerts.iter().enumerate().map(|(i, a)| {
        (
            format!("spec.analysis.alerts[{i}].providerRef"),
            "AlertProvider",
            &a.provider_ref,
        )
    });
    templates
        .chain(providers)
        .filter_map(|(path, kind, r)| {
            let other = r.namespace.as_deref()?;
            (Some(other) != namespace)
                .then(|| (format!("{path}.namespace"), kind, other.to_owned()))
        })
        .collect()
}

fn used_variables(
    template: &ValidMetricTemplate,
    variables: &BTreeMap<String, String>,
) -> Result<(), serin_crds::query_template::TemplateError> {
    template.query.check_variables(variables)
}

/// Kind, name and namespace of a document, for messages.
fn identity(value: &serde_json::Value) -> (String, String, Option<String>) {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    (
        text(&value["kind"]).unwrap_or_default(),
        text(&value["metadata"]["name"]).unwrap_or_else(|| "<unnamed>".into()),
        text(&value["metadata"]["namespace"]),
    )
}
