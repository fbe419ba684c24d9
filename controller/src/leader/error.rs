//! Errors of leader election, classified for logs and metric labels.

use std::fmt;
use std::time::Duration;

/// One call the elector makes to the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Reading the Lease.
    Read,
    /// Creating the Lease when none exists.
    Create,
    /// Replacing the Lease at the `resourceVersion` last read (acquire or renew).
    Update,
    /// Replacing the Lease to give it up on shutdown.
    Release,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Read => "read",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Release => "release",
        })
    }
}

/// Why leader election could not start or one of its steps failed.
///
/// Only [`Error::InvalidConfig`] stops anything; every other error is logged, and while leading it
/// counts toward the renew deadline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings cannot give a safe election (for example a renew deadline not shorter than
    /// the lease duration).
    #[error("invalid leader election settings: {0}")]
    InvalidConfig(String),
    /// The call did not answer in time.
    #[error("{operation} of the Lease timed out after {timeout:?}")]
    Timeout {
        /// The call.
        operation: Operation,
        /// The time allowed.
        timeout: Duration,
    },
    /// The Lease changed since it was read, or was created by someone else first.
    #[error("{operation} of the Lease lost a race: another candidate wrote it first")]
    Conflict {
        /// The call.
        operation: Operation,
    },
    /// The API server or the connection to it answered with an error.
    #[error("{operation} of the Lease failed: {source}")]
    Api {
        /// The call.
        operation: Operation,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// The Lease read has no `resourceVersion`, so an update could not be made conditional.
    #[error("the Lease has no resourceVersion; refusing an unconditional update")]
    NoResourceVersion,
    /// The elector has stopped, so leadership will not come.
    #[error("the leader elector has stopped")]
    Stopped,
}

impl Error {
    /// A low-cardinality label for metrics and log fields.
    pub fn category(&self) -> &'static str {
        match self {
            Error::InvalidConfig(_) => "invalid_config",
            Error::Timeout { .. } => "timeout",
            Error::Conflict { .. } => "conflict",
            Error::Api { source, .. } => match source {
                kube::Error::Api(status) => match status.code {
                    401 | 403 => "forbidden",
                    429 => "throttled",
                    500..=599 => "server_error",
                    _ => "api_error",
                },
                _ => "transport",
            },
            Error::NoResourceVersion => "no_resource_version",
            Error::Stopped => "stopped",
        }
    }

    /// Classifies a client error; 409 (changed since read, or already exists) is a lost race.
    pub(crate) fn from_kube(operation: Operation, source: kube::Error) -> Self {
        match &source {
            kube::Error::Api(status) if status.code == 409 => Error::Conflict { operation },
            _ => Error::Api { operation, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> Error {
        let status = kube::core::Status {
            code,
            ..kube::core::Status::default()
        };
        Error::from_kube(Operation::Update, kube::Error::Api(Box::new(status)))
    }

    #[test]
    fn a_409_is_a_lost_race_and_other_codes_keep_their_class() {
        assert!(matches!(api_error(409), Error::Conflict { .. }));
        assert_eq!(api_error(409).category(), "conflict");
        assert_eq!(api_error(403).category(), "forbidden");
        assert_eq!(api_error(429).category(), "throttled");
        assert_eq!(api_error(503).category(), "server_error");
        assert_eq!(api_error(422).category(), "api_error");
    }
}
