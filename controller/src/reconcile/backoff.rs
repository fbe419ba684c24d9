//! Retry delays for reconciles that failed on a transient error (the API or a provider did not
//! answer): per Canary, doubling from one second to five minutes with a little jitter so that
//! Canaries failing together do not retry together, and forgotten after a reconcile succeeds. A
//! conflict (409: another writer was first) is retried after a second, without growing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

/// The first retry delay.
const FIRST: Duration = Duration::from_secs(1);
/// The longest retry delay.
const LONGEST: Duration = Duration::from_secs(300);

/// Failed attempts in a row, per Canary (`namespace/name`).
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// The delay before retrying `key` after one more failure.
    pub(super) fn next(&self, key: &str) -> Duration {
        let failures = {
            let mut map = self.lock();
            let n = map.entry(key.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let exponent = failures.saturating_sub(1).min(20);
        let delay = FIRST.saturating_mul(1 << exponent).min(LONGEST);
        // Up to a tenth more, at random.
        let jitter = rand::rng().random_range(0.0..0.1);
        delay.mul_f64(1.0 + jitter).min(LONGEST)
    }

    /// The delay before retrying after a conflict.
    pub(super) const CONFLICT: Duration = FIRST;

    /// Forgets the failures of `key`.
    pub(super) fn reset(&self, key: &str) {
        let mut map = self.lock();
        if !map.is_empty() {
            map.remove(key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_per_canary_up_to_five_minutes_and_reset_on_success() {
        let backoff = Backoff::default();
        let first = backoff.next("test/a");
        assert!((FIRST..FIRST.mul_f64(1.1)).contains(&first), "{first:?}");
        let second = backoff.next("test/a");
        assert!(second >= Duration::from_secs(2), "{second:?}");
        // Another Canary starts from the beginning.
        assert!(backoff.next("test/b") < Duration::from_secs(2));
        for _ in 0..30 {
            backoff.next("test/a");
        }
        assert_eq!(backoff.next("test/a"), LONGEST);
        backoff.reset("test/a");
        assert!(backoff.next("test/a") < Duration::from_secs(2));
    }
}
