//! Request matches: Istio-style `HttpMatchRequest`s (from `spec.service.match` and
//! `spec.analysis.match`) as Gateway API `HTTPRouteMatch`es, or as `GRPCRouteMatch`es.

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
    convert(matches, field, |m, path, object| {
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
            let Some(v) = &method.exact else {
                return Err(inexpressible(
                    &format!("{path}.method"),
                    "Gateway API matches methods exactly only",
                ));
            };
            object.insert("method".into(), Value::from(v.to_uppercase()));
        }
        let params = string_matches(m.query_params.as_ref(), &format!("{path}.queryParams"))?;
        if !params.is_empty() {
            object.insert("queryParams".into(), Value::Array(params));
        }
        Ok(())
    })
}

/// Converts matches for a GRPCRoute: headers as for an HTTPRoute, and a `uri` that names a gRPC
/// method (exact, `/package.Service/Method`) or service (prefix, `/package.Service/`) as a
/// method match. Nothing else can be matched.
pub(super) fn grpc_route_matches(
    matches: &[HttpMatchRequest],
    field: &str,
) -> Result<Vec<Value>, RouterError> {
    use serin_crds::validation::{grpc_method, grpc_service};
    convert(matches, field, |m, path, object| {
        let unsupported = [
            ("method", m.method.is_some()),
            (
                "queryParams",
                m.query_params.as_ref().is_some_and(|q| !q.is_empty()),
            ),
        ];
        if let Some((name, _)) = unsupported.iter().find(|(_, set)| *set) {
            return Err(inexpressible(
                &format!("{path}.{name}"),
                "a GRPCRoute matches gRPC methods and headers only",
            ));
        }
        if let Some(uri) = &m.uri {
            let method = if let Some(exact) = &uri.exact {
                grpc_method(exact).map(|(service, method)| {
                    json!({ "type": "Exact", "service": service, "method": method })
                })
            } else if let Some(prefix) = &uri.prefix {
                grpc_service(prefix).map(|service| json!({ "type": "Exact", "service": service }))
            } else {
                None
            };
            let method = method.ok_or_else(|| {
                inexpressible(
                    &format!("{path}.uri"),
                    "a GRPCRoute matches /package.Service/Method exactly or /package.Service/ as a prefix",
                )
            })?;
            object.insert("method".into(), method);
        }
        Ok(())
    })
}

/// The conversion both route kinds share: `kind_specific` fills in what one match means for the
/// route kind (given the match, its field path and the object being built), headers are added
/// the same way for both, and matches that end up empty are left out.
fn convert(
    matches: &[HttpMatchRequest],
    field: &str,
    kind_specific: impl Fn(&HttpMatchRequest, &str, &mut Map<String, Value>) -> Result<(), RouterError>,
) -> Result<Vec<Value>, RouterError> {
    let mut out = Vec::new();
    for (i, m) in matches.iter().enumerate() {
        let path = format!("{field}[{i}]");
        let mut object = Map::new();
        kind_specific(m, &path, &mut object)?;
        let headers = string_matches(m.headers.as_ref(), &format!("{path}.headers"))?;
        if !headers.is_empty() {
            object.insert("headers".into(), Value::Array(headers));
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

/// Each analysis match combined with each service match: the conditions of both. Headers and
/// query parameters add up; a path or method (HTTPRoute) or gRPC method (GRPCRoute) of the
/// analysis match takes the place of the service match's.
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
            if let (Some(from), Some(into)) = (a.as_object(), m.as_object_mut()) {
                for (key, value) in from {
                    match (into.get_mut(key), value) {
                        (Some(Value::Array(list)), Value::Array(more))
                            if key == "headers" || key == "queryParams" =>
                        {
                            list.extend(more.iter().cloned());
                        }
                        _ => {
                            into.insert(key.clone(), value.clone());
                        }
                    }
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
    fn grpc_uris_become_method_matches_and_headers_stay() {
        let m = |uri: StringMatch| HttpMatchRequest {
            uri: Some(uri),
            headers: Some(BTreeMap::from([(
                "x-canary".to_owned(),
                StringMatch {
                    exact: Some("1".into()),
                    ..Default::default()
                },
            )])),
            ..Default::default()
        };
        let exact = m(StringMatch {
            exact: Some("/grpc.health.v1.Health/Check".into()),
            ..Default::default()
        });
        let prefix = m(StringMatch {
            prefix: Some("/podinfo.Echo/".into()),
            ..Default::default()
        });
        assert_eq!(
            grpc_route_matches(&[exact, prefix], "m").unwrap(),
            vec![
                json!({
                    "method": {"type": "Exact", "service": "grpc.health.v1.Health", "method": "Check"},
                    "headers": [{"type": "Exact", "name": "x-canary", "value": "1"}],
                }),
                json!({
                    "method": {"type": "Exact", "service": "podinfo.Echo"},
                    "headers": [{"type": "Exact", "name": "x-canary", "value": "1"}],
                }),
            ]
        );
    }

    #[test]
    fn a_grpc_route_refuses_paths_and_query_parameters() {
        let path = HttpMatchRequest {
            uri: Some(StringMatch {
                prefix: Some("/api/v1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            grpc_route_matches(&[path], "spec.analysis.match")
                .unwrap_err()
                .to_string(),
            "spec.analysis.match[0].uri: a GRPCRoute matches /package.Service/Method exactly or /package.Service/ as a prefix"
        );
        let query = HttpMatchRequest {
            query_params: Some(BTreeMap::from([(
                "q".to_owned(),
                StringMatch {
                    exact: Some("1".into()),
                    ..Default::default()
                },
            )])),
            ..Default::default()
        };
        assert!(
            grpc_route_matches(&[query], "m")
                .unwrap_err()
                .to_string()
                .starts_with("m[0].queryParams:")
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

    #[test]
    fn merged_matches_keep_the_conditions_of_both() {
        let service = vec![json!({
            "path": {"type": "PathPrefix", "value": "/"},
            "headers": [{"type": "Exact", "name": "x-tenant", "value": "a"}],
        })];
        let analysis = vec![json!({
            "path": {"type": "PathPrefix", "value": "/api"},
            "headers": [{"type": "Exact", "name": "x-canary", "value": "1"}],
        })];
        assert_eq!(
            merge(&analysis, &service),
            vec![json!({
                "path": {"type": "PathPrefix", "value": "/api"},
                "headers": [
                    {"type": "Exact", "name": "x-tenant", "value": "a"},
                    {"type": "Exact", "name": "x-canary", "value": "1"},
                ],
            })]
        );
    }
}
