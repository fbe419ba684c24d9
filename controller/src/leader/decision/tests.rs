//! Table tests of the election decision and of the specs it writes.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;
use pretty_assertions::assert_eq;
use tokio::time::Instant;

use super::*;

const ME: &str = "serin-a";
const OTHER: &str = "serin-b";

fn config() -> LeaderElectionConfig {
    LeaderElectionConfig::new("serin-system")
        .with_identity(ME)
        .with_timings(
            Duration::from_secs(15),
            Duration::from_secs(10),
            Duration::from_secs(2),
        )
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn wall(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).expect("valid timestamp")
}

/// A Lease as the server returns it, held by `holder` (`""` for released).
fn lease(holder: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some("serin-leader".to_owned()),
            resource_version: Some("7".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(wall(-100))),
            renew_time: Some(MicroTime(wall(-1))),
            lease_transitions: Some(3),
            ..LeaseSpec::default()
        }),
    }
}

fn with_duration(mut lease: Lease, seconds: Option<i32>) -> Lease {
    if let Some(spec) = lease.spec.as_mut() {
        spec.lease_duration_seconds = seconds;
    }
    lease
}

struct Case {
    name: &'static str,
    lease: Option<Lease>,
    /// How long ago the record last changed, at decision time.
    unchanged_for: Duration,
    /// `Some(d)`: leading, last renewed `d` ago.
    renewed_ago: Option<Duration>,
    expect: fn(Instant) -> Decision,
}

/// Decides each case at one fixed instant and compares with its expectation.
fn check(cases: Vec<Case>) {
    let config = config();
    let now = Instant::now() + secs(1000);
    for case in cases {
        let observed = case.lease.map(|lease| Observed {
            lease,
            changed_at: now - case.unchanged_for,
        });
        let role = match case.renewed_ago {
            Some(ago) => Role::Leader {
                renewed_at: now - ago,
            },
            None => Role::Candidate,
        };
        assert_eq!(
            decide(&config, observed.as_ref(), role, now),
            (case.expect)(now),
            "{}",
            case.name
        );
    }
}

#[test]
fn a_leader_renews_its_lease_until_the_deadline_or_until_it_sees_the_lease_lost() {
    check(vec![
        Case {
            name: "a leader finding no Lease steps down",
            lease: None,
            unchanged_for: secs(0),
            renewed_ago: Some(secs(2)),
            expect: |_| Decision::StepDown(StepDownReason::LeaseLost),
        },
        Case {
            name: "a leader holding a Lease renews it",
            lease: Some(lease(ME)),
            unchanged_for: secs(2),
            renewed_ago: Some(secs(2)),
            expect: |_| Decision::Renew,
        },
        Case {
            name: "a leader one tick before its renew deadline still renews",
            lease: Some(lease(ME)),
            unchanged_for: secs(9),
            renewed_ago: Some(Duration::from_millis(9_999)),
            expect: |_| Decision::Renew,
        },
        Case {
            name: "a leader at its renew deadline steps down though the Lease still names it",
            lease: Some(lease(ME)),
            unchanged_for: secs(10),
            renewed_ago: Some(secs(10)),
            expect: |_| Decision::StepDown(StepDownReason::RenewDeadlineExceeded),
        },
        Case {
            name: "a leader that sees another holder steps down at once",
            lease: Some(lease(OTHER)),
            unchanged_for: secs(0),
            renewed_ago: Some(secs(2)),
            expect: |_| Decision::StepDown(StepDownReason::LeaseLost),
        },
        Case {
            name: "a leader that sees the Lease released steps down",
            lease: Some(lease("")),
            unchanged_for: secs(0),
            renewed_ago: Some(secs(2)),
            expect: |_| Decision::StepDown(StepDownReason::LeaseLost),
        },
    ]);
}

