//! Filters, sorting and projections over rendered JSON documents, as JumpCloud applies them.
//!
//! Query values are cast to the field's type when the filter is parsed, the way JumpCloud's
//! MongoDB layer casts them: a value that cannot be cast (`activated` = `"maybe"`, `created` =
//! `"yesterday"`) is a `400`, whatever the data. Fields the simulator does not know compare as
//! raw JSON (equality only: a missing field matches `$ne` and `null`, nothing else).

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

/// A filter problem, reported as `400` with this message.
pub(crate) type FilterError = String;

/// The type of a document field, for casting query values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Bool,
    Date,
    Int,
}

/// Which kind of document a filter runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    /// v1 system users (`_id`).
    User,
    /// v2 user groups (`id`).
    Group,
}

impl Entity {
    /// The field's type, or `None` for a field the simulator does not model.
    pub(crate) fn kind(self, field: &str) -> Option<Kind> {
        match self {
            Entity::User => match field {
                "activated"
                | "suspended"
                | "account_locked"
                | "password_expired"
                | "password_never_expires"
                | "allow_public_key"
                | "sudo"
                | "passwordless_sudo"
                | "enable_managed_uid"
                | "enable_user_portal_multifactor"
                | "externally_managed"
                | "ldap_binding_user"
                | "samba_service_user"
                | "totp_enabled" => Some(Kind::Bool),
                "created"
                | "password_date"
                | "password_expiration_date"
                | "account_locked_date" => Some(Kind::Date),
                "unix_uid" | "unix_guid" | "badLoginAttempts" => Some(Kind::Int),
                "_id" | "username" | "email" | "firstname" | "middlename" | "lastname"
                | "displayname" | "alternateEmail" | "state" | "organization" | "company"
                | "department" | "jobTitle" | "description" | "location" | "manager"
                | "employeeIdentifier" | "employeeType" | "costCenter" => Some(Kind::Str),
                _ => None,
            },
            Entity::Group => match field {
                "id"
                | "name"
                | "description"
                | "email"
                | "type"
                | "membershipMethod"
                | "organizationObjectId" => Some(Kind::Str),
                "memberSuggestionsNotify" => Some(Kind::Bool),
                _ => None,
            },
        }
    }

    /// The id field, always returned and the final sort key.
    pub(crate) fn id_field(self) -> &'static str {
        match self {
            Entity::User => "_id",
            Entity::Group => "id",
        }
    }
}

/// A value ready for comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Date(DateTime<Utc>),
    /// A field the simulator does not model: compared as JSON.
    Raw(Value),
}

impl Scalar {
    fn rank(&self) -> u8 {
        match self {
            Scalar::Null => 0,
            Scalar::Int(_) => 1,
            Scalar::Str(_) => 2,
            Scalar::Bool(_) => 3,
            Scalar::Date(_) => 4,
            Scalar::Raw(_) => 5,
        }
    }

