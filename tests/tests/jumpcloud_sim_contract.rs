//! The JumpCloud simulator against JumpCloud's own Swagger specs (`shared/specs/`): every route
//! it serves is an operation of the spec, and every answer a client reads validates against
//! that operation's response schema (or the spec's error schemas). Where the spec gives no
//! schema (`expire`) or no operation at all (`reactivate`), the simulator's documented choice
//! is asserted instead, so a change to it is deliberate.

// Test code: a panic in a helper is a failed test with a clear location, as in tests/src/lib.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use passdesk_sim::jumpcloud::{
    ApiVersion, DEFAULT_API_KEY, DEFAULT_ORG_ID, JumpCloudSim, OrgSeed, RateLimit, Route, UserSeed,
    default_seed,
};
use passdesk_tests::specs::{Spec, assert_valid, violations};
use reqwest::Method;
use serde_json::{Value, json};

const OTHER_ORG: &str = "5a1b2c3d4e5f6a7b8c9d0e20";
const UNKNOWN_ID: &str = "5f0cffffffffffffffffffff";
const MSP_KEY: &str = "msp-key";

fn spec_for(route: Route) -> &'static Spec {
    match route.api() {
        ApiVersion::V1 => Spec::v1(),
        ApiVersion::V2 => Spec::v2(),
    }
}

struct Reply {
    status: u16,
    total_count: Option<String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
}

/// The default seed, plus a second organisation and a multi-tenant key for the org errors.
async fn contract_sim() -> JumpCloudSim {
    default_seed()
        .org(OrgSeed::new(OTHER_ORG, "Globex"))
        .api_key(MSP_KEY, [DEFAULT_ORG_ID, OTHER_ORG])
        .user(
            UserSeed::new("full.fields")
                .org(OTHER_ORG)
                .alternate_email("full@example.net")
                .locked()
                .password_expired(),
        )
        .start()
        .await
        .unwrap()
}

