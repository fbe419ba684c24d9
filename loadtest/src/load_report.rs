//! The result of a load run: counts by status code and an HDR latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Latency is recorded in microseconds, from 1µs to one hour, with 3 significant digits.
pub(crate) fn new_latency_histogram() -> Histogram<u64> {
    // The bounds are constants that `new_with_bounds` accepts.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|_| {
        Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"))
    })
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Requests sent, answered or not.
    pub sent: u64,
    /// Outcomes: HTTP status codes, `timeout` and `error`.
    pub by_code: BTreeMap<String, u64>,
    /// Scheduled requests not sent because the run ended first.
    pub missed: u64,
    /// Wall time from the first scheduled request to the last answer.
    pub elapsed: Duration,
    /// The requested total rate, for open-model runs.
    pub requested_rps: Option<f64>,
    /// Latency in microseconds, measured from the intended send time.
    pub latency: Histogram<u64>,
}

impl LoadReport {
    /// Requests per second actually sent.
    pub fn achieved_rps(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            #[allow(clippy::cast_precision_loss)]
            let sent = self.sent as f64;
            sent / seconds
        } else {
            0.0
        }
    }

    /// Answers with this status code.
    pub fn count(&self, code: &str) -> u64 {
        self.by_code.get(code).copied().unwrap_or(0)
    }

    /// The latency at quantile `q` (0..=1).
    pub fn latency_quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(q))
    }

    /// A human-readable summary, laid out like hey's so that scripts reading it keep working.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let secs = |d: Duration| d.as_secs_f64();
        let _ = writeln!(out, "\nSummary:");
        let _ = writeln!(out, "  Total:\t{:.4} secs", secs(self.elapsed));
        let _ = writeln!(
            out,
            "  Slowest:\t{:.4} secs",
            secs(self.latency_quantile(1.0))
        );
        let _ = writeln!(
            out,
            "  Fastest:\t{:.4} secs",
            secs(self.latency_quantile(0.0))
        );
        let _ = writeln!(out, "  Average:\t{:.4} secs", self.latency.mean() / 1e6);
        let _ = writeln!(out, "  Requests/sec:\t{:.4}", self.achieved_rps());
        if let Some(rate) = self.requested_rps {
            let _ = writeln!(out, "  Requested/sec:\t{rate:.4}");
        }
        let _ = writeln!(out, "  Missed:\t{}", self.missed);
        let _ = writeln!(out, "\nLatency distribution (from the intended send time):");
        for q in [0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999] {
            let _ = writeln!(
                out,
                "  {}% in {:.4} secs",
                q * 100.0,
                secs(self.latency_quantile(q))
            );
        }
        let _ = writeln!(out, "\nStatus code distribution:");
        for (code, count) in &self.by_code {
            if code.bytes().all(|b| b.is_ascii_digit()) {
                let _ = writeln!(out, "  [{code}]\t{count} responses");
            }
        }
        let failures: Vec<_> = self
            .by_code
            .iter()
            .filter(|(code, _)| !code.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(out, "\nError distribution:");
            for (kind, count) in failures {
                let _ = writeln!(out, "  [{count}]\t{kind}");
            }
        }
        out
    }
}
