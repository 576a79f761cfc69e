//! The HTTP client: OAuth2 client credentials, the bearer token cache, `api-version`, paging,
//! retries and one span per request.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{field, instrument};
use url::{Host, Url};

use super::error::Error;
use super::plan::PlanOptions;
use super::route::Route;
use crate::http::{USER_AGENT, excerpt};
use crate::retry::{self, Decision, OperationKind, Outcome, RetryPolicy};

/// The connect timeout used unless the builder sets another.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole-request timeout used unless the builder sets another.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long before `expires_in` a cached token is replaced, at most (half the lifetime for short
/// tokens).
pub const DEFAULT_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// The OAuth2 scope of the Identity Manager API (F12, F13).
pub const SCOPE: &str = "usercube_api";
/// The `api-version` every API call carries (F13).
pub const API_VERSION: &str = "1.0";

/// The largest answer body read; longer ones are cut (and then fail to decode).
const MAX_BODY: usize = 4 * 1024 * 1024;
/// The most pages a list read follows.
const MAX_PAGES: usize = 100;
/// The token lifetime assumed when the token endpoint does not state `expires_in`.
const DEFAULT_EXPIRES_IN: u64 = 300;
/// The longest token lifetime believed (a day), whatever `expires_in` says.
const MAX_EXPIRES_IN: u64 = 86_400;

/// Form-urlencoding that keeps `@` as it is, like the documented token requests
/// (`client_id=Job@localhost`, F13, F16); `@` is a plain data character in a form body.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*')
    .remove(b'@');

/// Builds a [`Client`]: `ApplicationUri`, OpenIdClient id and secret, then optional settings.
#[derive(Debug)]
pub struct ClientBuilder {
    application_uri: String,
    client_id: String,
    client_secret: SecretString,
    client_domain: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    refresh_margin: Duration,
    plan_options: PlanOptions,
}

impl ClientBuilder {
    /// Overrides the domain appended to the client id (`<id>@<domain>`); by default the host of
    /// the `ApplicationUri`, as documented (F12).
    pub fn client_domain(mut self, domain: impl Into<String>) -> Self {
        self.client_domain = Some(domain.into());
        self
    }

    /// How long a connection may take; an unreachable server is reported within it.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one request may take in all.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The retry policy (see [`crate::retry`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long before its expiry a cached token is replaced (at most half its lifetime).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The policy applied by [`Client::plan_notification`].
    pub fn plan_options(mut self, options: PlanOptions) -> Self {
        self.plan_options = options;
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base = Url::parse(self.application_uri.trim())
            .map_err(|e| Error::Config(format!("ApplicationUri is not a URL ({e})")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(
                "ApplicationUri must start with http:// or https://".to_owned(),
            ));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(Error::Config(
                "ApplicationUri must not carry a user name or password".to_owned(),
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::Config(
                "ApplicationUri must not have a query or a fragment".to_owned(),
            ));
        }
        let host = match base.host() {
            Some(Host::Domain(domain)) => domain.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(Error::Config("ApplicationUri has no host".to_owned())),
        };
        let id = self.client_id.trim();
        if id.is_empty() || id.contains('@') || id.chars().any(char::is_control) {
            return Err(Error::Config(
                "the client id must be the OpenIdClient Identifier alone (Passdesk adds '@<host>')"
                    .to_owned(),
            ));
        }
        let domain = self.client_domain.unwrap_or(host);
        if domain.is_empty()
            || domain.contains(['@', '/', ':'])
            || domain.contains(char::is_whitespace)
        {
            return Err(Error::Config(
                "the client domain must be a bare host name".to_owned(),
            ));
        }
        if self.client_secret.expose_secret().is_empty() {
            return Err(Error::Config("the client secret is empty".to_owned()));
        }
        if self.connect_timeout.is_zero() || self.timeout.is_zero() {
            return Err(Error::Config(
                "timeouts must be longer than zero".to_owned(),
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| Error::Config("the HTTP client could not be built".to_owned()))?;
        let shown = base.as_str().trim_end_matches('/').to_owned();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                shown,
                client_id: format!("{id}@{domain}"),
                client_secret: self.client_secret,
                connect_timeout: self.connect_timeout,
                retry: self.retry,
                refresh_margin: self.refresh_margin,
                token: Mutex::new(None),
                token_endpoint: Mutex::new(None),
                generation: AtomicU64::new(0),
                plan_options: self.plan_options,
            }),
        })
    }
}

