//! Parses request paths into discovery endpoints and resource addresses.

/// A parsed request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/api`.
    CoreVersions,
    /// `/apis`.
    Groups,
    /// `/apis/{group}`.
    Group(String),
    /// `/api/v1`, `/apis/{group}/{version}`.
    GroupVersion(String, String),
    /// `/version`.
    Version,
    /// `/openapi/...`.
    OpenApi,
    /// `/healthz`, `/readyz`, `/livez`.
    Health,
    /// A resource path.
    Resource(ResourcePath),
    /// Anything else.
    Unknown,
}

/// The parts of a resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace, for namespaced paths.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub resource: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource.
    pub subresource: Option<String>,
}

/// Parses a URL path.
pub fn parse(path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api"] => Route::CoreVersions,
        ["api", version] => Route::GroupVersion(String::new(), (*version).to_owned()),
        ["api", version, rest @ ..] => resource("", version, rest),
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group((*group).to_owned()),
        ["apis", group, version] => Route::GroupVersion((*group).to_owned(), (*version).to_owned()),
        ["apis", group, version, rest @ ..] => resource(group, version, rest),
        ["version"] => Route::Version,
        ["openapi", ..] => Route::OpenApi,
        ["healthz" | "readyz" | "livez", ..] => Route::Health,
        _ => Route::Unknown,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let owned = |s: &&str| (*s).to_owned();
    let namespace_subresource =
        |rest: &[&str]| rest.len() == 3 && matches!(rest[2], "status" | "finalize");
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() && !namespace_subresource(rest) => {
            (Some(owned(ns)), tail)
        }
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (resource, None, None),
        [resource, name] => (resource, Some(owned(name)), None),
        [resource, name, sub] => (resource, Some(owned(name)), Some(owned(sub))),
        _ => return Route::Unknown,
    };
    Route::Resource(ResourcePath {
        group: group.to_owned(),
        version: version.to_owned(),
        namespace,
        resource: owned(resource),
        name,
        subresource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Route::Resource(r) => r,
            other => panic!("{path} parsed as {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_paths_parse() {
        let r = res("/apis/apps/v1/namespaces/test/deployments/podinfo/status");
        assert_eq!(
            (r.namespace.as_deref(), r.resource.as_str()),
            (Some("test"), "deployments")
        );
        assert_eq!(
            (r.name.as_deref(), r.subresource.as_deref()),
            (Some("podinfo"), Some("status"))
        );
        let ns = res("/api/v1/namespaces/test");
        assert_eq!(
            (ns.namespace, ns.resource.as_str(), ns.name.as_deref()),
            (None, "namespaces", Some("test"))
        );
        let ns_status = res("/api/v1/namespaces/test/status");
        assert_eq!(ns_status.subresource.as_deref(), Some("status"));
        let list = res("/api/v1/namespaces/test/configmaps");
        assert_eq!((list.namespace.as_deref(), list.name), (Some("test"), None));
        assert_eq!(
            parse("/apis/apps/v1"),
            Route::GroupVersion("apps".into(), "v1".into())
        );
        assert_eq!(parse("/nope"), Route::Unknown);
    }
}
