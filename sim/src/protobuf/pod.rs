//! Protobuf tables of the pod types: `PodTemplateSpec`, `PodSpec`, `Container` and what they hold
//! (ports, env, resources, probes, volumes, security contexts), and the Pod kind.

use super::decode::{Kind, MapValue, Message, field};
use super::meta::{LOCAL_OBJECT_REFERENCE, OBJECT_META};

const fn msg(m: &'static Message) -> Kind {
    Kind::Msg(m)
}

pub(crate) static POD: Message = Message {
    name: "core.v1.Pod",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "spec", msg(&POD_SPEC)),
        field(3, "status", Kind::Skip),
    ],
};

pub(crate) static POD_TEMPLATE_SPEC: Message = Message {
    name: "core.v1.PodTemplateSpec",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "spec", msg(&POD_SPEC)),
    ],
};

static POD_SPEC: Message = Message {
    name: "core.v1.PodSpec",
    fields: &[
        field(1, "volumes", msg(&VOLUME)).list(),
        field(2, "containers", msg(&CONTAINER)).list(),
        field(3, "restartPolicy", Kind::Str),
        field(4, "terminationGracePeriodSeconds", Kind::Int).keep(),
        field(5, "activeDeadlineSeconds", Kind::Int).keep(),
        field(6, "dnsPolicy", Kind::Str),
        field(7, "nodeSelector", Kind::Map(MapValue::Str)),
        field(8, "serviceAccountName", Kind::Str),
        field(9, "serviceAccount", Kind::Str),
        field(10, "nodeName", Kind::Str),
        field(11, "hostNetwork", Kind::Bool),
        field(12, "hostPID", Kind::Bool),
        field(13, "hostIPC", Kind::Bool),
        field(14, "securityContext", msg(&POD_SECURITY_CONTEXT)),
        field(15, "imagePullSecrets", msg(&LOCAL_OBJECT_REFERENCE)).list(),
        field(16, "hostname", Kind::Str),
        field(17, "subdomain", Kind::Str),
        field(19, "schedulerName", Kind::Str),
        field(20, "initContainers", msg(&CONTAINER)).list(),
        field(21, "automountServiceAccountToken", Kind::Bool).keep(),
        field(22, "tolerations", msg(&TOLERATION)).list(),
        field(23, "hostAliases", msg(&HOST_ALIAS)).list(),
        field(24, "priorityClassName", Kind::Str),
        field(25, "priority", Kind::Int).keep(),
        field(27, "shareProcessNamespace", Kind::Bool).keep(),
        field(28, "readinessGates", msg(&READINESS_GATE)).list(),
        field(29, "runtimeClassName", Kind::Str).keep(),
        field(30, "enableServiceLinks", Kind::Bool).keep(),
        field(31, "preemptionPolicy", Kind::Str).keep(),
        field(32, "overhead", Kind::Map(MapValue::Quantity)),
        field(35, "setHostnameAsFQDN", Kind::Bool).keep(),
        field(36, "os", msg(&POD_OS)),
        field(37, "hostUsers", Kind::Bool).keep(),
    ],
};

static CONTAINER: Message = Message {
    name: "core.v1.Container",
    fields: &[
        field(1, "name", Kind::Str).keep(),
        field(2, "image", Kind::Str),
        field(3, "command", Kind::Str).list(),
        field(4, "args", Kind::Str).list(),
        field(5, "workingDir", Kind::Str),
        field(6, "ports", msg(&CONTAINER_PORT)).list(),
        field(7, "env", msg(&ENV_VAR)).list(),
        field(8, "resources", msg(&RESOURCE_REQUIREMENTS)),
        field(9, "volumeMounts", msg(&VOLUME_MOUNT)).list(),
        field(10, "livenessProbe", msg(&PROBE)),
        field(11, "readinessProbe", msg(&PROBE)),
        field(12, "lifecycle", msg(&LIFECYCLE)),
        field(13, "terminationMessagePath", Kind::Str),
        field(14, "imagePullPolicy", Kind::Str),
        field(15, "securityContext", msg(&SECURITY_CONTEXT)),
        field(16, "stdin", Kind::Bool),
        field(17, "stdinOnce", Kind::Bool),
        field(18, "tty", Kind::Bool),
        field(19, "envFrom", msg(&ENV_FROM_SOURCE)).list(),
        field(20, "terminationMessagePolicy", Kind::Str),
        field(21, "volumeDevices", msg(&VOLUME_DEVICE)).list(),
        field(22, "startupProbe", msg(&PROBE)),
        field(23, "resizePolicy", msg(&RESIZE_POLICY)).list(),
        field(24, "restartPolicy", Kind::Str).keep(),
    ],
};

