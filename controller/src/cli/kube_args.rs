//! The cluster flags every people-facing command takes, as kubectl spells them
//! (`--kubeconfig`, `--context`, `-n`, `-A`), and the client they build.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::error::CliError;
use crate::client::ClientOptions;

/// `--kubeconfig`, `--context`, `-n/--namespace` and `-A/--all-namespaces`.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeArgs {
    /// Kubeconfig file (default: `$KUBECONFIG`, then `~/.kube/config`, then the in-cluster
    /// account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, or `default`).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Every namespace (for lists, watches and the dashboard).
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
}

/// Where a command looks: one namespace, or all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One namespace.
    Namespace(String),
    /// Every namespace.
    All,
}

impl Scope {
    /// The namespace, when there is one.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Scope::Namespace(ns) => Some(ns),
            Scope::All => None,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
            Scope::All => f.write_str("any namespace"),
        }
    }
}

/// A connected client and the scope the flags chose.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: kube::Client,
    /// The namespace from `-n` or the context (also set with `-A`, for single objects).
    pub namespace: String,
    /// `-A` or the namespace.
    pub scope: Scope,
    /// The API server's address, for messages.
    pub server: String,
}

impl KubeArgs {
    /// These flags, with any unset one taken from `outer` (flags given before the subcommand).
    #[must_use]
    pub fn or(&self, outer: &KubeArgs) -> KubeArgs {
        KubeArgs {
            kubeconfig: self.kubeconfig.clone().or_else(|| outer.kubeconfig.clone()),
            context: self.context.clone().or_else(|| outer.context.clone()),
            namespace: self.namespace.clone().or_else(|| outer.namespace.clone()),
            all_namespaces: self.all_namespaces || outer.all_namespaces,
        }
    }

    /// Whether any flag is set.
    pub fn is_empty(&self) -> bool {
        *self == KubeArgs::default()
    }

    /// Reads the kubeconfig (or the in-cluster account) and builds a client.
    pub async fn connect(&self) -> Result<Cluster, CliError> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match (&self.kubeconfig, &self.context) {
            (Some(path), _) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(|e| CliError::Kubeconfig {
                    what: path.display().to_string(),
                    message: e.to_string(),
                })?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options).await
            }
            (None, Some(_)) => kube::Config::from_kubeconfig(&options).await,
            (None, None) => kube::Config::infer().await.map_err(|e| {
                kube::config::KubeconfigError::ReadConfig(
                    std::io::Error::other(e.to_string()),
                    "$KUBECONFIG, ~/.kube/config or the in-cluster account".into(),
                )
            }),
        }
        .map_err(|e| CliError::Kubeconfig {
            what: self
                .kubeconfig
                .as_ref()
                .map_or_else(|| "the kubeconfig".to_owned(), |p| p.display().to_string()),
            message: e.to_string(),
        })?;
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let server = config.cluster_url.to_string();
        let client = crate::client::build(
            config,
            ClientOptions {
                qps: 50.0,
                burst: 100,
                identity: "cli".into(),
                fence: None,
                metrics: None,
                timeout: crate::client::DEFAULT_REQUEST_TIMEOUT,
            },
        )
        .map_err(|e| CliError::Kubeconfig {
            what: "the client configuration".into(),
            message: e.to_string(),
        })?;
        let scope = if self.all_namespaces {
            Scope::All
        } else {
            Scope::Namespace(namespace.clone())
        };
        Ok(Cluster {
            client,
            namespace,
            scope,
            server,
        })
    }
}
