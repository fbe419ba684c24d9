//! Helpers shared by the install-manifest tests: rendering, lookups and the assertions on them.

pub(crate) use std::collections::{BTreeMap, BTreeSet};
pub(crate) use std::path::{Component, Path, PathBuf};
pub(crate) use std::process::Command;

pub(crate) use serde_json::{Value, json};

/// The namespace `config/default` installs into.
pub(crate) const SYSTEM_NAMESPACE: &str = "serin-system";

/// Every verb the controller uses to manage an object it owns.
pub(crate) const MANAGE: &[&str] = &[
    "get", "list", "watch", "create", "patch", "update", "delete",
];

/// The verbs a watched cache of a kind needs.
pub(crate) const READ: &[&str] = &["get", "list", "watch"];

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("readable UTF-8 file under the repository")
}

/// Parses multi-document YAML into JSON values, dropping empty documents.
pub(crate) fn parse_docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("valid YAML document"))
        .filter(|doc: &Value| !doc.is_null())
        .collect()
}

/// `kubectl kustomize DIR`, parsed.
pub(crate) fn kustomize(dir: &Path) -> Vec<Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("running `kubectl kustomize` (kubectl must be installed)");
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_docs(&String::from_utf8(out.stdout).expect("UTF-8 output"))
}

/// `path` written relative to `from` (both absolute), as kustomize wants resource paths.
pub(crate) fn relative(from: &Path, path: &Path) -> String {
    let from = from.canonicalize().expect("canonical directory");
    let ups = from
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let down: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let mut parts = vec![".."; ups].join("/");
    parts.push('/');
    parts.push_str(&down.join("/"));
    parts
}

/// Renders a throw-away overlay whose `kustomization.yaml` is `text`, in which `{config}` stands
/// for the path of the repository's `config/` directory.
pub(crate) fn render_overlay(text: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = relative(dir.path(), &repo_root().join("config"));
    let text = text.replace("{config}", &config);
    std::fs::write(dir.path().join("kustomization.yaml"), text).expect("write overlay");
    kustomize(dir.path())
}

/// An overlay setting `namespace` over the given resources and components (directories under
/// `config/`).
pub(crate) fn overlay(namespace: &str, resources: &[&str], components: &[&str]) -> Vec<Value> {
    let list = |dirs: &[&str]| -> String {
        let mut out = String::new();
        for dir in dirs {
            out.push_str("  - {config}/");
            out.push_str(dir);
            out.push('\n');
        }
        out
    };
    let mut text = format!("namespace: {namespace}\nresources:\n{}", list(resources));
    if !components.is_empty() {
        text.push_str("components:\n");
        text.push_str(&list(components));
    }
    render_overlay(&text)
}

pub(crate) fn kind_of(obj: &Value) -> &str {
    obj["kind"].as_str().unwrap_or_default()
}

pub(crate) fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

pub(crate) fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = objs
        .iter()
        .filter(|o| kind_of(o) == kind && name_of(o) == name)
        .collect();
    assert_eq!(found.len(), 1, "exactly one {kind}/{name} expected");
    found[0]
}

pub(crate) fn of_kind<'a>(objs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objs.iter().filter(|o| kind_of(o) == kind).collect()
}

pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The permissions a list of rules grants, as `group/resource -> verbs` (resourceNames noted).
pub(crate) fn permissions(rules: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in rules.as_array().expect("rules list") {
        let names = strings(&rule["resourceNames"]);
        let suffix = if names.is_empty() {
            String::new()
        } else {
            format!("[{}]", names.join(","))
        };
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                out.entry(format!("{group}/{resource}{suffix}"))
                    .or_default()
                    .extend(strings(&rule["verbs"]));
            }
        }
    }
    out
}

pub(crate) fn perm(entries: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    entries
        .iter()
        .map(|(key, verbs)| {
            (
                (*key).to_owned(),
                verbs.iter().map(|v| (*v).to_owned()).collect(),
            )
        })
        .collect()
}

/// What the controller needs cluster-wide (or in the namespace it watches), given the verbs it
/// gets on Secrets.
pub(crate) fn controller_permissions(secret_verbs: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut permissions = perm(&[
        (
            "flagger.app/canaries",
            &["get", "list", "watch", "patch", "update"],
        ),
        ("flagger.app/canaries/status", &["get", "patch", "update"]),
        ("flagger.app/canaries/finalizers", &["update"]),
        ("flagger.app/metrictemplates", &["get", "list", "watch"]),
        ("flagger.app/alertproviders", &["get", "list", "watch"]),
        ("apps/deployments", MANAGE),
        ("apps/daemonsets", MANAGE),
        ("apps/deployments/scale", &["get", "patch", "update"]),
        ("autoscaling/horizontalpodautoscalers", MANAGE),
        ("/services", MANAGE),
        ("/configmaps", MANAGE),
        ("/secrets", secret_verbs),
        ("/events", &["create", "patch"]),
        ("events.k8s.io/events", &["create", "patch"]),
    ]);
    permissions.extend(router_permissions());
    permissions
}

/// What the routers need: every kind they declare, managed or read, by `group/plural`.
pub(crate) fn router_permissions() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for used in serin_controller::routers::all_kinds() {
        let verbs: &[&str] = match used.access {
            serin_controller::routers::Access::Write => MANAGE,
            serin_controller::routers::Access::Read => READ,
        };
        out.entry(format!("{}/{}", used.kind.group, used.kind.plural))
            .or_default()
            .extend(verbs.iter().map(|v| (*v).to_owned()));
    }
    out
}