static CONTAINER_PORT: Message = Message {
    name: "core.v1.ContainerPort",
    fields: &[
        field(1, "name", Kind::Str),
        field(2, "hostPort", Kind::Int),
        field(3, "containerPort", Kind::Int).keep(),
        field(4, "protocol", Kind::Str),
        field(5, "hostIP", Kind::Str),
    ],
};

static ENV_VAR: Message = Message {
    name: "core.v1.EnvVar",
    fields: &[
        field(1, "name", Kind::Str).keep(),
        field(2, "value", Kind::Str),
        field(3, "valueFrom", msg(&ENV_VAR_SOURCE)),
    ],
};

static ENV_VAR_SOURCE: Message = Message {
    name: "core.v1.EnvVarSource",
    fields: &[
        field(1, "fieldRef", msg(&OBJECT_FIELD_SELECTOR)),
        field(2, "resourceFieldRef", msg(&RESOURCE_FIELD_SELECTOR)),
        field(3, "configMapKeyRef", msg(&KEY_SELECTOR)),
        field(4, "secretKeyRef", msg(&KEY_SELECTOR)),
    ],
};

static OBJECT_FIELD_SELECTOR: Message = Message {
    name: "core.v1.ObjectFieldSelector",
    fields: &[
        field(1, "apiVersion", Kind::Str),
        field(2, "fieldPath", Kind::Str).keep(),
    ],
};

static RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "core.v1.ResourceFieldSelector",
    fields: &[
        field(1, "containerName", Kind::Str),
        field(2, "resource", Kind::Str).keep(),
        field(3, "divisor", Kind::Quantity).keep(),
    ],
};

/// `ConfigMapKeySelector` and `SecretKeySelector` have the same fields.
static KEY_SELECTOR: Message = Message {
    name: "core.v1.KeySelector",
    fields: &[
        field(
            1,
            "localObjectReference",
            Kind::Inline(&LOCAL_OBJECT_REFERENCE),
        ),
        field(2, "key", Kind::Str).keep(),
        field(3, "optional", Kind::Bool).keep(),
    ],
};

static ENV_FROM_SOURCE: Message = Message {
    name: "core.v1.EnvFromSource",
    fields: &[
        field(1, "prefix", Kind::Str),
        field(2, "configMapRef", msg(&ENV_SOURCE)),
        field(3, "secretRef", msg(&ENV_SOURCE)),
    ],
};

/// `ConfigMapEnvSource` and `SecretEnvSource` have the same fields.
static ENV_SOURCE: Message = Message {
    name: "core.v1.EnvSource",
    fields: &[
        field(
            1,
            "localObjectReference",
            Kind::Inline(&LOCAL_OBJECT_REFERENCE),
        ),
        field(2, "optional", Kind::Bool).keep(),
    ],
};

static RESOURCE_REQUIREMENTS: Message = Message {
    name: "core.v1.ResourceRequirements",
    fields: &[
        field(1, "limits", Kind::Map(MapValue::Quantity)),
        field(2, "requests", Kind::Map(MapValue::Quantity)),
        field(3, "claims", msg(&RESOURCE_CLAIM)).list(),
    ],
};

static RESOURCE_CLAIM: Message = Message {
    name: "core.v1.ResourceClaim",
    fields: &[
        field(1, "name", Kind::Str).keep(),
        field(2, "request", Kind::Str),
    ],
};

static VOLUME_MOUNT: Message = Message {
    name: "core.v1.VolumeMount",
    fields: &[
        field(1, "name", Kind::Str).keep(),
        field(2, "readOnly", Kind::Bool),
        field(3, "mountPath", Kind::Str).keep(),
        field(4, "subPath", Kind::Str),
        field(5, "mountPropagation", Kind::Str).keep(),
        field(6, "subPathExpr", Kind::Str),
        field(7, "recursiveReadOnly", Kind::Str).keep(),
    ],
};

static VOLUME_DEVICE: Message = Message {
    name: "core.v1.VolumeDevice",
    fields: &[
        field(1, "name", Kind::Str).keep(),
        field(2, "devicePath", Kind::Str).keep(),
    ],
};

