//! The generated Services as observed, each judged against what serin applies, knowing what
//! serin last wrote (see [`super::super::applied`]): a Service the cache has not yet seen since
//! serin's own write is not drift.

use serin_crds::validation::ValidCanary;
use serin_decide::{Generated, ServiceRole};

use super::super::caches::{Caches, Lookup, lookup};
use super::super::context::Context;
use super::super::error::Result;
use super::super::subject::Identity;
use crate::workloads::{ConfigRef, Target, Workload, WorkloadSettings};

/// One generated Service as observed.
#[derive(Clone, Debug)]
pub(in crate::reconcile) struct ObservedService {
    /// Which Service.
    pub(in crate::reconcile) role: ServiceRole,
    /// Its name.
    pub(in crate::reconcile) name: String,
    /// Its `resourceVersion` in the cache; `None` when the cache holds none.
    pub(in crate::reconcile) resource_version: Option<String>,
    /// How it compares with what serin applies.
    pub(in crate::reconcile) state: Generated,
}

/// The three generated Services of a workload target, once the Service cache has synced (none
/// before, and none for a Service target, whose copies are replaced when releases start).
pub(super) fn observe(
    ctx: &Context,
    caches: &Caches,
    id: &Identity,
    valid: &ValidCanary,
    target: &Target,
    primary: Option<&Target>,
    configs: &[ConfigRef],
) -> Result<Vec<ObservedService>> {
    let workload = Workload {
        client: &ctx.client,
        canary: (&id.name, &id.uid),
        namespace: &id.namespace,
        valid,
        target,
        primary,
        configs,
        settings: WorkloadSettings {
            selector_labels: &ctx.config.selector_labels,
            include_label_prefixes: &ctx.config.include_label_prefixes,
        },
    };
    let mut observed = Vec::new();
    for role in [ServiceRole::Apex, ServiceRole::Primary, ServiceRole::Canary] {
        let Some(want) = workload.desired_service(role)? else {
            return Ok(Vec::new());
        };
        let name = want["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let in_cache = match lookup(caches.services.as_ref(), &id.namespace, &name, ()) {
            Lookup::Known(in_cache) => in_cache,
            Lookup::Unknown => return Ok(Vec::new()),
        };
        let state = ctx
            .applied
            .judge(&id.namespace, &name, in_cache.as_deref(), &want)?;
        observed.push(ObservedService {
            role,
            resource_version: in_cache.and_then(|c| c.metadata.resource_version.clone()),
            name,
            state,
        });
    }
    Ok(observed)
}
