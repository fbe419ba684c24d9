//! Response shapes a client can ask for in `Accept`: the object, a `Table`, or `PartialObjectMetadata`.

use serde_json::{Value, json};

use crate::resources::ResourceInfo;
use crate::table;

/// How objects are rendered in a response or watch event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Render {
    /// The object itself (with the requested `apiVersion`).
    #[default]
    Full,
    /// A `meta.k8s.io/v1` `Table` (`kubectl get`).
    Table,
    /// `meta.k8s.io/v1` `PartialObjectMetadata` (kube-rs `Api<PartialObjectMeta<K>>`, metadata watches).
    Metadata,
}

impl Render {
    /// The rendering an `Accept` header asks for.
    pub fn from_accept(accept: &str) -> Self {
        if accept.contains("as=Table") {
            Self::Table
        } else if accept.contains("as=PartialObjectMetadata") {
            Self::Metadata
        } else {
            Self::Full
        }
    }

    /// One object as requested; `api_version` is the version of the request path.
    pub fn object(self, info: &ResourceInfo, api_version: &str, object: &Value) -> Value {
        match self {
            Self::Full if object["apiVersion"] == api_version => object.clone(),
            Self::Full => {
                let mut copy = object.clone();
                copy["apiVersion"] = json!(api_version);
                copy
            }
            Self::Table => {
                let mut table = table::table(info, std::slice::from_ref(object));
                table["metadata"]["resourceVersion"] =
                    object["metadata"]["resourceVersion"].clone();
                table
            }
            Self::Metadata => partial(object),
        }
    }

    /// A list response as requested.
    pub fn list(self, info: &ResourceInfo, list: Value) -> Value {
        let items = list["items"].as_array().map_or(&[][..], Vec::as_slice);
        match self {
            Self::Full => list,
            Self::Table => {
                let mut table = table::table(info, items);
                table["metadata"] = list["metadata"].clone();
                table
            }
            Self::Metadata => json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": list["metadata"],
                "items": items.iter().map(partial).collect::<Vec<_>>(),
            }),
        }
    }
}

fn partial(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_rendering() {
        assert_eq!(
            Render::from_accept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
            Render::Table
        );
        assert_eq!(
            Render::from_accept("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
            Render::Metadata
        );
        assert_eq!(Render::from_accept("application/json"), Render::Full);
        let info = crate::resources::Registry::default()
            .lookup("", "v1", "configmaps")
            .unwrap();
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
        assert_eq!(
            Render::Metadata.object(&info, "v1", &object)["kind"],
            "PartialObjectMetadata"
        );
        assert!(
            Render::Metadata
                .object(&info, "v1", &object)
                .get("data")
                .is_none()
        );
    }
}
