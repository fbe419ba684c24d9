//! Revision identity: stable hashes of the target's pod template and configs, and the adoption
//! of a status that Flagger wrote with hashes serin cannot reproduce.

use std::collections::BTreeMap;

use serde_json::Value;
use serin_crds::CanaryStatus;

use super::observations::TargetRevision;

/// Prefix of every hash serin writes; a hash without it was written by another controller.
pub const HASH_PREFIX: &str = "fnv1a128:";

/// Hash of a pod template. Map keys serialize sorted, so equal templates hash equally whatever
/// order their fields arrived in.
pub fn template_hash(template: &Value) -> String {
    hash_bytes(template.to_string().as_bytes())
}

/// Checksum of a ConfigMap's or Secret's `data` and `binaryData`.
pub fn config_checksum(data: &Value) -> String {
    hash_bytes(data.to_string().as_bytes())
}

/// Identity of a release: the template hash together with every tracked config's checksum.
pub fn revision_id(revision: &TargetRevision) -> String {
    let mut text = revision.template.clone();
    for (name, checksum) in &revision.configs {
        text.push('\n');
        text.push_str(name);
        text.push('=');
        text.push_str(checksum);
    }
    hash_bytes(text.as_bytes())
}

/// Whether serin wrote this hash.
pub fn is_serin_hash(hash: &str) -> bool {
    hash.starts_with(HASH_PREFIX)
}

fn hash_bytes(bytes: &[u8]) -> String {
    // FNV-1a, 128 bits: stable across builds and platforms, unlike `DefaultHasher`.
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME));
    format!("{HASH_PREFIX}{hash:032x}")
}

/// The revisions a status refers to, in serin's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Revisions {
    /// Template hash last observed (`lastAppliedSpec`).
    pub applied: Option<String>,
    /// Template hash the primary runs (`lastPromotedSpec`).
    pub promoted: Option<String>,
    /// Revision id of the current or last release (`lastAttemptedSpec`).
    pub attempted: Option<String>,
    /// Config checksums last observed (`trackedConfigs`).
    pub configs: BTreeMap<String, String>,
}

impl Revisions {
    /// Reads the status. Hashes serin did not write (a Canary Flagger managed) cannot be
    /// recomputed: they are taken to mean the revision observed now, so that taking a Canary
    /// over neither starts a spurious release nor restarts one in flight. A foreign
    /// `lastPromotedSpec` that differs from `lastAppliedSpec` names an older revision and is
    /// kept as it is.
    pub(crate) fn adopt(status: &CanaryStatus, observed: &TargetRevision) -> Revisions {
        let foreign = |h: &Option<String>| h.as_deref().is_some_and(|h| !is_serin_hash(h));
        let applied_foreign = foreign(&status.last_applied_spec);
        let applied = if applied_foreign {
            Some(observed.template.clone())
        } else {
            status.last_applied_spec.clone()
        };
        let promoted = if foreign(&status.last_promoted_spec)
            && status.last_promoted_spec == status.last_applied_spec
        {
            Some(observed.template.clone())
        } else {
            status.last_promoted_spec.clone()
        };
        let configs_foreign = status
            .tracked_configs
            .as_ref()
            .is_some_and(|c| c.values().any(|v| !is_serin_hash(v)));
        let configs = if configs_foreign || applied_foreign {
            observed.configs.clone()
        } else {
            status.tracked_configs.clone().unwrap_or_default()
        };
        let attempted = match &status.last_attempted_spec {
            Some(a) if is_serin_hash(a) => Some(a.clone()),
            _ => applied.as_ref().map(|template| {
                revision_id(&TargetRevision {
                    template: template.clone(),
                    configs: configs.clone(),
                })
            }),
        };
        Revisions {
            applied,
            promoted,
            attempted,
            configs,
        }
    }

    /// Whether the target differs from what was last observed.
    pub(crate) fn changed(&self, observed: &TargetRevision) -> bool {
        self.applied.as_deref() != Some(observed.template.as_str())
            || self.configs != observed.configs
    }

    /// Whether the target is back on the primary's template, configs unchanged.
    pub(crate) fn is_promoted(&self, observed: &TargetRevision) -> bool {
        self.promoted.as_deref() == Some(observed.template.as_str())
            && self.configs == observed.configs
    }

    /// Whether the observed target is the revision of the current release.
    pub(crate) fn is_attempted(&self, observed: &TargetRevision) -> bool {
        self.attempted.as_deref() == Some(revision_id(observed).as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PINNED_EMPTY_OBJECT_HASH: &str = "fnv1a128:0880955dd2ab1be95aa0733055c655b5";

    fn observed(template: &str) -> TargetRevision {
        TargetRevision {
            template: template.to_owned(),
            configs: BTreeMap::new(),
        }
    }

    #[test]
    fn template_hash_ignores_key_order_and_is_stable() {
        let a = json!({"spec": {"containers": [{"name": "app", "image": "a:1"}]}, "metadata": {}});
        let b: Value = serde_json::from_str(
            r#"{"metadata":{},"spec":{"containers":[{"image":"a:1","name":"app"}]}}"#,
        )
        .unwrap();
        assert_eq!(template_hash(&a), template_hash(&b));
        // A stored hash must never change between serin versions: pinned.
        assert_eq!(template_hash(&json!({})), PINNED_EMPTY_OBJECT_HASH);
    }

    #[test]
    fn different_templates_hash_differently() {
        assert_ne!(
            template_hash(&json!({"image": "a:1"})),
            template_hash(&json!({"image": "a:2"}))
        );
    }

    #[test]
    fn serin_hashes_are_recognised_and_flagger_hashes_are_not() {
        assert!(is_serin_hash(&template_hash(&json!({}))));
        assert!(!is_serin_hash("5d8c9f7b6"));
    }

    #[test]
    fn revision_id_changes_with_a_tracked_config() {
        let plain = observed("fnv1a128:01");
        let mut with_config = plain.clone();
        with_config
            .configs
            .insert("ConfigMap/app".into(), "fnv1a128:02".into());
        assert_ne!(revision_id(&plain), revision_id(&with_config));
    }

    #[test]
    fn flagger_hashes_are_adopted_as_the_observed_revision() {
        let status = CanaryStatus {
            last_applied_spec: Some("7c9b8d6f5".into()),
            last_promoted_spec: Some("7c9b8d6f5".into()),
            ..Default::default()
        };
        let now = observed("fnv1a128:aa");
        let revs = Revisions::adopt(&status, &now);
        assert!(!revs.changed(&now));
        assert!(revs.is_promoted(&now));
        assert!(revs.is_attempted(&now));
    }

    #[test]
    fn a_foreign_promoted_hash_of_an_older_revision_is_kept() {
        let status = CanaryStatus {
            last_applied_spec: Some("7c9b8d6f5".into()),
            last_promoted_spec: Some("55b4f9c8d".into()),
            ..Default::default()
        };
        let now = observed("fnv1a128:aa");
        let revs = Revisions::adopt(&status, &now);
        assert!(!revs.changed(&now));
        assert!(!revs.is_promoted(&now));
        assert_eq!(revs.promoted.as_deref(), Some("55b4f9c8d"));
    }
}