    /// Ordering between two values of the same type; `None` across types or with null.
    fn partial(&self, other: &Scalar) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
            (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(b)),
            (Scalar::Str(a), Scalar::Str(b)) => Some(a.cmp(b)),
            (Scalar::Date(a), Scalar::Date(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// A total order for sorting: nulls first, then by type, then by value.
    fn total(&self, other: &Scalar) -> Ordering {
        self.partial(other).unwrap_or_else(|| match (self, other) {
            (Scalar::Raw(a), Scalar::Raw(b)) => a.to_string().cmp(&b.to_string()),
            _ => self.rank().cmp(&other.rank()),
        })
    }
}

/// Parses a date the way clients send them: RFC 3339 with any fraction and offset, a naive
/// date-time (taken as UTC), or a bare date (midnight UTC).
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date.with_timezone(&Utc));
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(naive.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

/// Casts a query value to a field's type (MongoDB-layer casting); unknown fields stay raw.
fn cast(field: &str, kind: Option<Kind>, value: &Value) -> Result<Scalar, FilterError> {
    let fail = || format!("cast error: invalid value for field '{field}'");
    if value.is_null() {
        return Ok(Scalar::Null);
    }
    let Some(kind) = kind else {
        return Ok(Scalar::Raw(value.clone()));
    };
    match kind {
        Kind::Str => match value {
            Value::String(s) => Ok(Scalar::Str(s.clone())),
            Value::Number(n) => Ok(Scalar::Str(n.to_string())),
            Value::Bool(b) => Ok(Scalar::Str(b.to_string())),
            _ => Err(fail()),
        },
        Kind::Bool => match value {
            Value::Bool(b) => Ok(Scalar::Bool(*b)),
            Value::String(s) => match s.as_str() {
                "true" | "1" | "yes" => Ok(Scalar::Bool(true)),
                "false" | "0" | "no" => Ok(Scalar::Bool(false)),
                _ => Err(fail()),
            },
            Value::Number(n) => match n.as_i64() {
                Some(1) => Ok(Scalar::Bool(true)),
                Some(0) => Ok(Scalar::Bool(false)),
                _ => Err(fail()),
            },
            _ => Err(fail()),
        },
        Kind::Date => match value {
            Value::String(s) => parse_date(s).map(Scalar::Date).ok_or_else(fail),
            Value::Number(n) => n
                .as_i64()
                .and_then(DateTime::from_timestamp_millis)
                .map(Scalar::Date)
                .ok_or_else(fail),
            _ => Err(fail()),
        },
        Kind::Int => match value {
            Value::Number(n) => n.as_i64().map(Scalar::Int).ok_or_else(fail),
            Value::String(s) => s.parse().map(Scalar::Int).map_err(|_| fail()),
            _ => Err(fail()),
        },
    }
}

/// A document's value for a field, typed like the query side.
fn doc_value(kind: Option<Kind>, value: Option<&Value>) -> Scalar {
    match value {
        None | Some(Value::Null) => Scalar::Null,
        Some(value) => cast("", kind, value).unwrap_or_else(|_| Scalar::Raw(value.clone())),
    }
}

/// One test on one field.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Eq(Scalar),
    Ne(Scalar),
    Cmp(Ordering, bool, Scalar),
    In(Vec<Scalar>),
    Nin(Vec<Scalar>),
    Exists(bool),
    Regex(Regex),
    NotRegex(Regex),
    /// Case-insensitive substring (v2 `search`, v1 `searchFilter`).
    Contains(String),
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    All,
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Field {
        name: String,
        kind: Option<Kind>,
        test: Test,
    },
}

fn equals(kind: Option<Kind>, doc: Option<&Value>, wanted: &Scalar) -> bool {
    match wanted {
        Scalar::Raw(raw) => doc.unwrap_or(&Value::Null) == raw,
        Scalar::Null => matches!(doc, None | Some(Value::Null)),
        _ => doc_value(kind, doc) == *wanted,
    }
}

impl Pred {
    /// Whether a document passes the filter.
    pub(crate) fn matches(&self, doc: &Map<String, Value>) -> bool {
        match self {
            Pred::All => true,
            Pred::And(all) => all.iter().all(|pred| pred.matches(doc)),
            Pred::Or(any) => any.iter().any(|pred| pred.matches(doc)),
            Pred::Field { name, kind, test } => {
                let value = doc.get(name);
                let text = || value.and_then(Value::as_str);
                match test {
                    Test::Eq(wanted) => equals(*kind, value, wanted),
                    Test::Ne(wanted) => !equals(*kind, value, wanted),
                    Test::In(list) => list.iter().any(|wanted| equals(*kind, value, wanted)),
                    Test::Nin(list) => !list.iter().any(|wanted| equals(*kind, value, wanted)),
                    Test::Cmp(ordering, or_equal, bound) => {
                        match doc_value(*kind, value).partial(bound) {
                            Some(found) => found == *ordering || (*or_equal && found.is_eq()),
                            None => false,
                        }
                    }
                    Test::Exists(wanted) => value.is_some() == *wanted,
                    Test::Regex(regex) => text().is_some_and(|s| regex.is_match(s)),
                    Test::NotRegex(regex) => !text().is_some_and(|s| regex.is_match(s)),
                    Test::Contains(needle) => {
                        text().is_some_and(|s| s.to_lowercase().contains(needle.as_str()))
                    }
                }
            }
        }
    }
}

/// Compiles a `$regex` pattern with MongoDB `$options` flags (`i`, `m`, `s`, `x`).
fn compile_regex(pattern: &str, options: &str) -> Result<Regex, FilterError> {
    let mut builder = RegexBuilder::new(pattern);
    builder.size_limit(1 << 20);
    for flag in options.chars() {
        match flag {
            'i' => builder.case_insensitive(true),
            'm' => builder.multi_line(true),
            's' => builder.dot_matches_new_line(true),
            'x' => builder.ignore_whitespace(true),
            _ => return Err(format!("invalid regular expression option '{flag}'")),
        };
    }
    builder
        .build()
        .map_err(|_| "invalid regular expression".to_owned())
}

fn comparison(op: &str, bound: Scalar) -> Option<Test> {
    Some(match op {
        "eq" => Test::Eq(bound),
        "ne" => Test::Ne(bound),
        "gt" => Test::Cmp(Ordering::Greater, false, bound),
        "gte" => Test::Cmp(Ordering::Greater, true, bound),
        "lt" => Test::Cmp(Ordering::Less, false, bound),
        "lte" => Test::Cmp(Ordering::Less, true, bound),
        _ => return None,
    })
}

/// v1 query filter `<field>:$<op>:<value>` (`GET /systemusers?filter=…`). The value is
/// everything after the second colon, so dates keep their colons.
pub(crate) fn parse_v1_query_filter(entity: Entity, text: &str) -> Result<Pred, FilterError> {
    let mut parts = text.splitn(3, ':');
    let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "invalid filter '{text}': expected <field>:$<operator>:<value>"
        ));
    };
    if field.is_empty() {
        return Err("invalid filter: empty field name".to_owned());
    }
    let kind = entity.kind(field);
    let bare = op
        .strip_prefix('$')
        .ok_or_else(|| format!("invalid filter operator '{op}': v1 operators start with '$'"))?;
    let bound = cast(field, kind, &Value::String(value.to_owned()))?;
    let test =
        comparison(bare, bound).ok_or_else(|| format!("unsupported filter operator '{op}'"))?;
    Ok(Pred::Field {
        name: field.to_owned(),
        kind,
        test,
    })
}

