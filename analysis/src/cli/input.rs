//! Reads the YAML files given to `serin analyze`: Canaries, MetricTemplates and Secrets, any
//! number per file, separated by `---`. Other kinds are skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize as _;
use serin_crds::{Canary, MetricTemplate};

/// A Secret from the input files, its data decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSecret {
    /// Namespace, when the file gives one.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// `data` (base64-decoded) and `stringData`, merged.
    pub data: BTreeMap<String, Vec<u8>>,
}

/// Everything read from the input files.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Canaries, in file order.
    pub canaries: Vec<Canary>,
    /// MetricTemplates.
    pub templates: Vec<MetricTemplate>,
    /// Secrets.
    pub secrets: Vec<InputSecret>,
}

/// Why the input files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A document is not valid YAML or not a valid object of its kind.
    #[error("{path}: document {index}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based position of the document in the file.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// No Canary was found, or several without `--canary` to pick one.
    #[error("{0}")]
    Canary(String),
    /// A `--set` argument is not `KEY=VALUE` with a known key.
    #[error("--set {0}")]
    Set(String),
    /// `--mesh-provider` or `--time` cannot be parsed.
    #[error("{0}")]
    Flag(String),
    /// The Canary does not pass validation (as `serin lint` reports it): its checks would not
    /// run in the controller either.
    #[error("Canary {name} is not valid: {errors}")]
    Invalid {
        /// `namespace/name` of the Canary.
        name: String,
        /// What validation found.
        errors: serin_crds::validation::ValidationErrors,
    },
}

impl InputError {
    /// A low-cardinality label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            InputError::Read { .. } => "read",
            InputError::Parse { .. } => "parse",
            InputError::Canary(_) => "canary",
            InputError::Set(_) => "set",
            InputError::Flag(_) => "flag",
            InputError::Invalid { .. } => "invalid",
        }
    }
}

impl Inputs {
    /// Reads every document of every file (`-` is standard input).
    pub fn read(paths: &[PathBuf]) -> Result<Self, InputError> {
        let mut inputs = Inputs::default();
        for path in paths {
            let read = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(path)
            };
            let text = read.map_err(|source| InputError::Read {
                path: path.clone(),
                source,
            })?;
            inputs.add_documents(path, &text)?;
        }
        Ok(inputs)
    }

    /// Adds the documents of one file's `text`.
    pub fn add_documents(&mut self, path: &Path, text: &str) -> Result<(), InputError> {
        for (position, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let index = position + 1;
            let parse_error = |message: String| InputError::Parse {
                path: path.to_owned(),
                index,
                message,
            };
            let value =
                serde_yaml::Value::deserialize(document).map_err(|e| parse_error(e.to_string()))?;
            let kind = value.get("kind").and_then(serde_yaml::Value::as_str);
            match kind {
                Some("Canary") => self
                    .canaries
                    .push(serde_yaml::from_value(value).map_err(|e| parse_error(e.to_string()))?),
                Some("MetricTemplate") => self
                    .templates
                    .push(serde_yaml::from_value(value).map_err(|e| parse_error(e.to_string()))?),
                Some("Secret") => self.secrets.push(secret(&value).map_err(parse_error)?),
                Some(other) => tracing::debug!(kind = other, "skipping a document of another kind"),
                None if value.is_null() => {}
                None => return Err(parse_error("the document has no `kind`".into())),
            }
        }
        Ok(())
    }
}

fn secret(value: &serde_yaml::Value) -> Result<InputSecret, String> {
    let text = |v: &serde_yaml::Value| v.as_str().map(str::to_owned);
    let metadata = value.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(text)
        .ok_or("the Secret has no metadata.name")?;
    let namespace = metadata.and_then(|m| m.get("namespace")).and_then(text);
    let mut data = BTreeMap::new();
    if let Some(map) = value.get("data").and_then(serde_yaml::Value::as_mapping) {
        for (key, encoded) in map {
            let (Some(key), Some(encoded)) = (key.as_str(), encoded.as_str()) else {
                return Err(format!("Secret {name}: data must map strings to strings"));
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|e| format!("Secret {name}: data.{key} is not base64: {e}"))?;
            data.insert(key.to_owned(), decoded);
        }
    }
    if let Some(map) = value
        .get("stringData")
        .and_then(serde_yaml::Value::as_mapping)
    {
        for (key, plain) in map {
            let (Some(key), Some(plain)) = (key.as_str(), plain.as_str()) else {
                return Err(format!(
                    "Secret {name}: stringData must map strings to strings"
                ));
            };
            data.insert(key.to_owned(), plain.as_bytes().to_vec());
        }
    }
    Ok(InputSecret {
        namespace,
        name,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_several_kinds_from_one_file_and_skips_others() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: prom}\ndata: {username: dXNlcg==}\nstringData: {password: pw}\n\
                    ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n\
                    ---\napiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata: {name: t}\nspec:\n  provider: {type: prometheus, address: 'http://p:9090'}\n  query: vector(1)\n";
        let mut inputs = Inputs::default();
        inputs.add_documents(Path::new("x.yaml"), text).unwrap();
        assert_eq!(inputs.templates.len(), 1);
        assert_eq!(inputs.secrets[0].data["username"], b"user");
        assert_eq!(inputs.secrets[0].data["password"], b"pw");
    }

    #[test]
    fn a_broken_document_names_file_and_position() {
        let mut inputs = Inputs::default();
        let err = inputs
            .add_documents(
                Path::new("c.yaml"),
                "kind: Secret\nmetadata: {}\n---\nkind: [",
            )
            .unwrap_err();
        assert!(err.to_string().starts_with("c.yaml: document 1:"), "{err}");
    }
}
