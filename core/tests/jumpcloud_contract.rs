//! Contract tests of the JumpCloud client against `wiremock` on 127.0.0.1: for every operation
//! the method, path, query, headers and body the client sends match JumpCloud's spec and the
//! vendor cmdlets (see `shared/reference/jumpcloud-api.md`), and each upstream answer becomes the
//! outcome a caller can act on.

// Test helpers outside `#[test]` functions unwrap too: clippy.toml only covers test bodies, and
// a panic in a fixture is a failed test with a clear location, not a crashed bot.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use passdesk_core::jumpcloud::{
    Error, GroupName, JumpCloudClient, OrgId, ResetEmailKind, SystemUser, UserGroup, UserId,
    UserState, Username,
};
use passdesk_core::retry::RetryPolicy;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string, header, header_regex, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const KEY: &str = "test-api-key-7f3a9c-not-a-real-one";
const ORG: &str = "5a1b2c3d4e5f6a7b8c9d0e1f";
const FIELDS: &str = "_id username email firstname lastname displayname activated state suspended account_locked password_expired created";

/// Matches when the request does not carry the header at all.
struct NoHeader(&'static str);

impl Match for NoHeader {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key(self.0)
    }
}

/// Matches the raw (still percent-encoded) query string exactly.
struct RawQuery(&'static str);

impl Match for RawQuery {
    fn matches(&self, request: &Request) -> bool {
        request.url.query() == Some(self.0)
    }
}

/// Retries with ~10 ms backoff so the tests stay fast.
fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(4)
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(40))
        .with_max_total_wait(Duration::from_secs(5))
}

struct Harness {
    server: MockServer,
    client: JumpCloudClient,
    org: bool,
}

impl Harness {
    async fn new() -> Self {
        Self::build(false, Duration::from_secs(5)).await
    }

    async fn with_org() -> Self {
        Self::build(true, Duration::from_secs(5)).await
    }

    async fn build(org: bool, timeout: Duration) -> Self {
        let server = MockServer::start().await;
        let mut builder = JumpCloudClient::builder(SecretString::from(KEY))
            .base_url(server.uri())
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .retry(fast_retries());
        if org {
            builder = builder.org_id(ORG.parse::<OrgId>().unwrap());
        }
        Self {
            server,
            client: builder.build().unwrap(),
            org,
        }
    }

    /// A mock for `verb path` that also requires every header JumpCloud clients must send, and
    /// `x-org-id` exactly when the client was configured with one.
    fn expect(&self, verb: &str, route: &str) -> MockBuilder {
        let builder = Mock::given(method(verb))
            .and(path(route))
            .and(header("x-api-key", KEY))
            .and(header("accept", "application/json"))
            .and(header("content-type", "application/json"))
            .and(header_regex("user-agent", r"^passdesk/\d+\.\d+\.\d+"));
        if self.org {
            builder.and(header("x-org-id", ORG))
        } else {
            builder.and(NoHeader("x-org-id"))
        }
    }

    /// A catch-all that fails the test if the client sends anything no other mock expects.
    async fn nothing_else(&self) {
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(599))
            .with_priority(u8::MAX)
            .expect(0)
            .named("unexpected request")
            .mount(&self.server)
            .await;
    }
}

fn oid(n: u64) -> String {
    format!("{n:024x}")
}

fn uid(n: u64) -> UserId {
    oid(n).parse().unwrap()
}

fn user_json(n: u64, username: &str, activated: bool) -> Value {
    json!({
        "_id": oid(n),
        "username": username,
        "email": format!("{username}@example.com"),
        "firstname": "Jane", "lastname": "Doe", "displayname": "Jane D.",
        "activated": activated,
        "state": "ACTIVATED",
        "suspended": false,
        "account_locked": false,
        "password_expired": false,
        "created": "2026-11-18T14:03:11.512Z",
        "organization": ORG,
        "associatedTagCount": 0
    })
}

fn search_page(total: u64, users: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "totalCount": total, "results": users }))
}

fn group(n: u64, name: &str) -> UserGroup {
    UserGroup {
        id: oid(n).parse().unwrap(),
        name: name.to_owned(),
    }
}