static RESIZE_POLICY: Message = Message {
    name: "core.v1.ContainerResizePolicy",
    fields: &[
        field(1, "resourceName", Kind::Str).keep(),
        field(2, "restartPolicy", Kind::Str).keep(),
    ],
};

static PROBE: Message = Message {
    name: "core.v1.Probe",
    fields: &[
        field(1, "handler", Kind::Inline(&PROBE_HANDLER)),
        field(2, "initialDelaySeconds", Kind::Int),
        field(3, "timeoutSeconds", Kind::Int),
        field(4, "periodSeconds", Kind::Int),
        field(5, "successThreshold", Kind::Int),
        field(6, "failureThreshold", Kind::Int),
        field(7, "terminationGracePeriodSeconds", Kind::Int).keep(),
    ],
};

static PROBE_HANDLER: Message = Message {
    name: "core.v1.ProbeHandler",
    fields: &[
        field(1, "exec", msg(&EXEC_ACTION)),
        field(2, "httpGet", msg(&HTTP_GET_ACTION)),
        field(3, "tcpSocket", msg(&TCP_SOCKET_ACTION)),
        field(4, "grpc", msg(&GRPC_ACTION)),
    ],
};

static LIFECYCLE: Message = Message {
    name: "core.v1.Lifecycle",
    fields: &[
        field(1, "postStart", msg(&LIFECYCLE_HANDLER)),
        field(2, "preStop", msg(&LIFECYCLE_HANDLER)),
        field(3, "stopSignal", Kind::Str).keep(),
    ],
};

static LIFECYCLE_HANDLER: Message = Message {
    name: "core.v1.LifecycleHandler",
    fields: &[
        field(1, "exec", msg(&EXEC_ACTION)),
        field(2, "httpGet", msg(&HTTP_GET_ACTION)),
        field(3, "tcpSocket", msg(&TCP_SOCKET_ACTION)),
        field(4, "sleep", msg(&SLEEP_ACTION)),
    ],
};

static EXEC_ACTION: Message = Message {
    name: "core.v1.ExecAction",
    fields: &[field(1, "command", Kind::Str).list()],
};

static HTTP_GET_ACTION: Message = Message {
    name: "core.v1.HTTPGetAction",
    fields: &[
        field(1, "path", Kind::Str),
        field(2, "port", Kind::IntOrString).keep(),
        field(3, "host", Kind::Str),
        field(4, "scheme", Kind::Str),
        field(5, "httpHeaders", msg(&HTTP_HEADER)).list(),
    ],
};

static HTTP_HEADER: Message = Message {
    name: "core.v1.HTTPHeader",
    fields: &[
        field(1, "name", Kind::Str).keep(),
        field(2, "value", Kind::Str).keep(),
    ],
};

static TCP_SOCKET_ACTION: Message = Message {
    name: "core.v1.TCPSocketAction",
    fields: &[
        field(1, "port", Kind::IntOrString).keep(),
        field(2, "host", Kind::Str),
    ],
};

static GRPC_ACTION: Message = Message {
    name: "core.v1.GRPCAction",
    fields: &[
        field(1, "port", Kind::Int).keep(),
        field(2, "service", Kind::Str).keep(),
    ],
};

static SLEEP_ACTION: Message = Message {
    name: "core.v1.SleepAction",
    fields: &[field(1, "seconds", Kind::Int).keep()],
};

static SECURITY_CONTEXT: Message = Message {
    name: "core.v1.SecurityContext",
    fields: &[
        field(1, "capabilities", msg(&CAPABILITIES)),
        field(2, "privileged", Kind::Bool).keep(),
        field(4, "runAsUser", Kind::Int).keep(),
        field(5, "runAsNonRoot", Kind::Bool).keep(),
        field(6, "readOnlyRootFilesystem", Kind::Bool).keep(),
        field(7, "allowPrivilegeEscalation", Kind::Bool).keep(),
        field(8, "runAsGroup", Kind::Int).keep(),
        field(9, "procMount", Kind::Str).keep(),
        field(11, "seccompProfile", msg(&SECCOMP_PROFILE)),
    ],
};

