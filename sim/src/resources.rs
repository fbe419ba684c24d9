//! The registry of served resource kinds: built-ins plus kinds added by CRDs.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::schema::SchemaValidator;

/// A group and plural resource name, the storage key of a kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group, empty for the core group.
    pub group: String,
    /// Plural resource name.
    pub resource: String,
}

impl GroupResource {
    /// A group-resource from its parts.
    pub fn new(group: &str, resource: &str) -> Self {
        Self {
            group: group.to_owned(),
            resource: resource.to_owned(),
        }
    }

    /// `resource.group` as Kubernetes messages print it.
    pub fn describe(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

/// A CRD's `additionalPrinterColumns` entry, shown by `kubectl get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// `OpenAPI` type (`string`, `integer`, `date`, ...).
    pub kind: String,
    /// Simple `JSONPath` such as `.status.phase`.
    pub json_path: String,
    /// 0 for the default view, more for `-o wide`.
    pub priority: i64,
}

impl PrinterColumn {
    fn parse(column: &Value) -> Option<Self> {
        Some(Self {
            name: column["name"].as_str()?.to_owned(),
            kind: column["type"].as_str().unwrap_or("string").to_owned(),
            json_path: column["jsonPath"].as_str()?.to_owned(),
            priority: column["priority"].as_i64().unwrap_or(0),
        })
    }
}

/// What the server knows about one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group, empty for core.
    pub group: String,
    /// Served versions, the preferred one first.
    pub versions: Vec<String>,
    /// Plural name used in paths.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names for kubectl.
    pub short_names: Vec<String>,
    /// Categories (`all`) for kubectl.
    pub categories: Vec<String>,
    /// `additionalPrinterColumns` of the storage version (CRDs only).
    pub printer_columns: Vec<PrinterColumn>,
    /// Whether the kind has a `/status` subresource.
    pub status_subresource: bool,
    /// Whether the kind is built in (strategic merge patch applies).
    pub builtin: bool,
    /// The schema of each served version that checks anything (CRDs only).
    pub schemas: BTreeMap<String, Arc<SchemaValidator>>,
}

impl ResourceInfo {
    /// The storage key.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    /// `apiVersion` for `version`.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_owned()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// Kind info from a CustomResourceDefinition object.
    pub fn from_crd(crd: &Value) -> ApiResult<Self> {
        let spec = &crd["spec"];
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let group =
            text(&spec["group"]).ok_or_else(|| ApiError::invalid("spec.group: Required value"))?;
        let names = &spec["names"];
        let plural = text(&names["plural"])
            .ok_or_else(|| ApiError::invalid("spec.names.plural: Required value"))?;
        let kind = text(&names["kind"])
            .ok_or_else(|| ApiError::invalid("spec.names.kind: Required value"))?;
        let mut served: Vec<(bool, String, bool, Vec<PrinterColumn>)> = Vec::new();
        let mut schemas = BTreeMap::new();
        for version in spec["versions"].as_array().into_iter().flatten() {
            if version["served"].as_bool() == Some(false) {
                continue;
            }
            let name = text(&version["name"])
                .ok_or_else(|| ApiError::invalid("spec.versions[].name: Required value"))?;
            if let Some(schema) = SchemaValidator::new(&version["schema"]["openAPIV3Schema"]) {
                schemas.insert(name.clone(), Arc::new(schema));
            }
            let storage = version["storage"].as_bool() == Some(true);
            let status = version["subresources"]["status"].is_object();
            let columns = version["additionalPrinterColumns"]
                .as_array()
                .into_iter()
                .flatten();
            served.push((
                storage,
                name,
                status,
                columns.filter_map(PrinterColumn::parse).collect(),
            ));
        }
        if served.is_empty() {
            return Err(ApiError::invalid(
                "spec.versions: must serve at least one version",
            ));
        }
        served.sort_by_key(|(storage, ..)| !storage);
        let status_subresource = served[0].2;
        let printer_columns = std::mem::take(&mut served[0].3);
        Ok(Self {
            group,
            versions: served.into_iter().map(|(_, name, ..)| name).collect(),
            singular: text(&names["singular"]).unwrap_or_else(|| kind.to_lowercase()),
            short_names: names["shortNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(text)
                .collect(),
            categories: names["categories"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(text)
                .collect(),
            plural,
            kind,
            namespaced: spec["scope"].as_str() != Some("Cluster"),
            status_subresource,
            printer_columns,
            builtin: false,
            schemas,
        })
    }
}

/// One built-in kind: group, version, plural, kind, namespaced, short names, status subresource.
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
);

/// Built-in kinds in the `all` category, as `kubectl get all` lists them.
const IN_ALL: &[&str] = &[
    "pods",
    "services",
    "deployments",
    "daemonsets",
    "replicasets",
    "statefulsets",
    "horizontalpodautoscalers",
    "jobs",
];

/// Built-in kinds.
const BUILTINS: &[Builtin] = &[
    ("", "v1", "namespaces", "Namespace", false, &["ns"], true),
    ("", "v1", "services", "Service", true, &["svc"], true),
    ("", "v1", "configmaps", "ConfigMap", true, &["cm"], false),
    ("", "v1", "secrets", "Secret", true, &[], false),
    ("", "v1", "events", "Event", true, &["ev"], false),
    ("", "v1", "pods", "Pod", true, &["po"], true),
    (
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        true,
        &["sa"],
        false,
    ),
    ("", "v1", "endpoints", "Endpoints", true, &["ep"], false),
    ("", "v1", "nodes", "Node", false, &["no"], true),
    (
        "apps",
        "v1",
        "deployments",
        "Deployment",
        true,
        &["deploy"],
        true,
    ),
    ("apps", "v1", "daemonsets", "DaemonSet", true, &["ds"], true),
    (
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        true,
        &["rs"],
        true,
    ),
    (
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        true,
        &["sts"],
        true,
    ),
    ("batch", "v1", "jobs", "Job", true, &[], true),
    (
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        true,
    ),
    (
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
        &[],
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        true,
        &["ing"],
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        false,
        &[],
        false,
    ),
    (
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        true,
    ),
    (
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        true,
        &["ev"],
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        true,
    ),
];

/// All served kinds, keyed by group-resource.
#[derive(Debug, Clone)]
pub struct Registry {
    kinds: BTreeMap<GroupResource, Arc<ResourceInfo>>,
}

impl Default for Registry {
    fn default() -> Self {
        let kinds = BUILTINS
            .iter()
            .map(
                |&(group, version, plural, kind, namespaced, short, status)| {
                    let info = ResourceInfo {
                        group: group.to_owned(),
                        versions: vec![version.to_owned()],
                        plural: plural.to_owned(),
                        singular: kind.to_lowercase(),
                        kind: kind.to_owned(),
                        namespaced,
                        short_names: short.iter().map(|s| (*s).to_owned()).collect(),
                        categories: if IN_ALL.contains(&plural) {
                            vec!["all".to_owned()]
                        } else {
                            Vec::new()
                        },
                        status_subresource: status,
                        printer_columns: Vec::new(),
                        builtin: true,
                        schemas: BTreeMap::new(),
                    };
                    (info.group_resource(), Arc::new(info))
                },
            )
            .collect();
        Self { kinds }
    }
}

impl Registry {
    /// The kind served at `group/version/plural`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.kinds
            .get(&GroupResource::new(group, plural))
            .filter(|info| info.versions.iter().any(|v| v == version))
            .cloned()
    }

