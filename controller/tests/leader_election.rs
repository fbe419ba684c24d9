//! Leader election against the in-process Kubernetes API emulator, in real time with short
//! timings (lease 2 s, renew deadline 1.5 s, retry 0.2 s): mutual exclusion, hand-over on
//! graceful stop and on crash, stepping down when the API is unreachable, and the transition
//! count.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use serin_controller::leader::{Error, LeaderElectionConfig, LeaderElector, Leadership};
use serin_sim::{FaultConfig, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const NAMESPACE: &str = "default";
const LEASE: &str = "serin-leader";
const LEASE_DURATION: Duration = Duration::from_secs(2);
const RENEW_DEADLINE: Duration = Duration::from_millis(1500);
const RETRY_PERIOD: Duration = Duration::from_millis(200);

fn config(identity: &str) -> LeaderElectionConfig {
    LeaderElectionConfig::new(NAMESPACE)
        .with_identity(identity)
        .with_timings(LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD)
}

/// One running elector.
struct Candidate {
    leadership: Leadership,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Candidate {
    fn start(server: &Server, identity: &str) -> Self {
        let client = server.client().expect("emulator client");
        let elector = LeaderElector::new(client, config(identity)).expect("valid settings");
        let leadership = elector.leadership();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(elector.run(async {
            let _ = stopped.await;
        }));
        Self {
            leadership,
            stop,
            task,
        }
    }

    fn is_leader(&self) -> bool {
        self.leadership.is_leader()
    }

    /// Shuts down gracefully and waits for the Lease to be released.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the elector ends cleanly");
    }

    /// Simulates a crash: the task is dropped mid-flight and releases nothing.
    async fn crash(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Polls `condition` every 20 ms until it holds, failing after `limit`; returns the time taken.
async fn within(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tick.tick().await;
        if condition() {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
    }
}

async fn lease(server: &Server) -> Lease {
    let api: Api<Lease> = Api::namespaced(server.client().expect("emulator client"), NAMESPACE);
    api.get(LEASE).await.expect("the Lease exists")
}

async fn holder_and_transitions(server: &Server) -> (Option<String>, Option<i32>) {
    let spec = lease(server).await.spec.expect("the Lease has a spec");
    (spec.holder_identity, spec.lease_transitions)
}

#[tokio::test]
async fn exactly_one_of_two_candidates_is_leader_at_every_sample() {
    let server = Server::start_default().await.expect("emulator");
    let a = Candidate::start(&server, "serin-a");
    let b = Candidate::start(&server, "serin-b");
    within(Duration::from_secs(3), "one candidate leads", || {
        a.is_leader() || b.is_leader()
    })
    .await;
    let mut sample = tokio::time::interval(Duration::from_millis(50));
    let mut samples = 0;
    let sampling = Instant::now();
    while sampling.elapsed() < Duration::from_secs(3) {
        sample.tick().await;
        let leaders = u8::from(a.is_leader()) + u8::from(b.is_leader());
        assert_eq!(leaders, 1, "exactly one leader at sample {samples}");
        samples += 1;
    }
    assert!(samples >= 50, "sampled {samples} times");
    let leader = if a.is_leader() { "serin-a" } else { "serin-b" };
    let (holder, transitions) = holder_and_transitions(&server).await;
    assert_eq!(holder.as_deref(), Some(leader));
    assert_eq!(
        transitions,
        Some(0),
        "nobody took over from the first leader"
    );
    a.stop().await;
    b.stop().await;
}

/// Samples for `period` that `condition` holds every 50 ms.
async fn throughout(period: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while started.elapsed() < period {
        tick.tick().await;
        assert!(condition(), "{what} after {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn a_gracefully_stopped_leader_hands_over_well_within_the_lease_duration() {
    let server = Server::start_default().await.expect("emulator");
    let a = Candidate::start(&server, "serin-a");
    within(Duration::from_secs(2), "the first candidate leads", || {
        a.is_leader()
    })
    .await;
    let b = Candidate::start(&server, "serin-b");
    throughout(
        RETRY_PERIOD * 3,
        "the standby waits while the leader holds",
        || !b.is_leader(),
    )
    .await;
    let stopping = Instant::now();
    a.stop().await;
    within(Duration::from_secs(1), "the standby leads", || {
        b.is_leader()
    })
    .await;
    let handed_over = stopping.elapsed();
    eprintln!("graceful hand-over took {handed_over:?}");
    assert!(
        handed_over < LEASE_DURATION / 2,
        "hand-over took {handed_over:?}"
    );
    let (holder, transitions) = holder_and_transitions(&server).await;
    assert_eq!(holder.as_deref(), Some("serin-b"));
    assert_eq!(transitions, Some(1));
    b.stop().await;
}

#[tokio::test]
async fn a_crashed_leader_is_replaced_once_its_lease_expires() {
    let server = Server::start_default().await.expect("emulator");
    let a = Candidate::start(&server, "serin-a");
    within(Duration::from_secs(2), "the first candidate leads", || {
        a.is_leader()
    })
    .await;
    let b = Candidate::start(&server, "serin-b");
    throughout(
        RETRY_PERIOD * 3,
        "the standby waits while the leader holds",
        || !b.is_leader(),
    )
    .await;
    let a_leadership = a.leadership.clone();
    let crashed = Instant::now();
    a.crash().await;
    assert!(
        !a_leadership.is_leader(),
        "an aborted elector does not claim leadership"
    );
    within(Duration::from_secs(5), "the standby leads", || {
        b.is_leader()
    })
    .await;
    let took_over = crashed.elapsed();
    eprintln!("takeover after a crash: {took_over:?}");
    // The crashed leader renewed at most one retry period before the crash; the standby waits
    // a full lease duration from when it saw that renewal.
    assert!(
        took_over + RETRY_PERIOD * 2 >= LEASE_DURATION,
        "took over after only {took_over:?}: the crashed leader's lease was not honoured"
    );
    assert!(
        took_over < LEASE_DURATION * 2,
        "took over after {took_over:?}"
    );
    let (holder, transitions) = holder_and_transitions(&server).await;
    assert_eq!(holder.as_deref(), Some("serin-b"));
    assert_eq!(transitions, Some(1));
    b.stop().await;
}

#[tokio::test]
async fn a_leader_that_cannot_reach_the_api_steps_down_within_the_renew_deadline() {
    let server = Server::start_default().await.expect("emulator");
    let a = Candidate::start(&server, "serin-a");
    within(Duration::from_secs(2), "the candidate leads", || {
        a.is_leader()
    })
    .await;
    server.faults().set(FaultConfig {
        error_500: 1.0,
        ..FaultConfig::default()
    });
    let broken = Instant::now();
    let stepped_down = within(Duration::from_secs(3), "the leader steps down", || {
        !a.is_leader()
    })
    .await;
    eprintln!("stepped down {stepped_down:?} after the API broke");
    // Its last renewal was at most one retry period before the API broke.
    assert!(
        stepped_down + RETRY_PERIOD * 2 >= RENEW_DEADLINE,
        "stepped down after only {stepped_down:?}"
    );
    assert!(
        broken.elapsed() <= RENEW_DEADLINE + RETRY_PERIOD,
        "stepped down after {:?}",
        broken.elapsed()
    );
    server.faults().set(FaultConfig::default());
    within(Duration::from_secs(2), "the candidate leads again", || {
        a.is_leader()
    })
    .await;
    let (holder, transitions) = holder_and_transitions(&server).await;
    assert_eq!(holder.as_deref(), Some("serin-a"));
    assert_eq!(
        transitions,
        Some(0),
        "resuming its own Lease is no transition"
    );
    a.stop().await;
}

#[tokio::test]
async fn lease_transitions_count_each_new_leader() {
    let server = Server::start_default().await.expect("emulator");
    for (expected, identity) in (0..).zip(["serin-a", "serin-b", "serin-c"]) {
        let candidate = Candidate::start(&server, identity);
        // Each predecessor released the Lease, so the newcomer need not wait it out.
        within(Duration::from_secs(1), "the newcomer leads", || {
            candidate.is_leader()
        })
        .await;
        let (holder, transitions) = holder_and_transitions(&server).await;
        assert_eq!(holder.as_deref(), Some(identity));
        assert_eq!(transitions, Some(expected));
        candidate.stop().await;
    }
    let released = lease(&server).await.spec.expect("the Lease has a spec");
    assert_eq!(
        released.holder_identity, None,
        "the last leader released it"
    );
    assert_eq!(released.lease_transitions, Some(2));
}

#[tokio::test]
async fn unsafe_timings_are_refused_before_any_leader_runs() {
    let server = Server::start_default().await.expect("emulator");
    let client = server.client().expect("emulator client");
    let renew_as_long_as_lease =
        config("serin-a").with_timings(LEASE_DURATION, LEASE_DURATION, RETRY_PERIOD);
    assert!(matches!(
        LeaderElector::new(client, renew_as_long_as_lease),
        Err(Error::InvalidConfig(_))
    ));
}
