//! Contract tests of the Identity Manager client against a scripted server (wiremock): what
//! goes on the wire is exactly what the vendor documents (token form, `api-version`, bearer,
//! squery), and the client reacts to the documented answers as it should.
// clippy.toml allows unwrap/expect in #[test] functions only; the helpers below are test code
// too, where a panic is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use passdesk_core::identity_manager::{Client, Error};
use passdesk_core::retry::RetryPolicy;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "contract-Secret+/=&@ 42";
const TOKEN: &str = "tok-1";

const MAPPING: &str = "/api/Connectors/Mapping/ResourceTypeMapping/10";
const SETTINGS: &str = "/api/Connectors/Mapping/PasswordResetSetting";
const ART: &str = "/api/ProvisioningPolicy/AssignedResourceType/1000";

/// The documented example, as the server answers it.
fn settings_json() -> Value {
    json!({
        "Id": "1",
        "Identifier": "ToManager",
        "Mode": 1,
        "DisableNotifications": false,
        "NotificationCC": "it-security@acme.example",
        "BeneficiaryFullNameBinding": "AssignedResourceType:Owner.Directory_User:MainRecord.InternalDisplayName",
        "NotifiedEmailBinding": "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.Mail",
        "NotifiedFullNameBinding": "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.InternalDisplayName"
    })
}

fn art_json() -> Value {
    json!({
        "Id": "1000",
        "RoleId": "10",
        "Owner": {"MainRecord": {
            "InternalDisplayName": "Ada Lovelace",
            "Organization": {"Manager": {"MainRecord": {
                "Mail": "grace.hopper@acme.example",
                "InternalDisplayName": "Grace Hopper"
            }}}
        }}
    })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A scripted Identity Manager. `discovery` is the discovery document to serve (None: 404).
struct Upstream {
    server: MockServer,
}

impl Upstream {
    async fn start(discovery: Option<Value>) -> Self {
        let server = MockServer::start().await;
        if let Some(document) = discovery {
            Mock::given(method("GET"))
                .and(path("/.well-known/openid-configuration"))
                .respond_with(ok(document))
                .mount(&server)
                .await;
        }
        Self { server }
    }

    /// Discovery pointing at `/connect/token`, the token endpoint, and the three API routes.
    async fn documented() -> Self {
        let up = Self::start(None).await;
        let discovery = json!({
            "issuer": up.server.uri(),
            "token_endpoint": format!("{}/connect/token", up.server.uri()),
        });
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ok(discovery))
            .mount(&up.server)
            .await;
        up.token_endpoint("/connect/token", 3600).await;
        up.api_routes().await;
        up
    }

    async fn token_endpoint(&self, at: &str, expires_in: u64) {
        Mock::given(method("POST"))
            .and(path(at))
            .respond_with(ok(json!({
                "access_token": TOKEN,
                "expires_in": expires_in,
                "token_type": "Bearer",
                "scope": "usercube_api"
            })))
            .mount(&self.server)
            .await;
    }

    async fn api_routes(&self) {
        for (at, body) in [
            (
                MAPPING,
                json!({"Id": "10", "Identifier": "AD_Entry_NominativeUser", "PasswordResetSettingId": "1"}),
            ),
            (SETTINGS, json!({"Result": [settings_json()]})),
            (ART, art_json()),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(ok(body))
                .mount(&self.server)
                .await;
        }
    }

    fn client(&self) -> Client {
        self.client_with(RetryPolicy::none())
    }

    fn client_with(&self, retry: RetryPolicy) -> Client {
        Client::builder(self.server.uri(), "Job", SecretString::from(SECRET))
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .retry_policy(retry)
            .build()
            .unwrap()
    }

    async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap()
    }

    async fn requests_to(&self, at: &str) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r.url.path() == at)
            .collect()
    }
}

