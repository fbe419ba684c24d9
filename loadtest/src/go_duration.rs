//! Parses Go `time.Duration` strings (`1m30s`, `1.5h`, `250ms`), the form Flagger users already write.

use std::time::Duration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string was empty.
    #[error("empty duration")]
    Empty,
    /// The string is not a sequence of `<number><unit>` pairs.
    #[error(
        "invalid duration {0:?}: expected numbers with units ns, us, ms, s, m or h, e.g. 1m30s"
    )]
    Invalid(String),
    /// Negative durations make no sense for timeouts and load runs.
    #[error("negative duration {0:?} is not allowed")]
    Negative(String),
}

/// Parses a Go duration string such as `1m`, `90s`, `1h30m` or `0.5s`; a bare `0` is zero.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    if trimmed.starts_with('-') {
        return Err(DurationError::Negative(trimmed.to_owned()));
    }
    let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if unsigned == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || DurationError::Invalid(trimmed.to_owned());
    let mut rest = unsigned;
    let mut seconds = 0.0_f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_end == 0 {
            return Err(invalid());
        }
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        seconds += number * scale;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
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
