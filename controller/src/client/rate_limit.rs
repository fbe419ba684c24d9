//! A client-side token bucket: `qps` tokens a second, at most `burst` saved up. Every request
//! takes one token when it starts, so a long-running watch counts once and holds nothing.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Refills at `qps` a second up to `burst`; callers reserve a token and wait until it is theirs,
/// in the order they asked (a reservation may drive the balance below zero).
#[derive(Debug)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket. `qps` and `burst` must be positive (the command line checks them).
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            qps: qps.max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                updated: Instant::now(),
            }),
        }
    }

    /// Takes a token, waiting until one is available.
    pub async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token at `now` and returns how long the caller must wait before using it.
    fn reserve(&self, now: Instant) -> Duration {
        let mut bucket = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.qps).min(self.burst);
        bucket.updated = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(-bucket.tokens / self.qps).unwrap_or(Duration::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about(actual: Duration, expected_millis: u64) -> bool {
        actual.abs_diff(Duration::from_millis(expected_millis)) < Duration::from_micros(10)
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_at_once_and_the_rest_at_the_rate() {
        let bucket = TokenBucket::new(10.0, 5);
        let start = Instant::now();
        let waits: Vec<Duration> = (0..8).map(|_| bucket.reserve(start)).collect();
        assert_eq!(&waits[..5], &[Duration::ZERO; 5]);
        assert!(about(waits[5], 100), "{waits:?}");
        assert!(about(waits[6], 200), "{waits:?}");
        assert!(about(waits[7], 300), "{waits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_refill_at_qps_up_to_the_burst() {
        let bucket = TokenBucket::new(2.0, 3);
        for _ in 0..3 {
            bucket.acquire().await;
        }
        tokio::time::advance(Duration::from_secs(60)).await;
        let now = Instant::now();
        let waits: Vec<Duration> = (0..4).map(|_| bucket.reserve(now)).collect();
        assert_eq!(&waits[..3], &[Duration::ZERO; 3]);
        assert!(about(waits[3], 500), "{waits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_at_the_configured_rate() {
        let bucket = TokenBucket::new(100.0, 1);
        let start = Instant::now();
        for _ in 0..101 {
            bucket.acquire().await;
        }
        // The timer wheel rounds each sleep up to a millisecond; the bucket does not drift.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(999) && elapsed <= Duration::from_millis(1002),
            "{elapsed:?}"
        );
    }
}
