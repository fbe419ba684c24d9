//! What a Kubernetes API request is, read from its method and URL alone: the verb, the resource
//! and where it points. Pure; used for metric labels and for write fencing.

use http::Method;

/// The Kubernetes verb of a request, as the API server's audit log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// GET of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET of a collection with `watch=true` (or under the legacy `/watch/` prefix).
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE of one object.
    Delete,
    /// DELETE of a collection.
    DeleteCollection,
    /// Any other method (HEAD, OPTIONS, ...).
    Other,
}

impl Verb {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
            Self::Other => "other",
        }
    }

    /// Whether the request changes state on the server.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Patch | Self::Delete | Self::DeleteCollection
        )
    }
}

/// The parts of a request the controller looks at; names are kept for fencing decisions only
/// and never become metric labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The verb.
    pub verb: Verb,
    /// API group; empty for the core group.
    pub group: String,
    /// Plural resource name (`deployments`), or `discovery` / `other` for non-resource paths.
    pub resource: String,
    /// Subresource (`status`, `scale`, ...), empty when none.
    pub subresource: String,
    /// Namespace, when the path names one.
    pub namespace: Option<String>,
    /// Object name, when the path names one.
    pub name: Option<String>,
}

impl ApiRequest {
    /// Classifies a request from its method, path and query string.
    pub fn classify(method: &Method, path: &str, query: Option<&str>) -> Self {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (group, rest) = match segments.as_slice() {
            ["api", _version, rest @ ..] => ("", rest),
            ["apis", group, _version, rest @ ..] => (*group, rest),
            []
            | [
                "api" | "apis" | "version" | "openapi" | "healthz" | "readyz" | "livez",
                ..,
            ] => {
                return Self::non_resource(method, "discovery");
            }
            _ => return Self::non_resource(method, "other"),
        };
        let (legacy_watch, rest) = match rest {
            ["watch", rest @ ..] => (true, rest),
            rest => (false, rest),
        };
        let (namespace, rest) = match rest {
            // `namespaces/NAME` and its own subresources are the Namespace object itself.
            ["namespaces", ns, resource, rest @ ..]
                if !is_namespace_subresource(resource, rest) =>
            {
                (Some(*ns), [&[*resource], rest].concat())
            }
            rest => (None, rest.to_vec()),
        };
        let Some((resource, name, subresource)) = object_path(&rest) else {
            let kind = if rest.is_empty() {
                "discovery"
            } else {
                "other"
            };
            return Self::non_resource(method, kind);
        };
        let watch = legacy_watch || query.is_some_and(is_watch_query);
        Self {
            verb: verb(method, name.is_some(), watch),
            group: group.to_owned(),
            resource: resource.to_owned(),
            subresource: subresource.unwrap_or_default().to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.map(str::to_owned),
        }
    }

    fn non_resource(method: &Method, resource: &str) -> Self {
        Self {
            verb: verb(method, true, false),
            group: String::new(),
            resource: resource.to_owned(),
            subresource: String::new(),
            namespace: None,
            name: None,
        }
    }
}

/// `resource[/name[/subresource]]`, or `None` for an empty or too long path.
fn object_path<'a>(rest: &[&'a str]) -> Option<(&'a str, Option<&'a str>, Option<&'a str>)> {
    match rest {
        [resource] => Some((resource, None, None)),
        [resource, name] => Some((resource, Some(name), None)),
        [resource, name, subresource] => Some((resource, Some(name), Some(subresource))),
        _ => None,
    }
}

/// `namespaces/NAME/status` and `namespaces/NAME/finalize` address the Namespace, not a
/// resource inside it.
fn is_namespace_subresource(segment: &str, rest: &[&str]) -> bool {
    rest.is_empty() && matches!(segment, "status" | "finalize")
}

fn verb(method: &Method, named: bool, watch: bool) -> Verb {
    match *method {
        Method::GET if watch => Verb::Watch,
        Method::GET if named => Verb::Get,
        Method::GET => Verb::List,
        Method::POST => Verb::Create,
        Method::PUT => Verb::Update,
        Method::PATCH => Verb::Patch,
        Method::DELETE if named => Verb::Delete,
        Method::DELETE => Verb::DeleteCollection,
        _ => Verb::Other,
    }
}

