//! One conformance suite that every metric provider instantiates: each backend's stub speaks the
//! vendor's wire format (its values, empty and error answers), and the same cases must map to
//! the same outcomes for every provider, with messages naming the provider and the query.

pub(crate) mod cloudwatch;
pub(crate) mod datadog;
pub(crate) mod dynatrace;
pub(crate) mod external_metrics;
pub(crate) mod graphite;
pub(crate) mod influxdb;
pub(crate) mod keptn;
pub(crate) mod newrelic;
mod prometheus;
pub(crate) mod splunk;
pub(crate) mod stackdriver;
pub(crate) mod stub;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use serin_analysis::plan::{CheckSource, MetricCheck, SecretData};
use serin_analysis::threshold::Thresholds;
use serin_analysis::{
    BuiltinProviders, CheckResult, ErrorKind, ProviderCache, ProviderFactory, ProviderOptions,
    Query, run_planned,
};
use serin_crds::canary::{MetricNoData, MetricOutcome};
use serin_crds::metric_template::{MetricProvider, SecretRef};

pub(crate) use stub::{Recorded, Reply, Stub};

/// What the backend is made to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    /// One series whose newest point is 1.5 (older points differ).
    Value,
    /// One series whose newest point is the integer 7, in the vendor's integer encoding.
    Integer,
    /// No series.
    Empty,
    /// The vendor's "no number" (NaN where it has one, null otherwise).
    NotANumber,
    /// Two series.
    Several,
    /// The vendor's answer to a query it cannot parse, with [`REJECTION`] as its message.
    Rejected,
    /// The vendor refuses the credentials with this status.
    Unauthorized(u16),
    /// 503 to every request.
    ServerError,
    /// No answer within the timeout (every request).
    Slow,
    /// A body that is not the vendor's format.
    Malformed,
}

impl Case {
    const ALL: [Case; 11] = [
        Case::Value,
        Case::Integer,
        Case::Empty,
        Case::NotANumber,
        Case::Several,
        Case::Rejected,
        Case::Unauthorized(401),
        Case::Unauthorized(403),
        Case::ServerError,
        Case::Slow,
        Case::Malformed,
    ];
}

/// The message stubs give when rejecting a query.
pub(crate) const REJECTION: &str = "serin-conformance: bad query";
/// The timeout of every conformance query.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(600);
/// How long a slow stub waits before answering.
pub(crate) const SLOW: Duration = Duration::from_secs(2);
/// The window of every conformance query.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// The evaluation time of every conformance query.
pub(crate) fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 15, 4, 0)
        .single()
        .expect("a valid time")
}

/// Secret data from pairs.
pub(crate) fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

/// A provider spec of `kind` at `address` with the conformance Secret.
pub(crate) fn spec(
    kind: serin_crds::metric_template::MetricProviderType,
    address: &str,
) -> MetricProvider {
    MetricProvider {
        type_: kind,
        address: Some(address.to_owned()),
        secret_ref: Some(SecretRef {
            name: "conformance".into(),
        }),
        ..MetricProvider::default()
    }
}

/// One provider's side of the suite.
pub(crate) trait Backend: Sync {
    /// `spec.provider.type`.
    fn kind(&self) -> &'static str;
    /// The query the template sends.
    fn query(&self) -> &'static str;
    /// The provider spec for a stub at `address`, and its Secret's data.
    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>);
    /// The vendor's answer to `request` in `case` (for HTTP stubs).
    fn answer(&self, case: Case, request: &Recorded) -> Reply;
    /// Asserts what the provider sent for `query` in the value case.
    fn check_request(&self, requests: &[Recorded], query: &Query<'_>);
    /// The cases that apply (all but those the vendor cannot answer).
    fn cases(&self) -> Vec<Case> {
        Case::ALL.to_vec()
    }
    /// The HTTP status the provider reports when the vendor refuses credentials as `status`
    /// means (AWS answers 400 where others answer 401).
    fn refused_status(&self, status: u16) -> u16 {
        status
    }
    /// The factory building the provider for a stub at `address`.
    fn factory(&self, _address: &str) -> Arc<dyn ProviderFactory> {
        Arc::new(BuiltinProviders::default())
    }
    /// Starts the stub for `case`.
    fn serve(&'static self, case: Case) -> futures_util::future::BoxFuture<'static, Stub>
    where
        Self: Sized,
    {
        Box::pin(stub::http(self, case))
    }
}

/// Runs every case against `backend`.
pub(crate) async fn conformance<B: Backend + 'static>(backend: &'static B) {
    for case in backend.cases() {
        let stub = backend.serve(case).await;
        let result = run_case(backend, &stub.address).await;
        let requests = stub.requests();
        expect(backend, case, &result);
        if case == Case::Value {
            let query = Query {
                text: backend.query(),
                window: WINDOW,
                at: at(),
            };
            backend.check_request(&requests, &query);
        }
    }
}

