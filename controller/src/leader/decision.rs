//! The election decision: pure, no client and no clock. Given the Lease as last read, when its
//! record last changed (by the local clock), this candidate's role and the time now, say whether
//! to create, acquire, renew, wait or step down, and what Lease spec a write should carry.

#[cfg(test)]
mod tests;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use tokio::time::Instant;

use super::LeaderElectionConfig;

/// The Lease as this candidate last read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observed {
    /// The Lease, with the `resourceVersion` a write must carry.
    pub(crate) lease: Lease,
    /// Local time at which the election record (the spec) was first seen as it is now.
    pub(crate) changed_at: Instant,
}

impl Observed {
    /// Records a fresh read: the change time moves only if the spec differs from the last read,
    /// so a holder that stops renewing is noticed whatever its timestamps say.
    pub(crate) fn update(previous: Option<Observed>, lease: Lease, now: Instant) -> Observed {
        let changed_at = match previous {
            Some(previous) if previous.lease.spec == lease.spec => previous.changed_at,
            _ => now,
        };
        Observed { lease, changed_at }
    }

    fn spec(&self) -> Option<&LeaseSpec> {
        self.lease.spec.as_ref()
    }

    /// The holder, if any; an empty `holderIdentity` means released.
    pub(crate) fn holder(&self) -> Option<&str> {
        self.spec()
            .and_then(|spec| spec.holder_identity.as_deref())
            .filter(|holder| !holder.is_empty())
    }

    /// When the holder's claim runs out unless the record changes again.
    fn expires_at(&self, fallback: Duration) -> Instant {
        let duration = self
            .spec()
            .and_then(|spec| spec.lease_duration_seconds)
            .and_then(|secs| u64::try_from(secs).ok())
            .filter(|secs| *secs > 0)
            .map_or(fallback, Duration::from_secs);
        self.changed_at + duration
    }
}

/// Whether this candidate leads, and since when its claim was last confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not leading: waiting for the Lease to be free.
    Candidate,
    /// Leading; `renewed_at` is the start of the last attempt whose write succeeded.
    Leader {
        /// Local time the successful attempt began (before its write was sent).
        renewed_at: Instant,
    },
}

impl Role {
    /// The instant a leader must stop leading unless it renews first.
    pub(crate) fn deadline(self, renew_deadline: Duration) -> Option<Instant> {
        match self {
            Role::Candidate => None,
            Role::Leader { renewed_at } => Some(renewed_at + renew_deadline),
        }
    }
}

/// Why a leader stops leading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepDownReason {
    /// No renewal succeeded within the renew deadline.
    RenewDeadlineExceeded,
    /// The Lease is gone, released or held by someone else.
    LeaseLost,
    /// A renewal was refused because someone else wrote the Lease first.
    Conflict,
}

impl StepDownReason {
    /// A label for logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StepDownReason::RenewDeadlineExceeded => "renew_deadline_exceeded",
            StepDownReason::LeaseLost => "lease_lost",
            StepDownReason::Conflict => "conflict",
        }
    }
}

/// What to do after reading the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// No Lease exists: create one held by this candidate.
    Create,
    /// The Lease is released or expired: take it over, counting a transition.
    Acquire,
    /// This candidate holds the Lease: renew it.
    Renew,
    /// Another holder's claim is still valid.
    Wait {
        /// The holder.
        holder: String,
        /// When its claim runs out unless renewed.
        expires_at: Instant,
    },
    /// Stop leading at once.
    StepDown(StepDownReason),
}

/// Decides the next step. `lease` is the latest read (`None`: no Lease exists).
pub(crate) fn decide(
    config: &LeaderElectionConfig,
    lease: Option<&Observed>,
    role: Role,
    now: Instant,
) -> Decision {
    let leading = matches!(role, Role::Leader { .. });
    if role
        .deadline(config.renew_deadline)
        .is_some_and(|deadline| now >= deadline)
    {
        return Decision::StepDown(StepDownReason::RenewDeadlineExceeded);
    }
    let Some(lease) = lease else {
        return if leading {
            Decision::StepDown(StepDownReason::LeaseLost)
        } else {
            Decision::Create
        };
    };
    match lease.holder() {
        Some(holder) if holder == config.identity => Decision::Renew,
        _ if leading => Decision::StepDown(StepDownReason::LeaseLost),
        None => Decision::Acquire,
        Some(holder) => {
            let expires_at = lease.expires_at(config.lease_duration);
            if now < expires_at {
                Decision::Wait {
                    holder: holder.to_owned(),
                    expires_at,
                }
            } else {
                Decision::Acquire
            }
        }
    }
}

/// The spec that creates the Lease, held by this candidate. `wall_now` only fills the
/// informational `acquireTime` and `renewTime`; no decision reads them.
pub(crate) fn created_spec(config: &LeaderElectionConfig, wall_now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        acquire_time: Some(MicroTime(wall_now)),
        lease_transitions: Some(0),
        ..held_spec(config, None, wall_now)
    }
}

/// The spec that takes over a released or expired Lease, counting one more transition.
pub(crate) fn acquired_spec(
    config: &LeaderElectionConfig,
    current: Option<&LeaseSpec>,
    wall_now: Timestamp,
) -> LeaseSpec {
    let transitions = current.and_then(|spec| spec.lease_transitions).unwrap_or(0);
    LeaseSpec {
        acquire_time: Some(MicroTime(wall_now)),
        lease_transitions: Some(transitions.saturating_add(1)),
        ..held_spec(config, current, wall_now)
    }
}

/// The spec that renews this candidate's claim: a new `renewTime`, the rest kept.
pub(crate) fn renewed_spec(
    config: &LeaderElectionConfig,
    current: Option<&LeaseSpec>,
    wall_now: Timestamp,
) -> LeaseSpec {
    let held = held_spec(config, current, wall_now);
    LeaseSpec {
        acquire_time: held.acquire_time.clone().or(Some(MicroTime(wall_now))),
        lease_transitions: Some(held.lease_transitions.unwrap_or(0)),
        ..held
    }
}

fn held_spec(
    config: &LeaderElectionConfig,
    current: Option<&LeaseSpec>,
    wall_now: Timestamp,
) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(config.lease_duration_seconds()),
        renew_time: Some(MicroTime(wall_now)),
        ..current.cloned().unwrap_or_default()
    }
}

/// The spec that gives the Lease up: no holder and a one-second duration, so a standby takes
/// it at its next attempt. Transitions are kept; the next holder counts its own.
pub(crate) fn released_spec(current: Option<&LeaseSpec>, wall_now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        renew_time: Some(MicroTime(wall_now)),
        ..current.cloned().unwrap_or_default()
    }
}
