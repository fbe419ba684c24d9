//! What a Deployment's pod template says about its simulated behaviour: error rate, latency, readiness.

use std::hash::{Hash, Hasher};

use serde_json::Value;

/// Annotation: fraction of requests failing (`"0.05"`).
pub const ERROR_RATE_ANNOTATION: &str = "sim.serin.dev/error-rate";
/// Annotation: mean latency in milliseconds (`"40"`).
pub const LATENCY_ANNOTATION: &str = "sim.serin.dev/latency-ms";
/// Annotation: `"false"` keeps the revision from ever becoming ready.
pub const READY_ANNOTATION: &str = "sim.serin.dev/ready";

const DEFAULT_LATENCY_MS: f64 = 20.0;

/// Behaviour of one pod template revision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    /// Hash of the pod template (the "pod-template-hash").
    pub(crate) hash: String,
    pub(crate) error_rate: f64,
    pub(crate) latency_ms: f64,
    pub(crate) becomes_ready: bool,
}

impl Profile {
    /// Reads the profile of a workload's `spec.template`.
    pub(crate) fn of(workload: &Value) -> Self {
        let template = &workload["spec"]["template"];
        let annotations = &template["metadata"]["annotations"];
        let number = |key: &str| {
            annotations[key]
                .as_str()
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        Self {
            hash: template_hash(template),
            error_rate: number(ERROR_RATE_ANNOTATION).unwrap_or(0.0).clamp(0.0, 1.0),
            latency_ms: number(LATENCY_ANNOTATION)
                .unwrap_or(DEFAULT_LATENCY_MS)
                .max(0.0),
            becomes_ready: annotations[READY_ANNOTATION].as_str() != Some("false"),
        }
    }

    /// Pod names `<workload>-<hash>-<suffix>` for `replicas` pods.
    pub(crate) fn pod_names(&self, workload: &str, replicas: usize) -> Vec<String> {
        (0..replicas)
            .map(|i| format!("{workload}-{}-{}", self.hash, suffix(&self.hash, i)))
            .collect()
    }
}

const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn encode(mut value: u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            let digit = usize::try_from(value % 27).unwrap_or(0);
            value /= 27;
            char::from(ALPHABET[digit])
        })
        .collect()
}

fn suffix(hash: &str, index: usize) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (hash, index).hash(&mut hasher);
    encode(hasher.finish(), 5)
}

/// A stable 10-character hash of a pod template.
pub(crate) fn template_hash(template: &Value) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    template.to_string().hash(&mut hasher);
    encode(hasher.finish(), 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn annotations_define_the_profile_and_pod_names_match_flagger_regexes() {
        let workload = json!({"spec": {"template": {"metadata": {"annotations": {
            ERROR_RATE_ANNOTATION: "0.05", LATENCY_ANNOTATION: "40", READY_ANNOTATION: "false"}}}}});
        let profile = Profile::of(&workload);
        assert!((profile.error_rate - 0.05).abs() < 1e-9);
        assert!((profile.latency_ms - 40.0).abs() < 1e-9);
        assert!(!profile.becomes_ready);
        let names = profile.pod_names("podinfo", 2);
        assert_eq!(names.len(), 2);
        let parts: Vec<&str> = names[0].split('-').collect();
        assert_eq!((parts.len(), parts[1].len(), parts[2].len()), (3, 10, 5));
        assert!(
            names[0]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        );
    }
}
