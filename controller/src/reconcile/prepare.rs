//! The prepare step (pure): the Canary object read as a Canary, its spec validated against the
//! router in effect, and that router chosen. After this step nothing reads the raw spec: the
//! validated [`ValidCanary`] is the one input downstream.

use kube::api::DynamicObject;
use serin_crds::Canary;
use serin_crds::canary::Provider;
use serin_crds::validation::{MetricSource, ValidCanary, validate_canary};

use super::error::{Error, Result};
use crate::routers::{Router, RouterOptions, router_for};

/// What depends on the Canary object alone.
pub(super) struct Prepared {
    /// The Canary as read: its metadata and status are the tick's inputs besides the spec.
    pub(super) canary: Canary,
    /// Its validated spec.
    pub(super) valid: ValidCanary,
    /// Its router.
    pub(super) router: Box<dyn Router>,
}

/// Parses, validates and picks the router. An error here is a problem of the spec (or of what
/// serin implements), reported on the Canary. Unless `cross_namespace_refs`, a reference to a
/// MetricTemplate or AlertProvider of another namespace is refused here, before anything of
/// that namespace is read.
pub(super) fn prepare(
    object: &DynamicObject,
    mesh_provider: Provider,
    options: &RouterOptions,
    cross_namespace_refs: bool,
) -> Result<Prepared> {
    let canary = parse(object)?;
    let valid = validate_canary(&canary.spec, Some(mesh_provider))?;
    if !cross_namespace_refs {
        let namespace = canary.metadata.namespace.as_deref().unwrap_or_default();
        refuse_cross_namespace_refs(namespace, &valid)?;
    }
    // Validation resolved the provider in effect.
    let router = router_for(valid.provider.unwrap_or(mesh_provider), options)?;
    Ok(Prepared {
        canary,
        valid,
        router,
    })
}

/// The first reference of `valid` to a MetricTemplate or AlertProvider outside `namespace`.
fn refuse_cross_namespace_refs(namespace: &str, valid: &ValidCanary) -> Result<()> {
    let templates = valid.metrics.iter().filter_map(|m| match &m.source {
        MetricSource::Template(r) => Some(("MetricTemplate", r)),
        _ => None,
    });
    let providers = valid
        .alerts
        .iter()
        .map(|a| ("AlertProvider", &a.provider_ref));
    for (kind, reference) in templates.chain(providers) {
        match reference.namespace.as_deref() {
            Some(other) if other != namespace => {
                return Err(Error::CrossNamespaceRef {
                    kind,
                    namespace: other.to_owned(),
                    name: reference.name.clone(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse(object: &DynamicObject) -> Result<Canary> {
    let value = serde_json::to_value(object)?;
    serde_path_to_error::deserialize(value)
        .map_err(|e| Error::Malformed(format!("{}: {}", e.path(), e.inner())))
}