fn member_page(ids: std::ops::Range<u64>, total: u64) -> ResponseTemplate {
    let edges: Vec<Value> = ids
        .map(|n| json!({"attributes": null, "to": {"attributes": null, "id": oid(n), "type": "user"}}))
        .collect();
    ResponseTemplate::new(200)
        .insert_header("x-total-count", total.to_string())
        .set_body_json(edges)
}

// ---- users -------------------------------------------------------------------------------

#[tokio::test]
async fn user_by_id_gets_the_user_without_org_header() {
    let h = Harness::new().await;
    h.nothing_else().await;
    h.expect("GET", &format!("/api/systemusers/{}", oid(7)))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(7, "jane.doe", true)))
        .expect(1)
        .mount(&h.server)
        .await;

    let user = h.client.user_by_id(&uid(7)).await.unwrap();
    assert_eq!(user.id, uid(7));
    assert_eq!(user.username, "jane.doe");
    assert_eq!(user.email.as_deref(), Some("jane.doe@example.com"));
    assert!(user.activated);
    assert_eq!(user.state, UserState::Activated);
    assert_eq!(
        user.created,
        Some(
            Utc.with_ymd_and_hms(2026, 11, 18, 14, 3, 11).unwrap()
                + chrono::Duration::milliseconds(512)
        )
    );
    let sent = h.server.received_requests().await.unwrap();
    assert!(sent[0].url.query().is_none());
}

#[tokio::test]
async fn user_by_id_sends_the_org_header_when_configured() {
    let h = Harness::with_org().await;
    h.nothing_else().await;
    h.expect("GET", &format!("/api/systemusers/{}", oid(7)))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(7, "jane.doe", false)))
        .expect(1)
        .mount(&h.server)
        .await;

    let user = h.client.user_by_id(&uid(7)).await.unwrap();
    assert!(!user.activated);
}

#[tokio::test]
async fn unknown_user_id_is_not_found() {
    let h = Harness::new().await;
    h.expect("GET", &format!("/api/systemusers/{}", oid(9)))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code":404,"message":"Not Found","status":"Not Found"})),
        )
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h.client.user_by_id(&uid(9)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(&oid(9)), "{err}");
}

fn username_search_body(pattern: &str, skip: u64) -> Value {
    json!({
        "filter": {"and": [{"username": {"$regex": pattern}}]},
        "fields": FIELDS,
        "limit": 100,
        "skip": skip,
        "sort": "_id"
    })
}

#[tokio::test]
async fn user_by_username_sends_an_escaped_anchored_case_insensitive_regex() {
    let h = Harness::new().await;
    h.nothing_else().await;
    h.expect("POST", "/api/search/systemusers")
        .and(body_json(username_search_body(r"(?i)^Jane\.Doe$", 0)))
        .respond_with(search_page(1, vec![user_json(7, "jane.doe", true)]))
        .expect(1)
        .mount(&h.server)
        .await;

    let name: Username = "Jane.Doe".parse().unwrap();
    let user = h.client.user_by_username(&name).await.unwrap();
    assert_eq!(user.id, uid(7));
}

#[tokio::test]
async fn user_by_username_refuses_to_guess_between_case_variants() {
    let h = Harness::new().await;
    h.expect("POST", "/api/search/systemusers")
        .and(body_json(username_search_body(r"(?i)^jdoe$", 0)))
        .respond_with(search_page(
            2,
            vec![user_json(1, "jdoe", true), user_json(2, "JDoe", true)],
        ))
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h
        .client
        .user_by_username(&"jdoe".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { count: 2, .. }), "{err:?}");
}

#[tokio::test]
async fn user_by_username_rechecks_what_the_server_returns() {
    // A server whose regex matched too much (prefix, other names): only an exact,
    // case-insensitive hit counts, and here there is none.
    let h = Harness::new().await;
    h.expect("POST", "/api/search/systemusers")
        .respond_with(search_page(
            2,
            vec![user_json(1, "jdoe2", true), user_json(2, "xjdoe", true)],
        ))
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h
        .client
        .user_by_username(&"jdoe".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), "user named jdoe not found");
}

