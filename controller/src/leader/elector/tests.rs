//! The election loop against an in-memory Lease store, with paused time: exact timings of
//! renewals, step-downs and takeovers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::ObjectMeta;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

use super::{Leadership, campaign};
use crate::leader::store::LeaseStore;
use crate::leader::{Error, Fenced, LeaderElectionConfig, Operation, WriteFence};

const ME: &str = "serin-a";
const OTHER: &str = "serin-b";
const RENEW_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Working,
    /// Every call fails at once.
    Failing,
    /// Every call hangs until the mode changes.
    Hanging,
    /// Reads work, writes conflict.
    Conflicting,
}

#[derive(Debug)]
struct Memory {
    lease: Option<Lease>,
    version: u64,
    mode: Mode,
}

#[derive(Debug, Clone)]
struct MemoryStore(Arc<Mutex<Memory>>);

impl MemoryStore {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Memory {
            lease: None,
            version: 0,
            mode: Mode::Working,
        })))
    }

    fn holding(holder: &str, transitions: i32) -> Self {
        let store = Self::new();
        store.put(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(15),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        });
        store
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        self.0.lock().expect("memory store lock")
    }

    fn set_mode(&self, mode: Mode) {
        self.memory().mode = mode;
    }

    fn spec(&self) -> LeaseSpec {
        self.memory()
            .lease
            .as_ref()
            .and_then(|lease| lease.spec.clone())
            .expect("the Lease exists")
    }

    fn version(&self) -> u64 {
        self.memory().version
    }

    /// Writes the Lease as another party would, bumping its version.
    fn put(&self, spec: LeaseSpec) -> Lease {
        let mut memory = self.memory();
        memory.version += 1;
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some("serin-leader".to_owned()),
                resource_version: Some(memory.version.to_string()),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
        };
        memory.lease = Some(lease.clone());
        lease
    }

    async fn gate(&self, operation: Operation, is_write: bool) -> Result<(), Error> {
        let mut mode = self.memory().mode;
        while mode == Mode::Hanging {
            sleep(Duration::from_millis(100)).await;
            mode = self.memory().mode;
        }
        match mode {
            Mode::Working | Mode::Hanging => Ok(()),
            Mode::Conflicting if !is_write => Ok(()),
            Mode::Conflicting => Err(Error::Conflict { operation }),
            Mode::Failing => Err(Error::Timeout {
                operation,
                timeout: Duration::ZERO,
            }),
        }
    }
}

impl LeaseStore for MemoryStore {
    async fn get(&self) -> Result<Option<Lease>, Error> {
        self.gate(Operation::Read, false).await?;
        Ok(self.memory().lease.clone())
    }

    async fn create(&self, spec: LeaseSpec) -> Result<Lease, Error> {
        self.gate(Operation::Create, true).await?;
        if self.memory().lease.is_some() {
            return Err(Error::Conflict {
                operation: Operation::Create,
            });
        }
        Ok(self.put(spec))
    }

    async fn replace(
        &self,
        operation: Operation,
        current: &Lease,
        spec: LeaseSpec,
    ) -> Result<Lease, Error> {
        self.gate(operation, true).await?;
        let stored = self
            .memory()
            .lease
            .as_ref()
            .and_then(|lease| lease.metadata.resource_version.clone());
        if stored != current.metadata.resource_version {
            return Err(Error::Conflict { operation });
        }
        Ok(self.put(spec))
    }
}

struct Running {
    leadership: Leadership,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
    fence: WriteFence,
}

fn start(store: &MemoryStore) -> Running {
    let config = LeaderElectionConfig::new("serin-system").with_identity(ME);
    config.validate().expect("valid test settings");
    let (leading, receiver) = watch::channel(false);
    let (shutdown, stop) = oneshot::channel::<()>();
    let store = store.clone();
    let fence = WriteFence::new(&config);
    let elector_fence = fence.clone();
    let task = tokio::spawn(async move {
        campaign(&config, &store, &leading, &elector_fence, async {
            let _ = stop.await;
        })
        .await;
    });
    Running {
        leadership: Leadership { leading: receiver },
        shutdown,
        task,
        fence,
    }
}

impl Running {
    async fn lead(&mut self) -> Instant {
        self.leadership
            .wait_for_leadership()
            .await
            .expect("the elector runs");
        Instant::now()
    }

    async fn stop(self) -> Leadership {
        let _ = self.shutdown.send(());
        self.task.await.expect("the elector task ends cleanly");
        self.leadership
    }
}

