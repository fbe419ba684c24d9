//! What every reconcile shares: the client, settings, metrics, and the HTTP callers.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;
use serin_analysis::{ProviderCache, ProviderOptions};

use super::config::ControllerConfig;
use crate::metrics::Metrics;
use crate::notifiers::Sender;
use crate::webhooks::HookCaller;

/// Field manager of every server-side apply serin makes.
pub const FIELD_MANAGER: &str = "serin";

/// Shared by all reconciles.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Settings.
    pub config: ControllerConfig,
    /// Exported metrics.
    pub metrics: Metrics,
    /// Calls webhooks.
    pub hooks: HookCaller,
    /// Sends alerts.
    pub alerts: Sender,
    /// Metric providers, reused across reconciles.
    pub providers: ProviderCache,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    /// Deployments as last seen by the controller's watch; set each time the controller starts.
    pub deployments: RwLock<Option<Store<Deployment>>>,
    /// DaemonSets as last seen by the controller's watch; set each time the controller starts.
    pub daemonsets: RwLock<Option<Store<DaemonSet>>>,
    /// Canaries as last seen by the controller's watch; set each time the controller starts.
    pub canaries: RwLock<Option<Store<kube::api::DynamicObject>>>,
    /// When each release in progress started (by `namespace/name`), for
    /// `flagger_canary_duration_seconds`.
    pub release_started: Mutex<HashMap<String, Instant>>,
}

impl Context {
    /// A context for `client` with `config`.
    pub fn new(
        client: Client,
        config: ControllerConfig,
        metrics: Metrics,
    ) -> Result<Self, reqwest::Error> {
        let reporter = Reporter {
            controller: "serin".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Ok(Context {
            recorder: Recorder::new(client.clone(), reporter),
            hooks: HookCaller::new(config.webhook_retry_delay)?,
            alerts: Sender::new()?,
            providers: ProviderCache::new(ProviderOptions {
                timeout: config.query_timeout,
                evaluation_time: None,
            }),
            client,
            config,
            metrics,
            deployments: RwLock::new(None),
            daemonsets: RwLock::new(None),
            canaries: RwLock::new(None),
            release_started: Mutex::new(HashMap::new()),
        })
    }
}

impl Context {
    /// The Deployment cache of the running controller, if any.
    pub fn deployment_cache(&self) -> Option<Store<Deployment>> {
        self.deployments
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The DaemonSet cache of the running controller, if any.
    pub fn daemonset_cache(&self) -> Option<Store<DaemonSet>> {
        self.daemonsets
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The Canary cache of the running controller, if any.
    pub fn canary_cache(&self) -> Option<Store<kube::api::DynamicObject>> {
        self.canaries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