/// v2 query filter `<field>:<op>:<value>` (`GET /v2/usergroups?filter=name:eq:…`).
///
/// Operators: `eq`, `ne` (case-sensitive; `*` in the value matches any run of characters, as
/// the spec says values "support wild cards"), `gt`, `ge`, `lt`, `le`, `search`
/// (case-insensitive substring) and `in` (values separated by `|`). `between` and unknown
/// fields are refused with `400`.
pub(crate) fn parse_v2_filter(entity: Entity, text: &str) -> Result<Pred, FilterError> {
    let mut parts = text.splitn(3, ':');
    let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "invalid filter '{text}': expected <field>:<operator>:<value>"
        ));
    };
    let kind = entity
        .kind(field)
        .ok_or_else(|| format!("invalid filter field '{field}'"))?;
    let scalar = |value: &str| cast(field, Some(kind), &Value::String(value.to_owned()));
    let wildcard = |value: &str| -> Result<Option<Regex>, FilterError> {
        if kind != Kind::Str || !value.contains('*') {
            return Ok(None);
        }
        let pattern: Vec<String> = value.split('*').map(regex::escape).collect();
        compile_regex(&format!("^{}$", pattern.join(".*")), "").map(Some)
    };
    let test = match op {
        "eq" => match wildcard(value)? {
            Some(regex) => Test::Regex(regex),
            None => Test::Eq(scalar(value)?),
        },
        "ne" => match wildcard(value)? {
            Some(regex) => Test::NotRegex(regex),
            None => Test::Ne(scalar(value)?),
        },
        "gt" => Test::Cmp(Ordering::Greater, false, scalar(value)?),
        "ge" => Test::Cmp(Ordering::Greater, true, scalar(value)?),
        "lt" => Test::Cmp(Ordering::Less, false, scalar(value)?),
        "le" => Test::Cmp(Ordering::Less, true, scalar(value)?),
        "search" => Test::Contains(value.to_lowercase()),
        "in" => Test::In(value.split('|').map(scalar).collect::<Result<_, _>>()?),
        _ => return Err(format!("unsupported filter operator '{op}'")),
    };
    Ok(Pred::Field {
        name: field.to_owned(),
        kind: Some(kind),
        test,
    })
}

