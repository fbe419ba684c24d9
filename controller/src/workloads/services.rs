//! The three generated Services: `<apex>` (what clients use) and `<apex>-primary` select the
//! primary pods; `<apex>-canary` selects the target's pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serin_crds::canary::{CanaryService, TrafficDistribution};

use serin_crds::validation::ServiceNames;
use serin_decide::ServiceRole;

use super::canary_owner;

/// Inputs shared by the three Services.
#[derive(Clone, Debug)]
pub struct ServiceInputs<'a> {
    /// Name and UID of the Canary.
    pub canary: (&'a str, &'a str),
    /// Namespace.
    pub namespace: &'a str,
    /// Service names.
    pub names: &'a ServiceNames,
    /// `spec.service`.
    pub spec: &'a CanaryService,
    /// The app selector label of the target: key and value (`app`, `podinfo`).
    pub app_label: (&'a str, &'a str),
    /// The target's pod spec, for `portDiscovery`.
    pub pod_spec: Option<&'a PodSpec>,
}

/// The Service for `role`.
pub fn service(role: ServiceRole, i: &ServiceInputs<'_>) -> Service {
    let (key, app) = i.app_label;
    let (name, selector_value, metadata) = match role {
        ServiceRole::Apex => (
            &i.names.apex,
            format!("{app}-primary"),
            i.spec.apex.as_ref(),
        ),
        ServiceRole::Primary => (
            &i.names.primary,
            format!("{app}-primary"),
            i.spec.primary.as_ref(),
        ),
        ServiceRole::Canary => (&i.names.canary, app.to_owned(), i.spec.canary.as_ref()),
    };
    let port_name = i.spec.port_name.clone().unwrap_or_else(|| "http".into());
    let mut ports = vec![ServicePort {
        name: Some(port_name),
        port: i32::from(i.spec.port),
        target_port: Some(
            i.spec
                .target_port
                .clone()
                .unwrap_or(IntOrString::Int(i32::from(i.spec.port))),
        ),
        protocol: Some("TCP".into()),
        app_protocol: i.spec.app_protocol.clone(),
        ..ServicePort::default()
    }];
    if i.spec.port_discovery == Some(true) {
        ports.extend(discovered_ports(i.pod_spec, &ports[0]));
    }
    Service {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(i.namespace.to_owned()),
            labels: Some(
                metadata
                    .and_then(|m| m.labels.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .chain([(key.to_owned(), name.clone())])
                    .collect(),
            ),
            annotations: metadata.and_then(|m| m.annotations.clone()),
            owner_references: Some(vec![canary_owner(i.canary.0, i.canary.1)]),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: (i.spec.headless == Some(true)).then(|| "None".into()),
            selector: Some(BTreeMap::from([(key.to_owned(), selector_value)])),
            ports: Some(ports),
            traffic_distribution: i.spec.traffic_distribution.map(|t| {
                match t {
                    TrafficDistribution::PreferClose => "PreferClose",
                    TrafficDistribution::PreferSameZone => "PreferSameZone",
                    TrafficDistribution::PreferSameNode => "PreferSameNode",
                }
                .to_owned()
            }),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// A copy of a Service target under `name` (its `-primary` or `-canary` Service), as an
/// object to apply: the target's spec without what the API server allocates, its labels and
/// annotations whose keys start with one of `include_prefixes` (`*` for all), owned by the
/// Canary.
pub fn service_copy(
    target: &Service,
    name: &str,
    canary: (&str, &str),
    include_prefixes: &[String],
) -> Result<serde_json::Value, serde_json::Error> {
    let included = |map: Option<&BTreeMap<String, String>>| -> BTreeMap<String, String> {
        map.into_iter()
            .flatten()
            .filter(|(k, _)| {
                k.as_str() != "kubectl.kubernetes.io/last-applied-configuration"
                    && include_prefixes
                        .iter()
                        .any(|p| p == "*" || k.starts_with(p.as_str()))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut spec = serde_json::to_value(&target.spec)?;
    super::target::strip_allocated(&mut spec);
    Ok(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": target.metadata.namespace,
            "labels": included(target.metadata.labels.as_ref()),
            "annotations": included(target.metadata.annotations.as_ref()),
            "ownerReferences": [canary_owner(canary.0, canary.1)],
        },
        "spec": spec,
    }))
}

/// The other container ports of the target (`portDiscovery: true`), named `tcp-<port>` when the
/// container does not name them.
fn discovered_ports(pod_spec: Option<&PodSpec>, main: &ServicePort) -> Vec<ServicePort> {
    let main_target = main.target_port.clone();
    let mut ports: Vec<ServicePort> = pod_spec
        .into_iter()
        .flat_map(|p| p.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| {
            Some(IntOrString::Int(p.container_port)) != main_target
                && p.name.as_ref().map(|n| IntOrString::String(n.clone())) != main_target
                && p.container_port != main.port
        })
        .map(|p| ServicePort {
            name: Some(
                p.name
                    .clone()
                    .unwrap_or_else(|| format!("tcp-{}", p.container_port)),
            ),
            port: p.container_port,
            target_port: Some(IntOrString::Int(p.container_port)),
            protocol: p.protocol.clone().or_else(|| Some("TCP".into())),
            ..ServicePort::default()
        })
        .collect();
    ports.sort_by_key(|p| p.port);
    ports.dedup_by_key(|p| p.port);
    ports
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs<'a>(
        names: &'a ServiceNames,
        spec: &'a CanaryService,
        pod: Option<&'a PodSpec>,
    ) -> ServiceInputs<'a> {
        ServiceInputs {
            canary: ("podinfo", "uid-1"),
            namespace: "test",
            names,
            spec,
            app_label: ("app", "podinfo"),
            pod_spec: pod,
        }
    }

    #[test]
    fn apex_and_primary_select_primary_pods_and_canary_the_targets() {
        let names = ServiceNames::new("podinfo", None);
        let spec = CanaryService {
            port: 9898,
            ..Default::default()
        };
        let selector = |role| {
            serde_json::to_value(service(role, &inputs(&names, &spec, None))).unwrap()["spec"]["selector"].clone()
        };
        assert_eq!(
            selector(ServiceRole::Apex),
            json!({"app": "podinfo-primary"})
        );
        assert_eq!(
            selector(ServiceRole::Primary),
            json!({"app": "podinfo-primary"})
        );
        assert_eq!(selector(ServiceRole::Canary), json!({"app": "podinfo"}));
    }

    #[test]
    fn the_port_defaults_to_http_targeting_the_same_port() {
        let names = ServiceNames::new("podinfo", None);
        let spec = CanaryService {
            port: 9898,
            app_protocol: Some("http".into()),
            ..Default::default()
        };
        let v = serde_json::to_value(service(ServiceRole::Canary, &inputs(&names, &spec, None)))
            .unwrap();
        assert_eq!(v["metadata"]["name"], "podinfo-canary");
        assert_eq!(
            v["spec"]["ports"],
            json!([{"name": "http", "port": 9898, "targetPort": 9898, "protocol": "TCP", "appProtocol": "http"}])
        );
        assert_eq!(v["metadata"]["ownerReferences"][0]["name"], "podinfo");
    }

    #[test]
    fn headless_services_have_no_cluster_ip() {
        let names = ServiceNames::new("podinfo", None);
        let spec = CanaryService {
            port: 80,
            headless: Some(true),
            ..Default::default()
        };
        assert_eq!(
            service(ServiceRole::Primary, &inputs(&names, &spec, None))
                .spec
                .unwrap()
                .cluster_ip
                .as_deref(),
            Some("None")
        );
    }

    #[test]
    fn port_discovery_adds_the_other_container_ports() {
        let names = ServiceNames::new("podinfo", None);
        let spec = CanaryService {
            port: 9898,
            port_discovery: Some(true),
            ..Default::default()
        };
        let pod: PodSpec = serde_json::from_value(json!({"containers": [
            {"name": "app", "ports": [{"containerPort": 9898, "name": "http"}, {"containerPort": 9797, "name": "metrics"}]},
            {"name": "sidecar", "ports": [{"containerPort": 15000}]}
        ]})).unwrap();
        let v = serde_json::to_value(service(
            ServiceRole::Apex,
            &inputs(&names, &spec, Some(&pod)),
        ))
        .unwrap();
        let names: Vec<&str> = v["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["http", "metrics", "tcp-15000"]);
    }

    #[test]
    fn a_service_targets_copy_keeps_its_spec_but_not_its_allocations() {
        let target: Service = serde_json::from_value(json!({
            "metadata": {"name": "podinfo", "namespace": "test",
                         "labels": {"app": "podinfo", "team": "web"},
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}",
                                         "team/owner": "web"}},
            "spec": {"type": "NodePort", "clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"],
                     "selector": {"app": "podinfo-v2"}, "sessionAffinity": "ClientIP",
                     "ports": [{"name": "http", "port": 80, "targetPort": 9898, "nodePort": 30080}]}
        }))
        .unwrap();
        let copy = service_copy(
            &target,
            "podinfo-canary",
            ("podinfo", "uid-1"),
            &["team".into()],
        )
        .unwrap();
        assert_eq!(copy["metadata"]["name"], "podinfo-canary");
        assert_eq!(copy["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert_eq!(copy["metadata"]["labels"], json!({"team": "web"}));
        assert_eq!(
            copy["metadata"]["annotations"],
            json!({"team/owner": "web"})
        );
        assert_eq!(copy["spec"]["selector"], json!({"app": "podinfo-v2"}));
        assert_eq!(copy["spec"]["sessionAffinity"], "ClientIP");
        assert_eq!(copy["spec"]["type"], "NodePort");
        assert!(copy["spec"].get("clusterIP").is_none());
        assert!(copy["spec"].get("clusterIPs").is_none());
        assert!(copy["spec"]["ports"][0].get("nodePort").is_none());
        assert_eq!(copy["spec"]["ports"][0]["targetPort"], 9898);
    }
}
