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
    // Exact integer arithmetic in nanoseconds (as Go does): no precision is lost on long
    // durations.
    let overflow = || ParseDurationError::Overflow(text.to_owned());
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(invalid()),
        };
        let mut whole_value: u128 = 0;
        for digit in whole.bytes() {
            whole_value = whole_value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(digit - b'0')))
                .ok_or_else(overflow)?;
        }
        // Digits past the 20th cannot change the nanoseconds of any unit; they are dropped.
        let mut fraction_value: u128 = 0;
        let mut scale: u128 = 1;
        for digit in fraction.bytes().take(20) {
            fraction_value = fraction_value * 10 + u128::from(digit - b'0');
            scale *= 10;
        }
        let nanos = whole_value
            .checked_mul(nanos_per_unit)
            .and_then(|v| v.checked_add(fraction_value * nanos_per_unit / scale))
            .ok_or_else(overflow)?;
        total = total.checked_add(nanos).ok_or_else(overflow)?;
        rest = tail;
    }
    let seconds = u64::try_from(total / 1_000_000_000).map_err(|_| overflow())?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| overflow())?;
    Ok(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_durations_are_exact_as_nanoseconds_and_back() {
        // Found by the go_duration fuzz target: through f64, 555555h came back 238ns off.
        let d = parse_go_duration("555555h").unwrap();
        assert_eq!(d, Duration::from_secs(555_555 * 3600));
        assert_eq!(parse_go_duration(&format!("{}ns", d.as_nanos())), Ok(d));
        assert_eq!(parse_go_duration("1.000000001s"), Ok(Duration::new(1, 1)));
        assert_eq!(
            parse_go_duration("0.1234567891234567891234h"),
            Ok(Duration::from_nanos(444_444_440_844))
        );
        assert!(matches!(
            parse_go_duration("99999999999999999999999999999999999999999h"),
            Err(ParseDurationError::Overflow(_))
        ));
    }

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
