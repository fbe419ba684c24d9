//! What one tick works on: the Canary's identity, its validated spec, its router and what was
//! observed, with the views the steps take of them.

use std::collections::BTreeMap;

use serin_crds::validation::ValidCanary;

use super::context::Context;
use super::observe::Observed;
use crate::routers::{RouteInput, Router};
use crate::workloads::{Workload, WorkloadSettings};

/// The Canary object's identity.
#[derive(Clone, Debug)]
pub(super) struct Identity {
    /// Name.
    pub(super) name: String,
    /// Namespace.
    pub(super) namespace: String,
    /// UID, for owner references.
    pub(super) uid: String,
    /// Annotations (read by routers: Kuma's `kuma.io/mesh`).
    pub(super) annotations: BTreeMap<String, String>,
}

impl Subject<'_> {
    /// The Canary as the metric planner sees it.
    pub(super) fn plan_subject(&self) -> serin_analysis::PlanSubject<'_> {
        serin_analysis::PlanSubject::of_canary(&self.id.name, &self.id.namespace, self.valid)
    }
}

impl Identity {
    pub(super) fn of(meta: &kube::api::ObjectMeta) -> Self {
        Identity {
            name: meta.name.clone().unwrap_or_default(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            annotations: meta.annotations.clone().unwrap_or_default(),
        }
    }
}

/// What the executor and the checks work on.
pub(super) struct Subject<'a> {
    /// The Canary's identity.
    pub(super) id: &'a Identity,
    /// Its validated spec.
    pub(super) valid: &'a ValidCanary,
    /// Its router.
    pub(super) router: &'a dyn Router,
    /// What was observed this tick.
    pub(super) observed: &'a Observed,
}

impl<'a> Subject<'a> {
    /// What the router builds from.
    pub(super) fn route_input(&self) -> RouteInput<'a> {
        RouteInput {
            canary: &self.id.name,
            namespace: &self.id.namespace,
            canary_uid: &self.id.uid,
            routing: &self.valid.routing,
            session_affinity: self.valid.session_affinity.as_ref(),
            annotations: &self.id.annotations,
            referenced: &self.observed.referenced,
        }
    }

    /// The target and primary, for writes.
    pub(super) fn workload(&self, ctx: &'a Context) -> Workload<'a> {
        Workload {
            client: &ctx.client,
            canary: (&self.id.name, &self.id.uid),
            namespace: &self.id.namespace,
            valid: self.valid,
            target: &self.observed.target,
            primary: self.observed.primary.as_ref(),
            configs: &self.observed.config_refs,
            settings: WorkloadSettings {
                selector_labels: &ctx.config.selector_labels,
                include_label_prefixes: &ctx.config.include_label_prefixes,
            },
        }
    }
}