pub(crate) fn container<'a>(deployment: &'a Value, name: &str) -> &'a Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == name)
        .expect("container by name")
}

/// The container's env as `name -> value` (a `valueFrom` shows as its field path).
pub(crate) fn env_of(container: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for var in container["env"].as_array().expect("env list") {
        let name = var["name"].as_str().expect("env name").to_owned();
        let value = match &var["value"] {
            Value::String(s) => s.clone(),
            Value::Null => format!(
                "fieldRef:{}",
                var["valueFrom"]["fieldRef"]["fieldPath"]
                    .as_str()
                    .unwrap_or("?")
            ),
            other => other.to_string(),
        };
        assert!(
            out.insert(name.clone(), value).is_none(),
            "env {name} set twice"
        );
    }
    out
}

/// Checks the pod and container security settings shared by the controller and load tester.
pub(crate) fn assert_hardened(deployment: &Value, container_name: &str) {
    let pod = &deployment["spec"]["template"]["spec"];
    let c = container(deployment, container_name);
    let sc = &c["securityContext"];
    let what = name_of(deployment);
    assert_eq!(sc["runAsNonRoot"], true, "{what}: runAsNonRoot");
    assert_eq!(sc["runAsUser"], 65532, "{what}: runAsUser");
    assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}: read-only root");
    assert_eq!(
        sc["allowPrivilegeEscalation"], false,
        "{what}: no escalation"
    );
    assert_eq!(
        sc["capabilities"]["drop"],
        json!(["ALL"]),
        "{what}: drop ALL"
    );
    assert!(
        sc["capabilities"]["add"].is_null(),
        "{what}: no capability added"
    );
    assert_ne!(sc["privileged"], true, "{what}: not privileged");
    assert_eq!(
        sc["seccompProfile"]["type"], "RuntimeDefault",
        "{what}: seccomp"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert!(pod["hostNetwork"].is_null() && pod["hostPID"].is_null());
    let env = env_of(c);
    assert_eq!(env["POD_NAME"], "fieldRef:metadata.name");
    assert_eq!(env["POD_NAMESPACE"], "fieldRef:metadata.namespace");
    assert!(
        c["resources"]["limits"]["memory"].is_string(),
        "{what}: memory limit"
    );
}

pub(crate) fn assert_no_wildcards(objs: &[Value]) {
    for role in objs
        .iter()
        .filter(|o| matches!(kind_of(o), "ClusterRole" | "Role"))
    {
        for rule in role["rules"].as_array().expect("rules") {
            for field in ["verbs", "resources", "apiGroups"] {
                assert!(
                    !strings(&rule[field]).iter().any(|s| s.contains('*')),
                    "{}/{} grants `*` in {field}: {rule}",
                    kind_of(role),
                    name_of(role)
                );
            }
            assert!(
                rule["nonResourceURLs"].is_null(),
                "{}: nonResourceURLs",
                name_of(role)
            );
        }
    }
}

/// Every binding points at a role and a service account that the same output defines.
pub(crate) fn assert_bindings_resolve(objs: &[Value]) {
    for binding in objs
        .iter()
        .filter(|o| matches!(kind_of(o), "ClusterRoleBinding" | "RoleBinding"))
    {
        let role_kind = binding["roleRef"]["kind"].as_str().expect("roleRef.kind");
        let role_name = binding["roleRef"]["name"].as_str().expect("roleRef.name");
        let role = find(objs, role_kind, role_name);
        if role_kind == "Role" {
            assert_eq!(
                role["metadata"]["namespace"], binding["metadata"]["namespace"],
                "{role_name}: Role and RoleBinding in one namespace"
            );
        }
        for subject in binding["subjects"].as_array().expect("subjects") {
            assert_eq!(subject["kind"], "ServiceAccount");
            let account = find(
                objs,
                "ServiceAccount",
                subject["name"].as_str().expect("subject name"),
            );
            assert_eq!(
                subject["namespace"],
                account["metadata"]["namespace"],
                "{}: subject namespace",
                name_of(binding)
            );
        }
    }
}

/// The CRDs of `crds/crds.yaml`, by name.
pub(crate) fn generated_crds() -> BTreeMap<String, Value> {
    parse_docs(&read(&repo_root().join("crds/crds.yaml")))
        .into_iter()
        .map(|crd| (name_of(&crd).to_owned(), same_numbers(crd)))
        .collect()
}

/// The CRDs among `objs`, by name, numbers normalized (see [`same_numbers`]).
pub(crate) fn crds_in(objs: &[Value]) -> BTreeMap<String, Value> {
    of_kind(objs, "CustomResourceDefinition")
        .into_iter()
        .map(|crd| (name_of(crd).to_owned(), same_numbers(crd.clone())))
        .collect()
}

/// kustomize writes the generated `minimum: 1.0` as `1`: the same number, which JSON values
/// tell apart. Whole floats become integers so that such documents compare equal.
pub(crate) fn same_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            #[allow(clippy::cast_possible_truncation, clippy::float_cmp)]
            Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 1e15 => {
                json!(f as i64)
            }
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(same_numbers).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, same_numbers(v))).collect())
        }
        other => other,
    }
}
