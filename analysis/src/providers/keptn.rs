//! Keptn: the value of a `KeptnMetric` (`keptnmetric/<namespace>/<name>`), or the verdict of an
//! `Analysis` serin creates from an `AnalysisDefinition`
//! (`analysis/<namespace>/<definition>/<timeframe>/<key>=<value>;...`), both
//! `metrics.keptn.sh/v1beta1`, through the caller's Kubernetes API.
//!
//! A KeptnMetric's value is its `status.value`; one without a value yet is no data (Flagger
//! reported an error). An Analysis is polled until `status.state` is `Completed` and reads 1
//! when `status.pass` is true, else 0; it is deleted afterwards. The Keptn project is archived.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::kubernetes::KubernetesApi;
use super::series::parse_number;
use crate::factory::ProviderOptions;
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, Reading};

const GROUP_VERSION: &str = "metrics.keptn.sh/v1beta1";
const FORMAT: &str = "keptnmetric/<namespace>/<name> or analysis/<namespace>/<definition>/<timeframe>/<key>=<value>;...";
/// How often an Analysis is looked at while Keptn evaluates it.
const POLL: Duration = Duration::from_millis(500);

/// Keptn's metrics API in the cluster.
pub struct KeptnProvider {
    kubernetes: Arc<dyn KubernetesApi>,
    timeout: Duration,
}

impl std::fmt::Debug for KeptnProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptnProvider")
            .field("kubernetes", &self.kubernetes.address())
            .finish_non_exhaustive()
    }
}

/// A parsed Keptn query.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Metric {
        namespace: String,
        name: String,
    },
    Analysis {
        namespace: String,
        definition: String,
        timeframe: String,
        args: Map<String, Value>,
    },
}

impl KeptnProvider {
    /// A provider reading through `kubernetes`. An Analysis is waited for at most the query
    /// timeout less half a second, so that it is still deleted in time.
    pub fn new(kubernetes: Arc<dyn KubernetesApi>, options: &ProviderOptions) -> Self {
        KeptnProvider {
            kubernetes,
            timeout: options.timeout,
        }
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        match parse(query.text)? {
            Target::Metric { namespace, name } => {
                let path =
                    format!("/apis/{GROUP_VERSION}/namespaces/{namespace}/keptnmetrics/{name}");
                let metric = self.kubernetes.get(&path).await?.ok_or_else(|| {
                    QueryError::Rejected(format!("KeptnMetric {namespace}/{name} does not exist"))
                })?;
                match &metric["status"]["value"] {
                    Value::Null => Ok(Reading::Empty),
                    Value::String(text) if text.is_empty() => Ok(Reading::Empty),
                    Value::String(text) => parse_number(text).map(Reading::of).ok_or_else(|| {
                        QueryError::Malformed(format!(
                            "KeptnMetric {namespace}/{name} has status.value `{text}`, not a number"
                        ))
                    }),
                    other => Err(QueryError::Malformed(format!(
                        "KeptnMetric {namespace}/{name} has status.value {other}"
                    ))),
                }
            }
            Target::Analysis {
                namespace,
                definition,
                timeframe,
                args,
            } => {
                self.analysis(&namespace, &definition, &timeframe, args)
                    .await
            }
        }
    }

