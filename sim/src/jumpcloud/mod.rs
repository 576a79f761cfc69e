//! JumpCloud simulator: the v1 and v2 operations Passdesk uses, on `127.0.0.1`, built from
//! JumpCloud's Swagger specs (`shared/specs/`) and `shared/reference/jumpcloud-api.md`, not
//! from the client in `passdesk-core`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), passdesk_sim::jumpcloud::SimError> {
//! use std::time::Duration;
//! use passdesk_sim::jumpcloud::{Fault, GroupSeed, JumpCloudSim, OrgSeed, RateLimit, Route, UserSeed};
//!
//! let sim = JumpCloudSim::builder()
//!     .org(OrgSeed::new("5a1b2c3d4e5f6a7b8c9d0e1f", "Acme"))
//!     .api_key("test-key", ["5a1b2c3d4e5f6a7b8c9d0e1f"])
//!     .user(UserSeed::new("jcuser.one").email("jcuser.one@example.com").pending())
//!     .users(passdesk_sim::jumpcloud::generated_users("bulk", 1000))
//!     .group(GroupSeed::new("NewUsers").members(["jcuser.one"]))
//!     .latency(Duration::from_millis(5))
//!     .rate_limit(RateLimit::per_second(100))
//!     .start()
//!     .await?;
//! let base = sim.base_url(); // "http://127.0.0.1:<port>"; routes live under /api and /api/v2
//! sim.inject(Fault::status(Route::ReactivateUsers, 503).times(2));
//! let id = sim.user_by_username("jcuser.one").map(|user| user.id);
//! let mails = sim.record().mails();
//! # let _ = (base, id, mails);
//! # Ok(()) }
//! ```
//!
//! # Operations
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/systemusers/{id}` | `systemuserreturn`; `fields` (space-separated) projects, `filter`s the user fails give `404` |
//! | `GET /api/systemusers` | `{"totalCount","results"}`; `limit` (default 10, at most 100), `skip`, `sort` (space-separated, `-` descending), `fields`, repeated `filter=<field>:$<op>:<value>` ANDed (`$eq $ne $gt $gte $lt $lte`; the value is everything after the second colon) |
//! | `POST /api/search/systemusers` | same shape; body `filter` (array of expressions, or `{"and":[…]}` / `{"or":[…]}`, nestable), `searchFilter`, `fields` (string or array), `limit` (at most 1000), `skip`, `sort`; each falls back to the query string |
//! | `POST /api/systemusers/reactivate` | undocumented, see below |
//! | `POST /api/systemusers/{id}/expire` | sets `password_expired`; `200` with an empty body |
//! | `GET /api/v2/usergroups` | bare array, total in `x-total-count`; `filter=<field>:<op>:<value>` (values percent-decoded, `+` is a space), `limit` (default 10, at most 100), `skip`, `sort` and `fields` (comma-separated) |
//! | `GET /api/v2/usergroups/{id}` | `UserGroup` |
//! | `GET /api/v2/usergroups/{group_id}/members` | `[{"attributes":null,"to":{"attributes":null,"id":…,"type":"user"}}]` in member-id order, `limit` ≤ 100, `skip`, `x-total-count` |
//!
//! Every list is sorted by the requested keys and then by id, so paging is stable; ids are
//! 24-hex strings generated from a counter (users `5f0c…`, groups `6a1b…`) in seed order.
//! `_id` (v1) / `id` (v2) is always returned, whatever `fields` says.
//!
//! # Filters
//!
//! Expressions are field → literal (equality) or field → operators: `$eq $ne $gt $gte $lt
//! $lte $in $nin $exists $regex` (with `$options` `i m s x`). Query values are cast to the
//! field's type as JumpCloud's MongoDB layer does (booleans from `true`/`false`, dates from RFC
//! 3339 with any fraction and offset, a naive date-time as UTC, or a bare date); a value that
//! cannot be cast is a `400`, whatever the data. String equality is case-sensitive. Unknown
//! fields compare as raw JSON: they never equal a value, and match `$ne` and `null`.
//!
//! **Regex subset.** `$regex` is compiled with the `regex` crate: `(?i)` prefixes, `^`/`$`
//! anchors, groups such as the PowerShell module's `(?i)(^jane\.doe$)`, escaped
//! metacharacters (any escaped ASCII punctuation or space, which covers .NET's
//! `Regex.Escape`), literals, `.` and `.*` all behave as in MongoDB's PCRE. Look-around and
//! back-references are not supported and, like an invalid pattern, answer `400`.
//! A `$regex` never matches a non-string field.
//!
//! **v2 filters.** `eq`/`ne` are exact and case-sensitive, and `*` in their value matches any
//! run of characters (the spec says values "support wild cards"), so a client must re-check
//! names it receives; `gt ge lt le`, `search` (case-insensitive substring) and `in` (values
//! separated by `|`) are supported; `between`, other operators and unknown fields are `400`.
//!
//! # Authentication and organisations
//!
//! `x-api-key` missing, empty or unknown: `401 {"message":"Unauthorized"}`. A key is bound to
//! one or several organisations; requests see only the selected organisation's users and
//! groups (another organisation's id is a plain `404`).
//!
//! | key | `x-org-id` | answer |
//! |---|---|---|
//! | one org | absent or empty | that org |
//! | any | not 24 hex (or not visible ASCII) | `400 {"code":400,"message":"Bad Request: invalid organization id","status":"Bad Request"}` |
//! | any | 24 hex, unknown or not bound to the key | `404 {"code":404,"message":"Not Found: organization not found","status":"Not Found"}` |
//! | several orgs | absent or empty | `401 {"message":"Unauthorized: no organization selected"}` |
//!
//! An empty `x-org-id` counts as absent because JumpCloud's own code samples send
//! `x-org-id: ''`. Org ids, like object ids, are accepted in either case.
//!
//! # Errors
//!
//! Bodies follow the specs' `Error` definition (`{"code","message","status"}`), v2 `400`s add
//! `"details": []` (`ErrorDetails`); the gateway-style answers keep the short observed form
//! (`401`, `429`: `{"message": …}`). A malformed id in a path is
//! `400 {"code":400,"message":"invalid object id",…}`; an unknown one
//! `404 {"code":404,"message":"Not Found","status":"Not Found"}`. Unknown paths are that same
//! `404` (after authentication), a known path with another method `405`.
//!
//! # `reactivate` (undocumented: the simulator's choices)
//!
//! Body `{"isSelectAll":false,"models":[{"_id":…}, …]}`:
//! - success: `200` with body `{}`, one mail per distinct id, recorded as
//!   [`MailKind::Activation`] for a pending user (`activated: false`) and [`MailKind::Reset`]
//!   for an active one; a locked account still gets its mail; the mail goes to `email`;
//! - `isSelectAll: true` is refused with `400` (it would mail every user); a missing
//!   `isSelectAll` counts as `false`;
//! - missing or empty `models`, a body that is not a JSON object, a model without a 24-hex
//!   `_id` (the cmdlet's `""` for an unresolved username included): `400`;
//! - an id unknown in the organisation: `404`; a suspended user (`suspended` or state
//!   `SUSPENDED`) or a staged one: `409 {"code":409,"message":"Conflict: user is suspended"…}`
//!   (or `…staged`);
//! - the request is all or nothing: on any error no mail is sent.
//!
//! `expire` answers `200` with no body for every state (pending users included), and records
//! every call, repeats included; a malformed id is `400`, an unknown one `404`.
//!
//! # The gate: record, latency, faults, rate limit, auth
//!
//! Every request, in this order: is recorded (method, path, query, selected headers, body)
//! with its final status filled in before the response is written; waits the configured
//! latency; meets the first matching injected [`Fault`] (answer with a status, delay then carry
//! on, or drop the connection with no response: a dropped request has no effect); counts
//! against its API key's [`RateLimit`] window (`429 {"message":"Too Many Requests"}` with
//! `Retry-After: <seconds until the window resets, at least 1>` unless the limit was built
//! with [`RateLimit::without_retry_after`], as JumpCloud documents no such header; the window
//! is keyed by the `x-api-key` value as sent, so requests that then fail authentication count
//! too, as they would at a gateway, while `429`s and faulted requests do not); and is then
//! authenticated.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod conn;
mod error;
mod faults;
mod filter;
mod gate;
mod handlers;
mod ratelimit;
mod record;
mod routes;
mod seed;
mod state;
#[cfg(test)]
mod tests;

