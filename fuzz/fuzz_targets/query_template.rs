//! MetricTemplate queries: parsing and rendering never panic, overflow the stack or loop, and
//! a rendered query is bounded by the template and its variables.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serin_crds::query_template::{QueryTemplate, TemplateContext};

fuzz_target!(|input: (&str, &str)| {
    let (source, value) = input;
    let Ok(template) = QueryTemplate::parse(source) else {
        return;
    };
    let variables: BTreeMap<String, String> = template
        .variables()
        .iter()
        .map(|name| (name.clone(), value.to_owned()))
        .collect();
    let context = TemplateContext {
        name: "podinfo".into(),
        namespace: "test".into(),
        target: "podinfo".into(),
        service: "podinfo".into(),
        ingress: "podinfo".into(),
        route: "podinfo".into(),
        interval: "1m".into(),
        variables,
    };
    let _ = template.check_variables(&context.variables);
    let _ = template.render(&context);
});