    /// The kind stored under `gr`.
    pub fn get(&self, gr: &GroupResource) -> Option<Arc<ResourceInfo>> {
        self.kinds.get(gr).cloned()
    }

    /// Adds or replaces a kind (from a CRD). Built-ins cannot be replaced.
    pub fn register(&mut self, info: ResourceInfo) {
        let gr = info.group_resource();
        if self.kinds.get(&gr).is_some_and(|k| k.builtin) {
            return;
        }
        self.kinds.insert(gr, Arc::new(info));
    }

    /// Removes a CRD-defined kind.
    pub fn unregister(&mut self, gr: &GroupResource) {
        if self.kinds.get(gr).is_some_and(|k| !k.builtin) {
            self.kinds.remove(gr);
        }
    }

    /// Served groups with their versions, the preferred version first; core group first.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for info in self.kinds.values() {
            let versions = groups.entry(info.group.as_str()).or_default();
            for v in &info.versions {
                if !versions.contains(v) {
                    versions.push(v.clone());
                }
            }
        }
        groups.into_iter().map(|(g, v)| (g.to_owned(), v)).collect()
    }

    /// Kinds served in `group/version`.
    pub fn resources(&self, group: &str, version: &str) -> Vec<Arc<ResourceInfo>> {
        self.kinds
            .values()
            .filter(|info| info.group == group && info.versions.iter().any(|v| v == version))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_scope_versions_and_status_are_read() {
        let crd = json!({"spec": {"group": "flagger.app", "scope": "Namespaced",
            "names": {"plural": "canaries", "kind": "Canary", "shortNames": ["canary"]},
            "versions": [{"name": "v1alpha1", "served": true, "storage": false},
                         {"name": "v1beta1", "served": true, "storage": true, "subresources": {"status": {}}}]}});
        let info = ResourceInfo::from_crd(&crd).unwrap();
        assert_eq!(info.versions, ["v1beta1", "v1alpha1"]);
        assert!(info.namespaced && info.status_subresource);
        assert_eq!(info.singular, "canary");
        let mut registry = Registry::default();
        registry.register(info);
        assert!(
            registry
                .lookup("flagger.app", "v1alpha1", "canaries")
                .is_some()
        );
        assert!(registry.lookup("flagger.app", "v2", "canaries").is_none());
    }
}
