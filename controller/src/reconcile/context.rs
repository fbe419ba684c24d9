//! What every reconcile shares: the client, settings, metrics, and the HTTP callers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;
use serin_analysis::{ProviderCache, ProviderFactory, ProviderOptions};

use super::applied::AppliedServices;
use super::backoff::Backoff;
use super::caches::Caches;
use super::config::ControllerConfig;
use super::status::StatusWrites;
use crate::metrics::Metrics;
use crate::notifiers::Sender;
use crate::webhooks::{HookCaller, HookRuns};

pub use crate::FIELD_MANAGER;

/// How many Canaries' announcements (events, alerts, hooks) are sent at once.
const ANNOUNCERS: usize = 32;

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
    /// Gate and rollout hook calls in flight, each on its own task.
    pub hook_runs: HookRuns,
    /// Sends alerts.
    pub alerts: Sender,
    /// Metric providers, reused across reconciles; built by serin's factory (with this
    /// client for Keptn and the External Metrics API) unless [`Context::with_providers`]
    /// gave another.
    pub providers: ProviderCache,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    /// The watch caches of the running controller; set each time it starts.
    pub caches: RwLock<Arc<Caches>>,
    /// Canaries as last seen by the controller's watch; set each time the controller starts.
    pub canaries: RwLock<Option<Store<kube::api::DynamicObject>>>,
    /// When each release in progress started (by `namespace/name`), for
    /// `flagger_canary_duration_seconds`.
    pub release_started: Mutex<HashMap<String, Instant>>,
    /// What serin last applied to the generated Services, for drift judgement.
    pub applied: AppliedServices,
    /// Retry delays of Canaries whose reconcile failed.
    pub backoff: Backoff,
    /// Versions of Canaries that serin's own status writes made obsolete.
    pub status_writes: StatusWrites,
    /// Bounds the announcements sent at once.
    pub announcers: tokio::sync::Semaphore,
    /// The bound on concurrent releases and the Canaries waiting for a slot.
    pub release_slots: super::slots::ReleaseSlots,
    /// When `flagger_canary_total` was last counted.
    pub canary_totals_at: Mutex<Option<Instant>>,
    /// What ticks that failed part-way left to the next tick of their Canary.
    pub unfinished: super::unfinished::Unfinished,
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
            hooks: HookCaller::with_egress(config.webhook_retry_delay, &config.egress)?,
            hook_runs: HookRuns::new(
                HookCaller::with_egress(config.webhook_retry_delay, &config.egress)?,
                config.webhook_wait,
            ),
            alerts: Sender::with_egress(&config.egress)?,
            providers: ProviderCache::with_factory(
                Arc::new(crate::metric_providers::providers(client.clone())),
                ProviderOptions {
                    timeout: config.query_timeout,
                    egress: config.egress.clone(),
                },
            ),
            client,
            config,
            metrics,
            caches: RwLock::new(Arc::default()),
            canaries: RwLock::new(None),
            release_started: Mutex::new(HashMap::new()),
            applied: AppliedServices::default(),
            backoff: Backoff::default(),
            status_writes: StatusWrites::default(),
            announcers: tokio::sync::Semaphore::new(ANNOUNCERS),
            canary_totals_at: Mutex::new(None),
            release_slots: super::slots::ReleaseSlots::default(),
            unfinished: super::unfinished::Unfinished::default(),
        })
    }
}

impl Context {
    /// The same context with metric providers built by `factory` (a fake in tests).
    #[must_use]
    pub fn with_providers(mut self, factory: Arc<dyn ProviderFactory>) -> Self {
        self.providers = ProviderCache::with_factory(factory, self.providers.options().clone());
        self
    }

    /// The watch caches of the running controller (none before it starts).
    pub fn caches(&self) -> Arc<Caches> {
        self.caches
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
