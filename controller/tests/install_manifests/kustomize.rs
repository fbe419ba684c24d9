//! The kustomize install: CRDs, the hardened controller, its RBAC, the namespaced variant and the
//! load tester.

#[allow(
    clippy::wildcard_imports,
    reason = "the shared helpers of this test crate"
)]
use crate::support::*;
use pretty_assertions::assert_eq;

#[test]
fn crd_copies_are_identical_to_the_generated_crds() {
    let root = repo_root();
    let generated = std::fs::read(root.join("crds/crds.yaml")).expect("crds/crds.yaml");
    for copy in ["config/crd/crds.yaml", "charts/serin/files/crds.yaml"] {
        let bytes = std::fs::read(root.join(copy)).expect("CRD copy");
        assert!(
            bytes == generated,
            "{copy} differs from crds/crds.yaml; refresh the copies with:\n  \
             cp crds/crds.yaml config/crd/crds.yaml && cp crds/crds.yaml charts/serin/files/crds.yaml"
        );
    }
}

#[test]
fn default_install_renders_the_generated_crds_unchanged() {
    let objs = kustomize(&repo_root().join("config/default"));
    let generated = generated_crds();
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        [
            "alertproviders.flagger.app",
            "canaries.flagger.app",
            "metrictemplates.flagger.app"
        ]
    );
    assert_eq!(crds_in(&objs), generated);
}

