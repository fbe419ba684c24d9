//! Reuses providers (and so their HTTP clients and connections) across checks and analysis
//! steps: one per distinct provider spec and credentials, at most [`MAX_PROVIDERS`] at once
//! (the least recently used goes first), so that Canary authors writing ever new specs cannot
//! grow the controller's memory.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};

use serin_crds::metric_template::MetricProvider;

use crate::factory::{BuiltinProviders, ProviderError, ProviderFactory, ProviderOptions};
use crate::provider::MetricsProvider;

/// The most providers a cache holds.
pub const MAX_PROVIDERS: usize = 256;

type Key = (String, u64);

/// Providers built so far, keyed by their spec and a hash of their Secret data, so that a
/// changed spec or rotated credentials build a new one.
pub struct ProviderCache {
    factory: Arc<dyn ProviderFactory>,
    options: ProviderOptions,
    capacity: usize,
    providers: Mutex<Held>,
}

/// The providers and when each was last used (a counter, not a clock).
#[derive(Default)]
struct Held {
    by_key: HashMap<Key, (Arc<dyn MetricsProvider>, u64)>,
    uses: u64,
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
            capacity: MAX_PROVIDERS,
            providers: Mutex::new(Held::default()),
        }
    }

    /// The same cache holding at most `capacity` providers (at least one).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
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
        let mut held = self
            .providers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.uses += 1;
        let now = held.uses;
        if let Some((provider, used)) = held.by_key.get_mut(&key) {
            *used = now;
            return Ok(Arc::clone(provider));
        }
        let provider = self.factory.build(spec, secret_data, &self.options)?;
        if held.by_key.len() >= self.capacity {
            let oldest = held
                .by_key
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                held.by_key.remove(&oldest);
            }
        }
        held.by_key.insert(key, (Arc::clone(&provider), now));
        Ok(provider)
    }

    /// Number of providers held.
    pub fn len(&self) -> usize {
        self.providers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .by_key
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

    #[test]
    fn the_cache_holds_at_most_its_capacity_dropping_the_least_recently_used() {
        let cache = ProviderCache::new(ProviderOptions::default()).with_capacity(2);
        let spec = |port: u16| MetricProvider {
            address: Some(format!("http://127.0.0.1:{port}")),
            ..MetricProvider::default()
        };
        let first = cache.provider(&spec(1), None).unwrap();
        cache.provider(&spec(2), None).unwrap();
        // 1 is used again, so 2 is the least recently used when 3 arrives.
        assert!(Arc::ptr_eq(
            &first,
            &cache.provider(&spec(1), None).unwrap()
        ));
        cache.provider(&spec(3), None).unwrap();
        assert_eq!(cache.len(), 2);
        assert!(Arc::ptr_eq(
            &first,
            &cache.provider(&spec(1), None).unwrap()
        ));
        for port in 10..1000 {
            cache.provider(&spec(port), None).unwrap();
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(
            ProviderCache::new(ProviderOptions::default()).capacity,
            MAX_PROVIDERS
        );
    }
}
