//! Tests through a real socket on 127.0.0.1, with `reqwest` as the client.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::*;

const ORG_A: &str = "5a1b2c3d4e5f6a7b8c9d0e1f";
const ORG_B: &str = "5a1b2c3d4e5f6a7b8c9d0e20";
const ORG_C: &str = "5a1b2c3d4e5f6a7b8c9d0e21";
const UNKNOWN_ID: &str = "5f0cffffffffffffffffffff";

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn total(&self) -> usize {
        self.header("x-total-count").unwrap().parse().unwrap()
    }

    fn results(&self) -> Vec<Value> {
        self.json()["results"].as_array().unwrap().clone()
    }

    fn usernames(&self) -> BTreeSet<String> {
        self.results()
            .iter()
            .map(|user| user["username"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// A bare-bones client: the simulator must not rely on any behaviour of the real one.
struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    org: Option<String>,
}

impl Api {
    fn new(sim: &JumpCloudSim, key: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: sim.base_url(),
            key: Some(key.to_owned()),
            org: None,
        }
    }

    fn org(mut self, org: &str) -> Self {
        self.org = Some(org.to_owned());
        self
    }

    fn without_key(mut self) -> Self {
        self.key = None;
        self
    }

    async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Result<Reply> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("accept", "application/json")
            .header("user-agent", "passdesk-sim-tests");
        if let Some(key) = &self.key {
            request = request.header("x-api-key", key);
        }
        if let Some(org) = &self.org {
            request = request.header("x-org-id", org);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok(Reply {
            status,
            headers,
            text,
        })
    }

    async fn get(&self, path: &str) -> Reply {
        self.try_send(Method::GET, path, None).await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.try_send(Method::POST, path, Some(body)).await.unwrap()
    }

    async fn search(&self, body: Value) -> Reply {
        self.post("/api/search/systemusers", body).await
    }

    async fn reactivate(&self, ids: &[&str]) -> Reply {
        let models: Vec<Value> = ids.iter().map(|id| json!({ "_id": id })).collect();
        self.post(
            "/api/systemusers/reactivate",
            json!({ "isSelectAll": false, "models": models }),
        )
        .await
    }
}

async fn default_sim() -> (JumpCloudSim, Api) {
    let sim = default_seed().start().await.unwrap();
    let api = Api::new(&sim, DEFAULT_API_KEY);
    (sim, api)
}

fn id_of(sim: &JumpCloudSim, username: &str) -> String {
    sim.user_by_username(username).unwrap().id
}

fn utc_days_ago(days: i64) -> String {
    (Utc::now() - ChronoDuration::days(days)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn get_user_returns_the_user_and_jumpcloud_errors_for_bad_ids() {
    let (sim, api) = default_sim().await;
    let id = id_of(&sim, "jcuser.one");

    let reply = api.get(&format!("/api/systemusers/{id}")).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        reply.headers
    );
    let user = reply.json();
    assert_eq!(user["_id"], json!(id));
    assert_eq!(user["username"], "jcuser.one");
    assert_eq!(user["activated"], false);
    assert_eq!(user["state"], "ACTIVATED");
    assert_eq!(user["organization"], DEFAULT_ORG_ID);

    let reply = api
        .get(&format!("/api/systemusers/{id}?fields=username%20email"))
        .await;
    let keys: BTreeSet<String> = reply.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["_id", "email", "username"].map(String::from).into());

    let reply = api.get(&format!("/api/systemusers/{UNKNOWN_ID}")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        json!({"code":404,"message":"Not Found","status":"Not Found"})
    );

    let reply = api.get("/api/systemusers/jcuser.one").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["message"], "invalid object id");
}

