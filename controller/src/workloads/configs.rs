//! The ConfigMaps and Secrets a pod template uses, and their `-primary` copies.
//!
//! A change to a tracked config starts a release just like a change to the pod template; the
//! primary uses `-primary` copies so that the canary's config can change without touching it.

use k8s_openapi::api::core::v1::PodSpec;

/// Annotation on a ConfigMap or Secret that, set to `disabled`, opts it out of tracking.
pub const TRACKING_ANNOTATION: &str = "flagger.app/config-tracking";

/// ConfigMap or Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigKind {
    /// A ConfigMap.
    ConfigMap,
    /// A Secret.
    Secret,
}

/// A config a pod template refers to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigRef {
    /// ConfigMap or Secret.
    pub kind: ConfigKind,
    /// Its name.
    pub name: String,
}

impl ConfigRef {
    /// The key Flagger uses in `status.trackedConfigs`: `configmap/NAME` or `secret/NAME`.
    pub fn tracking_key(&self) -> String {
        match self.kind {
            ConfigKind::ConfigMap => format!("configmap/{}", self.name),
            ConfigKind::Secret => format!("secret/{}", self.name),
        }
    }
}

/// Every ConfigMap and Secret `spec` refers to (volumes, projected volumes, `envFrom`, and
/// `env[].valueFrom` of all containers and init containers), sorted and without duplicates.
pub fn config_refs(spec: &PodSpec) -> Vec<ConfigRef> {
    let mut refs = Vec::new();
    let mut add = |kind, name: &str| {
        refs.push(ConfigRef {
            kind,
            name: name.to_owned(),
        });
    };
    for volume in spec.volumes.iter().flatten() {
        if let Some(name) = volume.config_map.as_ref().map(|c| c.name.as_str()) {
            add(ConfigKind::ConfigMap, name);
        }
        if let Some(name) = volume
            .secret
            .as_ref()
            .and_then(|s| s.secret_name.as_deref())
        {
            add(ConfigKind::Secret, name);
        }
        for source in volume
            .projected
            .iter()
            .flat_map(|p| p.sources.iter().flatten())
        {
            if let Some(c) = &source.config_map {
                add(ConfigKind::ConfigMap, &c.name);
            }
            if let Some(s) = &source.secret {
                add(ConfigKind::Secret, &s.name);
            }
        }
    }
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    for container in containers {
        for from in container.env_from.iter().flatten() {
            if let Some(c) = &from.config_map_ref {
                add(ConfigKind::ConfigMap, &c.name);
            }
            if let Some(s) = &from.secret_ref {
                add(ConfigKind::Secret, &s.name);
            }
        }
        for value_from in container
            .env
            .iter()
            .flatten()
            .filter_map(|e| e.value_from.as_ref())
        {
            if let Some(c) = &value_from.config_map_key_ref {
                add(ConfigKind::ConfigMap, &c.name);
            }
            if let Some(s) = &value_from.secret_key_ref {
                add(ConfigKind::Secret, &s.name);
            }
        }
    }
    refs.sort();
    refs.dedup();
    refs
}

/// Points every reference to a `tracked` config at its `-primary` copy.
pub fn rename_configs(spec: &mut PodSpec, tracked: &[ConfigRef]) {
    let renamed = |kind, name: &mut String| {
        if tracked.iter().any(|t| t.kind == kind && t.name == *name) {
            name.push_str("-primary");
        }
    };
    for volume in spec.volumes.iter_mut().flatten() {
        if let Some(c) = volume.config_map.as_mut() {
            renamed(ConfigKind::ConfigMap, &mut c.name);
        }
        if let Some(name) = volume.secret.as_mut().and_then(|s| s.secret_name.as_mut()) {
            renamed(ConfigKind::Secret, name);
        }
        for source in volume
            .projected
            .iter_mut()
            .flat_map(|p| p.sources.iter_mut().flatten())
        {
            if let Some(c) = source.config_map.as_mut() {
                renamed(ConfigKind::ConfigMap, &mut c.name);
            }
            if let Some(s) = source.secret.as_mut() {
                renamed(ConfigKind::Secret, &mut s.name);
            }
        }
    }
    let containers = spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten());
    for container in containers {
        for from in container.env_from.iter_mut().flatten() {
            if let Some(c) = from.config_map_ref.as_mut() {
                renamed(ConfigKind::ConfigMap, &mut c.name);
            }
            if let Some(s) = from.secret_ref.as_mut() {
                renamed(ConfigKind::Secret, &mut s.name);
            }
        }
        for value_from in container
            .env
            .iter_mut()
            .flatten()
            .filter_map(|e| e.value_from.as_mut())
        {
            if let Some(c) = value_from.config_map_key_ref.as_mut() {
                renamed(ConfigKind::ConfigMap, &mut c.name);
            }
            if let Some(s) = value_from.secret_key_ref.as_mut() {
                renamed(ConfigKind::Secret, &mut s.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod_spec() -> PodSpec {
        serde_json::from_value(json!({
            "initContainers": [{"name": "init", "envFrom": [{"secretRef": {"name": "init-secret"}}]}],
            "containers": [{
                "name": "app",
                "envFrom": [{"configMapRef": {"name": "app-env"}}],
                "env": [
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "app-token", "key": "token"}}},
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "app-env", "key": "mode"}}},
                    {"name": "PLAIN", "value": "x"}
                ]
            }],
            "volumes": [
                {"name": "cfg", "configMap": {"name": "app-config"}},
                {"name": "tls", "secret": {"secretName": "app-tls"}},
                {"name": "all", "projected": {"sources": [{"configMap": {"name": "app-extra"}}, {"secret": {"name": "app-tls"}}]}}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn finds_every_reference_once() {
        let keys: Vec<String> = config_refs(&pod_spec())
            .iter()
            .map(ConfigRef::tracking_key)
            .collect();
        assert_eq!(
            keys,
            [
                "configmap/app-config",
                "configmap/app-env",
                "configmap/app-extra",
                "secret/app-tls",
                "secret/app-token",
                "secret/init-secret"
            ]
        );
    }

    #[test]
    fn renames_only_tracked_configs_everywhere_they_are_used() {
        let mut spec = pod_spec();
        let tracked = [
            ConfigRef {
                kind: ConfigKind::ConfigMap,
                name: "app-env".into(),
            },
            ConfigRef {
                kind: ConfigKind::Secret,
                name: "app-tls".into(),
            },
        ];
        rename_configs(&mut spec, &tracked);
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            v["containers"][0]["envFrom"][0]["configMapRef"]["name"],
            "app-env-primary"
        );
        assert_eq!(
            v["containers"][0]["env"][1]["valueFrom"]["configMapKeyRef"]["name"],
            "app-env-primary"
        );
        assert_eq!(
            v["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"],
            "app-token"
        );
        assert_eq!(v["volumes"][1]["secret"]["secretName"], "app-tls-primary");
        assert_eq!(
            v["volumes"][2]["projected"]["sources"][1]["secret"]["name"],
            "app-tls-primary"
        );
        assert_eq!(v["volumes"][0]["configMap"]["name"], "app-config");
        assert_eq!(
            v["initContainers"][0]["envFrom"][0]["secretRef"]["name"],
            "init-secret"
        );
    }
}