async fn run_case<B: Backend>(backend: &B, address: &str) -> CheckResult {
    let (provider, data) = backend.provider(address);
    let mut secrets = SecretData::new();
    if let Some(data) = data {
        secrets.insert(("test".into(), "conformance".into()), data);
    }
    let check = MetricCheck {
        name: "conformance".into(),
        source: CheckSource::Template {
            namespace: "test".into(),
            name: "conformance".into(),
        },
        query: backend.query().into(),
        window: WINDOW,
        provider,
        secret_namespace: "test".into(),
        thresholds: Thresholds {
            min: None,
            max: Some(5.0),
        },
        on_no_data: MetricNoData::Fail,
    };
    let providers = ProviderCache::with_factory(
        backend.factory(address),
        ProviderOptions {
            timeout: TIMEOUT,
            ..ProviderOptions::default()
        },
    );
    let mut results = run_planned(vec![Ok(check)], &secrets, &providers, at()).await;
    results.remove(0)
}

fn expect<B: Backend>(backend: &B, case: Case, r: &CheckResult) {
    let kind = backend.kind();
    let context = format!("{kind} {case:?}: {}", r.message);
    let error = |category: &str| {
        assert_eq!(r.outcome, MetricOutcome::Error, "{context}");
        assert_eq!(r.error_category, Some(category), "{context}");
    };
    match case {
        Case::Value => {
            assert_eq!(r.outcome, MetricOutcome::Pass, "{context}");
            assert_eq!(r.value, Some(1.5), "{context}");
        }
        Case::Integer => {
            assert_eq!(r.outcome, MetricOutcome::Fail, "{context}");
            assert_eq!(r.value, Some(7.0), "{context}");
        }
        Case::Empty | Case::NotANumber => {
            assert_eq!(r.outcome, MetricOutcome::NoData, "{context}");
            assert_eq!(r.value, None, "{context}");
        }
        Case::Several => error("multiple_series"),
        Case::Rejected => {
            error("rejected");
            assert!(r.message.contains(REJECTION), "{context}");
            assert_eq!(r.error_kind, Some(ErrorKind::Query), "{context}");
        }
        Case::Unauthorized(status) => {
            error("unauthorized");
            let shown = backend.refused_status(status).to_string();
            assert!(r.message.contains(&shown), "{context}");
        }
        Case::ServerError => {
            error("http");
            assert!(r.message.contains("503"), "{context}");
            assert_eq!(r.error_kind, Some(ErrorKind::Unavailable), "{context}");
        }
        Case::Slow => {
            error("timeout");
            assert_eq!(r.error_kind, Some(ErrorKind::Unavailable), "{context}");
        }
        Case::Malformed => error("malformed"),
    }
    if r.outcome != MetricOutcome::Pass {
        assert!(r.message.contains(backend.query()), "{context}");
        assert!(r.message.contains(kind), "{context}");
    }
}

/// The value of `name` in a recorded request's query string.
pub(crate) fn parameter(request: &Recorded, name: &str) -> Option<String> {
    url::form_urlencoded::parse(request.query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The recorded request to `path`.
pub(crate) fn request_to<'a>(requests: &'a [Recorded], path: &str) -> &'a Recorded {
    let found = requests.iter().find(|r| r.path == path);
    assert!(found.is_some(), "no request to {path}: {requests:?}");
    found.expect("the request")
}
