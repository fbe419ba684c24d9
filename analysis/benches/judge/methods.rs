//! The three ways of judging a canary, each run on one simulated release: the sequential judge,
//! Flagger's threshold check, and a fixed-horizon test repeated at every window (peeking).

use serin_analysis::judge::{Alpha, Evidence, Hypothesis, Verdict, Window};

use crate::traffic::{Counts, Traffic, as_f64};

/// How one release ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Promoted.
    Promoted,
    /// Rolled back `minutes` after the canary first got traffic, at canary weight `weight`.
    RolledBack { minutes: u64, weight: u32 },
}

/// One release's traffic: its seed, its number and its scenario.
pub(crate) struct Release<'a> {
    pub(crate) seed: u64,
    pub(crate) number: u64,
    pub(crate) traffic: &'a Traffic,
    pub(crate) schedule: &'a [u32],
}

impl Release<'_> {
    fn window(&self, index: usize, weight: u32) -> Counts {
        self.traffic
            .window(self.seed, self.number, index as u64, weight)
    }
}

/// The judge: one window per step of the schedule; roll back at once when the evidence
/// reaches `ln(1/alpha)`, promote after the last step.
pub(crate) fn judge(release: &Release<'_>, hypothesis: Hypothesis, alpha: Alpha) -> Ending {
    let mut evidence = Evidence::new(hypothesis);
    for (index, &weight) in release.schedule.iter().enumerate() {
        let counts = release.window(index, weight);
        evidence.observe(&Window::from_counts(counts).expect("simulated counts are valid"));
        if evidence.verdict(alpha) == Verdict::Rollback {
            return rolled_back(index + 1, weight);
        }
    }
    Ending::Promoted
}

/// Flagger: each tick checks the canary's success rate over the last window against
/// `min_success_rate`; a pass moves to the next step (promotion after the last), a failure
/// keeps the weight and counts a failed check, and the tick after the `threshold`-th failure
/// rolls back.
pub(crate) fn flagger(release: &Release<'_>, min_success_rate: f64, threshold: u32) -> Ending {
    let (mut step, mut failed, mut index) = (0, 0, 0);
    loop {
        let Some(&weight) = release.schedule.get(step) else {
            return Ending::Promoted;
        };
        let [canary, canary_errors, ..] = release.window(index, weight);
        // No canary requests: Flagger's query returns no value, a failed check.
        let passed = canary > 0
            && 100.0 * (1.0 - as_f64(canary_errors) / as_f64(canary)) >= min_success_rate;
        if passed {
            step += 1;
        } else {
            failed += 1;
            if failed >= threshold {
                return rolled_back(index + 2, weight);
            }
        }
        index += 1;
    }
}

/// A one-sided two-proportion z-test on the counts so far, at the level of `critical_z`. With
/// `every_window`, peeking: run after every window as if it were the last, rolling back at the
/// first rejection; without, the fixed-horizon test as designed, once after the last window.
pub(crate) fn z_test(release: &Release<'_>, critical_z: f64, every_window: bool) -> Ending {
    let [mut nc, mut ec, mut np, mut ep] = [0_u64; 4];
    for (index, &weight) in release.schedule.iter().enumerate() {
        let [c, ce, p, pe] = release.window(index, weight);
        (nc, ec, np, ep) = (nc + c, ec + ce, np + p, ep + pe);
        if nc == 0 || np == 0 || !(every_window || index + 1 == release.schedule.len()) {
            continue;
        }
        let (canary, primary) = (as_f64(nc), as_f64(np));
        let pooled = as_f64(ec + ep) / (canary + primary);
        let spread = (pooled * (1.0 - pooled) * (1.0 / canary + 1.0 / primary)).sqrt();
        if spread > 0.0 && (as_f64(ec) / canary - as_f64(ep) / primary) / spread >= critical_z {
            return rolled_back(index + 1, weight);
        }
    }
    Ending::Promoted
}

fn rolled_back(minutes: usize, weight: u32) -> Ending {
    Ending::RolledBack {
        minutes: minutes as u64,
        weight,
    }
}
