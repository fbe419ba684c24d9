//! `serin crds`: the CustomResourceDefinitions serin serves, as multi-document YAML.

/// The three CRDs as one multi-document YAML stream, as committed under `crds/`.
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for crd in serin_crds::crds() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}
