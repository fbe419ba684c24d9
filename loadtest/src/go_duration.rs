//! Go `time.Duration` strings (`1m30s`, `1.5h`, `250ms`), the form Flagger users already write,
//! read with the parser serin's API validation uses.

use std::time::Duration;

/// Why a duration string was rejected (the shared parser's error).
pub use serin_crds::validation::ParseDurationError as DurationError;

/// Parses a Go duration string such as `1m`, `90s`, `1h30m` or `0.5s`; a bare `0` is zero.
/// Surrounding spaces, which webhook metadata sometimes carries, are ignored.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    serin_crds::validation::parse_go_duration(text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_go_forms_flagger_users_write() {
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("10us"), Ok(Duration::from_micros(10)));
    }

    #[test]
    fn rejects_missing_units_negative_values_and_garbage() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert!(matches!(parse("10"), Err(DurationError::Invalid(_))));
        assert!(matches!(parse("-1s"), Err(DurationError::Negative(_))));
        assert!(matches!(parse("5 minutes"), Err(DurationError::Invalid(_))));
        assert!(matches!(parse("s"), Err(DurationError::Invalid(_))));
    }
}