/// An Identity Manager server API client. Cheap to clone (clones share the token cache).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    base: Url,
    shown: String,
    client_id: String,
    client_secret: SecretString,
    connect_timeout: Duration,
    retry: RetryPolicy,
    refresh_margin: Duration,
    token: Mutex<Option<CachedToken>>,
    token_endpoint: Mutex<Option<Url>>,
    generation: AtomicU64,
    pub(crate) plan_options: PlanOptions,
}

struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
    generation: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("application_uri", &self.inner.shown)
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// One HTTP exchange that got an answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn excerpt(&self) -> String {
        excerpt(&String::from_utf8_lossy(&self.body))
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
    token_type: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
}

#[derive(Deserialize)]
struct Discovery {
    token_endpoint: Option<String>,
}

impl Client {
    /// Starts a builder from the `ApplicationUri`, the OpenIdClient `Identifier` (without
    /// `@host`) and its clear secret.
    pub fn builder(
        application_uri: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> ClientBuilder {
        ClientBuilder {
            application_uri: application_uri.into(),
            client_id: client_id.into(),
            client_secret,
            client_domain: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            refresh_margin: DEFAULT_TOKEN_REFRESH_MARGIN,
            plan_options: PlanOptions::default(),
        }
    }

    /// The `ApplicationUri`, as shown in errors.
    pub fn application_uri(&self) -> &str {
        &self.inner.shown
    }

    /// The `client_id` sent to the token endpoint, `<Identifier>@<host>`.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.inner.base.clone();
        let joined = format!("{}{}", self.inner.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// Reads an API route that answers one object (a bare object, or `{"Result": …}` holding
    /// the object or a one-element list).
    pub(crate) async fn get_one(&self, route: Route, squery: &str) -> Result<Value, Error> {
        let answer = self.get_api(route, &[("squery", squery)]).await?;
        match answer {
            Value::Object(mut object) => match object.remove("Result") {
                None => Ok(Value::Object(object)),
                Some(Value::Object(inner)) => Ok(Value::Object(inner)),
                Some(Value::Array(mut items)) if items.len() <= 1 => {
                    items.pop().ok_or(Error::NotFound {
                        route: route.template(),
                    })
                }
                Some(_) => Err(decode(route, "a Result that is not one object")),
            },
            _ => Err(decode(route, "an answer that is not an object")),
        }
    }

    /// Reads a list route to its end, following `ContinuationToken`s (F13 pagination page).
    pub(crate) async fn get_list(&self, route: Route, squery: &str) -> Result<Vec<Value>, Error> {
        let mut items = Vec::new();
        let mut continuation: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("squery", squery)];
            if let Some(token) = continuation.as_deref() {
                query.push(("ContinuationToken", token));
            }
            let (page, next) = match self.get_api(route, &query).await? {
                Value::Array(page) => (page, None),
                Value::Object(mut object) => {
                    let page = match object.remove("Result") {
                        Some(Value::Array(page)) => page,
                        Some(Value::Null) | None => Vec::new(),
                        Some(_) => return Err(decode(route, "a Result that is not a list")),
                    };
                    let next = match object.remove("ContinuationToken") {
                        Some(Value::String(token)) if !token.is_empty() => Some(token),
                        _ => None,
                    };
                    (page, next)
                }
                _ => {
                    return Err(decode(
                        route,
                        "a list answer that is neither a list nor an object",
                    ));
                }
            };
            items.extend(page);
            match next {
                Some(token) => continuation = Some(token),
                None => return Ok(items),
            }
        }
        Err(decode(route, "more pages than Passdesk follows"))
    }