#[tokio::test]
async fn users_not_activated_pages_to_completion() {
    let h = Harness::new().await;
    h.nothing_else().await;
    let after = Utc.with_ymd_and_hms(2026, 11, 15, 8, 30, 0).unwrap();
    let filter =
        json!({"and": [{"activated": false}, {"created": {"$gt": "2026-11-15T08:30:00.000Z"}}]});
    let pages: [(u64, std::ops::Range<u64>); 3] = [(0, 0..100), (100, 100..200), (200, 200..230)];
    for (skip, ids) in pages {
        let users = ids
            .map(|n| user_json(n, &format!("user{n}"), false))
            .collect();
        h.expect("POST", "/api/search/systemusers")
            .and(body_json(json!({
                "filter": filter, "fields": FIELDS, "limit": 100, "skip": skip, "sort": "_id"
            })))
            .respond_with(search_page(230, users))
            .expect(1)
            .mount(&h.server)
            .await;
    }

    let users = h.client.users_not_activated(Some(after)).await.unwrap();
    assert_eq!(users.len(), 230);
    let mut ids: Vec<&UserId> = users.iter().map(|u| &u.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 230);
    assert!(users.iter().all(|u| !u.activated));
}

#[tokio::test]
async fn users_not_activated_without_a_date_filters_on_activation_only() {
    let h = Harness::new().await;
    h.nothing_else().await;
    h.expect("POST", "/api/search/systemusers")
        .and(body_json(json!({
            "filter": {"and": [{"activated": false}]},
            "fields": FIELDS, "limit": 100, "skip": 0, "sort": "_id"
        })))
        .respond_with(search_page(1, vec![user_json(3, "new.hire", false)]))
        .expect(1)
        .mount(&h.server)
        .await;

    let users = h.client.users_not_activated(None).await.unwrap();
    assert_eq!(users.len(), 1);
}

// ---- groups ------------------------------------------------------------------------------

#[tokio::test]
async fn group_by_name_percent_encodes_the_filter_and_matches_exactly() {
    let h = Harness::new().await;
    h.nothing_else().await;
    h.expect("GET", "/api/v2/usergroups")
        .and(RawQuery(
            "filter=name:eq:IT%20%26%20Ops%3A%20%231%2C%20a%2Bb&limit=100&skip=0&sort=name",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "2")
                .set_body_json(json!([
                    {"id": oid(0xa1), "name": "it & ops: #1, a+b", "type": "user_group"},
                    {"id": oid(0xa2), "name": "IT & Ops: #1, a+b", "type": "user_group",
                     "membershipMethod": "STATIC"}
                ])),
        )
        .expect(1)
        .mount(&h.server)
        .await;

    let name: GroupName = "IT & Ops: #1, a+b".parse().unwrap();
    let found = h.client.group_by_name(&name).await.unwrap();
    assert_eq!(found, group(0xa2, "IT & Ops: #1, a+b"));
}

