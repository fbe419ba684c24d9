//! Schema helpers: JSON-schema shapes that Flagger's CRDs use and that the Rust types alone would
//! describe more narrowly.
//!
//! Flagger declares most counts and weights as `type: number`. The Rust fields are integers, but
//! the generated CRD must accept everything Flagger's does, so those fields use these helpers.

use schemars::{Schema, SchemaGenerator, json_schema};

/// `type: number`, for integer fields that Flagger's schema declares as numbers.
pub(crate) fn number(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "number" })
}

/// An array of `type: number` items.
pub(crate) fn number_array(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "array", "items": { "type": "number" } })
}

/// A string map (`additionalProperties: {type: string}`).
pub(crate) fn string_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "additionalProperties": { "type": "string" } })
}

/// An RFC 3339 timestamp string.
pub(crate) fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time" })
}

/// Drops a type's own description from its schema, so that the description of the field that
/// uses it is the one `kubectl explain` shows. Applied to enums: kube hoists an optional enum's
/// schema over the field's, which would otherwise replace the field's description.
pub(crate) fn without_description(schema: &mut Schema) {
    schema.remove("description");
}

/// `type: integer` without a `format`, for counts (the API server stores them as int64).
pub(crate) fn integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 0 })
}
