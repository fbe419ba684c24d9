//! Reading lint inputs: files, directories (recursively, `*.yaml`/`*.yml`) and standard input,
//! each split into its YAML documents.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// Where manifests come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file or a directory.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl From<&str> for Input {
    fn from(arg: &str) -> Self {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// One YAML document and where it came from (`PATH`, or `PATH#N` in a multi-document file).
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// `PATH` or `PATH#N` (N counts from 1).
    pub source: String,
    /// The document's content.
    pub value: Value,
}

/// A file that could not be read or is not YAML.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{file}: {message}")]
pub struct InputError {
    /// The file (or `-`).
    pub file: String,
    /// What went wrong.
    pub message: String,
}

/// Every document of an input, and the files that could not be read. A directory yields the
/// documents of its YAML files in name order; one bad file does not hide the others.
pub fn read_documents(input: &Input) -> (Vec<Document>, Vec<InputError>) {
    let files = match input {
        Input::Stdin => {
            let mut text = String::new();
            return match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => {
                    split_documents("-", &text).map_or_else(|e| (vec![], vec![e]), |d| (d, vec![]))
                }
                Err(e) => (
                    vec![],
                    vec![InputError {
                        file: "-".into(),
                        message: e.to_string(),
                    }],
                ),
            };
        }
        Input::Path(path) if path.is_dir() => {
            let mut files = Vec::new();
            if let Err(e) = collect_yaml_files(path, &mut files) {
                return (vec![], vec![e]);
            }
            files
        }
        Input::Path(path) => vec![path.clone()],
    };
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match read_file(&file) {
            Ok(mut docs) => documents.append(&mut docs),
            Err(e) => errors.push(e),
        }
    }
    (documents, errors)
}

fn read_file(path: &Path) -> Result<Vec<Document>, InputError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        file: source.clone(),
        message: format!("cannot be read: {e}"),
    })?;
    split_documents(&source, &text)
}

fn collect_yaml_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let error = |e: std::io::Error| InputError {
        file: dir.display().to_string(),
        message: format!("cannot be read: {e}"),
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(error)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(error)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_yaml_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    Ok(())
}

/// Splits YAML `text` read from `source` into documents; empty documents are dropped.
pub fn split_documents(source: &str, text: &str) -> Result<Vec<Document>, InputError> {
    let mut values = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| InputError {
            file: source.to_owned(),
            message: format!("is not valid YAML: {e}"),
        })?;
        values.push(value);
    }
    let numbered = values.len() > 1;
    Ok(values
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_null())
        .map(|(i, value)| Document {
            source: if numbered {
                format!("{source}#{}", i + 1)
            } else {
                source.to_owned()
            },
            value,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_documents_only_in_multi_document_files() {
        let one = split_documents("a.yaml", "kind: A\n").unwrap();
        assert_eq!(one[0].source, "a.yaml");
        let two = split_documents("b.yaml", "kind: A\n---\nkind: B\n").unwrap();
        assert_eq!(
            two.iter().map(|d| d.source.as_str()).collect::<Vec<_>>(),
            ["b.yaml#1", "b.yaml#2"]
        );
    }

    #[test]
    fn empty_documents_are_skipped_but_keep_their_numbers() {
        let docs = split_documents("c.yaml", "---\nkind: A\n---\n---\nkind: B\n").unwrap();
        assert_eq!(
            docs.iter().map(|d| d.source.as_str()).collect::<Vec<_>>(),
            ["c.yaml#1", "c.yaml#3"]
        );
    }

    #[test]
    fn malformed_yaml_is_an_input_error_naming_the_file() {
        let err = split_documents("d.yaml", "kind: [A\n").unwrap_err();
        assert_eq!(err.file, "d.yaml");
        assert!(
            err.message.starts_with("is not valid YAML"),
            "{}",
            err.message
        );
    }
}
