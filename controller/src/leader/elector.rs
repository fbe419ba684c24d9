//! The election loop: every retry period, read the Lease, act on the decision, and publish
//! "am I the leader?" on a watch channel. It stays thin; the choices live in `decision`.

#[cfg(test)]
mod tests;

use std::future::Future;

use k8s_openapi::jiff::Timestamp;
use tokio::sync::watch;
use tokio::time::Instant;

use super::decision::{
    Decision, Observed, Role, StepDownReason, acquired_spec, created_spec, decide, released_spec,
    renewed_spec,
};
use super::store::{ApiLeaseStore, LeaseStore};
use super::{Error, LeaderElectionConfig, Operation, WriteFence, config::jitter};

/// Contends for a Lease until shut down; see the [module docs](super) for how to use it.
pub struct LeaderElector {
    config: LeaderElectionConfig,
    store: ApiLeaseStore,
    leading: watch::Sender<bool>,
    fence: WriteFence,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .field("leading", &*self.leading.borrow())
            .finish_non_exhaustive()
    }
}

impl LeaderElector {
    /// An elector for the Lease `config` names; refuses unsafe timings.
    pub fn new(client: kube::Client, config: LeaderElectionConfig) -> Result<Self, Error> {
        config.validate()?;
        let store = ApiLeaseStore::new(client, &config);
        Ok(Self {
            fence: WriteFence::new(&config),
            config,
            store,
            leading: watch::channel(false).0,
        })
    }

    /// Uses `fence`, made with [`WriteFence::new`] from the same settings, as this elector's
    /// write fence; the API client built before the elector holds a clone of it.
    #[must_use]
    pub fn with_write_fence(mut self, fence: WriteFence) -> Self {
        self.fence = fence;
        self
    }

    /// The settings in use, including the identity written as holder.
    pub fn config(&self) -> &LeaderElectionConfig {
        &self.config
    }

    /// A view of this elector's leadership; take it before calling [`LeaderElector::run`].
    pub fn leadership(&self) -> Leadership {
        Leadership {
            leading: self.leading.subscribe(),
        }
    }

    /// Contends for the Lease until `shutdown` resolves, then, if leading, reports `false` and
    /// releases the Lease so a standby takes over at once. API errors never end the loop.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        campaign(
            &self.config,
            &self.store,
            &self.leading,
            &self.fence,
            shutdown,
        )
        .await;
    }
}

/// Whether this process leads now; cheap to clone, one per task that needs it.
#[derive(Debug, Clone)]
pub struct Leadership {
    leading: watch::Receiver<bool>,
}

impl Leadership {
    /// True while this process holds the Lease and has renewed it within the renew deadline;
    /// false once the elector has stopped, even if it was aborted while leading.
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow() && self.elector_running()
    }

    /// Resolves once this process leads (at once if it already does); fails if the elector has
    /// stopped.
    pub async fn wait_for_leadership(&mut self) -> Result<(), Error> {
        loop {
            if !self.elector_running() {
                return Err(Error::Stopped);
            }
            if *self.leading.borrow_and_update() {
                return Ok(());
            }
            if self.leading.changed().await.is_err() {
                return Err(Error::Stopped);
            }
        }
    }

    /// A future that resolves once this process does not lead (at once if it does not),
    /// including when the elector has stopped. It owns its own receiver, so it can be handed
    /// to a spawned task or to `reconcile::run` as its stop signal.
    pub fn lost(&self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let mut leading = self.leading.clone();
        async move {
            let _ = leading.wait_for(|leading| !*leading).await;
        }
    }

    /// The underlying channel, for `select!` loops or stream adapters. Unlike
    /// [`Leadership::is_leader`], its value alone does not tell that the elector stopped:
    /// check for a closed channel too.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.leading.clone()
    }

    fn elector_running(&self) -> bool {
        self.leading.has_changed().is_ok()
    }
}