/// The `filter` of a search body: `null`/absent (everything), an array of expressions (all
/// must match), `{"and":[…]}` / `{"or":[…]}` (also `$and`/`$or`, nested at will), or a single
/// expression object.
pub(crate) fn parse_search_filter(entity: Entity, filter: &Value) -> Result<Pred, FilterError> {
    match filter {
        Value::Null => Ok(Pred::All),
        Value::Array(expressions) => expressions
            .iter()
            .map(|expression| parse_expression(entity, expression))
            .collect::<Result<_, _>>()
            .map(Pred::And),
        Value::Object(_) => parse_expression(entity, filter),
        _ => Err("invalid filter: expected an array or an object".to_owned()),
    }
}

fn parse_expression(entity: Entity, expression: &Value) -> Result<Pred, FilterError> {
    let Value::Object(map) = expression else {
        return Err("invalid filter expression: expected an object".to_owned());
    };
    if map.is_empty() {
        return Ok(Pred::All);
    }
    let mut all = Vec::with_capacity(map.len());
    for (key, value) in map {
        let pred = match key.as_str() {
            "and" | "$and" | "or" | "$or" => {
                let Value::Array(items) = value else {
                    return Err(format!("invalid filter: '{key}' needs an array"));
                };
                let preds = items
                    .iter()
                    .map(|item| parse_expression(entity, item))
                    .collect::<Result<Vec<_>, _>>()?;
                if key.ends_with("and") {
                    Pred::And(preds)
                } else {
                    Pred::Or(preds)
                }
            }
            field => parse_condition(entity, field, value)?,
        };
        all.push(pred);
    }
    Ok(Pred::And(all))
}

fn parse_condition(entity: Entity, field: &str, condition: &Value) -> Result<Pred, FilterError> {
    let kind = entity.kind(field);
    let operators = match condition {
        Value::Object(ops) if !ops.is_empty() && ops.keys().all(|k| k.starts_with('$')) => ops,
        literal => {
            return Ok(Pred::Field {
                name: field.to_owned(),
                kind,
                test: Test::Eq(cast(field, kind, literal)?),
            });
        }
    };
    let options = match operators.get("$options") {
        None => "",
        Some(Value::String(options)) => options.as_str(),
        Some(_) => return Err("invalid filter: '$options' must be a string".to_owned()),
    };
    let list = |value: &Value| -> Result<Vec<Scalar>, FilterError> {
        let Value::Array(items) = value else {
            return Err(format!(
                "invalid filter: '{field}' list operator needs an array"
            ));
        };
        items.iter().map(|item| cast(field, kind, item)).collect()
    };
    let mut tests = Vec::with_capacity(operators.len());
    for (op, value) in operators {
        let test = match op.as_str() {
            "$options" => continue,
            "$regex" => {
                let Value::String(pattern) = value else {
                    return Err("invalid filter: '$regex' must be a string".to_owned());
                };
                Test::Regex(compile_regex(pattern, options)?)
            }
            "$in" => Test::In(list(value)?),
            "$nin" => Test::Nin(list(value)?),
            "$exists" => Test::Exists(value.as_bool().unwrap_or(!value.is_null())),
            other => comparison(&other[1..], cast(field, kind, value)?)
                .ok_or_else(|| format!("unsupported filter operator '{other}'"))?,
        };
        tests.push(Pred::Field {
            name: field.to_owned(),
            kind,
            test,
        });
    }
    Ok(Pred::And(tests))
}

