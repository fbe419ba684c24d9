//! `serin crds`: the CustomResourceDefinitions serin serves, as multi-document YAML, and the API
//! reference generated from their field documentation.

use std::fmt::Write as _;

use serde_json::Value;

/// The three CRDs as one multi-document YAML stream, as committed under `crds/`.
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for crd in serin_crds::crds() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}

/// The API reference in Markdown: every field of every kind with its type and documentation, as
/// `kubectl explain` shows them. Committed as `docs/api-reference.md`.
pub fn api_reference() -> Result<String, serde_json::Error> {
    let mut out = String::from(
        "# API reference\n\nGenerated from the CRDs (`serin crds --reference`); the same text is \
         what `kubectl explain` shows. Group `flagger.app`, version `v1beta1`.\n",
    );
    for crd in serin_crds::crds() {
        let crd = serde_json::to_value(crd)?;
        let kind = crd["spec"]["names"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let _ = write!(
            out,
            "\n## {kind}\n\n{}\n\n",
            one_line(&schema["description"])
        );
        out.push_str("| field | type | description |\n| --- | --- | --- |\n");
        for section in ["spec", "status"] {
            if let Some(part) = schema["properties"].get(section) {
                fields(&mut out, section, part, false);
            }
        }
    }
    Ok(out)
}

fn one_line(text: &Value) -> String {
    text.as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn type_of(schema: &Value) -> String {
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return "integer or string".into();
    }
    let base = schema["type"].as_str().unwrap_or("object");
    let mut text = match base {
        "array" => format!("[]{}", type_of(&schema["items"])),
        "object"
            if schema
                .get("additionalProperties")
                .is_some_and(Value::is_object) =>
        {
            format!("map[string]{}", type_of(&schema["additionalProperties"]))
        }
        other => other.to_owned(),
    };
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .filter_map(|v| {
                v.as_str().map(|s| {
                    if s.is_empty() {
                        "\"\"".to_owned()
                    } else {
                        format!("`{s}`")
                    }
                })
            })
            .collect();
        let _ = write!(text, " ({})", values.join(", "));
    }
    text
}

fn fields(out: &mut String, path: &str, schema: &Value, required: bool) {
    let marker = if required { " (required)" } else { "" };
    let _ = writeln!(
        out,
        "| `{path}`{marker} | {} | {} |",
        type_of(schema),
        one_line(&schema["description"])
    );
    let required_fields: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema["properties"].as_object() {
        for (name, child) in properties {
            fields(
                out,
                &format!("{path}.{name}"),
                child,
                required_fields.contains(&name.as_str()),
            );
        }
    }
    if schema["type"] == "array"
        && let Some(properties) = schema["items"]["properties"].as_object()
    {
        let item_required: Vec<&str> = schema["items"]["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, child) in properties {
            fields(
                out,
                &format!("{path}[].{name}"),
                child,
                item_required.contains(&name.as_str()),
            );
        }
    }
    if let Some(properties) = schema
        .get("additionalProperties")
        .filter(|v| v.is_object())
        .and_then(|v| v["properties"].as_object())
    {
        for (name, child) in properties {
            fields(out, &format!("{path}.*.{name}"), child, false);
        }
    }
}
