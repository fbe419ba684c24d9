//! Go duration strings (`300ms`, `30s`, `1m`, `1h30m`, `1.5h`), as Flagger's manifests use them.

use std::time::Duration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDurationError {
    /// The string is empty.
    #[error("is empty; expected a duration such as 30s, 1m or 1h30m")]
    Empty,
    /// The string is not a sequence of numbers with units.
    #[error(
        "{0:?} is not a duration; expected a number and a unit (ns, us, ms, s, m, h), such as 30s, 1m or 1h30m"
    )]
    Invalid(String),
    /// A negative duration.
    #[error("{0:?} is negative")]
    Negative(String),
    /// Too long to represent.
    #[error("{0:?} is too long")]
    Overflow(String),
}

/// Parses a Go duration: a sequence of decimal numbers, each with an optional fraction and a
/// unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`). `0` alone is allowed, as in Go.
pub fn parse_go_duration(text: &str) -> Result<Duration, ParseDurationError> {
    let invalid = || ParseDurationError::Invalid(text.to_owned());
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return Err(ParseDurationError::Empty);
    }
    if rest.starts_with('-') {
        return Err(ParseDurationError::Negative(text.to_owned()));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds_per_unit = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        total += value * seconds_per_unit;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).map_err(|_| ParseDurationError::Overflow(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_flagger_manifests_use() {
        assert_eq!(parse_go_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "1",
            "m",
            "1d",
            "1 m",
            "1..5s",
            "s1",
            "1m-",
            "1.s.",
            "one minute",
        ] {
            assert!(
                matches!(parse_go_duration(bad), Err(ParseDurationError::Invalid(_))),
                "{bad}"
            );
        }
        assert_eq!(parse_go_duration(""), Err(ParseDurationError::Empty));
        assert!(matches!(
            parse_go_duration("-1m"),
            Err(ParseDurationError::Negative(_))
        ));
    }
}
