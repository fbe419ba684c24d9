//! Running a comparison's count queries: the four counts of one window (canary and primary
//! requests and errors), read at one instant from one provider, rounded and checked before
//! they reach the judge.

use chrono::{DateTime, Utc};
use serin_judge::{Arm, ArmCounts, Window};

use crate::builtin::counts::{ArmQueries, CountQueries};
use crate::provider::{MetricsProvider, Query, QueryError, Reading};

/// Why a window could not be counted. Each is a provider error for the comparison: the
/// window is not spent, and the next successful count covers it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CountError {
    /// The provider did not answer a count query.
    #[error("the {arm} count query failed: {error}; query: {query}")]
    Query {
        /// The arm.
        arm: Arm,
        /// The query.
        query: String,
        /// What failed.
        error: QueryError,
    },
    /// The answer is not a count (negative, or not a number).
    #[error("the {arm} count query returned {value}, not a count; query: {query}")]
    NotACount {
        /// The arm.
        arm: Arm,
        /// The query.
        query: String,
        /// The value returned.
        value: f64,
    },
    /// The latency histogram has requests but no bucket at the bound.
    #[error(
        "the {arm}'s latency histogram has no bucket le=\"{bound}\": slowerThan must be one of its bucket bounds; query: {query}"
    )]
    NoBucket {
        /// The arm.
        arm: Arm,
        /// The bound, as the `le` label spells it.
        bound: String,
        /// The query.
        query: String,
    },
    /// More errors than requests, beyond rounding: the queries do not count the same requests.
    #[error(
        "{arm} errors ({errors}) exceed {arm} requests ({requests}): the error query does not count a subset of the requests"
    )]
    ErrorsExceedRequests {
        /// The arm.
        arm: Arm,
        /// The errors counted.
        errors: u64,
        /// The requests counted.
        requests: u64,
    },
}

impl CountError {
    /// A low-cardinality label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            CountError::Query { error, .. } => error.category(),
            CountError::NotACount { .. } => "not_a_count",
            CountError::NoBucket { .. } => "no_bucket",
            CountError::ErrorsExceedRequests { .. } => "errors_exceed_requests",
        }
    }
}

/// Counts one window ending at `at`: the queries already cover exactly the window.
pub async fn count_window(
    provider: &dyn MetricsProvider,
    queries: &CountQueries,
    at: DateTime<Utc>,
    window: std::time::Duration,
) -> Result<Window, CountError> {
    let canary = count_arm(provider, Arm::Canary, queries.arm(Arm::Canary), at, window).await?;
    let primary = count_arm(
        provider,
        Arm::Primary,
        queries.arm(Arm::Primary),
        at,
        window,
    )
    .await?;
    Window::new(canary, primary).map_err(|_| CountError::ErrorsExceedRequests {
        arm: Arm::Canary,
        errors: canary.errors,
        requests: canary.requests,
    })
}

async fn count_arm(
    provider: &dyn MetricsProvider,
    arm: Arm,
    queries: &ArmQueries,
    at: DateTime<Utc>,
    window: std::time::Duration,
) -> Result<ArmCounts, CountError> {
    let read = |text: &str| {
        let text = text.to_owned();
        async move {
            let query = Query {
                text: &text,
                window,
                at,
            };
            let reading = provider
                .query(&query)
                .await
                .map_err(|error| CountError::Query {
                    arm,
                    query: text.clone(),
                    error,
                })?;
            Ok::<_, CountError>((reading, text))
        }
    };
    match queries {
        ArmQueries::Status { requests, errors } => {
            let requests = as_count(arm, read(requests).await?)?.unwrap_or(0);
            // No 5xx series is no 5xx response.
            let errors = as_count(arm, read(errors).await?)?.unwrap_or(0);
            Ok(ArmCounts::new(requests, clamped(arm, errors, requests)?))
        }
        ArmQueries::Latency {
            requests,
            within,
            bound,
        } => {
            let requests = as_count(arm, read(requests).await?)?.unwrap_or(0);
            let (reading, query) = read(within).await?;
            let within = match as_count(arm, (reading, query.clone()))? {
                Some(within) => within,
                None if requests == 0 => 0,
                None => {
                    return Err(CountError::NoBucket {
                        arm,
                        bound: bound.clone(),
                        query,
                    });
                }
            };
            // `within` above `requests` is extrapolation noise, or a histogram that is not one.
            let within = clamped(arm, within, requests)?;
            Ok(ArmCounts::new(requests, requests - within))
        }
    }
}

/// A reading as a whole count; `None` when no series matched (nothing was counted).
fn as_count(arm: Arm, (reading, query): (Reading, String)) -> Result<Option<u64>, CountError> {
    match reading {
        Reading::Empty => Ok(None),
        Reading::Value(value) if value.is_finite() && value > -0.5 => {
            // `increase()` extrapolates, so counts are not whole; u64 saturates far above any
            // real window.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let count = value.round().max(0.0) as u64;
            Ok(Some(count))
        }
        Reading::Value(value) => Err(CountError::NotACount { arm, query, value }),
        Reading::NotANumber => Err(CountError::NotACount {
            arm,
            query,
            value: f64::NAN,
        }),
    }
}

/// `part` when it is at most `whole`; clamped to `whole` when above by at most 1 or 1%
/// (extrapolation noise); an error beyond.
fn clamped(arm: Arm, part: u64, whole: u64) -> Result<u64, CountError> {
    if part <= whole {
        return Ok(part);
    }
    if part - whole <= (whole / 100).max(1) {
        return Ok(whole);
    }
    Err(CountError::ErrorsExceedRequests {
        arm,
        errors: part,
        requests: whole,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_noise_is_clamped_and_more_is_refused() {
        assert_eq!(clamped(Arm::Canary, 101, 100), Ok(100));
        assert_eq!(clamped(Arm::Canary, 1, 0), Ok(0));
        assert_eq!(clamped(Arm::Canary, 1010, 1000), Ok(1000));
        let error = clamped(Arm::Primary, 1011, 1000).expect_err("beyond 1%");
        assert_eq!(error.category(), "errors_exceed_requests");
        assert_eq!(
            error.to_string(),
            "primary errors (1011) exceed primary requests (1000): the error query does not count a subset of the requests"
        );
    }

    #[test]
    fn extrapolated_counts_round_and_other_answers_are_not_counts() {
        let read = |r| as_count(Arm::Canary, (r, "q".to_owned()));
        assert_eq!(read(Reading::Value(79.6)), Ok(Some(80)));
        assert_eq!(read(Reading::Value(-0.2)), Ok(Some(0)));
        assert_eq!(read(Reading::Empty), Ok(None));
        assert!(matches!(
            read(Reading::Value(-3.0)),
            Err(CountError::NotACount { .. })
        ));
        assert!(matches!(
            read(Reading::Value(f64::INFINITY)),
            Err(CountError::NotACount { .. })
        ));
        assert!(matches!(
            read(Reading::NotANumber),
            Err(CountError::NotACount { .. })
        ));
    }
}
