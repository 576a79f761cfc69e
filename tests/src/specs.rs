//! JumpCloud's Swagger 2.0 specs (`shared/specs/`) as JSON Schema validators, for contract
//! tests of anything that speaks JumpCloud's API.
//!
//! The specs sit beside the repository (`<checkout>/../shared/specs/`, i.e. `/work/shared` next
//! to `/work/main`, or `<tmp>/shared` next to `<tmp>/passdesk` in CI) and are found from this
//! crate's `CARGO_MANIFEST_DIR`.
//!
//! Swagger 2.0 schemas are JSON Schema draft 4 plus vendor keywords. A schema is validated
//! inside a root document that carries the spec's whole `definitions`, so every
//! `$ref: "#/definitions/…"` resolves, after these conversions:
//! - `x-nullable: true` (a Swagger extension a draft-4 validator ignores, so without this every
//!   `null` the API is documented to return would fail) adds `"null"` to the schema's `type`
//!   (and to its `enum`); a nullable schema without a `type` (a bare `$ref`, an `allOf`) becomes
//!   `anyOf: [schema, {"type": "null"}]`;
//! - definitions listed in [`OBSERVED_NULLABLE`] get the same treatment: the spec does not mark
//!   them nullable but the live API returns `null` for them; each entry says where that was seen;
//! - `readOnly`, `discriminator`, `example` and `x-*` need nothing: draft 4 ignores unknown
//!   keywords, and `readOnly` only constrains requests;
//! - formats are asserted as draft 4 does (`date-time`, …); unknown ones (`int32`) are ignored.
//!
//! Nothing else is relaxed: no `additionalProperties` is added or removed, `required` lists
//! stay as written.

use std::path::PathBuf;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{Map, Value, json};

/// Which of JumpCloud's two specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `JumpCloud.SDK.V1.json`, base path `/api/`.
    V1,
    /// `JumpCloud.SDK.V2.json`, base path `/api/v2/`.
    V2,
}

impl Api {
    /// The spec's file name in `shared/specs/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Api::V1 => "JumpCloud.SDK.V1.json",
            Api::V2 => "JumpCloud.SDK.V2.json",
        }
    }
}

/// Definitions the live API returns as `null` although the spec does not say `x-nullable`:
/// (spec, definition, where the `null` was seen).
pub const OBSERVED_NULLABLE: &[(Api, &str, &str)] = &[(
    Api::V2,
    "GraphAttributes",
    "GET /v2/usergroups/{group_id}/members answers \
     [{\"attributes\":null,\"to\":{\"attributes\":null,\"id\":…,\"type\":\"user\"}}] \
     (shared/reference/jumpcloud-api.md §5.4)",
)];

/// `shared/specs/`, beside the repository checkout.
pub fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("shared")
        .join("specs")
}

/// One operation of a spec.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    /// Lower-case HTTP method (`get`, `post`).
    pub method: String,
    /// The path relative to the base path, e.g. `/systemusers/{id}`.
    pub path: String,
    /// The operation object.
    pub value: &'a Value,
}

/// A loaded spec.
#[derive(Debug)]
pub struct Spec {
    api: Api,
    document: Value,
    /// `definitions` after the Swagger → draft 4 conversions.
    definitions: Value,
}