#[tokio::test]
async fn listing_users_pages_stably_by_id_and_enforces_the_limit() {
    let sim = JumpCloudSim::builder()
        .api_key("k", [ORG_A])
        .users(generated_users("bulk", 250))
        .start()
        .await
        .unwrap();
    let api = Api::new(&sim, "k");

    let first = api.get("/api/systemusers").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["totalCount"], 250);
    assert_eq!(first.results().len(), 10, "default page size is 10");

    let mut seen = Vec::new();
    for skip in (0..250).step_by(100) {
        let page = api
            .get(&format!("/api/systemusers?limit=100&skip={skip}&sort=_id"))
            .await;
        assert_eq!(page.json()["totalCount"], 250);
        seen.extend(
            page.results()
                .iter()
                .map(|user| user["_id"].as_str().unwrap().to_owned()),
        );
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 250);
    assert_eq!(seen, sorted, "pages come in _id order without repeats");
    let expected: Vec<String> = sim.users().into_iter().map(|user| user.id).collect();
    assert_eq!(seen, expected);

    let descending = api.get("/api/systemusers?limit=1&sort=-username").await;
    assert_eq!(descending.usernames(), ["bulk.0249".to_owned()].into());

    for bad in ["limit=101", "limit=-1", "limit=ten", "skip=-5"] {
        let reply = api.get(&format!("/api/systemusers?{bad}")).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json()["code"], 400);
    }
}

#[tokio::test]
async fn list_filters_are_anded_typed_and_percent_decoded() {
    let (_sim, api) = default_sim().await;
    let week_ago = utc_days_ago(7);
    let encoded = week_ago.replace(':', "%3A");
    let reply = api
        .get(&format!(
            "/api/systemusers?limit=100&filter=activated:$eq:false&filter=created:$gt:{encoded}"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.usernames(),
        [
            "alex.morgan",
            "jcuser.one",
            "maria.garcia",
            "new.hire1",
            "new.hire2"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(reply.json()["totalCount"], 5);

    // An offset with a raw '+' decodes to a space: not a date, so JumpCloud's cast fails.
    let reply = api
        .get("/api/systemusers?filter=created:$gt:2026-01-01T00:00:00+01:00")
        .await;
    assert_eq!(reply.status, 400);
    let reply = api
        .get("/api/systemusers?filter=created:$gt:2026-01-01T00:00:00%2B01:00")
        .await;
    assert_eq!(reply.status, 200);

    let reply = api
        .get("/api/systemusers?filter=activated:$like:false")
        .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn search_supports_the_module_and_passdesk_request_shapes() {
    let (sim, api) = default_sim().await;

    // What Get-JCUser -username sends.
    let reply = api
        .search(json!({
            "filter": [{"username": {"$regex": "(?i)(^JCUSER\\.ONE$)"}}],
            "limit": 1000,
            "skip": 0,
        }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.usernames(), ["jcuser.one".to_owned()].into());

    // A '.' escaped matches only a dot.
    let reply = api
        .search(json!({"filter": [{"username": {"$regex": "^jcuser\\.on$"}}]}))
        .await;
    assert_eq!(reply.json()["totalCount"], 0);

    // What the reference recommends for Passdesk: exact JSON equality, projected fields.
    let reply = api
        .search(json!({
            "filter": {"and": [{"username": "jane.doe"}]},
            "fields": "username email activated",
            "limit": 2,
            "skip": 0,
        }))
        .await;
    let results = reply.results();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0],
        json!({
            "_id": id_of(&sim, "jane.doe"),
            "username": "jane.doe",
            "email": "jane.doe@example.com",
            "activated": true,
        })
    );

    // Get-JCUser -activated $false -filterDateProperty created -dateFilter after …
    let reply = api
        .search(json!({
            "filter": [{"activated": false, "created": {"$gt": utc_days_ago(7)}}],
            "fields": ["username"],
            "limit": 1000,
            "skip": 0,
            "sort": "-created",
        }))
        .await;
    assert_eq!(reply.json()["totalCount"], 5);
    let first = &reply.results()[0];
    assert!(
        first.get("email").is_none(),
        "fields array projects: {first}"
    );
    assert!(
        ["new.hire1", "new.hire2"].contains(&first["username"].as_str().unwrap()),
        "newest first: {first}"
    );

    let reply = api
        .search(json!({"filter": {"or": [{"username": "li.wei"}, {"username": "jane.doe"}]}}))
        .await;
    assert_eq!(
        reply.usernames(),
        ["jane.doe", "li.wei"].map(String::from).into()
    );

    // Everything, as Get-DynamicHash asks; `_id` always comes back.
    let reply = api
        .search(json!({"filter": [{}], "limit": 1000, "skip": 0, "fields": ["username"]}))
        .await;
    assert_eq!(reply.json()["totalCount"], 11);
    assert!(reply.results().iter().all(|user| user["_id"].is_string()));

    let reply = api
        .search(json!({"searchFilter": {"searchTerm": "HIRE", "fields": ["username"]}}))
        .await;
    assert_eq!(
        reply.usernames(),
        ["new.hire1", "new.hire2"].map(String::from).into()
    );

    for bad in [
        json!({"filter": [{"username": {"$regex": "(?i)(^jane"}}]}),
        json!({"filter": [{"activated": "sometimes"}]}),
        json!({"limit": 1001}),
        json!({"filter": "username:$eq:jane.doe"}),
        json!([1, 2]),
    ] {
        let reply = api.search(bad.clone()).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json()["status"], "Bad Request");
    }
}

#[tokio::test]
async fn reactivate_sends_activation_to_pending_and_reset_to_active_users() {
    let (sim, api) = default_sim().await;
    let pending = id_of(&sim, "jcuser.one");
    let active = id_of(&sim, "jane.doe");
    let locked = id_of(&sim, "john.smith");

    let reply = api.reactivate(&[&pending]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({}));
    let reply = api.reactivate(&[&active, &locked, &active]).await;
    assert_eq!(reply.status, 200);

    let mails = sim.record().mails();
    let summary: Vec<(&str, &str, MailKind)> = mails
        .iter()
        .map(|m| (m.username.as_str(), m.email.as_str(), m.kind))
        .collect();
    assert_eq!(
        summary,
        [
            ("jcuser.one", "jcuser.one@example.com", MailKind::Activation),
            ("jane.doe", "jane.doe@example.com", MailKind::Reset),
            ("john.smith", "john.smith@example.com", MailKind::Reset),
        ]
    );
    assert!(mails.iter().all(|m| m.org_id == DEFAULT_ORG_ID));
    assert_eq!(mails[0].user_id, pending);

    // The request as the cmdlet sends it is recorded with its body and status.
    let seen = sim.record().requests_to(Route::ReactivateUsers);
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].body_json(),
        Some(json!({"isSelectAll": false, "models": [{"_id": pending}]}))
    );
    assert_eq!(seen[0].status, Some(200));
    assert_eq!(seen[0].user_agent.as_deref(), Some("passdesk-sim-tests"));
}

