//! JumpCloud's JSON shapes, decoded leniently and converted to the domain types by hand.
//!
//! Every field is optional or defaulted and unknown fields are ignored (search results carry
//! legacy extras such as `associatedTagCount`). Request bodies are built here too, so the exact
//! JSON the client sends is visible in one place.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::types::{GroupId, SystemUser, UserGroup, UserId, UserQuery, UserState, Username};

/// The fields requested from `POST /api/search/systemusers` (space-separated, as in the spec).
pub(crate) const USER_FIELDS: &str = "_id username email firstname lastname displayname activated state suspended account_locked password_expired created";

/// A v1 system user (`systemuserreturn` / `systemuserSearchReturn`).
#[derive(Debug, Deserialize)]
pub(crate) struct WireUser {
    #[serde(rename = "_id", alias = "id")]
    id: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    firstname: Option<String>,
    #[serde(default)]
    lastname: Option<String>,
    #[serde(default)]
    displayname: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    activated: bool,
    #[serde(default)]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    suspended: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    account_locked: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    password_expired: bool,
    #[serde(default)]
    created: Option<String>,
}

/// `null` or a missing boolean reads as `false`.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

impl WireUser {
    /// The domain user, or why the record cannot be one (a missing or malformed `_id`).
    pub(crate) fn into_user(self) -> Result<SystemUser, String> {
        let raw_id = self
            .id
            .ok_or_else(|| "a user record has no _id".to_owned())?;
        let id: UserId = raw_id
            .parse()
            .map_err(|e| format!("a user record has a malformed _id ({e})"))?;
        Ok(SystemUser {
            id,
            username: self.username.unwrap_or_default(),
            email: self.email,
            firstname: self.firstname,
            lastname: self.lastname,
            displayname: self.displayname,
            activated: self.activated,
            state: UserState::from_wire(self.state.as_deref()),
            suspended: self.suspended,
            account_locked: self.account_locked,
            password_expired: self.password_expired,
            created: self
                .created
                .as_deref()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc)),
        })
    }
}

/// A v1 list: `{"totalCount": n, "results": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireUserList {
    #[serde(default, rename = "totalCount")]
    pub(crate) total_count: Option<u64>,
    #[serde(default)]
    pub(crate) results: Vec<WireUser>,
}

/// A v1 list asked for `username` only (autocomplete): `{"results": [{"username": …}]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireUsernameList {
    #[serde(default)]
    pub(crate) results: Vec<WireUsername>,
}

/// One result of a [`WireUsernameList`] (`_id` comes back too and is ignored).
#[derive(Debug, Deserialize)]
pub(crate) struct WireUsername {
    #[serde(default)]
    pub(crate) username: Option<String>,
}

/// A v2 `UserGroup`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireGroup {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl WireGroup {
    pub(crate) fn into_group(self) -> Result<UserGroup, String> {
        let raw_id = self
            .id
            .ok_or_else(|| "a group record has no id".to_owned())?;
        let id: GroupId = raw_id
            .parse()
            .map_err(|e| format!("a group record has a malformed id ({e})"))?;
        Ok(UserGroup {
            id,
            name: self.name.unwrap_or_default(),
        })
    }
}

/// A v2 `GraphConnection` (`{"to": {"id", "type"}, …}`).
#[derive(Debug, Deserialize)]
pub(crate) struct WireConnection {
    #[serde(default)]
    to: Option<WireGraphObject>,
}

#[derive(Debug, Deserialize)]
struct WireGraphObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl WireConnection {
    /// The member's user id when the edge points at a user; `Ok(None)` for any other kind.
    pub(crate) fn into_user_id(self) -> Result<Option<UserId>, String> {
        let Some(to) = self.to else {
            return Err("a group member record has no `to`".to_owned());
        };
        if to.kind.as_deref() != Some("user") {
            return Ok(None);
        }
        let raw = to
            .id
            .ok_or_else(|| "a group member record has no to.id".to_owned())?;
        raw.parse()
            .map(Some)
            .map_err(|e| format!("a group member record has a malformed to.id ({e})"))
    }
}

/// An error body: `message`, else `error`, else nothing (the caller falls back to an excerpt).
#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

/// The human part of an error body, leniently: `message`, else `error`, else the raw body.
pub(crate) fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let as_text = |v: Value| match v {
        Value::String(s) => s,
        other => other.to_string(),
    };
    match serde_json::from_slice::<WireError>(body) {
        Ok(WireError {
            message: Some(m), ..
        }) if !m.is_null() => as_text(m),
        Ok(WireError { error: Some(e), .. }) if !e.is_null() => as_text(e),
        _ => text.into_owned(),
    }
}

