//! The emulator's own request metrics (`serin_sim_apiserver_requests_total{verb,code}`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    code: String,
}

/// Request counters of the emulated API server.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApiMetrics {
    requests: Family<RequestLabels, Counter>,
}

impl ApiMetrics {
    /// Registers the counters in `registry`.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "serin_sim_apiserver_requests",
            "Requests served by the emulated API server, by verb and HTTP code",
            self.requests.clone(),
        );
    }

    /// Counts one request.
    pub(crate) fn observe(&self, verb: &str, code: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                verb: verb.to_owned(),
                code: code.to_string(),
            })
            .inc();
    }
}
