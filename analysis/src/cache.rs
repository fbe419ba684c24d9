//! Reuses providers (and so their HTTP clients and connections) across checks and analysis
//! steps: one per distinct provider spec and credentials.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};

use serin_crds::metric_template::MetricProvider;

use crate::factory::{BuiltinProviders, ProviderError, ProviderFactory, ProviderOptions};
use crate::provider::MetricsProvider;

/// Providers built so far, keyed by their spec and a hash of their Secret data, so that a
/// changed spec or rotated credentials build a new one.
pub struct ProviderCache {
    factory: Arc<dyn ProviderFactory>,
    options: ProviderOptions,
    providers: Mutex<HashMap<(String, u64), Arc<dyn MetricsProvider>>>,
}

impl std::fmt::Debug for ProviderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCache")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ProviderCache {
    /// An empty cache of [`BuiltinProviders`] (without a Kubernetes API) that use `options`.
    pub fn new(options: ProviderOptions) -> Self {
        ProviderCache::with_factory(Arc::new(BuiltinProviders::default()), options)
    }

    /// An empty cache of providers built by `factory` with `options`.
    pub fn with_factory(factory: Arc<dyn ProviderFactory>, options: ProviderOptions) -> Self {
        ProviderCache {
            factory,
            options,
            providers: Mutex::new(HashMap::new()),
        }
    }

    /// The options providers are built with.
    pub fn options(&self) -> &ProviderOptions {
        &self.options
    }

    /// The provider for `spec` and `secret_data`, built on first use.
    pub fn provider(
        &self,
        spec: &MetricProvider,
        secret_data: Option<&BTreeMap<String, Vec<u8>>>,
    ) -> Result<Arc<dyn MetricsProvider>, ProviderError> {
        let key = (
            serde_json::to_string(spec).unwrap_or_default(),
            secret_hash(secret_data),
        );
        let mut providers = self
            .providers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(provider) = providers.get(&key) {
            return Ok(Arc::clone(provider));
        }
        let provider = self.factory.build(spec, secret_data, &self.options)?;
        providers.insert(key, Arc::clone(&provider));
        Ok(provider)
    }

    /// Number of providers held.
    pub fn len(&self) -> usize {
        self.providers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether no provider is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn secret_hash(data: Option<&BTreeMap<String, Vec<u8>>>) -> u64 {
    let mut hasher = DefaultHasher::new();
    data.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_spec_and_secret_share_one_provider() {
        let cache = ProviderCache::new(ProviderOptions::default());
        let spec = MetricProvider {
            address: Some("http://127.0.0.1:9090".into()),
            ..MetricProvider::default()
        };
        let a = cache.provider(&spec, None).unwrap();
        let b = cache.provider(&spec, None).unwrap();
        assert!(Arc::ptr_eq(&a, &b));

        let other = MetricProvider {
            address: Some("http://127.0.0.1:9091".into()),
            ..spec.clone()
        };
        cache.provider(&other, None).unwrap();
        let secret = BTreeMap::from([("token".to_owned(), b"t".to_vec())]);
        cache.provider(&spec, Some(&secret)).unwrap();
        assert_eq!(cache.len(), 3);
    }
}