#[tokio::test]
async fn reactivate_refuses_unsafe_or_unknown_requests_without_mailing_anyone() {
    let (sim, api) = default_sim().await;
    let pending = id_of(&sim, "jcuser.one");
    let suspended = id_of(&sim, "sam.taylor");
    let staged = id_of(&sim, "alex.morgan");

    let cases: Vec<(Value, u16)> = vec![
        (json!({"isSelectAll": true, "models": []}), 400),
        (
            json!({"isSelectAll": true, "models": [{"_id": pending}]}),
            400,
        ),
        (json!({"isSelectAll": false, "models": []}), 400),
        (json!({"isSelectAll": false}), 400),
        (json!({"isSelectAll": false, "models": [{"_id": ""}]}), 400),
        (
            json!({"isSelectAll": false, "models": [{"id": pending}]}),
            400,
        ),
        (
            json!({"isSelectAll": false, "models": [{"_id": UNKNOWN_ID}]}),
            404,
        ),
        (
            json!({"isSelectAll": false, "models": [{"_id": pending}, {"_id": UNKNOWN_ID}]}),
            404,
        ),
        (
            json!({"isSelectAll": false, "models": [{"_id": suspended}]}),
            409,
        ),
        (
            json!({"isSelectAll": false, "models": [{"_id": pending}, {"_id": staged}]}),
            409,
        ),
    ];
    for (body, status) in cases {
        let reply = api.post("/api/systemusers/reactivate", body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        assert_eq!(reply.json()["code"], status, "{body}");
    }
    assert!(
        sim.record().mails().is_empty(),
        "{:?}",
        sim.record().mails()
    );

    let reply = api
        .try_send(Method::POST, "/api/systemusers/reactivate", None)
        .await
        .unwrap();
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn expire_sets_password_expired_and_is_recorded() {
    let (sim, api) = default_sim().await;
    let id = id_of(&sim, "jane.doe");

    let reply = api
        .try_send(Method::POST, &format!("/api/systemusers/{id}/expire"), None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, "");
    assert!(sim.user(&id).unwrap().password_expired);
    let user = api.get(&format!("/api/systemusers/{id}")).await.json();
    assert_eq!(user["password_expired"], true);

    let expirations = sim.record().expirations();
    assert_eq!(expirations.len(), 1);
    assert_eq!(expirations[0].user_id, id);
    assert_eq!(expirations[0].username, "jane.doe");
    assert_eq!(expirations[0].org_id, DEFAULT_ORG_ID);

    let reply = api
        .try_send(
            Method::POST,
            &format!("/api/systemusers/{UNKNOWN_ID}/expire"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 404);
    let reply = api
        .try_send(Method::POST, "/api/systemusers/jane.doe/expire", None)
        .await
        .unwrap();
    assert_eq!(reply.status, 400);
    assert_eq!(sim.record().expirations().len(), 1);
}

#[tokio::test]
async fn user_groups_filter_by_name_and_list_members_with_total_count() {
    let (sim, api) = default_sim().await;

    let reply = api.get("/api/v2/usergroups?filter=name:eq:NewUsers").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.total(), 1);
    let groups = reply.json();
    assert_eq!(groups[0]["name"], "NewUsers");
    assert_eq!(groups[0]["type"], "user_group");
    let group_id = groups[0]["id"].as_str().unwrap().to_owned();

    for query in ["name:eq:All%20Staff", "name:eq:All+Staff"] {
        let reply = api.get(&format!("/api/v2/usergroups?filter={query}")).await;
        assert_eq!(reply.total(), 1, "{query}");
    }
    let reply = api.get("/api/v2/usergroups?filter=name:eq:newusers").await;
    assert_eq!(reply.total(), 0, "names are case-sensitive");
    assert_eq!(reply.json(), json!([]));

    let reply = api.get("/api/v2/usergroups?limit=2&sort=-name").await;
    assert_eq!(reply.total(), 4);
    let groups = reply.json();
    let names: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["NewUsers", "IT"]);

    let reply = api.get(&format!("/api/v2/usergroups/{group_id}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["name"], "NewUsers");

    let expected = sim.group_by_name("NewUsers").unwrap().member_ids;
    let mut members = Vec::new();
    for skip in [0, 2, 4] {
        let page = api
            .get(&format!(
                "/api/v2/usergroups/{group_id}/members?limit=2&skip={skip}"
            ))
            .await;
        assert_eq!(page.total(), expected.len());
        for edge in page.json().as_array().unwrap() {
            assert_eq!(edge["to"]["type"], "user");
            assert!(edge["attributes"].is_null());
            members.push(edge["to"]["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(members, expected);
    assert!(members.contains(&id_of(&sim, "jcuser.one")));

    let reply = api.get("/api/v2/usergroups?limit=101").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["details"], json!([]));
    let reply = api
        .get(&format!("/api/v2/usergroups/{group_id}/members?limit=101"))
        .await;
    assert_eq!(reply.status, 400);
    let reply = api.get(&format!("/api/v2/usergroups/{UNKNOWN_ID}")).await;
    assert_eq!(reply.status, 404);
    let reply = api.get("/api/v2/usergroups/NewUsers/members").await;
    assert_eq!(reply.status, 400);
    let reply = api.get("/api/v2/usergroups?filter=colour:eq:red").await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn keys_and_org_ids_select_the_tenant_as_documented() {
    let sim = JumpCloudSim::builder()
        .org(OrgSeed::new(ORG_A, "Acme"))
        .org(OrgSeed::new(ORG_B, "Globex"))
        .org(OrgSeed::new(ORG_C, "Initech"))
        .api_key("single", [ORG_A])
        .api_key("msp", [ORG_A, ORG_B])
        .user(UserSeed::new("alice").org(ORG_A))
        .user(UserSeed::new("bob").org(ORG_B))
        .group(GroupSeed::new("Staff").org(ORG_B).members(["bob"]))
        .start()
        .await
        .unwrap();
    let alice = id_of(&sim, "alice");
    let bob = id_of(&sim, "bob");
    let users = "/api/systemusers";

    let reply = Api::new(&sim, "single").without_key().get(users).await;
    assert_eq!(
        (reply.status, reply.json()),
        (401, json!({"message": "Unauthorized"}))
    );
    let reply = Api::new(&sim, "nope").get(users).await;
    assert_eq!(
        (reply.status, reply.json()),
        (401, json!({"message": "Unauthorized"}))
    );

    let reply = Api::new(&sim, "single").get(users).await;
    assert_eq!(reply.usernames(), ["alice".to_owned()].into());
    let reply = Api::new(&sim, "single").org(ORG_A).get(users).await;
    assert_eq!(reply.usernames(), ["alice".to_owned()].into());
    let reply = Api::new(&sim, "single").org(ORG_B).get(users).await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("organization")
    );

    let reply = Api::new(&sim, "msp").get(users).await;
    assert_eq!(
        (reply.status, reply.json()),
        (
            401,
            json!({"message": "Unauthorized: no organization selected"})
        )
    );
    let reply = Api::new(&sim, "msp").org("").get(users).await;
    assert_eq!(reply.status, 401);
    let reply = Api::new(&sim, "msp").org("acme").get(users).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("organization")
    );
    let reply = Api::new(&sim, "msp").org(ORG_C).get(users).await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("organization")
    );

    // Each tenant sees only its own data.
    let msp_b = Api::new(&sim, "msp").org(ORG_B);
    assert_eq!(
        msp_b.get(users).await.usernames(),
        ["bob".to_owned()].into()
    );
    assert_eq!(msp_b.get(&format!("{users}/{alice}")).await.status, 404);
    assert_eq!(msp_b.get(&format!("{users}/{bob}")).await.status, 200);
    assert_eq!(msp_b.reactivate(&[&alice]).await.status, 404);
    assert_eq!(msp_b.get("/api/v2/usergroups").await.total(), 1);
    let msp_a = Api::new(&sim, "msp").org(ORG_A);
    assert_eq!(msp_a.get("/api/v2/usergroups").await.total(), 0);
    assert_eq!(msp_a.reactivate(&[&alice]).await.status, 200);
    assert_eq!(sim.record().mails()[0].org_id, ORG_A);

    let seen = sim.record().requests();
    assert!(!seen[0].org_id_sent() && seen[0].api_key.is_none());
    assert_eq!(seen[3].org_id.as_deref(), Some(ORG_A));
    assert!(seen.iter().all(|request| request.status.is_some()));
}

#[tokio::test]
async fn rate_limit_answers_429_per_key_with_optional_retry_after() {
    let sim = default_seed()
        .api_key("second-key", [DEFAULT_ORG_ID])
        .rate_limit(RateLimit::per_minute(2))
        .start()
        .await
        .unwrap();
    let api = Api::new(&sim, DEFAULT_API_KEY);
    assert_eq!(api.get("/api/systemusers").await.status, 200);
    assert_eq!(api.get("/api/v2/usergroups").await.status, 200);
    let limited = api.get("/api/systemusers").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json(), json!({"message": "Too Many Requests"}));
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // Another key has its own budget.
    assert_eq!(
        Api::new(&sim, "second-key")
            .get("/api/systemusers")
            .await
            .status,
        200
    );

    sim.set_rate_limit(Some(RateLimit::per_minute(0).without_retry_after()));
    let limited = api.get("/api/systemusers").await;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_none());

    sim.set_rate_limit(None);
    assert_eq!(api.get("/api/systemusers").await.status, 200);
}

#[tokio::test]
async fn status_faults_fail_the_next_requests_then_clear() {
    let (sim, api) = default_sim().await;
    let id = id_of(&sim, "jcuser.one");
    sim.inject(Fault::status(Route::ReactivateUsers, 503).times(2));

    for _ in 0..2 {
        let reply = api.reactivate(&[&id]).await;
        assert_eq!(reply.status, 503);
        assert_eq!(reply.json()["code"], 503);
    }
    assert!(
        sim.record().mails().is_empty(),
        "a faulted request has no effect"
    );
    assert_eq!(api.reactivate(&[&id]).await.status, 200);
    assert_eq!(sim.record().mails().len(), 1);

    let statuses: Vec<Option<u16>> = sim
        .record()
        .requests_to(Route::ReactivateUsers)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);

    // A custom body and header, on a path prefix.
    sim.inject(
        Fault::status(FaultTarget::any_method("/api/v2/"), 429)
            .with_body(json!({"message": "slow down"}))
            .with_header("retry-after", "7"),
    );
    let reply = api.get("/api/v2/usergroups").await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("7"));
    assert_eq!(reply.json(), json!({"message": "slow down"}));
    assert_eq!(api.get("/api/v2/usergroups").await.status, 200);

    sim.inject(Fault::status(Route::GetUser, 500).times(5));
    sim.clear_faults();
    assert_eq!(api.get(&format!("/api/systemusers/{id}")).await.status, 200);
}

