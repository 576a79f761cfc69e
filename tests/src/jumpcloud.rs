//! JumpCloud end to end: the simulator started from a seed, a [`JumpCloudClient`] pointed at
//! it with small timeouts and a fast retry policy, user fixtures that name their groups, and
//! raw requests for what the typed client refuses to send.
//!
//! ```no_run
//! # async fn demo() {
//! use passdesk_tests::jumpcloud::{launch, seed, user};
//! let (sim, client) = launch(seed([
//!     user("jcuser.one").pending().in_group("NewUsers"),
//!     user("jane.doe").active().in_group("IT"),
//! ]))
//! .await;
//! # let _ = (sim, client);
//! # }
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use passdesk_core::jumpcloud::{JumpCloudClient, JumpCloudClientBuilder, UserId};
use passdesk_core::retry::RetryPolicy;
use passdesk_sim::jumpcloud::{
    DEFAULT_ORG_ID, GroupSeed, JumpCloudSim, JumpCloudSimBuilder, OrgSeed, UserSeed,
};
use secrecy::SecretString;
use serde_json::Value;

/// The API key of [`seed`], bound to [`ORG`] only. Distinctive, so a tracing scan can look for it.
pub const KEY: &str = "jc-e2e-key-4b7f0c2d9e1a8365-DO-NOT-LOG";

/// The organisation of [`seed`] ("Acme").
pub const ORG: &str = DEFAULT_ORG_ID;

/// A second organisation, for tenant tests ("Globex"); not declared by [`seed`].
pub const OTHER_ORG: &str = "5a1b2c3d4e5f6a7b8c9d0e20";

/// Retries fast enough for a test run: 4 attempts, backoff from 10 ms doubling to 100 ms, at
/// most 10 s of waiting (a simulator `Retry-After` is whole seconds).
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(4)
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(100))
        .with_max_total_wait(Duration::from_secs(10))
}

/// A user to seed, with the groups it belongs to. Active unless told otherwise.
#[derive(Debug, Clone)]
pub struct UserFixture {
    username: String,
    seed: UserSeed,
    org: Option<String>,
    groups: Vec<String>,
}

/// An active user named `username` in [`ORG`].
pub fn user(username: &str) -> UserFixture {
    UserFixture {
        username: username.to_owned(),
        seed: UserSeed::new(username),
        org: None,
        groups: Vec::new(),
    }
}

impl UserFixture {
    /// Has a password (`activated: true`): a reset mail is due.
    pub fn active(mut self) -> Self {
        self.seed = self.seed.active();
        self
    }

    /// Has not set a password yet (`activated: false`): an activation mail is due.
    pub fn pending(mut self) -> Self {
        self.seed = self.seed.pending();
        self
    }

    /// Suspended by an administrator.
    pub fn suspended(mut self) -> Self {
        self.seed = self.seed.suspended();
        self
    }

    /// Created at this instant.
    pub fn created(mut self, at: DateTime<Utc>) -> Self {
        self.seed = self.seed.created(at);
        self
    }

    /// In another organisation than [`ORG`] (declare it on the builder).
    pub fn org(mut self, org_id: &str) -> Self {
        self.seed = self.seed.org(org_id);
        self.org = Some(org_id.to_owned());
        self
    }

    /// A member of the group `name` (created in the user's organisation by [`seed`]).
    pub fn in_group(mut self, name: &str) -> Self {
        self.groups.push(name.to_owned());
        self
    }
}

/// A group by organisation (`None`: [`ORG`]) and name.
type GroupKey = (Option<String>, String);

/// A simulator builder with [`ORG`] ("Acme"), [`KEY`] bound to it, these users, and every group
/// they name (members in the order the users are given). Chain more on the builder: other
/// organisations and keys, [`generated_users`](passdesk_sim::jumpcloud::generated_users), a
/// rate limit, faults.
pub fn seed(users: impl IntoIterator<Item = UserFixture>) -> JumpCloudSimBuilder {
    let mut builder = JumpCloudSim::builder()
        .org(OrgSeed::new(ORG, "Acme"))
        .api_key(KEY, [ORG]);
    // Member usernames per group, groups in order of first mention.
    let mut groups: Vec<(GroupKey, Vec<String>)> = Vec::new();
    for fixture in users {
        for group in &fixture.groups {
            let key = (fixture.org.clone(), group.clone());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(fixture.username.clone()),
                None => groups.push((key, vec![fixture.username.clone()])),
            }
        }
        builder = builder.user(fixture.seed);
    }
    for ((org, name), members) in groups {
        let mut group = GroupSeed::new(name).members(members);
        if let Some(org) = org {
            group = group.org(org);
        }
        builder = builder.group(group);
    }
    builder
}

/// A client builder for `sim` with [`KEY`], 1 s connect and 5 s request timeouts and
/// [`fast_retries`]; change the key, organisation or policy before building.
pub fn client_for(sim: &JumpCloudSim) -> JumpCloudClientBuilder {
    client_with_key(sim, KEY)
}

/// Like [`client_for`], with another API key.
pub fn client_with_key(sim: &JumpCloudSim, key: &str) -> JumpCloudClientBuilder {
    JumpCloudClient::builder(SecretString::from(key))
        .base_url(sim.base_url())
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(5))
        .retry(fast_retries())
}

/// Starts the simulator and builds a [`client_for`] it.
pub async fn launch(builder: JumpCloudSimBuilder) -> (JumpCloudSim, JumpCloudClient) {
    let sim = builder.start().await.expect("the seed starts");
    let client = client_for(&sim).build().expect("the client builds");
    (sim, client)
}

/// The typed id of the simulator's user `username` (in any organisation).
pub fn user_id(sim: &JumpCloudSim, username: &str) -> UserId {
    let view = sim
        .user_by_username(username)
        .unwrap_or_else(|| panic!("no seeded user {username}"));
    view.id
        .parse()
        .expect("the simulator's ids are 24 lowercase hex")
}

/// What the simulator answered a raw request.
#[derive(Debug)]
pub struct RawReply {
    /// The HTTP status.
    pub status: u16,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

/// Sends a request the typed client would refuse to build, with `key` and, when given, an
/// `x-org-id` header taken as is.
pub async fn raw_request(
    sim: &JumpCloudSim,
    method: reqwest::Method,
    path: &str,
    key: &str,
    org: Option<&str>,
    body: Option<&Value>,
) -> RawReply {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a reqwest client");
    let mut request = http
        .request(method, format!("{}{path}", sim.base_url()))
        .header("x-api-key", key)
        .header("accept", "application/json");
    if let Some(org) = org {
        request = request.header("x-org-id", org);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("the simulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    RawReply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}