    /// One API read: bearer, `api-version`, retries; on a 401 the token is refreshed once and
    /// the request sent once more.
    async fn get_api(&self, route: Route, query: &[(&str, &str)]) -> Result<Value, Error> {
        let mut url = self.url(&route.path());
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("api-version", API_VERSION);
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        let mut refreshed = false;
        loop {
            let (authorization, generation) = self.authorization().await?;
            let answer = self
                .execute(route, OperationKind::Read, || {
                    self.inner
                        .http
                        .get(url.clone())
                        .header(header::ACCEPT, "application/json")
                        .header(header::AUTHORIZATION, authorization.clone())
                })
                .await?;
            match answer.status {
                status if status.is_success() => {
                    return serde_json::from_slice(&answer.body)
                        .map_err(|_| decode(route, "an answer that is not JSON"));
                }
                StatusCode::UNAUTHORIZED if !refreshed => {
                    tracing::debug!(route = route.template(), "token refused, refreshing once");
                    self.forget_token(generation).await;
                    refreshed = true;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(Error::Unauthorized {
                        route: route.template(),
                    });
                }
                StatusCode::FORBIDDEN => {
                    return Err(Error::Forbidden {
                        route: route.template(),
                    });
                }
                StatusCode::NOT_FOUND => {
                    return Err(Error::NotFound {
                        route: route.template(),
                    });
                }
                status if status.is_client_error() => {
                    return Err(Error::BadRequest {
                        route: route.template(),
                        status: status.as_u16(),
                        excerpt: answer.excerpt(),
                    });
                }
                status => {
                    return Err(Error::Upstream {
                        route: route.template(),
                        status: status.as_u16(),
                        excerpt: answer.excerpt(),
                    });
                }
            }
        }
    }

