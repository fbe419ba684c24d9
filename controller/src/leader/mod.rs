//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several controller replicas
//! only one writes to the cluster at a time.
//!
//! # Protocol
//!
//! Every retry period each candidate reads the Lease (`serin-leader` by default) and decides,
//! in a pure function tested table-style:
//!
//! - no Lease: create it, holding it;
//! - held by this candidate: renew it (new `renewTime`);
//! - released (empty `holderIdentity`), or held by another whose record has not changed for
//!   `leaseDurationSeconds` *by this candidate's clock since it saw the record change*: take it
//!   over, with `acquireTime` now and `leaseTransitions` plus one;
//! - otherwise wait.
//!
//! Every write is a replace at the `resourceVersion` read, so of two candidates racing for an
//! expired Lease one gets 409 Conflict and stays a standby. A leader stops leading *at once*
//! (the watch value turns `false`) when no renewal has succeeded for the renew deadline, when a
//! read shows the Lease held by someone else or gone, or when a renewal conflicts. Because the
//! renew deadline is shorter than the lease duration, the old leader has stopped before any
//! standby may take over. API errors and timeouts (each call gets half the renew deadline) are
//! logged with [`Error::category`] and retried; while leading they count toward the deadline.
//! On shutdown a leader first reports `false`, then releases the Lease (no holder, one-second
//! duration) so a standby takes over at its next attempt rather than after the lease duration.
//!
//! # Use in the controller
//!
//! Writes happen only on the leader, and stop the moment leadership is lost. Run the
//! kube-runtime `Controller` only while leading and *drop* its future when leadership goes:
//! the `Controller` aborts the reconcile tasks it spawned when its stream is dropped, so every
//! in-flight reconcile stops at its next `.await` and no write starts after the loss. (Passing [`Leadership::lost`] to `graceful_shutdown_on` instead would let running
//! reconciles finish their writes.) After the loop, let the elector release the Lease, so that
//! the release follows the last write:
//!
//! ```no_run
//! use serin_controller::leader::{LeaderElectionConfig, LeaderElector};
//!
//! # async fn run_controller() {}
//! # async fn shutdown_signal() {}
//! # async fn example(client: kube::Client) -> Result<(), serin_controller::leader::Error> {
//! let elector = LeaderElector::new(client, LeaderElectionConfig::new("serin-system"))?;
//! let mut leadership = elector.leadership();
//! let (release, may_release) = tokio::sync::oneshot::channel::<()>();
//! let elector = tokio::spawn(elector.run(async {
//!     let _ = may_release.await;
//! }));
//! let shutdown = shutdown_signal();
//! tokio::pin!(shutdown);
//! loop {
//!     tokio::select! {
//!         () = &mut shutdown => break,
//!         won = leadership.wait_for_leadership() => won?,
//!     }
//!     tokio::select! {
//!         () = run_controller() => break,
//!         () = leadership.lost() => tracing::warn!("leadership lost: reconciles cancelled"),
//!         () = &mut shutdown => break,
//!     }
//! }
//! let _ = release.send(());
//! let _ = elector.await;
//! # Ok(())
//! # }
//! ```
//!
//! `run_controller()` is `reconcile::run(ctx, std::future::pending())`, or with a graceful
//! shutdown signal of its own. Code that writes outside the `Controller` (webhooks, one-off
//! jobs) checks [`Leadership::is_leader`] just before writing, or races its work against
//! [`Leadership::lost`].
//!
//! # The write fence
//!
//! Cancelling reconciles relies on the elector noticing the loss. A process frozen for longer
//! than the lease (SIGSTOP, a stalled node) wakes up with its tasks runnable *before* its
//! elector's timer fires. The [`WriteFence`] closes that gap: the elector opens it with the
//! start time of each successful renewal and closes it when it stops leading, and serin's API
//! client (`crate::client`) asks it, on the monotonic clock, right before every mutating
//! request other than the elector's own Lease; a write whose renewal is as old as the renew
//! deadline fails with [`Fenced`] without being sent. Build the fence from the election
//! settings, hand a clone to the client, and give it to the elector with
//! [`LeaderElector::with_write_fence`]. A request already on the wire when leadership is lost may still land;
//! the gap between renew deadline and lease duration (5 s by default) covers it, provided each
//! write has a timeout shorter than that gap. A simpler alternative to the loop is to exit the
//! process when leadership is lost and let Kubernetes restart it as a standby.

mod config;
mod decision;
mod elector;
mod error;
mod fence;
mod store;

pub use config::{DEFAULT_LEASE_NAME, LeaderElectionConfig, default_identity};
pub use elector::{LeaderElector, Leadership};
pub use error::{Error, Operation};
pub use fence::{Fenced, WriteFence};
