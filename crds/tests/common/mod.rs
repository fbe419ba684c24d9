//! Helpers shared by the crds integration tests: where the Flagger corpus lives and how to read it.

use std::path::PathBuf;

use serde_json::Value;

/// `../shared/flagger-compat` beside the repository (or `$SERIN_SHARED/flagger-compat`).
pub(crate) fn flagger_compat_dir() -> PathBuf {
    let shared = std::env::var_os("SERIN_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    let dir = shared.join("flagger-compat");
    assert!(
        dir.is_dir(),
        "the Flagger corpus is missing at {}; set SERIN_SHARED",
        dir.display()
    );
    dir
}

/// Every YAML document of a file, as JSON values (empty documents skipped).
pub(crate) fn yaml_documents(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read corpus file");
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("corpus YAML parses"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// The 54 manifests Flagger users have, in file-name order.
pub(crate) fn flagger_manifests() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(flagger_compat_dir().join("manifests"))
        .expect("manifests dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .flat_map(|path| {
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            yaml_documents(&path)
                .into_iter()
                .map(move |doc| (name.clone(), doc))
        })
        .collect()
}
