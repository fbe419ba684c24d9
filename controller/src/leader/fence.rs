//! The write fence: whether this process may send a mutating request right now. Open only while
//! this replica holds the Lease and its last successful renewal is younger than the renew
//! deadline on the monotonic clock, so a process that wakes from a freeze finds it closed
//! before its elector has had a chance to notice anything.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::LeaderElectionConfig;

/// Shared by the elector (which opens and closes it) and the API client (which asks it before
/// every write). Cheap to clone.
#[derive(Debug, Clone)]
pub struct WriteFence {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    lease_namespace: String,
    lease_name: String,
    renew_deadline: Duration,
    /// Start of the attempt whose write last renewed the Lease, while leading.
    renewed_at: Mutex<Option<Instant>>,
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fenced {
    /// This replica does not hold the Lease.
    #[error("write refused: this replica does not hold the leader Lease")]
    NotLeader,
    /// The last renewal is older than the renew deadline.
    #[error(
        "write refused: the leader Lease was last renewed {age:?} ago, longer than the renew deadline {deadline:?}"
    )]
    RenewalTooOld {
        /// Time since the renewal attempt started.
        age: Duration,
        /// The renew deadline.
        deadline: Duration,
    },
}

impl WriteFence {
    /// A closed fence for the Lease `config` names.
    pub fn new(config: &LeaderElectionConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                lease_namespace: config.namespace.clone(),
                lease_name: config.lease_name.clone(),
                renew_deadline: config.renew_deadline,
                renewed_at: Mutex::new(None),
            }),
        }
    }

    /// Whether a write to `coordination.k8s.io` `leases` `namespace/name` (no name for a
    /// create) is the elector's own and so never fenced.
    pub fn is_own_lease(&self, namespace: Option<&str>, name: Option<&str>) -> bool {
        namespace == Some(self.inner.lease_namespace.as_str())
            && name.is_none_or(|name| name == self.inner.lease_name)
    }

    /// `Ok` if a write may leave this process at `now`.
    pub fn check(&self, now: Instant) -> Result<(), Fenced> {
        let Some(renewed_at) = *self.lock() else {
            return Err(Fenced::NotLeader);
        };
        let age = now.saturating_duration_since(renewed_at);
        if age < self.inner.renew_deadline {
            Ok(())
        } else {
            Err(Fenced::RenewalTooOld {
                age,
                deadline: self.inner.renew_deadline,
            })
        }
    }

    /// Opens (or keeps open) the fence after a successful renewal that started at `started`.
    pub(crate) fn renewed(&self, started: Instant) {
        *self.lock() = Some(started);
    }

    /// Closes the fence: leadership is gone.
    pub(crate) fn close(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.inner
            .renewed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fence() -> WriteFence {
        let config = LeaderElectionConfig::new("serin-system").with_timings(
            Duration::from_secs(15),
            Duration::from_secs(10),
            Duration::from_secs(2),
        );
        WriteFence::new(&config)
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_fence_refuses_writes() {
        assert_eq!(fence().check(Instant::now()), Err(Fenced::NotLeader));
    }

    #[tokio::test(start_paused = true)]
    async fn writes_pass_until_the_renewal_is_as_old_as_the_renew_deadline() {
        let fence = fence();
        let renewed = Instant::now();
        fence.renewed(renewed);
        assert_eq!(fence.check(renewed), Ok(()));
        assert_eq!(fence.check(renewed + Duration::from_millis(9_999)), Ok(()));
        assert!(matches!(
            fence.check(renewed + Duration::from_secs(10)),
            Err(Fenced::RenewalTooOld { .. })
        ));
        // A process frozen for a minute wakes up with the fence closed, whatever its elector
        // still believes.
        assert!(matches!(
            fence.check(renewed + Duration::from_secs(60)),
            Err(Fenced::RenewalTooOld { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn closing_the_fence_refuses_writes_at_once() {
        let fence = fence();
        fence.renewed(Instant::now());
        fence.close();
        assert_eq!(fence.check(Instant::now()), Err(Fenced::NotLeader));
    }

    #[test]
    fn only_the_elector_lease_is_exempt() {
        let fence = fence();
        assert!(fence.is_own_lease(Some("serin-system"), Some("serin-leader")));
        assert!(fence.is_own_lease(Some("serin-system"), None));
        assert!(!fence.is_own_lease(Some("serin-system"), Some("other-lease")));
        assert!(!fence.is_own_lease(Some("default"), Some("serin-leader")));
    }
}
