//! The route handlers. The gate has already recorded the request, applied latency, faults and
//! the rate limit, and put the caller's organisation in an [`OrgCtx`].

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

use super::Shared;
use super::error::{ApiError, json_response};
use super::filter::{
    Entity, FilterError, Pred, field_list, parse_search_filter, parse_search_text, parse_sort,
    parse_v1_query_filter, parse_v2_filter, project, sort_docs,
};
use super::gate::OrgCtx;
use super::record::{Expiration, Mail, MailKind};
use super::state::{UserState, is_object_id};

/// Page size when the request gives none (v1 and v2).
const DEFAULT_LIMIT: u64 = 10;
/// Largest page of `GET /systemusers` and of the v2 lists.
const MAX_LIST_LIMIT: u64 = 100;
/// Largest page of `POST /search/systemusers` (the PowerShell module pages at 1000).
const MAX_SEARCH_LIMIT: u64 = 1000;

type Query = Vec<(String, String)>;

fn parse_query(raw: Option<String>) -> Query {
    raw.map(|raw| {
        url::form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

fn first<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn all<'a>(query: &'a Query, name: &'a str) -> impl Iterator<Item = &'a str> {
    query
        .iter()
        .filter(move |(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Splits separated lists given once or repeated (`fields=a,b&fields=c`).
fn list<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values
        .flat_map(|value| value.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A `limit` or `skip` value: a non-negative integer, at most `max`.
fn count(
    name: &str,
    value: Option<&Value>,
    default: u64,
    max: u64,
    bad: fn(String) -> ApiError,
) -> Result<usize, ApiError> {
    let number = match value {
        None | Some(Value::Null) => default,
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| bad(format!("{name} must be a non-negative integer")))?,
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| bad(format!("{name} must be a non-negative integer")))?,
        Some(_) => return Err(bad(format!("{name} must be a non-negative integer"))),
    };
    if number > max {
        return Err(bad(format!("{name} must be at most {max}")));
    }
    usize::try_from(number).map_err(|_| bad(format!("{name} is too large")))
}

/// `limit` (at most `max`, [`DEFAULT_LIMIT`] when absent) and `skip` (0 when absent), each read
/// with `value`, `limit` checked first.
fn limit_and_skip(
    value: impl Fn(&str) -> Option<Value>,
    max: u64,
    bad: fn(String) -> ApiError,
) -> Result<(usize, usize), ApiError> {
    let limit = count("limit", value("limit").as_ref(), DEFAULT_LIMIT, max, bad)?;
    let skip = count("skip", value("skip").as_ref(), 0, u64::MAX, bad)?;
    Ok((limit, skip))
}

/// The query's repeated `filter`s, each parsed with `parse`, ANDed.
fn query_filters(
    query: &Query,
    entity: Entity,
    parse: fn(Entity, &str) -> Result<Pred, FilterError>,
    bad: fn(String) -> ApiError,
) -> Result<Pred, ApiError> {
    all(query, "filter")
        .map(|text| parse(entity, text))
        .collect::<Result<_, _>>()
        .map(Pred::And)
        .map_err(bad)
}

fn query_value(query: &Query, name: &str) -> Option<Value> {
    first(query, name).map(|value| Value::String(value.to_owned()))
}

fn bad_v1(message: String) -> ApiError {
    ApiError::bad_request_v1(message)
}

fn bad_v2(message: String) -> ApiError {
    ApiError::bad_request_v2(message)
}

/// Filters, sorts, counts and pages documents.
fn page(
    entity: Entity,
    docs: impl Iterator<Item = Map<String, Value>>,
    pred: &Pred,
    sort: &[String],
    fields: &[String],
    skip: usize,
    limit: usize,
) -> (usize, Vec<Value>) {
    let mut docs: Vec<Map<String, Value>> = docs.filter(|doc| pred.matches(doc)).collect();
    sort_docs(
        entity,
        &mut docs,
        &parse_sort(sort.iter().map(String::as_str)),
    );
    let total = docs.len();
    let page = docs
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|doc| Value::Object(project(entity, doc, fields)))
        .collect();
    (total, page)
}

fn with_total_count(mut response: Response, total: usize) -> Response {
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    response
}

fn valid_id(id: &str, bad: fn(String) -> ApiError) -> Result<String, ApiError> {
    if is_object_id(id) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(bad("invalid object id".to_owned()))
    }
}

/// `GET /api/systemusers/{id}`: the `systemuserreturn`, projected by `fields`; a `filter` the
/// user does not pass answers `404`.
pub(crate) async fn get_user(
    State(shared): State<Arc<Shared>>,
    Extension(OrgCtx(org)): Extension<OrgCtx>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_query(raw);
    let id = valid_id(&id, bad_v1)?;
    let pred = query_filters(&query, Entity::User, parse_v1_query_filter, bad_v1)?;
    let fields = list(all(&query, "fields"));
    let store = shared.store();
    let doc = store
        .user_in_org(&org, &id)
        .map(|user| user.to_json())
        .filter(|doc| pred.matches(doc))
        .ok_or(ApiError::NotFound)?;
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(project(Entity::User, doc, &fields)),
    ))
}

/// `GET /api/systemusers`: `{"totalCount", "results"}`; repeated `filter`s are ANDed.
pub(crate) async fn list_users(
    State(shared): State<Arc<Shared>>,
    Extension(OrgCtx(org)): Extension<OrgCtx>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_query(raw);
    let (limit, skip) = limit_and_skip(|name| query_value(&query, name), MAX_LIST_LIMIT, bad_v1)?;
    let pred = query_filters(&query, Entity::User, parse_v1_query_filter, bad_v1)?;
    let sort = list(all(&query, "sort"));
    let fields = list(all(&query, "fields"));
    let store = shared.store();
    let docs = store.users_of(&org).map(|user| user.to_json());
    let (total, results) = page(Entity::User, docs, &pred, &sort, &fields, skip, limit);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "totalCount": total, "results": results }),
    ))
}

