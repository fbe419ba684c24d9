//! Protobuf tables of the kinds built around a pod template or selector: Deployment, Job, Service.

use super::decode::{Kind, MapValue, Message, field};
use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::pod::POD_TEMPLATE_SPEC;

const fn msg(m: &'static Message) -> Kind {
    Kind::Msg(m)
}

pub(crate) static DEPLOYMENT: Message = Message {
    name: "apps.v1.Deployment",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "spec", msg(&DEPLOYMENT_SPEC)),
        field(3, "status", Kind::Skip),
    ],
};

static DEPLOYMENT_SPEC: Message = Message {
    name: "apps.v1.DeploymentSpec",
    fields: &[
        field(1, "replicas", Kind::Int).keep(),
        field(2, "selector", msg(&LABEL_SELECTOR)),
        field(3, "template", msg(&POD_TEMPLATE_SPEC)),
        field(4, "strategy", msg(&DEPLOYMENT_STRATEGY)),
        field(5, "minReadySeconds", Kind::Int),
        field(6, "revisionHistoryLimit", Kind::Int).keep(),
        field(7, "paused", Kind::Bool),
        field(9, "progressDeadlineSeconds", Kind::Int).keep(),
    ],
};

static DEPLOYMENT_STRATEGY: Message = Message {
    name: "apps.v1.DeploymentStrategy",
    fields: &[
        field(1, "type", Kind::Str),
        field(2, "rollingUpdate", msg(&ROLLING_UPDATE)),
    ],
};

static ROLLING_UPDATE: Message = Message {
    name: "apps.v1.RollingUpdateDeployment",
    fields: &[
        field(1, "maxUnavailable", Kind::IntOrString).keep(),
        field(2, "maxSurge", Kind::IntOrString).keep(),
    ],
};

pub(crate) static JOB: Message = Message {
    name: "batch.v1.Job",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "spec", msg(&JOB_SPEC)),
        field(3, "status", Kind::Skip),
    ],
};

static JOB_SPEC: Message = Message {
    name: "batch.v1.JobSpec",
    fields: &[
        field(1, "parallelism", Kind::Int).keep(),
        field(2, "completions", Kind::Int).keep(),
        field(3, "activeDeadlineSeconds", Kind::Int).keep(),
        field(4, "selector", msg(&LABEL_SELECTOR)),
        field(5, "manualSelector", Kind::Bool).keep(),
        field(6, "template", msg(&POD_TEMPLATE_SPEC)),
        field(7, "backoffLimit", Kind::Int).keep(),
        field(8, "ttlSecondsAfterFinished", Kind::Int).keep(),
        field(9, "completionMode", Kind::Str).keep(),
        field(10, "suspend", Kind::Bool).keep(),
        field(12, "backoffLimitPerIndex", Kind::Int).keep(),
        field(13, "maxFailedIndexes", Kind::Int).keep(),
        field(14, "podReplacementPolicy", Kind::Str).keep(),
        field(15, "managedBy", Kind::Str).keep(),
    ],
};

pub(crate) static SERVICE: Message = Message {
    name: "core.v1.Service",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "spec", msg(&SERVICE_SPEC)),
        field(3, "status", Kind::Skip),
    ],
};

static SERVICE_SPEC: Message = Message {
    name: "core.v1.ServiceSpec",
    fields: &[
        field(1, "ports", msg(&SERVICE_PORT)).list(),
        field(2, "selector", Kind::Map(MapValue::Str)),
        field(3, "clusterIP", Kind::Str),
        field(4, "type", Kind::Str),
        field(5, "externalIPs", Kind::Str).list(),
        field(7, "sessionAffinity", Kind::Str),
        field(8, "loadBalancerIP", Kind::Str),
        field(9, "loadBalancerSourceRanges", Kind::Str).list(),
        field(10, "externalName", Kind::Str),
        field(11, "externalTrafficPolicy", Kind::Str),
        field(12, "healthCheckNodePort", Kind::Int),
        field(13, "publishNotReadyAddresses", Kind::Bool),
        field(14, "sessionAffinityConfig", msg(&SESSION_AFFINITY_CONFIG)),
        field(17, "ipFamilyPolicy", Kind::Str).keep(),
        field(18, "clusterIPs", Kind::Str).list(),
        field(19, "ipFamilies", Kind::Str).list(),
        field(20, "allocateLoadBalancerNodePorts", Kind::Bool).keep(),
        field(21, "loadBalancerClass", Kind::Str).keep(),
        field(22, "internalTrafficPolicy", Kind::Str).keep(),
        field(23, "trafficDistribution", Kind::Str).keep(),
    ],
};

static SERVICE_PORT: Message = Message {
    name: "core.v1.ServicePort",
    fields: &[
        field(1, "name", Kind::Str),
        field(2, "protocol", Kind::Str),
        field(3, "port", Kind::Int).keep(),
        field(4, "targetPort", Kind::IntOrString).keep(),
        field(5, "nodePort", Kind::Int),
        field(6, "appProtocol", Kind::Str).keep(),
    ],
};

static SESSION_AFFINITY_CONFIG: Message = Message {
    name: "core.v1.SessionAffinityConfig",
    fields: &[field(1, "clientIP", msg(&CLIENT_IP_CONFIG))],
};

static CLIENT_IP_CONFIG: Message = Message {
    name: "core.v1.ClientIPConfig",
    fields: &[field(1, "timeoutSeconds", Kind::Int).keep()],
};
