//! The admission rules of the Canary kind.

use super::{
    COOKIE, DURATION, DURATION_MESSAGE, HTTP_URL, HTTP_URL_MESSAGE, NONZERO, NOT_EMPTY, Rule,
    WEIGHT, WEIGHT_MESSAGE, rule, rule_at,
};

/// The strategy keys set; exactly one must be.
const ONE_STRATEGY: &str = "(has(self.stepWeight) ? 1 : 0) + (has(self.stepWeights) ? 1 : 0) + (has(self.iterations) ? 1 : 0) == 1";
const PROGRESSIVE_ONLY: &str =
    "applies to progressive releases (stepWeight or stepWeights) only, not to iterations";

const GRPC_ROUTE_HAS_NO_SUCH_SETTING: &str =
    "a GRPCRoute has no such setting; remove it, or use routeKind HTTPRoute";

pub(super) const CANARY: &[Rule] = &[
    // spec
    rule_at(
        "spec",
        ".provider",
        "!has(self.provider) || !(self.provider in ['appmesh', 'appmesh:v1beta2'])",
        "is not supported by serin: the project is retired",
    ),
    rule_at(
        "spec",
        ".service.extensionFilters",
        "!has(self.provider) || self.provider.startsWith('gatewayapi') || !has(self.service) || !has(self.service.extensionFilters) || size(self.service.extensionFilters) == 0",
        "needs provider gatewayapi: only the Gateway API routers write a route for extension filters",
    ),
    rule_at(
        "spec",
        ".service.routeKind",
        "!has(self.service) || !has(self.service.routeKind) || self.service.routeKind == 'HTTPRoute' || !has(self.provider) || self.provider in ['gatewayapi', 'gatewayapi:v1']",
        "GRPCRoute needs provider gatewayapi or gatewayapi:v1 (GRPCRoute is served as v1)",
    ),
    rule_at(
        "spec",
        ".provider",
        "!(self.targetRef.kind == 'Service' && self.targetRef.apiVersion.startsWith('serving.knative.dev/')) || (has(self.provider) && self.provider == 'knative')",
        "must be knative for a Knative Service target",
    ),
    rule_at(
        "spec",
        ".targetRef.apiVersion",
        "self.targetRef.kind != 'Service' || self.targetRef.apiVersion == 'v1' || self.targetRef.apiVersion.startsWith('serving.knative.dev/')",
        "does not serve Service; use v1, or serving.knative.dev/v1 for a Knative Service",
    ),
    rule_at(
        "spec",
        ".service",
        "has(self.service) || !(self.targetRef.kind in ['Deployment', 'DaemonSet'])",
        "is required for a Deployment or DaemonSet target: its port is needed to generate the Services",
    ),
    rule("spec.targetRef.name", NOT_EMPTY, "must not be empty"),
    rule("spec.metricsServer", HTTP_URL, HTTP_URL_MESSAGE),
    rule(
        "spec.progressDeadlineSeconds",
        "self >= 1.0",
        "must be at least 1",
    ),
    // spec.service
    rule(
        "spec.service.port",
        "self >= 1.0 && self <= 65535.0",
        "must be between 1 and 65535",
    ),
    rule_at(
        "spec.service",
        ".timeout",
        "!has(self.routeKind) || self.routeKind != 'GRPCRoute' || !has(self.timeout)",
        GRPC_ROUTE_HAS_NO_SUCH_SETTING,
    ),
    rule_at(
        "spec.service",
        ".backendTimeout",
        "!has(self.routeKind) || self.routeKind != 'GRPCRoute' || !has(self.backendTimeout)",
        GRPC_ROUTE_HAS_NO_SUCH_SETTING,
    ),
    rule_at(
        "spec.service",
        ".rewrite",
        "!has(self.routeKind) || self.routeKind != 'GRPCRoute' || !has(self.rewrite)",
        GRPC_ROUTE_HAS_NO_SUCH_SETTING,
    ),
    rule_at(
        "spec.service",
        ".corsPolicy",
        "!has(self.routeKind) || self.routeKind != 'GRPCRoute' || !has(self.corsPolicy)",
        GRPC_ROUTE_HAS_NO_SUCH_SETTING,
    ),
    rule("spec.service.timeout", DURATION, DURATION_MESSAGE),
    rule("spec.service.timeout", NONZERO, "must be longer than zero"),
    rule("spec.service.backendTimeout", DURATION, DURATION_MESSAGE),
    rule(
        "spec.service.backendTimeout",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.service.retries.perTryTimeout",
        DURATION,
        DURATION_MESSAGE,
    ),
    rule(
        "spec.service.retries.perTryTimeout",
        NONZERO,
        "must be longer than zero",
    ),
    rule_at(
        "spec.service.mirror[]",
        ".backendRef",
        "has(self.backendRef)",
        "is required",
    ),
    rule_at(
        "spec.service.mirror[]",
        ".backendRef.port",
        "!has(self.backendRef) || has(self.backendRef.port) || (has(self.backendRef.kind) && self.backendRef.kind != 'Service') || (has(self.backendRef.group) && self.backendRef.group != '')",
        "is required for a Service backend",
    ),
    // spec.autoscalerRef
    rule_at(
        "spec.autoscalerRef",
        ".apiVersion",
        "self.kind != 'HorizontalPodAutoscaler' || self.apiVersion.startsWith('autoscaling/v2')",
        "does not serve HorizontalPodAutoscaler; use autoscaling/v2",
    ),
    rule_at(
        "spec.autoscalerRef",
        ".apiVersion",
        "self.kind != 'ScaledObject' || self.apiVersion.startsWith('keda.sh/')",
        "does not serve ScaledObject; use keda.sh/v1alpha1",
    ),
    rule("spec.autoscalerRef.name", NOT_EMPTY, "must not be empty"),
    rule(
        "spec.autoscalerRef.primaryScalerReplicas",
        "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
        "minReplicas must not exceed maxReplicas",
    ),
    // spec.analysis
    rule(
        "spec.analysis",
        ONE_STRATEGY,
        "set exactly one of stepWeight, stepWeights or iterations",
    ),
    rule_at(
        "spec.analysis",
        ".interval",
        "has(self.interval)",
        "is required (for example 1m)",
    ),
    rule_at(
        "spec.analysis",
        ".threshold",
        "has(self.threshold)",
        "is required: the number of failed checks before rollback",
    ),
    rule_at(
        "spec.analysis",
        ".maxWeight",
        "!has(self.maxWeight) || ((!has(self.stepWeight) || self.stepWeight <= self.maxWeight) && (!has(self.stepWeights) || self.stepWeights.size() == 0 || self.stepWeights[0] <= self.maxWeight))",
        "must be at least the first step",
    ),
    rule_at(
        "spec.analysis",
        ".maxWeight",
        "!has(self.iterations) || !has(self.maxWeight)",
        PROGRESSIVE_ONLY,
    ),
    rule_at(
        "spec.analysis",
        ".stepWeightPromotion",
        "!has(self.iterations) || !has(self.stepWeightPromotion)",
        PROGRESSIVE_ONLY,
    ),
    rule_at(
        "spec.analysis",
        ".mirrorWeight",
        "!has(self.mirrorWeight) || (has(self.mirror) && self.mirror)",
        "has no effect unless spec.analysis.mirror is true",
    ),
    rule_at(
        "spec.analysis",
        ".mirror",
        "!(has(self.mirror) && self.mirror && has(self.iterations) && has(self.match) && self.match.size() > 0)",
        "cannot be combined with A/B testing (match)",
    ),
    rule_at(
        "spec.analysis",
        ".sessionAffinity",
        "!has(self.sessionAffinity) || !has(self.iterations) || has(self.stepWeight) || has(self.stepWeights)",
        "applies to progressive releases (stepWeight or stepWeights) only",
    ),
    rule("spec.analysis.interval", DURATION, DURATION_MESSAGE),
    rule(
        "spec.analysis.interval",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.analysis.threshold",
        "self >= 1.0",
        "must be at least 1 (Flagger silently treats 0 as 1)",
    ),
    rule(
        "spec.analysis.iterations",
        "self >= 1.0",
        "must be at least 1",
    ),
    rule("spec.analysis.stepWeight", WEIGHT, WEIGHT_MESSAGE),
    rule("spec.analysis.maxWeight", WEIGHT, WEIGHT_MESSAGE),
    rule("spec.analysis.stepWeightPromotion", WEIGHT, WEIGHT_MESSAGE),
    rule("spec.analysis.mirrorWeight", WEIGHT, WEIGHT_MESSAGE),
    rule(
        "spec.analysis.stepWeights",
        "self.size() > 0",
        "must list at least one weight",
    ),
    rule(
        "spec.analysis.stepWeights",
        "self.isSorted() && self.all(w, self.exists_one(v, v == w))",
        "must be strictly ascending: each weight greater than the step before it",
    ),
    rule("spec.analysis.stepWeights[]", WEIGHT, WEIGHT_MESSAGE),
    rule(
        "spec.analysis.primaryReadyThreshold",
        "self >= 0.0 && self <= 100.0",
        "must be between 0 and 100",
    ),
    rule(
        "spec.analysis.canaryReadyThreshold",
        "self >= 0.0 && self <= 100.0",
        "must be between 0 and 100",
    ),
    // spec.analysis.metrics
    rule(
        "spec.analysis.metrics",
        "self.all(m, self.exists_one(n, n.name == m.name))",
        "metric names must be unique",
    ),
    rule(
        "spec.analysis.metrics[]",
        "!(has(self.templateRef) && has(self.query))",
        "set templateRef or query, not both",
    ),
    rule(
        "spec.analysis.metrics[]",
        "has(self.templateRef) || has(self.query) || self.name in ['request-success-rate', 'request-duration']",
        "is not a built-in metric (request-success-rate, request-duration); give it a templateRef",
    ),
    rule(
        "spec.analysis.metrics[]",
        "has(self.thresholdRange) || has(self.threshold) || has(self.comparison)",
        "needs thresholdRange (min, max or both) or a comparison to judge the value against",
    ),
    rule(
        "spec.analysis.metrics[].name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule(
        "spec.analysis.metrics[].interval",
        DURATION,
        DURATION_MESSAGE,
    ),
    rule(
        "spec.analysis.metrics[].interval",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.analysis.metrics[].templateRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule(
        "spec.analysis.metrics[].thresholdRange",
        "has(self.min) || has(self.max)",
        "set min, max or both",
    ),
    rule(
        "spec.analysis.metrics[].thresholdRange",
        "!has(self.min) || !has(self.max) || self.min <= self.max",
        "min must not be greater than max",
    ),
    // spec.analysis.metrics[].comparison
    rule_at(
        "spec.analysis",
        ".metrics",
        "!has(self.match) || self.match.size() == 0 || !has(self.metrics) || self.metrics.all(m, !has(m.comparison))",
        "comparison cannot be combined with A/B testing (match): its traffic is not a random split",
    ),
    rule_at(
        "spec",
        ".analysis.metrics",
        "!has(self.provider) || self.provider != 'knative' || !has(self.analysis.metrics) || self.analysis.metrics.all(m, !has(m.comparison) || has(m.comparison.requestsTemplateRef) || has(m.templateRef) || has(m.query))",
        "knative has no per-revision selector in the built-in metrics; set requestsTemplateRef and errorsTemplateRef",
    ),
    rule(
        "spec.analysis.metrics[]",
        "!has(self.comparison) || has(self.comparison.requestsTemplateRef) || (!has(self.templateRef) && !has(self.query))",
        "a comparison of a metric other than the built-in ones needs requestsTemplateRef and errorsTemplateRef",
    ),
    rule(
        "spec.analysis.metrics[]",
        "!has(self.comparison) || !has(self.comparison.slowerThan) || (self.name == 'request-duration' && !has(self.templateRef) && !has(self.query) && !has(self.comparison.requestsTemplateRef))",
        "comparison.slowerThan applies to the built-in request-duration metric only",
    ),
    rule(
        "spec.analysis.metrics[]",
        "!has(self.comparison) || self.name != 'request-duration' || has(self.templateRef) || has(self.query) || has(self.comparison.slowerThan) || has(self.comparison.requestsTemplateRef)",
        "comparison needs slowerThan for request-duration: the latency above which a request counts as an error",
    ),
    rule(
        "spec.analysis.metrics[].comparison",
        "has(self.requestsTemplateRef) == has(self.errorsTemplateRef)",
        "set requestsTemplateRef and errorsTemplateRef together",
    ),
    rule_at(
        "spec.analysis.metrics[].comparison",
        ".margin",
        "!has(self.margin) || !has(self.sides) || self.sides != 'TwoSided'",
        "applies to OneSided comparisons only",
    ),
    rule(
        "spec.analysis.metrics[].comparison.alpha",
        "self >= 0.000001 && self <= 0.2",
        "must be between 0.000001 and 0.2",
    ),
    rule(
        "spec.analysis.metrics[].comparison.margin",
        "self >= 1.0 && self <= 1000.0",
        "must be between 1 and 1000",
    ),
    rule(
        "spec.analysis.metrics[].comparison.slowerThan",
        DURATION,
        DURATION_MESSAGE,
    ),
    rule(
        "spec.analysis.metrics[].comparison.slowerThan",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.analysis.metrics[].comparison.requestsTemplateRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule(
        "spec.analysis.metrics[].comparison.errorsTemplateRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
    // spec.analysis.webhooks, alerts, sessionAffinity
    rule(
        "spec.analysis.webhooks",
        "self.all(h, self.exists_one(g, g.name == h.name))",
        "webhook names must be unique",
    ),
    rule(
        "spec.analysis.webhooks[].name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule("spec.analysis.webhooks[].url", HTTP_URL, HTTP_URL_MESSAGE),
    rule(
        "spec.analysis.webhooks[].timeout",
        DURATION,
        DURATION_MESSAGE,
    ),
    rule(
        "spec.analysis.webhooks[].timeout",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.analysis.webhooks[].timeout",
        "!self.matches(\"^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$\") || duration(self) <= duration('5m')",
        "must be at most 5m",
    ),
    rule(
        "spec.analysis.webhooks[].retries",
        "self >= 0.0 && self <= 10.0",
        "must be at most 10",
    ),
    rule(
        "spec.analysis.alerts[].providerRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule(
        "spec.analysis.sessionAffinity.cookieName",
        COOKIE,
        "is not a valid cookie name",
    ),
    rule(
        "spec.analysis.sessionAffinity.primaryCookieName",
        COOKIE,
        "is not a valid cookie name",
    ),
    rule_at(
        "spec.analysis.sessionAffinity",
        ".primaryCookieName",
        "!has(self.primaryCookieName) || self.primaryCookieName != self.cookieName",
        "must differ from cookieName",
    ),
    rule(
        "spec.analysis.sessionAffinity.maxAge",
        "self >= 1.0",
        "must be at least 1 second",
    ),
];
