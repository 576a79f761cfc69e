//! Identity Manager simulator: the server routes a password notification needs, on `127.0.0.1`.
//!
//! | route | documented by | simulated |
//! |---|---|---|
//! | `GET /.well-known/openid-configuration` | `docs/identitymanager/6.2/integration-guide/api/authentication/index.md` (F12) | `issuer`, `token_endpoint` (`/connect/token`), grant types and scopes |
//! | `POST /connect/token` | `…/api/request-postman/index.md` (F13), OpenIdClient `HashedSecret` (F7) | form `grant_type=client_credentials`, `scope=usercube_api`, `client_id=<Identifier>@<domain>`, `client_secret`; secrets checked as Base64(SHA-256(secret)); expired clients refused; errors as `{"error": "invalid_client"}` etc. with 400 (IdentityServer's way) |
//! | `GET /api/Connectors/Mapping/ResourceTypeMapping[/{id}]` | `docs/identitymanager/6.1/integration-guide/api/server/connectors/index.md` (F14) | attributes `Id`, `Identifier`, `ConnectionId`, `PasswordResetSettingId` (inferred name) |
//! | `GET /api/Connectors/Mapping/PasswordResetSetting` | same (F14), attributes from the `PasswordResetSettings` page (F4) | a list, XML attribute names, bindings as path strings (inferred) |
//! | `GET /api/ProvisioningPolicy/AssignedResourceType[/{id}]` | `…/api/server/provisioningpolicy/index.md` (F15) | `Id`, `RoleId` (the resource type, as in customer scripts), `OwnerId`, `OwnerType`, navigation `Owner` |
//!
//! Every `/api` route needs `api-version` (400 as ASP.NET API versioning answers without it)
//! and a live bearer token (401 otherwise); list routes take `squery`, `PageSize` and
//! `ContinuationToken` and answer `{"Result": [...], "ContinuationToken": "…"}`; by-id routes
//! answer the object. `squery` is parsed and checked against the entity model ([`squery`],
//! [`model`]): a binding the model does not know is a 400.
//!
//! **The domain.** The sim is reached at `http://127.0.0.1:<port>`, so the `client_id` it
//! accepts is `<Identifier>@127.0.0.1` (the host of its `ApplicationUri`, no port), unless
//! [`SimConfig::domain`] says otherwise.
//!
//! Knobs: [`IdentityManagerSim::set_latency`], [`IdentityManagerSim::set_token_lifetime`],
//! [`IdentityManagerSim::fail_next`], [`IdentityManagerSim::expire_tokens`],
//! [`IdentityManagerSim::set_page_size`], [`IdentityManagerSim::stop`]; the record:
//! [`IdentityManagerSim::requests`]. The sim logs no secret, token or query.

pub mod model;
pub mod seed;
pub mod squery;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use model::{EntityRef, Model};

/// The scope the token endpoint grants.
pub const SCOPE: &str = "usercube_api";
/// The API version the routes serve.
pub const API_VERSION: &str = "1.0";
/// The page size of list routes unless `PageSize` or the knob says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page a list route answers.
pub const MAX_PAGE_SIZE: usize = 1000;

/// A simulated route, for the failure knob and the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SimRoute {
    /// `GET /.well-known/openid-configuration`.
    Discovery,
    /// `POST /connect/token`.
    Token,
    /// `GET /api/Connectors/Mapping/ResourceTypeMapping[/{id}]`.
    ResourceTypeMapping,
    /// `GET /api/Connectors/Mapping/PasswordResetSetting`.
    PasswordResetSetting,
    /// `GET /api/ProvisioningPolicy/AssignedResourceType[/{id}]`.
    AssignedResourceType,
    /// Anything else.
    Other,
}

impl SimRoute {
    fn of(path: &str) -> Self {
        let path = path.trim_end_matches('/');
        let lower = path.to_ascii_lowercase();
        if lower == "/.well-known/openid-configuration" {
            Self::Discovery
        } else if lower == "/connect/token" {
            Self::Token
        } else if lower.starts_with("/api/connectors/mapping/resourcetypemapping") {
            Self::ResourceTypeMapping
        } else if lower.starts_with("/api/connectors/mapping/passwordresetsetting") {
            Self::PasswordResetSetting
        } else if lower.starts_with("/api/provisioningpolicy/assignedresourcetype") {
            Self::AssignedResourceType
        } else {
            Self::Other
        }
    }
}

