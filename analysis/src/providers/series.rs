//! Turning a backend's series into one [`Reading`], the same way for every provider: no series
//! (or only null points) is no data, never 0; one series gives its newest non-null point;
//! several series are an error, never the first or the last of them.

use crate::provider::{QueryError, Reading};

/// One series of an answer: a label for messages and its points, oldest first, `None` where
/// the backend sent null.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Labels, tags or name of the series.
    pub label: String,
    /// Values, oldest first.
    pub points: Vec<Option<f64>>,
}

impl Series {
    /// A series named `label`.
    pub fn new(label: impl Into<String>, points: Vec<Option<f64>>) -> Self {
        Series {
            label: label.into(),
            points,
        }
    }

    /// The newest non-null point.
    pub fn newest(&self) -> Option<f64> {
        self.points.iter().rev().find_map(|p| *p)
    }
}

/// The reading of an answer made of `series`.
pub fn reading(series: &[Series]) -> Result<Reading, QueryError> {
    match series {
        [] => Ok(Reading::Empty),
        [one] => Ok(one.newest().map_or(Reading::Empty, Reading::of)),
        [first, ..] => Err(QueryError::MultipleSeries {
            count: series.len(),
            first: first.label.clone(),
        }),
    }
}

/// A JSON number, or a string holding one (Graphite, Cloud Monitoring's `int64Value`); `None`
/// for null. `what` names the field in the error.
pub fn json_number(value: &serde_json::Value, what: &str) -> Result<Option<f64>, QueryError> {
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| QueryError::Malformed(format!("{what} `{n}` is not a number"))),
        serde_json::Value::String(s) => parse_number(s)
            .map(Some)
            .ok_or_else(|| QueryError::Malformed(format!("{what} `{s}` is not a number"))),
        other => Err(QueryError::Malformed(format!(
            "{what} is {other}, not a number"
        ))),
    }
}

/// A number as text, with the spellings backends use for the special values.
pub fn parse_number(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "inf" | "Infinity" => Some(f64::INFINITY),
        "-Inf" | "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// The answer as JSON of type `T`, or a [`QueryError::Malformed`] quoting the start of it.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, QueryError> {
    serde_json::from_slice(body).map_err(|e| {
        QueryError::Malformed(format!("{e}: `{}`", crate::providers::http::excerpt(body)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_non_null_point_is_the_value_and_several_series_are_an_error() {
        let one = Series::new("a", vec![Some(1.0), Some(2.0), None]);
        assert_eq!(reading(std::slice::from_ref(&one)), Ok(Reading::Value(2.0)));
        assert_eq!(
            reading(&[Series::new("a", vec![None, None])]),
            Ok(Reading::Empty)
        );
        assert_eq!(reading(&[]), Ok(Reading::Empty));
        assert_eq!(
            reading(&[Series::new("a", vec![Some(f64::NAN)])]),
            Ok(Reading::NotANumber)
        );
        let err = reading(&[one.clone(), one]).unwrap_err();
        assert_eq!(err.category(), "multiple_series");
    }

    #[test]
    fn numbers_may_be_strings() {
        let v = serde_json::json!(["12", 3, null, "x"]);
        assert_eq!(json_number(&v[0], "v"), Ok(Some(12.0)));
        assert_eq!(json_number(&v[1], "v"), Ok(Some(3.0)));
        assert_eq!(json_number(&v[2], "v"), Ok(None));
        assert!(json_number(&v[3], "v").is_err());
    }
}
