//! The keys a provider reads from the Secret named by its `secretRef`, with errors that name the
//! Secret and the missing key (never a value).

use std::collections::BTreeMap;

use serin_crds::metric_template::MetricProvider;

use crate::factory::ProviderError;

/// The decoded data of the Secret in a provider's `secretRef`.
#[derive(Clone, Copy)]
pub struct SecretKeys<'a> {
    name: &'a str,
    data: &'a BTreeMap<String, Vec<u8>>,
}

// Only the Secret's name and its keys; never a value.
impl std::fmt::Debug for SecretKeys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKeys")
            .field("name", &self.name)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<'a> SecretKeys<'a> {
    /// The Secret of `spec.secretRef`: `None` when the provider has no `secretRef`, an error when
    /// it has one but the caller could not read the Secret.
    pub fn of(
        spec: &'a MetricProvider,
        data: Option<&'a BTreeMap<String, Vec<u8>>>,
    ) -> Result<Option<Self>, ProviderError> {
        let Some(reference) = &spec.secret_ref else {
            return Ok(None);
        };
        let data = data.ok_or_else(|| ProviderError::MissingSecret(reference.name.clone()))?;
        Ok(Some(SecretKeys {
            name: &reference.name,
            data,
        }))
    }

    /// Name of the Secret.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The value of `key` as text, surrounding whitespace (a trailing newline) dropped.
    pub fn optional(&self, key: &'static str) -> Result<Option<String>, ProviderError> {
        self.data
            .get(key)
            .map(|bytes| {
                std::str::from_utf8(bytes)
                    .map(|s| s.trim().to_owned())
                    .map_err(|_| ProviderError::SecretKeyNotUtf8 {
                        secret: self.name.to_owned(),
                        key,
                    })
            })
            .transpose()
    }

    /// The value of `key`; an error naming the Secret, the key and the keys it has when absent
    /// or empty.
    pub fn required(&self, key: &'static str) -> Result<String, ProviderError> {
        match self.optional(key)? {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(ProviderError::MissingSecretKey {
                secret: self.name.to_owned(),
                key,
                found: self.data.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The raw data of the Secret, for credentials read by [`crate::credentials`].
    pub fn data(&self) -> &'a BTreeMap<String, Vec<u8>> {
        self.data
    }
}

/// The Secret a provider cannot work without: an error naming the keys it needs when the
/// provider has no `secretRef`.
pub fn required_secret<'a>(
    spec: &'a MetricProvider,
    data: Option<&'a BTreeMap<String, Vec<u8>>>,
    keys: &'static str,
) -> Result<SecretKeys<'a>, ProviderError> {
    SecretKeys::of(spec, data)?.ok_or(ProviderError::SecretRequired {
        kind: spec.type_.as_str(),
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serin_crds::metric_template::SecretRef;

    #[test]
    fn a_missing_key_is_named_with_the_keys_found_and_no_values() {
        let spec = MetricProvider {
            secret_ref: Some(SecretRef {
                name: "datadog".into(),
            }),
            ..MetricProvider::default()
        };
        let data = BTreeMap::from([("datadog_api_key".to_owned(), b"hunter2\n".to_vec())]);
        let keys = SecretKeys::of(&spec, Some(&data)).unwrap().unwrap();
        assert_eq!(keys.required("datadog_api_key").unwrap(), "hunter2");
        let err = keys.required("datadog_application_key").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("datadog_application_key"), "{text}");
        assert!(text.contains("`datadog`"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!format!("{keys:?}").contains("hunter2"));
        assert_eq!(err.category(), "secret_key_missing");
    }
}