pub use error::SimError;
pub use faults::{Fault, FaultAction, FaultTarget};
pub use ratelimit::RateLimit;
pub use record::{Expiration, Mail, MailKind, Record, RequestRecord};
pub use routes::{ApiVersion, Route};
pub use seed::{
    DEFAULT_API_KEY, DEFAULT_ORG_ID, GroupSeed, OrgSeed, UserSeed, default_seed, generated_users,
};
pub use state::{GroupView, UserState, UserView};

use conn::{ConnHandle, SimListener};
use faults::FaultQueue;
use ratelimit::Limiter;
use state::Store;

/// State shared by the handle and every request.
#[derive(Debug)]
pub(crate) struct Shared {
    store: RwLock<Store>,
    record: Record,
    latency: Mutex<Duration>,
    faults: Mutex<FaultQueue>,
    limiter: Mutex<Limiter>,
}

// None of these locks is held across an await; a panic while holding one cannot leave the
// data half-updated in a way later requests would trip on, so poisoning is ignored.
impl Shared {
    fn store(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn store_mut(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn latency(&self) -> Duration {
        *self.latency.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Builds a [`JumpCloudSim`]: seed data and knobs, then [`start`](Self::start).
///
/// With no [`org`](Self::org), the simulator has one organisation, [`DEFAULT_ORG_ID`]. Users
/// and groups without an explicit organisation belong to the first one declared. API keys are
/// never implied: declare at least one with [`api_key`](Self::api_key).
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct JumpCloudSimBuilder {
    orgs: Vec<OrgSeed>,
    keys: Vec<(String, Vec<String>)>,
    users: Vec<UserSeed>,
    groups: Vec<GroupSeed>,
    latency: Duration,
    rate_limit: Option<RateLimit>,
    faults: Vec<Fault>,
}

impl JumpCloudSimBuilder {
    /// Adds an organisation.
    pub fn org(mut self, org: OrgSeed) -> Self {
        self.orgs.push(org);
        self
    }

    /// Adds an API key bound to these organisations (several make it a multi-tenant key, which
    /// must send `x-org-id`).
    pub fn api_key<S: Into<String>>(
        mut self,
        key: impl Into<String>,
        orgs: impl IntoIterator<Item = S>,
    ) -> Self {
        self.keys
            .push((key.into(), orgs.into_iter().map(Into::into).collect()));
        self
    }

    /// Adds a user.
    pub fn user(mut self, user: UserSeed) -> Self {
        self.users.push(user);
        self
    }

    /// Adds users, e.g. [`generated_users`].
    pub fn users(mut self, users: impl IntoIterator<Item = UserSeed>) -> Self {
        self.users.extend(users);
        self
    }

    /// Adds a group.
    pub fn group(mut self, group: GroupSeed) -> Self {
        self.groups.push(group);
        self
    }

    /// Adds latency to every request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Limits requests per API key.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Injects a fault from the start.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Checks the seed and serves it on `127.0.0.1` with a random port.
    ///
    /// # Errors
    ///
    /// [`SimError::Seed`] for inconsistent seed data (an unknown organisation, a duplicate
    /// username, a group member that does not exist, a malformed id), [`SimError::Bind`] when
    /// the socket cannot be opened.
    pub async fn start(self) -> Result<JumpCloudSim, SimError> {
        let store = seed::build_store(self.orgs, self.keys, self.users, self.groups)?;
        let mut queue = FaultQueue::default();
        for fault in self.faults {
            queue.push(fault);
        }
        let shared = Arc::new(Shared {
            store: RwLock::new(store),
            record: Record::default(),
            latency: Mutex::new(self.latency),
            faults: Mutex::new(queue),
            limiter: Mutex::new(Limiter::new(self.rate_limit)),
        });

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(SimError::Bind)?;
        let addr = listener.local_addr().map_err(SimError::Bind)?;
        let app =
            routes::router(Arc::clone(&shared)).into_make_service_with_connect_info::<ConnHandle>();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(SimListener::new(listener), app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "jumpcloud simulator stopped");
            }
        });
        tracing::debug!(%addr, "jumpcloud simulator listening");
        Ok(JumpCloudSim {
            addr,
            shared,
            shutdown: Some(shutdown),
        })
    }
}

/// A running JumpCloud simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct JumpCloudSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl JumpCloudSim {
    /// A builder with no seed data.
    pub fn builder() -> JumpCloudSimBuilder {
        JumpCloudSimBuilder::default()
    }

