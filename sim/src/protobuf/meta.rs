//! Protobuf tables of `meta/v1` types and of the kinds made of metadata and maps: Namespace,
//! `ConfigMap`, `Secret`, `ServiceAccount`. Field numbers are those of Kubernetes' `generated.proto`.

use super::decode::{Kind, MapValue, Message, field};

const fn msg(m: &'static Message) -> Kind {
    Kind::Msg(m)
}

pub(crate) static OBJECT_META: Message = Message {
    name: "meta.v1.ObjectMeta",
    fields: &[
        field(1, "name", Kind::Str),
        field(2, "generateName", Kind::Str),
        field(3, "namespace", Kind::Str),
        field(4, "selfLink", Kind::Str),
        field(5, "uid", Kind::Str),
        field(6, "resourceVersion", Kind::Str),
        field(7, "generation", Kind::Int),
        field(8, "creationTimestamp", Kind::Time).keep(),
        field(9, "deletionTimestamp", Kind::Time).keep(),
        field(10, "deletionGracePeriodSeconds", Kind::Int).keep(),
        field(11, "labels", Kind::Map(MapValue::Str)),
        field(12, "annotations", Kind::Map(MapValue::Str)),
        field(13, "ownerReferences", msg(&OWNER_REFERENCE)).list(),
        field(14, "finalizers", Kind::Str).list(),
    ],
};

static OWNER_REFERENCE: Message = Message {
    name: "meta.v1.OwnerReference",
    fields: &[
        field(1, "kind", Kind::Str).keep(),
        field(3, "name", Kind::Str).keep(),
        field(4, "uid", Kind::Str).keep(),
        field(5, "apiVersion", Kind::Str).keep(),
        field(6, "controller", Kind::Bool).keep(),
        field(7, "blockOwnerDeletion", Kind::Bool).keep(),
    ],
};

pub(crate) static LABEL_SELECTOR: Message = Message {
    name: "meta.v1.LabelSelector",
    fields: &[
        field(1, "matchLabels", Kind::Map(MapValue::Str)),
        field(2, "matchExpressions", msg(&LABEL_SELECTOR_REQUIREMENT)).list(),
    ],
};

static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "meta.v1.LabelSelectorRequirement",
    fields: &[
        field(1, "key", Kind::Str).keep(),
        field(2, "operator", Kind::Str).keep(),
        field(3, "values", Kind::Str).list(),
    ],
};

/// `core.v1.LocalObjectReference`, embedded in the key selectors and env sources.
pub(crate) static LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "core.v1.LocalObjectReference",
    fields: &[field(1, "name", Kind::Str)],
};

static OBJECT_REFERENCE: Message = Message {
    name: "core.v1.ObjectReference",
    fields: &[
        field(1, "kind", Kind::Str),
        field(2, "namespace", Kind::Str),
        field(3, "name", Kind::Str),
        field(4, "uid", Kind::Str),
        field(5, "apiVersion", Kind::Str),
        field(6, "resourceVersion", Kind::Str),
        field(7, "fieldPath", Kind::Str),
    ],
};

pub(crate) static NAMESPACE: Message = Message {
    name: "core.v1.Namespace",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "spec", msg(&NAMESPACE_SPEC)),
        field(3, "status", msg(&NAMESPACE_STATUS)),
    ],
};

static NAMESPACE_SPEC: Message = Message {
    name: "core.v1.NamespaceSpec",
    fields: &[field(1, "finalizers", Kind::Str).list()],
};

static NAMESPACE_STATUS: Message = Message {
    name: "core.v1.NamespaceStatus",
    fields: &[field(1, "phase", Kind::Str)],
};

pub(crate) static CONFIG_MAP: Message = Message {
    name: "core.v1.ConfigMap",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "data", Kind::Map(MapValue::Str)),
        field(3, "binaryData", Kind::Map(MapValue::Bytes)),
        field(4, "immutable", Kind::Bool).keep(),
    ],
};

pub(crate) static SECRET: Message = Message {
    name: "core.v1.Secret",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "data", Kind::Map(MapValue::Bytes)),
        field(3, "type", Kind::Str),
        field(4, "stringData", Kind::Map(MapValue::Str)),
        field(5, "immutable", Kind::Bool).keep(),
    ],
};

pub(crate) static SERVICE_ACCOUNT: Message = Message {
    name: "core.v1.ServiceAccount",
    fields: &[
        field(1, "metadata", msg(&OBJECT_META)),
        field(2, "secrets", msg(&OBJECT_REFERENCE)).list(),
        field(3, "imagePullSecrets", msg(&LOCAL_OBJECT_REFERENCE)).list(),
        field(4, "automountServiceAccountToken", Kind::Bool).keep(),
    ],
};