async fn call(
    sim: &JumpCloudSim,
    key: Option<&str>,
    org: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .header("accept", "application/json");
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(org) = org {
        request = request.header("x-org-id", org);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    Reply {
        status: response.status().as_u16(),
        total_count: response
            .headers()
            .get("x-total-count")
            .map(|value| value.to_str().unwrap().to_owned()),
        text: response.text().await.unwrap(),
    }
}

async fn get(sim: &JumpCloudSim, path: &str) -> Reply {
    call(sim, Some(DEFAULT_API_KEY), None, Method::GET, path, None).await
}

async fn post(sim: &JumpCloudSim, path: &str, body: Option<Value>) -> Reply {
    call(sim, Some(DEFAULT_API_KEY), None, Method::POST, path, body).await
}

/// Asserts a 200 whose body validates against the operation's 200 schema; returns the body.
#[track_caller]
fn assert_conforms(route: Route, reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{route:?}: {}", reply.text);
    let operation = route.operation_id().unwrap();
    let validator = spec_for(route)
        .response_validator(operation, 200)
        .unwrap_or_else(|| panic!("{operation} has no 200 schema"));
    let body = reply.json();
    assert_valid(&validator, &body, operation);
    body
}

#[test]
fn every_simulated_route_is_an_operation_of_the_spec() {
    for route in Route::ALL {
        let spec = spec_for(route);
        assert!(
            route.template().starts_with(spec.base_path()),
            "{route:?} is outside {}",
            spec.base_path()
        );
        let method = route.method().as_str().to_ascii_lowercase();
        match route.operation_id() {
            Some(operation_id) => {
                let operation = spec
                    .operation(operation_id)
                    .unwrap_or_else(|| panic!("{operation_id} is not in the spec"));
                assert_eq!(
                    (operation.method.as_str(), operation.path.as_str()),
                    (method.as_str(), route.spec_path()),
                    "{route:?}"
                );
                assert!(spec.has_operation(&method, route.spec_path()));
            }
            None => {
                // `reactivate`: the SDK's processed spec keeps the path but no operation.
                assert_eq!(route, Route::ReactivateUsers);
                let item = spec
                    .path(route.spec_path())
                    .unwrap_or_else(|| panic!("{} has no path stub", route.spec_path()));
                assert!(item.get(&method).is_none(), "reactivate became documented");
                assert!(!spec.has_operation(&method, route.spec_path()));
            }
        }
    }
}

#[tokio::test]
async fn user_reads_match_their_response_schemas() {
    let sim = contract_sim().await;

    // Every user of the default seed: every state, null and non-null dates.
    for user in sim
        .users()
        .into_iter()
        .filter(|u| u.org_id == DEFAULT_ORG_ID)
    {
        let reply = get(&sim, &format!("/api/systemusers/{}", user.id)).await;
        let body = assert_conforms(Route::GetUser, &reply);
        assert_eq!(body["username"], json!(user.username));
    }
    let full = sim.user_by_username("full.fields").unwrap();
    let reply = call(
        &sim,
        Some(MSP_KEY),
        Some(OTHER_ORG),
        Method::GET,
        &format!("/api/systemusers/{}", full.id),
        None,
    )
    .await;
    let body = assert_conforms(Route::GetUser, &reply);
    assert!(body["account_locked_date"].is_string() && body["alternateEmail"].is_string());

    // The validator is not vacuous: the same body with one wrong type is refused.
    let mut broken = body.clone();
    broken["activated"] = json!("false");
    let validator = Spec::v1().response_validator("User_Get", 200).unwrap();
    assert!(!violations(&validator, &broken).is_empty());

    let jane = sim.user_by_username("jane.doe").unwrap();
    let projected = get(
        &sim,
        &format!("/api/systemusers/{}?fields=username%20email", jane.id),
    )
    .await;
    let body = assert_conforms(Route::GetUser, &projected);
    assert_eq!(
        body.as_object().unwrap().len(),
        3,
        "_id, username, email: {body}"
    );

    for query in [
        "",
        "?limit=100&skip=0&sort=_id",
        "?limit=3&skip=2&sort=-created&fields=username%20activated%20created",
        "?filter=activated:$eq:false&filter=created:$gt:2020-01-01T00:00:00Z",
        "?filter=username:$eq:nobody",
    ] {
        let reply = get(&sim, &format!("/api/systemusers{query}")).await;
        let body = assert_conforms(Route::ListUsers, &reply);
        assert!(body["totalCount"].is_u64(), "{query}");
    }

    for body in [
        // Get-JCUser -username, as the PowerShell module sends it.
        json!({"filter": [{"username": {"$regex": "(?i)(^jcuser\\.one$)"}}], "limit": 1000, "skip": 0}),
        // Get-DynamicHash: everyone, usernames only.
        json!({"filter": [{}], "limit": 1000, "skip": 0, "fields": ["username"]}),
        // The look-up the reference recommends for Passdesk.
        json!({
            "filter": {"and": [{"username": "jane.doe"}]},
            "fields": "_id username email firstname lastname activated state suspended account_locked password_expired created",
            "limit": 2,
            "skip": 0,
        }),
        json!({"filter": [{"activated": false, "created": {"$gt": "2020-01-01T00:00:00.000Z"}}], "sort": "_id"}),
        json!({}),
    ] {
        let reply = post(&sim, "/api/search/systemusers", Some(body.clone())).await;
        let answer = assert_conforms(Route::SearchUsers, &reply);
        assert!(
            answer["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["_id"].is_string()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn group_reads_match_their_response_schemas() {
    let sim = contract_sim().await;

    let all = get(&sim, "/api/v2/usergroups?limit=100").await;
    let groups = assert_conforms(Route::ListUserGroups, &all);
    let groups = groups.as_array().unwrap().clone();
    assert_eq!(
        all.total_count.as_deref(),
        Some(groups.len().to_string().as_str())
    );
    assert!(!groups.is_empty());

    for query in [
        "?filter=name:eq:NewUsers",
        "?filter=name:eq:All%20Staff&fields=name,id",
        "?filter=name:eq:nothing",
        "?limit=1&skip=1&sort=-name",
    ] {
        let reply = get(&sim, &format!("/api/v2/usergroups{query}")).await;
        assert_conforms(Route::ListUserGroups, &reply);
        let total: usize = reply.total_count.as_deref().unwrap().parse().unwrap();
        assert!(total <= groups.len(), "{query}");
    }

    for group in &groups {
        let id = group["id"].as_str().unwrap();
        let reply = get(&sim, &format!("/api/v2/usergroups/{id}")).await;
        assert_eq!(assert_conforms(Route::GetUserGroup, &reply), *group);

        let reply = get(&sim, &format!("/api/v2/usergroups/{id}/members?limit=100")).await;
        let members = assert_conforms(Route::ListUserGroupMembers, &reply);
        let count = members.as_array().unwrap().len();
        assert_eq!(reply.total_count, Some(count.to_string()));
    }
}

/// One request expected to fail, and the spec whose error schemas its body must fit.
struct ErrorCase {
    spec: &'static Spec,
    key: Option<&'static str>,
    org: Option<&'static str>,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
}

impl ErrorCase {
    fn get(spec: &'static Spec, key: Option<&'static str>, path: &str, status: u16) -> Self {
        Self {
            spec,
            key,
            org: None,
            method: Method::GET,
            path: path.to_owned(),
            body: None,
            status,
        }
    }

    fn post(spec: &'static Spec, path: &str, body: Value, status: u16) -> Self {
        Self {
            method: Method::POST,
            body: Some(body),
            ..Self::get(spec, Some(DEFAULT_API_KEY), path, status)
        }
    }

    fn org(mut self, org: &'static str) -> Self {
        self.org = Some(org);
        self
    }
}

#[tokio::test]
async fn error_bodies_match_the_spec_error_schemas() {
    let sim = contract_sim().await;
    let v1 = Spec::v1();
    let v2 = Spec::v2();
    let suspended = sim.user_by_username("sam.taylor").unwrap().id;

    let reactivate_suspended = json!({"isSelectAll": false, "models": [{"_id": suspended}]});
    let key = Some(DEFAULT_API_KEY);
    let cases = [
        ErrorCase::get(v1, key, "/api/systemusers/not-an-id", 400),
        ErrorCase::get(v1, key, "/api/systemusers?limit=500", 400),
        ErrorCase::post(
            v1,
            "/api/search/systemusers",
            json!({"filter": [{"username": {"$regex": "("}}]}),
            400,
        ),
        ErrorCase::post(
            v1,
            "/api/systemusers/reactivate",
            json!({"isSelectAll": true, "models": []}),
            400,
        ),
        ErrorCase::get(v1, Some(MSP_KEY), "/api/systemusers", 400).org("acme"),
        ErrorCase::get(v1, None, "/api/systemusers", 401),
        ErrorCase::get(v1, Some(MSP_KEY), "/api/systemusers", 401),
        ErrorCase::get(v1, key, &format!("/api/systemusers/{UNKNOWN_ID}"), 404),
        ErrorCase::get(v1, key, "/api/systemusers", 404).org(OTHER_ORG),
        ErrorCase {
            method: Method::POST,
            ..ErrorCase::get(
                v1,
                key,
                &format!("/api/systemusers/{UNKNOWN_ID}/expire"),
                404,
            )
        },
        ErrorCase::post(v1, "/api/systemusers/reactivate", reactivate_suspended, 409),
        ErrorCase::get(v2, key, "/api/v2/usergroups?limit=101", 400),
        ErrorCase::get(v2, key, "/api/v2/usergroups?filter=name:between:a", 400),
        ErrorCase::get(v2, None, "/api/v2/usergroups", 401),
        ErrorCase::get(v2, key, &format!("/api/v2/usergroups/{UNKNOWN_ID}"), 404),
        ErrorCase::get(
            v2,
            key,
            &format!("/api/v2/usergroups/{UNKNOWN_ID}/members"),
            404,
        ),
    ];
    for case in cases {
        let what = format!("{} {}", case.method, case.path);
        let reply = call(&sim, case.key, case.org, case.method, &case.path, case.body).await;
        assert_eq!(reply.status, case.status, "{what}: {}", reply.text);
        let body = reply.json();
        assert_valid(&case.spec.error_validator(case.status), &body, &what);
        assert!(body["message"].is_string(), "{what}: every error says why");
    }

    // The v2 400 schema is ErrorDetails: a `details` that is not an array is refused.
    let broken = json!({"code": 400, "message": "x", "status": "Bad Request", "details": "x"});
    assert!(!violations(&v2.error_validator(400), &broken).is_empty());
}

#[tokio::test]
async fn rate_limited_answers_fit_the_error_definition() {
    let sim = default_seed()
        .rate_limit(RateLimit::per_minute(1))
        .start()
        .await
        .unwrap();
    assert_eq!(get(&sim, "/api/systemusers").await.status, 200);
    let limited = get(&sim, "/api/systemusers").await;
    assert_eq!(limited.status, 429);
    // No spec documents 429; the simulator's short body still fits the `Error` definition.
    assert_valid(
        &Spec::v1().definition_validator("Error"),
        &limited.json(),
        "429 body",
    );
}

#[tokio::test]
async fn undocumented_answers_are_the_simulator_documented_choices() {
    let sim = contract_sim().await;
    let jane = sim.user_by_username("jane.doe").unwrap().id;

    // Expire: the spec documents `200` with no schema. The simulator answers an empty body.
    assert!(
        Spec::v1()
            .response_schema("ExpireUserPassword_POST", 200)
            .is_none()
    );
    let reply = post(&sim, &format!("/api/systemusers/{jane}/expire"), None).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, ""));

    // Reactivate: no operation in the spec. The simulator answers 200 with `{}`.
    let reply = post(
        &sim,
        "/api/systemusers/reactivate",
        Some(json!({"isSelectAll": false, "models": [{"_id": jane}]})),
    )
    .await;
    assert_eq!((reply.status, reply.json()), (200, json!({})));
    assert_eq!(sim.record().mails().len(), 1);
}
