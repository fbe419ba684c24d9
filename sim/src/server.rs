//! The emulated API server: binds 127.0.0.1, serves the API, and hands out clients and kubeconfigs.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api_metrics::ApiMetrics;
use crate::audit::{AuditEntry, AuditLog, DEFAULT_AUDIT_LIMIT};
use crate::faults::{FaultConfig, Faults};
use crate::handlers::{AppState, handle};
use crate::kubeconfig::{self, KubeconfigError};
use crate::metrics_http::{SharedRegistry, new_registry};
use crate::ops::Emulator;

/// Errors starting or using the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A kube client could not be built.
    #[error("building kube client: {0}")]
    Client(String),
    /// Writing the kubeconfig failed.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listen address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Watch events retained per resource; older resourceVersions get 410 Gone.
    pub history_limit: usize,
    /// Period of watch bookmarks.
    pub bookmark_interval: Duration,
    /// Initial fault injection.
    pub faults: FaultConfig,
    /// Entries kept in the write audit log (the oldest are dropped).
    pub audit_limit: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            history_limit: 5000,
            bookmark_interval: Duration::from_secs(5),
            faults: FaultConfig::default(),
            audit_limit: DEFAULT_AUDIT_LIMIT,
        }
    }
}

/// A running emulated API server; stops when dropped.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    emulator: Arc<Emulator>,
    faults: Arc<Faults>,
    audit: Arc<AuditLog>,
    registry: SharedRegistry,
    shutdown: Option<oneshot::Sender<()>>,
    gc: JoinHandle<()>,
}

impl Server {
    /// Starts a server with the default configuration on a free port.
    pub async fn start_default() -> Result<Self, ServerError> {
        Self::start(ServerConfig::default()).await
    }

    /// Starts a server.
    pub async fn start(config: ServerConfig) -> Result<Self, ServerError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let emulator = Arc::new(Emulator::new(config.history_limit));
        let faults = Arc::new(Faults::new(config.faults));
        let metrics = ApiMetrics::default();
        let registry = new_registry();
        metrics.register(
            &mut registry
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let audit = Arc::new(AuditLog::new(config.audit_limit));
        let state = AppState {
            emulator: Arc::clone(&emulator),
            faults: Arc::clone(&faults),
            metrics,
            audit: Arc::clone(&audit),
            bookmark_interval: config.bookmark_interval,
        };
        // Kubernetes accepts request bodies up to 3 MiB (large CRDs with last-applied annotations).
        let app = Router::new()
            .fallback(handle)
            .layer(axum::extract::DefaultBodyLimit::max(3 * 1024 * 1024))
            .with_state(state);
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serving.await {
                tracing::error!(error = %e, "API server stopped");
            }
        });
        let gc = tokio::spawn(crate::gc::run(Arc::clone(&emulator)));
        Ok(Self {
            addr,
            emulator,
            faults,
            audit,
            registry,
            shutdown: Some(shutdown),
            gc,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube-rs client for this server.
    pub fn client(&self) -> Result<kube::Client, ServerError> {
        let uri = self
            .base_url()
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| ServerError::Client(e.to_string()))?;
        kube::Client::try_from(kube::Config::new(uri))
            .map_err(|e| ServerError::Client(e.to_string()))
    }

    /// Writes a kubeconfig for this server.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), ServerError> {
        Ok(kubeconfig::write(path, &self.base_url())?)
    }

    /// Live fault injection settings.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// A copy of the write audit log, oldest first: every create, update, patch and delete
    /// that succeeded over HTTP (in-process calls such as [`Server::apply_yaml`] are not
    /// requests and are not recorded).
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.audit.snapshot()
    }

    /// From now on, the audit keeps the object written for `resource` (a plural).
    pub fn audit_objects_of(&self, resource: &str) {
        self.audit.keep_objects_of(resource);
    }

    /// The in-process emulator (direct access to storage operations).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The registry holding the server's request metrics; the simulated cluster can register into it.
    pub fn metrics_registry(&self) -> SharedRegistry {
        Arc::clone(&self.registry)
    }

    /// Applies a multi-document YAML text in-process (server-side apply, forced).
    pub fn apply_yaml(&self, yaml: &str) -> Result<Vec<serde_json::Value>, crate::error::ApiError> {
        self.emulator.apply_yaml(yaml, "serin-sim")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.faults.drop_all_watches();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.gc.abort();
    }
}
