//! Request matches: Istio-style `HttpMatchRequest`s (from `spec.service.match` and
//! `spec.analysis.match`) as Gateway API `HTTPRouteMatch`es.

use serde_json::{Map, Value, json};
use serin_crds::canary::{HttpMatchRequest, StringMatch};

use crate::routers::RouterError;
use crate::routers::cookies::escape_regex;

/// The catch-all match used when `spec.service.match` is empty.
pub(super) fn default_match() -> Value {
    json!({ "path": { "type": "PathPrefix", "value": "/" } })
}

/// Converts matches; `field` names the spec field for error messages.
pub(super) fn route_matches(
    matches: &[HttpMatchRequest],
    field: &str,
) -> Result<Vec<Value>, RouterError> {
    let mut out = Vec::new();
    for (i, m) in matches.iter().enumerate() {
        let path = format!("{field}[{i}]");
        let mut object = Map::new();
        if let Some(uri) = &m.uri {
            let (kind, value) = if let Some(v) = &uri.regex {
                ("RegularExpression", v.clone())
            } else if let Some(v) = &uri.exact {
                ("Exact", v.clone())
            } else if let Some(v) = &uri.prefix {
                ("PathPrefix", v.clone())
            } else {
                return Err(inexpressible(
                    &format!("{path}.uri"),
                    "set exact, prefix or regex",
                ));
            };
            object.insert("path".into(), json!({ "type": kind, "value": value }));
        }
        if let Some(method) = &m.method {
            match &method.exact {
                Some(v) => object.insert("method".into(), Value::from(v.to_uppercase())),
                None => {
                    return Err(inexpressible(
                        &format!("{path}.method"),
                        "Gateway API matches methods exactly only",
                    ));
                }
            };
        }
        let headers = string_matches(m.headers.as_ref(), &format!("{path}.headers"))?;
        if !headers.is_empty() {
            object.insert("headers".into(), Value::Array(headers));
        }
        let params = string_matches(m.query_params.as_ref(), &format!("{path}.queryParams"))?;
        if !params.is_empty() {
            object.insert("queryParams".into(), Value::Array(params));
        }
        if !object.is_empty() {
            out.push(Value::Object(object));
        }
    }
    Ok(out)
}

/// Header or query parameter matches. Prefix and suffix matches, which Gateway API lacks, become
/// anchored regular expressions.
fn string_matches(
    entries: Option<&std::collections::BTreeMap<String, StringMatch>>,
    field: &str,
) -> Result<Vec<Value>, RouterError> {
    let mut out = Vec::new();
    for (name, m) in entries.into_iter().flatten() {
        let (kind, value) = if let Some(v) = &m.exact {
            ("Exact", v.clone())
        } else if let Some(v) = &m.regex {
            ("RegularExpression", v.clone())
        } else if let Some(v) = &m.prefix {
            ("RegularExpression", format!("^{}.*", escape_regex(v)))
        } else if let Some(v) = &m.suffix {
            ("RegularExpression", format!(".*{}$", escape_regex(v)))
        } else {
            return Err(inexpressible(
                &format!("{field}.{name}"),
                "set exact, prefix, suffix or regex",
            ));
        };
        out.push(json!({ "type": kind, "name": name, "value": value }));
    }
    Ok(out)
}

/// Each analysis match combined with each service match: the analysis match's headers and query
/// parameters on the service match's path and method.
pub(super) fn merge(analysis: &[Value], service: &[Value]) -> Vec<Value> {
    if analysis.is_empty() {
        return service.to_vec();
    }
    if service.is_empty() {
        return analysis.to_vec();
    }
    let mut merged = Vec::with_capacity(analysis.len() * service.len());
    for a in analysis {
        for s in service {
            let mut m = s.clone();
            for key in ["headers", "queryParams"] {
                if let (Some(value), Some(object)) = (a.get(key), m.as_object_mut()) {
                    object.insert(key.into(), value.clone());
                }
            }
            merged.push(m);
        }
    }
    merged
}

fn inexpressible(field: &str, message: &str) -> RouterError {
    RouterError::Inexpressible {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn header(name: &str, m: StringMatch) -> HttpMatchRequest {
        HttpMatchRequest {
            headers: Some(BTreeMap::from([(name.to_owned(), m)])),
            ..Default::default()
        }
    }

    #[test]
    fn exact_and_regex_headers_map_directly() {
        let ms = [
            header(
                "x-canary",
                StringMatch {
                    exact: Some("insider".into()),
                    ..Default::default()
                },
            ),
            header(
                "user-agent",
                StringMatch {
                    regex: Some(".*Firefox.*".into()),
                    ..Default::default()
                },
            ),
        ];
        assert_eq!(
            route_matches(&ms, "spec.analysis.match").unwrap(),
            vec![
                json!({"headers": [{"type": "Exact", "name": "x-canary", "value": "insider"}]}),
                json!({"headers": [{"type": "RegularExpression", "name": "user-agent", "value": ".*Firefox.*"}]}),
            ]
        );
    }

    #[test]
    fn prefix_and_suffix_become_anchored_regular_expressions() {
        let ms = [header(
            "cookie",
            StringMatch {
                prefix: Some("canary=a.b".into()),
                ..Default::default()
            },
        )];
        assert_eq!(
            route_matches(&ms, "m").unwrap()[0]["headers"][0]["value"],
            r"^canary=a\.b.*"
        );
        let ms = [header(
            "host",
            StringMatch {
                suffix: Some(".example.com".into()),
                ..Default::default()
            },
        )];
        assert_eq!(
            route_matches(&ms, "m").unwrap()[0]["headers"][0]["value"],
            r".*\.example\.com$"
        );
    }

    #[test]
    fn uri_and_method_become_path_and_method() {
        let m = HttpMatchRequest {
            uri: Some(StringMatch {
                prefix: Some("/api".into()),
                ..Default::default()
            }),
            method: Some(StringMatch {
                exact: Some("get".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            route_matches(&[m], "m").unwrap(),
            vec![json!({"path": {"type": "PathPrefix", "value": "/api"}, "method": "GET"})]
        );
    }

    #[test]
    fn a_method_prefix_cannot_be_expressed() {
        let m = HttpMatchRequest {
            method: Some(StringMatch {
                prefix: Some("G".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = route_matches(&[m], "spec.service.match").unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.service.match[0].method: Gateway API matches methods exactly only"
        );
    }

    #[test]
    fn analysis_matches_are_merged_onto_each_service_path() {
        let service = vec![
            json!({"path": {"type": "PathPrefix", "value": "/api"}}),
            json!({"path": {"type": "PathPrefix", "value": "/v2"}}),
        ];
        let analysis =
            vec![json!({"headers": [{"type": "Exact", "name": "x-canary", "value": "1"}]})];
        let merged = merge(&analysis, &service);
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[1],
            json!({"path": {"type": "PathPrefix", "value": "/v2"}, "headers": [{"type": "Exact", "name": "x-canary", "value": "1"}]})
        );
    }
}
