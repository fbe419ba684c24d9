//! List with label and field selectors and limit/continue pagination.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{Emulator, Target};
use crate::error::{ApiError, ApiResult};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::ObjectKey;

/// Query options of a list, watch or deletecollection request.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0 = no limit).
    pub limit: usize,
    /// `continue` token.
    pub continue_token: Option<String>,
}

impl ListOptions {
    /// Whether an object passes both selectors.
    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

fn encode_continue(rv: u64, key: &ObjectKey) -> String {
    let raw = format!("{rv}/{}/{}", key.0, key.1);
    raw.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn decode_continue(token: &str) -> ApiResult<(u64, ObjectKey)> {
    let invalid = || ApiError::bad_request("continue key is not valid");
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = raw.splitn(3, '/');
    let rv = parts
        .next()
        .and_then(|r| r.parse().ok())
        .ok_or_else(invalid)?;
    let ns = parts.next().ok_or_else(invalid)?.to_owned();
    let name = parts.next().ok_or_else(invalid)?.to_owned();
    Ok((rv, (ns, name)))
}

impl Emulator {
    /// All objects matching the options (ignoring pagination).
    pub(crate) fn list_objects(
        &self,
        target: &Target,
        options: &ListOptions,
    ) -> ApiResult<Vec<Arc<Value>>> {
        let namespace = target
            .namespace
            .as_deref()
            .filter(|_| target.info.namespaced);
        let (items, _) = self
            .store
            .list(&target.info.group_resource(), namespace, None, None)?;
        Ok(items.into_iter().filter(|o| options.matches(o)).collect())
    }

    /// A list response (`<Kind>List`), paginated.
    pub fn list(&self, target: &Target, options: &ListOptions) -> ApiResult<Value> {
        let namespace = target
            .namespace
            .as_deref()
            .filter(|_| target.info.namespaced);
        let resumed = options
            .continue_token
            .as_deref()
            .map(decode_continue)
            .transpose()?;
        let (after, since) = match &resumed {
            Some((rv, key)) => (Some(key), Some(*rv)),
            None => (None, None),
        };
        let (objects, current_rv) =
            self.store
                .list(&target.info.group_resource(), namespace, after, since)?;
        let list_rv = since.unwrap_or(current_rv);
        let api_version = target.info.api_version(&target.version);
        let mut items = Vec::new();
        let mut matching = objects.iter().filter(|o| options.matches(o));
        let mut last_key = None;
        for object in matching.by_ref() {
            let mut item = (**object).clone();
            if item["apiVersion"] != api_version.as_str() {
                item["apiVersion"] = json!(api_version);
            }
            last_key = Some((
                item["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                item["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
            items.push(item);
            if options.limit > 0 && items.len() >= options.limit {
                break;
            }
        }
        let remaining = matching.count();
        let mut metadata = json!({"resourceVersion": list_rv.to_string()});
        if remaining > 0
            && let Some(key) = last_key
        {
            metadata["continue"] = json!(encode_continue(list_rv, &key));
            metadata["remainingItemCount"] = json!(remaining);
        }
        Ok(json!({
            "apiVersion": api_version,
            "kind": format!("{}List", target.info.kind),
            "metadata": metadata,
            "items": items,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let key = ("ns".to_owned(), "a/b".to_owned());
        assert_eq!(
            decode_continue(&encode_continue(7, &key)).unwrap(),
            (7, key)
        );
        assert_eq!(decode_continue("zz").unwrap_err().code, 400);
    }
}