impl Spec {
    /// Reads and parses a spec; panics with the path if it is missing or not JSON.
    pub fn load(api: Api) -> Spec {
        let path = specs_dir().join(api.file_name());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the specs live in shared/specs beside the checkout)",
                path.display()
            )
        });
        let document: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        let mut definitions = document
            .get("definitions")
            .cloned()
            .unwrap_or_else(|| json!({}));
        for (spec, name, _) in OBSERVED_NULLABLE {
            if *spec == api {
                let definition = definitions
                    .get_mut(*name)
                    .unwrap_or_else(|| panic!("{name} is not a definition of {api:?}"));
                definition["x-nullable"] = json!(true);
            }
        }
        let definitions = to_draft4(&definitions);
        Spec {
            api,
            document,
            definitions,
        }
    }

    /// The v1 spec, loaded once per test binary.
    pub fn v1() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| Spec::load(Api::V1))
    }

    /// The v2 spec, loaded once per test binary.
    pub fn v2() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| Spec::load(Api::V2))
    }

    /// Which spec this is.
    pub fn api(&self) -> Api {
        self.api
    }

    /// The raw document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// `basePath` without its trailing slash (`/api`, `/api/v2`).
    pub fn base_path(&self) -> &str {
        self.document["basePath"]
            .as_str()
            .unwrap_or("")
            .trim_end_matches('/')
    }

    /// The path item for a path relative to the base path.
    pub fn path(&self, path: &str) -> Option<&Value> {
        self.document["paths"].get(path)
    }

    /// Whether the spec defines `method` (any case) on `path` (relative to the base path).
    pub fn has_operation(&self, method: &str, path: &str) -> bool {
        self.path(path)
            .and_then(|item| item.get(method.to_ascii_lowercase()))
            .is_some_and(|operation| operation.get("responses").is_some())
    }

    /// The operation with this `operationId`.
    pub fn operation(&self, operation_id: &str) -> Option<Operation<'_>> {
        let paths = self.document["paths"].as_object()?;
        paths.iter().find_map(|(path, item)| {
            item.as_object()?.iter().find_map(|(method, operation)| {
                (operation.get("operationId").and_then(Value::as_str) == Some(operation_id)).then(
                    || Operation {
                        method: method.clone(),
                        path: path.clone(),
                        value: operation,
                    },
                )
            })
        })
    }

    /// The (unconverted) schema of an operation's response, following a `$ref` to the spec's
    /// top-level `responses`. `None` when the operation or status is missing or has no schema.
    pub fn response_schema(&self, operation_id: &str, status: u16) -> Option<Value> {
        let operation = self.operation(operation_id)?;
        let mut response = operation.value["responses"].get(status.to_string())?;
        if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix("#/responses/")?;
            response = self.document["responses"].get(name)?;
        }
        response.get("schema").cloned()
    }

    /// A validator for an operation's response, or `None` where the spec gives no schema.
    pub fn response_validator(&self, operation_id: &str, status: u16) -> Option<Validator> {
        self.response_schema(operation_id, status)
            .map(|schema| self.validator(&schema))
    }

    /// A validator for one definition (e.g. `systemuserreturn`).
    pub fn definition_validator(&self, name: &str) -> Validator {
        assert!(
            self.definitions.get(name).is_some(),
            "{name} is not a definition of {:?}",
            self.api
        );
        self.validator(&json!({ "$ref": format!("#/definitions/{name}") }))
    }

    /// A validator for the spec's standard error body for a status
    /// (`responses["trait:standardErrors:<status>"]`: v1 `Error`, v2 `Error` or `ErrorDetails`).
    pub fn error_validator(&self, status: u16) -> Validator {
        let key = format!("trait:standardErrors:{status}");
        let schema = self.document["responses"][&key]["schema"].clone();
        assert!(
            schema.is_object(),
            "{:?} has no standard error for {status}",
            self.api
        );
        self.validator(&schema)
    }

    /// A validator for any schema of this spec (its `$ref`s resolve in the spec's definitions).
    pub fn validator(&self, schema: &Value) -> Validator {
        let root = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "definitions": self.definitions,
            "allOf": [to_draft4(schema)],
        });
        jsonschema::draft4::options()
            .build(&root)
            .unwrap_or_else(|e| panic!("{:?} schema does not compile: {e}", self.api))
    }
}

/// Converts Swagger 2.0 schema extensions into draft 4 (see the module docs).
pub fn to_draft4(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(to_draft4).collect()),
        Value::Object(map) => {
            let mut converted: Map<String, Value> = map
                .iter()
                .map(|(key, value)| (key.clone(), to_draft4(value)))
                .collect();
            if converted.get("x-nullable") == Some(&Value::Bool(true)) {
                converted.remove("x-nullable");
                return make_nullable(converted);
            }
            Value::Object(converted)
        }
        other => other.clone(),
    }
}