fn form(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn plan(client: &Client) -> Result<passdesk_core::identity_manager::NotificationPlan, Error> {
    client
        .plan_notification("1000".parse().unwrap(), "10".parse().unwrap(), &[])
        .await
}

#[tokio::test]
async fn token_request_is_the_documented_form() {
    let up = Upstream::documented().await;
    plan(&up.client()).await.unwrap();

    let tokens = up.requests_to("/connect/token").await;
    assert_eq!(tokens.len(), 1, "one token for the whole plan");
    let request = &tokens[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    // Credentials go in the body, not in a Basic header; nothing rides in the query.
    assert!(request.headers.get("authorization").is_none());
    assert_eq!(request.url.query(), None);
    let expected: BTreeMap<String, String> = [
        ("grant_type", "client_credentials"),
        ("scope", "usercube_api"),
        ("client_id", "Job@127.0.0.1"),
        ("client_secret", SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(form(request), expected);
    // `@` stays literal, as in the documented requests; host only, no scheme or port.
    let raw = String::from_utf8(request.body.clone()).unwrap();
    assert!(raw.contains("client_id=Job@127.0.0.1&"), "{raw}");
    assert!(
        request
            .headers
            .get("user-agent")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("passdesk/")
    );
}

#[tokio::test]
async fn every_api_call_carries_api_version_and_the_bearer() {
    let up = Upstream::documented().await;
    let plan = plan(&up.client()).await.unwrap();
    assert_eq!(plan.recipient.as_str(), "grace.hopper@acme.example");

    let api: Vec<Request> = up
        .requests()
        .await
        .into_iter()
        .filter(|r| r.url.path().starts_with("/api/"))
        .collect();
    let paths: Vec<&str> = api.iter().map(|r| r.url.path()).collect();
    assert_eq!(paths, [MAPPING, SETTINGS, ART]);
    for request in &api {
        assert_eq!(
            query(request, "api-version").as_deref(),
            Some("1.0"),
            "{}",
            request.url
        );
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            &format!("Bearer {TOKEN}"),
            "{}",
            request.url
        );
        assert!(
            request
                .headers
                .get("user-agent")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("passdesk/")
        );
    }
}

#[tokio::test]
async fn squery_texts_follow_the_documented_grammar() {
    let up = Upstream::documented().await;
    plan(&up.client()).await.unwrap();

    let squery = |at: &'static str| {
        let up = &up;
        async move { query(&up.requests_to(at).await[0], "squery").unwrap() }
    };
    assert_eq!(
        squery(MAPPING).await,
        "select Id, Identifier, PasswordResetSettingId"
    );
    assert_eq!(
        squery(SETTINGS).await,
        "select Id, Identifier, AutoGenerate, MustChange, Mode, DisableNotifications, NotificationCC, \
         BeneficiaryEmailBinding, BeneficiaryFullNameBinding, NotifiedEmailBinding, NotifiedFullNameBinding, \
         GeneratedLength, GeneratedLowerCaseCharsCount, GeneratedUpperCaseCharsCount, GeneratedDigitCharsCount, \
         GeneratedSymbolCharsCount, StrengthCheck where Id = 1"
    );
    // The documented bindings, one join per navigation, `of type` for the cast, shared prefixes.
    assert_eq!(
        squery(ART).await,
        "join Owner of type Directory_User j0 join j0.MainRecord j1 join j1.Organization j2 \
         join j2.Manager j3 join j3.MainRecord j4 \
         select Id, RoleId, j4.Mail, j4.InternalDisplayName, j1.InternalDisplayName"
    );
}

#[tokio::test]
async fn discovery_missing_falls_back_to_connect_token() {
    let up = Upstream::start(None).await;
    up.token_endpoint("/connect/token", 3600).await;
    up.api_routes().await;
    plan(&up.client()).await.unwrap();
    let paths: Vec<String> = up
        .requests()
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths[0], "/.well-known/openid-configuration");
    assert_eq!(paths[1], "/connect/token");
}

#[tokio::test]
async fn discovered_token_endpoint_is_used_on_the_same_server_only() {
    // Same origin, another path: used.
    let up = Upstream::start(None).await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ok(json!({
            "token_endpoint": format!("{}/identity/connect/token", up.server.uri())
        })))
        .mount(&up.server)
        .await;
    up.token_endpoint("/identity/connect/token", 3600).await;
    up.api_routes().await;
    plan(&up.client()).await.unwrap();
    assert_eq!(up.requests_to("/identity/connect/token").await.len(), 1);

    // Another server: the secret is not sent there; /connect/token on ApplicationUri instead.
    let elsewhere = MockServer::start().await;
    let up = Upstream::start(Some(json!({
        "token_endpoint": format!("{}/connect/token", elsewhere.uri())
    })))
    .await;
    up.token_endpoint("/connect/token", 3600).await;
    up.api_routes().await;
    plan(&up.client()).await.unwrap();
    assert_eq!(up.requests_to("/connect/token").await.len(), 1);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries_once() {
    let up = Upstream::documented().await;
    Mock::given(method("GET"))
        .and(path(ART))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&up.server)
        .await;
    let plan = plan(&up.client()).await.unwrap();
    assert_eq!(plan.beneficiary_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(up.requests_to("/connect/token").await.len(), 2);
    assert_eq!(up.requests_to(ART).await.len(), 2);
}

#[tokio::test]
async fn a_second_401_is_an_error_not_a_loop() {
    let up = Upstream::documented().await;
    Mock::given(method("GET"))
        .and(path(MAPPING))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(1)
        .mount(&up.server)
        .await;
    let err = plan(&up.client()).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_eq!(up.requests_to("/connect/token").await.len(), 2);
    assert_eq!(up.requests_to(MAPPING).await.len(), 2);
}

#[tokio::test]
async fn the_token_is_cached_until_shortly_before_it_expires() {
    let up = Upstream::documented().await;
    let client = up.client();
    plan(&client).await.unwrap();
    plan(&client).await.unwrap();
    assert_eq!(up.requests_to("/connect/token").await.len(), 1);

    // A token that expires at once is not reused.
    let up = Upstream::start(None).await;
    up.token_endpoint("/connect/token", 0).await;
    up.api_routes().await;
    plan(&up.client()).await.unwrap();
    assert_eq!(up.requests_to("/connect/token").await.len(), 3);
}

#[tokio::test]
async fn refused_credentials_name_the_client() {
    let up = Upstream::start(None).await;
    Mock::given(method("POST"))
        .and(path("/connect/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .mount(&up.server)
        .await;
    let err = plan(&up.client()).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::AuthenticationRefused { .. }),
        "{err:?}"
    );
    assert!(message.contains("'Job@127.0.0.1'"), "{message}");
    assert!(message.contains("invalid_client"), "{message}");
    assert!(!message.contains(SECRET));
    // No API call without a token.
    assert!(up.requests_to(MAPPING).await.is_empty());
}

#[tokio::test]
async fn list_answers_are_followed_across_pages() {
    let up = Upstream::start(None).await;
    up.token_endpoint("/connect/token", 3600).await;
    for (at, body) in [
        (MAPPING, json!({"Id": "10", "PasswordResetSettingId": "1"})),
        (ART, art_json()),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(ok(body))
            .mount(&up.server)
            .await;
    }
    // The first page is empty but continues; the settings are on the second.
    Mock::given(method("GET"))
        .and(path(SETTINGS))
        .and(wiremock::matchers::query_param(
            "ContinuationToken",
            "next-1",
        ))
        .respond_with(ok(json!({"Result": [settings_json()]})))
        .with_priority(1)
        .mount(&up.server)
        .await;
    Mock::given(method("GET"))
        .and(path(SETTINGS))
        .respond_with(ok(json!({"Result": [], "ContinuationToken": "next-1"})))
        .mount(&up.server)
        .await;
    let plan = plan(&up.client()).await.unwrap();
    assert_eq!(plan.settings_identifier, "ToManager");
    assert_eq!(up.requests_to(SETTINGS).await.len(), 2);
}

#[tokio::test]
async fn reads_are_retried_on_5xx_and_429() {
    let up = Upstream::documented().await;
    Mock::given(method("GET"))
        .and(path(ART))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&up.server)
        .await;
    Mock::given(method("GET"))
        .and(path(MAPPING))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&up.server)
        .await;
    let retry = RetryPolicy::default().with_base_delay(Duration::from_millis(1));
    plan(&up.client_with(retry)).await.unwrap();
    assert_eq!(up.requests_to(ART).await.len(), 2);
    assert_eq!(up.requests_to(MAPPING).await.len(), 2);
}

#[tokio::test]
async fn upstream_errors_are_bounded_excerpts() {
    let up = Upstream::documented().await;
    Mock::given(method("GET"))
        .and(path(MAPPING))
        .respond_with(ResponseTemplate::new(400).set_body_string("x".repeat(5_000)))
        .with_priority(1)
        .mount(&up.server)
        .await;
    let err = plan(&up.client()).await.unwrap_err();
    assert!(
        matches!(err, Error::BadRequest { status: 400, .. }),
        "{err:?}"
    );
    assert!(err.to_string().len() < 400, "{err}");

    // On the assigned resource type, a 400 is the server refusing the settings' bindings.
    let up = Upstream::documented().await;
    Mock::given(method("GET"))
        .and(path(ART))
        .respond_with(ResponseTemplate::new(400).set_body_string("unknown property Mail2"))
        .with_priority(1)
        .mount(&up.server)
        .await;
    let err = plan(&up.client()).await.unwrap_err();
    assert!(matches!(err, Error::BindingsRefused { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "identity manager refused the bindings of password reset settings 'ToManager' \
         (resource type mapping 10) for assigned resource type 1000: unknown property Mail2"
    );
}