    /// The socket address (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: the equivalent of `https://console.jumpcloud.com`, so v1
    /// routes are under `/api` and v2 under `/api/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The side-effect record (a cheap clone sharing the simulator's).
    pub fn record(&self) -> Record {
        self.shared.record.clone()
    }

    /// Injects a fault (after any already pending).
    pub fn inject(&self, fault: Fault) {
        self.shared.faults().push(fault);
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Changes the latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        *self
            .shared
            .latency
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = latency;
    }

    /// Changes (or removes) the rate limit; every key starts a fresh window.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.shared.limiter().set_limit(limit);
    }

    /// Every organisation as (id, name), in declaration order.
    pub fn orgs(&self) -> Vec<(String, String)> {
        self.shared
            .store()
            .orgs
            .iter()
            .map(|org| (org.id.clone(), org.name.clone()))
            .collect()
    }

    /// The first user with this username (exact match), in any organisation.
    pub fn user_by_username(&self, username: &str) -> Option<UserView> {
        self.shared
            .store()
            .users
            .values()
            .find(|user| user.username == username)
            .map(|user| user.view())
    }

    /// The user with this username in one organisation.
    pub fn user_in_org(&self, org_id: &str, username: &str) -> Option<UserView> {
        self.shared
            .store()
            .users_of(org_id)
            .find(|user| user.username == username)
            .map(|user| user.view())
    }

    /// Renames a user while the simulator runs; returns the renamed user, `None` for an unknown
    /// id. Unlike the seed, this does not check that usernames are unique case-insensitively in
    /// the organisation, so a test can build a tenant holding both `jdoe` and `JDoe` (whether
    /// JumpCloud can still reach that state, e.g. through old imports, is unverified) and check
    /// that a client refuses to guess between them.
    pub fn rename_user(&self, id: &str, username: impl Into<String>) -> Option<UserView> {
        let mut store = self.shared.store_mut();
        let user = store.users.get_mut(id)?;
        user.username = username.into();
        Some(user.view())
    }

    /// The user with this `_id`.
    pub fn user(&self, id: &str) -> Option<UserView> {
        self.shared.store().users.get(id).map(|user| user.view())
    }

    /// Every user, in `_id` order.
    pub fn users(&self) -> Vec<UserView> {
        self.shared
            .store()
            .users
            .values()
            .map(|user| user.view())
            .collect()
    }

    /// The first group with this name (exact match), in any organisation.
    pub fn group_by_name(&self, name: &str) -> Option<GroupView> {
        self.shared
            .store()
            .groups
            .values()
            .find(|group| group.name == name)
            .map(|group| group.view())
    }

    /// Every group, in `id` order.
    pub fn groups(&self) -> Vec<GroupView> {
        self.shared
            .store()
            .groups
            .values()
            .map(|group| group.view())
            .collect()
    }
}

impl Drop for JumpCloudSim {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