/// Escapes every regex metacharacter (`\ ^ $ . | ? * + ( ) [ ] { }`) with a backslash, so the
/// value matches itself literally in the server's (PCRE-style) regex engine. Characters outside
/// that set are literal in an unanchored, non-extended pattern without character classes.
pub(crate) fn escape_regex(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for c in value.chars() {
        if matches!(
            c,
            '\\' | '^' | '$' | '.' | '|' | '?' | '*' | '+' | '(' | ')' | '[' | ']' | '{' | '}'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A UTC instant as JumpCloud's filters expect it: RFC 3339 with milliseconds and `Z`.
pub(crate) fn format_instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The body of one search page: filter, fields, paging and a stable sort on `_id`.
pub(crate) fn search_body(filter: Option<&Value>, limit: u64, skip: u64) -> Value {
    let mut body = json!({
        "fields": USER_FIELDS,
        "limit": limit,
        "skip": skip,
        "sort": "_id",
    });
    if let (Some(filter), Value::Object(map)) = (filter, &mut body) {
        map.insert("filter".to_owned(), filter.clone());
    }
    body
}

/// The filter for a case-insensitive, anchored, fully escaped username match.
pub(crate) fn username_filter(name: &Username) -> Value {
    let pattern = format!("(?i)^{}$", escape_regex(name.as_str()));
    json!({ "and": [ { "username": { "$regex": pattern } } ] })
}

/// The filter for usernames starting with `prefix`: anchored at the start only, case-insensitive,
/// fully escaped (`(?i)^<escaped>`).
pub(crate) fn username_prefix_filter(prefix: &Username) -> Value {
    let pattern = format!("(?i)^{}", escape_regex(prefix.as_str()));
    json!({ "and": [ { "username": { "$regex": pattern } } ] })
}

/// The body of a username autocomplete search: one page of `limit`, usernames only, sorted by
/// username.
pub(crate) fn username_prefix_body(filter: Option<&Value>, limit: u64) -> Value {
    let mut body = json!({
        "fields": "username",
        "limit": limit,
        "skip": 0,
        "sort": "username",
    });
    if let (Some(filter), Value::Object(map)) = (filter, &mut body) {
        map.insert("filter".to_owned(), filter.clone());
    }
    body
}

/// The filter for a [`UserQuery`]; `None` when it sets no criterion (every user).
pub(crate) fn query_filter(query: &UserQuery) -> Option<Value> {
    let mut terms = Vec::new();
    if let Some(activated) = query.activated {
        terms.push(json!({ "activated": activated }));
    }
    if let Some(after) = query.created_after {
        terms.push(json!({ "created": { "$gt": format_instant(after) } }));
    }
    if let Some(before) = query.created_before {
        terms.push(json!({ "created": { "$lt": format_instant(before) } }));
    }
    (!terms.is_empty()).then(|| json!({ "and": terms }))
}

/// The body of `POST /api/systemusers/reactivate`, exactly as `Send-JCPasswordReset` sends it.
pub(crate) fn reactivate_body(id: &UserId) -> Value {
    json!({ "isSelectAll": false, "models": [ { "_id": id.as_str() } ] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn regex_escaping() {
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            ("jane.doe", r"jane\.doe"),
            ("j_doe-2", "j_doe-2"),
            (r"\^$.|?*+()[]{}", r"\\\^\$\.\|\?\*\+\(\)\[\]\{\}"),
            (".*", r"\.\*"),
            ("(?i)", r"\(\?i\)"),
            ("", ""),
        ];
        for &(input, want) in table {
            assert_eq!(escape_regex(input), want, "{input:?}");
        }
    }

    #[test]
    fn username_filter_is_anchored_and_case_insensitive() {
        let name: Username = "Jane.Doe".parse().unwrap();
        assert_eq!(
            username_filter(&name),
            json!({"and":[{"username":{"$regex":"(?i)^Jane\\.Doe$"}}]})
        );
    }

    #[test]
    fn username_prefix_filter_is_anchored_at_the_start_only() {
        let prefix: Username = "Jane.D".parse().unwrap();
        let filter = username_prefix_filter(&prefix);
        assert_eq!(
            filter,
            json!({"and":[{"username":{"$regex":"(?i)^Jane\\.D"}}]})
        );
        assert_eq!(
            username_prefix_body(Some(&filter), 25),
            json!({"filter": filter, "fields": "username", "limit": 25, "skip": 0, "sort": "username"})
        );
        assert_eq!(
            username_prefix_body(None, 5),
            json!({"fields": "username", "limit": 5, "skip": 0, "sort": "username"})
        );
    }

    #[test]
    fn query_filter_shapes() {
        let at = Utc.with_ymd_and_hms(2026, 11, 15, 8, 30, 0).unwrap();
        let q = UserQuery {
            activated: Some(false),
            created_after: Some(at),
            created_before: None,
        };
        assert_eq!(
            query_filter(&q),
            Some(
                json!({"and":[{"activated":false},{"created":{"$gt":"2026-11-15T08:30:00.000Z"}}]})
            )
        );
        let q = UserQuery {
            created_before: Some(at),
            ..UserQuery::default()
        };
        assert_eq!(
            query_filter(&q),
            Some(json!({"and":[{"created":{"$lt":"2026-11-15T08:30:00.000Z"}}]}))
        );
        assert_eq!(query_filter(&UserQuery::default()), None);
        assert_eq!(
            search_body(None, 100, 200),
            json!({"fields": USER_FIELDS, "limit": 100, "skip": 200, "sort": "_id"})
        );
    }

    #[test]
    fn reactivate_body_matches_the_cmdlet() {
        let id: UserId = "5f0c1a2b3c4d5e6f7a8b9c0d".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&reactivate_body(&id)).unwrap(),
            r#"{"isSelectAll":false,"models":[{"_id":"5f0c1a2b3c4d5e6f7a8b9c0d"}]}"#
        );
    }

    #[test]
    fn users_decode_leniently() {
        let body = br#"{"totalCount":2,"results":[
            {"_id":"5f0c1a2b3c4d5e6f7a8b9c0d","username":"jane.doe","activated":true,
             "state":"ACTIVATED","created":"2026-11-18T14:03:11.512Z","associatedTagCount":3,
             "sshRootEnabled":false,"suspended":null},
            {"_id":"5f0c1a2b3c4d5e6f7a8b9c0e","created":"yesterday","state":"WEIRD"}]}"#;
        let list: WireUserList = serde_json::from_slice(body).unwrap();
        assert_eq!(list.total_count, Some(2));
        let users: Vec<SystemUser> = list
            .results
            .into_iter()
            .map(|u| u.into_user().unwrap())
            .collect();
        assert_eq!(users[0].username, "jane.doe");
        assert!(users[0].activated);
        assert!(!users[0].suspended);
        assert_eq!(users[0].state, UserState::Activated);
        assert_eq!(
            users[0].created,
            Some(
                Utc.with_ymd_and_hms(2026, 11, 18, 14, 3, 11).unwrap()
                    + chrono::Duration::milliseconds(512)
            )
        );
        assert!(!users[1].activated);
        assert_eq!(users[1].state, UserState::Unknown);
        assert_eq!(users[1].created, None);
        assert_eq!(users[1].username, "");
    }

    #[test]
    fn users_without_a_valid_id_are_refused() {
        let u: WireUser = serde_json::from_str(r#"{"username":"x"}"#).unwrap();
        assert!(u.into_user().is_err());
        let u: WireUser = serde_json::from_str(r#"{"_id":"nope"}"#).unwrap();
        assert!(u.into_user().is_err());
    }

    #[test]
    fn members_keep_users_only() {
        let body = br#"[{"attributes":null,"to":{"attributes":null,"id":"5f0c1a2b3c4d5e6f7a8b9c0d","type":"user"}},
                        {"to":{"id":"5f0c1a2b3c4d5e6f7a8b9c0e","type":"system"}}]"#;
        let edges: Vec<WireConnection> = serde_json::from_slice(body).unwrap();
        let ids: Vec<Option<UserId>> = edges
            .into_iter()
            .map(|e| e.into_user_id().unwrap())
            .collect();
        assert_eq!(
            ids,
            vec![Some("5f0c1a2b3c4d5e6f7a8b9c0d".parse().unwrap()), None]
        );
    }

    #[test]
    fn error_messages_are_read_leniently() {
        assert_eq!(
            error_message(br#"{"message":"Unauthorized"}"#),
            "Unauthorized"
        );
        assert_eq!(
            error_message(br#"{"code":404,"message":"Not Found","status":"Not Found"}"#),
            "Not Found"
        );
        assert_eq!(error_message(br#"{"error":"bad things"}"#), "bad things");
        assert_eq!(error_message(b"<html>502</html>"), "<html>502</html>");
        assert_eq!(error_message(br#"{"other":1}"#), r#"{"other":1}"#);
    }
}
