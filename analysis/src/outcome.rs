//! The result of one metric check: outcome, value, range and a message a person can act on.

use chrono::{DateTime, Utc};
use serin_crds::canary::{MetricNoData, MetricOutcome, MetricResult};

use crate::builtin::{QueryFamily, no_data_hint};
use crate::threshold::{Judgement, Thresholds, number};

/// The result of running one metric check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    /// Name of the check.
    pub name: String,
    /// The query as sent, when the check got that far.
    pub query: Option<String>,
    /// The value, in the metric's unit, when there was one.
    pub value: Option<f64>,
    /// The accepted range.
    pub thresholds: Thresholds,
    /// `Pass`, `Fail`, `NoData` or `Error`.
    pub outcome: MetricOutcome,
    /// What happened and, for `NoData` and `Error`, what to look at.
    pub message: String,
    /// For `Error` outcomes, a low-cardinality error category (for metrics and event reasons).
    pub error_category: Option<&'static str>,
    /// For `Error` outcomes, what kind of problem it is, for the controller to act on.
    pub error_kind: Option<ErrorKind>,
    /// What no data means for this check (the controller holds or counts a failure).
    pub on_no_data: MetricNoData,
}

/// What kind of problem an `Error` result is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Only a change of configuration fixes it: the provider or its query cannot be used as
    /// written (a missing Secret or key, an invalid address or region, a query not in the
    /// provider's form, a provider that needs a Kubernetes API where none is configured), or
    /// the metric cannot be planned (a missing MetricTemplate, a template that does not
    /// render). Checking again without a change gives the same error.
    Configuration,
    /// The provider did not answer (no connection, no answer in time, a 5xx), and its online
    /// check failed too: the backend itself is down or out of reach.
    Unavailable,
    /// The provider answered, but not with one usable number for this query (a rejected
    /// query, refused credentials, several series, an unreadable answer), or did not answer
    /// this query while its online check passed.
    Query,
}

impl ErrorKind {
    /// A low-cardinality label.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Configuration => "configuration",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Query => "query",
        }
    }
}

/// Why a query produced no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoDataKind {
    /// No series matched.
    Empty,
    /// The series exist but the value is NaN (0/0: nothing counted in the window).
    NotANumber,
}

impl CheckResult {
    /// A check whose value, read from `provider` (its kind), was judged against its range.
    pub fn judged(
        name: &str,
        provider: &str,
        query: &str,
        value: f64,
        unit: &str,
        thresholds: Thresholds,
        on_no_data: MetricNoData,
    ) -> Self {
        let shown = format!("{}{}", number(value), unit_suffix(unit));
        let (outcome, message) = match thresholds.judge(value) {
            Judgement::Within => (
                MetricOutcome::Pass,
                format!("{name} is {shown}, within the accepted range {thresholds}"),
            ),
            Judgement::Below(min) => (
                MetricOutcome::Fail,
                format!(
                    "{name} is {shown}, below the minimum {}{}; {provider} query: {query}",
                    number(min),
                    unit_suffix(unit)
                ),
            ),
            Judgement::Above(max) => (
                MetricOutcome::Fail,
                format!(
                    "{name} is {shown}, above the maximum {}{}; {provider} query: {query}",
                    number(max),
                    unit_suffix(unit)
                ),
            ),
        };
        CheckResult {
            name: name.to_owned(),
            query: Some(query.to_owned()),
            value: Some(value),
            thresholds,
            outcome,
            message,
            error_category: None,
            error_kind: None,
            on_no_data,
        }
    }

    /// A check whose query to `provider` (its kind) returned no value. `family` is the router
    /// family of a built-in metric, for a hint at the labels its query selects on.
    pub fn no_data(
        name: &str,
        provider: &str,
        query: &str,
        kind: NoDataKind,
        family: Option<QueryFamily>,
        thresholds: Thresholds,
        on_no_data: MetricNoData,
    ) -> Self {
        let what = match kind {
            NoDataKind::Empty => format!(
                "no values found for {name}: the {provider} query matched no series. Likely \
                 causes: no traffic has reached the canary yet (generate some, e.g. with a \
                 load-test webhook); the labels in the query do not match the metrics of this \
                 router or mesh; or the metric is not scraped by or sent to this {provider} \
                 backend"
            ),
            NoDataKind::NotANumber => format!(
                "{name} is NaN in {provider}: the series exist but nothing was counted in the \
                 query's window (0/0), so no traffic reached the canary during it"
            ),
        };
        let hint = family
            .map(|f| format!(". This router's query reads {}", no_data_hint(f)))
            .unwrap_or_default();
        let consequence = match on_no_data {
            MetricNoData::Fail => "",
            MetricNoData::Hold => " (onNoData: Hold, so the canary keeps its weight)",
        };
        CheckResult {
            name: name.to_owned(),
            query: Some(query.to_owned()),
            value: None,
            thresholds,
            outcome: MetricOutcome::NoData,
            message: format!("{what}{hint}{consequence}; query: {query}"),
            error_category: None,
            error_kind: None,
            on_no_data,
        }
    }