static POD_SECURITY_CONTEXT: Message = Message {
    name: "core.v1.PodSecurityContext",
    fields: &[
        field(2, "runAsUser", Kind::Int).keep(),
        field(3, "runAsNonRoot", Kind::Bool).keep(),
        field(4, "supplementalGroups", Kind::Int).list(),
        field(5, "fsGroup", Kind::Int).keep(),
        field(6, "runAsGroup", Kind::Int).keep(),
        field(9, "fsGroupChangePolicy", Kind::Str).keep(),
        field(10, "seccompProfile", msg(&SECCOMP_PROFILE)),
    ],
};

static CAPABILITIES: Message = Message {
    name: "core.v1.Capabilities",
    fields: &[
        field(1, "add", Kind::Str).list(),
        field(2, "drop", Kind::Str).list(),
    ],
};

static SECCOMP_PROFILE: Message = Message {
    name: "core.v1.SeccompProfile",
    fields: &[
        field(1, "type", Kind::Str).keep(),
        field(2, "localhostProfile", Kind::Str).keep(),
    ],
};

static TOLERATION: Message = Message {
    name: "core.v1.Toleration",
    fields: &[
        field(1, "key", Kind::Str),
        field(2, "operator", Kind::Str),
        field(3, "value", Kind::Str),
        field(4, "effect", Kind::Str),
        field(5, "tolerationSeconds", Kind::Int).keep(),
    ],
};

static HOST_ALIAS: Message = Message {
    name: "core.v1.HostAlias",
    fields: &[
        field(1, "ip", Kind::Str).keep(),
        field(2, "hostnames", Kind::Str).list(),
    ],
};

static READINESS_GATE: Message = Message {
    name: "core.v1.PodReadinessGate",
    fields: &[field(1, "conditionType", Kind::Str).keep()],
};

static POD_OS: Message = Message {
    name: "core.v1.PodOS",
    fields: &[field(1, "name", Kind::Str).keep()],
};

static VOLUME: Message = Message {
    name: "core.v1.Volume",
    fields: &[
        field(1, "name", Kind::Str).keep(),
        field(2, "volumeSource", Kind::Inline(&VOLUME_SOURCE)),
    ],
};

static VOLUME_SOURCE: Message = Message {
    name: "core.v1.VolumeSource",
    fields: &[
        field(1, "hostPath", msg(&HOST_PATH)),
        field(2, "emptyDir", msg(&EMPTY_DIR)),
        field(6, "secret", msg(&SECRET_VOLUME)),
        field(10, "persistentVolumeClaim", msg(&CLAIM_VOLUME)),
        field(19, "configMap", msg(&CONFIG_MAP_VOLUME)),
    ],
};

static HOST_PATH: Message = Message {
    name: "core.v1.HostPathVolumeSource",
    fields: &[
        field(1, "path", Kind::Str).keep(),
        field(2, "type", Kind::Str).keep(),
    ],
};

static EMPTY_DIR: Message = Message {
    name: "core.v1.EmptyDirVolumeSource",
    fields: &[
        field(1, "medium", Kind::Str),
        field(2, "sizeLimit", Kind::Quantity).keep(),
    ],
};

static SECRET_VOLUME: Message = Message {
    name: "core.v1.SecretVolumeSource",
    fields: &[
        field(1, "secretName", Kind::Str),
        field(2, "items", msg(&KEY_TO_PATH)).list(),
        field(3, "defaultMode", Kind::Int).keep(),
        field(4, "optional", Kind::Bool).keep(),
    ],
};

static CLAIM_VOLUME: Message = Message {
    name: "core.v1.PersistentVolumeClaimVolumeSource",
    fields: &[
        field(1, "claimName", Kind::Str).keep(),
        field(2, "readOnly", Kind::Bool),
    ],
};

static CONFIG_MAP_VOLUME: Message = Message {
    name: "core.v1.ConfigMapVolumeSource",
    fields: &[
        field(
            1,
            "localObjectReference",
            Kind::Inline(&LOCAL_OBJECT_REFERENCE),
        ),
        field(2, "items", msg(&KEY_TO_PATH)).list(),
        field(3, "defaultMode", Kind::Int).keep(),
        field(4, "optional", Kind::Bool).keep(),
    ],
};

static KEY_TO_PATH: Message = Message {
    name: "core.v1.KeyToPath",
    fields: &[
        field(1, "key", Kind::Str).keep(),
        field(2, "path", Kind::Str).keep(),
        field(3, "mode", Kind::Int).keep(),
    ],
};
