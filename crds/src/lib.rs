//! Serin's API: the `flagger.app/v1beta1` custom resources (`Canary`, `MetricTemplate`,
//! `AlertProvider`) as Rust types, their generated CRDs, and the validation that turns a spec
//! into a checked, typed plan.
//!
//! The types accept every object Flagger's CRDs accept; serin's additions are optional fields.

pub mod alert_provider;
pub mod canary;
pub mod metric_template;
pub mod query_template;
pub mod routing;
mod schema;
pub mod validation;

pub use alert_provider::{AlertProvider, AlertProviderSpec, AlertProviderType};
pub use canary::{Canary, CanarySpec, CanaryStatus};
pub use metric_template::{MetricTemplate, MetricTemplateSpec};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The API group of every serin resource.
pub const GROUP: &str = "flagger.app";
/// The API version of every serin resource.
pub const VERSION: &str = "v1beta1";

/// The three CustomResourceDefinitions serin serves, in a stable order.
///
/// Unlike the bare `Canary::crd()`, these do not require `spec` at the root: Flagger's CRDs do
/// not, and serin's must accept every object Flagger's accept. A spec-less object is reported
/// by validation instead.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![Canary::crd(), MetricTemplate::crd(), AlertProvider::crd()];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            let root = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut());
            if let Some(root) = root {
                root.required = None;
            }
        }
    }
    crds
}
