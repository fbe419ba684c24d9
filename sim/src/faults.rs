//! Fault injection: error responses, added latency and dropped watch connections.

use std::sync::RwLock;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;

/// What to inject; fractions are per request, in `0.0..=1.0`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Fraction of API requests answered 500.
    pub error_500: f64,
    /// Fraction of API requests answered 429 (with `Retry-After: 1`).
    pub error_429: f64,
    /// Fraction of write requests answered 409 Conflict.
    pub conflict_409: f64,
    /// Latency added to every API request.
    pub latency: Duration,
    /// Probability that a watch connection is closed after each delivered event.
    pub watch_drop: f64,
    /// Writes that always fail: to these resources (and subresources), with these codes.
    pub failing_writes: Vec<FailingWrite>,
    /// When set, the 500/429/409 fractions apply only to requests whose `User-Agent` starts
    /// with this (a controller's, say), so that a test's own client and the simulated cluster
    /// are spared.
    pub user_agent_prefix: Option<String>,
}

/// Writes to one resource (or one of its subresources) answered with an error, every time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingWrite {
    /// The resource's plural, such as `canaries`.
    pub resource: String,
    /// The subresource, such as `status`; `None` for the object itself.
    pub subresource: Option<String>,
    /// The HTTP status answered.
    pub code: u16,
}

/// Live fault settings shared by the server's handlers.
#[derive(Debug)]
pub struct Faults {
    config: RwLock<FaultConfig>,
    drop_all: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(FaultConfig::default())
    }
}

impl Faults {
    /// Faults with an initial configuration.
    pub fn new(config: FaultConfig) -> Self {
        Self {
            config: RwLock::new(config),
            drop_all: watch::channel(0).0,
        }
    }

    /// The current configuration.
    pub fn config(&self) -> FaultConfig {
        self.config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the configuration.
    pub fn set(&self, config: FaultConfig) {
        *self
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
    }

    /// The error code to inject for one request sent by `user_agent`, if any.
    pub fn pick_error(&self, is_write: bool, user_agent: &str) -> Option<u16> {
        let config = self.config();
        if config
            .user_agent_prefix
            .as_deref()
            .is_some_and(|prefix| !user_agent.starts_with(prefix))
        {
            return None;
        }
        let mut rng = rand::rng();
        if config.error_500 > 0.0 && rng.random_bool(config.error_500.clamp(0.0, 1.0)) {
            return Some(500);
        }
        if config.error_429 > 0.0 && rng.random_bool(config.error_429.clamp(0.0, 1.0)) {
            return Some(429);
        }
        if is_write
            && config.conflict_409 > 0.0
            && rng.random_bool(config.conflict_409.clamp(0.0, 1.0))
        {
            return Some(409);
        }
        None
    }

    /// The error code to answer a write to `resource` (and `subresource`) with, if it must
    /// fail.
    pub fn failing_write(&self, resource: &str, subresource: Option<&str>) -> Option<u16> {
        self.config()
            .failing_writes
            .iter()
            .find(|f| f.resource == resource && f.subresource.as_deref() == subresource)
            .map(|f| f.code)
    }

    /// Latency to add to one request.
    pub fn latency(&self) -> Duration {
        self.config().latency
    }

    /// Whether a watch should be closed now.
    pub fn should_drop_watch(&self) -> bool {
        let p = self.config().watch_drop;
        p > 0.0 && rand::rng().random_bool(p.clamp(0.0, 1.0))
    }

    /// Closes every open watch connection.
    pub fn drop_all_watches(&self) {
        self.drop_all.send_modify(|epoch| *epoch += 1);
    }

    /// A receiver that changes when all watches must be dropped.
    pub fn drop_signal(&self) -> watch::Receiver<u64> {
        self.drop_all.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certain_faults_always_fire_and_conflicts_only_on_writes() {
        let faults = Faults::new(FaultConfig {
            conflict_409: 1.0,
            ..FaultConfig::default()
        });
        assert_eq!(faults.pick_error(false, ""), None);
        assert_eq!(faults.pick_error(true, ""), Some(409));
        faults.set(FaultConfig {
            error_500: 1.0,
            ..FaultConfig::default()
        });
        assert_eq!(faults.pick_error(false, ""), Some(500));
    }

    #[test]
    fn a_user_agent_prefix_spares_other_clients() {
        let faults = Faults::new(FaultConfig {
            error_500: 1.0,
            user_agent_prefix: Some("serin/".into()),
            ..FaultConfig::default()
        });
        assert_eq!(faults.pick_error(false, "serin/0.1.0 (demo)"), Some(500));
        assert_eq!(faults.pick_error(false, "kube-rs/1.0"), None);
        assert_eq!(faults.pick_error(true, ""), None);
    }
}