/// `POST /api/search/systemusers`: body `filter`, `searchFilter`, `fields`, `limit`, `skip`,
/// `sort`; each falls back to the query string when the body lacks it.
pub(crate) async fn search_users(
    State(shared): State<Arc<Shared>>,
    Extension(OrgCtx(org)): Extension<OrgCtx>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let query = parse_query(raw);
    let body: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice(&body) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(bad_v1(
                    "invalid request body: expected a JSON object".into(),
                ));
            }
        }
    };
    let from_body_or_query = |name: &str| {
        body.get(name)
            .cloned()
            .or_else(|| query_value(&query, name))
    };

    let (limit, skip) = limit_and_skip(from_body_or_query, MAX_SEARCH_LIMIT, bad_v1)?;
    let filter = match body.get("filter") {
        Some(filter) => parse_search_filter(Entity::User, filter).map_err(bad_v1)?,
        None => query_filters(&query, Entity::User, parse_v1_query_filter, bad_v1)?,
    };
    let text = match body.get("searchFilter") {
        Some(search) => parse_search_text(Entity::User, search).map_err(bad_v1)?,
        None => Pred::All,
    };
    let pred = Pred::And(vec![filter, text]);
    let as_list = |name: &str| -> Result<Vec<String>, ApiError> {
        match from_body_or_query(name) {
            None => Ok(Vec::new()),
            Some(value) => field_list(&value, ' ').ok_or_else(|| bad_v1(format!("invalid {name}"))),
        }
    };
    let fields = as_list("fields")?;
    let sort = as_list("sort")?;
    let store = shared.store();
    let docs = store.users_of(&org).map(|user| user.to_json());
    let (total, results) = page(Entity::User, docs, &pred, &sort, &fields, skip, limit);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "totalCount": total, "results": results }),
    ))
}

