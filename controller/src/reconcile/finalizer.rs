//! serin's finalizer on Canaries with `revertOnDeletion` (Flagger's name, so a Canary Flagger
//! finalized is recognised), put on and taken off as the decision core asks.

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use serin_crds::Canary;

use super::context::Context;
use super::error::Result;

/// The finalizer that holds a Canary's deletion until its target is restored.
pub(super) const FINALIZER: &str = "finalizer.flagger.app";

/// Puts the finalizer on, when it is not there yet.
pub(super) async fn add(ctx: &Context, canary: &Canary) -> Result<()> {
    let finalizers = canary.metadata.finalizers.clone().unwrap_or_default();
    if finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let mut updated = finalizers;
    updated.push(FINALIZER.to_owned());
    patch(ctx, canary, updated).await
}

/// Takes the finalizer off, letting the API server delete the Canary.
pub(super) async fn remove(ctx: &Context, canary: &Canary) -> Result<()> {
    let finalizers = canary.metadata.finalizers.clone().unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let remaining = finalizers.into_iter().filter(|f| f != FINALIZER).collect();
    patch(ctx, canary, remaining).await
}

async fn patch(ctx: &Context, canary: &Canary, finalizers: Vec<String>) -> Result<()> {
    // The resourceVersion makes this a compare-and-swap: another writer's change is not lost.
    let patch = json!({ "metadata": {
        "finalizers": finalizers,
        "resourceVersion": canary.metadata.resource_version,
    }});
    let name = canary.metadata.name.clone().unwrap_or_default();
    let namespace = canary.metadata.namespace.clone().unwrap_or_default();
    Api::<Canary>::namespaced(ctx.client.clone(), &namespace)
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}
