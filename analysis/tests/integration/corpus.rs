//! Every Canary of the Flagger corpus plans: built-in metrics render for its router, and its
//! template references render with the MetricTemplates of the same Flagger document.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serin_analysis::cli::Inputs;
use serin_analysis::context::ContextOverrides;
use serin_analysis::plan::PlanError;
use serin_analysis::{PlanInputs, plan_canary};
use serin_crds::canary::Provider;

use crate::support::flagger_manifests;

/// Corpus files grouped by the Flagger document they come from (their `# source:` line).
fn manifests_by_document() -> BTreeMap<String, Vec<PathBuf>> {
    let mut groups: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(flagger_manifests()).expect("read the corpus") {
        let path = entry.expect("a corpus entry").path();
        let text = std::fs::read_to_string(&path).expect("read a manifest");
        let source = text.lines().next().unwrap_or_default().to_owned();
        groups.entry(source).or_default().push(path);
    }
    groups
}

#[test]
fn every_corpus_canary_plans_its_checks() {
    let overrides = ContextOverrides::default();
    let (mut canaries, mut checks) = (0, 0);
    for (source, paths) in manifests_by_document() {
        let inputs = Inputs::read(&paths).expect("the corpus reads");
        for canary in &inputs.canaries {
            canaries += 1;
            let (_, planned) = plan_canary(
                canary,
                &PlanInputs {
                    templates: &inputs.templates,
                    metrics_server: "http://prometheus:9090",
                    default_router: Provider::Istio,
                    overrides: &overrides,
                },
            )
            .unwrap_or_else(|e| panic!("{source}: the Canary does not validate: {e}"));
            for result in planned {
                match result {
                    Ok(check) => {
                        assert!(!check.query.contains("{{"), "{}", check.query);
                        checks += 1;
                    }
                    // Some documents show a Canary without the template it names.
                    Err(failure) if matches!(failure.error, PlanError::TemplateNotFound { .. }) => {
                    }
                    Err(failure) => panic!("{source}: {}: {}", failure.name, failure.error),
                }
            }
        }
    }
    assert!(canaries >= 20, "{canaries} canaries");
    assert!(checks >= 30, "{checks} checks planned");
}