#[tokio::test]
async fn group_by_name_reports_ambiguity_and_absence() {
    let h = Harness::new().await;
    h.expect("GET", "/api/v2/usergroups")
        .and(RawQuery("filter=name:eq:Twins&limit=100&skip=0&sort=name"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "2")
                .set_body_json(
                    json!([{"id": oid(1), "name": "Twins"}, {"id": oid(2), "name": "Twins"}]),
                ),
        )
        .mount(&h.server)
        .await;
    h.expect("GET", "/api/v2/usergroups")
        .and(RawQuery("filter=name:eq:New%2A&limit=100&skip=0&sort=name"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "1")
                // The server's wildcard support matched a longer name: not an exact match.
                .set_body_json(json!([{"id": oid(3), "name": "New Hires"}])),
        )
        .mount(&h.server)
        .await;

    let err = h
        .client
        .group_by_name(&"Twins".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { count: 2, .. }), "{err:?}");
    let err = h
        .client
        .group_by_name(&"New*".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

// ---- autocomplete prefix look-ups ------------------------------------------------------------

#[tokio::test]
async fn usernames_starting_with_sends_an_escaped_prefix_regex_and_keeps_real_prefix_matches() {
    let h = Harness::new().await;
    h.nothing_else().await;
    h.expect("POST", "/api/search/systemusers")
        .and(body_json(json!({
            "filter": {"and": [{"username": {"$regex": r"(?i)^Jane\.D"}}]},
            "fields": "username",
            "limit": 25,
            "skip": 0,
            "sort": "username"
        })))
        .respond_with(search_page(
            5,
            vec![
                json!({"_id": oid(1), "username": "jane.doe"}),
                json!({"_id": oid(2), "username": "JANE.DX"}),
                // What an unescaped `.` would have matched: not a prefix match.
                json!({"_id": oid(3), "username": "janeXdoe"}),
                json!({"_id": oid(4), "username": "xjane.d"}),
                json!({"_id": oid(5), "username": "jane.doe"}),
            ],
        ))
        .expect(1)
        .mount(&h.server)
        .await;

    // More than Discord's 25 choices are never asked for.
    let names = h
        .client
        .usernames_starting_with("Jane.D", 40)
        .await
        .unwrap();
    assert_eq!(names, ["jane.doe", "JANE.DX"]);
}

#[tokio::test]
async fn usernames_starting_with_refuses_regex_syntax_without_sending_anything() {
    let h = Harness::new().await;
    h.nothing_else().await;
    for prefix in ["j*", "jane(", ".*", "(?i)", "a b", "j$", "1abc", "jäne"] {
        let err = h
            .client
            .usernames_starting_with(prefix, 25)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{prefix:?}: {err:?}");
    }
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn usernames_starting_with_an_empty_prefix_lists_the_first_users_by_username() {
    let h = Harness::with_org().await;
    h.nothing_else().await;
    h.expect("POST", "/api/search/systemusers")
        .and(body_json(json!({
            "fields": "username", "limit": 3, "skip": 0, "sort": "username"
        })))
        .respond_with(search_page(
            40,
            vec![
                json!({"_id": oid(1), "username": "aaron"}),
                json!({"_id": oid(2), "username": "abby"}),
                json!({"_id": oid(3), "username": "adam"}),
            ],
        ))
        .expect(1)
        .mount(&h.server)
        .await;

    let names = h.client.usernames_starting_with("", 3).await.unwrap();
    assert_eq!(names, ["aaron", "abby", "adam"]);
    assert!(
        h.client
            .usernames_starting_with("a", 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn group_names_starting_with_percent_encodes_the_search_and_keeps_prefix_matches() {
    let h = Harness::new().await;
    h.nothing_else().await;
    h.expect("GET", "/api/v2/usergroups")
        .and(RawQuery(
            "filter=name:search:New.%2A%28&limit=100&skip=0&sort=name",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "3")
                .set_body_json(json!([
                    {"id": oid(0xa1), "name": "New.*(Hires)", "type": "user_group"},
                    {"id": oid(0xa2), "name": "Old New.*(", "type": "user_group"},
                    {"id": oid(0xa3), "name": "new.*(x)", "type": "user_group"}
                ])),
        )
        .expect(1)
        .mount(&h.server)
        .await;

    // Leading whitespace is ignored; a name that merely contains the prefix is not offered.
    let names = h
        .client
        .group_names_starting_with("  New.*(", 25)
        .await
        .unwrap();
    assert_eq!(names, ["New.*(Hires)", "new.*(x)"]);
}

#[tokio::test]
async fn group_names_starting_with_reads_past_a_page_of_mere_substring_matches() {
    let h = Harness::new().await;
    h.nothing_else().await;
    let others: Vec<Value> = (0..100)
        .map(|n| json!({"id": oid(n), "name": format!("Team NA {n:03}")}))
        .collect();
    h.expect("GET", "/api/v2/usergroups")
        .and(RawQuery("filter=name:search:na&limit=100&skip=0&sort=name"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "102")
                .set_body_json(others),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    h.expect("GET", "/api/v2/usergroups")
        .and(RawQuery(
            "filter=name:search:na&limit=100&skip=100&sort=name",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "102")
                .set_body_json(json!([
                    {"id": oid(200), "name": "NA Sales"},
                    {"id": oid(201), "name": "Nairobi Office"}
                ])),
        )
        .expect(1)
        .mount(&h.server)
        .await;

    let names = h.client.group_names_starting_with("na", 25).await.unwrap();
    assert_eq!(names, ["NA Sales", "Nairobi Office"]);
}

#[tokio::test]
async fn group_names_starting_with_an_empty_prefix_lists_the_first_groups_and_refuses_controls() {
    let h = Harness::new().await;
    h.nothing_else().await;
    h.expect("GET", "/api/v2/usergroups")
        .and(RawQuery("limit=2&skip=0&sort=name"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "5")
                .set_body_json(json!([
                    {"id": oid(1), "name": "Admins"},
                    {"id": oid(2), "name": "IT"}
                ])),
        )
        .expect(1)
        .mount(&h.server)
        .await;

    let names = h.client.group_names_starting_with("", 2).await.unwrap();
    assert_eq!(names, ["Admins", "IT"]);
    let err = h
        .client
        .group_names_starting_with("New\nHires", 25)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn group_members_pages_past_199_of_530() {
    let h = Harness::new().await;
    h.nothing_else().await;
    let gid = oid(0x9);
    for page in 0..6u64 {
        let skip = page * 100;
        let end = (skip + 100).min(530);
        h.expect("GET", &format!("/api/v2/usergroups/{gid}/members"))
            .and(wiremock::matchers::query_param("limit", "100"))
            .and(wiremock::matchers::query_param("skip", skip.to_string()))
            .respond_with(member_page(1000 + skip..1000 + end, 530))
            .expect(1)
            .mount(&h.server)
            .await;
    }

    let ids = h.client.group_members(&group(0x9, "Big")).await.unwrap();
    assert_eq!(ids.len(), 530);
    assert_eq!(ids[0], uid(1000));
    assert_eq!(ids[529], uid(1529));
}

#[tokio::test]
async fn group_members_keeps_asking_after_a_short_page_below_the_total() {
    // The #239 shape: a short page long before x-total-count is reached must not end the
    // listing; reaching the total with every member collected does (no extra request).
    let h = Harness::new().await;
    h.nothing_else().await;
    let gid = oid(0x9);
    let route = format!("/api/v2/usergroups/{gid}/members");
    for (query, ids) in [
        ("limit=100&skip=0", 0..100),
        ("limit=100&skip=100", 100..150),
        ("limit=100&skip=150", 150..250),
    ] {
        h.expect("GET", &route)
            .and(RawQuery(query))
            .respond_with(member_page(ids, 250))
            .expect(1)
            .mount(&h.server)
            .await;
    }

    let ids = h.client.group_members(&group(0x9, "G")).await.unwrap();
    assert_eq!(ids.len(), 250);
}

#[tokio::test]
async fn group_member_users_reports_vanished_members_separately() {
    let h = Harness::new().await;
    h.nothing_else().await;
    h.expect("GET", &format!("/api/v2/usergroups/{}/members", oid(0x9)))
        .respond_with(member_page(1..4, 3))
        .expect(1)
        .mount(&h.server)
        .await;
    for n in [1u64, 3] {
        h.expect("GET", &format!("/api/systemusers/{}", oid(n)))
            .respond_with(ResponseTemplate::new(200).set_body_json(user_json(
                n,
                &format!("u{n}"),
                true,
            )))
            .expect(1)
            .mount(&h.server)
            .await;
    }
    h.expect("GET", &format!("/api/systemusers/{}", oid(2)))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&h.server)
        .await;

    let members = h.client.group_member_users(&group(0x9, "G")).await.unwrap();
    let names: Vec<&str> = members.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["u1", "u3"]);
    assert_eq!(members.missing, vec![uid(2)]);
}

// ---- reset mail --------------------------------------------------------------------------

fn pending_user() -> SystemUser {
    let mut user = SystemUser::new(uid(0x5f), "new.hire");
    user.activated = false;
    user
}

#[tokio::test]
async fn reset_email_sends_the_cmdlets_exact_body() {
    let h = Harness::with_org().await;
    h.nothing_else().await;
    h.expect("POST", "/api/systemusers/reactivate")
        .and(body_string(format!(
            r#"{{"isSelectAll":false,"models":[{{"_id":"{}"}}]}}"#,
            oid(0x5f)
        )))
        // Any 2xx is "sent"; the body is not part of the contract.
        .respond_with(ResponseTemplate::new(200).set_body_string("not json at all"))
        .expect(2)
        .mount(&h.server)
        .await;

    let sent = h.client.send_reset_email(&pending_user()).await.unwrap();
    assert_eq!(sent.user_id, uid(0x5f));
    assert_eq!(sent.kind, ResetEmailKind::Activation);

    let mut active = pending_user();
    active.activated = true;
    let sent = h.client.send_reset_email(&active).await.unwrap();
    assert_eq!(sent.kind, ResetEmailKind::Reset);
}

#[tokio::test]
async fn reset_email_is_never_resent_after_a_server_error() {
    let h = Harness::new().await;
    h.expect("POST", "/api/systemusers/reactivate")
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h
        .client
        .send_reset_email(&pending_user())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::SentButUnknown { status: Some(502) }),
        "{err:?}"
    );
}

#[tokio::test]
async fn reset_email_is_never_resent_after_a_timeout() {
    let h = Harness::build(false, Duration::from_millis(300)).await;
    h.expect("POST", "/api/systemusers/reactivate")
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h
        .client
        .send_reset_email(&pending_user())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::SentButUnknown { status: None }),
        "{err:?}"
    );
}

#[tokio::test]
async fn reset_email_waits_out_retry_after_then_sends() {
    // 429 means the server refused before acting, so even the mail may be retried.
    let h = Harness::new().await;
    h.expect("POST", "/api/systemusers/reactivate")
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "Too Many Requests"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    h.expect("POST", "/api/systemusers/reactivate")
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .with_priority(2)
        .mount(&h.server)
        .await;

    let started = Instant::now();
    let sent = h.client.send_reset_email(&pending_user()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sent.user_id, uid(0x5f));
}

#[tokio::test]
async fn rate_limit_that_never_lifts_is_reported_with_its_retry_after() {
    let h = Harness::new().await;
    h.expect("GET", &format!("/api/systemusers/{}", oid(7)))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .expect(4)
        .mount(&h.server)
        .await;

    let err = h.client.user_by_id(&uid(7)).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::ZERO),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error_even_for_the_mail() {
    // Connection refused: the request never left, so it is not "sent but unknown".
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = JumpCloudClient::builder(SecretString::from(KEY))
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(fast_retries())
        .build()
        .unwrap();
    let err = client.send_reset_email(&pending_user()).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(!err.to_string().contains(KEY));
}

// ---- expire ------------------------------------------------------------------------------

#[tokio::test]
async fn expire_password_posts_without_a_body_and_passes_thru_true() {
    let h = Harness::with_org().await;
    h.nothing_else().await;
    h.expect("POST", &format!("/api/systemusers/{}/expire", oid(7)))
        .and(body_string(""))
        .respond_with(ResponseTemplate::new(204))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    h.expect("POST", &format!("/api/systemusers/{}/expire", oid(7)))
        .and(body_string(""))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .with_priority(2)
        .mount(&h.server)
        .await;

    let outcome = h.client.expire_password(&uid(7)).await.unwrap();
    assert_eq!(outcome.to_string(), "true");
    assert_eq!(outcome.user_id, uid(7));
    let again = h.client.expire_password(&uid(7)).await.unwrap();
    assert!(again.pass_thru());
}

#[tokio::test]
async fn expire_password_is_retried_after_a_server_error() {
    let h = Harness::new().await;
    let route = format!("/api/systemusers/{}/expire", oid(7));
    h.expect("POST", &route)
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .with_priority(1)
        .mount(&h.server)
        .await;
    h.expect("POST", &route)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .with_priority(2)
        .mount(&h.server)
        .await;

    h.client.expire_password(&uid(7)).await.unwrap();
}

// ---- retries on reads --------------------------------------------------------------------

#[tokio::test]
async fn reads_are_retried_on_5xx_then_give_up_with_an_excerpt() {
    let h = Harness::new().await;
    let route = format!("/api/systemusers/{}", oid(7));
    h.expect("GET", &route)
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"message": "Internal Server Error"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    h.expect("GET", &route)
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(7, "jane.doe", true)))
        .expect(1)
        .with_priority(2)
        .mount(&h.server)
        .await;
    let user = h.client.user_by_id(&uid(7)).await.unwrap();
    assert_eq!(user.username, "jane.doe");

    let h = Harness::new().await;
    h.expect("GET", &route)
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"message": "Service Unavailable"})),
        )
        .expect(4)
        .mount(&h.server)
        .await;
    let err = h.client.user_by_id(&uid(7)).await.unwrap_err();
    match err {
        Error::Upstream { status, excerpt } => {
            assert_eq!(status, 503);
            assert_eq!(excerpt, "Service Unavailable");
        }
        other => panic!("expected Upstream, got {other:?}"),
    }
}