/// One request the sim received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string, if any (never holds a secret: the token form is a body).
    pub query: Option<String>,
    /// Which route it hit.
    pub route: SimRoute,
    /// Whether an `Authorization: Bearer` header was present.
    pub bearer: bool,
    /// The status answered.
    pub status: u16,
}

impl RecordedRequest {
    /// The decoded value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// An OpenIdClient as configured (F7): `Identifier`, `HashedSecret`, optional expiry.
#[derive(Debug, Clone)]
pub struct OpenIdClient {
    /// `Identifier`.
    pub identifier: String,
    /// `HashedSecret`: Base64(SHA-256(secret)).
    pub hashed_secret: String,
    /// `ExpirationDate`: the client is unusable after it.
    pub expiration: Option<chrono::DateTime<chrono::Utc>>,
}

impl OpenIdClient {
    /// A client with a clear secret, hashed here.
    pub fn new(identifier: &str, secret: &str) -> Self {
        Self {
            identifier: identifier.to_owned(),
            hashed_secret: seed::hashed_secret(secret),
            expiration: None,
        }
    }
}

/// How to start the sim.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The domain expected after `@` in `client_id`; `127.0.0.1` by default.
    pub domain: String,
    /// The token lifetime (`expires_in`); one hour by default.
    pub token_lifetime: Duration,
    /// The registered clients; by default `Job`/`secret` (documented), `Passdesk` and an
    /// expired `Retired` (see [`seed`]).
    pub clients: Vec<OpenIdClient>,
    /// The data; [`seed::model`] by default.
    pub model: Model,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            domain: "127.0.0.1".to_owned(),
            token_lifetime: Duration::from_secs(3600),
            clients: vec![
                OpenIdClient {
                    identifier: seed::DOC_CLIENT_ID.to_owned(),
                    hashed_secret: seed::DOC_HASHED_SECRET.to_owned(),
                    expiration: None,
                },
                OpenIdClient::new(seed::CLIENT_ID, seed::CLIENT_SECRET),
                OpenIdClient {
                    expiration: chrono::DateTime::from_timestamp(1_577_836_800, 0),
                    ..OpenIdClient::new(seed::EXPIRED_CLIENT_ID, seed::EXPIRED_CLIENT_SECRET)
                },
            ],
            model: seed::model(),
        }
    }
}

struct IssuedToken {
    expires_at: Instant,
}

struct Inner {
    domain: String,
    base_url: String,
    token_lifetime: Duration,
    latency: Duration,
    page_size: usize,
    clients: Vec<OpenIdClient>,
    tokens: HashMap<String, IssuedToken>,
    tokens_issued: usize,
    failures: HashMap<SimRoute, (u16, u32)>,
    requests: Vec<RecordedRequest>,
    model: Model,
}

#[derive(Clone)]
struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Identity Manager simulator.
pub struct IdentityManagerSim {
    addr: SocketAddr,
    shared: Shared,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl IdentityManagerSim {
    /// Starts the seeded sim on `127.0.0.1` with a random port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(SimConfig::default()).await
    }