    /// A check that could not be run or whose answer could not be used. `error` is the whole
    /// explanation (with the provider's kind, where one was built).
    pub fn error(
        name: &str,
        query: Option<&str>,
        error: &dyn std::fmt::Display,
        category: &'static str,
        kind: ErrorKind,
        thresholds: Thresholds,
        on_no_data: MetricNoData,
    ) -> Self {
        // The error may quote the provider's address; its credentials stay out of the status.
        let error = crate::redact::userinfo_in_text(&error.to_string());
        let message = match query {
            Some(query) => format!("{error}; query: {query}"),
            None => error,
        };
        CheckResult {
            name: name.to_owned(),
            query: query.map(str::to_owned),
            value: None,
            thresholds,
            outcome: MetricOutcome::Error,
            message,
            error_category: Some(category),
            error_kind: Some(kind),
            on_no_data,
        }
    }

    /// The entry for the Canary's `status.metrics`.
    pub fn to_status(&self, time: DateTime<Utc>) -> MetricResult {
        MetricResult {
            name: self.name.clone(),
            value: self.value,
            threshold_range: Some(self.thresholds.to_range()),
            outcome: self.outcome,
            message: Some(self.message.clone()),
            time: Some(time),
        }
    }
}

fn unit_suffix(unit: &str) -> String {
    match unit {
        "" => String::new(),
        "%" => "%".to_owned(),
        other => format!(" {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: Option<f64>, max: Option<f64>) -> Thresholds {
        Thresholds { min, max }
    }

    #[test]
    fn a_failed_check_names_value_bound_and_query() {
        let r = CheckResult::judged(
            "request-success-rate",
            "prometheus",
            "sum(x)",
            90.0,
            "%",
            range(Some(99.0), None),
            MetricNoData::Fail,
        );
        assert_eq!(r.outcome, MetricOutcome::Fail);
        assert_eq!(
            r.message,
            "request-success-rate is 90%, below the minimum 99%; prometheus query: sum(x)"
        );
    }

    #[test]
    fn an_error_quoting_the_providers_address_keeps_its_password_out_of_the_status() {
        let error = "cannot reach https://admin:hunter2@prom.example:9090: connection refused";
        let r = CheckResult::error(
            "errors",
            Some("sum(x)"),
            &error,
            "unreachable",
            ErrorKind::Unavailable,
            range(None, Some(1.0)),
            MetricNoData::Fail,
        );
        assert_eq!(
            r.message,
            "cannot reach https://prom.example:9090: connection refused; query: sum(x)"
        );
        assert!(!r.to_status(Utc::now()).message.unwrap().contains("hunter2"));
    }

    #[test]
    fn no_data_explains_likely_causes_and_the_routers_labels() {
        let r = CheckResult::no_data(
            "request-success-rate",
            "prometheus",
            "sum(x)",
            NoDataKind::Empty,
            Some(QueryFamily::Linkerd),
            range(Some(99.0), None),
            MetricNoData::Hold,
        );
        assert_eq!(r.outcome, MetricOutcome::NoData);
        for part in [
            "no values found",
            "no traffic",
            "labels",
            "scraped",
            "response_total",
            "Hold",
            "sum(x)",
        ] {
            assert!(
                r.message.contains(part),
                "{part} missing from {}",
                r.message
            );
        }
    }

    #[test]
    fn status_entries_carry_value_range_and_outcome() {
        let r = CheckResult::judged(
            "latency",
            "prometheus",
            "q",
            120.0,
            "",
            range(None, Some(500.0)),
            MetricNoData::Fail,
        );
        let status = r.to_status(DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(status.outcome, MetricOutcome::Pass);
        assert_eq!(status.value, Some(120.0));
        assert_eq!(status.threshold_range.and_then(|t| t.max), Some(500.0));
    }
}