/// `POST /api/systemusers/reactivate` (undocumented; see the module docs for every choice).
pub(crate) async fn reactivate(
    State(shared): State<Arc<Shared>>,
    Extension(OrgCtx(org)): Extension<OrgCtx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(bad_v1(
                "invalid request body: expected a JSON object".into(),
            ));
        }
    };
    match body.get("isSelectAll") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            return Err(bad_v1(
                "isSelectAll is refused by the simulator: name the users in models".into(),
            ));
        }
        Some(_) => return Err(bad_v1("isSelectAll must be a boolean".into())),
    }
    let models = match body.get("models") {
        Some(Value::Array(models)) if !models.is_empty() => models,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(bad_v1("models must name at least one user".into()));
        }
        Some(_) => return Err(bad_v1("models must be an array".into())),
    };
    let mut ids: Vec<String> = Vec::with_capacity(models.len());
    for model in models {
        let id = model
            .get("_id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_v1("invalid object id".into()))?;
        let id = valid_id(id, bad_v1)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    let mails = {
        let store = shared.store();
        let mut mails = Vec::with_capacity(ids.len());
        for id in &ids {
            let user = store.user_in_org(&org, id).ok_or(ApiError::NotFound)?;
            if user.suspended || user.state == UserState::Suspended {
                return Err(ApiError::Conflict("Conflict: user is suspended".into()));
            }
            if user.state == UserState::Staged {
                return Err(ApiError::Conflict("Conflict: user is staged".into()));
            }
            mails.push(Mail {
                org_id: org.clone(),
                user_id: user.id.clone(),
                username: user.username.clone(),
                email: user.email.clone(),
                kind: if user.activated {
                    MailKind::Reset
                } else {
                    MailKind::Activation
                },
                at: Utc::now(),
            });
        }
        mails
    };
    for mail in mails {
        shared.record.push_mail(mail);
    }
    Ok(json_response(StatusCode::OK, &json!({})))
}

/// `POST /api/systemusers/{id}/expire`: sets `password_expired`, answers `200` with no body.
pub(crate) async fn expire(
    State(shared): State<Arc<Shared>>,
    Extension(OrgCtx(org)): Extension<OrgCtx>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = valid_id(&id, bad_v1)?;
    let now = Utc::now();
    let expiration = {
        let mut store = shared.store_mut();
        let user = store
            .users
            .get_mut(&id)
            .filter(|user| user.org_id == org)
            .ok_or(ApiError::NotFound)?;
        user.password_expired = true;
        user.password_expiration_date = Some(now);
        Expiration {
            org_id: org,
            user_id: user.id.clone(),
            username: user.username.clone(),
            at: now,
        }
    };
    shared.record.push_expiration(expiration);
    Ok(StatusCode::OK.into_response())
}

/// `GET /api/v2/usergroups`: a bare array, the total in `x-total-count`.
pub(crate) async fn list_groups(
    State(shared): State<Arc<Shared>>,
    Extension(OrgCtx(org)): Extension<OrgCtx>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_query(raw);
    let (limit, skip) = limit_and_skip(|name| query_value(&query, name), MAX_LIST_LIMIT, bad_v2)?;
    let pred = query_filters(&query, Entity::Group, parse_v2_filter, bad_v2)?;
    let sort = list(all(&query, "sort"));
    let fields = list(all(&query, "fields"));
    let store = shared.store();
    let docs = store.groups_of(&org).map(|group| group.to_json());
    let (total, results) = page(Entity::Group, docs, &pred, &sort, &fields, skip, limit);
    Ok(with_total_count(
        json_response(StatusCode::OK, &Value::Array(results)),
        total,
    ))
}

/// `GET /api/v2/usergroups/{id}`.
pub(crate) async fn get_group(
    State(shared): State<Arc<Shared>>,
    Extension(OrgCtx(org)): Extension<OrgCtx>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = valid_id(&id, bad_v2)?;
    let store = shared.store();
    let group = store.group_in_org(&org, &id).ok_or(ApiError::NotFound)?;
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(group.to_json()),
    ))
}

/// `GET /api/v2/usergroups/{group_id}/members`: `GraphConnection`s in member-id order.
pub(crate) async fn list_group_members(
    State(shared): State<Arc<Shared>>,
    Extension(OrgCtx(org)): Extension<OrgCtx>,
    Path(group_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_query(raw);
    let (limit, skip) = limit_and_skip(|name| query_value(&query, name), MAX_LIST_LIMIT, bad_v2)?;
    let group_id = valid_id(&group_id, bad_v2)?;
    let store = shared.store();
    let group = store
        .group_in_org(&org, &group_id)
        .ok_or(ApiError::NotFound)?;
    let members: Vec<Value> = group
        .member_ids
        .iter()
        .skip(skip)
        .take(limit)
        .map(|id| {
            json!({
                "attributes": null,
                "to": { "attributes": null, "id": id, "type": "user" },
            })
        })
        .collect();
    Ok(with_total_count(
        json_response(StatusCode::OK, &Value::Array(members)),
        group.member_ids.len(),
    ))
}

/// Unknown paths.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Known paths with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
