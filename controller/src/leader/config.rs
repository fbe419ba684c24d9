//! Leader election settings, their safety checks, and the candidate's default identity.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use super::Error;

/// Name of the Lease when none is configured.
pub const DEFAULT_LEASE_NAME: &str = "serin-leader";

/// Which Lease to contend for, as whom, and how fast.
///
/// The timings must satisfy `retry_period < renew_deadline < lease_duration`: a leader that has
/// not renewed for `renew_deadline` stops leading, and a standby takes over only after seeing
/// the Lease unchanged for `lease_duration`, so the old leader has stopped before the new one
/// starts. Clock *rates* must roughly agree between candidates; clock *offsets* do not matter,
/// since nobody compares its clock with a timestamp written by another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionConfig {
    /// Name of the `coordination.k8s.io/v1` Lease.
    pub lease_name: String,
    /// Namespace of the Lease.
    pub namespace: String,
    /// This candidate's name in `spec.holderIdentity`; unique per running process.
    pub identity: String,
    /// How long a Lease stays valid without renewal; whole seconds, as the Lease stores it.
    pub lease_duration: Duration,
    /// How long the leader may go without a successful renewal before it stops leading.
    pub renew_deadline: Duration,
    /// Pause between attempts to acquire or renew.
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Settings for a Lease in `namespace` with the defaults: Lease `serin-leader`, identity
    /// from [`default_identity`], lease 15 s, renew deadline 10 s, retry every 2 s.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            lease_name: DEFAULT_LEASE_NAME.to_owned(),
            namespace: namespace.into(),
            identity: default_identity(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// The same settings under another identity.
    #[must_use]
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// The same settings with other timings.
    #[must_use]
    pub fn with_timings(
        mut self,
        lease_duration: Duration,
        renew_deadline: Duration,
        retry_period: Duration,
    ) -> Self {
        self.lease_duration = lease_duration;
        self.renew_deadline = renew_deadline;
        self.retry_period = retry_period;
        self
    }

    /// Time allowed for one API call: half the renew deadline, so that the read and the write
    /// of one attempt both fit inside it.
    pub fn api_timeout(&self) -> Duration {
        self.renew_deadline / 2
    }

    /// `lease_duration` as the Lease's `leaseDurationSeconds`.
    pub(crate) fn lease_duration_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }

    /// Checks that the settings give a safe election.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Err(Error::InvalidConfig(reason));
        for (field, value) in [
            ("lease name", &self.lease_name),
            ("namespace", &self.namespace),
            ("identity", &self.identity),
        ] {
            if value.is_empty() {
                return invalid(format!("the {field} is empty"));
            }
        }
        if self.retry_period.is_zero() {
            return invalid("the retry period is zero".to_owned());
        }
        if self.renew_deadline <= self.retry_period {
            return invalid(format!(
                "the renew deadline ({:?}) must be longer than the retry period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        if self.lease_duration <= self.renew_deadline {
            return invalid(format!(
                "the lease duration ({:?}) must be longer than the renew deadline ({:?})",
                self.lease_duration, self.renew_deadline
            ));
        }
        if self.lease_duration.subsec_nanos() != 0
            || i32::try_from(self.lease_duration.as_secs()).is_err()
        {
            return invalid(format!(
                "the lease duration ({:?}) must be a whole number of seconds",
                self.lease_duration
            ));
        }
        Ok(())
    }
}

/// `$POD_NAME` when set (unique while the pod lives), otherwise the host name with a random
/// suffix so that two processes on one host differ.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    format!("{}-{:08x}", host_name(), random_u64() & 0xffff_ffff)
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "serin".to_owned())
}

/// A random number from the standard library's randomly keyed hasher; enough for a name suffix
/// and for jitter, without another dependency.
pub(crate) fn random_u64() -> u64 {
    RandomState::new().hash_one(std::process::id())
}

/// A random pause in `0..max`.
pub(crate) fn jitter(max: Duration) -> Duration {
    let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if max_nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(random_u64() % max_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LeaderElectionConfig {
        LeaderElectionConfig::new("serin-system").with_identity("pod-a")
    }

    #[test]
    fn the_defaults_are_the_documented_ones_and_valid() {
        let config = LeaderElectionConfig::new("serin-system");
        assert_eq!(config.lease_name, "serin-leader");
        assert_eq!(config.lease_duration, Duration::from_secs(15));
        assert_eq!(config.renew_deadline, Duration::from_secs(10));
        assert_eq!(config.retry_period, Duration::from_secs(2));
        assert!(!config.identity.is_empty());
        config.validate().expect("defaults are valid");
    }

    #[test]
    fn unsafe_timings_are_refused() {
        let secs = Duration::from_secs;
        let millis = Duration::from_millis;
        for (lease, renew, retry) in [
            (secs(10), secs(10), secs(2)),
            (secs(15), secs(2), secs(2)),
            (secs(15), secs(10), Duration::ZERO),
            (millis(2500), secs(1), millis(200)),
        ] {
            let config = config().with_timings(lease, renew, retry);
            assert!(
                matches!(config.validate(), Err(Error::InvalidConfig(_))),
                "{lease:?}/{renew:?}/{retry:?} should be refused"
            );
        }
    }

    #[test]
    fn an_empty_identity_is_refused() {
        assert!(config().with_identity("").validate().is_err());
    }

    #[test]
    fn two_default_identities_on_one_host_differ() {
        if std::env::var_os("POD_NAME").is_none() {
            assert_ne!(default_identity(), default_identity());
        }
    }

    #[test]
    fn jitter_stays_below_its_bound() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(40)) < Duration::from_millis(40));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
