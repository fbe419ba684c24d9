//! The Helm chart, checked statically (and rendered when a `helm` binary is on `PATH`).

#[allow(
    clippy::wildcard_imports,
    reason = "the shared helpers of this test crate"
)]
use crate::support::*;
use pretty_assertions::assert_eq;

pub(crate) fn chart_dir() -> PathBuf {
    repo_root().join("charts/serin")
}

pub(crate) fn chart_values() -> Value {
    let docs = parse_docs(&read(&chart_dir().join("values.yaml")));
    assert_eq!(docs.len(), 1, "values.yaml is one document");
    docs.into_iter().next().expect("values document")
}

pub(crate) fn templates() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(chart_dir().join("templates"))
        .expect("templates dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, read(&path))
        })
        .collect();
    out.sort();
    out
}

/// The template actions (`{{ ... }}`) of a file, trimmed of `-` markers and spaces.
pub(crate) fn actions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("every {{ is closed by }}");
        let inner = after[..end]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        out.push(inner.to_owned());
        rest = &after[end + 2..];
    }
    out
}

/// Dotted paths that follow `prefix` in `action` (`prefix` is `.Values` or `$name`): for
/// `.Values.a.b` the path `["a", "b"]`. A bare prefix yields an empty path.
pub(crate) fn paths_after(action: &str, prefix: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = action[from..].find(prefix) {
        let at = from + found;
        let tail = &action[at + prefix.len()..];
        let len = tail
            .find(|c: char| !(ident(c) || c == '.'))
            .unwrap_or(tail.len());
        from = at + prefix.len() + len;
        let starts_word = !action[..at].chars().next_back().is_some_and(ident);
        let ends_word = len == 0 || tail.starts_with('.');
        if starts_word && ends_word {
            out.push(
                tail[..len]
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    out
}

#[test]
fn chart_metadata_parses() {
    let chart = parse_docs(&read(&chart_dir().join("Chart.yaml")));
    assert_eq!(chart[0]["apiVersion"], "v2");
    assert_eq!(chart[0]["name"], "serin");
    assert!(chart[0]["version"].is_string() && chart[0]["appVersion"].is_string());
    assert!(chart_values().is_object());
}

#[test]
fn every_value_a_template_reads_exists_in_values_yaml() {
    let values = chart_values();
    let mut checked = 0;
    for (file, text) in templates() {
        // `$x := .Values.a.b` aliases, so that `$x.c` is checked as `a.b.c`.
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for action in actions(&text) {
            if let Some((var, expr)) = action.split_once(":=") {
                let var = var.trim();
                let expr = expr.trim();
                if var.starts_with('$')
                    && let Some(path) = expr.strip_prefix(".Values.")
                    && path
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
                {
                    aliases.insert(var.to_owned(), path.split('.').map(str::to_owned).collect());
                }
            }
            let mut refs = paths_after(&action, ".Values");
            for (var, base) in &aliases {
                for path in paths_after(&action, var) {
                    let mut full = base.clone();
                    full.extend(path);
                    refs.push(full);
                }
            }
            for path in refs {
                let mut at = &values;
                for key in &path {
                    assert!(
                        at.get(key).is_some(),
                        "{file}: `{{{{ {action} }}}}` reads .Values.{} but values.yaml has no {key}",
                        path.join(".")
                    );
                    at = &at[key];
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} value references found");
}

#[test]
fn chart_template_actions_balance() {
    for (file, text) in templates() {
        let mut open: Vec<String> = Vec::new();
        for action in actions(&text) {
            if action.starts_with("/*") {
                assert!(action.ends_with("*/"), "{file}: unclosed comment");
                continue;
            }
            let word = action.split_whitespace().next().unwrap_or_default();
            match word {
                "if" | "range" | "with" | "define" | "block" => open.push(action.clone()),
                "end" => {
                    assert!(
                        open.pop().is_some(),
                        "{file}: `end` without an opening action"
                    );
                }
                "else" => assert!(!open.is_empty(), "{file}: `else` outside a block"),
                _ => {}
            }
        }
        assert!(open.is_empty(), "{file}: unclosed {open:?}");
    }
}

/// The body of `{{- define "NAME" -}} ... {{- end -}}` in `_helpers.tpl`, up to the matching end.
pub(crate) fn helper_body(name: &str) -> String {
    let text = read(&chart_dir().join("templates/_helpers.tpl"));
    let start_marker = format!("{{{{- define \"{name}\" -}}}}");
    let start = text.find(&start_marker).expect("define in _helpers.tpl") + start_marker.len();
    let body = &text[start..];
    let end = body.find("{{- end -}}").expect("end of define");
    body[..end].to_owned()
}

#[test]
fn chart_rules_equal_the_kustomize_rules() {
    let root = repo_root();
    let full = r#"["get", "list", "watch", "create", "patch", "update", "delete"]"#;
    let rules = helper_body("serin.rules").replace("{{ include \"serin.secretVerbs\" . }}", full);
    assert!(
        !rules.contains("{{"),
        "serin.rules holds only this one action"
    );
    let chart_rules = Value::Array(
        parse_docs(&format!("rules:\n{rules}"))[0]["rules"]
            .as_array()
            .expect("rules")
            .clone(),
    );
    let cluster_role = parse_docs(&read(&root.join("config/rbac/cluster_role.yaml")));
    assert_eq!(
        permissions(&chart_rules),
        permissions(&cluster_role[0]["rules"])
    );
    assert_eq!(permissions(&chart_rules), controller_permissions(MANAGE));

    let extra = helper_body("serin.extraRouterRules");
    let chart_extra = parse_docs(&format!("rules:\n{extra}"));
    let kustomize_extra = parse_docs(&read(
        &root.join("config/optional/extra-routers/cluster_role.yaml"),
    ));
    assert_eq!(
        permissions(&chart_extra[0]["rules"]),
        permissions(&kustomize_extra[0]["rules"])
    );

    // Secrets: "get" only when config tracking is off.
    let verbs = read(&chart_dir().join("templates/_helpers.tpl"));
    assert!(verbs.contains(full) && verbs.contains(r#"["get"]"#));
    assert!(verbs.contains(r#"ternary "full" "get" .Values.controller.enableConfigTracking"#));
}

#[test]
fn chart_defaults_equal_the_kustomize_default() {
    let values = chart_values();
    let chart = &parse_docs(&read(&chart_dir().join("Chart.yaml")))[0];
    let objs = kustomize(&repo_root().join("config/default"));
    let deployment = find(&objs, "Deployment", "serin");
    let c = container(deployment, "controller");
    let env = env_of(c);

    let image = c["image"].as_str().expect("image");
    let (repository, tag) = image.rsplit_once(':').expect("image tag");
    assert_eq!(values["image"]["repository"], repository);
    assert_eq!(
        values["image"]["tag"], "",
        "the chart defaults to appVersion"
    );
    assert_eq!(
        chart["appVersion"], tag,
        "chart appVersion and kustomize tag"
    );
    assert_eq!(values["replicaCount"], deployment["spec"]["replicas"]);
    assert_eq!(values["resources"], c["resources"]);
    assert_eq!(values["installCRDs"], true);
    assert_eq!(values["routers"]["extra"], false);
    assert_eq!(values["loadtester"]["enabled"], false);
    assert_eq!(values["serviceMonitor"]["enabled"], false);
    assert_eq!(values["rbac"]["secretsAccess"], "auto");

    let ctl = &values["controller"];
    let expect = [
        ("SERIN_METRICS_SERVER", ctl["metricsServer"].clone()),
        ("SERIN_MESH_PROVIDER", ctl["meshProvider"].clone()),
        ("SERIN_SELECTOR_LABELS", ctl["selectorLabels"].clone()),
        (
            "SERIN_ENABLE_CONFIG_TRACKING",
            json!(ctl["enableConfigTracking"].to_string()),
        ),
        ("SERIN_LISTEN", json!(format!("0.0.0.0:{}", ctl["port"]))),
        ("SERIN_CONCURRENCY", json!(ctl["concurrency"].to_string())),
        ("SERIN_QUERY_TIMEOUT", ctl["queryTimeout"].clone()),
        (
            "SERIN_ENABLE_LEADER_ELECTION",
            json!(values["leaderElection"]["enabled"].to_string()),
        ),
    ];
    for (var, value) in expect {
        assert_eq!(json!(env[var]), value, "{var}");
    }
    assert_eq!(ctl["watchNamespace"], "");
    assert_eq!(ctl["noCrossNamespaceRefs"], true);
    assert_eq!(ctl["clusterName"], "");

    let lt = kustomize(&repo_root().join("config/loadtester"));
    let lt_c = container(find(&lt, "Deployment", "serin-loadtester"), "loadtester");
    let lt_image = lt_c["image"].as_str().expect("image");
    assert_eq!(
        values["loadtester"]["image"]["repository"],
        lt_image.rsplit_once(':').expect("tag").0
    );
    assert_eq!(values["loadtester"]["resources"], lt_c["resources"]);
    assert_eq!(
        values["loadtester"]["gatesConfigMap"],
        "serin-loadtester-gates"
    );
}

/// `replace "OLD" "NEW"` in the CRD template, with Go string escapes applied.
pub(crate) fn crd_template_replacement() -> (String, String) {
    let text = read(&chart_dir().join("templates/crds.yaml"));
    let action = actions(&text)
        .into_iter()
        .find(|a| a.contains(".Files.Get \"files/crds.yaml\""))
        .expect("the CRD template reads files/crds.yaml");
    let (_, args) = action.split_once("replace ").expect("a replace call");
    let quoted: Vec<&str> = args.split('"').collect();
    // ["", OLD, " ", NEW, ""]
    assert_eq!(quoted.len(), 5, "replace takes two plain string literals");
    let unescape = |s: &str| s.replace("\\n", "\n");
    (unescape(quoted[1]), unescape(quoted[3]))
}

#[test]
fn chart_crd_template_marks_each_generated_crd_keep() {
    let (old, new) = crd_template_replacement();
    let generated = read(&repo_root().join("crds/crds.yaml"));
    let crds = generated_crds();
    assert_eq!(
        generated.matches(&old).count(),
        crds.len(),
        "the pattern must match once per CRD; did the generated metadata change?"
    );
    let rendered = parse_docs(&generated.replace(&old, &new));
    assert_eq!(rendered.len(), crds.len());
    for mut crd in rendered {
        let name = name_of(&crd).to_owned();
        assert_eq!(
            crd["metadata"]["annotations"],
            json!({"helm.sh/resource-policy": "keep"}),
            "{name}"
        );
        crd["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove("annotations");
        assert_eq!(same_numbers(crd), crds[&name], "{name} otherwise unchanged");
    }
    let text = read(&chart_dir().join("templates/crds.yaml"));
    assert!(text.contains("{{- if .Values.installCRDs }}"));
}

/// `helm template` with default values and `extra` flags.
pub(crate) fn helm_template(extra: &[&str]) -> Vec<Value> {
    let out = Command::new("helm")
        .args(["template", "serin"])
        .arg(chart_dir())
        .args(["--namespace", SYSTEM_NAMESPACE])
        .args(extra)
        .output()
        .expect("helm runs (this test is ignored by default because Debian has no helm package)");
    assert!(
        out.status.success(),
        "helm template failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_docs(&String::from_utf8(out.stdout).expect("UTF-8"))
}

#[test]
#[ignore = "needs the helm binary, which Debian does not package; with helm on PATH run: cargo nextest run -p serin-controller --run-ignored only helm_rendering"]
fn helm_rendering_matches_kustomize() {
    let helm = helm_template(&[]);
    let kust = kustomize(&repo_root().join("config/default"));
    let key = |o: &&Value| format!("{}/{}", kind_of(o), name_of(o));
    let helm_keys: BTreeSet<String> = helm.iter().map(|o| key(&o)).collect();
    let kust_keys: BTreeSet<String> = kust
        .iter()
        .filter(|o| kind_of(o) != "Namespace")
        .map(|o| key(&o))
        .collect();
    assert_eq!(helm_keys, kust_keys);

    let mut helm_crds = crds_in(&helm);
    for crd in helm_crds.values_mut() {
        crd["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove("annotations");
    }
    assert_eq!(helm_crds, crds_in(&kust));
    for kind in ["ClusterRole", "Role"] {
        for role in of_kind(&kust, kind) {
            let theirs = find(&helm, kind, name_of(role));
            assert_eq!(permissions(&theirs["rules"]), permissions(&role["rules"]));
        }
    }
    let h = container(find(&helm, "Deployment", "serin"), "controller");
    let k = container(find(&kust, "Deployment", "serin"), "controller");
    for field in [
        "image",
        "command",
        "args",
        "ports",
        "securityContext",
        "livenessProbe",
        "readinessProbe",
        "resources",
    ] {
        assert_eq!(h[field], k[field], "container {field}");
    }
    assert_eq!(env_of(h), env_of(k));
    assert_no_wildcards(&helm);
    assert_bindings_resolve(&helm);

    let narrowed = helm_template(&[
        "--set",
        "controller.enableConfigTracking=false",
        "--set",
        "controller.watchNamespace=team-a",
    ]);
    assert!(of_kind(&narrowed, "ClusterRole").is_empty());
    let role = find(&narrowed, "Role", "serin");
    assert_eq!(
        permissions(&role["rules"]),
        controller_permissions(&["get"])
    );
}
