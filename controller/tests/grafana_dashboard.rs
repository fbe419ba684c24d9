//! The Grafana dashboard shipped in `config/grafana/` and `charts/serin/dashboards/`: the two
//! copies are identical, and every metric its queries name is one that serin exports.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dashboard_text(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).expect("the dashboard JSON is readable")
}

/// Series names `serin controller` exports on `/metrics`, read from the samples of every
/// family once each has one.
fn exported() -> BTreeSet<String> {
    use serin_controller::metrics::{
        CanaryLabels, CategoryLabels, InfoLabels, MetricLabels, Metrics, NamespaceLabels,
        OutcomeLabels, RouterCallLabels,
    };
    let mut registry = prometheus_client::registry::Registry::default();
    let m = Metrics::new(&mut registry);
    let canary = CanaryLabels {
        name: "podinfo".into(),
        namespace: "test".into(),
    };
    let outcome = OutcomeLabels {
        name: "podinfo".into(),
        namespace: "test".into(),
        deployment_strategy: "canary".into(),
        analysis_status: "completed".into(),
    };
    m.info
        .get_or_create(&InfoLabels {
            version: "0".into(),
            mesh_provider: "kubernetes".into(),
        })
        .set(1);
    m.canary_total
        .get_or_create(&NamespaceLabels {
            namespace: "test".into(),
        })
        .set(1);
    m.set_status(
        "podinfo",
        "test",
        serin_crds::canary::CanaryPhase::Progressing,
    );
    m.set_weights("podinfo", "test", 90, 10);
    m.canary_duration.get_or_create(&canary).observe(1.0);
    m.metric_analysis
        .get_or_create(&MetricLabels {
            name: "podinfo".into(),
            namespace: "test".into(),
            metric: "m".into(),
        })
        .set(1.0);
    m.successes.get_or_create(&outcome).inc();
    m.failures.get_or_create(&outcome).inc();
    m.reconcile_duration.observe(0.1);
    m.reconcile_errors
        .get_or_create(&CategoryLabels {
            category: "kube".into(),
        })
        .inc();
    m.router_calls
        .get_or_create(&RouterCallLabels {
            router: "kubernetes".into(),
            result: "ok".into(),
        })
        .inc();
    m.kube_api.observe(
        "get",
        "canaries",
        "",
        "success",
        Some(std::time::Duration::from_millis(1)),
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    let families = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
    let names: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        families, 13,
        "a new metric family: give it a sample above so that the dashboard may use it"
    );
    names
}

/// Every `PromQL` query of the dashboard: panel targets and query variables.
fn queries(dashboard: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
    {
        if let Some(q) = variable["query"]["query"].as_str() {
            out.push(q.to_owned());
        }
    }
    out
}

/// Aggregation operators, which may be followed by `by (...)` before their arguments.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];

const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
];

/// The metric names a query reads: identifiers outside label matchers, ranges and strings that
/// are not functions, keywords or label lists of `by (...)`.
fn metrics_in(query: &str) -> BTreeSet<String> {
    let mut cleaned = String::new();
    let mut depth = 0;
    let mut in_string = false;
    for c in query.chars() {
        match c {
            '"' => in_string = !in_string,
            '{' | '[' if !in_string => depth += 1,
            '}' | ']' if !in_string => depth -= 1,
            _ if in_string || depth > 0 => {}
            _ => cleaned.push(c),
        }
    }
    let chars: Vec<char> = cleaned.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_group = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == ':'
                    || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if KEYWORDS.contains(&word.as_str()) {
                skip_group = matches!(
                    word.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                );
            } else if next == Some(&'(')
                || word.starts_with('$')
                || AGGREGATIONS.contains(&word.as_str())
            {
                // A function call or a Grafana variable.
            } else if !skip_group {
                names.insert(word);
            }
            continue;
        }
        if c == ')' {
            skip_group = false;
        }
        i += 1;
    }
    // `label_values(metric, label)`: the label is not a metric.
    if query.starts_with("label_values(")
        && let Some(label) = query.trim_end_matches(')').rsplit(',').next()
    {
        names.remove(label.trim());
    }
    names
}

#[test]
fn the_config_and_chart_copies_of_the_dashboard_are_identical() {
    assert_eq!(
        dashboard_text("config/grafana/serin-dashboard.json"),
        dashboard_text("charts/serin/dashboards/serin-dashboard.json"),
        "copy config/grafana/serin-dashboard.json to charts/serin/dashboards/"
    );
}

#[test]
fn every_metric_the_dashboard_queries_is_exported_by_serin() {
    let dashboard: Value =
        serde_json::from_str(&dashboard_text("config/grafana/serin-dashboard.json")).expect("JSON");
    let exported = exported();
    let queries = queries(&dashboard);
    assert!(queries.len() >= 15, "{queries:?}");
    let mut used = BTreeSet::new();
    for query in &queries {
        let names = metrics_in(query);
        assert!(!names.is_empty(), "no metric found in {query}");
        for name in names {
            assert!(
                exported.contains(&name),
                "{name} (in {query}) is not exported by serin; exported: {exported:?}"
            );
            used.insert(name);
        }
    }
    // The dashboard covers Flagger's metrics and serin's own.
    for family in [
        "flagger_canary_status",
        "flagger_canary_weight",
        "flagger_canary_metric_analysis",
        "serin_reconcile_errors_total",
        "serin_kube_api_requests_total",
    ] {
        assert!(used.contains(family), "{family} is not charted");
    }
}

#[test]
fn metric_names_are_told_apart_from_functions_labels_and_variables() {
    let names = metrics_in(
        r#"histogram_quantile(0.99, sum by (le, verb) (rate(x_bucket{a="b{c}"}[$__rate_interval]))) / on (verb) y_total or vector(0)"#,
    );
    assert_eq!(
        names,
        BTreeSet::from(["x_bucket".to_owned(), "y_total".to_owned()])
    );
    assert_eq!(
        metrics_in("label_values(flagger_canary_total, namespace)"),
        BTreeSet::from(["flagger_canary_total".to_owned()])
    );
}
