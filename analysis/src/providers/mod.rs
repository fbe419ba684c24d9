//! serin's metric providers beyond Prometheus, one file each, and what they share: the bounded
//! HTTP client, Secret keys, turning series into one reading, and the Kubernetes API seam for
//! the providers that read Kubernetes objects.

pub mod cloudwatch;
pub mod datadog;
pub mod dynatrace;
pub mod external_metrics;
pub mod graphite;
pub mod http;
pub mod influxdb;
pub mod keptn;
mod kubernetes;
pub mod newrelic;
pub mod secret;
pub mod series;
pub mod splunk;
pub mod stackdriver;

pub use kubernetes::KubernetesApi;
