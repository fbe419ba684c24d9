//! The operator's egress policy: which addresses the controller may send requests to on behalf
//! of Canary authors (metric providers, webhooks, alerts). Denied networks (link-local and the
//! cloud metadata addresses by default) are checked on the address literal of every URL, on
//! every address a host name resolves to (a resolver that drops denied ones), and on every
//! redirect, which is not followed at all unless the operator allows it. Behind a proxy (an
//! AlertProvider's `proxy`), which resolves the destination itself, the destination's name is
//! also resolved here and every address it has must be permitted.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// The networks denied unless the operator says otherwise: IPv4 and IPv6 link-local (which
/// hold the metadata services of AWS, GCP, Azure, `OpenStack` and others at 169.254.169.254),
/// AWS's IPv6 metadata address, and Alibaba Cloud's metadata address. Loopback is not among
/// them: local stubs and sidecars live there.
pub const DEFAULT_DENIED: &[&str] = &[
    "169.254.0.0/16",
    "fe80::/10",
    "fd00:ec2::254/128",
    "100.100.100.200/32",
];

/// The most redirects followed when the policy follows them at all.
pub const MAX_REDIRECTS: usize = 5;

/// The longest a destination's name behind a proxy takes to resolve before it is refused.
pub const PROXIED_LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Where requests may go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Networks never contacted (they win over `allowed`).
    pub denied: Vec<IpNet>,
    /// When not empty, the only networks contacted.
    pub allowed: Vec<IpNet>,
    /// Follow redirects (each hop checked), up to [`MAX_REDIRECTS`].
    pub follow_redirects: bool,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        EgressPolicy {
            denied: DEFAULT_DENIED
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
            allowed: Vec::new(),
            follow_redirects: false,
        }
    }
}

/// A request the policy refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// The address is in a denied network, or outside the allowed ones.
    #[error("{host} ({address}) is refused by the controller's egress policy")]
    Refused {
        /// The host as written.
        host: String,
        /// The address refused.
        address: IpAddr,
    },
    /// The host name resolved to no permitted address.
    #[error("{host} resolves to no address the controller's egress policy allows ({addresses})")]
    NoPermittedAddress {
        /// The host name.
        host: String,
        /// What it resolved to.
        addresses: String,
    },
    /// A destination reached through a proxy whose name does not resolve here: what the proxy
    /// would reach cannot be checked.
    #[error(
        "{host} does not resolve here, so the controller's egress policy cannot check what the \
         proxy would reach"
    )]
    Unverifiable {
        /// The host name.
        host: String,
    },
}

impl EgressPolicy {
    /// The policy with `denied` and `allowed` parsed from comma-separated CIDRs (a bare address
    /// is a single-address network).
    pub fn parse(denied: &str, allowed: &str, follow_redirects: bool) -> Result<Self, String> {
        Ok(EgressPolicy {
            denied: networks(denied)?,
            allowed: networks(allowed)?,
            follow_redirects,
        })
    }

    /// Whether `address` may be contacted.
    pub fn permits(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        let denied = self.denied.iter().any(|n| n.contains(&address));
        let allowed = self.allowed.is_empty() || self.allowed.iter().any(|n| n.contains(&address));
        allowed && !denied
    }

    /// Checks the host of `url` when it is an address literal (a host name is checked when it
    /// resolves).
    pub fn check_url(&self, url: &url::Url) -> Result<(), EgressError> {
        let address = match url.host() {
            Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
            Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
            _ => return Ok(()),
        };
        if self.permits(address) {
            Ok(())
        } else {
            Err(EgressError::Refused {
                host: url.host_str().unwrap_or_default().to_owned(),
                address,
            })
        }
    }

    /// Checks the destination `url` of a request sent through a proxy. The proxy resolves the
    /// name, out of the resolver's sight, so the name is resolved here too: every address it
    /// has must be permitted, and a name that does not resolve here is refused. (The proxy may
    /// still resolve it otherwise: the proxy's own rules are the last word.)
    pub async fn check_behind_proxy(&self, url: &url::Url) -> Result<(), EgressError> {
        self.check_url(url)?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let lookup = tokio::net::lookup_host((host, port));
        let resolved: Vec<SocketAddr> =
            match tokio::time::timeout(PROXIED_LOOKUP_TIMEOUT, lookup).await {
                Ok(Ok(addresses)) => addresses.collect(),
                Ok(Err(_)) | Err(_) => Vec::new(),
            };
        if resolved.is_empty() {
            return Err(EgressError::Unverifiable {
                host: host.to_owned(),
            });
        }
        match resolved.iter().find(|a| !self.permits(a.ip())) {
            Some(denied) => Err(EgressError::Refused {
                host: host.to_owned(),
                address: denied.ip(),
            }),
            None => Ok(()),
        }
    }

    /// Checks an address given as text (a provider's `address`); text that is not a URL passes
    /// (the caller rejects it for that).
    pub fn check_address(&self, address: &str) -> Result<(), EgressError> {
        match url::Url::parse(address.trim()) {
            Ok(url) => self.check_url(&url),
            Err(_) => Ok(()),
        }
    }