#[tokio::test(start_paused = true)]
async fn a_lone_candidate_creates_the_lease_and_leads_at_once() {
    let store = MemoryStore::new();
    let started = Instant::now();
    let mut running = start(&store);
    assert_eq!(running.lead().await, started);
    let spec = store.spec();
    assert_eq!(spec.holder_identity.as_deref(), Some(ME));
    assert_eq!(spec.lease_transitions, Some(0));
    assert_eq!(spec.lease_duration_seconds, Some(15));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_renews_once_per_retry_period() {
    let store = MemoryStore::new();
    let mut running = start(&store);
    running.lead().await;
    let created = store.version();
    sleep(Duration::from_millis(6_100)).await;
    assert_eq!(store.version(), created + 3, "renewals at 2 s, 4 s and 6 s");
    assert!(running.leadership.is_leader());
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_whose_calls_fail_steps_down_exactly_at_the_renew_deadline() {
    let store = MemoryStore::new();
    let mut running = start(&store);
    let renewed_at = running.lead().await;
    store.set_mode(Mode::Failing);
    running.leadership.lost().await;
    assert_eq!(renewed_at.elapsed(), RENEW_DEADLINE);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_whose_calls_hang_steps_down_exactly_at_the_renew_deadline() {
    let store = MemoryStore::new();
    let mut running = start(&store);
    let renewed_at = running.lead().await;
    store.set_mode(Mode::Hanging);
    running.leadership.lost().await;
    assert_eq!(renewed_at.elapsed(), RENEW_DEADLINE);
    store.set_mode(Mode::Working);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_write_fence_is_open_while_leading_and_closes_with_leadership() {
    let store = MemoryStore::new();
    let mut running = start(&store);
    assert_eq!(running.fence.check(Instant::now()), Err(Fenced::NotLeader));
    let renewed_at = running.lead().await;
    assert_eq!(running.fence.check(Instant::now()), Ok(()));
    store.set_mode(Mode::Hanging);
    // Just before the deadline the fence is open; at the deadline it is shut even for a
    // caller that asks before the elector's own timer has fired.
    sleep(Duration::from_millis(9_999)).await;
    assert_eq!(running.fence.check(Instant::now()), Ok(()));
    assert!(running.fence.check(renewed_at + RENEW_DEADLINE).is_err());
    running.leadership.lost().await;
    assert_eq!(running.fence.check(Instant::now()), Err(Fenced::NotLeader));
    store.set_mode(Mode::Working);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_outage_shorter_than_the_renew_deadline_keeps_the_leader() {
    let store = MemoryStore::new();
    let mut running = start(&store);
    running.lead().await;
    store.set_mode(Mode::Failing);
    sleep(Duration::from_secs(7)).await;
    store.set_mode(Mode::Working);
    let mut leading = running.leadership.watch();
    leading.mark_unchanged();
    sleep(Duration::from_secs(20)).await;
    assert!(
        !leading.has_changed().expect("the elector runs"),
        "leadership never flickered"
    );
    assert!(running.leadership.is_leader());
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_conflicting_renewal_steps_down_at_the_next_renewal() {
    let store = MemoryStore::new();
    let mut running = start(&store);
    let renewed_at = running.lead().await;
    store.set_mode(Mode::Conflicting);
    running.leadership.lost().await;
    assert_eq!(renewed_at.elapsed(), Duration::from_secs(2));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_sees_another_holder_steps_down_at_the_next_read() {
    let store = MemoryStore::new();
    let mut running = start(&store);
    let renewed_at = running.lead().await;
    sleep(Duration::from_millis(500)).await;
    store.put(LeaseSpec {
        holder_identity: Some(OTHER.to_owned()),
        ..store.spec()
    });
    running.leadership.lost().await;
    assert_eq!(renewed_at.elapsed(), Duration::from_secs(2));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_standby_takes_over_an_abandoned_lease_after_the_lease_duration() {
    let store = MemoryStore::holding(OTHER, 3);
    let started = Instant::now();
    let mut running = start(&store);
    let took_over = running.lead().await - started;
    // Expiry at 15 s by the standby's clock, noticed at the first attempt after it; attempts
    // are at most 2.4 s apart.
    assert!(
        took_over >= Duration::from_secs(15) && took_over <= Duration::from_millis(17_400),
        "took over after {took_over:?}"
    );
    let spec = store.spec();
    assert_eq!(spec.holder_identity.as_deref(), Some(ME));
    assert_eq!(spec.lease_transitions, Some(4));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_standby_waits_as_long_as_the_holder_keeps_renewing() {
    let store = MemoryStore::holding(OTHER, 0);
    let mut running = start(&store);
    for renewal in 1..=20 {
        sleep(Duration::from_secs(2)).await;
        assert!(!running.leadership.is_leader(), "still standing by");
        store.put(LeaseSpec {
            renew_time: None,
            lease_transitions: Some(renewal),
            ..store.spec()
        });
    }
    let last_renewal = Instant::now();
    let took_over = running.lead().await - last_renewal;
    assert!(
        took_over >= Duration::from_secs(15),
        "took over after {took_over:?}"
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_leading_and_releases_the_lease() {
    let store = MemoryStore::new();
    let mut running = start(&store);
    running.lead().await;
    let mut leadership = running.stop().await;
    assert!(!leadership.is_leader());
    assert!(matches!(
        leadership.wait_for_leadership().await,
        Err(Error::Stopped)
    ));
    let spec = store.spec();
    assert_eq!(spec.holder_identity, None);
    assert_eq!(spec.lease_duration_seconds, Some(1));
    assert_eq!(spec.lease_transitions, Some(0));
}

#[tokio::test(start_paused = true)]
async fn a_standby_shutting_down_leaves_the_lease_alone() {
    let store = MemoryStore::holding(OTHER, 2);
    let running = start(&store);
    sleep(Duration::from_secs(3)).await;
    let version = store.version();
    running.stop().await;
    assert_eq!(store.version(), version);
    assert_eq!(store.spec().holder_identity.as_deref(), Some(OTHER));
}