/// The loop behind [`LeaderElector::run`], over any [`LeaseStore`].
pub(crate) async fn campaign<S: LeaseStore>(
    config: &LeaderElectionConfig,
    store: &S,
    leading: &watch::Sender<bool>,
    fence: &WriteFence,
    shutdown: impl Future<Output = ()>,
) {
    let mut campaign = Campaign {
        config,
        store,
        leading,
        fence,
        observed: None,
        role: Role::Candidate,
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let mut next_attempt = Instant::now();
    loop {
        let deadline = campaign.role.deadline(config.renew_deadline);
        // An attempt in flight is not cut short by shutdown (its calls have timeouts), so the
        // release below starts from what the server last answered.
        tokio::select! {
            biased;
            () = shutdown.as_mut() => break,
            () = sleep_until(deadline) => {
                campaign.step_down(StepDownReason::RenewDeadlineExceeded);
            }
            () = tokio::time::sleep_until(next_attempt) => {
                let started = Instant::now();
                campaign.attempt_before_deadline(started).await;
                next_attempt = started + campaign.pause();
            }
        }
    }
    campaign.release().await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Wall-clock time for the informational timestamps of the Lease.
fn wall_now() -> Timestamp {
    Timestamp::from_microsecond(chrono::Utc::now().timestamp_micros())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

struct Campaign<'a, S> {
    config: &'a LeaderElectionConfig,
    store: &'a S,
    leading: &'a watch::Sender<bool>,
    fence: &'a WriteFence,
    observed: Option<Observed>,
    role: Role,
}

impl<S: LeaseStore> Campaign<'_, S> {
    /// Pause after an attempt: the retry period, with jitter for candidates so that standbys
    /// started together do not race in step.
    fn pause(&self) -> std::time::Duration {
        match self.role {
            Role::Leader { .. } => self.config.retry_period,
            Role::Candidate => self.config.retry_period + jitter(self.config.retry_period / 5),
        }
    }

    /// One attempt; a leader's attempt is abandoned, and leadership with it, at the deadline.
    async fn attempt_before_deadline(&mut self, started: Instant) {
        let result = match self.role.deadline(self.config.renew_deadline) {
            Some(deadline) => {
                let outcome = tokio::time::timeout_at(deadline, self.attempt(started)).await;
                match outcome {
                    Ok(result) => result,
                    Err(_) => {
                        self.step_down(StepDownReason::RenewDeadlineExceeded);
                        return;
                    }
                }
            }
            None => self.attempt(started).await,
        };
        match result {
            Ok(()) => {}
            Err(e @ Error::Conflict { .. }) if !self.is_leader() => {
                tracing::debug!(
                    error = %e,
                    identity = %self.config.identity,
                    "lost a race for the Lease"
                );
            }
            Err(e) => tracing::warn!(
                error = %e,
                category = e.category(),
                identity = %self.config.identity,
                leading = self.is_leader(),
                "leader election attempt failed"
            ),
        }
    }

    /// Reads the Lease, decides, and writes if the decision says so.
    async fn attempt(&mut self, started: Instant) -> Result<(), Error> {
        let read = self.store.get().await?;
        let now = Instant::now();
        self.observed = read.map(|lease| Observed::update(self.observed.take(), lease, now));
        let written = match decide(self.config, self.observed.as_ref(), self.role, now) {
            Decision::Wait { holder, expires_at } => {
                let expires_in = expires_at.saturating_duration_since(now);
                tracing::trace!(%holder, ?expires_in, "the Lease is held by another");
                return Ok(());
            }
            Decision::StepDown(reason) => {
                self.step_down(reason);
                return Ok(());
            }
            Decision::Create => {
                let spec = created_spec(self.config, wall_now());
                self.store.create(spec).await
            }
            claim @ (Decision::Acquire | Decision::Renew) => {
                // Acquire and renew follow a read that found the Lease.
                let Some(current) = self.observed.as_ref().map(|observed| &observed.lease) else {
                    return Ok(());
                };
                let current_spec = current.spec.as_ref();
                let spec = if claim == Decision::Acquire {
                    acquired_spec(self.config, current_spec, wall_now())
                } else {
                    renewed_spec(self.config, current_spec, wall_now())
                };
                self.store.replace(Operation::Update, current, spec).await
            }
        };
        match written {
            Ok(lease) => {
                self.observed = Some(Observed::update(
                    self.observed.take(),
                    lease,
                    Instant::now(),
                ));
                self.lead(started);
                Ok(())
            }
            Err(e) => {
                if matches!(e, Error::Conflict { .. }) {
                    self.step_down(StepDownReason::Conflict);
                }
                Err(e)
            }
        }
    }

    fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    fn lead(&mut self, renewed_at: Instant) {
        self.role = Role::Leader { renewed_at };
        self.fence.renewed(renewed_at);
        if self.publish(true) {
            tracing::info!(
                identity = %self.config.identity,
                lease = %self.config.lease_name,
                "became leader"
            );
        }
    }

    fn step_down(&mut self, reason: StepDownReason) {
        if !self.is_leader() {
            return;
        }
        self.role = Role::Candidate;
        self.fence.close();
        self.publish(false);
        tracing::warn!(
            identity = %self.config.identity,
            reason = reason.as_str(),
            "stopped leading"
        );
    }

    /// Publishes the leadership flag; true if it changed.
    fn publish(&self, leading: bool) -> bool {
        self.leading.send_if_modified(|current| {
            let changed = *current != leading;
            *current = leading;
            changed
        })
    }

    /// On shutdown: stop leading, then give the Lease up so a standby need not wait it out.
    async fn release(&mut self) {
        if !self.is_leader() {
            return;
        }
        self.role = Role::Candidate;
        self.fence.close();
        self.publish(false);
        let Some(observed) = &self.observed else {
            return;
        };
        let spec = released_spec(observed.lease.spec.as_ref(), wall_now());
        match self
            .store
            .replace(Operation::Release, &observed.lease, spec)
            .await
        {
            Ok(_) => tracing::info!(identity = %self.config.identity, "released the Lease"),
            Err(e) => tracing::warn!(
                error = %e,
                category = e.category(),
                "could not release the Lease; a standby takes over when it expires"
            ),
        }
    }
}