/// The `searchFilter` of a search body: `{"searchTerm": str | [str], "fields": [str]}`, a
/// case-insensitive partial match of any term in any field.
pub(crate) fn parse_search_text(entity: Entity, search: &Value) -> Result<Pred, FilterError> {
    let Value::Object(map) = search else {
        return match search {
            Value::Null => Ok(Pred::All),
            _ => Err("invalid searchFilter: expected an object".to_owned()),
        };
    };
    let terms: Vec<String> = match map.get("searchTerm") {
        None | Some(Value::Null) => return Ok(Pred::All),
        Some(Value::String(term)) => vec![term.to_lowercase()],
        Some(Value::Array(terms)) => terms
            .iter()
            .map(|term| term.as_str().map(str::to_lowercase))
            .collect::<Option<_>>()
            .ok_or("invalid searchFilter: searchTerm must be strings")?,
        Some(_) => return Err("invalid searchFilter: searchTerm must be strings".to_owned()),
    };
    let fields: Vec<String> = match map.get("fields") {
        None | Some(Value::Null) => ["username", "email", "firstname", "lastname"]
            .map(str::to_owned)
            .to_vec(),
        Some(value) => field_list(value, ' ').ok_or("invalid searchFilter: bad fields")?,
    };
    let mut any = Vec::new();
    for field in &fields {
        for term in &terms {
            any.push(Pred::Field {
                name: field.clone(),
                kind: entity.kind(field),
                test: Test::Contains(term.clone()),
            });
        }
    }
    Ok(Pred::Or(any))
}