    /// `builder` with this policy's resolver and redirect rule.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let policy = Arc::new(self.clone());
        let for_redirects = Arc::clone(&policy);
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if !for_redirects.follow_redirects {
                return attempt.stop();
            }
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match for_redirects.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        builder
            .redirect(redirects)
            .dns_resolver(Arc::new(PolicyResolver { policy }))
    }
}

/// Resolves with the system resolver and keeps only the addresses the policy permits.
struct PolicyResolver {
    policy: Arc<EgressPolicy>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if permitted.is_empty() {
                let addresses = resolved
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(EgressError::NoPermittedAddress { host, addresses });
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

/// The policy's refusal in `error`'s chain of causes (a host name that resolved to denied
/// addresses only), as a message.
pub fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<EgressError>() {
            return Some(refused.to_string());
        }
        current = e.source();
    }
    None
}

/// IPv4-mapped IPv6 addresses (`::ffff:169.254.169.254`) as the IPv4 address they are.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

fn networks(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not a CIDR such as 10.0.0.0/8 or an IP address"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_addresses_are_denied_by_default_loopback_is_not() {
        let p = EgressPolicy::default();
        for denied in [
            "169.254.169.254",
            "169.254.170.2",
            "fd00:ec2::254",
            "fe80::1",
            "100.100.100.200",
            "::ffff:169.254.169.254",
        ] {
            assert!(!p.permits(ip(denied)), "{denied}");
        }
        for allowed in ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "8.8.8.8"] {
            assert!(p.permits(ip(allowed)), "{allowed}");
        }
        assert!(!p.follow_redirects);
    }

    #[test]
    fn an_allow_list_admits_only_its_networks_and_the_deny_list_still_wins() {
        let p = EgressPolicy::parse("10.0.0.5", "10.0.0.0/8, 127.0.0.1", false).unwrap();
        assert!(p.permits(ip("10.1.2.3")));
        assert!(p.permits(ip("127.0.0.1")));
        assert!(!p.permits(ip("10.0.0.5")));
        assert!(!p.permits(ip("192.168.0.1")));
        assert!(EgressPolicy::parse("nonsense", "", false).is_err());
    }

    #[test]
    fn address_literals_in_urls_are_checked_host_names_are_left_to_the_resolver() {
        let p = EgressPolicy::default();
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert!(matches!(
            p.check_url(&url("http://169.254.169.254/latest/meta-data/")),
            Err(EgressError::Refused { .. })
        ));
        assert!(p.check_url(&url("http://[fd00:ec2::254]/")).is_err());
        assert!(p.check_url(&url("http://127.0.0.1:9090/")).is_ok());
        assert!(
            p.check_url(&url("http://metadata.google.internal/"))
                .is_ok()
        );
        assert!(p.check_address("http://169.254.169.254").is_err());
    }

    #[test]
    fn a_metric_provider_at_a_denied_address_is_not_built() {
        let options = crate::factory::ProviderOptions {
            egress: EgressPolicy::parse("127.0.0.0/8", "", false).unwrap(),
            ..crate::factory::ProviderOptions::default()
        };
        let spec = serin_crds::metric_template::MetricProvider {
            address: Some("http://127.0.0.1:9090".into()),
            ..serin_crds::metric_template::MetricProvider::default()
        };
        let error = crate::prometheus::PrometheusProvider::new(&spec, None, &options).unwrap_err();
        assert_eq!(error.category(), "egress_refused");
        assert!(error.is_configuration());
        assert!(error.to_string().contains("egress policy"), "{error}");
        let metadata = serin_crds::metric_template::MetricProvider {
            address: Some("http://169.254.169.254/".into()),
            ..spec
        };
        let defaults = crate::factory::ProviderOptions::default();
        assert!(crate::prometheus::PrometheusProvider::new(&metadata, None, &defaults).is_err());
    }

    #[tokio::test]
    async fn a_destination_behind_a_proxy_is_checked_by_literal_and_by_what_its_name_resolves_to() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        let p = EgressPolicy::parse("127.0.0.0/8", "", false).unwrap();
        assert!(matches!(
            p.check_behind_proxy(&url("http://localhost:8080/")).await,
            Err(EgressError::Refused { .. })
        ));
        assert!(matches!(
            p.check_behind_proxy(&url("http://127.0.0.1/")).await,
            Err(EgressError::Refused { .. })
        ));
        assert!(matches!(
            p.check_behind_proxy(&url("http://no-such-host.invalid/"))
                .await,
            Err(EgressError::Unverifiable { .. })
        ));
        let defaults = EgressPolicy::default();
        assert!(
            defaults
                .check_behind_proxy(&url("http://localhost:8080/"))
                .await
                .is_ok()
        );
        assert!(
            defaults
                .check_behind_proxy(&url("http://169.254.169.254/"))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn host_names_resolving_only_to_denied_addresses_are_refused() {
        let p = EgressPolicy::parse("127.0.0.0/8, ::1/128", "", false).unwrap();
        let resolver = PolicyResolver {
            policy: Arc::new(p),
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let error = reqwest::dns::Resolve::resolve(&resolver, name)
            .await
            .err()
            .expect("refused");
        assert!(error.to_string().contains("egress policy"), "{error}");
    }
}