#[test]
fn a_candidate_creates_takes_over_or_waits_out_the_lease() {
    check(vec![
        Case {
            name: "a candidate finding no Lease creates it",
            lease: None,
            unchanged_for: secs(0),
            renewed_ago: None,
            expect: |_| Decision::Create,
        },
        Case {
            name: "a candidate that finds itself the holder (a restart) resumes by renewing",
            lease: Some(lease(ME)),
            unchanged_for: secs(0),
            renewed_ago: None,
            expect: |_| Decision::Renew,
        },
        Case {
            name: "a released Lease is acquired at once",
            lease: Some(lease("")),
            unchanged_for: secs(0),
            renewed_ago: None,
            expect: |_| Decision::Acquire,
        },
        Case {
            name: "a Lease without holder field is acquired at once",
            lease: Some(Lease {
                spec: None,
                ..lease(OTHER)
            }),
            unchanged_for: secs(0),
            renewed_ago: None,
            expect: |_| Decision::Acquire,
        },
        Case {
            name: "another holder's Lease seen changing recently is waited out",
            lease: Some(lease(OTHER)),
            unchanged_for: secs(14),
            renewed_ago: None,
            expect: |now| Decision::Wait {
                holder: OTHER.to_owned(),
                expires_at: now + secs(1),
            },
        },
        Case {
            name: "an expired lease held by another is taken over",
            lease: Some(lease(OTHER)),
            unchanged_for: secs(15),
            renewed_ago: None,
            expect: |_| Decision::Acquire,
        },
        Case {
            name: "the holder's longer leaseDurationSeconds is the one waited out",
            lease: Some(with_duration(lease(OTHER), Some(30))),
            unchanged_for: secs(20),
            renewed_ago: None,
            expect: |now| Decision::Wait {
                holder: OTHER.to_owned(),
                expires_at: now + secs(10),
            },
        },
        Case {
            name: "a Lease without leaseDurationSeconds expires after the configured duration",
            lease: Some(with_duration(lease(OTHER), None)),
            unchanged_for: secs(15),
            renewed_ago: None,
            expect: |_| Decision::Acquire,
        },
        Case {
            name: "a nonsensical negative duration falls back to the configured one",
            lease: Some(with_duration(lease(OTHER), Some(-5))),
            unchanged_for: secs(14),
            renewed_ago: None,
            expect: |now| Decision::Wait {
                holder: OTHER.to_owned(),
                expires_at: now + secs(1),
            },
        },
    ]);
}

#[test]
fn an_unchanged_record_keeps_its_first_sighting_time_whatever_its_timestamps_say() {
    let first = Instant::now();
    let seen = Observed::update(None, lease(OTHER), first);
    assert_eq!(seen.changed_at, first);
    let mut bumped_metadata = lease(OTHER);
    bumped_metadata.metadata.resource_version = Some("8".to_owned());
    let again = Observed::update(Some(seen), bumped_metadata, first + secs(20));
    assert_eq!(again.changed_at, first);
    let config = config();
    assert_eq!(
        decide(&config, Some(&again), Role::Candidate, first + secs(20)),
        Decision::Acquire
    );
}

#[test]
fn a_renewed_record_restarts_the_wait_for_expiry() {
    let first = Instant::now();
    let seen = Observed::update(None, lease(OTHER), first);
    let mut renewed = lease(OTHER);
    if let Some(spec) = renewed.spec.as_mut() {
        spec.renew_time = Some(MicroTime(wall(9)));
    }
    let later = first + secs(10);
    let again = Observed::update(Some(seen), renewed, later);
    assert_eq!(again.changed_at, later);
    assert!(matches!(
        decide(&config(), Some(&again), Role::Candidate, first + secs(20)),
        Decision::Wait { .. }
    ));
}

#[test]
fn an_expired_lease_held_by_another_is_taken_over_and_counts_a_transition() {
    let current = lease(OTHER).spec;
    let spec = acquired_spec(&config(), current.as_ref(), wall(0));
    assert_eq!(spec.holder_identity.as_deref(), Some(ME));
    assert_eq!(spec.lease_transitions, Some(4));
    assert_eq!(spec.acquire_time, Some(MicroTime(wall(0))));
    assert_eq!(spec.renew_time, Some(MicroTime(wall(0))));
    assert_eq!(spec.lease_duration_seconds, Some(15));
}

#[test]
fn renewing_moves_only_the_renew_time() {
    let current = lease(ME).spec;
    let spec = renewed_spec(&config(), current.as_ref(), wall(0));
    assert_eq!(
        spec,
        LeaseSpec {
            renew_time: Some(MicroTime(wall(0))),
            ..current.expect("fixture has a spec")
        }
    );
}

#[test]
fn creating_holds_the_lease_with_no_transitions_yet() {
    let spec = created_spec(&config(), wall(0));
    assert_eq!(spec.holder_identity.as_deref(), Some(ME));
    assert_eq!(spec.lease_transitions, Some(0));
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert_eq!(spec.acquire_time, Some(MicroTime(wall(0))));
}

#[test]
fn releasing_clears_the_holder_and_keeps_the_transition_count() {
    let current = lease(ME).spec;
    let spec = released_spec(current.as_ref(), wall(0));
    assert_eq!(spec.holder_identity, None);
    assert_eq!(spec.lease_duration_seconds, Some(1));
    assert_eq!(spec.lease_transitions, Some(3));
    let released = Lease {
        spec: Some(spec),
        ..lease(ME)
    };
    let observed = Observed::update(None, released, Instant::now());
    assert_eq!(
        decide(
            &config().with_identity(OTHER),
            Some(&observed),
            Role::Candidate,
            Instant::now()
        ),
        Decision::Acquire,
        "a standby takes a released Lease without waiting"
    );
}