#[tokio::test]
async fn drop_faults_close_the_connection_without_a_response_or_an_effect() {
    let (sim, api) = default_sim().await;
    let id = id_of(&sim, "jcuser.one");
    sim.inject(Fault::drop_connection(Route::ExpirePassword));

    let outcome = api
        .try_send(Method::POST, &format!("/api/systemusers/{id}/expire"), None)
        .await;
    let error = match outcome {
        Ok(reply) => panic!("expected no response, got {}", reply.status),
        Err(error) => error,
    };
    assert!(error.is_request() && error.status().is_none(), "{error:?}");
    assert!(!sim.user(&id).unwrap().password_expired);
    assert!(sim.record().expirations().is_empty());
    let seen = sim.record().requests_to(Route::ExpirePassword);
    assert_eq!(seen.len(), 1, "the client did not silently resend");
    assert!(seen[0].dropped);
    assert_eq!(seen[0].status, None);

    // The next request, on a fresh connection, works.
    let reply = api
        .try_send(Method::POST, &format!("/api/systemusers/{id}/expire"), None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(sim.user(&id).unwrap().password_expired);
}

#[tokio::test]
async fn delay_faults_and_latency_slow_answers_down() {
    let (sim, api) = default_sim().await;
    let id = id_of(&sim, "jcuser.one");
    let delay = Duration::from_millis(200);

    sim.inject(Fault::delay(Route::GetUser, delay));
    let started = Instant::now();
    assert_eq!(api.get(&format!("/api/systemusers/{id}")).await.status, 200);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());

    sim.set_latency(delay);
    let started = Instant::now();
    assert_eq!(api.get("/api/v2/usergroups").await.status, 200);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
}

