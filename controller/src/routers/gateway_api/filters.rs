//! Route filters from `spec.service`: request and response header changes, URL rewrite, extra
//! mirrors, CORS, and the Canary's extension filters.

use serde_json::{Value, json};
use serin_crds::canary::{CanaryService, CorsPolicy, HeaderOperations};

/// The filters every rule of the route carries.
pub(super) fn rule_filters(service: &CanaryService) -> Vec<Value> {
    let mut filters = Vec::new();
    if let Some(headers) = &service.headers {
        if let Some(request) = &headers.request {
            filters.push(json!({ "type": "RequestHeaderModifier", "requestHeaderModifier": header_filter(request) }));
        }
        if let Some(response) = &headers.response {
            filters.push(json!({ "type": "ResponseHeaderModifier", "responseHeaderModifier": header_filter(response) }));
        }
    }
    if let Some(rewrite) = &service.rewrite {
        let mut url_rewrite = serde_json::Map::new();
        if let Some(host) = &rewrite.authority {
            url_rewrite.insert("hostname".into(), Value::from(host.as_str()));
        }
        if let Some(uri) = &rewrite.uri {
            let path = if rewrite.type_.as_deref() == Some("ReplaceFullPath") {
                json!({ "type": "ReplaceFullPath", "replaceFullPath": uri })
            } else {
                json!({ "type": "ReplacePrefixMatch", "replacePrefixMatch": uri })
            };
            url_rewrite.insert("path".into(), path);
        }
        filters.push(json!({ "type": "URLRewrite", "urlRewrite": url_rewrite }));
    }
    for mirror in service.mirror.iter().flatten() {
        if let Some(backend) = &mirror.backend_ref {
            filters.push(
                json!({ "type": "RequestMirror", "requestMirror": { "backendRef": backend } }),
            );
        }
    }
    if let Some(cors) = &service.cors_policy {
        filters.push(json!({ "type": "CORS", "cors": cors_filter(cors) }));
    }
    for extension in service.extension_filters.iter().flatten() {
        filters.push(json!({
            "type": "ExtensionRef",
            "extensionRef": { "group": extension.group, "kind": extension.kind, "name": extension.name },
        }));
    }
    filters
}

/// Header lists sorted by name, so the route does not change when map order does.
fn header_filter(ops: &HeaderOperations) -> Value {
    let list = |map: &Option<std::collections::BTreeMap<String, String>>| -> Vec<Value> {
        map.iter()
            .flatten()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect()
    };
    let mut filter = serde_json::Map::new();
    let add = list(&ops.add);
    if !add.is_empty() {
        filter.insert("add".into(), Value::Array(add));
    }
    let set = list(&ops.set);
    if !set.is_empty() {
        filter.insert("set".into(), Value::Array(set));
    }
    if let Some(remove) = ops.remove.as_ref().filter(|r| !r.is_empty()) {
        filter.insert("remove".into(), json!(remove));
    }
    Value::Object(filter)
}

/// Istio's CORS policy in Gateway API's CORS filter. Origins given as regular expressions have
/// no Gateway API equivalent and are left out; prefixes become wildcard origins.
fn cors_filter(cors: &CorsPolicy) -> Value {
    let mut origins: Vec<String> = cors.allow_origin.clone().unwrap_or_default();
    for m in cors.allow_origins.iter().flatten() {
        if let Some(exact) = &m.exact {
            origins.push(exact.clone());
        } else if let Some(prefix) = &m.prefix {
            origins.push(format!("{prefix}*"));
        }
    }
    let mut filter = serde_json::Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            filter.insert(key.into(), v);
        }
    };
    put(
        "allowOrigins",
        (!origins.is_empty()).then(|| json!(origins)),
    );
    put(
        "allowMethods",
        cors.allow_methods.as_ref().map(|v| json!(v)),
    );
    put(
        "allowHeaders",
        cors.allow_headers.as_ref().map(|v| json!(v)),
    );
    put(
        "exposeHeaders",
        cors.expose_headers.as_ref().map(|v| json!(v)),
    );
    put("allowCredentials", cors.allow_credentials.map(Value::from));
    put(
        "maxAge",
        cors.max_age
            .as_deref()
            .and_then(|a| serin_crds::validation::parse_go_duration(a).ok())
            .map(|d| Value::from(d.as_secs())),
    );
    Value::Object(filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serin_crds::canary::{Headers, HttpRewrite, StringMatch};
    use std::collections::BTreeMap;

    #[test]
    fn header_operations_become_sorted_modifier_filters() {
        let service = CanaryService {
            port: 80,
            headers: Some(Headers {
                request: Some(HeaderOperations {
                    set: Some(BTreeMap::from([
                        ("x-b".into(), "2".into()),
                        ("x-a".into(), "1".into()),
                    ])),
                    remove: Some(vec!["x-debug".into()]),
                    ..Default::default()
                }),
                response: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            rule_filters(&service),
            vec![
                json!({"type": "RequestHeaderModifier", "requestHeaderModifier": {
                    "set": [{"name": "x-a", "value": "1"}, {"name": "x-b", "value": "2"}],
                    "remove": ["x-debug"]
                }})
            ]
        );
    }

    #[test]
    fn rewrite_defaults_to_prefix_replacement() {
        let service = CanaryService {
            port: 80,
            rewrite: Some(HttpRewrite {
                uri: Some("/v2".into()),
                authority: Some("api.internal".into()),
                type_: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            rule_filters(&service),
            vec![json!({"type": "URLRewrite", "urlRewrite": {
                "hostname": "api.internal",
                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}
            }})]
        );
    }

    #[test]
    fn cors_policy_becomes_a_cors_filter() {
        let service = CanaryService {
            port: 80,
            cors_policy: Some(CorsPolicy {
                allow_origins: Some(vec![
                    StringMatch {
                        exact: Some("https://example.com".into()),
                        ..Default::default()
                    },
                    StringMatch {
                        prefix: Some("https://app.".into()),
                        ..Default::default()
                    },
                ]),
                allow_methods: Some(vec!["GET".into(), "POST".into()]),
                allow_credentials: Some(true),
                max_age: Some("24h".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            rule_filters(&service),
            vec![json!({"type": "CORS", "cors": {
                "allowOrigins": ["https://example.com", "https://app.*"],
                "allowMethods": ["GET", "POST"],
                "allowCredentials": true,
                "maxAge": 86400
            }})]
        );
    }
}
