//! The JumpCloud client: builder, request loop with retries, and the operations.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::{Span, field, instrument};

use super::error::{Error, Result, classify};
use super::paging::{Paging, Step};
use super::route::{PAGE_SIZE, Route};
use super::types::{
    ExpireOutcome, GroupMemberUsers, GroupName, InvalidValue, OrgId, ResetEmailKind,
    ResetEmailSent, SystemUser, UserGroup, UserId, UserQuery, Username,
};
use super::wire::{self, WireConnection, WireGroup, WireUser, WireUserList, WireUsernameList};
use crate::http::{USER_AGENT, excerpt};
use crate::retry::{self, Decision, OperationKind, Outcome, RetryPolicy};

/// How many member look-ups [`JumpCloudClient::group_member_users`] runs at once.
const MEMBER_CONCURRENCY: usize = 8;

/// How many pages of 100 groups whose name merely contains the prefix
/// [`JumpCloudClient::group_names_starting_with`] reads at most before settling for what it has.
const GROUP_PREFIX_PAGES: u64 = 3;

/// The JumpCloud console host for a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Region {
    /// `https://console.jumpcloud.com` (US, the default).
    #[default]
    Us,
    /// `https://console.eu.jumpcloud.com`.
    Eu,
    /// `https://console.in.jumpcloud.com`.
    India,
}

impl Region {
    /// The region's base URL (the API lives under `/api` and `/api/v2`).
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Us => "https://console.jumpcloud.com",
            Self::Eu => "https://console.eu.jumpcloud.com",
            Self::India => "https://console.in.jumpcloud.com",
        }
    }
}

/// Settings for a [`JumpCloudClient`]; start with [`JumpCloudClient::builder`].
///
/// `Debug` shows everything but the key.
#[derive(Debug, Clone)]
pub struct JumpCloudClientBuilder {
    api_key: SecretString,
    base_url: String,
    org_id: Option<OrgId>,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
}

impl JumpCloudClientBuilder {
    /// The console base URL, e.g. `https://console.eu.jumpcloud.com` (default: [`Region::Us`]).
    /// Must be `https`, or `http` to a loopback address (tests, the simulator).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The console host of a region.
    pub fn region(self, region: Region) -> Self {
        self.base_url(region.base_url())
    }

    /// The organisation sent as `x-org-id` (needed with a multi-organisation key).
    pub fn org_id(mut self, org_id: OrgId) -> Self {
        self.org_id = Some(org_id);
        self
    }

    /// The whole-request timeout, per attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The connection timeout, per attempt (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<JumpCloudClient> {
        let base_url = check_base_url(&self.base_url)?;
        let headers = default_headers(&self.api_key, self.org_id.as_ref())?;
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            // A redirect would carry `x-api-key` to wherever it points: refuse to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::transport)?;
        Ok(JumpCloudClient {
            http,
            base_url,
            org_id: self.org_id,
            retry: self.retry,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
        })
    }
}

/// The base URL without a trailing slash, or why it is refused.
fn check_base_url(raw: &str) -> Result<String> {
    const WHAT: &str = "jumpcloud base url";
    let url = url::Url::parse(raw).map_err(|e| InvalidValue::new(WHAT, e.to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(InvalidValue::new(
                WHAT,
                "use https (plain http is only allowed to a loopback address)",
            )
            .into());
        }
    }
    if url.host().is_none() {
        return Err(InvalidValue::new(WHAT, "it has no host").into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InvalidValue::new(WHAT, "it must not contain credentials").into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(InvalidValue::new(WHAT, "it must not have a query or fragment").into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The headers every request carries. The one place the API key is exposed; its header value is
/// marked sensitive so `Debug` output and HTTP/2 header compression leave it out.
fn default_headers(api_key: &SecretString, org_id: Option<&OrgId>) -> Result<HeaderMap> {
    let key = api_key.expose_secret();
    if key.trim().is_empty() {
        return Err(InvalidValue::new("api key", "it is empty").into());
    }
    let mut key = HeaderValue::from_str(key).map_err(|_| {
        InvalidValue::new(
            "api key",
            "it contains characters not allowed in an HTTP header",
        )
    })?;
    key.set_sensitive(true);

    let mut headers = HeaderMap::new();
    headers.insert(HeaderName::from_static("x-api-key"), key);
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        reqwest::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    if let Some(org) = org_id {
        let value = HeaderValue::from_str(org.as_str())
            .map_err(|_| InvalidValue::new("organisation id", "not a valid header value"))?;
        headers.insert(HeaderName::from_static("x-org-id"), value);
    }
    Ok(headers)
}

/// Parses `Retry-After`: delay-seconds, or an HTTP-date (IMF-fixdate or the obsolete RFC 850
/// and asctime forms) measured from `now`. A date in the past means "now"; anything else is
/// `None` (the client then backs off on its own).
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT")
                .map(|d| d.and_utc())
        })
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(value, "%a %b %e %H:%M:%S %Y")
                .map(|d| d.and_utc())
        })
        .ok()?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// A JumpCloud console API client (v1 `/api`, v2 `/api/v2`).
