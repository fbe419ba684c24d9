//! Writes a kubeconfig that points kubectl and kube-rs at the emulator.

use std::path::Path;

/// Errors writing a kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The file could not be written.
    #[error("writing kubeconfig {path}: {source}")]
    Write {
        /// The target path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The kubeconfig text for a server at `base_url` (`http://127.0.0.1:PORT`).
pub fn render(base_url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: serin-sim
  cluster:
    server: {base_url}
contexts:
- name: serin-sim
  context:
    cluster: serin-sim
    user: serin-sim
    namespace: default
current-context: serin-sim
users:
- name: serin-sim
  user: {{}}
"
    )
}

/// Writes the kubeconfig for `base_url` to `path`.
pub fn write(path: &Path, base_url: &str) -> Result<(), KubeconfigError> {
    std::fs::write(path, render(base_url)).map_err(|source| KubeconfigError::Write {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_with_kube_rs() {
        let config: kube::config::Kubeconfig =
            serde_yaml::from_str(&render("http://127.0.0.1:1234")).unwrap();
        assert_eq!(config.current_context.as_deref(), Some("serin-sim"));
        assert_eq!(
            config.clusters[0]
                .cluster
                .as_ref()
                .unwrap()
                .server
                .as_deref(),
            Some("http://127.0.0.1:1234")
        );
    }
}
