//! Errors of the people-facing commands, each worded so that a person knows what to do next.

use std::fmt::Write as _;
use std::time::Duration;

/// A Kubernetes API call, named for error messages: `list canaries in namespace test`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// `get`, `list`, `watch`, `patch`.
    pub verb: &'static str,
    /// Plural resource with its group, as RBAC names it: `canaries.flagger.app`.
    pub resource: &'static str,
    /// Namespace, when the call has one.
    pub namespace: Option<String>,
}

impl Op {
    /// An operation in `namespace` (`None`: all namespaces).
    pub fn new(verb: &'static str, resource: &'static str, namespace: Option<&str>) -> Op {
        Op {
            verb,
            resource,
            namespace: namespace.map(str::to_owned),
        }
    }

    fn place(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("in namespace {ns}"),
            None => "in all namespaces".to_owned(),
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The kubeconfig could not be read or used.
    #[error(
        "cannot use {what}: {message} (point --kubeconfig or $KUBECONFIG at a kubeconfig, or pick one with --context)"
    )]
    Kubeconfig {
        /// The file or setting.
        what: String,
        /// What went wrong.
        message: String,
    },
    /// The API server did not answer.
    #[error(
        "cannot reach the Kubernetes API at {server}: {message} (is the cluster running, and is this the right --context?)"
    )]
    Unreachable {
        /// Its address.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// The cluster does not serve serin's API.
    #[error(
        "the cluster at {server} has no serin CRDs (canaries.flagger.app, v1beta1); install them with `serin crds | kubectl apply -f -` (see docs/install.md)"
    )]
    NoCrds {
        /// The API server's address.
        server: String,
    },
    /// No Canary of that name.
    #[error("{}", not_found_message(name, namespace, existing, elsewhere))]
    NotFound {
        /// The name asked for.
        name: String,
        /// Where it was looked for.
        namespace: String,
        /// Canaries in that namespace.
        existing: Vec<String>,
        /// Canaries of that name in other namespaces (`namespace/name`).
        elsewhere: Vec<String>,
    },
    /// RBAC refused a call.
    #[error("not allowed to {} {} {}: {message} (ask for `{}` on `{}`)", op.verb, op.resource, op.place(), op.verb, op.resource)]
    Forbidden {
        /// The call.
        op: Op,
        /// The API server's message.
        message: String,
    },
    /// Another API error.
    #[error("{} {} {} failed: {message}", op.verb, op.resource, op.place())]
    Api {
        /// The call.
        op: Op,
        /// HTTP status code, 0 when there was no answer.
        code: u16,
        /// The API server's message.
        message: String,
    },
    /// The controller acknowledged a request and did not act on it.
    #[error("{action} of {canary} refused by serin: {reason}")]
    Refused {
        /// `promote`, `abort`, ...
        action: &'static str,
        /// `namespace/name`.
        canary: String,
        /// The controller's reason.
        reason: String,
    },
    /// The controller did not acknowledge a request in time.
    #[error("{action} of {canary}: serin did not acknowledge the request within {}; {state}", humantime::format_duration(*waited))]
    Timeout {
        /// `promote`, `abort`, ...
        action: &'static str,
        /// `namespace/name`.
        canary: String,
        /// How long the command waited.
        waited: Duration,
        /// What the Canary said when the command gave up, and what became of the request.
        state: String,
    },
    /// A flag or argument cannot be used.
    #[error("{0}")]
    Usage(String),
    /// Writing output, or a local server, failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn not_found_message(
    name: &str,
    namespace: &str,
    existing: &[String],
    elsewhere: &[String],
) -> String {
    let mut text = format!("no Canary {name:?} in namespace {namespace}");
    if existing.is_empty() {
        text.push_str("; it has no Canaries");
    } else {
        let _ = write!(text, "; Canaries there: {}", existing.join(", "));
    }
    if !elsewhere.is_empty() {
        let _ = write!(
            text,
            "; {name:?} exists as {} (use -n)",
            elsewhere.join(", ")
        );
    }
    text
}

impl CliError {
    /// A low-cardinality label for the error.
    pub fn category(&self) -> &'static str {
        match self {
            CliError::Kubeconfig { .. } => "kubeconfig",
            CliError::Unreachable { .. } => "unreachable",
            CliError::NoCrds { .. } => "no_crds",
            CliError::NotFound { .. } => "not_found",
            CliError::Forbidden { .. } => "forbidden",
            CliError::Api { .. } => "api",
            CliError::Refused { .. } => "refused",
            CliError::Timeout { .. } => "timeout",
            CliError::Usage(_) => "usage",
            CliError::Io(_) => "io",
        }
    }

    /// Classifies a kube error from `op` against `server`. A 404 is returned as
    /// [`CliError::Api`] with code 404: only the caller knows whether the object or the whole
    /// resource type is missing.
    pub fn from_kube(op: Op, server: &str, error: kube::Error) -> CliError {
        match error {
            kube::Error::Api(status) if status.code == 403 => CliError::Forbidden {
                op,
                message: status.message,
            },
            kube::Error::Api(status) => CliError::Api {
                op,
                code: status.code,
                message: if status.message.is_empty() {
                    status.reason
                } else {
                    status.message
                },
            },
            kube::Error::HyperError(e) => CliError::Unreachable {
                server: server.to_owned(),
                message: e.to_string(),
            },
            kube::Error::Service(e) => CliError::Unreachable {
                server: server.to_owned(),
                message: source_chain(e.as_ref()),
            },
            other => CliError::Api {
                op,
                code: 0,
                message: other.to_string(),
            },
        }
    }

    /// Whether this is an API answer with HTTP status `code`.
    pub fn is_status(&self, code: u16) -> bool {
        matches!(self, CliError::Api { code: c, .. } if *c == code)
    }
}

fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure(message, "Forbidden").with_code(code),
        ))
    }

    #[test]
    fn a_forbidden_answer_names_the_verb_the_resource_and_the_namespace() {
        let op = Op::new("patch", "canaries.flagger.app", Some("test"));
        let message = r#"canaries.flagger.app "podinfo" is forbidden: User "jane" cannot patch resource "canaries" in API group "flagger.app" in the namespace "test""#;
        let e = CliError::from_kube(op, "https://k8s", status(403, message));
        assert_eq!(e.category(), "forbidden");
        let text = e.to_string();
        assert!(
            text.starts_with("not allowed to patch canaries.flagger.app in namespace test: "),
            "{text}"
        );
        assert!(text.contains(r#"User "jane" cannot patch"#), "{text}");
        assert!(
            text.ends_with("(ask for `patch` on `canaries.flagger.app`)"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_canary_lists_the_ones_there_and_the_same_name_elsewhere() {
        let e = CliError::NotFound {
            name: "podinfo".into(),
            namespace: "default".into(),
            existing: vec!["frontend".into(), "backend".into()],
            elsewhere: vec!["test/podinfo".into()],
        };
        assert_eq!(
            e.to_string(),
            r#"no Canary "podinfo" in namespace default; Canaries there: frontend, backend; "podinfo" exists as test/podinfo (use -n)"#
        );
        let none = CliError::NotFound {
            name: "x".into(),
            namespace: "prod".into(),
            existing: vec![],
            elsewhere: vec![],
        };
        assert_eq!(
            none.to_string(),
            r#"no Canary "x" in namespace prod; it has no Canaries"#
        );
    }
}