///
/// Cheap to clone (the connection pool is shared). Every request carries `x-api-key`,
/// `Accept` and `Content-Type: application/json`, `User-Agent: passdesk/<version>` and, when
/// configured, `x-org-id`; retries follow [`RetryPolicy::decide`]; each upstream call is one
/// `tracing` span with its method, route template, status, attempt and latency.
#[derive(Clone)]
pub struct JumpCloudClient {
    http: reqwest::Client,
    base_url: String,
    org_id: Option<OrgId>,
    retry: RetryPolicy,
    connect_timeout: Duration,
    timeout: Duration,
}

impl fmt::Debug for JumpCloudClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JumpCloudClient")
            .field("base_url", &self.base_url)
            .field("org_id", &self.org_id)
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One successful answer.
struct Answer {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// The last failed attempt, kept to build the error when the policy gives up.
enum Failure {
    RateLimited(Option<Duration>),
    Server { status: u16, excerpt: String },
    Transport(reqwest::Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Self::RateLimited(retry_after) => Error::RateLimited { retry_after },
            Self::Server { status, excerpt } => Error::Upstream { status, excerpt },
            Self::Transport(e) if e.is_timeout() => Error::Timeout,
            Self::Transport(e) => Error::transport(e),
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            Self::RateLimited(_) => Some(429),
            Self::Server { status, .. } => Some(*status),
            Self::Transport(_) => None,
        }
    }
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::decode(format!("{what}: {e}")))
}