/// A list of field names given as a separated string or an array of strings.
pub(crate) fn field_list(value: &Value, separator: char) -> Option<Vec<String>> {
    let split = |s: &str| -> Vec<String> {
        s.split(|c: char| c == separator || c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match value {
        Value::Null => Some(Vec::new()),
        Value::String(s) => Some(split(s)),
        Value::Array(items) => {
            let mut fields = Vec::new();
            for item in items {
                fields.extend(split(item.as_str()?));
            }
            Some(fields)
        }
        _ => None,
    }
}

/// One sort key: a field, ascending unless prefixed with `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortKey {
    field: String,
    descending: bool,
}

/// Parses sort tokens (`_id`, `-created`, …).
pub(crate) fn parse_sort<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Vec<SortKey> {
    tokens
        .into_iter()
        .filter(|token| !token.is_empty())
        .map(|token| match token.strip_prefix('-') {
            Some(field) => SortKey {
                field: field.to_owned(),
                descending: true,
            },
            None => SortKey {
                field: token.strip_prefix('+').unwrap_or(token).to_owned(),
                descending: false,
            },
        })
        .collect()
}

/// Sorts documents by the keys, then by id ascending, so paging is stable.
pub(crate) fn sort_docs(entity: Entity, docs: &mut [Map<String, Value>], keys: &[SortKey]) {
    let id = entity.id_field();
    docs.sort_by(|a, b| {
        for key in keys {
            let kind = entity.kind(&key.field);
            let ordering =
                doc_value(kind, a.get(&key.field)).total(&doc_value(kind, b.get(&key.field)));
            let ordering = if key.descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        let a_id = a.get(id).and_then(Value::as_str).unwrap_or_default();
        let b_id = b.get(id).and_then(Value::as_str).unwrap_or_default();
        a_id.cmp(b_id)
    });
}

/// Keeps only the listed fields (plus the id, always); an empty list keeps everything.
pub(crate) fn project(
    entity: Entity,
    doc: Map<String, Value>,
    fields: &[String],
) -> Map<String, Value> {
    if fields.is_empty() {
        return doc;
    }
    let id = entity.id_field();
    doc.into_iter()
        .filter(|(key, _)| key == id || fields.iter().any(|field| field == key))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn jane() -> Map<String, Value> {
        doc(json!({
            "_id": "5f0c00000000000000000001",
            "username": "jane.doe",
            "email": "Jane.Doe@example.com",
            "activated": false,
            "created": "2026-11-18T14:03:11.512Z",
            "unix_uid": 5001,
            "alternateEmail": null,
        }))
    }

    fn search(filter: Value) -> Result<bool, FilterError> {
        Ok(parse_search_filter(Entity::User, &filter)?.matches(&jane()))
    }

    #[test]
    fn search_filters_match_like_jumpcloud() {
        let cases: Vec<(Value, bool)> = vec![
            (json!(null), true),
            (json!([{}]), true),
            (json!([{"username": "jane.doe"}]), true),
            (json!([{"username": "Jane.Doe"}]), false),
            (
                json!({"and": [{"username": "jane.doe"}, {"activated": false}]}),
                true,
            ),
            (
                json!({"and": [{"username": "jane.doe"}, {"activated": true}]}),
                false,
            ),
            (
                json!({"or": [{"username": "x"}, {"activated": "false"}]}),
                true,
            ),
            (
                json!({"$or": [{"username": "x"}, {"username": "y"}]}),
                false,
            ),
            (
                json!([{"username": {"$regex": "(?i)(^JANE\\.DOE$)"}}]),
                true,
            ),
            (
                json!([{"username": {"$regex": "(?i)(^jane\\.do$)"}}]),
                false,
            ),
            (json!([{"username": {"$regex": "^jane.*"}}]), true),
            (json!([{"username": {"$regex": "doe$"}}]), true),
            (
                json!([{"username": {"$regex": "JANE", "$options": "i"}}]),
                true,
            ),
            (json!([{"username": {"$regex": "^janeXdoe$"}}]), false),
            (json!([{"username": {"$regex": "^jane\\.doe$"}}]), true),
            (json!([{"unix_uid": {"$regex": "5"}}]), false),
            (
                json!([{"created": {"$gt": "2026-11-18T14:03:11.511Z"}}]),
                true,
            ),
            (
                json!([{"created": {"$gt": "2026-11-18T14:03:11.512Z"}}]),
                false,
            ),
            (
                json!([{"created": {"$gte": "2026-11-18T14:03:11.512Z"}}]),
                true,
            ),
            (
                json!([{"created": {"$gt": "2026-11-18T15:00:00.0000000+01:00"}}]),
                true,
            ),
            (json!([{"created": {"$lt": "2026-11-18"}}]), false),
            (json!([{"activated": {"$ne": true}}]), true),
            (json!([{"activated": {"$eq": false}}]), true),
            (json!([{"activated": {"$lt": true}}]), true),
            (
                json!([{"username": {"$gt": "jane"}, "activated": false}]),
                true,
            ),
            (json!([{"username": {"$in": ["a", "jane.doe"]}}]), true),
            (json!([{"username": {"$nin": ["a", "jane.doe"]}}]), false),
            (json!([{"alternateEmail": null}]), true),
            (json!([{"department": null}]), true),
            (json!([{"nosuchfield": "x"}]), false),
            (json!([{"nosuchfield": {"$ne": "x"}}]), true),
            (json!([{"unix_uid": {"$gte": 5001}}]), true),
            (json!([{"unix_uid": "5001"}]), true),
        ];
        for (filter, expected) in cases {
            assert_eq!(search(filter.clone()), Ok(expected), "{filter}");
        }
    }

    #[test]
    fn bad_search_filters_are_refused() {
        for filter in [
            json!([{"username": {"$regex": "(unclosed"}}]),
            json!([{"username": {"$regex": "a", "$options": "q"}}]),
            json!([{"username": {"$regex": 5}}]),
            json!([{"activated": "maybe"}]),
            json!([{"created": {"$gt": "last tuesday"}}]),
            json!([{"username": {"$where": "1"}}]),
            json!({"and": {"username": "x"}}),
            json!("username"),
            json!([5]),
        ] {
            assert!(search(filter.clone()).is_err(), "{filter}");
        }
    }

    #[test]
    fn v1_query_filters_keep_colons_in_values_and_cast() {
        let user = jane();
        let cases = [
            ("activated:$eq:false", true),
            ("activated:$eq:true", false),
            ("created:$gt:2026-11-18T14:00:00Z", true),
            ("created:$lt:2026-11-18T14:00:00Z", false),
            ("username:$ne:jane.doe", false),
            ("username:$gte:jane.doe", true),
        ];
        for (text, expected) in cases {
            let pred = parse_v1_query_filter(Entity::User, text).unwrap();
            assert_eq!(pred.matches(&user), expected, "{text}");
        }
        for bad in [
            "activated",
            "activated:eq:false",
            "activated:$like:false",
            "activated:$eq:perhaps",
            ":$eq:x",
        ] {
            assert!(parse_v1_query_filter(Entity::User, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn v2_filters_are_case_sensitive_with_wildcards() {
        let group = doc(json!({"id": "6a1b00000000000000000001", "name": "New Users"}));
        let cases = [
            ("name:eq:New Users", true),
            ("name:eq:new users", false),
            ("name:eq:New*", true),
            ("name:eq:*Users", true),
            ("name:eq:Users*", false),
            ("name:ne:New Users", false),
            ("name:ne:Old*", true),
            ("name:search:users", true),
            ("name:in:Admins|New Users", true),
            ("name:eq:New: Users", false),
        ];
        for (text, expected) in cases {
            let pred = parse_v2_filter(Entity::Group, text).unwrap();
            assert_eq!(pred.matches(&group), expected, "{text}");
        }
        for bad in ["name:like:x", "color:eq:red", "name", "name:between:a,b"] {
            assert!(parse_v2_filter(Entity::Group, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_text_is_a_partial_case_insensitive_match() {
        let text = json!({"searchTerm": ["nobody", "DOE@EXAMPLE"], "fields": ["email"]});
        assert!(
            parse_search_text(Entity::User, &text)
                .unwrap()
                .matches(&jane())
        );
        let text = json!({"searchTerm": "doe@", "fields": ["username"]});
        assert!(
            !parse_search_text(Entity::User, &text)
                .unwrap()
                .matches(&jane())
        );
    }

    #[test]
    fn sort_orders_by_keys_then_id_and_projection_keeps_the_id() {
        let mut docs = vec![
            doc(json!({"_id": "3", "created": "2026-01-01T00:00:00Z", "username": "b"})),
            doc(json!({"_id": "1", "created": "2026-03-01T00:00:00Z", "username": "a"})),
            doc(json!({"_id": "2", "created": "2026-01-01T00:00:00Z", "username": "c"})),
        ];
        sort_docs(Entity::User, &mut docs, &parse_sort(["-created"]));
        let ids: Vec<&str> = docs.iter().map(|d| d["_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        sort_docs(Entity::User, &mut docs, &parse_sort(["username"]));
        let ids: Vec<&str> = docs.iter().map(|d| d["_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["1", "3", "2"]);

        let projected = project(Entity::User, docs.remove(0), &["username".to_owned()]);
        assert_eq!(projected, doc(json!({"_id": "1", "username": "a"})));
    }

    #[test]
    fn field_lists_accept_strings_and_arrays() {
        assert_eq!(
            field_list(&json!("username  email"), ' '),
            Some(vec!["username".to_owned(), "email".to_owned()])
        );
        assert_eq!(
            field_list(&json!(["username", "email"]), ' '),
            Some(vec!["username".to_owned(), "email".to_owned()])
        );
        assert_eq!(field_list(&json!(5), ' '), None);
    }
}