    /// The `Authorization` header for the current token, and the token's generation.
    async fn authorization(&self) -> Result<(HeaderValue, u64), Error> {
        let mut slot = self.inner.token.lock().await;
        if let Some(token) = slot.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok((bearer(&token.value)?, token.generation));
            }
        }
        let token = self.fetch_token().await?;
        let header = bearer(&token.value)?;
        let generation = token.generation;
        *slot = Some(token);
        Ok((header, generation))
    }

    /// Drops the cached token if it is still the one of `generation` (another task may have
    /// refreshed it already).
    async fn forget_token(&self, generation: u64) {
        let mut slot = self.inner.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.generation == generation) {
            *slot = None;
        }
    }

    async fn fetch_token(&self) -> Result<CachedToken, Error> {
        let endpoint = self.token_endpoint().await?;
        let route = Route::Token;
        let answer = self
            .execute(route, OperationKind::IdempotentWrite, || {
                self.inner
                    .http
                    .post(endpoint.clone())
                    .header(header::ACCEPT, "application/json")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(self.token_form())
            })
            .await?;
        let status = answer.status;
        if status.is_success() {
            let token: TokenAnswer = serde_json::from_slice(&answer.body)
                .map_err(|_| decode(route, "a token answer without access_token"))?;
            if token
                .token_type
                .as_deref()
                .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
            {
                return Err(decode(route, "a token that is not a bearer token"));
            }
            let lifetime = Duration::from_secs(
                token
                    .expires_in
                    .unwrap_or(DEFAULT_EXPIRES_IN)
                    .min(MAX_EXPIRES_IN),
            );
            let margin = self.inner.refresh_margin.min(lifetime / 2);
            let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::debug!(expires_in = lifetime.as_secs(), "access token obtained");
            return Ok(CachedToken {
                value: SecretString::from(token.access_token),
                refresh_at: Instant::now() + (lifetime - margin),
                generation,
            });
        }
        if matches!(status.as_u16(), 400 | 401 | 403) {
            let code = serde_json::from_slice::<TokenError>(&answer.body)
                .ok()
                .and_then(|e| e.error)
                .filter(|code| {
                    code.len() <= 40 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                });
            return Err(Error::AuthenticationRefused {
                url: self.inner.shown.clone(),
                client_id: self.inner.client_id.clone(),
                reason: code.unwrap_or_else(|| format!("status {}", status.as_u16())),
            });
        }
        Err(Error::Upstream {
            route: route.template(),
            status: status.as_u16(),
            excerpt: answer.excerpt(),
        })
    }

    /// The token endpoint: `token_endpoint` of the discovery document (F12) when it is on the
    /// `ApplicationUri`'s origin, else `<ApplicationUri>/connect/token` (F13). A discovered
    /// endpoint elsewhere is not used: the client secret only ever goes to the configured server.
    async fn token_endpoint(&self) -> Result<Url, Error> {
        let mut slot = self.inner.token_endpoint.lock().await;
        if let Some(endpoint) = slot.as_ref() {
            return Ok(endpoint.clone());
        }
        let fallback = self.url(&Route::Token.path());
        let route = Route::Discovery;
        let url = self.url(&route.path());
        let answer = match self
            .execute(route, OperationKind::Read, || {
                self.inner
                    .http
                    .get(url.clone())
                    .header(header::ACCEPT, "application/json")
            })
            .await
        {
            Ok(answer) => answer,
            Err(e @ (Error::Unreachable { .. } | Error::Timeout { .. })) => return Err(e),
            Err(_) => {
                tracing::debug!("discovery failed, using /connect/token");
                return Ok(fallback);
            }
        };
        if !answer.status.is_success() {
            tracing::debug!(
                status = answer.status.as_u16(),
                "no discovery document, using /connect/token"
            );
            return Ok(fallback);
        }
        let discovered = serde_json::from_slice::<Discovery>(&answer.body)
            .ok()
            .and_then(|d| d.token_endpoint)
            .and_then(|e| Url::parse(&e).ok());
        let endpoint = match discovered {
            Some(endpoint) if same_origin(&endpoint, &self.inner.base) => endpoint,
            Some(_) => {
                tracing::warn!(
                    "the discovery document names a token endpoint on another server; using /connect/token on ApplicationUri"
                );
                fallback
            }
            None => {
                tracing::debug!("discovery document without token_endpoint, using /connect/token");
                fallback
            }
        };
        *slot = Some(endpoint.clone());
        Ok(endpoint)
    }

    /// Sends a request until it gets an answer the caller must judge, retrying as
    /// [`RetryPolicy::decide`] says. A connection that cannot be made is retried only while the
    /// next attempt would start within the connect timeout, so an unreachable server is
    /// reported within it.
    async fn execute(
        &self,
        route: Route,
        kind: OperationKind,
        request: impl Fn() -> RequestBuilder,
    ) -> Result<Answer, Error> {
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let (outcome, answer) = match self.attempt(route, attempt, request()).await {
                Ok(answer) if answer.status == StatusCode::TOO_MANY_REQUESTS => (
                    Outcome::RateLimited {
                        retry_after: retry_after(&answer.headers),
                    },
                    Some(answer),
                ),
                Ok(answer) if answer.status.is_server_error() => (
                    Outcome::ServerError {
                        status: answer.status.as_u16(),
                    },
                    Some(answer),
                ),
                Ok(answer) => return Ok(answer),
                Err(e) if e.is_connect() => (Outcome::NotSent, None),
                Err(_) => (Outcome::LostAfterSend, None),
            };
            let decision = self
                .inner
                .retry
                .decide(kind, outcome, attempt, waited, retry::jitter());
            let give_up = match decision {
                Decision::RetryAfter(delay) => {
                    outcome == Outcome::NotSent
                        && started.elapsed() + delay >= self.inner.connect_timeout
                }
                Decision::GiveUp | Decision::Unknown => true,
            };
            if give_up {
                return Err(self.failure(route, outcome, answer));
            }
            if let Decision::RetryAfter(delay) = decision {
                tokio::time::sleep(delay).await;
                waited += delay;
            }
            attempt += 1;
        }
    }

    fn failure(&self, route: Route, outcome: Outcome, answer: Option<Answer>) -> Error {
        let route = route.template();
        match outcome {
            Outcome::NotSent => Error::Unreachable {
                url: self.inner.shown.clone(),
                connect_timeout: self.inner.connect_timeout,
            },
            Outcome::LostAfterSend => Error::Timeout {
                url: self.inner.shown.clone(),
                route,
            },
            Outcome::RateLimited { retry_after } => Error::RateLimited { route, retry_after },
            Outcome::ServerError { status } => Error::Upstream {
                route,
                status,
                excerpt: answer.map(|a| a.excerpt()).unwrap_or_default(),
            },
        }
    }

    /// One attempt, in its own span (method, route template, attempt, status; never the query,
    /// the body or a credential).
    #[instrument(
        name = "identity_manager.request",
        skip_all,
        fields(
            method = %route.method(),
            route = route.template(),
            attempt = attempt,
            status = field::Empty,
        )
    )]
    async fn attempt(
        &self,
        route: Route,
        attempt: u32,
        request: RequestBuilder,
    ) -> Result<Answer, reqwest::Error> {
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(
                    connect = e.is_connect(),
                    timeout = e.is_timeout(),
                    "no answer"
                );
                return Err(e);
            }
        };
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!("answered");
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// The token request body: the only place the client secret is exposed.
    fn token_form(&self) -> String {
        let fields = [
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
            ("client_id", self.inner.client_id.as_str()),
            ("client_secret", self.inner.client_secret.expose_secret()),
        ];
        fields
            .iter()
            .map(|(key, value)| format!("{key}={}", utf8_percent_encode(value, FORM)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// The `Authorization` header: the only place the access token is exposed.
fn bearer(token: &SecretString) -> Result<HeaderValue, Error> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
            decode(
                Route::Token,
                "an access token that cannot be sent in a header",
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

fn decode(route: Route, what: &str) -> Error {
    Error::Decode {
        route: route.template(),
        message: format!("got {what}"),
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(uri: &str) -> ClientBuilder {
        Client::builder(uri, "Job", SecretString::from("s3cr3t-value"))
    }

    #[test]
    fn client_id_gets_the_host_only() {
        #[rustfmt::skip]
        let table = [
            ("https://usercube.mycompany.com", "Job@usercube.mycompany.com"),
            ("https://identitymanagerserver.contoso.com:5000", "Job@identitymanagerserver.contoso.com"),
            ("http://localhost:5000/", "Job@localhost"),
            ("http://127.0.0.1:8080/usercube/", "Job@127.0.0.1"),
        ];
        for (uri, want) in table {
            assert_eq!(builder(uri).build().unwrap().client_id(), want, "{uri}");
        }
        let custom = builder("http://10.0.0.5:5000")
            .client_domain("usercube.corp")
            .build()
            .unwrap();
        assert_eq!(custom.client_id(), "Job@usercube.corp");
    }

    #[test]
    fn bad_settings_are_refused() {
        for uri in [
            "usercube.corp",
            "ftp://usercube.corp",
            "https://user:pw@usercube.corp",
            "https://usercube.corp/?x=1",
        ] {
            assert!(
                matches!(builder(uri).build(), Err(Error::Config(_))),
                "{uri}"
            );
        }
        let with_host = Client::builder(
            "https://a.example",
            "Job@a.example",
            SecretString::from("x"),
        );
        assert!(matches!(with_host.build(), Err(Error::Config(_))));
        let empty = Client::builder("https://a.example", "Job", SecretString::from(""));
        assert!(matches!(empty.build(), Err(Error::Config(_))));
    }

    #[test]
    fn debug_hides_the_secret() {
        let b = builder("https://a.example");
        assert!(!format!("{b:?}").contains("s3cr3t-value"));
        let client = b.build().unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("Job@a.example"));
    }

    #[test]
    fn token_form_is_encoded_but_keeps_the_at_sign() {
        let client = Client::builder("https://a.example", "Job", SecretString::from("a b&c=d+é"))
            .build()
            .unwrap();
        assert_eq!(
            client.token_form(),
            "grant_type=client_credentials&scope=usercube_api&client_id=Job@a.example&client_secret=a%20b%26c%3Dd%2B%C3%A9"
        );
    }

    #[test]
    fn urls_keep_a_path_prefix() {
        let client = builder("https://a.example/usercube/").build().unwrap();
        assert_eq!(
            client.url("/connect/token").as_str(),
            "https://a.example/usercube/connect/token"
        );
    }
}