#[test]
fn default_install_runs_a_hardened_controller() {
    let objs = kustomize(&repo_root().join("config/default"));
    find(&objs, "Namespace", SYSTEM_NAMESPACE);
    for obj in &objs {
        let namespaced = !matches!(
            kind_of(obj),
            "Namespace" | "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding"
        );
        if namespaced {
            assert_eq!(
                obj["metadata"]["namespace"],
                SYSTEM_NAMESPACE,
                "{}/{}",
                kind_of(obj),
                name_of(obj)
            );
        }
    }
    let deployments = of_kind(&objs, "Deployment");
    assert_eq!(deployments.len(), 1, "only the controller");
    let deployment = deployments[0];
    assert_eq!(name_of(deployment), "serin");
    assert_hardened(deployment, "controller");

    let c = container(deployment, "controller");
    let mut argv = strings(&c["command"]);
    argv.extend(strings(&c["args"]));
    assert_eq!(argv, ["serin", "controller"]);
    assert!(
        c["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("ghcr.io/serin-dev/serin:")),
        "image {}",
        c["image"]
    );
    assert_eq!(
        c["ports"],
        json!([{"name": "http-metrics", "containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http-metrics");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http-metrics");
    let env = env_of(c);
    assert_eq!(
        env["SERIN_LISTEN"], "0.0.0.0:8080",
        "listen on the probed port"
    );
    assert_eq!(env["SERIN_ENABLE_LEADER_ELECTION"], "true");
    assert_eq!(
        env["SERIN_LEADER_ELECTION_NAMESPACE"],
        "fieldRef:metadata.namespace"
    );
    assert!(
        !env.contains_key("SERIN_NAMESPACE"),
        "default watches all namespaces"
    );
    for var in env.keys() {
        assert!(
            var.starts_with("SERIN_") || var.starts_with("POD_"),
            "unexpected env {var}"
        );
    }

    // The ServiceAccount exists, and the metrics Service reaches the pods' named port.
    let account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    find(&objs, "ServiceAccount", account);
    let service = find(&objs, "Service", "serin");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in service["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(&labels[key], value, "Service selector {key}");
    }
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"]
    );
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http-metrics");
}

#[test]
fn default_install_grants_exactly_what_the_controller_needs() {
    let objs = kustomize(&repo_root().join("config/default"));
    assert_no_wildcards(&objs);
    assert_bindings_resolve(&objs);

    let cluster_roles = of_kind(&objs, "ClusterRole");
    assert_eq!(
        cluster_roles.len(),
        1,
        "extra routers are not installed by default"
    );
    assert_eq!(
        permissions(&cluster_roles[0]["rules"]),
        controller_permissions(MANAGE)
    );

    // Leases only through a Role in the controller's own namespace.
    let roles = of_kind(&objs, "Role");
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["metadata"]["namespace"], SYSTEM_NAMESPACE);
    assert_eq!(
        permissions(&roles[0]["rules"]),
        perm(&[(
            "coordination.k8s.io/leases",
            &["get", "create", "update", "patch"]
        )])
    );
}

#[test]
fn every_install_variant_grants_each_kind_the_routers_declare() {
    let declared = router_permissions();
    assert!(
        declared.contains_key("gateway.networking.k8s.io/httproutes"),
        "{declared:?}"
    );
    let default = kustomize(&repo_root().join("config/default"));
    let cluster_role = &of_kind(&default, "ClusterRole")[0];
    let namespaced = overlay("team-a", &["namespaced"], &[]);
    let role = find(&namespaced, "Role", "serin");
    for (variant, granted) in [
        ("config/default", permissions(&cluster_role["rules"])),
        ("config/namespaced", permissions(&role["rules"])),
    ] {
        for (resource, verbs) in &declared {
            let given = granted.get(resource).cloned().unwrap_or_default();
            assert!(
                verbs.is_subset(&given),
                "{variant} grants {given:?} on {resource}, the routers need {verbs:?}"
            );
        }
    }
}

#[test]
fn namespaced_variant_is_confined_to_one_namespace_and_only_reads_secrets() {
    let objs = overlay("team-a", &["namespaced"], &[]);
    for obj in &objs {
        assert!(
            !matches!(
                kind_of(obj),
                "ClusterRole" | "ClusterRoleBinding" | "CustomResourceDefinition" | "Namespace"
            ),
            "cluster-scoped {}/{} in the namespaced variant",
            kind_of(obj),
            name_of(obj)
        );
        assert_eq!(obj["metadata"]["namespace"], "team-a", "{}", name_of(obj));
    }
    assert_no_wildcards(&objs);
    assert_bindings_resolve(&objs);

    let role = find(&objs, "Role", "serin");
    assert_eq!(
        permissions(&role["rules"]),
        controller_permissions(&["get"])
    );
    // The namespaced rules are the cluster-wide ones but for Secrets: nothing drifts apart.
    let cluster_role = parse_docs(&read(&repo_root().join("config/rbac/cluster_role.yaml")));
    let mut wide = permissions(&cluster_role[0]["rules"]);
    wide.insert("/secrets".into(), BTreeSet::from(["get".to_owned()]));
    assert_eq!(permissions(&role["rules"]), wide);

    let deployment = find(&objs, "Deployment", "serin");
    assert_hardened(deployment, "controller");
    let env = env_of(container(deployment, "controller"));
    assert_eq!(env["SERIN_NAMESPACE"], "fieldRef:metadata.namespace");
    assert_eq!(env["SERIN_ENABLE_CONFIG_TRACKING"], "false");
    assert_eq!(env["SERIN_NO_CROSS_NAMESPACE_REFS"], "true");
}

/// The overlay docs/install.md gives for installing `config/default` into another namespace.
pub(crate) const OTHER_NAMESPACE_OVERLAY: &str = "\
resources:
  - {config}/default
patches:
  - patch: |-
      $patch: delete
      apiVersion: v1
      kind: Namespace
      metadata:
        name: serin-system
transformers:
  - |-
    apiVersion: builtin
    kind: NamespaceTransformer
    metadata:
      name: serin-namespace
      namespace: delivery
    setRoleBindingSubjects: allServiceAccounts
";

#[test]
fn default_install_moves_to_another_namespace_with_the_documented_overlay() {
    let docs = read(&repo_root().join("docs/install.md"));
    let documented = OTHER_NAMESPACE_OVERLAY.replace(
        "{config}/default",
        "https://github.com/serin-dev/serin//config/default?ref=v0.1.0",
    );
    assert!(
        docs.contains(&documented),
        "docs/install.md shows this overlay:\n{documented}"
    );

    let objs = render_overlay(OTHER_NAMESPACE_OVERLAY);
    assert!(of_kind(&objs, "Namespace").is_empty());
    assert_bindings_resolve(&objs);
    for obj in &objs {
        if !matches!(
            kind_of(obj),
            "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding"
        ) {
            assert_eq!(obj["metadata"]["namespace"], "delivery", "{}", name_of(obj));
        }
    }
    for binding in of_kind(&objs, "ClusterRoleBinding") {
        assert_eq!(binding["subjects"][0]["namespace"], "delivery");
    }
}

#[test]
fn extra_router_permissions_are_optional_and_bounded() {
    let default = kustomize(&repo_root().join("config/default"));
    let objs = overlay(
        SYSTEM_NAMESPACE,
        &["default", "optional/extra-routers"],
        &[],
    );
    assert_no_wildcards(&objs);
    assert_bindings_resolve(&objs);
    let extra = find(&objs, "ClusterRole", "serin-extra-routers");
    let granted = permissions(&extra["rules"]);
    for key in [
        "traefik.containo.us/traefikservices",
        "keda.sh/scaledobjects",
    ] {
        assert!(granted.contains_key(key), "{key}");
    }
    // Kinds serin's routers use are in the main role, not here.
    for implemented in serin_controller::routers::all_kinds() {
        let key = format!("{}/{}", implemented.kind.group, implemented.kind.plural);
        assert!(!granted.contains_key(&key), "{key} is implemented");
    }
    for (key, verbs) in &granted {
        assert!(
            !key.starts_with('/') && !key.contains("secrets"),
            "{key} is not a router object"
        );
        assert!(verbs.iter().all(|v| MANAGE.contains(&v.as_str())), "{key}");
    }
    assert!(
        of_kind(&default, "ClusterRole")
            .iter()
            .all(|r| name_of(r) != "serin-extra-routers")
    );
}

#[test]
fn loadtester_renders_hardened_with_optional_gate_persistence() {
    let plain = overlay("test", &["loadtester"], &[]);
    let deployment = find(&plain, "Deployment", "serin-loadtester");
    assert_hardened(deployment, "loadtester");
    let c = container(deployment, "loadtester");
    assert_eq!(strings(&c["args"]), ["--port", "8080"]);
    assert!(
        c["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("ghcr.io/serin-dev/serin-loadtester:"))
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    let service = find(&plain, "Service", "serin-loadtester");
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}])
    );
    assert_eq!(c["ports"][0]["name"], "http");
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    assert!(
        of_kind(&plain, "Role").is_empty(),
        "no API access by default"
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["automountServiceAccountToken"], false,
        "no service account token without API access"
    );
    let policy = find(&plain, "NetworkPolicy", "serin-loadtester");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
    let from = &policy["spec"]["ingress"][0]["from"][0];
    assert_eq!(
        from["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
        "controller"
    );
    assert_eq!(
        from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "serin-system"
    );

    let gated = overlay("test", &["loadtester"], &["loadtester/persistent-gates"]);
    assert_no_wildcards(&gated);
    assert_bindings_resolve(&gated);
    let c = container(find(&gated, "Deployment", "serin-loadtester"), "loadtester");
    assert_eq!(
        strings(&c["args"]),
        ["--port", "8080", "--state-configmap=serin-loadtester-gates"]
    );
    assert_eq!(
        find(&gated, "Deployment", "serin-loadtester")["spec"]["template"]["spec"]["automountServiceAccountToken"],
        true,
        "persisted gates need the API"
    );
    let role = find(&gated, "Role", "serin-loadtester-gates");
    assert_eq!(
        permissions(&role["rules"]),
        perm(&[
            (
                "/configmaps[serin-loadtester-gates]",
                &["get", "update", "patch"]
            ),
            ("/configmaps", &["create"]),
        ])
    );
    assert_eq!(
        find(&gated, "RoleBinding", "serin-loadtester-gates")["subjects"][0]["namespace"],
        "test"
    );
}

/// Files under `config/` and `charts/`, sorted.
pub(crate) fn manifest_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo_root().join("config"), &mut out);
    walk(&repo_root().join("charts"), &mut out);
    out.sort();
    out
}

pub(crate) fn is_template(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "templates")
}

#[test]
fn manifests_have_no_tabs_and_parse_as_yaml() {
    let files = manifest_files();
    assert!(files.len() > 20, "found {} files", files.len());
    let mut yaml_files = 0;
    for path in &files {
        let text = read(path);
        let shown = path.display();
        assert!(!text.contains('\t'), "{shown} contains a tab");
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml && !is_template(path) {
            yaml_files += 1;
            let docs = parse_docs(&text);
            assert!(!docs.is_empty(), "{shown} holds no document");
            for doc in docs {
                assert!(doc.is_object(), "{shown}: a document is not a mapping");
            }
        }
    }
    assert!(yaml_files > 15);
}