    async fn analysis(
        &self,
        namespace: &str,
        definition: &str,
        timeframe: &str,
        args: Map<String, Value>,
    ) -> Result<Reading, QueryError> {
        let deadline = Instant::now() + self.timeout.saturating_sub(Duration::from_millis(500));
        let suffix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ u32::try_from(d.as_secs() & 0xffff_ffff).unwrap_or(0))
            .unwrap_or_default();
        let name = format!("{definition}-{:06x}", suffix & 0x00ff_ffff);
        let object = json!({
            "apiVersion": GROUP_VERSION,
            "kind": "Analysis",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "analysisDefinition": {"name": definition},
                "timeframe": {"recent": timeframe},
                "args": args,
            },
        });
        let collection = format!("/apis/{GROUP_VERSION}/namespaces/{namespace}/analyses");
        self.kubernetes.create(&collection, &object).await?;
        let path = format!("{collection}/{name}");
        let verdict = self.wait(&path, deadline).await;
        if let Err(e) = self.kubernetes.delete(&path).await {
            tracing::warn!(analysis = %name, %namespace, error = %e, "could not delete a Keptn Analysis");
        }
        match verdict? {
            Some(pass) => Ok(Reading::Value(if pass { 1.0 } else { 0.0 })),
            None => Err(QueryError::Timeout {
                address: format!("Keptn Analysis {namespace}/{name}"),
                timeout: humantime::format_duration(self.timeout).to_string(),
            }),
        }
    }

    /// `status.pass` once `status.state` is `Completed`, or `None` at the deadline.
    async fn wait(&self, path: &str, deadline: Instant) -> Result<Option<bool>, QueryError> {
        loop {
            if let Some(analysis) = self.kubernetes.get(path).await? {
                let status = &analysis["status"];
                if status["state"].as_str() == Some("Completed") {
                    return Ok(Some(status["pass"].as_bool().unwrap_or(false)));
                }
            }
            if Instant::now() + POLL > deadline {
                return Ok(None);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Parses a query as Flagger does: lowercased, split on `/`.
fn parse(query: &str) -> Result<Target, QueryError> {
    let query = query.trim().to_lowercase();
    let parts: Vec<&str> = query.split('/').map(str::trim).collect();
    let invalid = |what: &str| QueryError::InvalidQuery(format!("{what}; write {FORMAT}"));
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    };
    if parts.len() < 3 || !name_ok(parts[1]) || !name_ok(parts[2]) {
        return Err(invalid(&format!("`{query}` has no namespace and name")));
    }
    let (namespace, name) = (parts[1].to_owned(), parts[2].to_owned());
    match parts[0] {
        "keptnmetric" | "keptnmetrics" => Ok(Target::Metric { namespace, name }),
        "analysis" | "analyses" => {
            let timeframe = parts
                .get(3)
                .filter(|t| !t.is_empty())
                .map_or_else(|| "1m".to_owned(), |t| (*t).to_owned());
            let mut args = Map::new();
            for pair in parts.get(4).into_iter().flat_map(|a| a.split(';')) {
                if let Some((key, value)) = pair.split_once('=') {
                    args.insert(
                        key.trim().to_owned(),
                        Value::String(value.trim().to_owned()),
                    );
                }
            }
            Ok(Target::Analysis {
                namespace,
                definition: name,
                timeframe,
                args,
            })
        }
        other => Err(invalid(&format!(
            "`{other}` is not keptnmetric or analysis"
        ))),
    }
}

impl MetricsProvider for KeptnProvider {
    fn kind(&self) -> &'static str {
        "keptn"
    }

    fn address(&self) -> &str {
        self.kubernetes.address()
    }

    fn query<'a>(
        &'a self,
        query: &'a Query<'a>,
    ) -> ProviderFuture<'a, Result<Reading, QueryError>> {
        Box::pin(self.run(query))
    }

    fn check_online(&self) -> ProviderFuture<'_, Result<(), QueryError>> {
        Box::pin(async move {
            match self
                .kubernetes
                .get(&format!("/apis/{GROUP_VERSION}"))
                .await?
            {
                Some(_) => Ok(()),
                None => Err(QueryError::Rejected(format!(
                    "the API server does not serve {GROUP_VERSION}: is Keptn's metrics operator installed?"
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_as_in_flagger() {
        assert_eq!(
            parse("keptnmetric/my-namespace/response-time/2m/reporter=destination"),
            Ok(Target::Metric {
                namespace: "my-namespace".into(),
                name: "response-time".into()
            })
        );
        let Ok(Target::Analysis {
            timeframe, args, ..
        }) = parse("analysis/ns/my-def/5m/workload=podinfo;project=x")
        else {
            panic!("not an analysis")
        };
        assert_eq!(timeframe, "5m");
        assert_eq!(args["workload"], "podinfo");
        assert_eq!(args["project"], "x");
        assert_eq!(
            parse("keptnmetric/ns").unwrap_err().category(),
            "invalid_query"
        );
        assert_eq!(
            parse("metric/ns/x").unwrap_err().category(),
            "invalid_query"
        );
    }
}
