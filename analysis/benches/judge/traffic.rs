//! Simulated traffic: a fixed number of requests per window split at random between canary and
//! primary by the canary's weight, errors binomial per request (or in bursts), with one random
//! stream per (release, window index) so that every method sees the same counts whenever it
//! sends the same weight.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Binomial, Distribution};

/// Traffic of one scenario.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Traffic {
    /// Requests per window (1-minute windows: requests per second times 60).
    pub(crate) requests_per_window: u64,
    /// The primary's error rate.
    pub(crate) primary_rate: f64,
    /// The canary's error rate.
    pub(crate) canary_rate: f64,
    /// Errors arrive in bursts of this many (1: independent errors).
    pub(crate) burst: u64,
}

/// Counts of one window: `[canary requests, canary errors, primary requests, primary errors]`.
pub(crate) type Counts = [u64; 4];

impl Traffic {
    /// Independent errors at `requests_per_second`, primary error rate `rate`, canary `ratio`
    /// times that.
    pub(crate) fn new(requests_per_second: u64, rate: f64, ratio: f64) -> Self {
        Traffic {
            requests_per_window: requests_per_second * 60,
            primary_rate: rate,
            canary_rate: rate * ratio,
            burst: 1,
        }
    }

    /// The counts of window `index` of release `release` at canary weight `weight` (percent).
    pub(crate) fn window(&self, seed: u64, release: u64, index: u64, weight: u32) -> Counts {
        let mut rng = StdRng::seed_from_u64(mix(seed, release, index));
        let total = self.requests_per_window;
        let canary = binomial(&mut rng, total, f64::from(weight) / 100.0);
        let primary = total - canary;
        let canary_errors = self.errors(&mut rng, canary, self.canary_rate);
        let primary_errors = self.errors(&mut rng, primary, self.primary_rate);
        [canary, canary_errors, primary, primary_errors]
    }

    fn errors(&self, rng: &mut StdRng, requests: u64, rate: f64) -> u64 {
        let bursts = binomial(rng, requests, rate / as_f64(self.burst));
        (bursts * self.burst).min(requests)
    }
}

/// The default schedule stretched to `windows` windows: 10%, 20%, 30%, 40% and 50%, each held
/// for `windows / 5` windows.
pub(crate) fn schedule(windows: usize) -> Vec<u32> {
    let per_step = (windows / 5).max(1);
    (1..=5_u32)
        .flat_map(|step| std::iter::repeat_n(step * 10, per_step))
        .collect()
}

fn binomial(rng: &mut StdRng, n: u64, p: f64) -> u64 {
    Binomial::new(n, p.clamp(0.0, 1.0))
        .expect("a probability in [0, 1]")
        .sample(rng)
}

/// A seed for one (release, window) from the run's seed (`SplitMix64` steps).
fn mix(seed: u64, release: u64, index: u64) -> u64 {
    let mut x = seed;
    for v in [release, index] {
        x = x.wrapping_add(v).wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    x
}

#[allow(clippy::cast_precision_loss)]
pub(crate) fn as_f64(n: u64) -> f64 {
    n as f64
}