fn is_watch_query(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| matches!(pair, "watch=true" | "watch=1" | "watch=True"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `verb group resource subresource namespace name`, with `-` for an empty part.
    fn summary(method: &Method, uri: &str) -> String {
        let (path, query) = match uri.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (uri, None),
        };
        let r = ApiRequest::classify(method, path, query);
        let or_dash = |s: &str| {
            if s.is_empty() {
                "-".to_owned()
            } else {
                s.to_owned()
            }
        };
        [
            r.verb.as_str().to_owned(),
            or_dash(&r.group),
            or_dash(&r.resource),
            or_dash(&r.subresource),
            or_dash(r.namespace.as_deref().unwrap_or_default()),
            or_dash(r.name.as_deref().unwrap_or_default()),
        ]
        .join(" ")
    }

    fn check(cases: &[(Method, &str, &str)]) {
        for (method, uri, expected) in cases {
            assert_eq!(summary(method, uri), *expected, "{method} {uri}");
        }
    }

    #[test]
    fn reads_are_get_list_or_watch_by_name_and_query() {
        check(&[
            (
                Method::GET,
                "/apis/apps/v1/namespaces/test/deployments/podinfo",
                "get apps deployments - test podinfo",
            ),
            (
                Method::GET,
                "/apis/apps/v1/namespaces/test/deployments?labelSelector=app%3Dpodinfo",
                "list apps deployments - test -",
            ),
            (
                Method::GET,
                "/apis/apps/v1/namespaces/test/deployments?allowWatchBookmarks=true&resourceVersion=12&watch=true&timeoutSeconds=290",
                "watch apps deployments - test -",
            ),
            (
                Method::GET,
                "/apis/flagger.app/v1beta1/canaries?watch=true",
                "watch flagger.app canaries - - -",
            ),
            (
                Method::GET,
                "/api/v1/configmaps?watch=1",
                "watch - configmaps - - -",
            ),
            (
                Method::GET,
                "/api/v1/watch/namespaces/test/pods",
                "watch - pods - test -",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/test/services/podinfo-canary",
                "get - services - test podinfo-canary",
            ),
            (
                Method::GET,
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/canaries.flagger.app",
                "get apiextensions.k8s.io customresourcedefinitions - - canaries.flagger.app",
            ),
        ]);
    }

    #[test]
    fn writes_name_their_resource_and_subresource() {
        check(&[
            (
                Method::POST,
                "/apis/apps/v1/namespaces/test/deployments?",
                "create apps deployments - test -",
            ),
            (
                Method::PUT,
                "/apis/apps/v1/namespaces/test/deployments/podinfo-primary",
                "update apps deployments - test podinfo-primary",
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/test/deployments/podinfo/scale?fieldManager=serin",
                "patch apps deployments scale test podinfo",
            ),
            (
                Method::PATCH,
                "/apis/flagger.app/v1beta1/namespaces/test/canaries/podinfo/status?force=true",
                "patch flagger.app canaries status test podinfo",
            ),
            (
                Method::DELETE,
                "/apis/gateway.networking.k8s.io/v1/namespaces/test/httproutes/podinfo",
                "delete gateway.networking.k8s.io httproutes - test podinfo",
            ),
            (
                Method::DELETE,
                "/apis/apps/v1/namespaces/test/replicasets?labelSelector=a",
                "deletecollection apps replicasets - test -",
            ),
            (
                Method::PUT,
                "/apis/coordination.k8s.io/v1/namespaces/serin-system/leases/serin-leader",
                "update coordination.k8s.io leases - serin-system serin-leader",
            ),
            (
                Method::POST,
                "/apis/events.k8s.io/v1/namespaces/test/events",
                "create events.k8s.io events - test -",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/test/events",
                "create - events - test -",
            ),
        ]);
    }

    #[test]
    fn namespaces_and_their_subresources_are_cluster_scoped_objects() {
        check(&[
            (Method::GET, "/api/v1/namespaces", "list - namespaces - - -"),
            (
                Method::GET,
                "/api/v1/namespaces/test",
                "get - namespaces - - test",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/test/status",
                "update - namespaces status - test",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/test/finalize",
                "update - namespaces finalize - test",
            ),
        ]);
    }

    #[test]
    fn discovery_and_unknown_paths_get_fixed_labels() {
        for uri in [
            "/api",
            "/apis",
            "/api/v1",
            "/apis/apps/v1",
            "/version",
            "/openapi/v3",
        ] {
            assert_eq!(summary(&Method::GET, uri), "get - discovery - - -", "{uri}");
        }
        for uri in ["/metrics", "/api/v1/namespaces/a/pods/b/log/extra"] {
            assert_eq!(summary(&Method::GET, uri), "get - other - - -", "{uri}");
        }
    }

    #[test]
    fn only_writes_are_mutating() {
        let all = [
            Verb::Get,
            Verb::List,
            Verb::Watch,
            Verb::Create,
            Verb::Update,
            Verb::Patch,
            Verb::Delete,
            Verb::DeleteCollection,
            Verb::Other,
        ];
        let mutating: Vec<Verb> = all.into_iter().filter(|v| v.is_mutating()).collect();
        assert_eq!(
            mutating,
            [
                Verb::Create,
                Verb::Update,
                Verb::Patch,
                Verb::Delete,
                Verb::DeleteCollection
            ]
        );
    }
}