    /// Starts a sim with the given configuration.
    pub async fn start_with(config: SimConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Shared(Arc::new(Mutex::new(Inner {
            domain: config.domain,
            base_url: format!("http://{addr}"),
            token_lifetime: config.token_lifetime,
            latency: Duration::ZERO,
            page_size: DEFAULT_PAGE_SIZE,
            clients: config.clients,
            tokens: HashMap::new(),
            tokens_issued: 0,
            failures: HashMap::new(),
            requests: Vec::new(),
            model: config.model,
        })));
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if serve.await.is_err() {
                tracing::warn!("identity manager sim stopped with an error");
            }
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
        })
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `ApplicationUri` to give a client: `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The domain expected after `@` in `client_id`.
    pub fn domain(&self) -> String {
        self.shared.lock().domain.clone()
    }

    /// Delays every answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// The lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().token_lifetime = lifetime;
    }

    /// The default page size of list routes.
    pub fn set_page_size(&self, size: usize) {
        self.shared.lock().page_size = size.clamp(1, MAX_PAGE_SIZE);
    }

    /// Answers the next `times` requests to `route` with `status` (a `429` carries
    /// `Retry-After: 0`).
    pub fn fail_next(&self, route: SimRoute, status: u16, times: u32) {
        self.shared.lock().failures.insert(route, (status, times));
    }

    /// Makes every token issued so far expired (as if their lifetime had passed).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for token in self.shared.lock().tokens.values_mut() {
            token.expires_at = now;
        }
    }

    /// How many tokens were issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.lock().tokens_issued
    }

    /// Registers another OpenIdClient.
    pub fn register_client(&self, client: OpenIdClient) {
        self.shared.lock().clients.push(client);
    }

    /// Changes the data.
    pub fn with_model<T>(&self, change: impl FnOnce(&mut Model) -> T) -> T {
        change(&mut self.shared.lock().model)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Stops the server: from then on the port refuses connections.
    pub async fn stop(&self) {
        let tx = self
            .shutdown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut task) = task {
            // Idle keep-alive connections close at once; give busy ones a moment.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for IdentityManagerSim {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/connect/token", post(token))
        .route(
            "/api/Connectors/Mapping/ResourceTypeMapping",
            get(|s: State<Shared>, q: RawQuery| list(s, q, "ResourceTypeMapping")),
        )
        .route(
            "/api/Connectors/Mapping/ResourceTypeMapping/{id}",
            get(|s: State<Shared>, p: Path<String>, q: RawQuery| {
                one(s, p, q, "ResourceTypeMapping")
            }),
        )
        .route(
            "/api/Connectors/Mapping/PasswordResetSetting",
            get(|s: State<Shared>, q: RawQuery| list(s, q, "PasswordResetSetting")),
        )
        .route(
            "/api/ProvisioningPolicy/AssignedResourceType",
            get(|s: State<Shared>, q: RawQuery| list(s, q, "AssignedResourceType")),
        )
        .route(
            "/api/ProvisioningPolicy/AssignedResourceType/{id}",
            get(|s: State<Shared>, p: Path<String>, q: RawQuery| {
                one(s, p, q, "AssignedResourceType")
            }),
        )
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "no such route") })
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

fn problem(status: StatusCode, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        })),
    )
        .into_response()
}

fn oauth_error(code: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": code })),
    )
        .into_response()
}

/// Latency, injected failures, `api-version`, bearer check and the record, for every request.
async fn gate(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let route = SimRoute::of(&path);
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let latency = shared.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = check(
        &shared,
        route,
        &path,
        query.as_deref(),
        bearer.as_deref(),
        &method,
    );
    let response = match response {
        Some(refusal) => refusal,
        None => next.run(request).await,
    };
    shared.lock().requests.push(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        route,
        bearer: bearer.is_some(),
        status: response.status().as_u16(),
    });
    response
}

fn check(
    shared: &Shared,
    route: SimRoute,
    path: &str,
    query: Option<&str>,
    bearer: Option<&str>,
    method: &Method,
) -> Option<Response> {
    let mut inner = shared.lock();
    if let Some((status, left)) = inner.failures.get_mut(&route) {
        if *left > 0 {
            *left -= 1;
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = problem(status, "injected failure");
            if status == StatusCode::TOO_MANY_REQUESTS {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
            }
            return Some(response);
        }
    }
    if !path.to_ascii_lowercase().starts_with("/api/") {
        return None;
    }
    let version = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
            .map(|(_, v)| v.into_owned())
    });
    match version.as_deref() {
        None => {
            return Some(
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": {
                        "code": "ApiVersionUnspecified",
                        "message": "An API version is required, but was not specified.",
                    }})),
                )
                    .into_response(),
            );
        }
        Some(API_VERSION) => {}
        Some(other) => {
            let shown: String = other.chars().take(20).collect();
            return Some(
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": {
                        "code": "UnsupportedApiVersion",
                        "message": format!(
                            "The HTTP resource that matches the request URI '{}{path}' does not support the API version '{shown}'.",
                            inner.base_url
                        ),
                    }})),
                )
                    .into_response(),
            );
        }
    }
    let now = Instant::now();
    let live = bearer
        .and_then(|token| inner.tokens.get(token))
        .is_some_and(|t| t.expires_at > now);
    if !live {
        let challenge = if bearer.is_some() {
            "Bearer error=\"invalid_token\""
        } else {
            "Bearer"
        };
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        return Some(response);
    }
    if method != Method::GET {
        return Some(problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only simulator",
        ));
    }
    None
}

async fn discovery(State(shared): State<Shared>) -> Response {
    let base = shared.lock().base_url.clone();
    axum::Json(json!({
        "issuer": base,
        "jwks_uri": format!("{base}/.well-known/openid-configuration/jwks"),
        "authorization_endpoint": format!("{base}/connect/authorize"),
        "token_endpoint": format!("{base}/connect/token"),
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "scopes_supported": ["openid", "profile", SCOPE],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }))
    .into_response()
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return oauth_error("invalid_request");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("grant_type") != Some("client_credentials") {
        return oauth_error("unsupported_grant_type");
    }
    let mut inner = shared.lock();
    let Some((identifier, domain)) = field("client_id").and_then(|id| id.rsplit_once('@')) else {
        return oauth_error("invalid_client");
    };
    if !domain.eq_ignore_ascii_case(&inner.domain) {
        return oauth_error("invalid_client");
    }
    let Some(client) = inner.clients.iter().find(|c| c.identifier == identifier) else {
        return oauth_error("invalid_client");
    };
    let secret_ok = field("client_secret")
        .is_some_and(|secret| seed::hashed_secret(secret) == client.hashed_secret);
    let expired = client.expiration.is_some_and(|at| at <= chrono::Utc::now());
    if !secret_ok || expired {
        return oauth_error("invalid_client");
    }
    let scopes: Vec<&str> = field("scope").unwrap_or_default().split(' ').collect();
    if !scopes.contains(&SCOPE) || scopes.iter().any(|s| !s.is_empty() && *s != SCOPE) {
        return oauth_error("invalid_scope");
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let lifetime = inner.token_lifetime;
    inner.tokens.insert(
        token.clone(),
        IssuedToken {
            expires_at: Instant::now() + lifetime,
        },
    );
    inner.tokens_issued += 1;
    let mut response = axum::Json(json!({
        "access_token": token,
        "expires_in": lifetime.as_secs(),
        "token_type": "Bearer",
        "scope": SCOPE,
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn query_params(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

/// The request's `squery`, parsed and checked against the model; the error is the 400's detail.
fn parsed_query(
    model: &Model,
    entity_type: &str,
    params: &HashMap<String, String>,
) -> Result<squery::Query, String> {
    let text = params.get("squery").map(String::as_str).unwrap_or_default();
    let query = squery::parse(text).map_err(|e| e.to_string())?;
    squery::check(model, entity_type, &query).map_err(|e| e.to_string())?;
    Ok(query)
}

async fn list(
    State(shared): State<Shared>,
    RawQuery(raw): RawQuery,
    entity_type: &'static str,
) -> Response {
    let params = query_params(raw.as_deref());
    let inner = shared.lock();
    let query = match parsed_query(&inner.model, entity_type, &params) {
        Ok(q) => q,
        Err(detail) => return problem(StatusCode::BAD_REQUEST, &detail),
    };
    let size = match params.get("pagesize") {
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "PageSize must be a positive integer",
                );
            }
        },
        None => query
            .page_size
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(inner.page_size),
    }
    .min(MAX_PAGE_SIZE);
    let offset = match params.get("continuationtoken").map(String::as_str) {
        None | Some("") => 0,
        Some(token) => match token.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(offset) => offset,
            None => return problem(StatusCode::BAD_REQUEST, "invalid ContinuationToken"),
        },
    };
    let roots: Vec<EntityRef> = inner
        .model
        .ids_of(entity_type)
        .into_iter()
        .map(|id| EntityRef::new(entity_type, id))
        .collect();
    let all = squery::evaluate(&inner.model, &roots, &query);
    let page: Vec<Value> = all.iter().skip(offset).take(size).cloned().collect();
    let mut answer = json!({ "Result": page });
    if offset + size < all.len() {
        answer["ContinuationToken"] = Value::String(format!("page-{}", offset + size));
    }
    axum::Json(answer).into_response()
}

async fn one(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    entity_type: &'static str,
) -> Response {
    let params = query_params(raw.as_deref());
    let Ok(id) = id.parse::<i64>() else {
        return problem(StatusCode::NOT_FOUND, "no such route");
    };
    let inner = shared.lock();
    let query = match parsed_query(&inner.model, entity_type, &params) {
        Ok(q) => q,
        Err(detail) => return problem(StatusCode::BAD_REQUEST, &detail),
    };
    let root = EntityRef::new(entity_type, id);
    if inner.model.get(&root).is_none() {
        return problem(
            StatusCode::NOT_FOUND,
            &format!("{entity_type} {id} not found"),
        );
    }
    match squery::evaluate(&inner.model, &[root], &query).pop() {
        Some(found) => axum::Json(found).into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            &format!("{entity_type} {id} not found"),
        ),
    }
}