#[tokio::test]
async fn unknown_paths_and_methods_get_jumpcloud_errors() {
    let (sim, api) = default_sim().await;
    let reply = api.get("/api/systemgroups").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["message"], "Not Found");
    let reply = api
        .try_send(Method::DELETE, "/api/search/systemusers", None)
        .await
        .unwrap();
    assert_eq!(reply.status, 405);
    let reply = Api::new(&sim, "k")
        .without_key()
        .get("/api/systemgroups")
        .await;
    assert_eq!(reply.status, 401, "authentication comes first");
}

#[tokio::test]
async fn default_seed_has_users_in_every_state() {
    let (sim, _api) = default_sim().await;
    let one = sim.user_by_username("jcuser.one").unwrap();
    assert!(!one.activated);
    assert!(Utc::now() - one.created < ChronoDuration::days(7));
    assert_eq!(
        sim.user_by_username("sam.taylor").unwrap().state,
        UserState::Suspended
    );
    assert_eq!(
        sim.user_by_username("alex.morgan").unwrap().state,
        UserState::Staged
    );
    assert!(sim.user_by_username("john.smith").unwrap().account_locked);
    let new_users = sim.group_by_name("NewUsers").unwrap();
    assert_eq!(new_users.member_ids.len(), 5);
    assert_eq!(
        sim.orgs(),
        vec![(DEFAULT_ORG_ID.to_owned(), "Acme".to_owned())]
    );
    assert!(
        sim.user_in_org(DEFAULT_ORG_ID, "jane.doe").is_some()
            && sim.user_in_org(ORG_B, "jane.doe").is_none()
    );
}

#[tokio::test]
async fn bad_seeds_do_not_start() {
    let result = JumpCloudSim::builder().api_key("k", [ORG_B]).start().await;
    assert!(matches!(result, Err(SimError::Seed(_))));
}