// ---- authentication and organisations ----------------------------------------------------

#[tokio::test]
async fn wrong_key_is_unauthorized_and_not_retried() {
    let h = Harness::new().await;
    h.expect("POST", "/api/search/systemusers")
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h.client.users_not_activated(None).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn multi_org_key_without_org_id_is_org_required() {
    let h = Harness::new().await;
    h.expect("GET", &format!("/api/systemusers/{}", oid(7)))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Unauthorized: no organization selected"})),
        )
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h.client.user_by_id(&uid(7)).await.unwrap_err();
    assert!(matches!(err, Error::OrgRequired), "{err:?}");
}

#[tokio::test]
async fn malformed_org_id_is_org_malformed() {
    let h = Harness::with_org().await;
    h.expect("POST", &format!("/api/systemusers/{}/expire", oid(7)))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"code": 400, "message": "invalid organization id", "status": "Bad Request"}),
        ))
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h.client.expire_password(&uid(7)).await.unwrap_err();
    assert!(matches!(err, Error::OrgMalformed { .. }), "{err:?}");
}

#[tokio::test]
async fn unknown_org_is_told_apart_from_an_unknown_user() {
    let h = Harness::with_org().await;
    h.expect("GET", &format!("/api/systemusers/{}", oid(7)))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Organization not found"})),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    h.expect("GET", &format!("/api/systemusers/{}", oid(8)))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h.client.user_by_id(&uid(7)).await.unwrap_err();
    assert!(matches!(err, Error::UnknownOrg { .. }), "{err:?}");
    let err = h.client.user_by_id(&uid(8)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn forbidden_keeps_the_abuse_block_message() {
    let h = Harness::new().await;
    h.expect("GET", &format!("/api/systemusers/{}", oid(7)))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string("403 Forbidden, your IP has been blocked due to suspected abuse"),
        )
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h.client.user_by_id(&uid(7)).await.unwrap_err();
    match err {
        Error::Forbidden { excerpt } => assert!(excerpt.contains("suspected abuse"), "{excerpt}"),
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

// ---- tracing -----------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn spans_name_the_route_template_but_no_key_query_or_body() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::new().await;
    h.expect("GET", "/api/v2/usergroups")
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    h.expect("GET", "/api/v2/usergroups")
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total-count", "1")
                .set_body_json(json!([{"id": oid(1), "name": "Secret Project"}])),
        )
        .with_priority(2)
        .mount(&h.server)
        .await;
    h.expect("POST", "/api/systemusers/reactivate")
        .respond_with(ResponseTemplate::new(200))
        .mount(&h.server)
        .await;

    h.client
        .group_by_name(&"Secret Project".parse().unwrap())
        .await
        .unwrap();
    h.client.send_reset_email(&pending_user()).await.unwrap();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("route=\"/api/v2/usergroups\""), "{logs}");
    assert!(
        logs.contains("route=\"/api/systemusers/reactivate\""),
        "{logs}"
    );
    assert!(logs.contains("method=GET"), "{logs}");
    assert!(logs.contains("status=200"), "{logs}");
    assert!(logs.contains("attempt=2"), "{logs}");
    assert!(logs.contains("latency_ms="), "{logs}");
    assert!(!logs.contains(KEY), "key leaked: {logs}");
    assert!(!logs.contains("filter="), "query string leaked: {logs}");
    assert!(
        !logs.contains("Secret%20Project"),
        "query string leaked: {logs}"
    );
    assert!(!logs.contains("isSelectAll"), "body leaked: {logs}");
}
