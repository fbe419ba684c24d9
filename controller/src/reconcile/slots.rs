//! The bound on concurrent releases (`--max-concurrent-releases`): which Canaries may start a
//! release now, and the order in which the others wait.
//!
//! Releases in progress are counted from the Canary cache (at most once a second, so that a
//! reconcile does not scan every Canary), plus the releases this process started since the
//! count, which the cache may not show yet. A Canary refused a slot joins a queue; a slot goes
//! to the Canary that has waited longest.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serin_crds::canary::{CanaryPhase, CanaryStatus};

use super::context::Context;
use crate::decide::{ReleaseSlot, reason};

/// How long the releases counted from the cache are reused.
const RECOUNT_EVERY: Duration = Duration::from_secs(1);
/// How long a release started here counts before the cache must show it.
const STARTED_COUNTS_FOR: Duration = Duration::from_secs(30);

/// Release slots of one controller.
#[derive(Debug, Default)]
pub struct ReleaseSlots {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Canaries (`namespace/name`) releasing, as counted from the cache, and when.
    counted: Option<(Instant, BTreeSet<String>)>,
    /// Releases started here since, by Canary.
    started: HashMap<String, Instant>,
    /// Canaries waiting for a slot, longest first.
    queue: Vec<String>,
}

impl State {
    fn judge(&mut self, ctx: &Context, key: &str, limit: usize) -> ReleaseSlot {
        let recount = self
            .counted
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() >= RECOUNT_EVERY);
        if recount {
            self.counted = Some((Instant::now(), count(ctx)));
        }
        let counted = self
            .counted
            .as_ref()
            .map(|(_, c)| c)
            .expect("counted above");
        self.started
            .retain(|k, at| at.elapsed() < STARTED_COUNTS_FOR && !counted.contains(k));
        let busy = counted
            .iter()
            .chain(self.started.keys())
            .filter(|k| k.as_str() != key)
            .count();
        let ahead = self
            .queue
            .iter()
            .position(|k| k == key)
            .unwrap_or(self.queue.len());
        if busy + ahead < limit {
            ReleaseSlot::Free
        } else {
            ReleaseSlot::Full {
                releasing: busy,
                limit,
                ahead,
            }
        }
    }
}

/// Whether `phase` is part of a release, holding a slot.
pub(super) fn releasing(phase: CanaryPhase) -> bool {
    matches!(
        phase,
        CanaryPhase::Progressing
            | CanaryPhase::Waiting
            | CanaryPhase::WaitingPromotion
            | CanaryPhase::Promoting
            | CanaryPhase::Finalising
    )
}

impl ReleaseSlots {
    /// Whether the Canary `key`, now in `phase`, may start a release under `limit`.
    pub(super) fn slot(
        &self,
        ctx: &Context,
        key: &str,
        phase: CanaryPhase,
        limit: Option<u32>,
    ) -> ReleaseSlot {
        match limit {
            Some(limit) if !releasing(phase) => self.lock().judge(ctx, key, limit as usize),
            _ => ReleaseSlot::Free,
        }
    }

    /// Takes a slot for `key`, whose tick decided to start a release: checked again under the
    /// lock, since other Canaries' ticks may have started theirs meanwhile.
    pub(super) fn take(&self, ctx: &Context, key: &str, limit: Option<u32>) -> ReleaseSlot {
        let Some(limit) = limit else {
            return ReleaseSlot::Free;
        };
        let mut state = self.lock();
        let slot = state.judge(ctx, key, limit as usize);
        if slot == ReleaseSlot::Free {
            state.queue.retain(|k| k != key);
            state.started.insert(key.to_owned(), Instant::now());
        }
        slot
    }

    /// Records what the tick of `key` decided: a release started takes its slot, a release
    /// refused one joins the queue, anything else leaves it.
    pub(super) fn record(&self, key: &str, status: &CanaryStatus) {
        let mut state = self.lock();
        let queued = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.reason == reason::RELEASE_QUEUED);
        if releasing(status.phase.unwrap_or_default()) {
            state.queue.retain(|k| k != key);
        } else {
            state.started.remove(key);
            if !queued {
                state.queue.retain(|k| k != key);
            } else if !state.queue.iter().any(|k| k == key) {
                state.queue.push(key.to_owned());
            }
        }
    }

    /// Forgets a deleted Canary.
    pub(super) fn forget(&self, key: &str) {
        let mut state = self.lock();
        state.queue.retain(|k| k != key);
        state.started.remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The Canaries of the cache in a release phase.
fn count(ctx: &Context) -> BTreeSet<String> {
    let Some(store) = ctx.canary_cache() else {
        return BTreeSet::new();
    };
    store
        .state()
        .iter()
        .filter(|c| {
            let phase = c
                .data
                .pointer("/status/phase")
                .and_then(|p| serde_json::from_value::<CanaryPhase>(p.clone()).ok());
            phase.is_some_and(releasing)
        })
        .map(|c| {
            format!(
                "{}/{}",
                c.metadata.namespace.as_deref().unwrap_or_default(),
                c.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect()
}