fn total_count_header(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-total-count")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl JumpCloudClient {
    /// Starts a builder with the API key and defaults: [`Region::Us`], no organisation id,
    /// 10 s connect and 30 s request timeouts, [`RetryPolicy::default`].
    pub fn builder(api_key: SecretString) -> JumpCloudClientBuilder {
        JumpCloudClientBuilder {
            api_key,
            base_url: Region::Us.base_url().to_owned(),
            org_id: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The organisation sent as `x-org-id`, if any.
    pub fn org_id(&self) -> Option<&OrgId> {
        self.org_id.as_ref()
    }

    /// Sends one request, retrying as the policy says; returns the 2xx answer or the error.
    /// `what` names the resource for a `404`.
    #[instrument(name = "jumpcloud.request", skip_all, fields(
        method = %route.method(),
        route = route.template(),
        status = field::Empty,
        attempt = field::Empty,
        latency_ms = field::Empty,
    ))]
    async fn send(
        &self,
        route: Route<'_>,
        kind: OperationKind,
        body: Option<&Value>,
        what: impl FnOnce() -> String,
    ) -> Result<Answer> {
        let started = Instant::now();
        let result = self.attempts(route, kind, body, what).await;
        let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Span::current().record("latency_ms", latency);
        if let Err(e) = &result {
            tracing::debug!(error = %e, "jumpcloud request failed");
        }
        result
    }

    async fn attempts(
        &self,
        route: Route<'_>,
        kind: OperationKind,
        body: Option<&Value>,
        what: impl FnOnce() -> String,
    ) -> Result<Answer> {
        let span = Span::current();
        let url = format!("{}{}", self.base_url, route.path_and_query());
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::decode(format!("request body: {e}")))?;
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            let mut request = self.http.request(route.method(), &url);
            if let Some(bytes) = &body {
                request = request.body(bytes.clone());
            }
            let (outcome, failure) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    span.record("status", status.as_u16());
                    if status.is_success() {
                        if kind != OperationKind::Read {
                            // Writes: any 2xx is success and the body is not part of the contract.
                            return Ok(Answer {
                                headers: response.headers().clone(),
                                body: Vec::new(),
                            });
                        }
                        let headers = response.headers().clone();
                        match response.bytes().await {
                            Ok(bytes) => {
                                return Ok(Answer {
                                    headers,
                                    body: bytes.to_vec(),
                                });
                            }
                            Err(e) => (Outcome::LostAfterSend, Failure::Transport(e)),
                        }
                    } else if status == StatusCode::TOO_MANY_REQUESTS {
                        let retry_after = response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, Utc::now()));
                        (
                            Outcome::RateLimited { retry_after },
                            Failure::RateLimited(retry_after),
                        )
                    } else if status.is_server_error() {
                        let body = response.bytes().await.unwrap_or_default();
                        (
                            Outcome::ServerError {
                                status: status.as_u16(),
                            },
                            Failure::Server {
                                status: status.as_u16(),
                                excerpt: excerpt(&wire::error_message(&body)),
                            },
                        )
                    } else {
                        let body = response.bytes().await.unwrap_or_default();
                        return Err(classify(
                            status.as_u16(),
                            &body,
                            self.org_id.is_some(),
                            route.names_a_resource(),
                            what,
                        ));
                    }
                }
                Err(e) if e.is_connect() => (Outcome::NotSent, Failure::Transport(e)),
                Err(e) => (Outcome::LostAfterSend, Failure::Transport(e)),
            };
            match self
                .retry
                .decide(kind, outcome, attempt, waited, retry::jitter())
            {
                Decision::RetryAfter(delay) => {
                    tracing::debug!(
                        attempt,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        outcome = ?outcome,
                        "retrying jumpcloud request"
                    );
                    tokio::time::sleep(delay).await;
                    waited = waited.saturating_add(delay);
                }
                Decision::GiveUp => return Err(failure.into_error()),
                Decision::Unknown => {
                    return Err(Error::SentButUnknown {
                        status: failure.status(),
                    });
                }
            }
        }
    }

    /// Pages `POST /api/search/systemusers` to completion with `filter` (no filter: every user),
    /// 100 a page, sorted by `_id`, de-duplicated by id.
    async fn search_users(&self, filter: Option<&Value>) -> Result<Vec<SystemUser>> {
        let mut paging = Paging::default();
        let mut seen = HashSet::new();
        let mut users = Vec::new();
        loop {
            let body = wire::search_body(filter, PAGE_SIZE, paging.skip());
            let answer = self
                .send(Route::SearchUsers, OperationKind::Read, Some(&body), || {
                    "users".to_owned()
                })
                .await?;
            let page: WireUserList = decode(&answer.body, "user search")?;
            let len = page.results.len();
            for raw in page.results {
                let user = raw.into_user().map_err(Error::decode)?;
                if seen.insert(user.id.clone()) {
                    users.push(user);
                }
            }
            match paging.advance(len, users.len(), page.total_count) {
                Step::Fetch { .. } => {}
                Step::Done => break,
                Step::Runaway { pages } => return Err(Error::Pagination { pages }),
            }
        }
        if let Some(total) = paging.total().filter(|&t| t != users.len() as u64) {
            tracing::warn!(
                total,
                collected = users.len(),
                "user search ended with a different count than announced"
            );
        }
        Ok(users)
    }

    /// One user by id: `GET /api/systemusers/{id}`. A `404` is [`Error::NotFound`].
    #[instrument(name = "jumpcloud.user_by_id", skip_all, fields(user_id = %id))]
    pub async fn user_by_id(&self, id: &UserId) -> Result<SystemUser> {
        let answer = self
            .send(Route::GetUser { id }, OperationKind::Read, None, || {
                format!("user {id}")
            })
            .await?;
        let user = decode::<WireUser>(&answer.body, "user")?
            .into_user()
            .map_err(Error::decode)?;
        if &user.id != id {
            return Err(Error::decode("the user returned is not the one asked for"));
        }
        Ok(user)
    }

    /// One user by username, matched exactly but case-insensitively, like `Send-JCPasswordReset
    /// -username` (PowerShell `-contains`).
    ///
    /// Sends `POST /api/search/systemusers` with
    /// `{"filter":{"and":[{"username":{"$regex":"(?i)^<escaped>$"}}]}, …}`. A JSON equality filter
    /// would be safer still but is case-sensitive on the server, so the anchored case-insensitive
    /// regex is used, with every regex metacharacter escaped (the [`Username`] alphabet already
    /// excludes them; the escaping is a second wall). Every hit is then re-checked here with
    /// ASCII case-insensitive equality, so whatever the server's regex does, only an exact match
    /// counts: none is [`Error::NotFound`], more than one (e.g. `jdoe` and `JDoe`) is
    /// [`Error::Ambiguous`] — never a guess.
    #[instrument(name = "jumpcloud.user_by_username", skip_all, fields(username = %name))]
    pub async fn user_by_username(&self, name: &Username) -> Result<SystemUser> {
        let filter = wire::username_filter(name);
        let mut hits: Vec<SystemUser> = self
            .search_users(Some(&filter))
            .await?
            .into_iter()
            .filter(|u| u.username.eq_ignore_ascii_case(name.as_str()))
            .collect();
        match hits.len() {
            0 => Err(Error::NotFound {
                what: format!("user named {name}"),
            }),
            1 => Ok(hits.remove(0)),
            count => Err(Error::Ambiguous {
                what: format!("username {name}"),
                count,
            }),
        }
    }

    /// Every user matching `query`, paged to completion (`POST /api/search/systemusers`, 100 a
    /// page, `"sort":"_id"`); an empty query lists every user.
    #[instrument(name = "jumpcloud.users", skip_all)]
    pub async fn users(&self, query: &UserQuery) -> Result<Vec<SystemUser>> {
        let filter = wire::query_filter(query);
        self.search_users(filter.as_ref()).await
    }

    /// Users who have not activated their account (no password yet), optionally only those
    /// created strictly after `created_after`; the list `Get-JCUser -activated $false` gives.
    pub async fn users_not_activated(
        &self,
        created_after: Option<DateTime<Utc>>,
    ) -> Result<Vec<SystemUser>> {
        self.users(&UserQuery {
            activated: Some(false),
            created_after,
            created_before: None,
        })
        .await
    }

    /// One user group by exact, case-sensitive name.
    ///
    /// Sends `GET /api/v2/usergroups?filter=name:eq:<percent-encoded>&limit=100&skip=N&sort=name`
    /// (paged) and keeps only groups whose name equals `name` exactly. Case-sensitive because the
    /// v2 filter is, and so is `Get-JCGroup -Name`; a case-insensitive rule could only be kept by
    /// listing every group. The client-side check also discards anything the filter's wildcard
    /// support let through. None is [`Error::NotFound`], more than one [`Error::Ambiguous`].
    #[instrument(name = "jumpcloud.group_by_name", skip_all, fields(group = %name))]
    pub async fn group_by_name(&self, name: &GroupName) -> Result<UserGroup> {
        let mut paging = Paging::default();
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        loop {
            let route = Route::UserGroupsByName {
                name,
                skip: paging.skip(),
            };
            let answer = self
                .send(route, OperationKind::Read, None, || {
                    format!("user group \"{name}\"")
                })
                .await?;
            let page: Vec<WireGroup> = decode(&answer.body, "user group list")?;
            let len = page.len();
            for raw in page {
                let group = raw.into_group().map_err(Error::decode)?;
                if seen.insert(group.id.clone()) && group.name == name.as_str() {
                    hits.push(group);
                }
            }
            match paging.advance(len, seen.len(), total_count_header(&answer.headers)) {
                Step::Fetch { .. } => {}
                Step::Done => break,
                Step::Runaway { pages } => return Err(Error::Pagination { pages }),
            }
        }
        match hits.len() {
            0 => Err(Error::NotFound {
                what: format!("user group \"{name}\""),
            }),
            1 => Ok(hits.remove(0)),
            count => Err(Error::Ambiguous {
                what: format!("user group name \"{name}\""),
                count,
            }),
        }
    }

    /// The most names the prefix look-ups return (Discord's limit on autocomplete choices).
    pub const MAX_PREFIX_RESULTS: usize = 25;

    /// Up to `limit` (at most [`Self::MAX_PREFIX_RESULTS`]) usernames starting with `prefix`,
    /// ASCII case-insensitively, in JumpCloud's username order; for autocomplete. Read-only.
    ///
    /// `prefix` is a partial username and must fit the [`Username`] alphabet (a letter first,
    /// then letters, digits, `.`, `-`, `_`), else [`Error::InvalidInput`] and nothing is sent.
    /// An empty prefix gives the first users by username. Sends one
    /// `POST /api/search/systemusers` with
    /// `{"filter":{"and":[{"username":{"$regex":"(?i)^<escaped>"}}]},"fields":"username",
    /// "limit":N,"skip":0,"sort":"username"}`, every regex metacharacter escaped as in
    /// [`Self::user_by_username`]; each hit is re-checked here, so only real prefix matches come
    /// back, without duplicates.
    #[instrument(name = "jumpcloud.usernames_starting_with", skip_all, fields(limit = limit))]
    pub async fn usernames_starting_with(&self, prefix: &str, limit: usize) -> Result<Vec<String>> {
        let limit = limit.min(Self::MAX_PREFIX_RESULTS);
        let prefix = match prefix {
            "" => None,
            text => Some(text.parse::<Username>()?),
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = prefix.as_ref().map(wire::username_prefix_filter);
        let body = wire::username_prefix_body(filter.as_ref(), limit as u64);
        let answer = self
            .send(Route::SearchUsers, OperationKind::Read, Some(&body), || {
                "users".to_owned()
            })
            .await?;
        let page: WireUsernameList = decode(&answer.body, "username search")?;
        let wanted = prefix.as_ref().map_or("", Username::as_str);
        let mut names: Vec<String> = Vec::with_capacity(limit);
        for name in page.results.into_iter().filter_map(|u| u.username) {
            let matches = name
                .get(..wanted.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(wanted));
            if matches && !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
            if names.len() == limit {
                break;
            }
        }
        Ok(names)
    }

    /// Up to `limit` (at most [`Self::MAX_PREFIX_RESULTS`]) user group names starting with
    /// `prefix`, case-insensitively, in JumpCloud's name order; for autocomplete. Read-only.
    ///
    /// `prefix` is a partial group name: leading whitespace is ignored; control characters or
    /// more than [`GroupName::MAX_LEN`] characters are [`Error::InvalidInput`] and nothing is
    /// sent. An empty prefix gives the first groups by name (`GET /api/v2/usergroups?limit=N&
    /// skip=0&sort=name`). Otherwise the v2 `search` operator (a case-insensitive substring
    /// match) narrows the list on the server —
    /// `GET /api/v2/usergroups?filter=name:search:<percent-encoded>&limit=100&skip=…&sort=name`
    /// — and only names that start with the prefix are kept; at most three pages are read, so a
    /// prefix contained in hundreds of names may find fewer than `limit`.
    #[instrument(name = "jumpcloud.group_names_starting_with", skip_all, fields(limit = limit))]
    pub async fn group_names_starting_with(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>> {
        const WHAT: &str = "group name prefix";
        let limit = limit.min(Self::MAX_PREFIX_RESULTS);
        let prefix = prefix.trim_start();
        if prefix.chars().any(char::is_control) {
            return Err(InvalidValue::new(WHAT, "control characters are not allowed").into());
        }
        if prefix.chars().count() > GroupName::MAX_LEN {
            return Err(InvalidValue::new(
                WHAT,
                format!("it is longer than {} characters", GroupName::MAX_LEN),
            )
            .into());
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        let wanted = prefix.to_lowercase();
        let search = (!prefix.is_empty()).then_some(prefix);
        let page_size = if search.is_some() {
            PAGE_SIZE
        } else {
            limit as u64
        };
        let mut paging = Paging::default();
        let mut names: Vec<String> = Vec::with_capacity(limit);
        let mut pages = 0;
        loop {
            let route = Route::UserGroupsSearch {
                search,
                limit: page_size,
                skip: paging.skip(),
            };
            let answer = self
                .send(route, OperationKind::Read, None, || {
                    "user groups".to_owned()
                })
                .await?;
            pages += 1;
            let page: Vec<WireGroup> = decode(&answer.body, "user group list")?;
            let len = page.len();
            for raw in page {
                let name = raw.into_group().map_err(Error::decode)?.name;
                if !name.is_empty()
                    && name.to_lowercase().starts_with(&wanted)
                    && !names.contains(&name)
                {
                    names.push(name);
                }
                if names.len() == limit {
                    return Ok(names);
                }
            }
            if search.is_none() || pages >= GROUP_PREFIX_PAGES {
                break;
            }
            // `distinct` = everything seen so far: the stop rule only needs the page sizes here.
            let seen = usize::try_from(paging.skip()).unwrap_or(usize::MAX) + len;
            match paging.advance(len, seen, total_count_header(&answer.headers)) {
                Step::Fetch { .. } => {}
                Step::Done | Step::Runaway { .. } => break,
            }
        }
        Ok(names)
    }

    /// The user ids of a group's direct members, in the order JumpCloud lists them:
    /// `GET /api/v2/usergroups/{id}/members?limit=100&skip=N`, paged until exhausted and checked
    /// against `x-total-count` (see the module docs on pagination). Only edges whose `to.type` is
    /// `user` count.
    #[instrument(name = "jumpcloud.group_members", skip_all, fields(group_id = %group.id))]
    pub async fn group_members(&self, group: &UserGroup) -> Result<Vec<UserId>> {
        let mut paging = Paging::default();
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        let mut others = 0usize;
        loop {
            let route = Route::UserGroupMembers {
                group_id: &group.id,
                skip: paging.skip(),
            };
            let answer = self
                .send(route, OperationKind::Read, None, || {
                    format!("user group {}", group.id)
                })
                .await?;
            let page: Vec<WireConnection> = decode(&answer.body, "group member list")?;
            let len = page.len();
            for edge in page {
                match edge.into_user_id().map_err(Error::decode)? {
                    Some(id) => {
                        if seen.insert(id.clone()) {
                            ids.push(id);
                        }
                    }
                    None => others += 1,
                }
            }
            let distinct = ids.len() + others;
            match paging.advance(len, distinct, total_count_header(&answer.headers)) {
                Step::Fetch { .. } => {}
                Step::Done => break,
                Step::Runaway { pages } => return Err(Error::Pagination { pages }),
            }
        }
        if let Some(total) = paging.total().filter(|&t| t != (ids.len() + others) as u64) {
            tracing::warn!(
                total,
                collected = ids.len() + others,
                "group member listing ended with a different count than announced"
            );
        }
        Ok(ids)
    }

    /// A group's members resolved to users (`GET /api/systemusers/{id}` each, at most 8 at a
    /// time, results in membership order). Member ids JumpCloud answers `404` for are returned in
    /// [`GroupMemberUsers::missing`] instead of failing the call; any other error fails it.
    #[instrument(name = "jumpcloud.group_member_users", skip_all, fields(group_id = %group.id))]
    pub async fn group_member_users(&self, group: &UserGroup) -> Result<GroupMemberUsers> {
        let ids = self.group_members(group).await?;
        let mut lookups = futures::stream::iter(ids)
            .map(|id| async move {
                let result = self.user_by_id(&id).await;
                (id, result)
            })
            .buffered(MEMBER_CONCURRENCY);
        let mut out = GroupMemberUsers::default();
        while let Some((id, result)) = lookups.next().await {
            match result {
                Ok(user) => out.users.push(user),
                Err(Error::NotFound { .. }) => out.missing.push(id),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Sends the activation or password-reset mail, exactly as `Send-JCPasswordReset` does:
    /// `POST /api/systemusers/reactivate` with `{"isSelectAll":false,"models":[{"_id":"<id>"}]}`,
    /// one user per request. JumpCloud decides which mail; the returned
    /// [`ResetEmailKind`] is the expectation from `user` as the caller saw it (`activated ==
    /// false` → activation, else reset). Any 2xx means sent (the body is ignored); a `404` (the
    /// user is not in the organisation) is [`Error::NotFound`].
    ///
    /// Not idempotent (it mails): it is retried only when the server provably did not act (`429`,
    /// connection refused). A `5xx`, a timeout or a broken connection after sending is
    /// [`Error::SentButUnknown`] and the request is never resent.
    #[instrument(name = "jumpcloud.send_reset_email", skip_all, fields(user_id = %user.id))]
    pub async fn send_reset_email(&self, user: &SystemUser) -> Result<ResetEmailSent> {
        let body = wire::reactivate_body(&user.id);
        self.send(Route::Reactivate, OperationKind::Write, Some(&body), || {
            format!("user {}", user.id)
        })
        .await?;
        let kind = if user.activated {
            ResetEmailKind::Reset
        } else {
            ResetEmailKind::Activation
        };
        Ok(ResetEmailSent {
            user_id: user.id.clone(),
            kind,
        })
    }

    /// Expires a user's password: `POST /api/systemusers/{id}/expire`, no body; any 2xx (the spec
    /// documents `200`, other clients accept `204`) is success. Idempotent in effect, so `5xx`
    /// and timeouts are retried. The outcome displays as `true`, like the cmdlet's `-PassThru`.
    #[instrument(name = "jumpcloud.expire_password", skip_all, fields(user_id = %id))]
    pub async fn expire_password(&self, id: &UserId) -> Result<ExpireOutcome> {
        self.send(
            Route::ExpirePassword { id },
            OperationKind::IdempotentWrite,
            None,
            || format!("user {id}"),
        )
        .await?;
        Ok(ExpireOutcome {
            user_id: id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const KEY: &str = "jc-key-0123456789abcdef-SECRET";

    fn builder() -> JumpCloudClientBuilder {
        JumpCloudClient::builder(SecretString::from(KEY))
    }

    #[test]
    fn debug_never_shows_the_key() {
        let b = builder().org_id("5a1b2c3d4e5f6a7b8c9d0e1f".parse().unwrap());
        let text = format!("{b:?}");
        assert!(!text.contains(KEY), "{text}");
        assert!(text.contains("5a1b2c3d4e5f6a7b8c9d0e1f"), "{text}");
        let client = b.build().unwrap();
        let text = format!("{client:?} {client:#?}");
        assert!(!text.contains(KEY), "{text}");
        assert!(text.contains("console.jumpcloud.com"), "{text}");
        // Even the inner reqwest client, whose Debug lists default headers, hides the key.
        let inner = format!("{:?}", client.http);
        assert!(!inner.contains(KEY), "{inner}");
    }

    #[test]
    fn headers_carry_the_key_marked_sensitive() {
        let org: OrgId = "5a1b2c3d4e5f6a7b8c9d0e1f".parse().unwrap();
        let headers = default_headers(&SecretString::from(KEY), Some(&org)).unwrap();
        let key = headers.get("x-api-key").unwrap();
        assert!(key.is_sensitive());
        assert_eq!(key.to_str().unwrap(), KEY);
        assert_eq!(headers.get("accept").unwrap(), "application/json");
        assert_eq!(headers.get("content-type").unwrap(), "application/json");
        assert!(
            headers
                .get("user-agent")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("passdesk/")
        );
        assert_eq!(headers.get("x-org-id").unwrap(), org.as_str());
        let headers = default_headers(&SecretString::from(KEY), None).unwrap();
        assert!(headers.get("x-org-id").is_none());
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for key in ["", "   ", "line\nbreak-SECRET"] {
            let err = JumpCloudClient::builder(SecretString::from(key))
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn base_urls() {
        #[rustfmt::skip]
        let table: &[(&str, Option<&str>)] = &[
            ("https://console.eu.jumpcloud.com", Some("https://console.eu.jumpcloud.com")),
            ("https://console.jumpcloud.com/", Some("https://console.jumpcloud.com")),
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            ("http://localhost:8080/", Some("http://localhost:8080")),
            ("http://[::1]:9", Some("http://[::1]:9")),
            ("https://proxy.example/jumpcloud/", Some("https://proxy.example/jumpcloud")),
            ("http://console.jumpcloud.com", None),
            ("ftp://console.jumpcloud.com", None),
            ("https://user:pw@console.jumpcloud.com", None),
            ("https://console.jumpcloud.com/?x=1", None),
            ("console.jumpcloud.com", None),
            ("", None),
        ];
        for &(input, want) in table {
            let got = builder()
                .base_url(input)
                .build()
                .map(|c| c.base_url().to_owned());
            assert_eq!(got.ok().as_deref(), want, "{input:?}");
        }
        for (region, host) in [
            (Region::Us, "https://console.jumpcloud.com"),
            (Region::Eu, "https://console.eu.jumpcloud.com"),
            (Region::India, "https://console.in.jumpcloud.com"),
        ] {
            assert_eq!(builder().region(region).build().unwrap().base_url(), host);
        }
    }

    #[test]
    fn retry_after_parsing() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        #[rustfmt::skip]
        let table: &[(&str, Option<u64>)] = &[
            ("1", Some(1)),
            (" 120 ", Some(120)),
            ("0", Some(0)),
            ("Wed, 21 Oct 2015 07:28:30 GMT", Some(30)),
            ("Wednesday, 21-Oct-15 07:29:00 GMT", Some(60)),
            ("Wed Oct 21 07:28:05 2015", Some(5)),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(0)), // in the past: now
            ("-1", None),
            ("1.5", None),
            ("soon", None),
            ("", None),
        ];
        for &(input, want) in table {
            assert_eq!(
                parse_retry_after(input, now),
                want.map(Duration::from_secs),
                "{input:?}"
            );
        }
    }
}