fn make_nullable(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::Array(allowed)) = schema.get_mut("enum") {
        if !allowed.contains(&Value::Null) {
            allowed.push(Value::Null);
        }
    }
    match schema.get("type").cloned() {
        Some(Value::String(kind)) => {
            schema.insert("type".to_owned(), json!([kind, "null"]));
            Value::Object(schema)
        }
        Some(Value::Array(mut kinds)) => {
            if !kinds.contains(&json!("null")) {
                kinds.push(json!("null"));
            }
            schema.insert("type".to_owned(), Value::Array(kinds));
            Value::Object(schema)
        }
        _ => json!({ "anyOf": [Value::Object(schema), { "type": "null" }] }),
    }
}

/// Every violation of `instance`, as `<path>: <message>` lines (empty when valid).
pub fn violations(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

/// Panics, listing every violation, unless `instance` is valid.
#[track_caller]
pub fn assert_valid(validator: &Validator, instance: &Value, what: &str) {
    let found = violations(validator, instance);
    assert!(
        found.is_empty(),
        "{what} does not match the spec:\n  {}\ninstance: {instance:#}",
        found.join("\n  ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_nullable_adds_null_to_types_enums_and_refs() {
        let converted = to_draft4(&json!({
            "properties": {
                "date": {"type": "string", "x-nullable": true},
                "state": {"type": "string", "enum": ["A"], "x-nullable": true},
                "admin": {"$ref": "#/definitions/admin", "x-nullable": true},
                "plain": {"type": "string"},
            }
        }));
        let properties = &converted["properties"];
        assert_eq!(properties["date"], json!({"type": ["string", "null"]}));
        assert_eq!(
            properties["state"],
            json!({"type": ["string", "null"], "enum": ["A", null]})
        );
        assert_eq!(
            properties["admin"],
            json!({"anyOf": [{"$ref": "#/definitions/admin"}, {"type": "null"}]})
        );
        assert_eq!(properties["plain"], json!({"type": "string"}));
    }

    #[test]
    fn definitions_validate_with_refs_and_nullable_fields() {
        let user = Spec::v1().definition_validator("systemuserreturn");
        let good = json!({
            "_id": "5f0c1a2b3c4d5e6f7a8b9c0d",
            "username": "jane.doe",
            "activated": false,
            "state": "ACTIVATED",
            "password_expiration_date": null,
            "attributes": [{"name": "a", "value": "b"}],
        });
        assert_valid(&user, &good, "a pending user");

        let cases = [
            ("activated", json!("no")),
            ("state", json!("PENDING")),
            ("username", json!(null)),
            ("attributes", json!([{"name": 5}])),
            ("unix_uid", json!(0)),
        ];
        for (field, value) in cases {
            let mut bad = good.clone();
            bad[field] = value;
            assert!(
                !violations(&user, &bad).is_empty(),
                "{field} = {} should be refused",
                bad[field]
            );
        }
    }

    #[test]
    fn observed_nulls_are_accepted_only_where_listed() {
        let edge =
            json!({"attributes": null, "to": {"attributes": null, "id": "x", "type": "user"}});
        let spec = Spec::v2();
        assert_valid(
            &spec.definition_validator("GraphConnection"),
            &edge,
            "an edge",
        );
        let missing_to = json!({"attributes": null});
        assert!(!violations(&spec.definition_validator("GraphConnection"), &missing_to).is_empty());
        // The same null in a definition not listed is still refused.
        let group = json!({"id": "x", "name": "n", "attributes": null});
        assert!(!violations(&spec.definition_validator("UserGroup"), &group).is_empty());
    }

    #[test]
    fn operations_and_response_schemas_are_found() {
        let v1 = Spec::v1();
        assert_eq!(v1.base_path(), "/api");
        let get = v1.operation("User_Get").unwrap();
        assert_eq!(
            (get.method.as_str(), get.path.as_str()),
            ("get", "/systemusers/{id}")
        );
        assert!(v1.has_operation("POST", "/systemusers/{id}/expire"));
        assert!(v1.response_schema("ExpireUserPassword_POST", 200).is_none());
        assert!(v1.response_schema("User_Get", 200).is_some());
        assert!(!v1.has_operation("POST", "/systemusers/reactivate"));
        assert!(v1.path("/systemusers/reactivate").is_some());
        assert_eq!(Spec::v2().base_path(), "/api/v2");
    }
}
